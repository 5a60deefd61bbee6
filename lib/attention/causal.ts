/**
 * Dense causal attention: softmax(q k^T / sqrt(d) + causal mask) v, the attention LongLoRA uses at
 * inference and evaluation (official `forward_flashattn_full`; plain HF `LlamaAttention` math).
 *
 * Layout `[batch, heads, seq, headDim]`. Keys and values may have fewer heads than queries
 * (grouped-query attention): each kv head serves `heads / kvHeads` consecutive query heads, as HF's
 * `repeat_kv` does. Queries may be fewer than keys (decoding with a KV cache): query i sits at
 * absolute position `keys - queries + i` and sees keys up to it.
 *
 * Queries are processed in blocks of `blockSize` rows, each against only the keys up to its last
 * query (the causal triangle's zero blocks are never computed), so that at most `blockSize x keys`
 * scores exist at once; the result is the same. Default: `defaultCausalBlockSize` (whole below 1024
 * queries; blocks of max(512, N/4) above, which measured 20-30% faster than one N x N block at
 * N = 2048 on both the native and the wasm backend).
 */
import { tf, matmulNoGrad } from '../backend';
import type { Tensor, Tensor4D } from '../backend';
import { assertFitsInMemory } from '../backend/memory';

/** The additive mask value: finite, so fully masked padding rows give uniform rows, not NaN. */
export const MASK_VALUE = -1e9;

export interface CausalAttentionOptions {
  /** Process queries in blocks of this many rows (memory O(blockSize x keys) instead of O(N^2)); default `defaultCausalBlockSize`. */
  blockSize?: number;
}

/** The query block size `causalAttention` uses by default for `tq` queries over `tk` keys. */
export function defaultCausalBlockSize(tq: number, tk: number): number {
  return tq === tk && tq >= 1024 ? Math.max(512, Math.ceil(tq / 4)) : tq;
}

/** Checks `[B, H, Tq, D]` / `[B, Hkv, Tk, D]` shapes and returns the sizes. */
export function checkAttentionShapes(q: Tensor, k: Tensor, v: Tensor, what: string): { b: number; h: number; hkv: number; tq: number; tk: number; d: number } {
  const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`${what}: q, k, v must be rank 4 [batch, heads, seq, headDim]; got ${shape(q)}, ${shape(k)}, ${shape(v)}`);
  }
  const [b, h, tq, d] = q.shape;
  const [bk, hkv, tk, dk] = k.shape;
  if (v.shape.some((x, i) => x !== k.shape[i])) throw new Error(`${what}: k ${shape(k)} and v ${shape(v)} must have the same shape`);
  if (bk !== b) throw new Error(`${what}: batch differs between q ${shape(q)} and k ${shape(k)}`);
  if (dk !== d) throw new Error(`${what}: headDim differs between q ${shape(q)} and k ${shape(k)}`);
  if (hkv < 1 || h % hkv !== 0) {
    throw new Error(`${what}: q has ${h} heads and k/v ${hkv}; the kv head count must divide the query head count (grouped-query attention)`);
  }
  if (tk < tq) throw new Error(`${what}: ${tq} queries but only ${tk} keys; keys must cover every query position`);
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') {
    throw new Error(`${what}: q, k, v must be float32 (got ${q.dtype}, ${k.dtype}, ${v.dtype})`);
  }
  return { b, h, hkv, tq, tk, d };
}

/**
 * `[B, Hkv, T, D]` -> `[B, Hkv * rep, T, D]`, each kv head repeated `rep` times consecutively
 * (HF `repeat_kv`, which LongLoRA applies before splitting heads into the two S2 halves).
 */
export function repeatKv(x: Tensor4D, rep: number): Tensor4D {
  if (rep === 1) return x;
  const [b, hkv, t, d] = x.shape;
  // rank 4 throughout: tfjs has no gradient for rank-5 tile
  return tf.tidy(() => tf.reshape(tf.broadcastTo(tf.reshape(x, [b, hkv, 1, t * d]), [b, hkv, rep, t * d]), [b, hkv * rep, t, d]) as Tensor4D);
}

const maskCache = new Map<string, Tensor>();

/** Frees the cached causal masks (they are rebuilt on demand). */
export function clearMaskCache(): void {
  for (const mask of maskCache.values()) if (!mask.isDisposed) mask.dispose();
  maskCache.clear();
}

/**
 * Additive causal mask `[tq, tk]`: 0 where query i (absolute position tk - tq + i) may see key j,
 * MASK_VALUE elsewhere. Cached per shape (a constant; rebuilt if the engine disposed it).
 */
export function causalMask(tq: number, tk: number): Tensor {
  const key = `${tq}x${tk}`;
  const cached = maskCache.get(key);
  if (cached !== undefined && !cached.isDisposed) return cached;
  const offset = tk - tq;
  const values = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) {
    for (let j = offset + i + 1; j < tk; j++) values[i * tk + j] = MASK_VALUE;
  }
  const mask = tf.keep(tf.tensor2d(values, [tq, tk]));
  maskCache.set(key, mask);
  return mask;
}

/**
 * How attention's backward pass gets the probabilities P: `'save'` keeps P from the forward pass
 * (one score-sized buffer per call stays alive until the backward pass reaches it); `'recompute'`
 * keeps only q, k, v and recomputes P there (one extra q k^T and softmax; the memory-bounded
 * option, as flash attention does).
 */
export type AttentionMemory = 'save' | 'recompute';

let attentionMemoryMode: AttentionMemory = 'save';

/** Sets how every attention call keeps P for the backward pass (see AttentionMemory); returns the previous mode. */
export function setAttentionMemory(mode: AttentionMemory): AttentionMemory {
  if (mode !== 'save' && mode !== 'recompute') throw new Error(`setAttentionMemory: mode '${String(mode)}' must be 'save' or 'recompute'`);
  const previous = attentionMemoryMode;
  attentionMemoryMode = mode;
  return previous;
}

/** The current AttentionMemory mode. */
export function attentionMemory(): AttentionMemory {
  return attentionMemoryMode;
}

/** P = softmax((q * scale) k^T + mask), no gradient recorded (the scale goes on q: D wide, not Tk). */
export function attentionProbabilities(q: Tensor, k: Tensor, additiveMask: Tensor | null, scale: number): Tensor {
  return tf.tidy(() => {
    const scores = matmulNoGrad(tf.mul(q, scale), k, false, true); // [..., Tq, Tk]
    return tf.softmax(additiveMask === null ? scores : tf.add(scores, additiveMask));
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
 * softmax(q k^T / sqrt(D) + mask) v for q `[..., Tq, D]`, k and v `[..., Tk, D]` and a constant
 * additive mask broadcastable to `[..., Tq, Tk]`, as one differentiable op with its own backward
 * pass (`attentionBackward`). Recording the forward op by op would keep every intermediate
 * (scores, scaled scores, masked scores, P) and every gradient of them until the whole backward
 * pass ends; here the forward keeps q, k, v, the output (and P, unless recomputing) and each call's
 * backward frees its temporaries at once.
 */
export function maskedSoftmaxAttention(q: Tensor, k: Tensor, v: Tensor, additiveMask: Tensor | null): Tensor {
  const scale = 1 / Math.sqrt(q.shape[q.rank - 1]);
  const recompute = attentionMemoryMode === 'recompute';
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const op = tf.customGrad(((qi: Tensor, ki: Tensor, vi: Tensor, save: (ts: Tensor[]) => void) => {
    const p = attentionProbabilities(qi, ki, additiveMask, scale);
    const out = matmulNoGrad(p, vi); // [..., Tq, D]
    save(recompute ? [qi, ki, vi, out] : [qi, ki, vi, out, p]);
    if (recompute) p.dispose();
    return {
      value: out,
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, os] = saved;
          const probs = recompute ? attentionProbabilities(qs, ks, additiveMask, scale) : saved[4];
          return attentionBackward(qs, ks, vs, os, probs, dy, scale);
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(q, k, v);
}

/**
 * Bytes of score-sized buffers one attention call needs at its peak: in the forward pass the scores,
 * the masked scores and P (3 per score); in the backward pass P (saved or recomputed), P^T, dP, dS
 * and dS^T plus a temporary (6 per score).
 */
export function attentionScoreBytes(b: number, h: number, tq: number, tk: number, training = true): number {
  return 4 * b * h * tq * tk * (training ? 6 : 3);
}

/**
 * Exact dense causal attention, `[B, H, Tq, D]` out. See the file comment for GQA, KV-cache
 * alignment and `blockSize`.
 */
export function causalAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, { blockSize }: CausalAttentionOptions = {}): Tensor4D {
  const { b, h, hkv, tq, tk } = checkAttentionShapes(q, k, v, 'causalAttention');
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 1)) {
    throw new Error(`causalAttention: blockSize = ${blockSize} must be a positive integer`);
  }
  const rows = Math.min(blockSize ?? defaultCausalBlockSize(tq, tk), tq);
  assertFitsInMemory(
    attentionScoreBytes(b, h, rows, tk),
    `causal attention over ${tq} queries x ${tk} keys, ${b * h} batch-heads`,
    blockSize === undefined ? `pass { blockSize } to process queries in smaller blocks (default here: ${rows}), or use a shorter sequence` : 'use a smaller blockSize or a shorter sequence',
  );
  return tf.tidy(() => {
    const kk = repeatKv(k, h / hkv);
    const vv = repeatKv(v, h / hkv);
    if (rows >= tq) {
      return maskedSoftmaxAttention(q, kk, vv, causalMask(tq, tk)) as Tensor4D;
    }
    const outs: Tensor[] = [];
    const offset = tk - tq;
    for (let start = 0; start < tq; start += rows) {
      const n = Math.min(rows, tq - start);
      const keys = offset + start + n; // this block's last query sees keys [0, keys)
      const qb = tf.slice(q, [0, 0, start, 0], [-1, -1, n, -1]);
      const kb = tf.slice(kk, [0, 0, 0, 0], [-1, -1, keys, -1]);
      const vb = tf.slice(vv, [0, 0, 0, 0], [-1, -1, keys, -1]);
      outs.push(maskedSoftmaxAttention(qb, kb, vb, causalMask(n, keys)));
    }
    return tf.concat(outs, 2) as Tensor4D;
  });
}
