/**
 * Vega-lite to SVG in Node, without a browser: `vega-lite` compiles the spec to vega, and vega's
 * headless view (`renderer: 'none'`) writes SVG with its own SVG string renderer
 * (vega-view `toSVG`, as in vega's `vg2svg` command-line tool).
 *
 * vega and vega-lite are pinned to 5.x: their builds are CommonJS (6.x are ESM-only and vega-lite 6
 * needs Node 22) and JupyterLab 4 renders vega-lite v5. They are loaded on first use, so importing
 * the library stays fast.
 */
import { createHash } from 'crypto';
import type { VegaLiteSpec } from './types';
import { accessibleLabel, titleString } from './describe';

interface VegaLiteModule {
  compile(spec: unknown, options?: { logger?: unknown }): { spec: unknown };
  version: string;
}
interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none'; logLevel?: number }) => { toSVG(scale?: number): Promise<string>; finalize(): void };
  version: string;
  Warn: number;
}

let modules: { vega: VegaModule; vl: VegaLiteModule } | null = null;

function load(): { vega: VegaModule; vl: VegaLiteModule } {
  if (modules === null) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    modules = { vega: require('vega') as VegaModule, vl: require('vega-lite') as VegaLiteModule };
  }
  return modules;
}

/** The versions of vega and vega-lite in use (both must be 5.x). */
export function vegaVersions(): { vega: string; vegaLite: string } {
  const { vega, vl } = load();
  return { vega: vega.version, vegaLite: vl.version };
}

/** What vega-lite said while compiling: warnings mean a field, channel or property it ignored. */
export interface VegaLiteCompilation {
  /** The compiled vega spec. */
  vega: unknown;
  warnings: string[];
}

/**
 * Compiles a vega-lite v5 spec to vega, collecting vega-lite's warnings instead of printing them.
 * Throws (with vega-lite's message) on specs it cannot compile.
 */
export function compileVegaLite(spec: VegaLiteSpec): VegaLiteCompilation {
  const { vl } = load();
  const warnings: string[] = [];
  const collect = (...args: unknown[]): void => {
    warnings.push(args.map(String).join(' '));
  };
  const logger = {
    level(): number {
      return 2;
    },
    warn(...args: unknown[]) {
      collect(...args);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
    error(...args: unknown[]) {
      collect(...args);
      return logger;
    },
  };
  try {
    return { vega: vl.compile(spec, { logger }).spec, warnings };
  } catch (e) {
    throw new Error(`compileVegaLite: vega-lite ${vl.version} rejected the spec: ${(e as Error).message}`);
  }
}

function renameId(svg: string, from: string, to: string): string {
  return svg
    .split(`id="${from}"`)
    .join(`id="${to}"`)
    .split(`url(#${from})`)
    .join(`url(#${to})`)
    .split(`href="#${from}"`)
    .join(`href="#${to}"`);
}

/**
 * `svg` with its element ids (vega's gradients `gradient_N` and clip paths `clipN`, numbered by
 * counters that live as long as the process) renamed `v<hash>-<k>`: k in order of appearance, hash
 * of the document with the ids taken out. So the same figure draws to the same SVG in any process
 * (the notebook test redraws each figure and compares), and different figures inlined in one HTML
 * page (the nbconvert export) never share an id, which would make one use the other's gradient.
 */
export function stableSvgIds(svg: string): string {
  const ids = [...new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]))];
  if (ids.length === 0) return svg;
  let out = svg;
  ids.forEach((id, k) => {
    out = renameId(out, id, `\u0000${k}\u0000`);
  });
  const hash = createHash('sha1').update(out).digest('hex').slice(0, 8);
  ids.forEach((_, k) => {
    out = renameId(out, `\u0000${k}\u0000`, `v${hash}-${k}`);
  });
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * `svg` (one `<svg ...>` document) made accessible: `role="img"` and `aria-label` ("title:
 * alternative") on the root element, and `<title>` and `<desc>` as its first children (SVG 1.1
 * section 5.4; what screen readers and HTML exports that inline the SVG read). Attributes already
 * there are replaced.
 */
export function accessibleSvg(svg: string, { title, alt }: { title?: string; alt?: string }): string {
  const open = svg.match(/^\s*<svg\b[^>]*>/);
  if (!open) throw new Error('accessibleSvg: the document does not start with an <svg> element');
  const label = accessibleLabel(title, alt);
  if (label === '') return svg;
  const tag = open[0].replace(/\s(role|aria-label)="[^"]*"/g, '').replace(/\s*>$/, ` role="img" aria-label="${escapeXml(label)}">`);
  const children = `${title ? `<title>${escapeXml(title)}</title>` : ''}${alt ? `<desc>${escapeXml(alt)}</desc>` : ''}`;
  return `${tag}${children}${svg.slice(open[0].length)}`;
}

/**
 * Draws a vega-lite v5 spec as an SVG document string (`<svg ...>...</svg>`), in Node, carrying the
 * spec's `title` and `description` as its accessible name and description (see `accessibleSvg`),
 * with ids that depend only on the drawing (see `stableSvgIds`).
 * `scale` multiplies the spec's pixel size (default 1).
 */
export async function vegaLiteToSvg(spec: VegaLiteSpec, { scale = 1 }: { scale?: number } = {}): Promise<string> {
  if (!(scale > 0)) throw new Error(`vegaLiteToSvg: scale = ${scale} must be > 0`);
  const { vega } = load();
  const compiled = compileVegaLite(spec).vega;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: 0 });
  try {
    const svg = stableSvgIds(await view.toSVG(scale));
    const description = typeof spec.description === 'string' && spec.description.trim() !== '' ? spec.description : undefined;
    return accessibleSvg(svg, { title: titleString(spec.title), alt: description });
  } finally {
    view.finalize();
  }
}
