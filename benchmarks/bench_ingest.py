"""A messy order-line export through a transaction spec to the RFM summary: DuckDB vs pandas.

Run by hand::

    .venv/bin/python benchmarks/bench_ingest.py [--sizes 1M 10M] [--out-dir build/bench_ingest]

1. **Generate** (cached): seeded retail exports from
   :func:`retention_kit.simulate_exports.simulate_order_lines` (guests, postage, free samples,
   cancellations, day-first text dates, prices as ``"£1,234.50"`` text, float customer ids),
   in blocks of about 1M lines (175,000 customers, block ``b`` seeded ``b``), one Parquet
   file per block; block ``b``'s customer ids are shifted by ``b * 10**7`` and its invoice
   numbers prefixed with ``b-`` (``C`` stays first), so blocks never share a customer or an
   order. The 1M log is block 0, the 10M log blocks 0-9.
2. **Measure**, each in a fresh Python subprocess (imports before the clock starts), the
   wall time and peak resident memory (``ru_maxrss`` via :func:`os.wait4`) of

   * ``duckdb``: ``clean_transactions("<dir>/*.parquet", SPEC)`` (rules, typing, counts and
     order sums in DuckDB; orders and returns come back) then ``rfm_summary`` of the orders;
   * ``pandas``: ``pd.read_parquet`` of the folder, ``clean_transactions(frame, SPEC)``,
     ``rfm_summary``;

   and print the ratio pandas/DuckDB from the same run, and whether both gave the same
   orders, revenue and summary. Nothing is asserted (timings flake on shared machines).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CUSTOMERS_PER_BLOCK = 175_000
SPEC = {"customer": "CustomerID", "date": "InvoiceDate", "order": "InvoiceNo",
        "quantity": "Quantity", "unit_price": "UnitPrice", "product": "StockCode",
        "country": "Country", "exclude_products": ["POST"], "cancellation_prefix": "C",
        "date_format": "dayfirst"}
SIZES = {"1M": 1, "10M": 10}


def block_path(out_dir: Path, b: int) -> Path:
    return out_dir / "blocks" / f"block-{b:03d}.parquet"


def generate_block(out_dir: Path, b: int) -> int:
    import pandas as pd  # noqa: F401

    from retention_kit.simulate_exports import simulate_order_lines

    path = block_path(out_dir, b)
    if path.exists():
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    raw, _ = simulate_order_lines(CUSTOMERS_PER_BLOCK, random_state=b)
    invoice = raw["InvoiceNo"].astype(str)
    cancel = invoice.str.startswith("C")
    raw["InvoiceNo"] = (cancel.map({True: "C", False: ""}) + f"{b}-"
                        + invoice.str.removeprefix("C"))
    raw["CustomerID"] = raw["CustomerID"] + b * 10**7
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.to_parquet(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").rename(path)
    return len(raw)


def log_dir(out_dir: Path, size: str) -> Path:
    """A folder of links to the blocks of one size."""
    folder = out_dir / f"lines_{size}"
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(SIZES[size]):
        link = folder / block_path(out_dir, b).name
        if not link.exists():
            link.symlink_to(block_path(out_dir, b).resolve())
    return folder


CHILD = r"""
import json, sys, time
import pandas as pd
import duckdb, ibis  # noqa: F401  (imports before the clock)
from retention_kit.data import rfm_summary
from retention_kit.ingest import clean_transactions
tool, folder, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.perf_counter()
if tool == "duckdb":
    log = clean_transactions(folder + "/*.parquet", spec)
else:
    log = clean_transactions(pd.read_parquet(folder), spec)
summary = rfm_summary(log.transactions, amount_col="amount", time_unit="W")
seconds = time.perf_counter() - start
print("\n" + json.dumps({"seconds": seconds, "orders": len(log.transactions),
                  "revenue": log.quality.revenue_out, "customers": len(summary),
                  "frequency": float(summary["frequency"].sum()),
                  "rules": log.quality.rules[["rows", "revenue"]].to_numpy().tolist()}))
"""


def measure(tool: str, folder: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, tool, str(folder), json.dumps(SPEC)],
                            stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    out["peak_gb"] = usage.ru_maxrss / 1024**2
    out["status"] = status
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--out-dir", default="build/bench_ingest")
    parser.add_argument("--jobs", type=int, default=2, help="blocks generated at once")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    n_blocks = max(SIZES[s] for s in args.sizes)
    started = time.perf_counter()
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(args.jobs) as pool:
        lines = list(pool.map(generate_block, [out_dir] * n_blocks, range(n_blocks)))
    print(f"generated/cached {n_blocks} blocks ({sum(lines):,} lines) in "
          f"{time.perf_counter() - started:.0f} s")
    for size in args.sizes:
        folder = log_dir(out_dir, size)
        n = sum(lines[: SIZES[size]])
        results = {tool: measure(tool, folder) for tool in ("duckdb", "pandas")}
        d, p = results["duckdb"], results["pandas"]
        same = all(d[k] == p[k] for k in ("orders", "revenue", "customers", "frequency",
                                           "rules"))
        load = os.getloadavg()[0]
        for tool, r in results.items():
            print(f"{size} ({n:,} lines) {tool:>6}: {r['seconds']:6.1f} s, peak "
                  f"{r['peak_gb']:.2f} GB, {r['orders']:,} orders, {r['customers']:,} "
                  "customers")
        print(f"{size}: pandas/DuckDB time {p['seconds'] / d['seconds']:.1f}x, memory "
              f"{p['peak_gb'] / d['peak_gb']:.1f}x; same orders, revenue, rules and summary: "
              f"{same}; load average {load:.1f}")


if __name__ == "__main__":
    main()
