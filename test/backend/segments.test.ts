/**
 * Products and gathers on blocks of tensors (lib/backend/segments.ts) against plain float64
 * JavaScript loops, on wasm (our kernels) and cpu (the tf-op fallback); the tiling checks; and the
 * point of them: S2-Attn on wasm regroups nothing (no Slice, no Concat in forward or backward).
 */
import { tf, ready, segmentMatmul, gatherSegments, segmentKernelsAvailable } from '../../lib/backend';
import type { SegmentProduct } from '../../lib/backend';
import { shiftedSparseAttention, setAttentionMemory } from '../../lib/attention';
import type { Tensor4D } from '../../lib/backend';
import { expectTensorsClose, seededValues, numericBackendsAndCpu } from '../helpers';

/** The products' result by float64 loops over the flat operands. */
function referenceProducts(operands: Float32Array[], products: SegmentProduct[], size: number): Float64Array {
  const out = new Float64Array(size).fill(NaN);
  for (const p of products) {
    const a = operands[p.a];
    const b = operands[p.b];
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let sum = 0;
        for (let l = 0; l < p.k; l++) sum += a[p.aOffset + i * p.k + l] * b[p.bOffset + l * p.n + j];
        out[p.outOffset + i * p.n + j] = sum;
      }
    }
  }
  return out;
}

// Two operands of odd sizes; blocks at unaligned offsets, of several shapes, from both operands in
// both roles; the result [2, 5, 7] = 70 elements tiled out of order.
const OPERAND_SIZES = [97, 61];
const PRODUCTS: SegmentProduct[] = [
  { a: 0, aOffset: 3, b: 1, bOffset: 5, outOffset: 40, m: 2, k: 4, n: 7 }, // 14 at [40, 54)
  { a: 1, aOffset: 0, b: 0, bOffset: 11, outOffset: 0, m: 5, k: 3, n: 4 }, // 20 at [0, 20)
  { a: 0, aOffset: 50, b: 0, bOffset: 20, outOffset: 20, m: 4, k: 6, n: 5 }, // 20 at [20, 40)
  { a: 1, aOffset: 30, b: 1, bOffset: 1, outOffset: 54, m: 2, k: 2, n: 8 }, // 16 at [54, 70)
];

describe.each(numericBackendsAndCpu())('segment products and gathers on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it(`kernels ${backend === 'wasm' ? 'are' : 'are not'} registered`, () => {
    expect(segmentKernelsAvailable()).toBe(backend === 'wasm');
  });

  it('segmentMatmul equals float64 loops on unaligned blocks, tiled out of order', () => {
    const values = OPERAND_SIZES.map((n, i) => seededValues(n, 7 + i, 1));
    const got = tf.tidy(() => segmentMatmul(values.map((v) => tf.tensor1d(v)), PRODUCTS, [2, 5, 7]));
    expect(got.shape).toEqual([2, 5, 7]);
    expectTensorsClose(got.dataSync(), referenceProducts(values, PRODUCTS, 70), { atol: 1e-5, rtol: 1e-5 });
    got.dispose();
  });

  it.each([
    ['a gap', PRODUCTS.slice(1), /leave a gap in the result at element 40/],
    ['an overlap', [...PRODUCTS, { ...PRODUCTS[3], outOffset: 50, m: 1, k: 2, n: 4 }], /overlap in the result at element 50/],
    ['too few elements', PRODUCTS.filter((p) => p.outOffset !== 54), /cover 54 of the result's 70 elements/],
  ])('segmentMatmul refuses products that do not tile the result: %s', (_, products, message) => {
    const operands = OPERAND_SIZES.map((n) => tf.zeros([n]));
    expect(() => segmentMatmul(operands, products as SegmentProduct[], [2, 5, 7])).toThrow(message);
    tf.dispose(operands);
  });

  it('gatherSegments stacks blocks, and their transposes, exactly', () => {
    const x = seededValues(60, 3, 1);
    const offsets = [0, 17, 41];
    const [plain, transposed] = tf.tidy(() => [gatherSegments(tf.tensor1d(x), offsets, 3, 6), gatherSegments(tf.tensor1d(x), offsets, 3, 6, true)]);
    expect(plain.shape).toEqual([3, 3, 6]);
    expect(transposed.shape).toEqual([3, 6, 3]);
    const p = plain.dataSync();
    const t = transposed.dataSync();
    offsets.forEach((o, e) => {
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 6; c++) {
          expect(p[e * 18 + r * 6 + c]).toBe(x[o + r * 6 + c]);
          expect(t[e * 18 + c * 3 + r]).toBe(x[o + r * 6 + c]);
        }
      }
    });
    tf.dispose([plain, transposed]);
  });
});

describe('segment kernels: wasm-only checks', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  it('refuse blocks that read outside their operand', () => {
    const [a, b] = [tf.zeros([10]), tf.zeros([10])];
    expect(() => segmentMatmul([a, b], [{ a: 0, aOffset: 4, b: 1, bOffset: 0, outOffset: 0, m: 2, k: 4, n: 1 }], [2, 1])).toThrow(/reads outside its operands/);
    expect(() => gatherSegments(a, [0, 8], 1, 3)).toThrow(/block 1 at 8 \(1x3\) does not fit in 10 elements/);
    tf.dispose([a, b]);
  });

  it.each(['offset', 'roll'] as const)("S2-Attn '%s' issues no Slice or Concat for the offset groups, forward and backward, and leaks nothing", async (variant) => {
    const shape: [number, number, number, number] = [2, 4, 16, 8];
    const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.tensor4d(seededValues(2 * 4 * 16 * 8, s, 1), shape));
    const step = () =>
      tf.tidy(() => {
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(shiftedSparseAttention(a as Tensor4D, b as Tensor4D, c as Tensor4D, { groupSize: 4, variant }), w)))([q, k, v]);
        grads.forEach((g) => g.dataSync());
      });
    for (const mode of ['save', 'recompute'] as const) {
      const previous = setAttentionMemory(mode);
      try {
        step();
        const before = tf.memory().numTensors;
        const profile = await tf.profile(step);
        expect(tf.memory().numTensors).toBe(before);
        const names = profile.kernels.map((kernel) => kernel.name);
        expect(names).toContain('LongloraSegmentMatMul');
        // 'roll' slices and concatenates only to roll the shifted heads of q, k, v and to roll the
        // output back (2 slices and a concat for the head halves, 2 and 1 for the roll: 6 each)
        const regrouping = names.filter((n) => n === 'Slice' || n === 'Concat').length;
        if (variant === 'offset') expect(regrouping).toBe(0);
        else expect(regrouping).toBe(24);
      } finally {
        setAttentionMemory(previous);
      }
    }
    tf.dispose([q, k, v, w]);
  });
});
