/**
 * Toy models and data for the trainer tests: a tiny next-token model (embedding -> scale -> head)
 * with HF-like parameter names, and a resumable batch source over a seeded token stream. Small
 * enough that every trainer test runs in a fraction of a second.
 */
import { tf, matmul } from '../../lib/backend';
import type { Tensor, Tensor2D, Variable } from '../../lib/backend';
import type { BatchSource, TrainBatch, TrainableModel } from '../../lib/train';
import { seededValues } from '../helpers';

export const TOY_VOCAB = 11;
export const TOY_DIM = 6;

/** logits = (E[ids] * g) W^T + b; mean cross-entropy of the next token over labels != -100. */
export class ToyLM implements TrainableModel {
  readonly parameters = new Map<string, Variable>();
  readonly config: { vocabSize: number; dim: number };

  constructor(seed: number, { vocab = TOY_VOCAB, dim = TOY_DIM } = {}) {
    this.config = { vocabSize: vocab, dim };
    const v = (name: string, values: Float32Array, shape: number[]) => this.parameters.set(name, tf.tidy(() => tf.variable(tf.tensor(values, shape), true)));
    v('model.embed_tokens.weight', seededValues(vocab * dim, seed, 0.5), [vocab, dim]);
    v('model.norm.weight', seededValues(dim, seed + 1, 0.2).map((x) => 1 + x), [dim]);
    v('lm_head.weight', seededValues(vocab * dim, seed + 2, 0.5), [vocab, dim]);
    v('lm_head.bias', seededValues(vocab, seed + 3, 0.1), [vocab]);
  }

  /** How often the backward pass computed a gradient for each parameter (via an identity probe). */
  readonly gradCalls = new Map<string, number>();

  private probe(name: string): Tensor {
    const identity = tf.customGrad(((x: Tensor) => ({
      value: tf.clone(x),
      gradFunc: (dy: Tensor) => {
        this.gradCalls.set(name, (this.gradCalls.get(name) ?? 0) + 1);
        return dy;
      },
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    return identity(this.parameters.get(name) as Variable);
  }

  loss(inputIds: Tensor2D, { labels }: { labels?: Tensor2D; training?: boolean } = {}): Tensor {
    return tf.tidy(() => {
      const [b, t] = inputIds.shape;
      const p = (n: string) => this.probe(n);
      const h = tf.mul(tf.gather(p('model.embed_tokens.weight'), tf.reshape(inputIds, [-1])), p('model.norm.weight')); // [b*t, d]
      const logits = tf.add(matmul(h, p('lm_head.weight'), false, true), p('lm_head.bias')); // [b*t, V]
      const logp = tf.reshape(tf.logSoftmax(logits), [b, t, -1]);
      const target = tf.slice(labels ?? inputIds, [0, 1], [b, t - 1]); // next tokens
      const valid = tf.cast(tf.notEqual(target, -100), 'float32');
      const picked = tf.sum(tf.mul(tf.slice(logp, [0, 0, 0], [b, t - 1, -1]), tf.oneHot(tf.maximum(target, tf.scalar(0, 'int32')), this.config.vocabSize)), 2);
      return tf.div(tf.neg(tf.sum(tf.mul(picked, valid))), tf.maximum(tf.sum(valid), 1));
    });
  }

  dispose(): void {
    for (const p of this.parameters.values()) p.dispose();
  }

  /** Every parameter's values, by name. */
  snapshot(): Map<string, Float32Array> {
    return new Map([...this.parameters].map(([n, p]) => [n, p.dataSync() as Float32Array]));
  }
}

/** Windows of a seeded token stream, visited in a seeded order; state = position. */
export class ToyBatches implements BatchSource {
  private cursor = 0;
  private readonly tokens: Int32Array;
  constructor(readonly seed: number, readonly batchSize: number, readonly seqLen: number, { vocab = TOY_VOCAB, windows = 64 } = {}) {
    const u = seededValues(windows * seqLen, seed);
    // A learnable stream: mostly "next = previous + 1 (mod vocab)", sometimes random.
    this.tokens = new Int32Array(windows * seqLen);
    for (let i = 0; i < this.tokens.length; i++) {
      const r = Math.floor(((u[i] + 1) / 2) * vocab) % vocab;
      this.tokens[i] = i % seqLen === 0 || Math.abs(u[i]) > 0.8 ? r : (this.tokens[i - 1] + 1) % vocab;
    }
  }
  get windows(): number {
    return this.tokens.length / this.seqLen;
  }
  next(): TrainBatch {
    const inputIds = new Int32Array(this.batchSize * this.seqLen);
    for (let r = 0; r < this.batchSize; r++) {
      const w = (this.cursor * 7 + this.seed) % this.windows; // a fixed permutation (7 is coprime to 64)
      inputIds.set(this.tokens.subarray(w * this.seqLen, (w + 1) * this.seqLen), r * this.seqLen);
      this.cursor++;
    }
    return { inputIds, batchSize: this.batchSize, seqLen: this.seqLen };
  }
  state(): { cursor: number } {
    return { cursor: this.cursor };
  }
  restore(state: { cursor: number }): void {
    this.cursor = state.cursor;
  }
}
