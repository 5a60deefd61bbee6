/**
 * Generation: KV-cache decoding equals recomputing the whole sequence, seeded sampling is
 * reproducible, top-k never leaves the top k, stop tokens end the output, the model's own KV cache
 * is the default, and bad prompts and options are refused before anything runs.
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

  it("without a cache factory, the model's own KVCache: the same tokens as with one, and no tensors left", () => {
    const withFactory = generate(model, prompt, { maxNewTokens: 10 }, makeCache);
    expect(generate(model, prompt, { maxNewTokens: 10 })).toEqual(withFactory);
    expect(generate(model, Int32Array.from(prompt), { maxNewTokens: 10 })).toEqual(withFactory);
    let made = 0;
    generate(model, prompt, { maxNewTokens: 3 }, (n) => {
      made++;
      return new KVCache(n);
    });
    expect(made).toBe(1); // a given factory is still used
    const before = tf.memory().numTensors;
    generate(model, prompt, { maxNewTokens: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses prompts that are not token ids of this model, before running anything', () => {
    const forward = jest.spyOn(model, 'forward');
    expect(() => generate(model, 'Hello' as never, { maxNewTokens: 2 })).toThrow(
      'generate: prompt must be token ids (number[] or Int32Array), not a string ("Hello"); encode the text first: encode(text, { bos: true }) for the byte tokenizer of our models, or (await loadTokenizer(dir)).encode(text) for a Hugging Face checkpoint',
    );
    expect(() => generate(model, [256, 72.5, 101], { maxNewTokens: 2 })).toThrow('generate: prompt[1] = 72.5 is not a token id; ids are integers');
    expect(() => generate(model, Float32Array.from([256, 0.25]), { maxNewTokens: 2 })).toThrow('generate: prompt[1] = 0.25 is not a token id');
    expect(() => generate(model, [256, 259], { maxNewTokens: 2 })).toThrow("generate: prompt[1] = 259 is outside the model's vocabulary [0, 259); was the prompt encoded with another tokenizer?");
    expect(() => generate(model, [-1], { maxNewTokens: 2 })).toThrow('prompt[0] = -1 is outside');
    expect(() => generate(model, ['a'] as never, { maxNewTokens: 2 })).toThrow('generate: prompt[0] = "a" is not a token id');
    expect(() => generate(model, 7 as never, { maxNewTokens: 2 })).toThrow('generate: prompt must be token ids (number[] or Int32Array), got 7');
    expect(() => generate({} as never, prompt, { maxNewTokens: 2 })).toThrow('generate: model must be a causal LM with config.vocabSize and forward');
    expect(() => generate(model, prompt, { maxNewTokens: 2 }, 'cache' as never)).toThrow('generate: makeCache must be a function');
    expect(forward).not.toHaveBeenCalled();
    forward.mockRestore();
  });

  it('bad options', () => {
    expect(() => generate(model, prompt, { maxNewTokens: 2, temprature: 1 } as never)).toThrow("generate: unknown option 'temprature' (did you mean 'temperature'?)");
    expect(() => generate(model, prompt, { max_new_tokens: 2 } as never)).toThrow("generate: unknown option 'max_new_tokens' (did you mean 'maxNewTokens'?)");
    expect(() => generate(model, prompt, undefined as never)).toThrow('generate: options must be an object such as { maxNewTokens: 32 }, got undefined');
    expect(() => generate(model, prompt, { maxNewTokens: 2, seed: -1 })).toThrow('generate: seed must be an integer in [0, 2^32), got -1');
    expect(() => generate(model, prompt, { maxNewTokens: 2, useCache: 'yes' } as never)).toThrow('generate: useCache must be true or false, got "yes"');
    expect(() => generate(model, prompt, { maxNewTokens: 2, stopTokens: 257 } as never)).toThrow('generate: stopTokens must be an array of token ids, got 257');
    expect(() => generate(model, prompt, { maxNewTokens: '3' } as never)).toThrow('generate: maxNewTokens = "3" must be a positive integer');
    expect(() => generate(model, prompt, { maxNewTokens: 0 }, makeCache)).toThrow(/maxNewTokens = 0 must be a positive integer/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, temperature: -1 }, makeCache)).toThrow(/temperature = -1 must be >= 0/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, temperature: 1, topK: 0 }, makeCache)).toThrow(/topK = 0 must be an integer in \[1, 259\]/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, topK: 5 }, makeCache)).toThrow(/topK needs sampling/);
    expect(() => generate(model, prompt, { maxNewTokens: 2, stopTokens: [300] }, makeCache)).toThrow(/stop token 300 is outside the vocabulary/);
    expect(() => generate(model, [], { maxNewTokens: 2 }, makeCache)).toThrow(/the prompt is empty/);
  });
});
