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
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { readSafetensors, recoverInterruptedReplace, replaceDirectoryAtomic, writeSafetensors } from '../io';
import { toHFConfig } from '../model';
import type { LlamaConfig } from '../model';
import type { AdamW, AdamWConfig } from './adamw';
import type { TrainConfig } from './config';
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

function configJson(modelConfig: unknown): unknown {
  // A LlamaConfig becomes an HF config.json (transformers can load the checkpoint); anything else as is.
  if (llamaShapeOf(modelConfig) !== null && (modelConfig as { attention?: unknown }).attention !== undefined) {
    return toHFConfig(modelConfig as LlamaConfig);
  }
  return modelConfig ?? null;
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
      await fs.promises.writeFile(path.join(tmp, 'config.json'), JSON.stringify(configJson(contents.modelConfig), null, 2) + '\n');
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
