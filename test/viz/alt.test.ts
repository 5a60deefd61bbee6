/**
 * Titles and text alternatives: every figure gets a text alternative derived from its own data
 * (chart kind, what is plotted against what, series, ranges), which an explicit `alt` overrides at
 * each level (helper option, figure builder, spec field, `show`). It travels in the interactive
 * JSON (vega-lite `description`, plotly `layout.meta.description`), in the SVG (`<title>`,
 * `<desc>`, `role="img"`, `aria-label`) and in `text/plain`.
 */
import { ready } from '../../lib/backend';
import {
  accessibleSvg,
  costCurves,
  describePlotly,
  describeVegaLite,
  formatNumber,
  lossCurve,
  maskHeatmap,
  plotlyFigure,
  show,
  toMimeBundle,
  vegaLiteFigure,
  vegaLiteToSvg,
  PLOTLY_MIME,
  SVG_MIME,
  VEGALITE_MIME,
} from '../../lib/viz';
import type { MimeBundle, PlotlyFigure, VegaLiteSpec } from '../../lib/viz';

beforeAll(async () => {
  await ready({ backend: 'cpu' });
});

/** The title, description and accessibility attributes of an SVG document's root. */
function svgAccessibility(svg: string): { role?: string; label?: string; title?: string; desc?: string } {
  const root = svg.match(/^<svg\b[^>]*>/)?.[0] ?? '';
  const attr = (name: string) => root.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
  const after = svg.slice(root.length);
  return {
    role: attr('role'),
    label: attr('aria-label'),
    title: after.match(/^<title>([^<]*)<\/title>/)?.[1],
    desc: after.match(/^(?:<title>[^<]*<\/title>)?<desc>([^<]*)<\/desc>/)?.[1],
  };
}

/** Title and alternative as carried by every part of a bundle; throws if the parts disagree. */
function carried(bundle: MimeBundle): { title: string | undefined; alt: string } {
  const svg = svgAccessibility(bundle[SVG_MIME] as string);
  let alt: string | undefined;
  if (VEGALITE_MIME in bundle) alt = (bundle[VEGALITE_MIME] as VegaLiteSpec).description as string;
  if (PLOTLY_MIME in bundle) alt = ((bundle[PLOTLY_MIME] as PlotlyFigure).layout.meta as { description: string }).description;
  if (alt === undefined) throw new Error('no interactive figure in the bundle');
  expect(svg.role).toBe('img');
  expect(svg.desc).toBe(alt);
  const label = svg.title ? `${svg.title}: ${alt}` : alt;
  expect(svg.label).toBe(label);
  expect(bundle['text/plain']).toBe(label);
  return { title: svg.title, alt };
}

describe('default text alternatives, derived from the data', () => {
  it('maskHeatmap: heads, size, what dark means and the allowed pairs per head; a default title', async () => {
    const causal = [0, 1].map((h) => [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (h === 0 ? j <= i : true))));
    const { title, alt } = carried(await toMimeBundle(maskHeatmap(causal)));
    expect(title).toBe('attention mask (2 heads, 4 x 4)');
    expect(alt).toBe(
      'heatmap of attention masks, 2 heads of 4 x 4 (query i on the y axis, key j on the x axis); dark cells: query i may attend to key j; ' +
        'pairs allowed out of 16: head 0 10, head 1 16',
    );
  });

  it('lossCurve: each series with its points, steps, first, last and lowest loss; the alternative follows the data', async () => {
    const curve = lossCurve({ writer: null });
    expect(curve.describe()).toBe('line chart of loss by step, no points yet');
    [2.5, 1.2, 1.5].forEach((l, k) => curve.push(k * 10, l));
    curve.push(20, 1.8, 'eval');
    const { title, alt } = carried(await toMimeBundle(curve.figure()));
    expect(title).toBe('training loss');
    expect(alt).toBe(
      'line chart of loss by step, 2 series; train: 3 points, steps 0 to 20, loss 2.5 to 1.5 (lowest 1.2 at step 10); eval: 1 point, steps 20 to 20, loss 1.8 to 1.8 (lowest 1.8 at step 20)',
    );
  });

  it('costCurves: axes, log scales, each trace with its points and ranges; a default title from the axes', async () => {
    const rows = [
      { n: 256, full: 4.1, s2: 1.25 },
      { n: 1024, full: 60, s2: 5.5 },
    ];
    const { title, alt } = carried(await toMimeBundle(costCurves(rows, { x: 'n', y: ['full', 's2'], yTitle: 'ms', logX: true, names: { s2: 'S2-Attn' } })));
    expect(title).toBe('ms by n');
    expect(alt).toBe('line chart of ms by n (log x axis), 2 series: full (2 points, n 256 to 1024, ms from 4.1 to 60), S2-Attn (2 points, n 256 to 1024, ms from 1.25 to 5.5)');
  });

  it('generic vega-lite specs: mark, axes, panels, series, point count and y range', () => {
    const values = ['a', 'b'].flatMap((s) => [1, 2].map((step) => ({ s, step, loss: step * (s === 'a' ? 1 : 2) })));
    const line = { data: { values }, mark: { type: 'line' }, encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', title: 'loss (nats)' }, color: { field: 's', type: 'nominal' } } };
    expect(describeVegaLite(line)).toBe('line chart of loss (nats) by step, 2 series (a, b), 4 data points, loss (nats) from 1 to 4');
    const faceted = { data: { values }, facet: { field: 's', type: 'nominal' }, spec: { mark: 'bar', encoding: { x: { field: 'step', type: 'ordinal' }, y: { field: 'loss', type: 'quantitative', scale: { type: 'log' } } } } };
    expect(describeVegaLite(faceted)).toBe('bar chart of loss by step (log y axis), 2 panels (a, b), 4 data points, loss from 1 to 4');
    const heat = { data: { values }, mark: 'rect', encoding: { x: { field: 'step', type: 'ordinal' }, y: { field: 's', type: 'nominal' }, color: { field: 'loss', type: 'quantitative' } } };
    expect(describeVegaLite(heat)).toBe('heatmap of s by step, 4 data points, colour = loss from 1 to 4');
    expect(describeVegaLite({ hconcat: [{}, {}] })).toBe('composite figure of 2 views');
    expect(describeVegaLite({ mark: 'point' })).toBe('scatter plot');
  });

  it('generic plotly figures: trace kinds, axes, series and heatmap cells', () => {
    const fig: PlotlyFigure = {
      data: [{ type: 'bar', x: ['x', 'y'], y: [3, 4], name: 'count' }, { type: 'heatmap', z: [[0.5, 1], [2, 3]] }],
      layout: { xaxis: { title: 'class' }, yaxis: { title: { text: 'n' } } },
    };
    expect(describePlotly(fig)).toBe('bar chart and heatmap of n by class, 1 series: count (2 points, class x, y, n from 3 to 4), 2 x 2 cells, values from 0.5 to 3 (colour scale Viridis)');
  });

  it('formatNumber: integers exact, else 3 significant digits, exponents for very large or small numbers', () => {
    expect([0, 1, 1234, 0.012345, 1.5e9, 2e-5, -3.14159].map(formatNumber)).toEqual(['0', '1', '1234', '0.0123', '1.5e+9', '2e-5', '-3.14']);
  });
});

describe('explicit text alternatives override the derived ones', () => {
  it('as helper options (maskHeatmap, lossCurve, costCurves), with explicit titles', async () => {
    const mask = [[[true]]];
    expect(carried(await toMimeBundle(maskHeatmap(mask, { title: 'T', alt: 'one cell' })))).toEqual({ title: 'T', alt: 'one cell' });
    const curve = lossCurve({ writer: null, alt: 'falls from 3 to 1' });
    curve.push(0, 3);
    expect(carried(await toMimeBundle(curve.figure()))).toEqual({ title: 'training loss', alt: 'falls from 3 to 1' });
    const cost = costCurves([{ n: 1, t: 2 }], { x: 'n', y: 't', title: 'cost', alt: 'one point' });
    expect(carried(await toMimeBundle(cost))).toEqual({ title: 'cost', alt: 'one point' });
  });

  it("as the spec's own field (vega-lite description, plotly layout.meta.description) or the builder's alt option", async () => {
    const spec = { title: 'v', description: 'mine', mark: 'point' };
    expect(carried(await toMimeBundle(vegaLiteFigure(spec)))).toEqual({ title: 'v', alt: 'mine' });
    expect(carried(await toMimeBundle(vegaLiteFigure(spec, { alt: 'option' })))).toEqual({ title: 'v', alt: 'option' });
    const p = plotlyFigure([{ y: [1] }], { title: 'p', meta: { description: 'in meta', other: 1 } });
    expect((p as { figure: PlotlyFigure }).figure.layout.meta).toEqual({ description: 'in meta', other: 1 });
    expect(carried(await toMimeBundle(p))).toEqual({ title: 'p', alt: 'in meta' });
    expect(carried(await toMimeBundle(plotlyFigure([{ y: [1] }], { title: 'p' }, { alt: 'option' })))).toEqual({ title: 'p', alt: 'option' });
  });

  it("show's alt wins over everything, in every MIME type", async () => {
    const bundle = await show(maskHeatmap([[[true]]], { title: 'T', alt: 'helper' }), { writer: null, alt: 'show' });
    expect(carried(bundle as MimeBundle)).toEqual({ title: 'T', alt: 'show' });
  });

  it('a plotly meta that is not an object is left alone (the SVG and text/plain still carry the alternative)', async () => {
    const fig = plotlyFigure([{ y: [1] }], { title: 'p', meta: ['user data'] }, { alt: 'a' });
    const bundle = await toMimeBundle(fig);
    expect((bundle[PLOTLY_MIME] as PlotlyFigure).layout.meta).toEqual(['user data']);
    expect(svgAccessibility(bundle[SVG_MIME] as string)).toEqual({ role: 'img', label: 'p: a', title: 'p', desc: 'a' });
  });

  it('rejects empty alternatives', () => {
    expect(() => vegaLiteFigure({ mark: 'point' }, { alt: ' ' })).toThrow('vegaLiteFigure: alt must be a non-empty string');
    expect(() => plotlyFigure([{ y: [1] }], {}, { alt: '' })).toThrow('plotlyFigure: alt must be a non-empty string');
    expect(() => lossCurve({ alt: '' })).toThrow('lossCurve: alt must be a non-empty string');
    return expect(toMimeBundle(vegaLiteFigure({ mark: 'point' }), { alt: '' })).rejects.toThrow('toMimeBundle: alt must be a non-empty string');
  });
});

describe('accessible SVG', () => {
  it('vegaLiteToSvg puts the title and description on the root: role, aria-label, <title>, <desc>', async () => {
    const svg = await vegaLiteToSvg({ title: { text: ['two', 'lines'] }, description: 'd', mark: 'point' });
    expect(svgAccessibility(svg)).toEqual({ role: 'img', label: 'two lines: d', title: 'two lines', desc: 'd' });
    // without either, the SVG is vega's own
    const bare = await vegaLiteToSvg({ mark: 'point' });
    expect(bare).not.toMatch(/role="img"|<title>|<desc>/);
  });

  it('accessibleSvg escapes markup and replaces earlier attributes', () => {
    const svg = '<svg width="1" role="presentation" aria-label="old"><rect/></svg>';
    const out = accessibleSvg(svg, { title: 'a < b & "c"', alt: '<script>' });
    expect(out).toBe(
      '<svg width="1" role="img" aria-label="a &lt; b &amp; &quot;c&quot;: &lt;script&gt;"><title>a &lt; b &amp; &quot;c&quot;</title><desc>&lt;script&gt;</desc><rect/></svg>',
    );
    expect(accessibleSvg(svg, {})).toBe(svg);
    expect(() => accessibleSvg('<g/>', { title: 't' })).toThrow('accessibleSvg: the document does not start with an <svg> element');
  });
});
