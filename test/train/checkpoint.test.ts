/**
 * Trainer checkpoints on a toy model: resume gives bit-identical losses and weights to the
 * uninterrupted run; the files are what they claim (HF names, torch optimizer names, JSON state);
 * a diverging run keeps its last good checkpoint and never writes a bad one; pruning; errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor } from '../../lib/backend';
import { Trainer, latestCheckpoint, listCheckpoints, readTrainerCheckpoint } from '../../lib/train';
import type { TrainOptions } from '../../lib/train';
import { readSafetensors } from '../../lib/io/safetensors';
import { ToyBatches, ToyLM } from './toy';
import { LlamaForCausalLM, extendContext, presets } from '../../lib/model';
import { WindowBatcher, buildTokenStream, sotuSplits } from '../../lib/data';

let root: string;
beforeAll(async () => {
  await ready({ backend: 'wasm' });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-train-ckpt-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const OPTIONS: TrainOptions = { steps: 8, lr: 0.03, warmupSteps: 3, gradAccumSteps: 2, maxGradNorm: 0.5, weightDecay: 0.01, progress: 'silent' };

describe('Trainer checkpoints and resume', () => {
  it('resume from checkpoint-4 gives exactly the losses and weights of the uninterrupted 8-step run', async () => {
    const dirA = path.join(root, 'a');
    const modelA = new ToyLM(1);
    const a = new Trainer(modelA, new ToyBatches(4, 2, 8), { ...OPTIONS, checkpointDir: dirA, checkpointEvery: 4 });
    const full = await a.train();
    expect(listCheckpoints(dirA).map((c) => c.step)).toEqual([4, 8]);
    expect(full.lastCheckpoint).toBe(path.join(dirA, 'checkpoint-8'));

    // An interrupted run: stop after step 4 (a checkpoint is written when stopping).
    const dirB = path.join(root, 'b');
    const modelB = new ToyLM(1);
    const b = new Trainer(modelB, new ToyBatches(4, 2, 8), { ...OPTIONS, checkpointDir: dirB, checkpointEvery: 100 }, { onStep: ({ step, trainer }) => (step === 4 ? trainer.stop() : undefined) });
    const first = await b.train();
    expect(first.status).toBe('stopped');
    expect(latestCheckpoint(dirB)).toBe(path.join(dirB, 'checkpoint-4'));

    // Resume into a differently initialised model and a fresh data source: everything comes from the checkpoint.
    const modelC = new ToyLM(99);
    const c = await Trainer.resume(path.join(dirB, 'checkpoint-4'), modelC, new ToyBatches(4, 2, 8), {}, { checkpointDir: dirB });
    expect(c.step).toBe(4);
    const rest = await c.train();
    expect(rest.status).toBe('completed');
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss)); // bitwise, all 8
    expect(rest.history.map((h) => h.gradNorm)).toEqual(full.history.map((h) => h.gradNorm));
    expect(rest.history.map((h) => h.lr)).toEqual(full.history.map((h) => h.lr));
    const wa = modelA.snapshot();
    for (const [name, w] of modelC.snapshot()) expect(Array.from(w)).toEqual(Array.from(wa.get(name)!));
    // Elapsed time carries over from the first session.
    expect(rest.history[4].elapsedMs).toBeGreaterThan(first.history[3].elapsedMs);

    // Negative control: resuming without the optimizer state (a fresh trainer on the checkpoint-4 weights) differs.
    const modelD = new ToyLM(99);
    const d = await Trainer.resume(path.join(dirB, 'checkpoint-4'), modelD, new ToyBatches(4, 2, 8));
    d.optimizer.loadState({ config: d.optimizer.config, params: new Map() });
    const noState = await d.train();
    expect(noState.history.slice(4).map((h) => h.loss)).not.toEqual(full.history.slice(4).map((h) => h.loss));
    [a, b, c, d].forEach((t) => t.dispose());
    [modelA, modelB, modelC, modelD].forEach((m) => m.dispose());
  });

  it('writes HF-named weights, torch-named optimizer moments and a JSON trainer state', async () => {
    const dir = path.join(root, 'files');
    const model = new ToyLM(2);
    const t = new Trainer(model, new ToyBatches(1, 1, 8), { ...OPTIONS, steps: 2, trainable: ['lm_head.weight', 'lm_head.bias'], checkpointDir: dir });
    await t.train();
    const ckpt = path.join(dir, 'checkpoint-2');
    expect(fs.readdirSync(ckpt).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
    const weights = await readSafetensors(path.join(ckpt, 'model.safetensors'));
    expect([...weights.keys()].sort()).toEqual([...model.parameters.keys()].sort());
    for (const [name, w] of weights) expect(Array.from(w.dataSync())).toEqual(Array.from(model.parameters.get(name)!.dataSync()));
    const opt = await readSafetensors(path.join(ckpt, 'optimizer.safetensors'));
    expect([...opt.keys()].sort()).toEqual(['lm_head.bias.exp_avg', 'lm_head.bias.exp_avg_sq', 'lm_head.weight.exp_avg', 'lm_head.weight.exp_avg_sq']);
    const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ format: 'longlora-ts/trainer-state', version: 1, step: 2, trainableNames: ['lm_head.weight', 'lm_head.bias'], optimizerSteps: { 'lm_head.weight': 2, 'lm_head.bias': 2 }, data: { cursor: 4 } });
    expect(state.history).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(ckpt, 'config.json'), 'utf8'))).toEqual({ vocabSize: 11, dim: 6 });
    const loaded = await readTrainerCheckpoint(ckpt);
    expect(loaded.state.step).toBe(2);
    tf.dispose([...weights.values(), ...opt.values(), ...loaded.weights.values(), ...loaded.optimizer.values()] as Tensor[]);
    t.dispose();
    model.dispose();
  });

  it('writes a Llama checkpoint config.json that transformers 4.34 accepts: the rope factor as a float, no rope_type', async () => {
    const model = extendContext(LlamaForCausalLM.create(presets.tiny, { seed: 0 }), 256, 'linear'); // factor 2
    const dir = path.join(root, 'llama-config');
    const t = new Trainer(model, new WindowBatcher(buildTokenStream(sotuSplits().train.slice(0, 1)), { seqLen: 16, batchSize: 1, seed: 0 }), { steps: 1, lr: 1e-3, warmupSteps: 0, gradAccumSteps: 1, checkpointDir: dir, checkpointEvery: 1, progress: 'silent' });
    await t.train();
    const text = fs.readFileSync(path.join(dir, 'checkpoint-1', 'config.json'), 'utf8');
    expect(text).toMatch(/"rope_scaling": \{\n\s+"type": "linear",\n\s+"factor": 2\.0\n\s+\}/);
    expect(text).not.toMatch(/rope_type/);
    t.dispose();
    model.dispose();
  });

  it('keepCheckpoints prunes the oldest; a resumed trainer may extend steps (constant schedule) but not change the optimisation', async () => {
    const dir = path.join(root, 'prune');
    const model = new ToyLM(3);
    const t = new Trainer(model, new ToyBatches(1, 1, 8), { ...OPTIONS, steps: 5, checkpointDir: dir, checkpointEvery: 1, keepCheckpoints: 2 });
    await t.train();
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([4, 5]);
    const ckpt = latestCheckpoint(dir) as string;
    await expect(Trainer.resume(ckpt, model, new ToyBatches(1, 1, 8), {}, { lr: 1 })).rejects.toThrow(/lr cannot change on resume .*only steps, checkpointDir/);
    await expect(Trainer.resume(ckpt, new ToyLM(1, { dim: 4 }), new ToyBatches(1, 1, 8))).rejects.toThrow(/the model's config differs from the checkpoint's/);
    const longer = await Trainer.resume(ckpt, model, new ToyBatches(1, 1, 8), {}, { steps: 7 });
    const r = await longer.train();
    expect(r.steps).toBe(7);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([6, 7]);
    await expect(Trainer.resume(path.join(dir, 'nope'), model, new ToyBatches(1, 1, 8))).rejects.toThrow(/cannot read .*trainer_state.json .*pass a checkpoint-<step> directory/);
    t.dispose();
    longer.dispose();
    model.dispose();
  });

  it('a NaN loss stops the run, keeps the last good checkpoint untouched and writes no bad one', async () => {
    const dir = path.join(root, 'nan');
    const model = new ToyLM(4);
    let poison = false;
    const poisoned = { parameters: model.parameters, config: model.config, loss: (ids: tf.Tensor2D, o?: object) => tf.tidy(() => (poison ? tf.mul(model.loss(ids, o), NaN) : model.loss(ids, o))) };
    const t = new Trainer(poisoned, new ToyBatches(1, 1, 8), { ...OPTIONS, steps: 10, checkpointDir: dir, checkpointEvery: 2 }, { onStep: ({ step }) => void (poison = step === 5) });
    const good = path.join(dir, 'checkpoint-4');
    const r = await t.train();
    expect(r.status).toBe('diverged');
    expect(r.steps).toBe(5);
    expect(r.divergence).toMatchObject({ step: 6, lastGoodCheckpoint: good });
    expect(r.divergence!.message).toContain(`Last good checkpoint: ${good}`);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([2, 4]);
    // The good checkpoint resumes, and its weights are finite.
    const loaded = await readTrainerCheckpoint(good);
    for (const w of loaded.weights.values()) expect(w.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([...loaded.weights.values(), ...loaded.optimizer.values()]);
    t.dispose();

    // An update that makes the weights non-finite (finite loss before it): the checkpoint is refused.
    const dir2 = path.join(root, 'inf-weights');
    const t2 = new Trainer(model, new ToyBatches(1, 1, 8), { ...OPTIONS, steps: 3, warmupSteps: 0, lr: 1e30, weightDecay: 1e10, checkpointDir: dir2, checkpointEvery: 1 });
    const r2 = await t2.train();
    expect(r2.status).toBe('diverged');
    expect(r2.divergence!.message).toMatch(/training diverged at step 1: .*the update left non-finite weights, so no checkpoint was written/);
    expect(listCheckpoints(dir2)).toEqual([]);
    await expect(t2.saveCheckpoint()).rejects.toThrow(/weights at step 1 are not finite; refusing to write them/);
    t2.dispose();
    model.dispose();
  });
});
