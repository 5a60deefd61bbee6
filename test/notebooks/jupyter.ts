/**
 * Helpers for the notebook-platform tests: the project's Jupyter environment (.venv), the
 * "missing environment" policy, notebook files, and running the headless runner.
 *
 * Policy: without a usable .venv the tests that need it FAIL under CI=true and are
 * skipped LOUDLY otherwise (a boxed warning naming the fix, and jest counts them as skipped).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describeWhenAvailable } from '../helpers';

export const root = path.join(__dirname, '..', '..');

interface JupyterEnvModule {
  KERNEL_NAME: string;
  KERNEL_DISPLAY_NAME: string;
  venvDir(): string;
  venvBin(name: string): string;
  venvProblem(): string | null;
  SETUP_HINT: string;
}
// scripts/ is plain CommonJS shared with the npm scripts
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const jupyterEnv = require(path.join(root, 'scripts', 'jupyter-env.js')) as JupyterEnvModule;

/**
 * `describe` when the Jupyter environment is usable; otherwise a failure under CI=true and a loud
 * skip elsewhere. Checked once per file, at collection time.
 */
export function describeWithJupyter(name: string, fn: () => void): void {
  describeWhenAvailable(name, jupyterEnv.venvProblem(), jupyterEnv.SETUP_HINT, 'the Jupyter environment', 'the notebook platform is not installed', fn);
}

/** A code or markdown cell of a test notebook. */
export interface CellSpec {
  source: string;
  markdown?: boolean;
  tags?: string[];
}

/** Writes an nbformat 4.5 notebook for the longlora-ts kernel (or `kernel`). */
export function writeNotebook(file: string, cells: CellSpec[], kernel = 'longlora-ts'): void {
  const nb = {
    cells: cells.map((c, i) => ({
      id: `cell-${i}`,
      cell_type: c.markdown ? 'markdown' : 'code',
      metadata: c.tags ? { tags: c.tags } : {},
      source: c.source,
      ...(c.markdown ? {} : { execution_count: null, outputs: [] }),
    })),
    metadata: {
      kernelspec: { name: kernel, display_name: 'LongLoRA (TypeScript)', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
}

/** One cell as the runner reports it in summary.json. */
export interface CellReport {
  index: number;
  source: string;
  status: string;
  expectedError: boolean;
  outputs: Array<{ type: string; mimes: string[]; name?: string }>;
  problem: boolean;
}

/** One notebook as the runner reports it in summary.json. */
export interface NotebookReport {
  notebook: string;
  output: string | null;
  /** The static HTML export (null with --no-html or when the export failed). */
  html: string | null;
  ok: boolean;
  seconds: number;
  cells: CellReport[];
  problems: string[];
}

/** Runs `npm run notebooks -- args` and returns its exit status, output and summary.json. */
export function runNotebooks(args: string[], outDir: string, env: Record<string, string> = {}): {
  status: number | null;
  output: string;
  summary: { ok: boolean; quick: boolean; notebooks: NotebookReport[] } | null;
} {
  const r = spawnSync('npm', ['run', '--silent', 'notebooks', '--', '--out', outDir, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 600000,
  });
  const summaryFile = path.join(outDir, 'summary.json');
  const summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : null;
  return { status: r.status, output: `${r.stdout}${r.stderr}`, summary };
}

/** A notebook output as stored in .ipynb. */
export interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** A notebook cell as stored in .ipynb. */
export interface NbCell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[] };
  execution_count?: number | null;
  outputs?: NbOutput[];
}

/** Reads an .ipynb file. */
export function readNotebook(file: string): { cells: NbCell[]; metadata: { kernelspec?: { name?: string; display_name?: string } }; nbformat: number } {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** nbformat stores multi-line strings as arrays of lines. */
export function joined(v: unknown): string {
  return Array.isArray(v) ? v.join('') : String(v ?? '');
}
