"""Customer retention and churn: retention and churn rates, annual <-> per-period churn, lifespan.

Counts are of customers over one period: :math:`S` at the start, :math:`E` at the end,
:math:`N` acquired and :math:`L` lost during it. Units are the caller's: a churn rate "per
period" means per whatever period it was measured over (month, quarter, year), and a lifespan
comes out in the periods of its churn rate.

The business guides this project started from write the churn rate upside down and divide the
retention rate by the wrong number; the docstrings name these mistakes next to the correct
formula.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd  # noqa: F401 (the doctests use pd)

from ._inputs import (
    ArrayLike,
    Result,
    coerce,
    fail_where,
    nonnegative,
    option,
    positive,
    probability,
)

__all__ = ["annualize_churn", "churn_rate", "customer_lifespan", "periodic_churn",
           "retention_rate"]


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
    form, (s, e, n) = coerce(start=start, end=end, new=new)
    positive(form, "start", s, "a rate needs customers at the start; skip periods that "
              "begin with no customers")
    nonnegative(form, "end", e, "customer counts cannot be negative")
    nonnegative(form, "new", n, "customer counts cannot be negative")
    fail_where(form, e < n, "new exceeds end: more customers were acquired than are there "
                "at the end", "check that end counts all customers at the end of the period, "
                "including the new ones", end=e, new=n)
    fail_where(form, e - n > s, "end - new exceeds start: more starting customers retained "
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
    form, (s, lost_) = coerce(start=start, lost=lost)
    positive(form, "start", s, "a rate needs customers at the start; skip periods that "
              "begin with no customers")
    nonnegative(form, "lost", lost_, "give the number of customers lost as a positive count")
    fail_where(form, lost_ > s, "lost exceeds start: more customers lost than there were",
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
    p = option("periods_per_year", periods_per_year)
    form, (c,) = coerce(rate=rate)
    probability(form, "rate", c)
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
    p = option("periods_per_year", periods_per_year)
    form, (c,) = coerce(annual_rate=annual_rate)
    probability(form, "annual_rate", c)
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
    form, (c,) = coerce(churn_rate=churn_rate)
    probability(form, "churn_rate", c)
    fail_where(form, c == 0, "churn_rate is 0: customers never leave, so the lifespan is "
                "infinite", "measure churn over a longer window, or use a survival or cohort "
                "model instead of a constant rate", churn_rate=c)
    if median:
        with np.errstate(divide="ignore"):
            out = -math.log(2.0) / np.log1p(-c)
    else:
        out = 1.0 / c
    return form.wrap(out, "lifespan")
