/**
 * The training-step memory estimate against tf.profile's measured peak of real steps (the estimate
 * must not be below it, nor wildly above), and the guard's message.
 */
import { tf, ready } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { Trainer, activationBytes, trainStepBytes, llamaShapeOf, assertTrainStepFits } from '../../lib/train';
import type { BatchSource } from '../../lib/train';

beforeAll(async () => {
  await ready({ backend: 'wasm' });
});

const randomBatches = (batchSize: number, seqLen: number): BatchSource => {
  let s = 1;
  return {
    next: () => ({ inputIds: Int32Array.from({ length: batchSize * seqLen }, () => (s = (s * 48271) % 2147483647) % 259), batchSize, seqLen }),
    state: () => s,
    restore: (x: number) => void (s = x),
  };
};

it.each([
  [2, 64],
  [1, 128],
])('estimate >= measured peak of a presets.tiny step (batch %i x %i), and within 1.5x', async (b, t) => {
  const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  const trainer = new Trainer(model, randomBatches(b, t), { steps: 3, lr: 1e-4, gradAccumSteps: 1, maxGradNorm: 1, progress: 'silent' });
  await trainer.trainStep(); // AdamW state exists from here on
  const live = tf.memory().numBytes;
  const profile = await tf.profile(async () => {
    await trainer.trainStep();
  });
  const sizes = [...model.parameters.values()].map((p) => p.size);
  const estimate = trainStepBytes({
    trainableElements: sizes.reduce((x, y) => x + y, 0),
    largestTrainableElements: Math.max(...sizes),
    gradAccumSteps: 1,
    clipping: true,
    optimizerAllocated: true,
    activationBytes: activationBytes(llamaShapeOf(model.config)!, b, t),
  });
  const measured = profile.peakBytes - live;
  expect(estimate).toBeGreaterThanOrEqual(measured);
  expect(estimate).toBeLessThan(1.5 * measured);
  trainer.dispose();
  model.dispose();
});

it('activationBytes grows with the square of the length (scores) and llamaShapeOf reads LlamaConfig', () => {
  const shape = llamaShapeOf(presets.small)!;
  expect(shape).toEqual({ vocabSize: 259, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 8 });
  const a1 = activationBytes(shape, 1, 1024);
  const a2 = activationBytes(shape, 1, 2048);
  expect(a2 / a1).toBeGreaterThan(3); // dominated by 11 score buffers x 8 heads x 4 layers x T^2
  expect(llamaShapeOf({ hiddenSize: 4 })).toBeNull();
  expect(() => assertTrainStepFits(8 * 2 ** 30, 'a step')).toThrow(/a step needs about 8.00 GiB, but the wasm heap .* shorter seqLen or batchSize .*\(LoRA\)/);
});
