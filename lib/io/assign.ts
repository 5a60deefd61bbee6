/**
 * Matching a checkpoint's tensors against a model's by name, shape and dtype, and assigning them, with one
 * error that lists every problem (missing names, unexpected names, shape and dtype mismatches), in the spirit
 * of PyTorch's `load_state_dict(strict=True)` report.
 */
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { checkKnownKeys } from '../util/options';

/** Name patterns: an exact name, or a RegExp tested against the name. */
export type NamePattern = string | RegExp;

/** The shape (and optionally dtype) of a named tensor, the only things compared. */
export interface TensorSignature {
  shape: readonly number[];
  dtype?: string;
}

/** Everything that differs between an expected and an actual set of named tensors. */
export interface WeightSetDiff {
  /** Expected names absent from the actual set (excluding allowed ones). */
  missing: string[];
  /** Actual names not expected (excluding allowed ones). */
  unexpected: string[];
  shapeMismatches: { name: string; expected: number[]; actual: number[] }[];
  dtypeMismatches: { name: string; expected: string; actual: string }[];
  /** Missing names that an `allowMissing` pattern excused. */
  allowedMissing: string[];
  /** Unexpected names that an `allowUnexpected` pattern excused. */
  allowedUnexpected: string[];
}

/** Options of `compareWeightSets` and `assignWeights`. */
export interface WeightMatchOptions {
  /** Expected names that may be absent (e.g. LoRA factors when loading a base checkpoint). */
  allowMissing?: NamePattern[];
  /** Actual names that may be present and are ignored (e.g. `rotary_emb.inv_freq` buffers of old checkpoints). */
  allowUnexpected?: NamePattern[];
}

function matchesAny(name: string, patterns: readonly NamePattern[]): boolean {
  return patterns.some((p) => (typeof p === 'string' ? p === name : new RegExp(p.source, p.flags.replace('g', '')).test(name)));
}

function checkOptions(options: WeightMatchOptions, what: string): void {
  checkKnownKeys(what, options, ['allowMissing', 'allowUnexpected']);
  for (const key of ['allowMissing', 'allowUnexpected'] as const) {
    const list = options[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((p) => typeof p === 'string' || p instanceof RegExp))) {
      throw new Error(`${what}: ${key} must be an array of names (strings) or RegExps`);
    }
  }
}

/** Compares `actual` against `expected` by name, shape and (where both give one) dtype. */
export function compareWeightSets(
  expected: ReadonlyMap<string, TensorSignature>,
  actual: ReadonlyMap<string, TensorSignature>,
  options: WeightMatchOptions = {},
): WeightSetDiff {
  checkOptions(options, 'compareWeightSets');
  const allowMissing = options.allowMissing ?? [];
  const allowUnexpected = options.allowUnexpected ?? [];
  const diff: WeightSetDiff = { missing: [], unexpected: [], shapeMismatches: [], dtypeMismatches: [], allowedMissing: [], allowedUnexpected: [] };
  for (const [name, e] of expected) {
    const a = actual.get(name);
    if (a === undefined) {
      (matchesAny(name, allowMissing) ? diff.allowedMissing : diff.missing).push(name);
      continue;
    }
    if (e.shape.length !== a.shape.length || e.shape.some((d, i) => d !== a.shape[i])) {
      diff.shapeMismatches.push({ name, expected: e.shape.slice(), actual: a.shape.slice() });
    } else if (e.dtype !== undefined && a.dtype !== undefined && e.dtype !== a.dtype) {
      diff.dtypeMismatches.push({ name, expected: e.dtype, actual: a.dtype });
    }
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) (matchesAny(name, allowUnexpected) ? diff.allowedUnexpected : diff.unexpected).push(name);
  }
  return diff;
}

/** True when the diff has a problem that is not allowed. */
export function hasWeightProblems(diff: WeightSetDiff): boolean {
  return diff.missing.length + diff.unexpected.length + diff.shapeMismatches.length + diff.dtypeMismatches.length > 0;
}

/** A multi-line report of every problem in `diff`, headed by `what` ('' when there is none). */
export function formatWeightSetDiff(diff: WeightSetDiff, what: string, expectedLabel = 'model', actualLabel = 'checkpoint'): string {
  if (!hasWeightProblems(diff)) return '';
  const shape = (s: number[]) => `[${s.join(', ')}]`;
  const lines = [`${what}: the ${actualLabel} does not match the ${expectedLabel}:`];
  if (diff.missing.length > 0) lines.push(`  missing from the ${actualLabel} (${diff.missing.length}): ${diff.missing.join(', ')}`);
  if (diff.unexpected.length > 0) lines.push(`  unexpected in the ${actualLabel} (${diff.unexpected.length}): ${diff.unexpected.join(', ')}`);
  for (const m of diff.shapeMismatches) lines.push(`  shape mismatch for ${m.name}: ${expectedLabel} ${shape(m.expected)}, ${actualLabel} ${shape(m.actual)}`);
  for (const m of diff.dtypeMismatches) lines.push(`  dtype mismatch for ${m.name}: ${expectedLabel} ${m.expected}, ${actualLabel} ${m.actual}`);
  lines.push('  fix: load a checkpoint made for this model configuration, or pass allowMissing / allowUnexpected for names that may differ');
  return lines.join('\n');
}

/** What `assignWeights` did. */
export interface AssignReport {
  /** Names assigned, in target order. */
  assigned: string[];
  /** Target names left unchanged because they were absent and allowed to be. */
  skippedMissing: string[];
  /** Source names ignored because an `allowUnexpected` pattern matched them. */
  ignoredUnexpected: string[];
}

/**
 * Assigns `source` tensors to the `target` variables of the same names (HF `load_state_dict(strict=True)`):
 * first checks everything and throws one error listing all missing names, unexpected names and shape or
 * dtype mismatches (with both shapes); only then assigns, so a failed call changes nothing. The source
 * tensors stay owned by the caller; no tensors are created.
 */
export function assignWeights(target: ReadonlyMap<string, Variable>, source: ReadonlyMap<string, Tensor>, options: WeightMatchOptions = {}): AssignReport {
  checkOptions(options, 'assignWeights');
  for (const [name, v] of target) {
    if (!(v instanceof tf.Variable)) throw new Error(`assignWeights: target ${JSON.stringify(name)} is not a tf.Variable; pass the model's variables`);
  }
  for (const [name, t] of source) {
    if (!(t instanceof tf.Tensor) || t.isDisposed) throw new Error(`assignWeights: source ${JSON.stringify(name)} is not a live tf.Tensor`);
  }
  const diff = compareWeightSets(target, source, options);
  if (hasWeightProblems(diff)) throw new Error(formatWeightSetDiff(diff, 'assignWeights'));
  const assigned: string[] = [];
  for (const [name, v] of target) {
    const t = source.get(name);
    if (t === undefined) continue;
    v.assign(t);
    assigned.push(name);
  }
  return { assigned, skippedMissing: diff.allowedMissing, ignoredUnexpected: diff.allowedUnexpected };
}
