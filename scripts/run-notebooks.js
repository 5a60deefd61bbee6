#!/usr/bin/env node
/**
 * `npm run notebooks [-- options] [notebooks...]`: executes every notebook in notebooks/ headlessly
 * with the longlora-ts kernel into build/notebooks/ (scripts/run-notebooks.py, in the project's
 * .venv), exiting non-zero if any cell failed or was skipped. `--quick` sets LONGLORA_QUICK=1;
 * `--help` lists the options.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { root, venvBin, venvProblem, SETUP_HINT } = require('./jupyter-env');

const problem = venvProblem();
if (problem) {
  console.error(`run-notebooks: ${problem}.\n${SETUP_HINT}`);
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('run-notebooks: dist/index.js is missing; notebooks import the built package: run `npm run build` first');
  process.exit(2);
}
const r = spawnSync(venvBin('python'), [path.join(__dirname, 'run-notebooks.py'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
});
process.exit(r.status === null ? 1 : r.status);
