/**
 * The one assertion of the robustness suite: a bad input is refused with a plain `Error` (or the
 * class the library documents), not a TypeError or RangeError from deep inside; its message names
 * the offending value and says what to do (the patterns); and no tensor is left behind, also on the
 * failure path.
 *
 * The call runs twice: the first run may fill the library's constant caches (RoPE tables, causal
 * masks, the backend's kernels), which is not a leak; the second must leave
 * `tf.memory().numTensors` exactly where it was. A call that succeeds fails the case.
 */
import { tf } from '../../lib/backend';
import type { Tensor } from '../../lib/backend';
import { LlamaForCausalLM } from '../../lib/model';

/** A row of a case table: a name, the call, and the patterns its message must match. */
export type BadCase = [name: string, call: () => unknown, patterns: RegExp[]];

const NO_ERROR = Symbol('no error');

async function capture(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') await result;
    if (result instanceof tf.Tensor) result.dispose();
  } catch (e) {
    return e;
  }
  return NO_ERROR;
}

function checkError(e: unknown, patterns: RegExp[], errorClass: new (...args: never[]) => Error): Error {
  if (e === NO_ERROR) throw new Error('expected the call to throw (or reject), but it returned normally');
  // errors from V8 builtins may come from the host realm (jest runs tests in a vm context), where
  // `instanceof Error` is false: judge by shape, then by the exact class
  const errorLike = e !== null && typeof e === 'object' && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string';
  if (!errorLike) throw new Error(`expected an Error, got ${String(e)}`);
  if (!(e instanceof Error) || e.constructor !== errorClass) {
    const err = e as Error;
    throw new Error(`expected ${errorClass === Error ? 'an Error' : `a ${errorClass.name}`}, got a ${err.name} from deep inside: ${err.message}\n${err.stack ?? ''}`);
  }
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

/**
 * Asserts that `call` (sync or async) throws an `errorClass` (default `Error`, exactly) whose message
 * matches every pattern, twice, the second time without changing the live tensor count. Returns
 * the second error.
 */
export async function expectBadInput(call: () => unknown, patterns: RegExp[], errorClass: new (...args: never[]) => Error = Error): Promise<Error> {
  checkError(await capture(call), patterns, errorClass);
  const before = tf.memory().numTensors;
  const e = checkError(await capture(call), patterns, errorClass);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`the failed call leaked ${after - before} tensor(s) (${before} before, ${after} after): ${e.message}`);
  return e;
}

/** One small forward pass: the model (and the backend) still work, and leave nothing behind. */
export function expectModelWorks(model: LlamaForCausalLM): void {
  const run = () =>
    tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'));
      expect(logits.shape).toEqual([1, 3, model.config.vocabSize]);
      return logits.dataSync() as Float32Array;
    });
  run(); // fills the RoPE and mask caches for this length
  const before = tf.memory().numTensors;
  expect(run().every(Number.isFinite)).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
}

/** The backend still computes: a 2x2 product with the right values. */
export function expectBackendWorks(): void {
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1, 0], [0, 1]])).dataSync()));
  expect(out).toEqual([1, 2, 3, 4]);
  expect(tf.memory().numTensors).toBe(before);
}

/** int32 ids `[batch, seq]` (a tensor the caller disposes). */
export function ids(rows: number[][]): Tensor {
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}
