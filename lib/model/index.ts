/** The Llama model: config (presets, checks), RoPE with position interpolation, KV cache, LlamaForCausalLM. (config.json mapping: lib/io.) */
export {
  presets,
  makeConfig,
  validateConfig,
  validateRopeScaling,
  headDim,
  ropeSettings,
  effectiveContext,
  parameterShapes,
  parameterCount,
  LLAMA_CONFIG_KEYS,
} from './config';
export type { LlamaConfig, PresetName } from './config';
export { ropeInverseFrequencies, ropeTableValues, ropeTables, rotateHalf, applyRope, clearRopeCache } from './rope';
export type { RopeScaling, LinearRopeScaling, DynamicRopeScaling, YarnRopeScaling, RopeSettings, RopeFrequencies } from './rope';
export { rmsNorm, silu, swiglu } from './layers';
export { KVCache } from './kv-cache';
export { SeededRandom } from './random';
export { LlamaForCausalLM } from './llama';
export { labelPicks, meanPickedCrossEntropy } from './loss';
/** @deprecated renamed: use `IGNORE_INDEX` (one constant for the data and the loss); removed in 0.3. */
export { IGNORE_INDEX as LABEL_IGNORE_INDEX } from '../util/constants';
export type { LinearAdapter, ForwardOptions, LossOptions, CreateOptions } from './llama';
export { extendContext } from './extend';
export type { ContextExtensionMethod } from './extend';
