/**
 * Scripts use the built package (`dist/`, as users do); a `dist/` older than `lib/` would run stale
 * code and report its numbers as current. Imported first by the scripts: stops them with the fix.
 */
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');

function newestSource(dir: string): { file: string; mtimeMs: number } {
  let newest = { file: '', mtimeMs: 0 };
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestSource(full) : /\.(ts|json|cjs)$/.test(entry.name) ? { file: full, mtimeMs: fs.statSync(full).mtimeMs } : newest;
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

const built = path.join(root, 'dist', 'index.js');
if (!fs.existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first (or `npm install`, which builds)');
const source = newestSource(path.join(root, 'lib'));
if (source.mtimeMs > fs.statSync(built).mtimeMs) {
  throw new Error(`dist/ is older than ${path.relative(root, source.file)}: run \`npm run build\` first (this script uses the built package)`);
}
