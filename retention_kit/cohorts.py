"""Acquisition cohorts, retention curves and customer survival.

Three views of the same question, "how long do customers stay?":

* :func:`cohort_table`: customers grouped by the calendar period of their first
  purchase (the *acquisition cohort*), one column per period since acquisition;
  cells are the share (or number) of a cohort active in that period, or revenue.
  Cells a cohort has not reached by the observation end are missing (NaN), never 0.
* :func:`retention_curve`: the average of a cohort table across cohorts, weighted
  by cohort size, using for each period only the cohorts that reached it.
* :func:`survival`: Kaplan-Meier survival of customers with right-censoring
  (customers still active at the end of observation are censored, not churned),
  with log-rank tests and restricted mean survival time between groups.
  :func:`churn_durations` derives its input (duration, churned) from a
  subscription table or from a transaction log with an inactivity rule.

lifelines is imported inside the survival functions, so ``import
retention_kit.cohorts`` stays light. No function here modifies its input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import engines
from ._checks import (
    choice,
    critical_z,
    entry_times,
    first_example,
    flag,
    nonnegative_columns,
    require_columns,
)
from .data import prepare_transactions
from .errors import DataError
from .units import check_time_unit, elapsed, to_naive_timestamp

__all__ = [
    "CohortMode",
    "SurvivalResult",
    "churn_durations",
    "cohort_sizes",
    "cohort_table",
    "durations_to_renewals",
    "retention_curve",
    "survival",
]

CohortMode = Literal["exact", "on_or_after", "rolling"]
_MODES = ("exact", "on_or_after", "rolling")
_VALUES = ("customers", "revenue")
_PERIOD_RE = re.compile(r"^(?:D|M|(?:W|Q|Y)(?:-[A-Z]{3})?)$")


# --------------------------------------------------------------------------- cohort tables


def _check_period(period: str) -> None:
    ok = isinstance(period, str) and _PERIOD_RE.match(period) is not None
    if ok:
        try:
            pd.Period("2000-01-01", freq=period)
        except (ValueError, TypeError):
            ok = False
    if not ok:
        raise DataError(
            f"period={period!r} is not a supported period",
            fix="use 'D' (days), 'W' (weeks ending Sunday; 'W-MON' etc. for another end), "
            "'M' (calendar months), 'Q' or 'Y' (optionally anchored: 'Q-JUN', 'Y-MAR')")


def cohort_table(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    period: str = "M",
    mode: CohortMode = "exact",
    window: int | None = None,
    values: Literal["customers", "revenue"] = "customers",
    relative: bool = True,
    observation_end: object = None,
    include_partial: bool = False,
    after_end: Literal["raise", "drop"] = "raise",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
    customers_since: object = None,
) -> pd.DataFrame:
    r"""Acquisition-cohort table: activity by cohort and periods since acquisition.

    A customer's *cohort* is the calendar period (a pandas Period of ``period``)
    of their first purchase; *period k* of a cohort is the calendar period k
    periods after it (period 0 is the acquisition period itself, so every
    customer is active in it). With :math:`C_c` the customers of cohort c,
    :math:`n_c = |C_c|` its size and :math:`A_i` the set of periods (since
    acquisition) in which customer i purchased, the cell (c, k) for
    ``values="customers"`` counts

    * ``mode="exact"``: :math:`|\{i \in C_c : k \in A_i\}|`, customers who
      purchased *in* period k;
    * ``mode="on_or_after"``: :math:`|\{i \in C_c : \max A_i \ge k\}|`,
      customers who purchased in period k *or any later period* observed;
    * ``mode="rolling"`` with ``window=w``: for k >= 1,
      :math:`|\{i \in C_c : A_i \cap [\max(1, k-w+1), k] \ne \emptyset\}|`,
      customers who purchased in at least one of the last w periods up to k
      (the acquisition period 0 is never part of the window); period 0 is
      :math:`n_c`. ``window=1`` is ``mode="exact"``.

    ``relative=True`` divides each row by :math:`n_c` (a share).
    ``values="revenue"`` sums the purchase amounts instead of counting customers
    (modes "exact" and "rolling" only); ``relative=True`` then divides by the
    cohort size, giving *revenue per acquired customer*, a quantity that adds
    up over periods (``table.cumsum(axis=1)`` is cumulative revenue per
    customer). Revenue relative to the acquisition period's revenue (an
    "NRR-style" ratio) is ``table.div(table[0], axis=0)``; it is not the
    default because period 0 contains the first order, which is not a repeat.

    **Unreached cells are missing.** Cohort c reaches period k only if the
    period c + k is observed; all later cells are NaN, never 0 (a 0 means
    "observed and nobody bought"). A period in which ``observation_end`` falls
    is *partly* observed: by default (``include_partial=False``) it counts as
    not reached, and purchases in it are ignored, so the table describes the
    log up to the end of the last complete period; customers acquired in the
    partial period are left out (their number is in
    ``attrs["n_customers_partial"]``). ``include_partial=True`` keeps the
    partial period, whose cells are then biased low (part of the period is
    missing) and whose cohort's size is incomplete.

    **Left truncation.** A log that starts after the business did cuts through an
    existing customer base: its first periods' "new" customers include old ones,
    who were seen first only because the log begins there. They buy more often
    than truly new customers (they survived their early churn), so the early
    cohorts are too large and their later cells too high, and the average curve
    can *rise* with periods since acquisition.
    ``customers_since`` leaves out every customer first seen before that date
    (and all of their purchases); the table says so in ``attrs["note"]``.
    :func:`retention_kit.diagnostics.left_truncation` detects the problem and
    suggests the date. Pass the start of a period: a date inside one leaves
    that period's cohort partial.

    **Vendor vocabulary.** Amplitude's *N-day retention* and Mixpanel's *"On"*
    retention (formerly "N-day") count users active exactly in interval N:
    ``mode="exact"``. Amplitude's *unbounded retention* and Mixpanel's *"On or
    After"* retention (formerly "unbounded", Mixpanel's default) count users
    active in interval N or any later one: ``mode="on_or_after"``. *Bracket*
    retention (Amplitude; Mixpanel's "custom brackets") counts users active at
    least once inside a bracket of several intervals; for equal brackets of w
    periods starting at period 1 it is ``mode="rolling", window=w`` read at the
    columns w, 2w, 3w, ... (uneven brackets are not provided). Two differences
    remain. (1) Here periods are *calendar* periods, as in Amplitude's "strict
    calendar dates" and Mixpanel's "calendar interval" mode; both vendors
    default to intervals measured from each user's own start time (Amplitude:
    24-hour days, 7-day weeks, 30-day months; Mixpanel: e.g. month 1 = 30 to 60
    days after "birth"), which this function does not compute. (2) We could not
    pin down from the vendors' public documentation exactly how they treat an
    interval that is still in progress, so do not expect identical numbers for
    the newest cohorts. Cohorts are defined by the first purchase, as in
    Mixpanel's "first time" (``retention_type=birth``) retention, not
    "recurring". Beware the word "rolling": Mixpanel calls its default
    per-user intervals "rolling", and some writers say "rolling retention" for
    unbounded (on-or-after) retention; here it means a trailing window of w
    calendar periods.

    On-or-after values use all purchases up to the observation end, so they
    are lower bounds on "ever returns at or after k" and, for a cohort's last
    reached period, equal the exact value.

    Parameters
    ----------
    transactions : DataFrame, path, ibis.Table or pyspark.sql.DataFrame
        One row per purchase; validated by
        :func:`retention_kit.data.prepare_transactions` and not modified. Paths
        to Parquet or CSV files, Ibis tables and Spark DataFrames are counted by
        their engine (see :mod:`retention_kit.engines`).
    customer_col, date_col, amount_col : str
        Column names; ``amount_col`` is needed for ``values="revenue"``.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period of cohorts and of the columns ("W-MON", "Q-JUN",
        "Y-MAR"... anchor weeks, quarters and years differently).
    mode : {"exact", "on_or_after", "rolling"}, default "exact"
        Which customers count in period k, see above.
    window : int, optional
        Window length in periods for ``mode="rolling"`` (required there, not
        allowed otherwise).
    values : {"customers", "revenue"}, default "customers"
        Count distinct active customers, or sum revenue (needs ``amount_col``).
    relative : bool, default True
        Divide by the cohort size (share of customers, or revenue per acquired
        customer).
    observation_end : date-like, optional
        Last observed day (inclusive); defaults to the last purchase date.
    include_partial : bool, default False
        Treat the period containing ``observation_end``, if it is not complete,
        as reached.
    after_end, duplicates
        Passed to :func:`retention_kit.data.prepare_transactions`.
    customers_since : date-like, optional
        Keep only customers whose first purchase in the log is on or after this
        date (see *Left truncation*); pandas input only.

    Returns
    -------
    DataFrame
        Index: the cohorts (a PeriodIndex named ``cohort``; a period in which
        nobody was acquired has no row); columns: 0, 1, 2, ...
        periods since acquisition (named ``period``); float values, NaN where
        not reached. ``attrs`` holds ``kind="cohort_table"``, the options,
        ``observation_end``, ``last_period`` (the last period counted as
        reached), ``n_customers_partial`` and ``cohort_size`` (a dict cohort ->
        number of customers; :func:`cohort_sizes` returns it as a Series).
        With ``customers_since``: ``customers_since`` (the date),
        ``n_customers_excluded`` and ``note`` (a sentence saying who was left out).

    Raises
    ------
    DataError
        Invalid transactions (see ``prepare_transactions``), unknown ``period``,
        ``mode`` or ``values``, revenue without ``amount_col``, revenue with
        ``mode="on_or_after"``, a missing or invalid ``window``, or no complete
        period observed.

    Examples
    --------
    Customers a, b, c are acquired in January, d in February, e in March; a
    comes back in February, b and d in March:

    >>> log = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "a", "d", "b", "d", "e"],
    ...     "date": ["2024-01-03", "2024-01-10", "2024-01-20", "2024-02-05",
    ...              "2024-02-07", "2024-03-01", "2024-03-09", "2024-03-30"]})
    >>> t = cohort_table(log, observation_end="2024-03-31")
    >>> t.round(3)
    period     0      1      2
    cohort
    2024-01  1.0  0.333  0.333
    2024-02  1.0  1.000    NaN
    2024-03  1.0    NaN    NaN
    >>> cohort_sizes(t).tolist()
    [3, 1, 1]
    >>> cohort_table(log, mode="on_or_after", relative=False,
    ...              observation_end="2024-03-31").loc["2024-01"].tolist()
    [3.0, 2.0, 1.0]

    Without customer e, the log (and by default the observation) ends on
    9 March: March is incomplete, so it counts as not reached.

    >>> cohort_table(log.iloc[:7]).round(3)
    period     0      1
    cohort
    2024-01  1.0  0.333
    2024-02  1.0    NaN
    >>> cohort_table(log.iloc[:7], include_partial=True).round(3)
    period     0      1      2
    cohort
    2024-01  1.0  0.333  0.333
    2024-02  1.0  1.000    NaN
    """
    choice("mode", mode, _MODES)
    choice("values", values, _VALUES)
    _check_period(period)
    relative = flag("relative", relative)
    if mode == "rolling":
        if window is None or isinstance(window, bool) or not isinstance(
                window, int | np.integer) or window < 1:
            raise DataError(f"mode='rolling' needs a window of at least 1 period, got {window!r}",
                            fix="pass window=3 (for example) to count customers active in any "
                            "of the last 3 periods")
        window = int(window)
    elif window is not None:
        raise DataError(f"window={window!r} only applies to mode='rolling'",
                        fix="drop window, or pass mode='rolling'")
    if values == "revenue":
        if amount_col is None:
            raise DataError("values='revenue' needs the spend column",
                            fix="pass amount_col='amount' (the name of the spend column)")
        if mode == "on_or_after":
            raise DataError(
                "values='revenue' is not defined for mode='on_or_after' (revenue in period k "
                "'or any later period' grows with the length of follow-up)",
                fix="use mode='exact' (and table.cumsum(axis=1) for cumulative revenue per "
                "customer) or mode='rolling'")

    if engines.is_engine_input(transactions):
        if customers_since is not None:
            raise DataError(
                "customers_since is not supported yet for a file, SQL or Spark input",
                fix="load the log with pandas first, or filter out customers first seen "
                "before the date in the query")
        return engines.cohort_table(
            transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
            period=period, mode=mode, window=window, values=values, relative=relative,
            observation_end=observation_end, include_partial=include_partial,
            after_end=after_end, duplicates=duplicates)
    clean, end = prepare_transactions(
        transactions, customer_col=customer_col, date_col=date_col,
        amount_col=amount_col if values == "revenue" else None,
        observation_end=observation_end, after_end=after_end, duplicates=duplicates)
    since, n_excluded = None, 0
    if customers_since is not None:
        clean, since, n_excluded = _customers_since(clean, customers_since)

    ordinal = pd.PeriodIndex(clean["date"].dt.to_period(period)).asi8
    end_period = pd.Period(end, freq=period)
    complete = end.normalize() >= end_period.end_time.normalize()
    last = int(end_period.ordinal) if (complete or include_partial) else int(end_period.ordinal) - 1

    first = pd.Series(ordinal).groupby(clean["customer"].to_numpy()).transform("min").to_numpy()
    keep_customer = first <= last
    n_partial = int(clean.loc[~keep_customer, "customer"].nunique())
    keep = keep_customer & (ordinal <= last)
    if not keep.any():
        raise DataError(
            f"no complete {period!r} period is observed (the log ends {end.date()}, inside "
            f"{end_period})",
            n_rows=len(clean),
            fix="pass include_partial=True, a finer period, or a later observation_end")
    act = pd.DataFrame({"customer": clean["customer"].to_numpy()[keep],
                        "cohort": first[keep], "k": (ordinal - first)[keep]})
    if values == "revenue":
        act["amount"] = clean["amount"].to_numpy()[keep]

    cohorts = np.sort(act["cohort"].unique())
    n_k = last - int(cohorts[0]) + 1
    sizes = act.groupby("cohort")["customer"].nunique().reindex(cohorts)
    grid = _cohort_counts(act, mode=mode, window=window, values=values, cohorts=cohorts, n_k=n_k)
    reached = cohorts[:, None] + np.arange(n_k)[None, :] <= last
    grid = np.where(reached, grid, np.nan)
    if relative:
        grid = grid / sizes.to_numpy(dtype=float)[:, None]

    index = pd.PeriodIndex.from_ordinals(cohorts, freq=period)
    index.name = "cohort"
    table = pd.DataFrame(grid, index=index,
                         columns=pd.RangeIndex(n_k, name="period"))
    table.attrs.update(
        kind="cohort_table", mode=mode, window=window, values=values, relative=bool(relative),
        period=period, include_partial=bool(include_partial),
        observation_end=str(end.date()),
        last_period=str(pd.Period(ordinal=last, freq=end_period.freq)),
        n_customers_partial=n_partial,
        cohort_size={p: int(n) for p, n in zip(index, sizes.to_numpy(), strict=True)},
    )
    if since is not None:
        table.attrs.update(customers_since=str(since.date()), n_customers_excluded=n_excluded,
                           note=_since_note(since, n_excluded))
    return table


def _customers_since(clean: pd.DataFrame, customers_since: object,
                     ) -> tuple[pd.DataFrame, pd.Timestamp, int]:
    """The log without customers first seen before ``customers_since``; the date; how many."""
    since = to_naive_timestamp(customers_since, "customers_since").normalize()
    first = clean.groupby("customer")["date"].transform("min")
    old = first < since
    n_excluded = int(clean.loc[old, "customer"].nunique())
    if old.all():
        raise DataError(
            f"every customer was first seen before customers_since={since.date()}",
            n_rows=len(clean), fix="pass an earlier customers_since, inside the log")
    return clean.loc[~old], since, n_excluded


def _since_note(since: pd.Timestamp, n_excluded: int) -> str:
    return (f"Only customers first seen on or after {since.date()}: {n_excluded:,} customers "
            "first seen earlier are left out, because a log that starts after the business "
            "did shows old customers as new in its first periods.")


def _cohort_counts(act: pd.DataFrame, *, mode: str, window: int | None, values: str,
                   cohorts: np.ndarray, n_k: int) -> np.ndarray:
    """Cohort x period grid of counts (or revenue) before masking unreached cells."""
    row = pd.Index(cohorts)

    def to_grid(series: pd.Series) -> np.ndarray:
        out = np.zeros((len(cohorts), n_k))
        if len(series):
            idx = series.index
            out[row.get_indexer(idx.get_level_values(0)),
                idx.get_level_values(1).to_numpy(dtype=np.int64)] = series.to_numpy(dtype=float)
        return out

    if values == "revenue":
        grid = to_grid(act.groupby(["cohort", "k"])["amount"].sum())
        if mode == "rolling":
            later = pd.DataFrame(grid[:, 1:]).T.rolling(window, min_periods=1).sum().T
            grid[:, 1:] = later.to_numpy()
        return grid

    pairs = act[["customer", "cohort", "k"]].drop_duplicates()
    if mode == "exact":
        return to_grid(pairs.groupby(["cohort", "k"]).size())
    if mode == "on_or_after":
        kmax = pairs.groupby("customer").agg(cohort=("cohort", "first"), k=("k", "max"))
        hist = to_grid(kmax.groupby(["cohort", "k"]).size())
        return hist[:, ::-1].cumsum(axis=1)[:, ::-1]
    # rolling: customer i counts in k >= 1 if active in one of max(1, k-w+1) .. k
    repeat = pairs.loc[pairs["k"] >= 1]
    shifted = pd.concat([repeat.assign(k=repeat["k"] + j) for j in range(window)])
    shifted = shifted.loc[shifted["k"] < n_k].drop_duplicates()
    grid = to_grid(shifted.groupby(["cohort", "k"]).size())
    grid[:, 0] = to_grid(pairs.loc[pairs["k"] == 0].groupby(["cohort", "k"]).size())[:, 0]
    return grid


def cohort_sizes(table: pd.DataFrame) -> pd.Series:
    """Number of customers acquired in each cohort of a :func:`cohort_table`.

    Returns
    -------
    Series
        Indexed like ``table`` (cohorts), named ``cohort_size``, int.

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": [1, 2, 1],
    ...                     "date": ["2024-01-02", "2024-01-09", "2024-02-01"]})
    >>> cohort_sizes(cohort_table(log, observation_end="2024-02-29")).to_dict()
    {Period('2024-01', 'M'): 2}
    """
    return _sizes_from_attrs(table)


def _sizes_from_attrs(table: pd.DataFrame) -> pd.Series:
    sizes = table.attrs.get("cohort_size") if isinstance(table, pd.DataFrame) else None
    if sizes is None:
        raise DataError("this table has no cohort sizes (attrs['cohort_size'])",
                        fix="build it with cohort_table(), or pass cohort_sizes= explicitly")
    missing = [c for c in table.index if c not in sizes]
    if missing:
        raise DataError("attrs['cohort_size'] has no size for some cohorts of the table",
                        n_rows=len(missing), example=str(missing[0]),
                        fix="rebuild the table with cohort_table(), or pass cohort_sizes=")
    return pd.Series([sizes[c] for c in table.index], index=table.index, name="cohort_size",
                     dtype="int64")


def retention_curve(
    table_or_transactions: pd.DataFrame,
    *,
    cohort_sizes: pd.Series | None = None,
    **cohort_options: Any,
) -> pd.DataFrame:
    r"""Average retention curve across cohorts, weighted by cohort size.

    For period k, only the cohorts that have reached k (non-missing cells) are
    averaged, each weighted by its size :math:`n_c`:

    .. math:: \bar r_k = \frac{\sum_{c \in R_k} n_c\, r_{ck}}{\sum_{c \in R_k} n_c},
              \qquad R_k = \{c : r_{ck} \text{ observed}\}

    with :math:`r_{ck}` the cell of a relative table (for a table of counts,
    :math:`n_c r_{ck}` is the count itself). The denominator is the number of
    customers *at risk* in period k (acquired in cohorts old enough to be
    observed in k). Treating unreached cells as 0 would pull the curve down
    for every period the newest cohorts have not reached yet; averaging
    unweighted would let a cohort of 10 customers count as much as one of
    10,000. Note that later periods are averaged over fewer, older cohorts:
    when cohorts differ, the shape of the curve mixes time and composition.

    Parameters
    ----------
    table_or_transactions : DataFrame
        A :func:`cohort_table`, or a transaction log, which is first turned into
        one with ``cohort_options`` (the keyword arguments of
        :func:`cohort_table`). A table without ``attrs`` (built by hand) is
        accepted with ``cohort_sizes`` and must then hold shares
        (``relative=True``).
    cohort_sizes : Series, optional
        Customers per cohort, indexed like the table; defaults to the table's
        ``attrs["cohort_size"]``.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (0, 1, ...), with columns ``retention`` (share;
        ``revenue_per_customer`` for revenue tables), ``retained`` (customers
        counted; ``revenue`` for revenue tables), ``at_risk`` (customers in
        the cohorts that reached the period) and ``n_cohorts``.
        ``attrs["kind"]`` is ``"retention_curve"``; a table built with
        ``customers_since`` passes on its ``customers_since``,
        ``n_customers_excluded`` and ``note``.

    Examples
    --------
    Cohort sizes 3, 1 and 1; the third cohort has not reached period 1:

    >>> table = pd.DataFrame({0: [1.0, 1.0, 1.0], 1: [1 / 3, 1.0, np.nan]},
    ...                      index=["jan", "feb", "mar"])
    >>> sizes = pd.Series([3, 1, 1], index=table.index)
    >>> retention_curve(table, cohort_sizes=sizes).round(3)
            retention  retained  at_risk  n_cohorts
    period
    0             1.0       5.0        5          3
    1             0.5       2.0        4          2

    Counting the March cohort's missing cell as 0 would give 2 / 5 = 0.4.
    """
    data = table_or_transactions
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a cohort table or a transaction log (DataFrame), got "
                        f"{type(data).__name__}", fix="pass the output of cohort_table()")
    is_table = data.attrs.get("kind") == "cohort_table" or cohort_sizes is not None
    if not is_table:
        data = cohort_table(data, **cohort_options)
    elif cohort_options:
        raise DataError(
            f"options {sorted(cohort_options)} apply only when a transaction log is passed",
            fix="pass them to cohort_table() when building the table")
    if len(data) == 0 or data.shape[1] == 0:
        raise DataError("the cohort table is empty", n_rows=0,
                        fix="check the filter that produced it")
    if cohort_sizes is None:
        sizes = _sizes_from_attrs(data)
        relative = bool(data.attrs.get("relative", True))
    else:
        sizes = pd.Series(cohort_sizes)
        if not sizes.index.equals(data.index):
            missing = data.index.difference(sizes.index)
            if len(missing):
                raise DataError("cohort_sizes has no size for some cohorts of the table",
                                n_rows=len(missing), example=str(missing[0]),
                                fix="index cohort_sizes like the table's rows")
            sizes = sizes.reindex(data.index)
        relative = bool(data.attrs.get("relative", True))
    n = pd.to_numeric(sizes, errors="coerce").to_numpy(dtype=float)
    if np.isnan(n).any() or (n < 0).any():
        raise DataError("cohort sizes must be non-negative numbers",
                        n_rows=int((np.isnan(n) | (n < 0)).sum()),
                        fix="pass the number of customers acquired in each cohort")
    values = np.asarray(data.to_numpy(dtype=float))
    observed = ~np.isnan(values)
    amounts = values * n[:, None] if relative else values
    retained = np.where(observed, amounts, 0.0).sum(axis=0)
    at_risk = np.where(observed, n[:, None], 0.0).sum(axis=0)
    n_cohorts = observed.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = retained / at_risk
    revenue = data.attrs.get("values") == "revenue"
    names = ("revenue_per_customer", "revenue") if revenue else ("retention", "retained")
    out = pd.DataFrame({names[0]: share, names[1]: retained,
                        "at_risk": at_risk.astype("int64"), "n_cohorts": n_cohorts},
                       index=pd.Index(data.columns, name="period"))
    out = out.loc[out["n_cohorts"] > 0]
    out.attrs.update(kind="retention_curve", values=data.attrs.get("values", "customers"),
                     mode=data.attrs.get("mode"), period=data.attrs.get("period"))
    for key in ("customers_since", "n_customers_excluded", "note"):
        if key in data.attrs:
            out.attrs[key] = data.attrs[key]
    return out


# --------------------------------------------------------------------------- survival


def churn_durations(
    data: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    inactivity: float | pd.Timedelta | None = None,
    date_col: str = "date",
    month_col: str = "month",
    mrr_col: str = "mrr",
    observation_end: object = None,
    time_unit: str | None = None,
    churn_time: Literal["last_purchase", "declared"] = "last_purchase",
    after_end: Literal["raise", "drop"] = "raise",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
) -> pd.DataFrame:
    """Per-customer (duration, churned) for :func:`survival`.

    Two sources:

    **Subscriptions** (``inactivity`` not given): one row per customer and
    paid month with columns ``customer_col``, ``month_col`` and ``mrr_col``
    (monthly recurring revenue; rows with 0 are unpaid months; several rows of
    a customer in one month are added up). A customer's lifetime runs from the
    first to the last paid month; gaps in between are ignored (a paused and
    resumed subscription is one lifetime). ``churned`` is True when the last
    paid month is before the last observed month (the month of
    ``observation_end``, by default the last month in the table);
    ``duration`` is the number of months from the first paid month to the last
    paid month (churned) or to the last observed month (censored), both
    included. So a customer who paid January to March and not April has
    duration 3 and churned; one who started in the last observed month has
    duration 1, censored. Customers with no paid month are left out
    (``attrs["n_never_paid"]``).

    **Transactions** (``inactivity`` in days): a customer has churned when no
    purchase followed the last one for at least ``inactivity`` days up to the
    observation end (days since the last purchase >= ``inactivity``); the
    others are censored. Gaps before the last purchase are ignored, so a
    customer who lapsed and came back counts as one lifetime. The time of
    churn is set by ``churn_time``:

    * ``"last_purchase"`` (default): churn happens at the last purchase, so
      ``duration`` is the time from first to last purchase for everyone; a
      censored customer is known to have been a customer up to the last
      purchase, not beyond (censoring them at the observation end would
      overstate survival, since they may never buy again).
    * ``"declared"``: churn happens when it becomes visible, ``inactivity``
      days after the last purchase; censored customers are then observed up
      to the observation end.

    Parameters
    ----------
    data : DataFrame
        A subscription table or a transaction log; not modified.
    customer_col : str, default "customer_id"
    inactivity : float or Timedelta, optional
        Days without a purchase that define churn; switches to the
        transaction-log source.
    date_col : str, default "date"
        Purchase date column (transactions).
    month_col, mrr_col : str, default "month", "mrr"
        Month (a date, "2024-01" string or monthly Period) and recurring
        revenue columns (subscriptions).
    observation_end : date-like, optional
        Last observed day (inclusive); defaults to the last date in the data.
    time_unit : {"D", "W", "M", "Q", "Y"}, optional
        Unit of ``duration``: transactions default to "D" (see
        :data:`retention_kit.data.TIME_UNITS`); subscriptions are always "M".
    churn_time : {"last_purchase", "declared"}, default "last_purchase"
        Transactions only, see above.
    after_end, duplicates
        Passed to :func:`retention_kit.data.prepare_transactions`.

    Returns
    -------
    DataFrame
        Indexed by customer id with ``start`` (first purchase date or first
        paid month's first day), ``duration`` (float, in ``time_unit``) and
        ``churned`` (bool; False = censored). ``attrs`` records
        ``kind="churn_durations"``, ``source``, ``time_unit`` and
        ``observation_end``.

    Examples
    --------
    >>> subs = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2, 2, 2, 2, 3],
    ...     "month": ["2024-01", "2024-02", "2024-03", "2024-02", "2024-03",
    ...               "2024-04", "2024-05", "2024-05"],
    ...     "mrr": [10, 10, 10, 20, 20, 20, 20, 5]})
    >>> churn_durations(subs)[["duration", "churned"]]
                 duration  churned
    customer_id
    1                 3.0     True
    2                 4.0    False
    3                 1.0    False

    >>> log = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...                     "date": ["2024-01-01", "2024-01-31", "2024-02-01", "2024-06-01"]})
    >>> churn_durations(log, inactivity=90, observation_end="2024-06-30")[["duration", "churned"]]
                 duration  churned
    customer_id
    a                30.0     True
    b                 0.0     True
    c                 0.0    False
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a DataFrame, got {type(data).__name__}",
                        fix="pass a subscription table or a transaction log")
    choice("churn_time", churn_time, ("last_purchase", "declared"))
    if inactivity is None:
        if date_col in data.columns and mrr_col not in data.columns:
            raise DataError(
                f"this looks like a transaction log (it has {date_col!r} but no {mrr_col!r})",
                n_rows=len(data),
                fix="pass inactivity=<days> to define churn as that many days without a "
                "purchase, or pass a subscription table with month and mrr columns")
        if churn_time != "last_purchase":
            raise DataError("churn_time applies to transaction logs (with inactivity) only",
                            fix="drop churn_time for a subscription table")
        return _subscription_durations(data, customer_col=customer_col, month_col=month_col,
                                       mrr_col=mrr_col, observation_end=observation_end,
                                       time_unit=time_unit, after_end=after_end,
                                       duplicates=duplicates)

    days = _inactivity_days(inactivity)
    unit = "D" if time_unit is None else time_unit
    check_time_unit(unit)
    clean, end = prepare_transactions(
        data, customer_col=customer_col, date_col=date_col, observation_end=observation_end,
        after_end=after_end, duplicates=duplicates)
    grouped = clean.assign(date=clean["date"].dt.normalize()).groupby("customer", sort=True)
    first, last = grouped["date"].min(), grouped["date"].max()
    end_day = end.normalize()
    since_last = (end_day - last) / pd.Timedelta(days=1)
    churned = (since_last >= days).to_numpy()
    if churn_time == "last_purchase":
        duration = elapsed(last, first, unit)
    else:
        declared = last + pd.Timedelta(days=days)
        stop = pd.Series(np.where(churned, declared, end_day), index=last.index)
        duration = elapsed(stop.astype("datetime64[ns]"), first, unit)
    out = pd.DataFrame({"start": first, "duration": duration, "churned": churned},
                       index=first.index)
    out.index.name = customer_col
    out.attrs.update(kind="churn_durations", source="transactions", time_unit=unit,
                     observation_end=str(end.date()), inactivity_days=days,
                     churn_time=churn_time)
    return out


def _inactivity_days(inactivity: object) -> float:
    if isinstance(inactivity, pd.Timedelta | np.timedelta64) or hasattr(inactivity, "days"):
        days = pd.Timedelta(inactivity) / pd.Timedelta(days=1)
    elif isinstance(inactivity, int | float | np.integer | np.floating) and not isinstance(
            inactivity, bool):
        days = float(inactivity)
    else:
        raise DataError(f"inactivity={inactivity!r} is not a number of days",
                        fix="pass inactivity=90 (days) or pd.Timedelta(days=90)")
    if not math.isfinite(days) or days <= 0:
        raise DataError(f"inactivity must be a positive number of days, got {inactivity!r}",
                        fix="pass for example inactivity=90")
    return days


def _subscription_durations(data: pd.DataFrame, *, customer_col: str, month_col: str,
                            mrr_col: str, observation_end: object, time_unit: str | None,
                            after_end: str, duplicates: str) -> pd.DataFrame:
    if time_unit not in (None, "M"):
        raise DataError(f"subscription durations are counted in months, not {time_unit!r}",
                        fix="drop time_unit (or pass 'M') for a subscription table")
    require_columns(data, {customer_col: "customer_col (customer id)",
                            month_col: "month_col (billing month)",
                            mrr_col: "mrr_col (monthly recurring revenue)"},
                     what="the subscription table")
    frame = data
    if isinstance(data[month_col].dtype, pd.PeriodDtype):
        frame = data.assign(**{month_col: data[month_col].dt.to_timestamp()})
    if observation_end is not None and isinstance(observation_end, pd.Period):
        observation_end = observation_end.end_time.normalize()
    clean, end = prepare_transactions(
        frame, customer_col=customer_col, date_col=month_col, amount_col=mrr_col,
        observation_end=observation_end, after_end=after_end, duplicates=duplicates)
    month = pd.PeriodIndex(clean["date"].dt.to_period("M")).asi8
    end_month = int(pd.Period(end, freq="M").ordinal)
    paid = clean.assign(month=month).groupby(["customer", "month"], sort=True)["amount"].sum()
    paid = paid.loc[paid > 0].reset_index()
    n_never = int(clean["customer"].nunique() - paid["customer"].nunique())
    if paid.empty:
        raise DataError(f"no customer has a paid month (all {mrr_col!r} are 0)",
                        n_rows=len(clean), fix="check the mrr column")
    grouped = paid.groupby("customer", sort=True)["month"]
    first, last = grouped.min(), grouped.max()
    churned = (last < end_month).to_numpy()
    duration = np.where(churned, last - first + 1, end_month - first + 1).astype(float)
    start = pd.PeriodIndex.from_ordinals(first.to_numpy(), freq="M").to_timestamp()
    out = pd.DataFrame({"start": start, "duration": duration, "churned": churned},
                       index=first.index)
    out.index.name = customer_col
    out.attrs.update(kind="churn_durations", source="subscriptions", time_unit="M",
                     observation_end=str(pd.Period(end, freq="M")), n_never_paid=n_never)
    return out


@dataclass(repr=False)
class SurvivalResult:
    """Kaplan-Meier survival of customers, by group, from :func:`survival`.

    Attributes
    ----------
    table : DataFrame
        Long format, one row per group and time on the KM timeline (0 and
        every observed duration): ``group``, ``time``, ``survival`` (share
        still customers after ``time``), ``ci_lower``, ``ci_upper``
        (pointwise, log(-log) "exponential Greenwood" interval), ``at_risk``
        (customers with duration >= time and, with delayed entry, entry < time),
        ``churned`` and ``censored`` (at that time). Ungrouped data have the single group ``"all"``.
    summary : DataFrame
        One row per group: ``n_customers``, ``n_churned``, ``median`` (first
        time survival is <= 0.5; ``inf`` if it never drops that low) and, with
        a horizon, ``rmst`` and ``rmst_se``.
    group_col : str or None
    time_unit : str or None
        Unit of the durations, when known.
    alpha : float
        1 - confidence level of the intervals.
    logrank_statistic, logrank_p_value : float or None
        Log-rank test that all groups share one survival curve (chi-squared
        with ``logrank_df`` degrees of freedom); None without groups.
    logrank_df : int or None
    rmst_horizon : float or None
        Upper limit tau of the restricted mean survival time.
    reference_group : object or None
        Group the RMST differences are taken against (the first group).
    rmst_difference : DataFrame or None
        Per other group: ``difference`` (RMST of the group minus the
        reference's), ``se``, ``ci_lower``, ``ci_upper`` and ``p_value``
        (normal approximation, groups independent).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    group_col: str | None = None
    time_unit: str | None = None
    alpha: float = 0.05
    logrank_statistic: float | None = None
    logrank_p_value: float | None = None
    logrank_df: int | None = None
    rmst_horizon: float | None = None
    reference_group: Any = None
    rmst_difference: pd.DataFrame | None = field(default=None)

    @property
    def median(self) -> pd.Series:
        """Median survival time per group (``inf`` when survival stays above 0.5)."""
        return self.summary["median"]

    @property
    def groups(self) -> list:
        """The groups, in the order of :attr:`summary`."""
        return list(self.summary.index)

    def __repr__(self) -> str:
        unit = f" {self.time_unit}" if self.time_unit else ""
        parts = [f"{g!r}: n={int(r.n_customers)}, median={r['median']:g}{unit}"
                 for g, r in self.summary.iterrows()]
        text = f"SurvivalResult({'; '.join(parts)}"
        if self.logrank_p_value is not None:
            text += f"; log-rank p={self.logrank_p_value:.3g}"
        return text + ")"


def _rmst_se(kmf: Any, tau: float) -> float:
    """Standard error of the KM restricted mean up to tau (Klein & Moeschberger, sec. 4.5).

    Var = sum over event times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i)), with A_i
    the area under the KM curve between t_i and tau (as in R's survRM2::rmst1).
    """
    et = kmf.event_table
    sf = kmf.survival_function_.iloc[:, 0]
    times = sf.index.to_numpy(dtype=float)
    inside = times <= tau
    t, s = times[inside], sf.to_numpy()[inside]
    widths = np.diff(np.append(t, tau))
    areas = widths * s  # area of each step [t_j, t_{j+1}) under S
    tail = np.cumsum(areas[::-1])[::-1]  # area from t_j to tau
    d = et["observed"].reindex(t).fillna(0).to_numpy(dtype=float)
    n = et["at_risk"].reindex(t).fillna(0).to_numpy(dtype=float)
    ok = (d > 0) & (n > d)
    # A_i = area from t_i to tau, S taken after the drop at t_i: the tail from step i on
    var = np.sum(tail[ok] ** 2 * d[ok] / (n[ok] * (n[ok] - d[ok])))
    return float(np.sqrt(var))


def _validate_survival(data: pd.DataFrame, duration_col: str, event_col: str,
                       group_col: str | None, entry_col: str | None = None) -> None:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a per-customer DataFrame, got {type(data).__name__}",
                        fix="build one with churn_durations()")
    if len(data) == 0:
        raise DataError("the survival data are empty", n_rows=0,
                        fix="check the filter that produced them")
    needed = {duration_col: "duration_col (time as a customer)",
              event_col: "event_col (True = churned, False = censored)"}
    if group_col is not None:
        needed[group_col] = "group_col (group to compare)"
    if entry_col is not None:
        needed[entry_col] = "entry_col (time from which the customer is observed)"
    require_columns(data, needed, what="the survival data")
    cols = list(needed)
    not_finite = f"durations in column {duration_col!r} are missing or not finite numbers"
    nonnegative_columns(
        data, [duration_col], shown=cols,
        problems={"missing": not_finite, "infinite": not_finite,
                  "negative": f"durations in column {duration_col!r} are negative"},
        negative_fix="a duration is the time from the start to churn or censoring; check that "
        "start and end are not swapped")
    ev = data[event_col]
    is_bool = pd.api.types.is_bool_dtype(ev.dtype)
    if not is_bool or ev.isna().any():
        how = (f"as bool, but its dtype is {ev.dtype}" if not is_bool
               else "with no missing values")
        raise DataError(
            f"column {event_col!r} must hold True (churned) or False (still a customer, "
            f"censored) {how}",
            n_rows=len(data), example=first_example(data, ev.isna() if is_bool else
                                                     np.ones(len(data), bool), cols),
            fix=f"convert it explicitly, e.g. df[{event_col!r}] = df[{event_col!r}] == 1, after "
            "checking which value means churned")
    if group_col is not None:
        miss = data[group_col].isna()
        if miss.any():
            raise DataError(f"group column {group_col!r} has missing values",
                            n_rows=int(miss.sum()), example=first_example(data, miss, cols),
                            fix="fill them with a group label or drop these customers")
    if entry_col is not None:
        entry_times(data, duration_col=duration_col, event_col=event_col, entry_col=entry_col,
                    integer=False)


def survival(
    data: pd.DataFrame,
    *,
    duration_col: str = "duration",
    event_col: str = "churned",
    group_col: str | None = None,
    alpha: float = 0.05,
    rmst_horizon: float | None = None,
    time_unit: str | None = None,
    entry_col: str | None = None,
) -> SurvivalResult:
    r"""Kaplan-Meier survival of customers, with log-rank test and RMST by group.

    The Kaplan-Meier estimate of the share of customers still customers after
    time t is

    .. math:: \hat S(t) = \prod_{t_i \le t} \left(1 - \frac{d_i}{n_i}\right)

    with :math:`d_i` churns at time :math:`t_i` and :math:`n_i` customers at
    risk (duration >= :math:`t_i`). Customers who have not churned
    (``churned=False``) are *right-censored*: they count as at risk up to their
    duration and are never counted as churned, which is what a naive "share
    churned" gets wrong. Intervals are lifelines' pointwise log(-log)
    (exponential Greenwood) intervals. Groups are compared with the log-rank
    test (lifelines ``logrank_test`` for two groups,
    ``multivariate_logrank_test`` for more) and with the restricted mean
    survival time :math:`\mathrm{RMST}(\tau) = \int_0^\tau \hat S(t)\,dt`
    (expected time as a customer within the horizon tau; lifelines
    ``restricted_mean_survival_time``), whose standard error follows Klein &
    Moeschberger (2003, sec. 4.5), as in R's survRM2. (lifelines' own
    ``return_variance`` is the variance of min(T, tau) across customers, not
    the variance of the estimate, so it is not used.)

    Parameters
    ----------
    data : DataFrame
        One row per customer, e.g. from :func:`churn_durations`; not modified.
    duration_col : str, default "duration"
        Time as a customer (non-negative).
    event_col : str, default "churned"
        bool: True = churned at ``duration``, False = still a customer (censored).
    group_col : str, optional
        Column whose groups are compared; every group needs at least two
        customers and there must be at least two groups.
    alpha : float, default 0.05
        1 - confidence level.
    rmst_horizon : float, optional
        tau for the RMST, in the unit of the durations; must not exceed the
        longest duration of any group (the curve is unknown beyond it).
    time_unit : str, optional
        Unit of the durations for labels; defaults to ``data.attrs["time_unit"]``.
    entry_col : str, optional
        Delayed entry (left truncation): the time from which each customer is observed,
        0 <= entry <= duration (< duration for a churner). A customer with entry e is
        known to have been a customer at e, so she is at risk only for churn *after* e:
        :math:`n_i` counts customers with entry < :math:`t_i` <= duration. A snapshot
        table (customers present in a window, whatever their start date) needs it;
        without it the curve is too high, because customers who left before the window
        are missing. With groups the log-rank test is computed on these risk sets.

    Returns
    -------
    SurvivalResult

    Raises
    ------
    DataError
        Not a DataFrame, empty, missing columns, missing/negative durations,
        ``event_col`` not bool, missing group labels, a group with one customer,
        a single group, an ``rmst_horizon`` outside the follow-up, a bad ``alpha``.

    Examples
    --------
    Six customers: churned at 1, 2, 3 and 5; still customers at 2 and 4.
    :math:`\hat S(1) = 5/6`, :math:`\hat S(2) = 5/6 \cdot 4/5`,
    :math:`\hat S(3) = 4/6 \cdot 2/3`, :math:`\hat S(5) = 0`:

    >>> d = pd.DataFrame({"duration": [1, 2, 2, 3, 4, 5],
    ...                   "churned": [True, True, False, True, False, True]})
    >>> res = survival(d, rmst_horizon=4)
    >>> res.table[["time", "survival", "at_risk"]].round(4)
       time  survival  at_risk
    0   0.0    1.0000        6
    1   1.0    0.8333        6
    2   2.0    0.6667        5
    3   3.0    0.4444        3
    4   4.0    0.4444        2
    5   5.0    0.0000        1
    >>> float(res.median["all"]), round(float(res.summary.loc["all", "rmst"]), 4)
    (3.0, 2.9444)
    """
    _validate_survival(data, duration_col, event_col, group_col, entry_col)
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise DataError(f"alpha={alpha!r} must be between 0 and 1", fix="pass alpha=0.05")
    durations = pd.to_numeric(data[duration_col]).to_numpy(dtype=float)
    events = data[event_col].to_numpy(dtype=bool)
    entry = (None if entry_col is None
             else pd.to_numeric(data[entry_col]).to_numpy(dtype=float))
    labels, groups = _survival_groups(data, group_col)
    if rmst_horizon is not None:
        _check_rmst_horizon(rmst_horizon, durations, labels)
    table, summary = _kaplan_meier_by_group(durations, events, labels, groups, alpha=alpha,
                                            rmst_horizon=rmst_horizon, group_col=group_col,
                                            entry=entry)
    unit = time_unit if time_unit is not None else data.attrs.get("time_unit")
    result = SurvivalResult(table=table, summary=summary, group_col=group_col, time_unit=unit,
                            alpha=float(alpha),
                            rmst_horizon=None if rmst_horizon is None else float(rmst_horizon))
    if group_col is not None:
        _compare_groups(result, durations, events, labels, groups, entry=entry)
    return result


def _survival_groups(data: pd.DataFrame, group_col: str | None) -> tuple[np.ndarray, list]:
    """Each customer's group label and the sorted groups; at least two of two customers."""
    if group_col is None:
        labels = np.full(len(data), "all", dtype=object)
    else:
        labels = data[group_col].to_numpy()
    groups = list(pd.unique(labels))
    try:
        groups = sorted(groups)
    except TypeError:  # mixed types: keep order of appearance
        pass
    if group_col is not None:
        counts = pd.Series(labels).value_counts()
        if len(groups) < 2:
            raise DataError(f"group column {group_col!r} has a single group ({groups[0]!r})",
                            n_rows=len(data),
                            fix="drop group_col for one curve, or check the grouping")
        small = counts[counts < 2]
        if len(small):
            raise DataError(
                f"groups of {group_col!r} with a single customer cannot be compared",
                n_rows=int(small.sum()), example=f"group {small.index[0]!r}",
                fix="merge small groups into a larger one (e.g. 'other') or drop them")
    return labels, groups


def _check_rmst_horizon(rmst_horizon: object, durations: np.ndarray, labels: np.ndarray) -> None:
    """The RMST horizon must lie within every group's follow-up."""
    longest = pd.Series(durations).groupby(labels).max()
    shortest_follow_up = float(longest.min())
    if not (isinstance(rmst_horizon, int | float | np.number) and 0 < rmst_horizon
            <= shortest_follow_up):
        raise DataError(
            f"rmst_horizon={rmst_horizon!r} is outside the follow-up: it must be positive "
            f"and at most {shortest_follow_up:g}, the longest duration in group "
            f"{longest.idxmin()!r}",
            fix="choose a horizon every group was observed for")


def _kaplan_meier_by_group(durations: np.ndarray, events: np.ndarray, labels: np.ndarray,
                           groups: list, *, alpha: float, rmst_horizon: float | None,
                           group_col: str | None, entry: np.ndarray | None = None,
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Kaplan-Meier table of every group and the per-group summary (median, RMST).

    lifelines counts a customer who enters at e as at risk *at* e; ours is known to be a
    customer at e, so at risk only after it: her entry is passed a hair above e, and the
    rows lifelines adds at those entrance times are dropped from the table.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    frames, rows = [], []
    for g in groups:
        mask = labels == g
        shifted = None if entry is None else np.nextafter(entry[mask], np.inf) * (
            entry[mask] > 0)
        kmf = KaplanMeierFitter(alpha=alpha).fit(durations[mask], event_observed=events[mask],
                                                 entry=shifted, label="km")
        keep = np.isin(kmf.survival_function_.index.to_numpy(dtype=float),
                       np.append(durations[mask], 0.0))
        sf = kmf.survival_function_["km"][keep]
        ci = kmf.confidence_interval_[keep]
        et = kmf.event_table.reindex(sf.index)
        frames.append(pd.DataFrame({
            "group": [g] * len(sf), "time": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(), "ci_lower": ci.iloc[:, 0].to_numpy(),
            "ci_upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": et["at_risk"].to_numpy(dtype="int64"),
            "churned": et["observed"].to_numpy(dtype="int64"),
            "censored": et["censored"].to_numpy(dtype="int64")}))
        row = {"n_customers": int(mask.sum()), "n_churned": int(events[mask].sum()),
               "median": float(kmf.median_survival_time_)}
        if rmst_horizon is not None:
            row["rmst"] = float(restricted_mean_survival_time(kmf, t=float(rmst_horizon)))
            row["rmst_se"] = _rmst_se(kmf, float(rmst_horizon))
        rows.append(row)
    table = pd.concat(frames, ignore_index=True)
    summary = pd.DataFrame(rows, index=pd.Index(groups, name=group_col or "group"))
    return table, summary


def _logrank_with_entry(durations: np.ndarray, events: np.ndarray, entry: np.ndarray,
                        labels: np.ndarray, groups: list) -> tuple[float, float]:
    """Log-rank chi-squared statistic and p-value with delayed entry (k groups, k-1 df).

    At each churn time t the risk set is the customers with entry < t <= duration; the
    observed-minus-expected churns of the first k-1 groups and their hypergeometric
    covariance give the usual quadratic form (Klein & Moeschberger 2003, sec. 7.3).
    """
    from scipy import stats

    k = len(groups)
    member = np.stack([labels == g for g in groups])  # (k, n)
    o_minus_e, cov = np.zeros(k), np.zeros((k, k))
    for t in np.unique(durations[events]):
        at_risk = (entry < t) & (durations >= t)
        n_g = (member & at_risk).sum(axis=1).astype(float)
        d_g = (member & (events & (durations == t))).sum(axis=1).astype(float)
        n, d = n_g.sum(), d_g.sum()
        o_minus_e += d_g - d * n_g / n
        if n > 1:
            cov += d * (n - d) / (n * n * (n - 1)) * (n * np.diag(n_g) - np.outer(n_g, n_g))
    u, v = o_minus_e[:-1], cov[:-1, :-1]
    statistic = float(u @ np.linalg.pinv(v) @ u)
    return statistic, float(stats.chi2.sf(statistic, k - 1))


def _compare_groups(result: SurvivalResult, durations: np.ndarray, events: np.ndarray,
                    labels: np.ndarray, groups: list, entry: np.ndarray | None = None) -> None:
    """Log-rank test across groups and RMST differences from the first group (in place)."""
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    if entry is not None:
        result.logrank_statistic, result.logrank_p_value = _logrank_with_entry(
            durations, events, entry, labels, groups)
        test = None
    elif len(groups) == 2:
        a, b = (labels == groups[0]), (labels == groups[1])
        test = logrank_test(durations[a], durations[b], event_observed_A=events[a],
                            event_observed_B=events[b])
    else:
        test = multivariate_logrank_test(durations, labels, events)
    if test is not None:
        result.logrank_statistic = float(test.test_statistic)
        result.logrank_p_value = float(test.p_value)
    result.logrank_df = len(groups) - 1
    if result.rmst_horizon is None:
        return
    from scipy import stats

    summary, ref = result.summary, groups[0]
    z = critical_z(result.alpha)
    diff = summary["rmst"].drop(index=ref) - summary.loc[ref, "rmst"]
    se = np.sqrt(summary["rmst_se"].drop(index=ref) ** 2 + summary.loc[ref, "rmst_se"] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(diff / se))
    result.reference_group = ref
    result.rmst_difference = pd.DataFrame({
        "difference": diff, "se": se, "ci_lower": diff - z * se, "ci_upper": diff + z * se,
        "p_value": p})


def durations_to_renewals(durations: pd.DataFrame) -> pd.DataFrame:
    """Subscription durations as renewal counts, the data of the sBG and BdW models.

    :func:`churn_durations` of subscriptions gives each customer the months she paid
    (``duration``) and whether she left (``churned``). A customer still paying in her
    k-th month has renewed k - 1 times so far (right-censored there); a customer who
    left after k months left at her k-th renewal (``duration`` k, churned). Customers
    with no renewal observed yet (current customers in their first month) carry no
    information for the models and are dropped.

    Parameters
    ----------
    durations : DataFrame
        With ``duration`` (whole months, >= 1) and ``churned`` (bool), e.g.
        ``churn_durations(subscriptions)``.

    Returns
    -------
    DataFrame
        The rows of ``durations`` with ``duration`` >= 1 after the shift (other columns
        kept), ready for ``SBG().fit(...)``.

    Examples
    --------
    >>> d = pd.DataFrame({"duration": [1, 1, 3, 3], "churned": [True, False, True, False]},
    ...                  index=pd.Index(list("abcd"), name="customer_id"))
    >>> durations_to_renewals(d)
                 duration  churned
    customer_id
    a                   1     True
    c                   3     True
    d                   2    False
    """
    renewals = durations.assign(duration=durations["duration"]
                                - (~durations["churned"]).astype(int))
    return renewals.loc[renewals["duration"] >= 1]
