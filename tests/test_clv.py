"""CLV: explicit units, lifetimes as oracle, a hand-computed case, bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from retention_kit.clv import (
    DAYS_PER_MONTH,
    clv_interval,
    customer_lifetime_value,
    unit_length,
)
from retention_kit.clv import with_params as drawn_model
from retention_kit.errors import DataError
from retention_kit.models import BGNBD, MBGNBD, ParetoNBD
from retention_kit.models.gammagamma import GammaGamma

YEAR_MONTHLY = {"horizon": 12, "discount_period": "M", "discount_rate": 0.01}


@pytest.fixture(scope="module")
def bg(cdnow: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow)


@pytest.fixture(scope="module")
def gg(cdnow: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow[cdnow["frequency"] > 0])


@pytest.fixture(scope="module")
def clv_weekly(bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame) -> pd.Series:
    return customer_lifetime_value(bg, gg, cdnow, time_unit="W", **YEAR_MONTHLY)


def with_params(model, values, cov_log=None):
    model.params_ = pd.Series(values, index=list(model.param_names), name="estimate")
    model._cov_log = np.eye(len(values)) * 0.01 if cov_log is None else cov_log
    return model


def lifetimes_models(bg: BGNBD, gg: GammaGamma):
    lifetimes = pytest.importorskip("lifetimes")
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(bg.params_.to_numpy(), index=["r", "alpha", "a", "b"])
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(gg.params_.to_numpy(), index=["p", "q", "v"])
    return bgf, ggf


# ----------------------------------------------------------------- oracle: lifetimes


def test_reproduces_lifetimes_on_weekly_cdnow(bg: BGNBD, gg: GammaGamma,
                                              cdnow: pd.DataFrame) -> None:
    # lifetimes' freq="W" month is 4.345 weeks (30.415 days); it discounts period k's
    # purchases by (1 + d)^k. Pass Series: its helper fails on pandas 3 otherwise.
    bgf, ggf = lifetimes_models(bg, gg)
    ref = ggf.customer_lifetime_value(bgf, cdnow["frequency"], cdnow["recency"], cdnow["T"],
                                      cdnow["monetary_value"], time=12, discount_rate=0.01,
                                      freq="W")
    ours = customer_lifetime_value(bg, gg, cdnow, time_unit="W", days_per_month=7 * 4.345,
                                   **YEAR_MONTHLY)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6)
    assert ours.index.equals(cdnow.index)


def test_reproduces_lifetimes_on_daily_data(cdnow: pd.DataFrame) -> None:
    # The same customers in days; lifetimes' freq="D" month is 30 days.
    daily = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    bg_d = BGNBD().fit(daily)
    gg = GammaGamma().fit(daily[daily["frequency"] > 0])
    bgf, ggf = lifetimes_models(bg_d, gg)
    ref = ggf.customer_lifetime_value(bgf, daily["frequency"], daily["recency"], daily["T"],
                                      daily["monetary_value"], time=6, discount_rate=0.02,
                                      freq="D")
    ours = customer_lifetime_value(bg_d, gg, daily, time_unit="D", horizon=6,
                                   discount_period="M", discount_rate=0.02, days_per_month=30)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6)


# ----------------------------------------------------------------- hand computation


def test_hand_computed_two_periods_with_known_parameters() -> None:
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.5
    bg = with_params(BGNBD(), [r, alpha, a, b])
    gg = with_params(GammaGamma(), [6.0, 4.0, 15.0])
    x, t_x, T, m = 2.0, 30.0, 39.0, 20.0
    one = pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [T], "monetary_value": [m]},
                       index=["ann"])

    def expected(t: float) -> float:  # FHL 2005 eq. 10, written out directly
        head = (a + b + x - 1) / (a - 1) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
        return head / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))

    spend = 6.0 * (15.0 + x * m) / (6.0 * x + 4.0 - 1)  # 6·55/15 = 22
    assert spend == 22.0
    # Two 4-week months (days_per_month=28) at 1% a month, 30% margin.
    e1, e2 = expected(4.0), expected(8.0)
    by_hand = 0.3 * spend * (e1 / 1.01 + (e2 - e1) / 1.01**2)
    got = customer_lifetime_value(bg, gg, one, time_unit="W", horizon=2, discount_period="M",
                                  discount_rate=0.01, margin=0.3, days_per_month=28)
    assert got["ann"] == pytest.approx(by_hand, rel=1e-10)


class Poisson:
    """A toy transaction model: every customer buys `rate` times per time unit, forever."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
        return pd.Series(self.rate * t, index=data.index)


class FixedSpend:
    def expected_spend(self, data: pd.DataFrame) -> pd.Series:
        return data["monetary_value"].astype(float)


def test_any_model_with_the_methods_works_and_steps_discount_within_periods() -> None:
    one = pd.DataFrame({"monetary_value": [10.0, 0.0]}, index=["ann", "bob"])
    kw = {"time_unit": "W", "discount_period": "M", "days_per_month": 28.0}
    got = customer_lifetime_value(Poisson(0.5), FixedSpend(), one, horizon=2,
                                  discount_rate=0.10, **kw)
    assert got["ann"] == pytest.approx(20 / 1.1 + 20 / 1.1**2)
    assert got["bob"] == 0.0
    # Weekly cash flows (4 a month): 5 dollars at (1.1)^(-j/4), j = 1..8.
    weekly = customer_lifetime_value(Poisson(0.5), FixedSpend(), one, horizon=2,
                                     discount_rate=0.10, steps_per_period=4, **kw)
    assert weekly["ann"] == pytest.approx(sum(5 / 1.1 ** (j / 4) for j in range(1, 9)))


def test_steps_with_an_annual_rate_equal_monthly_periods_at_the_equivalent_rate(
        bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    annual = customer_lifetime_value(bg, gg, cdnow, time_unit="W", horizon=1,
                                     discount_period="Y", discount_rate=0.12,
                                     steps_per_period=12)
    monthly = customer_lifetime_value(bg, gg, cdnow, time_unit="W", horizon=12,
                                      discount_period="M", discount_rate=1.12 ** (1 / 12) - 1)
    np.testing.assert_allclose(annual, monthly, rtol=1e-12)


def test_without_discounting_clv_is_spend_times_expected_purchases(
        bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    got = customer_lifetime_value(bg, gg, cdnow, time_unit="W", horizon=2,
                                  discount_period="Y", discount_rate=0.0, margin=0.25,
                                  steps_per_period=5)
    weeks = 2 * 365.25 / 7
    expected = 0.25 * gg.expected_spend(cdnow) * bg.expected_purchases(cdnow, weeks)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ----------------------------------------------------------------- units


def test_unit_lengths() -> None:
    assert unit_length("W") == 7 and unit_length("M") == DAYS_PER_MONTH == 30.4375
    assert unit_length("Q", in_unit="M") == 3 and unit_length("Y", in_unit="Q") == 4
    assert unit_length("Y", in_unit="W") == pytest.approx(365.25 / 7)
    with pytest.raises(ValueError, match="not a time unit"):
        unit_length("H")


def test_time_unit_disagreeing_with_the_data_is_refused(bg: BGNBD, gg: GammaGamma,
                                                       cdnow: pd.DataFrame) -> None:
    weekly = cdnow.copy()
    weekly.attrs["time_unit"] = "W"
    with pytest.raises(DataError, match="data.attrs\\['time_unit'\\] says") as err:
        customer_lifetime_value(bg, gg, weekly, time_unit="D", **YEAR_MONTHLY)
    assert "pass time_unit='W'" in str(err.value)
    assert err.value.n_rows == len(cdnow)
    ok = customer_lifetime_value(bg, gg, weekly, time_unit="W", **YEAR_MONTHLY)
    assert ok.attrs["time_unit"] == "W" and ok.attrs["discount_period"] == "M"


def test_the_unit_trap_inflates_clv_by_the_documented_factor(
        bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame, clv_weekly: pd.Series) -> None:
    # Without attrs nothing can tell weeks from days: reading weekly data as daily makes
    # a month 30.4 weeks of purchasing, and the year's CLV about 3.7 times too large.
    wrong = customer_lifetime_value(bg, gg, cdnow, time_unit="D", **YEAR_MONTHLY)
    ratio = wrong.sum() / clv_weekly.sum()
    assert ratio == pytest.approx(3.757, abs=1e-3)
    assert np.all(wrong > clv_weekly)
    # lifetimes' default freq="D" on these weekly data: the same trap, 3.73x.
    bgf, ggf = lifetimes_models(bg, gg)
    default = ggf.customer_lifetime_value(bgf, cdnow["frequency"], cdnow["recency"],
                                          cdnow["T"], cdnow["monetary_value"], time=12,
                                          discount_rate=0.01)
    assert default.sum() / clv_weekly.sum() == pytest.approx(3.726, abs=1e-3)


def test_a_model_that_records_its_time_unit_is_checked(gg: GammaGamma,
                                                       cdnow: pd.DataFrame) -> None:
    class Weekly(Poisson):
        time_unit_ = "W"

    with pytest.raises(DataError, match="fitted on data in 'W'"):
        customer_lifetime_value(Weekly(0.1), gg, cdnow, time_unit="M", **YEAR_MONTHLY)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("discount_rate", 1.0, "0.01 means 1%"),
    ("discount_rate", -0.1, "fraction per discount period"),
    ("margin", 30, "0.3 means a 30% margin"),
    ("horizon", 0, "whole number >= 1"),
    ("horizon", 1.5, "for 18 months use horizon=18"),
    ("steps_per_period", 0, "whole number >= 1"),
    ("discount_period", "month", "not a time unit"),
    ("time_unit", "H", "not a time unit"),
    ("days_per_month", -30, "days_per_month"),
])
def test_bad_options_teach(bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame, option: str,
                           value: object, message: str) -> None:
    kw = {"time_unit": "W", **YEAR_MONTHLY, option: value}
    with pytest.raises(ValueError, match=message):
        customer_lifetime_value(bg, gg, cdnow.head(), **kw)


# ----------------------------------------------------------------- data and speed


def test_distinct_rows_give_the_same_values_as_every_row(bg: BGNBD, gg: GammaGamma,
                                                         cdnow: pd.DataFrame,
                                                         clv_weekly: pd.Series) -> None:
    class Opaque:  # no data_columns: evaluated on every row
        def __init__(self, model) -> None:
            self.model = model

        def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
            return self.model.expected_purchases(data, t)

    every_row = customer_lifetime_value(Opaque(bg), gg, cdnow, time_unit="W", **YEAR_MONTHLY)
    np.testing.assert_allclose(every_row, clv_weekly, rtol=1e-13)
    shuffled = cdnow.sample(frac=1.0, random_state=4)
    again = customer_lifetime_value(bg, gg, shuffled, time_unit="W", **YEAR_MONTHLY)
    pd.testing.assert_series_equal(again, clv_weekly.loc[shuffled.index], check_exact=False,
                                   rtol=1e-13)


def test_one_time_buyers_get_the_population_spend(bg: BGNBD, gg: GammaGamma,
                                                  cdnow: pd.DataFrame,
                                                  clv_weekly: pd.Series) -> None:
    zero = cdnow["frequency"] == 0
    purchases = sum((bg.expected_purchases(cdnow[zero], 12 * DAYS_PER_MONTH / 7 * k / 12)
                     - bg.expected_purchases(cdnow[zero], 12 * DAYS_PER_MONTH / 7 * (k - 1) / 12)
                     if k > 1 else bg.expected_purchases(cdnow[zero], DAYS_PER_MONTH / 7))
                    / 1.01**k for k in range(1, 13))
    np.testing.assert_allclose(clv_weekly[zero], gg.expected_spend_new() * purchases,
                               rtol=1e-12)
    assert np.all(clv_weekly > 0)


def test_works_with_mbgnbd(gg: GammaGamma, cdnow: pd.DataFrame,
                           clv_weekly: pd.Series) -> None:
    mbg = MBGNBD().fit(cdnow)
    got = customer_lifetime_value(mbg, gg, cdnow, time_unit="W", **YEAR_MONTHLY)
    assert np.all(np.isfinite(got)) and np.all(got >= 0)
    # MBG/NBD lets one-time buyers be dead, so they are worth less than under BG/NBD.
    zero = cdnow["frequency"] == 0
    assert got[zero].sum() < clv_weekly[zero].sum()


def test_data_errors_count_customers_not_distinct_histories(bg: BGNBD, gg: GammaGamma,
                                                            cdnow: pd.DataFrame) -> None:
    bad = cdnow.copy()
    bad.loc[[1, 2, 6], "monetary_value"] = 0.0  # three repeat customers, spend 0
    with pytest.raises(DataError, match="zero or negative") as err:
        customer_lifetime_value(bg, gg, bad, time_unit="W", **YEAR_MONTHLY)
    assert err.value.n_rows == 3 and "row 1" in str(err.value)
    with pytest.raises(DataError, match="recency"):
        customer_lifetime_value(bg, gg, cdnow.drop(columns="recency"), time_unit="W",
                                **YEAR_MONTHLY)


def test_a_million_customers_score_like_their_rows(bg: BGNBD, gg: GammaGamma,
                                                   cdnow: pd.DataFrame,
                                                   clv_weekly: pd.Series) -> None:
    # Speed is measured in benchmarks/bench_models.py, not asserted here (shared 2-core CI).
    rows = np.random.default_rng(0).integers(0, len(cdnow), 1_000_000)
    big = cdnow.iloc[rows].reset_index()
    got = customer_lifetime_value(bg, gg, big, time_unit="W", **YEAR_MONTHLY)
    np.testing.assert_allclose(got.to_numpy(), clv_weekly.to_numpy()[rows], rtol=1e-13)


# ----------------------------------------------------------------- bootstrap intervals


@pytest.fixture(scope="module")
def interval(bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame) -> pd.DataFrame:
    return clv_interval(bg, gg, cdnow, time_unit="W", n_draws=200, random_state=7,
                        **YEAR_MONTHLY)


def test_interval_contains_the_estimate(interval: pd.DataFrame,
                                        clv_weekly: pd.Series) -> None:
    assert list(interval.columns) == ["estimate", "lower", "upper"]
    np.testing.assert_allclose(interval["estimate"], clv_weekly, rtol=1e-13)
    assert np.all(interval["lower"] <= interval["estimate"])
    assert np.all(interval["estimate"] <= interval["upper"])
    assert np.all(interval["lower"] > 0)
    assert interval.attrs["level"] == 0.9 and interval.attrs["n_infinite_draws"] == 0


def test_interval_is_deterministic_given_random_state(bg: BGNBD, gg: GammaGamma,
                                                      cdnow: pd.DataFrame,
                                                      interval: pd.DataFrame) -> None:
    kw = {"time_unit": "W", "n_draws": 200, **YEAR_MONTHLY}
    again = clv_interval(bg, gg, cdnow, random_state=7, **kw)
    pd.testing.assert_frame_equal(again, interval)
    other = clv_interval(bg, gg, cdnow, random_state=8, **kw)
    assert not np.allclose(other["upper"], interval["upper"])


def test_interval_narrows_with_more_data(cdnow: pd.DataFrame, interval: pd.DataFrame) -> None:
    # Four times the customers (as weights): same estimates, covariance / 4, width / 2.
    w = np.full(len(cdnow), 4.0)
    repeat = cdnow[cdnow["frequency"] > 0]
    bg4 = BGNBD().fit(cdnow, weights=w)
    gg4 = GammaGamma().fit(repeat, weights=np.full(len(repeat), 4.0))
    wide = interval["upper"] - interval["lower"]
    narrow4 = clv_interval(bg4, gg4, cdnow, time_unit="W", n_draws=200, random_state=7,
                           **YEAR_MONTHLY)
    ratio = (narrow4["upper"] - narrow4["lower"]) / wide
    assert ratio.median() == pytest.approx(0.5, abs=0.05)
    # And on real data: half of the customers give wider intervals than all of them.
    half = cdnow.iloc[::2]
    bg2 = BGNBD().fit(half)
    gg2 = GammaGamma().fit(half[half["frequency"] > 0])
    half_ci = clv_interval(bg2, gg2, cdnow, time_unit="W", n_draws=200, random_state=7,
                           **YEAR_MONTHLY)
    assert ((half_ci["upper"] - half_ci["lower"]) / wide).median() > 1.2


class ScalarOnlyBGNBD(BGNBD):
    """Accepts one horizon at a time only, like a model written without broadcasting."""

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
        return super().expected_purchases(data, float(t))


class MisbroadcastingBGNBD(BGNBD):
    """Accepts an array of horizons but silently uses its mean: must not be trusted."""

    def expected_purchases(self, data: pd.DataFrame, t: float) -> pd.Series:
        return super().expected_purchases(data, float(np.mean(t)))


@pytest.mark.parametrize("cls", [ScalarOnlyBGNBD, MisbroadcastingBGNBD])
def test_interval_is_the_same_with_one_call_per_step(cls: type, bg: BGNBD, gg: GammaGamma,
                                                     cdnow: pd.DataFrame) -> None:
    # BG/NBD evaluates all sub-steps of a draw in one call (one horizon per row); models
    # that cannot (or do it wrongly) fall back to one call per sub-step, same numbers.
    other = cls().fit(cdnow)
    kw = {"time_unit": "W", "n_draws": 20, "random_state": 3, **YEAR_MONTHLY}
    head = cdnow.head(300)
    pd.testing.assert_frame_equal(clv_interval(other, gg, head, **kw),
                                  clv_interval(bg, gg, head, **kw), check_exact=False,
                                  rtol=1e-9)


@pytest.mark.parametrize("model", [
    BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
    MBGNBD.from_params({"r": 0.88, "alpha": 28.6, "a": 7.8, "b": 6.3}),  # quadrature in p
    ParetoNBD.from_params({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])
def test_purchases_under_many_draws_are_those_of_copies_with_each_draw(
        model: Any, cdnow: pd.DataFrame) -> None:
    # expected_purchases_draws (the bootstrap's one call) equals expected_purchases of a
    # copy of the model with each parameter vector, at every horizon
    rng = np.random.default_rng(0)
    draws = model.params_.to_numpy() * np.exp(rng.normal(0, 0.1, (3, 4)))
    times = np.array([4.35, 8.7, 26.1, 52.2])
    data = cdnow.head(500)
    grid = model.expected_purchases_draws(data, times, draws)
    assert grid.shape == (3, 4, 500)
    for i, params in enumerate(draws):
        copy = drawn_model(model, params)
        for j, t in enumerate(times):
            np.testing.assert_allclose(grid[i, j], copy.expected_purchases(data, t),
                                       rtol=1e-12)
    with pytest.raises(ValueError, match="draws must have shape"):
        model.expected_purchases_draws(data, times, draws[:, :3])


def test_interval_keeps_spend_draws_with_infinite_mean_as_infinite(
        bg: BGNBD, cdnow: pd.DataFrame) -> None:
    # q = 1.1 with a wide log-scale sd: a good share of the draws have q <= 1.
    gg = with_params(GammaGamma(), [6.0, 1.1, 15.0], cov_log=np.diag([0.01, 0.25, 0.01]))
    ci = clv_interval(bg, gg, cdnow.head(50), time_unit="W", n_draws=100, random_state=0,
                      **YEAR_MONTHLY)
    assert ci.attrs["n_infinite_draws"] > 5
    assert np.all(np.isposinf(ci["upper"])) and np.all(np.isfinite(ci["lower"]))


def test_interval_needs_fitted_models_with_a_covariance(bg: BGNBD, gg: GammaGamma,
                                                        cdnow: pd.DataFrame) -> None:
    one = pd.DataFrame({"monetary_value": [10.0]})
    with pytest.raises(TypeError, match="params_ and _cov_log"):
        clv_interval(Poisson(0.5), FixedSpend(), one, time_unit="W", **YEAR_MONTHLY)
    singular = with_params(GammaGamma(), gg.params_.to_numpy(), cov_log=np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="no finite covariance"):
        clv_interval(bg, singular, cdnow.head(), time_unit="W", **YEAR_MONTHLY)
    with pytest.raises(ValueError, match="level"):
        clv_interval(bg, gg, cdnow.head(), time_unit="W", level=90, **YEAR_MONTHLY)


def test_a_boundary_fit_holds_its_edge_parameters_and_draws_the_others(
        bg: BGNBD, gg: GammaGamma, cdnow: pd.DataFrame) -> None:
    cov = np.diag([0.01, 0.01, 0.01])
    cov[1, :] = cov[:, 1] = np.nan  # q at the edge: no standard error
    edge = with_params(GammaGamma(), gg.params_.to_numpy(), cov_log=cov)
    with pytest.raises(DataError, match="no finite covariance"):  # not reported as a boundary
        clv_interval(bg, edge, cdnow.head(20), time_unit="W", **YEAR_MONTHLY)
    edge.boundary_ = "q at its limit (a test)"
    ci = clv_interval(bg, edge, cdnow.head(20), time_unit="W", n_draws=60, random_state=0,
                      **YEAR_MONTHLY)
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()
    assert (ci["upper"] > ci["lower"]).all()  # p, gamma and the BG/NBD still vary


def test_expected_discounted_payments_by_hand_and_against_the_infinite_sum() -> None:
    from retention_kit.clv import expected_discounted_payments
    from retention_kit.datasets import load_sbg_cohorts
    from retention_kit.models import SBG

    class Halving:  # S(t) = 0.5^t: every renewal with probability 0.5
        def survival(self, t):
            return 0.5 ** np.asarray(t, dtype=float)

    value, alive = expected_discounted_payments(Halving(), np.array([2, 0, 2]), horizon=2,
                                                discount_rate=0.1)
    assert value == pytest.approx([0.5 / 1.1 + 0.25 / 1.21] * 3)
    assert alive == pytest.approx([0.25] * 3)
    # A long horizon gives the sBG's discounted expected residual lifetime, whose first
    # payment is not discounted: DERL(n) / (1 + d).
    customers = load_sbg_cohorts().customers
    model = SBG().fit(customers.loc[customers["cohort"] == "regular"])
    n = np.array([0, 1, 4])
    value, alive = expected_discounted_payments(model, n, horizon=3000, discount_rate=0.1)
    assert value == pytest.approx(model.expected_residual_lifetime(n, 0.1) / 1.1, rel=1e-9)
    assert alive == pytest.approx(model.survival(n + 3000) / model.survival(n))
