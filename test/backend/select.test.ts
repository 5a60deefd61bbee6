/**
 * Backend choice: the automatic order with stubbed loaders (the native packages cannot be
 * installed on machines without general internet), explicit requests, bad names, and the real
 * threaded wasm backend with 2 threads in this process and in a child process that must exit.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { tf, ready, backendInfo, pickBackend, BACKEND_NAMES } from '../../lib/backend';
import type { BackendLoader, BackendName } from '../../lib/backend';

function stubs(working: BackendName[], calls: string[] = []): Record<BackendName, BackendLoader> {
  const entries = BACKEND_NAMES.map((name) => {
    const loader: BackendLoader = async (threads) => {
      calls.push(name);
      if (!working.includes(name)) throw new Error(`${name} stub is not installed`);
      return { tfName: name, threads: name === 'wasm' ? threads : 1 };
    };
    return [name, loader] as const;
  });
  return Object.fromEntries(entries) as Record<BackendName, BackendLoader>;
}

describe('pickBackend with stubbed loaders', () => {
  it('takes tensorflow-gpu first when it loads', async () => {
    const calls: string[] = [];
    const got = await pickBackend(stubs(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], calls), undefined, 2);
    expect(got.name).toBe('tensorflow-gpu');
    expect(calls).toEqual(['tensorflow-gpu']);
  });

  it('falls back gpu -> tensorflow -> webgpu -> wasm and says what it skipped and why', async () => {
    const calls: string[] = [];
    const got = await pickBackend(stubs(['wasm', 'cpu'], calls), undefined, 2);
    expect(got.name).toBe('wasm');
    expect(got.threads).toBe(2);
    expect(calls).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']);
    expect(got.reason).toMatch(/tensorflow-gpu skipped: tensorflow-gpu stub is not installed/);
    expect(got.reason).toMatch(/tensorflow skipped: tensorflow stub is not installed/);
  });

  it('ends at cpu when nothing else loads', async () => {
    expect((await pickBackend(stubs(['cpu']), undefined, 2)).name).toBe('cpu');
  });

  it('tensorflow is chosen over wasm when only the GPU package is missing', async () => {
    expect((await pickBackend(stubs(['tensorflow', 'wasm', 'cpu']), undefined, 2)).name).toBe('tensorflow');
  });

  it('webgpu comes after the native backends and before wasm; loaders learn whether they were asked for', async () => {
    expect((await pickBackend(stubs(['tensorflow', 'webgpu', 'wasm', 'cpu']), undefined, 2)).name).toBe('tensorflow');
    expect((await pickBackend(stubs(['webgpu', 'wasm', 'cpu']), undefined, 2)).name).toBe('webgpu');
    const requested: boolean[] = [];
    const loaders = { ...stubs(['webgpu', 'cpu']), webgpu: async (_t: number, asked: boolean) => (requested.push(asked), { tfName: 'webgpu', threads: 1 }) };
    await pickBackend(loaders, undefined, 2);
    await pickBackend(loaders, 'webgpu', 2);
    expect(requested).toEqual([false, true]);
  });

  it('a requested backend is tried alone and its failure is an error that says why', async () => {
    const calls: string[] = [];
    await expect(pickBackend(stubs(['cpu'], calls), 'tensorflow', 2, 'LONGLORA_BACKEND')).rejects.toThrow(
      "backend 'tensorflow' was requested by LONGLORA_BACKEND but failed to load: tensorflow stub is not installed",
    );
    expect(calls).toEqual(['tensorflow']);
  });

  it('no backend at all is an error listing every failure', async () => {
    await expect(pickBackend(stubs([]), undefined, 2)).rejects.toThrow(/no TensorFlow.js backend could be loaded: tensorflow-gpu skipped.*cpu skipped/);
  });
});

describe('ready() and backendInfo()', () => {
  const saved = process.env.LONGLORA_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.LONGLORA_BACKEND;
    else process.env.LONGLORA_BACKEND = saved;
  });

  it('rejects an unknown backend name, from the API and from the environment', async () => {
    await expect(ready({ backend: 'metal' as BackendName })).rejects.toThrow("ready({ backend }) = 'metal' is not a backend; use one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu");
    process.env.LONGLORA_BACKEND = 'gpu';
    await expect(ready()).rejects.toThrow("LONGLORA_BACKEND = 'gpu' is not a backend");
  });

  it('rejects a bad thread count', async () => {
    await expect(ready({ backend: 'wasm', threads: 0 })).rejects.toThrow(/threads must be an integer from 1 to 8/);
  });

  it('explains a requested native backend that is not installed here', async () => {
    let installed = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      installed = false;
    }
    if (installed) return; // machines with internet may have it; then there is nothing to explain
    await expect(ready({ backend: 'tensorflow' })).rejects.toThrow(
      /backend 'tensorflow' was requested by ready\(\{ backend \}\) but failed to load: @tensorflow\/tfjs-node is not installed or does not load/,
    );
  });

  it('LONGLORA_BACKEND=cpu selects the cpu backend', async () => {
    process.env.LONGLORA_BACKEND = 'cpu';
    expect(await ready()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(backendInfo()).toEqual({ name: 'cpu', threads: 1, reason: 'requested by LONGLORA_BACKEND' });
  });

  it('wasm runs with 2 threads when asked', async () => {
    expect(await ready({ backend: 'wasm', threads: 2 })).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const info = backendInfo();
    expect(info.threads).toBe(2);
    expect(info.reason).toBe('requested by ready({ backend })');
  });
});

describe('a script using the built package', () => {
  it('gets 2 wasm threads and exits on its own (pool threads do not hold it open)', async () => {
    const root = path.join(__dirname, '..', '..');
    const script = `
      const ll = require(${JSON.stringify(root)});
      ll.ready().then(() => {
        const y = ll.matmul(ll.tf.ones([256, 256]), ll.tf.ones([256, 256]));
        console.log(JSON.stringify({ info: ll.backendInfo(), y: y.dataSync()[0] }));
      });`;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { timeout: 30000, env: { ...process.env, LONGLORA_BACKEND: 'wasm', LONGLORA_WASM_THREADS: '2' } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed or hung: ${err.message}\n${stderr.slice(0, 2000)}`));
        else resolve(stdout);
      });
    });
    const result = JSON.parse(out.trim().split('\n').pop() as string);
    expect(result.info.name).toBe('wasm');
    expect(result.info.threads).toBe(2);
    expect(result.y).toBe(256);
    expect(Date.now() - started).toBeLessThan(30000);
  });
});
