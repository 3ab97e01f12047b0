"""Descriptive retention metrics: rates, simple CLV, acquisition economics, surveys, MRR.

Every function is a plain function: numbers (or pandas) in, numbers (or pandas) out,
options keyword-only. Rate-style functions accept scalars, NumPy arrays, lists or pandas
Series and work element-wise; a scalar input gives a Python ``float``, a Series input a
Series on the same index, anything else a NumPy array. Survey metrics return a small frozen
result object that carries the estimate together with its standard error and interval.

Bad input never turns into a silent ``NaN``, ``inf`` or 0: it raises
:class:`~retention_kit.errors.DataError` saying what is wrong, the offending value and how
to fix it.

Units are the caller's: a churn rate "per period" means per whatever period it was measured
over (month, quarter, year), and every function that combines rates and durations says
which must share a unit.

The business guides this project started from contain formula mistakes (an upside-down
churn rate, a retention rate divided by the wrong number, a CLV off by a factor of two);
the docstrings below name them next to the correct formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._checks import between, critical_z
from .errors import DataError, data_error

__all__ = [
    "CESResult",
    "IntervalResult",
    "NPSResult",
    "RevenueRetention",
    "annualize_churn",
    "average_order_value",
    "cac",
    "cac_payback",
    "ces",
    "churn_rate",
    "cohort_revenue_retention",
    "csat",
    "customer_lifespan",
    "ltv_to_cac",
    "margin_multiple_clv",
    "mrr_movements",
    "nps",
    "nps_from_scores",
    "periodic_churn",
    "purchase_frequency",
    "referral_rate",
    "repeat_purchase_rate",
    "retention_rate",
    "revenue_retention",
    "simple_clv",
]

#: A number, or many numbers (list, NumPy array, pandas Series) handled element-wise.
ArrayLike = float | int | Sequence[float] | np.ndarray | pd.Series
#: ``float`` for scalar input, ``pd.Series`` for Series input, else ``np.ndarray``.
Result = float | np.ndarray | pd.Series

_NOT_A_NUMBER_FIX = "drop or fill the missing values before computing the metric"


# --------------------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntervalResult:
    """A proportion or mean with its standard error and confidence interval.

    Attributes
    ----------
    estimate : float
        The point estimate.
    lower, upper : float
        The confidence interval (computed by ``method``).
    se : float
        The plain (Wald) standard error of ``estimate``.
    n : int
        Number of answers the estimate is based on.
    confidence : float
        Confidence level of the interval, e.g. 0.95.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    method: str


@dataclass(frozen=True, slots=True)
class NPSResult:
    """Net Promoter Score on the -100..100 points scale, with its interval.

    Attributes
    ----------
    estimate : float
        NPS in points: 100 x (share of promoters - share of detractors).
    lower, upper : float
        Adjusted-Wald confidence interval in points (Rocks 2016), clipped to [-100, 100].
    se : float
        Plain (Wald) standard error of ``estimate`` in points.
    n : int
        Number of answers.
    confidence : float
        Confidence level of the interval.
    promoters, passives, detractors : int
        The counts the score was computed from.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    promoters: int
    passives: int
    detractors: int
    method: str


@dataclass(frozen=True, slots=True)
class CESResult:
    """Mean Customer Effort Score on its own scale, with a t-interval.

    Attributes
    ----------
    estimate : float
        Mean of the raw answers, on the scale as asked (never silently flipped).
    lower, upper : float
        t-interval for the mean, on the raw scale.
    se : float
        Standard error of the mean (sample standard deviation / sqrt(n)).
    n : int
        Number of answers.
    confidence : float
        Confidence level of the interval.
    scale : int
        Top of the answer scale (answers run 1..scale).
    higher_is_easier : bool
        Direction of the raw scale.
    ease_estimate : float
        The mean re-expressed so that higher always means easier:
        ``estimate`` if ``higher_is_easier`` else ``scale + 1 - estimate``.
    direction : str
        The direction in words, for reports.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    scale: int
    higher_is_easier: bool
    ease_estimate: float
    direction: str
    method: str


@dataclass(frozen=True)
class RevenueRetention:
    """Net and gross revenue retention (fractions, 1.0 = 100 %).

    Each is a float for scalar inputs, or an array/Series shaped like the inputs.
    """

    nrr: Result
    grr: Result

    def to_frame(self) -> pd.DataFrame:
        """One column per measure (``nrr``, ``grr``), one row per input row."""
        return pd.DataFrame({"nrr": np.atleast_1d(self.nrr), "grr": np.atleast_1d(self.grr)},
                            index=self.nrr.index if isinstance(self.nrr, pd.Series) else None)


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    """Shape of the caller's input, so the output can be returned in the same form."""

    scalar: bool
    index: pd.Index | None

    def where(self, i: int) -> str:
        if self.index is not None:
            return f"row {self.index[i]!r}: "
        return "" if self.scalar else f"position {i}: "

    def wrap(self, values: np.ndarray, name: str) -> Result:
        if self.scalar:
            return float(values)
        if self.index is not None:
            return pd.Series(values, index=self.index, name=name)
        return values


def _fmt(x: float) -> str:
    return f"{x:g}"


def _has_text(raw: np.ndarray) -> bool:
    """True if an array holds strings (which NumPy would otherwise parse as numbers)."""
    if raw.dtype.kind in "US":
        return True
    return raw.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in raw.ravel())


def _coerce(**inputs: Any) -> tuple[_Form, list[np.ndarray]]:
    """Convert named inputs to broadcast float arrays; reject non-numbers, NaN and inf."""
    index: pd.Index | None = None
    scalar = True
    arrays = []
    for name, value in inputs.items():
        if isinstance(value, pd.DataFrame):
            raise data_error(f"{name} is a DataFrame, not a number or a column",
                             example=f"columns {list(value.columns)}",
                             fix=f"pass one column, e.g. df[{name!r}]")
        try:
            if isinstance(value, pd.Series):
                if index is None:
                    index = value.index
                elif not value.index.equals(index):
                    raise data_error(f"{name} is a Series whose index differs from the other "
                                     "inputs' index",
                                     example=f"{name} index starts {list(value.index[:3])}",
                                     fix="align the Series first (e.g. .reindex) or pass arrays")
                is_bool = value.dtype == bool
                if _has_text(value.to_numpy()):
                    raise TypeError
                arr = value.to_numpy(dtype=float, na_value=np.nan)
            else:
                raw = np.asarray(value)
                is_bool = raw.dtype == bool
                if _has_text(raw):
                    raise TypeError
                arr = raw.astype(float)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise data_error(f"{name} is not numeric", example=f"{name} = {value!r}",
                             fix="pass numbers (int or float), not text or objects") from None
        if is_bool:
            raise data_error(f"{name} is boolean, not a number", example=f"{name} = {value!r}",
                             fix="pass counts or amounts as numbers")
        if arr.ndim > 1:
            raise data_error(f"{name} has {arr.ndim} dimensions; only scalars and 1-D inputs "
                             "are supported", example=f"shape {arr.shape}",
                             fix="pass one column at a time")
        scalar = scalar and arr.ndim == 0
        arrays.append(arr)
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n}: {a.shape[0] if a.ndim else 'scalar'}"
                           for n, a in zip(inputs, arrays, strict=True))
        raise data_error("inputs have different lengths", example=shapes,
                         fix="pass inputs of equal length (or scalars)") from None
    form = _Form(scalar=scalar, index=index)
    for name, arr in zip(inputs, arrays, strict=True):
        _fail_where(form, np.isnan(arr), f"{name} is missing (NaN)", _NOT_A_NUMBER_FIX,
                    **{name: arr})
        _fail_where(form, np.isinf(arr), f"{name} is infinite", "pass finite numbers",
                    **{name: arr})
    return form, arrays


def _fail_where(form: _Form, bad: np.ndarray, problem: str, fix: str,
                **shown: np.ndarray) -> None:
    """Raise the project's DataError if any element of ``bad`` is true."""
    bad = np.atleast_1d(bad)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    example = form.where(i) + ", ".join(
        f"{name} = {_fmt(np.atleast_1d(arr)[i])}" for name, arr in shown.items())
    raise data_error(problem, n_rows=None if form.scalar else int(bad.sum()),
                     example=example, fix=fix)


def _positive(form: _Form, name: str, arr: np.ndarray, fix: str) -> None:
    _fail_where(form, arr <= 0, f"{name} must be positive (it is the denominator)", fix,
                **{name: arr})


def _nonnegative(form: _Form, name: str, arr: np.ndarray, fix: str) -> None:
    _fail_where(form, arr < 0, f"{name} is negative", fix, **{name: arr})


def _probability(form: _Form, name: str, arr: np.ndarray) -> None:
    _fail_where(form, (arr < 0) | (arr > 1), f"{name} is outside [0, 1]",
                "give rates as fractions (0.05 for 5 %), not percentages", **{name: arr})


def _option(name: str, value: Any, *, low: float = 0.0, low_inclusive: bool = False,
            high: float = math.inf, high_inclusive: bool = False) -> float:
    """Validate a scalar keyword option (open interval by default)."""
    return between(name, value, low, high, low_inclusive=low_inclusive,
                   high_inclusive=high_inclusive)


def _integer_scores(name: str, scores: Any, low: int, high: int) -> np.ndarray:
    """Validate survey answers: 1-D, numeric, no NaN, whole numbers within [low, high]."""
    if isinstance(scores, pd.DataFrame):
        raise data_error(f"{name} is a DataFrame", example=f"columns {list(scores.columns)}",
                         fix="pass the one column of answers, e.g. df['score']")
    index = scores.index if isinstance(scores, pd.Series) else None
    try:
        if isinstance(scores, pd.Series):
            arr = scores.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise data_error(f"{name} are not numeric", example=repr(scores)[:60],
                         fix="map answer labels to integers first") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise data_error(f"{name} must be one-dimensional", example=f"shape {arr.shape}",
                         fix="pass one column of answers")
    if arr.size == 0:
        raise data_error(f"no {name} given (zero answers)", fix="pass at least one answer")
    form = _Form(scalar=False, index=index)
    _fail_where(form, np.isnan(arr), f"{name} contain missing answers (NaN)",
                "drop non-responses before scoring (they are not answers)", **{name: arr})
    _fail_where(form, (arr < low) | (arr > high), f"{name} are outside the {low}..{high} scale",
                f"check the scale: answers must be whole numbers from {low} to {high}",
                **{name: arr})
    _fail_where(form, arr != np.round(arr), f"{name} are not whole numbers",
                "answers on a rating scale are integers; round or map labels first",
                **{name: arr})
    return arr


# --------------------------------------------------------------------------------------
# retention and churn
# --------------------------------------------------------------------------------------


def retention_rate(start: ArrayLike, end: ArrayLike, new: ArrayLike) -> Result:
    r"""Customer retention rate over one period.

    .. math:: \mathrm{CRR} = \frac{E - N}{S}

    with :math:`S` customers at the start of the period, :math:`E` at the end and
    :math:`N` acquired during the period, so :math:`E - N` is the number of starting
    customers still there at the end.

    Source: the standard customer-retention-rate formula, as in guide 004's worked
    example (see ``source_material.md``). The guide *writes* the formula as
    ``start x 100 / (start - new)``, which gives 100 x 100 / 80 = 125 % for its own
    example; that is wrong.

    Parameters
    ----------
    start : number or array-like
        Customers at the start of the period (:math:`S > 0`).
    end : number or array-like
        Customers at the end of the period (:math:`E \ge 0`).
    new : number or array-like
        Customers acquired during the period (:math:`0 \le N \le E`).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Retention rate as a fraction (0.85 = 85 %).

    Raises
    ------
    DataError
        If ``start <= 0``, any count is negative or missing, ``end < new`` or
        ``end - new > start``.

    Examples
    --------
    Guide 004: 100 customers at the start, 20 added and 15 lost, so 105 at the end.

    >>> retention_rate(100, 105, 20)
    0.85
    """
    form, (s, e, n) = _coerce(start=start, end=end, new=new)
    _positive(form, "start", s, "a rate needs customers at the start; skip periods that "
              "begin with no customers")
    _nonnegative(form, "end", e, "customer counts cannot be negative")
    _nonnegative(form, "new", n, "customer counts cannot be negative")
    _fail_where(form, e < n, "new exceeds end: more customers were acquired than are there "
                "at the end", "check that end counts all customers at the end of the period, "
                "including the new ones", end=e, new=n)
    _fail_where(form, e - n > s, "end - new exceeds start: more starting customers retained "
                "than there were", "check that new includes every customer acquired during "
                "the period", start=s, end=e, new=n)
    return form.wrap((e - n) / s, "retention_rate")


def churn_rate(start: ArrayLike, lost: ArrayLike) -> Result:
    r"""Customer churn rate over one period.

    .. math:: \mathrm{churn} = \frac{L}{S}

    with :math:`L` customers lost during the period out of :math:`S` at its start.
    Customers acquired during the period are not in the denominator. When no customers
    are acquired, ``churn_rate(S, L) == 1 - retention_rate(S, S - L, 0)``.

    Source: guide 004's worked example (15 lost of 100 = 15 %). The guide *writes* the
    formula upside down, ``start / lost x 100 %``, which gives 100 / 15 = 667 %: a churn
    rate can never exceed 100 %.

    Parameters
    ----------
    start : number or array-like
        Customers at the start of the period (> 0).
    lost : number or array-like
        Customers among them who left during the period (``0 <= lost <= start``).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Churn rate as a fraction (0.15 = 15 %).

    Raises
    ------
    DataError
        If ``start <= 0``, ``lost < 0``, ``lost > start`` or an input is missing.

    Examples
    --------
    >>> churn_rate(100, 15)
    0.15

    Element-wise on a Series of months:

    >>> churn_rate(pd.Series([100, 200], index=["jan", "feb"]), pd.Series([15, 10],
    ...            index=["jan", "feb"])).round(3).tolist()
    [0.15, 0.05]
    """
    form, (s, lost_) = _coerce(start=start, lost=lost)
    _positive(form, "start", s, "a rate needs customers at the start; skip periods that "
              "begin with no customers")
    _nonnegative(form, "lost", lost_, "give the number of customers lost as a positive count")
    _fail_where(form, lost_ > s, "lost exceeds start: more customers lost than there were",
                "count only customers present at the start; customers acquired and lost in "
                "the same period belong to neither", start=s, lost=lost_)
    return form.wrap(lost_ / s, "churn_rate")


def annualize_churn(rate: ArrayLike, *, periods_per_year: float = 12) -> Result:
    r"""Convert a per-period churn rate to an annual one.

    .. math:: c_{\mathrm{year}} = 1 - (1 - c)^{p}

    with :math:`p` periods per year: a customer survives the year only by surviving each
    of the :math:`p` periods. This assumes a constant churn rate, independent across
    periods. Multiplying (:math:`p \times c`) is the common mistake: 5 % a month is
    45.96 % a year, not 60 %.

    Parameters
    ----------
    rate : number or array-like
        Churn rate per period, a fraction in [0, 1].
    periods_per_year : float, keyword-only
        12 for monthly rates, 4 for quarterly, 52 for weekly.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Annual churn rate as a fraction.

    Examples
    --------
    >>> round(annualize_churn(0.05), 4)
    0.4596
    """
    p = _option("periods_per_year", periods_per_year)
    form, (c,) = _coerce(rate=rate)
    _probability(form, "rate", c)
    with np.errstate(divide="ignore"):  # rate = 1: log1p(-1) = -inf, result exactly 1
        out = -np.expm1(p * np.log1p(-c))
    return form.wrap(out, "annual_churn")


def periodic_churn(annual_rate: ArrayLike, *, periods_per_year: float = 12) -> Result:
    r"""Convert an annual churn rate to a per-period one (inverse of :func:`annualize_churn`).

    .. math:: c = 1 - (1 - c_{\mathrm{year}})^{1/p}

    Parameters
    ----------
    annual_rate : number or array-like
        Annual churn rate, a fraction in [0, 1].
    periods_per_year : float, keyword-only
        12 for monthly rates, 4 for quarterly, 52 for weekly.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Churn rate per period as a fraction.

    Examples
    --------
    >>> round(periodic_churn(0.4596399), 4)
    0.05
    """
    p = _option("periods_per_year", periods_per_year)
    form, (c,) = _coerce(annual_rate=annual_rate)
    _probability(form, "annual_rate", c)
    with np.errstate(divide="ignore"):  # annual_rate = 1: log1p(-1) = -inf, result 1
        out = -np.expm1(np.log1p(-c) / p)
    return form.wrap(out, "periodic_churn")


def customer_lifespan(churn_rate: ArrayLike, *, median: bool = False) -> Result:
    r"""Expected customer lifespan implied by a constant churn rate.

    Model: a customer is active in period 1 and leaves at the end of each period with
    probability :math:`c`, so the lifetime :math:`T` (in periods, counting the period in
    which the customer leaves) is geometric with :math:`P(T > t) = (1 - c)^t`.

    - ``median=False``: the mean, :math:`E[T] = 1 / c`.
    - ``median=True``: the half-life :math:`t_{1/2} = -\ln 2 / \ln(1 - c)`, the time at
      which the survival curve :math:`(1 - c)^t` crosses 0.5 (half a starting cohort has
      left). This is the continuous version; the median of the discrete geometric
      lifetime (the smallest whole number of periods by which at least half have left)
      is ``math.ceil`` of it. For :math:`c = 1` the half-life is 0.

    The result is in the periods of the churn rate: a monthly rate gives months.

    Source: mean of the geometric distribution; the guides' "customer lifespan" in the
    simple CLV formula.

    Parameters
    ----------
    churn_rate : number or array-like
        Churn rate per period, in (0, 1].
    median : bool, keyword-only
        Return the half-life instead of the mean.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Lifespan in periods.

    Raises
    ------
    DataError
        If a churn rate is 0 (customers would never leave: infinite lifespan) or outside
        [0, 1].

    Examples
    --------
    >>> customer_lifespan(0.05)
    20.0
    >>> round(customer_lifespan(0.05, median=True), 2)
    13.51
    """
    form, (c,) = _coerce(churn_rate=churn_rate)
    _probability(form, "churn_rate", c)
    _fail_where(form, c == 0, "churn_rate is 0: customers never leave, so the lifespan is "
                "infinite", "measure churn over a longer window, or use a survival or cohort "
                "model instead of a constant rate", churn_rate=c)
    if median:
        with np.errstate(divide="ignore"):
            out = -math.log(2.0) / np.log1p(-c)
    else:
        out = 1.0 / c
    return form.wrap(out, "lifespan")


# --------------------------------------------------------------------------------------
# purchases and simple CLV
# --------------------------------------------------------------------------------------


def repeat_purchase_rate(purchases: pd.Series | pd.DataFrame | ArrayLike, *,
                         customer_col: str = "customer_id") -> float:
    r"""Share of customers with two or more purchases.

    .. math:: \mathrm{RPR} = \frac{\#\{i : x_i \ge 2\}}{\#\{i\}}

    with :math:`x_i` the number of purchases of customer :math:`i` in the period.

    Source: the guides' "repeat purchase rate" (guides 000/001/003), defined here
    explicitly since they give no formula.

    Parameters
    ----------
    purchases : Series, array-like or DataFrame
        Either the number of purchases per customer (one value per customer; customers
        with 0 purchases count in the denominator, so drop them if your base is buyers
        only), or a transactions DataFrame with **one row per order** and a customer
        column (several rows of the same order, e.g. line items, must be collapsed
        first, or they count as repeat purchases).
    customer_col : str, keyword-only
        Customer column when ``purchases`` is a DataFrame.

    Returns
    -------
    float
        Fraction of customers with at least two purchases.

    Raises
    ------
    DataError
        If there are no customers, counts are negative, fractional or missing, or the
        customer column is absent or has missing values.

    Examples
    --------
    >>> repeat_purchase_rate([1, 3, 2, 1, 1])
    0.4
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "c"]})
    >>> round(repeat_purchase_rate(orders), 4)
    0.6667
    """
    if isinstance(purchases, pd.DataFrame):
        if customer_col not in purchases.columns:
            raise data_error(f"column {customer_col!r} not found",
                             example=f"columns present: {list(purchases.columns)}",
                             fix="name the customer column with customer_col=")
        ids = purchases[customer_col]
        missing = ids.isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise data_error(f"{customer_col} has missing values", n_rows=int(missing.sum()),
                             example=f"row {purchases.index[i]!r}",
                             fix="drop or attribute orders without a customer first")
        counts = ids.value_counts().to_numpy(dtype=float)
    else:
        form, (counts,) = _coerce(purchases=purchases)
        counts = np.atleast_1d(counts)
        _nonnegative(form, "purchases", counts, "purchase counts cannot be negative")
        _fail_where(form, counts != np.round(counts), "purchases are not whole numbers",
                    "pass the number of purchases per customer", purchases=counts)
    if counts.size == 0:
        raise data_error("no customers given", fix="pass at least one customer")
    return float(np.mean(counts >= 2))


def purchase_frequency(n_orders: ArrayLike, n_customers: ArrayLike) -> Result:
    r"""Average number of orders per customer in a period.

    .. math:: f = \frac{\text{orders}}{\text{customers}}

    The period is the caller's: orders in a year over customers active that year gives
    purchases per year, the unit :func:`simple_clv` needs with a lifespan in years.

    Source: guide 004 ("average number of purchases per year").

    Parameters
    ----------
    n_orders : number or array-like
        Orders placed in the period (>= 0).
    n_customers : number or array-like
        Customers who could order in the period (> 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Orders per customer per period.

    Examples
    --------
    >>> purchase_frequency(1200, 300)
    4.0
    """
    form, (o, c) = _coerce(n_orders=n_orders, n_customers=n_customers)
    _nonnegative(form, "n_orders", o, "order counts cannot be negative")
    _positive(form, "n_customers", c, "frequency needs at least one customer")
    return form.wrap(o / c, "purchase_frequency")


def average_order_value(revenue: ArrayLike, n_orders: ArrayLike) -> Result:
    r"""Average order value (AOV): revenue per order.

    .. math:: \mathrm{AOV} = \frac{\text{revenue}}{\text{orders}}

    Source: guide 004 ("amount paid per purchase").

    Parameters
    ----------
    revenue : number or array-like
        Revenue of the orders (>= 0).
    n_orders : number or array-like
        Number of orders (> 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Revenue per order.

    Examples
    --------
    >>> average_order_value(60_000, 1200)
    50.0
    """
    form, (r, o) = _coerce(revenue=revenue, n_orders=n_orders)
    _nonnegative(form, "revenue", r, "use gross revenue; net refunds against their orders")
    _positive(form, "n_orders", o, "AOV needs at least one order")
    return form.wrap(r / o, "average_order_value")


def simple_clv(purchases_per_period: ArrayLike, average_order_value: ArrayLike,
               lifespan_periods: ArrayLike, *, margin: ArrayLike = 1.0,
               discount_rate: ArrayLike = 0.0) -> Result:
    r"""Simple customer lifetime value: frequency x order value x lifespan (x margin).

    Undiscounted (``discount_rate=0``):

    .. math:: \mathrm{CLV} = f \cdot \mathrm{AOV} \cdot L \cdot m

    Discounted: each period's value :math:`v = f \cdot \mathrm{AOV} \cdot m` is received
    at the **end** of periods :math:`1, \dots, L` and discounted at rate :math:`d` per period:

    .. math:: \mathrm{CLV} = v \sum_{t=1}^{L} (1 + d)^{-t}
              = v \, \frac{1 - (1 + d)^{-L}}{d}

    (the closed form also serves fractional :math:`L`).

    ``purchases_per_period``, ``lifespan_periods`` and ``discount_rate`` must use the same
    period (e.g. purchases per year, lifespan in years, annual discount rate).

    Source: guide 004 (CLV = purchase frequency x AOV x lifespan). Its example, $50 every
    three months for five years, is 4 x 50 x 5 = $1,000 of revenue; the guide says $500,
    off by a factor of two. The formula ignores margin (unless given), discounting and
    that customers leave at different times; the probabilistic models in
    ``retention_kit.models`` address that.

    Parameters
    ----------
    purchases_per_period : number or array-like
        Purchases per period (>= 0).
    average_order_value : number or array-like
        Revenue per purchase (>= 0).
    lifespan_periods : number or array-like
        Customer lifespan in periods (>= 0), e.g. from :func:`customer_lifespan`.
    margin : number or array-like, keyword-only
        Gross margin as a fraction of revenue, in [0, 1]; 1.0 gives revenue.
    discount_rate : number or array-like, keyword-only
        Discount rate per period (>= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Lifetime value in the currency of ``average_order_value``.

    Examples
    --------
    >>> simple_clv(4, 50, 5)
    1000.0
    >>> round(simple_clv(4, 50, 5, margin=0.3, discount_rate=0.10), 2)
    227.45
    """
    form, (f, aov, life, m, d) = _coerce(
        purchases_per_period=purchases_per_period, average_order_value=average_order_value,
        lifespan_periods=lifespan_periods, margin=margin, discount_rate=discount_rate)
    _nonnegative(form, "purchases_per_period", f, "purchase frequency cannot be negative")
    _nonnegative(form, "average_order_value", aov, "use gross order values")
    _nonnegative(form, "lifespan_periods", life, "a lifespan cannot be negative")
    _probability(form, "margin", m)
    _nonnegative(form, "discount_rate", d, "give the discount rate per period, e.g. 0.10")
    value = f * aov * m
    safe_d = np.where(d > 0, d, 1.0)
    annuity = np.where(d > 0, -np.expm1(-life * np.log1p(d)) / safe_d, life)
    return form.wrap(value * annuity, "clv")


def margin_multiple_clv(margin: ArrayLike, retention_rate: ArrayLike,
                        discount_rate: ArrayLike, *, paid_now: bool = False) -> Result:
    r"""CLV of a customer with constant margin and retention, over an infinite horizon.

    .. math:: \mathrm{CLV} = m \, \frac{r}{1 + i - r}

    with margin :math:`m` per period, retention rate :math:`r` per period and discount rate
    :math:`i` per period; the first margin is received at the end of period 1 (and only if
    the customer is retained). With ``paid_now=True`` the customer also pays :math:`m`
    today:

    .. math:: \mathrm{CLV} = m + m \, \frac{r}{1 + i - r} = m \, \frac{1 + i}{1 + i - r}

    Source: Gupta, S. & Lehmann, D. R. (2003), "Customers as assets", *Journal of
    Interactive Marketing* 17(1); :math:`r / (1 + i - r)` is their "margin multiple".

    Parameters
    ----------
    margin : number or array-like
        Margin per customer per period (money; may be negative).
    retention_rate : number or array-like
        Retention rate per period, in [0, 1].
    discount_rate : number or array-like
        Discount rate per period (>= 0), same period as ``retention_rate``.
    paid_now : bool, keyword-only
        Add the margin of the current period, received now.

    Raises
    ------
    DataError
        If ``retention_rate`` is outside [0, 1], ``discount_rate`` is negative, or
        ``retention_rate = 1`` with ``discount_rate = 0`` (infinite value).

    Examples
    --------
    >>> round(margin_multiple_clv(80, 0.75, 0.10), 2)
    171.43
    >>> round(margin_multiple_clv(80, 0.80, 0.10), 2)
    213.33
    >>> round(margin_multiple_clv(80, 0.75, 0.10, paid_now=True), 2)
    251.43
    """
    form, (m, r, i) = _coerce(margin=margin, retention_rate=retention_rate,
                              discount_rate=discount_rate)
    _probability(form, "retention_rate", r)
    _nonnegative(form, "discount_rate", i, "give the discount rate per period, e.g. 0.10")
    _fail_where(form, 1 + i - r <= 0, "retention_rate = 1 with discount_rate = 0 makes the "
                "value infinite", "use a positive discount rate or a retention rate below 1",
                retention_rate=r, discount_rate=i)
    numerator = (1 + i) if paid_now else r
    return form.wrap(m * numerator / (1 + i - r), "clv")


# --------------------------------------------------------------------------------------
# acquisition economics
# --------------------------------------------------------------------------------------


def cac(acquisition_spend: ArrayLike, new_customers: ArrayLike) -> Result:
    r"""Customer acquisition cost: acquisition spend per new customer.

    .. math:: \mathrm{CAC} = \frac{\text{sales and marketing spend on acquisition}}
              {\text{new customers acquired}}

    Spend and customers must cover the same period (and, ideally, lagged spend if deals
    take months to close).

    Source: guide 002 names CAC as the company-side KPI; this is the standard definition.

    Parameters
    ----------
    acquisition_spend : number or array-like
        Money spent on acquiring customers in the period (>= 0).
    new_customers : number or array-like
        Customers acquired in the period (> 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Cost per acquired customer.

    Examples
    --------
    >>> cac(50_000, 400)
    125.0
    """
    form, (s, n) = _coerce(acquisition_spend=acquisition_spend, new_customers=new_customers)
    _nonnegative(form, "acquisition_spend", s, "spend cannot be negative")
    _positive(form, "new_customers", n, "CAC is undefined for a period with no new "
              "customers; pool it with neighbouring periods")
    return form.wrap(s / n, "cac")


def cac_payback(cac: ArrayLike, monthly_margin_per_customer: ArrayLike) -> Result:
    r"""Months of margin needed to recover the acquisition cost.

    .. math:: \text{payback (months)} = \frac{\mathrm{CAC}}{\text{monthly gross margin per
              customer}}

    Ignores churn and discounting (the simple, widely quoted version).

    Parameters
    ----------
    cac : number or array-like
        Acquisition cost per customer (>= 0).
    monthly_margin_per_customer : number or array-like
        Gross margin per customer per month (> 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Months to pay back the acquisition cost.

    Raises
    ------
    DataError
        If the monthly margin is not positive: the cost is then never paid back.

    Examples
    --------
    >>> cac_payback(125, 25)
    5.0
    """
    form, (c, m) = _coerce(cac=cac, monthly_margin_per_customer=monthly_margin_per_customer)
    _nonnegative(form, "cac", c, "an acquisition cost cannot be negative")
    _fail_where(form, m <= 0, "monthly_margin_per_customer is not positive: the acquisition "
                "cost is never paid back", "use the gross margin (revenue minus cost to "
                "serve) per customer per month", monthly_margin_per_customer=m)
    return form.wrap(c / m, "cac_payback_months")


def ltv_to_cac(ltv: ArrayLike, cac: ArrayLike) -> Result:
    r"""Ratio of customer lifetime value to acquisition cost.

    .. math:: \text{LTV:CAC} = \frac{\mathrm{LTV}}{\mathrm{CAC}}

    Use a margin-based, discounted LTV (e.g. :func:`margin_multiple_clv`); a revenue LTV
    overstates the ratio. Source: guide 002 pairs CLV with CAC as the company-side KPIs.

    Parameters
    ----------
    ltv : number or array-like
        Lifetime value per customer (may be negative for loss-making customers).
    cac : number or array-like
        Acquisition cost per customer (> 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        The ratio (3.0 means value is three times the cost).

    Examples
    --------
    >>> ltv_to_cac(375, 125)
    3.0
    """
    form, (v, c) = _coerce(ltv=ltv, cac=cac)
    _positive(form, "cac", c, "the ratio needs a positive acquisition cost")
    return form.wrap(v / c, "ltv_to_cac")


def referral_rate(referred_customers: ArrayLike, customers: ArrayLike, *,
                  variant: Literal["share_of_new", "per_customer"] = "share_of_new") -> Result:
    r"""Referral rate, in one of two named variants.

    - ``"share_of_new"`` (default): share of the period's new customers who came through
      a referral, :math:`R / N_{\mathrm{new}}`, so ``customers`` is the number of new
      customers and ``referred_customers <= customers``.
    - ``"per_customer"``: referred new customers per existing customer,
      :math:`R / S`, so ``customers`` is the number of customers at the start of the
      period; it can exceed 1 (a viral coefficient).

    The guides (guide 002) name the referral rate as a reason CAC falls (satisfied
    customers refer others) without giving a formula; the share of new customers who
    came by referral is the variant that bears on CAC, so it is the default.

    Parameters
    ----------
    referred_customers : number or array-like
        New customers who came through a referral (>= 0).
    customers : number or array-like
        Denominator: new customers (``"share_of_new"``) or customers at the start of the
        period (``"per_customer"``); > 0.
    variant : {"share_of_new", "per_customer"}, keyword-only
        Which rate to compute.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        The rate as a fraction.

    Examples
    --------
    >>> referral_rate(30, 200)
    0.15
    >>> referral_rate(30, 1000, variant="per_customer")
    0.03
    """
    if variant not in ("share_of_new", "per_customer"):
        raise data_error("unknown referral_rate variant", example=f"variant = {variant!r}",
                         fix='use variant="share_of_new" or variant="per_customer"')
    form, (r, c) = _coerce(referred_customers=referred_customers, customers=customers)
    _nonnegative(form, "referred_customers", r, "counts cannot be negative")
    _positive(form, "customers", c, "the rate needs a positive number of customers")
    if variant == "share_of_new":
        _fail_where(form, r > c, "referred_customers exceeds the number of new customers",
                    'pass all new customers as customers, or use variant="per_customer" to '
                    "divide by existing customers", referred_customers=r, customers=c)
    return form.wrap(r / c, "referral_rate")


# --------------------------------------------------------------------------------------
# surveys: NPS, CSAT, CES
# --------------------------------------------------------------------------------------


def nps(promoters: int, passives: int, detractors: int, *,
        confidence: float = 0.95) -> NPSResult:
    r"""Net Promoter Score from category counts, with an adjusted-Wald interval.

    Answers 9-10 are promoters, 7-8 passives, 0-6 detractors (Reichheld 2003). With
    :math:`n` answers and shares :math:`p_P, p_D`:

    .. math:: \mathrm{NPS} = 100 \, (p_P - p_D), \qquad
              \mathrm{SE} = 100 \sqrt{\frac{p_P + p_D - (p_P - p_D)^2}{n}}

    (the variance of a score of +1/0/-1 per answer). ``se`` is this plain SE.

    The interval is the adjusted Wald of Rocks (2016), which in his comparison had
    better coverage than the plain Wald: add pseudo-observations 0.75 promoters, 1.5
    passives and 0.75 detractors (3 in all), recompute the shares
    :math:`\tilde p_P = (P + 0.75)/(n + 3)`, :math:`\tilde p_D = (D + 0.75)/(n + 3)`, and take
    :math:`(\tilde p_P - \tilde p_D) \pm z \sqrt{(\tilde p_P + \tilde p_D - (\tilde p_P -
    \tilde p_D)^2)/(n + 3)}`, clipped to [-100, 100]. This matches the defaults of Rocks'
    R package ``NPS`` (``nps_test(test = "adjusted.wald")``).

    Sources: Reichheld, F. F. (2003), "The one number you need to grow", *Harvard
    Business Review*; Rocks, B. (2016), "Interval estimation for the 'net promoter
    score'", *The American Statistician* (arXiv:1601.07235).

    Parameters
    ----------
    promoters, passives, detractors : int
        Counts of answers in each category (whole numbers >= 0, at least one answer in
        all).
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    NPSResult
        Estimate, interval and SE in points (-100..100).

    Examples
    --------
    500 answers: 250 promoters, 150 passives, 100 detractors.

    >>> r = nps(250, 150, 100)
    >>> r.estimate, round(r.se, 2)
    (30.0, 3.49)
    >>> round(r.lower, 2), round(r.upper, 2)
    (23.0, 36.65)
    """
    conf = _option("confidence", confidence, low=0.0, high=1.0)
    form, (pro, pas, det) = _coerce(promoters=promoters, passives=passives,
                                    detractors=detractors)
    if not form.scalar:
        raise data_error("nps takes one count per category, not arrays",
                         example=f"promoters = {promoters!r}",
                         fix="call nps once per group, or nps_from_scores on raw answers")
    for name, x in (("promoters", pro), ("passives", pas), ("detractors", det)):
        _nonnegative(form, name, x, "counts of answers cannot be negative")
        _fail_where(form, x != np.round(x), f"{name} is not a whole number",
                    "pass counts of answers (the standard error depends on them)", **{name: x})
    n = float(pro + pas + det)
    if n <= 0:
        raise data_error("no answers: promoters + passives + detractors = 0",
                         example="promoters = 0, passives = 0, detractors = 0",
                         fix="an NPS needs at least one answer")
    p, d = float(pro) / n, float(det) / n
    se = math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    n_adj = n + 3.0
    p_adj, d_adj = (float(pro) + 0.75) / n_adj, (float(det) + 0.75) / n_adj
    centre = p_adj - d_adj
    half = critical_z(1 - conf) * math.sqrt((p_adj + d_adj - centre**2) / n_adj)
    return NPSResult(
        estimate=100.0 * (float(pro) - float(det)) / n,
        lower=100.0 * max(centre - half, -1.0),
        upper=100.0 * min(centre + half, 1.0),
        se=100.0 * se,
        n=int(round(n)),
        confidence=conf,
        promoters=int(round(float(pro))),
        passives=int(round(float(pas))),
        detractors=int(round(float(det))),
        method="adjusted Wald (Rocks 2016): +0.75 promoters, +1.5 passives, +0.75 detractors",
    )


def nps_from_scores(scores: ArrayLike, *, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score from raw 0-10 "likelihood to recommend" answers.

    Classifies 9-10 as promoters, 7-8 as passives and 0-6 as detractors, then calls
    :func:`nps` (see there for the formulas and sources).

    Raises
    ------
    DataError
        If an answer is missing, not a whole number, or outside 0..10.

    Examples
    --------
    >>> r = nps_from_scores([10, 9, 9, 8, 7, 6, 3, 10, 9, 5])
    >>> r.promoters, r.passives, r.detractors, r.estimate
    (5, 2, 3, 20.0)
    """
    arr = _integer_scores("scores", scores, 0, 10)
    return nps(int(np.sum(arr >= 9)), int(np.sum((arr >= 7) & (arr <= 8))),
               int(np.sum(arr <= 6)), confidence=confidence)


def csat(scores: ArrayLike, *, scale: int = 5, top_box: int = 2,
         confidence: float = 0.95) -> IntervalResult:
    r"""Customer satisfaction (CSAT): top-box share with a Wilson interval.

    The share of answers in the top ``top_box`` points of a 1..``scale`` scale (on the
    usual 5-point scale with ``top_box=2``, answers 4 and 5 count as satisfied):

    .. math:: \hat p = \frac{k}{n}, \qquad
              \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1 - \hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}}

    The Wilson interval stays inside [0, 1] and behaves well near 0 and 1 and for small
    samples, unlike the plain Wald :math:`\hat p \pm z \sqrt{\hat p(1-\hat p)/n}`; ``se`` is
    the plain :math:`\sqrt{\hat p(1-\hat p)/n}`.

    Source: Wilson, E. B. (1927), "Probable inference, the law of succession, and
    statistical inference", *JASA* 22(158).

    Parameters
    ----------
    scores : array-like of int
        Answers, whole numbers in 1..scale.
    scale : int, keyword-only
        Number of scale points (>= 2).
    top_box : int, keyword-only
        How many top points count as satisfied (1 <= top_box < scale).
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    IntervalResult
        Share satisfied (fraction) with its Wilson interval.

    Examples
    --------
    80 satisfied answers (4 or 5) out of 100:

    >>> r = csat([5] * 50 + [4] * 30 + [3] * 12 + [2] * 5 + [1] * 3)
    >>> r.estimate, round(r.lower, 4), round(r.upper, 4)
    (0.8, 0.7112, 0.8666)
    """
    conf = _option("confidence", confidence, low=0.0, high=1.0)
    scale_ = _scale(scale)
    if isinstance(top_box, bool) or not isinstance(top_box, int | np.integer) or not (
            1 <= top_box < scale_):
        raise data_error("top_box must be a whole number from 1 to scale - 1",
                         example=f"top_box = {top_box!r}, scale = {scale_}",
                         fix="use top_box=2 for the usual top-two-box CSAT")
    arr = _integer_scores("scores", scores, 1, scale_)
    n = arr.size
    k = int(np.sum(arr > scale_ - top_box))
    p = k / n
    z = critical_z(1 - conf)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return IntervalResult(estimate=p, lower=max(centre - half, 0.0),
                          upper=min(centre + half, 1.0), se=math.sqrt(p * (1 - p) / n),
                          n=n, confidence=conf, method="Wilson score (1927)")


def _scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 2:
        raise data_error("scale must be a whole number of at least 2",
                         example=f"scale = {scale!r}", fix="give the top point of the scale, "
                         "e.g. scale=5 for a 1-5 scale")
    return int(scale)


def ces(scores: ArrayLike, *, scale: int = 7, higher_is_easier: bool = True,
        confidence: float = 0.95) -> CESResult:
    r"""Customer Effort Score: the mean answer with a t-interval.

    .. math:: \bar x \pm t_{n-1,\,1-\alpha/2} \, \frac{s}{\sqrt n}

    with :math:`s` the sample standard deviation of the :math:`n` answers.

    The direction of the scale must be stated: the CES 2.0 question ("The company made
    it easy for me to handle my issue", 1 = strongly disagree .. 7 = strongly agree) has
    higher = easier; the original CES ("How much effort did you personally have to put
    forth?", 1 = very low .. 5 = very high) has higher = more effort. The result always
    reports the raw mean on the scale as asked (``estimate``) and says which way it
    runs (``direction``); ``ease_estimate`` re-expresses it so that higher = easier
    (``scale + 1 - mean`` for a higher-is-harder scale), so scores from both kinds of
    questions can be compared.

    Source: Dixon, M., Freeman, K. & Toman, N. (2010), "Stop trying to delight your
    customers", *Harvard Business Review*.

    Parameters
    ----------
    scores : array-like of int
        Answers, whole numbers in 1..scale; at least two.
    scale : int, keyword-only
        Top point of the scale (answers run 1..scale).
    higher_is_easier : bool, keyword-only
        Whether a higher answer means less effort.
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    CESResult

    Examples
    --------
    >>> r = ces([6, 7, 5, 6, 7, 4, 6, 5])
    >>> r.estimate, round(r.lower, 3), round(r.upper, 3)
    (5.75, 4.885, 6.615)
    >>> r = ces([2, 1, 3, 2], scale=5, higher_is_easier=False)
    >>> r.estimate, r.ease_estimate, r.direction
    (2.0, 4.0, 'higher = more effort (1 = least effort, 5 = most)')
    """
    from scipy.special import stdtrit

    conf = _option("confidence", confidence, low=0.0, high=1.0)
    scale_ = _scale(scale)
    arr = _integer_scores("scores", scores, 1, scale_)
    n = arr.size
    if n < 2:
        raise data_error("a CES interval needs at least two answers",
                         example=f"scores = {arr.astype(int).tolist()}",
                         fix="collect more answers")
    mean = float(arr.mean())
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(stdtrit(n - 1, 0.5 + conf / 2.0)) * se
    if higher_is_easier:
        direction = f"higher = easier (1 = hardest, {scale_} = easiest)"
        ease = mean
    else:
        direction = f"higher = more effort (1 = least effort, {scale_} = most)"
        ease = scale_ + 1 - mean
    return CESResult(estimate=mean, lower=mean - half, upper=mean + half, se=se, n=n,
                     confidence=conf, scale=scale_, higher_is_easier=bool(higher_is_easier),
                     ease_estimate=ease, direction=direction,
                     method="t-interval for the mean")


# --------------------------------------------------------------------------------------
# recurring revenue
# --------------------------------------------------------------------------------------


def revenue_retention(start_mrr: ArrayLike, expansion: ArrayLike, contraction: ArrayLike,
                      churned: ArrayLike) -> RevenueRetention:
    r"""Net and gross revenue retention of the recurring revenue present at the start.

    .. math:: \mathrm{NRR} = \frac{S + X - C - K}{S}, \qquad
              \mathrm{GRR} = \frac{S - C - K}{S}

    with start MRR :math:`S`, expansion :math:`X`, contraction :math:`C` and churned MRR
    :math:`K` from the customers present at the start (new customers are excluded). All
    movements are given as **positive** amounts; GRR ignores expansion, so it is at most 1.

    Source: the standard SaaS definitions; :func:`mrr_movements` computes the movements
    from a subscription table.

    Raises
    ------
    DataError
        If ``start_mrr <= 0``, a movement is negative (e.g. contraction given as -5000),
        or contraction + churned exceeds the start MRR.

    Examples
    --------
    >>> revenue_retention(100_000, 15_000, 5_000, 8_000)
    RevenueRetention(nrr=1.02, grr=0.87)
    """
    form, (s, x, c, k) = _coerce(start_mrr=start_mrr, expansion=expansion,
                                 contraction=contraction, churned=churned)
    _positive(form, "start_mrr", s, "revenue retention needs recurring revenue at the start")
    sign_fix = "give movements as positive amounts (contraction 5000, not -5000)"
    _nonnegative(form, "expansion", x, sign_fix)
    _nonnegative(form, "contraction", c, sign_fix)
    _nonnegative(form, "churned", k, sign_fix)
    _fail_where(form, c + k > s, "contraction + churned exceeds start_mrr",
                "count only losses from revenue present at the start",
                start_mrr=s, contraction=c, churned=k)
    return RevenueRetention(nrr=form.wrap((s + x - c - k) / s, "nrr"),
                            grr=form.wrap((s - c - k) / s, "grr"))


_MOVEMENT_COLUMNS = ["start", "new", "expansion", "contraction", "churn", "reactivation", "end"]


def _check_mrr_identity(movements: pd.DataFrame) -> None:
    """Raise if ``end != start + new + expansion - contraction - churn + reactivation``."""
    m = movements
    rebuilt = (m["start"] + m["new"] + m["expansion"] - m["contraction"] - m["churn"]
               + m["reactivation"]).to_numpy(dtype=float)
    end = m["end"].to_numpy(dtype=float)
    tol = 1e-9 * max(1.0, float(np.abs(m.to_numpy(dtype=float)).max(initial=0.0)))
    bad = np.abs(rebuilt - end) > tol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"MRR bridge does not balance in {int(bad.sum())} period(s); first: period "
            f"{m.index[i]!r}, end = {end[i]:g} but start + movements = {rebuilt[i]:g}. "
            "This is a bug in retention_kit.metrics.mrr_movements; please report it.")


def mrr_movements(subscriptions: pd.DataFrame, *, customer_col: str = "customer_id",
                  period_col: str = "month", mrr_col: str = "mrr") -> pd.DataFrame:
    r"""Monthly recurring revenue (MRR) bridge: start, movements and end of each period.

    For each customer and period compare this period's MRR :math:`x_t` with the previous
    period's :math:`x_{t-1}` (a customer absent from a period, or with MRR 0, is not
    paying):

    - **new**: :math:`x_{t-1} = 0 < x_t` and the customer never paid before: :math:`x_t`;
    - **reactivation**: :math:`x_{t-1} = 0 < x_t` and the customer paid in some earlier
      period: :math:`x_t`;
    - **expansion**: :math:`0 < x_{t-1} < x_t`: :math:`x_t - x_{t-1}`;
    - **contraction**: :math:`0 < x_t < x_{t-1}`: :math:`x_{t-1} - x_t`;
    - **churn**: :math:`x_{t-1} > 0 = x_t`: :math:`x_{t-1}`.

    All movements are reported as **positive** amounts, and every period satisfies

    .. math:: \text{end} = \text{start} + \text{new} + \text{expansion} - \text{contraction}
              - \text{churn} + \text{reactivation}

    with start = total MRR of the previous period. The identity holds by construction
    and is checked on every call (an ``AssertionError`` would mean a bug here).

    Periods are the distinct values of ``period_col``, sorted; if the column holds
    pandas ``Period`` values, every period between the first and the last is included,
    even one with no rows. Otherwise a period in which nobody pays must appear with
    MRR-0 rows or it is skipped. The first period has no predecessor: its start is 0 and
    all its MRR counts as new, so drop that row if the table begins mid-history. Several
    rows for the same customer and period (several subscriptions) are summed.

    Parameters
    ----------
    subscriptions : DataFrame
        Long table, one row per customer per period with a non-negative MRR.
    customer_col, period_col, mrr_col : str, keyword-only
        Column names.

    Returns
    -------
    DataFrame
        Indexed by period, columns ``start, new, expansion, contraction, churn,
        reactivation, end`` (floats).

    Raises
    ------
    DataError
        If a column is missing, the table is empty, or a customer, period or MRR value is
        missing, MRR is negative or not numeric.

    Examples
    --------
    Customer A upgrades in month 2; B pauses in month 2 and comes back in month 3; C
    joins in month 2 and downgrades in month 3.

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["A", "B", "A", "C", "A", "B", "C"],
    ...     "month":       [1,   1,   2,   2,   3,   3,   3],
    ...     "mrr":         [100, 50,  120, 80,  120, 50,  60]})
    >>> mrr_movements(subs)
           start    new  expansion  contraction  churn  reactivation    end
    month
    1        0.0  150.0        0.0          0.0    0.0           0.0  150.0
    2      150.0   80.0       20.0          0.0   50.0           0.0  200.0
    3      200.0    0.0        0.0         20.0    0.0          50.0  230.0
    """
    if not isinstance(subscriptions, pd.DataFrame):
        raise data_error("subscriptions is not a DataFrame",
                         example=f"type {type(subscriptions).__name__}",
                         fix="pass a long table with customer, period and MRR columns")
    cols = [customer_col, period_col, mrr_col]
    missing = [c for c in cols if c not in subscriptions.columns]
    if missing:
        raise data_error(f"column(s) {missing} not found",
                         example=f"columns present: {list(subscriptions.columns)}",
                         fix="name the columns with customer_col=, period_col=, mrr_col=")
    if len(subscriptions) == 0:
        raise data_error("subscriptions is empty", fix="pass at least one row")
    frame = subscriptions[cols]
    for col in (customer_col, period_col):
        _missing_rows(frame, frame[col].isna().to_numpy(), f"{col} has missing values",
                      "drop rows without a customer or period, or fill them")
    mrr = pd.to_numeric(frame[mrr_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    _missing_rows(frame, np.isnan(mrr), f"{mrr_col} is missing or not numeric",
                  "fill missing MRR with 0 (not paying) or drop the row", mrr)
    _missing_rows(frame, np.isinf(mrr), f"{mrr_col} is infinite", "pass finite amounts", mrr)
    _missing_rows(frame, mrr < 0, f"{mrr_col} is negative",
                  "MRR is what the customer pays; book refunds and credits separately", mrr)

    table = pd.DataFrame({"customer": frame[customer_col].to_numpy(),
                          "period": frame[period_col].to_numpy(), "mrr": mrr})
    try:
        wide = table.groupby(["customer", "period"], sort=True)["mrr"].sum().unstack(
            "period", fill_value=0.0).sort_index(axis=1)
    except TypeError:
        raise data_error(f"{period_col} values cannot be sorted",
                         example=f"first values {frame[period_col].head(3).tolist()}",
                         fix="use one type for periods, e.g. pandas Periods or ints") from None
    if isinstance(frame[period_col].dtype, pd.PeriodDtype):
        periods = pd.period_range(wide.columns.min(), wide.columns.max(),
                                  freq=frame[period_col].dtype.freq)
        wide = wide.reindex(columns=periods, fill_value=0.0)

    cur = wide.to_numpy(dtype=float)
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    paying, was_paying = cur > 0, prev > 0
    paid_before = np.zeros_like(paying)
    paid_before[:, 1:] = np.logical_or.accumulate(paying, axis=1)[:, :-1]
    starts = paying & ~was_paying

    def total(mask: np.ndarray, amount: np.ndarray) -> np.ndarray:
        return np.where(mask, amount, 0.0).sum(axis=0)

    movements = pd.DataFrame({
        "start": prev.sum(axis=0),
        "new": total(starts & ~paid_before, cur),
        "expansion": total(paying & was_paying & (cur > prev), cur - prev),
        "contraction": total(paying & was_paying & (cur < prev), prev - cur),
        "churn": total(~paying & was_paying, prev),
        "reactivation": total(starts & paid_before, cur),
        "end": cur.sum(axis=0),
    }, index=pd.Index(wide.columns, name=period_col))
    _check_mrr_identity(movements)
    return movements


def _missing_rows(frame: pd.DataFrame, bad: np.ndarray, problem: str, fix: str,
                  values: np.ndarray | None = None) -> None:
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    example = f"row {frame.index[i]!r}"
    if values is not None:
        raw = frame.iloc[i, 2]
        shown = repr(raw) if isinstance(raw, str) else str(raw)
        example += f": {frame.columns[2]} = {shown}"
    raise data_error(problem, n_rows=int(bad.sum()), example=example, fix=fix)


def cohort_revenue_retention(subscriptions: pd.DataFrame, *, start: object, end: object,
                             customer_col: str = "customer_id", period_col: str = "month",
                             mrr_col: str = "mrr") -> RevenueRetention:
    """NRR and GRR of the customers paying in period ``start``, measured in period ``end``.

    The customers with MRR > 0 in ``start`` are followed to ``end`` (for example 12
    months later): their MRR then against their MRR at the start gives the expansion,
    contraction and churned MRR of :func:`mrr_movements` between the two periods (the
    months between do not matter; customers who joined since are left out), and
    :func:`revenue_retention` the rates.

    Parameters
    ----------
    subscriptions : DataFrame
        Long table, one row per customer per period (as for :func:`mrr_movements`).
    start, end : period value
        Values of ``period_col`` (e.g. the first day of two months).
    customer_col, period_col, mrr_col : str, keyword-only
        Column names.

    Returns
    -------
    RevenueRetention

    Raises
    ------
    DataError
        No MRR in ``start`` (no revenue to retain), and everything :func:`mrr_movements`
        rejects.

    Examples
    --------
    A 100 -> 120 (expansion 20), B 50 -> 0 (churned), C 80 -> 60 (contraction 20); D joined
    later and does not count: NRR = (230 + 20 - 20 - 50) / 230, GRR = (230 - 20 - 50) / 230.

    >>> subs = pd.DataFrame({"customer_id": ["A", "B", "C", "A", "C", "D"],
    ...                      "month": [1, 1, 1, 13, 13, 13],
    ...                      "mrr": [100.0, 50.0, 80.0, 120.0, 60.0, 30.0]})
    >>> r = cohort_revenue_retention(subs, start=1, end=13)
    >>> round(r.nrr, 4), round(r.grr, 4)
    (0.7826, 0.6957)
    """
    cols = [customer_col, period_col, mrr_col]
    frame = subscriptions[cols]
    first = frame.loc[(frame[period_col] == start).to_numpy()]
    paid = first.groupby(customer_col)[mrr_col].sum()
    payers = paid.index[(paid > 0).to_numpy()]
    later = frame.loc[((frame[period_col] == end) & frame[customer_col].isin(payers)).to_numpy()]
    key = "__period"
    two = pd.concat([first.assign(**{key: 0}), later.assign(**{key: 1}),
                     pd.DataFrame({customer_col: payers, key: 1, mrr_col: 0.0})],
                    ignore_index=True)
    moves = mrr_movements(two, customer_col=customer_col, period_col=key,
                          mrr_col=mrr_col).iloc[-1]
    if not moves["start"] > 0:
        raise data_error(f"no MRR in period {start!r}, so no revenue retention",
                         fix="choose a start period in which customers pay")
    return revenue_retention(float(moves["start"]), float(moves["expansion"]),
                             float(moves["contraction"]), float(moves["churn"]))
