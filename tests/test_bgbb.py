"""BG/BB against Fader, Hardie & Shang (2010), lifetimes 0.11.3, and explicit sums.

The model contract (JSON, determinism, index, not fitted...) is in test_model_contract.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from retention_kit.datasets import load_donations
from retention_kit.errors import DataError
from retention_kit.models.bgbb import BGBB, _log_sum_alive, bgbb_loglik_grad


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return load_donations()


@pytest.fixture(scope="module")
def bgbb(donations: pd.DataFrame) -> BGBB:
    return BGBB().fit(donations, weights="weights")


def with_params(**params: float) -> BGBB:
    model = BGBB()
    model.params_ = pd.Series(params, name="estimate")
    return model


def random_histories(m: int, seed: int, max_n: int = 12) -> pd.DataFrame:
    """Valid (x, t_x, n): 0 <= x <= t_x <= n, x = 0 iff t_x = 0."""
    rng = np.random.default_rng(seed)
    n = rng.integers(1, max_n + 1, m)
    t_x = rng.integers(0, n + 1)
    x = np.where(t_x > 0, rng.integers(1, np.maximum(t_x, 1) + 1), 0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "n_periods": n},
                        index=pd.Index([f"d{i}" for i in range(m)], name="donor"))


# ----------------------------------------------------------------- published values


def test_reproduces_fader_hardie_shang_2010(bgbb: BGBB) -> None:
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in published.items():
        assert bgbb.params_[name] == pytest.approx(value, rel=5e-3)
    assert bgbb.loglik_ == pytest.approx(-33225.6, abs=0.1)
    assert bgbb.n_obs_ == 11104 and bgbb.converged_


def test_fit_on_individual_donors_equals_weighted_fit(donations: pd.DataFrame,
                                                      bgbb: BGBB) -> None:
    donors = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    assert len(donors) == 11104
    direct = BGBB().fit(donors.reset_index(drop=True))
    np.testing.assert_allclose(direct.params_, bgbb.params_, rtol=1e-9)
    assert direct.loglik_ == pytest.approx(bgbb.loglik_, abs=1e-6)


# ----------------------------------------------------------------- likelihood and gradient


def test_gradient_is_exact(five_point_gradient) -> None:
    data = random_histories(300, 1, max_n=40)
    x, t_x, n = (data[c].to_numpy(float) for c in ("frequency", "recency", "n_periods"))
    rng = np.random.default_rng(7)
    for _ in range(8):
        params = rng.uniform(0.1, 8, 4)
        _, grad = bgbb_loglik_grad(params, x, t_x, n)
        numeric = five_point_gradient(lambda p: bgbb_loglik_grad(p, x, t_x, n)[0], params)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_loglik_matches_lifetimes_and_blocks_do_not_matter() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    data = random_histories(200, 2)
    x, t_x, n = (data[c].to_numpy() for c in ("frequency", "recency", "n_periods"))
    params = np.array([1.3, 0.8, 0.7, 2.5])
    ours, _ = bgbb_loglik_grad(params, x, t_x, n)
    theirs = lifetimes.BetaGeoBetaBinomFitter._loglikelihood(params, x, t_x, n)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    # Forcing one customer per block (tiny work matrices) changes nothing.
    import retention_kit.models.bgbb as module

    saved = module._BLOCK_CELLS
    try:
        module._BLOCK_CELLS = 1
        small, grad_small = bgbb_loglik_grad(params, x, t_x, n)
    finally:
        module._BLOCK_CELLS = saved
    np.testing.assert_allclose(small, ours, rtol=1e-14)
    np.testing.assert_allclose(grad_small, bgbb_loglik_grad(params, x, t_x, n)[1],
                               rtol=1e-13, atol=1e-13)


def test_likelihood_sums_to_one_over_all_histories() -> None:
    # Over every possible (x, t_x) with n = 5, the likelihoods are a distribution.
    rows = [(0, 0)] + [(x, t) for t in range(1, 6) for x in range(1, t + 1)]
    x, t_x = (np.array(v, float) for v in zip(*rows, strict=True))
    # Each (x, t_x) summary stands for C(t_x - 1, x - 1) purchase sequences.
    from scipy.special import comb

    count = np.where(t_x > 0, comb(t_x - 1, x - 1), 1.0)
    ll, _ = bgbb_loglik_grad(np.array([1.2, 0.75, 0.66, 2.8]), x, t_x, np.full_like(x, 5.0))
    assert float(count @ np.exp(ll)) == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------- predictions vs lifetimes


def test_predictions_match_lifetimes(bgbb: BGBB, donations: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    oracle = lifetimes.BetaGeoBetaBinomFitter()
    oracle.params_ = pd.Series(bgbb.params_.to_dict())
    oracle.data = donations.copy()
    data = pd.concat([donations.drop(columns="weights"), random_histories(300, 3)],
                     ignore_index=True)
    x, t_x, n = data["frequency"], data["recency"], data["n_periods"]
    for t in (1, 5, 10, 40):
        np.testing.assert_allclose(
            bgbb.expected_purchases(data, t),
            oracle.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, n), rtol=1e-6)
    # lifetimes' m counts from n (alive at n + m); ours from the next period n + 1.
    for t in (0, 1, 5):
        np.testing.assert_allclose(bgbb.probability_alive(data, t),
                                   oracle.conditional_probability_alive(t + 1, x, t_x, n),
                                   rtol=1e-6)
    for periods in (6, 10):
        expected = oracle.expected_number_of_transactions_in_first_n_periods(periods)["model"]
        ours = bgbb.probability_of_purchases(expected.index.to_numpy(), periods) * 11104
        np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-6)


# ----------------------------------------------------------------- internal consistency


def test_purchase_distribution_sums_to_one_and_has_the_expected_mean(bgbb: BGBB) -> None:
    for t in (1, 6, 50):
        counts = np.arange(t + 3)
        probs = bgbb.probability_of_purchases(counts, t)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        assert (probs[t + 1:] == 0).all() and (probs >= 0).all()
        assert float(counts @ probs) == pytest.approx(bgbb.expected_purchases_new(t), rel=1e-10)
    assert bgbb.probability_of_purchases(0, 1) == pytest.approx(1 - bgbb.expected_purchases_new(1))


def test_expected_purchases_and_dert_equal_explicit_sums(bgbb: BGBB) -> None:
    # P(transaction at n+s | history) = (α+x)/(α+β+n) · P(alive at n+s | history), and
    # probability_alive(t=s-1) is P(alive at n+s); sum the discounted terms by hand.
    data = random_histories(40, 4, max_n=30)
    alpha, beta = bgbb.params_["alpha"], bgbb.params_["beta"]
    p_next = (alpha + data["frequency"]) / (alpha + beta + data["n_periods"])
    alive = np.column_stack([bgbb.probability_alive(data, s - 1) for s in range(1, 401)])
    per_period = alive * p_next.to_numpy()[:, None]
    for t in (1, 3, 12):
        np.testing.assert_allclose(bgbb.expected_purchases(data, t),
                                   per_period[:, :t].sum(axis=1), rtol=1e-10)
    d = 0.1
    discount = 1.1 ** -np.arange(1, 401)
    np.testing.assert_allclose(bgbb.expected_residual_lifetime(data, d),
                               per_period @ discount, rtol=1e-10)


def test_undiscounted_dert_is_the_limit_of_expected_purchases() -> None:
    data = random_histories(20, 5)
    finite = with_params(alpha=1.2, beta=0.8, gamma=2.5, delta=3.0)
    np.testing.assert_allclose(finite.expected_residual_lifetime(data, 0.0),
                               finite.expected_purchases(data, 10**7), rtol=1e-6)
    heavy = with_params(alpha=1.2, beta=0.8, gamma=0.7, delta=3.0)
    assert np.isinf(heavy.expected_residual_lifetime(data, 0.0)).all()


def test_gamma_near_one_uses_explicit_sums() -> None:
    # Eqs. 8 and 13 divide by γ - 1: near γ = 1 the sums are taken term by term.
    data = random_histories(30, 6)
    for gamma in (1.0, 1.0 + 5e-5, 1.0 - 5e-5):
        model = with_params(alpha=1.2, beta=0.8, gamma=gamma, delta=3.0)
        p_next = (1.2 + data["frequency"]) / (2.0 + data["n_periods"])
        alive = np.column_stack([model.probability_alive(data, s) for s in range(7)])
        np.testing.assert_allclose(model.expected_purchases(data, 7),
                                   alive.sum(axis=1) * p_next, rtol=1e-10)
        new = model.expected_purchases_new(7)
        assert new == pytest.approx(float(np.arange(8) @ model.probability_of_purchases(
            np.arange(8), 7)), rel=1e-10)
    # Every branch (series in γ-1 below |γ-1| = 0.05, log1p sum up to 4096 periods,
    # gammaln differences beyond) equals the explicit sum, also for n far above the horizon.
    from scipy.special import betaln, logsumexp

    n = np.array([0.0, 3.0, 40.0, 5000.0])
    # (Tolerances are on logs; lnΓ(5000) alone carries 1e-11 of rounding.)
    for horizon, tol in ((1, 5e-11), (25, 5e-11), (3000, 5e-11), (5000, 1e-9)):
        s = np.arange(1, horizon + 1)
        for gamma in (1.0, 1 + 1e-9, 1 - 1e-6, 1.01, 1 - 0.049, 1.051, 0.949, 0.3, 4.0):
            for delta in (0.05, 3.0):
                closed = _log_sum_alive(gamma, delta, n, horizon)
                explicit = [logsumexp(betaln(gamma, delta + v + s) - betaln(gamma, delta))
                            for v in n]
                np.testing.assert_allclose(closed, explicit, rtol=0, atol=tol)


def test_probability_alive_is_a_probability_and_falls_later(bgbb: BGBB,
                                                            donations: pd.DataFrame) -> None:
    now = bgbb.probability_alive(donations)
    later = bgbb.probability_alive(donations, 3)
    assert ((now > 0) & (now <= 1)).all()
    assert (later < now).all()
    # Same recency before the end: the more often a donor gave, the more her silence
    # in the last period says she has left (FHS 2010, section 4.2). With recency = n she
    # is alive at n whatever her frequency.
    same_recency = pd.DataFrame({"frequency": [1, 3, 5], "recency": [5, 5, 5],
                                 "n_periods": [6, 6, 6]})
    assert bgbb.probability_alive(same_recency).is_monotonic_decreasing
    just_gave = same_recency.assign(recency=6)
    assert np.ptp(bgbb.probability_alive(just_gave)) < 1e-12


def test_extreme_histories_stay_finite(bgbb: BGBB) -> None:
    extreme = pd.DataFrame({"frequency": [1000, 500, 0, 1, 1, 999],
                            "recency": [1000, 1000, 0, 1, 1000, 1000],
                            "n_periods": [1000, 1000, 1000, 1000, 1000, 1000]})
    ll, grad = bgbb_loglik_grad(bgbb.params_.to_numpy(), *(extreme[c].to_numpy(float)
                                                           for c in extreme.columns))
    assert np.isfinite(ll).all() and np.isfinite(grad).all()
    alive = bgbb.probability_alive(extreme)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    for t in (1, 10, 10_000):
        e = bgbb.expected_purchases(extreme, t)
        assert np.isfinite(e).all() and (e >= 0).all() and (e <= t).all()
    dert = bgbb.expected_residual_lifetime(extreme, 0.05)
    assert np.isfinite(dert).all() and (dert >= 0).all()
    # A donor who gave in all 1000 periods is almost surely alive and keeps giving.
    assert alive.iloc[0] > 0.99 and bgbb.expected_purchases(extreme, 1).iloc[0] > 0.99
    for params in ([1e-3, 1e-3, 1e-3, 1e-3], [1e3, 1e3, 1e3, 1e3], [50.0, 0.01, 0.01, 50.0]):
        ll, grad = bgbb_loglik_grad(np.array(params), *(extreme[c].to_numpy(float)
                                                        for c in extreme.columns))
        assert np.isfinite(ll).all() and np.isfinite(grad).all()
    assert np.isfinite(bgbb.probability_of_purchases(np.arange(0, 2001, 100), 2000)).all()


# ----------------------------------------------------------------- reporting and arguments


def test_summary_and_repr(bgbb: BGBB) -> None:
    assert list(bgbb.summary().index) == ["alpha", "beta", "gamma", "delta"]
    assert repr(bgbb).startswith("BGBB(alpha=1.204, beta=0.7497, gamma=0.6567, delta=2.783;")


def test_no_warnings_on_a_normal_fit(donations: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BGBB().fit(donations, weights="weights")
        model.expected_residual_lifetime(donations, 0.1)
        model.probability_of_purchases(np.arange(7), 6)


def test_bad_arguments(bgbb: BGBB, donations: pd.DataFrame) -> None:
    for bad in (0, 1.5, -1, np.nan):
        with pytest.raises(ValueError, match="whole number of periods >= 1"):
            bgbb.expected_purchases(donations, bad)
    with pytest.raises(ValueError, match="whole number of periods >= 0"):
        bgbb.probability_alive(donations, -1)
    with pytest.raises(ValueError, match="discount_rate must be a number >= 0 per period"):
        bgbb.expected_residual_lifetime(donations, -0.1)
    with pytest.raises(ValueError, match="n must be whole numbers"):
        bgbb.probability_of_purchases(1.5, 6)


# ----------------------------------------------------------------- bad data, one rule each


def bad(donations: pd.DataFrame, row: int, **values: float) -> pd.DataFrame:
    frame = donations.copy()
    for column, value in values.items():
        frame[column] = frame[column].astype(type(value))
        frame.loc[row, column] = value
    return frame


def test_n_periods_below_recency(donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"n_periods < recency.*Rows affected: 1.*row 6: "
                                        r"frequency=1, recency=6, n_periods=5.*How to fix"):
        BGBB().fit(bad(donations, 6, n_periods=5), weights="weights")


def test_frequency_above_recency(donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"frequency > recency.*row 3: frequency=4, recency=3"):
        BGBB().fit(bad(donations, 3, frequency=4), weights="weights")


def test_frequency_zero_with_positive_recency(donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"frequency is 0 but recency is positive.*row 5"):
        BGBB().fit(bad(donations, 5, frequency=0), weights="weights")


def test_non_integer_values(donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"recency has non-integer values.*row 2"):
        BGBB().fit(bad(donations, 2, recency=2.5), weights="weights")


def test_negative_values(donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'frequency' has negative values.*row 0"):
        BGBB().fit(bad(donations, 0, frequency=-1), weights="weights")


def test_too_few_customers() -> None:
    with pytest.raises(DataError, match="BGBB needs at least 40 customers .* the data have 25"):
        BGBB().fit(random_histories(25, 9))


def test_bad_data_in_predictions(bgbb: BGBB, donations: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="n_periods < recency"):
        bgbb.probability_alive(bad(donations, 6, n_periods=5))


# ----------------------------------------------------------------- boundaries and limits


def almost_everyone_every_period() -> pd.DataFrame:
    """Issue 17: 99.5% of the customers transact in every period while alive."""
    rng = np.random.default_rng(11)
    rows = []
    for _ in range(2000):
        every = rng.random() < 0.995
        death = rng.geometric(0.15)
        x = t_x = 0
        for t in range(1, 7):
            if t > death:
                break
            if every or rng.random() < 0.5:
                x, t_x = x + 1, t
        rows.append((x, t_x, 6))
    return pd.DataFrame(rows, columns=["frequency", "recency", "n_periods"])


def test_transacting_in_every_period_is_a_reported_boundary() -> None:
    """Was: alpha = 1e82 with only a warning. Now the fit reports which limit the data
    support, with finite predictions and no warning."""
    data = almost_everyone_every_period()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BGBB().fit(data)
    assert model.boundary_ is not None and model.limit_ in {
        "common dropout", "common transaction probability", "transacts every period"}
    assert model.converged_ and model.loglik_ >= max(model.limits_.values()) - 1e-6
    assert model.params_.max() <= 1e12
    for values in (model.expected_purchases(data, 5), model.probability_alive(data),
                   model.expected_residual_lifetime(data, 0.1)):
        assert np.isfinite(values).all()
    loaded = BGBB.from_json(model.to_json())
    pd.testing.assert_series_equal(loaded.expected_purchases(data, 5),
                                   model.expected_purchases(data, 5))


def test_no_dropout_limit_predicts_with_the_beta_bernoulli_model() -> None:
    """Without dropout a customer is alive for sure and transacts with probability
    E[p | x, n] = (alpha + x)/(alpha + beta + n) in every future period."""
    import json

    text = json.loads(BGBB.from_params({"alpha": 2.0, "beta": 3.0, "gamma": 1e-12,
                                        "delta": 1.0}).to_json())
    text["limit"] = "no dropout"
    text["boundary"] = BGBB().limits()[0].sentence
    model = BGBB.from_json(json.dumps(text))
    data = pd.DataFrame({"frequency": [0, 3, 8], "recency": [0, 5, 8], "n_periods": 8})
    mean_p = (2.0 + data["frequency"]) / (2.0 + 3.0 + 8)
    np.testing.assert_allclose(model.expected_purchases(data, 4), 4 * mean_p, rtol=1e-12)
    assert (model.probability_alive(data) == 1.0).all()
    np.testing.assert_allclose(model.expected_residual_lifetime(data, 0.1), mean_p / 0.1,
                               rtol=1e-12)
    assert model.expected_purchases_new(4) == pytest.approx(4 * 0.4, rel=1e-12)
    # the beta-binomial: C(4, k) B(2+k, 3+4-k)/B(2, 3)
    from scipy.special import betaln, comb

    k = np.arange(5)
    by_hand = comb(4, k) * np.exp(betaln(2 + k, 7 - k) - betaln(2, 3))
    np.testing.assert_allclose(model.probability_of_purchases(k, 4), by_hand, rtol=1e-10)


def test_a_limit_the_model_does_not_have_is_refused_from_json() -> None:
    import json

    from retention_kit.errors import DataError

    text = json.loads(BGBB.from_params({"alpha": 2.0, "beta": 3.0, "gamma": 1.0,
                                        "delta": 1.0}).to_json())
    text["limit"] = "no purchases"
    with pytest.raises(DataError, match="'limit' is 'no purchases', not a limit of BGBB"):
        BGBB.from_json(json.dumps(text))
