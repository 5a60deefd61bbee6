/**
 * Forward-pass FLOPs of a Llama model on one sequence, in the convention of the LongLoRA paper's
 * FLOPs table (v3 Table 11: "context stage" FLOPs of Llama-2 7B, profiled with torchprofile):
 *
 * - 2 FLOPs per multiply-add;
 * - Attn: QK^T and AV over the full n x n (no halving for the causal mask), softmax not counted;
 *   S2-Attn counts n x G instead (G = n * groupSizeRatio): 4 · n · k · H · D per layer, k = n or G;
 * - Proj: the q, k, v, o projections with their real shapes (k and v have Hkv heads under GQA);
 * - FFN: the three SwiGLU matrices, 6 · n · C · I per layer, plus the gating product
 *   silu(gate) * up counted as elementwise work (one multiply-add per element: 2 · n · I per layer);
 * - Others: the LM head (2 · n · C · V) plus the RMSNorms, with elementwise work counted the same
 *   way: square, mean, scale and weight passes (8 · C FLOPs per token per norm, 2L + 1 norms); the
 *   embedding lookup has no FLOPs.
 *
 * The elementwise terms are how a graph profiler such as torchprofile counts `mul`/`mean` nodes;
 * they are small, but without the gating product the 65536-token FFN cell comes out 567.3 instead
 * of the paper's 567.4, and without the norm passes the 32768-token Others cell 8.6 instead of 8.7.
 * With them, every Attn, Proj and FFN cell of the paper's table is reproduced to its 0.1 TFLOPs and
 * every Others cell to its rounding; the paper's Total column is the sum of its rounded parts.
 */

import type { LlamaConfig } from '../model/config';

/** The config facts FLOPs depend on (any `LlamaConfig` has them). */
export type FlopsConfig = Pick<LlamaConfig, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'numAttentionHeads' | 'numKeyValueHeads'>;

export interface FlopsOptions {
  /** `'full'` (dense n x n) or `'s2'` (n x G). Default 'full'. */
  attention?: 'full' | 's2';
  /** G / n for S2 (official 1/4). */
  groupSizeRatio?: number;
}

export interface FlopsBreakdown {
  attn: number;
  proj: number;
  ffn: number;
  others: number;
  total: number;
}

/** Raw forward FLOPs of one sequence of `seqLen` tokens, by part (see the file comment). */
export function flopsBreakdown(config: FlopsConfig, seqLen: number, { attention = 'full', groupSizeRatio = 0.25 }: FlopsOptions = {}): FlopsBreakdown {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`flopsBreakdown: seqLen = ${seqLen} must be a positive integer`);
  if (attention !== 'full' && attention !== 's2') throw new Error(`flopsBreakdown: attention '${attention}' must be 'full' or 's2'`);
  if (!(groupSizeRatio > 0 && groupSizeRatio <= 1)) throw new Error(`flopsBreakdown: groupSizeRatio = ${groupSizeRatio} must be in (0, 1]`);
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numHiddenLayers: L, numAttentionHeads: H, numKeyValueHeads: Hkv } = config;
  if (C % H !== 0) throw new Error(`flopsBreakdown: hiddenSize ${C} is not divisible by numAttentionHeads ${H}`);
  const D = C / H;
  const n = seqLen;
  const keys = attention === 's2' ? n * groupSizeRatio : n;
  const attn = 4 * n * keys * H * D * L;
  const proj = 2 * n * C * (H * D + 2 * Hkv * D) * L + 2 * n * (H * D) * C * L;
  const ffn = 6 * n * C * I * L + 2 * n * I * L;
  const norms = (2 * L + 1) * 8 * C * n;
  const others = 2 * n * C * V + norms;
  return { attn, proj, ffn, others, total: attn + proj + ffn + others };
}

/** Forward + backward FLOPs of a training step that trains every weight: 3x the forward (the usual estimate). */
export function trainingStepFlops(config: FlopsConfig, seqLen: number, batch = 1, options: FlopsOptions = {}): number {
  return 3 * batch * flopsBreakdown(config, seqLen, options).total;
}
