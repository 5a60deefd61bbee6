/**
 * Context extension in miniature: the paper's Table 1 question on a model that fits a laptop.
 *
 * 1. Pre-train `presets.small` (context 256) on State of the Union addresses.
 * 2. Evaluate held-out Moby Dick perplexity (official eval.py protocol, dense attention) at the base
 *    context and beyond it (extrapolation: the "before extension" baseline).
 * 3. Extend the context by linear position interpolation (factor = ceil(target / 256), as LongLoRA)
 *    and fine-tune at the target length with each training-time attention: full, short (groups of
 *    G = N/4, no shift), S2-Attn (G = N/4, half the heads shifted) - full fine-tuning, as Table 1 -
 *    and LongLoRA proper (S2-Attn with LoRA+).
 * 4. Evaluate each with dense attention at every length.
 *
 * The paper's setting is Llama-2 7B fine-tuned on RedPajama to 8k-32k and evaluated on PG19; ours
 * is a 3.3M-parameter byte-level model, so only the pattern is comparable, never the values.
 */
import { tf } from '../backend';
import { LlamaForCausalLM, extendContext, presets } from '../model';
import type { LlamaConfig } from '../model';
import type { AttentionSpec } from '../attention';
import type { TrainableSet } from '../lora';
import { Trainer } from '../train/trainer';
import { longLora } from '../train/longlora';
import { buildTokenStream, sotuSplits, WindowBatcher, encode, mobyDickText, flattenWhitespace } from '../data';
import { evaluatePerplexity } from '../eval/perplexity';
import { pretrainTextBase, TEXT_BASE_DEFAULTS } from './pretrain';

export interface FinetuneVariant {
  name: string;
  attention: AttentionSpec;
  trainable: TrainableSet;
}

/** Table 1's three training-time attentions (full fine-tuning), then LongLoRA (S2-Attn + LoRA+). */
export const TABLE1_VARIANTS: FinetuneVariant[] = [
  { name: 'full attention, full FT', attention: { kind: 'full' }, trainable: 'full' },
  { name: 'short attention (no shift), full FT', attention: { kind: 'pattern', pattern: 'short' }, trainable: 'full' },
  { name: 'S2-Attn, full FT', attention: { kind: 's2' }, trainable: 'full' },
  { name: 'LongLoRA: S2-Attn + LoRA+', attention: { kind: 's2' }, trainable: 'lora+norm+embed' },
];

export interface ContextExtensionOptions {
  config?: LlamaConfig;
  /** Start from this pre-trained base (copied; the caller keeps it) instead of pre-training one with the text recipe. */
  base?: LlamaForCausalLM;
  /** Length to extend to and fine-tune at (default 1024). */
  target?: number;
  pretrainSteps?: number;
  pretrainBatch?: number;
  pretrainLr?: number;
  finetuneSteps?: number;
  finetuneLr?: number;
  /** LoRA+ learns from a zero update: a larger rate than full fine-tuning (default 4 x finetuneLr). */
  loraLr?: number;
  variants?: FinetuneVariant[];
  evalLengths?: number[];
  /** Windows per evaluation length (evenly spaced; reported with the result). */
  maxWindows?: number;
  stride?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ContextExtensionRow {
  model: string;
  /** Perplexity (eval.py's mean of window means) by evaluation length. */
  perplexity: Record<number, number>;
  trainSeconds: number;
}

export interface ContextExtensionResult {
  settings: Required<Omit<ContextExtensionOptions, 'config' | 'base' | 'log' | 'variants'>> & { variants: string[]; baseContext: number };
  /** How the base was made: pre-trained here (`pretrainTextBase`) or given (`options.base`, e.g. the cached text base). */
  pretrain: { steps: number; seconds: number; finalLoss: number; source: 'trained' | 'given' };
  rows: ContextExtensionRow[];
}


async function perplexityRow(model: LlamaForCausalLM, name: string, tokens: Int32Array, o: Required<Pick<ContextExtensionOptions, 'evalLengths' | 'maxWindows' | 'stride'>>, trainSeconds: number, log: (l: string) => void): Promise<ContextExtensionRow> {
  const table = await evaluatePerplexity(model, tokens, { seqLens: o.evalLengths, maxWindows: o.maxWindows, stride: o.stride, allowExtrapolation: true });
  const perplexity: Record<number, number> = {};
  for (const r of table) perplexity[r.seqLen] = r.perplexity;
  log(`${name}: ${table.map((r) => `${r.seqLen}: ${r.perplexity.toFixed(3)}`).join(', ')}`);
  return { model: name, perplexity, trainSeconds };
}

/** Runs the whole experiment (see the file comment); minutes on 2 cores at the defaults. */
export async function runContextExtension(options: ContextExtensionOptions = {}): Promise<ContextExtensionResult> {
  const {
    config = presets.small,
    target = 1024,
    pretrainSteps = TEXT_BASE_DEFAULTS.updates,
    pretrainBatch = TEXT_BASE_DEFAULTS.batchSize,
    pretrainLr = TEXT_BASE_DEFAULTS.lr,
    finetuneSteps = 80,
    finetuneLr = 5e-4,
    variants = TABLE1_VARIANTS,
    maxWindows = 6,
    stride = 256,
    seed = 0,
    log = () => undefined,
  } = options;
  const loraLr = options.loraLr ?? 4 * finetuneLr;
  const baseContext = (options.base?.config ?? config).maxPositionEmbeddings;
  const evalLengths = options.evalLengths ?? [baseContext, 2 * baseContext, target].filter((v, i, a) => a.indexOf(v) === i);
  const evalOpts = { evalLengths, maxWindows, stride };
  const heldOut = encode(flattenWhitespace(mobyDickText())); // as the training text: no line breaks
  const training = buildTokenStream(sotuSplits().train); // built once: 10.8M characters
  const sotuBatches = (seqLen: number, batchSize: number, batchSeed: number) => new WindowBatcher(training, { seqLen, batchSize, seed: batchSeed });
  const rows: ContextExtensionRow[] = [];

  // the text base's recipe (npm run pretrain), or a base the caller passes (e.g. the cached one)
  let pretrain: ContextExtensionResult['pretrain'];
  let base: LlamaForCausalLM;
  if (options.base !== undefined) {
    base = LlamaForCausalLM.fromWeights(options.base.config, options.base.parameters);
    pretrain = { steps: 0, seconds: 0, finalLoss: NaN, source: 'given' };
  } else {
    const trained = await pretrainTextBase({ config, updates: pretrainSteps, batchSize: pretrainBatch, lr: pretrainLr, seed });
    base = trained.model;
    const tail = trained.losses.slice(-50);
    pretrain = { steps: pretrainSteps, seconds: trained.seconds, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, source: 'trained' };
    log(`pre-trained the text base: ${pretrainSteps} updates, mean loss of the last 50 ${pretrain.finalLoss.toFixed(4)} (${trained.seconds.toFixed(0)} s)`);
  }
  // a snapshot of the pre-trained weights: every variant starts from it
  const snapshot = new Map([...base.parameters].map(([n, v]) => [n, tf.clone(v)]));
  rows.push(await perplexityRow(base, `base model (context ${baseContext}), no extension`, heldOut, evalOpts, 0, log));
  const extended = extendContext(base, target, 'linear');
  rows.push(await perplexityRow(extended, `position interpolation to ${target}, no fine-tuning`, heldOut, evalOpts, 0, log));
  extended.dispose();

  for (const variant of variants) {
    for (const [n, v] of base.parameters) v.assign(snapshot.get(n) as tf.Tensor);
    // position interpolation to the target, the variant's training attention and trainable set (LoRA for the LoRA sets)
    const run = longLora(base, { contextLength: target, scaling: 'linear', attention: variant.attention, trainable: variant.trainable, seed });
    const started = performance.now();
    const trainer = new Trainer(run, sotuBatches(target, 1, seed + 1), {
      steps: finetuneSteps,
      lr: run.lora === null ? finetuneLr : loraLr,
      schedule: 'constant_with_warmup',
      warmupSteps: Math.min(20, Math.floor(finetuneSteps / 5)),
      gradAccumSteps: 1,
      maxGradNorm: 1,
      progress: 'silent',
    });
    for (let i = 0; i < finetuneSteps; i++) await trainer.trainStep();
    trainer.dispose();
    const seconds = (performance.now() - started) / 1000;
    // evaluation: dense attention (LongLoRA evaluates with full attention), LoRA merged
    run.lora?.merge();
    const dense = run.model.withConfig({ attention: { kind: 'full' } });
    rows.push(await perplexityRow(dense, `fine-tuned at ${target}: ${variant.name}`, heldOut, evalOpts, seconds, log));
    dense.dispose();
    run.dispose();
  }
  base.dispose();
  tf.dispose([...snapshot.values()]);
  return {
    settings: { target, pretrainSteps, pretrainBatch, pretrainLr, finetuneSteps, finetuneLr, loraLr, evalLengths, maxWindows, stride, seed, variants: variants.map((v) => v.name), baseContext },
    pretrain,
    rows,
  };
}
