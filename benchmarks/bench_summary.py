"""Time rfm_summary against lifetimes' summary_data_from_transaction_data.

Run by hand: ``.venv/bin/python benchmarks/bench_summary.py [n_repeats]``. Prints the
best-of-n time of each and their ratio on the CDNOW master log (69,659 rows) and on the
log replicated 10x with disjoint customer ids (696,590 rows). Both libraries are timed
in the same run on the same machine; nothing is asserted.
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from retention_kit.data import rfm_summary
from retention_kit.datasets import load_cdnow_transactions


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(repeats: int = 3) -> None:
    from lifetimes.utils import summary_data_from_transaction_data

    master = load_cdnow_transactions()
    big = pd.concat([master.assign(customer_id=master["customer_id"] + k * 100_000)
                     for k in range(10)], ignore_index=True)
    print(f"{'log rows':>10} {'retention_kit s':>16} {'lifetimes s':>12} {'speed-up':>9}")
    for log in (master, big):
        ours = best_of(repeats, lambda log=log: rfm_summary(
            log, amount_col="amount", time_unit="W", duplicates="keep"))
        theirs = best_of(repeats, lambda log=log: summary_data_from_transaction_data(
            log, "customer_id", "date", monetary_value_col="amount", freq="W"))
        print(f"{len(log):>10,} {ours:>16.3f} {theirs:>12.3f} {theirs / ours:>8.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
