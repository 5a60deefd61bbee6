/**
 * `longLora`: LongLoRA's training set-up in one call (Chen et al. 2023, §3; official `fine-tune.py`):
 *
 *   1. position interpolation: RoPE scaling factor ceil(contextLength / maxPositionEmbeddings),
 *      applied only when contextLength exceeds the model's context (fine-tune.py:
 *      `if model_max_length > orig_ctx_len: rope_scaling = {"type": "linear", "factor": ...}`);
 *   2. the training-time attention: S2-Attn with G = N/4 (`replace_llama_attn`); the model still
 *      runs dense causal attention outside training, as LongLoRA evaluates (eval.py `use_full`);
 *   3. LoRA on the attention projections (`LoraConfig(r=8, lora_alpha=16, lora_dropout=0,
 *      target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])`, PEFT `get_peft_model`);
 *   4. the trainable set: LoRA plus every parameter whose name contains `embed` or `norm`
 *      (`--trainable_params "embed,norm"`): the paper's LoRA+.
 *
 * What it returns is a `TrainableModel` the Trainer takes as it is: the parameters (base and
 * LoRA), the trainable names, a loss on the batch's host ids, the memory estimate of a batch shape,
 * and `dispose()`. The by-hand route (`extendContext`, `withConfig`, `applyLora`, a trainable list)
 * stays supported and gives the same numbers.
 *
 *   const base = ll.LlamaForCausalLM.create(ll.presets.small, { seed: 0 });      // context 256
 *   const run = ll.longLora(base, { contextLength: 1024 });                       // the official recipe
 *   const batches = new ll.WindowBatcher(tokens, { seqLen: 1024, batchSize: 1, seed: 0 });
 *   const trainer = new ll.Trainer(run, batches, { steps: 200 });
 *   await trainer.train();
 *   await ll.evaluatePerplexity(run.model, heldOut, { seqLens: [256, 512, 1024] }); // dense attention
 *   await ll.savePeftAdapter('out/adapter', run.lora);
 *   trainer.dispose();
 *   run.dispose();                                                                   // base stays yours
 *
 * Every option spelt out (the defaults): `{ contextLength, scaling: 'linear', attention: { kind:
 * 's2' }, trainable: 'lora+norm+embed', lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj',
 * 'k_proj', 'v_proj', 'o_proj'] }, seed: 0 }`.
 */
import { tf } from '../backend';
import type { Tensor2D, Variable } from '../backend';
import type { AttentionSpec } from '../attention';
import { LlamaForCausalLM, effectiveContext, extendContext, labelPicks, meanPickedCrossEntropy } from '../model';
import type { ContextExtensionMethod, LlamaConfig } from '../model';
import { applyLora, makeLoraConfig, selectTrainable, TRAINABLE_SETS, DEFAULT_LORA_CONFIG } from '../lora';
import type { LoraAdapters, LoraConfig, TrainableSet } from '../lora';
import { checkKnownKeys, checkPositiveInt, checkSeed, describe } from '../util/options';
import { checkTrainBatch } from './inputs';
import { activationBytes } from './memory';
import type { TrainableModel, TrainBatch } from './types';

/** Options of `longLora`; everything but `contextLength` defaults to the official recipe. */
export interface LongLoraOptions<T extends TrainableSet = TrainableSet> {
  /** Tokens per training sequence (official `model_max_length`, e.g. 8192); the RoPE scaling is set for it. Required. */
  contextLength: number;
  /** How RoPE is stretched: 'linear' position interpolation (LongLoRA), or 'ntk' / 'yarn'. */
  scaling?: ContextExtensionMethod;
  /** The training-time attention (default `{ kind: 's2' }`: S2-Attn, G = N/4; dense at inference). */
  attention?: AttentionSpec;
  /** What trains (default 'lora+norm+embed', LongLoRA's LoRA+); 'full' applies no LoRA. */
  trainable?: T;
  /**
   * LoRA settings over the official r 8, alpha 16, dropout 0, targets q, k, v, o. Dropout applies in
   * training passes only; its masks come from per-layer counters that checkpoints do not save, so
   * resume is exact with the official dropout 0 only.
   */
  lora?: Partial<LoraConfig>;
  /** Seed of LoRA's A initialisation (default 0). */
  seed?: number;
}

/** The official recipe: everything `longLora` fills in. */
export const LONGLORA_DEFAULTS: Readonly<{ scaling: ContextExtensionMethod; attention: AttentionSpec; trainable: TrainableSet; lora: Readonly<LoraConfig>; seed: number }> = Object.freeze({
  scaling: 'linear' as ContextExtensionMethod,
  attention: Object.freeze({ kind: 's2' }) as AttentionSpec,
  trainable: 'lora+norm+embed' as TrainableSet,
  lora: Object.freeze({ ...DEFAULT_LORA_CONFIG, targets: Object.freeze([...DEFAULT_LORA_CONFIG.targets]) as string[] }),
  seed: 0,
});

const OPTION_KEYS = ['contextLength', 'scaling', 'attention', 'trainable', 'lora', 'seed'];
const SCALINGS: readonly ContextExtensionMethod[] = ['linear', 'ntk', 'yarn'];

/** The adapters of a trainable set: none for 'full'. */
export type LoraOf<T extends TrainableSet> = T extends 'full' ? null : LoraAdapters;

/**
 * A model set up for LongLoRA fine-tuning (see the file comment); a `TrainableModel`. `model` is the
 * extended model with the training attention and the adapters: evaluate and generate with it (dense
 * attention outside training). The base model passed to `longLora` shares its weights (embeddings
 * and norms train in place, as in the official code) and stays the caller's.
 */
export class LongLoraModel<T extends TrainableSet = TrainableSet> implements TrainableModel {
  /** Base weights and LoRA weights by name (the order fixes the optimizer's layout). */
  readonly parameters: Map<string, Variable>;
  /** What the trainable set selects, in parameter order (the Trainer's default selection). */
  readonly trainableNames: readonly string[];
  private disposed = false;

  constructor(
    /** The model that trains: extended context, training attention, adapters attached. */
    readonly model: LlamaForCausalLM,
    /** The LoRA adapters (save them with `savePeftAdapter`, fold them in with `merge()`); null for 'full'. */
    readonly lora: LoraOf<T>,
    readonly trainable: T,
  ) {
    const adapters = lora as LoraAdapters | null;
    this.parameters = adapters === null ? new Map(model.parameters) : adapters.allParameters();
    this.trainableNames = Object.freeze([...selectTrainable(this.parameters, trainable).keys()]);
  }

  /** The model's config (context, rope scaling, attention): saved with checkpoints, compared on resume. */
  get config(): LlamaConfig {
    return this.model.config;
  }

  /** The model's loss on tensors (`LlamaForCausalLM.loss`): for evaluation hooks and by-hand use. */
  loss(inputIds: Tensor2D, options: { labels?: Tensor2D; training?: boolean; allowExtrapolation?: boolean } = {}): tf.Scalar {
    this.assertLive('loss');
    return this.model.loss(inputIds, options);
  }

  /**
   * HF's causal-LM loss of a batch (mean cross-entropy of each position's prediction of the next
   * label; -100 labels do not count; labels default to the ids), with the labels taken from the
   * batch's host arrays. `LlamaForCausalLM.loss` takes tensors and reads the labels back from the
   * device; this is the same computation (lib/model/loss.ts), without that read.
   */
  batchLoss(batch: TrainBatch, options: { training: boolean } = { training: true }): tf.Scalar {
    this.assertLive('batchLoss');
    checkTrainBatch(batch, 'LongLoraModel.batchLoss');
    checkKnownKeys('LongLoraModel.batchLoss', options, ['training']);
    const { batchSize: b, seqLen: t } = batch;
    const v = this.config.vocabSize;
    // the labels are read from the batch's host arrays: nothing comes back from the device
    // without batch.labels the labels are the ids: name them as ids, not as labels the caller never gave
    const picks = batch.labels === undefined ? labelPicks(batch.inputIds, b, t, v, 'LongLoraModel.batchLoss', 'token id') : labelPicks(batch.labels, b, t, v, 'LongLoraModel.batchLoss');
    const adapters = this.lora as LoraAdapters | null;
    adapters?.setTraining(options.training); // LoRA dropout (official 0) only in training passes
    try {
      return tf.tidy(() => {
        const logits = this.model.forward(tf.tensor2d(batch.inputIds, [b, t], 'int32'), { training: options.training }); // checks the ids
        return meanPickedCrossEntropy(logits, picks);
      });
    } finally {
      adapters?.setTraining(false);
    }
  }

  /**
   * Bytes the forward and backward pass of one `batchSize x seqLen` micro-batch keep alive, from
   * lib/cost's calibrated memory model for this config (its attention, LoRA's widths): what the
   * Trainer's memory guard adds to the gradients and optimizer state.
   */
  activationBytes(batchSize: number, seqLen: number): number {
    checkPositiveInt('LongLoraModel.activationBytes', 'batchSize', batchSize);
    checkPositiveInt('LongLoraModel.activationBytes', 'seqLen', seqLen);
    const adapters = this.lora as LoraAdapters | null;
    return activationBytes(this.config, batchSize, seqLen, { lora: adapters === null ? false : adapters.config });
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Frees what `longLora` made: the adapters (detached) and the extended model's hold on the shared
   * weights. The base model stays alive and keeps what training changed in its embeddings and norms.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    (this.lora as LoraAdapters | null)?.dispose();
    this.model.dispose();
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new Error(`LongLoraModel.${what}: this LongLoRA model was disposed; call longLora(...) again`);
  }
}

/**
 * LongLoRA's fine-tuning set-up of `model` in one call (see the file comment): position
 * interpolation to `contextLength`, the training attention, LoRA on the projections and the
 * trainable set. Defaults are the official recipe (LONGLORA_DEFAULTS). `model` must have no adapters.
 */
export function longLora<T extends TrainableSet = 'lora+norm+embed'>(model: LlamaForCausalLM, options: LongLoraOptions<T>): LongLoraModel<T> {
  if (!(model instanceof LlamaForCausalLM)) throw new Error(`longLora: model = ${describe(model)} must be a LlamaForCausalLM (create one, or load it with loadHFCheckpoint and fromWeights)`);
  if (model.isDisposed) throw new Error('longLora: the model was disposed');
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new Error(`longLora: options = ${describe(options)}; pass at least { contextLength }, the tokens per training sequence (e.g. { contextLength: 8192 })`);
  }
  checkKnownKeys('longLora', options, OPTION_KEYS);
  if (options.contextLength === undefined) throw new Error('longLora: contextLength is required: the tokens per training sequence (official model_max_length, e.g. 8192)');
  const contextLength = checkPositiveInt('longLora', 'contextLength', options.contextLength);
  const scaling = options.scaling ?? LONGLORA_DEFAULTS.scaling;
  if (!SCALINGS.includes(scaling)) throw new Error(`longLora: scaling = ${describe(scaling)} must be one of ${SCALINGS.map((s) => `'${s}'`).join(', ')} ('linear' is LongLoRA's position interpolation)`);
  const attention = options.attention ?? LONGLORA_DEFAULTS.attention;
  if (attention === null || typeof attention !== 'object' || typeof (attention as { kind?: unknown }).kind !== 'string') {
    throw new Error(`longLora: attention = ${describe(attention)} must be an attention spec such as { kind: 's2' } (S2-Attn) or { kind: 'full' }`);
  }
  const trainable = (options.trainable ?? LONGLORA_DEFAULTS.trainable) as T;
  if (!(TRAINABLE_SETS as readonly string[]).includes(trainable)) {
    throw new Error(`longLora: trainable = ${describe(trainable)} must be one of ${TRAINABLE_SETS.map((s) => `'${s}'`).join(', ')} ('lora+norm+embed' is LongLoRA's LoRA+)`);
  }
  if (trainable === 'full' && options.lora !== undefined) throw new Error("longLora: lora settings were given but trainable is 'full', which applies no LoRA; drop lora or pick a LoRA set such as 'lora+norm+embed'");
  const loraConfig = makeLoraConfig(options.lora ?? {});
  const seed = checkSeed('longLora', options.seed ?? LONGLORA_DEFAULTS.seed);
  if (model.adapters.size > 0) throw new Error(`longLora: the model already has ${model.adapters.size} adapter(s) attached; pass the base model (dispose() the adapters first)`);

  const extended = contextLength > effectiveContext(model.config) ? extendContext(model, contextLength, scaling) : model;
  let trained: LlamaForCausalLM;
  try {
    trained = extended.withConfig({ attention }); // throws for a malformed attention spec
  } finally {
    // `trained` holds the shared weights now; on a throw, the extended model's hold must go too, or
    // the base's variables would outlive base.dispose()
    if (extended !== model) extended.dispose();
  }
  let lora: LoraAdapters | null = null;
  try {
    lora = trainable === 'full' ? null : applyLora(trained, loraConfig, { seed });
    return new LongLoraModel<T>(trained, lora as LoraOf<T>, trainable);
  } catch (e) {
    lora?.dispose();
    trained.dispose();
    throw e;
  }
}
