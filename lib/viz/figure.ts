/**
 * Figures as data: what a notebook shows, before it becomes a Jupyter MIME bundle.
 *
 * A figure is plain JSON (a vega-lite v5 spec, a plotly `{ data, layout }`, or an HTML fragment),
 * so it can be built without a browser, tested, saved, and sent to JupyterLab as its interactive
 * MIME type next to a static SVG drawn in Node (see ./bundle.ts).
 */

/** The MIME type JupyterLab 4 renders natively with vega-lite 5 (there is no v6 type). */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';
/** The MIME type of plotly figures (renderer: the `plotly>=6.1` Python package's JupyterLab extension). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** Static fallback for nbconvert/HTML, slides and any frontend without the interactive renderers. */
export const SVG_MIME = 'image/svg+xml';
/** The `$schema` every vega-lite figure carries. */
export const VEGALITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** A top-level vega-lite v5 specification (JSON). */
export interface VegaLiteSpec {
  [key: string]: unknown;
}

/** One plotly trace: the subset of plotly.js that ./plotly-svg.ts can also draw as SVG. */
export interface PlotlyTrace {
  /** Default `'scatter'` (as in plotly.js). */
  type?: 'scatter' | 'bar' | 'heatmap';
  name?: string;
  /** scatter: `'lines'`, `'markers'` or `'lines+markers'` (default `'lines+markers'`). */
  mode?: string;
  x?: Array<number | string>;
  y?: Array<number | string>;
  /** heatmap: rows of values, `z[row][column]`. */
  z?: number[][];
  line?: { color?: string; width?: number; dash?: string };
  marker?: { color?: string; size?: number };
  /** heatmap: a plotly colorscale name (`'Viridis'`, `'Blues'`, `'Greys'`, `'RdBu'`, ...). */
  colorscale?: string;
  [key: string]: unknown;
}

/** An axis of a plotly layout (the parts the SVG drawing honours). */
export interface PlotlyAxis {
  title?: string | { text?: string };
  type?: 'linear' | 'log' | 'category';
  autorange?: boolean | 'reversed';
  [key: string]: unknown;
}

/** A plotly layout (the parts the SVG drawing honours; the rest passes through to plotly.js). */
export interface PlotlyLayout {
  title?: string | { text?: string };
  xaxis?: PlotlyAxis;
  yaxis?: PlotlyAxis;
  width?: number;
  height?: number;
  [key: string]: unknown;
}

/** A plotly figure as sent in `application/vnd.plotly.v1+json`. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
}

/** Anything `show` can display. */
export type Figure =
  | { kind: 'vega-lite'; spec: VegaLiteSpec }
  | { kind: 'plotly'; figure: PlotlyFigure }
  | { kind: 'html'; html: string; text: string };

/** Wraps a vega-lite v5 spec as a figure; sets `$schema` to v5 and rejects other versions. */
export function vegaLiteFigure(spec: VegaLiteSpec): Figure {
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
  return { kind: 'vega-lite', spec: { $schema: VEGALITE_SCHEMA, ...spec } };
}

/**
 * Wraps plotly traces and layout as a figure (checked: a non-empty array of supported traces).
 * Heatmaps without a colorscale get `'Viridis'`, the one the SVG fallback uses by default.
 */
export function plotlyFigure(data: PlotlyTrace[], layout: PlotlyLayout = {}): Figure {
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
  // plotly.js's own default heatmap colorscale differs from the SVG's; naming it keeps both alike
  const traces = data.map((t) => (t.type === 'heatmap' && t.colorscale === undefined ? { ...t, colorscale: 'Viridis' } : t));
  return { kind: 'plotly', figure: { data: traces, layout } };
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
