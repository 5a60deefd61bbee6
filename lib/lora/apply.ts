/**
 * Attaching LoRA to a model (what PEFT's `get_peft_model` does for LongLoRA), merging and unmerging.
 *
 * The model routes each projection through `linear(moduleName, x)`, which adds
 * `adapters.get(moduleName).delta(x)` when an adapter is attached; this module fills that map, so
 * the model code never changes for LoRA.
 */
import type { Tensor2D, Variable } from '../backend';
import { LoraLinear, makeLoraConfig, foldLoraInto } from './lora';
import type { LoraConfig } from './lora';
import { isTrainable } from './trainable';
import type { TrainableSet } from './trainable';

/** What LoRA needs from a model: its weights by Hugging Face name and its adapter map. */
export interface AdaptableModel {
  readonly parameters: Map<string, Variable>;
  readonly adapters: Map<string, { delta(x: Tensor2D): Tensor2D }>;
}

/** The adapters attached to one model. */
export class LoraAdapters {
  private merged = false;

  constructor(
    readonly model: AdaptableModel,
    readonly config: LoraConfig,
    readonly layers: Map<string, LoraLinear>,
  ) {}

  /** LoRA weights by name (`model.layers.0.self_attn.q_proj.lora_A.weight`, ...). */
  parameters(): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const layer of this.layers.values()) {
      out.set(`${layer.moduleName}.lora_A.weight`, layer.A);
      out.set(`${layer.moduleName}.lora_B.weight`, layer.B);
    }
    return out;
  }

  /** Base weights and LoRA weights together, for a trainer with a trainable-set predicate. */
  allParameters(): Map<string, Variable> {
    return new Map([...this.model.parameters, ...this.parameters()]);
  }

  get isMerged(): boolean {
    return this.merged;
  }

  /** Dropout (if configured) applies only in training mode. */
  setTraining(training: boolean): void {
    for (const layer of this.layers.values()) layer.training = training;
  }

  /** W += (alpha / r) B A for every adapted projection, and detaches the adapters (same outputs, no extra cost). */
  merge(): void {
    if (this.merged) throw new Error('LoRA merge: the adapters are already merged; unmerge() first');
    for (const [name, layer] of this.layers) {
      foldLoraInto(this.weightOf(name), layer, 1);
      this.model.adapters.delete(name);
    }
    this.merged = true;
  }

  /** Undoes merge(): W -= (alpha / r) B A and re-attaches the adapters. */
  unmerge(): void {
    if (!this.merged) throw new Error('LoRA unmerge: the adapters are not merged');
    for (const [name, layer] of this.layers) {
      foldLoraInto(this.weightOf(name), layer, -1);
      this.model.adapters.set(name, layer);
    }
    this.merged = false;
  }

  /** Detaches (if attached) and frees the adapter weights. */
  dispose(): void {
    for (const [name, layer] of this.layers) {
      if (this.model.adapters.get(name) === layer) this.model.adapters.delete(name);
      layer.dispose();
    }
  }

  private weightOf(moduleName: string): Variable {
    const w = this.model.parameters.get(`${moduleName}.weight`);
    if (w === undefined) throw new Error(`LoRA: the model has no ${moduleName}.weight`);
    return w;
  }
}

/**
 * Attaches LoRA to every projection whose module name ends with a target (default q, k, v, o).
 * Deterministic for a seed. Errors if the model already has adapters or no module matches.
 */
export function applyLora(model: AdaptableModel, overrides: Partial<LoraConfig> = {}, { seed = 0 }: { seed?: number } = {}): LoraAdapters {
  const config = makeLoraConfig(overrides);
  if (model.adapters.size > 0) throw new Error(`applyLora: the model already has ${model.adapters.size} adapter(s) attached; dispose() them first`);
  const layers = new Map<string, LoraLinear>();
  let index = 0;
  for (const [name, weight] of model.parameters) {
    const module = name.replace(/\.weight$/, '');
    if (!config.targets.some((t) => module.endsWith(`.${t}`))) continue;
    const [out, inF] = weight.shape;
    const layer = new LoraLinear(module, inF, out, config, seed * 1000003 + 2 * index++);
    layers.set(module, layer);
    model.adapters.set(module, layer);
  }
  if (layers.size === 0) {
    throw new Error(`applyLora: no projection matches targets ${config.targets.join(', ')} (weights look like ${[...model.parameters.keys()].slice(0, 3).join(', ')})`);
  }
  return new LoraAdapters(model, config, layers);
}

/** The variables a trainable set updates, by name (base weights and LoRA weights). */
export function selectTrainable(parameters: Map<string, Variable>, set: TrainableSet): Map<string, Variable> {
  return new Map([...parameters].filter(([name]) => isTrainable(set, name)));
}
