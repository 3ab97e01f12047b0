"""Gamma-Gamma model of the mean spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", *Journal of Marketing Research* 42(4), 415-430; Fader & Hardie (2013), "The
Gamma-Gamma model of monetary value" (Bruce Hardie's note 025).

A customer's spend per transaction is z ~ Gamma(p, ν) (shape p, rate ν), independent
across her transactions, so her mean spend over x transactions is
m̄ | ν ~ Gamma(p·x, ν·x); across customers ν ~ Gamma(q, γ). The model is fitted on
*repeat* customers, with ``frequency`` x (repeat transactions) and ``monetary_value``
m̄ (their mean spend), and combines a customer's own mean with the population mean
E[Z] = γ·p/(q−1) by a credibility weight that grows with x.

Two assumptions matter in practice: spend must be positive, and a customer's spend must
not depend on how often she buys. :func:`frequency_spend_correlation` checks the second.

Limit and boundary fits
-----------------------
The likelihood can be maximised on the edge of the parameter space (see
:class:`~retention_kit.models._base.Model`): a fit then reports the limiting model
(``boundary_``, ``limit_``) and predicts with it.

* **common spend level**, q, γ → ∞ with v = γ/q fixed: the spend rate ν ~ Gamma(q, γ)
  concentrates at 1/v, every customer has the same spend scale v (no heterogeneity in
  mean spend), and x·m̄ ~ Gamma(p·x, scale v). The spends of the customers then vary no
  more than the Gamma(p) noise of a few transactions explains. The limit is fitted with
  its own two parameters (p, v) (:func:`common_spend_loglik_grad`) when the estimate
  comes near it (q > ``NEAR_COMMON_SPEND``) and always when the full fit fails; a fit is
  reported as the limit when the limit's maximised log-likelihood is within 1e-6 of the
  full model's. It is stored at q = ``COMMON_SPEND_Q`` (1e12) and γ = v·1e12, so that
  γ/q = v, with NaN standard errors for q and γ (p keeps its standard error, from the
  limit's Hessian), and every prediction is the limit's: E[Z | x, m̄] = E[Z] = p·v
  whatever the customer's own spend history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ..errors import DataError
from ._base import Columns, Limit, Model, digamma_difference, log_pochhammer

__all__ = [
    "COMMON_SPEND_Q",
    "NEAR_COMMON_SPEND",
    "WEAK_CORRELATION",
    "GammaGamma",
    "common_spend_loglik_grad",
    "frequency_spend_correlation",
    "gammagamma_loglik_grad",
]

#: Below this absolute Pearson correlation between frequency and mean spend, the
#: independence assumption of the Gamma-Gamma model is usually taken as acceptable.
WEAK_CORRELATION = 0.3
#: Where a boundary fit in the common-spend limit puts q (and γ = v·COMMON_SPEND_Q): the
#: log-likelihood there differs from the limit's by about (px − mx/v)²/(2q) per customer,
#: of order px·1e-12 for spends the limit fits (the predictions use the limit's p·v).
COMMON_SPEND_Q = 1e12
#: The common-spend limit is fitted and compared when the estimate has q above this (the
#: spend rate ν then varies between customers by a coefficient of variation 1/sqrt(q)
#: below 0.14), and whenever the full fit fails.
NEAR_COMMON_SPEND = 50.0


def gammagamma_loglik_grad(params: np.ndarray, x: np.ndarray, m: np.ndarray, *,
                           x_groups: tuple[np.ndarray, np.ndarray] | None = None,
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the Gamma-Gamma model and its exact gradient.

    The density of the mean spend m̄ = m over x > 0 transactions (Fader & Hardie
    2013, eq. 1a)::

        f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m^(px-1) · x^(px)
                            / (γ + m x)^(px+q)

    Parameters
    ----------
    params : array of 3 floats
        ``p, q, gamma``.
    x, m : arrays
        Repeat transactions (positive) and their mean spend (positive).
    x_groups : (distinct x, index of each row's x), optional
        Lets the Gamma functions, which depend on x only, be evaluated once per
        distinct frequency.

    Returns
    -------
    loglik : array (n,)
    grad : array (n, 3)
        Derivatives with respect to ``p, q, gamma``.

    Examples
    --------
    >>> ll, grad = gammagamma_loglik_grad(np.array([6.0, 4.0, 15.0]),
    ...                                   np.array([1.0]), np.array([20.0]))
    >>> round(float(ll[0]), 4), grad.shape
    (-3.52, (1, 3))
    """
    p, q, gamma = params
    xu, inv = x_groups if x_groups is not None else np.unique(x, return_inverse=True)
    pxu = p * xu
    # log Γ(px+q)/Γ(q) and ψ(px+q) − ψ(q) without cancellation for large q, and
    # q ln γ − (px+q) ln(γ+mx) = −q ln(1 + mx/γ) − px ln(γ+mx): the likelihood stays
    # accurate as q, γ → ∞ (the common-spend limit, stored at q = 1e12).
    lpoch_u = log_pochhammer(q, pxu) - gammaln(pxu)
    dpsi_q_u = digamma_difference(q, pxu)
    dpsi_p_u = digamma(pxu + q) - digamma(pxu)
    px = p * x
    mx = m * x
    log_mx = np.log(mx)
    log_total = np.log(gamma + mx)
    ratio = mx / gamma
    log1p_ratio = np.log1p(ratio)
    # (px-1) ln m + px ln x = px ln(mx) - ln m
    ll = lpoch_u[inv] + px * log_mx - np.log(m) - q * log1p_ratio - px * log_total
    grad = np.empty((len(x), 3))
    grad[:, 0] = x * (dpsi_p_u[inv] + log_mx - log_total)
    grad[:, 1] = dpsi_q_u[inv] - log1p_ratio
    # q/γ − (px+q)/(γ+mx), written without the difference of two nearly equal terms
    grad[:, 2] = (q * ratio - px) / (gamma + mx)
    return ll, grad


def common_spend_loglik_grad(params: np.ndarray, x: np.ndarray, m: np.ndarray,
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the common-spend limit and its gradient in (p, v).

    The limit of the Gamma-Gamma model as q, γ → ∞ with v = γ/q fixed: every customer
    has the spend rate 1/v, so the total x·m̄ of her x transactions is Gamma(p·x) with
    scale v, and the density of the mean spend m̄ = m is::

        f(m | p, v, x) = x · (mx)^(px-1) e^(-mx/v) / (Γ(px) v^(px))

    Parameters
    ----------
    params : array of 2 floats
        ``p, v`` (shape of the spend per transaction, and its scale in currency units).
    x, m : arrays
        Repeat transactions (positive) and their mean spend (positive).

    Returns
    -------
    loglik : array (n,)
    grad : array (n, 2)
        Derivatives with respect to ``p, v``.

    Examples
    --------
    >>> from scipy import stats
    >>> ll, grad = common_spend_loglik_grad(np.array([2.0, 10.0]), np.array([3.0]),
    ...                                     np.array([25.0]))
    >>> expected = stats.gamma.logpdf(75.0, 6.0, scale=10.0) + np.log(3.0)
    >>> bool(np.isclose(ll[0], expected, rtol=1e-14)), grad.shape
    (True, (1, 2))
    """
    p, v = params
    px = p * x
    mx = m * x
    log_mx = np.log(mx)
    ll = px * log_mx - np.log(m) - mx / v - gammaln(px) - px * np.log(v)
    grad = np.column_stack([x * (log_mx - digamma(px) - np.log(v)), (mx / v - px) / v])
    return ll, grad


def _common_spend_expand(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, v) -> (p, q, γ) = (p, COMMON_SPEND_Q, v·COMMON_SPEND_Q), and the Jacobian of the
    log-parameters."""
    p, v = eta
    full = np.array([p, COMMON_SPEND_Q, v * COMMON_SPEND_Q])
    return full, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])


def _expected_spend(params: np.ndarray, x: np.ndarray, m: np.ndarray,
                    common: bool) -> np.ndarray | None:
    """What :meth:`GammaGamma.expected_spend` gives for parameters (p, q, γ): the common
    mean p·γ/q for everyone at the common-spend limit, else E[Z | x, m̄]; None when q <= 1
    (the population mean is infinite)."""
    p, q, gamma = params
    if common:
        return np.full(len(x), p * (gamma / q))
    if not q > 1:
        return None
    return _conditional_spend(params, x, m)


def _conditional_spend(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[Z | x, m̄] = p (γ + x m̄) / (p x + q − 1) (Fader & Hardie 2013, eq. 5).

    The same as (q−1)/(px+q−1) · γp/(q−1) + px/(px+q−1) · m̄: a weighted average of
    the population mean and the customer's own mean; x = 0 gives the population mean.
    """
    p, q, gamma = params
    return p * (gamma + x * m) / (p * x + q - 1)


class GammaGamma(Model):
    """Gamma-Gamma model of the mean spend per transaction (Fader, Hardie & Lee 2005).

    Parameters are ``p`` (shape of a customer's spend per transaction), ``q`` and
    ``gamma`` (shape and rate of the Gamma heterogeneity of the spend rate ν; ``gamma``
    is in currency units). See :class:`~retention_kit.models._base.Model` for the
    options.

    Data: ``frequency`` (repeat transactions) and ``monetary_value`` (mean spend per
    repeat transaction). **Fit on repeat customers only**: a customer with frequency 0
    has no repeat spend to learn from, so :meth:`fit` raises a
    :class:`~retention_kit.errors.DataError` asking for ``data[data["frequency"] > 0]``
    rather than dropping rows silently. Predictions accept every customer (frequency 0
    gets the population mean). ``monetary_value`` must be positive for repeat
    customers (net refunds against purchases, drop zero-value orders).

    The model assumes spend is independent of purchase frequency; check it with
    :func:`frequency_spend_correlation` before using the model for CLV.

    When the customers' mean spends vary no more than the noise of their few transactions
    explains, the maximum lies at q, γ → ∞: the fit reports the **common spend level**
    limit (``boundary_``, ``limit_ == "common spend level"``), stores q = 1e12 and
    γ = v·1e12 (NaN standard errors) and predicts the common mean p·v for every customer
    (see the module docstring).

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> cdnow = load_cdnow_summary()
    >>> repeat = cdnow[cdnow["frequency"] > 0]
    >>> model = GammaGamma().fit(repeat)
    >>> model.params_.round(2).tolist()
    [6.25, 3.74, 15.45]
    >>> round(model.expected_spend_new(), 2)
    35.17
    >>> model.expected_spend(cdnow).head(3).round(2).tolist()
    [24.66, 18.91, 35.17]
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    data_columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")
    integer_columns: ClassVar[tuple[str, ...]] = ("frequency",)
    compress_rows: ClassVar[bool] = False  # mean spend is continuous: rows are distinct
    convergence_remedies: ClassVar[str] = (
        "look at the spend data: cap or remove outliers in monetary_value, check for mixed "
        "currencies or B2B orders, make sure monetary_value is the mean spend per repeat "
        "purchase, and fit on more repeat customers; or pass initial_params near plausible "
        "values")

    def limits(self) -> tuple[Limit, ...]:
        """A common spend level: q, γ → ∞ with v = γ/q fixed (no heterogeneity in spend)."""
        return (
            Limit("common spend level",
                  "q, gamma → ∞ with v = gamma/q fixed: the data show no heterogeneity in "
                  "mean spend between customers (their mean spends vary no more than the "
                  "noise of a few transactions explains); every customer spends p·v per "
                  "transaction on average, and q, gamma themselves are not identified",
                  ("p", "v"),
                  _common_spend_expand,
                  lambda full: np.array([full[0], full[2] / full[1]]),
                  near=lambda full: full[1] > NEAR_COMMON_SPEND,
                  loglik_grad=lambda eta, cols: common_spend_loglik_grad(
                      eta, cols["frequency"], cols["monetary_value"])),
        )

    def _is_common(self) -> bool:
        """Is the fit at the common-spend limit (everyone's mean spend the same)?"""
        return getattr(self, "limit_", None) == "common spend level"

    def _common_spend(self) -> float | None:
        """The common mean spend p·v = p·γ/q in the common-spend limit, else None."""
        if not self._is_common():
            return None
        p, q, gamma = self._param_tuple()
        return p * (gamma / q)

    def _prepare_columns(self, cols: Columns) -> Columns:
        return {**cols, "x_groups": np.unique(cols["frequency"], return_inverse=True)}

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        return gammagamma_loglik_grad(params, cols["frequency"], cols["monetary_value"],
                                      x_groups=cols.get("x_groups"))

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        spend = np.asarray(cols["monetary_value"], dtype=float)
        if np.ptp(spend) == 0:
            return (f"every customer's mean spend is the same ({spend[0]:g}), so how spend "
                    "varies between customers cannot be estimated. Use the model only where "
                    "spend varies (subscriptions at one price need no spend model: use the price)")
        return None

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # p = 1 (exponential spend per transaction), q = 2, and gamma such that the
        # population mean γp/(q−1) equals the weighted mean of the customers' means.
        mean_spend = float(weights @ cols["monetary_value"]) / float(weights.sum())
        return np.array([1.0, 2.0, max(mean_spend, 1e-6)])

    def _validated(self, data: pd.DataFrame, weights: str | None = None) -> pd.DataFrame:
        # Spend rules first, so that a negative mean spend is explained as spend (a
        # refund), not with the generic "counts and durations" message of the summary check.
        _check_spend(data)
        return super()._validated(data, weights)

    def fit(self, data: pd.DataFrame, *, weights: str | Sequence[float] | np.ndarray | None = None,
            ) -> Self:
        """Fit the model by maximum likelihood on repeat customers.

        Parameters
        ----------
        data : DataFrame
            One row per *repeat* customer with ``frequency`` (> 0) and
            ``monetary_value`` (> 0): pass ``data[data["frequency"] > 0]``.
        weights : str or array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        DataError
            If any row has frequency 0 (or a non-positive mean spend).
        """
        if isinstance(data, pd.DataFrame) and "frequency" in data.columns:
            freq = pd.to_numeric(data["frequency"], errors="coerce")
            zero = (freq == 0).to_numpy()
            if zero.any():
                first = data.index[int(np.flatnonzero(zero)[0])]
                raise DataError(
                    "the Gamma-Gamma model is fitted on repeat customers only, but some rows "
                    "have frequency 0 (no repeat purchase, so no repeat spend to learn from)",
                    n_rows=int(zero.sum()), example=f"row {first!r}: frequency=0",
                    fix='fit on data[data["frequency"] > 0]; predictions (expected_spend, '
                    "CLV) still accept every customer and give one-time buyers the "
                    "population mean")
        return super().fit(data, weights=weights)

    # ------------------------------------------------------------------ predictions

    def _params_for_mean(self) -> np.ndarray:
        params = np.array(self._param_tuple())
        if not params[1] > 1:
            raise DataError(
                f"the fitted q = {params[1]:.4g} is not above 1, so the population mean spend "
                "γp/(q−1) is infinite: the spend distribution is too heavy-tailed for the "
                "Gamma-Gamma model",
                fix="look for outliers in monetary_value (cap or remove them), for mixed "
                "currencies or B2B orders, or fit on a longer window with more repeat "
                "customers")
        return params

    def expected_spend(self, data: pd.DataFrame) -> pd.Series:
        """Conditional expected mean spend per future transaction, given each history.

        E[Z | x, m̄] = (q−1)/(px+q−1) · γp/(q−1) + px/(px+q−1) · m̄
        = p(γ + x·m̄)/(px + q − 1) (Fader & Hardie 2013, eq. 5): a weighted average of
        the population mean and the customer's own mean spend, whose weight grows with
        the number of repeat transactions x. Customers with frequency 0 get the
        population mean (:meth:`expected_spend_new`), whatever their ``monetary_value``.

        Parameters
        ----------
        data : DataFrame
            ``frequency`` and ``monetary_value`` (any customers, one-time buyers too).

        Returns
        -------
        Series on ``data``'s index, in the currency of ``monetary_value``.

        Raises
        ------
        DataError
            If the fitted q ≤ 1 (the population mean is infinite).
        """
        cols = self._columns(data)
        x = cols["frequency"]
        m = np.where(x > 0, cols["monetary_value"], 0.0)
        values = _expected_spend(np.array(self._param_tuple()), x, m, self._is_common())
        if values is None:
            self._params_for_mean()  # raises: q <= 1
        return self._series(values, data, "expected_spend")

    def expected_spend_draws(self, data: pd.DataFrame, draws: np.ndarray) -> np.ndarray:
        """:meth:`expected_spend` under each of many parameter vectors, the data validated
        once (the spend half of :func:`retention_kit.clv.clv_interval`).

        Row i is what ``expected_spend(data)`` gives for a copy of the model whose
        parameters are ``draws[i]`` (in ``params_`` order), the same numbers to the bit;
        where that copy's q ≤ 1 (its population mean spend is infinite, so
        ``expected_spend`` raises) the row is +inf.

        Parameters
        ----------
        data : DataFrame
            ``frequency`` and ``monetary_value``.
        draws : array-like
            ``(n_draws, 3)`` parameter vectors (p, q, gamma).

        Returns
        -------
        ndarray
            ``(n_draws, len(data))``.

        Examples
        --------
        >>> gg = GammaGamma.from_params({"p": 2.0, "q": 3.0, "gamma": 10.0})
        >>> data = pd.DataFrame({"frequency": [0, 1], "monetary_value": [0.0, 20.0]})
        >>> gg.expected_spend_draws(data, [[2.0, 3.0, 10.0], [2.0, 0.5, 10.0]]).tolist()
        [[10.0, 15.0], [inf, inf]]
        """
        cols = self._columns(data)
        x = cols["frequency"]
        m = np.where(x > 0, cols["monetary_value"], 0.0)
        common = self._is_common()
        rows = np.asarray(draws, dtype=float).reshape(-1, len(self.param_names))
        out = np.empty((len(rows), len(data)))
        for i, row in enumerate(rows):
            values = _expected_spend(np.array([float(v) for v in row]), x, m, common)
            out[i] = np.inf if values is None else values
        return out

    def expected_spend_new(self) -> float:
        """Population mean spend per transaction, E[Z] = γ·p/(q−1) (requires q > 1).

        In the common-spend limit, p·v = p·γ/q.
        """
        common = self._common_spend()
        if common is not None:
            self._check_fitted()
            return float(common)
        p, q, gamma = self._params_for_mean()
        return float(gamma * p / (q - 1))


def _check_spend(data: pd.DataFrame) -> None:
    """Repeat customers need a positive mean spend; frequency 0 rows are not checked."""
    if not isinstance(data, pd.DataFrame) or not {"frequency", "monetary_value"} <= set(
            data.columns):
        return  # validate_summary explains what is missing
    freq = pd.to_numeric(data["frequency"], errors="coerce").to_numpy(dtype=float)
    spend = pd.to_numeric(data["monetary_value"], errors="coerce").to_numpy(dtype=float)
    bad = (freq > 0) & (spend <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            "monetary_value is zero or negative for customers with repeat purchases; the "
            "Gamma-Gamma model needs a positive mean spend",
            n_rows=int(bad.sum()),
            example=f"row {data.index[first]!r}: frequency={freq[first]:g}, "
            f"monetary_value={spend[first]:g}",
            fix="net refunds against the purchases they reverse and drop zero-value orders "
            "before summarising; or fit on data[data['monetary_value'] > 0]")


def frequency_spend_correlation(data: pd.DataFrame) -> float:
    """Pearson correlation of frequency and mean spend among repeat customers.

    The Gamma-Gamma model assumes that how much a customer spends per transaction
    does not depend on how often she buys. This is the check Fader & Hardie (2013)
    recommend: rows with frequency 0 are left out (they have no repeat spend) and the
    correlation of ``frequency`` and ``monetary_value`` is computed on the others.

    Interpretation: an absolute correlation below 0.3 (``WEAK_CORRELATION``) is weak,
    and the independence assumption is usually accepted (CDNOW: 0.11). Above it, spend
    predictions for frequent buyers are biased: segment the customers, or use a model
    that links spend and frequency.

    Parameters
    ----------
    data : DataFrame
        ``frequency`` and ``monetary_value``.

    Returns
    -------
    float

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> round(frequency_spend_correlation(load_cdnow_summary()), 4)
    0.1139
    """
    _check_spend(data)
    if not isinstance(data, pd.DataFrame) or not {"frequency", "monetary_value"} <= set(
            data.columns):
        raise DataError("frequency_spend_correlation needs the columns frequency and "
                        "monetary_value", fix="build them with rfm_summary(..., amount_col=...)")
    freq = pd.to_numeric(data["frequency"], errors="coerce").to_numpy(dtype=float)
    spend = pd.to_numeric(data["monetary_value"], errors="coerce").to_numpy(dtype=float)
    keep = freq > 0
    if not np.all(np.isfinite(spend[keep])):
        bad = keep & ~np.isfinite(spend)
        first = int(np.flatnonzero(bad)[0])
        raise DataError("monetary_value has missing or infinite values for repeat customers",
                        n_rows=int(bad.sum()),
                        example=f"row {data.index[first]!r}: monetary_value={spend[first]}",
                        fix="drop or repair these customers")
    if int(keep.sum()) < 3 or np.ptp(freq[keep]) == 0 or np.ptp(spend[keep]) == 0:
        raise DataError(
            "the correlation needs at least 3 repeat customers with varying frequency and "
            "spend", n_rows=int(keep.sum()),
            fix="use a longer observation window or more customers")
    return float(np.corrcoef(freq[keep], spend[keep])[0, 1])
