/**
 * Passkey lengths in tokens: the filler for a length makes an example exactly that long, the
 * shortest official example is where the filler reaches 1 character, and the default curriculum
 * and table lengths; bad arguments are refused.
 */
import {
  BOS,
  EOS,
  encode,
  holdsOfficialPasskeyPrompt,
  passkeyCompletion,
  passkeyCurriculum,
  passkeyEvalLengths,
  passkeyExampleMinTokens,
  passkeyGarbageForTokens,
  passkeyOfficialMinTokens,
  passkeyPrompt,
  passkeyTrainingExamples,
} from '../../lib/data';

describe('passkeyGarbageForTokens', () => {
  it.each([[256], [300], [512], [1024]])('fills a %i-token example with a 5-digit key exactly', (tokens) => {
    const garbageChars = passkeyGarbageForTokens(tokens);
    const prompt = encode(passkeyPrompt({ garbageChars, prefixChars: Math.floor(garbageChars / 2), passKey: 12345 }), { bos: true });
    const answer = encode(passkeyCompletion('12345'), { eos: true });
    expect(prompt[0]).toBe(BOS);
    expect(answer[answer.length - 1]).toBe(EOS);
    expect(prompt.length + answer.length).toBe(tokens);
  });

  it('gives a shorter key its tokens back as filler: the key appears twice in the prompt and once in the answer', () => {
    expect(passkeyGarbageForTokens(512, 3)).toBe(passkeyGarbageForTokens(512, 5) + 3 * 2);
  });

  it('refuses non-integer lengths and key digits', () => {
    expect(() => passkeyGarbageForTokens(300.5)).toThrow('passkeyGarbageForTokens: tokens must be an integer, got 300.5');
    expect(() => passkeyGarbageForTokens(300, 0)).toThrow('passkeyGarbageForTokens: keyDigits must be a positive integer, got 0');
  });
});

describe('passkeyOfficialMinTokens and holdsOfficialPasskeyPrompt', () => {
  it('is the shortest length with 1 filler character, as passkeyTrainingExamples accepts it', () => {
    const n = passkeyOfficialMinTokens(5);
    expect(n).toBe(passkeyExampleMinTokens(5));
    expect(passkeyGarbageForTokens(n)).toBe(1);
    expect(holdsOfficialPasskeyPrompt(n)).toBe(true);
    expect(holdsOfficialPasskeyPrompt(n - 1)).toBe(false);
    expect(() => passkeyTrainingExamples({ seqLen: n, count: 1, keyDigits: 5 })).not.toThrow();
    expect(() => passkeyTrainingExamples({ seqLen: n - 1, count: 1, keyDigits: 5 })).toThrow(/too small/);
    expect(passkeyOfficialMinTokens(3)).toBe(n - 3 * 2);
    expect(passkeyOfficialMinTokens()).toBe(n);
  });

  it('says no (never throws) for what is not an integer length', () => {
    for (const bad of [300.5, '300', NaN, null, undefined, Infinity]) expect(holdsOfficialPasskeyPrompt(bad)).toBe(false);
    expect(() => passkeyOfficialMinTokens(0)).toThrow('passkeyOfficialMinTokens: maxDigits must be a positive integer, got 0');
  });
});

describe('passkeyCurriculum and passkeyEvalLengths', () => {
  it('builds the default curriculum: 128, 192, then every 64 tokens, ending at seqLen', () => {
    expect(passkeyCurriculum(512)).toEqual([128, 192, 256, 320, 384, 448, 512]);
    expect(passkeyCurriculum(300)).toEqual([128, 192, 256, 300]);
    expect(passkeyCurriculum(128)).toEqual([128]);
    expect(passkeyCurriculum(100)).toEqual([100]);
    expect(() => passkeyCurriculum(0)).toThrow('passkeyCurriculum: seqLen must be a positive integer, got 0');
  });

  it('tables 0.5 to 2 x seqLen, less the lengths that cannot hold the official prompt', () => {
    const n = passkeyOfficialMinTokens(5);
    expect(passkeyEvalLengths(512)).toEqual([256, 384, 512, 768, 1024]);
    expect(passkeyEvalLengths(256)).toEqual([256, 384, 512]); // 128 and 192 left out
    expect(passkeyEvalLengths(n)).toEqual([n, Math.round(1.5 * n), 2 * n]);
    expect(() => passkeyEvalLengths(-1)).toThrow('passkeyEvalLengths: seqLen must be a positive integer, got -1');
  });
});
