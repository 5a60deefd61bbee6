/**
 * The fast path of dense attention: softmax(q k^T / sqrt(D) + additive mask) v as one differentiable
 * op with its own backward pass, and causal attention in query blocks built from it.
 *
 * Must equal `causalReference` (../causal.ts), and `maskedReference` for other masks, wherever
 * `fastOrReference` (../causal.ts) keeps its result: finite keys before, a finite output after,
 * where adding the mask (0 or -Infinity) gives exactly what selecting gives. `causalAttention` and
 * `maskedAttention` run the references elsewhere.
 *
 * Why add the mask rather than select with it, as the references do: tf.where materialises its
 * broadcast operands (a tiled copy of the mask and of the fill value per call), which measured about
 * twice the cost of the add on the native backend and over 50x on wasm, on the score-sized tensors
 * that dominate a training step. Where `fastOrReference` keeps the result, the sum is exactly the
 * selection.
 *
 * Why a custom gradient: recording the forward op by op would keep every intermediate (scores,
 * scaled scores, masked scores, P) and each of their gradients until the whole backward pass ends;
 * here the forward keeps q, k, v, the output (and P, unless recomputing), and the backward frees
 * its temporaries at once. Why query blocks: block b of Bq queries needs only the keys up to its
 * last query, so the causal triangle's zero blocks are never computed and at most Bq x Tk scores
 * exist at once.
 */
import { tf, matmulNoGrad } from '../../backend';
import type { Tensor, Tensor4D } from '../../backend';
import { causalMask } from '../masks';
import type { AttentionMemory } from '../options';

/**
 * The query block size for `tq` queries over `tk` keys: whole below 1024 queries; blocks of
 * max(512, N/4) above, which measured 20-30% faster than one N x N block at N = 2048 on both the
 * native and the wasm backend. Decoding with a cache (tq < tk) is one block.
 */
export function defaultCausalBlockSize(tq: number, tk: number): number {
  return tq === tk && tq >= 1024 ? Math.max(512, Math.ceil(tq / 4)) : tq;
}

/** P = softmax((q * scale) k^T + mask), no gradient recorded (the scale goes on q: D wide, not Tk). */
export function attentionProbabilities(q: Tensor, k: Tensor, additiveMask: Tensor | null, scale: number): Tensor {
  return tf.tidy(() => {
    const scores = matmulNoGrad(tf.mul(q, scale), k, false, true); // [..., Tq, Tk]
    return tf.softmax(additiveMask === null ? scores : tf.add(scores, additiveMask)); // [..., Tq, Tk]
  });
}

/**
 * The attention gradient, no gradient recorded, with flash attention's row term
 * rowsum(dP * P) = rowsum(dO * O) (D wide instead of Tk):
 *   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dO * O)),  dQ = dS K / sqrt(D),  dK = dS^T Q / sqrt(D).
 * Returns [dq, dk, dv].
 */
export function attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, probs: Tensor, dy: Tensor, scale: number): Tensor[] {
  return tf.tidy(() => {
    const dv = matmulNoGrad(probs, dy, true, false); // [..., Tk, D]
    const dp = matmulNoGrad(dy, v, false, true); // [..., Tq, Tk]
    const rowTerm = tf.sum(tf.mul(dy, out), -1, true); // [..., Tq, 1]
    const ds = tf.mul(probs, tf.sub(dp, rowTerm)); // [..., Tq, Tk], unscaled
    const dq = tf.mul(matmulNoGrad(ds, k), scale); // [..., Tq, D]
    const dk = tf.mul(matmulNoGrad(ds, q, true, false), scale); // [..., Tk, D]
    return [dq, dk, dv];
  });
}

/**
 * softmax(q k^T / sqrt(D) + mask) v for q `[..., Tq, D]`, k and v `[..., Tk, D]` (as many heads as
 * q) and a constant additive mask broadcastable to `[..., Tq, Tk]`, with the backward pass above.
 * `memory`: see AttentionMemory (../options.ts).
 */
export function maskedSoftmaxAttention(q: Tensor, k: Tensor, v: Tensor, additiveMask: Tensor | null, { memory = 'save' }: { memory?: AttentionMemory } = {}): Tensor {
  const scale = 1 / Math.sqrt(q.shape[q.rank - 1]);
  const recompute = memory === 'recompute';
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const op = tf.customGrad(((qi: Tensor, ki: Tensor, vi: Tensor, save: (ts: Tensor[]) => void) => {
    const p = attentionProbabilities(qi, ki, additiveMask, scale); // [..., Tq, Tk]
    const out = matmulNoGrad(p, vi); // [..., Tq, D]
    // recomputing needs the mask in the backward pass: saved, it outlives the caller's tidy
    save(recompute ? [qi, ki, vi, out, ...(additiveMask === null ? [] : [additiveMask])] : [qi, ki, vi, out, p]);
    if (recompute) p.dispose();
    return {
      value: out,
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, os] = saved;
          const probs = recompute ? attentionProbabilities(qs, ks, saved[4] ?? null, scale) : saved[4];
          return attentionBackward(qs, ks, vs, os, probs, dy, scale);
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(q, k, v);
}

/**
 * Causal attention on `[B, H, Tq, D]` queries and `[B, H, Tk, D]` keys and values (kv heads already
 * expanded), the queries at the end of the keys, in query blocks of `blockSize` rows.
 */
export function causalBlocked(q: Tensor4D, k: Tensor4D, v: Tensor4D, { blockSize, memory }: { blockSize: number; memory: AttentionMemory }): Tensor4D {
  const [tq, tk] = [q.shape[2], k.shape[2]];
  return tf.tidy(() => {
    // one query (decoding with a cache) sees every key: no mask, and no mask cached per cache length
    if (blockSize >= tq) return maskedSoftmaxAttention(q, k, v, tq === 1 ? null : causalMask(tq, tk), { memory }) as Tensor4D;
    const outs: Tensor[] = [];
    for (let start = 0; start < tq; start += blockSize) {
      const rows = Math.min(blockSize, tq - start);
      const keys = tk - tq + start + rows; // this block's last query sees keys [0, keys)
      const qb = tf.slice(q, [0, 0, start, 0], [-1, -1, rows, -1]); // [B, H, rows, D]
      const [kb, vb] = [k, v].map((x) => tf.slice(x, [0, 0, 0, 0], [-1, -1, keys, -1])); // [B, H, keys, D]
      outs.push(maskedSoftmaxAttention(qb, kb, vb, causalMask(rows, keys), { memory })); // [B, H, rows, D]
    }
    return tf.concat(outs, 2) as Tensor4D; // [B, H, Tq, D]
  });
}
