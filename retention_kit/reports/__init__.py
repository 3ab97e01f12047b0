"""Per-client retention reports: the numbers behind them, and the batch that makes them.

One module per concept, in import order (each imports only the ones above it and the core
modules of ``retention_kit``, never the reverse):

* :mod:`~retention_kit.reports.settings`: :func:`check_parameters` validates the report
  notebook's parameters into :class:`ReportSettings`;
* :mod:`~retention_kit.reports.client`: :func:`load_client` reads and validates a client's
  data folder once into :class:`ClientData`, which caches the per-customer summaries;
* :mod:`~retention_kit.reports.sections`: the numbers of each section,
  :func:`period_retention`, :func:`headline_kpis`, :func:`forecast_clv` (a model chosen on
  a holdout + Gamma-Gamma for shops, sBG for subscriptions, with its diagnostics and
  verdict), :func:`trust_view`, :func:`holdout_check`, :func:`customers_since` (left
  truncation), :func:`report_cohorts` (the heatmap's recent cohorts),
  :func:`segment_table`, :func:`tier_table` (money as the verdict allows),
  :func:`churn_value`;
* :mod:`~retention_kit.reports.trends`: :func:`shop_trends`, active customers, retention,
  churn (the headline's definitions), revenue, orders and new customers per period over
  the whole window;
* :mod:`~retention_kit.reports.subscription`: the subscription report's sections (MRR,
  its bridge, churn events, churn by plan and tenure, survival by plan, contract models per
  plan with residual values, at-risk subscribers, actions), used as
  ``reports.subscription.<name>`` by ``notebooks/subscription_report.ipynb``;
* :mod:`~retention_kit.reports.exports`: :func:`customer_list` (every customer with
  segment, action, P(alive), expected purchases, CLV with its interval and tier, as the
  verdict allows), :func:`act_on_segments`, :func:`top_customers` and
  :func:`export_customers` (the CSV/Parquet files next to the report and the customers
  to act on first);
* :mod:`~retention_kit.reports.text`: generated text, :func:`next_steps`, :func:`caveats`,
  the curve sentences and :func:`trend_sentence`;
* :mod:`~retention_kit.reports.summary`: :func:`executive_summary`, three to five
  findings read from the sections' numbers (biggest movement, value at risk, forecast with
  its verdict, the churn cut's value), each linking to its section (:func:`summary_view`);
* :mod:`~retention_kit.reports.html`: report tables and lists as HTML, and
  :func:`notebook_to_html` (an executed notebook as an offline page);
* :mod:`~retention_kit.reports.batch`: :func:`run_reports` (and ``retention-kit report``)
  runs ``notebooks/client_report.ipynb`` per client with papermill and writes the pages
  and an index; :mod:`~retention_kit.reports.warm` forks each report's kernel from a
  template process that made the imports once (Linux; fresh kernels elsewhere);
* :mod:`~retention_kit.reports.database`: :func:`~retention_kit.reports.database.database_clients`
  cleans a log that lives in a database into one client folder per client.

papermill and nbconvert are imported inside the batch functions, matplotlib nowhere:
importing this package stays light.
"""

from __future__ import annotations

# Importable from here before the split into modules (tests and user code use them).
from ..data import prepare_transactions, rfm_segmentation_summary, rfm_summary  # noqa: F401
from . import subscription
from ._common import KPI_MIME, PERIODS, QUALITY_MIME, format_money
from .batch import (
    CUSTOMER_LIST_SUFFIXES,
    PER_CLIENT_PARAMETERS,
    REPORT_NOTEBOOK,
    SUBSCRIPTION_NOTEBOOK,
    ReportResult,
    ReportsCancelled,
    discover_clients,
    error_page,
    notebook_parameters,
    report_notebook_for,
    run_reports,
    safe_name,
    write_index,
)
from .client import ClientData, load_client
from .exports import (
    CUSTOMER_COLUMNS,
    CUSTOMERS_MIME,
    CustomerListView,
    act_on_segments,
    customer_list,
    customer_list_readme,
    export_customers,
    top_customers,
)
from .html import (
    external_resources,
    format_table,
    html_list,
    notebook_to_html,
    report_header,
    tier_view,
)
from .sections import (
    FORECAST_CHECKS,
    MAX_COHORTS,
    TRUST_MIME,
    ClvForecast,
    DataQualityView,
    FitCheck,
    HeadlineKPIs,
    TrustView,
    churn_value,
    cohort_period,
    customers_since,
    data_quality,
    forecast_clv,
    headline_kpis,
    holdout_check,
    period_retention,
    report_cohorts,
    segment_table,
    survival_window_notes,
    tier_table,
    trust_view,
)
from .settings import ReportSettings, check_parameters
from .summary import SECTION_ANCHORS, SummaryPoint, executive_summary, summary_view
from .text import caveats, curve_sentence, next_steps, survival_sentence, trend_sentence
from .trends import TREND_UNITS, shop_trends, window_periods

__all__ = [
    "CUSTOMERS_MIME",
    "CUSTOMER_COLUMNS",
    "CUSTOMER_LIST_SUFFIXES",
    "ClientData",
    "CustomerListView",
    "PER_CLIENT_PARAMETERS",
    "act_on_segments",
    "customer_list",
    "customer_list_readme",
    "export_customers",
    "top_customers",
    "FORECAST_CHECKS",
    "MAX_COHORTS",
    "report_cohorts",
    "TRUST_MIME",
    "ClvForecast",
    "DataQualityView",
    "FitCheck",
    "HeadlineKPIs",
    "TrustView",
    "KPI_MIME",
    "PERIODS",
    "QUALITY_MIME",
    "REPORT_NOTEBOOK",
    "SUBSCRIPTION_NOTEBOOK",
    "TREND_UNITS",
    "ReportResult",
    "ReportSettings",
    "ReportsCancelled",
    "caveats",
    "check_parameters",
    "churn_value",
    "cohort_period",
    "customers_since",
    "curve_sentence",
    "data_quality",
    "discover_clients",
    "error_page",
    "external_resources",
    "forecast_clv",
    "format_money",
    "format_table",
    "headline_kpis",
    "holdout_check",
    "html_list",
    "load_client",
    "next_steps",
    "notebook_parameters",
    "notebook_to_html",
    "period_retention",
    "report_header",
    "report_notebook_for",
    "run_reports",
    "safe_name",
    "SECTION_ANCHORS",
    "SummaryPoint",
    "executive_summary",
    "summary_view",
    "segment_table",
    "shop_trends",
    "subscription",
    "survival_window_notes",
    "survival_sentence",
    "tier_table",
    "tier_view",
    "trend_sentence",
    "trust_view",
    "window_periods",
    "write_index",
]
