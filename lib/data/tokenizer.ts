/**
 * Byte-level tokenizer: ids 0..255 are the UTF-8 bytes of the text, and three specials follow,
 * BOS 256 (`<s>`), EOS 257 (`</s>`), PAD 258 (`<pad>`), for a vocabulary of 259.
 *
 * LongLoRA uses the Llama tokenizer (32000 pieces + `[PAD]` = 32001, official `fine-tune.py`);
 * our models are small and byte-level, so every string round-trips exactly, there are no merges
 * (tokens(a + b) = tokens(a) ++ tokens(b), which makes prompt/answer boundaries exact), and the
 * specials play the same roles: EOS joins documents in the pre-training stream and ends SFT
 * targets, BOS starts a prompt, PAD fills batches. Unlike the Llama tokenizer, `encode` never
 * turns the literal text "</s>" into EOS: specials enter only through the options or by id.
 */
import { checkBoolean, checkKnownKeys, describe } from '../util/options';

/** Beginning of sequence, rendered `<s>`. */
export const BOS = 256;
/** End of sequence (also the document separator of the pre-training stream), rendered `</s>`. */
export const EOS = 257;
/** Padding, rendered `<pad>`; never a training target. */
export const PAD = 258;
/** Number of token ids: 256 bytes + BOS + EOS + PAD. */
export const VOCAB_SIZE = 259;

/** How `decode` renders each special id. */
export const SPECIAL_TOKEN_TEXT: Readonly<Record<number, string>> = Object.freeze({ [BOS]: '<s>', [EOS]: '</s>', [PAD]: '<pad>' });

/** Options of {@link encode}. */
export interface EncodeOptions {
  /** Prepend BOS (256). Default false. */
  bos?: boolean;
  /** Append EOS (257). Default false. */
  eos?: boolean;
}

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** Drop BOS/EOS/PAD instead of rendering them as `<s>`, `</s>`, `<pad>`. Default false. */
  skipSpecial?: boolean;
}

const utf8Encoder = new TextEncoder();

/** Number of UTF-8 bytes of `text`, i.e. its token count without specials. */
export function byteLength(text: string): number {
  if (typeof text !== 'string') throw new Error(`byteLength: text must be a string, got ${describe(text)}`);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair is one 4-byte code point
      i++;
    } else n += 3; // includes lone surrogates, which TextEncoder writes as U+FFFD (3 bytes)
  }
  return n;
}

/**
 * Encodes `text` as its UTF-8 bytes (ids 0..255), optionally framed by BOS/EOS.
 * Returns `Int32Array` [length] (the dtype tf.js uses for int tensors).
 * Lone UTF-16 surrogates become U+FFFD, as `TextEncoder` does.
 */
export function encode(text: string, options: EncodeOptions = {}): Int32Array {
  if (typeof text !== 'string') throw new Error(`encode: text must be a string, got ${describe(text)}`);
  checkKnownKeys('encode', options, ['bos', 'eos']);
  const bos = options.bos === undefined ? false : checkBoolean('encode', 'bos', options.bos);
  const eos = options.eos === undefined ? false : checkBoolean('encode', 'eos', options.eos);
  const bytes = utf8Encoder.encode(text);
  const out = new Int32Array(bytes.length + (bos ? 1 : 0) + (eos ? 1 : 0));
  let o = 0;
  if (bos) out[o++] = BOS;
  out.set(bytes, o);
  o += bytes.length;
  if (eos) out[o] = EOS;
  return out;
}

/** Throws unless every id is an integer in [0, VOCAB_SIZE); the message names the first bad id and its position. */
export function checkTokenIds(where: string, ids: ArrayLike<number>, vocabSize: number = VOCAB_SIZE): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    // `(id | 0) === id` rather than Number.isInteger: same result for ids < 2^31, and far faster in
    // some hosts (jest's vm contexts make builtin calls in a 10M-token loop ~100x slower).
    if (!(id >= 0 && id < vocabSize && (id | 0) === id)) {
      throw new Error(
        `${where}: token id ${describe(id)} at position ${i} is outside the vocabulary [0, ${vocabSize}); ` +
          `ids 0-255 are bytes, ${BOS} BOS, ${EOS} EOS, ${PAD} PAD`,
      );
    }
  }
}

/**
 * Decodes ids back to text. Byte runs are decoded as UTF-8 with replacement (invalid or truncated
 * sequences become U+FFFD, exactly as `new TextDecoder()` does); specials are rendered as `<s>`,
 * `</s>`, `<pad>` unless `skipSpecial`. An id outside [0, 259) is an error naming it.
 */
export function decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw new Error(`decode: ids must be an array or typed array of token ids, got ${describe(ids)}`);
  }
  checkKnownKeys('decode', options, ['skipSpecial']);
  const skipSpecial = options.skipSpecial === undefined ? false : checkBoolean('decode', 'skipSpecial', options.skipSpecial);
  checkTokenIds('decode', ids);
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const bytes = new Uint8Array(ids.length);
  let out = '';
  let runStart = 0;
  let runLength = 0;
  const flush = (): void => {
    if (runLength > 0) out += decoder.decode(bytes.subarray(runStart, runStart + runLength));
    runStart += runLength;
    runLength = 0;
  };
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 256) {
      bytes[runStart + runLength++] = id;
    } else {
      flush();
      if (!skipSpecial) out += SPECIAL_TOKEN_TEXT[id];
    }
  }
  flush();
  return out;
}
