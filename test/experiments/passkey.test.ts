/**
 * The passkey experiment's three phases (repeated strings, short episodes, then official prompts at
 * the training length) on a tiny model: all run, are counted and reported; bad phase lengths are refused.
 * Whether a model learns the task is measured by `npm run reproduce`, not here.
 */
import { ready } from '../../lib/backend';
import { presets } from '../../lib/model';
import { runPasskeyExperiment } from '../../lib/experiments';
import { passkeyMarkdown } from '../../lib/experiments/report';

beforeAll(async () => {
  await ready();
});

it('runs the repeated-string phase, the short-episode phase, then the full-length phase, and reports all three', async () => {
  const lines: string[] = [];
  const r = await runPasskeyExperiment({
    config: presets.tiny,
    seqLen: 300,
    minutes: 0.5,
    copyMinutes: 0.02,
    copyBatchSize: 3,
    warmupMinutes: 0.02,
    warmupBatchSize: 2,
    batchSize: 1,
    steps: 3,
    evalEvery: 3,
    evalLengths: [300],
    trials: 1,
    log: (l) => lines.push(l),
  });
  expect(r.copySteps).toBeGreaterThan(0);
  expect(r.warmupSteps).toBeGreaterThan(0);
  expect(r.steps).toBeGreaterThan(0);
  expect(r.steps).toBeLessThanOrEqual(3);
  expect(r.settings).toMatchObject({ copyMinutes: 0.02, copySeqLen: 40, warmupMinutes: 0.02, warmupSeqLen: 128, loss: 'answer', lr: 3e-3, seqLen: 300 });
  expect(r.baseContext).toBe(presets.tiny.maxPositionEmbeddings);
  expect(r.byLength.map((b) => b.promptTokens)).toEqual([300]);
  const md = passkeyMarkdown(r);
  expect(md).toContain(`${r.copySteps} updates of 3 repeated random strings (lib/data repeatedStringExamples, 4-16 characters in 40 tokens`);
  expect(md).toContain(`${r.warmupSteps} updates of 2 short episodes (lib/data passkeyTrainingExamples, 128 tokens, no task line`);
  expect(md).toContain(`then ${r.steps} updates of 1 official prompts at 300 tokens (filler 5-100% of what fits)`);
  expect(md).toMatch(/How: custom \(\w+\), extended from its 128-token context to 300 by linear position interpolation before training, trained from scratch/);
  expect(md).toContain('loss on the answer in the passkey phases');
}, 120_000);

it('refuses first phases longer than the whole run', async () => {
  await expect(runPasskeyExperiment({ minutes: 5, warmupMinutes: 6 })).rejects.toThrow('runPasskeyExperiment: copyMinutes = 5 and warmupMinutes = 6 must be >= 0 and leave time in minutes = 5');
  await expect(runPasskeyExperiment({ minutes: 5, copyMinutes: -1, warmupMinutes: 1 })).rejects.toThrow(/copyMinutes = -1/);
});
