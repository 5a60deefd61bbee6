#!/usr/bin/env node
/**
 * `npm run test:browser [-- notebooks...]`: the notebooks in a real JupyterLab in a real browser.
 *
 * Starts its own JupyterLab from .venv on a free loopback port with a random token (notebooks are
 * copied to build/browser/notebooks, so the checkout's notebooks are never saved over; settings
 * and workspace are fresh), drives Debian's Chromium with playwright-core (no browser download;
 * every request that is not to that server is blocked), opens each notebook, runs all cells and
 * checks, per notebook:
 *   - the kernel is longlora-ts, every code cell has an execution count and (unless tagged
 *     no-output) an output, and no output is an error or a stderr stream;
 *   - every vega-lite output is drawn by JupyterLab's vega renderer: a canvas with painted pixels
 *     or an SVG with marks;
 *   - every plotly output is drawn by the plotly renderer: `.main-svg` with drawn traces.
 * Screenshots (each notebook, each figure) go to build/screenshots/, with report.json.
 *
 * Default: every notebook in notebooks/ (name a subset as arguments once there are many), in
 * quick mode (LONGLORA_QUICK=1 unless set). Chromium: LONGLORA_CHROMIUM, else /usr/bin/chromium
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

/** Runs in the page: opens nothing, waits for the current notebook, runs all cells, returns the model. */
async function runAllInPage({ kernelName, timeoutMs }) {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  const deadline = Date.now() + 60000;
  let panel = app.shell.currentWidget;
  while (!(panel && panel.sessionContext) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    panel = app.shell.currentWidget;
  }
  if (!(panel && panel.sessionContext)) return { error: 'no notebook panel became current' };
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) return { error: 'the notebook has no kernel' };
  if (kernel.name !== kernelName) return { error: `the notebook's kernel is ${kernel.name}, not ${kernelName}` };
  const started = Date.now();
  const ran = await Promise.race([
    app.commands.execute('notebook:run-all-cells'),
    new Promise((r) => setTimeout(() => r('timeout'), timeoutMs)),
  ]);
  if (ran === 'timeout') return { error: `run all cells did not finish within ${timeoutMs / 1000} s` };
  while (kernel.status !== 'idle' && Date.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 200));
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const json = cell.toJSON();
    cells.push({
      index: i,
      source: String(Array.isArray(json.source) ? json.source.join('') : json.source).split('\n')[0].slice(0, 80),
      executionCount: json.execution_count,
      tags: (json.metadata && json.metadata.tags) || [],
      outputs: json.outputs.map((o) => ({
        type: o.output_type,
        name: o.name,
        mimes: o.data ? Object.keys(o.data) : [],
        text: o.output_type === 'stream' ? String(o.text).slice(0, 500) : o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : '',
      })),
    });
  }
  return { seconds: (Date.now() - started) / 1000, cells, runResult: ran };
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
    return { canvas: canvas ? `${canvas.width}x${canvas.height}` : null, painted, svgMarks };
  });
  const plotly = [...document.querySelectorAll('.jp-RenderedPlotly')].map((el) => {
    const main = el.querySelectorAll('.main-svg').length;
    const traces = [...el.querySelectorAll('.main-svg .trace')];
    const drawn = traces.filter((t) => [...t.querySelectorAll('path, image')].some((p) => (p.getAttribute('d') || p.getAttribute('href') || '').length > 2)).length;
    return { mainSvg: main, traces: traces.length, drawn };
  });
  return { vega, plotly };
}

function checkNotebook(name, run, figures) {
  const problems = [];
  if (run.error) return [run.error];
  if (run.runResult === false) problems.push('run all cells reported a failure (a cell errored, the rest were not run)');
  let vegaOutputs = 0;
  let plotlyOutputs = 0;
  for (const c of run.cells) {
    const where = `cell ${c.index} (${JSON.stringify(c.source)})`;
    if (c.executionCount === null || c.executionCount === undefined) problems.push(`${where}: not executed`);
    else if (c.outputs.length === 0 && !c.tags.includes('no-output')) problems.push(`${where}: no output`);
    for (const o of c.outputs) {
      if (o.type === 'error') problems.push(`${where}: error output ${o.text}`);
      if (o.type === 'stream' && o.name === 'stderr') problems.push(`${where}: stderr output ${JSON.stringify(o.text)}`);
      if (o.mimes.includes('application/vnd.vegalite.v5+json')) vegaOutputs++;
      if (o.mimes.includes('application/vnd.plotly.v1+json')) plotlyOutputs++;
    }
  }
  if (figures.vega.length !== vegaOutputs) problems.push(`${vegaOutputs} vega-lite outputs but ${figures.vega.length} vega renderings`);
  if (figures.plotly.length !== plotlyOutputs) problems.push(`${plotlyOutputs} plotly outputs but ${figures.plotly.length} plotly renderings`);
  figures.vega.forEach((v, k) => {
    if (!(v.painted > 0 || v.svgMarks > 0)) problems.push(`vega figure ${k}: nothing drawn (canvas ${v.canvas}, ${v.painted} painted pixels, ${v.svgMarks} SVG marks)`);
  });
  figures.plotly.forEach((p, k) => {
    if (!(p.mainSvg > 0 && p.drawn > 0)) problems.push(`plotly figure ${k}: ${p.mainSvg} .main-svg, ${p.traces} traces, ${p.drawn} drawn`);
  });
  return problems;
}

async function main() {
  const problem = venvProblem();
  if (problem) fail(`${problem}.\n${SETUP_HINT}`);
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) fail('dist/index.js is missing: run `npm run build` first');
  const executablePath = chromiumPath();
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch {
    fail('playwright-core is not installed: run `npm install`');
  }
  const names = process.argv.slice(2).map((a) => path.basename(a));
  const all = fs.readdirSync(path.join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
  const chosen = names.length > 0 ? names : all;
  const unknown = chosen.filter((n) => !all.includes(n));
  if (unknown.length > 0) fail(`no such notebook in notebooks/: ${unknown.join(', ')} (have: ${all.join(', ')})`);

  // copies inside the repo, so `import 'longlora-ts'` resolves through the repo's node_modules
  const notebookDir = path.join(work, 'notebooks');
  fs.rmSync(notebookDir, { recursive: true, force: true });
  fs.mkdirSync(notebookDir, { recursive: true });
  for (const n of chosen) fs.copyFileSync(path.join(root, 'notebooks', n), path.join(notebookDir, n));
  fs.rmSync(shots, { recursive: true, force: true });
  fs.mkdirSync(shots, { recursive: true });

  const env = {
    ...process.env,
    LONGLORA_QUICK: process.env.LONGLORA_QUICK ?? '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'), // connection files stay in build/
  };
  log(`starting JupyterLab from ${venvBin('jupyter')} (LONGLORA_QUICK=${env.LONGLORA_QUICK})`);
  const server = await startJupyter(notebookDir, env);
  log(`JupyterLab up at ${server.base} (log: ${path.relative(root, server.logFile)})`);
  let browser;
  const report = { started: new Date().toISOString(), chromium: executablePath, notebooks: [] };
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: BROWSER_ARGS });
    report.chromiumVersion = browser.version();
    log(`Chromium ${browser.version()} (${executablePath})`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const blocked = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    for (const name of chosen) {
      const page = await context.newPage();
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
      const opened = Date.now();
      await page.goto(`${server.base}/lab/tree/${encodeURIComponent(name)}?reset&token=${server.token}`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => window.jupyterapp !== undefined, null, { timeout: 90000 });
      log(`${name}: JupyterLab loaded in ${((Date.now() - opened) / 1000).toFixed(1)} s; running all cells`);
      const run = await page.evaluate(runAllInPage, { kernelName: KERNEL_NAME, timeoutMs: RUN_TIMEOUT_MS });
      // let the renderers finish (vega and plotly draw asynchronously)
      await page.waitForTimeout(1500);
      await page.waitForFunction(() => document.querySelectorAll('.jp-RenderedPlotly .main-svg, .jp-RenderedVegaCommon5 canvas, .jp-RenderedVegaCommon5 svg').length > 0, null, { timeout: 30000 }).catch(() => {});
      const figures = await page.evaluate(inspectFiguresInPage);
      const base = name.replace(/\.ipynb$/, '');
      const figureShots = [];
      const outputs = page.locator('.jp-RenderedVegaCommon5, .jp-RenderedPlotly');
      for (let k = 0; k < (await outputs.count()); k++) {
        const file = path.join(shots, `${base}-figure-${k}.png`);
        await outputs.nth(k).screenshot({ path: file });
        figureShots.push(path.relative(root, file));
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
      const problems = checkNotebook(name, run, figures);
      report.notebooks.push({ name, ok: problems.length === 0, seconds: run.seconds, problems, figures, cells: run.cells, pageErrors, screenshots: [`build/screenshots/${base}.png`, `build/screenshots/${base}-end.png`, ...figureShots] });
      const summary = `${figures.vega.length} vega + ${figures.plotly.length} plotly figures drawn`;
      if (problems.length === 0) log(`${name}: ok (${run.cells.length} code cells in ${run.seconds.toFixed(1)} s; ${summary})`);
      else log(`${name}: FAIL\n    ${problems.join('\n    ')}`);
      if (pageErrors.length > 0) log(`${name}: page errors (reported, not failing): ${pageErrors.join(' | ')}`);
      await page.close();
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
  log(`screenshots and report.json in ${path.relative(root, shots)}/`);
  console.log(`browser: ${report.notebooks.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`test:browser: ${e.stack || e}`);
  process.exit(1);
});
