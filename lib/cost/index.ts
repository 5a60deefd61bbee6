/** Cost: timing utilities and the benchmark harness (FLOPs and memory models join later). */
export { timeIt, median } from './timing';
export type { Timing, TimingOptions } from './timing';
export { runBench, benchMarkdown, measureMatmulGflops, benchAttention, timeAttentionFunctions, costByLengthFigure } from './bench';
export type { BenchReport, BenchOptions, AttentionBenchEntry, TrainStepBenchEntry, MaxTrainableSeqLen, AttentionFn, Measured } from './bench';
export { flopsBreakdown, trainingStepFlops } from './flops';
export type { FlopsBreakdown, FlopsConfig, FlopsOptions } from './flops';
export { measurePeakBytes } from './measure';
export type { PeakMeasurement } from './measure';
export { trainingMemory, layerScoreCount, constantBytes, ACTIVATION_COUNTS } from './memory';
export type { TrainingMemory, TrainingMemoryOptions } from './memory';
export { checkMemoryModel, peakComposition, memoryCheckCases, mixedMemoryCases, measureTrainingStep } from './calibrate';
export type { MemoryCase, MemoryMeasurement, PeakComposition } from './calibrate';
export { maxTrainableSeqLen } from './max-length';
export type { MaxLengthOptions, LengthProbe } from './max-length';
