/**
 * The training loop: what HF `Trainer.train()` does for LongLoRA's `fine-tune.py` (reference §3.2),
 * on a frozen/trainable split of a model's named parameters:
 *
 *   for each update: gradAccumSteps micro-batches -> gradients of the trainable parameters only
 *   (`tf.variableGrads(f, trainable)`), averaged -> clip by global norm -> lr from the schedule ->
 *   AdamW -> log, callbacks, evaluation, checkpoint.
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
import type { Tensor, Tensor2D, Variable } from '../backend';
import { AdamW } from './adamw';
import { clipCoefficient, globalNorm } from './clip';
import { resolveTrainConfig } from './config';
import type { TrainConfig, TrainOptions } from './config';
import { makeSchedule } from './schedule';
import type { LrLambda } from './schedule';
import { ProgressReporter } from './progress';
import { activationBytes, assertTrainStepFits, llamaShapeOf, trainStepBytes } from './memory';
import type { LlamaConfig } from '../model/config';
import { checkpointName, pruneCheckpoints, readTrainerCheckpoint, writeTrainerCheckpoint } from './checkpoint';
import type { BatchSource, StepRecord, TrainableModel, TrainBatch } from './types';

export type { BatchSource, StepRecord, TrainableModel, TrainBatch } from './types';
import type { TrainerState } from './checkpoint';
import { isInt32Array } from '../util/typed-arrays';

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

/** Why training stopped early because of a non-finite value. */
export interface Divergence {
  /** The update that produced it (it was not applied). */
  step: number;
  loss: number;
  gradNorm: number;
  /** Newest checkpoint written from finite weights, or null. */
  lastGoodCheckpoint: string | null;
  message: string;
}

/** The outcome of `train()`. */
export interface TrainResult {
  status: 'completed' | 'stopped' | 'diverged';
  /** Updates done in total (a resumed run counts the earlier ones). */
  steps: number;
  history: StepRecord[];
  /** Loss of the last update, or NaN when none ran. */
  finalLoss: number;
  /** Last `evaluate` result, when the hook is set. */
  evalLoss?: number;
  lastCheckpoint: string | null;
  divergence?: Divergence;
}

/** Thrown by `trainStep()` when an update would be non-finite (`train()` returns it instead). */
export class TrainingDivergedError extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.message);
    this.name = 'TrainingDivergedError';
  }
}

type StepOutcome = { ok: true; record: StepRecord } | { ok: false; divergence: Divergence };

function selectTrainable(parameters: Map<string, Variable>, selection: TrainConfig['trainable']): string[] {
  const names = [...parameters.keys()];
  if (selection === null) return names;
  if (typeof selection === 'function') {
    const chosen = names.filter((n) => selection(n));
    if (chosen.length === 0) {
      throw new Error(`trainable: the predicate selects none of the model's ${names.length} parameters (e.g. ${names.slice(0, 3).join(', ')}); check the names it tests for`);
    }
    return chosen;
  }
  const missing = selection.filter((n) => !parameters.has(n));
  if (missing.length > 0) {
    throw new Error(`trainable: ${missing.map((n) => `'${n}'`).join(', ')} not among the model's parameters (e.g. ${names.slice(0, 3).join(', ')}); use exact names or a predicate such as nameContains(['norm'])`);
  }
  if (selection.length === 0) throw new Error('trainable: the list is empty; pass null to train every parameter');
  const chosen = new Set(selection);
  return names.filter((n) => chosen.has(n)); // model order, no duplicates
}

/** JSON with object keys sorted, so that equal configs compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

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
  private readonly nameOfVar = new Map<string, string>();
  private stepsDone = 0;
  private trainingMs = 0;
  private memoryChecked = false;
  private stopRequested = false;
  private lastCheckpointPath: string | null = null;
  private lastEvalLoss: number | undefined;

  constructor(model: TrainableModel, data: BatchSource, options: TrainOptions, hooks: TrainHooks = {}) {
    this.config = resolveTrainConfig(options);
    if (!(model.parameters instanceof Map) || model.parameters.size === 0) {
      throw new Error('Trainer: model.parameters must be a non-empty Map<string, tf.Variable> (HF parameter names)');
    }
    if (typeof model.loss !== 'function') throw new Error('Trainer: model.loss(inputIds, { labels, training }) is missing');
    for (const k of ['next', 'state', 'restore'] as const) {
      if (typeof (data as unknown as Record<string, unknown>)[k] !== 'function') throw new Error(`Trainer: the batch source has no ${k}() (use lib/data WindowBatcher or implement next/state/restore)`);
    }
    this.model = model;
    this.data = data;
    this.hooks = hooks;
    this.trainableNames = selectTrainable(model.parameters, this.config.trainable);
    this.varList = this.trainableNames.map((n) => model.parameters.get(n) as Variable);
    const frozenFlag = this.trainableNames.filter((n) => !(model.parameters.get(n) as Variable).trainable);
    if (frozenFlag.length > 0) {
      throw new Error(`Trainer: ${frozenFlag.join(', ')} selected as trainable but created with trainable=false; tf.variableGrads skips such variables, so create them trainable`);
    }
    this.varList.forEach((v, i) => this.nameOfVar.set(v.name, this.trainableNames[i]));
    const trainable = new Map(this.trainableNames.map((n, i) => [n, this.varList[i]] as const));
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
    const progress = new ProgressReporter({ mode: this.config.progress, every: this.config.logEvery, write: this.hooks.write });
    const { trainable, total } = this.parameterCounts();
    if (this.stepsDone === 0) {
      progress.message(`training ${trainable.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} parameters (${((100 * trainable) / total).toFixed(2)}%) for ${this.config.steps} steps`);
    } else {
      progress.message(`resuming at step ${this.stepsDone}/${this.config.steps}`);
    }
    this.stopRequested = false;
    const sessionStart = performance.now();
    const sessionStartStep = this.stepsDone;
    let divergence: Divergence | undefined;
    try {
      while (this.stepsDone < this.config.steps && !this.stopRequested) {
        const outcome = await this.runStep();
        if (!outcome.ok) {
          divergence = outcome.divergence;
          progress.message(divergence.message);
          break;
        }
        const record = outcome.record;
        const last = this.stepsDone === this.config.steps;
        if (this.hooks.evaluate !== undefined && (last || (this.config.evalEvery > 0 && this.stepsDone % this.config.evalEvery === 0))) {
          record.evalLoss = await this.hooks.evaluate(this.model);
          this.lastEvalLoss = record.evalLoss;
          await this.hooks.onEval?.({ step: this.stepsDone, evalLoss: record.evalLoss });
        }
        const sessionMs = performance.now() - sessionStart;
        const etaMs = ((this.config.steps - this.stepsDone) * sessionMs) / (this.stepsDone - sessionStartStep);
        progress.update({ ...record, totalSteps: this.config.steps, etaMs });
        await this.hooks.onStep?.({ ...record, totalSteps: this.config.steps, etaMs, trainer: this });
        if (this.config.checkpointDir !== null && (last || this.stopRequested || (this.config.checkpointEvery > 0 && this.stepsDone % this.config.checkpointEvery === 0))) {
          const saved = await this.checkpointIfFinite(this.config.checkpointDir);
          if (saved === null) {
            divergence = this.divergence(this.stepsDone, record.loss, record.gradNorm, 'the update left non-finite weights, so no checkpoint was written');
            progress.message(divergence.message);
            break;
          }
        }
        await nextTick();
      }
    } finally {
      progress.finish();
    }
    const lastRecord = this.history[this.history.length - 1];
    return {
      status: divergence !== undefined ? 'diverged' : this.stepsDone < this.config.steps ? 'stopped' : 'completed',
      steps: this.stepsDone,
      history: this.history,
      finalLoss: lastRecord?.loss ?? NaN,
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
    const saved = await readTrainerCheckpoint(checkpointPath);
    try {
      const allowed = ['steps', 'checkpointDir', 'checkpointEvery', 'keepCheckpoints', 'evalEvery', 'progress', 'logEvery'];
      const refused = Object.keys(overrides).filter((k) => !allowed.includes(k));
      if (refused.length > 0) {
        throw new Error(`Trainer.resume: ${refused.join(', ')} cannot change on resume (the continued losses would differ from the original run's); only ${allowed.join(', ')} can`);
      }
      if (overrides.steps !== undefined && overrides.steps !== saved.state.config.steps && (saved.state.config.schedule === 'linear' || saved.state.config.schedule === 'cosine')) {
        throw new Error(`Trainer.resume: steps cannot change from ${saved.state.config.steps} with the '${saved.state.config.schedule}' schedule (it decays over the total steps); start a new run instead`);
      }
      if (model.config !== undefined && canonicalJson(model.config) !== canonicalJson(saved.state.modelConfig)) {
        throw new Error(`Trainer.resume: the model's config differs from the checkpoint's (${checkpointPath}); create the model with the saved config (config.json)`);
      }
      const options: TrainOptions = { ...saved.state.config, trainable: saved.state.trainableNames, ...overrides };
      const trainer = new Trainer(model, data, options, hooks);
      trainer.restoreFrom(saved.state, saved.weights, saved.optimizer, checkpointPath);
      return trainer;
    } finally {
      tf.dispose([...saved.weights.values(), ...saved.optimizer.values()]);
    }
  }

  /** Frees the optimizer's m and v (the model is the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }

  private restoreFrom(state: TrainerState, weights: Map<string, Tensor>, optimizer: Map<string, Tensor>, path: string): void {
    for (const [name, p] of this.model.parameters) {
      const w = weights.get(name);
      if (w === undefined) throw new Error(`Trainer.resume: the checkpoint ${path} has no weight '${name}'`);
      if (w.shape.length !== p.shape.length || w.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`Trainer.resume: weight '${name}' is [${w.shape.join(', ')}] in ${path} but [${p.shape.join(', ')}] in the model`);
      }
      p.assign(w.dtype === p.dtype ? w : tf.tidy(() => tf.cast(w, p.dtype)));
    }
    const params = new Map<string, { step: number; expAvg: Tensor; expAvgSq: Tensor }>();
    for (const [name, step] of Object.entries(state.optimizerSteps)) {
      const expAvg = optimizer.get(`${name}.exp_avg`);
      const expAvgSq = optimizer.get(`${name}.exp_avg_sq`);
      if (expAvg === undefined || expAvgSq === undefined) throw new Error(`Trainer.resume: ${path} lacks the optimizer state of '${name}'`);
      params.set(name, { step, expAvg, expAvgSq });
    }
    this.optimizer.loadState({ config: state.optimizerConfig, params });
    this.data.restore(state.data);
    this.stepsDone = state.step;
    this.trainingMs = state.elapsedMs;
    this.history.push(...state.history);
    this.lastEvalLoss = [...state.history].reverse().find((r) => r.evalLoss !== undefined)?.evalLoss;
    this.lastCheckpointPath = path;
    this.memoryChecked = false;
  }

  private divergence(step: number, loss: number, gradNorm: number, what: string): Divergence {
    const where = this.lastCheckpointPath ?? 'none (set checkpointDir and checkpointEvery to keep one)';
    const message =
      `training diverged at step ${step}: loss ${loss}, gradient norm ${gradNorm}; ${what}. ` +
      `Last good checkpoint: ${where}. Lower lr (now ${formatLr(this.config.lr)}), lengthen the warmup (${this.config.warmupSteps}) or clip (maxGradNorm ${this.config.maxGradNorm}), then resume from it.`;
    return { step, loss, gradNorm, lastGoodCheckpoint: this.lastCheckpointPath, message };
  }

  private batchTensors(batch: TrainBatch): { inputIds: Tensor2D; labels?: Tensor2D } {
    const { batchSize, seqLen } = batch;
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && Number.isInteger(seqLen) && seqLen >= 2)) {
      throw new Error(`Trainer: the batch source gave batchSize ${batchSize}, seqLen ${seqLen}; need integers, batchSize >= 1 and seqLen >= 2`);
    }
    if (!isInt32Array(batch.inputIds) || batch.inputIds.length !== batchSize * seqLen) {
      throw new Error(`Trainer: batch inputIds must be an Int32Array of batchSize x seqLen = ${batchSize * seqLen} ids (got ${batch.inputIds?.length})`);
    }
    if (batch.labels !== undefined && (!isInt32Array(batch.labels) || batch.labels.length !== batchSize * seqLen)) {
      throw new Error(`Trainer: batch labels must be an Int32Array of ${batchSize * seqLen} ids like inputIds`);
    }
    return {
      inputIds: tf.tensor2d(batch.inputIds, [batchSize, seqLen], 'int32'),
      labels: batch.labels === undefined ? undefined : tf.tensor2d(batch.labels, [batchSize, seqLen], 'int32'),
    };
  }

  private checkMemory(batch: TrainBatch): void {
    if (this.memoryChecked) return;
    this.memoryChecked = true;
    const isLlama = llamaShapeOf(this.model.config) !== null;
    const lora = this.trainableNames.some((n) => /\.lora_[AB]\.weight$/.test(n));
    const bytes = trainStepBytes({
      trainableElements: this.varList.reduce((s, v) => s + v.size, 0),
      largestTrainableElements: this.optimizer.largestGroupElements,
      gradAccumSteps: this.config.gradAccumSteps,
      clipping: this.config.maxGradNorm !== null,
      optimizerAllocated: this.optimizer.hasState,
      activationBytes: isLlama ? activationBytes(this.model.config as LlamaConfig, batch.batchSize, batch.seqLen, { lora }) : 0,
    });
    assertTrainStepFits(bytes, `a training step (batch ${batch.batchSize} x ${batch.seqLen} tokens, ${this.trainableNames.length} trainable tensors)`);
  }

  /** Gradients of one micro-batch's loss w.r.t. the trainable variables, keyed by parameter name. */
  private microStep(batch: TrainBatch): { loss: Tensor; grads: Map<string, Tensor> } {
    const { inputIds, labels } = this.batchTensors(batch);
    try {
      const { value, grads } = tf.variableGrads(() => {
        const loss = this.model.loss(inputIds, { labels, training: true });
        if (loss.rank !== 0) throw new Error(`Trainer: model.loss returned shape [${loss.shape.join(', ')}]; it must return a scalar (the mean loss)`);
        return loss as tf.Scalar;
      }, this.varList);
      const named = new Map<string, Tensor>();
      for (const [varName, g] of Object.entries(grads)) {
        if (g !== null) named.set(this.nameOfVar.get(varName) as string, g);
      }
      return { loss: value, grads: named };
    } finally {
      tf.dispose([inputIds, ...(labels ? [labels] : [])]);
    }
  }

  private async runStep(): Promise<StepOutcome> {
    const t0 = performance.now();
    const k = this.config.gradAccumSteps;
    let lossSum: Tensor | null = null;
    let gradSum: Map<string, Tensor> | null = null;
    let tokens = 0;
    try {
      for (let i = 0; i < k; i++) {
        const batch = this.data.next();
        this.checkMemory(batch);
        tokens += batch.batchSize * batch.seqLen;
        const { loss, grads } = this.microStep(batch);
        if (lossSum === null || gradSum === null) {
          lossSum = loss;
          gradSum = grads;
          continue;
        }
        const prevLoss: Tensor = lossSum;
        lossSum = tf.add(prevLoss, loss);
        tf.dispose([prevLoss, loss]);
        for (const [name, g] of grads) {
          const prev = gradSum.get(name);
          gradSum.set(name, prev === undefined ? g : tf.add(prev, g));
          if (prev !== undefined) tf.dispose([prev, g]);
        }
      }
    } catch (e) {
      // A failing micro-batch (bad batch, model error) must not strand the partial sums.
      if (lossSum !== null) tf.dispose(lossSum);
      if (gradSum !== null) tf.dispose([...gradSum.values()]);
      throw e;
    }
    const sumLoss = lossSum as Tensor;
    const sumGrads = gradSum as Map<string, Tensor>;
    // Mean over micro-batches: with a per-token mean loss and equal-sized micro-batches this is the
    // gradient of one batch k times larger (HF scales each micro-loss by 1/k before backward).
    const loss = k === 1 ? sumLoss : tf.div(sumLoss, k);
    const grads = new Map<string, Tensor>();
    for (const [name, g] of sumGrads) grads.set(name, k === 1 ? g : tf.div(g, k));
    if (k > 1) tf.dispose([sumLoss, ...sumGrads.values()]);

    // clipping as torch's clip_grad_norm_, applied inside the optimizer step as a gradient scale
    const norm = globalNorm(grads.values());
    const coef = this.config.maxGradNorm !== null ? clipCoefficient(norm, this.config.maxGradNorm) : undefined;
    const [lossValue, normValue] = await Promise.all([loss.data(), norm.data()]).then(([l, n]) => [l[0], n[0]]);
    tf.dispose([loss, norm]);
    const lr = this.lrAt(this.stepsDone);
    if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
      tf.dispose([...grads.values(), ...(coef !== undefined ? [coef] : [])]);
      return { ok: false, divergence: this.divergence(this.stepsDone + 1, lossValue, normValue, 'the update was not applied') };
    }
    this.optimizer.step(grads, lr, coef);
    tf.dispose([...grads.values(), ...(coef !== undefined ? [coef] : [])]);
    this.stepsDone += 1;
    const stepMs = performance.now() - t0;
    this.trainingMs += stepMs;
    const record: StepRecord = {
      step: this.stepsDone,
      loss: lossValue,
      lr,
      gradNorm: normValue,
      tokens,
      stepMs,
      tokensPerSec: (tokens * 1000) / stepMs,
      elapsedMs: this.trainingMs,
    };
    this.history.push(record);
    return { ok: true, record };
  }

  /** Writes a checkpoint when every trainable weight is finite; returns its path, or null. */
  private async checkpointIfFinite(dir: string): Promise<string | null> {
    const finite = tf.tidy(() => tf.all(tf.stack(this.varList.map((v) => tf.all(tf.isFinite(v))))));
    const ok = (await finite.data())[0] === 1;
    finite.dispose();
    if (!ok) return null;
    const path = await writeTrainerCheckpoint(dir, checkpointName(this.stepsDone), {
      state: this.stateForCheckpoint(),
      weights: this.model.parameters,
      modelConfig: this.model.config,
      optimizer: this.optimizer,
    });
    this.lastCheckpointPath = path;
    if (this.config.keepCheckpoints !== null) await pruneCheckpoints(dir, this.config.keepCheckpoints);
    await this.hooks.onCheckpoint?.({ step: this.stepsDone, path });
    return path;
  }

  private stateForCheckpoint(): TrainerState {
    const steps: Record<string, number> = {};
    for (const [name, step] of this.optimizer.stepCounts()) steps[name] = step;
    const { trainable, ...rest } = this.config;
    void trainable;
    return {
      step: this.stepsDone,
      config: rest,
      trainableNames: this.trainableNames,
      optimizerConfig: { ...this.optimizer.config, betas: [...this.optimizer.config.betas] as [number, number] },
      optimizerSteps: steps,
      data: this.data.state(),
      elapsedMs: this.trainingMs,
      history: this.history,
      modelConfig: this.model.config ?? null,
    };
  }
}
