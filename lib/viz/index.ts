/**
 * Figures for notebooks: each one an interactive MIME type (vega-lite v5 or plotly) plus a static
 * SVG drawn in Node, shown from tslab as one output. `await show(maskHeatmap(mask))`.
 */
export { VEGALITE_MIME, PLOTLY_MIME, SVG_MIME, VEGALITE_SCHEMA, vegaLiteFigure, plotlyFigure, htmlFigure } from './figure';
export type { Figure, VegaLiteSpec, PlotlyFigure, PlotlyTrace, PlotlyLayout, PlotlyAxis } from './figure';
export { compileVegaLite, vegaLiteToSvg, vegaVersions } from './vega';
export type { VegaLiteCompilation } from './vega';
export { plotlyToVegaLite, PLOTLY_COLORWAY, PLOTLY_COLORSCALES } from './plotly-svg';
export { show, toMimeBundle, tslabDisplayWriter, LiveDisplay } from './display';
export type { MimeBundle, DisplayMessage, DisplayWriter, ShowOptions, ModuleCacheLike } from './display';
export { maskHeatmap, lossCurve, LossCurve, costCurves, htmlTable, MAX_HEATMAP_CELLS } from './figures';
export type { MaskHeatmapOptions, LossPoint, LossCurveOptions, CostCurvesOptions, HtmlTableOptions } from './figures';
