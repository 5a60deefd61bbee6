/**
 * Gradients of LlamaForCausalLM.loss on presets.tiny: central finite differences of our own float32
 * loss (cpu backend), central differences of the independent float64 reference loss, cpu vs wasm
 * agreement of every parameter's gradient, and the tied head's gradient reaching the embedding.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Variable } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';
import { expectTensorsClose } from '../helpers';
import { referenceLoss, weightsOf } from './reference';
import type { Weights } from './reference';

const IDS = [
  [1, 20, 3, 44, 5, 6, 100, 7],
  [7, 8, 9, 10, 11, 12, 250, 0],
];
const ids2d = (): Tensor2D => tf.tensor2d(IDS, [2, 8], 'int32');

/** Analytic gradients by parameter name (float32, from tf.variableGrads). */
function gradients(model: LlamaForCausalLM): Map<string, Float32Array> {
  const ids = ids2d();
  const { value, grads } = tf.variableGrads(() => model.loss(ids));
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.parameters) out.set(name, grads[v.name].dataSync() as Float32Array);
  tf.dispose([ids, value, ...Object.values(grads)]);
  return out;
}

function argMaxAbs(g: Float32Array): number {
  let best = 0;
  for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[best])) best = i;
  return best;
}

/** Sets one entry of a variable (returns the old value). */
function setEntry(v: Variable, index: number, value: number): number {
  const data = v.dataSync().slice() as Float32Array;
  const old = data[index];
  data[index] = value;
  tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  return old;
}

describe('finite differences of the float32 loss (cpu)', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it('match the analytic gradient at the largest-gradient entry of every parameter', () => {
    const model = LlamaForCausalLM.create(presets.tiny, { seed: 3 });
    const analytic = gradients(model);
    const ids = ids2d();
    const lossAt = () => tf.tidy(() => model.loss(ids).dataSync()[0]);
    // Step and tolerance, for float32: the loss (about 5.5) is computed to a few ulps, |noise| <~ 1e-6,
    // so a central difference with step h carries up to noise / h of rounding error; its truncation
    // error is h^2 |f'''| / 6, which the relative term covers (measured <= 3e-3 |g| at h = 1e-2).
    // h = 1e-2 balances the two: tol = 1e-6 / 1e-2 / 2 + 1e-2 |g| = 5e-5 + 1e-2 |g|. At the default
    // init (std 0.02) attention is nearly uniform, so q/k gradients are small (~1e-3) and this is only
    // a ~5% check for them; the float64 reference test below is the tight one.
    const h = 1e-2;
    for (const [name, v] of model.parameters) {
      const g = analytic.get(name) as Float32Array;
      const i = argMaxAbs(g);
      const x0 = setEntry(v, i, 0);
      setEntry(v, i, x0 + h);
      const plus = lossAt();
      setEntry(v, i, x0 - h);
      const minus = lossAt();
      setEntry(v, i, x0);
      const fd = (plus - minus) / (2 * h);
      const tol = 5e-5 + 1e-2 * Math.abs(g[i]);
      expect({ name, error: Math.abs(fd - g[i]) <= tol ? 'ok' : `fd ${fd} vs analytic ${g[i]}` }).toEqual({ name, error: 'ok' });
      // The check can fail: a zero or sign-flipped gradient would be outside the tolerance.
      expect(tol).toBeLessThan(Math.abs(g[i]) / 2);
    }
    ids.dispose();
    model.dispose();
  });
});

describe('finite differences of the float64 reference loss', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  /** Central differences in float64 (h = 1e-5: truncation ~1e-10, rounding ~1e-11; both negligible). */
  function referenceDerivative(config: LlamaConfig, w: Weights, name: string, index: number): number {
    const h = 1e-5;
    const p = w.get(name) as Float64Array;
    const x0 = p[index];
    p[index] = x0 + h;
    const plus = referenceLoss(config, w, IDS);
    p[index] = x0 - h;
    const minus = referenceLoss(config, w, IDS);
    p[index] = x0;
    return (plus - minus) / (2 * h);
  }

  it.each([
    ['presets.tiny', presets.tiny, 3],
    ['presets.tiny with std 0.2 init, a tied head and linear PI (factor 2)', makeConfig(presets.tiny, { initializerRange: 0.2, tieWordEmbeddings: true, ropeScaling: { type: 'linear', factor: 2 } }), 5],
  ] as const)('match the float32 analytic gradient (%s): 3 entries of every parameter', (_name, config, seed) => {
    const model = LlamaForCausalLM.create(config, { seed });
    const analytic = gradients(model);
    const w = weightsOf(model.parameters);
    let worst = 0;
    for (const [name, g] of analytic) {
      const scale = Math.max(...Array.from(g, Math.abs));
      const picks = [argMaxAbs(g), Math.floor(g.length / 3), Math.floor((2 * g.length) / 3) + 1];
      for (const i of picks) {
        const fd = referenceDerivative(config, w, name, i);
        // float32 forward/backward vs exact: measured <= 6e-7 of the tensor's gradient scale; bar 1e-5.
        const err = Math.abs(fd - g[i]) / Math.max(scale, 1e-3);
        worst = Math.max(worst, err);
        expect({ name, i, ok: err < 1e-5 ? true : `fd ${fd} vs analytic ${g[i]}` }).toEqual({ name, i, ok: true });
      }
    }
    expect(worst).toBeLessThan(1e-5);
    model.dispose();
  });
});

describe('cpu and wasm agree', () => {
  it('on seeded weights, logits, loss and every parameter gradient', async () => {
    const results: Record<string, { weights: Map<string, Float32Array>; logits: Float32Array; grads: Map<string, Float32Array> }> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await ready({ backend });
      const model = LlamaForCausalLM.create(presets.tiny, { seed: 7 });
      const ids = ids2d();
      const logits = model.forward(ids);
      results[backend] = {
        weights: new Map([...model.parameters].map(([n, v]) => [n, v.dataSync() as Float32Array])),
        logits: logits.dataSync() as Float32Array,
        grads: gradients(model),
      };
      tf.dispose([ids, logits]);
      model.dispose();
    }
    const { cpu, wasm } = results;
    for (const [name, w] of cpu.weights) expect(wasm.weights.get(name)).toEqual(w); // identical init
    expectTensorsClose(wasm.logits, cpu.logits, { atol: 1e-6, rtol: 1e-5 });
    for (const [name, g] of cpu.grads) {
      try {
        expectTensorsClose(wasm.grads.get(name) as Float32Array, g, { atol: 1e-5, relativeToMax: true });
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });
});

describe('tied head', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it('is the embedding variable: its gradient reaches embedding rows of tokens never input', () => {
    const model = LlamaForCausalLM.create(makeConfig(presets.tiny, { tieWordEmbeddings: true }), { seed: 2 });
    expect([...model.parameters.keys()]).not.toContain('lm_head.weight');
    const g = gradients(model).get('model.embed_tokens.weight') as Float32Array;
    const c = 64;
    const row = (token: number) => Array.from(g.subarray(token * c, token * c + c));
    // Token 200 is not in the input, so only the head contributes; untied, its row would be zero.
    expect(Math.max(...row(200).map(Math.abs))).toBeGreaterThan(1e-4);
    const untied = LlamaForCausalLM.create(presets.tiny, { seed: 2 });
    expect(Math.max(...Array.from((gradients(untied).get('model.embed_tokens.weight') as Float32Array).subarray(200 * c, 201 * c), Math.abs))).toBe(0);
    untied.dispose();
    model.dispose();
  });
});
