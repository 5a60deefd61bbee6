/**
 * The passkey experiment's two phases (repeated strings, then a length curriculum of passkey prompts
 * ending at the training length) on a tiny model: all run, the stages advance and are recorded and
 * reported; bad settings are refused. Whether a model learns the task is measured by
 * `npm run reproduce`, not here.
 */
import { ready } from '../../lib/backend';
import { presets } from '../../lib/model';
import { runPasskeyExperiment, passkeyCurriculum, passkeyEvalLengths, officialPromptMinTokens } from '../../lib/experiments';
import { passkeyMarkdown } from '../../lib/experiments/report';
import { passkeyTrainingExamples, passkeyExampleMinTokens, PAD } from '../../lib/data';
import { IGNORE_INDEX } from '../../lib/util';
import { CurriculumBatches } from '../../lib/experiments/passkey';

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
    minutes: 0.5,
    copyMinutes: 0.02,
    copyBatchSize: 3,
    copyAlphabet: '0123456789',
    copyChars: [4, 12],
    stages: [128, 192, 300],
    tokensPerUpdate: 256,
    lengthBins: 1, // every prompt padded to its stage's length (the bins are tested below)
    advanceAt: 0, // a fixed schedule: checkEvery updates per stage
    checkEvery: 2,
    checkTrials: 2,
    review: 0,
    finalFiller: [0.75, 1],
    steps: 7,
    evalEvery: 3,
    evalLengths: [300],
    trials: 1,
    log: (l) => lines.push(l),
    onStep: (info) => {
      tokens.push(info.tokens);
      rates.push(info.lr);
    },
  });
  expect(r.copySteps).toBeGreaterThan(0);
  expect(tokens.slice(0, r.copySteps).every((t) => t === 3 * 40)).toBe(true);
  expect(r.steps).toBe(7);
  // two updates of 2 prompts at 128, two of 1 at 192 (256 / 192 rounds to 1), then 1 prompt at 300
  expect(tokens.slice(r.copySteps)).toEqual([256, 256, 192, 192, 300, 300, 300]);
  expect(r.stages.map((s) => [s.length, s.taskLine, s.fromUpdate, s.checks.length])).toEqual([
    [128, false, 0, 1],
    [192, false, 2, 1],
    [300, true, 4, 0],
  ]);
  expect(r.curve.map(([u]) => u)).toEqual([7]);
  // at the training length a fresh trainer decays the rate to 0 over the updates the time left allows
  expect(r.decaySteps).toBeGreaterThan(3);
  const lrs = rates.slice(r.copySteps);
  expect(lrs.slice(2, 4).every((lr) => lr > 0 && lr <= 1e-3)).toBe(true); // 192: the constant phase (warm-up)
  expect(lrs[4]).toBe(0); // its first update: HF warm-up starts at 0
  expect(lrs[5]).toBeGreaterThan(0);
  expect(lrs[5]).toBeLessThan(1e-3);
  expect(r.settings).toMatchObject({ copyMinutes: 0.02, copySeqLen: 40, stages: [128, 192, 300], loss: 'retrieval', repeatedDigitKeys: 0, copyDistinct: [10, 10], filler: [0.05, 1], finalFiller: [0.75, 1], finalReview: 0, advanceAt: 0, lr: 3e-3, curriculumLr: 1e-3, seqLen: 300 });
  expect(r.baseContext).toBe(presets.tiny.maxPositionEmbeddings);
  expect(r.trainedContext).toEqual({ maxPositionEmbeddings: 128, ropeScaling: { type: 'linear', factor: 3 } });
  expect(r.byLength.map((b) => b.promptTokens)).toEqual([300]);
  // the wrong answers are listed (at most 5), each one that differs from its key
  const [at300] = r.byLength;
  expect(at300.failures).toHaveLength(Math.min(5, Math.round((1 - at300.accuracy) * at300.trials)));
  for (const f of at300.failures) expect(f.output).not.toBe(f.expected);
  const md = passkeyMarkdown(r);
  expect(md).toContain('loss on the repeat; lr 0.003; 0.02 min), then 7 updates of a length curriculum of passkey prompts (lib/data passkeyTrainingExamples, lr 0.001, about 256 tokens per update');
  expect(md).toContain(`${r.copySteps} updates of 3 repeated random strings (lib/data repeatedStringExamples, 4-12 characters of "0123456789" in 40 tokens`);
  expect(md).toContain('then 7 updates of a length curriculum of passkey prompts');
  expect(md).toContain('filler 5-100% of what fits, padded to the stage length, ');
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, positions: 'none' } })).toMatch(/How: custom \(\w+\), its 128-token context raised to 300 \(RoPE unscaled\), trained from scratch/);
  expect(passkeyMarkdown({ ...r, settings: { ...r.settings, lengthBins: 4 } })).toContain('filler 5-100% of what fits in 4 bins, one per update, padded to its longest prompt, ');
  expect(md).toMatch(/stages 128 \(no task line\) from update 0 \([\d.]+ min\), 192 \(no task line\) from update 2 \([\d.]+ min\), 300 from update 4 \([\d.]+ min\) \(there a fresh AdamW, lr decaying linearly to 0 over \d+ updates\); keys/);
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
    config: presets.tiny, seqLen: 300, positions: 'none', minutes: 0.5, copyMinutes: 0, stages: [128, 300], tokensPerUpdate: 128,
    advanceAt: 1, checkEvery: 1, checkTrials: 1, steps: 2, evalLengths: [300], trials: 1,
  });
  expect(r.copySteps).toBe(0);
  expect(r.trainedContext).toEqual({ maxPositionEmbeddings: 300, ropeScaling: null }); // positions: 'none'
  expect(r.stages.map((s) => s.length)).toEqual([128]);
  expect(r.stages[0].checks.map(([u]) => u)).toEqual([1, 2]);
  expect(passkeyMarkdown(r)).toContain('the training length 300 was not reached in the time');
}, 120_000);

it('length bins pad each update only to its longest prompt, keep every label, and fit tokensPerUpdate', () => {
  const length = 512;
  const fixedTokens = passkeyExampleMinTokens(5) - 1;
  const make = (start: number, count: number, filler: [number, number]) => passkeyTrainingExamples({ seqLen: length, count, start, seed: 3, filler, labels: 'retrieval' });
  const stages = [{ length, fixedTokens, make }];
  const padded = new CurriculumBatches(stages, 2048, 0, [0.05, 1], 1, 9);
  const binned = new CurriculumBatches(stages, 2048, 0, [0.05, 1], 4, 9);
  const padShare = (b: { inputIds: Int32Array }) => b.inputIds.filter((t) => t === PAD).length / b.inputIds.length;
  let paddedShare = 0;
  let binnedShare = 0;
  let prompts = 0;
  const lengths = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const p = padded.next();
    expect([p.batchSize, p.seqLen]).toEqual([4, length]);
    paddedShare += padShare(p) / 40;
    const b = binned.next();
    binnedShare += padShare(b) / 40;
    prompts += b.batchSize;
    lengths.add(b.seqLen);
    expect(b.seqLen).toBeLessThanOrEqual(length);
    // the batch is as long as its longest prompt: some row ends in a real token
    const lastColumn = Array.from({ length: b.batchSize }, (_, r) => b.inputIds[r * b.seqLen + b.seqLen - 1]);
    expect(lastColumn.some((t) => t !== PAD)).toBe(true);
    // about tokensPerUpdate tokens: round(2048 / the bin's longest length) prompts
    expect(b.batchSize * b.seqLen).toBeLessThanOrEqual(2048 + b.seqLen / 2);
    expect(b.batchSize * b.seqLen).toBeGreaterThan(2048 * 0.75);
    // every prompt keeps its labels: the answer and the key's second mention, 2 x digits + 2 (" " and EOS)
    for (let r = 0; r < b.batchSize; r++) {
      const row = b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen);
      const labelled = b.labels!.subarray(r * b.seqLen, (r + 1) * b.seqLen).filter((l) => l !== IGNORE_INDEX).length;
      const text = String.fromCharCode(...Array.from(row).filter((t) => t < 256));
      const key = /The pass key is (\d+)\./.exec(text)![1];
      expect(labelled).toBe(2 * key.length + 2);
    }
  }
  expect(lengths.size).toBeGreaterThan(3);
  expect(prompts).toBeGreaterThan(1.2 * 40 * 4); // more prompts for the same compute
  expect(paddedShare).toBeGreaterThan(0.15);
  expect(binnedShare).toBeLessThan(paddedShare / 3);
  // the stream resumes where it stood
  const state = binned.state();
  const a = binned.next();
  binned.restore(state);
  expect(binned.next()).toEqual(a);
});

it('at the last stage, draws its prompts from finalFiller and reviews earlier stages at finalReview', () => {
  const fixedTokens = passkeyExampleMinTokens(5) - 1;
  const stage = (length: number) => ({
    length,
    fixedTokens,
    make: (start: number, count: number, filler: [number, number]) => passkeyTrainingExamples({ seqLen: length, count, start, seed: 4, filler, labels: 'retrieval' }),
  });
  const batches = new CurriculumBatches([stage(384), stage(512)], 2048, 0.5, [0.05, 1], 4, 11, { filler: [0.75, 1], review: 0.2 });
  const promptLengths = (b: { batchSize: number; seqLen: number; inputIds: Int32Array }) =>
    Array.from({ length: b.batchSize }, (_, r) => b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen).filter((t) => t !== PAD).length);
  // before the last stage: the curriculum's own range, short prompts included
  const first = Array.from({ length: 20 }, () => promptLengths(batches.next())).flat();
  expect(Math.min(...first)).toBeLessThan(fixedTokens + 0.3 * (384 - fixedTokens));
  batches.stage = 1;
  let reviews = 0;
  const updates = 200;
  for (let i = 0; i < updates; i++) {
    const lengths = promptLengths(batches.next());
    if (Math.max(...lengths) <= 384) {
      reviews++;
      continue;
    }
    // filled to 75-100% of what fits at 512 tokens (a 3-digit key is 2 x 2 tokens shorter than the longest)
    for (const n of lengths) expect(n).toBeGreaterThanOrEqual(Math.floor(fixedTokens - 4 + 0.75 * (512 - fixedTokens)));
  }
  // review share 0.2 of 200 updates: 40 expected, sd 5.7 (a 512 prompt at under 384 tokens is outside finalFiller)
  expect(reviews).toBeGreaterThan(20);
  expect(reviews).toBeLessThan(60);
});

it('builds the default curriculum and knows where the task line fits', () => {
  expect(passkeyCurriculum(512)).toEqual([128, 192, 256, 320, 384, 448, 512]);
  expect(passkeyCurriculum(300)).toEqual([128, 192, 256, 300]);
  const n = officialPromptMinTokens(5);
  // the final table's lengths hold the official prompt: at 256 tokens 128 and 192 are left out
  expect(passkeyEvalLengths(512)).toEqual([256, 384, 512, 768, 1024]);
  expect(passkeyEvalLengths(256)).toEqual([256, 384, 512]);
  expect(passkeyEvalLengths(n)).toEqual([n, Math.round(1.5 * n), 2 * n]);
  expect(() => passkeyTrainingExamples({ seqLen: n, count: 1, keyDigits: 5 })).not.toThrow();
  expect(() => passkeyTrainingExamples({ seqLen: n - 1, count: 1, keyDigits: 5 })).toThrow(/too small/);
});

it('refuses bad phase lengths and stages', async () => {
  await expect(runPasskeyExperiment({ minutes: 5, copyMinutes: 5 })).rejects.toThrow('runPasskeyExperiment: copyMinutes = 5 must be >= 0 and leave time for the curriculum in minutes = 5');
  await expect(runPasskeyExperiment({ minutes: 5, copyMinutes: -1 })).rejects.toThrow(/copyMinutes = -1/);
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [256, 128, 512] })).rejects.toThrow(/stages must be ascending integer prompt lengths >= 107 .* ending at seqLen = 512, got \[256,128,512\]/);
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [128, 384] })).rejects.toThrow(/ending at seqLen = 512/);
  await expect(runPasskeyExperiment({ seqLen: 512, stages: [64, 512] })).rejects.toThrow(/>= 107/);
  await expect(runPasskeyExperiment({ advanceAt: 1.5 })).rejects.toThrow(/advanceAt = 1.5 must be in \[0, 1\]/);
  await expect(runPasskeyExperiment({ filler: [0, 1] })).rejects.toThrow(/filler must be a range \[min, max\] with 0 < min <= max <= 1/);
  await expect(runPasskeyExperiment({ repeatedDigitKeys: -0.1 })).rejects.toThrow('repeatedDigitKeys must be a share in [0, 1] of training keys that repeat digits, got -0.1');
  await expect(runPasskeyExperiment({ filler: [0.8, 0.5] })).rejects.toThrow(/got \[0.8,0.5\]/);
  await expect(runPasskeyExperiment({ review: 1 })).rejects.toThrow(/review = 1 in \[0, 1\)/);
  await expect(runPasskeyExperiment({ finalFiller: [0.9, 0.5] })).rejects.toThrow('runPasskeyExperiment: finalFiller must be a range [min, max] with 0 < min <= max <= 1 (fractions of the filler that fits), got [0.9,0.5]');
  await expect(runPasskeyExperiment({ finalReview: -0.5 })).rejects.toThrow('runPasskeyExperiment: finalReview = -0.5 must be in [0, 1) (the share of updates from an earlier stage once at the training length)');
  await expect(runPasskeyExperiment({ positions: 'ntk' as 'none' })).rejects.toThrow(`runPasskeyExperiment: positions must be 'linear' (position interpolation) or 'none' (context raised, RoPE unscaled), got "ntk"`);
  await expect(runPasskeyExperiment({ seqLen: 256, evalLengths: [192, 256] })).rejects.toThrow(`runPasskeyExperiment: evalLengths must be integer prompt lengths >= ${officialPromptMinTokens(5)} (the official prompt with 1 filler character), got [192,256]`);
  await expect(runPasskeyExperiment({ seqLen: 200, stages: [128, 200] })).rejects.toThrow(`runPasskeyExperiment: seqLen = 200 is too short for the official passkey prompt the model is evaluated on; use seqLen >= ${officialPromptMinTokens(5)}`);
  await expect(runPasskeyExperiment({ lengthBins: 0 })).rejects.toThrow('runPasskeyExperiment: lengthBins must be a positive integer (1 pads every prompt to its stage\'s length), got 0');
});
