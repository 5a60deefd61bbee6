/** Training: LongLoRA's set-up in one call (longLora), AdamW, learning-rate schedules, gradient clipping and the trainer loop. */
export { AdamW, ADAMW_DEFAULTS, GROUP_ELEMENTS, resolveAdamWConfig } from './adamw';
export type { AdamWConfig, AdamWState, AdamWParamState } from './adamw';
export { constantSchedule, constantWithWarmup, linearWithWarmup, cosineWithWarmup, makeSchedule, SCHEDULE_NAMES } from './schedule';
export type { ScheduleName, LrLambda } from './schedule';
export { clipGradNorm, clipCoefficient, globalNorm, CLIP_EPS } from './clip';
export type { ClippedGrads } from './clip';
export { Trainer, TrainingDivergedError } from './trainer';
export type { TrainableModel, TrainBatch, BatchSource, StepRecord, StepInfo, TrainHooks, Divergence, TrainResult } from './trainer';
export { longLora, LongLoraModel, LONGLORA_DEFAULTS } from './longlora';
export type { LongLoraOptions, LoraOf } from './longlora';
export { resolveTrainConfig, nameContains, LONGLORA_TRAIN_DEFAULTS } from './config';
export type { TrainConfig, TrainOptions, TrainableSelection } from './config';
export { ProgressReporter, progressBarLine, progressPlainLine, formatDuration } from './progress';
export type { ProgressMode, ProgressInfo, ProgressOptions } from './progress';
export { activationBytes, modelActivationBytes, trainStepBytes, assertTrainStepFits, llamaShapeOf } from './memory';
export type { LlamaShape, TrainStepMemoryInput } from './memory';
export { checkpointName, listCheckpoints, latestCheckpoint, pruneCheckpoints, writeTrainerCheckpoint, readTrainerCheckpoint, RESUMABLE_SETTINGS, TRAINER_STATE_FORMAT, TRAINER_STATE_VERSION } from './checkpoint';
export type { TrainerState, LoadedCheckpoint, CheckpointContents } from './checkpoint';
