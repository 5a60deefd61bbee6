/**
 * Robustness, the memory guard: a call far too large for the backend is refused up front with a
 * message that says how much it needs, what the limit is and what to change, on cpu, wasm and the
 * native tensorflow backend alike, instead of a crash, an abort inside Emscripten, an allocation
 * libtensorflow cannot satisfy, or a RangeError ("Invalid typed array length") from the cpu kernel.
 * Afterwards the backend and a model still work, and nothing is left allocated.
 *
 * Sizes are terabytes, so the guard fires on any machine (the limit is the wasm heap's 4 GiB, or
 * this machine's memory); the inputs themselves are a few MiB.
 */
import { tf } from '../../lib/backend';
import type { Tensor2D, Tensor4D } from '../../lib/backend';
import { matmul } from '../../lib/backend';
import { attentionMask, causalAttention, shiftedSparseAttention } from '../../lib/attention';
import { LlamaForCausalLM, makeConfig, parameterShapes, presets } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import { Trainer } from '../../lib/train';
import type { BatchSource } from '../../lib/train';
import { numericBackendsAndCpu, useBackend } from '../helpers';
import { expectBackendWorks, expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

/** "needs about X GiB, but the wasm heap (capped at 4.00 GiB) / this machine's memory (N GiB) has Y left with Z of live tensors" */
const NEEDS = /needs about [\d.]+ GiB, but (the wasm heap \(capped at 4\.00 GiB\)|this machine's memory \([\d.]+ GiB\)) has [\d.]+ (GiB|MiB|KiB|B) left with [\d.]+ (GiB|MiB|KiB|B) of live tensors; /;

describe.each(numericBackendsAndCpu())('memory guard on %s', (backend) => {
  useBackend(backend);
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
  });
  afterAll(() => model.dispose());

  /** A tiny model with a vocabulary of a million (tied embeddings: 8M parameters, 32 MiB), from zeros (seeded init of 8M values is slow). */
  let wide: LlamaForCausalLM;
  beforeAll(() => {
    const config = makeConfig(presets.tiny, { vocabSize: 1_000_000, hiddenSize: 8, intermediateSize: 8, numAttentionHeads: 2, numKeyValueHeads: 2, numHiddenLayers: 1, maxPositionEmbeddings: 4096, tieWordEmbeddings: true });
    const weights = new Map([...parameterShapes(config)].map(([name, shape]) => [name, tf.zeros(shape)]));
    wide = LlamaForCausalLM.fromWeights(config, weights);
    tf.dispose([...weights.values()]);
  });
  afterAll(() => wide.dispose());

  const cases = (): BadCase[] => [
    ['a Llama-2 70B model', () => LlamaForCausalLM.create(presets.llama2_70b), [/LlamaForCausalLM\.create: 68,976,648,192 float32 parameters needs about 256\.96 GiB/, NEEDS, /use a smaller config \(the Llama-2 presets are for cost analysis\)/]],
    // off wasm this was a RangeError ("Invalid typed array length") on cpu and a 4 TB request to libtensorflow
    ['a 4 TB product', () => tf.tidy(() => matmul(tf.ones([1_000_000, 1]), tf.ones([1, 1_000_000]))), [/matmul\(\[1000000, 1\], \[1, 1000000\]\) needs about/, NEEDS, /use a shorter sequence or a smaller batch/]],
    // was refused (on wasm) or crashed only at the lm_head product, after every layer had run
    [
      'a forward pass whose logits [64, 4096, 10^6] take 1 TB',
      () => tf.tidy(() => wide.forward(tf.zeros([64, 4096], 'int32') as Tensor2D)),
      [/forward of 64 x 4096 tokens \(logits \[64, 4096, 1000000\]\) needs about/, NEEDS, /use a smaller batch or shorter sequences/],
    ],
    ['dense attention over 300k positions in one block', () => tf.tidy(() => causalAttention(...([0, 1, 2].map(() => tf.ones([1, 1, 300_000, 2])) as [Tensor4D, Tensor4D, Tensor4D]), { blockSize: 300_000 })), [/causal attention over 300000 queries x 300000 keys, 1 batch-heads needs about/, NEEDS, /use a smaller blockSize or a shorter sequence/]],
    ['S2-Attn with one group of 2^19 positions', () => tf.tidy(() => shiftedSparseAttention(...([0, 1, 2].map(() => tf.ones([1, 2, 2 ** 19, 2])) as [Tensor4D, Tensor4D, Tensor4D]), { groupSize: 2 ** 19 })), [/S2-Attn over 524288 positions, groups of 524288, 2 batch-heads needs about/, NEEDS, /use a smaller group size or a shorter sequence/]],
    // was a RangeError ("Invalid typed array length") while filling A
    ['LoRA of rank 10^9', () => applyLora(model, { r: 1e9 }), [/applyLora: r = 1000000000 adapters/, NEEDS, /use a smaller r/]],
    [
      'a training step the model says takes a petabyte',
      async () => {
        const source: BatchSource = { next: () => ({ inputIds: new Int32Array(8), batchSize: 1, seqLen: 8 }), state: () => 0, restore: () => undefined };
        const big = { parameters: model.parameters, loss: () => tf.scalar(0), activationBytes: () => 1e15 };
        const t = new Trainer(big, source, { steps: 1, gradAccumSteps: 1, progress: 'silent' });
        try {
          await t.train();
        } finally {
          t.dispose();
        }
      },
      [/a training step \(batch 1 x 8 tokens, 21 trainable tensors\) needs about/, NEEDS, /use a shorter seqLen or batchSize/],
    ],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expect(model.adapters.size).toBe(0);
    expectBackendWorks();
    expectModelWorks(model);
  });

  // lib/attention (being reworked by another engineer) builds the mask without a memory check: fails until it has one
  it('a [64, 10^5, 10^5] attention mask (640 GB) is refused, not a RangeError', async () => {
    await expectBadInput(() => attentionMask('full', { heads: 64, seqLen: 100_000, groupSize: 4 }), [/attentionMask.* needs about/, NEEDS]);
    expectBackendWorks();
  });
});
