/**
 * benchTrainStep's entries on a tiny config (fields, units, GFLOP/s consistent with the FLOPs
 * model of lib/cost, peak bytes at least weights + AdamW state).
 */
import { tf, ready } from '../../lib/backend';
import { presets, makeConfig, parameterCount } from '../../lib/model';
import { benchTrainStep, benchConfig } from '../../lib/bench';
import { trainingStepFlops } from '../../lib/cost';

describe('benchTrainStep', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  it('reports tokens/s, GFLOP/s and a peak that holds weights + grads + AdamW state, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const entries = await benchTrainStep({ config: presets.tiny, seqLens: [16, 64], steps: 1, warmup: 1, log: (l) => lines.push(l) });
    expect(entries.map((e) => [e.seqLen, e.attention])).toEqual([[16, 'full'], [64, 'full']]);
    const weightBytes = 4 * parameterCount(presets.tiny);
    for (const e of entries) {
      expect(e.tokensPerSec).toBeGreaterThan(0);
      expect(e.achievedGflops).toBeGreaterThan(0);
      // GFLOP/s and tokens/s describe the same median step.
      const stepSec = e.seqLen / e.tokensPerSec;
      expect(e.achievedGflops * 1e9 * stepSec).toBeCloseTo(trainingStepFlops(benchConfig(presets.tiny, e.seqLen, 'full'), e.seqLen), -3);
      expect(e.peakBytes).toBeGreaterThan(4 * weightBytes); // weights, gradients, m, v
    }
    expect(entries[1].peakBytes).toBeGreaterThan(entries[0].peakBytes);
    expect(lines[1]).toMatch(/^train step full seq 64: \d+ ms median of 1, \d+ tok\/s, [\d.]+ GFLOP\/s, peak \d+ MiB$/);
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(8); // only per-shape caches (masks, rope tables) remain
    await expect(benchTrainStep({ seqLens: [1] })).rejects.toThrow(/seqLen 1 must be an integer >= 2/);
    await expect(benchTrainStep({ attention: 'sparse' as never })).rejects.toThrow(/attention = 'sparse' must be one of full, s2, s2-roll/);
    await expect(benchTrainStep({ seqlens: [] } as never)).rejects.toThrow(/unknown option\(s\) seqlens/);
  });

  it('with both attentions, alternates their steps at each length: one entry each, peaks measured alone', async () => {
    const [alone] = await benchTrainStep({ config: presets.tiny, seqLens: [32], attention: 's2', steps: 1, warmup: 1 });
    const lines: string[] = [];
    const both = await benchTrainStep({ config: presets.tiny, seqLens: [32, 64], attention: ['full', 's2'], steps: 2, warmup: 1, log: (l) => lines.push(l) });
    expect(both.map((e) => [e.seqLen, e.attention])).toEqual([[32, 'full'], [32, 's2'], [64, 'full'], [64, 's2']]);
    // the other model's weights and AdamW state are not in S2's peak
    expect(both[1].peakBytes).toBe(alone.peakBytes);
    expect(both[0].peakBytes).toBeGreaterThan(both[1].peakBytes);
    expect(both[3].achievedGflops * 1e9 * (64 / both[3].tokensPerSec)).toBeCloseTo(trainingStepFlops(benchConfig(presets.tiny, 64, 's2'), 64, 1, { attention: 's2' }), -3);
    expect(lines).toHaveLength(4);
    await expect(benchTrainStep({ attention: ['s2', 's2'] })).rejects.toThrow(/must name some of full, s2, s2-roll, each once/);
    await expect(benchTrainStep({ attention: [] })).rejects.toThrow(/each once/);
  });

  it('past the context it uses linear position interpolation, as LongLoRA', () => {
    expect(benchConfig(presets.small, 1024, 'full').ropeScaling).toEqual({ type: 'linear', factor: 4 });
    expect(benchConfig(presets.small, 256, 's2')).toMatchObject({ ropeScaling: null, attention: { kind: 's2' } });
    expect(benchConfig(makeConfig(presets.small, {}), 128, 'full').ropeScaling).toBeNull();
  });
});
