"""Acquisition economics: CAC, CAC payback, LTV:CAC and the referral rate.

Spend, customers and margins must cover the same period; the payback is in months and ignores
churn and discounting (the simple, widely quoted version).
"""

from __future__ import annotations

from typing import Literal

from ..errors import data_error
from ._inputs import ArrayLike, Result, coerce, fail_where, nonnegative, positive

__all__ = ["cac", "cac_payback", "ltv_to_cac", "referral_rate"]


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
    form, (s, n) = coerce(acquisition_spend=acquisition_spend, new_customers=new_customers)
    nonnegative(form, "acquisition_spend", s, "spend cannot be negative")
    positive(form, "new_customers", n, "CAC is undefined for a period with no new "
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
    form, (c, m) = coerce(cac=cac, monthly_margin_per_customer=monthly_margin_per_customer)
    nonnegative(form, "cac", c, "an acquisition cost cannot be negative")
    fail_where(form, m <= 0, "monthly_margin_per_customer is not positive: the acquisition "
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
    form, (v, c) = coerce(ltv=ltv, cac=cac)
    positive(form, "cac", c, "the ratio needs a positive acquisition cost")
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
    form, (r, c) = coerce(referred_customers=referred_customers, customers=customers)
    nonnegative(form, "referred_customers", r, "counts cannot be negative")
    positive(form, "customers", c, "the rate needs a positive number of customers")
    if variant == "share_of_new":
        fail_where(form, r > c, "referred_customers exceeds the number of new customers",
                    'pass all new customers as customers, or use variant="per_customer" to '
                    "divide by existing customers", referred_customers=r, customers=c)
    return form.wrap(r / c, "referral_rate")
