/**
 * Every notebook, executed headlessly in quick mode through `npm run notebooks` (nbclient + the
 * longlora-ts kernel), then checked from the executed .ipynb files themselves, independently of
 * the runner's verdict: every code cell ran and printed or displayed something, no error or stderr
 * output, every figure carries its interactive MIME type and an SVG drawn from the same spec, and
 * a title and a text alternative (./checks.ts); and each static HTML export exists and shows the
 * figures as inline, labelled SVG.
 */
import * as fs from 'fs';
import * as path from 'path';
import { vegaLiteToSvg, VEGALITE_MIME, PLOTLY_MIME, SVG_MIME, VEGALITE_SCHEMA } from '../../lib/viz';
import type { PlotlyFigure, VegaLiteSpec } from '../../lib/viz';
import { describeWithJupyter, joined, readNotebook, root, runNotebooks } from './jupyter';
import type { NbCell } from './jupyter';
import { notebookFigureProblems } from './checks';

const outDir = path.join(root, 'build', 'notebooks');
const sources = fs.readdirSync(path.join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();

describeWithJupyter('notebooks, executed headlessly (npm run notebooks, LONGLORA_QUICK=1)', () => {
  let run: ReturnType<typeof runNotebooks>;

  beforeAll(() => {
    fs.rmSync(outDir, { recursive: true, force: true });
    run = runNotebooks([], outDir, { LONGLORA_QUICK: '1' });
  }, 600000);

  it('the runner exits 0 and reports every notebook as passed, in quick mode', () => {
    if (run.status !== 0) throw new Error(`npm run notebooks failed (${run.status}):\n${run.output}`);
    expect(run.summary?.ok).toBe(true);
    expect(run.summary?.quick).toBe(true);
    expect(run.summary?.notebooks.map((n) => path.basename(n.notebook))).toEqual(sources);
  });

  describe.each(sources)('%s', (name) => {
    const cells = (): NbCell[] => readNotebook(path.join(outDir, name)).cells.filter((c) => c.cell_type === 'code');

    it('every code cell ran and has output (unless tagged no-output); no error or stderr output', () => {
      const all = cells();
      expect(all.length).toBeGreaterThan(0);
      for (const [k, c] of all.entries()) {
        const where = `code cell ${k}: ${joined(c.source).split('\n')[0]}`;
        expect([where, c.execution_count != null]).toEqual([where, true]);
        if (!(c.metadata.tags ?? []).includes('no-output')) expect([where, (c.outputs ?? []).length > 0]).toEqual([where, true]);
        const bad = (c.outputs ?? []).filter((o) => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'));
        expect([where, bad]).toEqual([where, []]);
      }
    });

    it('every figure has its interactive MIME type and an SVG of the same figure', async () => {
      for (const c of cells()) {
        for (const o of c.outputs ?? []) {
          const data = o.data ?? {};
          const svg = joined(data[SVG_MIME]);
          if (VEGALITE_MIME in data) {
            const spec = data[VEGALITE_MIME] as VegaLiteSpec;
            expect(typeof spec).toBe('object'); // a JSON object, as JupyterLab's vega renderer needs
            expect(spec.$schema).toBe(VEGALITE_SCHEMA);
            // the SVG is this spec drawn: vega renders it again to the same document
            expect(svg).toBe(await vegaLiteToSvg(spec));
          }
          if (PLOTLY_MIME in data) {
            const fig = data[PLOTLY_MIME] as PlotlyFigure;
            expect(Array.isArray(fig.data) && fig.data.length > 0).toBe(true);
            expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
            expect(svg).toContain('role-mark');
          }
        }
      }
    });

    it('every figure has a title and a text alternative (interactive JSON, SVG title/desc/aria-label, text/plain)', () => {
      expect(notebookFigureProblems(cells()).problems).toEqual([]);
    });

    it('has a static HTML export showing every figure as an inline SVG with its title and text alternative', () => {
      const html = path.join(outDir, name.replace(/\.ipynb$/, '.html'));
      expect(run.summary?.notebooks.find((n) => path.basename(n.notebook) === name)?.html).toBe(html);
      expect(fs.existsSync(html)).toBe(true);
      const text = fs.readFileSync(html, 'utf8');
      expect(text).toMatch(/^<!DOCTYPE html>/i);
      const { figures } = notebookFigureProblems(cells());
      const svgs = text.match(/<svg\b[^>]*>/g) ?? [];
      // BeautifulSoup (nbconvert's last step) reorders attributes; browsers restore viewBox's case
      expect(svgs.filter((t) => /\srole="img"/.test(t) && /\saria-label="[^"]+"/.test(t)).length).toBe(figures);
      expect((text.match(/<title>[^<]+<\/title>/g) ?? []).length).toBeGreaterThanOrEqual(figures);
      // nbconvert's default would embed the SVG as a base64 <img> without alt text
      expect(text).not.toContain('<img src="data:image/svg+xml');
      expect((text.match(/class="[^"]*\bjp-CodeCell\b/g) ?? []).length).toBe(cells().length);
    });
  });

  it('00-setup-check shows a vega-lite and a plotly figure, and its live loss curve stays one output', () => {
    const all = readNotebook(path.join(outDir, '00-setup-check.ipynb')).cells.filter((c) => c.cell_type === 'code');
    const outputs = all.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.data && VEGALITE_MIME in o.data).length).toBeGreaterThanOrEqual(2);
    expect(outputs.filter((o) => o.data && PLOTLY_MIME in o.data).length).toBeGreaterThanOrEqual(1);
    const lossCell = all.find((c) => joined(c.source).includes('ll.lossCurve('));
    expect(lossCell).toBeDefined();
    const figures = (lossCell?.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data);
    // redraws replaced the output in place (update_display_data), ending with all 40 quick-mode steps
    expect(figures).toHaveLength(1);
    const values = ((figures[0].data?.[VEGALITE_MIME] as VegaLiteSpec).data as { values: unknown[] }).values;
    expect(values).toHaveLength(40);
    const text = outputs.filter((o) => o.output_type === 'stream').map((o) => joined(o.text)).join('');
    expect(text).toMatch(/ll\.matmul matches the float64 reference/);
    expect(text).toMatch(/quick mode: true/);
  });
});
