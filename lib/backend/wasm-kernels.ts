/**
 * Kernels that the stock tfjs wasm backend (4.22.0) lacks or runs slowly, registered through the
 * public `tf.registerKernel` API:
 *
 * - `UnsortedSegmentSum`: not registered on wasm at all, and it is the gradient of `tf.gather`
 *   (the embedding lookup), so training fails without it.
 * - `Slice`: the stock kernel copies its whole input out of the wasm heap into JS (`readSync`) on
 *   every call, then copies the wanted part back; slicing one head out of `[8, 1024, 1024]` costs
 *   26-41 ms. Ours copies only the wanted runs, heap to heap.
 *
 * Both work on views of the wasm heap (`typedArrayFromHeap`), created only after the output is
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
}
