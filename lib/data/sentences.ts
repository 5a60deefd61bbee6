/**
 * A small rule-based sentence splitter for English prose (SOTU, Moby Dick), used to build long-QA
 * examples whose answers are sentences of the long input. Rules: a sentence ends at `.`, `!` or
 * `?` (plus any closing quotes/brackets) followed by whitespace and a character that is not a
 * lower-case letter, unless the word before a `.` is a known abbreviation or a single letter
 * (`Mr.`, `Gen.`, `J.`); every line break also ends a sentence. Spans index the original text, so
 * `text.slice(start, end)` returns the sentence exactly as written.
 */

/** A sentence as a half-open character range [start, end) of the text it came from. */
export interface SentenceSpan {
  start: number;
  end: number;
}

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'st', 'jr', 'sr', 'gen', 'col', 'capt', 'lieut', 'gov', 'hon', 'rev', 'messrs', 'prof',
  'vs', 'etc', 'no', 'nos', 'mt', 'ft', 'co', 'vol', 'jan', 'feb', 'mar', 'apr', 'aug', 'sept', 'sep', 'oct', 'nov', 'dec',
]);
const CLOSERS = '"\'”’)]';

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\u00a0';
}

/** Splits `text` into sentence spans (whitespace between sentences belongs to none). */
export function sentenceSpans(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  let start = -1;
  const close = (end: number): void => {
    let e = end;
    while (e > start && isSpace(text[e - 1])) e--;
    if (start >= 0 && e > start) spans.push({ start, end: e });
    start = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      if (start >= 0) close(i);
      continue;
    }
    if (start < 0) {
      if (isSpace(c)) continue;
      start = i;
    }
    if (c !== '.' && c !== '!' && c !== '?') continue;
    let j = i + 1;
    while (j < text.length && CLOSERS.includes(text[j])) j++;
    if (j < text.length && !isSpace(text[j])) continue; // "3.5", "U.S.A", "end.--"
    let k = j;
    while (k < text.length && isSpace(text[k]) && text[k] !== '\n') k++;
    if (k < text.length && text[k] !== '\n' && /[a-z]/.test(text[k])) continue; // "etc. and", "p. m. the"
    if (c === '.') {
      let w = i;
      while (w > start && /[A-Za-z]/.test(text[w - 1])) w--;
      const word = text.slice(w, i);
      if (word.length === 1 || ABBREVIATIONS.has(word.toLowerCase())) continue;
    }
    close(j);
    i = j - 1;
  }
  if (start >= 0) close(text.length);
  return spans;
}
