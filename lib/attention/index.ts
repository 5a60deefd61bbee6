/** Attention: dense causal (with blocks), S2-Attn (offset and roll), mask patterns, the attention spec, and `attend`. */
export { causalAttention, causalReference, maskedReference, fastOrReference, allFinite, repeatKv, checkAttentionShapes, attentionScoreBytes } from './causal';
export type { CausalAttentionOptions } from './causal';
export { causalMask, causalAllowed, clearMaskCache, MASK_VALUE } from './masks';
export { setAttentionMemory, attentionMemory, ATTENTION_MEMORY_MODES } from './options';
export type { AttentionMemory } from './options';
export { defaultCausalBlockSize, maskedSoftmaxAttention } from './fast/dense';
export { shiftedSparseAttention, s2Reference, s2ScoreCount, s2Segments } from './s2';
export type { S2Options, S2Variant } from './s2';
export { attentionMask, attentionMaskArray, maskedAttention, allowed as patternAllows, PATTERN_KINDS } from './patterns';
export type { PatternKind, PatternOptions } from './patterns';
export { validateAttentionSpec, groupSizeFor, sftGroupSize, ATTENTION_KINDS } from './spec';
export type { AttentionSpec, FullAttentionSpec, S2AttentionSpec, PatternAttentionSpec } from './spec';
export { attend } from './attend';
export type { AttendOptions } from './attend';
