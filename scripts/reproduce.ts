/**
 * npm run reproduce [-- --quick] [--only SECTIONS] [--out DIR] [--fresh] [--render]
 *
 * The paper's tables in miniature, the paper's numbers beside ours, each section written on its own
 * (Markdown, JSON, and a figure as SVG + vega-lite JSON) into results/ (default):
 *   flops      Table 11, exact (closed form)
 *   lengths    perplexity by evaluation length before and after extension (base, PI only, fine-tuned
 *              with each Table 1 attention; results/context-extension.*, which notebooks and slides show)
 *   extension  Table 1 (full / short / S2-Attn fine-tuning) and LongLoRA, 3 seeds, with the long-range measure
 *   table2     trainable sets (LoRA ranks, + norm, + embed, LoRA+, full fine-tuning)
 *   table6     attention patterns in fine-tuning, tested with full attention and their own
 *   table7     group size (full, N/2, N/4, N/6, N/8)
 *   table8     S2-Attn variants
 *   passkey    passkey retrieval as context extension (Figure 4)
 *   cost       time per update and peak memory by length (Tables 12 and 13)
 * The fine-tuning sections start from the `text` base of `npm run pretrain`, passkey from the
 * `passkey` base (each trained first when not cached). A section keeps its finished rows and resumes after an interruption (--fresh starts it
 * over). --quick runs every section tiny (a smoke test of the pipeline, not results; minutes).
 * --render runs nothing: it rewrites the Markdown and figures of the sections whose JSON is in the
 * folder (after a change to how tables are worded or drawn).
 */
import './ensure-built';
import * as fs from 'fs';
import * as path from 'path';
import * as ll from 'longlora-ts';

const SECTIONS = ['flops', 'lengths', 'extension', 'table2', 'table6', 'table7', 'table8', 'passkey', 'cost'] as const;
type Section = (typeof SECTIONS)[number];
const USAGE = `usage: npm run reproduce [-- --quick] [--only ${SECTIONS.join(',')}] [--out DIR] [--fresh] [--render]`;

function parseArgs(argv: string[]): { quick: boolean; only: Section[]; out: string; fresh: boolean; render: boolean } {
  let quick = false;
  let fresh = false;
  let render = false;
  let only: Section[] = [...SECTIONS];
  let out = 'results';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--fresh') fresh = true;
    else if (a === '--render') render = true;
    else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = list.filter((x) => !(SECTIONS as readonly string[]).includes(x));
      if (list.length === 0 || bad.length > 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}; got '${list.join(',')}'`);
      only = list as Section[];
    } else if (a === '--out') {
      const dir = argv[++i];
      if (dir === undefined || dir.startsWith('--')) throw new Error(`--out needs a folder; ${USAGE}`);
      out = dir;
    } else throw new Error(`unknown argument '${a}'; ${USAGE}`);
  }
  return { quick, only, out, fresh, render };
}

function write(dir: string, name: string, text: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  console.error(`[reproduce] wrote ${file}`);
}

/** The figure as vega-lite JSON and SVG, for notebook 07, the slides and the README. */
async function writeFigure(dir: string, stem: string, figure: ll.Figure | null): Promise<void> {
  if (figure === null || figure.kind !== 'vega-lite') return;
  write(dir, `${stem}.vl.json`, JSON.stringify(figure.spec, null, 2) + '\n');
  write(dir, `${stem}.svg`, await ll.vegaLiteToSvg(figure.spec));
}

/** A base model: the cached one of `npm run pretrain` (trained now when missing), or an untrained tiny stand-in in quick mode. */
async function baseModel(name: ll.BaseModelName, quick: boolean, log: (l: string) => void): Promise<{ model: ll.LlamaForCausalLM; description: string }> {
  if (quick) {
    const context = name === 'passkey' ? 256 : 64;
    const model = ll.LlamaForCausalLM.create(ll.makeConfig(ll.presets.tiny, { maxPositionEmbeddings: context }), { seed: 0 });
    return { model, description: `an untrained presets.tiny stand-in with context ${context} (quick mode)` };
  }
  if (ll.cachedBaseModel(name) === null) {
    log(`the ${name} base model is not cached: training it now with the recipe of \`npm run pretrain -- --only ${name}\``);
    await ll.pretrainBaseModel(name, { log });
  }
  const loaded = await ll.loadBaseModel(name);
  const r = loaded.record as ll.BaseModelRecord;
  // no machine paths in results: the recipe and the run are what identify the base
  return { model: loaded.model, description: `the ${name} base model of \`npm run pretrain\` (${r.updates} updates on ${r.backend}, ${r.date.slice(0, 10)})` };
}

/** --render: the Markdown and figures again from each section's JSON, running nothing. */
async function render(only: Section[], out: string): Promise<void> {
  for (const section of only) {
    if (section === 'flops' || section === 'lengths') continue; // flops: exact, its header records the run; lengths: rerun it
    const file = path.join(out, `${section}.json`);
    if (!fs.existsSync(file)) {
      console.error(`[reproduce] ${file}: not there, skipped (run npm run reproduce -- --only ${section})`);
      continue;
    }
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    if ((ll.ABLATION_SECTIONS as readonly string[]).includes(section)) {
      write(out, `${section}.md`, ll.ablationMarkdown(json) + '\n');
      await writeFigure(out, section, ll.ablationFigure(json));
    } else if (section === 'passkey') {
      if (json.recipe === undefined) {
        console.error(`[reproduce] ${file}: the first round's from-scratch format, skipped (run npm run reproduce -- --only passkey)`);
        continue;
      }
      write(out, 'passkey.md', ll.passkeyExtensionMarkdown(json) + '\n');
      await writeFigure(out, 'passkey', ll.passkeyExtensionFigure(json));
    } else if (section === 'cost') {
      write(out, 'cost.md', ll.costTablesMarkdown(json) + '\n');
      await writeFigure(out, 'cost', ll.costTablesFigure(json));
    }
  }
}

async function main(): Promise<void> {
  const { quick, only, out, fresh, render: renderOnly } = parseArgs(process.argv.slice(2));
  if (renderOnly) return render(only, out);
  await ll.ready();
  const info = ll.backendInfo();
  const log = (l: string) => console.error(`[reproduce] ${l}`);
  const command = (section: string) => `npm run reproduce -- ${quick ? '--quick ' : ''}--only ${section}`;
  log(`backend ${info.name} (${info.threads} thread(s)); sections ${only.join(', ')}${quick ? ' (quick)' : ''}`);

  if (only.includes('flops')) {
    const header = `_${quick ? 'Quick smoke run (not results)' : 'Run'} of ${new Date().toISOString().slice(0, 10)} (closed form: exact on any backend); \`${command('flops')}\`._\n\n`;
    const md = `## FLOPs (paper Table 11)\n\n${header}${ll.flopsTableMarkdown()}\n`;
    write(out, 'flops.md', md);
    await writeFigure(out, 'flops', ll.flopsFigure());
  }

  if (only.includes('lengths')) {
    const header = `_${quick ? 'Quick smoke run (not results)' : 'Run'} of ${new Date().toISOString().slice(0, 10)} on ${info.name} (${info.threads} thread(s)); \`${command('lengths')}\`._\n\n`;
    const base = quick ? null : await baseModel('text', false, log);
    const r = await ll.runContextExtension(
      quick ? { pretrainSteps: 4, finetuneSteps: 2, target: 512, maxWindows: 1, variants: ll.TABLE1_VARIANTS.slice(2), log } : { log, base: base?.model },
    );
    base?.model.dispose();
    write(out, 'context-extension.json', JSON.stringify(r, null, 2) + '\n');
    write(out, 'context-extension.md', `## Context extension in miniature: perplexity by length (paper Table 1's setting)\n\n${header}${ll.contextExtensionMarkdown(r)}\n`);
  }

  const ablations = only.filter((s): s is ll.AblationSection => (ll.ABLATION_SECTIONS as readonly string[]).includes(s));
  if (ablations.length > 0 || only.includes('passkey')) {
    const training = ll.buildTokenStream(ll.sotuSplits().train);
    const heldOut = ll.encode(ll.flattenWhitespace(ll.mobyDickText()));
    if (ablations.length > 0) {
      const text = await baseModel('text', quick, log);
      const data = ll.finetuneData(training, heldOut);
      for (const section of ablations) {
        const r = await ll.runAblation(section, {
          base: text.model,
          baseDescription: text.description,
          data,
          quick,
          out,
          command: command(section),
          resume: !fresh,
          log,
        });
        write(out, `${section}.md`, ll.ablationMarkdown(r) + '\n');
        await writeFigure(out, section, ll.ablationFigure(r));
      }
      text.model.dispose();
    }
    if (only.includes('passkey')) {
      const base = await baseModel('passkey', quick, log);
      const r = await ll.runPasskeyExtension({ base: base.model, baseDescription: base.description, training, quick, out, command: command('passkey'), resume: !fresh, log });
      base.model.dispose();
      write(out, 'passkey.md', ll.passkeyExtensionMarkdown(r) + '\n');
      await writeFigure(out, 'passkey', ll.passkeyExtensionFigure(r));
    }
  }

  if (only.includes('cost')) {
    const r = await ll.runCostTables({ quick, command: command('cost'), log });
    write(out, 'cost.json', JSON.stringify(r, null, 2) + '\n');
    write(out, 'cost.md', ll.costTablesMarkdown(r) + '\n');
    await writeFigure(out, 'cost', ll.costTablesFigure(r));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
