/**
 * The trainer's configuration: typed, with LongLoRA's recipe as the defaults (reference §3.2: the
 * README command for `fine-tune.py` run through HF `TrainingArguments`), checked at run time.
 */
import { SCHEDULE_NAMES } from './schedule';
import type { ScheduleName } from './schedule';
import type { ProgressMode } from './progress';
import { checkKnownKeys, describe } from '../util/options';
import { TRAINABLE_SETS } from '../lora';
import type { TrainableSelection } from '../lora';

export type { TrainableSelection } from '../lora';

/** Everything that shapes a training run. */
export interface TrainConfig {
  /** Optimizer updates to run (HF `max_steps`; LongLoRA 1000). Required. */
  steps: number;
  /** Peak learning rate (LongLoRA 2e-5 for 7B/13B). */
  lr: number;
  /** HF `lr_scheduler_type` (LongLoRA `constant_with_warmup`). */
  schedule: ScheduleName;
  /** Linear warmup steps (LongLoRA 20). */
  warmupSteps: number;
  /** AdamW betas: HF default [0.9, 0.999] (what the README run uses); the paper states [0.9, 0.95]. */
  betas: [number, number];
  /** AdamW eps (HF `adam_epsilon` 1e-8); must be > 0 (see lib/train/adamw). */
  eps: number;
  /** Decoupled weight decay (LongLoRA 0). */
  weightDecay: number;
  /** Micro-batches per update, gradients averaged (LongLoRA 8 at batch 1). */
  gradAccumSteps: number;
  /** Clip gradients to this global L2 norm (HF `max_grad_norm` 1.0); null: no clipping. */
  maxGradNorm: number | null;
  /**
   * Trainable parameters; the rest stay frozen (no gradient is computed for them). Unset: the
   * model's own `trainableNames` (what `longLora` chose), else every parameter.
   */
  trainable: TrainableSelection;
  /** Where `checkpoint-<step>/` directories go; null: no checkpoints. */
  checkpointDir: string | null;
  /** Save every this many updates (and after the last); 0: only after the last. */
  checkpointEvery: number;
  /** Keep only the newest this many checkpoints (HF `save_total_limit`); null: keep all. */
  keepCheckpoints: number | null;
  /** Run the `evaluate` hook every this many updates (and after the last); 0: only after the last. */
  evalEvery: number;
  /** Progress output; `auto` draws a bar on a terminal and plain lines elsewhere. */
  progress: ProgressMode;
  /** Plain progress lines every this many updates. */
  logEvery: number;
}

/** LongLoRA's recipe (reference §3.2), except `steps`, which every run sets. */
export const LONGLORA_TRAIN_DEFAULTS: Readonly<Omit<TrainConfig, 'steps'>> = Object.freeze({
  lr: 2e-5,
  schedule: 'constant_with_warmup' as ScheduleName,
  warmupSteps: 20,
  betas: [0.9, 0.999] as [number, number],
  eps: 1e-8,
  weightDecay: 0,
  gradAccumSteps: 8,
  maxGradNorm: 1.0,
  trainable: null,
  checkpointDir: null,
  checkpointEvery: 0,
  keepCheckpoints: null,
  evalEvery: 0,
  progress: 'auto' as ProgressMode,
  logEvery: 10,
});

/** A run's options: `steps` plus any overrides of `LONGLORA_TRAIN_DEFAULTS`. */
export type TrainOptions = Partial<TrainConfig> & { steps: number };

function isCount(x: unknown, min: number): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= min;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Completes and validates a run's options (unknown keys and bad values are errors naming the fix). */
export function resolveTrainConfig(options: TrainOptions): TrainConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`train config: options = ${describe(options)} must be an object with at least steps, e.g. { steps: 1000 }`);
  }
  checkKnownKeys('train config', options, ['steps', ...Object.keys(LONGLORA_TRAIN_DEFAULTS)]);
  if (options.steps === undefined) throw new Error('train config: steps is required: the number of optimizer updates, e.g. { steps: 1000 } (LongLoRA: 1000)');
  const betas: unknown = options.betas ?? LONGLORA_TRAIN_DEFAULTS.betas;
  const bad = (key: string, value: unknown, rule: string) => new Error(`train config: ${key} = ${describe(value)} ${rule}`);
  if (!(Array.isArray(betas) && betas.length === 2 && betas.every((b) => isNumber(b) && b >= 0 && b < 1))) {
    const shown = Array.isArray(betas) ? `[${betas.map((b) => describe(b)).join(', ')}]` : describe(betas);
    throw new Error(`train config: betas = ${shown} must be two numbers in [0, 1), e.g. [0.9, 0.999] (HF) or [0.9, 0.95] (the paper)`);
  }
  const c: TrainConfig = { ...LONGLORA_TRAIN_DEFAULTS, ...options, betas: [...betas] as [number, number] };
  if (!isCount(c.steps, 1)) throw bad('steps', c.steps, 'must be an integer >= 1 (the number of optimizer updates)');
  if (!(isNumber(c.lr) && c.lr >= 0)) throw bad('lr', c.lr, 'must be a finite number >= 0 (LongLoRA: 2e-5)');
  if (!(SCHEDULE_NAMES as readonly string[]).includes(c.schedule)) throw bad('schedule', c.schedule, `must be one of ${SCHEDULE_NAMES.join(', ')}`);
  if (!isCount(c.warmupSteps, 0)) throw bad('warmupSteps', c.warmupSteps, 'must be an integer >= 0 (LongLoRA: 20)');
  if (!(isNumber(c.eps) && c.eps > 0)) throw bad('eps', c.eps, 'must be a finite number > 0 (HF: 1e-8): AdamW divides by sqrt(v) + eps, which is 0 for a weight whose gradient has always been 0');
  if (!(isNumber(c.weightDecay) && c.weightDecay >= 0)) throw bad('weightDecay', c.weightDecay, 'must be a finite number >= 0 (LongLoRA: 0)');
  if (!isCount(c.gradAccumSteps, 1)) throw bad('gradAccumSteps', c.gradAccumSteps, 'must be an integer >= 1 (LongLoRA: 8)');
  if (c.maxGradNorm !== null && !(isNumber(c.maxGradNorm) && c.maxGradNorm > 0)) {
    throw bad('maxGradNorm', c.maxGradNorm, 'must be a finite number > 0 (HF: 1.0), or null for no clipping');
  }
  const t: unknown = c.trainable;
  const isSet = typeof t === 'string' && (TRAINABLE_SETS as readonly string[]).includes(t);
  if (!(t === null || isSet || typeof t === 'function' || (Array.isArray(t) && t.every((x) => typeof x === 'string')))) {
    throw bad('trainable', t, `must be a trainable set (${TRAINABLE_SETS.map((x) => `'${x}'`).join(', ')}), null (all), a list of parameter names, or a predicate (name) => boolean`);
  }
  if (c.checkpointDir !== null && (typeof c.checkpointDir !== 'string' || c.checkpointDir === '')) {
    throw bad('checkpointDir', c.checkpointDir, 'must be a directory path, or null for no checkpoints');
  }
  if (!isCount(c.checkpointEvery, 0)) throw bad('checkpointEvery', c.checkpointEvery, 'must be an integer >= 0 (0: only after the last step)');
  if (c.keepCheckpoints !== null && !isCount(c.keepCheckpoints, 1)) throw bad('keepCheckpoints', c.keepCheckpoints, 'must be an integer >= 1, or null to keep all');
  if (!isCount(c.evalEvery, 0)) throw bad('evalEvery', c.evalEvery, 'must be an integer >= 0 (0: only after the last step)');
  if (!['auto', 'bar', 'lines', 'silent'].includes(c.progress)) throw bad('progress', c.progress, 'must be one of auto, bar, lines, silent');
  if (!isCount(c.logEvery, 1)) throw bad('logEvery', c.logEvery, 'must be an integer >= 1');
  return c;
}

/**
 * A predicate in the style of LongLoRA's `--trainable_params "embed,norm"`: a parameter trains when
 * its name contains any of `substrings` (fine-tune.py: `any(k in n for k in trainable_params)`).
 */
export function nameContains(substrings: string[]): (name: string) => boolean {
  if (!Array.isArray(substrings) || substrings.length === 0 || substrings.some((s) => typeof s !== 'string' || s === '')) {
    throw new Error(`nameContains: substrings = ${JSON.stringify(substrings)} must be a non-empty list of non-empty strings, e.g. ['embed', 'norm']`);
  }
  return (name: string) => substrings.some((s) => name.includes(s));
}
