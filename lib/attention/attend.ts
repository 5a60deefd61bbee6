/**
 * The one attention entry point the model calls: `attend(spec, q, k, v, { training })`.
 *
 * The model never knows which attention runs; the config's `attention` spec chooses it. LongLoRA
 * trains with shifted sparse attention and evaluates with dense causal attention, so sparse kinds
 * apply only when `training` is true (unless a spec says otherwise).
 */
import type { Tensor4D } from '../backend';
import { causalAttention } from './causal';

/** Dense causal attention; `blockSize` bounds memory at inference (see causalAttention). */
export interface FullAttentionSpec {
  kind: 'full';
  blockSize?: number;
}

export type AttentionSpec = FullAttentionSpec;

export interface AttendOptions {
  /** True inside a training step (sparse training-time attention applies). */
  training: boolean;
}

/** Runs the attention `spec` asks for on `[B, H, Tq, D]` queries and `[B, Hkv, Tk, D]` keys/values. */
export function attend(spec: AttentionSpec, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: AttendOptions): Tensor4D {
  void options;
  switch (spec.kind) {
    case 'full':
      return causalAttention(q, k, v, { blockSize: spec.blockSize });
    default: {
      const unknown: never = spec.kind;
      throw new Error(`attention kind '${String(unknown)}' is not one of: full`);
    }
  }
}
