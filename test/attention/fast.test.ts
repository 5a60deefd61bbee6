/**
 * Every fast path equals the in-library reference it names, outputs and gradients, with P saved and
 * recomputed: the S2 regrouping path and the S2 block-view path (both variants, grouped-query heads,
 * several group sizes, partial groups) against `s2Reference`, the query-blocked dense path against
 * `causalReference` (small blocks, a KV cache, and N = 1024 where the default blocks kick in), and
 * the masked dense path against `maskedReference`. Each path is called directly, on every backend
 * (off wasm the block-view path runs its slice fallbacks), and through its dispatcher.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { s2Reference, causalReference, maskedReference, s2Segments, repeatKv, shiftedSparseAttention, causalAttention, maskedAttention, attentionMask, defaultCausalBlockSize, causalMask, MASK_VALUE } from '../../lib/attention';
import type { AttentionMemory, S2Variant } from '../../lib/attention';
import { s2Grouped } from '../../lib/attention/fast/s2-grouped';
import { s2OnViews } from '../../lib/attention/fast/s2-views';
import { causalBlocked, maskedSoftmaxAttention } from '../../lib/attention/fast/dense';
import { numericBackends, numericBackendsAndCpu } from '../helpers';
import { inputs, run, expectAttentionClose } from './harness';
import type { AttentionFn } from './harness';

const S2_CASES = [
  { b: 1, h: 2, hkv: 2, n: 8, g: 4, d: 4 },
  { b: 2, h: 4, hkv: 2, n: 16, g: 4, d: 8 }, // grouped-query
  { b: 1, h: 6, hkv: 3, n: 24, g: 6, d: 4 }, // G/2 odd
  { b: 1, h: 4, hkv: 1, n: 16, g: 16, d: 4 }, // G = N
  { b: 1, h: 2, hkv: 2, n: 12, g: 2, d: 4 }, // smallest group
];

const MEMORY: AttentionMemory[] = ['save', 'recompute'];

/** A fast S2 path with the arguments shiftedSparseAttention gives it. */
function s2Fast(path: typeof s2Grouped, g: number, variant: S2Variant, memory: AttentionMemory, partial = false): AttentionFn {
  return (q, k, v) => {
    const [h, hkv, n] = [q.shape[1], k.shape[1], q.shape[2]];
    const segments: [Array<[number, number]>, Array<[number, number]>] = [s2Segments(n, g, false), s2Segments(n, g, variant === 'offset')];
    if (partial && variant === 'offset') segments[1] = s2Segments(n, g, true);
    return path(q, repeatKv(k, h / hkv), repeatKv(v, h / hkv), segments, { roll: variant === 'roll' ? g / 2 : 0, memory });
  };
}

describe.each(numericBackendsAndCpu())('fast paths equal the references on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  describe.each([
    ['s2Grouped', s2Grouped],
    ['s2OnViews', s2OnViews],
  ] as const)('%s', (_name, path) => {
    it.each(S2_CASES.flatMap((c) => (['offset', 'roll'] as const).flatMap((variant) => MEMORY.map((memory) => ({ ...c, variant, memory })))))('equals s2Reference: %j', (c) => {
      const x = inputs({ ...c, tq: c.n, tk: c.n }, 7);
      const want = run((q, k, v) => s2Reference(q, k, v, { groupSize: c.g, variant: c.variant }), x);
      expectAttentionClose(run(s2Fast(path, c.g, c.variant, c.memory), x), want, { atol: 2e-6, gradTol: 2e-5 });
    });

    it.each([
      { b: 1, h: 4, hkv: 2, n: 20, g: 8, d: 4 },
      { b: 1, h: 2, hkv: 2, n: 6, g: 16, d: 4 },
    ])('equals s2Reference with partial groups (the SFT path): %j', (c) => {
      const x = inputs({ ...c, tq: c.n, tk: c.n }, 9);
      const want = run((q, k, v) => s2Reference(q, k, v, { groupSize: c.g, partialGroups: true }), x);
      expectAttentionClose(run(s2Fast(path, c.g, 'offset', 'save', true), x), want, { atol: 2e-6, gradTol: 2e-5 });
    });
  });

  it.each(MEMORY)("shiftedSparseAttention (this backend's path) equals s2Reference, memory '%s'", (memory) => {
    for (const variant of ['offset', 'roll'] as const) {
      const x = inputs({ b: 2, h: 4, hkv: 2, tq: 16, tk: 16, d: 8 }, 13);
      const want = run((q, k, v) => s2Reference(q, k, v, { groupSize: 8, variant }), x);
      expectAttentionClose(run((q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: 8, variant, memory }), x), want, { atol: 2e-6, gradTol: 2e-5 });
    }
  });

  it.each([
    { b: 1, h: 2, hkv: 2, tq: 16, tk: 16, d: 8, blockSize: 5 },
    { b: 2, h: 4, hkv: 1, tq: 12, tk: 12, d: 4, blockSize: 1 },
    { b: 1, h: 4, hkv: 2, tq: 3, tk: 10, d: 4, blockSize: 2 }, // 3 queries after 7 cached keys
    { b: 1, h: 2, hkv: 2, tq: 16, tk: 16, d: 8, blockSize: 16 }, // one block
  ])('causalBlocked equals causalReference: %j', (c) => {
    const x = inputs(c, 17);
    const want = run(causalReference, x);
    for (const memory of MEMORY) {
      const fast: AttentionFn = (q, k, v) => causalBlocked(q, repeatKv(k, c.h / c.hkv), repeatKv(v, c.h / c.hkv), { blockSize: c.blockSize, memory });
      expectAttentionClose(run(fast, x), want, { atol: 2e-6, gradTol: 2e-5 });
    }
  });

  it.each(['short', 's2-offset', 'dilated', 'stride-sparse'] as const)('maskedSoftmaxAttention and maskedAttention equal maskedReference under the %s mask', (kind) => {
    const x = inputs({ b: 2, h: 4, hkv: 2, tq: 12, tk: 12, d: 4 }, 23);
    const mask = attentionMask(kind, { heads: 4, seqLen: 12, groupSize: 4 });
    const additive = tf.where(mask, tf.zeros(mask.shape), tf.fill(mask.shape, MASK_VALUE));
    const want = run((q, k, v) => maskedReference(q, repeatKv(k, 2), repeatKv(v, 2), mask) as Tensor4D, x);
    for (const memory of MEMORY) {
      expectAttentionClose(run((q, k, v) => maskedSoftmaxAttention(q, repeatKv(k, 2), repeatKv(v, 2), additive, { memory }) as Tensor4D, x), want, { atol: 2e-6, gradTol: 2e-5 });
      expectAttentionClose(run((q, k, v) => maskedAttention(q, k, v, mask, { memory }), x), want, { atol: 2e-6, gradTol: 2e-5 });
    }
    tf.dispose([mask, additive]);
  });

  it('the cached additive causal mask is 0 where a query may see a key, -Infinity elsewhere', () => {
    expect(Array.from(causalMask(2, 3).dataSync())).toEqual([0, 0, -Infinity, 0, 0, 0]);
  });
});

// N = 1024 is minutes on the pure-JS cpu backend: the native and wasm backends only
describe.each(numericBackends())('the default query blocks on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('causalAttention at N = 1024 (default blocks of 512) equals causalReference, GQA, P saved and recomputed', () => {
    expect(defaultCausalBlockSize(1024, 1024)).toBe(512);
    const x = inputs({ b: 1, h: 4, hkv: 2, tq: 1024, tk: 1024, d: 8 }, 19);
    const want = run(causalReference, x);
    for (const memory of MEMORY) expectAttentionClose(run((q, k, v) => causalAttention(q, k, v, { memory }), x), want, { atol: 2e-6, gradTol: 2e-5 });
  });
});
