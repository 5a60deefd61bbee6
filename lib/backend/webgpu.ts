/**
 * The `webgpu` backend in Node: `@tensorflow/tfjs-backend-webgpu` on Google's Dawn, through the
 * `webgpu` npm package (Dawn's Node bindings, whose native binary ships inside the package for
 * Linux, macOS and Windows). Any GPU with a Vulkan, Metal or Direct3D 12 driver serves; on a machine
 * without a GPU, Mesa's software rasteriser (llvmpipe, through OpenGL ES) does, slowly, which is how
 * CI checks this backend's numerics.
 *
 * Set-up order (what the tfjs package needs; environment.md's GPU section has the errors and fixes):
 *   1. `require('webgpu')`, copy its `globals` (GPUBufferUsage, ...) onto globalThis and set
 *      `globalThis.navigator.gpu = create([...])`: Node has no `navigator`, and the tfjs package looks
 *      for it when it loads.
 *   2. Ask Dawn for an adapter ourselves, in order: the platform's native API (Vulkan, Metal, D3D12)
 *      in WebGPU's core feature level, then (Linux) OpenGL ES in the `compatibility` feature level,
 *      which GL needs (in core mode Dawn silently returns no adapter), with `EGL_PLATFORM=surfaceless`
 *      (a headless machine has no display for EGL). `LONGLORA_WEBGPU_DAWN=vulkan|metal|d3d12|opengles|opengl`
 *      asks for one.
 *   3. Require the tfjs package and register our own factory under 'webgpu' (its own asks for the
 *      adapter without a feature level and dies on `null.features` when there is none; it also has
 *      priority 3, above wasm, so a bare `tf.ready()` would pick it).
 *   4. `WEBGPU_CPU_FORWARD` off: by default ops on small CPU-resident inputs run on the CPU
 *      silently, which would make a "webgpu" test partly a cpu test.
 *
 * What differs from the other backends: a GPU tensor cannot be read synchronously in Node
 * (`dataSync`, `arraySync`): tfjs reads through an OffscreenCanvas, which Node lacks. We replace that
 * read with an error that says to use `await t.data()`; the library's hot paths read asynchronously
 * or not at all (`canReadSync`).
 */
import * as path from 'path';
import { tf } from './tf';

/** Dawn's backends that `LONGLORA_WEBGPU_DAWN` may name. */
export const DAWN_BACKENDS = ['vulkan', 'metal', 'd3d12', 'opengles', 'opengl'] as const;
export type DawnBackend = (typeof DAWN_BACKENDS)[number];

/** The adapter the `webgpu` backend runs on, as reported by `backendInfo().webgpu`. */
export interface WebGpuInfo {
  /** The npm packages that provide it. */
  package: string;
  /** Dawn's backend in use: 'default' (the platform's: Vulkan, Metal or D3D12) or the one asked for. */
  dawnBackend: 'default' | DawnBackend;
  /** WebGPU feature level of the adapter: GL runs in 'compatibility'. */
  featureLevel: 'core' | 'compatibility';
  /** GPUAdapterInfo fields (empty strings where the driver gives none). */
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software renderer (Mesa llvmpipe/lavapipe, SwiftShader, WARP): not a GPU. */
  software: boolean;
  /** The largest single buffer and storage binding the device allows, in bytes. */
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The pinned packages (package.json optionalDependencies). */
export const WEBGPU_PACKAGES = 'webgpu@0.6.2 (Dawn) + @tensorflow/tfjs-backend-webgpu@4.22.0';

/** Renderers that are CPU code, not GPUs: Mesa's llvmpipe (GL) and lavapipe (Vulkan), softpipe, SwiftShader, Microsoft's WARP. */
const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|warp/i;

/** Whether an adapter is a software renderer (Dawn's `isFallbackAdapter` is false for GL's llvmpipe). */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter === true) return true;
  return SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '));
}

/** Minimal shapes of the WebGPU objects we touch (the `webgpu` package's types are not a dependency). */
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** One way to ask Dawn for an adapter. */
interface Attempt {
  dawn: 'default' | DawnBackend;
  featureLevel: 'core' | 'compatibility';
}

/** The attempts for this platform, or the one `LONGLORA_WEBGPU_DAWN` names. */
export function dawnAttempts(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Attempt[] {
  const asked = env.LONGLORA_WEBGPU_DAWN;
  if (asked !== undefined && asked !== '' && asked !== 'auto') {
    if (!(DAWN_BACKENDS as readonly string[]).includes(asked)) {
      throw new Error(`LONGLORA_WEBGPU_DAWN = '${asked}' is not a Dawn backend; use one of auto, ${DAWN_BACKENDS.join(', ')}`);
    }
    const dawn = asked as DawnBackend;
    return [{ dawn, featureLevel: dawn === 'opengles' || dawn === 'opengl' ? 'compatibility' : 'core' }];
  }
  const attempts: Attempt[] = [{ dawn: 'default', featureLevel: 'core' }];
  // Linux machines without a Vulkan driver that Dawn accepts (no GPU, or Mesa 22's lavapipe, which
  // lacks shader*ArrayDynamicIndexing) still have GL through Mesa.
  if (platform === 'linux') attempts.push({ dawn: 'opengles', featureLevel: 'compatibility' });
  return attempts;
}

let dawnModule: DawnModule | null = null;
/** What the first successful attempt found: the adapter's description and how to ask for it again. */
interface Found {
  info: WebGpuInfo;
  gpu: GpuLike;
  options: Record<string, unknown>;
}
let loaded: Found | null = null;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Dawn's Node addon from the `webgpu` package. We load its binary (`dist/<platform>-<arch>/dawn.node`)
 * rather than the package's index.js, which is an ES module: `require` of ES modules fails under
 * jest and on Node before 20.19. The index adds only a fix for buffers left mapped by
 * `GPUDevice.destroy()`, which tfjs does not call.
 */
function loadDawn(): DawnModule {
  if (dawnModule !== null) return dawnModule;
  let binary = '';
  try {
    const dir = path.dirname(require.resolve('webgpu/package.json'));
    binary = path.join(dir, 'dist', `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`, 'dawn.node');
    dawnModule = require(binary) as DawnModule;
  } catch (e) {
    const what = binary === '' ? 'is not installed' : `has no working Dawn binary for ${process.platform}-${process.arch} (${binary})`;
    throw new Error(
      `the webgpu package (Dawn for Node) ${what}: ${firstLine(e)}; it is an optional dependency: ` +
        `run \`npm install\` (it installs ${WEBGPU_PACKAGES}; see environment.md, "GPU: WebGPU")`,
    );
  }
  Object.assign(globalThis, dawnModule.globals);
  return dawnModule;
}

/**
 * Finds an adapter through Dawn (the first attempt that gives one) and makes it `navigator.gpu`'s.
 * Throws, listing every attempt and what to install, when none does; with `requireHardware`, also
 * when the adapter is a software renderer.
 */
async function findAdapter(requireHardware: boolean): Promise<Found> {
  if (loaded !== null) {
    if (requireHardware && loaded.info.software) throw softwareError(loaded.info);
    return loaded;
  }
  const dawn = loadDawn();
  const tried: string[] = [];
  for (const attempt of dawnAttempts()) {
    const gl = attempt.dawn === 'opengles' || attempt.dawn === 'opengl';
    // A headless machine has no display for EGL: Mesa's surfaceless platform needs none.
    if (gl && (process.env.EGL_PLATFORM === undefined || process.env.EGL_PLATFORM === '')) process.env.EGL_PLATFORM = 'surfaceless';
    const label = `${attempt.dawn === 'default' ? 'default (Vulkan/Metal/D3D12)' : attempt.dawn}, ${attempt.featureLevel}${gl ? `, EGL_PLATFORM=${process.env.EGL_PLATFORM}` : ''}`;
    let gpu: GpuLike;
    let adapter: GpuAdapterLike | null;
    const options: Record<string, unknown> = { powerPreference: 'high-performance' };
    if (attempt.featureLevel === 'compatibility') options.featureLevel = 'compatibility';
    try {
      gpu = dawn.create(attempt.dawn === 'default' ? [] : [`backend=${attempt.dawn}`]);
      adapter = await gpu.requestAdapter(options);
    } catch (e) {
      tried.push(`${label}: ${firstLine(e)}`);
      continue;
    }
    if (adapter === null || adapter === undefined) {
      tried.push(`${label}: no adapter`);
      continue;
    }
    // GPUAdapterInfo's fields are getters on its prototype: read them one by one (a spread gives {}).
    const raw = adapter.info ?? {};
    const info: WebGpuInfo = {
      package: WEBGPU_PACKAGES,
      dawnBackend: attempt.dawn,
      featureLevel: attempt.featureLevel,
      vendor: raw.vendor ?? '',
      architecture: raw.architecture ?? '',
      device: raw.device ?? '',
      description: raw.description ?? '',
      software: false,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    };
    info.software = isSoftwareAdapter({ ...info, isFallbackAdapter: raw.isFallbackAdapter ?? adapter.isFallbackAdapter });
    // tfjs-backend-webgpu looks for navigator.gpu when it loads and registers itself only then.
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else g.navigator.gpu = gpu;
    loaded = { info, gpu, options };
    if (requireHardware && info.software) throw softwareError(info);
    return loaded;
  }
  const egl =
    process.env.EGL_PLATFORM !== undefined && process.env.EGL_PLATFORM !== 'surfaceless'
      ? ` EGL_PLATFORM=${process.env.EGL_PLATFORM} is set: a machine without a display needs surfaceless.`
      : ' Where process.env does not reach native code (jest), export EGL_PLATFORM=surfaceless before starting Node.';
  throw new Error(
    `Dawn found no WebGPU adapter (tried ${tried.join('; ')}). A GPU needs its Vulkan driver (Linux: the vendor's driver or Mesa's ` +
      `radv/anv with libvulkan1), Metal (macOS) or Direct3D 12 (Windows); OpenGL needs the 'compatibility' feature level, which the ` +
      `library asks for; without a GPU, Mesa's software OpenGL ES serves (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgles2 ` +
      `libgl1-mesa-dri).${egl} See environment.md, "GPU: WebGPU"`,
  );
}

function describeAdapter(info: WebGpuInfo): string {
  const name = info.device || info.description || info.vendor || 'unnamed adapter';
  return `${name}${info.description && info.description !== name ? ` (${info.description})` : ''}`;
}

function softwareError(info: WebGpuInfo): Error {
  return new Error(`webgpu's only adapter is a software renderer, ${describeAdapter(info)}: not a GPU, and slower than wasm; ask for it with LONGLORA_BACKEND=webgpu`);
}

/** The one line `backendInfo().reason` gets about the adapter. */
export function webGpuNote(info: WebGpuInfo): string {
  const kind = info.software ? 'software adapter, not a GPU' : 'GPU';
  return `Dawn ${info.dawnBackend}${info.featureLevel === 'compatibility' ? ' (compatibility)' : ''}: ${describeAdapter(info)} [${kind}]`;
}

let factoryRegistered = false;

/**
 * Sets up Dawn and the tfjs webgpu backend (once) and returns the adapter it runs on; the caller
 * activates `'webgpu'`. `requireHardware` (the automatic choice) refuses a software renderer.
 */
export async function setUpWebGpu(requireHardware: boolean): Promise<WebGpuInfo> {
  const { info, gpu, options } = await findAdapter(requireHardware);
  if (!factoryRegistered) {
    let pkg: { WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend };
    try {
      pkg = require('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-backend-webgpu is not installed or does not load (${firstLine(e)}); run \`npm install\` (an optional dependency; see environment.md, "GPU: WebGPU")`);
    }
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
    tf.registerBackend(
      'webgpu',
      async () => {
        // A fresh adapter each time: one that has given a device is spent (after shutdownBackends()).
        const adapter = await gpu.requestAdapter(options);
        if (adapter === null) throw new Error(`Dawn no longer finds the adapter ${describeAdapter(info)}`);
        // As the package's own factory: the adapter's limits (the defaults cap buffers at 256 MiB) and timestamp queries.
        const limits = adapter.limits;
        const device = await adapter.requestDevice({
          requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
          requiredLimits: {
            maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
            maxBufferSize: limits.maxBufferSize,
            maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
          },
        });
        const backend = new pkg.WebGPUBackend(device, adapter.info);
        explainSyncReads(backend);
        guardDeviceLimits(backend, device as DeviceLike, limits.maxStorageBufferBindingSize, info);
        return backend;
      },
      1, // below wasm (2): a bare tf.ready() never picks it
    );
    factoryRegistered = true;
  }
  return info;
}

/**
 * tfjs reads a GPU tensor synchronously through an OffscreenCanvas, which Node lacks ("OffscreenCanvas
 * is not defined"); say what to do instead. CPU-resident data (tensors made from arrays, not yet
 * used by a kernel) still reads synchronously, and int32 tensors made from arrays (token ids, which
 * the model checks and turns into label indices on the CPU) keep their CPU copy after the upload,
 * where tfjs drops it, so they stay readable however often they are used.
 */
function explainSyncReads(backend: tf.KernelBackend): void {
  type Data = { values?: unknown; dtype: string; resource?: unknown };
  const b = backend as unknown as { readSync(dataId: object): unknown; uploadToGPU(dataId: object): void; tensorMap: { get(id: object): Data | undefined } };
  const kept = new WeakMap<object, unknown>();
  const upload = b.uploadToGPU.bind(backend);
  b.uploadToGPU = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    if (data !== undefined && data.dtype === 'int32' && data.values != null && data.resource == null) kept.set(dataId, data.values);
    upload(dataId);
  };
  const readSync = b.readSync.bind(backend);
  b.readSync = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    if (typeof OffscreenCanvas === 'undefined' && data !== undefined && data.values == null && data.dtype !== 'string' && data.dtype !== 'complex64') {
      if (kept.has(dataId)) return kept.get(dataId);
      throw new Error('webgpu in Node cannot read a GPU tensor synchronously (dataSync, arraySync, bufferSync); use `await t.data()` or `await t.array()`');
    }
    return readSync(dataId);
  };
}

interface DeviceLike {
  addEventListener(type: 'uncapturederror', listener: (event: { error?: { message?: string } }) => void): void;
}

/**
 * Makes the device's limits and errors visible. WebGPU reports a failed validation (most often: a
 * tensor larger than `maxStorageBufferBindingSize`, 128 MiB on Mesa) only as an "uncaptured error"
 * event, and tfjs neither checks nor waits: the result is silently wrong, or its read never settles
 * and Node exits without a word. So: (1) every program's inputs and output are checked against the
 * binding limit before it is dispatched, throwing a message that says what to change; (2) any other
 * uncaptured device error rejects the reads waiting at that moment and the next one.
 */
function guardDeviceLimits(backend: tf.KernelBackend, device: DeviceLike, maxBinding: number, info: WebGpuInfo): void {
  type TensorInfoLike = { shape: number[]; dtype: string };
  const b = backend as unknown as {
    runWebGPUProgram(program: { outputShape: number[]; constructor: { name: string }; shaderKey?: string }, inputs: TensorInfoLike[], ...rest: unknown[]): unknown;
    read(dataId: object): Promise<unknown>;
  };
  const bytes = (shape: number[]) => 4 * shape.reduce((p, d) => p * d, 1);
  const run = b.runWebGPUProgram.bind(backend);
  b.runWebGPUProgram = (program, inputs, ...rest) => {
    const sizes = [...inputs.map((x) => bytes(x.shape)), bytes(program.outputShape)];
    const worst = Math.max(...sizes);
    if (worst > maxBinding) {
      const shape = [...inputs.map((x) => x.shape), program.outputShape][sizes.indexOf(worst)];
      throw new Error(
        `webgpu: a ${program.constructor.name} on a [${shape.join(', ')}] tensor (${(worst / 2 ** 20).toFixed(0)} MiB) is larger than one buffer binding ` +
          `may be on ${describeAdapter(info)} (maxStorageBufferBindingSize ${(maxBinding / 2 ** 20).toFixed(0)} MiB); use a shorter sequence, a smaller batch or attention blockSize, or another backend`,
      );
    }
    return run(program, inputs, ...rest);
  };
  let failure: Error | null = null;
  const waiting = new Set<(e: Error) => void>();
  device.addEventListener('uncapturederror', (event) => {
    failure = new Error(`webgpu: the device reported an error, so results computed since are not trustworthy: ${firstLine(event.error?.message ?? 'unknown error')}`);
    for (const reject of waiting) reject(failure);
    waiting.clear();
  });
  const read = b.read.bind(backend);
  b.read = (dataId: object) =>
    new Promise((resolve, reject) => {
      if (failure !== null) {
        const e = failure;
        failure = null;
        reject(e);
        return;
      }
      waiting.add(reject);
      read(dataId).then(
        (values) => {
          waiting.delete(reject);
          resolve(values);
        },
        (e) => {
          waiting.delete(reject);
          reject(e);
        },
      );
    });
}

declare const OffscreenCanvas: unknown;

/** The adapter found so far, or null (for backendInfo and gpu:check). */
export function webGpuAdapterInfo(): WebGpuInfo | null {
  return loaded === null ? null : { ...loaded.info };
}

/** Whether the active backend can read tensors synchronously (`dataSync`): every one but webgpu in Node. */
export function canReadSync(): boolean {
  return tf.getBackend() !== 'webgpu' || typeof OffscreenCanvas !== 'undefined';
}
