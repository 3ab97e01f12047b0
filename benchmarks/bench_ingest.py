"""A messy order-line export through a transaction spec to the RFM summary: DuckDB vs pandas.

Run by hand::

    .venv/bin/python benchmarks/bench_ingest.py [--sizes 1M 10M] [--out-dir build/bench_ingest]
                                                [--tools duckdb pandas hand]

1. **Generate** (cached; point ``--out-dir`` at a folder under /tmp to keep the blocks between
   runs): seeded retail exports from
   :func:`retention_kit.simulate_exports.simulate_order_lines` (guests, postage, free samples,
   cancellations, day-first text dates, prices as ``"£1,234.50"`` text, float customer ids),
   in blocks of about 1M lines (175,000 customers, block ``b`` seeded ``b``), one Parquet
   file per block; block ``b``'s customer ids are shifted by ``b * 10**7`` and its invoice
   numbers prefixed with ``b-`` (``C`` stays first), so blocks never share a customer or an
   order. The 1M log is block 0, the 10M log blocks 0-9.
2. **Measure**, each in a fresh Python subprocess (imports before the clock starts, Ibis's
   DuckDB backend included), the wall time and peak resident memory (``ru_maxrss`` via
   :func:`os.wait4`) of

   * ``duckdb``: ``clean_rfm_summary("<dir>/*.parquet", SPEC, time_unit="W")``: rules,
     typing, counts and orders in DuckDB; only the returning customers' orders come back to
     be netted, the other customers are summarised by DuckDB, one row per customer returns;
   * ``duckdb-orders`` (not run by default): ``clean_transactions("<dir>/*.parquet", SPEC)``
     (every order collected to pandas) then ``rfm_summary`` of the orders, the route before
     ``clean_rfm_summary``;
   * ``pandas``: ``pd.read_parquet`` of the folder, ``clean_transactions(frame, SPEC)``,
     ``rfm_summary``;
   * ``hand``: the plain pandas a user would write for the same rules without the toolkit
     (filters, order sums, cancellations netted against the referenced order or else the
     customer's latest earlier order by ``merge_asof``, a groupby summary): no counts, no
     examples, no checks, and a simpler netting (a return larger than its target order is
     not carried over to earlier ones), so its orders and revenue differ slightly;

   and print the ratios DuckDB/hand-written and pandas/DuckDB from the same run, and whether
   DuckDB and pandas gave the same orders, revenue, rules and summary (customers and the
   sums of frequency, recency, T and monetary value). Nothing is asserted
   (timings flake on shared machines). Results: ``benchmarks/README.md``.
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
import numpy as np
import pandas as pd
import duckdb, ibis  # noqa: F401  (imports before the clock)
import ibis.backends.duckdb  # noqa: F401  (Ibis loads its DuckDB backend on first use)
from retention_kit.data import rfm_summary
from retention_kit.ingest import clean_rfm_summary, clean_transactions
tool, folder, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def by_hand(folder):
    # What a user writes without the toolkit, for the same rules: guests, postage, free
    # lines and negative prices out; lines summed into orders; cancellations netted against
    # the order they reference, else against the customer's latest order before them; orders
    # returned in full out. No counts, no examples, no checks of bad values.
    raw = pd.read_parquet(folder, columns=["InvoiceNo", "StockCode", "Quantity",
                                           "InvoiceDate", "UnitPrice", "CustomerID"])
    raw = raw[raw["CustomerID"].notna() & (raw["StockCode"].str.strip() != "POST")]
    price = pd.to_numeric(raw["UnitPrice"].str.replace(r"[^0-9.\-]", "", regex=True))
    amount = (raw["Quantity"] * price).round(10)
    lines = pd.DataFrame({"customer_id": raw["CustomerID"].astype("int64"),
                          "order_id": raw["InvoiceNo"].str.strip(),
                          "date": pd.to_datetime(raw["InvoiceDate"], format="%d/%m/%Y %H:%M"),
                          "amount": amount})[(amount != 0) & (price >= 0)]
    cancel = lines["order_id"].str.startswith("C") | (lines["amount"] < 0)
    orders = lines[~cancel].groupby(["customer_id", "order_id"], as_index=False).agg(
        date=("date", "min"), amount=("amount", "sum"))
    returns = lines[cancel].assign(amount=lambda r: r["amount"].abs(),
                                   ref=lambda r: r["order_id"].str.removeprefix("C"))
    by_ref = returns.merge(orders[["customer_id", "order_id"]].rename(
        columns={"order_id": "ref"}), on=["customer_id", "ref"])
    taken = by_ref.groupby(["customer_id", "ref"])["amount"].sum().rename("taken")
    orders = orders.merge(taken, left_on=["customer_id", "order_id"], right_index=True,
                          how="left")
    orders["amount"] -= orders.pop("taken").fillna(0.0)
    rest = returns[~returns.set_index(["customer_id", "ref"]).index.isin(taken.index)]
    latest = pd.merge_asof(rest.sort_values("date"), orders.sort_values("date")[
        ["customer_id", "date", "order_id"]].rename(columns={"order_id": "target"}),
        on="date", by="customer_id").dropna(subset=["target"])
    less = latest.groupby(["customer_id", "target"])["amount"].sum().rename("less")
    orders = orders.merge(less, left_on=["customer_id", "order_id"], right_index=True,
                          how="left")
    orders["amount"] -= orders.pop("less").fillna(0.0)
    orders = orders[orders["amount"] > 1e-9]
    day = orders["date"].dt.normalize()
    per = orders.assign(day=day).groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    g = per.groupby("customer_id")
    first, n = g["day"].transform("min"), g["day"].size()
    end = per["day"].max()
    summary = pd.DataFrame({"frequency": n - 1,
                            "recency": (g["day"].max() - g["day"].min()) / pd.Timedelta(weeks=1),
                            "T": (end - g["day"].min()) / pd.Timedelta(weeks=1)})
    repeat = per[per["day"] > first].groupby("customer_id")["amount"].mean()
    summary["monetary_value"] = repeat.reindex(summary.index).fillna(0.0)
    return orders, summary


start = time.perf_counter()
if tool == "hand":
    orders, summary = by_hand(folder)
    seconds = time.perf_counter() - start
    print("\n" + json.dumps({"seconds": seconds, "orders": len(orders),
                             "revenue": round(float(orders["amount"].sum()), 2),
                             "customers": len(summary),
                             "frequency": float(summary["frequency"].sum()), "sums": [],
                             "rules": []}))
    sys.exit(0)
if tool == "duckdb":  # the orders stay in DuckDB; one row per customer comes back
    out = clean_rfm_summary(folder + "/*.parquet", spec, time_unit="W")
    summary, quality = out.summary, out.quality
else:  # every order collected to pandas, then summarised there
    raw = folder + "/*.parquet" if tool == "duckdb-orders" else pd.read_parquet(folder)
    log = clean_transactions(raw, spec)
    summary = rfm_summary(log.transactions, amount_col="amount", time_unit="W")
    quality = log.quality
seconds = time.perf_counter() - start
print("\n" + json.dumps({"seconds": seconds, "orders": quality.n_orders_out,
                  "revenue": quality.revenue_out, "customers": len(summary),
                  "frequency": float(summary["frequency"].sum()),
                  "sums": [round(float(summary[c].sum()), 2) for c in
                           ("recency", "T", "monetary_value")],
                  "rules": quality.rules[["rows", "revenue"]].to_numpy().tolist()}))
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
    parser.add_argument("--tools", nargs="+", default=["duckdb", "pandas", "hand"],
                        choices=["duckdb", "duckdb-orders", "pandas", "hand"])
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
        results = {tool: measure(tool, folder) for tool in args.tools}
        load = os.getloadavg()[0]
        for tool, r in results.items():
            print(f"{size} ({n:,} lines) {tool:>6}: {r['seconds']:6.1f} s, peak "
                  f"{r['peak_gb']:.2f} GB, {r['orders']:,} orders, {r['customers']:,} "
                  f"customers, revenue {r['revenue']:,.2f}")
        d, p, h = (results.get(t) for t in ("duckdb", "pandas", "hand"))
        if d and h:
            print(f"{size}: DuckDB/hand-written pandas time {d['seconds'] / h['seconds']:.2f}x, "
                  f"memory {d['peak_gb'] / h['peak_gb']:.2f}x")
        for other in ("duckdb-orders", "pandas"):
            o = results.get(other)
            if d and o:
                same = all(d[k] == o[k] for k in ("orders", "revenue", "customers",
                                                   "frequency", "sums", "rules"))
                print(f"{size}: {other}/DuckDB time {o['seconds'] / d['seconds']:.1f}x, "
                      f"memory {o['peak_gb'] / d['peak_gb']:.1f}x; same orders, revenue, "
                      f"rules and summary: {same}")
        print(f"{size}: load average {load:.1f}")


if __name__ == "__main__":
    main()
