/**
 * Attention patterns as explicit masks, for teaching, heatmaps and the paper's ablation of
 * alternative sparse patterns (Table 6, §4.3; appendix Figure 7).
 *
 * `attentionMask(kind, { heads, seqLen, groupSize })` returns a boolean `[heads, seq, seq]` tensor,
 * true where query i may attend to key j. `maskedAttention(q, k, v, mask)` runs softmax attention
 * under any such mask: the O(N^2) path, exact and simple, for ablations at small N. The paper
 * describes the alternatives only in prose; the exact index rules we use are written on each kind
 * below. Every kind is causal (j <= i) except where a rule says otherwise
 * (`'s2-roll'`, which reproduces the official wrap-around).
 */
import { tf } from '../backend';
import { assertFitsInMemory } from '../backend/memory';
import type { Tensor, Tensor3D, Tensor4D } from '../backend';
import { checkKnownKeys, describe } from '../util/options';
import { checkAttentionShapes, repeatKv, maskedReference, fastOrReference } from './causal';
import { MASK_VALUE } from './masks';
import { resolveAttentionMemory } from './options';
import type { AttentionMemory } from './options';
import { maskedSoftmaxAttention } from './fast/dense';

/**
 * - `'full'`: dense causal, j <= i.
 * - `'short'`: causal inside aligned groups of G on every head: floor(i/G) = floor(j/G) (the
 *   paper's "short attention", Table 1; "only pattern 1" in Table 6).
 * - `'s2-offset'`: heads [0, H/2) as `'short'`; heads [H/2, H) causal inside the groups
 *   [0, G/2), [G/2, 3G/2), ..., [N - G/2, N), i.e. floor((i + G/2)/G) = floor((j + G/2)/G)
 *   (the official flash path's segments; no wrap-around).
 * - `'s2-roll'`: heads [0, H/2) as `'short'`; heads [H/2, H) as the official roll: token t sits at
 *   rolled index r(t) = (t - G/2) mod N; j is allowed when floor(r(i)/G) = floor(r(j)/G) and
 *   r(j) <= r(i). The last rolled group holds tokens [N - G/2, N) then [0, G/2), so tokens
 *   [0, G/2) see the sequence's end: not causal, on purpose (Algorithm 1 exactly).
 * - `'s2-roll-reverse'`: as `'s2-roll'` with the shift the other way (the paper's Table 8 "variant 1":
 *   shift up instead of down): r(t) = (t + G/2) mod N, so tokens [N - G/2, N) see the sequence's start.
 * - `'shifted'`: every head as the second half of `'s2-offset'` (Table 6's "only pattern 2": all heads
 *   shifted, none unshifted).
 * - `'dilated'`: inside aligned groups of G, causal, with dilation rate 1 on heads [0, H/2) and 2 on
 *   heads [H/2, H): rate-2 heads keep only keys at an even distance, (i - j) mod 2 = 0. (The paper
 *   varies the rate "evenly from 1 to 2 across heads", following LongNet; two rates split by head
 *   halves is that rule for two groups of heads.)
 * - `'block-sparse'`: causal blocks of G with the previous block: floor(j/G) is floor(i/G) or
 *   floor(i/G) - 1, and j <= i (the paper's block-wise masks made causal).
 * - `'stride-sparse'`: a local window of G plus every G-th earlier token: j <= i and
 *   (i - j < G or (i - j) mod G = 0) (Child et al.'s strided pattern; the paper's setting uses a
 *   local size of N/4 and a stride of sqrt(N): pass `stride` for that).
 */
export type PatternKind = 'full' | 'short' | 's2-offset' | 's2-roll' | 's2-roll-reverse' | 'shifted' | 'dilated' | 'block-sparse' | 'stride-sparse';

export const PATTERN_KINDS: readonly PatternKind[] = ['full', 'short', 's2-offset', 's2-roll', 's2-roll-reverse', 'shifted', 'dilated', 'block-sparse', 'stride-sparse'];

/** Kinds whose rule shifts groups by G/2 (G must be even). */
export const SHIFTED_PATTERN_KINDS: readonly PatternKind[] = ['s2-offset', 's2-roll', 's2-roll-reverse', 'shifted'];

export interface PatternOptions {
  heads: number;
  seqLen: number;
  /** Group / block / local-window size G (ignored by `'full'`). */
  groupSize: number;
  /** `'stride-sparse'` only: the stride (default G). */
  stride?: number;
}

/** Whether head `h` (of `heads`) at query i may see key j under `kind`: the rules above, one place. */
export function allowed(kind: PatternKind, h: number, heads: number, n: number, g: number, i: number, j: number, stride = g): boolean {
  const second = h >= heads / 2;
  switch (kind) {
    case 'full':
      return j <= i;
    case 'short':
      return j <= i && Math.floor(i / g) === Math.floor(j / g);
    case 's2-offset':
      if (!second) return j <= i && Math.floor(i / g) === Math.floor(j / g);
      return j <= i && Math.floor((i + g / 2) / g) === Math.floor((j + g / 2) / g);
    case 's2-roll':
    case 's2-roll-reverse': {
      if (!second) return j <= i && Math.floor(i / g) === Math.floor(j / g);
      const shift = kind === 's2-roll' ? -g / 2 : g / 2;
      const ri = (((i + shift) % n) + n) % n;
      const rj = (((j + shift) % n) + n) % n;
      return rj <= ri && Math.floor(ri / g) === Math.floor(rj / g);
    }
    case 'shifted':
      return j <= i && Math.floor((i + g / 2) / g) === Math.floor((j + g / 2) / g);
    case 'dilated':
      return j <= i && Math.floor(i / g) === Math.floor(j / g) && (!second || (i - j) % 2 === 0);
    case 'block-sparse': {
      const bi = Math.floor(i / g);
      const bj = Math.floor(j / g);
      return j <= i && (bj === bi || bj === bi - 1);
    }
    case 'stride-sparse':
      return j <= i && (i - j < g || (i - j) % stride === 0);
    default: {
      const unknown: never = kind;
      throw new Error(`attentionMask: kind '${String(unknown)}' is not one of ${PATTERN_KINDS.join(', ')}`);
    }
  }
}

/** The pattern as nested booleans `[heads][seq][seq]` (for heatmaps and tests; O(H N^2) memory). */
export function attentionMaskArray(kind: PatternKind, options: PatternOptions): boolean[][][] {
  const { heads, seqLen: n, groupSize: g } = checkPatternOptions(kind, options);
  const stride = options.stride ?? g;
  return Array.from({ length: heads }, (_, h) =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => allowed(kind, h, heads, n, g, i, j, stride))),
  );
}

function checkPatternOptions(kind: PatternKind, o: PatternOptions): PatternOptions {
  if (!PATTERN_KINDS.includes(kind)) throw new Error(`attentionMask: kind '${kind}' is not one of ${PATTERN_KINDS.join(', ')}`);
  if (o === null || typeof o !== 'object') throw new Error(`attentionMask('${kind}'): options = ${describe(o)} must be an object { heads, seqLen, groupSize }`);
  checkKnownKeys('attentionMask', o, ['heads', 'seqLen', 'groupSize', 'stride']);
  const positive = (name: string, x: number | undefined) => {
    if (x === undefined || !Number.isInteger(x) || x < 1) throw new Error(`attentionMask('${kind}'): ${name} = ${x} must be a positive integer`);
  };
  positive('heads', o.heads);
  positive('seqLen', o.seqLen);
  positive('groupSize', o.groupSize);
  if (o.stride !== undefined) positive('stride', o.stride);
  const needsEvenHeads = kind === 's2-offset' || kind === 's2-roll' || kind === 's2-roll-reverse' || kind === 'dilated';
  if (needsEvenHeads && o.heads % 2 !== 0) throw new Error(`attentionMask('${kind}'): heads = ${o.heads} must be even (the rule splits heads into halves)`);
  const shifted = SHIFTED_PATTERN_KINDS.includes(kind);
  if (shifted && o.groupSize % 2 !== 0) throw new Error(`attentionMask('${kind}'): groupSize = ${o.groupSize} must be even (the shift is G/2)`);
  if (kind !== 'full' && o.groupSize > o.seqLen) throw new Error(`attentionMask('${kind}'): groupSize = ${o.groupSize} exceeds seqLen = ${o.seqLen}`);
  if ((kind === 's2-roll' || kind === 's2-roll-reverse') && o.seqLen % o.groupSize !== 0) {
    throw new Error(`attentionMask('${kind}'): groupSize = ${o.groupSize} must divide seqLen = ${o.seqLen} (the roll regroups whole groups)`);
  }
  return o;
}

/** The pattern as a boolean `[heads, seq, seq]` tensor (true = may attend). See PatternKind for the rules. */
export function attentionMask(kind: PatternKind, options: PatternOptions): Tensor3D {
  const { heads, seqLen: n, groupSize: g } = checkPatternOptions(kind, options);
  const stride = options.stride ?? g;
  // one byte per entry, built in JavaScript first and then copied into the backend
  assertFitsInMemory(2 * heads * n * n, `attentionMask('${kind}') of [${heads}, ${n}, ${n}]`, 'masks are for small examples and ablations at short lengths: use fewer heads or a shorter seqLen');
  const values = new Uint8Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const row = (h * n + i) * n;
      for (let j = 0; j < n; j++) if (allowed(kind, h, heads, n, g, i, j, stride)) values[row + j] = 1;
    }
  }
  return tf.tensor3d(values, [heads, n, n], 'bool');
}

/**
 * softmax(q k^T / sqrt(D) restricted to `mask`) v on `[B, H, N, D]` queries and `[B, Hkv, N, D]`
 * keys/values (kv heads expanded as HF `repeat_kv`); `mask` is boolean `[H, N, N]` or `[N, N]`.
 * `maskedReference` (./causal.ts) defines it; the fast path (./fast/dense.ts: the mask added as 0 or
 * MASK_VALUE, own backward pass) runs where that is exact (`fastOrReference`). A row with no allowed
 * key has no output: NaN.
 */
export function maskedAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, mask: Tensor, options: { memory?: AttentionMemory } = {}): Tensor4D {
  checkKnownKeys('maskedAttention', options, ['memory']);
  const { h, hkv, tq, tk } = checkAttentionShapes(q, k, v, 'maskedAttention');
  if (!(mask instanceof tf.Tensor) || mask.isDisposed) {
    throw new Error(`maskedAttention: mask = ${describe(mask)} must be a boolean tensor [heads, seq, seq] or [seq, seq] (a live one), e.g. from attentionMask()`);
  }
  const okShape = (mask.rank === 3 && mask.shape[0] === h && mask.shape[1] === tq && mask.shape[2] === tk) || (mask.rank === 2 && mask.shape[0] === tq && mask.shape[1] === tk);
  if (!okShape) {
    throw new Error(`maskedAttention: mask [${mask.shape.join(', ')}] must be [${h}, ${tq}, ${tk}] or [${tq}, ${tk}] for q [${q.shape.join(', ')}] and k [${k.shape.join(', ')}]`);
  }
  if (mask.dtype !== 'bool') throw new Error(`maskedAttention: mask dtype is ${mask.dtype}; pass a boolean mask (true = may attend), e.g. from attentionMask()`);
  const memory = resolveAttentionMemory(options.memory, 'maskedAttention');
  return tf.tidy(() => {
    const [kk, vv] = [repeatKv(k, h / hkv), repeatKv(v, h / hkv)]; // [B, H, N, D]
    const additive = () => tf.where(mask, tf.zeros(mask.shape), tf.fill(mask.shape, MASK_VALUE)); // [H, N, N] or [N, N]: 0 or -Infinity
    const fast = () => tf.tidy(() => maskedSoftmaxAttention(q, kk, vv, additive(), { memory }) as Tensor4D);
    return fastOrReference(k, fast, () => maskedReference(q, kk, vv, mask) as Tensor4D);
  });
}
