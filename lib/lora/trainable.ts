/**
 * Trainable sets: which weights a fine-tuning run updates.
 *
 * LongLoRA's "LoRA+" (paper §3.3, Table 2) is LoRA on the attention projections plus trainable
 * embedding and normalisation layers, chosen by the official rule (fine-tune.py,
 * `--trainable_params "embed,norm"`): every parameter whose Hugging Face name contains `embed` or
 * `norm` is trainable. For Llama that is `model.embed_tokens`, every `input_layernorm` and
 * `post_attention_layernorm`, and the final `model.norm`; it is not `lm_head`.
 *
 * Not to be confused with "LoRA+" of Hayou et al. (2024), an optimiser setting with a larger
 * learning rate for B than for A: the LongLoRA paper's LoRA+ is about which layers train.
 *
 * `selectTrainable` is the library's one rule for turning a selection (a set, a list of names, a
 * predicate, or null for all) into the variables that train: the Trainer and `longLora` both use it.
 */
import type { Variable } from '../backend';
import type { LoraConfig } from './lora';
import { DEFAULT_LORA_CONFIG } from './lora';
import { parameterShapes } from '../model/config';
import { describe } from '../util/options';
import type { LlamaConfig } from '../model/config';

export type TrainableSet = 'full' | 'lora' | 'lora+norm' | 'lora+embed' | 'lora+norm+embed';

export const TRAINABLE_SETS: readonly TrainableSet[] = ['full', 'lora', 'lora+norm', 'lora+embed', 'lora+norm+embed'];

/** True for LoRA adapter weights (`...q_proj.lora_A.weight`, `...lora_B.weight`). */
export function isLoraParameter(name: string): boolean {
  return /\.lora_[AB]\.weight$/.test(name);
}

function checkSet(set: string): TrainableSet {
  if (!(TRAINABLE_SETS as readonly string[]).includes(set)) {
    throw new Error(`trainable set ${typeof set === 'string' ? `'${set}'` : describe(set)} is not one of ${TRAINABLE_SETS.join(', ')} ('lora+norm+embed' is LongLoRA's LoRA+)`);
  }
  return set as TrainableSet;
}

/**
 * Which parameters train: a trainable set (`'lora+norm+embed'`, ...), every parameter (`null`),
 * an explicit list of names, or a predicate on the name (e.g. lib/train `nameContains`).
 */
export type TrainableSelection = TrainableSet | null | readonly string[] | ((name: string) => boolean);

/**
 * The variables `selection` trains, by name, in the order of `parameters` (the model's order, which
 * fixes the optimizer's layout). Throws when the selection is malformed, names a parameter the model
 * lacks, or selects nothing, naming the fix.
 */
export function selectTrainable(parameters: Map<string, Variable>, selection: TrainableSelection): Map<string, Variable> {
  const names = [...parameters.keys()];
  const example = names.slice(0, 3).join(', ');
  let chosen: string[];
  if (selection === null) chosen = names;
  else if (typeof selection === 'string') {
    const set = checkSet(selection);
    chosen = names.filter((n) => isTrainable(set, n));
    // a LoRA set without LoRA weights would quietly train only the embeddings and norms (or nothing)
    if (set !== 'full' && !chosen.some(isLoraParameter)) {
      throw new Error(`trainable: '${set}' selects no LoRA weights among the model's ${names.length} parameters (e.g. ${example}); apply LoRA first (applyLora, or longLora for the whole recipe), or use 'full'`);
    }
    if (chosen.length === 0) throw new Error(`trainable: 'full' selects none of the model's ${names.length} parameters (all are LoRA weights: ${example}); pass the base weights too (LoraAdapters.allParameters())`);
  } else if (typeof selection === 'function') {
    chosen = names.filter((n) => selection(n));
    if (chosen.length === 0) {
      throw new Error(`trainable: the predicate selects none of the model's ${names.length} parameters (e.g. ${example}); check the names it tests for`);
    }
  } else if (Array.isArray(selection) && selection.every((n) => typeof n === 'string')) {
    const missing = selection.filter((n) => !parameters.has(n));
    if (missing.length > 0) {
      throw new Error(`trainable: ${missing.map((n) => `'${n}'`).join(', ')} not among the model's parameters (e.g. ${example}); use exact names or a predicate such as nameContains(['norm'])`);
    }
    if (selection.length === 0) throw new Error('trainable: the list is empty; pass null to train every parameter');
    const listed = new Set(selection);
    chosen = names.filter((n) => listed.has(n)); // model order, no duplicates
  } else {
    throw new Error(
      `trainable = ${describe(selection)} must be a trainable set (${TRAINABLE_SETS.map((s) => `'${s}'`).join(', ')}), null (all), a list of parameter names, or a predicate (name) => boolean`,
    );
  }
  return new Map(chosen.map((n) => [n, parameters.get(n) as Variable]));
}

/** Whether `name` (a Hugging Face weight name or a LoRA weight name) trains under `set`. */
export function isTrainable(set: TrainableSet, name: string): boolean {
  checkSet(set);
  if (set === 'full') return !isLoraParameter(name);
  if (isLoraParameter(name)) return true;
  return (set.includes('+norm') && name.includes('norm')) || (set.includes('+embed') && name.includes('embed'));
}

/** The LoRA weights `applyLora` would add, by name, with PEFT shapes (A [r, in], B [out, r]). */
export function loraParameterShapes(c: LlamaConfig, lora: LoraConfig = DEFAULT_LORA_CONFIG): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [name, shape] of parameterShapes(c)) {
    const module = name.replace(/\.weight$/, '');
    if (!lora.targets.some((t) => module.endsWith(`.${t}`))) continue;
    out.set(`${module}.lora_A.weight`, [lora.r, shape[1]]);
    out.set(`${module}.lora_B.weight`, [shape[0], lora.r]);
  }
  return out;
}

export interface ParameterCounts {
  /** Embedding weights (`embed_tokens`). */
  embed: number;
  /** Every RMSNorm weight. */
  norm: number;
  /** LoRA A and B (0 for 'full'). */
  lora: number;
  /** Attention projections q, k, v, o. */
  attention: number;
  /** SwiGLU gate, up, down. */
  mlp: number;
  /** `lm_head` (0 when tied to the embedding). */
  head: number;
  /** What the set trains. */
  trainable: number;
  /** Base model plus adapters. */
  total: number;
}

const size = (shape: number[]): number => shape.reduce((p, x) => p * x, 1);

/** Parameter counts per group and what `set` trains, from the config alone (nothing allocated). */
export function trainableParameterCounts(c: LlamaConfig, set: TrainableSet, lora: LoraConfig = DEFAULT_LORA_CONFIG): ParameterCounts {
  checkSet(set);
  const counts: ParameterCounts = { embed: 0, norm: 0, lora: 0, attention: 0, mlp: 0, head: 0, trainable: 0, total: 0 };
  const all = new Map(parameterShapes(c));
  if (set !== 'full') for (const [n, s] of loraParameterShapes(c, lora)) all.set(n, s);
  for (const [name, shape] of all) {
    const n = size(shape);
    if (isLoraParameter(name)) counts.lora += n;
    else if (name.includes('embed')) counts.embed += n;
    else if (name.includes('norm')) counts.norm += n;
    else if (name.includes('self_attn')) counts.attention += n;
    else if (name.includes('mlp')) counts.mlp += n;
    else counts.head += n;
    counts.total += n;
    if (isTrainable(set, name)) counts.trainable += n;
  }
  return counts;
}
