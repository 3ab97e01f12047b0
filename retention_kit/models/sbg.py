"""Contractual retention: shifted-beta-geometric (sBG) and beta-discrete-Weibull (BdW).

In a contractual setting (subscriptions, memberships, annual contracts) churn is
observed. Customers are acquired at period 0; at every renewal opportunity t = 1, 2, ...
a customer either renews or leaves. T is the renewal opportunity at which she leaves
(T >= 1), so ``S(t) = P(T > t)`` is the probability that she is still a customer at the
start of period t (after t renewals), and ``S(0) = 1``.

* **sBG** (Fader & Hardie 2007, "How to project customer retention", *Journal of
  Interactive Marketing* 21(1), 76-90): each customer churns at every opportunity with
  her own probability θ ~ Beta(α, β)::

      P(T = t) = B(α+1, β+t-1)/B(α, β)        S(t) = B(α, β+t)/B(α, β)

* **BdW** (Fader, Hardie, Liu, Davin & Steenburgh 2018, "'How to project customer
  retention' revisited: the role of duration dependence", *Journal of Interactive
  Marketing* 43, 1-16): her churn probability changes with tenure like a discrete
  Weibull, S(t | θ) = (1-θ)^(t^c); c < 1 means churn propensity falls with tenure,
  c > 1 that it rises, c = 1 is the sBG::

      S(t) = B(α, β+t^c)/B(α, β)              P(T = t) = S(t-1) - S(t)

Data: one row per customer with ``duration`` (whole periods: the renewal opportunity at
which a churner left, or the number of renewals a current customer has made so far) and
``churned`` (boolean; False = still a customer, a right-censored duration). A churner
with duration t contributes log P(T = t), a current customer log S(t).

Money conventions (Fader & Hardie 2010, "Customer-base valuation in a contractual
setting: the perils of ignoring heterogeneity", *Marketing Science* 29(1), 85-93): a
customer pays one unit at the start of every period she is a customer, and the discount
rate ``d`` is *per period* (an annual rate for annual contracts, a monthly rate for
monthly ones).

* DEL(d), the discounted expected lifetime of a customer just acquired, counts the
  first payment (period 0) undiscounted: DEL(d) = Σ_{t>=0} S(t) / (1+d)^t.
* DERL(d | n), the discounted expected residual lifetime of a customer who has made
  ``n`` renewals (so is in period n and has paid for it), is valued just before her next
  renewal decision: the current period's payment is *not* counted, the next one (at
  renewal n+1) is counted undiscounted if she renews:
  DERL(d | n) = Σ_{t>=n+1} S(t)/S(n) / (1+d)^(t-n-1). Hence DEL(d) = 1 + DERL(d | 0)/(1+d).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from .._checks import discount_rate as check_discount_rate
from .._checks import first_example, whole_numbers
from ..errors import DataError
from ._base import Columns, Model

__all__ = [
    "SBG",
    "BdW",
    "bdw_log_survival",
    "bdw_loglik_grad",
    "sbg_discounted_lifetime",
    "sbg_discounted_residual_lifetime",
    "sbg_log_survival",
    "sbg_loglik_grad",
]

ArrayLike = int | float | np.ndarray | pd.Series | list


# --------------------------------------------------------------------------- special functions


def _digamma_gap(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """ψ(x+a) - ψ(x) for x > 0, a >= 0, without cancellation however small a/x is.

    x is first shifted to x + m >= 20 with ψ(z+1) = ψ(z) + 1/z, which adds
    Σ_{j<m} a/((x+j)(x+a+j)). At x >= 20 the asymptotic series ψ(x) = ln x - 1/(2x)
    - 1/(12x²) + 1/(120x⁴) - 1/(252x⁶) + 1/(240x⁸) - ... is differenced term by term:
    with y = x + a and q = x/y, 1/x^k - 1/y^k = (1 - q^k)/x^k and
    1 - q^k = -expm1(-k·log1p(a/x)); the series' error is below 1e-14 relative.
    """
    x, a = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(a, dtype=float))
    shift = np.clip(np.ceil(20.0 - x), 0, None)
    low = np.zeros(x.shape)
    for j in range(int(shift.max(initial=0))):
        step = j < shift
        xj = np.where(step, x + j, 1.0)
        low = low + np.where(step, a / (xj * (xj + a)), 0.0)
    xb = x + shift
    log1p_r = np.log1p(a / xb)
    inv = 1.0 / xb

    def one_minus_q(k: int) -> np.ndarray:
        return -np.expm1(-k * log1p_r)

    return (low + log1p_r + one_minus_q(1) * inv / 2 + one_minus_q(2) * inv**2 / 12
            - one_minus_q(4) * inv**4 / 120 + one_minus_q(6) * inv**6 / 252
            - one_minus_q(8) * inv**8 / 240)


# --------------------------------------------------------------------------- sBG


def sbg_loglik_grad(params: np.ndarray, duration: np.ndarray, churned: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the sBG model and its exact gradient.

    ``log P(T=t) = betaln(α+1, β+t-1) - betaln(α, β)`` for churners and
    ``log S(t) = betaln(α, β+t) - betaln(α, β)`` for current customers.

    Parameters
    ----------
    params : array of 2 floats
        ``alpha, beta``.
    duration : array
        Whole periods (>= 1).
    churned : array of bool or 0/1

    Returns
    -------
    loglik : ndarray (m,)
    grad : ndarray (m, 2)
        d loglik / d (alpha, beta).

    Examples
    --------
    With α = β = 1 (θ uniform), P(T = 1) = 1/2 and S(1) = 1/2:

    >>> ll, _ = sbg_loglik_grad(np.array([1.0, 1.0]), np.array([1.0, 1.0]),
    ...                         np.array([True, False]))
    >>> np.exp(ll).tolist()
    [0.5, 0.5]
    """
    alpha, beta = (float(v) for v in params)
    t = np.asarray(duration, dtype=float)
    dead = np.asarray(churned, dtype=float) > 0.5
    # Churners: B(α+1, β+t-1); current customers: B(α, β+t).
    a = np.where(dead, alpha + 1, alpha)
    b = np.where(dead, beta + t - 1, beta + t)
    ll = betaln(a, b) - betaln(alpha, beta)
    psi_ab, psi_abt = digamma(alpha + beta), digamma(alpha + beta + t)
    grad = np.empty((len(t), 2))
    grad[:, 0] = digamma(a) - psi_abt - digamma(alpha) + psi_ab
    # ψ(b) - ψ(α+β+t), with α+β+t - b = a: a small gap between large arguments.
    grad[:, 1] = -_digamma_gap(b, a) - digamma(beta) + psi_ab
    return ll, grad


def sbg_log_survival(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log S(t) = betaln(α, β+t) - betaln(α, β) of the sBG model."""
    alpha, beta = (float(v) for v in params)
    return betaln(alpha, beta + t) - betaln(alpha, beta)


def sbg_discounted_lifetime(params: np.ndarray, discount_rate: float) -> float:
    """DEL(d) = 2F1(1, β; α+β; 1/(1+d)) (Fader & Hardie 2010 eq. 4).

    At d = 0 this is E[T] = (α+β-1)/(α-1) if α > 1, else infinite.
    """
    alpha, beta = (float(v) for v in params)
    if discount_rate == 0:
        return (alpha + beta - 1) / (alpha - 1) if alpha > 1 else math.inf
    return float(hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + discount_rate)))


def sbg_discounted_residual_lifetime(params: np.ndarray, n: np.ndarray,
                                     discount_rate: float) -> np.ndarray:
    """DERL(d | n) for a customer who has made ``n`` renewals (see the module docstring).

    ``(β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))``. Fader & Hardie (2010, eq. 6)
    write the same quantity for "a customer who has made n-1 renewals" as
    ``(β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))``, i.e. their n is ours plus one.
    At d = 0 it is (β+n)/(α-1) if α > 1, else infinite.
    """
    alpha, beta = (float(v) for v in params)
    n = np.asarray(n, dtype=float)
    if discount_rate == 0:
        return (beta + n) / (alpha - 1) if alpha > 1 else np.full(n.shape, np.inf)
    return ((beta + n) / (alpha + beta + n)
            * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, 1.0 / (1.0 + discount_rate)))


# --------------------------------------------------------------------------- BdW


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a <= 0, accurate near 0 and for very negative a."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(a > -math.log(2), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def bdw_log_survival(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log S(t) = betaln(α, β+t^c) - betaln(α, β) of the BdW model (S(0) = 1)."""
    alpha, beta, c = (float(v) for v in params)
    t = np.asarray(t, dtype=float)
    return betaln(alpha, beta + np.power(t, c)) - betaln(alpha, beta)


def bdw_loglik_grad(params: np.ndarray, duration: np.ndarray, churned: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the BdW model and its exact gradient.

    Current customers contribute ``log S(t)``; churners ``log(S(t-1) - S(t)) =
    log S(t-1) + log1mexp(log S(t) - log S(t-1))``. With u = t^c and
    h(u) = ψ(β+u) - ψ(α+β+u)::

        d log S(t)/dα = ψ(α+β) - ψ(α+β+u)
        d log S(t)/dβ = h(u) - ψ(β) + ψ(α+β)
        d log S(t)/dc = h(u) · u · ln t            (0 at t = 0 and t = 1)

    and for a churner, with r = S(t)/S(t-1) and g(t) = d log S(t),
    ``d log P(T=t) = (g(t-1) - g(t))/(1 - r) + g(t)``, where the difference
    g(t-1) - g(t) is formed from the digamma terms directly (no cancellation through r),
    and digamma differences at large t^c come from :func:`_digamma_gap`.

    Parameters
    ----------
    params : array of 3 floats
        ``alpha, beta, c``.
    duration : array
        Whole periods (>= 1).
    churned : array of bool or 0/1

    Returns
    -------
    loglik : ndarray (m,)
    grad : ndarray (m, 3)
        d loglik / d (alpha, beta, c).

    Examples
    --------
    At c = 1 the BdW is the sBG:

    >>> t, dead = np.array([1.0, 3.0, 3.0]), np.array([True, True, False])
    >>> ll_bdw, _ = bdw_loglik_grad(np.array([0.7, 1.2, 1.0]), t, dead)
    >>> ll_sbg, _ = sbg_loglik_grad(np.array([0.7, 1.2]), t, dead)
    >>> bool(np.allclose(ll_bdw, ll_sbg, rtol=1e-12))
    True
    """
    alpha, beta, c = (float(v) for v in params)
    t = np.asarray(duration, dtype=float)
    dead = np.asarray(churned, dtype=float) > 0.5
    t0 = t - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = np.power(t, c)
        u0 = np.power(t0, c)
        log_t1 = np.where(t > 0, np.log(np.where(t > 0, t, 1.0)), 0.0)
        log_t0 = np.where(t0 > 0, np.log(np.where(t0 > 0, t0, 1.0)), 0.0)
    base = betaln(alpha, beta)
    log_s1 = betaln(alpha, beta + u1) - base
    log_s0 = betaln(alpha, beta + u0) - base
    delta_log = np.minimum(log_s1 - log_s0, 0.0)
    ll = np.where(dead, log_s0 + _log1mexp(delta_log), log_s1)

    psi_ab, psi_b = digamma(alpha + beta), digamma(beta)
    # h(u) = ψ(β+u) - ψ(α+β+u) and ψ(α+β+u1) - ψ(α+β+u0) are small gaps between large
    # digamma values when t^c is large: take them without cancellation.
    h1, h0 = -_digamma_gap(beta + u1, alpha), -_digamma_gap(beta + u0, alpha)
    with np.errstate(invalid="ignore"):
        du = np.where(t0 > 0, u0 * np.expm1(c * np.log1p(1.0 / np.where(t0 > 0, t0, 1.0))),
                      u1)  # u1 - u0
    g1 = np.column_stack([psi_ab - digamma(alpha + beta + u1), h1 - psi_b + psi_ab,
                          h1 * u1 * log_t1])
    diff = np.column_stack([_digamma_gap(alpha + beta + u0, du), h0 - h1,
                            h0 * u0 * log_t0 - h1 * u1 * log_t1])
    one_minus_r = -np.expm1(delta_log)
    with np.errstate(divide="ignore", invalid="ignore"):
        churn_grad = diff / one_minus_r[:, None] + g1
    grad = np.where(dead[:, None], churn_grad, g1)
    return ll, grad


def _discounted_sum(log_survival: Callable[[np.ndarray], np.ndarray], first: int, anchor: int,
                    discount_rate: float, *, rtol: float = 1e-13,
                    max_terms: int = 50_000_000) -> float:
    """Σ_{k>=0} S(first+k)/S(anchor) / (1+d)^k, summed until the tail is below ``rtol``.

    S is non-increasing, so after K terms the rest is at most
    S(first+K)/S(anchor) · z^(K+1)/(1-z), z = 1/(1+d); the sum stops when that bound is
    below ``rtol`` times the running total (chunks of doubling size).
    """
    log_z = -math.log1p(discount_rate)
    log_tail_factor = -math.log(-math.expm1(log_z))  # 1/(1-z)
    log_anchor = float(log_survival(np.array([float(anchor)]))[0])
    total, done, chunk = 0.0, 0, 1024
    while done < max_terms:
        k = np.arange(done, done + chunk, dtype=float)
        log_terms = log_survival(first + k) - log_anchor + k * log_z
        total += float(np.sum(np.exp(log_terms)))
        done += chunk
        if log_terms[-1] + log_z + log_tail_factor < math.log(rtol) + math.log(total):
            return total
        chunk = min(2 * chunk, 1 << 20)
    raise ValueError(f"the discounted sum did not converge within {max_terms:,} periods; "
                     f"the discount rate {discount_rate} per period is too small for a sum")


# --------------------------------------------------------------------------- classes


def _shaped(values: np.ndarray, like: ArrayLike, name: str) -> float | np.ndarray | pd.Series:
    """A float for a scalar input, a Series on the input's index, or an array."""
    if isinstance(like, pd.Series):
        return pd.Series(np.asarray(values, dtype=float), index=like.index, name=name)
    values = np.asarray(values, dtype=float)
    return float(values) if values.ndim == 0 else values


class _DurationModel(Model):
    """Shared data rules and survival-based predictions of the contractual models."""

    data_columns: ClassVar[tuple[str, ...]] = ("duration", "churned")
    integer_columns: ClassVar[tuple[str, ...]] = ("duration",)

    def _check_data(self, data: pd.DataFrame) -> None:
        cols = list(self.data_columns)
        duration = pd.to_numeric(data["duration"]).to_numpy(dtype=float)
        short = duration < 1
        if short.any():
            raise DataError(
                "duration is below 1", n_rows=int(short.sum()),
                example=first_example(data, short, cols),
                fix="duration counts whole periods from acquisition (period 0) to the renewal "
                "at which the customer left, or renewals made so far, so it is at least 1; "
                "drop customers acquired in the current period")
        churned = pd.to_numeric(data["churned"]).to_numpy(dtype=float)
        odd = (churned != 0) & (churned != 1)
        if odd.any():
            raise DataError(
                "churned is not boolean", n_rows=int(odd.sum()),
                example=first_example(data, odd, cols),
                fix="churned is True (or 1) for a customer who left, False (or 0) for one "
                "still a customer")

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        churned = np.asarray(cols["churned"], dtype=float) > 0
        if not churned.any():
            return ("no customer churned, so nothing is known about how long customers stay "
                    "(the retention estimate would run off to 100%). Wait for renewals to be "
                    "observed, or report the observed retention without a model")
        if churned.all() and np.all(np.asarray(cols["duration"]) == 1):
            return ("every customer churned at the first renewal, so nobody is seen to stay "
                    "and the churn model is not identified. Report the observed churn instead")
        return None

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # sBG mean churn at the first renewal is α/(α+β): start at α = 1 and β from the
        # share of customers who left at the first renewal.
        first = float(weights @ ((cols["duration"] == 1) & (cols["churned"] > 0.5)))
        share = min(max(first / float(weights.sum()), 0.02), 0.98)
        start = [1.0, (1 - share) / share]
        return np.array(start + [1.0] * (len(self.param_names) - 2))

    def _log_survival(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def survival(self, t: ArrayLike) -> float | np.ndarray | pd.Series:
        """S(t): probability that a customer is still a customer after ``t`` renewals.

        Parameters
        ----------
        t : int or array-like of int
            Whole periods since acquisition (>= 0; S(0) = 1).

        Returns
        -------
        float, ndarray or Series (as ``t``), non-increasing in t.
        """
        self._check_fitted()
        values = np.exp(self._log_survival(whole_numbers("t", t, minimum=0)))
        return _shaped(values, t, "survival")

    def retention_rate(self, t: ArrayLike) -> float | np.ndarray | pd.Series:
        """r(t) = S(t)/S(t-1): share of the customers of period t-1 who renew at t.

        Parameters
        ----------
        t : int or array-like of int
            Renewal opportunity (>= 1).

        Returns
        -------
        float, ndarray or Series (as ``t``).
        """
        self._check_fitted()
        arr = whole_numbers("t", t, minimum=1)
        values = np.exp(self._log_survival(arr) - self._log_survival(arr - 1))
        return _shaped(values, t, "retention_rate")

    def probability_of_churn(self, t: ArrayLike) -> float | np.ndarray | pd.Series:
        """P(T = t) = S(t-1) - S(t): probability that a new customer leaves at renewal t.

        Parameters
        ----------
        t : int or array-like of int
            Renewal opportunity (>= 1).

        Returns
        -------
        float, ndarray or Series (as ``t``).
        """
        self._check_fitted()
        arr = whole_numbers("t", t, minimum=1)
        log_s1, log_s0 = self._log_survival(arr), self._log_survival(arr - 1)
        values = np.exp(log_s0 + _log1mexp(np.minimum(log_s1 - log_s0, 0.0)))
        return _shaped(values, t, "probability_of_churn")


class SBG(_DurationModel):
    """Shifted-beta-geometric model of contract duration (Fader & Hardie 2007).

    Parameters are ``alpha, beta``: every customer churns at each renewal opportunity
    with her own probability θ ~ Beta(α, β). The data are ``duration`` and ``churned``
    (see :mod:`retention_kit.models.sbg`). See :class:`~retention_kit.models._base.Model`
    for the options.

    Examples
    --------
    The two cohorts of Fader & Hardie (2007), calibrated on years 0..7:

    >>> from retention_kit.datasets import load_sbg_cohorts
    >>> cohorts = load_sbg_cohorts()
    >>> customers = cohorts.customers
    >>> regular = SBG().fit(customers[customers["cohort"] == "regular"])
    >>> high_end = SBG().fit(customers[customers["cohort"] == "high_end"])
    >>> regular.params_.round(3).tolist(), high_end.params_.round(3).tolist()
    ([0.704, 1.182], [0.668, 3.806])

    Projected survival (percent) of the regular cohort for years 8..12, and the actual:

    >>> (100 * regular.survival(np.arange(8, 13))).round(1).tolist()
    [22.0, 20.4, 19.1, 18.0, 17.0]
    >>> cohorts.survival.loc[8:12, "regular"].tolist()
    [22.3, 20.7, 19.4, 18.3, 17.3]
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        return sbg_loglik_grad(params, cols["duration"], cols["churned"])

    def _log_survival(self, t: np.ndarray) -> np.ndarray:
        return sbg_log_survival(np.array(self._param_tuple()), t)

    def retention_rate(self, t: ArrayLike) -> float | np.ndarray | pd.Series:
        """r(t) = (β+t-1)/(α+β+t-1): share of period t-1's customers who renew at t.

        Fader & Hardie 2007 eq. 5: rises with t, because the customers most likely to
        churn leave first.

        Parameters
        ----------
        t : int or array-like of int
            Renewal opportunity (>= 1).

        Returns
        -------
        float, ndarray or Series (as ``t``).

        Examples
        --------
        >>> model = SBG(); model.params_ = pd.Series({"alpha": 1.0, "beta": 3.0})
        >>> model.retention_rate([1, 2, 5]).tolist()
        [0.75, 0.8, 0.875]
        """
        self._check_fitted()
        alpha, beta = self._param_tuple()
        arr = whole_numbers("t", t, minimum=1)
        return _shaped((beta + arr - 1) / (alpha + beta + arr - 1), t, "retention_rate")

    def expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime (DEL) of a newly acquired customer, in periods.

        Fader & Hardie 2010 eq. 4: DEL(d) = 2F1(1, β; α+β; 1/(1+d)) = Σ_{t>=0} S(t)/(1+d)^t,
        i.e. the present value of one unit paid at the start of every period she is a
        customer, the first (period 0) undiscounted. Multiply by the margin per period
        for the expected lifetime value.

        Parameters
        ----------
        discount_rate : float
            Per period (an annual rate for annual contracts). With 0 the result is the
            mean lifetime E[T] = (α+β-1)/(α-1), infinite when α <= 1.

        Returns
        -------
        float

        Examples
        --------
        >>> model = SBG(); model.params_ = pd.Series({"alpha": 3.0, "beta": 2.0})
        >>> model.expected_lifetime(0.0)
        2.0
        >>> round(model.expected_lifetime(0.1), 4)
        1.7562
        """
        self._check_fitted()
        d = check_discount_rate(discount_rate, allow_zero=True, allow_one=True)
        return sbg_discounted_lifetime(np.array(self._param_tuple()), d)

    def expected_residual_lifetime(self, n: ArrayLike, discount_rate: float,
                                   ) -> float | np.ndarray | pd.Series:
        """Discounted expected residual lifetime (DERL) of a customer who has renewed n times.

        The customer is in period n (she has made n renewals and paid for this period);
        the value is taken just before her next renewal decision and does not count the
        current period: DERL(d | n) = Σ_{t>=n+1} S(t)/S(n) / (1+d)^(t-n-1)
        = (β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d)).

        This is Fader & Hardie (2010) eq. 6, which they index by a customer "who has made
        n-1 renewals" (their formula has β+n-1 and β+n where ours has β+n and β+n+1). It
        satisfies DEL(d) = 1 + DERL(d | 0)/(1+d).

        Parameters
        ----------
        n : int or array-like of int
            Renewals made so far (>= 0): the ``duration`` of a current customer.
        discount_rate : float
            Per period. With 0: the expected number of further payments, (β+n)/(α-1)
            (infinite when α <= 1).

        Returns
        -------
        float, ndarray or Series (as ``n``).

        Examples
        --------
        >>> model = SBG(); model.params_ = pd.Series({"alpha": 3.0, "beta": 2.0})
        >>> model.expected_residual_lifetime([0, 5], 0.0).tolist()
        [1.0, 3.5]
        >>> d = 0.1
        >>> bool(np.isclose(model.expected_lifetime(d),
        ...                 1 + model.expected_residual_lifetime(0, d) / (1 + d)))
        True
        """
        self._check_fitted()
        d = check_discount_rate(discount_rate, allow_zero=True, allow_one=True)
        arr = whole_numbers("n", n, minimum=0)
        values = sbg_discounted_residual_lifetime(np.array(self._param_tuple()), arr, d)
        return _shaped(values, n, "expected_residual_lifetime")


class BdW(_DurationModel):
    """Beta-discrete-Weibull model of contract duration (Fader et al. 2018).

    Parameters are ``alpha, beta`` (Beta heterogeneity of the baseline churn
    probability) and ``c`` (duration dependence: c < 1 individual churn propensity
    falls with tenure, c > 1 it rises, c = 1 gives the :class:`SBG`). The data are
    ``duration`` and ``churned``. See :class:`~retention_kit.models._base.Model` for the
    options.

    Expected lifetimes have no closed form: they are sums of discounted survival
    probabilities, taken until the remaining tail is below 1e-13 of the total.

    Examples
    --------
    >>> from retention_kit.datasets import load_sbg_cohorts
    >>> customers = load_sbg_cohorts().customers
    >>> model = BdW().fit(customers[customers["cohort"] == "regular"])
    >>> model.params_.round(3).tolist(), round(model.loglik_, 2)
    ([0.456, 0.779, 1.283], -1679.6)
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "c")

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        return bdw_loglik_grad(params, cols["duration"], cols["churned"])

    def _log_survival(self, t: np.ndarray) -> np.ndarray:
        return bdw_log_survival(np.array(self._param_tuple()), t)

    def expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime DEL(d) = Σ_{t>=0} S(t)/(1+d)^t, in periods.

        Same convention as :meth:`SBG.expected_lifetime` (first payment undiscounted),
        computed by summing the series until its tail is below 1e-13 of the total.

        Parameters
        ----------
        discount_rate : float
            Per period, > 0 (the undiscounted mean can be infinite and converges too
            slowly to sum).

        Returns
        -------
        float

        Examples
        --------
        At c = 1 it equals the sBG's closed form:

        >>> bdw = BdW(); bdw.params_ = pd.Series({"alpha": 3.0, "beta": 2.0, "c": 1.0})
        >>> round(bdw.expected_lifetime(0.1), 4)
        1.7562
        """
        self._check_fitted()
        d = check_discount_rate(discount_rate, allow_zero=False, allow_one=True)
        return _discounted_sum(self._log_survival, 0, 0, d)

    def expected_residual_lifetime(self, n: ArrayLike, discount_rate: float,
                                   ) -> float | np.ndarray | pd.Series:
        """DERL(d | n) = Σ_{t>=n+1} S(t)/S(n) / (1+d)^(t-n-1) for n renewals made.

        Same convention as :meth:`SBG.expected_residual_lifetime` (current period not
        counted, next renewal's payment undiscounted), summed numerically.

        Parameters
        ----------
        n : int or array-like of int
            Renewals made so far (>= 0).
        discount_rate : float
            Per period, > 0.

        Returns
        -------
        float, ndarray or Series (as ``n``).
        """
        self._check_fitted()
        d = check_discount_rate(discount_rate, allow_zero=False, allow_one=True)
        arr = whole_numbers("n", n, minimum=0)
        out = np.empty(arr.shape)
        for value in np.unique(arr):
            k = int(value)
            out[arr == value] = _discounted_sum(self._log_survival, k + 1, k, d)
        return _shaped(out, n, "expected_residual_lifetime")
