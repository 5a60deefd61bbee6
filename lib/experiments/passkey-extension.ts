/**
 * Passkey retrieval as context extension: the paper's Figure 4 question. Does a model extended by
 * LongLoRA retrieve a pass key beyond the context it was trained at?
 *
 * Start from the passkey base of `npm run pretrain` (presets.small; it retrieves at its own
 * context C = 512), then measure accuracy by prompt length and key depth for:
 *   (a) the base as it is, and the base with position interpolation only (PI to each length),
 *       at 1x, 2x and 4x its context;
 *   (b) the base extended 4x with LongLoRA: PI + S2-Attn + LoRA+, fine-tuned for a fixed number
 *       of updates on passkey prompts of every length up to 4C, alternating with text windows;
 *   (c) the same with full attention and full fine-tuning.
 * Evaluation is the official protocol (lib/eval `passkeyAccuracyAt`: the official prompt filled to
 * each length, greedy decoding with the KV cache, exact match, 5-digit keys), dense attention.
 * With 40 trials a cell's 95% interval is about +-15 points at 50%.
 */
import { LlamaForCausalLM, extendContext, effectiveContext } from '../model';
import type { AttentionSpec } from '../attention';
import type { TrainableSet } from '../lora';
import { longLora } from '../train/longlora';
import type { BatchSource, TrainBatch } from '../train/types';
import { WindowBatcher, passkeyTrainingExamples } from '../data';
import { passkeyAccuracyAt } from '../eval/passkey-table';
import { vegaLiteFigure } from '../viz/figure';
import type { Figure } from '../viz/figure';
import { PAPER_FIGURE4 } from './paper-tables';
import { readResultJson, resumable, runRecord, writeResultJson } from './run-record';
import type { RunRecord } from './run-record';
import { finetuneTrainer } from './finetune-rows';

/** Settings of the experiment. */
export interface PasskeyExtensionRecipe {
  /** The base's context C (its effective context). */
  baseContext: number;
  /** Extension factor of (b) and (c) (the issue's 4x). */
  factor: number;
  /** Prompt lengths evaluated (tokens). */
  lengths: number[];
  /** Trials per (model, length) cell. */
  trials: number;
  /** Fine-tuning updates of (b) and (c). */
  steps: number;
  lr: number;
  loraLr: number;
  warmupSteps: number;
  /** Share of updates that are passkey prompts (the rest: text windows). */
  passkeyShare: number;
}

export function passkeyExtensionRecipe(quick: boolean, baseContext: number): PasskeyExtensionRecipe {
  const factor = 4;
  if (quick) return { baseContext, factor, lengths: [baseContext, 2 * baseContext], trials: 2, steps: 2, lr: 2e-4, loraLr: 2e-3, warmupSteps: 1, passkeyShare: 0.5 };
  const c = baseContext;
  return { baseContext, factor, lengths: [c, (3 * c) / 2, 2 * c, 3 * c, 4 * c], trials: 40, steps: 200, lr: 2e-4, loraLr: 2e-3, warmupSteps: 20, passkeyShare: 0.5 };
}

/** One model's accuracy by length. */
export interface PasskeyModelRow {
  id: string;
  label: string;
  /** Context the model was trained (or interpolated) for. */
  context: number;
  byLength: Array<{ tokens: number; accuracy: number; byDepth: Array<number | null>; trials: number; beyond: boolean }>;
  trainSeconds: number;
  finalLoss: number;
}

export interface PasskeyExtensionResult extends RunRecord {
  recipe: PasskeyExtensionRecipe;
  rows: PasskeyModelRow[];
}

/** Alternates passkey prompts of `seqLen` (filler 10-100% of what fits) and text windows of `seqLen`. */
class PasskeyAndText implements BatchSource {
  private index = 0;
  constructor(private readonly seqLen: number, private readonly text: WindowBatcher, private readonly share: number, private readonly seed: number) {}
  next(): TrainBatch {
    const i = this.index++;
    // every 1/share-th update a text window; deterministic in the update index (resume-exact)
    const passkey = Math.floor((i + 1) * this.share) > Math.floor(i * this.share);
    if (!passkey) {
      const b = this.text.next();
      return { inputIds: b.inputIds, labels: b.labels, batchSize: 1, seqLen: this.seqLen };
    }
    const [ex] = passkeyTrainingExamples({ seqLen: this.seqLen, count: 1, start: i, seed: this.seed, keyDigits: [3, 5], filler: [0.1, 1], labels: 'retrieval' });
    return { inputIds: ex.inputIds, labels: ex.labels, batchSize: 1, seqLen: this.seqLen };
  }
  state(): unknown {
    return { index: this.index, text: this.text.state() };
  }
  restore(state: unknown): void {
    const s = state as { index: number; text: unknown };
    this.index = s.index;
    this.text.restore(s.text as never);
  }
}

function accuracyRow(model: LlamaForCausalLM, recipe: PasskeyExtensionRecipe, context: number, lengths = recipe.lengths): PasskeyModelRow['byLength'] {
  return lengths.map((tokens) => {
    const r = passkeyAccuracyAt(model, { promptTokens: tokens, trials: recipe.trials, seed: 7, allowExtrapolation: tokens > context });
    return { tokens, accuracy: r.accuracy, byDepth: r.byDepth, trials: r.trials, beyond: tokens > context };
  });
}

/** Options of {@link runPasskeyExtension}. */
export interface RunPasskeyExtensionOptions {
  base: LlamaForCausalLM;
  baseDescription: string;
  /** Text token stream for the text updates (State of the Union). */
  training: Int32Array;
  quick?: boolean;
  out: string;
  command: string;
  resume?: boolean;
  log?: (line: string) => void;
}

const FILE = 'passkey.json';

/** Runs (or resumes) the experiment; writes `<out>/passkey.json` after each model. */
export async function runPasskeyExtension(options: RunPasskeyExtensionOptions): Promise<PasskeyExtensionResult> {
  const { base, baseDescription, training, quick = false, out, command, resume = true, log = () => undefined } = options;
  const c = effectiveContext(base.config);
  const recipe = passkeyExtensionRecipe(quick, c);
  const target = recipe.factor * c;
  let previous: PasskeyExtensionResult | null = null;
  if (resume) {
    try {
      previous = readResultJson<PasskeyExtensionResult>(out, FILE, 'runPasskeyExtension', 'run again with --fresh');
    } catch {
      previous = null; // not readable: run again
    }
    if (!resumable(previous, { quick, base: baseDescription, recipe })) previous = null; // also the first round's from-scratch format
  }
  const plan: Array<{ id: string; label: string; attention?: AttentionSpec; trainable?: TrainableSet }> = [
    { id: 'base', label: `base (context ${c}), unchanged` },
    { id: 'pi', label: 'base + position interpolation to each length, no fine-tuning' },
    { id: 'longlora', label: `LongLoRA to ${target} (PI + S2-Attn + LoRA+)`, attention: { kind: 's2' }, trainable: 'lora+norm+embed' },
    { id: 'full-ft', label: `full attention + full fine-tuning to ${target} (PI)`, attention: { kind: 'full' }, trainable: 'full' },
  ];
  const kept = new Map((previous?.rows ?? []).map((r) => [r.id, r]));
  const result: PasskeyExtensionResult = {
    recipe,
    ...runRecord({ quick, base: baseDescription, command, planned: plan.map((p) => p.id), wallSeconds: previous?.wallSeconds ?? 0 }),
    rows: [],
  };
  const save = () => writeResultJson(out, FILE, result);
  for (const [k, p] of plan.entries()) {
    const have = kept.get(p.id);
    if (have !== undefined) {
      result.rows.push(have);
      continue;
    }
    const started = performance.now();
    log(`passkey [${k + 1}/${plan.length}] ${p.label}`);
    let row: PasskeyModelRow;
    if (p.id === 'base') {
      row = { id: p.id, label: p.label, context: c, byLength: accuracyRow(base, recipe, c), trainSeconds: 0, finalLoss: NaN };
    } else if (p.id === 'pi') {
      const byLength = recipe.lengths.map((tokens) => {
        const model = tokens > c ? extendContext(base, tokens, 'linear') : base;
        const [cell] = accuracyRow(model, recipe, Math.max(tokens, c), [tokens]);
        if (model !== base) model.dispose();
        return cell;
      });
      row = { id: p.id, label: p.label, context: target, byLength, trainSeconds: 0, finalLoss: NaN };
    } else {
      const copy = LlamaForCausalLM.fromWeights(base.config, base.parameters);
      const run = longLora(copy, { contextLength: target, scaling: 'linear', attention: p.attention, trainable: p.trainable, seed: 0 });
      const batches = new PasskeyAndText(target, new WindowBatcher(training, { seqLen: target, batchSize: 1, seed: 11 }), recipe.passkeyShare, 5);
      const trainer = finetuneTrainer(run, batches, recipe);
      const losses: number[] = [];
      for (let i = 0; i < recipe.steps; i++) {
        const s = await trainer.trainStep();
        losses.push(s.loss);
        if ((i + 1) % 20 === 0) {
          const elapsed = (performance.now() - started) / 1000;
          log(`passkey [${k + 1}/${plan.length}] update ${i + 1}/${recipe.steps}, loss ${s.loss.toFixed(3)}, ETA of this model's training ${((elapsed / (i + 1)) * (recipe.steps - i - 1)).toFixed(0)} s`);
        }
      }
      trainer.dispose();
      const trainSeconds = (performance.now() - started) / 1000;
      run.lora?.merge();
      const dense = run.model.withConfig({ attention: { kind: 'full' } });
      const byLength = accuracyRow(dense, recipe, target);
      dense.dispose();
      run.dispose();
      copy.dispose();
      const tail = losses.slice(-20);
      row = { id: p.id, label: p.label, context: target, byLength, trainSeconds, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length };
    }
    log(`passkey: ${p.label}: ${row.byLength.map((b) => `${b.tokens}: ${(100 * b.accuracy).toFixed(0)}%`).join(', ')}`);
    result.rows.push(row);
    result.wallSeconds += (performance.now() - started) / 1000;
    save();
  }
  result.complete = true;
  save();
  return result;
}

/** 95% Wilson interval half-width at accuracy p over n trials (what "+-15 points" means). */
export function wilsonHalfWidth(p: number, n: number): number {
  const z = 1.96;
  const d = 1 + (z * z) / n;
  return (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
}

/** The experiment as Markdown: accuracy by length (depth thirds beside), the paper's Figure 4 in words, and a conclusion from the numbers. */
export function passkeyExtensionMarkdown(r: PasskeyExtensionResult): string {
  const lengths = r.recipe.lengths;
  const c = r.recipe.baseContext;
  const pc = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(0)}%`);
  const lines = [
    '## Passkey retrieval as context extension (paper Figure 4)',
    '',
    `_${r.quick ? 'Quick run' : 'Run'} of ${r.date} on ${r.backend} (${r.threads} thread(s)), ${(r.wallSeconds / 60).toFixed(1)} min; \`${r.command}\`; keys and depths seed 7, fine-tuning seed 0._`,
    ...(r.quick ? ['', '**Quick smoke run of the pipeline: these numbers are not results.**'] : r.complete ? [] : ['', `**Partial: ${r.rows.length} of ${r.planned.length} models finished; rerun the command to resume.**`]),
    '',
    `| model | ${lengths.map((n) => `${n} (${n / c}x)`).join(' | ')} |`,
    `|---|${lengths.map(() => '---').join('|')}|`,
    ...r.rows.map((row) => `| ${row.label} | ${row.byLength.map((b) => `${pc(b.accuracy)} <sub>${b.byDepth.map(pc).join('/')}</sub>`).join(' | ')} |`),
    '',
    `Cells: accuracy over ${r.recipe.trials} trials (exact match of a 5-digit key), then by key depth [0, ⅓) / [⅓, ⅔) / [⅔, 1]. With ${r.recipe.trials} trials the 95% interval is about +-${(100 * wilsonHalfWidth(0.5, r.recipe.trials)).toFixed(0)} points at 50% (Wilson), so differences under about 20 points are not distinguishable.`,
    '',
    `How: ${r.base} (context ${c}); (a) as it is and with linear position interpolation to each length; (b) and (c) extended to ${r.recipe.factor * c} by position interpolation and fine-tuned for ${r.recipe.steps} updates of 1 x ${r.recipe.factor * c} tokens, alternating passkey prompts (3-5 digit keys, filler 10-100% of what fits, loss on the answer and the key's second mention) and State of the Union windows; AdamW, lr ${r.recipe.loraLr} (LoRA+) / ${r.recipe.lr} (full fine-tuning), ${r.recipe.warmupSteps} warm-up updates then constant. Evaluation: the official prompt filled to each length, greedy decoding with the KV cache, dense attention.`,
    '',
    PAPER_FIGURE4,
    '',
    ...passkeyExtensionConclusion(r),
  ];
  return lines.join('\n');
}

export function passkeyExtensionConclusion(r: PasskeyExtensionResult): string[] {
  const find = (id: string) => r.rows.find((x) => x.id === id);
  const [base, pi, ll, full] = ['base', 'pi', 'longlora', 'full-ft'].map(find);
  if (!base || !ll) return [];
  const c = r.recipe.baseContext;
  const at = (row: PasskeyModelRow, n: number) => row.byLength.find((b) => b.tokens === n)?.accuracy ?? NaN;
  const beyond = r.recipe.lengths.filter((n) => n > c);
  const mean = (row: PasskeyModelRow) => beyond.reduce((s, n) => s + at(row, n), 0) / beyond.length;
  const p = (x: number) => `${(100 * x).toFixed(0)}%`;
  const parts = [
    `At its own context (${c}) the base retrieves ${p(at(base, c))}; beyond it (${beyond.join(', ')}) it averages ${p(mean(base))} as it is${pi ? ` and ${p(mean(pi))} with position interpolation alone` : ''}.`,
    `Extended with LongLoRA it averages ${p(mean(ll))} over the same lengths${full ? `, full attention with full fine-tuning ${p(mean(full))}` : ''}.`,
    mean(ll) - Math.max(mean(base), pi ? mean(pi) : 0) > 0.2
      ? 'LongLoRA extends retrieval beyond the original context, as in the paper.'
      : mean(ll) - Math.max(mean(base), pi ? mean(pi) : 0) > 0.05
        ? 'LongLoRA improves retrieval beyond the original context, but by less than the interval width at this trial count.'
        : 'LongLoRA does not extend retrieval here, unlike the paper.',
  ];
  return [parts.join(' ')];
}

/** Accuracy by prompt length, one line per model (Figure 4's layout). */
export function passkeyExtensionFigure(r: PasskeyExtensionResult): Figure {
  const values = r.rows.flatMap((row) => row.byLength.map((b) => ({ model: row.label, tokens: b.tokens, accuracy: b.accuracy, low: Math.max(0, b.accuracy - wilsonHalfWidth(b.accuracy, b.trials)), high: Math.min(1, b.accuracy + wilsonHalfWidth(b.accuracy, b.trials)) })));
  const order = r.rows.map((row) => row.label);
  return vegaLiteFigure({
    title: { text: 'Passkey retrieval by prompt length (ours, miniature; paper Figure 4)', subtitle: r.quick ? 'quick smoke run: not results' : `${r.recipe.trials} trials per point; bars: 95% intervals; base context ${r.recipe.baseContext}` },
    data: { values },
    width: 520,
    height: 300,
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'tokens', type: 'quantitative', title: 'prompt length (tokens)' },
          y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '%' }, scale: { domain: [0, 1] } },
          color: { field: 'model', type: 'nominal', sort: order, title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 420 } },
          tooltip: [
            { field: 'model', type: 'nominal' },
            { field: 'tokens', type: 'quantitative' },
            { field: 'accuracy', type: 'quantitative', format: '.0%' },
          ],
        },
      },
      { mark: { type: 'rule', opacity: 0.5 }, encoding: { x: { field: 'tokens', type: 'quantitative' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'model', type: 'nominal', sort: order } } },
      { data: { values: [{ tokens: r.recipe.baseContext }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#666666' }, encoding: { x: { field: 'tokens', type: 'quantitative' } } },
    ],
  });
}
