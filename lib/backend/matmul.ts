/**
 * `matmul`: the one matrix product the library uses, fast on every backend.
 *
 * Same contract as `tf.matMul(a, b, transposeA, transposeB)`: a is `[...batchA, M, K]` (or
 * `[..., K, M]` with transposeA), b is `[...batchB, K, N]` (or `[..., N, K]`), batch dims broadcast,
 * the result is `[...batch, M, N]`.
 *
 * Why it exists: the wasm backend's fast matmul (XNNPACK, SIMD, threads) takes only 2-D operands
 * with no transpose flag; any flag or batch dimension falls to a scalar loop 10-50x slower
 * (docs/backends.md). On wasm this helper therefore issues only flag-free
 * `BatchMatMul` calls with a batch of 1 (2-D, or [1, m, k] x [1, k, n]): transposes are explicit
 * `tf.transpose`s, a batch is either folded into the rows (when b is shared) or looped over, and
 * the gradient (a custom gradient, since
 * tfjs's own matMul gradient uses transpose flags) is built from the same calls. On the other
 * backends it is plain `tf.matMul`, whose kernels handle flags and batches natively.
 */
import { tf } from './tf';
import type { Tensor } from '@tensorflow/tfjs-core';
import { assertFitsInMemory } from './memory';
import { segmentMatmul } from './segments';

/** The dimensions of a product: a `[..., m, k]` times `[..., k, n]` with broadcast batch dims. */
export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  batch: number[]; // broadcast batch shape of the result
}

function shapeText(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks ranks, inner dims and batch broadcasting; returns the product's dimensions. */
export function matmulShape(aShape: number[], bShape: number[], transposeA = false, transposeB = false): MatmulShape {
  const call = `matmul(${shapeText(aShape)}${transposeA ? 'ᵀ' : ''}, ${shapeText(bShape)}${transposeB ? 'ᵀ' : ''})`;
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`${call}: both operands need rank >= 2 (got ranks ${aShape.length} and ${bShape.length}); reshape vectors to [1, K] or [K, 1]`);
  }
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const ka = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (ka !== kb) {
    throw new Error(`${call}: inner dimensions differ (${ka} vs ${kb}); the last dim of a must equal the second-to-last of b (after transposes)`);
  }
  const batch = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2), call);
  return { m, k: ka, n, batch };
}

function broadcastShapes(a: number[], b: number[], call: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${call}: batch dimensions ${shapeText(a)} and ${shapeText(b)} do not broadcast (${da} vs ${db})`);
    }
    out.push(Math.max(da, db));
  }
  return out;
}

/** Swaps the last two axes (an explicit copy on wasm, so later matmuls need no flag). */
export function transposeLast2(x: Tensor): Tensor {
  const r = x.rank;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/** Sums a broadcast gradient back down to `shape`. */
function reduceToShape(grad: Tensor, shape: number[]): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const axes = tf.backend_util.getReductionAxes(shape, grad.shape);
  const summed = axes.length > 0 ? tf.sum(grad, axes, true) : grad;
  return tf.reshape(summed, shape);
}

/** x with its batch dims broadcast to `batch` (tf.matMul itself only broadcasts a batch of 1). */
function broadcastBatch(x: Tensor, batch: number[]): Tensor {
  const full = [...batch, ...x.shape.slice(-2)];
  return x.shape.length === full.length && x.shape.every((d, i) => d === full[i]) ? x : tf.broadcastTo(x, full);
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** The flat index into an operand's batch for flat result-batch index `i` (with broadcasting). */
function batchIndex(i: number, outBatch: number[], opBatch: number[]): number {
  let idx = 0;
  let stride = 1;
  let rest = i;
  const offset = outBatch.length - opBatch.length;
  const coords = new Array<number>(outBatch.length);
  for (let d = outBatch.length - 1; d >= 0; d--) {
    coords[d] = rest % outBatch[d];
    rest = Math.floor(rest / outBatch[d]);
  }
  for (let d = opBatch.length - 1; d >= 0; d--) {
    const c = opBatch[d] === 1 ? 0 : coords[d + offset];
    idx += c * stride;
    stride *= opBatch[d];
  }
  return idx;
}

/**
 * A[..., M, K] x B[..., K, N] with only 2-D, flag-free kernel calls. Rows of A are folded together
 * when B has no real batch; otherwise every batch entry is multiplied on its own (on wasm inside one
 * kernel, on views; elsewhere on slices).
 */
function matmulUnflagged(a: Tensor, b: Tensor): Tensor {
  const { m, k, n, batch } = matmulShape(a.shape, b.shape);
  const outShape = [...batch, m, n];
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (size(bBatch) === 1) {
    const rows = size(aBatch) * m;
    const product = tf.matMul(tf.reshape(a, [rows, k]), tf.reshape(b, [k, n]));
    return tf.reshape(product, outShape);
  }
  const count = size(batch);
  const a3 = tf.reshape(a, [size(aBatch), m, k]);
  const b3 = tf.reshape(b, [size(bBatch), k, n]);
  const aIndex = Array.from({ length: count }, (_, i) => batchIndex(i, batch, aBatch));
  const bIndex = Array.from({ length: count }, (_, i) => batchIndex(i, batch, bBatch));
  // one kernel runs the per-entry 2-D products on views of the operands, writing each into its
  // slot of the result (no per-entry tensors, no concat)
  if (a.dtype === 'float32' && b.dtype === 'float32') {
    const products = aIndex.map((ai, i) => ({ a: 0, aOffset: ai * m * k, b: 1, bOffset: bIndex[i] * k * n, outOffset: i * m * n, m, k, n }));
    return segmentMatmul([a3, b3], products, outShape);
  }
  const pieces = aIndex.map((ai, i) => tf.matMul(tf.slice(a3, [ai, 0, 0], [1, m, k]), tf.slice(b3, [bIndex[i], 0, 0], [1, k, n])));
  return tf.reshape(tf.concat(pieces, 0), outShape);
}

/** Bytes a wasm matmul allocates at its peak: result, explicit transposes and batch slices. */
function wasmMatmulBytes(a: Tensor, b: Tensor, s: MatmulShape, transposeA: boolean, transposeB: boolean): number {
  const out = size(s.batch) * s.m * s.n;
  const copies = (transposeA ? a.size : 0) + (transposeB ? b.size : 0);
  return 4 * (out + copies);
}

/**
 * The product without a gradient of its own: on wasm only 2-D flag-free kernel calls (explicit
 * transposes, batch folded or looped); elsewhere tf.matMul with batch dims broadcast first
 * (tf.matMul itself only broadcasts a batch of 1). The gradient below is made of these calls, so
 * the backward pass records nothing and copies nothing it does not need.
 */
function matmulRaw(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean, s: MatmulShape): Tensor {
  return tf.tidy(() => {
    if (tf.getBackend() !== 'wasm') return tf.matMul(broadcastBatch(a, s.batch), broadcastBatch(b, s.batch), transposeA, transposeB);
    return matmulUnflagged(transposeA ? transposeLast2(a) : a, transposeB ? transposeLast2(b) : b);
  });
}

/**
 * The same product for code that writes its own gradient (inside `tf.customGrad`, or where no
 * gradient is needed): no gradient is recorded. Same shape checks and wasm memory check as `matmul`.
 */
export function matmulNoGrad(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  const s = matmulShape(a.shape, b.shape, transposeA, transposeB);
  checkMatmulMemory(a, b, s, transposeA, transposeB);
  return matmulRaw(a, b, transposeA, transposeB, s);
}

/** Products below this many output bytes skip the check off wasm (it costs a host call per product). */
const CHECK_ABOVE_BYTES = 64 * 2 ** 20;

/**
 * The memory check of a product, before anything is allocated: on wasm always (the 4 GiB heap); on
 * the other backends for large outputs, against the machine's memory, since there an oversized
 * product is a RangeError deep inside the cpu kernel ("Invalid typed array length") or an
 * allocation libtensorflow cannot satisfy, not a message that says what to change.
 */
function checkMatmulMemory(a: Tensor, b: Tensor, s: MatmulShape, transposeA: boolean, transposeB: boolean): void {
  const what = `matmul(${shapeText(a.shape)}, ${shapeText(b.shape)})`;
  if (tf.getBackend() === 'wasm') {
    assertFitsInMemory(wasmMatmulBytes(a, b, s, transposeA, transposeB), what);
    return;
  }
  const bytes = 4 * size(s.batch) * s.m * s.n;
  if (bytes > CHECK_ABOVE_BYTES) assertFitsInMemory(bytes, what);
}

/**
 * Matrix product with `tf.matMul` semantics (see the file comment), differentiable, with batch
 * broadcasting in the gradient too (tfjs's own BatchMatMul gradient does not sum broadcast dims).
 * On wasm: 2-D, flag-free kernel calls only, and a memory check before anything is allocated.
 */
export function matmul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  const s = matmulShape(a.shape, b.shape, transposeA, transposeB);
  const onWasm = tf.getBackend() === 'wasm';
  const sameBatch = a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
  checkMatmulMemory(a, b, s, transposeA, transposeB);
  if (!onWasm && sameBatch) return tf.matMul(a, b, transposeA, transposeB);
  const raw = (x: Tensor, y: Tensor, tA: boolean, tB: boolean) => matmulRaw(x, y, tA, tB, matmulShape(x.shape, y.shape, tA, tB));
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const product = tf.customGrad(((x: Tensor, y: Tensor, save: (ts: Tensor[]) => void) => {
    save([x, y]);
    return {
      value: matmulRaw(x, y, transposeA, transposeB, s),
      // tidy: the engine does not scope a custom gradient's work, so its transposes would live until
      // the whole backward pass ends
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [xs, ys] = saved;
          // Y = op(A) op(B): dA = dY op(B)^T (transposed back if A was), dB = op(A)^T dY (likewise).
          const dA = transposeA ? raw(ys, dy, transposeB, true) : raw(dy, ys, false, !transposeB);
          const dB = transposeB ? raw(dy, xs, true, transposeA) : raw(xs, dy, !transposeA, false);
          return [reduceToShape(dA, xs.shape), reduceToShape(dB, ys.shape)];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return product(a, b);
}
