/**
 * The training step's memory estimate, checked before the first step so that a run that cannot fit
 * the backend (the wasm heap's 4 GiB, the machine's memory) stops with advice instead of crashing.
 *
 * Bytes a step allocates on top of what is already live (the model's weights and, after the first
 * step, the optimizer's m and v, which `assertFitsInMemory` counts as live tensors):
 *   gradients of the trainable parameters (x1, +1 accumulation buffer),
 *   AdamW's m and v (x2) while they do not exist yet,
 *   and the larger of: the activations the gradient tape keeps for one micro-batch, from lib/cost's
 *     memory model (`trainingMemory`, calibrated on measured steps; `npm run calibrate:memory`), and
 *     AdamW's temporaries (five buffers of its largest update group).
 */
import { assertFitsInMemory } from '../backend';
import { trainingMemory } from '../cost/memory';
import type { LlamaConfig } from '../model/config';

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
 * activations.
 */
export function activationBytes(config: LlamaConfig, batchSize: number, seqLen: number, { lora = false }: { lora?: boolean } = {}): number {
  const spec = (config.attention ?? { kind: 'full' }) as { kind: string; groupSizeRatio?: number }; // shape-only configs: dense
  const m = trainingMemory(config, seqLen, {
    batchSize,
    attention: spec.kind === 's2' ? 's2' : 'full',
    groupSizeRatio: spec.groupSizeRatio ?? 0.25,
    trainable: lora ? 'lora' : 'full',
  });
  return m.activations + m.constants;
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
  /** `activationBytes(...)` when the model's shape is known, else 0. */
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
