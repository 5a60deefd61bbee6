/**
 * RoPE: HF rotate-half application against a float64 reference; linear position interpolation
 * (factor 1 == plain, factor s == plain at positions / s); dynamic NTK and YaRN inverse frequencies
 * and attention factors against values computed by hand (float64 Python) from the formulas in HF
 * transformers' modeling_rope_utils.py; table caching and leaks; on cpu and wasm.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor, Tensor2D, Tensor4D } from '../../lib/backend';
import { applyRope, rotateHalf, ropeInverseFrequencies, ropeTables, ropeTableValues } from '../../lib/model';
import type { RopeSettings, RopeScaling } from '../../lib/model';
import { expectTensorsClose, expectNoLeakedTensors, seededValues, numericBackendsAndCpu } from '../helpers';

const plain = (headDim = 16, maxPositionEmbeddings = 128): RopeSettings => ({ headDim, ropeTheta: 10000, maxPositionEmbeddings, ropeScaling: null });
const scaled = (ropeScaling: RopeScaling, headDim = 16, maxPositionEmbeddings = 128): RopeSettings => ({ ...plain(headDim, maxPositionEmbeddings), ropeScaling });

/** float64 1 / theta^(2i/D). */
const invFreq64 = (d: number, theta = 10000) => Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / d));

describe('inverse frequencies (HF formulas)', () => {
  it('plain: 1 / theta^(2i/D)', () => {
    const { invFreq, attentionFactor } = ropeInverseFrequencies(plain(16));
    expectTensorsClose(invFreq, invFreq64(16), { atol: 0, rtol: 1e-6 });
    expect(attentionFactor).toBe(1);
  });

  it('linear: plain / factor', () => {
    const { invFreq } = ropeInverseFrequencies(scaled({ type: 'linear', factor: 3 }));
    expectTensorsClose(invFreq, invFreq64(16).map((x) => x / 3), { atol: 0, rtol: 1e-6 });
  });

  it('dynamic NTK: plain up to maxPositionEmbeddings, then a grown base', () => {
    const rope = scaled({ type: 'dynamic', factor: 4 });
    expect(ropeInverseFrequencies(rope, 100).invFreq).toEqual(ropeInverseFrequencies(plain()).invFreq);
    expect(ropeInverseFrequencies(rope, 128).invFreq).toEqual(ropeInverseFrequencies(plain()).invFreq);
    // By hand: base = 10000 * (4 * 512 / 128 - 3) ** (16 / 14) = 187533.1795..., inv_i = base^(-2i/16).
    const { invFreq, attentionFactor } = ropeInverseFrequencies(rope, 512);
    expectTensorsClose(
      invFreq,
      [1.0, 0.21921245982043136, 0.048054102540524245, 0.01053405802237156, 0.0023091967709752185, 0.000506204704374875, 0.00011096637841869062, 2.4325212770526e-5],
      { atol: 0, rtol: 2e-6 },
    );
    expect(attentionFactor).toBe(1);
  });

  it('YaRN, D = 16, original context 128, factor 4: ramp over dims [0, 3), attention factor 0.1 ln 4 + 1', () => {
    const { invFreq, attentionFactor } = ropeInverseFrequencies(scaled({ type: 'yarn', factor: 4 }));
    // low = max(floor(-0.39), 0) = 0, high = ceil(2.62) = 3; inv_i = interp_i * ramp_i + extrap_i * (1 - ramp_i).
    expectTensorsClose(
      invFreq,
      [1.0, 0.23717082451262847, 0.05, 0.007905694150420948, 0.0025, 0.0007905694150420947, 0.00025, 7.905694150420948e-5],
      { atol: 0, rtol: 2e-6 },
    );
    expect(attentionFactor).toBeCloseTo(1.138629436111989, 12);
  });

  it('YaRN at Llama 2 shapes (D = 128, original 4096, factor 8): correction range [20, 46]', () => {
    const { invFreq, attentionFactor } = ropeInverseFrequencies(scaled({ type: 'yarn', factor: 8 }, 128, 4096));
    const expected: Array<[number, number]> = [
      [0, 1.0],
      [19, 0.06493816315762113],
      [20, 0.056234132519034905],
      [21, 0.0470579194992012],
      [30, 0.008847401809545132],
      [45, 0.00024431526615366936],
      [46, 0.0001666901790204155],
      [63, 1.4434774808618228e-5],
    ];
    for (const [i, value] of expected) expect(Math.abs(invFreq[i] - value) / value).toBeLessThan(3e-6);
    expect(attentionFactor).toBeCloseTo(1.2079441541679836, 12);
    // Without truncation the range is [20.944..., 45.027...].
    const loose = ropeInverseFrequencies(scaled({ type: 'yarn', factor: 8, truncate: false }, 128, 4096)).invFreq;
    for (const [i, value] of [[21, 0.04859852230628413], [30, 0.008947669055942235], [45, 0.00019399485143149734]]) {
      expect(Math.abs(loose[i] - value) / value).toBeLessThan(3e-6);
    }
    // DeepSeek's mscale ratio: (0.1 * 1 * ln 8 + 1) / (0.1 * 0.707 * ln 8 + 1).
    expect(ropeInverseFrequencies(scaled({ type: 'yarn', factor: 8, mscale: 1, mscaleAllDim: 0.707 }, 128, 4096)).attentionFactor).toBeCloseTo(1.053118360780668, 12);
    expect(ropeInverseFrequencies(scaled({ type: 'yarn', factor: 8, attentionFactor: 0.9 }, 128, 4096)).attentionFactor).toBe(0.9);
  });

  it('YaRN tables carry the attention factor on both cos and sin', () => {
    const freqs = ropeInverseFrequencies(scaled({ type: 'yarn', factor: 4 }));
    const { cos, sin } = ropeTableValues(freqs, [5]);
    const af = 1.138629436111989;
    expectTensorsClose(cos.subarray(0, 8), Array.from(freqs.invFreq, (f) => af * Math.cos(5 * f)), { atol: 1e-6, rtol: 1e-6 });
    expectTensorsClose(sin.subarray(8, 16), Array.from(freqs.invFreq, (f) => af * Math.sin(5 * f)), { atol: 1e-6, rtol: 1e-6 });
  });
});

/** float64 HF apply_rotary_pos_emb at positions offset + t / factor. */
function ropeReference(x: Float32Array, shape: number[], offset: number, factor = 1): Float64Array {
  const [b, h, t, d] = shape;
  const inv = invFreq64(d);
  const out = new Float64Array(x.length);
  for (let n = 0; n < b * h; n++) {
    for (let p = 0; p < t; p++) {
      const base = (n * t + p) * d;
      for (let j = 0; j < d; j++) {
        const angle = ((offset + p) / factor) * inv[j % (d / 2)];
        const rotated = j < d / 2 ? -x[base + j + d / 2] : x[base + j - d / 2];
        out[base + j] = x[base + j] * Math.cos(angle) + rotated * Math.sin(angle);
      }
    }
  }
  return out;
}

describe.each(numericBackendsAndCpu())('RoPE tensors on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  it('rotateHalf is concat(-x[D/2:], x[:D/2])', () => {
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
    expectTensorsClose(rotateHalf(x), [[-4, -5, -6, 1, 2, 3], [-10, -11, -12, 7, 8, 9]], { atol: 0, rtol: 0 });
    x.dispose();
  });

  it('applyRope matches a float64 reference of HF rotate-half at positions [offset, offset + T)', () => {
    const shape = [2, 3, 5, 16];
    const values = seededValues(2 * 3 * 5 * 16, 11);
    tf.tidy(() => {
      const x = tf.tensor4d(values, shape as [number, number, number, number]);
      const { cos, sin } = ropeTables(plain(), 7, 5);
      expectTensorsClose(applyRope(x, cos, sin), ropeReference(values, shape, 7), { atol: 2e-6, rtol: 1e-5 });
    });
  });

  it('linear factor 1 is exactly plain RoPE', () => {
    tf.tidy(() => {
      const a = ropeTables(plain(), 0, 100);
      const b = ropeTables(scaled({ type: 'linear', factor: 1 }), 0, 100);
      expectTensorsClose(b.cos, a.cos, { atol: 0, rtol: 0 });
      expectTensorsClose(b.sin, a.sin, { atol: 0, rtol: 0 });
    });
  });

  it('linear factor s is plain RoPE at positions / s (exactly at multiples of s = 4; to float32 rounding for s = 3)', () => {
    tf.tidy(() => {
      const s4 = ropeTables(scaled({ type: 'linear', factor: 4 }), 0, 400);
      const base = ropeTables(plain(), 0, 100);
      const rows = tf.range(0, 400, 4, 'int32');
      expectTensorsClose(tf.gather(s4.cos, rows), base.cos, { atol: 0, rtol: 0 });
      expectTensorsClose(tf.gather(s4.sin, rows), base.sin, { atol: 0, rtol: 0 });
      // Applied to a tensor, against the float64 reference at fractional positions p / 3.
      const shape = [1, 2, 9, 16];
      const values = seededValues(2 * 9 * 16, 5);
      const x = tf.tensor4d(values, shape as [number, number, number, number]);
      const { cos, sin } = ropeTables(scaled({ type: 'linear', factor: 3 }), 40, 9);
      expectTensorsClose(applyRope(x, cos, sin), ropeReference(values, shape, 40, 3), { atol: 3e-6, rtol: 1e-5 });
    });
  });

  it('dynamic NTK tables depend on the sequence length only above maxPositionEmbeddings', () => {
    tf.tidy(() => {
      const rope = scaled({ type: 'dynamic', factor: 4 });
      const short = ropeTables(rope, 0, 64, 128);
      const base = ropeTables(plain(), 0, 64);
      expectTensorsClose(short.cos, base.cos, { atol: 0, rtol: 0 });
      const long = ropeTables(rope, 0, 64, 512);
      const inv = ropeInverseFrequencies(rope, 512).invFreq;
      expectTensorsClose(tf.slice(long.cos, [63, 0], [1, 8]), [Array.from(inv, (f) => Math.cos(63 * f))], { atol: 2e-6, rtol: 0 });
    });
  });

  it('tables are cached constants: repeated and growing requests leak nothing', async () => {
    const rope = scaled({ type: 'linear', factor: 2 });
    await expectNoLeakedTensors(() => {
      tf.tidy(() => {
        for (let offset = 0; offset < 40; offset++) ropeTables(rope, offset, 1); // decode-style growth
        ropeTables(rope, 0, 300);
        ropeTables(scaled({ type: 'dynamic', factor: 4 }), 200, 8, 208); // built per call above maxPos
      });
    });
  });

  it('applyRope has the exact gradient, even when its cached table is replaced while the tape holds it', () => {
    const rope = scaled({ type: 'linear', factor: 5 }); // settings no other test uses
    const values = seededValues(4 * 16, 3);
    const x = tf.tensor4d(values, [1, 1, 4, 16]);
    const dx = tf.grad((t: Tensor) => {
      const first = ropeTables(rope, 0, 4);
      const rotated = applyRope(t as Tensor4D, first.cos, first.sin);
      const longer = ropeTables(rope, 0, 64); // grows (and frees) the cached 4-row table
      return tf.add(tf.sum(rotated), tf.sum(longer.cos));
    })(x);
    // d/dx sum(x cos + rotate_half(x) sin) = cos + rotate_half^T(sin) = cos(j) -/+ sin of the partner.
    const { cos, sin } = ropeTableValues(ropeInverseFrequencies(rope), [0, 1, 2, 3]);
    const expected = Array.from(cos, (c, i) => c + (i % 16 < 8 ? sin[i + 8] : -sin[i - 8]));
    expectTensorsClose(dx, expected, { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([x, dx]);
  });

  it('rejects bad shapes and requests with clear messages', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 3, 16]) as Tensor4D;
      const { cos, sin } = ropeTables(plain(), 0, 4);
      expect(() => applyRope(x, cos, sin)).toThrow('applyRope: cos must be [3, 16] to match x [1, 2, 3, 16]; got [4, 16]');
      expect(() => applyRope(tf.zeros([3, 16]) as unknown as Tensor4D, cos as Tensor2D, sin)).toThrow(/x must be \[batch, heads, seq, headDim\]/);
      expect(() => ropeTables(plain(15), 0, 4)).toThrow(/headDim = 15 must be a positive even integer/);
      expect(() => ropeTables(plain(), -1, 4)).toThrow(/offset = -1 must be a non-negative integer/);
      expect(() => ropeTables(plain(), 0, 4, 2)).toThrow(/seqLen = 2 must be an integer covering the positions \[0, 4\)/);
    });
  });
});
