/**
 * Negative controls for the headless runner: deliberately broken notebooks in a temp folder must
 * be reported as failing, each for the right reason, including the cell that tslab silently
 * skips after an error (reply status 'abort', no output), which nbclient alone counts as passed.
 * Positive control: a cell tagged raises-exception may fail, and with the runner's settle delay
 * the next cell still runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWithJupyter, runNotebooks, writeNotebook } from './jupyter';
import type { NotebookReport } from './jupyter';

describeWithJupyter('run-notebooks negative controls', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-nb-'));
  const nb = (name: string) => path.join(dir, name);
  let reports: Record<string, NotebookReport>;
  let first: ReturnType<typeof runNotebooks>;

  beforeAll(() => {
    // one kernel start per notebook is the cost here (~3 s each), so problems that do not stop
    // execution share one notebook
    writeNotebook(nb('error.ipynb'), [{ source: "console.log('one')" }, { source: "const n: number = 'not a number';\nconsole.log(n)" }, { source: "console.log('three')" }]);
    writeNotebook(nb('tagged.ipynb'), [{ source: "throw new Error('on purpose')", tags: ['raises-exception'] }, { source: "console.log('after')" }]);
    writeNotebook(
      nb('problems.ipynb'),
      [
        { source: "console.log('fine')", tags: ['raises-exception'] },
        { source: 'const quiet = 1;' },
        { source: 'const alsoQuiet = 2;', tags: ['no-output'] },
        { source: "import * as tslab from 'tslab';\ntslab.display.raw('application/vnd.vegalite.v5+json', { mark: 'point' } as any);" },
        { source: "console.error('warning: something')" },
        { source: "console.log('last')" },
      ],
      'tslab',
    );
    first = runNotebooks(['error', 'tagged', 'problems'].map((n) => nb(`${n}.ipynb`)), path.join(dir, 'out'));
    reports = Object.fromEntries((first.summary?.notebooks ?? []).map((r) => [path.basename(r.notebook, '.ipynb'), r]));
  }, 600000);

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits non-zero and writes a summary naming every notebook', () => {
    expect(first.status).toBe(1);
    expect(first.summary?.ok).toBe(false);
    expect(Object.keys(reports).sort()).toEqual(['error', 'problems', 'tagged']);
    expect(first.output).toMatch(/run-notebooks: 1 passed, 2 failed/);
  });

  it('a failed cell (here a TypeScript type error) fails the notebook; the cells after it are reported as not executed', () => {
    const r = reports.error;
    expect(r.ok).toBe(false);
    expect(r.cells.map((c) => c.status)).toEqual(['ok', 'error', 'not run']);
    expect(r.problems[0]).toMatch(/^cell 1 \("const n: number = 'not a number';"\): failed:\n[\s\S]*Type 'string' is not assignable to type 'number'/);
    expect(r.problems[1]).toMatch(/^cell 2 .*: not executed \(not run; stopped at the first unexpected error\)/);
    expect(r.problems).toHaveLength(2);
  });

  it('positive control: a raises-exception cell may fail and, after the settle delay, the next cell runs', () => {
    expect(reports.tagged.ok).toBe(true);
    expect(reports.tagged.cells.map((c) => c.status)).toEqual(['error', 'ok']);
  });

  it('reports each problem that does not stop execution, and nothing for the cells that are fine', () => {
    const r = reports.problems;
    expect(r.cells.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.cells.map((c) => c.problem)).toEqual([true, true, false, true, true, false]);
    const p = r.problems;
    expect(p[0]).toBe("metadata names kernel 'tslab'; every notebook must name 'longlora-ts' (kernelspec.name)");
    expect(p[1]).toBe("cell 0 (\"console.log('fine')\"): tagged raises-exception but did not fail");
    expect(p[2]).toBe("cell 1 ('const quiet = 1;'): ran but produced no output (tag the cell no-output if that is intended)");
    expect(p[3]).toMatch(/^cell 3 .*: figure output application\/vnd\.vegalite\.v5\+json has no image\/svg\+xml beside it$/);
    expect(p[4]).toMatch(/^cell 4 .*: wrote to stderr \(shown as an error in JupyterLab\):\nwarning: something$/);
    expect(p).toHaveLength(5);
  });

  it("the cell tslab silently skips after an error (status 'abort', no output) is caught", () => {
    // without the settle delay the next request reaches tslab inside its 200 ms reset window
    const r = runNotebooks(['--settle-ms', '0', nb('tagged.ipynb')], path.join(dir, 'out-abort'));
    expect(r.status).toBe(1);
    const report = r.summary?.notebooks[0];
    expect(report?.cells.map((c) => [c.status, c.outputs.length])).toEqual([
      ['error', 1],
      ['abort', 0],
    ]);
    expect(report?.problems).toEqual([
      "cell 1 (\"console.log('after')\"): not executed: tslab aborted it (status 'abort'), which it does for ~200 ms after a failed cell",
    ]);
  });
});
