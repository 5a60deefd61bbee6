/**
 * HF tokenizers (lib/io/tokenizer.ts) against the Python `tokenizers` library: every encoding and
 * decoding in test/fixtures/hf-tokenizer/expected.json (made by scripts/fixtures/make_hf_tokenizer.py
 * from the committed tokenizer.json, a Llama-2-style BPE with byte fallback), the special token ids,
 * saving the files again, and every error with its message.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HFTokenizer, loadTokenizer, hasTokenizer, HF_TOKENIZER_NAME, HF_TOKENIZER_CONFIG_NAME } from '../../lib/io/tokenizer';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'hf-tokenizer');

interface Case {
  text: string;
  ids: number[];
  tokens: string[];
  ids_no_special: number[];
  decoded: string;
  decoded_skip_special: string;
}
interface Expected {
  tokenizers: string;
  vocab_size: number;
  cases: Case[];
  decodes: { name: string; ids: number[]; decoded: string; decoded_skip_special: string }[];
}
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

describe('HFTokenizer on the fixture (Python tokenizers 0.14.1 as the reference)', () => {
  let tok: HFTokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(FIXTURE);
  });

  it('was made by the Python library and covers byte fallback, spacing, specials as text, the empty string', () => {
    expect(expected.tokenizers).toBe('0.14.1');
    expect(expected.cases.length).toBeGreaterThanOrEqual(12);
    expect(expected.cases.some((c) => c.tokens.includes('<0xE6>'))).toBe(true); // CJK through byte fallback
    expect(expected.cases.some((c) => c.text === '')).toBe(true);
  });

  it.each(expected.cases.map((c) => [JSON.stringify(c.text), c] as const))('encodes %s as Python does, with and without BOS', (_name, c) => {
    const ids = tok.encode(c.text);
    expect(ids).toBeInstanceOf(Int32Array);
    expect(Array.from(ids)).toEqual(c.ids);
    expect(Array.from(tok.encode(c.text, { addSpecialTokens: false }))).toEqual(c.ids_no_special);
    expect(Array.from(ids, (id) => tok.idToToken(id))).toEqual(c.tokens);
  });

  it.each(expected.cases.map((c) => [JSON.stringify(c.text), c] as const))('decodes the ids of %s as Python does', (_name, c) => {
    expect(tok.decode(c.ids)).toBe(c.decoded);
    expect(tok.decode(Int32Array.from(c.ids), { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
  });

  it('decodes lone UTF-8 bytes to U+FFFD and specials in the middle as Python does', () => {
    for (const d of expected.decodes) {
      expect({ name: d.name, text: tok.decode(d.ids) }).toEqual({ name: d.name, text: d.decoded });
      expect({ name: d.name, text: tok.decode(d.ids, { skipSpecialTokens: true }) }).toEqual({ name: d.name, text: d.decoded_skip_special });
    }
  });

  it('knows the vocabulary size and the special tokens that tokenizer_config.json names', () => {
    expect(tok.vocabSize).toBe(expected.vocab_size);
    expect([tok.unkTokenId, tok.bosTokenId, tok.eosTokenId, tok.padTokenId]).toEqual([0, 1, 2, null]);
    expect(tok.tokenToId('<s>')).toBe(1);
    expect(tok.tokenToId('<0x0A>')).toBe(3 + 0x0a);
    expect(tok.tokenToId('no such piece')).toBeNull();
    expect(tok.idToToken(99999)).toBeNull();
    expect(tok.source).toBe(path.join(FIXTURE, HF_TOKENIZER_NAME));
  });

  it('without tokenizer_config.json: the same encodings, no named specials', () => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURE, HF_TOKENIZER_NAME), 'utf8'));
    const bare = HFTokenizer.fromJSON(json);
    for (const c of expected.cases) expect(Array.from(bare.encode(c.text))).toEqual(c.ids);
    expect(bare.bosTokenId).toBeNull();
    expect(bare.decode(expected.cases[0].ids)).toBe(expected.cases[0].decoded);
  });

  it('clean_up_tokenization_spaces true in tokenizer_config.json turns on the clean-up (transformers semantics)', () => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURE, HF_TOKENIZER_NAME), 'utf8'));
    const ids = Array.from(tok.encode('a , b .', { addSpecialTokens: false }));
    expect(tok.decode(ids)).toBe('a , b .');
    expect(HFTokenizer.fromJSON(json, { clean_up_tokenization_spaces: true }).decode(ids)).toBe('a, b.');
  });

  it('files() gives back what was read, and a saved copy loads to the same tokenizer', async () => {
    const files = tok.files();
    expect([...files.keys()]).toEqual([HF_TOKENIZER_NAME, HF_TOKENIZER_CONFIG_NAME]);
    expect(JSON.parse(files.get(HF_TOKENIZER_NAME)!)).toEqual(JSON.parse(fs.readFileSync(path.join(FIXTURE, HF_TOKENIZER_NAME), 'utf8')));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-tok-'));
    try {
      for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text);
      const copy = await loadTokenizer(dir);
      for (const c of expected.cases) expect(Array.from(copy.encode(c.text))).toEqual(c.ids);
      expect(copy.bosTokenId).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad input with messages naming the value', () => {
    expect(() => tok.encode(42 as never)).toThrow('HFTokenizer.encode: text must be a string, got 42');
    expect(() => tok.encode('x', { addSpecialToken: false } as never)).toThrow("HFTokenizer.encode: unknown option 'addSpecialToken' (did you mean 'addSpecialTokens'?)");
    expect(() => tok.encode('x', { addSpecialTokens: 'no' } as never)).toThrow('HFTokenizer.encode: addSpecialTokens must be true or false, got "no"');
    expect(() => tok.decode('hello' as never)).toThrow('HFTokenizer.decode: ids must be an array of token ids (number[] or Int32Array), got "hello"');
    expect(() => tok.decode([1, 560])).toThrow(`HFTokenizer.decode: ids[1] = 560 is not a token id of ${path.join(FIXTURE, HF_TOKENIZER_NAME)} (integers in [0, 560) that the vocabulary holds)`);
    expect(() => tok.decode([1.5])).toThrow('ids[0] = 1.5 is not a token id');
    expect(() => tok.decode([-1])).toThrow('ids[0] = -1 is not a token id');
    expect(() => tok.decode([1], { skip: true } as never)).toThrow("HFTokenizer.decode: unknown option 'skip'");
  });
});

describe('loadTokenizer errors', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-tok-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a folder without tokenizer.json: says what it found and what to do', async () => {
    expect(await hasTokenizer(dir)).toBe(false);
    await expect(loadTokenizer(dir)).rejects.toThrow(`loadTokenizer: ${dir} has no tokenizer.json (found: nothing). Models made with this library use the byte tokenizer (encode / decode), which needs no file.`);
    fs.writeFileSync(path.join(dir, 'tokenizer.model'), 'sentencepiece');
    await expect(loadTokenizer(dir)).rejects.toThrow("It has sentencepiece's tokenizer.model: write tokenizer.json with Python, AutoTokenizer.from_pretrained(dir).save_pretrained(dir)");
    await expect(loadTokenizer(path.join(dir, 'missing'))).rejects.toThrow(`loadTokenizer: cannot read directory ${path.join(dir, 'missing')}`);
    await expect(loadTokenizer('' as never)).rejects.toThrow('loadTokenizer: dir must be a directory path, got ""');
  });

  it('broken files: the JSON error names the file; unknown components name the source', async () => {
    fs.writeFileSync(path.join(dir, HF_TOKENIZER_NAME), '{"model": ');
    await expect(loadTokenizer(dir)).rejects.toThrow(`loadTokenizer: ${path.join(dir, HF_TOKENIZER_NAME)} is not valid JSON`);
    fs.copyFileSync(path.join(FIXTURE, HF_TOKENIZER_NAME), path.join(dir, HF_TOKENIZER_NAME));
    fs.writeFileSync(path.join(dir, HF_TOKENIZER_CONFIG_NAME), '[1, 2]');
    await expect(loadTokenizer(dir)).rejects.toThrow(`loadTokenizer: ${path.join(dir, HF_TOKENIZER_CONFIG_NAME)} must hold a JSON object`);
    fs.rmSync(path.join(dir, HF_TOKENIZER_CONFIG_NAME));
    expect((await loadTokenizer(dir)).vocabSize).toBe(560);
    fs.writeFileSync(path.join(dir, HF_TOKENIZER_NAME), JSON.stringify({ version: '1.0' }));
    await expect(loadTokenizer(dir)).rejects.toThrow('must be a tokenizer.json object with a "model"');
    const minimal = { version: '1.0', added_tokens: [], model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null };
    fs.writeFileSync(path.join(dir, HF_TOKENIZER_NAME), JSON.stringify(minimal));
    expect(Array.from((await loadTokenizer(dir)).encode('aa'))).toEqual([0, 0]); // the control: a valid minimal file loads
    fs.writeFileSync(path.join(dir, HF_TOKENIZER_NAME), JSON.stringify({ ...minimal, normalizer: { type: 'NoSuchNormalizer' } }));
    await expect(loadTokenizer(dir)).rejects.toThrow(/uses a component @huggingface\/tokenizers cannot build \(.*NoSuchNormalizer/);
  });
});
