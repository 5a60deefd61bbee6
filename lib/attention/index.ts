/** Attention: dense causal (with blocks), and the `attend` entry point the model calls. */
export { causalAttention, repeatKv, causalMask, maskedSoftmaxAttention, checkAttentionShapes, MASK_VALUE } from './causal';
export type { CausalAttentionOptions } from './causal';
export { attend } from './attend';
export type { AttentionSpec, FullAttentionSpec, AttendOptions } from './attend';
