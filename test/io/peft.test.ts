/**
 * LongLoRA outputs: PEFT adapter + trainable_params round trip (the reloaded model computes the
 * same logits), the exact file layout, and the merged checkpoint carrying rope_scaling.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext, toHFConfig, fromHFConfig } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import { savePeftAdapter, loadPeftAdapter, saveMergedCheckpoint, loadHFCheckpoint, readSafetensors, writeSafetensors } from '../../lib/io';
import { expectTensorsClose, seededValues } from '../helpers';

describe('PEFT adapters, trainable_params and merged checkpoints', () => {
  let dir: string;
  const config = makeConfig(presets.tiny, { initializerRange: 0.2 });
  let ids: Tensor2D;

  beforeAll(async () => {
    await ready({ backend: 'wasm' });
    ids = tf.tensor2d(Int32Array.from({ length: 2 * 40 }, (_, i) => (i * 37) % 259), [2, 40], 'int32') as Tensor2D;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-peft-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A tiny model with LoRA whose B (and embedding/norms) moved away from their start. */
  function trained(seed: number) {
    const model = LlamaForCausalLM.create(config, { seed });
    const lora = applyLora(model, { r: 4, alpha: 8 }, { seed: 2 });
    for (const layer of lora.layers.values()) layer.B.assign(tf.tensor2d(seededValues(layer.B.size, 5, 0.3), layer.B.shape as [number, number]));
    const norm = model.parameters.get('model.norm.weight')!;
    norm.assign(tf.tensor1d(seededValues(norm.size, 6, 0.5)).add(1));
    const emb = model.parameters.get('model.embed_tokens.weight')!;
    emb.assign(tf.tidy(() => tf.add(emb, tf.tensor(seededValues(emb.size, 7, 0.05), emb.shape))));
    return { model, lora };
  }

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

  it('merged checkpoint: rope_scaling with type and rope_type, original max_position_embeddings, same logits', async () => {
    const { model, lora } = trained(3);
    const extended = extendContext(model, 2 * config.maxPositionEmbeddings, 'linear');
    const long = tf.tensor2d(Int32Array.from({ length: 200 }, (_, i) => (i * 11) % 259), [1, 200], 'int32') as Tensor2D; // past the original 128
    const expected = extended.forward(long);
    const out = path.join(dir, 'merged');
    await saveMergedCheckpoint(out, lora, toHFConfig(extended.config));
    const { config: json, tensors } = await loadHFCheckpoint(out);
    expect(json.rope_scaling).toEqual({ type: 'linear', rope_type: 'linear', factor: 2 });
    expect(json.max_position_embeddings).toBe(config.maxPositionEmbeddings);
    const merged = LlamaForCausalLM.fromWeights(fromHFConfig(json), tensors);
    tf.dispose([...tensors.values()]);
    expect(merged.adapters.size).toBe(0);
    expectTensorsClose(merged.forward(long), expected, { atol: 1e-4 });
    // the live model was not changed
    expect(lora.isMerged).toBe(false);
    expectTensorsClose(extended.forward(long), expected, { atol: 0 });
    expect(() => saveMergedCheckpoint(path.join(dir, 'bad'), lora, toHFConfig(model.config))).rejects.toThrow(/no rope_scaling.*issue #181/);
    merged.dispose();
    lora.dispose();
    extended.dispose();
    model.dispose();
  });

  it('bad adapters: missing files and wrong tensors are listed', async () => {
    const model = LlamaForCausalLM.create(config, { seed: 4 });
    await expect(loadPeftAdapter(path.join(dir, 'nope'), model)).rejects.toThrow(/has no adapter_config.json/);
    const { model: m2, lora } = trained(5);
    const out = path.join(dir, 'broken');
    await savePeftAdapter(out, lora, { trainableParams: false });
    expect(fs.existsSync(path.join(out, 'trainable_params.safetensors'))).toBe(false);
    const weights = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    weights.delete('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight');
    await writeSafetensors(path.join(out, 'adapter_model.safetensors'), weights);
    tf.dispose([...weights.values()]);
    await expect(loadPeftAdapter(out, model)).rejects.toThrow(/model\.layers\.0\.self_attn\.v_proj\.lora_B\.weight/);
    expect(model.adapters.size).toBe(0); // a failed load leaves nothing attached
    lora.dispose();
    m2.dispose();
    model.dispose();
  });
});
