/**
 * Passkey retrieval, data side (paper §4.2 and Appendix A.2; official `passkey_retrivial.py`,
 * "core code based on" CStanKonrad/long_llama). A pass key is hidden at a random depth inside
 * repeated filler sentences and the model must repeat it.
 *
 * Prompt layout, exactly as `generate_prompt_landmark(n_garbage, seed)` builds it: five parts
 * joined with "\n":
 *   task description
 *   garbage_prefix = garbage_inf[:n_garbage_prefix]
 *   "The pass key is {k}. Remember it. {k} is the pass key."
 *   garbage_suffix = garbage_inf[:n_garbage - n_garbage_prefix]   (also from the start of garbage_inf)
 *   "What is the pass key? The pass key is"
 * where garbage_inf = " ".join([garbage] * 5000) and the lengths are in characters. The official
 * test draws n_garbage_prefix = randint(0, n_garbage) then pass_key = randint(1, 50000) from
 * numpy's global RNG seeded with the test index; {@link officialPasskeyTrial} reproduces those
 * draws exactly. The expected answer is str(pass_key); the model generates it after the prompt.
 */
import { PAD, encode } from './tokenizer';
import { IGNORE_INDEX } from '../util/constants';
import type { LabeledExample } from './examples';
import { NumpyRandomState } from './numpy-random';
import { Rng, deriveSeed } from '../util/rng';
import { checkBoolean, checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe, describeValue } from '../util/options';

/** The task description line of the official prompt. */
export const PASSKEY_TASK_DESCRIPTION =
  'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.';
/** The filler sentence group the official prompt repeats. */
export const PASSKEY_GARBAGE = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';
/** How many times the official script repeats {@link PASSKEY_GARBAGE} (joined with one space). */
export const PASSKEY_GARBAGE_REPEATS = 5000;
/** The final question line of the official prompt. */
export const PASSKEY_FINAL_QUESTION = 'What is the pass key? The pass key is';
/** Length of the official `garbage_inf` (the most filler characters a prompt can hold, as the official assert requires). */
export const PASSKEY_MAX_GARBAGE_CHARS = PASSKEY_GARBAGE_REPEATS * PASSKEY_GARBAGE.length + (PASSKEY_GARBAGE_REPEATS - 1);
/** The official pass keys are randint(1, 50000): 1..49999. */
export const PASSKEY_OFFICIAL_KEY_HIGH = 50000;

let garbageInf: string | null = null;

/** The first `n` characters of `" ".join([garbage] * 5000)`. */
function garbagePrefix(n: number): string {
  if (garbageInf === null) garbageInf = new Array<string>(PASSKEY_GARBAGE_REPEATS).fill(PASSKEY_GARBAGE).join(' ');
  return garbageInf.slice(0, n);
}

/** The official information line for a pass key. */
export function passkeyInformationLine(passKey: number): string {
  return `The pass key is ${passKey}. Remember it. ${passKey} is the pass key.`;
}

/** Arguments of {@link passkeyPrompt}. */
export interface PasskeyPromptOptions {
  /** n_garbage: filler characters in total (prefix + suffix), 0..PASSKEY_MAX_GARBAGE_CHARS. */
  garbageChars: number;
  /** n_garbage_prefix: filler characters before the information line, 0..garbageChars. */
  prefixChars: number;
  /** The pass key, a non-negative integer (official keys are 1..49999). */
  passKey: number;
}

function checkPassKey(where: string, passKey: unknown): number {
  if (typeof passKey !== 'number' || !Number.isSafeInteger(passKey) || passKey < 0) {
    throw new Error(`${where}: passKey must be a non-negative integer, got ${describe(passKey)}`);
  }
  return passKey;
}

/**
 * The passkey prompt exactly as the official `generate_prompt_landmark` builds it for
 * n_garbage = garbageChars, n_garbage_prefix = prefixChars and the given pass key (character for
 * character; all of it is ASCII, so its byte-token length equals its length).
 */
export function passkeyPrompt(options: PasskeyPromptOptions): string {
  checkKnownKeys('passkeyPrompt', options, ['garbageChars', 'prefixChars', 'passKey']);
  if (options === undefined) throw new Error('passkeyPrompt: pass { garbageChars, prefixChars, passKey }');
  const garbageChars = checkNonNegativeInt('passkeyPrompt', 'garbageChars', options.garbageChars);
  const prefixChars = checkNonNegativeInt('passkeyPrompt', 'prefixChars', options.prefixChars);
  const passKey = checkPassKey('passkeyPrompt', options.passKey);
  if (garbageChars > PASSKEY_MAX_GARBAGE_CHARS) {
    throw new Error(
      `passkeyPrompt: garbageChars ${garbageChars} exceeds the ${PASSKEY_MAX_GARBAGE_CHARS} characters of the official filler (5000 repeats); use a smaller garbageChars`,
    );
  }
  if (prefixChars > garbageChars) {
    throw new Error(`passkeyPrompt: prefixChars ${prefixChars} > garbageChars ${garbageChars}; the prefix is part of the filler, so pass prefixChars <= garbageChars`);
  }
  return [
    PASSKEY_TASK_DESCRIPTION,
    garbagePrefix(prefixChars),
    passkeyInformationLine(passKey),
    garbagePrefix(garbageChars - prefixChars),
    PASSKEY_FINAL_QUESTION,
  ].join('\n');
}

/** Characters of a passkey prompt for `garbageChars` filler and a key of `keyDigits` digits. */
export function passkeyPromptLength(garbageChars: number, keyDigits: number): number {
  checkNonNegativeInt('passkeyPromptLength', 'garbageChars', garbageChars);
  checkPositiveInt('passkeyPromptLength', 'keyDigits', keyDigits);
  return PASSKEY_TASK_DESCRIPTION.length + garbageChars + passkeyInformationLine(0).length - 2 + 2 * keyDigits + PASSKEY_FINAL_QUESTION.length + 4;
}

/**
 * The official length rule: test point `index` (0-based) uses
 * n_garbage = int(3.75 * (index + 1) * interval // 1024 * 1024) characters ("a rough ratio to
 * control the number of texts and tokens" for the Llama tokenizer, ~3.75 characters per token).
 */
export function passkeyGarbageChars(index: number, interval = 1000): number {
  checkNonNegativeInt('passkeyGarbageChars', 'index', index);
  checkPositiveInt('passkeyGarbageChars', 'interval', interval);
  return Math.floor((3.75 * (index + 1) * interval) / 1024) * 1024;
}

/** All n_garbage values the official script tests: index 0 .. max_tokens // interval - 1 (defaults 32000 and 1000, as its argparse). */
export function passkeyLengths(options: { maxTokens?: number; interval?: number } = {}): number[] {
  checkKnownKeys('passkeyLengths', options, ['maxTokens', 'interval']);
  const maxTokens = checkPositiveInt('passkeyLengths', 'maxTokens', options.maxTokens ?? 32000);
  const interval = checkPositiveInt('passkeyLengths', 'interval', options.interval ?? 1000);
  const out: number[] = [];
  for (let i = 0; i < Math.floor(maxTokens / interval); i++) out.push(passkeyGarbageChars(i, interval));
  return out;
}

/** One passkey test case. */
export interface PasskeyTrial {
  /** The full prompt (ends with "The pass key is"). */
  prompt: string;
  /** The expected answer, `String(passKey)` (official: `str(pass_key)`). */
  answer: string;
  passKey: number;
  garbageChars: number;
  prefixChars: number;
  /** Where the key sits in the filler: prefixChars / garbageChars (0 = right after the task line). */
  depth: number;
}

/**
 * The text a model should generate after a passkey prompt: a space, then the key. (The Llama
 * tokenizer's answer ids for "12345" carry the word-start marker, i.e. the space; with bytes the
 * space is its own token.) Training examples target exactly this, then EOS.
 */
export function passkeyCompletion(answer: string): string {
  if (typeof answer !== 'string' || !/^\d+$/.test(answer)) throw new Error(`passkeyCompletion: answer must be a string of digits, got ${describe(answer)}`);
  return ` ${answer}`;
}

/**
 * The official test case for (n_garbage, seed): numpy's global RNG seeded with `seed`, then
 * n_garbage_prefix = randint(0, n_garbage), pass_key = randint(1, 50000) (see NumpyRandomState).
 * The official script uses seeds 0..num_tests-1 at every length.
 */
export function officialPasskeyTrial(garbageChars: number, seed: number): PasskeyTrial {
  checkPositiveInt('officialPasskeyTrial', 'garbageChars', garbageChars);
  const np = new NumpyRandomState(checkSeed('officialPasskeyTrial', seed));
  const prefixChars = np.randint(0, garbageChars);
  const passKey = np.randint(1, PASSKEY_OFFICIAL_KEY_HIGH);
  const prompt = passkeyPrompt({ garbageChars, prefixChars, passKey });
  return { prompt, answer: String(passKey), passKey, garbageChars, prefixChars, depth: prefixChars / garbageChars };
}

/** Key length: a fixed number of digits, or an inclusive range [min, max] drawn uniformly per trial. */
export type KeyDigits = number | readonly [number, number];

function checkKeyDigits(where: string, keyDigits: unknown): [number, number] {
  const range = typeof keyDigits === 'number' ? [keyDigits, keyDigits] : keyDigits;
  if (!Array.isArray(range) || range.length !== 2) throw new Error(`${where}: keyDigits must be a number or [min, max], got ${describe(keyDigits)}`);
  const [lo, hi] = range as unknown[];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || (lo as number) < 1 || (hi as number) > 15 || (lo as number) > (hi as number)) {
    throw new Error(`${where}: keyDigits must be integers with 1 <= min <= max <= 15, got ${describeValue(keyDigits)}`);
  }
  return [lo as number, hi as number];
}

/** Options of {@link passkeyTrial}. */
export interface PasskeyTrialOptions {
  /** Filler characters (n_garbage), >= 1. */
  garbageChars: number;
  /** Digits of the pass key (no leading zero): a number or [min, max]. Default 5. */
  keyDigits?: KeyDigits;
  /** Put the key at this depth in [0, 1] (prefixChars = round(depth * garbageChars)) instead of a random one. */
  depth?: number;
}

/**
 * A passkey trial with our own seeded draws: (unless `depth` is given) prefixChars uniform in
 * [0, garbageChars) as the official randint(0, n_garbage), then the digit count (if a range), then
 * the key uniform among keys of that many digits. Advances `rng`.
 */
export function passkeyTrial(rng: Rng, options: PasskeyTrialOptions): PasskeyTrial {
  if (!(rng instanceof Rng)) throw new Error(`passkeyTrial: rng must be an Rng (new Rng(seed)), got ${describe(rng)}`);
  checkKnownKeys('passkeyTrial', options, ['garbageChars', 'keyDigits', 'depth']);
  if (options === undefined) throw new Error('passkeyTrial: pass { garbageChars }');
  const garbageChars = checkPositiveInt('passkeyTrial', 'garbageChars', options.garbageChars);
  const [lo, hi] = checkKeyDigits('passkeyTrial', options.keyDigits ?? 5);
  let prefixChars: number;
  if (options.depth !== undefined) {
    if (typeof options.depth !== 'number' || !(options.depth >= 0 && options.depth <= 1)) {
      throw new Error(`passkeyTrial: depth must be a number in [0, 1], got ${describe(options.depth)}`);
    }
    prefixChars = Math.round(options.depth * garbageChars);
  } else {
    prefixChars = rng.int(garbageChars);
  }
  const digits = lo === hi ? lo : rng.intBetween(lo, hi);
  const passKey = rng.intBetween(10 ** (digits - 1), 10 ** digits - 1);
  const prompt = passkeyPrompt({ garbageChars, prefixChars, passKey });
  return { prompt, answer: String(passKey), passKey, garbageChars, prefixChars, depth: prefixChars / garbageChars };
}

/** Options of {@link passkeyTrainingExamples}. */
export interface PasskeyTrainingOptions {
  /** Tokens per example (the training length). */
  seqLen: number;
  /** Number of examples. */
  count: number;
  /** Seed; example i depends only on (seed, i). Default 0. */
  seed?: number;
  /** Global index of the first example, for resuming (examples start .. start + count - 1). Default 0. */
  start?: number;
  /** Digits of the pass key: a number or [min, max]. Default [3, 5]. */
  keyDigits?: KeyDigits;
  /**
   * How much filler, as a fraction of the most that fits in seqLen: a number in (0, 1], or a range
   * [min, max] drawn uniformly per example for shorter, varied prompts. Default 1 (fill seqLen).
   */
  filler?: number | readonly [number, number];
  /** Start with BOS, as the Llama tokenizer does for the official prompt. Default true. */
  bos?: boolean;
  /**
   * Keep the official task description line (default true). Without it a prompt is about 100 tokens
   * shorter: the short episodes a model that starts from nothing learns retrieval from first.
   */
  taskDescription?: boolean;
  /**
   * Which tokens carry labels: `'answer'` (default) only " " key EOS; `'retrieval'` also the key's
   * second mention in the information line ("Remember it. {k} is the pass key."), the other place
   * where the key can only be predicted by looking back at its first mention.
   */
  labels?: 'answer' | 'retrieval';
  /**
   * Share of examples, in [0, 1], whose key is drawn from only ceil(digits / 2) distinct digits, so
   * it repeats digits (e.g. 5532, 4474): one previous digit does not say where the copy goes on.
   * Default 0 (keys uniform, as in evaluation; the draws are then exactly as without the option).
   */
  repeatedDigitKeys?: number;
}

/** A key of `digits` digits drawn from ceil(digits / 2) distinct digits (no leading zero). */
function keyWithRepeatedDigits(rng: Rng, digits: number): number {
  const distinct = Math.max(1, Math.ceil(digits / 2));
  const symbols = rng.sample('0123456789'.split(''), distinct);
  const leading = symbols.filter((d) => d !== '0');
  let key = leading.length > 0 ? leading[rng.int(leading.length)] : String(1 + rng.int(9));
  for (let i = 1; i < digits; i++) key += symbols[rng.int(distinct)];
  return Number(key);
}

/** Characters the task description line takes, with its "\n". */
const TASK_LINE_CHARS = PASSKEY_TASK_DESCRIPTION.length + 1;

/**
 * The shortest `seqLen` that {@link passkeyTrainingExamples} accepts for keys of up to `maxDigits`
 * digits: [BOS] prompt with 1 filler character, " " key EOS.
 */
export function passkeyExampleMinTokens(maxDigits: number, options: { taskDescription?: boolean; bos?: boolean } = {}): number {
  const { taskDescription = true, bos = true } = options;
  return (bos ? 1 : 0) + passkeyPromptLength(0, maxDigits) - (taskDescription ? 0 : TASK_LINE_CHARS) + 1 + maxDigits + 1 + 1;
}

/** One passkey training example: `inputIds` / `labels` [seqLen] plus the trial it encodes. */
export interface PasskeyExample extends LabeledExample {
  trial: PasskeyTrial;
  /** Tokens before the answer (BOS + prompt). */
  promptTokens: number;
}

/**
 * The passkey training mix: examples of exactly `seqLen` tokens, laid out as
 *   [BOS] prompt " " key EOS PAD...
 * with `labels` = IGNORE_INDEX on BOS, prompt and PAD, and the ids of " " key EOS on the answer
 * (so the loss only teaches retrieval; `labels: 'retrieval'` also labels the key's second mention).
 * Without `taskDescription` the prompt (and `trial.prompt`) is the official one minus its first
 * line. The filler is sized so the example fits: with filler 1 the
 * only padding is what a shorter key leaves. Example i is drawn from Rng(deriveSeed(seed, i)),
 * so any slice [start, start + count) is reproducible on its own (resume-safe).
 */
export function passkeyTrainingExamples(options: PasskeyTrainingOptions): PasskeyExample[] {
  const where = 'passkeyTrainingExamples';
  checkKnownKeys(where, options, ['seqLen', 'count', 'seed', 'start', 'keyDigits', 'filler', 'bos', 'taskDescription', 'labels', 'repeatedDigitKeys']);
  if (options === undefined) throw new Error(`${where}: pass { seqLen, count }`);
  const seqLen = checkPositiveInt(where, 'seqLen', options.seqLen);
  const count = checkPositiveInt(where, 'count', options.count);
  const seed = checkSeed(where, options.seed ?? 0);
  const start = checkNonNegativeInt(where, 'start', options.start ?? 0);
  const [lo, hi] = checkKeyDigits(where, options.keyDigits ?? [3, 5]);
  const bos = options.bos === undefined ? true : checkBoolean(where, 'bos', options.bos);
  const withTask = options.taskDescription === undefined ? true : checkBoolean(where, 'taskDescription', options.taskDescription);
  const labelMode = options.labels ?? 'answer';
  if (labelMode !== 'answer' && labelMode !== 'retrieval') throw new Error(`${where}: labels must be 'answer' or 'retrieval', got ${describe(labelMode)}`);
  const repeatedShare = options.repeatedDigitKeys ?? 0;
  if (!(typeof repeatedShare === 'number' && repeatedShare >= 0 && repeatedShare <= 1)) {
    throw new Error(`${where}: repeatedDigitKeys must be a share in [0, 1] of examples whose key repeats digits, got ${describe(repeatedShare)}`);
  }
  const taskChars = withTask ? 0 : TASK_LINE_CHARS;
  const filler = options.filler ?? 1;
  const [fLo, fHi] = typeof filler === 'number' ? [filler, filler] : Array.isArray(filler) && filler.length === 2 ? filler : [NaN, NaN];
  if (!(typeof fLo === 'number' && typeof fHi === 'number' && fLo > 0 && fLo <= fHi && fHi <= 1)) {
    throw new Error(`${where}: filler must be a fraction in (0, 1] or a range [min, max] with 0 < min <= max <= 1, got ${describeValue(filler)}`);
  }
  // Tokens besides the filler: [BOS] + prompt text + " " + key + EOS.
  const fixedTokens = (digits: number): number => passkeyExampleMinTokens(digits, { taskDescription: withTask, bos }) - 1; // all but the filler
  const needed = passkeyExampleMinTokens(hi, { taskDescription: withTask, bos });
  if (seqLen < needed) {
    throw new Error(
      `${where}: seqLen ${seqLen} is too small to fit a passkey prompt: with a ${hi}-digit key the ${withTask ? 'task line, ' : ''}information line, question, ` +
        `answer and EOS${bos ? ' and BOS' : ''} take ${needed - 1} tokens and at least 1 filler character is needed, so seqLen must be >= ${needed}`,
    );
  }
  const examples: PasskeyExample[] = [];
  for (let k = 0; k < count; k++) {
    const rng = new Rng(deriveSeed(seed, start + k));
    const digits = lo === hi ? lo : rng.intBetween(lo, hi);
    const maxGarbage = Math.min(seqLen - fixedTokens(digits), PASSKEY_MAX_GARBAGE_CHARS);
    const fraction = fLo === fHi ? fLo : fLo + (fHi - fLo) * rng.next();
    const garbageChars = Math.max(1, Math.floor(fraction * maxGarbage));
    let official = passkeyTrial(rng, { garbageChars, keyDigits: digits });
    if (repeatedShare > 0 && rng.next() < repeatedShare) {
      const passKey = keyWithRepeatedDigits(rng, digits);
      official = { ...official, passKey, answer: String(passKey), prompt: passkeyPrompt({ garbageChars, prefixChars: official.prefixChars, passKey }) };
    }
    const trial = withTask ? official : { ...official, prompt: official.prompt.slice(taskChars) };
    const prompt = encode(trial.prompt, { bos });
    const answer = encode(passkeyCompletion(trial.answer), { eos: true });
    const used = prompt.length + answer.length;
    if (used > seqLen) throw new Error(`${where}: internal sizing error (${used} > ${seqLen})`);
    const inputIds = new Int32Array(seqLen).fill(PAD);
    const labels = new Int32Array(seqLen).fill(IGNORE_INDEX);
    inputIds.set(prompt, 0);
    inputIds.set(answer, prompt.length);
    labels.set(answer, prompt.length);
    if (labelMode === 'retrieval') {
      const repeat = (bos ? 1 : 0) + trial.prompt.indexOf(`Remember it. ${trial.answer} `) + 'Remember it. '.length;
      labels.set(inputIds.subarray(repeat, repeat + trial.answer.length), repeat);
    }
    examples.push({ inputIds, labels, trial, promptTokens: prompt.length });
  }
  return examples;
}
