/**
 * LongLoRA's fine-tuning outputs, in the formats its users exchange:
 *
 * - a PEFT LoRA adapter: `adapter_config.json` + `adapter_model.safetensors`, keys like
 *   `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (what PEFT's
 *   `save_pretrained` writes for the default adapter), loadable by `PeftModel.from_pretrained`
 *   (checked with PEFT 0.5.0 on transformers 4.34 by test/io/interop-hf434.e2e.test.ts);
 * - `trainable_params.safetensors`: the trained embedding and norm weights under their Hugging Face
 *   names (the official `get_trainable_weights.py` writes them as `trainable_params.bin`; same
 *   tensors and names, safetensors container). The official eval.py loads it with `strict=False`
 *   before the adapter;
 * - a merged full checkpoint in HF layout (LoRA folded into the weights), whose `config.json` carries
 *   `rope_scaling` (in the form transformers 4.34 accepts, ./hf-config.ts) and keeps the original
 *   `max_position_embeddings`: the official merge script forgets rope_scaling (its issue #181), which
 *   makes the merged model produce garbage past the original context.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { LlamaForCausalLM } from '../model';
import { applyLora, isLoraParameter, LoraAdapters, makeLoraConfig } from '../lora';
import type { AdaptableModel, LoraConfig, LoraLinear } from '../lora';
import { checkBoolean, checkKnownKeys, describe } from '../util/options';
import { isFloat32Array } from '../util/typed-arrays';
import { readSafetensorsFile, writeSafetensors } from './safetensors';
import type { SafetensorsEntry } from './safetensors';
import { writeJsonAtomic, replaceDirectoryAtomic } from './atomic';
import { compareWeightSets, formatWeightSetDiff, hasWeightProblems } from './assign';
import { saveHFCheckpoint } from './hf';
import type { SavedHFCheckpoint } from './hf';
import { toHFConfig } from './hf-config';
import { checkCheckpointDtype, defaultSaveDtype, TORCH_DTYPE_NAMES } from './pretrained';
import type { CheckpointDtype } from './pretrained';
import { HFTokenizer } from './tokenizer';

export const PEFT_CONFIG_NAME = 'adapter_config.json';
export const PEFT_WEIGHTS_NAME = 'adapter_model.safetensors';
export const TRAINABLE_PARAMS_NAME = 'trainable_params.safetensors';

/** PEFT's prefix for the wrapped model's weights (`PeftModel` -> `LoraModel` -> the HF model). */
const PEFT_PREFIX = 'base_model.model.';

/** `model.layers.0.self_attn.q_proj.lora_A.weight` -> the key PEFT saves it under. */
export function peftKey(loraName: string): string {
  return PEFT_PREFIX + loraName;
}

/** The adapter_config.json PEFT (0.x) writes for a LoRA adapter on a causal LM. */
export function peftAdapterConfig(config: LoraConfig, baseModelName: string | null): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModelName,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    target_modules: [...config.targets],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

function embedOrNorm(name: string): boolean {
  return !isLoraParameter(name) && (name.includes('embed') || name.includes('norm'));
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Options of `savePeftAdapter`. */
export interface SaveAdapterOptions {
  /** Recorded as `base_model_name_or_path` (e.g. "meta-llama/Llama-2-7b-hf"); default null. */
  baseModelName?: string | null;
  /**
   * Also write `trainable_params.safetensors` with every base weight whose name contains `embed`
   * or `norm` (LongLoRA's LoRA+). Default true; set false for plain LoRA.
   */
  trainableParams?: boolean;
}

/**
 * Writes the adapter directory (atomically: a crash leaves the previous one intact): PEFT config and
 * weights, plus `trainable_params.safetensors` for LoRA+.
 */
export async function savePeftAdapter(dir: string, lora: LoraAdapters, options: SaveAdapterOptions = {}): Promise<void> {
  const what = 'savePeftAdapter';
  checkKnownKeys(what, options, ['baseModelName', 'trainableParams']);
  if (!(lora instanceof LoraAdapters)) throw new Error(`${what}: lora must be the LoraAdapters that applyLora (or loadPeftAdapter) returned, got ${describe(lora)}`);
  if (lora.isMerged) throw new Error(`${what}: the adapters are merged into the weights; unmerge() first, or save a merged checkpoint with saveMergedCheckpoint`);
  const baseModelName = options.baseModelName ?? null;
  if (baseModelName !== null && typeof baseModelName !== 'string') throw new Error(`${what}: baseModelName must be a string or null, got ${describe(baseModelName)}`);
  const withTrainable = options.trainableParams === undefined ? true : checkBoolean(what, 'trainableParams', options.trainableParams);
  const weights = new Map<string, Tensor>();
  for (const [name, v] of lora.parameters()) weights.set(peftKey(name), v);
  const trainable = new Map<string, Tensor>();
  if (withTrainable) for (const [name, v] of lora.model.parameters) if (embedOrNorm(name)) trainable.set(name, v);
  await replaceDirectoryAtomic(dir, async (tmp) => {
    await writeJsonAtomic(path.join(tmp, PEFT_CONFIG_NAME), peftAdapterConfig(lora.config, baseModelName));
    await writeSafetensors(path.join(tmp, PEFT_WEIGHTS_NAME), weights, { metadata: { format: 'pt' } });
    if (trainable.size > 0) await writeSafetensors(path.join(tmp, TRAINABLE_PARAMS_NAME), trainable, { metadata: { format: 'pt' } });
  });
}

/** null, an empty list or an empty object: a PEFT option left at its default. */
function isEmpty(v: unknown): boolean {
  return v === null || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

/** PEFT LoraConfig fields that change the computation in ways this library does not implement: [key, allowed, why]. */
const PEFT_UNSUPPORTED: Array<[string, (v: unknown) => boolean, string]> = [
  ['bias', (v) => v === 'none', 'bias other than "none" (LongLoRA uses "none")'],
  ['fan_in_fan_out', (v) => v === false, 'fan_in_fan_out true is for GPT-2 style Conv1D layers; Llama uses false'],
  ['use_rslora', (v) => v === false, 'use_rslora true (scaling alpha / sqrt(r)) is not supported; LongLoRA uses alpha / r'],
  ['use_dora', (v) => v === false, 'use_dora true (DoRA) is not supported'],
  ['lora_bias', (v) => v === false, 'lora_bias true (a bias on lora_B) is not supported'],
  ['layers_to_transform', isEmpty, 'layers_to_transform (LoRA on some layers only) is not supported'],
  ['layer_replication', isEmpty, 'layer_replication is not supported'],
  ['exclude_modules', isEmpty, 'exclude_modules is not supported; list the targets in target_modules'],
  ['target_parameters', isEmpty, 'target_parameters (LoRA on bare parameters) is not supported'],
  ['modules_to_save', isEmpty, 'modules_to_save is not supported; LongLoRA keeps embeddings and norms in trainable_params'],
  ['rank_pattern', isEmpty, 'per-module rank_pattern is not supported'],
  ['alpha_pattern', isEmpty, 'per-module alpha_pattern is not supported'],
];

/**
 * Reads and checks a parsed adapter_config.json into our LoraConfig: a LORA adapter with one rank and
 * alpha for all modules, Llama projections as targets, and none of the PEFT options that change the
 * computation (bias, rsLoRA, DoRA, per-layer or per-module settings); every value is checked
 * (`makeLoraConfig`). `source` (the file path) starts every message.
 */
export function loraConfigFromPeft(json: Record<string, unknown>, source = PEFT_CONFIG_NAME): LoraConfig {
  const fail = (what: string) => new Error(`${source}: ${what}`);
  if (!isPlainObject(json)) throw fail(`must hold a JSON object, got ${describe(json)}`);
  if (json.peft_type !== 'LORA') throw fail(`peft_type is ${JSON.stringify(json.peft_type)}; only LORA adapters are supported`);
  for (const [key, ok, message] of PEFT_UNSUPPORTED) {
    if (json[key] !== undefined && !ok(json[key])) throw fail(`${key} = ${JSON.stringify(json[key])}: ${message}`);
  }
  const targets = json.target_modules;
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) {
    throw fail(`target_modules = ${JSON.stringify(targets)} must be a list of module names (e.g. ["q_proj", "v_proj"]); a regular expression is not supported`);
  }
  try {
    return makeLoraConfig({ r: json.r as number, alpha: json.lora_alpha as number, dropout: (json.lora_dropout ?? 0) as number, targets: targets as string[] });
  } catch (e) {
    throw fail((e as Error).message.replace(/^LoRA config: /, '').replace(/^alpha = /, 'lora_alpha = ').replace(/^dropout = /, 'lora_dropout = ').replace(/^targets/, 'target_modules'));
  }
}

/** The LoRA tensors `applyLora(model, config)` creates, by name, with their shapes (A [r, in], B [out, r]). */
function expectedLoraShapes(model: AdaptableModel, config: LoraConfig): Map<string, { shape: number[] }> {
  const out = new Map<string, { shape: number[] }>();
  for (const [name, weight] of model.parameters) {
    const module = name.replace(/\.weight$/, '');
    if (!config.targets.some((t) => module.endsWith(`.${t}`))) continue;
    const [outFeatures, inFeatures] = weight.shape;
    out.set(`${module}.lora_A.weight`, { shape: [config.r, inFeatures] });
    out.set(`${module}.lora_B.weight`, { shape: [outFeatures, config.r] });
  }
  return out;
}

/** PEFT file key -> our LoRA name: without `base_model.model.`, with or without PEFT's adapter name `default`. */
function loraNameOfPeftKey(key: string): string {
  return key.replace(/^base_model\.model\./, '').replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight');
}

/** Checks that every entry is a float tensor; the message names the file and the tensor. */
function checkFloatEntries(entries: Map<string, SafetensorsEntry>, file: string): void {
  const bad = [...entries].filter(([, e]) => !isFloat32Array(e.data)).map(([n, e]) => `${n} (${e.dtype})`);
  if (bad.length > 0) throw new Error(`loadPeftAdapter: ${file} holds non-float tensors: ${bad.join(', ')}`);
}

/**
 * Attaches a saved adapter to `model` (PEFT's `PeftModel.from_pretrained(model, dir)` after the
 * official eval.py's `model.load_state_dict(trainable_params, strict=False)`): LoRA from the PEFT
 * files, and, when present, `trainable_params.safetensors` assigned into the model's embedding and
 * norm weights (this overwrites them in place, as in the official scripts; disposing the adapters
 * does not restore them).
 *
 * Everything is read and checked before anything is created or changed: the config (a JSON error
 * names the file), then every adapter tensor against the model (missing, unexpected and
 * wrongly shaped tensors listed in one error), then every trainable tensor (its name must be a model
 * weight of the same shape). A failed load leaves the model unchanged and allocates nothing.
 */
export async function loadPeftAdapter(dir: string, model: AdaptableModel): Promise<LoraAdapters> {
  const what = 'loadPeftAdapter';
  if (typeof dir !== 'string' || dir === '') throw new Error(`${what}: dir must be an adapter directory path, got ${describe(dir)}`);
  if (model === null || typeof model !== 'object' || !(model.parameters instanceof Map) || !(model.adapters instanceof Map)) {
    throw new Error(`${what}: model = ${describe(model)} must be a LlamaForCausalLM (with parameters and adapters)`);
  }
  if (model.adapters.size > 0) throw new Error(`${what}: the model already has ${model.adapters.size} adapter(s) attached; dispose() them first`);
  const configPath = path.join(dir, PEFT_CONFIG_NAME);
  if (!(await isFile(configPath))) throw new Error(`${what}: ${dir} has no ${PEFT_CONFIG_NAME}; is it a PEFT adapter directory?`);
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(configPath, 'utf8'));
  } catch (e) {
    throw new Error(`${what}: ${configPath} is not valid JSON (${(e as Error).message})`);
  }
  const config = loraConfigFromPeft(json as Record<string, unknown>, configPath);

  const weightsPath = path.join(dir, PEFT_WEIGHTS_NAME);
  if (!(await isFile(weightsPath))) {
    const bin = (await isFile(path.join(dir, 'adapter_model.bin'))) ? ' (found adapter_model.bin: PyTorch pickles are not supported; re-save with save_pretrained(dir, safe_serialization=True))' : '';
    throw new Error(`${what}: ${dir} has no ${PEFT_WEIGHTS_NAME}${bin}`);
  }
  // Plain arrays first: nothing is allocated in tf until every check has passed.
  const adapterEntries = new Map<string, SafetensorsEntry>();
  for (const [key, e] of (await readSafetensorsFile(weightsPath)).tensors) adapterEntries.set(loraNameOfPeftKey(key), e);
  checkFloatEntries(adapterEntries, weightsPath);
  const loraDiff = compareWeightSets(expectedLoraShapes(model, config), adapterEntries);
  if (hasWeightProblems(loraDiff)) {
    throw new Error(formatWeightSetDiff(loraDiff, `${what}: ${weightsPath}`, `adapter that ${PEFT_CONFIG_NAME} describes for this model`, 'adapter file'));
  }

  const trainablePath = path.join(dir, TRAINABLE_PARAMS_NAME);
  const trainableEntries = new Map<string, SafetensorsEntry>();
  if (await isFile(trainablePath)) {
    for (const [key, e] of (await readSafetensorsFile(trainablePath)).tensors) trainableEntries.set(key.replace(/^base_model\.model\./, ''), e);
    checkFloatEntries(trainableEntries, trainablePath);
    const shapes = new Map([...trainableEntries].map(([n, e]) => [n, { shape: e.shape }])); // any float dtype fits a float32 weight
    const diff = compareWeightSets(model.parameters, shapes, { allowMissing: [/.*/] });
    if (hasWeightProblems(diff)) throw new Error(formatWeightSetDiff(diff, `${what}: ${trainablePath}`, 'model', 'trainable params file'));
  } else if (await isFile(path.join(dir, 'trainable_params.bin'))) {
    throw new Error(
      `${what}: ${dir} has trainable_params.bin (a PyTorch pickle) and no ${TRAINABLE_PARAMS_NAME}; convert it in Python: ` +
        `safetensors.torch.save_file(torch.load("trainable_params.bin"), "${TRAINABLE_PARAMS_NAME}", metadata={"format": "pt"})`,
    );
  }

  const lora = applyLora(model, config);
  try {
    const params = lora.parameters();
    for (const [name, e] of adapterEntries) {
      const target = params.get(name) as Variable;
      tf.tidy(() => target.assign(tf.tensor(e.data, e.shape, 'float32')));
    }
    for (const [name, e] of trainableEntries) {
      const target = model.parameters.get(name) as Variable;
      tf.tidy(() => target.assign(tf.tensor(e.data, e.shape, 'float32')));
    }
  } catch (e) {
    lora.dispose();
    throw e;
  }
  return lora;
}

/** Options of `saveMergedCheckpoint`. */
export interface SaveMergedOptions {
  /** Storage dtype: 'F32', 'BF16' or 'F16'. Default: the dtype the base was loaded from (`loadedDtype`), else F32. */
  dtype?: CheckpointDtype;
  /** Largest shard in bytes (default 10^10, transformers' "10GB"). */
  maxShardBytes?: number;
  /**
   * Default true: the model must carry rope scaling (a LongLoRA model extended with position
   * interpolation), which guards against saving the unextended base config (official issue #181).
   * false for a model fine-tuned at its original context.
   */
  extendedContext?: boolean;
  /** A tokenizer to write into the directory too, as the official merge script does. */
  tokenizer?: HFTokenizer;
}

/**
 * Writes a full Hugging Face checkpoint of a model with its LoRA update folded in
 * (W + (alpha / r) B A; the official `merge_lora_weights_and_save_hf_model.py`), without changing the
 * live model. `source` is the model you run (a `LlamaForCausalLM` whose attached LoRA adapters are
 * folded in), or the `LoraAdapters` of a `LlamaForCausalLM`; the config, `rope_scaling` included,
 * comes from that model (`toHFConfig(model.config)`), so pass the extended model (`extendContext`),
 * not its base. Written as `savePretrained` writes (config.json, model.safetensors or shards).
 */
export async function saveMergedCheckpoint(dir: string, source: LlamaForCausalLM | LoraAdapters, options: SaveMergedOptions = {}): Promise<SavedHFCheckpoint> {
  const what = 'saveMergedCheckpoint';
  if (isPlainObject(options) && ('model_type' in options || 'rope_scaling' in options || 'hidden_size' in options)) {
    throw new Error(`${what}: the third argument is the options ({ dtype, maxShardBytes, extendedContext, tokenizer }); the config now comes from the model itself: call saveMergedCheckpoint(dir, extendedModel)`);
  }
  checkKnownKeys(what, options, ['dtype', 'maxShardBytes', 'extendedContext', 'tokenizer']);
  let model: LlamaForCausalLM;
  let layers: Map<string, LoraLinear | { deltaWeight?: unknown }>;
  if (source instanceof LoraAdapters) {
    if (!(source.model instanceof LlamaForCausalLM)) throw new Error(`${what}: the adapters belong to a model that is not a LlamaForCausalLM; pass the model instead`);
    if (source.isDisposed) throw new Error(`${what}: the adapters were disposed`);
    model = source.model;
    layers = source.isMerged ? new Map() : source.layers;
  } else if (source instanceof LlamaForCausalLM) {
    model = source;
    layers = model.adapters as Map<string, { deltaWeight?: unknown }>;
  } else {
    throw new Error(`${what}: source must be a LlamaForCausalLM (with its LoRA attached) or the LoraAdapters of one, got ${describe(source)}`);
  }
  if (model.isDisposed) throw new Error(`${what}: the model was disposed`);
  const dtype = options.dtype === undefined ? defaultSaveDtype(model) : checkCheckpointDtype(what, options.dtype);
  const extended = options.extendedContext === undefined ? true : checkBoolean(what, 'extendedContext', options.extendedContext);
  if (options.tokenizer !== undefined && !(options.tokenizer instanceof HFTokenizer)) {
    throw new Error(`${what}: tokenizer must be an HFTokenizer (from loadTokenizer), got ${describe(options.tokenizer)}`);
  }
  const scaling = model.config.ropeScaling;
  if (extended && (scaling === null || scaling.factor === 1)) {
    throw new Error(
      `${what}: the model has no rope scaling (maxPositionEmbeddings ${model.config.maxPositionEmbeddings}, ropeScaling ${JSON.stringify(scaling)}); ` +
        'a LongLoRA model extended with position interpolation needs it in config.json (official issue #181). Pass the extended model ' +
        `(extendContext(model, length, 'linear'), or the model you trained), or { extendedContext: false } for a model that was not extended`,
    );
  }
  for (const [name, layer] of layers) {
    if (typeof (layer as { deltaWeight?: unknown }).deltaWeight !== 'function') {
      throw new Error(`${what}: the adapter on ${name} is not LoRA (no deltaWeight()); only LoRA updates can be folded into the weights`);
    }
  }
  const config = { ...toHFConfig(model.config), torch_dtype: TORCH_DTYPE_NAMES[dtype] };
  const merged = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  try {
    for (const [name, w] of model.parameters) {
      const layer = layers.get(name.replace(/\.weight$/, '')) as LoraLinear | undefined;
      if (layer === undefined) {
        merged.set(name, w);
      } else {
        const folded = tf.tidy(() => tf.add(w, layer.deltaWeight()));
        owned.push(folded);
        merged.set(name, folded);
      }
    }
    return await saveHFCheckpoint(dir, { config, tensors: merged, dtype, maxShardBytes: options.maxShardBytes, extraFiles: options.tokenizer?.files() ?? new Map() });
  } finally {
    tf.dispose(owned);
  }
}
