"""sBG and BdW against Fader & Hardie (2007, 2010), hand sums, and each other.

The model contract (JSON, determinism, not fitted...) is in test_model_contract.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from retention_kit.datasets import load_sbg_cohorts
from retention_kit.errors import ConvergenceError, DataError
from retention_kit.models.sbg import (
    SBG,
    BdW,
    _digamma_gap,
    bdw_log_survival,
    bdw_loglik_grad,
    log_beta_ratio,
    sbg_loglik_grad,
)
from retention_kit.simulate import simulate_contract_snapshot

COHORTS = ("regular", "high_end")


@pytest.fixture(scope="module")
def cohorts():
    return load_sbg_cohorts()


@pytest.fixture(scope="module")
def customers(cohorts) -> dict[str, pd.DataFrame]:
    frame = cohorts.customers
    return {name: frame.loc[frame["cohort"] == name] for name in COHORTS}


@pytest.fixture(scope="module")
def sbg(customers) -> dict[str, SBG]:
    return {name: SBG().fit(data) for name, data in customers.items()}


@pytest.fixture(scope="module")
def bdw(customers) -> dict[str, BdW]:
    return {name: BdW().fit(data) for name, data in customers.items()}


def with_params(cls, **params: float):
    model = cls()
    model.params_ = pd.Series(params, name="estimate")
    return model


def hand_survival(alpha: float, beta: float, t_max: int) -> np.ndarray:
    """sBG S(0..t_max) as the product of retention rates (Fader & Hardie 2007 eq. 5)."""
    t = np.arange(1, t_max + 1)
    return np.concatenate([[1.0], np.cumprod((beta + t - 1) / (alpha + beta + t - 1))])


# ----------------------------------------------------------------- published values


def test_sbg_reproduces_fader_hardie_2007(sbg: dict[str, SBG]) -> None:
    # FH 2007, years 0..7: regular alpha 0.704, beta 1.182; high end alpha 0.668, beta 3.806.
    published = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}
    for name, (alpha, beta) in published.items():
        model = sbg[name]
        assert model.params_["alpha"] == pytest.approx(alpha, rel=5e-3)
        assert model.params_["beta"] == pytest.approx(beta, rel=5e-3)
        assert model.n_obs_ == 1000 and model.converged_
    # The cohort with the lower retention gets the lower beta / (alpha + beta).
    assert sbg["regular"].retention_rate(1) < sbg["high_end"].retention_rate(1)
    assert sbg["regular"].loglik_ == pytest.approx(-1680.27, abs=0.01)
    assert sbg["high_end"].loglik_ == pytest.approx(-1611.16, abs=0.01)


def test_sbg_projects_years_8_to_12(sbg: dict[str, SBG], cohorts) -> None:
    # Projected vs actual percentage surviving, years 8..12, from the 7-year fit:
    #   regular  22.0 20.4 19.1 18.0 17.0  vs 22.3 20.7 19.4 18.3 17.3  (-0.3 points each)
    #   high end 46.0 43.6 41.4 39.5 37.8  vs 46.8 44.5 42.7 40.9 39.4  (-0.8 to -1.6)
    # The sBG slightly under-projects both cohorts, by at most 1.6 points at year 12.
    years = np.arange(8, 13)
    projected = {"regular": [22.0, 20.4, 19.1, 18.0, 17.0],
                 "high_end": [46.0, 43.6, 41.4, 39.5, 37.8]}
    for name in COHORTS:
        ours = 100 * sbg[name].survival(years)
        actual = cohorts.survival.loc[years, name].to_numpy()
        np.testing.assert_allclose(ours.round(1), projected[name], atol=1e-9)
        error = ours - actual
        assert (error < 0).all() and (np.abs(error) < 2.0).all()
    # In sample (years 1..7) the fit is within 2 points too.
    for name in COHORTS:
        fitted = 100 * sbg[name].survival(np.arange(1, 8))
        actual = cohorts.survival.loc[1:7, name].to_numpy()
        assert np.abs(fitted - actual).max() < 2.0


def test_bdw_fits_both_cohorts_and_nests_sbg(bdw: dict[str, BdW], sbg: dict[str, SBG],
                                           cohorts) -> None:
    # c > 1 on both cohorts: individual churn propensity rises with tenure.
    expected = {"regular": (0.456, 0.779, 1.283, -1679.60),
                "high_end": (0.214, 1.427, 1.724, -1605.31)}
    years = np.arange(8, 13)
    for name, (alpha, beta, c, loglik) in expected.items():
        model = bdw[name]
        np.testing.assert_allclose(model.params_, [alpha, beta, c], rtol=5e-3)
        assert model.loglik_ == pytest.approx(loglik, abs=0.01)
        assert model.loglik_ >= sbg[name].loglik_
        # ... and it projects years 8..12 closer to the actual survivors than the sBG.
        actual = cohorts.survival.loc[years, name].to_numpy() / 100
        assert (np.abs(model.survival(years) - actual).mean()
                < np.abs(sbg[name].survival(years) - actual).mean())


def test_weights_compress_and_churned_may_be_integers(customers, sbg: dict[str, SBG]) -> None:
    data = customers["regular"]
    unique = data.groupby(["duration", "churned"]).size().rename("weights").reset_index()
    assert len(unique) == 8
    weighted = SBG().fit(unique, weights="weights")
    np.testing.assert_allclose(weighted.params_, sbg["regular"].params_, rtol=1e-9)
    # churned as 0/1 integers is the same as booleans
    as_int = SBG().fit(data.assign(churned=data["churned"].astype(int)))
    np.testing.assert_allclose(as_int.params_, sbg["regular"].params_, rtol=1e-12)


# ----------------------------------------------------------------- gradients


def random_durations(m: int, seed: int, t_max: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(1, t_max + 1, m).astype(float), rng.uniform(size=m) < 0.6


def test_sbg_gradient_is_exact(five_point_gradient) -> None:
    t, dead = random_durations(300, 1)
    rng = np.random.default_rng(2)
    for _ in range(8):
        params = rng.uniform(0.1, 8, 2)
        _, grad = sbg_loglik_grad(params, t, dead)
        numeric = five_point_gradient(lambda p: sbg_loglik_grad(p, t, dead)[0], params)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_bdw_gradient_is_exact(five_point_gradient) -> None:
    t, dead = random_durations(300, 3)
    rng = np.random.default_rng(4)
    for c in (0.3, 0.8, 1.0, 1.7, 2.5):
        params = np.array([*rng.uniform(0.1, 5, 2), c])
        _, grad = bdw_loglik_grad(params, t, dead)
        numeric = five_point_gradient(lambda p: bdw_loglik_grad(p, t, dead)[0], params)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_digamma_gap_keeps_precision() -> None:
    from scipy.special import digamma

    x = np.array([0.5, 3.0, 19.0, 25.0, 400.0])
    a = np.array([2.0, 0.7, 1.5, 3.0, 10.0])
    np.testing.assert_allclose(_digamma_gap(x, a), digamma(x + a) - digamma(x), rtol=1e-12)
    # Where subtraction loses everything: ψ(x+a) - ψ(x) ~ a/x for large x.
    assert _digamma_gap(1e30, 1e3) == pytest.approx(1e-27, rel=1e-12)
    assert _digamma_gap(1.0, 1e-9) == pytest.approx(1e-9 * math.pi**2 / 6, rel=1e-8)


# ----------------------------------------------------------------- BdW nests sBG


def test_bdw_with_c_one_is_sbg() -> None:
    t, dead = random_durations(400, 5, t_max=200)
    for alpha, beta in ((0.7, 1.2), (0.05, 30.0), (12.0, 0.4)):
        ll_bdw, grad_bdw = bdw_loglik_grad(np.array([alpha, beta, 1.0]), t, dead)
        ll_sbg, grad_sbg = sbg_loglik_grad(np.array([alpha, beta]), t, dead)
        # Equal up to rounding: the BdW forms P(T=t) as S(t-1) - S(t) in log space, a
        # difference of betaln values (relative error up to ~2e-10 at small α, long t).
        np.testing.assert_allclose(ll_bdw, ll_sbg, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(grad_bdw[:, :2], grad_sbg, rtol=1e-8, atol=1e-11)
        b = with_params(BdW, alpha=alpha, beta=beta, c=1.0)
        s = with_params(SBG, alpha=alpha, beta=beta)
        ts = np.arange(0, 300)
        np.testing.assert_allclose(b.survival(ts), s.survival(ts), rtol=1e-12)
        np.testing.assert_allclose(b.retention_rate(ts[1:]), s.retention_rate(ts[1:]),
                                   rtol=1e-11)
        np.testing.assert_allclose(b.probability_of_churn(ts[1:]),
                                   s.probability_of_churn(ts[1:]), rtol=1e-10)
        for d in (0.05, 0.1, 1.0):
            assert b.expected_lifetime(d) == pytest.approx(s.expected_lifetime(d), rel=1e-11)
            np.testing.assert_allclose(b.expected_residual_lifetime([0, 3, 50], d),
                                       s.expected_residual_lifetime([0, 3, 50], d), rtol=1e-11)


# ----------------------------------------------------------------- survival and lifetimes


@pytest.mark.parametrize("model_name", ["sbg", "bdw"])
def test_survival_is_a_decreasing_distribution(model_name: str, request) -> None:
    for model in request.getfixturevalue(model_name).values():
        t = np.arange(0, 500)
        surv = model.survival(t)
        assert surv[0] == 1.0 and (np.diff(surv) <= 0).all() and (surv > 0).all()
        pmf = model.probability_of_churn(t[1:])
        assert pmf.sum() + surv[-1] == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(pmf, -np.diff(surv), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(model.retention_rate(t[1:]), surv[1:] / surv[:-1],
                                   rtol=1e-11)


def test_sbg_retention_rate_rises_with_tenure(sbg: dict[str, SBG]) -> None:
    # FH 2007: aggregate retention rises as the churn-prone customers leave.
    for model in sbg.values():
        assert (np.diff(model.retention_rate(np.arange(1, 50))) > 0).all()


def test_del_and_derl_by_hand() -> None:
    # α = 3, β = 2: S(t) = 12 B(3, 2+t), S(1) = 0.4, S(2) = 0.2, E[T] = (α+β-1)/(α-1) = 2.
    model = with_params(SBG, alpha=3.0, beta=2.0)
    surv = hand_survival(3.0, 2.0, 4000)
    np.testing.assert_allclose(surv[:3], [1.0, 0.4, 0.2], rtol=1e-14)
    np.testing.assert_allclose(model.survival(np.arange(4001)), surv, rtol=1e-10)
    assert model.expected_lifetime(0.0) == 2.0
    for d in (0.0, 0.1, 0.01):
        z = 1 / (1 + d)
        t = np.arange(4001)
        del_sum = float(np.sum(surv * z**t))
        tol = 1e-3 if d == 0 else 1e-12  # the undiscounted sum's tail decays like t^-2
        assert model.expected_lifetime(d) == pytest.approx(del_sum, rel=tol)
        for n in (0, 1, 7, 30):
            # Renewed n times: the current period is paid; the next payment (renewal n+1)
            # counts undiscounted if she renews, the one after once discounted, ...
            later = t[n + 1:]
            derl_sum = float(np.sum(surv[later] / surv[n] * z ** (later - n - 1)))
            assert model.expected_residual_lifetime(n, d) == pytest.approx(derl_sum, rel=tol)
        # DEL = 1 + DERL(0)/(1+d)
        if d > 0:
            assert model.expected_lifetime(d) == pytest.approx(
                1 + model.expected_residual_lifetime(0, d) * z, rel=1e-12)
    # Fader & Hardie's (2010) own indexing, "n-1 renewals", gives the same number:
    # (β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d)) with their n = our n + 1.
    from scipy.special import hyp2f1

    for n_theirs in (1, 2, 8):
        fh = ((2.0 + n_theirs - 1) / (5.0 + n_theirs - 1)
              * hyp2f1(1, 2.0 + n_theirs, 5.0 + n_theirs, 1 / 1.1))
        assert model.expected_residual_lifetime(n_theirs - 1, 0.1) == pytest.approx(fh, rel=1e-13)


def test_bdw_lifetimes_by_hand(bdw: dict[str, BdW]) -> None:
    model = bdw["high_end"]
    params = model.params_.to_numpy()
    t = np.arange(0, 3000)
    surv = np.exp(bdw_log_survival(params, t))
    z = 1 / 1.1
    assert model.expected_lifetime(0.1) == pytest.approx(float(np.sum(surv * z**t)), rel=1e-12)
    for n in (0, 4, 12):
        later = t[n + 1:]
        hand = float(np.sum(surv[later] / surv[n] * z ** (later - n - 1)))
        assert model.expected_residual_lifetime(n, 0.1) == pytest.approx(hand, rel=1e-12)
    # A loyal, long-tenure customer is worth more than a new one (sorting effect).
    derl = model.expected_residual_lifetime(np.arange(0, 20), 0.1)
    assert (np.diff(derl) > 0).all()


def test_undiscounted_lifetime_and_infinite_mean() -> None:
    assert math.isinf(with_params(SBG, alpha=0.7, beta=1.2).expected_lifetime(0.0))
    assert math.isinf(with_params(SBG, alpha=0.7, beta=1.2).expected_residual_lifetime(3, 0.0))
    assert with_params(SBG, alpha=3.0, beta=2.0).expected_residual_lifetime(5, 0.0) == 3.5
    with pytest.raises(ValueError, match="discount_rate must be a number > 0"):
        with_params(BdW, alpha=3.0, beta=2.0, c=1.0).expected_lifetime(0.0)


def test_series_in_series_out(sbg: dict[str, SBG], customers) -> None:
    active = customers["high_end"].loc[~customers["high_end"]["churned"]]
    derl = sbg["high_end"].expected_residual_lifetime(active["duration"], 0.1)
    assert isinstance(derl, pd.Series) and derl.index.equals(active.index)
    assert isinstance(sbg["high_end"].survival(3), float)
    assert sbg["high_end"].survival([1, 2]).shape == (2,)


def test_extreme_inputs_stay_finite() -> None:
    t = np.array([1.0, 2.0, 10.0, 1e3, 1e4, 1e6])
    for churned in (True, False):
        dead = np.full(t.shape, churned)
        for params in ([1e-3, 1e-3, 1e-3], [1e3, 1e3, 5.0], [0.5, 2.0, 0.05], [0.5, 2.0, 8.0],
                       [50.0, 0.01, 1.0]):
            ll, grad = bdw_loglik_grad(np.array(params), t, dead)
            assert np.isfinite(ll).all() and np.isfinite(grad).all() and (ll <= 0).all()
            ll, grad = sbg_loglik_grad(np.array(params[:2]), t, dead)
            assert np.isfinite(ll).all() and np.isfinite(grad).all() and (ll <= 0).all()
    # At t^c = 1e30 the c-derivative of log S(t) is about -α·ln t, not 0.
    _, grad = bdw_loglik_grad(np.array([1e3, 1e3, 5.0]), np.array([1e6]), np.array([False]))
    assert grad[0, 2] == pytest.approx(-1e3 * math.log(1e6), rel=1e-6)
    for model in (with_params(SBG, alpha=0.01, beta=500.0),
                  with_params(BdW, alpha=0.5, beta=2.0, c=0.05),
                  with_params(BdW, alpha=0.5, beta=2.0, c=8.0)):
        surv = model.survival([0, 1, 10**6])
        assert np.isfinite(surv).all() and (surv >= 0).all()
        assert np.isfinite(model.expected_lifetime(0.01))
        assert np.isfinite(model.expected_residual_lifetime([0, 10**5], 0.01)).all()


# ----------------------------------------------------------------- reporting and arguments


def test_summary_and_repr(sbg: dict[str, SBG]) -> None:
    model = sbg["regular"]
    assert list(model.summary().index) == ["alpha", "beta"]
    assert repr(model) == "SBG(alpha=0.7041, beta=1.182; n=1,000, loglik=-1680.27)"


def test_no_warnings_on_a_normal_fit(customers) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cls in (SBG, BdW):
            model = cls().fit(customers["regular"])
            model.survival(np.arange(20))
            model.expected_residual_lifetime(np.arange(10), 0.1)


def test_bad_arguments(sbg: dict[str, SBG]) -> None:
    model = sbg["regular"]
    for bad in (-1, 1.5, [1, np.nan]):
        with pytest.raises(ValueError, match="t must be whole numbers of periods >= 0"):
            model.survival(bad)
    with pytest.raises(ValueError, match="t must be whole numbers of periods >= 1"):
        model.retention_rate(0)
    with pytest.raises(ValueError, match="discount_rate must be a number >= 0 per period"):
        model.expected_lifetime(-0.1)
    with pytest.raises(ValueError, match="n must be whole numbers"):
        model.expected_residual_lifetime(-1, 0.1)


# ----------------------------------------------------------------- bad data, one rule each


def test_duration_zero(customers) -> None:
    data = customers["regular"].copy()
    data.loc[data.index[4], "duration"] = 0
    with pytest.raises(DataError, match=r"duration is below 1.*Rows affected: 1.*First example: "
                                        r"row 4: duration=0, churned=True.*How to fix"):
        SBG().fit(data)


def test_churned_not_boolean(customers) -> None:
    data = customers["regular"].astype({"churned": int})
    data.loc[data.index[2], "churned"] = 2
    with pytest.raises(DataError, match=r"churned is not boolean.*row 2: duration=1, churned=2"):
        BdW().fit(data)
    text = customers["regular"].astype({"churned": str})
    with pytest.raises(DataError, match="'churned' has missing or non-numeric values"):
        SBG().fit(text)


def test_non_integer_duration(customers) -> None:
    data = customers["regular"].astype({"duration": float})
    data.loc[data.index[0], "duration"] = 1.5
    with pytest.raises(DataError, match="duration has non-integer values"):
        SBG().fit(data)


def test_negative_duration(customers) -> None:
    data = customers["regular"].copy()
    data.loc[data.index[1], "duration"] = -2
    with pytest.raises(DataError, match="'duration' has negative values"):
        SBG().fit(data)


def test_too_few_customers(customers) -> None:
    with pytest.raises(DataError, match="SBG needs at least 20 customers .* the data have 19"):
        SBG().fit(customers["regular"].iloc[:19])
    with pytest.raises(DataError, match="BdW needs at least 30 customers"):
        BdW().fit(customers["regular"].iloc[:29])


# ----------------------------------------------------------------- boundaries (issue 16, 17)


def geometric_ll(mu: float, t: np.ndarray, dead: np.ndarray, e: np.ndarray | None = None,
                 ) -> float:
    """The geometric log-likelihood written out independently (numpy only)."""
    e = np.zeros(len(t)) if e is None else e
    return float(np.sum(dead * np.log(mu) + (t - e - dead) * np.log(1 - mu)))


def weibull_ll(mu: float, c: float, t: np.ndarray, dead: np.ndarray) -> float:
    """The discrete-Weibull log-likelihood S(t) = (1-mu)^(t^c), written out independently."""
    surv = lambda x: (1 - mu) ** (x ** c)  # noqa: E731
    return float(np.sum(np.where(dead, np.log(surv(t - 1) - surv(t)), np.log(surv(t)))))


def test_log_survival_is_exact_at_huge_alpha_beta() -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    for a, b in ((25.0, 30.0), (1e6, 1e9), (1.9e30, 1.4e33), (0.5, 1e12), (1e12, 0.5)):
        for t in (1.0, 7.0, 72.0, 1e4, 1e8):
            ref = float(mp.loggamma(mp.mpf(b) + t) - mp.loggamma(b)
                        - mp.loggamma(mp.mpf(a) + b + t) + mp.loggamma(mp.mpf(a) + b))
            got = float(log_beta_ratio(a, b, t))
            assert got == pytest.approx(ref, rel=1e-9, abs=1e-9), (a, b, t)


def test_real_case_parameters_give_the_geometric_likelihood() -> None:
    # The fit of issue 16: alpha 1.9e30, beta 1.4e33 on 3,157 customers, 214 churners. The
    # old code said loglik 0.00 and survival 1.000; the likelihood there is the geometric's.
    rng = np.random.default_rng(16)
    t = rng.integers(1, 73, 3157).astype(float)
    dead = np.zeros(3157, bool)
    dead[rng.choice(3157, 214, replace=False)] = True
    alpha, beta = 1.9e30, 1.4e33
    mu = alpha / (alpha + beta)
    ll, grad = sbg_loglik_grad(np.array([alpha, beta]), t, dead)
    assert ll.sum() == pytest.approx(geometric_ll(mu, t, dead), rel=1e-12)
    assert np.isfinite(grad).all()
    model = SBG.from_params({"alpha": alpha, "beta": beta})
    n = np.arange(0, 100)
    np.testing.assert_allclose(model.survival(n), (1 - mu) ** n, rtol=1e-12)
    np.testing.assert_allclose(model.retention_rate(n + 1), 1 - mu, rtol=1e-13)
    np.testing.assert_allclose(model.probability_of_churn(n + 1), (1 - mu) ** n * mu, rtol=1e-10)
    for d in (0.01, 0.1):
        assert model.expected_lifetime(d) == pytest.approx((1 + d) / (d + mu), rel=1e-10)
        np.testing.assert_allclose(model.expected_residual_lifetime([0, 50], d),
                                   (1 - mu) * (1 + d) / (d + mu), rtol=1e-10)
    assert model.expected_lifetime(0.0) == pytest.approx(1 / mu, rel=1e-12)
    bdw = BdW.from_params({"alpha": alpha, "beta": beta, "c": 0.7})
    np.testing.assert_allclose(bdw.survival(n), (1 - mu) ** (n ** 0.7), rtol=1e-12)
    assert np.isfinite(bdw.expected_residual_lifetime([0, 50], 0.01)).all()


def negligible_heterogeneity(seed: int, **params: float) -> pd.DataFrame:
    """Every customer observed from acquisition over 72 (or 24) months; theta ~ Beta(huge)."""
    periods = 24 if "c" in params else 72
    sim = simulate_contract_snapshot(3000, params=params, n_periods=periods, window=periods,
                                     random_state=seed)
    assert (sim["entry"] == 0).all()
    return sim[["duration", "churned"]]


def test_sbg_returns_the_geometric_limit_at_negligible_heterogeneity() -> None:
    # theta ~ Beta(5e4, 9.5e5): sd 2e-4 around 0.05. With seed 0 the maximum lies at the
    # boundary (the geometric's likelihood is not beaten); it is returned as such.
    data = negligible_heterogeneity(0, alpha=5e4, beta=9.5e5)
    t, dead = data["duration"].to_numpy(float), data["churned"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SBG().fit(data)
    mu = dead.sum() / t.sum()
    assert model.boundary_.startswith("The customers do not measurably differ")
    assert f"probability {mu:.4g}" in model.boundary_ and "geometric model" in model.boundary_
    assert model.converged_ and model.se_.isna().all()
    assert model.loglik_ == pytest.approx(geometric_ll(mu, t, dead), rel=1e-13)
    assert model.loglik_ == pytest.approx(-8940.88, abs=0.01)
    alpha, beta = model.params_
    assert alpha / (alpha + beta) == pytest.approx(mu, rel=1e-12)
    np.testing.assert_allclose(model.survival([0, 1, 12, 72]), (1 - mu) ** np.array(
        [0, 1, 12, 72]), rtol=1e-10)
    assert model.expected_lifetime(0.01) == pytest.approx(1.01 / (0.01 + mu), rel=1e-10)
    # ... and survives JSON with its sentence.
    again = SBG.from_json(model.to_json())
    assert again.boundary_ == model.boundary_
    assert again.survival(12) == pytest.approx(model.survival(12), rel=1e-15)


def test_an_interior_maximum_beats_the_limit() -> None:
    # Seed 2 of the same process: a small estimated spread (alpha 183, beta 3523) that
    # beats the geometric's likelihood, so it is kept (an interior maximum is not a boundary).
    data = negligible_heterogeneity(2, alpha=5e4, beta=9.5e5)
    t, dead = data["duration"].to_numpy(float), data["churned"].to_numpy()
    model = SBG().fit(data)
    assert model.boundary_ is None
    assert model.loglik_ > geometric_ll(dead.sum() / t.sum(), t, dead) + 1e-4
    np.testing.assert_allclose(model.params_, [182.72, 3522.76], rtol=1e-3)


def test_bdw_returns_the_discrete_weibull_limit() -> None:
    data = negligible_heterogeneity(2, alpha=5e4, beta=4.5e5, c=0.8)
    t, dead = data["duration"].to_numpy(float), data["churned"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BdW().fit(data)
    alpha, beta, c = model.params_
    mu = alpha / (alpha + beta)
    assert model.boundary_.startswith("The customers do not measurably differ")
    assert "discrete Weibull" in model.boundary_ and "falls with tenure" in model.boundary_
    assert model.loglik_ == pytest.approx(weibull_ll(mu, c, t, dead), rel=1e-12)
    # (mu, c) is the discrete Weibull's maximum: every step away lowers the likelihood.
    for dm, dc in ((1e-4, 0), (-1e-4, 0), (0, 1e-3), (0, -1e-3)):
        assert weibull_ll(mu + dm, c + dc, t, dead) < model.loglik_
    assert (mu, c) == (pytest.approx(0.0965, abs=5e-4), pytest.approx(0.815, abs=1e-3))
    np.testing.assert_allclose(model.survival([3, 24]), (1 - mu) ** (np.array([3, 24]) ** c),
                               rtol=1e-10)
    assert np.isfinite(model.expected_residual_lifetime([0, 24], 0.01)).all()


def test_no_churner_is_refused() -> None:
    data = pd.DataFrame({"duration": np.arange(1, 41), "churned": False})
    for cls in (SBG, BdW):
        with pytest.raises(ConvergenceError, match=re.escape(
                f"{cls.__name__} cannot be fitted to these data: no customer churned, so "
                "nothing is known about how long customers stay")):
            cls().fit(data)


def test_fewer_churners_than_parameters_is_refused() -> None:
    data = pd.DataFrame({"duration": np.arange(1, 41), "churned": np.arange(40) < 2})
    with pytest.raises(ConvergenceError, match=re.escape(
            "BdW cannot be fitted to these data: only 2 customers churned, too few for the 3 "
            "parameters of the model.")):
        BdW().fit(data)
    assert SBG().fit(data).n_obs_ == 40


def test_single_renewal_observed_is_refused() -> None:
    data = pd.DataFrame({"duration": 1, "churned": np.arange(40) < 30})
    with pytest.raises(ConvergenceError, match="every customer was observed for a single "
                                               "renewal, so the data show the churn rate"):
        SBG().fit(data)


def test_95_percent_churn_at_period_one_is_the_polarised_limit() -> None:
    # Issue 17: sBG returned its start values with NaN standard errors. The maximum is at
    # alpha, beta -> 0 with alpha/(alpha+beta) = 0.95 (950 leave at once, 50 never do).
    rng = np.random.default_rng(17)
    dead = np.arange(1000) < 950
    data = pd.DataFrame({"duration": np.where(dead, 1, rng.integers(1, 13, 1000)),
                         "churned": dead})
    model = SBG().fit(data)
    alpha, beta = model.params_
    assert alpha + beta < 1e-6 and alpha / (alpha + beta) == pytest.approx(0.95, rel=1e-6)
    assert model.boundary_.startswith("The customers split into two groups")
    assert "a share 0.95 of the customers churns at the first renewal" in model.boundary_
    # log-likelihood of the two-point limit: 950 log 0.95 + 50 log 0.05
    assert model.loglik_ == pytest.approx(950 * math.log(0.95) + 50 * math.log(0.05), abs=1e-5)
    assert model.survival(12) == pytest.approx(0.05, abs=1e-6)
    assert np.isfinite(model.expected_residual_lifetime([0, 12], 0.1)).all()


def test_duration_models_remedies_are_about_durations(customers) -> None:
    for cls in (SBG, BdW):
        text = cls.convergence_remedies
        assert "duration" in text and "churned" in text and "entry" in text
        assert "recency" not in text and " T " not in text
    # A fit stopped early (the limit is not the maximum here) quotes them.
    with pytest.raises(ConvergenceError, match=r"BdW did not converge: .* Remedies: check "
                                               r"that duration counts whole renewal periods"):
        BdW(max_iter=1).fit(customers["regular"])


# ----------------------------------------------------------------- delayed entry


def test_zero_entry_is_no_entry(customers, sbg: dict[str, SBG]) -> None:
    data = customers["regular"].assign(entry=0)
    np.testing.assert_allclose(SBG().fit(data).params_, sbg["regular"].params_, rtol=1e-12)


def test_entry_divides_by_survival_to_entry() -> None:
    # hand example: alpha = beta = 1, S(t) = 1/(t+1); churner at 3 seen from 1:
    # P(T=3)/S(1) = (1/12)/(1/2) = 1/6; current at 4 seen from 2: S(4)/S(2) = 3/5.
    ll, _ = sbg_loglik_grad(np.array([1.0, 1.0]), np.array([3.0, 4.0]),
                            np.array([True, False]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(np.exp(ll), [1 / 6, 3 / 5], rtol=1e-14)
    ll_bdw, _ = bdw_loglik_grad(np.array([1.0, 1.0, 1.0]), np.array([3.0, 4.0]),
                                np.array([True, False]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(ll_bdw, ll, rtol=1e-13)


def test_gradients_with_entry_are_exact(five_point_gradient) -> None:
    rng = np.random.default_rng(8)
    t = rng.integers(2, 60, 200).astype(float)
    dead = rng.uniform(size=200) < 0.5
    e = np.floor(rng.uniform(size=200) * (t - 1))
    for params in ([0.7, 1.2], [30.0, 400.0], [5e5, 2e6]):
        p = np.array(params)
        _, grad = sbg_loglik_grad(p, t, dead, e)
        numeric = five_point_gradient(lambda q: sbg_loglik_grad(q, t, dead, e)[0], p)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)
    for params in ([0.7, 1.2, 0.6], [25.0, 40.0, 1.4]):
        p = np.array(params)
        _, grad = bdw_loglik_grad(p, t, dead, e)
        numeric = five_point_gradient(lambda q: bdw_loglik_grad(q, t, dead, e)[0], p)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    return simulate_contract_snapshot(40_000, params={"alpha": 0.7, "beta": 1.2},
                                      n_periods=72, window=12, random_state=0)


def test_snapshot_with_entry_recovers_the_truth(snapshot: pd.DataFrame) -> None:
    # 40,000 acquired over 72 months; the table holds the 11,056 still customers 12 months
    # before the end. With entry times the truth lies in the 95% intervals:
    # alpha 0.704 (0.671-0.738), beta 1.192 (1.106-1.286).
    assert len(snapshot) == 11_056
    summary = SBG().fit(snapshot).summary()
    for name, truth in (("alpha", 0.7), ("beta", 1.2)):
        assert summary.loc[name, "lower"] < truth < summary.loc[name, "upper"]
    np.testing.assert_allclose(summary["estimate"], [0.704, 1.192], atol=1e-3)


def test_snapshot_without_entry_is_biased(snapshot: pd.DataFrame) -> None:
    # Ignoring entry, the survivors look like a more polarised base: alpha 0.242, beta 0.830.
    summary = SBG().fit(snapshot[["duration", "churned"]]).summary()
    assert (summary["upper"] < np.array([0.7, 1.2])).all()
    np.testing.assert_allclose(summary["estimate"], [0.242, 0.830], atol=1e-3)


def test_bad_entry_times(customers) -> None:
    data = customers["regular"].assign(entry=0.0)
    data.loc[data.index[3], "entry"] = 5
    with pytest.raises(DataError, match=re.escape(
            "entry is after the duration. Rows affected: 1. First example: row 3: "
            "duration=1, churned=True, entry=5.")):
        SBG().fit(data)
    data.loc[data.index[3], "entry"] = 1
    with pytest.raises(DataError, match=re.escape(
            "entry is not below the duration of a churner. Rows affected: 1. First example: "
            "row 3: duration=1, churned=True, entry=1.")):
        SBG().fit(data)
    data.loc[data.index[3], "entry"] = -1
    with pytest.raises(DataError, match="'entry' has negative values"):
        BdW().fit(data)
    data.loc[data.index[3], "entry"] = 0.5
    with pytest.raises(DataError, match="entry has non-integer values"):
        SBG().fit(data)
    data.loc[data.index[3], "entry"] = np.nan
    with pytest.raises(DataError, match="'entry' has missing or non-numeric values"):
        SBG().fit(data)
