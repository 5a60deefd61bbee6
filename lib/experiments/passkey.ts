/**
 * Passkey retrieval in miniature: train a byte-level Llama on the passkey task at one length, then
 * measure retrieval accuracy by prompt length and key depth (the protocol of the official
 * `passkey_retrivial.py`, ../shared/reference/longlora.md §6.2, with our own seeded keys).
 *
 * The paper fine-tunes Llama-2 7B, which can already read; our small models start from nothing, so
 * they are trained on the task itself (lib/data `passkeyTrainingExamples`: prompts of the training
 * length with varied filler and 3-5 digit keys). The point is what LongLoRA measures with it: how
 * retrieval holds up at and beyond the trained context, and how it extends with context extension.
 */
import { tf } from '../backend';
import { LlamaForCausalLM, KVCache, extendContext, presets } from '../model';
import type { LlamaConfig } from '../model';
import { Trainer } from '../train/trainer';
import type { BatchSource, TrainBatch, StepInfo } from '../train/trainer';
import { passkeyTrainingExamples, passkeyPromptLength, Rng, PAD } from '../data';
import type { KeyDigits } from '../data';
import { IGNORE_INDEX } from '../data/examples';
import { evaluatePasskey } from '../eval/passkey';

export interface PasskeyExperimentOptions {
  /** The model to train from scratch (default presets.small). */
  config?: LlamaConfig;
  /** Training length in tokens; the model is extended to it with linear position interpolation when needed (default 512). */
  seqLen?: number;
  /** Optimizer updates at most (default 3000); with `loss: 'mixed'` each update is two micro-batches of `batchSize`. */
  steps?: number;
  /** Stop training after this many minutes even if `steps` are not done (default 30). */
  minutes?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  keyDigits?: KeyDigits;
  /**
   * Which tokens the loss counts: the answer only (`'answer'`), every token (`'all'`: the model also
   * learns the text, and the key's second mention in the information line), or `'mixed'` (default):
   * micro-batches alternate between the two and are averaged with equal weight (two per update), so
   * the few answer tokens are not drowned by the rest of the prompt.
   */
  loss?: 'answer' | 'all' | 'mixed';
  /**
   * Minutes of copy warm-up before the passkey mix (default 0): short random strings that repeat
   * (`CopyBatches`), which teach the model to look back and copy what followed the last match (an
   * induction head). Retrieving a pass key is exactly that; a model that starts from nothing learns
   * it far faster from dense copy examples than from passkey prompts, which are mostly filler.
   * Counted in `minutes`.
   */
  copyWarmupMinutes?: number;
  /** Evaluate (20 trials at the training length) every this many updates; stop early at `stopAt` accuracy. */
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

/** Passkey training batches: example i of the stream is example i of passkeyTrainingExamples (resumable). */
class PasskeyBatches implements BatchSource {
  private next_ = 0;
  constructor(
    private readonly seqLen: number,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly keyDigits: KeyDigits,
    private readonly loss: 'answer' | 'all' | 'mixed',
  ) {}

  next(): TrainBatch {
    const examples = passkeyTrainingExamples({ seqLen: this.seqLen, count: this.batchSize, seed: this.seed, start: this.next_, keyDigits: this.keyDigits, filler: [0.25, 1] });
    const answerOnly = this.loss === 'answer' || (this.loss === 'mixed' && (this.next_ / this.batchSize) % 2 === 1);
    this.next_ += this.batchSize;
    const inputIds = new Int32Array(this.batchSize * this.seqLen);
    const labels = new Int32Array(this.batchSize * this.seqLen);
    examples.forEach((e, i) => {
      inputIds.set(e.inputIds, i * this.seqLen);
      if (answerOnly) labels.set(e.labels, i * this.seqLen);
      else for (let t = 0; t < this.seqLen; t++) labels[i * this.seqLen + t] = e.inputIds[t] === PAD ? IGNORE_INDEX : e.inputIds[t];
    });
    return { inputIds, labels, batchSize: this.batchSize, seqLen: this.seqLen };
  }

  state(): number {
    return this.next_;
  }

  restore(s: unknown): void {
    this.next_ = Number(s);
  }
}

/**
 * Copy warm-up batches: rows of random printable ASCII made of a random string A (8-40 characters),
 * a random string B, then A again, and so on to the row's length, with the loss on every token: the
 * repeats of A are predictable only by finding the earlier A and copying.
 */
export class CopyBatches implements BatchSource {
  private rng: Rng;
  constructor(
    private readonly seqLen: number,
    private readonly batchSize: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  next(): TrainBatch {
    const inputIds = new Int32Array(this.batchSize * this.seqLen);
    const chars = () => 32 + this.rng.int(95); // printable ASCII, digits included
    for (let b = 0; b < this.batchSize; b++) {
      const row = b * this.seqLen;
      let t = 0;
      while (t < this.seqLen) {
        const a = Array.from({ length: 8 + this.rng.int(33) }, chars);
        const gap = Array.from({ length: 8 + this.rng.int(33) }, chars);
        for (const piece of [a, gap, a]) for (const c of piece) if (t < this.seqLen) inputIds[row + t++] = c;
      }
    }
    return { inputIds, batchSize: this.batchSize, seqLen: this.seqLen };
  }

  state(): unknown {
    return this.rng.state();
  }

  restore(s: unknown): void {
    this.rng.restore(s as ReturnType<Rng['state']>);
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

/** Trains `config` on the passkey mix and measures accuracy by length (see the file comment). */
export async function runPasskeyExperiment(options: PasskeyExperimentOptions = {}): Promise<PasskeyExperimentResult> {
  const {
    config = presets.small,
    seqLen = 512,
    steps = 3000,
    minutes = 30,
    batchSize = 2,
    lr = 1e-3,
    seed = 0,
    keyDigits = [3, 5] as KeyDigits,
    copyWarmupMinutes = 0,
    loss = 'mixed',
    evalEvery = 100,
    stopAt = 0.95,
    trials = 20,
    log = () => undefined,
    onStep,
  } = options;
  const evalLengths = options.evalLengths ?? [0.5, 0.75, 1, 1.5, 2].map((f) => Math.round(f * seqLen));
  const base = LlamaForCausalLM.create(config, { seed });
  const model = seqLen > base.config.maxPositionEmbeddings ? extendContext(base, seqLen, 'linear') : base;
  const started = performance.now();
  const deadline = started + minutes * 60_000;
  const curve: Array<[number, number]> = [];
  let lastLoss = NaN;
  let done = 0;
  if (copyWarmupMinutes > 0) {
    const warm = new Trainer(model, new CopyBatches(128, 16, seed + 7), {
      steps: 100000,
      lr,
      schedule: 'constant_with_warmup',
      warmupSteps: 50,
      betas: [0.9, 0.95],
      weightDecay: 0.01,
      gradAccumSteps: 1,
      maxGradNorm: 1,
      progress: 'silent',
    });
    const until = started + copyWarmupMinutes * 60_000;
    let n = 0;
    try {
      while (performance.now() < until) {
        const rec = await warm.trainStep();
        n++;
        if (n % 100 === 0) log(`copy warm-up step ${n}: loss ${rec.loss.toFixed(4)} (${((performance.now() - started) / 60_000).toFixed(1)} min)`);
      }
    } finally {
      warm.dispose();
    }
  }
  const trainer = new Trainer(model, new PasskeyBatches(seqLen, batchSize, seed, keyDigits, loss), {
    steps,
    lr,
    schedule: 'cosine',
    warmupSteps: Math.min(100, Math.floor(steps / 10)),
    betas: [0.9, 0.95],
    weightDecay: 0.01,
    gradAccumSteps: loss === 'mixed' ? 2 : 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
  try {
    while (done < steps && performance.now() < deadline) {
      const record = await trainer.trainStep();
      done += 1;
      lastLoss = record.loss;
      onStep?.(record as StepInfo);
      if (done % evalEvery === 0 || done === steps) {
        const check = passkeyAccuracyAt(model, seqLen, 20, 1000 + seed, keyDigits, false);
        const acc = check.accuracy;
        curve.push([done, acc]);
        log(`step ${done}: loss ${record.loss.toFixed(4)}, passkey accuracy at ${seqLen} tokens ${(100 * acc).toFixed(0)}% (e.g. ${JSON.stringify(check.sample.expected)} -> ${JSON.stringify(check.sample.output)}; ${((performance.now() - started) / 60_000).toFixed(1)} min)`);
        if (acc >= stopAt) break;
      }
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const byLength = evalLengths.map((n) => {
      const r = passkeyAccuracyAt(model, n, trials, 2000 + seed, keyDigits, n > seqLen);
      log(`passkey accuracy at ${n} tokens: ${(100 * r.accuracy).toFixed(0)}% (${trials} trials)`);
      return r;
    });
    return {
      settings: { seqLen, steps, minutes, batchSize, lr, seed, keyDigits, loss, copyWarmupMinutes, evalEvery, stopAt, trials, evalLengths, model: `${config === presets.small ? 'presets.small' : 'custom'} (${tf.getBackend()})` },
      steps: done,
      trainSeconds,
      finalLoss: lastLoss,
      curve,
      byLength,
    };
  } finally {
    trainer.dispose();
    model.dispose();
    if (model !== base) base.dispose();
  }
}
