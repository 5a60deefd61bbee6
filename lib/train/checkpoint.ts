/**
 * Trainer checkpoints: one directory per saved step, laid out like HF Trainer's `checkpoint-<step>/`
 * (transformers `Trainer._save_checkpoint`), with safetensors instead of pickles:
 *
 *   checkpoint-<step>/
 *     model.safetensors      every model parameter, HF names, `format: pt` metadata
 *     config.json            the model config (HF config.json for a LlamaConfig, so the directory
 *                            is also an HF checkpoint: lib/io `loadHFCheckpoint`, `from_pretrained`)
 *     optimizer.safetensors  AdamW `<name>.exp_avg` and `<name>.exp_avg_sq` (torch state names)
 *     trainer_state.json     step, train config, trainable names, per-parameter AdamW steps, the
 *                            batch source's state, training time and the log history
 *
 * The directory is written to a temporary sibling and renamed into place (lib/io
 * `replaceDirectoryAtomic`), so a crash mid-save leaves the previous checkpoints intact and never a
 * half-written one.
 *
 * Resuming (`Trainer.resume`) uses the rest of this file: which settings may change on resume
 * (`resumeOptions`), and how the saved weights and AdamW state go back in (`restoreParameters`,
 * `optimizerStateOf`), so that a resumed run's losses equal the uninterrupted run's bit for bit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { formatHFConfigJson, readSafetensors, recoverInterruptedReplace, replaceDirectoryAtomic, toHFConfig, writeSafetensors } from '../io';
import type { LlamaConfig } from '../model';
import type { AdamW, AdamWConfig, AdamWState, AdamWParamState } from './adamw';
import type { TrainConfig, TrainOptions } from './config';
import { llamaShapeOf } from './memory';
import type { StepRecord } from './types';

/** Marks our trainer_state.json (and its version) so that a foreign or stale file fails loudly. */
export const TRAINER_STATE_FORMAT = 'longlora-ts/trainer-state';
export const TRAINER_STATE_VERSION = 1;

/** The JSON part of a checkpoint (trainer_state.json). */
export interface TrainerState {
  /** Updates done when it was written. */
  step: number;
  /** The run's config (the trainable selection is stored as `trainableNames`). */
  config: Omit<TrainConfig, 'trainable'>;
  trainableNames: string[];
  optimizerConfig: AdamWConfig;
  /** AdamW's per-parameter step counts (torch `state[p]['step']`). */
  optimizerSteps: Record<string, number>;
  /** The batch source's `state()`. */
  data: unknown;
  /** Training time so far (ms). */
  elapsedMs: number;
  history: StepRecord[];
  /** `model.config` as it was (compared on resume). */
  modelConfig: unknown;
}

/** A checkpoint read back: its state and the tensors (the caller disposes them). */
export interface LoadedCheckpoint {
  state: TrainerState;
  weights: Map<string, Tensor>;
  optimizer: Map<string, Tensor>;
}

/** `checkpoint-<step>` (HF `PREFIX_CHECKPOINT_DIR`). */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

/** The `checkpoint-<step>` directories in `dir` that hold a trainer_state.json, oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && CHECKPOINT_RE.test(e.name) && fs.existsSync(path.join(dir, e.name, 'trainer_state.json')))
    .map((e) => ({ step: Number((CHECKPOINT_RE.exec(e.name) as RegExpExecArray)[1]), path: path.join(dir, e.name) }))
    .sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint in `dir`, or null (HF `get_last_checkpoint`). */
export function latestCheckpoint(dir: string): string | null {
  const all = listCheckpoints(dir);
  return all.length === 0 ? null : all[all.length - 1].path;
}

/** Deletes all but the newest `keep` checkpoints in `dir` (HF `save_total_limit`). */
export async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  if (!(Number.isInteger(keep) && keep >= 1)) throw new Error(`pruneCheckpoints: keep = ${keep} must be an integer >= 1`);
  const all = listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await fs.promises.rm(old.path, { recursive: true, force: true });
}

/** What `writeTrainerCheckpoint` saves. */
export interface CheckpointContents {
  state: TrainerState;
  weights: Map<string, Variable>;
  modelConfig: unknown;
  optimizer: AdamW;
}

/** The checkpoint's config.json text: a LlamaConfig as an HF config.json that transformers loads (floats as floats); anything else as JSON. */
function configJsonText(modelConfig: unknown): string {
  if (llamaShapeOf(modelConfig) !== null && (modelConfig as { attention?: unknown }).attention !== undefined) {
    return formatHFConfigJson(toHFConfig(modelConfig as LlamaConfig) as unknown as Record<string, unknown>) + '\n';
  }
  return JSON.stringify(modelConfig ?? null, null, 2) + '\n';
}

/** Writes `dir/name/` atomically (see the file comment) and returns its path. */
export async function writeTrainerCheckpoint(dir: string, name: string, contents: CheckpointContents): Promise<string> {
  const target = path.join(dir, name);
  await fs.promises.mkdir(dir, { recursive: true });
  const optimizer = new Map<string, Tensor>();
  for (const [param, s] of contents.optimizer.state().params) {
    optimizer.set(`${param}.exp_avg`, s.expAvg);
    optimizer.set(`${param}.exp_avg_sq`, s.expAvgSq);
  }
  const state = { format: TRAINER_STATE_FORMAT, version: TRAINER_STATE_VERSION, ...contents.state };
  try {
    await replaceDirectoryAtomic(target, async (tmp: string) => {
      await writeSafetensors(path.join(tmp, 'model.safetensors'), contents.weights as Map<string, Tensor>, { metadata: { format: 'pt' } });
      await writeSafetensors(path.join(tmp, 'optimizer.safetensors'), optimizer, { metadata: { step: String(contents.state.step) } });
      await fs.promises.writeFile(path.join(tmp, 'config.json'), configJsonText(contents.modelConfig));
      await fs.promises.writeFile(path.join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    });
  } finally {
    tf.dispose([...optimizer.values()]); // state() made copies
  }
  return target;
}

/** Reads a checkpoint written by `writeTrainerCheckpoint`; errors name the file and the fix. */
export async function readTrainerCheckpoint(checkpointPath: string): Promise<LoadedCheckpoint> {
  await recoverInterruptedReplace(checkpointPath); // finish or undo a save that a crash interrupted
  const statePath = path.join(checkpointPath, 'trainer_state.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fs.promises.readFile(statePath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`readTrainerCheckpoint: cannot read ${statePath} (${(e as Error).message}); pass a checkpoint-<step> directory written by the Trainer (see latestCheckpoint(dir))`);
  }
  if (raw.format !== TRAINER_STATE_FORMAT || raw.version !== TRAINER_STATE_VERSION) {
    throw new Error(`readTrainerCheckpoint: ${statePath} is not a ${TRAINER_STATE_FORMAT} v${TRAINER_STATE_VERSION} file (format ${JSON.stringify(raw.format)}, version ${JSON.stringify(raw.version)})`);
  }
  const { format, version, ...state } = raw;
  void format;
  void version;
  const weights = await readSafetensors(path.join(checkpointPath, 'model.safetensors'));
  try {
    const optimizer = await readSafetensors(path.join(checkpointPath, 'optimizer.safetensors'));
    return { state: state as unknown as TrainerState, weights, optimizer };
  } catch (e) {
    for (const t of weights.values()) t.dispose();
    throw e;
  }
}

/** Whether every element of every variable is finite (a checkpoint is never written otherwise). */
export async function allFinite(variables: Variable[]): Promise<boolean> {
  if (variables.length === 0) return true;
  const finite = tf.tidy(() => tf.all(tf.stack(variables.map((v) => tf.all(tf.isFinite(v))))));
  try {
    return (await finite.data())[0] === 1;
  } finally {
    finite.dispose();
  }
}

/** What a run is made of when it is saved (see `trainerState`). */
export interface TrainerStateParts {
  step: number;
  config: TrainConfig;
  trainableNames: string[];
  optimizer: AdamW;
  data: unknown;
  elapsedMs: number;
  history: StepRecord[];
  modelConfig: unknown;
}

/** trainer_state.json's content: the config without the selection (saved as names), AdamW's settings and steps. */
export function trainerState(parts: TrainerStateParts): TrainerState {
  const steps: Record<string, number> = {};
  for (const [name, step] of parts.optimizer.stepCounts()) steps[name] = step;
  const { trainable, ...config } = parts.config;
  void trainable; // a predicate cannot be saved; the names it chose are
  return {
    step: parts.step,
    config,
    trainableNames: parts.trainableNames,
    optimizerConfig: { ...parts.optimizer.config, betas: [...parts.optimizer.config.betas] as [number, number] },
    optimizerSteps: steps,
    data: parts.data,
    elapsedMs: parts.elapsedMs,
    history: parts.history,
    modelConfig: parts.modelConfig ?? null,
  };
}

/** JSON with object keys sorted, so that equal configs compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Settings a resumed run may change: run control only, never the optimisation. */
export const RESUMABLE_SETTINGS: readonly string[] = ['steps', 'checkpointDir', 'checkpointEvery', 'keepCheckpoints', 'evalEvery', 'progress', 'logEvery'];

/**
 * The train options a run resumed from `saved` continues with: the saved config and trainable
 * names, with `overrides` of run control (RESUMABLE_SETTINGS). Throws when an override would make
 * the continued losses differ from the original run's, or when `modelConfig` (the model to resume
 * into) differs from the saved one.
 */
export function resumeOptions(saved: TrainerState, modelConfig: unknown, overrides: Partial<TrainConfig>, checkpointPath: string): TrainOptions {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`Trainer.resume: overrides must be an object of run-control settings (${RESUMABLE_SETTINGS.join(', ')})`);
  }
  const refused = Object.keys(overrides).filter((k) => !RESUMABLE_SETTINGS.includes(k));
  if (refused.length > 0) {
    throw new Error(`Trainer.resume: ${refused.join(', ')} cannot change on resume (the continued losses would differ from the original run's); only ${RESUMABLE_SETTINGS.join(', ')} can`);
  }
  const { config } = saved;
  if (overrides.steps !== undefined && overrides.steps !== config.steps && (config.schedule === 'linear' || config.schedule === 'cosine')) {
    throw new Error(`Trainer.resume: steps cannot change from ${config.steps} with the '${config.schedule}' schedule (it decays over the total steps); start a new run instead`);
  }
  if (modelConfig !== undefined && canonicalJson(modelConfig) !== canonicalJson(saved.modelConfig)) {
    throw new Error(`Trainer.resume: the model's config differs from the checkpoint's (${checkpointPath}); create the model with the saved config (config.json)`);
  }
  return { ...config, trainable: saved.trainableNames, ...overrides };
}

/** Assigns a checkpoint's weights to every parameter (each must be saved, with the same shape). */
export function restoreParameters(parameters: Map<string, Variable>, weights: Map<string, Tensor>, checkpointPath: string): void {
  for (const [name, p] of parameters) {
    const w = weights.get(name);
    if (w === undefined) throw new Error(`Trainer.resume: the checkpoint ${checkpointPath} has no weight '${name}'`);
    if (w.shape.length !== p.shape.length || w.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`Trainer.resume: weight '${name}' is [${w.shape.join(', ')}] in ${checkpointPath} but [${p.shape.join(', ')}] in the model`);
    }
  }
  for (const [name, p] of parameters) {
    const w = weights.get(name) as Tensor;
    if (w.dtype === p.dtype) p.assign(w);
    else tf.tidy(() => p.assign(tf.cast(w, p.dtype)));
  }
}

/** AdamW's state as saved (the tensors stay the caller's: `AdamW.loadState` copies them). */
export function optimizerStateOf(saved: TrainerState, tensors: Map<string, Tensor>, checkpointPath: string): AdamWState {
  const params = new Map<string, AdamWParamState>();
  for (const [name, step] of Object.entries(saved.optimizerSteps)) {
    const expAvg = tensors.get(`${name}.exp_avg`);
    const expAvgSq = tensors.get(`${name}.exp_avg_sq`);
    if (expAvg === undefined || expAvgSq === undefined) throw new Error(`Trainer.resume: ${checkpointPath} lacks the optimizer state of '${name}'`);
    params.set(name, { step, expAvg, expAvgSq });
  }
  return { config: saved.optimizerConfig, params };
}
