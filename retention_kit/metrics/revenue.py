"""Recurring revenue: net and gross revenue retention, the MRR bridge, cohort NRR/GRR.

Monthly recurring revenue (MRR) comes as a long table, one row per customer per period.
:func:`mrr_movements` splits each period's change into new, expansion, contraction, churn and
reactivation (all positive amounts) and checks the bridge balances;
:func:`revenue_retention` turns movements into NRR and GRR (:class:`RevenueRetention`), and
:func:`cohort_revenue_retention` follows the customers paying in one period to a later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import data_error
from ._inputs import (
    ArrayLike,
    Result,
    coerce,
    fail_where,
    nonnegative,
    positive,
)

__all__ = ["RevenueRetention", "cohort_revenue_retention", "mrr_movements",
           "revenue_retention"]


@dataclass(frozen=True)
class RevenueRetention:
    """Net and gross revenue retention (fractions, 1.0 = 100 %).

    Each is a float for scalar inputs, or an array/Series shaped like the inputs.
    """

    nrr: Result
    grr: Result

    def to_frame(self) -> pd.DataFrame:
        """One column per measure (``nrr``, ``grr``), one row per input row."""
        return pd.DataFrame({"nrr": np.atleast_1d(self.nrr), "grr": np.atleast_1d(self.grr)},
                            index=self.nrr.index if isinstance(self.nrr, pd.Series) else None)


def revenue_retention(start_mrr: ArrayLike, expansion: ArrayLike, contraction: ArrayLike,
                      churned: ArrayLike) -> RevenueRetention:
    r"""Net and gross revenue retention of the recurring revenue present at the start.

    .. math:: \mathrm{NRR} = \frac{S + X - C - K}{S}, \qquad
              \mathrm{GRR} = \frac{S - C - K}{S}

    with start MRR :math:`S`, expansion :math:`X`, contraction :math:`C` and churned MRR
    :math:`K` from the customers present at the start (new customers are excluded). All
    movements are given as **positive** amounts; GRR ignores expansion, so it is at most 1.

    Source: the standard SaaS definitions; :func:`mrr_movements` computes the movements
    from a subscription table.

    Raises
    ------
    DataError
        If ``start_mrr <= 0``, a movement is negative (e.g. contraction given as -5000),
        or contraction + churned exceeds the start MRR.

    Examples
    --------
    >>> revenue_retention(100_000, 15_000, 5_000, 8_000)
    RevenueRetention(nrr=1.02, grr=0.87)
    """
    form, (s, x, c, k) = coerce(start_mrr=start_mrr, expansion=expansion,
                                 contraction=contraction, churned=churned)
    positive(form, "start_mrr", s, "revenue retention needs recurring revenue at the start")
    sign_fix = "give movements as positive amounts (contraction 5000, not -5000)"
    nonnegative(form, "expansion", x, sign_fix)
    nonnegative(form, "contraction", c, sign_fix)
    nonnegative(form, "churned", k, sign_fix)
    fail_where(form, c + k > s, "contraction + churned exceeds start_mrr",
                "count only losses from revenue present at the start",
                start_mrr=s, contraction=c, churned=k)
    return RevenueRetention(nrr=form.wrap((s + x - c - k) / s, "nrr"),
                            grr=form.wrap((s - c - k) / s, "grr"))




def _check_mrr_identity(movements: pd.DataFrame) -> None:
    """Raise if ``end != start + new + expansion - contraction - churn + reactivation``."""
    m = movements
    rebuilt = (m["start"] + m["new"] + m["expansion"] - m["contraction"] - m["churn"]
               + m["reactivation"]).to_numpy(dtype=float)
    end = m["end"].to_numpy(dtype=float)
    tol = 1e-9 * max(1.0, float(np.abs(m.to_numpy(dtype=float)).max(initial=0.0)))
    bad = np.abs(rebuilt - end) > tol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"MRR bridge does not balance in {int(bad.sum())} period(s); first: period "
            f"{m.index[i]!r}, end = {end[i]:g} but start + movements = {rebuilt[i]:g}. "
            "This is a bug in retention_kit.metrics.mrr_movements; please report it.")


def mrr_movements(subscriptions: pd.DataFrame, *, customer_col: str = "customer_id",
                  period_col: str = "month", mrr_col: str = "mrr") -> pd.DataFrame:
    r"""Monthly recurring revenue (MRR) bridge: start, movements and end of each period.

    For each customer and period compare this period's MRR :math:`x_t` with the previous
    period's :math:`x_{t-1}` (a customer absent from a period, or with MRR 0, is not
    paying):

    - **new**: :math:`x_{t-1} = 0 < x_t` and the customer never paid before: :math:`x_t`;
    - **reactivation**: :math:`x_{t-1} = 0 < x_t` and the customer paid in some earlier
      period: :math:`x_t`;
    - **expansion**: :math:`0 < x_{t-1} < x_t`: :math:`x_t - x_{t-1}`;
    - **contraction**: :math:`0 < x_t < x_{t-1}`: :math:`x_{t-1} - x_t`;
    - **churn**: :math:`x_{t-1} > 0 = x_t`: :math:`x_{t-1}`.

    All movements are reported as **positive** amounts, and every period satisfies

    .. math:: \text{end} = \text{start} + \text{new} + \text{expansion} - \text{contraction}
              - \text{churn} + \text{reactivation}

    with start = total MRR of the previous period. The identity holds by construction
    and is checked on every call (an ``AssertionError`` would mean a bug here).

    Periods are the distinct values of ``period_col``, sorted; if the column holds
    pandas ``Period`` values, every period between the first and the last is included,
    even one with no rows. Otherwise a period in which nobody pays must appear with
    MRR-0 rows or it is skipped. The first period has no predecessor: its start is 0 and
    all its MRR counts as new, so drop that row if the table begins mid-history. Several
    rows for the same customer and period (several subscriptions) are summed.

    Parameters
    ----------
    subscriptions : DataFrame
        Long table, one row per customer per period with a non-negative MRR.
    customer_col, period_col, mrr_col : str, keyword-only
        Column names.

    Returns
    -------
    DataFrame
        Indexed by period, columns ``start, new, expansion, contraction, churn,
        reactivation, end`` (floats).

    Raises
    ------
    DataError
        If a column is missing, the table is empty, or a customer, period or MRR value is
        missing, MRR is negative or not numeric.

    Examples
    --------
    Customer A upgrades in month 2; B pauses in month 2 and comes back in month 3; C
    joins in month 2 and downgrades in month 3.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["A", "B", "A", "C", "A", "B", "C"],
    ...     "month":       [1,   1,   2,   2,   3,   3,   3],
    ...     "mrr":         [100, 50,  120, 80,  120, 50,  60]})
    >>> mrr_movements(subs)
           start    new  expansion  contraction  churn  reactivation    end
    month
    1        0.0  150.0        0.0          0.0    0.0           0.0  150.0
    2      150.0   80.0       20.0          0.0   50.0           0.0  200.0
    3      200.0    0.0        0.0         20.0    0.0          50.0  230.0
    """
    if not isinstance(subscriptions, pd.DataFrame):
        raise data_error("subscriptions is not a DataFrame",
                         example=f"type {type(subscriptions).__name__}",
                         fix="pass a long table with customer, period and MRR columns")
    cols = [customer_col, period_col, mrr_col]
    missing = [c for c in cols if c not in subscriptions.columns]
    if missing:
        raise data_error(f"column(s) {missing} not found",
                         example=f"columns present: {list(subscriptions.columns)}",
                         fix="name the columns with customer_col=, period_col=, mrr_col=")
    if len(subscriptions) == 0:
        raise data_error("subscriptions is empty", fix="pass at least one row")
    frame = subscriptions[cols]
    for col in (customer_col, period_col):
        _missing_rows(frame, frame[col].isna().to_numpy(), f"{col} has missing values",
                      "drop rows without a customer or period, or fill them")
    mrr = pd.to_numeric(frame[mrr_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    _missing_rows(frame, np.isnan(mrr), f"{mrr_col} is missing or not numeric",
                  "fill missing MRR with 0 (not paying) or drop the row", mrr)
    _missing_rows(frame, np.isinf(mrr), f"{mrr_col} is infinite", "pass finite amounts", mrr)
    _missing_rows(frame, mrr < 0, f"{mrr_col} is negative",
                  "MRR is what the customer pays; book refunds and credits separately", mrr)

    labels = frame[period_col]
    if labels.dtype == object or pd.api.types.is_string_dtype(labels):
        text = labels.astype(str)
        unread = pd.to_datetime(text, errors="coerce", format="mixed").isna().to_numpy()
        if unread.any():
            _missing_rows(frame, unread, f"{period_col} has values that are not dates or "
                          f"periods (such as {text[unread].iloc[0]!r}), so they cannot be "
                          "placed in time", "write periods as dates ('2024-01'), pandas "
                          "Periods or period numbers, or drop these rows")
    table = pd.DataFrame({"customer": frame[customer_col].to_numpy(),
                          "period": frame[period_col].to_numpy(), "mrr": mrr})
    try:
        wide = table.groupby(["customer", "period"], sort=True)["mrr"].sum().unstack(
            "period", fill_value=0.0).sort_index(axis=1)
    except TypeError:
        raise data_error(f"{period_col} values cannot be sorted",
                         example=f"first values {frame[period_col].head(3).tolist()}",
                         fix="use one type for periods, e.g. pandas Periods or ints") from None
    if isinstance(frame[period_col].dtype, pd.PeriodDtype):
        periods = pd.period_range(wide.columns.min(), wide.columns.max(),
                                  freq=frame[period_col].dtype.freq)
        wide = wide.reindex(columns=periods, fill_value=0.0)

    cur = wide.to_numpy(dtype=float)
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    paying, was_paying = cur > 0, prev > 0
    paid_before = np.zeros_like(paying)
    paid_before[:, 1:] = np.logical_or.accumulate(paying, axis=1)[:, :-1]
    starts = paying & ~was_paying

    def total(mask: np.ndarray, amount: np.ndarray) -> np.ndarray:
        return np.where(mask, amount, 0.0).sum(axis=0)

    movements = pd.DataFrame({
        "start": prev.sum(axis=0),
        "new": total(starts & ~paid_before, cur),
        "expansion": total(paying & was_paying & (cur > prev), cur - prev),
        "contraction": total(paying & was_paying & (cur < prev), prev - cur),
        "churn": total(~paying & was_paying, prev),
        "reactivation": total(starts & paid_before, cur),
        "end": cur.sum(axis=0),
    }, index=pd.Index(wide.columns, name=period_col))
    _check_mrr_identity(movements)
    return movements


def _missing_rows(frame: pd.DataFrame, bad: np.ndarray, problem: str, fix: str,
                  values: np.ndarray | None = None) -> None:
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    example = f"row {frame.index[i]!r}"
    if values is not None:
        raw = frame.iloc[i, 2]
        shown = repr(raw) if isinstance(raw, str) else str(raw)
        example += f": {frame.columns[2]} = {shown}"
    raise data_error(problem, n_rows=int(bad.sum()), example=example, fix=fix)


def _label(period: object) -> str:
    """A period value as a reader writes it: a month's first day as 2024-05-01."""
    if isinstance(period, pd.Timestamp) and period == period.normalize():
        return str(period.date())
    return str(period) if isinstance(period, pd.Period) else repr(period)


def cohort_revenue_retention(subscriptions: pd.DataFrame, *, start: object, end: object,
                             customer_col: str = "customer_id", period_col: str = "month",
                             mrr_col: str = "mrr") -> RevenueRetention:
    """NRR and GRR of the customers paying in period ``start``, measured in period ``end``.

    The customers with MRR > 0 in ``start`` are followed to ``end`` (for example 12
    months later): their MRR then against their MRR at the start gives the expansion,
    contraction and churned MRR of :func:`mrr_movements` between the two periods (the
    months between do not matter; customers who joined since are left out), and
    :func:`revenue_retention` the rates.

    Parameters
    ----------
    subscriptions : DataFrame
        Long table, one row per customer per period (as for :func:`mrr_movements`).
    start, end : period value
        Values of ``period_col`` (e.g. the first day of two months).
    customer_col, period_col, mrr_col : str, keyword-only
        Column names.

    Returns
    -------
    RevenueRetention

    Raises
    ------
    DataError
        No MRR in ``start`` (no revenue to retain), and everything :func:`mrr_movements`
        rejects.

    Examples
    --------
    A 100 -> 120 (expansion 20), B 50 -> 0 (churned), C 80 -> 60 (contraction 20); D joined
    later and does not count: NRR = (230 + 20 - 20 - 50) / 230, GRR = (230 - 20 - 50) / 230.

    >>> subs = pd.DataFrame({"customer_id": ["A", "B", "C", "A", "C", "D"],
    ...                      "month": [1, 1, 1, 13, 13, 13],
    ...                      "mrr": [100.0, 50.0, 80.0, 120.0, 60.0, 30.0]})
    >>> r = cohort_revenue_retention(subs, start=1, end=13)
    >>> round(r.nrr, 4), round(r.grr, 4)
    (0.7826, 0.6957)
    """
    cols = [customer_col, period_col, mrr_col]
    try:
        backwards = bool(end <= start)  # type: ignore[operator]
    except TypeError:
        backwards = False  # labels that do not compare: mrr_movements checks them
    if backwards:
        raise data_error(f"end={end!r} is not after start={start!r}: retention is measured "
                         "from an earlier period to a later one",
                         fix="swap them, e.g. start='2024-01', end='2025-01'")
    frame = subscriptions[cols]
    first = frame.loc[(frame[period_col] == start).to_numpy()]
    paid = first.groupby(customer_col)[mrr_col].sum()
    payers = paid.index[(paid > 0).to_numpy()]
    if len(payers) == 0 and first.empty and len(frame) and not frame[period_col].isna().any():
        try:
            span = (f" (its periods run from {_label(frame[period_col].min())} to "
                    f"{_label(frame[period_col].max())})")
        except TypeError:
            span = ""
        raise data_error(f"no row of subscriptions is in period start={_label(start)}{span}, so "
                         "there is no revenue to retain",
                         fix="choose a start period of the table, in which customers pay")
    later = frame.loc[((frame[period_col] == end) & frame[customer_col].isin(payers)).to_numpy()]
    key = "__period"
    two = pd.concat([first.assign(**{key: 0}), later.assign(**{key: 1}),
                     pd.DataFrame({customer_col: payers, key: 1, mrr_col: 0.0})],
                    ignore_index=True)
    moves = mrr_movements(two, customer_col=customer_col, period_col=key,
                          mrr_col=mrr_col).iloc[-1]
    if not moves["start"] > 0:
        raise data_error(f"no MRR in period {_label(start)}, so no revenue retention",
                         fix="choose a start period in which customers pay")
    return revenue_retention(float(moves["start"]), float(moves["expansion"]),
                             float(moves["contraction"]), float(moves["churn"]))
