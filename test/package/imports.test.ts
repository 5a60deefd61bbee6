/**
 * The import graph of lib/: no cycle between files (type-only imports count: a cycle through
 * `import type` is still one that a reader has to untangle), and folders import only folders below
 * them in the layer order (LAYERS, as README's layout lists them), from util up to experiments.
 */
import * as fs from 'fs';
import * as path from 'path';

const lib = path.join(__dirname, '..', '..', 'lib');

/** Bottom to top: a folder may import itself and folders before it. */
const LAYERS = ['util', 'backend', 'attention', 'model', 'lora', 'data', 'cost', 'io', 'train', 'eval', 'viz', 'bench', 'experiments'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative module specifiers of every import and re-export, `import type` included. */
function relativeImports(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push(m[1]);
  return specs;
}

function resolve(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(lib, from)} imports '${spec}', which resolves to no file`);
}

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sourceFiles(lib)) edges.set(file, relativeImports(fs.readFileSync(file, 'utf8')).map((s) => resolve(file, s)));
  return edges;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(path.relative(lib, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('lib/ import graph', () => {
  const edges = graph();

  it('finds type-only imports and re-exports (the parser can see what the checks rely on)', () => {
    expect(relativeImports("import type { A } from './a';\nexport { B } from '../b';\nimport * as c from './c';\nexport * from './d';\nimport {\n  E,\n} from './e';")).toEqual(['./a', '../b', './c', './d', './e']);
    expect(cycles(new Map([['x', ['y']], ['y', ['x']], ['z', []]]))).toHaveLength(1); // the check can fail
  });

  it('has no cycle between files, type-only imports included', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('imports only from the same folder or a lower layer', () => {
    const folderOf = (file: string) => path.relative(lib, file).split(path.sep)[0].replace(/\.ts$/, '');
    const wrong: string[] = [];
    for (const [from, tos] of edges) {
      const a = folderOf(from);
      if (a === 'index') continue; // the package root re-exports everything
      for (const to of tos) {
        const b = folderOf(to);
        if (!LAYERS.includes(a) || !LAYERS.includes(b)) wrong.push(`${path.relative(lib, from)}: folder not in the layer list (${a} or ${b})`);
        else if (LAYERS.indexOf(b) > LAYERS.indexOf(a)) wrong.push(`${path.relative(lib, from)} -> ${path.relative(lib, to)} (${a} is below ${b})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
