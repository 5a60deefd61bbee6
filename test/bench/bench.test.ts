/**
 * The quick benchmark runs end to end through its npm script (as CI runs it) and writes the JSON
 * contract the performance issues fix, plus its Markdown and figure. No timing assertions: these
 * machines are noisy; the numbers are for the notes, from full runs.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeTensorflowInstalled } from '../helpers';

const root = path.join(__dirname, '..', '..');

it('npm run bench -- --quick writes the report contract', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-bench-'));
  const out = path.join(dir, 'bench.json');
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], { cwd: root, timeout: 600_000, maxBuffer: 16 * 2 ** 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`bench failed: ${err.message}\n${stderr.slice(-3000)}`));
      else resolve();
    });
  });
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  expect(r.backend).toBe(nativeTensorflowInstalled() || process.env.CI === 'true' ? 'tensorflow' : 'wasm'); // the default backend
  expect(r.threads).toBeGreaterThanOrEqual(1);
  expect(r.matmulGflops).toBeGreaterThan(0);
  expect(r.attention.map((a: { seqLen: number }) => a.seqLen)).toEqual([1024, 2048]);
  for (const a of r.attention) {
    for (const k of ['seqLen', 'groupSize', 'heads', 'headDim', 'fullMs', 's2Ms', 'fullPeakBytes', 's2PeakBytes', 'fullError', 's2Error']) expect(a).toHaveProperty(k);
    expect(a.groupSize).toBe(a.seqLen / 4);
    expect(a.s2PeakBytes).toBeLessThan(a.fullPeakBytes);
  }
  const steps = r.trainStep.map((t: { seqLen: number; attention: string }) => `${t.attention}@${t.seqLen}`);
  expect(steps).toEqual(['full@256', 'full@512', 'full@1024', 'full@2048', 's2@1024', 's2@2048']);
  for (const t of r.trainStep) for (const k of ['tokensPerSec', 'achievedGflops', 'peakBytes']) expect(t[k]).toBeGreaterThan(0);
  const m = r.maxTrainableSeqLen;
  expect(m.budgetBytes).toBe(2 * 2 ** 30);
  expect(m.step).toBe(256);
  expect(m.full % 256).toBe(0);
  expect(m.s2).toBeGreaterThan(m.full); // S2-Attn fits longer sequences in the same memory
  // the decision rests on measurements: the longest length fits, the next does not
  for (const kind of ['full', 's2']) {
    const probes = r.maxTrainableProbes.filter((p: { attention: string }) => p.attention === kind);
    expect(probes.find((p: { seqLen: number }) => p.seqLen === m[kind]).fits).toBe(true);
    expect(probes.find((p: { seqLen: number }) => p.seqLen === m[kind] + 256).fits).toBe(false);
  }
  const md = fs.readFileSync(path.join(dir, 'bench.md'), 'utf8');
  expect(md).toMatch(/\| attention fwd\+bwd \|/);
  expect(md).toMatch(/\| ours \| 1024 \| [\d.]+x \| [\d.]+x \| 1\.42x \|/); // S2 vs full step, with the FLOPs model's prediction
  expect(md).toContain('| paper | 8192 | 2.13x (17.5 h -> 8.2 h) | 1.83x (55.5 GB -> 30.3 GB) | — |');
  expect(fs.readFileSync(path.join(dir, 'bench-cost.svg'), 'utf8')).toMatch(/^<svg/);
  fs.rmSync(dir, { recursive: true, force: true });
}, 300_000); // the quick bench alone takes 108-117 s on the 2-core VM and longer beside the other jest worker; its budget is 3 minutes
