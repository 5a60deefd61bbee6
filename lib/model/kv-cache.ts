/**
 * The key/value cache for generation: per layer, the keys (after RoPE) and values of every position
 * seen so far, with the kv heads not yet repeated for grouped-query attention (HF `DynamicCache`).
 *
 * A forward pass with a cache rotates its queries and keys at positions `[cache.length,
 * cache.length + T)`, attends over the cached keys plus its own, and appends its keys and values.
 */
import type { Tensor4D } from '../backend';

/** Per-layer keys and values `[B, Hkv, length, D]`, owned by the cache. */
export class KVCache {
  /** Number of decoder layers the cache holds. */
  readonly numLayers: number;
  private keys: (Tensor4D | null)[];
  private values: (Tensor4D | null)[];
  private disposed = false;

  /** An empty cache for a model with `numLayers` decoder layers (`config.numHiddenLayers`). */
  constructor(numLayers: number) {
    if (!Number.isInteger(numLayers) || numLayers < 1) {
      throw new Error(`KVCache: numLayers = ${numLayers} must be a positive integer (the model's numHiddenLayers)`);
    }
    this.numLayers = numLayers;
    this.keys = new Array<Tensor4D | null>(numLayers).fill(null);
    this.values = new Array<Tensor4D | null>(numLayers).fill(null);
  }

  /** Positions cached so far (0 when empty). */
  get length(): number {
    const k = this.keys[0];
    return k === null ? 0 : k.shape[2];
  }

  /** Batch size of the cached sequences, or null when empty. */
  get batchSize(): number | null {
    const k = this.keys[0];
    return k === null ? null : k.shape[0];
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Layer `layer`'s cached keys and values `[B, Hkv, length, D]`, or null when empty. */
  layer(layer: number): { keys: Tensor4D; values: Tensor4D } | null {
    this.assertLive();
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) {
      throw new Error(`KVCache.layer(${layer}): layer must be an integer in [0, ${this.numLayers})`);
    }
    const k = this.keys[layer];
    const v = this.values[layer];
    return k === null || v === null ? null : { keys: k, values: v };
  }

  /**
   * Replaces every layer's keys and values with `keys[i]`, `values[i]` (the old plus the new
   * positions); the cache takes ownership of them and disposes the ones it held. The model calls
   * this once per forward pass, after every layer has succeeded.
   */
  update(keys: Tensor4D[], values: Tensor4D[]): void {
    this.assertLive();
    if (keys.length !== this.numLayers || values.length !== this.numLayers) {
      throw new Error(`KVCache.update: expected ${this.numLayers} layers of keys and values; got ${keys.length} and ${values.length}`);
    }
    for (let i = 0; i < this.numLayers; i++) {
      const oldK = this.keys[i];
      const oldV = this.values[i];
      this.keys[i] = keys[i];
      this.values[i] = values[i];
      if (oldK !== null && oldK !== keys[i]) oldK.dispose();
      if (oldV !== null && oldV !== values[i]) oldV.dispose();
    }
  }

  /** Frees every cached tensor; the cache cannot be used afterwards. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('KVCache: this cache was disposed; create a new KVCache(numLayers)');
  }
}
