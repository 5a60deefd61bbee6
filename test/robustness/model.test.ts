/**
 * Robustness, the model's inputs: token ids for forward and loss (float, string, out of range, wrong
 * rank or shape, labels that do not match) on every numerics backend, since an id outside the
 * vocabulary would otherwise reach each backend's gather differently (an error on one, zeros or
 * garbage on another); the KV cache; generate's prompt and options. Every case: a plain Error naming
 * the value and the fix, no tensor left behind, and the model still works after.
 */
import { tf } from '../../lib/backend';
import type { Tensor2D } from '../../lib/backend';
import { KVCache, LlamaForCausalLM, presets } from '../../lib/model';
import { generate } from '../../lib/eval';
import { numericBackends, useBackend } from '../helpers';
import { expectBadInput, expectModelWorks, ids } from './bad-input';
import type { BadCase } from './bad-input';

const t2 = (x: tf.Tensor) => x as Tensor2D;

describe.each(numericBackends())('forward and loss: token ids on %s', (backend) => {
  useBackend(backend);
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  });
  afterAll(() => model.dispose());

  const forward = (make: () => tf.Tensor, options?: object) => () => tf.tidy(() => model.forward(t2(make()), options as never));
  const loss = (input: () => tf.Tensor, labels?: () => unknown, options: object = {}) => () =>
    tf.tidy(() => model.loss(t2(input()), { ...(labels ? { labels: labels() } : {}), ...options } as never));

  const cases = (): BadCase[] => [
    ['float32 ids', forward(() => tf.tensor2d([[1, 2]], [1, 2], 'float32')), [/forward: inputIds must have dtype int32; got float32 \(use tf\.tensor2d\(ids, \[batch, seq\], 'int32'\)\)/]],
    ['string ids', forward(() => tf.tensor2d([['a', 'b']], [1, 2], 'string')), [/inputIds must have dtype int32; got string/]],
    ['bool ids', forward(() => tf.tensor2d([[1, 0]], [1, 2], 'bool')), [/inputIds must have dtype int32; got bool/]],
    ['an id equal to vocabSize', forward(() => ids([[1, 259]])), [/forward: inputIds: token id 259 at \[0, 1\] is outside the vocabulary: ids must be in \[0, 259\)/]],
    ['a negative id', forward(() => ids([[-1, 2]])), [/token id -1 at \[0, 0\] is outside the vocabulary/]],
    ['the largest int32 id', forward(() => ids([[1, 2], [3, 2 ** 31 - 1]])), [/token id 2147483647 at \[1, 1\] is outside the vocabulary/]],
    ['-100 as an input id (only labels may ignore)', forward(() => ids([[-100, 2]])), [/token id -100 at \[0, 0\] is outside the vocabulary: ids must be in \[0, 259\) \(vocabSize 259\)/]],
    ['rank-1 ids', forward(() => tf.tensor1d([1, 2], 'int32')), [/inputIds must be int32 \[batch, seq\]; got shape \[2\]/]],
    ['rank-3 ids', forward(() => tf.tensor3d([[[1, 2]]], [1, 1, 2], 'int32')), [/got shape \[1, 1, 2\]/]],
    ['an empty sequence', forward(() => tf.zeros([1, 0], 'int32')), [/inputIds is empty \(shape \[1, 0\]\); give at least one token/]],
    ['an empty batch', forward(() => tf.zeros([0, 4], 'int32')), [/inputIds is empty \(shape \[0, 4\]\)/]],
    ['a nested number array, not a tensor', () => model.forward([[1, 2]] as never), [/inputIds must be an int32 tensor \[batch, seq\]; got an array of length 1 \(use tf\.tensor2d/]],
    ['null', () => model.forward(null as never), [/inputIds must be an int32 tensor \[batch, seq\]; got null/]],
    [
      'a disposed tensor',
      () => {
        const x = ids([[1, 2]]);
        x.dispose();
        return model.forward(t2(x));
      },
      [/forward: inputIds was disposed before the call \(shape \[1, 2\]\); pass a live tensor/],
    ],
    ['longer than the context', forward(() => tf.zeros([1, 129], 'int32')), [/forward: 129 positions exceed the model's context of 128 \(maxPositionEmbeddings 128, no rope scaling\); pass \{ allowExtrapolation: true \}/, /extendContext\(model, 129, 'linear'\)/]],
    ['training as a string', forward(() => ids([[1, 2]]), { training: 'yes' }), [/forward: training must be true or false, got "yes"/]],
    ["allowExtrapolation 'no' (truthy)", forward(() => tf.zeros([1, 129], 'int32'), { allowExtrapolation: 'no' }), [/forward: allowExtrapolation must be true or false, got "no"/]],
    ['a misspelt option', forward(() => ids([[1, 2]]), { train: true }), [/forward: unknown option 'train'; valid options are 'training', 'cache', 'allowExtrapolation'/]],
    ['null options', forward(() => ids([[1, 2]]), null as never), [/forward: options must be an object, got null/]],
    ['loss: float labels', loss(() => ids([[1, 2]]), () => tf.tensor2d([[1, 2]], [1, 2], 'float32')), [/loss: labels must have dtype int32; got float32/]],
    ['loss: labels of another shape', loss(() => ids([[1, 2]]), () => ids([[1, 2, 3]])), [/loss: labels shape \[1, 3\] must equal inputIds shape \[1, 2\] \(the shift happens inside\)/]],
    ['loss: a label outside the vocabulary', loss(() => ids([[1, 2]]), () => ids([[1, 300]])), [/loss: labels: token id 300 at \[0, 1\] is outside the vocabulary: ids must be in \[0, 259\) or -100 \(ignored\)/]],
    ['loss: every label ignored', loss(() => ids([[1, 2]]), () => ids([[-100, -100]])), [/loss: no position has a label to predict .* give sequences of 2\+ tokens with at least one counted label/]],
    ['loss: one token, nothing to predict', loss(() => ids([[1]])), [/no position has a label to predict \(sequence length 1/]],
    ['loss: labels as a number array', loss(() => ids([[1, 2]]), () => [[1, 2]]), [/loss: labels must be an int32 tensor \[batch, seq\]; got an array of length 1/]],
    ['loss: a misspelt option', loss(() => ids([[1, 2]]), undefined, { label: 1 }), [/loss: unknown option 'label' \(did you mean 'labels'\?\)/]],
    ['loss: training as a number', loss(() => ids([[1, 2]]), undefined, { training: 1 }), [/loss: training must be true or false, got 1/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });
});

describe('the KV cache', () => {
  useBackend('cpu');
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  });
  afterAll(() => model.dispose());

  /** A cache holding `batch` sequences of 2 tokens, disposed after `use`. */
  const withCache = (use: (cache: KVCache) => unknown, batch = 1, layers = 2) => () => {
    const cache = new KVCache(layers);
    try {
      if (layers === 2) tf.dispose(tf.tidy(() => model.forward(t2(ids(Array.from({ length: batch }, () => [1, 2]))), { cache })));
      return use(cache);
    } finally {
      cache.dispose();
    }
  };
  const step = (cache: KVCache, options: object = {}) => tf.tidy(() => model.forward(t2(ids([[3]])), { cache, ...options }));

  const cases = (): BadCase[] => [
    ['not a KVCache', () => tf.tidy(() => model.forward(t2(ids([[1]])), { cache: {} as never })), [/forward: options\.cache must be a KVCache/]],
    [
      'a disposed cache',
      () => {
        const cache = new KVCache(2);
        cache.dispose();
        return step(cache);
      },
      [/options\.cache was disposed; create a new KVCache\(config\.numHiddenLayers\)/],
    ],
    ['a cache in a training pass', withCache((c) => step(c, { training: true })), [/a KV cache is for generation; a training forward pass takes whole sequences without \{ cache \}/]],
    ['a cache of another layer count', withCache((c) => step(c), 1, 3), [/the cache has 3 layers but the model 2; create it with new KVCache\(config\.numHiddenLayers\)/]],
    ['a batch other than the cached one', withCache((c) => step(c), 2), [/inputIds have batch 1 but the cache holds 2 sequences; continue every cached sequence together/]],
    ['cached + new positions past the context', withCache((c) => tf.tidy(() => model.forward(t2(tf.zeros([1, 127], 'int32')), { cache: c }))), [/forward: 2 cached \+ 127 new = 129 positions exceed the model's context of 128/]],
    ['KVCache(0)', () => new KVCache(0), [/KVCache: numLayers = 0 must be a positive integer \(the model's numHiddenLayers\)/]],
    ['KVCache(2.5)', () => new KVCache(2.5), [/numLayers = 2\.5 must be a positive integer/]],
    ['KVCache.layer out of range', withCache((c) => c.layer(2)), [/KVCache\.layer\(2\): layer must be an integer in \[0, 2\)/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });
});

describe('generate: prompt and options', () => {
  useBackend('cpu');
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  });
  afterAll(() => model.dispose());

  const gen = (prompt: unknown, options: object = { maxNewTokens: 2 }) => () => generate(model, prompt as number[], options as never);
  const cases = (): BadCase[] => [
    ['a string prompt', gen('Hello'), [/generate: prompt must be token ids \(number\[\] or Int32Array\), not a string \("Hello"\); encode the text first: encode\(text, \{ bos: true \}\)/]],
    ['a Float32Array of fractional ids', gen(new Float32Array([1.5, 2])), [/prompt\[0\] = 1\.5 is not a token id; ids are integers \(a Float32Array of ids must be converted with Int32Array\.from\)/]],
    ['an id outside the vocabulary', gen([1, 300]), [/prompt\[1\] = 300 is outside the model's vocabulary \[0, 259\); was the prompt encoded with another tokenizer\?/]],
    ['a nested (batched) prompt', gen([[1, 2]]), [/prompt\[0\] = an array of length 2 is not a token id/]],
    ['an empty prompt', gen([]), [/the prompt is empty; give at least one token \(e\.g\. BOS\)/]],
    ['a number prompt', gen(5), [/prompt must be token ids \(number\[\] or Int32Array\), got 5/]],
    ['maxNewTokens 0', gen([1], { maxNewTokens: 0 }), [/maxNewTokens = 0 must be a positive integer/]],
    ['no options', () => generate(model, [1], undefined as never), [/generate: options must be an object such as \{ maxNewTokens: 32 \}, got undefined/]],
    ['a misspelt option', gen([1], { maxNewTokens: 1, temp: 1 }), [/generate: unknown option 'temp'; valid options are 'maxNewTokens'/]],
    ['a negative temperature', gen([1], { maxNewTokens: 1, temperature: -1 }), [/temperature = -1 must be >= 0 \(0 = greedy\)/]],
    ['temperature NaN', gen([1], { maxNewTokens: 1, temperature: NaN }), [/temperature = NaN must be >= 0/]],
    ['topK without sampling', gen([1], { maxNewTokens: 1, topK: 5 }), [/topK needs sampling; set temperature > 0/]],
    ['topK above the vocabulary', gen([1], { maxNewTokens: 1, temperature: 1, topK: 1000 }), [/topK = 1000 must be an integer in \[1, 259\]/]],
    ['stopTokens not a list', gen([1], { maxNewTokens: 1, stopTokens: 257 }), [/stopTokens must be an array of token ids, got 257/]],
    ['a NaN stop token', gen([1], { maxNewTokens: 1, stopTokens: [NaN] }), [/stop token NaN is outside the vocabulary \[0, 259\)/]],
    ['a negative seed', gen([1], { maxNewTokens: 1, seed: -1 }), [/generate: seed must be an integer in \[0, 2\^32\), got -1/]],
    ['useCache as a string', gen([1], { maxNewTokens: 1, useCache: 'no' }), [/generate: useCache must be true or false, got "no"/]],
    ['no model', () => generate(null as never, [1], { maxNewTokens: 1 }), [/generate: model must be a causal LM with config\.vocabSize and forward \(e\.g\. a LlamaForCausalLM\), got null/]],
    ['makeCache not a function', () => generate(model, [1], { maxNewTokens: 1 }, 5 as never), [/makeCache must be a function \(numLayers\) => cache, got 5/]],
    // the context runs out mid-way: the forward's error, the cache freed (see the accepted inputs in main.test.ts)
    ['more tokens than the context holds', gen([1, 2], { maxNewTokens: 200 }), [/forward: 128 cached \+ 1 new = 129 positions exceed the model's context of 128/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });

  it('a disposed model is refused by name', async () => {
    const gone = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    gone.dispose();
    await expectBadInput(() => generate(gone, [1], { maxNewTokens: 1 }), [/LlamaForCausalLM\.forward: this model was disposed/]);
    await expectBadInput(() => tf.tidy(() => gone.forward(t2(ids([[1]])))), [/LlamaForCausalLM\.forward: this model was disposed/]);
  });
});
