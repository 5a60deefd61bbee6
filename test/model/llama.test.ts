/**
 * LlamaForCausalLM forward and loss on presets.tiny, on cpu and wasm: against the independent
 * float64 reference (./reference.ts), causality, KV-cache decoding, -100 labels, tied head, the
 * LoRA hook, leaks, and every bad input with its message.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor, Tensor2D, Tensor3D } from '../../lib/backend';
import { LlamaForCausalLM, KVCache, presets, makeConfig } from '../../lib/model';
import { IGNORE_INDEX } from '../../lib/util';
import type { LinearAdapter } from '../../lib/model';
import { expectTensorsClose, expectNoLeakedTensors, seededValues, numericBackendsAndCpu } from '../helpers';
import { referenceLogits, referenceLoss, weightsOf } from './reference';

const IDS = [
  [1, 20, 3, 44, 5, 6, 100, 7],
  [7, 8, 9, 10, 11, 12, 250, 0],
];
const ids2d = (rows: number[][]): Tensor2D => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

describe.each(numericBackendsAndCpu())('LlamaForCausalLM on %s', (backend) => {
  let model: LlamaForCausalLM;
  beforeAll(async () => {
    await ready({ backend });
    model = LlamaForCausalLM.create(presets.tiny, { seed: 1 });
  });
  afterAll(() => model.dispose());

  it('forward matches the float64 reference (GQA: 4 query heads, 2 kv heads)', () => {
    const ids = ids2d(IDS);
    const logits = model.forward(ids);
    expect(logits.shape).toEqual([2, 8, 259]);
    expect(logits.dtype).toBe('float32');
    expectTensorsClose(logits, referenceLogits(presets.tiny, weightsOf(model.parameters), IDS), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([ids, logits]);
  });

  it('forward matches the reference with linear position interpolation and a tied head', () => {
    const config = makeConfig(presets.tiny, { tieWordEmbeddings: true, ropeScaling: { type: 'linear', factor: 2 }, initializerRange: 0.2 });
    const tied = LlamaForCausalLM.create(config, { seed: 4 });
    expect(tied.parameters.has('lm_head.weight')).toBe(false);
    const ids = ids2d(IDS);
    const logits = tied.forward(ids);
    expectTensorsClose(logits, referenceLogits(config, weightsOf(tied.parameters), IDS), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([ids, logits]);
    tied.dispose();
  });

  it('loss is the HF shifted cross-entropy, with -100 labels left out of the mean', () => {
    const ids = ids2d(IDS);
    const w = weightsOf(model.parameters);
    const loss = model.loss(ids);
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo(referenceLoss(presets.tiny, w, IDS), 5);
    const labelRows = [
      [IGNORE_INDEX, 20, IGNORE_INDEX, 44, 5, IGNORE_INDEX, 100, 9],
      [7, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 11, 12, 250, IGNORE_INDEX],
    ];
    const labels = ids2d(labelRows);
    const masked = model.loss(ids, { labels });
    const expected = referenceLoss(presets.tiny, w, IDS, labelRows);
    expect(masked.dataSync()[0]).toBeCloseTo(expected, 5);
    // Negative control: counting the ignored positions would give a different number.
    expect(Math.abs(expected - referenceLoss(presets.tiny, w, IDS))).toBeGreaterThan(1e-3);
    tf.dispose([ids, labels, loss, masked]);
  });

  it('does not leak the future: changing token t + 1 leaves logits at <= t unchanged', () => {
    const t = 4;
    const changed = IDS.map((row) => row.map((v, j) => (j === t + 1 ? (v + 37) % 259 : v)));
    tf.tidy(() => {
      const [a, b] = [model.forward(ids2d(IDS)), model.forward(ids2d(changed))];
      const before = (x: Tensor3D) => tf.slice(x, [0, 0, 0], [2, t + 1, 259]);
      const after = (x: Tensor3D) => tf.slice(x, [0, t + 1, 0], [2, 8 - t - 1, 259]);
      expectTensorsClose(before(b), before(a), { atol: 1e-6, rtol: 0 });
      // Negative control: the positions from t + 1 on do see the change.
      expect(() => expectTensorsClose(after(b), after(a), { atol: 1e-4, rtol: 0 })).toThrow(/tensors differ/);
    });
  });

  it('KV-cache decoding (prefix, then one token at a time) gives the full forward logits', () => {
    const full = model.forward(ids2d(IDS));
    const cache = new KVCache(presets.tiny.numHiddenLayers);
    const pieces: Tensor[] = [model.forward(ids2d(IDS.map((r) => r.slice(0, 5))), { cache })];
    expect(cache.length).toBe(5);
    for (let j = 5; j < 8; j++) pieces.push(model.forward(ids2d(IDS.map((r) => [r[j]])), { cache }));
    expect(cache.length).toBe(8);
    expect(cache.layer(0)?.keys.shape).toEqual([2, 2, 8, 16]); // un-expanded kv heads
    const decoded = tf.concat(pieces, 1);
    expectTensorsClose(decoded, full, { atol: 2e-5, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([full, decoded, ...pieces]);
  });

  it('KV-cache decoding also matches with position interpolation (positions continue after the cache)', () => {
    const pi = model.withConfig({ ropeScaling: { type: 'linear', factor: 4 } });
    const full = pi.forward(ids2d(IDS));
    const cache = new KVCache(2);
    const first = pi.forward(ids2d(IDS.map((r) => r.slice(0, 3))), { cache });
    const rest = pi.forward(ids2d(IDS.map((r) => r.slice(3))), { cache });
    const decoded = tf.concat([first, rest], 1);
    expectTensorsClose(decoded, full, { atol: 2e-5, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([full, first, rest, decoded]);
    pi.dispose();
  });

  it('adds an adapter delta by module name: delta(x) = x M^T equals the model with W + M', () => {
    const name = 'model.layers.1.self_attn.v_proj';
    const m = tf.tensor2d(seededValues(32 * 64, 9, 0.05), [32, 64]);
    const adapter: LinearAdapter = { delta: (x) => tf.matMul(x, m, false, true) };
    const ids = ids2d(IDS);
    const plainLogits = model.forward(ids);
    model.adapters.set(name, adapter);
    const adapted = model.forward(ids);
    model.adapters.delete(name);
    const weights = new Map<string, Tensor>(model.parameters);
    const merged = tf.add(model.parameters.get(`${name}.weight`) as Tensor, m);
    weights.set(`${name}.weight`, merged);
    const mergedModel = LlamaForCausalLM.fromWeights(presets.tiny, weights);
    const expected = mergedModel.forward(ids);
    expectTensorsClose(adapted, expected, { atol: 1e-5, rtol: 1e-4 });
    expect(() => expectTensorsClose(adapted, plainLogits, { atol: 1e-4, rtol: 0 })).toThrow(/tensors differ/);
    mergedModel.dispose();
    tf.dispose([m, ids, plainLogits, adapted, merged, expected]);
  });

  it('leaves no tensors behind after repeated forward, loss gradients and cached decoding', async () => {
    const ids = ids2d(IDS);
    await expectNoLeakedTensors(() => {
      tf.dispose(model.forward(ids));
      const { value, grads } = tf.variableGrads(() => model.loss(ids));
      tf.dispose([value, ...Object.values(grads)]);
      const cache = new KVCache(2);
      const prefix = tf.slice(ids, [0, 0], [2, 6]) as Tensor2D;
      tf.dispose([model.forward(prefix, { cache }), prefix]);
      const next = ids2d([[3], [4]]);
      tf.dispose([model.forward(next, { cache }), next]);
      cache.dispose();
    });
    ids.dispose();
  });

  it('rejects bad token tensors with the bad value and the fix', () => {
    const cases: Array<[() => Tensor, RegExp]> = [
      [() => tf.tensor2d([[1, 2]], [1, 2], 'float32'), /inputIds must have dtype int32; got float32/],
      [() => tf.tensor1d([1, 2], 'int32'), /inputIds must be int32 \[batch, seq\]; got shape \[2\]/],
      [() => ids2d([[1, 259, 3]]), /token id 259 at \[0, 1\] is outside the vocabulary: ids must be in \[0, 259\) \(vocabSize 259\)/],
      [() => ids2d([[1, 2], [3, -1]]), /token id -1 at \[1, 1\] is outside the vocabulary/],
      [() => tf.zeros([1, 0], 'int32'), /inputIds is empty/],
    ];
    for (const [make, message] of cases) {
      const bad = make();
      expect(() => model.forward(bad as Tensor2D)).toThrow(message);
      bad.dispose();
    }
  });

  it('refuses sequences longer than the context unless allowExtrapolation', () => {
    const long = tf.zeros([1, 129], 'int32') as Tensor2D;
    expect(() => model.forward(long)).toThrow(
      "forward: 129 positions exceed the model's context of 128 (maxPositionEmbeddings 128, no rope scaling); pass { allowExtrapolation: true } to evaluate past it, or use extendContext(model, 129, 'linear') for position interpolation",
    );
    const logits = model.forward(long, { allowExtrapolation: true });
    expect(logits.shape).toEqual([1, 129, 259]);
    const cache = new KVCache(2);
    tf.dispose(model.forward(tf.zeros([1, 128], 'int32') as Tensor2D, { cache }));
    const one = tf.zeros([1, 1], 'int32') as Tensor2D;
    expect(() => model.forward(one, { cache })).toThrow(/128 cached \+ 1 new = 129 positions exceed the model's context of 128/);
    expect(cache.length).toBe(128); // a refused call leaves the cache as it was
    tf.dispose([long, logits, one]);
    cache.dispose();
  });

  it('rejects bad caches, labels and options', () => {
    const ids = ids2d(IDS);
    const cache = new KVCache(2);
    tf.dispose(model.forward(ids, { cache }));
    const single = ids2d([[1]]);
    expect(() => model.forward(single, { cache })).toThrow('forward: inputIds have batch 1 but the cache holds 2 sequences; continue every cached sequence together');
    expect(() => model.forward(ids, { cache, training: true })).toThrow(/a KV cache is for generation/);
    expect(() => model.forward(ids, { cache: new KVCache(3) })).toThrow(/the cache has 3 layers but the model 2/);
    cache.dispose();
    expect(() => model.forward(ids, { cache })).toThrow(/options.cache was disposed/);
    expect(() => new KVCache(0)).toThrow(/numLayers = 0 must be a positive integer/);
    const shortLabels = ids2d([[1, 2]]);
    expect(() => model.loss(ids, { labels: shortLabels })).toThrow('loss: labels shape [1, 2] must equal inputIds shape [2, 8] (the shift happens inside)');
    const badLabels = ids2d(IDS.map((r) => r.map((v, j) => (j === 3 ? -7 : v))));
    expect(() => model.loss(ids, { labels: badLabels })).toThrow(/labels: token id -7 at \[0, 3\] is outside the vocabulary: ids must be in \[0, 259\) or -100 \(ignored\)/);
    const ignored = ids2d(IDS.map((r) => r.map(() => IGNORE_INDEX)));
    expect(() => model.loss(ids, { labels: ignored })).toThrow(/no position has a label to predict/);
    expect(() => model.loss(single)).toThrow(/no position has a label to predict \(sequence length 1/);
    expect(() => model.forward(ids, { trainig: true } as never)).toThrow(/forward: unknown option 'trainig' \(did you mean 'training'\?\); valid options are 'training', 'cache', 'allowExtrapolation'/);
    expect(() => model.linear('model.layers.0.attn.q', tf.zeros([1, 64]) as Tensor2D)).toThrow(/'model.layers.0.attn.q' is not a projection of this model/);
    tf.dispose([ids, single, shortLabels, badLabels, ignored]);
  });
});
