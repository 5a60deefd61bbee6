/**
 * Gradient clipping by global L2 norm, as `torch.nn.utils.clip_grad_norm_` (norm_type 2), which HF's
 * Trainer applies with `max_grad_norm` (default 1.0; LongLoRA keeps the default, reference §3.2):
 *
 *   total = || [ ||g_1||, ..., ||g_n|| ] ||_2             (the norm of all gradients as one vector)
 *   coef  = min(1, max_norm / (total + 1e-6))
 *   g_i  *= coef                                           (always multiplied, as torch does)
 *
 * and the pre-clip `total` is returned (what HF logs as `grad_norm`).
 */
import { tf } from '../backend';
import type { Tensor } from '../backend';

/** torch's guard against division by a zero norm. */
export const CLIP_EPS = 1e-6;

/**
 * The global L2 norm of all `grads` together, a scalar tensor (rank 0). torch takes the norm of the
 * per-tensor norms; that is the same number, and one concatenated vector costs 4 ops instead of 3 per
 * tensor (which dominates for many small tensors on the native backend).
 */
export function globalNorm(grads: Iterable<Tensor>): Tensor {
  const list = [...grads];
  if (list.length === 0) throw new Error('globalNorm: no gradients given; pass at least one tensor');
  return tf.tidy(() => {
    const flat = list.length === 1 ? tf.reshape(list[0], [-1]) : tf.concat(list.map((g) => tf.reshape(g, [-1])));
    return tf.sqrt(tf.sum(tf.square(flat)));
  });
}

/** torch's clip coefficient min(1, maxNorm / (norm + 1e-6)) as a scalar tensor. */
export function clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new Error(`clipGradNorm: maxNorm = ${maxNorm} must be a finite number > 0 (HF default 1.0); to skip clipping, do not call it`);
  }
  return tf.tidy(() => tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, CLIP_EPS)), 1));
}

/** Result of `clipGradNorm`: new clipped gradients (the caller owns them) and the pre-clip norm. */
export interface ClippedGrads {
  /** Same keys and shapes as the input. */
  grads: Map<string, Tensor>;
  /** Global L2 norm before clipping, a scalar tensor (read it together with the loss to save a sync). */
  norm: Tensor;
}

/**
 * Clips `grads` to global L2 norm `maxNorm` (torch `clip_grad_norm_`). The inputs are not modified
 * or disposed. A non-finite norm passes through (the scaled gradients become NaN, as in torch with
 * `error_if_nonfinite=False`); the trainer checks the returned norm and stops.
 */
export function clipGradNorm(grads: Map<string, Tensor>, maxNorm: number): ClippedGrads {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new Error(`clipGradNorm: maxNorm = ${maxNorm} must be a finite number > 0 (HF default 1.0); to skip clipping, do not call it`);
  }
  const norm = globalNorm(grads.values());
  const coef = clipCoefficient(norm, maxNorm);
  const clipped = new Map<string, Tensor>();
  for (const [name, g] of grads) clipped.set(name, tf.mul(g, coef));
  coef.dispose();
  return { grads: clipped, norm };
}
