/**
 * `npm run reproduce -- --quick` runs every experiment end to end through its npm script and writes
 * tables that put the paper's numbers beside ours and say how ours were obtained. Quick runs are
 * smoke tests: no assertion on the values they learn, only on what they must report.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { reproductionTables } from '../../lib/experiments';

const root = path.join(__dirname, '..', '..');

function reproduce(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'reproduce', '--', ...args], { cwd: root, timeout: 600_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 });
    });
  });
}

it('npm run reproduce -- --quick writes every table with the paper beside ours, its figure, and what reproductionTables reads', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-reproduce-'));
  const r = await reproduce(['--quick', '--out', dir]);
  if (r.code !== 0) throw new Error(`reproduce failed (${r.code}): ${r.stderr.slice(-3000)}`);
  const sections = ['extension', 'table2', 'table6', 'table7', 'table8', 'passkey', 'cost'];
  const expected = ['context-extension.json', 'context-extension.md', 'flops.md', 'flops.svg', 'flops.vl.json', ...sections.flatMap((s) => [`${s}.json`, `${s}.md`, `${s}.svg`, `${s}.vl.json`])].sort();
  expect(fs.readdirSync(dir).sort()).toEqual(expected);

  const flops = fs.readFileSync(path.join(dir, 'flops.md'), 'utf8');
  expect(flops).toContain('| 65536 | ✓ | 562.9 / 562.9 |'); // ours / paper, Table 11
  expect(flops).toMatch(/Quick smoke run \(not results\)/);
  for (const s of sections) {
    const md = fs.readFileSync(path.join(dir, `${s}.md`), 'utf8');
    expect(md).toMatch(/Quick smoke run of the pipeline: these numbers are not results/);
    expect(md).toContain(`npm run reproduce -- --quick --only ${s}`);
    expect(md).not.toMatch(/NaN/);
    expect(fs.readFileSync(path.join(dir, `${s}.svg`), 'utf8')).toMatch(/^<svg/);
  }
  expect(fs.readFileSync(path.join(dir, 'passkey.md'), 'utf8')).toMatch(/Paper \(v3 Figure 4\)/);
  expect(fs.readFileSync(path.join(dir, 'cost.md'), 'utf8')).toMatch(/Paper Table 12[\s\S]*Paper Table 13/);

  // what notebook 07 and the slides read: every section, marked quick
  const tables = reproductionTables(dir);
  expect(tables.map((t) => t.id)).toEqual(['flops', ...sections]);
  for (const t of tables) {
    expect(t.quick).toBe(t.id !== 'flops');
    expect(t.markdown.length).toBeGreaterThan(100);
    expect(t.figure).not.toBeNull();
  }
  // --render rewrites a table from its JSON without running anything
  const before = fs.readFileSync(path.join(dir, 'table8.md'), 'utf8');
  fs.rmSync(path.join(dir, 'table8.md'));
  const rendered = await reproduce(['--render', '--only', 'table8', '--out', dir]);
  expect(rendered.code).toBe(0);
  expect(fs.readFileSync(path.join(dir, 'table8.md'), 'utf8')).toBe(before);
  fs.rmSync(dir, { recursive: true, force: true });
});

it('npm run reproduce rejects an unknown section with the usage', async () => {
  const r = await reproduce(['--only', 'table9']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/--only takes a comma-separated list of flops, lengths, extension, table2, table6, table7, table8, passkey, cost; got 'table9'/);
});
