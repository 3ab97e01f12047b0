"""Fit quality on a calibration/holdout split, with verdicts and the words that go with them.

A model fitted on the calibration period predicts the holdout purchases of the same
customers; how far the total is off (the *tracking error*) decides whether the report
shows exact numbers (``ok``), ranges (``caution``) or nothing but the reason
(``unreliable``). The words describing a fit come from the same thresholds, never from
fixed adjectives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..evaluation import holdout_by_frequency, holdout_evaluation
from ._verdict import Diagnostics, Finding, model_name

__all__ = ["FIT_CAUTION", "FIT_OK", "GROUP_CAUTION", "describe_error", "error_verdict",
           "holdout_fit"]

#: |holdout tracking error| at most this: ``ok``.
FIT_OK = 0.10
#: |holdout tracking error| at most this: ``caution``; above: ``unreliable``.
FIT_CAUTION = 0.25
#: Worst |error| of a calibration-frequency group (>= ``min_group`` customers) above
#: this: ``caution``.
GROUP_CAUTION = 0.60

_FIT_RULE = (f"|holdout error| <= {FIT_OK:.0%} ok, <= {FIT_CAUTION:.0%} caution, "
             "else unreliable")


def error_verdict(error: float) -> str:
    """The verdict of a relative holdout error (predicted / actual - 1).

    Examples
    --------
    >>> error_verdict(0.05), error_verdict(0.14), error_verdict(-0.527)
    ('ok', 'caution', 'unreliable')
    """
    if not np.isfinite(error):
        return "unreliable"
    e = abs(error)
    return "ok" if e <= FIT_OK else "caution" if e <= FIT_CAUTION else "unreliable"


def describe_error(error: float) -> str:
    """Plain words for a relative holdout error, derived from the thresholds.

    Examples
    --------
    >>> describe_error(0.14)
    'over-predicted by 14.0%: outside the ±10% within which exact numbers are shown, so show ranges'
    >>> print(describe_error(-0.527))
    under-predicted by 52.7%: more than ±25% off, so the model's numbers should not be used
    >>> describe_error(0.031)
    'over-predicted by 3.1%: within ±10%'
    """
    if not np.isfinite(error):
        return ("could not be compared (no holdout purchases, or predictions that are not "
                "finite numbers)")
    side = "over-predicted" if error > 0 else "under-predicted"
    head = f"{side} by {abs(error):.1%}"
    verdict = error_verdict(error)
    if verdict == "ok":
        return f"{head}: within ±{FIT_OK:.0%}"
    if verdict == "caution":
        return (f"{head}: outside the ±{FIT_OK:.0%} within which exact numbers are shown, so "
                "show ranges")
    return f"{head}: more than ±{FIT_CAUTION:.0%} off, so the model's numbers should not be used"


def holdout_fit(model: Any, split: pd.DataFrame, *, max_frequency: int = 7,
                min_group: int = 100) -> Diagnostics:
    """Verdicts on a calibration-fitted model's holdout predictions.

    Findings:

    * **holdout fit**: the tracking error, predicted / actual total holdout
      purchases - 1 (:func:`~retention_kit.evaluation.holdout_evaluation`):
      |error| <= :data:`FIT_OK` (10%) ``ok``, <= :data:`FIT_CAUTION` (25%)
      ``caution``, else ``unreliable``.
    * **holdout fit by frequency**: the same error within each group of customers by
      calibration frequency (0, 1, ..., ``max_frequency``+; FHL 2005, figure 4),
      among groups of at least ``min_group`` customers; the worst above
      :data:`GROUP_CAUTION` (60%) is ``caution``. Never ``unreliable`` on its own:
      small groups are noisy.

    Justification (``benchmarks/calibrate_verdicts.py``): a correctly specified
    BG/NBD on 2,000 simulated CDNOW-like customers (9 months of acquisition,
    calibration to month 12, 6-month holdout) had a median |tracking error| of
    about 7%, a 90th percentile of 12% and a maximum of 18% over 20 seeds (80% of
    them ``ok``, all within ``caution``): within
    ±10% the numbers can be shown as they are, beyond ±25% sampling noise no longer
    explains the miss. The worst group error of correct models reached 66%
    (90th percentile 51%; 5% of seeds above 60%), hence the wider group threshold. The demo reports'
    "+14%" is ``caution`` and "-52.7%" ``unreliable``.

    Parameters
    ----------
    model
        A transaction model fitted on the calibration columns of ``split``.
    split : DataFrame
        :func:`~retention_kit.data.calibration_holdout_split` output.
    max_frequency : int, default 7
        Last frequency group (pooled and above).
    min_group : int, default 100
        Fewest customers in a group for its error to count.

    Returns
    -------
    Diagnostics
    """
    evaluation = holdout_evaluation(model, split)
    m = evaluation.metrics
    error = float(m["tracking_error"])
    name = model_name(model)
    aggregate = Finding(
        "holdout fit", error_verdict(error),
        f"Fitted on the calibration period, {name} predicted {m['predicted_total']:,.0f} "
        f"holdout purchases against {m['actual_total']:,.0f} made: "
        f"{describe_error(error)}.",
        fix="" if error_verdict(error) == "ok" else
        "another model (see choose_model), a longer calibration period, or checking the "
        "holdout for seasonality and data changes",
        value=error, rule=_FIT_RULE)
    groups = holdout_by_frequency(evaluation, split, max_frequency=max_frequency)
    big = groups.loc[(groups["customers"] >= min_group) & (groups["actual"] > 0)]
    group_rule = (f"worst |error| of frequency groups with >= {min_group} customers "
                  f"<= {GROUP_CAUTION:.0%} ok, else caution")
    if big.empty:
        by_freq = Finding("holdout fit by frequency", "caution",
                          f"No frequency group has {min_group} customers with holdout "
                          "purchases, so the fit by frequency cannot be checked.",
                          fix="more customers or a longer holdout", rule=group_rule)
    else:
        errors = big["predicted"] / big["actual"] - 1
        worst_group = str(errors.abs().idxmax())
        worst = float(errors[worst_group])
        listed = ", ".join(f"{k}: {v:+.0%}" for k, v in errors.items())
        verdict = "ok" if abs(worst) <= GROUP_CAUTION else "caution"
        by_freq = Finding(
            "holdout fit by frequency", verdict,
            f"Error by number of calibration repeat purchases ({listed}); the worst, "
            f"{worst:+.0%} for customers with {worst_group}, is "
            + ("within" if verdict == "ok" else "outside")
            + f" ±{GROUP_CAUTION:.0%}.",
            fix="" if verdict == "ok" else "another model, or segment customers by frequency "
            "before trusting per-customer predictions", value=worst, rule=group_rule)
    return Diagnostics((aggregate, by_freq))
