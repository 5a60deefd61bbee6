/**
 * The one attention entry point the model calls: `attend(spec, q, k, v, { training })`.
 *
 * The model never knows which attention runs; the config's `attention` spec (./spec.ts) chooses it.
 * LongLoRA trains with shifted sparse attention and evaluates with dense causal attention (official
 * `replace_llama_attn(use_full=True)` in eval.py and passkey_retrivial.py), so sparse kinds apply
 * only when `training` is true, unless `atInference` asks for them at test time as well (the "test
 * without full attention" rows of the paper's Tables 1 and 6).
 */
import type { Tensor4D } from '../backend';
import { checkKnownKeys, checkBoolean, describe } from '../util/options';
import { causalAttention } from './causal';
import { shiftedSparseAttention } from './s2';
import { attentionMask, maskedAttention } from './patterns';
import { validateAttentionSpec, groupSizeFor, sftGroupSize } from './spec';
import type { AttentionSpec } from './spec';

export interface AttendOptions {
  /** True inside a training step (sparse training-time attention applies). */
  training: boolean;
  /** The layer's index (0-based): a pattern spec's `alternate` applies on odd layers. Default 0. */
  layer?: number;
}

/** Runs the attention `spec` asks for on `[B, H, Tq, D]` queries and `[B, Hkv, Tk, D]` keys/values. */
export function attend(spec: AttentionSpec, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: AttendOptions): Tensor4D {
  validateAttentionSpec(spec, 'attend: spec');
  if (options === null || typeof options !== 'object') throw new Error(`attend: options = ${describe(options)} must be { training: true } inside a training step, else { training: false }`);
  checkKnownKeys('attend', options, ['training', 'layer']);
  const layer = options.layer ?? 0;
  if (!Number.isSafeInteger(layer) || layer < 0) throw new Error(`attend: options.layer = ${describe(layer)} must be a non-negative integer (the layer's index)`);
  const training = checkBoolean('attend', 'training', options.training);
  const { memory } = spec;
  if (spec.kind === 'full') return causalAttention(q, k, v, { blockSize: spec.blockSize, memory });
  // LongLoRA's sparse attention is for training; inference is dense unless asked otherwise
  if (!training && !spec.atInference) return causalAttention(q, k, v, { memory });
  const n = q.shape[2];
  if (spec.kind === 's2') {
    if (spec.groupSizeRule === 'sft') {
      return shiftedSparseAttention(q, k, v, { groupSize: sftGroupSize(n, spec.baseContext as number), variant: spec.variant, partialGroups: true, memory });
    }
    return shiftedSparseAttention(q, k, v, { groupSize: groupSizeFor(spec, n), variant: spec.variant, memory });
  }
  const pattern = spec.alternate !== undefined && layer % 2 === 1 ? spec.alternate : spec.pattern;
  const mask = attentionMask(pattern, { heads: q.shape[1], seqLen: n, groupSize: groupSizeFor(spec, n), stride: spec.stride });
  try {
    return maskedAttention(q, k, v, mask, { memory });
  } finally {
    mask.dispose();
  }
}
