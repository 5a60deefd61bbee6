/**
 * Calibrating the memory model (./memory.ts): `peakComposition` sorts the tensor buffers alive at
 * the peak of a real forward + backward pass by size (hidden-, kv-, MLP-, vocabulary-wide, score
 * pieces), which is where ACTIVATION_COUNTS come from; `checkMemoryModel` runs real training steps
 * (forward, backward, clipping and the AdamW update, through the Trainer), measures their peaks from
 * the wasm allocations (./measure) and compares them with the model's prediction.
 */
import { tf } from '../backend';
import type { Tensor2D } from '../backend';
import { LlamaForCausalLM, makeConfig, presets } from '../model';
import { benchConfig, clearCachedConstants, SyntheticBatches } from './train-step';
import type { LlamaConfig } from '../model';
import type { TrainableSet } from '../lora';
import { Trainer } from '../train/trainer';
import { longLora } from '../train/longlora';
import { measurePeakBytes } from './measure';
import { trainingMemory, layerScoreCount } from '../cost/memory';

export interface MemoryCase {
  name: string;
  config: LlamaConfig;
  seqLen: number;
  batchSize: number;
  attention: 'full' | 's2';
  trainable: TrainableSet;
}

export interface MemoryMeasurement extends MemoryCase {
  measuredBytes: number;
  predictedBytes: number;
  /** (predicted - measured) / measured */
  relativeError: number;
}

/** Peak bytes of the second training step of `c` (the first allocates AdamW's states). */
export async function measureTrainingStep(c: MemoryCase): Promise<number> {
  clearCachedConstants();
  const config = benchConfig(c.config, c.seqLen, c.attention);
  const model = LlamaForCausalLM.create(config, { seed: 0 });
  // the config already holds the RoPE scaling for seqLen (benchConfig), so longLora extends nothing
  const run = longLora(model, { contextLength: c.seqLen, attention: config.attention, trainable: c.trainable, seed: 0 });
  const trainer = new Trainer(run, new SyntheticBatches(c.seqLen, config.vocabSize, c.batchSize), {
    steps: 3,
    lr: 1e-4,
    warmupSteps: 0,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
  try {
    await trainer.trainStep();
    const m = await measurePeakBytes(() => trainer.trainStep());
    return m.peakBytes;
  } finally {
    trainer.dispose();
    run.dispose();
    model.dispose();
  }
}

const tiny = presets.tiny;

/** Configs to check the model on: each dimension varied on its own, both attentions, full FT and LoRA. */
export function memoryCheckCases(): MemoryCase[] {
  const v = (o: Partial<LlamaConfig>) => makeConfig(tiny, { maxPositionEmbeddings: 512, ...o });
  const cases: MemoryCase[] = [];
  const add = (name: string, config: LlamaConfig, seqLen: number, batchSize = 1, attention: 'full' | 's2' = 'full', trainable: TrainableSet = 'full') =>
    cases.push({ name, config, seqLen, batchSize, attention, trainable });
  add('tiny N=64', v({}), 64);
  add('tiny N=128', v({}), 128);
  add('tiny N=256', v({}), 256);
  add('tiny N=128 B=2', v({}), 128, 2);
  add('C=32 H=2 kv=1', v({ hiddenSize: 32, numAttentionHeads: 2, numKeyValueHeads: 1 }), 128);
  add('C=96 H=6 kv=6', v({ hiddenSize: 96, numAttentionHeads: 6, numKeyValueHeads: 6 }), 128);
  add('I=352', v({ intermediateSize: 352 }), 128);
  add('L=3', v({ numHiddenLayers: 3 }), 128);
  add('H=8 kv=2', v({ numAttentionHeads: 8, numKeyValueHeads: 2 }), 192);
  add('tiny N=256 S2', v({}), 256, 1, 's2');
  add('tiny N=512 S2', v({}), 512, 1, 's2');
  add('small N=512', presets.small, 512);
  add('small N=1024', presets.small, 1024);
  add('small N=1024 S2', presets.small, 1024, 1, 's2');
  add('small N=768 LoRA+', presets.small, 768, 1, 'full', 'lora+norm+embed');
  add('tiny N=128 LoRA+', v({}), 128, 1, 'full', 'lora+norm+embed');
  add('tiny N=256 LoRA+', v({}), 256, 1, 'full', 'lora+norm+embed');
  add('C=96 N=128 LoRA+', v({ hiddenSize: 96, numAttentionHeads: 6, numKeyValueHeads: 6 }), 128, 1, 'full', 'lora+norm+embed');
  return cases;
}

/** More configs, mixing the variations (batch, GQA, LoRA with S2). */
export function mixedMemoryCases(): MemoryCase[] {
  const v = (o: Partial<LlamaConfig>) => makeConfig(tiny, { maxPositionEmbeddings: 512, ...o });
  return [
    { name: 'tiny N=192', config: v({}), seqLen: 192, batchSize: 1, attention: 'full', trainable: 'full' },
    { name: 'C=48 H=4 kv=4 I=128 N=160 B=2', config: v({ hiddenSize: 48, numKeyValueHeads: 4, intermediateSize: 128 }), seqLen: 160, batchSize: 2, attention: 'full', trainable: 'full' },
    { name: 'tiny N=384 S2 LoRA+', config: v({}), seqLen: 384, batchSize: 1, attention: 's2', trainable: 'lora+norm+embed' },
    { name: 'tiny N=320 LoRA', config: v({}), seqLen: 320, batchSize: 1, attention: 'full', trainable: 'lora' },
    { name: 'small N=256', config: presets.small, seqLen: 256, batchSize: 1, attention: 'full', trainable: 'full' },
    { name: 'small N=1536 S2 LoRA+', config: presets.small, seqLen: 1536, batchSize: 1, attention: 's2', trainable: 'lora+norm+embed' },
  ];
}

/** Buffers alive at the peak of a step, by kind (see ACTIVATION_COUNTS), and what fits no kind. */
export interface PeakComposition {
  /** hidden-width (N x C) buffers, per layer */
  hiddenPerLayer: number;
  /** kv-width buffers per layer (0 when kv width equals the hidden width: they count as hidden) */
  kvPerLayer: number;
  /** MLP-width buffers per layer */
  mlpPerLayer: number;
  /** vocabulary-width buffers */
  vocab: number;
  /** score-sized bytes, in units of one layer's attention scores */
  layerScores: number;
  /** bytes of buffers of no kind above (weight-sized gradients, small temporaries) */
  otherBytes: number;
}

/** Sorts the buffers alive at the peak of a forward + backward pass of `c` by size (full fine-tuning). */
export async function peakComposition(c: MemoryCase): Promise<PeakComposition> {
  clearCachedConstants();
  const config = benchConfig(c.config, c.seqLen, c.attention);
  const model = LlamaForCausalLM.create(config, { seed: 0 });
  const n = c.seqLen;
  const tokens = c.batchSize * n;
  const ids = tf.tensor2d(Int32Array.from({ length: tokens }, (_, i) => (i * 7919) % config.vocabSize), [c.batchSize, n], 'int32');
  const vars = [...model.parameters.values()];
  const step = () =>
    tf.tidy(() => {
      tf.variableGrads(() => model.loss(ids as Tensor2D, { training: true }), vars).value.dataSync();
    });
  try {
    step();
    const m = await measurePeakBytes(step, { composition: true });
    const C = config.hiddenSize;
    const kv = config.numKeyValueHeads * (C / config.numAttentionHeads);
    const L = config.numHiddenLayers;
    const weightSizes = new Set(vars.map((v) => 4 * v.size));
    const scoreUnit = 4 * c.batchSize * layerScoreCount(config, n, c.attention);
    let hidden = 0;
    let kvCount = 0;
    let mlp = 0;
    let vocab = 0;
    let scoreBytes = 0;
    let otherBytes = 0;
    for (const bytes of m.liveAtPeak ?? []) {
      const f = bytes / 4;
      if (f === tokens * C) hidden++;
      else if (f === tokens * kv) kvCount++;
      else if (f === tokens * config.intermediateSize) mlp++;
      else if (f === tokens * config.vocabSize) vocab++;
      else if (!weightSizes.has(bytes) && f % n === 0 && f >= 16 * n) scoreBytes += bytes; // [.., rows, n]-shaped: score pieces
      else otherBytes += bytes;
    }
    return { hiddenPerLayer: hidden / L, kvPerLayer: kvCount / L, mlpPerLayer: mlp / L, vocab, layerScores: scoreBytes / scoreUnit, otherBytes };
  } finally {
    ids.dispose();
    model.dispose();
  }
}

/** Measured vs predicted (with the library's coefficients) for each case. */
export async function checkMemoryModel(cases: MemoryCase[]): Promise<MemoryMeasurement[]> {
  const out: MemoryMeasurement[] = [];
  for (const c of cases) {
    const measuredBytes = await measureTrainingStep(c);
    const predictedBytes = trainingMemory(c.config, c.seqLen, { batchSize: c.batchSize, attention: c.attention, trainable: c.trainable }).total;
    out.push({ ...c, measuredBytes, predictedBytes, relativeError: (predictedBytes - measuredBytes) / measuredBytes });
  }
  return out;
}
