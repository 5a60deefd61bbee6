/**
 * The colours of every figure: colour-blind-safe by default.
 *
 * - Categorical series (lines, bars, legend entries): the Okabe-Ito palette (Okabe & Ito 2008,
 *   "Color Universal Design"; recommended by Wong 2011, Nature Methods 8:441), whose colours stay
 *   apart under protanopia, deuteranopia and tritanopia.
 * - Sequential values (heatmaps, colour ramps): viridis (perceptually uniform, monotone in
 *   lightness, so it also reads in greyscale and for colour-blind readers).
 * - Attention masks (two classes): dark blue on near-white, told apart by lightness (contrast about
 *   7:1), not by hue, which every form of colour blindness keeps.
 *
 * test/viz/palette.test.ts checks these claims with simulated colour vision deficiencies.
 */

/** The Okabe-Ito palette in its usual order (black last): blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black. */
export const OKABE_ITO: readonly string[] = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

/** The sequential colour scheme of heatmaps and colour ramps (vega scheme / plotly colorscale `'Viridis'`). */
export const SEQUENTIAL_SCHEME = 'viridis';

/** The two colours of `maskHeatmap`: pairs a query may attend to, and masked pairs. */
export const MASK_COLORS: Readonly<{ attends: string; masked: string }> = { attends: '#1f4e79', masked: '#e8edf3' };

/**
 * The vega-lite `config.range` that `vegaLiteFigure` adds to every spec (keys the spec already sets
 * win): Okabe-Ito for categories, viridis for ordinal and quantitative colour and for heatmaps.
 */
export function defaultVegaRange(): Record<string, unknown> {
  return {
    category: [...OKABE_ITO],
    ordinal: { scheme: SEQUENTIAL_SCHEME },
    ramp: { scheme: SEQUENTIAL_SCHEME },
    heatmap: { scheme: SEQUENTIAL_SCHEME },
  };
}

function channel(hex: string, i: number): number {
  return parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
}

/** `#rrggbb` to linear-light RGB in [0, 1] (the sRGB transfer function undone). */
export function hexToLinearRgb(hex: string): [number, number, number] {
  if (!/^#[0-9a-fA-F]{6}$/.test(hex)) throw new Error(`hexToLinearRgb: '${hex}' is not a #rrggbb colour`);
  const lin = (c: number): number => (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
  return [lin(channel(hex, 0)), lin(channel(hex, 1)), lin(channel(hex, 2))];
}

/** WCAG 2 relative luminance of a linear RGB colour. */
export function relativeLuminance([r, g, b]: readonly number[]): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio (1 to 21) of two colours, `#rrggbb` or linear RGB. */
export function contrastRatio(a: string | readonly number[], b: string | readonly number[]): number {
  const la = relativeLuminance(typeof a === 'string' ? hexToLinearRgb(a) : a);
  const lb = relativeLuminance(typeof b === 'string' ? hexToLinearRgb(b) : b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
