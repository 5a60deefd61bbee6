/**
 * LongLoRA's pre-training data path (official `fine-tune.py`, `tokenize_fn`): the texts are joined
 * with `</s>`, tokenized, and cut into fixed-length rows of `model_max_length` tokens; no mask
 * stops attention across a document boundary, and the labels are the inputs (the model shifts).
 * {@link buildTokenStream} builds the stream, {@link WindowBatcher} cuts and batches it, with a
 * seeded window order per epoch and an exact, JSON-serialisable position for resuming.
 *
 * Differences from the official code, on purpose: the official tokenizer pads the last partial
 * row with PAD; we drop that tail (< seqLen tokens) so every row is real text. The official
 * Trainer shuffles rows with torch's sampler; we shuffle with our own seeded {@link Rng}.
 */
import type { Document } from './corpora';
import { IGNORE_INDEX } from '../util/constants';
import { BOS, EOS, PAD, VOCAB_SIZE, byteLength, checkTokenIds } from './tokenizer';
import { Rng, deriveSeed } from '../util/rng';
import { checkBoolean, checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe } from '../util/options';
import { isInt32Array } from '../util/typed-arrays';

/** Options of {@link buildTokenStream}. */
export interface TokenStreamOptions {
  /** Put one BOS at the very start of the stream (the Llama tokenizer adds it once per tokenized batch of texts). Default false. */
  bos?: boolean;
  /** Join documents with EOS (`eos_token.join(texts)`, so none after the last one). Default true. */
  eos?: boolean;
}

/**
 * Tokenizes documents into one stream: [BOS?] doc0 EOS doc1 EOS ... docN (official
 * `tokenizer(tokenizer.eos_token.join(example["text"]))`). Returns `Int32Array` [totalTokens].
 */
export function buildTokenStream(docs: readonly Document[], options: TokenStreamOptions = {}): Int32Array {
  checkKnownKeys('buildTokenStream', options, ['bos', 'eos']);
  const bos = options.bos === undefined ? false : checkBoolean('buildTokenStream', 'bos', options.bos);
  const eos = options.eos === undefined ? true : checkBoolean('buildTokenStream', 'eos', options.eos);
  if (!Array.isArray(docs)) throw new Error(`buildTokenStream: docs must be an array of documents, got ${describe(docs)}`);
  const encoder = new TextEncoder();
  let total = bos ? 1 : 0;
  docs.forEach((d, i) => {
    if (typeof d?.text !== 'string') throw new Error(`buildTokenStream: document ${i} has no text string`);
    total += byteLength(d.text) + (eos && i > 0 ? 1 : 0);
  });
  const out = new Int32Array(total);
  let o = 0;
  if (bos) out[o++] = BOS;
  docs.forEach((d, i) => {
    if (eos && i > 0) out[o++] = EOS;
    const bytes = encoder.encode(d.text);
    out.set(bytes, o);
    o += bytes.length;
  });
  if (o !== total) throw new Error(`buildTokenStream: internal length mismatch (${o} != ${total})`);
  return out;
}

/** Options of {@link WindowBatcher}. */
export interface WindowBatcherOptions {
  /** Tokens per row (the training context length). */
  seqLen: number;
  /** Rows per batch. */
  batchSize: number;
  /** Seed of the window order; epoch e uses the permutation drawn from `deriveSeed(seed, e)`. Default 0. */
  seed?: number;
  /** Visit windows in a new seeded order each epoch; false visits them in stream order. Default true. */
  shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (every batch then has exactly batchSize rows). Default true. */
  dropLast?: boolean;
}

/** One batch of windows. */
export interface WindowBatch {
  /** Row-major [batchSize, seqLen] token ids; labels are the same ids (the model shifts them). */
  inputIds: Int32Array;
  /** Row-major [batchSize, seqLen]: `inputIds` with PAD replaced by IGNORE_INDEX, for a loss shared with SFT. */
  labels: Int32Array;
  /** Rows in this batch (smaller than requested only for the last batch of an epoch with dropLast false). */
  batchSize: number;
  seqLen: number;
  /** Epoch this batch belongs to (0-based). */
  epoch: number;
  /** Number of batches returned before this one (0-based global step). */
  index: number;
  /** Start offset in the token stream of each row [batchSize]. */
  starts: number[];
}

/** A batcher's position and configuration as plain JSON (see {@link WindowBatcher.state}). */
export interface BatcherState {
  version: 1;
  seqLen: number;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  dropLast: boolean;
  numWindows: number;
  /** Hash of the token stream, so a state is never restored onto different data. */
  tokensHash: number;
  epoch: number;
  /** Windows of the current epoch already handed out. */
  cursor: number;
  /** Batches handed out so far. */
  index: number;
}

/**
 * A 32-bit polynomial hash of the ids: h = (h * 1000003 + id + 1) mod 2^32. Exact in doubles
 * (h * 1000003 < 2^53) and free of builtin calls, which matters in jest: its vm contexts make a
 * `Math.imul` in a 10M-token loop take seconds.
 */
function hashTokens(tokens: Int32Array): number {
  let h = 0;
  for (let i = 0; i < tokens.length; i++) h = (h * 1000003 + tokens[i] + 1) % 4294967296;
  return h;
}

/**
 * Cuts a token stream into non-overlapping windows of `seqLen` tokens (window w covers
 * tokens [w * seqLen, (w + 1) * seqLen); the tail shorter than seqLen is dropped) and hands them
 * out `batchSize` at a time, each epoch in a seeded order. `state()` / `restore()` capture the
 * exact position, so a resumed run sees exactly the batches the uninterrupted run would have.
 */
export class WindowBatcher {
  readonly seqLen: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Number of full windows in the stream. */
  readonly numWindows: number;
  private readonly tokens: Int32Array;
  private readonly tokensHash: number;
  private epoch = 0;
  private cursor = 0;
  private index = 0;
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  constructor(tokens: Int32Array, options: WindowBatcherOptions) {
    if (!isInt32Array(tokens)) throw new Error(`WindowBatcher: tokens must be an Int32Array (see buildTokenStream), got ${describe(tokens)}`);
    checkKnownKeys('WindowBatcher', options, ['seqLen', 'batchSize', 'seed', 'shuffle', 'dropLast']);
    if (options === undefined) throw new Error('WindowBatcher: options { seqLen, batchSize } are required');
    this.seqLen = checkPositiveInt('WindowBatcher', 'seqLen', options.seqLen);
    this.batchSize = checkPositiveInt('WindowBatcher', 'batchSize', options.batchSize);
    this.seed = checkSeed('WindowBatcher', options.seed ?? 0);
    this.shuffle = options.shuffle === undefined ? true : checkBoolean('WindowBatcher', 'shuffle', options.shuffle);
    this.dropLast = options.dropLast === undefined ? true : checkBoolean('WindowBatcher', 'dropLast', options.dropLast);
    checkTokenIds('WindowBatcher', tokens, VOCAB_SIZE);
    this.numWindows = Math.floor(tokens.length / this.seqLen);
    if (this.numWindows === 0) {
      throw new Error(
        `WindowBatcher: the text is too short for one window: it has ${tokens.length} tokens and one window of seqLen ${this.seqLen} needs ${this.seqLen}; use more text or a smaller seqLen`,
      );
    }
    if (this.dropLast && this.numWindows < this.batchSize) {
      throw new Error(
        `WindowBatcher: the text is too short for one batch: ${tokens.length} tokens give ${this.numWindows} windows of ${this.seqLen}, ` +
          `but a batch needs ${this.batchSize} windows (${this.batchSize * this.seqLen} tokens); use more text, a smaller batchSize or seqLen, or dropLast: false`,
      );
    }
    this.tokens = tokens;
    this.tokensHash = hashTokens(tokens);
  }

  /** Batches per epoch: floor(numWindows / batchSize) with dropLast, else ceil. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.numWindows / this.batchSize) : Math.ceil(this.numWindows / this.batchSize);
  }

  /** Window indices of `epoch` in visiting order: a permutation seeded by (seed, epoch), or 0..n-1 without shuffle. */
  windowOrder(epoch: number): Int32Array {
    checkNonNegativeInt('WindowBatcher.windowOrder', 'epoch', epoch);
    if (this.orderEpoch !== epoch || this.order === null) {
      if (this.shuffle) {
        this.order = new Rng(deriveSeed(this.seed, epoch)).permutation(this.numWindows);
      } else {
        this.order = new Int32Array(this.numWindows);
        for (let i = 0; i < this.numWindows; i++) this.order[i] = i;
      }
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The next batch; after the last batch of an epoch the next call starts the following epoch. */
  next(): WindowBatch {
    const usable = this.dropLast ? this.batchesPerEpoch * this.batchSize : this.numWindows;
    if (this.cursor >= usable) {
      this.epoch += 1;
      this.cursor = 0;
    }
    const order = this.windowOrder(this.epoch);
    const rows = Math.min(this.batchSize, usable - this.cursor);
    const { seqLen } = this;
    const inputIds = new Int32Array(rows * seqLen);
    const labels = new Int32Array(rows * seqLen);
    const starts: number[] = [];
    for (let r = 0; r < rows; r++) {
      const start = order[this.cursor + r] * seqLen;
      starts.push(start);
      const window = this.tokens.subarray(start, start + seqLen);
      inputIds.set(window, r * seqLen);
      for (let i = 0; i < seqLen; i++) labels[r * seqLen + i] = window[i] === PAD ? IGNORE_INDEX : window[i];
    }
    const batch: WindowBatch = { inputIds, labels, batchSize: rows, seqLen, epoch: this.epoch, index: this.index, starts };
    this.cursor += rows;
    this.index += 1;
    return batch;
  }

  /** The exact position (and the configuration it is valid for) as plain JSON. */
  state(): BatcherState {
    return {
      version: 1,
      seqLen: this.seqLen,
      batchSize: this.batchSize,
      seed: this.seed,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      numWindows: this.numWindows,
      tokensHash: this.tokensHash,
      epoch: this.epoch,
      cursor: this.cursor,
      index: this.index,
    };
  }

  /**
   * Continues from a state saved by {@link WindowBatcher.state} (possibly after a JSON round
   * trip). The batcher must be built on the same tokens with the same options; otherwise the
   * error names the field that differs.
   */
  restore(state: BatcherState): void {
    if (state === null || typeof state !== 'object' || state.version !== 1) {
      throw new Error(`WindowBatcher.restore: expected a state from WindowBatcher.state() (version 1), got ${describe(state)}`);
    }
    const mine = this.state();
    for (const key of ['seqLen', 'batchSize', 'seed', 'shuffle', 'dropLast', 'numWindows', 'tokensHash'] as const) {
      if (state[key] !== mine[key]) {
        throw new Error(
          `WindowBatcher.restore: state.${key} is ${describe(state[key])} but this batcher has ${describe(mine[key])}; ` +
            'restore into a batcher built on the same tokens with the same options',
        );
      }
    }
    checkNonNegativeInt('WindowBatcher.restore', 'state.epoch', state.epoch);
    checkNonNegativeInt('WindowBatcher.restore', 'state.cursor', state.cursor);
    checkNonNegativeInt('WindowBatcher.restore', 'state.index', state.index);
    if (state.cursor > this.numWindows) {
      throw new Error(`WindowBatcher.restore: state.cursor ${state.cursor} exceeds numWindows ${this.numWindows}; the state is corrupt`);
    }
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.index = state.index;
  }
}
