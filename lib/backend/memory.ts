/**
 * Up-front memory checks for calls that can be large (attention, training steps, big matmuls).
 *
 * The wasm backend's heap is one WebAssembly.Memory capped at 4 GiB (65535 pages of 64 KiB); an
 * allocation past it aborts inside Emscripten ("memory access out of bounds") and leaves the
 * backend unusable. The native CPU backend and the pure-JS one allocate from the machine's memory,
 * where an oversized request ends in the kernel's OOM killer or a bare RangeError. So callers
 * estimate what they will allocate and ask `assertFitsInMemory` first, which refuses with a message
 * that says what to change. The GPU backend's limit is the device's and is not checked here.
 */
import * as os from 'os';
import { tf } from './tf';

/** The wasm module's maximum memory: 65535 pages x 64 KiB. */
export const WASM_HEAP_LIMIT_BYTES = 65535 * 65536;

/**
 * Fraction of the limit one estimate may claim: on wasm the rest absorbs heap fragmentation; of the
 * machine's memory the rest is for the OS, Node and other processes.
 */
function usableFraction(): number {
  return tf.getBackend() === 'wasm' ? 0.9 : 0.8;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** "1.50 GiB" / "12.0 MiB" / "512 B". */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(2)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

// os.totalmem() reads /proc/meminfo on Linux; it does not change, and the checks run per call
let totalMemory: number | null = null;

/** The byte limit that applies to the active backend, or null when there is none we know of. */
export function backendMemoryLimit(): number | null {
  const name = tf.getBackend();
  if (name === 'wasm') return WASM_HEAP_LIMIT_BYTES;
  const onGpu = name === 'tensorflow' && Boolean((tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
  if (name === 'cpu' || (name === 'tensorflow' && !onGpu)) return (totalMemory ??= os.totalmem());
  return null;
}

/** What the limit is, in words, for messages. */
function limitName(limit: number): string {
  return tf.getBackend() === 'wasm' ? `the wasm heap (capped at ${formatBytes(limit)})` : `this machine's memory (${formatBytes(limit)})`;
}

/**
 * Throws if allocating `bytes` more (on top of the live tensors) would not fit the active backend.
 * `what` names the call in the message ("attention fwd+bwd at N=4096", ...).
 */
export function assertFitsInMemory(bytes: number, what: string, hint?: string): void {
  const limit = backendMemoryLimit();
  if (limit === null) return;
  const live = tf.memory().numBytes;
  const budget = usableFraction() * limit - live;
  if (bytes > budget) {
    const fix = hint ?? (tf.getBackend() === 'wasm' ? 'use a shorter sequence or a smaller batch, or the native backend (LONGLORA_BACKEND=tensorflow, see environment.md)' : 'use a shorter sequence or a smaller batch');
    throw new Error(
      `${what} needs about ${formatBytes(bytes)}, but ${limitName(limit)} ` +
        `has ${formatBytes(Math.max(0, budget))} left with ${formatBytes(live)} of live tensors; ${fix}.`,
    );
  }
}
