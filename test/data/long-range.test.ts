/**
 * Repeated-passage data: the copy is exactly the source at the promised distance, training windows
 * carry repeats at the requested share and resume exactly, evaluation windows label only the copy
 * after its cue and their controls differ only where the source was.
 */
import { RepeatedPassageBatcher, longRangeWindows } from '../../lib/data';
import { IGNORE_INDEX } from '../../lib/util';

const stream = Int32Array.from({ length: 20_000 }, (_, i) => (i * 7919 + ((i * i) % 97)) % 251);

describe('RepeatedPassageBatcher', () => {
  it('writes the passage again at least minDistance later, in inputs and labels, on about `share` of the windows', () => {
    const b = new RepeatedPassageBatcher(stream, { seqLen: 256, batchSize: 4, share: 0.5, passageLength: 32, minDistance: 64, seed: 3 });
    let repeats = 0;
    let rows = 0;
    for (let k = 0; k < 50; k++) {
      const batch = b.next();
      batch.repeats.forEach((p, r) => {
        rows++;
        if (p === null) return;
        repeats++;
        const row = batch.inputIds.subarray(r * 256, (r + 1) * 256);
        expect(p.copy - p.source).toBeGreaterThanOrEqual(64);
        expect(p.copy + p.length).toBeLessThanOrEqual(256);
        expect(Array.from(row.subarray(p.copy, p.copy + 32))).toEqual(Array.from(row.subarray(p.source, p.source + 32)));
        expect(Array.from(batch.labels.subarray(r * 256, (r + 1) * 256))).toEqual(Array.from(row));
      });
    }
    expect(repeats / rows).toBeGreaterThan(0.35);
    expect(repeats / rows).toBeLessThan(0.65);
  });

  it('resumes exactly from state()', () => {
    const opts = { seqLen: 128, batchSize: 2, share: 1, passageLength: 16, minDistance: 32, seed: 9 };
    const a = new RepeatedPassageBatcher(stream, opts);
    for (let k = 0; k < 7; k++) a.next();
    const state = JSON.parse(JSON.stringify(a.state()));
    const expected = a.next();
    const b = new RepeatedPassageBatcher(stream, opts);
    b.restore(state);
    const got = b.next();
    expect(Array.from(got.inputIds)).toEqual(Array.from(expected.inputIds));
    expect(got.repeats).toEqual(expected.repeats);
  });

  it('rejects settings where no copy fits, or a share outside [0, 1], saying what to change', () => {
    expect(() => new RepeatedPassageBatcher(stream, { seqLen: 128, batchSize: 1, passageLength: 64, minDistance: 100 })).toThrow(/exceeds seqLen = 128.*use a longer window/);
    expect(() => new RepeatedPassageBatcher(stream, { seqLen: 128, batchSize: 1, passageLength: 64, minDistance: 32 })).toThrow(/would overlap/);
    expect(() => new RepeatedPassageBatcher(stream, { seqLen: 128, batchSize: 1, share: 1.5 })).toThrow(/share = 1.5 must be a number in \[0, 1\]/);
  });
});

describe('longRangeWindows', () => {
  const windows = longRangeWindows(stream, { seqLen: 256, passageLength: 32, count: 12, cue: 4, seed: 5 });

  it('labels exactly the copy after its cue, at a distance of N/2 or more by default', () => {
    for (const w of windows) {
      const { source, copy, length } = w.placement;
      expect(copy - source).toBeGreaterThanOrEqual(128);
      expect(Array.from(w.inputIds.subarray(copy, copy + length))).toEqual(Array.from(w.inputIds.subarray(source, source + length)));
      w.labels.forEach((l, t) => expect(l).toBe(t >= copy + 4 && t < copy + length ? w.inputIds[t] : IGNORE_INDEX));
    }
  });

  it('controls differ from the window only where the source passage was', () => {
    for (const w of windows) {
      const { source, length } = w.placement;
      const differs = Array.from(w.inputIds, (x, t) => (x !== w.controlIds[t] ? t : -1)).filter((t) => t >= 0);
      expect(differs.length).toBeGreaterThan(0);
      for (const t of differs) {
        expect(t).toBeGreaterThanOrEqual(source);
        expect(t).toBeLessThan(source + length);
      }
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = longRangeWindows(stream, { seqLen: 256, passageLength: 32, count: 12, cue: 4, seed: 5 });
    expect(again.map((w) => Array.from(w.inputIds))).toEqual(windows.map((w) => Array.from(w.inputIds)));
    const other = longRangeWindows(stream, { seqLen: 256, passageLength: 32, count: 12, cue: 4, seed: 6 });
    expect(other.map((w) => w.placement)).not.toEqual(windows.map((w) => w.placement));
  });

  it('rejects a text too short or a cue as long as the passage', () => {
    expect(() => longRangeWindows(stream.subarray(0, 300), { seqLen: 256 })).toThrow(/needs at least 512/);
    expect(() => longRangeWindows(stream, { seqLen: 256, passageLength: 32, cue: 32 })).toThrow(/cue = 32 must be an integer in \[0, passageLength = 32\)/);
  });
});
