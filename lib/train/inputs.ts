/**
 * What the trainer is given, checked before it is used: the model, the batch source, the hooks,
 * and every micro-batch (the trainer and `longLora`'s loss both take `TrainBatch`es of host
 * Int32Arrays). A malformed one (a plain number array, a wrong length, a seqLen with nothing to
 * predict, a hook that is not a function) fails here with what it got and what it needs, not deep
 * inside a kernel or as a TypeError.
 */
import { tf } from '../backend';
import type { Tensor2D } from '../backend';
import { checkKnownKeys, describe } from '../util/options';
import { isInt32Array } from '../util/typed-arrays';
import type { BatchSource, TrainableModel, TrainBatch } from './types';

/** The callbacks `TrainHooks` may hold. */
export const TRAINER_HOOKS: readonly string[] = ['onStep', 'evaluate', 'onEval', 'onCheckpoint', 'write'];

/** Throws unless `model` is a TrainableModel, `data` a BatchSource and `hooks` known callbacks. */
export function checkTrainerInputs(model: TrainableModel, data: BatchSource, hooks: object): void {
  if (model === null || typeof model !== 'object') throw new Error(`Trainer: model = ${describe(model)}; pass a TrainableModel, e.g. longLora(model, { contextLength })`);
  if (!(model.parameters instanceof Map) || model.parameters.size === 0) {
    throw new Error('Trainer: model.parameters must be a non-empty Map<string, tf.Variable> (HF parameter names)');
  }
  if (typeof model.loss !== 'function') throw new Error('Trainer: model.loss(inputIds, { labels, training }) is missing');
  for (const k of ['next', 'state', 'restore'] as const) {
    if (typeof (data as unknown as Record<string, unknown> | null | undefined)?.[k] !== 'function') {
      throw new Error(`Trainer: the batch source has no ${k}() (use lib/data WindowBatcher or implement next/state/restore)`);
    }
  }
  checkKnownKeys('Trainer hooks', hooks, TRAINER_HOOKS);
  for (const k of TRAINER_HOOKS) {
    const hook = (hooks as Record<string, unknown>)[k];
    if (hook !== undefined && typeof hook !== 'function') throw new Error(`Trainer hooks: ${k} = ${describe(hook)} must be a function`);
  }
}

/** Throws unless `batch` holds `batchSize x seqLen` int32 ids (and labels, when given). */
export function checkTrainBatch(batch: TrainBatch, where: string): void {
  if (batch === null || typeof batch !== 'object') throw new Error(`${where}: the batch source gave ${describe(batch)}; next() must return { inputIds, batchSize, seqLen }`);
  const { batchSize, seqLen } = batch;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && Number.isInteger(seqLen) && seqLen >= 2)) {
    throw new Error(`${where}: the batch source gave batchSize ${batchSize}, seqLen ${seqLen}; need integers, batchSize >= 1 and seqLen >= 2`);
  }
  // what it got: a length alone would hide that a number[] or a Float32Array is the problem
  const got = (x: unknown) => (isInt32Array(x) ? String(x.length) : describe(x));
  if (!isInt32Array(batch.inputIds) || batch.inputIds.length !== batchSize * seqLen) {
    throw new Error(`${where}: batch inputIds must be an Int32Array of batchSize x seqLen = ${batchSize * seqLen} ids (got ${got(batch.inputIds)})`);
  }
  if (batch.labels !== undefined && (!isInt32Array(batch.labels) || batch.labels.length !== batchSize * seqLen)) {
    throw new Error(`${where}: batch labels must be an Int32Array of ${batchSize * seqLen} ids like inputIds (got ${got(batch.labels)})`);
  }
}

/** The batch as int32 tensors `[batchSize, seqLen]` (the caller disposes them). */
export function batchTensors(batch: TrainBatch): { inputIds: Tensor2D; labels?: Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.seqLen];
  return {
    inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
    labels: batch.labels === undefined ? undefined : tf.tensor2d(batch.labels, shape, 'int32'),
  };
}
