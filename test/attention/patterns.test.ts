/**
 * Attention patterns: each kind's index rule on a small hand-written case, S2 masks against the
 * official constructions, causality, and maskedAttention against a float64 reference.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { attentionMask, attentionMaskArray, maskedAttention, causalAttention, PATTERN_KINDS } from '../../lib/attention';
import type { PatternKind } from '../../lib/attention';
import { expectTensorsClose, seededValues } from '../helpers';
import { denseAttention64, officialOffsetSegments, officialRollGroups } from './official-reference';

/** Parses rows like '1100' into booleans. */
const rows = (...r: string[]) => r.map((line) => Array.from(line.replace(/ /g, ''), (ch) => ch === '1'));

/** Head 0 and head 1 (of 2) for N = 8, G = 4 (stride-sparse: G = 3 so both parts show). */
const HAND: Record<PatternKind, { g: number; head0: boolean[][]; head1: boolean[][] }> = {
  full: {
    g: 4,
    head0: rows('10000000', '11000000', '11100000', '11110000', '11111000', '11111100', '11111110', '11111111'),
    head1: rows('10000000', '11000000', '11100000', '11110000', '11111000', '11111100', '11111110', '11111111'),
  },
  short: {
    g: 4,
    head0: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
    head1: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
  },
  's2-offset': {
    g: 4, // shifted groups [0,2) [2,6) [6,8)
    head0: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
    head1: rows('10000000', '11000000', '00100000', '00110000', '00111000', '00111100', '00000010', '00000011'),
  },
  's2-roll': {
    g: 4, // rolled order 2 3 4 5 | 6 7 0 1: the last group wraps
    head0: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
    head1: rows('10000011', '11000011', '00100000', '00110000', '00111000', '00111100', '00000010', '00000011'),
  },
  's2-roll-reverse': {
    g: 4, // rolled the other way: order 6 7 0 1 | 2 3 4 5, the same groups in the same order
    head0: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
    head1: rows('10000011', '11000011', '00100000', '00110000', '00111000', '00111100', '00000010', '00000011'),
  },
  shifted: {
    g: 4, // every head on the shifted groups [0,2) [2,6) [6,8)
    head0: rows('10000000', '11000000', '00100000', '00110000', '00111000', '00111100', '00000010', '00000011'),
    head1: rows('10000000', '11000000', '00100000', '00110000', '00111000', '00111100', '00000010', '00000011'),
  },
  dilated: {
    g: 4, // head 1: rate 2 inside groups
    head0: rows('10000000', '11000000', '11100000', '11110000', '00001000', '00001100', '00001110', '00001111'),
    head1: rows('10000000', '01000000', '10100000', '01010000', '00001000', '00000100', '00001010', '00000101'),
  },
  'block-sparse': {
    g: 4, // own block and the previous one
    head0: rows('10000000', '11000000', '11100000', '11110000', '11111000', '11111100', '11111110', '11111111'),
    head1: rows('10000000', '11000000', '11100000', '11110000', '11111000', '11111100', '11111110', '11111111'),
  },
  'stride-sparse': {
    g: 3, // local window of 3 plus distances 3, 6
    head0: rows('10000000', '11000000', '11100000', '11110000', '01111000', '00111100', '10011110', '01001111'),
    head1: rows('10000000', '11000000', '11100000', '11110000', '01111000', '00111100', '10011110', '01001111'),
  },
};

describe('attentionMask: the exact index rule of every kind', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });

  it.each(PATTERN_KINDS.map((k) => [k]))('%s on a hand-written N = 8 case', (kind) => {
    const { g, head0, head1 } = HAND[kind];
    const mask = attentionMask(kind, { heads: 2, seqLen: 8, groupSize: g });
    expect(mask.shape).toEqual([2, 8, 8]);
    expect(mask.dtype).toBe('bool');
    const values = (mask.arraySync() as number[][][]).map((h) => h.map((r) => r.map((x) => x === 1)));
    mask.dispose();
    expect(values[0]).toEqual(head0);
    expect(values[1]).toEqual(head1);
    expect(attentionMaskArray(kind, { heads: 2, seqLen: 8, groupSize: g })).toEqual([head0, head1]);
  });

  it("the paper's Table 8 variant 1 (shift the other way) is the same attention as Algorithm 1: +G/2 and -G/2 form the same groups in the same order", () => {
    for (const [n, g] of [
      [8, 2],
      [12, 4],
      [24, 6],
      [32, 8],
    ]) {
      expect(attentionMaskArray('s2-roll-reverse', { heads: 4, seqLen: n, groupSize: g })).toEqual(attentionMaskArray('s2-roll', { heads: 4, seqLen: n, groupSize: g }));
    }
  });

  it('block-sparse at N = 12 drops blocks two back', () => {
    const m = attentionMaskArray('block-sparse', { heads: 1, seqLen: 12, groupSize: 4 })[0];
    expect(m[8].slice(0, 4)).toEqual([false, false, false, false]);
    expect(m[8].slice(4, 9)).toEqual([true, true, true, true, true]);
  });

  it('s2 masks equal the sets the official code builds (cu_seqlens segments; roll)', () => {
    for (const [n, g, h] of [
      [16, 4, 4],
      [24, 6, 2],
      [32, 32, 4],
    ]) {
      const sets = { 's2-offset': officialOffsetSegments(h, n, g), 's2-roll': officialRollGroups(h, n, g) } as const;
      for (const kind of ['s2-offset', 's2-roll'] as const) {
        const m = attentionMaskArray(kind, { heads: h, seqLen: n, groupSize: g });
        for (let hh = 0; hh < h; hh++) {
          for (let i = 0; i < n; i++) {
            const fromMask = m[hh][i].flatMap((ok, j) => (ok ? [j] : []));
            expect(fromMask).toEqual([...sets[kind](hh, i)].sort((a, b) => a - b));
          }
        }
      }
    }
  });

  it("'short' with G = N equals 'full'", () => {
    expect(attentionMaskArray('short', { heads: 2, seqLen: 16, groupSize: 16 })).toEqual(attentionMaskArray('full', { heads: 2, seqLen: 16, groupSize: 16 }));
  });

  it('every kind except the rolls is causal; s2-roll and s2-roll-reverse are not', () => {
    for (const kind of PATTERN_KINDS) {
      const m = attentionMaskArray(kind, { heads: 4, seqLen: 16, groupSize: 4 });
      const future = m.some((head) => head.some((r, i) => r.some((ok, j) => ok && j > i)));
      expect([kind, future]).toEqual([kind, kind === 's2-roll' || kind === 's2-roll-reverse']);
    }
  });

  it('bad input names the problem', () => {
    expect(() => attentionMask('s2-offset', { heads: 3, seqLen: 8, groupSize: 4 })).toThrow(/heads = 3 must be even/);
    expect(() => attentionMask('s2-roll', { heads: 2, seqLen: 8, groupSize: 3 })).toThrow(/groupSize = 3 must be even/);
    expect(() => attentionMask('short', { heads: 2, seqLen: 8, groupSize: 16 })).toThrow(/groupSize = 16 exceeds seqLen = 8/);
    expect(() => attentionMask('s2-roll', { heads: 2, seqLen: 10, groupSize: 4 })).toThrow(/must divide seqLen = 10/);
    expect(() => attentionMask('full', { heads: 0, seqLen: 8, groupSize: 4 })).toThrow(/heads = 0 must be a positive integer/);
    expect(() => attentionMask('banded' as PatternKind, { heads: 2, seqLen: 8, groupSize: 4 })).toThrow(/kind 'banded' is not one of full, short/);
  });
});

describe('maskedAttention', () => {
  beforeAll(async () => {
    await ready({ backend: 'wasm' });
  });

  const dims = { b: 2, h: 4, hkv: 2, tq: 12, tk: 12, d: 4 };
  const q = seededValues(2 * 4 * 12 * 4, 1);
  const k = seededValues(2 * 2 * 12 * 4, 2);
  const v = seededValues(2 * 2 * 12 * 4, 3);
  const w = seededValues(2 * 4 * 12 * 4, 4);

  it.each(PATTERN_KINDS.filter((k) => k !== 's2-roll' && k !== 's2-roll-reverse').map((k) => [k]))('%s: forward and gradients match a float64 reference over the mask', (kind) => {
    const m = attentionMaskArray(kind, { heads: 4, seqLen: 12, groupSize: 4 });
    const ref = denseAttention64(q, k, v, w, dims, (h, i) => m[h][i].flatMap((ok, j) => (ok ? [j] : [])));
    const got = tf.tidy(() => {
      const mask = attentionMask(kind, { heads: 4, seqLen: 12, groupSize: 4 });
      const qt = tf.tensor(q, [2, 4, 12, 4]) as Tensor4D;
      const kt = tf.tensor(k, [2, 2, 12, 4]) as Tensor4D;
      const vt = tf.tensor(v, [2, 2, 12, 4]) as Tensor4D;
      const wt = tf.tensor(w, [2, 4, 12, 4]);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(maskedAttention(a as Tensor4D, b as Tensor4D, c as Tensor4D, mask), wt));
      const out = maskedAttention(qt, kt, vt, mask).dataSync();
      const [dq, dk, dv] = tf.grads(f)([qt, kt, vt]).map((g) => g.dataSync());
      return { out, dq, dk, dv };
    });
    expectTensorsClose(got.out, ref.out, { atol: 1e-5, rtol: 0 });
    expectTensorsClose(got.dq, ref.dq, { atol: 1e-4, relativeToMax: true });
    expectTensorsClose(got.dk, ref.dk, { atol: 1e-4, relativeToMax: true });
    expectTensorsClose(got.dv, ref.dv, { atol: 1e-4, relativeToMax: true });
  });

  it("with the 'full' mask equals causalAttention", () => {
    tf.tidy(() => {
      const qt = tf.tensor(q, [2, 4, 12, 4]) as Tensor4D;
      const kt = tf.tensor(k, [2, 2, 12, 4]) as Tensor4D;
      const vt = tf.tensor(v, [2, 2, 12, 4]) as Tensor4D;
      expectTensorsClose(maskedAttention(qt, kt, vt, attentionMask('full', { heads: 4, seqLen: 12, groupSize: 4 })), causalAttention(qt, kt, vt), { atol: 1e-6 });
    });
  });

  it('rejects masks of the wrong shape or dtype', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 4, 2]) as Tensor4D;
      expect(() => maskedAttention(x, x, x, tf.ones([3, 4, 4], 'bool'))).toThrow(/mask \[3, 4, 4\] must be \[2, 4, 4\] or \[4, 4\]/);
      expect(() => maskedAttention(x, x, x, tf.ones([4, 4]))).toThrow(/mask dtype is float32; pass a boolean mask/);
    });
  });
});
