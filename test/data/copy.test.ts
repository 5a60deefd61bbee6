/**
 * repeatedStringExamples: the layout decoded back to text, labels exactly on the repeat and its
 * EOS, lengths within range and all drawn, reproducible slices, and every bad option.
 */
import { BOS, EOS, PAD, decode, repeatedStringExamples } from '../../lib/data';
import { IGNORE_INDEX } from '../../lib/util';

describe('repeatedStringExamples', () => {
  const examples = repeatedStringExamples({ seqLen: 40, count: 200, seed: 3 });

  it('lays out [BOS] s " | " s EOS PAD... with labels on the repeat and EOS only', () => {
    for (const { inputIds, labels } of examples) {
      expect(inputIds).toHaveLength(40);
      expect(inputIds[0]).toBe(BOS);
      const eos = inputIds.indexOf(EOS);
      const text = decode(inputIds.subarray(1, eos));
      const match = /^([0-9a-z]+) \| ([0-9a-z]+)$/.exec(text);
      expect(match).not.toBeNull();
      const [, first, second] = match as RegExpExecArray;
      expect(second).toBe(first);
      expect(first.length).toBeGreaterThanOrEqual(4);
      expect(first.length).toBeLessThanOrEqual(16);
      expect([...inputIds.subarray(eos + 1)].every((t) => t === PAD)).toBe(true);
      const repeatStart = 1 + first.length + 3;
      labels.forEach((l, i) => expect(l).toBe(i >= repeatStart && i <= eos ? inputIds[i] : IGNORE_INDEX));
    }
  });

  it('draws every length in range and varied strings', () => {
    const lengths = new Set(examples.map((e) => e.inputIds.indexOf(EOS)));
    expect(lengths.size).toBe(13); // 4..16 characters
    const strings = new Set(examples.map((e) => decode(e.inputIds.subarray(1, 5))));
    expect(strings.size).toBeGreaterThan(190);
  });

  it('example i depends only on (seed, i): slices reproduce, seeds differ', () => {
    const slice = repeatedStringExamples({ seqLen: 40, count: 5, seed: 3, start: 100 });
    slice.forEach((e, i) => expect(e.inputIds).toEqual(examples[100 + i].inputIds));
    const other = repeatedStringExamples({ seqLen: 40, count: 5, seed: 4, start: 100 });
    expect(other.map((e) => [...e.inputIds])).not.toEqual(slice.map((e) => [...e.inputIds]));
  });

  it('honours chars and alphabet', () => {
    for (const { inputIds } of repeatedStringExamples({ seqLen: 20, count: 20, chars: [5, 5], alphabet: '01' })) {
      expect(decode(inputIds.subarray(1, inputIds.indexOf(EOS)))).toMatch(/^([01]{5}) \| \1$/);
    }
  });

  it('builds each string from `distinct` characters of the alphabet, covering the range and the alphabet', () => {
    const few = repeatedStringExamples({ seqLen: 40, count: 300, seed: 5, alphabet: '0123456789', chars: [12, 12], distinct: [2, 4] });
    const counts = new Set<number>();
    const used = new Set<string>();
    for (const { inputIds } of few) {
      const s = decode(inputIds.subarray(1, 13));
      const symbols = new Set(s);
      // 12 characters from k symbols: all k appear with overwhelming probability, never more than 4
      expect(symbols.size).toBeLessThanOrEqual(4);
      counts.add(symbols.size);
      symbols.forEach((c) => used.add(c));
    }
    expect([...counts].sort()).toEqual([2, 3, 4]);
    expect(used.size).toBe(10);
    // the default is the whole alphabet, drawn exactly as without the option
    const all = repeatedStringExamples({ seqLen: 40, count: 20, seed: 3, distinct: [36, 36] });
    all.forEach((e, i) => expect(e.inputIds).toEqual(examples[i].inputIds));
  });

  it.each([
    [{ seqLen: 40, count: 1, alphabet: '0123', distinct: [2, 5] }, /distinct must be \[min, max\] with integers 1 <= min <= max <= 4 \(the alphabet's length\), got \[2,5\]/],
    [{ seqLen: 40, count: 1, distinct: [0, 2] }, /distinct must be/],
    [{ seqLen: 20, count: 1 }, /seqLen 20 cannot hold a 16-character string twice .* use seqLen >= 37/],
    [{ seqLen: 40, count: 0 }, /count/],
    [{ seqLen: 40, count: 1, chars: [0, 3] }, /chars must be \[min, max\] with integers 1 <= min <= max/],
    [{ seqLen: 40, count: 1, chars: [6, 5] }, /chars must be/],
    [{ seqLen: 40, count: 1, alphabet: '' }, /alphabet must be a non-empty string/],
    [{ seqLen: 40, count: 1, alphabet: 'ab|' }, /other than '\|'/],
    [{ seqLen: 40, count: 1, alphabet: 'aé' }, /printable ASCII/],
    [{ seqLen: 40, count: 1, length: 3 }, /length/],
  ])('rejects %j', (options, message) => {
    expect(() => repeatedStringExamples(options as never)).toThrow(message);
  });
});
