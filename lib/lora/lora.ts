/**
 * LoRA (Hu et al. 2021) as Hugging Face PEFT implements it (`peft/tuners/lora/layer.py`, `Linear`),
 * the form LongLoRA uses (official fine-tune.py: r = 8, alpha = 16, dropout 0, no bias, targets
 * q_proj, k_proj, v_proj, o_proj).
 *
 *   y = x W^T + (alpha / r) * dropout(x) A^T B^T      W [out, in] frozen, A [r, in], B [out, r]
 *
 * A starts Kaiming-uniform with a = sqrt(5) (uniform in ±1/sqrt(in)), B starts at zero, so the
 * adapted model starts equal to the base model. Merging adds (alpha / r) B A into W; unmerging
 * subtracts it again. Weights keep PEFT's layouts, so adapters save and load as PEFT files.
 */
import { tf, matmul } from '../backend';
import type { Tensor, Tensor2D, Variable } from '../backend';
import { Rng } from '../util/rng';
import { checkKnownKeys, describe } from '../util/options';

export const LORA_DEFAULT_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const;

export interface LoraConfig {
  /** Rank r (official 8). */
  r: number;
  /** lora_alpha (official 16); the update is scaled by alpha / r. */
  alpha: number;
  /** Dropout on the adapter's input during training (official 0). */
  dropout: number;
  /** Module name suffixes to adapt (official q, k, v, o; optionally gate_proj, up_proj, down_proj). */
  targets: string[];
}

/** The official recipe (fine-tune.py `LoraConfig(r=8, lora_alpha=16, lora_dropout=0, target_modules=[q, k, v, o])`). */
export const DEFAULT_LORA_CONFIG: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: [...LORA_DEFAULT_TARGETS] };

const VALID_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/**
 * Fills defaults and checks a partial LoRA config strictly: unknown keys, wrong types and values
 * out of range are errors that name the value and what to use instead. Values arrive untyped from
 * notebooks and JSON (adapter_config.json), so a string target would otherwise be spread into
 * letters, and an infinite alpha would give an infinite scaling and NaN outputs.
 */
/** PEFT's names (adapter_config.json) of our settings, which closestKey cannot guess (lora_alpha is 4 edits from alpha). */
const PEFT_NAMES: Readonly<Record<string, keyof LoraConfig>> = { lora_alpha: 'alpha', lora_dropout: 'dropout', target_modules: 'targets' };

export function makeLoraConfig(overrides: Partial<LoraConfig> = {}): LoraConfig {
  const valid = Object.keys(DEFAULT_LORA_CONFIG);
  const peftKey = overrides !== null && typeof overrides === 'object' ? Object.keys(overrides).find((k) => k in PEFT_NAMES) : undefined;
  if (peftKey !== undefined) {
    throw new Error(`LoRA config: unknown option '${peftKey}' (did you mean '${PEFT_NAMES[peftKey]}'? '${peftKey}' is PEFT's name for it); valid options are ${valid.map((k) => `'${k}'`).join(', ')}`);
  }
  checkKnownKeys('LoRA config', overrides, valid);
  const given: Partial<LoraConfig> = overrides ?? {};
  const targets: unknown = given.targets ?? DEFAULT_LORA_CONFIG.targets;
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) {
    const hint = typeof targets === 'string' ? ` (for one module: targets: [${JSON.stringify(targets)}])` : '';
    throw new Error(`LoRA config: targets = ${describe(targets)} must be a list of module names such as ['q_proj', 'v_proj']${hint}`);
  }
  const c: LoraConfig = { ...DEFAULT_LORA_CONFIG, ...given, targets: [...(targets as string[])] };
  const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!(isNumber(c.r) && Number.isInteger(c.r) && c.r >= 1)) throw new Error(`LoRA config: r = ${describe(c.r)} must be a positive integer (LongLoRA uses 8)`);
  if (!(isNumber(c.alpha) && c.alpha > 0)) {
    throw new Error(`LoRA config: alpha = ${describe(c.alpha)} must be a finite number > 0 (LongLoRA uses 16; the update is scaled by alpha / r)`);
  }
  if (!(isNumber(c.dropout) && c.dropout >= 0 && c.dropout < 1)) throw new Error(`LoRA config: dropout = ${describe(c.dropout)} must be a number in [0, 1) (LongLoRA uses 0)`);
  if (c.targets.length === 0) throw new Error(`LoRA config: targets is empty; name at least one of ${VALID_TARGETS.join(', ')}`);
  const bad = c.targets.filter((t) => !VALID_TARGETS.includes(t));
  if (bad.length > 0) throw new Error(`LoRA config: target(s) ${bad.join(', ')} are not Llama projections; use ${VALID_TARGETS.join(', ')}`);
  const twice = c.targets.filter((t, i) => c.targets.indexOf(t) !== i);
  if (twice.length > 0) throw new Error(`LoRA config: target(s) ${[...new Set(twice)].join(', ')} listed more than once; name each projection once`);
  return c;
}

/** Kaiming-uniform with a = sqrt(5) on an [r, in] matrix: uniform in ±1/sqrt(in) (torch's nn.Linear default). */
export function kaimingUniformA(r: number, inFeatures: number, seed: number): Float32Array {
  const bound = 1 / Math.sqrt(inFeatures);
  const rng = new Rng(seed); // seeded in JS, so adapters initialise identically on every backend
  const out = new Float32Array(r * inFeatures);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/**
 * The LoRA branch of one projection. `delta(x)` is what the model adds to `x W^T`; `A` and `B` are
 * the trainable variables (PEFT layouts: A [r, in], B [out, r]).
 */
export class LoraLinear {
  readonly A: Variable; // [r, in]
  readonly B: Variable; // [out, r]
  readonly scaling: number;
  /** Dropout applies only while true (`LoraAdapters.setTraining`; longLora's loss sets it for its training passes). */
  training = false;
  private dropoutSeed: number;

  constructor(
    readonly moduleName: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly config: LoraConfig,
    seed: number,
  ) {
    this.scaling = config.alpha / config.r;
    // Unnamed: tf.variable names are global, and several models may carry adapters for the same module.
    // Inside tidy: a variable keeps its own reference to the data, so the initial tensors must go
    // (outside it they would stay alive after dispose(), two tensors per adapted projection).
    this.A = tf.tidy(() => tf.variable(tf.tensor2d(kaimingUniformA(config.r, inFeatures, seed), [config.r, inFeatures]), true));
    this.B = tf.tidy(() => tf.variable(tf.zeros([outFeatures, config.r]), true));
    this.dropoutSeed = seed + 1;
  }

  /** (alpha / r) dropout(x) A^T B^T for x [N, in]; returns [N, out]. */
  delta(x: Tensor2D): Tensor2D {
    return tf.tidy(() => {
      const dropped = this.training && this.config.dropout > 0 ? tf.dropout(x, this.config.dropout, undefined, this.dropoutSeed++) : x;
      const low = matmul(dropped, this.A, false, true); // [N, r]
      return tf.mul(matmul(low, this.B, false, true), this.scaling) as Tensor2D; // [N, out]
    });
  }

  /** (alpha / r) B A, the update merging adds to W [out, in]. */
  deltaWeight(): Tensor2D {
    return tf.tidy(() => tf.mul(matmul(this.B, this.A), this.scaling) as Tensor2D);
  }

  dispose(): void {
    this.A.dispose();
    this.B.dispose();
  }
}

/** Adds (sign = 1) or removes (sign = -1) an adapter's update in a weight variable, in place. */
export function foldLoraInto(weight: Variable, adapter: LoraLinear, sign: 1 | -1): void {
  const expected = [adapter.outFeatures, adapter.inFeatures];
  if (weight.shape[0] !== expected[0] || weight.shape[1] !== expected[1]) {
    throw new Error(`LoRA merge: ${adapter.moduleName}.weight is [${weight.shape.join(', ')}] but the adapter is for [${expected.join(', ')}]`);
  }
  tf.tidy(() => {
    const update: Tensor = adapter.deltaWeight();
    weight.assign(sign === 1 ? tf.add(weight, update) : tf.sub(weight, update));
  });
}
