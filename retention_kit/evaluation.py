"""Validate transaction models on a holdout period, and compute their diagnostic views.

Fit on the calibration columns of :func:`retention_kit.data.calibration_holdout_split`,
then ask how well each model predicted what customers did next: per-customer errors
(MAE, RMSE, bias), the aggregate tracking error, spend errors, and, from the raw log,
the week-by-week tracking of repeat purchases that the BG/NBD paper plots. Plots of all
of these live in :mod:`retention_kit.plots` (they draw; this module computes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .data import prepare_transactions, purchase_periods
from .errors import DataError
from .units import elapsed

__all__ = [
    "HoldoutEvaluation",
    "compare_models",
    "duration_holdout_evaluation",
    "frequency_distribution",
    "frequency_recency_matrix",
    "holdout_by_frequency",
    "holdout_evaluation",
    "probability_alive_history",
    "repeat_purchase_tracking",
]

_HOLDOUT_COLUMNS = ("frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Predicted versus actual holdout behaviour of one model.

    Attributes
    ----------
    customers : DataFrame
        Per customer: ``actual`` and ``predicted`` holdout purchases and ``error``
        (predicted - actual); with a spend model also ``actual_spend`` and
        ``predicted_spend`` (customers with holdout purchases only).
    metrics : Series
        ``mae``, ``rmse``, ``bias`` (mean error), ``actual_total``,
        ``predicted_total``, ``tracking_error`` (predicted total / actual total - 1)
        and, with a spend model, ``spend_mae``, ``spend_rmse``, ``spend_bias``.
    """

    customers: pd.DataFrame
    metrics: pd.Series


def _require_split(split: pd.DataFrame) -> None:
    if not isinstance(split, pd.DataFrame) or not all(c in split.columns
                                                      for c in _HOLDOUT_COLUMNS):
        raise DataError(
            "the data have no holdout columns (frequency_holdout, duration_holdout)",
            fix="build them with retention_kit.data.calibration_holdout_split(transactions, "
            "calibration_end=...)")


def _predicted_holdout(model: Any, split: pd.DataFrame) -> pd.Series:
    horizons = split["duration_holdout"].to_numpy(dtype=float)
    out = pd.Series(np.nan, index=split.index, dtype=float)
    for horizon in np.unique(horizons):
        rows = horizons == horizon
        out[rows] = model.expected_purchases(split.loc[rows], float(horizon)).to_numpy()
    return out


def holdout_evaluation(model: Any, split: pd.DataFrame, *,
                       spend_model: Any = None) -> HoldoutEvaluation:
    """Compare a fitted model's holdout predictions with what customers did.

    Parameters
    ----------
    model
        A fitted transaction model with ``expected_purchases(data, t)`` (BG/NBD,
        MBG/NBD, Pareto/NBD...), fitted on the calibration columns of ``split``.
    split : DataFrame
        Output of :func:`~retention_kit.data.calibration_holdout_split`.
    spend_model : optional
        A fitted Gamma-Gamma model; its ``expected_spend`` of the calibration
        history is compared with ``monetary_value_holdout`` of customers who bought
        in the holdout.

    Returns
    -------
    HoldoutEvaluation

    Examples
    --------
    >>> from retention_kit.data import calibration_holdout_split
    >>> from retention_kit.datasets import load_cdnow_transactions
    >>> from retention_kit.models import BGNBD
    >>> split = calibration_holdout_split(load_cdnow_transactions(sample=True),
    ...     calibration_end="1997-09-30", time_unit="W", duplicates="keep")
    >>> model = BGNBD().fit(split)
    >>> result = holdout_evaluation(model, split)
    >>> result.metrics[["actual_total", "predicted_total"]].round(1).tolist()
    [1882.0, 1653.4]
    """
    _require_split(split)
    predicted = _predicted_holdout(model, split)
    actual = split["frequency_holdout"].astype(float)
    customers = pd.DataFrame({"actual": actual, "predicted": predicted,
                              "error": predicted - actual})
    err = customers["error"]
    metrics = {
        "mae": float(err.abs().mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "bias": float(err.mean()),
        "actual_total": float(actual.sum()),
        "predicted_total": float(predicted.sum()),
    }
    metrics["tracking_error"] = (metrics["predicted_total"] / metrics["actual_total"] - 1
                                 if metrics["actual_total"] > 0 else np.inf)
    if spend_model is not None:
        if "monetary_value_holdout" not in split.columns:
            raise DataError("the split has no monetary_value_holdout column",
                            fix="pass amount_col= to calibration_holdout_split")
        buyers = split["frequency_holdout"] > 0
        spend = spend_model.expected_spend(split.loc[buyers])
        customers["actual_spend"] = split["monetary_value_holdout"].where(buyers)
        customers["predicted_spend"] = spend.reindex(split.index)
        spend_err = (customers["predicted_spend"] - customers["actual_spend"]).dropna()
        metrics.update(spend_mae=float(spend_err.abs().mean()),
                       spend_rmse=float(np.sqrt((spend_err ** 2).mean())),
                       spend_bias=float(spend_err.mean()))
    return HoldoutEvaluation(customers=customers, metrics=pd.Series(metrics, name="value"))


def compare_models(models: Mapping[str, Any], split: pd.DataFrame) -> pd.DataFrame:
    """Several fitted models side by side: fit statistics and holdout errors.

    Parameters
    ----------
    models : mapping of name to fitted model
        Each fitted on the calibration columns of ``split``.
    split : DataFrame
        Output of :func:`~retention_kit.data.calibration_holdout_split`.

    Returns
    -------
    DataFrame
        One row per model: ``n_params``, ``loglik``, ``aic`` (2k - 2LL), ``bic``
        (k ln n - 2LL), holdout ``mae``, ``rmse``, ``bias``, ``actual_total``,
        ``predicted_total`` and ``tracking_error``. Lower AIC/BIC and errors are
        better; log-likelihoods are comparable only between models fitted on the
        same data.
    """
    if not models:
        raise DataError("no models to compare", fix="pass a dict such as {'BG/NBD': fitted}")
    rows = {}
    for name, model in models.items():
        k = len(model.params_)
        ll = float(model.loglik_)
        row = {"n_params": k, "loglik": ll, "aic": 2 * k - 2 * ll,
               "bic": k * np.log(float(model.n_obs_)) - 2 * ll}
        row.update(holdout_evaluation(model, split).metrics.to_dict())
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def repeat_purchase_tracking(
    model: Any,
    transactions: pd.DataFrame,
    *,
    calibration_end: object,
    observation_end: object = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    time_unit: str = "W",
    duplicates: str = "raise",
) -> pd.DataFrame:
    """Actual versus expected repeat purchases of the cohort, period by period.

    The BG/NBD paper's tracking plots (FHL 2005, figures 2-3): for every period
    (``time_unit``) from the first acquisition to ``observation_end``, the number
    of repeat purchases made by the customers acquired by ``calibration_end``, and
    what the model expects: ``sum_i E[X(τ - b_i)]`` for customers born at b_i.

    Parameters
    ----------
    model
        Transaction model fitted on the calibration summary in ``time_unit``
        (needs ``expected_purchases_new(t)``).
    transactions : DataFrame
        The raw log the calibration summary came from.
    calibration_end, observation_end : date-like
        As in :func:`~retention_kit.data.calibration_holdout_split`.
    time_unit : {"D", "W"}
        Length of a tracking period; must be the unit the model was fitted in.

    Returns
    -------
    DataFrame
        Indexed by period number (1, 2, ...): ``period_end`` (date),
        ``actual`` and ``expected`` repeat purchases in the period, their cumulative
        sums ``actual_cumulative`` and ``expected_cumulative``, and
        ``calibration`` (True for periods inside the calibration window).
    """
    if time_unit not in ("D", "W"):
        raise DataError(f"time_unit={time_unit!r} is not supported for tracking",
                        fix="use 'D' or 'W' (exact durations)")
    clean, end = prepare_transactions(transactions, customer_col=customer_col,
                                      date_col=date_col, observation_end=observation_end,
                                      duplicates=duplicates)  # type: ignore[arg-type]
    cal_end = pd.Timestamp(calibration_end).normalize()
    periods = purchase_periods(clean, "D")
    first = periods.groupby("customer")["date"].transform("min")
    births = periods.loc[periods["date"] == first].set_index("customer")["date"]
    births = births[births <= cal_end]
    repeat = periods[(periods["date"] > first) & periods["customer"].isin(births.index)]
    start = births.min()
    step_days = 7 if time_unit == "W" else 1
    n_steps = int(np.floor(((end.normalize() - start).days + 1) / step_days))
    if n_steps < 1:
        raise DataError("the observation window is shorter than one tracking period",
                        fix="use a longer window or time_unit='D'")
    edges = start + pd.to_timedelta(np.arange(1, n_steps + 1) * step_days, unit="D")
    # Purchases on day d count in the period whose (exclusive) end is after d.
    bins = np.searchsorted(edges.to_numpy(), repeat["date"].to_numpy(), side="right")
    actual = np.bincount(bins[bins < n_steps], minlength=n_steps).astype(float)
    # Expected cumulative repeat purchases by each period's last day, with ages measured
    # as rfm_summary measures T (to the start of that day): sum over birth days.
    birth_counts = births.value_counts()
    birth_days = birth_counts.index
    counts = birth_counts.to_numpy(dtype=float)
    cumulative = np.zeros(n_steps)
    for j, edge in enumerate(edges):
        age = elapsed(edge - pd.Timedelta(days=1), pd.Series(birth_days), time_unit)
        alive = age > 0
        if alive.any():
            cumulative[j] = float(counts[alive] @ np.asarray(
                model.expected_purchases_new(age[alive]), dtype=float))
    expected = np.diff(np.r_[0.0, cumulative])
    return pd.DataFrame({
        "period_end": edges - pd.Timedelta(days=1),
        "actual": actual,
        "expected": expected,
        "actual_cumulative": np.cumsum(actual),
        "expected_cumulative": cumulative,
        "calibration": (edges - pd.Timedelta(days=1)) <= cal_end,
    }, index=pd.RangeIndex(1, n_steps + 1, name="period"))


def frequency_recency_matrix(model: Any, *, T: float, max_frequency: int | None = None,
                             max_recency: float | None = None, kind: str = "alive",
                             t: float = 1.0) -> pd.DataFrame:
    """P(alive) or expected purchases over a grid of frequency and recency at age T.

    Parameters
    ----------
    model
        Fitted BG/NBD-family or Pareto/NBD model.
    T : float
        Customer age at which the grid is evaluated (in the model's time unit).
    max_frequency : int, optional
        Largest frequency shown (default: T rounded down, at most 50).
    max_recency : float, optional
        Largest recency (default T); recency runs over whole periods 0..max.
    kind : {"alive", "expected"}
        ``probability_alive`` or ``expected_purchases`` over the next ``t`` periods.

    Returns
    -------
    DataFrame
        Rows: frequency 0..max_frequency; columns: recency. Combinations that
        cannot happen (frequency > 0 with recency 0) are NaN.
    """
    if kind not in ("alive", "expected"):
        raise DataError(f"kind={kind!r} is not 'alive' or 'expected'")
    max_frequency = int(min(np.floor(T), 50)) if max_frequency is None else int(max_frequency)
    max_recency = float(T) if max_recency is None else float(max_recency)
    freq = np.arange(0, max_frequency + 1)
    rec = np.arange(0, int(np.floor(max_recency)) + 1, dtype=float)
    fx, rx = np.meshgrid(freq, rec, indexing="ij")
    grid = pd.DataFrame({"frequency": fx.ravel(), "recency": rx.ravel(),
                         "T": float(T)})
    possible = (grid["frequency"] == 0) == (grid["recency"] == 0)
    values = np.full(len(grid), np.nan)
    ok = grid[possible]
    if kind == "alive":
        values[possible.to_numpy()] = model.probability_alive(ok).to_numpy()
    else:
        values[possible.to_numpy()] = model.expected_purchases(ok, t).to_numpy()
    out = pd.DataFrame(values.reshape(fx.shape), index=pd.Index(freq, name="frequency"),
                       columns=pd.Index(rec, name="recency"))
    out.attrs.update(kind=kind, T=float(T), t=float(t))
    return out


def probability_alive_history(model: Any, purchase_times: np.ndarray | list[float], *,
                              T: float, step: float = 1.0) -> pd.Series:
    """P(alive) of one customer over time, from the first purchase to age T.

    Parameters
    ----------
    model
        Fitted BG/NBD-family or Pareto/NBD model.
    purchase_times : array of float
        Ages at the customer's purchases (the first at 0), in the model's unit.
    T : float
        Age at the end of observation.
    step : float
        Spacing of the evaluation grid; purchase times are added to it.

    Returns
    -------
    Series
        P(alive) indexed by age: it jumps to (nearly) 1 at each purchase and
        decays while the customer stays silent.
    """
    times = np.sort(np.asarray(purchase_times, dtype=float))
    if times.size == 0 or times[0] != 0 or times[-1] > T:
        raise DataError("purchase_times must start at 0 (the first purchase) and end by T",
                        example=str(times[:5]), fix="pass ages since the first purchase")
    ages = np.union1d(np.arange(step, T + step / 2, step), times[1:])
    ages = ages[(ages > 0) & (ages <= T)]
    counts = np.searchsorted(times, ages, side="right") - 1
    last = times[counts]
    grid = pd.DataFrame({"frequency": counts, "recency": last, "T": ages})
    alive = model.probability_alive(grid).to_numpy()
    return pd.Series(alive, index=pd.Index(ages, name="age"), name="probability_alive")


def holdout_by_frequency(evaluation: HoldoutEvaluation, split: pd.DataFrame, *,
                         max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency.

    The conditional-expectation check of FHL (2005, figure 4): customers grouped by
    their number of repeat purchases in calibration (the last group is
    ``max_frequency`` and more).

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` group (the last labelled ``"7+"`` etc.):
        ``customers``, ``actual`` and ``predicted`` (means per customer).
    """
    _require_split(split)
    freq = split["frequency"].clip(upper=max_frequency).astype(int)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    groups = pd.Categorical.from_codes(freq.to_numpy(), categories=labels)
    frame = evaluation.customers[["actual", "predicted"]].assign(frequency=groups)
    out = frame.groupby("frequency", observed=False).agg(
        customers=("actual", "size"), actual=("actual", "mean"),
        predicted=("predicted", "mean"))
    return out


def frequency_distribution(model: Any, summary: pd.DataFrame, *,
                           max_frequency: int = 7) -> pd.DataFrame:
    """Customers by number of repeat purchases: actual versus what the model expects.

    The expected count of customers with n repeat purchases is
    ``sum_i P(X(T_i) = n)`` (the model's ``probability_of_purchases`` at each
    customer's age), the last group pooling ``max_frequency`` and more. FHL (2005,
    figure 2) use this to show the BG/NBD fits the calibration data.

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` group: ``actual`` and ``expected`` customers.
    """
    ages = summary["T"].to_numpy(dtype=float)
    unique_ages, counts = np.unique(ages, return_counts=True)
    n = np.arange(max_frequency)
    expected = np.zeros(max_frequency + 1)
    for age, count in zip(unique_ages, counts, strict=True):
        probs = np.asarray(model.probability_of_purchases(n, float(age)), dtype=float)
        expected[:max_frequency] += count * probs
        expected[max_frequency] += count * (1.0 - probs.sum())
    actual = np.bincount(summary["frequency"].clip(upper=max_frequency).astype(int),
                         minlength=max_frequency + 1)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    return pd.DataFrame({"actual": actual.astype(float), "expected": expected},
                        index=pd.Index(labels, name="frequency"))


def duration_holdout_evaluation(model: Any, calibration: pd.DataFrame, final: pd.DataFrame, *,
                                periods: int) -> HoldoutEvaluation:
    r"""Compare a duration model's survival forecast with who still pays after a holdout.

    For each customer still active at the calibration end (``churned`` False in
    ``calibration``) who has renewed n = ``duration`` - 1 times, the model predicts
    that she still pays ``periods`` later with probability S(n + periods) / S(n)
    (S: ``model.survival``). The actual outcome is 1 when she has not churned in
    ``final``, the durations at the end of the holdout.

    Parameters
    ----------
    model
        A duration model (:class:`~retention_kit.models.SBG`, ``BdW``) fitted on the
        calibration data (e.g. ``durations_to_renewals(calibration)``).
    calibration, final : DataFrame
        :func:`retention_kit.cohorts.churn_durations` at the calibration end and at the
        end of the holdout (``duration``, ``churned``, indexed by customer); ``final``
        must hold every customer of ``calibration``.
    periods : int
        Length of the holdout in the model's periods.

    Returns
    -------
    HoldoutEvaluation
        ``customers``: ``actual`` (1 still paying, 0 gone), ``predicted`` (probability)
        and ``error`` per calibration customer still active; ``metrics``: ``mae``,
        ``rmse``, ``bias``, ``actual_total`` and ``predicted_total`` (customers still
        paying) and ``tracking_error`` (predicted / actual - 1, inf when none is).

    Examples
    --------
    With S(t) = 0.5^t, two customers active at the calibration end and one of them
    still paying a period later, the model expected 0.5 + 0.5 = 1:

    >>> class Halving:
    ...     def survival(self, t):
    ...         return 0.5 ** np.asarray(t, dtype=float)
    >>> cal = pd.DataFrame({"duration": [2, 1, 4], "churned": [False, False, True]},
    ...                    index=["a", "b", "c"])
    >>> end = pd.DataFrame({"duration": [3, 1, 4], "churned": [False, True, True]},
    ...                    index=["a", "b", "c"])
    >>> duration_holdout_evaluation(Halving(), cal, end, periods=1).metrics[
    ...     ["actual_total", "predicted_total", "tracking_error"]].tolist()
    [1.0, 1.0, 0.0]
    """
    current = calibration.loc[~calibration["churned"].astype(bool)]
    n = (current["duration"] - 1).to_numpy().astype(int)
    predicted = (np.asarray(model.survival(n + periods), dtype=float)
                 / np.asarray(model.survival(n), dtype=float))
    missing = current.index.difference(final.index)
    if len(missing):
        raise DataError("customers of the calibration are missing from the final durations",
                        n_rows=len(missing), example=repr(missing[0]),
                        fix="compute both with churn_durations on the same subscriptions")
    actual = (~final.loc[current.index, "churned"].astype(bool)).to_numpy().astype(float)
    customers = pd.DataFrame({"actual": actual, "predicted": predicted,
                              "error": predicted - actual}, index=current.index)
    err = customers["error"]
    metrics = {"mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
               "bias": float(err.mean()), "actual_total": float(actual.sum()),
               "predicted_total": float(np.sum(predicted))}
    metrics["tracking_error"] = (metrics["predicted_total"] / metrics["actual_total"] - 1
                                 if metrics["actual_total"] > 0 else np.inf)
    return HoldoutEvaluation(customers=customers, metrics=pd.Series(metrics, name="value"))
