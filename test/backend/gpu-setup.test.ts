/**
 * The GPU routes' tooling on a machine without a GPU: `npm run backend:gpu` stops before downloading
 * anything and says why and what to do; `npm run gpu:check`'s report says what loaded on what
 * device and what did not run.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gpuCheckMarkdown } from '../../lib/bench';
import type { GpuCheckReport, GpuCheckSection } from '../../lib/bench';

const root = path.join(__dirname, '..', '..');
const hasNvidiaSmi = spawnSync('nvidia-smi', ['-L']).status === 0;

describe('npm run backend:gpu', () => {
  (hasNvidiaSmi ? it.skip : it)('without an NVIDIA driver: stops before any download, with the reason, the fix and --force', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-cache-'));
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'setup-tensorflow-gpu.js')], { cwd: root, encoding: 'utf8', env: { ...process.env, LONGLORA_CACHE: cache } });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/the 'tensorflow-gpu' backend is NOT set up: no NVIDIA driver found \(nvidia-smi .*\); tensorflow-gpu needs an NVIDIA GPU with a driver for CUDA 12 \(>= 525\.60\)\. Nothing was downloaded/);
      expect(r.stdout).toMatch(/What to do: .*LONGLORA_BACKEND=webgpu.*npm run backend:gpu -- --force/);
      expect(fs.readdirSync(cache)).toEqual([]); // nothing fetched, not even a wheels folder
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('gpu:check report', () => {
  const base: Omit<GpuCheckSection, 'backend'> = { loads: false, error: null, info: null, kind: null, device: null, matmulGflops: null, smoke: null, attention: [], trainStep: [], skipped: null, seconds: 1 };
  const report: GpuCheckReport = {
    date: '2026-12-05T23:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'Test CPU', node: 'v20', platform: 'linux-x64' },
    nvidia: null,
    ranOnGpu: false,
    seqLens: [4096, 8192],
    seconds: 40,
    sections: [
      { ...base, backend: 'tensorflow-gpu', error: "backend 'tensorflow-gpu' failed to load: not installed | see environment.md" },
      {
        ...base,
        backend: 'webgpu',
        loads: true,
        kind: 'software',
        device: 'llvmpipe (software adapter, not a GPU)',
        matmulGflops: 2.04,
        smoke: { trainStep: [{ seqLen: 128, attention: 'full', tokensPerSec: 320, achievedGflops: 0.3, peakBytes: 1 }, { seqLen: 128, attention: 's2', tokensPerSec: 256, achievedGflops: 0.3, peakBytes: 1 }], attentionMs: { full: 50, s2: 40 } },
        skipped: 'software adapter, not a GPU: long benches skipped (--force runs them)',
      },
      {
        ...base,
        backend: 'tensorflow',
        loads: true,
        kind: 'gpu',
        device: 'Some GPU',
        matmulGflops: 100,
        attention: [{ seqLen: 4096, groupSize: 1024, heads: 8, headDim: 64, fullMs: 40, s2Ms: 10, fullPeakBytes: 1, s2PeakBytes: 1, fullError: null, s2Error: null }],
        trainStep: [{ seqLen: 4096, attention: 's2', tokensPerSec: 40960, achievedGflops: 12.5, peakBytes: 2 ** 30 }],
      },
    ],
  };

  it('lists every backend with its device, speed and why it did not load or run', () => {
    const md = gpuCheckMarkdown(report);
    expect(md).toContain('No NVIDIA driver. Nothing ran on a GPU.');
    expect(md).toContain('| tensorflow-gpu | no | — | — | — | backend \'tensorflow-gpu\' failed to load: not installed \\| see environment.md |');
    expect(md).toContain('| webgpu | yes | llvmpipe (software adapter, not a GPU) | 2.0 | 400 / 500 | software adapter, not a GPU: long benches skipped (--force runs them) |');
    expect(md).toContain('| 4096 | 40 | 10 | 4.00 |');
    expect(md).toContain('| 4096 | s2 | 100 | 40960 | 12.5 | 1024 |');
  });
});
