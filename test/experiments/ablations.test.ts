/**
 * The fine-tuning tables' runner on a tiny section: deterministic for its seeds, resumable (finished
 * rows are kept, only the missing ones run), and every table's Markdown has the paper's column, the
 * How line and no NaN; the runner refuses to mix rows of a different recipe.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready } from '../../lib/backend';
import { LlamaForCausalLM, makeConfig, presets } from '../../lib/model';
import { ABLATION_SECTIONS, ablationFigure, ablationMarkdown, ablationPlan, finetuneData, runAblation, readAblation } from '../../lib/experiments';
import type { AblationResult } from '../../lib/experiments';

const stream = Int32Array.from({ length: 30_000 }, (_, i) => 3 + ((i * 7919 + ((i * i) % 97)) % 250));

describe('runAblation (quick sections on a tiny model)', () => {
  let base: LlamaForCausalLM;
  const data = finetuneData(stream.subarray(0, 20_000), stream.subarray(20_000));
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-ablation-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    await ready();
    base = LlamaForCausalLM.create(makeConfig(presets.tiny, { maxPositionEmbeddings: 64 }), { seed: 0 });
  });
  afterAll(() => {
    base.dispose();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const run = (out: string, log?: (l: string) => void) => runAblation('table8', { base, baseDescription: 'tiny test base', data, quick: true, out, command: 'test', log });
  const numbers = (r: AblationResult) => r.rows.map((x) => [x.id, x.perplexity, x.longRange.copyPerplexity, x.longRange.controlPerplexity, x.finalLoss]);

  it('gives the same numbers for the same seeds (phases bounded by update counts)', async () => {
    const a = await run(tmp());
    const b = await run(tmp());
    expect(a.rows.map((x) => x.id)).toEqual(ablationPlan('table8', true).rows.map((x) => x.id));
    expect(numbers(b)).toEqual(numbers(a));
    expect(a.complete).toBe(true);
  });

  it('resumes: an interrupted section keeps its finished rows and runs only the rest', async () => {
    const out = tmp();
    const full = await run(out);
    // as if interrupted after the first row
    const partial = { ...readAblation(out, 'table8'), rows: full.rows.slice(0, 1), complete: false };
    fs.writeFileSync(path.join(out, 'table8.json'), JSON.stringify(partial));
    const lines: string[] = [];
    const resumed = await run(out, (l) => lines.push(l));
    expect(lines.some((l) => /resuming, 1 of 3 rows kept/.test(l))).toBe(true);
    expect(lines.filter((l) => /^table8: .*perplexity/.test(l))).toHaveLength(2);
    expect(numbers(resumed)).toEqual(numbers(full));
    expect(resumed.complete).toBe(true);
  });

  it('does not keep rows of another recipe or base', async () => {
    const out = tmp();
    await run(out);
    const lines: string[] = [];
    await runAblation('table8', { base, baseDescription: 'another base', data, quick: true, out, command: 'test', log: (l) => lines.push(l) });
    expect(lines.some((l) => /resuming/.test(l))).toBe(false);
  });

  it.each(ABLATION_SECTIONS.map((s) => [s]))('%s: rows as planned, the paper beside ours, How, no NaN, a figure', async (section) => {
    const r = await runAblation(section, { base, baseDescription: 'tiny test base', data, quick: true, out: tmp(), command: `npm run reproduce -- --quick --only ${section}` });
    expect(r.rows.map((x) => x.id)).toEqual(r.planned);
    const md = ablationMarkdown(r);
    expect(md).toMatch(/Quick smoke run of the pipeline: these numbers are not results/);
    expect(md).toMatch(/^How: tiny test base/m);
    expect(md).toMatch(/paper|Paper/);
    expect(md).not.toMatch(/NaN/);
    const paperColumn: Record<string, RegExp> = {
      extension: /\| S2-Attn \(1\/4, shift\) \| 8\.04 \| 8\.03 \| 8\.08 \|/,
      table2: /\| LoRA r=8 \+ Norm & Embed \(LoRA\+\) \| .* \| 8\.12 \|/,
      table6: /\| S2 across heads \(ours\) \| .* \| 8\.64 \/ 8\.12 \|/,
      table7: /\| G = N\/4 \(48\) \| .* \| 8\.04 \/ 7\.86 \|/,
      table8: /\| Variant 2 .* \| 8\.03 \|/,
    };
    expect(md).toMatch(paperColumn[section]);
    for (const x of r.rows) {
      expect(Number.isFinite(x.perplexity) && x.perplexity > 1).toBe(true);
      expect(Number.isFinite(x.longRange.copyPerplexity)).toBe(true);
    }
    const fig = ablationFigure(r);
    expect(fig.kind).toBe('vega-lite');
  });
});
