/**
 * Figures to Jupyter MIME bundles, and showing them from a tslab kernel.
 *
 * Every figure becomes ONE display_data message carrying its interactive form and a static SVG:
 * vega-lite as `application/vnd.vegalite.v5+json` + `image/svg+xml`, plotly as
 * `application/vnd.plotly.v1+json` + `image/svg+xml`, plus `text/plain` (the figure's title and
 * text alternative, see ./describe.ts). JupyterLab picks the
 * interactive renderer (vega rank 57 / plotly rank 2 beat SVG's 80); nbconvert, HTML and slides,
 * which know neither, use the SVG.
 *
 * tslab 1.0.22's public `display.raw(mime, data)` sends one MIME type per message and no
 * `display_id` control beyond `newDisplay()`. Both it and we end in the same internal function:
 * `tslab/dist/jupyter.js` `exports.lastWriteDisplayData(content, update)`, which the kernel sets
 * before each cell and which sends `content` ({ data, metadata, transient: { display_id } }) as
 * `display_data`, or as `update_display_data` when `update` is true. We call it with the whole
 * bundle. It is internal to tslab, so test/viz pins its shape against the public API and
 * test/notebooks checks the result end to end.
 */
import { randomBytes } from 'crypto';
import { plotlyTitleObjects, PLOTLY_MIME, SVG_MIME, VEGALITE_MIME } from './figure';
import type { Figure, VegaLiteSpec } from './figure';
import { accessibleLabel, describePlotly, describeVegaLite, plotlyDescription, titleString, withPlotlyDescription } from './describe';
import { plotlyToVegaLite, PLOTLY_COLORWAY } from './plotly-svg';
import { vegaLiteToSvg } from './vega';

/** A Jupyter MIME bundle: MIME type to data (JSON types as objects, text types as strings). */
export interface MimeBundle {
  [mime: string]: unknown;
}

/** The content of a Jupyter `display_data` / `update_display_data` message. */
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** Sends one display message; `update` true means `update_display_data` for `transient.display_id`. */
export type DisplayWriter = (message: DisplayMessage, update: boolean) => void;

/** The shape of the module cache this looks through (Node's `require.cache`). */
export interface ModuleCacheLike {
  [path: string]: { exports?: unknown } | undefined;
}

const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The writer of the tslab kernel this process runs in, or null outside tslab (plain Node, jest).
 * Looks for tslab's already-loaded `dist/jupyter.js` in `cache` (default: `require.cache`) whose
 * `lastWriteDisplayData` has been set by a cell execution. The returned writer reads that function
 * at each call, because the kernel replaces it for every cell (it carries the cell's message).
 */
export function tslabDisplayWriter(cache: ModuleCacheLike = require.cache as ModuleCacheLike): DisplayWriter | null {
  for (const [file, mod] of Object.entries(cache)) {
    if (!TSLAB_JUPYTER.test(file) || mod === undefined) continue;
    const jupyter = mod.exports as { lastWriteDisplayData?: DisplayWriter | null } | undefined;
    if (jupyter === undefined || typeof jupyter.lastWriteDisplayData !== 'function') continue;
    return (message, update) => {
      const write = jupyter.lastWriteDisplayData;
      if (typeof write !== 'function') throw new Error('show: tslab has no display writer (not inside a cell execution)');
      write(message, update);
    };
  }
  return null;
}

/** Options of `toMimeBundle`. */
export interface BundleOptions {
  /** The text alternative, overriding the figure's own (vega-lite `description`, plotly `layout.meta.description`). */
  alt?: string;
}

/**
 * The MIME bundle of `figure`: its interactive type, `image/svg+xml` drawn in Node, and `text/plain`.
 * Figures carry a title and a text alternative: the alternative (`alt`, else the figure's own, else
 * one derived from its data) goes into the interactive JSON, the SVG (`<title>`, `<desc>`,
 * `role="img"`, `aria-label`) and `text/plain` ("title: alternative").
 */
export async function toMimeBundle(figure: Figure, { alt }: BundleOptions = {}): Promise<MimeBundle> {
  if (alt !== undefined && (typeof alt !== 'string' || alt.trim() === '')) throw new Error('toMimeBundle: alt must be a non-empty string');
  switch (figure.kind) {
    case 'vega-lite': {
      const own = typeof figure.spec.description === 'string' && figure.spec.description.trim() !== '' ? figure.spec.description : undefined;
      const description = alt ?? own ?? describeVegaLite(figure.spec);
      const spec: VegaLiteSpec = { ...figure.spec, description };
      const text = accessibleLabel(titleString(spec.title), description);
      return { [VEGALITE_MIME]: spec, [SVG_MIME]: await vegaLiteToSvg(spec), 'text/plain': text };
    }
    case 'plotly': {
      const layout0 = plotlyTitleObjects(figure.figure.layout);
      const withColorway = layout0.colorway === undefined ? { ...layout0, colorway: [...PLOTLY_COLORWAY] } : layout0;
      const description = alt ?? plotlyDescription(layout0) ?? figure.alt ?? describePlotly({ data: figure.figure.data, layout: withColorway });
      const plotly = { data: figure.figure.data, layout: withPlotlyDescription(withColorway, description) };
      const svgSpec: VegaLiteSpec = { ...plotlyToVegaLite(plotly), description };
      const text = accessibleLabel(titleString(svgSpec.title), description);
      return { [PLOTLY_MIME]: plotly, [SVG_MIME]: await vegaLiteToSvg(svgSpec), 'text/plain': text };
    }
    case 'html':
      return { 'text/html': figure.html, 'text/plain': alt ?? figure.text };
    default: {
      const unknown: never = figure;
      throw new Error(`toMimeBundle: unknown figure kind '${String((unknown as { kind?: unknown }).kind)}'; build figures with vegaLiteFigure, plotlyFigure or htmlFigure`);
    }
  }
}

/** Options of `show`. */
export interface ShowOptions {
  /** Where to send the bundle: default the tslab kernel when running in one; null forces returning it. */
  writer?: DisplayWriter | null;
  /** Jupyter display id, for later updates (see `LiveDisplay`). */
  displayId?: string;
  /** Send `update_display_data` for `displayId` instead of a new output. */
  update?: boolean;
  /** The figure's text alternative, overriding its own or the one derived from its data. */
  alt?: string;
}

/**
 * Shows `figure`: inside a tslab kernel, as one display_data output with all its MIME types
 * (returns undefined, so nothing is printed as the cell's value); elsewhere returns the bundle.
 */
export async function show(figure: Figure, { writer, displayId, update = false, alt }: ShowOptions = {}): Promise<MimeBundle | undefined> {
  if (update && displayId === undefined) throw new Error('show: update = true needs a displayId (the output to replace)');
  const bundle = await toMimeBundle(figure, { alt });
  const send = writer === undefined ? tslabDisplayWriter() : writer;
  if (send === null) return bundle;
  send({ data: bundle, metadata: {}, transient: displayId === undefined ? {} : { display_id: displayId } }, update);
  return undefined;
}

/**
 * One output that can be redrawn in place (Jupyter `display_id` + `update_display_data`): the
 * first `update` creates the output, later ones replace it. Outside tslab it only remembers the
 * last bundle (`last`).
 */
export class LiveDisplay {
  /** The Jupyter display id of this output. */
  readonly displayId: string;
  /** The bundle of the latest update. */
  last: MimeBundle | undefined = undefined;
  private shown = false;
  private readonly writer: DisplayWriter | null;

  constructor({ writer, displayId }: { writer?: DisplayWriter | null; displayId?: string } = {}) {
    this.displayId = displayId ?? randomBytes(8).toString('hex');
    this.writer = writer === undefined ? tslabDisplayWriter() : writer;
  }

  /** Whether updates reach a notebook (a tslab kernel or an explicit writer). */
  get live(): boolean {
    return this.writer !== null;
  }

  /** Draws `figure` into this output (creating it the first time). */
  async update(figure: Figure): Promise<void> {
    const bundle = await toMimeBundle(figure);
    this.last = bundle;
    if (this.writer === null) return;
    this.writer({ data: bundle, metadata: {}, transient: { display_id: this.displayId } }, this.shown);
    this.shown = true;
  }
}
