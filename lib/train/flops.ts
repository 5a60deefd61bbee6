/**
 * Forward-pass FLOPs of a Llama model, the closed form that reproduces every Attn/Proj/FFN cell of
 * the LongLoRA paper's FLOPs table (v3 Table 11, reference §5.10): 2 FLOPs per multiply-add,
 * attention over the full n x n scores (no halving for the causal mask, softmax not counted).
 *
 * Per sequence of n tokens, L layers, width d, kv width d_kv = kvHeads x headDim, FFN width f:
 *   proj = L * 2n (2 d^2 + 2 d d_kv)     q, o: d x d; k, v: d x d_kv (grouped-query attention)
 *   attn = L * 4 n^2 d                   Q K^T and A V over all n x n pairs
 *   ffn  = L * 6 n d f                   SwiGLU: gate, up, down
 *   head = 2 n d V                       the LM head (embedding lookups and norms are not counted)
 * A training step costs about 3x the forward (backward = 2x forward), the convention used for the
 * benchmark's achieved GFLOP/s. (Issue 7 adds the cost model proper in lib/cost; this is its seed.)
 */

/** The sizes `forwardFlops` needs (a LlamaConfig has them all). */
export interface FlopsShape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
}

/** Forward FLOPs by part, for `batchSize` sequences of `seqLen` tokens. */
export interface ForwardFlops {
  proj: number;
  attn: number;
  ffn: number;
  head: number;
  total: number;
}

/** Forward FLOPs of full-attention Llama at `seqLen` (see the file comment). */
export function forwardFlops(config: FlopsShape, seqLen: number, batchSize = 1): ForwardFlops {
  for (const [name, v] of [['seqLen', seqLen], ['batchSize', batchSize]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`forwardFlops: ${name} = ${v} must be a positive integer`);
  }
  const { vocabSize: V, hiddenSize: d, intermediateSize: f, numHiddenLayers: L, numAttentionHeads: h, numKeyValueHeads: hkv } = config;
  for (const [name, v] of Object.entries({ vocabSize: V, hiddenSize: d, intermediateSize: f, numHiddenLayers: L, numAttentionHeads: h, numKeyValueHeads: hkv })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`forwardFlops: config.${name} = ${v} must be a positive integer`);
  }
  const n = seqLen;
  const kvDim = hkv * (d / h);
  const proj = batchSize * L * 2 * n * (2 * d * d + 2 * d * kvDim);
  const attn = batchSize * L * 4 * n * n * d;
  const ffn = batchSize * L * 6 * n * d * f;
  const head = batchSize * 2 * n * d * V;
  return { proj, attn, ffn, head, total: proj + attn + ffn + head };
}
