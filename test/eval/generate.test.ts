/**
 * Generation: KV-cache decoding equals recomputing the whole sequence, seeded sampling is
 * reproducible, top-k never leaves the top k, stop tokens end the output, bad options are refused.
 */
import { tf, ready } from '../../lib/backend';
import { LlamaForCausalLM, KVCache, presets, makeConfig } from '../../lib/model';
import { generate, pickToken } from '../../lib/eval';

describe('generate', () => {
  let model: LlamaForCausalLM;
  const makeCache = (n: number) => new KVCache(n);
  const prompt = [256, 72, 101, 108, 108, 111, 44, 32];

  beforeAll(async () => {
    await ready({ backend: 'wasm' });
    // larger init so the random model has peaked, input-dependent logits
    model = LlamaForCausalLM.create(makeConfig(presets.tiny, { initializerRange: 0.3 }), { seed: 3 });
  });
  afterAll(() => model.dispose());

  it('greedy with the KV cache equals greedy recomputing the whole sequence each step', () => {
    const cached = generate(model, prompt, { maxNewTokens: 24 }, makeCache);
    const uncached = generate(model, prompt, { maxNewTokens: 24, useCache: false }, makeCache);
    expect(cached).toEqual(uncached);
    expect(new Set(cached).size).toBeGreaterThan(1); // not a degenerate constant output
  });

  it('seeded sampling is reproducible and depends on the seed; cache and no cache agree', () => {
    const a = generate(model, prompt, { maxNewTokens: 20, temperature: 1, seed: 7 }, makeCache);
    const b = generate(model, prompt, { maxNewTokens: 20, temperature: 1, seed: 7 }, makeCache);
    const c = generate(model, prompt, { maxNewTokens: 20, temperature: 1, seed: 8 }, makeCache);
    const d = generate(model, prompt, { maxNewTokens: 20, temperature: 1, seed: 7, useCache: false }, makeCache);
    expect(a).toEqual(b);
    expect(a).toEqual(d);
    expect(a).not.toEqual(c);
  });

  it('top-k never emits a token outside the k most likely', () => {
    const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * 3);
    const top3 = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]).slice(0, 3);
    let s = 1;
    const random = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(pickToken(logits, { temperature: 5, topK: 3 }, random));
    expect([...seen].sort()).toEqual([...top3].sort());
  });

  it('stops at a stop token (included) and leaks no tensors', () => {
    const free = generate(model, prompt, { maxNewTokens: 12 }, makeCache);
    const stopAt = free[4];
    const first = free.indexOf(stopAt);
    const stopped = generate(model, prompt, { maxNewTokens: 12, stopTokens: [stopAt] }, makeCache);
    expect(stopped).toEqual(free.slice(0, first + 1));
    const before = tf.memory().numTensors;
    generate(model, prompt, { maxNewTokens: 5 }, makeCache);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad options', () => {
    expect(() => generate(model, prompt, { maxNewTokens: 0 }, makeCache)).toThrow(/maxNewTokens = 0 must be a positive integer/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, temperature: -1 }, makeCache)).toThrow(/temperature = -1 must be >= 0/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, temperature: 1, topK: 0 }, makeCache)).toThrow(/topK = 0 must be an integer in \[1, 259\]/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, topK: 5 }, makeCache)).toThrow(/topK needs sampling/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, stopTokens: [300] }, makeCache)).toThrow(/stop token 300 is outside the vocabulary/);
    expect(() => generate(model, [], { maxNewTokens: 2 }, makeCache)).toThrow(/the prompt is empty/);
  });
});
