/** Cost: the pure models of a training step's work and memory (no timing, no training: see lib/bench). */
export { flopsBreakdown, trainingStepFlops } from './flops';
export type { FlopsBreakdown, FlopsConfig, FlopsOptions } from './flops';
export { trainingMemory, layerScoreCount, constantBytes, ACTIVATION_COUNTS } from './memory';
export type { TrainingMemory, TrainingMemoryOptions } from './memory';
