/**
 * One row of the paper's fine-tuning tables in miniature: start from the pre-trained text base,
 * extend its context with position interpolation, fine-tune with a training-time attention and a
 * trainable set for a fixed number of updates, then evaluate with dense attention (and, where a
 * table asks, with the training attention too):
 *
 * - ordinary perplexity on held-out Moby Dick at the training length (eval.py protocol);
 * - the long-range measure (lib/eval `evaluateLongRange`): perplexity on a passage repeated at a
 *   distance of at least N/2, beside the same positions without the source.
 *
 * The fine-tuning data are State of the Union windows of N tokens, half of them with a passage
 * repeated at a distance of at least N/4 (lib/data `RepeatedPassageBatcher`): dependencies further
 * back than a group of G = N/4, which short attention cannot see during training and S2-Attn can
 * reach through its shifted heads (paper §3.2). Everything is bounded by update counts and seeded,
 * so a row is deterministic for its seed on a given backend.
 *
 * Tables 1, 2, 6, 7 and 8 (lib/experiments/tables.ts) are lists of such rows.
 */
import type { Tensor } from '../backend';
import { LlamaForCausalLM, extendContext } from '../model';
import type { AttentionSpec } from '../attention';
import type { TrainableSet } from '../lora';
import { Trainer } from '../train/trainer';
import { longLora } from '../train/longlora';
import type { BatchSource } from '../train/types';
import { RepeatedPassageBatcher, longRangeWindows } from '../data';
import type { LongRangeWindow } from '../data';
import { evaluatePerplexity } from '../eval/perplexity';
import { evaluateLongRange } from '../eval/long-range';
import type { LongRangeResult } from '../eval/long-range';

/** The fine-tuning recipe every row of a section shares. */
export interface FinetuneRecipe {
  /** Training (and evaluation) length N. */
  target: number;
  /** Updates of 1 x N tokens. */
  steps: number;
  /** Learning rate of full fine-tuning. */
  lr: number;
  /** Learning rate of the LoRA sets (they learn from a zero update). */
  loraLr: number;
  /** Linear warm-up updates, then constant (official `constant_with_warmup`). */
  warmupSteps: number;
  /** Share of training windows with a repeated passage. */
  repeatShare: number;
  /** Tokens in a repeated passage. */
  passageLength: number;
  /** Windows of the held-out perplexity (eval.py's windows, evenly spaced). */
  evalWindows: number;
  /** Windows of the long-range measure. */
  longRangeWindows: number;
}

/** One row: what trains, with which attention, from which seed. */
export interface FinetuneRow {
  /** Stable id (the resume key), e.g. 's2-full-seed1'. */
  id: string;
  /** What the table prints. */
  label: string;
  /** Training-time attention. */
  attention: AttentionSpec;
  trainable: TrainableSet;
  /** LoRA rank (default 8, the official r; alpha stays the official 16, so the scale alpha / r falls as r grows, as PEFT). */
  loraRank?: number;
  /** Seed of the data order and of LoRA's A (default 0). */
  seed?: number;
  /** Also evaluate with the training attention at test time (Table 6's first row). */
  evalOwn?: boolean;
  /** `false`: evaluate without fine-tuning: `'base'` as it is, `'pi'` after position interpolation only. */
  finetune?: false | 'base' | 'pi';
}

/** What a row measured. */
export interface FinetuneRowResult {
  id: string;
  label: string;
  seed: number;
  /** Held-out perplexity at the target, dense attention. */
  perplexity: number;
  /** The long-range measure, dense attention. */
  longRange: LongRangeResult;
  /** With the training attention at test time (rows with `evalOwn`). */
  own: { perplexity: number; longRange: LongRangeResult } | null;
  trainableParameters: number;
  /** Mean training loss of the last 20 updates (NaN without fine-tuning). */
  finalLoss: number;
  trainSeconds: number;
  evalSeconds: number;
}

/** The data every row of a section uses, built once. */
export interface FinetuneData {
  /** Training token stream (State of the Union). */
  training: Int32Array;
  /** Held-out tokens (Moby Dick, whitespace flattened as the training text). */
  heldOut: Int32Array;
  /** Long-range windows by length, fixed by one seed for every row. */
  windows(seqLen: number, count: number): LongRangeWindow[];
}

/** Builds `FinetuneData` over two token streams; the long-range windows come from the held-out text, seed 1234. */
export function finetuneData(training: Int32Array, heldOut: Int32Array): FinetuneData {
  const cache = new Map<string, LongRangeWindow[]>();
  return {
    training,
    heldOut,
    windows(seqLen, count) {
      const key = `${seqLen}x${count}`;
      if (!cache.has(key)) cache.set(key, longRangeWindows(heldOut, { seqLen, count, seed: 1234 }));
      return cache.get(key) as LongRangeWindow[];
    },
  };
}

/**
 * The fine-tuning loop's trainer: `steps` updates of one micro-batch, constant learning rate after
 * a linear warm-up (official `constant_with_warmup`), clipping at 1; `lr` for full fine-tuning,
 * `loraLr` when the run has LoRA adapters.
 */
export function finetuneTrainer(run: ReturnType<typeof longLora>, batches: BatchSource, recipe: Pick<FinetuneRecipe, 'steps' | 'lr' | 'loraLr' | 'warmupSteps'>): Trainer {
  return new Trainer(run, batches, {
    steps: recipe.steps,
    lr: run.lora === null ? recipe.lr : recipe.loraLr,
    schedule: 'constant_with_warmup',
    warmupSteps: recipe.warmupSteps,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
}

/** Progress within a row: update `step` of `steps` (called every few updates and at the end). */
export type RowProgress = (info: { step: number; steps: number; loss: number; phase: 'train' | 'eval' }) => void;

async function evaluateRow(model: LlamaForCausalLM, recipe: FinetuneRecipe, data: FinetuneData): Promise<{ perplexity: number; longRange: LongRangeResult }> {
  const [row] = await evaluatePerplexity(model, data.heldOut, { seqLens: [recipe.target], maxWindows: recipe.evalWindows, stride: Math.min(256, recipe.target), allowExtrapolation: true });
  const longRange = await evaluateLongRange(model, data.windows(recipe.target, recipe.longRangeWindows), { allowExtrapolation: true });
  return { perplexity: row.perplexity, longRange };
}

/**
 * Runs one row from `base` (left unchanged): see the file comment. Returns what it measured; the
 * models it makes are disposed.
 */
export async function runFinetuneRow(base: LlamaForCausalLM, row: FinetuneRow, recipe: FinetuneRecipe, data: FinetuneData, onProgress: RowProgress = () => undefined): Promise<FinetuneRowResult> {
  const seed = row.seed ?? 0;
  const model = LlamaForCausalLM.fromWeights(base.config, base.parameters); // a copy: rows never share weights
  const started = performance.now();
  try {
    if (row.finetune === 'base' || row.finetune === 'pi') {
      const evaluated = row.finetune === 'pi' ? extendContext(model, recipe.target, 'linear') : model;
      onProgress({ step: 0, steps: 0, loss: NaN, phase: 'eval' });
      const r = await evaluateRow(evaluated, recipe, data);
      if (evaluated !== model) evaluated.dispose();
      return { id: row.id, label: row.label, seed, ...r, own: null, trainableParameters: 0, finalLoss: NaN, trainSeconds: 0, evalSeconds: (performance.now() - started) / 1000 };
    }
    const run = longLora(model, { contextLength: recipe.target, scaling: 'linear', attention: row.attention, trainable: row.trainable, ...(row.trainable === 'full' ? {} : { lora: { r: row.loraRank ?? 8 } }), seed });
    try {
      const trainable = run.trainableNames.reduce((sum, n) => sum + (run.parameters.get(n) as Tensor).size, 0);
      const batches = new RepeatedPassageBatcher(data.training, {
        seqLen: recipe.target,
        batchSize: 1,
        share: recipe.repeatShare,
        passageLength: recipe.passageLength,
        minDistance: Math.floor(recipe.target / 4),
        seed: seed + 1,
      });
      const trainer = finetuneTrainer(run, batches, recipe);
      const losses: number[] = [];
      try {
        for (let i = 0; i < recipe.steps; i++) {
          const step = await trainer.trainStep();
          losses.push(step.loss);
          if ((i + 1) % 10 === 0 || i + 1 === recipe.steps) onProgress({ step: i + 1, steps: recipe.steps, loss: step.loss, phase: 'train' });
        }
      } finally {
        trainer.dispose();
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const evalStarted = performance.now();
      run.lora?.merge();
      // LongLoRA evaluates with dense attention
      const dense = run.model.withConfig({ attention: { kind: 'full' } });
      onProgress({ step: recipe.steps, steps: recipe.steps, loss: NaN, phase: 'eval' });
      const r = await evaluateRow(dense, recipe, data);
      dense.dispose();
      let own: FinetuneRowResult['own'] = null;
      if (row.evalOwn === true && row.attention.kind !== 'full') {
        const withOwn = run.model.withConfig({ attention: { ...row.attention, atInference: true } as AttentionSpec });
        own = await evaluateRow(withOwn, recipe, data);
        withOwn.dispose();
      }
      const tail = losses.slice(-20);
      return {
        id: row.id,
        label: row.label,
        seed,
        ...r,
        own,
        trainableParameters: trainable,
        finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
        trainSeconds,
        evalSeconds: (performance.now() - evalStarted) / 1000,
      };
    } finally {
      run.dispose();
    }
  } finally {
    model.dispose();
  }
}
