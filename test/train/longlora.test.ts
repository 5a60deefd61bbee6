/**
 * `longLora`, LongLoRA's set-up in one call, against the by-hand route it replaces (extendContext,
 * withConfig, applyLora, a trainable list): the same config, parameters and trainable names for
 * every trainable set; the same loss and gradients on presets.tiny; the same losses through the
 * Trainer; the memory estimate the trainer's guard uses; exact resume; the loss reads no labels back
 * from the device; bad options fail with their fix and leak nothing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Variable } from '../../lib/backend';
import { LlamaForCausalLM, extendContext, presets } from '../../lib/model';
import { applyLora, isTrainable, trainableParameterCounts, DEFAULT_LORA_CONFIG } from '../../lib/lora';
import type { LoraAdapters, TrainableSet } from '../../lib/lora';
import { Trainer, longLora, LongLoraModel, LONGLORA_DEFAULTS, activationBytes, trainStepBytes } from '../../lib/train';
import type { BatchSource, TrainableModel, TrainBatch, TrainOptions } from '../../lib/train';
import { numericBackendsAndCpu } from '../helpers';

const SEQ = 32;
const CONTEXT = 256; // presets.tiny has 128: linear position interpolation, factor 2

/** Windows of a seeded byte stream with a few ignored labels, resumable. */
class Batches implements BatchSource {
  private i = 0;
  constructor(private readonly seed: number, private readonly batchSize = 1, private readonly withLabels = true) {}
  next(): TrainBatch {
    const n = this.batchSize * SEQ;
    const inputIds = Int32Array.from({ length: n }, (_, k) => (Math.imul(this.seed * 7919 + this.i * 131 + k, 2654435761) >>> 0) % 259);
    const labels = Int32Array.from(inputIds, (x, k) => (k % 11 === 5 ? -100 : x));
    this.i++;
    return this.withLabels ? { inputIds, labels, batchSize: this.batchSize, seqLen: SEQ } : { inputIds, batchSize: this.batchSize, seqLen: SEQ };
  }
  state(): number {
    return this.i;
  }
  restore(s: number): void {
    this.i = s;
  }
}

/** The README's by-hand set-up, as the library supported it before `longLora`. */
function byHand(base: LlamaForCausalLM, set: TrainableSet, seed = 0): { model: LlamaForCausalLM; lora: LoraAdapters | null; trainable: TrainableModel; names: string[] } {
  const model = extendContext(base, CONTEXT, 'linear').withConfig({ attention: { kind: 's2' } });
  const lora = set === 'full' ? null : applyLora(model, {}, { seed });
  const parameters = lora === null ? model.parameters : lora.allParameters();
  const names = [...parameters.keys()].filter((n) => isTrainable(set, n));
  return { model, lora, trainable: { parameters, loss: (ids, o) => model.loss(ids, o), config: model.config }, names };
}

function disposeByHand(h: ReturnType<typeof byHand>): void {
  h.lora?.dispose();
  h.model.dispose();
}

const QUIET: TrainOptions = { steps: 3, lr: 3e-3, warmupSteps: 1, gradAccumSteps: 2, maxGradNorm: 1, progress: 'silent' };

describe.each(numericBackendsAndCpu())('longLora on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it.each(['lora', 'lora+norm', 'lora+norm+embed', 'full'] as TrainableSet[])('%s: the same config, parameters and trainable names as the by-hand set-up', (set) => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
    const start = tf.memory().numTensors;
    const hand = byHand(base, set);
    const run = longLora(base, { contextLength: CONTEXT, trainable: set });
    expect(run).toBeInstanceOf(LongLoraModel);
    expect(run.config).toEqual(hand.model.config);
    expect(run.config.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(run.config.attention).toEqual({ kind: 's2' });
    expect([...run.parameters.keys()]).toEqual([...hand.trainable.parameters.keys()]);
    expect([...run.trainableNames]).toEqual(hand.names);
    const elements = (names: readonly string[], params: Map<string, Variable>) => names.reduce((s, n) => s + (params.get(n) as Variable).size, 0);
    expect(elements(run.trainableNames, run.parameters)).toBe(trainableParameterCounts(presets.tiny, set).trainable);
    expect(elements(run.trainableNames, run.parameters)).toBe(elements(hand.names, hand.trainable.parameters));
    expect(run.lora === null).toBe(set === 'full');
    if (run.lora !== null) {
      expect(run.lora.config).toEqual(DEFAULT_LORA_CONFIG);
      // same seed, same initialisation
      for (const [name, p] of run.lora.parameters()) expect(Array.from(p.dataSync())).toEqual(Array.from((hand.trainable.parameters.get(name) as Variable).dataSync()));
    }
    expect(base.adapters.size).toBe(0); // the adapters belong to the extended model, not the base
    run.dispose();
    run.dispose(); // a second call does nothing
    disposeByHand(hand);
    expect(tf.memory().numTensors).toBe(start); // longLora + dispose leaves nothing behind
    expect(base.isDisposed).toBe(false);
    base.dispose();
  });

  it('batchLoss equals LlamaForCausalLM.loss on the same batch, value and gradients (ignored labels included)', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 2 });
    const run = longLora(base, { contextLength: CONTEXT, seed: 3 });
    // a non-zero B, so that the LoRA branch contributes to the loss and has gradients of its own
    for (const layer of run.lora.layers.values()) layer.B.assign(tf.mul(tf.onesLike(layer.B), 0.01));
    const batch = new Batches(5, 2).next();
    const vars = run.trainableNames.map((n) => run.parameters.get(n) as Variable);
    const compare = () => {
      const ours = tf.variableGrads(() => run.batchLoss(batch, { training: true }), vars);
      const ids = tf.tensor2d(batch.inputIds, [2, SEQ], 'int32') as Tensor2D;
      const labels = tf.tensor2d(batch.labels as Int32Array, [2, SEQ], 'int32') as Tensor2D;
      const theirs = tf.variableGrads(() => run.model.loss(ids, { labels, training: true }), vars);
      expect(ours.value.dataSync()[0]).toBe(theirs.value.dataSync()[0]);
      for (const v of vars) expect(Array.from(ours.grads[v.name].dataSync())).toEqual(Array.from(theirs.grads[v.name].dataSync()));
      // Labels default to the ids, as in the model's loss.
      const plain = tf.tidy(() => run.batchLoss({ inputIds: batch.inputIds, batchSize: 2, seqLen: SEQ }, { training: false }).dataSync()[0]);
      const reference = tf.tidy(() => run.loss(ids).dataSync()[0]);
      expect(plain).toBe(reference);
      tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads), ids, labels]);
    };
    compare(); // fills the model's per-length caches (RoPE tables, masks)
    const start = tf.memory().numTensors;
    compare();
    expect(tf.memory().numTensors).toBe(start);
    run.dispose();
    base.dispose();
  });

  it('a few Trainer steps give bit-identical losses through longLora and by hand (LoRA+ and full)', async () => {
    for (const set of ['lora+norm+embed', 'full'] as TrainableSet[]) {
      const a = LlamaForCausalLM.create(presets.tiny, { seed: 4 });
      const hand = byHand(a, set, 6);
      const t1 = new Trainer(hand.trainable, new Batches(9), { ...QUIET, trainable: hand.names });
      const r1 = await t1.train();
      const b = LlamaForCausalLM.create(presets.tiny, { seed: 4 });
      const run = longLora(b, { contextLength: CONTEXT, trainable: set, seed: 6 });
      const t2 = new Trainer(run, new Batches(9), QUIET); // trainable: the model's own names
      expect(t2.trainableNames).toEqual(t1.trainableNames);
      const r2 = await t2.train();
      expect(r2.history.map((h) => h.loss)).toEqual(r1.history.map((h) => h.loss));
      expect(r2.history.map((h) => h.gradNorm)).toEqual(r1.history.map((h) => h.gradNorm));
      expect(r2.history[2].loss).not.toBe(r2.history[0].loss);
      for (const [name, p] of run.parameters) expect(Array.from(p.dataSync())).toEqual(Array.from((hand.trainable.parameters.get(name) as Variable).dataSync()));
      [t1, t2].forEach((t) => t.dispose());
      disposeByHand(hand);
      run.dispose();
      [a, b].forEach((m) => m.dispose());
    }
  });
});

describe('longLora: reads, memory, resume, options (wasm)', () => {
  let root: string;
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-run-'));
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('defaults are the official recipe; no extension when the context already fits (fine-tune.py)', () => {
    expect(LONGLORA_DEFAULTS).toMatchObject({ scaling: 'linear', attention: { kind: 's2' }, trainable: 'lora+norm+embed', lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, seed: 0 });
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const inside = longLora(base, { contextLength: 128, trainable: 'full', attention: { kind: 'full' } });
    expect(inside.config.ropeScaling).toBeNull();
    inside.dispose();
    const stretched = longLora(base, { contextLength: 300, scaling: 'ntk' });
    expect(stretched.config.ropeScaling).toEqual({ type: 'dynamic', factor: 3 }); // ceil(300 / 128)
    expect(stretched.lora.config.r).toBe(8);
    stretched.dispose();
    base.dispose();
  });

  it('LoRA dropout applies in training passes of the loss only', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const run = longLora(base, { contextLength: CONTEXT, lora: { dropout: 0.5 } });
    for (const layer of run.lora.layers.values()) layer.B.assign(tf.onesLike(layer.B));
    const batch = new Batches(2).next();
    const value = (training: boolean) => tf.tidy(() => run.batchLoss(batch, { training }).dataSync()[0]);
    const evaluation = value(false);
    expect(value(false)).toBe(evaluation);
    expect(value(true)).not.toBe(evaluation);
    expect([...run.lora.layers.values()].every((l) => !l.training)).toBe(true); // back to inference mode
    run.dispose();
    base.dispose();
  });

  it('the loss reads only the ids back from the device (for their range check), never the labels', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const run = longLora(base, { contextLength: CONTEXT });
    const batch = new Batches(1).next();
    tf.tidy(() => {
      run.batchLoss(batch, { training: true }); // the first pass at a length fills the model's caches (RoPE tables, masks)
    });
    // reads of [1, SEQ] int32 tensors: the batch's ids and labels (attention's own scalar checks are not counted)
    const reads = jest.spyOn(tf.Tensor.prototype, 'dataSync');
    const batchReads = () => (reads.mock.instances as unknown as tf.Tensor[]).filter((t) => t.dtype === 'int32' && t.shape.join() === `1,${SEQ}`).length;
    try {
      tf.tidy(() => {
        run.batchLoss(batch, { training: true });
      });
      expect(batchReads()).toBe(1); // the ids, for the model's vocabulary check
      reads.mockClear();
      tf.tidy(() => {
        const inputIds = tf.tensor2d(batch.inputIds, [1, SEQ], 'int32') as Tensor2D;
        const labels = tf.tensor2d(batch.labels as Int32Array, [1, SEQ], 'int32') as Tensor2D;
        run.model.loss(inputIds, { labels, training: true });
      });
      expect(batchReads()).toBe(2); // the tensor loss reads ids and labels
    } finally {
      reads.mockRestore();
    }
    run.dispose();
    base.dispose();
  });

  it("the trainer's memory guard uses the model's own estimate (S2 and LoRA included), and only it", async () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const run = longLora(base, { contextLength: 1024, lora: { r: 4 } });
    expect(run.activationBytes(2, 512)).toBe(activationBytes(run.config, 2, 512, { lora: run.lora.config }));
    const full = longLora(base, { contextLength: 1024, trainable: 'full', attention: { kind: 'full' } });
    expect(run.activationBytes(1, 1024)).toBeLessThan(full.activationBytes(1, 1024)); // S2's N x G scores
    full.dispose();
    expect(() => run.activationBytes(0, 8)).toThrow(/batchSize must be a positive integer, got 0/);

    const seen: Array<[number, number]> = [];
    const estimate = jest.spyOn(run, 'activationBytes').mockImplementation((b: number, t: number) => {
      seen.push([b, t]);
      return 8 * 2 ** 30;
    });
    const t = new Trainer(run, new Batches(0, 2), { ...QUIET, gradAccumSteps: 1 });
    await expect(t.train()).rejects.toThrow(/a training step \(batch 2 x 32 tokens, \d+ trainable tensors\) needs about 8\.\d\d GiB, but the wasm heap/);
    expect(seen).toEqual([[2, SEQ]]);
    t.dispose();
    estimate.mockRestore();

    // What the guard adds up: the parameters-side terms plus exactly the model's estimate.
    const t2 = new Trainer(run, new Batches(0, 2), { ...QUIET, gradAccumSteps: 1 });
    const elements = t2.trainableNames.reduce((s, n) => s + (run.parameters.get(n) as Variable).size, 0);
    const expected = trainStepBytes({ trainableElements: elements, largestTrainableElements: t2.optimizer.largestGroupElements, gradAccumSteps: 1, clipping: true, optimizerAllocated: false, activationBytes: run.activationBytes(2, SEQ) });
    expect(expected).toBeGreaterThan(run.activationBytes(2, SEQ));
    await t2.trainStep(); // fits
    t2.dispose();
    run.dispose();
    base.dispose();
  });

  it('resume from a checkpoint continues with bit-identical losses (LoRA+ and S2 through longLora)', async () => {
    const make = (loraSeed: number) => {
      const base = LlamaForCausalLM.create(presets.tiny, { seed: 7 });
      return { base, run: longLora(base, { contextLength: CONTEXT, seed: loraSeed }) };
    };
    const options: TrainOptions = { ...QUIET, steps: 4 };
    const a = make(1);
    const ta = new Trainer(a.run, new Batches(3), options);
    const ra = await ta.train();

    const dir = path.join(root, 'resume');
    const b = make(1);
    const tb = new Trainer(b.run, new Batches(3), { ...options, checkpointDir: dir, checkpointEvery: 2 }, { onStep: ({ step, trainer }) => (step === 2 ? trainer.stop() : undefined) });
    await tb.train();
    const c = make(2); // another LoRA initialisation: the checkpoint restores it
    const tc = await Trainer.resume(path.join(dir, 'checkpoint-2'), c.run, new Batches(3));
    expect(tc.trainableNames).toEqual([...c.run.trainableNames]);
    const rc = await tc.train();
    expect(rc.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    for (const [name, p] of a.run.parameters) expect(Array.from((c.run.parameters.get(name) as Variable).dataSync())).toEqual(Array.from(p.dataSync()));
    // the saved config carries the position interpolation and the training attention
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint-2', 'trainer_state.json'), 'utf8'));
    expect(state.modelConfig).toMatchObject({ ropeScaling: { type: 'linear', factor: 2 }, attention: { kind: 's2' } });
    [ta, tb, tc].forEach((t) => t.dispose());
    [a, b, c].forEach(({ base, run }) => {
      run.dispose();
      base.dispose();
    });
  });

  it('rejects bad options naming the value and the fix, and leaks nothing', () => {
    const base = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const start = tf.memory().numTensors;
    const bad = (o: unknown) => () => longLora(base, o as never);
    expect(bad(undefined)).toThrow(/longLora: options = undefined; pass at least \{ contextLength \}/);
    expect(bad({})).toThrow(/longLora: contextLength is required: the tokens per training sequence/);
    for (const o of [undefined, {}, null]) {
      let error: unknown;
      try {
        bad(o)();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(TypeError);
    }
    expect(bad({ contextLength: 256, rank: 8 })).toThrow(/longLora: unknown option 'rank'; valid options are 'contextLength', 'scaling'/);
    expect(bad({ contextLenght: 256 })).toThrow(/unknown option 'contextLenght' \(did you mean 'contextLength'\?\)/);
    expect(bad({ contextLength: 0 })).toThrow(/longLora: contextLength must be a positive integer, got 0/);
    expect(bad({ contextLength: 256, scaling: 'pi' })).toThrow(/scaling = "pi" must be one of 'linear', 'ntk', 'yarn'/);
    expect(bad({ contextLength: 256, attention: 's2' })).toThrow(/attention = "s2" must be an attention spec such as \{ kind: 's2' \}/);
    expect(bad({ contextLength: 256, trainable: 'lora+' })).toThrow(/trainable = "lora\+" must be one of 'full', 'lora'/);
    expect(bad({ contextLength: 256, trainable: 'full', lora: { r: 4 } })).toThrow(/lora settings were given but trainable is 'full'/);
    expect(bad({ contextLength: 256, lora: { alpha: Infinity } })).toThrow(/LoRA config: alpha = Infinity must be a finite number > 0/);
    expect(bad({ contextLength: 256, seed: -1 })).toThrow(/longLora: seed must be an integer in \[0, 2\^32\), got -1/);
    expect(() => longLora({} as never, { contextLength: 256 })).toThrow(/longLora: model = an object \(Object\) must be a LlamaForCausalLM/);
    const adapted = applyLora(base);
    expect(bad({ contextLength: 256 })).toThrow(/the model already has 8 adapter\(s\) attached; pass the base model/);
    adapted.dispose();
    expect(tf.memory().numTensors).toBe(start);
    const run = longLora(base, { contextLength: 256 });
    run.dispose();
    expect(() => run.batchLoss(new Batches(0).next(), { training: true })).toThrow(/LongLoraModel.batchLoss: this LongLoRA model was disposed/);
    const live = longLora(base, { contextLength: 256 });
    expect(() => live.batchLoss({ inputIds: new Int32Array(SEQ).fill(300), labels: new Int32Array(SEQ), batchSize: 1, seqLen: SEQ }, { training: true })).toThrow(/forward: inputIds: token id 300 at \[0, 0\] is outside the vocabulary/);
    expect(() => live.batchLoss({ inputIds: new Int32Array(SEQ), labels: new Int32Array(SEQ).fill(-5), batchSize: 1, seqLen: SEQ }, { training: true })).toThrow(/label -5 at \[0, 1\] is outside the vocabulary/);
    expect(() => live.batchLoss({ inputIds: new Int32Array(SEQ), labels: new Int32Array(SEQ).fill(-100), batchSize: 1, seqLen: SEQ }, { training: true })).toThrow(/no position has a label to predict/);
    expect(() => live.batchLoss({ inputIds: [1, 2] as never, batchSize: 1, seqLen: 2 }, { training: true })).toThrow(/batch inputIds must be an Int32Array/);
    live.dispose();
    expect(tf.memory().numTensors).toBe(start);
    base.dispose();
    expect(() => longLora(base, { contextLength: 256 })).toThrow(/longLora: the model was disposed/);
  });
});

