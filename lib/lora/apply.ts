/**
 * Attaching LoRA to a model (what PEFT's `get_peft_model` does for LongLoRA), merging and unmerging.
 *
 * The model routes each projection through `linear(moduleName, x)`, which adds
 * `adapters.get(moduleName).delta(x)` when an adapter is attached; this module fills that map, so
 * the model code never changes for LoRA.
 */
import type { Tensor2D, Variable } from '../backend';
import { assertFitsInMemory } from '../backend';
import { LoraLinear, makeLoraConfig, foldLoraInto } from './lora';
import type { LoraConfig } from './lora';
import { checkKnownKeys, checkSeed, describe } from '../util/options';

/** What LoRA needs from a model: its weights by Hugging Face name and its adapter map. */
export interface AdaptableModel {
  readonly parameters: Map<string, Variable>;
  readonly adapters: Map<string, { delta(x: Tensor2D): Tensor2D }>;
}

/** The adapters attached to one model. */
export class LoraAdapters {
  private merged = false;
  private disposed = false;

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

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** W += (alpha / r) B A for every adapted projection, and detaches the adapters (same outputs, no extra cost). */
  merge(): void {
    this.assertLive('merge');
    if (this.merged) throw new Error('LoRA merge: the adapters are already merged; unmerge() first');
    for (const [name, layer] of this.layers) {
      foldLoraInto(this.weightOf(name), layer, 1);
      this.model.adapters.delete(name);
    }
    this.merged = true;
  }

  /** Undoes merge(): W -= (alpha / r) B A and re-attaches the adapters. */
  unmerge(): void {
    this.assertLive('unmerge');
    if (!this.merged) throw new Error('LoRA unmerge: the adapters are not merged');
    for (const [name, layer] of this.layers) {
      foldLoraInto(this.weightOf(name), layer, -1);
      this.model.adapters.set(name, layer);
    }
    this.merged = false;
  }

  /**
   * Detaches (if attached) and frees the adapter weights; a second call does nothing. Merged
   * updates stay in the base weights (unmerge() first to remove them).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [name, layer] of this.layers) {
      if (this.model.adapters.get(name) === layer) this.model.adapters.delete(name);
      layer.dispose();
    }
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new Error(`LoRA ${what}: the adapters were disposed; apply LoRA again (applyLora) to get new ones`);
  }

  private weightOf(moduleName: string): Variable {
    const w = this.model.parameters.get(`${moduleName}.weight`);
    if (w === undefined) throw new Error(`LoRA: the model has no ${moduleName}.weight`);
    return w;
  }
}

/** Options of `applyLora` (the LoRA settings themselves are its second argument). */
export interface ApplyLoraOptions {
  /** Seed of the A initialisation (default 0); the same seed gives the same adapters on every backend. */
  seed?: number;
}

/**
 * Attaches LoRA to every projection whose module name ends with a target (default q, k, v, o).
 * Deterministic for a seed. Errors if the model already has adapters or no module matches.
 */
export function applyLora(model: AdaptableModel, overrides: Partial<LoraConfig> = {}, options: ApplyLoraOptions = {}): LoraAdapters {
  checkKnownKeys('applyLora', options, ['seed']);
  const seed = checkSeed('applyLora', options?.seed ?? 0);
  if (model === null || typeof model !== 'object' || !(model.parameters instanceof Map) || !(model.adapters instanceof Map)) {
    throw new Error(`applyLora: model = ${describe(model)} must have a parameters Map and an adapters Map (a LlamaForCausalLM)`);
  }
  const config = makeLoraConfig(overrides);
  if (model.adapters.size > 0) throw new Error(`applyLora: the model already has ${model.adapters.size} adapter(s) attached; dispose() them first`);
  // Up front: the A [r, in] and B [out, r] of every target, so that a huge r is refused with advice
  // instead of failing as "Invalid typed array length" (or the wasm heap) while filling A.
  let elements = 0;
  for (const [name, weight] of model.parameters) {
    const [out = 0, inF = 0] = weight.shape;
    if (config.targets.some((t) => name.replace(/\.weight$/, '').endsWith(`.${t}`))) elements += config.r * (out + inF);
  }
  assertFitsInMemory(4 * elements, `applyLora: r = ${config.r} adapters on ${config.targets.join(', ')} (${elements.toLocaleString('en-US')} float32 weights)`, 'use a smaller r (LongLoRA uses 8) or fewer targets');
  const layers = new Map<string, LoraLinear>();
  let index = 0;
  try {
    for (const [name, weight] of model.parameters) {
      const module = name.replace(/\.weight$/, '');
      if (!config.targets.some((t) => module.endsWith(`.${t}`))) continue;
      const [out, inF] = weight.shape;
      // seeds as before for seeds below 4294 (the generator takes 32 bits: larger ones wrap)
      const layer = new LoraLinear(module, inF, out, config, (seed * 1000003 + 2 * index++) % 2 ** 32);
      layers.set(module, layer);
    }
  } catch (e) {
    for (const layer of layers.values()) layer.dispose();
    throw e;
  }
  if (layers.size === 0) {
    throw new Error(`applyLora: no projection matches targets ${config.targets.join(', ')} (weights look like ${[...model.parameters.keys()].slice(0, 3).join(', ')})`);
  }
  for (const [module, layer] of layers) model.adapters.set(module, layer);
  return new LoraAdapters(model, config, layers);
}
