import { createHash } from 'crypto';
import { EOS, PAD, PASSKEY_MAX_GARBAGE_CHARS, decode, encode, officialPasskeyTrial, passkeyCompletion, passkeyGarbageChars, passkeyLengths, passkeyPrompt, passkeyPromptLength, passkeyTrainingExamples, passkeyTrial } from '../../lib/data';
import { IGNORE_INDEX, Rng } from '../../lib/util';
import { loadPasskeyFixture } from './fixtures';

const fixture = loadPasskeyFixture();

/**
 * The official construction re-derived independently of lib/data/passkey.ts: the filler is grown
 * sentence by sentence with explicit separators, and the lines are concatenated by hand.
 */
function referencePrompt(nGarbage: number, nPrefix: number, passKey: number): string {
  const garbage = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';
  let inf = '';
  for (let i = 0; i < 5000; i++) inf += (i === 0 ? '' : ' ') + garbage;
  const prefix = inf.substring(0, nPrefix);
  const suffix = inf.substring(0, nGarbage - nPrefix);
  return (
    'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.' +
    '\n' + prefix +
    '\n' + 'The pass key is ' + passKey + '. Remember it. ' + passKey + ' is the pass key.' +
    '\n' + suffix +
    '\n' + 'What is the pass key? The pass key is'
  );
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('passkeyPrompt (official generate_prompt_landmark)', () => {
  it('equals a hand-typed expected string for a small case', () => {
    // n_garbage 25, n_garbage_prefix 10: prefix "The grass " (10 chars), suffix "The grass is gr" (15 chars).
    expect(passkeyPrompt({ garbageChars: 25, prefixChars: 10, passKey: 4242 })).toBe(
      'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.\n' +
        'The grass \n' +
        'The pass key is 4242. Remember it. 4242 is the pass key.\n' +
        'The grass is gr\n' +
        'What is the pass key? The pass key is',
    );
    // empty filler still keeps the five lines (two empty ones)
    expect(passkeyPrompt({ garbageChars: 0, prefixChars: 0, passKey: 1 })).toBe(
      'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.\n' +
        '\nThe pass key is 1. Remember it. 1 is the pass key.\n\nWhat is the pass key? The pass key is',
    );
  });

  it('equals the independently re-derived construction for several (garbageChars, prefixChars, passKey)', () => {
    const triples: [number, number, number][] = [
      [1, 0, 5], [1, 1, 5], [89, 44, 12362], [90, 89, 10], [300, 150, 49999], [3072, 2732, 43568],
      [60000, 31337, 777], [PASSKEY_MAX_GARBAGE_CHARS, 0, 7], [PASSKEY_MAX_GARBAGE_CHARS, 200000, 31415],
    ];
    for (const [g, p, k] of triples) {
      const got = passkeyPrompt({ garbageChars: g, prefixChars: p, passKey: k });
      expect(got).toBe(referencePrompt(g, p, k));
      expect(got.length).toBe(passkeyPromptLength(g, String(k).length));
    }
    // negative control: moving the key by one character changes the prompt
    expect(passkeyPrompt({ garbageChars: 300, prefixChars: 151, passKey: 49999 })).not.toBe(referencePrompt(300, 150, 49999));
  });

  it('matches prompts produced by the official Python code with numpy (committed fixture)', () => {
    expect(fixture.garbage_inf_chars).toBe(PASSKEY_MAX_GARBAGE_CHARS);
    let fullTexts = 0;
    for (const c of fixture.cases) {
      const trial = officialPasskeyTrial(c.n_garbage, c.seed);
      expect([trial.prefixChars, trial.passKey]).toEqual([c.n_garbage_prefix, c.pass_key]);
      expect(trial.answer).toBe(String(c.pass_key));
      expect(trial.prompt.length).toBe(c.prompt_chars);
      expect(sha256(trial.prompt)).toBe(c.prompt_sha256);
      if (c.prompt !== undefined) {
        expect(trial.prompt).toBe(c.prompt);
        fullTexts++;
      }
    }
    expect(fixture.cases.length).toBe(100);
    expect(fullTexts).toBe(15);
  });

  it('implements the official length rule n_garbage = int(3.75 * (i + 1) * interval // 1024 * 1024)', () => {
    expect(passkeyLengths()).toEqual(fixture.length_rule.n_garbage);
    expect(passkeyGarbageChars(0)).toBe(3072);
    expect(passkeyGarbageChars(31)).toBe(119808);
    // interval 100: 375 // 1024 = 0 -> 0 characters; 3.75 * 3 * 100 = 1125 -> 1024
    expect(passkeyLengths({ maxTokens: 300, interval: 100 })).toEqual([0, 0, 1024]);
  });

  it('rejects bad arguments', () => {
    expect(() => passkeyPrompt({ garbageChars: 10, prefixChars: 11, passKey: 1 })).toThrow(
      'passkeyPrompt: prefixChars 11 > garbageChars 10; the prefix is part of the filler, so pass prefixChars <= garbageChars',
    );
    expect(() => passkeyPrompt({ garbageChars: -1, prefixChars: 0, passKey: 1 })).toThrow('passkeyPrompt: garbageChars must be a non-negative integer, got -1');
    expect(() => passkeyPrompt({ garbageChars: 10, prefixChars: -2, passKey: 1 })).toThrow('passkeyPrompt: prefixChars must be a non-negative integer, got -2');
    expect(() => passkeyPrompt({ garbageChars: 10, prefixChars: 0, passKey: 12.5 })).toThrow('passkeyPrompt: passKey must be a non-negative integer, got 12.5');
    expect(() => passkeyPrompt({ garbageChars: 10, prefixChars: 0, passKey: -3 })).toThrow('passKey must be a non-negative integer, got -3');
    expect(() => passkeyPrompt({ garbageChars: 10, prefixChars: 0, passKey: '12' as never })).toThrow('passKey must be a non-negative integer, got "12"');
    expect(() => passkeyPrompt({ garbageChars: 450000, prefixChars: 0, passKey: 1 })).toThrow(
      'passkeyPrompt: garbageChars 450000 exceeds the 449999 characters of the official filler',
    );
    expect(() => passkeyPrompt({ garbageChars: 1, prefixChars: 0, passKey: 1, depth: 0 } as never)).toThrow("passkeyPrompt: unknown option 'depth'");
    expect(() => officialPasskeyTrial(0, 0)).toThrow('officialPasskeyTrial: garbageChars must be a positive integer, got 0');
    expect(() => passkeyGarbageChars(-1)).toThrow('passkeyGarbageChars: index must be a non-negative integer, got -1');
  });
});

describe('passkeyTrial (our seeded keys and depths)', () => {
  it('is deterministic per seed and draws keys with the requested digits and depths in range', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    for (let i = 0; i < 50; i++) {
      const t = passkeyTrial(a, { garbageChars: 500, keyDigits: [3, 5] });
      expect(passkeyTrial(b, { garbageChars: 500, keyDigits: [3, 5] })).toEqual(t);
      expect(t.answer).toMatch(/^[1-9]\d{2,4}$/);
      expect(t.prefixChars).toBeGreaterThanOrEqual(0);
      expect(t.prefixChars).toBeLessThan(500);
      expect(t.depth).toBe(t.prefixChars / 500);
      expect(t.prompt).toBe(referencePrompt(500, t.prefixChars, t.passKey));
    }
    const digits = new Set(Array.from({ length: 100 }, () => passkeyTrial(a, { garbageChars: 10, keyDigits: [3, 5] }).answer.length));
    expect([...digits].sort()).toEqual([3, 4, 5]);
    expect(passkeyTrial(new Rng(1), { garbageChars: 10 }).answer).toMatch(/^[1-9]\d{4}$/);
  });

  it('places the key at a requested depth', () => {
    expect(passkeyTrial(new Rng(0), { garbageChars: 1000, depth: 0 }).prefixChars).toBe(0);
    expect(passkeyTrial(new Rng(0), { garbageChars: 1000, depth: 0.25 }).prefixChars).toBe(250);
    expect(passkeyTrial(new Rng(0), { garbageChars: 1000, depth: 1 }).prefixChars).toBe(1000);
  });

  it('rejects bad arguments', () => {
    expect(() => passkeyTrial(new Rng(0), { garbageChars: 0 })).toThrow('passkeyTrial: garbageChars must be a positive integer, got 0');
    expect(() => passkeyTrial({} as never, { garbageChars: 5 })).toThrow('passkeyTrial: rng must be an Rng (new Rng(seed))');
    expect(() => passkeyTrial(new Rng(0), { garbageChars: 5, depth: 1.5 })).toThrow('passkeyTrial: depth must be a number in [0, 1], got 1.5');
    expect(() => passkeyTrial(new Rng(0), { garbageChars: 5, keyDigits: [5, 3] })).toThrow('passkeyTrial: keyDigits must be integers with 1 <= min <= max <= 15, got [5,3]');
    expect(() => passkeyTrial(new Rng(0), { garbageChars: 5, keyDigits: 2.5 })).toThrow('keyDigits must be integers');
    expect(() => passkeyCompletion('12a')).toThrow('passkeyCompletion: answer must be a string of digits, got "12a"');
  });
});

describe('passkeyTrainingExamples (training mix)', () => {
  it('builds [BOS] prompt " " key EOS PAD... of exactly seqLen tokens with labels only on " " key EOS', () => {
    const examples = passkeyTrainingExamples({ seqLen: 512, count: 12, seed: 3 });
    for (const e of examples) {
      expect(e.inputIds.length).toBe(512);
      expect(e.labels.length).toBe(512);
      const { prompt, answer } = e.trial;
      expect(decode(e.inputIds.subarray(0, e.promptTokens))).toBe(`<s>${prompt}`);
      const answerEnd = e.promptTokens + answer.length + 2;
      expect(decode(e.inputIds.subarray(e.promptTokens, answerEnd))).toBe(` ${answer}</s>`);
      expect(passkeyCompletion(answer)).toBe(` ${answer}`);
      for (let i = 0; i < 512; i++) {
        const inAnswer = i >= e.promptTokens && i < answerEnd;
        expect(e.labels[i]).toBe(inAnswer ? e.inputIds[i] : IGNORE_INDEX);
        if (i >= answerEnd) expect(e.inputIds[i]).toBe(PAD);
      }
      expect(e.trial.prompt).toBe(referencePrompt(e.trial.garbageChars, e.trial.prefixChars, e.trial.passKey));
      // filler 1: the only padding is what a key shorter than 5 digits leaves
      expect(512 - answerEnd).toBe(0);
    }
    expect(new Set(examples.map((e) => e.trial.answer.length)).size).toBeGreaterThan(1);
  });

  it('fills seqLen exactly for fixed-length keys, and leaves padding with shorter filler', () => {
    for (const e of passkeyTrainingExamples({ seqLen: 300, count: 5, keyDigits: 4, bos: false })) {
      expect(e.inputIds[299]).toBe(EOS);
      expect(e.inputIds[0]).toBe(encode('T')[0]);
    }
    const short = passkeyTrainingExamples({ seqLen: 1024, count: 20, seed: 1, filler: [0.2, 0.6] });
    for (const e of short) {
      const pads = Array.from(e.inputIds).filter((t) => t === PAD).length;
      expect(pads).toBeGreaterThan(0);
      // The most filler that fits is garbage + padding (a full example has no padding); we drew 20-60% of it.
      const fits = e.trial.garbageChars + pads;
      expect(e.trial.garbageChars).toBeGreaterThanOrEqual(Math.floor(0.2 * fits));
      expect(e.trial.garbageChars).toBeLessThanOrEqual(Math.floor(0.6 * fits));
    }
    expect(new Set(short.map((e) => e.trial.garbageChars)).size).toBeGreaterThan(10);
  });

  it("short episodes (no task line) and 'retrieval' labels on the key's second mention", () => {
    const taskLineLength = 'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.'.length;
    const examples = passkeyTrainingExamples({ seqLen: 128, count: 10, seed: 4, keyDigits: 5, taskDescription: false, labels: 'retrieval' });
    for (const e of examples) {
      const { prompt, answer, garbageChars, prefixChars, passKey } = e.trial;
      const official = referencePrompt(garbageChars, prefixChars, passKey);
      const taskLine = official.slice(0, official.indexOf('\n') + 1);
      expect(taskLine).toBe('There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.\n');
      expect(prompt).toBe(official.slice(taskLine.length));
      expect(decode(e.inputIds.subarray(0, e.promptTokens))).toBe(`<s>${prompt}`);
      // labelled: the second mention (5 digits) and " " key EOS; the first mention is not
      const labelled = Array.from(e.labels.keys()).filter((i) => e.labels[i] !== IGNORE_INDEX);
      expect(labelled.length).toBe(5 + 7);
      const second = 1 + prompt.indexOf(`Remember it. ${answer}`) + 'Remember it. '.length;
      expect(labelled.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((j) => second + j));
      expect(decode(labelled.slice(0, 5).map((i) => e.labels[i]))).toBe(answer);
      expect(decode(labelled.slice(5).map((i) => e.labels[i]))).toBe(` ${answer}</s>`);
      expect(e.labels[1 + prompt.indexOf(`key is ${answer}`) + 'key is '.length]).toBe(IGNORE_INDEX);
    }
    // the short form fits where the official one cannot
    expect(() => passkeyTrainingExamples({ seqLen: 128, count: 1, keyDigits: 5 })).toThrow('seqLen 128 is too small');
    const shortFixed = 1 + passkeyPromptLength(0, 5) - (taskLineLength + 1) + 1 + 5 + 1;
    expect(() => passkeyTrainingExamples({ seqLen: shortFixed, count: 1, keyDigits: 5, taskDescription: false })).toThrow(
      `with a 5-digit key the information line, question, answer and EOS and BOS take ${shortFixed} tokens`,
    );
    expect(passkeyTrainingExamples({ seqLen: shortFixed + 1, count: 1, keyDigits: 5, taskDescription: false })[0].trial.garbageChars).toBe(1);
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, labels: 'all' as never })).toThrow('labels must be \'answer\' or \'retrieval\', got "all"');
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, taskDescription: 'no' as never })).toThrow('taskDescription');
  });

  it('repeatedDigitKeys: that share of keys repeat digits, in both mentions and the labels; 0 draws exactly as without it', () => {
    const distinctDigits = (k: string) => new Set(k.split('')).size;
    const mixed = passkeyTrainingExamples({ seqLen: 400, count: 400, seed: 5, keyDigits: [3, 5], repeatedDigitKeys: 0.5, labels: 'retrieval' });
    const plain = passkeyTrainingExamples({ seqLen: 400, count: 400, seed: 5, keyDigits: [3, 5] });
    const fewDistinct = (es: typeof plain) => es.filter((e) => distinctDigits(e.trial.answer) <= Math.ceil(e.trial.answer.length / 2)).length / es.length;
    // uniform keys: P(a 3-5 digit key has at most ceil(d / 2) distinct digits) = 0.18; the mix draws
    // half the keys that way: 0.5 + 0.5 * 0.18 = 0.59 (400 examples: +-0.025)
    expect(fewDistinct(plain)).toBeGreaterThan(0.1);
    expect(fewDistinct(plain)).toBeLessThan(0.26);
    expect(fewDistinct(mixed)).toBeGreaterThan(0.51);
    expect(fewDistinct(mixed)).toBeLessThan(0.67);
    for (const e of mixed) {
      const { prompt, answer, passKey, garbageChars, prefixChars } = e.trial;
      expect(answer).toBe(String(passKey));
      expect(answer.length).toBeGreaterThanOrEqual(3);
      expect(answer.length).toBeLessThanOrEqual(5);
      expect(prompt).toBe(referencePrompt(garbageChars, prefixChars, passKey));
      const labelled = Array.from(e.labels.keys()).filter((i) => e.labels[i] !== IGNORE_INDEX);
      expect(decode(labelled.map((i) => e.labels[i]))).toBe(`${answer} ${answer}</s>`);
    }
    const all = passkeyTrainingExamples({ seqLen: 400, count: 40, seed: 5, repeatedDigitKeys: 1 });
    expect(all.every((e) => distinctDigits(e.trial.answer) <= Math.ceil(e.trial.answer.length / 2))).toBe(true);
    const zero = passkeyTrainingExamples({ seqLen: 400, count: 40, seed: 5, repeatedDigitKeys: 0 });
    expect(zero.map((e) => Array.from(e.inputIds))).toEqual(plain.slice(0, 40).map((e) => Array.from(e.inputIds)));
    expect(() => passkeyTrainingExamples({ seqLen: 400, count: 1, repeatedDigitKeys: 1.5 })).toThrow(
      'passkeyTrainingExamples: repeatedDigitKeys must be a share in [0, 1] of examples whose key repeats digits, got 1.5',
    );
  });

  it('example i depends only on (seed, i): slices are reproducible for resuming', () => {
    const all = passkeyTrainingExamples({ seqLen: 400, count: 8, seed: 9 });
    const tail = passkeyTrainingExamples({ seqLen: 400, count: 3, seed: 9, start: 5 });
    for (let k = 0; k < 3; k++) expect(Array.from(tail[k].inputIds)).toEqual(Array.from(all[5 + k].inputIds));
    const other = passkeyTrainingExamples({ seqLen: 400, count: 1, seed: 10 });
    expect(Array.from(other[0].inputIds)).not.toEqual(Array.from(all[0].inputIds));
  });

  it('rejects lengths too small for the prompt and other bad options', () => {
    const fixedWithBos = 1 + passkeyPromptLength(0, 5) + 1 + 5 + 1;
    expect(() => passkeyTrainingExamples({ seqLen: 100, count: 1 })).toThrow(
      `passkeyTrainingExamples: seqLen 100 is too small to fit a passkey prompt: with a 5-digit key the task line, information line, question, answer and EOS and BOS take ${fixedWithBos} tokens and at least 1 filler character is needed, so seqLen must be >= ${fixedWithBos + 1}`,
    );
    expect(passkeyTrainingExamples({ seqLen: fixedWithBos + 1, count: 1, keyDigits: 5 })[0].trial.garbageChars).toBe(1);
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 0 })).toThrow('passkeyTrainingExamples: count must be a positive integer, got 0');
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, filler: 0 })).toThrow('passkeyTrainingExamples: filler must be a fraction in (0, 1]');
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, filler: [0.8, 0.2] })).toThrow('filler must be a fraction in (0, 1] or a range [min, max]');
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, keyDigits: [3, 20] })).toThrow('keyDigits must be integers with 1 <= min <= max <= 15');
    expect(() => passkeyTrainingExamples({ seqLen: 512, count: 1, digits: 4 } as never)).toThrow("passkeyTrainingExamples: unknown option 'digits'");
  });
});
