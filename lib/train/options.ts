/** Run-time checks for `Partial<Config>` overrides (unknown keys are errors, as everywhere in the library). */

/** Throws if `overrides` has a key that `defaults` lacks, listing the valid keys. */
export function checkOverrides(what: string, overrides: object, defaults: object): void {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`${what}: overrides must be a plain object, got ${overrides === null ? 'null' : Array.isArray(overrides) ? 'an array' : typeof overrides}`);
  }
  const known = Object.keys(defaults);
  for (const key of Object.keys(overrides)) {
    if (!known.includes(key)) {
      throw new Error(`${what}: unknown option '${key}'; valid options are ${known.join(', ')}`);
    }
  }
}
