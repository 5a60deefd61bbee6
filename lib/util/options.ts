/**
 * Run-time checks shared by the whole library: option objects with unknown keys, and integer
 * arguments. TypeScript types vanish at run time (notebooks, plain JS callers), so every public
 * entry point re-checks what it is given and names the value, the constraint and the fix.
 */

/** Levenshtein distance, for "did you mean" hints (short strings only). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** The allowed key a misspelt `key` most likely meant (case, snake_case and small typos), or null. */
export function closestKey(key: string, allowed: readonly string[]): string | null {
  const norm = (k: string) => k.replace(/[_-]/g, '').toLowerCase();
  const same = allowed.find((k) => norm(k) === norm(key));
  if (same !== undefined) return same;
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of allowed) {
    const dist = editDistance(norm(k), norm(key));
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best;
}

/**
 * The library's one unknown-key check: throws if `options` (a plain object; undefined is allowed)
 * has a key outside `allowed`, naming every unknown key, the likely intended one and the valid
 * ones. A misspelt option would otherwise be ignored silently. `noun` is 'option' for option
 * objects, 'key' for config objects.
 */
export function checkKnownKeys(where: string, options: unknown, allowed: readonly string[], noun: 'option' | 'key' = 'option'): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${where}: ${noun === 'key' ? 'must be an object' : 'options must be an object'}, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const named = unknown.map((k) => {
    const hint = closestKey(k, allowed);
    return `'${k}'${hint !== null ? ` (did you mean '${hint}'?)` : ''}`;
  });
  throw new Error(`${where}: unknown ${noun}${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; valid ${noun}s are ${allowed.map((k) => `'${k}'`).join(', ')}`);
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

/**
 * Like {@link describe}, but a short array (up to 8 items) is shown item by item in JSON's compact
 * form, `[8,4]`, except that non-finite numbers keep their names (`[NaN,1]`, `[3,Infinity]`, where
 * JSON.stringify would print null), so a message about a range such as `[min, max]` names the
 * values it got.
 */
export function describeValue(value: unknown): string {
  if (!Array.isArray(value) || value.length > 8) return describe(value);
  const item = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `an array of length ${v.length}` : describe(v));
  return `[${value.map(item).join(',')}]`;
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
