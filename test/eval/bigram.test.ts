import { PAD, VOCAB_SIZE, buildTokenStream, encode, mobyDickText, sotuSplits } from '../../lib/data';
import { bigramLogProb, bigramLoss, fitBigram } from '../../lib/eval';

describe('bigram baseline', () => {
  // Hand case, vocab 2, alpha 1: pairs of [0,1,0,1,1] are (0,1) (1,0) (0,1) (1,1);
  // counts c01 = 2, c10 = 1, c11 = 1, c00 = 0; row totals 2 and 2; P(b|a) = (c_ab + 1) / (2 + 2).
  const model = fitBigram([0, 1, 0, 1, 1], { vocab: 2, alpha: 1 });

  it('counts pairs and smooths exactly as the formula says', () => {
    expect(Array.from(model.counts)).toEqual([0, 2, 1, 1]);
    expect(Array.from(model.rowTotals)).toEqual([2, 2]);
    expect(Math.exp(bigramLogProb(model, 0, 1))).toBeCloseTo(3 / 4, 15);
    expect(Math.exp(bigramLogProb(model, 0, 0))).toBeCloseTo(1 / 4, 15);
    expect(Math.exp(bigramLogProb(model, 1, 0))).toBeCloseTo(1 / 2, 15);
  });

  it('loss is the mean next-token NLL in nats (hand computation)', () => {
    // training pairs: -ln(3/4), -ln(1/2), -ln(3/4), -ln(1/2) -> ln(8/3) / 2
    expect(bigramLoss(model, [0, 1, 0, 1, 1])).toBeCloseTo(Math.log(8 / 3) / 2, 14);
    // held out [1,1,0,0]: -ln(1/2), -ln(1/2), -ln(1/4) -> 4 ln 2 / 3
    expect(bigramLoss(model, [1, 1, 0, 0])).toBeCloseTo((4 * Math.log(2)) / 3, 14);
    // rows of 2: only (0,1) twice is scored, the (1,0) pair straddles the rows
    expect(bigramLoss(model, [0, 1, 0, 1], { rowLength: 2 })).toBeCloseTo(-Math.log(3 / 4), 14);
  });

  it('each conditional distribution sums to one (byte vocabulary)', () => {
    const m = fitBigram(encode('the cat sat on the mat', { eos: true }), { alpha: 0.5 });
    for (const a of [116, 32, 0, 257]) {
      let s = 0;
      for (let b = 0; b < VOCAB_SIZE; b++) s += Math.exp(bigramLogProb(m, a, b));
      expect(s).toBeCloseTo(1, 12);
    }
  });

  it('never counts or scores PAD as a target', () => {
    const m = fitBigram([97, 98, PAD, PAD, 97, 98]);
    expect(m.rowTotals[98]).toBe(0); // (98, PAD) skipped; the last 98 has no successor
    expect(m.rowTotals[97]).toBe(2);
    expect(m.counts[PAD * VOCAB_SIZE + 97]).toBe(1); // (PAD, 97) is a real context
    expect(bigramLoss(m, [97, 98, PAD])).toBeCloseTo(-bigramLogProb(m, 97, 98), 14);
  });

  it('on real text beats the unigram entropy of the same split (SOTU train -> validation, and Moby Dick)', () => {
    const { train, validation } = sotuSplits();
    const trainTokens = buildTokenStream(train);
    const validTokens = buildTokenStream(validation);
    const m = fitBigram(trainTokens);
    const valid = bigramLoss(m, validTokens);
    const moby = bigramLoss(m, encode(mobyDickText()));
    // unigram (add-one) cross-entropy as the weaker reference
    const uni = new Float64Array(VOCAB_SIZE).fill(1);
    for (const t of trainTokens) uni[t] += 1;
    const z = uni.reduce((s, c) => s + c, 0);
    let h = 0;
    for (let i = 1; i < validTokens.length; i++) h -= Math.log(uni[validTokens[i]] / z);
    const unigram = h / (validTokens.length - 1);
    console.log(`bigram (alpha 1) on SOTU validation: ${valid.toFixed(4)} nats/token, Moby Dick: ${moby.toFixed(4)}; unigram on SOTU validation: ${unigram.toFixed(4)}`);
    expect(valid).toBeLessThan(unigram - 0.5);
    expect(valid).toBeGreaterThan(1.5);
    expect(valid).toBeLessThan(3);
  });

  it('rejects bad input with clear messages', () => {
    expect(() => fitBigram([1, 2], { alpha: 0 })).toThrow('fitBigram: alpha must be a finite number > 0');
    expect(() => fitBigram([1])).toThrow('fitBigram: need at least 2 tokens to count a pair');
    expect(() => fitBigram([1, 259])).toThrow('fitBigram: token id 259 at position 1 is outside the vocabulary [0, 259)');
    expect(() => fitBigram([0, 2], { vocab: 2 })).toThrow('token id 2 at position 1 is outside the vocabulary [0, 2)');
    expect(() => fitBigram([0, 1], { smoothing: 1 } as never)).toThrow("fitBigram: unknown option 'smoothing'");
    expect(() => bigramLoss(model, [0])).toThrow('bigramLoss: no token pair to score in 1 tokens');
    expect(() => bigramLoss(model, [0, 5])).toThrow('bigramLoss: token id 5 at position 1 is outside the vocabulary [0, 2)');
    expect(() => bigramLoss({} as never, [0, 1])).toThrow('bigramLoss: model must come from fitBigram');
    expect(() => bigramLoss(model, [0, 1], { rowLength: 0 })).toThrow('bigramLoss: rowLength must be a positive integer, got 0');
  });
});
