/**
 * Text with a passage repeated far back: the data where information must flow further than one
 * attention group, which the paper's Table 1 is about (§3.2: short attention "lacks information
 * exchange between groups"; the shift restores it).
 *
 * Byte-level prose is predicted mostly from the last few hundred bytes, so ordinary perplexity
 * barely needs attention across a group of G = N/4 tokens. Here a window of real text has the P
 * tokens at [a, a + P) written again at [b, b + P) with b - a >= minDistance: every token of the
 * second copy is predictable from a token at distance b - a, and only from there. A model that can
 * attend that far (and has learnt to copy) predicts the copy almost exactly; one that cannot
 * predicts it as ordinary text. Used two ways:
 *
 * - training: {@link RepeatedPassageBatcher}, a `WindowBatcher` whose windows carry such a repeat
 *   with probability `share` (labels are the inputs: ordinary next-token loss everywhere);
 * - evaluation: {@link longRangeWindows}, fixed windows with labels only on the second copy (after
 *   its first `cue` tokens, which say which passage is being repeated), and the same windows with
 *   the first copy replaced by unrelated text (the control: what the copy is worth without the
 *   source). lib/eval `evaluateLongRange` scores them.
 */
import { IGNORE_INDEX } from '../util/constants';
import { Rng, deriveSeed } from '../util/rng';
import { checkKnownKeys, checkPositiveInt, checkSeed, describe } from '../util/options';
import { isInt32Array } from '../util/typed-arrays';
import { WindowBatcher } from './batcher';
import type { BatcherState, WindowBatch } from './batcher';

/** Where the copy sits in a window. */
export interface RepeatPlacement {
  /** First token of the source passage. */
  source: number;
  /** First token of the copy; `copy - source` is the distance every copied token looks back. */
  copy: number;
  /** Passage length P. */
  length: number;
}

/** Options shared by the training batcher and the evaluation windows. */
export interface RepeatOptions {
  /** Tokens per window N. */
  seqLen: number;
  /** Tokens copied, P (default 64). */
  passageLength?: number;
  /** Smallest distance copy - source (default N / 2: beyond every group size the paper tries, N/2 to N/8). */
  minDistance?: number;
}

function resolveRepeat(where: string, o: RepeatOptions): Required<RepeatOptions> {
  const seqLen = checkPositiveInt(where, 'seqLen', o.seqLen);
  const passageLength = o.passageLength === undefined ? 64 : checkPositiveInt(where, 'passageLength', o.passageLength);
  const minDistance = o.minDistance === undefined ? Math.floor(seqLen / 2) : checkPositiveInt(where, 'minDistance', o.minDistance);
  if (minDistance < passageLength) throw new Error(`${where}: minDistance = ${minDistance} is shorter than passageLength = ${passageLength}; the copies would overlap: raise minDistance or shorten the passage`);
  if (minDistance + passageLength > seqLen) {
    throw new Error(`${where}: minDistance + passageLength = ${minDistance + passageLength} exceeds seqLen = ${seqLen}; no copy fits: use a longer window, a shorter passage or a smaller minDistance`);
  }
  return { seqLen, passageLength, minDistance };
}

/** Draws a placement: distance uniform in [minDistance, N - P], then the source uniformly where both copies fit. */
export function drawPlacement(rng: Rng, o: Required<RepeatOptions>): RepeatPlacement {
  const { seqLen: n, passageLength: p, minDistance } = o;
  const distance = minDistance + Math.floor(rng.next() * (n - p - minDistance + 1));
  const source = Math.floor(rng.next() * (n - p - distance + 1));
  return { source, copy: source + distance, length: p };
}

/** Writes the passage at `source` again at `copy` (in place). */
export function applyRepeat(row: Int32Array, placement: RepeatPlacement): void {
  row.copyWithin(placement.copy, placement.source, placement.source + placement.length);
}

/** Options of {@link RepeatedPassageBatcher}. */
export interface RepeatedPassageBatcherOptions extends RepeatOptions {
  batchSize: number;
  /** Share of windows that carry a repeat (default 0.5). */
  share?: number;
  /** Seed of the window order and of the placements (default 0). */
  seed?: number;
}

/**
 * Training windows of `stream` (as `WindowBatcher`), a share of them with a passage repeated at a
 * distance of at least `minDistance`. Placements depend only on (seed, batch index, row), so
 * `state()` / `restore()` resume exactly.
 */
export class RepeatedPassageBatcher {
  private readonly windows: WindowBatcher;
  private readonly repeat: Required<RepeatOptions>;
  private readonly share: number;
  private readonly seed: number;

  constructor(stream: Int32Array, options: RepeatedPassageBatcherOptions) {
    if (options === null || typeof options !== 'object') throw new Error(`RepeatedPassageBatcher: options = ${describe(options)} must be { seqLen, batchSize, ... }`);
    checkKnownKeys('RepeatedPassageBatcher', options, ['seqLen', 'batchSize', 'passageLength', 'minDistance', 'share', 'seed']);
    this.repeat = resolveRepeat('RepeatedPassageBatcher', options);
    const share = options.share ?? 0.5;
    if (typeof share !== 'number' || !(share >= 0 && share <= 1)) throw new Error(`RepeatedPassageBatcher: share = ${describe(share)} must be a number in [0, 1] (the fraction of windows with a repeat)`);
    this.share = share;
    this.seed = options.seed === undefined ? 0 : checkSeed('RepeatedPassageBatcher', options.seed);
    this.windows = new WindowBatcher(stream, { seqLen: options.seqLen, batchSize: options.batchSize, seed: this.seed });
  }

  next(): WindowBatch & { repeats: Array<RepeatPlacement | null> } {
    const batch = this.windows.next();
    const rng = new Rng(deriveSeed(this.seed, 1_000_003 + batch.index));
    const repeats: Array<RepeatPlacement | null> = [];
    for (let r = 0; r < batch.batchSize; r++) {
      const hasRepeat = rng.next() < this.share;
      const placement = drawPlacement(rng, this.repeat); // drawn either way, so rows do not shift each other's draws
      if (!hasRepeat) {
        repeats.push(null);
        continue;
      }
      const n = batch.seqLen;
      applyRepeat(batch.inputIds.subarray(r * n, (r + 1) * n), placement);
      applyRepeat(batch.labels.subarray(r * n, (r + 1) * n), placement);
      repeats.push(placement);
    }
    return { ...batch, repeats };
  }

  state(): BatcherState {
    return this.windows.state();
  }

  restore(state: unknown): void {
    this.windows.restore(state as BatcherState);
  }
}

/** Options of {@link longRangeWindows}. */
export interface LongRangeWindowOptions extends RepeatOptions {
  /** Number of windows (default 16). */
  count?: number;
  /** Leading tokens of the copy left unscored: they announce which passage repeats (default 8). */
  cue?: number;
  /** Seed of the window starts and placements (default 0). */
  seed?: number;
}

/** One evaluation window, its control, and where the copy is. */
export interface LongRangeWindow {
  /** The window with the repeat `[seqLen]`. */
  inputIds: Int32Array;
  /** The same window with the source passage replaced by unrelated text (no repeat) `[seqLen]`. */
  controlIds: Int32Array;
  /** IGNORE_INDEX except on the copy's tokens after the cue `[seqLen]`. */
  labels: Int32Array;
  placement: RepeatPlacement;
}

/**
 * Fixed evaluation windows from `tokens` (held-out text): each a real window with its passage
 * repeated at distance >= minDistance, labels on the copy after its cue, and a control with the
 * source overwritten by text from elsewhere. Deterministic for a seed.
 */
export function longRangeWindows(tokens: Int32Array, options: LongRangeWindowOptions): LongRangeWindow[] {
  if (!isInt32Array(tokens)) throw new Error(`longRangeWindows: tokens must be an Int32Array (e.g. encode(mobyDickText())), got ${describe(tokens)}`);
  if (options === null || typeof options !== 'object') throw new Error(`longRangeWindows: options = ${describe(options)} must be { seqLen, ... }`);
  checkKnownKeys('longRangeWindows', options, ['seqLen', 'passageLength', 'minDistance', 'count', 'cue', 'seed']);
  const repeat = resolveRepeat('longRangeWindows', options);
  const count = options.count === undefined ? 16 : checkPositiveInt('longRangeWindows', 'count', options.count);
  const cue = options.cue ?? 8;
  if (!Number.isSafeInteger(cue) || cue < 0 || cue >= repeat.passageLength) throw new Error(`longRangeWindows: cue = ${describe(cue)} must be an integer in [0, passageLength = ${repeat.passageLength})`);
  const n = repeat.seqLen;
  if (tokens.length < 2 * n) throw new Error(`longRangeWindows: the text has ${tokens.length} tokens; it needs at least ${2 * n} (two windows of ${n}) to take windows and control passages from`);
  const rng = new Rng(options.seed === undefined ? 0 : checkSeed('longRangeWindows', options.seed));
  const out: LongRangeWindow[] = [];
  for (let w = 0; w < count; w++) {
    const start = Math.floor(rng.next() * (tokens.length - n + 1));
    const placement = drawPlacement(rng, repeat);
    const inputIds = tokens.slice(start, start + n);
    // the control's replacement passage: text from outside this window
    let other = Math.floor(rng.next() * (tokens.length - repeat.passageLength + 1));
    // (n >= 2P, so when the window leaves no room after it, [0, P) lies before it)
    if (other + repeat.passageLength > start && other < start + n) other = start + n + repeat.passageLength <= tokens.length ? start + n : 0;
    applyRepeat(inputIds, placement);
    const controlIds = inputIds.slice();
    controlIds.set(tokens.subarray(other, other + repeat.passageLength), placement.source);
    const labels = new Int32Array(n).fill(IGNORE_INDEX);
    for (let t = placement.copy + cue; t < placement.copy + placement.length; t++) labels[t] = inputIds[t];
    out.push({ inputIds, controlIds, labels, placement });
  }
  return out;
}
