/**
 * The eval.py perplexity protocol: window starts by hand, a uniform model's perplexity equals the
 * vocabulary size, both aggregations against a hand computation, and bad input.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Tensor3D } from '../../lib/backend';
import { evaluatePerplexity, windowStarts, evenlySpaced } from '../../lib/eval';
import type { CausalLM } from '../../lib/eval';

/** A model whose logits ignore the input: uniform, or favouring one token. */
function constantModel(vocab: number, favour?: { token: number; logit: number }): CausalLM & { seen: number[][] } {
  const seen: number[][] = [];
  return {
    config: { vocabSize: vocab },
    seen,
    forward(ids: Tensor2D): Tensor3D {
      seen.push(Array.from(ids.dataSync()));
      const [b, t] = ids.shape;
      const row = new Float32Array(vocab);
      if (favour) row[favour.token] = favour.logit;
      return tf.tidy(() => tf.tile(tf.tensor3d(row, [1, 1, vocab]), [b, t, 1]) as Tensor3D);
    },
  };
}

describe('perplexity (eval.py protocol)', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it('window starts: range(0, len - L, stride), eval.py pops the last', () => {
    expect(windowStarts(20, 8, 4, 'eval_distributed')).toEqual([0, 4, 8]);
    expect(windowStarts(20, 8, 4, 'eval')).toEqual([0, 4]);
    expect(windowStarts(21, 8, 4, 'eval_distributed')).toEqual([0, 4, 8, 12]);
    expect(evenlySpaced([0, 1, 2, 3, 4, 5, 6, 7, 8], 3)).toEqual([0, 4, 8]);
  });

  it('scores exactly the windows and tokens the protocol says (hand-built case)', async () => {
    const tokens = Int32Array.from({ length: 21 }, (_, i) => i % 7);
    const model = constantModel(7);
    const [row] = await evaluatePerplexity(model, tokens, { seqLens: [8], stride: 4 });
    // eval_distributed windows start at 0, 4, 8, 12; eval.py drops 12
    expect(model.seen).toEqual([0, 4, 8, 12].map((s) => Array.from(tokens.subarray(s, s + 8))));
    expect(row.windowsAvailable).toBe(3);
    expect(row.windowsScored).toBe(3);
    expect(row.tokenWeightedWindows).toBe(4);
    expect(row.tokensScored).toBe(4 * 7); // every token but the first of each window is predicted
  });

  it('a uniform model has perplexity equal to the vocabulary size', async () => {
    const tokens = Int32Array.from({ length: 600 }, (_, i) => (i * 31) % 259);
    const [row] = await evaluatePerplexity(constantModel(259), tokens, { seqLens: [64], stride: 32, maxWindows: 5 });
    expect(row.perplexity).toBeCloseTo(259, 3);
    expect(row.tokenWeightedPerplexity).toBeCloseTo(259, 3);
    expect(row.windowsScored).toBe(5); // 5 evenly spaced over eval.py's windows: all in its mean
    expect(row.tokenWeightedWindows).toBe(5);
    expect(row.maxWindows).toBe(5);
  });

  it('the two aggregations against a hand computation', async () => {
    // vocab 2, logits favour token 1 by ln 3: p(1) = 3/4, p(0) = 1/4
    const tokens = Int32Array.from([0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1]);
    const model = constantModel(2, { token: 1, logit: Math.log(3) });
    const [row] = await evaluatePerplexity(model, tokens, { seqLens: [4], stride: 2 });
    const nll = (t: number) => (t === 1 ? -Math.log(0.75) : -Math.log(0.25));
    const windowLoss = (s: number) => (nll(tokens[s + 1]) + nll(tokens[s + 2]) + nll(tokens[s + 3])) / 3;
    const evalStarts = [0, 2, 4, 6]; // range(0, 8, 2) = 0 2 4 6, minus the last... eval.py: [0, 2, 4]
    const evalMean = [0, 2, 4].map(windowLoss).reduce((a, b) => a + b, 0) / 3;
    const tokenMean = evalStarts.map(windowLoss).reduce((a, b) => a + b, 0) / 4;
    expect(row.meanLoss).toBeCloseTo(evalMean, 6);
    expect(row.tokenWeightedLoss).toBeCloseTo(tokenMean, 6);
    expect(row.perplexity).toBeCloseTo(Math.exp(evalMean), 5);
    // accuracy: the model always predicts 1
    const predicted = evalStarts.flatMap((s) => [1, 2, 3].map((k) => tokens[s + k]));
    expect(row.accuracy).toBeCloseTo(predicted.filter((t) => t === 1).length / predicted.length, 6);
  });

  it('bad input: stride, window size, text length', async () => {
    const tokens = Int32Array.from({ length: 100 }, () => 1);
    const m = constantModel(3);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [16], stride: 0 })).rejects.toThrow(/stride = 0 must be a positive integer/);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [16], stride: 32 })).rejects.toThrow(/stride 32 is larger than the window 16/);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [95], stride: 8 })).rejects.toThrow(/the text has 100 tokens, too few for one window of 95 at stride 8 \(needs more than 103 tokens\)/);
    await expect(evaluatePerplexity(m, new Int32Array(0), { seqLens: [8] })).rejects.toThrow(/non-empty Int32Array/);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [] })).rejects.toThrow(/at least one evaluation length/);
  });

  it('bad options: unknown keys, missing options, wrong types; windowStarts refuses a step that would never end', async () => {
    const tokens = Int32Array.from({ length: 100 }, () => 1);
    const m = constantModel(3);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [16], maxWindow: 2 } as never)).rejects.toThrow(/perplexity: unknown option 'maxWindow' \(did you mean 'maxWindows'\?\); valid options are 'seqLens', 'stride'/);
    await expect(evaluatePerplexity(m, tokens, undefined as never)).rejects.toThrow(/perplexity: options = undefined; pass at least \{ seqLens: \[...\] \}/);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [16], allowExtrapolation: 'yes' } as never)).rejects.toThrow(/perplexity: allowExtrapolation must be true or false, got "yes"/);
    await expect(evaluatePerplexity(m, tokens, { seqLens: [16], onWindow: 1 } as never)).rejects.toThrow(/perplexity: onWindow = 1 must be a function/);
    expect(m.seen).toEqual([]); // nothing ran
    // a non-positive or fractional stride used to loop until memory ran out
    expect(() => windowStarts(100, 10, 0)).toThrow(/windowStarts: stride \(official 256\) must be a positive integer, got 0/);
    expect(() => windowStarts(100, 10, -4)).toThrow(/stride \(official 256\) must be a positive integer, got -4/);
    expect(() => windowStarts(100, 10, 0.5)).toThrow(/must be a positive integer, got 0.5/);
    expect(() => windowStarts(100, 0, 4)).toThrow(/windowStarts: seqLen must be a positive integer, got 0/);
    expect(() => windowStarts(NaN, 8, 4)).toThrow(/windowStarts: numTokens must be a non-negative integer, got NaN/);
    expect(() => windowStarts(100, 8, 4, 'eval.py' as never)).toThrow(/windowStarts: protocol = "eval.py" must be 'eval' \(eval.py\) or 'eval_distributed'/);
    expect(windowStarts(5, 8, 4)).toEqual([]);
  });
});
