/**
 * The portable fast path of S2-Attn (every backend but wasm): the head halves are sliced, regrouped
 * into batched stacks (one per segment length), attended with one batched product per length, and
 * put back, as one differentiable op with its own backward pass.
 *
 * Must equal `s2Reference` (../s2.ts) wherever `fastOrReference` (../causal.ts) keeps its result;
 * `shiftedSparseAttention` runs the reference elsewhere. The causal mask is added, not
 * selected with, as ./dense.ts explains.
 *
 * Why a custom gradient: the head split, the regrouping into segments and the roll are permutations,
 * whose gradients are the inverse permutations. So the backward pass regroups dO the same way,
 * applies the attention gradient per segment length and puts the pieces back, instead of recording
 * every slice (whose gradient pads to full size) and concat.
 */
import { tf, matmulNoGrad } from '../../backend';
import type { Tensor, Tensor4D } from '../../backend';
import { causalMask } from '../masks';
import type { AttentionMemory } from '../options';
import { attentionProbabilities, attentionBackward } from './dense';

/** Half-open [start, end) position ranges that tile [0, N). */
export type Segments = Array<[number, number]>;

export interface S2FastOptions {
  /** 'roll' (Algorithm 1): the shifted heads are rolled by -roll before grouping and back after; 0 for 'offset'. */
  roll: number;
  memory: AttentionMemory;
}

/** Consecutive equal-length segments: a run folds into the batch axis for free (a reshape). */
interface Run {
  start: number;
  len: number;
  count: number;
}

function runsOf(segments: Segments): Run[] {
  const runs: Run[] = [];
  for (const [a, b] of segments) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.len === b - a && last.start + last.len * last.count === a) last.count++;
    else runs.push({ start: a, len: b - a, count: 1 });
  }
  return runs;
}

/**
 * `[rows, N, D]` -> per segment length, every segment of that length stacked on the batch axis
 * (`[rows * segments, len, D]`), so that one attention call covers them all.
 */
function gatherRuns(x: Tensor, runs: Run[]): Map<number, Tensor> {
  const [rows, n, d] = x.shape;
  const take = (r: Run) => tf.reshape(r.start === 0 && r.len * r.count === n ? x : tf.slice(x, [0, r.start, 0], [rows, r.len * r.count, d]), [rows * r.count, r.len, d]);
  const out = new Map<number, Tensor>();
  for (const len of new Set(runs.map((r) => r.len))) {
    const same = runs.filter((r) => r.len === len);
    out.set(len, same.length === 1 ? take(same[0]) : tf.concat(same.map(take), 0));
  }
  return out;
}

/** The inverse of gatherRuns: per-length stacks back to `[rows, N, D]` in sequence order. */
function scatterRuns(buckets: Map<number, Tensor>, runs: Run[], rows: number, d: number): Tensor {
  const offsets = new Map<number, number>();
  const pieces = runs.map((r) => {
    const stack = buckets.get(r.len) as Tensor;
    const at = offsets.get(r.len) ?? 0;
    offsets.set(r.len, at + rows * r.count);
    const piece = at === 0 && stack.shape[0] === rows * r.count ? stack : tf.slice(stack, [at, 0, 0], [rows * r.count, r.len, d]);
    return tf.reshape(piece, [rows, r.count * r.len, d]);
  });
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1);
}

/** Rolls `[rows, N, D]` along the sequence: out[i] = x[(i + shift) mod N] (torch.roll by -shift). */
function rollLeft(x: Tensor, shift: number): Tensor {
  const [rows, n, d] = x.shape;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  return tf.concat([tf.slice(x, [0, s, 0], [rows, n - s, d]), tf.slice(x, [0, 0, 0], [rows, s, d])], 1);
}

/**
 * Causal attention of `[B, H, N, D]` q, k, v (kv heads already expanded) inside `segments[0]` for
 * heads `[0, H/2)` and `segments[1]` for heads `[H/2, H)`, rolled first when `roll` is set.
 */
export function s2Grouped(q: Tensor4D, k: Tensor4D, v: Tensor4D, segments: [Segments, Segments], { roll, memory }: S2FastOptions): Tensor4D {
  const [b, h, n, d] = q.shape;
  const half = h / 2;
  const rows = b * half;
  const scale = 1 / Math.sqrt(d);
  const recompute = memory === 'recompute';
  const runs = segments.map(runsOf);
  const lengths = runs.map((r) => [...new Set(r.map((x) => x.len))]);
  // [B, H, N, D] -> head half i as [B * H/2, N, D], in the order pattern i groups it (rolled for 'roll')
  const halfOf = (x: Tensor, i: number): Tensor => {
    const part = tf.reshape(tf.slice(x, [0, i * half, 0, 0], [b, half, n, d]), [rows, n, d]);
    return i === 1 ? rollLeft(part, roll) : part;
  };
  // the inverse: two halves back to [B, H, N, D]
  const joinHalves = (parts: Tensor[]): Tensor => tf.concat(parts.map((p, i) => tf.reshape(i === 1 ? rollLeft(p, n - roll) : p, [b, half, n, d])), 1);
  // tf.customGrad's typing spreads inputs and the save function into one rest parameter.
  const op = tf.customGrad(((qi: Tensor, ki: Tensor, vi: Tensor, save: (ts: Tensor[]) => void) => {
    const keep: Tensor[] = [qi, ki, vi];
    const outs = [0, 1].map((i) =>
      tf.tidy(() => {
        const [qb, kb, vb] = [qi, ki, vi].map((x) => gatherRuns(halfOf(x, i), runs[i])); // len -> [E, len, D]
        const ob = new Map<number, Tensor>();
        for (const len of lengths[i]) {
          const p = attentionProbabilities(qb.get(len) as Tensor, kb.get(len) as Tensor, causalMask(len, len), scale); // [E, len, len]
          const o = matmulNoGrad(p, vb.get(len) as Tensor); // [E, len, D]
          ob.set(len, o);
          keep.push(tf.keep(o));
          if (!recompute) keep.push(tf.keep(p));
        }
        return scatterRuns(ob, runs[i], rows, d); // [B * H/2, N, D]
      }),
    );
    const value = tf.tidy(() => joinHalves(outs)); // [B, H, N, D]
    tf.dispose(outs);
    save(keep);
    // save() holds its own references: drop ours to the per-segment outputs and probabilities
    tf.dispose(keep.slice(3));
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs] = saved;
          let next = 3;
          const grads = [0, 1].map((i) => {
            const [qb, kb, vb, db] = [qs, ks, vs, dy].map((x) => gatherRuns(halfOf(x, i), runs[i])); // len -> [E, len, D]
            const dq = new Map<number, Tensor>();
            const dk = new Map<number, Tensor>();
            const dv = new Map<number, Tensor>();
            for (const len of lengths[i]) {
              const [qx, kx, vx] = [qb, kb, vb].map((m) => m.get(len) as Tensor);
              const o = saved[next++];
              const p = recompute ? attentionProbabilities(qx, kx, causalMask(len, len), scale) : saved[next++];
              const [gq, gk, gv] = attentionBackward(qx, kx, vx, o, p, db.get(len) as Tensor, scale);
              dq.set(len, gq);
              dk.set(len, gk);
              dv.set(len, gv);
            }
            return [dq, dk, dv].map((m) => scatterRuns(m, runs[i], rows, d)); // 3 x [B * H/2, N, D]
          });
          return [0, 1, 2].map((j) => joinHalves([grads[0][j], grads[1][j]])); // 3 x [B, H, N, D]
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(q, k, v) as Tensor4D;
}
