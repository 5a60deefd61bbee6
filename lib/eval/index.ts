/** Evaluation: sliding-window perplexity (eval.py protocol), generation with a KV cache, passkey retrieval. */
export { evaluatePerplexity, windowStarts, evenlySpaced } from './perplexity';
export type { PerplexityOptions, PerplexityRow, CausalLM } from './perplexity';
export { generate, pickToken } from './generate';
export type { GenerateOptions, CachedCausalLM } from './generate';
export { evaluatePasskey, runPasskeyTrial } from './passkey';
export { teacherForcedExactMatch } from './exact-match';
export { passkeyAccuracyAt, passkeyAccuracyTable } from './passkey-table';
export type { PasskeyLengthAccuracy, PasskeyAccuracyOptions, PasskeyAccuracyTableOptions } from './passkey-table';
export type { PasskeyEvalOptions, PasskeyLengthResult } from './passkey';
export { fitBigram, bigramLoss, bigramLogProb } from './bigram';
export type { BigramModel, BigramOptions, BigramLossOptions } from './bigram';
export { evaluateLongRange } from './long-range';
export type { LongRangeOptions, LongRangeResult } from './long-range';
