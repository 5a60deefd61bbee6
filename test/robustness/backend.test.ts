/**
 * Robustness, the backend and the benchmarks: `ready` with bad names, thread counts, options and
 * environment variables (the active backend must stay as it was and keep working), and the bench
 * entry points' options, which must be refused before any (slow) measurement starts.
 */
import { tf, ready, backendInfo } from '../../lib/backend';
import { benchAttention, benchTrainStep, maxTrainableSeqLen, measureMatmulGflops, runBench, timeAttentionFunctions, timeInterleaved, timeIt } from '../../lib/bench';
import { useBackend } from '../helpers';
import { expectBackendWorks, expectBadInput } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

/** Runs `call` with environment variable `name` set to `value`, restoring it after. */
const withEnv = (name: string, value: string, call: () => unknown) => async () => {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return await call();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
};

describe('ready', () => {
  const cases = (): BadCase[] => [
    ["an unknown backend 'gpu'", () => ready({ backend: 'gpu' as never }), [/ready\(\{ backend \}\) = 'gpu' is not a backend; use one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu/]],
    ['a backend name in capitals', () => ready({ backend: 'CPU' as never }), [/= 'CPU' is not a backend/]],
    ["tfjs's own name 'webgl'", () => ready({ backend: 'webgl' as never }), [/= 'webgl' is not a backend/]],
    ['0 threads', () => ready({ backend: 'wasm', threads: 0 }), [/ready\(\{ threads: 0 \}\): threads must be an integer from 1 to 8/]],
    ['99 threads', () => ready({ backend: 'wasm', threads: 99 }), [/threads: 99 \}\): threads must be an integer from 1 to 8/]],
    ['1.5 threads', () => ready({ backend: 'wasm', threads: 1.5 }), [/threads: 1\.5 \}\): threads must be an integer/]],
    // the message used to show the string as the number 2
    ["threads as the string '2'", () => ready({ backend: 'wasm', threads: '2' as never }), [/ready\(\{ threads: "2" \}\): threads must be an integer from 1 to 8/]],
    // were accepted without a word (the defaults ran)
    ['a misspelt option', () => ready({ backend: 'cpu', thread: 2 } as never), [/ready: unknown option 'thread' \(did you mean 'threads'\?\); valid options are 'backend', 'threads'/]],
    ['a backend name instead of options', () => ready('wasm' as never), [/ready: options must be an object, got "wasm"; use ready\(\{ backend: "wasm" \}\)/]],
    // was a TypeError (reading 'backend' of null)
    ['null options', () => ready(null as never), [/ready: options must be an object, got null/]],
    ['a native backend that is not installed', () => ready({ backend: 'tensorflow-gpu' }), [/backend 'tensorflow-gpu' was requested by ready\(\{ backend \}\) but failed to load: @tensorflow\/tfjs-node-gpu is not installed or does not load .*; opt in with `npm run backend:gpu`/]],
    ["LONGLORA_BACKEND='gpu'", withEnv('LONGLORA_BACKEND', 'gpu', () => ready()), [/LONGLORA_BACKEND = 'gpu' is not a backend; use one of tensorflow-gpu, tensorflow, webgpu, wasm, cpu/]],
    ["LONGLORA_WASM_THREADS='abc'", withEnv('LONGLORA_WASM_THREADS', 'abc', () => ready({ backend: 'cpu' })), [/LONGLORA_WASM_THREADS = 'abc' must be an integer from 1 to 8/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    // the backend is the one from before, and computes
    expect(tf.getBackend()).toBe('cpu');
    expect(backendInfo().name).toBe('cpu');
    expect(await ready({ backend: 'cpu' })).toBe('cpu');
    expectBackendWorks();
  });
});

describe('bench options (refused before anything is measured)', () => {
  const cases = (): BadCase[] => [
    ['timeIt runs 0', () => timeIt(() => 0, { runs: 0 }), [/timeIt: runs = 0 must be a positive integer/]],
    // the next four ran with other settings than asked, or failed as a TypeError
    ['timeIt warmup -1', () => timeIt(() => 0, { warmup: -1 }), [/timeIt: warmup = -1 must be an integer >= 0 \(untimed runs first\)/]],
    ['timeIt warmup NaN', () => timeIt(() => 0, { warmup: NaN }), [/warmup = NaN must be an integer >= 0/]],
    ['timeIt a misspelt option', () => timeIt(() => 0, { run: 3 } as never), [/timeIt: unknown option 'run' \(did you mean 'runs'\?\); valid options are 'warmup', 'runs'/]],
    ['timeIt of a number', () => timeIt(5 as never), [/timeIt: what to time must be a function .* got 5/]],
    ['timeInterleaved of a list with a non-function', () => timeInterleaved([() => 0, 'x' as never]), [/what to time must be a function .* got "x"/]],
    // was a TypeError ("Cannot convert undefined or null to object")
    ['benchTrainStep of null', () => benchTrainStep(null as never), [/benchTrainStep: options must be an object, got null/]],
    ['benchTrainStep a misspelt option', () => benchTrainStep({ seqlens: [8] } as never), [/benchTrainStep: unknown option\(s\) seqlens; options are config, seqLens, attention/]],
    // was a TypeError ("seqLens is not iterable")
    ['benchTrainStep seqLens as a number', () => benchTrainStep({ seqLens: 64 as never }), [/benchTrainStep: seqLens = 64 must be a non-empty list of sequence lengths, e\.g\. \[256, 512\]/]],
    // a bad length after a good one used to fail only after the good one's steps had run
    ['benchTrainStep a bad length after a good one', () => benchTrainStep({ seqLens: [256, 3.5] }), [/benchTrainStep: seqLen 3\.5 must be an integer >= 2/]],
    ['benchTrainStep an unknown attention', () => benchTrainStep({ attention: 's3' as never }), [/attention = 's3' must be one of full, s2, s2-roll/]],
    ['benchTrainStep steps 0', () => benchTrainStep({ steps: 0 }), [/benchTrainStep: steps = 0 must be an integer >= 1/]],
    // were a TypeError, a length whose S2 row recorded an error after full attention ran, and a silently ignored key
    ['benchAttention seqLens as a number', () => benchAttention(64 as never), [/benchAttention: seqLens = 64 must be a non-empty list of multiples of 8 \(S2-Attn uses G = N\/4, which must be even\)/]],
    ['benchAttention a length S2 cannot group', () => benchAttention([6]), [/benchAttention: seqLens = \[6\] must be a non-empty list of multiples of 8/]],
    ['benchAttention a misspelt option', () => benchAttention([8], { run: 1 } as never), [/benchAttention: unknown option 'run' \(did you mean 'runs'\?\)/]],
    ['runBench a misspelt option (would start the full bench)', () => runBench({ quik: true } as never), [/runBench: unknown option 'quik' \(did you mean 'quick'\?\); valid options are 'quick', 'log'/]],
    ['runBench quick as a string', () => runBench({ quick: 'yes' as never }), [/runBench: quick = "yes" must be true or false/]],
    ['maxTrainableSeqLen a misspelt option', () => maxTrainableSeqLen({ budget: 1 } as never), [/maxTrainableSeqLen: unknown option 'budget'/]],
    ['maxTrainableSeqLen step 7', () => maxTrainableSeqLen({ step: 7 }), [/maxTrainableSeqLen: step = 7 must be a multiple of 8 \(S2 needs G = N\/4 even\)/]],
    ['maxTrainableSeqLen a negative budget', () => maxTrainableSeqLen({ budgetBytes: -1 }), [/budgetBytes = -1 must be positive/]],
    ['maxTrainableSeqLen a limit below the step', () => maxTrainableSeqLen({ limit: 100 }), [/maxTrainableSeqLen: limit = 100 must be an integer >= step \(256\)/]],
    ['measureMatmulGflops of size 0', () => measureMatmulGflops(0, 1), [/measureMatmulGflops: n must be a positive integer, got 0/]],
    ['timeAttentionFunctions of a non-function', () => timeAttentionFunctions({ full: 5 as never }, 8, { runs: 1 }), [/timeAttentionFunctions: fns\.full = 5 must be a function \(q, k, v\) => output/]],
  ];
  it.each(cases())('%s', async (_name, call, patterns) => {
    const started = performance.now();
    await expectBadInput(call, patterns);
    expect(performance.now() - started).toBeLessThan(5000); // refused up front, nothing measured
    expectBackendWorks();
  });
});
