/**
 * No tensor leaks across a long run of the real model: `tf.memory().numTensors` after update 10
 * equals the count after update 100 (presets.tiny on SOTU windows, clipping on,
 * evaluation every 10 updates: the first, at step 10, fills the model's per-shape caches before the count), and disposing the trainer frees exactly its AdamW state.
 */
import { tf, ready } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { sotuSplits, buildTokenStream, WindowBatcher } from '../../lib/data';
import { Trainer } from '../../lib/train';
import { numericBackends } from '../helpers';

describe.each(numericBackends())('on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('numTensors after step 10 equals numTensors after step 100 (presets.tiny)', async () => {
    const tokens = buildTokenStream(sotuSplits().train.slice(0, 2));
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const heldOut = tf.tensor2d(tokens.slice(0, 16), [1, 16], 'int32');
    const counts = new Map<number, number>();
    const trainer = new Trainer(model, new WindowBatcher(tokens, { seqLen: 8, batchSize: 1, seed: 0 }), { steps: 100, lr: 1e-3, warmupSteps: 5, gradAccumSteps: 1, maxGradNorm: 1, evalEvery: 10, progress: 'silent' }, {
      evaluate: (m) => tf.tidy(() => m.loss(heldOut).dataSync()[0]),
      onStep: ({ step }) => {
        if (step === 10 || step === 100) counts.set(step, tf.memory().numTensors);
      },
    });
    const r = await trainer.train();
    expect(r.status).toBe('completed');
    expect(counts.get(100)).toBe(counts.get(10));
    const groups = trainer.optimizer.groupCount;
    trainer.dispose();
    expect(tf.memory().numTensors).toBe((counts.get(100) as number) - 2 * groups); // m and v, flat per update group
    model.dispose();
    heldOut.dispose();
  });
});
