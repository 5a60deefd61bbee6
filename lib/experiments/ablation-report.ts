/**
 * The fine-tuning tables (./ablations.ts) as Markdown and figures: ours beside the paper's, how
 * ours were obtained, and a conclusion worded from the numbers. Several seeds give a mean and a
 * spread (min-max); a difference smaller than the spread is called "no difference".
 */
import { vegaLiteFigure } from '../viz/figure';
import type { Figure } from '../viz/figure';
import type { AblationResult } from './ablations';
import type { FinetuneRowResult } from './finetune-rows';
import { PAPER_TABLE1, paperTable1Lines, PAPER_TABLE2, PAPER_TABLE6, PAPER_TABLE7, PAPER_TABLE8 } from './paper-tables';

/** Mean and min-max over seeds. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { mean: NaN, min: NaN, max: NaN, n: 0 };
  return { mean: finite.reduce((a, b) => a + b, 0) / finite.length, min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
const showSpread = (s: Spread) => (s.n > 1 ? `${f3(s.mean)} (${f3(s.min)}-${f3(s.max)})` : f3(s.mean));
const params = (n: number) => (n === 0 ? '—' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);

/** Rows grouped by id without the `-seedK` suffix, in first-seen order. */
export function groupBySetting(rows: FinetuneRowResult[]): Array<{ key: string; label: string; rows: FinetuneRowResult[] }> {
  const groups = new Map<string, { key: string; label: string; rows: FinetuneRowResult[] }>();
  for (const r of rows) {
    const key = r.id.replace(/-seed\d+$/, '');
    if (!groups.has(key)) groups.set(key, { key, label: r.label, rows: [] });
    (groups.get(key) as { rows: FinetuneRowResult[] }).rows.push(r);
  }
  return [...groups.values()];
}

/** "no difference" unless the means differ by more than the larger of the two spreads. */
export function differs(a: Spread, b: Spread): boolean {
  const width = Math.max(a.max - a.min, b.max - b.min);
  return Math.abs(a.mean - b.mean) > width;
}

function header(r: AblationResult): string[] {
  const status = r.quick ? '**Quick smoke run of the pipeline: these numbers are not results.**' : r.complete ? '' : `**Partial: ${r.rows.length} of ${r.planned.length} rows finished; rerun the command to resume.**`;
  return [
    `_${r.quick ? 'Quick run' : 'Run'} of ${r.date} on ${r.backend} (${r.threads} thread(s)), ${(r.wallSeconds / 60).toFixed(1)} min; \`${r.command}\`; seeds ${[...new Set(r.rows.map((x) => x.seed))].join(', ')}._`,
    ...(status ? ['', status] : []),
    '',
  ];
}

function howLine(r: AblationResult, extra = ''): string {
  const s = r.recipe;
  return (
    `How: ${r.base}; extended to ${s.target} tokens by linear position interpolation and fine-tuned for ${s.steps} updates of 1 x ${s.target} tokens ` +
    `(AdamW, lr ${s.lr} full fine-tuning / ${s.loraLr} LoRA sets, ${s.warmupSteps} warm-up updates then constant, gradient clipping 1) on State of the Union windows, ` +
    `${Math.round(100 * s.repeatShare)}% of them with a ${s.passageLength}-token passage repeated at a distance of N/4 or more. ` +
    `Evaluation with dense attention: perplexity on held-out Moby Dick (eval.py protocol, ${s.evalWindows} windows of ${s.target}), and the long-range measure ` +
    `(perplexity on the second copy of a 64-token passage repeated at a distance of N/2 or more, ${s.longRangeWindows} windows of held-out text; control = the same positions with the source replaced; gain = control / copy).${extra}`
  );
}

/** The long-range cell: copy perplexity and gain. */
const longRangeCell = (rows: FinetuneRowResult[]) => {
  const copy = spread(rows.map((x) => x.longRange.copyPerplexity));
  const gain = spread(rows.map((x) => x.longRange.gain));
  return `${showSpread(copy)} (x${f2(gain.mean)})`;
};

/** Table 1 + LongLoRA with the long-range measure, over seeds. */
export function extensionMarkdown(r: AblationResult): string {
  const n = r.recipe.target;
  const groups = groupBySetting(r.rows);
  const lines = [
    ...header(r),
    `| model | PPL @ ${n} (mean, min-max) | long-range PPL on the copy (gain) | control PPL | own attention at test: PPL | trainable | fine-tuning time |`,
    '|---|---|---|---|---|---|---|',
    ...groups.map((g) => {
      const ppl = spread(g.rows.map((x) => x.perplexity));
      const control = spread(g.rows.map((x) => x.longRange.controlPerplexity));
      const own = spread(g.rows.filter((x) => x.own !== null).map((x) => (x.own as { perplexity: number }).perplexity));
      const secs = spread(g.rows.map((x) => x.trainSeconds));
      return `| ${g.label}${g.rows.length > 1 ? ` (${g.rows.length} seeds)` : ''} | ${showSpread(ppl)} | ${longRangeCell(g.rows)} | ${f3(control.mean)} | ${own.n > 0 ? showSpread(own) : '—'} | ${params(g.rows[0].trainableParameters)} | ${secs.mean > 0 ? `${secs.mean.toFixed(0)} s` : '—'} |`;
    }),
    '',
    howLine(r),
    '',
    ...paperTable1Lines(),
    '',
    ...extensionConclusion(r),
  ];
  return lines.join('\n');
}

/** The conclusion of the extension section, from the numbers (empty until the three Table 1 rows exist). */
export function extensionConclusion(r: AblationResult): string[] {
  const groups = new Map(groupBySetting(r.rows).map((g) => [g.key, g]));
  const [full, short, s2, longlora] = ['full', 'short', 's2', 'longlora'].map((k) => groups.get(k));
  if (full === undefined || short === undefined || s2 === undefined) return [];
  const ppl = (g: typeof full) => spread(g.rows.map((x) => x.perplexity));
  const copy = (g: typeof full) => spread(g.rows.map((x) => x.longRange.copyPerplexity));
  const gain = (g: typeof full) => spread(g.rows.map((x) => x.longRange.gain)).mean;
  const vs = (a: Spread, b: Spread) => (differs(a, b) ? pct(a.mean / b.mean - 1) : `${pct(a.mean / b.mean - 1)}, no difference (within the seeds' spread)`);
  const [paperFull, paperShort, paperS2] = PAPER_TABLE1.map((p) => p[1]);
  const shortFails = gain(short) < 1.1;
  const s2Carries = gain(s2) >= 1.1;
  const fullCarries = gain(full) >= 1.1;
  const longRangeVerdict = !fullCarries
    ? 'even full attention did not learn to use the far passage in this budget, so the measure cannot separate the methods here'
    : shortFails && s2Carries
      ? `short attention fails the long-range measure and S2-Attn ${differs(copy(s2), copy(full)) ? `carries information across groups but stays ${pct(copy(s2).mean / copy(full).mean - 1)} above full attention` : 'matches full attention'}: the paper's point about information flow between groups, shown directly`
      : shortFails
        ? 'short attention fails the long-range measure, but so does S2-Attn here'
        : 'short attention also learned to use the far passage (its groups never see it in training), so the shift is not what carried it here';
  const ownPpl = (g: typeof full) => spread(g.rows.filter((x) => x.own !== null).map((x) => (x.own as { perplexity: number }).perplexity));
  const ownSentence =
    ownPpl(short).n > 0 && ownPpl(s2).n > 0
      ? ` Tested with their own training attention instead of dense: short attention ${vs(ownPpl(short), ppl(full))}, S2-Attn ${vs(ownPpl(s2), ppl(full))} against full attention.`
      : '';
  return [
    `Ordinary perplexity at ${r.recipe.target}, against full-attention fine-tuning: short attention ${vs(ppl(short), ppl(full))}, S2-Attn ${vs(ppl(s2), ppl(full))}; paper (8192) short ${pct(paperShort / paperFull - 1)}, S2-Attn ${pct(paperS2 / paperFull - 1)}. ` +
      `The shift itself (S2-Attn against short attention): ours ${vs(ppl(s2), ppl(short))}, paper ${pct(paperS2 / paperShort - 1)}.${ownSentence}`,
    '',
    `Long-range measure (perplexity on the repeated passage; lower = the model used the copy N/2 or more tokens back): full attention ${f3(copy(full).mean)} (gain x${f2(gain(full))}), short attention ${f3(copy(short).mean)} (x${f2(gain(short))}), S2-Attn ${f3(copy(s2).mean)} (x${f2(gain(s2))})${longlora ? `, LongLoRA ${f3(copy(longlora).mean)} (x${f2(gain(longlora))})` : ''}: ${longRangeVerdict}.`,
    '',
    'Only these patterns are comparable, never the values: a 3.3M-parameter byte-level model against Llama-2 7B.',
  ];
}

function simpleTable(r: AblationResult, paper: (id: string) => string, paperHeader: string): string[] {
  return [
    `| setting | trainable | PPL @ ${r.recipe.target} | long-range PPL (gain) | ${paperHeader} |`,
    '|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.label} | ${params(x.trainableParameters)} | ${f3(x.perplexity)} | ${f3(x.longRange.copyPerplexity)} (x${f2(x.longRange.gain)}) | ${paper(x.id)} |`),
  ];
}

const findRow = (r: AblationResult, id: string) => r.rows.find((x) => x.id === id);

/** Table 2: trainable sets. */
export function table2Markdown(r: AblationResult): string {
  const lines = [...header(r), ...simpleTable(r, (id) => (PAPER_TABLE2[id] !== undefined ? PAPER_TABLE2[id].toFixed(2) : '—'), 'paper PPL (32768)'), '', howLine(r, ' S2-Attn (G = N/4) in training for every row; LoRA on q, k, v, o with alpha 16 (the official value, so the scale alpha / r falls as r grows, as in PEFT).'), ''];
  const [full, r8, plus, norm, embed] = ['full-ft', 'lora-r8', 'lora-plus', 'lora-r8-norm', 'lora-r8-embed'].map((id) => findRow(r, id));
  if (full && r8 && plus) {
    const gap = (x: FinetuneRowResult) => x.perplexity / full.perplexity - 1;
    const ranks = r.rows.filter((x) => /^lora-r\d+$/.test(x.id));
    const rankTrend = ranks.length > 1 ? ` Across ranks ${ranks.map((x) => `r=${x.id.slice(6)} ${pct(gap(x))}`).join(', ')}: ${Math.abs(gap(ranks[ranks.length - 1]) - gap(ranks[0])) < 0.01 ? 'a larger rank does not close the gap (as in the paper)' : gap(ranks[ranks.length - 1]) < gap(ranks[0]) ? 'a larger rank narrows the gap here, unlike the paper' : 'a larger rank widens the gap, as the paper\'s 11.44 to 11.98'}.` : '';
    lines.push(
      `Against full fine-tuning (perplexity at ${r.recipe.target}): LoRA r=8 ${pct(gap(r8))}${norm ? `, + norm ${pct(gap(norm))}` : ''}${embed ? `, + embed ${pct(gap(embed))}` : ''}, LoRA+ ${pct(gap(plus))}; paper: ${pct(PAPER_TABLE2['lora-r8'] / PAPER_TABLE2['full-ft'] - 1)}, ${pct(PAPER_TABLE2['lora-r8-norm'] / PAPER_TABLE2['full-ft'] - 1)}, ${pct(PAPER_TABLE2['lora-r8-embed'] / PAPER_TABLE2['full-ft'] - 1)}, ${pct(PAPER_TABLE2['lora-plus'] / PAPER_TABLE2['full-ft'] - 1)}. ` +
        `${gap(plus) < gap(r8) ? 'Making the embedding and norms trainable closes part of the gap, as in the paper' : 'Trainable embedding and norms do not help here, unlike the paper'}.${rankTrend}`,
    );
  }
  return lines.join('\n');
}

/** Table 6: patterns, each tested with full attention and with its own. */
export function table6Markdown(r: AblationResult): string {
  const lines = [
    ...header(r),
    `| pattern in fine-tuning | PPL, full attn at test | PPL, own pattern at test | long-range, full attn (gain) | long-range, own (gain) | paper own / full |`,
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => {
      const p = PAPER_TABLE6[x.id];
      return `| ${x.label} | ${f3(x.perplexity)} | ${x.own ? f3(x.own.perplexity) : '—'} | ${f3(x.longRange.copyPerplexity)} (x${f2(x.longRange.gain)}) | ${x.own ? `${f3(x.own.longRange.copyPerplexity)} (x${f2(x.own.longRange.gain)})` : '—'} | ${p ? `${p[0].toFixed(2)} / ${p[1].toFixed(2)}` : '—'} |`;
    }),
    '',
    howLine(r, ' LoRA+ (r 8, norm and embed trainable) for every row, as the paper; group / block / local size N/4; stride sparse with stride sqrt(N); exact index rules in lib/attention/patterns.ts.'),
    '',
  ];
  const heads = findRow(r, 's2-heads');
  if (heads && r.rows.length > 1) {
    const best = [...r.rows].sort((a, b) => a.perplexity - b.perplexity)[0];
    const worst = [...r.rows].sort((a, b) => b.perplexity - a.perplexity)[0];
    const p1 = findRow(r, 'only-p1');
    lines.push(
      (best.id === 's2-heads'
        ? `With full attention at test, S2 across heads is the best pattern here (${f3(heads.perplexity)}), as in the paper (8.12); the worst is ${worst.label} (${f3(worst.perplexity)}).`
        : `With full attention at test, the best pattern here is ${best.label} (${f3(best.perplexity)}) and the worst ${worst.label} (${f3(worst.perplexity)}); S2 across heads ${f3(heads.perplexity)}, ${pct(heads.perplexity / best.perplexity - 1)} from the best (the paper has it best at 8.12).`) +
        (p1 ? ` Long-range gain with full attention: S2 across heads x${f2(heads.longRange.gain)}, only pattern 1 x${f2(p1.longRange.gain)}.` : ''),
    );
  }
  return lines.join('\n');
}

/** Table 7: group size. */
export function table7Markdown(r: AblationResult): string {
  const lines = [...header(r), ...simpleTable(r, (id) => (PAPER_TABLE7[id] ? `${PAPER_TABLE7[id][0].toFixed(2)} / ${PAPER_TABLE7[id][1].toFixed(2)}` : '—'), 'paper PPL 8192 / 16384'), '', howLine(r, ' LongLoRA (LoRA+) for every row; S2-Attn with G = N/k, half the heads shifted by G/2.'), ''];
  const full = findRow(r, 'full');
  const groups = r.rows.filter((x) => /^g\d$/.test(x.id));
  if (full && groups.length > 0) {
    const rel = groups.map((x) => `${x.label} ${pct(x.perplexity / full.perplexity - 1)}`);
    const small = groups.filter((x) => x.id === 'g6' || x.id === 'g8');
    const large = groups.filter((x) => x.id === 'g2' || x.id === 'g4');
    const mean = (xs: FinetuneRowResult[]) => xs.reduce((s, x) => s + x.perplexity, 0) / xs.length;
    const trend = small.length > 0 && large.length > 0 ? (mean(small) > mean(large) ? 'smaller groups are worse, as in the paper' : 'smaller groups are not worse here, unlike the paper') : '';
    lines.push(`Against full attention: ${rel.join(', ')}${trend ? `: ${trend}` : ''}; paper (8192): ${['g2', 'g4', 'g6', 'g8'].map((k) => pct(PAPER_TABLE7[k][0] / PAPER_TABLE7.full[0] - 1)).join(', ')}.`);
  }
  return lines.join('\n');
}

/** Table 8: variants. */
export function table8Markdown(r: AblationResult): string {
  const lines = [
    ...header(r),
    ...simpleTable(r, (id) => (PAPER_TABLE8[id] !== undefined ? PAPER_TABLE8[id].toFixed(2) : '—'), 'paper PPL (8192)'),
    `| Variant 1 (shift the other way) | — | = ours | = ours | ${PAPER_TABLE8.variant1.toFixed(2)} |`,
    `| Variant 3 (swap the shifted tokens with the front ones) | — | not built | not built | ${PAPER_TABLE8.variant3.toFixed(2)} |`,
    '',
    howLine(r, " LongLoRA (LoRA+) for every row. Variant 1 is not trained: rolling by +G/2 instead of -G/2 forms the same groups in the same order, so it is the same attention as ours (test/attention/patterns.test.ts proves the masks equal); the paper's equal 8.04 agrees. Variant 3 is described in one sentence in the paper, too little to build exactly."),
    '',
  ];
  const [full, roll, offset] = ['full', 'ours-roll', 'variant2-offset'].map((id) => findRow(r, id));
  if (full && roll && offset) {
    const d = Math.abs(roll.perplexity / offset.perplexity - 1);
    lines.push(`Against full attention: ours (roll) ${pct(roll.perplexity / full.perplexity - 1)}, variant 2 (offset) ${pct(offset.perplexity / full.perplexity - 1)}; the two variants differ by ${(100 * d).toFixed(1)}%${d < 0.01 ? ', no difference beyond 1%, as the paper (8.04 / 8.03)' : ''}.`);
  }
  return lines.join('\n');
}

/** Markdown of any fine-tuning section. */
export function ablationMarkdown(r: AblationResult): string {
  const title = `## ${r.title} (paper ${r.paperRef})\n\n`;
  switch (r.section) {
    case 'extension':
      return title + extensionMarkdown(r);
    case 'table2':
      return title + table2Markdown(r);
    case 'table6':
      return title + table6Markdown(r);
    case 'table7':
      return title + table7Markdown(r);
    case 'table8':
      return title + table8Markdown(r);
    default:
      throw new Error(`ablationMarkdown: unknown section '${String((r as AblationResult).section)}'`);
  }
}

/**
 * The section's figure: held-out perplexity and the long-range perplexity (copy, with its control)
 * per setting, means with min-max rules over seeds; Table 6 adds the own-pattern test.
 */
export function ablationFigure(r: AblationResult): Figure {
  const values: Array<Record<string, unknown>> = [];
  for (const g of groupBySetting(r.rows)) {
    const add = (measure: string, xs: number[]) => {
      const s = spread(xs);
      if (s.n > 0) values.push({ setting: g.label, measure, value: s.mean, low: s.min, high: s.max });
    };
    add('held-out perplexity', g.rows.map((x) => x.perplexity));
    add('long-range: copy perplexity', g.rows.map((x) => x.longRange.copyPerplexity));
    add('long-range: control perplexity', g.rows.map((x) => x.longRange.controlPerplexity));
    if (g.rows.some((x) => x.own !== null)) add('held-out perplexity, own pattern at test', g.rows.filter((x) => x.own).map((x) => (x.own as { perplexity: number }).perplexity));
  }
  const order = groupBySetting(r.rows).map((g) => g.label);
  return vegaLiteFigure({
    title: { text: `${r.title} (ours, miniature; paper ${r.paperRef})`, subtitle: r.quick ? 'quick smoke run: not results' : `${r.backend}, ${r.recipe.steps} updates at ${r.recipe.target} tokens` },
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: ['held-out perplexity', 'held-out perplexity, own pattern at test', 'long-range: copy perplexity', 'long-range: control perplexity'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 200,
      height: 220,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'setting', type: 'nominal', sort: order, title: null, axis: { labelAngle: -40, labelLimit: 160 } },
            y: { field: 'value', type: 'quantitative', title: 'perplexity (lower is better)', scale: { zero: false } },
            color: { field: 'setting', type: 'nominal', sort: order, legend: null },
            tooltip: [
              { field: 'setting', type: 'nominal' },
              { field: 'measure', type: 'nominal' },
              { field: 'value', type: 'quantitative', format: '.3f', title: 'mean' },
              { field: 'low', type: 'quantitative', format: '.3f', title: 'min over seeds' },
              { field: 'high', type: 'quantitative', format: '.3f', title: 'max over seeds' },
            ],
          },
        },
        { mark: { type: 'rule', color: '#000000' }, encoding: { x: { field: 'setting', type: 'nominal', sort: order }, y: { field: 'low', type: 'quantitative', scale: { zero: false } }, y2: { field: 'high' } } },
      ],
    },
  });
}
