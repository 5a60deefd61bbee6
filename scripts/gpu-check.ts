/**
 * npm run gpu:check [-- --force] [--out DIR]
 *
 * Reports the devices (nvidia-smi, WebGPU adapters) and the backends that load, and on each GPU
 * backend (tensorflow-gpu, webgpu on a real GPU) runs S2-Attn vs full attention forward + backward
 * and one presets.small training step at 4096 and 8192 tokens (lib/bench/gpu-check.ts). Each
 * backend runs in its own Node process (two libtensorflows cannot share one). No network.
 *
 * Writes gpu-check.json and gpu-check.md to results/ when something ran on a GPU, else to build/
 * (a CPU machine's run is not a GPU result). `--force` also runs the long benches on a software
 * adapter and the CPU backends (slow: hours on Mesa's llvmpipe).
 */
import './ensure-built';
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BACKEND_NAMES, GPU_BACKENDS, gpuCheckMarkdown } from 'longlora-ts';
import type { BackendName, GpuCheckReport, GpuCheckSection } from 'longlora-ts';

const USAGE = 'usage: npm run gpu:check [-- --force] [--out DIR]';
const root = path.join(__dirname, '..');
/** Per backend process: GPU backends get the long benches, CPU ones a matmul only. The whole check stays under 8 minutes. */
const TIMEOUT_S: Record<BackendName, number> = { 'tensorflow-gpu': 200, webgpu: 200, tensorflow: 30, wasm: 30, cpu: 45 };

function parseArgs(argv: string[]): { force: boolean; out: string | null } {
  let force = false;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') force = true;
    else if (a === '--out') out = argv[++i] ?? null;
    else if (a.startsWith('--out=')) out = a.slice('--out='.length);
    else throw new Error(`unknown argument '${a}'; ${USAGE}`);
  }
  return { force, out };
}

function nvidia(): GpuCheckReport['nvidia'] {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,compute_cap', '--format=csv,noheader'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) return null;
  const rows = r.stdout.trim().split('\n');
  return { driver: rows[0].split(',')[1]?.trim() ?? 'unknown', gpus: rows.map((row) => row.split(',').map((s) => s.trim()).filter((_, i) => i !== 1).join(', ')) };
}

/** Runs `gpuCheckBackend(backend)` in a child process of the built package; its progress goes to our stderr. */
function runChild(backend: BackendName, force: boolean): Promise<GpuCheckSection> {
  const script = `
    const ll = require(${JSON.stringify(root)});
    ll.gpuCheckBackend(${JSON.stringify(backend)}, { force: ${force}, log: (l) => process.stderr.write('[gpu:check] ' + l + '\\n') })
      .then((s) => { console.log('RESULT ' + JSON.stringify(s)); process.exit(0); });`;
  const env = { ...process.env, LONGLORA_BACKEND: '', TF_FORCE_GPU_ALLOW_GROWTH: process.env.TF_FORCE_GPU_ALLOW_GROWTH || 'true' };
  const failed = (error: string): GpuCheckSection => ({ backend, loads: false, error, info: null, kind: null, device: null, matmulGflops: null, smoke: null, attention: [], trainStep: [], skipped: null, seconds: 0 });
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['-e', script], { cwd: root, env, timeout: TIMEOUT_S[backend] * 1000, maxBuffer: 64 << 20 }, (err, stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line !== undefined) resolve(JSON.parse(line.slice('RESULT '.length)) as GpuCheckSection);
      else resolve(failed(err?.killed ? `stopped after ${TIMEOUT_S[backend]} s (the check's time limit)` : `the check process failed: ${(err?.message ?? 'no result').split('\n')[0]}`));
    });
    child.stderr?.on('data', (d: Buffer) => {
      // noise here: Dawn's notes on limits it lowers on purpose and on Vulkan missing, TF's oneDNN banner, tfjs's timestamp-query note
      const noise = /artificially reduced|BackendVk\.cpp|Couldn't load Vulkan|^\s+at |oneDNN custom operations|absl::InitializeLog|timestamp-query/;
      for (const l of d.toString().split('\n')) if (l.trim() && !noise.test(l)) process.stderr.write(`${l}\n`);
    });
  });
}

async function main(): Promise<void> {
  const { force, out } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const sections: GpuCheckSection[] = [];
  // GPU backends first, then the CPU ones for comparison
  const order = [...GPU_BACKENDS, ...BACKEND_NAMES.filter((b) => !GPU_BACKENDS.includes(b))];
  for (const backend of order) {
    process.stderr.write(`[gpu:check] ${backend} ...\n`);
    const s = await runChild(backend, force);
    if (!s.loads) process.stderr.write(`[gpu:check] ${backend}: does not load: ${s.error}\n`);
    sections.push(s);
  }
  const report: GpuCheckReport = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    nvidia: nvidia(),
    sections,
    ranOnGpu: sections.some((s) => s.kind === 'gpu' && (s.attention.length > 0 || s.trainStep.length > 0)),
    seqLens: [4096, 8192],
    seconds: (Date.now() - started) / 1000,
  };
  const dir = out ?? (report.ranOnGpu ? 'results' : 'build');
  fs.mkdirSync(dir, { recursive: true });
  const markdown = gpuCheckMarkdown(report);
  fs.writeFileSync(path.join(dir, 'gpu-check.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'gpu-check.md'), markdown + '\n');
  console.log(markdown);
  console.log(`\nwrote ${path.join(dir, 'gpu-check.json')} and .md in ${report.seconds.toFixed(0)} s${report.ranOnGpu ? '' : ' (nothing ran on a GPU: build/, not results/)'}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
