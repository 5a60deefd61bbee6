/**
 * Figures as data: what a notebook shows, before it becomes a Jupyter MIME bundle.
 *
 * A figure is plain JSON (a vega-lite v5 spec, a plotly `{ data, layout }`, or an HTML fragment),
 * so it can be built without a browser, tested, saved, and sent to JupyterLab as its interactive
 * MIME type next to a static SVG drawn in Node (see ./display.ts).
 */
import { describePlotly, describeVegaLite, plotlyDescription, withPlotlyDescription } from './describe';
import { defaultVegaRange, OKABE_ITO } from './palette';
import type { PlotlyFigure, PlotlyLayout, PlotlyTrace, VegaLiteSpec } from './types';

/** The MIME type JupyterLab 4 renders natively with vega-lite 5 (there is no v6 type). */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';
/** The MIME type of plotly figures (renderer: the `plotly>=6.1` Python package's JupyterLab extension). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** Static fallback for nbconvert/HTML, slides and any frontend without the interactive renderers. */
export const SVG_MIME = 'image/svg+xml';
/** The `$schema` every vega-lite figure carries. */
export const VEGALITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export type { VegaLiteSpec, PlotlyTrace, PlotlyAxis, PlotlyLayout, PlotlyFigure } from './types';

/** Anything `show` can display. */
export type Figure =
  | { kind: 'vega-lite'; spec: VegaLiteSpec }
  | { kind: 'plotly'; figure: PlotlyFigure; /** The text alternative when `layout.meta` cannot hold it (not an object). */ alt?: string }
  | { kind: 'html'; html: string; text: string };

/** Options of `vegaLiteFigure` and `plotlyFigure`. */
export interface FigureOptions {
  /**
   * The text alternative (what a screen reader says, what text exports show). Default: the spec's
   * own (vega-lite `description`, plotly `layout.meta.description`), else one derived from the
   * figure's marks and data (./describe.ts).
   */
  alt?: string;
}

/**
 * Wraps a vega-lite v5 spec as a figure; sets `$schema` to v5 and rejects other versions. Adds the
 * colour-blind-safe palette as `config.range` (Okabe-Ito categories, viridis ramps and heatmaps;
 * ranges the spec sets itself win) and the text alternative as `description`.
 */
export function vegaLiteFigure(spec: VegaLiteSpec, { alt }: FigureOptions = {}): Figure {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error(`vegaLiteFigure: spec must be a vega-lite JSON object, got ${Array.isArray(spec) ? 'an array' : typeof spec}`);
  }
  const schema = spec.$schema;
  if (schema !== undefined && schema !== VEGALITE_SCHEMA) {
    throw new Error(
      `vegaLiteFigure: $schema '${String(schema)}' is not vega-lite v5 (${VEGALITE_SCHEMA}); JupyterLab 4 renders only ` +
        `vega-lite v5: write a v5 spec or drop $schema`,
    );
  }
  if (alt !== undefined && (typeof alt !== 'string' || alt.trim() === '')) throw new Error('vegaLiteFigure: alt must be a non-empty string');
  const config = (spec.config ?? {}) as Record<string, unknown>;
  const range = (config.range ?? {}) as Record<string, unknown>;
  const out: VegaLiteSpec = { $schema: VEGALITE_SCHEMA, ...spec, config: { ...config, range: { ...defaultVegaRange(), ...range } } };
  const description = alt ?? (typeof spec.description === 'string' && spec.description.trim() !== '' ? spec.description : describeVegaLite(out));
  return { kind: 'vega-lite', spec: { ...out, description } };
}

/**
 * Wraps plotly traces and layout as a figure (checked: a non-empty array of supported traces).
 * Heatmaps without a colorscale get `'Viridis'`, the one the SVG fallback uses by default; a layout
 * without a colorway gets Okabe-Ito (`PLOTLY_COLORWAY`), and the text alternative goes to
 * `layout.meta.description`.
 */
export function plotlyFigure(data: PlotlyTrace[], layout: PlotlyLayout = {}, { alt }: FigureOptions = {}): Figure {
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(`plotlyFigure: data must be a non-empty array of traces, got ${Array.isArray(data) ? 'an empty array' : typeof data}`);
  }
  data.forEach((trace, i) => {
    const type = trace.type ?? 'scatter';
    if (type !== 'scatter' && type !== 'bar' && type !== 'heatmap') {
      throw new Error(`plotlyFigure: trace ${i} has type '${String(type)}'; supported: scatter, bar, heatmap (the SVG fallback draws only these)`);
    }
    if (type === 'heatmap' ? !Array.isArray(trace.z) : !Array.isArray(trace.y)) {
      throw new Error(`plotlyFigure: trace ${i} (${type}) needs ${type === 'heatmap' ? 'z (rows of values)' : 'y values'}`);
    }
  });
  if (alt !== undefined && (typeof alt !== 'string' || alt.trim() === '')) throw new Error('plotlyFigure: alt must be a non-empty string');
  // plotly.js's own default heatmap colorscale and colorway differ from ours; naming them keeps the
  // interactive figure and the SVG alike
  const traces = data.map((t) => (t.type === 'heatmap' && t.colorscale === undefined ? { ...t, colorscale: 'Viridis' } : t));
  const titled = plotlyTitleObjects(layout);
  const full: PlotlyFigure = { data: traces, layout: titled.colorway === undefined ? { ...titled, colorway: [...OKABE_ITO] } : titled };
  const description = alt ?? plotlyDescription(layout) ?? describePlotly(full);
  const withAlt = withPlotlyDescription(full.layout, description);
  return { kind: 'plotly', figure: { data: traces, layout: withAlt }, ...(plotlyDescription(withAlt) === description ? {} : { alt: description }) };
}

/**
 * `layout` with string titles (`title: 'x'`, `xaxis: { title: 'x' }`) written as `{ text: 'x' }`:
 * plotly.js 3 (what the plotly>=6 JupyterLab renderer ships) dropped the string shorthand and
 * draws no title for it.
 */
export function plotlyTitleObjects(layout: PlotlyLayout): PlotlyLayout {
  const out: PlotlyLayout = { ...layout };
  if (typeof out.title === 'string') out.title = { text: out.title };
  for (const key of Object.keys(out)) {
    const axis = out[key] as { title?: unknown } | undefined;
    if (!/^[xy]axis\d*$/.test(key) || axis === null || typeof axis !== 'object' || typeof axis.title !== 'string') continue;
    out[key] = { ...axis, title: { text: axis.title } };
  }
  return out;
}

/** An HTML fragment with its plain-text form (what consoles and text exports show). */
export function htmlFigure(html: string, text: string): Figure {
  return { kind: 'html', html, text };
}

/** A plotly/vega title (string or `{ text }`) as a string, or undefined. */
export function titleText(title: string | { text?: string } | undefined): string | undefined {
  if (title === undefined) return undefined;
  return typeof title === 'string' ? title : title.text;
}
