"""Data sufficiency: is the window long enough, and are the cohorts large enough?

Compares the observation window with the customers' purchase cycle and with an
inactivity rule ("lost after 180 days without a purchase"), and counts customers per
acquisition cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cohorts import cohort_sizes, cohort_table
from ..errors import DataError
from ._verdict import Diagnostics, Finding
from .purchase_cycle import inter_purchase_days, quantile_or_nan

__all__ = ["COHORT_CAUTION", "COHORT_UNRELIABLE", "CYCLES_CAUTION", "CYCLES_UNRELIABLE",
           "RULE_CAUTION", "RULE_UNRELIABLE", "data_sufficiency"]

#: Window / median inter-purchase time below this: ``caution``.
CYCLES_CAUTION = 4.0
#: Window / median inter-purchase time below this: ``unreliable``.
CYCLES_UNRELIABLE = 2.0
#: Window / inactivity rule below this: ``caution``.
RULE_CAUTION = 3.0
#: Window / inactivity rule below this: ``unreliable``.
RULE_UNRELIABLE = 2.0
#: Median customers per cohort below this: ``caution``.
COHORT_CAUTION = 100
#: Median customers per cohort below this: ``unreliable``.
COHORT_UNRELIABLE = 30


#: Cohort periods as a reader says them.
_PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def _grade(value: float, caution: float, unreliable: float) -> str:
    if not np.isfinite(value) or value < unreliable:
        return "unreliable"
    return "caution" if value < caution else "ok"


def data_sufficiency(
    transactions: pd.DataFrame,
    *,
    inactivity: float | None = None,
    period: str = "M",
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
) -> Diagnostics:
    """Window length against the purchase cycle and an inactivity rule; cohort sizes.

    Findings:

    * **window vs purchase cycle**: window days / the median over repeat buyers of
      each one's mean days between purchases (:func:`inter_purchase_days`). A
      customer buying at the median pace makes that many purchases in the window;
      >= :data:`CYCLES_CAUTION` (4) ``ok``, >= :data:`CYCLES_UNRELIABLE` (2)
      ``caution``, below (at most one repeat purchase each) ``unreliable``. No
      repeat buyer at all: ``unreliable``.
    * **window vs inactivity rule** (with ``inactivity`` in days): a customer can be
      called lost only after ``inactivity`` days of silence, so churn is visible
      only at durations up to window - inactivity, and a survival curve is flat
      beyond it. window / inactivity >= :data:`RULE_CAUTION` (3: churn visible over
      at least twice the rule) ``ok``, >= :data:`RULE_UNRELIABLE` (2) ``caution``,
      below ``unreliable``. A real case: a 180-day rule on 12 months (ratio 2.0)
      gave a survival curve flat at 77.5% from month 6.
    * **inactivity rule vs purchase cycle** (with ``inactivity``): the share of
      observed gaps between purchases longer than the rule; above 10% (the rule is
      shorter than the 90th-percentile gap) ``caution``: customers who are only slow
      get counted as lost.
    * **customers per cohort**: median customers per acquisition cohort of
      ``period``. A retention share from n customers has a standard error of up to
      0.5 / sqrt(n): 5 points at n = 100 (:data:`COHORT_CAUTION`), 9 points at
      n = 30 (:data:`COHORT_UNRELIABLE`); below 100 ``caution``, below 30
      ``unreliable``.

    Returns
    -------
    Diagnostics
    """
    gaps = inter_purchase_days(transactions, customer_col=customer_col, date_col=date_col,
                               observation_end=observation_end)
    window = float(gaps.attrs["window_days"])
    median = quantile_or_nan(gaps.groupby(level=0).mean(), 0.5)
    findings = []
    cycles = window / median if np.isfinite(median) and median > 0 else float("nan")
    rule = (f"window / median inter-purchase time >= {CYCLES_CAUTION:g} ok, >= "
            f"{CYCLES_UNRELIABLE:g} caution, else unreliable")
    verdict = _grade(cycles, CYCLES_CAUTION, CYCLES_UNRELIABLE)
    if not np.isfinite(cycles):
        reason = (f"The {window:.0f}-day window shows no customer buying twice, so repeat "
                  "behaviour and dropout cannot be measured.")
    else:
        reason = (f"The window is {window:.0f} days and the median time between a customer's "
                  f"purchases is {median:.0f} days (median of repeat buyers): a typical "
                  f"customer buys about {cycles:.1f} times in the window.")
    findings.append(Finding("window vs purchase cycle", verdict, reason,
                            fix="" if verdict == "ok" else "a longer window, at least "
                            f"{CYCLES_CAUTION * median:.0f} days" if np.isfinite(median) else
                            "a longer window", value=cycles, rule=rule))
    if inactivity is not None:
        findings += _inactivity_findings(float(inactivity), window, gaps)
    cohort_rule = (f"median cohort >= {COHORT_CAUTION} ok, >= {COHORT_UNRELIABLE} caution, "
                   "else unreliable")
    try:
        table = cohort_table(transactions, customer_col=customer_col, date_col=date_col,
                             period=period, observation_end=observation_end, duplicates="keep")
    except DataError:
        findings.append(Finding(
            "customers per cohort", "unreliable",
            f"The log does not cover one complete {_PERIOD_WORDS.get(period, repr(period))}, "
            "so no cohort can be "
            "followed.", fix="a longer log, or a shorter cohort period", rule=cohort_rule))
        return Diagnostics(tuple(findings))
    sizes = cohort_sizes(table)
    med = float(sizes.median())
    verdict = _grade(med, COHORT_CAUTION, COHORT_UNRELIABLE)
    findings.append(Finding(
        "customers per cohort", verdict,
        f"The {len(sizes)} acquisition cohorts (by {_PERIOD_WORDS.get(period, period)}) have a "
        f"median of {med:,.0f} "
        f"customers (smallest {int(sizes.min()):,}); a retention share from {med:,.0f} "
        f"customers is uncertain by up to ±{100 * 0.98 / np.sqrt(max(med, 1)):.0f} points.",
        fix="" if verdict == "ok" else "longer cohort periods (period='Q') or pooled cohorts",
        value=med, rule=cohort_rule))
    return Diagnostics(tuple(findings))


def _inactivity_findings(inactivity: float, window: float, gaps: pd.Series) -> list[Finding]:
    ratio = window / inactivity
    verdict = _grade(ratio, RULE_CAUTION, RULE_UNRELIABLE)
    visible = max(window - inactivity, 0.0)
    reason = (f"With a {inactivity:.0f}-day inactivity rule on a {window:.0f}-day window, churn "
              f"can only be seen at durations up to {visible:.0f} days: a survival curve is "
              "flat beyond that, and customers who never came back count as churned at "
              "duration 0, so it starts below 100%.")
    out = [Finding("window vs inactivity rule", verdict, reason,
                   fix="" if verdict == "ok" else
                   f"a window of at least {RULE_CAUTION * inactivity:.0f} days, or a shorter "
                   "rule that the purchase cycle allows", value=ratio,
                   rule=f"window / rule >= {RULE_CAUTION:g} ok, >= {RULE_UNRELIABLE:g} caution, "
                   "else unreliable")]
    if len(gaps):
        longer = float((gaps > inactivity).mean())
        v = "ok" if longer <= 0.10 else "caution"
        out.append(Finding(
            "inactivity rule vs purchase cycle", v,
            f"{longer:.0%} of the observed gaps between purchases are longer than "
            f"{inactivity:.0f} days" + (": the rule rarely mistakes a slow buyer for a lost "
                                        "one." if v == "ok" else
                                        ": customers who are only slow get counted as lost."),
            fix="" if v == "ok" else
            f"a rule of at least {quantile_or_nan(gaps, 0.9):.0f} days (the 90th-percentile "
            "gap)", value=longer, rule="share of gaps longer than the rule <= 10% ok, "
            "else caution"))
    return out
