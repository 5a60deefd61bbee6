/**
 * The passkey experiment's two phases (repeated strings, then a length curriculum of passkey prompts
 * ending at the training length) on a tiny model: all run for their update counts, the stages
 * advance and are recorded and reported, the same seed gives the same run whatever the wall clock
 * does, the optional wall-clock cap stops a run; bad settings are refused. Whether a model learns
 * the task is measured by `npm run reproduce`, not here; the batch sources and the accuracy table
 * are tested in test/data/curriculum.test.ts and test/eval/passkey-table.test.ts.
 */
import { ready } from '../../lib/backend';
import { presets } from '../../lib/model';
import { runPasskeyExperiment } from '../../lib/experiments';
import type { PasskeyExperimentOptions, PasskeyExperimentResult } from '../../lib/experiments';
import { passkeyMarkdown } from '../../lib/experiments/report';
import { passkeyOfficialMinTokens } from '../../lib/data';

beforeAll(async () => {
  await ready();
});

it('runs the repeated-string phase, then the curriculum stage by stage, and reports both', async () => {
  const lines: string[] = [];
  const tokens: number[] = [];
  const rates: number[] = [];
  const r = await runPasskeyExperiment({
    config: presets.tiny,
    seqLen: 300,
    copyUpdates: 3,
    copyBatchSize: 3,
    copyAlphabet: '0123456789',
    copyChars: [4, 12],
    stages: [128, 192, 300],
    tokensPerUpdate: 256,
    lengthBins: 1, // every prompt padded to its stage's length (the bins: test/data/curriculum.test.ts)
    advanceAt: 0, // a fixed schedule: checkEvery updates per stage
    checkEvery: 2,
    checkTrials: 2,
    review: 0,
    finalFiller: [0.75, 1],
    updates: 7,
    evalEvery: 3,
    evalLengths: [300],
    trials: 1,
    log: (l) => lines.push(l),
    onStep: (info) => {
      tokens.push(info.tokens);
      rates.push(info.lr);
    },
  });
  expect(r.copySteps).toBe(3);
  expect(tokens.slice(0, r.copySteps).every((t) => t === 3 * 40)).toBe(true);
  expect([r.steps, r.stoppedBy]).toEqual([7, 'updates']);
  // two updates of 2 prompts at 128, two of 1 at 192 (256 / 192 rounds to 1), then 1 prompt at 300
  expect(tokens.slice(r.copySteps)).toEqual([256, 256, 192, 192, 300, 300, 300]);
  expect(r.stages.map((s) => [s.length, s.taskLine, s.fromUpdate, s.checks.length])).toEqual([
    [128, false, 0, 1],
    [192, false, 2, 1],
    [300, true, 4, 0],
  ]);
  expect(r.curve.map(([u]) => u)).toEqual([7]);
  // at the training length a fresh trainer decays the rate to 0 over the curriculum updates left
  expect(r.decaySteps).toBe(3);
  const lrs = rates.slice(r.copySteps);
  expect(lrs.slice(2, 4).every((lr) => lr > 0 && lr <= 1e-3)).toBe(true); // 192: the constant phase (warm-up)
  expect(lrs[4]).toBe(0); // its first update: HF warm-up starts at 0
  expect(lrs[5]).toBeGreaterThan(0);
  expect(lrs[5]).toBeLessThan(1e-3);
  expect(lrs[6]).toBeLessThanOrEqual(1e-3); // 2 warm-up steps of the 3, then the decay
  expect(r.settings).toMatchObject({ copyUpdates: 3, updates: 7, maxMinutes: null, copySeqLen: 40, stages: [128, 192, 300], loss: 'retrieval', repeatedDigitKeys: 0, copyDistinct: [10, 10], filler: [0.05, 1], finalFiller: [0.75, 1], finalReview: 0, advanceAt: 0, lr: 3e-3, curriculumLr: 1e-3, seqLen: 300 });
  expect(r.baseContext).toBe(presets.tiny.maxPositionEmbeddings);
  expect(r.trainedContext).toEqual({ maxPositionEmbeddings: 128, ropeScaling: { type: 'linear', factor: 3 } });
  expect(r.byLength.map((b) => b.promptTokens)).toEqual([300]);
  // the wrong answers are listed (at most 5), each one that differs from its key
  const [at300] = r.byLength;
  expect(at300.failures).toHaveLength(Math.min(5, Math.round((1 - at300.accuracy) * at300.trials)));
  for (const f of at300.failures) expect(f.output).not.toBe(f.expected);
  const md = passkeyMarkdown(r);
  expect(md).toMatch(/trained from scratch for 10 updates \([\d.]+ min\) in two phases/);
  expect(md).toContain('loss on the repeat; lr 0.003), then 7 updates of a length curriculum of passkey prompts (lib/data passkeyTrainingExamples, lr 0.001, about 256 tokens per update');
  expect(md).toContain(`${r.copySteps} updates of 3 repeated random strings (lib/data repeatedStringExamples, 4-12 characters of "0123456789" in 40 tokens`);
  expect(md).toContain('then 7 updates of a length curriculum of passkey prompts');
  expect(md).toContain('filler 5-100% of what fits, padded to the stage length, ');
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, positions: 'none' } })).toMatch(/How: custom \(\w+\), its 128-token context raised to 300 \(RoPE unscaled\), trained from scratch/);
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, lengthBins: 4 } })).toContain('filler 5-100% of what fits in 4 bins, one per update, padded to its longest prompt, ');
  expect(md).toMatch(/stages 128 \(no task line\) from update 0 \([\d.]+ min\), 192 \(no task line\) from update 2 \([\d.]+ min\), 300 from update 4 \([\d.]+ min\) \(there a fresh AdamW, lr decaying linearly to 0 over 3 updates\); keys/);
  expect(md).toMatch(/How: custom \(\w+\), extended from its 128-token context to 300 by linear position interpolation before training, trained from scratch/);
  expect(md).toContain("loss on the answer and the key's second mention.");
  expect(md).toContain('a fixed 2 updates per stage');
  expect(md).toContain('0% of updates from an earlier stage (at the training length: filler 75-100%, 0% from an earlier stage); ');
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, finalFiller: [0.05, 1] } })).toContain('0% of updates from an earlier stage; ');
  expect(md).not.toContain('distinct per string');
  expect(md).not.toContain('of the training keys from');
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, repeatedDigitKeys: 0.5 } })).toContain('digits (50% of the training keys from ceil(digits / 2) distinct digits), loss on');
}, 120_000);

it('says when the curriculum did not reach the training length', async () => {
  const r = await runPasskeyExperiment({
    config: presets.tiny, seqLen: 300, positions: 'none', copyUpdates: 0, stages: [128, 300], tokensPerUpdate: 128,
    advanceAt: 1, checkEvery: 1, checkTrials: 1, updates: 2, evalLengths: [300], trials: 1,
  });
  expect(r.copySteps).toBe(0);
  expect(r.trainedContext).toEqual({ maxPositionEmbeddings: 300, ropeScaling: null }); // positions: 'none'
  expect(r.stages.map((s) => s.length)).toEqual([128]);
  expect(r.stages[0].checks.map(([u]) => u)).toEqual([1, 2]);
  expect(passkeyMarkdown(r)).toContain('the training length 300 was not reached in 2 updates');
}, 120_000);

/** A tiny run through every part: repeated strings, two stages on a fixed schedule, the decay, greedy checks and the table. */
const tinyRun: PasskeyExperimentOptions = {
  config: presets.tiny, seqLen: 300, copyUpdates: 4, copyBatchSize: 3, stages: [128, 300], tokensPerUpdate: 256, advanceAt: 0, checkEvery: 2, checkTrials: 2,
  updates: 6, evalEvery: 4, evalLengths: [280, 320], trials: 2, seed: 7,
};

/** Everything a run computes: the losses of every update and the result without its wall times. */
async function seededRun(options: PasskeyExperimentOptions): Promise<{ losses: number[]; result: Omit<PasskeyExperimentResult, 'trainSeconds'> }> {
  const losses: number[] = [];
  const { trainSeconds: _, ...result } = await runPasskeyExperiment({
    ...options,
    onStep: (info) => {
      losses.push(info.loss);
      options.onStep?.(info);
    },
  });
  return { losses, result: { ...result, stages: result.stages.map((st) => ({ ...st, fromMinutes: 0 })) } };
}

it('is the same run for the same seed, however long its updates take', async () => {
  const a = await seededRun(tinyRun);
  // the second run's updates take 50 ms longer each, under a wall-clock cap it does not reach
  const b = await seededRun({
    ...tinyRun,
    maxMinutes: 60,
    onStep: () => {
      const until = performance.now() + 50;
      while (performance.now() < until);
    },
  });
  expect(a.losses).toHaveLength(4 + 6);
  expect(a.result.stages.map((st) => st.checks.length)).toEqual([1, 0]);
  expect(a.result.curve.map(([u]) => u)).toEqual([6]);
  expect(b.losses).toEqual(a.losses);
  expect(b.result.byLength).toEqual(a.result.byLength);
  expect({ ...b.result, settings: { ...b.result.settings, maxMinutes: null } }).toEqual(a.result);
  // another seed, another run
  const c = await seededRun({ ...tinyRun, seed: 8, copyUpdates: 2, updates: 1, evalLengths: [320], trials: 1 });
  expect(c.losses).not.toEqual(a.losses.slice(0, 3));
}, 120_000);

it('stops at the optional wall-clock cap and says so', async () => {
  const r = await runPasskeyExperiment({ ...tinyRun, copyUpdates: 1000, maxMinutes: 0.002, evalLengths: [300], trials: 1 });
  expect(r.stoppedBy).toBe('maxMinutes');
  expect(r.copySteps).toBeGreaterThan(0);
  expect(r.copySteps).toBeLessThan(1000);
  expect(r.steps).toBe(0);
  expect(r.settings.maxMinutes).toBe(0.002);
  const md = passkeyMarkdown(r);
  expect(md).toMatch(/trained from scratch for \d+ updates \([\d.]+ min, stopped by the 0.002-minute cap\)/);
  expect(md).toContain('the training length 300 was not reached before the 0.002-minute cap');
}, 120_000);

it('refuses bad update counts, caps, stages and lengths before it trains', async () => {
  const n = passkeyOfficialMinTokens(5);
  await expect(runPasskeyExperiment({ copyUpdates: -1 })).rejects.toThrow('runPasskeyExperiment: copyUpdates must be a non-negative integer, got -1');
  await expect(runPasskeyExperiment({ updates: 0 })).rejects.toThrow('runPasskeyExperiment: updates must be a positive integer, got 0');
  await expect(runPasskeyExperiment({ updates: 2.5 })).rejects.toThrow('runPasskeyExperiment: updates must be a positive integer, got 2.5');
  await expect(runPasskeyExperiment({ maxMinutes: 0 })).rejects.toThrow('runPasskeyExperiment: maxMinutes = 0 must be a positive number of minutes, or left out for no wall-clock cap (the update counts bound the run)');
  await expect(runPasskeyExperiment({ minutes: 30 } as never)).rejects.toThrow(/runPasskeyExperiment: unknown option 'minutes'/);
  await expect(runPasskeyExperiment({ copyMinute: 10 } as never)).rejects.toThrow(/unknown option 'copyMinute'/);
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [128, 384] })).rejects.toThrow('runPasskeyExperiment: stages must be ascending prompt lengths ending at seqLen = 512, got [128,384]');
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [256, 128, 512] })).rejects.toThrow(/passkeyCurriculumStages: lengths must be ascending integer prompt lengths >= 107 .*, got \[256,128,512\]/);
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [64, 512] })).rejects.toThrow(/>= 107/);
  await expect(runPasskeyExperiment({ advanceAt: 1.5 })).rejects.toThrow(/advanceAt = 1.5 must be in \[0, 1\]/);
  await expect(runPasskeyExperiment({ stopAt: -1 })).rejects.toThrow(/stopAt = -1 must be an accuracy >= 0/);
  await expect(runPasskeyExperiment({ curriculumLr: 0 })).rejects.toThrow('runPasskeyExperiment: curriculumLr = 0 must be a positive learning rate');
  await expect(runPasskeyExperiment({ checkEvery: 0 })).rejects.toThrow('runPasskeyExperiment: checkEvery must be a positive integer, got 0');
  await expect(runPasskeyExperiment({ filler: [0, 1] })).rejects.toThrow(/CurriculumBatches: filler must be a range \[min, max\] with 0 < min <= max <= 1/);
  await expect(runPasskeyExperiment({ review: 1 })).rejects.toThrow(/review = 1 must be in \[0, 1\)/);
  await expect(runPasskeyExperiment({ finalReview: -0.5 })).rejects.toThrow(/finalReview = -0.5 must be in \[0, 1\)/);
  await expect(runPasskeyExperiment({ lengthBins: 0 })).rejects.toThrow("lengthBins must be a positive integer (1 pads every prompt to its stage's length), got 0");
  await expect(runPasskeyExperiment({ repeatedDigitKeys: -0.1 })).rejects.toThrow(/repeatedDigitKeys must be a share in \[0, 1\]/);
  await expect(runPasskeyExperiment({ copyChars: [4, 30] })).rejects.toThrow(/repeatedStringExamples: seqLen 40 cannot hold a 30-character string twice/);
  await expect(runPasskeyExperiment({ positions: 'ntk' as 'none' })).rejects.toThrow(`runPasskeyExperiment: positions must be 'linear' (position interpolation) or 'none' (context raised, RoPE unscaled), got "ntk"`);
  await expect(runPasskeyExperiment({ seqLen: 256, evalLengths: [192, 256] })).rejects.toThrow(`runPasskeyExperiment: evalLengths must be integer prompt lengths >= ${n} (the official prompt with 1 filler character), got [192,256]`);
  await expect(runPasskeyExperiment({ seqLen: 200, stages: [128, 200] })).rejects.toThrow(`runPasskeyExperiment: seqLen = 200 is too short for the official passkey prompt the model is evaluated on; use seqLen >= ${n}`);
});
