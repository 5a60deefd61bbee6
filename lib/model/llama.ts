/**
 * `LlamaForCausalLM`: the Llama decoder of Hugging Face transformers (`modeling_llama.py`) on
 * TensorFlow.js, with the same parameter names and layouts, so HF checkpoints load one to one.
 *
 *   embed_tokens -> N x [ x + o_proj(attend(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))  n = RMSNorm(x)
 *                         x + down_proj(silu(gate_proj(n)) * up_proj(n))                  n = RMSNorm(x) ]
 *                -> RMSNorm -> lm_head (or the embedding matrix, when tied) -> logits
 *
 * Attention is whatever `config.attention` names, through `attend` (lib/attention): dense causal
 * at inference, S2-Attn or a mask pattern in training (LongLoRA Section 3.2), without the model
 * knowing. Position interpolation lives in the RoPE tables (./rope). Every projection goes through
 * `linear(name, x)`, where a LoRA adapter (lib/lora) can add its low-rank update by module name.
 *
 * wasm speed: activations are folded to 2-D `[B*T, C]` for every projection, so each matmul is one
 * 2-D product through the `matmul` helper; heads are made contiguous `[B, H, T, D]` once per layer.
 */
import { tf, matmul } from '../backend';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../backend';
import { assertFitsInMemory } from '../backend';
import { attend } from '../attention';
import {
  effectiveContext,
  headDim,
  LLAMA_CONFIG_KEYS,
  makeConfig,
  parameterShapes,
  ropeSettings,
  SHAPE_KEYS,
  validateConfig,
} from './config';
import type { LlamaConfig } from './config';
import { checkKnownKeys, describe } from '../util/options';
import { applyRope, ropeTables } from './rope';
import { checkFlags, checkTokenTensor, describeContext, isTensor, shapeText } from './inputs';
import { labelPicks, meanPickedCrossEntropy } from './loss';
import { rmsNorm, swiglu } from './layers';
import { KVCache } from './kv-cache';
import { SeededRandom } from './random';

/**
 * A trainable low-rank (or any) update added to one projection's output: `linear(name, x) =
 * x W^T + adapter.delta(x)`. x `[N, in]` -> delta `[N, out]`. LoRA (lib/lora) implements this.
 */
export interface LinearAdapter {
  delta(x: Tensor2D): Tensor2D;
}

/** Options of `forward`. */
export interface ForwardOptions {
  /** Inside a training step: training-time attention (S2-Attn, patterns) applies. Default false. */
  training?: boolean;
  /** Generation: attend over the cached positions too, rotate at positions after them, and append. */
  cache?: KVCache;
  /** Allow sequences longer than `effectiveContext(config)` (evaluation past the trained context). */
  allowExtrapolation?: boolean;
}

/** Options of `loss`. */
export interface LossOptions {
  /** int32 `[B, T]` targets (default: the input ids); -100 marks positions that do not count. */
  labels?: Tensor2D;
  /** As in `ForwardOptions`: training-time attention applies. */
  training?: boolean;
  /** As in `ForwardOptions`: allow sequences longer than `effectiveContext(config)`. */
  allowExtrapolation?: boolean;
}

/** Options of `LlamaForCausalLM.create`. */
export interface CreateOptions {
  /** Seed of the initial weights (default 0); the same seed gives the same weights on every backend. */
  seed?: number;
}

/** Config fields that fix parameter shapes; `withConfig` cannot change them. */
const STRUCTURAL_KEYS: readonly (keyof LlamaConfig)[] = [...SHAPE_KEYS, 'tieWordEmbeddings'];

/** Variables shared by the models made from one another (`withConfig`, `extendContext`). */
class SharedWeights {
  holders = 0;
  constructor(readonly variables: Map<string, Variable>) {}
}

/**
 * Llama for causal language modelling (HF `LlamaForCausalLM`). Create with `create` (seeded HF
 * initialisation) or `fromWeights` (a checkpoint), run `forward` for logits and `loss` for the
 * training objective; differentiate with `tf.variableGrads(() => model.loss(ids))`.
 */
export class LlamaForCausalLM {
  /** The validated, frozen config. */
  readonly config: LlamaConfig;
  /** Every weight as a trainable tf.Variable, keyed by Hugging Face name, in HF layout (see `parameterShapes`). */
  readonly parameters: Map<string, Variable>;
  /** Adapters by module name (e.g. `model.layers.0.self_attn.q_proj`); `linear` adds their delta. */
  readonly adapters: Map<string, LinearAdapter>;
  private readonly shared: SharedWeights;
  private disposed = false;

  private constructor(config: LlamaConfig, shared: SharedWeights, adapters: Map<string, LinearAdapter>) {
    const frozen: LlamaConfig = {
      ...config,
      ropeScaling: config.ropeScaling === null ? null : Object.freeze({ ...config.ropeScaling }),
      attention: Object.freeze({ ...config.attention }),
    };
    this.config = Object.freeze(frozen);
    this.shared = shared;
    shared.holders += 1;
    this.parameters = shared.variables;
    this.adapters = adapters;
  }

  /**
   * A new model with Hugging Face's initialisation (`LlamaPreTrainedModel._init_weights`): linear
   * and embedding weights normal(0, initializerRange), RMSNorm weights one. The numbers come from a
   * JavaScript PRNG (./random), so a seed gives identical weights on cpu, wasm and native backends.
   */
  static create(config: LlamaConfig, options: CreateOptions = {}): LlamaForCausalLM {
    checkKnownKeys('LlamaForCausalLM.create', options, ['seed']);
    validateConfig(config);
    const seed = options?.seed ?? 0;
    // [0, 2^32) as every seed of the library: the generator keeps 32 bits, so seed 2^32 (or -1 and
    // 2^32 - 1) would silently give the same weights as another seed
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`LlamaForCausalLM.create: seed = ${describe(seed)} must be an integer in [0, 2^32) (seeds wrap at 32 bits)`);
    }
    const shapes = parameterShapes(config);
    let count = 0;
    for (const s of shapes.values()) count += s.reduce((p, d) => p * d, 1);
    const what = `LlamaForCausalLM.create: ${count.toLocaleString('en-US')} float32 parameters`;
    const fix = 'use a smaller config (the Llama-2 presets are for cost analysis)';
    assertFitsInMemory(4 * count, what, fix);
    const variables = new Map<string, Variable>();
    for (const [name, shape] of shapes) {
      const size = shape.reduce((p, d) => p * d, 1);
      const values = shape.length === 1 ? new Float32Array(size).fill(1) : new SeededRandom(seed, name).normalArray(size, config.initializerRange);
      const initial = tf.tensor(values, shape, 'float32');
      variables.set(name, tf.variable(initial, true));
      initial.dispose(); // the variable holds its own reference to the data
    }
    return new LlamaForCausalLM(config, new SharedWeights(variables), new Map());
  }

  /**
   * A model from named weights (e.g. a safetensors checkpoint), checked strictly against the config:
   * every missing name, unexpected name and shape or dtype mismatch is listed in one error.
   * HF's non-persistent `rotary_emb.inv_freq` buffers, found in older checkpoints, are ignored (they
   * are recomputed from the config, as HF itself does). The variables share the tensors' memory;
   * the caller may dispose the given tensors afterwards.
   */
  static fromWeights(config: LlamaConfig, weights: Map<string, Tensor>): LlamaForCausalLM {
    validateConfig(config);
    if (!(weights instanceof Map)) throw new Error('LlamaForCausalLM.fromWeights: weights must be a Map<string, Tensor> keyed by Hugging Face parameter names');
    const expected = parameterShapes(config);
    const missing: string[] = [];
    const unexpected: string[] = [];
    const mismatched: string[] = [];
    for (const [name, shape] of expected) {
      const t = weights.get(name);
      if (t === undefined) missing.push(name);
      else if (!isTensor(t)) mismatched.push(`${name}: not a tensor`);
      else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        mismatched.push(`${name}: checkpoint ${shapeText(t.shape)} vs config ${shapeText(shape)}`);
      } else if (t.dtype !== 'float32') mismatched.push(`${name}: dtype ${t.dtype}, expected float32`);
    }
    for (const name of weights.keys()) {
      if (!expected.has(name) && !/(^|\.)rotary_emb\.inv_freq$/.test(name)) unexpected.push(name);
    }
    if (missing.length + unexpected.length + mismatched.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing (${missing.length}): ${missing.join(', ')}`);
      if (unexpected.length > 0) {
        const hint = config.tieWordEmbeddings && unexpected.includes('lm_head.weight') ? ' (tieWordEmbeddings is true, so the head is the embedding and lm_head.weight must be absent)' : '';
        parts.push(`unexpected (${unexpected.length}): ${unexpected.join(', ')}${hint}`);
      }
      if (mismatched.length > 0) parts.push(`mismatched (${mismatched.length}): ${mismatched.join('; ')}`);
      throw new Error(`LlamaForCausalLM.fromWeights: the weights do not fit the config. ${parts.join('. ')}`);
    }
    const variables = new Map<string, Variable>();
    for (const name of expected.keys()) variables.set(name, tf.variable(weights.get(name) as Tensor, true));
    return new LlamaForCausalLM(config, new SharedWeights(variables), new Map());
  }

  /**
   * A model that shares this one's variables with some settings changed: rope scaling, context,
   * theta, eps, attention kind. Fields that fix parameter shapes cannot change. Its `adapters` map
   * starts with this model's adapter objects; adding or removing one later affects only that map.
   * Used by `extendContext`; also how to switch attention, e.g. `{ attention: { kind: 's2' } }`.
   */
  withConfig(overrides: Partial<LlamaConfig>): LlamaForCausalLM {
    this.assertLive('withConfig');
    const config = makeConfig(this.config, overrides);
    const changed = STRUCTURAL_KEYS.filter((k) => config[k] !== this.config[k]);
    if (changed.length > 0) {
      const shapeFree = LLAMA_CONFIG_KEYS.filter((k) => !STRUCTURAL_KEYS.includes(k));
      throw new Error(`withConfig: ${changed.join(', ')} would change parameter shapes; a model sharing weights can only change ${shapeFree.join(', ')}`);
    }
    return new LlamaForCausalLM(config, this.shared, new Map(this.adapters));
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * One projection by HF module name: `x W^T` (+ the adapter's delta when one is set).
   * x `[N, in]` -> `[N, out]`. `'lm_head'` uses the embedding matrix when the embeddings are tied.
   */
  linear(moduleName: string, x: Tensor2D): Tensor2D {
    const weight = moduleName === 'lm_head' && this.config.tieWordEmbeddings ? this.parameters.get('model.embed_tokens.weight') : this.parameters.get(`${moduleName}.weight`);
    if (weight === undefined || weight.rank !== 2) {
      throw new Error(`linear: '${moduleName}' is not a projection of this model; names look like 'model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.down_proj' or 'lm_head'`);
    }
    return tf.tidy(() => {
      const y = matmul(x, weight, false, true) as Tensor2D; // [N, out]
      const adapter = this.adapters.get(moduleName);
      return adapter === undefined ? y : (tf.add(y, adapter.delta(x)) as Tensor2D);
    });
  }

  /**
   * Logits `[B, T, V]` (float32) for int32 token ids `[B, T]`. Throws for ids outside the
   * vocabulary, and for sequences (cache included) longer than `effectiveContext(config)` unless
   * `allowExtrapolation`. With a `cache`, the ids continue the cached sequences.
   */
  forward(inputIds: Tensor2D, options: ForwardOptions = {}): Tensor3D {
    this.assertLive('forward');
    checkKnownKeys('forward', options, ['training', 'cache', 'allowExtrapolation']);
    checkFlags('forward', options);
    const { b, t } = checkTokenTensor(inputIds, 'forward: inputIds', this.config.vocabSize, false);
    return this.run(inputIds, b, t, options);
  }

  /**
   * HF `LlamaForCausalLM` loss: mean cross-entropy of logits[:, :-1] against labels[:, 1:] (labels
   * default to the input ids; -100 labels do not count), with a numerically stable float32
   * log-softmax. Throws when no label counts (HF would return NaN).
   */
  loss(inputIds: Tensor2D, options: LossOptions = {}): tf.Scalar {
    this.assertLive('loss');
    checkKnownKeys('loss', options, ['labels', 'training', 'allowExtrapolation']);
    checkFlags('loss', options);
    const v = this.config.vocabSize;
    const { b, t } = checkTokenTensor(inputIds, 'loss: inputIds', v, false);
    let labels: Int32Array;
    if (options.labels === undefined) labels = inputIds.dataSync() as Int32Array;
    else {
      const checked = checkTokenTensor(options.labels, 'loss: labels', v, true);
      if (checked.b !== b || checked.t !== t) {
        throw new Error(`loss: labels shape ${shapeText(options.labels.shape)} must equal inputIds shape ${shapeText(inputIds.shape)} (the shift happens inside)`);
      }
      labels = checked.values;
    }
    const picks = labelPicks(labels, b, t, v, 'loss');
    return tf.tidy(() => meanPickedCrossEntropy(this.run(inputIds, b, t, { training: options.training, allowExtrapolation: options.allowExtrapolation }), picks));
  }

  /**
   * Frees the variables once no model sharing them (`withConfig`, `extendContext`) is left.
   * Adapters belong to their creator and are not disposed.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.shared.holders -= 1;
    if (this.shared.holders === 0) for (const variable of this.shared.variables.values()) variable.dispose();
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new Error(`LlamaForCausalLM.${what}: this model was disposed`);
  }

  /** The forward pass after input checks. */
  private run(inputIds: Tensor2D, b: number, t: number, options: ForwardOptions): Tensor3D {
    const { training = false, cache, allowExtrapolation = false } = options;
    const cfg = this.config;
    const past = this.checkCache(cache, b, training);
    const total = past + t;
    const context = effectiveContext(cfg);
    if (total > context && !allowExtrapolation) {
      const length = past > 0 ? `${past} cached + ${t} new = ${total} positions` : `${t} positions`;
      throw new Error(
        `forward: ${length} exceed the model's context of ${context} (${describeContext(cfg)}); ` +
          `pass { allowExtrapolation: true } to evaluate past it, or use extendContext(model, ${total}, 'linear') for position interpolation`,
      );
    }
    // Up front, before any layer runs: the logits [B, T, V] and one layer's activations must fit.
    // Without this a far too large call computes every layer first and then dies in the lm_head
    // product (a RangeError on cpu, the native allocator on tensorflow).
    assertFitsInMemory(
      4 * b * t * (cfg.vocabSize + 4 * cfg.hiddenSize + 2 * cfg.intermediateSize),
      `forward of ${b} x ${t} tokens (logits [${b}, ${t}, ${cfg.vocabSize}])`,
      'use a smaller batch or shorter sequences (e.g. evaluate one window at a time)',
    );
    const d = headDim(cfg);
    const h = cfg.numAttentionHeads;
    const hkv = cfg.numKeyValueHeads;
    const rope = ropeSettings(cfg);
    const newKeys: Tensor4D[] = [];
    const newValues: Tensor4D[] = [];
    try {
      const logits = tf.tidy(() => {
        const toHeads = (x: Tensor2D, heads: number): Tensor4D => tf.transpose(tf.reshape(x, [b, t, heads, d]), [0, 2, 1, 3]) as Tensor4D; // [B, heads, T, D]
        const fromHeads = (x: Tensor4D): Tensor2D => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * t, h * d]) as Tensor2D; // [B*T, C]
        const { cos, sin } = ropeTables(rope, past, t, total); // [T, D]
        let x = tf.gather(this.param('model.embed_tokens.weight'), tf.reshape(inputIds, [b * t])) as Tensor2D; // [B*T, C]
        for (let i = 0; i < cfg.numHiddenLayers; i++) {
          const p = `model.layers.${i}`;
          const n1 = rmsNorm(x, this.param(`${p}.input_layernorm.weight`) as Tensor1D, cfg.rmsNormEps);
          const q = applyRope(toHeads(this.linear(`${p}.self_attn.q_proj`, n1), h), cos, sin); // [B, H, T, D]
          let k = applyRope(toHeads(this.linear(`${p}.self_attn.k_proj`, n1), hkv), cos, sin); // [B, Hkv, T, D]
          let v = toHeads(this.linear(`${p}.self_attn.v_proj`, n1), hkv); // [B, Hkv, T, D]
          const cached = cache?.layer(i) ?? null;
          if (cache !== undefined) {
            if (cached !== null) {
              k = tf.concat([cached.keys, k], 2) as Tensor4D; // [B, Hkv, past + T, D]
              v = tf.concat([cached.values, v], 2) as Tensor4D;
            }
            newKeys.push(tf.keep(k));
            newValues.push(tf.keep(v));
          }
          const attended = attend(cfg.attention, q, k, v, { training, layer: i }); // [B, H, T, D]
          x = tf.add(x, this.linear(`${p}.self_attn.o_proj`, fromHeads(attended))) as Tensor2D;
          const n2 = rmsNorm(x, this.param(`${p}.post_attention_layernorm.weight`) as Tensor1D, cfg.rmsNormEps);
          const gated = swiglu(this.linear(`${p}.mlp.gate_proj`, n2), this.linear(`${p}.mlp.up_proj`, n2)); // [B*T, F]
          x = tf.add(x, this.linear(`${p}.mlp.down_proj`, gated)) as Tensor2D;
        }
        const normed = rmsNorm(x, this.param('model.norm.weight') as Tensor1D, cfg.rmsNormEps);
        return tf.reshape(this.linear('lm_head', normed), [b, t, cfg.vocabSize]) as Tensor3D; // [B, T, V]
      });
      cache?.update(newKeys, newValues);
      return logits;
    } catch (e) {
      for (const tensor of [...newKeys, ...newValues]) tensor.dispose();
      throw e;
    }
  }

  /** Validates a cache against the batch and mode; returns the number of cached positions. */
  private checkCache(cache: KVCache | undefined, b: number, training: boolean): number {
    if (cache === undefined) return 0;
    if (!(cache instanceof KVCache)) throw new Error('forward: options.cache must be a KVCache');
    if (cache.isDisposed) throw new Error('forward: options.cache was disposed; create a new KVCache(config.numHiddenLayers)');
    if (training) throw new Error('forward: a KV cache is for generation; a training forward pass takes whole sequences without { cache }');
    if (cache.numLayers !== this.config.numHiddenLayers) {
      throw new Error(`forward: the cache has ${cache.numLayers} layers but the model ${this.config.numHiddenLayers}; create it with new KVCache(config.numHiddenLayers)`);
    }
    const cachedBatch = cache.batchSize;
    if (cachedBatch !== null && cachedBatch !== b) {
      throw new Error(`forward: inputIds have batch ${b} but the cache holds ${cachedBatch} sequences; continue every cached sequence together`);
    }
    return cache.length;
  }

  private param(name: string): Variable {
    const p = this.parameters.get(name);
    if (p === undefined) throw new Error(`LlamaForCausalLM: parameter '${name}' is missing`);
    return p;
  }
}
