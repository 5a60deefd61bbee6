/**
 * A small seedable PRNG for everything the data side draws at random (splits, window order,
 * passkeys, QA examples). `Math.random` cannot be seeded, and the same seed must give the same
 * draws on every machine and in the browser, so all arithmetic here is 32-bit integer arithmetic
 * (`Math.imul`, `>>>`), never floating point.
 *
 * Generator: mulberry32 (Tommy Ettinger, public domain), the same generator test/helpers.ts uses
 * for `seededValues`. Its whole state is one uint32, so `state()` / `restore()` are trivial and the
 * state survives a JSON round trip.
 */
import { checkPositiveInt, checkSeed, describe } from './options';

/** The JSON-serialisable state of an {@link Rng}. */
export interface RngState {
  kind: 'mulberry32';
  /** The generator's uint32 state. */
  state: number;
}

/** MurmurHash3's 32-bit finaliser: a bijective mix with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives an independent 32-bit seed from a base seed and integer coordinates, e.g.
 * `deriveSeed(seed, epoch)` for the window order of one epoch or `deriveSeed(seed, exampleIndex)`
 * for one generated example. Making example i a pure function of (seed, i) is what lets a resumed
 * run regenerate exactly the examples it would have seen.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const p of parts) {
    if (!Number.isSafeInteger(p) || p < 0) throw new Error(`deriveSeed: parts must be non-negative integers, got ${describe(p)}`);
    // Fold in both 32-bit halves so indices above 2^32 still give distinct seeds.
    h = fmix32((h ^ Math.imul((p >>> 0) ^ 0x632be5ab, 0x2545f491)) >>> 0);
    h = fmix32((h ^ Math.floor(p / 0x100000000)) >>> 0);
  }
  return h;
}

/** Seedable PRNG (mulberry32) with exact, JSON-serialisable state. */
export class Rng {
  private s: number;

  /** `seed`: an integer in [0, 2^32). */
  constructor(seed: number) {
    this.s = checkSeed('Rng', seed) >>> 0;
  }

  /** A new generator continuing from a saved state. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.restore(state);
    return rng;
  }

  /** The next uniform uint32 in [0, 2^32). */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling, not `% n`). `n` in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1 || n > 4294967296) {
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${describe(n)}`);
    }
    return this.below(n);
  }

  /** `int` without the argument check, for the hot loops below. */
  private below(n: number): number {
    const limit = Math.floor(4294967296 / n) * n; // largest multiple of n not above 2^32
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }

  /** A uniform integer in [lo, hi] (both ends included). */
  intBetween(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new Error(`Rng.intBetween: need integers lo <= hi, got lo=${describe(lo)}, hi=${describe(hi)}`);
    }
    return lo + this.int(hi - lo + 1);
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: the array is empty; pass at least one item');
    return items[this.int(items.length)];
  }

  /** `k` distinct elements of `items`, in random order (a partial Fisher-Yates shuffle from the front; `items` is not changed). */
  sample<T>(items: readonly T[], k: number): T[] {
    if (!Number.isInteger(k) || k < 0 || k > items.length) throw new Error(`Rng.sample: k must be an integer from 0 to ${items.length} (the number of items), got ${describe(k)}`);
    const pool = items.slice();
    for (let i = 0; i < k; i++) {
      const j = i + this.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, k);
  }

  /** Shuffles `items` in place (Fisher-Yates, from the end) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** A random permutation of 0..n-1 as an Int32Array. */
  permutation(n: number): Int32Array {
    if (n !== 0) checkPositiveInt('Rng.permutation', 'n', n);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The generator's state as plain JSON. */
  state(): RngState {
    return { kind: 'mulberry32', state: this.s };
  }

  /** Continues from a state returned by {@link Rng.state}. */
  restore(state: RngState): void {
    if (
      state === null ||
      typeof state !== 'object' ||
      state.kind !== 'mulberry32' ||
      !Number.isInteger(state.state) ||
      state.state < 0 ||
      state.state > 0xffffffff
    ) {
      throw new Error(`Rng.restore: expected { kind: 'mulberry32', state: uint32 } from Rng.state(), got ${JSON.stringify(state)}`);
    }
    this.s = state.state >>> 0;
  }
}
