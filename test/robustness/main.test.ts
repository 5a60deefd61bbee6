/**
 * The robustness suite (test/robustness/): bad input across the public API, by area.
 *
 *   config.test.ts     makeConfig, presets, rope scaling, attention specs in configs, create/fromWeights/withConfig, extendContext
 *   attention.test.ts  causalAttention, shiftedSparseAttention, maskedAttention and patterns, attend
 *   model.test.ts      token ids for forward and loss on every numerics backend, the KV cache, generate
 *   lora.test.ts       applyLora, the adapters' lifecycle, longLora, LongLoraModel.batchLoss
 *   train.test.ts      Trainer options, inputs, batches at train time, divergence, AdamW, schedules, resume
 *   data.test.ts       tokenizer, WindowBatcher, passkey prompts/trials/examples, SFT, curriculum batches
 *   io.test.ts         safetensors bytes and files, HF checkpoints and config.json, PEFT adapters
 *   eval.test.ts       evaluatePerplexity, windowStarts, passkey evaluation
 *   backend.test.ts    ready (names, threads, options, environment), bench options
 *   memory.test.ts     the memory guard on cpu, wasm and tensorflow
 *
 * Every case (./bad-input.ts `expectBadInput`) asserts: the call throws or rejects a plain `Error`
 * (or the class the library documents, e.g. TrainingDivergedError), not a TypeError or RangeError
 * from deep inside; its message names the offending value and says what to do; the call leaves no
 * tensor behind, also on the failure path (it runs twice: the first run may fill the RoPE and mask
 * caches); and, where relevant, the model and the backend still work afterwards.
 *
 * Inputs deliberately ACCEPTED (not errors), with why; the tests below pin the ones that are cheap
 * to check:
 *
 *  1. Trainer `warmupSteps` > `steps`: HF's schedules accept it (the lr then never reaches its peak);
 *     refusing it would differ from the official recipe's semantics.
 *  2. Trainer / AdamW `lr: 0`: HF accepts it; a run that must not move the weights is a real check.
 *  3. A huge `lr` (1e30) is not refused up front: the run diverges and `train()` returns
 *     `status: 'diverged'` with the step and advice (`trainStep()` throws TrainingDivergedError).
 *  4. LoRA `r` larger than a projection's width: PEFT accepts it (it only wastes memory); an `r`
 *     whose adapters cannot fit the backend is refused by the memory guard.
 *  5. safetensors F64 values that are NaN, +-Infinity or below float32's smallest subnormal: kept
 *     (NaN and Infinity are the same values in float32; tiny values round to 0). Only a *finite* value
 *     beyond float32's range is refused, since it would silently become Infinity.
 *  6. generate with `maxNewTokens` past the remaining context: not refused up front (a stop token
 *     may end generation earlier); when the context runs out, the forward's error names the limit and
 *     the fix, and the KV cache is freed.
 *  7. evaluatePerplexity: a token id outside the vocabulary, or a window longer than the context
 *     without `allowExtrapolation`, is reported by the first forward pass that meets it (the model's
 *     own check), not by an up-front scan; the error is the same and nothing leaks.
 *  8. A zero-length sequence inside attention (`[B, H, 0, D]`) gives an empty output (the empty
 *     attention); the model itself refuses empty token ids.
 *  9. WindowBatcher drops the tail of the stream shorter than `seqLen` (documented: every row is
 *     real text), and buildTokenStream([]) is an empty stream (the batcher then says it is too short).
 * 10. YaRN `betaFast: 0` / `betaSlow: 0` mean the defaults 32 / 1 (HF's `x or default`).
 * 11. `ready({ backend: 'cpu', threads: 4 })`: threads are checked (1-8) but apply to wasm only.
 * 12. LongLoraModel.batchLoss does not range-check the label at position 0 of a row, which the
 *     shift never scores (LlamaForCausalLM.loss checks every label); the loss is the same.
 * 13. The presets are frozen: assigning to one throws JavaScript's own TypeError (strict mode), the
 *     language's behaviour for frozen objects; `makeConfig(presets.x, { ... })` derives a new config.
 * 14. Non-finite values in q, k or v reach exactly the outputs that may see them, as NaN (documented in
 *     lib/attention/causal.ts), rather than an error: training detects them as a divergence.
 * 15. A missing LONGLORA_WASM_THREADS is fine, but a malformed one is refused by every `ready()`,
 *     also one that asks for cpu (a wrong environment is reported where it is read).
 */
import { tf } from '../../lib/backend';
import { causalAttention } from '../../lib/attention';
import type { Tensor4D } from '../../lib/backend';
import { LlamaForCausalLM, makeConfig, presets } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import { longLora, Trainer } from '../../lib/train';
import { WindowBatcher, buildTokenStream, encode } from '../../lib/data';
import { parseSafetensors } from '../../lib/io';
import { ready } from '../../lib/backend';
import { useBackend } from '../helpers';
import { expectModelWorks } from './bad-input';

useBackend('cpu');

let model: LlamaForCausalLM;
beforeAll(() => {
  model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
});
afterAll(() => model.dispose());

describe('inputs deliberately accepted (see the list above)', () => {
  const quiet = { progress: 'silent' as const };
  const data = () => new WindowBatcher(encode('the quick brown fox jumps over the lazy dog. '.repeat(20)), { seqLen: 16, batchSize: 1 });

  it('1, 2: warmupSteps past steps, and lr 0 (the weights do not move)', async () => {
    const before = tf.tidy(() => Array.from((model.parameters.get('model.norm.weight') as tf.Tensor).dataSync()));
    const t = new Trainer(model, data(), { steps: 1, lr: 0, warmupSteps: 5, schedule: 'linear', gradAccumSteps: 1, ...quiet });
    const r = await t.train();
    t.dispose();
    expect(r.status).toBe('completed');
    expect(tf.tidy(() => Array.from((model.parameters.get('model.norm.weight') as tf.Tensor).dataSync()))).toEqual(before);
  });

  it('3: a huge lr diverges with a result that says so, not an error', async () => {
    const copy = model.withConfig({});
    const weights = [...copy.parameters.values()].map((v) => tf.clone(v));
    const t = new Trainer(copy, data(), { steps: 3, lr: 1e30, warmupSteps: 0, maxGradNorm: null, gradAccumSteps: 1, ...quiet });
    const r = await t.train();
    t.dispose();
    expect(r.status).toBe('diverged');
    expect(r.divergence?.message).toMatch(/training diverged at step \d: .* Lower lr \(now 1e\+30\)/);
    [...copy.parameters.values()].forEach((v, i) => v.assign(weights[i])); // the shared weights back as they were
    tf.dispose(weights);
    copy.dispose();
    expectModelWorks(model);
  });

  it('4: LoRA r above the projection width', () => {
    const lora = applyLora(model, { r: 128 });
    expect(lora.config.r).toBe(128);
    lora.dispose();
    expectModelWorks(model);
  });

  it('5: F64 NaN, Infinity and values below float32 subnormals', () => {
    const values = new Float64Array([NaN, Infinity, -Infinity, 1e-50]);
    const json = new TextEncoder().encode('{"a":{"dtype":"F64","shape":[4],"data_offsets":[0,32]}}');
    const bytes = new Uint8Array(8 + json.length + 32);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    bytes.set(new Uint8Array(values.buffer), 8 + json.length);
    expect(Array.from(parseSafetensors(bytes).tensors.get('a')?.data ?? [])).toEqual([NaN, Infinity, -Infinity, 0]);
  });

  it('8: a zero-length sequence inside attention', () => {
    const out = tf.tidy(() => causalAttention(...([0, 1, 2].map(() => tf.zeros([1, 2, 0, 4])) as [Tensor4D, Tensor4D, Tensor4D])).shape);
    expect(out).toEqual([1, 2, 0, 4]);
  });

  it('9, 10: an empty token stream; YaRN betas of 0', () => {
    expect(buildTokenStream([]).length).toBe(0);
    expect(makeConfig(presets.tiny, { ropeScaling: { type: 'yarn', factor: 2, betaFast: 0, betaSlow: 0 } }).ropeScaling).toMatchObject({ betaFast: 0, betaSlow: 0 });
  });

  it('11: threads with a backend other than wasm', async () => {
    expect(await ready({ backend: 'cpu', threads: 4 })).toBe('cpu');
  });

  it('12: batchLoss leaves the never-scored label at position 0 unchecked', () => {
    const run = longLora(model, { contextLength: 256 });
    const loss = (first: number) =>
      tf.tidy(() => run.batchLoss({ inputIds: new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), labels: new Int32Array([first, 2, 3, 4, 5, 6, 7, 8]), batchSize: 1, seqLen: 8 }, { training: true }).dataSync()[0]);
    expect(loss(999)).toBe(loss(1));
    run.dispose();
    expectModelWorks(model);
  });

  it('13: a preset cannot be assigned to (JavaScript TypeError on a frozen object)', () => {
    expect(() => {
      (presets.tiny as { hiddenSize: number }).hiddenSize = 1;
    }).toThrow(TypeError);
    expect(presets.tiny.hiddenSize).toBe(64);
  });
});
