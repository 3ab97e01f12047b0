"""Measures of a subscription business from the monthly subscription table.

The input is the table :mod:`retention_kit.billing` builds (and
:func:`~retention_kit.simulate.simulate_subscriptions` simulates): one row per customer per
paid month with ``customer_id``, ``month`` and ``mrr`` (a row with MRR 0, or no row, is a
month not paid). :func:`subscription_metrics` gives the monthly KPI table (customers, MRR,
ARPA, the MRR bridge of :func:`~retention_kit.metrics.mrr_movements`, logo movements, churn
rates, quick ratio); :func:`churn_by_tenure` the monthly churn hazard by tenure band with
intervals; :func:`trailing_revenue_retention` the NRR and GRR of the last ``months`` months.

Months are calendar months: a ``month`` column of dates is read as monthly periods (every
month between the first and the last is present, even one in which nobody pays).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import critical_z, first_example, require_columns, whole
from ..errors import DataError, data_error
from ..units import to_naive_timestamp
from ._inputs import option
from .revenue import RevenueRetention, cohort_revenue_retention, mrr_movements

__all__ = ["churn_by_tenure", "churn_spikes", "subscription_metrics",
           "trailing_revenue_retention"]


# --------------------------------------------------------------------------- KPIs by month


def subscription_metrics(subscriptions: pd.DataFrame, *, customer_col: str = "customer_id",
                         period_col: str = "month", mrr_col: str = "mrr") -> pd.DataFrame:
    r"""Monthly KPIs of a subscription business: logos, MRR, ARPA, movements, churn rates.

    A customer *pays* in a month when her MRR there is above 0. For each month :math:`t`
    with paying customers :math:`N_t` and MRR :math:`M_t` (start values
    :math:`N_{t-1}, M_{t-1}`):

    - **logo movements**: ``new_customers`` pay for the first time, ``reactivated_customers``
      pay again after at least one month without paying, ``churned_customers`` paid in
      :math:`t-1` and not in :math:`t`; every month satisfies
      :math:`N_t = N_{t-1} + \text{new} + \text{reactivated} - \text{churned}` (checked on
      every call);
    - **MRR movements** (``new_mrr``, ``expansion_mrr``, ``contraction_mrr``,
      ``churned_mrr``, ``reactivated_mrr``, positive amounts) are those of
      :func:`~retention_kit.metrics.mrr_movements`, whose bridge
      :math:`M_t = M_{t-1} + N + X - C - K + R` is checked there;
    - :math:`\text{ARPA}_t = M_t / N_t` (average revenue per paying account);
    - ``logo_churn_rate`` :math:`= \text{churned}_t / N_{t-1}`;
    - ``revenue_churn_rate`` (gross MRR churn) :math:`= (K_t + C_t) / M_{t-1}`;
    - ``net_revenue_churn_rate`` :math:`= (K_t + C_t - X_t) / M_{t-1}` (negative when
      expansion outgrows the losses: net negative churn);
    - ``quick_ratio`` :math:`= (N_t + X_t + R_t) / (K_t + C_t)`, MRR gained per unit lost
      (Mamoon Hamid's SaaS quick ratio; above 4 is usually read as efficient growth).

    **Undefined values are NaN, never 0 or inf**: the churn rates of a month that starts
    with no paying customer (always the first month: the table has no month before it, so
    all its customers count as new), ARPA of a month with no paying customer, and the quick
    ratio of a month in which nothing was lost (no churned or contracted MRR: the ratio is
    undefined, not infinite). Drop the first row when the table begins mid-history: its
    "new" customers are the existing base.

    Source: the standard SaaS definitions (e.g. Skok, "SaaS Metrics 2.0"; the quick ratio
    from Hamid, 2015); the MRR bridge is :func:`~retention_kit.metrics.mrr_movements`.

    Parameters
    ----------
    subscriptions : DataFrame
        One row per customer per month (several rows of a customer in a month are summed);
        not modified.
    customer_col, period_col, mrr_col : str, keyword-only
        Column names. A ``period_col`` of dates is read as calendar months (monthly
        ``Period`` values work too); other labels are taken as they are, as in
        :func:`~retention_kit.metrics.mrr_movements`.

    Returns
    -------
    DataFrame
        One row per month (index named ``period_col``: the first day of each month for
        dates), columns ``customers`` (paying at the end), ``mrr``, ``arpa``,
        ``start_customers``, ``new_customers``, ``reactivated_customers``,
        ``churned_customers``, ``start_mrr``, ``new_mrr``, ``expansion_mrr``,
        ``contraction_mrr``, ``churned_mrr``, ``reactivated_mrr``, ``logo_churn_rate``,
        ``revenue_churn_rate``, ``net_revenue_churn_rate``, ``quick_ratio``.

    Raises
    ------
    DataError
        Everything :func:`~retention_kit.metrics.mrr_movements` rejects (missing columns,
        an empty table, missing customers, months or MRR, negative or infinite MRR).

    Examples
    --------
    A upgrades from 100 to 120 in February; B (50) skips February and comes back in March;
    C joins in February at 80 and downgrades to 60 in March. February: start 2 logos and
    150, B churns (1 of 2 logos; 50 of 150 MRR), A expands by 20, so the net revenue churn
    is (50 - 20) / 150 = 0.2 and the quick ratio (80 + 20) / 50 = 2. March: C contracts by
    20 and B's 50 comes back: quick ratio 50 / 20 = 2.5.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["A", "B", "A", "C", "A", "B", "C"],
    ...     "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01",
    ...                              "2024-03-01", "2024-03-01", "2024-03-01"]),
    ...     "mrr": [100.0, 50.0, 120.0, 80.0, 120.0, 50.0, 60.0]})
    >>> m = subscription_metrics(subs)
    >>> m[["customers", "mrr", "arpa", "churned_customers", "reactivated_customers"]].round(2)
                customers    mrr    arpa  churned_customers  reactivated_customers
    month
    2024-01-01          2  150.0   75.00                  0                      0
    2024-02-01          2  200.0  100.00                  1                      0
    2024-03-01          3  230.0   76.67                  0                      1
    >>> print(m[["logo_churn_rate", "revenue_churn_rate", "net_revenue_churn_rate",
    ...          "quick_ratio"]].round(3).to_string())
                logo_churn_rate  revenue_churn_rate  net_revenue_churn_rate  quick_ratio
    month
    2024-01-01              NaN                 NaN                     NaN          NaN
    2024-02-01              0.5               0.333                     0.2          2.0
    2024-03-01              0.0               0.100                     0.1          2.5
    """
    frame, as_months = _monthly(subscriptions, customer_col, period_col, mrr_col)
    moves = _movements(frame, customer_col, period_col, mrr_col, as_months)
    mrr = pd.to_numeric(frame[mrr_col]).to_numpy(dtype=float)
    paid = pd.DataFrame({"c": frame[customer_col].to_numpy(), "p": frame[period_col].to_numpy(),
                         "m": mrr}).groupby(["c", "p"], sort=False)["m"].sum()
    wide = paid.unstack("p", fill_value=0.0).reindex(columns=moves.index, fill_value=0.0)
    cur = wide.to_numpy(dtype=float) > 0
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    paid_before = np.zeros_like(cur)
    paid_before[:, 1:] = np.logical_or.accumulate(cur, axis=1)[:, :-1]
    came = cur & ~prev

    out = pd.DataFrame(index=moves.index)
    out["customers"] = cur.sum(axis=0)
    out["mrr"] = moves["end"].to_numpy()
    out["arpa"] = _ratio(out["mrr"].to_numpy(), out["customers"].to_numpy())
    out["start_customers"] = prev.sum(axis=0)
    out["new_customers"] = (came & ~paid_before).sum(axis=0)
    out["reactivated_customers"] = (came & paid_before).sum(axis=0)
    out["churned_customers"] = (prev & ~cur).sum(axis=0)
    names = {"start": "start_mrr", "new": "new_mrr", "expansion": "expansion_mrr",
             "contraction": "contraction_mrr", "churn": "churned_mrr",
             "reactivation": "reactivated_mrr"}
    for source, name in names.items():
        out[name] = moves[source].to_numpy()
    _check_logo_identity(out)
    start = out["start_mrr"].to_numpy()
    lost = (out["churned_mrr"] + out["contraction_mrr"]).to_numpy()
    gained = (out["new_mrr"] + out["expansion_mrr"] + out["reactivated_mrr"]).to_numpy()
    out["logo_churn_rate"] = _ratio(out["churned_customers"].to_numpy(),
                                    out["start_customers"].to_numpy())
    out["revenue_churn_rate"] = _ratio(lost, start)
    out["net_revenue_churn_rate"] = _ratio(lost - out["expansion_mrr"].to_numpy(), start)
    out["quick_ratio"] = _ratio(gained, lost)
    out.attrs.update(kind="subscription_metrics",
                     undefined="NaN: a rate of a month that starts with no paying customer "
                     "(the first month), ARPA without paying customers, the quick ratio of a "
                     "month with no churned or contracted MRR")
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, NaN (undefined) elsewhere."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def _check_logo_identity(table: pd.DataFrame) -> None:
    """Raise if ``customers != start + new + reactivated - churned`` in some month."""
    rebuilt = (table["start_customers"] + table["new_customers"]
               + table["reactivated_customers"] - table["churned_customers"]).to_numpy()
    bad = rebuilt != table["customers"].to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"the logo bridge does not balance in {int(bad.sum())} month(s); first: "
            f"{table.index[i]!r}. This is a bug in retention_kit.metrics.subscription_metrics; "
            "please report it.")


def _monthly(subscriptions: pd.DataFrame, customer_col: str, period_col: str,
             mrr_col: str) -> tuple[pd.DataFrame, bool]:
    """The three columns, a naive datetime ``period_col`` as the first day of its month;
    True if it holds such dates."""
    if not isinstance(subscriptions, pd.DataFrame):
        raise TypeError("subscriptions must be a pandas DataFrame, not "
                        f"{type(subscriptions).__name__}")
    require_columns(subscriptions, {customer_col: "customer_col (the customer)",
                                    period_col: "period_col (the month)",
                                    mrr_col: "mrr_col (monthly recurring revenue)"},
                    what="the subscription table")
    frame = subscriptions[[customer_col, period_col, mrr_col]]
    dates = frame[period_col]
    if pd.api.types.is_datetime64_dtype(dates) and not dates.isna().any():
        months = dates.to_numpy().astype("datetime64[M]").astype("datetime64[us]")
        return frame.assign(**{period_col: months}), True
    return frame, False


def _movements(frame: pd.DataFrame, customer_col: str, period_col: str, mrr_col: str,
               as_months: bool) -> pd.DataFrame:
    """:func:`mrr_movements` of ``frame``, with every calendar month between the first and
    the last when the periods are months (a row of MRR 0 for each month nobody paid in)."""
    if as_months and len(frame):
        have = frame[period_col].to_numpy().astype("datetime64[M]")
        every = np.arange(have.min(), have.max() + 1)
        gaps = np.setdiff1d(every, have)
        if len(gaps):
            filler = pd.DataFrame({customer_col: np.repeat(frame[customer_col].iloc[:1].to_numpy(),
                                                           len(gaps)),
                                   period_col: gaps.astype("datetime64[us]"), mrr_col: 0.0})
            frame = pd.concat([frame, filler], ignore_index=True)
    return mrr_movements(frame, customer_col=customer_col, period_col=period_col,
                         mrr_col=mrr_col)


# --------------------------------------------------------------------------- tenure


def churn_by_tenure(subscriptions: pd.DataFrame, *, bands: Sequence[int] = (1, 3, 6, 12, 24),
                    observation_end: object = None, by: str | None = None,
                    customer_col: str = "customer_id", period_col: str = "month",
                    mrr_col: str = "mrr", started_col: str | None = "started",
                    confidence: float = 0.95) -> pd.DataFrame:
    r"""Monthly churn hazard by tenure band, with counts and a Wilson interval.

    A customer's **tenure month** is 1 in her first paid month, 2 in the next calendar
    month, and so on (months since the first paid month, plus 1). A paid month :math:`m`
    with tenure :math:`t` is a **month at risk**: the customer churns after it when she
    does not pay in month :math:`m + 1` (the churn of
    :func:`~retention_kit.metrics.mrr_movements`). In a band :math:`b` of tenure months,

    .. math:: \hat h_b = \frac{\text{churns after a month at risk in } b}
                              {\text{months at risk in } b}

    the share of paying customer-months in the band that are the customer's last before a
    churn: the probability of churning at the next renewal, given tenure in the band (the
    sBG's :math:`\theta` when churn is constant; its :math:`\alpha / (\alpha + \beta + t -
    1)` at tenure :math:`t` for customers of mixed :math:`\theta`).

    **Right-censoring**: whether a customer pays in the month after the last observed
    month :math:`L` (the month of ``observation_end``, by default the last month of the
    table) is not seen, so paid months in :math:`L` are *not* months at risk: they count
    neither as a survival nor as a churn. Counting them as survivals would bias the hazard
    down by the share of customers whose churn is not yet visible.

    **Reactivations**: a customer who stops paying and comes back is at risk again from the
    month she returns, at her calendar tenure (the gap counts, as months since the first
    paid month); her next churn counts again, so a customer can churn more than once. The
    months of the gap are not at risk.

    **Left truncation**: a customer paying in the table's first month may have started
    before it, and her tenure would be understated. With a ``started`` column (the first
    paid month, written by :mod:`retention_kit.billing`), tenure counts from it, and the
    customer enters the bands at her true tenure; without one, tenure counts from the first
    paid month in the table and ``attrs["n_maybe_left_truncated"]`` says how many customers
    paid in its first month (drop them, or pass ``started``, if the business is older than
    the table).

    The interval is Wilson's score interval for a binomial proportion, treating the months
    at risk as independent trials (exact for a constant hazard; customers of different
    risk make it somewhat narrow). A band with no month at risk has no hazard: its
    ``hazard``, ``lower`` and ``upper`` are NaN (undefined) and its counts 0.

    Parameters
    ----------
    subscriptions : DataFrame
        One row per customer per paid month (rows with MRR 0 are months not paid; several
        rows of a customer in a month are summed); not modified.
    bands : sequence of int, default (1, 3, 6, 12, 24)
        The first tenure month of each band, increasing from 1: the default bands are
        months 1-2, 3-5, 6-11, 12-23 and 24 on.
    observation_end : date-like, optional
        The last observed day; its month is the last observed month (default: the last
        month in the table). Rows after that month are refused.
    by : str, optional
        A column (e.g. ``"plan"``): one block of bands per value. A month at risk belongs
        to the value of that month (a churn to the plan the customer left from); when a
        customer's month has several rows, to the row with the most MRR.
    customer_col, period_col, mrr_col : str, keyword-only
        Column names; ``period_col`` holds dates (read as calendar months) or monthly
        Periods.
    started_col : str or None, default "started"
        Column of the customer's first paid month, used as the tenure origin when the table
        has it; None ignores it.
    confidence : float, default 0.95
        Level of the interval, in (0, 1).

    Returns
    -------
    DataFrame
        One row per band (index ``tenure`` with labels such as ``"1-2"`` and ``"24+"``;
        with ``by``, a MultiIndex of the value and the band), columns ``customers``
        (distinct customers with a month at risk in the band), ``customer_months`` (months
        at risk), ``churns``, ``hazard``, ``lower``, ``upper``. ``attrs`` records
        ``kind="churn_by_tenure"``, ``last_month``, ``tenure_origin``, ``confidence``,
        ``n_maybe_left_truncated`` (without ``started``) or ``n_left_truncated`` (with it).

    Raises
    ------
    DataError
        Missing columns; months that are not dates; bands not increasing whole numbers
        from 1; rows after ``observation_end``; a ``started`` after the customer's first
        paid month; everything :func:`~retention_kit.metrics.mrr_movements` rejects.

    Examples
    --------
    Observed January to April. A pays every month (at risk in tenure months 1, 2, 3; April
    is the last observed month, not at risk); B pays January and February and churns
    (at risk in months 1 and 2, churning after 2); C joins in March (at risk in month 1);
    D pays February only (at risk in month 1, churns). Months 1-2: 6 months at risk, 2
    churns; months 3 on: 1 month at risk, no churn.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["A", "B", "A", "B", "D", "A", "C", "A", "C"],
    ...     "month": pd.to_datetime(["2024-01-01"] * 2 + ["2024-02-01"] * 3
    ...                             + ["2024-03-01"] * 2 + ["2024-04-01"] * 2),
    ...     "mrr": 10.0})
    >>> churn_by_tenure(subs, bands=(1, 3)).round(3)
            customers  customer_months  churns  hazard  lower  upper
    tenure
    1-2             4                6       2   0.333  0.097  0.700
    3+              1                1       0   0.000  0.000  0.793
    """
    frame, paying = _tenure_input(subscriptions, customer_col, period_col, mrr_col, by,
                                  started_col)
    edges = _bands(bands)
    conf = option("confidence", confidence, low=0.0, high=1.0)
    months = paying["month"].to_numpy()
    last = int(months.max())
    if observation_end is not None:
        end = to_naive_timestamp(observation_end, "observation_end")
        last = int(pd.Period(end, freq="M").ordinal)
        after = frame["__month"].to_numpy() > last
        if after.any():
            raise data_error(f"rows after the month of observation_end {end.date()}",
                             n_rows=int(after.sum()),
                             example=first_example(subscriptions, after,
                                                   [customer_col, period_col]),
                             fix="keep only the months observed, or pass a later "
                             "observation_end")

    customers = paying["customer"].to_numpy()
    same_next = np.zeros(len(paying), dtype=bool)
    same_next[:-1] = (customers[1:] == customers[:-1]) & (months[1:] == months[:-1] + 1)
    at_risk = months < last
    churned = at_risk & ~same_next
    tenure = months - paying["origin"].to_numpy() + 1
    band = np.searchsorted(edges, tenure, side="right") - 1
    labels = _labels(edges)
    risk = pd.DataFrame({"customer": customers[at_risk], "band": band[at_risk],
                         "churn": churned[at_risk]})
    keys = ["band"]
    if by is not None:
        risk.insert(0, "by", paying["by"].to_numpy()[at_risk])
        keys = ["by", "band"]
    grouped = risk.groupby(keys, sort=True)
    counts = pd.DataFrame({"customers": grouped["customer"].nunique(),
                           "customer_months": grouped["churn"].size(),
                           "churns": grouped["churn"].sum()})
    if by is None:
        full = pd.Index(range(len(labels)), name="band")
    else:
        values = sorted(paying["by"].unique())
        full = pd.MultiIndex.from_product([values, range(len(labels))], names=[by, "band"])
    counts = counts.reindex(full, fill_value=0).astype("int64")
    hazard, lower, upper = _wilson(counts["churns"].to_numpy(),
                                   counts["customer_months"].to_numpy(), conf)
    out = counts.assign(hazard=hazard, lower=lower, upper=upper)
    names = [labels[i] for i in out.index.get_level_values("band")]
    if by is None:
        out.index = pd.Index(names, name="tenure")
    else:
        out.index = pd.MultiIndex.from_arrays(
            [out.index.get_level_values(by), names], names=[by, "tenure"])
    first_month = int(months.min())
    truncation = ({"n_left_truncated": int(paying.groupby("customer")["origin"].first()
                                           .lt(paying.groupby("customer")["month"].min())
                                           .sum())}
                  if "__started" in frame.columns else
                  {"n_maybe_left_truncated": int(
                      paying.loc[paying["month"] == first_month, "customer"].nunique())})
    out.attrs.update(kind="churn_by_tenure",
                     last_month=pd.Period(ordinal=last, freq="M").to_timestamp(),
                     tenure_origin="started" if "__started" in frame.columns
                     else "first paid month", confidence=conf, **truncation)
    return out


def _tenure_input(subscriptions: pd.DataFrame, customer_col: str, period_col: str,
                  mrr_col: str, by: str | None, started_col: str | None,
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The caller's rows with month ordinals (``__month``), and the paying customer-months
    sorted by customer and month with ``customer, month, origin`` (and ``by``)."""
    frame, as_months = _monthly(subscriptions, customer_col, period_col, mrr_col)
    if by is not None:
        require_columns(subscriptions, {by: "by (the column to split by)"},
                        what="the subscription table")
    mrr_movements(frame, customer_col=customer_col, period_col=period_col, mrr_col=mrr_col)
    work = pd.DataFrame({"customer": frame[customer_col].to_numpy(),
                         "month": _ordinals(frame[period_col], period_col, as_months),
                         "mrr": pd.to_numeric(frame[mrr_col]).to_numpy(dtype=float)},
                        index=subscriptions.index)
    if by is not None:
        work["by"] = subscriptions[by].to_numpy()
        if work["by"].isna().any():
            bad = work["by"].isna().to_numpy()
            raise data_error(f"{by} has missing values", n_rows=int(bad.sum()),
                             example=first_example(subscriptions, bad, [customer_col, by]),
                             fix=f"fill them (e.g. df[{by!r}].fillna('unknown')) or drop "
                             "these rows")
    use_started = started_col is not None and started_col in subscriptions.columns
    if use_started:
        started = pd.to_datetime(subscriptions[started_col], errors="coerce")
        bad = started.isna().to_numpy()
        if bad.any():
            raise data_error(f"{started_col} is missing or not a date", n_rows=int(bad.sum()),
                             example=first_example(subscriptions, bad,
                                                   [customer_col, started_col]),
                             fix="give every row the customer's first paid month, or pass "
                             "started_col=None to count tenure from the first month in the "
                             "table")
        work["started"] = started.dt.to_period("M").array.asi8
    out = frame.assign(__month=work["month"].to_numpy())
    if use_started:
        out = out.assign(__started=work["started"].to_numpy())
    paid = work.loc[work["mrr"].to_numpy() > 0]
    if paid.empty:
        raise data_error("no customer pays in any month (every MRR is 0)",
                         n_rows=len(work), fix="check mrr_col names the MRR column")
    paid = paid.sort_values(["customer", "month", "mrr"], kind="stable")
    group = paid.groupby(["customer", "month"], sort=False)
    agg = {"mrr": ("mrr", "sum")}
    if by is not None:
        agg["by"] = ("by", "last")  # sorted by mrr: the row with the most MRR
    paying = group.agg(**agg).reset_index()
    first_paid = paying.groupby("customer", sort=False)["month"].transform("min")
    if use_started:
        origin = paid.groupby("customer", sort=False)["started"].min()
        paying["origin"] = paying["customer"].map(origin).to_numpy()
        late = (paying["origin"] > first_paid).to_numpy()
        if late.any():
            row = paying.loc[late].iloc[0]
            raise data_error(f"{started_col} is after the customer's first paid month",
                             n_rows=int(paying.loc[late, "customer"].nunique()),
                             example=f"customer {row['customer']!r}: {started_col} "
                             f"{pd.Period(ordinal=int(row['origin']), freq='M')}, first paid "
                             f"month {pd.Period(ordinal=int(first_paid[late].iloc[0]), freq='M')}",
                             fix=f"{started_col} is the first paid month; rebuild it, or pass "
                             "started_col=None")
    else:
        paying["origin"] = first_paid.to_numpy()
    return out, paying.sort_values(["customer", "month"], kind="stable").reset_index(drop=True)


def _ordinals(period: pd.Series, period_col: str, as_months: bool) -> np.ndarray:
    """Calendar months since January 1970 of month starts, monthly Periods or date text."""
    if as_months:
        return period.to_numpy().astype("datetime64[M]").astype(np.int64)
    if period.dtype == pd.PeriodDtype("M"):
        return period.array.asi8
    try:
        if pd.api.types.is_numeric_dtype(period) or pd.api.types.is_bool_dtype(period):
            raise TypeError("numbers are not months")
        dates = pd.to_datetime(period, format="mixed")
        return dates.to_numpy().astype("datetime64[M]").astype(np.int64)
    except (TypeError, ValueError):
        raise data_error(f"{period_col} does not hold months, so time cannot be counted in "
                         "months", example=f"first values {period.head(3).tolist()}",
                         fix="pass dates (the first day of each month) or monthly "
                         "Periods") from None


def _bands(bands: object) -> np.ndarray:
    try:
        edges = [whole("bands", b, minimum=1) for b in bands]  # type: ignore[union-attr]
    except TypeError:
        raise data_error(f"bands={bands!r} is not a sequence of tenure months",
                         fix="pass the first tenure month of each band, e.g. "
                         "bands=(1, 3, 6, 12, 24)") from None
    if not edges or edges[0] != 1 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise data_error(f"bands={tuple(bands)!r} must start at 1 and increase",  # type: ignore[arg-type]
                         fix="pass the first tenure month of each band, from 1 up, e.g. "
                         "bands=(1, 3, 6, 12, 24) for months 1-2, 3-5, 6-11, 12-23, 24+")
    return np.asarray(edges, dtype=np.int64)


def _labels(edges: np.ndarray) -> list[str]:
    out = []
    for i, low in enumerate(edges):
        if i + 1 == len(edges):
            out.append(f"{low}+")
        else:
            high = int(edges[i + 1]) - 1
            out.append(f"{low}" if high == low else f"{low}-{high}")
    return out


def _wilson(k: np.ndarray, n: np.ndarray, confidence: float,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share k/n and its Wilson score interval; NaN (undefined) where n = 0."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = critical_z(1 - confidence)
    p, lower, upper = (np.full(k.shape, np.nan) for _ in range(3))
    ok = n > 0
    pk, nk = k[ok] / n[ok], n[ok]
    denom = 1 + z * z / nk
    centre = (pk + z * z / (2 * nk)) / denom
    half = z / denom * np.sqrt(pk * (1 - pk) / nk + z * z / (4 * nk * nk))
    p[ok] = pk
    lower[ok] = np.maximum(centre - half, 0.0)
    upper[ok] = np.minimum(centre + half, 1.0)
    return p, lower, upper


# --------------------------------------------------------------------------- trailing NRR


def trailing_revenue_retention(subscriptions: pd.DataFrame, *, months: int = 12,
                               end: object = None, customer_col: str = "customer_id",
                               period_col: str = "month",
                               mrr_col: str = "mrr") -> RevenueRetention:
    r"""NRR and GRR over the last ``months`` months: the customers paying ``months`` before
    ``end``, followed to ``end``.

    With :math:`S` the MRR of the customers paying in month :math:`e - n` (:math:`n` =
    ``months``) and their expansion :math:`X`, contraction :math:`C` and churned MRR
    :math:`K` by month :math:`e`:

    .. math:: \mathrm{NRR} = \frac{S + X - C - K}{S}, \qquad
              \mathrm{GRR} = \frac{S - C - K}{S}

    This is :func:`~retention_kit.metrics.cohort_revenue_retention` with ``start`` and
    ``end`` set from the end month (customers who joined since are left out).

    Parameters
    ----------
    subscriptions : DataFrame
        One row per customer per month; not modified.
    months : int, default 12
        The span in months (12: trailing-twelve-month NRR).
    end : date-like, optional
        A day in the last month measured (default: the last month of the table). Pass the
        last *complete* month when the data end mid-month.
    customer_col, period_col, mrr_col : str, keyword-only
        Column names; ``period_col`` holds dates (read as calendar months) or monthly
        Periods.

    Returns
    -------
    RevenueRetention

    Raises
    ------
    DataError
        The start month lies before the table's first month; no MRR in the start month;
        everything :func:`~retention_kit.metrics.mrr_movements` rejects.

    Examples
    --------
    In January A pays 100, B 50, C 80; in April A pays 120, C 60 and the newcomer D 30.
    Over three months: NRR = (230 + 20 - 20 - 50) / 230, GRR = (230 - 20 - 50) / 230.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["A", "B", "C", "A", "C", "D"],
    ...     "month": pd.to_datetime(["2024-01-01"] * 3 + ["2024-04-01"] * 3),
    ...     "mrr": [100.0, 50.0, 80.0, 120.0, 60.0, 30.0]})
    >>> r = trailing_revenue_retention(subs, months=3)
    >>> round(r.nrr, 4), round(r.grr, 4)
    (0.7826, 0.6957)
    """
    n = whole("months", months, minimum=1, unit="months")
    unit = "month" if n == 1 else "months"
    frame, as_months = _monthly(subscriptions, customer_col, period_col, mrr_col)
    mrr_movements(frame, customer_col=customer_col, period_col=period_col, mrr_col=mrr_col)
    ordinal = _ordinals(frame[period_col], period_col, as_months)
    last = (int(ordinal.max()) if end is None
            else int(pd.Period(to_naive_timestamp(end, "end"), freq="M").ordinal))
    first = last - n
    if first < ordinal.min():
        begins = pd.Period(ordinal=int(ordinal.min()), freq="M")
        raise DataError(f"the table starts in {begins}, fewer than {n} {unit} before "
                        f"{pd.Period(ordinal=last, freq='M')}",
                        fix=f"pass months={last - int(ordinal.min())} or fewer, or a later end")
    mrr = pd.to_numeric(frame[mrr_col]).to_numpy(dtype=float)
    if not mrr[ordinal == first].sum() > 0:
        raise DataError(f"no MRR in {pd.Period(ordinal=first, freq='M')}, {n} {unit} before "
                        f"{pd.Period(ordinal=last, freq='M')}, so no revenue to retain",
                        fix="choose months or end so that customers pay in the start month")
    starts = ordinal.astype("datetime64[M]").astype("datetime64[us]")  # first days
    work = pd.DataFrame({customer_col: frame[customer_col].to_numpy(), period_col: starts,
                         mrr_col: frame[mrr_col].to_numpy()})
    return cohort_revenue_retention(
        work, start=pd.Period(ordinal=first, freq="M").to_timestamp(),
        end=pd.Period(ordinal=last, freq="M").to_timestamp(), customer_col=customer_col,
        period_col=period_col, mrr_col=mrr_col)


# --------------------------------------------------------------------------- churn spikes


def churn_spikes(metrics: pd.DataFrame, *, window: int = 6, ratio: float = 1.3,
                 p_value: float = 1e-5) -> pd.DataFrame:
    r"""Months whose cancellations stand far above the months around them.

    For each month t of a :func:`subscription_metrics` table, the usual churn rate
    :math:`\tilde c_t` is the median ``logo_churn_rate`` of the ``window`` months before
    and the ``window`` after (t itself left out, so a spike does not raise its own
    baseline). The month is a spike when its churners :math:`K_t` out of :math:`N_{t-1}`
    paying at its start are at least ``ratio`` times the expected
    :math:`N_{t-1}\tilde c_t` **and** so many are unlikely by chance: the binomial
    probability :math:`P(X \ge K_t)`, :math:`X \sim \mathrm{Bin}(N_{t-1}, \tilde c_t)`, is
    below ``p_value``. A one-month spike of cancellations is the mark of an event rather
    than of customers deciding one by one: card payments failing (involuntary churn), a
    price change, an outage, a billing migration. The first ``window`` months of the table
    are not tested: a young customer base churns faster than an older one (early churn is
    highest), which is not an event.

    Parameters
    ----------
    metrics : DataFrame
        :func:`subscription_metrics` output (``start_customers``, ``churned_customers``,
        ``logo_churn_rate``).
    window : int, default 6
        Months on each side that set the usual rate.
    ratio : float, default 1.3
        How many times the expected count a spike is at least.
    p_value : float, default 1e-5
        Chance of so many churners at the usual rate, below which a month is a spike.
        Small, because every month is tested and customers differ in their churn (more
        spread than the binomial's): at 0.001, 4 of 40 simulated 36-month tables without
        any event had a false spike; at 1e-5, none, and a month in which 6% of about 800
        subscribers' payments failed was found in 25 of 40 (10%: 40 of 40).

    Returns
    -------
    DataFrame
        One row per spike month (indexed like ``metrics``): ``churned`` (customers),
        ``expected`` (at the usual rate), ``ratio``, ``excess`` (churned - expected),
        ``usual_rate``, ``rate``, ``p_value``. Empty when no month stands out.

    Examples
    --------
    Fourteen months with 5% churn of 1,000 customers, and one month with 12%:

    >>> m = pd.DataFrame({"start_customers": [1000.0] * 14,
    ...                   "churned_customers": [50.0] * 7 + [120.0] + [50.0] * 6},
    ...                  index=pd.period_range("2024-01", periods=14, freq="M"))
    >>> m["logo_churn_rate"] = m["churned_customers"] / m["start_customers"]
    >>> churn_spikes(m)[["churned", "expected", "ratio", "excess"]]
             churned  expected  ratio  excess
    2024-08    120.0      50.0    2.4    70.0
    """
    from scipy import stats

    require_columns(metrics, {"start_customers": "paying customers at the start",
                              "churned_customers": "customers lost",
                              "logo_churn_rate": "logo churn rate"},
                    what="the monthly metrics (from subscription_metrics)")
    window = int(whole("window", window))
    if window < 1:
        raise data_error(f"window must be at least 1 month, got {window!r}",
                         fix="pass e.g. window=6")
    rate = metrics["logo_churn_rate"].to_numpy(dtype=float)
    start = metrics["start_customers"].to_numpy(dtype=float)
    churned = metrics["churned_customers"].to_numpy(dtype=float)
    rows = []
    for t in range(window, len(metrics)):
        if not (start[t] > 0 and np.isfinite(rate[t])):
            continue
        around = np.r_[rate[max(0, t - window):t], rate[t + 1:t + 1 + window]]
        around = around[np.isfinite(around)]
        if len(around) < 3:
            continue
        usual = float(np.median(around))
        expected = start[t] * usual
        if usual <= 0 or churned[t] < ratio * expected:
            continue
        p = float(stats.binom.sf(churned[t] - 1, int(start[t]), usual))
        if p < p_value:
            rows.append({"churned": churned[t], "expected": expected,
                         "ratio": churned[t] / expected, "excess": churned[t] - expected,
                         "usual_rate": usual, "rate": rate[t], "p_value": p,
                         "_at": metrics.index[t]})
    out = pd.DataFrame(rows, columns=["churned", "expected", "ratio", "excess", "usual_rate",
                                      "rate", "p_value", "_at"])
    return out.set_index(pd.Index(out.pop("_at").tolist(), name=metrics.index.name,
                                  dtype=metrics.index.dtype))
