/**
 * Passkey prompt lengths in tokens: how much filler makes a prompt a given number of tokens, which
 * lengths hold the official prompt, and the default lengths of the training curriculum and the
 * accuracy table. The official `passkey_retrivial.py` sizes its prompts in filler characters
 * (n_garbage); a byte-level model counts tokens, one per character, so these convert.
 */
import { passkeyExampleMinTokens, passkeyPromptLength } from './passkey';
import { checkPositiveInt, describe } from '../util/options';

/**
 * Filler characters (n_garbage) that make a passkey example exactly `tokens` long: BOS, the
 * official prompt with a key of `keyDigits` digits, then the answer " " key and EOS. Less than 1
 * means `tokens` is too short for the prompt (see {@link holdsOfficialPasskeyPrompt}).
 */
export function passkeyGarbageForTokens(tokens: number, keyDigits = 5): number {
  if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens)) throw new Error(`passkeyGarbageForTokens: tokens must be an integer, got ${describe(tokens)}`);
  checkPositiveInt('passkeyGarbageForTokens', 'keyDigits', keyDigits);
  return tokens - 1 - passkeyPromptLength(0, keyDigits) - (1 + keyDigits + 1);
}

/** Tokens of the shortest official passkey example (task line, 1 filler character, answer, EOS) with keys of up to `maxDigits` digits. */
export function passkeyOfficialMinTokens(maxDigits = 5): number {
  checkPositiveInt('passkeyOfficialMinTokens', 'maxDigits', maxDigits);
  return passkeyExampleMinTokens(maxDigits);
}

/** Whether `tokens` (an integer) holds the official prompt with at least 1 filler character and a 5-digit key. Never throws: a validity test. */
export function holdsOfficialPasskeyPrompt(tokens: unknown): boolean {
  return typeof tokens === 'number' && Number.isSafeInteger(tokens) && passkeyGarbageForTokens(tokens) >= 1;
}

/**
 * The default training curriculum up to `seqLen`: 128, 192, then every 64 tokens, ending at
 * seqLen (just [seqLen] when seqLen <= 128). Steps of 64 tokens lengthen the retrieval distance at
 * about the rate a small model from scratch learns it.
 */
export function passkeyCurriculum(seqLen: number): number[] {
  checkPositiveInt('passkeyCurriculum', 'seqLen', seqLen);
  const stages: number[] = [];
  for (let n = 128; n < seqLen; n += 64) stages.push(n);
  stages.push(seqLen);
  return stages;
}

/**
 * The accuracy table's default lengths: 0.5, 0.75, 1, 1.5 and 2 x seqLen (rounded), less those too
 * short for the official prompt: retrieval at, below and beyond the training length, as the
 * paper's Figure 4 reads it.
 */
export function passkeyEvalLengths(seqLen: number): number[] {
  checkPositiveInt('passkeyEvalLengths', 'seqLen', seqLen);
  return [0.5, 0.75, 1, 1.5, 2].map((f) => Math.round(f * seqLen)).filter(holdsOfficialPasskeyPrompt);
}
