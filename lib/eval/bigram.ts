/**
 * A smoothed bigram model over token ids: the baseline a trained language model must beat on the
 * held-out split ("beats a bigram model"). Additive (Lidstone) smoothing:
 *   P(next = b | prev = a) = (count(a, b) + alpha) / (count(a, ·) + alpha * vocab).
 * Counts are taken over adjacent pairs of the training stream, so for a byte model it costs one
 * pass and a vocab x vocab table (259^2 doubles, 0.5 MB).
 */
import { PAD, VOCAB_SIZE, checkTokenIds } from '../data/tokenizer';
import { checkKnownKeys, checkPositiveInt, describe } from '../util/options';
import { isFloat64Array } from '../util/typed-arrays';

/** A fitted bigram model. */
export interface BigramModel {
  vocab: number;
  alpha: number;
  /** counts[a * vocab + b] = number of times b follows a [vocab * vocab]. */
  counts: Float64Array;
  /** rowTotals[a] = number of pairs starting with a [vocab]. */
  rowTotals: Float64Array;
}

/** Options of {@link fitBigram}. */
export interface BigramOptions {
  /** Vocabulary size. Default VOCAB_SIZE (259). */
  vocab?: number;
  /** Additive smoothing, > 0. Default 1 (Laplace). */
  alpha?: number;
}

/** Options of {@link bigramLoss}. */
export interface BigramLossOptions {
  /**
   * Score `tokens` as consecutive rows of this many tokens (as a model scores windows), so pairs
   * that straddle two rows are skipped. Default: one row (every adjacent pair counts).
   */
  rowLength?: number;
}

/**
 * Counts adjacent pairs of `tokens` (pairs whose next token is PAD are skipped: padding is never a
 * target). `tokens`: Int32Array or number array [n].
 */
export function fitBigram(tokens: ArrayLike<number>, options: BigramOptions = {}): BigramModel {
  checkKnownKeys('fitBigram', options, ['vocab', 'alpha']);
  const vocab = checkPositiveInt('fitBigram', 'vocab', options.vocab ?? VOCAB_SIZE);
  const alpha = options.alpha ?? 1;
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) {
    throw new Error(`fitBigram: alpha must be a finite number > 0 (unsmoothed counts give infinite loss on unseen pairs), got ${describe(alpha)}`);
  }
  if (tokens === null || typeof tokens !== 'object' || typeof tokens.length !== 'number' || tokens.length < 2) {
    throw new Error(`fitBigram: need at least 2 tokens to count a pair, got ${describe(tokens)}`);
  }
  checkTokenIds('fitBigram', tokens, vocab);
  const counts = new Float64Array(vocab * vocab);
  const rowTotals = new Float64Array(vocab);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const a = tokens[i];
    const b = tokens[i + 1];
    if (b === PAD && vocab === VOCAB_SIZE) continue;
    counts[a * vocab + b] += 1;
    rowTotals[a] += 1;
  }
  return { vocab, alpha, counts, rowTotals };
}

/** log P(next | prev) under the smoothed model (natural log). */
export function bigramLogProb(model: BigramModel, prev: number, next: number): number {
  const { vocab, alpha, counts, rowTotals } = model;
  return Math.log((counts[prev * vocab + next] + alpha) / (rowTotals[prev] + alpha * vocab));
}

/**
 * Mean next-token negative log-likelihood (nats) of `tokens` under the bigram model: the average
 * of -log P(t[i+1] | t[i]) over the scored pairs (pairs whose target is PAD are skipped; with
 * `rowLength`, pairs across row boundaries too). Comparable to a language model's mean
 * cross-entropy on the same windows.
 */
export function bigramLoss(model: BigramModel, tokens: ArrayLike<number>, options: BigramLossOptions = {}): number {
  checkKnownKeys('bigramLoss', options, ['rowLength']);
  if (model === null || typeof model !== 'object' || !isFloat64Array(model.counts) || model.counts.length !== model.vocab * model.vocab) {
    throw new Error('bigramLoss: model must come from fitBigram');
  }
  const rowLength = options.rowLength === undefined ? Infinity : checkPositiveInt('bigramLoss', 'rowLength', options.rowLength);
  if (tokens === null || typeof tokens !== 'object' || typeof tokens.length !== 'number') {
    throw new Error(`bigramLoss: tokens must be an array of token ids, got ${describe(tokens)}`);
  }
  checkTokenIds('bigramLoss', tokens, model.vocab);
  // Count the scored pairs first, then take one log per distinct pair (Math.log per token is slow in jest's vm contexts).
  const { vocab } = model;
  const pairs = new Float64Array(vocab * vocab);
  let n = 0;
  for (let i = 0; i + 1 < tokens.length; i++) {
    if ((i + 1) % rowLength === 0) continue; // t[i+1] starts a new row
    const b = tokens[i + 1];
    if (b === PAD && vocab === VOCAB_SIZE) continue;
    pairs[tokens[i] * vocab + b] += 1;
    n += 1;
  }
  if (n === 0) throw new Error(`bigramLoss: no token pair to score in ${tokens.length} tokens (rowLength ${rowLength}); pass at least 2 tokens per row`);
  let total = 0;
  for (let p = 0; p < pairs.length; p++) {
    if (pairs[p] > 0) total -= pairs[p] * bigramLogProb(model, Math.floor(p / vocab), p % vocab);
  }
  return total / n;
}
