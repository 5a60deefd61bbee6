#!/usr/bin/env node
/**
 * `npm run backend:gpu [-- --force]`: sets up the `tensorflow-gpu` backend (`@tensorflow/tfjs-node-gpu`
 * 4.22) on CUDA 12, with the same machinery as the CPU backend (scripts/tensorflow-pypi.js).
 *
 * tfjs-node-gpu's own install downloads libtensorflow 2.9.1 for CUDA 11.2 + cuDNN 8.1, which current
 * GPU machines (CUDA 12, Hopper) do not have. Instead:
 *   1. checks for an NVIDIA driver (nvidia-smi, /proc/driver/nvidia/version) and the disk space,
 *      and stops with what to do BEFORE downloading anything when either is missing (`--force`
 *      stages anyway, e.g. for an image built on a machine without a GPU);
 *   2. announces the download (3.4 GB; 5.1 GB once staged), installs the npm package without its install script
 *      (`npm install --no-save --ignore-scripts @tensorflow/tfjs-node-gpu@4.22.0`);
 *   3. fetches with pip, into the same cache as the CPU wheel, the pinned `tensorflow` 2.21.0 wheel
 *      (libtensorflow with CUDA kernels for sm_60-sm_90) and the 12 `nvidia-*-cu12` wheels that
 *      `tensorflow[and-cuda]==2.21.0` names (versions resolved by pip on 2026-12-05 within its
 *      ranges), each checked against its sha256;
 *   4. stages libtensorflow into node_modules/@tensorflow/tfjs-node-gpu/deps/lib and the CUDA
 *      libraries into deps/nvidia/<name>/lib: the layout of Python's site-packages, which
 *      libtensorflow_framework's RUNPATH (`$ORIGIN/../nvidia/<name>/lib`) and the nvidia libraries'
 *      own RUNPATHs (`$ORIGIN/../../nvjitlink/lib`, ...) expect;
 *   5. builds the addon with node-gyp and load-checks it in a child process with
 *      `TF_FORCE_GPU_ALLOW_GROWTH=true`: the backend must report a CUDA device.
 *
 * Not run on a GPU yet (environment.md, "GPU: CUDA" says what has been verified where).
 * Idempotent: a stamp in deps/ records what was staged. `--dir PATH` stages into another unpacked
 * copy of the tfjs-node-gpu package (for tests: it leaves node_modules alone). Exits 1 with the
 * reason and the fix on any failure.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const pypi = require('./tensorflow-pypi');

const { root, SetupError, banner } = pypi;

const PACKAGE = '@tensorflow/tfjs-node-gpu';
const PACKAGE_VERSION = '4.22.0';
/** libtensorflow with CUDA kernels (sm_60/70/80/89/90 + sm_90 PTX). Changing it: update every field (PyPI's sha256). */
const TENSORFLOW = { project: 'tensorflow', version: '2.21.0', file: 'tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl', sha256: '9056fbc9ba04235810b71ae6cbd958a196e8804fb53bbcffbf3e23b56155f124', bytes: 572440367 };
/** `tensorflow[and-cuda]==2.21.0`'s CUDA 12 libraries, as pip resolved them (sizes and sha256s from PyPI). */
const NVIDIA = [
  { project: 'nvidia-cublas-cu12', version: '12.9.3.13', file: 'nvidia_cublas_cu12-12.9.3.13-py3-none-manylinux_2_27_x86_64.whl', sha256: 'd7d51055f161b317c7105ddaae90e71eda059026074ffef93cf7cde2886bfe72', bytes: 581217458 },
  { project: 'nvidia-cuda-cupti-cu12', version: '12.8.90', file: 'nvidia_cuda_cupti_cu12-12.8.90-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl', sha256: 'ea0cb07ebda26bb9b29ba82cda34849e73c166c18162d3913575b0c9db9a6182', bytes: 10248621 },
  { project: 'nvidia-cuda-nvcc-cu12', version: '12.9.86', file: 'nvidia_cuda_nvcc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl', sha256: '5d6a0d32fdc7ea39917c20065614ae93add6f577d840233237ff08e9a38f58f0', bytes: 40546229 },
  { project: 'nvidia-cuda-nvrtc-cu12', version: '12.9.86', file: 'nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl', sha256: '210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4', bytes: 89568129 },
  { project: 'nvidia-cuda-runtime-cu12', version: '12.9.79', file: 'nvidia_cuda_runtime_cu12-12.9.79-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl', sha256: '25bba2dfb01d48a9b59ca474a1ac43c6ebf7011f1b0b8cc44f54eb6ac48a96c3', bytes: 3493179 },
  { project: 'nvidia-cudnn-cu12', version: '9.28.0.42', file: 'nvidia_cudnn_cu12-9.28.0.42-py3-none-manylinux_2_27_x86_64.whl', sha256: '9ff58b7f36dacd0a93e89f8f2957b52466889217963701daa15e577317cfa375', bytes: 716538495 },
  { project: 'nvidia-cufft-cu12', version: '11.4.1.4', file: 'nvidia_cufft_cu12-11.4.1.4-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl', sha256: 'c67884f2a7d276b4b80eb56a79322a95df592ae5e765cf1243693365ccab4e28', bytes: 200877592 },
  { project: 'nvidia-curand-cu12', version: '10.3.10.19', file: 'nvidia_curand_cu12-10.3.10.19-py3-none-manylinux_2_27_x86_64.whl', sha256: '49b274db4780d421bd2ccd362e1415c13887c53c214f0d4b761752b8f9f6aa1e', bytes: 68295626 },
  { project: 'nvidia-cusolver-cu12', version: '11.7.5.82', file: 'nvidia_cusolver_cu12-11.7.5.82-py3-none-manylinux_2_27_x86_64.whl', sha256: '15da72d1340d29b5b3cf3fd100e3cd53421dde36002eda6ed93811af63c40d88', bytes: 338117415 },
  { project: 'nvidia-cusparse-cu12', version: '12.5.10.65', file: 'nvidia_cusparse_cu12-12.5.10.65-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl', sha256: '73060ce019ac064a057267c585bf1fd5a353734151f87472ff02b2c5c9984e78', bytes: 366465088 },
  { project: 'nvidia-nccl-cu12', version: '2.32.3', file: 'nvidia_nccl_cu12-2.32.3-py3-none-manylinux_2_27_x86_64.whl', sha256: 'bb94b2348e4861d5e8aa00b36c3d12d9bdf9c6369b82cbb723de0b582280a21c', bytes: 351526311 },
  { project: 'nvidia-nvjitlink-cu12', version: '12.9.86', file: 'nvidia_nvjitlink_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl', sha256: 'e3f1171dbdc83c5932a45f0f4c99180a70de9bd2718c1ab77d14104f6d7147f9', bytes: 39748338 },
];
/** What CUDA 12 needs of the driver (minor-version compatibility: any 12.x runtime on >= 525.60.13). */
const MIN_DRIVER = [525, 60];
/** Staged size relative to the wheels (measured: 3.38 GB of wheels -> 0.97 GB libtensorflow, stripped, + 4.1 GB CUDA). */
const UNPACKED_FACTOR = 1.6;
const RERUN = 'npm run backend:gpu';

const args = process.argv.slice(2);
const force = args.includes('--force');
const dirIndex = args.indexOf('--dir');
const stageDir = dirIndex >= 0 ? path.resolve(args[dirIndex + 1] || '') : null;
const started = Date.now();
const log = (line) => console.log(`[backend:gpu] ${line}`);
const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const gb = (bytes) => `${(bytes / 1e9).toFixed(1)} GB`;

/**
 * The NVIDIA driver and GPUs, from nvidia-smi (or the kernel module's version file): { driver,
 * gpus: [{ name, computeCap }] }, or null with `why`.
 */
function nvidiaDriver() {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,compute_cap', '--format=csv,noheader'], { encoding: 'utf8' });
  if (smi.status === 0 && smi.stdout.trim() !== '') {
    const gpus = smi.stdout.trim().split('\n').map((line) => {
      const [name, driver, computeCap] = line.split(',').map((s) => s.trim());
      return { name, driver, computeCap };
    });
    return { driver: gpus[0].driver, gpus };
  }
  const procFile = '/proc/driver/nvidia/version';
  if (fs.existsSync(procFile)) {
    const m = fs.readFileSync(procFile, 'utf8').match(/Kernel Module\s+(?:for \S+\s+)?(\d+\.\d+(?:\.\d+)?)/);
    return { driver: m ? m[1] : 'unknown', gpus: [] };
  }
  const why = smi.error ? 'nvidia-smi is not installed' : `nvidia-smi failed (exit ${smi.status}: ${(smi.stderr || smi.stdout || '').trim().split('\n')[0]})`;
  return { driver: null, gpus: [], why: `${why} and ${procFile} does not exist` };
}

function driverTooOld(version) {
  const [major, minor] = String(version).split('.').map(Number);
  if (!Number.isFinite(major)) return false;
  return major < MIN_DRIVER[0] || (major === MIN_DRIVER[0] && (minor || 0) < MIN_DRIVER[1]);
}

/** The tfjs-node-gpu package directory, installing the npm package (without its download script) when absent. */
function ensurePackage() {
  if (stageDir !== null) {
    if (!fs.existsSync(path.join(stageDir, 'binding.gyp'))) throw new SetupError(`--dir ${stageDir} is not a copy of ${PACKAGE} (no binding.gyp)`, 'point --dir at an unpacked tfjs-node-gpu package');
    return stageDir;
  }
  let dir = pypi.packageDir(PACKAGE);
  if (dir !== null) return dir;
  log(`installing ${PACKAGE}@${PACKAGE_VERSION} from npm without its install script (which would fetch CUDA 11 libtensorflow)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${PACKAGE}@${PACKAGE_VERSION}`], { cwd: root, stdio: 'inherit' });
  dir = pypi.packageDir(PACKAGE);
  if (r.status !== 0 || dir === null) throw new SetupError(`npm could not install ${PACKAGE}@${PACKAGE_VERSION} (exit ${r.status})`, 'check that the npm registry is reachable, then run `npm run backend:gpu` again');
  return dir;
}

function stamp(pkgDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  return { tensorflow: TENSORFLOW.file, sha256: TENSORFLOW.sha256, nvidia: NVIDIA.map((w) => w.file), tfjsNodeGpu: pkg.version, nodeAbi: process.versions.modules };
}

const GPU_ENV = { TF_FORCE_GPU_ALLOW_GROWTH: 'true' };

function main() {
  const unsupported = pypi.unsupportedReason();
  if (unsupported) throw new SetupError(unsupported, 'tensorflow-gpu is for Linux x86_64 with an NVIDIA GPU; elsewhere use webgpu (LONGLORA_BACKEND=webgpu; environment.md, "GPU: WebGPU")');
  const nv = nvidiaDriver();
  if (nv.driver === null) {
    if (!force) {
      throw new SetupError(
        `no NVIDIA driver found (${nv.why}); tensorflow-gpu needs an NVIDIA GPU with a driver for CUDA 12 (>= ${MIN_DRIVER.join('.')}). Nothing was downloaded`,
        'on an NVIDIA machine install the driver (nvidia-smi must work); on other GPUs use webgpu (LONGLORA_BACKEND=webgpu); to stage anyway (an image built without a GPU): `npm run backend:gpu -- --force`',
      );
    }
    log(`no NVIDIA driver found (${nv.why}); staging anyway (--force): the load check will not find a GPU`);
  } else {
    log(`NVIDIA driver ${nv.driver}${nv.gpus.length ? `: ${nv.gpus.map((g) => `${g.name} (sm_${String(g.computeCap).replace('.', '')})`).join(', ')}` : ''}`);
    if (driverTooOld(nv.driver) && !force) {
      throw new SetupError(`NVIDIA driver ${nv.driver} is older than ${MIN_DRIVER.join('.')}, the oldest that runs CUDA 12. Nothing was downloaded`, 'update the driver; or `npm run backend:gpu -- --force` to stage anyway');
    }
    const old = nv.gpus.find((g) => Number(g.computeCap) < 6);
    if (old && !force) throw new SetupError(`${old.name} has compute capability ${old.computeCap}; libtensorflow 2.21 has kernels for 6.0 and newer. Nothing was downloaded`, 'use webgpu (LONGLORA_BACKEND=webgpu) on this GPU');
  }

  const wheels = [TENSORFLOW, ...NVIDIA];
  const total = wheels.reduce((s, w) => s + w.bytes, 0);
  const missing = wheels.filter((w) => !fs.existsSync(pypi.cachedWheelPath(w)));
  const toDownload = missing.reduce((s, w) => s + w.bytes, 0);
  const cache = pypi.cacheDir();
  const free = pypi.freeBytes(cache);
  const needed = toDownload + total * UNPACKED_FACTOR;
  banner([
    `tensorflow-gpu set-up: libtensorflow ${TENSORFLOW.version} (CUDA 12) + ${NVIDIA.length} CUDA 12 libraries from PyPI`,
    `downloads: ${gb(toDownload)} of ${gb(total)} (${missing.length} of ${wheels.length} wheels not yet in ${cache})`,
    `disk: about ${gb(total * UNPACKED_FACTOR)} unpacked under ${stageDir ?? `node_modules/${PACKAGE}`}/deps; ${free === null ? 'free space unknown' : `${gb(free)} free`}`,
  ]);
  if (free !== null && free < needed && !force) {
    throw new SetupError(`about ${gb(needed)} of disk is needed and ${gb(free)} is free. Nothing was downloaded`, 'free some space (or set LONGLORA_CACHE to a larger disk), then run `npm run backend:gpu` again');
  }

  const pkgDir = ensurePackage();
  const depsDir = path.join(pkgDir, 'deps');
  const stampFile = path.join(depsDir, 'longlora-ts.json');
  const want = stamp(pkgDir);
  if (!force && fs.existsSync(stampFile) && JSON.stringify(JSON.parse(fs.readFileSync(stampFile, 'utf8'))) === JSON.stringify(want)) {
    const check = pypi.loadCheck(PACKAGE, GPU_ENV);
    if (check.ok && check.gpu) {
      log(`up to date: tensorflow-gpu (libtensorflow ${check.libtensorflow}) loads and uses the GPU (${secs()})`);
      return;
    }
    log(`staged before but ${check.ok ? 'finds no GPU' : `does not load (${check.why})`}: staging again`);
  }

  const files = wheels.map((w) => pypi.ensureWheel(w, log, RERUN));
  log(`all ${wheels.length} wheels in the cache (${secs()})`);
  pypi.stageDeps(files[0], depsDir, log, RERUN);
  const nvidiaDir = path.join(depsDir, 'nvidia');
  let libs = 0;
  let bytes = 0;
  for (const file of files.slice(1)) {
    // the shared libraries, and ptxas (TF compiles PTX with it where a kernel has no SASS for the GPU)
    const got = pypi.unpackTree(file, 'nvidia/', '^nvidia/[^/]+/(lib/[^/]+\\.so[.0-9]*$|bin/ptxas$)', nvidiaDir, RERUN);
    libs += got.files;
    bytes += got.bytes;
  }
  log(`staged libtensorflow and ${libs} CUDA files (${gb(bytes)}) in ${path.relative(root, depsDir)} (${secs()})`);
  pypi.buildAddon(pkgDir, path.join(depsDir, 'build.log'), log);
  fs.writeFileSync(stampFile, JSON.stringify(want, null, 2) + '\n');
  const check = pypi.loadCheck(stageDir ?? PACKAGE, GPU_ENV);
  if (!check.ok) throw new SetupError(`the built addon does not load: ${check.why}`, `run \`${RERUN} -- --force\`; environment.md, "GPU: CUDA" lists the common errors`);
  if (!check.gpu && nv.driver === null) {
    log(`done in ${secs()}: the addon builds and loads (libtensorflow ${check.libtensorflow}) on the CPU; without an NVIDIA driver it finds no GPU, as expected (--force)`);
    return;
  }
  if (!check.gpu) {
    const hint = (check.stderr || '').split('\n').filter((l) => /cuda|cudnn|libcu|GPU/i.test(l)).slice(0, 3).join(' | ');
    throw new SetupError(
      `tensorflow-gpu loads (libtensorflow ${check.libtensorflow}) but finds no CUDA GPU${hint ? `: ${hint}` : ''}`,
      `check nvidia-smi; run with TF_CPP_MIN_LOG_LEVEL=0 to see which CUDA library failed to load; try LD_LIBRARY_PATH=${nvidiaDir}/<name>/lib for it (environment.md, "GPU: CUDA")`,
    );
  }
  log(`done in ${secs()}: tensorflow-gpu (libtensorflow ${check.libtensorflow}) uses the GPU; ll.ready() picks it first; check it with \`npm run gpu:check\``);
}

try {
  main();
} catch (e) {
  banner([`longlora-ts: the 'tensorflow-gpu' backend is NOT set up: ${e.message}`, ...(e.fix ? [`What to do: ${e.fix}`] : [])]);
  if (!(e instanceof SetupError)) console.error(e);
  process.exit(1);
}
