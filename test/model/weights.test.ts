/**
 * Creating and loading weights (seeded HF initialisation, strict `fromWeights`), models that share
 * weights (`withConfig`, `extendContext`) and their disposal.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor, Tensor2D } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext, effectiveContext, parameterShapes, SeededRandom } from '../../lib/model';
import { expectTensorsClose } from '../helpers';

const ids2d = (rows: number[][]): Tensor2D => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

beforeAll(async () => {
  await ready({ backend: 'wasm' });
});

describe('LlamaForCausalLM.create', () => {
  it('follows HF init: linear/embedding weights normal(0, initializerRange), norms one', () => {
    const config = makeConfig(presets.tiny, { initializerRange: 0.05 });
    const model = LlamaForCausalLM.create(config, { seed: 0 });
    expect([...model.parameters.keys()]).toEqual([...parameterShapes(config).keys()]);
    for (const [name, v] of model.parameters) {
      expect(v.shape).toEqual(parameterShapes(config).get(name));
      expect(v.trainable).toBe(true);
      const x = v.dataSync();
      if (v.rank === 1) {
        expect(Array.from(x).every((e) => e === 1)).toBe(true);
        continue;
      }
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < x.length; i++) {
        sum += x[i];
        sq += x[i] * x[i];
      }
      const n = x.length;
      const mean = sum / n;
      const std = Math.sqrt(sq / n - mean * mean);
      // 4-sigma bounds for n draws: mean within 4 * 0.05 / sqrt(n), std within 4 / sqrt(2n) relative.
      expect(Math.abs(mean)).toBeLessThan((4 * 0.05) / Math.sqrt(n));
      expect(Math.abs(std - 0.05) / 0.05).toBeLessThan(4 / Math.sqrt(2 * n));
    }
    model.dispose();
  });

  it('is deterministic per seed and independent per parameter name', () => {
    const a = LlamaForCausalLM.create(presets.tiny, { seed: 5 });
    const b = LlamaForCausalLM.create(presets.tiny, { seed: 5 });
    const c = LlamaForCausalLM.create(presets.tiny, { seed: 6 });
    const tied = LlamaForCausalLM.create(makeConfig(presets.tiny, { tieWordEmbeddings: true }), { seed: 5 });
    const name = 'model.layers.1.mlp.up_proj.weight';
    const values = (m: LlamaForCausalLM, n = name) => (m.parameters.get(n) as Tensor).dataSync();
    expect(values(b)).toEqual(values(a));
    expect(values(c)).not.toEqual(values(a));
    expect(values(tied, 'model.embed_tokens.weight')).toEqual(values(a, 'model.embed_tokens.weight'));
    for (const m of [a, b, c, tied]) m.dispose();
    // The generator itself: uniform moments and a standard normal's.
    const r = new SeededRandom(123, 'x');
    const n = 20000;
    const z = Array.from({ length: n }, () => r.normal());
    const mean = z.reduce((s, e) => s + e, 0) / n;
    const variance = z.reduce((s, e) => s + (e - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(() => new SeededRandom(1.5)).toThrow(/seed = 1.5 must be an integer/);
  });

  it('create and dispose leave no tensors or bytes behind', () => {
    const before = tf.memory();
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    expect(tf.memory().numTensors - before.numTensors).toBe(model.parameters.size);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('rejects bad options', () => {
    expect(() => LlamaForCausalLM.create(presets.tiny, { seed: 0.5 })).toThrow(/seed = 0.5 must be an integer/);
    expect(() => LlamaForCausalLM.create(presets.tiny, { sed: 1 } as never)).toThrow(/LlamaForCausalLM.create: unknown option 'sed' \(did you mean 'seed'\?\)/);
    expect(() => LlamaForCausalLM.create({ ...presets.tiny, hiddenSize: 65 })).toThrow(/hiddenSize 65 is not divisible by numAttentionHeads 4/);
    expect(() => LlamaForCausalLM.create(presets.llama2_7b)).toThrow(/LlamaForCausalLM.create: 6,738,415,616 float32 parameters needs about 25.10 GiB, but the wasm heap/);
    expect(() => LlamaForCausalLM.create(presets.llama2_70b)).toThrow(/68,976,648,192 float32 parameters/);
  });

  it('refuses models larger than the machine on uncapped backends too', async () => {
    await ready({ backend: 'cpu' });
    expect(() => LlamaForCausalLM.create(presets.llama2_70b)).toThrow(/68,976,648,192 float32 parameters needs about 256.96 GiB, but this machine's memory \(.* GiB\) has .* left .*; use a smaller config/);
    await ready({ backend: 'wasm' });
  });
});

describe('LlamaForCausalLM.fromWeights', () => {
  it('rebuilds the same model from its named weights (and ignores HF inv_freq buffers), leaking nothing', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 8 });
    const ids = ids2d([[3, 1, 4, 1, 5, 9, 2, 6]]);
    tf.dispose(model.forward(ids)); // builds the cached RoPE tables and causal mask
    const before = tf.memory().numTensors;
    const weights = new Map<string, Tensor>([...model.parameters].map(([n, v]) => [n, tf.clone(v)]));
    weights.set('model.layers.0.self_attn.rotary_emb.inv_freq', tf.ones([8]));
    const loaded = LlamaForCausalLM.fromWeights(presets.tiny, weights);
    tf.dispose([...weights.values()]); // the variables keep their own reference
    tf.tidy(() => expectTensorsClose(loaded.forward(ids), model.forward(ids), { atol: 0, rtol: 0 }));
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    ids.dispose();
  });

  it('lists every missing, unexpected and mismatched weight in one error', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 8 });
    const weights = new Map<string, Tensor>(model.parameters);
    weights.delete('model.norm.weight');
    weights.delete('model.layers.1.mlp.up_proj.weight');
    weights.set('model.layers.2.mlp.up_proj.weight', tf.zeros([176, 64]));
    const wrongShape = tf.zeros([64, 64]);
    weights.set('model.layers.0.self_attn.k_proj.weight', wrongShape);
    const wrongType = tf.zeros([64], 'int32');
    weights.set('model.layers.0.input_layernorm.weight', wrongType);
    expect(() => LlamaForCausalLM.fromWeights(presets.tiny, weights)).toThrow(
      'LlamaForCausalLM.fromWeights: the weights do not fit the config. ' +
        'missing (2): model.layers.1.mlp.up_proj.weight, model.norm.weight. ' +
        'unexpected (1): model.layers.2.mlp.up_proj.weight. ' +
        'mismatched (2): model.layers.0.self_attn.k_proj.weight: checkpoint [64, 64] vs config [32, 64]; model.layers.0.input_layernorm.weight: dtype int32, expected float32',
    );
    const tiedConfig = makeConfig(presets.tiny, { tieWordEmbeddings: true });
    expect(() => LlamaForCausalLM.fromWeights(tiedConfig, new Map<string, Tensor>(model.parameters))).toThrow(
      /unexpected \(1\): lm_head.weight \(tieWordEmbeddings is true, so the head is the embedding and lm_head.weight must be absent\)/,
    );
    tf.dispose([wrongShape, wrongType, weights.get('model.layers.2.mlp.up_proj.weight') as Tensor]);
    model.dispose();
  });
});

describe('models sharing weights', () => {
  it('extendContext sets LongLoRA linear PI: factor ceil(newLength / maxPos), same variables, maxPos kept', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    const long = extendContext(base, 1000, 'linear');
    expect(long.config.ropeScaling).toEqual({ type: 'linear', factor: 8 });
    expect(long.config.maxPositionEmbeddings).toBe(128);
    expect(effectiveContext(long.config)).toBe(1024);
    expect(long.parameters).toBe(base.parameters);
    expect(base.config.ropeScaling).toBeNull();
    expect(extendContext(base, 300, 'ntk').config.ropeScaling).toEqual({ type: 'dynamic', factor: 3 });
    expect(extendContext(base, 129, 'yarn').config.ropeScaling).toEqual({ type: 'yarn', factor: 2 });
    // Replaced, not compounded: the factor always refers to the pre-training context.
    expect(extendContext(long, 2048).config.ropeScaling).toEqual({ type: 'linear', factor: 16 });
    const ids = ids2d([Array.from({ length: 300 }, (_, i) => (i * 7) % 259)]);
    expect(() => base.forward(ids)).toThrow(/300 positions exceed the model's context of 128/);
    expect(long.forward(ids).shape).toEqual([1, 300, 259]);
    expect(() => extendContext(long, 1024)).toThrow("extendContext: newLength 1024 does not exceed the model's current context 1024; extend only to longer contexts");
    expect(() => extendContext(base, 512, 'ntk-by-parts' as never)).toThrow(/method "ntk-by-parts" is not one of 'linear', 'ntk', 'yarn'/);
    expect(() => extendContext(base, 256.5)).toThrow(/newLength = 256.5 must be a positive integer/);
    base.dispose();
    long.dispose();
  });

  it('withConfig changes settings but not shapes; weights live until the last sharing model is disposed', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    const s2 = base.withConfig({ attention: { kind: 'full', blockSize: 2 } });
    const ids = ids2d([[5, 6, 7, 8, 9, 10]]);
    // Blocked dense attention is the same function: same logits from the shared weights.
    expectTensorsClose(s2.forward(ids), base.forward(ids), { atol: 1e-6, rtol: 1e-5 });
    expect(() => base.withConfig({ hiddenSize: 128, numAttentionHeads: 8, numKeyValueHeads: 4 })).toThrow(
      /withConfig: hiddenSize, numAttentionHeads, numKeyValueHeads would change parameter shapes; a model sharing weights can only change maxPositionEmbeddings, ropeTheta, rmsNormEps, ropeScaling, initializerRange, attention/,
    );
    expect(() => base.withConfig({ tieWordEmbeddings: true })).toThrow(/tieWordEmbeddings would change parameter shapes/);
    const q = base.parameters.get('model.layers.0.self_attn.q_proj.weight') as Tensor;
    base.dispose();
    expect(q.isDisposed).toBe(false);
    expect(() => base.forward(ids)).toThrow('LlamaForCausalLM.forward: this model was disposed');
    expect(s2.forward(ids).shape).toEqual([1, 6, 259]);
    s2.dispose();
    expect(q.isDisposed).toBe(true);
    s2.dispose(); // idempotent
  });
});
