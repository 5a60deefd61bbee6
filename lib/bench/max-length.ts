/**
 * The longest sequence whose training step fits a memory budget, full attention vs S2-Attn: the
 * practical form of LongLoRA's claim that S2-Attn lets the same hardware train longer contexts.
 *
 * The search is guided by the memory model (./memory) and decided by measurement: start at the
 * longest multiple of `step` the model predicts to fit, then measure real training steps
 * (peak from the wasm allocations) and move down while the measured peak exceeds the budget, or
 * up while the next length still fits. So the answer rests on measurements, and only lengths near
 * the boundary are run (each run's peak stays close to the budget, far from the 4 GiB heap).
 */
import type { LlamaConfig } from '../model/config';
import { presets } from '../model';
import { trainingMemory } from '../cost/memory';
import { measureTrainingStep } from './calibrate';
import type { LengthProbe, MaxTrainableSeqLen } from './types';
import { checkKnownKeys, describe } from '../util/options';

export interface MaxLengthOptions {
  config?: LlamaConfig;
  /** Bytes of tensor memory a step may use at its peak (default 2 GiB). */
  budgetBytes?: number;
  /** Lengths are multiples of this (default 256). */
  step?: number;
  /** Longest length considered (default 16384). */
  limit?: number;
  log?: (line: string) => void;
}


async function longestFitting(
  config: LlamaConfig,
  attention: 'full' | 's2',
  budget: number,
  step: number,
  limit: number,
  probes: LengthProbe[],
  log: (line: string) => void,
): Promise<number> {
  const predict = (n: number) => trainingMemory(config, n, { attention }).total;
  let n = step;
  while (n + step <= limit && predict(n + step) <= budget) n += step;
  const measure = async (len: number): Promise<boolean> => {
    const measuredBytes = await measureTrainingStep({ name: `${attention} ${len}`, config, seqLen: len, batchSize: 1, attention, trainable: 'full' });
    const fits = measuredBytes <= budget;
    probes.push({ seqLen: len, attention, measuredBytes, predictedBytes: predict(len), fits });
    log(`max length ${attention} N=${len}: measured ${(measuredBytes / 2 ** 20).toFixed(0)} MiB (model ${(predict(len) / 2 ** 20).toFixed(0)} MiB), ${fits ? 'fits' : 'over'} ${(budget / 2 ** 30).toFixed(1)} GiB`);
    return fits;
  };
  if (await measure(n)) {
    while (n + step <= limit && (await measure(n + step))) n += step;
    return n;
  }
  while (n > step) {
    n -= step;
    if (await measure(n)) return n;
  }
  return 0;
}

/** `maxTrainableSeqLen` of the benchmark for presets.small (or `config`), with the probes it ran. */
export async function maxTrainableSeqLen(options: MaxLengthOptions = {}): Promise<{ result: MaxTrainableSeqLen; probes: LengthProbe[] }> {
  // checked before any training step is measured (each takes seconds)
  checkKnownKeys('maxTrainableSeqLen', options, ['config', 'budgetBytes', 'step', 'limit', 'log']);
  const { config = presets.small, budgetBytes = 2 * 2 ** 30, step = 256, limit = 16384, log = () => undefined } = options;
  if (!Number.isInteger(limit) || limit < step) throw new Error(`maxTrainableSeqLen: limit = ${describe(limit)} must be an integer >= step (${describe(step)}), the longest length considered`);
  if (!Number.isInteger(step) || step < 8 || step % 8 !== 0) throw new Error(`maxTrainableSeqLen: step = ${step} must be a multiple of 8 (S2 needs G = N/4 even)`);
  if (!(budgetBytes > 0)) throw new Error(`maxTrainableSeqLen: budgetBytes = ${budgetBytes} must be positive`);
  const probes: LengthProbe[] = [];
  const full = await longestFitting(config, 'full', budgetBytes, step, limit, probes, log);
  const s2 = await longestFitting(config, 's2', budgetBytes, step, limit, probes, log);
  return { result: { full, s2, budgetBytes, step }, probes };
}
