"""Pareto/NBD against the paper, the 2F1 likelihood, mpmath and lifetimes.

The model contract (JSON, determinism, no data kept...) is in test_model_contract.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from retention_kit.errors import DataError
from retention_kit.models.paretonbd import (
    ParetoNBD,
    _mean_inverse_shifted_gamma,
    paretonbd_loglik_grad,
)

PARAM_NAMES = ["r", "alpha", "s", "beta"]
# Parameter points on both sides of alpha = beta and on it; the extreme ratios send
# most histories through the quadrature branch (z > 1/2).
PARAM_POINTS = [
    (0.553, 10.578, 0.606, 11.669),  # CDNOW estimates, alpha < beta, series only
    (0.5, 1.0, 0.8, 80.0),  # alpha << beta
    (0.5, 80.0, 0.8, 1.0),  # alpha >> beta
    (1.3, 7.0, 1.7, 7.0),  # alpha == beta
    (2.0, 5.0, 3.0, 4.0),  # alpha > beta, r and s > 1
]


@pytest.fixture(scope="module")
def pnbd(cdnow: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow)


def with_params(params) -> ParetoNBD:
    """A model carrying given parameters, for prediction checks."""
    model = ParetoNBD()
    model.params_ = pd.Series(np.asarray(params, dtype=float), index=PARAM_NAMES)
    return model


def random_histories(n: int, seed: int, max_frequency: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.5, 80, n)
    x = rng.integers(0, max_frequency, n)
    t_x = np.where(x > 0, rng.uniform(0.01, 1, n) * T, 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T},
                        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


def arrays(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(data[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def lifetimes_oracle(params):
    lifetimes = pytest.importorskip("lifetimes")
    oracle = lifetimes.ParetoNBDFitter()
    oracle.params_ = pd.Series(dict(zip(PARAM_NAMES, np.asarray(params, float), strict=True)))
    return oracle


# ----------------------------------------------------------------- published values


def test_reproduces_fader_hardie_lee_2005(pnbd: ParetoNBD) -> None:
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert pnbd.params_[name] == pytest.approx(value, rel=5e-3)
    assert pnbd.loglik_ == pytest.approx(-9595.0, rel=5e-3, abs=0.05)
    assert pnbd.n_obs_ == 2357 and pnbd.converged_


def test_cdnow_summary_repr_and_html(pnbd: ParetoNBD) -> None:
    table = pnbd.summary()
    assert list(table.index) == PARAM_NAMES
    assert ((table["lower"] < table["estimate"]) & (table["estimate"] < table["upper"])).all()
    assert repr(pnbd) == ("ParetoNBD(r=0.5533, alpha=10.58, s=0.6062, beta=11.67; "
                          "n=2,357, loglik=-9594.97)")
    assert "2,357 customers" in pnbd._repr_html_()


# ----------------------------------------------------------------- the likelihood


@pytest.mark.parametrize("params", PARAM_POINTS)
def test_loglik_equals_the_2f1_formula(params, cdnow: pd.DataFrame) -> None:
    # lifetimes implements note 009 eq. 18 with scipy's hyp2f1 (valid for these
    # frequencies); ours is the positive-term rewrite, so the two must agree.
    lifetimes = pytest.importorskip("lifetimes")
    data = pd.concat([cdnow[["frequency", "recency", "T"]], random_histories(200, 1)])
    x, t_x, T = arrays(data)
    ours, _ = paretonbd_loglik_grad(np.array(params), x, t_x, T)
    with np.errstate(all="ignore"):
        theirs = lifetimes.ParetoNBDFitter._conditional_log_likelihood(params, x, t_x, T)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_loglik_equals_mpmath_where_lifetimes_fails() -> None:
    # Direct high-precision integration of note 009 eq. 18 for histories with large
    # frequencies (lifetimes' hyp2f1 gives NaN there) and extreme alpha/beta ratios.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 20

    def loglik(r, a, s, b, x, t_x, T):
        # ∫_{t_x}^T (a+τ)^-(r+x) (b+τ)^-(s+1) dτ in u = log(a+τ), breakpoints dense
        # where the integrand falls steeply.
        def f(u):
            return mp.exp(-(r + x - 1) * u - (s + 1) * mp.log(b - a + mp.exp(u)))

        lo, hi = mp.log(a + t_x), mp.log(a + T)
        steep = {float(lo + k / (r + x)) for k in range(40)}
        pts = sorted({float(u) for u in mp.linspace(lo, hi, 40)} | steep)
        pts = [p for p in pts if p < hi] + [hi]
        integral = mp.quad(f, pts) if T > t_x else 0
        first = (a + T) ** -(r + x) * (b + T) ** -s
        return float(mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(a) + s * mp.log(b)
                     + mp.log(first + s * integral))

    rows = [(200, 10.0, 40.0), (1000, 3.0, 500.0), (5000, 0.5, 9000.0), (150, 38.0, 38.0),
            (0, 0.0, 10_000.0), (30, 0.01, 0.02)]
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    for params in [(0.5, 1.0, 0.8, 80.0), (0.5, 80.0, 0.8, 1.0), (0.553, 10.578, 0.606, 11.669)]:
        ours, _ = paretonbd_loglik_grad(np.array(params), x, t_x, T)
        ref = [loglik(*params, *row) for row in rows]
        np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("params", PARAM_POINTS)
def test_gradient_matches_central_differences(params, five_point_gradient) -> None:
    data = pd.concat([random_histories(150, 2), random_histories(20, 3, max_frequency=2000)])
    x, t_x, T = arrays(data)
    p = np.array(params)
    ll, grad = paretonbd_loglik_grad(p, x, t_x, T)
    assert np.isfinite(ll).all() and np.isfinite(grad).all()
    # Fourth-order central differences, h = 1e-3 * p[j].
    numerics = five_point_gradient(lambda q: paretonbd_loglik_grad(q, x, t_x, T)[0], p)
    for j in range(4):
        numeric = numerics[:, j]
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-6, atol=1e-7)
        # The summed log-likelihood the optimiser sees.
        assert grad[:, j].sum() == pytest.approx(numeric.sum(), rel=1e-8)


def test_gradient_is_exact_against_mpmath() -> None:
    # Beyond finite differences: the derivative of a 20-digit likelihood.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 20

    def loglik(r, a, s, b, x, t_x, T):
        integral = mp.quad(lambda u: (a + u) ** -(r + x) * (b + u) ** -(s + 1),
                           mp.linspace(t_x, T, 8))
        return (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(a) + s * mp.log(b)
                + mp.log((a + T) ** -(r + x) * (b + T) ** -s + s * integral))

    for params, row in [((0.5, 1.0, 0.8, 80.0), (7, 2.0, 30.0)),
                        ((0.5, 80.0, 0.8, 1.0), (3, 0.5, 12.0))]:
        grad = paretonbd_loglik_grad(np.array(params), *(np.array([v]) for v in row))[1][0]
        for j in range(4):
            def f(v, j=j, params=params, row=row):
                q = [mp.mpf(c) for c in params]
                q[j] = v
                return loglik(*q, *row)

            assert grad[j] == pytest.approx(float(mp.diff(f, mp.mpf(params[j]))), rel=1e-10)


def test_fit_on_weighted_unique_rows_equals_fit_on_customers(cdnow: pd.DataFrame,
                                                             pnbd: ParetoNBD) -> None:
    unique = (cdnow.groupby(["frequency", "recency", "T"]).size()
              .rename("weights").reset_index())
    weighted = ParetoNBD().fit(unique, weights="weights")
    np.testing.assert_allclose(weighted.params_, pnbd.params_, rtol=1e-7)
    assert weighted.loglik_ == pytest.approx(pnbd.loglik_, abs=1e-6)


def test_recovers_parameters_with_extreme_alpha_beta_ratio() -> None:
    # alpha << beta sends almost every history through the quadrature branch.
    from retention_kit.data import rfm_summary
    from retention_kit.simulate import simulate_transactions

    truth = {"r": 0.5, "alpha": 2.0, "s": 0.8, "beta": 80.0}
    log = simulate_transactions(4000, start="2020-01-01", end="2021-12-31",
                                model="pareto_nbd", params=truth,
                                acquisition_end="2020-12-31", random_state=11)
    summary = rfm_summary(log, time_unit="W", duplicates="keep")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ParetoNBD().fit(summary)
    assert model.converged_
    for name, value in truth.items():
        assert abs(np.log(model.params_[name] / value)) < 4 * model.se_[name] / value
    assert model.params_["alpha"] < 0.1 * model.params_["beta"]


# ----------------------------------------------------------------- lifetimes oracle


@pytest.mark.parametrize("params", [p for p in PARAM_POINTS if p[2] != 1])
def test_predictions_match_lifetimes(params) -> None:
    oracle = lifetimes_oracle(params)
    model = with_params(params)
    data = random_histories(300, 4)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    with np.errstate(all="ignore"):
        for t in (1.0, 10.0, 52.0):
            np.testing.assert_allclose(
                model.expected_purchases(data, t),
                oracle.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
                rtol=1e-6)
        np.testing.assert_allclose(model.probability_alive(data),
                                   oracle.conditional_probability_alive(x, t_x, T), rtol=1e-6)
        ts = np.array([0.5, 5.0, 50.0])
        np.testing.assert_allclose(model.expected_purchases_new(ts),
                                   oracle.expected_number_of_purchases_up_to_time(ts),
                                   rtol=1e-6)
        # lifetimes has only the conditional P(X(t)=n | history) (note 028); at a history
        # of age ~0 it is the new-customer probability of note 012.
        for n in range(6):
            theirs = float(oracle.conditional_probability_of_n_purchases_up_to_time(
                n, 20.0, 0, 0.0, 1e-12))
            assert model.probability_of_purchases(n, 20.0) == pytest.approx(theirs, rel=1e-6)


def test_where_lifetimes_turns_nan_we_do_not(pnbd: ParetoNBD) -> None:
    # lifetimes' hyp2f1 overflows for large frequencies (with the CDNOW estimates from
    # x = 179 when recency = T; from 132 in other settings).
    oracle = lifetimes_oracle(pnbd.params_)
    data = pd.DataFrame({"frequency": [150, 200, 500, 10_000], "recency": [38.86] * 4,
                         "T": [38.86] * 4})
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alive = oracle.conditional_probability_alive(x, t_x, T)
        expected = oracle.conditional_expected_number_of_purchases_up_to_time(10.0, x, t_x, T)
    assert np.isfinite(alive[0]) and np.isnan(alive[1:]).all() and np.isnan(expected[1:]).all()
    ours = pnbd.expected_purchases(data, 10.0)
    assert np.isfinite(ours).all() and ours.iloc[0] == pytest.approx(expected[0], rel=1e-6)
    # Bought today: alive, and buying at the posterior mean rate (r+x)/(α+T), less churn.
    np.testing.assert_allclose(pnbd.probability_alive(data), 1.0, rtol=1e-9)
    assert (ours < 10 * (pnbd.params_["r"] + x) / (pnbd.params_["alpha"] + T)).all()


# ----------------------------------------------------------------- numerics at the edges


@pytest.mark.parametrize("params", PARAM_POINTS)
def test_extreme_histories_stay_finite_and_sensible(params) -> None:
    model = with_params(params)
    extreme = pd.DataFrame({
        "frequency": [10_000, 10_000, 0, 0, 132, 500, 1, 10_000, 200, 3],
        "recency": [10_000.0, 5_000.0, 0.0, 0.0, 20.0, 0.01, 10_000.0, 0.01, 10_000.0, 0.01],
        "T": [10_000.0, 10_000.0, 0.01, 10_000.0, 20.0, 0.01, 10_000.0, 10_000.0, 10_000.0,
              0.01],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alive = model.probability_alive(extreme)
        expected = np.vstack([model.expected_purchases(extreme, t).to_numpy()
                              for t in (0.01, 1.0, 52.0, 10_000.0)])
        dert = model.expected_residual_lifetime(extreme, 0.0027)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert np.isfinite(expected).all() and (expected >= 0).all()
    assert (np.diff(expected, axis=0) >= 0).all()
    assert np.isfinite(dert).all() and (dert >= 0).all()
    # The last purchase today: certainly alive.
    np.testing.assert_allclose(alive[extreme["recency"] == extreme["T"]], 1.0, rtol=1e-9)
    # 10,000 purchases over 10,000 weeks, the last one today: about one a week.
    assert expected[2, 0] == pytest.approx(52.0, rel=0.01)
    # 10,000 purchases, then 5,000 (or 9,999.99) weeks of silence: gone.
    assert alive.iloc[1] < 1e-100 and alive.iloc[7] < 1e-100


def test_probability_alive_later_decreases(pnbd: ParetoNBD, cdnow: pd.DataFrame) -> None:
    now = pnbd.probability_alive(cdnow)
    later = pnbd.probability_alive(cdnow, t=26.0)
    assert (later < now).all()
    # Ageing a customer by t without purchases is the same as observing her t longer.
    older = cdnow.assign(T=cdnow["T"] + 26.0)
    np.testing.assert_allclose(later, pnbd.probability_alive(older), rtol=1e-13)


def test_s_equal_one_is_the_continuous_limit() -> None:
    data = random_histories(20, 5)
    near = [with_params((0.7, 3.0, s, 20.0)) for s in (1 - 1e-7, 1.0, 1 + 1e-7)]
    new = [m.expected_purchases_new(52.0) for m in near]
    cond = [m.expected_purchases(data, 52.0) for m in near]
    assert np.isfinite(new).all()
    assert new[1] == pytest.approx(new[0], rel=1e-6) and new[1] == pytest.approx(new[2], rel=1e-6)
    np.testing.assert_allclose(cond[1], cond[0], rtol=1e-6)
    # s = 1: E[X(t)] = (r beta / alpha) log(1 + t / beta).
    assert new[1] == pytest.approx(0.7 * 20.0 / 3.0 * np.log1p(52.0 / 20.0), rel=1e-14)


# ----------------------------------------------------------------- new customers


@pytest.mark.parametrize("params", PARAM_POINTS[:3])
def test_purchase_distribution_sums_to_one_with_the_right_mean(params) -> None:
    model = with_params(params)
    n = np.arange(0, 3000)
    for t in (1.0, 39.0, 78.0):
        probs = model.probability_of_purchases(n, t)
        assert (probs >= 0).all()
        assert probs.sum() == pytest.approx(1.0, abs=1e-10)
        assert (n * probs).sum() == pytest.approx(model.expected_purchases_new(t), rel=1e-8)


def test_probability_of_zero_purchases_by_hand() -> None:
    # P(X(t)=0) = (α/(α+t))^r (β/(β+t))^s + ∫_0^t (α/(α+y))^r sβ^s (β+y)^-(s+1) dy.
    r, a, s, b = 0.553, 10.578, 0.606, 11.669
    t = 10.0
    integral = integrate.quad(lambda y: (a / (a + y)) ** r * s * b ** s * (b + y) ** -(s + 1),
                              0, t, epsabs=0, epsrel=1e-13)[0]
    expected = (a / (a + t)) ** r * (b / (b + t)) ** s + integral
    assert with_params((r, a, s, b)).probability_of_purchases(0, t) == pytest.approx(
        expected, rel=1e-11)


# ----------------------------------------------------------------- DERT


def test_dert_of_a_new_customer_is_the_discounted_purchase_rate() -> None:
    # A customer just acquired (x = t_x = T = 0) buys at rate r/α while alive, and is
    # alive at t with probability (β/(β+t))^s: DERT = ∫ e^-δt (r/α)(β/(β+t))^s dt.
    r, a, s, b = 0.553, 10.578, 0.606, 11.669
    model = with_params((r, a, s, b))
    new = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0]})
    for delta in (0.0027, 0.05, 1.0):
        expected = integrate.quad(lambda t, d=delta: np.exp(-d * t) * r / a * (b / (b + t)) ** s,
                                  0, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]
        got = model.expected_residual_lifetime(new, delta).iloc[0]
        assert got == pytest.approx(expected, rel=1e-9)


def test_dert_is_the_discounted_conditional_purchase_rate(pnbd: ParetoNBD) -> None:
    # For any history: DERT = ∫ e^-δt d/dt E[X(T, T+t) | history] dt, and the rate is
    # P(alive) (r+x)/(α+T) ((β+T)/(β+T+t))^s.
    r, a, s, b = pnbd.params_
    data = pd.DataFrame({"frequency": [0, 2, 7, 20], "recency": [0.0, 30.43, 10.0, 38.0],
                         "T": [38.86, 38.86, 38.86, 38.86]})
    alive = pnbd.probability_alive(data).to_numpy()
    delta = np.log(1.15) / 52  # 15% a year on weekly data, FHL 2005
    dert = pnbd.expected_residual_lifetime(data, delta).to_numpy()
    for i, (x, _, T) in enumerate(data.itertuples(index=False)):
        rate = lambda t, x=x, T=T: (np.exp(-delta * t) * (r + x) / (a + T)  # noqa: E731
                                    * ((b + T) / (b + T + t)) ** s)
        expected = alive[i] * integrate.quad(rate, 0, np.inf, epsabs=0, epsrel=1e-12,
                                             limit=500)[0]
        assert dert[i] == pytest.approx(expected, rel=1e-9)


def test_dert_matches_the_tricomi_formula(pnbd: ParetoNBD) -> None:
    # FHL 2005 (JMR) eq. 2 with mpmath's Ψ(s, s; z).
    mp = pytest.importorskip("mpmath")
    r, a, s, b = (float(v) for v in pnbd.params_)
    data = pd.DataFrame({"frequency": [0, 2, 7], "recency": [0.0, 30.43, 10.0],
                         "T": [38.86, 38.86, 38.86]})
    x, t_x, T = arrays(data)
    log_l, _ = paretonbd_loglik_grad(np.array([r, a, s, b]), x, t_x, T)
    delta = 0.0027
    expected = [float(mp.exp(r * mp.log(a) + s * mp.log(b) + (s - 1) * mp.log(delta)
                             + mp.loggamma(r + xi + 1) - mp.loggamma(r)
                             - (r + xi + 1) * mp.log(a + Ti) - li)
                      * mp.hyperu(s, s, delta * (b + Ti)))
                for xi, Ti, li in zip(x, T, log_l, strict=True)]
    np.testing.assert_allclose(pnbd.expected_residual_lifetime(data, delta), expected,
                               rtol=1e-10)


def test_dert_decreases_with_the_discount_rate(pnbd: ParetoNBD, cdnow: pd.DataFrame) -> None:
    rates = [np.log(1 + i) / 52 for i in (0.05, 0.15, 0.5)]
    dert = np.vstack([pnbd.expected_residual_lifetime(cdnow, d).to_numpy() for d in rates])
    assert (dert > 0).all() and (np.diff(dert, axis=0) < 0).all()
    # Heavy discounting: only the current purchase rate counts, DERT·δ -> E[λ | data].
    x, T = cdnow["frequency"], cdnow["T"]
    rate = pnbd.probability_alive(cdnow) * (pnbd.params_["r"] + x) / (pnbd.params_["alpha"] + T)
    np.testing.assert_allclose(pnbd.expected_residual_lifetime(cdnow, 1e6) * 1e6, rate,
                               rtol=1e-4)


def test_mean_inverse_shifted_gamma_against_mpmath() -> None:
    # E[1/(z+V)], V ~ Gamma(s, 1), is z^(s-1) Ψ(s, s; z); scipy's hyperu is NaN or
    # inaccurate in parts of this grid.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    z = np.array([1e-10, 1e-4, 0.1, 1.0, 10.0, 1e3, 1e8])
    for s in (0.05, 0.606, 0.999, 1.0, 1.5, 10.0, 50.0):
        expected = [float(mp.mpf(zi) ** (s - 1) * mp.hyperu(s, s, zi)) for zi in z]
        np.testing.assert_allclose(_mean_inverse_shifted_gamma(s, z), expected, rtol=1e-12)


# ----------------------------------------------------------------- predictions and errors


def test_predictions_return_series_on_the_index(pnbd: ParetoNBD, cdnow: pd.DataFrame) -> None:
    subset = cdnow.iloc[[5, 1, 3]]
    for result, name in [(pnbd.expected_purchases(subset, 4.0), "expected_purchases"),
                         (pnbd.probability_alive(subset), "probability_alive"),
                         (pnbd.expected_residual_lifetime(subset, 0.01), "dert")]:
        assert result.index.equals(subset.index) and result.name == name
    assert isinstance(pnbd.expected_purchases_new(3.0), float)
    assert pnbd.probability_of_purchases(np.array([0, 1]), 3.0).shape == (2,)


def test_bad_arguments(pnbd: ParetoNBD, cdnow: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="horizon t must be positive"):
        pnbd.expected_purchases(cdnow, 0)
    with pytest.raises(ValueError, match="t must be a non-negative number"):
        pnbd.probability_alive(cdnow, t=-1.0)
    with pytest.raises(ValueError, match="n must be non-negative integers"):
        pnbd.probability_of_purchases(1.5, 3.0)
    with pytest.raises(ValueError, match=r"continuously compounded.*log\(1 \+ i\)"):
        pnbd.expected_residual_lifetime(cdnow, 0.0)
    with pytest.raises(DataError, match="ParetoNBD needs at least 40 customers"):
        ParetoNBD().fit(random_histories(12, 6))


# ----------------------------------------------------------------- boundaries and limits


def test_five_repeat_buyers_give_a_common_dropout_rate() -> None:
    """Issue 17's five repeat buyers within three days: s and beta ran off (s = 8e5) with
    converged_ True and no word. Now the fit reports the common-dropout-rate limit, and its
    log-likelihood is that model's, integrated here with scipy's quad."""
    from scipy.integrate import quad
    from scipy.special import gammaln

    rng = np.random.default_rng(1)
    data = pd.DataFrame({
        "frequency": [0] * 195 + [1, 2, 1, 3, 2],
        "recency": [0.0] * 195 + [1.0, 2.0, 3.0, 2.5, 1.5],
        "T": np.r_[rng.uniform(3, 50, 195), [3.0] * 5]})
    model = ParetoNBD().fit(data)
    assert model.limit_ == "common dropout" and model.boundary_.startswith("s, beta → ∞")
    r, alpha, s, beta = model.params_
    mu = s / beta
    total = 0.0
    for x, t_x, T in data.itertuples(index=False):
        tail = quad(lambda tau, x=x: (alpha + tau) ** -(r + x) * np.exp(-mu * tau), t_x, T,
                    epsabs=0, epsrel=1e-12)[0]
        total += (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                  + np.log((alpha + T) ** -(r + x) * np.exp(-mu * T) + mu * tail))
    assert model.loglik_ == pytest.approx(total, abs=1e-4)
    assert model.loglik_ >= max(model.limits_.values()) - 1e-6
    assert model.se_[["s", "beta"]].isna().all()
    assert np.isfinite(model.expected_residual_lifetime(data, 0.01)).all()


def test_no_dropout_limit_predicts_with_the_nbd_model() -> None:
    import json

    text = json.loads(ParetoNBD.from_params({"r": 0.5, "alpha": 5.0, "s": 1e-12,
                                             "beta": 1.0}).to_json())
    text["limit"] = "no dropout"
    text["boundary"] = ParetoNBD().limits()[0].sentence
    model = ParetoNBD.from_json(json.dumps(text))
    data = pd.DataFrame({"frequency": [0, 4, 100], "recency": [0.0, 20.0, 25.0],
                         "T": [30.0] * 3})
    rate = (0.5 + data["frequency"]) / (5.0 + 30.0)
    assert (model.probability_alive(data) == 1.0).all()
    np.testing.assert_allclose(model.expected_purchases(data, 10.0), 10 * rate, rtol=1e-12)
    np.testing.assert_allclose(model.expected_residual_lifetime(data, 0.01), rate / 0.01,
                               rtol=1e-12)
    assert model.expected_purchases_new(10.0) == pytest.approx(0.5 / 5.0 * 10, rel=1e-12)
    from scipy.stats import nbinom

    np.testing.assert_allclose(model.probability_of_purchases(np.arange(4), 10.0),
                               nbinom.pmf(np.arange(4), 0.5, 5.0 / 15.0), rtol=1e-10)
