/**
 * The passkey experiment's two phases (short episodes, then official prompts at the training
 * length) on a tiny model: both run, are counted and reported; bad phase lengths are refused.
 * Whether a model learns the task is measured by `npm run reproduce`, not here.
 */
import { ready } from '../../lib/backend';
import { presets } from '../../lib/model';
import { runPasskeyExperiment } from '../../lib/experiments';
import { passkeyMarkdown } from '../../lib/experiments/report';

beforeAll(async () => {
  await ready();
});

it('runs the short-episode phase, then the full-length phase, and reports both', async () => {
  const lines: string[] = [];
  const r = await runPasskeyExperiment({
    config: presets.tiny,
    seqLen: 300,
    minutes: 0.5,
    warmupMinutes: 0.02,
    warmupBatchSize: 2,
    batchSize: 1,
    steps: 3,
    evalEvery: 3,
    evalLengths: [300],
    trials: 1,
    log: (l) => lines.push(l),
  });
  expect(r.warmupSteps).toBeGreaterThan(0);
  expect(r.steps).toBeGreaterThan(0);
  expect(r.steps).toBeLessThanOrEqual(3);
  expect(r.settings).toMatchObject({ warmupMinutes: 0.02, warmupSeqLen: 128, loss: 'retrieval', seqLen: 300 });
  expect(r.byLength.map((b) => b.promptTokens)).toEqual([300]);
  const md = passkeyMarkdown(r);
  expect(md).toContain(`${r.warmupSteps} updates of 2 short episodes (128 tokens, no task line`);
  expect(md).toContain(`then ${r.steps} updates of 1 official prompts at 300 tokens`);
  expect(md).toContain("loss on the answer and the key's second mention");
}, 120_000);

it('refuses a warm-up longer than the whole run', async () => {
  await expect(runPasskeyExperiment({ minutes: 5, warmupMinutes: 6 })).rejects.toThrow('runPasskeyExperiment: warmupMinutes = 6 must be in [0, minutes = 5]');
});
