/**
 * Interop with the official LongLoRA stack: transformers 4.34.0 and PEFT 0.5.0 (on Debian's torch 1.13,
 * .venv-interop/hf434) load what lib/io writes and compute the same logits as our model:
 *
 * 1. a merged checkpoint of a LoRA model extended 2x by position interpolation (saveMergedCheckpoint):
 *    4.34's strict rope_scaling validation accepts it, and the logits past the original context match;
 * 2. a savePretrained folder (BF16, sharded, with a tokenizer): from_pretrained reads the shards and the
 *    tokenizer; logits, greedy generation and token ids match ours, and our loadPretrained reads it back;
 * 3. our PEFT adapter + trainable_params.safetensors, loaded the way the official eval.py loads them
 *    (resize_token_embeddings(vocab + 1) for its [PAD] token, load_state_dict(trainable_params.bin with the
 *    embedding padded as README "Scale out" shows, strict=False), then PeftModel.from_pretrained), gives our
 *    LoRA model's logits; PEFT's own re-save of the adapter, and PEFT's merge_and_unload + save_pretrained
 *    (the official merge script's steps), load back into longlora-ts with the same logits.
 * Python runs once per scenario; our side is checked on every numerics backend.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf, ready } from '../../lib/backend';
import type { Tensor2D } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext, clearRopeCache } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import type { LoraAdapters } from '../../lib/lora';
import { formatHFConfigJson, fromHFConfig, loadPeftAdapter, loadPretrained, loadTokenizer, loadedDtype, saveMergedCheckpoint, savePeftAdapter, savePretrained, toHFConfig, HFTokenizer } from '../../lib/io';
import { generate } from '../../lib/eval';
import { clearMaskCache } from '../../lib/attention';
import { numericBackends, seededValues, useBackend } from '../helpers';
import { describeWithInterop, pythonConfigs, pythonLogits, relativeMaxDiff } from './interop';
import type { PythonConfigResult } from './interop';

const TOKENIZER_FIXTURE = path.join(__dirname, '..', 'fixtures', 'hf-tokenizer');
const CONFIG = makeConfig(presets.tiny, { initializerRange: 0.2 }); // attention far from uniform, so rope errors show
const SEQ = 200; // past the original context of 128: position interpolation is exercised
const TOLERANCE = 1e-4; // max |diff| relative to the largest |logit|

/** Deterministic ids [2, SEQ] below `vocab`. */
function idRows(vocab: number): number[][] {
  return [0, 1].map((b) => Array.from({ length: SEQ }, (_, i) => (i * 37 + b * 101 + 7) % vocab));
}

/**
 * The "trained" LongLoRA model, the same on every backend (all values from JS PRNGs): tiny Llama,
 * extended 2x with linear interpolation, LoRA with B moved away from zero, embedding and norms changed
 * (the LoRA+ trainable set). `base` holds the weights before training.
 */
function trainedModel(): { base: LlamaForCausalLM; extended: LlamaForCausalLM; lora: LoraAdapters } {
  const base = LlamaForCausalLM.create(CONFIG, { seed: 11 });
  const extended = extendContext(base, 2 * CONFIG.maxPositionEmbeddings, 'linear');
  const lora = applyLora(extended, { r: 4, alpha: 8 }, { seed: 5 });
  let seed = 100;
  // assign inside tidy: the variable keeps the data, the temporary tensors go
  for (const layer of lora.layers.values()) tf.tidy(() => layer.B.assign(tf.tensor2d(seededValues(layer.B.size, seed++, 0.3), layer.B.shape as [number, number])));
  for (const [name, v] of extended.parameters) {
    if (name.includes('norm')) tf.tidy(() => v.assign(tf.add(tf.tensor(seededValues(v.size, seed++, 0.3), v.shape), 1)));
    if (name.includes('embed')) tf.tidy(() => v.assign(tf.add(v, tf.tensor(seededValues(v.size, seed++, 0.05), v.shape))));
  }
  return { base, extended, lora };
}

/** Our logits for `rows` as a flat Float32Array, of the first `vocab` tokens (no tensors left behind). */
function ourLogits(model: LlamaForCausalLM, rows: number[][], allowExtrapolation = false, vocab = model.config.vocabSize): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(rows, [rows.length, rows[0].length], 'int32') as Tensor2D, { allowExtrapolation });
    return tf.slice(logits, [0, 0, 0], [-1, -1, vocab]).dataSync() as Float32Array;
  });
}

/** Live tensors, not counting the rope tables and causal masks the model caches (they are freed first). */
function liveTensors(): number {
  clearRopeCache();
  clearMaskCache();
  return tf.memory().numTensors;
}

describeWithInterop('hf434', 'transformers 4.34.0 + PEFT 0.5.0 read what longlora-ts writes', () => {
  let work: string;
  const ids = idRows(CONFIG.vocabSize);
  const dirs = { merged: '', pretrained: '', base: '', adapter: '', resavedAdapter: '', peftMerged: '' };
  const py: Record<string, { logits: Float32Array; info: Record<string, unknown> }> = {};
  let tokenizer: HFTokenizer;
  let pretrainedConfig: LlamaConfig;
  let configResults: Record<'merged' | 'dynamic' | 'yarn' | 'oldForm' | 'intFactor', PythonConfigResult>;
  const texts = ['The pass key is 71432.', 'Café déjà vu 🦙', '  two  spaces\n'];

  beforeAll(async () => {
    await ready({ backend: numericBackends()[0] });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-interop-434-'));
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = path.join(work, k);
    const idsFile = path.join(work, 'ids.json');
    fs.writeFileSync(idsFile, JSON.stringify(ids));
    const capture = async (name: string, args: string[]) => {
      const { logits, info } = await pythonLogits('hf434', args, path.join(work, `${name}.safetensors`));
      py[name] = { logits: logits.dataSync() as Float32Array, info };
      logits.dispose();
    };

    // 1 and 3: the trained LoRA model, as a merged checkpoint and as base + adapter
    const { base, extended, lora } = trainedModel();
    const fresh = LlamaForCausalLM.create(CONFIG, { seed: 11 }); // the base weights before training
    await savePretrained(extendContext(fresh, 2 * CONFIG.maxPositionEmbeddings, 'linear'), dirs.base); // eval.py sets rope_scaling on the base
    fresh.dispose();
    await saveMergedCheckpoint(dirs.merged, extended);
    await savePeftAdapter(dirs.adapter, lora, { baseModelName: 'longlora-ts/tiny' });
    lora.dispose();
    extended.dispose();
    base.dispose();
    await capture('merged', ['--model', dirs.merged, '--ids', idsFile]);

    // config.json alone: our dynamic and YaRN forms, and two negative controls written by hand: the form
    // this library wrote before (type + rope_type) and an integer factor, both of which 4.34 refuses
    const mergedJson = JSON.parse(fs.readFileSync(path.join(dirs.merged, 'config.json'), 'utf8')) as Record<string, unknown>;
    const configDir = (name: string, json: Record<string, unknown>) => {
      fs.mkdirSync(path.join(work, name));
      fs.writeFileSync(path.join(work, name, 'config.json'), JSON.stringify(json));
      return path.join(work, name);
    };
    const ours = (name: string, ropeScaling: LlamaConfig['ropeScaling']) => {
      fs.mkdirSync(path.join(work, name));
      fs.writeFileSync(path.join(work, name, 'config.json'), formatHFConfigJson(toHFConfig(makeConfig(CONFIG, { ropeScaling }))));
      return path.join(work, name);
    };
    const dynamicDir = ours('dynamic', { type: 'dynamic', factor: 2 });
    const yarnDir = ours('yarn', { type: 'yarn', factor: 2 });
    const oldForm = configDir('old-form', { ...mergedJson, rope_scaling: { type: 'linear', rope_type: 'linear', factor: 2.5 } });
    const intFactor = configDir('int-factor', { ...mergedJson, rope_scaling: { type: 'linear', factor: 2 } });
    const list = pythonConfigs('hf434', [dirs.merged, dynamicDir, yarnDir, oldForm, intFactor], path.join(work, 'configs.json'));
    configResults = { merged: list[0], dynamic: list[1], yarn: list[2], oldForm: list[3], intFactor: list[4] };
    await capture('peft', ['--model', dirs.base, '--ids', idsFile, '--resize-embeddings', String(CONFIG.vocabSize + 1), '--adapter', dirs.adapter, '--trainable', path.join(dirs.adapter, 'trainable_params.safetensors'), '--resave-adapter', dirs.resavedAdapter, '--resave-merged', dirs.peftMerged]);

    // 2: a model with the tokenizer's vocabulary, saved as BF16 shards with the tokenizer
    tokenizer = await loadTokenizer(TOKENIZER_FIXTURE);
    pretrainedConfig = makeConfig(CONFIG, { vocabSize: tokenizer.vocabSize, ropeScaling: { type: 'linear', factor: 2 } });
    const m = LlamaForCausalLM.create(pretrainedConfig, { seed: 12 });
    const saved = await savePretrained(m, dirs.pretrained, { dtype: 'BF16', maxShardBytes: 60_000, tokenizer });
    expect(saved.files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(1);
    m.dispose();
    fs.writeFileSync(path.join(work, 'texts.json'), JSON.stringify(texts));
    fs.writeFileSync(path.join(work, 'ids-tok.json'), JSON.stringify(idRows(tokenizer.vocabSize)));
    await capture('pretrained', ['--model', dirs.pretrained, '--ids', path.join(work, 'ids-tok.json'), '--tokenizer-check', path.join(work, 'texts.json'), '--generate', '12']);
  }, 300_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('the merged checkpoint: rope_scaling exactly {"type": "linear", "factor": 2.0}, accepted by 4.34 without warnings', () => {
    const text = fs.readFileSync(path.join(dirs.merged, 'config.json'), 'utf8');
    expect(text).toContain('"rope_scaling": {\n    "type": "linear",\n    "factor": 2.0\n  }');
    expect(py.merged.info.rope_scaling).toEqual({ type: 'linear', factor: 2 });
    expect(py.merged.info.warnings).toEqual([]);
    expect(py.peft.info.warnings).toEqual([]);
  });

  it("4.34's strict rope_scaling validation: our linear and dynamic forms pass, what it writes back reads the same", () => {
    for (const r of [configResults.merged, configResults.dynamic]) {
      expect(r.error).toBeUndefined();
      expect(r.rope_scaling_types).toEqual({ type: 'str', factor: 'float' });
      expect(r.warnings).toEqual([]);
    }
    expect(configResults.dynamic.rope_scaling).toEqual({ type: 'dynamic', factor: 2 });
    const merged = fromHFConfig(configResults.merged.resaved!);
    expect(merged.ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(fromHFConfig(configResults.dynamic.resaved!).ropeScaling).toEqual({ type: 'dynamic', factor: 2 });
    // negative controls: the two mistakes the float literal and the two-field form avoid are refused
    expect(configResults.oldForm.error).toMatch(/ValueError: `rope_scaling` must be a dictionary with with two fields, `type` and `factor`/);
    expect(configResults.intFactor.error).toMatch(/ValueError: `rope_scaling`'s factor field must be an float > 1, got 2$/);
    // YaRN exists only from transformers 4.45 on: 4.34 refuses it (interop-hf5 checks the 5.x reading)
    expect(configResults.yarn.error).toMatch(/ValueError: `rope_scaling`'s type field must be one of \['linear', 'dynamic'\], got None/);
  });

  it('PEFT 0.5.0 found every LoRA module and every trainable parameter name', () => {
    expect(py.peft.info.peft).toBe('0.5.0');
    expect(py.peft.info.lora_modules).toBe(CONFIG.numHiddenLayers * 4);
    expect(py.peft.info.trainable_unexpected).toEqual([]);
    expect(py.peft.info.trainable_loaded).toBe(2 * CONFIG.numHiddenLayers + 2); // embedding, final norm, 2 norms per layer
  });

  it('transformers read the tokenizer saved with the model: the same ids and text as ours', () => {
    const info = py.pretrained.info;
    expect(info.tokenizer_class).toBe('LlamaTokenizerFast');
    expect(info.tokenized).toEqual(texts.map((t) => Array.from(tokenizer.encode(t))));
    expect(info.decoded).toEqual(texts.map((t) => tokenizer.decode(tokenizer.encode(t), { skipSpecialTokens: true })));
  });

  describe.each(numericBackends())('on %s', (backend) => {
    useBackend(backend);

    it('merged checkpoint: HF logits past the original context equal our LoRA model (and our reload of it)', async () => {
      const before = liveTensors();
      const { base, extended, lora } = trainedModel();
      const ours = ourLogits(extended, ids);
      expect(relativeMaxDiff(py.merged.logits, ours)).toBeLessThan(TOLERANCE);
      // negative control: without position interpolation the logits differ visibly
      const plain = ourLogits(base, ids, true);
      expect(relativeMaxDiff(plain, ours)).toBeGreaterThan(100 * TOLERANCE);
      const reloaded = await loadPretrained(dirs.merged);
      expect(reloaded.config.ropeScaling).toEqual({ type: 'linear', factor: 2 });
      expect(relativeMaxDiff(ourLogits(reloaded, ids), ours)).toBeLessThan(TOLERANCE);
      reloaded.dispose();
      lora.dispose();
      extended.dispose();
      base.dispose();
      expect(liveTensors()).toBe(before);
    });

    it('PEFT adapter + trainable_params, loaded as the official eval.py does: HF logits equal ours; PEFT re-saves load back', async () => {
      const before = liveTensors();
      const { base, extended, lora } = trainedModel();
      const ours = ourLogits(extended, ids);
      expect(relativeMaxDiff(py.peft.logits, ours)).toBeLessThan(TOLERANCE);
      lora.dispose();
      extended.dispose();
      base.dispose();

      // PEFT's own save of the adapter (plus our trainable params beside it, as a user copies them)
      fs.copyFileSync(path.join(dirs.adapter, 'trainable_params.safetensors'), path.join(dirs.resavedAdapter, 'trainable_params.safetensors'));
      const model = await loadPretrained(dirs.base);
      const loaded = await loadPeftAdapter(dirs.resavedAdapter, model);
      expect(relativeMaxDiff(ourLogits(model, ids), ours)).toBeLessThan(TOLERANCE);
      loaded.dispose();
      model.dispose();

      // PEFT's merge_and_unload + transformers' save_pretrained (the official merge script's steps), with the
      // [PAD] row eval.py added: one more token, the same logits for ours
      const merged = await loadPretrained(dirs.peftMerged);
      expect(merged.config.vocabSize).toBe(CONFIG.vocabSize + 1);
      expect(relativeMaxDiff(ourLogits(merged, ids, false, CONFIG.vocabSize), ours)).toBeLessThan(TOLERANCE);
      merged.dispose();
      expect(liveTensors()).toBe(before);
    });

    it('savePretrained folder (BF16 shards): HF logits and greedy generation equal ours from loadPretrained', async () => {
      const before = liveTensors();
      const rows = idRows(tokenizer.vocabSize);
      const model = await loadPretrained(dirs.pretrained);
      expect(loadedDtype(model)).toBe('BF16');
      expect(model.config).toEqual(pretrainedConfig);
      expect(relativeMaxDiff(py.pretrained.logits, ourLogits(model, rows))).toBeLessThan(TOLERANCE);
      const greedy = generate(model, rows[0].slice(0, 20), { maxNewTokens: 12 });
      expect(greedy).toEqual(py.pretrained.info.generated);
      expect(new Set(greedy).size).toBeGreaterThan(2); // not a degenerate repetition
      // the BF16 rounding is real: the same model in float32 computes different logits
      const f32 = LlamaForCausalLM.create(pretrainedConfig, { seed: 12 });
      expect(relativeMaxDiff(ourLogits(f32, rows), py.pretrained.logits)).toBeGreaterThan(TOLERANCE);
      f32.dispose();
      model.dispose();
      expect(liveTensors()).toBe(before);
    });
  });
});
