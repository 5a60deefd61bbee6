/**
 * LoRA against PEFT semantics: initialisation, the forward update against a float64 formula,
 * gradients by central differences, merge == unmerged output, trainable sets and counts; every
 * tensor freed by dispose() (applyLora, and the PEFT loader that uses it); bad settings refused
 * with their fix.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Variable } from '../../lib/backend';
import { applyLora, LoraLinear, makeLoraConfig, isTrainable, trainableParameterCounts, selectTrainable, TRAINABLE_SETS } from '../../lib/lora';
import type { AdaptableModel } from '../../lib/lora';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { loadPeftAdapter, savePeftAdapter } from '../../lib/io';
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
    expect(() => makeLoraConfig({ dropout: 1 })).toThrow(/dropout = 1 must be a number in \[0, 1\)/);
    expect(() => makeLoraConfig({ dropout: NaN })).toThrow(/dropout = NaN must be a number in \[0, 1\)/);
    // a string is not spread into letters ("q, _, p, r, o, j")
    expect(() => makeLoraConfig({ targets: 'q_proj' as never })).toThrow(/LoRA config: targets = "q_proj" must be a list of module names such as \['q_proj', 'v_proj'\] \(for one module: targets: \["q_proj"\]\)/);
    expect(() => makeLoraConfig({ targets: ['q_proj', 3] as never })).toThrow(/targets = an array of length 2 must be a list of module names/);
    expect(() => makeLoraConfig({ targets: ['q_proj', 'q_proj'] })).toThrow(/target\(s\) q_proj listed more than once/);
    // an infinite scaling would give infinite deltas and NaN logits
    expect(() => makeLoraConfig({ alpha: Infinity })).toThrow(/LoRA config: alpha = Infinity must be a finite number > 0 \(LongLoRA uses 16; the update is scaled by alpha \/ r\)/);
    expect(() => makeLoraConfig({ alpha: '16' as never })).toThrow(/alpha = "16" must be a finite number > 0/);
    expect(() => makeLoraConfig({ r: 8.5 })).toThrow(/r = 8.5 must be a positive integer/);
    expect(() => makeLoraConfig({ r: '8' as never })).toThrow(/r = "8" must be a positive integer/);
    expect(() => makeLoraConfig(null as never)).toThrow(/LoRA config: options must be an object, got null/);
    expect(() => makeLoraConfig({ targets: ['qkv'] })).toThrow(/target\(s\) qkv are not Llama projections/);
    expect(() => makeLoraConfig({ targets: [] })).toThrow(/targets is empty/);
  });
});

describe.each(numericBackends())('applyLora frees what it makes, and checks what it is given, on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('applyLora then dispose() leaves numTensors where it started (every adapted module, every call)', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const lora = applyLora(model, { targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, { seed: i });
      expect(lora.layers.size).toBe(7 * presets.tiny.numHiddenLayers);
      expect(tf.memory().numTensors).toBe(start + 2 * lora.layers.size); // A and B, nothing else
      lora.merge();
      lora.unmerge();
      lora.dispose();
      lora.dispose(); // a second call does nothing
      expect(tf.memory().numTensors).toBe(start);
      expect(() => lora.merge()).toThrow(/LoRA merge: the adapters were disposed; apply LoRA again/);
    }
    const layer = new LoraLinear('m.q_proj', 16, 8, makeLoraConfig(), 1);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });

  it('loadPeftAdapter (which uses applyLora) leaves nothing behind once its adapters are disposed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-lora-leak-'));
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const saved = applyLora(model, { r: 4, alpha: 8 }, { seed: 2 });
    await savePeftAdapter(path.join(dir, 'a'), saved);
    saved.dispose();
    const start = tf.memory().numTensors;
    const loaded = await loadPeftAdapter(path.join(dir, 'a'), model);
    expect(loaded.layers.size).toBe(4 * presets.tiny.numHiddenLayers);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unknown options, bad seeds and non-models, naming the fix, without allocating', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const start = tf.memory().numTensors;
    expect(() => applyLora(model, {}, { r: 4 } as never)).toThrow(/applyLora: unknown option 'r'; valid options are 'seed'/);
    expect(() => applyLora(model, {}, { sede: 1 } as never)).toThrow(/applyLora: unknown option 'sede' \(did you mean 'seed'\?\)/);
    expect(() => applyLora(model, {}, { seed: -1 })).toThrow(/applyLora: seed must be an integer in \[0, 2\^32\), got -1/);
    expect(() => applyLora(model, { rank: 8 } as never)).toThrow(/LoRA config: unknown option 'rank'; valid options are 'r', 'alpha'/);
    expect(() => applyLora(model, { targets: 'q_proj' as never })).toThrow(/targets = "q_proj" must be a list of module names/);
    expect(() => applyLora(model, { alpha: Infinity })).toThrow(/alpha = Infinity must be a finite number > 0/);
    expect(() => applyLora({} as never)).toThrow(/applyLora: model = an object \(Object\) must have a parameters Map and an adapters Map/);
    expect(tf.memory().numTensors).toBe(start);
    expect(model.adapters.size).toBe(0);
    // large seeds are fine (the per-layer seeds wrap to 32 bits) and still deterministic
    const a = applyLora(model, { r: 2 }, { seed: 4e9 });
    const first = Array.from(a.parameters().values())[0].dataSync().slice();
    a.dispose();
    const b = applyLora(model, { r: 2 }, { seed: 4e9 });
    expect(Array.from(Array.from(b.parameters().values())[0].dataSync())).toEqual(Array.from(first));
    b.dispose();
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });

  it('selectTrainable: one rule for sets, lists, predicates and null, with errors that name the fix', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
    const names = [...model.parameters.keys()];
    expect([...selectTrainable(model.parameters, null).keys()]).toEqual(names);
    expect([...selectTrainable(model.parameters, 'full').keys()]).toEqual(names);
    expect([...selectTrainable(model.parameters, (n) => n.includes('norm')).keys()]).toEqual(names.filter((n) => n.includes('norm')));
    expect([...selectTrainable(model.parameters, ['model.norm.weight', 'model.embed_tokens.weight']).keys()]).toEqual(['model.embed_tokens.weight', 'model.norm.weight']); // model order
    expect(() => selectTrainable(model.parameters, 'lora+norm+embed')).toThrow(/trainable: 'lora\+norm\+embed' selects no LoRA weights among the model's \d+ parameters .*apply LoRA first \(applyLora, or longLora for the whole recipe\)/);
    expect(() => selectTrainable(model.parameters, 'lora+' as never)).toThrow(/trainable set 'lora\+' is not one of full, lora/);
    expect(() => selectTrainable(model.parameters, [])).toThrow(/the list is empty; pass null to train every parameter/);
    expect(() => selectTrainable(model.parameters, ['nope'])).toThrow(/trainable: 'nope' not among the model's parameters/);
    expect(() => selectTrainable(model.parameters, () => false)).toThrow(/the predicate selects none/);
    expect(() => selectTrainable(model.parameters, 3 as never)).toThrow(/trainable = 3 must be a trainable set \('full', 'lora'/);
    model.dispose();
  });
});
