/**
 * Data: byte tokenizer, real corpora from npm packages (SOTU for training, Moby Dick held out),
 * deterministic splits, the pre-training window batcher, passkey prompts, their lengths in tokens,
 * the training mix and its curriculum batches, and LongLoRA's SFT format with long-QA examples.
 * Pure JavaScript: no tensors.
 */
export { BOS, EOS, PAD, VOCAB_SIZE, SPECIAL_TOKEN_TEXT, encode, decode, byteLength, checkTokenIds } from './tokenizer';
export type { EncodeOptions, DecodeOptions } from './tokenizer';
export { loadSotu, loadMobyDick, mobyDickText, flattenWhitespace, sotuSplits, splitDocuments } from './corpora';
export type { Document, SotuAddress, MobyDickSection, SplitOptions, DocumentSplits } from './corpora';
export { NumpyRandomState } from './numpy-random';
export { buildTokenStream, WindowBatcher } from './batcher';
export type { TokenStreamOptions, WindowBatcherOptions, WindowBatch, BatcherState } from './batcher';
export { collateExamples } from './examples';
export type { LabeledExample, LabeledBatch, CollateOptions } from './examples';
export {
  PASSKEY_TASK_DESCRIPTION,
  PASSKEY_GARBAGE,
  PASSKEY_GARBAGE_REPEATS,
  PASSKEY_FINAL_QUESTION,
  PASSKEY_MAX_GARBAGE_CHARS,
  PASSKEY_OFFICIAL_KEY_HIGH,
  passkeyPrompt,
  passkeyPromptLength,
  passkeyInformationLine,
  passkeyCompletion,
  passkeyGarbageChars,
  passkeyLengths,
  passkeyTrial,
  officialPasskeyTrial,
  passkeyTrainingExamples,
  passkeyExampleMinTokens,
} from './passkey';
export type { PasskeyPromptOptions, PasskeyTrial, PasskeyTrialOptions, KeyDigits, PasskeyTrainingOptions, PasskeyExample } from './passkey';
export { PROMPT_DICT, formatSftPrompt, sftExample, materialPrompt, longQaExamples } from './sft';
export type { SftRecord, SftExampleOptions, SftExample, MaterialType, LongQaKind, LongQaOptions, LongQaExample } from './sft';
export { repeatedStringExamples, REPEAT_SEPARATOR, REPEAT_ALPHABET } from './copy';
export type { RepeatedStringOptions } from './copy';
export { passkeyGarbageForTokens, passkeyOfficialMinTokens, holdsOfficialPasskeyPrompt, passkeyCurriculum, passkeyEvalLengths } from './passkey-lengths';
export { RepeatedStringBatches, CurriculumBatches, passkeyCurriculumStages } from './curriculum';
export type { LabeledBatchSource, RepeatedStringBatchesOptions, CurriculumStageSource, CurriculumBatchesOptions, PasskeyCurriculumStage, PasskeyCurriculumStagesOptions } from './curriculum';
export { sentenceSpans } from './sentences';
export type { SentenceSpan } from './sentences';
export { RepeatedPassageBatcher, longRangeWindows, drawPlacement, applyRepeat } from './long-range';
export type { RepeatPlacement, RepeatOptions, RepeatedPassageBatcherOptions, LongRangeWindowOptions, LongRangeWindow } from './long-range';
