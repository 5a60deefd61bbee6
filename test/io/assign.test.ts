import * as path from 'path';
import { ready, tf } from '../../lib/backend';
import type { Tensor, Variable } from '../../lib/backend';
import { assignWeights, compareWeightSets } from '../../lib/io/assign';
import { loadHFCheckpoint } from '../../lib/io/hf';
import { hfLlamaParameterShapes } from '../../lib/io/llama-names';
import { expectNoLeakedTensors } from '../helpers';
import { HF_FIXTURE } from './bytes';

beforeAll(async () => {
  await ready({ backend: 'cpu' });
});

function variables(shapes: Map<string, number[]>): Map<string, Variable> {
  return new Map([...shapes].map(([n, s]) => [n, tf.variable(tf.zeros(s), true, `assign-test/${n}/${Math.random()}`)]));
}

describe('assignWeights', () => {
  it('assigns the HF fixture to variables named after the HF parameters, leaking nothing', async () => {
    const ckpt = await loadHFCheckpoint(path.join(HF_FIXTURE, 'f32'));
    const target = variables(hfLlamaParameterShapes(ckpt.config));
    const report = assignWeights(target, ckpt.tensors);
    expect(report.assigned).toEqual([...target.keys()]);
    expect(report.skippedMissing).toEqual([]);
    for (const [name, v] of target) expect(Array.from(await v.data())).toEqual(Array.from(await ckpt.tensors.get(name)!.data()));
    // The variables keep their values after the source tensors are disposed.
    const q = Array.from(await ckpt.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data());
    tf.dispose([...ckpt.tensors.values()]);
    expect(Array.from(await target.get('model.layers.0.self_attn.q_proj.weight')!.data())).toEqual(q);
    await expectNoLeakedTensors(async () => {
      const again = await loadHFCheckpoint(path.join(HF_FIXTURE, 'f32'));
      assignWeights(target, again.tensors);
      tf.dispose([...again.tensors.values()]);
    });
    tf.dispose([...target.values()]);
  });

  it('one error lists missing, unexpected, shape and dtype problems, and nothing is assigned', async () => {
    const target = variables(new Map([['a', [2, 3]], ['b', [4]], ['c', [1]], ['d', [2]]]));
    const source = new Map<string, Tensor>([
      ['a', tf.ones([3, 2])],
      ['c', tf.ones([1])],
      ['d', tf.tensor([1, 2], [2], 'int32')],
      ['rotary.inv_freq', tf.ones([4])],
      ['z', tf.ones([1])],
    ]);
    expect(() => assignWeights(target, source)).toThrow(
      'assignWeights: the checkpoint does not match the model:\n' +
        '  missing from the checkpoint (1): b\n' +
        '  unexpected in the checkpoint (2): rotary.inv_freq, z\n' +
        '  shape mismatch for a: model [2, 3], checkpoint [3, 2]\n' +
        '  dtype mismatch for d: model float32, checkpoint int32\n' +
        '  fix: load a checkpoint made for this model configuration, or pass allowMissing / allowUnexpected for names that may differ',
    );
    expect(Array.from(await target.get('c')!.data())).toEqual([0]); // c matched but was not assigned
    tf.dispose([...target.values(), ...source.values()]);
  });

  it('allowMissing / allowUnexpected (names or RegExps) excuse names and are reported', async () => {
    const target = variables(new Map([['w', [2]], ['layers.0.lora_A', [2]], ['layers.1.lora_A', [2]]]));
    const source = new Map<string, Tensor>([['w', tf.tensor([5, 6])], ['layers.0.rotary_emb.inv_freq', tf.ones([1])]]);
    const report = assignWeights(target, source, { allowMissing: [/lora_A$/g], allowUnexpected: ['layers.0.rotary_emb.inv_freq'] });
    expect(report).toEqual({ assigned: ['w'], skippedMissing: ['layers.0.lora_A', 'layers.1.lora_A'], ignoredUnexpected: ['layers.0.rotary_emb.inv_freq'] });
    expect(Array.from(await target.get('w')!.data())).toEqual([5, 6]);
    expect(Array.from(await target.get('layers.1.lora_A')!.data())).toEqual([0, 0]);
    tf.dispose([...target.values(), ...source.values()]);
  });

  it('bad arguments are clear errors', () => {
    const t = tf.ones([1]);
    const v = tf.variable(tf.zeros([1]));
    expect(() => assignWeights(new Map([['w', t as unknown as Variable]]), new Map([['w', t]]))).toThrow('assignWeights: target "w" is not a tf.Variable');
    expect(() => assignWeights(new Map([['w', v]]), new Map([['w', t]]), { allowMising: [] } as never)).toThrow("assignWeights: unknown option 'allowMising' (did you mean 'allowMissing'?); valid options are 'allowMissing', 'allowUnexpected'");
    expect(() => assignWeights(new Map([['w', v]]), new Map([['w', t]]), { allowMissing: 'w' } as never)).toThrow('allowMissing must be an array of names (strings) or RegExps');
    const gone = tf.ones([1]);
    gone.dispose();
    expect(() => assignWeights(new Map([['w', v]]), new Map([['w', gone]]))).toThrow('assignWeights: source "w" is not a live tf.Tensor');
    tf.dispose([t, v]);
  });

  it('compareWeightSets ignores dtype when one side does not give it', () => {
    const diff = compareWeightSets(new Map([['a', { shape: [1], dtype: 'float32' }]]), new Map([['a', { shape: [1] }]]));
    expect(diff.dtypeMismatches).toEqual([]);
  });
});
