/**
 * Text generation with a KV cache: greedy or sampled (temperature, top-k, seeded), stopping at stop
 * tokens or after `maxNewTokens`. The prompt runs once through the model filling the cache; each new
 * token then costs one single-position forward pass (HF `generate` with `use_cache=True`).
 */
import { tf } from '../backend';
import type { Tensor2D, Tensor3D } from '../backend';
import { Rng } from '../util/rng';

/** What generation needs from a model (LlamaForCausalLM fits): a forward pass with an optional cache. */
export interface CachedCausalLM<Cache> {
  readonly config: { readonly vocabSize: number; readonly numHiddenLayers: number };
  forward(inputIds: Tensor2D, options?: { cache?: Cache; allowExtrapolation?: boolean }): Tensor3D;
}

export interface GenerateOptions {
  /** Tokens to generate at most. */
  maxNewTokens: number;
  /** Stop after emitting any of these (the stop token is included in the output). */
  stopTokens?: number[];
  /** 0 (default) = greedy argmax; > 0 = sample from softmax(logits / temperature). */
  temperature?: number;
  /** Sample only among the k most likely tokens. */
  topK?: number;
  /** Seed of the sampler (same seed, same samples). Default 0. */
  seed?: number;
  /** Use the KV cache (default true); false recomputes the whole sequence every step (for tests). */
  useCache?: boolean;
  allowExtrapolation?: boolean;
}

/** The next token from one row of logits: argmax, or a seeded draw after temperature and top-k. */
export function pickToken(logits: Float32Array, { temperature = 0, topK }: { temperature?: number; topK?: number }, random: () => number): number {
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from(logits.keys());
  if (topK !== undefined) order = order.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  const max = Math.max(...order.map((i) => logits[i]));
  const weights = order.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = weights.reduce((p, w) => p + w, 0);
  let r = random() * total;
  for (let j = 0; j < order.length; j++) {
    r -= weights[j];
    if (r <= 0) return order[j];
  }
  return order[order.length - 1];
}

function checkOptions(o: GenerateOptions, vocab: number): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new Error(`generate: maxNewTokens = ${o.maxNewTokens} must be a positive integer`);
  const t = o.temperature ?? 0;
  if (!(t >= 0) || !Number.isFinite(t)) throw new Error(`generate: temperature = ${o.temperature} must be >= 0 (0 = greedy)`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 1 || o.topK > vocab)) throw new Error(`generate: topK = ${o.topK} must be an integer in [1, ${vocab}]`);
  if (o.topK !== undefined && t === 0) throw new Error('generate: topK needs sampling; set temperature > 0 (greedy already takes the top 1)');
  for (const s of o.stopTokens ?? []) if (!Number.isInteger(s) || s < 0 || s >= vocab) throw new Error(`generate: stop token ${s} is outside the vocabulary [0, ${vocab})`);
}

/**
 * Continues `prompt` (token ids) and returns the new tokens (including a stop token if one ended it).
 * `makeCache(numLayers)` builds an empty cache (e.g. `(n) => new KVCache(n)`); it is disposed at the end.
 */
export function generate<Cache extends { dispose(): void }>(
  model: CachedCausalLM<Cache>,
  prompt: ArrayLike<number>,
  options: GenerateOptions,
  makeCache: (numLayers: number) => Cache,
): number[] {
  checkOptions(options, model.config.vocabSize);
  if (prompt.length === 0) throw new Error('generate: the prompt is empty; give at least one token (e.g. BOS)');
  const rng = new Rng(options.seed ?? 0); // seeded in JS: reproducible on every backend
  const random = () => rng.next();
  const stop = new Set(options.stopTokens ?? []);
  const useCache = options.useCache ?? true;
  const cache = useCache ? makeCache(model.config.numHiddenLayers) : undefined;
  const sequence = Array.from(prompt);
  const out: number[] = [];
  try {
    let feed = sequence.slice();
    for (let step = 0; step < options.maxNewTokens; step++) {
      const last = tf.tidy(() => {
        const input = useCache ? feed : sequence;
        const logits = model.forward(tf.tensor2d(Int32Array.from(input), [1, input.length], 'int32'), { cache, allowExtrapolation: options.allowExtrapolation });
        return tf.slice(logits, [0, input.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
      });
      const token = pickToken(last, options, random);
      out.push(token);
      sequence.push(token);
      feed = [token];
      if (stop.has(token)) break;
    }
  } finally {
    cache?.dispose();
  }
  return out;
}
