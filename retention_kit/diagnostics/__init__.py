"""Diagnostics that gate every claim: each check returns a verdict with its reason.

Verdicts are ``ok``, ``caution`` or ``unreliable`` (:data:`VERDICTS`); each check's
thresholds are documented in its docstring and justified by a simulation or a source.
"""

from ._verdict import VERDICTS, Diagnostics, Finding, worst
from .snapshot import snapshot_findings

__all__ = ["VERDICTS", "Diagnostics", "Finding", "snapshot_findings", "worst"]
