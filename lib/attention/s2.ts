/**
 * Shifted sparse attention (S2-Attn), LongLoRA's training-time attention (paper §3.2, Figure 2,
 * Algorithm 1; official `llama_attn_replace.py`).
 *
 * The N tokens are split into groups of G; every head attends causally inside its group only. Heads
 * `[0, H/2)` use groups `[kG, (k+1)G)` (pattern 1). Heads `[H/2, H)` use groups whose borders sit
 * G/2 later (pattern 2), so that information flows between neighbouring groups. Two official
 * variants of pattern 2:
 *
 * - `'offset'` (default; `forward_flashattn`, the official flash-attention path since 2023-10-03):
 *   segments `[0, G/2), [G/2, 3G/2), ..., [N - G/2, N)`: two half-size end segments, no
 *   wrap-around, no future leakage. The end segments keep their real size (no padding), so the
 *   shifted half costs N·G - G²/2 scores rather than N·G + G².
 * - `'roll'` (Algorithm 1; `forward_noflashattn`): the shifted heads are rolled by -G/2 along the
 *   sequence, attended in groups of G, and rolled back by +G/2. The last group wraps: tokens
 *   `[0, G/2)` share it with tokens `[N - G/2, N)` and, causal in the rolled order, see those future
 *   tokens (official repo issues #15 and #90). Kept exactly, for teaching and comparison.
 *
 * Keys and values with fewer heads are expanded first (HF `repeat_kv`), as the official code does,
 * so the head split applies to the expanded heads. RoPE must already be applied (positions are the
 * true ones; the shift only regroups tokens). Time and memory are O(N·G): no N x N tensor exists.
 *
 * `s2Reference` is the algorithm in plain tf ops with autograd. `shiftedSparseAttention` runs a fast
 * path that equals it, with its own backward pass: ./fast/s2-views.ts on wasm (group products on
 * views of `[B, H, N, D]`), ./fast/s2-grouped.ts elsewhere (groups regrouped into batched stacks).
 */
import { tf, segmentKernelsAvailable } from '../backend';
import type { Tensor, Tensor4D } from '../backend';
import { assertFitsInMemory } from '../backend/memory';
import { checkKnownKeys, checkBoolean, describe } from '../util/options';
import { checkAttentionShapes, repeatKv, maskedReference, fastOrReference } from './causal';
import { causalAllowed } from './masks';
import { resolveAttentionMemory } from './options';
import type { AttentionMemory } from './options';
import { s2Grouped } from './fast/s2-grouped';
import type { Segments } from './fast/s2-grouped';
import { s2OnViews } from './fast/s2-views';

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
  /** Keep P for the backward pass or rebuild it there (./options.ts); default 'save'. */
  memory?: AttentionMemory;
}

/** Validates S2 arguments against q/k/v; returns the sizes and the options with their defaults. */
export function checkS2(q: Tensor, k: Tensor, v: Tensor, options: S2Options, what = 'shiftedSparseAttention') {
  if (options === null || typeof options !== 'object') throw new Error(`${what}: options = ${describe(options)} must be an object with groupSize, e.g. { groupSize: N / 4 }`);
  checkKnownKeys(what, options, ['groupSize', 'variant', 'partialGroups', 'memory']);
  const { groupSize: g, variant = 'offset', partialGroups = false } = options;
  checkBoolean(what, 'partialGroups', partialGroups);
  const { b, h, hkv, tq, tk, d } = checkAttentionShapes(q, k, v, what);
  if (tq !== tk) throw new Error(`${what}: q has ${tq} positions and k/v ${tk}; S2-Attn is self-attention over one sequence (no KV cache)`);
  const n = tq;
  if (variant !== 'offset' && variant !== 'roll') throw new Error(`${what}: variant '${variant}' is not 'offset' or 'roll'`);
  if (h % 2 !== 0) throw new Error(`${what}: ${h} heads; S2-Attn shifts half of the heads, so the head count must be even`);
  if (!Number.isInteger(g) || g < 2) throw new Error(`${what}: groupSize = ${describe(g)} must be an even integer >= 2`);
  if (g % 2 !== 0) throw new Error(`${what}: groupSize = ${g} is odd; the shift is G/2, so G must be even`);
  if (partialGroups && variant !== 'offset') throw new Error(`${what}: partialGroups (the SFT path) exists only for the 'offset' variant`);
  if (!partialGroups && g > n) throw new Error(`${what}: groupSize = ${g} is larger than the sequence (${n}); use G <= N (LongLoRA: G = N/4)`);
  if (!partialGroups && n % g !== 0) throw new Error(`${what}: groupSize = ${g} does not divide the sequence length ${n}; pad or cut the sequence to a multiple of G`);
  return { b, h, hkv, n, d, g, variant, partialGroups };
}

/**
 * The segments (half-open [start, end) ranges of positions) one head half attends within:
 * pattern 1 `[0, G), [G, 2G), ...`; pattern 2 (`shifted`) `[0, G/2), [G/2, 3G/2), ...`. Segments end
 * at N: the last one may be shorter than G (the official SFT path drops shifted borders at or past N).
 */
export function s2Segments(n: number, g: number, shifted: boolean): Segments {
  const borders = [0];
  for (let b = shifted ? g / 2 : g; b < n; b += g) borders.push(b);
  borders.push(n);
  return borders.slice(0, -1).map((b, i) => [b, borders[i + 1]] as [number, number]);
}

/** Score entries S2 computes for one batch entry (both halves), for memory estimates and FLOPs. */
export function s2ScoreCount(h: number, n: number, g: number, variant: S2Variant = 'offset'): number {
  const scores = (segs: Segments) => segs.reduce((p, [a, b]) => p + (b - a) * (b - a), 0);
  return (h / 2) * scores(s2Segments(n, g, false)) + (h / 2) * scores(s2Segments(n, g, variant === 'offset'));
}

/**
 * S2-Attn as the paper and the official files write it, in plain tf ops with autograd: the
 * definition the fast paths equal. `[B, H, N, D]` out; options as S2Options (`memory` does not apply).
 */
export function s2Reference(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: S2Options): Tensor4D {
  const { b, h, hkv, n, d, g, variant } = checkS2(q, k, v, options, 's2Reference');
  return tf.tidy(() => {
    const [kk, vv] = [repeatKv(k, h / hkv), repeatKv(v, h / hkv)]; // [B, H, N, D]
    const half = (x: Tensor, i: number) => tf.slice(x, [0, (i * h) / 2, 0, 0], [b, h / 2, n, d]); // [B, H/2, N, D]
    if (variant === 'offset') {
      // forward_flashattn: each half attends causally inside its own segments (its cu_seqlens)
      const halves = [0, 1].map((i) => {
        const [qh, kh, vh] = [q, kk, vv].map((x) => half(x, i)); // [B, H/2, N, D]
        const cut = (x: Tensor, s: number, e: number) => tf.slice(x, [0, 0, s, 0], [b, h / 2, e - s, d]); // [B, H/2, e - s, D]
        const attendIn = ([s, e]: [number, number]) => maskedReference(cut(qh, s, e), cut(kh, s, e), cut(vh, s, e), causalAllowed(e - s, e - s)); // [B, H/2, e - s, D]
        return tf.concat(s2Segments(n, g, i === 1).map(attendIn), 2); // [B, H/2, N, D]
      });
      return tf.concat(halves, 1) as Tensor4D; // [B, H, N, D]
    }
    // Algorithm 1 (forward_noflashattn). torch.roll(x, s) along the sequence, out[i] = x[(i - s) mod N]:
    const roll = (x: Tensor, s: number) => {
      const r = ((-s % n) + n) % n; // out begins with x[r]
      return tf.concat([tf.slice(x, [0, 0, r, 0], [b, h / 2, n - r, d]), tf.slice(x, [0, 0, 0, 0], [b, h / 2, r, d])], 2); // [B, H/2, N, D]
    };
    const shiftHalf = (x: Tensor, s: number) => tf.concat([half(x, 0), roll(half(x, 1), s)], 1); // [B, H, N, D]
    const group = (x: Tensor) => tf.reshape(tf.transpose(tf.reshape(x, [b, h, n / g, g, d]), [0, 2, 1, 3, 4]), [(b * n) / g, h, g, d]); // [B*N/G, H, G, D]
    // key line 1: roll the second half of the heads by -G/2, then cut every head into groups of G
    const [qg, kg, vg] = [q, kk, vv].map((x) => group(shiftHalf(x, -g / 2))); // [B*N/G, H, G, D]
    const out = maskedReference(qg, kg, vg, causalAllowed(g, g)); // [B*N/G, H, G, D]: causal inside each group
    const ungrouped = tf.reshape(tf.transpose(tf.reshape(out, [b, n / g, h, g, d]), [0, 2, 1, 3, 4]), [b, h, n, d]); // [B, H, N, D]
    // key line 2: roll the second half back by +G/2
    return shiftHalf(ungrouped, g / 2) as Tensor4D; // [B, H, N, D]
  });
}

/**
 * S2-Attn on `[B, H, N, D]` queries and `[B, Hkv, N, D]` keys/values; returns `[B, H, N, D]`: a fast
 * path, or the reference where the fast path's result would not be exact (`fastOrReference`).
 */
export function shiftedSparseAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: S2Options): Tensor4D {
  const { b, h, hkv, n, g, variant, partialGroups } = checkS2(q, k, v, options);
  const memory = resolveAttentionMemory(options.memory, 'shiftedSparseAttention');
  assertFitsInMemory(
    4 * 6 * b * s2ScoreCount(h, n, g, variant), // as attentionScoreBytes: 6 score-sized buffers at the backward peak
    `S2-Attn over ${n} positions, groups of ${g}, ${b * h} batch-heads`,
    'use a smaller group size or a shorter sequence',
  );
  const segments: [Segments, Segments] = [s2Segments(n, g, false), s2Segments(n, g, variant === 'offset')];
  const fast = segmentKernelsAvailable() ? s2OnViews : s2Grouped;
  return fastOrReference(
    k,
    () => tf.tidy(() => fast(q, repeatKv(k, h / hkv), repeatKv(v, h / hkv), segments, { roll: variant === 'roll' ? g / 2 : 0, memory })),
    () => s2Reference(q, k, v, { groupSize: g, variant, partialGroups }),
  );
}
