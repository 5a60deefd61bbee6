/** Ground floor: the seeded RNG, option checks, typed-array checks and shared constants. */
export { Rng, deriveSeed } from './rng';
export type { RngState } from './rng';
export { checkKnownKeys, closestKey } from './options';
export { IGNORE_INDEX } from './constants';
export { isFloat32Array, isFloat64Array, isInt32Array, isUint8Array } from './typed-arrays';
