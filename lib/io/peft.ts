/**
 * LongLoRA's fine-tuning outputs, in the formats its users exchange:
 *
 * - a PEFT LoRA adapter: `adapter_config.json` + `adapter_model.safetensors`, keys like
 *   `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (what PEFT's
 *   `save_pretrained` writes for the default adapter), loadable by `PeftModel.from_pretrained`;
 * - `trainable_params.safetensors`: the trained embedding and norm weights under their Hugging Face
 *   names (the official `get_trainable_weights.py` writes them as `trainable_params.bin`; same
 *   tensors and names, safetensors container). The official eval.py loads it with `strict=False`
 *   before the adapter;
 * - a merged full checkpoint in HF layout (LoRA folded into the weights), whose `config.json` carries
 *   `rope_scaling` with both `type` and `rope_type` and keeps the original
 *   `max_position_embeddings`: the official merge script forgets rope_scaling (its issue #181), which
 *   makes the merged model produce garbage past the original context.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { applyLora, isLoraParameter, LoraAdapters } from '../lora';
import type { AdaptableModel, LoraConfig } from '../lora';
import { readSafetensors, writeSafetensors } from './safetensors';
import { writeJsonAtomic, replaceDirectoryAtomic } from './atomic';
import { assignWeights } from './assign';
import { saveHFCheckpoint } from './hf';
import type { SavedHFCheckpoint } from './hf';

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
  if (lora.isMerged) throw new Error('savePeftAdapter: the adapters are merged into the weights; unmerge() first, or save a merged checkpoint with saveMergedCheckpoint');
  const weights = new Map<string, Tensor>();
  for (const [name, v] of lora.parameters()) weights.set(peftKey(name), v);
  const trainable = new Map<string, Tensor>();
  if (options.trainableParams ?? true) for (const [name, v] of lora.model.parameters) if (embedOrNorm(name)) trainable.set(name, v);
  await replaceDirectoryAtomic(dir, async (tmp) => {
    await writeJsonAtomic(path.join(tmp, PEFT_CONFIG_NAME), peftAdapterConfig(lora.config, options.baseModelName ?? null));
    await writeSafetensors(path.join(tmp, PEFT_WEIGHTS_NAME), weights, { metadata: { format: 'pt' } });
    if (trainable.size > 0) await writeSafetensors(path.join(tmp, TRAINABLE_PARAMS_NAME), trainable, { metadata: { format: 'pt' } });
  });
}

/** Reads and checks adapter_config.json into our LoraConfig. */
export function loraConfigFromPeft(json: Record<string, unknown>, source = PEFT_CONFIG_NAME): LoraConfig {
  const fail = (what: string) => new Error(`${source}: ${what}`);
  if (json.peft_type !== 'LORA') throw fail(`peft_type is ${JSON.stringify(json.peft_type)}; only LORA adapters are supported`);
  if (json.bias !== undefined && json.bias !== 'none') throw fail(`bias ${JSON.stringify(json.bias)} is not supported (LongLoRA uses "none")`);
  if (json.fan_in_fan_out === true) throw fail('fan_in_fan_out true is for GPT-2 style Conv1D layers; Llama uses false');
  const rankPattern = json.rank_pattern as Record<string, unknown> | undefined;
  const alphaPattern = json.alpha_pattern as Record<string, unknown> | undefined;
  if ((rankPattern && Object.keys(rankPattern).length > 0) || (alphaPattern && Object.keys(alphaPattern).length > 0)) {
    throw fail('per-module rank_pattern/alpha_pattern are not supported');
  }
  const targets = json.target_modules;
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) throw fail('target_modules must be a list of module names (e.g. ["q_proj", "v_proj"])');
  return { r: Number(json.r), alpha: Number(json.lora_alpha), dropout: Number(json.lora_dropout ?? 0), targets: targets as string[] };
}

/**
 * Attaches a saved adapter to `model`: LoRA from the PEFT files, and, when present,
 * `trainable_params.safetensors` assigned into the model's embedding and norm weights. Every
 * missing or unexpected adapter tensor, or wrong shape, is listed in one error.
 */
export async function loadPeftAdapter(dir: string, model: AdaptableModel): Promise<LoraAdapters> {
  const configPath = path.join(dir, PEFT_CONFIG_NAME);
  if (!fs.existsSync(configPath)) throw new Error(`loadPeftAdapter: ${dir} has no ${PEFT_CONFIG_NAME}; is it a PEFT adapter directory?`);
  const config = loraConfigFromPeft(JSON.parse(fs.readFileSync(configPath, 'utf8')), configPath);
  const weightsPath = path.join(dir, PEFT_WEIGHTS_NAME);
  if (!fs.existsSync(weightsPath)) {
    const bin = fs.existsSync(path.join(dir, 'adapter_model.bin')) ? ' (found adapter_model.bin: PyTorch pickles are not supported; re-save with safe_serialization=True)' : '';
    throw new Error(`loadPeftAdapter: ${dir} has no ${PEFT_WEIGHTS_NAME}${bin}`);
  }
  const file = await readSafetensors(weightsPath);
  const lora = applyLora(model, config);
  try {
    // PEFT may or may not keep the adapter name ("default") in keys; accept both.
    const source = new Map<string, Tensor>();
    for (const [key, t] of file) source.set(key.replace(/^base_model\.model\./, '').replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), t);
    assignWeights(lora.parameters(), source);
    const trainablePath = path.join(dir, TRAINABLE_PARAMS_NAME);
    if (fs.existsSync(trainablePath)) {
      const trainable = await readSafetensors(trainablePath);
      try {
        const targets = new Map<string, Variable>([...model.parameters].filter(([name]) => trainable.has(name)));
        assignWeights(targets, trainable);
      } finally {
        tf.dispose([...trainable.values()]);
      }
    }
  } catch (e) {
    lora.dispose();
    throw e;
  } finally {
    tf.dispose([...file.values()]);
  }
  return lora;
}

/**
 * Writes a full HF checkpoint of the model with the LoRA update folded in (W + (alpha / r) B A),
 * without changing the live model. `hfConfig` is the model's `toHFConfig(...)`: it must carry
 * `rope_scaling` when the model was extended (checked), so the merged model keeps its context.
 */
export async function saveMergedCheckpoint(dir: string, lora: LoraAdapters, hfConfig: Record<string, unknown>, options: { extendedContext?: boolean } = {}): Promise<SavedHFCheckpoint> {
  const scaling = hfConfig.rope_scaling as Record<string, unknown> | null | undefined;
  if (options.extendedContext !== false && (scaling === null || scaling === undefined)) {
    throw new Error('saveMergedCheckpoint: config has no rope_scaling; a LongLoRA model extended with position interpolation needs it (official issue #181). Pass toHFConfig(extendedModel.config), or { extendedContext: false } for a model that was not extended');
  }
  const merged = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  try {
    for (const [name, w] of lora.model.parameters) {
      const module = name.replace(/\.weight$/, '');
      const layer = lora.isMerged ? undefined : lora.layers.get(module);
      if (layer === undefined) {
        merged.set(name, w);
      } else {
        const folded = tf.tidy(() => tf.add(w, layer.deltaWeight()));
        owned.push(folded);
        merged.set(name, folded);
      }
    }
    return await saveHFCheckpoint(dir, { config: hfConfig, tensors: merged });
  } finally {
    tf.dispose(owned);
  }
}
