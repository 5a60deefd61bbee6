/**
 * Robustness, the trainer: its options (lr NaN, eps 0, steps, gradAccumSteps, unknown and missing
 * options), hooks, batch sources and the batches they give at train time, AdamW, the schedules and
 * trainable selections, and resuming. Every case: a plain Error (the documented
 * TrainingDivergedError for a diverged step) naming the value and the fix, no tensor left behind,
 * and the model still works after.
 */
import { tf } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { AdamW, Trainer, TrainingDivergedError, makeSchedule, nameContains } from '../../lib/train';
import type { BatchSource, TrainBatch } from '../../lib/train';
import { WindowBatcher, encode } from '../../lib/data';
import { useBackend } from '../helpers';
import { expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

const quiet = { progress: 'silent' as const };
let model: LlamaForCausalLM;
let data: WindowBatcher;
beforeAll(() => {
  model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  data = new WindowBatcher(encode('the quick brown fox jumps over the lazy dog. '.repeat(20)), { seqLen: 16, batchSize: 1 });
});
afterAll(() => model.dispose());

/** A trainer made and disposed (construction is where options are checked). */
const trainer = (options: unknown, source: unknown = 'data', hooks?: unknown) => () =>
  new Trainer(model, (source === 'data' ? data : source) as BatchSource, options as never, hooks as never).dispose(); // `data` exists once beforeAll ran

/** A batch source that always gives `batch`. */
const always = (batch: unknown): BatchSource => ({ next: () => batch as TrainBatch, state: () => 0, restore: () => undefined });

describe('Trainer options', () => {
  const cases = (): BadCase[] => [
    ['lr NaN', trainer({ steps: 1, lr: NaN }), [/train config: lr = NaN must be a finite number >= 0 \(LongLoRA: 2e-5\)/]],
    ['lr Infinity', trainer({ steps: 1, lr: Infinity }), [/lr = Infinity must be a finite number >= 0/]],
    ['a negative lr', trainer({ steps: 1, lr: -1e-4 }), [/lr = -0\.0001 must be a finite number >= 0/]],
    ['lr as a string', trainer({ steps: 1, lr: '2e-5' }), [/lr = "2e-5" must be a finite number >= 0/]],
    ['eps 0', trainer({ steps: 1, eps: 0 }), [/eps = 0 must be a finite number > 0 \(HF: 1e-8\): AdamW divides by sqrt\(v\) \+ eps/]],
    ['steps 0', trainer({ steps: 0 }), [/steps = 0 must be an integer >= 1 \(the number of optimizer updates\)/]],
    ['steps 1.5', trainer({ steps: 1.5 }), [/steps = 1\.5 must be an integer >= 1/]],
    ['steps as a string', trainer({ steps: '10' }), [/steps = "10" must be an integer >= 1/]],
    ['steps missing', trainer({ lr: 1e-3 }), [/train config: steps is required: the number of optimizer updates, e\.g\. \{ steps: 1000 \}/]],
    ['no options at all', trainer(undefined), [/train config: options = undefined must be an object with at least steps, e\.g\. \{ steps: 1000 \}/]],
    ['gradAccumSteps 0', trainer({ steps: 1, gradAccumSteps: 0 }), [/gradAccumSteps = 0 must be an integer >= 1 \(LongLoRA: 8\)/]],
    ['gradAccumSteps NaN', trainer({ steps: 1, gradAccumSteps: NaN }), [/gradAccumSteps = NaN must be an integer >= 1/]],
    ['an unknown option', trainer({ steps: 1, learningRate: 1e-3 }), [/train config: unknown option 'learningRate'; valid options are 'steps', 'lr'/]],
    ['a snake_case option, with the likely one', trainer({ steps: 1, warmup_steps: 3 }), [/unknown option 'warmup_steps' \(did you mean 'warmupSteps'\?\)/]],
    ['betas with 1', trainer({ steps: 1, betas: [0.9, 1] }), [/betas = \[0\.9, 1\] must be two numbers in \[0, 1\), e\.g\. \[0\.9, 0\.999\]/]],
    ['betas with NaN', trainer({ steps: 1, betas: [NaN, 0.999] }), [/betas = \[NaN, 0\.999\] must be two numbers in \[0, 1\)/]],
    ['maxGradNorm 0', trainer({ steps: 1, maxGradNorm: 0 }), [/maxGradNorm = 0 must be a finite number > 0 \(HF: 1\.0\), or null for no clipping/]],
    ['a negative weightDecay', trainer({ steps: 1, weightDecay: -1 }), [/weightDecay = -1 must be a finite number >= 0/]],
    ['an unknown schedule', trainer({ steps: 1, schedule: 'cosine_with_restarts' }), [/schedule = "cosine_with_restarts" must be one of constant, constant_with_warmup, linear, cosine/]],
    ['warmupSteps -1', trainer({ steps: 1, warmupSteps: -1 }), [/warmupSteps = -1 must be an integer >= 0 \(LongLoRA: 20\)/]],
    ['an unknown progress mode', trainer({ steps: 1, progress: 'quiet' }), [/progress = "quiet" must be one of auto, bar, lines, silent/]],
    ['an empty checkpointDir', trainer({ steps: 1, checkpointDir: '' }), [/checkpointDir = "" must be a directory path, or null for no checkpoints/]],
    ['keepCheckpoints 0', trainer({ steps: 1, keepCheckpoints: 0 }), [/keepCheckpoints = 0 must be an integer >= 1, or null to keep all/]],
    ['logEvery 0', trainer({ steps: 1, logEvery: 0 }), [/logEvery = 0 must be an integer >= 1/]],
    ['an unknown trainable set', trainer({ steps: 1, trainable: 'lora+norms' }), [/trainable = "lora\+norms" must be a trainable set \('full', 'lora'/]],
    ['a trainable name the model lacks', trainer({ steps: 1, trainable: ['nope'] }), [/trainable: 'nope' not among the model's parameters \(e\.g\. model\.embed_tokens\.weight/]],
    ["'lora' on a model without LoRA", trainer({ steps: 1, trainable: 'lora' }), [/trainable: 'lora' selects no LoRA weights .* apply LoRA first \(applyLora, or longLora/]],
    ['a predicate that selects nothing', trainer({ steps: 1, trainable: () => false }), [/trainable: the predicate selects none of the model's 21 parameters/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });
});

describe('Trainer inputs: model, batch source, hooks', () => {
  const cases = (): BadCase[] => [
    ['no model', () => new Trainer(null as never, data, { steps: 1 }), [/Trainer: model = null; pass a TrainableModel, e\.g\. longLora\(model, \{ contextLength \}\)/]],
    ['a model without parameters', () => new Trainer({ loss: () => tf.scalar(0) } as never, data, { steps: 1 }), [/model\.parameters must be a non-empty Map<string, tf\.Variable>/]],
    ['a model without loss', () => new Trainer({ parameters: model.parameters } as never, data, { steps: 1 }), [/model\.loss\(inputIds, \{ labels, training \}\) is missing/]],
    ['no batch source', trainer({ steps: 1 }, null), [/Trainer: the batch source has no next\(\) \(use lib\/data WindowBatcher or implement next\/state\/restore\)/]],
    ['an array as the batch source', trainer({ steps: 1 }, [{ inputIds: new Int32Array(4), batchSize: 1, seqLen: 4 }]), [/the batch source has no next\(\)/]],
    ['a source without state()', trainer({ steps: 1 }, { next: () => undefined, restore: () => undefined }), [/the batch source has no state\(\)/]],
    ['a misspelt hook, with the likely one', trainer({ steps: 1 }, 'data', { onstep: () => undefined }), [/Trainer hooks: unknown option 'onstep' \(did you mean 'onStep'\?\)/]],
    ['a hook that is not a function', trainer({ steps: 1 }, 'data', { onStep: 1 }), [/Trainer hooks: onStep = 1 must be a function/]],
    ['null hooks', trainer({ steps: 1 }, 'data', null), [/Trainer hooks: options must be an object, got null/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });
});

describe('Trainer: what the batch source gives, at train time', () => {
  /** train() on `source`; the trainer is disposed whatever happens. */
  const train = (source: BatchSource, options: object = {}) => async () => {
    const t = new Trainer(model, source, { steps: 1, gradAccumSteps: 1, ...quiet, ...options });
    try {
      return await t.train();
    } finally {
      t.dispose();
    }
  };
  const cases = (): BadCase[] => [
    ['ids outside the vocabulary', train(always({ inputIds: new Int32Array([1, 2, 300, 4]), batchSize: 1, seqLen: 4 })), [/loss: inputIds: token id 300 at \[0, 2\] is outside the vocabulary/]],
    ['float ids', train(always({ inputIds: new Float32Array([1, 2, 3, 4]), batchSize: 1, seqLen: 4 })), [/Trainer: batch inputIds must be an Int32Array of batchSize x seqLen = 4 ids \(got an object \(Float32Array\)\)/]],
    ['a number array of ids', train(always({ inputIds: [1, 2, 3, 4], batchSize: 1, seqLen: 4 })), [/\(got an array of length 4\)/]],
    ['ids of the wrong length', train(always({ inputIds: new Int32Array(5), batchSize: 1, seqLen: 4 })), [/batchSize x seqLen = 4 ids \(got 5\)/]],
    ['labels of the wrong length', train(always({ inputIds: new Int32Array(4), labels: new Int32Array(3), batchSize: 1, seqLen: 4 })), [/batch labels must be an Int32Array of 4 ids like inputIds \(got 3\)/]],
    ['seqLen 1', train(always({ inputIds: new Int32Array(1), batchSize: 1, seqLen: 1 })), [/the batch source gave batchSize 1, seqLen 1; need integers, batchSize >= 1 and seqLen >= 2/]],
    ['nothing', train(always(undefined)), [/Trainer: the batch source gave undefined; next\(\) must return \{ inputIds, batchSize, seqLen \}/]],
    ['a bad second micro-batch (the first one\'s gradients are freed)', (() => {
      let i = 0;
      return train({ next: () => ({ inputIds: new Int32Array([1, 2, i++ % 2 === 0 ? 3 : 300, 4]), batchSize: 1, seqLen: 4 }), state: () => 0, restore: () => undefined }, { gradAccumSteps: 2 });
    })(), [/token id 300 at \[0, 2\] is outside the vocabulary/]],
    ['a model whose loss is not a scalar', async () => {
      const t = new Trainer({ parameters: model.parameters, loss: () => tf.zeros([2]) }, always({ inputIds: new Int32Array(4), batchSize: 1, seqLen: 4 }), { steps: 1, gradAccumSteps: 1, ...quiet });
      try {
        await t.train();
      } finally {
        t.dispose();
      }
    }, [/Trainer: model\.loss returned shape \[2\]; it must return a scalar \(the mean loss\)/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });

  it('a step that diverges throws the documented TrainingDivergedError, and the weights stay as they were', async () => {
    const run = model.withConfig({});
    const before = tf.tidy(() => Array.from((run.parameters.get('model.norm.weight') as tf.Tensor).dataSync()));
    const nanLoss = { parameters: run.parameters, loss: () => tf.tidy(() => tf.mul(tf.sum(run.parameters.get('model.norm.weight') as tf.Tensor), NaN)) };
    const step = async () => {
      const t = new Trainer(nanLoss, always({ inputIds: new Int32Array(4), batchSize: 1, seqLen: 4 }), { steps: 1, gradAccumSteps: 1, ...quiet });
      try {
        await t.trainStep();
      } finally {
        t.dispose();
      }
    };
    const e = await expectBadInput(step, [/training diverged at step 1: loss NaN, gradient norm NaN; the update was not applied/, /Lower lr \(now 2e-5\), lengthen the warmup \(20\) or clip/], TrainingDivergedError);
    expect((e as TrainingDivergedError).divergence.step).toBe(1);
    expect(tf.tidy(() => Array.from((run.parameters.get('model.norm.weight') as tf.Tensor).dataSync()))).toEqual(before);
    run.dispose();
    expectModelWorks(model);
  });
});

describe('AdamW, schedules, selections, resume', () => {
  const cases = (): BadCase[] => [
    ['AdamW eps 0', () => new AdamW(model.parameters, { eps: 0 }).dispose(), [/AdamW: eps = 0 must be a finite number > 0 \(e\.g\. 1e-8\): with eps 0 a weight whose gradient has always been 0 gets the update 0 \/ 0 = NaN/]],
    ['AdamW lr NaN', () => new AdamW(model.parameters, { lr: NaN }).dispose(), [/AdamW: lr = NaN must be a finite number >= 0/]],
    ['AdamW an unknown option', () => new AdamW(model.parameters, { learningRate: 1 } as never).dispose(), [/AdamW config: unknown option 'learningRate'; valid options are 'lr', 'betas', 'eps', 'weightDecay'/]],
    ['AdamW no parameters', () => new AdamW(new Map()).dispose(), [/AdamW: no parameters to optimise; pass a non-empty Map of trainable variables/]],
    // was a TypeError (reading 'size' of null)
    ['AdamW params that are not a Map', () => new AdamW(null as never).dispose(), [/AdamW: params = null must be a Map<string, tf\.Variable> of the trainable parameters by name/]],
    ['AdamW params as a plain object', () => new AdamW({ w: model.parameters.get('model.norm.weight') } as never).dispose(), [/params = an object \(Object\) must be a Map/]],
    ['an unknown schedule', () => makeSchedule('foo' as never, 0, 10), [/lr schedule 'foo' is not one of: constant, constant_with_warmup, linear, cosine/]],
    ['a negative warmup', () => makeSchedule('linear', -1, 10), [/linearWithWarmup: warmupSteps = -1 must be an integer >= 0/]],
    ['0 total steps', () => makeSchedule('cosine', 0, 0), [/cosineWithWarmup: totalSteps = 0 must be an integer >= 1/]],
    ['a schedule asked for step -1', () => makeSchedule('constant', 0, 10)(-1), [/lr schedule: step = -1 must be an integer >= 0/]],
    ['nameContains of a string', () => nameContains('norm' as never), [/nameContains: substrings = "norm" must be a non-empty list of non-empty strings, e\.g\. \['embed', 'norm'\]/]],
    ['nameContains of an empty string', () => nameContains(['']), [/must be a non-empty list of non-empty strings/]],
    ['resume from a directory that is not a checkpoint', () => Trainer.resume('/nonexistent/checkpoint-1', model, data), [/readTrainerCheckpoint: cannot read \/nonexistent\/checkpoint-1\/trainer_state\.json .*; pass a checkpoint-<step> directory written by the Trainer/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });
});
