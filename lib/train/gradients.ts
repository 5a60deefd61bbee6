/**
 * One update's loss and gradients: `gradAccumSteps` micro-batches, each differentiated with respect
 * to the trainable variables only (`tf.variableGrads`), summed, then averaged. With a per-token mean
 * loss and equal-sized micro-batches the mean is the gradient of one batch k times larger (HF
 * scales each micro-loss by 1/k before backward).
 *
 * The loss of a micro-batch comes from the model's `batchLoss` when it has one (the batch's host
 * arrays go in as they are: `longLora`'s loss reads labels from them, never from the device), else
 * from `loss` on int32 tensors made here.
 */
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { batchTensors, checkTrainBatch } from './inputs';
import type { BatchSource, TrainableModel, TrainBatch } from './types';

/** Mean loss and gradients (by parameter name) of one update, and the tokens it saw. */
export interface UpdateGradients {
  loss: Tensor;
  grads: Map<string, Tensor>;
  tokens: number;
}

/** Differentiates a model's loss with respect to a fixed set of trainable variables. */
export class GradientAccumulator {
  private readonly variables: Variable[];
  private readonly nameOfVar = new Map<string, string>();

  /** `trainable`: the variables to differentiate, by parameter name. */
  constructor(
    readonly model: TrainableModel,
    trainable: Map<string, Variable>,
  ) {
    this.variables = [...trainable.values()];
    for (const [name, v] of trainable) this.nameOfVar.set(v.name, name);
  }

  /**
   * The mean over `k` micro-batches drawn from `data`; `beforeBatch` sees each checked batch before
   * its forward pass (the trainer's memory guard). If one fails, the partial sums are freed.
   */
  mean(data: BatchSource, k: number, beforeBatch: (batch: TrainBatch) => void): UpdateGradients {
    let sum: { loss: Tensor; grads: Map<string, Tensor> } | null = null;
    let tokens = 0;
    try {
      for (let i = 0; i < k; i++) {
        const batch = data.next();
        checkTrainBatch(batch, 'Trainer');
        beforeBatch(batch);
        tokens += batch.batchSize * batch.seqLen;
        const micro = this.microStep(batch);
        if (sum === null) {
          sum = micro;
          continue;
        }
        const prevLoss: Tensor = sum.loss;
        sum.loss = tf.add(prevLoss, micro.loss);
        tf.dispose([prevLoss, micro.loss]);
        for (const [name, g] of micro.grads) {
          const prev = sum.grads.get(name);
          sum.grads.set(name, prev === undefined ? g : tf.add(prev, g));
          if (prev !== undefined) tf.dispose([prev, g]);
        }
      }
    } catch (e) {
      if (sum !== null) tf.dispose([sum.loss, ...sum.grads.values()]);
      throw e;
    }
    const { loss, grads } = sum as { loss: Tensor; grads: Map<string, Tensor> };
    if (k === 1) return { loss, grads, tokens };
    const mean = { loss: tf.div(loss, k), grads: new Map([...grads].map(([name, g]) => [name, tf.div(g, k)] as const)), tokens };
    tf.dispose([loss, ...grads.values()]);
    return mean;
  }

  /** Gradients of one micro-batch's loss, keyed by parameter name. */
  private microStep(batch: TrainBatch): { loss: Tensor; grads: Map<string, Tensor> } {
    const { value, grads } = tf.variableGrads(() => this.microLoss(batch), this.variables);
    const named = new Map<string, Tensor>();
    for (const [varName, g] of Object.entries(grads)) {
      if (g !== null) named.set(this.nameOfVar.get(varName) as string, g);
    }
    return { loss: value, grads: named };
  }

  /** The mean loss of one micro-batch, from its host arrays (`batchLoss`) or as tensors (`loss`). */
  private microLoss(batch: TrainBatch): tf.Scalar {
    let loss: Tensor;
    if (typeof this.model.batchLoss === 'function') loss = this.model.batchLoss(batch, { training: true });
    else {
      const { inputIds, labels } = batchTensors(batch);
      try {
        loss = this.model.loss(inputIds, { labels, training: true });
      } finally {
        tf.dispose([inputIds, ...(labels ? [labels] : [])]);
      }
    }
    if (loss.rank !== 0) throw new Error(`Trainer: model.loss returned shape [${loss.shape.join(', ')}]; it must return a scalar (the mean loss)`);
    return loss as tf.Scalar;
  }
}
