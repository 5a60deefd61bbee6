/** Committed fixtures of test/data, read from disk (the test tsconfig has no resolveJsonModule). */
import { readFileSync } from 'fs';
import { join } from 'path';

/** One official (n_garbage, seed) passkey case, computed by numpy (see fixtures/make-passkey-fixture.py). */
export interface OfficialPasskeyCase {
  n_garbage: number;
  seed: number;
  n_garbage_prefix: number;
  pass_key: number;
  prompt_chars: number;
  prompt_sha256: string;
  /** The whole prompt, for small n_garbage and seeds 0-2. */
  prompt?: string;
}

/** fixtures/passkey-official.json. */
export interface OfficialPasskeyFixture {
  source: string;
  garbage_inf_chars: number;
  length_rule: { interval: number; n_garbage: number[] };
  cases: OfficialPasskeyCase[];
}

/** Loads fixtures/passkey-official.json. */
export function loadPasskeyFixture(): OfficialPasskeyFixture {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', 'passkey-official.json'), 'utf8')) as OfficialPasskeyFixture;
}
