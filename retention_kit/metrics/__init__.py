"""Descriptive retention metrics: rates, simple CLV, acquisition economics, surveys, MRR.

Every function is a plain function: numbers (or pandas) in, numbers (or pandas) out,
options keyword-only. Rate-style functions accept scalars, NumPy arrays, lists or pandas
Series and work element-wise; a scalar input gives a Python ``float``, a Series input a
Series on the same index, anything else a NumPy array. Survey metrics return a small frozen
result object that carries the estimate together with its standard error and interval.

Bad input never turns into a silent ``NaN``, ``inf`` or 0: it raises
:class:`~retention_kit.errors.DataError` saying what is wrong, the offending value and how
to fix it.

Units are the caller's: a churn rate "per period" means per whatever period it was measured
over (month, quarter, year), and every function that combines rates and durations says
which must share a unit.

The business guides this project started from contain formula mistakes (an upside-down
churn rate, a retention rate divided by the wrong number, a CLV off by a factor of two);
the functions' docstrings name them next to the correct formula.

The code lives in one module per concept: :mod:`~retention_kit.metrics.rates` (retention,
churn, annual and per-period churn, lifespan), :mod:`~retention_kit.metrics.purchases`
(repeat purchase rate, purchase frequency, AOV, simple and margin-multiple CLV),
:mod:`~retention_kit.metrics.acquisition` (CAC, CAC payback, LTV:CAC, referral rate),
:mod:`~retention_kit.metrics.surveys` (NPS, CSAT, CES and their result types) and
:mod:`~retention_kit.metrics.revenue` (NRR/GRR, the MRR bridge, cohort revenue retention) and
:mod:`~retention_kit.metrics.subscriptions` (monthly subscription KPIs, churn by tenure,
trailing NRR/GRR, on the monthly table of :mod:`retention_kit.billing`); they share the input
handling of ``_inputs``. Import the names from here.
"""

from __future__ import annotations

from ._inputs import ArrayLike as ArrayLike
from ._inputs import Result as Result
from .acquisition import cac, cac_payback, ltv_to_cac, referral_rate
from .purchases import (
    average_order_value,
    margin_multiple_clv,
    purchase_frequency,
    repeat_purchase_rate,
    simple_clv,
)
from .rates import annualize_churn, churn_rate, customer_lifespan, periodic_churn, retention_rate
from .revenue import (
    RevenueRetention,
    cohort_revenue_retention,
    mrr_movements,
    revenue_retention,
)
from .subscriptions import (
    churn_by_tenure,
    churn_spikes,
    subscription_metrics,
    trailing_revenue_retention,
)
from .surveys import CESResult, IntervalResult, NPSResult, ces, csat, nps, nps_from_scores

__all__ = [
    "CESResult",
    "IntervalResult",
    "NPSResult",
    "RevenueRetention",
    "annualize_churn",
    "average_order_value",
    "cac",
    "cac_payback",
    "ces",
    "churn_by_tenure",
    "churn_spikes",
    "churn_rate",
    "cohort_revenue_retention",
    "csat",
    "customer_lifespan",
    "ltv_to_cac",
    "margin_multiple_clv",
    "mrr_movements",
    "nps",
    "nps_from_scores",
    "periodic_churn",
    "purchase_frequency",
    "referral_rate",
    "repeat_purchase_rate",
    "retention_rate",
    "revenue_retention",
    "simple_clv",
    "subscription_metrics",
    "trailing_revenue_retention",
]
