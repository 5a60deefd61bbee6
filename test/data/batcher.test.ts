import { BOS, EOS, PAD, WindowBatcher, buildTokenStream, sotuSplits, byteLength } from '../../lib/data';
import { IGNORE_INDEX, deriveSeed, Rng } from '../../lib/util';
import type { WindowBatch } from '../../lib/data';

/** tokens 0..n-1 (all valid byte ids), so a window's content tells where it came from. */
function ramp(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function rows(b: WindowBatch): number[][] {
  return Array.from({ length: b.batchSize }, (_, r) => Array.from(b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen)));
}

describe('buildTokenStream', () => {
  it('joins documents with EOS (none after the last), optional BOS at the start', () => {
    const docs = [{ id: 'a', title: '', text: 'ab' }, { id: 'b', title: '', text: 'c' }, { id: 'c', title: '', text: 'é' }];
    expect(Array.from(buildTokenStream(docs))).toEqual([97, 98, EOS, 99, EOS, 0xc3, 0xa9]);
    expect(Array.from(buildTokenStream(docs, { bos: true }))).toEqual([BOS, 97, 98, EOS, 99, EOS, 0xc3, 0xa9]);
    expect(Array.from(buildTokenStream(docs, { eos: false }))).toEqual([97, 98, 99, 0xc3, 0xa9]);
    expect(buildTokenStream([])).toEqual(new Int32Array(0));
  });

  it('tokenizes the SOTU training split to bytes + separators', () => {
    const { train } = sotuSplits();
    const stream = buildTokenStream(train);
    const expected = train.reduce((s, d) => s + byteLength(d.text), 0) + train.length - 1;
    console.log(`SOTU train stream: ${stream.length} tokens from ${train.length} addresses`);
    expect(stream.length).toBe(expected);
    expect(stream.filter((t) => t === EOS).length).toBe(train.length - 1);
    expect(Math.max(...stream.subarray(0, 100000))).toBeLessThan(PAD);
  });

  it('rejects bad input', () => {
    expect(() => buildTokenStream('abc' as never)).toThrow('buildTokenStream: docs must be an array of documents');
    expect(() => buildTokenStream([{ id: 'x' } as never])).toThrow('buildTokenStream: document 0 has no text string');
    expect(() => buildTokenStream([], { sep: true } as never)).toThrow("buildTokenStream: unknown option 'sep'");
  });
});

describe('WindowBatcher', () => {
  it('cuts non-overlapping windows in stream order without shuffle, dropping the short tail (hand case)', () => {
    // 23 tokens, seqLen 5: windows [0..4] [5..9] [10..14] [15..19]; 20, 21, 22 are the dropped tail.
    const b = new WindowBatcher(ramp(23), { seqLen: 5, batchSize: 2, shuffle: false });
    expect(b.numWindows).toBe(4);
    expect(b.batchesPerEpoch).toBe(2);
    const b0 = b.next();
    expect(rows(b0)).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    expect(b0).toMatchObject({ batchSize: 2, seqLen: 5, epoch: 0, index: 0, starts: [0, 5] });
    expect(Array.from(b0.labels)).toEqual(Array.from(b0.inputIds));
    const b1 = b.next();
    expect(rows(b1)).toEqual([[10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]);
    const b2 = b.next();
    expect(b2).toMatchObject({ epoch: 1, index: 2, starts: [0, 5] });
  });

  it('with dropLast false, the last batch of an epoch is smaller; with dropLast true it is dropped', () => {
    const keep = new WindowBatcher(ramp(20), { seqLen: 5, batchSize: 3, shuffle: false, dropLast: false });
    expect(keep.batchesPerEpoch).toBe(2);
    expect(keep.next().starts).toEqual([0, 5, 10]);
    const last = keep.next();
    expect(last).toMatchObject({ batchSize: 1, epoch: 0, starts: [15] });
    expect(last.inputIds.length).toBe(5);
    expect(keep.next()).toMatchObject({ epoch: 1, starts: [0, 5, 10] });
    const drop = new WindowBatcher(ramp(20), { seqLen: 5, batchSize: 3, shuffle: false });
    expect(drop.batchesPerEpoch).toBe(1);
    drop.next();
    expect(drop.next()).toMatchObject({ epoch: 1, starts: [0, 5, 10] });
  });

  it('every epoch visits each window exactly once, in a seeded order that changes per epoch', () => {
    const tokens = ramp(250);
    const b = new WindowBatcher(tokens, { seqLen: 10, batchSize: 5, seed: 42 });
    const epochs: number[][] = [[], [], []];
    for (let i = 0; i < 15; i++) {
      const batch = b.next();
      epochs[batch.epoch].push(...batch.starts);
      // every row is the stream slice at its start
      rows(batch).forEach((row, r) => expect(row).toEqual(Array.from(tokens.subarray(batch.starts[r], batch.starts[r] + 10))));
    }
    for (const e of epochs) expect([...e].sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, i) => i * 10));
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(epochs[0]).not.toEqual(Array.from({ length: 25 }, (_, i) => i * 10)); // actually shuffled
    // the order of epoch e is the permutation drawn from deriveSeed(seed, e)
    expect(epochs[1]).toEqual(Array.from(new Rng(deriveSeed(42, 1)).permutation(25), (w) => w * 10));
    // same seed, same order; another seed, another order
    const again = new WindowBatcher(tokens, { seqLen: 10, batchSize: 5, seed: 42 });
    expect(again.next().starts).toEqual(epochs[0].slice(0, 5));
    const other = new WindowBatcher(tokens, { seqLen: 10, batchSize: 5, seed: 43 });
    expect(other.next().starts).not.toEqual(epochs[0].slice(0, 5));
  });

  it('state/restore (through JSON) continues with exactly the batches of an uninterrupted run, across epochs', () => {
    const tokens = ramp(230);
    const options = { seqLen: 7, batchSize: 4, seed: 5, dropLast: false };
    const straight = new WindowBatcher(tokens, options);
    const reference = Array.from({ length: 20 }, () => straight.next());
    for (const stopAt of [0, 3, 8, 9, 15]) {
      const first = new WindowBatcher(tokens, options);
      for (let i = 0; i < stopAt; i++) first.next();
      const saved = JSON.stringify(first.state());
      const resumed = new WindowBatcher(tokens, options);
      resumed.restore(JSON.parse(saved));
      for (let i = stopAt; i < 20; i++) {
        const got = resumed.next();
        expect(got.index).toBe(i);
        expect(got.epoch).toBe(reference[i].epoch);
        expect(Array.from(got.inputIds)).toEqual(Array.from(reference[i].inputIds));
      }
    }
    // negative control: a fresh batcher without restore does not continue the run
    expect(new WindowBatcher(tokens, options).next().starts).not.toEqual(reference[9].starts);
  });

  it('labels replace PAD with IGNORE_INDEX', () => {
    const tokens = Int32Array.from([1, 2, PAD, PAD]);
    const b = new WindowBatcher(tokens, { seqLen: 4, batchSize: 1 });
    expect(Array.from(b.next().labels)).toEqual([1, 2, IGNORE_INDEX, IGNORE_INDEX]);
  });

  it('refuses to restore a state from other tokens or options, naming the field', () => {
    const b = new WindowBatcher(ramp(100), { seqLen: 10, batchSize: 2 });
    const s = b.state();
    expect(() => new WindowBatcher(ramp(100), { seqLen: 5, batchSize: 2 }).restore(s)).toThrow(
      'WindowBatcher.restore: state.seqLen is 10 but this batcher has 5; restore into a batcher built on the same tokens with the same options',
    );
    const other = ramp(100);
    other[50] = 7;
    expect(() => new WindowBatcher(other, { seqLen: 10, batchSize: 2 }).restore(s)).toThrow('state.tokensHash is');
    expect(() => b.restore({ ...s, seed: 1 })).toThrow('state.seed is 1 but this batcher has 0');
    expect(() => b.restore({ ...s, cursor: -1 })).toThrow('WindowBatcher.restore: state.cursor must be a non-negative integer, got -1');
    expect(() => b.restore({ version: 2 } as never)).toThrow('WindowBatcher.restore: expected a state from WindowBatcher.state() (version 1)');
  });

  it('rejects bad options and too-short text with the counts', () => {
    const t = ramp(30);
    expect(() => new WindowBatcher(t, { seqLen: 0, batchSize: 1 })).toThrow('WindowBatcher: seqLen must be a positive integer, got 0');
    expect(() => new WindowBatcher(t, { seqLen: 4, batchSize: 1.5 })).toThrow('WindowBatcher: batchSize must be a positive integer, got 1.5');
    expect(() => new WindowBatcher(t, { seqLen: 4, batchSize: -1 })).toThrow('batchSize must be a positive integer, got -1');
    expect(() => new WindowBatcher(ramp(3), { seqLen: 5, batchSize: 1 })).toThrow(
      'WindowBatcher: the text is too short for one window: it has 3 tokens and one window of seqLen 5 needs 5; use more text or a smaller seqLen',
    );
    expect(() => new WindowBatcher(t, { seqLen: 10, batchSize: 4 })).toThrow(
      'WindowBatcher: the text is too short for one batch: 30 tokens give 3 windows of 10, but a batch needs 4 windows (40 tokens)',
    );
    expect(() => new WindowBatcher(Int32Array.from([1, 2, 300, 4]), { seqLen: 2, batchSize: 1 })).toThrow(
      'WindowBatcher: token id 300 at position 2 is outside the vocabulary [0, 259)',
    );
    expect(() => new WindowBatcher([1, 2] as never, { seqLen: 1, batchSize: 1 })).toThrow('WindowBatcher: tokens must be an Int32Array');
    expect(() => new WindowBatcher(t, { seqLen: 5, batchSize: 1, shuffel: true } as never)).toThrow("WindowBatcher: unknown option 'shuffel'");
    expect(() => new WindowBatcher(t, { seqLen: 5, batchSize: 1, seed: 2 ** 32 })).toThrow('WindowBatcher: seed must be an integer in [0, 2^32)');
  });
});
