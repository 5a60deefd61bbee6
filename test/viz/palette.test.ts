/**
 * The default palette is colour-blind-safe, checked with simulated colour vision deficiencies
 * (./color.ts: Machado et al. 2009) rather than taken on trust: Okabe-Ito's colours stay apart
 * under protanopia, deuteranopia and tritanopia while plotly.js's and vega's own defaults do not
 * (negative controls), the two mask colours keep their contrast, and every ready-made figure and
 * both figure builders draw with these colours by default (read back from the SVG).
 */
import { ready } from '../../lib/backend';
import {
  costCurves,
  lossCurve,
  maskHeatmap,
  plotlyFigure,
  toMimeBundle,
  vegaLiteFigure,
  contrastRatio,
  MASK_COLORS,
  OKABE_ITO,
  PLOTLY_COLORWAY,
  PLOTLY_JS_DEFAULT_COLORWAY,
  SEQUENTIAL_SCHEME,
  SVG_MIME,
  VEGALITE_MIME,
  PLOTLY_MIME,
} from '../../lib/viz';
import type { PlotlyFigure, VegaLiteSpec } from '../../lib/viz';
import { closestPair, lineStrokes, simulate, VISIONS } from './color';
import { rectMarks } from './svg';

beforeAll(async () => {
  await ready({ backend: 'cpu' });
});

/** vega's default categorical scheme (tableau10), which vegaLiteFigure replaces. */
const VEGA_TABLEAU10 = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
/** Smallest CIE76 delta E between any two series colours, under every simulated vision. */
const MIN_DELTA_E = 15;

describe('Okabe-Ito, the categorical palette', () => {
  it('is the published palette, in its usual order', () => {
    expect(OKABE_ITO).toEqual(['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000']);
    expect(PLOTLY_COLORWAY).toEqual(OKABE_ITO);
  });

  it.each(VISIONS)('keeps every pair of its 8 colours apart (delta E >= 15) with %s', (vision) => {
    const { pair, deltaE } = closestPair(OKABE_ITO, vision);
    expect([vision, pair, deltaE >= MIN_DELTA_E]).toEqual([vision, pair, true]);
  });

  it("negative controls: plotly.js's and vega's default palettes have pairs that protanopes or deuteranopes cannot tell apart", () => {
    for (const palette of [PLOTLY_JS_DEFAULT_COLORWAY, VEGA_TABLEAU10]) {
      const worst = Math.min(...(['protanopia', 'deuteranopia'] as const).map((v) => closestPair(palette.slice(0, 5), v).deltaE));
      expect(worst).toBeLessThan(10);
      // ...though every pair is far apart with normal vision: the test sees what the palette hides
      expect(closestPair(palette.slice(0, 5), 'normal').deltaE).toBeGreaterThan(MIN_DELTA_E);
    }
  });
});

describe('the mask colours', () => {
  it.each(VISIONS)('differ in lightness enough to read with %s (contrast >= 4.5:1)', (vision) => {
    expect(contrastRatio(simulate(MASK_COLORS.attends, vision), simulate(MASK_COLORS.masked, vision))).toBeGreaterThanOrEqual(4.5);
  });

  it('contrastRatio is the WCAG formula (black on white 21:1, a colour on itself 1:1)', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 6);
    expect(contrastRatio('#777777', '#777777')).toBe(1);
    expect(contrastRatio('#0072B2', '#ffffff')).toBeCloseTo(5.17, 1);
    expect(() => contrastRatio('red', '#ffffff')).toThrow("'red' is not a #rrggbb colour");
  });

  it('are the ones maskHeatmap draws', async () => {
    const mask = [[[true, false], [true, true]]];
    const fills = new Set(rectMarks((await toMimeBundle(maskHeatmap(mask)))[SVG_MIME] as string).map((r) => r.fill.toLowerCase()));
    expect([...fills].sort()).toEqual([MASK_COLORS.attends, MASK_COLORS.masked].sort());
  });
});

describe('figures use the palette by default', () => {
  const rows = [
    { n: 1, a: 1, b: 2, c: 3 },
    { n: 2, a: 2, b: 3, c: 5 },
  ];

  it('costCurves: traces in Okabe-Ito order, in plotly (layout.colorway) and in the SVG', async () => {
    const bundle = await toMimeBundle(costCurves(rows, { x: 'n', y: ['a', 'b', 'c'] }));
    expect((bundle[PLOTLY_MIME] as PlotlyFigure).layout.colorway).toEqual(OKABE_ITO);
    expect(lineStrokes(bundle[SVG_MIME] as string).map((c) => c.toUpperCase())).toEqual(OKABE_ITO.slice(0, 3));
  });

  it("plotlyFigure keeps a layout's own colorway and traces' own colours", async () => {
    const fig = plotlyFigure([{ y: [1, 2], name: 'p' }, { y: [2, 1], name: 'q', line: { color: '#123456' } }], { colorway: ['#abcdef'] });
    const svg = (await toMimeBundle(fig))[SVG_MIME] as string;
    expect(lineStrokes(svg)).toEqual(['#abcdef', '#123456']);
  });

  it('lossCurve: series in Okabe-Ito order', async () => {
    const curve = lossCurve({ writer: null });
    for (const s of ['train', 'eval', 'full']) for (let k = 0; k < 3; k++) curve.push(k, 3 - k, s);
    const bundle = await toMimeBundle(curve.figure());
    const spec = bundle[VEGALITE_MIME] as { encoding: { color: { scale: { range: string[] } } } };
    expect(spec.encoding.color.scale.range).toEqual(OKABE_ITO);
    expect(lineStrokes(bundle[SVG_MIME] as string).map((c) => c.toUpperCase())).toEqual(OKABE_ITO.slice(0, 3));
  });

  it('vegaLiteFigure: nominal colours Okabe-Ito, quantitative colours viridis, unless the spec sets its own', async () => {
    const lines = vegaLiteFigure({
      data: { values: ['u', 'v'].flatMap((s) => [0, 1].map((x) => ({ s, x, y: x }))) },
      mark: 'line',
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 's', type: 'nominal' } },
    });
    expect(lineStrokes((await toMimeBundle(lines))[SVG_MIME] as string).map((c) => c.toUpperCase())).toEqual(OKABE_ITO.slice(0, 2));
    const heat = vegaLiteFigure({
      data: { values: [0, 1, 2].map((k) => ({ x: k, z: k })) },
      mark: 'rect',
      encoding: { x: { field: 'x', type: 'ordinal' }, color: { field: 'z', type: 'quantitative' } },
    });
    expect((heat as { spec: VegaLiteSpec }).spec.config).toMatchObject({ range: { heatmap: { scheme: SEQUENTIAL_SCHEME }, ramp: { scheme: SEQUENTIAL_SCHEME } } });
    const fills = rectMarks((await toMimeBundle(heat))[SVG_MIME] as string).map((r) => r.fill.toLowerCase());
    // viridis runs from dark purple (#440154) to yellow (#fde725)
    expect([fills[0], fills[2]]).toEqual(['rgb(68, 1, 84)', 'rgb(253, 231, 37)']);
    const own = vegaLiteFigure({ mark: 'point', config: { range: { category: ['#111111'] }, font: 'serif' } });
    expect((own as { spec: VegaLiteSpec }).spec.config).toMatchObject({ font: 'serif', range: { category: ['#111111'], heatmap: { scheme: 'viridis' } } });
  });

  it('plotly heatmaps default to Viridis', () => {
    const fig = plotlyFigure([{ type: 'heatmap', z: [[1, 2]] }]) as { figure: PlotlyFigure };
    expect(fig.figure.data[0].colorscale).toBe('Viridis');
  });
});
