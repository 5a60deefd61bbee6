/**
 * The paper's fine-tuning tables in miniature, as lists of rows (./finetune-rows.ts) that a
 * resumable runner works through:
 *
 * - `extension`: Table 1 (full / short / S2-Attn fine-tuning) and LongLoRA, with the long-range
 *   measure, over several seeds;
 * - `table2`: trainable sets (LoRA ranks, + norm, + embed, LoRA+, full fine-tuning);
 * - `table6`: attention patterns in fine-tuning, each tested with full attention and its own;
 * - `table7`: group size (full, N/2, N/4, N/6, N/8) at a length divisible by 24;
 * - `table8`: S2-Attn variants (Algorithm 1's roll, the other direction, the offset segments).
 *
 * Each section writes `<out>/<section>.json` after every row; a rerun with the same recipe, base
 * and backend keeps the finished rows and runs the rest (an interrupted run resumes). Rows are
 * bounded by update counts and seeded, so a section's numbers are deterministic for its seeds on a
 * given backend.
 */
import { readResultJson, resumable, runRecord, writeResultJson } from './run-record';
import type { RunRecord } from './run-record';
import type { LlamaForCausalLM } from '../model';
import { runFinetuneRow } from './finetune-rows';
import { TABLE1_VARIANTS } from './context-extension';
import type { FinetuneData, FinetuneRecipe, FinetuneRow, FinetuneRowResult } from './finetune-rows';

export const ABLATION_SECTIONS = ['extension', 'table2', 'table6', 'table7', 'table8'] as const;
export type AblationSection = (typeof ABLATION_SECTIONS)[number];

/** A section's plan: its recipe and rows. */
export interface AblationPlan {
  section: AblationSection;
  title: string;
  /** The paper's table it mirrors, e.g. 'Table 2'. */
  paperRef: string;
  recipe: FinetuneRecipe;
  rows: FinetuneRow[];
}

/** What a section wrote. */
export interface AblationResult extends RunRecord {
  section: AblationSection;
  title: string;
  paperRef: string;
  recipe: FinetuneRecipe;
  /** Rows finished so far, in plan order. */
  rows: FinetuneRowResult[];
}

/** Fine-tuning settings of the full runs (minutes per row on 2 cores) and of `--quick` (seconds). */
export function ablationRecipe(quick: boolean, target = 1024): FinetuneRecipe {
  if (quick) return { target, steps: 2, lr: 1e-3, loraLr: 4e-3, warmupSteps: 1, repeatShare: 0.5, passageLength: 16, evalWindows: 1, longRangeWindows: 2 };
  return { target, steps: 200, lr: 1e-3, loraLr: 4e-3, warmupSteps: 20, repeatShare: 0.5, passageLength: 64, evalWindows: 6, longRangeWindows: 16 };
}

/** Table 1's training-time attentions and LongLoRA (TABLE1_VARIANTS), as row templates; the sparse full-FT rows are also tested with their own attention. */
const TABLE1_KEYS = ['full', 'short', 's2', 'longlora'];
const TABLE1_ROWS: Array<Omit<FinetuneRow, 'id' | 'seed'> & { key: string }> = TABLE1_VARIANTS.map((v, i) => ({
  key: TABLE1_KEYS[i],
  label: v.name,
  attention: v.attention,
  trainable: v.trainable,
  ...(v.attention.kind !== 'full' && v.trainable === 'full' ? { evalOwn: true } : {}),
}));

/** Fine-tuning seeds of the key rows (`extension`). */
export const EXTENSION_SEEDS = [0, 1, 2];

/** The plan of one section (rows and recipe); `quick` shrinks everything to a smoke run. */
export function ablationPlan(section: AblationSection, quick = false): AblationPlan {
  switch (section) {
    case 'extension': {
      const recipe = ablationRecipe(quick, quick ? 256 : 1024);
      const seeds = quick ? [0, 1] : EXTENSION_SEEDS;
      const rows: FinetuneRow[] = [
        { id: 'base', label: 'base model, no extension (extrapolating)', attention: { kind: 'full' }, trainable: 'full', finetune: 'base' },
        { id: 'pi', label: `position interpolation to ${recipe.target}, no fine-tuning`, attention: { kind: 'full' }, trainable: 'full', finetune: 'pi' },
        ...seeds.flatMap((seed) => TABLE1_ROWS.map(({ key, ...row }) => ({ ...row, id: `${key}-seed${seed}`, seed }))),
      ];
      return { section, title: 'Context extension and information flow between groups', paperRef: 'Table 1', recipe, rows };
    }
    case 'table2': {
      const recipe = ablationRecipe(quick, quick ? 256 : 1024);
      const s2 = { kind: 's2' } as const;
      const rows: FinetuneRow[] = [
        { id: 'full-ft', label: 'Full FT', attention: s2, trainable: 'full' },
        ...(quick ? [8] : [8, 32, 128]).map((r): FinetuneRow => ({ id: `lora-r${r}`, label: `LoRA r=${r}`, attention: s2, trainable: 'lora', loraRank: r })),
        { id: 'lora-r8-norm', label: 'LoRA r=8 + Norm', attention: s2, trainable: 'lora+norm' },
        { id: 'lora-r8-embed', label: 'LoRA r=8 + Embed', attention: s2, trainable: 'lora+embed' },
        { id: 'lora-plus', label: 'LoRA r=8 + Norm & Embed (LoRA+)', attention: s2, trainable: 'lora+norm+embed' },
      ];
      return { section, title: 'Trainable sets: LoRA, LoRA + norm / embed, full fine-tuning', paperRef: 'Table 2', recipe, rows };
    }
    case 'table6': {
      const recipe = ablationRecipe(quick, quick ? 256 : 1024);
      const stride = Math.round(Math.sqrt(recipe.target));
      const pattern = (p: 'short' | 'shifted' | 'dilated' | 'block-sparse' | 'stride-sparse') => ({ kind: 'pattern', pattern: p }) as const;
      const rows: FinetuneRow[] = [
        { id: 's2-heads', label: 'S2 across heads (ours)', attention: { kind: 's2' }, trainable: 'lora+norm+embed', evalOwn: true },
        { id: 's2-layers', label: 'S2 across layers', attention: { kind: 'pattern', pattern: 'short', alternate: 'shifted' }, trainable: 'lora+norm+embed', evalOwn: true },
        { id: 'only-p1', label: 'only pattern 1 (short)', attention: pattern('short'), trainable: 'lora+norm+embed', evalOwn: true },
        { id: 'only-p2', label: 'only pattern 2 (shifted)', attention: pattern('shifted'), trainable: 'lora+norm+embed', evalOwn: true },
        { id: 'dilated', label: 'dilated', attention: pattern('dilated'), trainable: 'lora+norm+embed', evalOwn: true },
        { id: 'block-sparse', label: 'block sparse', attention: pattern('block-sparse'), trainable: 'lora+norm+embed', evalOwn: true },
        { id: 'stride-sparse', label: 'stride sparse', attention: { kind: 'pattern', pattern: 'stride-sparse', stride }, trainable: 'lora+norm+embed', evalOwn: true },
      ];
      return { section, title: 'Attention patterns in fine-tuning', paperRef: 'Table 6', recipe, rows: quick ? rows.slice(0, 3) : rows };
    }
    case 'table7': {
      // a length divisible by 2, 4, 6 and 8 with even groups: 768 (G = 384, 192, 128, 96)
      const recipe = ablationRecipe(quick, quick ? 192 : 768);
      const n = recipe.target;
      const rows: FinetuneRow[] = [
        { id: 'full', label: 'Full', attention: { kind: 'full' }, trainable: 'lora+norm+embed' },
        ...[2, 4, 6, 8].map((k): FinetuneRow => ({ id: `g${k}`, label: `G = N/${k} (${n / k})`, attention: { kind: 's2', groupSize: n / k }, trainable: 'lora+norm+embed' })),
      ];
      return { section, title: 'Group size of S2-Attn', paperRef: 'Table 7', recipe, rows: quick ? rows.slice(0, 3) : rows };
    }
    case 'table8': {
      const recipe = ablationRecipe(quick, quick ? 256 : 1024);
      const rows: FinetuneRow[] = [
        { id: 'full', label: 'Full', attention: { kind: 'full' }, trainable: 'lora+norm+embed' },
        { id: 'ours-roll', label: "Ours (Algorithm 1's roll)", attention: { kind: 's2', variant: 'roll' }, trainable: 'lora+norm+embed' },
        { id: 'variant2-offset', label: 'Variant 2 (shifted tokens in their own groups: offset)', attention: { kind: 's2', variant: 'offset' }, trainable: 'lora+norm+embed' },
      ];
      return { section, title: 'S2-Attn variants', paperRef: 'Table 8', recipe, rows };
    }
    default: {
      const unknown: never = section;
      throw new Error(`ablationPlan: unknown section '${String(unknown)}'; use one of ${ABLATION_SECTIONS.join(', ')}`);
    }
  }
}

/** Options of {@link runAblation}. */
export interface RunAblationOptions {
  /** The pre-trained base every row starts from (left unchanged). */
  base: LlamaForCausalLM;
  /** How the base was made (printed with the results; part of the resume key). */
  baseDescription: string;
  data: FinetuneData;
  quick?: boolean;
  /** Folder of the section's JSON (partial results are kept there). */
  out: string;
  command: string;
  /** Keep finished rows of an earlier run with the same recipe, base and backend (default true). */
  resume?: boolean;
  log?: (line: string) => void;
  /** After each row (e.g. to redraw a table). */
  onRow?: (result: AblationResult) => void;
}

/** Relative cost of a row (for the ETA): training updates weighted by the attention's cost, plus evaluation. */
function rowCost(row: FinetuneRow, recipe: FinetuneRecipe): number {
  if (row.finetune === 'base' || row.finetune === 'pi') return 10;
  const attention = row.attention.kind === 's2' ? 1 : row.attention.kind === 'full' ? 1.6 : 2.2;
  const trainable = row.trainable === 'full' ? 1.2 : 1;
  return recipe.steps * attention * trainable + (row.evalOwn ? 25 : 12);
}

/** Reads a section's results (partial or complete), or null when there are none. */
export function readAblation(out: string, section: AblationSection): AblationResult | null {
  return readResultJson<AblationResult>(out, `${section}.json`, 'readAblation', 'delete it to run the section again');
}

function writeSection(out: string, r: AblationResult): void {
  writeResultJson(out, `${r.section}.json`, r);
}

const fmtMinutes = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

/** Runs (or resumes) one section, writing its JSON after every row; returns the finished result. */
export async function runAblation(section: AblationSection, options: RunAblationOptions): Promise<AblationResult> {
  const { base, baseDescription, data, quick = false, out, command, resume = true, log = () => undefined } = options;
  const plan = ablationPlan(section, quick);
  const previous = resume ? readAblation(out, section) : null;
  const sameRun = resumable(previous, { quick, base: baseDescription, recipe: plan.recipe }) && previous !== null;
  const kept = new Map((sameRun ? previous.rows : []).map((r) => [r.id, r]));
  const result: AblationResult = {
    section,
    title: plan.title,
    paperRef: plan.paperRef,
    recipe: plan.recipe,
    ...runRecord({ quick, base: baseDescription, command, planned: plan.rows.map((r) => r.id), wallSeconds: sameRun ? previous.wallSeconds : 0 }),
    rows: [],
  };
  const todo = plan.rows.filter((r) => !kept.has(r.id));
  if (kept.size > 0) log(`${section}: resuming, ${kept.size} of ${plan.rows.length} rows kept from the earlier run`);
  const totalCost = todo.reduce((s, r) => s + rowCost(r, plan.recipe), 0);
  let doneCost = 0;
  const started = performance.now();
  for (const row of plan.rows) {
    const have = kept.get(row.id);
    if (have !== undefined) {
      result.rows.push(have);
      continue;
    }
    const cost = rowCost(row, plan.recipe);
    const rowStarted = performance.now();
    const r = await runFinetuneRow(base, row, plan.recipe, data, ({ step, steps, phase }) => {
      const elapsed = (performance.now() - started) / 1000;
      const fraction = (doneCost + (phase === 'eval' ? cost * 0.9 : (cost * 0.9 * step) / Math.max(1, steps))) / totalCost;
      const eta = fraction > 0.02 ? (elapsed / fraction) * (1 - fraction) : NaN;
      const bar = '#'.repeat(Math.round(20 * fraction)).padEnd(20, '.');
      log(`${section} [${bar}] ${(100 * fraction).toFixed(0)}% row ${result.rows.length + 1}/${plan.rows.length} ${row.label}: ${phase === 'train' ? `update ${step}/${steps}` : 'evaluating'}${Number.isFinite(eta) ? `, ETA ${fmtMinutes(eta)}` : ''}`);
    });
    doneCost += cost;
    result.rows.push(r);
    result.wallSeconds += (performance.now() - rowStarted) / 1000;
    log(`${section}: ${row.label}: perplexity ${r.perplexity.toFixed(3)}, long-range ${r.longRange.copyPerplexity.toFixed(3)} (control ${r.longRange.controlPerplexity.toFixed(3)})${r.own ? `; own attention ${r.own.perplexity.toFixed(3)} / ${r.own.longRange.copyPerplexity.toFixed(3)}` : ''} (${fmtMinutes(r.trainSeconds + r.evalSeconds)})`);
    writeSection(out, result);
    options.onRow?.(result);
  }
  result.complete = true;
  writeSection(out, result);
  return result;
}
