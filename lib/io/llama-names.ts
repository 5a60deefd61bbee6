/**
 * The parameter names and shapes of Hugging Face `LlamaForCausalLM` (transformers 4.34,
 * `models/llama/modeling_llama.py`), computed from a plain `config.json` object, in `state_dict()` order.
 * Lets a checkpoint be checked against its config before any model exists, and gives the names our model
 * must use for checkpoints to map one to one. (The typed config mapping lives in lib/model/config.ts.)
 */
import type { Tensor } from '../backend';
import { compareWeightSets, formatWeightSetDiff, hasWeightProblems } from './assign';
import type { WeightMatchOptions, WeightSetDiff } from './assign';

function positiveInteger(config: Record<string, unknown>, key: string, what: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${what}: config.${key} must be a positive integer; got ${JSON.stringify(v)} (is this a Llama config.json?)`);
  }
  return v;
}

/**
 * `name -> shape` of every tensor `LlamaForCausalLM.save_pretrained` writes for `config` (HF config.json
 * keys: vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
 * num_key_value_heads (default num_attention_heads), tie_word_embeddings (default false, as LlamaConfig),
 * attention_bias (default false)). Linear weights are `[out, in]` (torch `nn.Linear`); with tied embeddings
 * `lm_head.weight` is not saved.
 */
export function hfLlamaParameterShapes(config: Record<string, unknown>): Map<string, number[]> {
  const what = 'hfLlamaParameterShapes';
  if (typeof config !== 'object' || config === null) throw new Error(`${what}: config must be the parsed config.json object`);
  const vocab = positiveInteger(config, 'vocab_size', what);
  const hidden = positiveInteger(config, 'hidden_size', what);
  const intermediate = positiveInteger(config, 'intermediate_size', what);
  const layers = positiveInteger(config, 'num_hidden_layers', what);
  const heads = positiveInteger(config, 'num_attention_heads', what);
  const kvHeads = config.num_key_value_heads == null ? heads : positiveInteger(config, 'num_key_value_heads', what);
  if (hidden % heads !== 0) throw new Error(`${what}: hidden_size ${hidden} must be divisible by num_attention_heads ${heads}`);
  if (heads % kvHeads !== 0) throw new Error(`${what}: num_attention_heads ${heads} must be divisible by num_key_value_heads ${kvHeads}`);
  const headDim = hidden / heads;
  const tied = config.tie_word_embeddings === true;
  const bias = config.attention_bias === true;

  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [vocab, hidden]);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    const attn: [string, number, number][] = [
      ['q_proj', heads * headDim, hidden],
      ['k_proj', kvHeads * headDim, hidden],
      ['v_proj', kvHeads * headDim, hidden],
      ['o_proj', hidden, heads * headDim],
    ];
    for (const [name, out, inp] of attn) {
      shapes.set(`${p}.self_attn.${name}.weight`, [out, inp]);
      if (bias) shapes.set(`${p}.self_attn.${name}.bias`, [out]);
    }
    shapes.set(`${p}.mlp.gate_proj.weight`, [intermediate, hidden]);
    shapes.set(`${p}.mlp.up_proj.weight`, [intermediate, hidden]);
    shapes.set(`${p}.mlp.down_proj.weight`, [hidden, intermediate]);
    shapes.set(`${p}.input_layernorm.weight`, [hidden]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [hidden]);
  }
  shapes.set('model.norm.weight', [hidden]);
  if (!tied) shapes.set('lm_head.weight', [vocab, hidden]);
  return shapes;
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
