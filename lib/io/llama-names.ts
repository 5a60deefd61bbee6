/**
 * The parameter names and shapes of Hugging Face `LlamaForCausalLM` (transformers 4.34,
 * `models/llama/modeling_llama.py`), computed from a plain `config.json` object, in `state_dict()` order.
 * Lets a checkpoint be checked against its config before any model exists.
 */
import type { Tensor } from '../backend';
import { parameterShapes } from '../model';
import { fromHFConfig } from './hf-config';
import { compareWeightSets, formatWeightSetDiff, hasWeightProblems } from './assign';
import type { WeightMatchOptions, WeightSetDiff } from './assign';

/**
 * `name -> shape` of every tensor `LlamaForCausalLM.save_pretrained` writes for a parsed `config.json`
 * (linear weights `[out, in]`; no `lm_head.weight` with tied embeddings): the model's own
 * `parameterShapes` after `fromHFConfig`, so config errors read the same everywhere and there is one
 * naming rule in the library (the HF fixture checks it against real HF files).
 */
export function hfLlamaParameterShapes(config: Record<string, unknown>): Map<string, number[]> {
  return parameterShapes(fromHFConfig(config, { allowUnknownKeys: true }));
}

/**
 * Checks that `tensors` are exactly the Llama parameters `config` implies (names and shapes) and throws one
 * error listing every missing name, unexpected name and shape mismatch. Returns the diff (with anything the
 * options allowed) when there is no problem.
 */
export function checkHFLlamaTensors(
  config: Record<string, unknown>,
  tensors: ReadonlyMap<string, Tensor | { shape: readonly number[] }>,
  options: WeightMatchOptions = {},
): WeightSetDiff {
  const expected = new Map([...hfLlamaParameterShapes(config)].map(([n, shape]) => [n, { shape }]));
  const actual = new Map([...tensors].map(([n, t]) => [n, { shape: t.shape }]));
  const diff = compareWeightSets(expected, actual, options);
  if (hasWeightProblems(diff)) throw new Error(formatWeightSetDiff(diff, 'checkHFLlamaTensors', 'config', 'checkpoint'));
  return diff;
}
