"""Left truncation: a log whose start cuts through an existing customer base.

When a log begins after the business did, every existing customer who buys in its
first weeks looks *new*. Those old customers have survived their early churn and buy
more often, so the first cohorts are too large, their later retention too high, and
the average retention curve can rise with months since acquisition (a real 12-month
retail log went from 23% at month 1 to 50% at month 11). The fix is to analyse only
customers first seen once the existing base has had time to show up:
``cohort_table(..., customers_since=...)`` and ``retention_curve(..., customers_since=...)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cohorts import cohort_sizes, cohort_table
from ._verdict import Finding
from .purchase_cycle import inter_purchase_days, quantile_or_nan

__all__ = ["SIZE_RATIO", "RETENTION_LIFT", "left_truncation", "suggest_customers_since"]

#: First cohort at least this many times the median of the next five cohorts.
SIZE_RATIO = 1.5
#: First cohort's retention over periods 1-6 at least this many times the next cohorts'.
RETENTION_LIFT = 1.25
#: Quantile of the inter-purchase days after which most existing customers have shown up.
CYCLE_QUANTILE = 0.9
_NEXT = 5
_PERIODS = 6


def suggest_customers_since(
    transactions: pd.DataFrame,
    *,
    period: str = "M",
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
) -> pd.Timestamp:
    """The first period start by which most existing customers have been seen.

    An existing customer who is still active buys at least once every few purchase
    cycles. After the 90th percentile of the inter-purchase days
    (:func:`~retention_kit.diagnostics.inter_purchase_days`) has passed since the
    start of the log, about 90% of the active old customers' gaps have elapsed, so most
    of them have appeared; customers first seen from then on are mostly truly new.
    The date is rounded up to the start of the next ``period``.

    Returns
    -------
    Timestamp
        Start of the log plus the 90th-percentile gap, at the start of a period
        (the start of the log's second period when no customer bought twice).
    """
    gaps = inter_purchase_days(transactions, customer_col=customer_col, date_col=date_col,
                               observation_end=observation_end)
    start = pd.Timestamp(gaps.attrs["start"])
    q = quantile_or_nan(gaps, CYCLE_QUANTILE)
    lag = pd.Timedelta(days=float(q) if np.isfinite(q) else 1.0)
    moment = (start + lag).normalize()
    p = pd.Period(moment, freq=period)
    return p.start_time if p.start_time == moment else (p + 1).start_time


def left_truncation(
    transactions: pd.DataFrame,
    *,
    period: str = "M",
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
    duplicates: str = "keep",
) -> Finding:
    """Does the log's start cut through an existing customer base?

    Two signatures of old customers counted as new, measured on the exact-mode
    :func:`~retention_kit.cohorts.cohort_table` by ``period``:

    * **size**: the first cohort's size divided by the median size of the next five
      cohorts (:data:`SIZE_RATIO` = 1.5);
    * **retention lift**: the first cohort's mean retention over periods 1-6 divided
      by the size-weighted mean retention of the next five cohorts over the same
      periods (:data:`RETENTION_LIFT` = 1.25).

    Verdict: ``unreliable`` (for cohort and survival views) when both are at or
    above their threshold, ``caution`` when one is, ``ok`` when neither is; a log
    with fewer than three cohorts cannot be checked (``caution``).

    Justification (``benchmarks/calibrate_verdicts.py``, 10 seeds of 6,000 CDNOW-like
    BG/NBD customers acquired uniformly over 2020-2024): on the whole logs the size
    ratio ranged 0.79-1.21 and the lift 0.84-1.26 (9 ``ok``, 1 ``caution``); on the
    same logs cut at 2024 the size ratio ranged 1.56-1.99 and the lift 1.56-2.01
    (all 10 ``unreliable``). A seasonal peak of acquisition can raise the size ratio
    alone, which only gives ``caution``.

    The fix names a date from :func:`suggest_customers_since`.

    Returns
    -------
    Finding
        ``value`` is the size ratio.
    """
    table = cohort_table(transactions, customer_col=customer_col, date_col=date_col,
                         period=period, observation_end=observation_end,
                         duplicates=duplicates)  # type: ignore[arg-type]
    sizes = cohort_sizes(table).to_numpy(dtype=float)
    rule = (f"first cohort >= {SIZE_RATIO:g} x the median of the next {_NEXT} (size) and its "
            f"retention over periods 1-{_PERIODS} >= {RETENTION_LIFT:g} x theirs (lift): both "
            "unreliable, one caution")
    if len(sizes) < 3:
        return Finding("left truncation", "caution",
                       f"The log has only {len(sizes)} cohort(s), too few to tell whether its "
                       "first customers are new or were customers before the log starts.",
                       fix="a longer log", rule=rule)
    nxt = slice(1, 1 + _NEXT)
    size_ratio = float(sizes[0] / np.median(sizes[nxt]))
    cells = table.iloc[:, 1:1 + _PERIODS]
    first = cells.iloc[0].to_numpy(dtype=float)
    later = cells.iloc[nxt].to_numpy(dtype=float)
    w = sizes[nxt][:, None] * ~np.isnan(later)
    cols = ~np.isnan(first) & (w.sum(axis=0) > 0)
    lift = float("nan")
    if cols.any():
        later_mean = (np.nansum(later * w, axis=0)[cols] / w.sum(axis=0)[cols]).mean()
        if later_mean > 0:
            lift = float(first[cols].mean() / later_mean)
    big, loyal = size_ratio >= SIZE_RATIO, bool(np.isfinite(lift) and lift >= RETENTION_LIFT)
    lift_text = "not measurable" if not np.isfinite(lift) else f"{lift:.2f} times"
    measured = (f"The first cohort ({table.index[0]}) has {int(sizes[0]):,} customers, "
                f"{size_ratio:.1f} times the median of the next ones, and its later retention "
                f"is {lift_text} theirs.")
    if not (big or loyal):
        return Finding("left truncation", "ok",
                       measured + " Nothing suggests the log starts in the middle of an "
                       "existing customer base.", value=size_ratio, rule=rule)
    since = suggest_customers_since(transactions, period=period, customer_col=customer_col,
                                    date_col=date_col, observation_end=observation_end)
    verdict = "unreliable" if (big and loyal) else "caution"
    return Finding(
        "left truncation", verdict,
        measured + " The log probably starts in the middle of an existing customer base: "
        "old customers who bought in its first weeks are counted as new, which makes early "
        "cohorts look more loyal and can make the average retention curve rise with months "
        "since acquisition.",
        fix=(f"analyse only customers first seen from {since.date()} on "
             f"(customers_since='{since.date()}' in cohort_table and retention_curve), or "
             "use a log that starts with the business"),
        value=size_ratio, rule=rule)
