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
 *
 * Two paths with the same semantics: on wasm, per-group products read the groups straight out of
 * `[B, H, N, D]` and write straight into it (./s2-views.ts, no regrouping copies); elsewhere the
 * head halves are sliced and regrouped into batched stacks here, so that each group length is one
 * batched tf.matMul (what GPU and native backends want).
 */
import { tf } from '../backend';
import type { Tensor, Tensor4D } from '../backend';
import { assertFitsInMemory } from '../backend/memory';
import { matmulNoGrad, segmentKernelsAvailable } from '../backend';
import { groupBuckets, groupedAttentionOnViews } from './s2-views';
import { checkAttentionShapes, causalMask, attentionProbabilities, attentionBackward, attentionMemory, repeatKv } from './causal';

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

/** Consecutive equal-length segments: a run folds into the batch axis for free (a reshape). */
interface Run {
  start: number;
  len: number;
  count: number;
}

function runsOf(segments: Array<[number, number]>): Run[] {
  const runs: Run[] = [];
  for (const [a, b] of segments) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.len === b - a && last.start + last.len * last.count === a) last.count++;
    else runs.push({ start: a, len: b - a, count: 1 });
  }
  return runs;
}

/**
 * `[rows, N, D]` -> per segment length, every segment of that length stacked on the batch axis
 * (`[rows * segments, len, D]`), so that one attention call covers them all.
 */
function gatherRuns(x: Tensor, runs: Run[]): Map<number, Tensor> {
  const [rows, n, d] = x.shape;
  const take = (r: Run) => tf.reshape(r.start === 0 && r.len * r.count === n ? x : tf.slice(x, [0, r.start, 0], [rows, r.len * r.count, d]), [rows * r.count, r.len, d]);
  const out = new Map<number, Tensor>();
  for (const len of new Set(runs.map((r) => r.len))) {
    const same = runs.filter((r) => r.len === len);
    out.set(len, same.length === 1 ? take(same[0]) : tf.concat(same.map(take), 0));
  }
  return out;
}

/** The inverse of gatherRuns: per-length stacks back to `[rows, N, D]` in sequence order. */
function scatterRuns(buckets: Map<number, Tensor>, runs: Run[], rows: number, d: number): Tensor {
  const offsets = new Map<number, number>();
  const pieces = runs.map((r) => {
    const stack = buckets.get(r.len) as Tensor;
    const at = offsets.get(r.len) ?? 0;
    offsets.set(r.len, at + rows * r.count);
    const piece = at === 0 && stack.shape[0] === rows * r.count ? stack : tf.slice(stack, [at, 0, 0], [rows * r.count, r.len, d]);
    return tf.reshape(piece, [rows, r.count * r.len, d]);
  });
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1);
}

/** Rolls `[B, heads, N, D]` along the sequence: out[.., i, :] = x[.., (i + shift) mod N, :] (torch.roll by -shift). */
function rollHeads(x: Tensor, shift: number): Tensor {
  const [b, h, n, d] = x.shape;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return tf.concat([tf.slice(x, [0, 0, s, 0], [b, h, n - s, d]), tf.slice(x, [0, 0, 0, 0], [b, h, s, d])], 2);
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
 *
 * One differentiable op with its own backward pass: the head split, the regrouping into segments
 * (and the roll) are permutations whose gradients are the inverse permutations, so the backward
 * pass regroups dO the same way, applies the attention gradient per segment length and puts the
 * pieces back, instead of recording every slice (whose gradient would pad to full size) and concat.
 */
export function shiftedSparseAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, { groupSize, variant = 'offset', partialGroups = false }: S2Options): Tensor4D {
  const { b, h, hkv, n, d } = checkS2(q, k, v, groupSize, variant, partialGroups);
  assertFitsInMemory(
    4 * 6 * b * s2ScoreCount(h, n, groupSize, variant), // as attentionScoreBytes: 6 score-sized buffers at the backward peak
    `S2-Attn over ${n} positions, groups of ${groupSize}, ${b * h} batch-heads`,
    'use a smaller group size or a shorter sequence',
  );
  const half = h / 2;
  const rows = b * half;
  const scale = 1 / Math.sqrt(d);
  const shift = groupSize / 2;
  if (segmentKernelsAvailable()) {
    // wasm: per-group products on views of [B, H, N, D] (./s2-views.ts); 'roll' regroups by rolling
    // the shifted heads first (in rolled order its groups are the plain ones) and back after
    const buckets = groupBuckets(b, h, n, d, [s2Segments(n, groupSize, false), s2Segments(n, groupSize, variant === 'offset')]);
    return tf.tidy(() => {
      const [kk, vv] = [repeatKv(k, h / hkv), repeatKv(v, h / hkv)];
      if (variant === 'offset') return groupedAttentionOnViews(q, kk, vv, buckets) as Tensor4D;
      const rollShifted = (x: Tensor, by: number) => tf.concat([tf.slice(x, [0, 0, 0, 0], [b, half, n, d]), rollHeads(tf.slice(x, [0, half, 0, 0], [b, half, n, d]), by)], 1);
      return rollShifted(groupedAttentionOnViews(rollShifted(q, shift), rollShifted(kk, shift), rollShifted(vv, shift), buckets), n - shift) as Tensor4D;
    });
  }
  const recompute = attentionMemory() === 'recompute';
  const runs = [runsOf(s2Segments(n, groupSize, false)), runsOf(s2Segments(n, groupSize, variant === 'offset'))];
  const lengths = runs.map((r) => [...new Set(r.map((x) => x.len))]);
  // [B, H, N, D] -> head half i as [B * H/2, N, D], in the order pattern i groups it (rolled for 'roll')
  const halfOf = (x: Tensor, i: number): Tensor => {
    const part = tf.reshape(tf.slice(x, [0, i * half, 0, 0], [b, half, n, d]), [rows, n, d]);
    return i === 1 && variant === 'roll' ? rollLeft(part, shift) : part;
  };
  // the inverse: two halves back to [B, H, N, D]
  const joinHalves = (parts: Tensor[]): Tensor => {
    const ordered = parts.map((p, i) => tf.reshape(i === 1 && variant === 'roll' ? rollLeft(p, n - shift) : p, [b, half, n, d]));
    return tf.concat(ordered, 1);
  };
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const op = tf.customGrad(((qi: Tensor, ki: Tensor, vi: Tensor, save: (ts: Tensor[]) => void) => {
    const keep: Tensor[] = [qi, ki, vi];
    const outs = [0, 1].map((i) =>
      tf.tidy(() => {
        const [qb, kb, vb] = [qi, ki, vi].map((x) => gatherRuns(halfOf(x, i), runs[i]));
        const ob = new Map<number, Tensor>();
        for (const len of lengths[i]) {
          const p = attentionProbabilities(qb.get(len) as Tensor, kb.get(len) as Tensor, causalMask(len, len), scale);
          const o = matmulNoGrad(p, vb.get(len) as Tensor);
          ob.set(len, o);
          keep.push(tf.keep(o));
          if (!recompute) keep.push(tf.keep(p));
        }
        return scatterRuns(ob, runs[i], rows, d);
      }),
    );
    const value = tf.tidy(() => joinHalves(outs));
    tf.dispose(outs);
    save(keep);
    // save() holds its own references: drop ours to the per-segment outputs and probabilities
    tf.dispose(keep.slice(3));
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs] = saved;
          let next = 3;
          const grads = [0, 1].map((i) => {
            const [qb, kb, vb, db] = [qs, ks, vs, dy].map((x) => gatherRuns(halfOf(x, i), runs[i]));
            const dq = new Map<number, Tensor>();
            const dk = new Map<number, Tensor>();
            const dv = new Map<number, Tensor>();
            for (const len of lengths[i]) {
              const [qx, kx, vx] = [qb, kb, vb].map((m) => m.get(len) as Tensor);
              const o = saved[next++];
              const p = recompute ? attentionProbabilities(qx, kx, causalMask(len, len), scale) : saved[next++];
              const [gq, gk, gv] = attentionBackward(qx, kx, vx, o, p, db.get(len) as Tensor, scale);
              dq.set(len, gq);
              dk.set(len, gk);
              dv.set(len, gv);
            }
            return [dq, dk, dv].map((m) => scatterRuns(m, runs[i], rows, d));
          });
          return [0, 1, 2].map((j) => joinHalves([grads[0][j], grads[1][j]]));
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => op(q, repeatKv(k, h / hkv), repeatKv(v, h / hkv)) as Tensor4D);
}
