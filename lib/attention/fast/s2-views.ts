/**
 * The wasm fast path of S2-Attn: per-group products on block views of `[B, H, N, D]`.
 *
 * Must equal `s2Reference` (../s2.ts) wherever `fastOrReference` (../causal.ts) keeps its result.
 * `shiftedSparseAttention` comes here when the backend runs segment products as single kernels
 * (wasm), and runs the reference where this result would not be exact. The causal mask is added,
 * not selected with, as ./dense.ts explains.
 *
 * A group of one head is a contiguous `[len, D]` block of a `[B, H, N, D]` tensor, so every per-group
 * product can read its operands where they lie and write its result where it belongs
 * (lib/backend `segmentMatmul`): the head split, the regrouping into groups, and the way back
 * (slices, concats, and their copies in the backward pass) disappear. What is still copied: each
 * group's K^T and V^T (`gatherSegments`, `[len, D]` blocks), P^T and dS^T (as on the dense path),
 * and for the `'roll'` variant the roll of the shifted heads itself.
 *
 * Forward, per group (scale = 1/sqrt(D)):  P = softmax((Q scale) K^T + causal mask),  O = P V.
 * Backward (as ./dense.ts `attentionBackward`, with flash attention's row term):
 *   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dO * O)),  dQ = dS K scale,  dK = dS^T Q scale.
 */
import { tf, segmentMatmul, gatherSegments, transposeLast2 } from '../../backend';
import type { Tensor, Tensor4D, SegmentProduct } from '../../backend';
import { causalMask } from '../masks';
import type { AttentionMemory } from '../options';
import type { Segments, S2FastOptions } from './s2-grouped';

/** Every group of one length: element offsets of its `[len, D]` blocks in `[B, H, N, D]`. */
export interface GroupBucket {
  len: number;
  offsets: number[];
}

/**
 * The groups of S2 on `[B, H, N, D]`, bucketed by length: heads `[0, H/2)` attend within
 * `segments[0]`, heads `[H/2, H)` within `segments[1]`.
 */
export function groupBuckets(b: number, h: number, n: number, d: number, segments: [Segments, Segments]): GroupBucket[] {
  const byLen = new Map<number, number[]>();
  for (let batch = 0; batch < b; batch++) {
    for (let head = 0; head < h; head++) {
      for (const [start, end] of segments[head < h / 2 ? 0 : 1]) {
        const offsets = byLen.get(end - start) ?? [];
        offsets.push(((batch * h + head) * n + start) * d);
        byLen.set(end - start, offsets);
      }
    }
  }
  return [...byLen.entries()].map(([len, offsets]) => ({ len, offsets }));
}

/**
 * Products whose result rows are groups of `[B, H, N, D]`: bucket i's entry e multiplies its
 * `[len, len]` block of operand i + 1 (a per-bucket stack) by the group's block of operand 0.
 */
function groupOutputProducts(buckets: GroupBucket[], d: number): SegmentProduct[] {
  return buckets.flatMap(({ len, offsets }, i) =>
    offsets.map((o, e) => ({ a: i + 1, aOffset: e * len * len, b: 0, bOffset: o, outOffset: o, m: len, k: len, n: d })),
  );
}

/** Per-group `X_g Y_g^T` for a bucket: `[E, len, len]` from the groups of x and the stacked transposed groups yT `[E, D, len]`. */
function groupScores(x: Tensor, yT: Tensor, { len, offsets }: GroupBucket, d: number): Tensor {
  const products = offsets.map((o, e) => ({ a: 0, aOffset: o, b: 1, bOffset: e * d * len, outOffset: e * len * len, m: len, k: d, n: len }));
  return segmentMatmul([x, yT], products, [offsets.length, len, len]);
}

/** P of every bucket from unscaled q: softmax of the scaled, causally masked scores, `[E, len, len]` each. */
function allProbabilities(q: Tensor, k: Tensor, buckets: GroupBucket[], d: number, scale: number): Tensor[] {
  return tf.tidy(() => {
    const qScaled = tf.mul(q, scale); // [B, H, N, D]
    return buckets.map((bucket) => {
      const kT = gatherSegments(k, bucket.offsets, bucket.len, d, true); // [E, D, len]
      return tf.softmax(tf.add(groupScores(qScaled, kT, bucket, d), causalMask(bucket.len, bucket.len))); // [E, len, len]
    });
  });
}

/**
 * Causal attention within the groups of `buckets` on `[B, H, N, D]` q, k, v (as many kv heads as
 * query heads), as one differentiable op; the groups must tile every head's positions.
 */
function groupedAttentionOnViews(q: Tensor, k: Tensor, v: Tensor, buckets: GroupBucket[], memory: AttentionMemory): Tensor {
  const shape = q.shape;
  const d = shape[shape.length - 1];
  const scale = 1 / Math.sqrt(d);
  const recompute = memory === 'recompute';
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const op = tf.customGrad(((qi: Tensor, ki: Tensor, vi: Tensor, save: (ts: Tensor[]) => void) => {
    const probs = allProbabilities(qi, ki, buckets, d, scale);
    const out = segmentMatmul([vi, ...probs], groupOutputProducts(buckets, d), shape); // [B, H, N, D]
    save(recompute ? [qi, ki, vi, out] : [qi, ki, vi, out, ...probs]);
    if (recompute) tf.dispose(probs);
    return {
      value: out,
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, os] = saved;
          const p = recompute ? allProbabilities(qs, ks, buckets, d, scale) : saved.slice(4);
          // one score-sized stack per bucket at a time beyond P: P^T for dV, then dS, then dS^T
          const pT = p.map((x) => transposeLast2(x));
          const dv = segmentMatmul([dy, ...pT], groupOutputProducts(buckets, d), shape); // [B, H, N, D]
          tf.dispose(pT);
          const rowTerm = tf.sum(tf.mul(dy, os), -1); // [B, H, N]: rowsum(dO * O), D wide
          const ds = buckets.map((bucket, i) =>
            tf.tidy(() => {
              const vT = gatherSegments(vs, bucket.offsets, bucket.len, d, true); // [E, D, len]
              const dp = groupScores(dy, vT, bucket, d); // [E, len, len]
              const rows = gatherSegments(rowTerm, bucket.offsets.map((o) => o / d), bucket.len, 1); // [E, len, 1]
              return tf.mul(p[i], tf.sub(dp, rows)); // [E, len, len]
            }),
          );
          if (recompute) tf.dispose(p);
          const dq = tf.mul(segmentMatmul([ks, ...ds], groupOutputProducts(buckets, d), shape), scale); // [B, H, N, D]
          const dsT = ds.map((x) => transposeLast2(x));
          tf.dispose(ds);
          const dk = tf.mul(segmentMatmul([qs, ...dsT], groupOutputProducts(buckets, d), shape), scale); // [B, H, N, D]
          return [dq, dk, dv];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(q, k, v);
}

/** Rolls `[B, heads, N, D]` along the sequence: out[.., i, :] = x[.., (i + shift) mod N, :] (torch.roll by -shift). */
function rollHeads(x: Tensor, shift: number): Tensor {
  const [b, h, n, d] = x.shape;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return tf.concat([tf.slice(x, [0, 0, s, 0], [b, h, n - s, d]), tf.slice(x, [0, 0, 0, 0], [b, h, s, d])], 2);
}

/**
 * Causal attention of `[B, H, N, D]` q, k, v (kv heads already expanded) inside `segments[0]` for
 * heads `[0, H/2)` and `segments[1]` for heads `[H/2, H)`. For 'roll' (`roll` > 0) the shifted heads
 * are rolled first (in rolled order their groups are the plain ones) and the output rolled back.
 */
export function s2OnViews(q: Tensor4D, k: Tensor4D, v: Tensor4D, segments: [Segments, Segments], { roll, memory }: S2FastOptions): Tensor4D {
  const [b, h, n, d] = q.shape;
  const buckets = groupBuckets(b, h, n, d, segments);
  if (roll === 0) return groupedAttentionOnViews(q, k, v, buckets, memory) as Tensor4D;
  const half = h / 2;
  return tf.tidy(() => {
    const rollShifted = (x: Tensor, by: number) => tf.concat([tf.slice(x, [0, 0, 0, 0], [b, half, n, d]), rollHeads(tf.slice(x, [0, half, 0, 0], [b, half, n, d]), by)], 1); // [B, H, N, D]
    const out = groupedAttentionOnViews(rollShifted(q, roll), rollShifted(k, roll), rollShifted(v, roll), buckets, memory); // [B, H, N, D], rolled
    return rollShifted(out, n - roll) as Tensor4D;
  });
}
