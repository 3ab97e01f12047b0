"""Seconds per client report, amortised over a batch of 20 with 2 workers.

Run by hand: ``.venv/bin/python benchmarks/bench_reports.py [--executor process|thread|both]
[--clients 20] [--workers 2] [--fast]``. The five demo clients are repeated under new ids
(``retailer-01``, ...) to make the batch, run through :func:`retention_kit.reports.run_reports`
and timed end to end (kernel starts, execution, HTML, index). Also printed: the CPU
seconds the report kernels and the driver used per report, which do not depend on what
else the machine is doing; with the cores to themselves, wall time per report is about
that CPU time divided by the number of workers. The target is <= 4 s per report on a
2-core machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from retention_kit.datasets import data_dir, list_demo_clients
from retention_kit.reports import run_reports


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def run(executor: str, n_clients: int, workers: int, fast: bool) -> float:
    demo = data_dir() / "demo"
    base = list_demo_clients()
    clients = {f"{base[i % len(base)]}-{i // len(base) + 1:02d}": demo / base[i % len(base)]
               for i in range(n_clients)}
    out = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        me0, kids0 = _cpu()
        start = time.perf_counter()
        results = run_reports(clients, out_dir=out, workers=workers, executor=executor,
                              parameters={"fast": fast}, progress=False)
        wall = time.perf_counter() - start
        me1, kids1 = _cpu()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    failed = [r.client_id for r in results if not r.ok]
    per = wall / len(results)
    load = os.getloadavg()[0]
    print(f"{executor:>8} {len(results):>8} {workers:>8} {str(fast):>6} {wall:>9.1f} "
          f"{per:>9.2f} {(kids1 - kids0) / len(results):>11.2f} {(me1 - me0) / len(results):>11.2f}"
          f" {load:>9.1f}{'  FAILED: ' + ', '.join(failed) if failed else ''}")
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["process", "thread", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="the notebook's fast switch")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; target <= 4 s per report")
    print(f"{'executor':>8} {'reports':>8} {'workers':>8} {'fast':>6} {'wall s':>9} "
          f"{'s/report':>9} {'kernel cpu':>11} {'driver cpu':>11} {'load avg':>9}")
    executors = ["process", "thread"] if args.executor == "both" else [args.executor]
    for executor in executors:
        run(executor, args.clients, args.workers, args.fast)


if __name__ == "__main__":
    main()
