/**
 * Benchmarks: harnesses that run and time the library (`npm run bench`, the memory calibration, the
 * longest trainable length, the training-step bench), on top of every other folder.
 */
export { timeIt, timeInterleaved, median } from './timing';
export type { Timing, TimingOptions } from './timing';
export { runBench, benchMarkdown, measureMatmulGflops, benchAttention, timeAttentionFunctions, costByLengthFigure } from './bench';
export type { BenchOptions, AttentionFn, Measured } from './bench';
export type { BenchReport, AttentionBenchEntry, TrainStepBenchEntry, MaxTrainableSeqLen, LengthProbe } from './types';
export { measurePeakBytes } from './measure';
export type { PeakMeasurement } from './measure';
export { checkMemoryModel, peakComposition, memoryCheckCases, mixedMemoryCases, measureTrainingStep } from './calibrate';
export type { MemoryCase, MemoryMeasurement, PeakComposition } from './calibrate';
export { maxTrainableSeqLen } from './max-length';
export type { MaxLengthOptions } from './max-length';
export { benchTrainStep, benchConfig, SyntheticBatches, clearCachedConstants } from './train-step';
export type { BenchAttention, TrainStepBenchOptions } from './train-step';
export { gpuCheckBackend, gpuCheckMarkdown, GPU_BACKENDS } from './gpu-check';
export type { GpuCheckSection, GpuCheckReport, GpuCheckOptions, DeviceKind } from './gpu-check';
