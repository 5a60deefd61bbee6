/**
 * The part of numpy's legacy global RNG (`numpy.random.seed` / `numpy.random.randint`, i.e.
 * `RandomState` on MT19937) that the official passkey script uses, so that `officialPasskeyTrial`
 * produces the very prompts and pass keys that `passkey_retrivial.py` tests for a given seed.
 *
 * - `seed(s)` with an integer is MT19937's `init_genrand(s)` (numpy `_legacy_seeding` ->
 *   `mt19937_seed`), not `init_by_array`.
 * - `randint(low, high)` (high exclusive, default int64 dtype) draws with the *masked rejection*
 *   method: mask = the smallest 2^k - 1 >= high - 1 - low, take 32-bit outputs & mask until one is
 *   <= high - 1 - low. The legacy stream is frozen by numpy's compatibility policy (NEP 19), so
 *   numpy 1.x and 2.x give the same draws; test/data/fixtures/passkey-official.json was produced
 *   by numpy itself and checks this port.
 */
import { checkSeed, describe } from '../util/options';

const N = 624;
const M = 397;

/** numpy's legacy `RandomState` (MT19937), restricted to integer seeding and 32-bit-range `randint`. */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  /** Same as `numpy.random.RandomState(seed)`; `seed` an integer in [0, 2^32). */
  constructor(seed: number) {
    this.seed(seed);
  }

  /** `numpy.random.seed(seed)` with an integer seed (MT19937 `init_genrand`). */
  seed(seed: number): void {
    let s = checkSeed('NumpyRandomState.seed', seed) >>> 0;
    for (let i = 0; i < N; i++) {
      this.mt[i] = s;
      // 1812433253 * (s ^ (s >>> 30)) + i + 1, modulo 2^32
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
    this.pos = N;
  }

  /** The next raw 32-bit MT19937 output (`genrand_int32`). */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `numpy.random.randint(low, high)`: a uniform integer in [low, high), for high - low <= 2^32. */
  randint(low: number, high: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) {
      throw new Error(`NumpyRandomState.randint: low and high must be integers, got ${describe(low)}, ${describe(high)}`);
    }
    if (high <= low) throw new Error(`NumpyRandomState.randint: low >= high (${low} >= ${high}), as numpy raises; pass high > low`);
    const rng = high - 1 - low;
    if (rng > 0xffffffff) throw new Error(`NumpyRandomState.randint: ranges above 2^32 are not ported (high - low = ${high - low})`);
    if (rng === 0) return low; // numpy draws nothing in this case
    if (rng === 0xffffffff) return low + this.nextUint32();
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= rng) return low + v;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      let v = mt[(i + M) % N] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.pos = 0;
  }
}
