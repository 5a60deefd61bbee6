/**
 * Reading vega's SVG output back, independently of vega: the rect marks vega's SVG renderer writes
 * as `<path ... d="M{x},{y}h{w}v{h}h-{w}Z" ...>` inside `<g class="mark-rect ...">`.
 */

/** The rect paths of every data `mark-rect` group (not legend gradients), with their fill. */
export function rectMarks(svg: string): Array<{ x: number; y: number; w: number; h: number; fill: string }> {
  const out: Array<{ x: number; y: number; w: number; h: number; fill: string }> = [];
  const groups = svg.split(/<g class="mark-rect role-mark/).slice(1);
  for (const g of groups) {
    const body = g.slice(0, g.indexOf('</g>'));
    for (const m of body.matchAll(/<path([^>]*)>/g)) {
      const attrs = m[1];
      const d = attrs.match(/d="M(-?[\d.]+),(-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)h-?[\d.]+Z"/);
      if (!d) continue;
      const fill = attrs.match(/fill="([^"]+)"/)?.[1] ?? '';
      out.push({ x: Number(d[1]), y: Number(d[2]), w: Number(d[3]), h: Number(d[4]), fill });
    }
  }
  return out;
}

/** Heights of the rect marks in drawing order. */
export function barHeights(svg: string): number[] {
  return rectMarks(svg).map((r) => r.h);
}

/** Number of `<path>` data marks of `type` (line, symbol, rect): groups `mark-<type> role-mark`, not legends or axes. */
export function markCount(svg: string, type: string): number {
  return svg
    .split(new RegExp(`<g class="mark-${type} role-mark`))
    .slice(1)
    .reduce((n, g) => n + (g.slice(0, g.indexOf('</g>')).match(/<path/g) ?? []).length, 0);
}
