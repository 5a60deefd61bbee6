/**
 * Shared by the attention tests: seeded q, k, v and an output weighting w, one attention function's
 * output and the gradients of sum(out * w), and the tolerance every comparison uses.
 */
import { tf } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { expectTensorsClose, seededValues } from '../helpers';

export type Shape4 = [number, number, number, number];
export type AttentionFn = (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D;

export interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  w: Float32Array;
  qShape: Shape4;
  kvShape: Shape4;
}

const size = (s: number[]) => s.reduce((p, x) => p * x, 1);

/** Seeded inputs: q and w `[b, h, tq, d]`, k and v `[b, hkv, tk, d]`, entries in [-1, 1). */
export function inputs({ b, h, hkv, tq, tk, d }: { b: number; h: number; hkv: number; tq: number; tk: number; d: number }, seed: number): Inputs {
  const qShape: Shape4 = [b, h, tq, d];
  const kvShape: Shape4 = [b, hkv, tk, d];
  return {
    q: seededValues(size(qShape), seed),
    k: seededValues(size(kvShape), seed + 1),
    v: seededValues(size(kvShape), seed + 2),
    w: seededValues(size(qShape), seed + 3),
    qShape,
    kvShape,
  };
}

export interface Result {
  out: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** `fn`'s output and the gradients of sum(fn(q, k, v) * w) w.r.t. q, k, v. */
export function run(fn: AttentionFn, x: Inputs): Result {
  return tf.tidy(() => {
    const q = tf.tensor(x.q, x.qShape) as Tensor4D;
    const k = tf.tensor(x.k, x.kvShape) as Tensor4D;
    const v = tf.tensor(x.v, x.kvShape) as Tensor4D;
    const w = tf.tensor(x.w, x.qShape);
    const out = fn(q, k, v).dataSync() as Float32Array;
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(fn(a as Tensor4D, b as Tensor4D, c as Tensor4D), w));
    const [dq, dk, dv] = tf.grads(loss)([q, k, v]).map((g) => g.dataSync() as Float32Array);
    return { out, dq, dk, dv };
  });
}

/** Outputs within `atol`, gradients within `gradTol` of the largest expected entry. */
export function expectAttentionClose(got: Result, want: { out: ArrayLike<number>; dq: ArrayLike<number>; dk: ArrayLike<number>; dv: ArrayLike<number> }, { atol = 1e-5, gradTol = 1e-4 } = {}): void {
  expectTensorsClose(got.out, want.out, { atol, rtol: 0 });
  for (const key of ['dq', 'dk', 'dv'] as const) expectTensorsClose(got[key], want[key], { atol: gradTol, relativeToMax: true });
}

/** S2-Attn test shapes: batch, query heads, key/value heads, length, head size, group size. */
export interface S2Dims {
  b: number;
  h: number;
  hkv: number;
  n: number;
  d: number;
  g: number;
}

/** The S2-Attn shapes every S2 path is checked on (grouped-query, odd G/2, G = N, the smallest group). */
export const S2_CASES: readonly S2Dims[] = [
  { b: 1, h: 2, hkv: 2, n: 8, d: 4, g: 4 },
  { b: 2, h: 4, hkv: 4, n: 16, d: 8, g: 4 },
  { b: 1, h: 4, hkv: 2, n: 16, d: 4, g: 8 }, // grouped-query
  { b: 2, h: 6, hkv: 3, n: 24, d: 4, g: 6 }, // 4 groups, G/2 = 3
  { b: 1, h: 8, hkv: 1, n: 32, d: 8, g: 32 }, // G = N: pattern 2 is just the two halves
  { b: 1, h: 2, hkv: 2, n: 12, d: 4, g: 2 }, // smallest group
];
