/**
 * Robustness, the data side (pure JavaScript, no tensors): the byte tokenizer, buildTokenStream and
 * WindowBatcher, passkey prompts, trials and training examples, SFT examples and their collation,
 * repeated-string and curriculum batches. Every case: a plain Error naming the value and the fix.
 */
import {
  CurriculumBatches,
  RepeatedStringBatches,
  WindowBatcher,
  buildTokenStream,
  collateExamples,
  decode,
  encode,
  longQaExamples,
  passkeyCurriculumStages,
  passkeyPrompt,
  passkeyTrainingExamples,
  passkeyTrial,
  sftExample,
} from '../../lib/data';
import type { PasskeyCurriculumStage } from '../../lib/data';
import { Rng } from '../../lib/util';
import { useBackend } from '../helpers';
import { expectBadInput } from './bad-input';
import type { BadCase } from './bad-input';

useBackend('cpu');

const tokens = encode('hello world. '.repeat(50)); // 650 tokens
const run = (cases: () => BadCase[]) =>
  it.each(cases())('%s', async (_name, call, patterns) => {
    await expectBadInput(call, patterns);
  });

describe('tokenizer, buildTokenStream, WindowBatcher', () => {
  const batcher = (t: unknown, o: unknown) => () => new WindowBatcher(t as Int32Array, o as never);
  run(() => [
    ['encode of a number', () => encode(5 as never), [/encode: text must be a string, got 5/]],
    ['encode with a misspelt option', () => encode('a', { bo: true } as never), [/encode: unknown option 'bo' \(did you mean 'bos'\?\)/]],
    ['decode of an id outside the vocabulary', () => decode([104, 300]), [/decode: token id 300 at position 1 is outside the vocabulary \[0, 259\); ids 0-255 are bytes, 256 BOS, 257 EOS, 258 PAD/]],
    ['decode of a string', () => decode('abc' as never), [/decode: ids must be an array or typed array of token ids, got "abc"/]],
    ['buildTokenStream of a string', () => buildTokenStream('hello' as never), [/buildTokenStream: docs must be an array of documents, got "hello"/]],
    ['buildTokenStream of bare strings', () => buildTokenStream(['a', 'b'] as never), [/buildTokenStream: document 0 has no text string/]],
    ['buildTokenStream with a misspelt option', () => buildTokenStream([], { eso: false } as never), [/unknown option 'eso' \(did you mean 'eos'\?\)/]],
    ['buildTokenStream with bos as a string', () => buildTokenStream([], { bos: 'yes' } as never), [/buildTokenStream: bos must be true or false, got "yes"/]],
    ['a number array of tokens', batcher([1, 2, 3], { seqLen: 2, batchSize: 1 }), [/WindowBatcher: tokens must be an Int32Array \(see buildTokenStream\), got an array of length 3/]],
    ['Float32Array tokens', batcher(new Float32Array(10), { seqLen: 2, batchSize: 1 }), [/tokens must be an Int32Array .* got an object \(Float32Array\)/]],
    ['no options', batcher(tokens, undefined), [/WindowBatcher: options \{ seqLen, batchSize \} are required/]],
    ['seqLen 0', batcher(tokens, { seqLen: 0, batchSize: 1 }), [/WindowBatcher: seqLen must be a positive integer, got 0/]],
    ['batchSize NaN', batcher(tokens, { seqLen: 8, batchSize: NaN }), [/batchSize must be a positive integer, got NaN/]],
    ['a misspelt option', batcher(tokens, { seqLen: 8, batchSize: 1, shufle: false }), [/WindowBatcher: unknown option 'shufle' \(did you mean 'shuffle'\?\)/]],
    ['shuffle as a string', batcher(tokens, { seqLen: 8, batchSize: 1, shuffle: 'no' }), [/WindowBatcher: shuffle must be true or false, got "no"/]],
    ['a seed of 2^32', batcher(tokens, { seqLen: 8, batchSize: 1, seed: 2 ** 32 }), [/WindowBatcher: seed must be an integer in \[0, 2\^32\), got 4294967296/]],
    ['a token id outside the vocabulary', batcher(new Int32Array([1, 2, 999, 4]), { seqLen: 2, batchSize: 1 }), [/WindowBatcher: token id 999 at position 2 is outside the vocabulary \[0, 259\)/]],
    ['a window longer than the text', batcher(tokens, { seqLen: 10000, batchSize: 1 }), [/the text is too short for one window: it has 650 tokens and one window of seqLen 10000 needs 10000; use more text or a smaller seqLen/]],
    ['a batch larger than the windows', batcher(tokens, { seqLen: 100, batchSize: 100 }), [/650 tokens give 6 windows of 100, but a batch needs 100 windows .* or dropLast: false/]],
    ['restore of another batcher\'s state', () => new WindowBatcher(tokens, { seqLen: 8, batchSize: 1 }).restore(new WindowBatcher(tokens, { seqLen: 16, batchSize: 1 }).state()), [/WindowBatcher\.restore: state\.seqLen is 16 but this batcher has 8; restore into a batcher built on the same tokens with the same options/]],
    ['restore of null', () => new WindowBatcher(tokens, { seqLen: 8, batchSize: 1 }).restore(null as never), [/expected a state from WindowBatcher\.state\(\) \(version 1\), got null/]],
  ]);
});

describe('passkey prompts, trials, training examples', () => {
  const rng = () => new Rng(0);
  const examples = (o: unknown) => () => passkeyTrainingExamples(o as never);
  run(() => [
    ['passkeyPrompt without prefixChars', () => passkeyPrompt({ garbageChars: 10, passKey: 5 } as never), [/passkeyPrompt: prefixChars must be a non-negative integer, got undefined/]],
    ['a prefix longer than the filler', () => passkeyPrompt({ garbageChars: 10, prefixChars: 20, passKey: 5 }), [/prefixChars 20 > garbageChars 10; the prefix is part of the filler, so pass prefixChars <= garbageChars/]],
    ['a negative key', () => passkeyPrompt({ garbageChars: 10, prefixChars: 2, passKey: -5 }), [/passkeyPrompt: passKey must be a non-negative integer, got -5/]],
    ['a key as a string', () => passkeyPrompt({ garbageChars: 10, prefixChars: 2, passKey: '123' as never }), [/passKey must be a non-negative integer, got "123"/]],
    ['more filler than the official text', () => passkeyPrompt({ garbageChars: 1e9, prefixChars: 0, passKey: 5 }), [/garbageChars 1000000000 exceeds the 449999 characters of the official filler \(5000 repeats\); use a smaller garbageChars/]],
    ['a misspelt option', () => passkeyPrompt({ garbageChars: 10, prefixChars: 2, passkey: 5 } as never), [/unknown option 'passkey' \(did you mean 'passKey'\?\)/]],
    ['passkeyTrial without an Rng', () => passkeyTrial(0 as never, { garbageChars: 10 }), [/passkeyTrial: rng must be an Rng \(new Rng\(seed\)\), got 0/]],
    ['depth 2', () => passkeyTrial(rng(), { garbageChars: 10, depth: 2 }), [/passkeyTrial: depth must be a number in \[0, 1\], got 2/]],
    ['keyDigits 16', () => passkeyTrial(rng(), { garbageChars: 10, keyDigits: 16 }), [/keyDigits must be integers with 1 <= min <= max <= 15, got 16/]],
    // NaN and Infinity used to be shown as null (JSON.stringify)
    ['keyDigits NaN (named as NaN)', () => passkeyTrial(rng(), { garbageChars: 10, keyDigits: NaN }), [/keyDigits must be integers with 1 <= min <= max <= 15, got NaN/]],
    ['keyDigits [3, Infinity] (named as given)', examples({ seqLen: 400, count: 1, keyDigits: [3, Infinity] }), [/keyDigits must be integers with 1 <= min <= max <= 15, got \[3,Infinity\]/]],
    ['keyDigits reversed', () => passkeyTrial(rng(), { garbageChars: 10, keyDigits: [5, 3] }), [/got \[5,3\]/]],
    ['no filler', () => passkeyTrial(rng(), { garbageChars: 0 }), [/passkeyTrial: garbageChars must be a positive integer, got 0/]],
    ['a sequence too short for a prompt', examples({ seqLen: 50, count: 1 }), [/passkeyTrainingExamples: seqLen 50 is too small to fit a passkey prompt: .* so seqLen must be >= \d+/]],
    ['filler 0', examples({ seqLen: 400, count: 1, filler: 0 }), [/filler must be a fraction in \(0, 1\] or a range \[min, max\] with 0 < min <= max <= 1, got 0/]],
    ['filler NaN (named as NaN)', examples({ seqLen: 400, count: 1, filler: NaN }), [/filler must be a fraction .* got NaN/]],
    ['a filler range reversed', examples({ seqLen: 400, count: 1, filler: [0.8, 0.2] }), [/got \[0\.8,0\.2\]/]],
    ['unknown labels', examples({ seqLen: 400, count: 1, labels: 'all' }), [/labels must be 'answer' or 'retrieval', got "all"/]],
    ['count 0', examples({ seqLen: 400, count: 0 }), [/count must be a positive integer, got 0/]],
    ['repeatedDigitKeys 2', examples({ seqLen: 400, count: 1, repeatedDigitKeys: 2 }), [/repeatedDigitKeys must be a share in \[0, 1\] of examples whose key repeats digits, got 2/]],
    ['a snake_case option', examples({ seqLen: 400, count: 1, seq_len: 3 }), [/unknown option 'seq_len' \(did you mean 'seqLen'\?\)/]],
  ]);
});

describe('SFT examples and collation', () => {
  run(() => [
    ['a record without output', () => sftExample({ instruction: 'a' } as never, { maxLen: 100 }), [/sftExample: record\.output must be a string, got undefined/]],
    ['an empty answer', () => sftExample({ instruction: 'a', output: '  ' }, { maxLen: 100 }), [/the answer \(record\.output\) is empty; every SFT example needs a non-empty answer to train on/]],
    ['an example over maxLen', () => sftExample({ instruction: 'a'.repeat(200), output: 'b' }, { maxLen: 100 }), [/the example is 216 tokens \(prompt 214 \+ answer 1 \+ EOS\) but maxLen is 100, so the answer would be cut off; shorten the instruction\/input or raise maxLen/]],
    ['an unknown record key', () => sftExample({ instruction: 'a', output: 'b', answer: 'c' } as never, { maxLen: 100 }), [/sftExample \(record\): unknown option 'answer'; valid options are 'instruction', 'input', 'output'/]],
    ['an instruction that is not a string', () => sftExample({ instruction: 5, output: 'b' } as never, { maxLen: 100 }), [/formatSftPrompt: example\.instruction must be a string, got 5/]],
    ['no options', () => sftExample({ instruction: 'a', output: 'b' }, undefined as never), [/sftExample: pass \{ maxLen \}/]],
    ['maxLen 0', () => sftExample({ instruction: 'a', output: 'b' }, { maxLen: 0 }), [/sftExample: maxLen must be a positive integer, got 0/]],
    ['collate of nothing', () => collateExamples([]), [/collateExamples: examples must be a non-empty array, got an array of length 0/]],
    ['collate to less than the longest', () => collateExamples([{ inputIds: new Int32Array(5), labels: new Int32Array(5) }], { padTo: 2 }), [/an example has 5 tokens but padTo is 2; raise padTo or shorten the example/]],
    ['collate of mismatched ids and labels', () => collateExamples([{ inputIds: new Int32Array(5), labels: new Int32Array(4) }]), [/example 0 must have Int32Array inputIds and labels of equal length/]],
    ['long QA with no documents', () => longQaExamples({ docs: [], count: 1, seqLen: 1000 }), [/longQaExamples: docs must be a non-empty array of documents/]],
    ['long QA of an unknown kind', () => longQaExamples({ docs: [{ id: 'a', title: 'a', text: 'x' }], count: 1, seqLen: 1000, kinds: ['qa'] } as never), [/kinds must be a non-empty array of 'next-sentence' \/ 'find-sentence', got \["qa"\]/]],
    ['long QA on documents too short', () => longQaExamples({ docs: [{ id: 'a', title: 'a', text: 'x' }], count: 1, seqLen: 1000 } as never), [/no document is long enough for seqLen 1000: .* pass longer documents/]],
  ]);
});

describe('repeated-string and curriculum batches', () => {
  let stages: PasskeyCurriculumStage[];
  beforeAll(() => {
    stages = passkeyCurriculumStages({ lengths: [300, 400], checkTrials: 1 });
  });
  const curriculum = (o: object) => () => new CurriculumBatches({ stages, tokensPerUpdate: 800, review: 0.2, filler: [0.5, 1], lengthBins: 1, seed: 0, ...o } as never);
  run(() => [
    ['an unknown option', () => new RepeatedStringBatches({ batchSize: 1, seqLen: 64, alpha: 'ab' } as never), [/RepeatedStringBatches: unknown option 'alpha'; valid options are 'batchSize', 'seqLen'/]],
    // was "got an array of length 2": now the values
    ['chars reversed (named as given)', () => new RepeatedStringBatches({ batchSize: 1, seqLen: 64, chars: [8, 4] }), [/repeatedStringExamples: chars must be \[min, max\] with integers 1 <= min <= max, got \[8,4\]/]],
    ['a sequence too short for the strings', () => new RepeatedStringBatches({ batchSize: 1, seqLen: 10 }), [/seqLen 10 cannot hold a 16-character string twice with BOS, separator and EOS; use seqLen >= 37 or shorter chars/]],
    ["an alphabet with '|'", () => new RepeatedStringBatches({ batchSize: 1, seqLen: 64, alphabet: 'a|b' }), [/alphabet must be a non-empty string of printable ASCII characters other than '\|', got "a\|b"/]],
    ['batchSize 0', () => new RepeatedStringBatches({ batchSize: 0, seqLen: 64 }), [/RepeatedStringBatches: batchSize must be a positive integer, got 0/]],
    ['restore of -1', () => new RepeatedStringBatches({ batchSize: 1, seqLen: 64 }).restore(-1), [/RepeatedStringBatches\.restore: state must be a non-negative integer, got -1/]],
    ['review 1', curriculum({ review: 1 }), [/CurriculumBatches: review = 1 must be in \[0, 1\) \(the share of updates from an earlier stage\)/]],
    ['review NaN', curriculum({ review: NaN }), [/review = NaN must be in \[0, 1\)/]],
    ['filler from 0', curriculum({ filler: [0, 1] }), [/filler must be a range \[min, max\] with 0 < min <= max <= 1 \(fractions of the filler that fits\), got \[0,1\]/]],
    ['filler with NaN (named as NaN)', curriculum({ filler: [NaN, 1] }), [/got \[NaN,1\]/]],
    ['lengthBins 0', curriculum({ lengthBins: 0 }), [/lengthBins must be a positive integer \(1 pads every prompt to its stage's length\), got 0/]],
    ['no stages', curriculum({ stages: [] }), [/stages must be a non-empty array of \{ length, fixedTokens, make \}, got an array of length 0/]],
    ['a misspelt option', curriculum({ reviews: 0.1 }), [/unknown option 'reviews' \(did you mean 'review'\?\)/]],
    ['no seed', curriculum({ seed: undefined }), [/CurriculumBatches: seed must be an integer in \[0, 2\^32\), got undefined/]],
    ['restore of a state with more stages', () => curriculum({})().restore({ stage: 5, next: 0, rng: { kind: 'mulberry32', state: 1 } }), [/state\.stage = 5 but there are 2 stages; restore a state of a curriculum with the same stages/]],
    [
      'advance past the last stage',
      () => {
        const c = curriculum({})();
        c.advance();
        c.advance();
      },
      [/already at the last stage \(400 tokens\); check atLastStage before advancing/],
    ],
    ['stage lengths too short', () => passkeyCurriculumStages({ lengths: [10], checkTrials: 1 }), [/lengths must be ascending integer prompt lengths >= 107 \(a short episode with a 5-digit key\), got \[10\]/]],
    ['checkTrials 0', () => passkeyCurriculumStages({ lengths: [400], checkTrials: 0 }), [/passkeyCurriculumStages: checkTrials must be a positive integer, got 0/]],
  ]);
});
