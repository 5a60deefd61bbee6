/**
 * Labelled examples for SFT-style training (passkey mix, long QA): token ids plus labels in the
 * Hugging Face convention the official `supervised-fine-tune.py` uses: `labels[i]` is the id at
 * position i where the loss counts and IGNORE_INDEX (-100) elsewhere; the model shifts
 * internally (the prediction made at position i - 1 is scored against `labels[i]`).
 */
import { PAD } from './tokenizer';
import { checkKnownKeys, checkPositiveInt, describe } from '../util/options';
import { isInt32Array } from '../util/typed-arrays';

import { IGNORE_INDEX } from '../util/constants';


/** One tokenised example: `inputIds` [length] and `labels` [length] (IGNORE_INDEX where not trained). */
export interface LabeledExample {
  inputIds: Int32Array;
  labels: Int32Array;
}

/** A right-padded batch: row-major `inputIds` / `labels` [batchSize, seqLen]. */
export interface LabeledBatch {
  inputIds: Int32Array;
  labels: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Options of {@link collateExamples}. */
export interface CollateOptions {
  /** Pad every row to this length; default: the longest example (as `DataCollatorForSupervisedDataset` does). */
  padTo?: number;
}

/**
 * Stacks examples into one right-padded batch: inputs padded with PAD, labels with IGNORE_INDEX,
 * as the official `DataCollatorForSupervisedDataset` does (it pads to the longest in the batch).
 */
export function collateExamples(examples: readonly LabeledExample[], options: CollateOptions = {}): LabeledBatch {
  checkKnownKeys('collateExamples', options, ['padTo']);
  if (!Array.isArray(examples) || examples.length === 0) {
    throw new Error(`collateExamples: examples must be a non-empty array, got ${describe(examples)}`);
  }
  examples.forEach((e, i) => {
    if (!isInt32Array(e?.inputIds) || !isInt32Array(e.labels) || e.inputIds.length !== e.labels.length) {
      throw new Error(`collateExamples: example ${i} must have Int32Array inputIds and labels of equal length`);
    }
  });
  const longest = Math.max(...examples.map((e) => e.inputIds.length));
  const seqLen = options.padTo === undefined ? longest : checkPositiveInt('collateExamples', 'padTo', options.padTo);
  if (longest > seqLen) {
    throw new Error(`collateExamples: an example has ${longest} tokens but padTo is ${seqLen}; raise padTo or shorten the example`);
  }
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(PAD);
  const labels = new Int32Array(batchSize * seqLen).fill(IGNORE_INDEX);
  examples.forEach((e, b) => {
    inputIds.set(e.inputIds, b * seqLen);
    labels.set(e.labels, b * seqLen);
  });
  return { inputIds, labels, batchSize, seqLen };
}
