/**
 * The passkey training's batch sources: repeated-string batches are the generator's examples in
 * order; the curriculum's stages hold exactly their length with labels on the answer (and the key's
 * second mention); length bins pad each update only to its longest prompt; the last stage draws
 * from its own filler and review share; every stream is the same for its seed and resumes where it
 * stood; bad options are refused with the fix.
 */
import {
  CurriculumBatches,
  RepeatedStringBatches,
  passkeyCurriculumStages,
  passkeyExampleMinTokens,
  passkeyTrainingExamples,
  repeatedStringExamples,
  collateExamples,
  passkeyCompletion,
  EOS,
  PAD,
} from '../../lib/data';
import type { CurriculumStageSource, LabeledBatch } from '../../lib/data';
import { IGNORE_INDEX } from '../../lib/util';

const rowOf = (b: LabeledBatch, r: number) => ({ ids: b.inputIds.subarray(r * b.seqLen, (r + 1) * b.seqLen), labels: b.labels.subarray(r * b.seqLen, (r + 1) * b.seqLen) });
const textOf = (ids: ArrayLike<number>) => String.fromCharCode(...Array.from(ids).filter((t) => t < 256));

describe('RepeatedStringBatches', () => {
  it('gives example i of the generator as example i of the stream, batchSize x seqLen, and resumes', () => {
    const batches = new RepeatedStringBatches({ batchSize: 3, seqLen: 40, seed: 2, alphabet: '0123456789', chars: [4, 12] });
    const first = batches.next();
    expect([first.batchSize, first.seqLen]).toEqual([3, 40]);
    const second = batches.next();
    expect(second).toEqual(collateExamples(repeatedStringExamples({ seqLen: 40, count: 3, start: 3, seed: 2, alphabet: '0123456789', chars: [4, 12] }), { padTo: 40 }));
    expect(batches.state()).toBe(6);
    const again = new RepeatedStringBatches({ batchSize: 3, seqLen: 40, seed: 2, alphabet: '0123456789', chars: [4, 12] });
    expect(again.next()).toEqual(first);
    again.restore(batches.state());
    expect(again.next()).toEqual(batches.next());
    const other = new RepeatedStringBatches({ batchSize: 3, seqLen: 40, seed: 3, alphabet: '0123456789', chars: [4, 12] });
    expect(other.next().inputIds).not.toEqual(first.inputIds);
  });

  it('refuses bad options with the generator\'s reason', () => {
    expect(() => new RepeatedStringBatches({ batchSize: 0, seqLen: 40 })).toThrow('RepeatedStringBatches: batchSize must be a positive integer, got 0');
    expect(() => new RepeatedStringBatches({ batchSize: 2, seqLen: 20, chars: [4, 12] })).toThrow(/repeatedStringExamples: seqLen 20 cannot hold a 12-character string twice/);
    expect(() => new RepeatedStringBatches({ batchSize: 2, seqLen: 40, count: 3 } as never)).toThrow(/RepeatedStringBatches: unknown option 'count'/);
    const batches = new RepeatedStringBatches({ batchSize: 2, seqLen: 40 });
    expect(() => batches.restore(-1)).toThrow('RepeatedStringBatches.restore: state must be a non-negative integer, got -1');
  });
});

describe('passkeyCurriculumStages', () => {
  it('keeps the task line where it fits, sizes every example to its stage, labels the answer and the key\'s second mention', () => {
    const stages = passkeyCurriculumStages({ lengths: [128, 256, 300], checkTrials: 3, seed: 5, labels: 'retrieval' });
    expect(stages.map((s) => [s.length, s.taskDescription])).toEqual([[128, false], [256, true], [300, true]]);
    expect(stages.map((s) => s.fixedTokens)).toEqual([passkeyExampleMinTokens(5, { taskDescription: false }) - 1, passkeyExampleMinTokens(5) - 1, passkeyExampleMinTokens(5) - 1]);
    for (const stage of stages) {
      const examples = stage.make(10, 4, [0.05, 1]);
      expect(examples).toEqual(passkeyTrainingExamples({ seqLen: stage.length, count: 4, start: 10, seed: 5, filler: [0.05, 1], taskDescription: stage.taskDescription, labels: 'retrieval' }));
      for (const e of examples) {
        expect(e.inputIds.length).toBe(stage.length);
        const key = /The pass key is (\d+)\./.exec(textOf(e.inputIds))![1];
        const labelled = Array.from(e.labels.keys()).filter((i) => e.labels[i] !== IGNORE_INDEX);
        expect(labelled).toHaveLength(2 * key.length + 2); // the second mention, then " " key EOS
        expect(textOf(labelled.slice(0, key.length).map((i) => e.inputIds[i]))).toBe(key);
        expect(textOf(labelled.slice(key.length, -1).map((i) => e.inputIds[i]))).toBe(passkeyCompletion(key));
        expect(e.inputIds[labelled[labelled.length - 1]]).toBe(EOS);
      }
      // the checks: checkTrials prompts filled to the stage's length, labelled on the answer only
      expect(stage.check).toHaveLength(3);
      expect(stage.check).toEqual(passkeyTrainingExamples({ seqLen: stage.length, count: 3, seed: 5 + 1000 + stage.length, filler: 1, taskDescription: stage.taskDescription }));
      for (const e of stage.check) expect(e.inputIds.filter((t) => t === PAD).length).toBeLessThanOrEqual(2 * 2); // only what a shorter key leaves
    }
  });

  it('refuses stage lengths that are not ascending or too short for a short episode', () => {
    const shortest = passkeyExampleMinTokens(5, { taskDescription: false });
    expect(() => passkeyCurriculumStages({ lengths: [256, 128, 512], checkTrials: 1 })).toThrow(
      `passkeyCurriculumStages: lengths must be ascending integer prompt lengths >= ${shortest} (a short episode with a 5-digit key), got [256,128,512]`,
    );
    expect(() => passkeyCurriculumStages({ lengths: [64, 512], checkTrials: 1 })).toThrow(/>= 107/);
    expect(() => passkeyCurriculumStages({ lengths: [128], checkTrials: 0 })).toThrow('passkeyCurriculumStages: checkTrials must be a positive integer, got 0');
    expect(() => passkeyCurriculumStages({ lengths: [128], checkTrials: 1, keyDigits: [0, 5] })).toThrow(/keyDigits must be integers with 1 <= min <= max <= 15/);
    expect(() => passkeyCurriculumStages({ lengths: [128], checkTrials: 1, repeatedDigitKeys: -0.1 })).toThrow(/repeatedDigitKeys must be a share in \[0, 1\]/);
    expect(() => passkeyCurriculumStages({ lengths: [128], checkTrials: 1, loss: 'answer' } as never)).toThrow(/unknown option 'loss'/);
  });
});

describe('CurriculumBatches', () => {
  const fixedTokens = passkeyExampleMinTokens(5) - 1;
  const stage = (length: number, seed = 3): CurriculumStageSource => ({
    length,
    fixedTokens,
    make: (start, count, filler) => passkeyTrainingExamples({ seqLen: length, count, start, seed, filler, labels: 'retrieval' }),
  });
  const options = { tokensPerUpdate: 2048, review: 0, filler: [0.05, 1] as [number, number], lengthBins: 4, seed: 9 };

  it('length bins pad each update only to its longest prompt, keep every label, and fit tokensPerUpdate', () => {
    const length = 512;
    const padded = new CurriculumBatches({ ...options, stages: [stage(length)], lengthBins: 1 });
    const binned = new CurriculumBatches({ ...options, stages: [stage(length)] });
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
      expect(Array.from({ length: b.batchSize }, (_, r) => rowOf(b, r).ids[b.seqLen - 1]).some((t) => t !== PAD)).toBe(true);
      // about tokensPerUpdate tokens: round(2048 / the bin's longest length) prompts
      expect(b.batchSize * b.seqLen).toBeLessThanOrEqual(2048 + b.seqLen / 2);
      expect(b.batchSize * b.seqLen).toBeGreaterThan(2048 * 0.75);
      // every prompt keeps its labels: the answer and the key's second mention, 2 x digits + 2 (" " and EOS)
      for (let r = 0; r < b.batchSize; r++) {
        const { ids, labels } = rowOf(b, r);
        const key = /The pass key is (\d+)\./.exec(textOf(ids))![1];
        expect(labels.filter((l) => l !== IGNORE_INDEX).length).toBe(2 * key.length + 2);
      }
    }
    expect(lengths.size).toBeGreaterThan(3);
    expect(prompts).toBeGreaterThan(1.2 * 40 * 4); // more prompts for the same compute
    expect(paddedShare).toBeGreaterThan(0.15);
    expect(binnedShare).toBeLessThan(paddedShare / 3);
  });

  it('at the last stage, draws its prompts from finalFiller and reviews earlier stages at finalReview', () => {
    const batches = new CurriculumBatches({ ...options, stages: [stage(384, 4), stage(512, 4)], review: 0.5, seed: 11, finalFiller: [0.75, 1], finalReview: 0.2 });
    const promptLengths = (b: LabeledBatch) => Array.from({ length: b.batchSize }, (_, r) => rowOf(b, r).ids.filter((t) => t !== PAD).length);
    // before the last stage: the curriculum's own range, short prompts included
    const first = Array.from({ length: 20 }, () => promptLengths(batches.next())).flat();
    expect(Math.min(...first)).toBeLessThan(fixedTokens + 0.3 * (384 - fixedTokens));
    expect(batches.atLastStage).toBe(false);
    batches.advance();
    expect([batches.stage, batches.atLastStage]).toEqual([1, true]);
    let reviews = 0;
    for (let i = 0; i < 200; i++) {
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
    expect(() => batches.advance()).toThrow('CurriculumBatches.advance: already at the last stage (512 tokens); check atLastStage before advancing');
  });

  it('is the same stream for the same seed, another for another, and resumes where it stood', () => {
    const make = (seed: number) => new CurriculumBatches({ ...options, stages: [stage(384), stage(512)], review: 0.5, seed });
    const a = make(1);
    const b = make(1);
    const c = make(2);
    const take = (s: CurriculumBatches, n: number) => Array.from({ length: n }, () => s.next());
    expect(take(a, 5)).toEqual(take(b, 5));
    a.advance();
    b.advance();
    expect(take(a, 5)).toEqual(take(b, 5));
    expect(take(c, 5).map((x) => x.seqLen)).not.toEqual(take(make(1), 5).map((x) => x.seqLen)); // other bins
    const state = JSON.parse(JSON.stringify(a.state())); // as a checkpoint stores it
    const next = take(a, 3);
    const resumed = make(1);
    resumed.restore(state);
    expect(resumed.stage).toBe(1);
    expect(take(resumed, 3)).toEqual(next);
    expect(() => resumed.restore({ ...state, stage: 2 })).toThrow('CurriculumBatches.restore: state.stage = 2 but there are 2 stages; restore a state of a curriculum with the same stages');
  });

  it('refuses bad options with the value, the constraint and the fix', () => {
    const stages = [stage(256)];
    expect(() => new CurriculumBatches({ ...options, stages, review: 1 })).toThrow('CurriculumBatches: review = 1 must be in [0, 1) (the share of updates from an earlier stage)');
    expect(() => new CurriculumBatches({ ...options, stages, filler: [0, 1] })).toThrow('CurriculumBatches: filler must be a range [min, max] with 0 < min <= max <= 1 (fractions of the filler that fits), got [0,1]');
    expect(() => new CurriculumBatches({ ...options, stages, finalFiller: [0.9, 0.5] })).toThrow('CurriculumBatches: finalFiller must be a range [min, max] with 0 < min <= max <= 1 (fractions of the filler that fits), got [0.9,0.5]');
    expect(() => new CurriculumBatches({ ...options, stages, finalReview: -0.5 })).toThrow('CurriculumBatches: finalReview = -0.5 must be in [0, 1) (the share of updates from an earlier stage once at the training length)');
    expect(() => new CurriculumBatches({ ...options, stages, lengthBins: 0 })).toThrow("CurriculumBatches: lengthBins must be a positive integer (1 pads every prompt to its stage's length), got 0");
    expect(() => new CurriculumBatches({ ...options, stages, tokensPerUpdate: 1.5 })).toThrow('CurriculumBatches: tokensPerUpdate must be a positive integer, got 1.5');
    expect(() => new CurriculumBatches({ ...options, stages: [] })).toThrow(/CurriculumBatches: stages must be a non-empty array of \{ length, fixedTokens, make \}/);
    expect(() => new CurriculumBatches({ ...options, stages: [stage(384), stage(256)] })).toThrow('CurriculumBatches: stage lengths must ascend, got 384, 256');
    expect(() => new CurriculumBatches({ ...options, stages, seeds: 1 } as never)).toThrow(/CurriculumBatches: unknown option 'seeds' \(did you mean 'seed'\?\)/);
  });
});
