/**
 * Robustness, files: safetensors bytes and files (truncated, bad header, bad dtype, offsets, F64
 * out of float32 range), Hugging Face checkpoint directories (missing config.json, broken JSON,
 * wrong shapes, unsupported settings), config.json mapping, PEFT adapters (broken
 * adapter_config.json, wrong shapes). Every case: a plain Error naming the file or value and the
 * fix, no tensor left behind, and a model still works after (a failed load changes nothing).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../lib/backend';
import { LlamaForCausalLM, presets } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import {
  fromHFConfig,
  loadHFCheckpoint,
  loadPeftAdapter,
  loadPretrained,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  saveMergedCheckpoint,
  savePeftAdapter,
  savePretrained,
  serializeSafetensors,
  toHFConfig,
  writeSafetensors,
} from '../../lib/io';
import { useBackend } from '../helpers';
import { expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

/** A safetensors file: the 8-byte length, `header` as written (not re-serialised), then `data`. */
function withHeader(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const f32 = (shape: number[], offsets: [number, number], dtype = 'F32') => `{"a":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}}`;
const good = serializeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1, 2]) }]]), { format: 'pt' });

let dir: string;
let model: LlamaForCausalLM;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longlora-robustness-'));
  model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
});
afterAll(async () => {
  model.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

const run = (cases: () => BadCase[]) =>
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expect(model.adapters.size).toBe(0);
    expectModelWorks(model);
  });

describe('safetensors bytes', () => {
  const parse = (bytes: unknown) => () => parseSafetensors(bytes as Uint8Array);
  run(() => [
    // was a TypeError from DataView ("First argument to DataView constructor must be an ArrayBuffer")
    ['an ArrayBuffer instead of bytes', parse(good.buffer), [/parseSafetensors: <bytes>: bytes must be a Uint8Array \(e\.g\. fs\.readFileSync\(path\), or new Uint8Array\(arrayBuffer\)\), got an object \(ArrayBuffer\)/]],
    ['null', parse(null), [/bytes must be a Uint8Array .* got null/]],
    ['a string', parse('abcdefghij'), [/bytes must be a Uint8Array .* got "abcdefghij"/]],
    ['4 bytes (truncated length)', parse(good.subarray(0, 4)), [/<bytes>: 4 bytes is too short for a safetensors file \(it starts with an 8-byte header length\); the file is truncated or not safetensors/]],
    ['truncated data', parse(good.subarray(0, good.length - 2)), [/tensor "a": data_offsets \[0, 8\] run past the end of the data buffer \(6 bytes\); the file is truncated/]],
    [
      'a header length past the end',
      () => {
        const b = good.slice();
        new DataView(b.buffer).setBigUint64(0, 2n ** 60n, true);
        return parseSafetensors(b);
      },
      [/header length 1152921504606846976 runs past the end of the file \(\d+ bytes leave at most \d+ for the header\); the file is truncated or its first 8 bytes are corrupt/],
    ],
    ['a header that is not JSON', parse(withHeader('{abc')), [/the 4-byte header is not valid JSON \(.*\); the header length or the header is corrupt/]],
    ['a header that is an array', parse(withHeader('[1]')), [/the header must be a JSON object starting with '\{' \(it starts with "\[1\]"\)/]],
    ['a header that is not UTF-8', parse(withHeader('{"ab":1}').map((b, i) => (i === 10 ? 0xff : b))), [/the 8-byte header is not valid UTF-8; the header length or the header is corrupt/]],
    ['an unknown dtype', parse(withHeader(f32([1], [0, 4], 'F33'), new Uint8Array(4))), [/tensor "a": unknown dtype "F33"; safetensors dtypes are BOOL, U8/]],
    ['an 8-bit float (known, not decodable)', parse(withHeader(f32([1], [0, 1], 'F8_E4M3'), new Uint8Array(1))), [/dtype F8_E4M3 is a safetensors dtype longlora-ts cannot decode .*; convert the tensor before saving/]],
    ['offsets reversed', parse(withHeader(f32([1], [4, 0]), new Uint8Array(4))), [/data_offsets must be \[begin, end\] with 0 <= begin <= end; got \[4,0\]/]],
    ['offsets leaving a gap', parse(withHeader(f32([1], [4, 8]), new Uint8Array(8))), [/data_offsets \[4, 8\] leave bytes \[0, 4\) of the buffer unused; the header is corrupt/]],
    ['overlapping tensors', parse(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4))), [/tensor "b": data_offsets \[0, 4\] overlap tensor "a" \[0, 4\]/]],
    ['a shape that does not match its bytes', parse(withHeader(f32([2], [0, 4]), new Uint8Array(4))), [/shape \[2\] of F32 needs 8 bytes but data_offsets \[0,4\] span 4; the header is corrupt/]],
    ['a negative dimension', parse(withHeader(f32([-1], [0, 4]), new Uint8Array(4))), [/shape must be an array of non-negative integers; got \[-1\]/]],
    ['trailing bytes', parse(withHeader(f32([1], [0, 4]), new Uint8Array(8))), [/4 bytes follow the last tensor's data .* trailing garbage or a corrupt header/]],
    ['F64 beyond float32', parse(withHeader(f32([2], [0, 16], 'F64'), new Uint8Array(new Float64Array([1, -1e300]).buffer))), [/tensor "a": F64 element 1 is -1e\+300, beyond float32's range .* Rescale or clip the tensor before saving/]],
    ['I64 beyond int32', parse(withHeader(f32([1], [0, 8], 'I64'), new Uint8Array(new BigInt64Array([2n ** 40n]).buffer))), [/I64 element 0 is 1099511627776, outside int32 \[-2147483648, 2147483647\]/]],
    ['a BOOL byte of 2', parse(withHeader(f32([1], [0, 1], 'BOOL'), new Uint8Array([2]))), [/BOOL element 0 is the byte 2; booleans must be 0 or 1/]],
    ['metadata that is not a string', parse(withHeader('{"__metadata__":{"step":1}}')), [/__metadata__ value for "step" must be a string; got 1/]],
    // was a TypeError ("tensors is not iterable")
    ['serialize of a plain object', () => serializeSafetensors({ a: { shape: [1], data: new Float32Array(1) } } as never), [/serializeSafetensors: tensors must be a Map<name, \{ shape, data, dtype\? \}>, got an object \(Object\)/]],
    // was a TypeError (reading 'shape' of null)
    ['serialize of a null entry', () => serializeSafetensors(new Map([['a', null as never]])), [/serializeSafetensors: tensor "a" must be \{ shape, data, dtype\? \}, got null/]],
    ['serialize of number-array data', () => serializeSafetensors(new Map([['a', { shape: [2], data: [1, 2] as never }]])), [/tensor "a" data must be a Float32Array, Int32Array or Uint8Array/]],
    ['serialize with a wrong element count', () => serializeSafetensors(new Map([['a', { shape: [3], data: new Float32Array(2) }]])), [/tensor "a" has 2 values but shape \[3\] needs 3/]],
    ['serialize as F64', () => serializeSafetensors(new Map([['a', { shape: [2], data: new Float32Array(2), dtype: 'F64' as never }]])), [/tensor "a" has dtype "F64"; writable dtypes are F32, F16, BF16, I32, I64, BOOL/]],
  ]);
});

describe('safetensors files', () => {
  const file = (name: string) => path.join(dir, name);
  beforeAll(async () => {
    await fs.writeFile(file('truncated.safetensors'), good.subarray(0, good.length - 3));
    await fs.writeFile(file('short.safetensors'), good.subarray(0, 5));
    await fs.mkdir(file('folder.safetensors'));
  });
  run(() => [
    ['a missing file', () => readSafetensors(file('nope.safetensors')), [/readSafetensors: cannot read .*nope\.safetensors \(ENOENT/]],
    // was a bare "EISDIR: illegal operation on a directory, read" that named no path
    ['a directory', () => readSafetensors(file('folder.safetensors')), [/readSafetensors: .*folder\.safetensors is a directory; pass the path of a \.safetensors file/]],
    ['a truncated file', () => readSafetensors(file('truncated.safetensors')), [/truncated\.safetensors: tensor "a": data_offsets \[0, 8\] run past the end of the data buffer \(5 bytes\); the file is truncated/]],
    ['a file of 5 bytes', () => readSafetensorsHeader(file('short.safetensors')), [/short\.safetensors: 5 bytes is too short for a safetensors file/]],
    ['a path that is not a string', () => readSafetensors(5 as never), [/readSafetensors: cannot read 5 \(/]],
    ['write with a misspelt option', () => writeSafetensors(file('w.safetensors'), new Map(), { meta: {} } as never), [/writeSafetensors: unknown option 'meta'; valid options are 'metadata', 'dtype'/]],
    ['write as F64', () => writeSafetensors(file('w.safetensors'), new Map(), { dtype: 'F64' as never }), [/writeSafetensors: dtype "F64" is not a float storage dtype; use 'F32', 'F16' or 'BF16'/]],
    ['write of a number array', () => writeSafetensors(file('w.safetensors'), new Map([['a', [1] as never]])), [/writeSafetensors: "a" is not a live tf\.Tensor/]],
    // was a TypeError ("tensors is not iterable")
    ['write of a plain object', () => writeSafetensors(file('w.safetensors'), {} as never), [/writeSafetensors: tensors must be a Map<name, tf\.Tensor>, got an object \(Object\)/]],
    [
      'write of a disposed tensor',
      () => {
        const t = tf.ones([2]);
        t.dispose();
        return writeSafetensors(file('w.safetensors'), new Map([['a', t]]));
      },
      [/"a" is not a live tf\.Tensor \(it was disposed\)/],
    ],
  ]);
});

describe('Hugging Face checkpoint directories and config.json', () => {
  let hfConfig: Record<string, unknown>;
  const ck = (name: string) => path.join(dir, name);
  /** A copy of the saved tiny checkpoint with config.json replaced (or removed: null). */
  async function variant(name: string, config: Record<string, unknown> | string | null): Promise<string> {
    await fs.cp(ck('tiny'), ck(name), { recursive: true });
    if (config === null) await fs.rm(path.join(ck(name), 'config.json'));
    else await fs.writeFile(path.join(ck(name), 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
    return ck(name);
  }
  beforeAll(async () => {
    await savePretrained(model, ck('tiny'));
    hfConfig = JSON.parse(await fs.readFile(path.join(ck('tiny'), 'config.json'), 'utf8'));
    await variant('no-config', null);
    await variant('broken-config', '{"hidden_size": 64,');
    await variant('array-config', '[]');
    const { head_dim: _dropped, ...withoutHeadDim } = hfConfig;
    await variant('wrong-shapes', { ...withoutHeadDim, hidden_size: 32 });
    await variant('gelu', { ...hfConfig, hidden_act: 'gelu' });
    await variant('unknown-key', { ...hfConfig, sliding_window: 4096 });
    await variant('factor', { ...hfConfig, rope_scaling: { type: 'linear', factor: 0.5 } });
    await fs.mkdir(ck('no-weights'));
    await fs.writeFile(path.join(ck('no-weights'), 'config.json'), JSON.stringify(hfConfig));
    await fs.mkdir(ck('bad-index'));
    await fs.writeFile(path.join(ck('bad-index'), 'config.json'), JSON.stringify(hfConfig));
    await fs.writeFile(path.join(ck('bad-index'), 'model.safetensors.index.json'), '{"weight_map": {"a": "../x.safetensors"}}');
    await fs.mkdir(ck('missing-shard'));
    await fs.writeFile(path.join(ck('missing-shard'), 'config.json'), JSON.stringify(hfConfig));
    await fs.writeFile(path.join(ck('missing-shard'), 'model.safetensors.index.json'), '{"weight_map": {"a": "model-00001-of-00002.safetensors"}}');
    const truncated = await fs.readFile(path.join(ck('tiny'), 'model.safetensors'));
    await variant('truncated-weights', hfConfig);
    await fs.writeFile(path.join(ck('truncated-weights'), 'model.safetensors'), truncated.subarray(0, truncated.length - 100));
  });

  run(() => [
    ['a missing directory', () => loadHFCheckpoint(ck('nowhere')), [/loadHFCheckpoint: cannot read checkpoint directory .*nowhere \(ENOENT/]],
    ['no config.json', () => loadPretrained(ck('no-config')), [/loadHFCheckpoint: .*no-config has no config\.json \(found: model\.safetensors\); a Hugging Face checkpoint directory needs its config/]],
    ['a broken config.json', () => loadPretrained(ck('broken-config')), [/loadHFCheckpoint: .*broken-config\/config\.json is not valid JSON/]],
    ['a config.json that is an array', () => loadPretrained(ck('array-config')), [/config\.json must hold a JSON object/]],
    ['weights of other shapes than config.json says', () => loadPretrained(ck('wrong-shapes')), [/loadPretrained: .*wrong-shapes: LlamaForCausalLM\.fromWeights: the weights do not fit the config\. .*mismatched .*model\.embed_tokens\.weight: checkpoint \[259, 64\] vs config \[259, 32\]/]],
    ['an activation we cannot run', () => loadPretrained(ck('gelu')), [/fromHFConfig: hidden_act = 'gelu' is not supported; this Llama implementation needs hidden_act = 'silu'/]],
    ['an unknown config key', () => loadPretrained(ck('unknown-key')), [/fromHFConfig: unknown key 'sliding_window' .* or pass \{ allowUnknownKeys: true \} if they do not change the architecture/]],
    // a truthy string used to switch the unknown-key check off
    ['allowUnknownKeys as a string', () => loadPretrained(ck('unknown-key'), { allowUnknownKeys: 'yes' as never }), [/loadPretrained: allowUnknownKeys must be true or false, got "yes"/]],
    ['a rope factor below 1', () => loadPretrained(ck('factor')), [/fromHFConfig: rope_scaling\.factor = 0\.5 must be a number >= 1/]],
    ['no weights', () => loadPretrained(ck('no-weights')), [/has neither model\.safetensors nor model\.safetensors\.index\.json \(found: config\.json\)/]],
    ['an index pointing outside the directory', () => loadHFCheckpoint(ck('bad-index')), [/maps tensors to invalid shard names \(must be \*\.safetensors files in the same directory\): a -> "\.\.\/x\.safetensors"/]],
    ['a missing shard', () => loadHFCheckpoint(ck('missing-shard')), [/is inconsistent with model\.safetensors\.index\.json:\s+shard model-00001-of-00002\.safetensors does not exist/]],
    ['truncated weights', () => loadPretrained(ck('truncated-weights')), [/truncated-weights\/model\.safetensors: .* the file is truncated/]],
    ['loadPretrained of a number', () => loadPretrained(5 as never), [/loadPretrained: dir must be a checkpoint directory path, got 5/]],
    ['loadPretrained with a misspelt option', () => loadPretrained(ck('tiny'), { allowUnknown: true } as never), [/loadPretrained: unknown option 'allowUnknown'; valid options are 'allowUnknownKeys'/]],
    ['fromHFConfig of null', () => fromHFConfig(null as never), [/fromHFConfig: expected a parsed config\.json object; got null/]],
    ['fromHFConfig with rope_scaling as a string', () => fromHFConfig({ ...hfConfig, rope_scaling: 'linear' }), [/rope_scaling = 'linear' must be null or an object such as \{"type": "linear", "factor": 2\.0\}/]],
    ['fromHFConfig with a decoupled head_dim', () => fromHFConfig({ ...hfConfig, head_dim: 8 }), [/head_dim = 8 differs from hidden_size \/ num_attention_heads = 16; decoupled head dimensions are not supported/]],
    ['fromHFConfig with allowUnknownKeys 1', () => fromHFConfig(hfConfig, { allowUnknownKeys: 1 as never }), [/fromHFConfig: allowUnknownKeys must be true or false, got 1/]],
    ['toHFConfig of an empty config', () => toHFConfig({} as never), [/toHFConfig: missing vocabSize, hiddenSize/]],
    ['savePretrained to a number', () => savePretrained(model, 5 as never), [/savePretrained: dir must be a directory path, got 5/]],
    ['savePretrained as F64', () => savePretrained(model, ck('x'), { dtype: 'F64' as never }), [/savePretrained: dtype = "F64" must be one of 'F32', 'BF16', 'F16'/]],
    ['savePretrained with a misspelt option', () => savePretrained(model, ck('x'), { dtypes: 'F32' } as never), [/unknown option 'dtypes' \(did you mean 'dtype'\?\)/]],
    ['savePretrained with maxShardBytes 0', () => savePretrained(model, ck('x'), { maxShardBytes: 0 }), [/maxShardBytes must be a positive integer number of bytes; got 0/]],
  ]);
});

describe('PEFT adapters', () => {
  const ad = (name: string) => path.join(dir, name);
  /** A copy of the saved adapter with `edit` applied to its directory. */
  async function variant(name: string, edit: (d: string) => Promise<void>): Promise<void> {
    await fs.cp(ad('adapter'), ad(name), { recursive: true });
    await edit(ad(name));
  }
  const setConfig = (edit: (c: Record<string, unknown>) => void) => async (d: string) => {
    const file = path.join(d, 'adapter_config.json');
    const c = JSON.parse(await fs.readFile(file, 'utf8'));
    edit(c);
    await fs.writeFile(file, JSON.stringify(c));
  };
  const writeConfig = (text: string) => (d: string) => fs.writeFile(path.join(d, 'adapter_config.json'), text);
  beforeAll(async () => {
    const lora = applyLora(model);
    await savePeftAdapter(ad('adapter'), lora);
    lora.dispose();
    await variant('broken-json', writeConfig('{"r": 8,'));
    await variant('null-json', writeConfig('null'));
    await variant('r-mismatch', setConfig((c) => (c.r = 4)));
    await variant('alpha-inf', writeConfig('{"peft_type": "LORA", "r": 8, "lora_alpha": 1e999, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}'));
    await variant('targets-string', setConfig((c) => (c.target_modules = 'q_proj')));
    await variant('dora', setConfig((c) => (c.use_dora = true)));
    await variant('no-config', (d) => fs.rm(path.join(d, 'adapter_config.json')));
    await variant('no-weights', (d) => fs.rm(path.join(d, 'adapter_model.safetensors')));
    await variant('truncated', async (d) => {
      const w = await fs.readFile(path.join(d, 'adapter_model.safetensors'));
      await fs.writeFile(path.join(d, 'adapter_model.safetensors'), w.subarray(0, w.length - 10));
    });
    await variant('trainable-shape', async (d) => {
      const wrong = tf.zeros([32]);
      await writeSafetensors(path.join(d, 'trainable_params.safetensors'), new Map([['model.norm.weight', wrong]]), { metadata: { format: 'pt' } });
      wrong.dispose();
    });
  });

  const load = (name: string) => () => loadPeftAdapter(ad(name), model);
  run(() => [
    ['a broken adapter_config.json', load('broken-json'), [/loadPeftAdapter: .*broken-json\/adapter_config\.json is not valid JSON/]],
    ['adapter_config.json holding null', load('null-json'), [/null-json\/adapter_config\.json: must hold a JSON object, got null/]],
    ['r that does not match the weights', load('r-mismatch'), [/r-mismatch\/adapter_model\.safetensors: the adapter file does not match the adapter that adapter_config\.json describes/, /shape mismatch for model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/]],
    ['lora_alpha 1e999 (Infinity in JSON)', load('alpha-inf'), [/alpha-inf\/adapter_config\.json: lora_alpha = Infinity must be a finite number > 0/]],
    ['target_modules as a string', load('targets-string'), [/target_modules = "q_proj" must be a list of module names .* a regular expression is not supported/]],
    ['DoRA', load('dora'), [/use_dora = true: use_dora true \(DoRA\) is not supported/]],
    ['no adapter_config.json', load('no-config'), [/loadPeftAdapter: .*no-config has no adapter_config\.json; is it a PEFT adapter directory\?/]],
    ['no adapter weights', load('no-weights'), [/no-weights has no adapter_model\.safetensors/]],
    ['truncated adapter weights', load('truncated'), [/truncated\/adapter_model\.safetensors: tensor .* run past the end of the data buffer .* the file is truncated/]],
    ['a trainable param of the wrong shape', load('trainable-shape'), [/trainable-shape\/trainable_params\.safetensors: the trainable params file does not match the model:[\s\S]*model\.norm\.weight/]],
    ['a directory that is not a string', () => loadPeftAdapter(5 as never, model), [/loadPeftAdapter: dir must be an adapter directory path, got 5/]],
    ['no model', () => loadPeftAdapter(ad('adapter'), null as never), [/loadPeftAdapter: model = null must be a LlamaForCausalLM/]],
    ['save of something that is not adapters', () => savePeftAdapter(ad('x'), {} as never), [/savePeftAdapter: lora must be the LoraAdapters that applyLora \(or loadPeftAdapter\) returned, got an object \(Object\)/]],
    ['save with a misspelt option', () => savePeftAdapter(ad('x'), {} as never, { base: 'x' } as never), [/savePeftAdapter: unknown option 'base'; valid options are 'baseModelName', 'trainableParams'/]],
    ['a merged checkpoint of an unextended model', () => saveMergedCheckpoint(ad('merged'), model), [/saveMergedCheckpoint: the model has no rope scaling .* \(official issue #181\)/, /or \{ extendedContext: false \} for a model that was not extended/]],
    ['a merged checkpoint of something else', () => saveMergedCheckpoint(ad('merged'), {} as never), [/source must be a LlamaForCausalLM \(with its LoRA attached\) or the LoraAdapters of one, got an object \(Object\)/]],
    ['the old config argument', () => saveMergedCheckpoint(ad('merged'), model, { rope_scaling: null } as never), [/the third argument is the options .* call saveMergedCheckpoint\(dir, extendedModel\)/]],
  ]);

  it('a failed load leaves the weights as they were', async () => {
    const norm = () => tf.tidy(() => Array.from((model.parameters.get('model.norm.weight') as tf.Tensor).dataSync()));
    const before = norm();
    await expectBadInput(load('trainable-shape'), [/model\.norm\.weight/]);
    expect(norm()).toEqual(before);
  });
});
