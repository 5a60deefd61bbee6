/**
 * The JSON shapes of figures: vega-lite specs and the plotly subset the SVG fallback draws
 * (re-exported by ./figure.ts; a file of their own so that ./describe.ts needs no import of it).
 */

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
  /** Trace colours in order (default: Okabe-Ito, set by `plotlyFigure`). */
  colorway?: string[];
  /** Free-form data plotly.js keeps; `meta.description` holds the figure's text alternative. */
  meta?: unknown;
  [key: string]: unknown;
}

/** A plotly figure as sent in `application/vnd.plotly.v1+json`. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
}
