/**
 * The trainer's plain record types, in a file of their own so that the trainer, its checkpoints,
 * its memory guard and `longLora` can all use them without importing each other.
 */
import type { Tensor, Tensor2D, Variable } from '../backend';

/**
 * What the trainer needs from a model: `LlamaForCausalLM` is one, and so is what `longLora`
 * returns, which also supplies the optional members (its trainable set, a loss on the batch's host
 * arrays, and its own memory estimate).
 */
export interface TrainableModel {
  /** Every parameter by name (HF names); the trainable ones are chosen by `TrainConfig.trainable`. */
  readonly parameters: Map<string, Variable>;
  /** Mean next-token cross-entropy of `inputIds` `[batch, seq]` (labels default to the inputs). */
  loss(inputIds: Tensor2D, options?: { labels?: Tensor2D; training?: boolean }): Tensor;
  /** The model's config; saved with checkpoints and compared on resume. */
  readonly config?: unknown;
  /** The parameters to train when the train config sets no `trainable` (longLora: its trainable set). */
  readonly trainableNames?: readonly string[];
  /**
   * The loss of a batch from its host arrays (`inputIds`, `labels`: Int32Array). When present the
   * trainer calls it instead of `loss`, so that the ids and labels the model needs on the host are
   * never uploaded and read back from the device.
   */
  batchLoss?(batch: TrainBatch, options: { training: boolean }): Tensor;
  /**
   * Bytes the forward and backward pass of one micro-batch of this shape keep alive (activations
   * and cached tables). The trainer's memory guard adds the gradients and AdamW's state; without
   * this method it checks those alone.
   */
  activationBytes?(batchSize: number, seqLen: number): number;
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

/** Why training stopped early because of a non-finite value. */
export interface Divergence {
  /** The update that produced it (it was not applied). */
  step: number;
  loss: number;
  gradNorm: number;
  /** Newest checkpoint written from finite weights, or null. */
  lastGoodCheckpoint: string | null;
  message: string;
}

/** The outcome of `train()`. */
export interface TrainResult {
  status: 'completed' | 'stopped' | 'diverged';
  /** Updates done in total (a resumed run counts the earlier ones). */
  steps: number;
  history: StepRecord[];
  /** Loss of the last update, or NaN when none ran. */
  finalLoss: number;
  /** Last `evaluate` result, when the hook is set. */
  evalLoss?: number;
  lastCheckpoint: string | null;
  divergence?: Divergence;
}
