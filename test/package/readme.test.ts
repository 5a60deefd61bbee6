/**
 * The README's "Use it" example runs as written (against the built package), with fewer steps and
 * windows so it fits a test: README examples that do not run are worse than none. Its measured
 * tables are the committed bench run, row for row.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');

function readmeExample(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('README.md has no ```ts block under "## Use it"');
  return match[1];
}

describe('README example', () => {
  it('runs against the built package', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-readme-'));
    let code = readmeExample();
    const replacements: Array<[string, string]> = [
      ["from 'longlora-ts'", `from ${JSON.stringify(path.join(root, 'dist'))}`],
      ['steps: 200', 'steps: 1'],
      ['maxWindows: 8', 'maxWindows: 2'],
      ["'out/adapter'", JSON.stringify(path.join(out, 'adapter'))],
      ["'out/merged'", JSON.stringify(path.join(out, 'merged'))],
    ];
    for (const [from, to] of replacements) {
      expect(code).toContain(from); // the README still says what this test assumes
      code = code.split(from).join(to);
    }
    const js = ts.transpileModule(`export async function main() {\n${code.replace(/^import .*$/m, '')}\nreturn table;\n}`, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 },
    }).outputText;
    const importLine = /^import \* as ll from (.*);$/m.exec(code);
    expect(importLine).not.toBeNull();
    const module = { exports: {} as { main: () => Promise<Array<{ seqLen: number; perplexity: number }>> } };
    new Function('module', 'exports', 'require', `const ll = require(${(importLine as RegExpExecArray)[1]});\n${js}`)(module, module.exports, require);
    const table = await module.exports.main();
    expect(table.map((r) => r.seqLen)).toEqual([256, 512, 1024]);
    for (const r of table) expect(r.perplexity).toBeGreaterThan(1);
    expect(fs.readdirSync(path.join(out, 'adapter')).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'trainable_params.safetensors']);
    expect(fs.readdirSync(path.join(out, 'merged'))).toEqual(expect.arrayContaining(['config.json', 'model.safetensors']));
    fs.rmSync(out, { recursive: true, force: true });
    // the built package's own backend: free its wasm threads
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(path.join(root, 'dist')).shutdownBackends();
  });
});

describe('README cost tables', () => {
  it('are the committed bench runs (results/bench-tensorflow.md, bench-wasm.md, peer.md), row for row', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const committed = new Set(['bench-tensorflow.md', 'bench-wasm.md', 'peer.md'].flatMap((f) => fs.readFileSync(path.join(root, 'results', f), 'utf8').split('\n')));
    const measured = readme.slice(readme.indexOf('Measured on this library'), readme.indexOf('![time and memory'));
    const rows = measured.split('\n').filter((l) => /^\| (\d|ours|paper|\|)/.test(l) || l.startsWith('Longest presets.small'));
    expect(rows.length).toBeGreaterThanOrEqual(25);
    expect(rows.filter((l) => !committed.has(l))).toEqual([]);
  });
});
