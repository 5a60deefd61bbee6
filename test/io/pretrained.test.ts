/**
 * loadPretrained / savePretrained: one call from an HF checkpoint directory to a model (the HF
 * fixture's logits reproduced on every numerics backend, BF16 shards, the stored dtype remembered)
 * and back (files, dtypes, shards, torch_dtype, rope_scaling, the tokenizer, text in and out), with every refusal and
 * no tensors left behind on success or failure.
 */
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready, tf } from '../../lib/backend';
import type { Tensor, Tensor2D } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import { loadHFCheckpoint, loadPretrained, loadTokenizer, loadedDtype, readSafetensors, savePretrained } from '../../lib/io';
import { bf16BitsToFloat, f16BitsToFloat, floatToBf16Bits, floatToF16Bits } from '../../lib/io/half';
import { generate } from '../../lib/eval';
import { expectNoLeakedTensors, expectTensorsClose, numericBackendsAndCpu, useBackend } from '../helpers';
import { HF_FIXTURE } from './bytes';

const TOKENIZER_FIXTURE = path.join(HF_FIXTURE, '..', 'hf-tokenizer');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe.each(numericBackendsAndCpu())('loadPretrained reproduces the transformers 4.34 fixture on %s', (backend) => {
  useBackend(backend);
  let expected: Map<string, Tensor>;
  beforeAll(async () => {
    expected = await readSafetensors(path.join(HF_FIXTURE, 'expected.safetensors'));
  });
  afterAll(() => tf.dispose([...expected.values()]));

  it('f32/: HF logits within 1e-4 from one call; the model holds its 21 weights and nothing else', async () => {
    const before = tf.memory().numTensors;
    const model = await loadPretrained(path.join(HF_FIXTURE, 'f32'));
    expect(tf.memory().numTensors - before).toBe(21);
    expect(loadedDtype(model)).toBe('F32');
    const logits = model.forward(expected.get('input_ids') as Tensor2D);
    expectTensorsClose(logits, expected.get('logits')!, { atol: 1e-4, rtol: 0 });
    logits.dispose();
    const live = tf.memory().numTensors; // (the forward pass may have cached rope tables and masks)
    model.dispose();
    expect(tf.memory().numTensors).toBe(live - 21);
  });

  it('bf16-sharded/: reads both shards; the loss HF computed from the same bf16 weights; remembers BF16', async () => {
    const model = await loadPretrained(path.join(HF_FIXTURE, 'bf16-sharded'));
    expect(loadedDtype(model)).toBe('BF16');
    expect(loadedDtype(extendContext(model, 128, 'linear'))).toBe('BF16'); // shared weights, same dtype
    const loss = model.loss(expected.get('input_ids') as Tensor2D);
    expect(Math.abs(loss.dataSync()[0] - expected.get('loss_bf16_weights')!.dataSync()[0])).toBeLessThan(1e-5);
    loss.dispose();
    model.dispose();
  });
});

describe('savePretrained', () => {
  let work: string;
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'longlora-pretrained-'));
  });
  afterEach(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  const config = makeConfig(presets.tiny, { initializerRange: 0.3 });

  it('F32: config.json + model.safetensors; reloads to the same config and identical weights', async () => {
    const model = LlamaForCausalLM.create(makeConfig(config, { ropeScaling: { type: 'linear', factor: 2 }, attention: { kind: 's2' } }), { seed: 3 });
    expect(loadedDtype(model)).toBeNull(); // created, not loaded
    const dir = path.join(work, 'ckpt');
    const saved = await savePretrained(model, dir);
    expect(saved.files).toEqual(['config.json', 'model.safetensors']);
    const json = readJson(path.join(dir, 'config.json'));
    expect(json).toMatchObject({ torch_dtype: 'float32', rope_scaling: { type: 'linear', factor: 2 }, max_position_embeddings: 128, longlora_attention: { kind: 's2' } });
    expect(readFileSync(path.join(dir, 'config.json'), 'utf8')).toContain('"factor": 2.0');
    const back = await loadPretrained(dir);
    expect(back.config).toEqual(model.config);
    for (const [name, v] of model.parameters) expect(Array.from(back.parameters.get(name)!.dataSync())).toEqual(Array.from(v.dataSync()));
    const ckpt = await loadHFCheckpoint(dir);
    expect([...ckpt.tensors.keys()].sort()).toEqual([...model.parameters.keys()].sort());
    tf.dispose([...ckpt.tensors.values()]);
    back.dispose();
    model.dispose();
  });

  it.each([
    ['BF16', 'bfloat16', (x: number) => bf16BitsToFloat(floatToBf16Bits(x))],
    ['F16', 'float16', (x: number) => f16BitsToFloat(floatToF16Bits(x))],
  ] as const)('%s: every weight is the round-to-nearest-even value; torch_dtype %s; the reload remembers the dtype and keeps it', async (dtype, torchDtype, round) => {
    const model = LlamaForCausalLM.create(config, { seed: 4 });
    const dir = path.join(work, 'half');
    await savePretrained(model, dir, { dtype });
    expect(readJson(path.join(dir, 'config.json')).torch_dtype).toBe(torchDtype);
    const back = await loadPretrained(dir);
    expect(loadedDtype(back)).toBe(dtype);
    let changed = 0;
    for (const [name, v] of model.parameters) {
      const want = Array.from(v.dataSync(), round);
      const got = Array.from(back.parameters.get(name)!.dataSync());
      expect(got).toEqual(want);
      changed += want.filter((w, i) => w !== v.dataSync()[i]).length;
    }
    expect(changed).toBeGreaterThan(1000); // the rounding happened
    // saving the reloaded model again keeps its dtype by default, and the explicit option wins
    await savePretrained(back, path.join(work, 'again'));
    expect(readJson(path.join(work, 'again', 'config.json')).torch_dtype).toBe(torchDtype);
    await savePretrained(back, path.join(work, 'f32'), { dtype: 'F32' });
    expect(readJson(path.join(work, 'f32', 'config.json')).torch_dtype).toBe('float32');
    back.dispose();
    model.dispose();
  });

  it('shards above maxShardBytes, with the index, and the tokenizer files when given; the reload is the same model', async () => {
    const tokenizer = await loadTokenizer(TOKENIZER_FIXTURE);
    const model = LlamaForCausalLM.create(makeConfig(config, { vocabSize: tokenizer.vocabSize }), { seed: 5 });
    const dir = path.join(work, 'sharded');
    const saved = await savePretrained(model, dir, { maxShardBytes: 100_000, tokenizer });
    const shards = saved.files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(2);
    expect(saved.files).toEqual(['config.json', ...shards, 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
    const copy = await loadTokenizer(dir);
    expect(Array.from(copy.encode('The pass key is 71432.'))).toEqual(Array.from(tokenizer.encode('The pass key is 71432.')));
    const back = await loadPretrained(dir);
    const ids = tf.tensor2d([Array.from(tokenizer.encode('The pass key is 71432.'))], undefined, 'int32') as Tensor2D;
    tf.tidy(() => expectTensorsClose(back.forward(ids), model.forward(ids), { atol: 0 }));
    // the loaded pair works end to end: text -> ids -> generation -> text
    const prompt = copy.encode('The pass key is');
    const continuation = generate(back, prompt, { maxNewTokens: 6 });
    expect(continuation).toHaveLength(6);
    const text = copy.decode([...Array.from(prompt), ...continuation], { skipSpecialTokens: true });
    expect(text.startsWith('The pass key is')).toBe(true);
    // saving again without the tokenizer replaces the folder as a whole: the tokenizer is gone
    await savePretrained(back, dir);
    expect((await fs.readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    tf.dispose(ids);
    back.dispose();
    model.dispose();
  });

  it('refuses what it cannot write faithfully, before touching the folder', async () => {
    const model = LlamaForCausalLM.create(config, { seed: 6 });
    const dir = path.join(work, 'x');
    await expect(savePretrained(model, dir, { dtype: 'F64' } as never)).rejects.toThrow("savePretrained: dtype = \"F64\" must be one of 'F32', 'BF16', 'F16'");
    await expect(savePretrained(model, dir, { dtyp: 'F32' } as never)).rejects.toThrow("savePretrained: unknown option 'dtyp' (did you mean 'dtype'?)");
    await expect(savePretrained(model, dir, { tokenizer: {} } as never)).rejects.toThrow('savePretrained: tokenizer must be an HFTokenizer (from loadTokenizer)');
    await expect(savePretrained({} as never, dir)).rejects.toThrow('savePretrained: model must be a LlamaForCausalLM');
    await expect(savePretrained(model, '' as never)).rejects.toThrow('savePretrained: dir must be a directory path');
    const lora = applyLora(model);
    await expect(savePretrained(model, dir)).rejects.toThrow(
      'savePretrained: the model has 8 adapter(s) attached (e.g. model.layers.0.self_attn.q_proj), which a Hugging Face checkpoint cannot hold; save them with savePeftAdapter(dir, lora), or write the base with the adapters folded in with saveMergedCheckpoint(dir, model)',
    );
    lora.dispose();
    model.dispose();
    await expect(savePretrained(model, dir)).rejects.toThrow('savePretrained: the model was disposed');
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('loadPretrained: errors name the folder and the problem, and leave no tensors behind', async () => {
    const dir = path.join(work, 'ckpt');
    await fs.cp(path.join(HF_FIXTURE, 'f32'), dir, { recursive: true });
    const fails = async (message: string | RegExp, options?: object) => {
      const before = tf.memory().numTensors;
      await expect(loadPretrained(dir, options as never)).rejects.toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
    };
    const json = readJson(path.join(dir, 'config.json'));
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...json, sliding_window: 4096 }));
    await fails(`loadPretrained: ${dir}: fromHFConfig: unknown key 'sliding_window'`);
    const model = await loadPretrained(dir, { allowUnknownKeys: true }); // the documented way past it
    model.dispose();
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...json, intermediate_size: 96 }));
    await fails(/^loadPretrained: .*: LlamaForCausalLM\.fromWeights: the weights do not fit the config\. mismatched \(6\): model\.layers\.0\.mlp\.gate_proj\.weight: checkpoint \[88, 32\] vs config \[96, 32\]/);
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...json, tie_word_embeddings: true }));
    await fails(/unexpected \(1\): lm_head\.weight \(tieWordEmbeddings is true/);
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(json));
    await fails("loadPretrained: unknown option 'strict'", { strict: true });
    await expect(loadPretrained(path.join(work, 'nowhere'))).rejects.toThrow(/loadHFCheckpoint: cannot read checkpoint directory .*nowhere/);
    await expect(loadPretrained(42 as never)).rejects.toThrow('loadPretrained: dir must be a checkpoint directory path, got 42');
  });

  it('load, save and dispose leak nothing', async () => {
    await expectNoLeakedTensors(async () => {
      const model = await loadPretrained(path.join(HF_FIXTURE, 'bf16-sharded'));
      await savePretrained(model, path.join(work, 'resaved'), { maxShardBytes: 50_000 });
      model.dispose();
    });
  });
});
