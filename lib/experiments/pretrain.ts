/**
 * Base models for the notebooks and the reproduction, trained the same way on every machine.
 *
 * LongLoRA starts from a pre-trained model (Llama-2) and extends its context. Our miniature needs
 * two small bases:
 * - `text`: `presets.small` (context 256, byte-level) pre-trained on State of the Union addresses,
 *   so it reads English; notebooks 04-06 extend it and reproduce's context-extension experiment
 *   starts from the same recipe.
 * - `copying`: the text base after a copying stage (repeated random strings, and State of the Union
 *   windows with a passage repeated within the context), so it reads English and copies what it has
 *   seen in its context: the induction heads every pre-trained LLM has (Olsson et al. 2022), which
 *   the plain text base never forms because prose rarely repeats. The paper's fine-tuning tables in
 *   miniature start from it, so that fine-tuning can extend copying to longer distances.
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
import { buildTokenStream, sotuSplits, WindowBatcher, RepeatedPassageBatcher, RepeatedStringBatches, longRangeWindows, encode, flattenWhitespace, mobyDickText } from '../data';
import type { LabeledBatch } from '../data';
import type { BatchSource, TrainBatch } from '../train/types';
import { evaluateLongRange } from '../eval/long-range';
import type { LongRangeResult } from '../eval/long-range';
import { loadPretrained, savePretrained, writeJsonAtomic } from '../io';
import { checkKnownKeys, checkPositiveInt, checkSeed, describe } from '../util/options';
import { runPasskeyExperiment } from './passkey';
import type { PasskeyExperimentOptions } from './passkey';

/** The two base models. */
export const BASE_MODEL_NAMES = ['text', 'copying', 'passkey'] as const;
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

/** The copying stage's recipe (the `copying` base: the text base, then this). */
export interface CopyStageOptions {
  /** Updates (default 1000). */
  updates?: number;
  /** Every k-th update is text with a repeated passage, the others repeated random strings (default 4). */
  textEvery?: number;
  /** Learning rate, constant after 20 warm-up updates (default 1e-3). */
  lr?: number;
  seed?: number;
  onStep?: (info: StepInfo) => void;
}

export const COPY_STAGE_DEFAULTS = Object.freeze({ updates: 1000, textEvery: 4, lr: 1e-3, seed: 0 });

/** Update i: text when i % textEvery = textEvery - 1, else repeated strings; deterministic in i (resume-exact). */
class CopyStageBatches implements BatchSource {
  private index = 0;
  constructor(private readonly strings: RepeatedStringBatches, private readonly text: RepeatedPassageBatcher, private readonly textEvery: number) {}
  next(): TrainBatch {
    const i = this.index++;
    if (i % this.textEvery === this.textEvery - 1) return this.text.next();
    const b: LabeledBatch = this.strings.next();
    return { inputIds: b.inputIds, labels: b.labels, batchSize: b.batchSize, seqLen: b.seqLen };
  }
  state(): unknown {
    return { index: this.index, strings: this.strings.state(), text: this.text.state() };
  }
  restore(state: unknown): void {
    const s = state as { index: number; strings: unknown; text: unknown };
    this.index = s.index;
    this.strings.restore(s.strings);
    this.text.restore(s.text);
  }
}

/**
 * The copying stage, in place on `model` (a text base): repeated random digit strings (32 of 40
 * tokens per update: lib/data `repeatedStringExamples`, the look-back with nothing else to predict
 * from) and, every `textEvery`-th update, 4 State of the Union windows each with a 48-token passage
 * repeated 64 or more tokens later (so the look-back carries over to prose). Returns the losses.
 */
export async function teachCopying(model: LlamaForCausalLM, options: CopyStageOptions = {}): Promise<{ losses: number[]; seconds: number }> {
  const where = 'teachCopying';
  checkKnownKeys(where, options, ['updates', 'textEvery', 'lr', 'seed', 'onStep']);
  const { updates = COPY_STAGE_DEFAULTS.updates, textEvery = COPY_STAGE_DEFAULTS.textEvery, lr = COPY_STAGE_DEFAULTS.lr, seed = COPY_STAGE_DEFAULTS.seed } = options;
  checkPositiveInt(where, 'updates', updates);
  checkPositiveInt(where, 'textEvery', textEvery);
  checkSeed(where, seed);
  const context = model.config.maxPositionEmbeddings;
  const strings = new RepeatedStringBatches({ batchSize: 32, seqLen: 40, seed: seed + 3, alphabet: '0123456789', chars: [4, 12] });
  const text = new RepeatedPassageBatcher(buildTokenStream(sotuSplits().train), { seqLen: context, batchSize: 4, share: 1, passageLength: Math.min(48, Math.floor(context / 4)), minDistance: Math.floor(context / 4), seed: seed + 1 });
  const started = performance.now();
  const trainer = new Trainer(model, new CopyStageBatches(strings, text, textEvery), {
    steps: updates,
    lr,
    schedule: 'constant_with_warmup',
    warmupSteps: Math.min(20, Math.floor(updates / 5)),
    betas: [0.9, 0.95],
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  }, { onStep: options.onStep });
  try {
    const result = await trainer.train();
    if (result.status !== 'completed') throw new Error(`${where}: training ${result.status} at update ${result.steps}${result.divergence ? `: ${result.divergence.message}` : ''}`);
    return { losses: result.history.map((r) => r.loss), seconds: (performance.now() - started) / 1000 };
  } finally {
    trainer.dispose();
  }
}

/** The copy measure within a base's context: held-out prose with a 32-token passage repeated 3/8 of the context or more back (16 windows). */
export async function copyingWithinContext(model: LlamaForCausalLM): Promise<LongRangeResult> {
  const n = model.config.maxPositionEmbeddings;
  const windows = longRangeWindows(encode(flattenWhitespace(mobyDickText())), { seqLen: n, passageLength: Math.min(32, Math.floor(n / 4)), minDistance: Math.floor((3 * n) / 8), count: 16, seed: 1 });
  return evaluateLongRange(model, windows);
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
  /** Mean training loss of the last 50 updates (text, copying: of its copying stage) or the last update (passkey). */
  finalLoss: number;
  /** The first 20 updates' losses: the value a short run can be checked against. */
  firstLosses: number[];
  /** For the passkey base: greedy accuracy by prompt length at the end of training. */
  passkeyAccuracy?: Array<{ tokens: number; accuracy: number }>;
  /** For the copying base: the copy measure within its context (`copyingWithinContext`) before and after the copying stage. */
  copying?: { before: LongRangeResult; after: LongRangeResult; textUpdates: number; copyUpdates: number; textSource: 'cache' | 'trained' };
  date: string;
}

/** Options of `pretrainBaseModel`. */
export interface PretrainBaseModelOptions {
  /** The cache folder (default `baseModelsDir()`). */
  dir?: string;
  /** Override the update counts (text: `updates`; copying: `copy.updates`; passkey: `copyUpdates` and `updates`), e.g. for a short check. */
  text?: TextBaseOptions;
  copy?: CopyStageOptions;
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
  checkKnownKeys(where, options, ['dir', 'text', 'copy', 'passkey', 'log']);
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
  } else if (name === 'copying') {
    // stage 1 is the text base's recipe: the cached text base when there is one with default settings (the same run)
    const cachedText = options.text === undefined ? cachedBaseModel('text', options.dir) : null;
    let model: LlamaForCausalLM;
    let textSeconds: number;
    if (cachedText !== null) {
      log(`stage 1: the cached text base (${cachedText.updates} updates)`);
      model = await loadPretrained(baseModelDir('text', options.dir));
      textSeconds = cachedText.seconds;
    } else {
      log('stage 1: training the text base');
      const base = await pretrainTextBase({ progress: 'auto', ...options.text });
      model = base.model;
      textSeconds = base.seconds;
    }
    try {
      const before = await copyingWithinContext(model);
      log(`stage 2: the copying stage (${options.copy?.updates ?? COPY_STAGE_DEFAULTS.updates} updates); copy perplexity before ${before.copyPerplexity.toFixed(3)} (control ${before.controlPerplexity.toFixed(3)})`);
      const stage = await teachCopying(model, {
        ...options.copy,
        onStep: (info) => {
          if (info.step % 100 === 0) log(`copying stage: update ${info.step}, loss ${info.loss.toFixed(3)}`);
          options.copy?.onStep?.(info);
        },
      });
      const after = await copyingWithinContext(model);
      log(`copy perplexity after ${after.copyPerplexity.toFixed(3)} (control ${after.controlPerplexity.toFixed(3)}, copy accuracy ${(100 * after.copyAccuracy).toFixed(0)}%)`);
      await savePretrained(model, dir);
      const textUpdates = cachedText?.updates ?? options.text?.updates ?? TEXT_BASE_DEFAULTS.updates;
      const tail = stage.losses.slice(-50);
      record = {
        name, recipeVersion: BASE_MODEL_RECIPE_VERSION, command, backend, updates: textUpdates + stage.losses.length, seconds: textSeconds + stage.seconds,
        finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, firstLosses: stage.losses.slice(0, 20),
        copying: { before, after, textUpdates, copyUpdates: stage.losses.length, textSource: cachedText !== null ? 'cache' : 'trained' }, date: new Date().toISOString(),
      };
    } finally {
      model.dispose();
    }
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
  if (name === 'copying') {
    const updates = options.standInUpdates ?? 300;
    checkPositiveInt(where, 'standInUpdates', updates);
    log(`training a stand-in copying base: ${updates} text updates, then ${updates} of the copying stage`);
    const base = await pretrainTextBase({ updates });
    const stage = await teachCopying(base.model, { updates });
    return { model: base.model, source: 'stand-in', record: null, description: `a stand-in copying base trained just now (${updates} + ${updates} of the recipe's ${TEXT_BASE_DEFAULTS.updates} + ${COPY_STAGE_DEFAULTS.updates} updates, ${(base.seconds + stage.seconds).toFixed(0)} s); ${howToCache}` };
  }
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
