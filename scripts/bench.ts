/**
 * npm run bench [-- --quick] [--backend NAME] [--out FILE]
 * Runs the benchmark harness (lib/cost/bench.ts) on the default backend (or NAME) and writes its
 * JSON report (default results/bench.json; results/bench-NAME.json with --backend) and prints a
 * Markdown summary.
 */
import './ensure-built';
import * as fs from 'fs';
import * as path from 'path';
import { runBench, benchMarkdown, costByLengthFigure, vegaLiteToSvg, ready, BACKEND_NAMES } from 'longlora-ts';
import type { BackendName } from 'longlora-ts';

const USAGE = 'usage: npm run bench [-- --quick] [--backend tensorflow|wasm|cpu|tensorflow-gpu] [--out FILE]';

function parseArgs(argv: string[]): { quick: boolean; out: string; backend: BackendName | undefined } {
  let quick = false;
  let out: string | undefined;
  let backend: BackendName | undefined;
  const takeBackend = (v: string | undefined) => {
    if (v === undefined || !(BACKEND_NAMES as readonly string[]).includes(v)) throw new Error(`--backend needs one of ${BACKEND_NAMES.join(', ')} (got ${v}); ${USAGE}`);
    backend = v as BackendName;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--backend') takeBackend(argv[++i]);
    else if (a.startsWith('--backend=')) takeBackend(a.slice('--backend='.length));
    else if (a === '--out') {
      const v = argv[++i];
      if (v === undefined) throw new Error('--out needs a file name, e.g. --out results/bench-quick.json');
      out = v;
    } else if (a.startsWith('--out=')) out = a.slice('--out='.length);
    else throw new Error(`unknown argument '${a}'; ${USAGE}`);
  }
  return { quick, out: out ?? path.join('results', backend === undefined ? 'bench.json' : `bench-${backend}.json`), backend };
}

async function main(): Promise<void> {
  const { quick, out, backend } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  if (backend !== undefined) await ready({ backend });
  const report = await runBench({ quick, log: (line) => console.error(`[bench] ${line}`) });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const stem = out.replace(/\.json$/, '');
  const markdown = benchMarkdown(report);
  const figure = costByLengthFigure(report);
  const files: Array<[string, string]> = [
    [out, JSON.stringify(report, null, 2) + '\n'],
    [`${stem}.md`, markdown + '\n'],
    [`${stem}-cost.vl.json`, JSON.stringify(figure, null, 2) + '\n'],
    [`${stem}-cost.svg`, await vegaLiteToSvg(figure)],
  ];
  for (const [file, text] of files) {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  console.log(markdown);
  console.log(`\nwrote ${files.map(([f]) => f).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
