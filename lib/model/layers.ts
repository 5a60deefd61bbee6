/**
 * The elementwise pieces of a Llama block, each as Hugging Face computes it in float32
 * (transformers `modeling_llama.py`: `LlamaRMSNorm`, `LlamaMLP` with `ACT2FN['silu']`).
 */
import { tf } from '../backend';
import type { Tensor, Tensor1D, Tensor2D } from '../backend';

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * HF `LlamaRMSNorm`: `weight * (x * rsqrt(mean(x^2, -1) + eps))`.
 * x `[N, C]`, weight `[C]` -> `[N, C]`.
 * One op with its own gradient, keeping only x and r = rsqrt(mean(x^2) + eps) [N, 1] for it:
 *   x^ = x r,  g = dy * weight,  dx = r (g - x^ mean(g * x^, -1)),  dweight = sum_rows(dy * x^).
 */
export function rmsNorm(x: Tensor2D, weight: Tensor1D, eps: number): Tensor2D {
  const op = tf.customGrad(((xi: Tensor, w: Tensor, save: (ts: Tensor[]) => void) => {
    const r = tf.tidy(() => tf.rsqrt(tf.add(tf.mean(tf.square(xi), -1, true), eps))); // [N, 1]
    save([xi, w, r]);
    return {
      value: tf.tidy(() => tf.mul(w, tf.mul(xi, r))),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws, rs] = saved;
          const xhat = tf.mul(xs, rs);
          const g = tf.mul(dy, ws);
          const dx = tf.mul(rs, tf.sub(g, tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
          const dw = tf.sum(tf.mul(dy, xhat), 0);
          return [dx, dw];
        }),
    };
  }) as unknown as CustomGradFn);
  return op(x, weight) as Tensor2D;
}

/** SiLU (swish): `x * sigmoid(x)`. */
export function silu<T extends Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/**
 * The SwiGLU product `silu(gate) * up` (HF `LlamaMLP`: `act_fn(gate_proj(x)) * up_proj(x)`), as one
 * op that keeps only gate and up for its gradient (sigmoid is recomputed):
 *   s = sigmoid(gate),  dup = dy * gate * s,  dgate = dy * up * s * (1 + gate * (1 - s)).
 */
export function swiglu<T extends Tensor>(gate: T, up: T): T {
  const op = tf.customGrad(((g: Tensor, u: Tensor, save: (ts: Tensor[]) => void) => {
    save([g, u]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u)),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [gs, us] = saved;
          const s = tf.sigmoid(gs);
          const dUp = tf.mul(dy, tf.mul(gs, s));
          const dGate = tf.mul(tf.mul(dy, us), tf.mul(s, tf.add(1, tf.mul(gs, tf.sub(1, s)))));
          return [dGate, dUp];
        }),
    };
  }) as unknown as CustomGradFn);
  return op(gate, up) as T;
}
