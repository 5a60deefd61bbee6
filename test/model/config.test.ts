/**
 * LlamaConfig: presets (against the published Llama 2 shapes and parameter counts), strict
 * overrides and every bad value with its message. (The Hugging Face config.json mapping is tested
 * in test/io/hf-config.test.ts.)
 */
import { presets, makeConfig, effectiveContext, parameterCount, parameterShapes, headDim, validateConfig } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';

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
