/**
 * Opens a built deck in headless Chromium (no network) and checks every slide: no console error
 * or page error, no request to the network, no missing image or resource, every interactive figure
 * drawn, the deck's font loaded, no text smaller than `minFontPx` at 1280 x 720 (SVG text included,
 * measured as drawn), nothing outside the slide box, speaker notes on every slide. Used by
 * test/slides (on the real deck, and on a deliberately bad one so that each check is seen to fail).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { offlineContext } from './chromium';
import { MIN_FONT_PX } from './render';

export type ProblemKind = 'console' | 'network' | 'resource' | 'image' | 'figure' | 'font' | 'font-size' | 'overflow' | 'notes';

export interface SlideProblem {
  /** 1-based slide number (0: the page as a whole). */
  slide: number;
  kind: ProblemKind;
  detail: string;
}

export interface SlideInfo {
  slide: number;
  section: string;
  title: string;
  /** Smallest text on the slide, in px at 1280 x 720. */
  minFontPx: number;
}

export interface DeckCheck {
  slides: SlideInfo[];
  problems: SlideProblem[];
  /** Files written for `screenshots`. */
  screenshots: string[];
  seconds: number;
}

export interface CheckOptions {
  minFontPx?: number;
  /** Where to save screenshots, and of which slides (1-based) with a name each. */
  screenshots?: { dir: string; slides: Array<{ slide: number; name: string }> };
  /** How long to wait for the deck to say it is ready (default 60 s). */
  readyTimeoutMs?: number;
}

interface PageResult {
  section: string;
  title: string;
  minFontPx: number;
  problems: Array<[ProblemKind, string]>;
}

/**
 * Runs in the page (plain JavaScript, so that it needs neither DOM types here nor helpers of a
 * compiler there): the checks of the current slide, returning a `PageResult`.
 */
const CHECK_CURRENT_SLIDE = `(minPx) => {
  const slide = Reveal.getCurrentSlide();
  const area = document.querySelector('.reveal .slides').getBoundingClientRect();
  const scale = Reveal.getScale();
  const problems = [];
  const short = (s) => (s.length > 50 ? s.slice(0, 47) + '...' : s);
  const visible = (el) => {
    for (let e = el; e !== null && e !== slide; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden' || cs.opacity === '0') return false;
    }
    return el.getClientRects().length > 0;
  };
  const outside = (r) => r.left < area.left - 1 || r.right > area.right + 1 || r.top < area.top - 1 || r.bottom > area.bottom + 1;
  const where = (r) => '[' + [r.left - area.left, r.top - area.top, r.right - area.left, r.bottom - area.top].map(Math.round).join(', ') + ']';
  const skipped = (el) => el.closest('aside.notes, title, desc, style, script') !== null;

  for (const img of slide.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push(['image', 'image ' + img.getAttribute('src') + ' did not load']);
  }
  for (const f of slide.querySelectorAll('.figure[data-figure]')) {
    const target = f.querySelector('.interactive');
    if (target === null || target.querySelector('svg') === null) problems.push(['figure', 'interactive figure ' + f.getAttribute('data-figure') + ' was not drawn']);
  }
  const notes = slide.querySelector('aside.notes');
  if (notes === null || (notes.textContent || '').trim().length < 20) problems.push(['notes', 'no speaker notes']);

  let minFont = Infinity;
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = (node.textContent || '').trim();
    const el = node.parentElement;
    if (text === '' || el === null || skipped(el) || !visible(el)) continue;
    // the drawn size: CSS px of the element, times the SVG transform for SVG text, in slide px
    let px = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGGraphicsElement) {
      const m = el.getScreenCTM();
      if (m !== null) px *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    }
    px /= scale;
    minFont = Math.min(minFont, px);
    if (px < minPx - 0.05) problems.push(['font-size', px.toFixed(1) + ' px text "' + short(text) + '"']);
    const range = document.createRange();
    range.selectNodeContents(node);
    const rect = Array.from(range.getClientRects()).find((r) => r.width > 0 && outside(r));
    if (rect) problems.push(['overflow', 'text "' + short(text) + '" at ' + where(rect) + ' leaves the ' + Math.round(area.width) + ' x ' + Math.round(area.height) + ' slide']);
  }
  for (const el of slide.querySelectorAll('*')) {
    if (skipped(el) || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (outside(r)) {
      const cls = typeof el.className === 'string' && el.className !== '' ? '.' + el.className.split(/\\s+/).join('.') : '';
      problems.push(['overflow', '<' + el.tagName.toLowerCase() + cls + '> at ' + where(r) + ' leaves the slide']);
    }
  }
  if (slide.scrollHeight > slide.clientHeight + 1 || slide.scrollWidth > slide.clientWidth + 1) {
    problems.push(['overflow', 'content is ' + slide.scrollWidth + ' x ' + slide.scrollHeight + ', the slide ' + slide.clientWidth + ' x ' + slide.clientHeight]);
  }
  const title = slide.querySelector('h1, h2');
  return { section: slide.getAttribute('data-section') || '', title: title ? (title.textContent || '').trim() : '', minFontPx: minFont === Infinity ? 0 : minFont, problems };
}`;

/** Opens `file` (a built deck's index.html) and checks every slide (see the file comment). */
export async function checkDeck(browser: Browser, file: string, options: CheckOptions = {}): Promise<DeckCheck> {
  const t0 = Date.now();
  const minPx = options.minFontPx ?? MIN_FONT_PX;
  const problems: SlideProblem[] = [];
  let current = 0;
  const context = await offlineContext(browser, (url) => problems.push({ slide: current, kind: 'network', detail: `request to ${url}` }));
  const screenshots: string[] = [];
  try {
    // code compiled by esbuild (tsx) may name functions through a __name helper the page lacks
    await context.addInitScript('window.__name = window.__name || function (f) { return f; };');
    const page: Page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push({ slide: current, kind: 'console', detail: m.text() });
    });
    page.on('pageerror', (e) => problems.push({ slide: current, kind: 'console', detail: `uncaught: ${e.message}` }));
    page.on('requestfailed', (r) => {
      const url = r.url();
      if (url.startsWith('file:')) problems.push({ slide: current, kind: 'resource', detail: `${path.basename(decodeURIComponent(new URL(url).pathname))}: ${r.failure()?.errorText ?? 'failed'}` });
    });
    await page.goto(`file://${path.resolve(file)}`);
    try {
      await page.waitForSelector('body[data-deck="ready"]', { timeout: options.readyTimeoutMs ?? 60000, state: 'attached' });
    } catch {
      problems.push({ slide: 0, kind: 'console', detail: 'the deck never became ready (body[data-deck="ready"])' });
    }
    const fontsOk = (await page.evaluate(
      `document.fonts.ready.then(() => Array.from(document.fonts).some((f) => f.family.replace(/['"]/g, '') === 'Atkinson Hyperlegible Next' && f.status === 'loaded'))`,
    )) as boolean;
    if (!fontsOk) problems.push({ slide: 0, kind: 'font', detail: "the deck's font (Atkinson Hyperlegible Next) did not load" });
    const count = (await page.evaluate("document.querySelectorAll('.reveal .slides > section').length")) as number;
    const slides: SlideInfo[] = [];
    const wanted = new Map((options.screenshots?.slides ?? []).map((s) => [s.slide, s.name]));
    if (options.screenshots) fs.mkdirSync(options.screenshots.dir, { recursive: true });
    for (let i = 0; i < count; i++) {
      current = i + 1;
      await page.evaluate(`Reveal.slide(${i})`);
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      const r = (await page.evaluate(`(${CHECK_CURRENT_SLIDE})(${minPx})`)) as PageResult;
      slides.push({ slide: current, section: r.section, title: r.title, minFontPx: r.minFontPx });
      for (const [kind, detail] of r.problems) problems.push({ slide: current, kind, detail });
      const name = wanted.get(current);
      if (name !== undefined && options.screenshots) {
        const out = path.join(options.screenshots.dir, `${String(current).padStart(2, '0')}-${name}.png`);
        await page.screenshot({ path: out });
        screenshots.push(out);
      }
    }
    for (const s of wanted.keys()) if (s > count) problems.push({ slide: s, kind: 'overflow', detail: `asked for a screenshot of slide ${s}; the deck has ${count}` });
    return { slides, problems, screenshots, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await context.close();
  }
}

/** Problems as lines for an error message. */
export function formatProblems(problems: SlideProblem[]): string {
  return problems.map((p) => `slide ${p.slide}: ${p.kind}: ${p.detail}`).join('\n');
}
