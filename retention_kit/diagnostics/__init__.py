"""Diagnostics that gate every claim: each check returns a verdict with its reason.

Verdicts are ``ok``, ``caution`` or ``unreliable`` (:data:`VERDICTS`); each check's
thresholds are documented in its docstring and justified by a simulation
(``benchmarks/calibrate_verdicts.py``) or a source.

* :func:`identification`: can the data tell a fitted model's parameters apart?
* :func:`left_truncation`: does the log start in the middle of an existing base?
"""

from ._verdict import VERDICTS, Diagnostics, Finding, worst
from .identification import identification
from .purchase_cycle import inter_purchase_days
from .truncation import left_truncation, suggest_customers_since

__all__ = [
    "VERDICTS",
    "Diagnostics",
    "Finding",
    "identification",
    "inter_purchase_days",
    "left_truncation",
    "suggest_customers_since",
    "worst",
]
