/**
 * Timing for benchmarks: a warm-up, then the median of several runs (these machines are noisy;
 * medians and ratios measured in one run are what we report).
 */
export interface TimingOptions {
  /** Untimed runs first (compilation, packing caches, heap growth). Default 1. */
  warmup?: number;
  /** Timed runs; the median is reported. Default 5. */
  runs?: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

/** Times `fn` (which must wait for its results, e.g. with `dataSync` or `await data()`). */
export async function timeIt(fn: () => unknown | Promise<unknown>, { warmup = 1, runs = 5 }: TimingOptions = {}): Promise<Timing> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`timeIt: runs = ${runs} must be a positive integer`);
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const medianMs = times.length % 2 === 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { medianMs, minMs: times[0], maxMs: times[times.length - 1], runs };
}
