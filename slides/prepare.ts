/**
 * lib/viz figures made into slide figures: the same figure (the notebooks' functions and specs),
 * restyled for a room (the deck's font family, 20 px text and more, no figure title since the slide
 * has one) and sized to the slide's figure box, with its static SVG drawn by lib/viz's
 * `vegaLiteToSvg` (plotly figures through lib/viz's `plotlyToVegaLite`, as the notebooks' SVG).
 */
import { plotlyToVegaLite, vegaLiteToSvg } from 'longlora-ts';
import type { Figure, VegaLiteSpec } from 'longlora-ts';
import { FIGURE_BOX, FONT_FAMILY, MIN_FONT_PX } from './render';
import { facetGrid, logTicks, svgSize, thinOrdinalAxes, tickLabel } from './layout';
import type { SlideFigure } from './render';

const TEXT = MIN_FONT_PX;

/** The vega-lite config every slide figure gets (keys the figure sets itself inside these win). */
export function slideVegaConfig(): Record<string, unknown> {
  return {
    font: FONT_FAMILY,
    background: '#ffffff',
    title: { fontSize: 24, subtitleFontSize: TEXT, anchor: 'start' },
    axis: { labelFontSize: TEXT, titleFontSize: TEXT, titleFontWeight: 'normal', labelLimit: 600, titlePadding: 8 },
    legend: { labelFontSize: TEXT, titleFontSize: TEXT, titleFontWeight: 'normal', labelLimit: 600, symbolSize: 220, symbolStrokeWidth: 3 },
    header: { labelFontSize: TEXT, titleFontSize: TEXT, labelLimit: 600 },
    // row labels horizontal: rotated ones as long as a panel is tall squeeze the grid
    headerRow: { labelAngle: 0, labelAlign: 'left', labelLimit: 240, labelOrient: 'left', labelPadding: 8 },
    text: { fontSize: TEXT },
    line: { strokeWidth: 3 },
    point: { size: 90 },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeConfig(own: unknown, slide: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...slide };
  if (!isObject(own)) return out;
  for (const [k, v] of Object.entries(own)) out[k] = isObject(v) && isObject(slide[k]) ? { ...(slide[k] as object), ...v } : v;
  return out;
}

/** Adds wheel/drag zoom (an interval bound to the scales) to a single view with two quantitative axes. */
function withZoom(spec: VegaLiteSpec): VegaLiteSpec {
  const enc = spec.encoding as Record<string, { type?: string }> | undefined;
  if (spec.mark === undefined || spec.params !== undefined || !enc || enc.x?.type !== 'quantitative' || enc.y?.type !== 'quantitative') return spec;
  return { ...spec, params: [{ name: 'zoom', select: 'interval', bind: 'scales' }] };
}

/** Shorter label limits, for a second try at figures whose long labels at 20 px leave no room for the plot. */
const COMPACT_LABELS: Record<string, Record<string, unknown>> = {
  axis: { labelLimit: 180 },
  header: { labelLimit: 200 },
  headerRow: { labelLimit: 160 },
  legend: { labelLimit: 240 },
};

/** `title` cut into two lines at the space nearest its middle. */
function twoLines(title: string): string[] {
  const mid = title.length / 2;
  let cut = -1;
  for (let k = 0; k < title.length; k++) if (title[k] === ' ' && (cut < 0 || Math.abs(k - mid) < Math.abs(cut - mid))) cut = k;
  return cut < 0 ? [title] : [title.slice(0, cut), title.slice(cut + 1)];
}

/**
 * `spec` with long y-axis titles on two lines (everywhere in it: layers, facet specs): a rotated
 * title at 20 px longer than the plot is tall makes vega stretch the plot's group to its length.
 */
export function wrapLongYTitles(spec: VegaLiteSpec, maxChars = 18): VegaLiteSpec {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'encoding' && isObject(x) && isObject(x.y) && typeof x.y.title === 'string' && x.y.title.length > maxChars) {
        out[k] = walk({ ...x, y: { ...x.y, title: twoLines(x.y.title) } });
      } else if (k !== 'data') out[k] = walk(x);
      else out[k] = x;
    }
    return out;
  };
  return walk(spec) as VegaLiteSpec;
}

function slideConfig(compact: boolean): Record<string, unknown> {
  const base = slideVegaConfig();
  if (!compact) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(COMPACT_LABELS)) out[k] = { ...(base[k] as object), ...v };
  return out;
}

async function fitOnce(spec0: VegaLiteSpec, box: { width: number; height: number }, keepTitle: boolean, compact: boolean): Promise<{ spec: VegaLiteSpec; svg: string } | { W: number; H: number }> {
  let spec: VegaLiteSpec = { ...(compact ? wrapLongYTitles(spec0) : spec0), config: mergeConfig(spec0.config, slideConfig(compact)), autosize: { type: 'pad' } };
  if (!keepTitle) delete spec.title;
  spec = withZoom(spec);
  const { cols, rows } = facetGrid(spec);
  const inner = (): Record<string, unknown> => (isObject(spec.spec) ? (spec.spec as Record<string, unknown>) : spec);
  const setSize = (w: number, h: number): void => {
    if (isObject(spec.spec)) spec = { ...spec, spec: { ...(spec.spec as object), width: w, height: h } };
    else spec = { ...spec, width: w, height: h };
  };
  let w = typeof inner().width === 'number' ? (inner().width as number) : 400;
  let h = typeof inner().height === 'number' ? (inner().height as number) : 260;
  setSize(w, h);
  let svg = '';
  for (let iter = 0; iter < 6; iter++) {
    svg = await vegaLiteToSvg(spec);
    const { width: W, height: H } = svgSize(svg);
    // aim a little inside the box: label sizes move with the plot size
    const fx = (box.width - 6 - (W - cols * w)) / (cols * w);
    const fy = (box.height - 6 - (H - rows * h)) / (rows * h);
    const f = Math.min(fx, fy, iter === 0 ? 2.5 : Infinity);
    if (W <= box.width && H <= box.height && f < 1.05) {
      const thinned = thinOrdinalAxes(spec, w, h);
      return thinned === spec ? { spec, svg } : { spec: thinned, svg: await vegaLiteToSvg(thinned) };
    }
    if (!(f > 0)) break;
    w = Math.max(20, Math.floor(w * Math.min(f, 2.5)));
    h = Math.max(20, Math.floor(h * Math.min(f, 2.5)));
    setSize(w, h);
  }
  const { width: W, height: H } = svgSize(svg);
  return W <= box.width && H <= box.height ? { spec, svg } : { W, H };
}

/**
 * `spec` restyled and resized so that its drawing fills at most `box`: the plot area is scaled (same
 * factor in x and y, at most 2.5x up) until the SVG, legends and labels included, fits; when long
 * labels leave no room, a second try with shorter label limits (vega ends cut labels with an
 * ellipsis) and long y titles on two lines. Returns the spec and its SVG; throws when it still cannot fit.
 */
export async function fitVegaLite(spec0: VegaLiteSpec, box = FIGURE_BOX, { keepTitle = false }: { keepTitle?: boolean } = {}): Promise<{ spec: VegaLiteSpec; svg: string }> {
  const first = await fitOnce(spec0, box, keepTitle, false);
  if ('svg' in first) return first;
  const second = await fitOnce(spec0, box, keepTitle, true);
  if ('svg' in second) return second;
  throw new Error(`fitVegaLite: the figure is ${second.W} x ${second.H} px at its smallest and does not fit the ${box.width} x ${box.height} box; draw fewer panels or shorter labels`);
}

function textOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : isObject(v) && typeof v.text === 'string' ? v.text : undefined;
}

function figureAlt(figure: Figure): string {
  if (figure.kind === 'vega-lite') return typeof figure.spec.description === 'string' ? figure.spec.description : textOf(figure.spec.title) ?? 'figure';
  if (figure.kind === 'plotly') {
    const meta = figure.figure.layout.meta;
    return figure.alt ?? (isObject(meta) && typeof meta.description === 'string' ? meta.description : textOf(figure.figure.layout.title) ?? 'figure');
  }
  return figure.text;
}

/** A lib/viz figure as a slide figure (see the file comment). */
export async function prepareFigure(figure: Figure, box = FIGURE_BOX): Promise<SlideFigure> {
  const alt = figureAlt(figure);
  switch (figure.kind) {
    case 'vega-lite': {
      const { spec, svg } = await fitVegaLite(figure.spec, box);
      return { kind: 'vega-lite', spec, svg, alt };
    }
    case 'plotly': {
      const font = { family: FONT_FAMILY, size: TEXT, color: '#1a1a1a' };
      // log axes: plotly draws the minor (2, 5, ...) labels at 70% of the font; label the data's own
      // x values when there are few, else powers of ten (or 1-2-5 steps on a short range)
      const axis = (a: unknown, key: 'x' | 'y'): Record<string, unknown> => {
        const own = isObject(a) ? a : {};
        const out: Record<string, unknown> = { ...own, tickfont: { size: TEXT }, automargin: true };
        if (own.type === 'log') {
          const values = [...new Set(figure.figure.data.flatMap((t) => (Array.isArray(t[key]) ? (t[key] as unknown[]) : [])).filter((v): v is number => typeof v === 'number' && v > 0))].sort((p, q) => p - q);
          const ticks = key === 'x' && values.length > 0 && values.length <= 8 ? values : logTicks(values);
          if (ticks.length > 0) Object.assign(out, { tickmode: 'array', tickvals: ticks, ticktext: ticks.map(tickLabel) });
        }
        return out;
      };
      const layout: Record<string, unknown> = {
        ...figure.figure.layout,
        width: box.width,
        height: box.height,
        font,
        margin: { t: 20, r: 20, b: 20, l: 20 },
        xaxis: axis(figure.figure.layout.xaxis, 'x'),
        yaxis: axis(figure.figure.layout.yaxis, 'y'),
        legend: { font: { size: TEXT } },
        hoverlabel: { font: { size: TEXT, family: FONT_FAMILY } },
        paper_bgcolor: '#ffffff',
      };
      delete layout.title;
      // the static form: the notebooks' SVG route (plotlyToVegaLite), in the slide's style and box
      const { svg } = await fitVegaLite({ ...plotlyToVegaLite(figure.figure), description: alt }, box);
      const data = figure.figure.data.map((t) => ({ ...t, ...(t.type === 'heatmap' ? { colorbar: { tickfont: { size: TEXT } } } : {}) }));
      return { kind: 'plotly', figure: { data, layout }, svg, alt };
    }
    case 'html':
      return { kind: 'html', html: figure.html, alt };
    default:
      throw new Error(`prepareFigure: unknown figure kind '${String((figure as { kind?: unknown }).kind)}'`);
  }
}
