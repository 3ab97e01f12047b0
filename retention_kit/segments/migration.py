"""Segment migration between two snapshots.

Migration (:func:`segment_migration`, :func:`migration_from_transactions`)
    The transition matrix of segments between two snapshots, scored with the same bins.
    Customers acquired in between form a "(new customer)" row; customers who stop buying
    stay in the matrix and drift, through their recency score, to At Risk or
    Hibernating/Lost; a "(not active)" column counts customers missing from the second
    snapshot (empty for cumulative snapshots of one log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..data import rfm_segmentation_summary
from ..errors import DataError
from ._common import first_customer
from .rfm import rfm_segments

__all__ = [
    "SegmentMigration",
    "migration_from_transactions",
    "segment_migration",
]

# --------------------------------------------------------------------------- migration


def _as_segments(obj: Any, name: str) -> pd.Series:
    if isinstance(obj, pd.DataFrame):
        if "segment" not in obj.columns:
            raise DataError(f"{name} has no 'segment' column",
                            fix="pass rfm_segments() output or a Series of segment names")
        obj = obj["segment"]
    if not isinstance(obj, pd.Series):
        raise DataError(f"{name} must be a DataFrame or Series, got {type(obj).__name__}",
                        fix="pass rfm_segments() output or a Series of segment names")
    if obj.index.has_duplicates:
        raise DataError(f"{name} has customers listed twice",
                        n_rows=int(obj.index.duplicated().sum()),
                        example=first_customer(obj.index, obj.index.duplicated()),
                        fix="one row per customer")
    if obj.isna().any():
        raise DataError(f"{name} has customers without a segment", n_rows=int(obj.isna().sum()),
                        example=first_customer(obj.index, obj.isna().to_numpy()),
                        fix="assign every customer a segment")
    return obj


def _categories(seg: pd.Series) -> list[str]:
    if isinstance(seg.dtype, pd.CategoricalDtype):
        return [str(c) for c in seg.cat.categories]
    return sorted({str(v) for v in seg})


def segment_migration(
    before: pd.DataFrame | pd.Series,
    after: pd.DataFrame | pd.Series,
    *,
    normalize: bool = False,
    new_label: str = "(new customer)",
    inactive_label: str = "(not active)",
) -> pd.DataFrame:
    """Transition matrix of segments between two snapshots: who moved where.

    Rows are the segments at the first snapshot, plus ``new_label`` for customers only
    in ``after`` (acquired in between); columns the segments at the second, plus
    ``inactive_label`` for customers only in ``before``. With cumulative snapshots (all
    purchases up to each cut-off, as :func:`migration_from_transactions` builds them)
    nobody disappears: customers who stopped buying drift, through their recency score,
    into At Risk or Hibernating/Lost, and the "(not active)" column stays 0. It fills
    when the second snapshot leaves customers out (e.g. only customers active in a
    recent window).

    Parameters
    ----------
    before, after : DataFrame or Series
        :func:`rfm_segments` output (a ``segment`` column) or Series of segment names,
        indexed by customer.
    normalize : bool, default False
        False: counts. True: row shares (each row sums to 1; an empty row is NaN).
    new_label, inactive_label : str
        Names of the two extra states; they must differ from every segment name.

    Returns
    -------
    DataFrame
        Index named ``before``, columns named ``after``, segments in their category
        order (every segment shown, even when empty). ``attrs``: ``n_customers``,
        ``n_new``, ``n_inactive``, ``normalize``.

    Examples
    --------
    >>> before = pd.Series(["Loyal", "Loyal", "New"], index=[1, 2, 3])
    >>> after = pd.Series(["Loyal", "At Risk", "Loyal", "New"], index=[1, 2, 3, 4])
    >>> segment_migration(before, after)
    after           At Risk  Loyal  New  (not active)
    before
    Loyal                 1      1    0             0
    New                   0      1    0             0
    (new customer)        0      0    1             0
    """
    b = _as_segments(before, "before")
    a = _as_segments(after, "after")
    rows = _categories(b)
    cols = _categories(a)
    for label, what in ((new_label, "new_label"), (inactive_label, "inactive_label")):
        if label in rows or label in cols:
            raise DataError(f"{what}={label!r} is also a segment name",
                            fix=f"pass another {what}")
    rows.append(new_label)
    cols.append(inactive_label)
    customers = b.index.union(a.index, sort=False)
    frm = b.astype(str).reindex(customers).fillna(new_label).to_numpy()
    to = a.astype(str).reindex(customers).fillna(inactive_label).to_numpy()
    matrix = np.zeros((len(rows), len(cols)), dtype=np.int64)
    np.add.at(matrix, (pd.Index(rows).get_indexer(frm), pd.Index(cols).get_indexer(to)), 1)
    out = pd.DataFrame(matrix, index=pd.Index(rows, name="before"),
                       columns=pd.Index(cols, name="after"))
    if normalize:
        totals = out.sum(axis=1).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out.div(np.where(totals > 0, totals, np.nan), axis=0)
    out.attrs.update(kind="segment_migration", normalize=bool(normalize),
                     n_customers=len(customers), n_new=int((~customers.isin(b.index)).sum()),
                     n_inactive=int((~customers.isin(a.index)).sum()))
    return out


@dataclass(frozen=True)
class SegmentMigration:
    """Two segment snapshots and the migration between them, see
    :func:`migration_from_transactions`."""

    before: pd.DataFrame
    """:func:`rfm_segments` at the first cut-off (bins fitted here)."""
    after: pd.DataFrame
    """:func:`rfm_segments` at the second cut-off, scored with the first period's bins."""
    counts: pd.DataFrame
    """:func:`segment_migration` counts."""
    shares: pd.DataFrame
    """:func:`segment_migration` row shares."""


def migration_from_transactions(
    transactions: pd.DataFrame,
    *,
    first_end: object,
    second_end: object,
    n_bins: int = 5,
    monetary: str | None = "total_spend",
    rules: pd.DataFrame | None = None,
    refit_bins: bool = False,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    time_unit: Literal["D", "W", "M", "Q", "Y"] = "D",
    merge_period: str = "D",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
    warn: bool = True,
) -> SegmentMigration:
    """Segments at two cut-offs of one transaction log, and the migration between them.

    Each snapshot summarises every purchase up to its cut-off (inclusive) with
    :func:`~retention_kit.data.rfm_segmentation_summary`; later purchases are ignored.
    The scores of the second snapshot use the bins fitted on the first (unless
    ``refit_bins``), so "R = 5" means the same recency in both and a move between
    segments is a change of behaviour, not of the customer base. Customers whose first
    purchase falls between the cut-offs form the "(new customer)" row; customers who
    bought nothing in between stay in the matrix and usually slide to lower recency
    segments (``counts.attrs["n_without_purchase_between"]`` counts them).

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase.
    first_end, second_end : date-like
        The two cut-offs, ``first_end < second_end``.
    n_bins, monetary, rules, warn
        As in :func:`rfm_segments`.
    refit_bins : bool, default False
        Fit new bins on the second snapshot (scores relative to each period's base).
    customer_col, date_col, amount_col, time_unit, merge_period, duplicates
        As in :func:`~retention_kit.data.rfm_segmentation_summary`. ``amount_col=None``
        forces ``monetary=None``.

    Returns
    -------
    SegmentMigration
        ``before``, ``after``, ``counts`` and ``shares``.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_transactions
    >>> log = load_cdnow_transactions(sample=True)
    >>> mig = migration_from_transactions(log, first_end="1997-12-31",
    ...                                   second_end="1998-06-30", duplicates="keep",
    ...                                   warn=False)
    >>> int(mig.counts.loc["Champions"].sum()), int(mig.counts.loc["Champions", "Champions"])
    (377, 188)
    >>> mig.counts.attrs["n_new"]  # CDNOW is a closed cohort: nobody joins later
    0
    """
    first = pd.Timestamp(first_end)
    second = pd.Timestamp(second_end)
    if not first < second:
        raise DataError(f"first_end {first.date()} is not before second_end {second.date()}",
                        fix="pass the earlier cut-off as first_end")
    if amount_col is None:
        monetary = None
    kwargs: dict[str, Any] = {"customer_col": customer_col, "date_col": date_col,
                              "amount_col": amount_col, "time_unit": time_unit,
                              "merge_period": merge_period, "after_end": "drop",
                              "duplicates": duplicates}
    s1 = rfm_segmentation_summary(transactions, observation_end=first, **kwargs)
    s2 = rfm_segmentation_summary(transactions, observation_end=second, **kwargs)
    before = rfm_segments(s1, n_bins=n_bins, monetary=monetary, rules=rules, warn=warn)
    after = rfm_segments(s2, n_bins=n_bins, monetary=monetary, rules=rules, warn=warn,
                         bins=None if refit_bins else before.attrs["bins"])
    counts = segment_migration(before, after)
    shares = segment_migration(before, after, normalize=True)
    both = before.index.intersection(after.index)
    idle = int((after.loc[both, "purchases"].to_numpy()
                == before.loc[both, "purchases"].to_numpy()).sum())
    for table in (counts, shares):
        table.attrs.update(first_end=str(first.date()), second_end=str(second.date()),
                           n_without_purchase_between=idle)
    return SegmentMigration(before=before, after=after, counts=counts, shares=shares)
