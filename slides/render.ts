/**
 * The deck as one offline HTML page: reveal.js (with its notes plugin for the speaker view), the
 * figures interactive through vega-embed and plotly.js, every asset copied from node_modules into
 * the output folder (fonts inlined as data: URLs, since Chromium refuses file:// fonts across
 * "origins"), so the deck opens from disk with no network.
 *
 * Each figure is written twice: its static SVG (drawn in Node by lib/viz, what the PDF prints and
 * what shows before the scripts run) and its JSON spec, which the page hands to vega-embed or
 * plotly.js on load (not in reveal's `?print-pdf` mode). This file knows nothing of the library:
 * slides/prepare.ts turns lib/viz figures into `SlideFigure`s.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The slide size the deck is designed for (reveal's `width`/`height`, the PDF's page). */
export const SLIDE_WIDTH = 1280;
export const SLIDE_HEIGHT = 720;
/** The box a figure may fill inside a slide (the checker fails a slide whose content leaves the slide). */
export const FIGURE_BOX = { width: 1160, height: 430 };
/** The one font family of the deck and its figures (Atkinson Hyperlegible Next, bundled from npm), then fallbacks. */
export const FONT_FAMILY = "'Atkinson Hyperlegible Next', 'DejaVu Sans', sans-serif";
/** Its monospace sibling, for code. */
export const MONO_FAMILY = "'Atkinson Hyperlegible Mono', 'DejaVu Sans Mono', monospace";
/** The smallest text the deck allows, in px at 1280 x 720 (readable from the back of a room). */
export const MIN_FONT_PX = 20;

/** A figure ready for a slide: interactive spec plus static SVG, or an HTML fragment (tables). */
export type SlideFigure =
  | { kind: 'vega-lite'; spec: Record<string, unknown>; svg: string; alt: string }
  | { kind: 'plotly'; figure: { data: unknown[]; layout: Record<string, unknown> }; svg: string; alt: string }
  | { kind: 'html'; html: string; alt: string };

/** One slide as rendered: everything is text or a prepared figure. */
export interface RenderedSlide {
  /** Section id ('00' for the opening, '01'..'07' for the notebooks). */
  section: string;
  /** The section's name, shown small above the title. */
  sectionTitle: string;
  title: string;
  /** The one point of the slide (plain text; `code` spans in backticks). */
  point: string;
  figure?: SlideFigure;
  /** Raw HTML instead of a figure (only for test fixtures and code listings); trusted. */
  html?: string;
  /** Speaker notes (plain text; blank lines separate paragraphs). */
  notes: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Plain text with `code` spans, escaped. */
export function inlineText(s: string): string {
  return escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const FONT_FILES: Array<{ family: string; pkg: string; file: string; weight: number }> = [
  { family: 'Atkinson Hyperlegible Next', pkg: '@fontsource/atkinson-hyperlegible-next', file: 'atkinson-hyperlegible-next-latin-400-normal.woff2', weight: 400 },
  { family: 'Atkinson Hyperlegible Next', pkg: '@fontsource/atkinson-hyperlegible-next', file: 'atkinson-hyperlegible-next-latin-700-normal.woff2', weight: 700 },
  { family: 'Atkinson Hyperlegible Mono', pkg: '@fontsource/atkinson-hyperlegible-mono', file: 'atkinson-hyperlegible-mono-latin-400-normal.woff2', weight: 400 },
];

/** The scripts and styles copied from node_modules: [package-relative source, name under assets/]. */
const ASSETS: Array<[string, string]> = [
  ['reveal.js/dist/reset.css', 'reset.css'],
  ['reveal.js/dist/reveal.css', 'reveal.css'],
  ['reveal.js/dist/reveal.js', 'reveal.js'],
  ['reveal.js/plugin/notes/notes.js', 'notes.js'],
  ['vega/build/vega.min.js', 'vega.min.js'],
  ['vega-lite/build/vega-lite.min.js', 'vega-lite.min.js'],
  ['vega-embed/build/vega-embed.min.js', 'vega-embed.min.js'],
  ['plotly.js-dist-min/plotly.min.js', 'plotly.min.js'],
];

function resolvePackageFile(spec: string): string {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const rest = parts.slice(name.split('/').length).join('/');
  // by folder, not require.resolve: packages' "exports" hide the browser builds
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, rest);
    if (fs.existsSync(path.join(dir, name, 'package.json')) && fs.existsSync(file)) return file;
  }
  throw new Error(`slides: cannot find ${spec} in node_modules; run \`npm install\` (it is a devDependency)`);
}

/** Copies the deck's scripts and styles into `<outDir>/assets/`; returns the CSS of the inlined fonts. */
export function copyAssets(outDir: string): string {
  const dir = path.join(outDir, 'assets');
  fs.mkdirSync(dir, { recursive: true });
  for (const [src, name] of ASSETS) {
    const file = resolvePackageFile(src);
    fs.copyFileSync(file, path.join(dir, name));
  }
  return FONT_FILES.map(({ family, pkg, file, weight }) => {
    const data = fs.readFileSync(resolvePackageFile(`${pkg}/files/${file}`)).toString('base64');
    return `@font-face { font-family: '${family}'; font-style: normal; font-weight: ${weight}; font-display: block; src: url(data:font/woff2;base64,${data}) format('woff2'); }`;
  }).join('\n');
}

/** The deck's colours (slides/prepare.ts takes them from lib/viz's palette, so slides match figures). */
export interface DeckTheme {
  /** Body text. */
  ink: string;
  /** Titles. */
  accent: string;
  /** Section labels, progress bar, controls. */
  accent2: string;
  /** Secondary text (captions, slide number). */
  muted: string;
  /** The rule under titles. */
  rule: string;
}

/** The deck's own style: one font family, dark text, the figures' colours, 20 px minimum. */
export function deckCss(theme: DeckTheme): string {
  return `
:root { --ink: ${theme.ink}; --accent: ${theme.accent}; --accent2: ${theme.accent2}; --muted: ${theme.muted}; --rule: ${theme.rule}; }
.reveal { font-family: ${FONT_FAMILY}; color: var(--ink); font-size: 24px; }
.reveal .slides { text-align: left; }
.reveal .slides section { box-sizing: border-box; width: ${SLIDE_WIDTH}px; height: ${SLIDE_HEIGHT}px; padding: 0; overflow: hidden; }
.reveal .slides section .slide-body { box-sizing: border-box; width: ${SLIDE_WIDTH}px; height: ${SLIDE_HEIGHT}px; padding: 26px 60px 24px 60px; text-align: left; }
.reveal .slides section .section-label { font-size: 20px; color: var(--accent2); letter-spacing: 0.02em; margin: 0 0 4px 0; line-height: 1.2; }
.reveal .slides section h1, .reveal .slides section h2 { font-family: ${FONT_FAMILY}; color: var(--accent); text-transform: none; font-weight: 700; letter-spacing: 0; margin: 0 0 8px 0; }
.reveal .slides section h2 { font-size: 40px; line-height: 1.15; border-bottom: 4px solid var(--rule); padding-bottom: 6px; }
.reveal .slides section h1 { font-size: 60px; line-height: 1.1; margin-top: 60px; }
.reveal .slides section p.point { font-size: 26px; line-height: 1.3; margin: 0 0 12px 0; max-width: 1160px; }
.reveal .slides section p.sub { font-size: 24px; color: var(--muted); margin: 16px 0 0 0; }
.reveal code, .reveal pre { font-family: ${MONO_FAMILY}; font-size: 22px; }
.reveal code { color: var(--accent); }
.reveal pre { box-shadow: none; margin: 0; width: 100%; }
.reveal pre code { display: block; white-space: pre; overflow: hidden; max-height: 440px; padding: 12px 16px; background: #f3f5f8; color: var(--ink); line-height: 1.4; }
.reveal .figure { display: flex; justify-content: center; align-items: flex-start; width: 100%; max-height: ${FIGURE_BOX.height + 16}px; }
.reveal .figure svg { max-width: none; }
.reveal .figure .interactive:empty { display: none; }
.reveal .figure .interactive:not(:empty) + .static { display: none; }
.reveal .figure .vega-embed { padding-right: 0 !important; }
.reveal table.longlora-table { font-size: 24px; border-collapse: collapse; margin: 0 auto; }
.reveal .dense table.longlora-table { font-size: 20px; }
.reveal .dense table.longlora-table th, .reveal .dense table.longlora-table td { padding: 2px 10px; line-height: 1.2; }
.reveal table.longlora-table caption { font-size: 20px; color: var(--muted); caption-side: bottom; padding-top: 8px; text-align: left; }
.reveal table.longlora-table th, .reveal table.longlora-table td { padding: 4px 14px; border-bottom: 1px solid #c9d3df; line-height: 1.25; }
.reveal table.longlora-table th { color: var(--accent); border-bottom: 2px solid var(--accent); font-weight: 700; }
.reveal .slide-number-pdf { font-family: ${FONT_FAMILY}; font-size: 20px !important; color: var(--muted); }
.reveal .slide-number { font-family: ${FONT_FAMILY}; font-size: 20px; background: transparent; color: var(--muted); left: 12px; right: auto; bottom: 10px; }
.reveal .slide-number a { color: var(--muted); text-decoration: none; }
.reveal .progress { color: var(--accent2); height: 6px; }
.reveal .controls { color: var(--accent2); }
`;
}

/** The page script: embeds interactive figures (except when printing), then marks the page ready. */
function pageScript(): string {
  return `
(function () {
  var print = /print-pdf/gi.test(window.location.search);
  var figures = JSON.parse(document.getElementById('deck-figures').textContent);
  var plotlyConfig = { displayModeBar: false, responsive: false, scrollZoom: false };
  function embed(el) {
    var f = figures[el.getAttribute('data-figure')];
    var target = el.querySelector('.interactive');
    if (f.kind === 'vega-lite') {
      return vegaEmbed(target, f.spec, { renderer: 'svg', actions: false, tooltip: true }).then(function (r) {
        var svg = target.querySelector('svg');
        if (svg) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', f.alt); }
        return r;
      });
    }
    if (f.kind === 'plotly') return Plotly.newPlot(target, f.figure.data, f.figure.layout, plotlyConfig);
    return Promise.resolve();
  }
  Reveal.initialize({
    width: ${SLIDE_WIDTH}, height: ${SLIDE_HEIGHT}, margin: 0, minScale: 0.2, maxScale: 2.0,
    center: false, hash: true, slideNumber: 'c/t', transition: 'none', backgroundTransition: 'none',
    controls: true, progress: true, pdfMaxPagesPerSlide: 1, pdfSeparateFragments: false,
    plugins: [RevealNotes]
  }).then(function () {
    if (print) { document.body.setAttribute('data-deck', 'ready'); return; }
    var els = Array.prototype.slice.call(document.querySelectorAll('.figure[data-figure]'));
    return Promise.all(els.map(function (el) {
      return embed(el).catch(function (e) {
        console.error('figure ' + el.getAttribute('data-figure') + ' did not render: ' + (e && e.message ? e.message : e));
      });
    })).then(function () { Reveal.layout(); document.body.setAttribute('data-deck', 'ready'); });
  });
})();
`;
}

/** The deck page (index.html) for `slides`; assets are expected in ./assets (see `copyAssets`). */
export function renderDeck(slides: RenderedSlide[], { title, fontCss, theme }: { title: string; fontCss: string; theme: DeckTheme }): string {
  const figures: SlideFigure[] = [];
  const sections = slides.map((s, k) => {
    let body = '';
    if (s.figure) {
      const id = figures.length;
      figures.push(s.figure);
      const inner = s.figure.kind === 'html' ? s.figure.html : `<div class="interactive"></div><div class="static">${s.figure.svg}</div>`;
      const interactive = s.figure.kind === 'html' ? '' : ` data-figure="${id}"`;
      body = `<div class="figure"${interactive} role="figure" aria-label="${escapeHtml(s.figure.alt)}">${inner}</div>`;
    } else if (s.html !== undefined) {
      body = s.html;
    }
    const notes = s.notes
      .split(/\n\s*\n/)
      .map((p) => `<p>${inlineText(p.trim())}</p>`)
      .join('');
    const heading = s.section === '00' && k === 0 ? `<h1>${inlineText(s.title)}</h1>` : `<h2>${inlineText(s.title)}</h2>`;
    return [
      `<section data-section="${escapeHtml(s.section)}" data-slide="${k + 1}">`,
      '<div class="slide-body">',
      `<p class="section-label">${inlineText(s.sectionTitle)}</p>`,
      heading,
      `<p class="point">${inlineText(s.point)}</p>`,
      body,
      '</div>',
      `<aside class="notes">${notes}</aside>`,
      '</section>',
    ].join('\n');
  });
  // the interactive forms only: the static SVGs are already in the page
  const specs = figures.map((f) => (f.kind === 'vega-lite' ? { kind: f.kind, spec: f.spec, alt: f.alt } : f.kind === 'plotly' ? { kind: f.kind, figure: f.figure, alt: f.alt } : { kind: 'html' }));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="assets/reset.css">
<link rel="stylesheet" href="assets/reveal.css">
<style>
${fontCss}
${deckCss(theme)}
</style>
</head>
<body>
<div class="reveal"><div class="slides">
${sections.join('\n')}
</div></div>
<script id="deck-figures" type="application/json">${scriptJson(specs)}</script>
<script src="assets/reveal.js"></script>
<script src="assets/notes.js"></script>
<script src="assets/vega.min.js"></script>
<script src="assets/vega-lite.min.js"></script>
<script src="assets/vega-embed.min.js"></script>
<script src="assets/plotly.min.js"></script>
<script>${pageScript()}</script>
</body>
</html>
`;
}
