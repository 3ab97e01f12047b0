"""BG/NBD and MBG/NBD: buy-till-you-die models for non-contractual, continuous time.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", *Marketing
Science* 24(2)): while alive a customer buys as a Poisson process with rate
λ ~ Gamma(r, α); after every *repeat* purchase she drops out with probability
p ~ Beta(a, b). MBG/NBD (Batislam, Denizel & Filiztekin 2007, *International Journal of
Research in Marketing* 24(3)) lets her drop out at time 0 too, so a customer with no
repeat purchase can be dead, which fixes BG/NBD's P(alive) = 1 for one-time buyers.

Data: ``frequency`` x (repeat purchases), ``recency`` t_x and ``T`` (same time unit).

Numerics
--------
All likelihoods are computed in log space, with Beta-function ratios as rising
factorials (:func:`~retention_kit.models._base.log_beta_ratio`), exact for a, b up to
1e12. The expected purchases are P(alive) times the mean over the posterior dropout
probability p ~ Beta(a, b+x) of (1 - (1 + p·t/(α+T))^-(r+x)) / p. For a < 0.99 that mean
is the closed form of FHL (2005) eq. 10 after Euler's transformation (as in Hardie's note
027): ``c/(a-1) · [1 - (1-z)^(a-1) · 2F1(c-r-x, a-1; c; z)]``. That form divides 0 by 0
at a = 1, and for large a its two factors overflow in opposite directions (scipy's
``hyp2f1`` returned -inf at a = 300, b = 918, where the right value is 1.1444993), so from
a = 0.99 on the Beta mean is integrated by Gauss-Legendre quadrature in logit p, laid
out around the log-concave Beta density. Both agree with a 40-digit mpmath reference to
1e-8 on a grid with a, b from 1e-3 to 1e7 and x up to 10,000
(``tests/data/extreme_reference.csv``).

The quadrature's nodes depend on a and b+x only, so they are laid out once per distinct
frequency; the horizons u = t/(α+T) of that frequency (its customers' ages times the
CLV's sub-steps) are many, and when there are at least ``INTERPOLATE_FROM`` of them the
mean (divided by u) is interpolated in log(1+u) from 24 Chebyshev points, accepted only
when the series has converged to rounding (otherwise each horizon is integrated): same
values to about 1e-14 relative, at a fraction of the cost (the marketplace demo's CLV
bootstrap, 200 draws × 12 months × 2,054 distinct (x, T) pairs × 320 nodes, went from
minutes to seconds). ``expected_purchases_draws`` does this for all the draws of a
bootstrap in one call.

Limits and boundary fits
------------------------
The likelihood can be maximised on the edge of the parameter space; a fit then reports
the limiting model (``boundary_``, ``limit_``) and predicts with it:

* **no dropout**, a → 0 (any b): p is 0 for everyone, the model is the NBD (Poisson
  purchases with Gamma rates), every customer is alive, E[X(T, T+t)] = (r+x)/(α+T)·t.
  Typical of short windows in which nobody is seen to leave. Stored as a = 1e-12, b = 1
  (b is not identified), predictions by the NBD formulas.
* **common dropout**, a, b → ∞ with p = a/(a+b) fixed: every customer drops out after a
  purchase with the same probability p. Stored at a + b = 1e12, where the model equals
  the limit to ~1e-12 (predictions and likelihood).
* **split dropout**, a, b → 0 with pi = a/(a+b) fixed: p is 1 for a share pi of the
  customers and 0 for the rest, so pi drop out at the first chance (BG/NBD: at the first
  repeat purchase; MBG/NBD: right after the first purchase, a zero-inflated NBD) and the
  others never. Stored at a + b = 1e-12, predictions by the mixture's own formulas.

Each limit is fitted when the estimate comes near it (a < 0.1; a + b > 50; a + b < 0.1)
and always when the full fit fails.

The rule (see :data:`~retention_kit.models._base.BOUNDARY_TOLERANCE`): a limit is
reported when its maximised log-likelihood is within 1e-6 of the full model's maximum,
i.e. when the optimum is the limit to the optimiser's precision; ``limits_`` keeps the
limits' log-likelihoods for a likelihood-ratio test (for example the 1-year retail log
that gave a = 0.003: 2·(loglik_ − limits_["no dropout"]) below 2.71 says the data do not
reject "no dropout" at 5%).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, hyp2f1

from .._checks import positive_numbers
from ._base import (
    Columns,
    Limit,
    Model,
    PurchaseDraws,
    digamma_difference,
    log_beta_ratio,
    log_pochhammer,
    logconcave_nodes,
    nbd_loglik_grad,
    repeat_buyers_problem,
)

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
    head_u = log_pochhammer(r, xu) + log_beta_ratio(a, b, 0.0, xu + shift)
    d_r_u = digamma_difference(r, xu)
    d_a_u = -digamma_difference(a + b, xu + shift)
    d_b_u = digamma_difference(b, xu + shift) + d_a_u
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
                    + (r + x) * np.log1p((T - t_x) / (alpha + t_x)))
    if modified:
        return log_odds
    return np.where(x > 0, log_odds, -np.inf)


#: From this value of ``a`` on, the expectations integrate over the dropout probability
#: (:func:`_mean_over_dropout`) instead of using the hypergeometric closed form. Below it
#: (a < 1, where the Beta posterior piles up at p = 0) the closed form is exact and cheap;
#: at a = 1 it is 0/0 and for large ``a`` its factors overflow (see the module docstring).
A_QUADRATURE = 0.99


def _dropout_nodes(a: float | np.ndarray, b: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature nodes of p ~ Beta(a_i, b_i) in y = logit p, one problem per entry of
    ``b`` (``a`` one value or one per problem).

    Returns (owner, y, mass): the problem of each node, the node and its weight times
    the density scaled by its value at the mode (normalise by the owner's total mass).
    """
    a = np.broadcast_to(np.asarray(a, dtype=float), np.shape(b))

    def log_f(y: np.ndarray, i: np.ndarray) -> np.ndarray:
        return a[i] * y - (a[i] + b[i]) * np.logaddexp(0.0, y)

    def slope(y: np.ndarray, i: np.ndarray) -> np.ndarray:
        return a[i] - (a[i] + b[i]) * expit(y)

    def curvature(y: np.ndarray, i: np.ndarray) -> np.ndarray:
        return -(a[i] + b[i]) * expit(y) * expit(-y)

    mode = np.log(a) - np.log(b)
    inf = np.full_like(b, np.inf)
    owner, y, w, top = logconcave_nodes(log_f, slope, curvature, -inf, inf, mode)
    return owner, y, w * np.exp(log_f(y, owner) - top[owner])


def _mean_over_dropout(a: float, b: np.ndarray, r: np.ndarray, u: np.ndarray) -> np.ndarray:
    """E[(1 - (1 + p·u)^-r) / p] for p ~ Beta(a, b): purchases until dropout or horizon.

    Given λ and p, a customer alive at the start makes (1 - e^(-λ p t))/p purchases in
    expectation over the next t periods (dropout after each purchase with probability
    p, FHL 2005 appendix); the Gamma mixture over λ (shape r, rate α', u = t/α') turns
    e^(-λ p t) into (1 + p u)^-r. The Beta mixture over p is integrated by the
    log-concave Gauss-Legendre quadrature in y = logit p, where the Beta density
    p^a (1-p)^b is log-concave with its mode at log(a/b), and normalised by the same
    nodes. Used where the hypergeometric closed form overflows (large ``a``); it
    tends to u·r as p → 0 and to 1 - (1+u)^-r as p → 1, so it stays finite everywhere.
    """
    b, r, u = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (b, r, u)))
    shape = b.shape
    b, r, u = b.ravel(), r.ravel(), u.ravel()
    owner, y, mass = _dropout_nodes(a, b)
    v = expit(y) * u[owner]  # p·u; p underflows to 0 far out in a long left tail
    ro = r[owner]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(v > 0, u[owner] * -np.expm1(-ro * np.log1p(v)) / v, u[owner] * ro)
    out = np.bincount(owner, mass * g, minlength=len(b)) / np.bincount(owner, mass,
                                                                      minlength=len(b))
    return out.reshape(shape)


#: Horizons sharing a Beta mixture from which :func:`_mean_over_dropout_rows`
#: interpolates instead of integrating each one.
INTERPOLATE_FROM = 48
#: Chebyshev sizes tried, and the largest |coefficient| of the last four (relative to the
#: largest) that accepts one: the series has converged to rounding there (about 1e-15).
_CHEB_SIZES = (24, 48, 96, 192)
_CHEB_TAIL = 1e-14
#: Horizons × nodes evaluated at once (memory).
_CHUNK = 1 << 21


def _dropout_table(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_dropout_nodes` as tables, one row per problem: p = expit(y) and the
    masses normalised to sum 1, padded with p = 0 and mass 0 to the widest row."""
    owner, y, mass = _dropout_nodes(a, b)
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=len(b))
    column = np.arange(len(owner)) - np.r_[0, np.cumsum(counts)[:-1]][owner[order]]
    p_tab = np.zeros((len(b), max(int(counts.max(initial=0)), 1)))
    m_tab = np.zeros_like(p_tab)
    p_tab[owner[order], column] = expit(y[order])
    m_tab[owner[order], column] = mass[order]
    m_tab /= m_tab.sum(axis=1, keepdims=True)
    return p_tab, m_tab


def _per_purchase_mean(p: np.ndarray, mass: np.ndarray, r: np.ndarray, u: np.ndarray
                       ) -> np.ndarray:
    """Σ_k mass_k · h(p_k·u) with h(v) = (1 - (1+v)^-r)/v (h(0) = r).

    One problem per row: ``p``, ``mass`` (rows, nodes), ``r`` (rows,), ``u`` (rows,
    horizons); returns (rows, horizons).
    """
    out = np.empty(u.shape)
    width = p.shape[1]
    cols = max(1, min(u.shape[1], _CHUNK // width))
    rows = max(1, _CHUNK // (width * cols))
    for i in range(0, u.shape[0], rows):
        ri = slice(i, i + rows)
        for j in range(0, u.shape[1], cols):
            cj = slice(j, j + cols)
            v = u[ri, cj, None] * p[ri, None, :]
            rr = r[ri, None, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                h = np.where(v > 0, -np.expm1(-rr * np.log1p(v)) / v, rr)
            out[ri, cj] = np.einsum("dew,dw->de", h, mass[ri])
    return out


def _mean_over_dropout_rows(p: np.ndarray, mass: np.ndarray, r: np.ndarray, u: np.ndarray
                            ) -> np.ndarray:
    """:func:`_mean_over_dropout` for many horizons u per Beta mixture.

    One problem per row: the nodes of :func:`_dropout_table` (``p``, ``mass``), ``r``
    (rows,) and ``u`` (rows, horizons). The nodes depend on a and b only, so they are
    laid out once per problem (the same nodes as :func:`_mean_over_dropout`'s). With
    m(u) = the mean divided by u, a problem with at least ``INTERPOLATE_FROM`` horizons
    is evaluated at Chebyshev points in s = log(1+u) over its range and interpolated:
    m is analytic in s away from the line Im s = π (where 1 + p·u = 0), so the series
    converges geometrically; it is accepted only when its last coefficients are at
    rounding level (``_CHEB_TAIL``), otherwise (and for few horizons) every horizon is
    integrated. Agrees with the horizon-by-horizon quadrature to about 1e-14 relative.
    """
    n_rows, n_u = u.shape
    if n_u < INTERPOLATE_FROM:
        return u * _per_purchase_mean(p, mass, r, u)
    s = np.log1p(u)
    lo, hi = s.min(axis=1), s.max(axis=1)
    todo = np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, hi))
    coef = np.zeros((n_rows, max(_CHEB_SIZES)))
    fitted = np.zeros(n_rows, dtype=bool)
    for n in _CHEB_SIZES:
        if todo.size == 0 or n >= n_u:
            break
        theta = np.pi * (np.arange(n) + 0.5) / n
        points = ((lo[todo] + hi[todo])[:, None] / 2
                  + (hi[todo] - lo[todo])[:, None] / 2 * np.cos(theta))
        at = _per_purchase_mean(p[todo], mass[todo], r[todo], np.expm1(points))
        c = 2.0 / n * at @ np.cos(np.outer(np.arange(n), theta)).T
        c[:, 0] /= 2
        ok = np.abs(c[:, -4:]).max(axis=1) <= _CHEB_TAIL * np.abs(c).max(axis=1)
        coef[todo[ok], :n] = c[ok]
        fitted[todo[ok]] = True
        todo = todo[~ok]
    out = np.empty(u.shape)
    done = np.flatnonzero(fitted)
    if done.size:
        x = (2 * s[done] - (lo + hi)[done, None]) / (hi - lo)[done, None]
        out[done] = u[done] * _clenshaw(coef[done], x)
    rest = np.flatnonzero(~fitted)
    if rest.size:
        out[rest] = u[rest] * _per_purchase_mean(p[rest], mass[rest], r[rest], u[rest])
    return out


def _clenshaw(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σ_k coef[i, k] T_k(x[i, j]) by Clenshaw's recurrence, one coefficient row per row of
    ``x`` (trailing zero coefficients are skipped)."""
    last = int(np.flatnonzero(coef.any(axis=0)).max(initial=0)) + 1
    x2 = 2 * x
    b1 = np.zeros_like(x)  # b_{k+1}
    b2 = np.zeros_like(x)  # b_{k+2}
    for k in range(last - 1, 0, -1):
        # b_k = c_k + 2x·b_{k+1} - b_{k+2}, written over b_{k+2}
        np.subtract(coef[:, k, None], b2, out=b2)
        b2 += x2 * b1
        b1, b2 = b2, b1
    return coef[:, :1] + x * b1 - b2


def _unique_keys(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Distinct rows of aligned columns (in lexicographic order) and each row's distinct
    row: ``np.unique(np.column_stack(columns), axis=0, return_inverse=True)``, faster."""
    order = np.lexsort(columns[::-1])
    sorted_cols = [col[order] for col in columns]
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for col in sorted_cols:
        new[1:] |= col[1:] != col[:-1]
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return tuple(col[new] for col in sorted_cols), inverse


def _expected_given_alive(params: np.ndarray, t: np.ndarray | float, x: np.ndarray,
                          T: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(T, T+t) | alive at T, x, T]: expected purchases of a customer still alive.

    Given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x) (MBG/NBD: b+x+1), so this is
    :func:`_mean_over_dropout` at those values, with u = t/(α+T). For a < ``A_QUADRATURE``
    the closed form (FHL 2005 eq. 10)::

        c/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; c; z)],  c = a+b+x-1,

    rewritten by Euler's transformation as ``c/(a-1) · [1 - (1-z)^(a-1) ·
    2F1(c-r-x, a-1; c; z)]``, z = t/(α+T+t), whose parameters stay moderate however
    large x is. Each distinct (x, T) pair is computed once; for a ≥ ``A_QUADRATURE``
    the nodes once per distinct x (see :func:`_mean_over_dropout_rows`).
    """
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    x, T, t = np.broadcast_arrays(_as_float(x), _as_float(T), _as_float(t))
    (xu, Tu, tu), inverse = _unique_keys(x.ravel(), T.ravel(), t.ravel())
    if a >= A_QUADRATURE:
        # keys are sorted by frequency: one Beta mixture per run of equal frequencies
        xs, first, size = np.unique(xu, return_index=True, return_counts=True)
        p_tab, m_tab = _dropout_table(np.full(len(xs), a), b + xs + shift)
        u = tu / (alpha + Tu)
        values = np.empty(len(xu))
        for g, (start, n) in enumerate(zip(first, size, strict=True)):
            rows = slice(g, g + 1)
            values[start:start + n] = _mean_over_dropout_rows(
                p_tab[rows], m_tab[rows], r + xs[rows], u[None, start:start + n])[0]
    else:
        c = a + b + xu - 1 + shift
        z = tu / (alpha + Tu + tu)
        with np.errstate(all="ignore"):
            hyp = hyp2f1(c - r - xu, a - 1, c, z)
            # 1 - (1-z)^(a-1) · F, computed to avoid cancellation for small t.
            values = c / (a - 1) * -np.expm1((a - 1) * np.log1p(-z) + np.log(hyp))
        # scipy's hyp2f1 gives NaN for some valid parameters (z near 1 with small alpha,
        # a, b) and loses digits when its first parameter a+b-1-r is large (r = 1e8):
        # the quadrature there.
        bad = ~np.isfinite(values) | (values < 0) | (abs(a + b - 1 + shift - r) > 1e3)
        if bad.any():
            values[bad] = _mean_over_dropout(a, b + xu[bad] + shift, r + xu[bad],
                                             tu[bad] / (alpha + Tu[bad]))
    return values[inverse.reshape(-1)].reshape(x.shape)


def _conditional_expected(params: np.ndarray, t: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                          T: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T] = P(alive) · E[X(T, T+t) | alive]; FHL 2005 eq. 10
    (Batislam et al. 2007 for MBG/NBD)."""
    alive = expit(-_log_odds_dead(params, x, t_x, T, modified))
    return alive * _expected_given_alive(params, t, x, T, modified)


def _conditional_expected_draws(draws: np.ndarray, times: np.ndarray, x: np.ndarray,
                                t_x: np.ndarray, T: np.ndarray, modified: bool) -> np.ndarray:
    """:func:`_conditional_expected` for every parameter vector in ``draws`` (n, 4),
    horizon in ``times`` and customer: (draws, times, customers).

    P(alive) once per draw, and the quadrature (:func:`_mean_over_dropout_rows`) of all
    draws with a ≥ ``A_QUADRATURE`` in one call, grouped by draw and frequency.
    """
    out = np.empty((len(draws), len(times), len(x)))
    quad = draws[:, 2] >= A_QUADRATURE
    for i in np.flatnonzero(~quad):
        alive = expit(-_log_odds_dead(draws[i], x, t_x, T, modified))
        out[i] = alive * _expected_given_alive(draws[i], times[:, None], x, T, modified)
    if not quad.any():
        return out
    params = draws[quad]
    r, alpha, a, b = params.T
    (xu, Tu), inverse = _unique_keys(x, T)
    xs, first, size = np.unique(xu, return_index=True, return_counts=True)
    shift = 1.0 if modified else 0.0
    n, k = len(params), len(xs)
    # one Beta mixture per (draw, frequency); the keys are sorted by frequency
    p_tab, m_tab = _dropout_table(np.repeat(a, k), (b[:, None] + xs + shift).ravel())
    p_tab, m_tab = p_tab.reshape(n, k, -1), m_tab.reshape(n, k, -1)
    u = times[None, :, None] / (alpha[:, None, None] + Tu[None, None, :])
    values = np.empty(u.shape)
    for g, (start, m) in enumerate(zip(first, size, strict=True)):
        keys = slice(start, start + m)
        values[:, :, keys] = _mean_over_dropout_rows(
            p_tab[:, g], m_tab[:, g], r + xs[g], u[:, :, keys].reshape(n, -1),
        ).reshape(n, len(times), m)
    alive = expit(-_log_odds_dead(params.T[:, :, None], x, t_x, T, modified))
    out[quad] = alive[:, None, :] * values[:, :, inverse]
    return out


def _unconditional_expected(params: np.ndarray, t: np.ndarray, modified: bool) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005 eq. 7; Batislam et al. 2007).

    BG/NBD: the customer is alive at 0 with no purchase, the conditional expectation at
    x = 0, T = 0. MBG/NBD: she may drop out at time 0 with probability p, so the mean is
    b/(a+b) (the chance to survive it) times the expectation with p ~ Beta(a, b+1).
    """
    r, alpha, a, b = params
    zero = np.zeros_like(_as_float(t))
    if not modified:
        return _expected_given_alive(params, t, zero, zero, False)
    return b / (a + b) * _expected_given_alive(params, t, zero, zero, True)


def _probability_of_purchases(params: np.ndarray, n: np.ndarray, t: np.ndarray,
                              modified: bool) -> np.ndarray:
    """P(X(t) = n) for a new customer (FHL 2005 eq. 8; Batislam et al. 2007 eq. 9)."""
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    log_q = -np.log1p(t / alpha)
    log_p = -np.log1p(alpha / t)
    nb_term = log_pochhammer(r, n) - gammaln(n + 1) + r * log_q + n * log_p
    first = np.exp(log_beta_ratio(a, b, 0.0, n + shift) + nb_term)
    # 1 - sum_{j<n} NBD(j): the NBD survival function, as a regularised incomplete beta.
    from scipy.special import betainc

    tail = betainc(n, r, np.exp(log_p))  # P(NBD >= n) = I_p(n, r)
    # Dropping out right after the n-th repeat purchase (MBG/NBD: also at time 0).
    second_n = np.maximum(n - 1 + shift, 0)
    second = np.where(
        (n > 0) | modified,
        np.exp(log_beta_ratio(a, b, 1.0, second_n))
        * np.where(n > 0, tail, 1.0),
        0.0,
    )
    return first + second


#: Where a boundary fit puts the parameters that run to the edge: a = NO_DROPOUT_A (and
#: b = 1, which the limit does not depend on) for no dropout, a + b = HOMOGENEOUS_KAPPA
#: for a common dropout probability (predictions there equal the limit's to ~1e-12).
NO_DROPOUT_A = 1e-12
HOMOGENEOUS_KAPPA = 1e12
#: A limit is fitted and compared when the estimate comes near it: a below NEAR_NO_DROPOUT
#: (most of the Beta's mass crowds at p = 0), a + b above NEAR_COMMON (p varies by a
#: coefficient of variation below about 1/sqrt(50)); and whenever the fit fails.
NEAR_NO_DROPOUT = 0.1
NEAR_COMMON = 50.0


def _odds_to_ab(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, α, odds p/(1-p)) -> (r, α, a, b) with a + b = HOMOGENEOUS_KAPPA, and the Jacobian
    of the log-parameters."""
    r, alpha, odds = eta
    p = odds / (1 + odds)
    full = np.array([r, alpha, HOMOGENEOUS_KAPPA * p, HOMOGENEOUS_KAPPA * (1 - p)])
    jac = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1 - p], [0, 0, -p]])
    return full, jac


def _odds_to_small_ab(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, α, odds pi/(1-pi)) -> (r, α, a, b) with a + b = NO_DROPOUT_A (the split limit)."""
    r, alpha, odds = eta
    pi = odds / (1 + odds)
    full = np.array([r, alpha, NO_DROPOUT_A * pi, NO_DROPOUT_A * (1 - pi)])
    jac = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1 - pi], [0, 0, -pi]])
    return full, jac


def _split_loglik_grad(eta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                       modified: bool) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and gradient in (r, α, odds) of the split limit (a, b → 0).

    A share pi = odds/(1+odds) has p = 1: under BG/NBD she dies at her first repeat
    purchase (L = (α/(α+T))^r with no repeat purchase, r α^r/(α+t_x)^(r+1) with one,
    0 with more); under MBG/NBD right after the first purchase (L = 1 with no repeat
    purchase, else 0). The others never drop out (the NBD).
    """
    r, alpha, odds = eta
    pi = odds / (1 + odds)
    l_a, g_a = nbd_loglik_grad(np.array([r, alpha]), x, T)
    g_b = np.zeros_like(g_a)
    if modified:
        l_b = np.where(x == 0, 0.0, -np.inf)
    else:
        one = x == 1
        l_b = np.where(x == 0, -r * np.log1p(T / alpha),
                       np.where(one, np.log(r) - (r + 1) * np.log1p(t_x / alpha)
                                - np.log(alpha), -np.inf))
        g_b[:, 0] = np.where(x == 0, -np.log1p(T / alpha),
                             np.where(one, 1 / r - np.log1p(t_x / alpha), 0.0))
        g_b[:, 1] = np.where(x == 0, r / alpha - r / (alpha + T),
                             np.where(one, r / alpha - (r + 1) / (alpha + t_x), 0.0))
    ll = np.logaddexp(np.log1p(-pi) + l_a, np.log(pi) + l_b)
    w_b = np.exp(np.log(pi) + l_b - ll)
    w_a = 1 - w_b
    grad = np.column_stack([w_a * g_a[:, 0] + w_b * g_b[:, 0],
                            w_a * g_a[:, 1] + w_b * g_b[:, 1],
                            (w_b * (1 - pi) - w_a * pi) / odds])
    return ll, grad


class _BGFamily(PurchaseDraws, Model):
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    integer_columns: ClassVar[tuple[str, ...]] = ("frequency",)
    _modified: ClassVar[bool] = False
    convergence_remedies: ClassVar[str] = (
        "check the time unit (recency and T in weeks or months rather than days), fit on a "
        "longer window (dropout needs time to show), pass initial_params near plausible "
        "values, raise max_iter, or drop customers with implausible histories (thousands of "
        "purchases in a few days)")

    def limits(self) -> tuple[Limit, ...]:
        """No dropout (a → 0: the NBD model) and a common dropout probability
        (a, b → ∞ with p = a/(a+b) fixed)."""
        return (
            Limit("no dropout",
                  "a → 0: the data cannot identify dropout (nobody is seen to leave); this is "
                  "the NBD model without dropout, every customer is alive and b is not "
                  "identified",
                  ("r", "alpha"),
                  lambda eta: (np.array([eta[0], eta[1], NO_DROPOUT_A, 1.0]),
                               np.array([[1.0, 0], [0, 1.0], [0, 0], [0, 0]])),
                  lambda full: full[:2],
                  near=lambda full: full[2] < NEAR_NO_DROPOUT,
                  loglik_grad=lambda eta, cols: nbd_loglik_grad(eta, cols["frequency"],
                                                                cols["T"])),
            Limit("common dropout",
                  "a, b → ∞ with p = a/(a+b) fixed: the data show no heterogeneity in the "
                  "dropout probability; every customer drops out after a purchase with the "
                  "same probability p = a/(a+b), and a, b themselves are not identified",
                  ("r", "alpha", "odds"),
                  _odds_to_ab,
                  lambda full: np.array([full[0], full[1], full[2] / full[3]]),
                  near=lambda full: full[2] + full[3] > NEAR_COMMON),
            Limit("split dropout",
                  "a, b → 0 with pi = a/(a+b) fixed: customers split into two kinds, a share pi "
                  + ("drops out right after the first purchase" if self._modified else
                     "drops out at the first repeat purchase")
                  + " and the rest never drop out; a, b themselves are not identified",
                  ("r", "alpha", "odds"),
                  _odds_to_small_ab,
                  lambda full: np.array([full[0], full[1], full[2] / full[3]]),
                  near=lambda full: full[2] + full[3] < NEAR_NO_DROPOUT,
                  loglik_grad=lambda eta, cols: _split_loglik_grad(
                      eta, cols["frequency"], cols["recency"], cols["T"], self._modified)),
        )

    def _no_dropout(self) -> bool:
        return getattr(self, "limit_", None) == "no dropout"

    def _split(self) -> float | None:
        """The share pi of customers who drop out at the first chance, in the split limit."""
        if getattr(self, "limit_", None) != "split dropout":
            return None
        a, b = self._param_tuple()[2:]
        return a / (a + b)

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
        if self._no_dropout():
            r, alpha = self._param_tuple()[:2]
            values = (r + cols["frequency"]) / (alpha + cols["T"]) * horizon
            return self._series(values, data, "expected_purchases")
        pi = self._split()
        if pi is not None:  # alive ones never drop out, except BG/NBD's p = 1 kind at x = 0
            r, alpha = self._param_tuple()[:2]
            x, T = cols["frequency"], cols["T"]
            alive = self.probability_alive(data).to_numpy()
            values = alive * (r + x) / (alpha + T) * horizon
            if not self._modified:
                first = -np.expm1(-r * np.log1p(horizon / (alpha + T)))
                values = np.where(x == 0, (1 - pi) * r / (alpha + T) * horizon + pi * first,
                                  values)
            return self._series(values, data, "expected_purchases")
        values = _conditional_expected(np.array(self._param_tuple()), horizon,
                                       cols["frequency"], cols["recency"], cols["T"],
                                       self._modified)
        return self._series(values, data, "expected_purchases")

    def _expected_draws(self, draws: np.ndarray, cols: Columns, horizon: np.ndarray,
                        data: pd.DataFrame) -> np.ndarray:
        if (self._no_dropout() or self._split() is not None
                or type(self).expected_purchases is not _BGFamily.expected_purchases):
            # limits, and subclasses with their own expected_purchases: copies
            return super()._expected_draws(draws, cols, horizon, data)
        return _conditional_expected_draws(draws, horizon, cols["frequency"], cols["recency"],
                                           cols["T"], self._modified)

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
        if self._no_dropout():
            log_odds = np.full(len(data), -np.inf)
        pi = self._split()
        if pi is not None:  # only the p = 1 kind can be dead, and only at x = 1 (MBG: 0)
            r, alpha = self._param_tuple()[:2]
            x = cols["frequency"]
            eligible = x == (0 if self._modified else 1)
            log_odds = np.where(eligible, np.log(pi) - np.log1p(-pi) + (r + x) * np.log1p(
                (cols["T"] + float(t) - cols["recency"]) / (alpha + cols["recency"])), -np.inf)
        return self._series(expit(-log_odds), data, "probability_alive")

    def expected_purchases_new(self, t: float | np.ndarray) -> float | np.ndarray:
        """Expected repeat purchases of a newly acquired customer over (0, t].

        FHL 2005 eq. 7: E[X(t)] = (a+b-1)/(a-1) · [1 - (α/(α+t))^r ·
        2F1(r, b; a+b-1; t/(α+t))].
        """
        self._check_fitted()
        horizon = positive_numbers("t", t)
        if self._no_dropout() or self._split() is not None:
            r, alpha = self._param_tuple()[:2]
            pi = self._split() or 0.0
            out = (1 - pi) * r / alpha * np.asarray(horizon, dtype=float)
            if not self._modified:
                out = out + pi * -np.expm1(-r * np.log1p(np.asarray(horizon) / alpha))
            return float(out) if np.ndim(out) == 0 else out
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
        params = np.array(self._param_tuple())
        horizon = positive_numbers("t", t)
        if self._no_dropout() or self._split() is not None:  # the NBD probability
            r, alpha = params[:2]
            pi = self._split() or 0.0
            out = (1 - pi) * np.exp(log_pochhammer(r, counts) - gammaln(counts + 1)
                                    + r * np.log(alpha / (alpha + horizon))
                                    + counts * np.log(horizon / (alpha + horizon)))
            none = np.exp(-r * np.log1p(horizon / alpha))
            if self._modified:  # the p = 1 kind makes no repeat purchase
                out = out + pi * (counts == 0)
            else:  # ... or exactly one, at which she drops out
                out = out + pi * np.where(counts == 0, none, np.where(counts == 1, 1 - none,
                                                                      0.0))
        else:
            out = _probability_of_purchases(params, counts, horizon, self._modified)
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
