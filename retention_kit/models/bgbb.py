"""BG/BB: buy-till-you-die model for non-contractual settings in discrete time.

Beta-geometric/beta-Bernoulli model (Fader, Hardie & Shang 2010, "Customer-base analysis
in a discrete-time noncontractual setting", *Marketing Science* 29(6), 1086-1108; FHS
below). Transactions can only happen at discrete opportunities (an annual donation drive,
a weekly event, a conference): in every period a customer who is alive transacts with
probability p ~ Beta(α, β) and, at the start of every period after the first, dies with
probability θ ~ Beta(γ, δ), after which she never transacts again.

Data: for each customer ``frequency`` x (number of repeat transaction periods),
``recency`` t_x (the period of the last transaction, 0 if none) and ``n_periods`` n
(the number of transaction opportunities observed after the first transaction), all
whole numbers with ``0 <= x <= t_x <= n``, and x = 0 exactly when t_x = 0.

Every likelihood term is a product of beta-function ratios, computed in log space as
rising factorials (:func:`~retention_kit.models._base.log_beta_ratio`, exact for
parameters up to 1e12) and summed with ``logsumexp``, so histories with thousands of
periods stay finite; the gradient is exact (digamma differences), which is what the fit
uses. Predictions match a 40-digit mpmath reference to 1e-8 with α, β, γ, δ up to 1e8.

Limits and boundary fits
------------------------
A fit whose maximum lies on the edge of the parameter space reports the limiting model
(``boundary_``, ``limit_``; the rule is :data:`~retention_kit.models._base.BOUNDARY_TOLERANCE`:
the limit's maximised log-likelihood within 1e-6 of the full model's) and predicts with it:

* **no dropout**, γ → 0: the beta-Bernoulli model; every customer is alive and transacts
  with probability E[p | x, n] = (α+x)/(α+β+n) in each future period. Stored as
  γ = 1e-12, δ = 1 (not identified).
* **common dropout**, γ, δ → ∞ with θ = γ/(γ+δ) fixed, and **common transaction
  probability**, α, β → ∞ with p = α/(α+β) fixed: no heterogeneity in that process;
  stored with the pair summing to 1e12.
* **transacts every period**, α → ∞: every customer transacted in every period up to her
  last (the 99.5% case that used to give α = 1e82): p = 1 while alive; stored as
  α = 1e12, β = 1.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyp2f1, logsumexp, polygamma

from .._checks import discount_rate as check_discount_rate
from .._checks import first_example, whole
from ..errors import DataError
from ._base import Columns, Limit, Model, digamma_difference, log_beta_ratio, log_pochhammer

__all__ = ["BGBB", "bgbb_loglik", "bgbb_loglik_grad"]

#: Cells of the (customers x terms) work matrices computed at once.
_BLOCK_CELLS = 1_000_000
#: Below this |γ - 1| the closed forms that divide by γ - 1 use a series in γ - 1 instead.
_GAMMA_ONE = 0.05
#: Horizons up to this many periods sum log1p terms instead of differencing gammaln.
_PRODUCT_HORIZON = 4096
#: DERT's 2F1(1, b; c; 1/(1+d)) by its series when c exceeds this (scipy loses digits or
#: returns NaN for large b, c), with at most this many terms (enough for d >= 1e-4).
_HYP_SERIES_FROM = 1e3
_HYP_SERIES_TERMS = 500_000


def bgbb_loglik_grad(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the BG/BB model and its exact gradient.

    FHS 2010 eq. 5::

        L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
            + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)

    The first term is "alive through period n", the i-th term "alive through t_x + i and
    dead before the next opportunity". All terms are summed with ``logsumexp``; the
    gradient is the weighted sum of the terms' log-derivatives (digamma differences).

    Parameters
    ----------
    params : array of 4 floats
        ``alpha, beta, gamma, delta``.
    x, t_x, n : arrays
        Frequency, recency and number of periods (whole numbers, as floats).

    Returns
    -------
    loglik : ndarray (m,)
    grad : ndarray (m, 4)
        d loglik / d (alpha, beta, gamma, delta).

    Examples
    --------
    A customer with no repeat transaction in one period: she is alive and does not buy,
    or she dies at once, so L = β/(α+β) · δ/(γ+δ) + γ/(γ+δ).

    >>> ll, grad = bgbb_loglik_grad(np.array([1.0, 1.0, 1.0, 1.0]),
    ...                             np.array([0.0]), np.array([0.0]), np.array([1.0]))
    >>> float(np.exp(ll[0]))
    0.75
    """
    return _loglik(params, x, t_x, n, gradient=True)


def bgbb_loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                ) -> np.ndarray:
    """Per-customer log-likelihood only (as :func:`bgbb_loglik_grad`, no digamma work)."""
    return _loglik(params, x, t_x, n, gradient=False)[0]


def _loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray, *,
            gradient: bool) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and, if ``gradient``, its gradient (else an (m, 0) array)."""
    x, t_x, n = (np.asarray(v, dtype=float).reshape(-1) for v in (x, t_x, n))
    m = len(x)
    ll = np.empty(m)
    grad = np.empty((m, 4 if gradient else 0))
    if m == 0:
        return ll, grad
    gap = n - t_x
    # Sort by gap so that every block's matrix is only as wide as its longest history.
    order = np.argsort(gap, kind="stable")
    width = gap[order] + 1
    start = 0
    while start < m:
        stop = min(m, start + max(1, _BLOCK_CELLS // int(width[start])))
        while stop - start > 1 and (stop - start) * width[stop - 1] > _BLOCK_CELLS:
            stop = start + max(1, _BLOCK_CELLS // int(width[stop - 1]))
        rows = order[start:stop]
        block_ll, block_grad = _loglik_block(params, x[rows], t_x[rows], n[rows], gradient)
        ll[rows] = block_ll
        grad[rows] = block_grad
        start = stop
    return ll, grad


def _loglik_block(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                  gradient: bool) -> tuple[np.ndarray, np.ndarray]:
    alpha, beta, gamma, delta = (float(v) for v in params)
    width = int(np.max(n - t_x))
    # Column 0: alive through n. Column k >= 1: dies after period t_x + k - 1.
    i = np.arange(width, dtype=float)[None, :]
    m_ab = np.concatenate([(n - x)[:, None], t_x[:, None] - x[:, None] + i], axis=1)
    q_gd = np.concatenate([n[:, None], t_x[:, None] + i], axis=1)
    s_gd = np.concatenate([np.zeros((len(x), 1)), np.ones((len(x), width))], axis=1)
    valid = np.concatenate([np.ones((len(x), 1), bool), i < (n - t_x)[:, None]], axis=1)
    xa = x[:, None]
    # Ratios B(α+x, β+m)/B(α, β) as rising factorials, exact however large α, β are.
    log_terms = (log_beta_ratio(alpha, beta, xa, m_ab)
                 + log_beta_ratio(gamma, delta, s_gd, q_gd))
    log_terms = np.where(valid, log_terms, -np.inf)
    top = logsumexp(log_terms, axis=1)
    ll = top
    if not gradient:
        return ll, np.empty((len(x), 0))
    w = np.exp(log_terms - top[:, None])
    # Digamma differences (the weights w sum to 1), exact however large the parameters.
    d_ab = np.where(valid, digamma_difference(alpha + beta, xa + m_ab), 0.0)
    d_gd = np.where(valid, digamma_difference(gamma + delta, s_gd + q_gd), 0.0)
    grad = np.empty((len(x), 4))
    grad[:, 0] = digamma_difference(alpha, x) - np.sum(w * d_ab, axis=1)
    grad[:, 1] = np.sum(w * (np.where(valid, digamma_difference(beta, m_ab), 0.0) - d_ab),
                        axis=1)
    grad[:, 2] = np.sum(w * (digamma_difference(gamma, s_gd) - d_gd), axis=1)
    grad[:, 3] = np.sum(w * (np.where(valid, digamma_difference(delta, q_gd), 0.0) - d_gd),
                        axis=1)
    return ll, grad


def _log_sum_alive(gamma: float, delta: float, n: np.ndarray, horizon: int) -> np.ndarray:
    """log Σ_{s=1}^{horizon} B(γ, δ+n+s)/B(γ, δ): expected periods alive in (n, n+horizon].

    Closed form by telescoping (FHS 2010 eqs. 8 and 13), with a = δ+n+1, ε = γ-1, h the
    horizon and R = Γ(a+ε)Γ(a+h) / (Γ(a)Γ(a+ε+h))::

        Σ = Γ(γ+δ)/Γ(δ) · [Γ(δ+n+1)/Γ(γ+δ+n) - Γ(δ+n+h+1)/Γ(γ+δ+n+h)] / (γ-1)
          = Γ(γ+δ)/Γ(δ) · Γ(a)/Γ(a+ε) · (1 - R) / ε

    1 - R cancels digits when R is close to 1 (γ near 1, or n large next to h), so:

    * |ε| < 0.05: (1 - R)/ε from the series log R / ε = -Σ_{k>=1} ε^(k-1)/k! ·
      [ψ^(k-1)(a+h) - ψ^(k-1)(a)] (exact at γ = 1);
    * h <= 4096: log R = Σ_{j<h} log1p(-ε/(a+ε+j)), a sum without cancellation;
    * otherwise log R from ``gammaln`` differences (R is then far enough from 1).
    """
    n = np.asarray(n, dtype=float)
    eps = gamma - 1.0
    a = delta + n + 1
    # Γ(γ+δ)/Γ(δ) · Γ(a)/Γ(γ+δ+n) = (δ)_(n+1) / (γ+δ)_n: rising factorials of length n,
    # exact however large γ and δ are.
    head = log_pochhammer(delta, n + 1) - log_pochhammer(gamma + delta, n)
    if abs(eps) < _GAMMA_ONE:
        ratio = np.zeros_like(a)  # -log(R)/ε > 0
        scale = 1.0
        for k in range(1, 20):
            scale = scale * (eps if k > 1 else 1.0) / k
            ratio = ratio + scale * (polygamma(k - 1, a + horizon) - polygamma(k - 1, a))
        log_r = -eps * ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            expm1_over = np.where(log_r == 0, 1.0,
                                  np.expm1(log_r) / np.where(log_r == 0, 1.0, log_r))
        return head + np.log(ratio) + np.log(expm1_over)
    if horizon <= _PRODUCT_HORIZON:
        flat = a.reshape(-1)
        log_r = np.empty(flat.shape)
        j = np.arange(horizon, dtype=float)[None, :]
        step = max(1, _BLOCK_CELLS // horizon)
        for lo in range(0, len(flat), step):
            rows = flat[lo:lo + step, None]
            log_r[lo:lo + step] = np.sum(np.log1p(-eps / (rows + eps + j)), axis=1)
        log_r = log_r.reshape(a.shape)
    else:
        log_r = log_pochhammer(a, eps) - log_pochhammer(a + horizon, eps)
    return head + np.log(-np.expm1(log_r) / eps)


def _log_hyp_one(b: np.ndarray, c: np.ndarray, discount_rate: float) -> np.ndarray:
    """log of 2F1(1, b; c; 1/(1+d)) (Σ_k (b)_k/(c)_k (1+d)^-k), with d = 0 allowed.

    At d = 0 the series converges only if c - b > 1, to (c-1)/(c-1-b); otherwise it is
    infinite.
    """
    b, c = np.broadcast_arrays(np.asarray(b, float), np.asarray(c, float))
    if discount_rate == 0:
        excess = c - 1 - b
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(excess > 0, np.log(c - 1) - np.log(np.where(excess > 0, excess, 1.0)),
                            np.inf)
    z = 1.0 / (1.0 + discount_rate)
    with np.errstate(all="ignore"):
        out = np.log(hyp2f1(1.0, b, c, z))
    # scipy's hyp2f1 fails (NaN) or loses digits when b and c are large (a large delta);
    # there the series of positive terms, whose ratio (b+k)/(c+k)·z is at most z, is summed.
    redo = ~np.isfinite(out) | (c > _HYP_SERIES_FROM)
    if redo.any():
        out[redo] = _log_hyp_one_series(b[redo], c[redo], z)
    return out


def _log_hyp_one_series(b: np.ndarray, c: np.ndarray, z: float) -> np.ndarray:
    """log Σ_k (b)_k/(c)_k z^k by summing the terms (positive, ratio below z < 1)."""
    total = np.ones_like(b)
    term = np.ones_like(b)
    for k in range(_HYP_SERIES_TERMS):
        term = term * (b + k) / (c + k) * z
        total += term
        if k % 16 == 0 and not np.any(term > 1e-17 * total):
            break
    return np.log(total)


#: Where a boundary fit puts the parameters that run to the edge: gamma = NO_DROPOUT_GAMMA
#: (delta = 1) without dropout; a pair summing to HOMOGENEOUS_KAPPA for a common
#: probability (the likelihood there equals the limit's to ~1e-12 per customer).
NO_DROPOUT_GAMMA = 1e-12
HOMOGENEOUS_KAPPA = 1e12
#: A limit is fitted and compared when the estimate comes near it (and whenever the fit
#: fails): gamma below NEAR_NO_DROPOUT; a pair summing to more than NEAR_COMMON (the
#: probability varies by a coefficient of variation below about 1/sqrt(50)); alpha above
#: NEAR_COMMON and NEAR_COMMON times beta (p above 0.98 for almost everyone).
NEAR_NO_DROPOUT = 0.1
NEAR_COMMON = 50.0


def _pair_from_odds(eta: np.ndarray, at: int) -> tuple[np.ndarray, np.ndarray]:
    """Three limit parameters -> four, with the pair at ``at`` summing to HOMOGENEOUS_KAPPA
    in the ratio eta[at] (odds); the Jacobian of the log-parameters."""
    odds = eta[at]
    q = odds / (1 + odds)
    others = [float(v) for i, v in enumerate(eta) if i != at]
    pair = [HOMOGENEOUS_KAPPA * q, HOMOGENEOUS_KAPPA * (1 - q)]
    full = np.array(pair + others if at == 0 else others + pair)
    jac = np.zeros((4, 3))
    rows = (0, 1) if at == 0 else (2, 3)
    jac[rows[0], at], jac[rows[1], at] = 1 - q, -q
    rest = [i for i in range(4) if i not in rows]
    cols = [i for i in range(3) if i != at]
    for r, c in zip(rest, cols, strict=True):
        jac[r, c] = 1.0
    return full, jac


def _beta_bernoulli_loglik_grad(eta: np.ndarray, x: np.ndarray, n: np.ndarray,
                                ) -> tuple[np.ndarray, np.ndarray]:
    """BG/BB without dropout: x transactions in n periods, p ~ Beta(α, β)."""
    alpha, beta = eta
    ll = log_beta_ratio(alpha, beta, x, n - x)
    psi_all = digamma(alpha + beta) - digamma(alpha + beta + n)
    grad = np.column_stack([digamma(alpha + x) - digamma(alpha) + psi_all,
                            digamma(beta + n - x) - digamma(beta) + psi_all])
    return ll, grad


class BGBB(Model):
    """Beta-geometric/beta-Bernoulli model (Fader, Hardie & Shang 2010).

    Parameters are ``alpha, beta`` (Beta heterogeneity of the per-period transaction
    probability p) and ``gamma, delta`` (Beta heterogeneity of the per-period dropout
    probability θ). The data are ``frequency``, ``recency`` and ``n_periods`` (whole
    periods). See :class:`~retention_kit.models._base.Model` for the options.

    Examples
    --------
    The donations data of FHS 2010 (22 distinct histories of 11,104 donors, six annual
    opportunities) reproduce the published estimates and log-likelihood:

    >>> from retention_kit.datasets import load_donations
    >>> donations = load_donations()
    >>> model = BGBB().fit(donations, weights="weights")
    >>> model.params_.round(3).tolist(), round(model.loglik_, 1)
    ([1.204, 0.75, 0.657, 2.783], -33225.6)
    >>> model
    BGBB(alpha=1.204, beta=0.7497, gamma=0.6567, delta=2.783; n=11,104, loglik=-33225.58)
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "n_periods")
    integer_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "n_periods")
    convergence_remedies: ClassVar[str] = (
        "check that frequency counts periods with a transaction and n_periods the "
        "opportunities after the first one, use more periods of data (dropout needs time "
        "to show), pass initial_params near plausible values or raise max_iter")

    def limits(self) -> tuple[Limit, ...]:
        """No dropout (γ → 0), a common dropout probability (γ, δ → ∞ with θ = γ/(γ+δ)),
        a common transaction probability (α, β → ∞ with p = α/(α+β)) and transactions in
        every period while alive (α → ∞)."""
        eye2 = np.eye(2)
        return (
            Limit("no dropout",
                  "gamma → 0: the data cannot identify dropout (nobody is seen to leave); this "
                  "is the beta-Bernoulli model without dropout, every customer is alive and "
                  "delta is not identified",
                  ("alpha", "beta"),
                  lambda eta: (np.array([eta[0], eta[1], NO_DROPOUT_GAMMA, 1.0]),
                               np.vstack([eye2, np.zeros((2, 2))])),
                  lambda full: full[:2],
                  near=lambda full: full[2] < NEAR_NO_DROPOUT,
                  loglik_grad=lambda eta, cols: _beta_bernoulli_loglik_grad(
                      eta, cols["frequency"], cols["n_periods"])),
            Limit("common dropout",
                  "gamma, delta → ∞ with theta = gamma/(gamma+delta) fixed: the data show no "
                  "heterogeneity in dropout; every customer drops out with the same "
                  "probability theta a period, and gamma, delta themselves are not identified",
                  ("alpha", "beta", "odds"),
                  lambda eta: _pair_from_odds(eta, 2),
                  lambda full: np.array([full[0], full[1], full[2] / full[3]]),
                  near=lambda full: full[2] + full[3] > NEAR_COMMON),
            Limit("common transaction probability",
                  "alpha, beta → ∞ with p = alpha/(alpha+beta) fixed: the data show no "
                  "heterogeneity in how often customers transact; every customer alive "
                  "transacts with the same probability p a period",
                  ("odds", "gamma", "delta"),
                  lambda eta: _pair_from_odds(eta, 0),
                  lambda full: np.array([full[0] / full[1], full[2], full[3]]),
                  near=lambda full: full[0] + full[1] > NEAR_COMMON),
            Limit("transacts every period",
                  "alpha → ∞: every customer transacted in every period until her last one, "
                  "so the data say a customer alive transacts in every period (p = 1); only "
                  "dropout is estimated, and alpha, beta are not identified",
                  ("gamma", "delta"),
                  lambda eta: (np.array([HOMOGENEOUS_KAPPA, 1.0, eta[0], eta[1]]),
                               np.vstack([np.zeros((2, 2)), eye2])),
                  lambda full: full[2:],
                  near=lambda full: full[0] > NEAR_COMMON and full[0] > NEAR_COMMON * full[1]),
        )

    # ------------------------------------------------------------------ model definition

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        return bgbb_loglik_grad(params, cols["frequency"], cols["recency"], cols["n_periods"])

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        x, n = np.asarray(cols["frequency"]), np.asarray(cols["n_periods"])
        if not np.any(x > 0):
            return ("no customer made a repeat transaction, so the transaction and dropout "
                    "processes cannot be told apart. More periods of data would fix it")
        if np.all(x == n):
            return ("every customer transacted in every period, so nobody is seen to drop "
                    "out and the dropout process is not identified (the estimates would run "
                    "off to infinity). More periods, or customers who skip periods, would fix it")
        return None

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # Transaction probability: share of the periods up to the last transaction that
        # had one; Beta(α, β) with that mean and α + β = 2. Dropout: γ = δ = 1.
        active = float(weights @ cols["frequency"])
        periods = float(weights @ cols["recency"])
        p = min(max(active / periods, 0.05), 0.95) if periods > 0 else 0.5
        return np.array([2 * p, 2 * (1 - p), 1.0, 1.0])

    def _check_data(self, data: pd.DataFrame) -> None:
        cols = list(self.data_columns)
        x, t_x, n = (pd.to_numeric(data[c]).to_numpy(dtype=float) for c in cols)
        rules = [
            (n < t_x, "n_periods < recency: the last transaction is after the last period "
             "observed", "recency is the period of the last transaction (1..n_periods) and "
             "n_periods the number of transaction opportunities observed; count both from the "
             "same first period and end"),
            (x > t_x, "frequency > recency: more transaction periods than periods up to the "
             "last transaction", "in discrete time a customer transacts at most once a period, "
             "so frequency counts periods with a transaction and cannot exceed recency"),
            ((x == 0) & (t_x > 0), "frequency is 0 but recency is positive",
             "recency is 0 exactly when there is no repeat transaction; rebuild the summary"),
        ]
        for bad, problem, fix in rules:
            if bad.any():
                raise DataError(problem, n_rows=int(bad.sum()),
                                example=first_example(data, bad, cols), fix=fix)

    # ------------------------------------------------------------------ helpers

    def _no_dropout(self) -> bool:
        return getattr(self, "limit_", None) == "no dropout"

    def _history(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray, np.ndarray]:
        """Unique histories (x, t_x, n), their log-likelihood, and the map back to rows."""
        cols = self._columns(data)
        stacked = np.column_stack([cols[c] for c in self.data_columns])
        unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
        x, t_x, n = unique.T
        ll = bgbb_loglik(np.array(self._param_tuple()), x, t_x, n)
        return x, t_x, n, ll, inverse.reshape(-1)

    # ------------------------------------------------------------------ predictions

    def probability_alive(self, data: pd.DataFrame, t: int = 0) -> pd.Series:
        """P(alive at period n + 1 + t) given each history.

        FHS 2010 eq. 11 (t = 0)::

            P(alive in n+1 | x, t_x, n) = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L

        For ``t > 0``, B(γ, δ+n+1+t) replaces B(γ, δ+n+1): the probability of being alive
        at opportunity n + 1 + t, whatever happens in between. (lifetimes'
        ``conditional_probability_alive(m, ...)`` is alive at n + m: its m is our t + 1.)

        Parameters
        ----------
        data : DataFrame
            ``frequency``, ``recency``, ``n_periods``.
        t : int, default 0
            Periods after the next opportunity (whole number, >= 0).

        Returns
        -------
        Series on ``data``'s index, values in (0, 1].

        Examples
        --------
        >>> from retention_kit.datasets import load_donations
        >>> model = BGBB().fit(load_donations(), weights="weights")
        >>> h = pd.DataFrame({"frequency": [6, 3, 0], "recency": [6, 3, 0],
        ...                   "n_periods": [6, 6, 6]})
        >>> model.probability_alive(h).round(3).tolist()
        [0.93, 0.095, 0.108]
        """
        horizon = whole("t", t, minimum=0, unit="periods")
        alpha, beta, gamma, delta = self._param_tuple()
        if self._no_dropout():
            self._columns(data)
            return self._series(np.ones(len(data)), data, "probability_alive")
        x, _, n, ll, inverse = self._history(data)
        log_p = (log_beta_ratio(alpha, beta, x, n - x)
                 + log_beta_ratio(gamma, delta, 0.0, n + 1 + horizon) - ll)
        return self._series(np.exp(log_p)[inverse], data, "probability_alive")

    def expected_purchases(self, data: pd.DataFrame, t: int) -> pd.Series:
        """Expected transactions in the next ``t`` opportunities, given each history.

        FHS 2010 eq. 13::

            E[X(n, n+t) | x, t_x, n] = 1/L · B(α+x+1, β+n-x)/B(α,β) · δ/(γ-1)
                · Γ(γ+δ)/Γ(1+δ) · [Γ(1+δ+n)/Γ(γ+δ+n) - Γ(1+δ+n+t)/Γ(γ+δ+n+t)]

        (near γ = 1, where the division by γ-1 would lose digits, the bracket is
        expanded in powers of γ-1; it stays exact at γ = 1).

        Parameters
        ----------
        data : DataFrame
            ``frequency``, ``recency``, ``n_periods``.
        t : int
            Number of future opportunities (whole number, >= 1).

        Returns
        -------
        Series on ``data``'s index.

        Examples
        --------
        >>> from retention_kit.datasets import load_donations
        >>> model = BGBB().fit(load_donations(), weights="weights")
        >>> h = pd.DataFrame({"frequency": [6, 3, 0], "recency": [6, 3, 0],
        ...                   "n_periods": [6, 6, 6]})
        >>> model.expected_purchases(h, 5).round(3).tolist()
        [3.753, 0.224, 0.073]
        """
        horizon = whole("t", t, minimum=1, unit="periods")
        alpha, beta, gamma, delta = self._param_tuple()
        if self._no_dropout():  # alive for sure: t periods at the posterior mean of p
            cols = self._columns(data)
            mean_p = (alpha + cols["frequency"]) / (alpha + beta + cols["n_periods"])
            return self._series(horizon * mean_p, data, "expected_purchases")
        x, _, n, ll, inverse = self._history(data)
        log_e = (log_beta_ratio(alpha, beta, x + 1, n - x)
                 + _log_sum_alive(gamma, delta, n, horizon) - ll)
        return self._series(np.exp(log_e)[inverse], data, "expected_purchases")

    def expected_residual_lifetime(self, data: pd.DataFrame, discount_rate: float) -> pd.Series:
        """Discounted expected residual transactions (DERT) of each customer.

        FHS 2010 eq. 14::

            DERT(d | x, t_x, n) = B(α+x+1, β+n-x)/B(α,β) · B(γ, δ+n+1)/((1+d) B(γ,δ))
                                  · 2F1(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L

        that is Σ_{s>=1} E[transaction at opportunity n+s | history] / (1+d)^s: the
        transaction at the next opportunity is discounted by one period, and the value is
        in "transactions"; multiply by the margin per transaction for a residual value.

        Parameters
        ----------
        data : DataFrame
            ``frequency``, ``recency``, ``n_periods``.
        discount_rate : float
            Discount rate *per period* (per transaction opportunity): an annual rate for
            annual opportunities, e.g. 0.1 for 10%. With 0 the sum is the expected number of
            remaining transactions, finite only if γ > 1 (infinite otherwise).

        Returns
        -------
        Series on ``data``'s index.

        Examples
        --------
        >>> from retention_kit.datasets import load_donations
        >>> model = BGBB().fit(load_donations(), weights="weights")
        >>> h = pd.DataFrame({"frequency": [6, 3, 0], "recency": [6, 3, 0],
        ...                   "n_periods": [6, 6, 6]})
        >>> model.expected_residual_lifetime(h, 0.1).round(3).tolist()
        [5.91, 0.352, 0.115]
        """
        d = check_discount_rate(discount_rate, allow_one=True)
        alpha, beta, gamma, delta = self._param_tuple()
        if self._no_dropout():  # Σ_s E[p | history] / (1+d)^s
            cols = self._columns(data)
            mean_p = (alpha + cols["frequency"]) / (alpha + beta + cols["n_periods"])
            value = mean_p / d if d > 0 else np.full(len(data), np.inf)
            return self._series(value, data, "expected_residual_lifetime")
        x, _, n, ll, inverse = self._history(data)
        log_v = (log_beta_ratio(alpha, beta, x + 1, n - x)
                 + log_beta_ratio(gamma, delta, 0.0, n + 1) - np.log1p(d)
                 + _log_hyp_one(delta + n + 1, gamma + delta + n + 1, d) - ll)
        return self._series(np.exp(log_v)[inverse], data, "expected_residual_lifetime")

    def expected_purchases_new(self, t: int | np.ndarray) -> float | np.ndarray:
        """Expected transactions of a new customer in her first ``t`` opportunities.

        FHS 2010 eq. 8::

            E[X(t)] = α/(α+β) · δ/(γ-1) · [1 - Γ(γ+δ)/Γ(γ+δ+t) · Γ(1+δ+t)/Γ(1+δ)]

        Parameters
        ----------
        t : int or array of int
            Number of opportunities after the first transaction (>= 1).

        Returns
        -------
        float or ndarray (the shape of ``t``).

        Examples
        --------
        >>> from retention_kit.datasets import load_donations
        >>> model = BGBB().fit(load_donations(), weights="weights")
        >>> model.expected_purchases_new([1, 6]).round(3).tolist()
        [0.499, 2.22]
        """
        self._check_fitted()
        alpha, beta, gamma, delta = self._param_tuple()
        horizons = np.asarray(t, dtype=float)
        out = np.empty(horizons.shape)
        for idx, value in np.ndenumerate(horizons):
            h = whole("t", value, minimum=1, unit="periods")
            out[idx] = alpha / (alpha + beta) * (h if self._no_dropout() else np.exp(
                _log_sum_alive(gamma, delta, np.zeros(1), h)[0]))
        return float(out) if out.ndim == 0 else out

    def probability_of_purchases(self, n: int | np.ndarray, t: int) -> float | np.ndarray:
        """P(X(t) = n): probability that a new customer transacts in n of her first t periods.

        FHS 2010 eq. 7::

            P(X(t)=x) = C(t,x) B(α+x, β+t-x)/B(α,β) · B(γ, δ+t)/B(γ,δ)
                        + Σ_{i=x}^{t-1} C(i,x) B(α+x, β+i-x)/B(α,β) · B(γ+1, δ+i)/B(γ,δ)

        Parameters
        ----------
        n : int or array of int
            Number of transactions (>= 0; values above ``t`` have probability 0).
        t : int
            Number of opportunities (>= 1).

        Returns
        -------
        float or ndarray (the shape of ``n``).

        Examples
        --------
        >>> from retention_kit.datasets import load_donations
        >>> model = BGBB().fit(load_donations(), weights="weights")
        >>> p = model.probability_of_purchases(np.arange(7), 6)
        >>> p.round(3).tolist(), round(float(p.sum()), 12)
        ([0.311, 0.17, 0.121, 0.1, 0.092, 0.093, 0.113], 1.0)
        """
        self._check_fitted()
        horizon = whole("t", t, minimum=1, unit="periods")
        counts = np.asarray(n, dtype=float)
        if np.any(~np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"n must be whole numbers >= 0, got {n!r}")
        alpha, beta, gamma, delta = self._param_tuple()
        x = counts.reshape(-1)[:, None]
        inside = x <= horizon
        xs = np.where(inside, x, 0.0)
        first = (gammaln(horizon + 1) - gammaln(xs + 1) - gammaln(horizon - xs + 1)
                 + log_beta_ratio(alpha, beta, xs, horizon - xs)
                 + log_beta_ratio(gamma, delta, 0.0, horizon))
        i = np.arange(horizon, dtype=float)[None, :]
        ok = i >= xs
        ii = np.where(ok, i, xs)
        second = (gammaln(ii + 1) - gammaln(xs + 1) - gammaln(ii - xs + 1)
                  + log_beta_ratio(alpha, beta, xs, ii - xs)
                  + log_beta_ratio(gamma, delta, 1.0, ii))
        if self._no_dropout():  # the beta-binomial: nobody drops out
            second = np.full_like(second, -np.inf)
            first = first - log_beta_ratio(gamma, delta, 0.0, horizon)
        terms = np.concatenate([first, np.where(ok, second, -np.inf)], axis=1)
        out = np.where(inside[:, 0], np.exp(logsumexp(terms, axis=1)), 0.0)
        out = out.reshape(counts.shape)
        return float(out) if out.ndim == 0 else out
