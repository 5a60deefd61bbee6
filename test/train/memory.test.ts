/**
 * The trainer's memory guard estimate against the measured peak of real steps (-10% to +30%: the
 * model's activations from lib/cost's calibrated memory model, plus the gradients and AdamW's
 * temporaries), for full fine-tuning and for LongLoRA (S2-Attn, LoRA+, through `longLora`, whose
 * own estimate the trainer uses), and the guard's message.
 */
import { ready } from '../../lib/backend';
import { measurePeakBytes } from '../../lib/bench';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { Trainer, activationBytes, trainStepBytes, llamaShapeOf, assertTrainStepFits, longLora } from '../../lib/train';
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
])('estimate within -10%/+30% of the measured peak of a presets.tiny step (batch %i x %i)', async (b, t) => {
  const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  const trainer = new Trainer(model, randomBatches(b, t), { steps: 3, lr: 1e-4, gradAccumSteps: 1, maxGradNorm: 1, progress: 'silent' });
  await trainer.trainStep(); // AdamW state exists from here on
  const m = await measurePeakBytes(() => trainer.trainStep());
  const sizes = [...model.parameters.values()].map((p) => p.size);
  const estimate = trainStepBytes({
    trainableElements: sizes.reduce((x, y) => x + y, 0),
    largestTrainableElements: trainer.optimizer.largestGroupElements,
    gradAccumSteps: 1,
    clipping: true,
    optimizerAllocated: true,
    activationBytes: activationBytes(model.config, b, t),
  });
  const measured = m.peakBytes - m.baselineBytes;
  // a guard should not under-estimate much, and may over-estimate a little (clipping copies, AdamW temporaries)
  expect(estimate).toBeGreaterThan(0.9 * measured);
  expect(estimate).toBeLessThan(1.3 * measured);
  trainer.dispose();
  model.dispose();
});

it.each([
  [1, 256],
  [2, 128],
])('longLora (S2-Attn, LoRA+): its estimate, as the trainer adds it up, within -10%%/+30%% of the measured peak (batch %i x %i)', async (b, t) => {
  const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  const run = longLora(base, { contextLength: 512 });
  const trainer = new Trainer(run, randomBatches(b, t), { steps: 3, lr: 1e-4, gradAccumSteps: 1, maxGradNorm: 1, progress: 'silent' });
  await trainer.trainStep();
  const m = await measurePeakBytes(() => trainer.trainStep());
  const elements = trainer.trainableNames.reduce((s, n) => s + run.parameters.get(n)!.size, 0);
  const estimate = trainStepBytes({
    trainableElements: elements,
    largestTrainableElements: trainer.optimizer.largestGroupElements,
    gradAccumSteps: 1,
    clipping: true,
    optimizerAllocated: true,
    activationBytes: run.activationBytes(b, t),
  });
  const measured = m.peakBytes - m.baselineBytes;
  expect(estimate).toBeGreaterThan(0.9 * measured);
  expect(estimate).toBeLessThan(1.3 * measured);
  trainer.dispose();
  run.dispose();
  base.dispose();
});

it('activationBytes grows with the square of the length (scores) and llamaShapeOf reads LlamaConfig', () => {
  const shape = llamaShapeOf(presets.small)!;
  expect(shape).toEqual({ vocabSize: 259, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 8 });
  const a1 = activationBytes(presets.small, 1, 2048);
  const a2 = activationBytes(presets.small, 1, 4096);
  expect(a2 / a1).toBeGreaterThan(2.5); // the N^2 score buffers take over
  expect(activationBytes(presets.small, 1, 1024, { lora: true })).toBeGreaterThan(activationBytes(presets.small, 1, 1024));
  // the adapters' own settings: a wider rank keeps more
  expect(activationBytes(presets.small, 1, 1024, { lora: { r: 64, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] } })).toBeGreaterThan(activationBytes(presets.small, 1, 1024, { lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] } }));
  expect(activationBytes(presets.small, 1, 1024, { lora: true })).toBe(activationBytes(presets.small, 1, 1024, { lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] } }));
  expect(llamaShapeOf({ hiddenSize: 4 })).toBeNull();
  expect(() => assertTrainStepFits(8 * 2 ** 30, 'a step')).toThrow(/a step needs about 8.00 GiB, but the wasm heap .* shorter seqLen or batchSize .*\(LoRA\)/);
});
