"""One call for a report: every diagnostic the given inputs allow, as one Diagnostics."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import pandas as pd

from ..errors import ConvergenceError, DataError
from ._verdict import Diagnostics, Finding, model_name
from .adequacy import holdout_seasonality, spend_independence
from .holdout_fit import holdout_fit
from .identification import identification
from .sufficiency import data_sufficiency
from .truncation import left_truncation

__all__ = ["diagnose"]


def diagnose(
    model: Any = None,
    *,
    spend_model: Any = None,
    summary: pd.DataFrame | None = None,
    split: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    inactivity: float | None = None,
    period: str = "M",
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
    calibrated: Any = None,
) -> Diagnostics:
    """Run every diagnostic the inputs allow and collect the findings.

    * ``model`` (fitted on the whole window): :func:`identification`;
    * ``spend_model`` (a fitted Gamma-Gamma): :func:`identification`, its findings
      prefixed "spend: ";
    * ``model`` and ``split``: a model of the same class and options is fitted on
      the calibration columns of ``split`` and judged by :func:`holdout_fit`;
      a failing calibration fit is itself an ``unreliable`` finding (``calibrated``,
      when given, is that fit, made already: e.g. the chosen model of
      :func:`~retention_kit.diagnostics.choose_model` on the same ``split``);
    * ``summary`` (or ``split``) with ``monetary_value``: :func:`spend_independence`;
    * ``transactions``: :func:`data_sufficiency` (with ``inactivity`` in days when
      an inactivity rule is used), :func:`left_truncation` and, with ``split``
      (its ``attrs["calibration_end"]``), :func:`holdout_seasonality`.

    Parameters
    ----------
    model : fitted model, optional
        The transaction model (BG/NBD, MBG/NBD, Pareto/NBD...).
    spend_model : fitted model, optional
        The spend model.
    summary : DataFrame, optional
        The per-customer summary the model was fitted on.
    split : DataFrame, optional
        :func:`~retention_kit.data.calibration_holdout_split` output.
    transactions : DataFrame, optional
        The raw (clean) transaction log.
    inactivity : float, optional
        Days without a purchase after which a customer is called lost.
    period : str, default "M"
        Cohort period.
    customer_col, date_col, observation_end
        Columns and end of the log.
    calibrated : fitted model, optional
        ``model``'s class and options already fitted on ``split``'s calibration columns,
        judged on the holdout instead of a new fit (which would give the same model).

    Returns
    -------
    Diagnostics
        Findings in the order above; ``.verdict`` is the worst.
    """
    findings: list[Finding] = []
    if model is not None:
        findings += identification(model)
        if split is not None:
            findings += (holdout_fit(calibrated, split) if calibrated is not None
                         else _holdout(model, split))
    if spend_model is not None:
        findings += [replace(f, check=f"spend: {f.check}") for f in identification(spend_model)]
    spend_data = summary if summary is not None else split
    if spend_data is not None and "monetary_value" in spend_data.columns:
        findings.append(spend_independence(spend_data))
    if transactions is not None:
        cols = {"customer_col": customer_col, "date_col": date_col,
                "observation_end": observation_end}
        findings += data_sufficiency(transactions, inactivity=inactivity, period=period, **cols)
        findings.append(left_truncation(transactions, period=period, **cols))
        if split is not None and "calibration_end" in split.attrs:
            findings.append(holdout_seasonality(
                transactions, calibration_end=split.attrs["calibration_end"], **cols))
    return Diagnostics(tuple(findings))


def _holdout(model: Any, split: pd.DataFrame) -> Diagnostics:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calibrated = type(model)(**model.get_params()).fit(split)
    except (ConvergenceError, DataError) as exc:
        return Diagnostics((Finding(
            "holdout fit", "unreliable",
            f"{model_name(model)} could not be fitted on the calibration period alone "
            f"({str(exc).split('. ')[0]}), so its forecasts cannot be checked.",
            fix="a longer calibration period, or another model (see choose_model)",
            rule="calibration fit fails: unreliable"),))
    return holdout_fit(calibrated, split)
