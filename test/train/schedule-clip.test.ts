/**
 * LR schedules against hand-computed values of HF transformers' lambdas, and clipping against a
 * hand-computed torch `clip_grad_norm_`.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor } from '../../lib/backend';
import { constantSchedule, constantWithWarmup, linearWithWarmup, cosineWithWarmup, makeSchedule, clipGradNorm, globalNorm } from '../../lib/train';
import { expectTensorsClose, numericBackendsAndCpu } from '../helpers';

describe('learning-rate schedules (HF get_*_schedule_with_warmup)', () => {
  it('constant_with_warmup: 0, 1/4, 2/4, 3/4 then 1 forever (first update at lr 0, as HF)', () => {
    const f = constantWithWarmup(4);
    expect([0, 1, 2, 3, 4, 5, 1000].map(f)).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
    expect([0, 1, 5].map(constantWithWarmup(0))).toEqual([1, 1, 1]);
    expect([0, 7].map(constantSchedule())).toEqual([1, 1]);
  });

  it('linear: warmup, then (total - step) / (total - warmup), floored at 0', () => {
    const f = linearWithWarmup(2, 10);
    expect([0, 1, 2, 3, 6, 9, 10, 12].map(f)).toEqual([0, 0.5, 1, 7 / 8, 4 / 8, 1 / 8, 0, 0]);
  });

  it('cosine: warmup, then a half cosine to 0 at total steps', () => {
    const f = cosineWithWarmup(2, 10);
    const got = [0, 1, 2, 4, 6, 8, 10, 11].map(f);
    // progress = (step - 2) / 8: 0, 1/4, 1/2, 3/4, 1 -> 0.5 (1 + cos(pi p)).
    const want = [0, 0.5, 1, 0.5 * (1 + Math.SQRT1_2), 0.5, 0.5 * (1 - Math.SQRT1_2), 0, 0.5 * (1 + Math.cos(Math.PI * 9 / 8))];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    // Past the end HF's formula rises again (it only floors at 0); we keep the formula as it is.
    expect(got[7]).toBeGreaterThan(0);
    const full = cosineWithWarmup(0, 4, 1); // one full cycle: down and back up
    expect(full(2)).toBeCloseTo(0, 12);
    expect(full(4)).toBeCloseTo(1, 12);
  });

  it('makeSchedule dispatches by HF name; bad arguments are errors', () => {
    expect(makeSchedule('constant_with_warmup', 20, 100)(10)).toBe(0.5);
    expect(makeSchedule('linear', 0, 4)(1)).toBe(0.75);
    expect(makeSchedule('cosine', 0, 4)(2)).toBeCloseTo(0.5, 12);
    expect(makeSchedule('constant', 20, 100)(0)).toBe(1);
    expect(() => makeSchedule('step' as never, 0, 1)).toThrow(/lr schedule 'step' is not one of: constant, constant_with_warmup, linear, cosine/);
    expect(() => constantWithWarmup(-1)).toThrow(/warmupSteps = -1 must be an integer >= 0/);
    expect(() => linearWithWarmup(0, 0)).toThrow(/totalSteps = 0 must be an integer >= 1/);
    expect(() => constantWithWarmup(2)(1.5)).toThrow(/step = 1.5 must be an integer >= 0/);
    expect(() => cosineWithWarmup(0, 4, 0)).toThrow(/numCycles = 0/);
  });
});

describe.each(numericBackendsAndCpu())('clipGradNorm on %s (torch clip_grad_norm_)', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  const make = () =>
    new Map<string, Tensor>([
      ['a', tf.tensor2d([[3, 0], [0, 0]])],
      ['b', tf.tensor1d([0, 4, 0])],
      ['c', tf.tensor1d([12])],
    ]); // global norm sqrt(9 + 16 + 144) = 13

  it('scales by max_norm / (norm + 1e-6) when the norm is larger, and returns the pre-clip norm', () => {
    const g = make();
    const { grads, norm } = clipGradNorm(g, 1.3);
    expect(norm.rank).toBe(0);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    const coef = 1.3 / (13 + 1e-6);
    expectTensorsClose(grads.get('a')!, [[3 * coef, 0], [0, 0]], { atol: 1e-6 });
    expectTensorsClose(grads.get('b')!, [0, 4 * coef, 0], { atol: 1e-6 });
    expectTensorsClose(grads.get('c')!, [12 * coef], { atol: 1e-6 });
    expectTensorsClose(globalNorm(grads.values()), [1.3 * 13 / (13 + 1e-6)], { atol: 1e-6 });
    expectTensorsClose(g.get('c')!, [12]); // inputs untouched
    tf.dispose([...g.values(), ...grads.values(), norm]);
  });

  it('leaves gradients unchanged below the threshold (coefficient clamped to 1)', () => {
    const g = make();
    const { grads, norm } = clipGradNorm(g, 100);
    for (const [k, v] of g) expectTensorsClose(grads.get(k)!, v, { atol: 0, rtol: 0 });
    tf.dispose([...g.values(), ...grads.values(), norm]);
  });

  it('passes a non-finite norm through, leaks nothing, and rejects a bad maxNorm', async () => {
    const g = new Map<string, Tensor>([['x', tf.tensor1d([1, Infinity])]]);
    const { grads, norm } = clipGradNorm(g, 1);
    expect(Number.isFinite(norm.dataSync()[0])).toBe(false);
    tf.dispose([...grads.values(), norm]);
    const before = tf.memory().numTensors;
    const r = clipGradNorm(g, 1);
    tf.dispose([...r.grads.values(), r.norm]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => clipGradNorm(g, 0)).toThrow(/maxNorm = 0 must be a finite number > 0/);
    expect(() => globalNorm([])).toThrow(/no gradients given/);
    tf.dispose([...g.values()]);
  });
});
