/**
 * The training step's memory estimate, checked before the first step of each batch shape so that a
 * run that cannot fit the backend (the wasm heap's 4 GiB, the machine's memory) stops with advice
 * instead of crashing.
 *
 * Bytes a step allocates on top of what is already live (the model's weights and, after the first
 * step, the optimizer's m and v, which `assertFitsInMemory` counts as live tensors):
 *   gradients of the trainable parameters (x1, +1 accumulation buffer),
 *   AdamW's m and v (x2) while they do not exist yet,
 *   and the larger of: the activations the gradient tape keeps for one micro-batch, which the model
 *     supplies (`TrainableModel.activationBytes`; for a Llama model, as `longLora` returns it, from
 *     lib/cost's memory model `trainingMemory`, calibrated on measured steps with
 *     `npm run calibrate:memory`), and AdamW's temporaries (five buffers of its largest update group).
 * The trainer knows only the parameters and the optimizer; what a batch costs inside the model is
 * the model's to say, so the guard works for any TrainableModel without reading its config.
 */
import { assertFitsInMemory } from '../backend';
import { trainingMemory } from '../cost/memory';
import type { LlamaConfig } from '../model/config';
import { DEFAULT_LORA_CONFIG } from '../lora';
import type { LoraConfig } from '../lora';
import { describe } from '../util/options';
import type { TrainableModel } from './types';

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

/**
 * Activation bytes (plus the cached RoPE tables and masks) of one micro-batch through a Llama
 * model, from the memory model of lib/cost (calibrated on measured steps): `config` is the model's
 * LlamaConfig, whose attention spec decides full attention or S2-Attn; `lora` adds the adapters'
 * activations (`true`: the default LoRA config; or the adapters' own config).
 */
export function activationBytes(config: LlamaConfig, batchSize: number, seqLen: number, { lora = false }: { lora?: boolean | LoraConfig } = {}): number {
  const spec = (config.attention ?? { kind: 'full' }) as { kind: string; groupSizeRatio?: number; groupSize?: number }; // shape-only configs: dense
  const s2 = spec.kind === 's2';
  const m = trainingMemory(config, seqLen, {
    batchSize,
    attention: s2 ? 's2' : 'full',
    groupSizeRatio: s2 && spec.groupSize !== undefined ? spec.groupSize / seqLen : spec.groupSizeRatio ?? 0.25,
    trainable: lora === false ? 'full' : 'lora',
    lora: typeof lora === 'object' ? lora : DEFAULT_LORA_CONFIG,
  });
  return m.activations + m.constants;
}

/**
 * What `model.activationBytes(batchSize, seqLen)` says one micro-batch keeps alive, checked. A model
 * without the method whose `config` is a complete LlamaConfig (a plain `LlamaForCausalLM`) gets the
 * memory model's estimate for that config; any other model 0 (the guard then counts gradients and
 * optimizer state only).
 */
export function modelActivationBytes(model: TrainableModel, batchSize: number, seqLen: number): number {
  if (typeof model.activationBytes !== 'function') {
    const config = model.config as LlamaConfig | undefined;
    const complete = llamaShapeOf(config) !== null && typeof config?.maxPositionEmbeddings === 'number' && config.attention !== undefined;
    return complete ? activationBytes(config as LlamaConfig, batchSize, seqLen) : 0;
  }
  const bytes = model.activationBytes(batchSize, seqLen);
  if (!(typeof bytes === 'number' && Number.isFinite(bytes) && bytes >= 0)) {
    throw new Error(`Trainer: model.activationBytes(${batchSize}, ${seqLen}) returned ${describe(bytes)}; it must return a finite number of bytes >= 0`);
  }
  return bytes;
}

/** Inputs of `trainStepBytes`. */
export interface TrainStepMemoryInput {
  /** Elements of the trainable parameters. */
  trainableElements: number;
  /** Element count of AdamW's largest update group (its temporaries are per group: `AdamW.largestGroupElements`). */
  largestTrainableElements: number;
  gradAccumSteps: number;
  clipping: boolean;
  /** Whether AdamW's m and v already exist (then they are live and not counted here). */
  optimizerAllocated: boolean;
  /** The model's own estimate for the batch shape (`modelActivationBytes`), else 0. */
  activationBytes: number;
}

/** Bytes one training step allocates beyond the live tensors (see the file comment). */
export function trainStepBytes(m: TrainStepMemoryInput): number {
  const gradCopies = 1 + (m.gradAccumSteps > 1 ? 1 : 0); // clipping scales inside the optimizer step: no copy
  const adamState = m.optimizerAllocated ? 0 : 2;
  // The activations are freed by the time AdamW runs, so the step peaks at whichever is larger: the
  // backward pass's activations, or the optimizer's group-sized temporaries (concatenated values and
  // gradients, new m and v, the step).
  const adamTemporaries = 4 * 5 * m.largestTrainableElements;
  return 4 * (gradCopies + adamState) * m.trainableElements + Math.max(m.activationBytes, adamTemporaries);
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
