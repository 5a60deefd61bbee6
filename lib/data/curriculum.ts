/**
 * The passkey training's batch sources, resumable and seeded: repeated random strings (where a
 * model that starts from nothing forms the look-back retrieval needs; lib/data `copy.ts`), then a
 * length curriculum of passkey prompts in the official `passkey_retrivial.py` layout (lib/data
 * `passkey.ts`): stages of growing length, each update drawn from the current stage or, for
 * review, an earlier one. Both satisfy the trainer's `BatchSource` (lib/train) structurally; lib/data
 * sits below lib/train, so the shape is {@link LabeledBatchSource} here.
 */
import { PAD } from './tokenizer';
import { collateExamples } from './examples';
import type { LabeledBatch, LabeledExample } from './examples';
import { repeatedStringExamples } from './copy';
import type { RepeatedStringOptions } from './copy';
import { passkeyExampleMinTokens, passkeyTrainingExamples } from './passkey';
import type { KeyDigits, PasskeyExample } from './passkey';
import { Rng } from '../util/rng';
import type { RngState } from '../util/rng';
import { checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe, describeValue } from '../util/options';

/** A resumable stream of labelled batches: the trainer's `BatchSource` (lib/train), by shape. */
export interface LabeledBatchSource {
  next(): LabeledBatch;
  /** The position as plain JSON. */
  state(): unknown;
  /** Continue from what `state()` returned. */
  restore(state: unknown): void;
}

/** Options of {@link RepeatedStringBatches}: those of `repeatedStringExamples` but count and start, plus the batch size. */
export interface RepeatedStringBatchesOptions extends Omit<RepeatedStringOptions, 'count' | 'start'> {
  /** Examples per batch. */
  batchSize: number;
}

/** Repeated-string batches of `batchSize` x `seqLen`: example i of the stream is example i of `repeatedStringExamples` (resumable). */
export class RepeatedStringBatches implements LabeledBatchSource {
  private next_ = 0;
  private readonly options: RepeatedStringBatchesOptions;

  constructor(options: RepeatedStringBatchesOptions) {
    checkKnownKeys('RepeatedStringBatches', options, ['batchSize', 'seqLen', 'seed', 'alphabet', 'chars', 'distinct']);
    if (options === undefined) throw new Error('RepeatedStringBatches: pass { batchSize, seqLen }');
    checkPositiveInt('RepeatedStringBatches', 'batchSize', options.batchSize);
    this.options = { ...options };
    this.examples(0, 1); // the generator checks the rest, naming the option and its fix
  }

  private examples(start: number, count: number): LabeledExample[] {
    const { seqLen, seed, alphabet, chars, distinct } = this.options;
    return repeatedStringExamples({ seqLen, count, start, seed, alphabet, chars, distinct });
  }

  next(): LabeledBatch {
    const { batchSize, seqLen } = this.options;
    const batch = collateExamples(this.examples(this.next_, batchSize), { padTo: seqLen });
    this.next_ += batchSize;
    return batch;
  }

  state(): number {
    return this.next_;
  }

  restore(state: unknown): void {
    this.next_ = checkNonNegativeInt('RepeatedStringBatches.restore', 'state', state);
  }
}

/** A stage of the curriculum as {@link CurriculumBatches} sees it: examples of up to `length` tokens with filler in a given range. */
export interface CurriculumStageSource {
  /** Longest example, in tokens. */
  length: number;
  /** Tokens an example takes besides its filler (longest key). */
  fixedTokens: number;
  /** Examples start .. start + count - 1 of the stage, filler fractions drawn from `filler`; each `length` long, PAD after its end. */
  make: (start: number, count: number, filler: [number, number]) => LabeledExample[];
}

/** Options of {@link CurriculumBatches}. */
export interface CurriculumBatchesOptions {
  /** The stages, ascending in length. */
  stages: ReadonlyArray<CurriculumStageSource>;
  /** Tokens per update: a batch of prompts up to L tokens long holds round(tokensPerUpdate / L) of them. */
  tokensPerUpdate: number;
  /** Share in [0, 1) of updates drawn, uniformly, from an earlier stage than the current one. */
  review: number;
  /** Filler range [min, max] as fractions of what fits, 0 < min <= max <= 1. */
  filler: [number, number];
  /** Equal bins of the filler range, one per update, padded to that bin's longest prompt; 1 pads to the stage's length. */
  lengthBins: number;
  /** Seed of the stage, review and bin draws. */
  seed: number;
  /** Filler range of the last stage's own updates (default `filler`). */
  finalFiller?: [number, number];
  /** Review share once at the last stage (default `review`). */
  finalReview?: number;
}

function checkShare(where: string, name: string, value: unknown, what: string): number {
  if (!(typeof value === 'number' && value >= 0 && value < 1)) throw new Error(`${where}: ${name} = ${describe(value)} must be in [0, 1) (${what})`);
  return value;
}

function checkFillerRange(where: string, name: string, range: unknown): [number, number] {
  if (!(Array.isArray(range) && range.length === 2 && typeof range[0] === 'number' && typeof range[1] === 'number' && range[0] > 0 && range[0] <= range[1] && range[1] <= 1)) {
    throw new Error(`${where}: ${name} must be a range [min, max] with 0 < min <= max <= 1 (fractions of the filler that fits), got ${describeValue(range)}`);
  }
  return [range[0], range[1]];
}

/** The example without its trailing padding (a passkey example is PAD after its EOS). */
function trimPadding(example: LabeledExample): LabeledExample {
  let end = example.inputIds.length;
  while (end > 1 && example.inputIds[end - 1] === PAD) end--;
  return { inputIds: example.inputIds.subarray(0, end), labels: example.labels.subarray(0, end) };
}

/**
 * Curriculum batches: each update one stage's prompts, of the current stage or (with probability
 * `review`) of an earlier one, numbered across the stream. With `lengthBins` > 1 the filler range
 * is cut into that many equal bins, one bin per update; its prompts are padded only to the
 * longest of them and number round(tokensPerUpdate / the bin's longest length), so short prompts
 * do not cost the compute of long ones. With 1 bin every prompt is padded to the stage's length.
 * The caller moves to the next stage with {@link advance}.
 */
export class CurriculumBatches implements LabeledBatchSource {
  private stage_ = 0;
  private next_ = 0;
  private readonly rng: Rng;
  private readonly stages: ReadonlyArray<CurriculumStageSource>;
  private readonly tokensPerUpdate: number;
  private readonly lengthBins: number;
  private readonly review: number;
  private readonly filler: [number, number];
  private readonly finalReview: number;
  private readonly finalFiller: [number, number];

  constructor(options: CurriculumBatchesOptions) {
    const where = 'CurriculumBatches';
    checkKnownKeys(where, options, ['stages', 'tokensPerUpdate', 'review', 'filler', 'lengthBins', 'seed', 'finalFiller', 'finalReview']);
    if (options === undefined) throw new Error(`${where}: pass { stages, tokensPerUpdate, review, filler, lengthBins, seed }`);
    const { stages } = options;
    if (!Array.isArray(stages) || stages.length === 0) throw new Error(`${where}: stages must be a non-empty array of { length, fixedTokens, make }, got ${describe(stages)}`);
    stages.forEach((s: CurriculumStageSource, i) => {
      if (!(Number.isSafeInteger(s?.length) && s.length >= 2 && Number.isSafeInteger(s.fixedTokens) && s.fixedTokens >= 0 && s.fixedTokens < s.length && typeof s.make === 'function')) {
        throw new Error(`${where}: stage ${i} must be { length: integer >= 2, fixedTokens: integer in [0, length), make: function }, got length ${describe(s?.length)}, fixedTokens ${describe(s?.fixedTokens)}`);
      }
      if (i > 0 && s.length <= stages[i - 1].length) throw new Error(`${where}: stage lengths must ascend, got ${stages.map((x: CurriculumStageSource) => x.length).join(', ')}`);
    });
    this.stages = stages;
    this.tokensPerUpdate = checkPositiveInt(where, 'tokensPerUpdate', options.tokensPerUpdate);
    if (!(Number.isSafeInteger(options.lengthBins) && options.lengthBins >= 1)) {
      throw new Error(`${where}: lengthBins must be a positive integer (1 pads every prompt to its stage's length), got ${describe(options.lengthBins)}`);
    }
    this.lengthBins = options.lengthBins;
    this.review = checkShare(where, 'review', options.review, 'the share of updates from an earlier stage');
    this.filler = checkFillerRange(where, 'filler', options.filler);
    this.finalReview = options.finalReview === undefined ? this.review : checkShare(where, 'finalReview', options.finalReview, 'the share of updates from an earlier stage once at the training length');
    this.finalFiller = options.finalFiller === undefined ? this.filler : checkFillerRange(where, 'finalFiller', options.finalFiller);
    this.rng = new Rng(checkSeed(where, options.seed));
  }

  /** The current stage's index. */
  get stage(): number {
    return this.stage_;
  }

  /** Whether the current stage is the last. */
  get atLastStage(): boolean {
    return this.stage_ === this.stages.length - 1;
  }

  /** Move to the next stage. */
  advance(): void {
    if (this.atLastStage) throw new Error(`CurriculumBatches.advance: already at the last stage (${this.stages[this.stage_].length} tokens); check atLastStage before advancing`);
    this.stage_ += 1;
  }

  next(): LabeledBatch {
    const onLast = this.atLastStage;
    const review = onLast ? this.finalReview : this.review;
    const s = this.stage_ > 0 && this.rng.next() < review ? this.rng.int(this.stage_) : this.stage_;
    const filler = onLast && s === this.stage_ ? this.finalFiller : this.filler;
    const { length, fixedTokens, make } = this.stages[s];
    if (this.lengthBins === 1) {
      const count = Math.max(1, Math.round(this.tokensPerUpdate / length));
      const examples = make(this.next_, count, filler);
      this.next_ += count;
      return collateExamples(examples, { padTo: length });
    }
    const [lo, hi] = filler;
    const bin = this.rng.int(this.lengthBins);
    const range: [number, number] = [lo + ((hi - lo) * bin) / this.lengthBins, lo + ((hi - lo) * (bin + 1)) / this.lengthBins];
    const longest = Math.min(length, Math.ceil(fixedTokens + range[1] * (length - fixedTokens)));
    const count = Math.max(1, Math.round(this.tokensPerUpdate / longest));
    const examples = make(this.next_, count, range).map(trimPadding);
    this.next_ += count;
    return collateExamples(examples);
  }

  state(): { stage: number; next: number; rng: RngState } {
    return { stage: this.stage_, next: this.next_, rng: this.rng.state() };
  }

  restore(state: unknown): void {
    const st = state as { stage?: unknown; next?: unknown; rng?: RngState } | null;
    const stage = checkNonNegativeInt('CurriculumBatches.restore', 'state.stage', st?.stage);
    if (stage >= this.stages.length) throw new Error(`CurriculumBatches.restore: state.stage = ${stage} but there are ${this.stages.length} stages; restore a state of a curriculum with the same stages`);
    this.next_ = checkNonNegativeInt('CurriculumBatches.restore', 'state.next', st?.next);
    this.rng.restore(st?.rng as RngState);
    this.stage_ = stage;
  }
}

/** A passkey stage: its batches' source plus whether it keeps the task line and the prompts that check it. */
export interface PasskeyCurriculumStage extends CurriculumStageSource {
  /** Whether the stage's prompts keep the official task line (false: too short for it, a short episode). */
  taskDescription: boolean;
  /** `checkTrials` prompts filled to `length` (labels on the answer), for teacher-forced checks of the stage. */
  check: PasskeyExample[];
}

/** Options of {@link passkeyCurriculumStages}. */
export interface PasskeyCurriculumStagesOptions {
  /** Prompt lengths of the stages, ascending. */
  lengths: readonly number[];
  /** Prompts per stage check. */
  checkTrials: number;
  /** Seed of every stage's training prompts; stage L's check prompts use seed + 1000 + L. Default 0. */
  seed?: number;
  /** Key digits (lib/data `passkeyTrainingExamples`; default [3, 5]). */
  keyDigits?: KeyDigits;
  /** Labelled tokens of the training prompts (`passkeyTrainingExamples` `labels`; default 'answer'). */
  labels?: 'answer' | 'retrieval';
  /** Share of training keys that repeat digits (`passkeyTrainingExamples` `repeatedDigitKeys`; default 0). */
  repeatedDigitKeys?: number;
}

/**
 * The passkey curriculum's stages for {@link CurriculumBatches}: stage L draws prompts of up to L
 * tokens from `passkeyTrainingExamples`, with the official task line where it fits for the longest
 * key, without it (a short episode) where not. Example i of every stage comes from (seed, i).
 */
export function passkeyCurriculumStages(options: PasskeyCurriculumStagesOptions): PasskeyCurriculumStage[] {
  const where = 'passkeyCurriculumStages';
  checkKnownKeys(where, options, ['lengths', 'checkTrials', 'seed', 'keyDigits', 'labels', 'repeatedDigitKeys']);
  if (options === undefined) throw new Error(`${where}: pass { lengths, checkTrials }`);
  const { lengths, keyDigits = [3, 5], labels = 'answer', repeatedDigitKeys = 0 } = options;
  const seed = checkSeed(where, options.seed ?? 0);
  const checkTrials = checkPositiveInt(where, 'checkTrials', options.checkTrials);
  const maxDigits = typeof keyDigits === 'number' ? keyDigits : keyDigits[1];
  // one example long enough for any key checks keyDigits, labels and repeatedDigitKeys before they size anything
  passkeyTrainingExamples({ seqLen: 1024, count: 1, keyDigits, labels, repeatedDigitKeys });
  const shortest = passkeyExampleMinTokens(maxDigits, { taskDescription: false });
  if (!Array.isArray(lengths) || lengths.length === 0 || lengths.some((n, i) => !Number.isInteger(n) || n < shortest || (i > 0 && n <= lengths[i - 1]))) {
    throw new Error(`${where}: lengths must be ascending integer prompt lengths >= ${shortest} (a short episode with a ${maxDigits}-digit key), got ${Array.isArray(lengths) && lengths.length > 8 ? JSON.stringify(lengths) : describeValue(lengths)}`);
  }
  const officialMin = passkeyExampleMinTokens(maxDigits);
  return lengths.map((length) => {
    const taskDescription = length >= officialMin;
    return {
      length,
      taskDescription,
      fixedTokens: passkeyExampleMinTokens(maxDigits, { taskDescription }) - 1,
      make: (start: number, count: number, filler: [number, number]) => passkeyTrainingExamples({ seqLen: length, count, start, seed, keyDigits, filler, taskDescription, labels, repeatedDigitKeys }),
      check: passkeyTrainingExamples({ seqLen: length, count: checkTrials, seed: seed + 1000 + length, keyDigits, filler: 1, taskDescription }),
    };
  });
}
