/**
 * matrixGrid: every panel's cells drawn with their category's colour at their (row, column) place,
 * panels in the order their labels appear, a derived text alternative, and clear errors.
 */
import { matrixGrid, toMimeBundle, SVG_MIME, MAX_HEATMAP_CELLS } from '../../lib/viz';
import type { MatrixPanel } from '../../lib/viz';
import { rectMarks } from './svg';

const CATEGORIES: Array<[string, string]> = [['past', '#0072b2'], ['future', '#d55e00'], ['none', '#e8edf3']];

/** A 4x4 panel: past below the diagonal (j <= i, when `lower`), future above it (when `upper`). */
function panel(column: string, row: string | undefined, lower: boolean, upper: boolean): MatrixPanel {
  const cells = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (j <= i ? (lower ? 'past' : 'none') : upper ? 'future' : 'none')));
  return row === undefined ? { column, cells } : { row, column, cells };
}

describe('matrixGrid', () => {
  const panels = [panel('1 layer', 'A', true, false), panel('2 layers', 'A', true, true), panel('1 layer', 'B', false, false), panel('2 layers', 'B', false, true)];

  it('puts every cell of every panel in the spec, facets by row and column in order of appearance', () => {
    const fig = matrixGrid(panels, { title: 'reach', categories: CATEGORIES });
    if (fig.kind !== 'vega-lite') throw new Error('expected a vega-lite figure');
    const values = (fig.spec.data as { values: Array<{ row: string; column: string; i: number; j: number; value: string }> }).values;
    expect(values).toHaveLength(4 * 16);
    expect(values.find((v) => v.row === 'A' && v.column === '2 layers' && v.i === 0 && v.j === 3)?.value).toBe('future');
    expect(values.find((v) => v.row === 'B' && v.column === '1 layer' && v.i === 3 && v.j === 0)?.value).toBe('none');
    const facet = fig.spec.facet as { row: { sort: string[] }; column: { sort: string[] } };
    expect(facet.row.sort).toEqual(['A', 'B']);
    expect(facet.column.sort).toEqual(['1 layer', '2 layers']);
    expect(fig.spec.description).toMatch(/grid of 4 categorical matrices of 4 x 4/);
    expect(fig.spec.description).toMatch(/A, 2 layers: 10 past, 6 future/);
  });

  it('draws each category in its colour, cells at their place (i on y, j on x)', async () => {
    const rects = rectMarks((await toMimeBundle(matrixGrid([panel('only', undefined, true, true)], { title: 't', categories: CATEGORIES })))[SVG_MIME] as string);
    expect(rects).toHaveLength(16);
    const cell = rects[0].w;
    const at = (fill: string): string[] => rects.filter((r) => r.fill.toLowerCase() === fill).map((r) => `${Math.round(r.y / cell)},${Math.round(r.x / cell)}`).sort();
    expect(at('#0072b2')).toEqual(['0,0', '1,0', '1,1', '2,0', '2,1', '2,2', '3,0', '3,1', '3,2', '3,3']);
    expect(at('#d55e00')).toEqual(['0,1', '0,2', '0,3', '1,2', '1,3', '2,3']);
  });

  it('says what to change for bad input', () => {
    const ok = panel('x', undefined, true, false);
    expect(() => matrixGrid([], { title: 't', categories: CATEGORIES })).toThrow(/non-empty array/);
    expect(() => matrixGrid([ok], { title: '', categories: CATEGORIES })).toThrow(/title/);
    expect(() => matrixGrid([ok], { title: 't', categories: [] })).toThrow(/categories/);
    expect(() => matrixGrid([ok], { title: 't', categories: [['past', '#000000']] })).toThrow(/cell \[0\]\[1\] is 'none', not one of the categories past/);
    expect(() => matrixGrid([ok, { column: 'y', cells: [['past']] }], { title: 't', categories: CATEGORIES })).toThrow(/panel 1 is not 4x4/);
    expect(() => matrixGrid([ok, ok], { title: 't', categories: CATEGORIES })).toThrow(/two panels at row '', column 'x'/);
    expect(() => matrixGrid([ok, panel('y', 'A', true, false)], { title: 't', categories: CATEGORIES })).toThrow(/panel 0 has no row label/);
    expect(() => matrixGrid([ok], { title: 't', categories: CATEGORIES, colour: 'red' } as never)).toThrow(/unknown option\(s\) colour/);
    const big = Array.from({ length: 3 }, (_, k) => ({ column: `p${k}`, cells: Array.from({ length: 105 }, () => Array.from({ length: 105 }, () => 'none')) }));
    expect(() => matrixGrid(big, { title: 't', categories: CATEGORIES })).toThrow(new RegExp(`exceed ${MAX_HEATMAP_CELLS}`));
  });
});
