/**
 * The matmul helper against a plain float64 JavaScript reference (forward and gradients, with batch
 * dims, broadcasting and transposes), on both the wasm backend (our 2-D decomposition with a custom
 * gradient) and the cpu backend; and a spy on the wasm BatchMatMul kernel proving the helper never
 * sends it a batched or flagged call.
 */
import { tf, ready, matmul, matmulNoGrad } from '../../lib/backend';
import { SEGMENT_MATMUL } from '../../lib/backend/wasm-kernels';
import type { KernelConfig } from '@tensorflow/tfjs';
import { expectTensorsClose, seededValues } from '../helpers';

interface Case {
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

const CASES: Case[] = [
  { a: [5, 7], b: [7, 3], tA: false, tB: false },
  { a: [7, 5], b: [7, 3], tA: true, tB: false },
  { a: [5, 7], b: [3, 7], tA: false, tB: true },
  { a: [7, 5], b: [3, 7], tA: true, tB: true },
  { a: [2, 4, 6], b: [6, 3], tA: false, tB: false }, // shared weight: rows folded
  { a: [2, 4, 6], b: [2, 6, 3], tA: false, tB: false }, // true batch
  { a: [2, 6, 4], b: [2, 3, 6], tA: true, tB: true },
  { a: [3, 2, 4, 5], b: [3, 2, 6, 5], tA: false, tB: true }, // attention q k^T shape
  { a: [2, 1, 4, 5], b: [3, 5, 6], tA: false, tB: false }, // broadcast both ways
  { a: [4, 5], b: [2, 5, 6], tA: false, tB: false }, // 2-D against a batch
];

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

interface Result {
  y: Float64Array | Float32Array;
  da: Float64Array | Float32Array;
  db: Float64Array | Float32Array;
  shape: number[];
}

/** Row-major index of `coords` (right-aligned, size-1 dims broadcast) in `shape`. */
function offsetOf(shape: number[], coords: number[]): number {
  let off = 0;
  const shift = coords.length - shape.length;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + (shape[d] === 1 ? 0 : coords[d + shift]);
  return off;
}

/** Float64 loops: y = op(a) op(b) with broadcasting, and the gradients of sum(y * w). */
function jsReference(c: Case, a: Float32Array, b: Float32Array, wOf: (n: number) => Float32Array): Result {
  const ra = c.a.length;
  const rb = c.b.length;
  const m = c.tA ? c.a[ra - 1] : c.a[ra - 2];
  const k = c.tA ? c.a[ra - 2] : c.a[ra - 1];
  const n = c.tB ? c.b[rb - 2] : c.b[rb - 1];
  const ba = c.a.slice(0, -2);
  const bb = c.b.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch = Array.from({ length: rank }, (_, i) => Math.max(ba[ba.length - rank + i] ?? 1, bb[bb.length - rank + i] ?? 1));
  const shape = [...batch, m, n];
  const y = new Float64Array(size(shape));
  const w = wOf(y.length);
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  for (let t = 0; t < size(batch); t++) {
    const coords: number[] = [];
    for (let d = rank - 1, r = t; d >= 0; d--) {
      coords[d] = r % batch[d];
      r = Math.floor(r / batch[d]);
    }
    const aBase = offsetOf(ba, coords) * m * k;
    const bBase = offsetOf(bb, coords) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const out = (t * m + i) * n + j;
        for (let p = 0; p < k; p++) {
          const ai = aBase + (c.tA ? p * m + i : i * k + p);
          const bi = bBase + (c.tB ? j * k + p : p * n + j);
          y[out] += a[ai] * b[bi];
          da[ai] += w[out] * b[bi];
          db[bi] += w[out] * a[ai];
        }
      }
    }
  }
  return { y, da, db, shape };
}

function runHelper(c: Case): Result {
  return tf.tidy(() => {
    const a = tf.tensor(seededValues(size(c.a), 1), c.a);
    const b = tf.tensor(seededValues(size(c.b), 2), c.b);
    const yv = matmul(a, b, c.tA, c.tB);
    const w = tf.tensor(seededValues(yv.size, 3), yv.shape); // non-uniform upstream gradient
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matmul(x, y, c.tA, c.tB), w)))([a, b]);
    expect(da.shape).toEqual(c.a);
    expect(db.shape).toEqual(c.b);
    return { y: yv.dataSync() as Float32Array, da: da.dataSync() as Float32Array, db: db.dataSync() as Float32Array, shape: yv.shape };
  });
}

function reference(c: Case): Result {
  return jsReference(c, seededValues(size(c.a), 1), seededValues(size(c.b), 2), (len) => seededValues(len, 3));
}

function expectMatches(got: Result, ref: Result): void {
  expect(got.shape).toEqual(ref.shape);
  expectTensorsClose(got.y, ref.y, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(got.da, ref.da, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(got.db, ref.db, { atol: 1e-5, rtol: 1e-5 });
}

describe('matmul helper against a float64 reference', () => {
  const cpuResults = new Map<Case, Result>();

  beforeAll(async () => {
    await ready({ backend: 'cpu' });
    for (const c of CASES) cpuResults.set(c, runHelper(c));
    await ready({ backend: 'wasm' });
  });

  it.each(CASES)('cpu backend, %j', (c) => {
    expectMatches(cpuResults.get(c) as Result, reference(c));
  });

  it.each(CASES)('wasm backend, %j (and equal to cpu within float32 rounding)', (c) => {
    const got = runHelper(c);
    expectMatches(got, reference(c));
    const cpu = cpuResults.get(c) as Result;
    expectTensorsClose(got.y, cpu.y, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(got.da, cpu.da, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(got.db, cpu.db, { atol: 1e-5, rtol: 1e-5 });
  });

  it('issues only flag-free BatchMatMul calls with a batch of 1 on wasm, batches through our per-entry kernel (forward and backward)', () => {
    const original = tf.getKernel('BatchMatMul', 'wasm') as KernelConfig;
    const calls: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [];
    let fused = 0;
    let batchedEntries = 0;
    const originalFused = tf.getKernel('_FusedMatMul', 'wasm') as KernelConfig;
    const originalBatched = tf.getKernel(SEGMENT_MATMUL, 'wasm') as KernelConfig;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.unregisterKernel('_FusedMatMul', 'wasm');
    tf.unregisterKernel(SEGMENT_MATMUL, 'wasm');
    tf.registerKernel({
      kernelName: SEGMENT_MATMUL,
      backendName: 'wasm',
      kernelFunc: (args) => {
        batchedEntries += (args.attrs as { products: number[] }).products.length / 8;
        return originalBatched.kernelFunc(args);
      },
    });
    tf.registerKernel({
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
        const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
        calls.push({ a: a.shape, b: b.shape, tA: attrs.transposeA, tB: attrs.transposeB });
        return original.kernelFunc(args);
      },
    });
    tf.registerKernel({
      kernelName: '_FusedMatMul',
      backendName: 'wasm',
      kernelFunc: (args) => {
        fused++;
        return originalFused.kernelFunc(args);
      },
    });
    try {
      for (const c of CASES) runHelper(c);
    } finally {
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.unregisterKernel('_FusedMatMul', 'wasm');
      tf.unregisterKernel(SEGMENT_MATMUL, 'wasm');
      tf.registerKernel(original);
      tf.registerKernel(originalFused);
      tf.registerKernel(originalBatched);
    }
    expect(calls.length).toBeGreaterThan(CASES.length);
    // the true-batch cases: forward and both gradients, entry by entry
    expect(batchedEntries).toBeGreaterThan(CASES.length * 3);
    // a batch of 1 is XNNPACK's fast path: [m, k] or [1, m, k]
    const batched = (shape: number[]) => shape.slice(0, -2).some((d) => d !== 1);
    expect(calls.filter((k) => batched(k.a) || batched(k.b) || k.tA || k.tB)).toEqual([]);
    expect(fused).toBe(0);
  });

  it('the spy does see flags when stock tf.matMul is used (so the check above can fail)', () => {
    const original = tf.getKernel('BatchMatMul', 'wasm') as KernelConfig;
    let flagged = 0;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
        if (attrs.transposeA || attrs.transposeB) flagged++;
        return original.kernelFunc(args);
      },
    });
    try {
      tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true).dataSync());
    } finally {
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.registerKernel(original);
    }
    expect(flagged).toBe(1);
  });

  it('matmulNoGrad gives the same values and leaves nothing behind outside a tidy', () => {
    for (const c of [CASES[2], CASES[7], CASES[8]]) {
      const a = tf.tensor(seededValues(size(c.a), 1), c.a);
      const b = tf.tensor(seededValues(size(c.b), 2), c.b);
      const before = tf.memory().numTensors;
      const y = matmulNoGrad(a, b, c.tA, c.tB);
      expect(tf.memory().numTensors).toBe(before + 1);
      expectTensorsClose(y.dataSync() as Float32Array, reference(c).y, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([a, b, y]);
    }
  });

  it('leaks no tensors', () => {
    runHelper(CASES[7]);
    const before = tf.memory().numTensors;
    for (const c of CASES) runHelper(c);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('matmul helper: bad input', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  it('names both shapes when the inner dimensions differ', () => {
    expect(() => matmul(tf.ones([2, 3]), tf.ones([4, 5]))).toThrow(/matmul\(\[2, 3\], \[4, 5\]\): inner dimensions differ \(3 vs 4\)/);
    expect(() => matmul(tf.ones([2, 3]), tf.ones([5, 4]), false, true)).toThrow(/inner dimensions differ \(3 vs 4\)/);
  });

  it('rejects batch dims that do not broadcast, and rank-1 operands', () => {
    expect(() => matmul(tf.ones([2, 3, 4]), tf.ones([3, 4, 5]))).toThrow(/batch dimensions \[2\] and \[3\] do not broadcast/);
    expect(() => matmul(tf.ones([3]), tf.ones([3, 4]))).toThrow(/need rank >= 2/);
  });

  it('refuses a product that would overflow the wasm heap, and the backend still works after', () => {
    const a = tf.ones([70000, 1]);
    const b = tf.ones([1, 70000]);
    expect(() => matmul(a, b)).toThrow(/needs about 18\.25 GiB, but the wasm heap \(capped at 4\.00 GiB\)/);
    const ok = matmul(tf.ones([2, 2]), tf.ones([2, 2]));
    expect(Array.from(ok.dataSync())).toEqual([2, 2, 2, 2]);
    tf.dispose([a, b, ok]);
  });
});
