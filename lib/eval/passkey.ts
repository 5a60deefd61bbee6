/**
 * Passkey retrieval accuracy (official `passkey_retrivial.py`, docs/protocols.md):
 * a pass key hidden at some depth in filler text, the model asked for it, greedy decoding of exactly
 * the answer's length with the KV cache, exact match. Reported per length and per depth.
 */
import { encode, decode, passkeyTrial, officialPasskeyTrial, passkeyCompletion } from '../data';
import { Rng } from '../util/rng';
import { checkKnownKeys, describe } from '../util/options';
import type { KeyDigits, PasskeyTrial } from '../data';
import { generate } from './generate';
import type { CachedCausalLM } from './generate';

export interface PasskeyEvalOptions {
  /** Filler sizes to test, in characters (n_garbage); see `passkeyGarbageChars` for the official ladder. */
  garbageChars: number[];
  /** Trials per length (official: 10). */
  trials: number;
  /** `'official'`: numpy-seeded keys in [1, 50000) and depths as the script (seeds 0..trials-1);
   *  `'seeded'`: our own seeded keys of `keyDigits` digits. Default 'seeded'. */
  mode?: 'official' | 'seeded';
  seed?: number;
  keyDigits?: KeyDigits;
  /** Depth bins for the per-depth table (default 5: [0, 0.2), ..., [0.8, 1]). */
  depthBins?: number;
  allowExtrapolation?: boolean;
  onTrial?: (info: { garbageChars: number; trial: number; correct: boolean; answer: string; output: string }) => void;
}

export interface PasskeyLengthResult {
  garbageChars: number;
  /** Mean prompt length in tokens (BOS + bytes), as the official script prints. */
  meanPromptTokens: number;
  trials: number;
  correct: number;
  accuracy: number;
  /** Accuracy per depth bin (null where no trial fell). */
  byDepth: Array<{ from: number; to: number; trials: number; accuracy: number | null }>;
}

/** Greedy-decodes the answer of one trial and compares exactly. */
export function runPasskeyTrial<Cache extends { dispose(): void }>(
  model: CachedCausalLM<Cache>,
  trial: PasskeyTrial,
  makeCache: (numLayers: number) => Cache,
  allowExtrapolation = false,
): { correct: boolean; output: string; promptTokens: number } {
  const prompt = encode(trial.prompt, { bos: true });
  const expected = passkeyCompletion(trial.answer);
  const out = generate(model, prompt, { maxNewTokens: encode(expected).length, allowExtrapolation }, makeCache);
  const output = decode(out);
  return { correct: output === expected, output, promptTokens: prompt.length };
}

/** Passkey accuracy by length and depth (see the file comment). */
export function evaluatePasskey<Cache extends { dispose(): void }>(model: CachedCausalLM<Cache>, options: PasskeyEvalOptions, makeCache: (numLayers: number) => Cache): PasskeyLengthResult[] {
  // before any prompt is decoded: a misspelt key or mode ('offical') would otherwise run the whole
  // evaluation with the defaults ('seeded' keys), and a missing list would be a TypeError
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`passkey: options = ${describe(options)}; pass at least { garbageChars: [...], trials }`);
  }
  checkKnownKeys('passkey', options, ['garbageChars', 'trials', 'mode', 'seed', 'keyDigits', 'depthBins', 'allowExtrapolation', 'onTrial']);
  if (options.mode !== undefined && options.mode !== 'official' && options.mode !== 'seeded') {
    throw new Error(`passkey: mode = ${describe(options.mode)} must be 'official' (the script's numpy-seeded keys) or 'seeded' (ours)`);
  }
  if (!Array.isArray(options.garbageChars)) throw new Error(`passkey: garbageChars = ${describe(options.garbageChars)} must be a list of filler sizes in characters, e.g. [1000, 2000]`);
  if (options.onTrial !== undefined && typeof options.onTrial !== 'function') throw new Error(`passkey: onTrial = ${describe(options.onTrial)} must be a function`);
  if (typeof makeCache !== 'function') throw new Error(`passkey: makeCache must be a function (numLayers) => cache, e.g. (n) => new KVCache(n); got ${describe(makeCache)}`);
  const bins = options.depthBins ?? 5;
  if (!Number.isInteger(options.trials) || options.trials < 1) throw new Error(`passkey: trials = ${options.trials} must be a positive integer (official: 10)`);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`passkey: depthBins = ${bins} must be a positive integer`);
  if (options.garbageChars.length === 0) throw new Error('passkey: garbageChars must list at least one filler size');
  const results: PasskeyLengthResult[] = [];
  for (const garbageChars of options.garbageChars) {
    const rng = new Rng(options.seed ?? 0);
    const byBin = Array.from({ length: bins }, () => ({ trials: 0, correct: 0 }));
    let correct = 0;
    let promptTokens = 0;
    for (let i = 0; i < options.trials; i++) {
      const trial = options.mode === 'official' ? officialPasskeyTrial(garbageChars, i) : passkeyTrial(rng, { garbageChars, keyDigits: options.keyDigits ?? 5 });
      const r = runPasskeyTrial(model, trial, makeCache, options.allowExtrapolation);
      promptTokens += r.promptTokens;
      if (r.correct) correct++;
      const bin = Math.min(bins - 1, Math.floor(trial.depth * bins));
      byBin[bin].trials++;
      if (r.correct) byBin[bin].correct++;
      options.onTrial?.({ garbageChars, trial: i, correct: r.correct, answer: trial.answer, output: r.output });
    }
    results.push({
      garbageChars,
      meanPromptTokens: promptTokens / options.trials,
      trials: options.trials,
      correct,
      accuracy: correct / options.trials,
      byDepth: byBin.map((b, k) => ({ from: k / bins, to: (k + 1) / bins, trials: b.trials, accuracy: b.trials === 0 ? null : b.correct / b.trials })),
    });
  }
  return results;
}
