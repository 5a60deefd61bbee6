/**
 * Hugging Face tokenizers (`tokenizer.json`, the format of the Rust/Python `tokenizers` library that
 * every `*TokenizerFast` in transformers reads), for checkpoints that come with one, e.g. Llama 2's
 * 32000-piece BPE. Encoding and decoding run in `@huggingface/tokenizers` (a TypeScript
 * implementation); test/io/tokenizer.test.ts checks it against encodings the Python `tokenizers`
 * library made (test/fixtures/hf-tokenizer, scripts/fixtures/make_hf_tokenizer.py).
 *
 * Our own models keep the byte tokenizer (lib/data/tokenizer.ts: `encode` / `decode`, vocab 259).
 * Unlike it, an HF tokenizer merges pieces (tokens(a + b) is not tokens(a) ++ tokens(b)), adds BOS
 * by default (Llama's post-processor), and reads special tokens written as text ("<s>") as specials.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { checkBoolean, checkKnownKeys, describe } from '../util/options';

/** `transformers.tokenization_utils_fast.TOKENIZER_FILE`. */
export const HF_TOKENIZER_NAME = 'tokenizer.json';
/** `transformers.tokenization_utils_base.TOKENIZER_CONFIG_FILE` (optional beside tokenizer.json). */
export const HF_TOKENIZER_CONFIG_NAME = 'tokenizer_config.json';

/** Options of `HFTokenizer.encode`. */
export interface HFEncodeOptions {
  /** Run the tokenizer's post-processor, which adds Llama's BOS (`<s>`). Default true, as in `tokenizers` and transformers. */
  addSpecialTokens?: boolean;
}

/** Options of `HFTokenizer.decode`. */
export interface HFDecodeOptions {
  /** Drop special tokens (BOS, EOS, ...) from the text. Default false, as transformers' `decode`. */
  skipSpecialTokens?: boolean;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A special token's text from tokenizer_config.json: a string or an AddedToken dict `{ content }`. */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && typeof value.content === 'string') return value.content;
  return null;
}

/**
 * A Hugging Face tokenizer from `tokenizer.json` (+ `tokenizer_config.json`): `encode(text)` ->
 * token ids (Int32Array), `decode(ids)` -> text, with the results of the Python `tokenizers`
 * library (`Tokenizer.encode(text).ids`, `Tokenizer.decode(ids, skip_special_tokens=...)`). Spaces
 * are not "cleaned up" in decoding unless tokenizer_config.json sets `clean_up_tokenization_spaces`
 * (Llama 2's sets it false). Load one with `loadTokenizer(dir)`.
 */
export class HFTokenizer {
  /** Token ids are in [0, vocabSize): the largest id of the vocabulary or an added token, plus one. */
  readonly vocabSize: number;
  /** Ids of the special tokens tokenizer_config.json names (null when it names none or is absent). */
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly unkTokenId: number | null;
  /** Where it was read from (for messages). */
  readonly source: string;
  private readonly tokenizer: Tokenizer;
  private readonly json: Record<string, unknown>;
  private readonly config: Record<string, unknown> | null;
  private readonly cleanUpSpaces: boolean;

  private constructor(json: Record<string, unknown>, config: Record<string, unknown> | null, source: string) {
    if (!isPlainObject(json) || !isPlainObject(json.model)) {
      throw new Error(`HFTokenizer: ${source} must be a tokenizer.json object with a "model" (saved by tokenizers' Tokenizer.save or a *TokenizerFast's save_pretrained)`);
    }
    if (config !== null && !isPlainObject(config)) throw new Error(`HFTokenizer: ${source}: tokenizer_config.json must hold a JSON object; got ${describe(config)}`);
    try {
      this.tokenizer = new Tokenizer(json, config ?? {});
    } catch (e) {
      throw new Error(`HFTokenizer: ${source} uses a component @huggingface/tokenizers cannot build (${(e as Error).message})`);
    }
    this.json = json;
    this.config = config;
    this.source = source;
    this.cleanUpSpaces = config?.clean_up_tokenization_spaces === true;
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (key: string): number | null => {
      const text = tokenText(config?.[key]);
      return text === null ? null : (this.tokenizer.token_to_id(text) ?? null);
    };
    this.bosTokenId = idOf('bos_token');
    this.eosTokenId = idOf('eos_token');
    this.padTokenId = idOf('pad_token');
    this.unkTokenId = idOf('unk_token');
  }

  /**
   * A tokenizer from the parsed `tokenizer.json` and, optionally, `tokenizer_config.json` (which
   * names the special tokens and may turn on the clean-up of spaces). `source` names it in messages.
   */
  static fromJSON(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> | null = null, source = HF_TOKENIZER_NAME): HFTokenizer {
    return new HFTokenizer(tokenizerJson, tokenizerConfig, source);
  }

  /** Token ids of `text` (Int32Array, the dtype of tf.js int tensors); BOS first by default (Llama). */
  encode(text: string, options: HFEncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw new Error(`HFTokenizer.encode: text must be a string, got ${describe(text)}`);
    checkKnownKeys('HFTokenizer.encode', options, ['addSpecialTokens']);
    const add = options.addSpecialTokens === undefined ? true : checkBoolean('HFTokenizer.encode', 'addSpecialTokens', options.addSpecialTokens);
    return Int32Array.from(this.tokenizer.encode(text, { add_special_tokens: add }).ids);
  }

  /**
   * The text of token ids. Every id must be an integer in [0, vocabSize): an id the tokenizer does
   * not know (e.g. from a model whose embedding was padded past the tokenizer) is an error, where the
   * Python library would drop it silently. A byte-fallback sequence that is not valid UTF-8 decodes
   * to U+FFFD, as in Python.
   */
  decode(ids: ArrayLike<number>, options: HFDecodeOptions = {}): string {
    if (typeof ids === 'string' || ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
      throw new Error(`HFTokenizer.decode: ids must be an array of token ids (number[] or Int32Array), got ${describe(ids)}`);
    }
    checkKnownKeys('HFTokenizer.decode', options, ['skipSpecialTokens']);
    const skip = options.skipSpecialTokens === undefined ? false : checkBoolean('HFTokenizer.decode', 'skipSpecialTokens', options.skipSpecialTokens);
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.tokenizer.id_to_token(id) === undefined) {
        throw new Error(`HFTokenizer.decode: ids[${i}] = ${describe(id)} is not a token id of ${this.source} (integers in [0, ${this.vocabSize}) that the vocabulary holds)`);
      }
      list.push(id);
    }
    return this.tokenizer.decode(list, { skip_special_tokens: skip, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  /** The id of a token (piece) such as `'<s>'` or `'▁the'`, or null if the vocabulary lacks it. */
  tokenToId(token: string): number | null {
    return this.tokenizer.token_to_id(token) ?? null;
  }

  /** The token (piece) of an id, or null if there is none. */
  idToToken(id: number): string | null {
    return this.tokenizer.id_to_token(id) ?? null;
  }

  /** The files this tokenizer was read from, as text by file name (for `savePretrained`'s `tokenizer` option). */
  files(): Map<string, string> {
    const out = new Map<string, string>([[HF_TOKENIZER_NAME, JSON.stringify(this.json)]]);
    if (this.config !== null) out.set(HF_TOKENIZER_CONFIG_NAME, JSON.stringify(this.config, null, 2) + '\n');
    return out;
  }
}

async function readJsonFile(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${what}: cannot read ${file} (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw new Error(`${what}: ${file} must hold a JSON object`);
  return json;
}

/** Whether `dir` holds a `tokenizer.json`. */
export async function hasTokenizer(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(path.join(dir, HF_TOKENIZER_NAME))).isFile();
  } catch {
    return false;
  }
}

/**
 * The Hugging Face tokenizer of a checkpoint directory (`AutoTokenizer.from_pretrained(dir)` for a
 * fast tokenizer): `tokenizer.json`, plus `tokenizer_config.json` when present. A directory with only
 * sentencepiece's `tokenizer.model` is refused with the command that converts it.
 */
export async function loadTokenizer(dir: string): Promise<HFTokenizer> {
  const what = 'loadTokenizer';
  if (typeof dir !== 'string' || dir === '') throw new Error(`${what}: dir must be a directory path, got ${describe(dir)}`);
  const file = path.join(dir, HF_TOKENIZER_NAME);
  if (!(await hasTokenizer(dir))) {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(dir);
    } catch (e) {
      throw new Error(`${what}: cannot read directory ${dir} (${(e as Error).message})`);
    }
    const hint = entries.includes('tokenizer.model')
      ? ` It has sentencepiece's tokenizer.model: write tokenizer.json with Python, AutoTokenizer.from_pretrained(dir).save_pretrained(dir) (transformers converts it to a fast tokenizer).`
      : ' Models made with this library use the byte tokenizer (encode / decode), which needs no file.';
    throw new Error(`${what}: ${dir} has no ${HF_TOKENIZER_NAME} (found: ${entries.join(', ') || 'nothing'}).${hint}`);
  }
  const json = await readJsonFile(file, what);
  const configFile = path.join(dir, HF_TOKENIZER_CONFIG_NAME);
  let config: Record<string, unknown> | null = null;
  try {
    if ((await fs.stat(configFile)).isFile()) config = await readJsonFile(configFile, what);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return HFTokenizer.fromJSON(json, config, file);
}
