/**
 * Long-context supervised fine-tuning data in LongLoRA's format (official
 * `supervised-fine-tune.py`, paper Appendix B.6):
 * - the source is `PROMPT_DICT["prompt_input_llama2"]` when the example has a non-empty `input`,
 *   else `PROMPT_DICT["prompt_llama2"]` (`[INST]{instruction}[/INST]`), filled by `format_map`;
 * - the target is `output + "</s>"`;
 * - input_ids = tokenize(source + target) (the Llama tokenizer adds BOS); labels = input_ids with
 *   the first len(tokenize(source)) positions, BOS included, set to IGNORE_INDEX = -100, so the
 *   loss is taken on the answer and its EOS only.
 * Long-QA material follows LongAlpaca's instruction text, the official demo's `format_prompt`
 * ("Below is ... Memorize ... Now the material ends. {question}"), with the material in the
 * instruction and `input` empty, as in LongAlpaca-12k.
 */
import { PAD, byteLength, encode } from './tokenizer';
import { IGNORE_INDEX } from '../util/constants';
import type { LabeledExample } from './examples';
import type { Document } from './corpora';
import { sentenceSpans } from './sentences';
import type { SentenceSpan } from './sentences';
import { Rng, deriveSeed } from '../util/rng';
import { checkBoolean, checkKnownKeys, checkNonNegativeInt, checkPositiveInt, checkSeed, describe } from '../util/options';

/** The official `PROMPT_DICT` of `supervised-fine-tune.py`, verbatim (the Alpaca templates and the Llama-2 ones). */
export const PROMPT_DICT = Object.freeze({
  prompt_input:
    'Below is an instruction that describes a task, paired with an input that provides further context. ' +
    'Write a response that appropriately completes the request.\n\n' +
    '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:',
  prompt_no_input:
    'Below is an instruction that describes a task. ' +
    'Write a response that appropriately completes the request.\n\n' +
    '### Instruction:\n{instruction}\n\n### Response:',
  prompt_no_input_llama2:
    '[INST] <<SYS>>\n' +
    'You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. Please ensure that your responses are socially unbiased and positive in nature.\n\n' +
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering something not correct. If you don't know the answer to a question, please don't share false information.\n" +
    '<</SYS>> \n\n {instruction} [/INST]',
  prompt_input_llama2:
    '[INST] <<SYS>>\n' +
    'You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. Please ensure that your responses are socially unbiased and positive in nature.\n\n' +
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering something not correct. If you don't know the answer to a question, please don't share false information.\n" +
    '<</SYS>> \n\n {instruction} \n{input} [/INST]',
  prompt_llama2: '[INST]{instruction}[/INST]',
} as const);

/** An SFT record in the Alpaca / LongAlpaca layout. */
export interface SftRecord {
  instruction: string;
  /** Optional context; a non-empty input selects `prompt_input_llama2`. */
  input?: string;
  output: string;
}

/** Python's `str.format_map` for `{name}` fields (substituted text is not scanned again). */
function formatMap(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`formatMap: the template needs '${name}'`);
    return values[name];
  });
}

/**
 * The source (prompt) string the official script builds for a record:
 * `prompt_input_llama2.format_map(example)` if `example.get("input", "") != ""`, else
 * `prompt_llama2.format_map(example)`.
 */
export function formatSftPrompt(example: Pick<SftRecord, 'instruction' | 'input'>): string {
  if (example === null || typeof example !== 'object' || typeof example.instruction !== 'string') {
    throw new Error(`formatSftPrompt: example.instruction must be a string, got ${describe(example?.instruction)}`);
  }
  if (example.input !== undefined && typeof example.input !== 'string') {
    throw new Error(`formatSftPrompt: example.input must be a string when given, got ${describe(example.input)}`);
  }
  const input = example.input ?? '';
  return input !== ''
    ? formatMap(PROMPT_DICT.prompt_input_llama2, { instruction: example.instruction, input })
    : formatMap(PROMPT_DICT.prompt_llama2, { instruction: example.instruction });
}

/** Options of {@link sftExample}. */
export interface SftExampleOptions {
  /** Maximum tokens (official `model_max_length`). */
  maxLen: number;
  /** Start with BOS, as the Llama tokenizer does. Default true. */
  bos?: boolean;
}

/** A tokenised SFT example: `inputIds` / `labels` [length <= maxLen], plus where the answer starts. */
export interface SftExample extends LabeledExample {
  /** Number of masked leading tokens (BOS + source); labels[promptTokens..] are the answer and EOS. */
  promptTokens: number;
}

/**
 * Tokenises a record the official way: [BOS] source output EOS, labels IGNORE_INDEX on [BOS]
 * source. Not padded (see collateExamples). Errors where the official script would silently
 * train on nothing: an empty answer, or a total over `maxLen` (the official truncation would cut
 * the answer and its EOS).
 */
export function sftExample(record: SftRecord, options: SftExampleOptions): SftExample {
  checkKnownKeys('sftExample', options, ['maxLen', 'bos']);
  if (options === undefined) throw new Error('sftExample: pass { maxLen }');
  const maxLen = checkPositiveInt('sftExample', 'maxLen', options.maxLen);
  const bos = options.bos === undefined ? true : checkBoolean('sftExample', 'bos', options.bos);
  checkKnownKeys('sftExample (record)', record, ['instruction', 'input', 'output']);
  if (typeof record?.output !== 'string') throw new Error(`sftExample: record.output must be a string, got ${describe(record?.output)}`);
  if (record.output.trim() === '') {
    throw new Error('sftExample: the answer (record.output) is empty; every SFT example needs a non-empty answer to train on');
  }
  const source = encode(formatSftPrompt(record), { bos });
  const target = encode(record.output, { eos: true });
  const total = source.length + target.length;
  if (total > maxLen) {
    throw new Error(
      `sftExample: the example is ${total} tokens (prompt ${source.length} + answer ${target.length - 1} + EOS) but maxLen is ${maxLen}, ` +
        'so the answer would be cut off; shorten the instruction/input or raise maxLen',
    );
  }
  const inputIds = new Int32Array(total);
  inputIds.set(source, 0);
  inputIds.set(target, source.length);
  const labels = new Int32Array(total).fill(IGNORE_INDEX);
  labels.set(target, source.length);
  return { inputIds, labels, promptTokens: source.length };
}

/** The material kinds of the official `format_prompt`. */
export type MaterialType = 'paper' | 'book' | 'material';

/**
 * LongAlpaca's long-QA instruction text (official demo.py `format_prompt`, before commit d22c9a1):
 * - paper: `Below is a paper. Memorize the material and answer my question after the paper.\n {material} \n `
 * - book: `Below is some paragraphs in the book{, title}. Memorize the content and answer my question after the book.\n {material} \n `
 * - otherwise: `Below is a material. Memorize the material and answer my question after the material. \n {material} \n `
 * followed by `Now the material ends. {question.strip()}`.
 */
export function materialPrompt(material: string, question: string, materialType: MaterialType = 'material', title?: string): string {
  if (typeof material !== 'string' || typeof question !== 'string') throw new Error('materialPrompt: material and question must be strings');
  let prompt: string;
  if (materialType === 'paper') {
    prompt = `Below is a paper. Memorize the material and answer my question after the paper.\n ${material} \n `;
  } else if (materialType === 'book') {
    const t = title === undefined ? '' : `, ${title}`;
    prompt = `Below is some paragraphs in the book${t}. Memorize the content and answer my question after the book.\n ${material} \n `;
  } else if (materialType === 'material') {
    prompt = `Below is a material. Memorize the material and answer my question after the material. \n ${material} \n `;
  } else {
    throw new Error(`materialPrompt: materialType must be 'paper', 'book' or 'material', got ${describe(materialType)}`);
  }
  return `${prompt}Now the material ends. ${question.trim()}`;
}

/** The question kinds of {@link longQaExamples}. */
export type LongQaKind = 'next-sentence' | 'find-sentence';

/** Options of {@link longQaExamples}. */
export interface LongQaOptions {
  /** Source documents (e.g. `sotuSplits().train`, or `[{ id, title, text: mobyDickText() }]` for long lengths). */
  docs: readonly Document[];
  /** Number of examples. */
  count: number;
  /** Tokens per example; each is padded to exactly this length. */
  seqLen: number;
  /** Seed; example i depends only on (seed, i). Default 0. */
  seed?: number;
  /** Global index of the first example, for resuming. Default 0. */
  start?: number;
  /** Question kinds to draw from uniformly. Default both. */
  kinds?: readonly LongQaKind[];
  /** How the instruction introduces the text. Default 'material'. */
  materialType?: MaterialType;
  /** Book title for materialType 'book'. */
  title?: string;
  /** Start with BOS. Default true. */
  bos?: boolean;
}

/** One long-QA example: `inputIds` / `labels` [seqLen] (PAD / IGNORE_INDEX after the EOS) and its text. */
export interface LongQaExample extends SftExample {
  record: SftRecord;
  kind: LongQaKind;
  docId: string;
  question: string;
  /** The answer: a sentence of the excerpt, character for character. */
  answer: string;
  /** Where the answer sentence starts in the excerpt, as a fraction of the excerpt's length in bytes. */
  depth: number;
}

const MIN_SENTENCE = 40;
const MAX_SENTENCE = 200;
const MAX_WORD = 20;
/** Room a long-QA example needs besides the template: a question, an answer and some text around them. */
const MIN_QA_ROOM = 600;
const ATTEMPTS = 200;

function isCandidate(text: string, s: SentenceSpan): boolean {
  const len = s.end - s.start;
  return (
    len >= MIN_SENTENCE &&
    len <= MAX_SENTENCE &&
    /^["“']?[A-Z]/.test(text.slice(s.start, s.start + 2)) &&
    /[.!?]["”’')\]]*$/.test(text.slice(s.end - 3, s.end))
  );
}

function questionFor(kind: LongQaKind, subject: string): string {
  return kind === 'next-sentence'
    ? `Quote the sentence of the text that comes right after this one: "${subject}"`
    : `Which sentence of the text mentions "${subject}"? Quote it.`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** cum[i] = UTF-8 bytes of text.slice(0, i) [text.length + 1] (spans never split a surrogate pair). */
function cumulativeBytes(text: string): Float64Array {
  const cum = new Float64Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let n: number;
    if (c < 0x80) n = 1;
    else if (c < 0x800) n = 2;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) n = 4;
    else if ((c & 0xfc00) === 0xdc00 && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800) n = 0; // counted with its high half
    else n = 3;
    cum[i + 1] = cum[i] + n;
  }
  return cum;
}

/**
 * Long-QA SFT examples from real text, each a record { instruction: materialPrompt(excerpt,
 * question), input: '', output: answer } tokenised by {@link sftExample} and padded to `seqLen`.
 * The answer is always a sentence of the excerpt, quoted exactly:
 * - 'next-sentence': `Quote the sentence of the text that comes right after this one: "<s_k>"` -> s_{k+1};
 * - 'find-sentence': `Which sentence of the text mentions "<word>"? Quote it.` -> the only sentence
 *   of the excerpt containing that word (5-20 letters, whole word, any case).
 * The excerpt is a run of whole sentences around the answer, grown to the length budget, with a
 * uniformly drawn share of it before the question's sentence (so answers sit at all depths).
 * Documents shorter than the budget are not used. Example i is drawn from
 * Rng(deriveSeed(seed, i)), so any slice [start, start + count) is reproducible on its own.
 */
export function longQaExamples(options: LongQaOptions): LongQaExample[] {
  const where = 'longQaExamples';
  checkKnownKeys(where, options, ['docs', 'count', 'seqLen', 'seed', 'start', 'kinds', 'materialType', 'title', 'bos']);
  if (options === undefined) throw new Error(`${where}: pass { docs, count, seqLen }`);
  const seqLen = checkPositiveInt(where, 'seqLen', options.seqLen);
  const count = checkPositiveInt(where, 'count', options.count);
  const seed = checkSeed(where, options.seed ?? 0);
  const start = checkNonNegativeInt(where, 'start', options.start ?? 0);
  const bos = options.bos === undefined ? true : checkBoolean(where, 'bos', options.bos);
  const materialType = options.materialType ?? 'material';
  const kinds = options.kinds ?? (['next-sentence', 'find-sentence'] as const);
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => k !== 'next-sentence' && k !== 'find-sentence')) {
    throw new Error(`${where}: kinds must be a non-empty array of 'next-sentence' / 'find-sentence', got ${JSON.stringify(kinds)}`);
  }
  if (!Array.isArray(options.docs) || options.docs.length === 0) throw new Error(`${where}: docs must be a non-empty array of documents`);
  options.docs.forEach((d, i) => {
    if (typeof d?.text !== 'string' || typeof d.id !== 'string') throw new Error(`${where}: docs[${i}] must be a document { id, title, text }`);
  });

  // Tokens besides excerpt, question and answer: [BOS] + "[INST]" + material frame + "[/INST]" + EOS.
  const frame = (bos ? 1 : 0) + byteLength(formatSftPrompt({ instruction: materialPrompt('', '', materialType, options.title) })) + 1;
  if (seqLen < frame + MIN_QA_ROOM) {
    throw new Error(
      `${where}: seqLen ${seqLen} is too small for a long-QA example: the template takes ${frame} tokens${bos ? ` (BOS + ${frame - 2} + EOS)` : ` (${frame - 1} + EOS)`} and a question, its answer and ` +
        `some text around them need ${MIN_QA_ROOM} more, so seqLen must be >= ${frame + MIN_QA_ROOM}`,
    );
  }
  const minDocBytes = seqLen - frame - MIN_QA_ROOM;
  const docs = options.docs
    .map((doc) => ({ doc, cum: null as Float64Array | null, spans: null as SentenceSpan[] | null, bytes: byteLength(doc.text) }))
    .filter((d) => d.bytes >= minDocBytes);
  if (docs.length === 0) {
    const longest = Math.max(...options.docs.map((d) => byteLength(d.text)));
    throw new Error(
      `${where}: no document is long enough for seqLen ${seqLen}: each needs >= ${minDocBytes} bytes of text (${seqLen} - ${frame} - ${MIN_QA_ROOM}) and the longest has ${longest}; ` +
        'pass longer documents (e.g. a whole book as one document) or lower seqLen',
    );
  }

  const examples: LongQaExample[] = [];
  for (let e = 0; e < count; e++) {
    const rng = new Rng(deriveSeed(seed, start + e));
    let made: LongQaExample | null = null;
    for (let attempt = 0; attempt < ATTEMPTS && made === null; attempt++) {
      const entry = rng.pick(docs);
      const kind = rng.pick(kinds);
      const text = entry.doc.text;
      entry.spans ??= sentenceSpans(text);
      entry.cum ??= cumulativeBytes(text);
      const { spans, cum } = entry;
      if (spans.length === 0) continue;
      const k = rng.int(spans.length);
      const anchor = spans[k];
      if (!isCandidate(text, anchor)) continue;
      if (kind === 'next-sentence' && (k + 1 >= spans.length || !isCandidate(text, spans[k + 1]))) continue;
      const answerSpan = kind === 'next-sentence' ? spans[k + 1] : anchor;
      const answer = text.slice(answerSpan.start, answerSpan.end);
      const anchorText = text.slice(anchor.start, anchor.end);
      // Reserve the question exactly for next-sentence, with the longest allowed word for find-sentence.
      const reserveQuestion = byteLength(questionFor(kind, kind === 'next-sentence' ? anchorText : 'x'.repeat(MAX_WORD)));
      const budget = seqLen - frame - reserveQuestion - byteLength(answer);
      const run = (a: number, b: number): number => cum[spans[b].end] - cum[spans[a].start];
      let lo = k;
      let hi = answerSpan === anchor ? k : k + 1;
      if (run(lo, hi) > budget) continue;
      const beforeTarget = Math.floor(rng.next() * (budget - run(lo, hi) + 1));
      while (lo > 0 && cum[anchor.start] - cum[spans[lo - 1].start] <= beforeTarget) lo--;
      while (hi + 1 < spans.length && run(lo, hi + 1) <= budget) hi++;
      while (lo > 0 && run(lo - 1, hi) <= budget) lo--;
      const excerptStart = spans[lo].start;
      const excerpt = text.slice(excerptStart, spans[hi].end);
      let subject = anchorText;
      if (kind === 'next-sentence') {
        if (excerpt.indexOf(anchorText) !== excerpt.lastIndexOf(anchorText)) continue; // the quoted sentence must be unique
      } else {
        const found: string[] = anchorText.match(/[A-Za-z]{5,}/g) ?? [];
        const words = Array.from(new Set(found)).filter((w) => w.length <= MAX_WORD);
        const unique = words.filter((w) => (excerpt.match(new RegExp(`\\b${escapeRegExp(w)}\\b`, 'gi')) ?? []).length === 1);
        if (unique.length === 0) continue;
        subject = rng.pick(unique.sort());
      }
      const question = questionFor(kind, subject);
      const record: SftRecord = { instruction: materialPrompt(excerpt, question, materialType, options.title), input: '', output: answer };
      const tokenized = sftExample(record, { maxLen: seqLen, bos });
      const inputIds = new Int32Array(seqLen).fill(PAD);
      const labels = new Int32Array(seqLen).fill(IGNORE_INDEX);
      inputIds.set(tokenized.inputIds);
      labels.set(tokenized.labels);
      const depth = (cum[answerSpan.start] - cum[excerptStart]) / Math.max(1, cum[spans[hi].end] - cum[excerptStart]);
      made = { inputIds, labels, promptTokens: tokenized.promptTokens, record, kind, docId: entry.doc.id, question, answer, depth };
    }
    if (made === null) {
      throw new Error(
        `${where}: found no usable question in ${ATTEMPTS} attempts for example ${start + e}; ` +
          `pass documents of ordinary prose (sentences of ${MIN_SENTENCE}-${MAX_SENTENCE} characters) or a larger seqLen`,
      );
    }
    examples.push(made);
  }
  return examples;
}
