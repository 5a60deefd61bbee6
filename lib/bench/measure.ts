/**
 * Measuring the peak memory of a call: the most bytes of tensor data alive at once while it runs.
 *
 * `tf.profile`'s `peakBytes` counts bytes per tensor, so data shared by several tensors (reshapes,
 * and on wasm our zero-copy Identity, through which the engine saves every activation a gradient
 * needs) is counted once per tensor. On wasm we count what is really allocated instead: every
 * tensor buffer comes from the module's `_malloc` and returns through `_free`, so wrapping the two
 * for the duration of the call gives the live bytes exactly. The baseline is the tensor bytes live
 * before the call (weights, optimizer state: unshared). Other backends fall back to `tf.profile`.
 */
import { tf } from '../backend';

export interface PeakMeasurement {
  /** Most bytes alive at once during the call, including what was alive before it. */
  peakBytes: number;
  /** Bytes alive before the call. */
  baselineBytes: number;
  /** How the peak was measured. */
  method: 'wasm-malloc' | 'tf.profile';
  /** With `{ composition: true }` on wasm: the sizes (bytes) of the buffers allocated during the call and alive at its peak. */
  liveAtPeak?: number[];
}

interface WasmModuleLike {
  _malloc(size: number): number;
  _free(ptr: number): void;
}

/**
 * Runs `fn` and reports its peak tensor memory (see the file comment). `composition` also records
 * which buffers make up the peak (slower: a snapshot at every new peak; for calibration).
 */
export async function measurePeakBytes(fn: () => unknown | Promise<unknown>, { composition = false }: { composition?: boolean } = {}): Promise<PeakMeasurement> {
  const baselineBytes = tf.memory().numBytes;
  if (tf.getBackend() !== 'wasm') {
    const profile = await tf.profile(async () => {
      await fn();
    });
    return { peakBytes: profile.peakBytes, baselineBytes, method: 'tf.profile' };
  }
  const wasm = (tf.backend() as unknown as { wasm: WasmModuleLike }).wasm;
  const realMalloc = wasm._malloc;
  const realFree = wasm._free;
  const sizes = new Map<number, number>();
  let live = 0;
  let peak = 0;
  let atPeak: number[] | undefined;
  wasm._malloc = (size: number): number => {
    const ptr = realMalloc.call(wasm, size);
    sizes.set(ptr >>> 0, size);
    live += size;
    if (live > peak) {
      peak = live;
      if (composition) atPeak = [...sizes.values()];
    }
    return ptr;
  };
  wasm._free = (ptr: number): void => {
    const size = sizes.get(ptr >>> 0);
    if (size !== undefined) {
      live -= size;
      sizes.delete(ptr >>> 0);
    }
    realFree.call(wasm, ptr);
  };
  try {
    await fn();
  } finally {
    wasm._malloc = realMalloc;
    wasm._free = realFree;
  }
  return { peakBytes: baselineBytes + peak, baselineBytes, method: 'wasm-malloc', ...(composition ? { liveAtPeak: atPeak ?? [] } : {}) };
}
