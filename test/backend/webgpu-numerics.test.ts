/**
 * The numerics suites' checks on the `webgpu` backend (Dawn; in CI Mesa's software OpenGL ES,
 * llvmpipe): S2-Attn (both variants, every S2_CASES shape) and dense causal attention (the fast
 * blocked path, grouped-query, fewer queries than keys, 'recompute') against the float64 references
 * with gradients; Llama forward against the float64 reference and its loss and gradients against
 * cpu; LoRA+ training through the Trainer (S2-Attn, LoRA, AdamW, clipping) against the same steps on
 * cpu.
 *
 * The other suites read results with `dataSync`, which webgpu in Node cannot do (tfjs reads through
 * an OffscreenCanvas), so they do not take webgpu through `numericBackends()`; this file reads with
 * `await t.data()`. Tolerances are the cpu suites' (float32 like cpu): attention outputs 1e-5
 * absolute, gradients 1e-4 of the largest entry, logits 1e-5 + 1e-4 relative, loss 5 decimals;
 * training: losses and gradient norms 1e-5 relative, weights 2e-4 after 3 AdamW steps.
 * Without the webgpu packages or an adapter: a failure under CI=true, a loud skip elsewhere.
 */
import { tf, ready, backendInfo } from '../../lib/backend';
import type { Tensor, Tensor2D, Tensor4D, Variable } from '../../lib/backend';
import { shiftedSparseAttention, causalAttention } from '../../lib/attention';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { Trainer, longLora } from '../../lib/train';
import type { BatchSource, TrainBatch, TrainOptions } from '../../lib/train';
import { describeWhenAvailable, expectTensorsClose, webgpuProblem } from '../helpers';
import { denseAttention64, officialOffsetSegments, officialRollGroups, causalAllowed } from '../attention/official-reference';
import { S2_CASES, inputs } from '../attention/harness';
import type { AttentionFn, Inputs } from '../attention/harness';
import { referenceLogits, weightsOf } from '../model/reference';
import { clearCachedConstants } from '../../lib/bench';

/**
 * Back to cpu for a reference: the library's cached RoPE tables and masks made on webgpu would have
 * to move to cpu, through a synchronous read; drop them.
 */
async function onCpu(): Promise<void> {
  await ready({ backend: 'cpu' });
  clearCachedConstants(); // disposing needs no read; a tensor moves only when used
}

interface Read {
  out: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** `fn`'s output and the gradients of sum(out * w), read asynchronously. */
async function runAsync(fn: AttentionFn, x: Inputs): Promise<Read> {
  const tensors = tf.tidy(() => {
    const q = tf.tensor(x.q, x.qShape) as Tensor4D;
    const k = tf.tensor(x.k, x.kvShape) as Tensor4D;
    const v = tf.tensor(x.v, x.kvShape) as Tensor4D;
    const w = tf.tensor(x.w, x.qShape);
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(fn(a as Tensor4D, b as Tensor4D, c as Tensor4D), w));
    return [fn(q, k, v), ...tf.grads(loss)([q, k, v])];
  });
  try {
    const [out, dq, dk, dv] = (await Promise.all(tensors.map((t) => t.data()))) as Float32Array[];
    return { out, dq, dk, dv };
  } finally {
    tf.dispose(tensors);
  }
}

function expectClose(got: Read, want: Read | { out: ArrayLike<number>; dq: ArrayLike<number>; dk: ArrayLike<number>; dv: ArrayLike<number> }): void {
  expectTensorsClose(got.out, want.out, { atol: 1e-5, rtol: 0 });
  for (const key of ['dq', 'dk', 'dv'] as const) expectTensorsClose(got[key], want[key], { atol: 1e-4, relativeToMax: true });
}

const LLAMA_IDS = [
  [1, 20, 3, 44, 5, 6, 100, 7],
  [7, 8, 9, 10, 11, 12, 250, 0],
];

/** Seeded token windows, resumable (the Trainer's batch source). */
class Batches implements BatchSource {
  private i = 0;
  constructor(private readonly seqLen: number) {}
  next(): TrainBatch {
    const inputIds = Int32Array.from({ length: this.seqLen }, (_, k) => (Math.imul(7919 + this.i * 131 + k, 2654435761) >>> 0) % 259);
    this.i++;
    return { inputIds, batchSize: 1, seqLen: this.seqLen };
  }
  state(): number {
    return this.i;
  }
  restore(s: number): void {
    this.i = s;
  }
}

const TRAIN: TrainOptions = { steps: 3, lr: 3e-3, warmupSteps: 0, gradAccumSteps: 1, maxGradNorm: 1, progress: 'silent' };

describeWhenAvailable(
  'numerics on webgpu',
  webgpuProblem(),
  'Install the optional packages with `npm install` and, on a machine without a GPU, Mesa: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri (environment.md, "GPU: WebGPU")',
  'the webgpu backend',
  'webgpu does not run here',
  () => {
    describe('attention against the float64 references', () => {
      beforeAll(async () => {
        await ready({ backend: 'webgpu' });
      });

      it('runs on webgpu itself, with the adapter in backendInfo()', () => {
        expect(tf.getBackend()).toBe('webgpu');
        const info = backendInfo();
        expect(info.name).toBe('webgpu');
        expect(info.webgpu).toBeDefined();
        expect(info.webgpu?.maxStorageBufferBindingSize).toBeGreaterThan(0);
        expect(info.reason).toMatch(/Dawn .*\[(GPU|software adapter, not a GPU)\]/);
        expect(tf.env().getBool('WEBGPU_CPU_FORWARD')).toBe(false);
      });

      describe.each(['offset', 'roll'] as const)("S2-Attn '%s'", (variant) => {
        it.each(S2_CASES)('matches the official-semantics float64 reference, forward and gradients: %j', async (c) => {
          const x = inputs({ b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d }, 11);
          const got = await runAsync((q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: c.g, variant }), x);
          const allowed = variant === 'offset' ? officialOffsetSegments(c.h, c.n, c.g) : officialRollGroups(c.h, c.n, c.g);
          expectClose(got, denseAttention64(x.q, x.k, x.v, x.w, { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d }, allowed));
        });
      });

      const DENSE = [
        { b: 1, h: 2, hkv: 2, tq: 16, tk: 16, d: 8, blockSize: undefined },
        { b: 2, h: 4, hkv: 1, tq: 12, tk: 12, d: 4, blockSize: 5 }, // grouped-query, uneven blocks
        { b: 1, h: 4, hkv: 2, tq: 3, tk: 10, d: 4, blockSize: undefined }, // fewer queries than keys (decoding)
        { b: 1, h: 2, hkv: 2, tq: 32, tk: 32, d: 8, blockSize: 8 },
      ];
      it.each(DENSE)('dense causal attention (fast path) matches the float64 reference: %j', async ({ blockSize, ...dims }) => {
        const x = inputs(dims, 7);
        const want = denseAttention64(x.q, x.k, x.v, x.w, dims, causalAllowed(dims.tq, dims.tk));
        expectClose(await runAsync((q, k, v) => causalAttention(q, k, v, { blockSize }), x), want);
        expectClose(await runAsync((q, k, v) => causalAttention(q, k, v, { blockSize, memory: 'recompute' }), x), want);
      });

      it('a tensor larger than one buffer binding may be throws, saying so (instead of a silently wrong result)', () => {
        const limit = backendInfo().webgpu?.maxStorageBufferBindingSize as number;
        if (limit > 2 ** 28) return; // a GPU with a large limit: too much memory to provoke it here
        const before = tf.memory().numTensors;
        expect(() => tf.fill([limit / 4 + 1024], 1)).toThrow(/webgpu: a FillProgram on a \[\d+\] tensor \(\d+ MiB\) is larger than one buffer binding may be on .* \(maxStorageBufferBindingSize \d+ MiB\); use a shorter sequence/);
        expect(tf.memory().numTensors).toBe(before);
      });

      it('a GPU tensor read synchronously says what to do; token ids made from arrays stay readable', async () => {
        const y = tf.square(tf.tensor([1, 2, 3]));
        expect(() => y.dataSync()).toThrow(/webgpu in Node cannot read a GPU tensor synchronously.*await t.data\(\)/);
        expect(Array.from(await y.data())).toEqual([1, 4, 9]);
        expect(Array.from(y.dataSync())).toEqual([1, 4, 9]); // cached on the CPU by the read
        const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
        tf.dispose(tf.gather(tf.ones([4, 2]), ids)); // uploads the ids
        expect(Array.from(ids.dataSync())).toEqual([1, 2, 3]);
        tf.dispose([y, ids]);
      });
    });

    describe('Llama forward and backward', () => {
      // Built and measured on cpu first: its weights move to webgpu when first used there (a move
      // from webgpu back would need a synchronous read).
      let model: LlamaForCausalLM;
      let wantLogits: Float64Array;
      let wantLoss: number;
      let wantGrads: Map<string, Float32Array>;
      beforeAll(async () => {
        await onCpu();
        model = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
        wantLogits = referenceLogits(presets.tiny, weightsOf(model.parameters), LLAMA_IDS);
        const ids = tf.tensor2d(LLAMA_IDS, [2, 8], 'int32') as Tensor2D;
        const vars = [...model.parameters.values()];
        const g = tf.variableGrads(() => model.loss(ids, { training: true }), vars);
        wantLoss = g.value.dataSync()[0];
        wantGrads = new Map(vars.map((v) => [v.name, g.grads[v.name].dataSync() as Float32Array]));
        tf.dispose([ids, g.value, ...Object.values(g.grads)]);
        await ready({ backend: 'webgpu' });
      });
      afterAll(() => model.dispose());

      it('forward matches the float64 reference (GQA: 4 query heads, 2 kv heads)', async () => {
        const ids = tf.tensor2d(LLAMA_IDS, [2, 8], 'int32') as Tensor2D;
        const logits = model.forward(ids);
        expect(logits.shape).toEqual([2, 8, 259]);
        expectTensorsClose(await logits.data(), wantLogits, { atol: 1e-5, rtol: 1e-4 });
        tf.dispose([ids, logits]);
      });

      it('loss and every parameter gradient match cpu', async () => {
        const ids = tf.tensor2d(LLAMA_IDS, [2, 8], 'int32') as Tensor2D;
        const vars = [...model.parameters.values()];
        const g = tf.variableGrads(() => model.loss(ids, { training: true }), vars);
        expect((await g.value.data())[0]).toBeCloseTo(wantLoss, 5);
        for (const v of vars) expectTensorsClose(await g.grads[v.name].data(), wantGrads.get(v.name) as Float32Array, { atol: 1e-4, relativeToMax: true });
        tf.dispose([ids, g.value, ...Object.values(g.grads)]);
      });
    });

    describe('LongLoRA training steps (S2-Attn, LoRA+, AdamW, clipping)', () => {
      it('three Trainer steps give cpu\'s losses, gradient norms and weights', async () => {
        // Both models are built on cpu (same seeds); the second one's weights move to webgpu.
        await onCpu();
        const seqLen = 32;
        const cpuRun = longLora(LlamaForCausalLM.create(presets.tiny, { seed: 4 }), { contextLength: 256, seed: 6 });
        const gpuRun = longLora(LlamaForCausalLM.create(presets.tiny, { seed: 4 }), { contextLength: 256, seed: 6 });
        const cpuTrainer = new Trainer(cpuRun, new Batches(seqLen), TRAIN);
        const cpuHistory = (await cpuTrainer.train()).history;
        const cpuWeights = new Map([...cpuRun.parameters].filter(([n]) => cpuRun.trainableNames.includes(n)).map(([n, p]) => [n, p.dataSync() as Float32Array]));
        await ready({ backend: 'webgpu' });
        const gpuTrainer = new Trainer(gpuRun, new Batches(seqLen), TRAIN);
        const gpuHistory = (await gpuTrainer.train()).history;
        expect(gpuHistory).toHaveLength(3);
        gpuHistory.forEach((h, i) => {
          // measured on Mesa llvmpipe: losses equal, gradient norms within 1.2e-7
          expect(Math.abs(h.loss - cpuHistory[i].loss)).toBeLessThanOrEqual(1e-5 * Math.abs(cpuHistory[i].loss));
          expect(Math.abs(h.gradNorm - cpuHistory[i].gradNorm)).toBeLessThanOrEqual(1e-5 * cpuHistory[i].gradNorm);
        });
        expect(gpuHistory[2].loss).not.toBe(gpuHistory[0].loss); // it trained
        // AdamW divides by sqrt(v): where a gradient is ~0, float32 noise could move a weight by up
        // to lr (3e-3) per step; measured: 2.2e-5 at most after 3 steps, so the bar is 2e-4
        for (const [name, want] of cpuWeights) {
          const got = await (gpuRun.parameters.get(name) as Variable as Tensor).data();
          expectTensorsClose(got, want, { atol: 2e-4, rtol: 0 });
        }
        [cpuTrainer, gpuTrainer].forEach((t) => t.dispose());
        [cpuRun, gpuRun].forEach((r) => {
          const base = r.model;
          r.dispose();
          if (!base.isDisposed) base.dispose();
        });
      });
    });
  },
);
