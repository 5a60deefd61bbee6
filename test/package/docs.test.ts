/**
 * `npm run docs` generates the API reference from the doc comments with TypeDoc into build/docs/:
 * one page per lib/ folder (the subpath exports) and the README as its front page.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

it('npm run docs writes a page per lib/ folder, with the doc comments', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-docs-'));
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', '--silent', 'docs', '--', '--out', out], { cwd: root, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`npm run docs failed: ${err.message}\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
      else resolve();
    });
  });
  const folders = fs.readdirSync(path.join(root, 'lib'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const modules = fs.readdirSync(path.join(out, 'modules')).map((f) => f.replace(/\.html$/, ''));
  expect(modules.sort()).toEqual(folders.sort());
  const attention = fs.readFileSync(path.join(out, 'modules', 'attention.html'), 'utf8');
  expect(attention).toContain('shiftedSparseAttention');
  expect(fs.readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('longlora-ts');
  fs.rmSync(out, { recursive: true, force: true });
});
