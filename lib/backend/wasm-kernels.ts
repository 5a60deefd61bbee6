/**
 * Kernels that the stock tfjs wasm backend (4.22.0) lacks or runs slowly, registered through the
 * public `tf.registerKernel` API:
 *
 * - `UnsortedSegmentSum`: not registered on wasm at all, and it is the gradient of `tf.gather`
 *   (the embedding lookup), so training fails without it.
 * - `Slice`: the stock kernel copies its whole input out of the wasm heap into JS (`readSync`) on
 *   every call, then copies the wanted part back; slicing one head out of `[8, 1024, 1024]` costs
 *   26-41 ms. Ours copies only the wanted runs, heap to heap.
 * - `Identity`: the stock kernel copies its input. The engine clones (Identity) every tensor a
 *   gradient will need when the tape records an op, so each saved activation existed twice: score
 *   sized copies on every attention layer. Ours shares the data and counts a reference, as the cpu
 *   backend and wasm's own Reshape do (tensors are immutable; variables are re-pointed on assign,
 *   never written in place).
 * - `Transpose`: the stock C++ kernel moves about 0.5 GB/s; a training step at 1024 tokens spent
 *   as long transposing (attention's P^T and dS^T in the backward pass, head splits) as
 *   multiplying. Ours handles the two permutations the library uses, swapping the last two axes
 *   (cache-blocked 4 x 4 tiles, about 6x faster on [8, 1024, 1024]) and moving whole rows of the
 *   last axis (head splits such as [B, T, H, D] -> [B, H, T, D]); others go to the stock kernel.
 * - `LongloraSegmentMatMul` (ours): a list of 2-D XNNPACK products on blocks of the operands (heap
 *   views), each written straight into its slot of the result; batched products are the case of
 *   equal consecutive blocks (the stock BatchMatMul runs batches in a scalar loop), and S2-Attn reads
 *   its groups from, and writes them to, `[B, H, N, D]` tensors with no regrouping copies.
 * - `LongloraGatherSegments` (ours): blocks of a tensor stacked, optionally transposed (S2's K^T).
 *
 * They work on views of the wasm heap (`typedArrayFromHeap`), created only after the output is
 * allocated, because an allocation may grow (and so detach) the heap.
 */
import { tf } from './tf';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, NamedAttrMap, TensorInfo, TypedArray } from '@tensorflow/tfjs-core';

const { slice_util, util } = tf;

type WasmKernelArgs = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: NamedAttrMap };

/**
 * out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] = s (ids outside [0, numSegments)
 * are dropped, as in TensorFlow). segmentIds may have any rank r; x's first r dims match it.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (wasm): dtype ${x.dtype} is not supported; use float32 or int32`);
  }
  const idsRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idsRank);
  const inner = util.sizeFromShape(innerShape);
  const rows = util.sizeFromShape(segmentIds.shape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const outVals = backend.typedArrayFromHeap(out);
  outVals.fill(0);
  const xVals = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < rows; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outVals[dst + j] += xVals[src + j];
  }
  return out;
}

/** Copies the box `begin`/`size` of a row-major `shape` array into `out`, run by contiguous run. */
export function copyBox(src: TypedArray, shape: number[], begin: number[], size: number[], out: TypedArray): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[0];
    return;
  }
  // The innermost axes taken whole, plus the first partial one, form one contiguous run.
  let run = 1;
  let axis = rank - 1;
  for (; axis >= 0; axis--) {
    run *= size[axis];
    if (size[axis] !== shape[axis]) break;
  }
  const strides = util.computeStrides(shape);
  if (axis <= 0) {
    const start = axis < 0 ? 0 : begin[0] * (rank > 1 ? strides[0] : 1);
    out.set(src.subarray(start, start + run));
    return;
  }
  // Odometer over the axes [0, axis), which are copied run by run.
  const outer = size.slice(0, axis);
  const count = util.sizeFromShape(outer);
  const idx = new Array<number>(axis).fill(0);
  const innerOffset = begin[axis] * (axis < rank - 1 ? strides[axis] : 1);
  let dst = 0;
  for (let n = 0; n < count; n++) {
    let srcOffset = innerOffset;
    for (let d = 0; d < axis; d++) srcOffset += (begin[d] + idx[d]) * strides[d];
    if (run >= 16) {
      out.set(src.subarray(srcOffset, srcOffset + run), dst);
    } else {
      for (let j = 0; j < run; j++) out[dst + j] = src[srcOffset + j];
    }
    dst += run;
    for (let d = axis - 1; d >= 0; d--) {
      if (++idx[d] < outer[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Swaps the last two axes of `batch` row-major [rows, cols] matrices: out[m][j][i] = x[m][i][j].
 * 32 x 32 blocks of 4 x 4 tiles keep both reads and writes within a few cache lines.
 */
export function transposeLastTwo(x: TypedArray, out: TypedArray, batch: number, rows: number, cols: number): void {
  const block = 32;
  const rows4 = rows - (rows % 4);
  const cols4 = cols - (cols % 4);
  for (let m = 0; m < batch; m++) {
    const base = m * rows * cols;
    for (let i0 = 0; i0 < rows4; i0 += block) {
      const i1 = Math.min(i0 + block, rows4);
      for (let j0 = 0; j0 < cols4; j0 += block) {
        const j1 = Math.min(j0 + block, cols4);
        for (let i = i0; i < i1; i += 4) {
          for (let j = j0; j < j1; j += 4) {
            const s0 = base + i * cols + j;
            const s1 = s0 + cols;
            const s2 = s1 + cols;
            const s3 = s2 + cols;
            const d0 = base + j * rows + i;
            const d1 = d0 + rows;
            const d2 = d1 + rows;
            const d3 = d2 + rows;
            out[d0] = x[s0]; out[d0 + 1] = x[s1]; out[d0 + 2] = x[s2]; out[d0 + 3] = x[s3];
            out[d1] = x[s0 + 1]; out[d1 + 1] = x[s1 + 1]; out[d1 + 2] = x[s2 + 1]; out[d1 + 3] = x[s3 + 1];
            out[d2] = x[s0 + 2]; out[d2 + 1] = x[s1 + 2]; out[d2 + 2] = x[s2 + 2]; out[d2 + 3] = x[s3 + 2];
            out[d3] = x[s0 + 3]; out[d3 + 1] = x[s1 + 3]; out[d3 + 2] = x[s2 + 3]; out[d3 + 3] = x[s3 + 3];
          }
        }
      }
    }
    // the ragged edges (rows or cols not multiples of 4)
    for (let i = 0; i < rows; i++) {
      const jStart = i < rows4 ? cols4 : 0;
      for (let j = jStart; j < cols; j++) out[base + j * rows + i] = x[base + i * cols + j];
    }
  }
}

/** Permutes axes keeping the last one in place: copies whole rows of the last axis. */
function permuteRows(x: TypedArray, out: TypedArray, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const run = shape[rank - 1];
  const inStrides = util.computeStrides(shape); // rank - 1 entries
  const outShape = perm.map((p) => shape[p]);
  const outer = outShape.slice(0, rank - 1);
  const count = util.sizeFromShape(outer);
  // stride in x of each output axis (except the last)
  const strides = perm.slice(0, rank - 1).map((p) => inStrides[p]);
  const idx = new Array<number>(rank - 1).fill(0);
  let src = 0;
  for (let n = 0, dst = 0; n < count; n++, dst += run) {
    if (run >= 16) out.set(x.subarray(src, src + run), dst);
    else for (let j = 0; j < run; j++) out[dst + j] = x[src + j];
    for (let d = rank - 2; d >= 0; d--) {
      src += strides[d];
      if (++idx[d] < outer[d]) break;
      src -= strides[d] * outer[d];
      idx[d] = 0;
    }
  }
}

let stockTranspose: KernelConfig | undefined;

function fastTranspose(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const perm = (attrs as { perm: number[] }).perm;
  const rank = x.shape.length;
  const swapsLastTwo = rank >= 2 && perm[rank - 1] === rank - 2 && perm[rank - 2] === rank - 1 && perm.slice(0, rank - 2).every((p, i) => p === i);
  const keepsLast = rank >= 2 && perm[rank - 1] === rank - 1;
  if (x.dtype === 'string' || x.dtype === 'complex64' || stockTranspose === undefined || !(swapsLastTwo || keepsLast)) {
    return (stockTranspose as KernelConfig).kernelFunc(args as never) as TensorInfo;
  }
  const outShape = perm.map((p) => x.shape[p]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  const outVals = backend.typedArrayFromHeap(out);
  const xVals = backend.typedArrayFromHeap(x);
  if (swapsLastTwo) {
    const rows = x.shape[rank - 2];
    const cols = x.shape[rank - 1];
    transposeLastTwo(xVals, outVals, util.sizeFromShape(x.shape.slice(0, rank - 2)), rows, cols);
  } else {
    permuteRows(xVals, outVals, x.shape, perm);
  }
  return out;
}

function sharedIdentity({ inputs, backend }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * The kernel name of the segment product: a list of 2-D products on blocks of its operands, each
 * written straight into its slot of one result (`segmentMatmul`, below).
 */
export const SEGMENT_MATMUL = 'LongloraSegmentMatMul';
/** The kernel name of `gatherSegments` (below). */
export const GATHER_SEGMENTS = 'LongloraGatherSegments';

type WasmBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: number, transposeB: number, outId: number) => void;
/** The C++ BatchMatMul of each backend instance (a re-created backend has a new module). */
const wasmBatchMatMuls = new WeakMap<BackendWasm, WasmBatchMatMul>();

function wasmBatchMatMulOf(backend: BackendWasm): WasmBatchMatMul {
  let fn = wasmBatchMatMuls.get(backend);
  if (fn === undefined) {
    // cwrap is on both module builds at run time; the non-threaded build's typings omit it
    const module = backend.wasm as unknown as { cwrap: (name: string, ret: null, args: string[]) => unknown };
    fn = module.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmBatchMatMul;
    wasmBatchMatMuls.set(backend, fn);
  }
  return fn;
}

/**
 * One product of a segment matmul: the `m x k` block of operand `a` starting at element `aOffset`
 * times the `k x n` block of operand `b` at `bOffset` (both row-major and contiguous), written as
 * the `m x n` block of the result at `outOffset`. Operands are indices into the operand list.
 */
export interface SegmentProduct {
  a: number;
  aOffset: number;
  b: number;
  bOffset: number;
  outOffset: number;
  m: number;
  k: number;
  n: number;
}

const PRODUCT_FIELDS = 8;

/** Products as the flat attribute the kernel takes (8 numbers each, in SegmentProduct's order). */
export function packSegmentProducts(products: SegmentProduct[]): number[] {
  const flat = new Array<number>(products.length * PRODUCT_FIELDS);
  products.forEach((p, i) => {
    flat.splice(i * PRODUCT_FIELDS, PRODUCT_FIELDS, p.a, p.aOffset, p.b, p.bOffset, p.outOffset, p.m, p.k, p.n);
  });
  return flat;
}

/**
 * Checks that the products read inside their operands and tile the result exactly (every element
 * written once), so the result needs no zero fill; throws with the first fault otherwise.
 */
export function checkSegmentProducts(flat: number[], operandSizes: number[], outSize: number, what: string): void {
  if (flat.length % PRODUCT_FIELDS !== 0) throw new Error(`${what}: the product list has ${flat.length} numbers, not a multiple of ${PRODUCT_FIELDS}`);
  const count = flat.length / PRODUCT_FIELDS;
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const [a, aOffset, b, bOffset, outOffset, m, k, n] = flat.slice(i * PRODUCT_FIELDS, (i + 1) * PRODUCT_FIELDS);
    const inside = (op: number, offset: number, size: number) => op >= 0 && op < operandSizes.length && offset >= 0 && offset + size <= operandSizes[op];
    if (!(m > 0 && k > 0 && n > 0) || !inside(a, aOffset, m * k) || !inside(b, bOffset, k * n)) {
      throw new Error(`${what}: product ${i} (${m}x${k} block of operand ${a} at ${aOffset} times ${k}x${n} block of operand ${b} at ${bOffset}) reads outside its operands`);
    }
    spans.push([outOffset, outOffset + m * n]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  let end = 0;
  for (const [from, to] of spans) {
    if (from !== end) throw new Error(`${what}: the products ${from < end ? 'overlap' : 'leave a gap'} in the result at element ${Math.min(from, end)}; they must tile the result exactly`);
    end = to;
  }
  if (end !== outSize) throw new Error(`${what}: the products cover ${end} of the result's ${outSize} elements; they must tile it exactly`);
}

/**
 * The segment matmul: one 2-D, flag-free XNNPACK call per product, on operands and a result that
 * are views into the heap (ids registered for the call and dropped after it). No operand block is
 * copied out and no result block is copied in: S2-Attn reads its groups straight out of
 * `[B, H, N, D]` tensors and writes its outputs straight into one, and a batched product is the
 * case of equal, consecutive blocks (against one engine op per entry, this also skips two view
 * tensors and a kernel dispatch per entry and the final concat).
 */
function segmentMatMulKernel({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { products, shape } = attrs as { products: number[]; shape: number[] };
  const operands = Object.keys(inputs)
    .sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)))
    .map((name) => inputs[name]);
  if (operands.some((t) => t.dtype !== 'float32')) throw new Error(`${SEGMENT_MATMUL}: operands must be float32`);
  checkSegmentProducts(products, operands.map((t) => util.sizeFromShape(t.shape)), util.sizeFromShape(shape), SEGMENT_MATMUL);
  const wasmBatchMatMul = wasmBatchMatMulOf(backend);
  const out = backend.makeOutput(shape, 'float32');
  // offsets are read after the allocation above, which may have grown (moved) the heap
  const offsetOf = (t: TensorInfo) => (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
  const bases = operands.map(offsetOf);
  const outBase = offsetOf(out);
  const tfjs = backend.wasm.tfjs;
  // the backend's id counter (private in its typings): ids must not collide with real tensors'
  const counter = backend as unknown as { dataIdNextNumber: number };
  const shapeBytes = (rows: number, cols: number) => new Uint8Array(new Int32Array([1, rows, cols]).buffer);
  for (let i = 0; i < products.length; i += PRODUCT_FIELDS) {
    const [a, aOffset, b, bOffset, outOffset, m, k, n] = products.slice(i, i + PRODUCT_FIELDS);
    const [aId, bId, outId] = [counter.dataIdNextNumber++, counter.dataIdNextNumber++, counter.dataIdNextNumber++];
    tfjs.registerTensor(aId, m * k, bases[a] + 4 * aOffset);
    tfjs.registerTensor(bId, k * n, bases[b] + 4 * bOffset);
    tfjs.registerTensor(outId, m * n, outBase + 4 * outOffset);
    wasmBatchMatMul(aId, shapeBytes(m, k), 3, bId, shapeBytes(k, n), 3, 0, 0, outId);
    // the ids own no memory (freeing a view frees nothing); disposing them drops their cached XNNPACK operators
    for (const id of [aId, bId, outId]) tfjs.disposeData(id);
  }
  return out;
}

/**
 * Copies `rows x cols` blocks of `x` (row-major, contiguous, starting at the given element offsets)
 * into `[blocks, rows, cols]`, or `[blocks, cols, rows]` with `transpose`: S2-Attn's per-group
 * K^T and V^T straight out of `[B, H, N, D]`.
 */
function gatherSegmentsKernel({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  const { offsets, rows, cols, transpose } = attrs as { offsets: number[]; rows: number; cols: number; transpose: boolean };
  const size = util.sizeFromShape(x.shape);
  const block = rows * cols;
  const bad = offsets.findIndex((o) => !(Number.isInteger(o) && o >= 0 && o + block <= size));
  if (x.dtype !== 'float32' || bad >= 0) {
    throw new Error(`${GATHER_SEGMENTS}: needs float32 x and blocks inside it; block ${bad} at ${offsets[bad]} (${rows}x${cols}) does not fit in ${size} elements`);
  }
  const out = backend.makeOutput(transpose ? [offsets.length, cols, rows] : [offsets.length, rows, cols], 'float32');
  const outVals = backend.typedArrayFromHeap(out);
  const xVals = backend.typedArrayFromHeap(x);
  offsets.forEach((o, e) => {
    const src = xVals.subarray(o, o + block);
    const dst = outVals.subarray(e * block, (e + 1) * block);
    if (transpose) transposeLastTwo(src, dst, 1, rows, cols);
    else dst.set(src);
  });
  return out;
}

let stockSlice: KernelConfig | undefined;

function fastSlice(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  if (x.dtype === 'string' || stockSlice === undefined) {
    return (stockSlice as KernelConfig).kernelFunc(args as never) as TensorInfo;
  }
  const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
  const [begin_, size_] = slice_util.parseSliceParams(x as never, begin, size);
  slice_util.assertParamsValid(x as never, begin_, size_);
  const out = backend.makeOutput(size_, x.dtype);
  if (util.sizeFromShape(size_) === 0) return out;
  const outVals = backend.typedArrayFromHeap(out);
  const xVals = backend.typedArrayFromHeap(x);
  copyBox(xVals, x.shape, begin_, size_, outVals);
  return out;
}

/** Registers the kernels above for the backend name `backendName` (idempotent). */
export function registerWasmKernelFixes(backendName = 'wasm'): void {
  if (tf.getKernel('UnsortedSegmentSum', backendName) === undefined) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName,
      kernelFunc: unsortedSegmentSum as unknown as KernelConfig['kernelFunc'],
    });
  }
  const current = tf.getKernel('Slice', backendName);
  if (current !== undefined && current.kernelFunc !== (fastSlice as unknown)) {
    stockSlice = current;
    tf.unregisterKernel('Slice', backendName);
    tf.registerKernel({ kernelName: 'Slice', backendName, kernelFunc: fastSlice as unknown as KernelConfig['kernelFunc'] });
  }
  if (tf.getKernel(SEGMENT_MATMUL, backendName) === undefined) {
    tf.registerKernel({ kernelName: SEGMENT_MATMUL, backendName, kernelFunc: segmentMatMulKernel as unknown as KernelConfig['kernelFunc'] });
  }
  if (tf.getKernel(GATHER_SEGMENTS, backendName) === undefined) {
    tf.registerKernel({ kernelName: GATHER_SEGMENTS, backendName, kernelFunc: gatherSegmentsKernel as unknown as KernelConfig['kernelFunc'] });
  }
  const identity = tf.getKernel('Identity', backendName);
  if (identity !== undefined && identity.kernelFunc !== (sharedIdentity as unknown)) {
    tf.unregisterKernel('Identity', backendName);
    tf.registerKernel({ kernelName: 'Identity', backendName, kernelFunc: sharedIdentity as unknown as KernelConfig['kernelFunc'] });
  }
  const transpose = tf.getKernel('Transpose', backendName);
  if (transpose !== undefined && transpose.kernelFunc !== (fastTranspose as unknown)) {
    stockTranspose = transpose;
    tf.unregisterKernel('Transpose', backendName);
    // keep the stock setupFunc: it binds the C++ transpose our fallback calls
    tf.registerKernel({ kernelName: 'Transpose', backendName, setupFunc: transpose.setupFunc, kernelFunc: fastTranspose as unknown as KernelConfig['kernelFunc'] });
  }
}
