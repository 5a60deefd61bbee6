/**
 * Colour vision deficiency, simulated for the palette tests: Machado, Oliveira & Fernandes (2009),
 * "A physiologically-based model for simulation of color vision deficiency" (IEEE TVCG 15(6)),
 * the severity-1.0 matrices (protanopia, deuteranopia, tritanopia), applied to linear RGB; colour
 * differences as CIE76 delta E in CIELAB (D65).
 */
import { hexToLinearRgb } from '../../lib/viz';

export type Vision = 'normal' | 'protanopia' | 'deuteranopia' | 'tritanopia';

const MACHADO: Record<Vision, number[][]> = {
  normal: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};

export const VISIONS: Vision[] = ['normal', 'protanopia', 'deuteranopia', 'tritanopia'];

/** `#rrggbb` as seen with `vision`, in linear RGB. */
export function simulate(hex: string, vision: Vision): [number, number, number] {
  const rgb = hexToLinearRgb(hex);
  const m = MACHADO[vision];
  const row = (r: number[]): number => Math.min(1, Math.max(0, r[0] * rgb[0] + r[1] * rgb[1] + r[2] * rgb[2]));
  return [row(m[0]), row(m[1]), row(m[2])];
}

/** Linear sRGB to CIELAB (D65 white). */
export function lab([r, g, b]: readonly number[]): [number, number, number] {
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** CIE76 colour difference of two colours as seen with `vision`. */
export function deltaE(a: string, b: string, vision: Vision): number {
  const [p, q] = [lab(simulate(a, vision)), lab(simulate(b, vision))];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/** The closest pair of `palette` as seen with `vision`, and its delta E. */
export function closestPair(palette: readonly string[], vision: Vision): { pair: [string, string]; deltaE: number } {
  let best = { pair: [palette[0], palette[1]] as [string, string], deltaE: Infinity };
  for (let i = 0; i < palette.length; i++) {
    for (let j = i + 1; j < palette.length; j++) {
      const d = deltaE(palette[i], palette[j], vision);
      if (d < best.deltaE) best = { pair: [palette[i], palette[j]], deltaE: d };
    }
  }
  return best;
}

/** The `stroke` colours of the line marks in a vega SVG, in drawing order. */
export function lineStrokes(svg: string): string[] {
  return svg
    .split(/<g class="mark-line role-mark/)
    .slice(1)
    .flatMap((g) => [...g.slice(0, g.indexOf('</g>')).matchAll(/<path[^>]*\sstroke="([^"]+)"/g)].map((m) => m[1]));
}
