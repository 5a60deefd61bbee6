/**
 * The kernels we add to or replace on wasm, against the cpu backend: UnsortedSegmentSum (the
 * gradient of tf.gather, i.e. of the embedding) and the heap-to-heap Slice.
 */
import { tf, ready, copyBox } from '../../lib/backend';
import { expectTensorsClose, seededValues } from '../helpers';

const SLICES: Array<{ shape: number[]; begin: number[]; size: number[] }> = [
  { shape: [10], begin: [3], size: [4] },
  { shape: [6, 5], begin: [2, 0], size: [3, 5] }, // whole rows: one contiguous run
  { shape: [6, 5], begin: [1, 1], size: [4, 3] }, // partial rows
  { shape: [4, 3, 7], begin: [1, 0, 2], size: [2, 3, 4] },
  { shape: [2, 8, 16, 4], begin: [1, 4, 0, 0], size: [1, 4, 16, 4] }, // one head of [B, H, N, D]
  { shape: [2, 8, 16, 4], begin: [0, 0, 5, 0], size: [2, 8, 6, 4] }, // a block of positions
  { shape: [3, 2, 2, 3, 5], begin: [1, 1, 0, 1, 2], size: [2, 1, 2, 2, 3] },
  { shape: [5, 64], begin: [0, 3], size: [5, 40] }, // runs long enough for the set() path
];

function sliceOn(c: (typeof SLICES)[number], dtype: 'float32' | 'int32'): Float32Array | Int32Array {
  return tf.tidy(() => {
    const n = c.shape.reduce((p, d) => p * d, 1);
    const values = dtype === 'int32' ? Int32Array.from(seededValues(n, 7, 1000)) : seededValues(n, 7);
    return tf.slice(tf.tensor(values, c.shape, dtype), c.begin, c.size).dataSync() as Float32Array | Int32Array;
  });
}

function embeddingGrad(): { grad: Float32Array; value: Float32Array } {
  return tf.tidy(() => {
    const table = tf.tensor(seededValues(11 * 6, 4), [11, 6]);
    const ids = tf.tensor2d([[1, 3, 3, 0], [10, 1, 1, 1]], [2, 4], 'int32');
    const w = tf.tensor(seededValues(2 * 4 * 6, 5), [2, 4, 6]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w));
    const { value, grad } = tf.valueAndGrad(f)(table);
    return { grad: grad.dataSync() as Float32Array, value: value.dataSync() as Float32Array };
  });
}

const TRANSPOSES: Array<{ shape: number[]; perm: number[] }> = [
  { shape: [5, 7], perm: [1, 0] },
  { shape: [3, 6, 9], perm: [0, 2, 1] }, // ragged edges (not multiples of 4)
  { shape: [2, 64, 40], perm: [0, 2, 1] }, // several 32-blocks
  { shape: [2, 5, 3, 4], perm: [0, 2, 1, 3] }, // head split [B, T, H, D] -> [B, H, T, D]
  { shape: [2, 3, 5, 20], perm: [0, 2, 1, 3] }, // rows long enough for set()
  { shape: [4, 5, 6], perm: [1, 0, 2] },
  { shape: [3, 4, 5], perm: [2, 1, 0] }, // neither rule: the stock kernel
  { shape: [1, 1, 8, 8], perm: [0, 1, 3, 2] },
];

function transposeOn(c: (typeof TRANSPOSES)[number], dtype: 'float32' | 'int32'): number[] {
  return tf.tidy(() => {
    const n = c.shape.reduce((p, d) => p * d, 1);
    const values = dtype === 'int32' ? Int32Array.from(seededValues(n, 13, 1000)) : seededValues(n, 13);
    return Array.from(tf.transpose(tf.tensor(values, c.shape, dtype), c.perm).dataSync());
  });
}

describe('wasm kernel fixes agree with the cpu backend', () => {
  let cpuSlices: Array<{ f: Float32Array | Int32Array; i: Float32Array | Int32Array }>;
  let cpuEmbedding: { grad: Float32Array; value: Float32Array };
  let cpuSegmentSum: Float32Array;
  let cpuTransposes: Array<{ f: number[]; i: number[] }>;

  const segmentSum = () =>
    tf.tidy(() => {
      const x = tf.tensor(seededValues(5 * 3, 9), [5, 3]);
      const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32'); // -1 and 7 are out of range: dropped
      return tf.unsortedSegmentSum(x, ids, 4).dataSync() as Float32Array;
    });

  beforeAll(async () => {
    await ready({ backend: 'cpu' });
    cpuSlices = SLICES.map((c) => ({ f: sliceOn(c, 'float32'), i: sliceOn(c, 'int32') }));
    cpuEmbedding = embeddingGrad();
    cpuSegmentSum = segmentSum();
    cpuTransposes = TRANSPOSES.map((c) => ({ f: transposeOn(c, 'float32'), i: transposeOn(c, 'int32') }));
    await ready({ backend: 'wasm' });
  });

  it('registers UnsortedSegmentSum, which stock wasm lacks', () => {
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('UnsortedSegmentSum matches cpu, dropping out-of-range ids', () => {
    expectTensorsClose(segmentSum(), cpuSegmentSum, { atol: 1e-6 });
  });

  it('the embedding (tf.gather) gradient with repeated ids matches cpu', () => {
    const got = embeddingGrad();
    expectTensorsClose(got.grad, cpuEmbedding.grad, { atol: 1e-6 });
    expectTensorsClose(got.value, cpuEmbedding.value, { atol: 1e-5 });
  });

  it.each(SLICES.map((c, i) => [i, c] as const))('Slice #%i %j matches cpu (float32 and int32)', (i, c) => {
    expect(Array.from(sliceOn(c, 'float32'))).toEqual(Array.from(cpuSlices[i].f));
    expect(Array.from(sliceOn(c, 'int32'))).toEqual(Array.from(cpuSlices[i].i));
  });

  it('Slice copies heap to heap: it never reads the whole input out to JS (the stock kernel does)', () => {
    const backend = tf.backend() as unknown as { readSync: (...args: unknown[]) => unknown };
    const spy = jest.spyOn(backend, 'readSync');
    try {
      tf.tidy(() => tf.slice(tf.ones([8, 64, 64]), [3, 0, 0], [1, 64, 64]));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it.each(TRANSPOSES.map((c, i) => [i, c] as const))('Transpose #%i %j matches cpu (float32 and int32)', (i, c) => {
    expect(transposeOn(c, 'float32')).toEqual(cpuTransposes[i].f);
    expect(transposeOn(c, 'int32')).toEqual(cpuTransposes[i].i);
  });

  it('Slice gradients still flow (tf.slice grad is a pad)', () => {
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.slice(x, [1, 1], [2, 2])))(tf.ones([3, 4])).arraySync());
    expect(g).toEqual([
      [0, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 1, 1, 0],
    ]);
  });

  it('rejects an out-of-bounds slice with tfjs’s message', () => {
    expect(() => tf.slice(tf.ones([3, 4]), [2, 0], [2, 4])).toThrow(/size|begin/i);
  });
});

describe('copyBox (the slice copy loop) on plain arrays', () => {
  it('copies a box out of a 3-D array', () => {
    const src = Float32Array.from({ length: 24 }, (_, i) => i); // shape [2, 3, 4]
    const out = new Float32Array(2 * 2 * 2);
    copyBox(src, [2, 3, 4], [0, 1, 2], [2, 2, 2], out);
    expect(Array.from(out)).toEqual([6, 7, 10, 11, 18, 19, 22, 23]);
  });
});
