"""Model choice by evidence: fit the candidates on a calibration split, pick by the holdout.

The report refits the chosen model on the whole window; this module only decides which
one, and says why in a sentence.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, DataError
from ..evaluation import holdout_evaluation
from ..models import BGNBD, MBGNBD, ParetoNBD
from ._verdict import Finding
from .holdout_fit import describe_error, error_verdict
from .identification import identification

__all__ = ["CANDIDATES", "TIE", "ModelChoice", "choose_model"]

#: The default candidates, by display name.
CANDIDATES: dict[str, type] = {"BG/NBD": BGNBD, "MBG/NBD": MBGNBD, "Pareto/NBD": ParetoNBD}
#: Holdout errors closer than this (in absolute value) are a tie, decided by log-likelihood.
TIE = 0.02


@dataclass(frozen=True)
class ModelChoice:
    """The model chosen on a calibration/holdout split, and why.

    Attributes
    ----------
    name : str
        Display name of the chosen model ("BG/NBD").
    model_class : type
        Its class, to refit on the whole window (``model_class().fit(summary)``).
    model : object
        The chosen model as fitted on the calibration period.
    table : DataFrame
        One row per candidate: ``loglik``, ``tracking_error``, ``holdout_verdict``,
        ``dropout_verdict``, ``chosen`` and ``problem`` (why a fit failed or was set
        aside; empty otherwise).
    reason : str
        The choice as a sentence.
    finding : Finding
        ``model choice``, with the chosen model's holdout verdict.
    """

    name: str
    model_class: type
    model: Any
    table: pd.DataFrame
    reason: str
    finding: Finding

    def to_frame(self) -> pd.DataFrame:
        """The comparison table."""
        return self.table


def _dropout_verdict(model: Any) -> str:
    d = identification(model)
    found = [f.verdict for f in d if f.check == "dropout identified"]
    return found[0] if found else d.verdict


def choose_model(split: pd.DataFrame, *,
                 candidates: Mapping[str, type] | None = None) -> ModelChoice:
    """Fit candidate models on the calibration period and pick one by the holdout.

    Rule, in order:

    1. candidates whose fit fails are left out (the reason is in ``table``);
    2. if some candidate's dropout is identified (not ``unreliable`` by
       :func:`~retention_kit.diagnostics.identification`), the others are set aside;
    3. the smallest |holdout tracking error| wins; candidates within :data:`TIE`
       (2 percentage points) of it are a tie, won by the highest calibration
       log-likelihood (the default candidates all have four parameters, so this is
       also the AIC and BIC order).

    Two points of tracking error is well inside the sampling noise of the error
    itself (about 7% median at 2,000 customers, see
    :func:`~retention_kit.diagnostics.holdout_fit`), so a smaller difference is not
    evidence for one model over another.

    Parameters
    ----------
    split : DataFrame
        :func:`~retention_kit.data.calibration_holdout_split` output.
    candidates : mapping of name to model class, optional
        Default :data:`CANDIDATES` (BG/NBD, MBG/NBD, Pareto/NBD).

    Returns
    -------
    ModelChoice

    Raises
    ------
    DataError
        When every candidate fails to fit.
    """
    candidates = dict(CANDIDATES if candidates is None else candidates)
    rows, fitted = {}, {}
    for name, cls in candidates.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = cls().fit(split)
                error = float(holdout_evaluation(model, split).metrics["tracking_error"])
                drop = _dropout_verdict(model)
        except (ConvergenceError, DataError) as exc:
            rows[name] = {"loglik": np.nan, "tracking_error": np.nan, "holdout_verdict": "",
                          "dropout_verdict": "", "problem": str(exc).split(". ")[0]}
            continue
        fitted[name] = model
        rows[name] = {"loglik": float(model.loglik_), "tracking_error": error,
                      "holdout_verdict": error_verdict(error), "dropout_verdict": drop,
                      "problem": ""}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not fitted:
        raise DataError("no candidate model could be fitted to the calibration period",
                        example="; ".join(f"{k}: {v['problem']}" for k, v in rows.items()),
                        fix="use a longer calibration period or more customers")
    finite = [n for n in fitted if np.isfinite(rows[n]["tracking_error"])]
    for n in fitted:
        if n not in finite:
            table.loc[n, "problem"] = "predictions not finite"
    if not finite:
        raise DataError("no candidate model gives finite holdout predictions",
                        example=", ".join(fitted),
                        fix="use a longer calibration period; the fits are at a boundary")
    pool = [n for n in finite if rows[n]["dropout_verdict"] != "unreliable"] or finite
    for n in finite:
        if n not in pool:
            table.loc[n, "problem"] = "dropout not identified"
    best_err = min(abs(rows[n]["tracking_error"]) for n in pool)
    tied = [n for n in pool if abs(rows[n]["tracking_error"]) <= best_err + TIE]
    chosen = max(tied, key=lambda n: rows[n]["loglik"])
    table["chosen"] = table.index == chosen
    reason = _reason(chosen, rows, pool, tied, fitted, finite)
    err = rows[chosen]["tracking_error"]
    verdict = error_verdict(err)
    no_dropout = rows[chosen]["dropout_verdict"] == "unreliable"
    if no_dropout and verdict == "ok":
        verdict = "caution"
    fix = ""
    if error_verdict(err) != "ok":
        fix = ("none of the candidates predicts the holdout well: use ranges, a longer "
               "calibration period, or a model with seasonality")
    elif no_dropout:
        fix = "a longer window before trusting long-run forecasts (P(alive), CLV)"
    finding = Finding("model choice", verdict, reason, fix=fix,
                      value=err, rule=f"smallest |holdout error|; within {TIE:.0%} the higher "
                      "log-likelihood; candidates with unidentified dropout set aside")
    return ModelChoice(name=chosen, model_class=candidates[chosen], model=fitted[chosen],
                       table=table, reason=reason, finding=finding)


def _reason(chosen: str, rows: dict, pool: list[str], tied: list[str],
            fitted: dict, finite: list[str]) -> str:
    err = rows[chosen]["tracking_error"]
    others = ", ".join(f"{n} {rows[n]['tracking_error']:+.1%}" if n in finite else
                       f"{n} not finite" for n in fitted if n != chosen)
    text = (f"{chosen} was chosen: fitted on the calibration period, on the holdout it "
            f"{describe_error(err)}")
    text += f" (the others: {others})" if others else ""
    if len(tied) > 1:
        text += (f"; its error is within {TIE * 100:.0f} points of "
                 f"{', '.join(n for n in tied if n != chosen)}, so the higher log-likelihood "
                 "decided")
    broken = [n for n in fitted if n not in finite]
    if broken:
        text += f"; {', '.join(broken)} set aside (predictions not finite)"
    set_aside = [n for n in finite if n not in pool]
    if set_aside:
        text += f"; {', '.join(set_aside)} set aside (dropout not identified by the data)"
    if rows[chosen]["dropout_verdict"] == "unreliable":
        text += ("; no candidate's dropout is identified by the data, so the choice rests on "
                 "a short-term holdout alone")
    failed = [n for n in rows if n not in fitted]
    if failed:
        text += f"; {', '.join(failed)} could not be fitted"
    return text + "."
