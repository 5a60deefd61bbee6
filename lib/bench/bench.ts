/**
 * The benchmark harness behind `npm run bench`: one JSON report (`results/bench.json` by default)
 * that every performance issue extends, plus a Markdown summary.
 *
 * Contract (field names fixed by the issues): `{ backend, threads, matmulGflops, attention: [...],
 * trainStep: [...], maxTrainableSeqLen }`. Every number is a median of several runs after a warm-up,
 * and ratios are meant to be taken between entries of the same report.
 */
import { execFile } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { tf, ready, backendInfo, matmul } from '../backend';
import type { Tensor4D } from '../backend';
import { causalAttention, shiftedSparseAttention } from '../attention';
import { benchTrainStep } from './train-step';
import { maxTrainableSeqLen } from './max-length';
import { trainingMemory } from '../cost/memory';
import { trainingStepFlops } from '../cost/flops';
import { presets } from '../model';
import type { VegaLiteSpec } from '../viz';
import { timeIt, timeInterleaved } from './timing';
import { measurePeakBytes } from './measure';
import type { AttentionBenchEntry, BenchReport, TrainStepBenchEntry } from './types';
import { checkKnownKeys, checkPositiveInt, describe, describeValue } from '../util/options';

export interface BenchOptions {
  /** Fewer and smaller runs; the whole quick bench stays within about 3 minutes. */
  quick?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

const MATMUL_N = 1024;

/** GFLOP/s of a 2-D n x n x n float32 matmul through our helper, same operands every run. */
export async function measureMatmulGflops(n = MATMUL_N, runs = 7): Promise<number> {
  checkPositiveInt('measureMatmulGflops', 'n', n);
  checkPositiveInt('measureMatmulGflops', 'runs', runs);
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  try {
    const t = await timeIt(
      async () => {
        // an asynchronous read: webgpu in Node cannot read synchronously (the other backends do the same work)
        const c = matmul(a, b);
        await c.data();
        c.dispose();
      },
      { warmup: 2, runs },
    );
    return (2 * n ** 3) / (t.medianMs * 1e6);
  } finally {
    tf.dispose([a, b]);
  }
}

/** Runs `measureMatmulGflops` in a fresh Node process with another wasm thread count. */
function matmulGflopsInChild(threads: number): Promise<number> {
  const dist = path.join(__dirname, '..');
  const script = `const ll = require(${JSON.stringify(dist)});
    ll.ready({ backend: 'wasm', threads: ${threads} }).then(() => ll.measureMatmulGflops()).then((g) => console.log(JSON.stringify(g)));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`matmul probe with ${threads} thread(s) failed: ${err.message} ${stderr.slice(0, 500)}`));
      else resolve(Number(JSON.parse(stdout.trim().split('\n').pop() as string)));
    });
  });
}

/** A timed call: median ms and peak bytes, or the error that stopped it. */
export interface Measured {
  ms: number | null;
  peakBytes: number | null;
  error: string | null;
}

/**
 * Forward + backward of each attention function on the same random q, k, v: timed in alternation
 * (see timeInterleaved) after a first run that measures its peak bytes (./measure). A function
 * that fails (e.g. the memory guard) records its error; the others are still measured.
 */
async function measureAttentions(fns: Array<(q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D>, n: number, heads: number, headDim: number, runs: number): Promise<Measured[]> {
  const shape: [number, number, number, number] = [1, heads, n, headDim];
  const q = tf.randomNormal(shape, 0, 1, 'float32', 1) as Tensor4D;
  const k = tf.randomNormal(shape, 0, 1, 'float32', 2) as Tensor4D;
  const v = tf.randomNormal(shape, 0, 1, 'float32', 3) as Tensor4D;
  const w = tf.randomNormal(shape, 0, 1, 'float32', 4);
  const stepOf = (fn: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D) => async () => {
    const grads = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(fn(a as Tensor4D, b as Tensor4D, c as Tensor4D), w)))([q, k, v]));
    try {
      // asynchronous reads: webgpu in Node has no synchronous one
      for (const g of grads) await g.data();
    } finally {
      tf.dispose(grads);
    }
  };
  const results: Measured[] = [];
  const runnable: Array<{ index: number; step: () => Promise<void> }> = [];
  try {
    for (const [index, fn] of fns.entries()) {
      const step = stepOf(fn);
      try {
        const peak = await measurePeakBytes(step); // also the warm-up
        results[index] = { ms: null, peakBytes: peak.peakBytes, error: null };
        runnable.push({ index, step });
      } catch (e) {
        results[index] = { ms: null, peakBytes: null, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
      }
    }
    const timings = await timeInterleaved(runnable.map((r) => r.step), { warmup: 0, runs });
    runnable.forEach((r, i) => (results[r.index].ms = timings[i].medianMs));
    return results;
  } finally {
    tf.dispose([q, k, v, w]);
  }
}

/** One attention function under test: `[B, H, N, D]` q, k, v in, `[B, H, N, D]` out. */
export type AttentionFn = (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D;

/**
 * Forward + backward of each named attention function on the same random `[1, heads, n, headDim]`
 * inputs, timed in alternation: median ms, peak bytes, or the error that stopped it.
 */
export async function timeAttentionFunctions(
  fns: Record<string, AttentionFn>,
  n: number,
  { heads = 8, headDim = 64, runs = 5 }: { heads?: number; headDim?: number; runs?: number } = {},
): Promise<Record<string, Measured>> {
  if (fns === null || typeof fns !== 'object') throw new Error(`timeAttentionFunctions: fns must be an object { name: (q, k, v) => output }, got ${describe(fns)}`);
  const names = Object.keys(fns);
  const notFunction = names.find((k) => typeof fns[k] !== 'function');
  if (notFunction !== undefined) throw new Error(`timeAttentionFunctions: fns.${notFunction} = ${describe(fns[notFunction])} must be a function (q, k, v) => output`);
  checkPositiveInt('timeAttentionFunctions', 'n', n);
  const measured = await measureAttentions(names.map((k) => fns[k]), n, heads, headDim, runs);
  return Object.fromEntries(names.map((k, i) => [k, measured[i]]));
}

/**
 * Attention forward + backward, batch 1, `heads` x `headDim`, full causal vs S2-Attn ('offset',
 * G = N/4), at each sequence length; a length that does not fit records null and the reason.
 */
export async function benchAttention(
  seqLens: number[],
  options: { heads?: number; headDim?: number; runs?: number; log?: (line: string) => void } = {},
): Promise<AttentionBenchEntry[]> {
  checkKnownKeys('benchAttention', options, ['heads', 'headDim', 'runs', 'log']);
  const { heads = 8, headDim = 64, runs, log = () => undefined } = options;
  // up front: G = N/4 must be an even integer, so N a multiple of 8 (else S2 fails only after full attention ran)
  if (!Array.isArray(seqLens) || seqLens.length === 0 || seqLens.some((n) => !Number.isInteger(n) || n < 8 || n % 8 !== 0)) {
    throw new Error(`benchAttention: seqLens = ${describeValue(seqLens)} must be a non-empty list of multiples of 8 (S2-Attn uses G = N/4, which must be even), e.g. [1024, 2048]`);
  }
  const rows: AttentionBenchEntry[] = [];
  for (const n of seqLens) {
    const groupSize = n / 4;
    const [full, s2] = await measureAttentions([(q, k, v) => causalAttention(q, k, v), (q, k, v) => shiftedSparseAttention(q, k, v, { groupSize })], n, heads, headDim, runs ?? (n <= 2048 ? 7 : 3));
    rows.push({ seqLen: n, groupSize, heads, headDim, fullMs: full.ms, s2Ms: s2.ms, fullPeakBytes: full.peakBytes, s2PeakBytes: s2.peakBytes, fullError: full.error, s2Error: s2.error });
    log(`attention N=${n}: full ${full.ms?.toFixed(0) ?? full.error} ms, S2 ${s2.ms?.toFixed(0) ?? s2.error} ms`);
  }
  return rows;
}

/** Runs every benchmark section for the active (or default) backend and returns the report. */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  // checked before anything runs: a misspelt { quik: true } would otherwise start the full bench
  checkKnownKeys('runBench', options, ['quick', 'log']);
  const { quick = false, log = () => undefined } = options;
  if (typeof quick !== 'boolean') throw new Error(`runBench: quick = ${describe(quick)} must be true or false`);
  await ready();
  const info = backendInfo();
  log(`backend ${info.name}, ${info.threads} thread(s): ${info.reason}`);
  const matmulAtStart = await measureMatmulGflops();
  log(`matmul ${MATMUL_N}^3: ${matmulAtStart.toFixed(1)} GFLOP/s`);
  const attention = await benchAttention(quick ? [1024, 2048] : [1024, 2048, 4096], { log });
  const steps = quick ? 2 : 5;
  // at the lengths where S2 and full are compared, their steps alternate (one ratio, same minutes)
  const trainStep = [
    ...(await benchTrainStep({ seqLens: [256, 512], attention: 'full', steps, log })),
    ...(await benchTrainStep({ seqLens: [1024, 2048], attention: ['full', 's2'], steps, log })),
  ].sort((a, b) => Number(a.attention === 's2') - Number(b.attention === 's2') || a.seqLen - b.seqLen);
  // measured again after the training steps: a shared machine's slow spell at the start would
  // otherwise understate what the backend can do (and overstate '% of matmul')
  const matmulAfterSteps = await measureMatmulGflops();
  const matmulGflops = Math.max(matmulAtStart, matmulAfterSteps);
  log(`matmul ${MATMUL_N}^3 again: ${matmulAfterSteps.toFixed(1)} GFLOP/s; reporting the faster, ${matmulGflops.toFixed(1)}`);
  const { result: maxLength, probes } = await maxTrainableSeqLen({ log });
  // last: right after the child process, S2-Attn's many short multi-threaded calls measured 10-15%
  // slower in this process for several seconds (its worker threads had gone idle), full attention not
  const byThreads: Record<string, number> = { [String(info.threads)]: matmulGflops };
  if (info.name === 'wasm' && info.threads !== 1) {
    byThreads['1'] = await matmulGflopsInChild(1);
    log(`matmul ${MATMUL_N}^3 with 1 thread: ${byThreads['1'].toFixed(1)} GFLOP/s`);
  }
  return {
    backend: info.name,
    threads: info.threads,
    native: info.native ?? null,
    matmulGflops,
    matmulGflopsSamples: [matmulAtStart, matmulAfterSteps],
    matmulGflopsByThreads: byThreads,
    attention,
    trainStep,
    maxTrainableSeqLen: maxLength,
    maxTrainableProbes: probes,
    quick,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
  };
}

/**
 * Vega-lite figure of the training step's time and memory by sequence length, full attention vs
 * S2-Attn (presets.small), from a report's `trainStep` rows and the maxTrainableSeqLen probes, with
 * the memory model's prediction as a dashed line.
 */
export function costByLengthFigure(r: BenchReport): VegaLiteSpec {
  const rows: Array<Record<string, string | number>> = [];
  for (const t of r.trainStep) {
    const attention = t.attention === 's2' ? 'S2-Attn' : 'full';
    rows.push({ seqLen: t.seqLen, attention, panel: 'step time (s)', value: t.seqLen / t.tokensPerSec, kind: 'measured' });
    rows.push({ seqLen: t.seqLen, attention, panel: 'peak memory (GiB)', value: t.peakBytes / 2 ** 30, kind: 'measured' });
  }
  for (const p of r.maxTrainableProbes) {
    rows.push({ seqLen: p.seqLen, attention: p.attention === 's2' ? 'S2-Attn' : 'full', panel: 'peak memory (GiB)', value: p.measuredBytes / 2 ** 30, kind: 'measured' });
  }
  const lengths = [...new Set(rows.map((x) => Number(x.seqLen)))].sort((a, b) => a - b);
  for (const attention of ['full', 's2'] as const) {
    for (const n of lengths) {
      rows.push({ seqLen: n, attention: attention === 's2' ? 'S2-Attn' : 'full', panel: 'peak memory (GiB)', value: trainingMemory(presets.small, n, { attention }).total / 2 ** 30, kind: 'memory model' });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `presets.small training step by length (${r.backend}, ${r.threads} thread(s))`,
    data: { values: rows },
    facet: { column: { field: 'panel', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'measured'" }],
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'seqLen', type: 'quantitative', title: 'sequence length (tokens)' },
            y: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'attention', type: 'nominal' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'memory model'" }],
          mark: { type: 'line', strokeDash: [4, 3], opacity: 0.7 },
          encoding: { x: { field: 'seqLen', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, color: { field: 'attention', type: 'nominal' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as VegaLiteSpec;
}

function fmt(x: number | null, digits = 1): string {
  return x === null ? '—' : x.toFixed(digits);
}

/** The report as Markdown tables (what `npm run bench` prints). */
export function benchMarkdown(r: BenchReport): string {
  const lines = [
    `## Benchmark (${r.quick ? 'quick' : 'full'}): ${r.backend}${r.native ? ` (libtensorflow ${r.native.libtensorflow}, oneDNN ${r.native.onednn ? 'on' : 'off'})` : ''}, ${r.threads} thread(s), ${r.machine.cpus} CPUs (${r.machine.cpuModel}), Node ${r.machine.node}`,
    '',
    '| matmul 1024³ | GFLOP/s |',
    '|---|---|',
    ...Object.entries(r.matmulGflopsByThreads)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([t, g]) => `| ${t} thread(s) | ${fmt(g)} |`),
  ];
  if (r.attention.length > 0) {
    lines.push('', '| attention fwd+bwd | seq | G | heads×dim | full ms | S2 ms | speed-up | full peak MiB | S2 peak MiB |', '|---|---|---|---|---|---|---|---|---|');
    for (const a of r.attention) {
      const speedup = a.fullMs !== null && a.s2Ms !== null ? `${(a.fullMs / a.s2Ms).toFixed(2)}x` : a.fullError ?? a.s2Error ?? '—';
      const mib = (b: number | null) => (b === null ? '—' : (b / 2 ** 20).toFixed(0));
      lines.push(`| | ${a.seqLen} | ${a.groupSize} | ${a.heads}×${a.headDim} | ${fmt(a.fullMs, 0)} | ${fmt(a.s2Ms, 0)} | ${speedup} | ${mib(a.fullPeakBytes)} | ${mib(a.s2PeakBytes)} |`);
    }
  }
  if (r.trainStep.length > 0) {
    lines.push('', '| train step (presets.small) | seq | attention | ms | tokens/s | GFLOP/s | % of matmul | peak MiB | model MiB |', '|---|---|---|---|---|---|---|---|---|');
    for (const t of r.trainStep) {
      const predicted = trainingMemory(presets.small, t.seqLen, { attention: t.attention === 's2' ? 's2' : 'full' }).total;
      lines.push(
        `| | ${t.seqLen} | ${t.attention} | ${fmt((1000 * t.seqLen) / t.tokensPerSec, 0)} | ${fmt(t.tokensPerSec, 0)} | ${fmt(t.achievedGflops)} | ${fmt((100 * t.achievedGflops) / r.matmulGflops, 0)}% | ${(t.peakBytes / 2 ** 20).toFixed(0)} | ${(predicted / 2 ** 20).toFixed(0)} |`,
      );
    }
  }
  const pairs = r.trainStep
    .filter((t) => t.attention === 's2')
    .map((s2) => [r.trainStep.find((t) => t.attention === 'full' && t.seqLen === s2.seqLen), s2] as const)
    .filter((p): p is readonly [TrainStepBenchEntry, TrainStepBenchEntry] => p[0] !== undefined);
  if (pairs.length > 0) {
    lines.push(
      '',
      'S2-Attn against full attention in a training step, ours (this run, presets.small, base context 256, full fine-tuning) beside the paper (v3 Table 13: Llama-2 7B, base context 4096, LoRA+, without Flash-Attention2, 1000 steps on 8x A100):',
      '',
      '| | context | S2 speed-up | S2 memory saving | FLOPs model speed-up |',
      '|---|---|---|---|---|',
      ...pairs.map(([full, s2]) => {
        const model = trainingStepFlops(presets.small, full.seqLen, 1, { attention: 'full' }) / trainingStepFlops(presets.small, full.seqLen, 1, { attention: 's2' });
        return `| ours | ${full.seqLen} | ${fmt(s2.tokensPerSec / full.tokensPerSec, 2)}x | ${fmt(full.peakBytes / s2.peakBytes, 2)}x | ${fmt(model, 2)}x |`;
      }),
      `| paper | 8192 | ${fmt(17.5 / 8.2, 2)}x (17.5 h -> 8.2 h) | ${fmt(55.5 / 30.3, 2)}x (55.5 GB -> 30.3 GB) | — |`,
      '| paper | 16384 | full attention out of memory; S2-Attn 20.8 h, 57.1 GB | | — |',
    );
  }
  if (r.maxTrainableSeqLen !== null) {
    const m = r.maxTrainableSeqLen;
    lines.push('', `Longest presets.small training step within ${(m.budgetBytes / 2 ** 30).toFixed(1)} GiB of tensor memory (lengths in steps of ${m.step}): full attention ${m.full}, S2-Attn ${m.s2} (${(m.s2 / m.full).toFixed(2)}x).`);
    if (r.maxTrainableProbes.length > 0) {
      lines.push('', '| measured step | seq | attention | peak MiB | model MiB | fits |', '|---|---|---|---|---|---|');
      for (const p of r.maxTrainableProbes) {
        lines.push(`| | ${p.seqLen} | ${p.attention} | ${(p.measuredBytes / 2 ** 20).toFixed(0)} | ${(p.predictedBytes / 2 ** 20).toFixed(0)} | ${p.fits ? 'yes' : 'no'} |`);
      }
    }
  }
  return lines.join('\n');
}
