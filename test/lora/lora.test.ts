/**
 * LoRA against PEFT semantics: initialisation, the forward update against a float64 formula,
 * gradients by central differences, merge == unmerged output, trainable sets and counts.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Variable } from '../../lib/backend';
import { applyLora, LoraLinear, makeLoraConfig, isTrainable, trainableParameterCounts, selectTrainable, TRAINABLE_SETS } from '../../lib/lora';
import type { AdaptableModel } from '../../lib/lora';
import { presets } from '../../lib/model';
import { expectTensorsClose, seededValues, numericBackends } from '../helpers';

const LLAMA2_7B = presets.llama2_7b;

/** A two-projection stand-in with the model's adapter hook: y = x W^T (+ adapter delta). */
function fakeModel(seed: number): AdaptableModel & { linear(name: string, x: Tensor2D): Tensor2D } {
  const parameters = new Map<string, Variable>([
    ['model.layers.0.self_attn.q_proj.weight', tf.variable(tf.tensor2d(seededValues(6 * 5, seed), [6, 5]))],
    ['model.layers.0.mlp.up_proj.weight', tf.variable(tf.tensor2d(seededValues(4 * 5, seed + 1), [4, 5]))],
    ['model.layers.0.input_layernorm.weight', tf.variable(tf.ones([5]))],
  ]);
  const adapters = new Map<string, { delta(x: Tensor2D): Tensor2D }>();
  return {
    parameters,
    adapters,
    linear(name: string, x: Tensor2D): Tensor2D {
      return tf.tidy(() => {
        const w = parameters.get(`${name}.weight`) as Variable;
        const base = tf.matMul(x, w, false, true);
        const a = adapters.get(name);
        return (a === undefined ? base : tf.add(base, a.delta(x))) as Tensor2D;
      });
    },
  };
}

describe.each(numericBackends())('LoRA (PEFT semantics) on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('initialises A Kaiming-uniform in ±1/sqrt(in) and B to zero, so the delta starts at 0', () => {
    const layer = new LoraLinear('m.q_proj', 64, 32, makeLoraConfig(), 3);
    const a = layer.A.dataSync();
    expect(layer.A.shape).toEqual([8, 64]);
    expect(layer.B.shape).toEqual([32, 8]);
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(1 / 8);
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(0.9 / 8); // spread over the whole range
    expect(Array.from(layer.B.dataSync()).every((x) => x === 0)).toBe(true);
    const d = layer.delta(tf.ones([3, 64]) as Tensor2D);
    expect(Array.from(d.dataSync()).every((x) => x === 0)).toBe(true);
    expect(layer.scaling).toBe(2);
    tf.dispose([d]);
    layer.dispose();
  });

  it('delta = (alpha/r) x A^T B^T (float64 reference) and its gradients match central differences', () => {
    const r = 4;
    const [n, inF, outF] = [3, 5, 6];
    const layer = new LoraLinear('m.v_proj', inF, outF, makeLoraConfig({ r, alpha: 12 }), 9);
    layer.B.assign(tf.tensor2d(seededValues(outF * r, 10), [outF, r]));
    const x = seededValues(n * inF, 11);
    const w = seededValues(n * outF, 12);
    const A = Float64Array.from(layer.A.dataSync());
    const B = Float64Array.from(layer.B.dataSync());
    const loss64 = (a: Float64Array, b: Float64Array): number => {
      let total = 0;
      for (let i = 0; i < n; i++) {
        for (let o = 0; o < outF; o++) {
          let y = 0;
          for (let k = 0; k < r; k++) {
            let low = 0;
            for (let j = 0; j < inF; j++) low += x[i * inF + j] * a[k * inF + j];
            y += low * b[o * r + k];
          }
          total += 3 * y * w[i * outF + o]; // alpha / r = 12 / 4
        }
      }
      return total;
    };
    const { value, grads } = tf.tidy(() => {
      const xt = tf.tensor2d(x, [n, inF]);
      const wt = tf.tensor2d(w, [n, outF]);
      const res = tf.variableGrads(() => tf.sum(tf.mul(layer.delta(xt as Tensor2D), wt)) as tf.Scalar, [layer.A, layer.B]);
      return { value: res.value.dataSync()[0], grads: { A: res.grads[layer.A.name].dataSync(), B: res.grads[layer.B.name].dataSync() } };
    });
    expect(value).toBeCloseTo(loss64(A, B), 5);
    const eps = 1e-5; // float64 loss: the O(eps^2) truncation error is negligible
    for (const [which, arr] of [['A', A], ['B', B]] as const) {
      for (let idx = 0; idx < arr.length; idx += 3) {
        const plus = Float64Array.from(arr);
        const minus = Float64Array.from(arr);
        plus[idx] += eps;
        minus[idx] -= eps;
        const fd = which === 'A' ? (loss64(plus, B) - loss64(minus, B)) / (2 * eps) : (loss64(A, plus) - loss64(A, minus)) / (2 * eps);
        expect(grads[which][idx]).toBeCloseTo(fd, 4);
      }
    }
    layer.dispose();
  });

  it('merge gives the unmerged output, unmerge restores W exactly enough, and adapters detach/re-attach', () => {
    const model = fakeModel(20);
    const lora = applyLora(model, { r: 2, targets: ['q_proj', 'up_proj'] }, { seed: 5 });
    expect([...model.adapters.keys()].sort()).toEqual(['model.layers.0.mlp.up_proj', 'model.layers.0.self_attn.q_proj']);
    for (const layer of lora.layers.values()) layer.B.assign(tf.tensor2d(seededValues(layer.B.size, 30), layer.B.shape as [number, number]));
    const x = tf.tensor2d(seededValues(4 * 5, 21), [4, 5]) as Tensor2D;
    const names = ['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.up_proj'];
    const before = names.map((m) => model.linear(m, x));
    const w0 = model.parameters.get('model.layers.0.self_attn.q_proj.weight')!.dataSync().slice();
    lora.merge();
    expect(model.adapters.size).toBe(0);
    const merged = names.map((m) => model.linear(m, x));
    names.forEach((_, i) => expectTensorsClose(merged[i], before[i], { atol: 1e-5 }));
    expect(() => lora.merge()).toThrow(/already merged/);
    lora.unmerge();
    expect(model.adapters.size).toBe(2);
    expectTensorsClose(model.parameters.get('model.layers.0.self_attn.q_proj.weight')!, w0, { atol: 1e-6 });
    const again = names.map((m) => model.linear(m, x));
    names.forEach((_, i) => expectTensorsClose(again[i], before[i], { atol: 1e-5 }));
    expect(() => lora.unmerge()).toThrow(/not merged/);
    tf.dispose([x, ...before, ...merged, ...again]);
    lora.dispose();
    expect(model.adapters.size).toBe(0);
  });

  it('selectTrainable picks LoRA weights plus embed/norm by name, never lm_head', () => {
    const model = fakeModel(40);
    const lora = applyLora(model, {}, { seed: 1 }); // q, k, v, o: only q exists here
    const all = new Map([...lora.allParameters(), ['lm_head.weight', tf.variable(tf.zeros([2, 2]))], ['model.embed_tokens.weight', tf.variable(tf.zeros([2, 2]))]]);
    expect([...selectTrainable(all, 'lora').keys()].sort()).toEqual(['model.layers.0.self_attn.q_proj.lora_A.weight', 'model.layers.0.self_attn.q_proj.lora_B.weight']);
    expect([...selectTrainable(all, 'lora+norm+embed').keys()].sort()).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.lora_A.weight',
      'model.layers.0.self_attn.q_proj.lora_B.weight',
    ]);
    expect(selectTrainable(all, 'full').has('lm_head.weight')).toBe(true);
    expect(selectTrainable(all, 'full').has('model.layers.0.self_attn.q_proj.lora_A.weight')).toBe(false);
    lora.dispose();
  });
});

describe('trainable sets and counts', () => {
  it('Llama-2 7B: embedding 131,072,000; norms 266,240 = 65 x 4096; LoRA 8,388,608', () => {
    const c = trainableParameterCounts(LLAMA2_7B, 'lora+norm+embed');
    expect(c.embed).toBe(131_072_000);
    expect(c.norm).toBe(266_240);
    expect(c.lora).toBe(8_388_608);
    expect(c.head).toBe(131_072_000);
    expect(c.trainable).toBe(131_072_000 + 266_240 + 8_388_608);
    expect(c.total - c.lora).toBe(6_738_415_616); // Llama-2-7b-hf has 6,738,415,616 parameters
    expect(trainableParameterCounts(LLAMA2_7B, 'lora').trainable).toBe(8_388_608);
    expect(trainableParameterCounts(LLAMA2_7B, 'lora+norm').trainable).toBe(8_388_608 + 266_240);
    expect(trainableParameterCounts(LLAMA2_7B, 'full').trainable).toBe(6_738_415_616);
  });

  it('the official name rule', () => {
    expect(isTrainable('lora+norm+embed', 'model.norm.weight')).toBe(true);
    expect(isTrainable('lora+norm+embed', 'model.layers.3.post_attention_layernorm.weight')).toBe(true);
    expect(isTrainable('lora+norm+embed', 'lm_head.weight')).toBe(false);
    expect(isTrainable('lora+embed', 'model.norm.weight')).toBe(false);
    expect(isTrainable('lora', 'model.layers.0.self_attn.q_proj.weight')).toBe(false);
    expect(TRAINABLE_SETS).toEqual(['full', 'lora', 'lora+norm', 'lora+embed', 'lora+norm+embed']);
    expect(() => isTrainable('lora+' as never, 'x')).toThrow(/trainable set 'lora\+' is not one of/);
  });

  it('bad LoRA configs', () => {
    expect(() => makeLoraConfig({ rank: 8 } as never)).toThrow(/LoRA config: unknown option 'rank'; valid options are 'r', 'alpha', 'dropout', 'targets'/);
    expect(() => makeLoraConfig({ r: 0 })).toThrow(/r = 0 must be a positive integer/);
    expect(() => makeLoraConfig({ dropout: 1 })).toThrow(/dropout = 1 must be in \[0, 1\)/);
    expect(() => makeLoraConfig({ targets: ['qkv'] })).toThrow(/target\(s\) qkv are not Llama projections/);
    expect(() => makeLoraConfig({ targets: [] })).toThrow(/targets is empty/);
  });
});
