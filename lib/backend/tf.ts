/**
 * The one TensorFlow.js instance that the library, its notebooks, its scripts and its users share.
 *
 * `@tensorflow/tfjs` brings tfjs-core (ops, engine, tape), every op's gradient, the chained-op
 * methods (`x.sum()`) and the pure-JS `cpu` backend; `@tensorflow/tfjs-backend-wasm` registers the
 * wasm kernels. The native backends (`@tensorflow/tfjs-node`, `@tensorflow/tfjs-node-gpu`) are
 * optional and loaded on demand by `./select`. Re-exported from the package root as `tf`: use
 * `ll.tf` rather than importing TensorFlow.js yourself, so that there is one engine.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, NamedTensorMap } from '@tensorflow/tfjs';
