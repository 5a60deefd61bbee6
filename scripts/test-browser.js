#!/usr/bin/env node
/**
 * `npm run test:browser [-- options] [notebooks...]`: the notebooks in a real JupyterLab in a real browser.
 *
 * Starts its own JupyterLab from .venv on a free loopback port with a random token (notebooks are
 * copied to build/browser/notebooks, so neither the checkout's notebooks nor build/notebooks are
 * ever saved over; settings and workspace are fresh), drives Debian's Chromium with playwright-core
 * (no browser download; every request that is not to that server is blocked), and per notebook:
 *   - EXECUTES it (run all cells) when it is in the run set: by default 00 and one teaching notebook
 *     (02, or the first teaching notebook when there is no 02);
 *   - otherwise OPENS its executed copy from build/notebooks/ (written by `npm run notebooks`, which
 *     `npm test` runs) without running anything, as a student opening it would; a missing copy, or
 *     one whose cells differ from notebooks/ (stale), fails;
 * and checks:
 *   - the notebook names the longlora-ts kernel (and, when executed, runs on it); every code cell has
 *     an execution count and (unless tagged no-output) an output, and no output is an error or a
 *     stderr stream;
 *   - every vega-lite output is drawn by JupyterLab's vega renderer: a canvas with painted pixels
 *     or an SVG with marks, labelled (aria-label) with the spec's description, its text alternative;
 *   - every plotly output is drawn by the plotly renderer: `.main-svg` with drawn traces (or heatmap
 *     images) and its title;
 *   - the notebook's main figure (the first figure output, or the first figure of a cell tagged
 *     `main-figure`) is screenshotted to build/screenshots/notebooks/<name>.png.
 * Also screenshots each notebook's top and end and each figure to build/screenshots/, with report.json.
 *
 * Options: --run LIST (comma-separated names or numbers, e.g. `--run 00,04`; env
 * LONGLORA_BROWSER_RUN; `none` opens every one), --run-all (execute every notebook), --executed DIR
 * (where the executed copies are, default build/notebooks). Arguments: the notebooks to include (default every notebook
 * in notebooks/; `npm run test:browser -- notebooks/00-setup-check.ipynb` executes just 00).
 * Quick mode (LONGLORA_QUICK=1 unless set). Chromium: LONGLORA_CHROMIUM, else /usr/bin/chromium
 * (`apt-get install chromium`). Exit 0 when every check passed, 1 otherwise.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { root, KERNEL_NAME, venvBin, venvProblem, SETUP_HINT } = require('./jupyter-env');

const BROWSER_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const RUN_TIMEOUT_MS = Number(process.env.LONGLORA_BROWSER_TIMEOUT_MS || 300000);
const work = path.join(root, 'build', 'browser');
const shots = path.join(root, 'build', 'screenshots');
const mainShots = path.join(shots, 'notebooks');
const MAIN_FIGURE_TAG = 'main-figure';
const FIGURE_SELECTOR = '.jp-RenderedVegaCommon5, .jp-RenderedPlotly';
const t0 = Date.now();
const log = (line) => console.log(`[test:browser ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);

function fail(message) {
  console.error(`test:browser: ${message}`);
  process.exit(1);
}

function chromiumPath() {
  const candidates = [process.env.LONGLORA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) fail(`no Chromium at ${candidates.join(' or ')}: install Debian's with \`apt-get install -y chromium\` or set LONGLORA_CHROMIUM`);
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function request(method, url) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Fresh user settings: no news or update checks (no network), every cell in the DOM, no autosave. */
function writeSettings(dir) {
  const settings = {
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings': { fetchNews: 'false', checkForUpdates: false },
    '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': { windowingMode: 'none' },
    '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': { autosave: false },
  };
  for (const [file, value] of Object.entries(settings)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), JSON.stringify(value, null, 2));
  }
}

async function startJupyter(notebookDir, env) {
  const port = await freePort();
  const token = crypto.randomBytes(24).toString('hex');
  const settings = path.join(work, 'settings');
  const workspaces = path.join(work, 'workspaces');
  fs.rmSync(settings, { recursive: true, force: true });
  fs.rmSync(workspaces, { recursive: true, force: true });
  writeSettings(settings);
  const args = [
    'lab', '--no-browser', '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${notebookDir}`,
    `--LabApp.user_settings_dir=${settings}`, `--LabApp.workspaces_dir=${workspaces}`,
    '--LabApp.expose_app_in_browser=True', `--MappingKernelManager.default_kernel_name=${KERNEL_NAME}`,
    '--LabApp.extension_manager=readonly', // no PyPI queries from the extension manager
    ...(process.getuid && process.getuid() === 0 ? ['--ServerApp.allow_root=True'] : []), // CI runs as root
  ];
  const logFile = path.join(work, 'jupyter.log');
  const out = fs.openSync(logFile, 'w');
  const child = spawn(venvBin('jupyter'), args, { stdio: ['ignore', out, out], env });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`JupyterLab exited with ${child.exitCode} before it served; see ${logFile}`);
    if ((await request('GET', `${base}/api/status?token=${token}`)) === 200) return { child, base, token, logFile };
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill('SIGKILL');
  fail(`JupyterLab did not answer on ${base} within 90 s; see ${logFile}`);
}

async function stopJupyter({ child, base, token }) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  await request('POST', `${base}/api/shutdown?token=${token}`); // also shuts its kernels down
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs in the page: waits for the current notebook, runs all cells when `execute` (checking the
 * kernel first), and returns its cells from the model; marks the main figure's element with
 * `data-longlora-main-figure` (the first figure of a cell tagged `mainTag`, else the first figure).
 */
async function notebookInPage({ kernelName, timeoutMs, execute, mainTag, figureSelector }) {
  const app = window.jupyterapp;
  const t0 = Date.now();
  const marks = {};
  await app.started;
  marks.started = Date.now() - t0;
  await app.restored;
  marks.restored = Date.now() - t0;
  // the notebook gets the whole width (wide figures are screenshotted whole)
  if (app.shell.collapseLeft) app.shell.collapseLeft();
  if (app.shell.collapseRight) app.shell.collapseRight();
  const deadline = Date.now() + 60000;
  let panel = app.shell.currentWidget;
  while (!(panel && panel.sessionContext) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    panel = app.shell.currentWidget;
  }
  if (!(panel && panel.sessionContext)) return { error: 'no notebook panel became current' };
  marks.panel = Date.now() - t0;
  await panel.context.ready;
  marks.ready = Date.now() - t0;
  const model = panel.content.model;
  const spec = model.getMetadata ? model.getMetadata('kernelspec') : model.metadata && model.metadata.kernelspec;
  if (!spec || spec.name !== kernelName) return { error: `the notebook's metadata names kernel ${spec && spec.name}, not ${kernelName}` };
  let seconds = 0;
  let runResult = null;
  if (execute) {
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) return { error: 'the notebook has no kernel' };
    if (kernel.name !== kernelName) return { error: `the notebook's kernel is ${kernel.name}, not ${kernelName}` };
    const started = Date.now();
    runResult = await Promise.race([
      app.commands.execute('notebook:run-all-cells'),
      new Promise((r) => setTimeout(() => r('timeout'), timeoutMs)),
    ]);
    if (runResult === 'timeout') return { error: `run all cells did not finish within ${timeoutMs / 1000} s` };
    while (kernel.status !== 'idle' && Date.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 200));
    seconds = (Date.now() - started) / 1000;
  }
  const cells = [];
  let mainCell = null;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const json = cell.toJSON();
    const tags = (json.metadata && json.metadata.tags) || [];
    if (mainCell === null && tags.includes(mainTag)) mainCell = i;
    cells.push({
      index: i,
      source: String(Array.isArray(json.source) ? json.source.join('') : json.source).split('\n')[0].slice(0, 80),
      executionCount: json.execution_count,
      tags,
      outputs: json.outputs.map((o) => ({
        type: o.output_type,
        name: o.name,
        mimes: o.data ? Object.keys(o.data) : [],
        text: o.output_type === 'stream' ? String(o.text).slice(0, 500) : o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : '',
        description: o.data && o.data['application/vnd.vegalite.v5+json'] ? o.data['application/vnd.vegalite.v5+json'].description || null : undefined,
        plotlyTitle: o.data && o.data['application/vnd.plotly.v1+json'] ? (((o.data['application/vnd.plotly.v1+json'].layout || {}).title) || null) : undefined,
      })),
    });
  }
  const root = mainCell === null ? panel.content.node : panel.content.widgets[mainCell].node;
  const main = root.querySelector(figureSelector);
  if (main) main.setAttribute('data-longlora-main-figure', '1');
  return { marks, seconds, cells, runResult, mainCell, mainFound: main !== null, trusted: cells.length > 0 ? model.cells.get(cells[0].index).trusted : null };
}

/** Runs in the page: what JupyterLab's vega and plotly renderers actually drew. */
function inspectFiguresInPage() {
  const vega = [...document.querySelectorAll('.jp-RenderedVegaCommon5')].map((el) => {
    const canvas = el.querySelector('canvas');
    let painted = 0;
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) painted++;
    }
    const svg = el.querySelector('svg.marks');
    const svgMarks = svg ? svg.querySelectorAll('path, rect, line, circle').length : 0;
    // vega uses the spec's description (our text alternative) as the view's aria-label
    const labelled = el.querySelector('[aria-label]');
    // wider than its output area: the screenshot shows only part of it
    const clipped = el.scrollWidth > el.clientWidth + 1;
    return { canvas: canvas ? `${canvas.width}x${canvas.height}` : null, painted, svgMarks, ariaLabel: labelled ? labelled.getAttribute('aria-label') : null, clipped };
  });
  const plotly = [...document.querySelectorAll('.jp-RenderedPlotly')].map((el) => {
    const main = el.querySelectorAll('.main-svg').length;
    // lines, markers and bars are g.trace; heatmaps g.hm with an <image>
    const traces = [...el.querySelectorAll('.main-svg .trace, .main-svg .hm')];
    const drawn = traces.filter((t) => [...t.querySelectorAll('path, image')].some((p) => (p.getAttribute('d') || p.getAttribute('href') || '').length > 2)).length;
    const title = el.querySelector('.main-svg .gtitle');
    return { mainSvg: main, traces: traces.length, drawn, title: title ? title.textContent : null, clipped: el.scrollWidth > el.clientWidth + 1 };
  });
  return { vega, plotly };
}

function checkNotebook(name, run, figures) {
  const problems = [];
  if (run.error) return [run.error];
  if (run.runResult === false) problems.push('run all cells reported a failure (a cell errored, the rest were not run)');
  if (run.mainCell !== null && !run.mainFound) problems.push(`cell ${run.mainCell} is tagged ${MAIN_FIGURE_TAG} but has no figure`);
  let vegaOutputs = 0;
  let plotlyOutputs = 0;
  const descriptions = [];
  const plotlyTitles = [];
  for (const c of run.cells) {
    const where = `cell ${c.index} (${JSON.stringify(c.source)})`;
    if (c.executionCount === null || c.executionCount === undefined) problems.push(`${where}: not executed`);
    else if (c.outputs.length === 0 && !c.tags.includes('no-output')) problems.push(`${where}: no output`);
    const demonstrated = c.tags.includes('raises-exception'); // an error on purpose, as the headless runner allows
    for (const o of c.outputs) {
      if (o.type === 'error' && !demonstrated) problems.push(`${where}: error output ${o.text}`);
      if (o.type === 'stream' && o.name === 'stderr' && !demonstrated) problems.push(`${where}: stderr output ${JSON.stringify(o.text)}`);
      if (o.mimes.includes('application/vnd.vegalite.v5+json')) {
        vegaOutputs++;
        descriptions.push(o.description);
      }
      if (o.mimes.includes('application/vnd.plotly.v1+json')) {
        plotlyOutputs++;
        plotlyTitles.push(o.plotlyTitle);
      }
    }
  }
  if (figures.vega.length !== vegaOutputs) problems.push(`${vegaOutputs} vega-lite outputs but ${figures.vega.length} vega renderings`);
  if (figures.plotly.length !== plotlyOutputs) problems.push(`${plotlyOutputs} plotly outputs but ${figures.plotly.length} plotly renderings`);
  figures.vega.forEach((v, k) => {
    if (!(v.painted > 0 || v.svgMarks > 0)) problems.push(`vega figure ${k}: nothing drawn (canvas ${v.canvas}, ${v.painted} painted pixels, ${v.svgMarks} SVG marks)`);
    // vega labels a view "Vega visualization" when the spec has no description
    if (!descriptions[k]) problems.push(`vega figure ${k}: the spec has no description (its text alternative)`);
    else if (v.ariaLabel !== descriptions[k]) problems.push(`vega figure ${k}: aria-label ${JSON.stringify(v.ariaLabel)} is not the spec's description`);
  });
  figures.plotly.forEach((p, k) => {
    if (!(p.mainSvg > 0 && p.drawn > 0)) problems.push(`plotly figure ${k}: ${p.mainSvg} .main-svg, ${p.traces} traces, ${p.drawn} drawn`);
    // plotly.js 3 draws no title given as a plain string (lib/viz writes { text })
    if (plotlyTitles[k] && !p.title) problems.push(`plotly figure ${k}: its title ${JSON.stringify(plotlyTitles[k])} is not drawn`);
  });
  return problems;
}

function usage() {
  return [
    'usage: npm run test:browser -- [--run LIST | --run-all] [--executed DIR] [notebooks...]',
    '  notebooks       which notebooks to include (names, numbers or paths; default every notebook in notebooks/)',
    '  --run LIST      comma-separated notebooks to execute in JupyterLab (default: 00 and 02, or the first',
    '                  teaching notebook if there is no 02; env LONGLORA_BROWSER_RUN); the others are opened',
    '                  from their executed copies without running (`--run none`: open every one)',
    '  --run-all       execute every included notebook',
    '  --executed DIR  where the executed copies are (default build/notebooks, written by `npm run notebooks`)',
  ].join('\n');
}

/** The notebook file in `all` that `spec` names: a file name, a path, a name without .ipynb, or a number ("02"). */
function resolveNotebook(spec, all) {
  const base = path.basename(spec);
  if (/^\d+$/.test(base)) {
    const hit = all.filter((n) => n.startsWith(`${base.padStart(2, '0')}-`));
    if (hit.length === 1) return hit[0];
  }
  const name = base.endsWith('.ipynb') ? base : `${base}.ipynb`;
  if (all.includes(name)) return name;
  fail(`no such notebook in notebooks/: ${spec} (have: ${all.join(', ')})\n${usage()}`);
}

function parseArgs(argv, all) {
  const opts = { include: [], run: null, runAll: false, executed: path.join(root, 'build', 'notebooks') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (flag) => {
      if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
      if (i + 1 >= argv.length) fail(`${flag} needs a value\n${usage()}`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') {
      console.log(usage());
      process.exit(0);
    } else if (a === '--run-all') opts.runAll = true;
    else if (a === '--run' || a.startsWith('--run=')) opts.run = value('--run');
    else if (a === '--executed' || a.startsWith('--executed=')) opts.executed = path.resolve(value('--executed'));
    else if (a.startsWith('-')) fail(`unknown option ${a}\n${usage()}`);
    else opts.include.push(resolveNotebook(a, all));
  }
  const chosen = opts.include.length > 0 ? [...new Set(opts.include)].sort() : all;
  const runSpec = opts.run ?? process.env.LONGLORA_BROWSER_RUN ?? null;
  let run;
  if (opts.runAll || runSpec === 'all') run = chosen;
  else if (runSpec === 'none') run = [];
  else if (runSpec !== null) run = runSpec.split(',').filter((x) => x.trim() !== '').map((x) => resolveNotebook(x.trim(), all));
  else {
    const teaching = all.filter((n) => /^\d+-/.test(n) && Number(n.split('-')[0]) >= 1);
    const lesson = teaching.find((n) => n.startsWith('02-')) ?? teaching[0];
    run = all.filter((n) => n.startsWith('00-') || n === lesson);
  }
  return { chosen, execute: new Set(run.filter((n) => chosen.includes(n))), executed: opts.executed };
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Why the executed copy of `name` cannot be opened (missing, or its cells differ from notebooks/), or null. */
function executedCopyProblem(name, executedDir) {
  const copy = path.join(executedDir, name);
  const rel = path.relative(root, copy);
  if (!fs.existsSync(copy)) return `no executed copy at ${rel}: run \`npm run notebooks -- --quick\` first (or execute it here with --run ${name.split('-')[0]})`;
  const cellsOf = (file) => readJson(file).cells.map((c) => `${c.cell_type}:${Array.isArray(c.source) ? c.source.join('') : c.source}`);
  const [source, executed] = [cellsOf(path.join(root, 'notebooks', name)), cellsOf(copy)];
  const differs = source.length !== executed.length || source.some((c, k) => c !== executed[k]);
  if (differs) return `the executed copy ${rel} is stale (its cells differ from notebooks/${name}): rerun \`npm run notebooks -- --quick notebooks/${name}\``;
  return null;
}

/** Shuts down every kernel session of the server (opened notebooks start one; executed ones are done). */
async function shutdownSessions(server) {
  const sessions = await new Promise((resolve) => {
    http.get(`${server.base}/api/sessions?token=${server.token}`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve([]);
        }
      });
    }).on('error', () => resolve([]));
  });
  for (const s of Array.isArray(sessions) ? sessions : []) await request('DELETE', `${server.base}/api/sessions/${s.id}?token=${server.token}`);
}

/** The drawing inside a figure output (vega's canvas or SVG, plotly's main SVG), else the output itself: screenshots crop to it. */
async function drawing(output) {
  const inner = output.locator('canvas, svg.marks, .main-svg').first();
  return (await inner.count()) > 0 ? inner : output;
}

/** Waits until JupyterLab has drawn `expected` figures (or `ms` passed), then returns what it drew. */
async function waitForFigures(page, expected, ms) {
  const deadline = Date.now() + ms;
  let figures = await page.evaluate(inspectFiguresInPage);
  const done = (f) =>
    f.vega.length + f.plotly.length >= expected &&
    f.vega.every((v) => v.painted > 0 || v.svgMarks > 0) &&
    f.plotly.every((p) => p.mainSvg > 0 && p.drawn > 0);
  while (!done(figures) && Date.now() < deadline) {
    await page.waitForTimeout(300);
    figures = await page.evaluate(inspectFiguresInPage);
  }
  // let the renderers settle (vega and plotly draw asynchronously, plotly in steps)
  await page.waitForTimeout(500);
  return page.evaluate(inspectFiguresInPage);
}

async function main() {
  const problem = venvProblem();
  if (problem) fail(`${problem}.\n${SETUP_HINT}`);
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) fail('dist/index.js is missing: run `npm run build` first');
  const all = fs.readdirSync(path.join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
  const { chosen, execute, executed } = parseArgs(process.argv.slice(2), all);
  const executablePath = chromiumPath();
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch {
    fail('playwright-core is not installed: run `npm install`');
  }

  // copies inside the repo, so `import 'longlora-ts'` resolves through the repo's node_modules:
  // the source of notebooks to execute, the executed copy of notebooks to open
  const notebookDir = path.join(work, 'notebooks');
  fs.rmSync(notebookDir, { recursive: true, force: true });
  fs.mkdirSync(notebookDir, { recursive: true });
  const copyProblems = {};
  for (const n of chosen) {
    if (execute.has(n)) fs.copyFileSync(path.join(root, 'notebooks', n), path.join(notebookDir, n));
    else {
      copyProblems[n] = executedCopyProblem(n, executed);
      if (copyProblems[n] === null) fs.copyFileSync(path.join(executed, n), path.join(notebookDir, n));
    }
  }
  // everything this script wrote before; build/screenshots/slides belongs to the slides test (test/slides)
  for (const entry of fs.existsSync(shots) ? fs.readdirSync(shots) : []) {
    if (entry !== 'slides') fs.rmSync(path.join(shots, entry), { recursive: true, force: true });
  }
  fs.mkdirSync(mainShots, { recursive: true });

  const env = {
    ...process.env,
    LONGLORA_QUICK: process.env.LONGLORA_QUICK ?? '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'), // connection files stay in build/
  };
  const opened = chosen.filter((n) => !execute.has(n));
  log(`executing ${[...execute].join(', ') || 'none'}; opening the executed copies of ${opened.join(', ') || 'none'} (from ${path.relative(root, executed) || '.'})`);
  log(`starting JupyterLab from ${venvBin('jupyter')} (LONGLORA_QUICK=${env.LONGLORA_QUICK})`);
  const server = await startJupyter(notebookDir, env);
  log(`JupyterLab up at ${server.base} (log: ${path.relative(root, server.logFile)})`);
  let browser;
  const report = { started: new Date().toISOString(), chromium: executablePath, executed: [...execute], opened, notebooks: [] };
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: BROWSER_ARGS });
    report.chromiumVersion = browser.version();
    log(`Chromium ${browser.version()} (${executablePath})`);
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const blocked = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    for (const name of chosen) {
      const mode = execute.has(name) ? 'executed' : 'opened';
      const base = name.replace(/\.ipynb$/, '');
      if (copyProblems[name]) {
        report.notebooks.push({ name, mode, ok: false, problems: [copyProblems[name]] });
        log(`${name}: FAIL\n    ${copyProblems[name]}`);
        continue;
      }
      const page = await context.newPage();
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
      const started = Date.now();
      await page.goto(`${server.base}/lab/tree/${encodeURIComponent(name)}?reset&token=${server.token}`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => window.jupyterapp !== undefined, null, { timeout: 90000 });
      log(`${name}: JupyterLab loaded in ${((Date.now() - started) / 1000).toFixed(1)} s; ${mode === 'executed' ? 'running all cells' : 'opened the executed copy (not running it)'}`);
      const args = { kernelName: KERNEL_NAME, timeoutMs: RUN_TIMEOUT_MS, execute: mode === 'executed', mainTag: MAIN_FIGURE_TAG, figureSelector: FIGURE_SELECTOR };
      let run = await page.evaluate(notebookInPage, args);
      const expected = (run.cells || []).reduce((k, c) => k + c.outputs.filter((o) => o.mimes.some((m) => m === 'application/vnd.vegalite.v5+json' || m === 'application/vnd.plotly.v1+json')).length, 0);
      const timings = { loaded: (Date.now() - started) / 1000, inPage: run.marks };
      const figures = await waitForFigures(page, expected, 30000);
      timings.drawn = (Date.now() - started) / 1000;
      if (!run.error && !run.mainFound && expected > 0) {
        // mark the main figure once the renderers have created it
        const again = await page.evaluate(notebookInPage, { ...args, execute: false });
        run = { ...run, mainCell: again.mainCell, mainFound: again.mainFound };
      }
      const figureShots = [];
      const outputs = page.locator(FIGURE_SELECTOR);
      for (let k = 0; k < (await outputs.count()); k++) {
        const file = path.join(shots, `${base}-figure-${k}.png`);
        await (await drawing(outputs.nth(k))).screenshot({ path: file });
        figureShots.push(path.relative(root, file));
      }
      let mainFigure = null;
      const main = page.locator('[data-longlora-main-figure]');
      if ((await main.count()) > 0) {
        mainFigure = path.join(mainShots, `${base}.png`);
        await (await drawing(main.first())).screenshot({ path: mainFigure });
        mainFigure = path.relative(root, mainFigure);
      }
      // the notebook scrolls inside JupyterLab's windowed panel, not the page
      const scroll = (to) => page.evaluate((top) => {
        const el = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer') || document.querySelector('.jp-NotebookPanel-notebook');
        if (el) el.scrollTop = top === 'end' ? el.scrollHeight : 0;
      }, to);
      await scroll('top');
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(shots, `${base}.png`) });
      await scroll('end');
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(shots, `${base}-end.png`) });
      timings.screenshots = (Date.now() - started) / 1000;
      const problems = checkNotebook(name, run, figures);
      if (expected > 0 && mainFigure === null && problems.length === 0) problems.push('no main figure to screenshot');
      const seconds = (Date.now() - started) / 1000;
      report.notebooks.push({
        name, mode, ok: problems.length === 0, seconds, timings, runSeconds: run.seconds, trusted: run.trusted, problems, figures, cells: run.cells, pageErrors,
        mainFigure, screenshots: [`build/screenshots/${base}.png`, `build/screenshots/${base}-end.png`, ...figureShots],
      });
      const summary = `${figures.vega.length} vega + ${figures.plotly.length} plotly figures drawn${mainFigure ? `; main figure ${mainFigure}` : ''}`;
      const what = mode === 'executed' ? `ran ${(run.cells || []).length} code cells in ${(run.seconds || 0).toFixed(1)} s` : `opened, ${(run.cells || []).length} code cells`;
      if (problems.length === 0) log(`${name}: ok (${what}; ${summary}; ${seconds.toFixed(1)} s in all)`);
      else log(`${name}: FAIL\n    ${problems.join('\n    ')}`);
      if (pageErrors.length > 0) log(`${name}: page errors (reported, not failing): ${pageErrors.join(' | ')}`);
      const clipped = [...figures.vega, ...figures.plotly].filter((f) => f.clipped).length;
      if (clipped > 0) log(`${name}: ${clipped} figure(s) wider than the notebook at 1600 px (reported, not failing; their screenshots are cut)`);
      await page.close();
      await shutdownSessions(server);
    }
    report.blockedRequests = blocked;
    if (blocked.length > 0) log(`blocked ${blocked.length} request(s) to other hosts: ${[...new Set(blocked)].slice(0, 5).join(', ')}`);
  } finally {
    if (browser) await browser.close();
    await stopJupyter(server);
  }
  const failed = report.notebooks.filter((n) => !n.ok).length;
  report.seconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(path.join(shots, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  log(`screenshots and report.json in ${path.relative(root, shots)}/ (main figures in ${path.relative(root, mainShots)}/)`);
  console.log(`browser: ${report.notebooks.length - failed} passed, ${failed} failed (${execute.size} executed, ${opened.length} opened)`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`test:browser: ${e.stack || e}`);
  process.exit(1);
});
