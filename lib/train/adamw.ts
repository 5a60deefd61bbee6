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
 * step update). m and v are stored flat per group of parameters (see GROUP_ELEMENTS) in tf Variables,
 * so they live across steps without being re-created.
 */
import { tf } from '../backend';
import type { Tensor, Variable } from '../backend';
import { checkKnownKeys, describe } from '../util/options';

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

/**
 * Parameters are updated in groups: each group's m and v are one flat buffer, and its parameters'
 * gradients and values are concatenated for the update, so a step runs about ten element-wise ops
 * per group instead of ten per parameter (on the native backend each op has a fixed cost that small
 * tensors do not amortise). A group holds consecutive parameters up to GROUP_ELEMENTS (4 MiB of
 * floats) in all; a larger parameter is a group of its own. That bounds a step's temporaries to a few
 * group-sized buffers.
 */
export const GROUP_ELEMENTS = 1 << 20;

interface Group {
  names: string[];
  sizes: number[];
  total: number;
  m: Variable | null;
  v: Variable | null;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * Validates and completes an AdamW config (unknown keys and out-of-range values are errors).
 *
 * eps must be > 0. torch accepts eps = 0, but then any entry whose gradient has been exactly 0 at
 * every step so far (an embedding row of a token not yet seen, a frozen-in-effect weight) has
 * m = v = 0 and its update is 0 / 0 = NaN, which poisons the weight and shows up one step later as a
 * "divergence" that no learning rate cures. Refusing it here says what is wrong; guarding the
 * division instead would cost an op per update group on every step and still differ from torch.
 */
export function resolveAdamWConfig(overrides: Partial<AdamWConfig> = {}): AdamWConfig {
  checkKnownKeys('AdamW config', overrides, Object.keys(ADAMW_DEFAULTS));
  const given: Partial<AdamWConfig> = overrides ?? {};
  const betas: unknown = given.betas ?? ADAMW_DEFAULTS.betas;
  if (!(Array.isArray(betas) && betas.length === 2 && betas.every((b) => isNumber(b) && b >= 0 && b < 1))) {
    const shown = Array.isArray(betas) ? `[${betas.map((b) => describe(b)).join(', ')}]` : describe(betas);
    throw new Error(`AdamW: betas = ${shown} must be two numbers in [0, 1), e.g. [0.9, 0.999]`);
  }
  const c: AdamWConfig = { ...ADAMW_DEFAULTS, ...given, betas: [...betas] as [number, number] };
  if (!(isNumber(c.lr) && c.lr >= 0)) throw new Error(`AdamW: lr = ${describe(c.lr)} must be a finite number >= 0 (e.g. 2e-5)`);
  if (!(isNumber(c.eps) && c.eps > 0)) {
    throw new Error(`AdamW: eps = ${describe(c.eps)} must be a finite number > 0 (e.g. 1e-8): with eps 0 a weight whose gradient has always been 0 gets the update 0 / 0 = NaN`);
  }
  if (!(isNumber(c.weightDecay) && c.weightDecay >= 0)) {
    throw new Error(`AdamW: weightDecay = ${describe(c.weightDecay)} must be a finite number >= 0 (LongLoRA uses 0)`);
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
  private readonly groups: Group[] = [];
  private readonly groupOf = new Map<string, { group: Group; offset: number; index: number }>();
  /** Updates done per parameter (torch's per-parameter `step`); absent until its first update. */
  private readonly steps = new Map<string, number>();
  private disposed = false;

  constructor(params: Map<string, Variable>, config: Partial<AdamWConfig> = {}) {
    this.config = resolveAdamWConfig(config);
    if (!(params instanceof Map)) throw new Error(`AdamW: params = ${describe(params)} must be a Map<string, tf.Variable> of the trainable parameters by name`);
    if (params.size === 0) throw new Error('AdamW: no parameters to optimise; pass a non-empty Map of trainable variables');
    for (const [name, p] of params) {
      if (p.dtype !== 'float32') throw new Error(`AdamW: parameter '${name}' has dtype ${p.dtype}; only float32 parameters can be optimised`);
    }
    this.params = new Map(params);
    for (const [name, p] of params) {
      let group = this.groups[this.groups.length - 1];
      if (group === undefined || (group.total > 0 && group.total + p.size > GROUP_ELEMENTS)) {
        group = { names: [], sizes: [], total: 0, m: null, v: null };
        this.groups.push(group);
      }
      this.groupOf.set(name, { group, offset: group.total, index: group.names.length });
      group.names.push(name);
      group.sizes.push(p.size);
      group.total += p.size;
    }
  }

  /** Names of the parameters this optimizer updates, in insertion order. */
  get names(): string[] {
    return [...this.params.keys()];
  }

  /** Number of update groups: the optimizer state is one m and one v tensor per group. */
  get groupCount(): number {
    return this.groups.length;
  }

  /** Elements of the largest update group: a step's temporaries are about six times this many floats. */
  get largestGroupElements(): number {
    return Math.max(...this.groups.map((g) => g.total));
  }

  /**
   * One update. `grads` maps parameter names to gradients of the parameters' shapes (names not in
   * the optimizer are an error; missing names are skipped, like torch's `grad is None`). `lr`
   * overrides the configured learning rate for this step (what a schedule supplies). `gradScale`, a
   * scalar tensor, multiplies every gradient first (the trainer's clipping coefficient: one op per
   * group instead of a clipped copy of every gradient).
   */
  step(grads: Map<string, Tensor>, lr: number = this.config.lr, gradScale?: Tensor): void {
    if (this.disposed) throw new Error('AdamW.step: the optimizer was disposed');
    if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`AdamW.step: lr = ${lr} must be a finite number >= 0`);
    if (gradScale !== undefined && gradScale.size !== 1) throw new Error(`AdamW.step: gradScale must be a scalar tensor (got shape [${gradScale.shape.join(', ')}])`);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (p === undefined) throw new Error(`AdamW.step: gradient for '${name}', which is not one of the optimizer's ${this.params.size} parameters`);
      if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`AdamW.step: gradient for '${name}' has shape [${g.shape.join(', ')}] but the parameter is [${p.shape.join(', ')}]`);
      }
    }
    for (const group of this.groups) {
      const present = group.names.filter((n) => grads.has(n));
      if (present.length === 0) continue;
      const steps = present.map((n) => this.steps.get(n) ?? 0);
      if (present.length === group.names.length && steps.every((t) => t === steps[0])) {
        this.updateGroup(group, group.names.map((n) => grads.get(n) as Tensor), steps[0] + 1, lr, gradScale);
      } else {
        // Some parameters lack a gradient or are at different steps: update them one by one.
        for (const name of present) this.updateOne(name, grads.get(name) as Tensor, (this.steps.get(name) ?? 0) + 1, lr, gradScale);
      }
    }
  }

  /**
   * torch's update on flat buffers: `p`, `g`, `m`, `v` of one length, step `t`; returns the new
   * [p, m, v]. Scalars are computed in float64 and rounded once, as torch does for its Python-float
   * coefficients.
   */
  private update(p: Tensor, g: Tensor, m0: Tensor, v0: Tensor, t: number, lr: number): Tensor[] {
    const [beta1, beta2] = this.config.betas;
    const { eps, weightDecay } = this.config;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    // each line its own tidy, so that at most a few buffers of the group's size are alive at once
    const m = tf.tidy(() => tf.add(m0, tf.mul(tf.sub(g, m0), 1 - beta1))); // torch lerp_ for weight < 0.5
    const v = tf.tidy(() => tf.add(tf.mul(v0, beta2), tf.mul(tf.square(g), 1 - beta2)));
    const step = tf.tidy(() => tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps)), stepSize));
    const updated = tf.tidy(() => tf.sub(weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p, step));
    step.dispose();
    return [updated, m, v];
  }

  private ensureGroupState(group: Group): { m: Variable; v: Variable } {
    if (group.m === null || group.v === null) {
      // inside tidy: the variables keep their data, the zeros tensors go
      group.m = tf.tidy(() => tf.variable(tf.zeros([group.total]), false));
      group.v = tf.tidy(() => tf.variable(tf.zeros([group.total]), false));
    }
    return { m: group.m, v: group.v };
  }

  private updateGroup(group: Group, grads: Tensor[], t: number, lr: number, gradScale?: Tensor): void {
    const { m: mVar, v: vVar } = this.ensureGroupState(group);
    const params = group.names.map((n) => this.params.get(n) as Variable);
    tf.tidy(() => {
      const flat = (xs: Tensor[]) => (xs.length === 1 ? tf.reshape(xs[0], [-1]) : tf.concat(xs.map((x) => tf.reshape(x, [-1]))));
      const g = flat(grads);
      const [p, m, v] = this.update(flat(params), gradScale === undefined ? g : tf.mul(g, gradScale), mVar, vVar, t, lr);
      mVar.assign(m);
      vVar.assign(v);
      // one slice per parameter (tf.split's wasm kernel copies through JavaScript: 140 ms here)
      let offset = 0;
      params.forEach((param, i) => {
        param.assign(tf.reshape(params.length === 1 ? p : tf.slice(p, offset, group.sizes[i]), param.shape));
        offset += group.sizes[i];
      });
    });
    for (const n of group.names) this.steps.set(n, t);
  }

  private updateOne(name: string, grad: Tensor, t: number, lr: number, gradScale?: Tensor): void {
    const { group, offset, index } = this.groupOf.get(name) as { group: Group; offset: number; index: number };
    const { m: mVar, v: vVar } = this.ensureGroupState(group);
    const param = this.params.get(name) as Variable;
    const size = group.sizes[index];
    tf.tidy(() => {
      const g = tf.reshape(gradScale === undefined ? grad : tf.mul(grad, gradScale), [-1]);
      const [p, m, v] = this.update(tf.reshape(param, [-1]), g, tf.slice(mVar, offset, size), tf.slice(vVar, offset, size), t, lr);
      const splice = (buffer: Tensor, piece: Tensor) =>
        tf.concat([tf.slice(buffer, 0, offset), piece, tf.slice(buffer, offset + size, group.total - offset - size)].filter((x) => x.size > 0));
      mVar.assign(splice(mVar, m));
      vVar.assign(splice(vVar, v));
      param.assign(tf.reshape(p, param.shape));
    });
    this.steps.set(name, t);
  }

  /** Whether m and v exist yet (they are created at the first update). */
  get hasState(): boolean {
    return this.steps.size > 0;
  }

  /** Updates done per parameter (only parameters updated at least once). */
  stepCounts(): Map<string, number> {
    return new Map(this.steps);
  }

  /**
   * The optimizer state of every parameter updated at least once: new tensors the caller owns and
   * disposes (m and v are stored flat per group, so per-parameter tensors are always copies).
   */
  state(): AdamWState {
    const params = new Map<string, AdamWParamState>();
    for (const [name, step] of this.steps) {
      const { group, offset, index } = this.groupOf.get(name) as { group: Group; offset: number; index: number };
      const shape = (this.params.get(name) as Variable).shape;
      const take = (buffer: Variable) => tf.tidy(() => tf.reshape(tf.slice(buffer, offset, group.sizes[index]), shape));
      params.set(name, { step, expAvg: take(group.m as Variable), expAvgSq: take(group.v as Variable) });
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
    this.disposeState();
    for (const group of this.groups) {
      if (!group.names.some((n) => state.params.has(n))) continue;
      const { m, v } = this.ensureGroupState(group);
      // parameters without saved state start from zeros, as torch creates state at a first step
      const flat = (pick: (s: AdamWParamState) => Tensor) =>
        tf.tidy(() => tf.concat(group.names.map((n, i) => {
          const saved = state.params.get(n);
          return saved === undefined ? tf.zeros([group.sizes[i]]) : tf.reshape(tf.cast(pick(saved), 'float32'), [-1]);
        })));
      const [mNew, vNew] = [flat((x) => x.expAvg), flat((x) => x.expAvgSq)];
      m.assign(mNew);
      v.assign(vNew);
      tf.dispose([mNew, vNew]);
    }
    for (const [name, s] of state.params) this.steps.set(name, s.step);
  }

  /** Frees m and v. The optimizer cannot be used afterwards. */
  dispose(): void {
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    for (const group of this.groups) {
      group.m?.dispose();
      group.v?.dispose();
      group.m = null;
      group.v = null;
    }
    this.steps.clear();
  }
}
