/**
 * npm run reproduce [-- --quick] [--only flops,extension,passkey] [--out DIR]
 * Regenerates the paper's measurements in miniature, the paper's numbers beside ours: the FLOPs
 * table (exact), context extension with full / short / S2-Attn / LongLoRA fine-tuning (Table 1's
 * question; minutes), passkey retrieval by length (Figure 4's question; 775 + 825 updates, 30 minutes
 * on wasm with 2 threads). The context-extension experiment starts from the text base cached by
 * `npm run pretrain` when there is one. Writes Markdown and JSON into results/ (default). --quick runs tiny
 * versions (a smoke test of the pipeline, not results).
 */
import './ensure-built';
import * as fs from 'fs';
import * as path from 'path';
import * as ll from 'longlora-ts';

const SECTIONS = ['flops', 'extension', 'passkey'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]): { quick: boolean; only: Section[]; out: string } {
  let quick = false;
  let only: Section[] = [...SECTIONS];
  let out = 'results';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = list.filter((x) => !(SECTIONS as readonly string[]).includes(x));
      if (list.length === 0 || bad.length > 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}; got '${list.join(',')}'`);
      only = list as Section[];
    } else if (a === '--out') out = argv[++i] ?? out;
    else throw new Error(`unknown argument '${a}'; usage: npm run reproduce [-- --quick] [--only ${SECTIONS.join(',')}] [--out DIR]`);
  }
  return { quick, only, out };
}

function write(dir: string, name: string, text: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  console.error(`[reproduce] wrote ${file}`);
}

async function main(): Promise<void> {
  const { quick, only, out } = parseArgs(process.argv.slice(2));
  await ll.ready();
  const info = ll.backendInfo();
  const header = `_${quick ? 'Quick smoke run (not results)' : 'Run'} of ${new Date().toISOString().slice(0, 10)} on ${info.name} (${info.threads} thread(s)); \`npm run reproduce${quick ? ' -- --quick' : ''}\`._\n\n`;
  const log = (l: string) => console.error(`[reproduce] ${l}`);
  if (only.includes('flops')) {
    const md = `## FLOPs (paper Table 11)\n\n${header}${ll.flopsTableMarkdown()}\n`;
    write(out, 'flops.md', md);
    console.log(md);
  }
  if (only.includes('extension')) {
    // the text base of `npm run pretrain` when it is cached (the same recipe, trained once)
    const cached = quick ? null : ll.cachedBaseModel('text');
    const base = cached === null ? null : await ll.loadBaseModel('text');
    if (base !== null) log(`starting from ${base.description}`);
    const r = await ll.runContextExtension(
      quick ? { pretrainSteps: 4, finetuneSteps: 2, target: 512, maxWindows: 1, variants: ll.TABLE1_VARIANTS.slice(2), log } : { log, ...(base ? { base: base.model } : {}) },
    );
    base?.model.dispose();
    write(out, 'context-extension.json', JSON.stringify(r, null, 2) + '\n');
    const md = `## Context extension in miniature (paper Table 1)\n\n${header}${ll.contextExtensionMarkdown(r)}\n`;
    write(out, 'context-extension.md', md);
    console.log(md);
  }
  if (only.includes('passkey')) {
    const r = await ll.runPasskeyExperiment(quick ? { copyUpdates: 10, updates: 5, advanceAt: 0, checkEvery: 1, checkTrials: 2, evalEvery: 2, evalLengths: [320], trials: 2, seqLen: 320, log } : { log });
    write(out, 'passkey.json', JSON.stringify(r, null, 2) + '\n');
    const md = `## Passkey retrieval (paper Figure 4)\n\n${header}${ll.passkeyMarkdown(r)}\n`;
    write(out, 'passkey.md', md);
    console.log(md);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
