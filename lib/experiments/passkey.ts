/**
 * Passkey retrieval in miniature: train a byte-level Llama on the passkey task at one length, then
 * measure retrieval accuracy by prompt length and key depth (the protocol of the official
 * `passkey_retrivial.py`, docs/protocols.md "Passkey retrieval", with our own seeded keys).
 *
 * The paper fine-tunes Llama-2 7B, which can already read; our small models start from nothing, so
 * they are trained on the task itself, in two phases: repeated random strings (lib/data
 * `RepeatedStringBatches`), where the look-back that retrieval needs (an induction head) forms;
 * then a length curriculum of passkey prompts (lib/data `CurriculumBatches`,
 * `passkeyCurriculumStages`): stages of growing length, short episodes without the task line first,
 * then official prompts, the next stage once a set share of the current one's longest prompts is
 * answered (lib/eval `teacherForcedExactMatch`). The look-back formed on strings a few tokens apart
 * does not carry over to hundreds of tokens at once; the stages lengthen the distance at the rate
 * the model learns it. Both phases are bounded by update counts, so a run is the same on any
 * machine for its seed. The accuracy table is lib/eval `passkeyAccuracyTable`. What LongLoRA
 * measures with it: how retrieval holds up at and beyond the trained context. The measurements
 * behind the defaults are in results/passkey-notes.md.
 */
import { tf } from '../backend';
import { LlamaForCausalLM, extendContext, makeConfig, presets } from '../model';
import type { LlamaConfig } from '../model';
import { Trainer } from '../train/trainer';
import type { BatchSource, StepInfo } from '../train/trainer';
import { CurriculumBatches, RepeatedStringBatches, holdsOfficialPasskeyPrompt, passkeyCurriculum, passkeyCurriculumStages, passkeyEvalLengths, passkeyOfficialMinTokens } from '../data';
import type { KeyDigits } from '../data';
import { passkeyAccuracyAt, passkeyAccuracyTable, teacherForcedExactMatch } from '../eval';
import type { PasskeyLengthAccuracy } from '../eval';
import { checkBoolean, checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe } from '../util/options';

/** Options of {@link runPasskeyExperiment}; results/passkey-notes.md has the runs behind each default. */
export interface PasskeyExperimentOptions {
  /** The model to train from scratch (default presets.small). */
  config?: LlamaConfig;
  /** Training length in tokens, the curriculum's last stage (default 512: twice presets.small's context, reached as `positions` says). */
  seqLen?: number;
  /**
   * How a training length past the model's context is reached (default 'linear'): linear position
   * interpolation (RoPE scaled by ceil(seqLen / context), as LongLoRA extends), or 'none' (the
   * context raised to seqLen, RoPE unscaled). Either way the model trains from scratch there.
   */
  positions?: 'linear' | 'none';
  /** Updates on repeated strings, the first phase, where the look-back forms (default 775, as in the committed results/passkey.md, derivation in passkey-notes.md; 0 skips it). */
  copyUpdates?: number;
  /** Updates of the curriculum, all stages and the decay at the training length together (default 825, likewise). */
  updates?: number;
  /**
   * Wall-clock cap on both phases in minutes, off by default: training stops there whatever the
   * update counts (`stoppedBy: 'maxMinutes'`). A capped run depends on the machine's speed.
   */
  maxMinutes?: number;
  /** Tokens per repeated-string example (default 40). */
  copySeqLen?: number;
  /** Characters of the repeated strings (default '0123456789': digits repeat, as in a pass key, so one previous token does not say where the copy goes on). */
  copyAlphabet?: string;
  /** Length range of the repeated strings in characters (default [4, 12]). */
  copyChars?: [number, number];
  /** Distinct characters per repeated string (lib/data `repeatedStringExamples` `distinct`; default the whole alphabet). */
  copyDistinct?: [number, number];
  /** Examples per update in the first phase (default 32). */
  copyBatchSize?: number;
  /** Prompt lengths of the curriculum's stages, ascending, the last = `seqLen` (default lib/data `passkeyCurriculum(seqLen)`); a stage too short for the official prompt drops its task line. */
  stages?: number[];
  /** Tokens per update in the curriculum (default 2048): a batch of prompts up to L tokens holds round(2048 / L) of them. */
  tokensPerUpdate?: number;
  /** Bins of the `filler` range, one per update, padded to its longest prompt (default 4: short prompts cost the compute of short ones; 1 pads to the stage's length). */
  lengthBins?: number;
  /** Move to the next stage when this share of `checkTrials` full-length prompts is answered exactly, teacher-forced (default 0.45; 0: a fixed `checkEvery` updates per stage). */
  advanceAt?: number;
  /** Check the current stage every this many updates (default 25). */
  checkEvery?: number;
  /** Prompts per stage check (default 24). */
  checkTrials?: number;
  /** Filler of the curriculum's prompts as a fraction of what fits in the stage's length, drawn uniformly from this range (default [0.05, 1]). */
  filler?: [number, number];
  /** Share of updates drawn from an earlier stage, so shorter distances are not forgotten (default 0.5). */
  review?: number;
  /** Filler range of the prompts at the training length, once there (default `filler`). */
  finalFiller?: [number, number];
  /** Share of updates from an earlier stage once at the training length (default `review`). */
  finalReview?: number;
  /** Learning rate of the repeated strings (AdamW (0.9, 0.95), 30 warm-up steps, then constant; default 3e-3). */
  lr?: number;
  /** Learning rate of the curriculum (same schedule; default 1e-3: the answers' accuracy swings at 3e-3). */
  curriculumLr?: number;
  /** Once at the training length, restart AdamW with the rate decaying linearly to 0 over the curriculum updates left, 10 warm-up steps (default true: at a constant rate the accuracy there swings). */
  finalDecay?: boolean;
  /** Seed of the model, the data and the evaluation (default 0). */
  seed?: number;
  /** Digits of the keys, in training and evaluation (default [3, 5]). */
  keyDigits?: KeyDigits;
  /** Share of the curriculum's keys that repeat digits (lib/data `passkeyTrainingExamples` `repeatedDigitKeys`; default 0); the evaluated keys stay uniform. */
  repeatedDigitKeys?: number;
  /** Labelled tokens of the passkey prompts (lib/data `labels`; default 'retrieval': the answer and the key's second mention, which teaches continuing a copy at no extra compute). */
  loss?: 'answer' | 'retrieval';
  /** Once at the last stage, 20 greedy trials at the training length every this many updates (default 50). */
  evalEvery?: number;
  /** Stop early once those trials reach this accuracy (default 0.95; above 1: never). */
  stopAt?: number;
  /** Prompt lengths (tokens) of the final accuracy table (default lib/data `passkeyEvalLengths(seqLen)`: 0.5 to 2 x seqLen). */
  evalLengths?: number[];
  /** Trials per length in the final table (default 20). */
  trials?: number;
  log?: (line: string) => void;
  onStep?: (info: StepInfo) => void;
  /** Called with the trained model before the final table and before it is freed (e.g. to save it: `npm run pretrain`). */
  onTrained?: (model: LlamaForCausalLM) => void | Promise<void>;
}

const OPTION_KEYS = [
  'config', 'seqLen', 'positions', 'copyUpdates', 'updates', 'maxMinutes', 'copySeqLen', 'copyAlphabet', 'copyChars', 'copyDistinct', 'copyBatchSize', 'stages', 'tokensPerUpdate',
  'lengthBins', 'advanceAt', 'checkEvery', 'checkTrials', 'filler', 'review', 'finalFiller', 'finalReview', 'lr', 'curriculumLr', 'finalDecay', 'seed', 'keyDigits', 'repeatedDigitKeys',
  'loss', 'evalEvery', 'stopAt', 'evalLengths', 'trials', 'log', 'onStep', 'onTrained',
];

/** One stage of the curriculum as it ran. */
export interface PasskeyStage {
  /** Prompt length in tokens. */
  length: number;
  /** Whether its prompts keep the official task line (false: too short for it). */
  taskLine: boolean;
  /** Curriculum update at which the stage began, and minutes since the start of training (for the log; not part of the seeded result). */
  fromUpdate: number;
  fromMinutes: number;
  /** The stage checks: [update, teacher-forced exact match on full-filler prompts]. */
  checks: Array<[number, number]>;
}

export interface PasskeyExperimentResult {
  settings: Required<Omit<PasskeyExperimentOptions, 'config' | 'log' | 'onStep' | 'onTrained' | 'evalLengths' | 'maxMinutes'>> & { evalLengths: number[]; maxMinutes: number | null; model: string };
  /** The model's own context (a longer training length is reached before any training, as `positions` says). */
  baseContext: number;
  /** The trained model's context and RoPE scaling (null: unscaled), as `positions` made them. */
  trainedContext: { maxPositionEmbeddings: number; ropeScaling: LlamaConfig['ropeScaling'] };
  /** Updates on repeated strings. */
  copySteps: number;
  /** Updates in the curriculum, all stages together. */
  steps: number;
  /** What ended training: the update counts, `stopAt` accuracy, or the `maxMinutes` cap. */
  stoppedBy: 'updates' | 'stopAt' | 'maxMinutes';
  /** The stages reached, in order (the last is the training length only if the curriculum got there). */
  stages: PasskeyStage[];
  /** Updates over which the rate decayed at the training length (`finalDecay`), or null. */
  decaySteps: number | null;
  /** Wall time of training (both phases); not part of the seeded result. */
  trainSeconds: number;
  finalLoss: number;
  /** Greedy accuracy at the training length once there: [curriculum update, accuracy]. */
  curve: Array<[number, number]>;
  byLength: PasskeyLengthAccuracy[];
}

/**
 * AdamW (0.9, 0.95) at a constant rate after 30 warm-up steps: the runner counts each phase's
 * updates itself, so the trainer's step count only has to be out of reach. With `decaySteps`,
 * 10 warm-up steps and a linear decay to 0 at that many updates.
 */
function phaseTrainer(model: LlamaForCausalLM, batches: BatchSource, lr: number, decaySteps?: number): Trainer {
  return new Trainer(model, batches, {
    steps: decaySteps ?? Number.MAX_SAFE_INTEGER,
    lr,
    schedule: decaySteps === undefined ? 'constant_with_warmup' : 'linear',
    warmupSteps: decaySteps === undefined ? 30 : Math.min(10, decaySteps - 1),
    betas: [0.9, 0.95],
    weightDecay: 0.01,
    gradAccumSteps: 1,
    maxGradNorm: 1,
    progress: 'silent',
  });
}

function fail(message: string): never {
  throw new Error(`runPasskeyExperiment: ${message}`);
}

/** Trains `config` on the passkey mix and measures accuracy by length (see the file comment). */
export async function runPasskeyExperiment(options: PasskeyExperimentOptions = {}): Promise<PasskeyExperimentResult> {
  checkKnownKeys('runPasskeyExperiment', options, OPTION_KEYS);
  const {
    config = presets.small, seqLen = 512, positions = 'linear', copyUpdates = 775, updates = 825, maxMinutes, copySeqLen = 40, copyBatchSize = 32, copyAlphabet = '0123456789',
    copyChars = [4, 12] as [number, number], copyDistinct = [copyAlphabet.length, copyAlphabet.length] as [number, number], tokensPerUpdate = 2048, lengthBins = 4, advanceAt = 0.45,
    checkEvery = 25, checkTrials = 24, review = 0.5, filler = [0.05, 1] as [number, number], finalFiller = filler, finalReview = review, lr = 3e-3, curriculumLr = 1e-3, finalDecay = true,
    seed = 0, keyDigits = [3, 5] as KeyDigits, repeatedDigitKeys = 0, loss = 'retrieval', evalEvery = 50, stopAt = 0.95, trials = 20, log = () => undefined, onStep, onTrained,
  } = options;
  const where = 'runPasskeyExperiment';
  checkNonNegativeInt(where, 'copyUpdates', copyUpdates);
  checkPositiveInt(where, 'updates', updates);
  if (maxMinutes !== undefined && !(typeof maxMinutes === 'number' && maxMinutes > 0 && Number.isFinite(maxMinutes))) {
    fail(`maxMinutes = ${describe(maxMinutes)} must be a positive number of minutes, or left out for no wall-clock cap (the update counts bound the run)`);
  }
  checkSeed(where, seed);
  checkBoolean(where, 'finalDecay', finalDecay);
  for (const [name, value] of [['log', log], ['onStep', onStep], ['onTrained', onTrained]] as const) {
    if (value !== undefined && typeof value !== 'function') fail(`${name} must be a function, got ${describe(value)}`);
  }
  for (const [name, value] of [['checkEvery', checkEvery], ['evalEvery', evalEvery], ['trials', trials]] as const) checkPositiveInt(where, name, value);
  if (!(typeof advanceAt === 'number' && advanceAt >= 0 && advanceAt <= 1)) fail(`advanceAt = ${describe(advanceAt)} must be in [0, 1] (the share of a stage check that moves to the next stage; 0: a fixed checkEvery updates per stage)`);
  if (!(typeof stopAt === 'number' && stopAt >= 0)) fail(`stopAt = ${describe(stopAt)} must be an accuracy >= 0 that ends training early (above 1: never)`);
  for (const [name, value] of [['lr', lr], ['curriculumLr', curriculumLr]] as const) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) fail(`${name} = ${describe(value)} must be a positive learning rate`);
  }
  if (positions !== 'linear' && positions !== 'none') fail(`positions must be 'linear' (position interpolation) or 'none' (context raised, RoPE unscaled), got ${JSON.stringify(positions)}`);
  // the checks at the training length and the final table use the official prompt, refused below this
  const shortestOfficial = passkeyOfficialMinTokens(5);
  if (!holdsOfficialPasskeyPrompt(seqLen)) fail(`seqLen = ${describe(seqLen)} is too short for the official passkey prompt the model is evaluated on; use seqLen >= ${shortestOfficial}`);
  const stageLengths = options.stages ?? passkeyCurriculum(seqLen);
  if (!Array.isArray(stageLengths) || stageLengths[stageLengths.length - 1] !== seqLen) {
    fail(`stages must be ascending prompt lengths ending at seqLen = ${seqLen}, got ${Array.isArray(stageLengths) ? JSON.stringify(stageLengths) : describe(stageLengths)}`);
  }
  const evalLengths = options.evalLengths ?? passkeyEvalLengths(seqLen);
  if (!Array.isArray(evalLengths) || evalLengths.length === 0 || !evalLengths.every(holdsOfficialPasskeyPrompt)) {
    fail(`evalLengths must be integer prompt lengths >= ${shortestOfficial} (the official prompt with 1 filler character), got ${Array.isArray(evalLengths) ? JSON.stringify(evalLengths) : describe(evalLengths)}`);
  }
  // the batch sources check their own options (lib/data), before any model is built
  const stageSpecs = passkeyCurriculumStages({ lengths: stageLengths, checkTrials, seed, keyDigits, labels: loss, repeatedDigitKeys });
  const batches = new CurriculumBatches({ stages: stageSpecs, tokensPerUpdate, review, filler, lengthBins, seed: seed + 3, finalFiller, finalReview });
  const copyBatches = new RepeatedStringBatches({ batchSize: copyBatchSize, seqLen: copySeqLen, seed: seed + 2, alphabet: copyAlphabet, chars: copyChars, distinct: copyDistinct });

  // a training length past the model's context is reached from the start (extending between the
  // phases, after the look-back formed at the original positions, failed: results/passkey-notes.md)
  const longer = seqLen > config.maxPositionEmbeddings;
  const base = LlamaForCausalLM.create(longer && positions === 'none' ? makeConfig(config, { maxPositionEmbeddings: seqLen }) : config, { seed });
  const model = longer && positions === 'linear' ? extendContext(base, seqLen, 'linear') : base;
  const started = performance.now();
  const minutesSince = () => (performance.now() - started) / 60_000;
  const outOfTime = () => maxMinutes !== undefined && minutesSince() >= maxMinutes;
  const elapsed = () => `${minutesSince().toFixed(1)} min`;
  const curve: Array<[number, number]> = [];
  const stages: PasskeyStage[] = [];
  let stoppedBy: PasskeyExperimentResult['stoppedBy'] = 'updates';
  let lastLoss = NaN;
  let trainer: Trainer | null = null;
  let copySteps = 0;
  let done = 0;
  let decaySteps: number | null = null;
  try {
    if (copyUpdates > 0) {
      trainer = phaseTrainer(model, copyBatches, lr);
      let sum = 0;
      while (copySteps < copyUpdates) {
        if (outOfTime()) {
          stoppedBy = 'maxMinutes';
          break;
        }
        const record = await trainer.trainStep();
        copySteps++;
        sum += record.loss;
        onStep?.(record as StepInfo);
        if (copySteps % 50 === 0) {
          log(`repeated strings, update ${copySteps}: mean loss ${(sum / 50).toFixed(4)} (${elapsed()})`);
          sum = 0;
        }
      }
      trainer.dispose();
      trainer = null;
    }
    trainer = phaseTrainer(model, batches, curriculumLr);
    const enter = (i: number) => {
      stages.push({ length: stageSpecs[i].length, taskLine: stageSpecs[i].taskDescription, fromUpdate: done, fromMinutes: minutesSince(), checks: [] });
      log(`curriculum stage ${stageSpecs[i].length} tokens (${stageSpecs[i].taskDescription ? 'official prompts' : 'no task line'}) from update ${done} (${elapsed()})`);
    };
    enter(0);
    while (done < updates && stoppedBy === 'updates') {
      if (outOfTime()) {
        stoppedBy = 'maxMinutes';
        break;
      }
      const record = await trainer.trainStep();
      done += 1;
      lastLoss = record.loss;
      onStep?.(record as StepInfo);
      const stage = stages[stages.length - 1];
      if (!batches.atLastStage && (done - stage.fromUpdate) % checkEvery === 0) {
        const exact = teacherForcedExactMatch(model, stageSpecs[batches.stage].check);
        stage.checks.push([done, exact]);
        log(`update ${done} at ${stage.length} tokens: loss ${record.loss.toFixed(4)}, exact ${(100 * exact).toFixed(0)}% of ${checkTrials} (${elapsed()})`);
        if (exact >= advanceAt) {
          batches.advance();
          enter(batches.stage);
          if (batches.atLastStage && finalDecay && done < updates) {
            decaySteps = Math.max(2, updates - done);
            trainer.dispose();
            trainer = phaseTrainer(model, batches, curriculumLr, decaySteps);
            log(`at the training length: lr ${curriculumLr} decaying linearly to 0 over the ${decaySteps} updates left`);
          }
        }
      } else if (batches.atLastStage && (done - stage.fromUpdate) % evalEvery === 0) {
        const check = passkeyAccuracyAt(model, { promptTokens: seqLen, trials: 20, seed: 1000 + seed, keyDigits });
        curve.push([done, check.accuracy]);
        log(`update ${done} at ${seqLen} tokens: loss ${record.loss.toFixed(4)}, passkey accuracy ${(100 * check.accuracy).toFixed(0)}% (e.g. ${JSON.stringify(check.sample.expected)} -> ${JSON.stringify(check.sample.output)}; ${elapsed()})`);
        if (check.accuracy >= stopAt) stoppedBy = 'stopAt';
      }
    }
    const trainSeconds = (performance.now() - started) / 1000;
    if (stoppedBy === 'maxMinutes') log(`stopped by the wall-clock cap of ${maxMinutes} min after ${copySteps} + ${done} updates`);
    trainer.dispose();
    trainer = null;
    await onTrained?.(model);
    const byLength = passkeyAccuracyTable(model, { lengths: evalLengths, trainingLength: seqLen, trials, seed: 2000 + seed, keyDigits, log });
    return {
      settings: {
        seqLen, positions, copyUpdates, updates, maxMinutes: maxMinutes ?? null, copySeqLen, copyBatchSize, copyAlphabet, copyChars, copyDistinct, stages: stageLengths, tokensPerUpdate, lengthBins, advanceAt,
        checkEvery, checkTrials, review, filler, finalFiller, finalReview, lr, curriculumLr, finalDecay, seed, keyDigits, repeatedDigitKeys, loss, evalEvery, stopAt, trials, evalLengths,
        model: `${config === presets.small ? 'presets.small' : 'custom'} (${tf.getBackend()})`,
      },
      baseContext: config.maxPositionEmbeddings,
      trainedContext: { maxPositionEmbeddings: model.config.maxPositionEmbeddings, ropeScaling: model.config.ropeScaling },
      copySteps,
      steps: done,
      stoppedBy,
      stages,
      decaySteps,
      trainSeconds,
      finalLoss: lastLoss,
      curve,
      byLength,
    };
  } finally {
    trainer?.dispose();
    model.dispose();
    if (model !== base) base.dispose();
  }
}
