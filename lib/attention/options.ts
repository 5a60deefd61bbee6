/**
 * The one setting every attention function shares: how its backward pass gets the probabilities P.
 *
 * `'save'` (default) keeps P from the forward pass: one score-sized buffer per call stays alive until
 * the backward pass reaches it. `'recompute'` keeps only q, k, v and the output and rebuilds P there
 * (one more q k^T and softmax per call; the memory-bounded option, as flash attention does).
 *
 * Pass it per call (`causalAttention(q, k, v, { memory: 'recompute' })`) or in the model config's
 * attention spec (`{ kind: 's2', memory: 'recompute' }`), which `attend` hands on.
 */
import { describe } from '../util/options';

export type AttentionMemory = 'save' | 'recompute';

export const ATTENTION_MEMORY_MODES: readonly AttentionMemory[] = ['save', 'recompute'];

// what a call without `memory` uses; only the deprecated setAttentionMemory below changes it
let defaultMemory: AttentionMemory = 'save';

/** The mode a call uses: its `memory` option (checked), else the default ('save'). */
export function resolveAttentionMemory(memory: unknown, where: string): AttentionMemory {
  if (memory === undefined) return defaultMemory;
  if (memory !== 'save' && memory !== 'recompute') {
    throw new Error(`${where}: memory = ${describe(memory)} must be 'save' or 'recompute' ('recompute' rebuilds P in the backward pass: less memory, one more q k^T per call)`);
  }
  return memory;
}

/**
 * Sets the mode of every attention call that passes no `memory` option; returns the previous one.
 * @deprecated A global read by every attention call: pass `{ memory }` to the attention function, or
 * set `memory` in the model config's attention spec. Kept for one version.
 */
export function setAttentionMemory(mode: AttentionMemory): AttentionMemory {
  const previous = defaultMemory;
  defaultMemory = resolveAttentionMemory(mode, 'setAttentionMemory');
  return previous;
}

/**
 * The mode used by attention calls that pass no `memory` option.
 * @deprecated Goes with setAttentionMemory: pass `{ memory }` instead. Kept for one version.
 */
export function attentionMemory(): AttentionMemory {
  return defaultMemory;
}
