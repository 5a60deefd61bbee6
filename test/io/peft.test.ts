/**
 * LongLoRA outputs: PEFT adapter + trainable_params round trip (the reloaded model computes the
 * same logits), the exact file layout, the merged checkpoint carrying rope_scaling in the form
 * transformers 4.34 accepts, and loadPeftAdapter's failure paths: every one names the file, leaves the
 * model unchanged and allocates nothing. (PEFT itself reading these files: interop-hf434.e2e.test.ts.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import {
  savePeftAdapter,
  loadPeftAdapter,
  saveMergedCheckpoint,
  loadHFCheckpoint,
  loadPretrained,
  loadedDtype,
  readSafetensors,
  savePretrained,
  writeSafetensors,
  fromHFConfig,
  toHFConfig,
  loraConfigFromPeft,
} from '../../lib/io';
import { expectNoLeakedTensors, expectTensorsClose, seededValues } from '../helpers';

const config = makeConfig(presets.tiny, { initializerRange: 0.2 });

/** A tiny model with LoRA whose B (and embedding/norms) moved away from their start. */
function trained(seed: number) {
  const model = LlamaForCausalLM.create(config, { seed });
  const lora = applyLora(model, { r: 4, alpha: 8 }, { seed: 2 });
  for (const layer of lora.layers.values()) tf.tidy(() => layer.B.assign(tf.tensor2d(seededValues(layer.B.size, 5, 0.3), layer.B.shape as [number, number])));
  const norm = model.parameters.get('model.norm.weight')!;
  tf.tidy(() => norm.assign(tf.tensor1d(seededValues(norm.size, 6, 0.5)).add(1)));
  const emb = model.parameters.get('model.embed_tokens.weight')!;
  tf.tidy(() => emb.assign(tf.add(emb, tf.tensor(seededValues(emb.size, 7, 0.05), emb.shape))));
  return { model, lora };
}

/** Every weight of a model as plain arrays, to check that a failed call changed nothing. */
function snapshot(model: LlamaForCausalLM): Map<string, number[]> {
  return new Map([...model.parameters].map(([n, v]) => [n, Array.from(v.dataSync())]));
}

let dir: string;
let ids: Tensor2D;
beforeAll(async () => {
  await ready({ backend: 'wasm' });
  ids = tf.tensor2d(Int32Array.from({ length: 2 * 40 }, (_, i) => (i * 37) % 259), [2, 40], 'int32') as Tensor2D;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-peft-'));
});
afterAll(() => {
  ids.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PEFT adapters and trainable_params', () => {
  it('adapter round trip: PEFT key names and shapes, config, trainable_params, same logits after reload', async () => {
    const { model, lora } = trained(1);
    const out = path.join(dir, 'adapter');
    await savePeftAdapter(out, lora, { baseModelName: 'longlora-ts/tiny' });
    expect(fs.readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'trainable_params.safetensors']);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0, bias: 'none', target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], base_model_name_or_path: 'longlora-ts/tiny' });
    const adapter = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    expect(adapter.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([4, 64]);
    expect(adapter.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')!.shape).toEqual([32, 4]); // 2 kv heads x 16
    expect(adapter.size).toBe(2 * 4 * 2);
    const trainable = await readSafetensors(path.join(out, 'trainable_params.safetensors'));
    expect([...trainable.keys()].sort()).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.1.input_layernorm.weight',
      'model.layers.1.post_attention_layernorm.weight',
      'model.norm.weight',
    ]);
    tf.dispose([...adapter.values(), ...trainable.values()]);

    const expected = model.forward(ids);
    const fresh = LlamaForCausalLM.create(config, { seed: 1 }); // the untrained base
    const before = fresh.forward(ids);
    expect(() => expectTensorsClose(before, expected, { atol: 1e-4 })).toThrow(); // the adapter matters
    const loaded = await loadPeftAdapter(out, fresh);
    const after = fresh.forward(ids);
    expectTensorsClose(after, expected, { atol: 1e-5 });
    tf.dispose([expected, before, after]);
    loaded.dispose();
    lora.dispose();
    model.dispose();
    fresh.dispose();
  });

  it("accepts PEFT's adapter name in the keys (lora_A.default.weight) and trainable names with the PEFT prefix", async () => {
    const { model, lora } = trained(2);
    const out = path.join(dir, 'default-names');
    await savePeftAdapter(out, lora);
    const weights = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    const renamed = new Map([...weights].map(([k, t]) => [k.replace(/\.weight$/, '.default.weight'), t]));
    await writeSafetensors(path.join(out, 'adapter_model.safetensors'), renamed);
    const trainable = await readSafetensors(path.join(out, 'trainable_params.safetensors'));
    await writeSafetensors(path.join(out, 'trainable_params.safetensors'), new Map([...trainable].map(([k, t]) => [`base_model.model.${k}`, t])));
    tf.dispose([...weights.values(), ...trainable.values()]);
    const fresh = LlamaForCausalLM.create(config, { seed: 2 });
    const loaded = await loadPeftAdapter(out, fresh);
    tf.tidy(() => expectTensorsClose(fresh.forward(ids), model.forward(ids), { atol: 1e-5 }));
    loaded.dispose();
    lora.dispose();
    model.dispose();
    fresh.dispose();
  });

  it('a successful load and dispose leaks nothing', async () => {
    const { model, lora } = trained(3);
    const out = path.join(dir, 'leak');
    await savePeftAdapter(out, lora);
    lora.dispose();
    model.dispose();
    const fresh = LlamaForCausalLM.create(config, { seed: 3 });
    await expectNoLeakedTensors(async () => (await loadPeftAdapter(out, fresh)).dispose());
    fresh.dispose();
  });

  describe('loadPeftAdapter failures: validated before anything is read into tf, the model left unchanged, nothing leaked', () => {
    let good: string;
    let model: LlamaForCausalLM;
    let before: Map<string, number[]>;
    beforeAll(async () => {
      const t = trained(4);
      good = path.join(dir, 'good');
      await savePeftAdapter(good, t.lora);
      t.lora.dispose();
      t.model.dispose();
      model = LlamaForCausalLM.create(config, { seed: 4 });
      before = snapshot(model);
    });
    afterAll(() => model.dispose());

    /** A copy of the good adapter with `change` applied, and the message loading it must give. */
    async function expectBroken(name: string, change: (d: string) => Promise<void> | void, message: string | RegExp): Promise<void> {
      const d = path.join(dir, name);
      fs.cpSync(good, d, { recursive: true });
      await change(d);
      const tensors = tf.memory().numTensors;
      await expect(loadPeftAdapter(d, model)).rejects.toThrow(message);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(model.adapters.size).toBe(0);
      expect(snapshot(model)).toEqual(before);
    }
    const editConfig = (d: string, edit: (c: Record<string, unknown>) => void) => {
      const file = path.join(d, 'adapter_config.json');
      const c = JSON.parse(fs.readFileSync(file, 'utf8'));
      edit(c);
      fs.writeFileSync(file, JSON.stringify(c));
    };

    it('a broken adapter_config.json: the JSON error names the file', async () => {
      await expectBroken('bad-json', (d) => fs.writeFileSync(path.join(d, 'adapter_config.json'), '{"r": 8,'), new RegExp(`^loadPeftAdapter: ${path.join(dir, 'bad-json', 'adapter_config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON`));
    });

    it('bad values and unsupported PEFT options in the config name the file and the key', async () => {
      const file = (n: string) => path.join(dir, n, 'adapter_config.json');
      await expectBroken('r-zero', (d) => editConfig(d, (c) => (c.r = 0)), `${file('r-zero')}: r = 0 must be a positive integer`);
      await expectBroken('alpha-str', (d) => editConfig(d, (c) => (c.lora_alpha = '16')), `${file('alpha-str')}: lora_alpha = "16" must be a finite number > 0`);
      await expectBroken('rslora', (d) => editConfig(d, (c) => (c.use_rslora = true)), `${file('rslora')}: use_rslora = true: use_rslora true (scaling alpha / sqrt(r)) is not supported`);
      await expectBroken('save', (d) => editConfig(d, (c) => (c.modules_to_save = ['lm_head'])), 'modules_to_save = ["lm_head"]: modules_to_save is not supported');
      await expectBroken('regex', (d) => editConfig(d, (c) => (c.target_modules = '.*proj')), 'target_modules = ".*proj" must be a list of module names');
      await expectBroken('prefix', (d) => editConfig(d, (c) => (c.peft_type = 'PREFIX_TUNING')), 'peft_type is "PREFIX_TUNING"; only LORA adapters are supported');
      await expectBroken('mlp-target', (d) => editConfig(d, (c) => (c.target_modules = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'])), /adapter_model\.safetensors: the adapter file does not match the adapter that adapter_config\.json describes for this model:\n  missing from the adapter file \(4\): model\.layers\.0\.mlp\.gate_proj\.lora_A\.weight/);
    });

    it('missing, unexpected and misshapen adapter tensors are listed in one error', async () => {
      await expectBroken(
        'tensors',
        async (d) => {
          const file = path.join(d, 'adapter_model.safetensors');
          const w = await readSafetensors(file);
          const drop = w.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!;
          w.delete('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight');
          const extra = tf.zeros([4, 64]);
          w.set('base_model.model.model.layers.0.self_attn.x_proj.lora_A.weight', extra);
          const wrong = tf.zeros([8, 64]);
          tf.dispose(w.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')!);
          w.set('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', wrong);
          await writeSafetensors(file, w);
          tf.dispose([...w.values(), drop]);
        },
        /missing from the adapter file \(1\): model\.layers\.0\.self_attn\.v_proj\.lora_B\.weight\n  unexpected in the adapter file \(1\): model\.layers\.0\.self_attn\.x_proj\.lora_A\.weight\n  shape mismatch for model\.layers\.1\.self_attn\.q_proj\.lora_A\.weight: adapter that adapter_config\.json describes for this model \[4, 64\], adapter file \[8, 64\]/,
      );
    });

    it('bad trainable_params: names the model lacks, wrong shapes, integer tensors; a .bin gets the conversion command', async () => {
      const rewrite = async (d: string, edit: (m: Map<string, tf.Tensor>) => void) => {
        const file = path.join(d, 'trainable_params.safetensors');
        const m = await readSafetensors(file);
        edit(m);
        await writeSafetensors(file, m);
        tf.dispose([...m.values()]);
      };
      await expectBroken('tp-name', (d) => rewrite(d, (m) => m.set('model.layers.9.input_layernorm.weight', tf.ones([64]))), /trainable_params\.safetensors: the trainable params file does not match the model:\n  unexpected in the trainable params file \(1\): model\.layers\.9\.input_layernorm\.weight/);
      await expectBroken(
        'tp-shape',
        (d) =>
          rewrite(d, (m) => {
            tf.dispose(m.get('model.embed_tokens.weight')!);
            m.set('model.embed_tokens.weight', tf.zeros([32001, 64]));
          }),
        'shape mismatch for model.embed_tokens.weight: model [259, 64], trainable params file [32001, 64]',
      );
      await expectBroken('tp-int', (d) => rewrite(d, (m) => m.set('model.norm.weight', tf.ones([64], 'int32'))), /trainable_params\.safetensors holds non-float tensors: model\.norm\.weight \(I32\)/);
      await expectBroken(
        'tp-bin',
        (d) => {
          fs.renameSync(path.join(d, 'trainable_params.safetensors'), path.join(d, 'trainable_params.bin'));
        },
        'has trainable_params.bin (a PyTorch pickle) and no trainable_params.safetensors; convert it in Python: safetensors.torch.save_file(torch.load("trainable_params.bin"), "trainable_params.safetensors", metadata={"format": "pt"})',
      );
    });

    it('missing or corrupt files, and a model that already has adapters', async () => {
      await expect(loadPeftAdapter(path.join(dir, 'nope'), model)).rejects.toThrow(/has no adapter_config.json; is it a PEFT adapter directory\?/);
      await expectBroken('no-weights', (d) => fs.renameSync(path.join(d, 'adapter_model.safetensors'), path.join(d, 'adapter_model.bin')), 'has no adapter_model.safetensors (found adapter_model.bin: PyTorch pickles are not supported');
      await expectBroken(
        'truncated',
        (d) => {
          const file = path.join(d, 'adapter_model.safetensors');
          const bytes = fs.readFileSync(file);
          fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
        },
        /adapter_model\.safetensors: tensor ".*": data_offsets .* run past the end of the data buffer/,
      );
      const other = applyLora(model);
      await expect(loadPeftAdapter(good, model)).rejects.toThrow('loadPeftAdapter: the model already has 8 adapter(s) attached; dispose() them first');
      other.dispose();
      await expect(loadPeftAdapter(good, {} as never)).rejects.toThrow('loadPeftAdapter: model = an object (Object) must be a LlamaForCausalLM');
    });

    it('the control: the unchanged copy loads', async () => {
      const lora = await loadPeftAdapter(good, model);
      expect(lora.layers.size).toBe(8);
      lora.dispose();
      before = snapshot(model); // trainable_params changed the embedding and norms, as in the official eval.py
    });
  });

  it('loraConfigFromPeft reads what PEFT writes and refuses the rest', () => {
    const peft = { peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], bias: 'none', fan_in_fan_out: false, use_rslora: false, use_dora: false, layers_to_transform: null, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, lora_bias: false, exclude_modules: null };
    expect(loraConfigFromPeft(peft)).toEqual({ r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'] });
    expect(() => loraConfigFromPeft({ ...peft, use_dora: true }, 'a.json')).toThrow('a.json: use_dora = true: use_dora true (DoRA) is not supported');
    expect(() => loraConfigFromPeft({ ...peft, rank_pattern: { q_proj: 4 } })).toThrow('rank_pattern = {"q_proj":4}: per-module rank_pattern is not supported');
    expect(() => loraConfigFromPeft({ ...peft, target_modules: ['c_attn'] })).toThrow('target(s) c_attn are not Llama projections');
  });
});

describe('saveMergedCheckpoint', () => {
  it('takes the config from the model: rope_scaling {"type": "linear", "factor": 2.0}, original max_position_embeddings, same logits', async () => {
    const { model, lora } = trained(3);
    const extended = extendContext(model, 2 * config.maxPositionEmbeddings, 'linear');
    const long = tf.tensor2d(Int32Array.from({ length: 200 }, (_, i) => (i * 11) % 259), [1, 200], 'int32') as Tensor2D; // past the original 128
    const expected = extended.forward(long);
    const out = path.join(dir, 'merged');
    const saved = await saveMergedCheckpoint(out, extended);
    expect(saved.files).toEqual(['config.json', 'model.safetensors']);
    const text = fs.readFileSync(path.join(out, 'config.json'), 'utf8');
    expect(text).toContain('"rope_scaling": {\n    "type": "linear",\n    "factor": 2.0\n  }');
    const { config: json, tensors } = await loadHFCheckpoint(out);
    expect(json.rope_scaling).toEqual({ type: 'linear', factor: 2 });
    expect(json.max_position_embeddings).toBe(config.maxPositionEmbeddings);
    expect(json.torch_dtype).toBe('float32');
    const merged = LlamaForCausalLM.fromWeights(fromHFConfig(json), tensors);
    tf.dispose([...tensors.values()]);
    expect(merged.adapters.size).toBe(0);
    tf.tidy(() => expectTensorsClose(merged.forward(long), expected, { atol: 1e-4 }));
    // the live model was not changed
    expect(lora.isMerged).toBe(false);
    tf.tidy(() => expectTensorsClose(extended.forward(long), expected, { atol: 0 }));
    tf.dispose([expected, long]);
    merged.dispose();
    lora.dispose();
    extended.dispose();
    model.dispose();
  });

  it('from the LoraAdapters of the extended model, merged or not; BF16 on request or by default after a BF16 load', async () => {
    const base = LlamaForCausalLM.create(config, { seed: 8 });
    const extended = extendContext(base, 256, 'linear');
    const lora = applyLora(extended, { r: 4, alpha: 8 });
    for (const layer of lora.layers.values()) tf.tidy(() => layer.B.assign(tf.tensor2d(seededValues(layer.B.size, 9, 0.3), layer.B.shape as [number, number])));
    const want = extended.forward(ids);
    await saveMergedCheckpoint(path.join(dir, 'm-lora'), lora, { dtype: 'BF16' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'm-lora', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const reloaded = await loadPretrained(path.join(dir, 'm-lora'));
    expect(loadedDtype(reloaded)).toBe('BF16');
    tf.tidy(() => expectTensorsClose(reloaded.forward(ids), want, { atol: 0.03, relativeToMax: true })); // bf16 weights: within 3% of the logit scale
    // a model loaded from BF16 saves BF16 by default (here: merged in place first)
    const lora2 = applyLora(reloaded, { r: 4, alpha: 8 });
    lora2.merge();
    await saveMergedCheckpoint(path.join(dir, 'm-default'), lora2);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'm-default', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    lora.merge(); // merged adapters: the weights already hold the update
    await saveMergedCheckpoint(path.join(dir, 'm-merged'), lora);
    const again = await loadPretrained(path.join(dir, 'm-merged'));
    tf.tidy(() => expectTensorsClose(again.forward(ids), want, { atol: 1e-4 }));
    tf.dispose(want);
    [again, reloaded].forEach((m) => m.dispose());
    lora2.dispose();
    lora.dispose();
    extended.dispose();
    base.dispose();
  });

  it('refuses: an unextended model (issue #181) unless told, the old config argument, non-LoRA adapters, bad options', async () => {
    const { model, lora } = trained(5);
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), model)).rejects.toThrow(/saveMergedCheckpoint: the model has no rope scaling .*official issue #181\)\. Pass the extended model/);
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), lora)).rejects.toThrow(/no rope scaling/);
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), model, toHFConfig(model.config) as never)).rejects.toThrow(
      'saveMergedCheckpoint: the third argument is the options ({ dtype, maxShardBytes, extendedContext, tokenizer }); the config now comes from the model itself: call saveMergedCheckpoint(dir, extendedModel)',
    );
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), model, { dtype: 'F8' } as never)).rejects.toThrow("saveMergedCheckpoint: dtype = \"F8\" must be one of 'F32', 'BF16', 'F16'");
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), model, { extendedcontext: false } as never)).rejects.toThrow("saveMergedCheckpoint: unknown option 'extendedcontext' (did you mean 'extendedContext'?)");
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), {} as never)).rejects.toThrow('saveMergedCheckpoint: source must be a LlamaForCausalLM (with its LoRA attached) or the LoraAdapters of one');
    const plain = path.join(dir, 'not-extended');
    await saveMergedCheckpoint(plain, model, { extendedContext: false });
    expect(JSON.parse(fs.readFileSync(path.join(plain, 'config.json'), 'utf8')).rope_scaling).toBeNull();
    lora.dispose();
    model.adapters.set('model.layers.0.self_attn.q_proj', { delta: (x: Tensor2D) => x });
    await expect(saveMergedCheckpoint(path.join(dir, 'bad'), model, { extendedContext: false })).rejects.toThrow('the adapter on model.layers.0.self_attn.q_proj is not LoRA (no deltaWeight())');
    model.adapters.clear();
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
    const before = tf.memory().numTensors;
    await saveMergedCheckpoint(path.join(dir, 'again'), model, { extendedContext: false });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('savePretrained and saveMergedCheckpoint of a model without LoRA write the same weights', async () => {
    const model = LlamaForCausalLM.create(makeConfig(config, { ropeScaling: { type: 'linear', factor: 2 } }), { seed: 9 });
    await savePretrained(model, path.join(dir, 'sp'));
    await saveMergedCheckpoint(path.join(dir, 'smc'), model);
    expect(fs.readFileSync(path.join(dir, 'sp', 'model.safetensors')).equals(fs.readFileSync(path.join(dir, 'smc', 'model.safetensors')))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'sp', 'config.json'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'smc', 'config.json'), 'utf8'));
    model.dispose();
  });
});
