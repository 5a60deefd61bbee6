import {
  bf16BitsToFloat,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToFloat,
  floatToBf16Bits,
  floatToF16Bits,
} from '../../lib/io/half';
import { seededValues } from '../helpers';

// Bit patterns worked out by hand from the IEEE 754 binary16 and bfloat16 layouts.
const F16_CASES: [number, number][] = [
  [0x0000, 0],
  [0x3c00, 1],
  [0xc000, -2],
  [0x3800, 0.5],
  [0x3bff, 1 - 2 ** -11],
  [0x3555, 0.333251953125],
  [0x7bff, 65504], // largest finite
  [0x0400, 2 ** -14], // smallest normal
  [0x03ff, 1023 * 2 ** -24], // largest subnormal
  [0x0001, 2 ** -24], // smallest subnormal
  [0x8001, -(2 ** -24)],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
];
const BF16_CASES: [number, number][] = [
  [0x0000, 0],
  [0x3f80, 1],
  [0xc000, -2],
  [0x4049, 3.140625],
  [0x3f81, 1 + 2 ** -7],
  [0x7f7f, (2 - 2 ** -7) * 2 ** 127], // largest finite
  [0x0080, 2 ** -126], // smallest normal
  [0x0001, 2 ** -133], // smallest subnormal
  [0x7f80, Infinity],
  [0xff80, -Infinity],
];

describe('F16 / BF16 decoding', () => {
  const hex = (cases: [number, number][]) => cases.map(([bits, value]) => [bits.toString(16).padStart(4, '0'), bits, value] as const);

  it.each(hex(F16_CASES))('F16 0x%s decodes to its hand-computed value', (_hex, bits, value) => {
    expect(f16BitsToFloat(bits)).toBe(value);
    expect(decodeF16(new Uint16Array([bits]))[0]).toBe(value);
  });

  it.each(hex(BF16_CASES))('BF16 0x%s decodes to its hand-computed value', (_hex, bits, value) => {
    expect(bf16BitsToFloat(bits)).toBe(value);
    expect(decodeBf16(new Uint16Array([bits]))[0]).toBe(value);
  });

  it('keeps the sign of zero and decodes NaN patterns to NaN', () => {
    expect(Object.is(f16BitsToFloat(0x8000), -0)).toBe(true);
    expect(Object.is(bf16BitsToFloat(0x8000), -0)).toBe(true);
    for (const bits of [0x7e00, 0x7c01, 0xfe00, 0x7fff]) expect(f16BitsToFloat(bits)).toBeNaN();
    for (const bits of [0x7fc0, 0x7f81, 0xffc0]) expect(bf16BitsToFloat(bits)).toBeNaN();
  });
});

describe('F16 / BF16 encoding (round to nearest, ties to even, as torch)', () => {
  it('encodes the hand-computed values back to their bits', () => {
    for (const [bits, value] of F16_CASES) expect(floatToF16Bits(value)).toBe(bits);
    for (const [bits, value] of BF16_CASES) expect(floatToBf16Bits(value)).toBe(bits);
  });

  it('F16 ties go to even, overflow to inf, underflow to zero or the nearest subnormal', () => {
    expect(floatToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway 0x3C00 | 0x3C01 -> even
    expect(floatToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway 0x3C01 | 0x3C02 -> even
    expect(floatToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway
    expect(floatToF16Bits(65519)).toBe(0x7bff);
    expect(floatToF16Bits(65520)).toBe(0x7c00); // halfway to 2^16: even is inf
    expect(floatToF16Bits(-1e6)).toBe(0xfc00);
    expect(floatToF16Bits(2 ** -25)).toBe(0x0000); // halfway 0 | 2^-24 -> even 0
    expect(floatToF16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(floatToF16Bits(3 * 2 ** -25)).toBe(0x0002); // halfway 1 | 2 -> even 2
    expect(floatToF16Bits(-1e-9)).toBe(0x8000);
    expect(floatToF16Bits((2047 / 2048) * 2 ** -14 + 2 ** -26)).toBe(0x0400); // subnormal rounds up into the normals
    expect(floatToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToF16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('BF16 ties go to even, overflow to inf, NaN to 0x7FC0', () => {
    expect(floatToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(floatToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // max float32 rounds up to inf, as in torch
    expect(floatToBf16Bits(-3.4028234663852886e38)).toBe(0xff80);
    expect(floatToBf16Bits(NaN)).toBe(0x7fc0);
    expect(encodeBf16(new Float32Array([NaN, -NaN]))[0]).toBe(0x7fc0);
  });

  it('decode then encode is the identity on every non-NaN bit pattern', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f16 = encodeF16(decodeF16(all));
    const bf16 = encodeBf16(decodeBf16(all));
    const f16Bad: number[] = [];
    const bf16Bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const f16IsNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (f16IsNaN ? !Number.isNaN(f16BitsToFloat(f16[h])) : f16[h] !== h) f16Bad.push(h);
      const bf16IsNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (bf16IsNaN ? !Number.isNaN(bf16BitsToFloat(bf16[h])) : bf16[h] !== h) bf16Bad.push(h);
    }
    expect(f16Bad).toEqual([]);
    expect(bf16Bad).toEqual([]);
  });

  it('picks the nearest representable value (even on ties) for random float32 inputs', () => {
    // Independent check: compare against both neighbours of the chosen pattern in float64 arithmetic.
    const base = seededValues(4000, 7);
    const xs = Array.from(base, (v, i) => Math.fround(v * 2 ** ((i % 50) - 30)));
    for (const [encode, decode, maxFinite] of [
      [floatToF16Bits, f16BitsToFloat, 65504],
      [floatToBf16Bits, bf16BitsToFloat, 3.3895313892515355e38],
    ] as const) {
      for (const x of xs) {
        if (Math.abs(x) > maxFinite) continue;
        const h = encode(x);
        const err = Math.abs(decode(h) - x);
        const magnitude = h & 0x7fff;
        for (const neighbour of [magnitude - 1, magnitude + 1]) {
          if (neighbour < 0) continue;
          const other = Math.abs(decode((h & 0x8000) | neighbour) - x);
          expect(err).toBeLessThanOrEqual(other);
          if (err === other) expect(h & 1).toBe(0);
        }
      }
    }
  });
});
