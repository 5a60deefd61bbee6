/** LoRA (PEFT semantics), attaching/merging adapters, and LongLoRA's trainable sets (LoRA+). */
export { LoraLinear, makeLoraConfig, kaimingUniformA, foldLoraInto, DEFAULT_LORA_CONFIG, LORA_DEFAULT_TARGETS } from './lora';
export type { LoraConfig } from './lora';
export { applyLora, selectTrainable, LoraAdapters } from './apply';
export type { AdaptableModel } from './apply';
export { isTrainable, isLoraParameter, trainableParameterCounts, loraParameterShapes, TRAINABLE_SETS } from './trainable';
export type { TrainableSet, ParameterCounts } from './trainable';
