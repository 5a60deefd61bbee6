/**
 * Interop with a current transformers (5.25.0, .venv-interop/hf5, which has no torch: config loading
 * needs none): AutoConfig and LlamaConfig.from_pretrained read the config.json files lib/io writes (a
 * merged linear-PI checkpoint, a savePretrained folder, dynamic NTK, YaRN) without a warning, with the
 * rope fields as Python floats, and what transformers 5 writes back reads into the same LlamaConfig.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready } from '../../lib/backend';
import { LlamaForCausalLM, presets, makeConfig, extendContext } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';
import { applyLora } from '../../lib/lora';
import { fromHFConfig, saveMergedCheckpoint, savePretrained } from '../../lib/io';
import { describeWithInterop, pythonConfigs } from './interop';
import type { PythonConfigResult } from './interop';

const BASE = makeConfig(presets.tiny, { initializerRange: 0.2 });

describeWithInterop('hf5', 'transformers 5.25.0 (no torch) reads the config.json files longlora-ts writes', () => {
  let work: string;
  const configs: Record<string, LlamaConfig> = {};
  let results: Map<string, PythonConfigResult>;

  beforeAll(async () => {
    await ready({ backend: 'cpu' }); // configs only: the weights are tiny and never compared here
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-interop-5-'));
    const base = LlamaForCausalLM.create(BASE, { seed: 1 });
    const extended = extendContext(base, 2 * BASE.maxPositionEmbeddings, 'linear');
    const lora = applyLora(extended, { r: 4, alpha: 8 });
    await saveMergedCheckpoint(path.join(work, 'merged'), extended);
    configs.merged = extended.config;
    lora.dispose();
    const variants: Record<string, Partial<LlamaConfig>> = {
      pretrained: { ropeScaling: { type: 'linear', factor: 4 }, tieWordEmbeddings: true },
      dynamic: { ropeScaling: { type: 'dynamic', factor: 2 } },
      yarn: { ropeScaling: { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 128, attentionFactor: 1, betaFast: 32, betaSlow: 1 }, maxPositionEmbeddings: 512 },
      plain: {},
    };
    for (const [name, overrides] of Object.entries(variants)) {
      const model = LlamaForCausalLM.create(makeConfig(BASE, overrides), { seed: 2 });
      await savePretrained(model, path.join(work, name), { dtype: name === 'pretrained' ? 'BF16' : 'F32' });
      configs[name] = model.config;
      model.dispose();
    }
    extended.dispose();
    base.dispose();
    const names = Object.keys(configs);
    const list = pythonConfigs('hf5', names.map((n) => path.join(work, n)), path.join(work, 'configs.json'));
    results = new Map(list.map((r, i) => [names[i], r]));
  }, 120_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('loads every config as LlamaConfig, with no torch installed, without a single warning', () => {
    expect(results.size).toBe(5);
    for (const [name, r] of results) {
      expect({ name, error: r.error }).toEqual({ name, error: undefined });
      expect(r.transformers).toBe('5.25.0');
      expect(r.class).toBe('LlamaConfig');
      expect(r.same_as_llama_config).toBe(true);
      expect(r.torch_importable).toBe(false);
      expect({ name, warnings: r.warnings }).toEqual({ name, warnings: [] });
    }
  });

  it('reads rope scaling as we meant it, factors as Python floats', () => {
    const rope = (name: string) => results.get(name)!.rope_parameters;
    const types = (name: string) => results.get(name)!.rope_parameters_types as Record<string, string>;
    expect(rope('merged')).toMatchObject({ rope_type: 'linear', factor: 2, rope_theta: 10000 });
    expect(types('merged')).toMatchObject({ factor: 'float', rope_theta: 'float' });
    expect(rope('pretrained')).toMatchObject({ rope_type: 'linear', factor: 4 });
    expect(rope('dynamic')).toMatchObject({ rope_type: 'dynamic', factor: 2 });
    expect(types('dynamic').factor).toBe('float');
    expect(rope('yarn')).toMatchObject({ rope_type: 'yarn', factor: 4, original_max_position_embeddings: 128, attention_factor: 1, beta_fast: 32, beta_slow: 1 });
    expect(types('yarn')).toMatchObject({ factor: 'float', attention_factor: 'float', original_max_position_embeddings: 'int' });
    expect(rope('plain')).toMatchObject({ rope_type: 'default', rope_theta: 10000 });
    expect(results.get('pretrained')!.config).toMatchObject({ tie_word_embeddings: true, dtype: 'bfloat16', max_position_embeddings: 128 });
    expect(results.get('merged')!.config).toMatchObject({ max_position_embeddings: 128, dtype: 'float32' }); // LongLoRA keeps the original length
  });

  it('what transformers 5 writes back (rope_parameters) reads into the same LlamaConfig', () => {
    for (const [name, r] of results) {
      expect(r.resaved).toHaveProperty('rope_parameters');
      expect({ name, config: fromHFConfig(r.resaved!) }).toEqual({ name, config: configs[name] });
    }
  });
});
