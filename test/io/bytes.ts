/**
 * Hand-built safetensors files for tests, independent of lib/io's writer: an 8-byte little-endian header
 * length, the header text as given, then the raw buffer.
 */
import * as path from 'path';

/** Root of the committed Hugging Face fixture (see scripts/fixtures/README.md). */
export const HF_FIXTURE = path.join(__dirname, '..', 'fixtures', 'hf-tiny-llama');

/** A safetensors file from a header (object -> compact JSON, or raw text) and a data buffer. */
export function buildSafetensors(header: object | string, buffer: ArrayLike<number> = [], headerLength?: number): Uint8Array {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + text.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? text.length), true);
  out.set(text, 8);
  out.set(Array.from(buffer), 8 + text.length);
  return out;
}

/** Little-endian bytes of 16-bit words. */
export function u16le(words: number[]): number[] {
  return words.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff]);
}

/** Little-endian bytes of float32 values. */
export function f32le(values: number[]): number[] {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return Array.from(new Uint8Array(view.buffer));
}

/** Little-endian bytes of signed 64-bit integers. */
export function i64le(values: bigint[]): number[] {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return Array.from(new Uint8Array(view.buffer));
}
