/**
 * Products and copies on blocks of tensors, addressed by element offsets: what S2-Attn needs to
 * read its groups straight out of `[B, H, N, D]` tensors and write its outputs straight into one,
 * with no regrouping copies (slices, concats) in between.
 *
 * On wasm these are our kernels (lib/backend/wasm-kernels.ts: one XNNPACK call per product on heap
 * views). Elsewhere they are built from plain tf ops (a slice per block, a concat at the end): right,
 * but one op per block, so callers keep their batched tf.matMul paths there.
 */
import { tf } from './tf';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SEGMENT_MATMUL, GATHER_SEGMENTS, packSegmentProducts, checkSegmentProducts } from './wasm-kernels';
import type { SegmentProduct } from './wasm-kernels';

export type { SegmentProduct } from './wasm-kernels';

/** Whether the current backend runs segment products and gathers as single kernels (wasm). */
export function segmentKernelsAvailable(): boolean {
  const backend = tf.getBackend();
  return tf.getKernel(SEGMENT_MATMUL, backend) !== undefined && tf.getKernel(GATHER_SEGMENTS, backend) !== undefined;
}

const sizeOf = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * A result of `shape` tiled by products of blocks: product p writes
 * `block(operands[p.a], p.aOffset, p.m x p.k) · block(operands[p.b], p.bOffset, p.k x p.n)` as the
 * `p.m x p.n` block at `p.outOffset` (blocks row-major and contiguous in the flat operand). The
 * products must tile the result exactly. No gradient is recorded.
 */
export function segmentMatmul(operands: Tensor[], products: SegmentProduct[], shape: number[]): Tensor {
  if (tf.getKernel(SEGMENT_MATMUL, tf.getBackend()) !== undefined) {
    const inputs = Object.fromEntries(operands.map((t, i) => [`x${i}`, t]));
    return tf.engine().runKernel(SEGMENT_MATMUL, inputs, { products: packSegmentProducts(products), shape }) as Tensor;
  }
  checkSegmentProducts(packSegmentProducts(products), operands.map((t) => t.size), sizeOf(shape), 'segmentMatmul');
  return tf.tidy(() => {
    const flat = operands.map((t) => tf.reshape(t, [-1]));
    const block = (i: number, offset: number, rows: number, cols: number) => tf.reshape(tf.slice(flat[i], offset, rows * cols), [rows, cols]);
    const ordered = [...products].sort((x, y) => x.outOffset - y.outOffset);
    const pieces = ordered.map((p) => tf.reshape(tf.matMul(block(p.a, p.aOffset, p.m, p.k), block(p.b, p.bOffset, p.k, p.n)), [-1]));
    return tf.reshape(tf.concat(pieces), shape);
  });
}

/**
 * `rows x cols` blocks of `x` (row-major, contiguous, at the given element offsets) stacked as
 * `[blocks, rows, cols]`, or `[blocks, cols, rows]` with `transpose`. No gradient is recorded.
 */
export function gatherSegments(x: Tensor, offsets: number[], rows: number, cols: number, transpose = false): Tensor {
  if (tf.getKernel(GATHER_SEGMENTS, tf.getBackend()) !== undefined) return tf.engine().runKernel(GATHER_SEGMENTS, { x }, { offsets, rows, cols, transpose }) as Tensor;
  return tf.tidy(() => {
    const flat = tf.reshape(x, [-1]);
    const blocks = offsets.map((o) => {
      const b = tf.reshape(tf.slice(flat, o, rows * cols), [rows, cols]);
      return transpose ? tf.transpose(b) : b;
    });
    return tf.stack(blocks);
  });
}
