/**
 * IEEE 754 binary16 (F16) and bfloat16 (BF16) <-> float32 bit conversions, the two half-precision
 * formats Hugging Face checkpoints use (`torch.float16`, `torch.bfloat16`).
 *
 * Decoding is exact (every half value is a float32). Encoding rounds to nearest, ties to even, as
 * `torch.Tensor.to(torch.float16 / torch.bfloat16)` does: F16 overflows to +-inf and keeps subnormals;
 * NaN stays NaN (BF16 NaN is written as torch writes it, the quiet NaN 0x7FC0 with the sign).
 * Pure JavaScript on typed arrays; no tf backend involved.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let f16Table: Float32Array | null = null;

/** All 65536 F16 values as float32 (built on first use; 256 KB). */
function f16DecodeTable(): Float32Array {
  if (f16Table !== null) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24; // zero and subnormals
    else if (exponent === 0x1f) table[h] = mantissa === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  f16Table = table;
  return table;
}

/** The float32 value of the F16 bit pattern `bits` (0..0xFFFF); e.g. 0x3C00 -> 1. */
export function f16BitsToFloat(bits: number): number {
  return f16DecodeTable()[bits & 0xffff];
}

/** The float32 value of the BF16 bit pattern `bits` (0..0xFFFF): the upper half of a float32; e.g. 0x3F80 -> 1. */
export function bf16BitsToFloat(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** The F16 bit pattern nearest to `value` (round to nearest, ties to even; overflow -> inf). */
export function floatToF16Bits(value: number): number {
  f32[0] = value;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exponent = (b >>> 23) & 0xff;
  const mantissa = b & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0); // inf / NaN
  const e = exponent - 127 + 15; // the F16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    // F16 subnormal (or zero): m * 2^-24. The input is full * 2^(exponent - 150) with full = 1.mantissa * 2^23,
    // so m = full * 2^(exponent - 126) = full >> (14 - e), rounded on the bits shifted out.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const full = mantissa | 0x800000;
    const shift = 14 - e; // 14..24
    let m = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (m & 1) === 1)) m++; // may carry into the smallest normal: still right
    return sign | m;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach the exponent, up to inf: right
  return sign | h;
}

/** The BF16 bit pattern nearest to `value` (round to nearest, ties to even; NaN -> 0x7FC0 with the sign). */
export function floatToBf16Bits(value: number): number {
  f32[0] = value;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) & 0x8000) | 0x7fc0;
  // b + bias stays below 2^32 for every non-NaN float32, so the carry into the exponent is kept.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes F16 bit patterns to float32 values. */
export function decodeF16(bits: Uint16Array): Float32Array {
  const table = f16DecodeTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Decodes BF16 bit patterns to float32 values (exact: each is a float32 with 16 zero low bits). */
export function decodeBf16(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Encodes float32 values as F16 bit patterns (round to nearest even). */
export function encodeF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToF16Bits(values[i]);
  return out;
}

/** Encodes float32 values as BF16 bit patterns (round to nearest even, as torch does). */
export function encodeBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) out[i] = ((b >>> 16) & 0x8000) | 0x7fc0;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}
