/**
 * `LlamaConfig`: the shape and settings of a Llama model, in camelCase, with strict run-time checks,
 * named presets, and the mapping to and from Hugging Face's `config.json` (`LlamaConfig` in
 * transformers' `configuration_llama.py`; `rope_scaling` as in `modeling_rope_utils.py`).
 *
 * Context length: LongLoRA keeps `max_position_embeddings` at the pre-training value (4096 for
 * Llama 2) and sets `rope_scaling.factor` (official `fine-tune.py`), so the context a model accepts
 * is `effectiveContext(config)`, not `maxPositionEmbeddings` alone.
 */
import type { AttentionSpec } from '../attention';
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
  return typeof x === 'string' ? `'${x}'` : JSON.stringify(x) ?? String(x);
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
}

function cloneConfig(config: LlamaConfig): LlamaConfig {
  return {
    ...config,
    ropeScaling: config.ropeScaling === null ? null : { ...config.ropeScaling },
    attention: { ...config.attention },
  };
}

/**
 * A new config: `base` with `overrides`, checked strictly (an unknown override key is an error that
 * lists the valid keys; every value is validated).
 */
export function makeConfig(base: LlamaConfig, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
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

// ---------------------------------------------------------------------------------------------
// Hugging Face config.json

/** HF keys that do not change the computation (token ids, bookkeeping, output flags). */
const HF_IGNORED_KEYS = [
  'architectures',
  'model_type',
  'torch_dtype',
  'dtype',
  'transformers_version',
  '_name_or_path',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'use_cache',
  // pretraining_tp > 1 only splits the projections into slices in old transformers: same function.
  'pretraining_tp',
  'output_attentions',
  'output_hidden_states',
  'return_dict',
  'id2label',
  'label2id',
  'tokenizer_class',
];

/** HF keys with a value we cannot run; each must hold exactly the value given here. */
const HF_FIXED_KEYS: Record<string, unknown> = {
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  attention_dropout: 0,
  partial_rotary_factor: 1,
};

const HF_MAPPED_KEYS = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'max_position_embeddings',
  'rope_theta',
  'rms_norm_eps',
  'rope_scaling',
  'rope_parameters',
  'tie_word_embeddings',
  'initializer_range',
  'head_dim',
  'longlora_attention',
];

/** HF LlamaConfig's constructor defaults, which apply to keys a config.json leaves out. */
const HF_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  max_position_embeddings: 2048,
  rope_theta: 10000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  initializer_range: 0.02,
};

const HF_ROPE_KEYS: Record<string, string> = {
  factor: 'factor',
  original_max_position_embeddings: 'originalMaxPositionEmbeddings',
  beta_fast: 'betaFast',
  beta_slow: 'betaSlow',
  attention_factor: 'attentionFactor',
  mscale: 'mscale',
  mscale_all_dim: 'mscaleAllDim',
  truncate: 'truncate',
};

/** HF `rope_scaling` / `rope_parameters` dict -> `RopeScaling | null` (and theta, when the dict has it). */
function ropeFromHF(raw: unknown, key: string): { scaling: RopeScaling | null; theta?: number } {
  if (raw === null || raw === undefined) return { scaling: null };
  if (!isPlainObject(raw)) throw new Error(`fromHFConfig: ${key} = ${show(raw)} must be null or an object`);
  const type = raw.rope_type ?? raw.type;
  if (raw.rope_type !== undefined && raw.type !== undefined && raw.rope_type !== raw.type) {
    throw new Error(`fromHFConfig: ${key} has type ${show(raw.type)} and rope_type ${show(raw.rope_type)}; they must agree`);
  }
  const theta = raw.rope_theta === undefined ? undefined : finiteNumber(raw.rope_theta, `fromHFConfig: ${key}.rope_theta`, 'a positive number', (v) => v > 0);
  if (type === undefined || type === 'default') {
    checkKnownKeys(`fromHFConfig: ${key} (default RoPE)`, raw, ['type', 'rope_type', 'rope_theta'], 'key');
    return { scaling: null, theta };
  }
  if (type !== 'linear' && type !== 'dynamic' && type !== 'yarn') {
    throw new Error(`fromHFConfig: ${key} type ${show(type)} is not supported; supported: default, linear, dynamic, yarn`);
  }
  const scaling: Record<string, unknown> = { type };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'type' || k === 'rope_type' || k === 'rope_theta') continue;
    const ours = HF_ROPE_KEYS[k];
    if (ours === undefined || !ROPE_KEYS[type].includes(ours)) {
      const valid = Object.keys(HF_ROPE_KEYS).filter((h) => ROPE_KEYS[type].includes(HF_ROPE_KEYS[h]));
      throw new Error(`fromHFConfig: ${key} key '${k}' is not supported for type '${type}'; supported: type/rope_type, rope_theta, ${valid.join(', ')}`);
    }
    if (v !== null) scaling[ours] = v;
  }
  validateRopeScaling(scaling, `fromHFConfig: ${key}`);
  return { scaling: scaling as unknown as RopeScaling, theta };
}

/** Options of `fromHFConfig`. */
export interface FromHFConfigOptions {
  /** Ignore keys this library does not know instead of failing (check that they are harmless). */
  allowUnknownKeys?: boolean;
}

/**
 * A Hugging Face Llama `config.json` (parsed) -> `LlamaConfig`.
 * Keys left out take HF LlamaConfig's defaults (e.g. rms_norm_eps 1e-6, num_key_value_heads =
 * num_attention_heads). Bookkeeping keys (architectures, model_type, torch_dtype, token ids, ...)
 * are ignored; values we cannot run (hidden_act other than silu, attention_bias or mlp_bias true,
 * attention dropout, partial rotary, head_dim != hidden_size / heads, rope types other than
 * default/linear/dynamic/yarn) are errors, and so are unknown keys unless `allowUnknownKeys`.
 * Reads `rope_scaling` with `type` or `rope_type`, and transformers v5's `rope_parameters`.
 */
export function fromHFConfig(json: Record<string, unknown>, options: FromHFConfigOptions = {}): LlamaConfig {
  if (!isPlainObject(json)) throw new Error(`fromHFConfig: expected a parsed config.json object; got ${show(json)}`);
  checkKnownKeys('fromHFConfig', options, ['allowUnknownKeys']);
  const known = [...HF_MAPPED_KEYS, ...HF_IGNORED_KEYS, ...Object.keys(HF_FIXED_KEYS)];
  const unknown = Object.keys(json).filter((k) => !known.includes(k));
  if (unknown.length > 0 && !options.allowUnknownKeys) {
    throw new Error(
      `fromHFConfig: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (not a Llama setting this library knows); ` +
        'remove them, or pass { allowUnknownKeys: true } if they do not change the architecture',
    );
  }
  for (const [k, want] of Object.entries(HF_FIXED_KEYS)) {
    if (json[k] !== undefined && json[k] !== null && json[k] !== want) {
      throw new Error(`fromHFConfig: ${k} = ${show(json[k])} is not supported; this Llama implementation needs ${k} = ${show(want)}`);
    }
  }
  const get = (k: keyof typeof HF_DEFAULTS): unknown => (json[k] === undefined || json[k] === null ? HF_DEFAULTS[k] : json[k]);
  const heads = get('num_attention_heads');
  const fromScaling = ropeFromHF(json.rope_scaling, 'rope_scaling');
  const fromParameters = ropeFromHF(json.rope_parameters, 'rope_parameters');
  // transformers v5: a non-empty rope_scaling wins over rope_parameters; rope_parameters' theta wins over rope_theta.
  const scaling = fromScaling.scaling ?? fromParameters.scaling;
  const theta = fromParameters.theta ?? fromScaling.theta ?? get('rope_theta');
  const attention = json.longlora_attention ?? { kind: 'full' };
  const config = {
    vocabSize: get('vocab_size'),
    hiddenSize: get('hidden_size'),
    intermediateSize: get('intermediate_size'),
    numHiddenLayers: get('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: json.num_key_value_heads === undefined || json.num_key_value_heads === null ? heads : json.num_key_value_heads,
    maxPositionEmbeddings: get('max_position_embeddings'),
    ropeTheta: theta,
    rmsNormEps: get('rms_norm_eps'),
    ropeScaling: scaling,
    tieWordEmbeddings: get('tie_word_embeddings'),
    initializerRange: get('initializer_range'),
    attention: isPlainObject(attention) ? { ...attention } : attention,
  } as LlamaConfig;
  validateConfig(config, 'fromHFConfig');
  if (json.head_dim !== undefined && json.head_dim !== null && json.head_dim !== headDim(config)) {
    throw new Error(`fromHFConfig: head_dim = ${show(json.head_dim)} differs from hidden_size / num_attention_heads = ${headDim(config)}; decoupled head dimensions are not supported`);
  }
  return config;
}

/** `RopeScaling` -> HF dict, with both `type` and `rope_type` (older and newer transformers). */
function ropeToHF(scaling: RopeScaling): Record<string, unknown> {
  const out: Record<string, unknown> = { type: scaling.type, rope_type: scaling.type };
  for (const [hf, ours] of Object.entries(HF_ROPE_KEYS)) {
    const v = (scaling as unknown as Record<string, unknown>)[ours];
    if (v !== undefined) out[hf] = v;
  }
  return out;
}

/**
 * `LlamaConfig` -> a Hugging Face `config.json` object that transformers loads as `LlamaForCausalLM`
 * (round-trips through `fromHFConfig`). A non-default attention spec travels in the extra key
 * `longlora_attention`, which transformers keeps as an attribute and otherwise ignores.
 */
export function toHFConfig(config: LlamaConfig): Record<string, unknown> {
  validateConfig(config, 'toHFConfig');
  const json: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: headDim(config),
    max_position_embeddings: config.maxPositionEmbeddings,
    rope_theta: config.ropeTheta,
    rms_norm_eps: config.rmsNormEps,
    rope_scaling: config.ropeScaling === null ? null : ropeToHF(config.ropeScaling),
    tie_word_embeddings: config.tieWordEmbeddings,
    initializer_range: config.initializerRange,
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    torch_dtype: 'float32',
  };
  const attention = config.attention as unknown as Record<string, unknown>;
  if (!(attention.kind === 'full' && Object.keys(attention).length === 1)) json.longlora_attention = { ...attention };
  return json;
}
