/**
 * Loading the native TensorFlow backends (`@tensorflow/tfjs-node`, `@tensorflow/tfjs-node-gpu`):
 * libtensorflow's settings, which it reads from the environment once, when it loads.
 *
 * - oneDNN (`TF_ENABLE_ONEDNN_OPTS`): on unless the environment says otherwise. Measured on 2-core
 *   x86-64 machines (AVX2 and AVX-512), a presets.small training step at 1024 tokens ran 1.8-2.3x
 *   faster with it (batched attention products and fused element-wise ops), although a plain
 *   square 2-D matmul ran up to 20% slower on AVX2. TF's own default is on only for some CPUs.
 * - Logging: `TF_CPP_MIN_LOG_LEVEL=2` (warnings and info off) unless set. TF prints one line about
 *   oneDNN while the library loads, before it reads any logging setting; we send the process's
 *   stderr to /dev/null for the `require` (Linux, when stderr is a terminal, a file or a pipe; not
 *   when it is a socket, as for children Node spawns with piped stdio, where /proc cannot reopen
 *   it; `LONGLORA_TF_BANNERS=1` keeps it).
 *
 * The install step that makes tfjs-node loadable offline (libtensorflow from PyPI) is
 * scripts/setup-tensorflow.js; environment.md explains both.
 */
import * as fs from 'fs';

/** What the native backend runs with, as reported by `backendInfo().native`. */
export interface NativeInfo {
  /** The npm package that provides the backend. */
  package: string;
  /** libtensorflow's own version (`TF_Version()`). */
  libtensorflow: string;
  /** Whether oneDNN's custom ops are on, and whether that was our default or the environment's. */
  onednn: boolean;
  onednnSource: 'default' | 'environment';
  /** CUDA device in use (tensorflow-gpu). */
  gpu: boolean;
}

/** Our default for oneDNN, when the environment does not set TF_ENABLE_ONEDNN_OPTS. */
export const ONEDNN_DEFAULT = '1';

const defaultedEnvs = new WeakSet<NodeJS.ProcessEnv>();

/** Sets the environment libtensorflow reads at load time; values the user set win. */
export function prepareNativeEnvironment(env: NodeJS.ProcessEnv = process.env): Pick<NativeInfo, 'onednn' | 'onednnSource'> {
  if (env.TF_CPP_MIN_LOG_LEVEL === undefined || env.TF_CPP_MIN_LOG_LEVEL === '') env.TF_CPP_MIN_LOG_LEVEL = '2';
  const given = env.TF_ENABLE_ONEDNN_OPTS;
  if (given === undefined || given === '' || (defaultedEnvs.has(env) && given === ONEDNN_DEFAULT)) {
    env.TF_ENABLE_ONEDNN_OPTS = ONEDNN_DEFAULT;
    defaultedEnvs.add(env);
    return { onednn: true, onednnSource: 'default' };
  }
  // TF's own parsing: '0' and 'false' (any case) turn it off, '1' and 'true' on.
  const off = ['0', 'false'].includes(given.toLowerCase());
  return { onednn: !off, onednnSource: 'environment' };
}

/**
 * Runs `fn` with file descriptor 2 pointed at /dev/null and restores it after, so that what native
 * code prints there meanwhile is dropped. Node has no dup2: we keep a second descriptor of the same
 * target through /proc, then rely on open() taking the lowest free number. Anything unusual (not
 * Linux, a stderr /proc cannot reopen, such as a socket) runs `fn` unchanged.
 */
export function withNativeStderrDropped<T>(fn: () => T): T {
  if (process.platform !== 'linux' || process.env.LONGLORA_TF_BANNERS === '1') return fn();
  let saved: number;
  try {
    saved = fs.openSync('/proc/self/fd/2', 'a');
  } catch {
    return fn();
  }
  let redirected = false;
  try {
    fs.closeSync(2);
    const nul = fs.openSync('/dev/null', 'a');
    redirected = nul === 2;
    if (!redirected) fs.closeSync(nul);
  } catch {
    redirected = false;
  }
  try {
    return fn();
  } finally {
    try {
      if (redirected) fs.closeSync(2);
      const back = fs.openSync(`/proc/self/fd/${saved}`, 'a');
      if (back !== 2) fs.closeSync(back); // 2 was taken meanwhile: leave it, stderr still works through it
    } catch {
      // stderr could not be restored; nothing sensible to report it on
    }
    fs.closeSync(saved);
  }
}
