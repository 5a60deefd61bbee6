#!/usr/bin/env node
/**
 * `npm start [-- jupyter lab options]`: JupyterLab from the project's .venv, on notebooks/, with
 * the longlora-ts kernel as the default for new notebooks. Extra arguments go to `jupyter lab`
 * (e.g. `npm start -- --port=8899 --no-browser`).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { root, KERNEL_NAME, venvBin, venvProblem, SETUP_HINT } = require('./jupyter-env');

const problem = venvProblem();
if (problem) {
  console.error(`start: ${problem}.\n${SETUP_HINT}`);
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('start: dist/index.js is missing; notebooks import the built package: run `npm run build` first');
  process.exit(2);
}
const args = [
  'lab',
  `--ServerApp.root_dir=${path.join(root, 'notebooks')}`,
  `--MappingKernelManager.default_kernel_name=${KERNEL_NAME}`,
  // Jupyter refuses to run as root without this (containers, CI machines)
  ...(process.getuid && process.getuid() === 0 ? ['--ServerApp.allow_root=True'] : []),
  ...process.argv.slice(2),
];
console.log(`start: ${venvBin('jupyter')} ${args.join(' ')}`);
const child = spawn(venvBin('jupyter'), args, { stdio: 'inherit', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
// Ctrl-C reaches JupyterLab through the terminal; forward a plain kill too
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
