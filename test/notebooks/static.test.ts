/**
 * What can be checked without running Jupyter: the committed notebooks (kernel metadata, clean
 * outputs, import by name, quick mode; for teaching notebooks 01+ the structure: what the reader
 * will learn, the backend, "Check your understanding" with its answer cells), the checks the
 * notebook tests use (with negative controls), notebooks/README.md, the kernel spec template and
 * its installer, the launcher's argument check, the setup script's skip paths, the pinned
 * requirements and the npm scripts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { joined, readNotebook, root } from './jupyter';
import type { NbCell, NbOutput } from './jupyter';
import { figureProblems, isTeachingNotebook, notebookFigureProblems, structureProblems } from './checks';
import { ready } from '../../lib/backend';
import { costCurves, maskHeatmap, toMimeBundle, vegaLiteFigure, PLOTLY_MIME, SVG_MIME, VEGALITE_MIME } from '../../lib/viz';
import type { MimeBundle, PlotlyFigure } from '../../lib/viz';

const notebooksDir = path.join(root, 'notebooks');
const notebooks = fs.readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort();

interface KernelInstaller {
  parseArgs(argv: string[]): { user: boolean; prefix: string | null; backend: string | null; threads: string | null };
  kernelJson(opts?: { backend?: string | null; threads?: string | null }): { argv: string[]; display_name: string; language: string; env: Record<string, string> };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const installer = require(path.join(root, 'kernels', 'longlora-ts', 'install.js')) as KernelInstaller;

describe('committed notebooks', () => {
  it('include 00-setup-check.ipynb', () => {
    expect(notebooks).toContain('00-setup-check.ipynb');
  });

  it.each(notebooks)('%s names the longlora-ts kernel, is clean, imports the package by name and honours LONGLORA_QUICK', (name) => {
    const nb = readNotebook(path.join(notebooksDir, name));
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec).toMatchObject({ name: 'longlora-ts', display_name: 'LongLoRA (TypeScript)' });
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThan(0);
    // outputs belong in build/notebooks, not in git
    expect(code.filter((c) => (c.outputs ?? []).length > 0 || c.execution_count != null).length).toBe(0);
    const source = code.map((c) => joined(c.source)).join('\n');
    expect(source).toMatch(/from 'longlora-ts'/);
    expect(source).not.toMatch(/from '\.\.?\/(lib|dist)/);
    expect(source).toContain('LONGLORA_QUICK');
  });
});

describe('teaching notebooks (01 onwards; those that exist)', () => {
  const teaching = notebooks.filter(isTeachingNotebook);

  it('state what the reader will learn, print the backend, and end with "Check your understanding" and at least 2 answer cells', () => {
    const problems = Object.fromEntries(teaching.map((n) => [n, structureProblems(n, readNotebook(path.join(notebooksDir, n)).cells)]));
    expect(problems).toEqual(Object.fromEntries(teaching.map((n) => [n, []])));
  });

  it('are listed by file name in notebooks/README.md, as is 00', () => {
    const readme = fs.readFileSync(path.join(notebooksDir, 'README.md'), 'utf8');
    expect(notebooks.filter((n) => !readme.includes(n))).toEqual([]);
  });
});

describe('the structure check (negative controls)', () => {
  const md = (source: string): NbCell => ({ cell_type: 'markdown', source, metadata: {} });
  const code = (source: string): NbCell => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
  const good = (): NbCell[] => [
    md('# 02 · Shifted sparse attention\n\nYou will learn:\n- how S2-Attn groups tokens\n- why the shift matters\n'),
    code("import * as ll from 'longlora-ts';\nawait ll.ready();\nconsole.log(ll.backendInfo());"),
    md('## Check your understanding\n\n1. How many scores ...?'),
    code('// answer 1'),
    code('// answer 2'),
  ];

  it('passes a notebook that follows it', () => {
    expect(structureProblems('02-s2.ipynb', good())).toEqual([]);
    expect(['00-setup-check.ipynb', '01-x.ipynb', '12-y.ipynb', 'README.md'].map(isTeachingNotebook)).toEqual([false, true, true, false]);
  });

  it('names each departure', () => {
    const cells = good();
    expect(structureProblems('02-s2.ipynb', [cells[1], ...cells.slice(2)])).toEqual([
      'the first cell must be markdown (title and what the reader will learn)',
    ]);
    expect(structureProblems('03-s2.ipynb', [md('# 02 · Title\n\nWhat this covers:\n- one thing'), ...cells.slice(1)])).toEqual([
      'the first cell must start with a title "# 03 · ..."',
      'the first cell must say what the reader will learn (the word "learn")',
      'the first cell must list what the reader will learn (at least 2 list items, found 1)',
    ]);
    expect(structureProblems('02-s2.ipynb', [cells[0], code('console.log(1)'), ...cells.slice(2)])).toEqual([
      'one of the first two code cells must print the backend (ll.backendInfo())',
    ]);
    expect(structureProblems('02-s2.ipynb', cells.slice(0, 2))).toEqual(['no "Check your understanding" section (a markdown heading)']);
    expect(structureProblems('02-s2.ipynb', cells.slice(0, 4))).toEqual([
      'the "Check your understanding" section needs at least 2 code cells after it (answers computed and asserted), found 1',
    ]);
  });
});

describe('the figure check (title and text alternative of every figure output)', () => {
  beforeAll(async () => {
    await ready({ backend: 'cpu' });
  });
  const output = (data: MimeBundle): NbOutput => ({ output_type: 'display_data', data: data as Record<string, unknown>, metadata: {} });

  it('passes the library figures as show() emits them', async () => {
    const figures = [maskHeatmap([[[true]]]), costCurves([{ n: 1, t: 2 }], { x: 'n', y: 't' }), vegaLiteFigure({ title: 't', mark: 'point' })];
    for (const f of figures) expect(figureProblems(output(await toMimeBundle(f)))).toEqual([]);
  });

  it('names a missing title, text alternative or SVG accessibility', async () => {
    const vega = await toMimeBundle(vegaLiteFigure({ mark: 'point' }));
    expect(figureProblems(output(vega))).toEqual(['vega-lite figure without a title', 'the SVG has no <title>']);
    const titled = await toMimeBundle(vegaLiteFigure({ title: 't', mark: 'point' }));
    const { description: _d, ...noDescription } = titled[VEGALITE_MIME] as Record<string, unknown>;
    const bareSvg = (titled[SVG_MIME] as string).replace(/ role="img" aria-label="[^"]*"/, '').replace(/<title>[^<]*<\/title><desc>[^<]*<\/desc>/, '');
    expect(figureProblems(output({ ...titled, [VEGALITE_MIME]: noDescription, [SVG_MIME]: bareSvg, 'text/plain': '<t>' }))).toEqual([
      'vega-lite figure without a text alternative (description)',
      'the SVG root has no role="img"',
      'the SVG root has no aria-label',
      'the SVG has no <title>',
      'the SVG has no <desc>',
    ]);
    const plotly = await toMimeBundle(costCurves([{ n: 1, t: 2 }], { x: 'n', y: 't' }));
    const fig = plotly[PLOTLY_MIME] as PlotlyFigure;
    const stripped = { data: fig.data, layout: { ...fig.layout, title: undefined, meta: undefined } };
    expect(figureProblems(output({ ...plotly, [PLOTLY_MIME]: stripped }))).toEqual([
      'plotly figure without a title (layout.title)',
      'plotly figure without a text alternative (layout.meta.description)',
    ]);
    expect(figureProblems(output({ [VEGALITE_MIME]: titled[VEGALITE_MIME], 'text/plain': 'x' }))).toEqual([
      'no image/svg+xml beside the figure',
      'text/plain does not carry the text alternative',
    ]);
    const cells: NbCell[] = [{ cell_type: 'code', source: 'await ll.show(fig)', metadata: {}, outputs: [output(vega), { output_type: 'stream', name: 'stdout', text: 'x' }] }];
    expect(notebookFigureProblems(cells)).toEqual({
      figures: 1,
      problems: ['cell 0 (await ll.show(fig)): vega-lite figure without a title', 'cell 0 (await ll.show(fig)): the SVG has no <title>'],
    });
  });
});

describe('kernel spec', () => {
  const template = fs.readFileSync(path.join(root, 'kernels', 'longlora-ts', 'kernel.template.json'), 'utf8');

  it('keeps only placeholders in git, no machine paths', () => {
    expect(template).not.toMatch(/\/(usr|home|root|work|opt)\//);
    expect(JSON.parse(template).argv).toEqual(['{{node}}', '{{launcher}}', 'kernel', '--config-path', '{connection_file}']);
  });

  it('is filled in with this node and the launcher, name and quiet TensorFlow logs', () => {
    const spec = installer.kernelJson();
    expect(spec.argv).toEqual([process.execPath, path.join(root, 'kernels', 'longlora-ts', 'launch.js'), 'kernel', '--config-path', '{connection_file}']);
    expect(spec.display_name).toBe('LongLoRA (TypeScript)');
    expect(spec.language).toBe('typescript');
    expect(spec.env).toEqual({ TF_CPP_MIN_LOG_LEVEL: '2' });
    expect(installer.kernelJson({ backend: 'cpu', threads: '2' }).env).toEqual({ TF_CPP_MIN_LOG_LEVEL: '2', LONGLORA_BACKEND: 'cpu', LONGLORA_WASM_THREADS: '2' });
  });

  it('installer options are checked', () => {
    expect(installer.parseArgs(['--user', '--backend=wasm', '--threads=2'])).toEqual({ user: true, prefix: null, backend: 'wasm', threads: '2' });
    expect(() => installer.parseArgs(['--backend=gpu'])).toThrow("unknown or invalid option '--backend=gpu'; use --user, --prefix=DIR, --backend=tensorflow-gpu|tensorflow|webgpu|wasm|cpu, --threads=1..8");
    expect(() => installer.parseArgs(['--threads=9'])).toThrow("invalid option '--threads=9'");
    expect(() => installer.parseArgs(['--user', '--prefix=/tmp/x'])).toThrow('--user and --prefix exclude each other');
  });

  it('the launcher refuses arguments that are not from Jupyter, saying what it expects', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'kernels', 'longlora-ts', 'launch.js'), 'serve'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('longlora-ts kernel: expected arguments "kernel --config-path <connection file>", got ["serve"]');
  });
});

describe('setup-jupyter (npm install hook)', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(root, 'scripts', 'setup-jupyter.js')], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('can be skipped', () => {
    const r = run({ LONGLORA_SKIP_JUPYTER: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('[setup:jupyter] skipped (LONGLORA_SKIP_JUPYTER=1)');
  });

  it('is skipped by npm pack / publish', () => {
    const r = run({ npm_command: 'pack' });
    expect(r.stdout).toContain('skipped (npm pack)');
  });

  it('without Python: explains what to install, creates nothing and still succeeds (the library is installed)', () => {
    const venv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-novenv-')), '.venv');
    const r = run({ LONGLORA_PYTHON: '/nonexistent/python3', LONGLORA_VENV: venv });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('the library is installed, but the notebook platform is NOT (no Python >= 3.9 with venv)');
    expect(r.stdout).toContain('apt-get install python3 python3-venv');
    expect(r.stdout).toContain('npm run setup:jupyter');
    expect(fs.existsSync(venv)).toBe(false);
  });
});

describe('project wiring', () => {
  it('pins JupyterLab 4, nbclient, nbconvert 7 and plotly >= 6.1', () => {
    const req = fs.readFileSync(path.join(root, 'requirements-jupyter.txt'), 'utf8');
    const pins = Object.fromEntries([...req.matchAll(/^([a-z_-]+)==([\d.]+)$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(pins).sort()).toEqual(['jupyterlab', 'nbclient', 'nbconvert', 'plotly']);
    expect(pins.jupyterlab).toMatch(/^4\./);
    expect(pins.nbconvert).toMatch(/^7\./);
    const [major, minor] = pins.plotly.split('.').map(Number);
    expect(major > 6 || (major === 6 && minor >= 1)).toBe(true);
  });

  it('has the npm scripts of the notebook platform', () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts).toMatchObject({
      postprepare: 'node scripts/setup-tensorflow.js && node scripts/setup-jupyter.js',
      'setup:tensorflow': 'node scripts/setup-tensorflow.js',
      'setup:jupyter': 'node scripts/setup-jupyter.js',
      'kernel:install': 'node kernels/longlora-ts/install.js',
      start: 'node scripts/start-jupyter.js',
      notebooks: 'node scripts/run-notebooks.js',
      'test:browser': 'node scripts/test-browser.js',
    });
  });
});
