/**
 * Shifted sparse attention (S2-Attn), LongLoRA's training-time attention (paper §3.2, Figure 2,
 * Algorithm 1; official `llama_attn_replace.py`).
 *
 * The N tokens are split into groups of G; every head attends causally inside its group only. Heads
 * `[0, H/2)` use groups `[kG, (k+1)G)` (pattern 1). Heads `[H/2, H)` use groups whose borders sit
 * G/2 later (pattern 2), so that information flows between neighbouring groups. Two official
 * variants of pattern 2:
 *
 * - `'offset'` (default; the official flash-attention path `forward_flashattn`, since 2023-10-03):
 *   segments `[0, G/2), [G/2, 3G/2), ..., [N - G/2, N)`: two half-size end segments, no wrap-around,
 *   no future leakage. We compute the end segments at their real size (no padding), so the shifted
 *   half costs N·G - G²/2 scores rather than N·G + G².
 * - `'roll'` (the paper's Algorithm 1 and the official non-flash path `forward_noflashattn`): the
 *   shifted heads are rolled by -G/2 along the sequence, attended in groups of G, and rolled back by
 *   +G/2. The last group wraps: tokens `[0, G/2)` share it with tokens `[N - G/2, N)` and, under the
 *   causal mask of the rolled order, see those future tokens (official repo issues #15 and #90).
 *   Kept exactly, for teaching and comparison.
 *
 * Keys and values with fewer heads are expanded first (HF `repeat_kv`), as the official code does, so
 * the head split applies to the expanded heads. RoPE must already be applied (positions are the true
 * ones; the shift only regroups tokens). Time and memory are O(N·G): no N x N tensor exists here.
 */
import { tf } from '../backend';
import type { Tensor, Tensor4D } from '../backend';
import { assertFitsInMemory } from '../backend/memory';
import { checkAttentionShapes, causalMask, maskedSoftmaxAttention, repeatKv } from './causal';

export type S2Variant = 'offset' | 'roll';

export interface S2Options {
  /** Group size G: even, dividing N, at most N. LongLoRA uses G = N / 4. */
  groupSize: number;
  /** Pattern 2 flavour: `'offset'` (official flash path, no leak) or `'roll'` (Algorithm 1, wraps). */
  variant?: S2Variant;
}

/** Validates S2 arguments against q/k/v; returns the sizes. */
export function checkS2(q: Tensor, k: Tensor, v: Tensor, groupSize: number, variant: string): { b: number; h: number; hkv: number; n: number; d: number } {
  const what = 'shiftedSparseAttention';
  const { b, h, hkv, tq, tk, d } = checkAttentionShapes(q, k, v, what);
  if (tq !== tk) throw new Error(`${what}: q has ${tq} positions and k/v ${tk}; S2-Attn is self-attention over one sequence (no KV cache)`);
  const n = tq;
  if (variant !== 'offset' && variant !== 'roll') throw new Error(`${what}: variant '${variant}' is not 'offset' or 'roll'`);
  if (h % 2 !== 0) throw new Error(`${what}: ${h} heads; S2-Attn shifts half of the heads, so the head count must be even`);
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new Error(`${what}: groupSize = ${groupSize} must be an even integer >= 2`);
  if (groupSize % 2 !== 0) throw new Error(`${what}: groupSize = ${groupSize} is odd; the shift is G/2, so G must be even`);
  if (groupSize > n) throw new Error(`${what}: groupSize = ${groupSize} is larger than the sequence (${n}); use G <= N (LongLoRA: G = N/4)`);
  if (n % groupSize !== 0) throw new Error(`${what}: groupSize = ${groupSize} does not divide the sequence length ${n}; pad or cut the sequence to a multiple of G`);
  return { b, h, hkv, n, d };
}

/** Causal attention inside consecutive groups of `g` positions of `[rows, n, D]` tensors. */
function groupedCausal(q: Tensor, k: Tensor, v: Tensor, g: number): Tensor {
  const [rows, n, d] = q.shape;
  const groups = (rows * n) / g;
  const fold = (t: Tensor) => tf.reshape(t, [groups, g, d]); // free: groups are contiguous
  return tf.reshape(maskedSoftmaxAttention(fold(q), fold(k), fold(v), causalMask(g, g)), [rows, n, d]);
}

/** Pattern 2 without wrap-around: segments [0, G/2), [G/2 + kG, ...), [N - G/2, N) of `[rows, N, D]`. */
function offsetGroups(q: Tensor, k: Tensor, v: Tensor, g: number): Tensor {
  const [rows, n, d] = q.shape;
  const half = g / 2;
  const ends = (t: Tensor) => tf.concat([tf.slice(t, [0, 0, 0], [rows, half, d]), tf.slice(t, [0, n - half, 0], [rows, half, d])], 1); // [rows, G, D]
  const endsOut = tf.reshape(groupedCausal(ends(q), ends(k), ends(v), half), [rows, g, d]); // both half segments at once
  const first = tf.slice(endsOut, [0, 0, 0], [rows, half, d]);
  const last = tf.slice(endsOut, [0, half, 0], [rows, half, d]);
  if (n === g) return tf.concat([first, last], 1);
  const middle = (t: Tensor) => tf.slice(t, [0, half, 0], [rows, n - g, d]); // [rows, N - G, D]
  const middleOut = groupedCausal(middle(q), middle(k), middle(v), g);
  return tf.concat([first, middleOut, last], 1);
}

/** Rolls `[rows, N, D]` along the sequence: out[i] = x[(i + shift) mod N] (torch.roll by -shift). */
function rollLeft(x: Tensor, shift: number): Tensor {
  const [rows, n, d] = x.shape;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return tf.concat([tf.slice(x, [0, s, 0], [rows, n - s, d]), tf.slice(x, [0, 0, 0], [rows, s, d])], 1);
}

/** Score entries S2 computes for one batch entry (both halves), for memory estimates and FLOPs. */
export function s2ScoreCount(h: number, n: number, g: number, variant: S2Variant = 'offset'): number {
  const pattern1 = (h / 2) * n * g;
  const pattern2 = variant === 'roll' ? (h / 2) * n * g : (h / 2) * (n * g - (g * g) / 2);
  return pattern1 + pattern2;
}

/**
 * S2-Attn on `[B, H, N, D]` queries and `[B, Hkv, N, D]` keys/values; returns `[B, H, N, D]`.
 * See the file comment for the two variants.
 */
export function shiftedSparseAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, { groupSize, variant = 'offset' }: S2Options): Tensor4D {
  const { b, h, hkv, n, d } = checkS2(q, k, v, groupSize, variant);
  assertFitsInMemory(
    4 * 10 * b * s2ScoreCount(h, n, groupSize, variant),
    `S2-Attn over ${n} positions, groups of ${groupSize}, ${b * h} batch-heads`,
    'use a smaller group size or a shorter sequence',
  );
  return tf.tidy(() => {
    const kk = repeatKv(k, h / hkv);
    const vv = repeatKv(v, h / hkv);
    const half = h / 2;
    // [B, H, N, D] -> the two head halves as [B * H/2, N, D]. tf.slice, not tf.split: wasm's SplitV
    // copies its whole input to JS, our registered Slice copies only what is taken.
    const halves = (t: Tensor) => [0, half].map((start) => tf.reshape(tf.slice(t, [0, start, 0, 0], [b, half, n, d]), [b * half, n, d]));
    const [q1, q2] = halves(q);
    const [k1, k2] = halves(kk);
    const [v1, v2] = halves(vv);
    const out1 = groupedCausal(q1, k1, v1, groupSize);
    let out2: Tensor;
    if (variant === 'offset') {
      out2 = offsetGroups(q2, k2, v2, groupSize);
    } else {
      const s = groupSize / 2;
      const rolled = groupedCausal(rollLeft(q2, s), rollLeft(k2, s), rollLeft(v2, s), groupSize);
      out2 = rollLeft(rolled, n - s); // roll back by +G/2
    }
    const shape: [number, number, number, number] = [b, half, n, d];
    return tf.concat([tf.reshape(out1, shape), tf.reshape(out2, shape)], 1) as Tensor4D;
  });
}
