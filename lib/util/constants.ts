/** Constants shared across the library. */

/**
 * The label value excluded from the loss: `IGNORE_INDEX` in the official LongLoRA scripts and
 * PyTorch's default `ignore_index` of cross-entropy (-100). Used by the data pipeline that writes
 * labels and by the model's loss that skips them.
 */
export const IGNORE_INDEX = -100;
