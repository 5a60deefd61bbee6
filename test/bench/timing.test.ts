/**
 * Benchmark timing: interleaved runs (so drift on a noisy machine hits every contender alike) and
 * medians of the timed runs only.
 */
import { timeIt, timeInterleaved } from '../../lib/bench/timing';

/** Busy-waits `ms` milliseconds (timers would measure the event loop, not the work). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('timeInterleaved', () => {
  it('alternates the functions after warming each up, and reports each median', async () => {
    const calls: string[] = [];
    const [a, b] = await timeInterleaved(
      [
        () => {
          calls.push('a');
          spin(2);
        },
        () => {
          calls.push('b');
          spin(8);
        },
      ],
      { warmup: 1, runs: 3 },
    );
    expect(calls.join('')).toBe('abababab');
    expect(a.runs).toBe(3);
    expect(a.medianMs).toBeGreaterThanOrEqual(2);
    expect(b.medianMs).toBeGreaterThanOrEqual(8);
    expect(b.medianMs).toBeGreaterThan(a.medianMs);
    expect(a.minMs).toBeLessThanOrEqual(a.medianMs);
    expect(a.maxMs).toBeGreaterThanOrEqual(a.medianMs);
  });

  it('timeIt is the one-function case and rejects a bad run count', async () => {
    let n = 0;
    const t = await timeIt(() => n++, { warmup: 2, runs: 4 });
    expect(n).toBe(6);
    expect(t.runs).toBe(4);
    await expect(timeIt(() => 0, { runs: 0 })).rejects.toThrow(/runs = 0 must be a positive integer/);
  });
});
