/**
 * Hugging Face `config.json` <-> `LlamaConfig` (transformers' `LlamaConfig`,
 * `models/llama/configuration_llama.py`; `rope_scaling` as in `modeling_rope_utils.py`), and the
 * JSON text we write for it.
 *
 * Compatibility targets, each checked by the interop tests against the real library
 * (test/io/interop-*.e2e.test.ts):
 * - transformers 4.34 (the official LongLoRA pin) validates `rope_scaling` strictly
 *   (`LlamaConfig._rope_scaling_validation`): exactly the two fields `type` and `factor`, `type` in
 *   linear/dynamic, `factor` a Python float > 1, otherwise `ValueError`. So linear and dynamic scaling
 *   are written as `{"type": "linear", "factor": 2.0}`, with the float literal (JSON.stringify would
 *   write `2`, which Python reads as an int), and as `null` for a factor of 1.
 * - transformers >= 4.45 and 5.x read the legacy `type` as `rope_type`; YaRN, which only those versions
 *   know, is written in their form (`rope_type: "yarn"` plus its optional fields).
 * - reading accepts all of these, `rope_type` or `type` or both, and transformers 5's
 *   `rope_parameters` (theta inside).
 */
import type { LlamaConfig, RopeScaling } from '../model';
import { headDim, validateConfig, validateRopeScaling } from '../model';
import { checkBoolean, checkKnownKeys } from '../util/options';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function show(x: unknown): string {
  return typeof x === 'string' ? `'${x}'` : typeof x === 'number' ? String(x) : (JSON.stringify(x) ?? String(x));
}

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

/** HF rope dict key -> our `RopeScaling` key. */
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

/** The HF rope keys each type takes (transformers' `_validate_<type>_rope_parameters`). */
const HF_ROPE_KEYS_BY_TYPE: Record<RopeScaling['type'], readonly string[]> = {
  linear: ['factor'],
  dynamic: ['factor'],
  yarn: Object.keys(HF_ROPE_KEYS),
};

/**
 * Keys whose values transformers declares as Python floats. `formatHFConfigJson` writes their
 * values with a decimal point, as Python's json module does (`2.0`, `10000.0`), because
 * transformers 4.34 refuses an integer `rope_scaling.factor` and 4.43-4.57 warn about one.
 */
export const HF_FLOAT_KEYS: ReadonlySet<string> = new Set([
  'rope_theta',
  'rms_norm_eps',
  'initializer_range',
  'attention_dropout',
  'factor',
  'beta_fast',
  'beta_slow',
  'attention_factor',
  'mscale',
  'mscale_all_dim',
]);

/** HF `rope_scaling` / `rope_parameters` dict -> `RopeScaling | null` (and theta, when the dict has it). */
function ropeFromHF(raw: unknown, key: string): { scaling: RopeScaling | null; theta?: number } {
  if (raw === null || raw === undefined) return { scaling: null };
  if (!isPlainObject(raw)) throw new Error(`fromHFConfig: ${key} = ${show(raw)} must be null or an object such as {"type": "linear", "factor": 2.0}`);
  const type = raw.rope_type ?? raw.type;
  if (raw.rope_type !== undefined && raw.type !== undefined && raw.rope_type !== raw.type) {
    throw new Error(`fromHFConfig: ${key} has type ${show(raw.type)} and rope_type ${show(raw.rope_type)}; they must agree`);
  }
  let theta: number | undefined;
  if (raw.rope_theta !== undefined) {
    const t = raw.rope_theta;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw new Error(`fromHFConfig: ${key}.rope_theta = ${show(t)} must be a positive number`);
    theta = t;
  }
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
    if (!HF_ROPE_KEYS_BY_TYPE[type].includes(k)) {
      throw new Error(`fromHFConfig: ${key} key '${k}' is not supported for type '${type}'; supported: type/rope_type, rope_theta, ${HF_ROPE_KEYS_BY_TYPE[type].join(', ')}`);
    }
    if (v !== null) scaling[HF_ROPE_KEYS[k]] = v;
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
 * Reads `rope_scaling` with `type` (transformers <= 4.44), `rope_type` (>= 4.45) or both, and
 * transformers 5's `rope_parameters`; a factor of 1, or `{}`, means no scaling in effect.
 */
export function fromHFConfig(json: Record<string, unknown>, options: FromHFConfigOptions = {}): LlamaConfig {
  if (!isPlainObject(json)) throw new Error(`fromHFConfig: expected a parsed config.json object; got ${show(json)}`);
  checkKnownKeys('fromHFConfig', options, ['allowUnknownKeys']);
  // a truthy non-boolean ('no') would switch the unknown-key check off without a word
  if (options.allowUnknownKeys !== undefined) checkBoolean('fromHFConfig', 'allowUnknownKeys', options.allowUnknownKeys);
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

/**
 * `RopeScaling` -> the `rope_scaling` value of config.json, in the form every transformers version
 * that knows the type reads without complaint:
 * - linear, dynamic: `{ type, factor }` and nothing else (4.34 rejects any other field, and rejects
 *   `factor <= 1`, so a factor of 1, which changes nothing, is written as `null`);
 * - yarn (transformers >= 4.45 only): `{ rope_type: 'yarn', factor, ...the optional fields set }`.
 */
function ropeToHF(scaling: RopeScaling): Record<string, unknown> | null {
  if (scaling.type === 'linear' || scaling.type === 'dynamic') {
    return scaling.factor === 1 ? null : { type: scaling.type, factor: scaling.factor };
  }
  const out: Record<string, unknown> = { rope_type: scaling.type };
  for (const [hf, ours] of Object.entries(HF_ROPE_KEYS)) {
    const v = (scaling as unknown as Record<string, unknown>)[ours];
    if (v !== undefined) out[hf] = v;
  }
  return out;
}

/**
 * `LlamaConfig` -> a Hugging Face `config.json` object that transformers (4.34 through 5.x) loads as
 * `LlamaForCausalLM`, and that round-trips through `fromHFConfig` (up to a rope factor of 1, written
 * as no scaling). `rope_scaling` follows `ropeToHF` above. A non-default attention spec travels in
 * the extra key `longlora_attention`, which transformers keeps as an attribute and otherwise ignores.
 * Write it with `formatHFConfigJson` (or `saveHFCheckpoint`), not `JSON.stringify`, so that float
 * fields keep their decimal point.
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

/** A finite number as a Python float literal: `2` -> `2.0`, `1e-6` stays `0.000001`, `1e21` stays `1e+21`. */
function floatLiteral(v: number): string {
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function formatValue(value: unknown, key: string | null, indent: string, where: string): string | undefined {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`formatHFConfigJson: ${where} = ${value} has no JSON form (Python would write ${value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN'}, which JSON readers refuse); use a finite number`);
    return key !== null && HF_FLOAT_KEYS.has(key) ? floatLiteral(value) : JSON.stringify(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'bigint') throw new Error(`formatHFConfigJson: ${where} is a bigint; use a number`);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v, i) => formatValue(v, null, inner, `${where}[${i}]`) ?? 'null');
    return `[\n${items.map((s) => inner + s).join(',\n')}\n${indent}]`;
  }
  const entries: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const text = formatValue(v, k, inner, `${where}.${k}`);
    if (text !== undefined) entries.push(`${inner}${JSON.stringify(k)}: ${text}`);
  }
  return entries.length === 0 ? '{}' : `{\n${entries.join(',\n')}\n${indent}}`;
}

/**
 * The text of a config.json: `JSON.stringify(json, null, 2)`'s layout, except that the values of
 * `HF_FLOAT_KEYS` (rope_theta, rms_norm_eps, initializer_range, attention_dropout and the rope
 * fields such as factor) are written as Python float literals (`2.0`, not `2`), as transformers'
 * own `save_pretrained` writes them. Non-finite numbers are refused.
 */
export function formatHFConfigJson(json: Record<string, unknown>): string {
  if (!isPlainObject(json)) throw new Error(`formatHFConfigJson: expected a config.json object; got ${show(json)}`);
  return formatValue(json, null, '', 'config') as string;
}
