"""Gamma-Gamma spend model against the papers and lifetimes (contract: test_model_contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.errors import DataError
from retention_kit.models.gammagamma import (
    COMMON_SPEND_Q,
    WEAK_CORRELATION,
    GammaGamma,
    common_spend_loglik_grad,
    frequency_spend_correlation,
    gammagamma_loglik_grad,
)


@pytest.fixture(scope="module")
def repeat(cdnow: pd.DataFrame) -> pd.DataFrame:
    return cdnow[cdnow["frequency"] > 0]


@pytest.fixture(scope="module")
def gg(repeat: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(repeat)


def with_params(p: float, q: float, gamma: float) -> GammaGamma:
    model = GammaGamma()
    model.params_ = pd.Series([p, q, gamma], index=["p", "q", "gamma"], name="estimate")
    model._cov_log = np.eye(3) * 0.01
    return model


def simulate(n: int, p: float, q: float, gamma: float, seed: int) -> pd.DataFrame:
    """Mean spend of x transactions: z ~ Gamma(p, rate ν), ν ~ Gamma(q, rate γ)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 15, n)
    nu = rng.gamma(q, 1 / gamma, n)
    mean_spend = rng.gamma(p * x, 1 / (nu * x))
    return pd.DataFrame({"frequency": x, "monetary_value": mean_spend})


def simulate_common(n: int, p: float, v: float, seed: int) -> pd.DataFrame:
    """No heterogeneity: every customer's z ~ Gamma(p, scale v), so x·m ~ Gamma(px, v)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 15, n)
    return pd.DataFrame({"frequency": x, "monetary_value": rng.gamma(p * x, v, n) / x})


def scipy_common_loglik(p: float, v: float, data: pd.DataFrame) -> float:
    """Independent log-likelihood of the common-spend limit: the density of m = S/x with
    S ~ Gamma(px, scale v) is x·f_S(mx)."""
    from scipy import stats

    x = data["frequency"].to_numpy(dtype=float)
    m = data["monetary_value"].to_numpy(dtype=float)
    return float(np.sum(stats.gamma.logpdf(m * x, p * x, scale=v) + np.log(x)))


# ----------------------------------------------------------------- published values


def test_reproduces_fader_hardie_lee_2005_on_cdnow(gg: GammaGamma, repeat: pd.DataFrame) -> None:
    assert len(repeat) == 946
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert gg.params_[name] == pytest.approx(value, rel=5e-3)
    assert list(gg.params_.index) == ["p", "q", "gamma"]
    assert gg.n_obs_ == 946 and gg.converged_
    # The population mean spend per transaction, γp/(q−1).
    assert gg.expected_spend_new() == pytest.approx(35.17, abs=0.01)
    # An interior maximum, far from the common-spend limit (q = 3.74 < 50: not even fitted).
    assert gg.boundary_ is None and gg.limit_ is None and gg.limits_ == {}


def test_fit_and_standard_errors_agree_with_lifetimes(gg: GammaGamma,
                                                      repeat: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    ref = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    np.testing.assert_allclose(gg.params_.to_numpy(), ref.params_.to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(gg.se_.to_numpy(), ref.standard_errors_.to_numpy(), rtol=2e-3)


def test_expected_spend_agrees_with_lifetimes(gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    ref = lifetimes.GammaGammaFitter()
    ref.params_ = pd.Series(gg.params_.to_numpy(), index=["p", "q", "v"])
    expected = ref.conditional_expected_average_profit(cdnow["frequency"],
                                                       cdnow["monetary_value"])
    ours = gg.expected_spend(cdnow)
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(expected), rtol=1e-6)
    assert ours.index.equals(cdnow.index) and ours.name == "expected_spend"


def test_expected_spend_is_a_credibility_weighted_mean() -> None:
    model = with_params(6.0, 4.0, 15.0)
    data = pd.DataFrame({"frequency": [0, 2, 200], "monetary_value": [99.0, 20.0, 50.0]})
    population = 15.0 * 6.0 / 3.0
    assert model.expected_spend_new() == population == 30.0
    spend = model.expected_spend(data).to_numpy()
    # x = 0: the population mean, whatever monetary_value says.
    assert spend[0] == pytest.approx(population)
    # x = 2, m = 20: weight px/(px+q−1) = 12/15 on the customer's own mean -> 22.
    assert spend[1] == pytest.approx(0.2 * 30.0 + 0.8 * 20.0) == pytest.approx(22.0)
    # Many transactions: close to the customer's own mean.
    assert spend[2] == pytest.approx(50.0, rel=3e-3)


# ----------------------------------------------------------------- exact gradient


def test_gradient_is_exact(five_point_gradient) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 300, 40).astype(float)
    m = rng.lognormal(3, 1.5, 40)
    for _ in range(5):
        params = rng.uniform(0.3, 20, 3)
        _, grad = gammagamma_loglik_grad(params, x, m)
        numeric = five_point_gradient(lambda p: gammagamma_loglik_grad(p, x, m)[0], params)
        # Loglik values reach 1e3-1e4, so differences lose some absolute precision to rounding.
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def test_loglik_is_a_density_in_the_mean_spend() -> None:
    from scipy import integrate

    params = np.array([2.5, 3.0, 10.0])
    for x in (1.0, 4.0):
        def density(m: float, x: float = x) -> float:
            return float(np.exp(gammagamma_loglik_grad(params, np.array([x]),
                                                       np.array([m]))[0][0]))
        total, _ = integrate.quad(density, 0, np.inf)
        assert total == pytest.approx(1.0, abs=1e-8)


def test_extreme_arguments_stay_finite() -> None:
    x = np.array([1.0, 500.0, 5000.0, 1.0, 300.0])
    m = np.array([1e-4, 1e5, 3.0, 1e7, 1e-3])
    ll, grad = gammagamma_loglik_grad(np.array([6.0, 3.7, 15.0]), x, m)
    assert np.all(np.isfinite(ll)) and np.all(np.isfinite(grad))
    spend = with_params(6.0, 3.7, 15.0).expected_spend(
        pd.DataFrame({"frequency": x, "monetary_value": m}))
    assert np.all(np.isfinite(spend)) and np.all(spend > 0)


# ----------------------------------------------------------------- fitting


def test_recovers_simulated_parameters() -> None:
    data = simulate(20_000, p=4.0, q=5.0, gamma=40.0, seed=11)
    model = GammaGamma().fit(data)
    truth = np.array([4.0, 5.0, 40.0])
    z = (model.params_.to_numpy() - truth) / model.se_.to_numpy()
    assert np.all(np.abs(z) < 4), z


def test_weights_equal_repeated_rows(repeat: pd.DataFrame, gg: GammaGamma) -> None:
    counts = repeat.groupby(["frequency", "monetary_value"]).size().rename("n").reset_index()
    weighted = GammaGamma().fit(counts, weights="n")
    np.testing.assert_allclose(weighted.params_, gg.params_, rtol=1e-6)
    assert weighted.n_obs_ == 946


def test_one_time_buyers_are_refused_at_fit_with_the_fix(cdnow: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="repeat customers only") as err:
        GammaGamma().fit(cdnow)
    assert err.value.n_rows == int((cdnow["frequency"] == 0).sum()) == 1411
    assert 'data[data["frequency"] > 0]' in str(err.value)
    assert "row 3" in str(err.value)


def test_predictions_accept_one_time_buyers(gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    spend = gg.expected_spend(cdnow)
    one_time = cdnow["frequency"] == 0
    np.testing.assert_allclose(spend[one_time], gg.expected_spend_new())


@pytest.mark.parametrize("bad", [0.0, -12.5])
def test_non_positive_spend_of_repeat_customers_is_a_data_error(gg: GammaGamma,
                                                                bad: float) -> None:
    data = pd.DataFrame({"frequency": [2, 3, 1, 4], "monetary_value": [10.0, bad, bad, 5.0]},
                        index=["a", "b", "c", "d"])
    for call in (lambda: GammaGamma().fit(data), lambda: gg.expected_spend(data)):
        with pytest.raises(DataError, match="zero or negative") as err:
            call()
        assert err.value.n_rows == 2
        assert "row 'b'" in str(err.value) and "refunds" in str(err.value)


def test_missing_columns_and_fractional_frequency_are_data_errors() -> None:
    with pytest.raises(DataError, match="monetary_value"):
        GammaGamma().fit(pd.DataFrame({"frequency": [1, 2] * 20}))
    bad = simulate(40, 2, 3, 4, seed=1).assign(frequency=lambda d: d["frequency"] + 0.5)
    with pytest.raises(DataError, match="non-integer"):
        GammaGamma().fit(bad)


def test_expected_spend_draws_are_expected_spend_of_each_drawn_model(
        gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    draws = np.array([gg.params_.to_numpy(), [6.0, 4.0, 16.0], [6.0, 0.9, 16.0]])
    rows = gg.expected_spend_draws(cdnow, draws)
    assert rows.shape == (3, len(cdnow))
    for row, params in zip(rows[:2], draws[:2], strict=True):
        assert np.array_equal(row, with_params(*params).expected_spend(cdnow).to_numpy())
    assert np.isposinf(rows[2]).all()  # q <= 1: expected_spend raises, the mean is infinite
    with pytest.raises(DataError):
        with_params(*draws[2]).expected_spend(cdnow)


def test_q_not_above_one_explains_the_infinite_mean() -> None:
    model = with_params(2.0, 0.9, 10.0)
    data = pd.DataFrame({"frequency": [1], "monetary_value": [5.0]})
    with pytest.raises(DataError, match="q = 0.9 is not above 1"):
        model.expected_spend(data)
    with pytest.raises(DataError, match="outliers"):
        model.expected_spend_new()


def test_summary_and_repr(gg: GammaGamma) -> None:
    assert repr(gg).startswith("GammaGamma(p=6.249, q=3.745, gamma=15.45; n=946")
    table = gg.summary()
    assert list(table.index) == ["p", "q", "gamma"]
    assert np.all(table["lower"] < table["estimate"]) and np.all(table["estimate"] < table["upper"])


# ----------------------------------------------------------------- independence check


def test_frequency_spend_correlation_on_cdnow(cdnow: pd.DataFrame,
                                              repeat: pd.DataFrame) -> None:
    r = frequency_spend_correlation(cdnow)
    assert r == pytest.approx(0.1138839105, abs=1e-9)
    # One-time buyers are left out: the same as on the repeat customers alone.
    assert frequency_spend_correlation(repeat) == r
    assert abs(r) < WEAK_CORRELATION


def test_frequency_spend_correlation_detects_dependence() -> None:
    data = simulate(2000, 3.0, 4.0, 10.0, seed=5)
    data["monetary_value"] *= data["frequency"]  # spend grows with frequency
    assert frequency_spend_correlation(data) > WEAK_CORRELATION


def test_frequency_spend_correlation_needs_repeat_customers() -> None:
    few = pd.DataFrame({"frequency": [0, 0, 1, 2], "monetary_value": [0.0, 0.0, 5.0, 6.0]})
    with pytest.raises(DataError, match="at least 3 repeat customers"):
        frequency_spend_correlation(few)
    with pytest.raises(DataError, match="zero or negative"):
        frequency_spend_correlation(few.assign(monetary_value=[0.0, 0.0, 0.0, 6.0]))


def test_convergence_remedies_are_about_spend() -> None:
    """A failed Gamma-Gamma fit points at the spend data, not at recency and T."""
    remedies = GammaGamma.convergence_remedies
    assert "monetary_value" in remedies and "outliers" in remedies
    assert "recency" not in remedies and "time unit" not in remedies


# ----------------------------------------------------------------- common spend level limit


def test_common_spend_loglik_is_the_gamma_density_of_the_total() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    x = rng.integers(1, 200, 50).astype(float)
    m = rng.lognormal(3, 1.2, 50)
    for p, v in ((0.4, 2.0), (3.0, 10.0), (25.0, 0.7)):
        ll, _ = common_spend_loglik_grad(np.array([p, v]), x, m)
        expected = stats.gamma.logpdf(m * x, p * x, scale=v) + np.log(x)
        np.testing.assert_allclose(ll, expected, rtol=1e-12, atol=1e-12)


def test_common_spend_gradient_is_exact(five_point_gradient) -> None:
    rng = np.random.default_rng(6)
    x = rng.integers(1, 200, 40).astype(float)
    m = rng.lognormal(3, 1.2, 40)
    for params in (np.array([0.5, 3.0]), np.array([4.0, 25.0])):
        _, grad = common_spend_loglik_grad(params, x, m)
        numeric = five_point_gradient(lambda e: common_spend_loglik_grad(e, x, m)[0], params)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def test_full_loglik_reaches_the_limit_at_the_stored_point() -> None:
    # At q = 1e12, γ = v·1e12 the Gamma-Gamma density equals the limit's (the stored
    # boundary point scores as the limit), with no gammaln cancellation. The models differ
    # there by about (px − mx/v)²/(2q), of order px/(2q) for spends drawn from the limit:
    # below 1e-8 for px up to 1,800.
    rng = np.random.default_rng(7)
    x = rng.integers(1, 300, 60).astype(float)
    for p, v in ((0.8, 4.0), (6.0, 30.0)):
        m = rng.gamma(p * x, v) / x
        full, grad = gammagamma_loglik_grad(np.array([p, COMMON_SPEND_Q, v * COMMON_SPEND_Q]),
                                            x, m)
        limit, _ = common_spend_loglik_grad(np.array([p, v]), x, m)
        np.testing.assert_allclose(full, limit, rtol=0, atol=1e-8)
        assert np.all(np.isfinite(grad))


def test_full_loglik_is_accurate_at_large_q() -> None:
    # The fit on the demo till export went through q = 1.4e7, where gammaln(px+q) −
    # gammaln(q) lost 5e-8 per customer (1e-5 on 194 customers: more than the 1e-6 that
    # decides a boundary). Reference: the density written with 40-digit mpmath.
    mp = pytest.importorskip("mpmath")
    p, q, gamma = 1.86, 1.424178e7, 4.353185e8
    x = np.array([1.0, 3.0, 17.0, 250.0])
    m = np.array([12.5, 61.0, 33.3, 29.9])
    ll, _ = gammagamma_loglik_grad(np.array([p, q, gamma]), x, m)
    with mp.workdps(40):
        for value, xi, mi in zip(ll, x, m, strict=True):
            px, xi, mi = mp.mpf(p) * mp.mpf(xi), mp.mpf(xi), mp.mpf(mi)
            ref = (mp.loggamma(px + q) - mp.loggamma(px) - mp.loggamma(q) + q * mp.log(gamma)
                   + (px - 1) * mp.log(mi) + px * mp.log(xi) - (px + q) * mp.log(gamma + mi * xi))
            assert value == pytest.approx(float(ref), abs=1e-11)


def test_no_heterogeneity_in_spend_is_reported_as_the_common_spend_limit() -> None:
    data = simulate_common(2000, p=3.0, v=10.0, seed=0)
    model = GammaGamma().fit(data)
    assert model.limit_ == "common spend level"
    assert model.boundary_ is not None and "no heterogeneity in mean spend" in model.boundary_
    assert model.converged_
    p, q, gamma = model.params_.to_numpy()
    v = gamma / q
    assert q == COMMON_SPEND_Q
    # Its log-likelihood is the limit's, computed independently with scipy.stats.gamma.
    assert model.loglik_ == pytest.approx(scipy_common_loglik(p, v, data), abs=1e-9)
    assert model.limits_ == {"common spend level": model.loglik_}
    # (p, v) maximise it: v has a closed form given p (v = Σxm / (p Σx)).
    x, m = data["frequency"].to_numpy(float), data["monetary_value"].to_numpy(float)
    assert v == pytest.approx(float(x @ m) / (p * x.sum()), rel=1e-7)
    for dp in (0.999, 1.001):
        assert scipy_common_loglik(p * dp, v, data) < model.loglik_
    # q and γ are not identified; p keeps its standard error, from the limit's Hessian,
    # and the truth is within it.
    assert np.isnan(model.se_["q"]) and np.isnan(model.se_["gamma"])
    assert 0 < model.se_["p"] < 0.2 and abs(p - 3.0) < 4 * model.se_["p"]
    # Every prediction is the common mean p·v, finite, whatever the history.
    spend = model.expected_spend(pd.DataFrame({"frequency": [0, 1, 40, 5000],
                                               "monetary_value": [0.0, 1e4, 2.0, 31.0]}))
    np.testing.assert_allclose(spend.to_numpy(), p * v, rtol=1e-15)
    assert model.expected_spend_new() == pytest.approx(p * v, rel=1e-15)
    assert p * v == pytest.approx(30.0, rel=0.03)


def test_without_heterogeneity_a_fit_is_the_limit_or_strictly_better() -> None:
    # Under the limit the maximum lies on the boundary about half of the time (the 50:50
    # χ²(0)/χ²(1) mixture); otherwise at a large finite q strictly above the limit.
    kinds = set()
    for seed in range(1, 7):
        model = GammaGamma().fit(simulate_common(2000, p=3.0, v=10.0, seed=seed))
        assert "common spend level" in model.limits_
        if model.limit_ is None:
            assert model.params_["q"] > 50
            assert model.loglik_ > model.limits_["common spend level"] + 1e-6
            kinds.add("interior")
        else:
            assert model.params_["q"] == COMMON_SPEND_Q
            kinds.add("boundary")
    assert kinds == {"interior", "boundary"}


def test_heterogeneous_spend_gives_an_interior_fit() -> None:
    truth = np.array([3.0, 4.0, 30.0])
    model = GammaGamma().fit(simulate(3000, *truth, seed=2))
    assert model.boundary_ is None and model.limit_ is None and model.converged_
    assert np.all(np.isfinite(model.se_))
    z = (model.params_.to_numpy() - truth) / model.se_.to_numpy()
    assert np.all(np.abs(z) < 4), z


def test_boundary_fit_round_trips_through_json() -> None:
    data = simulate_common(2000, p=3.0, v=10.0, seed=0)
    model = GammaGamma().fit(data)
    again = GammaGamma.from_json(model.to_json())
    assert again.limit_ == model.limit_ == "common spend level"
    assert again.boundary_ == model.boundary_ and again.limits_ == model.limits_
    pd.testing.assert_series_equal(again.params_, model.params_)
    pd.testing.assert_series_equal(again.se_, model.se_)
    assert again.loglik_ == model.loglik_
    pd.testing.assert_series_equal(again.expected_spend(data), model.expected_spend(data))
    assert again.expected_spend_new() == model.expected_spend_new()


def test_demo_till_export_is_a_common_spend_level() -> None:
    # The demo client's repeat buyers: the fit used to stop at q = 1.4e7, γ = 4.4e8 with
    # 95% intervals spanning 1e27; the maximum is the common-spend limit.
    from retention_kit.datasets import data_dir
    from retention_kit.reports import load_client

    summary = load_client(data_dir() / "demo" / "till_export").btyd_summary
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    model = GammaGamma().fit(repeat)
    assert len(repeat) == 194 and model.limit_ == "common spend level"
    p, q, gamma = model.params_.to_numpy()
    assert p == pytest.approx(1.8600, abs=1e-4) and gamma / q == pytest.approx(30.5663, abs=1e-4)
    assert model.loglik_ == pytest.approx(scipy_common_loglik(p, gamma / q, repeat), abs=1e-9)
    # Above the old interior estimate's likelihood (computed without cancellation).
    old = gammagamma_loglik_grad(np.array([1.860006, 1.424178e7, 4.353185e8]),
                                 repeat["frequency"].to_numpy(float),
                                 repeat["monetary_value"].to_numpy(float))[0].sum()
    assert model.loglik_ > old
    assert model.expected_spend_new() == pytest.approx(56.8535, abs=1e-4)
    summary_table = model.summary()
    assert np.isfinite(summary_table.loc["p", ["lower", "upper"]]).all()
    assert summary_table.loc[["q", "gamma"], "std_error"].isna().all()
