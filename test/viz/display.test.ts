/**
 * MIME bundles and showing them. Pins the tslab 1.0.22 internals that `show` relies on: the
 * module variable `lastWriteDisplayData` in tslab/dist/jupyter.js, the message shape the public
 * `display.raw` / `newDisplay` send through it, and how the kernel turns it into display_data /
 * update_display_data. If tslab changes any of these, this file fails before a notebook does.
 */
import * as fs from 'fs';
import { show, toMimeBundle, tslabDisplayWriter, LiveDisplay, vegaLiteFigure, plotlyFigure, htmlFigure, VEGALITE_MIME, PLOTLY_MIME, SVG_MIME, OKABE_ITO } from '../../lib/viz';
import type { DisplayMessage, DisplayWriter, ModuleCacheLike } from '../../lib/viz';

const spec = { mark: 'point', data: { values: [{ a: 1, b: 2 }] }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } }, title: 'pt' };

interface TslabJupyter {
  lastWriteDisplayData: ((content: DisplayMessage, update?: boolean) => void) | null;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const tslabJupyter = require('tslab/dist/jupyter') as TslabJupyter;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const tslabPublic = require('tslab') as { display: { raw(mime: string, data: unknown): void }; newDisplay(): { raw(mime: string, data: unknown): void } };

afterEach(() => {
  tslabJupyter.lastWriteDisplayData = null;
});

describe('toMimeBundle', () => {
  it('gives vega-lite figures their v5 MIME type, an SVG drawn in Node and a text form', async () => {
    const b = await toMimeBundle(vegaLiteFigure(spec));
    expect(Object.keys(b)).toEqual([VEGALITE_MIME, SVG_MIME, 'text/plain']);
    expect(b[VEGALITE_MIME]).toMatchObject({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'point' });
    expect(String(b[SVG_MIME])).toMatch(/^<svg[\s\S]*<\/svg>$/);
    // text/plain: the title and the text alternative derived from the data
    expect(b['text/plain']).toBe('pt: scatter plot of b by a, 1 data point, b 2');
    expect((b[VEGALITE_MIME] as { description?: string }).description).toBe('scatter plot of b by a, 1 data point, b 2');
  });

  it('gives plotly figures the plotly MIME type (as an object, not a string) and an SVG', async () => {
    const fig = plotlyFigure([{ x: [1, 2], y: [3, 4] }], { title: { text: 'p' } });
    const b = await toMimeBundle(fig);
    expect(Object.keys(b)).toEqual([PLOTLY_MIME, SVG_MIME, 'text/plain']);
    expect(typeof b[PLOTLY_MIME]).toBe('object');
    const alt = 'line chart, 1 series: trace 0 (2 points, x 1 to 2, y from 3 to 4)';
    expect(b[PLOTLY_MIME]).toEqual({
      data: [{ x: [1, 2], y: [3, 4] }],
      layout: { title: { text: 'p' }, colorway: [...OKABE_ITO], meta: { description: alt } },
    });
    expect(b['text/plain']).toBe(`p: ${alt}`);
    expect(String(b[SVG_MIME]).startsWith('<svg')).toBe(true);
  });

  it('gives HTML figures text/html and text/plain', async () => {
    expect(await toMimeBundle(htmlFigure('<p>x</p>', 'x'))).toEqual({ 'text/html': '<p>x</p>', 'text/plain': 'x' });
  });

  it('rejects unknown figure kinds', async () => {
    await expect(toMimeBundle({ kind: 'matplotlib' } as never)).rejects.toThrow("unknown figure kind 'matplotlib'");
  });
});

describe('show', () => {
  it('returns the bundle when not in a kernel (jest)', async () => {
    expect(tslabDisplayWriter()).toBeNull();
    const b = await show(vegaLiteFigure(spec));
    expect(b && Object.keys(b)).toEqual([VEGALITE_MIME, SVG_MIME, 'text/plain']);
  });

  it('sends ONE display message with every MIME type to a writer and returns undefined', async () => {
    const sent: Array<[DisplayMessage, boolean]> = [];
    const writer: DisplayWriter = (m, u) => sent.push([m, u]);
    expect(await show(vegaLiteFigure(spec), { writer })).toBeUndefined();
    expect(sent).toHaveLength(1);
    const [message, update] = sent[0];
    expect(update).toBe(false);
    expect(Object.keys(message)).toEqual(['data', 'metadata', 'transient']);
    expect(Object.keys(message.data)).toEqual([VEGALITE_MIME, SVG_MIME, 'text/plain']);
    expect(message.metadata).toEqual({});
    expect(message.transient).toEqual({});
    await show(vegaLiteFigure(spec), { writer, displayId: 'abc', update: true });
    expect(sent[1][0].transient).toEqual({ display_id: 'abc' });
    expect(sent[1][1]).toBe(true);
  });

  it('needs a displayId to update', async () => {
    await expect(show(vegaLiteFigure(spec), { writer: () => undefined, update: true })).rejects.toThrow('update = true needs a displayId');
  });

  it('writer: null forces returning the bundle even inside a kernel', async () => {
    tslabJupyter.lastWriteDisplayData = () => {
      throw new Error('must not be called');
    };
    expect(await show(htmlFigure('<b>x</b>', 'x'), { writer: null })).toEqual({ 'text/html': '<b>x</b>', 'text/plain': 'x' });
  });
});

describe('LiveDisplay', () => {
  it('creates its output once, then updates it under the same display_id', async () => {
    const sent: Array<[DisplayMessage, boolean]> = [];
    const live = new LiveDisplay({ writer: (m, u) => sent.push([m, u]) });
    await live.update(htmlFigure('1', '1'));
    await live.update(htmlFigure('2', '2'));
    expect(sent.map(([m, u]) => [m.transient.display_id, u, m.data['text/plain']])).toEqual([
      [live.displayId, false, '1'],
      [live.displayId, true, '2'],
    ]);
    expect(live.last).toEqual({ 'text/html': '2', 'text/plain': '2' });
  });

  it('only remembers the last bundle outside a kernel', async () => {
    const live = new LiveDisplay({ writer: null });
    expect(live.live).toBe(false);
    await live.update(htmlFigure('a', 'a'));
    expect(live.last).toEqual({ 'text/html': 'a', 'text/plain': 'a' });
  });
});

describe('the tslab 1.0.22 internals show() uses (pinned)', () => {
  const jupyterPath = require.resolve('tslab/dist/jupyter');

  it('is tslab 1.0.22', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    expect(require('tslab/package.json').version).toBe('1.0.22');
  });

  it('public display.raw and newDisplay go through jupyter.lastWriteDisplayData with { data, metadata, transient }', () => {
    const calls: Array<[DisplayMessage, boolean | undefined]> = [];
    tslabJupyter.lastWriteDisplayData = (content, update) => calls.push([content, update]);
    tslabPublic.display.raw('text/plain', 'x');
    const d = tslabPublic.newDisplay();
    d.raw(VEGALITE_MIME, spec);
    d.raw(VEGALITE_MIME, spec);
    expect(calls[0][0]).toEqual({ data: { 'text/plain': 'x' }, metadata: {}, transient: { display_id: undefined } });
    expect(calls[0][1]).toBeFalsy();
    // a JSON MIME type passes through as the object itself (what JupyterLab's vega renderer needs)
    expect(calls[1][0].data[VEGALITE_MIME]).toBe(spec);
    const id = calls[1][0].transient.display_id;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect([calls[1][1], calls[2][1]]).toEqual([undefined, true]);
    expect(calls[2][0].transient.display_id).toBe(id);
  });

  it('the kernel sends that content as display_data, or update_display_data when update is true', () => {
    const source = fs.readFileSync(jupyterPath, 'utf8');
    expect(source).toContain('exports.lastWriteDisplayData = writeDisplayData;');
    expect(source).toContain('reply.header.msg_type = update ? "update_display_data" : "display_data";');
    expect(source).toContain('reply.content = data;');
  });

  it('tslabDisplayWriter finds the kernel module and calls its current writer', async () => {
    const cache: ModuleCacheLike = { [jupyterPath]: { exports: tslabJupyter } };
    expect(tslabDisplayWriter(cache)).toBeNull(); // not inside a cell yet
    const first: DisplayMessage[] = [];
    tslabJupyter.lastWriteDisplayData = (m) => first.push(m);
    const writer = tslabDisplayWriter(cache);
    expect(writer).not.toBeNull();
    await show(vegaLiteFigure(spec), { writer });
    expect(first).toHaveLength(1);
    expect(Object.keys(first[0].data)).toEqual([VEGALITE_MIME, SVG_MIME, 'text/plain']);
    // the kernel replaces the function for every cell; the writer must use the current one
    const second: DisplayMessage[] = [];
    tslabJupyter.lastWriteDisplayData = (m) => second.push(m);
    await show(htmlFigure('h', 'h'), { writer });
    expect([first.length, second.length]).toEqual([1, 1]);
  });

  it('tslabDisplayWriter ignores modules that are not tslab/dist/jupyter.js', () => {
    const fake = { lastWriteDisplayData: () => undefined };
    expect(tslabDisplayWriter({ '/x/node_modules/other/dist/jupyter.js': { exports: fake } })).toBeNull();
    expect(tslabDisplayWriter({ '/x/node_modules/tslab/dist/jupyter.js': { exports: fake } })).not.toBeNull();
  });
});
