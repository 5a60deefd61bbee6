/**
 * Test utilities in the style of tfjs's own test_utils: tensor comparison that reports the worst
 * element, leak checks, and backend selection per test file.
 */
import { tf, ready } from '../lib/backend';
import type { BackendName } from '../lib/backend';
import type { Tensor } from '@tensorflow/tfjs';
import { spawnSync } from 'child_process';
import * as path from 'path';

export type Numeric = Tensor | ArrayLike<number> | number[][] | number[][][] | number[][][][];

function flat(x: Numeric): { values: Float64Array; shape: number[] | null } {
  if (x instanceof tf.Tensor) return { values: Float64Array.from(x.dataSync() as Float32Array), shape: x.shape };
  if (!Array.isArray(x)) return { values: Float64Array.from(x as ArrayLike<number>), shape: null };
  const values = (x as unknown[]).flat(Infinity as 1) as number[];
  return { values: Float64Array.from(values), shape: null };
}

/**
 * Asserts same shape and |a - e| <= atol + rtol * |e| everywhere; the failure names the worst index.
 * `relativeToMax`: tolerance relative to the largest |e| instead (for gradients).
 */
export function expectTensorsClose(
  actual: Numeric,
  expected: Numeric,
  { atol = 1e-5, rtol = 1e-5, relativeToMax = false }: { atol?: number; rtol?: number; relativeToMax?: boolean } = {},
): void {
  const a = flat(actual);
  const e = flat(expected);
  if (a.shape !== null && e.shape !== null) expect(a.shape).toEqual(e.shape);
  expect(a.values.length).toBe(e.values.length);
  let scale = 1;
  if (relativeToMax) scale = Math.max(1e-30, ...Array.from(e.values, Math.abs));
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const tol = relativeToMax ? atol * scale : atol + rtol * Math.abs(e.values[i]);
    const diff = Math.abs(a.values[i] - e.values[i]);
    if (!(diff <= tol) && (worst < 0 || diff - tol > worstExcess)) {
      worst = i;
      worstExcess = diff - tol;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `tensors differ at flat index ${worst}: actual ${a.values[worst]}, expected ${e.values[worst]} ` +
        `(|diff| ${Math.abs(a.values[worst] - e.values[worst]).toExponential(3)}, atol ${atol}, rtol ${rtol}${relativeToMax ? `, relative to max |expected| ${scale.toExponential(3)}` : ''})`,
    );
  }
}

/** Runs `fn` once to warm up, then again, and asserts the second run leaves no new tensors behind. */
export async function expectNoLeakedTensors(fn: () => unknown | Promise<unknown>): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}

/** Whether the native `tensorflow` backend's package resolves here (npm install sets it up on Linux x86_64). */
export function nativeTensorflowInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/**
 * The backends the numerics suites run on: `tensorflow` (the default where npm install could set
 * it up) and `wasm` (what macOS and Windows users get). `LONGLORA_TEST_BACKENDS=wasm,cpu` overrides.
 * Without tfjs-node the tensorflow runs are left out with a warning, except under CI=true, where
 * they stay in (and fail, naming the missing package): CI must test the native backend.
 */
export function numericBackends(): BackendName[] {
  const fromEnv = process.env.LONGLORA_TEST_BACKENDS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.split(',').map((s) => s.trim()) as BackendName[];
  if (nativeTensorflowInstalled() || process.env.CI === 'true') return ['tensorflow', 'wasm'];
  if (!warnedNoNative) {
    warnedNoNative = true;
    process.stderr.write('[test] @tensorflow/tfjs-node is not set up (npm run setup:tensorflow): numerics suites run on wasm only\n');
  }
  return ['wasm'];
}
let warnedNoNative = false;

/**
 * Why the `webgpu` backend cannot run here, or null. Checks its optional packages, then asks Dawn for
 * an adapter as lib/backend/webgpu.ts does (platform default, then OpenGL ES in compatibility mode on
 * Linux), in a child process so that a crash in a driver cannot take the test worker down (~0.3 s,
 * once per test file). The numerics suites cannot simply add webgpu to `numericBackends()`: they read
 * results with `dataSync`, which webgpu in Node cannot do (test/backend/webgpu-numerics.test.ts reads
 * asynchronously instead).
 */
export function webgpuProblem(): string | null {
  if (webgpuProblemCache !== undefined) return webgpuProblemCache;
  for (const pkg of ['webgpu/package.json', '@tensorflow/tfjs-backend-webgpu']) {
    try {
      require.resolve(pkg);
    } catch {
      return (webgpuProblemCache = `the optional package ${pkg.replace('/package.json', '')} is not installed`);
    }
  }
  const script = `
    const path = require('path');
    const dir = path.dirname(require.resolve('webgpu/package.json'));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    const { create, globals } = require(path.join(dir, 'dist', process.platform + '-' + arch, 'dawn.node'));
    Object.assign(globalThis, globals);
    (async () => {
      const tries = [[[], {}]];
      if (process.platform === 'linux') tries.push([['backend=opengles'], { featureLevel: 'compatibility' }]);
      for (const [flags, options] of tries) {
        const adapter = await create(flags).requestAdapter(options);
        if (adapter) { console.log('ADAPTER ' + (adapter.info.device || adapter.info.description)); process.exit(0); }
      }
      console.log('NO ADAPTER');
      process.exit(0);
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60000, env: { ...process.env, EGL_PLATFORM: process.env.EGL_PLATFORM || 'surfaceless' } });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('ADAPTER') || l.startsWith('NO ADAPTER'));
  if (line === undefined) webgpuProblemCache = `probing Dawn failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}`;
  else if (line === 'NO ADAPTER') webgpuProblemCache = 'Dawn finds no WebGPU adapter (no GPU driver and no Mesa EGL/GLES libraries)';
  else webgpuProblemCache = null;
  return webgpuProblemCache;
}
let webgpuProblemCache: string | null | undefined;

/** `numericBackends()` plus the pure-JS `cpu` backend, the reference the fast backends are held to. */
export function numericBackendsAndCpu(): BackendName[] {
  const list = numericBackends();
  return list.includes('cpu') ? list : [...list, 'cpu'];
}

/** Activates `backend` before the tests of the enclosing describe block. */
export function useBackend(backend: BackendName, threads?: number): void {
  beforeAll(async () => {
    await ready({ backend, threads });
  });
}

/** A seeded pseudo-random Float32Array (mulberry32), independent of any tf backend. */
export function seededValues(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** A seeded random tensor of `shape` with entries in [-scale, scale). */
export function seededTensor(shape: number[], seed: number, scale = 1): Tensor {
  return tf.tensor(seededValues(shape.reduce((p, d) => p * d, 1), seed, scale), shape, 'float32');
}

/**
 * `describe` when an optional environment is usable (`problem` null); otherwise a failing test under
 * CI=true (CI must have it) and a loud skip elsewhere. `need` names it ("the Jupyter environment"),
 * `failure` starts the CI error ("the notebook platform is not installed").
 */
export function describeWhenAvailable(name: string, problem: string | null, setupHint: string, need: string, failure: string, fn: () => void): void {
  if (problem === null) {
    describe(name, fn);
    return;
  }
  const message = `${problem}. ${setupHint}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${need} (CI=true: a missing one is a failure)`, () => {
        throw new Error(`${failure}: ${message}`);
      });
    });
    return;
  }
  const bar = '!'.repeat(100);
  // eslint-disable-next-line no-console
  console.warn(`${bar}\nSKIPPING "${name}": ${message}\n(under CI=true this is a failure)\n${bar}`);
  describe.skip(name, fn);
}
