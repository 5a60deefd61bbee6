/**
 * The long-range measure: perplexity on the second copy of a passage repeated at a distance of at
 * least N/2 inside the window (lib/data `longRangeWindows`), next to the same positions when the
 * source passage has been replaced by unrelated text (the control).
 *
 * A model that attends that far and copies scores the copy far below the control (perplexity near
 * 1 when it copies exactly); a model that cannot see the source scores both alike. The ratio
 * control / copy is the information the model carried across the distance. This is what the
 * paper's Table 1 claim is about (information flow between groups), where ordinary perplexity on
 * prose, predicted mostly from the last few hundred bytes, cannot show it.
 */
import { tf } from '../backend';
import type { Tensor3D } from '../backend';
import { IGNORE_INDEX } from '../util/constants';
import { checkBoolean, checkKnownKeys, describe } from '../util/options';
import type { LongRangeWindow } from '../data/long-range';
import type { CausalLM } from './perplexity';

export interface LongRangeOptions {
  /** Allow windows longer than the model's context (default false). */
  allowExtrapolation?: boolean;
}

export interface LongRangeResult {
  /** e^(mean loss on the copy's scored tokens), the source present. Lower = the model used the source. */
  copyPerplexity: number;
  /** The same positions with the source replaced by unrelated text. */
  controlPerplexity: number;
  /** controlPerplexity / copyPerplexity: how much seeing the source helped (1 = not at all). */
  gain: number;
  /** Next-token accuracy on the copy's scored tokens. */
  copyAccuracy: number;
  windows: number;
  tokensScored: number;
  seqLen: number;
  /** Smallest and largest look-back distance in the windows. */
  distance: [number, number];
}

/** Summed loss (nats) and hits over the labelled positions of one window: logits at t - 1 predict labels[t]. */
function labelledLoss(model: CausalLM, ids: Int32Array, labels: Int32Array, allowExtrapolation: boolean): { loss: number; count: number; hits: number } {
  const n = ids.length;
  const positions: number[] = [];
  for (let t = 1; t < n; t++) if (labels[t] !== IGNORE_INDEX) positions.push(t);
  if (positions.length === 0) return { loss: 0, count: 0, hits: 0 };
  const [loss, hits] = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(ids, [1, n], 'int32'), { training: false, allowExtrapolation }) as Tensor3D; // [1, N, V]
    const v = logits.shape[2];
    const rows = tf.gather(tf.reshape(logits, [n, v]), tf.tensor1d(positions.map((t) => t - 1), 'int32')); // [S, V]
    const targets = tf.tensor1d(positions.map((t) => labels[t]), 'int32'); // [S]
    const picked = tf.sum(tf.mul(tf.logSoftmax(rows), tf.oneHot(targets, v)), 1); // [S]
    const hit = tf.sum(tf.cast(tf.equal(tf.argMax(rows, 1), targets), 'float32'));
    return [tf.neg(tf.sum(picked)).dataSync()[0], hit.dataSync()[0]];
  });
  return { loss, count: positions.length, hits };
}

/** The long-range measure of `model` on `windows` (see the file comment); dense attention as the model runs outside training. */
export async function evaluateLongRange(model: CausalLM, windows: readonly LongRangeWindow[], options: LongRangeOptions = {}): Promise<LongRangeResult> {
  if (model === null || typeof model !== 'object' || typeof model.forward !== 'function') throw new Error(`evaluateLongRange: model must be a causal LM with forward (e.g. a LlamaForCausalLM), got ${describe(model)}`);
  if (!Array.isArray(windows) || windows.length === 0) throw new Error('evaluateLongRange: windows must be a non-empty array from longRangeWindows(tokens, { seqLen, ... })');
  checkKnownKeys('evaluateLongRange', options, ['allowExtrapolation']);
  const allowExtrapolation = options.allowExtrapolation === undefined ? false : checkBoolean('evaluateLongRange', 'allowExtrapolation', options.allowExtrapolation);
  let copyLoss = 0;
  let controlLoss = 0;
  let count = 0;
  let hits = 0;
  const distances = windows.map((w) => w.placement.copy - w.placement.source);
  for (const w of windows) {
    const copy = labelledLoss(model, w.inputIds, w.labels, allowExtrapolation);
    // the control's labels are its own tokens at the same positions (the copy's text, now without a source)
    const control = labelledLoss(model, w.controlIds, w.labels, allowExtrapolation);
    copyLoss += copy.loss;
    controlLoss += control.loss;
    count += copy.count;
    hits += copy.hits;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const copyPerplexity = Math.exp(copyLoss / count);
  const controlPerplexity = Math.exp(controlLoss / count);
  return {
    copyPerplexity,
    controlPerplexity,
    gain: controlPerplexity / copyPerplexity,
    copyAccuracy: hits / count,
    windows: windows.length,
    tokensScored: count,
    seqLen: windows[0].inputIds.length,
    distance: [Math.min(...distances), Math.max(...distances)],
  };
}
