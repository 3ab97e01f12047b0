"""RFM summaries of 1M-100M transactions from Parquet: DuckDB vs pandas vs lifetimes.

Run by hand::

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1M 10M 100M] [--out-dir DIR]
                                               [--skip-generate] [--peer-max 10M]

1. **Generate** a seeded BG/NBD transaction log at the CDNOW estimates (r 0.243,
   alpha 4.414, a 0.793, b 2.426 per week; Gamma-Gamma spend p 6.25, q 3.74,
   gamma 15.44), customers acquired uniformly over 2022-01-01..2023-12-31 and observed
   to the end of 2023, with :func:`retention_kit.simulate_transactions`, one block of
   customers at a time (its own seed stream and id range), each block written as one
   Parquet file: ``<out-dir>/tx_<N>/part-00000.parquet, ...`` (``tx_<N>.json`` says
   what was written). Memory is bounded by a
   block (about 2.5M rows), so 100M rows never sit in memory at once. The N-th row cuts
   the last block (its last customer may lose later purchases).
2. **Measure**, each in a fresh Python subprocess (so one measurement's memory cannot
   inflate the next), the wall time and the peak resident memory (``ru_maxrss`` of the
   child, read with :func:`os.wait4`) of

   * ``duckdb``: ``rfm_summary("<dir>/*.parquet", ...)`` (DuckDB reads the files;
     one row per customer comes back to pandas), for every size;
   * ``pandas``: ``pd.read_parquet`` of the folder, then ``rfm_summary(log, ...)``;
   * ``lifetimes``: the same read, then lifetimes' ``summary_data_from_transaction_data``
     (``freq="D"``, i.e. purchases merged per day as ours, recency in days);
   * ``score``: :func:`retention_kit.scoring.score_chunks` of the DuckDB summary (as
     Parquet, 500k customers per batch) to a Parquet file of predictions and CLV, with
     the CDNOW parameters: memory should not grow with the number of customers;
   * ``score_whole``: the same predictions for the whole summary at once
     (:func:`~retention_kit.scoring.score_summary`), kept in memory, for contrast;
   * ``baseline``: the imports only (Python, pandas, pyarrow, retention_kit, DuckDB,
     Ibis; every child imports them before its clock starts, so times are work only),

   the peers and ``score_whole`` only up to ``--peer-max`` rows. Each line prints the
   ratio of a peer's time and memory to DuckDB's (``score_whole``: to ``score``'s) in
   the same run, and checks that every tool found the
   same customers and the same total frequency, recency and spend. Nothing is asserted
   (timings flake on shared machines); the machine's load average is printed with
   each line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

START, END = "2022-01-01", "2023-12-31"
ROWS_PER_FILE = 2_500_000
SEED = 2026
BGNBD_CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_CDNOW = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def parse_size(text: str) -> int:
    text = text.strip().upper().replace("_", "").replace(",", "")
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * scale)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


# --------------------------------------------------------------------------- generation


def generate(n_rows: int, folder: Path, seed: int = SEED) -> dict:
    """Write about ``n_rows`` transactions as Parquet files of ~ROWS_PER_FILE rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from retention_kit import simulate_transactions

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    # Transactions per customer, from a pilot block with its own seed.
    pilot = simulate_transactions(20_000, start=START, end=END, random_state=seed + 1)
    per_customer = len(pilot) / 20_000
    n_files = max(4, -(-n_rows // ROWS_PER_FILE))
    streams = np.random.SeedSequence(seed).spawn(10 * n_files)  # spares for a short block
    written = customers = files = 0
    start = time.perf_counter()
    for i, stream in enumerate(streams):
        remaining = n_rows - written
        if remaining <= 0:
            break
        target = min(remaining, -(-n_rows // n_files))
        n_cust = max(1, int(np.ceil(target / per_customer * 1.02)))
        log = simulate_transactions(n_cust, start=START, end=END,
                                    random_state=np.random.default_rng(stream))
        log["customer_id"] += customers
        if len(log) > remaining:
            # Keep whole customers in id order; the last one kept may be cut short.
            log = log.sort_values(["customer_id", "date"], kind="stable").iloc[:remaining]
        customers += n_cust
        pq.write_table(pa.Table.from_pandas(log, preserve_index=False),
                       folder / f"part-{i:05d}.parquet")
        files += 1
        written += len(log)
        del log
    info = {"rows": written, "customers_drawn": customers, "files": files,
            "per_customer": per_customer, "seconds": time.perf_counter() - start,
            "bytes": sum(p.stat().st_size for p in folder.glob("*.parquet"))}
    folder.with_suffix(".json").write_text(json.dumps(info) + "\n")
    return info


# --------------------------------------------------------------------------- children


def checksum(summary, recency_scale: float = 1.0) -> dict:
    return {"customers": int(len(summary)), "frequency": int(summary["frequency"].sum()),
            "recency": float(summary["recency"].sum() * recency_scale),
            "spend": float((summary["monetary_value"] * summary["frequency"]).sum())}


def child(task: str, folder: Path, summary_path: Path) -> dict:
    """One measurement, run in a fresh interpreter; returns what it measured."""
    import resource

    import duckdb  # noqa: F401  (imported before the clock starts, in every child alike)
    import ibis  # noqa: F401
    import pandas as pd
    import pyarrow.parquet  # noqa: F401

    import retention_kit as rk

    options = {"customer_col": "customer_id", "date_col": "date", "amount_col": "amount",
               "observation_end": END, "time_unit": "W", "duplicates": "keep"}
    out: dict = {}
    start = time.perf_counter()
    if task == "baseline":
        pass
    elif task == "duckdb":
        summary = rk.rfm_summary(str(folder / "*.parquet"), **options)
        out["check"] = checksum(summary)
    elif task == "pandas":
        log = pd.read_parquet(folder)
        out["read_s"] = time.perf_counter() - start
        summary = rk.rfm_summary(log, **options)
        out["check"] = checksum(summary)
    elif task == "lifetimes":
        import warnings

        from lifetimes.utils import summary_data_from_transaction_data

        warnings.simplefilter("ignore")
        start = time.perf_counter()  # lifetimes' import is not part of the work
        log = pd.read_parquet(folder)
        out["read_s"] = time.perf_counter() - start
        summary = summary_data_from_transaction_data(
            log, "customer_id", "date", monetary_value_col="amount",
            observation_period_end=END, freq="D")
        out["check"] = checksum(summary, recency_scale=1 / 7)
    elif task == "score":
        from retention_kit.models import BGNBD, GammaGamma
        from retention_kit.scoring import score_chunks

        bg = BGNBD.from_params(BGNBD_CDNOW, time_unit="W")
        gg = GammaGamma.from_params(GG_CDNOW)
        target = summary_path.with_name(summary_path.stem + "_scores.parquet")
        n = score_chunks(summary_path, bg, spend_model=gg, time_unit="W", horizon=12,
                         discount_period="M", discount_rate=0.01, batch_size=500_000,
                         output=target)
        out["check"] = {"customers": n}
    elif task == "score_whole":
        from retention_kit.models import BGNBD, GammaGamma
        from retention_kit.scoring import score_summary

        summary = pd.read_parquet(summary_path)
        scores = score_summary(summary, BGNBD.from_params(BGNBD_CDNOW, time_unit="W"),
                               spend_model=GammaGamma.from_params(GG_CDNOW), time_unit="W",
                               horizon=12, discount_period="M", discount_rate=0.01)
        out["check"] = {"customers": len(scores)}
    else:
        raise ValueError(task)
    out["seconds"] = time.perf_counter() - start
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if task in ("duckdb", "pandas") and not summary_path.exists():
        summary.to_parquet(summary_path, index=True)  # input of "score"; not measured
    return out


def measure(task: str, folder: Path, summary_path: Path) -> dict:
    """Run ``child`` in a fresh interpreter; its peak RSS comes from os.wait4.

    Linux keeps a process's peak RSS across fork and exec, so a child would inherit
    the parent's peak: this parent stays small (it only imports numpy, and generates
    the logs in a subprocess too), and ``process_maxrss_mb`` includes that floor.
    """
    load = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, __file__, "--child", task, "--folder", str(folder),
                             "--summary", str(summary_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {"task": task, "load": load, "process_maxrss_mb": usage.ru_maxrss / 1024}
    if proc.returncode != 0:
        last = [line for line in stderr.strip().splitlines() if line.strip()]
        result["error"] = last[-1][:160] if last else f"exit code {proc.returncode}"
        return result
    result.update(json.loads(stdout.strip().splitlines()[-1]))
    return result


# --------------------------------------------------------------------------- report


def report(n: int, result: dict, reference: dict | None) -> None:
    """One line; ratios against ``reference`` (the task this one is compared with)."""
    if "error" in result:
        print(f"{label(n):>6} {result['task']:<11} FAILED: {result['error']}", flush=True)
        return
    ratio = mem = "      -"
    same = ""
    if reference is not None and "error" not in reference and result is not reference:
        ratio = f"{result['seconds'] / reference['seconds']:6.1f}x"
        mem = f"{result['maxrss_mb'] / reference['maxrss_mb']:6.1f}x"
    if reference is not None and "check" in result and "check" in reference and (
            result["task"] in ("pandas", "lifetimes")):
        a, b = result["check"], reference["check"]
        ok = a["customers"] == b["customers"] and a["frequency"] == b["frequency"] and all(
            np.isclose(a[k], b[k], rtol=1e-9) for k in ("recency", "spend"))
        same = "same" if ok else f"DIFFERS {a} vs {b}"
    read = f"{result['read_s']:8.2f}" if "read_s" in result else "       -"
    customers = result.get("check", {}).get("customers")
    customers = "-" if customers is None else f"{customers:,}"
    print(f"{label(n):>6} {result['task']:<11} {result['seconds']:9.2f} {read} "
          f"{result['maxrss_mb']:9,.0f} {ratio} {mem} "
          f"{customers:>11} {result['load']:5.2f} {same}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1M", "10M", "100M"],
                        help="transactions per log, e.g. 1M 10M 100M")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/retention_kit_bench_scale"))
    parser.add_argument("--skip-generate", action="store_true",
                        help="reuse the Parquet files of an earlier run when they exist")
    parser.add_argument("--peer-max", default="10M",
                        help="largest log given to pandas and lifetimes (default 10M)")
    parser.add_argument("--tasks", nargs="+",
                        default=["baseline", "duckdb", "pandas", "lifetimes", "score",
                                 "score_whole"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--summary", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.folder)
        return
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.summary)))
        return

    peer_max = parse_size(args.peer_max)
    import resource

    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# parent peak RSS {parent_mb:.0f} MB (a floor under every child's figure)")
    print(f"{'rows':>6} {'task':<11} {'wall s':>9} {'read s':>8} {'peak MB':>9} "
          f"{'x time':>7} {'x mem':>7} {'customers':>11} {'load':>5}", flush=True)
    for n in map(parse_size, args.sizes):
        folder = args.out_dir / f"tx_{label(n)}"
        summary_path = args.out_dir / f"summary_{label(n)}.parquet"
        if not (args.skip_generate and folder.with_suffix(".json").exists()):
            proc = subprocess.Popen([sys.executable, __file__, "--generate", str(n),
                                     "--folder", str(folder)])
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise SystemExit(f"generating {label(n)} rows failed")
            info = json.loads(folder.with_suffix(".json").read_text())
            info["maxrss_mb"] = usage.ru_maxrss / 1024
            summary_path.unlink(missing_ok=True)
            print(f"# generated {info['rows']:,} rows ({info['customers_drawn']:,} customers "
                  f"drawn) in {info['files']} files, {info['bytes'] / 1e6:,.0f} MB, "
                  f"{info['seconds']:.1f} s, peak {info['maxrss_mb']:,.0f} MB", flush=True)
        results: dict[str, dict] = {}
        for task in args.tasks:
            if task in ("pandas", "lifetimes", "score_whole") and n > peer_max:
                continue
            results[task] = result = measure(task, folder, summary_path)
            peer_of = {"pandas": "duckdb", "lifetimes": "duckdb", "score_whole": "score"}
            report(n, result, results.get(peer_of.get(task, ""), None))


if __name__ == "__main__":
    main()
