/**
 * The training step's memory estimate, checked before the first step so that a run that cannot fit
 * the wasm heap (4 GiB) stops with advice instead of dying inside Emscripten.
 *
 * Bytes a step allocates on top of what is already live (the model's weights and, after the first
 * step, the optimizer's m and v, which `assertFitsInMemory` counts as live tensors):
 *   gradients of the trainable parameters (x1, +1 accumulation buffer, +1 clipped copy),
 *   AdamW's m and v (x2) while they do not exist yet,
 *   activations the gradient tape keeps for one micro-batch (per layer, per token: the norms,
 *     projections, RoPE temporaries and SwiGLU intermediates; per layer B*H*T*T*10 attention-score
 *     floats, the same rule as lib/attention's `attentionScoreBytes`), plus the logits and their
 *     softmax/gradient.
 * The coefficients were calibrated against `tf.profile` peaks of real steps (below) so that the
 * estimate errs on the high side.
 */
import { assertFitsInMemory } from '../backend';

/** The sizes of a Llama-style decoder that the estimate needs (field names as in LlamaConfig). */
export interface LlamaShape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention; defaults to numAttentionHeads. */
  numKeyValueHeads?: number;
}

/** The LlamaShape fields of `config`, or null when it does not carry them all. */
export function llamaShapeOf(config: unknown): LlamaShape | null {
  if (config === null || typeof config !== 'object') return null;
  const c = config as Record<string, unknown>;
  const keys = ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads'] as const;
  if (!keys.every((k) => typeof c[k] === 'number' && Number.isInteger(c[k]) && (c[k] as number) > 0)) return null;
  const kv = typeof c.numKeyValueHeads === 'number' ? c.numKeyValueHeads : undefined;
  return {
    vocabSize: c.vocabSize as number,
    hiddenSize: c.hiddenSize as number,
    intermediateSize: c.intermediateSize as number,
    numHiddenLayers: c.numHiddenLayers as number,
    numAttentionHeads: c.numAttentionHeads as number,
    numKeyValueHeads: kv,
  };
}

/*
 * Coefficients fitted to tf.profile peaks of whole training steps on wasm (presets.tiny at 64-128
 * tokens, presets.small at 128-1024 tokens, batch 1-2, intermediate 688 and 1376), rounded up:
 * the measured peak above the live weights was 0.44 MiB per token + 10.2 score buffers for small,
 * and the estimate stays 5-10% above every measured peak (S2-Attn keeps fewer score buffers, so it errs higher there). Many hidden-sized buffers per layer
 * (about 70) because the tape keeps RMSNorm and RoPE temporaries, the head-split copies of q, k, v
 * and the explicit transposes of the 2-D matmul helper, and their gradients exist at the peak too.
 */
/** Floats per token per layer that the tape keeps, besides the attention scores. */
const PER_TOKEN_HIDDEN = 72; // x d
const PER_TOKEN_KV = 8; // x (kv heads x head dim)
const PER_TOKEN_MLP = 13; // x intermediate
/** Attention-score-sized buffers alive at the peak (lib/attention's rule says about 10). */
const SCORE_BUFFERS = 11;
/** Vocabulary-sized buffers per token: logits, log-softmax and their gradients. */
const LOGIT_BUFFERS = 20;

/** Activation bytes of one micro-batch's forward + backward through a Llama-style model (float32). */
export function activationBytes(shape: LlamaShape, batchSize: number, seqLen: number): number {
  const d = shape.hiddenSize;
  const h = shape.numAttentionHeads;
  const kvDim = (shape.numKeyValueHeads ?? h) * (d / h);
  const tokens = batchSize * seqLen;
  const perLayer = tokens * (PER_TOKEN_HIDDEN * d + PER_TOKEN_KV * kvDim + PER_TOKEN_MLP * shape.intermediateSize) + SCORE_BUFFERS * batchSize * h * seqLen * seqLen;
  return 4 * (shape.numHiddenLayers * perLayer + LOGIT_BUFFERS * tokens * shape.vocabSize);
}

/** Inputs of `trainStepBytes`. */
export interface TrainStepMemoryInput {
  /** Elements of the trainable parameters. */
  trainableElements: number;
  /** Element count of the largest trainable parameter (AdamW's temporaries are per parameter). */
  largestTrainableElements: number;
  gradAccumSteps: number;
  clipping: boolean;
  /** Whether AdamW's m and v already exist (then they are live and not counted here). */
  optimizerAllocated: boolean;
  /** `activationBytes(...)` when the model's shape is known, else 0. */
  activationBytes: number;
}

/** Bytes one training step allocates beyond the live tensors (see the file comment). */
export function trainStepBytes(m: TrainStepMemoryInput): number {
  const gradCopies = 1 + (m.gradAccumSteps > 1 ? 1 : 0) + (m.clipping ? 1 : 0);
  const adamState = m.optimizerAllocated ? 0 : 2;
  const adamTemporaries = 6 * m.largestTrainableElements;
  return 4 * ((gradCopies + adamState) * m.trainableElements + adamTemporaries) + m.activationBytes;
}

/** Throws with advice when a step of this size cannot fit the backend's memory (wasm: 4 GiB heap). */
export function assertTrainStepFits(bytes: number, what: string): void {
  assertFitsInMemory(
    bytes,
    what,
    'use a shorter seqLen or batchSize (keep the effective batch with gradAccumSteps), train fewer parameters (LoRA), ' +
      'use S2-Attn (shorter attention groups), or a native backend (LONGLORA_BACKEND=tensorflow with @tensorflow/tfjs-node)',
  );
}
