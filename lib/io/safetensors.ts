/**
 * The safetensors format (huggingface/safetensors, the Rust crate `safetensors::tensor`), read and written
 * exactly:
 *
 *   [8 bytes]  N, the header length, an unsigned 64-bit little-endian integer
 *   [N bytes]  UTF-8 JSON: { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *              "__metadata__"?: { "<key>": "<string value>" } }, possibly padded with trailing spaces
 *   [rest]     the byte buffer; each tensor row-major little-endian at [begin, end) relative to the buffer start
 *
 * Validation follows the reference reader: the tensors must tile the buffer exactly (no gap, no overlap, no
 * trailing bytes) and every byte range must match its dtype and shape. Writing follows the reference writer
 * (tensors ordered by dtype alignment, largest first, then name; header padded with spaces to a multiple of 8),
 * so a file that `safetensors.torch.save_file` wrote is reproduced byte for byte from its parsed contents.
 * `parseSafetensors` / `serializeSafetensors` work on bytes only (no Node APIs); the file functions use `fs`.
 */
import { promises as fs } from 'fs';
import { tf } from '../backend';
import type { Tensor } from '../backend';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './half';
import { writeFileAtomic } from './atomic';
import type { FileHandle } from 'fs/promises';
import { isFloat32Array, isInt32Array, isUint8Array } from '../util/typed-arrays';
import { checkKnownKeys, describe } from '../util/options';

/** Every dtype the safetensors format defines, in the reference crate's order (the writer sorts by it). */
export const SAFETENSORS_DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;

/** A safetensors dtype name. */
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** The dtypes `serializeSafetensors` can write. */
export type WritableSafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'BOOL';

/** Bytes per element of each dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F16', 'BF16', 'F32', 'F64']);
const INT_DTYPES: ReadonlySet<string> = new Set(['U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

/** The reference reader's limit on the header (`MAX_HEADER_SIZE`, 100 MB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * One decoded tensor. `dtype` is the stored dtype; `data` is row-major: float32 for F16/BF16/F32/F64
 * (F64 rounded; a finite F64 value beyond float32's range is an error),
 * int32 for the integer dtypes (64-bit values must fit in int32), 0/1 bytes for BOOL.
 */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** A parsed file: tensors in header order and the `__metadata__` map ({} when absent). */
export interface ParsedSafetensors {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** A tensor to serialise; `dtype` defaults to F32 for Float32Array, I32 for Int32Array, BOOL for Uint8Array. */
export interface SafetensorsInput {
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
  dtype?: WritableSafetensorsDtype;
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A fresh, aligned copy of `bytes[start, start+length)` in host byte order for elements of `itemBytes`. */
function hostOrderCopy(bytes: Uint8Array, start: number, length: number, itemBytes: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.subarray(start, start + length)); // a copy (Buffer#slice would be a view)
  if (!hostIsLittleEndian && itemBytes > 1) {
    for (let i = 0; i < length; i += itemBytes) copy.subarray(i, i + itemBytes).reverse();
  }
  return copy.buffer;
}

/** Writes host-order typed-array bytes as little-endian bytes. */
function littleEndianBytes(view: ArrayBufferView, itemBytes: number): Uint8Array {
  const bytes = new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
  if (!hostIsLittleEndian && itemBytes > 1) {
    for (let i = 0; i < bytes.length; i += itemBytes) bytes.subarray(i, i + itemBytes).reverse();
  }
  return bytes;
}

function numel(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Decodes one tensor's bytes into the entry's data array. */
function decodeTensor(bytes: Uint8Array, start: number, length: number, dtype: SafetensorsDtype, where: string): SafetensorsEntry['data'] {
  const n = length / SAFETENSORS_DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(hostOrderCopy(bytes, start, length, 4));
    case 'F16':
      return decodeF16(new Uint16Array(hostOrderCopy(bytes, start, length, 2)));
    case 'BF16':
      return decodeBf16(new Uint16Array(hostOrderCopy(bytes, start, length, 2)));
    case 'F64': {
      // Rounded to float32 as torch's `.float()` rounds. A finite value beyond float32's range would
      // become +-Infinity and poison every sum it enters, so it is refused; values below the smallest
      // float32 subnormal (1.4e-45) round to 0, which is rounding, not a change of kind, and accepted.
      const wide = new Float64Array(hostOrderCopy(bytes, start, length, 8));
      const narrow = Float32Array.from(wide);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(narrow[i]) && Number.isFinite(wide[i])) {
          throw new Error(
            `${where}: F64 element ${i} is ${wide[i]}, beyond float32's range (|x| <= 3.4028234663852886e38); longlora-ts computes in float32, where it would become ${narrow[i]}. Rescale or clip the tensor before saving`,
          );
        }
      }
      return narrow;
    }
    case 'I32':
      return new Int32Array(hostOrderCopy(bytes, start, length, 4));
    case 'I16':
      return Int32Array.from(new Int16Array(hostOrderCopy(bytes, start, length, 2)));
    case 'U16':
      return Int32Array.from(new Uint16Array(hostOrderCopy(bytes, start, length, 2)));
    case 'I8':
      return Int32Array.from(new Int8Array(hostOrderCopy(bytes, start, length, 1)));
    case 'U8':
      return Int32Array.from(bytes.subarray(start, start + length));
    case 'U32': {
      const words = new Uint32Array(hostOrderCopy(bytes, start, length, 4));
      for (let i = 0; i < n; i++) {
        if (words[i] > 0x7fffffff) throw new Error(`${where}: U32 element ${i} is ${words[i]}, beyond int32 (max 2147483647); longlora-ts reads integers as int32`);
      }
      return new Int32Array(words.buffer);
    }
    case 'I64':
    case 'U64': {
      const words = new Int32Array(hostOrderCopy(bytes, start, length, 4)); // pairs (low, high): little endian
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = words[2 * i];
        const high = words[2 * i + 1];
        const fits = dtype === 'I64' ? high === low >> 31 : high === 0 && low >= 0;
        if (!fits) {
          const view = new DataView(bytes.buffer, bytes.byteOffset + start + 8 * i, 8);
          const value = dtype === 'I64' ? view.getBigInt64(0, true) : view.getBigUint64(0, true);
          throw new Error(`${where}: ${dtype} element ${i} is ${value}, outside int32 [-2147483648, 2147483647]; longlora-ts reads integers as int32`);
        }
        out[i] = low;
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(bytes.subarray(start, start + length));
      const bad = out.findIndex((b) => b > 1);
      if (bad >= 0) throw new Error(`${where}: BOOL element ${bad} is the byte ${out[bad]}; booleans must be 0 or 1`);
      return out;
    }
    default:
      throw new Error(`${where}: dtype ${dtype} is a safetensors dtype longlora-ts cannot decode (readable: F32, F16, BF16, F64, I64, U64, I32, U32, I16, U16, I8, U8, BOOL); convert the tensor before saving`);
  }
}

/** One tensor as the header describes it: byte range [begin, end) relative to the data buffer. */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: tensors in header order, metadata, and where the data buffer starts in the file. */
export interface SafetensorsHeader {
  entries: SafetensorsHeaderEntry[];
  metadata: Record<string, string>;
  /** 8 + the header length: the file offset of the data buffer. */
  dataStart: number;
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Validates one header entry (dtype, shape, offsets, size) and returns it typed. */
function checkHeaderEntry(name: string, info: unknown, where: (name: string) => string): SafetensorsHeaderEntry {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new Error(`${where(name)}: header entry must be an object { dtype, shape, data_offsets }; got ${JSON.stringify(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`${where(name)}: unknown dtype ${JSON.stringify(dtype)}; safetensors dtypes are ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new Error(`${where(name)}: shape must be an array of non-negative integers; got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
    throw new Error(`${where(name)}: data_offsets must be [begin, end] with 0 <= begin <= end; got ${JSON.stringify(offsets)}`);
  }
  const d = dtype as SafetensorsDtype;
  const expected = numel(shape) * SAFETENSORS_DTYPE_BYTES[d];
  const span = offsets[1] - offsets[0];
  if (span !== expected) {
    throw new Error(
      `${where(name)}: shape ${fmtShape(shape)} of ${d} needs ${expected} bytes but data_offsets ${JSON.stringify(offsets)} span ${span}; the header is corrupt`,
    );
  }
  return { name, dtype: d, shape: shape.slice(), begin: offsets[0], end: offsets[1] };
}

/**
 * Throws unless `bytes` is a Uint8Array (a Node Buffer is one). An ArrayBuffer, a string or null
 * would otherwise fail inside DataView as a TypeError, or be read as "3 bytes is too short".
 */
function checkBytes(what: string, bytes: unknown, source: string): void {
  if (!isUint8Array(bytes) && !(bytes instanceof Uint8Array)) {
    throw new Error(`${what}: ${source}: bytes must be a Uint8Array (e.g. fs.readFileSync(path), or new Uint8Array(arrayBuffer)), got ${describe(bytes)}`);
  }
}

/**
 * The length N of the header, from the first 8 bytes of a file of `fileLength` bytes, checked against the
 * file size and the format's limit.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileLength: number, source = '<bytes>'): number {
  if (fileLength < 8 || first8.length < 8) {
    throw new Error(`${source}: ${fileLength} bytes is too short for a safetensors file (it starts with an 8-byte header length); the file is truncated or not safetensors`);
  }
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(fileLength - 8)) {
    throw new Error(
      `${source}: header length ${headerLength} runs past the end of the file (${fileLength} bytes leave at most ${fileLength - 8} for the header); the file is truncated or its first 8 bytes are corrupt`,
    );
  }
  const n = Number(headerLength);
  if (n > MAX_SAFETENSORS_HEADER_BYTES) {
    throw new Error(`${source}: header length ${n} exceeds the format's limit of ${MAX_SAFETENSORS_HEADER_BYTES} bytes; the file is corrupt`);
  }
  return n;
}

/**
 * Parses and validates the header of a safetensors file of `fileLength` bytes, given at least its first
 * 8 + N bytes (`prefix`). Checks everything but the tensor values: UTF-8 JSON object, known dtypes, shapes
 * matching byte ranges, ranges inside the buffer, tiling it with no overlap, gap or trailing bytes.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength: number, source = '<bytes>'): SafetensorsHeader {
  checkBytes('parseSafetensorsHeader', prefix, source);
  const where = (name: string) => `${source}: tensor ${JSON.stringify(name)}`;
  const n = safetensorsHeaderLength(prefix, fileLength, source);
  if (prefix.length < 8 + n) throw new Error(`parseSafetensorsHeader: ${source}: pass at least the first ${8 + n} bytes (got ${prefix.length})`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + n));
  } catch {
    throw new Error(`${source}: the ${n}-byte header is not valid UTF-8; the header length or the header is corrupt`);
  }
  if (!text.startsWith('{')) {
    throw new Error(`${source}: the header must be a JSON object starting with '{' (it starts with ${JSON.stringify(text.slice(0, 16))}); the header length or the header is corrupt`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: the ${n}-byte header is not valid JSON (${(e as Error).message}); the header length or the header is corrupt`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${source}: the header must be a JSON object of tensors; got ${Array.isArray(header) ? 'an array' : typeof header}`);
  }

  let metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        throw new Error(`${source}: __metadata__ must be an object of strings; got ${JSON.stringify(info)}`);
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new Error(`${source}: __metadata__ value for ${JSON.stringify(k)} must be a string; got ${JSON.stringify(v)}`);
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    entries.push(checkHeaderEntry(name, info, where));
  }

  const dataStart = 8 + n;
  const bufferLength = fileLength - dataStart;
  for (const e of entries) {
    if (e.end > bufferLength) {
      throw new Error(
        `${where(e.name)}: data_offsets [${e.begin}, ${e.end}] run past the end of the data buffer (${bufferLength} bytes); the file is truncated`,
      );
    }
  }
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SafetensorsHeaderEntry | null = null;
  for (const e of byOffset) {
    if (e.begin < covered) {
      throw new Error(
        `${where(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(previous?.name)} [${previous?.begin}, ${previous?.end}]; the header is corrupt`,
      );
    }
    if (e.begin > covered) {
      throw new Error(`${where(e.name)}: data_offsets [${e.begin}, ${e.end}] leave bytes [${covered}, ${e.begin}) of the buffer unused; the header is corrupt`);
    }
    covered = e.end;
    if (e.end > e.begin || previous === null) previous = e;
  }
  if (covered !== bufferLength) {
    throw new Error(
      `${source}: ${bufferLength - covered} bytes follow the last tensor's data (the header accounts for ${covered} of ${bufferLength} buffer bytes); trailing garbage or a corrupt header`,
    );
  }
  return { entries, metadata, dataStart };
}

/**
 * Parses a whole safetensors file. Every violation of the format is an error naming `source` (a path, for
 * messages) and the tensor: a file shorter than 8 bytes, a header length past the end of the file, a header
 * that is not UTF-8 JSON, an unknown dtype, a shape that does not match its byte range, ranges out of the
 * buffer, overlapping or leaving gaps, and bytes after the last tensor.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<bytes>'): ParsedSafetensors {
  checkBytes('parseSafetensors', bytes, source);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, bytes.length, source);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const e of entries) {
    const data = decodeTensor(bytes, dataStart + e.begin, e.end - e.begin, e.dtype, `${source}: tensor ${JSON.stringify(e.name)}`);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

const utf8 = new TextEncoder();

/** Byte-wise comparison of the UTF-8 encodings (Rust's `String` order, used by the reference writer). */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The little-endian bytes of one input tensor in `dtype`. */
function encodeTensor(name: string, t: SafetensorsInput, dtype: WritableSafetensorsDtype): Uint8Array {
  const { data } = t;
  const wrongType = (kind: string) =>
    new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} has ${data.constructor.name} data, which cannot be written as ${dtype}; ${kind}`);
  switch (dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
      if (!isFloat32Array(data)) throw wrongType('float dtypes take Float32Array data');
      if (dtype === 'F32') return littleEndianBytes(data, 4);
      return littleEndianBytes(dtype === 'F16' ? encodeF16(data) : encodeBf16(data), 2);
    case 'I32':
      if (!isInt32Array(data)) throw wrongType('I32 takes Int32Array data');
      return littleEndianBytes(data, 4);
    case 'I64': {
      if (!isInt32Array(data)) throw wrongType('I64 takes Int32Array data');
      const words = new Int32Array(2 * data.length);
      for (let i = 0; i < data.length; i++) {
        words[2 * i] = data[i];
        words[2 * i + 1] = data[i] >> 31; // sign extension
      }
      return littleEndianBytes(words, 4);
    }
    case 'BOOL': {
      if (!isUint8Array(data)) throw wrongType('BOOL takes Uint8Array data of 0/1');
      const bad = data.findIndex((b) => b > 1);
      if (bad >= 0) throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} BOOL element ${bad} is ${data[bad]}; booleans must be 0 or 1`);
      return new Uint8Array(data);
    }
    default:
      throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} has dtype ${JSON.stringify(dtype)}; writable dtypes are F32, F16, BF16, I32, I64, BOOL`);
  }
}

function defaultDtype(data: SafetensorsInput['data']): WritableSafetensorsDtype {
  if (isFloat32Array(data)) return 'F32';
  if (isInt32Array(data)) return 'I32';
  return 'BOOL';
}

/**
 * Serialises tensors and optional string metadata to safetensors bytes, as the reference writer does
 * (tensors sorted by dtype size, largest first, then by name; header space-padded to a multiple of 8).
 * F16/BF16 round to nearest even; I64 sign-extends int32.
 */
export function serializeSafetensors(tensors: Map<string, SafetensorsInput>, metadata?: Record<string, string>): Uint8Array {
  if (!(tensors instanceof Map)) throw new Error(`serializeSafetensors: tensors must be a Map<name, { shape, data, dtype? }>, got ${describe(tensors)}`);
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new Error(`serializeSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  const items: { name: string; dtype: WritableSafetensorsDtype; shape: number[]; bytes: Uint8Array }[] = [];
  for (const [name, t] of tensors) {
    if (t === null || typeof t !== 'object') throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} must be { shape, data, dtype? }, got ${describe(t)}`);
    if (typeof name !== 'string' || name.length === 0 || name === '__metadata__') {
      throw new Error(`serializeSafetensors: tensor name ${JSON.stringify(name)} is not allowed; names must be non-empty strings other than "__metadata__"`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegativeInteger)) {
      throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} shape ${JSON.stringify(t.shape)} must be an array of non-negative integers`);
    }
    if (!(isFloat32Array(t.data) || isInt32Array(t.data) || isUint8Array(t.data))) {
      throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} data must be a Float32Array, Int32Array or Uint8Array`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`serializeSafetensors: tensor ${JSON.stringify(name)} has ${t.data.length} values but shape ${fmtShape(t.shape)} needs ${numel(t.shape)}`);
    }
    const dtype = t.dtype ?? defaultDtype(t.data);
    items.push({ name, dtype, shape: t.shape, bytes: encodeTensor(name, t, dtype) });
  }
  const rank = (d: SafetensorsDtype) => SAFETENSORS_DTYPES.indexOf(d);
  items.sort((a, b) => rank(b.dtype) - rank(a.dtype) || compareUtf8(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`serializeSafetensors: metadata value for ${JSON.stringify(k)} must be a string; got ${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const item of items) {
    const end = offset + item.bytes.length;
    parts.push(`${JSON.stringify(item.name)}:{"dtype":"${item.dtype}","shape":[${item.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const item of items) {
    out.set(item.bytes, at);
    at += item.bytes.length;
  }
  return out;
}

/** Reads exactly `length` bytes at `position`, or fewer at the end of the file. */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, done);
}

async function openForReading<T>(path: string, use: (handle: FileHandle, size: number) => Promise<T>): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    throw new Error(`readSafetensors: cannot read ${path} (${(e as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    // reading a directory fails later as a bare "EISDIR: illegal operation on a directory, read"
    if (!stat.isFile()) throw new Error(`readSafetensors: ${path} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}; pass the path of a .safetensors file`);
    return await use(handle, stat.size);
  } finally {
    await handle.close();
  }
}

/** Reads and validates only the header of a safetensors file (names, dtypes, shapes, metadata): no tensor data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  return openForReading(path, async (handle, size) => {
    const first8 = await readAt(handle, 0, Math.min(8, size));
    const n = safetensorsHeaderLength(first8, size, path);
    return parseSafetensorsHeader(await readAt(handle, 0, 8 + n), size, path);
  });
}

/**
 * Reads and parses a safetensors file; errors name `path`. The header is read first and each tensor then
 * separately, so files larger than one Node Buffer (2 GiB) can be read (each tensor must fit in one).
 */
export async function readSafetensorsFile(path: string): Promise<ParsedSafetensors> {
  return openForReading(path, async (handle, size) => {
    const first8 = await readAt(handle, 0, Math.min(8, size));
    const n = safetensorsHeaderLength(first8, size, path);
    const { entries, metadata, dataStart } = parseSafetensorsHeader(await readAt(handle, 0, 8 + n), size, path);
    const tensors = new Map<string, SafetensorsEntry>();
    for (const e of entries) {
      const where = `${path}: tensor ${JSON.stringify(e.name)}`;
      const bytes = await readAt(handle, dataStart + e.begin, e.end - e.begin);
      if (bytes.length !== e.end - e.begin) throw new Error(`${where}: the file ended while reading it (it shrank while being read?)`);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeTensor(bytes, 0, bytes.length, e.dtype, where) });
    }
    return { tensors, metadata };
  });
}

/** tf tensors for parsed entries: float32 for float dtypes, int32 for integers, bool for BOOL. */
export function entriesToTensors(entries: Map<string, SafetensorsEntry>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [name, e] of entries) {
      const dtype = FLOAT_DTYPES.has(e.dtype) ? 'float32' : INT_DTYPES.has(e.dtype) ? 'int32' : 'bool';
      out.set(name, tf.tensor(e.data, e.shape, dtype));
    }
  } catch (e) {
    tf.dispose([...out.values()]); // e.g. the memory guard refusing one tensor: free the ones made before it
    throw e;
  }
  return out;
}

/**
 * Reads a safetensors file as tf tensors (float32 for F16/BF16/F32/F64, int32 for integers, bool for BOOL),
 * in header order. The caller owns (and disposes) the tensors.
 */
export async function readSafetensors(path: string): Promise<Map<string, Tensor>> {
  return entriesToTensors((await readSafetensorsFile(path)).tensors);
}

/** Like `readSafetensors`, plus the file's `__metadata__` (e.g. a training step stored as a string). */
export async function readSafetensorsWithMetadata(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const parsed = await readSafetensorsFile(path);
  return { tensors: entriesToTensors(parsed.tensors), metadata: parsed.metadata };
}

/** Options of `writeSafetensors`. */
export interface WriteSafetensorsOptions {
  /** String key/value pairs stored as `__metadata__` (HF checkpoints carry `{ format: 'pt' }`). */
  metadata?: Record<string, string>;
  /** Storage dtype of float32 tensors (default F32); int32 tensors are written as I32, bool as BOOL. */
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Downloads tf tensors into serialisable entries, in `dtype` for float32 tensors. */
export async function tensorsToEntries(tensors: Map<string, Tensor>, dtype: 'F32' | 'F16' | 'BF16' = 'F32', what = 'writeSafetensors'): Promise<Map<string, SafetensorsInput>> {
  if (!['F32', 'F16', 'BF16'].includes(dtype)) {
    throw new Error(`${what}: dtype ${JSON.stringify(dtype)} is not a float storage dtype; use 'F32', 'F16' or 'BF16'`);
  }
  if (!(tensors instanceof Map)) throw new Error(`${what}: tensors must be a Map<name, tf.Tensor>, got ${describe(tensors)}`);
  const entries = new Map<string, SafetensorsInput>();
  for (const [name, t] of tensors) {
    if (!(t instanceof tf.Tensor) || t.isDisposed) {
      throw new Error(`${what}: ${JSON.stringify(name)} is not a live tf.Tensor${t instanceof tf.Tensor ? ' (it was disposed)' : ''}`);
    }
    const data = await t.data();
    if (t.dtype === 'float32') entries.set(name, { shape: t.shape.slice(), data: data as Float32Array, dtype });
    else if (t.dtype === 'int32') entries.set(name, { shape: t.shape.slice(), data: data as Int32Array, dtype: 'I32' });
    else if (t.dtype === 'bool') entries.set(name, { shape: t.shape.slice(), data: Uint8Array.from(data as Uint8Array), dtype: 'BOOL' });
    else throw new Error(`${what}: tensor ${JSON.stringify(name)} has dtype ${t.dtype}; only float32, int32 and bool can be saved`);
  }
  return entries;
}

/**
 * Writes tf tensors to a safetensors file atomically (temp file, fsync, rename: readers see the old file or
 * the complete new one, never a partial file). Float32 tensors are stored as `dtype` (default F32).
 */
export async function writeSafetensors(path: string, tensors: Map<string, Tensor>, options: WriteSafetensorsOptions = {}): Promise<void> {
  checkKnownKeys('writeSafetensors', options, ['metadata', 'dtype']);
  const entries = await tensorsToEntries(tensors, options.dtype ?? 'F32');
  await writeFileAtomic(path, serializeSafetensors(entries, options.metadata));
}
