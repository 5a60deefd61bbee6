/**
 * Base models for the notebooks and the reproduction, trained the same way on every machine.
 *
 * LongLoRA starts from a pre-trained model (Llama-2) and extends its context. Our miniature needs
 * two small bases:
 * - `text`: `presets.small` (context 256, byte-level) pre-trained on State of the Union addresses,
 *   so it reads English; notebooks 04-06 extend it and reproduce's context-extension experiment
 *   starts from the same recipe.
 * - `passkey`: `presets.small` trained by the passkey experiment (`runPasskeyExperiment` at its
 *   defaults: repeated strings, then the official prompt at 256-512 tokens with position
 *   interpolation to 512), so it retrieves a passkey at its own context.
 *
 * `npm run pretrain [-- --only text|passkey]` trains them with fixed update counts and seeds and
 * saves each as a Hugging Face checkpoint folder (config.json, model.safetensors) plus
 * `pretrain.json` (the recipe, the backend, the losses) in the model cache
 * (`baseModelsDir()`). `loadBaseModel` loads a cached one, or trains a small stand-in when none
 * is cached (always in quick mode) and says so.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backendInfo } from '../backend';
import { LlamaForCausalLM, presets } from '../model';
import type { LlamaConfig } from '../model';
import { Trainer } from '../train/trainer';
import type { StepInfo } from '../train/trainer';
import type { ProgressMode } from '../train/progress';
import { buildTokenStream, sotuSplits, WindowBatcher } from '../data';
import { loadPretrained, savePretrained, writeJsonAtomic } from '../io';
import { checkKnownKeys, checkPositiveInt, checkSeed, describe } from '../util/options';
import { runPasskeyExperiment } from './passkey';
import type { PasskeyExperimentOptions } from './passkey';

/** The two base models. */
export const BASE_MODEL_NAMES = ['text', 'passkey'] as const;
export type BaseModelName = (typeof BASE_MODEL_NAMES)[number];

/** Bumped when a recipe changes, so a cache of an older recipe is not mistaken for this one. */
export const BASE_MODEL_RECIPE_VERSION = 1;

/** The text base's recipe: next-byte prediction on the SOTU training split at the model's context. */
export interface TextBaseOptions {
  config?: LlamaConfig;
  /** Updates (default 1200: about 2.5 M tokens, 3-4 minutes on the tensorflow backend, 2 cores). */
  updates?: number;
  /** Windows per update (default 8). */
  batchSize?: number;
  /** Peak learning rate of the cosine schedule (default 3e-3, 50 warm-up updates). */
  lr?: number;
  seed?: number;
  progress?: ProgressMode;
  onStep?: (info: StepInfo) => void;
}

export const TEXT_BASE_DEFAULTS = Object.freeze({ updates: 1200, batchSize: 8, lr: 3e-3, seed: 0 });

/** What `pretrainTextBase` returns; the caller owns `model`. */
export interface PretrainedBase {
  model: LlamaForCausalLM;
  updates: number;
  /** Training loss of every update, in order. */
  losses: number[];
  seconds: number;
}

/** Pre-trains the text base from scratch (the recipe in the file comment; `TEXT_BASE_DEFAULTS`). */
export async function pretrainTextBase(options: TextBaseOptions = {}): Promise<PretrainedBase> {
  const where = 'pretrainTextBase';
  checkKnownKeys(where, options, ['config', 'updates', 'batchSize', 'lr', 'seed', 'progress', 'onStep']);
  const { config = presets.small, updates = TEXT_BASE_DEFAULTS.updates, batchSize = TEXT_BASE_DEFAULTS.batchSize, lr = TEXT_BASE_DEFAULTS.lr, seed = TEXT_BASE_DEFAULTS.seed } = options;
  checkPositiveInt(where, 'updates', updates);
  checkPositiveInt(where, 'batchSize', batchSize);
  checkSeed(where, seed);
  if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) throw new Error(`${where}: lr = ${describe(lr)} must be a positive learning rate`);
  const stream = buildTokenStream(sotuSplits().train);
  const model = LlamaForCausalLM.create(config, { seed });
  const started = performance.now();
  const trainer = new Trainer(model, new WindowBatcher(stream, { seqLen: config.maxPositionEmbeddings, batchSize, seed }), {
    steps: updates,
    lr,
    schedule: 'cosine',
    warmupSteps: Math.min(50, Math.floor(updates / 10)),
    betas: [0.9, 0.95],
    weightDecay: 0.01,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: options.progress ?? 'silent',
  }, { onStep: options.onStep });
  try {
    const result = await trainer.train();
    if (result.status !== 'completed') throw new Error(`${where}: training ${result.status} at update ${result.steps}${result.divergence ? `: ${result.divergence.message}` : ''}`);
    return { model, updates, losses: result.history.map((r) => r.loss), seconds: (performance.now() - started) / 1000 };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    trainer.dispose();
  }
}

/** The model cache: `LONGLORA_MODELS_DIR`, else `$LONGLORA_CACHE/models`, else `$XDG_CACHE_HOME/longlora-ts/models`, else `~/.cache/longlora-ts/models`. */
export function baseModelsDir(): string {
  if (process.env.LONGLORA_MODELS_DIR) return path.resolve(process.env.LONGLORA_MODELS_DIR);
  if (process.env.LONGLORA_CACHE) return path.resolve(process.env.LONGLORA_CACHE, 'models');
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'longlora-ts', 'models');
}

/** The folder of one base model in `dir` (default `baseModelsDir()`); the recipe version is part of the name. */
export function baseModelDir(name: BaseModelName, dir = baseModelsDir()): string {
  checkBaseModelName('baseModelDir', name);
  return path.join(dir, `${name}-v${BASE_MODEL_RECIPE_VERSION}`);
}

function checkBaseModelName(where: string, name: unknown): asserts name is BaseModelName {
  if (!(BASE_MODEL_NAMES as readonly unknown[]).includes(name)) throw new Error(`${where}: unknown base model ${describe(name)}; use one of ${BASE_MODEL_NAMES.map((n) => `'${n}'`).join(', ')}`);
}

/** `pretrain.json`: how a cached base model was made. Written last: a folder without it is incomplete. */
export interface BaseModelRecord {
  name: BaseModelName;
  recipeVersion: number;
  command: string;
  backend: string;
  updates: number;
  seconds: number;
  /** Mean training loss of the last 50 updates (text) or the last update (passkey). */
  finalLoss: number;
  /** The first 20 updates' losses: the value a short run can be checked against. */
  firstLosses: number[];
  /** For the passkey base: greedy accuracy by prompt length at the end of training. */
  passkeyAccuracy?: Array<{ tokens: number; accuracy: number }>;
  date: string;
}

/** Options of `pretrainBaseModel`. */
export interface PretrainBaseModelOptions {
  /** The cache folder (default `baseModelsDir()`). */
  dir?: string;
  /** Override the update counts (text: `updates`; passkey: `copyUpdates` and `updates`), e.g. for a short check. */
  text?: TextBaseOptions;
  passkey?: Omit<PasskeyExperimentOptions, 'onTrained' | 'log'>;
  log?: (line: string) => void;
}

/**
 * Trains one base model with its fixed recipe and saves it into the cache (replacing an older copy
 * atomically); returns the folder and its record.
 */
export async function pretrainBaseModel(name: BaseModelName, options: PretrainBaseModelOptions = {}): Promise<{ dir: string; record: BaseModelRecord }> {
  const where = 'pretrainBaseModel';
  checkBaseModelName(where, name);
  checkKnownKeys(where, options, ['dir', 'text', 'passkey', 'log']);
  const log = options.log ?? (() => undefined);
  const dir = baseModelDir(name, options.dir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const backend = backendInfo().name;
  const command = `npm run pretrain -- --only ${name}`;
  let record: BaseModelRecord;
  if (name === 'text') {
    const base = await pretrainTextBase({ progress: 'auto', ...options.text });
    try {
      await savePretrained(base.model, dir);
    } finally {
      base.model.dispose();
    }
    const tail = base.losses.slice(-50);
    record = { name, recipeVersion: BASE_MODEL_RECIPE_VERSION, command, backend, updates: base.updates, seconds: base.seconds, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, firstLosses: base.losses.slice(0, 20), date: new Date().toISOString() };
  } else {
    const losses: number[] = [];
    const result = await runPasskeyExperiment({
      ...options.passkey,
      log,
      onStep: (info) => {
        losses.push(info.loss);
        options.passkey?.onStep?.(info);
      },
      onTrained: async (model) => {
        await savePretrained(model, dir);
      },
    });
    record = {
      name, recipeVersion: BASE_MODEL_RECIPE_VERSION, command, backend, updates: result.copySteps + result.steps, seconds: result.trainSeconds, finalLoss: result.finalLoss, firstLosses: losses.slice(0, 20),
      passkeyAccuracy: result.byLength.map((r) => ({ tokens: r.promptTokens, accuracy: r.accuracy })), date: new Date().toISOString(),
    };
  }
  await writeJsonAtomic(path.join(dir, 'pretrain.json'), record);
  log(`saved the ${name} base model to ${dir}`);
  return { dir, record };
}

/** The record of a complete cached base model, or null. */
export function cachedBaseModel(name: BaseModelName, dir?: string): BaseModelRecord | null {
  const file = path.join(baseModelDir(name, dir), 'pretrain.json');
  if (!fs.existsSync(file)) return null;
  let record: BaseModelRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as BaseModelRecord;
  } catch (e) {
    throw new Error(`cachedBaseModel: ${file} is not valid JSON (${(e as Error).message}); delete its folder and run \`npm run pretrain -- --only ${name}\` again`);
  }
  return record.recipeVersion === BASE_MODEL_RECIPE_VERSION && record.name === name ? record : null;
}

/** Options of `loadBaseModel`. */
export interface LoadBaseModelOptions {
  /** The cache folder (default `baseModelsDir()`). */
  dir?: string;
  /** Ignore the cache and train a stand-in (what quick mode does; default false). */
  standIn?: boolean;
  /** Stand-in size: text updates (default 300; notebooks pass fewer in quick mode). */
  standInUpdates?: number;
  /** Stand-in passkey run: copy and curriculum updates (default [150, 150]). */
  standInPasskeyUpdates?: [number, number];
  log?: (line: string) => void;
}

/** A base model and where it came from. The caller owns `model`. */
export interface LoadedBaseModel {
  model: LlamaForCausalLM;
  source: 'cache' | 'stand-in';
  /** One line for the reader: which model this is, and how to get the real one if it is a stand-in. */
  description: string;
  record: BaseModelRecord | null;
}

/**
 * The cached base model, or (when it is not cached, or `standIn` is set) a stand-in trained now with
 * the same recipe and far fewer updates, so a notebook still runs top to bottom; the description
 * says which, and how to cache the real one.
 */
export async function loadBaseModel(name: BaseModelName, options: LoadBaseModelOptions = {}): Promise<LoadedBaseModel> {
  const where = 'loadBaseModel';
  checkBaseModelName(where, name);
  checkKnownKeys(where, options, ['dir', 'standIn', 'standInUpdates', 'standInPasskeyUpdates', 'log']);
  const log = options.log ?? (() => undefined);
  const record = options.standIn === true ? null : cachedBaseModel(name, options.dir);
  if (record !== null) {
    const dir = baseModelDir(name, options.dir);
    const model = await loadPretrained(dir);
    return { model, source: 'cache', record, description: `the ${name} base model from ${dir} (${record.updates} updates on ${record.backend}, ${record.date.slice(0, 10)})` };
  }
  const howToCache = `run \`npm run pretrain -- --only ${name}\` once to cache the real one`;
  if (name === 'text') {
    const updates = options.standInUpdates ?? 300;
    checkPositiveInt(where, 'standInUpdates', updates);
    log(`training a stand-in text base: ${updates} updates`);
    const base = await pretrainTextBase({ updates });
    return { model: base.model, source: 'stand-in', record: null, description: `a stand-in text base trained just now (${updates} of the recipe's ${TEXT_BASE_DEFAULTS.updates} updates, ${base.seconds.toFixed(0)} s); ${howToCache}` };
  }
  const [copyUpdates, updates] = options.standInPasskeyUpdates ?? [150, 150];
  let kept: LlamaForCausalLM | null = null;
  const started = performance.now();
  await runPasskeyExperiment({
    copyUpdates,
    updates,
    trials: 1,
    evalLengths: [512],
    log,
    onTrained: (model) => {
      // the experiment frees its model: keep a copy with the same config and weights
      kept = LlamaForCausalLM.fromWeights(model.config, model.parameters);
    },
  });
  if (kept === null) throw new Error(`${where}: the passkey run ended without a trained model`);
  const model: LlamaForCausalLM = kept;
  const learned = copyUpdates + updates >= 775 + 825 ? '' : '; with this few updates expect little retrieval';
  return {
    model, source: 'stand-in', record: null,
    description: `a stand-in passkey base trained just now (${copyUpdates} + ${updates} of the recipe's 775 + 825 updates, ${((performance.now() - started) / 1000).toFixed(0)} s${learned}); ${howToCache}`,
  };
}
