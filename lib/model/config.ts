/**
 * `LlamaConfig`: the shape and settings of a Llama model, in camelCase, with strict run-time checks
 * and named presets. The fields mirror Hugging Face's `LlamaConfig` (transformers'
 * `configuration_llama.py`; `rope_scaling` as in `modeling_rope_utils.py`); the mapping to and from
 * `config.json` is `fromHFConfig` / `toHFConfig` in lib/io/hf-config.ts.
 *
 * Context length: LongLoRA keeps `max_position_embeddings` at the pre-training value (4096 for
 * Llama 2) and sets `rope_scaling.factor` (official `fine-tune.py`), so the context a model accepts
 * is `effectiveContext(config)`, not `maxPositionEmbeddings` alone.
 */
import type { AttentionSpec } from '../attention';
import { validateAttentionSpec } from '../attention';
import type { RopeScaling, RopeSettings } from './rope';
import { checkKnownKeys } from '../util/options';

/** A Llama decoder (HF `LlamaForCausalLM`): every field is checked by `validateConfig`. */
export interface LlamaConfig {
  /** Token ids are in [0, vocabSize) (259 for our byte tokenizer: 256 bytes, BOS, EOS, PAD). */
  vocabSize: number;
  /** Residual width C. */
  hiddenSize: number;
  /** SwiGLU inner width (gate/up output, down input). */
  intermediateSize: number;
  numHiddenLayers: number;
  /** Query heads H; headDim = hiddenSize / H. */
  numAttentionHeads: number;
  /** Key/value heads Hkv (grouped-query attention when < H); must divide H. */
  numKeyValueHeads: number;
  /** Pre-training context (HF `max_position_embeddings`); scaling extends it, see `effectiveContext`. */
  maxPositionEmbeddings: number;
  /** RoPE base (HF `rope_theta`). */
  ropeTheta: number;
  /** RMSNorm epsilon (HF `rms_norm_eps`). */
  rmsNormEps: number;
  /** Position interpolation / NTK / YaRN (HF `rope_scaling`), or null for plain RoPE. */
  ropeScaling: RopeScaling | null;
  /** The output head reuses the embedding matrix (no `lm_head.weight`). */
  tieWordEmbeddings: boolean;
  /** Std of the normal initialisation of linear and embedding weights (HF `initializer_range`). */
  initializerRange: number;
  /** Which attention runs (lib/attention `attend`): `{ kind: 'full' }`, `{ kind: 's2', ... }`, ... */
  attention: AttentionSpec;
}

/** The keys of `LlamaConfig`, in declaration order (for messages and strict checks). */
export const LLAMA_CONFIG_KEYS: readonly (keyof LlamaConfig)[] = [
  'vocabSize',
  'hiddenSize',
  'intermediateSize',
  'numHiddenLayers',
  'numAttentionHeads',
  'numKeyValueHeads',
  'maxPositionEmbeddings',
  'ropeTheta',
  'rmsNormEps',
  'ropeScaling',
  'tieWordEmbeddings',
  'initializerRange',
  'attention',
];

/** The integer fields that fix the parameters' shapes. */
export const SHAPE_KEYS = ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads'] as const;

const POSITIVE_INTEGER_KEYS = [...SHAPE_KEYS, 'maxPositionEmbeddings'] as const;

const ROPE_KEYS: Record<RopeScaling['type'], readonly string[]> = {
  linear: ['type', 'factor'],
  dynamic: ['type', 'factor'],
  yarn: ['type', 'factor', 'originalMaxPositionEmbeddings', 'betaFast', 'betaSlow', 'attentionFactor', 'mscale', 'mscaleAllDim', 'truncate'],
};

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function show(x: unknown): string {
  // numbers as written (JSON would print NaN and Infinity as null)
  return typeof x === 'string' ? `'${x}'` : typeof x === 'number' ? String(x) : JSON.stringify(x) ?? String(x);
}

function finiteNumber(x: unknown, name: string, constraint: string, ok: (v: number) => boolean): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw new Error(`${name} = ${show(x)} must be ${constraint}`);
  return x;
}

/** Checks a `RopeScaling` (unknown keys, types, ranges); `where` prefixes the messages. */
export function validateRopeScaling(scaling: unknown, where = 'ropeScaling'): void {
  if (scaling === null) return;
  if (!isPlainObject(scaling)) throw new Error(`${where} = ${show(scaling)} must be null or an object such as { type: 'linear', factor: 2 }`);
  const type = scaling.type;
  if (type !== 'linear' && type !== 'dynamic' && type !== 'yarn') {
    throw new Error(`${where}.type = ${show(type)} is not supported; use 'linear' (position interpolation), 'dynamic' (NTK) or 'yarn'`);
  }
  checkKnownKeys(`${where} (type '${type}')`, scaling, ROPE_KEYS[type], 'key');
  finiteNumber(scaling.factor, `${where}.factor`, 'a number >= 1 (the context extension ratio)', (v) => v >= 1);
  if (type !== 'yarn') return;
  if (scaling.originalMaxPositionEmbeddings !== undefined) {
    finiteNumber(scaling.originalMaxPositionEmbeddings, `${where}.originalMaxPositionEmbeddings`, 'a positive integer', (v) => Number.isInteger(v) && v > 0);
  }
  for (const k of ['betaFast', 'betaSlow', 'mscale', 'mscaleAllDim'] as const) {
    if (scaling[k] !== undefined) finiteNumber(scaling[k], `${where}.${k}`, 'a non-negative number', (v) => v >= 0);
  }
  if (scaling.attentionFactor !== undefined) {
    finiteNumber(scaling.attentionFactor, `${where}.attentionFactor`, 'a positive number', (v) => v > 0);
  }
  if (scaling.truncate !== undefined && typeof scaling.truncate !== 'boolean') {
    throw new Error(`${where}.truncate = ${show(scaling.truncate)} must be a boolean`);
  }
  const fast = (scaling.betaFast as number | undefined) || 32;
  const slow = (scaling.betaSlow as number | undefined) || 1;
  if (fast < slow) throw new Error(`${where}: betaFast (${fast}) must be >= betaSlow (${slow}) (defaults 32 and 1)`);
}

/**
 * Checks every field of `config` and the relations between them (hidden size divisible by heads,
 * kv heads dividing heads, even head dimension). Throws one clear error for the first problem.
 */
export function validateConfig(config: LlamaConfig, what = 'LlamaConfig'): void {
  if (!isPlainObject(config)) throw new Error(`${what} must be an object; got ${show(config)}`);
  checkKnownKeys(what, config, LLAMA_CONFIG_KEYS, 'key');
  const missing = LLAMA_CONFIG_KEYS.filter((k) => !(k in config));
  if (missing.length > 0) throw new Error(`${what}: missing ${missing.join(', ')}; start from a preset, e.g. makeConfig(presets.tiny, { ... })`);
  for (const k of POSITIVE_INTEGER_KEYS) finiteNumber(config[k], `${what}.${k}`, 'a positive integer', (v) => Number.isInteger(v) && v > 0);
  const { hiddenSize: c, numAttentionHeads: h, numKeyValueHeads: hkv } = config;
  if (c % h !== 0) {
    throw new Error(`${what}: hiddenSize ${c} is not divisible by numAttentionHeads ${h}; headDim = hiddenSize / numAttentionHeads must be a whole number`);
  }
  if (h % hkv !== 0) {
    throw new Error(`${what}: numKeyValueHeads ${hkv} does not divide numAttentionHeads ${h}; each kv head must serve a whole group of query heads`);
  }
  if ((c / h) % 2 !== 0) throw new Error(`${what}: headDim = ${c} / ${h} = ${c / h} must be even for rotary embeddings (rotate-half)`);
  finiteNumber(config.ropeTheta, `${what}.ropeTheta`, 'a positive number', (v) => v > 0);
  finiteNumber(config.rmsNormEps, `${what}.rmsNormEps`, 'a positive number', (v) => v > 0);
  finiteNumber(config.initializerRange, `${what}.initializerRange`, 'a non-negative number', (v) => v >= 0);
  if (typeof config.tieWordEmbeddings !== 'boolean') throw new Error(`${what}.tieWordEmbeddings = ${show(config.tieWordEmbeddings)} must be a boolean`);
  validateRopeScaling(config.ropeScaling, `${what}.ropeScaling`);
  const attention = config.attention as unknown;
  if (!isPlainObject(attention) || typeof attention.kind !== 'string') {
    throw new Error(`${what}.attention = ${show(attention)} must be an attention spec such as { kind: 'full' }`);
  }
  validateAttentionSpec(attention, `${what}.attention`);
}

/**
 * A copy whose nested objects are copies too. Only plain objects are copied: a malformed value
 * (`ropeScaling: 'linear'`, `attention: null`) is kept as it is, so that validateConfig's message
 * names what the caller passed rather than its spread (`{"0":"l",...}`, `{}`).
 */
function cloneConfig(config: LlamaConfig): LlamaConfig {
  const copy = (x: unknown) => (isPlainObject(x) ? { ...x } : x);
  return {
    ...config,
    ropeScaling: copy(config.ropeScaling) as LlamaConfig['ropeScaling'],
    attention: copy(config.attention) as LlamaConfig['attention'],
  };
}

/**
 * A new config: `base` with `overrides`, checked strictly (an unknown override key is an error that
 * lists the valid keys; every value is validated).
 */
export function makeConfig(base: LlamaConfig, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  // a misspelt preset (presets.tinny) is undefined: say so rather than list every missing field
  if (!isPlainObject(base)) throw new Error(`makeConfig: base = ${show(base)} must be a LlamaConfig to start from, e.g. presets.tiny (presets are ${Object.keys(presets).join(', ')})`);
  if (!isPlainObject(overrides)) throw new Error(`makeConfig: overrides = ${show(overrides)} must be an object of LlamaConfig fields`);
  checkKnownKeys('makeConfig overrides', overrides, LLAMA_CONFIG_KEYS, 'key');
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<LlamaConfig>;
  const config = cloneConfig({ ...base, ...defined } as LlamaConfig);
  validateConfig(config);
  return config;
}

/** Head dimension D = hiddenSize / numAttentionHeads. */
export function headDim(config: LlamaConfig): number {
  return config.hiddenSize / config.numAttentionHeads;
}

/** What `lib/model/rope` needs from a config. */
export function ropeSettings(config: LlamaConfig): RopeSettings {
  return {
    headDim: headDim(config),
    ropeTheta: config.ropeTheta,
    maxPositionEmbeddings: config.maxPositionEmbeddings,
    ropeScaling: config.ropeScaling,
  };
}

/**
 * The longest sequence (cache included) the model accepts without `allowExtrapolation`:
 * - no scaling: `maxPositionEmbeddings`;
 * - `'linear'` (LongLoRA): `floor(maxPositionEmbeddings * factor)`;
 * - `'dynamic'`: also `floor(maxPositionEmbeddings * factor)`. HF's dynamic NTK has no hard limit
 *   (the base keeps growing with the length); we read `factor` as the intended extension ratio;
 * - `'yarn'`: `floor((originalMaxPositionEmbeddings ?? maxPositionEmbeddings) * factor)`, and at
 *   least `maxPositionEmbeddings` (configs that already store the extended length there).
 */
export function effectiveContext(config: Pick<LlamaConfig, 'maxPositionEmbeddings' | 'ropeScaling'>): number {
  const s = config.ropeScaling;
  if (s === null) return config.maxPositionEmbeddings;
  if (s.type === 'yarn') {
    return Math.max(config.maxPositionEmbeddings, Math.floor((s.originalMaxPositionEmbeddings ?? config.maxPositionEmbeddings) * s.factor));
  }
  return Math.floor(config.maxPositionEmbeddings * s.factor);
}

/**
 * Every parameter of the model, by Hugging Face name, with its shape in HF layout (linear weights
 * `[out, in]`), in HF's module order. `lm_head.weight` is absent when the embeddings are tied.
 */
export function parameterShapes(config: LlamaConfig): Map<string, number[]> {
  const { vocabSize: v, hiddenSize: c, intermediateSize: f, numKeyValueHeads: hkv } = config;
  const kvDim = hkv * headDim(config);
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [v, c]);
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.self_attn.q_proj.weight`, [c, c]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kvDim, c]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kvDim, c]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [c, c]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [f, c]);
    shapes.set(`${p}.mlp.up_proj.weight`, [f, c]);
    shapes.set(`${p}.mlp.down_proj.weight`, [c, f]);
    shapes.set(`${p}.input_layernorm.weight`, [c]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [c]);
  }
  shapes.set('model.norm.weight', [c]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [v, c]);
  return shapes;
}

/** Total number of parameters (Llama-2-7B: 6,738,415,616). */
export function parameterCount(config: LlamaConfig): number {
  let n = 0;
  for (const shape of parameterShapes(config).values()) n += shape.reduce((p, d) => p * d, 1);
  return n;
}

function freezeConfig(config: LlamaConfig): Readonly<LlamaConfig> {
  if (config.ropeScaling !== null) Object.freeze(config.ropeScaling);
  Object.freeze(config.attention);
  return Object.freeze(config);
}

const LLAMA2_COMMON = {
  vocabSize: 32000,
  maxPositionEmbeddings: 4096,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  ropeScaling: null,
  tieWordEmbeddings: false,
  initializerRange: 0.02,
} as const;

/** Names of the built-in presets. */
export type PresetName = 'tiny' | 'small' | 'llama2_7b' | 'llama2_13b' | 'llama2_70b';

/**
 * Built-in configs (frozen; derive with `makeConfig(presets.x, { ... })`):
 * - `tiny`: unit tests (2 layers, 4 query heads sharing 2 kv heads, so GQA is exercised).
 * - `small`: notebooks and benchmarks on 2 CPU cores; base context 256, which the LongLoRA
 *   experiments extend to 512-2048 with position interpolation.
 * - `llama2_7b`, `llama2_13b`, `llama2_70b`: the real Hugging Face shapes (meta-llama/Llama-2-*-hf
 *   config.json), for cost analysis.
 */
export const presets: Readonly<Record<PresetName, Readonly<LlamaConfig>>> = Object.freeze({
  tiny: freezeConfig({
    vocabSize: 259,
    hiddenSize: 64,
    intermediateSize: 176,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 128,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    ropeScaling: null,
    tieWordEmbeddings: false,
    initializerRange: 0.02,
    attention: { kind: 'full' },
  }),
  small: freezeConfig({
    vocabSize: 259,
    hiddenSize: 256,
    intermediateSize: 688,
    numHiddenLayers: 4,
    numAttentionHeads: 8,
    numKeyValueHeads: 8,
    maxPositionEmbeddings: 256,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    ropeScaling: null,
    tieWordEmbeddings: false,
    initializerRange: 0.02,
    attention: { kind: 'full' },
  }),
  llama2_7b: freezeConfig({
    ...LLAMA2_COMMON,
    hiddenSize: 4096,
    intermediateSize: 11008,
    numHiddenLayers: 32,
    numAttentionHeads: 32,
    numKeyValueHeads: 32,
    attention: { kind: 'full' },
  }),
  llama2_13b: freezeConfig({
    ...LLAMA2_COMMON,
    hiddenSize: 5120,
    intermediateSize: 13824,
    numHiddenLayers: 40,
    numAttentionHeads: 40,
    numKeyValueHeads: 40,
    attention: { kind: 'full' },
  }),
  llama2_70b: freezeConfig({
    ...LLAMA2_COMMON,
    hiddenSize: 8192,
    intermediateSize: 28672,
    numHiddenLayers: 80,
    numAttentionHeads: 64,
    numKeyValueHeads: 8,
    attention: { kind: 'full' },
  }),
});
