/**
 * Sliding-window perplexity, the protocol of LongLoRA's official `eval.py` (and the token-weighted
 * variant of `eval_distributed.py`), docs/protocols.md.
 *
 * Windows of the evaluation length start every `stride` tokens (default 256): start indices
 * `range(0, len(tokens) - seqLen, stride)`. Every token of a window is scored (labels = the window's
 * own ids, shifted inside: seqLen - 1 predictions), so "stride 256" is not the "score only the last
 * 256 tokens" convention. Two aggregations, both reported:
 * - `eval.py`: drops the last start index (`all_ix.pop()`), takes each window's mean loss, averages
 *   the windows, perplexity = e^mean (the script writes 2.71828 ** mean; the difference is < 1e-6
 *   relative);
 * - `eval_distributed.py`: keeps every start index and averages over all scored tokens.
 * Evaluation uses dense causal attention (block-wise for long windows); S2-Attn is training-only.
 */
import { tf } from '../backend';
import type { Tensor2D, Tensor3D } from '../backend';
import { isInt32Array } from '../util/typed-arrays';
import { checkBoolean, checkKnownKeys, checkNonNegativeInt, checkPositiveInt, describe } from '../util/options';

/** What perplexity needs from a model (LlamaForCausalLM fits). */
export interface CausalLM {
  readonly config: { readonly vocabSize: number };
  forward(inputIds: Tensor2D, options?: { training?: boolean; allowExtrapolation?: boolean }): Tensor3D;
}

export interface PerplexityOptions {
  /** Evaluation lengths (one table row each). */
  seqLens: number[];
  /** Distance between window starts (official 256). */
  stride?: number;
  /**
   * Evaluate at most this many windows per length, evenly spaced over eval.py's windows (for demos and
   * CI); every chosen window then counts in both means.
   */
  maxWindows?: number;
  /** Allow lengths past the model's context (the "before extension" baselines). Default false. */
  allowExtrapolation?: boolean;
  /** Called after each window (progress). */
  onWindow?: (info: { seqLen: number; done: number; total: number; loss: number }) => void;
}

export interface PerplexityRow {
  seqLen: number;
  stride: number;
  /** Windows `eval.py` would score (all start indices but the last). */
  windowsAvailable: number;
  /** Windows in the eval.py mean (fewer when maxWindows cut them; always reported with the result). */
  windowsScored: number;
  /** Windows in the token-weighted mean (eval_distributed.py keeps the last start index too). */
  tokenWeightedWindows: number;
  maxWindows: number | null;
  /** Mean over scored windows of each window's mean loss (nats), as eval.py. */
  meanLoss: number;
  /** e^meanLoss. */
  perplexity: number;
  /** Mean over every scored token (eval_distributed.py's torchmetrics Perplexity), over its windows. */
  tokenWeightedLoss: number;
  tokenWeightedPerplexity: number;
  /** Next-token accuracy over the scored predictions. */
  accuracy: number;
  tokensScored: number;
  ms: number;
}

/**
 * Window start indices of the official protocol: `range(0, numTokens - seqLen, stride)`, without its
 * last element for `'eval'` (eval.py pops it), with it for `'eval_distributed'`.
 */
export function windowStarts(numTokens: number, seqLen: number, stride: number, protocol: 'eval' | 'eval_distributed' = 'eval'): number[] {
  // a non-positive or fractional stride would loop forever (or until memory runs out)
  checkNonNegativeInt('windowStarts', 'numTokens', numTokens);
  checkPositiveInt('windowStarts', 'seqLen', seqLen);
  checkPositiveInt('windowStarts', 'stride (official 256)', stride);
  if (protocol !== 'eval' && protocol !== 'eval_distributed') throw new Error(`windowStarts: protocol = ${describe(protocol)} must be 'eval' (eval.py) or 'eval_distributed' (eval_distributed.py)`);
  const starts: number[] = [];
  for (let i = 0; i < numTokens - seqLen; i += stride) starts.push(i);
  if (protocol === 'eval') starts.pop();
  return starts;
}

/** `count` of `items`, evenly spaced (first and last included), or all of them. */
export function evenlySpaced<T>(items: T[], count: number | undefined): T[] {
  if (count === undefined || count >= items.length) return items;
  if (count === 1) return [items[0]];
  return Array.from({ length: count }, (_, k) => items[Math.round((k * (items.length - 1)) / (count - 1))]);
}

/** Per-position next-token losses (nats) and hits for one window's logits [1, T, V] against ids. */
function windowLosses(logits: Tensor3D, ids: Int32Array): { losses: Float32Array; hits: number } {
  return tf.tidy(() => {
    const t = ids.length;
    const v = logits.shape[2];
    const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [1, t - 1, v]), [t - 1, v]);
    const logProbs = tf.logSoftmax(pred);
    const targets = tf.tensor1d(ids.subarray(1), 'int32');
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(targets, v)), 1);
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(pred, 1), targets), 'float32')).dataSync()[0];
    return { losses: tf.neg(picked).dataSync() as Float32Array, hits };
  });
}

const OPTION_KEYS = ['seqLens', 'stride', 'maxWindows', 'allowExtrapolation', 'onWindow'];

function checkOptions(numTokens: number, o: PerplexityOptions): void {
  if (o === null || typeof o !== 'object') throw new Error(`perplexity: options = ${describe(o)}; pass at least { seqLens: [...] }, the evaluation lengths`);
  checkKnownKeys('perplexity', o, OPTION_KEYS);
  if (!Array.isArray(o.seqLens) || o.seqLens.length === 0) throw new Error('perplexity: seqLens must list at least one evaluation length');
  if (o.allowExtrapolation !== undefined) checkBoolean('perplexity', 'allowExtrapolation', o.allowExtrapolation);
  if (o.onWindow !== undefined && typeof o.onWindow !== 'function') throw new Error(`perplexity: onWindow = ${describe(o.onWindow)} must be a function ({ seqLen, done, total, loss }) => void`);
  const stride = o.stride ?? 256;
  if (!Number.isInteger(stride) || stride <= 0) throw new Error(`perplexity: stride = ${stride} must be a positive integer (official: 256)`);
  for (const L of o.seqLens) {
    if (!Number.isInteger(L) || L < 2) throw new Error(`perplexity: seqLen ${L} must be an integer >= 2`);
    if (stride > L) throw new Error(`perplexity: stride ${stride} is larger than the window ${L}; windows would skip tokens (official eval asserts seq_len >= sliding_window)`);
    const available = windowStarts(numTokens, L, stride).length;
    if (available < 1) {
      throw new Error(`perplexity: the text has ${numTokens} tokens, too few for one window of ${L} at stride ${stride} (needs more than ${L + stride} tokens); use a longer text or a shorter seqLen`);
    }
  }
  if (o.maxWindows !== undefined && (!Number.isInteger(o.maxWindows) || o.maxWindows < 1)) throw new Error(`perplexity: maxWindows = ${o.maxWindows} must be a positive integer`);
}

/** Sliding-window perplexity of `model` on `tokens` at every length in `seqLens` (see the file comment). */
export async function evaluatePerplexity(model: CausalLM, tokens: Int32Array, options: PerplexityOptions): Promise<PerplexityRow[]> {
  if (model === null || typeof model !== 'object' || typeof model.forward !== 'function' || typeof model.config?.vocabSize !== 'number') {
    throw new Error(`perplexity: model must be a causal LM with config.vocabSize and forward (e.g. a LlamaForCausalLM), got ${describe(model)}`);
  }
  if (!isInt32Array(tokens) || tokens.length === 0) throw new Error('perplexity: tokens must be a non-empty Int32Array (e.g. encode(mobyDickText()))');
  checkOptions(tokens.length, options);
  const stride = options.stride ?? 256;
  const rows: PerplexityRow[] = [];
  for (const seqLen of options.seqLens) {
    const started = performance.now();
    const evalStarts = windowStarts(tokens.length, seqLen, stride, 'eval');
    const allStarts = windowStarts(tokens.length, seqLen, stride, 'eval_distributed');
    // maxWindows counts windows of eval.py's mean (its start indices); without it, every window of both protocols
    const chosen = options.maxWindows === undefined ? allStarts : evenlySpaced(evalStarts, options.maxWindows);
    const evalSet = new Set(evalStarts);
    let windowMeanSum = 0;
    let windowCount = 0;
    let tokenLossSum = 0;
    let tokenCount = 0;
    let hits = 0;
    for (const [done, start] of chosen.entries()) {
      const ids = tokens.subarray(start, start + seqLen);
      const logits = tf.tidy(() => model.forward(tf.tensor2d(ids, [1, seqLen], 'int32'), { training: false, allowExtrapolation: options.allowExtrapolation }));
      const { losses, hits: h } = windowLosses(logits, ids);
      logits.dispose();
      let sum = 0;
      for (const l of losses) sum += l;
      tokenLossSum += sum;
      tokenCount += losses.length;
      hits += h;
      // eval.py's mean skips the popped last window (chosen only when maxWindows is unset)
      if (evalSet.has(start)) {
        windowMeanSum += sum / losses.length;
        windowCount += 1;
      }
      options.onWindow?.({ seqLen, done: done + 1, total: chosen.length, loss: sum / losses.length });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const meanLoss = windowMeanSum / windowCount;
    const tokenWeightedLoss = tokenLossSum / tokenCount;
    rows.push({
      seqLen,
      stride,
      windowsAvailable: evalStarts.length,
      windowsScored: windowCount,
      tokenWeightedWindows: chosen.length,
      maxWindows: options.maxWindows ?? null,
      meanLoss,
      perplexity: Math.exp(meanLoss),
      tokenWeightedLoss,
      tokenWeightedPerplexity: Math.exp(tokenWeightedLoss),
      accuracy: hits / tokenCount,
      tokensScored: tokenCount,
      ms: performance.now() - started,
    });
  }
  return rows;
}
