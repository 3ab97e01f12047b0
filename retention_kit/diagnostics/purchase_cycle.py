"""The customers' purchase cycle: days between consecutive purchases.

Several diagnostics compare a time span with how often customers buy: the observation
window (is it long enough to see customers come back, and stop?), an inactivity rule
(does "no purchase for 180 days" mean gone, or just a slow buyer?) and the start of a
log (how long until the existing customers of a business have all shown up?).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import prepare_transactions

__all__ = ["inter_purchase_days"]


def inter_purchase_days(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
    duplicates: str = "keep",
) -> pd.Series:
    """Days between consecutive purchase days of every customer (repeat buyers only).

    Purchases on the same day count once; a customer with n purchase days
    contributes n - 1 gaps. The gaps of a finite log are right-truncated (a gap
    longer than the log cannot be seen), so their quantiles understate the true
    cycle of slow buyers (keep that in mind when the window is short).

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase; validated by
        :func:`retention_kit.data.prepare_transactions` and not modified.
    customer_col, date_col : str
        Column names.
    observation_end : date-like, optional
        Last observed day; defaults to the last purchase.
    duplicates : {"keep", "raise", "drop"}, default "keep"
        Passed to ``prepare_transactions`` (identical rows are harmless here).

    Returns
    -------
    Series
        Gaps in days (float), one per repeat purchase day, indexed by customer,
        named ``inter_purchase_days``; ``attrs["window_days"]`` is the length of the log
        (first purchase to ``observation_end``, in days) and ``attrs["start"]`` its
        first day.

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3, 3],
    ...                     "date": ["2024-01-01", "2024-01-11", "2024-01-31",
    ...                              "2024-01-05", "2024-01-02", "2024-01-02"]})
    >>> gaps = inter_purchase_days(log)
    >>> gaps.index.tolist(), gaps.tolist()
    ([1, 1], [10.0, 20.0])
    """
    clean, end = prepare_transactions(transactions, customer_col=customer_col,
                                      date_col=date_col, observation_end=observation_end,
                                      duplicates=duplicates)  # type: ignore[arg-type]
    days = clean[["customer", "date"]].assign(date=clean["date"].dt.normalize())
    days = days.drop_duplicates().sort_values(["customer", "date"])
    gaps = days.groupby("customer")["date"].diff()
    keep = gaps.notna().to_numpy()
    out = pd.Series(gaps[keep].dt.days.astype(float).to_numpy(),
                    index=pd.Index(days["customer"].to_numpy()[keep], name=customer_col),
                    name="inter_purchase_days")
    start = clean["date"].min().normalize()
    out.attrs.update(window_days=float((end.normalize() - start).days + 1),
                     start=str(start.date()))
    return out


def quantile_or_nan(values: pd.Series, q: float) -> float:
    """A quantile of the values, NaN when there are none."""
    return float(np.quantile(values.to_numpy(), q)) if len(values) else float("nan")
