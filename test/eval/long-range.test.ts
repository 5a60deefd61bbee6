/**
 * The long-range measure on toy models whose answer is known: a copying model that sees far enough
 * scores the second copy far below its control; the same model limited to a shorter look-back, or
 * a model that ignores context, scores them alike.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Tensor3D } from '../../lib/backend';
import { longRangeWindows } from '../../lib/data';
import { evaluateLongRange } from '../../lib/eval';
import { LlamaForCausalLM, makeConfig, presets } from '../../lib/model';

const VOCAB = 64;
/** Pseudo-random tokens (an LCG's high bits): trigrams almost never repeat by chance. */
const text = (() => {
  let state = 12345;
  return Int32Array.from({ length: 8000 }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 26; // [0, 64)
  });
})();

/**
 * Predicts the token that followed the latest earlier occurrence of the last 3 tokens within
 * `lookBack` positions (probability 0.9), else uniform: an induction head with a horizon.
 */
function copyingModel(lookBack: number) {
  return {
    config: { vocabSize: VOCAB },
    forward(ids: Tensor2D): Tensor3D {
      const row = ids.arraySync()[0];
      const n = row.length;
      const logits = new Float32Array(n * VOCAB); // uniform
      for (let t = 3; t < n; t++) {
        for (let j = t - 1; j >= Math.max(3, t - lookBack); j--) {
          if (row[j - 1] === row[t] && row[j - 2] === row[t - 1] && row[j - 3] === row[t - 2]) {
            logits[t * VOCAB + row[j]] = Math.log(0.9 * (VOCAB - 1) / 0.1);
            break;
          }
        }
      }
      return tf.tensor3d(logits, [1, n, VOCAB]);
    },
  };
}

describe('evaluateLongRange', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });
  const windows = longRangeWindows(text, { seqLen: 256, passageLength: 32, count: 6, seed: 2 });

  it('a model given the copy scores the second passage lower than its control', async () => {
    const r = await evaluateLongRange(copyingModel(256), windows);
    expect(r.copyPerplexity).toBeLessThan(2);
    expect(r.controlPerplexity).toBeGreaterThan(30);
    expect(r.gain).toBeGreaterThan(15);
    expect(r.copyAccuracy).toBeGreaterThan(0.9);
    expect(r.distance[0]).toBeGreaterThanOrEqual(128);
    expect(r.tokensScored).toBe(6 * (32 - 8));
  });

  it('the same model with a look-back shorter than the distance gains nothing', async () => {
    const r = await evaluateLongRange(copyingModel(64), windows);
    expect(r.gain).toBeGreaterThan(0.9);
    expect(r.gain).toBeLessThan(1.1);
    expect(r.copyPerplexity).toBeGreaterThan(30);
  });

  it('an untrained Llama scores copy and control alike, and frees its tensors', async () => {
    const model = LlamaForCausalLM.create(makeConfig(presets.tiny, { maxPositionEmbeddings: 256 }), { seed: 0 });
    const vocabWindows = longRangeWindows(Int32Array.from(text, (x) => x + 3), { seqLen: 128, passageLength: 32, count: 1, seed: 2 });
    await evaluateLongRange(model, vocabWindows); // builds the cached RoPE tables once
    const before = tf.memory().numTensors;
    const r = await evaluateLongRange(model, vocabWindows);
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(Math.log(r.gain))).toBeLessThan(0.05);
    model.dispose();
  });

  it('rejects an empty window list and unknown options', async () => {
    await expect(evaluateLongRange(copyingModel(8), [])).rejects.toThrow(/windows must be a non-empty array/);
    await expect(evaluateLongRange(copyingModel(8), windows, { stride: 1 } as never)).rejects.toThrow(/stride/);
  });
});
