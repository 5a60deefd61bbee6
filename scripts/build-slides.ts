/**
 * npm run slides [-- --out DIR] [--results DIR] [--no-pdf]
 *
 * Builds the class deck (slides/deck.ts) into slides/dist/ (not committed):
 *   index.html + assets/   the deck, offline: reveal.js with the speaker view (key S), figures
 *                          interactive through vega-embed and plotly.js, all from node_modules;
 *   longlora-slides.pdf    printed by Debian's Chromium (reveal's print-pdf mode: the SVGs);
 *   deck.json              slides per section, the build's times and sizes.
 * Every figure is made at build time by the library's figure functions on the committed full-run
 * results (results/); nothing needs the network.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildDeck, SECTIONS } from '../slides/deck';
import { prepareFigure } from '../slides/prepare';
import { deckTheme } from '../slides/layout';
import { copyAssets, renderDeck, SLIDE_HEIGHT, SLIDE_WIDTH } from '../slides/render';
import type { RenderedSlide } from '../slides/render';
import { launchChromium } from '../slides/chromium';

const root = path.join(__dirname, '..');

interface Args {
  out: string;
  results: string;
  pdf: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { out: path.join(root, 'slides', 'dist'), results: path.join(root, 'results'), pdf: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = path.resolve(argv[++i] ?? '');
    else if (a === '--results') args.results = path.resolve(argv[++i] ?? '');
    else if (a === '--no-pdf') args.pdf = false;
    else throw new Error(`unknown argument '${a}'; usage: npm run slides [-- --out DIR] [--results DIR] [--no-pdf]`);
  }
  return args;
}

function escapeCode(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Prints the deck to PDF with reveal's print-pdf mode (one 1280 x 720 page per slide). */
async function printPdf(indexHtml: string, pdfFile: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: SLIDE_WIDTH, height: SLIDE_HEIGHT } });
    await context.route('**/*', (route) => (/^(file|data|blob|about):/.test(route.request().url()) ? route.continue() : route.abort()));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${indexHtml}?print-pdf`);
    await page.waitForSelector('body[data-deck="ready"]', { state: 'attached', timeout: 60000 });
    await page.evaluate('document.fonts.ready.then(() => true)');
    // reveal lays the pages out after ready
    await page.waitForFunction("document.querySelectorAll('.pdf-page').length > 0", undefined, { timeout: 30000 });
    if (errors.length > 0) throw new Error(`slides: the deck reported errors while printing:\n${errors.join('\n')}`);
    await page.pdf({ path: pdfFile, width: `${SLIDE_WIDTH}px`, height: `${SLIDE_HEIGHT}px`, printBackground: true, preferCSSPageSize: true });
    await context.close();
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const deck = await buildDeck(args.results);
  const tFigures0 = Date.now();
  const rendered: RenderedSlide[] = [];
  for (const s of deck.slides) {
    const section = SECTIONS.find((x) => x.id === s.section);
    if (!section) throw new Error(`slides: slide '${s.title}' names section ${s.section}, which is not in SECTIONS`);
    let figure;
    try {
      figure = s.figure ? await prepareFigure(s.figure) : undefined;
    } catch (e) {
      if (s.fallback === undefined) throw new Error(`slides: the figure of slide '${s.title}' (section ${s.section}): ${(e as Error).message}`);
      console.log(`slides: the figure of '${s.title}' does not fit a slide (${(e as Error).message}); showing its table instead`);
      figure = await prepareFigure(s.fallback);
    }
    rendered.push({
      section: s.section,
      sectionTitle: section.id === '00' ? 'LongLoRA · Chen et al., ICLR 2024' : section.title,
      title: s.title,
      point: s.point,
      figure,
      html: s.code !== undefined ? `<pre><code>${escapeCode(s.code)}</code></pre>` : undefined,
      notes: s.notes,
    });
  }
  const figureSeconds = (Date.now() - tFigures0) / 1000;
  fs.rmSync(args.out, { recursive: true, force: true });
  fs.mkdirSync(args.out, { recursive: true });
  const fontCss = copyAssets(args.out);
  const indexHtml = path.join(args.out, 'index.html');
  fs.writeFileSync(indexHtml, renderDeck(rendered, { title: 'LongLoRA in TypeScript: a 45-minute class', fontCss, theme: deckTheme() }));
  const htmlSeconds = (Date.now() - t0) / 1000;
  const pdfFile = path.join(args.out, 'longlora-slides.pdf');
  let pdfSeconds = 0;
  if (args.pdf) {
    const tp = Date.now();
    await printPdf(indexHtml, pdfFile);
    pdfSeconds = (Date.now() - tp) / 1000;
  }
  const perSection = SECTIONS.map((s) => ({ id: s.id, title: s.title, minutes: s.minutes, slides: rendered.filter((x) => x.section === s.id).map((x) => x.title) }));
  const summary = {
    slides: rendered.length,
    sections: perSection,
    sectionSevenSource: deck.sevenSource,
    figures: rendered.filter((x) => x.figure !== undefined).length,
    seconds: { figures: figureSeconds, html: htmlSeconds, pdf: pdfSeconds, total: (Date.now() - t0) / 1000 },
    bytes: { html: fs.statSync(indexHtml).size, pdf: args.pdf ? fs.statSync(pdfFile).size : null },
    results: path.relative(root, args.results) || '.',
  };
  fs.writeFileSync(path.join(args.out, 'deck.json'), JSON.stringify(summary, null, 2) + '\n');
  for (const s of perSection) console.log(`${s.id} ${s.title.replace(/^\d+ · /, '').padEnd(36)} ${String(s.slides.length).padStart(2)} slides, ${s.minutes} min`);
  console.log(`${rendered.length} slides (${summary.figures} figures and tables; section 07 from ${deck.sevenSource})`);
  console.log(`built ${path.relative(root, indexHtml)} (${(summary.bytes.html / 1024).toFixed(0)} KiB + assets) in ${htmlSeconds.toFixed(1)} s` +
    (args.pdf ? `; ${path.relative(root, pdfFile)} (${((summary.bytes.pdf ?? 0) / 2 ** 20).toFixed(1)} MiB) in ${pdfSeconds.toFixed(1)} s` : ''));
}

main().catch((e: Error) => {
  console.error(`npm run slides: ${e.message}`);
  process.exit(1);
});
