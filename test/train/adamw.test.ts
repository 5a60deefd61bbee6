/**
 * AdamW against a float64 JavaScript transcription of torch's `_single_tensor_adamw` (decay first,
 * lerp'd first moment, eps after the bias-corrected sqrt(v)), over several steps with changing
 * gradients and learning rates; plus per-parameter state, state round trips, leaks and bad inputs.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor, Variable } from '../../lib/backend';
import { AdamW, ADAMW_DEFAULTS, GROUP_ELEMENTS } from '../../lib/train';
import type { AdamWConfig } from '../../lib/train';
import { expectTensorsClose, seededValues, numericBackendsAndCpu } from '../helpers';

/** torch.optim.AdamW for one parameter, float64 (amsgrad=False, maximize=False). */
class TorchAdamWRef {
  step = 0;
  m: Float64Array;
  v: Float64Array;
  constructor(public p: Float64Array, private c: AdamWConfig) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  update(g: ArrayLike<number>, lr: number): void {
    const [b1, b2] = this.c.betas;
    this.step += 1;
    for (let i = 0; i < this.p.length; i++) this.p[i] *= 1 - lr * this.c.weightDecay;
    for (let i = 0; i < this.p.length; i++) {
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
    }
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    for (let i = 0; i < this.p.length; i++) {
      const denom = Math.sqrt(this.v[i]) / Math.sqrt(bc2) + this.c.eps;
      this.p[i] -= (lr / bc1) * (this.m[i] / denom);
    }
  }
}

const CONFIGS: Array<Partial<AdamWConfig>> = [
  {}, // torch defaults: wd 1e-2
  { lr: 2e-2, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0 }, // the paper's betas, LongLoRA's wd
  { lr: 5e-2, betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1 }, // large eps and decay make both terms visible
];

describe.each(numericBackendsAndCpu())('AdamW on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it.each(CONFIGS.map((c, i) => [i, c] as const))('config %i matches torch AdamW (float64) over 6 steps', (_i, overrides) => {
    const config = { ...ADAMW_DEFAULTS, ...overrides } as AdamWConfig;
    const shapes: Record<string, number[]> = { w: [4, 3], b: [3] };
    const vars = new Map<string, Variable>();
    const refs = new Map<string, TorchAdamWRef>();
    let seed = 10;
    for (const [name, shape] of Object.entries(shapes)) {
      const init = seededValues(shape.reduce((a, b) => a * b, 1), seed++);
      vars.set(name, tf.variable(tf.tensor(init, shape)));
      refs.set(name, new TorchAdamWRef(Float64Array.from(init), config));
    }
    const opt = new AdamW(vars, overrides);
    const lrs = [0, 1, 0.5, 1, 0.25, 1].map((f) => f * config.lr); // warmup-like, including lr 0
    for (let step = 0; step < lrs.length; step++) {
      const grads = new Map<string, Tensor>();
      for (const [name, shape] of Object.entries(shapes)) {
        // Gradients of mixed size, some tiny (where eps matters), changing sign between steps.
        const g = seededValues(shape.reduce((a, b) => a * b, 1), 100 + step * 7 + name.length, step % 2 === 0 ? 1 : 1e-4);
        grads.set(name, tf.tensor(g, shape));
        refs.get(name)!.update(g, lrs[step]);
      }
      opt.step(grads, lrs[step]);
      tf.dispose([...grads.values()]);
    }
    for (const [name, v] of vars) expectTensorsClose(v, refs.get(name)!.p, { atol: 1e-6, rtol: 1e-5 });
    const state = opt.state();
    for (const [name, s] of state.params) {
      expect(s.step).toBe(lrs.length);
      expectTensorsClose(s.expAvg, refs.get(name)!.m, { atol: 1e-7, rtol: 1e-5 });
      expectTensorsClose(s.expAvgSq, refs.get(name)!.v, { atol: 1e-9, rtol: 1e-5 });
      tf.dispose([s.expAvg, s.expAvgSq]);
    }
    opt.dispose();
    tf.dispose([...vars.values()]);
  });

  it('the float64 reference itself distinguishes decoupled decay from L2 (negative control)', () => {
    // Same run with weight decay folded into the gradient (Adam + L2) must differ from AdamW.
    const config = { ...ADAMW_DEFAULTS, lr: 0.1, weightDecay: 0.5 } as AdamWConfig;
    const p0 = Float64Array.from([1, -2, 3]);
    const decoupled = new TorchAdamWRef(Float64Array.from(p0), config);
    const l2 = new TorchAdamWRef(Float64Array.from(p0), { ...config, weightDecay: 0 });
    const g = [0.1, 0.2, -0.3];
    decoupled.update(g, 0.1);
    l2.update(g.map((x, i) => x + 0.5 * p0[i]), 0.1);
    expect(() => expectTensorsClose(decoupled.p, l2.p, { atol: 1e-4, rtol: 0 })).toThrow(/differ/);
  });

  it('skips parameters without a gradient (torch: grad is None) and keeps per-parameter steps', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3, 4]));
    const opt = new AdamW(new Map([['a', a], ['b', b]]), { lr: 0.1, weightDecay: 0.1 });
    const g = tf.tensor1d([0.5, -0.5]);
    opt.step(new Map([['a', g]]));
    opt.step(new Map([['a', g], ['b', g]]));
    expectTensorsClose(b, [3 * 0.99 - 0.1, 4 * 0.99 + 0.1], { atol: 1e-6 }); // first Adam step moves by lr*sign(g)
    const s = opt.state();
    expect(s.params.get('a')!.step).toBe(2);
    expect(s.params.get('b')!.step).toBe(1);
    tf.dispose([...[...s.params.values()].flatMap((x) => [x.expAvg, x.expAvgSq]), a, b, g]);
    opt.dispose();
  });

  it('state() / loadState() resume gives the same trajectory as an uninterrupted optimizer', () => {
    const init = seededValues(6, 3);
    const grad = (k: number) => tf.tensor(seededValues(6, 50 + k), [2, 3]);
    const run = (steps: number[], opt: AdamW) => {
      for (const k of steps) {
        const g = grad(k);
        opt.step(new Map([['w', g]]));
        g.dispose();
      }
    };
    const w1 = tf.variable(tf.tensor(init, [2, 3]));
    const o1 = new AdamW(new Map([['w', w1]]), { lr: 0.05 });
    run([0, 1, 2, 3, 4], o1);

    const w2 = tf.variable(tf.tensor(init, [2, 3]));
    const o2 = new AdamW(new Map([['w', w2]]), { lr: 0.05 });
    run([0, 1], o2);
    const saved = o2.state();
    const w3 = tf.variable(w2.clone());
    const o3 = new AdamW(new Map([['w', w3]]), { lr: 0.05 });
    o3.loadState(saved);
    tf.dispose([...saved.params.values()].flatMap((x) => [x.expAvg, x.expAvgSq]));
    run([2, 3, 4], o3);
    expect(Array.from(w3.dataSync())).toEqual(Array.from(w1.dataSync())); // bitwise
    [o1, o2, o3].forEach((o) => o.dispose());
    tf.dispose([w1, w2, w3]);
  });

  it('updates parameters in groups of at most GROUP_ELEMENTS, with torch numerics, mixing grouped and one-by-one steps', () => {
    // 3 parameters -> groups [big] and [mid, tiny]; a step without 'tiny' updates its group one by one,
    // after which the group's steps differ and it stays on the one-by-one path
    const config = { ...ADAMW_DEFAULTS, lr: 0.01, weightDecay: 0.1 } as AdamWConfig;
    const shapes: Record<string, number[]> = { big: [GROUP_ELEMENTS - 1000], mid: [3000], tiny: [5] };
    const vars = new Map<string, Variable>();
    const refs = new Map<string, TorchAdamWRef>();
    let seed = 1;
    for (const [name, shape] of Object.entries(shapes)) {
      const init = seededValues(shape[0], seed++);
      vars.set(name, tf.variable(tf.tensor(init, shape)));
      refs.set(name, new TorchAdamWRef(Float64Array.from(init), config));
    }
    const opt = new AdamW(vars, config);
    expect(opt.largestGroupElements).toBe(GROUP_ELEMENTS - 1000);
    const present = [['big', 'mid', 'tiny'], ['big', 'mid'], ['big', 'mid', 'tiny']];
    present.forEach((names, step) => {
      const grads = new Map<string, Tensor>();
      for (const name of names) {
        const g = seededValues(shapes[name][0], 100 + step * 3 + name.length);
        grads.set(name, tf.tensor(g, shapes[name]));
        refs.get(name)!.update(g, config.lr);
      }
      opt.step(grads);
      tf.dispose([...grads.values()]);
    });
    for (const [name, v] of vars) expectTensorsClose(v, refs.get(name)!.p, { atol: 1e-6, rtol: 1e-5 });
    const state = opt.state();
    expect([...state.params].map(([n, s]) => [n, s.step])).toEqual([['big', 3], ['mid', 3], ['tiny', 2]]);
    expectTensorsClose(state.params.get('tiny')!.expAvg, refs.get('tiny')!.m, { atol: 1e-7, rtol: 1e-5 });
    tf.dispose([...state.params.values()].flatMap((x) => [x.expAvg, x.expAvgSq]));
    opt.dispose();
    tf.dispose([...vars.values()]);
  });

  it('allocates its state once and leaks nothing per step', () => {
    const w = tf.variable(tf.ones([3, 3]));
    const start = tf.memory().numTensors;
    const opt = new AdamW(new Map([['w', w]]));
    const g = tf.fill([3, 3], 0.1);
    opt.step(new Map([['w', g]]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.step(new Map([['w', g]]));
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
    expect(tf.memory().numTensors).toBe(start + 1); // only g: nothing of the optimizer's is left
    tf.dispose([w, g]);
  });
});

describe('AdamW input errors', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it('rejects bad configs, unknown keys, unknown or misshapen gradients and mismatched states', () => {
    const w = tf.variable(tf.zeros([2, 2]));
    const params = new Map([['w', w]]);
    expect(() => new AdamW(params, { lr: -1 })).toThrow(/lr = -1 must be a finite number >= 0/);
    expect(() => new AdamW(params, { betas: [0.9, 1] })).toThrow(/betas = \[0.9, 1\] must be two numbers in \[0, 1\)/);
    expect(() => new AdamW(params, { betas: ['0.9', 0.99] as never })).toThrow(/betas = \["0.9", 0.99\] must be two numbers/);
    expect(() => new AdamW(params, { lr: NaN })).toThrow(/AdamW: lr = NaN must be a finite number >= 0/);
    // eps 0: a never-updated entry would get 0 / 0 = NaN (refused rather than guarded: see resolveAdamWConfig)
    expect(() => new AdamW(params, { eps: 0 })).toThrow(/AdamW: eps = 0 must be a finite number > 0 \(e.g. 1e-8\): with eps 0 a weight whose gradient has always been 0 gets the update 0 \/ 0 = NaN/);
    expect(() => new AdamW(params, { eps: -1e-8 })).toThrow(/eps = -1e-8 must be a finite number > 0/);
    expect(() => new AdamW(params, null as never)).toThrow(/AdamW config: options must be an object, got null/);
    expect(() => new AdamW(params, { weightDecay: NaN })).toThrow(/weightDecay = NaN/);
    expect(() => new AdamW(params, { beta1: 0.9 } as never)).toThrow(/AdamW config: unknown option 'beta1' \(did you mean 'betas'\?\); valid options are 'lr', 'betas', 'eps', 'weightDecay'/);
    expect(() => new AdamW(new Map())).toThrow(/no parameters to optimise/);
    const opt = new AdamW(params);
    const g = tf.zeros([2, 3]);
    expect(() => opt.step(new Map([['v', g]]))).toThrow(/gradient for 'v', which is not one of the optimizer's 1 parameters/);
    expect(() => opt.step(new Map([['w', g]]))).toThrow(/gradient for 'w' has shape \[2, 3\] but the parameter is \[2, 2\]/);
    expect(() => opt.step(new Map(), NaN)).toThrow(/lr = NaN/);
    const other = new AdamW(params, { lr: 0.5 });
    const s = other.state();
    expect(() => opt.loadState(s)).toThrow(/different lr .*construct the optimizer with the saved config/);
    opt.dispose();
    other.dispose();
    expect(() => opt.step(new Map())).toThrow(/disposed/);
    tf.dispose([w, g]);
  });
});
