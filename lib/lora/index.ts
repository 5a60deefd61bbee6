/** LoRA (PEFT semantics), attaching/merging adapters, and LongLoRA's trainable sets (LoRA+). */
export { LoraLinear, makeLoraConfig, kaimingUniformA, foldLoraInto, DEFAULT_LORA_CONFIG, LORA_DEFAULT_TARGETS } from './lora';
export type { LoraConfig } from './lora';
export { applyLora, LoraAdapters } from './apply';
export type { AdaptableModel, ApplyLoraOptions } from './apply';
export { isTrainable, isLoraParameter, selectTrainable, trainableParameterCounts, loraParameterShapes, TRAINABLE_SETS } from './trainable';
export type { TrainableSet, TrainableSelection, ParameterCounts } from './trainable';
