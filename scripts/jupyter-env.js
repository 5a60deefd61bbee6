/**
 * Where the project's Jupyter environment lives, shared by the setup, kernel, runner and browser
 * scripts (and their tests): the project-local `.venv` (PyPI JupyterLab 4 + nbclient + nbconvert + plotly, from
 * requirements-jupyter.txt) and the `longlora-ts` kernel spec registered in it.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const KERNEL_NAME = 'longlora-ts';
const KERNEL_DISPLAY_NAME = 'LongLoRA (TypeScript)';
const REQUIREMENTS = path.join(root, 'requirements-jupyter.txt');

/** The virtual environment folder: LONGLORA_VENV or <repo>/.venv. */
function venvDir() {
  return path.resolve(process.env.LONGLORA_VENV || path.join(root, '.venv'));
}

/** A program inside the venv (bin/ on POSIX, Scripts/ on Windows). */
function venvBin(name, dir = venvDir()) {
  return process.platform === 'win32' ? path.join(dir, 'Scripts', `${name}.exe`) : path.join(dir, 'bin', name);
}

/** Why the venv cannot run notebooks, or null when it can (python, jupyterlab, nbclient, nbconvert and plotly present). */
function venvProblem(dir = venvDir()) {
  const py = venvBin('python', dir);
  if (!fs.existsSync(py)) return `no Python virtual environment at ${dir}`;
  // find_spec locates the packages without importing them (importing plotly alone takes seconds)
  const probe = "import importlib.util as u; print(' '.join(m for m in ('jupyterlab', 'nbclient', 'nbconvert', 'plotly') if u.find_spec(m) is None))";
  const r = spawnSync(py, ['-c', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `${py} does not run (${(r.stderr || String(r.error)).trim().split('\n').pop()})`;
  if (r.stdout.trim()) return `${dir} lacks ${r.stdout.trim().split(' ').join(', ')} (from requirements-jupyter.txt)`;
  const kernel = path.join(dir, 'share', 'jupyter', 'kernels', KERNEL_NAME, 'kernel.json');
  if (!fs.existsSync(kernel) && !userKernelExists()) return `the ${KERNEL_NAME} kernel is not registered (no ${kernel})`;
  return null;
}

function userKernelExists() {
  const home = process.env.HOME || process.env.USERPROFILE || '';
  const dataHome = process.env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return fs.existsSync(path.join(dataHome, 'jupyter', 'kernels', KERNEL_NAME, 'kernel.json'));
}

/** The one-paragraph fix printed wherever the environment is missing. */
const SETUP_HINT =
  'Set it up with `npm run setup:jupyter` (creates .venv from requirements-jupyter.txt and registers the ' +
  `${KERNEL_NAME} kernel; needs Python >= 3.9 with venv: on Debian/Ubuntu \`apt-get install python3 python3-venv\`).`;

module.exports = { root, KERNEL_NAME, KERNEL_DISPLAY_NAME, REQUIREMENTS, venvDir, venvBin, venvProblem, SETUP_HINT };
