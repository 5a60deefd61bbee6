/**
 * Text generation with a KV cache: greedy or sampled (temperature, top-k, seeded), stopping at stop
 * tokens or after `maxNewTokens`. The prompt runs once through the model filling the cache; each new
 * token then costs one single-position forward pass (HF `generate` with `use_cache=True`).
 * Prompts are token ids: encode text first (`encode` for our byte-level models, an `HFTokenizer`
 * for a Hugging Face checkpoint).
 */
import { tf } from '../backend';
import type { Tensor2D, Tensor3D } from '../backend';
import { KVCache } from '../model';
import { Rng } from '../util/rng';
import { checkBoolean, checkKnownKeys, checkSeed, describe } from '../util/options';

/** What generation needs from a model (LlamaForCausalLM fits): a forward pass with an optional cache. */
export interface CachedCausalLM<Cache> {
  readonly config: { readonly vocabSize: number; readonly numHiddenLayers: number };
  forward(inputIds: Tensor2D, options?: { cache?: Cache; allowExtrapolation?: boolean }): Tensor3D;
}

/** Options of `generate` (unknown keys are errors). */
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
  /** Let prompt + new tokens run past the model's context (`effectiveContext`) instead of failing. Default false. */
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

const GENERATE_OPTION_KEYS = ['maxNewTokens', 'stopTokens', 'temperature', 'topK', 'seed', 'useCache', 'allowExtrapolation'];

function checkOptions(o: GenerateOptions, vocab: number): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error(`generate: options must be an object such as { maxNewTokens: 32 }, got ${describe(o)}`);
  checkKnownKeys('generate', o, GENERATE_OPTION_KEYS);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new Error(`generate: maxNewTokens = ${describe(o.maxNewTokens)} must be a positive integer`);
  const t = o.temperature ?? 0;
  if (typeof t !== 'number' || !(t >= 0) || !Number.isFinite(t)) throw new Error(`generate: temperature = ${describe(o.temperature)} must be >= 0 (0 = greedy)`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 1 || o.topK > vocab)) throw new Error(`generate: topK = ${describe(o.topK)} must be an integer in [1, ${vocab}]`);
  if (o.topK !== undefined && t === 0) throw new Error('generate: topK needs sampling; set temperature > 0 (greedy already takes the top 1)');
  if (o.seed !== undefined) checkSeed('generate', o.seed);
  if (o.useCache !== undefined) checkBoolean('generate', 'useCache', o.useCache);
  if (o.allowExtrapolation !== undefined) checkBoolean('generate', 'allowExtrapolation', o.allowExtrapolation);
  if (o.stopTokens !== undefined && !Array.isArray(o.stopTokens)) throw new Error(`generate: stopTokens must be an array of token ids, got ${describe(o.stopTokens)}`);
  for (const s of o.stopTokens ?? []) if (!Number.isInteger(s) || s < 0 || s >= vocab) throw new Error(`generate: stop token ${describe(s)} is outside the vocabulary [0, ${vocab})`);
}

/** The prompt as a checked number[]: integer token ids in [0, vocab). */
function checkPrompt(prompt: unknown, vocab: number): number[] {
  if (typeof prompt === 'string') {
    throw new Error(
      `generate: prompt must be token ids (number[] or Int32Array), not a string (${describe(prompt)}); encode the text first: ` +
        'encode(text, { bos: true }) for the byte tokenizer of our models, or (await loadTokenizer(dir)).encode(text) for a Hugging Face checkpoint',
    );
  }
  if (prompt === null || typeof prompt !== 'object' || typeof (prompt as ArrayLike<number>).length !== 'number') {
    throw new Error(`generate: prompt must be token ids (number[] or Int32Array), got ${describe(prompt)}`);
  }
  const ids = Array.from(prompt as ArrayLike<unknown>);
  if (ids.length === 0) throw new Error('generate: the prompt is empty; give at least one token (e.g. BOS)');
  ids.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new Error(`generate: prompt[${i}] = ${describe(id)} is not a token id; ids are integers (a Float32Array of ids must be converted with Int32Array.from)`);
    }
    if (id < 0 || id >= vocab) throw new Error(`generate: prompt[${i}] = ${id} is outside the model's vocabulary [0, ${vocab}); was the prompt encoded with another tokenizer?`);
  });
  return ids as number[];
}

/**
 * Continues `prompt` (token ids) and returns the new tokens (including a stop token if one ended it).
 * The cache is the model's own KV cache (`new KVCache(config.numHiddenLayers)`, what
 * `LlamaForCausalLM.forward` takes); a model with another cache type passes `makeCache(numLayers)`.
 * The cache is disposed at the end. Throws, before running anything, for a prompt that is not a list
 * of integer ids in the vocabulary (a string must be encoded first), and for unknown or invalid options.
 */
export function generate(model: CachedCausalLM<KVCache>, prompt: ArrayLike<number>, options: GenerateOptions): number[];
export function generate<Cache extends { dispose(): void }>(model: CachedCausalLM<Cache>, prompt: ArrayLike<number>, options: GenerateOptions, makeCache: (numLayers: number) => Cache): number[];
export function generate<Cache extends { dispose(): void }>(
  model: CachedCausalLM<Cache>,
  prompt: ArrayLike<number>,
  options: GenerateOptions,
  makeCache?: (numLayers: number) => Cache,
): number[] {
  if (model === null || typeof model !== 'object' || typeof model.forward !== 'function' || typeof model.config?.vocabSize !== 'number') {
    throw new Error(`generate: model must be a causal LM with config.vocabSize and forward (e.g. a LlamaForCausalLM), got ${describe(model)}`);
  }
  if (makeCache !== undefined && typeof makeCache !== 'function') throw new Error(`generate: makeCache must be a function (numLayers) => cache, got ${describe(makeCache)}`);
  checkOptions(options, model.config.vocabSize);
  const sequence = checkPrompt(prompt, model.config.vocabSize);
  const newCache = makeCache ?? ((n: number) => new KVCache(n) as unknown as Cache);
  const rng = new Rng(options.seed ?? 0); // seeded in JS: reproducible on every backend
  const random = () => rng.next();
  const stop = new Set(options.stopTokens ?? []);
  const useCache = options.useCache ?? true;
  const cache = useCache ? newCache(model.config.numHiddenLayers) : undefined;
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
