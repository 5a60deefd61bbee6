#!/usr/bin/env node
/**
 * Sets up the native `tensorflow` backend (`@tensorflow/tfjs-node`) without its install-time
 * download: libtensorflow comes from PyPI's official `tensorflow-cpu` wheel instead.
 *
 * tfjs-node's own install script fetches libtensorflow 2.9.1 from storage.googleapis.com, which
 * offline and firewalled machines cannot reach (npm then drops the optional package silently).
 * package.json's `allowScripts` denies that script, and this one does the work:
 *   1. the pinned wheel, fetched with `pip download` into a cache outside the repository
 *      (LONGLORA_CACHE, else $XDG_CACHE_HOME/longlora-ts, else ~/.cache/longlora-ts) and checked
 *      against its sha256, so reinstalls do not download again;
 *   2. libtensorflow's two shared libraries (stripped when `strip` exists) and the C API headers,
 *      unpacked into node_modules/@tensorflow/tfjs-node/deps/ under the names tfjs-node links;
 *   3. the N-API addon compiled there with node-gyp (through tfjs-node's node-pre-gyp);
 *   4. a load check in a child process (a matmul on the new backend).
 *
 * Runs from `npm install` / `npm ci` (`postprepare`) and by hand: `npm run setup:tensorflow
 * [-- --force]`. Idempotent: a stamp in deps/ records what was built; when it matches and the addon
 * loads, nothing is done (npm runs the root's prepare twice because of the `file:.` self-link).
 * `LONGLORA_SKIP_TENSORFLOW=1` skips it. Where it cannot work (another OS or CPU, no Python/pip,
 * no compiler, no Node headers) it says exactly what is missing and exits 0: the library then runs
 * on wasm. Under `CI=true` any failure exits 1.
 *
 * Facts behind the recipe (why this wheel, the library names, the symbols): environment.md. The
 * steps shared with the GPU backend's set-up (scripts/setup-tensorflow-gpu.js) are in
 * scripts/tensorflow-pypi.js.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const {
  root, SetupError, banner, packageDir, unsupportedReason, ensureWheel, stageDeps, buildAddon, loadCheck: loadPackage,
} = require('./tensorflow-pypi');

/** The pinned wheel. Changing it: update all four fields together (the sha256 is PyPI's). */
const WHEEL = {
  project: 'tensorflow-cpu',
  version: '2.21.0',
  file: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
  sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
  bytes: 273829956,
};
const RERUN = 'npm run setup:tensorflow';

const force = process.argv.includes('--force');
const started = Date.now();
const log = (line) => console.log(`[setup:tensorflow] ${line}`);
const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function tfjsNodeDir() {
  return packageDir('@tensorflow/tfjs-node');
}

function skipReason() {
  if (process.env.LONGLORA_SKIP_TENSORFLOW === '1') return 'LONGLORA_SKIP_TENSORFLOW=1';
  const cmd = process.env.npm_command;
  if (cmd === 'pack' || cmd === 'publish') return `npm ${cmd}`;
  return null;
}

/** Loads the backend in a child process and multiplies two matrices; returns what it reports. */
function loadCheck() {
  return loadPackage('@tensorflow/tfjs-node');
}

function stampFor(pkgDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  return { wheel: WHEEL.file, sha256: WHEEL.sha256, tfjsNode: pkg.version, nodeAbi: process.versions.modules, napi: process.versions.napi };
}

function main() {
  const skip = skipReason();
  if (skip) {
    log(`skipped (${skip}); the library will use wasm unless a native backend is installed otherwise`);
    return;
  }
  const unsupported = unsupportedReason();
  if (unsupported) throw new SetupError(unsupported, 'nothing to do: the library runs on wasm here (see environment.md)');
  const pkgDir = tfjsNodeDir();
  if (pkgDir === null) {
    throw new SetupError(
      '@tensorflow/tfjs-node is not in node_modules (npm drops an optional dependency whose install failed)',
      'run `npm install` again; the project denies its download script in package.json `allowScripts` (npm 11), on older npm use `npm install --ignore-scripts && npm run prepare`',
    );
  }
  const depsDir = path.join(pkgDir, 'deps');
  const stampFile = path.join(depsDir, 'longlora-ts.json');
  const want = stampFor(pkgDir);
  if (!force && fs.existsSync(stampFile)) {
    const have = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    if (JSON.stringify(have) === JSON.stringify(want)) {
      const check = loadCheck();
      if (check.ok) {
        log(`up to date: tensorflow backend (libtensorflow ${check.libtensorflow}, tfjs-node ${check.tfjsNode}) loads (${secs()})`);
        return;
      }
      log(`built before but does not load (${check.why}): rebuilding`);
    }
  }
  const wheel = ensureWheel(WHEEL, log, RERUN);
  stageDeps(wheel, depsDir, log, RERUN);
  log(`staged in ${path.relative(root, depsDir)} (${secs()})`);
  buildAddon(pkgDir, path.join(depsDir, 'build.log'), log);
  const check = loadCheck();
  if (!check.ok) throw new SetupError(`the built addon does not load: ${check.why}`, 'run `npm run setup:tensorflow -- --force`; report the error if it persists');
  fs.writeFileSync(stampFile, JSON.stringify(want, null, 2) + '\n');
  log(`done in ${secs()}: tensorflow backend (libtensorflow ${check.libtensorflow}, tfjs-node ${check.tfjsNode}) loads; ll.ready() picks it`);
}

try {
  main();
} catch (e) {
  const ci = process.env.CI === 'true';
  banner([
    `longlora-ts: the native 'tensorflow' backend is NOT set up: ${e.message}`,
    ...(e.fix ? [`What to do: ${e.fix}`] : []),
    ci ? 'CI=true: failing the install.' : 'The install goes on; the library will run on wasm (about 3x slower on CPU).',
    'Retry with `npm run setup:tensorflow`; skip with LONGLORA_SKIP_TENSORFLOW=1.',
  ]);
  if (!(e instanceof SetupError)) console.error(e);
  process.exit(ci ? 1 : 0);
}
