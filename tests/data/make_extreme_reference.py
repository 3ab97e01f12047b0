"""Write tests/data/extreme_reference.csv: model predictions at extreme parameters, by mpmath.

Run once (a few minutes on one core), from the repository root::

    python tests/data/make_extreme_reference.py

and commit the CSV; ``tests/test_model_extremes.py`` compares the package's predictions
with it to 1e-8 relative. The references are computed independently of the package (no
import of ``retention_kit``), with 40 significant digits, by formulations that stay
cheap in mpmath however large the parameters are (no hypergeometric function with
parameters of 1e7, which takes minutes per value):

* BG/NBD and MBG/NBD: the expected purchases are the mean over the posterior of the
  dropout probability p ~ Beta(a, b') of (1 - (1 + p·u)^-r') / p (given λ and p an
  alive customer buys (1 - e^(-λpt))/p times in t; the Gamma mixture over λ gives the
  power), integrated by tanh-sinh quadrature in y = logit p with break points at the
  mode and multiples of the Beta's width. At moderate parameters the script checks that
  this equals FHL (2005) eq. 10 with mpmath's ``hyp2f1`` to 1e-25. P(alive) is the
  closed form; P(X(t) = n) is FHL eq. 8 with the NBD tail summed term by term.
* Pareto/NBD: P(alive) from note 009's likelihood with the integral over the time of
  death done by quadrature; E[X(T, T+t)], E[X(t)] from their closed forms; DERT as
  ∫ e^(-δτ) ((β+T)/(β+T+τ))^s dτ; P(X(t) = n) as the integral over the time of death.
* BG/BB: FHS (2010) eqs. 5, 7, 8, 11, 13, 14 as explicit sums of Beta-function ratios
  (``loggamma``), the DERT series summed until its terms drop below 1e-45.
* Gamma-Gamma: eq. 5 of Fader & Hardie (2013), a rational function.

The grid spans the regimes where closed forms break: dropout parameters a, b (s, β;
γ, δ) from 1e-3 to 1e7, homogeneous purchase rates (r, α ~ 1e7), frequencies 0 to
10,000 with histories of 20,000 periods.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import mpmath as mp

mp.mp.dps = 40
OUT = Path(__file__).with_name("extreme_reference.csv")

# --------------------------------------------------------------------------- BG/NBD


def _beta_mean(a, b, g):
    """E[g(p)] for p ~ Beta(a, b), by quadrature in y = logit p."""
    a, b = mp.mpf(a), mp.mpf(b)
    log_norm = mp.log(mp.beta(a, b))

    def f(y):
        p = 1 / (1 + mp.exp(-y))
        return mp.exp(a * y - (a + b) * mp.log1p(mp.exp(y)) - log_norm) * g(p)

    mode = mp.log(a / b)
    width = mp.sqrt((a + b) / (a * b))
    steps = [-80, -40, -20, -10, -6, -3, -1.5, 0, 1.5, 3, 6, 10, 20, 40, 80]
    points = [-mp.inf] + [mode + k * width for k in steps] + [mp.inf]
    return mp.quad(f, points)


def _g(r, u):
    r, u = mp.mpf(r), mp.mpf(u)
    return lambda p: -mp.expm1(-r * mp.log1p(p * u)) / p


def bg_alive(params, x, t_x, T, modified):
    r, alpha, a, b = map(mp.mpf, params)
    if x == 0 and not modified:
        return mp.mpf(1)
    shift = 1 if modified else 0
    odds = a / (b + x - 1 + shift) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return 1 / (1 + odds)


def bg_expected(params, t, x, t_x, T, modified):
    r, alpha, a, b = map(mp.mpf, params)
    shift = 1 if modified else 0
    mean = _beta_mean(a, b + x + shift, _g(r + x, mp.mpf(t) / (alpha + T)))
    return bg_alive(params, x, t_x, T, modified) * mean


def bg_expected_closed_form(params, t, x, t_x, T, modified):
    """FHL 2005 eq. 10 (Batislam et al. for MBG/NBD) with mpmath's hyp2f1."""
    r, alpha, a, b = map(mp.mpf, params)
    shift = 1 if modified else 0
    c = a + b + x - 1 + shift
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x + shift,
                                                                          c, z)
    return c / (a - 1) * bracket * bg_alive(params, x, t_x, T, modified)


def bg_expected_new(params, t, modified):
    r, alpha, a, b = map(mp.mpf, params)
    if modified:
        return b / (a + b) * _beta_mean(a, b + 1, _g(r, mp.mpf(t) / alpha))
    return _beta_mean(a, b, _g(r, mp.mpf(t) / alpha))


def _log_beta(a, b):
    return mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)


def _nbd(r, alpha, t, j):
    return mp.exp(mp.loggamma(r + j) - mp.loggamma(r) - mp.loggamma(j + 1)
                  + r * mp.log(alpha / (alpha + t)) + j * mp.log(t / (alpha + t)))


def bg_prob(params, n, t, modified):
    r, alpha, a, b = map(mp.mpf, params)
    shift = 1 if modified else 0
    t = mp.mpf(t)
    first = mp.exp(_log_beta(a, b + n + shift) - _log_beta(a, b)) * _nbd(r, alpha, t, n)
    if n == 0 and not modified:
        return first
    tail = 1 - mp.fsum(_nbd(r, alpha, t, j) for j in range(n))
    second = mp.exp(_log_beta(a + 1, b + max(n - 1 + shift, 0)) - _log_beta(a, b)) * tail
    return first + second


# --------------------------------------------------------------------------- Pareto/NBD


def _split(lo, hi, n=14):
    """Break points crowding both ends of [lo, hi] geometrically."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    width = hi - lo
    inner = sorted({lo + width * mp.mpf(10) ** -k for k in range(1, n)}
                   | {hi - width * mp.mpf(10) ** -k for k in range(1, n)})
    return [lo, *inner, hi]


def pnbd_alive(params, x, t_x, T):
    r, alpha, s, beta = map(mp.mpf, params)
    if t_x == T:
        return mp.mpf(1)

    def ratio(tau):  # s (α+τ)^-(r+x) (β+τ)^-(s+1) over the first term
        return s / (beta + tau) * mp.exp((r + x) * mp.log((alpha + T) / (alpha + tau))
                                         + s * mp.log((beta + T) / (beta + tau)))

    return 1 / (1 + mp.quad(ratio, _split(t_x, T)))


def _lifetime_mean(s, beta, t):
    """E[(1 - e^(-μt))/μ] for μ ~ Gamma(s, β): ∫_0^t ((β/(β+τ))^s dτ."""
    s, beta, t = map(mp.mpf, (s, beta, t))
    return beta / (s - 1) * (1 - (beta / (beta + t)) ** (s - 1))


def pnbd_expected(params, t, x, t_x, T):
    r, alpha, s, beta = map(mp.mpf, params)
    return (pnbd_alive(params, x, t_x, T) * (r + x) / (alpha + T)
            * _lifetime_mean(s, beta + T, t))


def pnbd_expected_new(params, t):
    r, alpha, s, beta = map(mp.mpf, params)
    return r / alpha * _lifetime_mean(s, beta, t)


def pnbd_prob(params, n, t):
    r, alpha, s, beta = map(mp.mpf, params)
    t = mp.mpf(t)
    atom = _nbd(r, alpha, t, n) * (beta / (beta + t)) ** s

    def dens(y):
        return _nbd(r, alpha, y, n) * s / beta * (beta / (beta + y)) ** (s + 1)

    return atom + mp.quad(dens, _split(0, t))


def pnbd_dert(params, delta, x, t_x, T):
    r, alpha, s, beta = map(mp.mpf, params)
    bt = beta + T
    scale = min(bt / s, 1 / mp.mpf(delta))

    def f(tau):
        return mp.exp(-delta * tau - s * mp.log1p(tau / bt))

    points = [0] + [scale * k for k in (0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 100)] + [mp.inf]
    return pnbd_alive(params, x, t_x, T) * (r + x) / (alpha + T) * mp.quad(f, points)


# --------------------------------------------------------------------------- BG/BB


def _lbr(a, b, da, db):  # log B(a+da, b+db) / B(a, b)
    return _log_beta(a + da, b + db) - _log_beta(a, b)


def bgbb_lik(params, x, t_x, n):
    al, be, ga, de = map(mp.mpf, params)
    total = mp.exp(_lbr(al, be, x, n - x) + _lbr(ga, de, 0, n))
    total += mp.fsum(mp.exp(_lbr(al, be, x, t_x - x + i) + _lbr(ga, de, 1, t_x + i))
                     for i in range(int(n - t_x)))
    return total


def bgbb_alive(params, x, t_x, n):
    al, be, ga, de = map(mp.mpf, params)
    return mp.exp(_lbr(al, be, x, n - x) + _lbr(ga, de, 0, n + 1)) / bgbb_lik(params, x, t_x, n)


def bgbb_expected(params, t, x, t_x, n):
    al, be, ga, de = map(mp.mpf, params)
    alive = mp.fsum(mp.exp(_lbr(ga, de, 0, n + s)) for s in range(1, t + 1))
    return mp.exp(_lbr(al, be, x + 1, n - x)) * alive / bgbb_lik(params, x, t_x, n)


def bgbb_dert(params, d, x, t_x, n):
    al, be, ga, de = map(mp.mpf, params)
    d = mp.mpf(d)
    total, s = mp.mpf(0), 1
    while True:
        term = mp.exp(_lbr(ga, de, 0, n + s)) / (1 + d) ** s
        total += term
        if term < mp.mpf(10) ** -45 * total:
            break
        s += 1
    return mp.exp(_lbr(al, be, x + 1, n - x)) * total / bgbb_lik(params, x, t_x, n)


def bgbb_expected_new(params, t):
    al, be, ga, de = map(mp.mpf, params)
    return al / (al + be) * mp.fsum(mp.exp(_lbr(ga, de, 0, s)) for s in range(1, t + 1))


def bgbb_prob(params, k, t):
    al, be, ga, de = map(mp.mpf, params)
    out = mp.binomial(t, k) * mp.exp(_lbr(al, be, k, t - k) + _lbr(ga, de, 0, t))
    out += mp.fsum(mp.binomial(i, k) * mp.exp(_lbr(al, be, k, i - k) + _lbr(ga, de, 1, i))
                   for i in range(k, t))
    return out


# --------------------------------------------------------------------------- the grid

BG_PARAMS = [
    ("cdnow", (0.243, 4.414, 0.793, 2.426)),
    ("issue16", (0.243, 4.414, 300.0, 918.0)),
    ("a=b=1e7", (0.5, 5.0, 1e7, 1e7)),
    ("a=1e7,b=10", (0.5, 5.0, 1e7, 10.0)),
    ("a=5,b=1e7", (0.5, 5.0, 5.0, 1e7)),
    ("a=1e-3,b=1e7", (0.5, 5.0, 1e-3, 1e7)),
    ("a=1", (0.8, 3.0, 1.0, 4.0)),
    ("a=50,b=0.05", (0.8, 3.0, 50.0, 0.05)),
    ("r,alpha=1e7", (1e7, 5e7, 3.0, 7.0)),
]
BG_HISTORIES = [(0, 0.0, 52.0), (5, 30.0, 52.0), (10_000, 19_000.0, 20_000.0)]
PNBD_PARAMS = [
    ("cdnow", (0.553, 10.578, 0.606, 11.669)),
    ("s,beta=1e7", (0.553, 10.578, 1e7, 2e7)),
    ("s=1e7,beta=1e6", (0.553, 10.578, 1e7, 1e6)),
    ("s=1e-3", (0.553, 10.578, 1e-3, 11.669)),
    ("beta=1e7", (0.553, 10.578, 0.606, 1e7)),
    ("r,alpha=1e7", (1e7, 5e7, 0.606, 11.669)),
    ("alpha=1e-3", (0.553, 1e-3, 2.5, 1e3)),
]
PNBD_HISTORIES = [(0, 0.0, 52.0), (5, 30.0, 52.0), (10_000, 19_000.0, 20_000.0)]
BGBB_PARAMS = [
    ("donations", (1.204, 0.750, 0.657, 2.783)),
    ("alpha,beta=1e7", (1e7, 2e7, 0.657, 2.783)),
    ("gamma,delta=1e7", (1.204, 0.750, 1e7, 3e7)),
    ("all=1e7", (1e7, 1e6, 1e7, 1e8)),
    ("gamma=1e-3", (1.204, 0.750, 1e-3, 2.783)),
    ("delta=1e7", (1.204, 0.750, 0.657, 1e7)),
]
BGBB_HISTORIES = [(0, 0, 6), (3, 5, 6), (50, 100, 200), (10_000, 10_000, 10_000)]
GG_PARAMS = [("cdnow", (6.25, 3.74, 15.45)), ("p=1e7", (1e7, 3.74, 15.45)),
             ("q,gamma=1e7", (6.25, 1e7, 1e7 * 15.45 / 2.74)),
             ("q=1+1e-6", (6.25, 1 + 1e-6, 15.45))]
GG_HISTORIES = [(0, 0.0), (1, 20.0), (10_000, 35.5)]


def rows():
    for model, modified in (("BGNBD", False), ("MBGNBD", True)):
        for label, params in BG_PARAMS:
            yield model, label, params, None, "expected_purchases_new", 52.0, \
                bg_expected_new(params, 52, modified)
            for n in (0, 3):
                yield model, label, params, None, "probability_of_purchases", n, \
                    bg_prob(params, n, 52, modified)
            for x, t_x, T in BG_HISTORIES:
                h = (x, t_x, T)
                yield model, label, params, h, "probability_alive", 0.0, \
                    bg_alive(params, x, t_x, T, modified)
                yield model, label, params, h, "expected_purchases", 52.0, \
                    bg_expected(params, 52, x, t_x, T, modified)
    for label, params in PNBD_PARAMS:
        yield "ParetoNBD", label, params, None, "expected_purchases_new", 52.0, \
            pnbd_expected_new(params, 52)
        for n in (0, 3):
            yield "ParetoNBD", label, params, None, "probability_of_purchases", n, \
                pnbd_prob(params, n, 52)
        for x, t_x, T in PNBD_HISTORIES:
            h = (x, t_x, T)
            yield "ParetoNBD", label, params, h, "probability_alive", 0.0, \
                pnbd_alive(params, x, t_x, T)
            yield "ParetoNBD", label, params, h, "expected_purchases", 52.0, \
                pnbd_expected(params, 52, x, t_x, T)
            yield "ParetoNBD", label, params, h, "expected_residual_lifetime", 0.0027, \
                pnbd_dert(params, mp.mpf("0.0027"), x, t_x, T)
    for label, params in BGBB_PARAMS:
        yield "BGBB", label, params, None, "expected_purchases_new", 6, \
            bgbb_expected_new(params, 6)
        for k in (0, 3):
            yield "BGBB", label, params, None, "probability_of_purchases", k, \
                bgbb_prob(params, k, 6)
        for x, t_x, n in BGBB_HISTORIES:
            h = (x, t_x, n)
            yield "BGBB", label, params, h, "probability_alive", 0, bgbb_alive(params, x, t_x, n)
            yield "BGBB", label, params, h, "expected_purchases", 5, \
                bgbb_expected(params, 5, x, t_x, n)
            yield "BGBB", label, params, h, "expected_residual_lifetime", 0.1, \
                bgbb_dert(params, mp.mpf("0.1"), x, t_x, n)
    for label, (p, q, gamma) in GG_PARAMS:
        for x, m in GG_HISTORIES:
            p_, q_, g_ = map(mp.mpf, (p, q, gamma))
            value = p_ * (g_ + x * mp.mpf(m)) / (p_ * x + q_ - 1)
            yield "GammaGamma", label, (p, q, gamma), (x, m, None), "expected_spend", 0, value


def check_closed_form() -> None:
    """The Beta-mixture integral equals FHL eq. 10 where mpmath's hyp2f1 is cheap."""
    for params in ((0.243, 4.414, 0.793, 2.426), (0.8, 3.0, 30.0, 90.0), (2.0, 1.0, 1.5, 0.3)):
        for modified in (False, True):
            for x, t_x, T in ((0, 0.0, 52.0), (5, 30.0, 52.0), (40, 50.0, 60.0)):
                one = bg_expected(params, 52, x, t_x, T, modified)
                two = bg_expected_closed_form(params, 52, x, t_x, T, modified)
                assert abs(one / two - 1) < mp.mpf(10) ** -25, (params, modified, x, one, two)


def main() -> None:
    check_closed_form()
    with OUT.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["model", "label", "p1", "p2", "p3", "p4", "x", "t_x", "T", "method",
                      "arg", "value"])
        for model, label, params, hist, method, arg, value in rows():
            p = [repr(float(v)) for v in params] + [""] * (4 - len(params))
            h = ["" if v is None else repr(float(v)) for v in (hist or (None, None, None))]
            out.writerow([model, label, *p, *h, method, repr(float(arg)),
                          mp.nstr(value, 20)])
            print(model, label, hist, method, mp.nstr(value, 12), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
