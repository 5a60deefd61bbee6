/**
 * The slide figures' layout arithmetic (slides/layout.ts): facet grids, SVG sizes, readable tick
 * values, and the Markdown tables of results/*.md.
 */
import { contrastRatio, MASK_COLORS, OKABE_ITO } from '../../lib/viz/palette';
import { deckTheme, facetGrid, firstSentence, logTicks, markdownTableRows, svgSize, thinOrdinalAxes, tickLabel } from '../../slides/layout';

describe('slides layout', () => {
  it('counts facet columns and rows from the inline data', () => {
    const values = [0, 1, 2, 3, 4].flatMap((h) => ['a', 'b'].map((p) => ({ head: `head ${h}`, pattern: p })));
    expect(facetGrid({ data: { values }, facet: { field: 'head' }, columns: 4, spec: {} })).toEqual({ cols: 4, rows: 2 });
    expect(facetGrid({ data: { values }, facet: { column: { field: 'head' }, row: { field: 'pattern' } }, spec: {} })).toEqual({ cols: 5, rows: 2 });
    expect(facetGrid({ data: { values }, mark: 'line' })).toEqual({ cols: 1, rows: 1 });
  });

  it('reads the size of an SVG document and says when it cannot', () => {
    expect(svgSize('<svg xmlns="http://www.w3.org/2000/svg" width="640.5" height="400"><g/></svg>')).toEqual({ width: 640.5, height: 400 });
    expect(() => svgSize('<svg viewBox="0 0 1 1"></svg>')).toThrow(/no width\/height/);
  });

  it('thins ordinal tick values to powers of two far enough apart for 20 px labels', () => {
    const ticks = Array.from({ length: 16 }, (_, k) => 2 * k);
    const spec = {
      data: { values: [] },
      facet: { field: 'head' },
      spec: { encoding: { x: { field: 'key', type: 'ordinal', scale: { domain: Array.from({ length: 32 }, (_, k) => k) }, axis: { values: ticks } }, y: { field: 'query', type: 'ordinal', scale: { domain: Array.from({ length: 32 }, (_, k) => k) }, axis: { values: ticks } } } },
    };
    const thin = thinOrdinalAxes(spec, 128, 128) as { spec: { encoding: Record<string, { axis: { values: number[] } }> } };
    // 4 px per cell: x labels 48 px apart need a step of 16, y labels 30 px apart a step of 8
    expect(thin.spec.encoding.x.axis.values).toEqual([0, 16]);
    expect(thin.spec.encoding.y.axis.values).toEqual([0, 8, 16, 24]);
    // roomy plots keep their ticks (the same object back)
    expect(thinOrdinalAxes(spec, 2000, 2000)).toBe(spec);
  });

  it('picks log-axis ticks: powers of ten over a wide range, 1-2-5 steps over a short one', () => {
    expect(logTicks([256, 300000])).toEqual([1000, 10000, 100000]);
    expect(logTicks([60, 700])).toEqual([100, 200, 500]);
    expect(logTicks([3, 7])).toEqual([3, 4, 5, 6, 7]);
    expect(logTicks([])).toEqual([]);
    expect([100000, 2000000, 1024, 0.25].map(tickLabel)).toEqual(['100k', '2M', '1024', '0.25']);
  });

  it('reads the first Markdown table of a results file, and only it', () => {
    const md = ['## FLOPs', '', 'text | with a bar', '', '| context | S2-Attn | Attn ours / paper |', '|---|---|---|', '| 8192 | ✗ | 35.2 / 35.2 |', '| 8192 | ✓ | 8.8 / 8.8 |', '', '| a | b | c |', '|---|---|---|', '| 1 | 2 | 3 |'].join('\n');
    expect(markdownTableRows(md)).toEqual([
      { context: '8192', 'S2-Attn': '✗', 'Attn ours / paper': '35.2 / 35.2' },
      { context: '8192', 'S2-Attn': '✓', 'Attn ours / paper': '8.8 / 8.8' },
    ]);
    expect(markdownTableRows('no table here')).toEqual([]);
  });

  it("takes the deck's colours from the figures' palette, every text colour readable on white (WCAG AA, 4.5:1)", () => {
    const theme = deckTheme();
    expect(theme.accent).toBe(MASK_COLORS.attends);
    expect(OKABE_ITO).toContain(theme.accent2);
    expect(OKABE_ITO).toContain(theme.rule);
    for (const text of [theme.ink, theme.accent, theme.accent2, theme.muted]) expect(contrastRatio(text, '#ffffff')).toBeGreaterThanOrEqual(4.5);
  });

  it("makes a slide's point of a conclusion: its first sentence, cut at a clause when too long", () => {
    expect(firstSentence('Ordinary perplexity at 1024 rose 24.0%. Tested with their own attention: +0.2%.')).toBe('Ordinary perplexity at 1024 rose 24.0%.');
    expect(firstSentence('One sentence only, with 3.4% in it')).toBe('One sentence only, with 3.4% in it');
    const long = `${'word '.repeat(30)}first clause; ${'more '.repeat(30)}end.`;
    const point = firstSentence(long, 200);
    expect(point.length).toBeLessThanOrEqual(202);
    expect(point.endsWith('first clause …')).toBe(true);
  });
});
