/**
 * The static SVG of a plotly figure, drawn through vega (plotly.js itself needs a browser DOM).
 *
 * `plotlyToVegaLite` translates the plotly subset we use (scatter lines/markers, bar, heatmap;
 * layout title, axis titles, log axes, colorway, size, text alternative) into an equivalent
 * vega-lite v5 spec, with plotly.js's defaults where they show: traces are named `trace 0`,
 * `trace 1`, ..., lines connect points in data order, heatmap row 0 is at the bottom and missing
 * x/y are the indices. Trace colours come from `layout.colorway`, else `PLOTLY_COLORWAY`
 * (Okabe-Ito), which `plotlyFigure` also writes into the layout, so that plotly.js draws the same
 * colours (its own default, d3's category10, is not colour-blind-safe).
 */
import type { PlotlyAxis, PlotlyFigure, PlotlyTrace, VegaLiteSpec } from './figure';
import { titleText, VEGALITE_SCHEMA } from './figure';
import { plotlyDescription } from './describe';
import { OKABE_ITO } from './palette';

/** The colorway of plotly figures (Okabe-Ito, colour-blind-safe): the colours of traces without their own. */
export const PLOTLY_COLORWAY: readonly string[] = OKABE_ITO;

/** plotly.js's own default colorway (d3 category10), for reference: NOT colour-blind-safe (red/green pairs). */
export const PLOTLY_JS_DEFAULT_COLORWAY: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

/** Plotly colorscale names and the vega scheme that draws them. */
const COLORSCALES: Record<string, { scheme: string; reverse?: boolean }> = {
  Viridis: { scheme: 'viridis' },
  Cividis: { scheme: 'cividis' },
  Plasma: { scheme: 'plasma' },
  Inferno: { scheme: 'inferno' },
  Magma: { scheme: 'magma' },
  Blues: { scheme: 'blues' },
  Greens: { scheme: 'greens' },
  Reds: { scheme: 'reds' },
  Greys: { scheme: 'greys' },
  YlOrRd: { scheme: 'yelloworangered' },
  YlGnBu: { scheme: 'yellowgreenblue' },
  RdBu: { scheme: 'redblue' },
};

/** The plotly colorscale names the SVG fallback can draw. */
export const PLOTLY_COLORSCALES: readonly string[] = Object.keys(COLORSCALES);

function axisTitle(axis: PlotlyAxis | undefined): string | null {
  return titleText(axis?.title) ?? null;
}

/** The vega-lite scale of a continuous axis, framed like plotly's autorange (tight, no forced zero). */
function scaleOf(axis: PlotlyAxis | undefined, zero: boolean): Record<string, unknown> {
  return axis?.type === 'log' ? { type: 'log', nice: false } : { zero };
}

function traceName(trace: PlotlyTrace, i: number): string {
  return trace.name ?? `trace ${i}`;
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The vega-lite spec that draws `figure` like plotly.js does (for the SVG fallback). */
export function plotlyToVegaLite(figure: PlotlyFigure): VegaLiteSpec {
  const { data, layout } = figure;
  const xLog = layout.xaxis?.type === 'log';
  const yLog = layout.yaxis?.type === 'log';
  const series = data.map((t, i) => ({ t, i })).filter(({ t }) => (t.type ?? 'scatter') !== 'heatmap');
  const names = series.map(({ t, i }) => traceName(t, i));
  if (new Set(names).size !== names.length) {
    throw new Error(`plotlyToVegaLite: trace names ${JSON.stringify(names)} repeat; give each trace a distinct name`);
  }
  const colorway = Array.isArray(layout.colorway) && layout.colorway.length > 0 ? layout.colorway : PLOTLY_COLORWAY;
  const colors = series.map(({ t, i }) => t.line?.color ?? t.marker?.color ?? colorway[i % colorway.length]);
  const color = {
    field: 'trace',
    type: 'nominal',
    scale: { domain: names, range: colors },
    legend: names.length > 1 ? { title: null } : null,
  };
  const bars = series.filter(({ t }) => t.type === 'bar').length;
  const layers: VegaLiteSpec[] = [];

  data.forEach((trace, i) => {
    const type = trace.type ?? 'scatter';
    if (type === 'heatmap') {
      layers.push(heatmapLayer(trace, layout.xaxis, layout.yaxis));
      return;
    }
    const ys = trace.y ?? [];
    const xs = trace.x ?? ys.map((_, k) => k);
    if (xs.length !== ys.length) throw new Error(`plotlyToVegaLite: trace ${i} has ${xs.length} x and ${ys.length} y values; they must match`);
    const numericX = xs.every(isNum) && type !== 'bar';
    const values = ys
      .map((y, k) => ({ trace: traceName(trace, i), x: xs[k], y, k }))
      .filter((r) => isNum(r.y) && (!yLog || r.y > 0) && (!xLog || !numericX || (r.x as number) > 0));
    const x = numericX
      ? { field: 'x', type: 'quantitative', title: axisTitle(layout.xaxis), scale: scaleOf(layout.xaxis, false) }
      : { field: 'x', type: 'ordinal', sort: null, title: axisTitle(layout.xaxis) };
    // bars grow from zero, as in plotly; lines and markers use the data's range
    const y = { field: 'y', type: 'quantitative', title: axisTitle(layout.yaxis), scale: scaleOf(layout.yaxis, type === 'bar') };
    if (type === 'bar') {
      layers.push({
        data: { values },
        mark: { type: 'bar' },
        encoding: { x, y, color, ...(bars > 1 ? { xOffset: { field: 'trace', type: 'nominal', scale: { domain: names } } } : {}) },
      });
      return;
    }
    const mode = trace.mode ?? 'lines+markers';
    const lines = mode.includes('lines');
    const markers = mode.includes('markers');
    if (!lines && !markers) throw new Error(`plotlyToVegaLite: trace ${i} mode '${mode}' draws nothing the SVG supports; use lines, markers or lines+markers`);
    const mark = lines
      ? { type: 'line', point: markers, strokeWidth: trace.line?.width ?? 2, ...(trace.line?.dash === 'dash' ? { strokeDash: [6, 4] } : {}) }
      : { type: 'point', filled: true, size: Math.pow(trace.marker?.size ?? 6, 2) };
    layers.push({ data: { values }, mark, encoding: { x, y, color, order: { field: 'k', type: 'quantitative' } } });
  });

  const heat = data.some((t) => t.type === 'heatmap');
  const spec: VegaLiteSpec = {
    $schema: VEGALITE_SCHEMA,
    width: Math.max(100, (layout.width ?? 640) - 160),
    height: Math.max(100, (layout.height ?? 420) - 120),
    layer: layers,
    ...(heat && series.length > 0 ? { resolve: { scale: { color: 'independent' } } } : {}),
  };
  const title = titleText(layout.title);
  if (title) spec.title = title;
  const description = plotlyDescription(layout);
  if (description) spec.description = description;
  return spec;
}

function heatmapLayer(trace: PlotlyTrace, xaxis: PlotlyAxis | undefined, yaxis: PlotlyAxis | undefined): VegaLiteSpec {
  const z = trace.z ?? [];
  const cols = z.reduce((m, row) => Math.max(m, row.length), 0);
  const xLabels = trace.x ?? Array.from({ length: cols }, (_, c) => c);
  const yLabels = trace.y ?? z.map((_, r) => r);
  if (xLabels.length !== cols || yLabels.length !== z.length) {
    throw new Error(`plotlyToVegaLite: heatmap z is ${z.length}x${cols} but has ${yLabels.length} y and ${xLabels.length} x labels; they must match`);
  }
  const values: Array<{ x: number | string; y: number | string; z: number }> = [];
  z.forEach((row, r) => row.forEach((v, c) => {
    if (isNum(v)) values.push({ x: xLabels[c], y: yLabels[r], z: v });
  }));
  const name = trace.colorscale ?? 'Viridis';
  const cs = COLORSCALES[name];
  if (cs === undefined) throw new Error(`plotlyToVegaLite: colorscale '${name}' has no SVG equivalent; use one of ${PLOTLY_COLORSCALES.join(', ')}`);
  const reversed = yaxis?.autorange === 'reversed';
  return {
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'x', type: 'ordinal', scale: { domain: xLabels }, title: axisTitle(xaxis) },
      // plotly puts row 0 at the bottom unless the axis is reversed
      y: { field: 'y', type: 'ordinal', scale: { domain: reversed ? yLabels : [...yLabels].reverse() }, title: axisTitle(yaxis) },
      color: { field: 'z', type: 'quantitative', scale: { scheme: cs.scheme, ...(trace.reversescale ? { reverse: true } : {}) }, title: null },
    },
  };
}
