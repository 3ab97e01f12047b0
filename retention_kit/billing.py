"""Subscription tables from raw billing data: invoices or subscription spells.

The package measures a subscription business on one table, the **monthly subscription
table** that :func:`retention_kit.metrics.mrr_movements`,
:func:`retention_kit.cohorts.churn_durations`, the reports and
:func:`retention_kit.simulate.simulate_subscriptions` use: one row per customer per *paid*
month, with

========================  ==================================================================
``customer_id``           the customer (ids as given)
``month``                 datetime64, the first day of the month
``plan``                  str, the plan paid that month (only when a plan column is named)
``mrr``                   float > 0, monthly recurring revenue of the month; an annual plan
                          has MRR = annual price / 12 in each of the 12 months it covers
``billing_period``        ``"M"`` (billed monthly) or ``"Y"`` (billed for a year ahead)
``started``               datetime64, first day of the customer's first paid month; it
                          stays true when the table is cut to a window
                          (``observation_start``), so the tenure of a customer who started
                          before the window is known
========================  ==================================================================

sorted by ``month`` then ``customer_id``. Months in which a customer pays nothing have no
row (a pause, a churn, a free month). Two readers build it:

- :func:`subscriptions_from_invoices`: a billing export, one row per invoice;
- :func:`subscriptions_from_spells`: one row per subscription, with its start and its
  cancellation date (empty while it runs).

This is the data layer of subscriptions: it reads raw billing data and imports only the
bottom of the package (``_checks``, ``errors``, ``units``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import _checks as checks
from ._checks import first_example, require_columns
from .errors import DataError
from .units import calendar_periods, to_naive_timestamp

__all__ = ["BILLING_PERIODS", "subscriptions_from_invoices", "subscriptions_from_spells"]

#: Billing periods and the months one payment covers.
BILLING_PERIODS: dict[str, int] = {"M": 1, "Y": 12}


# --------------------------------------------------------------------------- public


def subscriptions_from_invoices(
    invoices: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    plan_col: str | None = None,
    billing_period: str = "M",
    billing_period_col: str | None = None,
    observation_start: object = None,
    observation_end: object = None,
) -> pd.DataFrame:
    r"""The monthly subscription table from a billing table (one row per invoice).

    An invoice dated in month :math:`m` with billing period ``"M"`` pays for month
    :math:`m`; with ``"Y"`` it pays for the 12 months :math:`m, m+1, \dots, m+11`. Each
    covered month gets MRR = amount / months covered (an annual invoice of 1,200 is an MRR
    of 100 in each of its 12 months), and the MRR of all invoices covering one customer's
    month is summed (an add-on billed mid-month adds to the plan's MRR):

    .. math:: \mathrm{MRR}_{c,t} = \sum_{i \,:\, c_i = c,\; m_i \le t < m_i + k_i}
              \frac{a_i}{k_i}, \qquad k_i \in \{1, 12\}

    Rules:

    - **Zero amounts**: an invoice of 0 (a free month, a 100 % discount, a failed payment
      written off, or a refunded invoice netted to 0) pays for nothing: it adds no MRR, so
      a month covered only by such invoices is *not* a paying month (no row). They are
      counted in ``attrs["n_zero_invoices"]``.
    - **Refunds**: negative amounts are refused. Net each refund or credit note against the
      invoice it refunds first; a fully refunded invoice then has amount 0 (rule above).
    - **Observation end**: months after the month of ``observation_end`` are not observed
      and are cut (an annual invoice of November keeps its months up to the end month).
      Invoices dated after ``observation_end`` are refused. A monthly customer billed on
      the 25th has no invoice yet in a month observed up to the 20th and would look
      churned there: end the observation on a month's last day (``attrs`` records
      ``last_month_complete``), or drop an incomplete last month.
    - **Observation start** (optional): months before the month of ``observation_start``
      are cut, but ``started`` keeps the customer's first paid month in the invoices
      (an annual invoice from before the window still pays for its months in it).
    - **Plan and billing period of a month** covered by several invoices: those of the
      invoice contributing the most MRR to it (the latest among equals), so an add-on does
      not rename the plan.

    Parameters
    ----------
    invoices : DataFrame
        One row per invoice; not modified.
    customer_col, date_col, amount_col : str, keyword-only
        Columns of the customer, the invoice date (the first covered month is the date's
        month) and the amount invoiced (currency, >= 0).
    plan_col : str, optional
        Column of the plan; without it the output has no ``plan`` column.
    billing_period : {"M", "Y"}, default "M"
        Billing period of every invoice, when ``billing_period_col`` is not given.
    billing_period_col : str, optional
        Column holding ``"M"`` or ``"Y"`` per invoice (overrides ``billing_period``).
    observation_start, observation_end : date-like, optional
        The window. ``observation_end`` defaults to the last invoice date; without
        ``observation_start`` every month from the first invoice is kept.

    Returns
    -------
    DataFrame
        The monthly subscription table (see :mod:`retention_kit.billing`): ``customer_id``,
        ``month``, ``plan`` (with ``plan_col``), ``mrr``, ``billing_period``, ``started``.
        ``attrs`` records ``kind="subscriptions"``, ``source="invoices"``,
        ``observation_start``, ``observation_end``, ``last_month_complete``, ``n_invoices``,
        ``n_zero_invoices``.

    Raises
    ------
    DataError
        A missing column; a missing customer id; ids mixing numbers and text; a missing,
        unreadable or timezone-aware date; a missing, non-numeric, infinite or negative
        amount; a billing period other than ``"M"`` or ``"Y"``; a missing plan; an invoice
        after ``observation_end``; no invoices.

    Examples
    --------
    A pays 10 a month in January and February; B pays 1,200 for a year in February (MRR
    100 from February on) and buys an add-on of 5 for February; C's March invoice was
    refunded (netted to 0), so C never pays. Observed to 31 March:

    >>> invoices = pd.DataFrame({
    ...     "customer_id": ["A", "A", "B", "B", "C"],
    ...     "date": ["2024-01-03", "2024-02-03", "2024-02-10", "2024-02-20", "2024-03-01"],
    ...     "amount": [10.0, 10.0, 1200.0, 5.0, 0.0],
    ...     "period": ["M", "M", "Y", "M", "M"]})
    >>> subs = subscriptions_from_invoices(invoices, billing_period_col="period",
    ...                                    observation_end="2024-03-31")
    >>> subs[["customer_id", "month", "mrr", "billing_period"]]
      customer_id      month    mrr billing_period
    0           A 2024-01-01   10.0              M
    1           A 2024-02-01   10.0              M
    2           B 2024-02-01  105.0              Y
    3           B 2024-03-01  100.0              Y
    >>> subs.attrs["n_zero_invoices"]
    1
    """
    _frame(invoices, "invoices")
    needed = {customer_col: "customer_col (the customer)",
              date_col: "date_col (the invoice date)",
              amount_col: "amount_col (the amount invoiced)"}
    if plan_col is not None:
        needed[plan_col] = "plan_col (the plan)"
    if billing_period_col is not None:
        needed[billing_period_col] = "billing_period_col ('M' or 'Y' per invoice)"
    require_columns(invoices, needed, what="the invoice table")
    if len(invoices) == 0:
        raise DataError("the invoice table is empty", n_rows=0,
                        fix="check the filter or file that produced it")
    _ids(invoices, customer_col, date_col)
    dates = _dates(invoices, date_col, shown=[customer_col, date_col], what="invoices",
                   keyword="date_col")
    amount = _amounts(invoices, amount_col, shown=[customer_col, date_col, amount_col])
    months_covered = _periods(invoices, billing_period, billing_period_col,
                              shown=[customer_col, date_col])
    plan = None if plan_col is None else _plans(invoices, plan_col, [customer_col, plan_col])
    end = (dates.max() if observation_end is None
           else to_naive_timestamp(observation_end, "observation_end"))
    late = (dates > end).to_numpy()
    if late.any():
        raise DataError(f"invoices dated after the observation end {end.date()}",
                        n_rows=int(late.sum()),
                        example=first_example(invoices, late, [customer_col, date_col]),
                        fix=f"keep only invoices up to the end, invoices[invoices[{date_col!r}] "
                        f"<= '{end.date()}'], or pass a later observation_end")
    start = _start(observation_start, end)

    paid = amount > 0
    first = _month_index(dates)
    table = _expand(customer=invoices[customer_col].to_numpy()[paid], first=first[paid],
                    n_months=months_covered[paid],
                    mrr=amount[paid] / months_covered[paid],
                    plan=None if plan is None else plan[paid],
                    period=np.where(months_covered == 12, "Y", "M")[paid],
                    order=dates.to_numpy()[paid], end=end, start=start)
    table.attrs.update(kind="subscriptions", source="invoices", observation_start=start,
                       observation_end=end, last_month_complete=_month_complete(end),
                       n_invoices=len(invoices), n_zero_invoices=int((~paid).sum()))
    return table


def subscriptions_from_spells(
    table: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
    mrr_col: str = "mrr",
    plan_col: str | None = None,
    billing_period_col: str | None = None,
    observation_start: object = None,
    observation_end: object,
) -> pd.DataFrame:
    r"""The monthly subscription table from subscriptions with start and cancellation dates.

    A subscription (a *spell*) that starts in month :math:`s` and is cancelled in month
    :math:`e` pays for the months :math:`s, s+1, \dots, e-1`: the cancellation month is
    not paid, as in :func:`~retention_kit.metrics.mrr_movements`, where a customer paying
    January and February and cancelled in March churns in March. A spell cancelled in the
    month it started paid for that one month. A spell without a cancellation date (NaT,
    None or empty text) is still running and pays every month up to the month of
    ``observation_end``; so does one cancelled after that month (the cancellation is not
    observed yet). With :math:`T` the month of ``observation_end``:

    .. math:: \text{months of a spell} = \{\, t : s \le t \le \min(\max(e - 1, s), T) \,\}

    Several spells of one customer covering the same month add up (two subscriptions), and
    the month takes the plan and billing period of the spell with the most MRR (the one
    that started last among equals). Spells
    with MRR 0 (free plans, trials) pay for nothing and give no rows
    (``attrs["n_free_spells"]``).

    The customer's first paid month is kept in ``started``: with ``observation_start``,
    the months before it are cut but ``started`` still says when the customer began, so
    tenure (:func:`~retention_kit.metrics.churn_by_tenure`) stays true for customers who
    started before the window (``attrs["n_started_before_window"]`` counts them).

    Parameters
    ----------
    table : DataFrame
        One row per subscription; not modified.
    customer_col, start_col, end_col, mrr_col : str, keyword-only
        Columns of the customer, the start date, the cancellation date (missing = still
        active) and the monthly recurring revenue (an annual plan: its price / 12).
    plan_col : str, optional
        Column of the plan; without it the output has no ``plan`` column.
    billing_period_col : str, optional
        Column with ``"M"`` or ``"Y"`` per spell; without it every spell is ``"M"``. MRR is
        taken as given either way.
    observation_start : date-like, optional
        First month of the output (default: the first start).
    observation_end : date-like, keyword-only, required
        Last observed day: running spells pay up to its month.

    Returns
    -------
    DataFrame
        The monthly subscription table (see :mod:`retention_kit.billing`): ``customer_id``,
        ``month``, ``plan`` (with ``plan_col``), ``mrr``, ``billing_period``, ``started``.
        ``attrs`` records ``kind="subscriptions"``, ``source="spells"``,
        ``observation_start``, ``observation_end``, ``n_spells``, ``n_free_spells``,
        ``n_started_before_window``.

    Raises
    ------
    DataError
        A missing column; a missing customer id; a missing or unreadable start date; an
        unreadable cancellation date; a cancellation before the start; a missing,
        non-numeric, infinite or negative MRR; an unknown billing period; a missing plan;
        a spell starting after ``observation_end``; no spells.

    Examples
    --------
    A started on 15 January and cancelled on 2 March (paid January and February); B started
    in February and is still active at the end of March; A came back in March on a
    larger plan:

    >>> spells = pd.DataFrame({
    ...     "customer_id": ["A", "B", "A"],
    ...     "start": ["2024-01-15", "2024-02-01", "2024-03-20"],
    ...     "end": ["2024-03-02", None, None],
    ...     "mrr": [10.0, 20.0, 30.0]})
    >>> subs = subscriptions_from_spells(spells, observation_end="2024-03-31")
    >>> subs[["customer_id", "month", "mrr", "started"]]
      customer_id      month   mrr    started
    0           A 2024-01-01  10.0 2024-01-01
    1           A 2024-02-01  10.0 2024-01-01
    2           B 2024-02-01  20.0 2024-02-01
    3           A 2024-03-01  30.0 2024-01-01
    4           B 2024-03-01  20.0 2024-02-01

    The same window from February on: A started before it.

    >>> cut = subscriptions_from_spells(spells, observation_start="2024-02-01",
    ...                                 observation_end="2024-03-31")
    >>> len(cut), str(cut["started"].min().date()), cut.attrs["n_started_before_window"]
    (4, '2024-01-01', 1)
    """
    _frame(table, "table")
    needed = {customer_col: "customer_col (the customer)",
              start_col: "start_col (the start date)",
              end_col: "end_col (the cancellation date, empty while active)",
              mrr_col: "mrr_col (monthly recurring revenue)"}
    if plan_col is not None:
        needed[plan_col] = "plan_col (the plan)"
    if billing_period_col is not None:
        needed[billing_period_col] = "billing_period_col ('M' or 'Y' per subscription)"
    require_columns(table, needed, what="the subscriptions table")
    if len(table) == 0:
        raise DataError("the subscriptions table is empty", n_rows=0,
                        fix="check the filter or file that produced it")
    _ids(table, customer_col, start_col)
    shown = [customer_col, start_col, end_col]
    starts = _dates(table, start_col, shown=shown, what="subscriptions", keyword="start_col")
    ends = _dates(table, end_col, shown=shown, what="subscriptions", keyword="end_col",
                  optional=True)
    backwards = (ends < starts).to_numpy()
    if backwards.any():
        raise DataError("subscriptions are cancelled before they start",
                        n_rows=int(backwards.sum()),
                        example=first_example(table, backwards, shown),
                        fix="check that start_col and end_col are not swapped, and repair "
                        "these rows")
    mrr = _amounts(table, mrr_col, shown=[customer_col, start_col, mrr_col], what="MRR",
                   fix="MRR is what the subscription pays a month; give a refunded or free "
                   "subscription 0 and net credits against the MRR they reduce")
    months_covered = _periods(table, "M", billing_period_col, shown=shown)
    plan = None if plan_col is None else _plans(table, plan_col, [customer_col, plan_col])
    end = to_naive_timestamp(observation_end, "observation_end")
    late = (starts > end).to_numpy()
    if late.any():
        raise DataError(f"subscriptions start after the observation end {end.date()}",
                        n_rows=int(late.sum()), example=first_example(table, late, shown),
                        fix=f"keep only subscriptions started by the end, "
                        f"table[table[{start_col!r}] <= '{end.date()}'], or pass a later "
                        "observation_end")
    start = _start(observation_start, end)

    paid = mrr > 0
    first = _month_index(starts)
    cancelled = _month_index(ends)  # NaN while active
    last = np.where(np.isnan(cancelled), np.inf, np.maximum(cancelled - 1, first))
    last = np.minimum(last, _month_index(pd.Series([end]))[0])
    out = _expand(customer=table[customer_col].to_numpy()[paid], first=first[paid],
                  n_months=(last - first + 1)[paid], mrr=mrr[paid],
                  plan=None if plan is None else plan[paid],
                  period=np.where(months_covered == 12, "Y", "M")[paid],
                  order=starts.to_numpy()[paid], end=end, start=start)
    before = out.groupby("customer_id", sort=False)["started"].first()
    n_before = 0 if start is None else int((before < start).sum())
    out.attrs.update(kind="subscriptions", source="spells", observation_start=start,
                     observation_end=end, n_spells=len(table),
                     n_free_spells=int((~paid).sum()), n_started_before_window=n_before)
    return out


# --------------------------------------------------------------------------- helpers


def _frame(data: object, name: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, not {type(data).__name__}")


def _ids(df: pd.DataFrame, customer_col: str, date_col: str) -> None:
    """Customer ids present and of one kind (1 and '1' would be two customers)."""
    ids = df[customer_col]
    shown = [customer_col, date_col]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(f"rows without a customer id in column {customer_col!r}",
                        n_rows=int(missing.sum()), example=first_example(df, missing, shown),
                        fix="drop these rows or give them an id; a payment without a customer "
                        "cannot be followed month to month")
    if ids.dtype == object:
        is_text = np.array([isinstance(v, str) for v in ids.to_numpy(dtype=object)])
        if is_text.any() and not is_text.all():
            minority = ~is_text if is_text.sum() * 2 >= len(ids) else is_text
            raise checks.mixed_ids(customer_col, int(minority.sum()),
                                   first_example(df, minority, shown))


def _dates(df: pd.DataFrame, col: str, *, shown: list[str], what: str, keyword: str,
           optional: bool = False) -> pd.Series:
    """``df[col]`` as naive datetime64; missing values allowed (NaT) only if ``optional``.

    Refused: missing dates (unless optional), timezone-aware dates, numbers and booleans
    (never read as nanoseconds since 1970), day and month written as numbers (03/04/2024 is
    ambiguous), text that does not parse.
    """
    raw = df[col]
    blank = raw.isna().to_numpy(dtype=bool, copy=True)
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):  # empty text is no date
        blank = blank | raw.astype("string").str.strip().eq("").fillna(True).to_numpy(bool)
    if blank.any() and not optional:
        raise DataError(f"{int(blank.sum()):,} {what} have no date in column {col!r}",
                        n_rows=int(blank.sum()), example=first_example(df, blank, shown),
                        fix=f"repair or drop these rows, or name the date column with "
                        f"{keyword}")
    present = ~blank
    if not present.any():
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    raw = raw.mask(blank) if blank.any() else raw
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raise DataError(f"dates in column {col!r} are timezone-aware", n_rows=len(df),
                        example=first_example(df, np.ones(len(df), bool), shown),
                        fix=f"convert to the zone whose months you count and drop the zone: "
                        f"df[{col!r}] = df[{col!r}].dt.tz_convert('Europe/Berlin')"
                        ".dt.tz_localize(None)")
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.astype("datetime64[us]")
    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_numeric_dtype(raw):
        raise DataError(f"dates in column {col!r} are numbers or True/False, not dates",
                        n_rows=int(present.sum()), example=first_example(df, present, shown),
                        fix=f"parse them yourself, e.g. df[{col!r}] = pd.to_datetime("
                        f"df[{col!r}], unit='s') for epoch seconds, or name the date column "
                        f"with {keyword}")
    values = raw.to_numpy(dtype=object)
    is_text = np.array([isinstance(v, str) for v in values])
    text = pd.Series(np.where(is_text, values, ""), index=raw.index, dtype=object).str
    day_month = is_text & text.contains(checks.DAY_MONTH_PATTERN, regex=True).to_numpy(bool)
    if day_month.any():
        raise DataError(f"dates in column {col!r} write the day and the month as numbers, "
                        "which is ambiguous (03/04/2024 is 3 April day-first and 4 March "
                        "month-first)", n_rows=int(day_month.sum()),
                        example=first_example(df, day_month, shown),
                        fix=f"parse them yourself: df[{col!r}] = pd.to_datetime(df[{col!r}], "
                        "dayfirst=True) (or format='%m/%d/%Y' for month-first dates)")
    aware = np.array([getattr(v, "tzinfo", None) is not None for v in values])
    aware |= is_text & text.contains(checks.AWARE_PATTERN, regex=True).to_numpy(bool)
    if aware.any():
        raise DataError(f"dates in column {col!r} are timezone-aware",
                        n_rows=int(aware.sum()), example=first_example(df, aware, shown),
                        fix=f"convert them to naive local dates first: df[{col!r}] = "
                        f"pd.to_datetime(df[{col!r}], utc=True).dt.tz_convert('Europe/Berlin')"
                        ".dt.tz_localize(None)")
    try:
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    except (TypeError, ValueError):  # pragma: no cover - pandas-version specific
        parsed = pd.Series(pd.NaT, index=raw.index)
    bad = present & parsed.isna().to_numpy()
    if bad.any():
        raise DataError(f"dates in column {col!r} cannot be read", n_rows=int(bad.sum()),
                        example=first_example(df, bad, shown),
                        fix="repair these values or store ISO dates such as '2024-01-31'; "
                        f"check that {keyword} names the date column")
    return parsed.astype("datetime64[us]")


def _amounts(df: pd.DataFrame, col: str, *, shown: list[str], what: str = "amounts",
             fix: str | None = None) -> np.ndarray:
    """Finite, non-negative amounts as floats (refunds must be netted first)."""
    raw = df[col]
    if pd.api.types.is_bool_dtype(raw):
        flags = np.ones(len(raw), dtype=bool)
    elif raw.dtype == object:
        flags = np.array([isinstance(v, bool | np.bool_) for v in raw.to_numpy(dtype=object)])
    else:
        flags = np.zeros(len(raw), dtype=bool)
    values = pd.to_numeric(raw.mask(flags), errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    rules = (
        (np.isnan(values), f"{what} in column {col!r} are missing or not numbers",
         "repair or drop these rows (0 means nothing was paid)"),
        (np.isinf(values) | (np.abs(values) >= checks.MAX_AMOUNT),
         f"{what} in column {col!r} are infinite or {checks.MAX_AMOUNT:,.0f} or more",
         f"repair these rows; check that {col!r} holds the money column, in currency units"),
        (values < 0, f"{what} in column {col!r} are negative (refunds or credits)",
         fix or "net each refund or credit note against the invoice it refunds first; a "
         "fully refunded invoice then has amount 0 and pays for no month"),
    )
    for bad, problem, how in rules:
        if bad.any():
            raise DataError(problem, n_rows=int(bad.sum()), example=first_example(df, bad, shown),
                            fix=how)
    return values


def _periods(df: pd.DataFrame, billing_period: object, billing_period_col: str | None, *,
             shown: list[str]) -> np.ndarray:
    """Months covered by each row (1 or 12) from the billing period keyword or column."""
    allowed = list(BILLING_PERIODS)
    if billing_period_col is None:
        if not isinstance(billing_period, str) or billing_period not in BILLING_PERIODS:
            hint = checks.suggest(str(billing_period), allowed)
            raise DataError(f"billing_period={billing_period!r} is not one of {allowed}",
                            fix=f"{hint}pass billing_period='M' (monthly invoices) or 'Y' "
                            "(annual invoices), or name a column with billing_period_col")
        return np.full(len(df), BILLING_PERIODS[billing_period], dtype=float)
    raw = df[billing_period_col]
    known = raw.isin(allowed).to_numpy(bool)
    if not known.all():
        bad = ~known
        seen = sorted({str(v) for v in raw[bad].unique()})[:5]
        raise DataError(f"billing periods in column {billing_period_col!r} are not 'M' or 'Y' "
                        f"(values seen: {seen})", n_rows=int(bad.sum()),
                        example=first_example(df, bad, [*shown, billing_period_col]),
                        fix=f"map them first, e.g. df[{billing_period_col!r}] = "
                        f"df[{billing_period_col!r}].map({{'monthly': 'M', 'annual': 'Y'}}), "
                        "then pass billing_period_col again")
    return raw.map(BILLING_PERIODS).to_numpy(dtype=float)


def _plans(df: pd.DataFrame, plan_col: str, shown: list[str]) -> np.ndarray:
    raw = df[plan_col]
    missing = raw.isna().to_numpy()
    if missing.any():
        raise DataError(f"plans in column {plan_col!r} are missing", n_rows=int(missing.sum()),
                        example=first_example(df, missing, shown),
                        fix=f"fill them (e.g. df[{plan_col!r}].fillna('unknown')) or leave "
                        "plan_col out")
    return raw.astype(str).to_numpy(dtype=object)


def _start(observation_start: object, end: pd.Timestamp) -> pd.Timestamp | None:
    if observation_start is None:
        return None
    start = to_naive_timestamp(observation_start, "observation_start").to_period(
        "M").to_timestamp()
    if start > end:
        raise DataError(f"observation_start {start.date()} is after observation_end "
                        f"{end.date()}", fix="pass the start of the window before its end")
    return start


def _month_complete(end: pd.Timestamp) -> bool:
    return bool(end.normalize() == (end + pd.offsets.MonthEnd(0)).normalize())


def _month_index(dates: pd.Series) -> np.ndarray:
    """Calendar months since January 1970 as floats (NaN for NaT)."""
    year = dates.dt.year.to_numpy(dtype=float, na_value=np.nan)
    month = dates.dt.month.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(calendar_periods(year, month, 1970, 1, "M"), dtype=float)


def _expand(*, customer: np.ndarray, first: np.ndarray, n_months: np.ndarray, mrr: np.ndarray,
            plan: np.ndarray | None, period: np.ndarray, order: np.ndarray,
            end: pd.Timestamp, start: pd.Timestamp | None) -> pd.DataFrame:
    """One row per payment and covered month, summed per customer and month, in the
    canonical columns; months after ``end`` and (but for ``started``) before ``start`` cut.
    """
    counts = n_months.astype(np.int64)
    row = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    month = first.astype(np.int64)[row] + offset
    last = int(_month_index(pd.Series([end]))[0])
    keep = month <= last
    row, month = row[keep], month[keep]
    long = pd.DataFrame({"customer_id": customer[row], "month": month, "mrr": mrr[row],
                         "billing_period": period[row], "order": order[row], "row": row})
    if plan is not None:
        long["plan"] = plan[row]
    long = long.sort_values(["mrr", "order", "row"], kind="stable")  # the main one last
    groups = long.groupby(["customer_id", "month"], sort=False)
    out = groups.agg(mrr=("mrr", "sum"), billing_period=("billing_period", "last"),
                     **({"plan": ("plan", "last")} if plan is not None else {}))
    out = out.reset_index()
    out["started"] = out.groupby("customer_id", sort=False)["month"].transform("min")
    if start is not None:
        out = out.loc[out["month"] >= int(_month_index(pd.Series([start]))[0])]
    columns: Sequence[str] = ["customer_id", "month", *(["plan"] if plan is not None else []),
                              "mrr", "billing_period", "started"]
    out = out.sort_values(["month", "customer_id"], kind="stable")[list(columns)]
    for col in ("month", "started"):
        out[col] = out[col].to_numpy().astype("datetime64[M]").astype("datetime64[us]")
    out["billing_period"] = out["billing_period"].astype(str)
    if plan is not None:
        out["plan"] = out["plan"].astype(str)
    return out.reset_index(drop=True)
