/**
 * Setting up the webgpu backend and failing over from the GPU backends with messages that say what
 * to do: Dawn's backend choice (LONGLORA_WEBGPU_DAWN), software renderers recognised, the automatic
 * choice skipping a software adapter, and in fresh processes of the built package: the package
 * missing, no adapter, EGL without a display, and tensorflow-gpu without its package.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { pickBackend, DEFAULT_LOADERS, BACKEND_NAMES, isSoftwareAdapter } from '../../lib/backend';
import type { BackendLoader, BackendName } from '../../lib/backend';
import { dawnAttempts } from '../../lib/backend/webgpu';
import { webgpuProblem } from '../helpers';

const root = path.join(__dirname, '..', '..');

/** Runs `script` in a fresh Node with the built package as `ll`; resolves with its last stdout line, parsed. */
function child(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ ok: boolean; name?: string; error?: string; info?: { webgpu?: { dawnBackend: string } } }> {
  const code = `
    const Module = require('module');
    const hidden = (process.env.TEST_HIDE_MODULES || '').split(',').filter(Boolean);
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (hidden.some((h) => request === h || request.startsWith(h + '/'))) throw new Error("Cannot find module '" + request + "'");
      return resolve.call(this, request, ...rest);
    };
    const ll = require(${JSON.stringify(root)});
    (async () => { ${script} })().then(
      (r) => console.log(JSON.stringify({ ok: true, ...r })),
      (e) => console.log(JSON.stringify({ ok: false, error: e.message })),
    );`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', code], { cwd: root, timeout: 60000, env: { ...process.env, LONGLORA_BACKEND: '', ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${stderr.slice(0, 2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string));
    });
  });
}

const requestWebgpu = "await ll.ready({ backend: 'webgpu' }); return { name: ll.backendInfo().name, info: ll.backendInfo() };";

describe("Dawn's backend for webgpu", () => {
  it('tries the platform default, then OpenGL ES in compatibility mode on Linux', () => {
    expect(dawnAttempts({}, 'linux')).toEqual([
      { dawn: 'default', featureLevel: 'core' },
      { dawn: 'opengles', featureLevel: 'compatibility' },
    ]);
    expect(dawnAttempts({ LONGLORA_WEBGPU_DAWN: 'auto' }, 'darwin')).toEqual([{ dawn: 'default', featureLevel: 'core' }]);
  });

  it('LONGLORA_WEBGPU_DAWN names one; GL always gets the compatibility feature level it needs', () => {
    expect(dawnAttempts({ LONGLORA_WEBGPU_DAWN: 'vulkan' }, 'linux')).toEqual([{ dawn: 'vulkan', featureLevel: 'core' }]);
    expect(dawnAttempts({ LONGLORA_WEBGPU_DAWN: 'opengl' }, 'linux')).toEqual([{ dawn: 'opengl', featureLevel: 'compatibility' }]);
    expect(() => dawnAttempts({ LONGLORA_WEBGPU_DAWN: 'cuda' })).toThrow("LONGLORA_WEBGPU_DAWN = 'cuda' is not a Dawn backend; use one of auto, vulkan, metal, d3d12, opengles, opengl");
  });

  it('recognises software renderers, which are not GPUs', () => {
    expect(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', device: 'llvmpipe (LLVM 19.1.7, 256 bits)', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: '' })).toBe(false);
  });
});

const webgpu = webgpuProblem() === null;
const withAdapter = webgpu ? it : it.skip;

describe('failing over from the GPU backends', () => {
  withAdapter('the automatic choice takes webgpu only on a GPU, and says why it skipped a software adapter', async () => {
    const failing: BackendLoader = async () => {
      throw new Error('stub: not here');
    };
    const loaders = Object.fromEntries(BACKEND_NAMES.map((n) => [n, n === 'webgpu' ? DEFAULT_LOADERS.webgpu : n === 'cpu' ? async () => ({ tfName: 'cpu', threads: 1 }) : failing])) as Record<BackendName, BackendLoader>;
    const got = await pickBackend(loaders, undefined, 1);
    if (got.name === 'webgpu') {
      expect(got.webgpu?.software).toBe(false); // a real GPU
    } else {
      expect(got.name).toBe('cpu');
      expect(got.reason).toMatch(/webgpu skipped: webgpu's only adapter is a software renderer, .*: not a GPU, and slower than wasm; ask for it with LONGLORA_BACKEND=webgpu/);
    }
  });

  it('webgpu without its package: says to run npm install', async () => {
    const r = await child(requestWebgpu, { TEST_HIDE_MODULES: 'webgpu' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/backend 'webgpu' was requested by ready\(\{ backend \}\) but failed to load: the webgpu package \(Dawn for Node\) is not installed: .*run `npm install`/);
  });

  it('webgpu without the tfjs backend package: says to run npm install', async () => {
    const r = await child(requestWebgpu, { TEST_HIDE_MODULES: '@tensorflow/tfjs-backend-webgpu' });
    if (!webgpu) return; // no adapter: the adapter error comes first (next test)
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/@tensorflow\/tfjs-backend-webgpu is not installed or does not load .*run `npm install`/);
  });

  it('webgpu with no adapter: lists what it tried and what to install', async () => {
    // Vulkan alone: on a machine without a Vulkan GPU driver Dawn finds nothing
    const r = await child(requestWebgpu, { LONGLORA_WEBGPU_DAWN: 'vulkan' });
    if (r.ok) {
      expect(r.info?.webgpu?.dawnBackend).toBe('vulkan'); // this machine has a Vulkan device
      return;
    }
    expect(r.error).toMatch(/Dawn found no WebGPU adapter \(tried vulkan, core: no adapter\)\. A GPU needs its Vulkan driver .*apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri/);
  });

  (process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? it.skip : it)('OpenGL ES with EGL_PLATFORM other than surfaceless on a headless machine: says to use surfaceless', async () => {
    const r = await child(requestWebgpu, { LONGLORA_WEBGPU_DAWN: 'opengles', EGL_PLATFORM: 'x11' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/tried opengles, compatibility, EGL_PLATFORM=x11: no adapter.*EGL_PLATFORM=x11 is set: a machine without a display needs surfaceless/);
  });

  it('tensorflow-gpu without its package: says how to opt in', async () => {
    const r = await child("await ll.ready({ backend: 'tensorflow-gpu' }); return { name: ll.backendInfo().name };", { TEST_HIDE_MODULES: '@tensorflow/tfjs-node-gpu' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/backend 'tensorflow-gpu' was requested by ready\(\{ backend \}\) but failed to load: @tensorflow\/tfjs-node-gpu is not installed or does not load .*npm run backend:gpu/);
  });

  withAdapter('LONGLORA_BACKEND=webgpu in a script: backendInfo() names the adapter', async () => {
    const r = await child('await ll.ready(); const y = ll.matmul(ll.tf.ones([8, 4]), ll.tf.ones([4, 2])); return { name: ll.backendInfo().name, info: ll.backendInfo(), y: (await y.data())[0] };', {
      LONGLORA_BACKEND: 'webgpu',
    });
    expect(r).toMatchObject({ ok: true, name: 'webgpu', y: 4 });
    expect(r.info?.webgpu).toMatchObject({ package: expect.stringContaining('webgpu@0.6.2'), dawnBackend: expect.any(String), software: expect.any(Boolean) });
  });
});
