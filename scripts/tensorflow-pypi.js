/**
 * The parts of the native backends' install steps that do not depend on CPU or GPU: libtensorflow
 * and other shared libraries taken from PyPI wheels (fetched with pip into a cache outside the
 * repository, checked against pinned sha256s), staged into a tfjs-node package's deps/, its N-API
 * addon compiled there, and a load check in a child process.
 *
 * Used by scripts/setup-tensorflow.js (`tensorflow`: @tensorflow/tfjs-node on the `tensorflow-cpu`
 * wheel) and scripts/setup-tensorflow-gpu.js (`tensorflow-gpu`: @tensorflow/tfjs-node-gpu on the
 * `tensorflow` wheel and the `nvidia-*-cu12` wheels). Facts behind the recipe: environment.md.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');

/** The libtensorflow version tfjs-node 4.22 was built for: the file names its install looks for. */
const TFJS_LIBTENSORFLOW_NAME_VERSION = '2.9.1';
/** Members of the tensorflow wheels that become deps/lib. The C API is in the _cc library (its SONAME). */
const LIBS = {
  main: 'tensorflow/libtensorflow_cc.so.2',
  framework: 'tensorflow/libtensorflow_framework.so.2',
};
/** Root of the C/C++ headers inside the wheel. */
const HEADER_PREFIX = 'tensorflow/include/';
/** A wheel file's platform tags (`...-manylinux2014_x86_64.manylinux_2_17_x86_64.whl`): pip is asked for exactly those. */
function platformTags(file) {
  return file.replace(/\.whl$/, '').split('-').pop().split('.');
}

/** An error whose message says what is missing and what to do; `fix` is printed under it. */
class SetupError extends Error {
  constructor(message, fix) {
    super(message);
    this.fix = fix;
  }
}

function banner(lines) {
  console.log(['', '='.repeat(78), ...lines.map((l) => `  ${l}`), '='.repeat(78), ''].join('\n'));
}

function cacheDir() {
  if (process.env.LONGLORA_CACHE) return path.resolve(process.env.LONGLORA_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'longlora-ts');
}

/** The installed package's directory, or null. */
function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
  } catch {
    return null;
  }
}

/** Why this machine cannot use the PyPI route at all, or null. */
function unsupportedReason() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the PyPI route is built for Linux x86_64; this is ${process.platform}/${process.arch}`;
  }
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

/** The wheel's path in the cache, whether or not it is there yet. */
function cachedWheelPath(wheel) {
  return path.join(cacheDir(), 'wheels', wheel.file);
}

/** Whether the cache holds `wheel` with its pinned checksum (hashes the file: seconds for large wheels). */
function wheelCached(wheel) {
  const file = cachedWheelPath(wheel);
  return fs.existsSync(file) && sha256File(file) === wheel.sha256;
}

/**
 * The verified wheel in the cache, downloading it with pip when absent or corrupt. `wheel`:
 * { project, version, file, sha256, bytes? }; `rerun` is the command that retries.
 */
function ensureWheel(wheel, log, rerun) {
  const dir = path.join(cacheDir(), 'wheels');
  const file = path.join(dir, wheel.file);
  if (fs.existsSync(file)) {
    if (sha256File(file) === wheel.sha256) {
      log(`wheel ${wheel.file} found in the cache (${dir})`);
      return file;
    }
    log(`cached ${wheel.file} fails its checksum: downloading it again`);
    fs.rmSync(file);
  }
  fs.mkdirSync(dir, { recursive: true });
  const py = python();
  const size = wheel.bytes ? ` (${(wheel.bytes / 2 ** 20).toFixed(0)} MiB)` : '';
  log(`downloading ${wheel.project}==${wheel.version}${size} with pip into ${dir}`);
  // Fixed platform tags: the same wheel whatever Python runs pip (the libraries inside do not use Python).
  const partial = fs.mkdtempSync(path.join(dir, '.download-'));
  const r = spawnSync(
    py,
    ['-m', 'pip', 'download', '--no-deps', '--no-cache-dir', '--only-binary=:all:', '--python-version', '3.11',
      '--implementation', 'cp', '--abi', 'cp311', ...platformTags(wheel.file).flatMap((p) => ['--platform', p]), '--progress-bar', 'off',
      '-d', partial, `${wheel.project}==${wheel.version}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const got = path.join(partial, wheel.file);
  if (r.status !== 0 || !fs.existsSync(got)) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new SetupError(
      `pip could not download ${wheel.project}==${wheel.version} as ${wheel.file} (exit ${r.status})`,
      `check that PyPI (or your pip index) is reachable, then \`${rerun}\`; or put the wheel at ${file}`,
    );
  }
  const digest = sha256File(got);
  if (digest !== wheel.sha256) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new SetupError(
      `the downloaded ${wheel.file} has sha256 ${digest}, expected ${wheel.sha256}`,
      'your pip index serves a different file under this name; use the official PyPI index',
    );
  }
  fs.renameSync(got, file);
  fs.rmSync(partial, { recursive: true, force: true });
  return file;
}

/**
 * Unpacks libtensorflow's two libraries and the C headers the binding includes from a tensorflow
 * wheel (a zip) into `depsDir` (emptied first), via Python's zipfile; strips the libraries when
 * `strip` exists and adds the link names tfjs-node's build and install look for.
 */
function stageDeps(wheel, depsDir, log, rerun) {
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
  if (r.status !== 0) throw new SetupError(`unpacking ${path.basename(wheel)} failed: ${(r.stderr || '').trim()}`, `run \`${rerun} -- --force\``);
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

/**
 * Unpacks the members of `wheel` under `prefix` whose path matches `keep` into `destDir` (keeping
 * their paths below `prefix`), via Python's zipfile; returns how many files and bytes.
 */
function unpackTree(wheel, prefix, keep, destDir, rerun) {
  const py = python();
  const script = [
    'import os, re, shutil, sys, zipfile',
    'wheel, prefix, keep, dest = sys.argv[1:5]',
    'n = size = 0',
    'with zipfile.ZipFile(wheel) as z:',
    '    for info in z.infolist():',
    '        name = info.filename',
    '        if info.is_dir() or not name.startswith(prefix) or not re.search(keep, name): continue',
    '        out = os.path.join(dest, name[len(prefix):])',
    '        os.makedirs(os.path.dirname(out), exist_ok=True)',
    '        with z.open(info) as src, open(out, "wb") as dst: shutil.copyfileobj(src, dst, 1 << 22)',
    '        os.chmod(out, 0o755)',
    '        n += 1; size += info.file_size',
    'print(n, size)',
  ].join('\n');
  const r = spawnSync(py, ['-c', script, wheel, prefix, keep, destDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new SetupError(`unpacking ${path.basename(wheel)} failed: ${(r.stderr || '').trim()}`, `run \`${rerun} -- --force\``);
  const [files, bytes] = r.stdout.trim().split(/\s+/).map(Number);
  return { files, bytes };
}

/** Where node-gyp finds Node's headers without downloading them, as a --nodedir value, or null. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return null;
}

/** Compiles the tfjs-node(-gpu) addon in `pkgDir` against deps/ with node-gyp (through its node-pre-gyp). */
function buildAddon(pkgDir, logFile, log) {
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
  const preGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir, root] });
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
    throw new SetupError(`node-gyp failed to build the addon in ${pkgDir} (exit ${r.status}); the log above ends with the error`, `full log: ${logFile}`);
  }
}

/**
 * Loads `pkg` in a child process and multiplies two matrices; returns what it reports
 * ({ ok, backend, libtensorflow, tfjsNode, gpu } or { ok: false, why }).
 */
function loadCheck(pkg, env = {}) {
  const code = [
    "process.env.TF_CPP_MIN_LOG_LEVEL = process.env.TF_CPP_MIN_LOG_LEVEL || '2';",
    `const tf = require(${JSON.stringify(pkg)});`,
    "const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync();",
    "if (JSON.stringify(c) !== '[[19,22],[43,50]]') throw new Error('wrong matmul: ' + JSON.stringify(c));",
    "const b = tf.backend();",
    "console.log(JSON.stringify({ backend: tf.getBackend(), libtensorflow: b.binding.TF_Version, tfjsNode: tf.version['tfjs-node'] || tf.version['tfjs-node-gpu'], gpu: Boolean(b.isUsingGpuDevice) }));",
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env } });
  if (r.status !== 0) {
    const why = (r.stderr || '').split('\n').filter((l) => /Error|error:/.test(l)).slice(0, 3).join(' | ');
    return { ok: false, why: why || `exit ${r.status}`, stderr: r.stderr || '' };
  }
  try {
    return { ok: true, ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr || '' };
  } catch {
    return { ok: false, why: `unexpected output: ${r.stdout.trim().slice(0, 200)}` };
  }
}

/** Bytes free on the file system that holds `dir` (or its nearest existing parent), or null. */
function freeBytes(dir) {
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) d = path.dirname(d);
  try {
    const s = fs.statfsSync(d);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

module.exports = {
  root,
  TFJS_LIBTENSORFLOW_NAME_VERSION,
  LIBS,
  HEADER_PREFIX,
  platformTags,
  SetupError,
  banner,
  cacheDir,
  packageDir,
  unsupportedReason,
  python,
  sha256File,
  cachedWheelPath,
  wheelCached,
  ensureWheel,
  stageDeps,
  unpackTree,
  nodeDir,
  buildAddon,
  loadCheck,
  freeBytes,
};
