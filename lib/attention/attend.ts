/**
 * The one attention entry point the model calls: `attend(spec, q, k, v, { training })`.
 *
 * The model never knows which attention runs; the config's `attention` spec chooses it. LongLoRA
 * trains with shifted sparse attention and evaluates with dense causal attention (official
 * `replace_llama_attn(use_full=True)` in eval.py and passkey_retrivial.py), so sparse kinds apply
 * only when `training` is true, unless `atInference` asks for them at test time as well (the
 * "test without full attention" rows of the paper's Tables 1 and 6).
 */
import type { Tensor4D } from '../backend';
import { causalAttention } from './causal';
import { shiftedSparseAttention, sftGroupSize } from './s2';
import type { S2Variant } from './s2';
import { attentionMask, maskedAttention } from './patterns';
import type { PatternKind } from './patterns';

/** Dense causal attention; `blockSize` bounds memory at inference (see causalAttention). */
export interface FullAttentionSpec {
  kind: 'full';
  blockSize?: number;
}

/** S2-Attn in training (official default: G = N/4, the flash path's `'offset'` segments). */
export interface S2AttentionSpec {
  kind: 's2';
  /** G as a fraction of the sequence length (official `group_size_ratio = 1/4`). */
  groupSizeRatio?: number;
  /** A fixed G instead of the ratio. */
  groupSize?: number;
  variant?: S2Variant;
  /**
   * `'sft'`: the official supervised fine-tuning rule (`llama_attn_replace_sft.py`) scaled to our
   * context: G = N/4 when N is a multiple of `baseContext`, else 2 x baseContext, and a shorter last
   * group is allowed (SFT examples have any length). Default `'ratio'` (G = N x groupSizeRatio, N % G = 0).
   */
  groupSizeRule?: 'ratio' | 'sft';
  /** The model's original context (official 4096), for `groupSizeRule: 'sft'`. */
  baseContext?: number;
  /** Also use S2 outside training (default false: dense causal at inference, as LongLoRA). */
  atInference?: boolean;
}

/** Any mask pattern of ./patterns in training (the O(N^2) masked path: for ablations at small N). */
export interface PatternAttentionSpec {
  kind: 'pattern';
  pattern: PatternKind;
  groupSizeRatio?: number;
  groupSize?: number;
  stride?: number;
  atInference?: boolean;
}

export type AttentionSpec = FullAttentionSpec | S2AttentionSpec | PatternAttentionSpec;

export interface AttendOptions {
  /** True inside a training step (sparse training-time attention applies). */
  training: boolean;
}

/** Group size for a sequence of `n` tokens: the fixed `groupSize`, or `n * groupSizeRatio` (default 1/4). */
export function groupSizeFor(spec: { groupSize?: number; groupSizeRatio?: number }, n: number): number {
  if (spec.groupSize !== undefined) return spec.groupSize;
  const ratio = spec.groupSizeRatio ?? 0.25;
  if (!(ratio > 0 && ratio <= 1)) throw new Error(`attention: groupSizeRatio = ${ratio} must be in (0, 1]`);
  const g = Math.round(n * ratio);
  if (Math.abs(g - n * ratio) > 1e-9) {
    throw new Error(`attention: groupSizeRatio ${ratio} x sequence ${n} = ${n * ratio} is not a whole group size; use a sequence length that is a multiple of ${1 / ratio} (or set groupSize)`);
  }
  return g;
}

/** Runs the attention `spec` asks for on `[B, H, Tq, D]` queries and `[B, Hkv, Tk, D]` keys/values. */
export function attend(spec: AttentionSpec, q: Tensor4D, k: Tensor4D, v: Tensor4D, { training }: AttendOptions): Tensor4D {
  switch (spec.kind) {
    case 'full':
      return causalAttention(q, k, v, { blockSize: spec.blockSize });
    case 's2': {
      if (!training && !spec.atInference) return causalAttention(q, k, v);
      if (spec.groupSizeRule === 'sft') {
        if (spec.baseContext === undefined) throw new Error("attention: groupSizeRule 'sft' needs baseContext (the model's original context, e.g. config.maxPositionEmbeddings)");
        return shiftedSparseAttention(q, k, v, { groupSize: sftGroupSize(q.shape[2], spec.baseContext), variant: spec.variant, partialGroups: true });
      }
      return shiftedSparseAttention(q, k, v, { groupSize: groupSizeFor(spec, q.shape[2]), variant: spec.variant });
    }
    case 'pattern': {
      if (!training && !spec.atInference) return causalAttention(q, k, v);
      const n = q.shape[2];
      const mask = attentionMask(spec.pattern, { heads: q.shape[1], seqLen: n, groupSize: groupSizeFor(spec, n), stride: spec.stride });
      try {
        return maskedAttention(q, k, v, mask);
      } finally {
        mask.dispose();
      }
    }
    default: {
      const unknown: never = spec;
      throw new Error(`attention kind '${(unknown as { kind: string }).kind}' is not one of: full, s2, pattern`);
    }
  }
}
