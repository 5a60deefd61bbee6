/**
 * validateAttentionSpec: every kind's valid specs pass; an unknown key, an unknown kind, a value of
 * the wrong type or range, and settings that contradict each other fail with a message that names
 * the value, the constraint and the fix, in attend() and in every model config.
 */
import { tf, ready } from '../../lib/backend';
import type { Tensor4D } from '../../lib/backend';
import { validateAttentionSpec, attend } from '../../lib/attention';
import { makeConfig, presets } from '../../lib/model';
import type { LlamaConfig } from '../../lib/model';

describe('validateAttentionSpec', () => {
  it.each([
    { kind: 'full' },
    { kind: 'full', blockSize: 64, memory: 'recompute' },
    { kind: 's2' },
    { kind: 's2', groupSizeRatio: 0.125, variant: 'roll', atInference: true, memory: 'save' },
    { kind: 's2', groupSize: 64 },
    { kind: 's2', groupSizeRule: 'sft', baseContext: 256 },
    { kind: 'pattern', pattern: 'short' },
    { kind: 'pattern', pattern: 'stride-sparse', groupSize: 5, stride: 3 },
    { kind: 'pattern', pattern: 's2-roll', groupSizeRatio: 0.5, atInference: false },
    { kind: 'pattern', pattern: 'short', alternate: 'shifted' },
  ])('accepts %j', (spec) => {
    expect(() => validateAttentionSpec(spec)).not.toThrow();
  });

  it.each([
    [null, /attention = null must be an attention spec such as \{ kind: 'full' \}/],
    ['s2', /attention = "s2" must be an attention spec/],
    [{ kind: 'S2' }, /attention.kind = "S2" is not an attention kind; use one of 'full', 's2', 'pattern' \(did you mean 's2'\?\)/],
    [{ kind: 'sparse' }, /attention.kind = "sparse" is not an attention kind/],
    [{ groupSize: 8 }, /attention.kind = undefined is not an attention kind/],
    [{ kind: 's2', group_size: 8 }, /attention: unknown key 'group_size' \(did you mean 'groupSize'\?\); valid keys are 'kind', 'groupSizeRatio', 'groupSize'/],
    [{ kind: 'full', groupSize: 8 }, /attention: unknown key 'groupSize'; valid keys are 'kind', 'blockSize', 'memory'/],
    [{ kind: 'full', blockSize: 0 }, /attention.blockSize = 0 must be a positive integer/],
    [{ kind: 'full', blockSize: 1.5 }, /attention.blockSize = 1.5 must be a positive integer/],
    [{ kind: 'full', memory: 'flash' }, /attention.memory = "flash" must be 'save' or 'recompute'/],
    [{ kind: 's2', groupSize: 7 }, /attention.groupSize = 7 must be an even integer >= 2 \(the shift is G\/2\)/],
    [{ kind: 's2', groupSize: '8' }, /attention.groupSize = "8" must be an even integer/],
    [{ kind: 's2', groupSize: Infinity }, /attention.groupSize = Infinity must be an even integer/],
    [{ kind: 's2', groupSizeRatio: 0 }, /attention.groupSizeRatio = 0 must be a number in \(0, 1\]/],
    [{ kind: 's2', groupSizeRatio: NaN }, /attention.groupSizeRatio = NaN must be a number in \(0, 1\]/],
    [{ kind: 's2', groupSizeRatio: 1.5 }, /attention.groupSizeRatio = 1.5 must be a number in \(0, 1\]/],
    [{ kind: 's2', groupSize: 8, groupSizeRatio: 0.25 }, /groupSize = 8 and groupSizeRatio = 0.25 are both set; keep one/],
    [{ kind: 's2', variant: 'wrap' }, /attention.variant = "wrap" must be 'offset' \(official flash path\) or 'roll'/],
    [{ kind: 's2', atInference: 'yes' }, /attention.atInference = "yes" must be true or false/],
    [{ kind: 's2', groupSizeRule: 'sft' }, /groupSizeRule 'sft' needs baseContext/],
    [{ kind: 's2', groupSizeRule: 'sft', baseContext: 7 }, /attention.baseContext = 7 must be an even integer >= 2/],
    [{ kind: 's2', groupSizeRule: 'sft', baseContext: 256, groupSize: 64 }, /groupSizeRule 'sft' sets the group size itself; remove groupSize/],
    [{ kind: 's2', groupSizeRule: 'sft', baseContext: 256, variant: 'roll' }, /exists only for variant 'offset'/],
    [{ kind: 's2', baseContext: 256 }, /baseContext = 256 is used only by groupSizeRule 'sft'/],
    [{ kind: 's2', groupSizeRule: 'fixed' }, /attention.groupSizeRule = "fixed" must be 'ratio' or 'sft'/],
    [{ kind: 'pattern' }, /kind 'pattern' needs pattern, one of 'full', 'short'/],
    [{ kind: 'pattern', pattern: 'banded' }, /attention.pattern = "banded" must be one of 'full', 'short'/],
    [{ kind: 'pattern', pattern: 's2-offset', groupSize: 5 }, /attention.groupSize = 5 must be an even integer >= 2/],
    [{ kind: 'pattern', pattern: 'short', stride: 0 }, /attention.stride = 0 must be a positive integer/],
    [{ kind: 'pattern', pattern: 'short', alternate: 'diagonal' }, /attention.alternate = "diagonal" must be one of 'full', 'short'.*\(the pattern of odd-numbered layers\)/],
    [{ kind: 'pattern', pattern: 'short', alternate: 'shifted', groupSize: 5 }, /attention.groupSize = 5 must be an even integer >= 2/],
  ])('rejects %j', (spec, message) => {
    expect(() => validateAttentionSpec(spec)).toThrow(message);
  });

  it('names the place it checks', () => {
    expect(() => validateAttentionSpec({ kind: 's2', group_size: 8 }, 'config.attention')).toThrow(/^config.attention: unknown key 'group_size'/);
  });

  it('guards every model config: makeConfig and withConfig refuse a bad spec', () => {
    expect(() => makeConfig(presets.tiny, { attention: { kind: 's2', group_size: 8 } as never })).toThrow(/LlamaConfig.attention: unknown key 'group_size' \(did you mean 'groupSize'\?\)/);
    expect(() => makeConfig(presets.tiny, { attention: { kind: 'flash' } as never })).toThrow(/LlamaConfig.attention.kind = "flash" is not an attention kind/);
    const ok: LlamaConfig = makeConfig(presets.tiny, { attention: { kind: 's2', groupSize: 8, memory: 'recompute' } });
    expect(ok.attention).toEqual({ kind: 's2', groupSize: 8, memory: 'recompute' });
  });

  describe('attend', () => {
    beforeAll(async () => {
      await ready({ backend: 'cpu' });
    });

    it('refuses a bad spec before running anything', () => {
      tf.tidy(() => {
        const x = tf.zeros([1, 2, 8, 2]) as Tensor4D;
        expect(() => attend({ kind: 's2', group_size: 4 } as never, x, x, x, { training: true })).toThrow(/attend: spec: unknown key 'group_size'/);
        expect(() => attend({ kind: 'dense' } as never, x, x, x, { training: false })).toThrow(/attend: spec.kind = "dense" is not an attention kind/);
        expect(() => attend({ kind: 'full' }, x, x, x, { training: true, layer: -1 })).toThrow(/options.layer = -1 must be a non-negative integer/);
      });
    });

    it("a pattern's alternate runs on odd layers only (Table 6's S2 across layers)", () => {
      tf.tidy(() => {
        const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([1, 4, 16, 8], 0, 1, 'float32', s) as Tensor4D);
        const spec = { kind: 'pattern', pattern: 'short', alternate: 'shifted', groupSize: 4 } as const;
        const short = attend({ kind: 'pattern', pattern: 'short', groupSize: 4 }, q, k, v, { training: true });
        const shifted = attend({ kind: 'pattern', pattern: 'shifted', groupSize: 4 }, q, k, v, { training: true });
        expect(tf.max(tf.abs(tf.sub(attend(spec, q, k, v, { training: true, layer: 0 }), short))).dataSync()[0]).toBe(0);
        expect(tf.max(tf.abs(tf.sub(attend(spec, q, k, v, { training: true, layer: 2 }), short))).dataSync()[0]).toBe(0);
        expect(tf.max(tf.abs(tf.sub(attend(spec, q, k, v, { training: true, layer: 1 }), shifted))).dataSync()[0]).toBe(0);
        expect(tf.max(tf.abs(tf.sub(short, shifted))).dataSync()[0]).toBeGreaterThan(0.01);
      });
    });
  });
});
