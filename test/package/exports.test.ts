/**
 * The package's subpath exports (`longlora-ts/attention`, ...): Node resolves them through
 * package.json `exports` to the folder's built index, and TypeScript 5.0.4 (tslab's compiler, which
 * does not read `exports` under its node10 resolution) finds their types through `typesVersions`.
 * The root export keeps working for both.
 */
import * as fs from 'fs';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts50 = require('typescript-5.0') as typeof import('typescript');
const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const folders = fs.readdirSync(path.join(root, 'lib'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

describe('subpath exports', () => {
  it('exist for every lib/ folder, in exports and typesVersions alike', () => {
    expect(Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json').map((k) => k.slice(2)).sort()).toEqual(folders);
    expect(Object.keys(pkg.typesVersions['*']).sort()).toEqual(folders);
  });

  it.each(folders)('longlora-ts/%s loads at run time and its names are the root package\'s', (folder) => {
    // resolved from the repository, as a project depending on longlora-ts would (node_modules/longlora-ts links here)
    const resolved = require.resolve(`longlora-ts/${folder}`, { paths: [root] });
    expect(path.relative(root, resolved)).toBe(path.join('dist', folder, 'index.js'));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const sub = require(resolved);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const all = require(path.join(root, 'dist', 'index.js'));
    const names = Object.keys(sub);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(all[name]).toBe(sub[name]);
  });

  it.each(folders)('TypeScript 5.0.4 (node10 resolution) finds the types of longlora-ts/%s', (folder) => {
    const host = ts50.sys;
    const from = path.join(root, 'test', 'consumer.ts');
    const r = ts50.resolveModuleName(`longlora-ts/${folder}`, from, { moduleResolution: ts50.ModuleResolutionKind.NodeJs }, host);
    expect(r.resolvedModule).toBeDefined();
    expect(fs.realpathSync(r.resolvedModule!.resolvedFileName)).toBe(path.join(root, 'dist', folder, 'index.d.ts'));
    const rootTypes = ts50.resolveModuleName('longlora-ts', from, { moduleResolution: ts50.ModuleResolutionKind.NodeJs }, host);
    expect(fs.realpathSync(rootTypes.resolvedModule!.resolvedFileName)).toBe(path.join(root, 'dist', 'index.d.ts'));
  });
});
