/**
 * Passkey accuracy at a prompt length given in tokens, and the accuracy-by-length table: the
 * official `passkey_retrivial.py` protocol (lib/eval `evaluatePasskey`: the official prompt,
 * greedy decoding of exactly the answer's length with the KV cache, exact match) at lengths a
 * byte-level model counts in tokens, with our own seeded keys and depths, by thirds of depth, and
 * the wrong answers kept to see which digits go wrong.
 */
import { KVCache } from '../model';
import { holdsOfficialPasskeyPrompt, passkeyGarbageForTokens, passkeyOfficialMinTokens } from '../data';
import type { KeyDigits } from '../data';
import { checkBoolean, checkKnownKeys, checkPositiveInt, checkSeed, describe } from '../util/options';
import { evaluatePasskey } from './passkey';
import type { CachedCausalLM } from './generate';

/** Passkey accuracy at one prompt length. */
export interface PasskeyLengthAccuracy {
  /** One trial's expected and generated completion, for the log. */
  sample: { expected: string; output: string };
  /** The first few (at most 5) wrong answers, expected and generated, to see which digits go wrong. */
  failures: Array<{ expected: string; output: string }>;
  /** Tokens of each example: BOS, prompt, answer and EOS with a 5-digit key (a shorter key leaves fewer). */
  promptTokens: number;
  garbageChars: number;
  trials: number;
  accuracy: number;
  /** Accuracy by key depth: [0, 1/3), [1/3, 2/3), [2/3, 1] (null where no trial fell). */
  byDepth: Array<number | null>;
  /** Whether the length is past the model's trained length (decoded with `allowExtrapolation`). */
  beyondTrainingLength: boolean;
}

/** Options of {@link passkeyAccuracyAt}. */
export interface PasskeyAccuracyOptions {
  /** Tokens of each example with a 5-digit key (lib/data `passkeyGarbageForTokens`); must hold the official prompt. */
  promptTokens: number;
  /** Trials (official: 10). */
  trials: number;
  /** Seed of the keys and depths (default 0). */
  seed?: number;
  /** Key digits (default 5). */
  keyDigits?: KeyDigits;
  /** Decode past the model's context (default false). */
  allowExtrapolation?: boolean;
}

/** Accuracy of `model` on `trials` seeded passkey prompts of `promptTokens` tokens, by thirds of key depth (lib/eval `evaluatePasskey`). */
export function passkeyAccuracyAt(model: CachedCausalLM<KVCache>, options: PasskeyAccuracyOptions): PasskeyLengthAccuracy {
  const where = 'passkeyAccuracyAt';
  checkKnownKeys(where, options, ['promptTokens', 'trials', 'seed', 'keyDigits', 'allowExtrapolation']);
  if (options === undefined) throw new Error(`${where}: pass { promptTokens, trials }`);
  const { promptTokens, keyDigits = 5 } = options;
  const trials = checkPositiveInt(where, 'trials', options.trials);
  const seed = checkSeed(where, options.seed ?? 0);
  const allowExtrapolation = checkBoolean(where, 'allowExtrapolation', options.allowExtrapolation ?? false);
  if (!holdsOfficialPasskeyPrompt(promptTokens)) {
    throw new Error(`${where}: promptTokens = ${describe(promptTokens)} is too few for the official passkey prompt with 1 filler character; use promptTokens >= ${passkeyOfficialMinTokens(5)}`);
  }
  const garbageChars = passkeyGarbageForTokens(promptTokens);
  let sample = { expected: '', output: '' };
  const failures: Array<{ expected: string; output: string }> = [];
  const onTrial = (t: { trial: number; answer: string; output: string; correct: boolean }) => {
    if (t.trial === 0) sample = { expected: ` ${t.answer}`, output: t.output };
    if (!t.correct && failures.length < 5) failures.push({ expected: ` ${t.answer}`, output: t.output });
  };
  const [r] = evaluatePasskey(model, { garbageChars: [garbageChars], trials, seed, keyDigits, depthBins: 3, allowExtrapolation, onTrial }, (n) => new KVCache(n));
  return { sample, failures, promptTokens, garbageChars, trials, accuracy: r.accuracy, byDepth: r.byDepth.map((d) => d.accuracy), beyondTrainingLength: allowExtrapolation };
}

/** Options of {@link passkeyAccuracyTable}. */
export interface PasskeyAccuracyTableOptions {
  /** Prompt lengths in tokens (lib/data `passkeyEvalLengths` gives the default table's). */
  lengths: readonly number[];
  /** The length the model was trained at: longer prompts are decoded with `allowExtrapolation`. */
  trainingLength: number;
  /** Trials per length. */
  trials: number;
  /** Seed of the keys and depths, the same at every length (default 0). */
  seed?: number;
  /** Key digits (default 5). */
  keyDigits?: KeyDigits;
  /** Receives one line per length: accuracy and the wrong answers. */
  log?: (line: string) => void;
}

/** Passkey accuracy at each of `lengths` (see {@link passkeyAccuracyAt}), the table of the paper's Figure 4 in miniature. */
export function passkeyAccuracyTable(model: CachedCausalLM<KVCache>, options: PasskeyAccuracyTableOptions): PasskeyLengthAccuracy[] {
  const where = 'passkeyAccuracyTable';
  checkKnownKeys(where, options, ['lengths', 'trainingLength', 'trials', 'seed', 'keyDigits', 'log']);
  if (options === undefined) throw new Error(`${where}: pass { lengths, trainingLength, trials }`);
  const { lengths, trials, seed, keyDigits, log = () => undefined } = options;
  const trainingLength = checkPositiveInt(where, 'trainingLength', options.trainingLength);
  if (!Array.isArray(lengths) || lengths.length === 0 || !lengths.every(holdsOfficialPasskeyPrompt)) {
    throw new Error(`${where}: lengths must be integer prompt lengths >= ${passkeyOfficialMinTokens(5)} (the official prompt with 1 filler character), got ${Array.isArray(lengths) ? JSON.stringify(lengths) : describe(lengths)}`);
  }
  return lengths.map((promptTokens) => {
    const r = passkeyAccuracyAt(model, { promptTokens, trials, seed, keyDigits, allowExtrapolation: promptTokens > trainingLength });
    const wrong = r.failures.map((f) => `${JSON.stringify(f.expected)} -> ${JSON.stringify(f.output)}`).join(', ');
    log(`passkey accuracy at ${promptTokens} tokens: ${(100 * r.accuracy).toFixed(0)}% (${trials} trials)${wrong ? `; wrong: ${wrong}` : ''}`);
    return r;
  });
}
