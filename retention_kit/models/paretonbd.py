"""Pareto/NBD: the buy-till-you-die model with exponential lifetimes in continuous time.

Schmittlein, Morrison & Colombo (1987, "Counting your customers: who are they and what
will they do next?", *Management Science* 33(1)): while alive, a customer buys as a
Poisson process with rate λ ~ Gamma(r, α); she dies after an exponential lifetime with
rate μ ~ Gamma(s, β), independent of λ. The likelihood and the expressions used here are
those of Fader & Hardie (2005, "A note on deriving the Pareto/NBD model and related
expressions", note 009) and Fader, Hardie & Lee (2005, "RFM and CLV: using iso-value
curves for customer base analysis", *Journal of Marketing Research* 42(4)).

Data: ``frequency`` x (repeat purchases), ``recency`` t_x and ``T`` (same time unit).

How the likelihood is computed
------------------------------
Note 009 (eq. 18) writes the likelihood as::

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^{T} f(τ) dτ ],
    f(τ) = (α+τ)^-(r+x) (β+τ)^-(s+1),

and evaluates the integral as a difference of two Gauss hypergeometric functions (the
``A_0`` term). Integrating the first term by parts turns the bracket into a sum of two
*positive* tail integrals, so nothing cancels::

    bracket = s · G(t_x) + (r+x) · H(T),
    G(t) = ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ,   H(t) = ∫_t^∞ (α+τ)^-(r+x+1) (β+τ)^-s dτ.

Both are Φ(t) = ∫_t^∞ (c_l+τ)^-E_l (c_s+τ)^-E_s dτ, with c_l = max(α, β) and c_s the
smaller one (E_l, E_s their exponents; the larger one in the transformation, as in
Hardie's note, so that z = (c_l - c_s)/(c_l + t) lies in [0, 1)). Euler's transformation
of note 009's 2F1(q, ·; q+1; z) gives a series of positive terms (q = E_l + E_s - 1)::

    Φ(t) = (c_l+t)^-E_l (c_s+t)^(1-E_s) / q · Σ_n (E_l)_n / (q+1)_n · z^n,

whose term ratio is below z, so it converges geometrically whatever the frequency; its
derivatives in E_l, E_s, c_l, c_s are sums of the same terms times harmonic sums. It is
used when z ≤ 1/2 (at most 60 terms). When z > 1/2 (one of α, β much smaller than the
other, t small) the integral from t up to the point where z = 1/2 is computed by
Gauss-Legendre quadrature in u = log(c_s + τ), where the integrand is log-concave:
panels are laid out from its mode (closed form) with widths set by the local slope and
curvature (:func:`logconcave_nodes`), and the rest is the series at z = 1/2. Histories
with the same frequency share that integrand over nested intervals, so only the pieces
between consecutive times are integrated and summed from the top.

The gradient is the same series and quadrature applied to the exact derivatives of the
integrand (the moving split point cancels), so it agrees with the computed value to its
accuracy: about 1e-13 relative against mpmath, 4e-14 per customer against the 2F1
formula of ``lifetimes``, with no finite differences. Everything is evaluated once per
distinct (frequency, time) pair, in log space, and stays finite for frequencies in the
ten thousands (``lifetimes`` returns NaN from frequency 132). The likelihood and P(alive)
are evaluated in time units of max(α, β) (both are invariant up to a known factor), so
that s·log β and the bracket's matching terms do not cancel digits when s is large.

Limits and boundary fits
------------------------
A fit whose maximum lies on the edge of the parameter space reports the limiting model
(``boundary_``, ``limit_``; the rule is :data:`~retention_kit.models._base.BOUNDARY_TOLERANCE`:
the limit's maximised log-likelihood within 1e-6 of the full model's) and predicts with it:

* **no dropout**, s → 0: the NBD model, every customer alive, E[X(T, T+t)] =
  (r+x)/(α+T)·t, DERT = (r+x)/((α+T)·δ). Stored as s = 1e-12, beta = 1 (not identified).
* **common dropout**, s, β → ∞ with μ = s/β fixed: every lifetime is exponential with the
  same rate μ. Stored at s = 1e7 (a coefficient of variation of 3e-4 for μ), where
  predictions are within ~1e-7 of the limit's and the likelihood is still computed to
  ~1e-9 per customer.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, exprel, gammaln

from .._checks import positive_numbers
from ._base import (
    Columns,
    Limit,
    LogFn,
    Model,
    PurchaseDraws,
    log_pochhammer,
    logconcave_nodes,
    nbd_loglik_grad,
    repeat_buyers_problem,
)

__all__ = ["ParetoNBD", "paretonbd_loglik_grad"]

# Series for z up to this value; quadrature (plus the series at this z) above it.
_Z_SPLIT = 0.5
#: s of a boundary fit without dropout (beta = 1, which the limit does not depend on).
NO_DROPOUT_S = 1e-12
#: s of a boundary fit with a common dropout rate μ (beta = s/μ): the Gamma(s, β) mixing
#: distribution then has a coefficient of variation of 1/sqrt(s) = 3e-4, and predictions
#: differ from the homogeneous limit's by about 1/s; larger s would lose more in the
#: s·log β terms of the likelihood (about s·1e-16·log β) than it gains.
COMMON_DROPOUT_S = 1e7
#: A limit is fitted and compared when the estimate comes near it (and whenever the fit
#: fails): s below NEAR_NO_DROPOUT, or above NEAR_COMMON (μ varies by a coefficient of
#: variation 1/sqrt(s) below 0.14).
NEAR_NO_DROPOUT = 0.1
NEAR_COMMON = 50.0


def _as_float(values: float | np.ndarray | pd.Series) -> np.ndarray:
    return np.asarray(values, dtype=float)


# --------------------------------------------------------------------------- numerics


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs and the inverse map (values[inverse] restores the rows)."""
    order = np.lexsort((b, a))
    sa, sb = a[order], b[order]
    new = np.empty(len(a), dtype=bool)
    new[:1] = True
    new[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(len(a), dtype=np.intp)
    inverse[order] = group
    return sa[new], sb[new], inverse


def _series(el: np.ndarray, c: np.ndarray, z: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """S = Σ_n (E_l)_n/(c)_n z^n = 2F1(1, E_l; c; z) for 0 ≤ z ≤ 1/2, c > E_l > 0.

    Returns log S and ∂log S/∂E_l, ∂log S/∂c, ∂log S/∂z. All terms are positive and
    their ratio (E_l+n)/(c+n)·z is below z, so 60 terms reach 1e-17 at z = 1/2.
    """
    total = np.ones_like(z)
    d_el = np.zeros_like(z)
    d_c = np.zeros_like(z)
    d_z = np.zeros_like(z)
    coef = el / c  # term_n / z, for n = 1
    h_el = 1.0 / el  # Σ_{j<n} 1/(E_l+j)
    h_c = 1.0 / c  # Σ_{j<n} 1/(c+j)
    term = np.empty_like(z)
    tmp = np.empty_like(z)
    for n in range(1, 200):
        np.multiply(coef, z, out=term)
        total += term
        d_el += np.multiply(term, h_el, out=tmp)
        d_c -= np.multiply(term, h_c, out=tmp)
        d_z += np.multiply(coef, n, out=tmp)
        if n % 4 == 0 and not np.any(term > 1e-17 * total):
            break
        coef *= (el + n) / (c + n)
        coef *= z
        h_el += 1.0 / (el + n)
        h_c += 1.0 / (c + n)
    return np.log(total), d_el / total, d_c / total, d_z / total




def _segments(e_s: np.ndarray, e_l: np.ndarray, lo: np.ndarray, hi: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """log ∫ R^-E_s (1+R)^-E_l dR over log R ∈ [lo, hi] (hi ≤ 0), with derivative factors.

    Integrated in u = log R, where the integrand R^(1-E_s) (1+R)^-E_l is log-concave
    with its mode where R/(1+R) = (1-E_s)/E_l. Returns the log integral (m,) and the
    means (m, 4), under the normalised integrand, of log R, log(1+R), 1/R and 1/(1+R).
    """
    def log_f(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (1 - e_s[i]) * u - e_l[i] * np.logaddexp(0.0, u)

    def slope(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (1 - e_s[i]) - e_l[i] * expit(u)

    def curvature(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return -e_l[i] * expit(u) * expit(-u)

    rho = (1 - e_s) / e_l  # R/(1+R) at the mode
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where((rho > 0) & (rho < 1), np.log(rho) - np.log1p(-rho), np.inf)
    mode = np.clip(np.where(rho <= 0, -np.inf, inner), lo, hi)
    owner, u, w, top = logconcave_nodes(log_f, slope, curvature, lo, hi, mode)
    log_1pr = np.logaddexp(0.0, u)
    mass = w * np.exp((1 - e_s[owner]) * u - e_l[owner] * log_1pr - top[owner])
    m = len(mode)
    total = np.bincount(owner, mass, minlength=m)
    moments = np.column_stack([
        np.bincount(owner, mass * u, minlength=m),
        np.bincount(owner, mass * log_1pr, minlength=m),
        np.bincount(owner, mass * np.exp(-u), minlength=m),
        np.bincount(owner, mass * np.exp(-log_1pr), minlength=m),
    ])
    with np.errstate(divide="ignore", invalid="ignore"):
        return top + np.log(total), moments / total[:, None]


def _head(e_s: np.ndarray, e_l: np.ndarray, log_rt: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """log ∫_{R_t}^1 R^-E_s (1+R)^-E_l dR and the means of the derivative factors.

    Entries with the same exponents (the same frequency) integrate one function over
    nested intervals [R_t, 1]: integrate it between consecutive R_t only and add the
    pieces from the top (positive terms, scaled by the group's largest piece). Entries
    whose sum would underflow in that scale are integrated directly.
    """
    m = len(log_rt)
    order = np.lexsort((log_rt, e_s, e_l))
    es, el, lr = e_s[order], e_l[order], log_rt[order]
    start = np.empty(m, dtype=bool)
    start[:1] = True
    start[1:] = (es[1:] != es[:-1]) | (el[1:] != el[:-1])
    last = np.r_[start[1:], True]
    hi = np.where(last, 0.0, np.r_[lr[1:], 0.0])
    log_seg, mom = _segments(es, el, lr, hi)
    # Suffix sums within each group, in the scale of the group's largest piece (one
    # numpy call per group of two or more; singletons are their own sum).
    group = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    ref = np.maximum.reduceat(log_seg, first)[group]
    scaled = np.exp(log_seg - ref)
    suffix = np.empty((m, 5))
    suffix[:, 0] = scaled
    suffix[:, 1:] = scaled[:, None] * np.nan_to_num(mom)
    stops = np.r_[first[1:], m]
    for a, b in zip(first[stops - first > 1], stops[stops - first > 1], strict=True):
        suffix[a:b] = np.cumsum(suffix[a:b][::-1], axis=0)[::-1]
    out_log = np.empty(m)
    out_mom = np.empty((m, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        out_log[order] = ref + np.log(suffix[:, 0])
        out_mom[order] = suffix[:, 1:] / suffix[:, :1]
    bad = ~(suffix[:, 0] > 1e-280)
    if bad.any():
        redo = order[bad]
        out_log[redo], out_mom[redo] = _segments(e_s[redo], e_l[redo], log_rt[redo],
                                                 np.zeros(len(redo)))
    return out_log, out_mom


def _tail(params: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """log Φ(t) = log ∫_t^∞ (α+τ)^-a (β+τ)^-b dτ and its gradient in (a, α, b, β).

    ``a``, ``b`` (> 0, a + b > 1) and ``t`` (≥ 0) are aligned arrays. The series of the
    module docstring for z ≤ 1/2; quadrature up to z = 1/2 plus the series there
    otherwise.
    """
    _, alpha, _, beta = params
    if alpha >= beta:
        c_l, e_l, c_s, e_s = alpha, a, beta, b
    else:
        c_l, e_l, c_s, e_s = beta, b, alpha, a
    d = c_l - c_s
    q = a + b - 1
    c = a + b
    z = d / (c_l + t)
    log_phi = np.empty_like(t)
    d_el, d_es, d_cl, d_cs = (np.empty_like(t) for _ in range(4))

    easy = z <= _Z_SPLIT
    all_easy = bool(easy.all())
    if all_easy:
        easy = slice(None)
    if all_easy or easy.any():
        el, es, ze, tl, ts = e_l[easy], e_s[easy], z[easy], c_l + t[easy], c_s + t[easy]
        qe = q[easy]
        log_s, s_el, s_c, s_z = _series(el, c[easy], ze)
        log_phi[easy] = -el * np.log(tl) + (1 - es) * np.log(ts) - np.log(qe) + log_s
        d_el[easy] = -np.log(tl) - 1 / qe + s_el + s_c
        d_es[easy] = -np.log(ts) - 1 / qe + s_c
        d_cl[easy] = -el / tl + s_z * ts / tl**2
        d_cs[easy] = (1 - es) / ts - s_z / tl

    hard = None if all_easy else ~easy
    if hard is not None and hard.any():
        el, es, qh, th = e_l[hard], e_s[hard], q[hard], t[hard]
        log_d = np.log(d)
        # The tail beyond the point where z = 1/2: c_l + τ = 2d and c_s + τ = d there.
        log_s, s_el, s_c, s_z = _series(el, c[hard], np.full_like(th, _Z_SPLIT))
        log_far = -el * (np.log(2.0) + log_d) + (1 - es) * log_d - np.log(qh) + log_s
        far = np.column_stack([
            -(np.log(2.0) + log_d) - 1 / qh + s_el + s_c,
            -log_d - 1 / qh + s_c,
            -el / (2 * d) + s_z / (4 * d),
            (1 - es) / d - s_z / (2 * d),
        ])
        # From t to there: ∫ (c_s+τ)^-E_s (c_l+τ)^-E_l dτ = d^-q ∫ R^-E_s (1+R)^-E_l dR,
        # R = (c_s+τ)/d from (c_s+t)/d to 1.
        log_head, mom = _head(es, el, np.log(c_s + th) - log_d)
        log_head = log_head - qh * log_d
        near = np.column_stack([
            -(log_d + mom[:, 1]),
            -(log_d + mom[:, 0]),
            -el * mom[:, 3] / d,
            -es * mom[:, 2] / d,
        ])
        total = np.logaddexp(log_head, log_far)
        w_near = np.exp(log_head - total)[:, None]
        grad = w_near * near + (1 - w_near) * far
        log_phi[hard] = total
        d_el[hard], d_es[hard], d_cl[hard], d_cs[hard] = grad.T

    if alpha >= beta:
        return log_phi, np.column_stack([d_el, d_cl, d_es, d_cs])
    return log_phi, np.column_stack([d_es, d_cs, d_el, d_cl])


class _Pairs(NamedTuple):
    """Distinct frequencies and (frequency, time) pairs of a set of histories."""

    x: np.ndarray  # distinct frequencies
    x_index: np.ndarray  # row -> distinct frequency
    g_x: np.ndarray  # distinct (x, t_x) pairs, for G
    g_t: np.ndarray
    g_index: np.ndarray
    h_x: np.ndarray  # distinct (x, T) pairs, for H
    h_t: np.ndarray
    h_index: np.ndarray


def _pairs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Pairs:
    xs, x_index = np.unique(x, return_inverse=True)
    return _Pairs(xs, x_index, *_unique_pairs(x, t_x), *_unique_pairs(x, T))


def _log_tail(params: np.ndarray, x: np.ndarray, t: np.ndarray, shift: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """log G(t) (shift 0) or log H(t) (shift 1) and its gradient in (r, α, s, β).

    G: exponents (r+x, s+1); H: (r+x+1, s). One entry per (x, t) given.
    """
    r, _, s, _ = params
    return _tail(params, r + x + shift, np.full_like(x, s + 1 - shift), t)


def _bracket(params: np.ndarray, pairs: _Pairs
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log of the likelihood bracket s·G(t_x) + (r+x)·H(T) per row, the weight of the G
    term, and the gradients of log G and log H (rows × (r, α, s, β))."""
    r, _, s, _ = params
    log_g, grad_g = _log_tail(params, pairs.g_x, pairs.g_t, 0)
    log_h, grad_h = _log_tail(params, pairs.h_x, pairs.h_t, 1)
    h_index = pairs.h_index
    part_g = (np.log(s) + log_g).take(pairs.g_index)
    part_h = np.log(r + pairs.x).take(pairs.x_index)
    part_h += log_h.take(h_index)
    diff = part_g - part_h
    w_g = expit(diff)  # s·G / (s·G + (r+x)·H)
    log_b = np.maximum(part_g, part_h) + np.log1p(np.exp(-np.abs(diff)))
    return log_b, w_g, grad_g.take(pairs.g_index, axis=0), grad_h.take(h_index, axis=0)


def _loglik_grad_pairs(params: np.ndarray, pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and gradient, computed in time units of c = max(α, β).

    With times and α, β divided by c the likelihood is c^x times the original (α^r β^s
    gains c^-(r+s), the bracket c^(r+x+s)), so log L = log L' − x log c. In those units
    the large terms r·log α + s·log β and the bracket's cancel to what they contribute,
    instead of losing eps·s·log β (2.5e-8 per customer at s = 1e7).
    """
    c = max(float(params[1]), float(params[3]))
    scaled = np.array([params[0], params[1] / c, params[2], params[3] / c])
    ll, grad = _loglik_grad_scaled(scaled, pairs._replace(g_t=pairs.g_t / c,
                                                          h_t=pairs.h_t / c))
    ll -= pairs.x[pairs.x_index] * np.log(c)
    grad[:, 1] /= c
    grad[:, 3] /= c
    return ll, grad


def _loglik_grad_scaled(params: np.ndarray, pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    r, alpha, s, beta = params
    log_b, w_g, grad_g, grad_h = _bracket(params, pairs)
    w_h = 1 - w_g
    xi = pairs.x_index
    ll = (gammaln(r + pairs.x) - gammaln(r))[xi] + (r * np.log(alpha) + s * np.log(beta)) + log_b
    grad = grad_g
    grad *= w_g[:, None]
    grad_h *= w_h[:, None]
    grad += grad_h
    grad[:, 0] += ((digamma(r + pairs.x) - digamma(r) + np.log(alpha))[xi]
                   + w_h * (1 / (r + pairs.x))[xi])
    grad[:, 1] += r / alpha
    grad[:, 2] += np.log(beta) + w_g / s
    grad[:, 3] += s / beta
    return ll, grad


def paretonbd_loglik_grad(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the Pareto/NBD and its exact gradient.

    Fader & Hardie (2005, note 009, eq. 18), written as (see the module docstring)::

        L = Γ(r+x) α^r β^s / Γ(r) · [ s·G(t_x) + (r+x)·H(T) ]

    with G and H the tail integrals of the module docstring (equal to note 009's
    ``(α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A_0`` bracket).

    Returns the log-likelihood (n,) and its gradient in (r, α, s, β) (n, 4).
    """
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    return _loglik_grad_pairs(np.asarray(params, dtype=float), _pairs(x, t_x, T))


# --------------------------------------------------------------------------- predictions


def _log_p_alive(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
                 ) -> np.ndarray:
    """log P(alive at T | x, t_x, T) = log (α+T)^-(r+x) (β+T)^-s − log bracket.

    Note 009, eq. (36)-(37); at most 0 because the bracket exceeds its first term.

    P(alive) does not depend on the unit of time, so it is computed with times and
    α, β divided by c = max(α, β): the terms (r+x)·log(α+T) and s·log(β+T), which cancel
    against the bracket's, are then of order (r+x)·T/c instead of (r+x)·log c, and do
    not lose ``eps·s·log β`` (2e-8 at s = 1e7) to that cancellation.
    """
    r, alpha, s, beta = params
    c = max(alpha, beta)
    scaled = np.array([r, alpha / c, s, beta / c])
    x, t_x, T = _as_float(x), _as_float(t_x) / c, _as_float(T) / c
    log_b = _bracket(scaled, _pairs(x, t_x, T))[0]
    log_first = -(r + x) * np.log(alpha / c + T) - s * np.log(beta / c + T)
    return np.minimum(log_first - log_b, 0.0)


def _lifetime_factor(a: float, u: np.ndarray) -> np.ndarray:
    """(1 - exp(-a·u)) / a, with its a → 0 limit u: u · exprel(-a·u)."""
    return u * exprel(-a * u)


def _conditional_expected(params: np.ndarray, t: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                          T: np.ndarray) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T] (note 009, eq. 41)::

        P(alive) · (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)]

    the bracket over (s-1) computed as (1 - e^-(s-1)u)/(s-1), u = log(1 + t/(β+T)),
    which is finite at s = 1 (limit u).
    """
    r, alpha, s, beta = params
    alive = np.exp(_log_p_alive(params, x, t_x, T))
    u = np.log1p(t / (beta + T))
    return alive * (r + x) * (beta + T) / (alpha + T) * _lifetime_factor(s - 1, u)


def _log_nb_integrand(params: np.ndarray, n: np.ndarray) -> tuple[LogFn, LogFn, LogFn]:
    """log of P(n purchases by y) × lifetime density at y × y, in ℓ = log y (concave)."""
    r, alpha, s, beta = params
    const = log_pochhammer(r, n) - gammaln(n + 1) + np.log(s)
    log_a, log_b = np.log(alpha), np.log(beta)

    def log_f(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        # r·log α − (r+n)·log(α+y) written as −r·log(1+y/α) − n·log(α+y) (and the same
        # for β), so that large r or s do not cancel digits
        return (const[i] + (n[i] + 1) * ell - r * np.logaddexp(0.0, ell - log_a)
                - n[i] * np.logaddexp(log_a, ell) - s * np.logaddexp(0.0, ell - log_b)
                - np.logaddexp(log_b, ell))

    def slope(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (n[i] + 1 - (r + n[i]) * expit(ell - np.log(alpha))
                - (s + 1) * expit(ell - np.log(beta)))

    def curvature(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        pa, pb = expit(ell - np.log(alpha)), expit(ell - np.log(beta))
        return -(r + n[i]) * pa * (1 - pa) - (s + 1) * pb * (1 - pb)

    return log_f, slope, curvature


def _probability_of_purchases(params: np.ndarray, n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """P(X(t) = n) for a customer acquired at time 0 (Fader & Hardie, note 012).

    Given λ and the lifetime τ, X(t) is Poisson(λ·min(τ, t)); mixing over λ gives the
    NBD probability NBD(n | y) at y = min(τ, t), so::

        P(X(t)=n) = NBD(n | t) (β/(β+t))^s + ∫_0^t NBD(n | y) s β^s (β+y)^-(s+1) dy.

    The integral (a sum of positive terms, unlike note 012's difference of
    hypergeometric terms) is computed by the log-concave quadrature in log y, with the
    mode at the positive root of -(r+s) y² + ((n-s)α + (1-r)β) y + (n+1)αβ = 0.
    """
    r, alpha, s, beta = params
    n, t = np.broadcast_arrays(_as_float(n), _as_float(t))
    shape = n.shape
    n, t = n.ravel(), t.ravel()
    log_t = np.log(t)
    atom = (log_pochhammer(r, n) - gammaln(n + 1) - r * np.log1p(t / alpha)
            - n * np.log1p(alpha / t) - s * np.log1p(t / beta))
    b = (n - s) * alpha + (1 - r) * beta
    disc = np.sqrt(b * b + 4 * (r + s) * (n + 1) * alpha * beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        y_star = np.where(b > 0, (b + disc) / (2 * (r + s)),
                          2 * (n + 1) * alpha * beta / (disc - b))
    mode = np.minimum(np.log(y_star), log_t)
    log_f, slope, curvature = _log_nb_integrand(params, n)
    owner, ell, w, top = logconcave_nodes(log_f, slope, curvature, np.full_like(t, -np.inf),
                                           log_t, mode)
    mass = np.bincount(owner, w * np.exp(log_f(ell, owner) - top[owner]), minlength=len(n))
    out = np.exp(atom) + np.exp(top) * mass
    return out.reshape(shape)


def _mean_inverse_shifted_gamma(s: float, z: np.ndarray) -> np.ndarray:
    """E[1/(z+V)] with V ~ Gamma(s, 1), which equals z^(s-1) Ψ(s, s; z).

    Ψ is Tricomi's confluent hypergeometric function of the second kind:
    Γ(s) Ψ(s, s; z) = ∫_0^∞ e^(-zu) u^(s-1) (1+u)^-1 du. Computed by the log-concave
    quadrature in ℓ = log v of v^s e^-v / (Γ(s) (z+v)), mode at the positive root of
    v² + (z+1-s) v - s z = 0 (scipy's ``hyperu`` is inaccurate or NaN for some s, z).
    """
    z = _as_float(z).ravel()
    const = -gammaln(s)

    def log_f(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        return const + s * ell - np.exp(ell) - np.logaddexp(np.log(z[i]), ell)

    def slope(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        return s - np.exp(ell) - expit(ell - np.log(z[i]))

    def curvature(ell: np.ndarray, i: np.ndarray) -> np.ndarray:
        p = expit(ell - np.log(z[i]))
        return -np.exp(ell) - p * (1 - p)

    b = z + 1 - s
    disc = np.sqrt(b * b + 4 * s * z)
    v_star = np.where(b > 0, 2 * s * z / (b + disc), (disc - b) / 2)
    owner, ell, w, top = logconcave_nodes(log_f, slope, curvature, np.full_like(z, -np.inf),
                                           np.full_like(z, np.inf), np.log(v_star))
    values = log_f(ell, owner) - top[owner]
    mass = np.bincount(owner, w * np.exp(values), minlength=len(z))
    if s < 100:
        return np.exp(top) * mass
    # Large s: divided by the Gamma density's integral on the same nodes (exactly 1), so
    # that the rounding of s·ℓ − gammaln(s) (2e-8 at s = 1e7) cancels in the ratio.
    norm = np.bincount(owner, w * np.exp(values + np.logaddexp(np.log(z[owner]), ell)),
                       minlength=len(z))
    return mass / norm


def _dert(params: np.ndarray, delta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
          ) -> np.ndarray:
    """DERT (Fader, Hardie & Lee 2005, JMR, eq. 2)::

        α^r β^s δ^(s-1) Γ(r+x+1) Ψ(s, s; δ(β+T)) / (Γ(r) (α+T)^(r+x+1) L)
        = P(alive) · (r+x)/(α+T) · (β+T) · E[1/(δ(β+T) + V)],  V ~ Gamma(s, 1),

    i.e. P(alive) × E[λ | alive] × E[1/(δ+μ) | alive]: given alive, λ ~ Gamma(r+x, α+T)
    and μ ~ Gamma(s, β+T) independently, and ∫_0^∞ e^-(δ+μ)t dt = 1/(δ+μ).
    """
    r, alpha, s, beta = params
    alive = np.exp(_log_p_alive(params, x, t_x, T))
    mean_inv = _mean_inverse_shifted_gamma(s, delta * (beta + T))
    return alive * (r + x) / (alpha + T) * (beta + T) * mean_inv


# --------------------------------------------------------------------------- the class


class ParetoNBD(PurchaseDraws, Model):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, alpha);
    her lifetime is exponential with rate μ ~ Gamma(s, beta). ``alpha`` and ``beta``
    are in the time unit of ``recency`` and ``T``. The log-likelihood (Fader & Hardie
    2005, note 009, eq. 18) is computed as a sum of two positive tail integrals with
    an exact gradient (see :mod:`retention_kit.models.paretonbd`); it stays finite for
    frequencies in the thousands. See :class:`~retention_kit.models._base.Model` for the
    options.

    Examples
    --------
    Fader, Hardie & Lee (2005) report r = 0.553, alpha = 10.578, s = 0.606,
    beta = 11.669 and log-likelihood -9595.0 on the CDNOW calibration data (weeks):

    >>> from retention_kit.datasets import load_cdnow_summary
    >>> cdnow = load_cdnow_summary()
    >>> model = ParetoNBD().fit(cdnow)
    >>> model.params_.round(3).tolist(), round(model.loglik_, 1)
    ([0.553, 10.578, 0.606, 11.668], -9595.0)
    >>> round(model.expected_purchases_new(52.0), 3)
    1.473
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    data_columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    integer_columns: ClassVar[tuple[str, ...]] = ("frequency",)
    convergence_remedies: ClassVar[str] = (
        "check the time unit (recency and T in weeks or months rather than days), fit on a "
        "longer window (dropout needs time to show), pass initial_params near plausible "
        "values, raise max_iter, or drop customers with implausible histories (thousands of "
        "purchases in a few days)")

    def limits(self) -> tuple[Limit, ...]:
        """No dropout (s → 0: the NBD model) and a common dropout rate (s, β → ∞ with
        μ = s/β fixed, represented at s = ``COMMON_DROPOUT_S``)."""
        return (
            Limit("no dropout",
                  "s → 0: the data cannot identify dropout (nobody is seen to leave); this is "
                  "the NBD model without dropout, every customer is alive and beta is not "
                  "identified",
                  ("r", "alpha"),
                  lambda eta: (np.array([eta[0], eta[1], NO_DROPOUT_S, 1.0]),
                               np.array([[1.0, 0], [0, 1.0], [0, 0], [0, 0]])),
                  lambda full: full[:2],
                  near=lambda full: full[2] < NEAR_NO_DROPOUT,
                  loglik_grad=lambda eta, cols: nbd_loglik_grad(eta, cols["frequency"],
                                                                cols["T"])),
            Limit("common dropout",
                  "s, beta → ∞ with mu = s/beta fixed: the data show no heterogeneity in how "
                  "long customers stay; every customer's lifetime is exponential with the same "
                  "rate mu = s/beta, and s, beta themselves are not identified",
                  ("r", "alpha", "mu"),
                  lambda eta: (np.array([eta[0], eta[1], COMMON_DROPOUT_S,
                                         COMMON_DROPOUT_S / eta[2]]),
                               np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 0], [0, 0, -1.0]])),
                  lambda full: np.array([full[0], full[1], full[2] / full[3]]),
                  near=lambda full: full[2] > NEAR_COMMON),
        )

    def _no_dropout(self) -> bool:
        return getattr(self, "limit_", None) == "no dropout"

    def _prepare_columns(self, cols: Columns) -> Columns:
        # The distinct (frequency, time) pairs, found once per fit.
        pairs = _pairs(*(_as_float(cols[c]) for c in ("frequency", "recency", "T")))
        return {**cols, "pairs": pairs}

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        pairs = cols.get("pairs")
        if pairs is None:
            pairs = _pairs(*(_as_float(cols[c]) for c in ("frequency", "recency", "T")))
        return _loglik_grad_pairs(np.asarray(params, dtype=float), pairs)

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        return repeat_buyers_problem(cols["frequency"], weights)

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        # r/alpha = mean repeat-purchase rate; beta/s = a lifetime of the order of the
        # customers' mean age.
        rate = float(weights @ cols["frequency"]) / max(float(weights @ cols["T"]), 1e-12)
        age = float(weights @ cols["T"]) / float(weights.sum())
        return np.array([1.0, 1.0 / max(rate, 1e-6), 1.0, max(age, 1e-6)])

    def _history(self, data: pd.DataFrame) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        cols = self._columns(data)
        return (np.array(self._param_tuple()),
                (cols["frequency"], cols["recency"], cols["T"]))

    # ------------------------------------------------------------------ predictions

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
        """Expected repeat purchases in the next ``t`` periods, given each history.

        E[X(T, T+t) | x, t_x, T] (Fader & Hardie 2005, note 009, eq. 41)::

            P(alive) · (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)]

        (for s = 1 the bracket over s-1 is its limit log((β+T+t)/(β+T))).

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
        params, (x, t_x, T) = self._history(data)
        horizon = positive_numbers("t", t)
        if self._no_dropout():
            values = (params[0] + x) / (params[1] + T) * horizon
        else:
            values = _conditional_expected(params, horizon, x, t_x, T)
        return self._series(values, data, "expected_purchases")

    def _expected_grid(self, params: np.ndarray, cols: Columns, horizon: np.ndarray,
                       data: pd.DataFrame) -> np.ndarray:
        if self._no_dropout() or type(self).expected_purchases is not ParetoNBD.expected_purchases:
            return super()._expected_grid(params, cols, horizon, data)
        # P(alive) does not depend on the horizon: once for all of them
        return _conditional_expected(params, horizon[:, None], cols["frequency"],
                                     cols["recency"], cols["T"])

    def probability_alive(self, data: pd.DataFrame, t: float = 0.0) -> pd.Series:
        """P(alive) given each history, now (t = 0) or ``t`` periods later.

        P(alive | x, t_x, T) = (α+T)^-(r+x) (β+T)^-s · Γ(r+x) α^r β^s / (Γ(r) L)
        (note 009, eqs. 36-37). With ``t > 0``: the probability of being alive at
        T + t for a customer who makes no purchase until then (T replaced by T + t).

        Returns
        -------
        Series on ``data``'s index, values in (0, 1].
        """
        params, (x, t_x, T) = self._history(data)
        if not np.isscalar(t) or not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a non-negative number, got {t!r}")
        values = (np.ones(len(x)) if self._no_dropout()
                  else np.exp(_log_p_alive(params, x, t_x, T + float(t))))
        return self._series(values, data, "probability_alive")

    def expected_purchases_new(self, t: float | np.ndarray) -> float | np.ndarray:
        """Expected repeat purchases of a newly acquired customer over (0, t].

        Note 009, eq. (27): E[X(t)] = r β / (α (s-1)) · [1 - (β/(β+t))^(s-1)], with
        the s = 1 limit (r β/α) log(1 + t/β).
        """
        self._check_fitted()
        horizon = positive_numbers("t", t)
        r, alpha, s, beta = self._param_tuple()
        if self._no_dropout():
            out = r / alpha * np.asarray(horizon, dtype=float)
        else:
            out = r * beta / alpha * _lifetime_factor(s - 1, np.log1p(horizon / beta))
        return float(out) if np.ndim(out) == 0 else out

    def probability_of_purchases(self, n: int | np.ndarray, t: float | np.ndarray
                                 ) -> float | np.ndarray:
        """P(X(t) = n): probability that a new customer makes n repeat purchases by t.

        Fader & Hardie, "Deriving an expression for P(X(t) = x) under the Pareto/NBD
        model" (note 012), computed as an integral of positive terms over the time of
        death (see :func:`_probability_of_purchases`). ``n`` and ``t`` broadcast.
        """
        self._check_fitted()
        counts = np.asarray(n, dtype=float)
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"n must be non-negative integers, got {n!r}")
        horizon = positive_numbers("t", t)
        if self._no_dropout():  # the NBD probability
            r, alpha = self._param_tuple()[:2]
            out = np.exp(log_pochhammer(r, counts) - gammaln(counts + 1)
                         + r * np.log(alpha / (alpha + horizon))
                         + counts * np.log(horizon / (alpha + horizon)))
        else:
            out = _probability_of_purchases(np.array(self._param_tuple()), counts, horizon)
        return float(out) if np.ndim(out) == 0 else out

    def expected_residual_lifetime(self, data: pd.DataFrame, discount_rate: float
                                   ) -> pd.Series:
        """Discounted expected residual transactions (DERT) of each customer.

        Fader, Hardie & Lee (2005, "RFM and CLV: using iso-value curves", *JMR* 42(4),
        eq. 2)::

            DERT = α^r β^s δ^(s-1) Γ(r+x+1) Ψ(s, s; δ(β+T)) / (Γ(r) (α+T)^(r+x+1) L)

        the present value at T of the purchases still to come, counted in transactions:
        multiply by the expected margin per transaction to get the residual CLV.

        Parameters
        ----------
        data : DataFrame
            ``frequency``, ``recency``, ``T``.
        discount_rate : float
            δ, the **continuously compounded** discount rate **per time unit of T**
            (positive). From an annual rate i with ``periods_per_year`` periods of the
            data's unit in a year: δ = log(1 + i) / periods_per_year; e.g. 15% a year
            on weekly data is log(1.15)/52 = 0.0027 (the value FHL 2005 use on CDNOW).

        Returns
        -------
        Series on ``data``'s index, named ``dert``.
        """
        params, (x, t_x, T) = self._history(data)
        delta = float(discount_rate) if np.isscalar(discount_rate) else np.nan
        if not np.isfinite(delta) or delta <= 0:
            raise ValueError(
                f"discount_rate must be a positive number (continuously compounded, per "
                f"time unit of T), got {discount_rate!r}; from an annual rate i use "
                "log(1 + i) / periods_per_year")
        if self._no_dropout():  # purchases at rate E[λ | x, T] forever, discounted
            return self._series((params[0] + x) / (params[1] + T) / delta, data, "dert")
        return self._series(_dert(params, delta, x, t_x, T), data, "dert")
