import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready, tf } from '../../lib/backend';
import type { Tensor } from '../../lib/backend';
import {
  parseSafetensors,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  readSafetensorsWithMetadata,
  serializeSafetensors,
  writeSafetensors,
} from '../../lib/io/safetensors';
import type { SafetensorsInput, WritableSafetensorsDtype } from '../../lib/io/safetensors';
import { floatToBf16Bits, floatToF16Bits, bf16BitsToFloat, f16BitsToFloat } from '../../lib/io/half';
import { expectNoLeakedTensors, seededValues } from '../helpers';
import { HF_FIXTURE, buildSafetensors, f32le, i64le, u16le } from './bytes';

const F32_FILE = path.join(HF_FIXTURE, 'f32', 'model.safetensors');

/** The header length and JSON text of a file, read directly (not through lib/io). */
function rawHeader(bytes: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { n, text: Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8') };
}

describe('parseSafetensors on hand-built files', () => {
  const header = {
    __metadata__: { format: 'pt', step: '12' },
    f32: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    f16: { dtype: 'F16', shape: [3], data_offsets: [8, 14] },
    bf16: { dtype: 'BF16', shape: [2], data_offsets: [14, 18] },
    i64: { dtype: 'I64', shape: [3], data_offsets: [18, 42] },
    flags: { dtype: 'BOOL', shape: [3], data_offsets: [42, 45] },
    scalar: { dtype: 'F32', shape: [], data_offsets: [45, 49] },
    empty: { dtype: 'F32', shape: [2, 0], data_offsets: [49, 49] },
  };
  const buffer = [
    ...f32le([1.5, -0.25]),
    ...u16le([0x3c00, 0xc000, 0x0001]),
    ...u16le([0x3f80, 0x7f80]),
    ...i64le([-5n, 2147483647n, -2147483648n]),
    0, 1, 1,
    ...f32le([7]),
  ];

  it('decodes every dtype to its hand-computed values, with metadata', () => {
    const { tensors, metadata } = parseSafetensors(buildSafetensors(header, buffer), 'hand.safetensors');
    expect(metadata).toEqual({ format: 'pt', step: '12' });
    expect([...tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'i64', 'flags', 'scalar', 'empty']);
    expect(Array.from(tensors.get('f32')!.data)).toEqual([1.5, -0.25]);
    expect(Array.from(tensors.get('f16')!.data)).toEqual([1, -2, 2 ** -24]);
    expect(tensors.get('f16')!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensors.get('bf16')!.data)).toEqual([1, Infinity]);
    expect(tensors.get('i64')!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(tensors.get('i64')!.data)).toEqual([-5, 2147483647, -2147483648]);
    expect(tensors.get('flags')!.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(tensors.get('flags')!.data)).toEqual([0, 1, 1]);
    expect(tensors.get('scalar')).toMatchObject({ dtype: 'F32', shape: [] });
    expect(Array.from(tensors.get('scalar')!.data)).toEqual([7]);
    expect(tensors.get('empty')).toMatchObject({ dtype: 'F32', shape: [2, 0] });
    expect(tensors.get('empty')!.data.length).toBe(0);
  });

  it('accepts a space-padded header and input at an odd byte offset (unaligned data is copied)', () => {
    const text = JSON.stringify(header) + '     ';
    const file = buildSafetensors(text, buffer);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const { tensors } = parseSafetensors(shifted.subarray(1));
    expect(Array.from(tensors.get('f32')!.data)).toEqual([1.5, -0.25]);
    expect(Array.from(tensors.get('i64')!.data)).toEqual([-5, 2147483647, -2147483648]);
  });

  it('reads the other integer dtypes and F64 as int32 / float32', () => {
    const view = new DataView(new ArrayBuffer(8 + 4 + 2 + 2 + 1));
    view.setFloat64(0, 0.1, true);
    view.setUint32(8, 2147483647, true);
    view.setInt16(12, -300, true);
    view.setUint16(14, 65535, true);
    view.setInt8(16, -7);
    const file = buildSafetensors(
      {
        f64: { dtype: 'F64', shape: [], data_offsets: [0, 8] },
        u32: { dtype: 'U32', shape: [1], data_offsets: [8, 12] },
        i16: { dtype: 'I16', shape: [1], data_offsets: [12, 14] },
        u16: { dtype: 'U16', shape: [1], data_offsets: [14, 16] },
        i8: { dtype: 'I8', shape: [1], data_offsets: [16, 17] },
      },
      new Uint8Array(view.buffer),
    );
    const { tensors } = parseSafetensors(file);
    expect(tensors.get('f64')!.data).toEqual(new Float32Array([Math.fround(0.1)]));
    expect(tensors.get('u32')!.data).toEqual(new Int32Array([2147483647]));
    expect(tensors.get('i16')!.data).toEqual(new Int32Array([-300]));
    expect(tensors.get('u16')!.data).toEqual(new Int32Array([65535]));
    expect(tensors.get('i8')!.data).toEqual(new Int32Array([-7]));
  });

  it('F64: refuses finite values beyond float32 range (they would become Infinity); rounds tiny values, keeps inf/NaN', () => {
    const f64 = (values: number[]) => {
      const view = new DataView(new ArrayBuffer(8 * values.length));
      values.forEach((v, i) => view.setFloat64(8 * i, v, true));
      return buildSafetensors({ w: { dtype: 'F64', shape: [values.length], data_offsets: [0, 8 * values.length] } }, new Uint8Array(view.buffer));
    };
    const ok = parseSafetensors(f64([3.4028234663852886e38, -1e-50, 1e-40, Infinity, NaN, -0.5])).tensors.get('w')!.data;
    expect(Array.from(ok)).toEqual([3.4028234663852886e38, -0, Math.fround(1e-40), Infinity, NaN, -0.5]);
    expect(() => parseSafetensors(f64([1, 2, 1e39]), 'big.safetensors')).toThrow(
      `big.safetensors: tensor "w": F64 element 2 is 1e+39, beyond float32's range (|x| <= 3.4028234663852886e38); longlora-ts computes in float32, where it would become Infinity. Rescale or clip the tensor before saving`,
    );
    expect(() => parseSafetensors(f64([-3.5e38]))).toThrow('F64 element 0 is -3.5e+38, beyond float32');
  });
});

describe('serializeSafetensors', () => {
  it('round-trips every writable dtype, scalars, empty tensors, metadata and unusual names', () => {
    const random = seededValues(60, 3, 10);
    random.set([NaN, Infinity, -Infinity, -0, 1e-30, 3e38], 0);
    const inputs = new Map<string, SafetensorsInput>([
      ['w', { shape: [3, 4, 5], data: random }],
      ['half', { shape: [6], data: new Float32Array([1, -2, 0.5, 65504, 2 ** -24, -0]), dtype: 'F16' }],
      ['brain', { shape: [2, 2], data: new Float32Array([1, -2, 3.140625, -(2 ** 100)]), dtype: 'BF16' }],
      ['ids', { shape: [2, 2], data: new Int32Array([0, -1, 2147483647, -2147483648]) }],
      ['ids64', { shape: [3], data: new Int32Array([5, -5, -2147483648]), dtype: 'I64' }],
      ['mask', { shape: [4], data: new Uint8Array([1, 0, 0, 1]) }],
      ['scalar', { shape: [], data: new Float32Array([42]) }],
      ['none', { shape: [0], data: new Float32Array(0) }],
      ['none2', { shape: [2, 0, 3], data: new Int32Array(0) }],
      ['quote"and/ünïcødé 名', { shape: [1], data: new Float32Array([9]) }],
    ]);
    const bytes = serializeSafetensors(inputs, { step: '7', note: 'a "quoted" value' });
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ step: '7', note: 'a "quoted" value' });
    expect(tensors.size).toBe(inputs.size);
    for (const [name, input] of inputs) {
      const got = tensors.get(name)!;
      expect(got.shape).toEqual(input.shape);
      expect(got.dtype).toBe(input.dtype ?? (input.data instanceof Float32Array ? 'F32' : input.data instanceof Int32Array ? 'I32' : 'BOOL'));
      if (input.dtype === 'F16' || input.dtype === 'BF16') {
        expect(Array.from(got.data)).toEqual(Array.from(input.data)); // all exactly representable
      } else {
        expect(got.data.constructor).toBe(input.data.constructor);
        expect(Array.from(got.data).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(Array.from(input.data).map((v) => (Object.is(v, -0) ? '-0' : v)));
      }
    }
  });

  it('rounds to F16 / BF16 to nearest even (matching the bit-level encoders)', () => {
    const values = seededValues(200, 11, 100);
    for (const dtype of ['F16', 'BF16'] as const) {
      const { tensors } = parseSafetensors(serializeSafetensors(new Map([['x', { shape: [200], data: values, dtype }]])));
      const expected = Array.from(values, (v) => (dtype === 'F16' ? f16BitsToFloat(floatToF16Bits(v)) : bf16BitsToFloat(floatToBf16Bits(v))));
      expect(Array.from(tensors.get('x')!.data)).toEqual(expected);
    }
  });

  it('writes the reference layout: 8-aligned padded header, tensors by dtype size then name', () => {
    const bytes = serializeSafetensors(
      new Map<string, SafetensorsInput>([
        ['b', { shape: [1], data: new Float32Array([1]) }],
        ['flag', { shape: [1], data: new Uint8Array([1]) }],
        ['a', { shape: [1], data: new Float32Array([2]) }],
        ['long', { shape: [1], data: new Int32Array([3]), dtype: 'I64' }],
        ['h', { shape: [1], data: new Float32Array([1]), dtype: 'BF16' }],
      ]),
    );
    const { n, text } = rawHeader(bytes);
    expect(n % 8).toBe(0);
    expect(text.trimEnd()).toBe(
      '{"long":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"h":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},' +
        '"flag":{"dtype":"BOOL","shape":[1],"data_offsets":[18,19]}}',
    );
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
  });

  it.each([
    ['f32/model.safetensors'],
    ['bf16-sharded/model-00001-of-00002.safetensors'],
    ['bf16-sharded/model-00002-of-00002.safetensors'],
    ['expected.safetensors'],
    ['linear-rope/expected.safetensors'],
  ])('re-serialises the file HF / safetensors 0.4.0 wrote byte for byte: %s', (file) => {
    const original = new Uint8Array(readFileSync(path.join(HF_FIXTURE, file)));
    const { tensors, metadata } = parseSafetensors(original, file);
    const inputs = new Map<string, SafetensorsInput>();
    for (const [name, t] of tensors) inputs.set(name, { shape: t.shape, data: t.data, dtype: t.dtype as WritableSafetensorsDtype });
    const again = serializeSafetensors(inputs, metadata);
    expect(again.length).toBe(original.length);
    expect(Buffer.compare(Buffer.from(again), Buffer.from(original))).toBe(0);
  });

  it('rejects bad inputs with errors naming the tensor and the fix', () => {
    const one = (input: Partial<SafetensorsInput> & Record<string, unknown>, name = 'w') =>
      () => serializeSafetensors(new Map([[name, input as SafetensorsInput]]));
    expect(one({ shape: [2, 2], data: new Float32Array(3) })).toThrow('tensor "w" has 3 values but shape [2, 2] needs 4');
    expect(one({ shape: [2], data: new Int32Array(2), dtype: 'F16' })).toThrow('tensor "w" has Int32Array data, which cannot be written as F16; float dtypes take Float32Array data');
    expect(one({ shape: [2], data: new Float32Array(2), dtype: 'I64' })).toThrow('cannot be written as I64');
    expect(one({ shape: [2], data: new Float32Array(2), dtype: 'U16' as never })).toThrow('writable dtypes are F32, F16, BF16, I32, I64, BOOL');
    expect(one({ shape: [2], data: new Uint8Array([0, 2]) })).toThrow('BOOL element 1 is 2; booleans must be 0 or 1');
    expect(one({ shape: [-1], data: new Float32Array(0) })).toThrow('shape [-1] must be an array of non-negative integers');
    expect(one({ shape: [1], data: [1] as unknown as Float32Array })).toThrow('data must be a Float32Array, Int32Array or Uint8Array');
    expect(one({ shape: [1], data: new Float32Array(1) }, '__metadata__')).toThrow('tensor name "__metadata__" is not allowed');
    expect(one({ shape: [1], data: new Float32Array(1) }, '')).toThrow('tensor name "" is not allowed');
    expect(() => serializeSafetensors(new Map(), { step: 3 as unknown as string })).toThrow('metadata value for "step" must be a string');
  });
});

describe('parseSafetensors rejects corrupt files with a clear error', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const eight = new Array(8).fill(0);
  const cases: [string, Uint8Array, string | RegExp][] = [
    ['too short', new Uint8Array(5), 'bad.st: 5 bytes is too short for a safetensors file'],
    ['header length past the end', buildSafetensors(ok, eight, 1000), /bad\.st: header length 1000 runs past the end of the file \(\d+ bytes leave at most \d+/],
    ['header length 2^64-1', buildSafetensors(ok, eight, undefined).map((b, i) => (i < 8 ? 0xff : b)), /header length 18446744073709551615 runs past the end/],
    ['header shorter than the JSON', buildSafetensors(ok, eight, 20), /bad\.st: the 20-byte header is not valid JSON/],
    ['not UTF-8', buildSafetensors('{"ab": 1}', []).map((b, i) => (i === 10 ? 0xff : b)), 'bad.st: the 9-byte header is not valid UTF-8'],
    ['bad JSON', buildSafetensors('{"a": {"dtype": ', eight), /bad\.st: the 16-byte header is not valid JSON \(.*\); the header length or the header is corrupt/],
    ['not an object', buildSafetensors('[1, 2]', []), `bad.st: the header must be a JSON object starting with '{' (it starts with "[1, 2]")`],
    ['unknown dtype', buildSafetensors({ w: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, eight), 'bad.st: tensor "w": unknown dtype "F17"; safetensors dtypes are BOOL, U8,'],
    ['undecodable dtype', buildSafetensors({ w: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, eight), 'bad.st: tensor "w": dtype F8_E4M3 is a safetensors dtype longlora-ts cannot decode'],
    ['shape/size mismatch', buildSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight), 'bad.st: tensor "w": shape [3] of F32 needs 12 bytes but data_offsets [0,8] span 8; the header is corrupt'],
    ['bad shape', buildSafetensors({ w: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, eight), 'tensor "w": shape must be an array of non-negative integers; got [2.5]'],
    ['reversed offsets', buildSafetensors({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, eight), 'tensor "w": data_offsets must be [begin, end] with 0 <= begin <= end; got [8,0]'],
    ['entry not an object', buildSafetensors({ w: 3 }, []), 'tensor "w": header entry must be an object { dtype, shape, data_offsets }; got 3'],
    ['out of range', buildSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eight), 'bad.st: tensor "w": data_offsets [0, 16] run past the end of the data buffer (8 bytes); the file is truncated'],
    [
      'overlap',
      buildSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Array(12).fill(0)),
      'bad.st: tensor "b": data_offsets [4, 12] overlap tensor "a" [0, 8]; the header is corrupt',
    ],
    [
      'gap',
      buildSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Array(12).fill(0)),
      'bad.st: tensor "b": data_offsets [8, 12] leave bytes [4, 8) of the buffer unused',
    ],
    ['trailing garbage', buildSafetensors(ok, new Array(12).fill(0)), 'bad.st: 4 bytes follow the last tensor\'s data (the header accounts for 8 of 12 buffer bytes)'],
    ['metadata not strings', buildSafetensors({ __metadata__: { step: 3 }, ...ok }, eight), 'bad.st: __metadata__ value for "step" must be a string; got 3'],
    ['I64 beyond int32', buildSafetensors({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, i64le([1n, 2n ** 40n])), 'bad.st: tensor "ids": I64 element 1 is 1099511627776, outside int32'],
    ['BOOL not 0/1', buildSafetensors({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, [1, 7]), 'bad.st: tensor "m": BOOL element 1 is the byte 7; booleans must be 0 or 1'],
  ];
  it.each(cases)('%s', (_label, bytes, message) => {
    expect(() => parseSafetensors(bytes, 'bad.st')).toThrow(message);
  });

  it('negative control: the well-formed base file parses', () => {
    expect(parseSafetensors(buildSafetensors(ok, eight)).tensors.get('a')!.shape).toEqual([2]);
    expect(parseSafetensors(buildSafetensors('{}', [])).tensors.size).toBe(0);
  });

  it('a real HF file truncated anywhere, or with a changed header length, is rejected naming the file', () => {
    const full = new Uint8Array(readFileSync(F32_FILE));
    const { n } = rawHeader(full);
    expect(parseSafetensors(full, F32_FILE).tensors.size).toBe(21); // negative control
    const expectations: [number, RegExp][] = [
      [0, /0 bytes is too short/],
      [7, /7 bytes is too short/],
      [8, /header length \d+ runs past the end of the file/],
      [8 + Math.floor(n / 2), /header length \d+ runs past the end of the file/],
      [8 + n, /tensor ".*": data_offsets \[\d+, \d+\] run past the end of the data buffer \(0 bytes\); the file is truncated/],
      [8 + n + 1000, /tensor ".*": data_offsets .* run past the end of the data buffer \(1000 bytes\)/],
      [Math.floor(full.length / 2), /run past the end of the data buffer/],
      [full.length - 1, /tensor "model\.norm\.weight": data_offsets \[\d+, 159104\] run past the end of the data buffer \(159103 bytes\)/],
    ];
    for (const [length, pattern] of expectations) {
      const cut = full.subarray(0, length);
      expect(() => parseSafetensors(cut, F32_FILE)).toThrow(pattern);
      expect(() => parseSafetensors(cut, F32_FILE)).toThrow(F32_FILE);
    }
    const flipped = (delta: number) => {
      const copy = full.slice();
      new DataView(copy.buffer).setBigUint64(0, BigInt(n + delta), true);
      return copy;
    };
    expect(() => parseSafetensors(flipped(-8), F32_FILE)).toThrow(/header is not valid JSON/);
    expect(() => parseSafetensors(flipped(+8), F32_FILE)).toThrow(/header is not valid (JSON|UTF-8)/);
    const appended = new Uint8Array(full.length + 3);
    appended.set(full);
    expect(() => parseSafetensors(appended, F32_FILE)).toThrow('3 bytes follow the last tensor');
  });
});

describe('readSafetensors / writeSafetensors (tf tensors, files)', () => {
  let dir: string;
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longlora-st-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('round-trips float32, int32 and bool tensors with metadata, atomically (no temp files left)', async () => {
    const file = path.join(dir, 'state.safetensors');
    const tensors = new Map<string, Tensor>([
      ['m', tf.tensor(seededValues(12, 5), [3, 4])],
      ['step', tf.scalar(17, 'int32')],
      ['mask', tf.tensor([true, false, true], [3], 'bool')],
      ['empty', tf.zeros([0, 4])],
    ]);
    await writeSafetensors(file, tensors, { metadata: { step: '17' } });
    await writeSafetensors(file, tensors, { metadata: { step: '17' } }); // overwrite in place
    expect(await fs.readdir(dir)).toEqual(['state.safetensors']);
    const { tensors: back, metadata } = await readSafetensorsWithMetadata(file);
    expect(metadata).toEqual({ step: '17' });
    for (const [name, t] of tensors) {
      const b = back.get(name)!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(Array.from(await b.data())).toEqual(Array.from(await t.data()));
    }
    tf.dispose([...tensors.values(), ...back.values()]);
  });

  it('stores float32 tensors as BF16 on request and reads them back within bf16 rounding', async () => {
    const file = path.join(dir, 'bf16.safetensors');
    const values = seededValues(64, 9, 3);
    const t = tf.tensor(values, [8, 8]);
    await writeSafetensors(file, new Map([['w', t]]), { dtype: 'BF16' });
    expect((await fs.stat(file)).size).toBeLessThan(8 + 80 + 64 * 2 + 16);
    const back = await readSafetensors(file);
    const got = back.get('w')!;
    expect(got.dtype).toBe('float32');
    expect(Array.from(await got.data())).toEqual(Array.from(values, (v) => bf16BitsToFloat(floatToBf16Bits(v))));
    tf.dispose([t, got]);
  });

  it('leaks no tensors', async () => {
    const file = path.join(dir, 'leak.safetensors');
    const t = tf.ones([4, 4]);
    await expectNoLeakedTensors(async () => {
      await writeSafetensors(file, new Map([['w', t]]));
      tf.dispose([...(await readSafetensors(file)).values()]);
    });
    t.dispose();
  });

  it('reading from disk (header first, then tensor by tensor) matches parsing the whole file', async () => {
    const whole = parseSafetensors(new Uint8Array(readFileSync(F32_FILE)), F32_FILE);
    const fromDisk = await readSafetensorsFile(F32_FILE);
    expect(fromDisk.metadata).toEqual({ format: 'pt' });
    expect([...fromDisk.tensors.keys()]).toEqual([...whole.tensors.keys()]);
    for (const [name, e] of whole.tensors) expect(fromDisk.tensors.get(name)).toEqual(e);
    const header = await readSafetensorsHeader(F32_FILE);
    expect(header.dataStart).toBe(8 + rawHeader(new Uint8Array(readFileSync(F32_FILE))).n);
    expect(header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([...whole.tensors].map(([n, e]) => [n, e.dtype, e.shape]));
    expect(header.entries[header.entries.length - 1].end).toBe(159104);
  });

  it('truncated files on disk are rejected as in memory, naming the file', async () => {
    const full = readFileSync(F32_FILE);
    const file = path.join(dir, 'cut.safetensors');
    for (const [length, pattern] of [
      [3, /cut\.safetensors: 3 bytes is too short/],
      [100, /cut\.safetensors: header length \d+ runs past the end of the file \(100 bytes/],
      [full.length - 4, /cut\.safetensors: tensor "model\.norm\.weight": data_offsets \[\d+, 159104\] run past the end of the data buffer \(159100 bytes\)/],
    ] as const) {
      await fs.writeFile(file, full.subarray(0, length));
      await expect(readSafetensors(file)).rejects.toThrow(pattern);
      await expect(readSafetensorsHeader(file)).rejects.toThrow(pattern);
    }
  });

  it('errors: missing file, disposed tensor, unsupported dtype, unknown option', async () => {
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(/readSafetensors: cannot read .*nope\.safetensors/);
    const gone = tf.ones([2]);
    gone.dispose();
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), new Map([['w', gone]]))).rejects.toThrow('writeSafetensors: "w" is not a live tf.Tensor (it was disposed)');
    const c = tf.complex([1], [2]);
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), new Map([['c', c]]))).rejects.toThrow('tensor "c" has dtype complex64; only float32, int32 and bool can be saved');
    c.dispose();
    const t = tf.ones([2]);
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), new Map([['w', t]]), { dtype: 'F8' } as never)).rejects.toThrow(`dtype "F8" is not a float storage dtype`);
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), new Map([['w', t]]), { metdata: {} } as never)).rejects.toThrow("writeSafetensors: unknown option 'metdata' (did you mean 'metadata'?)");
    t.dispose();
    expect(await fs.readdir(dir)).not.toContain('x.safetensors');
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
