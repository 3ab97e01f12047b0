"""Gamma-Gamma spend model against the papers and lifetimes (contract: test_model_contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.errors import DataError
from retention_kit.models.gammagamma import (
    WEAK_CORRELATION,
    GammaGamma,
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
