/**
 * The deck: one section per notebook (01-07), each slide a title, one point, one figure or table
 * and speaker notes. Figures are built here, at build time, by the library's own functions (the
 * ones the notebooks call: lib/viz's maskHeatmap, costCurves, htmlTable, plotlyFigure,
 * vegaLiteFigure; lib/bench's costByLengthFigure) on the library's formulas and on the committed
 * full-run results in results/ (never quick-mode output, which `loadResults` refuses). Numbers in
 * slide text come from the same data, never typed in; the paper's numbers come from the library's
 * PAPER_* tables.
 *
 * `npm run slides` (scripts/build-slides.ts) renders it to slides/dist/.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ll from 'longlora-ts';
import type { Figure } from 'longlora-ts';
import { MASK_COLORS, OKABE_ITO } from 'longlora-ts';
import { firstSentence, markdownTableRows } from './layout';

/** A section of the class: one notebook. */
export interface Section {
  id: string;
  title: string;
  /** The notebook students run (none for the opening). */
  notebook?: string;
  /** Minutes of the 45-minute class. */
  minutes: number;
  /** What to run live during the section. */
  live: string;
}

export const SECTIONS: Section[] = [
  { id: '00', title: 'LongLoRA in TypeScript', minutes: 2, live: 'nothing: have JupyterLab open (`npm start`) with notebook 00 already run' },
  { id: '01', title: '01 · Why long context is expensive', notebook: '01-why-long-context-is-expensive.ipynb', minutes: 7, live: 'run section 4 of notebook 01 (one attention layer measured, about 20 s) while you show the FLOPs slides' },
  { id: '02', title: '02 · Shifted sparse attention', notebook: '02-shifted-sparse-attention.ipynb', minutes: 8, live: 'run notebook 02 top to bottom (under 10 s); hover the mask heatmaps, change N and G in the first cell' },
  { id: '03', title: '03 · LoRA and LoRA+', notebook: '03-lora-and-lora-plus.ipynb', minutes: 6, live: 'run section 3 of notebook 03 (the trainable-set table, instant)' },
  { id: '04', title: '04 · Position interpolation', notebook: '04-position-interpolation.ipynb', minutes: 6, live: 'run sections 1 and 3 of notebook 04 (about 30 s with the cached base)' },
  { id: '05', title: '05 · Train: extend the context', notebook: '05-train-extend-context.ipynb', minutes: 8, live: 'start notebook 05 at the beginning of the section: its live loss curve runs while you talk (about 2 min on tensorflow)' },
  { id: '06', title: '06 · Evaluate', notebook: '06-evaluate.ipynb', minutes: 5, live: 'show notebook 06 already run (its passkey part takes minutes); run the eval.py windows cell live' },
  { id: '07', title: '07 · The paper in miniature', notebook: '07-paper-tables-in-miniature.ipynb', minutes: 3, live: 'run notebook 07 (it reads results/, about 15 s); its quick Table 8 section shows the pipeline live (quick numbers are not results)' },
];

/** The section's notebook: its own, else a notebooks/NN-*.ipynb that has appeared since (07). */
export function sectionNotebook(s: Section): string | undefined {
  if (s.notebook !== undefined) return s.notebook;
  const dir = path.join(__dirname, '..', 'notebooks');
  return fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.startsWith(`${s.id}-`) && f.endsWith('.ipynb')) : undefined;
}

/** The committed results the deck reads (full runs). */
export interface Results {
  dir: string;
  extension: ContextExtensionJson;
  passkey: PasskeyView;
  bench: ll.BenchReport;
  /** The bench file's name (which backend). */
  benchFile: string;
  /** `results/flops.md` as written by `npm run reproduce`. */
  flopsMd: string;
}

interface ContextExtensionJson {
  settings: { target: number; baseContext: number; finetuneSteps: number; finetuneLr: number; loraLr: number; pretrainSteps: number; evalLengths: number[]; maxWindows: number; quick?: boolean };
  pretrain: { steps: number; seconds: number; finalLoss: number };
  rows: Array<{ model: string; perplexity: Record<string, number>; trainSeconds: number }>;
  quick?: boolean;
}

/** results/passkey.json of the first round: one model trained from scratch. */
interface PasskeyJsonV1 {
  settings: { seqLen: number; trials: number; minutes: number; quick?: boolean };
  byLength: Array<{ promptTokens: number; trials: number; accuracy: number; byDepth: Array<number | null>; beyondTrainingLength: boolean }>;
  quick?: boolean;
}

/** results/passkey.json as lib/experiments' passkey extension writes it: one row per model. */
interface PasskeyJsonV2 {
  quick: boolean;
  rows: Array<{ id: string; label: string; context: number; byLength: Array<{ tokens: number; accuracy: number; byDepth: Array<number | null>; trials: number; beyond: boolean }> }>;
}

/** Passkey results in one shape, whichever format the file has. */
export interface PasskeyView {
  /** What produced them, for the notes. */
  how: string;
  models: Array<{ label: string; context: number; byLength: Array<{ tokens: number; accuracy: number; byDepth: Array<number | null>; trials: number; beyond: boolean }> }>;
  quick: boolean;
}

/** Reads either format of results/passkey.json (see the two interfaces above). */
export function passkeyView(json: unknown, file: string): PasskeyView {
  const j = json as Partial<PasskeyJsonV1 & PasskeyJsonV2>;
  if (Array.isArray(j.rows) && j.rows.every((row) => Array.isArray(row.byLength))) {
    return { how: 'npm run reproduce: passkey retrieval as context extension', quick: j.quick === true, models: j.rows.map((row) => ({ label: row.label, context: row.context, byLength: row.byLength })) };
  }
  if (Array.isArray(j.byLength) && j.settings !== undefined) {
    const v1 = j as PasskeyJsonV1;
    return {
      how: `npm run reproduce, ${v1.settings.minutes} minutes of training on wasm`,
      quick: v1.quick === true || v1.settings.quick === true,
      models: [{ label: `passkey model (trained at ${v1.settings.seqLen})`, context: v1.settings.seqLen, byLength: v1.byLength.map((b) => ({ tokens: b.promptTokens, accuracy: b.accuracy, byDepth: b.byDepth, trials: b.trials, beyond: b.beyondTrainingLength })) }],
    };
  }
  throw new Error(`slides: ${file} has neither format the deck reads (byLength, or rows[].byLength); update passkeyView in slides/deck.ts`);
}

function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new Error(`slides: ${file} is missing; it is committed (results/), or rerun \`npm run reproduce\` / \`npm run bench\``);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Reads results/ and refuses quick-mode files (the deck shows full runs only). */
export function loadResults(dir: string): Results {
  const extension = readJson<ContextExtensionJson>(path.join(dir, 'context-extension.json'));
  const passkey = passkeyView(readJson<unknown>(path.join(dir, 'passkey.json')), path.join(dir, 'passkey.json'));
  const benchFile = ['bench-tensorflow.json', 'bench-wasm.json', 'bench.json'].find((f) => fs.existsSync(path.join(dir, f)));
  if (benchFile === undefined) throw new Error(`slides: no bench results in ${dir} (bench-tensorflow.json, bench-wasm.json or bench.json); run \`npm run bench\``);
  const bench = readJson<ll.BenchReport>(path.join(dir, benchFile));
  for (const [name, quick] of [['context-extension.json', extension.quick ?? extension.settings.quick], ['passkey.json', passkey.quick], [benchFile, bench.quick]] as const) {
    if (quick === true) throw new Error(`slides: ${path.join(dir, name)} is a quick-mode run; the deck shows full runs only: rerun without --quick`);
  }
  const flopsFile = path.join(dir, 'flops.md');
  if (!fs.existsSync(flopsFile)) throw new Error(`slides: ${flopsFile} is missing; run \`npm run reproduce -- --only flops\``);
  return { dir, extension, passkey, bench, benchFile, flopsMd: fs.readFileSync(flopsFile, 'utf8') };
}

/** A slide of the deck before rendering. */
export interface SlideSpec {
  section: string;
  title: string;
  point: string;
  figure?: Figure;
  /** A code listing instead of a figure. */
  code?: string;
  /** What to show when `figure` cannot be fitted to a slide (section 07: the table itself). */
  fallback?: Figure;
  notes: string;
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const pct = (x: number, digits = 0): string => `${(100 * x).toFixed(digits)}%`;
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Reach after 1..layers layers of the union of a pattern's heads (notebook 02, section 4). */
function reachability(kind: ll.PatternKind, n: number, g: number, layers: number): boolean[][][] {
  const m = ll.attentionMaskArray(kind, { heads: 4, seqLen: n, groupSize: g });
  const u = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => m.some((head) => head[i][j])));
  const out = [u];
  while (out.length < layers) {
    const a = out[out.length - 1];
    out.push(a.map((row) => u[0].map((_, j) => row.some((x, k) => x && u[k][j]))));
  }
  return out;
}

// ---------------------------------------------------------------- sections

function opening(r: Results): SlideSpec[] {
  const rows = SECTIONS.filter((s) => s.id !== '00').map((s) => ({ section: s.title, notebook: sectionNotebook(s) ?? 'results/*.md', minutes: s.minutes }));
  const ext = r.extension;
  return [
    {
      section: '00',
      title: 'LongLoRA, in miniature',
      point: `Extend a model's context cheaply: shifted sparse attention, LoRA+ and position interpolation, run in TypeScript on a ${fmt(ll.parameterCount(ll.presets.small) / 1e6)}M-parameter Llama that we extend from ${ext.settings.baseContext} to ${ext.settings.target} tokens.`,
      figure: ll.htmlTable(
        [
          { idea: 'S2-Attn', what: 'in training, attention inside groups of G tokens; half the heads shift their groups by G/2' },
          { idea: 'LoRA+', what: 'LoRA on q, k, v, o, plus trainable embeddings and norms' },
          { idea: 'position interpolation', what: 'RoPE positions divided by the extension factor' },
        ],
        { columns: ['idea', 'what'] },
      ),
      notes:
        'Chen et al., LongLoRA: Efficient Fine-tuning of Long-Context Large Language Models (ICLR 2024). Today: why long context is expensive, the three ideas, and what they do on a model small enough to train in a class.\n\n' +
        'Every figure in this deck is drawn by the same library functions as the notebooks, from committed full runs in results/.',
    },
    {
      section: '00',
      title: 'The plan: one section per notebook',
      point: 'Each section has a notebook you can run on a laptop; the numbers on the slides come from the committed full runs.',
      figure: ll.htmlTable(rows, { columns: ['section', 'notebook', 'minutes'] }),
      notes: 'Notebook 00 checks a machine is ready; run it before class. Sections 01-04 are formulas and small computations (seconds); 05 and 06 train and evaluate (minutes); 07 puts our numbers beside the paper\'s.',
    },
  ];
}

function section01(r: Results): SlideSpec[] {
  const llama = ll.presets.llama2_7b;
  const round1 = (x: number): number => Math.round(x / 1e11) / 10;
  const flopsRows = ll.PAPER_FLOPS.map(([n, s2, , , , , total]) => {
    const b = ll.flopsBreakdown(llama, n, { attention: s2 ? 's2' : 'full' });
    const parts = [b.attn, b.proj, b.ffn, b.others].map(round1);
    return { N: n, attention: s2 ? 'S2-Attn' : 'full', Attn: parts[0], Proj: parts[1], FFN: parts[2], Others: parts[3], 'Total (ours)': Math.round(10 * parts.reduce((a, c) => a + c, 0)) / 10, 'Total (paper)': total };
  });
  const matches = flopsRows.every((row) => Math.abs(row['Total (ours)'] - row['Total (paper)']) < 0.05);
  const share = (n: number, attention: 'full' | 's2'): number => {
    const b = ll.flopsBreakdown(llama, n, { attention });
    return b.attn / b.total;
  };
  const [nShort, nLong] = [ll.PAPER_FLOPS[0][0], ll.PAPER_FLOPS[ll.PAPER_FLOPS.length - 1][0]];
  const lengths: number[] = [];
  for (let k = 10; k <= 17; k++) lengths.push(2 ** k, ...(k < 17 ? [1.5 * 2 ** k] : []));
  const paperShares = ll.PAPER_FLOPS.map(([n, s2, attn, , , , total]) => ({ n, s2, share: (100 * attn) / total }));
  const shareFig = ll.plotlyFigure(
    [
      { type: 'scatter', mode: 'lines', name: 'full attention', x: lengths, y: lengths.map((n) => 100 * share(n, 'full')), line: { color: OKABE_ITO[0] } },
      { type: 'scatter', mode: 'lines', name: 'S2-Attn', x: lengths, y: lengths.map((n) => 100 * share(n, 's2')), line: { color: OKABE_ITO[1] } },
      { type: 'scatter', mode: 'markers', name: 'paper: full', x: paperShares.filter((p) => !p.s2).map((p) => p.n), y: paperShares.filter((p) => !p.s2).map((p) => p.share), marker: { color: OKABE_ITO[5], size: 12 } },
      { type: 'scatter', mode: 'markers', name: 'paper: S2-Attn', x: paperShares.filter((p) => p.s2).map((p) => p.n), y: paperShares.filter((p) => p.s2).map((p) => p.share), marker: { color: OKABE_ITO[3], size: 12 } },
    ],
    { title: 'Attention share of Llama-2 7B forward FLOPs', xaxis: { title: 'sequence length N (tokens)', type: 'log' }, yaxis: { title: 'attention share (%)' } },
  );
  const small = ll.presets.small;
  const memRows = [256, 512, 1024, 2048, 4096].map((n) => {
    const full = ll.trainingMemory(small, n, { attention: 'full' });
    const s2 = ll.trainingMemory(small, n, { attention: 's2' });
    return { N: n, 'full: total': full.total / MiB, 'full: scores': full.attentionScores / MiB, 'S2: total': s2.total / MiB, 'S2: scores': s2.attentionScores / MiB };
  });
  const last = memRows[memRows.length - 1];
  const bench = r.bench;
  const att = bench.attention.filter((a) => a.fullMs !== null && a.s2Ms !== null);
  const top = att[att.length - 1];
  const maxLen = bench.maxTrainableSeqLen;
  if (maxLen === null) throw new Error(`slides: ${r.benchFile} has no maxTrainableSeqLen (a bench run without the longest-length probe); rerun \`npm run bench\``);
  return [
    {
      section: '01',
      title: 'Where a forward pass spends its FLOPs',
      point: `Llama-2 7B, TFLOPs per sequence from \`flopsBreakdown\`: attention is the only part that grows as N²; ${matches ? 'every total equals the paper\'s Table 11' : 'compare with the paper\'s Table 11'}.`,
      figure: ll.htmlTable(flopsRows, { digits: 6 }),
      notes:
        'Proj = 8 N d² L, FFN = 6 N d f L, Others ≈ 2 N d V: linear in N. Attn = 4 N² d L for full attention and N² d L with S2-Attn (G = N/4): quadratic.\n\n' +
        'Notebook 01 section 1 rebuilds this table and checks every cell against the paper. Ask: which column grows 4x when N doubles?',
    },
    {
      section: '01',
      title: "Attention's share grows with N",
      point: `Full attention is ${pct(share(nShort, 'full'), 1)} of the FLOPs at ${nShort} tokens and ${pct(share(nLong, 'full'), 1)} at ${nLong}; S2-Attn keeps it at ${pct(share(nLong, 's2'), 1)}.`,
      figure: shareFig,
      notes: 'The share is N / (N + N½) with N½ = c / (4 d L), c the FLOPs per token outside attention. S2-Attn divides the quadratic term by four, so its curve is the same shape moved right by 4x. The paper\'s eight points lie on the lines. Hover to read values; drag to zoom, double-click to reset.',
    },
    {
      section: '01',
      title: 'Memory: the score matrix',
      point: `Predicted peak memory of a presets.small training step (\`trainingMemory\`): at N = ${last.N} the scores are ${pct(last['full: scores'] / last['full: total'])} of a full-attention step.`,
      figure: ll.costCurves(memRows, { x: 'N', y: ['full: total', 'full: scores', 'S2: total', 'S2: scores'], xTitle: 'sequence length N (tokens)', yTitle: 'MiB', logX: true, logY: true }),
      notes: 'Training keeps the attention probabilities of every head to compute gradients: one N×N matrix per head and layer. They grow 4x per doubling of N, everything else 2x. Flash-Attention recomputes them instead, which turns S2-Attn\'s gain into time rather than memory (paper Table 12).',
    },
    {
      section: '01',
      title: 'Measured: one attention layer, forward and backward',
      point: `On ${bench.backend} (${bench.threads} threads), at N = ${top.seqLen} S2-Attn takes ${int(top.s2Ms as number)} ms against ${int(top.fullMs as number)} ms for full attention: ${fmt((top.fullMs as number) / (top.s2Ms as number))}x faster.`,
      figure: ll.costCurves(att as unknown as Array<Record<string, unknown>>, { x: 'seqLen', y: ['fullMs', 's2Ms'], names: { fullMs: 'full attention', s2Ms: 'S2-Attn (G = N/4)' }, xTitle: 'sequence length N (tokens)', yTitle: 'ms (forward + backward)', logX: true, logY: true }),
      notes: `From ${r.benchFile} (\`npm run bench\`, full run of ${bench.date.slice(0, 10)}). The gap grows with N because S2-Attn computes N×G scores instead of N×N. Notebook 01 section 4 measures the same on the students' machines: their numbers will differ, the trend will not.`,
    },
    {
      section: '01',
      title: 'The longest trainable length',
      point: `Within ${fmt(maxLen.budgetBytes / GiB, 0)} GiB of tensor memory a presets.small step trains ${int(maxLen.full)} tokens with full attention and ${int(maxLen.s2)} with S2-Attn (${fmt(maxLen.s2 / maxLen.full, 2)}x).`,
      figure: ll.vegaLiteFigure(ll.costByLengthFigure(bench)),
      notes: 'Left: seconds per training step; right: peak memory, measured (solid) and predicted by the memory model (dashed). What a user feels is the limit: how long a sequence fits in one step. That is the paper\'s Figure 1 question, on a laptop.',
    },
  ];
}

function section02(): SlideSpec[] {
  const [N1, G1, H1] = [32, 8, 4];
  const s2 = ll.attentionMaskArray('s2-offset', { heads: H1, seqLen: N1, groupSize: G1 });
  // notebook 02 section 4: reach after 1, 2, 3 layers of the union of the heads' masks
  const [N4, G4] = [32, 8];
  const flowKinds: Array<[ll.PatternKind, string]> = [['short', 'no shift (short attention)'], ['s2-offset', 'S2-Attn, offset'], ['s2-roll', 'S2-Attn, roll']];
  const reach = new Map(flowKinds.map(([k]) => [k, reachability(k, N4, G4, 3)]));
  const flowPanels: ll.MatrixPanel[] = flowKinds.flatMap(([kind, label]) => reach.get(kind)!.map((r, l) => ({
    row: label,
    column: `${l + 1} layer${l ? 's' : ''}`,
    cells: r.map((row, i) => row.map((x, j) => (!x ? 'does not reach' : j <= i ? 'reaches (past)' : 'reaches from the future'))),
  })));
  const lastRow = reach.get('s2-offset')!.map((m) => m[N4 - 1].indexOf(true));
  // the roll's wrap-around in one shifted head, beside the offset form
  const [N2, G2, H2] = [16, 8, 4];
  const variants: Array<[ll.PatternKind, string]> = [['s2-offset', "'offset' (flash path)"], ['s2-roll', "'roll' (Algorithm 1)"]];
  const leakPanels: ll.MatrixPanel[] = variants.map(([kind, label]) => ({
    column: label,
    cells: ll.attentionMaskArray(kind, { heads: H2, seqLen: N2, groupSize: G2 })[H2 - 1].map((row, i) => row.map((x, j) => (!x ? 'masked' : j > i ? 'attends to the future' : 'attends'))),
  }));
  const future = leakPanels[1].cells[0].filter((c) => c === 'attends to the future').length;
  // notebook 02 section 6: the patterns of the paper's ablation
  const [N6, G6, H6] = [16, 4, 2];
  const kinds: Array<[ll.PatternKind, string]> = [['full', 'full'], ['short', 'short (only P1)'], ['s2-offset', 'S2-Attn'], ['dilated', 'dilated'], ['block-sparse', 'block sparse'], ['stride-sparse', 'stride sparse']];
  const patternPanels: ll.MatrixPanel[] = [];
  for (const [kind, label] of kinds) {
    const m = ll.attentionMaskArray(kind, { heads: H6, seqLen: N6, groupSize: G6, ...(kind === 'stride-sparse' ? { stride: Math.sqrt(N6) } : {}) });
    for (const [h, half] of [[0, 'heads < H/2'], [H6 / 2, 'heads ≥ H/2']] as Array<[number, string]>) patternPanels.push({ row: half, column: label, cells: m[h].map((row) => row.map((x) => (x ? 'attends' : 'masked'))) });
  }
  return [
    {
      section: '02',
      title: 'Groups, and half the heads shifted by G/2',
      point: `S2-Attn with N = ${N1}, G = ${G1}: heads 0-${H1 / 2 - 1} attend inside groups of ${G1}; heads ${H1 / 2}-${H1 - 1} inside the same groups shifted by ${G1 / 2}, so information crosses group borders.`,
      figure: ll.maskHeatmap(s2, { title: `S2-Attn mask per head (offset form, N = ${N1}, G = ${G1})` }),
      notes: 'Pattern 1 (h < H/2): j ≤ i and ⌊i/G⌋ = ⌊j/G⌋. Pattern 2: the same with i + G/2 and j + G/2, so its segments are [0, G/2), [G/2, 3G/2), …, [N − G/2, N). Each head computes about N×G scores instead of N²/2.\n\n`ll.attentionMask(kind, { heads, seqLen, groupSize })` builds these masks; the heatmap is `ll.maskHeatmap`, as in notebook 02.',
    },
    {
      section: '02',
      title: 'How information crosses groups, layer by layer',
      point: `Without the shift a token never hears from outside its group; with it, token ${N4 - 1} hears from token ${lastRow.join(', ')} onwards after ${lastRow.map((_, l) => l + 1).join(', ')} layers; the roll also leaks from the future.`,
      figure: ll.matrixGrid(flowPanels, {
        title: `Which key positions can reach which queries after 1, 2, 3 layers (N = ${N4}, G = ${G4}, union over heads)`,
        categories: [['reaches (past)', OKABE_ITO[0]], ['reaches from the future', OKABE_ITO[3]], ['does not reach', MASK_COLORS.masked]],
        xTitle: 'key j', yTitle: 'query i', ticks: [0, 8, 16, 24], panelSize: 150,
      }),
      notes: 'One layer moves information from key j to query i if some head lets i see j: the union U of the heads\' masks. After L layers the reach is U^L (boolean matrix product). The shifted heads bridge neighbouring groups, so the horizon moves back G/2 per layer: a 32-layer Llama covers the whole sequence. The same figure as notebook 02 section 4 (`ll.matrixGrid`).',
    },
    {
      section: '02',
      title: "'roll' wraps around: the leak",
      point: `In the paper's Algorithm 1 (a roll by −G/2), query 0 of a shifted head also sees the last ${future} tokens: the future. The official flash path ('offset') does not wrap.`,
      figure: ll.matrixGrid(leakPanels, {
        title: `Shifted head ${H2 - 1}, N = ${N2}, G = ${G2}`,
        categories: [['attends', MASK_COLORS.attends], ['attends to the future', OKABE_ITO[3]], ['masked', MASK_COLORS.masked]],
        ticks: [0, 4, 8, 12], panelSize: 220,
      }),
      notes: 'The paper says it plainly: the first and last G/2 tokens belong to the same group. Training with it teaches a little on the future; we keep both variants and the tests show the leak. Notebook 02 section 5 changes the last token\'s value and shows which outputs move.',
    },
    {
      section: '02',
      title: 'The patterns of the ablation (paper Table 6)',
      point: 'Is the shift special? The paper trains with each of these patterns; only S2-Attn keeps its perplexity both with its own pattern and with full attention at test time.',
      figure: ll.matrixGrid(patternPanels, {
        title: `Attention patterns of the paper's ablation (Table 6), N = ${N6}, G = ${G6}, stride ${Math.sqrt(N6)}`,
        categories: [['attends', MASK_COLORS.attends], ['masked', MASK_COLORS.masked]],
        ticks: [0, 4, 8, 12], panelSize: 112,
      }),
      notes: 'Dilated attention skips every other key in half the heads; block sparse attends to the previous block; stride sparse to every √N-th key. All are causal and of similar cost; notebook 02 section 6 (the same `ll.matrixGrid` figure) counts the scores each keeps and lists the paper\'s Table 6 perplexities.',
    },
  ];
}

function section03(): SlideSpec[] {
  const d = ll.presets.llama2_7b.hiddenSize;
  const ranks = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  const rank = ll.DEFAULT_LORA_CONFIG.r;
  const r8 = rank * 2 * d;
  const countRows: Array<Record<string, unknown>> = [];
  const base7 = ll.parameterCount(ll.presets.llama2_7b);
  for (const set of ll.TRAINABLE_SETS) {
    const c = ll.trainableParameterCounts(ll.presets.llama2_7b, set);
    countRows.push({ 'trainable set': set, trainable: c.trainable, 'share of 7B': `${((100 * c.trainable) / base7).toFixed(2)}%`, 'AdamW moments (GB)': (8 * c.trainable) / 1e9 });
  }
  const shareRows: Array<Record<string, unknown>> = [];
  for (const [name, config] of [['Llama-2 7B', ll.presets.llama2_7b], ['presets.small', ll.presets.small]] as const) {
    const c = ll.trainableParameterCounts(config, 'lora+norm+embed');
    const base = ll.parameterCount(config);
    for (const [part, n] of [['LoRA (q, k, v, o)', c.lora], ['embedding', c.embed], ['norms', c.norm]] as const) shareRows.push({ model: name, part, percent: (100 * n) / base });
  }
  const c7 = ll.trainableParameterCounts(ll.presets.llama2_7b, 'lora+norm+embed');
  return [
    {
      section: '03',
      title: 'LoRA: a low-rank update',
      point: `LoRA learns ΔW = (α/r)·B·A with r ≪ d: at r = ${rank} one ${d} x ${d} projection of Llama-2 7B trains ${int(r8)} weights instead of ${int(d * d)} (${pct(r8 / (d * d), 2)}).`,
      figure: ll.plotlyFigure(
        [
          { type: 'scatter', name: 'LoRA', x: ranks, y: ranks.map((r) => r * 2 * d), line: { color: OKABE_ITO[0] } },
          { type: 'scatter', name: 'full', x: ranks, y: ranks.map(() => d * d), mode: 'lines', line: { color: OKABE_ITO[3], dash: 'dash' } },
        ],
        { title: `Trainable weights of one ${d} x ${d} projection`, xaxis: { title: 'rank r', type: 'log' }, yaxis: { title: 'weights', type: 'log' } },
      ),
      notes: 'W stays frozen; A (r × d_in) starts random, B (d_out × r) starts at zero, so training starts from the pre-trained function exactly. Notebook 03 section 1 shows the first step\'s gradients: dL/dA = 0, dL/dB ≠ 0.',
    },
    {
      section: '03',
      title: 'Trainable sets and what they cost',
      point: `LoRA+ = LoRA on q, k, v, o plus trainable embeddings and norms: ${int(c7.trainable / 1e6)}M of Llama-2 7B's ${fmt(base7 / 1e9, 2)}B weights.`,
      figure: ll.htmlTable(countRows, { digits: 3 }),
      notes: 'The official fine-tune.py marks every parameter whose name contains "embed" or "norm" trainable (--trainable_params "embed,norm"). AdamW keeps two float32 moments per trainable weight: that is where full fine-tuning\'s memory goes.',
    },
    {
      section: '03',
      title: 'What LoRA+ trains',
      point: `In Llama-2 7B the embedding is ${pct(c7.embed / c7.trainable)} of what LoRA+ trains; the paper (Table 2) shows plain LoRA does not close the gap to full fine-tuning at long context, LoRA+ does.`,
      figure: ll.vegaLiteFigure({
        title: "What LoRA+ trains, as a share of the base model's weights",
        data: { values: shareRows },
        mark: 'bar',
        width: 560, height: 130,
        encoding: {
          y: { field: 'model', type: 'nominal', title: null },
          x: { field: 'percent', type: 'quantitative', title: "% of the base model's weights", stack: 'zero' },
          color: { field: 'part', type: 'nominal', title: 'trained part', scale: { domain: ['LoRA (q, k, v, o)', 'embedding', 'norms'], range: [OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]] } },
          tooltip: [{ field: 'model' }, { field: 'part' }, { field: 'percent', type: 'quantitative', format: '.4f' }],
        },
      }),
      notes: 'Why embeddings and norms? At long context the model must re-learn how positions look after interpolation; the paper finds the norms and the embedding are the cheap parameters that matter (Table 2: PPL 11.44 with LoRA vs 8.12 with LoRA+ at 32k, full fine-tuning 8.08). Here `lora+norm+embed` is the paper\'s LoRA+, not the LoRA+ optimiser of Hayou et al.',
    },
  ];
}

async function section04(r: Results): Promise<SlideSpec[]> {
  const config = ll.presets.small;
  const context = config.maxPositionEmbeddings;
  const rope = ll.ropeSettings(config);
  const D = rope.headDim;
  const base = ll.ropeInverseFrequencies(rope);
  const theta = Array.from(base.invFreq);
  const step = 16;
  const positions = Array.from({ length: (4 * context) / step }, (_, k) => step * k);
  const table = ll.ropeTableValues(base, positions);
  const heatRows = positions.flatMap((m, p) => theta.map((_, i) => ({ m, mEnd: m + step, pair: i, cos: table.cos[p * D + i] })));
  const turns = theta.filter((t) => (2 * Math.PI) / t <= context).length;
  const ext = r.extension;
  const baseRow = ext.rows[0];
  const piRow = ext.rows[1];
  const lengths = ext.settings.evalLengths;
  const extrapolation = [baseRow, piRow].flatMap((row) => lengths.map((n) => ({ model: row.model, length: n, perplexity: row.perplexity[String(n)] })));
  const target = 4 * context;
  const model = ll.LlamaForCausalLM.create(config, { seed: 0 });
  const methods: ll.ContextExtensionMethod[] = ['linear', 'ntk', 'yarn'];
  const label: Record<string, string> = { linear: 'linear (PI)', ntk: 'dynamic NTK', yarn: 'YaRN' };
  const ratioRows: Array<Record<string, unknown>> = [];
  for (const m of methods) {
    const extended = ll.extendContext(model, target, m);
    const f = ll.ropeInverseFrequencies(ll.ropeSettings(extended.config), target);
    f.invFreq.forEach((t, i) => ratioRows.push({ method: label[m], pair: i, ratio: t / theta[i] }));
    if (extended !== model) extended.dispose();
  }
  model.dispose();
  const llamaContext = ll.presets.llama2_7b.maxPositionEmbeddings;
  const factorRows = [8192, 16384, 32768, 65536, 100000].map((t) => {
    const factor = Math.ceil(t / llamaContext);
    return { 'Llama-2 target': t, [`factor = ceil(target / ${llamaContext})`]: factor, 'context accepted': ll.effectiveContext({ maxPositionEmbeddings: llamaContext, ropeScaling: { type: 'linear', factor } }) };
  });
  return [
    {
      section: '04',
      title: 'RoPE: every pair of dimensions turns with position',
      point: `Pair i turns by m·θᵢ at position m: in presets.small ${turns} of ${D / 2} pairs complete a turn within its ${context}-token context; the slow ones meet new angles beyond it.`,
      figure: ll.vegaLiteFigure({
        title: 'cos(m θᵢ) by position and dimension pair (presets.small)',
        width: 560, height: 260,
        layer: [
          { data: { values: heatRows }, mark: 'rect', encoding: { x: { field: 'm', type: 'quantitative', title: 'position m', scale: { domain: [0, 4 * context], nice: false } }, x2: { field: 'mEnd' }, y: { field: 'pair', type: 'ordinal', title: 'pair i', sort: 'descending', axis: { values: [0, 4, 8, 12] } }, color: { field: 'cos', type: 'quantitative', title: 'cos', scale: { scheme: 'viridis', domain: [-1, 1] } } } },
          { data: { values: [{ m: context }] }, mark: { type: 'rule', color: 'white', strokeDash: [8, 5], strokeWidth: 3 }, encoding: { x: { field: 'm', type: 'quantitative' } } },
        ],
      }),
      notes: 'θᵢ = base^(−2i/D). Queries and keys are rotated pair by pair, so a score depends only on the distance m − n. The dashed line is the trained context: right of it the slow pairs (top rows) reach angles the model never saw in training.',
    },
    {
      section: '04',
      title: 'Why extrapolation fails, and interpolation alone too',
      point: `Our base (context ${context}) read at ${lengths[lengths.length - 1]} tokens: perplexity ${fmt(baseRow.perplexity[String(lengths[lengths.length - 1])])} against ${fmt(baseRow.perplexity[String(context)])} at ${context}; interpolated without training: ${fmt(piRow.perplexity[String(lengths[lengths.length - 1])])}.`,
      figure: ll.vegaLiteFigure({
        title: 'Held-out perplexity by evaluation length, no fine-tuning',
        data: { values: extrapolation },
        mark: { type: 'line', point: { size: 120 } },
        width: 560, height: 280,
        encoding: {
          x: { field: 'length', type: 'quantitative', title: 'evaluation length (tokens)', scale: { type: 'log', base: 2 }, axis: { values: lengths } },
          y: { field: 'perplexity', type: 'quantitative', title: 'perplexity (Moby Dick)', scale: { zero: false } },
          color: { field: 'model', type: 'nominal', title: null, scale: { range: [OKABE_ITO[0], OKABE_ITO[3]] }, legend: { labelLimit: 360 } },
          tooltip: [{ field: 'model' }, { field: 'length' }, { field: 'perplexity', type: 'quantitative', format: '.2f' }],
        },
      }),
      notes: `From results/context-extension.json (npm run reproduce). Extrapolation degrades beyond the trained context; position interpolation squeezes ${lengths[lengths.length - 1]} positions into the trained range, which the model must get used to: that is what the fine-tuning of section 05 is for (paper §3, Chen et al. 2023 PI).`,
    },
    {
      section: '04',
      title: 'Three ways to stretch RoPE',
      point: `At ${target} tokens (factor ${target / context}): linear interpolation slows every pair by ${target / context}; dynamic NTK and YaRN keep the fast pairs and slow the slow ones. LongLoRA uses linear.`,
      figure: ll.vegaLiteFigure({
        title: `How each method changes the frequencies at ${target} tokens`,
        data: { values: ratioRows },
        mark: { type: 'line', point: true },
        width: 560, height: 280,
        encoding: {
          x: { field: 'pair', type: 'quantitative', title: 'pair i (fast → slow)' },
          y: { field: 'ratio', type: 'quantitative', title: 'θᵢ scaled / θᵢ', scale: { type: 'log' }, axis: { tickCount: 4 } },
          color: { field: 'method', type: 'nominal', title: null, scale: { domain: methods.map((m) => label[m]), range: [OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]] } },
          tooltip: [{ field: 'method' }, { field: 'pair' }, { field: 'ratio', type: 'quantitative', format: '.4f' }],
        },
      }),
      notes: 'Hugging Face rope_scaling: {"type": "linear", "factor": s} divides positions by s; "dynamic" (NTK) raises the base as the sequence grows; YaRN ramps between keeping and interpolating, and scales attention. Computed with `ll.extendContext` and `ll.ropeInverseFrequencies`, as notebook 04 section 3.',
    },
    {
      section: '04',
      title: "The official code's factor rule",
      point: `fine-tune.py keeps max_position_embeddings at ${llamaContext} and sets a linear factor of ceil(target / ${llamaContext}): the model then accepts factor x ${llamaContext} tokens.`,
      figure: ll.htmlTable(factorRows),
      notes: 'After the fix of official issue #81. A merged checkpoint keeps rope_scaling in config.json, so transformers loads the extended model as is (`ll.saveMergedCheckpoint`). `ll.longLora(base, { contextLength })` applies the same rule.',
    },
  ];
}

function section05(r: Results): SlideSpec[] {
  const ext = r.extension;
  const s = ext.settings;
  const counts = ll.trainableParameterCounts(ll.presets.small, 'lora+norm+embed');
  const trainRows = [
    { group: 'embedding (embed_tokens)', parameters: counts.embed, trains: 'yes (LoRA+)' },
    { group: 'RMSNorm weights', parameters: counts.norm, trains: 'yes (LoRA+)' },
    { group: 'LoRA A and B on q, k, v, o', parameters: counts.lora, trains: 'yes' },
    { group: 'attention projections q, k, v, o', parameters: counts.attention, trains: 'frozen' },
    { group: 'MLP gate, up, down', parameters: counts.mlp, trains: 'frozen' },
    { group: 'lm_head', parameters: counts.head, trains: 'frozen' },
  ];
  const tuned = ext.rows.filter((row) => row.trainSeconds > 0);
  const short = (m: string): string => m.replace(/^fine-tuned at \d+: /, '');
  const at = String(s.target);
  const barRows = tuned.flatMap((row) => [
    { variant: short(row.model), metric: 'fine-tuning time (s)', value: row.trainSeconds },
    { variant: short(row.model), metric: `perplexity @ ${at}`, value: row.perplexity[at] },
  ]);
  const full = tuned[0];
  const longlora = tuned[tuned.length - 1];
  const sevenN = 8192;
  const seven = ll.makeConfig(ll.presets.llama2_7b, { ropeScaling: { type: 'linear', factor: sevenN / ll.presets.llama2_7b.maxPositionEmbeddings } });
  const sevenRows = [
    { variant: 'full attention, full FT', attention: 'full' as const, trainable: 'full' as const },
    { variant: 'S2-Attn, full FT', attention: 's2' as const, trainable: 'full' as const },
    { variant: 'LongLoRA', attention: 's2' as const, trainable: 'lora+norm+embed' as const },
  ].map((v) => {
    const m = ll.trainingMemory(seven, sevenN, { attention: v.attention, trainable: v.trainable });
    return { variant: v.variant, 'weights GiB': m.weights / GiB, 'grads + AdamW GiB': (m.gradients + m.optimizer) / GiB, 'activations GiB': m.activations / GiB, 'total GiB': m.total / GiB };
  });
  const variants = tuned.map((row) => short(row.model));
  return [
    {
      section: '05',
      title: 'LongLoRA in one call',
      point: `\`ll.longLora(base, { contextLength: ${s.target} })\`: PI to ${s.target}, S2-Attn in training, LoRA+; ${int(counts.trainable)} of ${int(counts.total)} weights train (${pct(counts.trainable / counts.total, 1)}).`,
      figure: ll.htmlTable(trainRows),
      notes: 'Our base is presets.small: 4 layers, hidden 256, 8 heads, byte-level vocabulary, context 256, pre-trained on State of the Union addresses. Notebook 05 extends it 4x. In our small model the embedding is small (259 tokens), so LoRA is a larger part of what trains than in Llama-2.',
    },
    {
      section: '05',
      title: 'The recipe, in miniature',
      point: `${s.finetuneSteps} updates of ${s.target} tokens (lr ${s.finetuneLr} full fine-tuning, ${s.loraLr} LoRA+), from a base pre-trained for ${s.pretrainSteps} steps.`,
      code: [
        `const base = await ll.loadBaseModel('text');          // context ${s.baseContext}`,
        `const run = ll.longLora(base.model, { contextLength: ${s.target} });`,
        `const tokens = ll.buildTokenStream(ll.sotuSplits().train);`,
        `const batches = new ll.WindowBatcher(tokens, { seqLen: ${s.target}, batchSize: 1 });`,
        `await new ll.Trainer(run, batches, { steps: ${s.finetuneSteps}, lr: ${s.loraLr} }).train();`,
        `ll.evaluatePerplexity(run.model, heldOut, { seqLens: [${s.evalLengths.join(', ')}] });`,
      ].join('\n'),
      notes: 'Start notebook 05 now if you have not: its live loss curve runs while you talk. The paper: 1000 updates of 64 sequences of 8192 tokens for Llama-2 7B. AdamW, weight decay 0, a constant learning rate after warm-up, as the official fine-tune.py. Evaluation always uses dense attention: S2-Attn is a training-time device only.',
    },
    {
      section: '05',
      title: 'The same budget, four ways',
      point: `At ${s.target} tokens LongLoRA fine-tunes in ${int(longlora.trainSeconds)} s against ${int(full.trainSeconds)} s for full attention with full fine-tuning; perplexity ${fmt(longlora.perplexity[at], 2)} against ${fmt(full.perplexity[at], 2)}.`,
      figure: ll.vegaLiteFigure({
        title: `Same budget: cost and quality at ${s.target} tokens`,
        data: { values: barRows },
        facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['fine-tuning time (s)', `perplexity @ ${at}`] } },
        spec: {
          width: 260, height: 200, mark: 'bar',
          encoding: {
            y: { field: 'variant', type: 'nominal', sort: variants, title: null, axis: { labelLimit: 600 } },
            x: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'variant', type: 'nominal', sort: variants, scale: { domain: variants, range: OKABE_ITO.slice(0, variants.length) }, legend: null },
            tooltip: [{ field: 'variant' }, { field: 'metric' }, { field: 'value', type: 'quantitative', format: '.2f' }],
          },
        },
        resolve: { scale: { x: 'independent' } },
      }),
      notes: `From results/context-extension.json (${r.extension.settings.finetuneSteps} updates each, wasm, 2 threads). Short attention runs as a dense masked pattern here, so its time is not the cost of short attention. At this scale S2-Attn and short attention end about the same, unlike the paper (Table 1): see section 07.`,
    },
    {
      section: '05',
      title: 'Where the memory goes at 7B',
      point: `Our memory model for Llama-2 7B at ${sevenN} tokens: LongLoRA cuts gradients + AdamW from ${fmt(sevenRows[0]['grads + AdamW GiB'])} to ${fmt(sevenRows[2]['grads + AdamW GiB'])} GiB; activations stay.`,
      figure: ll.htmlTable(sevenRows, { digits: 3 }),
      notes: "float32, batch 1, no gradient checkpointing (the paper's runs use bf16, checkpointing and ZeRO-2: 46.3 GB full fine-tuning vs 25.6 GB LongLoRA at 8192, Figure 1). On our 3.3M model the weights are tiny next to the activations, so LoRA hardly changes the peak there; at 7B the weights side is what LoRA cuts.",
    },
  ];
}

function section06(r: Results): SlideSpec[] {
  const demoLength = 1000;
  const stride = 256;
  const windowRows = [256, 384, 512].flatMap((n) => {
    const kept = ll.windowStarts(demoLength, n, stride, 'eval');
    return ll.windowStarts(demoLength, n, stride, 'eval_distributed').map((st, i) => ({ length: `n = ${n}`, window: `${n}: #${i}`, start: st, end: st + n, status: kept.includes(st) ? 'averaged' : 'popped by eval.py' }));
  });
  const ext = r.extension;
  const lengths = ext.settings.evalLengths;
  const pick = [ext.rows[0], ext.rows[1], ext.rows[ext.rows.length - 1]];
  const names = ['base (context 256)', 'PI only', 'LongLoRA'];
  const pplRows = pick.flatMap((row, k) => lengths.map((n) => ({ model: names[k], length: n, perplexity: row.perplexity[String(n)] })));
  const pk = r.passkey;
  const thirds = ['first third', 'middle third', 'last third'];
  const depthRows = pk.models.flatMap((m) => m.byLength.flatMap((b) => b.byDepth.map((a, i) => ({ model: m.label, tokens: b.tokens, depth: thirds[i], accuracy: a })).filter((x) => x.accuracy !== null)));
  const trials = Math.max(...pk.models.flatMap((m) => m.byLength.map((b) => b.trials)));
  const summary = pk.models
    .map((m) => {
      const own = m.byLength.find((b) => b.tokens === m.context);
      const longest = m.byLength[m.byLength.length - 1];
      return `${m.label}: ${own ? `${pct(own.accuracy)} at its ${m.context} tokens, ` : ''}${longest ? `${pct(longest.accuracy)} at ${longest.tokens}` : ''}`;
    })
    .join('; ');
  const heat: Record<string, unknown> = {
    width: 560, height: Math.max(90, 200 / pk.models.length),
    encoding: {
      x: { field: 'tokens', type: 'ordinal', title: 'prompt length (tokens)', axis: { labelAngle: 0 } },
      y: { field: 'depth', type: 'ordinal', sort: thirds, title: pk.models.length > 1 ? null : 'key depth' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'accuracy', type: 'quantitative', scale: { scheme: 'viridis', domain: [0, 1] }, title: 'accuracy' }, tooltip: [{ field: 'model' }, { field: 'tokens' }, { field: 'depth' }, { field: 'accuracy', type: 'quantitative', format: '.2f' }] } },
      { mark: { type: 'text', fontSize: 22 }, encoding: { text: { field: 'accuracy', type: 'quantitative', format: '.2f' }, color: { condition: { test: 'datum.accuracy > 0.6', value: '#000000' }, value: '#ffffff' } } },
    ],
  };
  const prompt = ll.passkeyPrompt({ garbageChars: 60, prefixChars: 30, passKey: 5532 });
  return [
    {
      section: '06',
      title: "Perplexity the eval.py way",
      point: `Windows of n tokens start every ${stride} tokens and every token is scored; eval.py drops the last start (eval_distributed.py keeps it).`,
      figure: ll.vegaLiteFigure({
        title: `eval.py windows over ${demoLength} tokens, stride ${stride}`,
        width: 620, height: 240,
        data: { values: windowRows },
        mark: { type: 'bar', height: 14, strokeWidth: 2 },
        encoding: {
          y: { field: 'window', type: 'nominal', sort: null, title: null },
          x: { field: 'start', type: 'quantitative', title: 'token position', scale: { domain: [0, demoLength] } },
          x2: { field: 'end' },
          color: { field: 'length', type: 'nominal', scale: { range: OKABE_ITO.slice(0, 3) }, title: null },
          stroke: { field: 'length', type: 'nominal', scale: { range: OKABE_ITO.slice(0, 3) }, legend: null },
          fillOpacity: { field: 'status', type: 'ordinal', scale: { domain: ['averaged', 'popped by eval.py'], range: [1, 0.1] }, title: null },
          tooltip: [{ field: 'length' }, { field: 'start' }, { field: 'end' }, { field: 'status' }],
        },
      }),
      notes: 'The official eval.py (after Press et al.): for each window the loss of every token, averaged over windows; perplexity = exp(mean loss). `ll.windowStarts` and `ll.evaluatePerplexity` follow it exactly; notebook 06 section 1 recomputes one window by hand.',
    },
    {
      section: '06',
      title: 'Before and after extension',
      point: `Perplexity at ${lengths[lengths.length - 1]} tokens: base ${fmt(pick[0].perplexity[String(lengths[lengths.length - 1])], 1)}, PI only ${fmt(pick[1].perplexity[String(lengths[lengths.length - 1])], 1)}, after LongLoRA ${fmt(pick[2].perplexity[String(lengths[lengths.length - 1])], 1)}: fine-tuning recovers what interpolation broke.`,
      figure: ll.vegaLiteFigure({
        title: 'Held-out perplexity by evaluation length',
        data: { values: pplRows },
        mark: { type: 'line', point: { size: 120 } },
        width: 560, height: 280,
        encoding: {
          x: { field: 'length', type: 'quantitative', title: 'evaluation length (tokens)', scale: { type: 'log', base: 2 }, axis: { values: lengths } },
          y: { field: 'perplexity', type: 'quantitative', title: 'perplexity (Moby Dick)', scale: { type: 'log' } },
          color: { field: 'model', type: 'nominal', title: null, sort: names, scale: { domain: names, range: [OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[2]] } },
          tooltip: [{ field: 'model' }, { field: 'length' }, { field: 'perplexity', type: 'quantitative', format: '.2f' }],
        },
      }),
      notes: `From results/context-extension.json, dense attention at test time, ${ext.settings.maxWindows} windows per length. Notebook 06 section 2 retrains LongLoRA for a few minutes and draws the loss by position inside a window, which shows where the gain is: past position 256.`,
    },
    {
      section: '06',
      title: 'Passkey retrieval: the official prompt',
      point: 'A key hidden in filler text at a random depth; the model must repeat it. The prompt is built character for character as the official passkey_retrivial.py does.',
      code: prompt.replace(/(.{1,74})(\s|$)/g, '$1\n').trim(),
      notes: 'Perplexity says how well a model predicts on average; the passkey test says whether it can use a fact from far back (paper §4.2, Figure 4). Greedy decoding with a KV cache; an answer is right when the generated digits equal the key.',
    },
    {
      section: '06',
      title: 'Passkey accuracy by length and depth',
      point: `Exact keys (${trials} trials per length): ${summary}.`,
      figure: ll.vegaLiteFigure({
        title: `Passkey accuracy by prompt length and key depth (${trials} trials per length)`,
        data: { values: depthRows },
        ...(pk.models.length > 1 ? { facet: { row: { field: 'model', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelLimit: 300 } } }, spec: heat } : heat),
      }),
      notes: `From results/passkey.json (${pk.how}). Each cell has few trials (a third of ${trials}), so read rows, not cells. The wrong answers skip or repeat a digit. In the paper (Figure 4) LongLoRA-7B fine-tuned at 32768 shows no degradation up to 33-34k tokens, while Llama-2 7B, even with PI, degrades after 4k.`,
    },
  ];
}

function section07(r: Results): { slides: SlideSpec[]; source: string } {
  // every reproduced table of the committed full runs (lib/experiments reproductionTables; quick runs skipped)
  const tables = ll.reproductionTables(r.dir).filter((t) => !t.quick);
  const slides = tables.map((t): SlideSpec => {
    // the table as a slide can hold it (at 20 px): 5 columns, 8 rows, cells cut at 36 characters
    const rows = markdownTableRows(t.markdown);
    const columns = Object.keys(rows[0] ?? {}).slice(0, 5);
    const cut = (v: string): string => (v.length > 36 ? `${v.slice(0, 35)}…` : v);
    const full = ll.htmlTable(rows.slice(0, 8).map((row) => Object.fromEntries(columns.map((c) => [cut(c), cut(row[c] ?? '')]))));
    const table = full.kind === 'html' ? ll.htmlFigure(`<div class="dense">${full.html}</div>`, full.text) : full;
    return {
      section: '07',
      title: `${t.paperRef}: ${t.title}`,
      point: firstSentence(t.conclusion),
      figure: t.figure ?? table,
      ...(t.figure !== null && rows.length > 0 ? { fallback: table } : {}),
      notes: `${t.conclusion}\n\nOur number beside the paper's, from results/ (${t.id}). Only the pattern is comparable, never the values: a 3.3M-parameter byte-level model against Llama-2 7B. \`npm run reproduce\` regenerates everything (about 80 minutes on 2 cores; \`--only ${t.id}\` for this table).`,
    };
  });
  const source = `lib/experiments reproductionTables (${tables.map((t) => t.id).join(', ') || 'none'})`;
  return { slides, source };
}

/** Every slide of the deck, figures built. `sevenSource` says where section 07 came from. */
export async function buildDeck(resultsDir: string): Promise<{ slides: SlideSpec[]; sevenSource: string; results: Results }> {
  const r = loadResults(resultsDir);
  await ll.ready();
  const seven = section07(r);
  const slides = [...opening(r), ...section01(r), ...section02(), ...section03(), ...(await section04(r)), ...section05(r), ...section06(r), ...seven.slides];
  return { slides, sevenSource: seven.source, results: r };
}
