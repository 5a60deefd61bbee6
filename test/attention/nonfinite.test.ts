/**
 * Causality holds for the values of the inputs too: a NaN, an Infinity or a huge finite entry placed
 * at position j of k or v changes no output, and no gradient w.r.t. q, at a (head, position) that may
 * not attend to j; every output that may attend to a non-finite entry is NaN. For each path (the
 * references, and each dispatcher, which runs this backend's fast path on clean inputs: S2 on block
 * views on wasm, regrouped elsewhere; dense causal whole and in query blocks; masked patterns),
 * against the official semantics of "may attend" (./official-reference.ts).
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { causalReference, causalAttention, s2Reference, shiftedSparseAttention, maskedAttention, attentionMask, attentionMaskArray, allFinite, fastOrReference } from '../../lib/attention';
import { numericBackends } from '../helpers';
import { officialOffsetSegments, officialRollGroups, causalAllowed } from './official-reference';
import type { Allowed } from './official-reference';
import { inputs, run } from './harness';
import type { AttentionFn, Inputs, Result } from './harness';

const [B, H, N, D] = [2, 4, 16, 4];
const G = 8;
const DIMS = { b: B, h: H, hkv: H / 2, tq: N, tk: N, d: D }; // grouped-query: each kv head serves 2 query heads

/** x with `value` at position j of every kv head of k or v. */
function placed(x: Inputs, which: 'k' | 'v', j: number, value: number): Inputs {
  const copy = Float32Array.from(x[which]);
  const [b, hkv, n, d] = x.kvShape;
  for (let bi = 0; bi < b; bi++) for (let h = 0; h < hkv; h++) for (let e = 0; e < d; e++) copy[((bi * hkv + h) * n + j) * d + e] = value;
  return { ...x, [which]: copy };
}

/** The rows `[d]` of a `[B, H, N, D]` result. */
const row = (t: Float32Array, n: number, d: number, bi: number, h: number, i: number) => t.subarray(((bi * H + h) * n + i) * d, ((bi * H + h) * n + i + 1) * d);

/**
 * Rows of out and dq that may not see j are finite and equal to the clean run (exactly, or within
 * `tol` where the clean run took a fast path); rows of out that may see a non-finite j are all NaN.
 */
function expectCausal(clean: Result, bad: Result, allowed: Allowed, j: number, nonFinite: boolean, tol: number, n = N): void {
  for (let bi = 0; bi < B; bi++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        const where = `batch ${bi}, head ${h}, position ${i} (bad entry at ${j})`;
        if (allowed(h, i).includes(j)) {
          if (nonFinite) expect([where, Array.from(row(bad.out, n, D, bi, h, i)).every(Number.isNaN)]).toEqual([where, true]);
          continue;
        }
        for (const key of ['out', 'dq'] as const) {
          const [got, want] = [row(bad[key], n, D, bi, h, i), row(clean[key], n, D, bi, h, i)];
          const worst = Math.max(...Array.from(got, (g, e) => (Number.isFinite(g) ? Math.abs(g - want[e]) : Infinity)));
          expect([where, key, worst <= tol]).toEqual([where, key, true]);
        }
      }
    }
  }
}

interface Path {
  name: string;
  fn: AttentionFn;
  allowed: Allowed;
  /** Whether clean inputs run the same ops as bad ones (a reference): then rows must not change at all. */
  exact: boolean;
}

const s2 = (variant: 'offset' | 'roll') => (variant === 'offset' ? officialOffsetSegments(H, N, G) : officialRollGroups(H, N, G));
const shortMask = attentionMaskArray('short', { heads: H, seqLen: N, groupSize: G });

const PATHS: Path[] = [
  { name: 'causalReference', fn: causalReference, allowed: causalAllowed(N, N), exact: true },
  { name: 'causalAttention (one block)', fn: (q, k, v) => causalAttention(q, k, v), allowed: causalAllowed(N, N), exact: false },
  { name: 'causalAttention (blocks of 5)', fn: (q, k, v) => causalAttention(q, k, v, { blockSize: 5 }), allowed: causalAllowed(N, N), exact: false },
  ...(['offset', 'roll'] as const).flatMap((variant) => [
    { name: `s2Reference '${variant}'`, fn: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => s2Reference(q, k, v, { groupSize: G, variant }), allowed: s2(variant), exact: true },
    { name: `shiftedSparseAttention '${variant}'`, fn: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => shiftedSparseAttention(q, k, v, { groupSize: G, variant }), allowed: s2(variant), exact: false },
  ]),
  {
    name: "maskedAttention ('short' pattern)",
    fn: (q, k, v) => tf.tidy(() => maskedAttention(q, k, v, attentionMask('short', { heads: H, seqLen: N, groupSize: G }))),
    allowed: (h, i) => shortMask[h][i].flatMap((ok, j) => (ok ? [j] : [])),
    exact: false,
  },
];

// 1e15 and 1e30 keep the fast path (an added -1e9 mask would let their scores through)
const VALUES = [NaN, Infinity, -Infinity, 1e15, 1e30];

describe.each(numericBackends())('non-finite and huge keys and values on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it.each(PATHS.map((p) => [p.name, p]))('%s: nothing reaches a position that may not see it', (_name, path) => {
    const x = inputs(DIMS, 3);
    const clean = run(path.fn, x);
    for (const which of ['k', 'v'] as const) {
      for (const j of [5, 12, 15]) {
        for (const value of VALUES) {
          const bad = run(path.fn, placed(x, which, j, value));
          expectCausal(clean, bad, path.allowed, j, !Number.isFinite(value), path.exact ? 0 : 1e-5);
        }
      }
    }
  });

  it('allFinite: false for a NaN or an Infinity anywhere (and where a sum of finite entries overflows)', () => {
    tf.tidy(() => {
      const x = tf.tensor(inputs(DIMS, 5).q, [B, H, N, D]);
      const at = (value: number) => tf.tensor(Float32Array.from(x.dataSync(), (e, i) => (i === 77 ? value : e)), x.shape);
      expect([allFinite(x), allFinite(at(1e30))]).toEqual([true, true]);
      expect([NaN, Infinity, -Infinity].map((value) => allFinite(at(value)))).toEqual([false, false, false]);
      expect(allFinite(tf.fill([4], 2e38))).toBe(false);
    });
  });

  it('fastOrReference keeps the fast result only for finite keys and a finite output, and frees the one it drops', () => {
    tf.tidy(() => {
      const ok = tf.ones([1, 1, 2, 3]) as Tensor4D;
      const bad = tf.tensor4d([1, NaN, 3], [1, 1, 1, 3]);
      let calls: string[] = [];
      const fast = (out: Tensor4D) => () => (calls.push('fast'), tf.clone(out));
      const reference = () => (calls.push('reference'), tf.zeros([1, 1, 2, 3]) as Tensor4D);
      expect(fastOrReference(ok, fast(ok), reference).dataSync()[0]).toBe(1);
      expect(calls).toEqual(['fast']);
      calls = [];
      fastOrReference(bad, fast(ok), reference);
      expect(calls).toEqual(['reference']); // a non-finite key: the fast path does not even run
      calls = [];
      const before = tf.memory().numTensors;
      fastOrReference(ok, fast(bad), reference);
      expect(calls).toEqual(['fast', 'reference']);
      expect(tf.memory().numTensors).toBe(before + 1); // the reference's result; the fast one was freed
    });
  });
});

describe.each(numericBackends())('non-finite keys and values at N = 1024 (default query blocks) on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('a NaN key or value at j = 700 changes no earlier output or dq, and makes every later output NaN', () => {
    const n = 1024;
    const x = inputs({ b: B, h: H, hkv: H, tq: n, tk: n, d: D }, 9);
    const clean = run((q, k, v) => causalAttention(q, k, v), x);
    for (const which of ['k', 'v'] as const) {
      const bad = run((q, k, v) => causalAttention(q, k, v), placed(x, which, 700, NaN));
      expectCausal(clean, bad, causalAllowed(n, n), 700, true, 1e-5, n);
    }
  });
});
