/**
 * AdamW with decoupled weight decay, exactly as `torch.optim.AdamW` (amsgrad=False, maximize=False):
 * the update LongLoRA's HF `Trainer` runs (`optim="adamw_torch"`, reference §3.2).
 *
 * tfjs ships `tf.train.adam`, whose weight decay would have to be folded into the gradient (L2,
 * not decoupled) and whose bias correction and epsilon placement differ from torch; so this is our
 * own, written from torch's `_single_tensor_adamw` (torch/optim/adamw.py, torch/optim/adam.py):
 *
 *   step_t += 1
 *   p      *= 1 - lr * weight_decay                       (decoupled decay, before the Adam step)
 *   m       = lerp(m, g, 1 - beta1)                        (= beta1 m + (1 - beta1) g)
 *   v       = beta2 v + (1 - beta2) g^2
 *   denom   = sqrt(v) / sqrt(1 - beta2^t) + eps            (eps added after bias-correcting sqrt(v))
 *   p      -= lr / (1 - beta1^t) * m / denom
 *
 * State is per parameter, as in torch: `step`, `exp_avg` (m) and `exp_avg_sq` (v); a parameter whose
 * gradient is absent in a step is left alone (torch skips `p.grad is None`: no decay, no moment or
 * step update). m and v are tf Variables so they live across steps without being re-created.
 */
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { checkOverrides } from './options';

/** Hyper-parameters; defaults are torch.optim.AdamW's. */
export interface AdamWConfig {
  /** Learning rate (the schedule multiplies it; `step(grads, lr)` may override per step). */
  lr: number;
  /** Coefficients of the running averages of g and g^2 (paper: [0.9, 0.95]; HF/torch default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the bias-corrected sqrt(v) for stability. */
  eps: number;
  /** Decoupled weight decay coefficient (LongLoRA: 0). */
  weightDecay: number;
}

/** torch.optim.AdamW defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2). */
export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze({ lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 1e-2 });

/** One parameter's optimizer state, named as in torch's `optimizer.state_dict()`. */
export interface AdamWParamState {
  step: number;
  /** First moment m, same shape as the parameter. */
  expAvg: Tensor;
  /** Second moment v, same shape as the parameter. */
  expAvgSq: Tensor;
}

/** The optimizer's whole state: what a checkpoint needs to resume exactly. */
export interface AdamWState {
  config: AdamWConfig;
  /** Keyed by parameter name (the names given to the constructor). */
  params: Map<string, AdamWParamState>;
}

interface Slot {
  step: number;
  m: Variable;
  v: Variable;
}

/** Validates and completes an AdamW config (unknown keys and out-of-range values are errors). */
export function resolveAdamWConfig(overrides: Partial<AdamWConfig> = {}): AdamWConfig {
  checkOverrides('AdamW config', overrides, ADAMW_DEFAULTS);
  const c: AdamWConfig = { ...ADAMW_DEFAULTS, ...overrides, betas: [...(overrides.betas ?? ADAMW_DEFAULTS.betas)] as [number, number] };
  if (!(Number.isFinite(c.lr) && c.lr >= 0)) throw new Error(`AdamW: lr = ${c.lr} must be a finite number >= 0 (e.g. 2e-5)`);
  if (!Array.isArray(c.betas) || c.betas.length !== 2 || c.betas.some((b) => !(b >= 0 && b < 1))) {
    throw new Error(`AdamW: betas = ${JSON.stringify(c.betas)} must be two numbers in [0, 1), e.g. [0.9, 0.999]`);
  }
  if (!(Number.isFinite(c.eps) && c.eps >= 0)) throw new Error(`AdamW: eps = ${c.eps} must be a finite number >= 0 (e.g. 1e-8)`);
  if (!(Number.isFinite(c.weightDecay) && c.weightDecay >= 0)) {
    throw new Error(`AdamW: weightDecay = ${c.weightDecay} must be a finite number >= 0 (LongLoRA uses 0)`);
  }
  return c;
}

/**
 * AdamW over a fixed, named set of parameters (the trainable ones).
 *
 * `params` maps a name (the HF parameter name, e.g. `model.layers.0.self_attn.q_proj.weight`) to its
 * tf Variable. `step(grads)` takes gradients keyed by the same names; call it inside no tidy (it
 * manages its own memory and keeps only m and v).
 */
export class AdamW {
  readonly config: AdamWConfig;
  private readonly params: Map<string, Variable>;
  private readonly slots = new Map<string, Slot>();
  private disposed = false;

  constructor(params: Map<string, Variable>, config: Partial<AdamWConfig> = {}) {
    this.config = resolveAdamWConfig(config);
    if (params.size === 0) throw new Error('AdamW: no parameters to optimise; pass a non-empty Map of trainable variables');
    for (const [name, p] of params) {
      if (p.dtype !== 'float32') throw new Error(`AdamW: parameter '${name}' has dtype ${p.dtype}; only float32 parameters can be optimised`);
    }
    this.params = new Map(params);
  }

  /** Names of the parameters this optimizer updates, in insertion order. */
  get names(): string[] {
    return [...this.params.keys()];
  }

  /**
   * One update. `grads` maps parameter names to gradients of the parameters' shapes (names not in
   * the optimizer are an error; missing names are skipped, like torch's `grad is None`). `lr`
   * overrides the configured learning rate for this step (what a schedule supplies).
   */
  step(grads: Map<string, Tensor>, lr: number = this.config.lr): void {
    if (this.disposed) throw new Error('AdamW.step: the optimizer was disposed');
    if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`AdamW.step: lr = ${lr} must be a finite number >= 0`);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (p === undefined) throw new Error(`AdamW.step: gradient for '${name}', which is not one of the optimizer's ${this.params.size} parameters`);
      if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`AdamW.step: gradient for '${name}' has shape [${g.shape.join(', ')}] but the parameter is [${p.shape.join(', ')}]`);
      }
    }
    const [beta1, beta2] = this.config.betas;
    const { eps, weightDecay } = this.config;
    for (const [name, g] of grads) {
      const p = this.params.get(name) as Variable;
      const slot = this.slot(name, p);
      slot.step += 1;
      const t = slot.step;
      // Scalars computed in float64 and rounded once, as torch does for its Python-float coefficients.
      const stepSize = lr / (1 - beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const m = tf.add(slot.m, tf.mul(tf.sub(g, slot.m), 1 - beta1)); // torch lerp_ for weight < 0.5
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        const updated = tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize));
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(updated);
      });
    }
  }

  /** Whether m and v exist yet (they are created at each parameter's first update). */
  get hasState(): boolean {
    return this.slots.size > 0;
  }

  /**
   * The optimizer state. With `copy` (default) the tensors are copies the caller owns and disposes;
   * with `copy = false` they are the live m and v (read them, e.g. to save, but never dispose them).
   */
  state(copy = true): AdamWState {
    const params = new Map<string, AdamWParamState>();
    for (const [name, slot] of this.slots) {
      params.set(name, { step: slot.step, expAvg: copy ? tf.clone(slot.m) : slot.m, expAvgSq: copy ? tf.clone(slot.v) : slot.v });
    }
    return { config: { ...this.config, betas: [...this.config.betas] as [number, number] }, params };
  }

  /**
   * Restores a state from `state()` (or a checkpoint). Tensors are copied, so the caller still owns
   * them. Every named parameter must belong to this optimizer with the same shape; hyper-parameters
   * must match (they are part of the run's identity; change them by constructing a new optimizer).
   */
  loadState(state: AdamWState): void {
    if (this.disposed) throw new Error('AdamW.loadState: the optimizer was disposed');
    const differs: string[] = (['lr', 'eps', 'weightDecay'] as const).filter((k) => state.config[k] !== this.config[k]);
    if (state.config.betas[0] !== this.config.betas[0] || state.config.betas[1] !== this.config.betas[1]) differs.push('betas');
    if (differs.length > 0) {
      throw new Error(
        `AdamW.loadState: the saved optimizer has different ${differs.join(', ')} (saved ${JSON.stringify(state.config)}, ` +
          `this one ${JSON.stringify(this.config)}); construct the optimizer with the saved config to resume`,
      );
    }
    for (const [name, s] of state.params) {
      const p = this.params.get(name);
      if (p === undefined) throw new Error(`AdamW.loadState: state for '${name}', which is not one of the optimizer's parameters`);
      for (const [what, t] of [['exp_avg', s.expAvg], ['exp_avg_sq', s.expAvgSq]] as const) {
        if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
          throw new Error(`AdamW.loadState: ${what} of '${name}' has shape [${t.shape.join(', ')}] but the parameter is [${p.shape.join(', ')}]`);
        }
      }
      if (!(Number.isInteger(s.step) && s.step >= 0)) throw new Error(`AdamW.loadState: step of '${name}' = ${s.step} must be an integer >= 0`);
    }
    this.disposeSlots();
    for (const [name, s] of state.params) {
      this.slots.set(name, {
        step: s.step,
        // Inside tidy so the temporary copies go; the variables keep the data.
        m: tf.tidy(() => tf.variable(tf.cast(s.expAvg, 'float32').clone(), false)),
        v: tf.tidy(() => tf.variable(tf.cast(s.expAvgSq, 'float32').clone(), false)),
      });
    }
  }

  /** Frees m and v. The optimizer cannot be used afterwards. */
  dispose(): void {
    this.disposeSlots();
    this.disposed = true;
  }

  private disposeSlots(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
  }

  private slot(name: string, p: Variable): Slot {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = { step: 0, m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)), v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)) };
      this.slots.set(name, slot);
    }
    return slot;
  }
}
