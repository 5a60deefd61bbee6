/**
 * Run-time checks shared by the data modules: option objects with unknown keys, and integer
 * arguments. TypeScript types vanish at run time (notebooks, plain JS callers), so every public
 * entry point re-checks what it is given and names the value, the constraint and the fix.
 */

/** Throws if `options` has a key outside `allowed` (a misspelt option would otherwise be ignored silently). */
export function checkKnownKeys(where: string, options: object | undefined, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new Error(`${where}: unknown option '${key}'; the known options are ${allowed.map((k) => `'${k}'`).join(', ')}`);
    }
  }
}

/** Throws unless `value` is an integer >= 1 (safe integer range). */
export function checkPositiveInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${where}: ${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer >= 0 (safe integer range). */
export function checkNonNegativeInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${where}: ${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a seed: an integer in [0, 2^32). */
export function checkSeed(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${where}: seed must be an integer in [0, 2^32), got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${where}: ${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** A short, safe rendering of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value).slice(8, -1)})` : typeof value;
}
