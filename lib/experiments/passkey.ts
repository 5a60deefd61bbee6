/**
 * Passkey retrieval in miniature: train a byte-level Llama on the passkey task at one length, then
 * measure retrieval accuracy by prompt length and key depth (the protocol of the official
 * `passkey_retrivial.py`, ../shared/reference/longlora.md §6.2, with our own seeded keys).
 *
 * The paper fine-tunes Llama-2 7B, which can already read; our small models start from nothing, so
 * they are trained on the task itself, in three phases: repeated random strings (lib/data
 * `repeatedStringExamples`), where the look-back that retrieval needs (an induction head) forms in a
 * few hundred updates; short passkey episodes (lib/data `passkeyTrainingExamples` without the task
 * line, 3-5 digit keys) where the key sits a few dozen tokens before the question; then official
 * prompts of the training length with varied filler. Without the first phase, 30 minutes of passkey
 * prompts alone (short or full length, any of the loss and rate settings tried) left the answer at
 * chance. The point is what LongLoRA measures with it: how retrieval holds up at and beyond the
 * trained context, and how it extends with context extension.
 */
import { tf } from '../backend';
import { LlamaForCausalLM, KVCache, extendContext, presets } from '../model';
import type { LlamaConfig } from '../model';
import { Trainer } from '../train/trainer';
import type { BatchSource, TrainBatch, StepInfo } from '../train/trainer';
import { passkeyTrainingExamples, passkeyPromptLength, repeatedStringExamples, collateExamples } from '../data';
import type { KeyDigits, LabeledExample } from '../data';
import { evaluatePasskey } from '../eval/passkey';

export interface PasskeyExperimentOptions {
  /** The model to train from scratch (default presets.small). */
  config?: LlamaConfig;
  /** Training length in tokens; the model is extended to it with linear position interpolation when needed (default 512). */
  seqLen?: number;
  /** Optimizer updates at most on the full-length prompts (default 100000: `minutes` decides). */
  steps?: number;
  /** Minutes of training in all, warm-up included (default 30). */
  minutes?: number;
  /**
   * Minutes of the first phase (default 5): repeated random strings of 4-16 characters
   * (`repeatedStringExamples`, `copySeqLen` tokens, batches of `copyBatchSize`), loss on the repeat.
   * Nearly every label there needs the look-back that retrieval needs, so it forms in a few hundred
   * updates; from passkey prompts alone (one answer per prompt) 30 minutes did not form it.
   */
  copyMinutes?: number;
  /** Tokens per repeated-string example (default 40). */
  copySeqLen?: number;
  /** Examples per update in the first phase (default 32). */
  copyBatchSize?: number;
  /**
   * Minutes of the second phase (default 10): short episodes (`passkeyTrainingExamples` with
   * `taskDescription: false`, `warmupSeqLen` tokens, at most ~20 filler characters), where the key
   * sits a few dozen tokens before the question.
   */
  warmupMinutes?: number;
  /** Tokens per short episode in the second phase (default 128). */
  warmupSeqLen?: number;
  /** Episodes per update in the second phase (default 16). */
  warmupBatchSize?: number;
  /** Prompts per update in the last phase, at `seqLen` (default 4; filler 5-100% of what fits). */
  batchSize?: number;
  /** Learning rate of every phase (AdamW (0.9, 0.95), 30 warm-up steps, then constant; default 3e-3). */
  lr?: number;
  seed?: number;
  keyDigits?: KeyDigits;
  /**
   * Which tokens of the passkey phases the loss counts (lib/data `labels`): `'answer'` (default) the
   * answer only; `'retrieval'` also the key's second mention (at a fixed distance from the first, so
   * a positional head learns it without learning retrieval).
   */
  loss?: 'answer' | 'retrieval';
  /** Evaluate (20 trials at the training length) every this many full-length updates; stop early at `stopAt` accuracy. */
  evalEvery?: number;
  stopAt?: number;
  /** Prompt lengths (tokens) for the final accuracy-by-length table (default [0.5, 0.75, 1, 1.5, 2] x seqLen). */
  evalLengths?: number[];
  /** Trials per length in the final table (default 20). */
  trials?: number;
  log?: (line: string) => void;
  onStep?: (info: StepInfo) => void;
}

export interface PasskeyLengthAccuracy {
  /** One trial's expected and generated completion, for the log. */
  sample: { expected: string; output: string };
  promptTokens: number;
  garbageChars: number;
  trials: number;
  accuracy: number;
  /** accuracy by key depth: [0, 1/3), [1/3, 2/3), [2/3, 1] */
  byDepth: Array<number | null>;
  beyondTrainingLength: boolean;
}

export interface PasskeyExperimentResult {
  settings: Required<Omit<PasskeyExperimentOptions, 'config' | 'log' | 'onStep' | 'evalLengths'>> & { evalLengths: number[]; model: string };
  /** The model's own context (a longer training length extends it by linear position interpolation before any training). */
  baseContext: number;
  /** Updates on repeated strings, on short episodes and on full-length prompts. */
  copySteps: number;
  warmupSteps: number;
  steps: number;
  trainSeconds: number;
  finalLoss: number;
  /** Accuracy at the training length during training: [step, accuracy]. */
  curve: Array<[number, number]>;
  byLength: PasskeyLengthAccuracy[];
}

/** Filler characters that make a prompt (with BOS and the longest key) `tokens` long, answer included. */
export function garbageForTokens(tokens: number, keyDigits = 5): number {
  return tokens - 1 - passkeyPromptLength(0, keyDigits) - (1 + keyDigits + 1);
}

/** Training batches of `make(start, count)` examples (all of one length): example i of the stream is example i of the generator (resumable). */
class ExampleBatches implements BatchSource {
  private next_ = 0;
  constructor(
    private readonly batchSize: number,
    private readonly seqLen: number,
    private readonly make: (start: number, count: number) => LabeledExample[],
  ) {}

  next(): TrainBatch {
    const examples = this.make(this.next_, this.batchSize);
    this.next_ += this.batchSize;
    return collateExamples(examples, { padTo: this.seqLen });
  }

  state(): number {
    return this.next_;
  }

  restore(s: unknown): void {
    this.next_ = Number(s);
  }
}

/** Accuracy of `model` on `trials` seeded passkey prompts of `promptTokens` tokens, with per-depth thirds (lib/eval `evaluatePasskey`). */
export function passkeyAccuracyAt(model: LlamaForCausalLM, promptTokens: number, trials: number, seed: number, keyDigits: KeyDigits, allowExtrapolation: boolean): PasskeyLengthAccuracy {
  const garbageChars = garbageForTokens(promptTokens);
  if (garbageChars < 1) throw new Error(`passkey: ${promptTokens} tokens are too few for a passkey prompt (needs about ${promptTokens - garbageChars + 1})`);
  let sample = { expected: '', output: '' };
  const onTrial = (t: { trial: number; answer: string; output: string }) => {
    if (t.trial === 0) sample = { expected: ` ${t.answer}`, output: t.output };
  };
  const [r] = evaluatePasskey(model, { garbageChars: [garbageChars], trials, seed, keyDigits, depthBins: 3, allowExtrapolation, onTrial }, (n) => new KVCache(n));
  return {
    sample,
    promptTokens,
    garbageChars,
    trials,
    accuracy: r.accuracy,
    byDepth: r.byDepth.map((d) => d.accuracy),
    beyondTrainingLength: allowExtrapolation,
  };
}

/**
 * AdamW (0.9, 0.95) at a constant rate after 30 warm-up steps. Every phase is bounded by time (and
 * the caller's own update cap), so the trainer's step count only has to be out of reach.
 */
function phaseTrainer(model: LlamaForCausalLM, batches: BatchSource, lr: number): Trainer {
  return new Trainer(model, batches, {
    steps: Number.MAX_SAFE_INTEGER,
    lr,
    schedule: 'constant_with_warmup',
    warmupSteps: 30,
    betas: [0.9, 0.95],
    weightDecay: 0.01,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
}

/** Trains `config` on the passkey mix and measures accuracy by length (see the file comment). */
export async function runPasskeyExperiment(options: PasskeyExperimentOptions = {}): Promise<PasskeyExperimentResult> {
  const {
    config = presets.small,
    seqLen = 512,
    steps = 100000,
    minutes = 30,
    copyMinutes = 5,
    copySeqLen = 40,
    copyBatchSize = 32,
    warmupMinutes = 10,
    warmupSeqLen = 128,
    warmupBatchSize = 16,
    batchSize = 4,
    lr = 3e-3,
    seed = 0,
    keyDigits = [3, 5] as KeyDigits,
    loss = 'answer',
    evalEvery = 50,
    stopAt = 0.95,
    trials = 20,
    log = () => undefined,
    onStep,
  } = options;
  if (!(copyMinutes >= 0 && warmupMinutes >= 0 && copyMinutes + warmupMinutes <= minutes)) {
    throw new Error(`runPasskeyExperiment: copyMinutes = ${copyMinutes} and warmupMinutes = ${warmupMinutes} must be >= 0 and leave time in minutes = ${minutes}`);
  }
  const evalLengths = options.evalLengths ?? [0.5, 0.75, 1, 1.5, 2].map((f) => Math.round(f * seqLen));
  // a training length past the model's context is reached by linear position interpolation from
  // the start: extending between phases (after the look-back had formed at the original positions)
  // left the full-length phase at 0-5% in 200 updates, the circuit's relative offsets all halved
  const base = LlamaForCausalLM.create(config, { seed });
  const model = seqLen > base.config.maxPositionEmbeddings ? extendContext(base, seqLen, 'linear') : base;
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 60_000).toFixed(1)} min`;
  const curve: Array<[number, number]> = [];
  let lastLoss = NaN;
  let trainer: Trainer | null = null;
  /** Trains on `batches` until `until` (ms); returns the updates made. */
  const timedPhase = async (name: string, batches: BatchSource, until: number): Promise<number> => {
    trainer = phaseTrainer(model, batches, lr);
    let updates = 0;
    let sum = 0;
    while (performance.now() < until) {
      const record = await trainer.trainStep();
      updates++;
      sum += record.loss;
      onStep?.(record as StepInfo);
      if (updates % 50 === 0) {
        log(`${name}, update ${updates}: mean loss ${(sum / 50).toFixed(4)} (${elapsed()})`);
        sum = 0;
      }
    }
    trainer.dispose();
    trainer = null;
    return updates;
  };
  let done = 0;
  try {
    const copySteps = copyMinutes > 0
      ? await timedPhase('repeated strings', new ExampleBatches(copyBatchSize, copySeqLen, (start, count) => repeatedStringExamples({ seqLen: copySeqLen, count, start, seed: seed + 2 })), started + copyMinutes * 60_000)
      : 0;
    const shortEpisodes = (start: number, count: number) =>
      passkeyTrainingExamples({ seqLen: warmupSeqLen, count, start, seed: seed + 1, keyDigits, filler: [0.05, 1], taskDescription: false, labels: loss });
    const warmupDone = warmupMinutes > 0 ? await timedPhase('short episodes', new ExampleBatches(warmupBatchSize, warmupSeqLen, shortEpisodes), started + (copyMinutes + warmupMinutes) * 60_000) : 0;
    const prompts = (start: number, count: number) => passkeyTrainingExamples({ seqLen, count, start, seed, keyDigits, filler: [0.05, 1], labels: loss });
    trainer = phaseTrainer(model, new ExampleBatches(batchSize, seqLen, prompts), lr);
    const deadline = started + minutes * 60_000;
    while (done < steps && performance.now() < deadline) {
      const record = await trainer.trainStep();
      done += 1;
      lastLoss = record.loss;
      onStep?.(record as StepInfo);
      if (done % evalEvery === 0 || done === steps) {
        const check = passkeyAccuracyAt(model, seqLen, 20, 1000 + seed, keyDigits, false);
        curve.push([done, check.accuracy]);
        log(`update ${done} at ${seqLen} tokens: loss ${record.loss.toFixed(4)}, passkey accuracy ${(100 * check.accuracy).toFixed(0)}% (e.g. ${JSON.stringify(check.sample.expected)} -> ${JSON.stringify(check.sample.output)}; ${elapsed()})`);
        if (check.accuracy >= stopAt) break;
      }
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const byLength = evalLengths.map((n) => {
      const r = passkeyAccuracyAt(model, n, trials, 2000 + seed, keyDigits, n > seqLen);
      log(`passkey accuracy at ${n} tokens: ${(100 * r.accuracy).toFixed(0)}% (${trials} trials)`);
      return r;
    });
    return {
      settings: { seqLen, steps, minutes, copyMinutes, copySeqLen, copyBatchSize, warmupMinutes, warmupSeqLen, warmupBatchSize, batchSize, lr, seed, keyDigits, loss, evalEvery, stopAt, trials, evalLengths, model: `${config === presets.small ? 'presets.small' : 'custom'} (${tf.getBackend()})` },
      baseContext: base.config.maxPositionEmbeddings,
      copySteps,
      warmupSteps: warmupDone,
      steps: done,
      trainSeconds,
      finalLoss: lastLoss,
      curve,
      byLength,
    };
  } finally {
    trainer?.dispose();
    model.dispose();
    if (model !== base) base.dispose();
  }
}
