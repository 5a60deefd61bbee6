/**
 * Titles and text alternatives of figures.
 *
 * Every figure carries a title and a text alternative (WCAG 1.1.1): a sentence saying what kind of
 * chart it is, what it plots against what, its series and the range of its data, derived from the
 * figure's own data unless given explicitly (`alt` options, vega-lite's `description`, plotly's
 * `layout.meta.description`). The alternative travels in the interactive JSON (vega-lite
 * `description`, which vega uses as the aria-label of the view; plotly `layout.meta.description`),
 * in the SVG (`<title>`, `<desc>`, `role="img"` and `aria-label`, see ./vega.ts) and in the
 * bundle's `text/plain`.
 */
import type { PlotlyFigure, PlotlyLayout, VegaLiteSpec } from './types';

/** A number for prose: integers exact, others to 3 significant digits; exponent notation outside [1e-3, 1e6). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e');
  if (Number.isInteger(v)) return String(v); // lengths, steps, counts: exact
  return String(Number(v.toPrecision(3)));
}

/** A vega-lite title (string, lines, or `{ text }`) or plotly title (string or `{ text }`) as one string. */
export function titleString(title: unknown): string | undefined {
  if (typeof title === 'string') return title.trim() === '' ? undefined : title;
  if (Array.isArray(title)) return titleString(title.filter((t) => typeof t === 'string').join(' '));
  if (title !== null && typeof title === 'object' && 'text' in title) return titleString((title as { text?: unknown }).text);
  return undefined;
}

/** The names in `list`, at most `max`, then "and N more". */
function nameList(list: string[], max = 5): string {
  if (list.length <= max) return list.join(', ');
  return `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** "from a to b" of the finite numbers in `values`, or '' when there are none. */
function rangeText(values: unknown[]): string {
  const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (nums.length === 0) return '';
  const lo = Math.min(...nums);
  const hi = Math.max(...nums);
  return lo === hi ? `${formatNumber(lo)}` : `${formatNumber(lo)} to ${formatNumber(hi)}`;
}

const MARK_NAMES: Record<string, string> = {
  line: 'line chart',
  trail: 'line chart',
  point: 'scatter plot',
  circle: 'scatter plot',
  square: 'scatter plot',
  bar: 'bar chart',
  rect: 'heatmap',
  area: 'area chart',
  arc: 'pie chart',
  tick: 'strip plot',
  rule: 'rule chart',
  text: 'text chart',
  boxplot: 'box plot',
  errorbar: 'error-bar chart',
  errorband: 'error-band chart',
};

type Encoding = Record<string, { field?: unknown; type?: unknown; title?: unknown; aggregate?: unknown; scale?: { type?: unknown } } | undefined>;

function markType(mark: unknown): string | undefined {
  if (typeof mark === 'string') return mark;
  if (mark !== null && typeof mark === 'object' && typeof (mark as { type?: unknown }).type === 'string') return (mark as { type: string }).type;
  return undefined;
}

function channelTitle(ch: Encoding[string]): string | undefined {
  if (ch === undefined) return undefined;
  const title = titleString(ch.title);
  if (title !== undefined) return title;
  if (typeof ch.field === 'string') return typeof ch.aggregate === 'string' ? `${ch.aggregate} of ${ch.field}` : ch.field;
  return undefined;
}

function inlineValues(data: unknown): Array<Record<string, unknown>> | undefined {
  const values = (data as { values?: unknown } | undefined)?.values;
  return Array.isArray(values) ? (values as Array<Record<string, unknown>>) : undefined;
}

/**
 * A text alternative for a vega-lite spec from its marks, encodings and inline data, e.g.
 * "line chart of loss by step, 2 series (train, eval), 80 data points, loss from 0.12 to 2.3".
 */
export function describeVegaLite(spec: VegaLiteSpec): string {
  for (const key of ['concat', 'hconcat', 'vconcat']) {
    if (Array.isArray(spec[key])) return `composite figure of ${(spec[key] as unknown[]).length} views`;
  }
  if (spec.repeat !== undefined) return 'composite figure of repeated views';
  const unit = (spec.facet !== undefined && spec.spec !== null && typeof spec.spec === 'object' ? spec.spec : spec) as VegaLiteSpec;
  const layers = Array.isArray(unit.layer) ? (unit.layer as VegaLiteSpec[]) : [unit];
  const marks = [...new Set(layers.map((l) => markType(l.mark)).filter((m): m is string => m !== undefined))];
  const kinds = [...new Set(marks.map((m) => MARK_NAMES[m] ?? `${m} chart`))];
  const encoding = ({ ...(unit.encoding as Encoding | undefined), ...(layers[0].encoding as Encoding | undefined) }) as Encoding;
  const x = channelTitle(encoding.x);
  const y = channelTitle(encoding.y);
  const parts: string[] = [];
  let head = kinds.length > 0 ? kinds.join(' and ') : 'chart';
  if (x !== undefined && y !== undefined) head += ` of ${y} by ${x}`;
  else if (x !== undefined || y !== undefined) head += ` of ${x ?? y}`;
  const scales = [encoding.x?.scale?.type === 'log' ? 'x' : '', encoding.y?.scale?.type === 'log' ? 'y' : ''].filter(Boolean);
  if (scales.length > 0) head += ` (log ${scales.join(' and ')} axis)`;
  parts.push(head);
  const values = inlineValues(spec.data) ?? inlineValues(unit.data) ?? inlineValues(layers[0].data);
  const facet = spec.facet as { field?: unknown } | undefined;
  if (facet !== undefined && typeof facet.field === 'string' && values) {
    const panels = [...new Set(values.map((v) => String(v[facet.field as string])))];
    parts.push(`${panels.length} panel${panels.length === 1 ? '' : 's'} (${nameList(panels)})`);
  }
  const color = encoding.color;
  if (values && color !== undefined && typeof color.field === 'string' && color.type === 'nominal') {
    const groups = [...new Set(values.map((v) => String(v[color.field as string])))];
    const what = kinds.includes('heatmap') ? 'categories' : 'series';
    if (groups.length > 0) parts.push(`${groups.length} ${groups.length === 1 && what === 'series' ? 'series' : what} (${nameList(groups)})`);
  }
  if (values) parts.push(`${values.length} data point${values.length === 1 ? '' : 's'}`);
  if (values && encoding.y !== undefined && encoding.y.type === 'quantitative' && typeof encoding.y.field === 'string') {
    const r = rangeText(values.map((v) => v[encoding.y?.field as string]));
    if (r) parts.push(`${y ?? encoding.y.field} ${r.includes(' to ') ? `from ${r}` : r}`);
  }
  if (values && color !== undefined && color.type === 'quantitative' && typeof color.field === 'string') {
    const r = rangeText(values.map((v) => v[color.field as string]));
    if (r) parts.push(`colour = ${channelTitle(color) ?? color.field} ${r.includes(' to ') ? `from ${r}` : r}`);
  }
  return parts.join(', ');
}

function axisName(layout: PlotlyLayout, axis: 'xaxis' | 'yaxis'): string | undefined {
  return titleString(layout[axis]?.title);
}

/**
 * A text alternative for a plotly figure from its traces and layout, e.g. "line chart of GFLOP/s
 * by n (log x axis), 2 series: full (5 points, n 256 to 4096, GFLOP/s from 3.1 to 9.8), s2 (...)".
 */
export function describePlotly(figure: PlotlyFigure): string {
  const { data, layout } = figure;
  const x = axisName(layout, 'xaxis');
  const y = axisName(layout, 'yaxis');
  const kindOf = (t: PlotlyFigure['data'][number]): string => {
    const type = t.type ?? 'scatter';
    if (type === 'heatmap') return 'heatmap';
    if (type === 'bar') return 'bar chart';
    return (t.mode ?? 'lines+markers').includes('lines') ? 'line chart' : 'scatter plot';
  };
  const kinds = [...new Set(data.map(kindOf))];
  let head = kinds.join(' and ');
  if (x !== undefined && y !== undefined) head += ` of ${y} by ${x}`;
  const logs = [layout.xaxis?.type === 'log' ? 'x' : '', layout.yaxis?.type === 'log' ? 'y' : ''].filter(Boolean);
  if (logs.length > 0) head += ` (log ${logs.join(' and ')} axis)`;
  const series = data.filter((t) => (t.type ?? 'scatter') !== 'heatmap');
  const heatmaps = data.filter((t) => t.type === 'heatmap');
  const parts = [head];
  if (series.length > 0) {
    const each = series.map((t) => {
      const i = data.indexOf(t);
      const ys = t.y ?? [];
      const xs = t.x ?? ys.map((_, k) => k);
      const xr = rangeText(xs);
      const yr = rangeText(ys);
      const bits = [`${ys.length} point${ys.length === 1 ? '' : 's'}`];
      if (xr) bits.push(`${x ?? 'x'} ${xr}`);
      else if (xs.length > 0) bits.push(`${x ?? 'x'} ${nameList(xs.map(String), 4)}`);
      if (yr) bits.push(`${y ?? 'y'} ${yr.includes(' to ') ? `from ${yr}` : yr}`);
      return `${t.name ?? `trace ${i}`} (${bits.join(', ')})`;
    });
    parts.push(`${series.length} series: ${nameList(each, 6)}`);
  }
  for (const h of heatmaps) {
    const z = h.z ?? [];
    const cols = z.reduce((m, row) => Math.max(m, row.length), 0);
    const zr = rangeText(z.flat());
    parts.push(`${z.length} x ${cols} cells, ${zr.includes(' to ') ? `values from ${zr}` : `value ${zr || 'none'}`} (colour scale ${h.colorscale ?? 'Viridis'})`);
  }
  return parts.join(', ');
}

/** The text alternative stored in a plotly layout (`layout.meta.description`), if any. */
export function plotlyDescription(layout: PlotlyLayout): string | undefined {
  const meta = layout.meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const d = (meta as { description?: unknown }).description;
  return typeof d === 'string' && d.trim() !== '' ? d : undefined;
}

/** `layout` with `meta.description = alt` (a `meta` that is not an object is left alone). */
export function withPlotlyDescription(layout: PlotlyLayout, alt: string): PlotlyLayout {
  const meta = layout.meta;
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) return layout;
  return { ...layout, meta: { ...(meta as Record<string, unknown> | undefined), description: alt } };
}

/** The accessible label of a figure: "title: alternative" (either alone when the other is missing). */
export function accessibleLabel(title: string | undefined, alt: string | undefined): string {
  return [title, alt].filter((s): s is string => s !== undefined && s !== '').join(': ');
}
