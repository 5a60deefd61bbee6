/**
 * The training loop on toy models: the whole update (accumulation mean, clipping, schedule,
 * AdamW) against a float64 reference; accumulation = one big batch; frozen parameters untouched;
 * same seeds = same losses; callbacks, evaluation, stop(); progress output; divergence; memory
 * guard; leaks; bad inputs.
 */
import { tf, ready, matmul } from '../../lib/backend';
import type { Tensor, Tensor2D, Variable } from '../../lib/backend';
import { Trainer, TrainingDivergedError, nameContains, LONGLORA_TRAIN_DEFAULTS } from '../../lib/train';
import type { BatchSource, StepInfo, TrainBatch, TrainableModel } from '../../lib/train';
import { ToyBatches, ToyLM } from './toy';
import { numericBackendsAndCpu } from '../helpers';

const quiet = { progress: 'silent' as const };

/**
 * Linear regression as a "language model": features = the first T-1 ids / 10, target = the last
 * id / 10; loss = mean over rows of (x.w + c - y)^2. Its gradient is known in closed form.
 */
class LinearModel implements TrainableModel {
  readonly parameters: Map<string, Variable>;
  constructor(readonly dim: number) {
    this.parameters = new Map<string, Variable>([
      ['w', tf.tidy(() => tf.variable(tf.tensor1d(Array.from({ length: dim }, (_, i) => 0.1 * (i + 1)))))],
      ['c', tf.tidy(() => tf.variable(tf.scalar(0.5)))],
    ]);
  }
  loss(inputIds: Tensor2D): Tensor {
    return tf.tidy(() => {
      const [b, t] = inputIds.shape;
      const x = tf.div(tf.cast(tf.slice(inputIds, [0, 0], [b, t - 1]), 'float32'), 10);
      const y = tf.div(tf.cast(tf.slice(inputIds, [0, t - 1], [b, 1]), 'float32'), 10);
      const pred = tf.add(matmul(x, tf.reshape(this.parameters.get('w') as Variable, [t - 1, 1])), this.parameters.get('c') as Variable);
      return tf.mean(tf.square(tf.sub(pred, y)));
    });
  }
}

/** Fixed rows cycled in order. */
class RowBatches implements BatchSource {
  private i = 0;
  constructor(private rows: number[][], private batchSize: number) {}
  next(): TrainBatch {
    const seqLen = this.rows[0].length;
    const ids = new Int32Array(this.batchSize * seqLen);
    for (let r = 0; r < this.batchSize; r++) ids.set(this.rows[this.i++ % this.rows.length], r * seqLen);
    return { inputIds: ids, batchSize: this.batchSize, seqLen };
  }
  state(): number {
    return this.i;
  }
  restore(s: number): void {
    this.i = s;
  }
}

/** The whole update in float64: accumulate, mean, clip (torch), HF constant_with_warmup, torch AdamW. */
function referenceRun(rows: number[][], microBatch: number, accum: number, steps: number, cfg: { lr: number; warmup: number; clip: number; wd: number; betas: [number, number]; eps: number }) {
  const dim = rows[0].length - 1;
  const p = [...Array.from({ length: dim }, (_, i) => 0.1 * (i + 1)), 0.5]; // w..., c
  const m = new Array(p.length).fill(0);
  const v = new Array(p.length).fill(0);
  let next = 0;
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    const g = new Array(p.length).fill(0);
    let loss = 0;
    for (let k = 0; k < accum; k++) {
      const gk = new Array(p.length).fill(0);
      let lk = 0;
      for (let r = 0; r < microBatch; r++) {
        const row = rows[next++ % rows.length];
        const x = row.slice(0, dim).map((q) => q / 10);
        const y = row[dim] / 10;
        const err = x.reduce((acc, xi, i) => acc + xi * p[i], 0) + p[dim] - y;
        lk += err * err;
        x.forEach((xi, i) => (gk[i] += (2 * err * xi) / microBatch));
        gk[dim] += (2 * err) / microBatch;
      }
      loss += lk / microBatch / accum;
      gk.forEach((x, i) => (g[i] += x / accum));
    }
    const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
    const coef = Math.min(1, cfg.clip / (norm + 1e-6));
    const lr = cfg.lr * (s < cfg.warmup ? s / Math.max(1, cfg.warmup) : 1);
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * coef;
      p[i] *= 1 - lr * cfg.wd;
      m[i] = cfg.betas[0] * m[i] + (1 - cfg.betas[0]) * gi;
      v[i] = cfg.betas[1] * v[i] + (1 - cfg.betas[1]) * gi * gi;
      p[i] -= (lr / (1 - cfg.betas[0] ** t)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - cfg.betas[1] ** t) + cfg.eps));
    }
    losses.push(loss);
    norms.push(norm);
  }
  return { p, losses, norms };
}

const ROWS = [
  [3, 1, 4, 1, 5],
  [9, 2, 6, 5, 3],
  [5, 8, 9, 7, 9],
  [3, 2, 3, 8, 4],
  [6, 2, 6, 4, 3],
  [3, 8, 3, 2, 7],
];

describe.each(numericBackendsAndCpu())('Trainer on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('one update = accumulate, mean, clip, schedule, AdamW: matches a float64 reference over 5 steps', async () => {
    const cfg = { lr: 0.05, warmup: 2, clip: 0.3, wd: 0.01, betas: [0.9, 0.95] as [number, number], eps: 1e-8 };
    const model = new LinearModel(4);
    const trainer = new Trainer(model, new RowBatches(ROWS, 2), {
      steps: 5, lr: cfg.lr, warmupSteps: cfg.warmup, maxGradNorm: cfg.clip, weightDecay: cfg.wd, betas: cfg.betas, gradAccumSteps: 2, ...quiet,
    });
    const result = await trainer.train();
    const ref = referenceRun(ROWS, 2, 2, 5, cfg);
    expect(result.status).toBe('completed');
    result.history.forEach((r, i) => {
      expect(r.loss).toBeCloseTo(ref.losses[i], 5);
      expect(r.gradNorm).toBeCloseTo(ref.norms[i], 5);
      expect(r.lr).toBe(cfg.lr * Math.min(1, i / 2));
      expect(r.tokens).toBe(2 * 2 * 5);
    });
    expect(ref.norms.some((n) => n > cfg.clip)).toBe(true); // clipping was exercised
    const w = Array.from((model.parameters.get('w') as Variable).dataSync());
    w.forEach((x, i) => expect(x).toBeCloseTo(ref.p[i], 5));
    expect((model.parameters.get('c') as Variable).dataSync()[0]).toBeCloseTo(ref.p[4], 5);
    trainer.dispose();
  });

  it('gradient accumulation (2 micro-batches of 1) equals one batch of 2 (toy LM, 4 steps)', async () => {
    const run = async (batchSize: number, accum: number) => {
      const model = new ToyLM(1);
      const trainer = new Trainer(model, new ToyBatches(3, batchSize, 8), { steps: 4, lr: 0.05, warmupSteps: 0, gradAccumSteps: accum, maxGradNorm: 1, ...quiet });
      const r = await trainer.train();
      const out = { losses: r.history.map((h) => h.loss), norms: r.history.map((h) => h.gradNorm), weights: model.snapshot() };
      trainer.dispose();
      model.dispose();
      return out;
    };
    const big = await run(2, 1);
    const accumulated = await run(1, 2);
    big.losses.forEach((l, i) => expect(accumulated.losses[i]).toBeCloseTo(l, 5));
    big.norms.forEach((n, i) => expect(accumulated.norms[i]).toBeCloseTo(n, 5));
    for (const [name, w] of big.weights) {
      const a = accumulated.weights.get(name) as Float32Array;
      w.forEach((x, i) => expect(a[i]).toBeCloseTo(x, 5));
    }
    // Negative control: without averaging (accum of a sum) the first step's norm would double.
    const single = await run(1, 1);
    expect(Math.abs(single.norms[0] - big.norms[0])).toBeGreaterThan(1e-3);
  });

  it('frozen parameters stay bit-identical (even with weight decay); trainable ones move', async () => {
    const model = new ToyLM(2);
    const before = model.snapshot();
    const trainer = new Trainer(model, new ToyBatches(1, 2, 8), { steps: 3, lr: 0.05, warmupSteps: 0, weightDecay: 0.1, gradAccumSteps: 1, trainable: nameContains(['embed', 'norm']), ...quiet });
    expect(trainer.trainableNames).toEqual(['model.embed_tokens.weight', 'model.norm.weight']);
    await trainer.train();
    // The backward pass computed gradients for the trainable parameters only (3 steps each).
    expect(Object.fromEntries(model.gradCalls)).toEqual({ 'model.embed_tokens.weight': 3, 'model.norm.weight': 3 });
    const after = model.snapshot();
    for (const frozen of ['lm_head.weight', 'lm_head.bias']) expect(Array.from(after.get(frozen)!)).toEqual(Array.from(before.get(frozen)!));
    for (const moved of trainer.trainableNames) expect(Array.from(after.get(moved)!)).not.toEqual(Array.from(before.get(moved)!));
    // An explicit list works the same way and keeps model order.
    const t2 = new Trainer(model, new ToyBatches(1, 2, 8), { steps: 1, trainable: ['lm_head.bias', 'model.norm.weight'], ...quiet });
    expect(t2.trainableNames).toEqual(['model.norm.weight', 'lm_head.bias']);
    t2.dispose();
    trainer.dispose();
    model.dispose();
  });

  it('the same seeds give bit-identical losses; another data seed gives different ones', async () => {
    const run = async (dataSeed: number) => {
      const model = new ToyLM(5);
      const trainer = new Trainer(model, new ToyBatches(dataSeed, 2, 8), { steps: 6, lr: 0.02, warmupSteps: 2, gradAccumSteps: 2, ...quiet });
      const losses = (await trainer.train()).history.map((h) => h.loss);
      trainer.dispose();
      model.dispose();
      return losses;
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a[a.length - 1]).toBeLessThan(a[0]); // it learns
  });

  it('callbacks are awaited in order, evaluate runs every evalEvery and at the end, stop() ends early', async () => {
    const model = new ToyLM(3);
    const events: string[] = [];
    const trainer = new Trainer(model, new ToyBatches(2, 1, 8), { steps: 5, lr: 0.01, evalEvery: 2, gradAccumSteps: 1, ...quiet }, {
      onStep: async (info: StepInfo) => {
        await new Promise((r) => setTimeout(r, 5));
        events.push(`step ${info.step}/${info.totalSteps}`);
        expect(info.trainer).toBe(trainer);
        expect(info.tokensPerSec).toBeGreaterThan(0);
        expect(info.elapsedMs).toBeGreaterThanOrEqual(info.stepMs);
        expect(info.etaMs).toBeGreaterThanOrEqual(0);
      },
      evaluate: async () => {
        events.push('eval');
        return 1.5;
      },
      onEval: ({ step, evalLoss }) => {
        events.push(`onEval ${step} ${evalLoss}`);
      },
    });
    const r = await trainer.train();
    expect(events).toEqual(['step 1/5', 'eval', 'onEval 2 1.5', 'step 2/5', 'step 3/5', 'eval', 'onEval 4 1.5', 'step 4/5', 'eval', 'onEval 5 1.5', 'step 5/5']);
    expect(r.evalLoss).toBe(1.5);
    expect(r.history[1].evalLoss).toBe(1.5);
    trainer.dispose();

    const t2 = new Trainer(model, new ToyBatches(2, 1, 8), { steps: 10, ...quiet }, { onStep: ({ step, trainer: t }) => (step === 3 ? t.stop() : undefined) });
    const stopped = await t2.train();
    expect(stopped.status).toBe('stopped');
    expect(stopped.steps).toBe(3);
    t2.dispose();
    model.dispose();
  });

  it('writes plain progress lines (first, every logEvery, last) and a redrawn bar', async () => {
    const model = new ToyLM(4);
    let text = '';
    const write = (s: string) => (text += s);
    const t1 = new Trainer(model, new ToyBatches(2, 1, 8), { steps: 5, logEvery: 2, gradAccumSteps: 1, progress: 'lines' }, { write });
    await t1.train();
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^training 149 of 149 parameters \(100.00%\) for 5 steps$/);
    expect(lines.slice(1).map((l) => l.split('  ')[0])).toEqual(['step 1/5', 'step 2/5', 'step 4/5', 'step 5/5']);
    expect(lines[1]).toMatch(/^step 1\/5 {2}loss \d+\.\d{4} {2}lr 0\.00e\+0 {2}\|g\| [\d.e+-]+ {2}\d+ tok\/s {2}\d+:\d\d<\d+:\d\d$/);
    t1.dispose();
    text = '';
    const t2 = new Trainer(model, new ToyBatches(2, 1, 8), { steps: 3, gradAccumSteps: 1, progress: 'bar' }, { write });
    await t2.train();
    expect(text).toMatch(/\rstep 3\/3 \[#{24}\] 100% {2}loss/);
    expect(text.endsWith('\n')).toBe(true);
    t2.dispose();
    model.dispose();
  });

  it('a NaN/Inf loss stops the run before the update, naming the step; trainStep() throws', async () => {
    const model = new ToyLM(6);
    // lr 1e25 overflows float32 products within a few steps.
    const trainer = new Trainer(model, new ToyBatches(2, 2, 8), { steps: 50, lr: 1e25, warmupSteps: 0, maxGradNorm: null, gradAccumSteps: 1, ...quiet });
    const r = await trainer.train();
    expect(r.status).toBe('diverged');
    const d = r.divergence!;
    expect(d.step).toBe(r.steps + 1);
    expect(Number.isFinite(d.loss) && Number.isFinite(d.gradNorm)).toBe(false);
    expect(d.lastGoodCheckpoint).toBeNull();
    expect(d.message).toMatch(new RegExp(`training diverged at step ${d.step}: loss .*the update was not applied\\. Last good checkpoint: none .*Lower lr \\(now 1e\\+25\\)`));
    const weights = model.snapshot();
    await expect(trainer.trainStep()).rejects.toThrow(TrainingDivergedError);
    // The refused update left the weights alone.
    for (const [n, w] of model.snapshot()) expect(Array.from(w)).toEqual(Array.from(weights.get(n)!));
    trainer.dispose();
    model.dispose();
  });

  it('leaks no tensors per step: numTensors after step 10 equals after step 100', async () => {
    const model = new ToyLM(7);
    const counts: Record<number, number> = {};
    const trainer = new Trainer(model, new ToyBatches(2, 2, 8), { steps: 100, lr: 1e-3, gradAccumSteps: 2, ...quiet }, {
      onStep: ({ step }) => {
        if (step === 10 || step === 100) counts[step] = tf.memory().numTensors;
      },
    });
    await trainer.train();
    expect(counts[10]).toBeGreaterThan(0);
    expect(counts[100]).toBe(counts[10]);
    const groups = trainer.optimizer.groupCount;
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(counts[100] - 2 * groups); // only m and v (flat per group) were the trainer's
    model.dispose();
  });
});

describe('Trainer input checks', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it('defaults are the LongLoRA recipe', () => {
    expect(LONGLORA_TRAIN_DEFAULTS).toMatchObject({ lr: 2e-5, schedule: 'constant_with_warmup', warmupSteps: 20, weightDecay: 0, gradAccumSteps: 8, maxGradNorm: 1, betas: [0.9, 0.999] });
  });

  it('rejects bad configs, selections, models, batches and memory-busting steps with clear messages', async () => {
    const model = new ToyLM(8);
    const data = new ToyBatches(1, 1, 8);
    const make = (o: object) => () => new Trainer(model, data, { steps: 1, ...quiet, ...o } as never);
    const before = tf.memory().numTensors;
    expect(make({ stepz: 3 })).toThrow(/train config: unknown option 'stepz' \(did you mean 'steps'\?\); valid options are 'steps', 'lr'/);
    expect(make({ steps: 0 })).toThrow(/steps = 0 must be an integer >= 1/);
    expect(make({ lr: -1 })).toThrow(/lr = -1 must be a finite number >= 0/);
    expect(make({ lr: NaN })).toThrow(/train config: lr = NaN must be a finite number >= 0/); // not "lr = null"
    expect(make({ eps: 0 })).toThrow(/train config: eps = 0 must be a finite number > 0 \(HF: 1e-8\): AdamW divides by sqrt\(v\) \+ eps/);
    expect(make({ betas: [0.9] })).toThrow(/train config: betas = \[0.9\] must be two numbers in \[0, 1\)/);
    expect(make({ weightDecay: -0.1 })).toThrow(/train config: weightDecay = -0.1 must be a finite number >= 0/);
    expect(make({ trainable: 'lora+norm' })).toThrow(/trainable: 'lora\+norm' selects no LoRA weights among the model's 4 parameters .*apply LoRA first/);
    expect(make({ trainable: 'lora+' })).toThrow(/train config: trainable = "lora\+" must be a trainable set \('full', 'lora'/);
    // a missing required option is named, not a TypeError
    expect(() => new Trainer(model, data, undefined as never)).toThrow(/train config: options = undefined must be an object with at least steps, e.g. \{ steps: 1000 \}/);
    expect(() => new Trainer(model, data, {} as never)).toThrow(/train config: steps is required: the number of optimizer updates/);
    expect(() => new Trainer(undefined as never, data, { steps: 1 })).toThrow(/Trainer: model = undefined; pass a TrainableModel, e.g. longLora/);
    expect(() => new Trainer(model, undefined as never, { steps: 1 })).toThrow(/the batch source has no next\(\)/);
    expect(() => new Trainer(model, data, { steps: 1 }, { onstep: () => undefined } as never)).toThrow(/Trainer hooks: unknown option 'onstep' \(did you mean 'onStep'\?\)/);
    expect(() => new Trainer(model, data, { steps: 1 }, { evaluate: 3 } as never)).toThrow(/Trainer hooks: evaluate = 3 must be a function/);
    const named = new Trainer(model, data, { steps: 1, trainable: 'full', ...quiet });
    expect(named.trainableNames).toEqual([...model.parameters.keys()]);
    named.dispose();
    // A model may propose its trainable names (longLora does); an explicit selection wins.
    const proposing: TrainableModel = { parameters: model.parameters, loss: (ids, o) => model.loss(ids, o), trainableNames: ['lm_head.bias', 'model.norm.weight'] };
    const own = new Trainer(proposing, data, { steps: 1, ...quiet });
    expect(own.trainableNames).toEqual(['model.norm.weight', 'lm_head.bias']);
    const all = new Trainer(proposing, data, { steps: 1, trainable: null, ...quiet });
    expect(all.trainableNames).toHaveLength(4);
    [own, all].forEach((t) => t.dispose());
    const wrong: TrainableModel = { ...proposing, trainableNames: ['nope'] };
    expect(() => new Trainer(wrong, data, { steps: 1, ...quiet })).toThrow(/trainable: 'nope' not among the model's parameters/);
    // every refusal above is a plain Error with a message, never a TypeError from deeper down, and allocates nothing
    const caught = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    for (const f of [() => new Trainer(model, data, undefined as never), () => new Trainer(model, data, {} as never), () => new Trainer(undefined as never, data, { steps: 1 }), () => new Trainer(model, undefined as never, { steps: 1 })]) {
      const e = caught(f);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(TypeError);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(make({ schedule: 'step' })).toThrow(/schedule = "step" must be one of constant, constant_with_warmup, linear, cosine/);
    expect(make({ gradAccumSteps: 0 })).toThrow(/gradAccumSteps = 0 must be an integer >= 1/);
    expect(make({ maxGradNorm: 0 })).toThrow(/maxGradNorm = 0 must be a finite number > 0 .*or null/);
    expect(make({ progress: 'fancy' })).toThrow(/progress = "fancy" must be one of auto, bar, lines, silent/);
    expect(make({ trainable: ['lm_head.weight', 'nope'] })).toThrow(/trainable: 'nope' not among the model's parameters/);
    expect(make({ trainable: () => false })).toThrow(/the predicate selects none of the model's 4 parameters/);
    expect(() => nameContains([])).toThrow(/non-empty list/);
    const frozen = new ToyLM(9);
    const v = frozen.parameters.get('lm_head.bias') as Variable;
    v.trainable = false;
    expect(() => new Trainer(frozen, data, { steps: 1, ...quiet })).toThrow(/lm_head.bias selected as trainable but created with trainable=false/);
    frozen.dispose();
    expect(() => new Trainer(model, {} as never, { steps: 1 })).toThrow(/the batch source has no next\(\)/);

    const vectorLoss: TrainableModel = { parameters: model.parameters, loss: (ids) => tf.sum(tf.cast(ids, 'float32'), 1) };
    const t1 = new Trainer(vectorLoss, data, { steps: 1, gradAccumSteps: 1, ...quiet });
    await expect(t1.train()).rejects.toThrow(/model.loss returned shape \[1\]; it must return a scalar/);
    t1.dispose();
    // A model error in the second micro-batch leaves no partial gradient sums behind.
    let calls = 0;
    const flaky: TrainableModel = { parameters: model.parameters, loss: (ids, o) => {
      if (++calls === 2) throw new Error('model failed');
      return model.loss(ids, o);
    } };
    const t3 = new Trainer(flaky, data, { steps: 1, gradAccumSteps: 2, ...quiet });
    const live = tf.memory().numTensors;
    await expect(t3.train()).rejects.toThrow(/model failed/);
    expect(tf.memory().numTensors).toBe(live);
    t3.dispose();
    const badData: BatchSource = { next: () => ({ inputIds: new Int32Array(5), batchSize: 1, seqLen: 8 }), state: () => 0, restore: () => undefined };
    const t2 = new Trainer(model, badData, { steps: 1, gradAccumSteps: 1, ...quiet });
    await expect(t2.train()).rejects.toThrow(/inputIds must be an Int32Array of batchSize x seqLen = 8 ids \(got 5\)/);
    t2.dispose();
    model.dispose();
  });
});

describe('Trainer memory guard (wasm heap)', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  it("refuses a step whose estimate exceeds the 4 GiB heap before computing anything, from the model's own estimate", async () => {
    const model = new ToyLM(10);
    const mustNotRun = () => {
      throw new Error('must not run');
    };
    // The model says what a batch keeps alive; the trainer adds gradients and AdamW's state.
    const seen: number[][] = [];
    const big: TrainableModel = {
      parameters: model.parameters,
      loss: mustNotRun,
      activationBytes: (b, t) => {
        seen.push([b, t]);
        return 6 * 2 ** 30;
      },
    };
    const trainer = new Trainer(big, new ToyBatches(1, 1, 4096, { windows: 2 }), { steps: 1, gradAccumSteps: 1, ...quiet });
    await expect(trainer.train()).rejects.toThrow(/a training step \(batch 1 x 4096 tokens, 4 trainable tensors\) needs about 6\.00 GiB, but the wasm heap .* use a shorter seqLen or batchSize/);
    expect(seen).toEqual([[1, 4096]]);
    trainer.dispose();

    // The trainer reads no config to estimate: a model claiming 7B shapes without an estimate is checked on its parameters only.
    const claims: TrainableModel = {
      parameters: model.parameters,
      loss: mustNotRun,
      config: { vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32, numAttentionHeads: 32, numKeyValueHeads: 32 },
    };
    const t2 = new Trainer(claims, new ToyBatches(1, 1, 4096, { windows: 2 }), { steps: 1, gradAccumSteps: 1, ...quiet });
    await expect(t2.train()).rejects.toThrow(/^must not run$/);
    t2.dispose();

    const broken: TrainableModel = { parameters: model.parameters, loss: mustNotRun, activationBytes: () => NaN };
    const t3 = new Trainer(broken, new ToyBatches(1, 1, 8), { steps: 1, gradAccumSteps: 1, ...quiet });
    await expect(t3.train()).rejects.toThrow(/model.activationBytes\(1, 8\) returned NaN; it must return a finite number of bytes >= 0/);
    t3.dispose();
    model.dispose();
  });
});
