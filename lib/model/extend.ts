/**
 * `extendContext`: the step LongLoRA takes before fine-tuning to a longer context (official
 * `fine-tune.py`, paper Section 3): keep the weights and `max_position_embeddings`, and set a RoPE
 * scaling factor s = ceil(newLength / maxPositionEmbeddings), so positions up to maxPos x s fit.
 */
import { effectiveContext } from './config';
import type { RopeScaling } from './rope';
import type { LlamaForCausalLM } from './llama';

/** How to stretch RoPE: `'linear'` position interpolation (LongLoRA), `'ntk'` (HF 'dynamic'), `'yarn'`. */
export type ContextExtensionMethod = 'linear' | 'ntk' | 'yarn';

const METHODS: readonly ContextExtensionMethod[] = ['linear', 'ntk', 'yarn'];

/**
 * A new model sharing `model`'s variables and adapters, with rope scaling for `newLength` tokens:
 * `{ type, factor: ceil(newLength / maxPositionEmbeddings) }` where type is 'linear', 'dynamic'
 * (for 'ntk') or 'yarn'. Every method gets the same integer factor, so they can be compared at the
 * same context. An existing scaling is replaced, not compounded: the factor always refers to the
 * pre-training context (as LongLoRA's eval.py computes it; fine-tune.py divides by the already
 * scaled context instead, which under-scales a model that was extended before).
 * Throws if `newLength` does not exceed the model's current `effectiveContext`.
 */
export function extendContext(model: LlamaForCausalLM, newLength: number, method: ContextExtensionMethod = 'linear'): LlamaForCausalLM {
  if (!METHODS.includes(method)) {
    throw new Error(`extendContext: method ${JSON.stringify(method)} is not one of ${METHODS.map((m) => `'${m}'`).join(', ')}`);
  }
  if (!Number.isInteger(newLength) || newLength < 1) throw new Error(`extendContext: newLength = ${newLength} must be a positive integer number of tokens`);
  const config = model.config;
  const current = effectiveContext(config);
  if (newLength <= current) {
    throw new Error(`extendContext: newLength ${newLength} does not exceed the model's current context ${current}; extend only to longer contexts`);
  }
  const factor = Math.ceil(newLength / config.maxPositionEmbeddings);
  const type = method === 'ntk' ? 'dynamic' : method;
  const ropeScaling: RopeScaling = { type, factor };
  return model.withConfig({ ropeScaling });
}
