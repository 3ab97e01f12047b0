"""retention_kit: measure, understand and improve customer retention.

The public API gathers the functions analysts call most; every module
(:mod:`retention_kit.data`, :mod:`~retention_kit.metrics`,
:mod:`~retention_kit.cohorts`, :mod:`~retention_kit.models`, :mod:`~retention_kit.clv`,
:mod:`~retention_kit.evaluation`, :mod:`~retention_kit.segments`,
:mod:`~retention_kit.experiments`, :mod:`~retention_kit.plots`,
:mod:`~retention_kit.datasets`, :mod:`~retention_kit.errors`) documents the rest.
Importing the package loads neither matplotlib, seaborn nor lifelines, prints
nothing and changes no global state.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any

from .clv import clv_interval, customer_lifetime_value
from .cohorts import churn_durations, cohort_table, retention_curve, survival
from .data import calibration_holdout_split, rfm_segmentation_summary, rfm_summary
from .datasets import (
    list_demo_clients,
    load_cdnow_summary,
    load_cdnow_transactions,
    load_demo_client,
    load_demo_export,
    load_donations,
    load_experiment,
    load_sbg_cohorts,
    load_survey,
    simulate_experiment,
    simulate_subscriptions,
    simulate_survey,
    simulate_transactions,
)
from .errors import ConvergenceError, DataError, NotFittedError, NumericalWarning
from .experiments import (
    compare_survival,
    cuped,
    programme_roi,
    retention_test,
    sample_size,
    uplift_analysis,
)
from .ingest import (
    CleanLog,
    CleanSummary,
    DataQualityReport,
    TransactionSpec,
    clean_rfm_summary,
    clean_transactions,
)
from .metrics import (
    annualize_churn,
    average_order_value,
    cac,
    cac_payback,
    ces,
    churn_rate,
    csat,
    customer_lifespan,
    ltv_to_cac,
    margin_multiple_clv,
    mrr_movements,
    nps,
    nps_from_scores,
    periodic_churn,
    purchase_frequency,
    referral_rate,
    repeat_purchase_rate,
    retention_rate,
    revenue_retention,
    simple_clv,
)
from .scoring import score_chunks, score_spark
from .segments import (
    cluster_customers,
    clv_tier_summary,
    rfm_scores,
    rfm_segments,
    segment_migration,
    segment_summary,
)

try:  # one source for the version: the package metadata (pyproject.toml)
    __version__ = _metadata.version("retention_kit")
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "unknown"


def __getattr__(name: str) -> Any:
    # The batch runner (papermill, nbconvert) loads only when asked for: importing the
    # package or its models never loads the report code.
    if name == "run_reports":
        from .reports import run_reports

        return run_reports
    raise AttributeError(f"module 'retention_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"run_reports"})

__all__ = [
    "CleanLog",
    "CleanSummary",
    "ConvergenceError",
    "DataError",
    "DataQualityReport",
    "NotFittedError",
    "NumericalWarning",
    "TransactionSpec",
    "annualize_churn",
    "average_order_value",
    "cac",
    "cac_payback",
    "calibration_holdout_split",
    "ces",
    "churn_durations",
    "churn_rate",
    "clean_rfm_summary",
    "clean_transactions",
    "cluster_customers",
    "clv_interval",
    "clv_tier_summary",
    "cohort_table",
    "compare_survival",
    "csat",
    "cuped",
    "customer_lifespan",
    "customer_lifetime_value",
    "list_demo_clients",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_demo_client",
    "load_demo_export",
    "load_donations",
    "load_experiment",
    "load_sbg_cohorts",
    "load_survey",
    "ltv_to_cac",
    "margin_multiple_clv",
    "mrr_movements",
    "nps",
    "nps_from_scores",
    "periodic_churn",
    "programme_roi",
    "purchase_frequency",
    "referral_rate",
    "repeat_purchase_rate",
    "retention_curve",
    "retention_rate",
    "retention_test",
    "revenue_retention",
    "rfm_scores",
    "rfm_segmentation_summary",
    "rfm_segments",
    "rfm_summary",
    "run_reports",
    "sample_size",
    "score_chunks",
    "score_spark",
    "segment_migration",
    "segment_summary",
    "simple_clv",
    "simulate_experiment",
    "simulate_subscriptions",
    "simulate_survey",
    "simulate_transactions",
    "survival",
    "uplift_analysis",
    "__version__",
]
