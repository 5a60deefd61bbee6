/**
 * One call each way between a Hugging Face Llama checkpoint directory and a `LlamaForCausalLM`:
 * `loadPretrained(dir)` (transformers' `LlamaForCausalLM.from_pretrained(dir)`) and
 * `savePretrained(model, dir)` (`model.save_pretrained(dir, safe_serialization=True)`).
 * The tokenizer is separate, as in transformers (`AutoTokenizer.from_pretrained`): `loadTokenizer(dir)`
 * in ./tokenizer.ts, and `savePretrained`'s `tokenizer` option writes one into the same directory.
 *
 * The storage dtype a model was loaded from (F32, BF16, F16) is remembered per set of weights, so that
 * saving it again (`savePretrained`, `saveMergedCheckpoint`) keeps it by default: a bfloat16 Llama
 * stays a bfloat16 checkpoint of the same size. The model itself always computes in float32.
 */
import type { Tensor } from '../backend';
import { tf } from '../backend';
import { LlamaForCausalLM, parameterShapes } from '../model';
import { checkBoolean, checkKnownKeys, describe } from '../util/options';
import { HF_DEFAULT_MAX_SHARD_BYTES, loadHFCheckpoint, saveHFCheckpoint } from './hf';
import type { SavedHFCheckpoint } from './hf';
import { fromHFConfig, toHFConfig } from './hf-config';
import type { SafetensorsDtype } from './safetensors';
import { HFTokenizer } from './tokenizer';

/** The float storage dtypes of a saved checkpoint. */
export type CheckpointDtype = 'F32' | 'BF16' | 'F16';

const CHECKPOINT_DTYPES: readonly CheckpointDtype[] = ['F32', 'BF16', 'F16'];

/** transformers' `torch_dtype` name of each storage dtype (config.json). */
export const TORCH_DTYPE_NAMES: Readonly<Record<CheckpointDtype, string>> = Object.freeze({ F32: 'float32', BF16: 'bfloat16', F16: 'float16' });

/**
 * Loaded storage dtype by weight set. Keyed by the model's `parameters` Map, which every model made
 * from it by `withConfig` / `extendContext` shares, so an extended model keeps its base's dtype.
 */
const loadedDtypes = new WeakMap<object, CheckpointDtype>();

/**
 * The float dtype a model's weights were stored in when `loadPretrained` read them (F32, BF16 or F16;
 * F32 when the files mixed several), or null for a model that was not loaded from a checkpoint.
 * Models sharing the weights (`withConfig`, `extendContext`) report the same.
 */
export function loadedDtype(model: LlamaForCausalLM): CheckpointDtype | null {
  return loadedDtypes.get(model.parameters) ?? null;
}

/** The default storage dtype for saving `model`: what it was loaded from, else F32. */
export function defaultSaveDtype(model: LlamaForCausalLM): CheckpointDtype {
  return loadedDtype(model) ?? 'F32';
}

/** Checks a `dtype` option. */
export function checkCheckpointDtype(where: string, dtype: unknown): CheckpointDtype {
  if (typeof dtype !== 'string' || !(CHECKPOINT_DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`${where}: dtype = ${describe(dtype)} must be one of ${CHECKPOINT_DTYPES.map((d) => `'${d}'`).join(', ')} (the storage dtype of the weights)`);
  }
  return dtype as CheckpointDtype;
}

/** The single float dtype of a checkpoint's tensors; F32 when they mix several or have none. */
function storedFloatDtype(dtypes: ReadonlyMap<string, SafetensorsDtype>): CheckpointDtype {
  const floats = new Set([...dtypes.values()].filter((d) => d === 'F32' || d === 'BF16' || d === 'F16' || d === 'F64'));
  if (floats.size !== 1) return 'F32';
  const only = [...floats][0];
  return only === 'F64' ? 'F32' : (only as CheckpointDtype);
}

/** Options of `loadPretrained`. */
export interface LoadPretrainedOptions {
  /** Accept config.json keys this library does not know (see `fromHFConfig`); default false. */
  allowUnknownKeys?: boolean;
}

/**
 * A `LlamaForCausalLM` from a Hugging Face checkpoint directory (transformers'
 * `LlamaForCausalLM.from_pretrained(dir)`): `config.json` mapped by `fromHFConfig`, weights from
 * `model.safetensors` or its shards (`loadHFCheckpoint`), checked name by name and shape by shape
 * against the config (`LlamaForCausalLM.fromWeights`). BF16 and F16 weights are widened exactly to
 * float32; the stored dtype is remembered (`loadedDtype`) as the default for saving. The caller owns
 * the model (`model.dispose()`); nothing else stays allocated, also when loading fails.
 * For the tokenizer, call `loadTokenizer(dir)`.
 */
export async function loadPretrained(dir: string, options: LoadPretrainedOptions = {}): Promise<LlamaForCausalLM> {
  const what = 'loadPretrained';
  if (typeof dir !== 'string' || dir === '') throw new Error(`${what}: dir must be a checkpoint directory path, got ${describe(dir)}`);
  checkKnownKeys(what, options, ['allowUnknownKeys']);
  if (options.allowUnknownKeys !== undefined) checkBoolean(what, 'allowUnknownKeys', options.allowUnknownKeys); // before any file is read
  const ckpt = await loadHFCheckpoint(dir);
  try {
    const config = fromHFConfig(ckpt.config, { allowUnknownKeys: options.allowUnknownKeys ?? false });
    const model = LlamaForCausalLM.fromWeights(config, ckpt.tensors);
    loadedDtypes.set(model.parameters, storedFloatDtype(ckpt.dtypes));
    return model;
  } catch (e) {
    throw new Error(`${what}: ${dir}: ${(e as Error).message}`);
  } finally {
    // fromWeights' variables hold their own references to the data: the loaded tensors can go.
    tf.dispose([...ckpt.tensors.values()]);
  }
}

/** Options of `savePretrained`. */
export interface SavePretrainedOptions {
  /** Storage dtype of the weights: 'F32', 'BF16' or 'F16' (round to nearest even). Default: `loadedDtype(model)`, else F32. */
  dtype?: CheckpointDtype;
  /** Largest shard in bytes (default 10^10, transformers' "10GB"); above it the weights are sharded with an index. */
  maxShardBytes?: number;
  /** A tokenizer to write into the directory too (tokenizer.json, tokenizer_config.json), e.g. `await loadTokenizer(from)`. */
  tokenizer?: HFTokenizer;
}

/**
 * Writes `model` as a Hugging Face checkpoint directory that transformers loads with
 * `LlamaForCausalLM.from_pretrained(dir)` (checked against transformers 4.34 and 5.x): `config.json`
 * (`toHFConfig`, with `torch_dtype` of the storage dtype and `rope_scaling` of an extended model) and
 * `model.safetensors`, or shards `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`
 * when the weights exceed `maxShardBytes`; plus the tokenizer's files when `tokenizer` is given.
 * The directory is replaced as a whole and atomically (a crash leaves the old or the complete new
 * one): files that were in it before, e.g. a tokenizer, are gone unless passed again.
 * LoRA adapters attached to the model are refused (they would be silently left out): save them
 * with `savePeftAdapter`, or fold them in with `saveMergedCheckpoint`.
 */
export async function savePretrained(model: LlamaForCausalLM, dir: string, options: SavePretrainedOptions = {}): Promise<SavedHFCheckpoint> {
  const what = 'savePretrained';
  if (!(model instanceof LlamaForCausalLM)) throw new Error(`${what}: model must be a LlamaForCausalLM, got ${describe(model)}`);
  if (model.isDisposed) throw new Error(`${what}: the model was disposed`);
  if (typeof dir !== 'string' || dir === '') throw new Error(`${what}: dir must be a directory path, got ${describe(dir)}`);
  checkKnownKeys(what, options, ['dtype', 'maxShardBytes', 'tokenizer']);
  const dtype = options.dtype === undefined ? defaultSaveDtype(model) : checkCheckpointDtype(what, options.dtype);
  if (options.tokenizer !== undefined && !(options.tokenizer instanceof HFTokenizer)) {
    throw new Error(`${what}: tokenizer must be an HFTokenizer (from loadTokenizer), got ${describe(options.tokenizer)}`);
  }
  if (model.adapters.size > 0) {
    throw new Error(
      `${what}: the model has ${model.adapters.size} adapter(s) attached (e.g. ${[...model.adapters.keys()][0]}), which a Hugging Face checkpoint cannot hold; ` +
        'save them with savePeftAdapter(dir, lora), or write the base with the adapters folded in with saveMergedCheckpoint(dir, model)',
    );
  }
  const config = { ...toHFConfig(model.config), torch_dtype: TORCH_DTYPE_NAMES[dtype] };
  const tensors = new Map<string, Tensor>();
  for (const name of parameterShapes(model.config).keys()) tensors.set(name, model.parameters.get(name) as Tensor);
  return saveHFCheckpoint(dir, {
    config,
    tensors,
    dtype,
    maxShardBytes: options.maxShardBytes ?? HF_DEFAULT_MAX_SHARD_BYTES,
    extraFiles: options.tokenizer?.files() ?? new Map(),
  });
}
