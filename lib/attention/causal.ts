/**
 * Dense causal attention, softmax(q k^T / sqrt(D), causally masked) v: the attention LongLoRA uses
 * at inference and evaluation (official `forward_flashattn_full`; HF `LlamaAttention` math).
 *
 * Layout `[batch, heads, seq, headDim]`. Keys and values may have fewer heads than queries
 * (grouped-query attention): each kv head serves `heads / kvHeads` consecutive query heads, as HF's
 * `repeat_kv` does. Queries may be fewer than keys (decoding with a KV cache): query i sits at
 * absolute position `keys - queries + i` and sees keys up to it.
 *
 * `maskedReference` is the definition every attention path here equals, `causalReference` the
 * obvious dense attention built on it (plain tf ops, autograd). `causalAttention` runs the fast path
 * (./fast/dense.ts: query blocks, own backward pass) where it is exact, the reference elsewhere.
 */
import { tf, transposeLast2, canReadSync } from '../backend';
import type { Tensor, Tensor4D } from '../backend';
import { assertFitsInMemory } from '../backend/memory';
import { checkKnownKeys, describe } from '../util/options';
import { MASK_VALUE, causalAllowed } from './masks';
import { resolveAttentionMemory } from './options';
import type { AttentionMemory } from './options';
import { causalBlocked, defaultCausalBlockSize } from './fast/dense';

export interface CausalAttentionOptions {
  /** Process queries in blocks of this many rows (memory O(blockSize x keys) instead of O(N^2)); default `defaultCausalBlockSize`. */
  blockSize?: number;
  /** Keep P for the backward pass or rebuild it there (./options.ts); default 'save'. */
  memory?: AttentionMemory;
}

/** Checks `[B, H, Tq, D]` / `[B, Hkv, Tk, D]` shapes and returns the sizes. */
export function checkAttentionShapes(q: Tensor, k: Tensor, v: Tensor, what: string): { b: number; h: number; hkv: number; tq: number; tk: number; d: number } {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (!(t instanceof tf.Tensor)) throw new Error(`${what}: ${name} = ${describe(t)} must be a tensor (tf.Tensor) [batch, heads, seq, headDim]; make one with ll.tf`);
    if (t.isDisposed) throw new Error(`${what}: ${name} is disposed; pass a live tensor (one made inside a tf.tidy that has ended is gone)`);
  }
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

/**
 * softmax(q k^T / sqrt(D)) v over the pairs `allowed` permits, in plain tf ops with autograd: the
 * definition every attention path here equals. q `[..., Tq, D]`, k and v `[..., Tk, D]` (as many
 * heads as q), `allowed` boolean, broadcastable to `[..., Tq, Tk]`.
 *
 * An output must not depend on what its query may not see, not even through 0 x NaN = NaN: a NaN or
 * Infinity in a later key or value would otherwise reach every earlier output through P V, and,
 * in autograd's backward pass, every earlier dq through dS K. So the mask selects (a masked score
 * becomes MASK_VALUE = -Infinity, whatever it was), non-finite entries are replaced by 0 before any
 * product, and the token they belong to marks its scores NaN instead: exactly the outputs that may
 * see a non-finite query, key or value become NaN.
 */
export function maskedReference(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor): Tensor {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[q.rank - 1]);
    const [q0, k0, v0] = [q, k, v].map((x) => tf.where(tf.isFinite(x), x, tf.zerosLike(x))); // [..., T, D]
    const nanIfNonFinite = (x: Tensor) => tf.sum(tf.sub(x, x), -1, true); // [..., T, 1]: 0, or NaN (Inf - Inf, NaN - NaN)
    const scores = tf.matMul(tf.mul(q0, scale), k0, false, true); // [..., Tq, Tk]
    const keyMarks = transposeLast2(tf.add(nanIfNonFinite(k), nanIfNonFinite(v))); // [..., 1, Tk]
    const marked = tf.add(tf.add(scores, nanIfNonFinite(q)), keyMarks); // [..., Tq, Tk]
    const p = tf.softmax(tf.where(allowed, marked, MASK_VALUE)); // [..., Tq, Tk]
    return tf.matMul(p, v0); // [..., Tq, D]
  });
}

/** Dense causal attention as written in the file comment, plain tf ops with autograd: `[B, H, Tq, D]` out. */
export function causalReference(q: Tensor4D, k: Tensor4D, v: Tensor4D): Tensor4D {
  const { h, hkv, tq, tk } = checkAttentionShapes(q, k, v, 'causalReference');
  return tf.tidy(() => maskedReference(q, repeatKv(k, h / hkv), repeatKv(v, h / hkv), causalAllowed(tq, tk)) as Tensor4D);
}

/**
 * tf.sum(x) as an op without a gradient, so that autograd records nothing: a recorded sum would keep
 * a copy of x (the tape saves its inputs) until the training step's backward pass ends.
 */
const sumOutsideTape = tf.customGrad(((x: Tensor) => ({ value: tf.sum(x), gradFunc: () => tf.zerosLike(x) })) as unknown as Parameters<typeof tf.customGrad>[0]);

/** Whether every entry of `x` is finite: one sum and a read-back (NaN and Infinity survive a sum). */
export function allFinite(x: Tensor): boolean {
  const sum = sumOutsideTape(x);
  const value = sum.dataSync()[0];
  sum.dispose();
  return Number.isFinite(value); // false also where a sum of finite entries overflows: then too the reference runs
}

/**
 * `fast()` where its result is exactly the reference's, else `reference()`. The fast paths add the
 * mask (0 or -Infinity) instead of selecting with it (./fast/dense.ts says why), which is exact
 * unless a non-finite number meets a masked entry: from a non-finite query, key or value (0 x NaN
 * in P V), or from a score past float32's range. All of these but a key make their own output row
 * non-finite; a key whose scores are all -Infinity leaves no trace in the output, yet its 0 x
 * Infinity reaches dq. So the keys are checked before and the output after (one sum each); the
 * reference's cost does not matter on the inputs it then gets.
 *
 * On a backend that cannot read synchronously (webgpu in Node: `canReadSync`) the checks would need
 * a GPU read-back, so the fast path runs unchecked: exact on finite inputs, as above; where keys,
 * queries or values hold NaN or Infinity its output and gradients are non-finite too, possibly in
 * more entries than the reference's (the training loop skips such steps either way).
 */
export function fastOrReference(k: Tensor, fast: () => Tensor4D, reference: () => Tensor4D): Tensor4D {
  if (!canReadSync()) return fast();
  if (allFinite(k)) {
    const out = fast();
    if (allFinite(out)) return out;
    out.dispose();
  }
  return reference();
}

/**
 * Bytes of score-sized buffers one attention call needs at its peak: in the forward pass the scores,
 * the masked scores and P (3 per score); in the backward pass P (saved or recomputed), P^T, dP, dS
 * and dS^T plus a temporary (6 per score).
 */
export function attentionScoreBytes(b: number, h: number, tq: number, tk: number, training = true): number {
  return 4 * b * h * tq * tk * (training ? 6 : 3);
}

/** Exact dense causal attention, `[B, H, Tq, D]` out: the fast path, or the reference where that is not exact. */
export function causalAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalAttentionOptions = {}): Tensor4D {
  checkKnownKeys('causalAttention', options, ['blockSize', 'memory']);
  const { b, h, hkv, tq, tk } = checkAttentionShapes(q, k, v, 'causalAttention');
  const { blockSize } = options;
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 1)) {
    throw new Error(`causalAttention: blockSize = ${blockSize} must be a positive integer`);
  }
  const memory = resolveAttentionMemory(options.memory, 'causalAttention');
  const rows = Math.min(blockSize ?? defaultCausalBlockSize(tq, tk), tq);
  assertFitsInMemory(
    attentionScoreBytes(b, h, rows, tk),
    `causal attention over ${tq} queries x ${tk} keys, ${b * h} batch-heads`,
    blockSize === undefined ? `pass { blockSize } to process queries in smaller blocks (default here: ${rows}), or use a shorter sequence` : 'use a smaller blockSize or a shorter sequence',
  );
  const reference = () =>
    // the same query blocks, each through the reference (queries at the end of their keys)
    tf.tidy(() => {
      const outs: Tensor[] = [];
      for (let start = 0; start < tq; start += rows) {
        const n = Math.min(rows, tq - start);
        const keys = tk - tq + start + n;
        const [kb, vb] = [k, v].map((x) => tf.slice(x, [0, 0, 0, 0], [-1, -1, keys, -1]) as Tensor4D); // [B, Hkv, keys, D]
        outs.push(causalReference(tf.slice(q, [0, 0, start, 0], [-1, -1, n, -1]), kb, vb)); // [B, H, n, D]
      }
      return tf.concat(outs, 2) as Tensor4D; // [B, H, Tq, D]
    });
  return fastOrReference(k, () => tf.tidy(() => causalBlocked(q, repeatKv(k, h / hkv), repeatKv(v, h / hkv), { blockSize: rows, memory })), reference);
}
