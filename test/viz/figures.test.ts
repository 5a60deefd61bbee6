/**
 * The ready-made figures: the mask heatmap draws exactly the mask (checked in the SVG's geometry
 * against masks built with plain loops), the live loss curve redraws one output in place and
 * throttles, cost curves and tables carry the data, and every bad input gets a clear error.
 */
import { tf, ready } from '../../lib/backend';
import { maskHeatmap, lossCurve, costCurves, htmlTable, toMimeBundle, VEGALITE_MIME, PLOTLY_MIME, SVG_MIME, MAX_HEATMAP_CELLS } from '../../lib/viz';
import type { DisplayMessage, PlotlyFigure, VegaLiteSpec } from '../../lib/viz';
import { expectNoLeakedTensors } from '../helpers';
import { markCount, rectMarks } from './svg';

beforeAll(async () => {
  await ready({ backend: 'cpu' });
});

/** Three heads built with plain loops: causal, causal in groups of 2, everything allowed. */
function referenceMask(n: number): boolean[][][] {
  const rule = [(i: number, j: number) => j <= i, (i: number, j: number) => j <= i && Math.floor(i / 2) === Math.floor(j / 2), () => true];
  return rule.map((allow) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => allow(i, j))));
}

describe('maskHeatmap', () => {
  const n = 6;
  const ref = referenceMask(n);

  it('puts every (head, query, key) cell in the spec with its mask value', () => {
    const fig = maskHeatmap(ref, { title: 't' });
    if (fig.kind !== 'vega-lite') throw new Error('expected a vega-lite figure');
    const values = (fig.spec.data as { values: Array<{ head: string; query: number; key: number; mask: string }> }).values;
    expect(values).toHaveLength(3 * n * n);
    for (const v of values) {
      const h = Number(v.head.replace('head ', ''));
      expect(v.mask).toBe(ref[h][v.query][v.key] ? 'attends' : 'masked');
    }
    expect(fig.spec.title).toBe('t');
  });

  it('draws exactly the allowed cells dark in the SVG (query on y, key on x)', async () => {
    const bundle = await toMimeBundle(maskHeatmap(ref));
    const rects = rectMarks(bundle[SVG_MIME] as string);
    expect(rects).toHaveLength(3 * n * n);
    const dark = rects.filter((r) => r.fill === '#1f4e79');
    const cell = dark[0].w;
    const drawn = dark.map((r) => `${Math.round(r.y / cell)},${Math.round(r.x / cell)}`).sort();
    const expected = ref.flatMap((head) => head.flatMap((row, i) => row.flatMap((ok, j) => (ok ? [`${i},${j}`] : [])))).sort();
    expect(drawn).toEqual(expected);
  });

  it('negative control: a different mask draws different cells', async () => {
    const flipped = ref.map((head) => head.map((row) => row.map((v) => !v)));
    const rects = rectMarks((await toMimeBundle(maskHeatmap(flipped)))[SVG_MIME] as string);
    const darkCount = rects.filter((r) => r.fill === '#1f4e79').length;
    const refTrue = ref.flat(2).filter(Boolean).length;
    expect(darkCount).toBe(3 * n * n - refTrue);
  });

  it('accepts a boolean tensor, 0/1 arrays and a subset of heads, without leaking tensors', async () => {
    const t = tf.tensor3d(ref.map((h) => h.map((r) => r.map(Number))), [3, n, n], 'bool');
    const fromTensor = maskHeatmap(t);
    const fromNumbers = maskHeatmap(ref.map((h) => h.map((r) => r.map(Number))));
    expect(fromTensor).toEqual(maskHeatmap(ref));
    expect(fromNumbers).toEqual(maskHeatmap(ref));
    const sub = maskHeatmap(ref, { heads: [2] });
    if (sub.kind !== 'vega-lite') throw new Error('expected vega-lite');
    expect((sub.spec.data as { values: unknown[] }).values).toHaveLength(n * n);
    await expectNoLeakedTensors(() => maskHeatmap(t));
    t.dispose();
  });

  it('rejects bad masks with messages that say what to pass', () => {
    expect(() => maskHeatmap(tf.ones([4, 4]))).toThrow('mask has shape [4,4]; expected [heads, seq, seq] (add a heads axis with expandDims(mask, 0))');
    expect(() => maskHeatmap([[true, false]] as never)).toThrow('wrap a single [seq, seq] mask as [mask]');
    expect(() => maskHeatmap([[[true, false]]])).toThrow('head 0 is not 1x1');
    expect(() => maskHeatmap([[[0.5]]])).toThrow('mask[0][0][0] = 0.5 is not boolean or 0/1; pass a boolean mask (true = may attend)');
    expect(() => maskHeatmap(ref, { heads: [3] })).toThrow('heads contains 3; the mask has heads 0..2');
    expect(() => maskHeatmap([] as boolean[][][])).toThrow('mask is empty');
    const big = Array.from({ length: 3 }, () => Array.from({ length: 128 }, () => Array.from({ length: 128 }, () => true)));
    expect(() => maskHeatmap(big)).toThrow(`3 heads x 128x128 = 49152 cells exceed ${MAX_HEATMAP_CELLS}; pass fewer heads or a shorter sequence`);
  });
});

describe('lossCurve', () => {
  function recorder(): { messages: Array<{ message: DisplayMessage; update: boolean }>; writer: (m: DisplayMessage, u: boolean) => void } {
    const messages: Array<{ message: DisplayMessage; update: boolean }> = [];
    return { messages, writer: (message, update) => messages.push({ message, update }) };
  }
  const pointsOf = (m: DisplayMessage) => ((m.data[VEGALITE_MIME] as VegaLiteSpec).data as { values: unknown[] }).values.length;

  it('creates one output and then updates it in place (same display_id), ending with every point', async () => {
    const { messages, writer } = recorder();
    const curve = lossCurve({ writer, minIntervalMs: 0 });
    expect(curve.live).toBe(true);
    for (let s = 0; s < 5; s++) {
      curve.push(s, 5 - s);
      await new Promise((r) => setTimeout(r, 5));
    }
    await curve.flush();
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages[0].update).toBe(false);
    expect(messages.slice(1).every((m) => m.update)).toBe(true);
    const ids = new Set(messages.map((m) => m.message.transient.display_id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f]{16}$/);
    const last = messages[messages.length - 1].message;
    expect(pointsOf(last)).toBe(5);
    expect(String(last.data[SVG_MIME]).startsWith('<svg')).toBe(true);
  });

  it('throttles redraws: 50 quick pushes with a long interval draw once, then flush draws the rest', async () => {
    const { messages, writer } = recorder();
    const curve = lossCurve({ writer, minIntervalMs: 60000 });
    for (let s = 0; s < 50; s++) curve.push(s, 1 / (s + 1));
    await curve.flush();
    expect(messages).toHaveLength(2);
    expect(pointsOf(messages[1].message)).toBe(50);
    expect(messages.map((m) => m.update)).toEqual([false, true]);
  });

  it('records without a notebook, and leaves non-finite (and, on log axes, non-positive) losses out of the figure', async () => {
    const curve = lossCurve({ writer: null, logY: true });
    expect(curve.live).toBe(false);
    curve.push(0, 2);
    curve.push(1, NaN);
    curve.push(2, 0);
    curve.push(3, 1, 'eval');
    await curve.flush();
    expect(curve.points).toHaveLength(4);
    const fig = curve.figure();
    if (fig.kind !== 'vega-lite') throw new Error('expected vega-lite');
    expect((fig.spec.data as { values: Array<{ step: number }> }).values.map((v) => v.step)).toEqual([0, 3]);
    expect(JSON.stringify(fig.spec.encoding)).toContain('"type":"log"');
  });

  it('reports a failed redraw on the next push and on flush', async () => {
    const curve = lossCurve({
      writer: () => {
        throw new Error('socket closed');
      },
      minIntervalMs: 0,
    });
    curve.push(0, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(() => curve.push(1, 1)).toThrow('lossCurve: redraw failed: socket closed');
    await expect(curve.flush()).rejects.toThrow('lossCurve: redraw failed: socket closed');
  });

  it('rejects bad options and values', () => {
    expect(() => lossCurve({ colour: 'red' } as never)).toThrow('lossCurve: unknown option(s) colour; known: title, alt, logY, minIntervalMs, writer');
    expect(() => lossCurve({ minIntervalMs: -1 })).toThrow('minIntervalMs = -1 must be >= 0');
    const curve = lossCurve({ writer: null });
    expect(() => curve.push(NaN, 1)).toThrow('step = NaN must be a finite number');
    expect(() => curve.push(0, tf.scalar(1) as never)).toThrow('loss must be a number (use await t.data() for a tensor), got object');
  });
});

describe('costCurves', () => {
  const rows = [
    { seqLen: 256, fullMs: 40, s2Ms: 12, fullError: null },
    { seqLen: 128, fullMs: 10, s2Ms: 5, fullError: null },
    { seqLen: 512, fullMs: null, s2Ms: 25, fullError: 'out of memory' },
  ];

  it('makes one trace per y field, sorted by x, leaving out null (failed) values', () => {
    const fig = costCurves(rows, { x: 'seqLen', y: ['fullMs', 's2Ms'], names: { s2Ms: 'S2-Attn' }, logX: true, title: 'time' });
    if (fig.kind !== 'plotly') throw new Error('expected plotly');
    const [full, s2] = fig.figure.data;
    expect(full).toMatchObject({ name: 'fullMs', x: [128, 256], y: [10, 40], mode: 'lines+markers' });
    expect(s2).toMatchObject({ name: 'S2-Attn', x: [128, 256, 512], y: [5, 12, 25] });
    expect(fig.figure.layout.xaxis?.type).toBe('log');
    expect(fig.figure.layout.title).toEqual({ text: 'time' });
  });

  it('groups by a series field', () => {
    const steps = [
      { seqLen: 64, attention: 'full', tokensPerSec: 100 },
      { seqLen: 64, attention: 's2', tokensPerSec: 150 },
      { seqLen: 128, attention: 'full', tokensPerSec: 60 },
    ];
    const fig = costCurves(steps, { x: 'seqLen', y: 'tokensPerSec', series: 'attention' });
    if (fig.kind !== 'plotly') throw new Error('expected plotly');
    expect(fig.figure.data.map((t) => [t.name, t.x, t.y])).toEqual([
      ['full', [64, 128], [100, 60]],
      ['s2', [64], [150]],
    ]);
  });

  it('draws one line per trace and one symbol per point in its SVG', async () => {
    const bundle = await toMimeBundle(costCurves(rows, { x: 'seqLen', y: ['fullMs', 's2Ms'] }));
    expect(Object.keys(bundle)).toEqual([PLOTLY_MIME, SVG_MIME, 'text/plain']);
    const svg = bundle[SVG_MIME] as string;
    expect(markCount(svg, 'line')).toBe(2);
    expect(markCount(svg, 'symbol')).toBe(5);
    expect((bundle[PLOTLY_MIME] as PlotlyFigure).data).toHaveLength(2);
  });

  it('rejects bad input with messages naming the fields', () => {
    expect(() => costCurves([], { x: 'a', y: 'b' })).toThrow('rows must be a non-empty array of objects');
    expect(() => costCurves(rows, { x: 'seqLen', y: 'ms' })).toThrow("no row has field 'ms'; fields: seqLen, fullMs, s2Ms, fullError");
    expect(() => costCurves(rows, { x: 'seqLen', y: 'fullMs', logz: true } as never)).toThrow('unknown option(s) logz');
    expect(() => costCurves(rows, { x: 'seqLen', y: ['fullMs', 's2Ms'], series: 'fullError' })).toThrow("series = 'fullError' needs exactly one y field, got 2");
    expect(() => costCurves([{ n: 'a', t: 1 }], { x: 'n', y: 't' })).toThrow('n = a / y = 1 must be numbers');
    expect(() => costCurves([{ n: 1, t: null }], { x: 'n', y: 't' })).toThrow('every t value is null; nothing to draw');
  });
});

describe('htmlTable', () => {
  it('escapes HTML, right-aligns numbers, rounds to significant digits, and has a text form', () => {
    const fig = htmlTable([{ name: '<b>&"\'', value: 3.14159265, count: 1200 }, { name: 'x', value: null, count: 7 }], { caption: 'a & b', digits: 3 });
    if (fig.kind !== 'html') throw new Error('expected html');
    expect(fig.html).toContain('<caption>a &amp; b</caption>');
    expect(fig.html).toContain('<td>&lt;b&gt;&amp;&quot;&#39;</td>');
    expect(fig.html).toContain('<td style="text-align:right">3.14</td>');
    expect(fig.html).toContain('<td style="text-align:right">1200</td>');
    expect(fig.html).not.toContain('<b>');
    expect(fig.text.split('\n')).toEqual(['a & b', 'name    value  count', '------  -----  -----', '<b>&"\'   3.14   1200', 'x                  7']);
  });

  it('keeps the given column order and fills missing cells with nothing', () => {
    const fig = htmlTable([{ a: 1 }, { b: true }], { columns: ['b', 'a'] });
    if (fig.kind !== 'html') throw new Error('expected html');
    expect(fig.html).toContain('<tr><th>b</th><th style="text-align:right">a</th></tr>');
    expect(fig.html).toContain('<tr><td></td><td style="text-align:right">1</td></tr>');
    expect(fig.html).toContain('<tr><td>true</td><td style="text-align:right"></td></tr>');
  });

  it('rejects bad rows and digits', () => {
    expect(() => htmlTable([1] as never)).toThrow('htmlTable: rows must be an array of plain objects (one per row)');
    expect(() => htmlTable([{ a: 1 }], { digits: 0 })).toThrow('digits = 0 must be an integer in 1..21');
  });
});
