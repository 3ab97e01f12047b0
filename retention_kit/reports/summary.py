"""The report's executive summary: a few findings generated from the numbers, each
linking to the section that shows them.

The summary reads the objects the report's sections display (the trends table, the
segment table, the forecast and its tier table, the churn-value table); it computes
nothing of its own, so every number it quotes is the section's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ._common import (
    PERIODS,
    VERDICT_WORDS,
    HTMLText,
    escape,
    format_money,
    percent,
)
from .exports import act_on_segments
from .sections import ClvForecast
from .text import trend_sentence

#: The ids nbconvert's HTML exporter gives the shop report's section headings (a
#: heading's text with spaces as hyphens); the summary's links point at them.
SECTION_ANCHORS: dict[str, str] = {
    "trends": "Trends-over-the-whole-window",
    "segments": "Customer-segments,-and-what-to-do-with-each",
    "forecast": "How-far-to-trust-the-forecast",
    "churn_value": "What-a-lower-churn-rate-is-worth",
}


@dataclass(frozen=True)
class SummaryPoint:
    """One finding of the executive summary."""

    topic: str
    """A few words in bold before the sentence ("Biggest movement")."""
    text: str
    """The finding, one or two sentences."""
    section: str
    """Key of :data:`SECTION_ANCHORS`: the section that shows the numbers."""
    numbers: Mapping[str, float] = field(default_factory=dict)
    """The numbers the sentence quotes, as the section has them (for tests)."""


def _segment_point(segments: pd.DataFrame) -> SummaryPoint | None:
    """The at-risk segment holding the most past spend (and its share of forecast value)."""
    chosen = act_on_segments(segments)
    if "share_spend" not in segments.columns or not chosen:
        return None
    name = chosen[0]
    row = segments.loc[name]
    numbers = {"customers": int(row["customers"]), "share_customers": float(row["share_customers"]),
               "share_spend": float(row["share_spend"])}
    text = (f"'{name}' holds the most value at risk: {int(row['customers']):,} customers "
            f"({percent(row['share_customers'])}) who brought {percent(row['share_spend'])} of "
            f"past spending have gone quiet")
    if "share_clv" in segments.columns:
        numbers["share_clv"] = float(row["share_clv"])
        text += f"; they hold {percent(row['share_clv'])} of the forecast value"
    action = str(row.get("action", "") or "").rstrip(".")
    text += "." + (f" Recommended: {action[:1].lower()}{action[1:]}." if action else "")
    return SummaryPoint("Value at risk", text, "segments", numbers)


def _forecast_point(forecast: ClvForecast, tiers: pd.DataFrame | None, currency: str,
                    ) -> SummaryPoint:
    """The forecast as its verdict allows: money, a range, or why there is none."""
    verdict = forecast.verdict
    months = forecast.horizon_months
    words = VERDICT_WORDS[verdict]
    if verdict == "unreliable" or tiers is None:
        reasons = forecast.withheld()
        why = reasons[0].removeprefix("No value per customer is shown: ") if reasons else (
            "the checks do not support it.")
        return SummaryPoint("Forecast", f"Verdict: {words}. No customer value is forecast: "
                            f"{why}", "forecast", {})
    top = tiers.iloc[:-1]
    top_share = float(top["share_value"].sum()) if len(tiers) > 1 else float("nan")
    top_customers = float(top["share_customers"].sum()) if len(tiers) > 1 else float("nan")
    numbers = {"top_share_value": top_share, "top_share_customers": top_customers}
    concentration = (f"; the top {percent(top_customers, 0)} of customers hold "
                     f"{percent(top_share, 0)} of it" if len(tiers) > 1 else "")
    if verdict == "caution" and "clv_total_low" in tiers.columns:
        low, high = float(tiers["clv_total_low"].sum()), float(tiers["clv_total_high"].sum())
        numbers.update(clv_total_low=low, clv_total_high=high)
        text = (f"Verdict: {words}. Today's customers should bring between "
                f"{format_money(low, currency)} and {format_money(high, currency)} of margin "
                f"over the next {months} months (90% range){concentration}.")
    else:
        total = float(tiers["clv_total"].sum())
        numbers["clv_total"] = total
        text = (f"Verdict: {words}. Today's customers should bring about "
                f"{format_money(total, currency)} of margin over the next {months} months"
                f"{concentration}.")
    return SummaryPoint("Forecast", text, "forecast", numbers)


def _action_point(value: pd.DataFrame, currency: str, period: str) -> SummaryPoint | None:
    """The churn cut of the churn-value table worth the most for its size: the first
    (smallest) cut, with what the largest would bring."""
    if len(value) < 2:
        return None
    name = PERIODS.get(period, ("period",))[0]
    cuts = value.attrs.get("relative_cut", [0.0, *[float("nan")] * (len(value) - 1)])
    first, last = value.iloc[1], value.iloc[-1]
    numbers = {"total_gain": float(first["total_gain"]), "gain": float(first["gain"]),
               "churn_rate": float(value.iloc[0]["churn_rate"]),
               "churn_rate_after": float(first["churn_rate"])}
    # the value table's churn is the average of the last year's measured periods, not the
    # latest one's (the movement above): said, so that the two are not read as one number
    base = percent(value.iloc[0]['churn_rate'])
    text = (f"Cutting churn by {cuts[1]:.0%} (from {base} to "
            f"{percent(first['churn_rate'])} a {name}; {base} is its average over the "
            f"measured {name}s of the last year) is worth about "
            f"{format_money(float(first['total_gain']), currency)} across "
            f"{int(value.attrs.get('n_customers', 0)):,} active customers "
            f"({format_money(float(first['gain']), currency)} each): the most a programme "
            f"reaching that cut may cost")
    if len(value) > 2:
        numbers["total_gain_largest"] = float(last["total_gain"])
        text += (f"; a {cuts[-1]:.0%} cut would be worth about "
                 f"{format_money(float(last['total_gain']), currency)}")
    text += ". Test a programme against a control group before rolling it out."
    return SummaryPoint("Largest expected value", text, "churn_value", numbers)


def executive_summary(trends: pd.DataFrame | None, segments: pd.DataFrame | None,
                      forecast: ClvForecast | None, tiers: pd.DataFrame | None,
                      value: pd.DataFrame | None, *, currency: str = "",
                      period: str = "M") -> list[SummaryPoint]:
    """Three to five findings for the top of the report, generated from the numbers.

    In this order, each when its numbers exist:

    1. the biggest movement over the last year, :func:`~retention_kit.reports.text.
       trend_sentence` of the trends table;
    2. the at-risk segment (:data:`AT_RISK_SEGMENTS`) holding the most past spending, its
       share of the forecast value (when the segment table has one) and its action;
    3. the forecast with its verdict: the tier table's total under ``ok``, the sums of its
       90% bounds under ``caution``, and no money at all under ``unreliable`` (the first
       reason of :meth:`ClvForecast.withheld` instead);
    4. the action with an expected value: the churn-value table's first cut (total gain
       over the active customers), with the largest cut's gain.

    Parameters
    ----------
    trends : DataFrame or None
        :func:`~retention_kit.reports.trends.shop_trends`.
    segments : DataFrame or None
        :func:`~retention_kit.reports.sections.segment_table`.
    forecast : ClvForecast or None
    tiers : DataFrame or None
        :func:`~retention_kit.reports.sections.tier_table` of ``forecast``.
    value : DataFrame or None
        :func:`~retention_kit.reports.sections.churn_value`.
    currency : str, keyword-only
    period : {"W", "M", "Q"}, keyword-only

    Returns
    -------
    list of SummaryPoint

    Examples
    --------
    >>> value = pd.DataFrame({"churn_rate": [0.05, 0.045], "gain": [0.0, 3.2],
    ...                       "total_gain": [0.0, 3200.0]})
    >>> value.attrs.update(relative_cut=[0.0, 0.1], n_customers=1000)
    >>> [p] = executive_summary(None, None, None, None, value, currency="EUR")
    >>> print(p.text[:86])
    Cutting churn by 10% (from 5.0% to 4.5% a month; 5.0% is its average over the measured
    >>> print(p.text[87:146])
    months of the last year) is worth about €3,200 across 1,000
    """
    points: list[SummaryPoint | None] = []
    if trends is not None:
        sentence = trend_sentence(trends, period)
        if not sentence.startswith("Too few"):
            points.append(SummaryPoint("Biggest movement", sentence, "trends",
                                       {"churn": float(trends["churn"].iloc[-1])}))
    if segments is not None:
        points.append(_segment_point(segments))
    if forecast is not None:
        points.append(_forecast_point(forecast, tiers, currency))
    if value is not None:
        points.append(_action_point(value, currency, period))
    return [p for p in points if p is not None]


def summary_view(points: list[SummaryPoint], *,
                 anchors: Mapping[str, str] | None = None) -> HTMLText:
    """The summary as an HTML list, each finding linking to its section.

    Examples
    --------
    >>> view = summary_view([SummaryPoint("Forecast", "Verdict: trusted.", "forecast")])
    >>> view[:view.index("</strong>")]
    '<ul class="rk-summary" id="summary-list"><li><strong>Forecast.'
    >>> view[view.index("<a "):]
    '<a href="#How-far-to-trust-the-forecast">See the section</a></li></ul>'
    """
    anchors = {**SECTION_ANCHORS, **(anchors or {})}
    items = "".join(f"<li><strong>{escape(p.topic)}.</strong> {escape(p.text)} "
                    f'<a href="#{escape(anchors[p.section])}">See the section</a></li>'
                    for p in points)
    return HTMLText(f'<ul class="rk-summary" id="summary-list">{items}</ul>')
