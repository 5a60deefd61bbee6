import { BOS, EOS, PAD, VOCAB_SIZE, byteLength, decode, encode } from '../../lib/data';

describe('byte tokenizer', () => {
  it('has the documented special ids and vocabulary size', () => {
    expect([BOS, EOS, PAD, VOCAB_SIZE]).toEqual([256, 257, 258, 259]);
  });

  it('encodes ASCII as its byte values', () => {
    expect(Array.from(encode('Hi!'))).toEqual([72, 105, 33]);
    expect(encode('')).toEqual(new Int32Array(0));
    expect(encode('x')).toBeInstanceOf(Int32Array);
  });

  it('encodes multi-byte UTF-8 exactly (hand-written byte sequences)', () => {
    expect(Array.from(encode('é'))).toEqual([0xc3, 0xa9]); // U+00E9
    expect(Array.from(encode('—'))).toEqual([0xe2, 0x80, 0x94]); // U+2014 em dash (in Moby Dick)
    expect(Array.from(encode('😀'))).toEqual([0xf0, 0x9f, 0x98, 0x80]); // U+1F600, a surrogate pair in UTF-16
    expect(Array.from(encode('\u0000'))).toEqual([0]);
  });

  it('round-trips ASCII, accents, CJK, emoji and control characters', () => {
    const texts = ['Call me Ishmael.', 'naïve café — “quotes”', '日本語のテキスト', 'family: 👨‍👩‍👧 flag: 🇺🇸', 'tab\tnew\nline\r\0', ''];
    for (const t of texts) {
      const ids = encode(t);
      expect(ids.length).toBe(Buffer.byteLength(t, 'utf8'));
      expect(ids.length).toBe(byteLength(t));
      expect(decode(ids)).toBe(t);
    }
  });

  it('keeps a leading U+FEFF (no BOM stripping) so round trips are exact', () => {
    expect(decode(encode('\ufeffabc'))).toBe('\ufeffabc');
  });

  it('adds BOS / EOS only when asked, and renders or skips specials', () => {
    const ids = encode('ab', { bos: true, eos: true });
    expect(Array.from(ids)).toEqual([BOS, 97, 98, EOS]);
    expect(decode(ids)).toBe('<s>ab</s>');
    expect(decode(ids, { skipSpecial: true })).toBe('ab');
    expect(decode([97, PAD, PAD])).toBe('a<pad><pad>');
    expect(decode([97, PAD, PAD], { skipSpecial: true })).toBe('a');
  });

  it('never turns the literal text "</s>" into EOS (specials enter only by id)', () => {
    const ids = encode('</s>');
    expect(ids.length).toBe(4);
    expect(Array.from(ids).includes(EOS)).toBe(false);
  });

  it('decodes invalid UTF-8 to U+FFFD exactly as TextDecoder does', () => {
    const cases = [[0xff], [0xc3], [0xe2, 0x80], [0x80, 0x41], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0x41, 0xc3, 0x28, 0x42]];
    const reference = new TextDecoder('utf-8', { ignoreBOM: true });
    for (const bytes of cases) {
      const got = decode(bytes);
      expect(got).toBe(reference.decode(new Uint8Array(bytes)));
      expect(got).toContain('\ufffd');
    }
  });

  it('replaces invalid bytes per the WHATWG maximal-subpart rule (hand-written expectations)', () => {
    expect(decode([0x41, 0xc3, 0x28, 0x42])).toBe('A\ufffd(B'); // lead byte followed by ASCII: one U+FFFD
    expect(decode([0xf0, 0x9f, 0x98])).toBe('\ufffd'); // truncated 4-byte sequence: one U+FFFD
    expect(decode([0xed, 0xa0, 0x80])).toBe('\ufffd\ufffd\ufffd'); // encoded surrogate: three
    expect(decode([0xff, 0x61])).toBe('\ufffda');
  });

  it('a special token in the middle of a multi-byte character splits it into replacement characters', () => {
    // é = C3 A9; an EOS between the bytes leaves two invalid halves.
    expect(decode([0xc3, EOS, 0xa9])).toBe('\ufffd</s>\ufffd');
  });

  it('rejects ids outside the vocabulary, naming the id and its position', () => {
    expect(() => decode([97, 259])).toThrow('decode: token id 259 at position 1 is outside the vocabulary [0, 259)');
    expect(() => decode([-1])).toThrow('token id -1 at position 0 is outside the vocabulary');
    expect(() => decode([1.5])).toThrow('token id 1.5 at position 0');
    expect(() => decode([NaN])).toThrow('token id NaN at position 0');
  });

  it('rejects bad arguments with clear messages', () => {
    expect(() => encode(42 as unknown as string)).toThrow('encode: text must be a string, got 42');
    expect(() => encode('a', { bos: 1 as unknown as boolean })).toThrow('encode: bos must be true or false, got 1');
    expect(() => encode('a', { eso: true } as never)).toThrow("encode: unknown option 'eso' (did you mean 'eos'?); valid options are 'bos', 'eos'");
    expect(() => decode('abc' as unknown as number[])).toThrow('decode: ids must be an array or typed array of token ids');
    expect(() => decode([97], { skip: true } as never)).toThrow("decode: unknown option 'skip'");
  });
});
