/**
 * Ready-made figures for the notebooks: attention-mask heatmaps per head, a live loss curve, cost
 * curves and HTML tables. Each returns a `Figure` (plain JSON) for `show`; none needs a browser.
 */
import { tf } from '../backend';
import type { Tensor } from '../backend';
import { htmlFigure, plotlyFigure, vegaLiteFigure } from './figure';
import type { Figure, PlotlyTrace } from './figure';
import { LiveDisplay } from './display';
import type { DisplayWriter } from './display';
import { formatNumber } from './describe';
import { MASK_COLORS, OKABE_ITO } from './palette';

/** The most cells (heads x seq x seq) `maskHeatmap` draws; beyond that the SVG gets unwieldy. */
export const MAX_HEATMAP_CELLS = 32768;

/** Options of `maskHeatmap`. */
export interface MaskHeatmapOptions {
  /** Default `'attention mask'`, with the head count and size. */
  title?: string;
  /** Text alternative (default: the heads, the size and how many pairs each head allows). */
  alt?: string;
  /** Which heads to draw (default all). */
  heads?: number[];
  /** Facet columns (default min(heads, 4)). */
  columns?: number;
}

function maskArray(mask: boolean[][][] | number[][][] | Tensor): unknown[][][] {
  if (mask instanceof tf.Tensor) {
    if (mask.rank !== 3) throw new Error(`maskHeatmap: mask has shape [${mask.shape}]; expected [heads, seq, seq] (add a heads axis with expandDims(mask, 0))`);
    return mask.arraySync() as unknown[][][];
  }
  const heads: unknown[] = mask;
  if (!Array.isArray(heads) || !heads.every((h) => Array.isArray(h) && h.every((r) => Array.isArray(r)))) {
    throw new Error('maskHeatmap: mask must be a [heads, seq, seq] tensor or nested array (wrap a single [seq, seq] mask as [mask])');
  }
  return mask as unknown[][][];
}

/**
 * Heatmaps of a boolean attention mask `[heads, seq, seq]`, one panel per head: row = query i,
 * column = key j, dark where query i may attend to key j (true or 1), as `attentionMask` returns
 * (lib/attention/patterns.ts; the paper's Figure 2 and appendix Figure 7 draw the same thing).
 * The two colours (`MASK_COLORS`) differ in lightness, so colour-blind readers tell them apart.
 */
export function maskHeatmap(mask: boolean[][][] | number[][][] | Tensor, { title, alt, heads, columns }: MaskHeatmapOptions = {}): Figure {
  const m = maskArray(mask);
  const h = m.length;
  const n = h > 0 ? m[0].length : 0;
  if (h === 0 || n === 0) throw new Error(`maskHeatmap: mask is empty ([${h}, ${n}, ...]); expected [heads, seq, seq] with heads, seq >= 1`);
  m.forEach((head, hi) => {
    if (head.length !== n || head.some((row) => row.length !== n)) {
      throw new Error(`maskHeatmap: head ${hi} is not ${n}x${n}; every head must be a square [seq, seq] mask`);
    }
  });
  const which = heads ?? m.map((_, i) => i);
  for (const hi of which) {
    if (!Number.isInteger(hi) || hi < 0 || hi >= h) throw new Error(`maskHeatmap: heads contains ${hi}; the mask has heads 0..${h - 1}`);
  }
  if (which.length * n * n > MAX_HEATMAP_CELLS) {
    throw new Error(`maskHeatmap: ${which.length} heads x ${n}x${n} = ${which.length * n * n} cells exceed ${MAX_HEATMAP_CELLS}; pass fewer heads or a shorter sequence`);
  }
  const values: Array<{ head: string; query: number; key: number; mask: string }> = [];
  const allowed: number[] = [];
  for (const hi of which) {
    let count = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = m[hi][i][j];
        if (v !== true && v !== false && v !== 0 && v !== 1) {
          throw new Error(`maskHeatmap: mask[${hi}][${i}][${j}] = ${String(v)} is not boolean or 0/1; pass a boolean mask (true = may attend)`);
        }
        const attends = v === true || v === 1;
        if (attends) count++;
        values.push({ head: `head ${hi}`, query: i, key: j, mask: attends ? 'attends' : 'masked' });
      }
    }
    allowed.push(count);
  }
  const counts = which.map((hi, k) => `head ${hi} ${allowed[k]}`);
  const description =
    alt ??
    `heatmap of attention masks, ${which.length} head${which.length === 1 ? '' : 's'} of ${n} x ${n} (query i on the y axis, key j on the x axis); ` +
      `dark cells: query i may attend to key j; pairs allowed out of ${n * n}: ${counts.length <= 8 ? counts.join(', ') : `${counts.slice(0, 8).join(', ')} and ${counts.length - 8} more heads`}`;
  const cell = Math.max(2, Math.min(12, Math.floor(240 / n)));
  const step = Math.ceil(n / 16);
  const ticks = Array.from({ length: Math.ceil(n / step) }, (_, k) => k * step);
  const domain = Array.from({ length: n }, (_, k) => k);
  return vegaLiteFigure({
    title: title || `attention mask (${which.length} head${which.length === 1 ? '' : 's'}, ${n} x ${n})`,
    data: { values },
    facet: { field: 'head', type: 'ordinal', sort: which.map((hi) => `head ${hi}`), title: null },
    columns: columns ?? Math.min(which.length, 4),
    spec: {
      width: cell * n,
      height: cell * n,
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'key', type: 'ordinal', scale: { domain }, axis: { values: ticks, labelAngle: 0 }, title: 'key j' },
        y: { field: 'query', type: 'ordinal', scale: { domain }, axis: { values: ticks }, title: 'query i' },
        color: { field: 'mask', type: 'nominal', scale: { domain: ['attends', 'masked'], range: [MASK_COLORS.attends, MASK_COLORS.masked] }, title: null },
        tooltip: [
          { field: 'head', type: 'nominal' },
          { field: 'query', type: 'ordinal' },
          { field: 'key', type: 'ordinal' },
          { field: 'mask', type: 'nominal' },
        ],
      },
    },
  }, { alt: description });
}

/** One recorded point of a loss curve. */
export interface LossPoint {
  step: number;
  loss: number;
  series: string;
}

/** Options of `lossCurve`. */
export interface LossCurveOptions {
  /** Default `'training loss'`. */
  title?: string;
  /** Text alternative (default: each series' points, steps and first and last loss). */
  alt?: string;
  /** Log-scale y axis (default false). */
  logY?: boolean;
  /** Least time between two redraws while training (default 1000 ms); `flush` always draws. */
  minIntervalMs?: number;
  /** Where updates go (default: the tslab kernel if running in one; null: record only). */
  writer?: DisplayWriter | null;
}

const LOSS_CURVE_KEYS = ['title', 'alt', 'logY', 'minIntervalMs', 'writer'];

/**
 * A loss curve that redraws itself in place while training (one notebook output, replaced with
 * Jupyter's update_display_data at most once per `minIntervalMs`). `push` records a point;
 * `await flush()` draws the final state and reports a failed redraw.
 */
export class LossCurve {
  /** Every recorded point, in push order. */
  readonly points: LossPoint[] = [];
  private readonly display: LiveDisplay;
  private readonly options: { title: string; alt: string | undefined; logY: boolean; minIntervalMs: number };
  private drawing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  private lastDraw = -Infinity;
  private failure: Error | null = null;

  constructor(options: LossCurveOptions = {}) {
    const unknown = Object.keys(options).filter((k) => !LOSS_CURVE_KEYS.includes(k));
    if (unknown.length > 0) throw new Error(`lossCurve: unknown option(s) ${unknown.join(', ')}; known: ${LOSS_CURVE_KEYS.join(', ')}`);
    const { title = 'training loss', alt, logY = false, minIntervalMs = 1000, writer } = options;
    if (!(minIntervalMs >= 0)) throw new Error(`lossCurve: minIntervalMs = ${minIntervalMs} must be >= 0`);
    if (alt !== undefined && (typeof alt !== 'string' || alt.trim() === '')) throw new Error('lossCurve: alt must be a non-empty string');
    this.options = { title, alt, logY, minIntervalMs };
    this.display = new LiveDisplay({ writer });
  }

  /** Whether redraws reach a notebook. */
  get live(): boolean {
    return this.display.live;
  }

  /** Records `loss` at `step` for `series` (default 'train') and schedules a redraw. */
  push(step: number, loss: number, series = 'train'): void {
    if (this.failure) throw this.failure;
    if (!Number.isFinite(step)) throw new Error(`lossCurve.push: step = ${step} must be a finite number`);
    if (typeof loss !== 'number') throw new Error(`lossCurve.push: loss must be a number (use await t.data() for a tensor), got ${typeof loss}`);
    this.points.push({ step, loss, series });
    this.dirty = true;
    this.schedule();
  }

  /** The text alternative of the curve: per series, its points, steps and first and last loss. */
  describe(): string {
    if (this.options.alt !== undefined) return this.options.alt;
    const { logY } = this.options;
    const values = this.points.filter((p) => Number.isFinite(p.loss) && (!logY || p.loss > 0));
    const series = [...new Set(this.points.map((p) => p.series))];
    const head = `line chart of loss by step${logY ? ' (log y axis)' : ''}`;
    if (values.length === 0) return `${head}, no points yet`;
    const each = series.flatMap((name) => {
      const pts = values.filter((p) => p.series === name);
      if (pts.length === 0) return [];
      const first = pts[0];
      const last = pts[pts.length - 1];
      const min = pts.reduce((a, p) => (p.loss < a.loss ? p : a), first);
      return [
        `${name}: ${pts.length} point${pts.length === 1 ? '' : 's'}, steps ${formatNumber(first.step)} to ${formatNumber(last.step)}, ` +
          `loss ${formatNumber(first.loss)} to ${formatNumber(last.loss)} (lowest ${formatNumber(min.loss)} at step ${formatNumber(min.step)})`,
      ];
    });
    return `${head}, ${each.length} series; ${each.join('; ')}`;
  }

  /** The curve as a vega-lite figure (non-finite losses are left out, as vega-lite does). */
  figure(): Figure {
    const { title, logY } = this.options;
    const values = this.points.filter((p) => Number.isFinite(p.loss) && (!logY || p.loss > 0));
    const series = [...new Set(this.points.map((p) => p.series))];
    return vegaLiteFigure({
      title,
      width: 480,
      height: 260,
      data: { values },
      mark: { type: 'line', point: values.length <= 60, tooltip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: logY ? { type: 'log' } : { zero: false } },
        color: {
          field: 'series',
          type: 'nominal',
          scale: { domain: series.length > 0 ? series : ['train'], range: [...OKABE_ITO] },
          title: null,
          legend: series.length > 1 ? {} : null,
        },
      },
    }, { alt: this.describe() });
  }

  /** Draws the current state now (after any redraw in flight) and rethrows a failed redraw. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.drawing) await this.drawing;
    if (this.failure) throw this.failure;
    this.dirty = false;
    this.lastDraw = Date.now();
    await this.display.update(this.figure());
  }

  private schedule(): void {
    if (!this.display.live || this.drawing !== null || this.timer !== null) return;
    const wait = Math.max(0, this.lastDraw + this.options.minIntervalMs - Date.now());
    if (wait === 0) {
      this.draw();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.draw();
    }, wait);
    // a pending redraw must not keep a script alive
    (this.timer as { unref?: () => void }).unref?.();
  }

  private draw(): void {
    this.dirty = false;
    this.lastDraw = Date.now();
    this.drawing = this.display
      .update(this.figure())
      .catch((e: Error) => {
        this.failure = new Error(`lossCurve: redraw failed: ${e.message}`);
      })
      .finally(() => {
        this.drawing = null;
        if (this.dirty && !this.failure) this.schedule();
      });
  }
}

/** A live loss curve (see `LossCurve`). */
export function lossCurve(options: LossCurveOptions = {}): LossCurve {
  return new LossCurve(options);
}

/** Options of `costCurves`. */
export interface CostCurvesOptions {
  /** Field of each row on the x axis (e.g. 'seqLen'). */
  x: string;
  /** Field(s) on the y axis: one trace per field (e.g. ['fullMs', 's2Ms']). */
  y: string | string[];
  /** With a single y field: one trace per distinct value of this field (e.g. 'attention'). */
  series?: string;
  /** Trace names for y fields or series values (default: the field name or value). */
  names?: Record<string, string>;
  /** Default `'<yTitle> by <xTitle>'`. */
  title?: string;
  /** Text alternative (default: each trace's points and the range of x and y). */
  alt?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
}

const COST_KEYS = ['x', 'y', 'series', 'names', 'title', 'alt', 'xTitle', 'yTitle', 'logX', 'logY'];

/**
 * Cost curves (time, memory, FLOPs against sequence length) from rows such as the benchmark's
 * `attention` entries (lib/cost/bench.ts): an interactive plotly line chart, one trace per y field
 * or per `series` value, points sorted by x; rows whose y is null (a failed run) are left out.
 * Traces take the Okabe-Ito colours in order (`PLOTLY_COLORWAY`).
 */
export function costCurves(rows: Array<Record<string, unknown>>, options: CostCurvesOptions): Figure {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error('costCurves: rows must be a non-empty array of objects');
  const unknown = Object.keys(options).filter((k) => !COST_KEYS.includes(k));
  if (unknown.length > 0) throw new Error(`costCurves: unknown option(s) ${unknown.join(', ')}; known: ${COST_KEYS.join(', ')}`);
  const { x, series, names = {}, alt, logX = false, logY = false } = options;
  const ys = Array.isArray(options.y) ? options.y : [options.y];
  if (ys.length === 0) throw new Error('costCurves: y names no field; pass at least one');
  if (series !== undefined && ys.length !== 1) throw new Error(`costCurves: series = '${series}' needs exactly one y field, got ${ys.length}`);
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  for (const f of [x, ...ys, ...(series ? [series] : [])]) {
    if (!keys.has(f)) throw new Error(`costCurves: no row has field '${f}'; fields: ${[...keys].join(', ')}`);
  }
  const groups: Array<{ name: string; points: Array<[number, number]> }> = [];
  const add = (name: string, xv: unknown, yv: unknown): void => {
    if (yv === null || yv === undefined) return;
    if (typeof xv !== 'number' || typeof yv !== 'number') throw new Error(`costCurves: ${x} = ${String(xv)} / y = ${String(yv)} must be numbers`);
    let g = groups.find((c) => c.name === name);
    if (!g) groups.push((g = { name, points: [] }));
    g.points.push([xv, yv]);
  };
  for (const r of rows) {
    if (series !== undefined) add(String(r[series]), r[x], r[ys[0]]);
    else for (const f of ys) add(f, r[x], r[f]);
  }
  if (groups.length === 0) throw new Error(`costCurves: every ${ys.join('/')} value is null; nothing to draw`);
  const data: PlotlyTrace[] = groups.map((g) => {
    const pts = [...g.points].sort((a, b) => a[0] - b[0]);
    return { type: 'scatter', mode: 'lines+markers', name: names[g.name] ?? g.name, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) };
  });
  const xTitle = options.xTitle ?? x;
  const yTitle = options.yTitle ?? (ys.length === 1 ? ys[0] : 'value');
  return plotlyFigure(
    data,
    {
      title: { text: options.title || `${yTitle} by ${xTitle}` },
      xaxis: { title: { text: xTitle }, type: logX ? 'log' : 'linear' },
      yaxis: { title: { text: yTitle }, type: logY ? 'log' : 'linear' },
      width: 640,
      height: 400,
    },
    { alt },
  );
}

/** One panel of `matrixGrid`: a matrix of category names, placed by its row and column labels. */
export interface MatrixPanel {
  /** Row label of the panel in the grid (leave out everywhere for a single row of panels). */
  row?: string;
  /** Column label of the panel in the grid. */
  column: string;
  /** `cells[i][j]`: the category of matrix row i, column j (a name from `categories`). */
  cells: string[][];
}

/** Options of `matrixGrid`. */
export interface MatrixGridOptions {
  title: string;
  /** Category names and their colours, in legend order (e.g. `[['attends', MASK_COLORS.attends], ['masked', MASK_COLORS.masked]]`). */
  categories: Array<[string, string]>;
  /** Text alternative (default: the panels, their size and each panel's count per category). */
  alt?: string;
  /** Default 'key j'. */
  xTitle?: string;
  /** Default 'query i'. */
  yTitle?: string;
  /** Tick positions on both axes (default: every quarter of the size, 4 cells apart at least). */
  ticks?: number[];
  /** Width of one panel in pixels (default 150; the height follows the matrix's shape). */
  panelSize?: number;
}

const MATRIX_GRID_KEYS = ['title', 'categories', 'alt', 'xTitle', 'yTitle', 'ticks', 'panelSize'];

/**
 * A grid of categorical matrices, one panel per (row, column) label: attention patterns side by
 * side, reachability after 1, 2, 3 layers, masks of two variants. Row i of a matrix is drawn
 * top-down, column j left-right (query on y, key on x, as `maskHeatmap`); colours are given per
 * category, so that a reader tells them apart by lightness as well as hue (pass MASK_COLORS /
 * OKABE_ITO). Panels keep the order in which their labels first appear.
 */
export function matrixGrid(panels: MatrixPanel[], options: MatrixGridOptions): Figure {
  const unknown = Object.keys(options ?? {}).filter((k) => !MATRIX_GRID_KEYS.includes(k));
  if (unknown.length > 0) throw new Error(`matrixGrid: unknown option(s) ${unknown.join(', ')}; known: ${MATRIX_GRID_KEYS.join(', ')}`);
  const { title, categories, alt, xTitle = 'key j', yTitle = 'query i', panelSize = 150 } = options;
  if (typeof title !== 'string' || title.trim() === '') throw new Error('matrixGrid: title must be a non-empty string (every figure needs one)');
  if (!Array.isArray(categories) || categories.length === 0) throw new Error("matrixGrid: categories must name at least one [name, colour] pair, e.g. [['attends', '#1f4e79'], ['masked', '#e8edf3']]");
  if (!Array.isArray(panels) || panels.length === 0) throw new Error('matrixGrid: panels must be a non-empty array of { column, row?, cells }');
  if (!(panelSize > 0)) throw new Error(`matrixGrid: panelSize = ${panelSize} must be > 0`);
  const names = categories.map(([name]) => name);
  const rowsN = panels[0].cells?.length ?? 0;
  const colsN = rowsN > 0 ? panels[0].cells[0].length : 0;
  if (rowsN === 0 || colsN === 0) throw new Error('matrixGrid: panel 0 has an empty matrix; cells must be [rows][columns] with both >= 1');
  if (panels.length * rowsN * colsN > MAX_HEATMAP_CELLS) {
    throw new Error(`matrixGrid: ${panels.length} panels x ${rowsN}x${colsN} = ${panels.length * rowsN * colsN} cells exceed ${MAX_HEATMAP_CELLS}; draw fewer or smaller panels`);
  }
  const withRow = panels.some((p) => p.row !== undefined);
  const seen = new Set<string>();
  const values: Array<{ row: string; column: string; i: number; j: number; value: string }> = [];
  const counts: string[] = [];
  panels.forEach((p, k) => {
    if (withRow && p.row === undefined) throw new Error(`matrixGrid: panel ${k} has no row label but others do; give every panel a row or none`);
    const key = `${p.row ?? ''}\u0000${p.column}`;
    if (seen.has(key)) throw new Error(`matrixGrid: two panels at row '${p.row ?? ''}', column '${p.column}'; each (row, column) holds one panel`);
    seen.add(key);
    if (!Array.isArray(p.cells) || p.cells.length !== rowsN || p.cells.some((r) => !Array.isArray(r) || r.length !== colsN)) {
      throw new Error(`matrixGrid: panel ${k} is not ${rowsN}x${colsN}; every panel's cells must have the shape of the first`);
    }
    const tally = new Map(names.map((n) => [n, 0]));
    p.cells.forEach((r, i) => r.forEach((v, j) => {
      if (!tally.has(v)) throw new Error(`matrixGrid: panel ${k} cell [${i}][${j}] is '${String(v)}', not one of the categories ${names.join(', ')}`);
      tally.set(v, (tally.get(v) as number) + 1);
      values.push({ row: p.row ?? '', column: p.column, i, j, value: v });
    }));
    counts.push(`${p.row !== undefined ? `${p.row}, ` : ''}${p.column}: ${[...tally].filter(([, c]) => c > 0).map(([n, c]) => `${c} ${n}`).join(', ')}`);
  });
  const order = (pick: (p: MatrixPanel) => string | undefined): string[] => [...new Set(panels.map(pick).filter((v): v is string => v !== undefined))];
  const step = Math.max(4, Math.ceil(Math.max(rowsN, colsN) / 4));
  const ticks = options.ticks ?? Array.from({ length: Math.ceil(Math.max(rowsN, colsN) / step) }, (_, t) => t * step);
  const description =
    alt ??
    `grid of ${panels.length} categorical matrices of ${rowsN} x ${colsN} (${yTitle} on the y axis, ${xTitle} on the x axis); ` +
      `${counts.length <= 12 ? counts.join('; ') : `${counts.slice(0, 12).join('; ')} and ${counts.length - 12} more panels`}`;
  return vegaLiteFigure({
    title,
    data: { values },
    facet: withRow
      ? { row: { field: 'row', type: 'nominal', sort: order((p) => p.row), title: null }, column: { field: 'column', type: 'nominal', sort: order((p) => p.column), title: null } }
      : { column: { field: 'column', type: 'nominal', sort: order((p) => p.column), title: null } },
    spec: {
      width: panelSize,
      height: Math.round((panelSize * rowsN) / colsN),
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'j', type: 'ordinal', scale: { domain: Array.from({ length: colsN }, (_, c) => c) }, axis: { values: ticks.filter((t) => t < colsN), labelAngle: 0 }, title: xTitle },
        y: { field: 'i', type: 'ordinal', scale: { domain: Array.from({ length: rowsN }, (_, r) => r) }, axis: { values: ticks.filter((t) => t < rowsN) }, title: yTitle },
        color: { field: 'value', type: 'nominal', scale: { domain: names, range: categories.map(([, c]) => c) }, title: null, legend: { labelLimit: 400 } },
        tooltip: [
          ...(withRow ? [{ field: 'row', type: 'nominal', title: 'row' }] : []),
          { field: 'column', type: 'nominal', title: 'panel' },
          { field: 'i', type: 'ordinal', title: yTitle },
          { field: 'j', type: 'ordinal', title: xTitle },
          { field: 'value', type: 'nominal', title: 'value' },
        ],
      },
    },
  }, { alt: description });
}

/** Options of `htmlTable`. */
export interface HtmlTableOptions {
  /** Columns in order (default: every key, in order of first appearance). */
  columns?: string[];
  caption?: string;
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function cellText(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(digits)));
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/**
 * A table of `rows` as HTML (escaped; numbers right-aligned, non-integers to `digits` significant
 * digits) with a plain-text form for consoles and text exports.
 */
export function htmlTable(rows: Array<Record<string, unknown>>, { columns, caption, digits = 4 }: HtmlTableOptions = {}): Figure {
  if (!Array.isArray(rows) || rows.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
    throw new Error('htmlTable: rows must be an array of plain objects (one per row)');
  }
  if (!Number.isInteger(digits) || digits < 1 || digits > 21) throw new Error(`htmlTable: digits = ${digits} must be an integer in 1..21`);
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => cellText(r[c], digits)));
  const numeric = cols.map((c) => rows.some((r) => typeof r[c] === 'number'));
  const align = (k: number): string => (numeric[k] ? ' style="text-align:right"' : '');
  const html = [
    '<table class="longlora-table">',
    ...(caption ? [`<caption>${escapeHtml(caption)}</caption>`] : []),
    `<thead><tr>${cols.map((c, k) => `<th${align(k)}>${escapeHtml(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...cells.map((row) => `<tr>${row.map((v, k) => `<td${align(k)}>${escapeHtml(v)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
  const widths = cols.map((c, k) => Math.max(c.length, ...cells.map((row) => row[k].length)));
  const line = (vals: string[]): string => vals.map((v, k) => (numeric[k] ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join('  ').trimEnd();
  const text = [...(caption ? [caption] : []), line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
  return htmlFigure(html, text);
}
