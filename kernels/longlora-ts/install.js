#!/usr/bin/env node
/**
 * Registers the `longlora-ts` Jupyter kernel (`npm run kernel:install [-- options]`).
 *
 * kernel.template.json is the spec kept in git; this script fills in the machine paths (this Node,
 * kernels/longlora-ts/launch.js) and installs it with the venv's `jupyter kernelspec install`:
 *   default      into the project's .venv (sys-prefix): seen by `npm start`, `npm run notebooks`
 *   --user       into the user's Jupyter data dir (seen by any Jupyter of this user)
 *   --prefix=DIR into DIR/share/jupyter/kernels
 *   --backend=tensorflow-gpu|tensorflow|webgpu|wasm|cpu   fixes LONGLORA_BACKEND for the kernel
 *   --threads=N  fixes LONGLORA_WASM_THREADS for the kernel
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { KERNEL_NAME, venvBin, venvDir, SETUP_HINT } = require('../../scripts/jupyter-env');

const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
const TEMPLATE = path.join(__dirname, 'kernel.template.json');
const LAUNCHER = path.join(__dirname, 'launch.js');

/** Parses install options; unknown options and bad values are errors that name the fix. */
function parseArgs(argv) {
  const opts = { user: false, prefix: null, backend: null, threads: null };
  for (const arg of argv) {
    const [key, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, null];
    if (key === '--user' && value === null) opts.user = true;
    else if (key === '--prefix' && value) opts.prefix = path.resolve(value);
    else if (key === '--backend' && BACKENDS.includes(value)) opts.backend = value;
    else if (key === '--threads' && /^[1-8]$/.test(value || '')) opts.threads = value;
    else {
      throw new Error(
        `kernel:install: unknown or invalid option '${arg}'; use --user, --prefix=DIR, --backend=${BACKENDS.join('|')}, --threads=1..8`,
      );
    }
  }
  if (opts.user && opts.prefix) throw new Error('kernel:install: --user and --prefix exclude each other; pick one');
  return opts;
}

/** The kernel.json for this machine: the template with absolute node and launcher paths. */
function kernelJson({ backend = null, threads = null } = {}) {
  const spec = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
  const fill = { '{{node}}': process.execPath, '{{launcher}}': LAUNCHER };
  spec.argv = spec.argv.map((a) => (a in fill ? fill[a] : a));
  if (spec.argv.some((a) => a.includes('{{'))) throw new Error(`kernel:install: unfilled placeholder in ${TEMPLATE}: ${spec.argv.join(' ')}`);
  if (backend) spec.env.LONGLORA_BACKEND = backend;
  if (threads) spec.env.LONGLORA_WASM_THREADS = threads;
  return spec;
}

/** Installs the spec and returns the folder Jupyter reports for it. */
function install(opts = {}, log = console.log) {
  const jupyter = venvBin('jupyter');
  if (!fs.existsSync(jupyter)) throw new Error(`kernel:install: no ${jupyter}. ${SETUP_HINT}`);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-kernel-'));
  try {
    fs.writeFileSync(path.join(stage, 'kernel.json'), JSON.stringify(kernelJson(opts), null, 2) + '\n');
    const where = opts.user ? ['--user'] : opts.prefix ? [`--prefix=${opts.prefix}`] : ['--sys-prefix'];
    const r = spawnSync(jupyter, ['kernelspec', 'install', stage, `--name=${KERNEL_NAME}`, '--replace', ...where], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kernel:install: jupyter kernelspec install failed (${r.status}): ${r.stderr || r.error}`);
    const installed = (r.stderr + r.stdout).match(/Installed kernelspec \S+ in (.+)/);
    const dir = installed ? installed[1].trim() : '(unknown)';
    log(`kernel ${KERNEL_NAME} ("LongLoRA (TypeScript)") installed in ${dir}${opts.user || opts.prefix ? '' : ` (venv ${venvDir()})`}`);
    return dir;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

module.exports = { parseArgs, kernelJson, install, BACKENDS };

if (require.main === module) {
  try {
    install(parseArgs(process.argv.slice(2)));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
