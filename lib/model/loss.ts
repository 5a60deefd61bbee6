/**
 * Hugging Face's causal-LM loss (`LlamaForCausalLM.forward(labels=...)`): position j of a row
 * predicts the label at j + 1, the last position predicts nothing, labels equal to IGNORE_INDEX
 * (-100) do not count, and the loss is the mean cross-entropy over the counted positions, from a
 * float32 log-softmax. Split in two so that the labels can come from the host (a batch's
 * Int32Array) or from a tensor, with the same arithmetic.
 */
import { tf } from '../backend';
import type { Tensor } from '../backend';
import { IGNORE_INDEX } from '../util/constants';

/**
 * Flat indices into the `[B * T * V]` log-probabilities of every counted (position, next label)
 * pair of `labels` `[B, T]` (row-major). Throws for a label outside `[0, V)` that is not
 * IGNORE_INDEX, and when no label counts (HF would return NaN). `where` prefixes the messages.
 */
export function labelPicks(labels: ArrayLike<number>, b: number, t: number, v: number, where: string, what = 'label'): number[] {
  const picks: number[] = [];
  for (let row = 0; row < b; row++) {
    for (let j = 0; j < t - 1; j++) {
      const target = labels[row * t + j + 1];
      if (target === IGNORE_INDEX) continue;
      if (!(Number.isInteger(target) && target >= 0 && target < v)) {
        throw new Error(`${where}: ${what} ${target} at [${row}, ${j + 1}] is outside the vocabulary: ${what}s must be in [0, ${v})${what === 'label' ? ` or ${IGNORE_INDEX} (ignored)` : ''}`);
      }
      picks.push((row * t + j) * v + target);
    }
  }
  if (picks.length === 0) {
    throw new Error(`${where}: no position has a label to predict (sequence length ${t}; after the shift every label is ${IGNORE_INDEX}); give sequences of 2+ tokens with at least one counted label`);
  }
  return picks;
}

/** Mean negative log-likelihood of `logits` `[B, T, V]` at `picks` (from `labelPicks`), a scalar. */
export function meanPickedCrossEntropy(logits: Tensor, picks: number[]): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const logProbs = tf.logSoftmax(tf.reshape(logits, [b * t, v])); // [B*T, V]
    const picked = tf.gather(tf.reshape(logProbs, [b * t * v]), tf.tensor1d(picks, 'int32')); // [count]
    return tf.neg(tf.div(tf.sum(picked), picks.length)) as tf.Scalar;
  });
}
