/**
 * The FLOPs model against the LongLoRA paper's FLOPs table (v3 Table 11, Llama-2 7B, TFLOPs):
 * Attn, Proj and FFN exactly (to the table's 0.1), Others to its rounding, Total as the paper sums it.
 */
import { flopsBreakdown } from '../../lib/cost';
import { PAPER_FLOPS } from '../../lib/experiments';

const LLAMA2_7B = { vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32, numAttentionHeads: 32, numKeyValueHeads: 32 };
const LLAMA2_70B = { vocabSize: 32000, hiddenSize: 8192, intermediateSize: 28672, numHiddenLayers: 80, numAttentionHeads: 64, numKeyValueHeads: 8 };

// [context, S2?, Attn, Proj, FFN, Others, Total] from the paper (one copy, which the reports print too)
const PAPER = PAPER_FLOPS;

it('the paper table is the paper\'s (spot checks of v3 Table 11)', () => {
  expect(PAPER).toHaveLength(8);
  expect(PAPER[0]).toEqual([8192, false, 35.2, 35.2, 70.9, 2.2, 143.5]);
  expect(PAPER[7]).toEqual([65536, true, 562.9, 281.5, 567.4, 17.3, 1429.1]);
});

const tera = (x: number) => Math.round(x / 1e11) / 10; // to the table's 0.1 TFLOPs

describe('flopsBreakdown reproduces the paper (Llama-2 7B)', () => {
  it.each(PAPER)('n = %i, S2 %s', (n, s2, attn, proj, ffn, others, total) => {
    const f = flopsBreakdown(LLAMA2_7B, n, { attention: s2 ? 's2' : 'full' });
    expect([tera(f.attn), tera(f.proj), tera(f.ffn), tera(f.others)]).toEqual([attn, proj, ffn, others]);
    // the paper's Total is the sum of its rounded parts; ours unrounded is within that rounding
    expect(Math.round((tera(f.attn) + tera(f.proj) + tera(f.ffn) + tera(f.others)) * 10) / 10).toBe(total);
    expect(Math.abs(f.total / 1e12 - total)).toBeLessThanOrEqual(0.2);
  });

  it('attention share: 24.5% at 8192 and 72.2% at 65536 (39.4% with S2), as the paper states', () => {
    const share = (n: number, attention: 'full' | 's2') => {
      const f = flopsBreakdown(LLAMA2_7B, n, { attention });
      return Math.round((1000 * f.attn) / f.total) / 10;
    };
    expect(share(8192, 'full')).toBe(24.5);
    expect(share(65536, 'full')).toBe(72.2);
    expect(share(65536, 's2')).toBe(39.4);
  });

  it('grouped-query attention: k and v projections shrink with the kv heads (70B)', () => {
    const f = flopsBreakdown(LLAMA2_70B, 4096);
    const d = 8192 / 64;
    expect(f.proj).toBe(2 * 4096 * 8192 * (8192 + 2 * 8 * d) * 80 + 2 * 4096 * 8192 * 8192 * 80);
    expect(f.attn).toBe(4 * 4096 * 4096 * 8192 * 80);
  });

  it('bad input', () => {
    expect(() => flopsBreakdown(LLAMA2_7B, 0)).toThrow(/seqLen = 0 must be a positive integer/);
    expect(() => flopsBreakdown(LLAMA2_7B, 8, { groupSizeRatio: 0 })).toThrow(/groupSizeRatio = 0 must be in \(0, 1\]/);
    expect(() => flopsBreakdown({ ...LLAMA2_7B, numAttentionHeads: 3 }, 8)).toThrow(/not divisible/);
  });
});
