/**
 * Teacher-forced exact match agrees with greedy decoding: an example labeled with the model's own
 * greedy continuation counts, one with any labeled token changed does not, padding of shorter
 * examples is ignored, and examples without labels are refused.
 */
import { tf, ready } from '../../lib/backend';
import { LlamaForCausalLM, KVCache, presets, makeConfig } from '../../lib/model';
import { generate, teacherForcedExactMatch } from '../../lib/eval';
import { IGNORE_INDEX } from '../../lib/util';

describe('teacherForcedExactMatch', () => {
  let model: LlamaForCausalLM;
  const makeCache = (n: number) => new KVCache(n);

  beforeAll(async () => {
    await ready({ backend: 'wasm' });
    model = LlamaForCausalLM.create(makeConfig(presets.tiny, { initializerRange: 0.3 }), { seed: 5 });
  });
  afterAll(() => model.dispose());

  /** prompt + its greedy continuation of `n` tokens, labels on the continuation (last one replaced when `corrupt`). */
  function example(prompt: number[], n: number, corrupt: number | null) {
    const continuation = generate(model, prompt, { maxNewTokens: n }, makeCache);
    if (corrupt !== null) continuation[corrupt] = (continuation[corrupt] + 1) % model.config.vocabSize;
    const ids = [...prompt, ...continuation];
    const labels = ids.map((t, i) => (i >= prompt.length ? t : IGNORE_INDEX));
    return { inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) };
  }

  it('counts exactly the examples whose labels are the greedy continuation', () => {
    const good = example([256, 72, 101, 108, 108, 111], 4, null);
    const shortGood = example([256, 66, 121], 3, null); // padded in the batch: padding is not scored
    const badLast = example([256, 72, 101, 108, 108, 111], 4, 3);
    const badFirst = example([256, 87, 111, 114], 5, 0);
    expect(teacherForcedExactMatch(model, [good])).toBe(1);
    const before = tf.memory().numTensors; // after a first call: the model caches RoPE tables per length
    expect(teacherForcedExactMatch(model, [good, shortGood, badLast, badFirst])).toBe(0.5);
    expect(teacherForcedExactMatch(model, [badLast])).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an example with nothing to score', () => {
    const unlabeled = { inputIds: Int32Array.from([256, 1, 2]), labels: new Int32Array(3).fill(IGNORE_INDEX) };
    expect(() => teacherForcedExactMatch(model, [unlabeled])).toThrow('teacherForcedExactMatch: example 0 must label at least one token after the first');
  });
});
