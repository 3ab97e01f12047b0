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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ..errors import DataError
from ._base import Columns, Model

__all__ = [
    "WEAK_CORRELATION",
    "GammaGamma",
    "frequency_spend_correlation",
    "gammagamma_loglik_grad",
]

#: Below this absolute Pearson correlation between frequency and mean spend, the
#: independence assumption of the Gamma-Gamma model is usually taken as acceptable.
WEAK_CORRELATION = 0.3


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
    lgamma_u = gammaln(pxu + q) - gammaln(pxu)
    psi_all_u = digamma(pxu + q)
    psi_px_u = digamma(pxu)
    px = p * x
    mx = m * x
    log_mx = np.log(mx)
    log_total = np.log(gamma + mx)
    # (px-1) ln m + px ln x = px ln(mx) - ln m
    ll = (lgamma_u[inv] - gammaln(q) + q * np.log(gamma)
          + px * log_mx - np.log(m) - (px + q) * log_total)
    psi_all = psi_all_u[inv]
    grad = np.empty((len(x), 3))
    grad[:, 0] = x * (psi_all - psi_px_u[inv] + log_mx - log_total)
    grad[:, 1] = psi_all - digamma(q) + np.log(gamma) - log_total
    grad[:, 2] = q / gamma - (px + q) / (gamma + mx)
    return ll, grad


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
        params = self._params_for_mean()
        x = cols["frequency"]
        m = np.where(x > 0, cols["monetary_value"], 0.0)
        return self._series(_conditional_spend(params, x, m), data, "expected_spend")

    def expected_spend_new(self) -> float:
        """Population mean spend per transaction, E[Z] = γ·p/(q−1) (requires q > 1)."""
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
