/**
 * Timing for benchmarks: a warm-up, then the median of several runs (these machines are noisy;
 * medians and ratios measured in one run are what we report).
 */
import { checkKnownKeys, describe } from '../util/options';

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
export async function timeIt(fn: () => unknown | Promise<unknown>, options: TimingOptions = {}): Promise<Timing> {
  return (await timeInterleaved([fn], options))[0];
}

/**
 * Times several functions in alternation (a, b, a, b, ...) after warming each up: on a noisy machine
 * a slow spell then hits all of them alike, so the ratio of their medians is steadier than when
 * each is timed in its own block.
 */
export async function timeInterleaved(fns: Array<() => unknown | Promise<unknown>>, options: TimingOptions = {}): Promise<Timing[]> {
  // a misspelt key ({ run: 3 }) or a negative / NaN warmup would otherwise time with other settings than asked
  checkKnownKeys('timeIt', options, ['warmup', 'runs']);
  const { warmup = 1, runs = 5 } = options;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`timeIt: runs = ${runs} must be a positive integer`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`timeIt: warmup = ${describe(warmup)} must be an integer >= 0 (untimed runs first)`);
  if (!Array.isArray(fns) || fns.some((f) => typeof f !== 'function')) throw new Error(`timeIt: what to time must be a function (timeInterleaved: a list of functions), got ${describe(Array.isArray(fns) ? fns.find((f) => typeof f !== 'function') : fns)}`);
  for (const fn of fns) for (let i = 0; i < warmup; i++) await fn();
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [j, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      times[j].push(performance.now() - t0);
    }
  }
  return times.map((ts) => ({ medianMs: median(ts), minMs: Math.min(...ts), maxMs: Math.max(...ts), runs }));
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
