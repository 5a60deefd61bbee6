/**
 * Run-time checks of what `LlamaForCausalLM.forward` and `loss` are given: token-id tensors (rank,
 * dtype, range, still alive) and their boolean flags. TypeScript types vanish in notebooks and plain
 * JavaScript, so each message names the value and what to pass instead.
 */
import { tf } from '../backend';
import type { Tensor } from '../backend';
import { checkBoolean, describe } from '../util/options';
import { IGNORE_INDEX } from '../util/constants';
import type { LlamaConfig } from './config';

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof tf.Tensor;
}

/** Checks `ids` is int32 `[B, T]` with values in range (labels may also hold IGNORE_INDEX). */
export function checkTokenTensor(ids: unknown, what: string, vocabSize: number, allowIgnore: boolean): { b: number; t: number; values: Int32Array } {
  if (!isTensor(ids)) throw new Error(`${what} must be an int32 tensor [batch, seq]; got ${describe(ids)} (use tf.tensor2d(ids, [batch, seq], 'int32'))`);
  // tfjs would only say "Tensor is disposed." from deep inside dataSync
  if (ids.isDisposed) throw new Error(`${what} was disposed before the call (shape ${shapeText(ids.shape)}); pass a live tensor (dispose it after the call, or build it inside the same tf.tidy)`);
  if (ids.rank !== 2) throw new Error(`${what} must be int32 [batch, seq]; got shape ${shapeText(ids.shape)} (use tf.tensor2d(ids, [batch, seq], 'int32'))`);
  if (ids.dtype !== 'int32') throw new Error(`${what} must have dtype int32; got ${ids.dtype} (use tf.tensor2d(ids, [batch, seq], 'int32'))`);
  const [b, t] = ids.shape;
  if (b < 1 || t < 1) throw new Error(`${what} is empty (shape ${shapeText(ids.shape)}); give at least one token`);
  const values = ids.dataSync() as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((v < 0 || v >= vocabSize) && !(allowIgnore && v === IGNORE_INDEX)) {
      const range = `[0, ${vocabSize})${allowIgnore ? ` or ${IGNORE_INDEX} (ignored)` : ''}`;
      throw new Error(`${what}: token id ${v} at [${Math.floor(i / t)}, ${i % t}] is outside the vocabulary: ids must be in ${range} (vocabSize ${vocabSize})`);
    }
  }
  return { b, t, values };
}

/**
 * `training` and `allowExtrapolation` must be booleans when given: a truthy string such as 'no'
 * would otherwise switch on training-time attention or extrapolation without a word.
 */
export function checkFlags(where: string, options: { training?: unknown; allowExtrapolation?: unknown }): void {
  if (options.training !== undefined) checkBoolean(where, 'training', options.training);
  if (options.allowExtrapolation !== undefined) checkBoolean(where, 'allowExtrapolation', options.allowExtrapolation);
}

export function describeContext(config: LlamaConfig): string {
  const s = config.ropeScaling;
  if (s === null) return `maxPositionEmbeddings ${config.maxPositionEmbeddings}, no rope scaling`;
  return `maxPositionEmbeddings ${config.maxPositionEmbeddings} with ${s.type} rope scaling, factor ${s.factor}`;
}
