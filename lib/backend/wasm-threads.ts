/**
 * A multi-threaded tfjs wasm backend for Node.js, without touching node_modules.
 *
 * Stock `@tensorflow/tfjs-backend-wasm@4.22.0` is single-threaded in Node: its multithread flag is
 * off there, its pthread workers would start from `blob:` URLs that `worker_threads` rejects, the
 * C++ side caps the pool at `cpus/2` (1 thread on a 2-core machine), and the pool threads would keep
 * the process alive. This module builds the threaded-SIMD Emscripten module itself with a
 * `locateFile` that points at our CommonJS worker bootstrap, lifts the cap for the instant the C++
 * static initialiser reads it, and unrefs the pool workers so Node can exit.
 * Measured on a 2-core machine: 2-D matMul 1.7-2.1x faster with 2 threads, results bit-identical
 * (docs/backends.md).
 *
 * Fragile by nature (it relies on the 4.22.0 file names in `wasm-out/` and on Emscripten glue
 * internals): the version is pinned and a test asserts the thread count and a clean exit.
 */
// the real module object (not an import namespace, whose members are read-only): we patch os.cpus briefly
import os = require('os');
import * as path from 'path';
import * as fs from 'fs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** The most threads the XNNPACK pool accepts (its C++ side clamps to 8). */
export const MAX_WASM_THREADS = 8;

const GLUE_MODULE = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';

/** Where the pthread worker bootstrap lives: next to this file (dist/ copies it at build time). */
function workerBootstrapPath(): string {
  const candidates = [
    path.join(__dirname, 'wasm-pthread-worker.cjs'),
    path.join(__dirname, '..', '..', 'lib', 'backend', 'wasm-pthread-worker.cjs'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) {
    throw new Error(`wasm threads: the worker bootstrap wasm-pthread-worker.cjs is missing (looked in ${candidates.join(', ')}); rebuild with \`npm run build\``);
  }
  return found;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function createThreadedModule(threads: number): Promise<any> {
  const glue = require.resolve(GLUE_MODULE);
  const worker = workerBootstrapPath();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const factory = require(glue) as (opts: object) => Promise<any>;
  const realCpus = os.cpus;
  const restore = (): void => {
    os.cpus = realCpus;
  };
  try {
    const mod = await factory({
      locateFile: (file: string, prefix: string) => (file.endsWith('.worker.js') ? worker : prefix + file),
      // workers importScripts() the glue itself
      mainScriptUrlOrBlob: glue,
      // The pool size is min(requested, 8, cpus/2), read once by a C++ static initialiser that runs
      // after preRun: report twice the wanted count for that instant only.
      preRun: [
        () => {
          const cpus = realCpus();
          os.cpus = () =>
            Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
        },
      ],
      onRuntimeInitialized: restore,
    });
    // the same JS <-> wasm bridge that the stock backend's init() installs
    mod.tfjs = {
      init: mod.cwrap('init', null, []),
      initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
      registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: mod.cwrap('dispose_data', null, ['number']),
      dispose: mod.cwrap('dispose', null, []),
    };
    return mod;
  } finally {
    restore();
  }
}

/**
 * Creates a threaded wasm backend instance (what a `tf.registerBackend` factory returns).
 * `threads` is clamped to [1, 8].
 */
export async function createThreadedWasmBackend(threads: number): Promise<BackendWasm> {
  const n = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
  const mod = await createThreadedModule(n);
  setThreadsCount(n); // read by the BackendWasm constructor, which creates the XNNPACK pool
  const backend = new BackendWasm(mod);
  // Pool threads never finish; without this Node would never exit on its own.
  for (const w of mod.PThread.runningWorkers as Array<{ unref(): void }>) w.unref();
  for (const w of mod.PThread.unusedWorkers as Array<{ unref(): void }>) w.unref();
  return backend;
}
