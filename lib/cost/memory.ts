/**
 * Memory of a training step: weights, gradients, AdamW states and activations, for full fine-tuning,
 * LoRA and LoRA+ (LongLoRA's trainable sets), full attention or S2-Attn, by context length.
 *
 *   peak = weights + gradients + optimizer + constants + activations
 *   weights    = 4 bytes x every parameter (base model, plus adapters for LoRA)
 *   gradients  = 4 x trainable parameters;  optimizer = 8 x trainable (AdamW's m and v)
 *   constants  = the cached tables: RoPE cos and sin (2 x N x headDim) and the causal masks
 *                (N x N for full attention; G x G and (G/2) x (G/2) for S2-Attn)
 *   activations = 4 x [ B·N·(L·(24·C + 9·kvDim + 6·I + 5·lora) + C + 6·V) + (L + t)·B·scores ]
 *                 (+ 4·C per layer and token when grouped-query heads are expanded; t = 4 for full
 *                 attention, 3.5 for S2-Attn: the transients of the layer being differentiated)
 *
 * `scores` is what one layer's attention computes per sequence: H·N² for full attention, the S2
 * segments' Σ len² over both head halves for S2-Attn (lib/attention `s2ScoreCount`); `lora` is Σ
 * (r + out) over the adapted projections of a layer. The counts (ACTIVATION_COUNTS) are how many
 * buffers of each kind this library keeps alive at the peak of a step: the gradient tape's saved
 * activations, their gradients, and the transients of the layer being differentiated. They were
 * counted, not guessed: `npm run calibrate:memory` sorts the allocations alive at the peak of real
 * steps by size and compares the model with measured peaks (the tests check tiny configs within 10%).
 * Activations dominate at long context, which is why S2-Attn (scores N·G instead of N²) lets
 * longer sequences fit, while LoRA cuts weights-side memory (no gradients or AdamW states for
 * frozen weights) but not activations.
 */
import type { LlamaConfig } from '../model/config';
import { parameterShapes } from '../model/config';
import { s2ScoreCount, groupSizeFor } from '../attention';
import { isTrainable, loraParameterShapes, DEFAULT_LORA_CONFIG } from '../lora';
import type { LoraConfig, TrainableSet } from '../lora';

/**
 * Buffers alive at a training step's peak, counted with `npm run calibrate:memory` (which records
 * every tensor allocation alive at the peak of real steps and sorts them by size): per layer and
 * token, 24 hidden-width buffers (norms, projections, RoPE, attention output, residuals and their
 * gradients), 9 kv-width ones (k, v and their head splits and gradients), 4 more hidden-width ones
 * when grouped-query heads are expanded, 6 of the MLP's width; per layer one attention-score buffer
 * (P, saved for the backward pass) and, for the layer being differentiated, 4 more transients for
 * full attention (P^T, dP, dS, dS^T) or 3.5 for S2-Attn (whose last pieces are smaller);
 * 6 vocabulary-wide buffers per token (logits, log-probabilities, their gradients); LoRA adds about
 * 5 buffers of width (r + out) per adapted projection.
 */
export const ACTIVATION_COUNTS = {
  hidden: 24,
  kv: 9,
  expandedKv: 4,
  mlp: 6,
  scoresPerLayer: 1,
  scoresTransientFull: 4,
  scoresTransientS2: 3.5,
  vocab: 6,
  lora: 5,
};

export interface TrainingMemoryOptions {
  batchSize?: number;
  attention?: 'full' | 's2';
  /** G / N for S2-Attn (official 1/4). */
  groupSizeRatio?: number;
  /** What trains (default 'full': full fine-tuning). */
  trainable?: TrainableSet;
  /** LoRA settings for the LoRA sets (default r 8, alpha 16, targets q, k, v, o). */
  lora?: LoraConfig;
}

export interface TrainingMemory {
  weights: number;
  gradients: number;
  optimizer: number;
  /** Cached constants: RoPE tables and causal masks. */
  constants: number;
  /** Everything the forward and backward passes keep, attention scores included. */
  activations: number;
  /** The attention-score part of `activations`. */
  attentionScores: number;
  /** Predicted peak bytes of one training step. */
  total: number;
}

/** Attention scores one layer computes for one sequence of `n` tokens. */
export function layerScoreCount(config: Pick<LlamaConfig, 'numAttentionHeads'>, n: number, attention: 'full' | 's2', groupSizeRatio = 0.25): number {
  const h = config.numAttentionHeads;
  if (attention === 'full') return h * n * n;
  return s2ScoreCount(h, n, groupSizeFor({ groupSizeRatio }, n));
}

/** Predicted memory of one training step (see the file comment). */
export function trainingMemory(config: LlamaConfig, seqLen: number, options: TrainingMemoryOptions = {}): TrainingMemory {
  const { batchSize = 1, attention = 'full', groupSizeRatio = 0.25, trainable = 'full', lora = DEFAULT_LORA_CONFIG } = options;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`trainingMemory: seqLen = ${seqLen} must be a positive integer`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`trainingMemory: batchSize = ${batchSize} must be a positive integer`);
  if (attention !== 'full' && attention !== 's2') throw new Error(`trainingMemory: attention '${attention}' must be 'full' or 's2'`);
  const usesLora = trainable !== 'full';
  const all = new Map(parameterShapes(config));
  if (usesLora) for (const [n, s] of loraParameterShapes(config, lora)) all.set(n, s);
  let params = 0;
  let trainableCount = 0;
  for (const [name, shape] of all) {
    const n = shape.reduce((p, d) => p * d, 1);
    params += n;
    if (isTrainable(trainable, name)) trainableCount += n;
  }
  const c = ACTIVATION_COUNTS;
  const tokens = batchSize * seqLen;
  const L = config.numHiddenLayers;
  const C = config.hiddenSize;
  const kvDim = config.numKeyValueHeads * (C / config.numAttentionHeads);
  const expanded = config.numKeyValueHeads < config.numAttentionHeads ? c.expandedKv * C : 0;
  let loraWidth = 0;
  if (usesLora) {
    for (const [name, shape] of loraParameterShapes(config, lora)) if (name.startsWith('model.layers.0.') && name.endsWith('lora_B.weight')) loraWidth += shape[0] + shape[1];
  }
  const scores = batchSize * layerScoreCount(config, seqLen, attention, groupSizeRatio);
  const transient = attention === 'full' ? c.scoresTransientFull : c.scoresTransientS2;
  const attentionScores = 4 * (c.scoresPerLayer * L + transient) * scores;
  const perToken = L * (c.hidden * C + c.kv * kvDim + expanded + c.mlp * config.intermediateSize + c.lora * loraWidth) + C + c.vocab * config.vocabSize;
  const activations = 4 * tokens * perToken + attentionScores;
  const weights = 4 * params;
  const gradients = 4 * trainableCount;
  const optimizer = 8 * trainableCount;
  const constants = constantBytes(config, seqLen, attention, groupSizeRatio);
  return { weights, gradients, optimizer, constants, activations, attentionScores, total: weights + gradients + optimizer + constants + activations };
}

/** Bytes of the cached RoPE tables and causal masks a step at `seqLen` uses. */
export function constantBytes(config: LlamaConfig, seqLen: number, attention: 'full' | 's2', groupSizeRatio = 0.25): number {
  const rope = 2 * seqLen * (config.hiddenSize / config.numAttentionHeads);
  let masks = seqLen * seqLen;
  if (attention === 's2') {
    const g = groupSizeFor({ groupSizeRatio }, seqLen);
    masks = g * g + (g / 2) * (g / 2);
  }
  return 4 * (rope + masks);
}
