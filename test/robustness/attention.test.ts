/**
 * Robustness, attention: causalAttention, shiftedSparseAttention, maskedAttention and the mask
 * patterns, attend: shapes, ranks, dtypes, group sizes, variants, options. Every case: a plain
 * Error naming the value and the fix, no tensor left behind, and attention still computes after.
 */
import { tf } from '../../lib/backend';
import type { Tensor, Tensor4D } from '../../lib/backend';
import { attend, attentionMask, attentionMaskArray, causalAttention, groupSizeFor, maskedAttention, setAttentionMemory, sftGroupSize, shiftedSparseAttention, validateAttentionSpec } from '../../lib/attention';
import type { AttentionSpec } from '../../lib/attention';
import { useBackend } from '../helpers';
import { expectBadInput } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

const ones = (shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32'): Tensor4D => tf.ones(shape, dtype) as Tensor as Tensor4D;
const Q = () => ones([1, 4, 8, 4]);
const KV = () => ones([1, 2, 8, 4]);

/** Runs `f` on fresh q, k, v (and frees them): q [1, 4, 8, 4], k and v [1, 2, 8, 4] unless given. */
const withQkv = (f: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => unknown, q = Q, k = KV, v = KV) => () => tf.tidy(() => f(q(), k(), v()) as Tensor);

/** Attention still computes (and frees what it made). */
function expectAttentionWorks(): void {
  const run = () => tf.tidy(() => Array.from(causalAttention(Q(), KV(), KV()).dataSync()));
  run();
  const before = tf.memory().numTensors;
  expect(run().every((x) => Math.abs(x - 1) < 1e-6)).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
}

const run = (cases: () => BadCase[]) =>
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectAttentionWorks();
  });

describe('causalAttention', () => {
  run(() => [
    ['rank-3 queries', withQkv((q, k, v) => causalAttention(q, k, v), () => ones([4, 8, 4])), [/causalAttention: q, k, v must be rank 4 \[batch, heads, seq, headDim\]; got \[4, 8, 4\], \[1, 2, 8, 4\], \[1, 2, 8, 4\]/]],
    ['int32 queries', withQkv((q, k, v) => causalAttention(q, k, v), () => ones([1, 4, 8, 4], 'int32')), [/q, k, v must be float32 \(got int32, float32, float32\)/]],
    ['kv heads not dividing the heads', withQkv((q, k, v) => causalAttention(q, k, v), Q, () => ones([1, 3, 8, 4]), () => ones([1, 3, 8, 4])), [/q has 4 heads and k\/v 3; the kv head count must divide the query head count \(grouped-query attention\)/]],
    ['k and v of different shapes', withQkv((q, k, v) => causalAttention(q, k, v), Q, KV, () => ones([1, 2, 8, 2])), [/k \[1, 2, 8, 4\] and v \[1, 2, 8, 2\] must have the same shape/]],
    ['another batch', withQkv((q, k, v) => causalAttention(q, k, v), Q, () => ones([2, 2, 8, 4]), () => ones([2, 2, 8, 4])), [/batch differs between q \[1, 4, 8, 4\] and k \[2, 2, 8, 4\]/]],
    ['another head dimension', withQkv((q, k, v) => causalAttention(q, k, v), Q, () => ones([1, 2, 8, 2]), () => ones([1, 2, 8, 2])), [/headDim differs between q \[1, 4, 8, 4\] and k \[1, 2, 8, 2\]/]],
    ['fewer keys than queries', withQkv((q, k, v) => causalAttention(q, k, v), Q, () => ones([1, 2, 4, 4]), () => ones([1, 2, 4, 4])), [/8 queries but only 4 keys; keys must cover every query position/]],
    ['blockSize 0', withQkv((q, k, v) => causalAttention(q, k, v, { blockSize: 0 })), [/causalAttention: blockSize = 0 must be a positive integer/]],
    ['blockSize NaN', withQkv((q, k, v) => causalAttention(q, k, v, { blockSize: NaN })), [/blockSize = NaN must be a positive integer/]],
    ['a misspelt option', withQkv((q, k, v) => causalAttention(q, k, v, { block: 2 } as never)), [/causalAttention: unknown option 'block'; valid options are 'blockSize', 'memory'/]],
    ["memory 'saved'", withQkv((q, k, v) => causalAttention(q, k, v, { memory: 'saved' as never })), [/memory = "saved" must be 'save' or 'recompute'/]],
    ['null options', withQkv((q, k, v) => causalAttention(q, k, v, null as never)), [/causalAttention: options must be an object, got null/]],
  ]);
});

describe('shiftedSparseAttention', () => {
  const s2 = (options: unknown, q = Q, k = KV, v = KV) => withQkv((a, b, c) => shiftedSparseAttention(a, b, c, options as never), q, k, v);
  run(() => [
    ['an odd group', s2({ groupSize: 3 }), [/shiftedSparseAttention: groupSize = 3 is odd; the shift is G\/2, so G must be even/]],
    ['a group longer than the sequence', s2({ groupSize: 16 }), [/groupSize = 16 is larger than the sequence \(8\); use G <= N \(LongLoRA: G = N\/4\)/]],
    ['a group not dividing the sequence', s2({ groupSize: 6 }), [/groupSize = 6 does not divide the sequence length 8; pad or cut the sequence to a multiple of G/]],
    ['groupSize 0', s2({ groupSize: 0 }), [/groupSize = 0 must be an even integer >= 2/]],
    ['an unknown variant', s2({ groupSize: 4, variant: 'shift' }), [/variant 'shift' is not 'offset' or 'roll'/]],
    ["partial groups with 'roll'", s2({ groupSize: 4, variant: 'roll', partialGroups: true }), [/partialGroups \(the SFT path\) exists only for the 'offset' variant/]],
    ['an odd head count', s2({ groupSize: 4 }, () => ones([1, 3, 8, 4]), () => ones([1, 3, 8, 4]), () => ones([1, 3, 8, 4])), [/3 heads; S2-Attn shifts half of the heads, so the head count must be even/]],
    ['fewer queries than keys (a KV cache)', s2({ groupSize: 4 }, () => ones([1, 4, 4, 4])), [/q has 4 positions and k\/v 8; S2-Attn is self-attention over one sequence \(no KV cache\)/]],
    ['a misspelt option', s2({ groupSize: 4, group: 1 }), [/shiftedSparseAttention: unknown option 'group'; valid options are 'groupSize', 'variant', 'partialGroups', 'memory'/]],
    ['rank-3 keys', s2({ groupSize: 4 }, Q, () => ones([2, 8, 4])), [/shiftedSparseAttention: q, k, v must be rank 4/]],
    ['bool values', s2({ groupSize: 4 }, Q, KV, () => ones([1, 2, 8, 4], 'bool')), [/must be float32 \(got float32, float32, bool\)/]],
  ]);
});

describe('mask patterns and maskedAttention', () => {
  const mask = (kind: unknown, o: object) => () => attentionMask(kind as never, { heads: 2, seqLen: 8, groupSize: 4, ...o } as never);
  const masked = (m: () => unknown, options?: unknown) => withQkv((q, k, v) => maskedAttention(q, k, v, m() as Tensor, options as never));
  run(() => [
    ['an unknown pattern', mask('dilate', {}), [/attentionMask: kind 'dilate' is not one of full, short, s2-offset, s2-roll, s2-roll-reverse, shifted, dilated, block-sparse, stride-sparse/]],
    ['an odd head count for a shifted pattern', mask('s2-offset', { heads: 3 }), [/attentionMask\('s2-offset'\): heads = 3 must be even \(the rule splits heads into halves\)/]],
    ['an odd group for a shifted pattern', mask('s2-roll', { groupSize: 3 }), [/groupSize = 3 must be even \(the shift is G\/2\)/]],
    ['a group longer than the sequence', mask('short', { groupSize: 16 }), [/attentionMask\('short'\): groupSize = 16 exceeds seqLen = 8/]],
    ["'s2-roll' with a group not dividing the sequence", mask('s2-roll', { groupSize: 6 }), [/groupSize = 6 must divide seqLen = 8 \(the roll regroups whole groups\)/]],
    ['stride 0', mask('stride-sparse', { stride: 0 }), [/attentionMask\('stride-sparse'\): stride = 0 must be a positive integer/]],
    ['seqLen 0', mask('full', { seqLen: 0 }), [/seqLen = 0 must be a positive integer/]],
    ['attentionMaskArray of an unknown pattern', () => attentionMaskArray('foo' as never, { heads: 2, seqLen: 8, groupSize: 4 }), [/kind 'foo' is not one of full, short/]],
    ['a mask of the wrong shape', masked(() => ones([8, 4], 'bool')), [/maskedAttention: mask \[8, 4\] must be \[4, 8, 8\] or \[8, 8\] for q \[1, 4, 8, 4\] and k \[1, 2, 8, 4\]/]],
    ['a float mask', masked(() => ones([8, 8])), [/mask dtype is float32; pass a boolean mask \(true = may attend\), e\.g\. from attentionMask\(\)/]],
    ['a misspelt option', masked(() => attentionMask('short', { heads: 4, seqLen: 8, groupSize: 4 }), { mem: 'save' }), [/maskedAttention: unknown option 'mem'; valid options are 'memory'/]],
  ]);
});

describe('attend, the spec and group-size rules', () => {
  const attendWith = (spec: unknown, options: unknown = { training: true }, q = Q, k = KV, v = KV) => withQkv((a, b, c) => attend(spec as AttentionSpec, a, b, c, options as never), q, k, v);
  run(() => [
    ['an unknown kind', attendWith({ kind: 'foo' }), [/attend: spec\.kind = "foo" is not an attention kind; use one of 'full', 's2', 'pattern'/]],
    ['a spec that is not an object', attendWith('s2'), [/attend: spec = "s2" must be an attention spec such as \{ kind: 'full' \} or \{ kind: 's2' \}/]],
    ['a sequence the S2 ratio cannot group', attendWith({ kind: 's2' }, { training: true }, () => ones([1, 4, 6, 4]), () => ones([1, 2, 6, 4]), () => ones([1, 2, 6, 4])), [/attention: sequence length 6 x groupSizeRatio 0\.25 = 1\.5 is not an even group size; use a sequence length that is a multiple of 8 \(or set groupSize\)/]],
    ['a pattern group longer than the sequence', attendWith({ kind: 'pattern', pattern: 'short', groupSize: 16 }), [/attentionMask\('short'\): groupSize = 16 exceeds seqLen = 8/]],
    ['validateAttentionSpec of the SFT rule without baseContext', () => validateAttentionSpec({ kind: 's2', groupSizeRule: 'sft' }), [/attention: groupSizeRule 'sft' needs baseContext/]],
    ['sftGroupSize with an odd baseContext', () => sftGroupSize(8, 3), [/sftGroupSize: baseContext = 3 must be an even integer >= 2/]],
    ['groupSizeFor with a ratio above 1', () => groupSizeFor({ groupSizeRatio: 2 }, 8), [/groupSizeRatio = 2 must be in \(0, 1\]/]],
    ['setAttentionMemory of an unknown mode', () => setAttentionMemory('x' as never), [/setAttentionMemory: memory = "x" must be 'save' or 'recompute'/]],
  ]);
});

/**
 * Non-tensor inputs, missing options and non-boolean flags. These were raw TypeErrors (or accepted
 * silently) when this suite was written; lib/attention's rework now checks them.
 */
describe('non-tensor inputs, missing options, non-boolean flags', () => {
  run(() => [
    ['causalAttention of a number array', withQkv((_q, k, v) => causalAttention([[1]] as never, k, v)), [/causalAttention: q = an array of length 1 must be a tensor/]],
    ['causalAttention of null', withQkv((_q, k, v) => causalAttention(null as never, k, v)), [/causalAttention: q = null must be a tensor/]],
    [
      'causalAttention of a disposed tensor',
      withQkv((_q, k, v) => {
        const q = Q();
        q.dispose();
        return causalAttention(q, k, v);
      }),
      [/causalAttention: q .*disposed; pass a live tensor/],
    ],
    ['shiftedSparseAttention without options', withQkv((q, k, v) => shiftedSparseAttention(q, k, v, undefined as never)), [/shiftedSparseAttention: options = undefined must be an object with groupSize/]],
    ['shiftedSparseAttention of null', withQkv((_q, k, v) => shiftedSparseAttention(null as never, k, v, { groupSize: 4 })), [/shiftedSparseAttention: q = null must be a tensor/]],
    ['partialGroups as a string', withQkv((q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: 6, partialGroups: 'yes' as never })), [/partialGroups must be true or false, got "yes"/]],
    ['groupSize as a string (named as "4", not 4)', withQkv((q, k, v) => shiftedSparseAttention(q, k, v, { groupSize: '4' as never })), [/groupSize = "4" must be an even integer >= 2/]],
    ['attentionMask without options', () => attentionMask('full', undefined as never), [/attentionMask\('full'\): options = undefined must be an object \{ heads, seqLen, groupSize \}/]],
    ['attentionMask with a misspelt option', () => attentionMask('short', { heads: 2, seqLen: 8, groupSize: 4, group: 2 } as never), [/attentionMask: unknown option 'group'; valid options are 'heads', 'seqLen', 'groupSize', 'stride'/]],
    ['maskedAttention with a mask that is not a tensor', withQkv((q, k, v) => maskedAttention(q, k, v, [[true]] as never)), [/maskedAttention: mask = an array of length 1 must be a boolean tensor/]],
    ['maskedAttention with no mask', withQkv((q, k, v) => maskedAttention(q, k, v, null as never)), [/maskedAttention: mask = null must be a boolean tensor/]],
    ['attend without options', withQkv((q, k, v) => attend({ kind: 'full' }, q, k, v, undefined as never)), [/attend: options = undefined must be \{ training: true \} inside a training step/]],
    ["attend with training 'no' (truthy)", withQkv((q, k, v) => attend({ kind: 's2', groupSize: 4 }, q, k, v, { training: 'no' as never })), [/attend: training must be true or false, got "no"/]],
  ]);
});

/**
 * Fails today: an input lib/attention (being reworked by another engineer) does not yet check the
 * way its caller needs. Expected to fail until it is fixed there.
 */
describe('sequences too short for the S2 ratio', () => {
  run(() => [
    // groupSizeFor gives G = N/4 = 1 for N = 4: the error names groupSize = 1, which the caller never
    // set, instead of the sequence length and what it must be (a multiple of 8 for the default ratio)
    [
      'attend S2 over 4 positions (G = N/4 = 1)',
      withQkv((q, k, v) => attend({ kind: 's2' }, q, k, v, { training: true }), () => ones([1, 4, 4, 4]), () => ones([1, 2, 4, 4]), () => ones([1, 2, 4, 4])),
      [/sequence (length )?4/, /multiple of 8/],
    ],
  ]);
});
