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
 */
import type { LoraConfig } from './lora';
import { DEFAULT_LORA_CONFIG } from './lora';
import { parameterShapes } from '../model/config';
import type { LlamaConfig } from '../model/config';

export type TrainableSet = 'full' | 'lora' | 'lora+norm' | 'lora+embed' | 'lora+norm+embed';

export const TRAINABLE_SETS: readonly TrainableSet[] = ['full', 'lora', 'lora+norm', 'lora+embed', 'lora+norm+embed'];

/** True for LoRA adapter weights (`...q_proj.lora_A.weight`, `...lora_B.weight`). */
export function isLoraParameter(name: string): boolean {
  return /\.lora_[AB]\.weight$/.test(name);
}

function checkSet(set: string): TrainableSet {
  if (!(TRAINABLE_SETS as readonly string[]).includes(set)) {
    throw new Error(`trainable set '${set}' is not one of ${TRAINABLE_SETS.join(', ')} ('lora+norm+embed' is LongLoRA's LoRA+)`);
  }
  return set as TrainableSet;
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
