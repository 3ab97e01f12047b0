"""BG/NBD and MBG/NBD against the papers and lifetimes (the contract: test_model_contract)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from retention_kit.errors import ConvergenceError, DataError, NumericalWarning
from retention_kit.models import BGNBD, MBGNBD
from retention_kit.models._base import _invert
from retention_kit.models.bgnbd import (
    _dropout_table,
    _mean_over_dropout,
    _mean_over_dropout_rows,
    bgnbd_loglik_grad,
)


@pytest.fixture(scope="module")
def bg(cdnow: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow)


@pytest.fixture(scope="module")
def mbg(cdnow: pd.DataFrame) -> MBGNBD:
    return MBGNBD().fit(cdnow)


def random_histories(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 80, n)
    x = rng.integers(0, 60, n)
    t_x = np.where(x > 0, rng.uniform(0.01, 1, n) * T, 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T},
                        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


# ----------------------------------------------------------------- published values


def test_bgnbd_reproduces_fader_hardie_lee_2005(bg: BGNBD) -> None:
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert bg.params_[name] == pytest.approx(value, rel=5e-3)
    assert bg.loglik_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.n_obs_ == 2357 and bg.converged_


def test_mbgnbd_reproduces_batislam_2007(mbg: MBGNBD) -> None:
    published = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    for name, value in published.items():
        assert mbg.params_[name] == pytest.approx(value, rel=5e-3)


def test_purchase_distribution_is_consistent_with_its_mean(bg: BGNBD) -> None:
    # P(X(t)=n) sums to 1 and its mean is E[X(t)] (two closed forms, FHL 2005 eqs 7-8).
    n = np.arange(0, 400)
    for t in (1.0, 39.0, 78.0):
        probs = bg.probability_of_purchases(n, t)
        assert probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert (n * probs).sum() == pytest.approx(bg.expected_purchases_new(t), rel=1e-6)


# ----------------------------------------------------------------- exact gradient


@pytest.mark.parametrize("modified", [False, True])
def test_gradient_is_exact(modified: bool, five_point_gradient) -> None:
    data = random_histories(50, 1)
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    rng = np.random.default_rng(7)
    for _ in range(5):
        params = rng.uniform(0.2, 5, 4)
        _, grad = bgnbd_loglik_grad(params, x, t_x, T, modified=modified)
        numeric = five_point_gradient(
            lambda p: bgnbd_loglik_grad(p, x, t_x, T, modified=modified)[0], params)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------- lifetimes oracle


def test_bgnbd_predictions_match_lifetimes(bg: BGNBD) -> None:
    fitters = pytest.importorskip("lifetimes")
    oracle = fitters.BetaGeoFitter()
    oracle.params_ = pd.Series(bg.params_.to_dict())
    data = random_histories(300, 3)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            bg.expected_purchases(data, t),
            oracle.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-6)
    np.testing.assert_allclose(bg.probability_alive(data),
                               oracle.conditional_probability_alive(x, t_x, T), rtol=1e-6)
    ts = np.array([0.5, 5.0, 50.0])
    np.testing.assert_allclose(bg.expected_purchases_new(ts),
                               oracle.expected_number_of_purchases_up_to_time(ts), rtol=1e-6)
    for n in range(6):
        assert bg.probability_of_purchases(n, 20.0) == pytest.approx(
            float(oracle.probability_of_n_purchases_up_to_time(20.0, n)), rel=1e-6)


def test_mbgnbd_predictions_match_lifetimes(mbg: MBGNBD) -> None:
    fitters = pytest.importorskip("lifetimes")
    oracle = fitters.ModifiedBetaGeoFitter()
    oracle.params_ = pd.Series(mbg.params_.to_dict())
    data = random_histories(300, 4)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    np.testing.assert_allclose(
        mbg.expected_purchases(data, 26.0),
        oracle.conditional_expected_number_of_purchases_up_to_time(26.0, x, t_x, T), rtol=1e-6)
    np.testing.assert_allclose(mbg.probability_alive(data),
                               oracle.conditional_probability_alive(x, t_x, T), rtol=1e-6)
    ts = np.array([0.5, 5.0, 50.0])
    np.testing.assert_allclose(mbg.expected_purchases_new(ts),
                               oracle.expected_number_of_purchases_up_to_time(ts), rtol=1e-6)
    for n in range(6):
        assert mbg.probability_of_purchases(n, 20.0) == pytest.approx(
            float(oracle.probability_of_n_purchases_up_to_time(20.0, n)), rel=1e-6)


def test_one_time_buyers_alive_differs_between_bg_and_mbg(bg: BGNBD, mbg: MBGNBD) -> None:
    one_timers = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 38.0]})
    assert (bg.probability_alive(one_timers) == 1.0).all()
    p = mbg.probability_alive(one_timers)
    assert (p < 1).all() and p.iloc[1] < p.iloc[0]


# ----------------------------------------------------------------- numerics at the edges


@pytest.mark.parametrize("model_cls", [BGNBD, MBGNBD])
def test_extreme_histories_stay_finite(model_cls, cdnow: pd.DataFrame) -> None:
    model = model_cls().fit(cdnow)
    extreme = pd.DataFrame({
        "frequency": [10_000, 10_000, 0, 0, 132, 500, 1],
        "recency": [10_000.0, 5_000.0, 0.0, 0.0, 20.0, 0.01, 10_000.0],
        "T": [10_000.0, 10_000.0, 0.01, 10_000.0, 20.0, 0.01, 10_000.0],
    })
    for t in (0.01, 1.0, 52.0, 10_000.0):
        e = model.expected_purchases(extreme, t)
        assert np.isfinite(e).all() and (e >= 0).all()
    alive = model.probability_alive(extreme)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    # 10,000 purchases over 10,000 weeks, the last one today: about one a week.
    assert model.expected_purchases(extreme, 52.0).iloc[0] == pytest.approx(52.0, rel=0.05)
    growing = [model.expected_purchases(extreme, t).to_numpy() for t in (1.0, 2.0, 10.0)]
    assert (np.diff(np.vstack(growing), axis=0) >= 0).all()


def test_probability_alive_later_decreases(bg: BGNBD, cdnow: pd.DataFrame) -> None:
    now = bg.probability_alive(cdnow)
    later = bg.probability_alive(cdnow, t=26.0)
    repeaters = cdnow["frequency"] > 0
    assert (later[repeaters] < now[repeaters]).all()


# ----------------------------------------------------------------- fitting contract


def test_fit_on_weighted_unique_rows_equals_fit_on_customers(cdnow: pd.DataFrame,
                                                             bg: BGNBD) -> None:
    unique = (cdnow.groupby(["frequency", "recency", "T"]).size()
              .rename("weights").reset_index())
    assert len(unique) < len(cdnow)
    by_column = BGNBD().fit(unique, weights="weights")
    by_array = BGNBD().fit(unique, weights=unique["weights"].to_numpy())
    np.testing.assert_allclose(by_column.params_, bg.params_, rtol=1e-7)
    np.testing.assert_allclose(by_array.params_, bg.params_, rtol=1e-7)
    assert by_column.loglik_ == pytest.approx(bg.loglik_, abs=1e-6)


def test_penalizer_shrinks_parameters(cdnow: pd.DataFrame, bg: BGNBD) -> None:
    penalised = BGNBD(penalizer=0.01).fit(cdnow)
    assert (penalised.params_ ** 2).sum() < (bg.params_ ** 2).sum()


def test_covariance_is_symmetric_and_matches_standard_errors(bg: BGNBD) -> None:
    cov = bg.cov_.to_numpy()
    np.testing.assert_allclose(cov, cov.T)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), bg.se_)
    assert (np.linalg.eigvalsh(cov) > 0).all()


def test_summary_repr_and_html(bg: BGNBD) -> None:
    table = bg.summary()
    assert list(table.columns) == ["estimate", "std_error", "lower", "upper"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert ((table["lower"] < table["estimate"]) & (table["estimate"] < table["upper"])).all()
    assert repr(bg) == "BGNBD(r=0.2426, alpha=4.414, a=0.7929, b=2.426; n=2,357, loglik=-9582.43)"
    assert "<table" in bg._repr_html_() and "2,357 customers" in bg._repr_html_()


def test_non_convergence_raises_with_remedies(cdnow: pd.DataFrame) -> None:
    model = BGNBD(max_iter=1, initial_params={"r": 50.0, "alpha": 0.001, "a": 30.0, "b": 0.01})
    with pytest.raises(ConvergenceError, match=r"BGNBD did not converge.*Remedies: check the"):
        model.fit(cdnow)


def test_singular_hessian_gives_nan_and_a_warning() -> None:
    with pytest.warns(NumericalWarning, match="singular"):
        cov = _invert(np.array([[1.0, 1.0], [1.0, 1.0]]))
    assert np.isnan(cov).all()


# ----------------------------------------------------------------- bad input


def test_too_few_customers() -> None:
    small = random_histories(12, 5)
    with pytest.raises(DataError, match="BGNBD needs at least 40 customers .* the data have 12"):
        BGNBD().fit(small)


def test_transactions_instead_of_summary() -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": ["2024-01-01", "2024-02-01"]})
    with pytest.raises(DataError, match="looks like a transaction log"):
        BGNBD().fit(log)


def test_recency_above_t_and_negative_t(cdnow: pd.DataFrame) -> None:
    bad = cdnow.copy()
    bad.loc[5, "recency"] = 50.0
    with pytest.raises(DataError, match=r"recency is greater than T.*row 5"):
        BGNBD().fit(bad)
    negative = cdnow.copy()
    negative.loc[7, "T"] = -1.0
    with pytest.raises(DataError, match=r"'T' has negative values.*row 7"):
        BGNBD().fit(negative)


def test_fractional_frequency(cdnow: pd.DataFrame) -> None:
    bad = cdnow.astype({"frequency": float})
    bad.loc[3, "frequency"] = 1.5
    with pytest.raises(DataError, match="frequency has non-integer values"):
        BGNBD().fit(bad)


def test_bad_weights(cdnow: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="weights has shape"):
        BGNBD().fit(cdnow, weights=np.ones(3))
    with pytest.raises(DataError, match="finite and non-negative"):
        BGNBD().fit(cdnow, weights=-np.ones(len(cdnow)))


def test_bad_horizon(bg: BGNBD, cdnow: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="horizon t must be positive"):
        bg.expected_purchases(cdnow, 0)


def test_no_warnings_on_a_normal_fit(cdnow: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BGNBD().fit(cdnow).expected_purchases(cdnow, 39.0)


def test_time_unit_is_recorded_and_persisted() -> None:
    from retention_kit.data import rfm_summary
    from retention_kit.datasets import load_cdnow_transactions

    weekly = rfm_summary(load_cdnow_transactions(sample=True), observation_end="1997-09-30",
                         time_unit="W", after_end="drop", duplicates="keep")
    model = BGNBD().fit(weekly)
    assert model.time_unit_ == "W"
    assert BGNBD.from_json(model.to_json()).time_unit_ == "W"


def _groupby_rows(data: pd.DataFrame, w: np.ndarray) -> tuple[dict, np.ndarray]:
    cols = list(BGNBD.data_columns)
    grouped = data[cols].astype(float).assign(w=w).groupby(cols, sort=True)["w"].sum()
    grouped = grouped[grouped > 0]
    index = grouped.index.to_frame(index=False)
    return {c: index[c].to_numpy() for c in cols}, grouped.to_numpy()


def test_distinct_rows_equal_a_sorted_groupby_with_weights() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    T = rng.integers(1, 40, n) / 7
    data = pd.DataFrame({"frequency": rng.integers(0, 5, n),
                         "recency": np.floor(rng.uniform(0, 1, n) * T * 7) / 7, "T": T})
    w = rng.integers(0, 3, n).astype(float)  # zero weights drop their rows
    cols, uw = BGNBD()._unique_rows(data, w)
    expected_cols, expected_w = _groupby_rows(data, w)
    assert len(uw) == len(expected_w) < n
    np.testing.assert_array_equal(uw, expected_w)
    for c in BGNBD.data_columns:
        np.testing.assert_array_equal(cols[c], expected_cols[c])


def test_distinct_rows_fall_back_when_the_combined_key_could_overflow() -> None:
    # 1.7M distinct values per column: their product exceeds 2**62, so the key would overflow.
    n = 1_700_000
    recency = np.arange(n, dtype=float)
    data = pd.DataFrame({"frequency": np.arange(n) + 1, "recency": recency, "T": recency + 1})
    w = np.ones(n)
    cols, uw = BGNBD()._unique_rows(data, w)
    assert len(uw) == n and uw.sum() == n
    np.testing.assert_array_equal(cols["T"], recency + 1)


# ----------------------------------------------------------------- boundaries and limits


def load_cdnow() -> pd.DataFrame:
    from retention_kit.datasets import load_cdnow_summary

    return load_cdnow_summary()


def five_repeat_buyers_in_three_days() -> pd.DataFrame:
    """Issue 17: 195 one-time buyers and five repeat buyers, all within three days."""
    rng = np.random.default_rng(1)
    n = 200
    return pd.DataFrame({
        "frequency": [0] * (n - 5) + [1, 2, 1, 3, 2],
        "recency": [0.0] * (n - 5) + [1.0, 2.0, 3.0, 2.5, 1.5],
        "T": np.r_[rng.uniform(3, 50, n - 5), [3.0] * 5]})


def nbd_loglik(r: float, alpha: float, data: pd.DataFrame) -> float:
    """The NBD log-likelihood, written out independently of the package."""
    from scipy.special import gammaln

    x, T = data["frequency"].to_numpy(float), data["T"].to_numpy(float)
    return float(np.sum(gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                        - (r + x) * np.log(alpha + T)))


def nbd_mle(data: pd.DataFrame) -> tuple[float, float, float]:
    from scipy.optimize import minimize

    res = minimize(lambda th: -nbd_loglik(*np.exp(th), data), np.zeros(2),
                   method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                  "maxiter": 20_000})
    r, alpha = np.exp(res.x)
    return float(r), float(alpha), -float(res.fun)


def test_five_repeat_buyers_mbgnbd_is_a_zero_inflated_nbd() -> None:
    """MBG/NBD's maximum there has a, b → 0 (was a ConvergenceError, "precision loss"):
    a share pi = a/(a+b) drops out right after the first purchase, the rest never. The
    fit reports that limit; its log-likelihood is the zero-inflated NBD's, by hand."""
    data = five_repeat_buyers_in_three_days()
    model = MBGNBD().fit(data)
    assert model.limit_ == "split dropout" and "drops out right after" in model.boundary_
    r, alpha, a, b = model.params_
    pi = a / (a + b)
    x, T = data["frequency"].to_numpy(float), data["T"].to_numpy(float)
    # r is about 3e7 here (a common purchase rate too): written with log1p and a product
    log_poch = np.array([np.sum(np.log(r + np.arange(k))) for k in x])
    nbd = np.exp(log_poch - r * np.log1p(T / alpha) - x * np.log(alpha + T))
    by_hand = np.sum(np.log((1 - pi) * nbd + pi * (x == 0)))
    assert model.loglik_ == pytest.approx(by_hand, abs=1e-6)
    assert model.loglik_ >= max(model.limits_.values()) - 1e-6
    alive = model.probability_alive(data)
    assert (alive[x > 0] == 1).all()
    np.testing.assert_allclose(alive[x == 0], ((1 - pi) * nbd / ((1 - pi) * nbd + pi))[x == 0],
                               rtol=1e-10)
    np.testing.assert_allclose(model.expected_purchases(data, 10.0),
                               alive * (r + x) / (alpha + T) * 10, rtol=1e-10)
    assert model.expected_purchases_new(10.0) == pytest.approx((1 - pi) * r / alpha * 10)
    loaded = MBGNBD.from_json(model.to_json())
    pd.testing.assert_series_equal(loaded.expected_purchases(data, 10.0),
                                   model.expected_purchases(data, 10.0))


def test_a_fit_failing_at_the_edge_names_the_parameters() -> None:
    """With one iteration allowed the fit fails; the error names what ran off, if any,
    and never says only "terminated successfully"."""
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        MBGNBD(max_iter=1).fit(five_repeat_buyers_in_three_days())
    assert "terminated successfully" not in str(info.value)


@pytest.mark.parametrize("model_cls", [BGNBD])
def test_five_repeat_buyers_give_the_no_dropout_limit(model_cls) -> None:
    """Was: parameters of order 1e8 with no warning. Now: the boundary is reported and
    predicted with the NBD model."""
    data = five_repeat_buyers_in_three_days()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = model_cls().fit(data)
    assert model.limit_ == "no dropout" and model.boundary_.startswith("a → 0")
    assert "NBD model without dropout" in model.boundary_ and model.converged_
    r, alpha, loglik = nbd_mle(data)
    assert model.params_["r"] == pytest.approx(r, rel=1e-5)
    assert model.params_["alpha"] == pytest.approx(alpha, rel=1e-5)
    assert model.loglik_ == pytest.approx(loglik, abs=1e-6)
    assert model.se_[["a", "b"]].isna().all() and model.se_[["r", "alpha"]].notna().all()
    assert (model.probability_alive(data) == 1.0).all()
    expected = (r + data["frequency"]) / (alpha + data["T"]) * 10.0
    np.testing.assert_allclose(model.expected_purchases(data, 10.0), expected, rtol=1e-5)
    loaded = model_cls.from_json(model.to_json())
    assert loaded.limit_ == "no dropout" and loaded.boundary_ == model.boundary_
    pd.testing.assert_series_equal(loaded.expected_purchases(data, 10.0),
                                   model.expected_purchases(data, 10.0))
    assert np.isfinite(model.summary()["estimate"]).all()


def test_common_dropout_limit_on_simulated_data() -> None:
    """Every customer with the same dropout probability p = 0.2 (a, b huge): the fit
    reports the limit and its log-likelihood is the homogeneous-p model's, computed here."""
    from scipy.special import gammaln

    from retention_kit.simulate import simulate_summary

    T = np.random.default_rng(5).uniform(1, 52, 3000)
    data = simulate_summary(3000, T=T, params={"r": 0.5, "alpha": 5, "a": 2e5, "b": 8e5},
                            random_state=7)
    model = BGNBD().fit(data)
    assert model.limit_ == "common dropout" and "same probability" in model.boundary_
    r, alpha, a, b = model.params_
    p = a / (a + b)
    assert p == pytest.approx(0.2, abs=0.05)
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    by_hand = np.sum(x * np.log1p(-p) + gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                     + np.log((alpha + T) ** -(r + x)
                              + (x > 0) * p / (1 - p) * (alpha + t_x) ** -(r + x)))
    assert model.loglik_ == pytest.approx(by_hand, abs=1e-4)
    assert model.loglik_ >= max(model.limits_.values()) - 1e-6
    assert np.isfinite(model.expected_purchases(data, 52.0)).all()


def test_cdnow_is_an_interior_maximum_far_from_every_limit(bg: BGNBD) -> None:
    """CDNOW's a = 0.79, a + b = 3.2 are near no limit: none is fitted, and each limit's
    own maximum is far below (2·LR far above 2.71, the 5% point of the 50:50
    chi-square(0)/(1) mixture)."""
    assert bg.boundary_ is None and bg.limit_ is None and bg.limits_ == {}
    cols, uw, n_obs = bg._fit_inputs(load_cdnow(), None)
    limits = bg._fit_limits(cols, uw, n_obs, bg.params_.to_numpy(), every=True)
    assert set(limits) == {"no dropout", "common dropout", "split dropout"}
    assert min(2 * (bg.loglik_ - fit[1]) for fit in limits.values()) > 40


def test_a_equal_to_one_is_exact() -> None:
    """At a = 1 the closed form is 0/0; the old interpolation was 1.2e-7 off (mpmath)."""
    model = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 1.0, "b": 918.0})
    h = pd.DataFrame({"frequency": [0, 2, 10], "recency": [0.0, 10.0, 30.0], "T": [39.0] * 3})
    np.testing.assert_allclose(model.expected_purchases(h, 10.0),
                               [0.0559640118411611, 0.509864792834377, 2.32895923170578],
                               rtol=1e-10)


def test_convergence_is_judged_on_the_total_gradient() -> None:
    """A per-customer gradient of 1e-6 on 10,000 customers is 0.01 of total log-likelihood
    per unit of log-parameter: not converged (it was accepted before)."""
    from retention_kit.models._base import _at_maximum

    hess = np.eye(2)
    assert not _at_maximum(1.0, np.array([1e-6, 0.0]), hess, 10_000)
    assert _at_maximum(1.0, np.array([1e-12, 0.0]), hess, 10_000)
    # a flat ridge: a tiny gradient but a Newton step still worth 5e-4 of log-likelihood
    assert not _at_maximum(1.0, np.array([1e-8, 0.0]), np.diag([1e-12, 1.0]) + 1e-9, 10_000)


@pytest.mark.parametrize("a, b, r, t_max", [
    (7.8, 7.3, 0.9, 52.0),  # the marketplace demo's MBG/NBD, one year
    (7.8, 21.3, 14.9, 52.0),
    (2.0, 1.5, 3.0, 5000.0),  # a century of weeks: a wide range in log(1+u)
    (300.0, 918.0, 1.0, 52.0),  # where scipy's hyp2f1 failed
    (1e5, 2e5, 0.5, 500.0),
])
def test_interpolated_dropout_mean_equals_the_quadrature_at_every_horizon(
        a: float, b: float, r: float, t_max: float) -> None:
    # Many horizons of one Beta mixture are interpolated in log(1+u) from Chebyshev
    # points (or integrated one by one where the series does not converge): same values
    # as the quadrature at each horizon, to rounding.
    u = np.geomspace(t_max / 1000, t_max, 400) / 30.0
    p, m = _dropout_table(np.array([a]), np.array([b]))
    got = _mean_over_dropout_rows(p, m, np.array([r]), u[None])[0]
    want = _mean_over_dropout(a, np.full_like(u, b), np.full_like(u, r), u)
    np.testing.assert_allclose(got, want, rtol=1e-12)
