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
 * Facts behind the recipe (why this wheel, the library names, the symbols): environment.md.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');

/** The pinned wheel. Changing it: update all four fields together (the sha256 is PyPI's). */
const WHEEL = {
  project: 'tensorflow-cpu',
  version: '2.21.0',
  file: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
  sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
  bytes: 273829956,
};
/** The libtensorflow version tfjs-node 4.22 was built for: the file names its install looks for. */
const TFJS_LIBTENSORFLOW_NAME_VERSION = '2.9.1';
/** Members of the wheel that become deps/lib. The C API is in the _cc library (its SONAME). */
const LIBS = {
  main: 'tensorflow/libtensorflow_cc.so.2',
  framework: 'tensorflow/libtensorflow_framework.so.2',
};
/** Root of the C/C++ headers inside the wheel. */
const HEADER_PREFIX = 'tensorflow/include/';

const force = process.argv.includes('--force');
const started = Date.now();
const log = (line) => console.log(`[setup:tensorflow] ${line}`);
const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function banner(lines) {
  console.log(['', '='.repeat(78), ...lines.map((l) => `  ${l}`), '='.repeat(78), ''].join('\n'));
}

/** An error whose message says what is missing and what to do; `fix` is printed under it. */
class SetupError extends Error {
  constructor(message, fix) {
    super(message);
    this.fix = fix;
  }
}

function cacheDir() {
  if (process.env.LONGLORA_CACHE) return path.resolve(process.env.LONGLORA_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'longlora-ts');
}

function tfjsNodeDir() {
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-node/package.json', { paths: [root] }));
  } catch {
    return null;
  }
}

/** Why this machine cannot use the recipe at all, or null. */
function unsupportedReason() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the PyPI route is built for Linux x86_64; this is ${process.platform}/${process.arch}`;
  }
  return null;
}

function skipReason() {
  if (process.env.LONGLORA_SKIP_TENSORFLOW === '1') return 'LONGLORA_SKIP_TENSORFLOW=1';
  const cmd = process.env.npm_command;
  if (cmd === 'pack' || cmd === 'publish') return `npm ${cmd}`;
  return null;
}

function python() {
  const candidates = process.env.LONGLORA_PYTHON ? [process.env.LONGLORA_PYTHON] : ['python3', 'python'];
  for (const cmd of candidates) {
    const r = spawnSync(cmd, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  throw new SetupError(
    `no Python with pip found (tried ${candidates.join(', ')}); pip fetches libtensorflow from PyPI`,
    'install Python 3 with pip (Debian/Ubuntu: apt-get install python3-pip) or set LONGLORA_PYTHON',
  );
}

function sha256File(file) {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  try {
    let n;
    while ((n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The verified wheel in the cache, downloading it with pip when absent or corrupt. */
function ensureWheel() {
  const dir = path.join(cacheDir(), 'wheels');
  const file = path.join(dir, WHEEL.file);
  if (fs.existsSync(file)) {
    if (sha256File(file) === WHEEL.sha256) {
      log(`wheel ${WHEEL.file} found in the cache (${dir})`);
      return file;
    }
    log(`cached ${WHEEL.file} fails its checksum: downloading it again`);
    fs.rmSync(file);
  }
  fs.mkdirSync(dir, { recursive: true });
  const py = python();
  log(`downloading ${WHEEL.project}==${WHEEL.version} (${(WHEEL.bytes / 2 ** 20).toFixed(0)} MiB) with pip into ${dir}`);
  // Fixed platform tags: the same wheel whatever Python runs pip (the libraries inside do not use Python).
  const partial = fs.mkdtempSync(path.join(dir, '.download-'));
  const r = spawnSync(
    py,
    ['-m', 'pip', 'download', '--no-deps', '--no-cache-dir', '--only-binary=:all:', '--python-version', '3.11',
      '--implementation', 'cp', '--abi', 'cp311', '--platform', 'manylinux_2_27_x86_64', '--progress-bar', 'off',
      '-d', partial, `${WHEEL.project}==${WHEEL.version}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const got = path.join(partial, WHEEL.file);
  if (r.status !== 0 || !fs.existsSync(got)) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new SetupError(
      `pip could not download ${WHEEL.project}==${WHEEL.version} (exit ${r.status})`,
      'check that PyPI (or your pip index) is reachable; or put the wheel at ' + file,
    );
  }
  const digest = sha256File(got);
  if (digest !== WHEEL.sha256) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new SetupError(
      `the downloaded ${WHEEL.file} has sha256 ${digest}, expected ${WHEEL.sha256}`,
      'your pip index serves a different file under this name; use the official PyPI index',
    );
  }
  fs.renameSync(got, file);
  fs.rmSync(partial, { recursive: true, force: true });
  return file;
}

/** Unpacks the two libraries and the C headers from the wheel (a zip) into deps/, via Python's zipfile. */
function stageDeps(wheel, depsDir) {
  const py = python();
  const libDir = path.join(depsDir, 'lib');
  const includeDir = path.join(depsDir, 'include');
  fs.rmSync(depsDir, { recursive: true, force: true });
  fs.mkdirSync(libDir, { recursive: true });
  fs.mkdirSync(includeDir, { recursive: true });
  // The headers the binding includes, and the headers those include, found in the wheel's include
  // tree (tensorflow/, tsl/, xla/): 13 files for tfjs-node 4.22 on libtensorflow 2.21.
  const bindingDir = path.join(path.dirname(depsDir), 'binding');
  const seeds = new Set();
  for (const f of fs.readdirSync(bindingDir)) {
    for (const m of fs.readFileSync(path.join(bindingDir, f), 'utf8').matchAll(/^\s*#\s*include\s+"(tensorflow\/[^"]+)"/gm)) seeds.add(m[1]);
  }
  const script = [
    'import os, re, shutil, sys, zipfile',
    'wheel, lib_dir, include_dir, prefix, main, framework = sys.argv[1:7]',
    'todo = sys.argv[7:]',
    'with zipfile.ZipFile(wheel) as z:',
    '    names = set(z.namelist())',
    '    for m in (main, framework):',
    '        if m not in names: sys.exit("the wheel has no " + m)',
    '        with z.open(m) as src, open(os.path.join(lib_dir, os.path.basename(m)), "wb") as dst: shutil.copyfileobj(src, dst, 1 << 22)',
    '    seen = set()',
    '    while todo:',
    '        h = todo.pop()',
    '        if h in seen: continue',
    '        seen.add(h)',
    '        if prefix + h not in names: continue  # a system header, or one the compiler will name',
    '        text = z.read(prefix + h)',
    '        out = os.path.join(include_dir, h)',
    '        os.makedirs(os.path.dirname(out), exist_ok=True)',
    '        open(out, "wb").write(text)',
    '        todo += re.findall(r\'^\\s*#\\s*include\\s+"([^"]+)"\', text.decode(), re.M)',
    '    print(len(seen))',
  ].join('\n');
  const r = spawnSync(py, ['-c', script, wheel, libDir, includeDir, HEADER_PREFIX, LIBS.main, LIBS.framework, ...seeds], { encoding: 'utf8' });
  if (r.status !== 0) throw new SetupError(`unpacking ${path.basename(wheel)} failed: ${(r.stderr || '').trim()}`, 'run `npm run setup:tensorflow -- --force`');
  log(`unpacked the two libraries and ${r.stdout.trim()} C headers`);
  const main = path.basename(LIBS.main);
  const framework = path.basename(LIBS.framework);
  // Debug symbols are a quarter of the main library; they are not needed to run.
  const strip = spawnSync('strip', ['--version'], { encoding: 'utf8' });
  if (strip.status === 0) {
    for (const f of [main, framework]) {
      const s = spawnSync('strip', ['--strip-unneeded', path.join(libDir, f)], { encoding: 'utf8' });
      if (s.status !== 0) log(`strip ${f} failed (kept unstripped): ${(s.stderr || '').trim()}`);
    }
  }
  fs.chmodSync(path.join(libDir, main), 0o755);
  fs.chmodSync(path.join(libDir, framework), 0o755);
  // The addon links -ltensorflow -ltensorflow_framework; tfjs-node's install looks for the .2.9.1 names.
  for (const suffix of ['.so', '.so.2', `.so.${TFJS_LIBTENSORFLOW_NAME_VERSION}`]) {
    fs.symlinkSync(main, path.join(libDir, `libtensorflow${suffix}`));
    if (suffix !== '.so.2') fs.symlinkSync(framework, path.join(libDir, `libtensorflow_framework${suffix}`));
  }
}

/** Where node-gyp finds Node's headers without downloading them, as a --nodedir value, or null. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return null;
}

function buildAddon(pkgDir, logFile) {
  for (const [tool, fix] of [
    ['g++', 'install a C++ compiler (Debian/Ubuntu: apt-get install g++)'],
    ['make', 'install make (Debian/Ubuntu: apt-get install make)'],
  ]) {
    if (spawnSync(tool, ['--version']).status !== 0) throw new SetupError(`${tool} is missing; the addon is compiled here`, fix);
  }
  const nodedir = nodeDir();
  if (nodedir === null) {
    throw new SetupError(
      `Node's C headers (include/node/node_api.h) are not beside ${process.execPath}; node-gyp would download them`,
      'install the Node headers (Debian: apt-get install libnode-dev) or set npm_config_nodedir to a Node install that has include/node',
    );
  }
  const preGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir] });
  log(`building the addon with node-gyp (about 15 s; log: ${path.relative(root, logFile)})`);
  const out = fs.openSync(logFile, 'w');
  const r = spawnSync(process.execPath, [preGyp, 'install', '--build-from-source', `--nodedir=${nodedir}`], {
    cwd: pkgDir,
    stdio: ['ignore', out, out],
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  fs.closeSync(out);
  if (r.status !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    console.log(tail);
    throw new SetupError(`node-gyp failed to build tfjs-node's addon (exit ${r.status}); the log above ends with the error`, `full log: ${logFile}`);
  }
}

/** Loads the backend in a child process and multiplies two matrices; returns what it reports. */
function loadCheck() {
  const code = [
    "process.env.TF_CPP_MIN_LOG_LEVEL = '2';",
    "const tf = require('@tensorflow/tfjs-node');",
    "const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync();",
    "if (JSON.stringify(c) !== '[[19,22],[43,50]]') throw new Error('wrong matmul: ' + JSON.stringify(c));",
    "console.log(JSON.stringify({ backend: tf.getBackend(), libtensorflow: tf.backend().binding.TF_Version, tfjsNode: tf.version['tfjs-node'] }));",
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status !== 0) {
    const why = (r.stderr || '').split('\n').filter((l) => /Error|error:/.test(l)).slice(0, 3).join(' | ');
    return { ok: false, why: why || `exit ${r.status}` };
  }
  try {
    return { ok: true, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  } catch {
    return { ok: false, why: `unexpected output: ${r.stdout.trim().slice(0, 200)}` };
  }
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
  const wheel = ensureWheel();
  stageDeps(wheel, depsDir);
  log(`staged in ${path.relative(root, depsDir)} (${secs()})`);
  buildAddon(pkgDir, path.join(depsDir, 'build.log'));
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
