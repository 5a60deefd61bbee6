/**
 * The `trainStep` section of `npm run bench`: one full training update (forward, backward, clip,
 * AdamW; every parameter trainable) of a Llama config at several sequence lengths, batch 1.
 *
 *   tokensPerSec   = seqLen / median step time
 *   achievedGflops = 3 x forward FLOPs (lib/cost flopsBreakdown) / median step time (backward ~ 2x forward; 2 FLOPs per MAC)
 *   peakBytes      = the most tensor bytes alive during one step (weights, AdamW state and
 *                    activations together), from the wasm allocations (lib/cost measurePeakBytes;
 *                    tf.profile elsewhere)
 *
 * Sequences longer than the config's context are reached as LongLoRA does, with linear position
 * interpolation (`ropeScaling: { type: 'linear', factor: seqLen / maxPositionEmbeddings }`), which
 * changes no cost. Tokens are a fixed pseudo-random stream (values do not change the cost).
 */
import type { TrainStepBenchEntry } from './types';
import { LlamaForCausalLM, makeConfig, presets } from '../model';
import type { LlamaConfig } from '../model';
import type { AttentionSpec } from '../attention';
import { trainingStepFlops } from '../cost/flops';
import { measurePeakBytes } from './measure';
import { median } from './timing';
import { clearMaskCache } from '../attention';
import { clearRopeCache } from '../model/rope';
import { Trainer } from '../train/trainer';
import { describe } from '../util/options';
import type { BatchSource, TrainBatch } from '../train/trainer';

/** Options of `benchTrainStep`. */
export interface TrainStepBenchOptions {
  /** Model config (default presets.small). */
  config?: LlamaConfig;
  /** Sequence lengths (default [256, 512, 1024]). */
  seqLens?: number[];
  /**
   * `'full'` (dense causal), `'s2'` (S2-Attn, G = N/4, the official flash path's `'offset'`
   * segments) or `'s2-roll'` (the paper's Algorithm 1, the official non-flash path), or several
   * (`['full', 's2']`: their steps alternate, for a ratio taken over the same minutes); default 'full'.
   */
  attention?: BenchAttention | BenchAttention[];
  /** Timed steps per length; the median is reported (default 3). */
  steps?: number;
  /** Untimed steps first (default 1). */
  warmup?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Seeded pseudo-random token windows (an LCG), resumable like any batch source: values do not change the cost. */
export class SyntheticBatches implements BatchSource {
  private state_ = 12345;
  constructor(private readonly seqLen: number, private readonly vocab: number, private readonly batchSize = 1) {}
  next(): TrainBatch {
    const ids = new Int32Array(this.batchSize * this.seqLen);
    for (let i = 0; i < ids.length; i++) {
      this.state_ = (Math.imul(this.state_, 1664525) + 1013904223) >>> 0;
      ids[i] = this.state_ % this.vocab;
    }
    return { inputIds: ids, batchSize: this.batchSize, seqLen: this.seqLen };
  }
  state(): number {
    return this.state_;
  }
  restore(s: number): void {
    this.state_ = s;
  }
}

/** Frees the cached RoPE tables and masks, so a measured peak holds only the current length's. */
export function clearCachedConstants(): void {
  clearRopeCache();
  clearMaskCache();
}

/** The attentions a training step is benchmarked with. */
export type BenchAttention = 'full' | 's2' | 's2-roll';
const BENCH_ATTENTIONS: readonly BenchAttention[] = ['full', 's2', 's2-roll'];

/** `config` able to run `seqLen` tokens with `attention` (position interpolation past its context). */
export function benchConfig(config: LlamaConfig, seqLen: number, attention: BenchAttention): LlamaConfig {
  const spec: AttentionSpec = attention === 'full' ? { kind: 'full' } : { kind: 's2', variant: attention === 's2-roll' ? 'roll' : 'offset' };
  const factor = seqLen / config.maxPositionEmbeddings;
  return makeConfig(config, { attention: spec, ropeScaling: factor > 1 ? { type: 'linear', factor } : config.ropeScaling });
}

/** A seeded model of `config` at `seqLen` with `attention`, and a trainer over synthetic tokens. */
function benchTrainer(config: LlamaConfig, seqLen: number, attention: BenchAttention, steps: number): { trainer: Trainer; model: LlamaForCausalLM; dispose: () => void } {
  const cfg = benchConfig(config, seqLen, attention);
  const model = LlamaForCausalLM.create(cfg, { seed: 0 });
  // lr 0 after the first update would still do all the work; a small lr keeps the numbers sane.
  const trainer = new Trainer(model, new SyntheticBatches(seqLen, cfg.vocabSize), {
    steps,
    lr: 1e-4,
    warmupSteps: 0,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
  return {
    trainer,
    model,
    dispose: () => {
      trainer.dispose();
      model.dispose();
    },
  };
}

/**
 * Times full training steps of `config` (default presets.small) at each length; see the file
 * comment for the three numbers. With several attentions (`attention: ['full', 's2']`) their steps
 * alternate at each length (full, S2, full, S2, ...), so that their ratio compares the same minutes
 * of a noisy machine. Peaks are measured first, one model alive at a time.
 */
export async function benchTrainStep(options: TrainStepBenchOptions = {}): Promise<TrainStepBenchEntry[]> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new Error(`benchTrainStep: options must be an object, got ${describe(options)}`);
  const known = ['config', 'seqLens', 'attention', 'steps', 'warmup', 'log'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`benchTrainStep: unknown option(s) ${unknown.join(', ')}; options are ${known.join(', ')}`);
  const { config = presets.small, seqLens = [256, 512, 1024], attention = 'full', steps = 3, warmup = 1, log = () => undefined } = options;
  const kinds: BenchAttention[] = Array.isArray(attention) ? attention : [attention];
  for (const kind of kinds) if (!BENCH_ATTENTIONS.includes(kind)) throw new Error(`benchTrainStep: attention = '${String(kind)}' must be one of ${BENCH_ATTENTIONS.join(', ')}`);
  if (kinds.length === 0 || new Set(kinds).size !== kinds.length) throw new Error(`benchTrainStep: attention = [${kinds.join(', ')}] must name some of ${BENCH_ATTENTIONS.join(', ')}, each once`);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`benchTrainStep: steps = ${steps} must be an integer >= 1`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error(`benchTrainStep: warmup = ${warmup} must be an integer >= 0`);
  // every length up front: a bad one after good ones would fail only after their (slow) steps ran
  if (!Array.isArray(seqLens) || seqLens.length === 0) throw new Error(`benchTrainStep: seqLens = ${describe(seqLens)} must be a non-empty list of sequence lengths, e.g. [256, 512]`);
  for (const seqLen of seqLens) {
    if (!(Number.isInteger(seqLen) && seqLen >= 2)) throw new Error(`benchTrainStep: seqLen ${describe(seqLen)} must be an integer >= 2`);
  }
  const entries: TrainStepBenchEntry[] = [];
  for (const seqLen of seqLens) {
    // peaks: one model alive at a time (another's weights and AdamW state would count in the peak),
    // and cached RoPE tables and masks of other lengths freed first
    const peaks: number[] = [];
    for (const kind of kinds) {
      clearCachedConstants();
      const run = benchTrainer(config, seqLen, kind, warmup + 2);
      try {
        for (let i = 0; i < warmup; i++) await run.trainer.trainStep();
        peaks.push((await measurePeakBytes(() => run.trainer.trainStep())).peakBytes);
      } finally {
        run.dispose();
      }
    }
    // times: every kind alive, steps alternating
    const runs = kinds.map((kind) => benchTrainer(config, seqLen, kind, warmup + steps + 1));
    try {
      for (const run of runs) for (let i = 0; i < warmup; i++) await run.trainer.trainStep();
      const times: number[][] = kinds.map(() => []);
      for (let i = 0; i < steps; i++) {
        for (const [j, run] of runs.entries()) times[j].push((await run.trainer.trainStep()).stepMs);
      }
      kinds.forEach((kind, j) => {
        const ms = median(times[j]);
        // 3 x forward FLOPs in the paper's convention; S2 counts N x G scores (G = N/4)
        const stepFlops = trainingStepFlops(runs[j].model.config, seqLen, 1, { attention: kind === 'full' ? 'full' : 's2' });
        const entry: TrainStepBenchEntry = {
          seqLen,
          attention: kind,
          tokensPerSec: (seqLen * 1000) / ms,
          achievedGflops: stepFlops / (ms * 1e6),
          peakBytes: peaks[j],
        };
        log(`train step ${kind} seq ${seqLen}: ${ms.toFixed(0)} ms median of ${steps}, ${entry.tokensPerSec.toFixed(0)} tok/s, ${entry.achievedGflops.toFixed(2)} GFLOP/s, peak ${(entry.peakBytes / 2 ** 20).toFixed(0)} MiB`);
        entries.push(entry);
      });
    } finally {
      for (const run of runs) run.dispose();
    }
  }
  return entries;
}
