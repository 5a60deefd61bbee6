/**
 * Rotary position embeddings (RoPE, Su et al. 2021) as Hugging Face's Llama applies them, and the
 * three ways of stretching them past the pre-training context:
 *
 * - `'linear'`: position interpolation (Chen et al. 2023, arXiv 2306.15595), the one LongLoRA uses
 *   (paper Section 3; official `fine-tune.py` sets `rope_scaling = {"type": "linear", "factor": s}`).
 *   Position m is rotated as if it were m / s.
 * - `'dynamic'`: dynamic NTK-aware scaling; the base grows with the current sequence length.
 * - `'yarn'`: YaRN (Peng et al. 2023, arXiv 2309.00071): interpolate only the low-frequency
 *   dimensions, ramp between, and scale cos/sin by an attention factor.
 *
 * The inverse frequencies follow Hugging Face transformers' `modeling_rope_utils.py`
 * (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_dynamic_ntk_parameters`, `_compute_yarn_parameters`), step by step in float32 as
 * PyTorch evaluates them, so that a Hugging Face checkpoint gives the same cos/sin tables here.
 * The tables are `cos/sin(position * invFreq)` repeated over both halves of the head
 * (`emb = cat(freqs, freqs)`), and `applyRope` uses HF's rotate-half convention.
 */
import { tf } from '../backend';
import type { Tensor, Tensor2D, Tensor4D } from '../backend';

/** HF `{"rope_type": "linear", "factor": s}`: positions divided by `factor` (LongLoRA's PI). */
export interface LinearRopeScaling {
  type: 'linear';
  /** s >= 1; LongLoRA uses ceil(target context / original context). */
  factor: number;
}

/**
 * HF `{"rope_type": "dynamic", "factor": s}`: dynamic NTK-aware scaling. Up to
 * `maxPositionEmbeddings` positions it is plain RoPE; for a longer sequence of length L the base
 * becomes `theta * (s * L / maxPos - (s - 1)) ** (D / (D - 2))`. L is the length of the sequence
 * being processed (cache included); like HF while a sequence grows, keys already in a KV cache keep
 * the rotation they got. Unlike HF's stateful rotary module, a later shorter call does not keep the
 * frequencies of an earlier longer one: every call depends only on its own length.
 */
export interface DynamicRopeScaling {
  type: 'dynamic';
  factor: number;
}

/** HF `{"rope_type": "yarn", ...}` (snake_case keys there, camelCase here). */
export interface YarnRopeScaling {
  type: 'yarn';
  /** Interpolation factor s >= 1 for the low-frequency dimensions. */
  factor: number;
  /** Pre-training context the ramp is measured against (default: `maxPositionEmbeddings`). */
  originalMaxPositionEmbeddings?: number;
  /** Rotations above which a dimension is left alone (default 32). */
  betaFast?: number;
  /** Rotations below which a dimension is fully interpolated (default 1). */
  betaSlow?: number;
  /** Scale of cos and sin (default 0.1 ln s + 1, or the mscale ratio below). */
  attentionFactor?: number;
  /** With `mscaleAllDim`: attention factor = mscale(s, mscale) / mscale(s, mscaleAllDim) (DeepSeek). */
  mscale?: number;
  mscaleAllDim?: number;
  /** Round the correction range to whole dimensions (default true). */
  truncate?: boolean;
}

/** The `rope_scaling` of a Llama config; `null` means plain RoPE. */
export type RopeScaling = LinearRopeScaling | DynamicRopeScaling | YarnRopeScaling;

/** What RoPE needs from a model config. */
export interface RopeSettings {
  /** Rotary dimension = head dimension (Llama rotates all of it). */
  headDim: number;
  /** Base theta (HF `rope_theta`, 10000 for Llama 2). */
  ropeTheta: number;
  /** Pre-training context (HF `max_position_embeddings`). */
  maxPositionEmbeddings: number;
  ropeScaling: RopeScaling | null;
}

/** Inverse frequencies `[D/2]` and the factor cos/sin are multiplied by. */
export interface RopeFrequencies {
  invFreq: Float32Array;
  attentionFactor: number;
}

const f32 = Math.fround;

/** `theta ** (2i / D)` for i < D/2, as torch computes it in float32 (the denominator of every kind). */
function basePowers(theta: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  const base = f32(theta);
  for (let i = 0; i < dim / 2; i++) out[i] = f32(Math.pow(base, f32((2 * i) / dim)));
  return out;
}

/** YaRN's inverse dimension formula: the dimension whose wavelength fits `rotations` times in `context`. */
function correctionDim(rotations: number, dim: number, base: number, context: number): number {
  return (dim * Math.log(context / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

/** The YaRN attention factor default: 0.1 * mscale * ln(s) + 1 (1 when s <= 1). */
function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/**
 * Inverse frequencies `[D/2]` and attention factor for `rope` at a sequence of `seqLen` positions
 * (`seqLen` matters only for `'dynamic'`, and only above `maxPositionEmbeddings`; HF's default for it
 * is `maxPositionEmbeddings`). Follows HF `modeling_rope_utils.py` (see the file comment).
 */
export function ropeInverseFrequencies(rope: RopeSettings, seqLen: number = rope.maxPositionEmbeddings): RopeFrequencies {
  const dim = rope.headDim;
  const scaling = rope.ropeScaling;
  if (scaling === null || scaling.type === 'linear') {
    const p = basePowers(rope.ropeTheta, dim);
    const invFreq = new Float32Array(dim / 2);
    // HF divides inv_freq by the factor (equivalent to dividing the positions).
    const factor = scaling === null ? 1 : f32(scaling.factor);
    for (let i = 0; i < dim / 2; i++) invFreq[i] = scaling === null ? f32(1 / p[i]) : f32(f32(1 / p[i]) / factor);
    return { invFreq, attentionFactor: 1 };
  }
  if (scaling.type === 'dynamic') {
    const maxPos = rope.maxPositionEmbeddings;
    const len = Math.max(seqLen, maxPos);
    const s = scaling.factor;
    // The grown base is a Python float (float64), rounded to float32 when torch raises it to a power.
    const base = rope.ropeTheta * Math.pow((s * len) / maxPos - (s - 1), dim / (dim - 2));
    const p = basePowers(base, dim);
    const invFreq = new Float32Array(dim / 2);
    for (let i = 0; i < dim / 2; i++) invFreq[i] = f32(1 / p[i]);
    return { invFreq, attentionFactor: 1 };
  }
  // YaRN
  const s = scaling.factor;
  const original = scaling.originalMaxPositionEmbeddings ?? rope.maxPositionEmbeddings;
  let attentionFactor = scaling.attentionFactor;
  if (attentionFactor === undefined) {
    attentionFactor =
      scaling.mscale && scaling.mscaleAllDim ? yarnMscale(s, scaling.mscale) / yarnMscale(s, scaling.mscaleAllDim) : yarnMscale(s);
  }
  // HF: `beta_fast or 32`, `beta_slow or 1` (a 0 also falls back to the default).
  const betaFast = scaling.betaFast || 32;
  const betaSlow = scaling.betaSlow || 1;
  let low = correctionDim(betaFast, dim, rope.ropeTheta, original);
  let high = correctionDim(betaSlow, dim, rope.ropeTheta, original);
  if (scaling.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // HF: prevents a division by zero in the ramp
  const p = basePowers(rope.ropeTheta, dim);
  const sf = f32(s);
  const invFreq = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const extrapolation = f32(1 / p[i]);
    const interpolation = f32(1 / f32(sf * p[i]));
    const ramp = Math.min(1, Math.max(0, f32(f32(i - f32(low)) / f32(high - low))));
    const keep = f32(1 - ramp); // HF's inv_freq_extrapolation_factor
    invFreq[i] = f32(f32(interpolation * f32(1 - keep)) + f32(extrapolation * keep));
  }
  return { invFreq, attentionFactor };
}

/**
 * cos and sin tables `[positions.length, D]` for arbitrary (even fractional) positions, with HF's
 * layout `cat(freqs, freqs)` and the attention factor applied. Angles are `position * invFreq`
 * rounded to float32, as HF's float32 outer product computes them.
 */
export function ropeTableValues(freqs: RopeFrequencies, positions: ArrayLike<number>): { cos: Float32Array; sin: Float32Array } {
  const half = freqs.invFreq.length;
  const dim = 2 * half;
  const n = positions.length;
  const cos = new Float32Array(n * dim);
  const sin = new Float32Array(n * dim);
  const scale = f32(freqs.attentionFactor);
  for (let t = 0; t < n; t++) {
    const pos = f32(positions[t]);
    for (let i = 0; i < half; i++) {
      const angle = f32(pos * freqs.invFreq[i]);
      let c = f32(Math.cos(angle));
      let s = f32(Math.sin(angle));
      if (scale !== 1) {
        c = f32(c * scale);
        s = f32(s * scale);
      }
      cos[t * dim + i] = c;
      cos[t * dim + half + i] = c;
      sin[t * dim + i] = s;
      sin[t * dim + half + i] = s;
    }
  }
  return { cos, sin };
}

interface CachedTables {
  length: number;
  cos: Tensor2D;
  sin: Tensor2D;
}

// One cache per backend instance: tensors belong to a backend, and a reset engine brings new ones.
const tableCache = new WeakMap<object, Map<string, CachedTables>>();

/**
 * Frees the active backend's cached cos/sin tables (they are rebuilt on demand): after long
 * evaluations, or between measurements.
 */
export function clearRopeCache(): void {
  const backend = tf.backend();
  const perBackend = tableCache.get(backend);
  if (perBackend === undefined) return;
  for (const entry of perBackend.values()) tf.dispose([entry.cos, entry.sin]);
  tableCache.delete(backend);
}

function settingsKey(rope: RopeSettings): string {
  return JSON.stringify([rope.headDim, rope.ropeTheta, rope.maxPositionEmbeddings, rope.ropeScaling]);
}

/** Checks what the table functions are given; the message names the value and the constraint. */
function checkTableRequest(rope: RopeSettings, offset: number, length: number, seqLen: number): void {
  if (!Number.isInteger(rope.headDim) || rope.headDim < 2 || rope.headDim % 2 !== 0) {
    throw new Error(`RoPE: headDim = ${rope.headDim} must be a positive even integer (rotate-half pairs dimension i with i + D/2)`);
  }
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`RoPE: offset = ${offset} must be a non-negative integer position`);
  if (!Number.isInteger(length) || length < 1) throw new Error(`RoPE: length = ${length} must be a positive integer number of positions`);
  if (!Number.isInteger(seqLen) || seqLen < offset + length) {
    throw new Error(`RoPE: seqLen = ${seqLen} must be an integer covering the positions [${offset}, ${offset + length})`);
  }
}

/**
 * cos and sin tables `[length, D]` for positions `[offset, offset + length)` of a sequence whose
 * positions run up to `seqLen` (default `offset + length`; only `'dynamic'` scaling depends on it).
 *
 * The tables are constants, cached per backend and settings; what this returns is the caller's (a
 * slice of the cached table, or a clone sharing its memory), to dispose or to free with `tf.tidy`.
 * So a cached table can be replaced by a longer one while a gradient tape still holds the old rows.
 */
export function ropeTables(rope: RopeSettings, offset: number, length: number, seqLen: number = offset + length): { cos: Tensor2D; sin: Tensor2D } {
  checkTableRequest(rope, offset, length, seqLen);
  const dynamicAbove = rope.ropeScaling?.type === 'dynamic' && seqLen > rope.maxPositionEmbeddings;
  const freqs = ropeInverseFrequencies(rope, seqLen);
  const dim = rope.headDim;
  if (dynamicAbove) {
    // Frequencies change with every sequence length here: build for this call only.
    const positions = Array.from({ length }, (_, t) => offset + t);
    const { cos, sin } = ropeTableValues(freqs, positions);
    return { cos: tf.tensor2d(cos, [length, dim]), sin: tf.tensor2d(sin, [length, dim]) };
  }
  const backend = tf.backend() as object;
  let perBackend = tableCache.get(backend);
  if (perBackend === undefined) {
    perBackend = new Map();
    tableCache.set(backend, perBackend);
  }
  const key = settingsKey(rope);
  let cached = perBackend.get(key);
  const needed = offset + length;
  if (cached === undefined || cached.cos.isDisposed || cached.sin.isDisposed || cached.length < needed) {
    // Grow geometrically when decoding one position at a time; exactly when a fixed length repeats.
    const grown = cached === undefined || cached.cos.isDisposed ? needed : Math.max(needed, 2 * cached.length);
    const positions = Array.from({ length: grown }, (_, t) => t);
    const { cos, sin } = ropeTableValues(freqs, positions);
    if (cached !== undefined) {
      cached.cos.dispose();
      cached.sin.dispose();
    }
    cached = { length: grown, cos: tf.keep(tf.tensor2d(cos, [grown, dim])), sin: tf.keep(tf.tensor2d(sin, [grown, dim])) };
    perBackend.set(key, cached);
  }
  if (offset === 0 && length === cached.length) return { cos: tf.clone(cached.cos), sin: tf.clone(cached.sin) };
  return {
    cos: tf.slice(cached.cos, [offset, 0], [length, dim]),
    sin: tf.slice(cached.sin, [offset, 0], [length, dim]),
  };
}

/**
 * HF `rotate_half`: `[..., D]` -> `concat(-x[..., D/2:], x[..., :D/2])`. Two slices, a negation and
 * a concat: on wasm this measured faster than a reverse over a `[..., 2, D/2]` view (about 30 vs
 * 50 ms fwd+bwd at [1, 8, 1024, 32]) and as fast as a product with a signed permutation matrix.
 */
export function rotateHalf(x: Tensor): Tensor {
  const rank = x.rank;
  const dim = x.shape[rank - 1];
  if (dim % 2 !== 0) throw new Error(`rotateHalf: last dimension ${dim} must be even`);
  // Fresh begin/size arrays per slice: the op records them for its gradient.
  const begin = (start: number) => [...new Array<number>(rank - 1).fill(0), start];
  const size = () => [...new Array<number>(rank - 1).fill(-1), dim / 2];
  return tf.tidy(() => {
    const first = tf.slice(x, begin(0), size()); // x[..., :D/2]
    const second = tf.slice(x, begin(dim / 2), size()); // x[..., D/2:]
    return tf.concat([tf.neg(second), first], rank - 1);
  });
}

/**
 * HF `apply_rotary_pos_emb` for one tensor: `x * cos + rotate_half(x) * sin`.
 * x `[B, H, T, D]`, cos and sin `[T, D]` (from `ropeTables`) -> `[B, H, T, D]`.
 */
export function applyRope(x: Tensor4D, cos: Tensor2D, sin: Tensor2D): Tensor4D {
  if (x.rank !== 4) throw new Error(`applyRope: x must be [batch, heads, seq, headDim]; got [${x.shape.join(', ')}]`);
  const [, , t, d] = x.shape;
  for (const [name, table] of [['cos', cos], ['sin', sin]] as const) {
    if (table.rank !== 2 || table.shape[0] !== t || table.shape[1] !== d) {
      throw new Error(`applyRope: ${name} must be [${t}, ${d}] to match x [${x.shape.join(', ')}]; got [${table.shape.join(', ')}]`);
    }
  }
  // One op with its own gradient: rotate_half is linear with R^T = -R, so dx = dy cos - R(dy sin).
  // Recorded op by op it would keep six x-sized intermediates (and their gradients) per call.
  // cos and sin are saved (kept by reference), not just closed over: the cached tables may be
  // replaced (and disposed) before the backward pass runs.
  const op = tf.customGrad(((xi: Tensor, save: (ts: Tensor[]) => void) => {
    save([cos, sin]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(xi, cos), tf.mul(rotateHalf(xi), sin))),
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.tidy(() => tf.sub(tf.mul(dy, saved[0]), rotateHalf(tf.mul(dy, saved[1])))),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as Tensor4D;
}
