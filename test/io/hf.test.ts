import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready, tf } from '../../lib/backend';
import type { Tensor } from '../../lib/backend';
import { hfShardName, loadHFCheckpoint, planShards, saveHFCheckpoint } from '../../lib/io/hf';
import { checkHFLlamaTensors, hfLlamaParameterShapes } from '../../lib/io/llama-names';
import { bf16BitsToFloat, floatToBf16Bits } from '../../lib/io/half';
import { parseSafetensors } from '../../lib/io/safetensors';
import { expectNoLeakedTensors, seededTensor } from '../helpers';
import { HF_FIXTURE } from './bytes';

const F32_DIR = path.join(HF_FIXTURE, 'f32');
const BF16_DIR = path.join(HF_FIXTURE, 'bf16-sharded');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

let work: string;
beforeAll(async () => {
  await ready({ backend: 'cpu' });
});
beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'longlora-hf-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fs.rm(work, { recursive: true, force: true });
});

/** Copies a fixture directory into the scratch area (tests may damage the copy). */
async function copyDir(from: string, to: string): Promise<void> {
  await fs.cp(from, to, { recursive: true });
}

/** The tensors in HF `state_dict()` order (the order save_pretrained fills shards in). */
function inStateDictOrder(config: Record<string, unknown>, tensors: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...hfLlamaParameterShapes(config).keys()].map((n) => [n, tensors.get(n) as Tensor]));
}

describe('the Hugging Face transformers 4.34.0 fixture', () => {
  it('f32/: config.json and every Llama tensor with the names and shapes the config implies', async () => {
    const ckpt = await loadHFCheckpoint(F32_DIR);
    expect(ckpt.config).toEqual(readJson(path.join(F32_DIR, 'config.json')));
    expect(ckpt.config.transformers_version).toBe('4.34.0');
    expect(ckpt.files).toEqual(['model.safetensors']);
    expect(ckpt.tensors.size).toBe(21);
    checkHFLlamaTensors(ckpt.config, ckpt.tensors);
    expect(ckpt.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([16, 32]); // 2 kv heads x 8
    expect(new Set(ckpt.dtypes.values())).toEqual(new Set(['F32']));
    for (const t of ckpt.tensors.values()) expect(t.dtype).toBe('float32');
    // RMSNorm weights were perturbed away from 1 by the generator, so a loader that drops them is caught.
    const norm = await ckpt.tensors.get('model.norm.weight')!.data();
    expect(Math.max(...Array.from(norm, (v) => Math.abs(v - 1)))).toBeGreaterThan(0.1);
    tf.dispose([...ckpt.tensors.values()]);
  });

  it('bf16-sharded/: two shards + index; each value is the round-to-nearest-even bf16 of the F32 value', async () => {
    const f32 = await loadHFCheckpoint(F32_DIR);
    const bf16 = await loadHFCheckpoint(BF16_DIR);
    expect(bf16.files.sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(bf16.config.torch_dtype).toBe('bfloat16');
    expect([...bf16.tensors.keys()].sort()).toEqual([...f32.tensors.keys()].sort());
    expect(new Set(bf16.dtypes.values())).toEqual(new Set(['BF16']));
    let compared = 0;
    for (const [name, t] of f32.tensors) {
      const b = bf16.tensors.get(name)!;
      expect(b.shape).toEqual(t.shape);
      const x = await t.data();
      const y = await b.data();
      for (let i = 0; i < x.length; i++) {
        // Exact: torch's cast and our encoder agree bit for bit; and within bf16 rounding (2^-8 relative).
        if (y[i] !== bf16BitsToFloat(floatToBf16Bits(x[i]))) throw new Error(`${name}[${i}]: bf16 ${y[i]} vs rne(f32 ${x[i]})`);
        if (Math.abs(y[i] - x[i]) > 2 ** -8 * Math.abs(x[i])) throw new Error(`${name}[${i}]: bf16 ${y[i]} not within 2^-8 of ${x[i]}`);
        compared++;
      }
    }
    expect(compared).toBe(39776);
    tf.dispose([...f32.tensors.values(), ...bf16.tensors.values()]);
  });

  it('saveHFCheckpoint reproduces save_pretrained: same files, same shards, byte for byte', async () => {
    const f32 = await loadHFCheckpoint(F32_DIR);
    const ordered = inStateDictOrder(f32.config, f32.tensors);
    const single = await saveHFCheckpoint(path.join(work, 'f32'), { config: f32.config, tensors: ordered });
    expect(single.files).toEqual(['config.json', 'model.safetensors']);
    expect(readFileSync(path.join(work, 'f32', 'model.safetensors')).equals(readFileSync(path.join(F32_DIR, 'model.safetensors')))).toBe(true);

    const bf16Config = readJson(path.join(BF16_DIR, 'config.json'));
    const sharded = await saveHFCheckpoint(path.join(work, 'bf16'), { config: bf16Config, tensors: ordered, dtype: 'BF16', maxShardBytes: 45_000 });
    expect(sharded.totalSize).toBe(79552);
    for (const file of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']) {
      expect(readFileSync(path.join(work, 'bf16', file)).equals(readFileSync(path.join(BF16_DIR, file)))).toBe(true);
    }
    expect(readJson(path.join(work, 'bf16', 'config.json'))).toEqual(bf16Config);
    expect((await fs.readdir(path.join(work, 'bf16'))).sort()).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    tf.dispose([...f32.tensors.values()]);
  });
});

describe('saveHFCheckpoint / loadHFCheckpoint round trip', () => {
  const config = { model_type: 'test', hidden_size: 4 };
  const make = () =>
    new Map<string, Tensor>([
      ['a.weight', seededTensor([10, 10], 1)], // 400 bytes
      ['b.weight', seededTensor([5, 4], 2)], // 80
      ['c.bias', seededTensor([4], 3)], // 16
      ['big.weight', seededTensor([30, 10], 4)], // 1200: larger than a shard, gets its own
      ['ids', tf.tensor([3, -1, 7], [3], 'int32')], // 12
      ['scale', tf.scalar(0.5)], // 4
    ]);

  it.each([
    ['single file', undefined, ['model.safetensors']],
    ['sharded', 500, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']],
  ])('%s', async (_label, maxShardBytes, weightFiles) => {
    const tensors = make();
    const dir = path.join(work, 'ckpt');
    const saved = await saveHFCheckpoint(dir, { config, tensors, maxShardBytes });
    expect(saved.files).toEqual(['config.json', ...weightFiles, ...(weightFiles.length > 1 ? ['model.safetensors.index.json'] : [])]);
    expect(saved.totalSize).toBe(400 + 80 + 16 + 1200 + 12 + 4);
    if (maxShardBytes !== undefined) {
      const index = readJson(path.join(dir, 'model.safetensors.index.json'));
      expect(index).toEqual({
        metadata: { total_size: 1712 },
        weight_map: {
          'a.weight': hfShardName(0, 3),
          'b.weight': hfShardName(0, 3),
          'big.weight': hfShardName(1, 3),
          'c.bias': hfShardName(0, 3),
          ids: hfShardName(2, 3),
          scale: hfShardName(2, 3),
        },
      });
    }
    for (const file of weightFiles) {
      expect(parseSafetensors(readFileSync(path.join(dir, file))).metadata).toEqual({ format: 'pt' });
    }
    const back = await loadHFCheckpoint(dir);
    expect(back.config).toEqual(config);
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(Array.from(await b.data())).toEqual(Array.from(await t.data()));
    }
    expect((await fs.readdir(work)).sort()).toEqual(['ckpt']);
    tf.dispose([...tensors.values(), ...back.tensors.values()]);
  });

  it('planShards follows transformers 4.34 shard_checkpoint', () => {
    const sizes = new Map([['a', 3], ['b', 3], ['c', 5], ['d', 1], ['e', 2], ['f', 9]]);
    expect(planShards(sizes, 6)).toEqual([['a', 'b'], ['c', 'd'], ['e'], ['f']]);
    expect(planShards(sizes, 100)).toEqual([['a', 'b', 'c', 'd', 'e', 'f']]);
    expect(planShards(new Map([['x', 10]]), 1)).toEqual([['x']]);
    expect(hfShardName(0, 3)).toBe('model-00001-of-00003.safetensors');
  });

  it('replacing an existing checkpoint is atomic: a failed save leaves the old one intact', async () => {
    const tensors = make();
    const dir = path.join(work, 'ckpt');
    await saveHFCheckpoint(dir, { config, tensors, maxShardBytes: 500 });
    const before = (await fs.readdir(dir)).sort().map((f) => [f, readFileSync(path.join(dir, f)).toString('base64')]);
    const realWrite = fs.writeFile.bind(fs);
    let writes = 0;
    jest.spyOn(fs, 'writeFile').mockImplementation(async (...args: Parameters<typeof fs.writeFile>) => {
      if (++writes === 2) throw new Error('simulated disk full on the second shard');
      return realWrite(...args);
    });
    await expect(saveHFCheckpoint(dir, { config: { ...config, hidden_size: 8 }, tensors, maxShardBytes: 500 })).rejects.toThrow('simulated disk full on the second shard');
    jest.restoreAllMocks();
    const after = (await fs.readdir(dir)).sort().map((f) => [f, readFileSync(path.join(dir, f)).toString('base64')]);
    expect(after).toEqual(before);
    expect(await fs.readdir(work)).toEqual(['ckpt']);
    tf.dispose([...tensors.values()]);
  });

  it('loadHFCheckpoint first recovers a replace that crashed with the old directory moved aside', async () => {
    await copyDir(F32_DIR, path.join(work, `.ckpt.old-99999999-0123abcd`));
    const ckpt = await loadHFCheckpoint(path.join(work, 'ckpt'));
    expect(ckpt.tensors.size).toBe(21);
    expect(await fs.readdir(work)).toEqual(['ckpt']);
    tf.dispose([...ckpt.tensors.values()]);
  });

  it('writes config.json with float literals and extra files in the same atomic replace', async () => {
    const t = tf.ones([2]);
    const dir = path.join(work, 'x');
    const saved = await saveHFCheckpoint(dir, {
      config: { rope_scaling: { type: 'linear', factor: 2 }, rope_theta: 10000, hidden_size: 4 },
      tensors: new Map([['w', t]]),
      extraFiles: new Map<string, string | Uint8Array>([['tokenizer.json', '{"model": {}}'], ['blob.bin', new Uint8Array([1, 2, 3])]]),
    });
    expect(saved.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'blob.bin']);
    expect(readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe('{\n  "rope_scaling": {\n    "type": "linear",\n    "factor": 2.0\n  },\n  "rope_theta": 10000.0,\n  "hidden_size": 4\n}\n');
    expect(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).toBe('{"model": {}}');
    expect(Array.from(readFileSync(path.join(dir, 'blob.bin')))).toEqual([1, 2, 3]);
    const bad = (extraFiles: unknown) => saveHFCheckpoint(path.join(work, 'y'), { config, tensors: new Map([['w', t]]), extraFiles: extraFiles as never });
    await expect(bad(new Map([['../escape.json', '{}']]))).rejects.toThrow('extraFiles name "../escape.json" must be a plain file name');
    await expect(bad(new Map([['model.safetensors', '']]))).rejects.toThrow('extraFiles name model.safetensors is one of the checkpoint\'s own files');
    await expect(bad(new Map([['a.json', 5]]))).rejects.toThrow('extraFiles a.json must be a string or Uint8Array');
    await expect(bad({ 'a.json': '{}' })).rejects.toThrow('extraFiles must be a Map');
    await expect(saveHFCheckpoint(path.join(work, 'y'), { config: { factor: NaN }, tensors: new Map([['w', t]]) })).rejects.toThrow('config.factor = NaN has no JSON form');
    expect((await fs.readdir(work)).sort()).toEqual(['x']); // nothing written by the failed calls
    t.dispose();
  });

  it('option errors', async () => {
    const t = tf.ones([2]);
    const tensors = new Map([['w', t]]);
    const dir = path.join(work, 'x');
    await expect(saveHFCheckpoint(dir, { config, tensors, shardSize: 3 } as never)).rejects.toThrow("saveHFCheckpoint: unknown option 'shardSize'; valid options are 'config', 'tensors', 'maxShardBytes', 'dtype', 'metadata', 'extraFiles'");
    await expect(saveHFCheckpoint(dir, { config, tensors, maxShardBytes: 0 })).rejects.toThrow('maxShardBytes must be a positive integer number of bytes; got 0');
    await expect(saveHFCheckpoint(dir, { config, tensors: new Map() })).rejects.toThrow('tensors must be a non-empty Map<string, Tensor>');
    await expect(saveHFCheckpoint(dir, { config: null as never, tensors })).rejects.toThrow('config must be the config.json object');
    await expect(saveHFCheckpoint(dir, { config, tensors, dtype: 'F64' as never })).rejects.toThrow(`saveHFCheckpoint: dtype "F64" is not a float storage dtype`);
    expect(await fs.readdir(work)).toEqual([]);
    t.dispose();
  });
});

describe('loadHFCheckpoint rejects broken checkpoints, listing the problems, without leaking tensors', () => {
  const expectFailure = async (dir: string, message: string | RegExp) => {
    const before = tf.memory().numTensors;
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('missing directory, config, weights', async () => {
    await expectFailure(path.join(work, 'none'), /loadHFCheckpoint: cannot read checkpoint directory .*none/);
    const dir = path.join(work, 'ckpt');
    await copyDir(F32_DIR, dir);
    await fs.rm(path.join(dir, 'config.json'));
    await expectFailure(dir, /has no config\.json \(found: model\.safetensors\)/);
    await fs.writeFile(path.join(dir, 'config.json'), '{"vocab_size": ');
    await expectFailure(dir, /config\.json is not valid JSON/);
    await fs.writeFile(path.join(dir, 'config.json'), '{}');
    await fs.rename(path.join(dir, 'model.safetensors'), path.join(dir, 'pytorch_model.bin'));
    await expectFailure(dir, /has neither model\.safetensors nor model\.safetensors\.index\.json \(found: .*pytorch_model\.bin.*\)\. PyTorch \.bin weights are not supported/);
  });

  it('a truncated or corrupt weight file names the file and the tensor', async () => {
    const dir = path.join(work, 'ckpt');
    await copyDir(BF16_DIR, dir);
    const shard = path.join(dir, 'model-00002-of-00002.safetensors');
    const bytes = readFileSync(shard);
    await fs.writeFile(shard, bytes.subarray(0, bytes.length - 100));
    await expectFailure(dir, /model-00002-of-00002\.safetensors: tensor ".*": data_offsets .* run past the end of the data buffer/);
  });

  it('index problems are all listed: missing shard, names missing from a shard, names not indexed', async () => {
    const dir = path.join(work, 'ckpt');
    await copyDir(BF16_DIR, dir);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = readJson(indexFile) as { weight_map: Record<string, string> };
    index.weight_map['model.layers.9.mlp.up_proj.weight'] = 'model-00001-of-00002.safetensors'; // indexed, not stored
    index.weight_map['extra.weight'] = 'model-00003-of-00003.safetensors'; // shard that does not exist
    delete index.weight_map['model.norm.weight']; // stored, not indexed
    index.weight_map['lm_head.weight'] = 'model-00001-of-00002.safetensors'; // stored in shard 2, indexed in shard 1
    await fs.writeFile(indexFile, JSON.stringify(index));
    let message = '';
    const before = tf.memory().numTensors;
    await loadHFCheckpoint(dir).catch((e: Error) => (message = e.message));
    expect(tf.memory().numTensors).toBe(before);
    expect(message).toContain('is inconsistent with model.safetensors.index.json');
    expect(message).toContain('shard model-00003-of-00003.safetensors does not exist (the index assigns it 1 tensors: extra.weight)');
    expect(message).toContain('shard model-00001-of-00002.safetensors lacks tensors the index assigns to it: lm_head.weight, model.layers.9.mlp.up_proj.weight');
    expect(message).toContain('shard model-00002-of-00002.safetensors holds tensors the index does not assign to it: lm_head.weight (indexed in model-00001-of-00002.safetensors), model.norm.weight (not in the index)');
  });

  it('shard names outside the directory and malformed indexes are refused', async () => {
    const dir = path.join(work, 'ckpt');
    await copyDir(BF16_DIR, dir);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    await fs.writeFile(indexFile, JSON.stringify({ weight_map: { a: '../../etc/passwd.safetensors', b: 7 } }));
    await expectFailure(dir, 'maps tensors to invalid shard names (must be *.safetensors files in the same directory): a -> "../../etc/passwd.safetensors", b -> 7');
    await fs.writeFile(indexFile, JSON.stringify({ metadata: {} }));
    await expectFailure(dir, 'must be an object with a "weight_map" object');
    await fs.writeFile(indexFile, JSON.stringify({ weight_map: {} }));
    await expectFailure(dir, 'has an empty weight_map');
  });

  it('loading leaks no tensors', async () => {
    await expectNoLeakedTensors(async () => {
      const ckpt = await loadHFCheckpoint(BF16_DIR);
      tf.dispose([...ckpt.tensors.values()]);
    });
  });
});

describe('hfLlamaParameterShapes / checkHFLlamaTensors', () => {
  const config = readJson(path.join(F32_DIR, 'config.json'));

  it('lists the parameters in state_dict order; tied embeddings drop lm_head', () => {
    const shapes = hfLlamaParameterShapes(config);
    expect([...shapes.keys()].slice(0, 10)).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
    ]);
    expect([...shapes.keys()].slice(-2)).toEqual(['model.norm.weight', 'lm_head.weight']);
    expect(shapes.get('model.layers.0.mlp.down_proj.weight')).toEqual([32, 88]);
    expect(hfLlamaParameterShapes({ ...config, tie_word_embeddings: true }).has('lm_head.weight')).toBe(false);
    const { num_key_value_heads: _drop, ...mha } = config;
    expect(hfLlamaParameterShapes(mha).get('model.layers.0.self_attn.k_proj.weight')).toEqual([32, 32]);
  });

  it('bad configs are errors naming the key (the model config rules: one place)', () => {
    expect(() => hfLlamaParameterShapes({ ...config, attention_bias: true })).toThrow('attention_bias = true is not supported');
    expect(() => hfLlamaParameterShapes({ ...config, num_attention_heads: 5 })).toThrow('hiddenSize 32 is not divisible by numAttentionHeads 5');
    expect(() => hfLlamaParameterShapes({ ...config, num_key_value_heads: 3 })).toThrow('numKeyValueHeads 3 does not divide numAttentionHeads 4');
  });

  it('a checkpoint that does not match its config gets one error listing every problem', () => {
    const shapes = hfLlamaParameterShapes(config);
    const fake = new Map([...shapes].map(([n, s]) => [n, { shape: s }]));
    expect(() => checkHFLlamaTensors(config, fake)).not.toThrow(); // negative control
    fake.delete('model.layers.1.mlp.up_proj.weight');
    fake.delete('lm_head.weight');
    fake.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4] });
    fake.set('model.layers.0.self_attn.k_proj.weight', { shape: [32, 32] });
    expect(() => checkHFLlamaTensors(config, fake)).toThrow(
      'checkHFLlamaTensors: the checkpoint does not match the config:\n' +
        '  missing from the checkpoint (2): model.layers.1.mlp.up_proj.weight, lm_head.weight\n' +
        '  unexpected in the checkpoint (1): model.layers.0.self_attn.rotary_emb.inv_freq\n' +
        '  shape mismatch for model.layers.0.self_attn.k_proj.weight: config [16, 32], checkpoint [32, 32]',
    );
    fake.set('model.layers.0.self_attn.k_proj.weight', { shape: [16, 32] });
    const diff = checkHFLlamaTensors({ ...config, tie_word_embeddings: true }, fake, {
      allowMissing: ['model.layers.1.mlp.up_proj.weight'],
      allowUnexpected: [/rotary_emb\.inv_freq$/],
    });
    expect(diff.allowedMissing).toEqual(['model.layers.1.mlp.up_proj.weight']);
    expect(diff.allowedUnexpected).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
  });
});
