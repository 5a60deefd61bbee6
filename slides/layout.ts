/**
 * Layout arithmetic of slide figures (no library import, so that unit tests can load it): facet
 * grids, SVG sizes, tick values readable at 20 px.
 */
import type { VegaLiteSpec } from 'longlora-ts';
// the palette module alone (constants, no imports), so that this file stays free of the library's backends
import { MASK_COLORS, OKABE_ITO } from '../lib/viz/palette';
import { MIN_FONT_PX } from './render';
import type { DeckTheme } from './render';

const TEXT = MIN_FONT_PX;

/** The deck's colours from lib/viz's palette: titles in the masks' dark blue, accents Okabe-Ito. */
export function deckTheme(): DeckTheme {
  return { ink: '#1a1a1a', accent: MASK_COLORS.attends, accent2: OKABE_ITO[0], muted: '#4d4d4d', rule: OKABE_ITO[1] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Facet columns and rows of a spec (1 x 1 for a single view), counted from its inline data. */
export function facetGrid(spec: VegaLiteSpec): { cols: number; rows: number } {
  const facet = spec.facet as Record<string, unknown> | undefined;
  if (!isObject(facet)) return { cols: 1, rows: 1 };
  const values = (isObject(spec.data) && Array.isArray(spec.data.values) ? spec.data.values : []) as Array<Record<string, unknown>>;
  const distinct = (field: unknown): number => (typeof field === 'string' ? new Set(values.map((v) => String(v[field]))).size || 1 : 1);
  if (typeof facet.field === 'string') {
    const n = distinct(facet.field);
    const cols = Math.min(typeof spec.columns === 'number' ? spec.columns : n, n);
    return { cols, rows: Math.ceil(n / cols) };
  }
  return {
    cols: isObject(facet.column) ? distinct(facet.column.field) : 1,
    rows: isObject(facet.row) ? distinct(facet.row.field) : 1,
  };
}

/** Width and height of an SVG document from its root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const open = svg.match(/^\s*<svg\b[^>]*>/);
  const w = open?.[0].match(/\swidth="([\d.]+)"/);
  const h = open?.[0].match(/\sheight="([\d.]+)"/);
  if (!w || !h) throw new Error('svgSize: the SVG has no width/height on its root element');
  return { width: Number(w[1]), height: Number(h[1]) };
}

/**
 * `spec` with the explicit tick values of its ordinal integer axes (maskHeatmap's every-other-cell
 * ticks) thinned to multiples of a power of two far enough apart for 20 px labels at plot size w x h.
 */
export function thinOrdinalAxes(spec: VegaLiteSpec, w: number, h: number): VegaLiteSpec {
  const unit = (isObject(spec.spec) ? spec.spec : spec) as Record<string, unknown>;
  const enc = unit.encoding as Record<string, Record<string, unknown>> | undefined;
  if (!isObject(enc)) return spec;
  const values = (isObject(spec.data) && Array.isArray(spec.data.values) ? spec.data.values : []) as Array<Record<string, unknown>>;
  let changed = false;
  const out: Record<string, Record<string, unknown>> = { ...enc };
  for (const [key, size, want] of [['x', w, 2.4 * TEXT], ['y', h, 1.5 * TEXT]] as const) {
    const ch = enc[key];
    const axis = isObject(ch) ? ch.axis : undefined;
    if (!isObject(ch) || ch.type !== 'ordinal' || !isObject(axis) || !Array.isArray(axis.values) || !axis.values.every((v) => Number.isInteger(v))) continue;
    const scale = ch.scale as Record<string, unknown> | undefined;
    const n = isObject(scale) && Array.isArray(scale.domain) ? scale.domain.length : new Set(values.map((v) => v[ch.field as string])).size;
    if (!(n > 0)) continue;
    const cell = size / n;
    let step = 1;
    while (step * cell < want && step < n) step *= 2;
    const kept = (axis.values as number[]).filter((v) => v % step === 0);
    if (kept.length === axis.values.length) continue;
    out[key] = { ...ch, axis: { ...axis, values: kept } };
    changed = true;
  }
  if (!changed) return spec;
  return isObject(spec.spec) ? { ...spec, spec: { ...spec.spec, encoding: out } } : { ...spec, encoding: out };
}

/** Tick values for a plotly log axis over `values`: powers of ten, else 1-2-5 steps, else 1..9 steps. */
export function logTicks(values: number[]): number[] {
  const pos = values.filter((v) => v > 0);
  if (pos.length === 0) return [];
  const lo = Math.min(...pos) / 1.001;
  const hi = Math.max(...pos) * 1.001;
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const t = Number((m * 10 ** e).toPrecision(6));
        if (t >= lo && t <= hi) ticks.push(t);
      }
    }
    if (ticks.length >= 3) return ticks;
  }
  return [];
}

/** A tick label: 100000 as 100k, 2000000 as 2M. */
export function tickLabel(v: number): string {
  if (v >= 1e6 && v % 1e6 === 0) return `${v / 1e6}M`;
  if (v >= 1e4 && v % 1e3 === 0) return `${v / 1e3}k`;
  return String(v);
}

/** Rows of the first Markdown table in `md`, keyed by its header (for results/*.md). */
export function markdownTableRows(md: string): Array<Record<string, string>> {
  const lines = md.split('\n').map((l) => l.trim());
  const cells = (l: string): string[] => l.replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  const start = lines.findIndex((l, i) => l.startsWith('|') && /^\|[\s:|-]+\|$/.test(lines[i + 1] ?? ''));
  if (start < 0) return [];
  const head = cells(lines[start]);
  const out: Array<Record<string, string>> = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    const c = cells(l);
    if (c.length !== head.length) break;
    out.push(Object.fromEntries(head.map((h, i) => [h, c[i]])));
  }
  return out;
}

/** The first sentence of `text`, at most `max` characters (cut at a clause with an ellipsis): a slide's one point. */
export function firstSentence(text: string, max = 230): string {
  const first = text.split(/(?<=[.!?])\s+(?=[A-Z(])/)[0].trim();
  if (first.length <= max) return first;
  const cut = Math.max(first.lastIndexOf('; ', max), first.lastIndexOf(', ', max));
  return `${first.slice(0, cut > max / 2 ? cut : max).trim()} …`;
}
