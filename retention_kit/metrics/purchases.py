"""Purchases and simple CLV: repeat purchase rate, purchase frequency, AOV, simple CLV.

Purchase frequency, order value and lifespan combine into the guides' simple customer lifetime
value (:func:`simple_clv`, optionally with margin and discounting); :func:`margin_multiple_clv`
is the infinite-horizon value with constant margin and retention (Gupta & Lehmann 2003).
Frequencies, lifespans, retention and discount rates that are combined must share one period.
The guides' own CLV example is off by a factor of two; :func:`simple_clv` says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import data_error
from ._inputs import (
    ArrayLike,
    Result,
    coerce,
    fail_where,
    nonnegative,
    positive,
    probability,
    rate_per_period,
)

__all__ = ["average_order_value", "margin_multiple_clv", "purchase_frequency",
           "repeat_purchase_rate", "simple_clv"]


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
        form, (counts,) = coerce(purchases=purchases)
        counts = np.atleast_1d(counts)
        nonnegative(form, "purchases", counts, "purchase counts cannot be negative")
        fail_where(form, counts != np.round(counts), "purchases are not whole numbers",
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
    form, (o, c) = coerce(n_orders=n_orders, n_customers=n_customers)
    nonnegative(form, "n_orders", o, "order counts cannot be negative")
    positive(form, "n_customers", c, "frequency needs at least one customer")
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
    form, (r, o) = coerce(revenue=revenue, n_orders=n_orders)
    nonnegative(form, "revenue", r, "use gross revenue; net refunds against their orders")
    positive(form, "n_orders", o, "AOV needs at least one order")
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
    form, (f, aov, life, m, d) = coerce(
        purchases_per_period=purchases_per_period, average_order_value=average_order_value,
        lifespan_periods=lifespan_periods, margin=margin, discount_rate=discount_rate)
    nonnegative(form, "purchases_per_period", f, "purchase frequency cannot be negative")
    nonnegative(form, "average_order_value", aov, "use gross order values")
    nonnegative(form, "lifespan_periods", life, "a lifespan cannot be negative")
    probability(form, "margin", m)
    rate_per_period(form, "discount_rate", d)
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
    form, (m, r, i) = coerce(margin=margin, retention_rate=retention_rate,
                              discount_rate=discount_rate)
    probability(form, "retention_rate", r)
    rate_per_period(form, "discount_rate", i)
    fail_where(form, 1 + i - r <= 0, "retention_rate = 1 with discount_rate = 0 makes the "
                "value infinite", "use a positive discount rate or a retention rate below 1",
                retention_rate=r, discount_rate=i)
    numerator = (1 + i) if paid_now else r
    return form.wrap(m * numerator / (1 + i - r), "clv")
