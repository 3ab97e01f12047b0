"""The subscription report's numbers and sentences (``notebooks/subscription_report.ipynb``).

A subscription business observes churn: a subscriber pays every month (or year) until she
cancels. Its report is built from the monthly subscription table
(:attr:`ClientData.subscriptions`) and never from purchase behaviour: no RFM segments,
repeat-purchase rate or order value, which describe shops. The sections:

* :func:`subscription_kpis`: MRR, paying customers, ARPA, logo and revenue churn, NRR/GRR
  and the quick ratio, each defined in the table (:class:`SubscriptionKPIs`);
* :func:`subscription_trends`: the same measures month by month over the whole window;
* :func:`mrr_bridge` and :func:`bridge_sentence`: where MRR came from and went, per month;
* :func:`churn_events`: months of cancellations far above the usual (failed payments);
* :func:`tenure_churn` and :func:`tenure_sentence`: monthly churn by plan and tenure band;
* :func:`plan_survival`, :func:`paying_cohorts` and :func:`reconcile_sentence`: how long
  subscriptions last by plan (Kaplan-Meier, log-rank) and cohorts "still paying", with why
  the two differ;
* :func:`forecast_subscriptions` (:class:`SubscriptionForecast`): sBG or BdW per plan and
  billing period, with delayed entry, chosen by likelihood ratio and checked on a holdout
  with churners; the residual value of each subscriber, shown according to each plan's
  verdict; :func:`churn_cut_table` values fewer cancellations with each plan's model;
* :func:`at_risk_subscribers`: the subscribers whose next renewal puts the most value at
  risk; :func:`subscriber_list` and :func:`export_subscribers`: every subscriber, written
  next to the report for a CRM;
* :func:`summary_findings` (the summary at the top), :func:`subscription_next_steps` and
  :func:`subscription_caveats`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, data_error
from ._common import KpiTable, escape, format_money, percent, points, table_html
from .client import ClientData

__all__ = [
    "SubscriberListView",
    "SubscriptionForecast",
    "SubscriptionKPIs",
    "at_risk_subscribers",
    "at_risk_view",
    "bridge_sentence",
    "bridge_view",
    "churn_cut_table",
    "churn_events",
    "export_subscribers",
    "forecast_subscriptions",
    "mrr_bridge",
    "paying_cohorts",
    "plan_survival",
    "plans_sentence",
    "reconcile_sentence",
    "subscriber_list",
    "summary_findings",
    "require_subscriptions",
    "subscription_caveats",
    "subscription_kpis",
    "subscription_next_steps",
    "subscription_trends",
    "tenure_churn",
    "tenure_sentence",
    "tenure_view",
    "cut_view",
]

#: Tenure bands (upper edges, months) of the churn-by-tenure table.
TENURE_BANDS = (1, 3, 6, 12, 24)


def require_subscriptions(client: ClientData) -> None:
    """Raise a :class:`~retention_kit.errors.DataError` saying which report to run when the
    client has no subscription table."""
    _subscriptions(client)


def _subscriptions(client: ClientData) -> pd.DataFrame:
    if client.subscriptions is None:
        raise data_error(f"client {client.client_id!r} has no subscriptions.csv, so there is "
                         "no subscription analysis",
                         fix="run the shop report (notebooks/client_report.ipynb) for it, or "
                         "add subscriptions.csv (customer_id, month, plan, mrr)")
    return client.subscriptions


def _monthly(client: ClientData) -> pd.DataFrame:
    """:func:`retention_kit.metrics.subscription_metrics` up to the last complete month."""
    from ..metrics import subscription_metrics

    table = subscription_metrics(_subscriptions(client))
    last = _last_complete_month(client)
    table = table.loc[table.index.to_period("M") <= last]
    if len(table) < 2:
        raise data_error("fewer than two complete months of subscriptions, so no churn rate",
                         fix="use a longer observation window")
    return table


def _plan_labels(subs: pd.DataFrame) -> pd.Series | None:
    """Each row's plan, "(annual)" added for annual contracts (they churn only at a yearly
    renewal, so they are never pooled with monthly ones); None without plans."""
    if "plan" not in subs.columns:
        return None
    plan = subs["plan"].astype(str)
    if "billing_period" in subs.columns:
        plan = plan.where(subs["billing_period"].astype(str) != "Y", plan + " (annual)")
    return plan


def _last_complete_month(client: ClientData) -> pd.Period:
    end = pd.Timestamp(client.observation_end)
    month = pd.Period(end, "M")
    return month if end.normalize() >= month.end_time.normalize() else month - 1


def _label(month: Any) -> str:
    return str(pd.Period(month, "M"))


# =====================================================================================
# headline numbers and trends
# =====================================================================================


@dataclass(frozen=True)
class SubscriptionKPIs(KpiTable):
    """Headline numbers of a subscription business (see :func:`subscription_kpis`).

    Displayed as the KPI table; :meth:`to_dict` is published under :data:`KPI_MIME` for
    the batch's index (``customers`` are the paying customers, ``churn`` the logo churn,
    ``retention`` its complement, so the index reads both kinds of report alike).
    """

    client_id: str
    display_name: str
    currency: str
    last_period: str
    previous_period: str
    data_start: str
    data_end: str
    mrr: float
    mrr_previous: float
    mrr_year_ago: float | None
    customers: int
    customers_previous: int
    arpa: float
    arpa_previous: float
    logo_churn: float
    logo_churn_previous: float
    logo_churn_12m: float
    revenue_churn: float
    revenue_churn_previous: float
    revenue_churn_12m: float
    quick_ratio_12m: float | None
    nrr: float | None
    grr: float | None
    period: str = "M"
    business: str = "subscription"

    @property
    def retention(self) -> float:
        """Share of last month's paying customers still paying (1 - logo churn)."""
        return 1.0 - self.logo_churn

    @property
    def churn(self) -> float:
        """The logo churn of the last complete month."""
        return self.logo_churn

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (NaN becomes None), with ``retention``, ``churn`` and
        ``active_customers`` for the index."""
        out = {**asdict(self), "retention": self.retention, "churn": self.churn,
               "active_customers": self.customers}
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(measure, value, change vs the previous month, definition) rows."""
        cur = self.currency
        change_mrr = (f"{(self.mrr / self.mrr_previous - 1):+.1%}"
                      if self.mrr_previous > 0 else "n/a")
        year = ("" if self.mrr_year_ago is None or not self.mrr_year_ago > 0 else
                f"; {self.mrr / self.mrr_year_ago - 1:+.1%} on a year before")
        rows = [
            (f"MRR ({self.last_period})", format_money(self.mrr, cur), change_mrr + year,
             "monthly recurring revenue: what paying customers pay a month (an annual "
             "contract counts 1/12 of its price)"),
            (f"Paying customers ({self.last_period})", f"{self.customers:,}",
             f"{self.customers - self.customers_previous:+,}", "customers with MRR > 0"),
            ("ARPA", format_money(self.arpa, cur),
             format_money(self.arpa - self.arpa_previous, cur),
             "average revenue per paying account: MRR / paying customers"),
            (f"Logo churn ({self.last_period})", percent(self.logo_churn),
             points(self.logo_churn - self.logo_churn_previous),
             f"share of the previous month's paying customers who stopped paying; "
             f"{percent(self.logo_churn_12m)} a month over the last 12 months"),
            (f"Revenue churn ({self.last_period})", percent(self.revenue_churn),
             points(self.revenue_churn - self.revenue_churn_previous),
             f"MRR lost to cancellations and downgrades over the previous month's MRR; "
             f"{percent(self.revenue_churn_12m)} a month over the last 12 months"),
        ]
        if self.nrr is not None and self.grr is not None:
            rows += [("Net revenue retention (12 months)", percent(self.nrr), "",
                      "MRR kept from the customers of a year ago, upgrades included"),
                     ("Gross revenue retention (12 months)", percent(self.grr), "",
                      "the same without upgrades (at most 100%)")]
        if self.quick_ratio_12m is not None:
            rows.append(("Quick ratio (12 months)", f"{self.quick_ratio_12m:.2f}", "",
                         "MRR won (new, expansion, reactivation) per unit of MRR lost "
                         "(churn, contraction); above 1 the base grows"))
        return rows



def subscription_kpis(client: ClientData, *, currency: str | None = None) -> SubscriptionKPIs:
    """The headline numbers of the last complete month, with their changes.

    Logo churn, revenue churn and the quick ratio are those of
    :func:`retention_kit.metrics.subscription_metrics`; their 12-month values are the
    monthly mean of the rates and the ratio of the summed movements over the last 12
    months; NRR and GRR are :func:`retention_kit.metrics.trailing_revenue_retention` of
    the customers paying 12 months before the last complete month (left out when the
    data do not reach back a year).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> k = subscription_kpis(load_client(data_dir() / "demo" / "subscription_box"))
    >>> k.last_period, k.customers, round(k.mrr, 2)
    ('2024-12', 1080, 30159.18)
    """
    from ..metrics import trailing_revenue_retention

    m = _monthly(client)
    last, prev = m.iloc[-1], m.iloc[-2]
    year = m.iloc[-12:]
    lost = float((year["churned_mrr"] + year["contraction_mrr"]).sum())
    won = float((year["new_mrr"] + year["expansion_mrr"] + year["reactivated_mrr"]).sum())
    nrr = grr = None
    if len(m) > 12:
        try:
            rr = trailing_revenue_retention(_subscriptions(client), months=12,
                                            end=m.index[-1])
            nrr, grr = float(rr.nrr), float(rr.grr)
        except DataError:
            pass
    year_ago = float(m["mrr"].iloc[-13]) if len(m) > 12 else None
    subs = _subscriptions(client)
    return SubscriptionKPIs(
        client_id=client.client_id, display_name=client.display_name,
        currency=currency if currency else str(client.info.get("currency") or ""),
        last_period=_label(m.index[-1]), previous_period=_label(m.index[-2]),
        data_start=str(subs["month"].min().date()),
        data_end=str(pd.Timestamp(client.observation_end).date()),
        mrr=float(last["mrr"]), mrr_previous=float(prev["mrr"]), mrr_year_ago=year_ago,
        customers=int(last["customers"]), customers_previous=int(prev["customers"]),
        arpa=float(last["arpa"]), arpa_previous=float(prev["arpa"]),
        logo_churn=float(last["logo_churn_rate"]),
        logo_churn_previous=float(prev["logo_churn_rate"]),
        logo_churn_12m=float(year["logo_churn_rate"].mean()),
        revenue_churn=float(last["revenue_churn_rate"]),
        revenue_churn_previous=float(prev["revenue_churn_rate"]),
        revenue_churn_12m=float(year["revenue_churn_rate"].mean()),
        quick_ratio_12m=won / lost if lost > 0 else None, nrr=nrr, grr=grr)


#: Units and kinds of the subscription trend columns (for :func:`retention_kit.plots.
#: plot_trends`).
SUBSCRIPTION_TREND_KINDS = {"MRR": "money", "Paying customers": "count", "ARPA": "money",
                            "Logo churn": "percent", "Revenue churn": "percent"}
_TREND_COLUMNS = {"mrr": "MRR", "customers": "Paying customers", "arpa": "ARPA",
                  "logo_churn_rate": "Logo churn", "revenue_churn_rate": "Revenue churn"}


def subscription_trends(client: ClientData) -> pd.DataFrame:
    """MRR, paying customers, ARPA, logo and revenue churn per month over the whole window.

    The last row is the headline month of :func:`subscription_kpis` (same numbers). The
    first month has no churn (nobody paid before it): its rates are missing, not 0.

    Returns
    -------
    DataFrame
        Indexed by month (Period), columns ``MRR``, ``Paying customers``, ``ARPA``,
        ``Logo churn``, ``Revenue churn`` (:func:`retention_kit.metrics.
        subscription_metrics`' ``mrr``, ``customers``, ``arpa``, ``logo_churn_rate``,
        ``revenue_churn_rate``, named for the chart); ``attrs["kinds"]`` for the chart.
    """
    m = _monthly(client)
    out = m[list(_TREND_COLUMNS)].rename(columns=_TREND_COLUMNS)
    out.index = m.index.to_period("M")
    out.attrs["kinds"] = dict(SUBSCRIPTION_TREND_KINDS)
    out.attrs["currency"] = str(client.info.get("currency") or "")
    return out


# =====================================================================================
# MRR bridge and churn events
# =====================================================================================


def mrr_bridge(client: ClientData, *, months: int = 12) -> pd.DataFrame:
    """The MRR bridge of the last ``months`` complete months and their total.

    :func:`retention_kit.metrics.mrr_movements` per month (start + new + expansion -
    contraction - churn + reactivation = end, checked), and a last row ``"total"``: the
    first month's start, the summed movements and the last month's end.
    """
    from ..metrics import mrr_movements

    moves = mrr_movements(_subscriptions(client))
    last = _last_complete_month(client)
    moves = moves.loc[moves.index.to_period("M") <= last].iloc[-months:]
    moves.index = pd.Index([_label(i) for i in moves.index], name="month")
    total = moves.drop(columns=["start", "end"]).sum()
    total["start"], total["end"] = moves["start"].iloc[0], moves["end"].iloc[-1]
    out = pd.concat([moves, total[moves.columns].to_frame("total").T])
    out.index.name = "month"
    return out


def bridge_sentence(bridge: pd.DataFrame, currency: str = "") -> str:
    """One sentence on a :func:`mrr_bridge`: from where to where, and the biggest flows."""
    t = bridge.loc["total"]
    months = len(bridge) - 1
    first, last = bridge.index[0], bridge.index[-2]

    def m(v: float) -> str:
        return format_money(v, currency)

    change = t["end"] / t["start"] - 1 if t["start"] > 0 else math.nan
    direction = "grew" if t["end"] > t["start"] else "fell" if t["end"] < t["start"] else "held"
    return (f"Over the {months} months {first} to {last}, MRR {direction} from "
            f"{m(t['start'])} to {m(t['end'])}" +
            (f" ({change:+.1%})" if math.isfinite(change) else "") +
            f": new subscriptions brought {m(t['new'])}, upgrades {m(t['expansion'])} and "
            f"returning customers {m(t['reactivation'])}; cancellations took "
            f"{m(t['churn'])} and downgrades {m(t['contraction'])}.")


def churn_events(client: ClientData) -> tuple[pd.DataFrame, list[str]]:
    """Months of cancellations far above the usual (:func:`retention_kit.metrics.
    churn_spikes`) and a sentence for each, with what to check."""
    from ..metrics import churn_spikes

    spikes = churn_spikes(_monthly(client))
    sentences = []
    for month, row in spikes.iterrows():
        sentences.append(
            f"{_label(month)}: {int(row['churned']):,} subscribers stopped paying, "
            f"{row['ratio']:.1f} times the {row['expected']:,.0f} the months around it would "
            f"give ({percent(row['rate'])} against {percent(row['usual_rate'])} usually), "
            f"about {row['excess']:,.0f} more. A one-month spike is an event rather than "
            "customers deciding one by one: most often card payments failing (involuntary "
            "churn), otherwise a price change, an outage or a billing migration. Check the "
            "payment provider's failed charges for that month; if they match, retry "
            "failed payments and ask for card updates before cancelling (dunning).")
    return spikes, sentences


# =====================================================================================
# churn by tenure and plan; survival; cohorts
# =====================================================================================


def tenure_churn(client: ClientData, *, bands: tuple[int, ...] = TENURE_BANDS) -> pd.DataFrame:
    """Monthly churn by plan and tenure band (:func:`retention_kit.metrics.
    churn_by_tenure` with ``by="plan"`` when the table has plans; annual contracts are their
    own plans, "(annual)"), with 95% intervals."""
    from ..metrics import churn_by_tenure

    subs = _subscriptions(client)
    plan = _plan_labels(subs)
    if plan is None:
        return churn_by_tenure(subs, bands=bands, observation_end=client.observation_end)
    return churn_by_tenure(subs.assign(plan=plan), bands=bands,
                           observation_end=client.observation_end, by="plan")


def tenure_sentence(table: pd.DataFrame) -> str:
    """Where in a subscriber's tenure churn is highest, from :func:`tenure_churn` (monthly
    plans)."""
    rate = _band_rates(table)
    if rate.empty:
        return "No subscriber has been at risk of cancelling yet."
    worst, best = rate.idxmax(), rate.idxmin()
    if not _distinguishable(table, worst, best):
        return (f"On monthly plans, churn does not measurably depend on tenure: "
                f"{percent(rate.min())} to {percent(rate.max())} a month across tenure bands, "
                "within the chance variation of these counts.")
    return (f"On monthly plans, churn is highest in months {worst} of a subscription "
            f"({percent(rate[worst])} a month) and lowest in months {best} "
            f"({percent(rate[best])}): "
            + ("the first months decide, so onboarding is where churn is cut."
               if worst == rate.index[0] else
               "subscribers of that tenure leave more often than newer ones: check what "
               "changes for them then (a price rise at renewal, a contract ending, a "
               "product they outgrow)."))


def _distinguishable(tenure: pd.DataFrame, high: Any, low: Any) -> bool:
    """True when the 95% (Wilson) intervals of two bands' pooled monthly churn do not
    overlap: the difference is more than chance."""
    counts = _band_counts(tenure)
    z = 1.959963984540054

    def wilson(k: float, n: float) -> tuple[float, float]:
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half

    lo_high, _ = wilson(*counts.loc[high])
    _, hi_low = wilson(*counts.loc[low])
    return lo_high > hi_low


def _band_counts(tenure: pd.DataFrame) -> pd.DataFrame:
    """Churns and customer-months per tenure band, pooled over the monthly plans."""
    if isinstance(tenure.index, pd.MultiIndex):
        plans = tenure.index.get_level_values(0).astype(str)
        monthly = tenure.loc[~plans.str.endswith("(annual)")]
        return (monthly if len(monthly) else tenure).groupby(
            level="tenure", sort=False)[["churns", "customer_months"]].sum()
    return tenure[["churns", "customer_months"]]


def _band_rates(tenure: pd.DataFrame) -> pd.Series:
    """Monthly churn per tenure band, pooled over the monthly plans (annual contracts can
    only end at a yearly renewal, which would make months 12-23 look risky)."""
    pooled = _band_counts(tenure)
    return (pooled["churns"] / pooled["customer_months"].where(pooled["customer_months"] > 0)
            ).dropna()


def plan_survival(client: ClientData) -> Any:
    """Kaplan-Meier survival of subscriptions in months paid, by plan (annual contracts
    apart; log-rank test).

    Each run of paid months is one subscription (a comeback is a new one): the curve is
    the share of subscriptions still paid t months after they began, without counting
    comebacks, which :func:`paying_cohorts` counts.
    """
    from ..cohorts import survival
    from ..contracts import renewal_durations

    d = renewal_durations(_subscriptions(client), observation_end=client.observation_end,
                          keep_new=True)
    plan = d[d.attrs["group_col"]].astype(str)
    plan = plan.where(d["billing_period"] != "Y", plan + " (annual)")
    data = pd.DataFrame({"duration": d["tenure_months"].to_numpy(dtype=float),
                         "churned": d["churned"].to_numpy(dtype=bool),
                         "plan": plan.to_numpy()})
    groups = data["plan"].nunique()
    return survival(data, group_col="plan" if groups > 1 else None, time_unit="M",
                    rmst_horizon=12.0)


def plans_sentence(km: Any) -> str:
    """Do the plans' survival curves differ? The log-rank test of :func:`plan_survival`,
    and each plan's expected months within the first year (RMST at 12 months)."""
    if km.logrank_p_value is None:
        return "One plan only: no comparison between plans."
    rmst = km.summary["rmst"].sort_values(ascending=False)
    months = "; ".join(f"{plan} {value:.1f}" for plan, value in rmst.items())
    differ = km.logrank_p_value < 0.05
    return (f"The plans' curves {'differ' if differ else 'do not measurably differ'} "
            f"(log-rank test, p = {km.logrank_p_value:.2g}). Months paid in the first year, "
            f"on average: {months}.")


def paying_cohorts(client: ClientData, *, n_cohorts: int = 12, max_age: int = 12,
                   ) -> pd.DataFrame:
    """Share of each start-month cohort paying k months after its first paid month.

    Cohorts are the customers whose first paid month is a given month (the last
    ``n_cohorts`` cohorts that are at least one month old); a customer counts as paying in
    a month when her MRR there is above 0, comebacks included. Ages 0 to ``max_age``
    months; ages not yet reached are missing.
    """
    subs = _subscriptions(client)
    paid = subs.loc[subs["mrr"] > 0, ["customer_id", "month"]]
    month = paid["month"].dt.to_period("M")
    first = month.groupby(paid["customer_id"]).transform("min")
    age = (month.astype("int64") - first.astype("int64")).to_numpy()
    frame = pd.DataFrame({"cohort": first.to_numpy(), "age": age,
                          "customer": paid["customer_id"].to_numpy()})
    last = _last_complete_month(client)
    frame = frame.loc[(frame["age"] <= max_age) & (frame["cohort"] < last)
                      & (frame["cohort"] + frame["age"] <= last)]
    counts = frame.drop_duplicates().groupby(["cohort", "age"]).size().unstack("age")
    counts = counts.iloc[-n_cohorts:]
    table = counts.div(counts[0], axis=0)
    table.index = pd.Index([str(c) for c in table.index], name="cohort")
    table.columns.name = "months since first payment"
    table.attrs["sizes"] = counts[0].astype(int).to_dict()
    return table


def reconcile_sentence(client: ClientData, *, at: int = 6, n_cohorts: int = 12) -> str:
    """Why the cohorts' "still paying" and the survival curve differ, on the same customers.

    For the customers of the last ``n_cohorts`` monthly cohorts old enough to be seen ``at``
    months after their first payment: the share paying in month ``at`` (the cohort table's
    measure, comebacks included) and the share who paid every month from the first to month
    ``at`` (no cancellation yet, the survival curve's measure for first subscriptions). The
    difference is exactly the customers who cancelled and came back.
    """
    subs = _subscriptions(client)
    paid = subs.loc[subs["mrr"] > 0, ["customer_id", "month"]].drop_duplicates()
    month = paid["month"].dt.to_period("M").astype("int64")
    first = month.groupby(paid["customer_id"]).transform("min")
    age = month - first
    last = _last_complete_month(client).ordinal
    cohort_first = first.groupby(paid["customer_id"]).first()
    eligible = cohort_first[cohort_first + at <= last]
    eligible = eligible[eligible >= eligible.max() - n_cohorts + 1] if len(eligible) else eligible
    if eligible.empty:
        return ""
    mine = paid["customer_id"].isin(eligible.index).to_numpy()
    ages = pd.DataFrame({"customer": paid["customer_id"].to_numpy()[mine],
                         "age": age.to_numpy()[mine]})
    ages = ages.loc[ages["age"] <= at]
    months_paid = ages.groupby("customer")["age"].nunique()
    paying_at = ages.loc[ages["age"] == at, "customer"].nunique() / len(eligible)
    unbroken = float((months_paid.reindex(eligible.index, fill_value=0) == at + 1).mean())
    labels = [str(pd.Period(ordinal=int(o), freq="M")) for o in (eligible.min(), eligible.max())]
    return (f"Of the {len(eligible):,} customers whose first payment fell in {labels[0]} to "
            f"{labels[1]}, {percent(paying_at)} were paying {at} months later and "
            f"{percent(unbroken)} had paid every month since they started. The "
            f"{points(paying_at - unbroken).replace(' pts', ' points')} between the two are "
            "customers who cancelled and came back: the cohort table counts them as paying "
            "again, the survival curve above follows each subscription to its first "
            "cancellation (a comeback starts a new subscription there).")


# =====================================================================================
# contract models, residual value, at-risk subscribers
# =====================================================================================


@dataclass(frozen=True)
class SubscriptionForecast:
    """Contract models per plan and the residual value of every current subscriber.

    Attributes
    ----------
    fits : ContractModels
        :func:`retention_kit.contracts.fit_contract_models` of the subscriptions.
    durations : DataFrame
        :func:`retention_kit.contracts.renewal_durations` (``keep_new=True``).
    values : DataFrame
        :func:`retention_kit.contracts.residual_value` (90% ranges for caution plans).
    discount_rate, margin : float
    """

    fits: Any
    durations: pd.DataFrame
    values: pd.DataFrame
    discount_rate: float
    margin: float

    @property
    def verdict(self) -> str:
        """The forecast's verdict as a whole: ``ok`` when every plan's is, ``unreliable``
        when no plan's value can be shown, ``caution`` in between (some plans shown as
        ranges or not at all)."""
        verdicts = [fit.verdict for fit in self.fits]
        if verdicts and all(v == "ok" for v in verdicts):
            return "ok"
        if not any(self.shows(fit) for fit in self.fits):
            return "unreliable"
        return "caution"

    def sentence(self) -> str:
        """How far to trust the values, in one sentence."""
        shown = [fit for fit in self.fits if self.shows(fit)]
        if self.verdict == "ok":
            return "Every plan's model passed its checks: its values are shown as they are."
        if not shown:
            return ("No plan's model passed its checks, so no value per subscriber is shown; "
                    "each plan below says why and what would fix it.")
        names = ", ".join(f"{f.group} ({'annual' if f.billing_period == 'Y' else 'monthly'})"
                          for f in shown)
        return (f"Values are shown for {names} only (as ranges where the checks call for "
                "them); the other plans' models did not pass their checks.")

    def plan_table(self) -> pd.DataFrame:
        """One row per plan and billing period: subscribers, churners, model, holdout,
        verdict, mean expected further months and the residual value, or why none is
        shown (``unreliable``); ranges for ``caution``."""
        rows = []
        for fit in self.fits:
            v = self._plan_values(fit)
            show = self.shows(fit)
            holdout = fit.holdout
            rows.append({
                "plan": fit.group,
                "billing": "annual" if fit.billing_period == "Y" else "monthly",
                "subscribers": fit.customers + fit.no_renewal_yet,
                "churners": fit.churners,
                "model": fit.chosen or "none",
                "holdout error": (f"{holdout.error:+.1%}" if holdout is not None
                                  and math.isfinite(holdout.error) else "no holdout"),
                "verdict": fit.verdict,
                "expected further months": (f"{v['expected_months'].mean():.1f}" if show
                                            else "not shown"),
                "residual value": (float(v["residual_value"].sum()) if show else math.nan),
                "value low": (float(v["residual_value_low"].sum())
                              if show and fit.verdict == "caution" else math.nan),
                "value high": (float(v["residual_value_high"].sum())
                               if show and fit.verdict == "caution" else math.nan),
            })
        return pd.DataFrame(rows)

    def _plan_values(self, fit: Any) -> pd.DataFrame:
        v = self.values
        if v.empty:
            return v
        return v.loc[(v[self.fits.group_col] == fit.group)
                     & (v["billing_period"] == fit.billing_period)]

    def shows(self, fit: Any) -> bool:
        """A plan's value is shown when its verdict is ok, or a caution with a range."""
        v = self._plan_values(fit)
        if fit.verdict == "unreliable" or v.empty:
            return False
        return fit.verdict == "ok" or bool(v["residual_value_low"].notna().all())

    def sentences(self) -> list[str]:
        """One sentence per plan: its verdict, the model chosen and why, and its worst
        concern with the fix (the full findings are in ``fits[plan].diagnostics``)."""
        out = []
        for fit in self.fits:
            name = f"{fit.group} ({'annual' if fit.billing_period == 'Y' else 'monthly'})"
            concerns = sorted(fit.diagnostics.concerns(),
                              key=lambda f: f.verdict != "unreliable")
            model = (f"{fit.chosen}, chosen by a likelihood-ratio test "
                     f"(p = {fit.lr_pvalue:.2g})" if fit.chosen else "no model")
            text = f"{name}: {fit.verdict}; {model}."
            if concerns:
                f = concerns[0]
                text += f" {f.reason}" + (f" What would fix it: {f.fix}" if f.fix else "")
            out.append(text)
        return out

    def withheld(self) -> list[str]:
        """Plain words for each plan whose value is not shown."""
        out = []
        for fit in self.fits:
            name = f"{fit.group} ({'annual' if fit.billing_period == 'Y' else 'monthly'})"
            if fit.verdict == "unreliable":
                worst = [f for f in fit.diagnostics.concerns() if f.verdict == "unreliable"]
                why = worst[0].reason if worst else "its checks failed"
                fix = f" What would fix it: {worst[0].fix}" if worst and worst[0].fix else ""
                out.append(f"No value is shown for {name} subscribers: we cannot tell how "
                           f"long they will stay. {why}{fix}")
            elif not self.shows(fit) and not self._plan_values(fit).empty:
                out.append(f"No value is shown for {name} subscribers: the checks call for a "
                           "range, and the model has no standard errors to draw one from "
                           "(its fit lies at the edge of the parameter space).")
        return out

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from .sections import TRUST_MIME

        head = (f'<p class="rk-verdict rk-{escape(self.verdict)}"><strong>'
                f"{escape(self.verdict)}</strong>: {escape(self.sentence())}</p>")
        return {"text/html": head + self._table_html(),
                "text/plain": f"Verdict: {self.verdict}. {self.sentence()}",
                TRUST_MIME: {"verdict": self.verdict, "sentence": self.sentence()}}

    def _table_html(self) -> str:
        table = self.plan_table()
        rows = [[r["plan"], r["billing"], f"{r['subscribers']:,}", f"{r['churners']:,}",
                 r["model"], r["holdout error"], r["verdict"], r["expected further months"],
                 ("not shown" if not math.isfinite(r["residual value"]) else
                  format_money(r["residual value"], self.fits_currency)
                  + ("" if not math.isfinite(r["value low"]) else
                     f" ({format_money(r['value low'], self.fits_currency)} to "
                     f"{format_money(r['value high'], self.fits_currency)})"))]
                for _, r in table.iterrows()]
        head = ["Plan", "Billing", "Subscriptions", "Cancellations seen", "Model", "Holdout error",
                "Verdict", "Expected further months", "Residual value (margin)"]
        notes = "".join(f"<li>{escape(s)}</li>" for s in self.sentences())
        return (table_html(rows, head, table_id="plan-models", css="rk-table")
                + (f'<ul class="rk-list rk-caveats">{notes}</ul>' if notes else ""))

    @property
    def fits_currency(self) -> str:
        return str(self.values.attrs.get("currency", ""))


def forecast_subscriptions(client: ClientData, *, discount_rate: float = 0.01,
                           margin: float = 0.3, holdout_months: int = 12,
                           n_draws: int = 200) -> SubscriptionForecast:
    """sBG/BdW per plan with delayed entry, checked on a holdout, and residual values.

    :func:`retention_kit.contracts.renewal_durations` (a comeback is a new subscription;
    annual plans in years), :func:`~retention_kit.contracts.fit_contract_models` (the
    likelihood-ratio choice, a holdout of up to ``holdout_months`` that contains churners,
    the identification checks) and :func:`~retention_kit.contracts.residual_value` (the
    discounted expected residual lifetime times margin and MRR; 90% ranges from
    ``n_draws`` parameter draws for plans whose verdict is a caution).
    """
    from ..contracts import fit_contract_models, renewal_durations, residual_value

    d = renewal_durations(_subscriptions(client), observation_end=client.observation_end,
                          keep_new=True)
    fits = fit_contract_models(d, holdout_months=holdout_months)
    values = residual_value(fits, d, discount_rate=discount_rate, margin=margin,
                            n_draws=n_draws)
    values.attrs["currency"] = str(client.info.get("currency") or "")
    return SubscriptionForecast(fits=fits, durations=d, values=values,
                                discount_rate=discount_rate, margin=margin)


def churn_cut_table(forecast: SubscriptionForecast, *, cut: float = 0.1) -> pd.DataFrame:
    """What ``cut`` fewer cancellations at every renewal are worth, per plan, from each
    plan's model (:func:`retention_kit.contracts.churn_cut_value`); only the plans whose
    value the report shows (:meth:`SubscriptionForecast.shows`)."""
    from ..contracts import churn_cut_value

    table = churn_cut_value(forecast.fits, forecast.durations, cut=cut,
                            discount_rate=forecast.discount_rate, margin=forecast.margin)
    shown = [forecast.shows(forecast.fits[(g, b)])
             for g, b in zip(table.iloc[:, 0], table["billing_period"], strict=True)]
    out = table.loc[np.asarray(shown, dtype=bool)].reset_index(drop=True)
    out.attrs.update(table.attrs)
    return out


def at_risk_subscribers(forecast: SubscriptionForecast, *, n: int = 15) -> pd.DataFrame:
    """The current subscribers whose next renewal puts the most value at risk.

    For each subscriber of a plan with a model that is not ``unreliable``: the chance she
    cancels at her next renewal given her plan and renewals made,
    :math:`1 - S(n+1)/S(n)`, times the value she would take with her (her residual value).
    Annual subscribers also show the months to their renewal: the ones due soon are the
    renewal outreach list. Without covariates the model ranks by plan, tenure and MRR only.
    """
    v = forecast.values
    group_col = forecast.fits.group_col
    parts = []
    for fit in forecast.fits:
        if fit.model is None or not forecast.shows(fit):
            continue
        rows = v.loc[(v[group_col] == fit.group) & (v["billing_period"] == fit.billing_period)]
        if rows.empty:
            continue
        k = rows["renewals"].to_numpy()
        risk = 1.0 - np.asarray(fit.model.survival(k + 1), dtype=float) / np.asarray(
            fit.model.survival(k), dtype=float)
        parts.append(pd.DataFrame({
            "plan": rows[group_col].to_numpy(),
            "billing": np.where(rows["billing_period"].to_numpy() == "Y", "annual", "monthly"),
            "tenure_months": rows["tenure_months"].to_numpy(),
            "months_to_renewal": rows["months_to_renewal"].to_numpy(),
            "mrr": rows["mrr"].to_numpy(), "cancel_at_next_renewal": risk,
            "value_at_risk": risk * rows["residual_value"].to_numpy()}, index=rows.index))
    if not parts:
        return pd.DataFrame(columns=["plan", "billing", "tenure_months", "months_to_renewal",
                                     "mrr", "cancel_at_next_renewal", "value_at_risk"])
    out = pd.concat(parts).sort_values("value_at_risk", ascending=False, kind="stable")
    return out.head(n)


# =====================================================================================
# what to do next; caveats
# =====================================================================================


def subscription_next_steps(kpis: SubscriptionKPIs, forecast: SubscriptionForecast, *,
                            spikes: pd.DataFrame, tenure: pd.DataFrame,
                            cut_value: pd.DataFrame | None = None) -> list[str]:
    """Actions in subscription terms, most valuable first: failed payments, renewals,
    early-tenure churn, downgrades, what a churn cut is worth."""
    cur = kpis.currency
    steps = []
    if len(spikes):
        worst = spikes.sort_values("excess").iloc[-1]
        steps.append(f"Recover involuntary churn: {_label(spikes['excess'].idxmax())} lost "
                     f"about {worst['excess']:,.0f} subscribers more than usual. Set up "
                     "payment retries, card-updater and dunning emails before a failed "
                     "payment becomes a cancellation.")
    v = forecast.values
    annual = v.loc[(v["billing_period"] == "Y") & (v["months_to_renewal"] <= 3)] \
        if len(v) else v
    if len(annual):
        steps.append(f"Renewal outreach: {len(annual):,} annual contracts renew within 3 "
                     f"months, {format_money(float(annual['mrr'].sum()) * 12, cur)} a year "
                     "of contracted revenue; contact them a month before the renewal date.")
    rate = _band_rates(tenure)
    if len(rate) > 1 and rate.idxmax() == rate.index[0] and _distinguishable(
            tenure, rate.idxmax(), rate.idxmin()):
        steps.append(f"Onboarding: churn is highest in the first months "
                     f"({percent(float(rate.max()))} a month); a first-month check-in and "
                     "a getting-started sequence target the subscribers most likely to "
                     "leave.")
    if kpis.revenue_churn_12m > kpis.logo_churn_12m * 1.2:
        steps.append("Downgrade offers: revenue churn runs above logo churn, so downgrades "
                     "cost more than the count of cancellations shows; offer a pause or a "
                     "smaller plan before a cancellation.")
    if cut_value is not None and len(cut_value):
        best = cut_value.sort_values("gain").iloc[-1]
        cut = cut_value.attrs.get("cut", 0.1)
        billing = "annual" if best["billing_period"] == "Y" else "monthly"
        steps.append(f"Retention budget: {percent(cut, 0)} fewer cancellations at every "
                     f"renewal of {best.iloc[0]} ({billing}) subscribers is worth about "
                     f"{format_money(float(best['gain']), cur)} in margin (from the plan's "
                     "model); spend less than that on the programme.")
    if not steps:
        steps.append("Keep watching MRR, churn by tenure and the bridge month by month; no "
                     "single lever stands out in these numbers.")
    return steps


def subscription_caveats(client: ClientData, forecast: SubscriptionForecast) -> list[str]:
    """What the reader must know: snapshot tables, plans without a model, annual plans with
    few renewals, the margin assumption."""
    notes = []
    for f in _snapshot_findings(forecast):
        if f.verdict != "ok":
            notes.append(f"{f.check} ({f.verdict}): {f.reason}"
                         + (f" What would fix it: {f.fix}" if f.fix else ""))
    notes += forecast.withheld()
    notes.append(f"Values are margin at {percent(forecast.margin, 0)} of MRR (an assumption: "
                 "use the client's) discounted at "
                 f"{percent(forecast.discount_rate, 1)} a month.")
    return notes


# =====================================================================================
# tables as the report shows them
# =====================================================================================


def bridge_view(bridge: pd.DataFrame, currency: str = "") -> Any:
    """:func:`mrr_bridge` as a report table (money)."""
    from .html import format_table

    labels = {"month": "Month", "start": "Start MRR", "new": "New", "expansion": "Expansion",
              "contraction": "Contraction", "churn": "Churn", "reactivation": "Reactivation",
              "end": "End MRR"}
    return format_table(bridge, currency=currency, table_id="mrr-bridge",
                        money=list(bridge.columns), labels=labels)


def tenure_view(table: pd.DataFrame) -> Any:
    """:func:`tenure_churn` as a report table (plan and band as columns)."""
    from .html import format_table

    flat = table.reset_index()
    index = flat.columns[0]
    flat = flat.set_index(index)
    labels = {"plan": "Plan", "tenure": "Months as a subscriber", "customers": "Subscribers",
              "customer_months": "Subscriber-months at risk", "churns": "Cancellations",
              "hazard": "Monthly churn", "lower": "95% low", "upper": "95% high"}
    return format_table(flat, table_id="tenure-churn", counts=["customer_months", "churns"],
                        percents=["hazard", "lower", "upper"], labels=labels)


def cut_view(table: pd.DataFrame, currency: str = "") -> Any:
    """:func:`churn_cut_table` as a report table, or why it is empty."""
    from ._common import HTMLText
    from .html import format_table

    if table.empty:
        return HTMLText('<p class="rk-note">No plan has a model reliable enough to value a '
                        "churn cut (see the plan table above).</p>")
    shown = table.set_index(table.columns[0])
    shown["billing_period"] = np.where(shown["billing_period"] == "Y", "annual", "monthly")
    labels = {table.columns[0]: "Plan", "billing_period": "Billing",
              "subscribers": "Current subscribers", "value": "Residual value now",
              "value_with_cut": f"With {percent(table.attrs.get('cut', 0.1), 0)} fewer "
              "cancellations", "gain": "Gain", "gain_per_subscriber": "Gain per subscriber",
              "model": "Model", "verdict": "Verdict"}
    return format_table(shown, currency=currency, table_id="churn-cut-table",
                        money=["value", "value_with_cut", "gain", "gain_per_subscriber"],
                        counts=["subscribers"], labels=labels)


def at_risk_view(table: pd.DataFrame, currency: str = "") -> Any:
    """:func:`at_risk_subscribers` as a report table, or why it is empty."""
    from ._common import HTMLText
    from .html import format_table

    if table.empty:
        return HTMLText('<p class="rk-note">No at-risk list: no plan has a model reliable '
                        "enough to rank its subscribers.</p>")
    labels = {table.index.name or "customer_id": "Customer", "plan": "Plan",
              "billing": "Billing", "tenure_months": "Months as a subscriber",
              "months_to_renewal": "Months to renewal", "mrr": "MRR",
              "cancel_at_next_renewal": "Chance to cancel at the next renewal",
              "value_at_risk": "Value at risk"}
    return format_table(table, currency=currency, table_id="at-risk-table",
                        money=["mrr", "value_at_risk"], percents=["cancel_at_next_renewal"],
                        counts=["tenure_months", "months_to_renewal"], labels=labels)


# =====================================================================================
# the subscriber list next to the report
# =====================================================================================


_SUBSCRIBER_COLUMNS = {
    "status": "paying (MRR > 0 in the last month) or cancelled",
    "plan": "plan of the last paid month",
    "billing": "monthly or annual contract",
    "started": "first month of the current (or last) subscription",
    "last_paid": "last month paid",
    "tenure_months": "months paid in the current (or last) subscription",
    "months_to_renewal": "annual contracts: months until the next yearly renewal",
    "mrr": "MRR of the last paid month, in {cur}",
    "cancel_at_next_renewal": "the plan model's chance that she cancels at her next renewal "
                              "(empty when the plan's value is not shown)",
    "expected_further_months": "months she is expected to keep paying, within 10 years",
    "residual_value": "discounted margin she is expected to bring from her next renewal on, "
                      "in {cur} (empty when the plan's value is not shown)",
    "residual_value_low": "low end of the 90% range (plans whose checks call for a range)",
    "residual_value_high": "high end of that range",
    "verdict": "the verdict of her plan's model (ok, caution, unreliable)",
    "action": "what to do with her, from the report's actions",
}


def subscriber_list(client: ClientData, forecast: SubscriptionForecast) -> pd.DataFrame:
    """Every subscriber (her current or last subscription) with what the report knows.

    Columns as in the text file written beside the list (``status``, ``plan``, ``billing``,
    ``started``, ``last_paid``, ``tenure_months``, ``months_to_renewal``, ``mrr``,
    ``cancel_at_next_renewal``, ``expected_further_months``, ``residual_value`` and its
    range, ``verdict``, ``action``); the value columns are filled only for plans whose
    value the report shows (:meth:`SubscriptionForecast.shows`). Actions: renewal
    outreach (annual, renewal within 3 months), onboarding (paying, first 2 months),
    win-back (cancelled in the last 3 months), none otherwise.
    """
    d = forecast.durations
    group_col = forecast.fits.group_col
    last = d.groupby(level=0, sort=True).tail(1)          # her latest subscription
    end = _last_complete_month(client)
    paying = ~last["churned"].to_numpy(dtype=bool)
    started = last["start"].dt.to_period("M")
    last_paid = np.where(paying, str(end), [
        str(s + int(t) - 1) for s, t in zip(started, last["tenure_months"], strict=True)])
    annual = last["billing_period"].to_numpy() == "Y"
    tenure = last["tenure_months"].to_numpy()
    out = pd.DataFrame({
        "status": np.where(paying, "paying", "cancelled"),
        "plan": last[group_col].astype(str).to_numpy(),
        "billing": np.where(annual, "annual", "monthly"),
        "started": [str(s) for s in started], "last_paid": last_paid,
        "tenure_months": tenure,
        "months_to_renewal": np.where(annual & paying, (12 - tenure % 12) % 12, 0),
        "mrr": last["mrr"].to_numpy(dtype=float)}, index=last.index)
    for col in ("cancel_at_next_renewal", "expected_further_months", "residual_value",
                "residual_value_low", "residual_value_high"):
        out[col] = np.nan
    out["verdict"] = ""
    v = forecast.values
    for fit in forecast.fits:
        members = (out["plan"] == str(fit.group)) & (
            out["billing"] == ("annual" if fit.billing_period == "Y" else "monthly"))
        out.loc[members, "verdict"] = fit.verdict
        if not forecast.shows(fit):
            continue
        rows = v.loc[(v[group_col] == fit.group) & (v["billing_period"] == fit.billing_period)]
        rows = rows.groupby(level=0).tail(1)
        k = rows["renewals"].to_numpy()
        risk = 1.0 - np.asarray(fit.model.survival(k + 1), dtype=float) / np.asarray(
            fit.model.survival(k), dtype=float)
        at = out.index.isin(rows.index) & (out["status"] == "paying").to_numpy()
        ids = out.index[at]
        out.loc[ids, "cancel_at_next_renewal"] = pd.Series(risk, index=rows.index)[ids]
        for src, dst in (("expected_months", "expected_further_months"),
                         ("residual_value", "residual_value"),
                         ("residual_value_low", "residual_value_low"),
                         ("residual_value_high", "residual_value_high")):
            out.loc[ids, dst] = rows[src][ids]
    recent = np.array([pd.Period(p, "M") >= end - 2 for p in out["last_paid"]])
    action = np.full(len(out), "", dtype=object)
    action[(out["status"] == "cancelled").to_numpy() & recent] = "win-back offer"
    action[paying & (tenure <= 2)] = "onboarding check-in"
    action[paying & annual & (out["months_to_renewal"].to_numpy() <= 3)] = "renewal outreach"
    out["action"] = action
    out.index.name = "customer_id"
    out.attrs.update(client=client.display_name, verdict=forecast.verdict,
                     currency=str(client.info.get("currency") or ""))
    return out


def export_subscribers(subscribers: pd.DataFrame, *, path: str = "",
                       currency: str = "") -> Any:
    """Write :func:`subscriber_list` next to the report (CSV, Parquet when pyarrow is
    there, and a text file of the columns) and say what was written.

    ``path`` is a ``.csv`` file in an existing folder (``retention-kit report`` passes
    ``<out>/<report>.customers.csv``); "" writes nothing. Published under the customer
    list's MIME type, so the batch's index links the files.
    """
    from .exports import write_list

    shown = subscribers.copy()
    money = ["mrr", "residual_value", "residual_value_low", "residual_value_high"]
    shown[money] = shown[money].round(2)
    shown["cancel_at_next_renewal"] = shown["cancel_at_next_renewal"].round(4)
    shown["expected_further_months"] = shown["expected_further_months"].round(1)
    cur = currency or "the client's currency"

    def readme(parquet_note: str) -> str:
        text = [f"Subscriber list of {subscribers.attrs.get('client', '')}: "
                f"{len(subscribers):,} customers, one row each (her current or last "
                "subscription).", "", "Columns:",
                "  customer_id: the customer's id in the client's data"]
        text += [f"  {c}: {d.format(cur=cur)}" for c, d in _SUBSCRIBER_COLUMNS.items()]
        return "\n".join(text + ([("\n" + parquet_note)] if parquet_note else [])) + "\n"

    files, notes = write_list(shown, path, readme)
    counts = subscribers["action"].replace("", np.nan).dropna().value_counts()
    summary = {"customers": len(subscribers), "clv": "per plan", "files": files,
               "notes": notes, "segments": [], "top": [], "ranked_by": "value_at_risk"}
    labels = {"csv": "CSV", "parquet": "Parquet", "readme": "columns"}
    links = " · ".join(f'<a href="{escape(name)}">{labels[kind]}</a>'
                       for kind, name in files.items())
    actions = "; ".join(f"{escape(a)}: {n:,} customers" for a, n in counts.items()) or "none"
    page = (f'<p class="rk-note">Subscriber list ({len(subscribers):,} customers)'
            + (f": {links}" if links else "") + f". Actions: {actions}.</p>"
            + "".join(f'<p class="rk-note">{escape(n)}</p>' for n in notes))
    return SubscriberListView(html=page, summary=summary)


@dataclass(frozen=True)
class SubscriberListView:
    """What :func:`export_subscribers` wrote, as the report shows it; published under the
    customer list's MIME type for the batch's index."""

    html: str
    summary: dict[str, Any]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from .exports import CUSTOMERS_MIME

        return {"text/html": self.html,
                "text/plain": f"{self.summary['customers']:,} subscribers exported",
                CUSTOMERS_MIME: self.summary}


# =====================================================================================
# the summary at the top
# =====================================================================================

#: Section anchors of notebooks/subscription_report.ipynb (nbconvert's heading ids).
SECTIONS = {"headline": "Headline-numbers", "bridge": "Where-MRR-came-from-and-went",
            "tenure": "Churn-by-plan-and-months-as-a-subscriber",
            "survival": "How-long-subscriptions-last",
            "value": "What-the-current-subscribers-are-worth", "caveats": "Caveats",
            "next": "What-to-do-next"}


def summary_findings(client: ClientData, kpis: SubscriptionKPIs, bridge: pd.DataFrame,
                     spikes: pd.DataFrame, tenure: pd.DataFrame,
                     forecast: SubscriptionForecast, cut_value: pd.DataFrame,
                     ) -> list[Any]:
    """Three to five findings for the top of the report
    (:class:`~retention_kit.reports.summary.SummaryPoint`, ``section`` a key of
    :data:`SECTIONS`; show them with ``reports.summary_view(points, anchors=SECTIONS)``).
    Every number is the one its section shows; money only for plans whose value the report
    shows."""
    from .summary import SummaryPoint

    cur = kpis.currency
    out: list[Any] = []
    snapshot = [f for f in _snapshot_findings(forecast) if f.verdict == "unreliable"]
    if snapshot:
        out.append(SummaryPoint("Not a history", "This table looks like a snapshot, not a "
                                f"history: {snapshot[0].reason} Its churn numbers and models "
                                "should not be read as they stand.", "caveats"))
    t = bridge.loc["total"]
    change = t["end"] / t["start"] - 1 if t["start"] > 0 else math.nan
    flows = {"new subscriptions": t["new"], "upgrades": t["expansion"],
             "returning customers": t["reactivation"], "cancellations": -t["churn"],
             "downgrades": -t["contraction"]}
    biggest = max(flows, key=lambda k: abs(flows[k]))
    out.append(SummaryPoint(
        "Recurring revenue", f"MRR is {format_money(kpis.mrr, cur)} ({kpis.last_period}), "
        + (f"{change:+.1%} over the last {len(bridge) - 1} months; " if math.isfinite(
            change) else "")
        + f"the biggest flow was {biggest} ({format_money(flows[biggest], cur)}).", "bridge",
        {"mrr": kpis.mrr, "change": change, biggest: float(flows[biggest])}))
    churn = (f"{percent(kpis.logo_churn_12m)} of paying customers stop paying in a month "
             f"(average of the last 12 months)")
    rate = _band_rates(tenure)
    if len(rate) > 1 and _distinguishable(tenure, rate.idxmax(), rate.idxmin()):
        churn += (f", most in months {rate.idxmax()} of a monthly subscription "
                  f"({percent(rate.max())})")
    if kpis.nrr is not None:
        churn += f"; net revenue retention is {percent(kpis.nrr)}"
    out.append(SummaryPoint("Churn", churn + ".", "tenure",
                            {"logo_churn_12m": kpis.logo_churn_12m}))
    if len(spikes):
        month = spikes["excess"].idxmax()
        out.append(SummaryPoint("Unusual month", f"{_label(month)} lost about "
                                f"{spikes.loc[month, 'excess']:,.0f} more subscribers than "
                                "usual in one month: check for failed payments.", "bridge",
                                {"excess": float(spikes.loc[month, "excess"])}))
    out.append(SummaryPoint("What subscribers are worth", _value_finding(forecast, cur),
                            "value"))
    if len(cut_value):
        best = cut_value.sort_values("gain").iloc[-1]
        out.append(SummaryPoint(
            "Largest lever", f"{percent(cut_value.attrs.get('cut', 0.1), 0)} fewer "
            f"cancellations at every renewal of {best.iloc[0]} subscribers is worth about "
            f"{format_money(float(best['gain']), cur)} in margin: the largest retention "
            "lever the models can value.", "next", {"gain": float(best["gain"])}))
    return out[:5]


def _value_finding(forecast: SubscriptionForecast, currency: str) -> str:
    shown = [f for f in forecast.fits if forecast.shows(f)]
    if not shown:
        return ("We cannot tell yet what the current subscribers are worth: no plan's model "
                "passed its checks (the plan table says why and what would fix it).")
    v = forecast.values
    parts, total, low, high = [], 0.0, 0.0, 0.0
    for fit in shown:
        rows = v.loc[(v[forecast.fits.group_col] == fit.group)
                     & (v["billing_period"] == fit.billing_period)]
        total += float(rows["residual_value"].sum())
        ranged = fit.verdict == "caution"
        low += float(rows["residual_value_low" if ranged else "residual_value"].sum())
        high += float(rows["residual_value_high" if ranged else "residual_value"].sum())
        parts.append(f"{fit.group} ({'annual' if fit.billing_period == 'Y' else 'monthly'})")
    amount = (format_money(total, currency) if low == high else
              f"{format_money(low, currency)} to {format_money(high, currency)}")
    rest = len(forecast.fits) - len(shown)
    # the verdict of the plans valued here (those that cannot be valued are said apart)
    verdict = "caution" if any(f.verdict == "caution" for f in shown) else "ok"
    return (f"The current subscribers of {', '.join(parts)} are worth {amount} in future "
            f"margin (verdict: {verdict})"
            + (f"; {rest} other plan(s) cannot be valued yet." if rest else "."))


def _snapshot_findings(forecast: SubscriptionForecast) -> list[Any]:
    from ..diagnostics import snapshot_findings

    d = forecast.durations
    return list(snapshot_findings(pd.DataFrame({"duration": d["tenure_months"],
                                                "churned": d["churned"], "start": d["start"]}),
                                  start_col="start"))
