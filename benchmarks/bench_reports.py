"""Seconds per client report, amortised over a batch of 20 with 2 workers: warm kernels
(one template process per batch, forked per report) against a fresh kernel per report.

Run by hand: ``.venv/bin/python benchmarks/bench_reports.py [--kernels both|warm|fresh]
[--executor thread|process] [--clients 20] [--workers 2] [--fast]``. The five demo
clients are repeated under new ids (``retailer-01``, ...) to make the batch, run through
:func:`retention_kit.reports.run_reports` once per design in the same run, and timed end to
end (kernel starts or the template's imports, execution, HTML, index). Also printed: the
CPU seconds the kernels (with the template) and the driver used per report, which depend
less on what else the machine is doing than wall time does, and the ratios fresh / warm.
The target is warm <= 1.3 s per report, 3x faster than fresh. Both designs must give the
same output: every executed notebook's cells and outputs (images included, papermill's
timing metadata excluded), the KPIs and the HTML page (but for the id papermill draws at
random for the injected-parameters cell) are compared client by client, each design's
output folder path (which the injected ``customer_list`` parameter names) replaced by the
same placeholder and nothing else normalised. A kernel sends
printed text in chunks as time passes, so on a busy machine the versions cell's lines can
land in one stream output or several, in either design: such reports are counted apart.
When anything differs, both output folders are kept (the path is printed).
Nothing is asserted; a difference is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

from retention_kit.datasets import data_dir, list_demo_clients
from retention_kit.reports import run_reports


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


_OUT = "<output folder>"


def _cells(path: Path, coalesce: bool = False) -> list[Any]:
    """What a reader gets from an executed notebook: each cell's source, execution count
    and outputs (papermill's per-cell timing metadata left out), with the path of the
    design's output folder (in the injected ``customer_list`` parameter, say) replaced
    by a placeholder. ``coalesce`` joins consecutive text printed to the same stream: the
    kernel sends printed text in chunks as time passes, so one ``print`` per line can
    land in one output or several."""
    folder = str(path.parent)
    nb = nbformat.read(path, as_version=4)
    cells = []
    for c in nb.cells:
        outputs: list[dict[str, Any]] = []
        for out in c.get("outputs", []):
            last = outputs[-1] if outputs else {}
            if coalesce and out.get("output_type") == "stream" and \
                    last.get("output_type") == "stream" and last.get("name") == out.get("name"):
                last["text"] += out["text"]
            else:
                outputs.append(dict(out))
        cells.append((c.cell_type, c.source.replace(folder, _OUT), c.get("execution_count"),
                      json.dumps(outputs, sort_keys=True).replace(folder, _OUT)))
    return cells


def _page(path: Path) -> str:
    """An HTML report without the id papermill draws at random for its parameters cell,
    the design's output folder's path replaced by a placeholder."""
    page = path.read_text(encoding="utf-8").replace(str(path.parent), _OUT)
    return re.sub(r'id="cell-id=[0-9a-f]+"', 'id="cell-id="', page)


def run(kernels: str, executor: str, n_clients: int, workers: int, fast: bool,
        out: Path) -> dict[str, float]:
    demo = data_dir() / "demo"
    base = list_demo_clients()
    clients = {f"{base[i % len(base)]}-{i // len(base) + 1:02d}": demo / base[i % len(base)]
               for i in range(n_clients)}
    me0, kids0 = _cpu()
    start = time.perf_counter()
    results = run_reports(clients, out_dir=out, workers=workers, executor=executor,
                          parameters={"fast": fast}, progress=False, kernels=kernels)
    wall = time.perf_counter() - start
    me1, kids1 = _cpu()
    n = len(results)
    failed = [r.client_id for r in results if not r.ok]
    used = sorted({r.kernel for r in results})
    row = {"wall": wall, "per": wall / n, "kernel_cpu": (kids1 - kids0) / n,
           "driver_cpu": (me1 - me0) / n}
    print(f"{kernels:>6} {executor:>8} {n:>7} {workers:>7} {str(fast):>5} {wall:>8.1f} "
          f"{row['per']:>9.2f} {row['kernel_cpu']:>10.2f} {row['driver_cpu']:>10.2f} "
          f"{os.getloadavg()[0]:>8.1f}  {'/'.join(used)}"
          f"{'  FAILED: ' + ', '.join(failed) if failed else ''}")
    return row


def compare(fresh: Path, warm: Path) -> tuple[list[str], list[str]]:
    """Files that differ between the two designs' output folders, and the reports that
    differ only in how printed text was split into stream outputs (a matter of timing,
    which happens between two fresh kernels too)."""
    differ, split = [], []
    index = {r["client_id"]: r for r in json.loads((fresh / "index.json").read_text())}
    for r in json.loads((warm / "index.json").read_text()):
        if r["kpis"] != index[r["client_id"]]["kpis"]:
            differ.append(f"{r['name']} (KPIs)")
    for path in sorted(fresh.glob("*.ipynb")):
        other = warm / path.name
        if _cells(path, coalesce=True) != _cells(other, coalesce=True):
            differ.append(path.name)
        elif _cells(path) != _cells(other):
            split.append(path.stem)
        elif _page(path.with_suffix(".html")) != _page(other.with_suffix(".html")):
            differ.append(path.with_suffix(".html").name)
    return differ, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", choices=["warm", "fresh", "both"], default="both")
    parser.add_argument("--executor", choices=["process", "thread"], default="thread")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="the notebook's fast switch")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; target: warm <= 1.3 s per report, 3x faster than fresh")
    print(f"{'kernels':>6} {'executor':>8} {'reports':>7} {'workers':>7} {'fast':>5} "
          f"{'wall s':>8} {'s/report':>9} {'kernel cpu':>10} {'driver cpu':>10} "
          f"{'load avg':>8}  kernels used")
    designs = ["fresh", "warm"] if args.kernels == "both" else [args.kernels]
    root = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    keep = False
    try:
        rows = {k: run(k, args.executor, args.clients, args.workers, args.fast, root / k)
                for k in designs}
        if len(rows) == 2:
            fresh, warm = rows["fresh"], rows["warm"]
            cpu = {k: row["kernel_cpu"] + row["driver_cpu"] for k, row in rows.items()}
            print(f"fresh / warm: {fresh['per'] / warm['per']:.2f}x wall time per report, "
                  f"{cpu['fresh'] / cpu['warm']:.2f}x CPU per report")
            differ, split = compare(root / "fresh", root / "warm")
            same = args.clients - len(differ) - len(split)
            print(f"output: {same} of {args.clients} reports identical (notebook, KPIs, HTML)"
                  + (f"; {len(split)} differ only in how printed text was split into "
                     f"stream outputs ({', '.join(split)})" if split else "")
                  + (f"; DIFFERENT: {', '.join(differ)}" if differ else ""))
            if differ or split:
                keep = True
                print(f"both designs' output kept in {root}")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
