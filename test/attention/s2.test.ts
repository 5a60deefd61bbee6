/**
 * S2-Attn against independent float64 references of the official code's semantics (forward within
 * 1e-5, gradients within 1e-4 of the largest entry), against the masked O(N^2) path with the
 * matching pattern, by finite differences, for leakage, and for every bad input.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { shiftedSparseAttention, causalAttention, maskedAttention, attentionMask, attend, sftGroupSize } from '../../lib/attention';
import type { S2Variant } from '../../lib/attention';
import { expectTensorsClose, seededValues, numericBackendsAndCpu } from '../helpers';
import { denseAttention64, officialOffsetSegments, officialRollGroups, officialSftSegments, causalAllowed } from './official-reference';
import { S2_CASES } from './harness';
import type { S2Dims } from './harness';

type Dims = S2Dims;
const CONFIGS = S2_CASES;

const size = (s: number[]) => s.reduce((p, x) => p * x, 1);
type Shape4 = [number, number, number, number];

function inputs(c: Dims, seed: number) {
  const qShape: Shape4 = [c.b, c.h, c.n, c.d];
  const kvShape: Shape4 = [c.b, c.hkv, c.n, c.d];
  return {
    q: seededValues(size(qShape), seed, 1),
    k: seededValues(size(kvShape), seed + 1, 1),
    v: seededValues(size(kvShape), seed + 2, 1),
    w: seededValues(size(qShape), seed + 3, 1),
    qShape,
    kvShape,
  };
}

/** Our S2 (or any attention fn) forward and the gradients of sum(out * w). */
function ours(c: Dims, seed: number, fn: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D) {
  const x = inputs(c, seed);
  return tf.tidy(() => {
    const q = tf.tensor(x.q, x.qShape) as Tensor4D;
    const k = tf.tensor(x.k, x.kvShape) as Tensor4D;
    const v = tf.tensor(x.v, x.kvShape) as Tensor4D;
    const w = tf.tensor(x.w, x.qShape);
    const out = fn(q, k, v);
    const [dq, dk, dv] = tf.grads((a: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(fn(a as Tensor4D, bb as Tensor4D, cc as Tensor4D), w)))([q, k, v]);
    return { out: out.dataSync() as Float32Array, dq: dq.dataSync() as Float32Array, dk: dk.dataSync() as Float32Array, dv: dv.dataSync() as Float32Array };
  });
}

function reference(c: Dims, seed: number, variant: S2Variant | 'full') {
  const x = inputs(c, seed);
  const allowed = variant === 'offset' ? officialOffsetSegments(c.h, c.n, c.g) : variant === 'roll' ? officialRollGroups(c.h, c.n, c.g) : causalAllowed(c.n, c.n);
  return denseAttention64(x.q, x.k, x.v, x.w, { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d }, allowed);
}

function expectAttentionClose(got: ReturnType<typeof ours>, ref: { out: ArrayLike<number>; dq: ArrayLike<number>; dk: ArrayLike<number>; dv: ArrayLike<number> }) {
  expectTensorsClose(got.out, ref.out, { atol: 1e-5, rtol: 0 });
  for (const key of ['dq', 'dk', 'dv'] as const) expectTensorsClose(got[key], ref[key], { atol: 1e-4, relativeToMax: true });
}

describe.each(numericBackendsAndCpu())('S2-Attn on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  describe.each(['offset', 'roll'] as const)("variant '%s'", (variant) => {
    it.each(CONFIGS)('matches the official-semantics float64 reference: %j', (c) => {
      const got = ours(c, 11, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant }));
      expectAttentionClose(got, reference(c, 11, variant));
    });

    it.each(CONFIGS.filter((c) => c.n <= 24))(`equals maskedAttention with the s2-${variant} mask, forward and gradients: %j`, (c) => {
      const s2 = ours(c, 21, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant }));
      const mask = attentionMask(variant === 'offset' ? 's2-offset' : 's2-roll', { heads: c.h, seqLen: c.n, groupSize: c.g });
      const masked = ours(c, 21, (q, k, v) => maskedAttention(q, k, v, mask));
      mask.dispose();
      expectTensorsClose(s2.out, masked.out, { atol: 1e-5, rtol: 0 });
      for (const key of ['dq', 'dk', 'dv'] as const) expectTensorsClose(s2[key], masked[key], { atol: 1e-5, relativeToMax: true });
    });
  });
});

describe('S2-Attn properties (wasm)', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  it('with G = N the unshifted half of the heads is exactly full causal attention', () => {
    const c: Dims = { b: 2, h: 4, hkv: 2, n: 16, d: 8, g: 16 };
    const s2 = ours(c, 5, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g }));
    const full = ours(c, 5, (q, k, v) => causalAttention(q, k, v));
    const perHead = c.n * c.d;
    for (let b = 0; b < c.b; b++) {
      for (let h = 0; h < c.h / 2; h++) {
        const at = (b * c.h + h) * perHead;
        expectTensorsClose(s2.out.subarray(at, at + perHead), full.out.subarray(at, at + perHead), { atol: 1e-6, rtol: 0 });
      }
    }
    // and the shifted half is not (the check can fail)
    const at = (c.h / 2) * perHead;
    expect(() => expectTensorsClose(s2.out.subarray(at, at + perHead), full.out.subarray(at, at + perHead), { atol: 1e-6, rtol: 0 })).toThrow();
  });

  it('central finite differences of the float64 official reference agree with our gradients', () => {
    const c: Dims = { b: 1, h: 4, hkv: 2, n: 8, d: 4, g: 4 };
    for (const variant of ['offset', 'roll'] as const) {
      const got = ours(c, 31, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant }));
      const x = inputs(c, 31);
      const allowed = variant === 'offset' ? officialOffsetSegments(c.h, c.n, c.g) : officialRollGroups(c.h, c.n, c.g);
      const dims = { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d };
      const loss = (q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>) => {
        const r = denseAttention64(q, k, v, x.w, dims, allowed);
        return r.out.reduce((p, o, i) => p + o * x.w[i], 0);
      };
      const eps = 1e-4; // float64 reference: truncation error O(eps^2) ~ 1e-8, far below the 1e-3 relative bar
      const probe = (arr: Float32Array, which: 'q' | 'k' | 'v', idx: number) => {
        const plus = Float64Array.from(arr);
        const minus = Float64Array.from(arr);
        plus[idx] += eps;
        minus[idx] -= eps;
        const args = (t: Float64Array) => (which === 'q' ? [t, x.k, x.v] : which === 'k' ? [x.q, t, x.v] : [x.q, x.k, t]) as [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
        return (loss(...args(plus)) - loss(...args(minus))) / (2 * eps);
      };
      for (const idx of [0, 5, 17, 40, 63]) {
        expect(got.dq[idx]).toBeCloseTo(probe(x.q, 'q', idx), 4);
        expect(got.dk[idx]).toBeCloseTo(probe(x.k, 'k', idx), 4);
        expect(got.dv[idx]).toBeCloseTo(probe(x.v, 'v', idx), 4);
      }
    }
  });

  /** max |out[.., t', :] - perturbed[.., t', :]| over positions t' <= t after changing q, k, v at t + 1. */
  function leakAt(fn: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D, c: Dims, t: number): number {
    return tf.tidy(() => {
      const x = inputs(c, 41);
      const make = (vals: Float32Array, shape: Shape4, bump: boolean) => {
        const copy = Float32Array.from(vals);
        if (bump) {
          const [bb, hh, , dd] = shape;
          for (let b = 0; b < bb; b++) for (let h = 0; h < hh; h++) for (let d = 0; d < dd; d++) copy[((b * hh + h) * c.n + t + 1) * dd + d] += 3;
        }
        return tf.tensor(copy, shape) as Tensor4D;
      };
      const run = (bump: boolean) => fn(make(x.q, x.qShape, bump), make(x.k, x.kvShape, bump), make(x.v, x.kvShape, bump));
      const a = run(false);
      const b = run(true);
      const upTo = tf.slice(tf.sub(a, b), [0, 0, 0, 0], [-1, -1, t + 1, -1]);
      return tf.max(tf.abs(upTo)).dataSync()[0];
    });
  }

  it("'offset' never lets a position see the future; 'roll' does (the official wrap-around)", () => {
    const c: Dims = { b: 1, h: 4, hkv: 4, n: 16, d: 4, g: 8 };
    const offset = (q: Tensor4D, k: Tensor4D, v: Tensor4D) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant: 'offset' });
    const roll = (q: Tensor4D, k: Tensor4D, v: Tensor4D) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant: 'roll' });
    for (let t = 0; t < c.n - 1; t++) expect(leakAt(offset, c, t)).toBe(0);
    // Outputs [0, G/2) of the shifted heads share the last rolled group with tokens [N - G/2, N):
    // perturbing one of those (t + 1 >= N - G/2) changes outputs at positions <= t.
    const leaks = Array.from({ length: c.n - 1 }, (_, t) => leakAt(roll, c, t));
    expect(Math.max(...leaks.slice(0, c.n - c.g / 2 - 1))).toBe(0);
    expect(Math.min(...leaks.slice(c.n - c.g / 2 - 1))).toBeGreaterThan(1e-3);
  });

  it('attend(): S2 in training, dense causal at inference unless atInference', () => {
    const c: Dims = { b: 1, h: 4, hkv: 4, n: 16, d: 4, g: 4 };
    const spec = { kind: 's2' as const, groupSizeRatio: 0.25 };
    const train = ours(c, 51, (q, k, v) => attend(spec, q, k, v, { training: true }));
    const infer = ours(c, 51, (q, k, v) => attend(spec, q, k, v, { training: false }));
    const inferS2 = ours(c, 51, (q, k, v) => attend({ ...spec, atInference: true }, q, k, v, { training: false }));
    expectAttentionClose(train, reference(c, 51, 'offset'));
    expectAttentionClose(infer, reference(c, 51, 'full'));
    expectAttentionClose(inferS2, reference(c, 51, 'offset'));
  });

  it.each([
    { b: 1, h: 4, hkv: 2, n: 20, d: 4, g: 8 }, // partial last group in both halves
    { b: 2, h: 2, hkv: 2, n: 12, d: 4, g: 8 }, // pattern 1: [0,8) [8,12); pattern 2: [0,4) [4,12)
    { b: 1, h: 2, hkv: 2, n: 6, d: 4, g: 16 }, // G > N: both halves see everything
    { b: 1, h: 2, hkv: 2, n: 16, d: 4, g: 4 }, // whole groups: same as the pre-training path
  ])('the SFT path (partial groups) matches the official SFT cu_seqlens: %j', (c) => {
    const got = ours(c, 71, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, partialGroups: true }));
    const x = inputs(c, 71);
    const ref = denseAttention64(x.q, x.k, x.v, x.w, { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d }, officialSftSegments(c.h, c.n, c.g));
    expectAttentionClose(got, ref);
  });

  it('the SFT group-size rule, scaled: N/4 on multiples of the base context, else 2 x base', () => {
    // official: 4096 -> 1024, 8192 -> 2048, 5000 -> 8192, 100 -> 8192
    expect([4096, 8192, 5000, 100].map((n) => sftGroupSize(n, 4096))).toEqual([1024, 2048, 8192, 8192]);
    expect([256, 512, 300].map((n) => sftGroupSize(n, 256))).toEqual([64, 128, 512]);
    const c: Dims = { b: 1, h: 4, hkv: 4, n: 40, d: 4, g: 32 };
    const got = ours(c, 81, (q, k, v) => attend({ kind: 's2', groupSizeRule: 'sft', baseContext: 16 }, q, k, v, { training: true }));
    const x = inputs(c, 81);
    expectAttentionClose(got, denseAttention64(x.q, x.k, x.v, x.w, { b: 1, h: 4, hkv: 4, tq: 40, tk: 40, d: 4 }, officialSftSegments(4, 40, 32)));
    expect(() => attend({ kind: 's2', groupSizeRule: 'sft' }, tf.zeros([1, 2, 8, 2]) as Tensor4D, tf.zeros([1, 2, 8, 2]) as Tensor4D, tf.zeros([1, 2, 8, 2]) as Tensor4D, { training: true })).toThrow(/needs baseContext/);
    expect(() => shiftedSparseAttention(tf.zeros([1, 2, 8, 2]) as Tensor4D, tf.zeros([1, 2, 8, 2]) as Tensor4D, tf.zeros([1, 2, 8, 2]) as Tensor4D, { groupSize: 4, variant: 'roll', partialGroups: true })).toThrow(/only for the 'offset' variant/);
  });

  it("memory 'recompute' gives the same results (both variants, against the references; also through attend's spec)", () => {
    const c = CONFIGS[3];
    for (const variant of ['offset', 'roll'] as const) {
      expectAttentionClose(ours(c, 91, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant, memory: 'recompute' })), reference(c, 91, variant));
      expectAttentionClose(ours(c, 91, (q, k, v) => attend({ kind: 's2', groupSize: c.g, variant, memory: 'recompute' }, q, k, v, { training: true })), reference(c, 91, variant));
    }
    expect(() => ours(c, 91, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, memory: 'none' as never }))).toThrow(/memory = "none" must be 'save' or 'recompute'/);
  });

  it('leaks no tensors', () => {
    const c = CONFIGS[3];
    const run = () => ours(c, 61, (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g }));
    run();
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(before);
  });

  describe('bad input', () => {
    const t = (shape: number[]) => tf.zeros(shape as Shape4) as Tensor4D;
    it.each([
      [{ n: 16, g: 6 }, /groupSize = 6 does not divide the sequence length 16/],
      [{ n: 15, g: 5 }, /groupSize = 5 is odd/],
      [{ n: 16, g: 32 }, /groupSize = 32 is larger than the sequence \(16\)/],
      [{ n: 16, g: 0 }, /groupSize = 0 must be an even integer >= 2/],
    ])('%j', ({ n, g }, message) => {
      expect(() => shiftedSparseAttention(t([1, 4, n, 4]), t([1, 4, n, 4]), t([1, 4, n, 4]), { groupSize: g })).toThrow(message);
    });
    it('odd head count', () => {
      expect(() => shiftedSparseAttention(t([1, 3, 8, 4]), t([1, 3, 8, 4]), t([1, 3, 8, 4]), { groupSize: 4 })).toThrow(/3 heads; .* must be even/);
    });
    it('kv heads that do not divide the query heads', () => {
      expect(() => shiftedSparseAttention(t([1, 4, 8, 4]), t([1, 3, 8, 4]), t([1, 3, 8, 4]), { groupSize: 4 })).toThrow(/kv head count must divide/);
    });
    it('other shape mismatches', () => {
      expect(() => shiftedSparseAttention(t([1, 4, 8, 4]), t([1, 4, 8, 2]), t([1, 4, 8, 2]), { groupSize: 4 })).toThrow(/headDim differs/);
      expect(() => shiftedSparseAttention(t([1, 4, 8, 4]), t([1, 4, 8, 4]), t([1, 4, 4, 4]), { groupSize: 4 })).toThrow(/k \[1, 4, 8, 4\] and v \[1, 4, 4, 4\] must have the same shape/);
      expect(() => shiftedSparseAttention(t([2, 4, 8, 4]), t([1, 4, 8, 4]), t([1, 4, 8, 4]), { groupSize: 4 })).toThrow(/batch differs/);
      expect(() => shiftedSparseAttention(t([1, 4, 4, 4]), t([1, 4, 8, 4]), t([1, 4, 8, 4]), { groupSize: 4 })).toThrow(/S2-Attn is self-attention/);
      expect(() => shiftedSparseAttention(t([4, 8, 4]) as unknown as Tensor4D, t([1, 4, 8, 4]), t([1, 4, 8, 4]), { groupSize: 4 })).toThrow(/rank 4/);
      expect(() => shiftedSparseAttention(t([1, 4, 8, 4]), t([1, 4, 8, 4]), t([1, 4, 8, 4]), { groupSize: 4, variant: 'wrap' as S2Variant })).toThrow(/variant 'wrap'/);
    });
    it('options that are missing, misspelt or of the wrong type, and inputs that are no live tensors', () => {
      const x = t([1, 4, 8, 4]);
      expect(() => shiftedSparseAttention(x, x, x, undefined as never)).toThrow(/options = undefined must be an object with groupSize/);
      expect(() => shiftedSparseAttention(x, x, x, { groupSize: 4, group_size: 4 } as never)).toThrow(/unknown option 'group_size' \(did you mean 'groupSize'\?\)/);
      expect(() => shiftedSparseAttention(x, x, x, { groupSize: '4' as never })).toThrow(/groupSize = "4" must be an even integer >= 2/);
      expect(() => shiftedSparseAttention(x, x, x, { groupSize: 4, partialGroups: 'yes' as never })).toThrow(/partialGroups must be true or false, got "yes"/);
      expect(() => shiftedSparseAttention(null as never, x, x, { groupSize: 4 })).toThrow(/q = null must be a tensor/);
      const gone = t([1, 4, 8, 4]);
      gone.dispose();
      expect(() => shiftedSparseAttention(x, gone, x, { groupSize: 4 })).toThrow(/k is disposed/);
    });
  });
});
