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
with duration t contributes log P(T = t), a current customer log S(t). An optional
``entry`` column (delayed entry, left truncation) gives the tenure from which a customer
is observed, as in a snapshot table; her contribution is then divided by S(entry).

Boundaries. As α, β → ∞ with μ = α/(α+β) fixed, θ stops varying between customers and
the sBG becomes the geometric model S(t) = (1-μ)^t (the BdW the discrete Weibull
S(t) = (1-μ)^(t^c)). Survival is computed in a mean/spread form that tends to exactly
that (:func:`log_beta_ratio`), and a fit whose maximum lies there returns the limit with
``boundary_`` saying so (see :meth:`SBG.fit`); as α, β → 0 every customer has θ = 0 or 1
(a share μ leaves at the first renewal, the rest never), also reported in ``boundary_``.

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
import warnings
from collections.abc import Callable, Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, hyp2f1

from .._checks import discount_rate as check_discount_rate
from .._checks import entry_times, first_example, whole_numbers
from ..errors import ConvergenceError, DataError
from ._base import Columns, Model

__all__ = [
    "LIMIT_SIZE",
    "SBG",
    "BdW",
    "bdw_log_survival",
    "bdw_loglik_grad",
    "discrete_weibull_loglik",
    "entry_times",
    "geometric_loglik",
    "log_beta_ratio",
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


#: Both Beta parameters at least this large: log-survival is taken in the mean form below.
_LARGE = 20.0
#: alpha + beta at which a no-heterogeneity (boundary) fit is stored: finite, so that JSON
#: and ``from_params`` accept it, and so large that every prediction equals the limit's to
#: about t²/1e15 relative.
LIMIT_SIZE = 1e15


def _stirling_tail(x: np.ndarray) -> np.ndarray:
    """lgamma(x) - [(x-1/2)·log x - x + log(2π)/2] for x >= 20 (error below 1e-16)."""
    inv = 1.0 / np.asarray(x, dtype=float)
    inv2 = inv * inv
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))


def _lgamma_gap_excess(x: float, u: np.ndarray) -> np.ndarray:
    """lgamma(x+u) - lgamma(x) - u·log x for x >= 20, u >= 0, without cancellation.

    By Stirling: (x+u-1/2)·log1p(u/x) - u + tail(x+u) - tail(x). Its absolute error is
    a few ulp of u, however large x is (the terms that grow with log x are left out).
    """
    u = np.asarray(u, dtype=float)
    return (x + u - 0.5) * np.log1p(u / x) - u + _stirling_tail(x + u) - _stirling_tail(x)


def log_beta_ratio(alpha: float, beta: float, u: ArrayLike) -> np.ndarray:
    """log B(α, β+u) / B(α, β): log S(t) of the sBG (u = t) and the BdW (u = t^c).

    When α and β are both >= 20 it is computed in the mean/spread form
    ``u·log(1-μ) + [lgamma(β+u) - lgamma(β) - u·log β] - [lgamma(κ+u) - lgamma(κ) - u·log κ]``
    with κ = α+β and μ = α/κ the mean churn probability; the bracketed terms vanish as
    κ → ∞, so at huge α, β this is the geometric (or discrete Weibull) log-survival
    u·log(1-μ), exact to rounding. (The direct difference of two ``betaln`` values loses
    everything there: at α = 1.9e30, β = 1.4e33 it is 0 for every u.)

    Examples
    --------
    >>> float(np.exp(log_beta_ratio(1.0, 1.0, 1.0)))
    0.5
    >>> mu, t = 0.068, np.arange(4.0)
    >>> bool(np.allclose(log_beta_ratio(mu * 1e30, (1 - mu) * 1e30, t),
    ...                  t * np.log1p(-mu), rtol=1e-14, atol=0))
    True
    """
    u = np.asarray(u, dtype=float)
    direct = betaln(alpha, beta + u) - betaln(alpha, beta)
    if alpha >= _LARGE and beta >= _LARGE:
        # The mean form's rounding grows like u; beyond u = κ the direct form is the
        # accurate one (its terms are then of the size of the result).
        kappa = alpha + beta
        log_keep = math.log1p(-alpha / kappa) if alpha < beta else math.log(beta / kappa)
        near = np.minimum(u, kappa)
        mean_form = (near * log_keep + _lgamma_gap_excess(beta, near)
                     - _lgamma_gap_excess(kappa, near))
        return np.where(u <= kappa, mean_form, direct)
    return direct


def _entry_array(entry: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros(like.shape) if entry is None else np.asarray(entry, dtype=float)


# --------------------------------------------------------------------------- sBG


def sbg_loglik_grad(params: np.ndarray, duration: np.ndarray, churned: np.ndarray,
                    entry: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the sBG model and its exact gradient.

    ``log P(T=t) = log S(t-1) + log α - log(α+β+t-1)`` for churners and ``log S(t)`` for
    current customers, with ``log S`` from :func:`log_beta_ratio` (finite and exact at
    huge α, β). A customer observed from tenure ``e`` on (delayed entry, left
    truncation: she is in the table only because she had not churned by then) has her
    contribution divided by S(e).

    Parameters
    ----------
    params : array of 2 floats
        ``alpha, beta``.
    duration : array
        Whole periods (>= 1).
    churned : array of bool or 0/1
    entry : array, optional
        Tenure at which each customer's observation starts (0 <= entry <= duration,
        entry < duration for churners); default 0 for everyone.

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
    e = _entry_array(entry, t)
    dead = np.asarray(churned, dtype=float) > 0.5
    kappa = alpha + beta
    # Churners: S(t-1)·α/(κ+t-1); current customers: S(t); both over S(e).
    last = np.where(dead, t - 1, t)
    ll = log_beta_ratio(alpha, beta, last) - log_beta_ratio(alpha, beta, e)
    ll = ll + np.where(dead, math.log(alpha) - np.log(kappa + t - 1), 0.0)
    # d/dα of log S(u) is ψ(κ) - ψ(κ+u); d/dβ is [ψ(β+u) - ψ(β)] - [ψ(κ+u) - ψ(κ)]:
    # differences of digamma values, taken without cancellation at large arguments.
    gap_k_t, gap_k_e = _digamma_gap(np.full(t.shape, kappa), t), _digamma_gap(
        np.full(t.shape, kappa), e)
    grad = np.empty((len(t), 2))
    grad[:, 0] = np.where(dead, 1.0 / alpha, 0.0) - gap_k_t + gap_k_e
    grad[:, 1] = (_digamma_gap(np.full(t.shape, beta), last) - gap_k_t
                  - _digamma_gap(np.full(t.shape, beta), e) + gap_k_e)
    return ll, grad


def sbg_log_survival(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log S(t) = betaln(α, β+t) - betaln(α, β) of the sBG model."""
    alpha, beta = (float(v) for v in params)
    return log_beta_ratio(alpha, beta, t)


def sbg_discounted_lifetime(params: np.ndarray, discount_rate: float) -> float:
    """DEL(d) = 2F1(1, β; α+β; 1/(1+d)) (Fader & Hardie 2010 eq. 4).

    At d = 0 this is E[T] = (α+β-1)/(α-1) if α > 1, else infinite.
    """
    alpha, beta = (float(v) for v in params)
    if discount_rate == 0:
        return (alpha + beta - 1) / (alpha - 1) if alpha > 1 else math.inf
    if alpha >= _LARGE and beta >= _LARGE:
        # scipy's hyp2f1 is not reliable at huge parameters; the series of the stable
        # survival is (it tends to the geometric 1/(1 - (1-μ)/(1+d))).
        return _discounted_sum(lambda t: log_beta_ratio(alpha, beta, t), 0, 0, discount_rate)
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
    if alpha >= _LARGE and beta >= _LARGE:
        out = np.empty(n.shape)
        for value in np.unique(n):
            k = int(value)
            out[n == value] = _discounted_sum(lambda t: log_beta_ratio(alpha, beta, t),
                                              k + 1, k, discount_rate)
        return out
    return ((beta + n) / (alpha + beta + n)
            * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, 1.0 / (1.0 + discount_rate)))


# --------------------------------------------------------------------------- BdW


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a <= 0, accurate near 0 and for very negative a."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(a > -math.log(2), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def bdw_log_survival(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log S(t) = log B(α, β+t^c)/B(α, β) of the BdW model (S(0) = 1), stable at large α, β."""
    alpha, beta, c = (float(v) for v in params)
    t = np.asarray(t, dtype=float)
    return log_beta_ratio(alpha, beta, np.power(t, c))


def bdw_loglik_grad(params: np.ndarray, duration: np.ndarray, churned: np.ndarray,
                    entry: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    and digamma differences at large t^c come from :func:`_digamma_gap`. A customer
    observed from tenure ``e`` on (delayed entry) has ``log S(e)`` and its gradient
    subtracted.

    Parameters
    ----------
    params : array of 3 floats
        ``alpha, beta, c``.
    duration : array
        Whole periods (>= 1).
    churned : array of bool or 0/1
    entry : array, optional
        Tenure at which each customer's observation starts (default 0).

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
    e = _entry_array(entry, t)
    dead = np.asarray(churned, dtype=float) > 0.5
    t0 = t - 1.0
    log_s1, g1 = _bdw_log_survival_grad(alpha, beta, c, t)
    log_s0, g0 = _bdw_log_survival_grad(alpha, beta, c, t0)
    log_se, ge = _bdw_log_survival_grad(alpha, beta, c, e)
    delta_log = np.minimum(log_s1 - log_s0, 0.0)
    ll = np.where(dead, log_s0 + _log1mexp(delta_log), log_s1) - log_se

    kappa = alpha + beta
    with np.errstate(divide="ignore", invalid="ignore"):
        u1, u0 = np.power(t, c), np.power(t0, c)
        log_t1 = np.where(t > 0, np.log(np.where(t > 0, t, 1.0)), 0.0)
        log_t0 = np.where(t0 > 0, np.log(np.where(t0 > 0, t0, 1.0)), 0.0)
        du = np.where(t0 > 0, u0 * np.expm1(c * np.log1p(1.0 / np.where(t0 > 0, t0, 1.0))),
                      u1)  # u1 - u0
    h1, h0 = -_digamma_gap(beta + u1, alpha), -_digamma_gap(beta + u0, alpha)
    # g(t-1) - g(t), formed from the digamma terms directly (no cancellation through r).
    diff = np.column_stack([_digamma_gap(kappa + u0, du), h0 - h1,
                            h0 * u0 * log_t0 - h1 * u1 * log_t1])
    one_minus_r = -np.expm1(delta_log)
    with np.errstate(divide="ignore", invalid="ignore"):
        churn_grad = diff / one_minus_r[:, None] + g1
    grad = np.where(dead[:, None], churn_grad, g1) - ge
    return ll, grad


def _bdw_log_survival_grad(alpha: float, beta: float, c: float, t: np.ndarray,
                           ) -> tuple[np.ndarray, np.ndarray]:
    """log S(t) of the BdW and its gradient in (α, β, c), both stable at large α, β.

    With u = t^c and κ = α+β: d/dα = ψ(κ) - ψ(κ+u), d/dβ = [ψ(β+u) - ψ(β)] - [ψ(κ+u) -
    ψ(κ)], d/dc = [ψ(β+u) - ψ(κ+u)]·u·ln t (0 at t = 0 and t = 1).
    """
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.power(t, c)
        log_t = np.where(t > 0, np.log(np.where(t > 0, t, 1.0)), 0.0)
    kappa = alpha + beta
    gap_k = _digamma_gap(np.full(t.shape, kappa), u)
    grad = np.column_stack([-gap_k, _digamma_gap(np.full(t.shape, beta), u) - gap_k,
                            -_digamma_gap(beta + u, alpha) * u * log_t])
    return log_beta_ratio(alpha, beta, u), grad


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


def geometric_loglik(churn_probability: float, duration: np.ndarray, churned: np.ndarray,
                     entry: np.ndarray | None = None) -> np.ndarray:
    """Per-customer log-likelihood of the geometric model (the sBG without heterogeneity).

    Every customer churns at each renewal with the same probability μ: a churner at t
    observed from e contributes ``(t-1-e)·log(1-μ) + log μ``, a current customer
    ``(t-e)·log(1-μ)``.
    """
    t = np.asarray(duration, dtype=float)
    e = _entry_array(entry, t)
    dead = np.asarray(churned, dtype=float) > 0.5
    log_keep = math.log1p(-churn_probability)
    return np.where(dead, (t - 1 - e) * log_keep + math.log(churn_probability),
                    (t - e) * log_keep)


def discrete_weibull_loglik(churn_probability: float, c: float, duration: np.ndarray,
                            churned: np.ndarray, entry: np.ndarray | None = None,
                            ) -> np.ndarray:
    """Per-customer log-likelihood of the discrete Weibull model (the BdW without heterogeneity).

    S(t) = (1-μ)^(t^c) for every customer; a churner contributes log(S(t-1) - S(t)), a
    current customer log S(t), both minus log S(e) for delayed entry.
    """
    t = np.asarray(duration, dtype=float)
    e = _entry_array(entry, t)
    dead = np.asarray(churned, dtype=float) > 0.5
    log_keep = math.log1p(-churn_probability)
    u1, u0, ue = np.power(t, c), np.power(t - 1, c), np.power(e, c)
    churner = u0 * log_keep + _log1mexp(np.minimum((u1 - u0) * log_keep, 0.0))
    return np.where(dead, churner, u1 * log_keep) - ue * log_keep


def _shaped(values: np.ndarray, like: ArrayLike, name: str) -> float | np.ndarray | pd.Series:
    """A float for a scalar input, a Series on the input's index, or an array."""
    if isinstance(like, pd.Series):
        return pd.Series(np.asarray(values, dtype=float), index=like.index, name=name)
    values = np.asarray(values, dtype=float)
    return float(values) if values.ndim == 0 else values


#: A fit whose log-likelihood beats the no-heterogeneity limit's by less than this is at
#: the boundary (a likelihood-ratio statistic of 2e-4: no evidence of heterogeneity).
_BOUNDARY_GAIN = 1e-4
#: ... and so is any fit with alpha + beta above this (the spread of θ is then < 1e-8).
_BOUNDARY_SIZE = 1e8
#: A fit with alpha + beta below this is at the other edge: θ is 0 or 1 for every customer.
_POLARISED_SIZE = 1e-6


class _DurationModel(Model):
    """Shared data rules and survival-based predictions of the contractual models.

    The data may carry an optional ``entry`` column (delayed entry, left truncation): the
    tenure from which a customer is observed. Each customer's likelihood is then
    conditional on survival to her entry (divided by S(entry)), which is what a snapshot
    table (customers present in a window, whatever their start date) needs; without it
    such a table over-represents long-lived customers.
    """

    data_columns: ClassVar[tuple[str, ...]] = ("duration", "churned")
    integer_columns: ClassVar[tuple[str, ...]] = ("duration",)
    convergence_remedies: ClassVar[str] = (
        "check that duration counts whole renewal periods since acquisition and churned "
        "marks the customers who left; if customers are observed only from a later tenure "
        "(a snapshot table), pass their entry times in an 'entry' column; pool cohorts or "
        "periods to get more churners; or pass initial_params near plausible values "
        "(alpha and beta of order 1) and raise max_iter")

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
        entry_times(data)

    def _unique_rows(self, data: pd.DataFrame, w: np.ndarray) -> tuple[Columns, np.ndarray]:
        """Distinct (duration, churned, entry) rows with their total weights."""
        frame = pd.DataFrame({
            "duration": pd.to_numeric(data["duration"]).to_numpy(dtype=float),
            "churned": (pd.to_numeric(data["churned"]).to_numpy(dtype=float) > 0.5
                        ).astype(float),
            "entry": entry_times(data), "__w": w})
        grouped = frame[w > 0].groupby(["duration", "churned", "entry"], sort=True)["__w"].sum()
        index = grouped.index.to_frame(index=False)
        cols = {c: index[c].to_numpy(dtype=float) for c in ("duration", "churned", "entry")}
        return cols, grouped.to_numpy(dtype=float)

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        churned = np.asarray(cols["churned"], dtype=float) > 0
        observed = np.asarray(cols["duration"]) - np.asarray(cols["entry"])
        if not churned.any():
            return ("no customer churned, so nothing is known about how long customers stay "
                    "(the retention estimate would run off to 100%). Wait for renewals to be "
                    "observed, or report the observed retention without a model")
        n_churned = float(weights @ churned)
        k = len(self.param_names)
        if n_churned < k:
            return (f"only {n_churned:g} customer{'s' if n_churned != 1 else ''} churned, too "
                    f"few for the {k} parameters of the model. Wait for more renewals, pool "
                    "cohorts or periods, or report the observed retention without a model")
        if churned.all() and np.all(observed == 1):
            return ("every customer churned at the first renewal observed, so nobody is seen "
                    "to stay and the churn model is not identified. Report the observed churn "
                    "instead")
        if np.all(observed <= 1) and len(np.unique(cols["entry"])) == 1:
            return ("every customer was observed for a single renewal, so the data show the "
                    "churn rate at that renewal but not how churn changes with tenure or "
                    "differs between customers. Wait for more renewals, or report the "
                    "observed churn rate")
        return None

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # sBG mean churn at the first renewal is α/(α+β): start at α = 1 and β from the
        # share of customers who left at the first renewal they were observed at.
        first_seen = cols["duration"] - cols["entry"] == 1
        first = float(weights @ (first_seen & (cols["churned"] > 0.5)))
        share = min(max(first / float(weights @ first_seen) if first_seen.any() else 0.0,
                        0.02), 0.98)
        start = [1.0, (1 - share) / share]
        return np.array(start + [1.0] * (len(self.param_names) - 2))

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _limit_loglik(self, limit: np.ndarray, cols: Columns) -> np.ndarray:
        """Per-row log-likelihood of the no-heterogeneity limit at (μ, [c])."""
        raise NotImplementedError

    def _fit_limit(self, cols: Columns, weights: np.ndarray) -> tuple[np.ndarray, float]:
        """Maximum-likelihood (μ, [c]) of the no-heterogeneity limit and its log-likelihood."""
        raise NotImplementedError

    def _boundary_sentence(self, limit: np.ndarray) -> str:
        raise NotImplementedError

    def fit(self, data: pd.DataFrame, *, weights: str | Sequence[float] | np.ndarray | None = None,
            ) -> Self:
        """Fit the model by maximum likelihood, or return its no-heterogeneity limit.

        Parameters
        ----------
        data : DataFrame
            One row per customer (or per distinct history, with ``weights``) with
            ``duration`` and ``churned`` and, optionally, ``entry``: the tenure from which
            the customer is observed (delayed entry; default 0). A snapshot table needs
            it (see :func:`retention_kit.diagnostics.snapshot_findings`).
        weights : str or array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Notes
        -----
        When customers do not measurably differ in their churn propensity, the
        likelihood is largest as α, β → ∞ with α/(α+β) fixed: the geometric model (sBG)
        or the discrete Weibull (BdW). The fit then compares with that limit, fitted
        directly, and if the limit is at least as good (log-likelihood within 1e-4, or
        α+β > 1e8) it returns the limit: ``boundary_`` says so in a sentence,
        ``loglik_`` is the limit's, the parameters are stored as α+β = 1e15 with the
        limit's mean (so predictions are the limit's) and their standard errors are NaN.
        """
        self._check_options()
        self._validated(data, weights if isinstance(weights, str) else None)
        cols, uw, n_obs = self._fit_inputs(data, weights)
        limit, limit_ll = self._fit_limit(cols, uw)
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                super().fit(data, weights=weights)
        except ConvergenceError:
            if not self._limit_is_maximum(limit, limit_ll, cols, uw):
                raise
            self._store_limit(limit, limit_ll, cols, uw, n_obs, data)
            return self
        alpha, beta = float(self.params_["alpha"]), float(self.params_["beta"])
        if alpha + beta > _BOUNDARY_SIZE or self.loglik_ < limit_ll + _BOUNDARY_GAIN:
            self._store_limit(limit, limit_ll, cols, uw, n_obs, data)
            return self
        if alpha + beta < _POLARISED_SIZE:
            mu = alpha / (alpha + beta)
            self.boundary_ = (
                f"The customers split into two groups: the likelihood is largest as alpha and "
                f"beta shrink to 0, the limit in which a share {mu:.4g} of the customers "
                f"churns at the first renewal and the others never churn. Retention after "
                f"the first renewal cannot be told apart from 100% with these data; the "
                f"standard errors are not meaningful there.")
            return self
        for message in caught:
            warnings.warn_explicit(message.message, message.category, message.filename,
                                   message.lineno)
        return self

    def _limit_is_maximum(self, limit: np.ndarray, limit_ll: float, cols: Columns,
                          uw: np.ndarray) -> bool:
        """No interior point tried beats the limit: the start values, and the limit's mean
        (and c) with α+β from 0.1 to 1e6 (a failed interior fit is not taken for a
        boundary when heterogeneity clearly helps)."""
        mu = float(limit[0])
        candidates = [self._start_values(cols, uw)] + [
            np.array([mu * size, (1 - mu) * size, *limit[1:]])
            for size in (0.1, 1.0, 10.0, 100.0, 1e4, 1e6)]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            inside = [float(uw @ self._loglik_grad(p, cols)[0]) for p in candidates]
        best = max((v for v in inside if math.isfinite(v)), default=-math.inf)
        return bool(best <= limit_ll + _BOUNDARY_GAIN)

    def _store_limit(self, limit: np.ndarray, limit_ll: float, cols: Columns, uw: np.ndarray,
                     n_obs: float, data: pd.DataFrame) -> None:
        mu = float(limit[0])
        params = np.array([mu * LIMIT_SIZE, (1 - mu) * LIMIT_SIZE, *limit[1:]])
        k = len(self.param_names)
        n_iter = getattr(self, "n_iter_", 0) if hasattr(self, "params_") else 0
        self._store_fit(params, np.eye(k), cols, uw, n_obs, converged=True,
                        n_iter=int(n_iter), time_unit=data.attrs.get("time_unit"))
        names = list(self.param_names)
        self.loglik_ = float(limit_ll)
        self._cov_log = np.full((k, k), math.nan)
        self.cov_ = pd.DataFrame(self._cov_log.copy(), index=names, columns=names)
        self.se_ = pd.Series(math.nan, index=names, name="std_error")
        self.boundary_ = self._boundary_sentence(limit)

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
        return sbg_loglik_grad(params, cols["duration"], cols["churned"], cols.get("entry"))

    def _fit_limit(self, cols: Columns, weights: np.ndarray) -> tuple[np.ndarray, float]:
        # Geometric: μ = churners / periods observed (closed form).
        exposure = float(weights @ (cols["duration"] - cols["entry"]))
        mu = float(weights @ (cols["churned"] > 0.5)) / exposure
        ll = geometric_loglik(mu, cols["duration"], cols["churned"], cols["entry"])
        return np.array([mu]), float(weights @ ll)

    def _boundary_sentence(self, limit: np.ndarray) -> str:
        return (f"The customers do not measurably differ in their churn propensity: the "
                f"likelihood is largest as alpha and beta grow without bound, the geometric "
                f"model in which every customer churns with the same probability "
                f"{float(limit[0]):.4g} at each renewal (alpha/(alpha+beta)), so retention "
                f"does not rise with tenure. Predictions use that limit.")

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
        return bdw_loglik_grad(params, cols["duration"], cols["churned"], cols.get("entry"))

    def _fit_limit(self, cols: Columns, weights: np.ndarray) -> tuple[np.ndarray, float]:
        # Discrete Weibull: maximise over (log λ, log c) with S(t) = exp(-λ·t^c), from the
        # geometric estimate at c = 1; μ = 1 - exp(-λ).
        exposure = float(weights @ (cols["duration"] - cols["entry"]))
        rate = float(weights @ (cols["churned"] > 0.5)) / exposure

        def minus_ll(theta: np.ndarray) -> float:
            mu = -math.expm1(-math.exp(theta[0]))
            if not 0 < mu < 1:
                return math.inf
            ll = discrete_weibull_loglik(mu, math.exp(theta[1]), cols["duration"],
                                         cols["churned"], cols["entry"])
            value = -float(weights @ ll)
            return value if math.isfinite(value) else math.inf

        theta = np.array([math.log(-math.log1p(-rate)), 0.0])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = optimize.minimize(minus_ll, theta, method="Nelder-Mead",
                                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
            res = optimize.minimize(minus_ll, res.x, method="BFGS", options={"gtol": 1e-9})
        mu, c = -math.expm1(-math.exp(res.x[0])), math.exp(res.x[1])
        return np.array([mu, c]), -float(res.fun)

    def _boundary_sentence(self, limit: np.ndarray) -> str:
        mu, c = (float(v) for v in limit)
        trend = ("falls" if c < 1 else "rises") + " with tenure" if abs(c - 1) > 1e-3 else (
            "stays the same at every tenure")
        return (f"The customers do not measurably differ in their churn propensity: the "
                f"likelihood is largest as alpha and beta grow without bound, the discrete "
                f"Weibull model S(t) = (1 - {mu:.4g})^(t^{c:.4g}) shared by every customer "
                f"(churn propensity {trend}, c = {c:.4g}). Predictions use that limit.")

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
