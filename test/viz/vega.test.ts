/**
 * vega-lite -> SVG in Node: the SVG really draws the data (bar heights measured from the SVG
 * paths), vega-lite's warnings are collected, bad specs fail with a message, versions are 5.x.
 */
import { compileVegaLite, vegaLiteToSvg, vegaVersions, vegaLiteFigure, VEGALITE_SCHEMA } from '../../lib/viz';
import { barHeights } from './svg';

describe('vega and vega-lite', () => {
  it('are the pinned 5.x (CommonJS; JupyterLab 4 renders vega-lite v5)', () => {
    const v = vegaVersions();
    expect(v.vega).toMatch(/^5\./);
    expect(v.vegaLite).toMatch(/^5\./);
  });
});

describe('vegaLiteToSvg', () => {
  const bars = (values: number[]) => ({
    $schema: VEGALITE_SCHEMA,
    width: 200,
    height: 100,
    data: { values: values.map((v, i) => ({ k: `b${i}`, v })) },
    mark: 'bar',
    encoding: { x: { field: 'k', type: 'nominal' }, y: { field: 'v', type: 'quantitative', scale: { domain: [0, 8] } } },
  });

  it('draws the data: bar heights in the SVG are proportional to the values', async () => {
    const svg = await vegaLiteToSvg(bars([1, 2, 4, 8]));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const h = barHeights(svg);
    // y scale [0, 8] onto 100 px: heights 12.5, 25, 50, 100
    expect(h).toEqual([12.5, 25, 50, 100]);
  });

  it('negative control: different data gives different bars', async () => {
    expect(barHeights(await vegaLiteToSvg(bars([8, 4, 2, 1])))).toEqual([100, 50, 25, 12.5]);
  });

  it('honours scale and size', async () => {
    const svg = await vegaLiteToSvg(bars([1]), { scale: 2 });
    const [, w, h] = svg.match(/<svg[^>]* width="(\d+)" height="(\d+)"/) ?? [];
    const svg1 = await vegaLiteToSvg(bars([1]));
    const [, w1, h1] = svg1.match(/<svg[^>]* width="(\d+)" height="(\d+)"/) ?? [];
    expect(Number(w)).toBe(2 * Number(w1));
    expect(Number(h)).toBe(2 * Number(h1));
    await expect(vegaLiteToSvg(bars([1]), { scale: 0 })).rejects.toThrow('scale = 0 must be > 0');
  });

  it('collects vega-lite warnings instead of printing them', () => {
    const ok = compileVegaLite(bars([1, 2]));
    expect(ok.warnings).toEqual([]);
    // a shape channel means nothing to bars: vega-lite drops it with a warning
    const spec = bars([1]);
    const bad = compileVegaLite({ ...spec, encoding: { ...spec.encoding, shape: { field: 'k', type: 'nominal' } } });
    expect(bad.warnings.join(' ')).toMatch(/shape dropped/);
  });

  it('rejects specs vega-lite cannot compile, naming vega-lite', () => {
    const spec = { data: { values: [] }, mark: 'point', encoding: { x: { field: 'v', type: 'nonsense' } } };
    expect(() => compileVegaLite(spec)).toThrow(/compileVegaLite: vega-lite 5\.\d+\.\d+ rejected the spec: Invalid field type/);
  });
});

describe('vegaLiteFigure', () => {
  it('stamps the v5 $schema', () => {
    const f = vegaLiteFigure({ mark: 'point' });
    expect(f).toEqual({ kind: 'vega-lite', spec: { $schema: VEGALITE_SCHEMA, mark: 'point' } });
  });

  it('rejects other vega-lite versions and non-objects', () => {
    expect(() => vegaLiteFigure({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', mark: 'point' })).toThrow(
      /is not vega-lite v5 .*JupyterLab 4 renders only vega-lite v5/,
    );
    expect(() => vegaLiteFigure([] as never)).toThrow('spec must be a vega-lite JSON object, got an array');
  });
});
