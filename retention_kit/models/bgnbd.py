"""BG/NBD and MBG/NBD: buy-till-you-die models for non-contractual, continuous time.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", *Marketing
Science* 24(2)): while alive a customer buys as a Poisson process with rate
λ ~ Gamma(r, α); after every *repeat* purchase she drops out with probability
p ~ Beta(a, b). MBG/NBD (Batislam, Denizel & Filiztekin 2007, *International Journal of
Research in Marketing* 24(3)) lets her drop out at time 0 too, so a customer with no
repeat purchase can be dead, which fixes BG/NBD's P(alive) = 1 for one-time buyers.

Data: ``frequency`` x (repeat purchases), ``recency`` t_x and ``T`` (same time unit).
All likelihoods are computed in log space; the conditional expectation uses Euler's
transformation of the Gauss hypergeometric function (as in Hardie's note 027) so that it
stays finite for frequency in the thousands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .._checks import positive_numbers
from ._base import Columns, Model, repeat_buyers_problem

__all__ = ["BGNBD", "MBGNBD"]


def _as_float(values: float | np.ndarray | pd.Series) -> np.ndarray:
    return np.asarray(values, dtype=float)


def bgnbd_loglik_grad(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                      *, modified: bool = False,
                      x_groups: tuple[np.ndarray, np.ndarray] | None = None,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of BG/NBD (or MBG/NBD) and its exact gradient.

    BG/NBD (FHL 2005, eq. 6)::

        L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) ·
            [ (α+T)^-(r+x) + δ(x>0) · a/(b+x-1) · (α+t_x)^-(r+x) ]

    MBG/NBD replaces B(a, b+x) by B(a, b+x+1), and the second term by
    ``a/(b+x) · (α+t_x)^-(r+x)`` for every x, including 0.

    ``x_groups`` = (distinct frequencies, index of each row's frequency) lets the
    special functions, which depend on x only, be evaluated once per distinct x.

    Returns the log-likelihood (n,) and its gradient in (r, α, a, b) (n, 4).
    """
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    xu, inv = x_groups if x_groups is not None else np.unique(x, return_inverse=True)
    # Terms depending on the frequency only, on its distinct values.
    head_u = gammaln(r + xu) - gammaln(r) + betaln(a, b + xu + shift) - betaln(a, b)
    psi_ab = digamma(a + b)
    d_r_u = digamma(r + xu) - digamma(r)
    d_a_u = psi_ab - digamma(a + b + xu + shift)
    d_b_u = psi_ab + digamma(b + xu + shift) - digamma(b) - digamma(a + b + xu + shift)
    second_u = np.ones_like(xu, dtype=bool) if modified else xu > 0
    denom_u = np.where(second_u, b + xu - 1 + shift, 1.0)
    log_c_u = np.where(second_u, np.log(a) - np.log(denom_u), -np.inf)
    inv_denom_u = np.where(second_u, 1.0 / denom_u, 0.0)

    log_aT = np.log(alpha + T)
    log_at = np.log(alpha + t_x)
    rx = r + x
    a3 = -rx * log_aT
    a4 = log_c_u[inv] - rx * log_at
    top = np.maximum(a3, a4)
    w3 = np.exp(a3 - top)
    w4 = np.exp(a4 - top)
    total = w3 + w4
    ll = head_u[inv] + r * np.log(alpha) + top + np.log(total)
    w3 /= total
    w4 /= total

    grad = np.empty((len(x), 4))
    grad[:, 0] = d_r_u[inv] + np.log(alpha) - w3 * log_aT - w4 * log_at
    grad[:, 1] = r / alpha - rx * (w3 / (alpha + T) + w4 / (alpha + t_x))
    grad[:, 2] = d_a_u[inv] + w4 / a
    grad[:, 3] = d_b_u[inv] - w4 * inv_denom_u[inv]
    return ll, grad


def _log_odds_dead(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   modified: bool) -> np.ndarray:
    """log of a/(b+x-1) · ((α+T)/(α+t_x))^(r+x): odds that the customer is dead."""
    r, alpha, a, b = params
    denom = b + x - 1 + (1.0 if modified else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (np.log(a) - np.log(np.where(denom > 0, denom, 1.0))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    if modified:
        return log_odds
    return np.where(x > 0, log_odds, -np.inf)


#: Half-width of the window around a = 1 where the expectations are interpolated: their
#: closed forms divide a vanishing bracket by a - 1 (a removable singularity).
_A_ONE = 1e-5


def _across_a_one(f: Callable[..., np.ndarray], params: np.ndarray, *args: Any) -> np.ndarray:
    """``f(params, *args)``, linearly interpolated in ``a`` within ``_A_ONE`` of a = 1.

    The expectations are smooth in ``a``; at a = 1 exactly their formulas are 0/0 (NaN)
    and close to it they lose digits. Interpolating between a = 1 -/+ 1e-5 gives the limit
    with a relative error of about 1e-10.
    """
    a = float(params[2])
    if abs(a - 1.0) >= _A_ONE:
        return f(params, *args)
    lo, hi = np.array(params, dtype=float), np.array(params, dtype=float)
    lo[2], hi[2] = 1.0 - _A_ONE, 1.0 + _A_ONE
    weight = (a - lo[2]) / (2 * _A_ONE)
    return (1 - weight) * f(lo, *args) + weight * f(hi, *args)


def _conditional_expected(params: np.ndarray, t: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                          T: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T]; FHL 2005 eq. 10 (and Batislam et al. for MBG/NBD)."""
    return _across_a_one(_conditional_expected_at, params, t, x, t_x, T, modified)


def _conditional_expected_at(params: np.ndarray, t: np.ndarray, x: np.ndarray,
                             t_x: np.ndarray, T: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T] by the closed form (a != 1).

    ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z) is rewritten by Euler's
    transformation as (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(α+T+t),
    whose parameters stay moderate however large x is.
    """
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    c = a + b + x - 1 + shift
    z = t / (alpha + T + t)
    log1mz = np.log1p(-z)
    hyp = hyp2f1(c - r - x, a - 1, c, z)
    # 1 - (1-z)^(a-1) · F, computed to avoid cancellation for small t.
    bracket = -np.expm1((a - 1) * log1mz + np.log(hyp))
    head = c / (a - 1) * bracket
    return head * expit(-_log_odds_dead(params, x, t_x, T, modified))


def _unconditional_expected(params: np.ndarray, t: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005 eq. 7; Batislam et al. 2007)."""
    return _across_a_one(_unconditional_expected_at, params, t, modified)


def _unconditional_expected_at(params: np.ndarray, t: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(t)] for a new customer by the closed form (a != 1).

    The bracket uses the same Euler transformation as the conditional expectation.
    """
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    z = t / (alpha + t)
    c = a + b - 1 + shift
    hyp = hyp2f1(c - r, a - 1, c, z)
    bracket = -np.expm1((a - 1) * np.log1p(-z) + np.log(hyp))
    # Expected repeat purchases before dropout: E[1/p] = (a+b-1)/(a-1) when a customer
    # can only drop out after a repeat purchase, E[(1-p)/p] = b/(a-1) when also at 0.
    limit = b if modified else a + b - 1
    return limit / (a - 1) * bracket


def _probability_of_purchases(params: np.ndarray, n: np.ndarray, t: np.ndarray,
                              modified: bool) -> np.ndarray:
    """P(X(t) = n) for a new customer (FHL 2005 eq. 8; Batislam et al. 2007 eq. 9)."""
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    log_q = np.log(alpha) - np.log(alpha + t)
    log_p = np.log(t) - np.log(alpha + t)
    nb_term = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * log_q + n * log_p
    first = np.exp(betaln(a, b + n + shift) - betaln(a, b) + nb_term)
    # 1 - sum_{j<n} NBD(j): the NBD survival function, as a regularised incomplete beta.
    from scipy.special import betainc

    tail = betainc(n, r, np.exp(log_p))  # P(NBD >= n) = I_p(n, r)
    # Dropping out right after the n-th repeat purchase (MBG/NBD: also at time 0).
    second_n = np.maximum(n - 1 + shift, 0)
    second = np.where(
        (n > 0) | modified,
        np.exp(betaln(a + 1, b + second_n) - betaln(a, b))
        * np.where(n > 0, tail, 1.0),
        0.0,
    )
    return first + second


class _BGFamily(Model):
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    integer_columns: ClassVar[tuple[str, ...]] = ("frequency",)
    _modified: ClassVar[bool] = False

    def _prepare_columns(self, cols: Columns) -> Columns:
        return {**cols, "x_groups": np.unique(cols["frequency"], return_inverse=True)}

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        return bgnbd_loglik_grad(params, cols["frequency"], cols["recency"], cols["T"],
                                 modified=self._modified, x_groups=cols.get("x_groups"))

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        return repeat_buyers_problem(cols["frequency"], weights)

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # r/alpha = mean purchase rate of repeat purchasing over the customers' ages.
        rate = float(weights @ cols["frequency"]) / max(float(weights @ cols["T"]), 1e-12)
        alpha = 1.0 / max(rate, 1e-6)
        return np.array([1.0, alpha, 1.0, 1.0])

    # ------------------------------------------------------------------ predictions

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
        """Expected repeat purchases in the next ``t`` periods, given each history.

        E[X(T, T+t) | x, t_x, T] (FHL 2005 eq. 10), in the time unit of ``recency``/``T``.

        Parameters
        ----------
        data : DataFrame
            ``frequency``, ``recency``, ``T``.
        t : float
            Forecast horizon (same unit as T), positive.

        Returns
        -------
        Series on ``data``'s index.
        """
        cols = self._columns(data)
        horizon = positive_numbers("t", t)
        values = _conditional_expected(np.array(self._param_tuple()), horizon,
                                       cols["frequency"], cols["recency"], cols["T"],
                                       self._modified)
        return self._series(values, data, "expected_purchases")

    def probability_alive(self, data: pd.DataFrame, t: float = 0.0) -> pd.Series:
        """P(alive) given each history, now (t = 0) or ``t`` periods later.

        P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))
        (FHL 2005 eq. 11; MBG/NBD: a/(b+x) and no δ). With ``t > 0``: the probability of
        being alive at T + t for a customer who makes no purchase until then.

        Returns
        -------
        Series on ``data``'s index, values in (0, 1].
        """
        cols = self._columns(data)
        if not np.isscalar(t) or not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a non-negative number, got {t!r}")
        log_odds = _log_odds_dead(np.array(self._param_tuple()), cols["frequency"],
                                  cols["recency"], cols["T"] + float(t), self._modified)
        return self._series(expit(-log_odds), data, "probability_alive")

    def expected_purchases_new(self, t: float | np.ndarray) -> float | np.ndarray:
        """Expected repeat purchases of a newly acquired customer over (0, t].

        FHL 2005 eq. 7: E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r ·
        2F1(r, b; a+b-1; t/(α+t))].
        """
        self._check_fitted()
        horizon = positive_numbers("t", t)
        out = _unconditional_expected(np.array(self._param_tuple()), horizon, self._modified)
        return float(out) if np.ndim(out) == 0 else out

    def probability_of_purchases(self, n: int | np.ndarray, t: float) -> float | np.ndarray:
        """P(X(t) = n): probability that a new customer makes n repeat purchases by t.

        FHL 2005 eq. 8 (Batislam et al. 2007 for MBG/NBD).
        """
        self._check_fitted()
        counts = np.asarray(n, dtype=float)
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"n must be non-negative integers, got {n!r}")
        out = _probability_of_purchases(np.array(self._param_tuple()), counts,
                                        positive_numbers("t", t), self._modified)
        return float(out) if np.ndim(out) == 0 else out


class BGNBD(_BGFamily):
    """Beta-geometric/NBD model (Fader, Hardie & Lee 2005).

    Parameters are ``r, alpha`` (Gamma heterogeneity of the purchase rate; alpha in
    the time unit of the data) and ``a, b`` (Beta heterogeneity of the dropout
    probability). See :class:`~retention_kit.models._base.Model` for the options.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> cdnow = load_cdnow_summary()
    >>> model = BGNBD().fit(cdnow)
    >>> model.params_.round(3).tolist(), round(model.loglik_, 1)
    ([0.243, 4.414, 0.793, 2.426], -9582.4)
    """

    _modified = False


class MBGNBD(_BGFamily):
    """Modified BG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :class:`BGNBD`, but a customer can also drop out right after the first
    purchase, so one-time buyers are not all certainly alive.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> model = MBGNBD().fit(load_cdnow_summary())
    >>> model.params_.round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    _modified = True
