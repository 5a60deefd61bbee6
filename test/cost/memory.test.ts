/**
 * The memory model against measured training steps (peak from the wasm allocations) on tiny
 * configs, within 10%, and its parts by hand (weights, gradients, AdamW states; LoRA and S2 effects).
 */
import { ready } from '../../lib/backend';
import { presets, makeConfig, parameterCount } from '../../lib/model';
import { trainableParameterCounts } from '../../lib/lora';
import { trainingMemory, ACTIVATION_COUNTS } from '../../lib/cost';
import { checkMemoryModel, peakComposition } from '../../lib/bench';
import type { MemoryCase } from '../../lib/bench';

const tiny = makeConfig(presets.tiny, { maxPositionEmbeddings: 512 });

describe('memory model vs measured peaks (wasm)', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  const cases: MemoryCase[] = [
    { name: 'tiny N=160 B=2', config: tiny, seqLen: 160, batchSize: 2, attention: 'full', trainable: 'full' },
    { name: 'tiny L=3 I=256 N=224', config: makeConfig(tiny, { numHiddenLayers: 3, intermediateSize: 256 }), seqLen: 224, batchSize: 1, attention: 'full', trainable: 'full' },
    { name: 'tiny MHA N=192', config: makeConfig(tiny, { numKeyValueHeads: 4 }), seqLen: 192, batchSize: 1, attention: 'full', trainable: 'full' },
    { name: 'tiny N=384 S2', config: tiny, seqLen: 384, batchSize: 1, attention: 's2', trainable: 'full' },
    { name: 'tiny N=256 LoRA+', config: tiny, seqLen: 256, batchSize: 1, attention: 'full', trainable: 'lora+norm+embed' },
    { name: 'tiny N=256 S2 LoRA', config: tiny, seqLen: 256, batchSize: 1, attention: 's2', trainable: 'lora' },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s: predicted peak within 10% of the measured one', async (_name, c) => {
    const [r] = await checkMemoryModel([c]);
    expect(Math.abs(r.relativeError)).toBeLessThan(0.1);
  });

  it('the counted buffers: 6 MLP-wide per layer, 6 vocabulary-wide, one score buffer per layer plus transients', async () => {
    const [a, b] = [1, 3].map((L) => ({ name: `L=${L}`, config: makeConfig(tiny, { numHiddenLayers: L }), seqLen: 128, batchSize: 1, attention: 'full' as const, trainable: 'full' as const }));
    const p1 = await peakComposition(a);
    const p3 = await peakComposition(b);
    expect(p1.mlpPerLayer).toBe(ACTIVATION_COUNTS.mlp);
    expect(p3.vocab).toBe(ACTIVATION_COUNTS.vocab);
    // two more layers keep two more saved P; the transients belong to one layer only
    expect(p3.layerScores - p1.layerScores).toBeCloseTo(2 * ACTIVATION_COUNTS.scoresPerLayer, 5);
    expect(p1.layerScores).toBeCloseTo(ACTIVATION_COUNTS.scoresPerLayer + ACTIVATION_COUNTS.scoresTransientFull, 5);
  });
});

describe('memory model parts', () => {
  const small = presets.small;

  it('full fine-tuning: 4 bytes of weights, 4 of gradients and 8 of AdamW states per parameter', () => {
    const m = trainingMemory(small, 512);
    const p = parameterCount(small);
    expect(m.weights).toBe(4 * p);
    expect(m.gradients).toBe(4 * p);
    expect(m.optimizer).toBe(8 * p);
    expect(m.total).toBe(m.weights + m.gradients + m.optimizer + m.constants + m.activations);
  });

  it('LoRA+ trains only adapters, embeddings and norms; LoRA no embeddings', () => {
    const lp = trainingMemory(small, 512, { trainable: 'lora+norm+embed' });
    const counts = trainableParameterCounts(small, 'lora+norm+embed');
    expect(lp.gradients).toBe(4 * counts.trainable);
    expect(lp.optimizer).toBe(8 * counts.trainable);
    expect(lp.weights).toBe(4 * counts.total);
    expect(trainingMemory(small, 512, { trainable: 'lora' }).optimizer).toBeLessThan(lp.optimizer);
  });

  it('S2-Attn stores N x G instead of N x N scores: the gap grows with length', () => {
    const ratio = (n: number) => trainingMemory(small, n).attentionScores / trainingMemory(small, n, { attention: 's2' }).attentionScores;
    expect(ratio(4096)).toBeGreaterThan(3); // 8 N^2 vs 1.875 N^2 score entries
    const gap = (n: number) => trainingMemory(small, n).total - trainingMemory(small, n, { attention: 's2' }).total;
    expect(gap(4096)).toBeGreaterThan(3.5 * gap(2048));
  });

  it('bad input', () => {
    expect(() => trainingMemory(small, 0)).toThrow(/seqLen = 0 must be a positive integer/);
    expect(() => trainingMemory(small, 64, { batchSize: 0 })).toThrow(/batchSize = 0/);
    expect(() => trainingMemory(small, 64, { attention: 'dense' as never })).toThrow(/attention 'dense' must be 'full' or 's2'/);
  });
});
