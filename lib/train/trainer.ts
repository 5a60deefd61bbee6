/**
 * The training loop: what HF `Trainer.train()` does for LongLoRA's `fine-tune.py` (reference §3.2),
 * on a frozen/trainable split of a model's named parameters:
 *
 *   for each update: gradAccumSteps micro-batches -> gradients of the trainable parameters only
 *   (`tf.variableGrads(f, trainable)`), averaged -> clip by global norm -> lr from the schedule ->
 *   AdamW -> log, callbacks, evaluation, checkpoint.
 *
 * The model is any `TrainableModel`; `longLora(...)` returns one with LongLoRA's set-up done (its
 * trainable set, a loss on the batch's host ids, its own memory estimate). The trainer reads nothing
 * else of the model: checkpoints save its parameters and config (./checkpoint), the memory guard
 * asks it what a batch costs (./memory).
 *
 * Deterministic: the trainer itself draws no random numbers; data order comes from the batch source
 * (seeded, with `state()/restore()`), weights from the model's seed, and the backends' kernels are
 * deterministic, so the same seeds give the same losses and `Trainer.resume` continues a run with
 * exactly the losses the uninterrupted run would have had.
 *
 * Divergence: a non-finite loss or gradient norm stops the run before the update is applied (the
 * weights stay as they were), and the result names the step and the last good checkpoint; a
 * checkpoint is never written from non-finite weights.
 */
import { tf } from '../backend';
import type { Variable } from '../backend';
import { selectTrainable } from '../lora';
import { AdamW } from './adamw';
import { clipCoefficient, globalNorm } from './clip';
import { resolveTrainConfig } from './config';
import type { TrainConfig, TrainOptions } from './config';
import { makeSchedule } from './schedule';
import type { LrLambda } from './schedule';
import { ProgressReporter } from './progress';
import { assertTrainStepFits, modelActivationBytes, trainStepBytes } from './memory';
import { checkTrainerInputs } from './inputs';
import { GradientAccumulator } from './gradients';
import * as ckpt from './checkpoint';
import type { BatchSource, Divergence, StepRecord, TrainableModel, TrainBatch, TrainResult } from './types';

export type { BatchSource, Divergence, StepRecord, TrainableModel, TrainBatch, TrainResult } from './types';

/** What `onStep` receives: the record plus the run's progress. */
export interface StepInfo extends StepRecord {
  totalSteps: number;
  /** Estimated time to the last step at this session's mean step time. */
  etaMs: number;
  /** The trainer (e.g. to `stop()` it from a notebook). */
  trainer: Trainer;
}

/** Callbacks; each may be async (the loop awaits it, so a notebook's live plot can redraw). */
export interface TrainHooks {
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Held-out loss of the model; run every `evalEvery` updates and after the last. */
  evaluate?: (model: TrainableModel) => number | Promise<number>;
  onEval?: (info: { step: number; evalLoss: number }) => void | Promise<void>;
  onCheckpoint?: (info: { step: number; path: string }) => void | Promise<void>;
  /** Where progress text goes (default: process.stderr). */
  write?: (text: string) => void;
}

/** Thrown by `trainStep()` when an update would be non-finite (`train()` returns it instead). */
export class TrainingDivergedError extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.message);
    this.name = 'TrainingDivergedError';
  }
}

type StepOutcome = { ok: true; record: StepRecord } | { ok: false; divergence: Divergence };

/** 2e-5 as "2e-5" rather than "0.00002"; 1e20 as "1e+20". */
function formatLr(lr: number): string {
  return lr !== 0 && (Math.abs(lr) >= 1e4 || Math.abs(lr) < 1e-3) ? lr.toExponential() : String(lr);
}

const nextTick = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Trains `model` on `data`. Construct, then `await train()`; or `await Trainer.resume(dir, ...)` to
 * continue from a checkpoint. Call `dispose()` when done to free the optimizer's state.
 */
export class Trainer {
  readonly model: TrainableModel;
  readonly data: BatchSource;
  readonly config: TrainConfig;
  /** The trainable parameters' names, in model order. */
  readonly trainableNames: string[];
  readonly optimizer: AdamW;
  /** Every update's record, across resumes. */
  readonly history: StepRecord[] = [];
  private readonly hooks: TrainHooks;
  private readonly schedule: LrLambda;
  private readonly varList: Variable[];
  private readonly gradients: GradientAccumulator;
  private stepsDone = 0;
  private trainingMs = 0;
  /** Batch shapes the memory guard has passed (`${batchSize}x${seqLen}`). */
  private readonly checkedShapes = new Set<string>();
  private stopRequested = false;
  private lastCheckpointPath: string | null = null;
  private lastEvalLoss: number | undefined;

  /**
   * `options.trainable` chooses what trains; unset, the model's own `trainableNames` (what
   * `longLora` chose), else every parameter.
   */
  constructor(model: TrainableModel, data: BatchSource, options: TrainOptions, hooks: TrainHooks = {}) {
    this.config = resolveTrainConfig(options);
    checkTrainerInputs(model, data, hooks);
    this.model = model;
    this.data = data;
    this.hooks = hooks;
    const selection = options.trainable !== undefined ? this.config.trainable : model.trainableNames ?? null;
    const trainable = selectTrainable(model.parameters, selection);
    this.trainableNames = [...trainable.keys()];
    this.varList = [...trainable.values()];
    const frozenFlag = this.trainableNames.filter((n, i) => !this.varList[i].trainable);
    if (frozenFlag.length > 0) {
      throw new Error(`Trainer: ${frozenFlag.join(', ')} selected as trainable but created with trainable=false; tf.variableGrads skips such variables, so create them trainable`);
    }
    this.gradients = new GradientAccumulator(model, trainable);
    this.optimizer = new AdamW(trainable, { lr: this.config.lr, betas: this.config.betas, eps: this.config.eps, weightDecay: this.config.weightDecay });
    this.schedule = makeSchedule(this.config.schedule, this.config.warmupSteps, this.config.steps);
  }

  /** Updates done so far. */
  get step(): number {
    return this.stepsDone;
  }

  /** Path of the newest checkpoint written (or resumed from), or null. */
  get lastCheckpoint(): string | null {
    return this.lastCheckpointPath;
  }

  /** The learning rate update `step` (0-based) uses: lr x schedule(step), HF LambdaLR semantics. */
  lrAt(step: number): number {
    return this.config.lr * this.schedule(step);
  }

  /** Asks `train()` to stop after the current update (e.g. from `onStep`). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Parameter element counts: the trainable ones and all of them. */
  parameterCounts(): { trainable: number; total: number } {
    let total = 0;
    for (const p of this.model.parameters.values()) total += p.size;
    return { trainable: this.varList.reduce((s, v) => s + v.size, 0), total };
  }

  /**
   * Runs updates until `config.steps` (or `stop()`, or divergence). Progress goes to the terminal
   * as configured; `onStep` runs after every update and is awaited.
   */
  async train(): Promise<TrainResult> {
    const { steps, evalEvery, checkpointDir, checkpointEvery } = this.config;
    const progress = new ProgressReporter({ mode: this.config.progress, every: this.config.logEvery, write: this.hooks.write });
    const { trainable, total } = this.parameterCounts();
    progress.message(
      this.stepsDone === 0
        ? `training ${trainable.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} parameters (${((100 * trainable) / total).toFixed(2)}%) for ${steps} steps`
        : `resuming at step ${this.stepsDone}/${steps}`,
    );
    this.stopRequested = false;
    const sessionStart = performance.now();
    const sessionStartStep = this.stepsDone;
    let divergence: Divergence | undefined;
    try {
      while (this.stepsDone < steps && !this.stopRequested) {
        const outcome = await this.runStep();
        if (!outcome.ok) {
          divergence = outcome.divergence;
          break;
        }
        const record = outcome.record;
        const last = this.stepsDone === steps;
        const every = (n: number) => n > 0 && this.stepsDone % n === 0;
        if (this.hooks.evaluate !== undefined && (last || every(evalEvery))) {
          record.evalLoss = this.lastEvalLoss = await this.hooks.evaluate(this.model);
          await this.hooks.onEval?.({ step: this.stepsDone, evalLoss: record.evalLoss });
        }
        const etaMs = ((steps - this.stepsDone) * (performance.now() - sessionStart)) / (this.stepsDone - sessionStartStep);
        progress.update({ ...record, totalSteps: steps, etaMs });
        await this.hooks.onStep?.({ ...record, totalSteps: steps, etaMs, trainer: this });
        if (checkpointDir !== null && (last || this.stopRequested || every(checkpointEvery)) && (await this.checkpointIfFinite(checkpointDir)) === null) {
          divergence = this.divergence(this.stepsDone, record.loss, record.gradNorm, 'the update left non-finite weights, so no checkpoint was written');
          break;
        }
        await nextTick();
      }
      if (divergence !== undefined) progress.message(divergence.message);
    } finally {
      progress.finish();
    }
    return {
      status: divergence !== undefined ? 'diverged' : this.stepsDone < steps ? 'stopped' : 'completed',
      steps: this.stepsDone,
      history: this.history,
      finalLoss: this.history[this.history.length - 1]?.loss ?? NaN,
      evalLoss: this.lastEvalLoss,
      lastCheckpoint: this.lastCheckpointPath,
      divergence,
    };
  }

  /** One update (no callbacks, checkpoints or progress); throws TrainingDivergedError on a non-finite loss. */
  async trainStep(): Promise<StepRecord> {
    const outcome = await this.runStep();
    if (!outcome.ok) throw new TrainingDivergedError(outcome.divergence);
    return outcome.record;
  }

  /**
   * Writes `checkpoint-<step>/` under `dir` (default `config.checkpointDir`) atomically: model
   * weights and config, AdamW state, data state, schedule position and history. Refuses (throws)
   * when any trainable weight is non-finite. Returns the checkpoint's path.
   */
  async saveCheckpoint(dir: string | null = this.config.checkpointDir): Promise<string> {
    if (dir === null) throw new Error('saveCheckpoint: no directory; pass one or set checkpointDir in the train config');
    const path = await this.checkpointIfFinite(dir);
    if (path === null) throw new Error(`saveCheckpoint: the weights at step ${this.stepsDone} are not finite; refusing to write them (the last good checkpoint is ${this.lastCheckpointPath ?? 'none'})`);
    return path;
  }

  /**
   * Continues a run from `checkpointPath` (a `checkpoint-<step>` directory): loads the weights into
   * `model` (which must have the saved config), the optimizer, the data position and the history.
   * `overrides` may change run control (steps, checkpointing, evaluation, progress) but not the
   * optimisation itself, so that the continued losses equal the uninterrupted run's.
   */
  static async resume(checkpointPath: string, model: TrainableModel, data: BatchSource, hooks: TrainHooks = {}, overrides: Partial<TrainConfig> = {}): Promise<Trainer> {
    const saved = await ckpt.readTrainerCheckpoint(checkpointPath);
    try {
      const trainer = new Trainer(model, data, ckpt.resumeOptions(saved.state, model?.config, overrides, checkpointPath), hooks);
      ckpt.restoreParameters(trainer.model.parameters, saved.weights, checkpointPath);
      trainer.optimizer.loadState(ckpt.optimizerStateOf(saved.state, saved.optimizer, checkpointPath));
      trainer.data.restore(saved.state.data);
      trainer.stepsDone = saved.state.step;
      trainer.trainingMs = saved.state.elapsedMs;
      trainer.history.push(...saved.state.history);
      trainer.lastEvalLoss = [...saved.state.history].reverse().find((r) => r.evalLoss !== undefined)?.evalLoss;
      trainer.lastCheckpointPath = checkpointPath;
      return trainer;
    } finally {
      tf.dispose([...saved.weights.values(), ...saved.optimizer.values()]);
    }
  }

  /** Frees the optimizer's m and v (the model is the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }

  private divergence(step: number, loss: number, gradNorm: number, what: string): Divergence {
    const where = this.lastCheckpointPath ?? 'none (set checkpointDir and checkpointEvery to keep one)';
    const message =
      `training diverged at step ${step}: loss ${loss}, gradient norm ${gradNorm}; ${what}. ` +
      `Last good checkpoint: ${where}. Lower lr (now ${formatLr(this.config.lr)}), lengthen the warmup (${this.config.warmupSteps}) or clip (maxGradNorm ${this.config.maxGradNorm}), then resume from it.`;
    return { step, loss, gradNorm, lastGoodCheckpoint: this.lastCheckpointPath, message };
  }

  /** The memory guard, once per batch shape: gradients and AdamW's state, plus what the model says a batch keeps. */
  private checkMemory({ batchSize, seqLen }: TrainBatch): void {
    const shape = `${batchSize}x${seqLen}`;
    if (this.checkedShapes.has(shape)) return;
    const bytes = trainStepBytes({
      trainableElements: this.varList.reduce((s, v) => s + v.size, 0),
      largestTrainableElements: this.optimizer.largestGroupElements,
      gradAccumSteps: this.config.gradAccumSteps,
      clipping: this.config.maxGradNorm !== null,
      optimizerAllocated: this.optimizer.hasState,
      activationBytes: modelActivationBytes(this.model, batchSize, seqLen),
    });
    assertTrainStepFits(bytes, `a training step (batch ${batchSize} x ${seqLen} tokens, ${this.trainableNames.length} trainable tensors)`);
    this.checkedShapes.add(shape);
  }

  private async runStep(): Promise<StepOutcome> {
    const t0 = performance.now();
    const { loss, grads, tokens } = this.gradients.mean(this.data, this.config.gradAccumSteps, (batch) => this.checkMemory(batch));
    // clipping as torch's clip_grad_norm_, applied inside the optimizer step as a gradient scale
    const norm = globalNorm(grads.values());
    const coef = this.config.maxGradNorm !== null ? clipCoefficient(norm, this.config.maxGradNorm) : undefined;
    const [lossValue, normValue] = await Promise.all([loss.data(), norm.data()]).then(([l, n]) => [l[0], n[0]]);
    tf.dispose([loss, norm]);
    const lr = this.lrAt(this.stepsDone);
    const finite = Number.isFinite(lossValue) && Number.isFinite(normValue);
    if (finite) this.optimizer.step(grads, lr, coef);
    tf.dispose([...grads.values(), ...(coef !== undefined ? [coef] : [])]);
    if (!finite) return { ok: false, divergence: this.divergence(this.stepsDone + 1, lossValue, normValue, 'the update was not applied') };
    this.stepsDone += 1;
    const stepMs = performance.now() - t0;
    this.trainingMs += stepMs;
    const record: StepRecord = { step: this.stepsDone, loss: lossValue, lr, gradNorm: normValue, tokens, stepMs, tokensPerSec: (tokens * 1000) / stepMs, elapsedMs: this.trainingMs };
    this.history.push(record);
    return { ok: true, record };
  }

  /** Writes a checkpoint when every trainable weight is finite; returns its path, or null. */
  private async checkpointIfFinite(dir: string): Promise<string | null> {
    if (!(await ckpt.allFinite(this.varList))) return null;
    const state = ckpt.trainerState({
      step: this.stepsDone,
      config: this.config,
      trainableNames: this.trainableNames,
      optimizer: this.optimizer,
      data: this.data.state(),
      elapsedMs: this.trainingMs,
      history: this.history,
      modelConfig: this.model.config,
    });
    const path = await ckpt.writeTrainerCheckpoint(dir, ckpt.checkpointName(this.stepsDone), { state, weights: this.model.parameters, modelConfig: this.model.config, optimizer: this.optimizer });
    this.lastCheckpointPath = path;
    if (this.config.keepCheckpoints !== null) await ckpt.pruneCheckpoints(dir, this.config.keepCheckpoints);
    await this.hooks.onCheckpoint?.({ step: this.stepsDone, path });
    return path;
  }
}
