/**
 * Checks of notebook content shared by the static test (committed notebooks) and the executed-
 * notebook test (build/notebooks): the teaching structure of notebooks 01+ and the title and text
 * alternative of every figure output. Each returns a list of problems (empty = fine), so tests can
 * show all of them at once and negative controls can assert the exact problem.
 */
import { PLOTLY_MIME, SVG_MIME, VEGALITE_MIME } from '../../lib/viz';
import type { PlotlyFigure, VegaLiteSpec } from '../../lib/viz';
import { joined } from './jupyter';
import type { NbCell, NbOutput } from './jupyter';

/** Teaching notebooks are 01 onwards; 00 is the setup check. */
export function isTeachingNotebook(name: string): boolean {
  const m = name.match(/^(\d+)-/);
  return m !== null && Number(m[1]) >= 1;
}

const CHECK_HEADING = /^#{1,6}\s*check your understanding\b/im;

/**
 * The structure every teaching notebook follows: its first cell is markdown with a `# NN · Title`
 * heading that says what the reader will learn (the word "learn" and a list of at least 2 items);
 * one of its first two code cells prints the backend (`backendInfo()`); and a "Check your
 * understanding" section is followed by at least 2 code cells (the answer key).
 */
export function structureProblems(name: string, cells: NbCell[]): string[] {
  const problems: string[] = [];
  const first = cells[0];
  if (first === undefined || first.cell_type !== 'markdown') {
    problems.push('the first cell must be markdown (title and what the reader will learn)');
  } else {
    const text = joined(first.source);
    const number = name.match(/^(\d+)-/)?.[1];
    if (!new RegExp(`^#\\s+${number ?? '\\d+'}\\s*[·:.-]\\s*\\S`, 'm').test(text)) problems.push(`the first cell must start with a title "# ${number ?? 'NN'} · ..."`);
    if (!/\blearn/i.test(text)) problems.push('the first cell must say what the reader will learn (the word "learn")');
    const items = text.split('\n').filter((l) => /^\s*([-*+]|\d+[.)])\s+\S/.test(l)).length;
    if (items < 2) problems.push(`the first cell must list what the reader will learn (at least 2 list items, found ${items})`);
  }
  const code = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === 'code');
  if (!code.slice(0, 2).some(({ c }) => /\bbackendInfo\(\)/.test(joined(c.source)))) {
    problems.push('one of the first two code cells must print the backend (ll.backendInfo())');
  }
  const heading = cells.findIndex((c) => c.cell_type === 'markdown' && CHECK_HEADING.test(joined(c.source)));
  if (heading < 0) problems.push('no "Check your understanding" section (a markdown heading)');
  else {
    const after = code.filter(({ i }) => i > heading).length;
    if (after < 2) problems.push(`the "Check your understanding" section needs at least 2 code cells after it (answers computed and asserted), found ${after}`);
  }
  return problems;
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function titleOf(title: unknown): string | undefined {
  if (nonEmpty(title)) return title;
  if (Array.isArray(title)) return titleOf(title.join(' '));
  if (title !== null && typeof title === 'object') return titleOf((title as { text?: unknown }).text);
  return undefined;
}

/** Whether an output is a figure (vega-lite or plotly). */
export function isFigure(o: NbOutput): boolean {
  return o.data !== undefined && (VEGALITE_MIME in o.data || PLOTLY_MIME in o.data);
}

/**
 * A figure output carries a title and a text alternative everywhere: in its interactive JSON
 * (vega-lite `title` + `description`, plotly `layout.title` + `layout.meta.description`), in its
 * SVG (`role="img"`, `aria-label`, `<title>`, `<desc>`) and in `text/plain`.
 */
export function figureProblems(o: NbOutput): string[] {
  const data = o.data ?? {};
  const problems: string[] = [];
  let title: string | undefined;
  let alt: string | undefined;
  if (VEGALITE_MIME in data) {
    const spec = data[VEGALITE_MIME] as VegaLiteSpec;
    title = titleOf(spec.title);
    alt = nonEmpty(spec.description) ? spec.description : undefined;
    if (title === undefined) problems.push('vega-lite figure without a title');
    if (alt === undefined) problems.push('vega-lite figure without a text alternative (description)');
  } else if (PLOTLY_MIME in data) {
    const fig = data[PLOTLY_MIME] as PlotlyFigure;
    title = titleOf(fig.layout?.title);
    const meta = fig.layout?.meta as { description?: unknown } | undefined;
    alt = meta !== null && typeof meta === 'object' && nonEmpty(meta.description) ? meta.description : undefined;
    if (title === undefined) problems.push('plotly figure without a title (layout.title)');
    if (alt === undefined) problems.push('plotly figure without a text alternative (layout.meta.description)');
  } else {
    return ['not a figure output'];
  }
  const svg = joined(data[SVG_MIME]);
  const root = svg.match(/^<svg\b[^>]*>/)?.[0];
  if (root === undefined) problems.push('no image/svg+xml beside the figure');
  else {
    if (!/\srole="img"/.test(root)) problems.push('the SVG root has no role="img"');
    const label = root.match(/\saria-label="([^"]*)"/)?.[1];
    if (!nonEmpty(label)) problems.push('the SVG root has no aria-label');
    if (!/^<svg\b[^>]*>(<title>[^<]+<\/title>)/.test(svg)) problems.push('the SVG has no <title>');
    if (!/^<svg\b[^>]*>(<title>[^<]*<\/title>)?<desc>[^<]+<\/desc>/.test(svg)) problems.push('the SVG has no <desc>');
  }
  const text = joined(data['text/plain']);
  if (alt !== undefined && !text.includes(alt)) problems.push('text/plain does not carry the text alternative');
  return problems;
}

/** Every figure output of `cells` with its problems, as "cell K: problem" lines. */
export function notebookFigureProblems(cells: NbCell[]): { figures: number; problems: string[] } {
  let figures = 0;
  const problems: string[] = [];
  cells.forEach((c, k) => {
    for (const o of c.outputs ?? []) {
      if (!isFigure(o)) continue;
      figures++;
      for (const p of figureProblems(o)) problems.push(`cell ${k} (${joined(c.source).split('\n')[0].slice(0, 60)}): ${p}`);
    }
  });
  return { figures, problems };
}
