/**
 * Vega-lite to SVG in Node, without a browser: `vega-lite` compiles the spec to vega, and vega's
 * headless view (`renderer: 'none'`) writes SVG with its own SVG string renderer
 * (vega-view `toSVG`, as in vega's `vg2svg` command-line tool).
 *
 * vega and vega-lite are pinned to 5.x: their builds are CommonJS (6.x are ESM-only and vega-lite 6
 * needs Node 22) and JupyterLab 4 renders vega-lite v5. They are loaded on first use, so importing
 * the library stays fast.
 */
import type { VegaLiteSpec } from './figure';

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

/**
 * Draws a vega-lite v5 spec as an SVG document string (`<svg ...>...</svg>`), in Node.
 * `scale` multiplies the spec's pixel size (default 1).
 */
export async function vegaLiteToSvg(spec: VegaLiteSpec, { scale = 1 }: { scale?: number } = {}): Promise<string> {
  if (!(scale > 0)) throw new Error(`vegaLiteToSvg: scale = ${scale} must be > 0`);
  const { vega } = load();
  const compiled = compileVegaLite(spec).vega;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG(scale);
  } finally {
    view.finalize();
  }
}
