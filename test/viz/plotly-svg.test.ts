/**
 * The plotly -> vega-lite translation behind plotly figures' SVG: plotly.js's defaults where they
 * show (colorway, trace names, data-order lines, heatmap row 0 at the bottom), checked in the spec
 * and in the drawn SVG's geometry.
 */
import { plotlyFigure, plotlyToVegaLite, toMimeBundle, PLOTLY_COLORWAY, PLOTLY_MIME, SVG_MIME } from '../../lib/viz';
import type { PlotlyFigure, VegaLiteSpec } from '../../lib/viz';
import { rectMarks } from './svg';

type Layer = { data: { values: Array<Record<string, unknown>> }; mark: { type: string }; encoding: Record<string, Record<string, unknown>> };
const layers = (spec: VegaLiteSpec) => spec.layer as Layer[];

describe('plotlyToVegaLite', () => {
  it('scatter: plotly.js default names, our colorway (Okabe-Ito), data order, titles and log axes', () => {
    const spec = plotlyToVegaLite({
      data: [{ x: [3, 1, 2], y: [30, 10, 20] }, { y: [5, 6], mode: 'markers' }],
      layout: { title: { text: 'T' }, xaxis: { title: 'x axis', type: 'log' }, yaxis: { title: { text: 'y axis' } } },
    });
    expect(spec.title).toBe('T');
    const [a, b] = layers(spec);
    expect(a.data.values).toEqual([
      { trace: 'trace 0', x: 3, y: 30, k: 0 },
      { trace: 'trace 0', x: 1, y: 10, k: 1 },
      { trace: 'trace 0', x: 2, y: 20, k: 2 },
    ]);
    expect(a.mark).toMatchObject({ type: 'line', point: true });
    expect(a.encoding.order).toEqual({ field: 'k', type: 'quantitative' }); // lines join points in data order, as plotly does
    expect(a.encoding.x).toMatchObject({ type: 'quantitative', title: 'x axis', scale: { type: 'log', nice: false } });
    expect(a.encoding.y.scale).toEqual({ zero: false }); // plotly's autorange does not force zero into line charts
    expect(a.encoding.y).toMatchObject({ title: 'y axis' });
    expect(a.encoding.color.scale).toEqual({ domain: ['trace 0', 'trace 1'], range: [PLOTLY_COLORWAY[0], PLOTLY_COLORWAY[1]] });
    // missing x = indices 0, 1; on this log x axis 0 cannot be shown, so only 1 remains
    expect(b.data.values.map((v) => v.x)).toEqual([1]);
    const linear = plotlyToVegaLite({ data: [{ y: [5, 6] }], layout: {} });
    expect(layers(linear)[0].data.values.map((v) => v.x)).toEqual([0, 1]);
    expect(b.mark.type).toBe('point');
    expect(PLOTLY_COLORWAY.slice(0, 3)).toEqual(['#0072B2', '#E69F00', '#009E73']);
    // a layout's own colorway wins, as in plotly.js
    const own = plotlyToVegaLite({ data: [{ y: [1] }, { y: [2] }], layout: { colorway: ['#111111', '#222222'] } });
    expect(layers(own)[0].encoding.color.scale).toEqual({ domain: ['trace 0', 'trace 1'], range: ['#111111', '#222222'] });
  });

  it('drops points a log axis cannot show and non-numbers', () => {
    const spec = plotlyToVegaLite({ data: [{ x: [1, 2, 3, 4], y: [1, 0, -1, NaN] }], layout: { yaxis: { type: 'log' } } });
    expect(layers(spec)[0].data.values.map((v) => v.x)).toEqual([1]);
  });

  it('bar: grouped side by side when there are several bar traces', () => {
    const spec = plotlyToVegaLite({ data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2], name: 'p' }, { type: 'bar', x: ['a', 'b'], y: [3, 4], name: 'q' }], layout: {} });
    const [p] = layers(spec);
    expect(p.mark.type).toBe('bar');
    expect(p.encoding.x).toMatchObject({ type: 'ordinal', sort: null });
    expect(p.encoding.xOffset).toEqual({ field: 'trace', type: 'nominal', scale: { domain: ['p', 'q'] } });
  });

  it('heatmap: row 0 at the bottom (plotly default), drawn so in the SVG; reversed axis puts it on top', async () => {
    const z = [[1, 2, 3], [4, 5, 6]];
    const fig = plotlyFigure([{ type: 'heatmap', z }], { width: 400, height: 300 });
    const spec = plotlyToVegaLite((fig as { figure: PlotlyFigure }).figure);
    const [h] = layers(spec);
    expect(h.encoding.y.scale).toEqual({ domain: [1, 0] });
    expect(h.encoding.x.scale).toEqual({ domain: [0, 1, 2] });
    expect(h.encoding.color.scale).toEqual({ scheme: 'viridis' });
    // geometry: the cells of row 0 (z 1..3) sit below those of row 1 (z 4..6)
    const rects = rectMarks((await toMimeBundle(fig))[SVG_MIME] as string);
    expect(rects).toHaveLength(6); // drawn in data order: row 0, then row 1
    const bottom = Math.max(...rects.map((r) => r.y));
    expect(rects.slice(0, 3).map((r) => r.y)).toEqual([bottom, bottom, bottom]);
    expect(rects.slice(3).map((r) => r.y)).toEqual([0, 0, 0]);
    expect(bottom).toBeGreaterThan(0);
    const reversed = plotlyToVegaLite({ data: [{ type: 'heatmap', z }], layout: { yaxis: { autorange: 'reversed' } } });
    expect(layers(reversed)[0].encoding.y.scale).toEqual({ domain: [0, 1] });
  });

  it('rejects what it cannot draw faithfully', () => {
    expect(() => plotlyToVegaLite({ data: [{ type: 'heatmap', z: [[1]], colorscale: 'Jet' }], layout: {} })).toThrow(
      "colorscale 'Jet' has no SVG equivalent; use one of Viridis",
    );
    expect(() => plotlyToVegaLite({ data: [{ type: 'heatmap', z: [[1, 2]], x: ['a'] }], layout: {} })).toThrow('heatmap z is 1x2 but has 1 y and 1 x labels');
    expect(() => plotlyToVegaLite({ data: [{ x: [1], y: [1, 2] }], layout: {} })).toThrow('trace 0 has 1 x and 2 y values');
    expect(() => plotlyToVegaLite({ data: [{ y: [1], name: 'a' }, { y: [2], name: 'a' }], layout: {} })).toThrow('trace names ["a","a"] repeat');
    expect(() => plotlyToVegaLite({ data: [{ y: [1], mode: 'text' }], layout: {} })).toThrow("mode 'text' draws nothing the SVG supports");
  });
});

describe('plotlyFigure', () => {
  it('writes string titles as { text } (plotly.js 3, in the JupyterLab renderer, draws no string titles)', async () => {
    const fig = plotlyFigure([{ y: [1, 2] }], { title: 'T', xaxis: { title: 'x', type: 'log' }, yaxis: { title: { text: 'y' } }, xaxis2: { title: 'x2' } });
    const { layout } = (fig as { figure: PlotlyFigure }).figure;
    expect([layout.title, layout.xaxis, layout.yaxis, layout.xaxis2]).toEqual([{ text: 'T' }, { title: { text: 'x' }, type: 'log' }, { title: { text: 'y' } }, { title: { text: 'x2' } }]);
    // also for plotly figures built by hand
    const bundle = await toMimeBundle({ kind: 'plotly', figure: { data: [{ y: [1] }], layout: { title: 'H', yaxis: { title: 'v' } } } });
    const emitted = (bundle[PLOTLY_MIME] as PlotlyFigure).layout;
    expect([emitted.title, emitted.yaxis]).toEqual([{ text: 'H' }, { title: { text: 'v' } }]);
  });

  it('names the default heatmap colorscale so the interactive figure and the SVG agree', () => {
    const fig = plotlyFigure([{ type: 'heatmap', z: [[1]] }, { type: 'heatmap', z: [[1]], colorscale: 'Blues' }]);
    expect((fig as { figure: PlotlyFigure }).figure.data.map((t) => t.colorscale)).toEqual(['Viridis', 'Blues']);
  });

  it('rejects empty data, unsupported trace types and missing values', () => {
    expect(() => plotlyFigure([])).toThrow('data must be a non-empty array of traces, got an empty array');
    expect(() => plotlyFigure([{ type: 'pie' as never, y: [1] }])).toThrow("trace 0 has type 'pie'; supported: scatter, bar, heatmap");
    expect(() => plotlyFigure([{ type: 'heatmap' }])).toThrow('trace 0 (heatmap) needs z (rows of values)');
    expect(() => plotlyFigure([{ x: [1] }])).toThrow('trace 0 (scatter) needs y values');
  });
});
