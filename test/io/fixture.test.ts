/**
 * The committed Hugging Face fixture itself: its budget, its recorded versions, and the meaning of
 * expected.safetensors (HF's loss is the mean next-token cross entropy of the stored logits), checked in
 * float64 here so that the golden model test can rely on it.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { parseSafetensors } from '../../lib/io/safetensors';
import { HF_FIXTURE } from './bytes';

const fixturesRoot = path.join(HF_FIXTURE, '..');
const read = (rel: string) => parseSafetensors(readFileSync(path.join(HF_FIXTURE, rel)), rel).tensors;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Per-token cross entropy of logits [B, T, V] against ids [B, T] shifted by `shift` (HF: 1), in float64. */
function tokenNll(logits: Float32Array, ids: Int32Array, b: number, t: number, v: number, shift = 1): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < b; i++) {
    const row: number[] = [];
    for (let j = 0; j < t - shift; j++) {
      const base = (i * t + j) * v;
      let max = -Infinity;
      for (let k = 0; k < v; k++) max = Math.max(max, logits[base + k]);
      let sum = 0;
      for (let k = 0; k < v; k++) sum += Math.exp(logits[base + k] - max);
      row.push(max + Math.log(sum) - logits[base + ids[i * t + j + shift]]);
    }
    out.push(row);
  }
  return out;
}

describe('test/fixtures/hf-tiny-llama', () => {
  it('stays inside the byte budgets: 300,000 for this fixture, 25,000 for hf-tokenizer, nothing else committed', () => {
    const bytes = (dir: string) => filesUnder(dir).reduce((s, f) => s + statSync(f).size, 0);
    expect(bytes(HF_FIXTURE)).toBeLessThan(300_000);
    expect(bytes(path.join(fixturesRoot, 'hf-tokenizer'))).toBeLessThan(25_000);
    expect(readdirSync(fixturesRoot).sort()).toEqual(['hf-tiny-llama', 'hf-tokenizer']);
  });

  it('was made by transformers 4.34.0 (versions.json and every config.json)', () => {
    const versions = JSON.parse(readFileSync(path.join(HF_FIXTURE, 'versions.json'), 'utf8'));
    expect(versions).toMatchObject({ transformers: '4.34.0', generator: 'scripts/fixtures/make_hf_tiny_llama.py' });
    for (const dir of ['f32', 'bf16-sharded', 'linear-rope']) {
      expect(JSON.parse(readFileSync(path.join(HF_FIXTURE, dir, 'config.json'), 'utf8')).transformers_version).toBe('4.34.0');
    }
    const linear = JSON.parse(readFileSync(path.join(HF_FIXTURE, 'linear-rope', 'config.json'), 'utf8'));
    expect(linear.rope_scaling).toEqual({ type: 'linear', factor: 2 });
  });

  it('expected.safetensors: ids, logits, and a loss equal to the mean shifted cross entropy of the logits', () => {
    const t = read('expected.safetensors');
    expect([...t.keys()].sort()).toEqual(['input_ids', 'logits', 'loss', 'loss_bf16_weights']);
    const ids = t.get('input_ids')!;
    expect(ids).toMatchObject({ dtype: 'I64', shape: [2, 24] });
    expect(Math.min(...ids.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids.data)).toBeLessThan(259);
    const logits = t.get('logits')!;
    expect(logits).toMatchObject({ dtype: 'F32', shape: [2, 24, 259] });
    const nll = tokenNll(logits.data as Float32Array, ids.data as Int32Array, 2, 24, 259).flat();
    const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
    expect(t.get('loss')!.shape).toEqual([1]);
    expect(Math.abs(mean - t.get('loss')!.data[0])).toBeLessThan(1e-5);
    // Negative control: pairing each position with its own token instead of the next one is far from HF's loss.
    const unshifted = tokenNll(logits.data as Float32Array, ids.data as Int32Array, 2, 24, 259, 0).flat();
    expect(Math.abs(unshifted.reduce((a, b) => a + b, 0) / unshifted.length - t.get('loss')!.data[0])).toBeGreaterThan(0.01);
    const bf16Loss = t.get('loss_bf16_weights')!.data[0];
    expect(Math.abs(bf16Loss - t.get('loss')!.data[0])).toBeGreaterThan(0); // bf16 weights change the loss a little
    expect(Math.abs(bf16Loss - t.get('loss')!.data[0])).toBeLessThan(0.05);
  });

  it('linear-rope/expected.safetensors: per-token NLL averaging to the loss, and last-position logits', () => {
    const t = read('linear-rope/expected.safetensors');
    expect([...t.keys()].sort()).toEqual(['logits_last', 'loss', 'token_nll']);
    expect(t.get('logits_last')!.shape).toEqual([2, 259]);
    const nll = Array.from(t.get('token_nll')!.data);
    expect(t.get('token_nll')!.shape).toEqual([2, 23]);
    expect(Math.abs(nll.reduce((a, b) => a + b, 0) / nll.length - t.get('loss')!.data[0])).toBeLessThan(1e-5);
    // Position interpolation changes the model's output visibly (the fixture can tell PI from no PI).
    const base = read('expected.safetensors');
    const baseLast = base.get('logits')!.data.subarray(23 * 259, 24 * 259);
    const maxDiff = Math.max(...Array.from(baseLast, (v, k) => Math.abs(v - t.get('logits_last')!.data[k])));
    expect(maxDiff).toBeGreaterThan(0.1);
  });
});
