/**
 * Every vega-lite spec the library writes is valid against vega-lite's own JSON schema
 * (node_modules/vega-lite/build/vega-lite-schema.json, draft-07), checked by an independent
 * validator: Python's `jsonschema` from the project's .venv (JupyterLab depends on it). Also
 * compiles each with vega-lite and asserts no warnings (nothing silently dropped).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ready } from '../../lib/backend';
import { compileVegaLite, costCurves, lossCurve, maskHeatmap, plotlyFigure, plotlyToVegaLite, VEGALITE_SCHEMA } from '../../lib/viz';
import type { Figure, VegaLiteSpec } from '../../lib/viz';
import { describeWithJupyter, jupyterEnv, root } from '../notebooks/jupyter';

beforeAll(async () => {
  await ready({ backend: 'cpu' });
});

function specOf(fig: Figure): VegaLiteSpec {
  if (fig.kind === 'vega-lite') return fig.spec;
  if (fig.kind === 'plotly') return plotlyToVegaLite(fig.figure);
  throw new Error(`no vega-lite spec in a ${fig.kind} figure`);
}

function librarySpecs(): Record<string, VegaLiteSpec> {
  const curve = lossCurve({ writer: null });
  curve.push(0, 2);
  curve.push(1, 1, 'eval');
  const causal = [0, 1, 2].map(() => [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => j <= i)));
  return {
    maskHeatmap: specOf(maskHeatmap(causal, { title: 'm' })),
    lossCurve: specOf(curve.figure()),
    lossCurveLog: specOf(lossCurve({ writer: null, logY: true }).figure()),
    costCurves: specOf(costCurves([{ n: 1, a: 2, b: 3 }, { n: 2, a: 3, b: null }], { x: 'n', y: ['a', 'b'], logX: true, logY: true, title: 'c' })),
    plotlyBars: specOf(plotlyFigure([{ type: 'bar', x: ['a', 'b'], y: [1, 2] }, { type: 'bar', x: ['a', 'b'], y: [2, 1] }])),
    plotlyHeatmap: specOf(plotlyFigure([{ type: 'heatmap', z: [[1, 2], [3, 4]], x: ['p', 'q'], y: ['r', 's'] }], { yaxis: { autorange: 'reversed' } })),
    plotlyMixed: specOf(plotlyFigure([{ type: 'heatmap', z: [[1]] }, { y: [0], mode: 'markers' }])),
  };
}

describe('library vega-lite specs', () => {
  it('carry the v5 $schema and compile without warnings', () => {
    for (const [name, spec] of Object.entries(librarySpecs())) {
      expect([name, spec.$schema]).toEqual([name, VEGALITE_SCHEMA]);
      expect([name, compileVegaLite(spec).warnings]).toEqual([name, []]);
    }
  });
});

describeWithJupyter('library vega-lite specs against the vega-lite v5 JSON schema', () => {
  const validate = (specs: Record<string, unknown>): Record<string, string[]> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-vl-schema-'));
    try {
      const file = path.join(dir, 'specs.json');
      fs.writeFileSync(file, JSON.stringify(specs));
      const script = [
        'import json, sys, itertools',
        'from jsonschema import Draft7Validator',
        'schema = json.load(open(sys.argv[1]))',
        'validator = Draft7Validator(schema)',
        'specs = json.load(open(sys.argv[2]))',
        'print(json.dumps({k: [e.message[:200] for e in validator.iter_errors(v)][:5] for k, v in specs.items()}))',
      ].join('\n');
      const r = spawnSync(jupyterEnv.venvBin('python'), ['-c', script, path.join(root, 'node_modules', 'vega-lite', 'build', 'vega-lite-schema.json'), file], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`jsonschema validation did not run: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, string[]>;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it('are all valid, and a broken spec is not (negative control)', () => {
    const specs = librarySpecs();
    const broken = { $schema: VEGALITE_SCHEMA, mark: 'no-such-mark', data: { values: [] } };
    const { __broken: brokenErrors, ...errors } = validate({ ...specs, __broken: broken });
    expect(brokenErrors.length).toBeGreaterThan(0);
    expect(Object.keys(errors).sort()).toEqual(Object.keys(specs).sort());
    expect(errors).toEqual(Object.fromEntries(Object.keys(specs).map((k) => [k, []])));
  });
});
