/**
 * The attention spec: the model config's `attention` field, which says what `attend` runs, with the
 * group-size rules it uses. `validateAttentionSpec` checks one (model configs call it), so that a
 * misspelt key or an unknown kind fails when the config is made or loaded, not silently or at the
 * first forward pass.
 */
import { checkKnownKeys, closestKey, describe } from '../util/options';
import type { AttentionMemory } from './options';
import type { S2Variant } from './s2';
import { PATTERN_KINDS, SHIFTED_PATTERN_KINDS } from './patterns';
import type { PatternKind } from './patterns';

/** Dense causal attention; `blockSize` bounds memory (see causalAttention). */
export interface FullAttentionSpec {
  kind: 'full';
  blockSize?: number;
  /** Keep P for the backward pass or rebuild it there (./options.ts); default 'save'. */
  memory?: AttentionMemory;
}

/** S2-Attn in training (official default: G = N/4, the flash path's `'offset'` segments). */
export interface S2AttentionSpec {
  kind: 's2';
  /** G as a fraction of the sequence length (official `group_size_ratio = 1/4`); the default. */
  groupSizeRatio?: number;
  /** A fixed G instead of the ratio. */
  groupSize?: number;
  variant?: S2Variant;
  /**
   * `'sft'`: the official supervised fine-tuning rule (`llama_attn_replace_sft.py`) scaled to our
   * context: G = N/4 when N is a multiple of `baseContext`, else 2 x baseContext, and a shorter last
   * group is allowed (SFT examples have any length). Default `'ratio'` (G = N x groupSizeRatio, N % G = 0).
   */
  groupSizeRule?: 'ratio' | 'sft';
  /** The model's original context (official 4096), for `groupSizeRule: 'sft'`. */
  baseContext?: number;
  /** Also use S2 outside training (default false: dense causal at inference, as LongLoRA). */
  atInference?: boolean;
  memory?: AttentionMemory;
}

/** Any mask pattern of ./patterns in training (the O(N^2) masked path: for ablations at small N). */
export interface PatternAttentionSpec {
  kind: 'pattern';
  pattern: PatternKind;
  groupSizeRatio?: number;
  groupSize?: number;
  stride?: number;
  /**
   * Odd-numbered layers use this pattern instead (same G and stride): the paper's Table 6 "S2 across
   * layers" is `{ pattern: 'short', alternate: 'shifted' }`, shifted and unshifted layers in turn.
   */
  alternate?: PatternKind;
  atInference?: boolean;
  memory?: AttentionMemory;
}

export type AttentionSpec = FullAttentionSpec | S2AttentionSpec | PatternAttentionSpec;

export const ATTENTION_KINDS: readonly AttentionSpec['kind'][] = ['full', 's2', 'pattern'];

/** The keys each kind takes. */
const SPEC_KEYS: Record<AttentionSpec['kind'], readonly string[]> = {
  full: ['kind', 'blockSize', 'memory'],
  s2: ['kind', 'groupSizeRatio', 'groupSize', 'variant', 'groupSizeRule', 'baseContext', 'atInference', 'memory'],
  pattern: ['kind', 'pattern', 'groupSizeRatio', 'groupSize', 'stride', 'alternate', 'atInference', 'memory'],
};

const isInt = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
const isEvenInt = (x: unknown): boolean => isInt(x, 2) && (x as number) % 2 === 0;
const isRatio = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 1;
const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/**
 * Throws unless `spec` is an attention spec we can run: a known kind, only that kind's keys, and
 * every value of the right type and range. Messages name the value, the constraint and the fix.
 */
export function validateAttentionSpec(spec: unknown, where = 'attention'): asserts spec is AttentionSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error(`${where} = ${describe(spec)} must be an attention spec such as { kind: 'full' } or { kind: 's2' }`);
  }
  const s = spec as Record<string, unknown>;
  const kind = s.kind as AttentionSpec['kind'];
  if (!ATTENTION_KINDS.includes(kind)) {
    const hint = typeof kind === 'string' ? closestKey(kind, ATTENTION_KINDS) : null;
    throw new Error(`${where}.kind = ${describe(kind)} is not an attention kind; use one of ${quoted(ATTENTION_KINDS)}${hint !== null ? ` (did you mean '${hint}'?)` : ''}`);
  }
  checkKnownKeys(where, s, SPEC_KEYS[kind], 'key');
  const check = (key: string, ok: (x: unknown) => boolean, constraint: string) => {
    if (s[key] !== undefined && !ok(s[key])) throw new Error(`${where}.${key} = ${describe(s[key])} must be ${constraint}`);
  };
  check('memory', (x) => x === 'save' || x === 'recompute', "'save' or 'recompute' ('recompute' rebuilds P in the backward pass: less memory, one more q k^T)");
  check('atInference', (x) => typeof x === 'boolean', 'true or false');
  check('groupSizeRatio', isRatio, 'a number in (0, 1], the group size as a fraction of the sequence length (LongLoRA: 0.25)');
  if (s.groupSize !== undefined && s.groupSizeRatio !== undefined) {
    throw new Error(`${where}: groupSize = ${describe(s.groupSize)} and groupSizeRatio = ${describe(s.groupSizeRatio)} are both set; keep one (groupSize fixes G, groupSizeRatio scales it with the sequence)`);
  }
  if (kind === 'full') check('blockSize', (x) => isInt(x, 1), 'a positive integer (query rows per block)');
  if (kind === 's2') {
    check('groupSize', isEvenInt, 'an even integer >= 2 (the shift is G/2), e.g. 64');
    check('variant', (x) => x === 'offset' || x === 'roll', "'offset' (official flash path) or 'roll' (Algorithm 1)");
    check('groupSizeRule', (x) => x === 'ratio' || x === 'sft', "'ratio' or 'sft'");
    check('baseContext', isEvenInt, "an even integer >= 2, the model's original context (e.g. config.maxPositionEmbeddings)");
    if (s.groupSizeRule === 'sft') {
      if (s.baseContext === undefined) throw new Error(`${where}: groupSizeRule 'sft' needs baseContext, the model's original context (e.g. config.maxPositionEmbeddings)`);
      if (s.groupSize !== undefined || s.groupSizeRatio !== undefined) throw new Error(`${where}: groupSizeRule 'sft' sets the group size itself; remove groupSize / groupSizeRatio`);
      if (s.variant === 'roll') throw new Error(`${where}: groupSizeRule 'sft' (partial groups) exists only for variant 'offset'; remove variant 'roll'`);
    } else if (s.baseContext !== undefined) {
      throw new Error(`${where}: baseContext = ${describe(s.baseContext)} is used only by groupSizeRule 'sft'; remove it or add groupSizeRule: 'sft'`);
    }
  }
  if (kind === 'pattern') {
    check('pattern', (x) => PATTERN_KINDS.includes(x as PatternKind), `one of ${quoted(PATTERN_KINDS)}`);
    if (s.pattern === undefined) throw new Error(`${where}: kind 'pattern' needs pattern, one of ${quoted(PATTERN_KINDS)}`);
    check('alternate', (x) => PATTERN_KINDS.includes(x as PatternKind), `one of ${quoted(PATTERN_KINDS)} (the pattern of odd-numbered layers)`);
    const shifted = SHIFTED_PATTERN_KINDS.includes(s.pattern as PatternKind) || SHIFTED_PATTERN_KINDS.includes(s.alternate as PatternKind);
    check('groupSize', shifted ? isEvenInt : (x) => isInt(x, 1), shifted ? 'an even integer >= 2 (the shift is G/2)' : 'a positive integer');
    check('stride', (x) => isInt(x, 1), 'a positive integer');
  }
}

/** Group size for a sequence of `n` tokens: the fixed `groupSize`, or `n * groupSizeRatio` (default 1/4). */
export function groupSizeFor(spec: { groupSize?: number; groupSizeRatio?: number }, n: number): number {
  if (spec.groupSize !== undefined) return spec.groupSize;
  const ratio = spec.groupSizeRatio ?? 0.25;
  if (!(ratio > 0 && ratio <= 1)) throw new Error(`attention: groupSizeRatio = ${ratio} must be in (0, 1]`);
  const g = Math.round(n * ratio);
  // the shift is G/2, so G must be a whole even number: N a multiple of 2 / ratio (8 for the official 1/4)
  const multiple = 2 / ratio;
  if (Math.abs(g - n * ratio) > 1e-9 || g < 2 || g % 2 !== 0) {
    const hint = Number.isInteger(multiple) ? `a multiple of ${multiple}` : `one where N x ${ratio} is an even integer`;
    throw new Error(`attention: sequence length ${n} x groupSizeRatio ${ratio} = ${n * ratio} is not an even group size; use a sequence length that is ${hint} (or set groupSize)`);
  }
  return g;
}

/**
 * The official SFT rule for the group size (`llama_attn_replace_sft.py`): G = N/4 when N is a
 * multiple of 4096, else 8192, with 4096 = Llama-2's context. Scaled to a model whose original
 * context is `baseContext`: G = N/4 when N % baseContext = 0, else 2 x baseContext (a shorter last
 * group allowed; with G >= 2N both halves see the whole sequence, as officially for N <= 4096).
 */
export function sftGroupSize(n: number, baseContext: number): number {
  if (!Number.isInteger(baseContext) || baseContext < 2 || baseContext % 2 !== 0) throw new Error(`sftGroupSize: baseContext = ${baseContext} must be an even integer >= 2 (the model's original context)`);
  return n % baseContext === 0 ? n / 4 : 2 * baseContext;
}
