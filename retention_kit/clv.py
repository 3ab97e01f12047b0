"""Customer lifetime value from a transaction model and a spend model, with explicit units.

CLV here is the discounted value of a customer's *future* purchases over a finite horizon
(Fader, Hardie & Lee 2005, "RFM and CLV", *JMR*; the discrete form used by ``lifetimes``)::

    CLV_i = margin · E[Z_i] · Σ_{j=1..H·s} (E[X_i(0, t_j)] − E[X_i(0, t_{j−1})]) / (1+d)^(j/s)

* E[Z_i] is the spend model's expected spend per transaction
  (:meth:`GammaGamma.expected_spend <retention_kit.models.gammagamma.GammaGamma.expected_spend>`);
* E[X_i(0, t)] is the transaction model's expected number of purchases in the next ``t``
  time units given the customer's history (``expected_purchases(data, t)`` of BG/NBD,
  MBG/NBD, Pareto/NBD, ...), so the difference is the purchases expected in sub-step j;
* H = ``horizon`` discount periods, each split into s = ``steps_per_period`` sub-steps
  (s = 1 by default: one cash flow per period), t_j = (j/s) periods converted into the
  data's time unit, and d = ``discount_rate`` per discount period.

Units
-----
Three units meet here and every one is an argument, never a default:

``time_unit``
    The unit of the data's ``recency`` and ``T`` and therefore of the transaction model's
    parameters (its rate ``alpha`` is per time unit). If ``data.attrs["time_unit"]`` is set
    (as :func:`~retention_kit.data.rfm_summary` does) it must agree. The classic mistake
    this prevents: ``lifetimes`` assumes days unless told otherwise, and on the weekly
    CDNOW data that silently reads a 12-month horizon as 12 × 30 *weeks*, giving about
    3.7 times the CLV (see :func:`customer_lifetime_value`).
``discount_period`` and ``horizon``
    ``horizon`` counts whole discount periods: ``horizon=12, discount_period="M"`` is one
    year of monthly cash flows.
``discount_rate``
    Per discount period, as a fraction: 0.01 per month is 1 % a month (12.7 % a year).

Durations are converted through their length in days (:func:`unit_length`): D = 1,
W = 7, M = ``days_per_month`` (365.25/12 = 30.4375 by default), Q = 3 months and
Y = 12 months (365.25 days). ``lifetimes`` uses 30-day months for daily data but 4.345
weeks (30.415 days) for weekly data: pass ``days_per_month`` to reproduce either. The
summaries' calendar units (``rfm_summary(time_unit="M")`` counts month boundaries) are
taken as these average lengths.

Computation cost grows with the number of *distinct* histories, not customers: both
models are evaluated once per distinct row of their columns, and one call per sub-step
covers all customers.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from ._checks import discount_rate as check_discount_rate
from ._checks import fraction, whole
from .errors import DataError, NumericalWarning

__all__ = [
    "CLVSchedule",
    "DAYS_PER_MONTH",
    "SpendModel",
    "TransactionModel",
    "MAX_HORIZON_YEARS",
    "check_clv_time_unit",
    "check_models",
    "clv_interval",
    "clv_per_row",
    "clv_schedule",
    "customer_lifetime_value",
    "expected_discounted_payments",
    "parameter_draws",
    "unit_length",
    "with_params",
]

TimeUnit = Literal["D", "W", "M", "Q", "Y"]

#: Longest CLV horizon accepted, in years.
MAX_HORIZON_YEARS = 100

#: Default length of a month in days: a Julian year of 365.25 days over 12.
DAYS_PER_MONTH = 365.25 / 12

_MONTHS = {"M": 1.0, "Q": 3.0, "Y": 12.0}
_UNIT_NAMES = {"D": "day", "W": "week (7 days)", "M": "month (days_per_month days)",
               "Q": "quarter (3 months)", "Y": "year (12 months)"}


class TransactionModel(Protocol):
    """Anything with ``expected_purchases(data, t)``, t in the data's time unit.

    If it has ``expected_purchases_draws(data, times, draws)`` (the retention_kit
    transaction models: BG/NBD, MBG/NBD, Pareto/NBD), the bootstrap of
    :func:`clv_interval` evaluates many draws per call with it. Otherwise, if it accepts
    an array ``t`` with one horizon per row, the bootstrap uses that to make one call per
    draw; else one call per draw and sub-step.
    """

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series: ...


class SpendModel(Protocol):
    """Anything with ``expected_spend(data)`` (currency per transaction)."""

    def expected_spend(self, data: pd.DataFrame) -> pd.Series: ...


def unit_length(unit: str, *, in_unit: str = "D", days_per_month: float = DAYS_PER_MONTH,
                ) -> float:
    """Length of one ``unit`` measured in ``in_unit``.

    Parameters
    ----------
    unit, in_unit : {"D", "W", "M", "Q", "Y"}
        Day, week (7 days), month (``days_per_month`` days), quarter (3 months) and
        year (12 months).
    days_per_month : float, default 365.25/12
        Length of a month in days (``lifetimes`` uses 30 for daily data and
        4.345 weeks = 30.415 days for weekly data).

    Returns
    -------
    float

    Examples
    --------
    >>> unit_length("M", in_unit="W")  # weeks in an average month
    4.348214...
    >>> unit_length("Y"), unit_length("Y", days_per_month=30)
    (365.25, 360.0)
    >>> unit_length("M", in_unit="W", days_per_month=7 * 4.345)  # lifetimes' weekly month
    4.345...
    """
    _check_days_per_month(days_per_month)
    return _days(unit, days_per_month, "unit") / _days(in_unit, days_per_month, "in_unit")


def _days(unit: str, days_per_month: float, what: str) -> float:
    if unit == "D":
        return 1.0
    if unit == "W":
        return 7.0
    if unit in _MONTHS:
        return _MONTHS[unit] * days_per_month
    raise DataError(f"{what}={unit!r} is not a time unit",
                    fix="use one of " + ", ".join(f"{k!r} ({v})" for k, v in _UNIT_NAMES.items()))


# --------------------------------------------------------------------------- checks


def check_models(transaction_model: Any, spend_model: Any) -> None:
    """The transaction model predicts purchases and the spend model spend (not swapped).

    Raises
    ------
    TypeError
        Naming the missing method and, when the two are swapped, saying so.
    """
    buys = hasattr(transaction_model, "expected_purchases")
    spends = hasattr(spend_model, "expected_spend")
    if buys and spends:
        return
    if hasattr(transaction_model, "expected_spend") and hasattr(spend_model,
                                                                "expected_purchases"):
        raise TypeError("the models are swapped: the transaction model (first) must predict "
                        "purchases (e.g. BGNBD) and the spend model (second) spend (e.g. "
                        "GammaGamma); pass them in that order")
    role, obj, method = (("transaction_model", transaction_model, "expected_purchases")
                         if not buys else ("spend_model", spend_model, "expected_spend"))
    raise TypeError(f"{role} is a {type(obj).__name__}, which has no {method}(); pass a "
                    + ("fitted BGNBD, MBGNBD or ParetoNBD" if not buys else "fitted GammaGamma"))


def check_clv_time_unit(data: pd.DataFrame, transaction_model: Any, time_unit: str) -> None:
    """Refuse a ``time_unit`` that differs from the data's or the fitted model's unit.

    The data declare their unit in ``data.attrs["time_unit"]`` (set by the summaries); a
    model fitted on such data records it as ``time_unit_``.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}",
                        fix="pass the per-customer summary (rfm_summary)")
    declared = data.attrs.get("time_unit")
    if declared is not None and declared != time_unit:
        raise DataError(
            f"time_unit={time_unit!r} but data.attrs['time_unit'] says recency and T are in "
            f"{declared!r}: the transaction model would read every "
            f"{_UNIT_NAMES.get(declared, declared)} of the data as a "
            f"{_UNIT_NAMES.get(time_unit, time_unit)}, and the CLV would be wrong by roughly "
            "that ratio",
            n_rows=len(data),
            example=f"data.attrs['time_unit'] = {declared!r}",
            fix=f"pass time_unit={declared!r} (the unit the model was fitted in); if you "
            "rescaled recency and T yourself, update data.attrs['time_unit'] too")
    fitted = getattr(transaction_model, "time_unit_", None)
    if fitted is not None and fitted != time_unit:
        raise DataError(
            f"time_unit={time_unit!r} but the transaction model was fitted on data in "
            f"{fitted!r}",
            fix=f"pass time_unit={fitted!r}, or refit the model on data in {time_unit!r}")


def _check_options(horizon: int, time_unit: str, discount_period: str, discount_rate: float,
                   margin: float, steps_per_period: int, days_per_month: float,
                   ) -> tuple[int, int]:
    for name, unit in (("time_unit", time_unit), ("discount_period", discount_period)):
        _days(unit, DAYS_PER_MONTH, name)
    _check_days_per_month(days_per_month)
    horizon = whole("horizon", horizon, hint="horizon counts discount periods: for 18 months "
                    "use horizon=18, discount_period='M'")
    years = horizon * _days(discount_period, days_per_month, "discount_period") / (
        12 * days_per_month)
    if years > MAX_HORIZON_YEARS:
        raise DataError(
            f"horizon={horizon} {discount_period!r} periods is {years:,.1f} years, beyond what "
            "a model fitted on a few years of purchases can say (and the cost grows with it)",
            fix=f"use a horizon of at most {MAX_HORIZON_YEARS} years; a customer's whole "
            "remaining value is the expected residual lifetime of the model, not a longer sum")
    steps = whole("steps_per_period", steps_per_period)
    check_discount_rate(discount_rate, per=f"discount period ({discount_period!r})")
    fraction("margin", margin, open_low=False, open_high=False, example="0.3",
             hint="0.3 means a 30% margin")
    return horizon, steps


def _check_days_per_month(days_per_month: float) -> None:
    if not (np.isfinite(days_per_month) and days_per_month > 0):
        raise DataError(f"days_per_month must be a positive number, got {days_per_month!r}",
                        fix="pass the length of a month in days, e.g. 365.25 / 12")


# --------------------------------------------------------------------------- computation


def _schedule(horizon: int, steps: int, time_unit: str, discount_period: str,
              discount_rate: float, days_per_month: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative times t_j (data's unit) and discount factors (1+d)^(-j/s), j=1..H·s."""
    period = unit_length(discount_period, in_unit=time_unit, days_per_month=days_per_month)
    j = np.arange(1, horizon * steps + 1, dtype=float)
    return j / steps * period, (1.0 + discount_rate) ** (-j / steps)


def _distinct_rows(data: pd.DataFrame, models: tuple[Any, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of the models' columns (first occurrence) and each row's group."""
    columns: list[str] = []
    for model in models:
        names = getattr(model, "data_columns", None)
        if names is None:  # a model that does not say what it reads: use every row
            return data, np.arange(len(data))
        columns += [c for c in names if c not in columns]
    if len(data) == 0 or not set(columns) <= set(data.columns):
        return data, np.arange(len(data))
    codes = data.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    if codes.min() < 0 or codes.max() + 1 == len(data):
        return data, np.arange(len(data))
    first = np.empty(codes.max() + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(data) - 1, -1, -1)
    return data.iloc[first], codes


def _cumulative_purchases(model: Any, frame: pd.DataFrame, times: np.ndarray,
                          stacked: pd.DataFrame | None = None) -> np.ndarray:
    """E[X(0, t_j)] for every sub-step j (rows) and row of ``frame`` (columns).

    One call per sub-step; or, with ``stacked`` (``frame`` repeated once per sub-step),
    a single call with one horizon per row, for models that accept that (checked by
    :func:`_stacked_if_supported` before it is used).
    """
    if stacked is not None:
        t = np.repeat(times, len(frame))
        values = np.asarray(model.expected_purchases(stacked, t), dtype=float)
        return values.reshape(len(times), len(frame))
    return np.stack([np.asarray(model.expected_purchases(frame, float(t)), dtype=float)
                     for t in times])


def _discounted(cumulative: np.ndarray, discount: np.ndarray) -> np.ndarray:
    """Σ_j (1+d)^(-j/s) · (E[X(0,t_j)] − E[X(0,t_{j−1})]), with E[X(0,0)] = 0."""
    return discount @ np.diff(cumulative, axis=0, prepend=0.0)


def _clv_values(transaction_model: Any, spend_model: Any, frame: pd.DataFrame,
                times: np.ndarray, discount: np.ndarray, margin: float) -> np.ndarray:
    spend = np.asarray(spend_model.expected_spend(frame), dtype=float)
    purchases = _discounted(_cumulative_purchases(transaction_model, frame, times), discount)
    return margin * spend * purchases


def _compute(transaction_model: Any, spend_model: Any, data: pd.DataFrame,
             times: np.ndarray, discount: np.ndarray, margin: float,
             ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """CLV per distinct row, the distinct rows and the row → distinct-row map."""
    distinct, codes = _distinct_rows(data, (transaction_model, spend_model))
    try:
        values = _clv_values(transaction_model, spend_model, distinct, times, discount, margin)
    except DataError as err:
        error = err
    else:
        return values, distinct, codes
    if distinct is not data:
        # Re-run on every row so that the message counts customers, not distinct histories.
        spend_model.expected_spend(data)
        transaction_model.expected_purchases(data, float(times[0]))
    raise error


@dataclass(frozen=True)
class CLVSchedule:
    """The checked options of a CLV and its time grid, computed once for many frames.

    Built by :func:`clv_schedule`. ``times`` are the cumulative times ``t_j`` in the data's
    time unit and ``discount`` the factors ``(1 + d) ** (-j / steps_per_period)``,
    ``j = 1 .. horizon * steps_per_period``.
    """

    time_unit: str
    horizon: int
    discount_period: str
    discount_rate: float
    margin: float
    steps_per_period: int
    days_per_month: float
    times: np.ndarray = field(repr=False)
    discount: np.ndarray = field(repr=False)

    def attrs(self) -> dict[str, Any]:
        """The options as recorded in a CLV Series' ``attrs``."""
        return _units(self.time_unit, self.horizon, self.discount_period, self.discount_rate,
                      self.margin, self.steps_per_period, self.days_per_month)


def clv_schedule(*, time_unit: TimeUnit, horizon: int, discount_period: TimeUnit,
                 discount_rate: float, margin: float = 1.0, steps_per_period: int = 1,
                 days_per_month: float = DAYS_PER_MONTH) -> CLVSchedule:
    """Check the CLV options once and build their time grid (see :class:`CLVSchedule`).

    The options mean what they mean in :func:`customer_lifetime_value`.

    Examples
    --------
    >>> plan = clv_schedule(time_unit="W", horizon=2, discount_period="M", discount_rate=0.01)
    >>> plan.times.round(3).tolist(), plan.discount.round(4).tolist()
    ([4.348, 8.696], [0.9901, 0.9803])
    """
    horizon, steps = _check_options(horizon, time_unit, discount_period, discount_rate, margin,
                                    steps_per_period, days_per_month)
    times, discount = _schedule(horizon, steps, time_unit, discount_period, discount_rate,
                                days_per_month)
    return CLVSchedule(time_unit, horizon, discount_period, float(discount_rate),
                       float(margin), steps, float(days_per_month), times, discount)


def clv_per_row(transaction_model: TransactionModel, spend_model: SpendModel,
                data: pd.DataFrame, schedule: CLVSchedule) -> np.ndarray:
    """The CLV of every row of ``data`` on a :class:`CLVSchedule`, as a float array.

    The engine of :func:`customer_lifetime_value` and of the chunked and Spark scoring in
    :mod:`retention_kit.scoring`: the models are evaluated once per distinct history.
    """
    check_models(transaction_model, spend_model)
    check_clv_time_unit(data, transaction_model, schedule.time_unit)
    values, _, codes = _compute(transaction_model, spend_model, data, schedule.times,
                                schedule.discount, schedule.margin)
    return values[codes]


def customer_lifetime_value(
    transaction_model: TransactionModel,
    spend_model: SpendModel,
    data: pd.DataFrame,
    *,
    time_unit: TimeUnit,
    horizon: int,
    discount_period: TimeUnit,
    discount_rate: float,
    margin: float = 1.0,
    steps_per_period: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
) -> pd.Series:
    """Discounted expected value of each customer's purchases over a finite horizon.

    CLV_i = margin · E[Z_i] · Σ_{j=1..H·s} ΔE[X_i]_j / (1 + d)^(j/s), where ΔE[X_i]_j =
    E[X_i(0, t_j)] − E[X_i(0, t_{j−1})] are the purchases the transaction model expects
    in sub-step j (t_j = j/s discount periods, converted into ``time_unit``) and E[Z_i] is
    the spend model's expected spend per purchase. With ``steps_per_period=1`` this is
    Σ_{k=1..horizon} margin · E[Z] · (E[X(0,k)] − E[X(0,k−1)]) / (1+d)^k, the formula of
    ``lifetimes``: the purchases of period k are discounted at its end.

    Parameters
    ----------
    transaction_model : fitted model with ``expected_purchases(data, t)``
        For example :class:`~retention_kit.models.BGNBD`; ``t`` is in ``time_unit``.
    spend_model : fitted model with ``expected_spend(data)``
        For example :class:`~retention_kit.models.gammagamma.GammaGamma`.
    data : DataFrame
        One row per customer with both models' columns (e.g. ``frequency``,
        ``recency``, ``T``, ``monetary_value``); customers with frequency 0 are welcome.
    time_unit : {"D", "W", "M", "Q", "Y"}
        Unit of ``recency`` and ``T``, the unit the transaction model was fitted in.
        Must match ``data.attrs["time_unit"]`` when that is set.
    horizon : int
        Number of discount periods to value (e.g. 12 with ``discount_period="M"``).
    discount_period : {"D", "W", "M", "Q", "Y"}
        The period of ``discount_rate`` and of ``horizon``.
    discount_rate : float
        Discount rate per ``discount_period``, a fraction in [0, 1): 0.01 is 1 %.
    margin : float, default 1.0
        Share of spend that is profit, in [0, 1]; 1 values revenue.
    steps_per_period : int, default 1
        Cash flows per discount period. 1 discounts a period's purchases at its end (as
        ``lifetimes`` does); with an annual rate, ``discount_period="Y",
        steps_per_period=12`` discounts monthly cash flows at (1+d)^(month/12).
    days_per_month : float, default 365.25/12
        Month length for converting between units (see :func:`unit_length`).

    Returns
    -------
    Series
        Named ``clv``, on ``data``'s index, in the currency of ``monetary_value``;
        ``attrs`` records the units and options.

    Raises
    ------
    DataError
        If ``time_unit`` disagrees with ``data.attrs["time_unit"]`` (or with a
        ``time_unit_`` the transaction model records), or if a model rejects the data.

    Notes
    -----
    The unit trap: on CDNOW (weeks), ``time_unit="D"`` makes one month 30.4 *weeks* of
    purchasing instead of 4.35, and the 12-month CLV comes out about 3.7 times too
    large in total (``lifetimes``' default ``freq="D"`` does exactly this). Passing
    ``time_unit`` is therefore compulsory, and checked against ``data.attrs``.

    The models are evaluated once per distinct row of their columns and once per
    sub-step, so a million customers with a few thousand distinct histories take well
    under a second.

    Examples
    --------
    A hand-computable case: one customer who buys 0.5 times a week forever (a toy
    transaction model) and spends $10 a purchase; with 28-day months each month brings
    2 purchases, $20, and at 10 % a month two months are worth 20/1.1 + 20/1.1² = 34.71:

    >>> class Poisson:
    ...     def expected_purchases(self, data, t):
    ...         return pd.Series(0.5 * t, index=data.index)
    >>> class FixedSpend:
    ...     def expected_spend(self, data):
    ...         return data["monetary_value"]
    >>> one = pd.DataFrame({"monetary_value": [10.0]}, index=["ann"])
    >>> customer_lifetime_value(Poisson(), FixedSpend(), one, time_unit="W", horizon=2,
    ...                         discount_period="M", discount_rate=0.10, days_per_month=28)
    ann    34.710744
    Name: clv, dtype: float64

    On CDNOW, with BG/NBD and Gamma-Gamma, one year at 1 % a month:

    >>> from retention_kit.datasets import load_cdnow_summary
    >>> from retention_kit.models import BGNBD
    >>> from retention_kit.models.gammagamma import GammaGamma
    >>> cdnow = load_cdnow_summary()
    >>> bg = BGNBD().fit(cdnow)
    >>> gg = GammaGamma().fit(cdnow[cdnow["frequency"] > 0])
    >>> clv = customer_lifetime_value(bg, gg, cdnow, time_unit="W", horizon=12,
    ...                               discount_period="M", discount_rate=0.01)
    >>> clv.head(3).round(2).tolist()
    [36.3, 4.64, 8.35]
    >>> round(clv.sum())
    71552
    """
    schedule = clv_schedule(time_unit=time_unit, horizon=horizon,
                            discount_period=discount_period, discount_rate=discount_rate,
                            margin=margin, steps_per_period=steps_per_period,
                            days_per_month=days_per_month)
    out = pd.Series(clv_per_row(transaction_model, spend_model, data, schedule),
                    index=data.index, name="clv")
    out.attrs.update(schedule.attrs())
    return out


def _units(time_unit: str, horizon: int, discount_period: str, discount_rate: float,
           margin: float, steps: int, days_per_month: float) -> dict[str, Any]:
    return {"time_unit": time_unit, "horizon": horizon, "discount_period": discount_period,
            "discount_rate": float(discount_rate), "margin": float(margin),
            "steps_per_period": steps, "days_per_month": float(days_per_month)}


# --------------------------------------------------------------------------- intervals


#: Largest sub-steps × distinct rows evaluated in one call in the bootstrap.
_MAX_STACKED_ROWS = 2_000_000


def _stacked_if_supported(model: Any, frame: pd.DataFrame, times: np.ndarray,
                          ) -> pd.DataFrame | None:
    """``frame`` repeated once per sub-step, if the model evaluates it correctly in one call.

    A model whose ``expected_purchases`` accepts one horizon per row (BG/NBD, MBG/NBD)
    then costs one call per bootstrap draw instead of one per sub-step, which matters
    when the per-call overhead (data validation) dominates, i.e. for few distinct rows.
    The one-call result is checked against the per-step calls at the estimates; any
    error or difference means the per-step calls are used.
    """
    if len(times) == 1 or len(times) * len(frame) > _MAX_STACKED_ROWS:
        return None
    stacked = frame.iloc[np.tile(np.arange(len(frame)), len(times))].reset_index(drop=True)
    try:
        one_call = _cumulative_purchases(model, frame, times, stacked)
    except (TypeError, ValueError):
        return None
    per_step = _cumulative_purchases(model, frame, times)
    if one_call.shape == per_step.shape and np.allclose(one_call, per_step, rtol=1e-12, atol=0):
        return stacked
    return None


def _drawn_purchases(model: Any, frame: pd.DataFrame, times: np.ndarray,
                     discount: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Discounted expected purchases of each distinct row (columns) under each parameter
    draw (rows).

    A model with ``expected_purchases_draws`` (the retention_kit transaction models)
    evaluates many draws per call, with the data validated once, in chunks of at most
    ``_MAX_STACKED_ROWS`` draws × sub-steps × rows; any other model is called once per
    draw on a copy with the drawn parameters.
    """
    out = np.empty((len(draws), len(frame)))
    if hasattr(model, "expected_purchases_draws"):
        chunk = max(1, _MAX_STACKED_ROWS // max(1, len(times) * len(frame)))
        for start in range(0, len(draws), chunk):
            grid = model.expected_purchases_draws(frame, times, draws[start:start + chunk])
            for i, cumulative in enumerate(grid):
                out[start + i] = _discounted(cumulative, discount)
        return out
    stacked = _stacked_if_supported(model, frame, times)
    for i, params in enumerate(draws):
        out[i] = _discounted(_cumulative_purchases(with_params(model, params), frame, times,
                                                   stacked), discount)
    return out


def parameter_draws(model: Any, n_draws: int, rng: np.random.Generator,
                    role: str = "forecast") -> np.ndarray:
    """Parameter vectors of a fitted model drawn from N(log θ̂, cov_log), on the natural
    scale: the parametric bootstrap behind :func:`clv_interval`.

    A boundary fit's parameters at the edge (no standard error) stay at their limit; the
    others are drawn. ``role`` names the model in the error ("transaction", "spend").

    Returns
    -------
    ndarray
        ``(n_draws, n_params)``, columns in ``model.params_`` order.

    Raises
    ------
    TypeError
        Not a fitted retention_kit model.
    DataError
        The model has no finite covariance, so nothing can be drawn.
    """
    try:
        params = np.asarray(model.params_, dtype=float)
        cov_log = np.asarray(model._cov_log, dtype=float)
    except AttributeError:
        raise TypeError(
            f"the {role} model ({type(model).__name__}) needs params_ and _cov_log (a fitted "
            "retention_kit model) for a parametric bootstrap") from None
    k = len(params)
    free = np.isfinite(np.diag(cov_log)) if cov_log.shape == (k, k) else np.zeros(k, bool)
    at_edge = getattr(model, "boundary_", None) is not None
    # a boundary fit holds the parameters at the edge (no standard error) at their limit
    # and draws the others; any other missing covariance means nothing can be drawn
    if not free.any() or not (free.all() or at_edge) or not np.all(
            np.isfinite(cov_log[np.ix_(free, free)])):
        raise DataError(
            f"the {role} model ({type(model).__name__}) has no finite covariance (its Hessian "
            "was singular), so CLV intervals cannot be drawn",
            fix="refit on more data (a longer window, more customers) or a simpler model")
    draws = np.tile(np.log(params), (n_draws, 1))
    draws[:, free] = rng.multivariate_normal(np.log(params[free]),
                                             cov_log[np.ix_(free, free)], size=n_draws)
    return np.exp(draws)


def with_params(model: Any, params: np.ndarray) -> Any:
    """A shallow copy of a fitted model with other parameter values (e.g. a row of
    :func:`parameter_draws`); the model itself is not changed."""
    clone = copy.copy(model)
    clone.params_ = pd.Series(params, index=model.params_.index, name="estimate")
    return clone


def clv_interval(
    transaction_model: TransactionModel,
    spend_model: SpendModel,
    data: pd.DataFrame,
    *,
    time_unit: TimeUnit,
    horizon: int,
    discount_period: TimeUnit,
    discount_rate: float,
    margin: float = 1.0,
    steps_per_period: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
    level: float = 0.9,
    n_draws: int = 200,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """CLV with a parametric-bootstrap interval for the parameters' uncertainty.

    Draws ``n_draws`` parameter vectors for each model from the multivariate normal
    on the *log* scale, N(log θ̂, ``_cov_log``) (the models are fitted on log-parameters,
    so every draw is positive), recomputes :func:`customer_lifetime_value` with each
    pair of draws on copies of the models, and takes the ``(1 ± level)/2`` quantiles per
    customer. The two models are drawn independently: their likelihoods factor
    (purchases, and spend given purchases), so their estimates are asymptotically
    independent.

    The interval covers estimation uncertainty only, not the randomness of a
    customer's future purchases. ``estimate`` is the plug-in CLV at the estimates.

    Parameters
    ----------
    transaction_model, spend_model, data, time_unit, horizon, discount_period, discount_rate, \
margin, steps_per_period, days_per_month
        As in :func:`customer_lifetime_value` (the models must be fitted
        retention_kit models: they need ``params_`` and ``_cov_log``).
    level : float, default 0.9
        Coverage of the interval.
    n_draws : int, default 200
        Bootstrap draws; the cost is ``n_draws`` CLV computations on the distinct
        histories, and the memory ``n_draws`` × distinct histories × 8 bytes.
    random_state : int or numpy Generator, optional
        Seed for reproducible draws.

    Returns
    -------
    DataFrame
        On ``data``'s index: ``estimate``, ``lower``, ``upper`` (currency). ``attrs``
        records the units, ``level``, ``n_draws`` and ``n_infinite_draws``: draws of
        the spend model with q ≤ 1, whose mean spend (hence CLV) is infinite; they are
        kept as +inf, so if more than (1 − level)/2 of the draws are such, ``upper`` is
        inf (a sign that the spend model is too uncertain for this question).

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> from retention_kit.models import BGNBD
    >>> from retention_kit.models.gammagamma import GammaGamma
    >>> cdnow = load_cdnow_summary()
    >>> bg = BGNBD().fit(cdnow)
    >>> gg = GammaGamma().fit(cdnow[cdnow["frequency"] > 0])
    >>> ci = clv_interval(bg, gg, cdnow, time_unit="W", horizon=12, discount_period="M",
    ...                   discount_rate=0.01, n_draws=100, random_state=1)
    >>> ci.head(2).round(1)
                 estimate  lower  upper
    customer_id
    1                36.3   34.3   39.3
    2                 4.6    3.7    5.8
    """
    horizon, steps = _check_options(horizon, time_unit, discount_period, discount_rate, margin,
                                    steps_per_period, days_per_month)
    check_models(transaction_model, spend_model)
    fraction("level", level, example="0.9")
    n_draws = whole("n_draws", n_draws, minimum=2)
    check_clv_time_unit(data, transaction_model, time_unit)
    times, discount = _schedule(horizon, steps, time_unit, discount_period, discount_rate,
                                days_per_month)
    estimate, distinct, codes = _compute(transaction_model, spend_model, data, times, discount,
                                         float(margin))
    rng = np.random.default_rng(random_state)
    trans_draws = parameter_draws(transaction_model, n_draws, rng, "transaction")
    spend_draws = parameter_draws(spend_model, n_draws, rng, "spend")
    drawn = _drawn_purchases(transaction_model, distinct, times, discount, trans_draws)
    values = np.empty((n_draws, len(distinct)))
    n_infinite = 0
    # retention_kit's Gamma-Gamma evaluates every draw with the data validated once;
    # a draw without a finite mean spend (q <= 1) is a row of +inf there
    spends = (spend_model.expected_spend_draws(distinct, spend_draws)
              if hasattr(spend_model, "expected_spend_draws") else None)
    for i in range(n_draws):
        purchases = drawn[i]
        try:
            if spends is not None:
                spend = spends[i]
                if np.isposinf(spend).all():
                    raise DataError("the drawn spend model has q <= 1")
            else:
                spend = np.asarray(
                    with_params(spend_model, spend_draws[i]).expected_spend(distinct),
                    dtype=float)
        except DataError:
            # The data passed the point estimate, so the only failure left is a drawn
            # spend model without a finite mean (q <= 1): its CLV is infinite (or 0 when
            # no purchase is expected).
            values[i] = np.where(margin * purchases > 0, np.inf, 0.0)
            n_infinite += 1
        else:
            values[i] = margin * spend * purchases
    failed = np.isnan(values).any(axis=1)
    if failed.any():
        warnings.warn(f"{int(failed.sum())} of {n_draws} bootstrap draws gave NaN CLV and "
                      "were left out of the quantiles", NumericalWarning, stacklevel=2)
        values = values[~failed]
        if len(values) < 2:
            raise ValueError("fewer than 2 bootstrap draws gave a CLV; the models' covariance "
                             "is too wide for an interval")
    with np.errstate(invalid="ignore"):
        quantiles = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    # Interpolating between two infinite draws gives inf - inf = NaN: the quantile is inf.
    lower, upper = np.where(np.isnan(quantiles), np.inf, quantiles)
    out = pd.DataFrame({"estimate": estimate[codes], "lower": lower[codes],
                        "upper": upper[codes]}, index=data.index)
    out.attrs.update(_units(time_unit, horizon, discount_period, discount_rate, margin, steps,
                            days_per_month))
    out.attrs.update(level=float(level), n_draws=int(n_draws), n_infinite_draws=n_infinite)
    return out


def expected_discounted_payments(model: Any, renewals: np.ndarray | list[int], *, horizon: int,
                                 discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Discounted expected monthly payments over a horizon, from a duration model.

    For a subscriber who has renewed n times, with S the model's survival function
    (``model.survival``, e.g. :class:`~retention_kit.models.SBG`), payments at the end
    of each of the next H periods and a discount rate d per period:

    .. math:: V(n) = \sum_{k=1}^{H} \frac{S(n + k)}{S(n)} (1 + d)^{-k}, \qquad
              A(n) = \frac{S(n + H)}{S(n)}

    V times the payment per period (and the margin) is her CLV over the horizon; A is
    the probability she still pays at the horizon. Unlike the models'
    ``expected_residual_lifetime`` (an infinite sum), the horizon is finite. Each
    distinct n is computed once.

    Parameters
    ----------
    model
        A fitted duration model with ``survival(t)``.
    renewals : array-like of int
        Renewals so far of each subscriber (months paid - 1 for a current subscriber).
    horizon : int
        Number of future periods H.
    discount_rate : float
        Per period, a fraction.

    Returns
    -------
    value, alive : ndarray
        V(n) and A(n) per subscriber, in the order of ``renewals``.

    Examples
    --------
    With S(t) = 0.5^t (every subscriber renews with probability 0.5), no discounting
    and H = 2: V = 0.5 + 0.25 and A = 0.25 whatever n.

    >>> class Halving:
    ...     def survival(self, t):
    ...         return 0.5 ** np.asarray(t, dtype=float)
    >>> value, alive = expected_discounted_payments(Halving(), [0, 3], horizon=2,
    ...                                             discount_rate=0.0)
    >>> value.tolist(), alive.tolist()
    ([0.75, 0.75], [0.25, 0.25])
    """
    unique, codes = np.unique(np.asarray(renewals).astype(int), return_inverse=True)
    k = np.arange(1, horizon + 1)
    s_now = np.asarray(model.survival(unique), dtype=float)
    grid = np.asarray(model.survival((unique[:, None] + k[None, :]).ravel()),
                      dtype=float).reshape(len(unique), horizon)
    cond = grid / s_now[:, None]
    value = cond @ (1.0 + discount_rate) ** -k.astype(float)
    return value[codes], cond[:, -1][codes]
