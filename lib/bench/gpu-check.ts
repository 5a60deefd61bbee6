/**
 * `npm run gpu:check` (scripts/gpu-check.ts runs one backend per child process and writes the
 * report): which backends load on this machine and on what device, and on each GPU backend the
 * long-context numbers that matter: S2-Attn vs full attention forward + backward and one training
 * step of presets.small, at 4096 and 8192 tokens (the existing harnesses: ./bench.ts
 * `benchAttention`, ./train-step.ts `benchTrainStep`).
 *
 * A software adapter (Mesa's llvmpipe behind webgpu) is reported as such, "software adapter, not a
 * GPU", and gets a small smoke step only (the long benches would take hours there) unless forced.
 * CPU backends are listed with their matmul speed, for comparison.
 */
import * as os from 'os';
import { tf, ready, backendInfo } from '../backend';
import type { BackendName, BackendInfo } from '../backend';
import { presets } from '../model';
import { benchAttention, measureMatmulGflops, timeAttentionFunctions } from './bench';
import { benchTrainStep } from './train-step';
import { causalAttention, shiftedSparseAttention } from '../attention';
import type { AttentionBenchEntry, TrainStepBenchEntry } from './types';

/** What kind of device a loaded backend computes on. */
export type DeviceKind = 'gpu' | 'software' | 'cpu';

/** One backend's part of the report. */
export interface GpuCheckSection {
  backend: BackendName;
  loads: boolean;
  /** Why it does not load (the picker's message), or what failed while measuring. */
  error: string | null;
  info: BackendInfo | null;
  kind: DeviceKind | null;
  /** The device in words ("NVIDIA H100 80GB HBM3", "llvmpipe (software adapter, not a GPU)", "CPU, 2 threads"). */
  device: string | null;
  /** 1024^3 float32 matmul, GFLOP/s (median of 3 after 1 warm-up, with an asynchronous read). */
  matmulGflops: number | null;
  /** A presets.tiny training step at 128 tokens (full, S2) and attention fwd+bwd at 256: that it runs, and how fast. */
  smoke: { trainStep: TrainStepBenchEntry[]; attentionMs: { full: number | null; s2: number | null } } | null;
  attention: AttentionBenchEntry[];
  trainStep: TrainStepBenchEntry[];
  /** Why the long benches did not run (a CPU or software device without --force). */
  skipped: string | null;
  seconds: number;
}

export interface GpuCheckReport {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  /** nvidia-smi's view, or null where there is no NVIDIA driver. */
  nvidia: { driver: string; gpus: string[] } | null;
  sections: GpuCheckSection[];
  /** Whether any bench ran on a real GPU (else the report is a CPU machine's and goes to build/). */
  ranOnGpu: boolean;
  seqLens: number[];
  seconds: number;
}

export interface GpuCheckOptions {
  /** Long benches on software and CPU devices too. */
  force?: boolean;
  /** Lengths of the long benches (default [4096, 8192]). */
  seqLens?: number[];
  log?: (line: string) => void;
}

/** The GPU backends the check measures. */
export const GPU_BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'webgpu'];

function describeDevice(info: BackendInfo): { kind: DeviceKind; device: string } {
  if (info.name === 'webgpu' && info.webgpu) {
    const w = info.webgpu;
    const name = w.device || w.description || w.vendor || 'unnamed adapter';
    return w.software ? { kind: 'software', device: `${name} (${w.description}; software adapter, not a GPU)` } : { kind: 'gpu', device: `${name}${w.description && w.description !== name ? ` (${w.description})` : ''}, Dawn ${w.dawnBackend}` };
  }
  if (info.name === 'tensorflow-gpu' && info.native?.gpu) return { kind: 'gpu', device: `CUDA GPU through libtensorflow ${info.native.libtensorflow}` };
  return { kind: 'cpu', device: `${os.cpus()[0]?.model ?? 'CPU'}, ${info.threads} thread(s)` };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Loads `backend` in this process and measures it: matmul speed always, the smoke step on GPU and
 * software devices, the long benches on real GPUs (or anywhere with `force`). Never throws: what
 * fails is recorded in `error`.
 */
export async function gpuCheckBackend(backend: BackendName, options: GpuCheckOptions = {}): Promise<GpuCheckSection> {
  const { force = false, seqLens = [4096, 8192], log = () => undefined } = options;
  const started = Date.now();
  const section: GpuCheckSection = { backend, loads: false, error: null, info: null, kind: null, device: null, matmulGflops: null, smoke: null, attention: [], trainStep: [], skipped: null, seconds: 0 };
  const done = () => ({ ...section, seconds: (Date.now() - started) / 1000 });
  try {
    await ready({ backend });
  } catch (e) {
    section.error = firstLine(e);
    return done();
  }
  section.loads = true;
  section.info = backendInfo();
  Object.assign(section, describeDevice(section.info));
  log(`${backend}: loads; ${section.device}`);
  try {
    section.matmulGflops = await measureMatmulGflops(1024, 3);
    log(`${backend}: matmul 1024^3 ${section.matmulGflops.toFixed(1)} GFLOP/s`);
    const gpuLike = section.kind !== 'cpu';
    if (gpuLike) {
      const smokeAttention = await timeAttentionFunctions(
        { full: (q, k, v) => causalAttention(q, k, v), s2: (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: 64 }) },
        256,
        { heads: 4, headDim: 32, runs: 2 },
      );
      const trainStep = await benchTrainStep({ config: presets.tiny, seqLens: [128], attention: ['full', 's2'], steps: 1, warmup: 1 });
      section.smoke = { trainStep, attentionMs: { full: smokeAttention.full.ms, s2: smokeAttention.s2.ms } };
      log(`${backend}: smoke step ok (tiny, 128 tokens: ${trainStep.map((t) => `${t.attention} ${(128000 / t.tokensPerSec).toFixed(0)} ms`).join(', ')})`);
    }
    if (section.kind !== 'gpu' && !force) {
      section.skipped = section.kind === 'software' ? 'software adapter, not a GPU: long benches skipped (--force runs them)' : 'CPU backend: long benches skipped (--force runs them)';
      return done();
    }
    section.attention = await benchAttention(seqLens, { runs: 3, log: (l) => log(`${backend}: ${l}`) });
    section.trainStep = await benchTrainStep({ seqLens, attention: ['full', 's2'], steps: 2, warmup: 1, log: (l) => log(`${backend}: ${l}`) });
  } catch (e) {
    section.error = firstLine(e);
  } finally {
    tf.disposeVariables();
  }
  return done();
}

function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : x.toFixed(0);
}

/** The report as Markdown: devices and backends, then each GPU backend's numbers. */
export function gpuCheckMarkdown(r: GpuCheckReport): string {
  const lines: string[] = [
    `# GPU check (${r.date.slice(0, 10)})`,
    '',
    `Machine: ${r.machine.cpuModel}, ${r.machine.cpus} CPUs, ${r.machine.platform}, Node ${r.machine.node}. ` +
      (r.nvidia ? `NVIDIA driver ${r.nvidia.driver}: ${r.nvidia.gpus.join('; ')}.` : 'No NVIDIA driver.') +
      ` ${r.ranOnGpu ? 'Benches ran on a GPU.' : 'Nothing ran on a GPU.'} Took ${r.seconds.toFixed(0)} s.`,
    '',
    '| backend | loads | device | matmul 1024³ GFLOP/s | smoke step (tiny, 128 tokens) full / S2 ms | note |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of r.sections) {
    const smoke = s.smoke ? s.smoke.trainStep.map((t) => ms(128000 / t.tokensPerSec)).join(' / ') : '—';
    const note = s.error ?? s.skipped ?? '';
    lines.push(`| ${s.backend} | ${s.loads ? 'yes' : 'no'} | ${s.device ?? '—'} | ${s.matmulGflops === null ? '—' : s.matmulGflops.toFixed(1)} | ${smoke} | ${note.replace(/\|/g, '\\|')} |`);
  }
  for (const s of r.sections.filter((x) => x.attention.length > 0 || x.trainStep.length > 0)) {
    lines.push('', `## ${s.backend}: ${s.device}`, '', '| N | full fwd+bwd ms | S2 fwd+bwd ms | full / S2 |', '|---|---|---|---|');
    for (const a of s.attention) {
      const ratio = a.fullMs !== null && a.s2Ms !== null ? (a.fullMs / a.s2Ms).toFixed(2) : (a.fullError ?? a.s2Error ?? '—');
      lines.push(`| ${a.seqLen} | ${ms(a.fullMs)} | ${ms(a.s2Ms)} | ${ratio} |`);
    }
    lines.push('', '| N | attention | step ms | tokens/s | GFLOP/s | peak MiB |', '|---|---|---|---|---|---|');
    for (const t of s.trainStep) lines.push(`| ${t.seqLen} | ${t.attention} | ${ms((t.seqLen * 1000) / t.tokensPerSec)} | ${t.tokensPerSec.toFixed(0)} | ${t.achievedGflops.toFixed(1)} | ${(t.peakBytes / 2 ** 20).toFixed(0)} |`);
  }
  return lines.join('\n');
}
