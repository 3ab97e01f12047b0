"""Diagnostics that gate every claim: each check returns a verdict with its reason.

Verdicts are ``ok``, ``caution`` or ``unreliable`` (:data:`VERDICTS`); each check's
thresholds are documented in its docstring and justified by a simulation
(``benchmarks/calibrate_verdicts.py``) or a source.

* :func:`identification`: can the data tell a fitted model's parameters apart?
* :func:`holdout_fit`, :func:`describe_error`: fit quality on a calibration/holdout split;
* :func:`choose_model`: the candidate model the holdout supports, with the reason;
* :func:`spend_independence`, :func:`holdout_seasonality`: model adequacy;
* :func:`data_sufficiency`: window against purchase cycle and inactivity rule, cohort sizes;
* :func:`left_truncation`: does the log start in the middle of an existing base?
* :func:`snapshot_findings`: is a duration table a snapshot (churn in one window, tenure
  piled at a cap)?
* :func:`segments_vs_alive`: do RFM's "lost" and the model's P(alive) agree?
* :func:`diagnose`: all of the above that the inputs allow.
"""

from ._verdict import VERDICTS, Diagnostics, Finding, model_name, worst
from .adequacy import holdout_seasonality, monthly_index, spend_independence
from .consistency import segments_vs_alive
from .diagnose import diagnose
from .holdout_fit import describe_error, error_verdict, holdout_fit
from .identification import identification
from .model_choice import ModelChoice, choose_model
from .purchase_cycle import inter_purchase_days
from .snapshot import snapshot_findings
from .sufficiency import data_sufficiency
from .truncation import left_truncation, suggest_customers_since

__all__ = [
    "VERDICTS",
    "Diagnostics",
    "Finding",
    "ModelChoice",
    "choose_model",
    "data_sufficiency",
    "describe_error",
    "diagnose",
    "error_verdict",
    "holdout_fit",
    "holdout_seasonality",
    "identification",
    "inter_purchase_days",
    "left_truncation",
    "model_name",
    "monthly_index",
    "segments_vs_alive",
    "snapshot_findings",
    "spend_independence",
    "suggest_customers_since",
    "worst",
]
