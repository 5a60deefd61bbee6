/**
 * The class deck (slides/): `npm run slides` builds it from the committed results, then every slide
 * is opened in headless Chromium with the network blocked and must show no console error, missing
 * image or resource, request to the network, text under 20 px or content outside the 1280 x 720
 * slide; five representative slides are screenshotted to build/screenshots/slides/. A deliberately
 * bad deck shows that each of those checks fails when it should.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser } from 'playwright-core';
import { describeWhenAvailable } from '../helpers';
import { chromiumProblem, launchChromium, offlineContext } from '../../slides/chromium';
import { checkDeck, formatProblems } from '../../slides/check';
import type { ProblemKind } from '../../slides/check';
import { copyAssets, renderDeck } from '../../slides/render';
import type { RenderedSlide } from '../../slides/render';

const root = path.join(__dirname, '..', '..');
const out = path.join(root, 'build', 'slides-test');
const shots = path.join(root, 'build', 'screenshots', 'slides');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

interface DeckSummary {
  slides: number;
  sections: Array<{ id: string; title: string; minutes: number; slides: string[] }>;
  seconds: { total: number; pdf: number };
  bytes: { html: number; pdf: number | null };
}

function build(args: string[]): { status: number | null; output: string; seconds: number } {
  const t0 = Date.now();
  const r = spawnSync(tsx, ['scripts/build-slides.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, seconds: (Date.now() - t0) / 1000 };
}

describeWhenAvailable('slides', chromiumProblem(), 'Install Chromium (`apt-get install -y chromium`, what .ci/run does) or set LONGLORA_CHROMIUM.', 'Chromium', 'the slides test cannot run', () => {
  let browser: Browser;
  let summary: DeckSummary;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('npm run slides builds the HTML deck and its PDF: 25-35 slides, a section per notebook, within the budget', () => {
    const r = build(['--out', out]);
    if (r.status !== 0) throw new Error(`npm run slides failed (exit ${r.status}):\n${r.output}`);
    summary = JSON.parse(fs.readFileSync(path.join(out, 'deck.json'), 'utf8')) as DeckSummary;
    expect(summary.slides).toBeGreaterThanOrEqual(25);
    expect(summary.slides).toBeLessThanOrEqual(35);
    for (const id of ['01', '02', '03', '04', '05', '06', '07']) {
      const section = summary.sections.find((s) => s.id === id);
      expect(section?.slides.length ?? 0).toBeGreaterThan(0);
    }
    expect(summary.sections.reduce((a, s) => a + s.minutes, 0)).toBe(45);
    const pdf = fs.readFileSync(path.join(out, 'longlora-slides.pdf'));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)?.length).toBe(summary.slides);
    for (const asset of ['reveal.js', 'notes.js', 'vega-embed.min.js', 'plotly.min.js']) expect(fs.existsSync(path.join(out, 'assets', asset))).toBe(true);
    expect(r.seconds).toBeLessThan(60);
  });

  it('every slide renders offline with no console error, missing image, network request, text under 20 px or overflow', async () => {
    expect(summary).toBeDefined();
    // five representative slides: the title, a plotly chart, the S2-Attn masks, a results chart, a paper table
    const first = (id: string, k = 0): number => {
      let n = 0;
      for (const s of summary.sections) {
        if (s.id === id) return n + 1 + Math.min(k, s.slides.length - 1);
        n += s.slides.length;
      }
      throw new Error(`no section ${id}`);
    };
    const wanted = [
      { slide: first('00'), name: 'title' },
      { slide: first('01', 1), name: 'attention-share-plotly' },
      { slide: first('02'), name: 's2-attn-masks' },
      { slide: first('05', 2), name: 'same-budget' },
      { slide: first('07', 1), name: 'paper-table-1' },
    ];
    fs.rmSync(shots, { recursive: true, force: true });
    const check = await checkDeck(browser, path.join(out, 'index.html'), { screenshots: { dir: shots, slides: wanted } });
    expect(formatProblems(check.problems)).toBe('');
    expect(check.slides).toHaveLength(summary.slides);
    expect(check.slides.filter((s) => !(s.minFontPx >= 19.95))).toEqual([]);
    expect(check.screenshots).toHaveLength(5);
    for (const f of check.screenshots) expect(fs.statSync(f).size).toBeGreaterThan(5000);
  });

  it('the speaker view (key S) opens offline with the current slide\'s notes', async () => {
    const blocked: string[] = [];
    const context = await offlineContext(browser, (url) => blocked.push(url));
    try {
      const page = await context.newPage();
      await page.goto(`file://${path.join(out, 'index.html')}#/2`);
      await page.waitForSelector('body[data-deck="ready"]', { state: 'attached', timeout: 60000 });
      const expected = (await page.evaluate("(Reveal.getSlideNotes() || '').replace(/<[^>]+>/g, ' ').trim().slice(0, 40)")) as string;
      const [popup] = await Promise.all([context.waitForEvent('page', { timeout: 15000 }), page.keyboard.press('s')]);
      await popup.waitForFunction(`(document.querySelector('.speaker-controls-notes')?.textContent ?? '').includes(${JSON.stringify(expected)})`, undefined, { timeout: 15000 });
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses quick-mode results: the deck shows full runs only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slides-quick-'));
    try {
      for (const f of fs.readdirSync(path.join(root, 'results'))) fs.copyFileSync(path.join(root, 'results', f), path.join(dir, f));
      const ext = JSON.parse(fs.readFileSync(path.join(dir, 'context-extension.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'context-extension.json'), JSON.stringify({ ...ext, quick: true }));
      const r = build(['--results', dir, '--out', path.join(dir, 'dist'), '--no-pdf']);
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/context-extension\.json is a quick-mode run/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the checker catches each problem on a deliberately bad deck', async () => {
    const dir = path.join(root, 'build', 'slides-bad');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    copyAssets(dir);
    const slide = (title: string, html: string, notes = 'Speaker notes long enough to count as notes.'): RenderedSlide => ({ section: '01', sectionTitle: 'bad', title, point: 'A point.', html, notes });
    const slides: RenderedSlide[] = [
      slide('fine', '<p>nothing wrong here</p>'),
      slide('tiny text', '<p style="font-size: 12px">too small to read</p>'),
      slide('overflow', '<div style="width: 1500px; height: 40px; font-size: 24px">far too wide</div>'),
      slide('missing image', '<img src="assets/no-such-image.png" alt="missing">'),
      slide('network', '<img src="http://example.invalid/figure.png" alt="remote">'),
      slide('console error', '<script>console.error("deliberate error")</script><p>logs an error</p>'),
      slide('no notes', '<p>no notes below</p>', ''),
      { ...slide('figure that fails', ''), figure: { kind: 'vega-lite', spec: { mark: 'no-such-mark', data: { values: [] } }, svg: '<svg width="10" height="10"></svg>', alt: 'broken' } },
    ];
    // no fontCss: the deck's font is missing too
    fs.writeFileSync(path.join(dir, 'index.html'), renderDeck(slides, { title: 'bad deck', fontCss: '', theme: { ink: '#000000', accent: '#000000', accent2: '#000000', muted: '#000000', rule: '#000000' } }));
    const check = await checkDeck(browser, path.join(dir, 'index.html'), { readyTimeoutMs: 20000 });
    const on = (n: number): ProblemKind[] => check.problems.filter((p) => p.slide === n).map((p) => p.kind);
    const all = check.problems.map((p) => p.kind);
    expect(on(1)).toEqual([]);
    expect(on(2)).toContain('font-size');
    expect(on(3)).toContain('overflow');
    expect(on(4)).toContain('image');
    expect(all).toContain('resource');
    expect(all).toContain('network');
    expect(check.problems.some((p) => p.kind === 'network' && p.detail.includes('example.invalid'))).toBe(true);
    expect(check.problems.some((p) => p.kind === 'console' && p.detail.includes('deliberate error'))).toBe(true);
    expect(on(7)).toContain('notes');
    expect(on(8)).toContain('figure');
    expect(all).toContain('font');
  });
});
