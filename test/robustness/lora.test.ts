/**
 * Robustness, LoRA and LongLoRA's set-up: applyLora's settings and options (unknown keys, targets
 * as a string, r, alpha Infinity / NaN, dropout), the adapters' lifecycle, longLora's options and
 * LongLoraModel's batch loss. Every case: a plain Error naming the value and the fix, no tensor
 * left behind, and the model still works after (with no adapter left attached by a failed call).
 */
import { tf } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { applyLora, makeLoraConfig } from '../../lib/lora';
import { longLora } from '../../lib/train';
import { useBackend } from '../helpers';
import { expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

let model: LlamaForCausalLM;
beforeAll(() => {
  model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
});
afterAll(() => model.dispose());

/** After a failed call: no adapter attached, the model as before. */
function expectUntouched(): void {
  expect(model.adapters.size).toBe(0);
  expectModelWorks(model);
}

describe('applyLora', () => {
  const lora = (overrides: unknown, options?: unknown) => () => applyLora(model, overrides as never, options as never);
  const cases = (): BadCase[] => [
    ['an unknown setting', lora({ rank: 4 }), [/LoRA config: unknown option 'rank'; valid options are 'r', 'alpha', 'dropout', 'targets'/]],
    ['a snake_case setting', lora({ lora_alpha: 16 }), [/LoRA config: unknown option 'lora_alpha' \(did you mean 'alpha'\? 'lora_alpha' is PEFT's name for it\)/]],
    ['an unknown option', lora({}, { sed: 1 }), [/applyLora: unknown option 'sed' \(did you mean 'seed'\?\); valid options are 'seed'/]],
    ['targets as a string', lora({ targets: 'q_proj' }), [/LoRA config: targets = "q_proj" must be a list of module names such as \['q_proj', 'v_proj'\] \(for one module: targets: \["q_proj"\]\)/]],
    ['a target that is not a projection', lora({ targets: ['lm_head'] }), [/target\(s\) lm_head are not Llama projections; use q_proj, k_proj/]],
    ['a target listed twice', lora({ targets: ['q_proj', 'q_proj'] }), [/target\(s\) q_proj listed more than once; name each projection once/]],
    ['no targets', lora({ targets: [] }), [/targets is empty; name at least one of q_proj/]],
    ['a non-string target', lora({ targets: ['q_proj', 3] }), [/targets = \[.*\] must be a list of module names|targets = an array of length 2 must be a list of module names/]],
    ['r 0', lora({ r: 0 }), [/LoRA config: r = 0 must be a positive integer \(LongLoRA uses 8\)/]],
    ['r 2.5', lora({ r: 2.5 }), [/r = 2\.5 must be a positive integer/]],
    ['r as a string', lora({ r: '8' }), [/r = "8" must be a positive integer/]],
    ['alpha Infinity', lora({ alpha: Infinity }), [/alpha = Infinity must be a finite number > 0 \(LongLoRA uses 16; the update is scaled by alpha \/ r\)/]],
    ['alpha NaN', lora({ alpha: NaN }), [/alpha = NaN must be a finite number > 0/]],
    ['alpha 0', lora({ alpha: 0 }), [/alpha = 0 must be a finite number > 0/]],
    ['dropout 1', lora({ dropout: 1 }), [/dropout = 1 must be a number in \[0, 1\) \(LongLoRA uses 0\)/]],
    ['dropout -0.1', lora({ dropout: -0.1 }), [/dropout = -0\.1 must be a number in \[0, 1\)/]],
    ['dropout NaN', lora({ dropout: NaN }), [/dropout = NaN must be a number in \[0, 1\)/]],
    ['null settings', lora(null), [/LoRA config: options must be an object, got null/]],
    ['a negative seed', lora({}, { seed: -1 }), [/applyLora: seed must be an integer in \[0, 2\^32\), got -1/]],
    ['no model', () => applyLora(null as never), [/applyLora: model = null must have a parameters Map and an adapters Map \(a LlamaForCausalLM\)/]],
    // A [r, in] and B [out, r] for every target are counted before A is filled: was a RangeError
    // ("Invalid typed array length") from inside the Kaiming initialisation
    ['an r far too large for memory', lora({ r: 1e9 }), [/applyLora: r = 1000000000 adapters on q_proj, k_proj, v_proj, o_proj .* needs about [\d.]+ GiB, but/, /use a smaller r \(LongLoRA uses 8\) or fewer targets/]],
    ['makeLoraConfig of a string', () => makeLoraConfig('r=8' as never), [/LoRA config: options must be an object, got "r=8"/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectUntouched();
  });

  it('the adapters: twice on one model, merge and unmerge out of order, use after dispose', async () => {
    const adapters = applyLora(model);
    try {
      await expectBadInput(() => applyLora(model), [/applyLora: the model already has 8 adapter\(s\) attached; dispose\(\) them first/]);
      await expectBadInput(() => adapters.unmerge(), [/LoRA unmerge: the adapters are not merged/]);
      adapters.merge();
      await expectBadInput(() => adapters.merge(), [/LoRA merge: the adapters are already merged; unmerge\(\) first/]);
      adapters.unmerge();
    } finally {
      adapters.dispose();
    }
    await expectBadInput(() => adapters.merge(), [/LoRA merge: the adapters were disposed; apply LoRA again \(applyLora\) to get new ones/]);
    expectUntouched();
  });
});

describe('longLora', () => {
  const run = (options: unknown) => () => {
    const r = longLora(model, options as never);
    r.dispose();
    return r;
  };
  const cases = (): BadCase[] => [
    ['no options', run(undefined), [/longLora: options = undefined; pass at least \{ contextLength \}, the tokens per training sequence/]],
    ['no contextLength', run({}), [/longLora: contextLength is required: the tokens per training sequence \(official model_max_length/]],
    ['contextLength 0', run({ contextLength: 0 }), [/longLora: contextLength must be a positive integer, got 0/]],
    ['contextLength as a string', run({ contextLength: '1024' }), [/contextLength must be a positive integer, got "1024"/]],
    ['an unknown option', run({ contextLength: 256, context: 1 }), [/longLora: unknown option 'context'; valid options are 'contextLength', 'scaling'/]],
    ['a misspelt option', run({ contextLength: 256, trainables: 'lora' }), [/unknown option 'trainables' \(did you mean 'trainable'\?\)/]],
    ['an unknown scaling', run({ contextLength: 256, scaling: 'pi' }), [/scaling = "pi" must be one of 'linear', 'ntk', 'yarn' \('linear' is LongLoRA's position interpolation\)/]],
    ['an unknown trainable set', run({ contextLength: 256, trainable: 'lora+norms' }), [/trainable = "lora\+norms" must be one of 'full', 'lora'/, /'lora\+norm\+embed' is LongLoRA's LoRA\+/]],
    ["LoRA settings with trainable 'full'", run({ contextLength: 256, trainable: 'full', lora: { r: 4 } }), [/lora settings were given but trainable is 'full', which applies no LoRA/]],
    ['an unknown LoRA setting', run({ contextLength: 256, lora: { rank: 4 } }), [/LoRA config: unknown option 'rank'/]],
    ['LoRA alpha Infinity', run({ contextLength: 256, lora: { alpha: Infinity } }), [/alpha = Infinity must be a finite number > 0/]],
    ['attention as a string', run({ contextLength: 256, attention: 's2' }), [/longLora: attention = "s2" must be an attention spec such as \{ kind: 's2' \}/]],
    // with contextLength past the context, the extended model used to keep a hold on the base's
    // weights when the spec failed (see the case below)
    ['a malformed attention spec, extended', run({ contextLength: 256, attention: { kind: 's2', groupSize: 3 } }), [/LlamaConfig\.attention\.groupSize = 3 must be an even integer >= 2/]],
    ['a fractional seed', run({ contextLength: 256, seed: 1.5 }), [/longLora: seed must be an integer in \[0, 2\^32\), got 1\.5/]],
    ['no model', () => longLora(null as never, { contextLength: 256 }), [/longLora: model = null must be a LlamaForCausalLM/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectUntouched();
  });

  it("a failed longLora leaves no hold on the base's weights: base.dispose() frees them all", async () => {
    const before = tf.memory().numTensors;
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 3 });
    await expectBadInput(() => longLora(base, { contextLength: 512, attention: { kind: 's2', groupSize: 3 } }), [/groupSize = 3 must be an even integer/]);
    await expectBadInput(() => longLora(base, { contextLength: 512, lora: { r: 1e9 } }), [/use a smaller r/]);
    base.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a disposed base model, and adapters already attached', async () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 4 });
    const adapters = applyLora(base);
    await expectBadInput(() => longLora(base, { contextLength: 256 }), [/longLora: the model already has 8 adapter\(s\) attached; pass the base model/]);
    adapters.dispose();
    base.dispose();
    await expectBadInput(() => longLora(base, { contextLength: 256 }), [/longLora: the model was disposed/]);
  });

  it("LongLoraModel.batchLoss: malformed batches, labels outside the vocabulary, a length S2 cannot group", async () => {
    const r = longLora(model, { contextLength: 256 });
    try {
      const batchLoss = (batch: unknown, options?: unknown) => () => r.batchLoss(batch as never, options as never);
      await expectBadInput(batchLoss({ inputIds: [1, 2], batchSize: 1, seqLen: 2 }), [/LongLoraModel\.batchLoss: batch inputIds must be an Int32Array of batchSize x seqLen = 2 ids \(got an array of length 2\)/]);
      await expectBadInput(batchLoss({ inputIds: new Float32Array(8), batchSize: 1, seqLen: 8 }), [/must be an Int32Array .* \(got an object \(Float32Array\)\)/]);
      await expectBadInput(batchLoss({ inputIds: new Int32Array(8), batchSize: 1, seqLen: 1 }), [/batchSize 1, seqLen 1; need integers, batchSize >= 1 and seqLen >= 2/]);
      await expectBadInput(batchLoss({ inputIds: new Int32Array([1, 2]), labels: new Int32Array([1, 999]), batchSize: 1, seqLen: 2 }), [/label 999 at \[0, 1\] is outside the vocabulary: labels must be in \[0, 259\) or -100 \(ignored\)/]);
      await expectBadInput(batchLoss({ inputIds: new Int32Array([1, 300, 2, 3]), batchSize: 1, seqLen: 4 }), [/LongLoraModel\.batchLoss: token id 300 at \[0, 1\] is outside the vocabulary: token ids must be in \[0, 259\)/]);
      await expectBadInput(batchLoss({ inputIds: new Int32Array(6), batchSize: 1, seqLen: 6 }), [/sequence length 6 x groupSizeRatio 0\.25 = 1\.5 is not an even group size; use a sequence length that is a multiple of 8/]);
      await expectBadInput(batchLoss({ inputIds: new Int32Array(8), batchSize: 1, seqLen: 8 }, { train: true }), [/LongLoraModel\.batchLoss: unknown option 'train'; valid options are 'training'/]);
      await expectBadInput(() => r.activationBytes(0, 8), [/LongLoraModel\.activationBytes: batchSize must be a positive integer, got 0/]);
    } finally {
      r.dispose();
    }
    expectUntouched();
  });
});
