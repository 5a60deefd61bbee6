/**
 * Golden test: our LlamaForCausalLM against Hugging Face transformers 4.34.0's own LlamaForCausalLM
 * (the version LongLoRA pins), on a tiny random model with grouped-query attention, from the
 * committed fixture (scripts/fixtures/make_hf_tiny_llama.py): logits within 1e-4, loss, the BF16
 * sharded checkpoint, and linear position interpolation (rope_scaling factor 2).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D } from '../../lib/backend';
import { fromHFConfig, loadHFCheckpoint, readSafetensors } from '../../lib/io';
import { LlamaForCausalLM } from '../../lib/model';
import { expectTensorsClose, numericBackendsAndCpu } from '../helpers';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'hf-tiny-llama');

/** Weights from `weightsDir`, config.json from `configDir` (the linear-rope fixture reuses the f32 weights). */
async function loadModel(weightsDir: string, configDir = weightsDir): Promise<LlamaForCausalLM> {
  const { tensors } = await loadHFCheckpoint(path.join(FIXTURE, weightsDir));
  const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, configDir, 'config.json'), 'utf8'));
  const model = LlamaForCausalLM.fromWeights(fromHFConfig(config), tensors);
  tf.dispose([...tensors.values()]);
  return model;
}

describe.each(numericBackendsAndCpu())('reproduces Hugging Face LlamaForCausalLM on %s', (backend) => {
  let expected: Map<string, tf.Tensor>;
  let ids: Tensor2D;

  beforeAll(async () => {
    await ready({ backend });
    expected = await readSafetensors(path.join(FIXTURE, 'expected.safetensors'));
    ids = expected.get('input_ids') as Tensor2D;
  });
  afterAll(() => tf.dispose([...expected.values()]));

  it('float32 checkpoint: logits within 1e-4, loss within 1e-5', async () => {
    const model = await loadModel('f32');
    const logits = model.forward(ids);
    expectTensorsClose(logits, expected.get('logits') as tf.Tensor, { atol: 1e-4, rtol: 0 });
    const loss = model.loss(ids);
    expect(Math.abs(loss.dataSync()[0] - (expected.get('loss') as tf.Tensor).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([logits, loss]);
    model.dispose();
  });

  it('bf16 sharded checkpoint (written by HF): the loss HF computed from the same bf16 weights', async () => {
    const model = await loadModel('bf16-sharded');
    const loss = model.loss(ids);
    expect(Math.abs(loss.dataSync()[0] - (expected.get('loss_bf16_weights') as tf.Tensor).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose(loss);
    model.dispose();
  });

  it('linear rope scaling x2: per-token NLL, last logits and loss', async () => {
    const rope = await readSafetensors(path.join(FIXTURE, 'linear-rope', 'expected.safetensors'));
    const model = await loadModel('f32', 'linear-rope');
    expect(model.config.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    const logits = model.forward(ids);
    const [b, t, v] = logits.shape;
    tf.tidy(() => {
      const logp = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [b, t - 1, v]));
      const targets = tf.slice(ids, [0, 1], [b, t - 1]);
      const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, v)), 2));
      expectTensorsClose(nll, rope.get('token_nll') as tf.Tensor, { atol: 1e-5, rtol: 0 });
      expectTensorsClose(tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, v]), [b, v]), rope.get('logits_last') as tf.Tensor, { atol: 1e-4, rtol: 0 });
    });
    const loss = model.loss(ids);
    expect(Math.abs(loss.dataSync()[0] - (rope.get('loss') as tf.Tensor).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([logits, loss, ...rope.values()]);
    model.dispose();
  });
});
