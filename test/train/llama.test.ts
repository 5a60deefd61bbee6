/**
 * The trainer on the real model (presets.tiny) and the real data path (SOTU -> byte tokens ->
 * WindowBatcher): resume == uninterrupted, same seed == same losses, accumulation == one big batch,
 * frozen parameters (LongLoRA's embed/norm selection), a huge lr stopping cleanly with the last good
 * checkpoint, and the checkpoint loading back as a Hugging Face checkpoint.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { sotuSplits, buildTokenStream, WindowBatcher } from '../../lib/data';
import { loadHFCheckpoint, fromHFConfig } from '../../lib/io';
import { applyLora, isTrainable } from '../../lib/lora';
import { Trainer, nameContains, listCheckpoints } from '../../lib/train';
import type { TrainOptions, TrainableModel } from '../../lib/train';

let root: string;
let tokens: Int32Array;
beforeAll(async () => {
  await ready({ backend: 'wasm' });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-train-llama-'));
  tokens = buildTokenStream(sotuSplits().train.slice(0, 4));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const SEQ = 32;
const OPTIONS: TrainOptions = { steps: 6, lr: 3e-3, warmupSteps: 2, gradAccumSteps: 2, maxGradNorm: 1, progress: 'silent' };
const batches = (seed = 7, batchSize = 1) => new WindowBatcher(tokens, { seqLen: SEQ, batchSize, seed });

describe('Trainer with LlamaForCausalLM (presets.tiny) on SOTU windows', () => {
  it('resume from a checkpoint gives bit-identical losses to the uninterrupted run', async () => {
    const full = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    const a = new Trainer(full, batches(), OPTIONS);
    const ra = await a.train();

    const dir = path.join(root, 'resume');
    const first = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    const b = new Trainer(first, batches(), { ...OPTIONS, checkpointDir: dir, checkpointEvery: 3 }, { onStep: ({ step, trainer }) => (step === 3 ? trainer.stop() : undefined) });
    await b.train();
    const other = LlamaForCausalLM.create(presets.tiny, { seed: 2 }); // different weights: the checkpoint must overwrite them
    const c = await Trainer.resume(path.join(dir, 'checkpoint-3'), other, batches());
    const rc = await c.train();
    expect(rc.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    expect(rc.history.map((h) => h.gradNorm)).toEqual(ra.history.map((h) => h.gradNorm));
    for (const [name, p] of full.parameters) expect(Array.from(other.parameters.get(name)!.dataSync())).toEqual(Array.from(p.dataSync()));
    expect(ra.history[5].loss).toBeLessThan(ra.history[0].loss);

    // The checkpoint directory is also a Hugging Face checkpoint of the model.
    const hf = await loadHFCheckpoint(path.join(dir, 'checkpoint-3'));
    const reloaded = LlamaForCausalLM.fromWeights(fromHFConfig(hf.config), hf.tensors);
    const ids = tf.tensor2d(tokens.slice(0, SEQ), [1, SEQ], 'int32');
    const l1 = reloaded.loss(ids);
    const l2 = first.loss(ids);
    expect(l1.dataSync()[0]).toBe(l2.dataSync()[0]);
    tf.dispose([ids, l1, l2, ...hf.tensors.values()]);
    [a, b, c].forEach((t) => t.dispose());
    [full, first, other, reloaded].forEach((m) => m.dispose());
  });

  it('the same seeds give the same losses; another model seed gives different ones', async () => {
    const run = async (modelSeed: number) => {
      const model = LlamaForCausalLM.create(presets.tiny, { seed: modelSeed });
      const t = new Trainer(model, batches(3), { ...OPTIONS, steps: 3 });
      const losses = (await t.train()).history.map((h) => h.loss);
      t.dispose();
      model.dispose();
      return losses;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('accumulating 2 micro-batches of 1 equals one batch of 2', async () => {
    const run = async (batchSize: number, gradAccumSteps: number) => {
      const model = LlamaForCausalLM.create(presets.tiny, { seed: 3 });
      const t = new Trainer(model, batches(9, batchSize), { ...OPTIONS, steps: 2, gradAccumSteps });
      const r = await t.train();
      const w = model.parameters.get('model.layers.1.mlp.down_proj.weight')!.dataSync().slice();
      t.dispose();
      model.dispose();
      return { r, w };
    };
    const big = await run(2, 1);
    const acc = await run(1, 2);
    acc.r.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(big.r.history[i].loss, 5);
      expect(h.gradNorm).toBeCloseTo(big.r.history[i].gradNorm, 4);
    });
    let worst = 0;
    acc.w.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - big.w[i]))));
    expect(worst).toBeLessThan(1e-5);
  });

  it("LongLoRA's embed/norm selection trains only those; the projections and lm_head stay bit-identical", async () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 4 });
    const before = new Map([...model.parameters].map(([n, p]) => [n, p.dataSync().slice()]));
    const t = new Trainer(model, batches(), { ...OPTIONS, steps: 2, trainable: nameContains(['embed', 'norm']) });
    expect(t.trainableNames).toEqual(['model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.post_attention_layernorm.weight', 'model.layers.1.input_layernorm.weight', 'model.layers.1.post_attention_layernorm.weight', 'model.norm.weight']);
    await t.train();
    for (const [name, p] of model.parameters) {
      const same = Array.from(p.dataSync()).every((x, i) => x === before.get(name)![i]);
      expect([name, same]).toEqual([name, !t.trainableNames.includes(name)]);
    }
    t.dispose();
    model.dispose();
  });

  it('LoRA+ (LoRA on q/k/v/o, embed and norms trainable): base projections frozen, B leaves zero, resume exact', async () => {
    const setup = (seed: number) => {
      const model = LlamaForCausalLM.create(presets.tiny, { seed: 8 });
      const lora = applyLora(model, { r: 4, alpha: 8 }, { seed });
      const trainable: TrainableModel = { parameters: lora.allParameters(), loss: (ids, o) => model.loss(ids, o), config: model.config };
      return { model, lora, trainable };
    };
    const options = { ...OPTIONS, steps: 4, trainable: (n: string) => isTrainable('lora+norm+embed', n) };
    const a = setup(1);
    const q0 = a.model.parameters.get('model.layers.0.self_attn.q_proj.weight')!.dataSync().slice();
    const ta = new Trainer(a.trainable, batches(), options);
    expect(ta.trainableNames.filter((n) => n.includes('lora_')).length).toBe(2 * 4 * presets.tiny.numHiddenLayers);
    const ra = await ta.train();
    expect(Array.from(a.model.parameters.get('model.layers.0.self_attn.q_proj.weight')!.dataSync())).toEqual(Array.from(q0));
    expect(Math.max(...Array.from(a.lora.parameters().get('model.layers.0.self_attn.q_proj.lora_B.weight')!.dataSync(), Math.abs))).toBeGreaterThan(0);

    const dir = path.join(root, 'lora');
    const b = setup(1);
    const tb = new Trainer(b.trainable, batches(), { ...options, checkpointDir: dir, checkpointEvery: 2 }, { onStep: ({ step, trainer }) => (step === 2 ? trainer.stop() : undefined) });
    await tb.train();
    const c = setup(2); // other LoRA init: the checkpoint restores it
    const tc = await Trainer.resume(path.join(dir, 'checkpoint-2'), c.trainable, batches());
    const rc = await tc.train();
    expect(rc.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    [ta, tb, tc].forEach((t) => t.dispose());
    [a, b, c].forEach(({ model, lora }) => {
      lora.dispose();
      model.dispose();
    });
  });

  it('a huge learning rate stops with a clear divergence and keeps the last good checkpoint', async () => {
    const dir = path.join(root, 'diverge');
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 5 });
    // Warmup 0 and no clipping: step 1 runs at 1e20 and wrecks the weights; the next loss is not finite.
    const t = new Trainer(model, batches(), { ...OPTIONS, steps: 10, lr: 1e20, warmupSteps: 0, maxGradNorm: null, gradAccumSteps: 1, checkpointDir: dir, checkpointEvery: 1 });
    const r = await t.train();
    expect(r.status).toBe('diverged');
    const d = r.divergence!;
    expect(r.steps).toBe(1);
    expect(d).toMatchObject({ step: 2, lastGoodCheckpoint: path.join(dir, 'checkpoint-1') });
    expect(d.message).toMatch(/^training diverged at step 2: loss NaN, gradient norm NaN; the update was not applied\. Last good checkpoint: .*checkpoint-1\. Lower lr/);
    expect(listCheckpoints(dir).map((s) => s.step)).toEqual([1]);
    t.dispose();
    model.dispose();
  });
});
