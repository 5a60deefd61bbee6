/**
 * The elementwise pieces of a Llama block, each as Hugging Face computes it in float32
 * (transformers `modeling_llama.py`: `LlamaRMSNorm`, `LlamaMLP` with `ACT2FN['silu']`).
 */
import { tf } from '../backend';
import type { Tensor, Tensor1D, Tensor2D } from '../backend';

/**
 * HF `LlamaRMSNorm`: `weight * (x * rsqrt(mean(x^2, -1) + eps))`.
 * x `[N, C]`, weight `[C]` -> `[N, C]`.
 */
export function rmsNorm(x: Tensor2D, weight: Tensor1D, eps: number): Tensor2D {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true); // [N, 1]
    const normed = tf.mul(x, tf.rsqrt(tf.add(variance, eps)));
    return tf.mul(weight, normed) as Tensor2D;
  });
}

/** SiLU (swish): `x * sigmoid(x)`. */
export function silu<T extends Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}
