/**
 * Passkey accuracy at a length in tokens and the accuracy table: against stub models that read the
 * prompt (an oracle, one that fails past a depth, one that drops a digit), the prompts are exactly
 * the asked length, accuracy and the depth thirds count the right trials, wrong answers are kept,
 * longer lengths decode with extrapolation, the same seed gives the same table; bad options are refused.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor2D, Tensor3D } from '../../lib/backend';
import { KVCache, LlamaForCausalLM, makeConfig, presets } from '../../lib/model';
import { PASSKEY_TASK_DESCRIPTION, passkeyGarbageForTokens, passkeyOfficialMinTokens, VOCAB_SIZE, EOS } from '../../lib/data';
import { passkeyAccuracyAt, passkeyAccuracyTable } from '../../lib/eval';

beforeAll(async () => {
  await ready();
});

/**
 * A model that reads the whole sequence so far (kept per cache) and answers the key after
 * "The pass key is" at the end; `answer(key, depth)` says what it answers instead of " key".
 */
class StubReader {
  readonly config = { vocabSize: VOCAB_SIZE, numHiddenLayers: 1 };
  readonly seen = new WeakMap<KVCache, number[]>();
  readonly calls: Array<{ tokens: number; allowExtrapolation: boolean }> = [];
  constructor(private readonly answer: (key: string, depth: number) => string = (key) => ` ${key}`) {}

  forward(inputIds: Tensor2D, options: { cache?: KVCache; allowExtrapolation?: boolean } = {}): Tensor3D {
    const ids = Array.from(inputIds.dataSync());
    const history = [...(this.seen.get(options.cache!) ?? []), ...ids];
    this.seen.set(options.cache!, history);
    this.calls.push({ tokens: history.length, allowExtrapolation: options.allowExtrapolation ?? false });
    const text = String.fromCharCode(...history.filter((t) => t < 256));
    const key = /The pass key is (\d+)\./.exec(text)![1];
    const info = text.indexOf('The pass key is ');
    const question = text.lastIndexOf('\nWhat is the pass key?');
    const prefixChars = info - PASSKEY_TASK_DESCRIPTION.length - 2;
    const infoLine = `The pass key is ${key}. Remember it. ${key} is the pass key.`;
    const garbageChars = question - PASSKEY_TASK_DESCRIPTION.length - 1 - infoLine.length - 2;
    const done = text.slice(text.lastIndexOf('The pass key is') + 'The pass key is'.length);
    const target = this.answer(key, prefixChars / garbageChars);
    const next = done.length < target.length ? target.charCodeAt(done.length) : EOS;
    const logits = new Float32Array(ids.length * VOCAB_SIZE);
    logits[(ids.length - 1) * VOCAB_SIZE + next] = 1;
    return tf.tensor3d(logits, [1, ids.length, VOCAB_SIZE]);
  }
}

describe('passkeyAccuracyAt', () => {
  it('builds prompts of exactly promptTokens tokens and counts an exact answer as right', () => {
    const model = new StubReader();
    const r = passkeyAccuracyAt(model, { promptTokens: 300, trials: 6, seed: 1 });
    // each trial: the prompt (BOS + text) in one forward pass, then one pass per answer token (5 digits + " ")
    const promptPasses = model.calls.filter((c) => c.tokens > 50);
    const firstOfTrial = promptPasses.filter((c, i) => i === 0 || promptPasses[i - 1].tokens >= c.tokens);
    expect(firstOfTrial).toHaveLength(6);
    // with a 5-digit key, BOS + prompt + " " + key + EOS = promptTokens: the prompt pass is 7 shorter
    for (const c of firstOfTrial) expect(c.tokens).toBe(300 - 7);
    expect(r).toMatchObject({ promptTokens: 300, garbageChars: passkeyGarbageForTokens(300), trials: 6, accuracy: 1, failures: [], beyondTrainingLength: false });
    expect(r.sample.expected).toMatch(/^ \d{5}$/);
    expect(r.sample.output).toBe(r.sample.expected);
    expect(r.byDepth).toHaveLength(3);
    expect(model.calls.every((c) => !c.allowExtrapolation)).toBe(true);
  });

  it('splits accuracy by thirds of key depth and keeps at most five wrong answers', () => {
    const shallow = new StubReader((key, depth) => (depth < 1 / 3 ? ` ${key}` : ` ${key.slice(1)}0`));
    const r = passkeyAccuracyAt(shallow, { promptTokens: 320, trials: 30, seed: 2, keyDigits: [3, 5] });
    expect(r.byDepth[0]).toBe(1);
    expect(r.byDepth.slice(1).every((d) => d === 0 || d === null)).toBe(true);
    expect(r.accuracy).toBeGreaterThan(0);
    expect(r.accuracy).toBeLessThan(1);
    expect(r.failures).toHaveLength(5);
    for (const f of r.failures) {
      expect(f.output).not.toBe(f.expected);
      expect(f.output).toBe(` ${f.expected.slice(2)}0`); // the stub dropped the first digit
    }
  });

  it('is the same for the same seed, and other keys for another', () => {
    const model = new StubReader((key) => (Number(key) % 2 === 0 ? ` ${key}` : ' 0'));
    const a = passkeyAccuracyAt(model, { promptTokens: 300, trials: 8, seed: 5 });
    const b = passkeyAccuracyAt(model, { promptTokens: 300, trials: 8, seed: 5 });
    const c = passkeyAccuracyAt(model, { promptTokens: 300, trials: 8, seed: 6 });
    expect(b).toEqual(a);
    expect(c.sample.expected).not.toBe(a.sample.expected);
  });

  it('refuses lengths too short for the official prompt and unknown options', () => {
    const model = new StubReader();
    const n = passkeyOfficialMinTokens(5);
    expect(() => passkeyAccuracyAt(model, { promptTokens: n - 1, trials: 1 })).toThrow(`passkeyAccuracyAt: promptTokens = ${n - 1} is too few for the official passkey prompt with 1 filler character; use promptTokens >= ${n}`);
    expect(() => passkeyAccuracyAt(model, { promptTokens: n, trials: 0 })).toThrow('passkeyAccuracyAt: trials must be a positive integer, got 0');
    expect(() => passkeyAccuracyAt(model, { promptTokens: n, trials: 1, depthBins: 5 } as never)).toThrow(/passkeyAccuracyAt: unknown option 'depthBins'; valid options are/);
  });
});

describe('passkeyAccuracyTable', () => {
  it('evaluates every length, past the training length with extrapolation, and logs wrong answers', () => {
    const model = new StubReader((key) => ` ${key.slice(0, -1)}9`);
    const lines: string[] = [];
    const table = passkeyAccuracyTable(model, { lengths: [280, 320], trainingLength: 300, trials: 3, seed: 4, log: (l) => lines.push(l) });
    expect(table.map((r) => [r.promptTokens, r.beyondTrainingLength])).toEqual([[280, false], [320, true]]);
    expect(model.calls.some((c) => c.allowExtrapolation)).toBe(true);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^passkey accuracy at 280 tokens: \d+% \(3 trials\)/);
    const wrong = table[0].failures[0];
    if (wrong !== undefined) expect(lines[0]).toContain(`${JSON.stringify(wrong.expected)} -> ${JSON.stringify(wrong.output)}`);
  });

  it('runs a real model and refuses lengths that cannot hold the prompt', () => {
    const model = LlamaForCausalLM.create(makeConfig(presets.tiny, { maxPositionEmbeddings: 320 }), { seed: 0 });
    try {
      const [r] = passkeyAccuracyTable(model, { lengths: [260], trainingLength: 260, trials: 2 });
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(() => passkeyAccuracyTable(model, { lengths: [192, 256], trainingLength: 256, trials: 1 })).toThrow(
        `passkeyAccuracyTable: lengths must be integer prompt lengths >= ${passkeyOfficialMinTokens(5)} (the official prompt with 1 filler character), got [192,256]`,
      );
      expect(() => passkeyAccuracyTable(model, { lengths: [260], trainingLength: 0, trials: 1 })).toThrow('passkeyAccuracyTable: trainingLength must be a positive integer, got 0');
    } finally {
      model.dispose();
    }
  });
});
