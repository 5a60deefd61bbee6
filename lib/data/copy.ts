/**
 * Repeated random strings, the dense form of the look-back that passkey retrieval needs: a short
 * random string, a separator, and the same string again, with the loss on the repeat only.
 *
 * Every labelled token of the repeat can only come from finding where the previous token occurred
 * before and copying what followed it (an induction head, Olsson et al. 2022, "In-context Learning
 * and Induction Heads"). A passkey episode asks for that once per prompt (five digits in a hundred
 * tokens or more); here it is asked for at almost every labelled position, so a byte-level model
 * that starts from nothing forms the mechanism in a few hundred updates and then meets the passkey
 * prompts already able to look back (lib/experiments `runPasskeyExperiment`, its first phase).
 *
 * Layout (`seqLen` tokens): [BOS] s " | " s EOS PAD..., labels = IGNORE_INDEX except on the second
 * s and its EOS. Example i depends only on (seed, i), so any slice is reproducible (resume-safe).
 */
import { PAD, encode } from './tokenizer';
import { IGNORE_INDEX } from '../util/constants';
import type { LabeledExample } from './examples';
import { Rng, deriveSeed } from '../util/rng';
import { checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe, describeValue } from '../util/options';

/** The separator between a string and its repeat. */
export const REPEAT_SEPARATOR = ' | ';
/** Default alphabet: digits and lower-case letters. */
export const REPEAT_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Options of {@link repeatedStringExamples}. */
export interface RepeatedStringOptions {
  /** Tokens per example. */
  seqLen: number;
  /** Number of examples. */
  count: number;
  /** Seed; example i depends only on (seed, i). Default 0. */
  seed?: number;
  /** Global index of the first example, for resuming. Default 0. */
  start?: number;
  /** String length in characters, [min, max], drawn uniformly per example. Default [4, 16]. */
  chars?: readonly [number, number];
  /** Characters the strings are drawn from (single-byte, no '|'). Default digits and a-z. */
  alphabet?: string;
  /**
   * Distinct characters per string, [min, max]: each example draws that many characters of the
   * alphabet at random and builds its string from them alone. Few distinct characters make most
   * characters repeat, so the previous character alone does not say where the copy continues
   * ("5532": after the first 5 comes 5, not 3); default: the whole alphabet.
   */
  distinct?: readonly [number, number];
}

/** Examples of exactly `seqLen` tokens: [BOS] s " | " s EOS PAD..., labelled on the repeat and EOS. */
export function repeatedStringExamples(options: RepeatedStringOptions): LabeledExample[] {
  const where = 'repeatedStringExamples';
  if (options === undefined) throw new Error(`${where}: pass { seqLen, count }`);
  checkKnownKeys(where, options, ['seqLen', 'count', 'seed', 'start', 'chars', 'alphabet', 'distinct']);
  const seqLen = checkPositiveInt(where, 'seqLen', options.seqLen);
  const count = checkPositiveInt(where, 'count', options.count);
  const seed = checkSeed(where, options.seed ?? 0);
  const start = checkNonNegativeInt(where, 'start', options.start ?? 0);
  const chars = options.chars ?? [4, 16];
  const [lo, hi] = Array.isArray(chars) && chars.length === 2 ? chars : [NaN, NaN];
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && lo <= hi)) {
    throw new Error(`${where}: chars must be [min, max] with integers 1 <= min <= max, got ${describeValue(chars)}`);
  }
  const alphabet = options.alphabet ?? REPEAT_ALPHABET;
  if (typeof alphabet !== 'string' || alphabet.length === 0 || /[^\x20-\x7e]|\|/.test(alphabet)) {
    throw new Error(`${where}: alphabet must be a non-empty string of printable ASCII characters other than '|', got ${describe(alphabet)}`);
  }
  const distinct = options.distinct ?? [alphabet.length, alphabet.length];
  const [dLo, dHi] = Array.isArray(distinct) && distinct.length === 2 ? distinct : [NaN, NaN];
  if (!(Number.isInteger(dLo) && Number.isInteger(dHi) && dLo >= 1 && dLo <= dHi && dHi <= alphabet.length)) {
    throw new Error(`${where}: distinct must be [min, max] with integers 1 <= min <= max <= ${alphabet.length} (the alphabet's length), got ${describeValue(distinct)}`);
  }
  const needed = 1 + 2 * hi + REPEAT_SEPARATOR.length + 1;
  if (seqLen < needed) throw new Error(`${where}: seqLen ${seqLen} cannot hold a ${hi}-character string twice with BOS, separator and EOS; use seqLen >= ${needed} or shorter chars`);
  const examples: LabeledExample[] = [];
  for (let k = 0; k < count; k++) {
    const rng = new Rng(deriveSeed(seed, start + k));
    const n = lo === hi ? lo : rng.intBetween(lo, hi);
    // the whole alphabet is drawn from directly, so strings are the same as before `distinct` existed
    let symbols = alphabet;
    if (dLo < alphabet.length) {
      const symbolCount = dLo === dHi ? dLo : rng.intBetween(dLo, dHi);
      symbols = rng.sample(alphabet.split(''), symbolCount).join('');
    }
    let s = '';
    for (let i = 0; i < n; i++) s += symbols[rng.int(symbols.length)];
    const prompt = encode(`${s}${REPEAT_SEPARATOR}`, { bos: true });
    const repeat = encode(s, { eos: true });
    const inputIds = new Int32Array(seqLen).fill(PAD);
    const labels = new Int32Array(seqLen).fill(IGNORE_INDEX);
    inputIds.set(prompt, 0);
    inputIds.set(repeat, prompt.length);
    labels.set(repeat, prompt.length);
    examples.push({ inputIds, labels });
  }
  return examples;
}
