/** The Llama model: config (+ HF config.json, presets), RoPE with position interpolation, KV cache, LlamaForCausalLM. */
export {
  presets,
  makeConfig,
  validateConfig,
  validateRopeScaling,
  fromHFConfig,
  toHFConfig,
  headDim,
  ropeSettings,
  effectiveContext,
  parameterShapes,
  parameterCount,
  LLAMA_CONFIG_KEYS,
} from './config';
export type { LlamaConfig, PresetName, FromHFConfigOptions } from './config';
export { ropeInverseFrequencies, ropeTableValues, ropeTables, rotateHalf, applyRope, clearRopeCache } from './rope';
export type { RopeScaling, LinearRopeScaling, DynamicRopeScaling, YarnRopeScaling, RopeSettings, RopeFrequencies } from './rope';
export { rmsNorm, silu, swiglu } from './layers';
export { KVCache } from './kv-cache';
export { SeededRandom } from './random';
export { LlamaForCausalLM } from './llama';
/** @deprecated renamed: use `IGNORE_INDEX` (one constant for the data and the loss); removed in 0.3. */
export { IGNORE_INDEX as LABEL_IGNORE_INDEX } from '../util/constants';
export type { LinearAdapter, ForwardOptions, LossOptions, CreateOptions } from './llama';
export { extendContext } from './extend';
export type { ContextExtensionMethod } from './extend';
