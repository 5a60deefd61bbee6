/**
 * Figures for notebooks: each one an interactive MIME type (vega-lite v5 or plotly) plus a static
 * SVG drawn in Node, shown from tslab as one output. `await show(maskHeatmap(mask))`. Every figure
 * has a colour-blind-safe palette (./palette.ts), a title and a text alternative (./describe.ts).
 */
export { VEGALITE_MIME, PLOTLY_MIME, SVG_MIME, VEGALITE_SCHEMA, vegaLiteFigure, plotlyFigure, plotlyTitleObjects, htmlFigure } from './figure';
export type { Figure, FigureOptions, VegaLiteSpec, PlotlyFigure, PlotlyTrace, PlotlyLayout, PlotlyAxis } from './figure';
export { compileVegaLite, vegaLiteToSvg, vegaVersions, accessibleSvg, stableSvgIds } from './vega';
export type { VegaLiteCompilation } from './vega';
export { plotlyToVegaLite, PLOTLY_COLORWAY, PLOTLY_JS_DEFAULT_COLORWAY, PLOTLY_COLORSCALES } from './plotly-svg';
export { OKABE_ITO, SEQUENTIAL_SCHEME, MASK_COLORS, contrastRatio, hexToLinearRgb, relativeLuminance } from './palette';
export { describeVegaLite, describePlotly, formatNumber } from './describe';
export { show, toMimeBundle, tslabDisplayWriter, LiveDisplay } from './display';
export type { MimeBundle, DisplayMessage, DisplayWriter, ShowOptions, BundleOptions, ModuleCacheLike } from './display';
export { maskHeatmap, lossCurve, LossCurve, costCurves, htmlTable, matrixGrid, MAX_HEATMAP_CELLS } from './figures';
export type { MaskHeatmapOptions, LossPoint, LossCurveOptions, CostCurvesOptions, HtmlTableOptions, MatrixPanel, MatrixGridOptions } from './figures';
