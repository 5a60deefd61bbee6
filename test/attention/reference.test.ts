/**
 * The in-library references (plain tf ops, autograd) against the float64 references of the official
 * semantics (./official-reference.ts): `causalReference` (GQA, KV-cache alignment), `s2Reference`
 * in both variants (GQA, several group sizes, the SFT path's partial groups) and `maskedReference`,
 * outputs and gradients. The fast paths are held to these references in ./fast.test.ts.
 */
import { ready } from '../../lib/backend';
import { causalReference, s2Reference, maskedReference, attentionMaskArray, attentionMask, repeatKv } from '../../lib/attention';
import type { Tensor4D } from '../../lib/backend';
import { numericBackendsAndCpu } from '../helpers';
import { denseAttention64, officialOffsetSegments, officialRollGroups, officialSftSegments, causalAllowed } from './official-reference';
import type { Allowed } from './official-reference';
import { inputs, run, expectAttentionClose, S2_CASES } from './harness';

function official(c: { b: number; h: number; hkv: number; tq: number; tk: number; d: number }, seed: number, allowed: Allowed) {
  const x = inputs(c, seed);
  return denseAttention64(x.q, x.k, x.v, x.w, c, allowed);
}

describe.each(numericBackendsAndCpu())('in-library references on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it.each([
    { b: 1, h: 2, hkv: 2, tq: 16, tk: 16, d: 8 },
    { b: 2, h: 4, hkv: 1, tq: 12, tk: 12, d: 4 }, // multi-query
    { b: 1, h: 4, hkv: 2, tq: 3, tk: 10, d: 4 }, // 3 new queries after 7 cached keys
  ])('causalReference equals the float64 causal reference: %j', (c) => {
    expectAttentionClose(run(causalReference, inputs(c, 1)), official(c, 1, causalAllowed(c.tq, c.tk)));
  });

  describe.each(['offset', 'roll'] as const)("s2Reference '%s'", (variant) => {
    it.each(S2_CASES)('equals the official-semantics float64 reference: %j', (c) => {
      const dims = { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d };
      const allowed = variant === 'offset' ? officialOffsetSegments(c.h, c.n, c.g) : officialRollGroups(c.h, c.n, c.g);
      expectAttentionClose(run((q, k, v) => s2Reference(q, k, v, { groupSize: c.g, variant }), inputs(dims, 11)), official(dims, 11, allowed));
    });
  });

  it.each([
    { b: 1, h: 4, hkv: 2, n: 20, d: 4, g: 8 }, // partial last group in both halves
    { b: 2, h: 2, hkv: 2, n: 12, d: 4, g: 8 },
    { b: 1, h: 2, hkv: 2, n: 6, d: 4, g: 16 }, // G > N: both halves see everything
  ])('s2Reference with partial groups equals the official SFT cu_seqlens: %j', (c) => {
    const dims = { b: c.b, h: c.h, hkv: c.hkv, tq: c.n, tk: c.n, d: c.d };
    expectAttentionClose(run((q, k, v) => s2Reference(q, k, v, { groupSize: c.g, partialGroups: true }), inputs(dims, 21)), official(dims, 21, officialSftSegments(c.h, c.n, c.g)));
  });

  it.each(['short', 'dilated', 'block-sparse', 'stride-sparse'] as const)('maskedReference under the %s pattern equals the float64 reference over the same mask', (kind) => {
    const dims = { b: 2, h: 4, hkv: 2, tq: 12, tk: 12, d: 4 };
    const m = attentionMaskArray(kind, { heads: 4, seqLen: 12, groupSize: 4 });
    const mask = attentionMask(kind, { heads: 4, seqLen: 12, groupSize: 4 });
    const got = run((q, k, v) => maskedReference(q, repeatKv(k, 2), repeatKv(v, 2), mask) as Tensor4D, inputs(dims, 31));
    mask.dispose();
    expectAttentionClose(got, official(dims, 31, (h, i) => m[h][i].flatMap((ok, j) => (ok ? [j] : []))));
  });
});
