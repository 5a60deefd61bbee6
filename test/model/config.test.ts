/**
 * LlamaConfig: presets (against the published Llama 2 shapes and parameter counts), strict
 * overrides, every bad value with its message, and the Hugging Face config.json mapping (real
 * Llama-2 and LongLoRA configs, transformers v5's rope_parameters, round trips).
 */
import { presets, makeConfig, fromHFConfig, toHFConfig, effectiveContext, parameterCount, parameterShapes, headDim, validateConfig } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';

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

describe('presets', () => {
  it('have the suggested tiny and small shapes', () => {
    expect(presets.tiny).toMatchObject({ vocabSize: 259, hiddenSize: 64, intermediateSize: 176, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 128 });
    expect(presets.small).toMatchObject({ vocabSize: 259, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 8, maxPositionEmbeddings: 256, rmsNormEps: 1e-5, ropeTheta: 10000 });
    expect(headDim(presets.tiny)).toBe(16);
    expect(headDim(presets.small)).toBe(32);
    for (const p of Object.values(presets)) expect(() => validateConfig(p)).not.toThrow();
  });

  it('match the published Llama 2 parameter counts (7B 6,738,415,616; 13B 13,015,864,320; 70B 68,976,648,192)', () => {
    expect(parameterCount(presets.llama2_7b)).toBe(6738415616);
    expect(parameterCount(presets.llama2_13b)).toBe(13015864320);
    expect(parameterCount(presets.llama2_70b)).toBe(68976648192);
    expect(parameterShapes(presets.llama2_70b).get('model.layers.0.self_attn.k_proj.weight')).toEqual([1024, 8192]);
  });

  it('are frozen, and makeConfig derives new configs without touching them', () => {
    expect(Object.isFrozen(presets.tiny)).toBe(true);
    const c = makeConfig(presets.tiny, { numHiddenLayers: 3, ropeScaling: { type: 'linear', factor: 2 } });
    expect(c.numHiddenLayers).toBe(3);
    expect(presets.tiny.numHiddenLayers).toBe(2);
    expect(presets.tiny.ropeScaling).toBeNull();
    c.attention = { kind: 'full', blockSize: 4 };
    expect(presets.tiny.attention).toEqual({ kind: 'full' });
  });
});

describe('config checks', () => {
  const bad: Array<[string, Partial<LlamaConfig>, RegExp]> = [
    ['hidden not divisible by heads', { hiddenSize: 66 }, /hiddenSize 66 is not divisible by numAttentionHeads 4/],
    ['kv heads not dividing heads', { numKeyValueHeads: 3 }, /numKeyValueHeads 3 does not divide numAttentionHeads 4/],
    ['zero layers', { numHiddenLayers: 0 }, /numHiddenLayers = 0 must be a positive integer/],
    ['negative vocab', { vocabSize: -5 }, /vocabSize = -5 must be a positive integer/],
    ['fractional hidden size', { hiddenSize: 64.5 }, /hiddenSize = 64.5 must be a positive integer/],
    ['string size', { intermediateSize: '176' as unknown as number }, /intermediateSize = '176' must be a positive integer/],
    ['odd head dim', { hiddenSize: 60, numAttentionHeads: 4, numKeyValueHeads: 2 }, /headDim = 60 \/ 4 = 15 must be even/],
    ['zero eps', { rmsNormEps: 0 }, /rmsNormEps = 0 must be a positive number/],
    ['negative theta', { ropeTheta: -1 }, /ropeTheta = -1 must be a positive number/],
    ['non-boolean tie', { tieWordEmbeddings: 1 as unknown as boolean }, /tieWordEmbeddings = 1 must be a boolean/],
    ['rope factor below 1', { ropeScaling: { type: 'linear', factor: 0.5 } }, /ropeScaling.factor = 0.5 must be a number >= 1/],
    ['unknown rope type', { ropeScaling: { type: 'llama3', factor: 8 } as never }, /ropeScaling.type = 'llama3' is not supported/],
    ['yarn key on linear', { ropeScaling: { type: 'linear', factor: 2, betaFast: 8 } as never }, /unknown key 'betaFast'; valid keys are 'type', 'factor'/],
    ['yarn betas reversed', { ropeScaling: { type: 'yarn', factor: 2, betaFast: 1, betaSlow: 4 } }, /betaFast \(1\) must be >= betaSlow \(4\)/],
    ['attention without kind', { attention: {} as never }, /attention = \{\} must be an attention spec/],
  ];
  it.each(bad)('rejects %s', (_name, overrides, message) => {
    expect(() => makeConfig(presets.tiny, overrides)).toThrow(message);
  });

  it('rejects unknown override keys and lists the valid ones', () => {
    expect(() => makeConfig(presets.tiny, { hidden_size: 64 } as never)).toThrow(
      "makeConfig overrides: unknown key 'hidden_size' (did you mean 'hiddenSize'?); valid keys are 'vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'maxPositionEmbeddings', 'ropeTheta', 'rmsNormEps', 'ropeScaling', 'tieWordEmbeddings', 'initializerRange', 'attention'",
    );
  });

  it('rejects hand-built configs with missing fields', () => {
    const { attention: _unused, ...partial } = presets.tiny;
    void _unused;
    expect(() => validateConfig(partial as LlamaConfig)).toThrow(/missing attention/);
  });
});

describe('effectiveContext', () => {
  it('is maxPos x factor for linear (LongLoRA) and dynamic, and uses originalMaxPositionEmbeddings for yarn', () => {
    expect(effectiveContext(presets.llama2_7b)).toBe(4096);
    expect(effectiveContext({ maxPositionEmbeddings: 4096, ropeScaling: { type: 'linear', factor: 25 } })).toBe(102400);
    expect(effectiveContext({ maxPositionEmbeddings: 256, ropeScaling: { type: 'dynamic', factor: 2.5 } })).toBe(640);
    expect(effectiveContext({ maxPositionEmbeddings: 32768, ropeScaling: { type: 'yarn', factor: 4 } })).toBe(131072);
    // DeepSeek-style: max_position_embeddings already holds the extended length.
    expect(effectiveContext({ maxPositionEmbeddings: 163840, ropeScaling: { type: 'yarn', factor: 40, originalMaxPositionEmbeddings: 4096 } })).toBe(163840);
  });
});

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

  it('writes rope_scaling with both type and rope_type, and round-trips every preset and scaling', () => {
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
    expect(json.rope_scaling).toEqual({ type: 'yarn', rope_type: 'yarn', factor: 8, beta_fast: 16 });
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
