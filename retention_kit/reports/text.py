"""The report's generated text: reading curves, what to do next, and caveats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ._common import PERIODS, format_money, percent, points
from .client import ClientData
from .sections import ClvForecast, FitCheck, HeadlineKPIs


def curve_sentence(curve: pd.DataFrame, period: str = "M", *, contractual: bool = False) -> str:
    """One sentence reading an average retention curve at a few ages.

    Examples
    --------
    >>> curve = pd.DataFrame({"retention": [1.0, 0.4, 0.35, 0.3], "n_cohorts": [4, 3, 2, 1]},
    ...                      index=pd.Index([0, 1, 2, 3], name="period"))
    >>> curve_sentence(curve)
    "Share of a month's new customers who buy again k months later: 40.0% (k = 1), 30.0% (k = 3)."
    """
    name = PERIODS.get(period, ("period",))[0]
    marks = [k for k in (1, 3, 6, 12, 24) if k in curve.index]
    if not marks:
        return "Too few periods yet to read a retention curve."
    verb = "still pay" if contractual else "buy again"
    parts = ", ".join(f"{percent(curve.loc[k, 'retention'])} (k = {k})" for k in marks)
    return f"Share of a {name}'s new customers who {verb} k {name}s later: {parts}."


def survival_sentence(result: Any, *, at: Sequence[float] = (6, 12, 24)) -> str:
    """One sentence reading a Kaplan-Meier curve (months): share still customers, median.

    Examples
    --------
    >>> from retention_kit.cohorts import survival
    >>> d = pd.DataFrame({"duration": [1.0, 2, 3, 5, 12, 30, 36],
    ...                   "churned": [True] * 5 + [False] * 2})
    >>> print(survival_sentence(survival(d), at=(6, 12)))
    Still customers after 6 months: 42.9%; after 12 months: 28.6%. Half of the customers
    were gone after 5 months.
    """
    table = result.table
    curve = table.loc[table["group"] == table["group"].iloc[0]]
    parts = []
    for t in at:
        if t <= float(curve["time"].max()):
            value = float(curve.loc[curve["time"] <= t, "survival"].iloc[-1])
            parts.append(f"after {t:g} months: {percent(value)}")
    text = ("Still customers " + "; ".join(parts) + ".") if parts else ""
    median = float(result.summary["median"].iloc[0])
    if math.isfinite(median):
        text += f" Half of the customers were gone after {median:g} months."
    else:
        text += " More than half of the customers are still customers at the end of the data."
    return text.strip()



def next_steps(kpis: HeadlineKPIs, *, segments: pd.DataFrame | None = None,
               tiers: pd.DataFrame | None = None, value: pd.DataFrame | None = None,
               fit: FitCheck | None = None, horizon_months: int = 12,
               forecast: ClvForecast | None = None) -> list[str]:
    """A short, numbered-list-ready "what to do next", generated from the numbers.

    Rules, in this order: a change in churn of a point or more (called seasonal when the
    same two periods a year earlier moved the same way by at least half as much); the
    at-risk segment holding the most past spend, with its recommended action; the
    concentration of forecast value in the top 20 %; the value of a 10 % churn cut (what a
    programme may cost); a low repeat purchase rate (below 40 %, shops only); revenue
    retention below 100 % (NRR) or 90 % (GRR); a forecast model that missed the holdout by
    more than 10 % (the ``caution`` threshold), or a forecast whose verdict is
    ``unreliable`` (what the data cannot tell, and what would fix it).

    Returns
    -------
    list of str

    Examples
    --------
    >>> k = HeadlineKPIs(client_id="c", display_name="C", currency="EUR", period="M",
    ...                  last_period="2024-12", previous_period="2024-11", customers=100,
    ...                  active_customers=50, retention=0.85, retention_previous=0.9,
    ...                  churn=0.15, churn_previous=0.10, repeat_purchase_rate=0.3, aov=20.0,
    ...                  revenue=2000.0, orders=100, data_start="2024-01-01",
    ...                  data_end="2024-12-31", activity_rule="a purchase in the last 180 days")
    >>> for line in next_steps(k):
    ...     print(line[:72])
    Churn rose from 10.0% in 2024-11 to 15.0% in 2024-12 (+5.0 pts). Compare
    Only 30.0% of customers bought more than once: a second-purchase offer t
    """
    name = PERIODS.get(kpis.period, ("period",))[0]
    candidates = [
        _churn_change_step(kpis, name),
        _at_risk_segment_step(segments) if segments is not None else None,
        _top_tiers_step(tiers, kpis.currency, name, horizon_months) if tiers is not None
        else None,
        _churn_cut_step(value, kpis.currency, name) if value is not None else None,
        _repeat_purchase_step(kpis),
        _revenue_retention_step(kpis),
        _model_fit_step(fit) if fit is not None and (
            forecast is None or forecast.verdict != "unreliable") else None,
        _unreliable_forecast_step(forecast) if forecast is not None else None,
    ]
    return [step for step in candidates if step is not None]


def _churn_change_step(kpis: HeadlineKPIs, name: str) -> str | None:
    """A change in churn of a point or more, called seasonal when last year moved alike."""
    delta = kpis.churn - kpis.churn_previous
    if not (math.isfinite(delta) and abs(delta) >= 0.01):
        return None
    moved = "rose" if delta > 0 else "fell"
    change = (f"Churn {moved} from {percent(kpis.churn_previous)} in {kpis.previous_period} to "
              f"{percent(kpis.churn)} in {kpis.last_period} ({points(delta)})")
    last_year = ""
    seasonal = False
    if kpis.churn_year_ago is not None and kpis.churn_previous_year_ago is not None:
        before = kpis.churn_year_ago - kpis.churn_previous_year_ago
        seasonal = before * delta > 0 and abs(before) >= abs(delta) / 2
        last_year = (f"{percent(kpis.churn_previous_year_ago)} to "
                     f"{percent(kpis.churn_year_ago)} in {kpis.year_ago_period}")
    if seasonal:
        return (f"{change}, as it did a year earlier ({last_year}): a seasonal swing rather "
                f"than a trend. Judge {kpis.last_period} against {kpis.year_ago_period} "
                f"({percent(kpis.churn_year_ago)}) rather than against the {name} before.")
    context = f" A year earlier it did not ({last_year})." if last_year else ""
    advice = (f"Compare the customers lost in {kpis.last_period} with those who "
              f"stayed (product, channel, service contacts, prices) to find the cause "
              f"before choosing a programme." if delta > 0 else
              f"Find out what changed and keep doing it; check next {name} that the "
              f"fall holds.")
    return f"{change}.{context} {advice}"


def _at_risk_segment_step(segments: pd.DataFrame) -> str | None:
    """The at-risk segment holding the most past spend, with its recommended action."""
    from .exports import act_on_segments

    chosen = act_on_segments(segments)
    if "share_spend" not in segments.columns or not chosen:
        return None
    top = chosen[0]
    row = segments.loc[top]
    action = str(row.get("action", "")).rstrip(".")
    if action:
        return (f"Act on the '{top}' segment: {int(row['customers']):,} customers "
                f"({percent(row['share_customers'])}) who brought {percent(row['share_spend'])} "
                f"of past spending have gone quiet. Recommended: {action[:1].lower()}"
                f"{action[1:]}.")
    return (f"Act on the '{top}' segment: {int(row['customers']):,} customers who brought "
            f"{percent(row['share_spend'])} of past spending have gone quiet.")


def _top_tiers_step(tiers: pd.DataFrame, cur: str, name: str, horizon_months: int,
                    ) -> str | None:
    """How much of the forecast value the top 20 % hold."""
    if len(tiers) < 2 or "cum_share_value" not in tiers.columns:
        return None
    top20 = tiers.iloc[:-1]
    share = float(top20["cum_share_value"].iloc[-1])
    customers = int(top20["customers"].sum())
    total = format_money(float(top20["clv_total"].sum()), cur)
    if "clv_total_low" in top20.columns:  # a caution: a range, not an exact number
        total = (f"between {format_money(float(top20['clv_total_low'].sum()), cur)} and "
                 f"{format_money(float(top20['clv_total_high'].sum()), cur)}")
    return (f"Protect the most valuable customers: the top {customers:,} "
            f"({percent(float(top20['share_customers'].sum()), 0)}) hold {percent(share, 0)} "
            f"of the next {horizon_months} months' forecast value ({total}); "
            f"give them priority service and watch their activity every {name}.")


def _churn_cut_step(value: pd.DataFrame, cur: str, name: str) -> str | None:
    """What a 10 % churn cut is worth (what a programme may cost)."""
    if len(value) < 2:
        return None
    row = value.iloc[1]
    cut = value.attrs.get("relative_cut", [0, 0.1])[1]
    return (f"Cutting churn by {cut:.0%} (from its average over the measured {name}s of the "
            "last year, "
            f"{percent(value.iloc[0]['churn_rate'])} a {name}, to {percent(row['churn_rate'])}) "
            f"is worth about {format_money(row['gain'], cur)} "
            f"per active customer, {format_money(row['total_gain'], cur)} across the "
            f"{value.attrs.get('n_customers', 0):,} active customers: a retention programme "
            f"costing less is worth testing against a control group before rolling it out.")


def _repeat_purchase_step(kpis: HeadlineKPIs) -> str | None:
    """A low repeat purchase rate (below 40 %, shops only)."""
    if kpis.nrr is not None or kpis.repeat_purchase_rate >= 0.4:
        return None
    return (f"Only {percent(kpis.repeat_purchase_rate)} of customers bought more than once: a "
            f"second-purchase offer to recent first-time buyers is the cheapest lever; "
            f"measure it on repeat purchases within 90 days.")


def _revenue_retention_step(kpis: HeadlineKPIs) -> str | None:
    """Revenue retention below 100 % (NRR) or 90 % (GRR)."""
    if kpis.nrr is None or kpis.grr is None:
        return None
    if kpis.nrr < 1:
        return (f"Net revenue retention is {percent(kpis.nrr)}: a year on, the subscribers of "
                f"a year ago pay {percent(1 - kpis.nrr)} less. Reduce cancellations first; "
                f"upgrades cannot make up for them.")
    if kpis.grr < 0.9:
        return (f"Expansion hides losses: net revenue retention is {percent(kpis.nrr)} but "
                f"gross retention only {percent(kpis.grr)}. Track cancelled and downgraded "
                f"revenue separately from upgrades.")
    return None


def _model_fit_step(fit: FitCheck) -> str | None:
    """A forecast model that missed the holdout by more than the ``ok`` threshold."""
    from ..diagnostics import describe_error

    if fit.verdict == "ok":
        return None
    return (f"Treat the forecast figures as rough: on the last months the model "
            f"{describe_error(fit.tracking_error)}. Seasonality or a recent change in the "
            f"business are the usual causes; re-check before budgeting on them.")


def _unreliable_forecast_step(forecast: ClvForecast) -> str | None:
    """A forecast the data cannot support: say so, and what would fix it."""
    if forecast.verdict != "unreliable":
        return None
    worst = forecast.checks.concerns()[0]
    return (f"Do not budget on customer values yet: {worst.reason[:1].lower()}"
            f"{worst.reason[1:]} What would fix it: {worst.fix or 'more data'}.")


def caveats(client: ClientData, kpis: HeadlineKPIs, *, fit: FitCheck | None = None,
            forecast: ClvForecast | None = None, segments: pd.DataFrame | None = None,
            margin: float | None = None, inactivity_days: int | None = None,
            extra: Iterable[str] = ()) -> list[str]:
    """What the reader should keep in mind: data window, definitions, model fit.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import headline_kpis, load_client
    >>> shop = load_client(data_dir() / "demo" / "retailer")
    >>> notes = caveats(shop, headline_kpis(shop), inactivity_days=180)
    >>> notes[0][43:106]
    '(4,000 customers, 18,481 transactions on 18,255 purchase days: '
    >>> notes[1][:60]
    'Customers never announce that they left: here a customer cou'
    """
    notes = [f"The data run from {kpis.data_start} to {kpis.data_end} ({kpis.customers:,} "
             f"customers, {len(client.transactions):,} transactions on {kpis.orders:,} "
             f"purchase days: a customer's transactions on one day count as one order); rates "
             f"use complete periods only, the last one being {kpis.last_period}."]
    if client.contractual:
        notes.append("Churn is observed: a subscriber is active in a month she pays for, and "
                     "lost when she stops paying.")
    else:
        days = inactivity_days if inactivity_days is not None else 180
        notes.append(f"Customers never announce that they left: here a customer counts as lost "
                     f"after {days} days without a purchase. Another rule gives other rates.")
    if fit is not None:
        notes.append(fit.sentence())
    if forecast is not None:
        gross = f"a gross margin of {margin:.0%} (an assumption; pass your own)" if (
            margin is not None) else "the given margin"
        notes.append(f"Forecast values are margin, not revenue: {forecast.method}, with {gross}; "
                     f"they cover today's customers only, not the ones still to be acquired.")
        if client.contractual and kpis.nrr is not None and kpis.nrr > 1:
            notes.append(f"Subscription values assume today's MRR; with net revenue retention "
                         f"of {percent(kpis.nrr)} they leave out expansion and are conservative.")
    if segments is not None:
        notes += [f"Segment scores: {n}" for n in segments.attrs.get("notes", [])][:2]
        if "mean_alive" in segments.columns:
            from ..diagnostics import segments_vs_alive

            agreement = segments_vs_alive(segments)
            if agreement.verdict != "ok":
                notes.append(agreement.sentence())
    notes += [str(e) for e in extra]
    return notes



_TREND_NAMES = {"active_customers": "Active customers", "revenue": "Revenue",
                "orders": "Orders"}


def _trend_base(series: pd.Series, per_year: int) -> tuple[Any, int] | None:
    """The period to compare the last one with: a year back, else the first with a value."""
    values = series.dropna()
    last = series.index[-1]
    if len(values) < 2 or values.index[-1] != last:
        return None
    back = last - per_year
    if back in values.index:
        return back, per_year
    first = values.index[0]
    return first, int((last - first).n)


def _trend_period(p: pd.Period) -> str:
    """A period for a sentence: "2024-12", "2024Q4", "the week of 2024-12-23"."""
    return f"the week of {p.start_time.date()}" if p.freqstr.startswith("W") else str(p)


def _trend_amount(column: str, value: float, currency: str) -> str:
    return format_money(value, currency) if column == "revenue" else f"{value:,.0f}"


def trend_sentence(trends: pd.DataFrame, period: str | None = None) -> str:
    """One sentence on the biggest movement over the last year, and on churn.

    Compares the last period of a :func:`~retention_kit.reports.trends.shop_trends` table
    with the same period a year earlier (or with the first period that has a value, when
    the table covers less than a year). The volume measure (active customers, revenue,
    orders) whose relative change is the largest in size is named with its two values
    (new customers, a noisy flow, are left to the chart); churn follows with its two
    values. Changes that round to zero are "about the same" or "stayed at", never "-0%".

    Parameters
    ----------
    trends : DataFrame
        Output of :func:`~retention_kit.reports.trends.shop_trends` (periods as index).
    period : {"W", "M", "Q"}, optional
        Defaults to ``trends.attrs["period"]``.

    Returns
    -------
    str

    Examples
    --------
    >>> t = pd.DataFrame({"active_customers": [1000.0] + [990.0] * 11 + [880.0],
    ...                   "churn": [0.041] + [0.05] * 11 + [0.053]},
    ...                  index=pd.period_range("2023-12", periods=13, freq="M"))
    >>> print(trend_sentence(t, "M"))
    Active customers fell 12% over the last 12 months (1,000 in 2023-12, 880 in
    2024-12); churn rose from 4.1% to 5.3% a month.
    """
    period = period or str(trends.attrs.get("period") or "M")
    check = PERIODS.get(period)
    if check is None:
        raise ValueError(f"period={period!r} is not one of {list(PERIODS)}")
    name = check[0]
    per_year = round(12 / check[1])
    if len(trends) < 2 or not isinstance(trends.index, pd.PeriodIndex):
        return "Too few periods yet to read a trend."
    currency = str(trends.attrs.get("currency") or "")
    best: tuple[float, str, Any, int, float, float] | None = None
    for column in _TREND_NAMES:
        if column not in trends.columns:
            continue
        series = trends[column].astype(float)
        base = _trend_base(series, per_year)
        if base is None:
            continue
        v0, v1 = float(series.loc[base[0]]), float(series.iloc[-1])
        if not (math.isfinite(v0) and math.isfinite(v1)) or v0 <= 0:
            continue
        change = v1 / v0 - 1
        if best is None or abs(change) > abs(best[0]):
            best = (change, column, base[0], base[1], v0, v1)
    parts = []
    last = trends.index[-1]
    if best is not None:
        change, column, p0, span, v0, v1 = best
        how = ("stayed about the same" if round(100 * change) == 0 else
               f"{'rose' if change > 0 else 'fell'} {abs(change):.0%}")
        parts.append(f"{_TREND_NAMES[column]} {how} over the last {span} {name}"
                     f"{'s' if span != 1 else ''} ({_trend_amount(column, v0, currency)} in "
                     f"{_trend_period(p0)}, {_trend_amount(column, v1, currency)} in "
                     f"{_trend_period(last)})")
    if "churn" in trends.columns:
        churn = trends["churn"].astype(float)
        base = _trend_base(churn, per_year)
        if base is not None:
            c0, c1 = percent(float(churn.loc[base[0]])), percent(float(churn.iloc[-1]))
            if c0 == c1:
                text = f"churn stayed at {c1} a {name}"
            else:
                moved = "rose" if float(churn.iloc[-1]) > float(churn.loc[base[0]]) else "fell"
                text = f"churn {moved} from {c0} to {c1} a {name}"
            if best is None or best[2] != base[0]:
                text += f" ({_trend_period(base[0])} to {_trend_period(last)})"
            parts.append(text)
    if not parts:
        return "Too few periods yet to read a trend."
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
