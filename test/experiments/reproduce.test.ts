/**
 * `npm run reproduce -- --quick` runs every experiment end to end through its npm script and writes
 * tables that put the paper's numbers beside ours and say how ours were obtained. Quick runs are
 * smoke tests: no assertion on the values they learn, only on what they must report.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

function reproduce(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'reproduce', '--', ...args], { cwd: root, timeout: 600_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 });
    });
  });
}

it('npm run reproduce -- --quick writes every table with the paper beside ours', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-reproduce-'));
  const r = await reproduce(['--quick', '--out', dir]);
  if (r.code !== 0) throw new Error(`reproduce failed (${r.code}): ${r.stderr.slice(-3000)}`);
  expect(fs.readdirSync(dir).sort()).toEqual(['context-extension.json', 'context-extension.md', 'flops.md', 'passkey.json', 'passkey.md']);

  const flops = fs.readFileSync(path.join(dir, 'flops.md'), 'utf8');
  expect(flops).toContain('| 65536 | ✓ | 562.9 / 562.9 |'); // ours / paper, Table 11
  expect(flops).toMatch(/Quick smoke run \(not results\)/);

  const ext = JSON.parse(fs.readFileSync(path.join(dir, 'context-extension.json'), 'utf8'));
  const lengths: number[] = ext.settings.evalLengths;
  expect(ext.rows.length).toBeGreaterThanOrEqual(2); // the base model and at least one fine-tune
  for (const row of ext.rows) for (const n of lengths) expect(Number.isFinite(row.perplexity[n]) && row.perplexity[n] > 1).toBe(true);
  const extMd = fs.readFileSync(path.join(dir, 'context-extension.md'), 'utf8');
  expect(extMd).toContain('| S2-Attn (1/4, shift) | 8.04 | 8.03 | 8.08 |'); // the paper's Table 1 row
  expect(extMd).toMatch(/^How: presets\.small/m);

  const passkey = JSON.parse(fs.readFileSync(path.join(dir, 'passkey.json'), 'utf8'));
  for (const b of passkey.byLength) expect(b.accuracy).toBeGreaterThanOrEqual(0);
  const passkeyMd = fs.readFileSync(path.join(dir, 'passkey.md'), 'utf8');
  expect(passkeyMd).toMatch(/Paper \(v3 Figure 4\)/);
  fs.rmSync(dir, { recursive: true, force: true });
});

it('npm run reproduce rejects an unknown section with the usage', async () => {
  const r = await reproduce(['--only', 'table9']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/--only takes a comma-separated list of flops, extension, passkey; got 'table9'/);
});
