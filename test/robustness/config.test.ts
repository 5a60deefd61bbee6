/**
 * Robustness, configs: makeConfig and the presets, rope scaling, attention specs inside configs,
 * validateConfig, LlamaForCausalLM.create / fromWeights / withConfig, extendContext. Every case:
 * a plain Error naming the value and the fix, no tensor left behind (see ./bad-input.ts).
 */
import { tf } from '../../lib/backend';
import { LlamaForCausalLM, extendContext, makeConfig, presets, validateConfig, validateRopeScaling } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';
import { useBackend } from '../helpers';
import { expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

const tiny = presets.tiny;
const over = (o: Record<string, unknown>) => () => makeConfig(tiny, o as Partial<LlamaConfig>);

describe('makeConfig and presets', () => {
  const cases: BadCase[] = [
    ['a misspelt key, with the likely one', over({ hidenSize: 32 }), [/makeConfig overrides: unknown key 'hidenSize' \(did you mean 'hiddenSize'\?\)/, /valid keys are 'vocabSize'/]],
    ['a snake_case key', over({ num_hidden_layers: 2 }), [/unknown key 'num_hidden_layers' \(did you mean 'numHiddenLayers'\?\)/]],
    ['overrides that are not an object', () => makeConfig(tiny, 'small' as never), [/makeConfig: overrides = 'small' must be an object of LlamaConfig fields/]],
    ['null overrides', () => makeConfig(tiny, null as never), [/overrides = null must be an object/]],
    ['a misspelt preset (undefined base)', () => makeConfig((presets as unknown as Record<string, LlamaConfig>).tinny), [/makeConfig: base = undefined must be a LlamaConfig/, /presets are tiny, small/]],
    ['hiddenSize 0', over({ hiddenSize: 0 }), [/LlamaConfig\.hiddenSize = 0 must be a positive integer/]],
    ['hiddenSize as a string', over({ hiddenSize: '64' }), [/hiddenSize = '64' must be a positive integer/]],
    ['numHiddenLayers 1.5', over({ numHiddenLayers: 1.5 }), [/numHiddenLayers = 1.5 must be a positive integer/]],
    ['vocabSize NaN', over({ vocabSize: NaN }), [/vocabSize = NaN must be a positive integer/]],
    ['heads not dividing the width', over({ numAttentionHeads: 3, numKeyValueHeads: 3 }), [/hiddenSize 64 is not divisible by numAttentionHeads 3; headDim = hiddenSize \/ numAttentionHeads must be a whole number/]],
    ['kv heads not dividing the heads', over({ numKeyValueHeads: 3 }), [/numKeyValueHeads 3 does not divide numAttentionHeads 4/]],
    ['an odd head dimension', over({ hiddenSize: 60, numAttentionHeads: 4, numKeyValueHeads: 4 }), [/headDim = 60 \/ 4 = 15 must be even for rotary embeddings/]],
    ['ropeTheta 0', over({ ropeTheta: 0 }), [/ropeTheta = 0 must be a positive number/]],
    ['ropeTheta Infinity', over({ ropeTheta: Infinity }), [/ropeTheta = Infinity must be a positive number/]],
    ['rmsNormEps 0', over({ rmsNormEps: 0 }), [/rmsNormEps = 0 must be a positive number/]],
    ['initializerRange -1', over({ initializerRange: -1 }), [/initializerRange = -1 must be a non-negative number/]],
    ['tieWordEmbeddings as a string', over({ tieWordEmbeddings: 'false' }), [/tieWordEmbeddings = 'false' must be a boolean/]],
    ['validateConfig of an empty object', () => validateConfig({} as LlamaConfig), [/LlamaConfig: missing vocabSize, hiddenSize/, /start from a preset, e\.g\. makeConfig\(presets\.tiny/]],
    ['validateConfig of an unknown key', () => validateConfig({ ...tiny, heads: 4 } as LlamaConfig), [/LlamaConfig: unknown key 'heads'/]],
  ];
  it.each(cases)('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
  });

  it('a preset cannot be changed in place (it is frozen); derive with makeConfig instead', () => {
    expect(Object.isFrozen(presets.tiny)).toBe(true);
    expect(makeConfig(presets.tiny, { maxPositionEmbeddings: 256 }).maxPositionEmbeddings).toBe(256);
    expect(presets.tiny.maxPositionEmbeddings).toBe(128);
  });
});

describe('rope scaling', () => {
  const rope = (r: unknown) => over({ ropeScaling: r });
  const cases: BadCase[] = [
    ['a string instead of an object (named as given)', rope('linear'), [/ropeScaling = 'linear' must be null or an object such as \{ type: 'linear', factor: 2 \}/]],
    ['a misspelt type', rope({ type: 'liner', factor: 2 }), [/ropeScaling\.type = 'liner' is not supported; use 'linear' \(position interpolation\), 'dynamic' \(NTK\) or 'yarn'/]],
    ['no type', rope({ factor: 2 }), [/ropeScaling\.type = undefined is not supported/]],
    ['factor below 1', rope({ type: 'linear', factor: 0.5 }), [/ropeScaling\.factor = 0\.5 must be a number >= 1 \(the context extension ratio\)/]],
    ['factor NaN', rope({ type: 'linear', factor: NaN }), [/factor = NaN must be a number >= 1/]],
    ['factor Infinity', rope({ type: 'dynamic', factor: Infinity }), [/factor = Infinity must be a number >= 1/]],
    ['a key of another type', rope({ type: 'linear', factor: 2, betaFast: 32 }), [/ropeScaling \(type 'linear'\): unknown key 'betaFast'; valid keys are 'type', 'factor'/]],
    ['a snake_case yarn key', rope({ type: 'yarn', factor: 2, beta_fast: 32 }), [/unknown key 'beta_fast' \(did you mean 'betaFast'\?\)/]],
    ['yarn betaFast below betaSlow', rope({ type: 'yarn', factor: 2, betaFast: 1, betaSlow: 4 }), [/betaFast \(1\) must be >= betaSlow \(4\)/]],
    ['yarn originalMaxPositionEmbeddings 1.5', rope({ type: 'yarn', factor: 2, originalMaxPositionEmbeddings: 1.5 }), [/originalMaxPositionEmbeddings = 1\.5 must be a positive integer/]],
    ['yarn truncate as a string', rope({ type: 'yarn', factor: 2, truncate: 'yes' }), [/truncate = 'yes' must be a boolean/]],
    ['validateRopeScaling names its caller', () => validateRopeScaling({ type: 'linear' }, 'mine'), [/mine\.factor = undefined must be a number >= 1/]],
  ];
  it.each(cases)('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
  });
});

describe('attention specs inside configs', () => {
  const attn = (a: unknown) => over({ attention: a });
  const cases: BadCase[] = [
    ['a misspelt kind, with the likely one', attn({ kind: 'ful' }), [/LlamaConfig\.attention\.kind = "ful" is not an attention kind; use one of 'full', 's2', 'pattern' \(did you mean 'full'\?\)/]],
    ['a string instead of a spec (named as given)', attn('s2'), [/LlamaConfig\.attention = 's2' must be an attention spec such as \{ kind: 'full' \}/]],
    ['null (named as given)', attn(null), [/LlamaConfig\.attention = null must be an attention spec/]],
    ['an odd S2 group', attn({ kind: 's2', groupSize: 3 }), [/attention\.groupSize = 3 must be an even integer >= 2 \(the shift is G\/2\)/]],
    ['a group ratio of 0', attn({ kind: 's2', groupSizeRatio: 0 }), [/groupSizeRatio = 0 must be a number in \(0, 1\]/]],
    ['both groupSize and groupSizeRatio', attn({ kind: 's2', groupSize: 8, groupSizeRatio: 0.25 }), [/groupSize = 8 and groupSizeRatio = 0\.25 are both set; keep one/]],
    ['a snake_case spec key', attn({ kind: 's2', group_size: 8 }), [/LlamaConfig\.attention: unknown key 'group_size' \(did you mean 'groupSize'\?\)/]],
    ['a key of another kind', attn({ kind: 'full', groupSize: 8 }), [/unknown key 'groupSize'; valid keys are 'kind', 'blockSize', 'memory'/]],
    ['an unknown variant', attn({ kind: 's2', variant: 'shift' }), [/variant = "shift" must be 'offset' \(official flash path\) or 'roll'/]],
    ["the SFT rule without baseContext", attn({ kind: 's2', groupSizeRule: 'sft' }), [/groupSizeRule 'sft' needs baseContext/]],
    ['a misspelt pattern', attn({ kind: 'pattern', pattern: 'dilate' }), [/attention\.pattern = "dilate" must be one of 'full', 'short'/]],
    ['a pattern spec without its pattern', attn({ kind: 'pattern' }), [/kind 'pattern' needs pattern, one of/]],
    ["memory 'saved'", attn({ kind: 'full', memory: 'saved' }), [/memory = "saved" must be 'save' or 'recompute'/]],
    ['blockSize 0', attn({ kind: 'full', blockSize: 0 }), [/blockSize = 0 must be a positive integer/]],
    ['atInference as a string', attn({ kind: 's2', atInference: 'no' }), [/atInference = "no" must be true or false/]],
  ];
  it.each(cases)('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
  });
});

describe('creating and deriving models', () => {
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = LlamaForCausalLM.create(tiny, { seed: 0 });
  });
  afterAll(() => model.dispose());

  const cases: () => BadCase[] = () => [
    ['create: a misspelt option', () => LlamaForCausalLM.create(tiny, { sed: 1 } as never), [/LlamaForCausalLM\.create: unknown option 'sed' \(did you mean 'seed'\?\)/]],
    ['create: a fractional seed', () => LlamaForCausalLM.create(tiny, { seed: 0.5 }), [/seed = 0\.5 must be an integer in \[0, 2\^32\)/]],
    // the generator keeps 32 bits: seed 2^32 gave seed 0's weights, -1 those of 2^32 - 1
    ['create: seed 2^32 (would wrap to seed 0)', () => LlamaForCausalLM.create(tiny, { seed: 2 ** 32 }), [/seed = 4294967296 must be an integer in \[0, 2\^32\) \(seeds wrap at 32 bits\)/]],
    ['create: a negative seed', () => LlamaForCausalLM.create(tiny, { seed: -1 }), [/seed = -1 must be an integer in \[0, 2\^32\)/]],
    ['create: no config', () => LlamaForCausalLM.create(null as never), [/LlamaConfig must be an object; got null/]],
    ['fromWeights: a plain object instead of a Map', () => LlamaForCausalLM.fromWeights(tiny, {} as never), [/weights must be a Map<string, Tensor> keyed by Hugging Face parameter names/]],
    ['fromWeights: an empty Map lists what is missing', () => LlamaForCausalLM.fromWeights(tiny, new Map()), [/the weights do not fit the config\. missing \(21\): model\.embed_tokens\.weight/]],
    ['withConfig: a shape change', () => model.withConfig({ hiddenSize: 128 }), [/withConfig: hiddenSize would change parameter shapes; a model sharing weights can only change maxPositionEmbeddings/]],
    ['withConfig: a misspelt key', () => model.withConfig({ ropeTheta2: 1 } as never), [/unknown key 'ropeTheta2' \(did you mean 'ropeTheta'\?\)/]],
    ['extendContext: not longer than the context', () => extendContext(model, 64), [/extendContext: newLength 64 does not exceed the model's current context 128/]],
    ['extendContext: an unknown method', () => extendContext(model, 512, 'pi' as never), [/method "pi" is not one of 'linear', 'ntk', 'yarn'/]],
    ['extendContext: NaN tokens', () => extendContext(model, NaN), [/newLength = NaN must be a positive integer number of tokens/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });

  it('fromWeights: a wrong shape and a wrong dtype are named, and nothing is allocated', async () => {
    const weights = new Map([...model.parameters].map(([n, v]) => [n, v as tf.Tensor]));
    const wrongShape = tf.zeros([64]);
    const wrongDtype = tf.zeros([64], 'int32');
    weights.set('model.norm.weight', wrongDtype);
    weights.set('model.layers.0.input_layernorm.weight', tf.zeros([32]));
    weights.set('lm_head.bias', wrongShape);
    try {
      await expectBadInput(
        () => LlamaForCausalLM.fromWeights(tiny, weights),
        [/mismatched \(2\): model\.layers\.0\.input_layernorm\.weight: checkpoint \[32\] vs config \[64\]; model\.norm\.weight: dtype int32, expected float32/, /unexpected \(1\): lm_head\.bias/],
      );
    } finally {
      tf.dispose([wrongShape, wrongDtype, weights.get('model.layers.0.input_layernorm.weight') as tf.Tensor]);
    }
    expectModelWorks(model);
  });
});
