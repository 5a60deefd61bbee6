#!/usr/bin/env node
/**
 * Sets up the notebook platform in a checkout of this repository: a project-local `.venv` with the
 * pinned Python packages of requirements-jupyter.txt (JupyterLab 4, nbclient, plotly >= 6.1), then
 * the `longlora-ts` kernel registered in it.
 *
 * Runs from `npm install` / `npm ci` (the `postprepare` script) and by hand as
 * `npm run setup:jupyter`. It never fails the install: the library is usable without Jupyter, so
 * a missing Python or a failed pip prints what to install and exits 0; `npm test` then reports the
 * missing environment (a failure under CI=true, a loud skip otherwise).
 *
 * Skipped when: longlora-ts is installed as a dependency of another project (no .git here, or this
 * folder is inside node_modules / npm's cache), `npm pack`/`publish`, or LONGLORA_SKIP_JUPYTER=1.
 * Re-running is cheap: pip runs only when requirements-jupyter.txt or the Python changed
 * (a stamp in .venv), unless --force.
 *
 * Python: LONGLORA_PYTHON, else python3 (python on Windows); 3.9 or newer with the venv module.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { root, REQUIREMENTS, venvDir, venvBin } = require('./jupyter-env');
const kernel = require('../kernels/longlora-ts/install');

const force = process.argv.includes('--force');
const started = Date.now();
const log = (line) => console.log(`[setup:jupyter] ${line}`);
const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function banner(lines) {
  const text = ['', '='.repeat(78), ...lines.map((l) => `  ${l}`), '='.repeat(78), ''].join('\n');
  console.log(text);
}

/** Why this is not a checkout that should get a Jupyter environment, or null. */
function skipReason() {
  if (process.env.LONGLORA_SKIP_JUPYTER === '1') return 'LONGLORA_SKIP_JUPYTER=1';
  const cmd = process.env.npm_command;
  if (cmd === 'pack' || cmd === 'publish') return `npm ${cmd}`;
  if (root.split(path.sep).some((p) => p === 'node_modules' || p === '_cacache')) return `${root} is an installed copy, not a checkout`;
  if (!fs.existsSync(path.join(root, '.git'))) return `${root} has no .git: an installed copy, not a checkout`;
  return null;
}

/** The first Python >= 3.9 among the candidates, as { cmd, version } or null. */
function findPython() {
  const candidates = process.env.LONGLORA_PYTHON ? [process.env.LONGLORA_PYTHON] : process.platform === 'win32' ? ['python', 'py'] : ['python3', 'python'];
  for (const cmd of candidates) {
    const r = spawnSync(cmd, ['-c', 'import sys, venv; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const version = r.stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    if (major === 3 && minor >= 9) return { cmd, version };
    log(`${cmd} is Python ${version}; JupyterLab 4 needs 3.9 or newer`);
  }
  return null;
}

function run(cmd, args, what) {
  log(`${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
}

function main() {
  const skip = skipReason();
  if (skip) {
    log(`skipped (${skip})`);
    return;
  }
  const venv = venvDir();
  const python = findPython();
  if (!python) {
    banner([
      'longlora-ts: the library is installed, but the notebook platform is NOT (no Python >= 3.9 with venv).',
      'Install Python 3.9+ with the venv module, e.g. on Debian/Ubuntu:',
      '    apt-get install python3 python3-venv',
      'or point LONGLORA_PYTHON at one, then run:  npm run setup:jupyter',
      'Until then `npm start`, `npm run notebooks` and the notebook tests cannot run.',
    ]);
    return;
  }
  const stampFile = path.join(venv, '.longlora-requirements');
  const stamp = crypto.createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).update(python.version).digest('hex');
  const py = venvBin('python', venv);
  const healthy = fs.existsSync(py) && spawnSync(py, ['-c', 'import sys'], { encoding: 'utf8' }).status === 0;
  if (!healthy) {
    if (fs.existsSync(venv)) fs.rmSync(venv, { recursive: true, force: true });
    run(python.cmd, ['-m', 'venv', venv], `creating ${path.relative(root, venv) || venv} with Python ${python.version}`);
  }
  const current = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8').trim() : '';
  if (force || current !== stamp) {
    run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '-r', REQUIREMENTS], 'installing requirements-jupyter.txt');
    fs.writeFileSync(stampFile, stamp + '\n');
  } else {
    log('requirements-jupyter.txt already installed (unchanged); use --force to reinstall');
  }
  kernel.install({}, log);
  log(`done in ${secs()}: \`npm start\` opens JupyterLab on notebooks/, \`npm run notebooks\` runs them headlessly`);
}

try {
  main();
} catch (e) {
  banner([
    `longlora-ts: the library is installed, but setting up the notebook platform failed after ${secs()}:`,
    String(e.message || e),
    'Fix the cause (network access to PyPI? disk space?) and run:  npm run setup:jupyter',
  ]);
}
