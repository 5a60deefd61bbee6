/**
 * Robustness, evaluation: evaluatePerplexity's options and tokens, windowStarts with a non-positive
 * (or fractional, or NaN) step, which would loop forever, and the passkey evaluations. Every case: a
 * plain Error naming the value and the fix, no tensor left behind, the model still works after.
 */
import { LlamaForCausalLM, KVCache, presets } from '../../lib/model';
import { evaluatePasskey, evaluatePerplexity, passkeyAccuracyAt, passkeyAccuracyTable, windowStarts } from '../../lib/eval';
import { encode } from '../../lib/data';
import { useBackend } from '../helpers';
import { expectBadInput, expectModelWorks } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

let model: LlamaForCausalLM;
beforeAll(() => {
  model = LlamaForCausalLM.create(presets.tiny, { seed: 0 });
});
afterAll(() => model.dispose());

const tokens = encode('hello world. '.repeat(50)); // 650 tokens
const run = (cases: () => BadCase[]) =>
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
    expectModelWorks(model);
  });

describe('windowStarts', () => {
  run(() => [
    ['step 0 (would loop forever)', () => windowStarts(1000, 100, 0), [/windowStarts: stride \(official 256\) must be a positive integer, got 0/]],
    ['a negative step', () => windowStarts(1000, 100, -1), [/stride \(official 256\) must be a positive integer, got -1/]],
    ['a fractional step', () => windowStarts(1000, 100, 0.5), [/must be a positive integer, got 0\.5/]],
    ['a NaN step', () => windowStarts(1000, 100, NaN), [/must be a positive integer, got NaN/]],
    ['seqLen 0', () => windowStarts(1000, 0, 10), [/windowStarts: seqLen must be a positive integer, got 0/]],
    ['a negative token count', () => windowStarts(-5, 10, 10), [/windowStarts: numTokens must be a non-negative integer, got -5/]],
    ['an unknown protocol', () => windowStarts(1000, 100, 10, 'eval2' as never), [/protocol = "eval2" must be 'eval' \(eval\.py\) or 'eval_distributed' \(eval_distributed\.py\)/]],
  ]);
});

describe('evaluatePerplexity', () => {
  const ppl = (options: unknown, t: unknown = tokens, m: unknown = 'model') => () => evaluatePerplexity((m === 'model' ? model : m) as never, t as Int32Array, options as never);
  run(() => [
    ['stride 0', ppl({ seqLens: [64], stride: 0 }), [/perplexity: stride = 0 must be a positive integer \(official: 256\)/]],
    ['a negative stride', ppl({ seqLens: [64], stride: -8 }), [/stride = -8 must be a positive integer/]],
    ['a stride longer than the window', ppl({ seqLens: [64], stride: 128 }), [/stride 128 is larger than the window 64; windows would skip tokens/]],
    ['no lengths', ppl({ seqLens: [] }), [/perplexity: seqLens must list at least one evaluation length/]],
    ['a length that is not a list', ppl({ seqLens: 64 }), [/seqLens must list at least one evaluation length/]],
    ['a window of 1 token', ppl({ seqLens: [1] }), [/perplexity: seqLen 1 must be an integer >= 2/]],
    ['a misspelt option', ppl({ seqLens: [64], strides: 8 }), [/perplexity: unknown option 'strides' \(did you mean 'stride'\?\)/]],
    ['null options', ppl(null), [/perplexity: options = null; pass at least \{ seqLens: \[\.\.\.\] \}, the evaluation lengths/]],
    ['maxWindows 0', ppl({ seqLens: [64], stride: 8, maxWindows: 0 }), [/maxWindows = 0 must be a positive integer/]],
    ['onWindow not a function', ppl({ seqLens: [64], stride: 8, onWindow: 1 }), [/onWindow = 1 must be a function \(\{ seqLen, done, total, loss \}\) => void/]],
    ['allowExtrapolation as a string', ppl({ seqLens: [64], stride: 8, allowExtrapolation: 'yes' }), [/perplexity: allowExtrapolation must be true or false, got "yes"/]],
    ['Float32Array tokens', ppl({ seqLens: [64], stride: 8 }, new Float32Array(100)), [/perplexity: tokens must be a non-empty Int32Array \(e\.g\. encode\(mobyDickText\(\)\)\)/]],
    ['no tokens', ppl({ seqLens: [64], stride: 8 }, new Int32Array(0)), [/tokens must be a non-empty Int32Array/]],
    ['too few tokens for one window', ppl({ seqLens: [64], stride: 8 }, new Int32Array(50)), [/the text has 50 tokens, too few for one window of 64 at stride 8 \(needs more than 72 tokens\); use a longer text or a shorter seqLen/]],
    ['tokens outside the vocabulary', ppl({ seqLens: [8], stride: 8, maxWindows: 1 }, new Int32Array(100).fill(300)), [/forward: inputIds: token id 300 at \[0, 0\] is outside the vocabulary/]],
    ['a window past the context', ppl({ seqLens: [256], stride: 128, maxWindows: 1 }), [/forward: 256 positions exceed the model's context of 128 .* pass \{ allowExtrapolation: true \}/]],
    // was a TypeError (reading 'forward' of null)
    ['no model', ppl({ seqLens: [8], stride: 8 }, tokens, null), [/perplexity: model must be a causal LM with config\.vocabSize and forward \(e\.g\. a LlamaForCausalLM\), got null/]],
  ]);
});

describe('passkey evaluation', () => {
  const cache = (n: number) => new KVCache(n);
  const evalPasskey = (options: unknown, makeCache: unknown = cache) => () => evaluatePasskey(model, options as never, makeCache as never);
  run(() => [
    // a misspelt mode used to run the whole evaluation with seeded keys
    ["mode 'offical'", evalPasskey({ garbageChars: [10], trials: 1, mode: 'offical' }), [/passkey: mode = "offical" must be 'official' \(the script's numpy-seeded keys\) or 'seeded' \(ours\)/]],
    ['a misspelt option', evalPasskey({ garbageChars: [10], trial: 3 }), [/passkey: unknown option 'trial' \(did you mean 'trials'\?\)/]],
    // were TypeErrors
    ['null options', evalPasskey(null), [/passkey: options = null; pass at least \{ garbageChars: \[\.\.\.\], trials \}/]],
    ['garbageChars as a number', evalPasskey({ garbageChars: 10, trials: 1 }), [/passkey: garbageChars = 10 must be a list of filler sizes in characters, e\.g\. \[1000, 2000\]/]],
    ['no makeCache', () => (evaluatePasskey as (...a: unknown[]) => unknown)(model, { garbageChars: [10], trials: 1 }), [/passkey: makeCache must be a function \(numLayers\) => cache, e\.g\. \(n\) => new KVCache\(n\); got undefined/]],
    ['trials 0', evalPasskey({ garbageChars: [10], trials: 0 }), [/passkey: trials = 0 must be a positive integer \(official: 10\)/]],
    ['depthBins 0', evalPasskey({ garbageChars: [10], trials: 1, depthBins: 0 }), [/depthBins = 0 must be a positive integer/]],
    ['no lengths', evalPasskey({ garbageChars: [], trials: 1 }), [/garbageChars must list at least one filler size/]],
    ['a filler of 0 characters', evalPasskey({ garbageChars: [0], trials: 1 }), [/passkeyTrial: garbageChars must be a positive integer, got 0/]],
    ['a prompt past the context', evalPasskey({ garbageChars: [10], trials: 1 }), [/forward: \d+ positions exceed the model's context of 128/]],
    ['passkeyAccuracyAt too few tokens', () => passkeyAccuracyAt(model, { promptTokens: 10, trials: 1 }), [/passkeyAccuracyAt: promptTokens = 10 is too few for the official passkey prompt with 1 filler character; use promptTokens >= 256/]],
    ['passkeyAccuracyAt a misspelt option', () => passkeyAccuracyAt(model, { promptTokens: 300, trial: 1 } as never), [/unknown option 'trial' \(did you mean 'trials'\?\)/]],
    ['passkeyAccuracyTable no lengths', () => passkeyAccuracyTable(model, { lengths: [], trainingLength: 128, trials: 1 }), [/passkeyAccuracyTable: lengths must be integer prompt lengths >= 256 \(the official prompt with 1 filler character\), got \[\]/]],
  ]);
});
