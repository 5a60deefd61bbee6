/**
 * Causal masks, cached per shape (constants; rebuilt if the engine disposed them). Query i of `tq`
 * sits at absolute position `tk - tq + i` and may see keys j <= tk - tq + i (a KV cache puts the
 * queries at the end).
 *
 * Two forms: boolean (`causalAllowed`, for selection in the references) and additive
 * (`causalMask`, 0 or MASK_VALUE, for the fast paths, whose results are kept only where adding it
 * is exact: `fastOrReference` in ./causal.ts).
 */
import { tf } from '../backend';
import type { Tensor } from '../backend';

/**
 * What a masked score becomes: its probability is exactly 0, whatever the other scores. A query that
 * may see no key at all has no output (0/0: NaN) rather than weights on keys it may not see.
 */
export const MASK_VALUE = -Infinity;

const cache = new Map<string, Tensor>();

function cached(key: string, make: () => Tensor): Tensor {
  const hit = cache.get(key);
  if (hit !== undefined && !hit.isDisposed) return hit;
  const mask = tf.keep(make());
  cache.set(key, mask);
  return mask;
}

/** Whether query i (of tq) may see key j (of tk). */
const visible = (tq: number, tk: number, i: number, j: number) => j <= tk - tq + i;

/** Boolean `[tq, tk]`: true where query i may see key j. */
export function causalAllowed(tq: number, tk: number): Tensor {
  return cached(`allowed ${tq}x${tk}`, () => {
    const values = new Uint8Array(tq * tk);
    for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) values[i * tk + j] = visible(tq, tk, i, j) ? 1 : 0;
    return tf.tensor2d(values, [tq, tk], 'bool');
  });
}

/** Additive `[tq, tk]`: 0 where query i may see key j, MASK_VALUE elsewhere. */
export function causalMask(tq: number, tk: number): Tensor {
  return cached(`additive ${tq}x${tk}`, () => {
    const values = new Float32Array(tq * tk);
    for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) values[i * tk + j] = visible(tq, tk, i, j) ? 0 : MASK_VALUE;
    return tf.tensor2d(values, [tq, tk]);
  });
}

/** Frees the cached masks (they are rebuilt on demand). */
export function clearMaskCache(): void {
  for (const mask of cache.values()) if (!mask.isDisposed) mask.dispose();
  cache.clear();
}
