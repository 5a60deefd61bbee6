#!/usr/bin/env node
/**
 * The longlora-ts Jupyter kernel: starts the tslab pinned in this repository (node_modules/tslab,
 * which bundles TypeScript 5.0.4) with the project's environment.
 *
 * Jupyter runs it as `node launch.js kernel --config-path <connection file>` (kernel.json, written
 * by install.js). We call tslab's `startKernel` with `enableFindLocal: false` so that the kernel is
 * always this checkout's tslab, not whichever tslab sits above the notebook's folder.
 *
 * Environment: TF_CPP_MIN_LOG_LEVEL=2 silences libtensorflow's info logs (tfjs-node backends);
 * LONGLORA_BACKEND / LONGLORA_WASM_THREADS pass through (kernel.json `env` sets them only when the
 * kernel was installed with --backend / --threads). Values already in the environment win.
 */
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';

function fail(message) {
  process.stderr.write(`longlora-ts kernel: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const at = args.indexOf('--config-path');
if (args[0] !== 'kernel' || at < 0 || !args[at + 1]) {
  fail(`expected arguments "kernel --config-path <connection file>", got ${JSON.stringify(args)} (Jupyter passes them; see kernel.json)`);
}

let tslabMain;
try {
  tslabMain = require.resolve('tslab/dist/main.js', { paths: [root] });
} catch {
  fail(`tslab is not installed in ${root}/node_modules: run \`npm install\` in ${root}`);
}
const tslab = require(tslabMain);
const version = require(path.join(path.dirname(tslabMain), '..', 'package.json')).version;
tslab.startKernel({ configPath: args[at + 1], enableFindLocal: false, jsKernel: false, globalVersion: version });
