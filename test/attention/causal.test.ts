/**
 * Dense causal attention against a float64 reference (with grouped-query heads and a KV-cache
 * shaped call), block-wise against whole, no future leakage, memory refusal.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { causalAttention, defaultCausalBlockSize, setAttentionMemory, attentionMemory } from '../../lib/attention';
import type { AttentionMemory } from '../../lib/attention';
import { expectTensorsClose, seededValues, numericBackends } from '../helpers';
import { denseAttention64, causalAllowed } from './official-reference';

describe.each(numericBackends())('causalAttention on %s', (backend) => {
  beforeAll(async () => {
    await ready({ backend });
  });

  function run(dims: { b: number; h: number; hkv: number; tq: number; tk: number; d: number }, blockSize?: number, memory?: AttentionMemory) {
    const { b, h, hkv, tq, tk, d } = dims;
    const q = seededValues(b * h * tq * d, 1);
    const k = seededValues(b * hkv * tk * d, 2);
    const v = seededValues(b * hkv * tk * d, 3);
    const w = seededValues(b * h * tq * d, 4);
    const got = tf.tidy(() => {
      const qt = tf.tensor(q, [b, h, tq, d]) as Tensor4D;
      const kt = tf.tensor(k, [b, hkv, tk, d]) as Tensor4D;
      const vt = tf.tensor(v, [b, hkv, tk, d]) as Tensor4D;
      const wt = tf.tensor(w, [b, h, tq, d]);
      const out = causalAttention(qt, kt, vt, { blockSize, memory }).dataSync();
      const grads = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(causalAttention(x as Tensor4D, y as Tensor4D, z as Tensor4D, { blockSize, memory }), wt)))([qt, kt, vt]);
      const [dq, dk, dv] = grads.map((g) => g.dataSync());
      return { out, dq, dk, dv };
    });
    return { got, ref: denseAttention64(q, k, v, w, dims, causalAllowed(tq, tk)) };
  }

  it.each([
    { b: 1, h: 2, hkv: 2, tq: 16, tk: 16, d: 8 },
    { b: 2, h: 4, hkv: 1, tq: 12, tk: 12, d: 4 }, // multi-query
    { b: 1, h: 4, hkv: 2, tq: 3, tk: 10, d: 4 }, // 3 new queries after 7 cached keys
  ])('matches the float64 reference with and without blocks: %j', (dims) => {
    for (const blockSize of [undefined, 1, 5, 64]) {
      const { got, ref } = run(dims, blockSize);
      expectTensorsClose(got.out, ref.out, { atol: 1e-5, rtol: 0 });
      expectTensorsClose(got.dq, ref.dq, { atol: 1e-4, relativeToMax: true });
      expectTensorsClose(got.dk, ref.dk, { atol: 1e-4, relativeToMax: true });
      expectTensorsClose(got.dv, ref.dv, { atol: 1e-4, relativeToMax: true });
    }
  });

  it("memory 'recompute' (P rebuilt in the backward pass) gives the same gradients as 'save' and a lower peak", async () => {
    const dims = { b: 1, h: 4, hkv: 4, tq: 96, tk: 96, d: 8 };
    const measure = async (memory: AttentionMemory) => {
      let grads: Float32Array[] = [];
      const profile = await tf.profile(() => {
        grads = tf.tidy(() => {
          const x = tf.tensor(seededValues(4 * 96 * 8, 21), [1, 4, 96, 8]) as Tensor4D;
          // two stacked attention calls, so the first call's saved state waits for the second's backward
          const f = (q: tf.Tensor) => tf.sum(causalAttention(causalAttention(q as Tensor4D, x, x, { memory }), x, x, { memory }));
          return [tf.grad(f)(x).dataSync() as Float32Array];
        });
      });
      return { grads, peak: profile.peakBytes };
    };
    const saved = await measure('save');
    const recomputed = await measure('recompute');
    expectTensorsClose(recomputed.grads[0], saved.grads[0], { atol: 1e-6 });
    expect(recomputed.peak).toBeLessThan(saved.peak);
    expect(() => causalAttention(tf.zeros([1, 1, 2, 2]) as Tensor4D, tf.zeros([1, 1, 2, 2]) as Tensor4D, tf.zeros([1, 1, 2, 2]) as Tensor4D, { memory: 'flash' as never })).toThrow(/memory = "flash" must be 'save' or 'recompute'/);
    expect(() => causalAttention(tf.zeros([1, 1, 2, 2]) as Tensor4D, tf.zeros([1, 1, 2, 2]) as Tensor4D, tf.zeros([1, 1, 2, 2]) as Tensor4D, { blocksize: 2 } as never)).toThrow(/unknown option 'blocksize' \(did you mean 'blockSize'\?\)/);
    // and against the float64 reference
    const { got, ref } = run(dims, undefined, 'recompute');
    expectTensorsClose(got.dq, ref.dq, { atol: 1e-4, relativeToMax: true });
    expectTensorsClose(got.dk, ref.dk, { atol: 1e-4, relativeToMax: true });
    expectTensorsClose(got.dv, ref.dv, { atol: 1e-4, relativeToMax: true });
  });

  it('the deprecated setAttentionMemory still sets the mode of calls that pass no memory option', async () => {
    expect(attentionMemory()).toBe('save');
    const peak = async () => (await tf.profile(() => tf.tidy(() => {
      const x = tf.tensor(seededValues(4 * 96 * 8, 22), [1, 4, 96, 8]) as Tensor4D;
      tf.grad((q: tf.Tensor) => tf.sum(causalAttention(causalAttention(q as Tensor4D, x, x), x, x)))(x).dataSync();
    }))).peakBytes;
    const saving = await peak();
    expect(setAttentionMemory('recompute')).toBe('save');
    try {
      expect(attentionMemory()).toBe('recompute');
      expect(await peak()).toBeLessThan(saving);
    } finally {
      setAttentionMemory('save');
    }
    expect(() => setAttentionMemory('flash' as never)).toThrow(/must be 'save' or 'recompute'/);
  });

  it('block-wise and whole agree to float32 rounding on a longer sequence', () => {
    tf.tidy(() => {
      const q = tf.tensor(seededValues(2 * 256 * 16, 7), [1, 2, 256, 16]) as Tensor4D;
      const k = tf.tensor(seededValues(2 * 256 * 16, 8), [1, 2, 256, 16]) as Tensor4D;
      const v = tf.tensor(seededValues(2 * 256 * 16, 9), [1, 2, 256, 16]) as Tensor4D;
      expectTensorsClose(causalAttention(q, k, v, { blockSize: 48 }), causalAttention(q, k, v), { atol: 2e-6 });
    });
  });

  it('refuses a call that would not fit the backend (wasm heap, machine memory), and points to blockSize', () => {
    const q = tf.zeros([1, 1, 200000, 1]) as Tensor4D;
    expect(() => causalAttention(q, q, q)).toThrow(/causal attention over 200000 queries x 200000 keys.*pass \{ blockSize \}/);
    q.dispose();
  });

  it('by default attends in query blocks from 1024 queries on (max(512, N/4)), equal to one whole block', () => {
    expect([256, 1023, 1024, 2048, 4096].map((n) => defaultCausalBlockSize(n, n))).toEqual([256, 1023, 512, 512, 1024]);
    expect(defaultCausalBlockSize(1, 2048)).toBe(1); // decoding with a cache: one block
    const [b, h, n, d] = [1, 2, 1024, 8];
    const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.tensor(seededValues(b * h * n * d, 40 + s), [b, h, n, d]) as Tensor4D);
    const run = (blockSize?: number) =>
      tf.tidy(() => {
        const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(causalAttention(x as Tensor4D, y as Tensor4D, z as Tensor4D, { blockSize }), w));
        return [causalAttention(q, k, v, { blockSize }).dataSync(), ...tf.grads(f)([q, k, v]).map((g) => g.dataSync())];
      });
    const [byDefault, whole] = [run(), run(n)];
    expectTensorsClose(byDefault[0], whole[0], { atol: 2e-6, rtol: 0 });
    for (let i = 1; i < 4; i++) expectTensorsClose(byDefault[i], whole[i], { atol: 1e-5, relativeToMax: true });
    tf.dispose([q, k, v, w]);
  });

  it('rejects a bad blockSize and more queries than keys', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 4, 2]) as Tensor4D;
      expect(() => causalAttention(x, x, x, { blockSize: 0 })).toThrow(/blockSize = 0 must be a positive integer/);
      const k = tf.zeros([1, 2, 3, 2]) as Tensor4D;
      expect(() => causalAttention(x, k, k)).toThrow(/4 queries but only 3 keys/);
    });
  });
});
