/**
 * Hugging Face checkpoint directories as `save_pretrained(dir, safe_serialization=True)` writes them
 * (transformers 4.34, `modeling_utils.py`: `shard_checkpoint`, `load_state_dict`) and `from_pretrained`
 * reads them:
 *
 *   config.json                        the model config (JSON; ./hf-config.ts maps it to LlamaConfig)
 *   model.safetensors                  all tensors, when they fit in one shard; or
 *   model-00001-of-0000N.safetensors   shards, plus
 *   model.safetensors.index.json       { "metadata": { "total_size": bytes }, "weight_map": { name: shard file } }
 *
 * Each safetensors file carries `__metadata__ = { "format": "pt" }`, without which `from_pretrained` refuses it.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Tensor } from '../backend';
import { replaceDirectoryAtomic, recoverInterruptedReplace, writeFileAtomic, writeJsonAtomic } from './atomic';
import { formatHFConfigJson } from './hf-config';
import { SAFETENSORS_DTYPE_BYTES, entriesToTensors, readSafetensorsFile, serializeSafetensors, tensorsToEntries } from './safetensors';
import type { SafetensorsDtype, SafetensorsInput } from './safetensors';
import { checkKnownKeys } from '../util/options';
import { isUint8Array } from '../util/typed-arrays';

export { assignWeights } from './assign';

/** `transformers.utils.CONFIG_NAME`. */
export const HF_CONFIG_NAME = 'config.json';
/** `transformers.utils.SAFE_WEIGHTS_NAME`. */
export const HF_WEIGHTS_NAME = 'model.safetensors';
/** `transformers.utils.SAFE_WEIGHTS_INDEX_NAME`. */
export const HF_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';
/** `save_pretrained`'s default `max_shard_size` in transformers 4.34 ("10GB" = 10^10 bytes). */
export const HF_DEFAULT_MAX_SHARD_BYTES = 10_000_000_000;

/** A loaded checkpoint. The caller owns (and disposes) the tensors. */
export interface HFCheckpoint {
  /** The parsed config.json. */
  config: Record<string, unknown>;
  /** Every tensor: float32 for float dtypes (BF16/F16 widened exactly), int32 for integers. */
  tensors: Map<string, Tensor>;
  /** The stored dtype of each tensor (e.g. BF16 for a bfloat16 checkpoint). */
  dtypes: Map<string, SafetensorsDtype>;
  /** The weight files read, relative to the directory. */
  files: string[];
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${what}: cannot read ${file} (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The weight_map of an index file, validated (every value a plain `*.safetensors` file name). */
function checkIndex(index: unknown, file: string): Map<string, string> {
  const what = 'loadHFCheckpoint';
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new Error(`${what}: ${file} must be an object with a "weight_map" object { tensor name: shard file }`);
  }
  const map = new Map<string, string>();
  const bad: string[] = [];
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (typeof shard !== 'string' || shard !== path.basename(shard) || shard === '..' || !shard.endsWith('.safetensors')) {
      bad.push(`${name} -> ${JSON.stringify(shard)}`);
    } else {
      map.set(name, shard);
    }
  }
  if (bad.length > 0) {
    throw new Error(`${what}: ${file} maps tensors to invalid shard names (must be *.safetensors files in the same directory): ${bad.join(', ')}`);
  }
  if (map.size === 0) throw new Error(`${what}: ${file} has an empty weight_map`);
  return map;
}

/**
 * Loads a Hugging Face checkpoint directory: `config.json` and either `model.safetensors` (preferred when
 * both exist, as `from_pretrained` does) or `model.safetensors.index.json` with its shards. For a sharded
 * checkpoint every shard must exist and hold exactly the tensors the index assigns to it; all problems are
 * reported in one error. A replace of `dir` interrupted by a crash is first finished or undone
 * (`recoverInterruptedReplace`).
 */
export async function loadHFCheckpoint(dir: string): Promise<HFCheckpoint> {
  const what = 'loadHFCheckpoint';
  await recoverInterruptedReplace(dir);
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (e) {
    throw new Error(`${what}: cannot read checkpoint directory ${dir} (${(e as Error).message})`);
  }
  const configFile = path.join(dir, HF_CONFIG_NAME);
  if (!entries.includes(HF_CONFIG_NAME)) {
    throw new Error(`${what}: ${dir} has no ${HF_CONFIG_NAME} (found: ${entries.join(', ') || 'nothing'}); a Hugging Face checkpoint directory needs its config`);
  }
  const config = await readJson(configFile, what);
  if (!isPlainObject(config)) throw new Error(`${what}: ${configFile} must hold a JSON object`);

  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  const disposeAll = () => tensors.forEach((t) => t.dispose());

  if (await isFile(path.join(dir, HF_WEIGHTS_NAME))) {
    const parsed = await readSafetensorsFile(path.join(dir, HF_WEIGHTS_NAME));
    for (const [name, t] of entriesToTensors(parsed.tensors)) tensors.set(name, t);
    for (const [name, e] of parsed.tensors) dtypes.set(name, e.dtype);
    return { config, tensors, dtypes, files: [HF_WEIGHTS_NAME] };
  }
  if (!entries.includes(HF_WEIGHTS_INDEX_NAME)) {
    const hint = entries.some((e) => e.endsWith('.bin')) ? ' PyTorch .bin weights are not supported: re-save with save_pretrained(dir, safe_serialization=True).' : '';
    throw new Error(`${what}: ${dir} has neither ${HF_WEIGHTS_NAME} nor ${HF_WEIGHTS_INDEX_NAME} (found: ${entries.join(', ')}).${hint}`);
  }

  const indexFile = path.join(dir, HF_WEIGHTS_INDEX_NAME);
  const weightMap = checkIndex(await readJson(indexFile, what), indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of weightMap) byShard.set(shard, [...(byShard.get(shard) ?? []), name]);

  const problems: string[] = [];
  const files: string[] = [];
  try {
    for (const [shard, names] of byShard) {
      const shardPath = path.join(dir, shard);
      if (!(await isFile(shardPath))) {
        problems.push(`shard ${shard} does not exist (the index assigns it ${names.length} tensors: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`);
        continue;
      }
      const parsed = await readSafetensorsFile(shardPath); // a corrupt shard throws its own precise error
      files.push(shard);
      const absent = names.filter((n) => !parsed.tensors.has(n));
      if (absent.length > 0) problems.push(`shard ${shard} lacks tensors the index assigns to it: ${absent.join(', ')}`);
      const extra = [...parsed.tensors.keys()].filter((n) => weightMap.get(n) !== shard);
      if (extra.length > 0) {
        const where = extra.map((n) => (weightMap.has(n) ? `${n} (indexed in ${weightMap.get(n)})` : `${n} (not in the index)`));
        problems.push(`shard ${shard} holds tensors the index does not assign to it: ${where.join(', ')}`);
      }
      if (problems.length > 0) continue; // keep checking the other shards, but create no more tensors
      for (const [name, t] of entriesToTensors(parsed.tensors)) tensors.set(name, t);
      for (const [name, e] of parsed.tensors) dtypes.set(name, e.dtype);
    }
  } catch (e) {
    disposeAll();
    throw e;
  }
  if (problems.length > 0) {
    disposeAll();
    throw new Error(`${what}: sharded checkpoint ${dir} is inconsistent with ${HF_WEIGHTS_INDEX_NAME}:\n  ${problems.join('\n  ')}`);
  }
  // Index order (HF writes it sorted by name), independent of how the shards were read.
  const ordered = new Map<string, Tensor>();
  for (const name of weightMap.keys()) ordered.set(name, tensors.get(name) as Tensor);
  return { config, tensors: ordered, dtypes, files };
}

/** Options of `saveHFCheckpoint`. */
export interface SaveHFCheckpointOptions {
  /** The config.json object, written with `formatHFConfigJson` (float fields keep their decimal point). */
  config: Record<string, unknown>;
  /** The tensors, in the order shards are filled (HF fills them in `state_dict()` order). */
  tensors: Map<string, Tensor>;
  /** Largest shard in bytes (default 10^10, HF's "10GB"); a single tensor larger than this gets a shard of its own. */
  maxShardBytes?: number;
  /** Storage dtype of float32 tensors: F32 (default), BF16 or F16. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Extra `__metadata__` for every file; `format: 'pt'` is always set (from_pretrained requires it). */
  metadata?: Record<string, string>;
  /** More files for the directory, by plain file name (e.g. `tokenizer.json`), written in the same atomic replace. */
  extraFiles?: ReadonlyMap<string, string | Uint8Array>;
}

/** What `saveHFCheckpoint` wrote. */
export interface SavedHFCheckpoint {
  /** Files written, relative to the directory (config first). */
  files: string[];
  /** Bytes of tensor data (the index's `metadata.total_size`). */
  totalSize: number;
  /** Tensor name -> file holding it. */
  weightMap: Map<string, string>;
}

const SAVE_OPTION_KEYS = ['config', 'tensors', 'maxShardBytes', 'dtype', 'metadata', 'extraFiles'];

/**
 * Groups tensors into shards exactly as transformers 4.34 `shard_checkpoint` does: in order, starting a new
 * shard when adding a tensor would exceed `maxShardBytes` and the current shard is not empty.
 */
export function planShards(sizes: ReadonlyMap<string, number>, maxShardBytes: number): string[][] {
  const shards: string[][] = [[]];
  let current = 0;
  for (const [name, bytes] of sizes) {
    if (current + bytes > maxShardBytes && shards[shards.length - 1].length > 0) {
      shards.push([]);
      current = 0;
    }
    shards[shards.length - 1].push(name);
    current += bytes;
  }
  return shards;
}

/** HF's shard file name, e.g. `model-00001-of-00003.safetensors`. */
export function hfShardName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** Extra files must have plain names that do not collide with the checkpoint's own files. */
function checkExtraFiles(extraFiles: unknown, what: string): void {
  if (!(extraFiles instanceof Map)) throw new Error(`${what}: extraFiles must be a Map<file name, string | Uint8Array>`);
  for (const [name, contents] of extraFiles) {
    if (typeof name !== 'string' || name === '' || name !== path.basename(name) || name === '.' || name === '..') {
      throw new Error(`${what}: extraFiles name ${JSON.stringify(name)} must be a plain file name (no directories)`);
    }
    if (name === HF_CONFIG_NAME || name === HF_WEIGHTS_INDEX_NAME || /^model(-\d{5}-of-\d{5})?\.safetensors$/.test(name)) {
      throw new Error(`${what}: extraFiles name ${name} is one of the checkpoint's own files; choose another name`);
    }
    if (typeof contents !== 'string' && !isUint8Array(contents)) throw new Error(`${what}: extraFiles ${name} must be a string or Uint8Array`);
  }
}

/**
 * Saves a Hugging Face checkpoint directory (config.json + model.safetensors, or shards + index when the
 * tensors exceed `maxShardBytes`), readable by `from_pretrained`. The directory is replaced atomically
 * (`replaceDirectoryAtomic`): a crash leaves the previous checkpoint or the complete new one.
 */
export async function saveHFCheckpoint(dir: string, options: SaveHFCheckpointOptions): Promise<SavedHFCheckpoint> {
  const what = 'saveHFCheckpoint';
  if (!isPlainObject(options)) throw new Error(`${what}: options must be { config, tensors, maxShardBytes?, dtype?, metadata?, extraFiles? }`);
  checkKnownKeys(what, options, SAVE_OPTION_KEYS);
  const { config, tensors, maxShardBytes = HF_DEFAULT_MAX_SHARD_BYTES, dtype = 'F32', metadata = {}, extraFiles = new Map<string, string | Uint8Array>() } = options;
  if (!isPlainObject(config)) throw new Error(`${what}: config must be the config.json object (e.g. toHFConfig(modelConfig))`);
  if (!(tensors instanceof Map) || tensors.size === 0) throw new Error(`${what}: tensors must be a non-empty Map<string, Tensor>`);
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes < 1) throw new Error(`${what}: maxShardBytes must be a positive integer number of bytes; got ${maxShardBytes}`);
  checkExtraFiles(extraFiles, what);
  const configText = formatHFConfigJson(config) + '\n'; // before any file is touched: a bad config changes nothing

  const entries = await tensorsToEntries(tensors, dtype, what);
  const sizes = new Map<string, number>();
  for (const [name, e] of entries) {
    sizes.set(name, e.shape.reduce((p, d) => p * d, 1) * SAFETENSORS_DTYPE_BYTES[e.dtype ?? 'F32']);
  }
  const totalSize = [...sizes.values()].reduce((a, b) => a + b, 0);
  const shards = planShards(sizes, maxShardBytes);
  const fileMetadata = { ...metadata, format: 'pt' };
  const weightMap = new Map<string, string>();
  const files = [HF_CONFIG_NAME];

  await replaceDirectoryAtomic(dir, async (tmp) => {
    await writeFileAtomic(path.join(tmp, HF_CONFIG_NAME), configText);
    for (let i = 0; i < shards.length; i++) {
      const file = shards.length === 1 ? HF_WEIGHTS_NAME : hfShardName(i, shards.length);
      const shardEntries = new Map<string, SafetensorsInput>();
      for (const name of shards[i]) {
        shardEntries.set(name, entries.get(name) as SafetensorsInput);
        weightMap.set(name, file);
      }
      await fs.writeFile(path.join(tmp, file), serializeSafetensors(shardEntries, fileMetadata));
      files.push(file);
    }
    if (shards.length > 1) {
      const sortedMap: Record<string, string> = {};
      for (const name of [...weightMap.keys()].sort()) sortedMap[name] = weightMap.get(name) as string;
      await writeJsonAtomic(path.join(tmp, HF_WEIGHTS_INDEX_NAME), { metadata: { total_size: totalSize }, weight_map: sortedMap });
      files.push(HF_WEIGHTS_INDEX_NAME);
    }
    for (const [name, contents] of extraFiles) {
      await writeFileAtomic(path.join(tmp, name), contents);
      files.push(name);
    }
  });
  return { files, totalSize, weightMap };
}
