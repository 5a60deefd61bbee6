/**
 * The trainer's plain record types, in a file of their own so that the trainer and its checkpoints
 * can both use them without importing each other.
 */
import type { Tensor, Tensor2D, Variable } from '../backend';

/** What the trainer needs from a model; `LlamaForCausalLM` is one. */
export interface TrainableModel {
  /** Every parameter by name (HF names); the trainable ones are chosen by `TrainConfig.trainable`. */
  readonly parameters: Map<string, Variable>;
  /** Mean next-token cross-entropy of `inputIds` `[batch, seq]` (labels default to the inputs). */
  loss(inputIds: Tensor2D, options?: { labels?: Tensor2D; training?: boolean }): Tensor;
  /** The model's config; saved with checkpoints and compared on resume. */
  readonly config?: unknown;
}

/** One micro-batch: token ids `[batchSize, seqLen]` row-major (lib/data `WindowBatcher.next()`). */
export interface TrainBatch {
  inputIds: Int32Array; // [batchSize, seqLen]
  batchSize: number;
  seqLen: number;
  /** Labels `[batchSize, seqLen]` (-100 = ignored); default: the inputs (causal LM). */
  labels?: Int32Array;
}

/**
 * A resumable stream of micro-batches (lib/data `WindowBatcher`): `state()` returns the position as
 * plain JSON, `restore(state)` continues from it (it receives what `state()` returned, after a JSON
 * round trip through the checkpoint).
 */
export interface BatchSource {
  next(): TrainBatch;
  state(): unknown;
  restore(state: unknown): void;
}

/** One update as logged (HF `log_history` entry). */
export interface StepRecord {
  /** Updates done after this one (1-based). */
  step: number;
  /** Mean training loss over this update's micro-batches. */
  loss: number;
  /** Learning rate this update used. */
  lr: number;
  /** Global L2 gradient norm before clipping. */
  gradNorm: number;
  /** Tokens in this update (all micro-batches). */
  tokens: number;
  /** Wall time of this update, data included. */
  stepMs: number;
  tokensPerSec: number;
  /** Training time so far, including earlier sessions of a resumed run. */
  elapsedMs: number;
  /** Result of the `evaluate` hook after this update, when it ran. */
  evalLoss?: number;
}
