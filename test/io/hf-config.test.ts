/**
 * The Hugging Face config.json mapping (lib/io/hf-config.ts): real Llama-2 and LongLoRA configs,
 * every rope_scaling form transformers has written (type, rope_type, both, v5's rope_parameters),
 * the form we write (what transformers 4.34 accepts: exactly type + a float factor; YaRN with
 * rope_type), round trips, and the JSON text with Python float literals.
 */
import { presets, makeConfig, effectiveContext } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';
import { fromHFConfig, toHFConfig, formatHFConfigJson } from '../../lib/io/hf-config';

// meta-llama/Llama-2-7b-hf config.json (as published on the Hugging Face hub).
const LLAMA2_7B_HF = {
  _name_or_path: 'meta-llama/Llama-2-7b-hf',
  architectures: ['LlamaForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 4096,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.31.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

// Yukang/Llama-2-7b-longlora-8k-ft style config: LongLoRA keeps max_position_embeddings and sets the factor.
const LONGLORA_8K_HF = { ...LLAMA2_7B_HF, pad_token_id: 0, vocab_size: 32001, rope_scaling: { factor: 2.0, type: 'linear' } };


describe('Hugging Face config.json', () => {
  it('reads the real Llama-2-7b config as presets.llama2_7b', () => {
    expect(fromHFConfig(LLAMA2_7B_HF)).toEqual(presets.llama2_7b);
  });

  it("reads LongLoRA's linear rope_scaling, written with 'type' only", () => {
    const c = fromHFConfig(LONGLORA_8K_HF);
    expect(c.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(c.vocabSize).toBe(32001);
    expect(effectiveContext(c)).toBe(8192);
  });

  it('round-trips every preset and scaling', () => {
    const scalings: LlamaConfig['ropeScaling'][] = [
      null,
      { type: 'linear', factor: 4 },
      { type: 'dynamic', factor: 2 },
      { type: 'yarn', factor: 8, originalMaxPositionEmbeddings: 128, betaFast: 16, betaSlow: 2, attentionFactor: 1.2, mscale: 1, mscaleAllDim: 0.5, truncate: false },
    ];
    for (const preset of Object.values(presets)) {
      for (const ropeScaling of scalings) {
        const c = makeConfig(preset, { ropeScaling });
        const json = toHFConfig(c);
        expect(JSON.parse(JSON.stringify(json))).toEqual(json); // plain JSON
        expect(fromHFConfig(json)).toEqual(c);
      }
    }
    const json = toHFConfig(makeConfig(presets.tiny, { ropeScaling: { type: 'yarn', factor: 8, betaFast: 16 } }));
    expect(json).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', head_dim: 16, num_key_value_heads: 2 });
  });

  it('carries a non-default attention spec in longlora_attention', () => {
    const c = makeConfig(presets.tiny, { attention: { kind: 's2', groupSizeRatio: 0.25 } });
    const json = toHFConfig(c);
    expect(json.longlora_attention).toEqual({ kind: 's2', groupSizeRatio: 0.25 });
    expect(fromHFConfig(json)).toEqual(c);
    expect(toHFConfig(presets.tiny).longlora_attention).toBeUndefined();
  });

  it("reads transformers v5's rope_parameters (theta inside) and applies HF defaults to missing keys", () => {
    const c = fromHFConfig({ hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 259, rope_parameters: { rope_type: 'linear', factor: 2.0, rope_theta: 500000.0 } });
    expect(c.ropeTheta).toBe(500000);
    expect(c.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(c.numKeyValueHeads).toBe(4); // HF: defaults to num_attention_heads
    expect(c.rmsNormEps).toBe(1e-6); // HF LlamaConfig default
    expect(c.maxPositionEmbeddings).toBe(2048);
    expect(fromHFConfig({ ...LLAMA2_7B_HF, rope_parameters: { rope_type: 'default', rope_theta: 10000.0 } })).toEqual(presets.llama2_7b);
  });

  const badHF: Array<[string, Record<string, unknown>, RegExp]> = [
    ['gelu activation', { hidden_act: 'gelu' }, /hidden_act = 'gelu' is not supported; this Llama implementation needs hidden_act = 'silu'/],
    ['attention bias', { attention_bias: true }, /attention_bias = true is not supported/],
    ['mlp bias', { mlp_bias: true }, /mlp_bias = true is not supported/],
    ['attention dropout', { attention_dropout: 0.1 }, /attention_dropout = 0.1 is not supported/],
    ['decoupled head_dim', { head_dim: 64 }, /head_dim = 64 differs from hidden_size \/ num_attention_heads = 128/],
    ['llama3 rope', { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, /rope_scaling type 'llama3' is not supported/],
    ['type and rope_type disagreeing', { rope_scaling: { type: 'linear', rope_type: 'dynamic', factor: 2 } }, /type 'linear' and rope_type 'dynamic'; they must agree/],
    ['yarn key on linear', { rope_scaling: { type: 'linear', factor: 2, beta_fast: 8 } }, /key 'beta_fast' is not supported for type 'linear'/],
    ['unknown key', { sliding_window: 4096 }, /unknown key 'sliding_window'.*allowUnknownKeys/],
    ['hidden size not divisible', { hidden_size: 4100 }, /hiddenSize 4100 is not divisible by numAttentionHeads 32/],
    ['non-integer layers', { num_hidden_layers: 'many' }, /numHiddenLayers = 'many' must be a positive integer/],
  ];
  it.each(badHF)('rejects %s', (_name, change, message) => {
    expect(() => fromHFConfig({ ...LLAMA2_7B_HF, ...change })).toThrow(message);
  });

  it('ignores unknown keys only when asked', () => {
    expect(fromHFConfig({ ...LLAMA2_7B_HF, sliding_window: null }, { allowUnknownKeys: true })).toEqual(presets.llama2_7b);
    expect(() => fromHFConfig(LLAMA2_7B_HF, { strict: true } as never)).toThrow(/fromHFConfig: unknown option 'strict'; valid options are 'allowUnknownKeys'/);
  });
});

describe('rope_scaling as written: the forms transformers 4.34 through 5.x accept', () => {
  const tiny = (ropeScaling: LlamaConfig['ropeScaling']) => toHFConfig(makeConfig(presets.tiny, { ropeScaling }));

  it('linear and dynamic: exactly { type, factor } (4.34 rejects any other field), null for a factor of 1', () => {
    expect(tiny({ type: 'linear', factor: 2 }).rope_scaling).toEqual({ type: 'linear', factor: 2 });
    expect(Object.keys(tiny({ type: 'linear', factor: 2 }).rope_scaling as object)).toEqual(['type', 'factor']);
    expect(tiny({ type: 'dynamic', factor: 2.5 }).rope_scaling).toEqual({ type: 'dynamic', factor: 2.5 });
    expect(tiny({ type: 'linear', factor: 1 }).rope_scaling).toBeNull();
    expect(tiny({ type: 'dynamic', factor: 1 }).rope_scaling).toBeNull();
    expect(tiny(null).rope_scaling).toBeNull();
    // a factor of 1 changes nothing, so reading back gives no scaling, with the same context
    const one = makeConfig(presets.tiny, { ropeScaling: { type: 'linear', factor: 1 } });
    const back = fromHFConfig(toHFConfig(one));
    expect(back.ropeScaling).toBeNull();
    expect(effectiveContext(back)).toBe(effectiveContext(one));
  });

  it('yarn: rope_type (the versions that know YaRN read it) and only the fields that are set', () => {
    expect(tiny({ type: 'yarn', factor: 8, betaFast: 16 }).rope_scaling).toEqual({ rope_type: 'yarn', factor: 8, beta_fast: 16 });
    const full = { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 64, betaFast: 32, betaSlow: 1, attentionFactor: 1.1, mscale: 1, mscaleAllDim: 0, truncate: true } as const;
    expect(tiny(full).rope_scaling).toEqual({ rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64, beta_fast: 32, beta_slow: 1, attention_factor: 1.1, mscale: 1, mscale_all_dim: 0, truncate: true });
  });

  it('reads every form transformers has written: type (<= 4.44), type + rope_type (4.45-4.57), rope_parameters (5.x)', () => {
    const base = { hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 259, max_position_embeddings: 128 };
    const want = { type: 'linear', factor: 2 };
    expect(fromHFConfig({ ...base, rope_scaling: { type: 'linear', factor: 2.0 } }).ropeScaling).toEqual(want);
    expect(fromHFConfig({ ...base, rope_scaling: { rope_type: 'linear', factor: 2.0 } }).ropeScaling).toEqual(want);
    expect(fromHFConfig({ ...base, rope_scaling: { factor: 2.0, rope_type: 'linear', type: 'linear' } }).ropeScaling).toEqual(want);
    expect(fromHFConfig({ ...base, rope_parameters: { rope_type: 'linear', factor: 2.0, rope_theta: 10000.0 } }).ropeScaling).toEqual(want);
    expect(fromHFConfig({ ...base, rope_scaling: {} }).ropeScaling).toBeNull();
    // v5 yarn with original_max_position_embeddings filled in by transformers (= max_position_embeddings)
    const yarn = fromHFConfig({ ...base, rope_parameters: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 128, rope_theta: 10000.0 } });
    expect(yarn.ropeScaling).toEqual({ type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 128 });
    expect(effectiveContext(yarn)).toBe(512);
  });
});

describe('formatHFConfigJson: the config.json text', () => {
  it('writes float fields as Python float literals (2.0, not 2), everything else as JSON.stringify(x, null, 2)', () => {
    const json = toHFConfig(makeConfig(presets.tiny, { ropeScaling: { type: 'linear', factor: 2 }, ropeTheta: 10000 }));
    const text = formatHFConfigJson(json);
    expect(text).toContain('"rope_scaling": {\n    "type": "linear",\n    "factor": 2.0\n  }');
    expect(text).toContain('"rope_theta": 10000.0');
    expect(text).toContain('"rms_norm_eps": 0.00001');
    expect(text).toContain('"attention_dropout": 0.0');
    expect(text).toContain('"initializer_range": 0.02');
    expect(text).toContain('"hidden_size": 64,'); // integers stay integers
    expect(text).toContain('"num_key_value_heads": 2,');
    expect(JSON.parse(text)).toEqual(json); // same values
    // same layout as JSON.stringify apart from the float literals
    expect(text.replace(/(\d)\.0(?=[,\n])/g, '$1')).toBe(JSON.stringify(json, null, 2));
  });

  it('keeps exponents and existing decimals, nests, and refuses non-finite values', () => {
    expect(formatHFConfigJson({ factor: 1e21, beta_fast: 2.5, mscale: -3, rope_theta: 1e-7 })).toBe('{\n  "factor": 1e+21,\n  "beta_fast": 2.5,\n  "mscale": -3.0,\n  "rope_theta": 1e-7\n}');
    expect(formatHFConfigJson({ a: [], b: {}, c: [1, { factor: 4 }], d: undefined, e: null })).toBe('{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "factor": 4.0\n    }\n  ],\n  "e": null\n}');
    expect(() => formatHFConfigJson({ rope_scaling: { factor: Infinity } })).toThrow('formatHFConfigJson: config.rope_scaling.factor = Infinity has no JSON form');
    expect(() => formatHFConfigJson([] as never)).toThrow('expected a config.json object');
  });
});
