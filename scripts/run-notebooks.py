"""Executes notebooks headlessly with the longlora-ts kernel (tslab) and checks every cell.

Called by `npm run notebooks` (scripts/run-notebooks.js picks the project's .venv Python).
Executed copies go to build/notebooks/<name>.ipynb, a static HTML export of each (nbconvert's lab
template, figures as inline SVG, so a student can read them without a kernel) to
build/notebooks/<name>.html, and a machine-readable report to build/notebooks/summary.json.
Exit status: 0 when every notebook passed, 1 when any failed, 2 for usage errors.

A notebook passes when
  - its metadata names the kernel `longlora-ts` (what JupyterLab starts for it);
  - every code cell was executed and its execute_reply status is 'ok', except cells tagged
    `raises-exception`, which must end in status 'error' (a demonstrated failure);
  - every code cell has at least one output, except cells tagged `no-output` (a cell skipped by
    the kernel has none, so this also catches skips that a reply status would not show);
  - no cell has an error output or writes to stderr outside those tagged cells;
  - every figure output (vega-lite v5 or plotly MIME type) also carries image/svg+xml;
  - its HTML export was written (unless --no-html).

The HTML export inlines each figure's SVG (nbconvert's default would embed it as a base64 <img>
without alt text): the SVG carries role="img", aria-label, <title> and <desc> (lib/viz), so the
exported figures have their title and text alternative. JupyterLab's interactive MIME types
(vega-lite, plotly) are not in nbconvert's HTML priorities, so the SVG is what the export shows.

Why reply statuses and not just nbclient's errors: after a failed cell, tslab 1.0.22 rejects
every request that arrives within the next 200 ms (jupyter.js `execQueue.reset(200)`, tslab
issue #19) and answers them with status 'abort' and no output. nbclient treats 'abort' as
success, so a cell silently skipped after an error would pass. We record every reply, report
aborted cells as failures, and after an allowed error wait --settle-ms (default 400 ms) before
sending the next cell so that tagged teaching cells do not swallow their successors.

By default execution stops at the first unexpected error (the remaining cells are reported as
not run); --keep-going runs on and reports every failure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "longlora-ts"
FIGURE_MIMES = ("application/vnd.vegalite.v5+json", "application/vnd.plotly.v1+json")
SVG_MIME = "image/svg+xml"


# nbconvert's lab template, with image/svg+xml inlined as SVG markup instead of a base64 <img>
HTML_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
{{ output.data['image/svg+xml'] }}
</div>
{%- endblock data_svg %}
"""

_html_exporter = None


def export_html(nb, out_path: Path) -> Path:
    """Writes the static HTML export of the executed notebook `nb` beside it (<name>.html)."""
    global _html_exporter
    if _html_exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        _html_exporter = HTMLExporter(
            template_name="lab",
            extra_loaders=[DictLoader({"longlora-svg.html.j2": HTML_TEMPLATE})],
            template_file="longlora-svg.html.j2",
        )
    body, _ = _html_exporter.from_notebook_node(nb)
    html_path = out_path.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return html_path


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="npm run notebooks --", description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--out", default=str(ROOT / "build" / "notebooks"), help="folder for executed copies and summary.json")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    ap.add_argument("--startup-timeout", type=int, default=120, help="seconds for the kernel to start (default 120)")
    ap.add_argument("--settle-ms", type=int, default=400, help="wait after an allowed error before the next cell (tslab drops requests for 200 ms)")
    ap.add_argument("--keep-going", action="store_true", help="run every cell even after an unexpected error")
    ap.add_argument("--quick", action="store_true", help="set LONGLORA_QUICK=1 (the quick-mode contract every notebook honours)")
    ap.add_argument("--no-html", action="store_true", help="skip the static HTML export (<name>.html beside each executed copy)")
    ap.add_argument("--kernel", default=KERNEL, help=f"kernel to run (default {KERNEL}; notebooks must name it in their metadata)")
    return ap.parse_args(argv)


def cell_source(cell) -> str:
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return first[:80]


INTERNAL_FRAMES = ("node_modules/tslab/", "(node:vm", "node:internal", "sigintHandlersWrap")


def error_text(outputs) -> str:
    """The error of a failed cell: ename/evalue, or tslab's stderr without its own stack frames."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "error":
            parts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}".strip(": ") or "\n".join(o.get("traceback", [])))
        elif o.get("output_type") == "stream" and o.get("name") == "stderr":
            text = o.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            lines = [l for l in text.splitlines() if not any(f in l for f in INTERNAL_FRAMES)]
            parts.append("\n".join(lines).strip())
    return "\n".join(p for p in parts if p)[:2000]


async def run_one(path: Path, args: argparse.Namespace, out_dir: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    problems: list[str] = []
    spec = nb.metadata.get("kernelspec", {}).get("name")
    if spec != args.kernel:
        problems.append(f"metadata names kernel {spec!r}; every notebook must name {args.kernel!r} (kernelspec.name)")

    replies: dict[int, str] = {}

    async def on_executed(cell, cell_index, execute_reply):
        status = execute_reply["content"]["status"] if execute_reply else "no reply"
        replies[cell_index] = status
        if status == "error" and args.settle_ms > 0:
            await asyncio.sleep(args.settle_ms / 1000)

    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=args.keep_going,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=on_executed,
    )
    started = time.monotonic()
    stopped = None
    try:
        await client.async_execute()
    except CellExecutionError as e:
        stopped = "stopped at the first unexpected error"
    except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as e:
        stopped = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        problems.append(stopped)
    seconds = time.monotonic() - started

    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        tags = cell.metadata.get("tags", [])
        expected = "raises-exception" in tags
        status = replies.get(index, "not run")
        outputs = cell.get("outputs", [])
        entry = {
            "index": index,
            "source": cell_source(cell),
            "status": status,
            "expectedError": expected,
            "outputs": [
                {"type": o.get("output_type"), "mimes": sorted(o.get("data", {}).keys()) if "data" in o else [], "name": o.get("name")}
                for o in outputs
            ],
        }
        where = f"cell {index} ({entry['source']!r})"
        if status == "abort":
            problems.append(f"{where}: not executed: tslab aborted it (status 'abort'), which it does for ~200 ms after a failed cell")
        elif status in ("not run", "no reply"):
            problems.append(f"{where}: not executed ({status}{'; ' + stopped if stopped else ''})")
        elif status == "error" and not expected:
            problems.append(f"{where}: failed:\n{error_text(outputs) or '(no error text)'}")
        elif status == "ok" and expected:
            problems.append(f"{where}: tagged raises-exception but did not fail")
        elif status == "ok" and not outputs and "no-output" not in tags:
            problems.append(f"{where}: ran but produced no output (tag the cell no-output if that is intended)")
        elif status not in ("ok", "error"):
            problems.append(f"{where}: unexpected reply status {status!r}")
        if not expected and status != "error" and any(o.get("output_type") == "error" for o in outputs):
            problems.append(f"{where}: has an error output:\n{error_text(outputs)}")
        if not expected and status == "ok" and any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
            problems.append(f"{where}: wrote to stderr (shown as an error in JupyterLab):\n{error_text(outputs)}")
        for o in outputs:
            data = o.get("data", {})
            for mime in FIGURE_MIMES:
                if mime in data and not str(data.get(SVG_MIME, "")).lstrip().startswith("<svg"):
                    problems.append(f"{where}: figure output {mime} has no image/svg+xml beside it")
        entry["problem"] = any(p.startswith(where + ":") for p in problems)
        cells.append(entry)

    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / path.name
    nbformat.write(nb, out_path)
    html_path = None
    stale_html = out_path.with_suffix(".html")
    if stale_html.exists():
        stale_html.unlink()
    if not args.no_html:
        try:
            html_path = export_html(nb, out_path)
        except Exception as e:  # a broken template or output: the notebook's export is a deliverable
            problems.append(f"HTML export failed: {type(e).__name__}: {e}")
    return {
        "notebook": str(path),
        "output": str(out_path),
        "html": str(html_path) if html_path else None,
        "ok": not problems,
        "seconds": round(seconds, 2),
        "cells": cells,
        "problems": problems,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.quick:
        os.environ["LONGLORA_QUICK"] = "1"
    paths = [Path(p).resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"run-notebooks: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not paths:
        print(f"run-notebooks: no notebooks in {ROOT / 'notebooks'}", file=sys.stderr)
        return 2
    out_dir = Path(args.out).resolve()
    quick = os.environ.get("LONGLORA_QUICK") == "1"
    print(f"run-notebooks: {len(paths)} notebook(s), kernel {args.kernel}, LONGLORA_QUICK={'1' if quick else 'unset'} -> {out_dir}", flush=True)
    results = []
    for path in paths:
        try:
            result = asyncio.run(run_one(path, args, out_dir))
        except Exception as e:  # the kernel could not start, the notebook could not be read, ...
            result = {"notebook": str(path), "output": None, "ok": False, "seconds": 0, "cells": [],
                      "problems": [f"could not run: {type(e).__name__}: {e}", traceback.format_exc(limit=3)]}
        results.append(result)
        rel = os.path.relpath(path, Path.cwd())
        if result["ok"]:
            html = f"; {os.path.relpath(result['html'], Path.cwd())}" if result.get("html") else ""
            print(f"  ok    {rel}  ({len(result['cells'])} code cells, {result['seconds']:.1f} s{html})", flush=True)
        else:
            print(f"  FAIL  {rel}  ({result['seconds']:.1f} s)", flush=True)
            for p in result["problems"]:
                print("        " + p.replace("\n", "\n        "), flush=True)
    ok = all(r["ok"] for r in results)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps({"ok": ok, "quick": quick, "kernel": args.kernel, "notebooks": results}, indent=2) + "\n")
    failed = sum(not r["ok"] for r in results)
    print(f"run-notebooks: {len(results) - failed} passed, {failed} failed (summary: {os.path.relpath(out_dir / 'summary.json', Path.cwd())})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
