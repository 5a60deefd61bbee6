/**
 * Choosing and initialising the TensorFlow.js backend.
 *
 * Order when nothing is requested: `tensorflow-gpu` (`@tensorflow/tfjs-node-gpu` on CUDA 12: see
 * scripts/setup-tensorflow-gpu.js), `tensorflow` (`@tensorflow/tfjs-node` on libtensorflow from
 * PyPI, set up by `npm install`: see scripts/setup-tensorflow.js), `webgpu` (Dawn, ./webgpu.ts: only
 * on a real GPU; Mesa's software adapter is slower than wasm and is taken only when asked for),
 * `wasm` (threaded SIMD: macOS, Windows, or where the native one could not be set up), `cpu` (pure
 * JS, a slow reference). The first that loads wins: the fastest.
 * `LONGLORA_BACKEND=tensorflow-gpu|tensorflow|webgpu|wasm|cpu` or `ready({ backend })` asks for one; a
 * requested backend that fails to load is an error that says why (no silent fallback).
 * `LONGLORA_WASM_THREADS` (or `ready({ threads })`) sets the wasm thread count (default: all cores,
 * at most 8). Native settings (oneDNN on, TF's logs quiet) are applied before libtensorflow loads:
 * ./native.
 */
import * as os from 'os';
import { tf } from './tf';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createThreadedWasmBackend, MAX_WASM_THREADS } from './wasm-threads';
import { registerWasmKernelFixes } from './wasm-kernels';
import { prepareNativeEnvironment, withNativeStderrDropped } from './native';
import type { NativeInfo } from './native';
import { setUpWebGpu, webGpuNote } from './webgpu';
import type { WebGpuInfo } from './webgpu';
import { checkKnownKeys, describe } from '../util/options';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** Our name for the active backend. */
  name: BackendName;
  /** Threads the backend computes with (wasm: the XNNPACK pool; native: cores; cpu: 1). */
  threads: number;
  /** Why this backend runs: the request, or what the automatic choice skipped and why. */
  reason: string;
  /** Native backends: libtensorflow's version and settings (oneDNN). */
  native?: NativeInfo;
  /** webgpu: the adapter (device name, Dawn backend, software or GPU, buffer limits). */
  webgpu?: WebGpuInfo;
}

export interface ReadyOptions {
  /** Ask for one backend; overrides LONGLORA_BACKEND. */
  backend?: BackendName;
  /** wasm thread count (1-8); overrides LONGLORA_WASM_THREADS. */
  threads?: number;
}

/**
 * One way to bring a backend up: resolves with the tf backend name to activate, or throws why not.
 * `requested`: asked for by name (true) or tried by the automatic choice (false).
 */
export type BackendLoader = (threads: number, requested: boolean) => Promise<LoadedBackend>;

/** What a loader brings up: the tf backend to activate, its threads, a note for `reason`, native settings. */
export interface LoadedBackend {
  tfName: string;
  threads: number;
  note?: string;
  native?: NativeInfo;
  webgpu?: WebGpuInfo;
}

function checkName(name: string, source: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`${source} = '${name}' is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  return name as BackendName;
}

function defaultThreads(): number {
  const fromEnv = process.env.LONGLORA_WASM_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
      throw new Error(`LONGLORA_WASM_THREADS = '${fromEnv}' must be an integer from 1 to ${MAX_WASM_THREADS}`);
    }
    return n;
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_WASM_THREADS, cores));
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0];
}

async function activate(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') failed to initialise it`);
  await tf.ready();
}

async function loadNative(pkg: string, wantGpu: boolean, setUp: string): Promise<LoadedBackend> {
  const settings = prepareNativeEnvironment();
  // Without it TF reserves nearly all GPU memory when it starts, leaving none to other processes.
  if (wantGpu && (process.env.TF_FORCE_GPU_ALLOW_GROWTH === undefined || process.env.TF_FORCE_GPU_ALLOW_GROWTH === '')) process.env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  try {
    withNativeStderrDropped(() => require(pkg));
  } catch (e) {
    throw new Error(`${pkg} is not installed or does not load (${message(e)}); ${setUp} (environment.md)`);
  }
  await activate('tensorflow');
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } };
  const usingGpu = Boolean(backend.isUsingGpuDevice);
  if (wantGpu && !usingGpu) {
    throw new Error(
      `${pkg} loaded but libtensorflow found no CUDA GPU: it needs an NVIDIA driver for CUDA 12 and the CUDA 12 libraries that \`npm run backend:gpu\` stages (nvidia-smi shows the driver; environment.md, "GPU: CUDA")`,
    );
  }
  const native: NativeInfo = { package: pkg, libtensorflow: backend.binding?.TF_Version ?? 'unknown', gpu: usingGpu, ...settings };
  const note = `libtensorflow ${native.libtensorflow}, oneDNN ${native.onednn ? 'on' : 'off'} (${native.onednnSource === 'default' ? 'our default: faster training' : 'TF_ENABLE_ONEDNN_OPTS'})`;
  return { tfName: 'tensorflow', threads: os.cpus().length, note, native };
}

let wasmRegisteredThreads: number | null = null;
let wasmFallbackNote: string | undefined;

async function loadWasm(threads: number): Promise<LoadedBackend> {
  if (wasmRegisteredThreads !== threads) {
    // Replace the stock single-threaded 'wasm' factory with a threaded one under the same name, so
    // that every registered wasm kernel applies; fall back to the stock one if threads fail.
    const stock = tf.findBackendFactory('wasm');
    tf.removeBackend('wasm');
    wasmFallbackNote = undefined;
    tf.registerBackend(
      'wasm',
      async () => {
        if (threads === 1) return stock();
        try {
          return await createThreadedWasmBackend(threads);
        } catch (e) {
          wasmFallbackNote = `threaded wasm failed (${message(e)}), running single-threaded`;
          return stock();
        }
      },
      2,
    );
    wasmRegisteredThreads = threads;
  }
  registerWasmKernelFixes('wasm');
  await activate('wasm');
  return { tfName: 'wasm', threads: getThreadsCount(), note: wasmFallbackNote };
}

async function loadWebGpu(requested: boolean): Promise<LoadedBackend> {
  const info = await setUpWebGpu(!requested);
  await activate('webgpu');
  return { tfName: 'webgpu', threads: 1, note: webGpuNote(info), webgpu: info };
}

async function loadCpu(): Promise<LoadedBackend> {
  await activate('cpu');
  // The cpu backend greets Node users with a banner about tfjs-node on first use; we choose it
  // knowingly, so mark it as used.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { tfName: 'cpu', threads: 1 };
}

/** The real loaders, in the automatic order. Tests pass stubs to `pickBackend` instead. */
export const DEFAULT_LOADERS: Record<BackendName, BackendLoader> = {
  'tensorflow-gpu': () => loadNative('@tensorflow/tfjs-node-gpu', true, 'opt in with `npm run backend:gpu`'),
  tensorflow: () => loadNative('@tensorflow/tfjs-node', false, 'set it up with `npm run setup:tensorflow`'),
  webgpu: (_threads, requested) => loadWebGpu(requested),
  wasm: (threads) => loadWasm(threads),
  cpu: () => loadCpu(),
};

/** The optional per-backend details of a loaded backend, for BackendInfo. */
function extras(got: LoadedBackend): Pick<BackendInfo, 'native' | 'webgpu'> {
  return { ...(got.native ? { native: got.native } : {}), ...(got.webgpu ? { webgpu: got.webgpu } : {}) };
}

/**
 * Tries `loaders` for the requested backend, or in order when none is requested.
 * Returns the chosen backend and why; throws when the requested one (or every one) fails.
 */
export async function pickBackend(
  loaders: Record<BackendName, BackendLoader>,
  requested: BackendName | undefined,
  threads: number,
  requestSource = 'ready({ backend })',
): Promise<BackendInfo & { tfName: string }> {
  if (requested !== undefined) {
    try {
      const got = await loaders[requested](threads, true);
      const reason = `requested by ${requestSource}` + (got.note ? `; ${got.note}` : '');
      return { name: requested, threads: got.threads, reason, tfName: got.tfName, ...extras(got) };
    } catch (e) {
      throw new Error(`backend '${requested}' was requested by ${requestSource} but failed to load: ${message(e)}`);
    }
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const got = await loaders[name](threads, false);
      const parts = [`automatic choice: first of ${BACKEND_NAMES.join(' > ')} that loads`, ...skipped];
      if (got.note) parts.push(got.note);
      return { name, threads: got.threads, reason: parts.join('; '), tfName: got.tfName, ...extras(got) };
    } catch (e) {
      skipped.push(`${name} skipped: ${message(e)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${skipped.join('; ')}`);
}

let current: BackendInfo | null = null;
let pending: Promise<BackendName> | null = null;

/**
 * Initialises the backend (once; again only when a different one is asked for) and resolves with
 * its name. Call it before any tensor work: `await ll.ready()`.
 */
export async function ready(options: ReadyOptions = {}): Promise<BackendName> {
  // ready('wasm') or ready({ thread: 2 }) would otherwise run with the defaults without a word
  if (typeof options === 'string') throw new Error(`ready: options must be an object, got ${describe(options)}; use ready({ backend: ${describe(options)} })`);
  checkKnownKeys('ready', options, ['backend', 'threads']);
  const envBackend = process.env.LONGLORA_BACKEND;
  let requested: BackendName | undefined;
  let source = 'ready({ backend })';
  if (options.backend !== undefined) {
    requested = checkName(options.backend, 'ready({ backend })');
  } else if (envBackend !== undefined && envBackend !== '') {
    requested = checkName(envBackend, 'LONGLORA_BACKEND');
    source = 'LONGLORA_BACKEND';
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > MAX_WASM_THREADS)) {
    throw new Error(`ready({ threads: ${describe(options.threads)} }): threads must be an integer from 1 to ${MAX_WASM_THREADS}`);
  }
  const threads = options.threads ?? defaultThreads();
  const run = async (): Promise<BackendName> => {
    const sameAsCurrent =
      current !== null &&
      (requested === undefined || requested === current.name) &&
      (options.threads === undefined || current.name !== 'wasm' || current.threads === threads);
    if (sameAsCurrent && current !== null && tf.getBackend() !== undefined) return current.name;
    const picked = await pickBackend(DEFAULT_LOADERS, requested, threads, source);
    current = { name: picked.name, threads: picked.threads, reason: picked.reason, ...extras(picked) };
    return picked.name;
  };
  const chained: Promise<BackendName> = (pending ?? Promise.resolve('cpu' as BackendName)).catch(() => 'cpu' as BackendName).then(run);
  pending = chained;
  return chained;
}

/** Which backend runs, with how many threads, and why. Throws before `ready()` has resolved. */
export function backendInfo(): BackendInfo {
  if (current === null) throw new Error('backendInfo(): no backend yet; `await ready()` first');
  return { ...current, ...(current.native ? { native: { ...current.native } } : {}), ...(current.webgpu ? { webgpu: { ...current.webgpu } } : {}) };
}

/**
 * Disposes every initialised backend (ending the wasm pthreads) and forgets all tensors, so a
 * process or a test file can end cleanly. The next `ready()` starts over.
 */
export function shutdownBackends(): void {
  tf.engine().reset();
  current = null;
  pending = null;
}
