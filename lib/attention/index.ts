/** Attention: dense causal (with blocks), S2-Attn (offset and roll), mask patterns, and `attend`. */
export { causalAttention, defaultCausalBlockSize, repeatKv, causalMask, maskedSoftmaxAttention, checkAttentionShapes, attentionScoreBytes, setAttentionMemory, attentionMemory, clearMaskCache, MASK_VALUE } from './causal';
export type { CausalAttentionOptions, AttentionMemory } from './causal';
export { shiftedSparseAttention, s2ScoreCount, s2Segments, sftGroupSize } from './s2';
export type { S2Options, S2Variant } from './s2';
export { attentionMask, attentionMaskArray, maskedAttention, allowed as patternAllows, PATTERN_KINDS } from './patterns';
export type { PatternKind, PatternOptions } from './patterns';
export { attend, groupSizeFor } from './attend';
export type { AttentionSpec, FullAttentionSpec, S2AttentionSpec, PatternAttentionSpec, AttendOptions } from './attend';
