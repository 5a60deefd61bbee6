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
  /**
   * Allow a shorter last group (N not a multiple of G, or G > N), as the official SFT path does
   * (`llama_attn_replace_sft.py`); `'offset'` only. Off by default: pre-training style S2 requires
   * N % G = 0, as the official code raises otherwise.
   */
  partialGroups?: boolean;
}

/** Validates S2 arguments against q/k/v; returns the sizes. */
export function checkS2(q: Tensor, k: Tensor, v: Tensor, groupSize: number, variant: string, partialGroups = false): { b: number; h: number; hkv: number; n: number; d: number } {
  const what = 'shiftedSparseAttention';
  const { b, h, hkv, tq, tk, d } = checkAttentionShapes(q, k, v, what);
  if (tq !== tk) throw new Error(`${what}: q has ${tq} positions and k/v ${tk}; S2-Attn is self-attention over one sequence (no KV cache)`);
  const n = tq;
  if (variant !== 'offset' && variant !== 'roll') throw new Error(`${what}: variant '${variant}' is not 'offset' or 'roll'`);
  if (h % 2 !== 0) throw new Error(`${what}: ${h} heads; S2-Attn shifts half of the heads, so the head count must be even`);
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new Error(`${what}: groupSize = ${groupSize} must be an even integer >= 2`);
  if (groupSize % 2 !== 0) throw new Error(`${what}: groupSize = ${groupSize} is odd; the shift is G/2, so G must be even`);
  if (partialGroups) {
    if (variant !== 'offset') throw new Error(`${what}: partialGroups (the SFT path) exists only for the 'offset' variant`);
    return { b, h, hkv, n, d };
  }
  if (groupSize > n) throw new Error(`${what}: groupSize = ${groupSize} is larger than the sequence (${n}); use G <= N (LongLoRA: G = N/4)`);
  if (n % groupSize !== 0) throw new Error(`${what}: groupSize = ${groupSize} does not divide the sequence length ${n}; pad or cut the sequence to a multiple of G`);
  return { b, h, hkv, n, d };
}

/**
 * The official SFT rule for the group size (`llama_attn_replace_sft.py`): G = N/4 when N is a
 * multiple of 4096, else 8192, with 4096 = Llama-2's context. Scaled to a model whose original
 * context is `baseContext`: G = N/4 when N % baseContext = 0, else 2 x baseContext (a shorter last
 * group allowed; with G >= 2N both halves see the whole sequence, as officially for N <= 4096).
 */
export function sftGroupSize(n: number, baseContext: number): number {
  if (!Number.isInteger(baseContext) || baseContext < 2 || baseContext % 2 !== 0) throw new Error(`sftGroupSize: baseContext = ${baseContext} must be an even integer >= 2 (the model's original context)`);
  return n % baseContext === 0 ? n / 4 : 2 * baseContext;
}

/**
 * The segments (half-open [start, end) ranges of positions) one head half attends within:
 * pattern 1 `[0, G), [G, 2G), ...`; pattern 2 (`shifted`) `[0, G/2), [G/2, 3G/2), ...`. Segments end
 * at N: with `partial` the last one may be shorter than G (the official SFT path drops shifted
 * borders at or past N), otherwise N must be a multiple of G.
 */
export function s2Segments(n: number, g: number, shifted: boolean): Array<[number, number]> {
  const borders = [0];
  for (let b = shifted ? g / 2 : g; b < n; b += g) borders.push(b);
  borders.push(n);
  return borders.slice(0, -1).map((b, i) => [b, borders[i + 1]] as [number, number]);
}

/**
 * Causal attention inside each segment of `[rows, N, D]` tensors. Consecutive equal-length segments
 * form a run that folds into the batch axis for free (a reshape); runs of the same segment length
 * share one attention call, so the number of kernel calls does not grow with N / G.
 */
function segmentedCausal(q: Tensor, k: Tensor, v: Tensor, segments: Array<[number, number]>): Tensor {
  const [rows, n, d] = q.shape;
  const runs: Array<{ start: number; len: number; count: number }> = [];
  for (const [a, b] of segments) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.len === b - a && last.start + last.len * last.count === a) last.count++;
    else runs.push({ start: a, len: b - a, count: 1 });
  }
  // [rows, N, D] -> a run as [rows * count, len, D]
  const take = (t: Tensor, r: { start: number; len: number; count: number }) => {
    const part = r.start === 0 && r.len * r.count === n ? t : tf.slice(t, [0, r.start, 0], [rows, r.len * r.count, d]);
    return tf.reshape(part, [rows * r.count, r.len, d]);
  };
  const outs = new Map<(typeof runs)[number], Tensor>();
  for (const len of new Set(runs.map((r) => r.len))) {
    const same = runs.filter((r) => r.len === len);
    const stack = (t: Tensor) => (same.length === 1 ? take(t, same[0]) : tf.concat(same.map((r) => take(t, r)), 0));
    const out = maskedSoftmaxAttention(stack(q), stack(k), stack(v), causalMask(len, len)); // [sum rows*count, len, D]
    let offset = 0;
    for (const r of same) {
      const m = rows * r.count;
      const piece = same.length === 1 ? out : tf.slice(out, [offset, 0, 0], [m, len, d]);
      outs.set(r, tf.reshape(piece, [rows, r.count * len, d]));
      offset += m;
    }
  }
  const ordered = runs.map((r) => outs.get(r) as Tensor);
  return ordered.length === 1 ? ordered[0] : tf.concat(ordered, 1);
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
  const scores = (segs: Array<[number, number]>) => segs.reduce((p, [a, b]) => p + (b - a) * (b - a), 0);
  const pattern1 = (h / 2) * scores(s2Segments(n, g, false));
  const pattern2 = (h / 2) * (variant === 'roll' ? scores(s2Segments(n, g, false)) : scores(s2Segments(n, g, true)));
  return pattern1 + pattern2;
}

/**
 * S2-Attn on `[B, H, N, D]` queries and `[B, Hkv, N, D]` keys/values; returns `[B, H, N, D]`.
 * See the file comment for the two variants.
 */
export function shiftedSparseAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, { groupSize, variant = 'offset', partialGroups = false }: S2Options): Tensor4D {
  const { b, h, hkv, n, d } = checkS2(q, k, v, groupSize, variant, partialGroups);
  assertFitsInMemory(
    4 * 6 * b * s2ScoreCount(h, n, groupSize, variant), // as attentionScoreBytes: 6 score-sized buffers at the backward peak
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
    const out1 = segmentedCausal(q1, k1, v1, s2Segments(n, groupSize, false));
    let out2: Tensor;
    if (variant === 'offset') {
      out2 = segmentedCausal(q2, k2, v2, s2Segments(n, groupSize, true));
    } else {
      const s = groupSize / 2;
      const rolled = segmentedCausal(rollLeft(q2, s), rollLeft(k2, s), rollLeft(v2, s), s2Segments(n, groupSize, false));
      out2 = rollLeft(rolled, n - s); // roll back by +G/2
    }
    const shape: [number, number, number, number] = [b, half, n, d];
    return tf.concat([tf.reshape(out1, shape), tf.reshape(out2, shape)], 1) as Tensor4D;
  });
}
