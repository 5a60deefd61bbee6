/**
 * Every reproduced table as one record, read from a results folder: what notebook 07 and the
 * slides show (title, the paper's table it mirrors, the Markdown with the paper's numbers beside
 * ours, the figure, the conclusion sentence), all from the files `npm run reproduce` wrote.
 */
import type { Figure } from '../viz/figure';
import { flopsTableMarkdown, flopsFigure } from './report';
import { readResultJson } from './run-record';
import { ABLATION_SECTIONS, readAblation } from './ablations';
import { ablationFigure, ablationMarkdown, extensionConclusion } from './ablation-report';
import type { AblationResult } from './ablations';
import { passkeyExtensionConclusion, passkeyExtensionFigure, passkeyExtensionMarkdown } from './passkey-extension';
import type { PasskeyExtensionResult } from './passkey-extension';
import { costConclusion, costTablesFigure, costTablesMarkdown } from './cost-tables';
import type { CostTablesResult } from './cost-tables';

/** One reproduced table. */
export interface ReproductionTable {
  /** The results file's stem: 'flops', 'extension', 'table2', 'table6', 'table7', 'table8', 'passkey', 'cost'. */
  id: string;
  title: string;
  /** The paper's table or figure, e.g. 'Table 2'. */
  paperRef: string;
  figure: Figure | null;
  /** The whole section as Markdown (ours beside the paper's, how, conclusion). */
  markdown: string;
  /** The conclusion worded from the numbers ('' when the rows it needs are missing). */
  conclusion: string;
  /** A `--quick` smoke run (not results). */
  quick: boolean;
  /** Every planned row finished. */
  complete: boolean;
}

/** The sections in the order a reader meets them. */
export const REPRODUCTION_ORDER = ['flops', 'extension', 'table2', 'table6', 'table7', 'table8', 'passkey', 'cost'] as const;

const readJson = <T>(dir: string, name: string): T | null => readResultJson<T>(dir, name, 'reproductionTables', 'rerun its section of npm run reproduce');

/** The last paragraph of a conclusion list: sentences only. */
const joinConclusion = (lines: string[]) => lines.filter((l) => l.trim() !== '').join(' ');

/**
 * The tables found in `dir` (default results/), in REPRODUCTION_ORDER. The FLOPs table is exact
 * and needs no file. Sections without a results file are left out; partial ones are included with
 * `complete: false`.
 */
export function reproductionTables(dir = 'results'): ReproductionTable[] {
  const out: ReproductionTable[] = [];
  for (const id of REPRODUCTION_ORDER) {
    if (id === 'flops') {
      out.push({ id, title: 'FLOPs by context length', paperRef: 'Table 11', figure: flopsFigure(), markdown: `## FLOPs (paper Table 11)\n\n${flopsTableMarkdown()}`, conclusion: 'The closed form matches every cell of the paper\'s Table 11: S2-Attn cuts attention FLOPs to a quarter at every length, so the saving grows with the context.', quick: false, complete: true });
    } else if ((ABLATION_SECTIONS as readonly string[]).includes(id)) {
      const r = readAblation(dir, id as AblationResult['section']);
      if (r === null) continue;
      const md = ablationMarkdown(r);
      const conclusion = id === 'extension' ? joinConclusion(extensionConclusion(r)) : lastParagraph(md);
      out.push({ id, title: r.title, paperRef: r.paperRef, figure: r.rows.length > 0 ? ablationFigure(r) : null, markdown: md, conclusion, quick: r.quick, complete: r.complete });
    } else if (id === 'passkey') {
      const r = readJson<PasskeyExtensionResult>(dir, 'passkey.json');
      if (r === null || r.recipe === undefined) continue; // absent, or the first round's from-scratch format
      out.push({ id, title: 'Passkey retrieval as context extension', paperRef: 'Figure 4', figure: r.rows.length > 0 ? passkeyExtensionFigure(r) : null, markdown: passkeyExtensionMarkdown(r), conclusion: joinConclusion(passkeyExtensionConclusion(r)), quick: r.quick, complete: r.complete });
    } else if (id === 'cost') {
      const r = readJson<CostTablesResult>(dir, 'cost.json');
      if (r === null) continue;
      out.push({ id, title: 'Training cost by context length', paperRef: 'Tables 12 and 13', figure: costTablesFigure(r), markdown: costTablesMarkdown(r), conclusion: joinConclusion(costConclusion(r)), quick: r.quick, complete: true });
    }
  }
  return out;
}

/** The last non-empty paragraph of a Markdown text (the tables end with their conclusion). */
function lastParagraph(md: string): string {
  const paragraphs = md.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p !== '');
  const last = paragraphs[paragraphs.length - 1] ?? '';
  return last.startsWith('|') || last.startsWith('How:') ? '' : last;
}
