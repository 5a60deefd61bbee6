/**
 * vega-lite -> SVG in Node: the SVG really draws the data (bar heights measured from the SVG
 * paths), vega-lite's warnings are collected, bad specs fail with a message, versions are 5.x.
 */
import { compileVegaLite, stableSvgIds, vegaLiteToSvg, vegaVersions, vegaLiteFigure, VEGALITE_SCHEMA } from '../../lib/viz';
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

describe('SVG ids', () => {
  // a quantitative colour legend is a gradient, and a clipped mark a clip path: both get ids from
  // counters in vega-scenegraph that grow for the life of the process
  const heat = (k: number) => ({
    data: { values: [0, 1, 2].map((x) => ({ x, z: x * k })) },
    mark: { type: 'rect', clip: true },
    encoding: { x: { field: 'x', type: 'ordinal' }, color: { field: 'z', type: 'quantitative' } },
  });
  const ids = (svg: string) => [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  const refs = (svg: string) => [...svg.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);

  it('depend only on the drawing: the same figure draws the same SVG however many were drawn before', async () => {
    const first = await vegaLiteToSvg(heat(1));
    await vegaLiteToSvg(heat(2));
    await vegaLiteToSvg(heat(3));
    expect(await vegaLiteToSvg(heat(1))).toBe(first);
    expect(ids(first).length).toBeGreaterThanOrEqual(2); // the gradient and a clip path
  });

  it('differ between different figures (inlined together in an HTML page), and every reference resolves', async () => {
    const [a, b] = [await vegaLiteToSvg(heat(1)), await vegaLiteToSvg(heat(2))];
    expect(ids(a).filter((id) => ids(b).includes(id))).toEqual([]);
    for (const svg of [a, b]) expect(refs(svg).filter((r) => !ids(svg).includes(r))).toEqual([]);
  });

  it('stableSvgIds renames ids and their url()/href references, leaving other text alone', () => {
    const svg = '<svg><defs><linearGradient id="gradient_7"/><clipPath id="clip1"/></defs><path fill="url(#gradient_7)" clip-path="url(#clip1)"/><use href="#clip1"/><text>gradient_7</text></svg>';
    const out = stableSvgIds(svg);
    const [g, c] = ids(out);
    expect(g).toMatch(/^v[0-9a-f]{8}-0$/);
    expect(c).toBe(g.replace(/-0$/, '-1'));
    expect(out).toBe(`<svg><defs><linearGradient id="${g}"/><clipPath id="${c}"/></defs><path fill="url(#${g})" clip-path="url(#${c})"/><use href="#${c}"/><text>gradient_7</text></svg>`);
    // the same drawing with other counter values gets the same ids
    expect(stableSvgIds(svg.replace(/gradient_7/g, 'gradient_0').replace(/clip1/g, 'clip9').replace('<text>gradient_0', '<text>gradient_7'))).toBe(out);
    expect(stableSvgIds('<svg><rect/></svg>')).toBe('<svg><rect/></svg>');
  });
});

describe('vegaLiteFigure', () => {
  it('stamps the v5 $schema', () => {
    const f = vegaLiteFigure({ mark: 'point' });
    expect(f).toMatchObject({ kind: 'vega-lite', spec: { $schema: VEGALITE_SCHEMA, mark: 'point', description: 'scatter plot' } });
  });

  it('rejects other vega-lite versions and non-objects', () => {
    expect(() => vegaLiteFigure({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', mark: 'point' })).toThrow(
      /is not vega-lite v5 .*JupyterLab 4 renders only vega-lite v5/,
    );
    expect(() => vegaLiteFigure([] as never)).toThrow('spec must be a vega-lite JSON object, got an array');
  });
});
