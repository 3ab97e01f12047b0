"""The numbers of each report section: retention, headline KPIs, CLV forecast, holdout
check, segments, tiers and the value of a churn cut."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, data_error
from ..notebook import check_choice
from ._common import (
    PERIODS,
    QUALITY_MIME,
    VERDICT_WORDS,
    HTMLText,
    KpiTable,
    escape,
    format_money,
    percent,
    points,
    table_html,
)
from .client import ClientData


def _last_complete(end: pd.Timestamp, period: str) -> pd.Period:
    current = pd.Period(end, freq=period)
    complete = end.normalize() >= current.end_time.normalize()
    return current if complete else current - 1


def _active_at(last_dates: Callable[[pd.Timestamp], pd.Series], when: pd.Timestamp,
               days: int) -> pd.Index:
    last = last_dates(when)
    return last.index[(last > when - pd.Timedelta(days=days)).to_numpy()]


def period_retention(client: ClientData, *, period: str = "M", n_periods: int = 13,
                     inactivity_days: int = 180) -> pd.DataFrame:
    """Customers at the start and end of each recent period, retained, lost and new.

    A customer is *active* at a date when

    * subscription clients: she pays (MRR > 0) in that date's month;
    * other clients: her last purchase up to that date is less than ``inactivity_days``
      days old (the rule :func:`retention_kit.cohorts.churn_durations` uses).

    For period p, ``start`` counts the customers active at the end of period p-1 and
    ``end`` those active at the end of p; ``retained`` are in both, ``lost`` only in the
    first, ``new`` only in the second (new or returning customers). The rates are
    :func:`retention_kit.metrics.retention_rate` (end - new) / start and
    :func:`retention_kit.metrics.churn_rate` lost / start.

    Parameters
    ----------
    client : ClientData
    period : {"W", "M", "Q"}
    n_periods : int
        Number of complete periods, ending with the last complete one before the
        observation end.
    inactivity_days : int

    Returns
    -------
    DataFrame
        Indexed by ``period`` (pandas Periods, oldest first): ``start``, ``retained``,
        ``lost``, ``new``, ``end``, ``retention_rate``, ``churn_rate`` (NaN where
        ``start`` is 0, and for a shop where the activity rule cannot judge yet: a period
        starting less than ``inactivity_days`` after the first transaction;
        ``attrs["not_judged"]`` then says so).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> box = load_client(data_dir() / "demo" / "subscription_box")
    >>> table = period_retention(box, n_periods=2)
    >>> table[["start", "retained", "lost", "new", "end"]]
             start  retained  lost  new  end
    period
    2024-11   1021       930    91  138  1068
    2024-12   1068       979    89  101  1080
    >>> round(float(table["churn_rate"].iloc[-1]), 4)
    0.0833
    """
    from ..metrics import churn_rate, retention_rate

    check_choice("period", period, list(PERIODS))
    last = _last_complete(client.observation_end, period)
    periods = pd.period_range(end=last, periods=n_periods + 1, freq=period)
    bounds = [p.end_time.normalize() for p in periods]
    if client.subscriptions is not None:
        subs = client.subscriptions
        paying = subs.loc[subs["mrr"] > 0]
        months = paying["month"].dt.to_period("M")

        def active(when: pd.Timestamp) -> pd.Index:
            return pd.Index(paying.loc[months == pd.Period(when, freq="M"), "customer_id"]
                            .unique())
    else:
        tx = client.transactions.sort_values("date")

        def last_dates(when: pd.Timestamp) -> pd.Series:
            upto = tx.loc[tx["date"] < when + pd.Timedelta(days=1)]
            return upto.groupby("customer_id")["date"].max()

        def active(when: pd.Timestamp) -> pd.Index:
            return _active_at(last_dates, when, inactivity_days)

    sets = [active(b) for b in bounds]
    rows = []
    for before, after in zip(sets[:-1], sets[1:], strict=True):
        retained = before.intersection(after)
        rows.append({"start": len(before), "retained": len(retained),
                     "lost": len(before) - len(retained), "new": len(after) - len(retained),
                     "end": len(after)})
    table = pd.DataFrame(rows, index=pd.PeriodIndex(periods[1:], name="period"))
    ok = table["start"] > 0
    table["retention_rate"] = np.nan
    table["churn_rate"] = np.nan
    if ok.any():
        part = table.loc[ok]
        table.loc[ok, "retention_rate"] = retention_rate(part["start"], part["end"],
                                                         part["new"]).to_numpy()
        table.loc[ok, "churn_rate"] = churn_rate(part["start"], part["lost"]).to_numpy()
    not_judged = ""
    if client.subscriptions is None:
        # the activity rule looks back inactivity_days: at a date less than that after the
        # first transaction it cannot tell who was active (customers who bought before the
        # log are missing), so the rates of a period starting before then are not measured,
        # not 100% retention and 0% churn
        horizon = (client.transactions["date"].min().normalize()
                   + pd.Timedelta(days=inactivity_days - 1))
        blind = np.array([b < horizon for b in bounds[:-1]])
        if blind.any():
            table.loc[blind, ["retention_rate", "churn_rate"]] = np.nan
            not_judged = (f"the {inactivity_days}-day activity rule looks back before the "
                          f"first transaction until {horizon.date()}")
    table.attrs.update(kind="period_retention", period=period,
                       rule="paying in the month" if client.contractual else
                       f"a purchase in the last {inactivity_days} days", not_judged=not_judged)
    return table


def _trailing_revenue_retention(subs: pd.DataFrame, end: pd.Timestamp,
                                months: int = 12) -> tuple[float, float] | None:
    """NRR and GRR of the MRR paying ``months`` months before the last complete month
    (:func:`retention_kit.metrics.cohort_revenue_retention`); None without such MRR."""
    from ..metrics import cohort_revenue_retention

    last = _last_complete(end, "M")
    first = last - months
    start_mrr = subs.loc[(subs["month"].dt.to_period("M") == first).to_numpy(), "mrr"]
    if not (start_mrr > 0).any():
        return None
    result = cohort_revenue_retention(subs, start=first.start_time, end=last.start_time)
    return float(result.nrr), float(result.grr)


@dataclass(frozen=True)
class HeadlineKPIs(KpiTable):
    """The report's headline numbers (see :func:`headline_kpis`).

    Displayed in a notebook as the KPI table; its JSON form (:meth:`to_dict`) is
    published under :data:`KPI_MIME` for the batch's index page.
    """

    client_id: str
    display_name: str
    currency: str
    period: str
    last_period: str
    previous_period: str
    customers: int
    active_customers: int
    retention: float
    retention_previous: float
    churn: float
    churn_previous: float
    repeat_purchase_rate: float
    aov: float
    revenue: float
    orders: int
    data_start: str
    data_end: str
    activity_rule: str
    nrr: float | None = None
    grr: float | None = None
    year_ago_period: str | None = None
    """The same period a year before ``last_period`` (when the data reach back)."""
    churn_year_ago: float | None = None
    churn_previous_year_ago: float | None = None
    not_judged: str = ""
    """Why the last period's retention and churn are not measured (empty when they are)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (NaN becomes None)."""
        out = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(measure, value, change vs previous period, meaning) rows of the KPI table."""
        name = PERIODS[self.period][0]
        cur = self.currency
        unmeasured = (f"; not measured yet: {self.not_judged}"
                      if self.not_judged and not math.isfinite(self.churn) else "")
        rows = [
            ("Customers", f"{self.customers:,}", "",
             f"bought at least once, {self.data_start} to {self.data_end}"),
            (f"Active customers ({self.last_period})", f"{self.active_customers:,}", "",
             f"active: {self.activity_rule}"),
            (f"Retention rate ({self.last_period})", percent(self.retention),
             points(self.retention - self.retention_previous),
             f"share of the previous {name}'s active customers still active{unmeasured}"),
            (f"Churn rate ({self.last_period})", percent(self.churn),
             points(self.churn - self.churn_previous),
             f"share of the previous {name}'s active customers lost{unmeasured}"),
            ("Repeat purchase rate", percent(self.repeat_purchase_rate), "",
             "customers who bought on two days or more"),
            ("Average order value", format_money(self.aov, cur), "",
             f"{format_money(self.revenue, cur)} over {self.orders:,} orders (purchase "
             "days: a customer's transactions on one day count as one order)"),
        ]
        if self.nrr is not None and self.grr is not None:
            rows += [("Net revenue retention (12 months)", percent(self.nrr), "",
                      "MRR kept from a year ago, expansion included"),
                     ("Gross revenue retention (12 months)", percent(self.grr), "",
                      "MRR kept from a year ago, without expansion")]
        return rows



def _finite(value: object) -> float | None:
    out = float(value)  # type: ignore[arg-type]
    return out if math.isfinite(out) else None


def headline_kpis(client: ClientData, *, period: str = "M", inactivity_days: int = 180,
                  currency: str | None = None, retention: pd.DataFrame | None = None,
                  ) -> HeadlineKPIs:
    """Customers, retention and churn of the last period vs the previous one, and more.

    Parameters
    ----------
    client : ClientData
    period : {"W", "M", "Q"}
    inactivity_days : int
        Activity rule of clients without subscriptions (see :func:`period_retention`).
    currency : str, optional
        Defaults to ``client.json``'s.
    retention : DataFrame, optional
        A :func:`period_retention` table to reuse (computed when not given). With a year
        and two periods of history (14 months, 54 weeks or 6 quarters) the churn of the
        same two periods a year earlier is filled in too, so a change can be told from
        seasonality.

    Returns
    -------
    HeadlineKPIs
        Repeat purchase rate (:func:`retention_kit.metrics.repeat_purchase_rate`, purchase
        days per customer) and AOV (:func:`retention_kit.metrics.average_order_value`, an
        order being a customer's purchases of one day) cover the whole data window; NRR
        and GRR (:func:`retention_kit.metrics.revenue_retention`, the MRR of a year before
        the last complete month) only clients with subscriptions.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> k = headline_kpis(load_client(data_dir() / "demo" / "retailer"))
    >>> k.last_period, k.previous_period, k.customers
    ('2024-12', '2024-11', 4000)
    >>> round(k.churn, 4), round(k.repeat_purchase_rate, 3)
    (0.1059, 0.756)
    """
    from ..metrics import average_order_value, repeat_purchase_rate

    per_year = round(12 / PERIODS[period][1])
    table = retention if retention is not None else period_retention(
        client, period=period, n_periods=per_year + 2, inactivity_days=inactivity_days)
    if len(table) < 2:
        raise data_error("fewer than two complete periods to compare",
                         fix="use a shorter period or more data")
    last, prev = table.iloc[-1], table.iloc[-2]
    if not last["start"] > 0 or not prev["start"] > 0:
        raise data_error(f"no active customers at the start of {table.index[-2]} or "
                         f"{table.index[-1]}, so no retention rate",
                         fix="check observation_end or use a longer period")
    seg = client.segmentation_summary
    orders = int(seg["purchases"].sum())
    revenue = float(seg["total_spend"].sum())
    nrr_grr = (_trailing_revenue_retention(client.subscriptions, client.observation_end)
               if client.subscriptions is not None else None)
    tx = client.transactions
    year_ago: dict[str, Any] = {}
    back = table.index[-1] - per_year
    if back in table.index and (back - 1) in table.index:
        year_ago = {"year_ago_period": str(back),
                    "churn_year_ago": _finite(table.loc[back, "churn_rate"]),
                    "churn_previous_year_ago": _finite(table.loc[back - 1, "churn_rate"])}
    return HeadlineKPIs(**year_ago,
        client_id=client.client_id, display_name=client.display_name,
        currency=(currency if currency is not None else str(client.info.get("currency") or "")),
        period=period, last_period=str(table.index[-1]), previous_period=str(table.index[-2]),
        customers=int(len(seg)), active_customers=int(last["end"]),
        retention=float(last["retention_rate"]), retention_previous=float(prev["retention_rate"]),
        churn=float(last["churn_rate"]), churn_previous=float(prev["churn_rate"]),
        repeat_purchase_rate=float(repeat_purchase_rate(seg["purchases"])),
        aov=float(average_order_value(revenue, orders)), revenue=revenue, orders=orders,
        data_start=str(tx["date"].min().date()), data_end=str(client.observation_end.date()),
        activity_rule=str(table.attrs.get("rule", "")),
        not_judged=str(table.attrs.get("not_judged", "")),
        nrr=None if nrr_grr is None else nrr_grr[0], grr=None if nrr_grr is None else nrr_grr[1])


def cohort_period(client: ClientData, period: str = "M") -> str:
    """Period for the cohort heatmap: quarters when monthly cohorts would be too many.

    More than 18 monthly (or 26 weekly) cohorts make an unreadable heatmap, so they are
    grouped by quarter.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> cohort_period(load_client(data_dir() / "demo" / "retailer"), "M")
    'Q'
    """
    span_days = (client.observation_end - client.transactions["date"].min()).days
    limit = {"W": 26 * 7, "M": 18 * 30.4, "Q": 10_000}[period]
    return "Q" if span_days > limit else period


#: The most cohorts the report's heatmap shows, per period (a readable heatmap).
MAX_COHORTS: dict[str, int] = {"W": 26, "M": 18, "Q": 40}


def report_cohorts(client: ClientData, period: str = "M", *,
                   customers_since: object = None) -> pd.DataFrame:
    """The cohort heatmap's table in the report's own period: its most recent cohorts.

    :func:`retention_kit.cohorts.cohort_table` (``mode="exact"``, shares) by ``period``
    (the unit of every rate in the report, unlike :func:`cohort_period`, which groups
    many monthly cohorts into quarters), keeping the last :data:`MAX_COHORTS` cohorts
    (18 months, 26 weeks, 40 quarters) and the columns they reach. The average
    retention curve still uses every cohort. ``attrs["n_cohorts_left_out"]`` counts
    the older cohorts dropped and ``attrs["shown"]`` says what the table shows.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> t = report_cohorts(load_client(data_dir() / "demo" / "retailer"))
    >>> len(t), str(t.index[0]), str(t.index[-1]), t.attrs["n_cohorts_left_out"]
    (18, '2023-04', '2024-09', 15)
    >>> print(t.attrs["shown"])
    The last 18 monthly cohorts (2023-04 to 2024-09); the 15 older ones are in the average
    retention curve below.
    """
    from ..cohorts import cohort_table

    check_choice("period", period, list(PERIODS))
    table = cohort_table(client.transactions, period=period,
                         observation_end=client.observation_end,
                         customers_since=customers_since)
    limit = MAX_COHORTS[period]
    left_out = max(len(table) - limit, 0)
    recent = table.iloc[left_out:]
    recent = recent.loc[:, recent.notna().any(axis=0)].copy()
    recent.attrs = dict(table.attrs)
    name = PERIODS[period][0]
    span = f"{recent.index[0]} to {recent.index[-1]}" if len(recent) else "none"
    shown = (f"The last {len(recent)} {name}ly cohorts ({span}); the {left_out} older ones "
             f"are in the average retention curve below." if left_out else
             f"Every {name}ly cohort ({span}).")
    recent.attrs.update(n_cohorts_left_out=left_out, shown=shown)
    return recent


# =====================================================================================
# models: CLV forecast and holdout check
# =====================================================================================


#: Findings that decide how a forecast's money may be shown (the others describe the data).
FORECAST_CHECKS = ("boundary", "standard errors", "purchase rate identified",
                   "dropout identified", "parameters identified", "holdout fit",
                   "holdout fit by frequency", "model choice", "holdout seasonality",
                   "spend independent of frequency", "forecast ranges",
                   "churn in one month", "tenure piled at a cap", "churn at tenure 1")


@dataclass(frozen=True)
class ClvForecast:
    """A CLV forecast over ``horizon_months`` (see :func:`forecast_clv`)."""

    clv: pd.Series
    """Discounted margin per customer over the horizon (0 for lost subscribers)."""
    alive: pd.Series
    """P(alive): the transaction model's probability that the customer is still active;
    for subscriptions, the probability she still pays at the end of the horizon (0 if gone)."""
    model: Any
    """The fitted transaction (chosen on a holdout) or duration (sBG) model."""
    spend_model: Any
    """The fitted Gamma-Gamma model (None for subscriptions: the current MRR is used)."""
    method: str
    """One-line description of the method, for the report."""
    horizon_months: int
    diagnostics: Any = None
    """Every check of the model and the data, a
    :class:`~retention_kit.diagnostics.Diagnostics` (None: no checks were run)."""
    choice: Any = None
    """The :class:`~retention_kit.diagnostics.ModelChoice` (shops with a holdout)."""
    clv_lower: pd.Series | None = None
    """Lower end of a 90% interval per customer (parameter uncertainty), under ``caution``."""
    clv_upper: pd.Series | None = None
    """Upper end of that interval."""

    @property
    def checks(self) -> Any:
        """The findings that decide how the money may be shown (:data:`FORECAST_CHECKS`)."""
        from ..diagnostics import Diagnostics

        return Diagnostics(tuple(f for f in self.diagnostics or () if f.check in
                                 FORECAST_CHECKS or f.check.startswith("spend: ")))

    @property
    def verdict(self) -> str:
        """``ok``: exact money; ``caution``: ranges; ``unreliable``: no money at all."""
        return self.checks.verdict

    def withheld(self) -> list[str]:
        """Why no forecast money is shown, and what would fix it (under ``unreliable``)."""
        return [f"No value per customer is shown: {f.sentence()}"
                for f in self.checks.concerns() if f.verdict == "unreliable"]


def forecast_clv(client: ClientData, *, horizon_months: int = 12, discount_rate: float = 0.01,
                 margin: float = 0.3, holdout_months: int = 6, inactivity_days: int = 180,
                 period: str = "M", n_draws: int = 200) -> ClvForecast:
    """Forecast every customer's discounted margin over the next ``horizon_months``.

    * Clients without subscriptions: the transaction model is chosen on a
      calibration/holdout split (the last ``holdout_months`` held out) between MBG/NBD
      and Pareto/NBD by :func:`retention_kit.diagnostics.choose_model` (the reason is in
      ``choice.reason``; BG/NBD is not a candidate because it gives every one-time buyer
      P(alive) = 1), refitted on the whole window in weeks; Gamma-Gamma on the
      repeat customers; :func:`retention_kit.clv.customer_lifetime_value` with a monthly
      discount rate.
    * Subscription clients: sBG (Fader & Hardie 2007) on the renewals, and for each
      current subscriber margin x current MRR x sum over months k = 1..H of
      S(n + k) / S(n) / (1 + d)^k, with n her renewals so far. Lost subscribers are worth 0.

    The forecast carries its :class:`~retention_kit.diagnostics.Diagnostics`; its
    ``verdict`` decides what the report shows: exact money under ``ok``, a 90% interval
    per customer (``clv_lower``/``clv_upper``, a parametric bootstrap of ``n_draws``
    draws) under ``caution``, and no money under ``unreliable``.

    Parameters
    ----------
    client : ClientData
    horizon_months : int
    discount_rate : float
        Per month, a fraction.
    margin : float
        Gross margin on revenue, a fraction.
    holdout_months : int
        Months held out to choose and check the model.
    inactivity_days, period
        The report's activity rule and cohort period (for the data checks).
    n_draws : int
        Bootstrap draws for the intervals under ``caution``.

    Returns
    -------
    ClvForecast

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> f = forecast_clv(load_client(data_dir() / "demo" / "subscription_box"))
    >>> f.method.split(" ")[0], len(f.clv), bool(f.clv.max() > 0), f.verdict
    ('sBG', 3000, True, 'ok')
    """
    if client.subscriptions is not None:
        return _forecast_subscriptions(client, horizon_months=horizon_months,
                                       discount_rate=discount_rate, margin=margin,
                                       holdout_months=holdout_months, n_draws=n_draws)
    return _forecast_purchases(client, horizon_months=horizon_months,
                               discount_rate=discount_rate, margin=margin,
                               holdout_months=holdout_months, inactivity_days=inactivity_days,
                               period=period, n_draws=n_draws)


def _report_candidates() -> dict[str, type]:
    """The report's candidate transaction models. BG/NBD is left out: it gives every
    one-time buyer P(alive) = 1 however long ago she bought, which the report's segments
    ("lost") would contradict; MBG/NBD and Pareto/NBD let one-time buyers have left."""
    from ..models import MBGNBD, ParetoNBD

    return {"MBG/NBD": MBGNBD, "Pareto/NBD": ParetoNBD}


def _calibration_end(client: ClientData, holdout_months: int) -> pd.Timestamp:
    """The last day of the calibration period (checked: some data before it)."""
    cal_end = (pd.Period(client.observation_end, "M") - holdout_months).end_time.normalize()
    if cal_end <= client.transactions["date"].min():
        raise data_error(f"the holdout of {holdout_months} months leaves no calibration data",
                         fix="use a shorter holdout_months")
    return cal_end


def _forecast_subscriptions(client: ClientData, *, horizon_months: int, discount_rate: float,
                            margin: float, holdout_months: int, n_draws: int) -> ClvForecast:
    """The sBG forecast of :func:`forecast_clv` (subscription clients)."""
    from ..clv import expected_discounted_payments
    from ..cohorts import durations_to_renewals
    from ..diagnostics import Diagnostics, identification, snapshot_findings
    from ..models import SBG

    subs = client.subscriptions
    assert subs is not None
    durations = client.subscription_durations
    model = SBG().fit(durations_to_renewals(durations))
    current = durations.loc[~durations["churned"]]
    last_month = subs["month"].dt.to_period("M") == pd.Period(client.observation_end, "M")
    mrr = (subs.loc[last_month.to_numpy()].groupby("customer_id")["mrr"]
           .sum().reindex(current.index, fill_value=0.0))
    renewals = (current["duration"] - 1).to_numpy()
    value, alive_h = expected_discounted_payments(model, renewals, horizon=horizon_months,
                                                  discount_rate=discount_rate)
    clv = pd.Series(0.0, index=durations.index, name="clv")
    alive = pd.Series(0.0, index=durations.index, name="alive")
    clv.loc[current.index] = margin * mrr.to_numpy() * value
    alive.loc[current.index] = alive_h
    findings = list(identification(model))
    findings += snapshot_findings(durations, start_col="start")
    fit = holdout_check(client, holdout_months=holdout_months)
    findings.append(fit.finding())
    diagnostics = Diagnostics(tuple(findings))
    method = ("sBG for each subscriber's chance to keep paying month by month, times her "
              f"current MRR, discounted at {discount_rate:.2%} a month")
    forecast = ClvForecast(clv=clv, alive=alive, model=model, spend_model=None, method=method,
                           horizon_months=horizon_months, diagnostics=diagnostics)
    if forecast.verdict != "caution":
        return forecast

    def values(params: np.ndarray) -> np.ndarray:
        drawn = SBG.from_params(dict(zip(model.param_names, params, strict=True)))
        v, _ = expected_discounted_payments(drawn, renewals, horizon=horizon_months,
                                            discount_rate=discount_rate)
        return margin * mrr.to_numpy() * v

    return _with_ranges(forecast, model, values, current.index, n_draws)


def _forecast_purchases(client: ClientData, *, horizon_months: int, discount_rate: float,
                        margin: float, holdout_months: int, inactivity_days: int, period: str,
                        n_draws: int) -> ClvForecast:
    """The chosen transaction model + Gamma-Gamma forecast of :func:`forecast_clv`.

    Without a holdout (a log too short for it, or no candidate fits the calibration) the
    model is MBG/NBD on the whole window and an ``unreliable`` finding says why, so the
    report shows no money."""
    from ..clv import clv_interval, clv_schedule, customer_lifetime_value
    from ..data import calibration_holdout_split
    from ..diagnostics import Diagnostics, Finding, choose_model, diagnose
    from ..models import MBGNBD, GammaGamma

    summary = client.btyd_summary
    split = choice = None
    try:
        split = calibration_holdout_split(
            client.transactions, calibration_end=_calibration_end(client, holdout_months),
            observation_end=client.observation_end, time_unit="W")
        choice = choose_model(split, candidates=_report_candidates())
        checked = Diagnostics((choice.finding,))
        method = f"{choice.name} for purchases (chosen on a {holdout_months}-month holdout)"
    except DataError as exc:  # too short to hold out, or no candidate fits the calibration
        split = None
        checked = Diagnostics((Finding(
            "holdout fit", "unreliable",
            f"No model could be checked on held-out months ({str(exc).split('. ')[0]}): "
            "nothing shows that its forecasts hold.",
            fix=f"a log longer than the {holdout_months}-month holdout (a year or more), or "
            "a shorter holdout_months", rule="no holdout: unreliable"),))
        method = "MBG/NBD for purchases (not checked on a holdout)"
    model = (choice.model_class if choice is not None else MBGNBD)().fit(summary)
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend = GammaGamma().fit(repeat)
    units = {"time_unit": "W", "horizon": horizon_months, "discount_period": "M",
             "discount_rate": discount_rate, "margin": margin}
    alive = model.probability_alive(summary).rename("alive")
    diagnostics = diagnose(model, spend_model=spend, summary=summary, split=split,
                           transactions=client.transactions, inactivity=inactivity_days,
                           period=period, observation_end=client.observation_end,
                           calibrated=choice.model if choice is not None else None) + checked
    method += f" and Gamma-Gamma for spend, discounted at {discount_rate:.2%} a month"
    forecast = ClvForecast(clv=pd.Series(dtype=float, name="clv"), alive=alive, model=model,
                           spend_model=spend, method=method, horizon_months=horizon_months,
                           diagnostics=diagnostics, choice=choice)
    if forecast.verdict == "caution":
        try:
            ci = clv_interval(model, spend, summary, **units, n_draws=n_draws, random_state=0)
        except (DataError, ValueError) as exc:
            forecast = replace(forecast, diagnostics=forecast.diagnostics + _no_ranges(exc))
        else:
            # the interval's plug-in estimate is customer_lifetime_value's CLV (the same
            # computation): not computed twice
            clv = pd.Series(ci["estimate"].to_numpy(), index=summary.index, name="clv")
            clv.attrs.update(clv_schedule(**units).attrs())
            return replace(forecast, clv=clv, clv_lower=ci["lower"].rename("clv_lower"),
                           clv_upper=ci["upper"].rename("clv_upper"))
    return replace(forecast, clv=customer_lifetime_value(model, spend, summary, **units)
                   .rename("clv"))


def _no_ranges(exc: Exception) -> Any:
    """The finding for a forecast whose uncertainty cannot be drawn."""
    from ..diagnostics import Diagnostics, Finding

    return Diagnostics((Finding(
        "forecast ranges", "unreliable",
        f"The forecast needs ranges but its uncertainty cannot be computed ("
        f"{str(exc).split('. ')[0]}).", fix="a longer window or more customers",
        rule="caution needs a range; no covariance: unreliable"),))


def _with_ranges(forecast: ClvForecast, model: Any, values: Callable[[np.ndarray], np.ndarray],
                 index: pd.Index, n_draws: int) -> ClvForecast:
    """90% intervals per customer from draws of the parameters on the log scale."""
    from ..clv import parameter_draws

    try:
        draws = parameter_draws(model, n_draws, np.random.default_rng(0))
    except DataError:
        return replace(forecast, diagnostics=forecast.diagnostics + _no_ranges(
            ValueError("the standard errors are not finite")))
    sims = np.array([values(d) for d in draws])
    low = pd.Series(0.0, index=forecast.clv.index, name="clv_lower")
    high = pd.Series(0.0, index=forecast.clv.index, name="clv_upper")
    low.loc[index] = np.quantile(sims, 0.05, axis=0)
    high.loc[index] = np.quantile(sims, 0.95, axis=0)
    return replace(forecast, clv_lower=low, clv_upper=high)


@dataclass(frozen=True)
class FitCheck:
    """The forecast model checked on a holdout period (see :func:`holdout_check`)."""

    model: str
    calibration_end: str
    holdout_end: str
    what: str
    """What was predicted: "repeat purchases" or "subscribers still paying"."""
    actual: float
    predicted: float
    tracking_error: float
    """predicted / actual - 1."""
    mae: float | None
    """Mean absolute error per customer (purchases), None for subscriptions."""

    @property
    def verdict(self) -> str:
        """``ok``, ``caution`` or ``unreliable`` by the documented thresholds of
        :func:`retention_kit.diagnostics.error_verdict` (10% and 25%)."""
        from ..diagnostics import error_verdict

        return error_verdict(self.tracking_error)

    def finding(self) -> Any:
        """The check as a :class:`~retention_kit.diagnostics.Finding` ("holdout fit")."""
        from ..diagnostics import Finding, describe_error

        fix = "" if self.verdict == "ok" else (
            "a longer calibration period, or a model of the season or of the recent change")
        return Finding("holdout fit", self.verdict,
                       f"Fitted up to {self.calibration_end}, {self.model} "
                       f"{describe_error(self.tracking_error)}.", fix=fix,
                       value=self.tracking_error,
                       rule="|error| <= 10% ok, <= 25% caution, else unreliable")

    def sentence(self) -> str:
        """One sentence for the report (the verdict's wording, from its thresholds)."""
        from ..diagnostics import describe_error

        if self.what == "repeat purchases":
            claim = (f"predicted {self.predicted:,.0f} repeat orders (purchase days) by its "
                     f"customers between then and {self.holdout_end}; they made "
                     f"{self.actual:,.0f}")
        else:
            claim = (f"predicted that {self.predicted:,.0f} of the subscribers of "
                     f"{self.calibration_end} would still pay on {self.holdout_end}; "
                     f"{self.actual:,.0f} did")
        return (f"Fitted on the data up to {self.calibration_end}, the {self.model} model "
                f"{claim}: it {describe_error(self.tracking_error)}.")


def holdout_check(client: ClientData, *, holdout_months: int = 6,
                  forecast: ClvForecast | None = None) -> FitCheck | None:
    """Refit the forecast model without the last ``holdout_months`` and compare.

    Clients without subscriptions: the expected repeat purchases of the calibration
    customers in the holdout against the actual ones
    (:func:`retention_kit.evaluation.holdout_evaluation`), for the model the
    ``forecast`` chose on that split (MBG/NBD without a forecast). Subscription clients:
    sBG's expected number of the calibration's current subscribers still paying at the
    end against the actual number. None for a ``forecast`` that no holdout could choose
    or check (a log shorter than the holdout): its diagnostics say why.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> check = holdout_check(load_client(data_dir() / "demo" / "retailer"))
    >>> check.calibration_end, check.verdict
    ('2024-06-30', 'ok')
    """
    if forecast is not None and client.subscriptions is None and forecast.choice is None:
        return None  # the forecast had no holdout to choose or check it
    cal_end = _calibration_end(client, holdout_months)
    if client.subscriptions is not None:
        return _holdout_subscriptions(client, cal_end)
    choice = forecast.choice if forecast is not None else None
    return _holdout_purchases(client, cal_end, choice)


def _holdout_subscriptions(client: ClientData, cal_end: pd.Timestamp) -> FitCheck:
    """sBG fitted up to ``cal_end``: its subscribers still paying at the end, vs actual."""
    from ..cohorts import churn_durations, durations_to_renewals
    from ..evaluation import duration_holdout_evaluation
    from ..models import SBG

    subs = client.subscriptions
    assert subs is not None
    end = client.observation_end
    cal = churn_durations(subs.loc[subs["month"] <= cal_end], observation_end=cal_end)
    model = SBG().fit(durations_to_renewals(cal))
    months = int(round((end - cal_end).days / 30.4375))
    metrics = duration_holdout_evaluation(model, cal, client.subscription_durations,
                                          periods=months).metrics
    return FitCheck(model="sBG", calibration_end=str(cal_end.date()),
                    holdout_end=str(end.date()), what="subscribers still paying",
                    actual=float(metrics["actual_total"]),
                    predicted=float(metrics["predicted_total"]),
                    tracking_error=float(metrics["tracking_error"]), mae=None)


def _holdout_purchases(client: ClientData, cal_end: pd.Timestamp, choice: Any) -> FitCheck:
    """The chosen model fitted up to ``cal_end``: repeat purchases in the holdout, vs actual."""
    from ..data import calibration_holdout_split
    from ..evaluation import holdout_evaluation
    from ..models import MBGNBD

    end = client.observation_end
    split = calibration_holdout_split(client.transactions, calibration_end=cal_end,
                                      observation_end=end, time_unit="W")
    model = choice.model if choice is not None else MBGNBD().fit(split)
    metrics = holdout_evaluation(model, split).metrics
    return FitCheck(model=choice.name if choice is not None else "MBG/NBD",
                    calibration_end=str(cal_end.date()),
                    holdout_end=str(end.date()), what="repeat purchases",
                    actual=float(metrics["actual_total"]),
                    predicted=float(metrics["predicted_total"]),
                    tracking_error=float(metrics["tracking_error"]), mae=float(metrics["mae"]))


# =====================================================================================
# segments, tiers, the value of a churn cut
# =====================================================================================


def segment_table(client: ClientData, forecast: ClvForecast | None = None) -> pd.DataFrame:
    """RFM segments with their share of customers, of past spend and of forecast value.

    :func:`retention_kit.segments.rfm_segments` on the segmentation summary (recency in
    days), :func:`retention_kit.segments.segment_summary` with the recommended actions of
    :func:`retention_kit.segments.default_segment_actions`. Empty segments are dropped.

    Returns
    -------
    DataFrame
        Indexed by ``segment``: ``customers``, ``share_customers``, ``share_spend`` (past
        spend), ``share_clv`` and ``mean_alive`` (with a forecast whose verdict is not
        ``unreliable``: an unidentified model's P(alive) is not shown), ``strategy``,
        ``action``. ``attrs["notes"]`` holds the scoring notes (ties).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> t = segment_table(load_client(data_dir() / "demo" / "retailer"))
    >>> int(t["customers"].sum()), round(float(t["share_spend"].sum()), 6)
    (4000, 1.0)
    """
    from ..segments import rfm_segments, segment_summary

    segmented = rfm_segments(client.segmentation_summary, warn=False)
    past = segment_summary(segmented, actions=True)
    out = pd.DataFrame({"customers": past["customers"],
                        "share_customers": past["share_customers"],
                        "share_spend": past["share_value"]})
    if forecast is not None and forecast.verdict != "unreliable":
        clv = forecast.clv.reindex(segmented.index, fill_value=0.0)
        alive = forecast.alive.reindex(segmented.index, fill_value=0.0)
        future = segment_summary(segmented, value=clv, alive=alive)
        out["share_clv"] = future["share_value"]
        out["mean_alive"] = future["mean_alive"]
    for col in ("strategy", "action"):
        if col in past.columns:
            out[col] = past[col]
    out = out.loc[out["customers"] > 0]
    bins = segmented.attrs.get("bins")
    out.attrs.update(kind="report_segments", notes=list(getattr(bins, "notes", []) or []))
    return out


def tier_table(forecast: ClvForecast, *, tiers: Sequence[float] = (0.01, 0.05, 0.2),
               ) -> pd.DataFrame | None:
    """CLV tiers (top 1 %, 1-5 %, 5-20 %, the rest) with their value and mean P(alive).

    :func:`retention_kit.segments.clv_tier_summary` over the customers with a positive
    forecast (lost subscribers are left out). The claims follow the forecast's verdict:
    under ``caution`` the table adds ``clv_total_low`` and ``clv_total_high``, the sums of
    the customers' 90% interval bounds (parameter uncertainty moves all customers
    together, so these are close to the interval of the total); under ``unreliable``
    there is no table (None): see :meth:`ClvForecast.withheld`.

    Returns
    -------
    DataFrame or None
        Indexed by ``clv_tier``: ``customers``, ``share_customers``, ``clv_total``,
        ``share_value``, ``mean_clv``, ``min_clv``, ``cum_share_customers``,
        ``cum_share_value``, ``mean_alive`` (and the range columns).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> t = tier_table(forecast_clv(load_client(data_dir() / "demo" / "retailer")))
    >>> list(t.index)
    ['top 1%', 'top 1-5%', 'top 5-20%', 'bottom 80%']
    """
    from ..segments import clv_tier_summary, clv_tiers

    if forecast.verdict == "unreliable":
        return None
    valued = forecast.clv.loc[forecast.clv > 0]
    if valued.empty:
        raise data_error("no customer has a positive forecast value",
                         fix="check margin and the data's amounts")
    table = clv_tier_summary(valued, tiers=tiers, alive=forecast.alive.reindex(valued.index))
    if forecast.clv_lower is not None and forecast.clv_upper is not None:
        tier = clv_tiers(valued, tiers=tiers)
        for col, bound in (("clv_total_low", forecast.clv_lower),
                           ("clv_total_high", forecast.clv_upper)):
            table[col] = bound.reindex(valued.index).groupby(tier, observed=True).sum()
        table.attrs["ranges"] = ("90% intervals from the uncertainty of the model's "
                                 "parameters")
    return table


def churn_value(client: ClientData, retention: pd.DataFrame, *, margin: float,
                discount_rate: float, cuts: Sequence[float] = (0.1, 0.2, 0.3)) -> pd.DataFrame:
    """What cutting this client's churn by 10, 20 or 30 % is worth.

    :func:`retention_kit.experiments.churn_reduction_value` (the margin multiple
    m r / (1 + i - r) of Gupta & Lehmann 2003) with, per report period: the margin per
    active customer (margin x revenue of the periods in ``retention`` / active customers
    summed over them), the pooled retention rate of those periods (retained / start), the
    discount rate per period, and the customers active at the end.

    Parameters
    ----------
    client : ClientData
    retention : DataFrame
        A :func:`period_retention` table (its periods are used, 12 or more recommended).
    margin : float
        Gross margin on revenue.
    discount_rate : float
        Per report period.
    cuts : sequence of float
        Relative cuts of the churn rate (0.1 = churn 10 % lower).

    Returns
    -------
    DataFrame
        Indexed by ``reduction`` (churn points): ``retention_rate``, ``churn_rate``,
        ``clv``, ``gain`` (per customer), ``gain_pct``, ``total_gain`` (all active
        customers); ``attrs``: ``margin_per_period``, ``n_customers``, ``relative_cut``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> box = load_client(data_dir() / "demo" / "subscription_box")
    >>> v = churn_value(box, period_retention(box, n_periods=12), margin=0.3,
    ...                 discount_rate=0.01)
    >>> bool((v["gain"].diff().dropna() > 0).all()), v.attrs["relative_cut"]
    (True, [0.0, 0.1, 0.2, 0.3])
    """
    from ..experiments import churn_reduction_value

    table = retention.dropna(subset=["retention_rate"])
    if table.empty and retention.attrs.get("not_judged"):
        # a log shorter than the activity rule: say so instead of failing the report
        empty = pd.DataFrame(columns=["retention_rate", "churn_rate", "clv", "gain",
                                      "gain_pct", "total_gain"],
                             index=pd.Index([], name="reduction"), dtype=float)
        empty.attrs.update(relative_cut=[], n_customers=0, caption=(
            "No churn cut can be valued yet: no churn has been measured, because "
            f"{retention.attrs['not_judged']}. A longer log (or a shorter inactivity "
            "rule, if it suits the business) would fix it."))
        return empty
    if table.empty:
        raise data_error("no period with active customers to value a churn cut",
                         fix="use a longer data window")
    period = str(table.attrs.get("period") or retention.attrs.get("period") or "M")
    first = table.index[0].start_time
    last = table.index[-1].end_time
    tx = client.transactions
    revenue = float(tx.loc[(tx["date"] >= first) & (tx["date"] <= last), "amount"].sum())
    active = float(table["end"].sum())
    per_customer = margin * revenue / active
    retained = float(table["retained"].sum()) / float(table["start"].sum())
    churn = 1 - retained
    relative = [0.0, *[float(c) for c in cuts]]
    out = churn_reduction_value(per_customer, retained, discount_rate,
                                reductions=[c * churn for c in relative],
                                n_customers=max(int(table["end"].iloc[-1]), 1))
    out.attrs.update(margin_per_period=per_customer, n_customers=int(table["end"].iloc[-1]),
                     relative_cut=relative, period=period)
    return out



# --------------------------------------------------------------------------- data quality

#: What each rule of :func:`retention_kit.ingest.clean_transactions` did, for a client.
_RULE_WORDS = {
    "missing_customer": ("Guest checkouts (no customer id)",
                         {"drop": "left out (no customer to follow)"}),
    "excluded_products": ("Non-product lines (postage, fees)", {"drop": "left out"}),
    "zero_price": ("Lines worth 0 (free items)", {"drop": "left out", "keep": "kept"}),
    "negative_price": ("Negative prices (manual adjustments)", {"drop": "left out"}),
    "order_lines": ("Order lines of one order", {"sum": "added up into one order",
                                                 "keep": "each counted as an order"}),
    "identical_lines": ("Identical lines within an order",
                        {"sum": "summed into their order, not dropped",
                         "keep": "each counted as an order, not dropped"}),
    "returns": ("Returns and cancellations", {"net": "subtracted from the orders they return",
                                              "drop": "left out (revenue overstated)",
                                              "keep": "kept as negative revenue"}),
    "returns_netted_by_reference": ("... of them naming the order they cancel",
                                    {"net": "subtracted from that order"}),
    "returns_netted_against_earlier_orders": (
        "... of them naming no order", {"net": "subtracted from the customer's latest orders"}),
    "unmatched_returns": ("Returns of purchases made before the data starts",
                          {"drop": "left out (nothing to subtract them from)"}),
    "orders_returned_in_full": ("Orders returned in full", {"removed": "not counted as purchases"}),
}
#: Rules whose count is not of rows (the table's "Rows" column): the count says its unit.
_RULE_UNITS = {"orders_returned_in_full": "orders"}


@dataclass(frozen=True)
class DataQualityView:
    """The report's "data behind this report" section, see :func:`data_quality`."""

    sentence: str
    rows: list[tuple[str, str, str, str]]
    warnings: list[str]
    quality: dict[str, Any] | None

    def to_html(self) -> str:
        parts = [f"<p>{escape(self.sentence)}</p>"]
        if self.rows:
            parts.append(table_html(self.rows, ["What the data held", "Rows", "Revenue",
                                                "What the report does with it"],
                                    table_id="quality-table", css="rk-table rk-quality"))
        if self.warnings:
            parts.append("<p><strong>Check before relying on the numbers:</strong></p><ul>"
                         + "".join(f"<li>{escape(w)}</li>" for w in self.warnings) + "</ul>")
        return HTMLText("".join(parts))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = "\n".join([self.sentence, *(" | ".join(r) for r in self.rows), *self.warnings])
        bundle: dict[str, Any] = {"text/html": self.to_html(), "text/plain": text}
        if self.quality is not None:
            bundle[QUALITY_MIME] = self.quality
        return bundle


def data_quality(client: ClientData, currency: str = "") -> DataQualityView:
    """What the client's data held and what the report did with each kind of row.

    For a raw export (a ``client.json`` with a ``"spec"``) the rows of
    :attr:`ClientData.quality` that affected anything, in plain words, with the warnings
    of the data-quality report; the full report is published under ``QUALITY_MIME`` so
    the batch writes it next to the HTML. For a log given as one row per purchase, one
    sentence saying so.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> view = data_quality(load_client(data_dir() / "demo" / "till_export"), "GBP")
    >>> view.sentence
    'The export held 3,614 rows; they make 1,120 orders of 587 customers, 2023-12-01 to 2024-11-30.'
    >>> view.rows[0]
    ('Guest checkouts (no customer id)', '456', '£10,330', 'left out (no customer to follow)')
    """
    tx = client.transactions
    window = f"{tx['date'].min().date()} to {tx['date'].max().date()}"
    q = client.quality
    if q is None:
        return DataQualityView(
            f"The log was used as given: {len(tx):,} transactions (rows) of "
            f"{tx['customer_id'].nunique():,} customers, {window}.", [], [], None)
    rows = []
    for rule in q.rules.itertuples(index=False):
        label, actions = _RULE_WORDS.get(rule.rule, (rule.rule, {}))
        if rule.rows == 0:
            continue
        money = format_money(rule.revenue, currency) if rule.revenue else ""
        count = f"{rule.rows:,}" + (f" {_RULE_UNITS[rule.rule]}" if rule.rule in _RULE_UNITS
                                    else "")
        rows.append((label, count, money, actions.get(rule.policy, rule.policy)))
    sentence = (f"The export held {q.n_rows_in:,} rows; they make {len(tx):,} orders of "
                f"{tx['customer_id'].nunique():,} customers, {window}.")
    return DataQualityView(sentence, rows, list(q.warnings), q.to_dict())


# =====================================================================================
# trust: what the numbers can and cannot support
# =====================================================================================

#: MIME type of the trust verdict a report notebook publishes (written next to the report).
TRUST_MIME = "application/vnd.retention-kit.trust+json"


@dataclass(frozen=True)
class TrustView:
    """The report's "how far to trust the forecast" section, see :func:`trust_view`."""

    verdict: str
    sentence: str
    rows: list[tuple[str, str, str]]
    choice: str

    def to_html(self) -> str:
        parts = [f'<p class="rk-verdict rk-{escape(self.verdict)}"><strong>Verdict: '
                 f"{escape(VERDICT_WORDS[self.verdict])}.</strong> {escape(self.sentence)}</p>"]
        if self.choice:
            parts.append(f"<p>{escape(self.choice)}</p>")
        parts.append(table_html(self.rows, ["Check", "Verdict", "What we found"],
                                table_id="trust-table", css="rk-table rk-trust"))
        return HTMLText("".join(parts))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = "\n".join([f"Verdict: {self.verdict}. {self.sentence}", self.choice,
                          *(" | ".join(r) for r in self.rows)])
        return {"text/html": self.to_html(), "text/plain": text,
                TRUST_MIME: {"verdict": self.verdict, "sentence": self.sentence,
                             "checks": [list(r) for r in self.rows]}}


def trust_view(forecast: ClvForecast) -> TrustView:
    """Every check of the forecast and the data, with the verdict that decides the money.

    The verdict is the worst of the findings that bear on the model
    (:data:`FORECAST_CHECKS`): ``ok`` shows exact values per customer, ``caution`` shows
    90% ranges, ``unreliable`` shows none. Checks of the data alone (window, cohorts,
    left truncation) are listed too; they qualify the other sections.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> view = trust_view(forecast_clv(load_client(data_dir() / "demo" / "retailer")))
    >>> view.verdict, view.rows[0][:2]
    ('ok', ('Standard errors', 'ok'))
    """
    verdict = forecast.verdict
    if verdict == "ok":
        sentence = "The model is identified by the data and predicted the held-out months well, "
        sentence += "so values per customer are shown as computed."
    elif verdict == "caution":
        worst = [f.check for f in forecast.checks.concerns()]
        sentence = (f"Values per customer are shown as 90% ranges, not exact numbers, because of: "
                    f"{', '.join(worst)} (see below).")
    else:
        sentence = ("The data cannot support values per customer: no forecast money is shown. "
                    "The checks below say why and what would fix it.")
    order = {"unreliable": 0, "caution": 1, "ok": 2}
    findings = sorted(forecast.diagnostics, key=lambda f: order[f.verdict])
    rows = [(f.check[:1].upper() + f.check[1:], f.verdict, f.sentence()) for f in findings]
    choice = forecast.choice.reason if forecast.choice is not None else ""
    return TrustView(verdict=verdict, sentence=sentence, rows=rows, choice=choice)


def customers_since(client: ClientData, period: str = "M",
                    ) -> tuple[pd.Timestamp | None, Any]:
    """The date from which customers are new, when the log starts inside a customer base.

    :func:`retention_kit.diagnostics.left_truncation` on the client's log; when it is
    not ``ok``, :func:`retention_kit.diagnostics.suggest_customers_since` gives the first
    date whose first purchases are probably true acquisitions (pass it to
    ``cohort_table``/``retention_curve`` as ``customers_since``). Otherwise None.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> since, finding = customers_since(load_client(data_dir() / "demo" / "retailer"))
    >>> since, finding.verdict
    (None, 'ok')
    """
    from ..diagnostics import left_truncation, suggest_customers_since

    finding = left_truncation(client.transactions, period=period,
                              observation_end=client.observation_end)
    if finding.verdict == "ok":
        return None, finding
    return suggest_customers_since(client.transactions, period=period,
                                   observation_end=client.observation_end), finding


def survival_window_notes(client: ClientData, inactivity_days: int = 180) -> list[str]:
    """Why a survival curve built on an inactivity rule looks as it does, when it must.

    The ``window vs inactivity rule`` and ``inactivity rule vs purchase cycle`` findings
    of :func:`retention_kit.diagnostics.data_sufficiency` that are not ``ok`` (none for
    subscriptions, whose churn is observed).
    """
    from ..diagnostics import data_sufficiency

    if client.contractual:
        return []
    wanted = ("window vs inactivity rule", "inactivity rule vs purchase cycle")
    found = data_sufficiency(client.transactions, inactivity=inactivity_days,
                             observation_end=client.observation_end)
    return [f.sentence() for f in found if f.check in wanted and f.verdict != "ok"]
