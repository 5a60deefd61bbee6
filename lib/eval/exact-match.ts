/**
 * Teacher-forced exact match: the share of labeled examples whose every labeled token is the model's
 * most likely next token at the position before it. One batched forward pass instead of a decode per
 * example; for an example whose labels are a completion (passkey's " " key EOS) it equals greedy
 * decoding's exact match, since greedy decoding reproduces the completion token by token exactly when
 * each token is the argmax given the ones before it.
 */
import { tf } from '../backend';
import type { LabeledExample } from '../data';
import { collateExamples } from '../data';
import { IGNORE_INDEX } from '../util/constants';
import type { CausalLM } from './perplexity';

/** Fraction in [0, 1] of `examples` whose labeled tokens are all the argmax predictions (see the file comment). */
export function teacherForcedExactMatch(model: CausalLM, examples: readonly LabeledExample[], options: { allowExtrapolation?: boolean } = {}): number {
  const batch = collateExamples(examples);
  const { batchSize, seqLen, labels } = batch;
  for (let b = 0; b < batchSize; b++) {
    let labeled = 0;
    for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) labeled++;
    if (labeled === 0 || labels[b * seqLen] !== IGNORE_INDEX) {
      throw new Error(`teacherForcedExactMatch: example ${b} must label at least one token after the first (the first has no prediction); give it labels other than IGNORE_INDEX`);
    }
  }
  const predicted = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(batch.inputIds, [batchSize, seqLen], 'int32'), { allowExtrapolation: options.allowExtrapolation ?? false }); // [B, N, V]
    return tf.argMax(logits, -1).dataSync() as Int32Array; // [B * N]
  });
  let exact = 0;
  for (let b = 0; b < batchSize; b++) {
    let all = true;
    for (let t = 1; t < seqLen && all; t++) {
      const label = labels[b * seqLen + t];
      if (label !== IGNORE_INDEX && predicted[b * seqLen + t - 1] !== label) all = false;
    }
    if (all) exact++;
  }
  return exact / batchSize;
}
