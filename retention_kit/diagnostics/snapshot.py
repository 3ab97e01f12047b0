"""Is this duration table a snapshot? Signatures of a table built from one export.

A churn table built from a snapshot (the customers who left in the last month plus the
current ones, whatever their start date) is *left-truncated*: customers who left before
the window are missing, so long-lived customers are over-represented and a survival curve
or an sBG/BdW fit without entry times is biased upwards. Three signatures give it away:

* **all churn in one calendar month** (needs churn dates, or start dates to derive them);
* **tenure piled up at a cap**: many more customers at the longest tenure than just below
  it, as when tenure is counted from the start of record-keeping;
* **churn concentrated at tenure 1**: most churners left at the first renewal.

Each check returns a :class:`~retention_kit.diagnostics.Finding`; thresholds and the
simulations behind them are in :func:`snapshot_findings`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import require_columns
from ._verdict import Diagnostics, Finding

__all__ = ["CHURN_SPAN_SHARE", "MIN_CHURNERS", "ONE_MONTH_SHARE", "PILE_RATIO",
           "TENURE_ONE_SHARE", "snapshot_findings"]

#: Share of the churn in its busiest calendar month at or above which the table is taken
#: for a snapshot (with at least :data:`MIN_CHURNERS` churners).
ONE_MONTH_SHARE = 0.5
#: Calendar months spanned by the middle 95% of the churns over the longest tenure, at or
#: below which the churn is confined to a final window (a snapshot of several months).
CHURN_SPAN_SHARE = 0.25
#: Customers at the longest tenure over the mean count of the six tenures below it.
PILE_RATIO = 2.0
#: Share of the churners who left at the first renewal.
TENURE_ONE_SHARE = 0.5
#: Fewest churners (or customers at the cap) for a check to fire.
MIN_CHURNERS = 20

_FIX_ENTRY = ("pass each customer's entry time (the tenure at which the table starts to see "
              "her: entry=... for SBG/BdW fits, entry_col=... for survival), or use a table "
              "with history: every customer from acquisition, churned or not")


def _churn_months(data: pd.DataFrame, churned: np.ndarray, duration_col: str,
                  churn_col: str | None, start_col: str | None) -> pd.Series | None:
    """Calendar month of every churn as an integer (a month ordinal or the period
    number given), or None if it cannot be known."""
    if churn_col is not None:
        values = data.loc[churned, churn_col]
        if pd.api.types.is_datetime64_any_dtype(values):
            return values.dt.to_period("M").map(lambda p: p.ordinal).astype("int64")
        return pd.to_numeric(values)
    if start_col is not None:
        start = data.loc[churned, start_col]
        months = pd.to_numeric(data.loc[churned, duration_col]).astype("int64")
        if pd.api.types.is_datetime64_any_dtype(start):
            start = start.dt.to_period("M").map(lambda p: p.ordinal).astype("int64")
        return pd.to_numeric(start) + months
    return None


def _month_label(value: float, dated: bool) -> str:
    return str(pd.Period(ordinal=int(value), freq="M")) if dated else f"{value:g}"


def snapshot_findings(data: pd.DataFrame, *, duration_col: str = "duration",
                      event_col: str = "churned", churn_col: str | None = None,
                      start_col: str | None = None, entry_col: str | None = None,
                      ) -> Diagnostics:
    """Flag the signatures of a snapshot in a duration (subscription) table.

    Parameters
    ----------
    data : DataFrame
        One row per customer: ``duration`` (whole periods, e.g. months of tenure) and
        ``churned`` (bool); not modified.
    duration_col, event_col : str
        Column names.
    churn_col : str, optional
        Date (or period number) of each churn; with it the one-month check runs.
    start_col : str, optional
        Acquisition date (or period number); the churn month is then start + duration
        (durations in months).
    entry_col : str, optional
        Entry times already given: the table is then analysed as left-truncated and every
        finding is ``ok`` (the signatures are expected and handled).

    Returns
    -------
    Diagnostics
        Up to three findings: ``churn in one month`` (``unreliable`` when it fires),
        ``tenure piled at a cap`` and ``churn at tenure 1`` (``caution``).

    Notes
    -----
    Rules (each needs at least 20 churners, or 20 customers at the cap):

    * churn window: the middle 95% of the churns span at most 25% of the longest tenure
      in calendar months, or the busiest month holds >= 50% of all churn (``unreliable``);
    * pile: customers at the longest tenure >= 2 x the mean count at the six tenures
      below it (``caution``);
    * tenure 1: >= 50% of the churners left at the first renewal (``caution``).

    How often a table that is *not* a snapshot fires them: 2,000 simulated tables with
    history (:func:`~retention_kit.simulate.simulate_contract_snapshot` with ``window =
    n_periods``, every customer followed from acquisition) of 500 to 5,000 customers over
    24 to 72 months, sBG churn with alpha in [0.3, 3] and a mean churn of 2% to 30% per
    period (seed 2026). The churn window fired 0 times, the pile once (0.05%; the
    largest ratio with >= 20 customers at the cap was 2.29), tenure 1 never (the largest
    share was 47%). How often a snapshot fires them: 500 snapshots of the same sizes with a
    final window of 1 to 12 months and 5% of the customers acquired before the records
    began: the churn window fired on 422 of the 490 with >= 20 churners, and missed
    exactly the windows longer than 25% of the history; the pile fired on 160 of the 200
    with >= 20 customers at the cap. Tenure 1 never fired on those snapshots either: it
    is the signature of a table of recent leavers or recent sign-ups, and of strongly
    polarised early churn, hence only a ``caution`` that asks how the table was built.

    Examples
    --------
    A snapshot: 3,000 acquired over 72 months, seen if still customers in the last
    month, a tenth of them from before the records began.

    >>> from retention_kit.simulate import simulate_contract_snapshot
    >>> snap = simulate_contract_snapshot(3000, params={"alpha": 2.0, "beta": 30.0},
    ...                                   initial_share=0.1, random_state=7)
    >>> found = snapshot_findings(snap, churn_col="churn_period")
    >>> found.verdict, [f.check for f in found.concerns()]
    ('unreliable', ['churn in one month', 'tenure piled at a cap'])
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"snapshot_findings takes a DataFrame, got {type(data).__name__}")
    needed = {duration_col: "duration_col (tenure in whole periods)",
              event_col: "event_col (True = churned)"}
    for col, what in ((churn_col, "churn_col (churn date)"),
                      (start_col, "start_col (acquisition date)"),
                      (entry_col, "entry_col (entry times)")):
        if col is not None:
            needed[col] = what
    require_columns(data, needed, what="the duration table")
    duration = pd.to_numeric(data[duration_col]).to_numpy(dtype=float)
    churned = pd.to_numeric(data[event_col]).to_numpy(dtype=float) > 0.5
    n_churn = int(churned.sum())
    handled = entry_col is not None
    findings = [_one_month(data, churned, n_churn, duration_col, churn_col, start_col,
                           handled),
                _pile(duration, handled), _tenure_one(duration, churned, n_churn, handled)]
    return Diagnostics(tuple(f for f in findings if f is not None))


def _one_month(data: pd.DataFrame, churned: np.ndarray, n_churn: int, duration_col: str,
               churn_col: str | None, start_col: str | None, handled: bool) -> Finding | None:
    rule = (f"the churn spans <= {CHURN_SPAN_SHARE:.0%} of the longest tenure in calendar "
            f"months (middle 95% of churns), or >= {ONE_MONTH_SHARE:.0%} of it falls in one "
            f"month (with >= {MIN_CHURNERS} churners): unreliable")
    months = _churn_months(data, churned, duration_col, churn_col, start_col)
    if months is None or n_churn == 0:
        return None
    dated = any(col is not None and pd.api.types.is_datetime64_any_dtype(data[col])
                for col in (churn_col if churn_col is not None else start_col,))
    values = np.asarray(months, dtype=float)
    counts = pd.Series(values).value_counts()
    share = float(counts.iloc[0]) / n_churn
    low, high = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    span = float(high - low + 1)
    longest = float(pd.to_numeric(data[duration_col]).max())
    ratio = span / longest
    fires = share >= ONE_MONTH_SHARE or ratio <= CHURN_SPAN_SHARE
    if not fires or n_churn < MIN_CHURNERS or handled:
        return Finding("churn in one month", "ok",
                       f"The churn spans {span:g} calendar months ({ratio:.0%} of the longest "
                       f"tenure); the busiest month holds {share:.0%} of the {n_churn:,} "
                       "churns.", value=ratio, rule=rule)
    where = (f"one calendar month ({_month_label(counts.index[0], dated)})" if span == 1
             else f"{span:g} calendar months ({_month_label(low, dated)} to "
             f"{_month_label(high, dated)}), {ratio:.0%} of the longest tenure")
    return Finding(
        "churn in one month", "unreliable",
        f"{'All' if span == 1 else '95% of'} the {n_churn:,} churns fall in {where}: the "
        "table looks like a snapshot (current customers plus those who left recently). "
        "Customers who left before that are missing, so retention estimated from it without "
        "entry times is too high.",
        fix=_FIX_ENTRY, value=ratio, rule=rule)


def _pile(duration: np.ndarray, handled: bool) -> Finding | None:
    rule = (f"customers at the longest tenure >= {PILE_RATIO:g} x the mean count of the six "
            f"tenures below it (with >= {MIN_CHURNERS} at the cap): caution")
    if len(duration) == 0:
        return None
    cap = float(duration.max())
    at_cap = int((duration == cap).sum())
    below = [(duration == cap - k).sum() for k in range(1, 7) if cap - k >= 1]
    if not below:
        return None
    ratio = at_cap / max(float(np.mean(below)), 1.0)
    if ratio < PILE_RATIO or at_cap < MIN_CHURNERS or handled:
        return Finding("tenure piled at a cap", "ok",
                       f"{at_cap:,} customers at the longest tenure ({cap:g}), {ratio:.1f} "
                       "times the count just below it.", value=ratio, rule=rule)
    return Finding(
        "tenure piled at a cap", "caution",
        f"{at_cap:,} customers have the longest tenure, {cap:g} periods: {ratio:.1f} times "
        "as many as at each of the tenures just below. Tenure is probably counted from the "
        "start of the records, so these customers are older than it says, and the table "
        "starts to see them only at that date.",
        fix=_FIX_ENTRY + "; or treat tenure at the cap as at least the cap", value=ratio,
        rule=rule)


def _tenure_one(duration: np.ndarray, churned: np.ndarray, n_churn: int,
                handled: bool) -> Finding | None:
    rule = (f">= {TENURE_ONE_SHARE:.0%} of the churners left at tenure 1 (with >= "
            f"{MIN_CHURNERS} churners): caution")
    if n_churn == 0:
        return None
    share = float((churned & (duration == 1)).sum()) / n_churn
    if share < TENURE_ONE_SHARE or n_churn < MIN_CHURNERS or handled:
        return Finding("churn at tenure 1", "ok",
                       f"{share:.0%} of the churners left at the first renewal.",
                       value=share, rule=rule)
    return Finding(
        "churn at tenure 1", "caution",
        f"{share:.0%} of the {n_churn:,} churners left at the first renewal. Either early "
        "churn really dominates, or the table holds only recent leavers (a snapshot) or "
        "only recent sign-ups; check how it was extracted.",
        fix=_FIX_ENTRY, value=share, rule=rule)
