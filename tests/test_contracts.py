"""Contractual models per plan (retention_kit.contracts) against simulated truth and sums.

The simulator below writes the canonical monthly subscription table of a business whose
log begins when it already had customers: each customer starts in a month a (before the
table when a < 0), churns at renewal T of her plan's period p (sBG, or BdW with c), pays
every month from a to a + T·p - 1, and appears in the table only for the months it covers.
Customers who left before the table began are absent; those who started before it carry
``started``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.contracts import (
    by_tenure_band,
    fit_contract_models,
    renewal_durations,
    residual_value,
)
from retention_kit.errors import DataError
from retention_kit.models import SBG
from retention_kit.models.sbg import bdw_log_survival, sbg_log_survival

T0 = pd.Period("2020-01", freq="M")


def simulate_table(plans: dict[str, dict], *, n: int, n_months: int, history: int,
                   seed: int) -> pd.DataFrame:
    """Monthly table: ``plans`` maps name -> alpha, beta, [c], [billing "M"/"Y"], price."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, (name, spec) in enumerate(plans.items()):
        p = 12 if spec.get("billing", "M") == "Y" else 1
        a = rng.integers(-history, n_months, n)
        theta = rng.beta(spec["alpha"], spec["beta"], n)
        c = spec.get("c", 1.0)
        ratio = np.log(rng.uniform(size=n)) / np.log1p(-np.minimum(theta, 1 - 1e-12))
        lifetime = np.floor(np.minimum(ratio, 1e6) ** (1.0 / c)) + 1  # renewal T >= 1
        lo = np.maximum(a, 0)
        hi = np.minimum(a + lifetime * p - 1, n_months - 1).astype(np.int64)
        seen = hi >= lo
        ids = np.arange(n)[seen] + i * n
        lo, hi, a = lo[seen], hi[seen], a[seen]
        count = hi - lo + 1
        cust = np.repeat(ids, count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        month = np.repeat(lo, count) + offset
        started = pd.PeriodIndex.from_ordinals(T0.ordinal + np.repeat(a, count),
                                               freq="M").to_timestamp()
        frames.append(pd.DataFrame({
            "customer_id": cust,
            "month": pd.PeriodIndex.from_ordinals(T0.ordinal + month, freq="M").to_timestamp(),
            "plan": name, "mrr": spec.get("price", 10.0),
            "billing_period": spec.get("billing", "M"),
            "started": started.where(np.repeat(a, count) < 0, pd.NaT)}))
    return pd.concat(frames, ignore_index=True)


BASIC = {"alpha": 1.0, "beta": 4.0}    # mean monthly churn 0.2
PRO = {"alpha": 2.0, "beta": 20.0}     # mean monthly churn 0.09


@pytest.fixture(scope="module")
def two_plans() -> tuple[pd.DataFrame, object, pd.DataFrame]:
    subs = simulate_table({"basic": BASIC, "pro": {**PRO, "price": 40.0}}, n=4000,
                          n_months=36, history=36, seed=11)
    durations = renewal_durations(subs)
    return durations, fit_contract_models(durations), subs


def subs_of(fixture: tuple) -> pd.DataFrame:
    return fixture[2]


def covers(model: SBG, truth: dict) -> bool:
    s = model.summary()
    return all(s.loc[k, "lower"] <= v <= s.loc[k, "upper"] for k, v in truth.items())


# --------------------------------------------------------------------------- durations


def test_renewal_durations_by_hand() -> None:
    # The table covers 2024-01 to 2024-06. A: monthly, paid Jan-Mar 2024: left at renewal 3.
    # B: monthly since 2023-10, before the table (3 renewals made by 2024-01: entry 3), paid
    # to May: left at renewal 8 (June). C: annual since 2023-06 (no renewal before the
    # table), paid to May, an unpaid June row: left at her first yearly renewal (June).
    # D: new in the last month (no renewal yet).
    months = pd.to_datetime(["2024-01", "2024-02", "2024-03"])
    rows = [("A", m, "basic", 10.0, "M", pd.NaT) for m in months]
    rows += [("B", m, "basic", 10.0, "M", pd.Timestamp("2023-10-15"))
             for m in pd.date_range("2024-01-01", "2024-05-01", freq="MS")]
    rows += [("C", m, "pro", 50.0, "Y", pd.Timestamp("2023-06-01"))
             for m in pd.date_range("2024-01-01", "2024-05-01", freq="MS")]
    rows += [("C", pd.Timestamp("2024-06-01"), "pro", 0.0, "Y", pd.NaT)]  # an unpaid row
    rows += [("D", pd.Timestamp("2024-06-01"), "basic", 10.0, "M", pd.NaT)]
    subs = pd.DataFrame(rows, columns=["customer_id", "month", "plan", "mrr", "billing_period",
                                       "started"])
    before = subs.copy()
    d = renewal_durations(subs)
    pd.testing.assert_frame_equal(subs, before)
    assert d.attrs["observation_end"] == "2024-06" and d.attrs["table_start"] == "2024-01"
    assert d.attrs["no_renewal_yet"] == {("basic", "M"): 1}
    got = d[["plan", "duration", "churned", "entry", "tenure_months", "period_months"]]
    assert got.loc["A"].tolist() == ["basic", 3, True, 0, 3, 1]
    assert got.loc["B"].tolist() == ["basic", 8, True, 3, 8, 1]   # last paid May < June
    assert got.loc["C"].tolist() == ["pro", 1, True, 0, 12, 12]
    assert "D" not in d.index
    kept = renewal_durations(subs, keep_new=True, observation_end="2024-06-30")
    assert kept.loc["D", ["duration", "churned"]].tolist() == [0, False]


def test_renewal_durations_refuses_bad_input() -> None:
    subs = pd.DataFrame({"customer_id": [1, 1], "month": pd.to_datetime(["2024-01", "2024-02"]),
                         "plan": "a", "mrr": 5.0, "started": pd.to_datetime(["2024-02-01"] * 2)})
    with pytest.raises(DataError, match="started is after the customer's first paid month"):
        renewal_durations(subs)
    with pytest.raises(DataError, match="billing_period is not 'M' or 'Y'"):
        renewal_durations(subs.drop(columns="started").assign(billing_period="annual"))
    with pytest.raises(DataError, match="rows after observation_end"):
        renewal_durations(subs.drop(columns="started"), observation_end="2024-01-31")


# --------------------------------------------------------------------------- recovery


def test_delayed_entry_recovers_each_plan_and_tells_them_apart(two_plans) -> None:
    durations, fits, _ = two_plans
    assert (durations["entry"] > 0).mean() > 0.1  # the log does begin mid-tenure
    basic, pro = fits["basic"], fits["pro"]
    assert covers(basic.sbg, BASIC) and covers(pro.sbg, PRO)
    # the BdW's c covers 1 on sBG data
    for f in (basic, pro):
        s = f.bdw.summary()
        assert s.loc["c", "lower"] <= 1 <= s.loc["c", "upper"]
    # ignoring the entry times is biased: the truth falls outside the intervals
    naive = SBG().fit(durations.loc[durations["plan"] == "basic", ["duration", "churned"]])
    assert not covers(naive, BASIC)
    # so is a log that began mid-tenure without the true starts; the fit says so
    blind = fit_contract_models(renewal_durations(subs_of(two_plans).drop(columns="started")))
    assert not covers(blind["basic"].sbg, BASIC)
    pile = [x for x in blind["basic"].diagnostics if x.check == "starts before the table"][0]
    assert pile.verdict == "caution" and pile.value > 5, pile.reason
    assert [x.verdict for x in basic.diagnostics if x.check == "starts before the table"] == [
        "ok"]
    # the two plans are told apart: their beta intervals do not overlap
    b, p = basic.sbg.summary(), pro.sbg.summary()
    assert b.loc["beta", "upper"] < p.loc["beta", "lower"]


def test_holdout_has_churners_and_is_ok_on_correct_data(two_plans) -> None:
    _, fits, _ = two_plans
    for f in fits:
        h = f.holdout
        assert h is not None and h.periods == 12 and h.actual > 0 and h.customers > h.actual
        assert h.verdict == "ok", h.finding().reason
        assert f.verdict == "ok", f.diagnostics.to_frame()
    frame = fits.to_frame()
    assert list(frame.index) == [("basic", "M"), ("pro", "M")]
    assert frame["model"].tolist() == ["sBG", "sBG"]
    assert "<table>" in fits._repr_html_()


def test_annual_plan_is_modelled_in_years() -> None:
    truth = {"alpha": 3.0, "beta": 12.0}  # yearly churn at the first renewal: 3/15 = 0.2
    subs = simulate_table({"annual": {**truth, "billing": "Y", "price": 20.0}}, n=6000,
                          n_months=72, history=72, seed=5)
    d = renewal_durations(subs)
    assert (d["period_months"] == 12).all() and d["duration"].max() <= 12
    fit = fit_contract_models(d)["annual"]
    assert fit.period_months == 12 and covers(fit.sbg, truth)
    churn_first_year = 1 - float(fit.sbg.survival(1))
    assert churn_first_year == pytest.approx(0.2, abs=0.03)  # per year, not per month
    assert fit.holdout is not None and fit.holdout.periods == 1
    values = residual_value(fit_contract_models(d), d, discount_rate=0.01)
    yearly = 1.01 ** 12 - 1
    derl = fit.model.expected_residual_lifetime(values["renewals"].to_numpy(), yearly)
    np.testing.assert_allclose(values["derl"], derl, rtol=1e-12)
    np.testing.assert_allclose(values["residual_value"], 12 * values["mrr"] * derl, rtol=1e-12)
    assert values["months_to_renewal"].between(0, 11).all()


# --------------------------------------------------------------------------- model choice


@pytest.mark.parametrize("c, expected, seeds", [(0.5, "BdW", range(3)), (1.0, "sBG", range(3))])
def test_likelihood_ratio_picks_the_true_model(c: float, expected: str, seeds: range) -> None:
    picks = []
    for seed in seeds:
        subs = simulate_table({"x": {"alpha": 1.0, "beta": 3.0, "c": c}}, n=3000,
                              n_months=36, history=24, seed=100 + seed)
        fit = fit_contract_models(renewal_durations(subs), holdout_months=6)["x"]
        picks.append(fit.chosen)
        assert ("BdW:" if fit.chosen == "BdW" else "sBG:") in fit.choice_sentence
    assert picks.count(expected) >= len(picks) - 1, picks


# --------------------------------------------------------------------------- residual value


def test_residual_lifetime_matches_brute_force_sums(two_plans) -> None:
    durations, fits, _ = two_plans
    d_month, horizon = 0.01, 120
    values = residual_value(fits, durations, discount_rate=d_month, margin=0.5,
                            horizon_months=horizon)
    assert len(values) == int((~durations["churned"]).sum())
    t = np.arange(0, 20_000, dtype=float)
    z = 1 / (1 + d_month)
    for f in fits:
        for name, model, log_s in (("sBG", f.sbg, sbg_log_survival),
                                   ("BdW", f.bdw, bdw_log_survival)):
            surv = np.exp(log_s(model.params_.to_numpy(), t))
            for n in (1, 4, 12, 30):
                later = np.arange(n + 1, len(t))
                brute = float(np.sum(surv[later] / surv[n] * z ** (later - n - 1)))
                assert model.expected_residual_lifetime(n, d_month) == pytest.approx(
                    brute, rel=1e-9), (name, n)
        mine = values.loc[values["plan"] == f.group]
        surv = np.exp((sbg_log_survival if f.chosen == "sBG" else bdw_log_survival)(
            f.model.params_.to_numpy(), t))
        for n in np.unique(mine["renewals"])[:5]:
            row = mine.loc[mine["renewals"] == n].iloc[0]
            later = np.arange(n + 1, len(t))
            brute = float(np.sum(surv[later] / surv[n] * z ** (later - n - 1)))
            assert row["derl"] == pytest.approx(brute, rel=1e-9)
            assert row["residual_value"] == pytest.approx(0.5 * row["mrr"] * brute, rel=1e-9)
            k = np.arange(1, horizon + 1)
            assert row["expected_renewals"] == pytest.approx(
                float(np.sum(surv[n + k] / surv[n])), rel=1e-12)
    # keeping the subscribers in their first month values them too, counted once
    everyone = renewal_durations(subs_of(two_plans), keep_new=True)
    again = fit_contract_models(everyone)
    assert [f.no_renewal_yet for f in again] == [f.no_renewal_yet for f in fits]
    assert [f.no_renewal_yet for f in fits] == [52, 53]
    more = residual_value(again, everyone, discount_rate=d_month)
    assert len(more) == len(values) + 52 + 53 and (more["renewals"] == 0).sum() == 105
    bands = by_tenure_band(values)
    assert list(bands.index) == ["1", "2-3", "4-6", "7-12", "13-24", "25+"]
    assert bands["customers"].sum() == len(values)
    assert bands["residual_value"].sum() == pytest.approx(values["residual_value"].sum())
    # the sorting effect: long-tenure subscribers are expected to stay longer
    filled = bands.loc[bands["customers"] > 0, "mean_expected_months"]
    assert filled.iloc[-1] > filled.iloc[0]


# --------------------------------------------------------------------------- no model


def test_a_plan_without_churners_gets_no_model_and_no_value() -> None:
    subs = simulate_table({"basic": BASIC}, n=2000, n_months=24, history=0, seed=3)
    loyal = pd.DataFrame({"customer_id": np.repeat(np.arange(10**6, 10**6 + 40), 24),
                          "month": np.tile(pd.date_range("2020-01-01", periods=24, freq="MS"),
                                           40),
                          "plan": "loyal", "mrr": 30.0, "billing_period": "M",
                          "started": pd.NaT})
    d = renewal_durations(pd.concat([subs, loyal], ignore_index=True))
    fits = fit_contract_models(d)
    f = fits["loyal"]
    assert f.model is None and f.chosen is None and f.verdict == "unreliable"
    assert "no customer churned" in f.diagnostics.findings[0].reason
    assert "100%" in f.diagnostics.findings[0].reason  # says why no retention is shown
    values = residual_value(fits, d, discount_rate=0.01)
    assert set(values["plan"]) == {"basic"}
    assert values.attrs["not_valued"] == {("loyal", "M"): 40}


def test_no_holdout_is_unreliable_and_says_why() -> None:
    subs = simulate_table({"basic": BASIC}, n=2000, n_months=24, history=0, seed=4)
    fit = fit_contract_models(renewal_durations(subs), holdout_months=11)["basic"]
    assert fit.holdout is not None and fit.holdout.periods == 11
    annual = simulate_table({"yearly": {**BASIC, "billing": "Y"}}, n=2000, n_months=48,
                            history=0, seed=4)
    fit = fit_contract_models(renewal_durations(annual), holdout_months=6)["yearly"]
    assert fit.model is not None and fit.holdout is None and fit.verdict == "unreliable"
    finding = [x for x in fit.diagnostics if x.check == "holdout fit"][0]
    assert finding.reason.startswith("No holdout for yearly: the holdout of 6 months is shorter")


def test_a_comeback_is_a_new_subscription_and_the_first_spell_a_churn() -> None:
    """Paid Jan-Mar, nothing in Apr-May, paid again Jun-Aug (the last month): the first
    spell left at renewal 3, the comeback has renewed twice since June (censored)."""
    months = pd.to_datetime(["2024-01", "2024-02", "2024-03", "2024-06", "2024-07", "2024-08",
                             "2024-01", "2024-02"])
    subs = pd.DataFrame({"customer_id": ["a"] * 6 + ["b"] * 2, "month": months,
                         "plan": "basic", "mrr": [10.0] * 3 + [12.0] * 3 + [5.0] * 2})
    d = renewal_durations(subs, observation_end="2024-08-31")
    got = d.loc["a", ["spell", "duration", "churned", "mrr", "tenure_months"]]
    assert got.to_numpy().tolist() == [[1, 3, True, 10.0, 3], [2, 2, False, 12.0, 3]]
    assert d.loc["b", "churned"] and d.loc["b", "duration"] == 2
    assert str(d.loc["a", "start"].iloc[1].date()) == "2024-06-01"


def test_a_holdout_error_within_chance_is_a_caution_not_a_verdict_of_failure() -> None:
    from retention_kit.contracts import HoldoutCheck
    args = {"model": "sBG", "periods": 12, "period_months": 1, "calibration_end": "2023-12",
            "holdout_end": "2024-12", "customers": 130}
    few = HoldoutCheck(predicted=10.8, actual=19, noise=0.29, **args)     # -43%, 1.5 noise
    assert few.verdict == "caution" and "too few churners" in few.finding().reason
    many = HoldoutCheck(predicted=108.0, actual=190, noise=0.09, **args)  # -43%, 4.8 noise
    assert many.verdict == "unreliable" and "too few" not in many.finding().reason
    assert HoldoutCheck(predicted=105.0, actual=100, noise=0.3, **args).verdict == "ok"
    assert HoldoutCheck(predicted=5.0, actual=0, noise=0.4, **args).verdict == "unreliable"


def test_a_churn_cut_on_a_geometric_plan_is_worth_what_the_closed_form_says() -> None:
    """Everyone renews with 0.9 a month (Beta(900, 8100) is a point mass): DERL at 1%, which
    counts the next renewal, is 0.9 / (1 - 0.9/1.01) = 8.26; one cancellation in ten avoided
    makes renewal 0.91 and DERL 9.19."""
    from retention_kit.contracts import churn_cut_value
    from retention_kit.simulate import simulate_subscriptions
    subs = simulate_subscriptions(4000, start_month="2022-01", n_months=36,
                                  plans={"basic": 10.0}, churn={"alpha": 900.0, "beta": 8100.0},
                                  reactivation=0, random_state=21)
    d = renewal_durations(subs)
    fits = fit_contract_models(d)
    out = churn_cut_value(fits, d, cut=0.1, discount_rate=0.01).iloc[0]
    theta = 1 - fits["basic"].model.survival(1)  # the fitted one-renewal churn, about 0.1
    derl = (1 - theta) / (1 - (1 - theta) / 1.01)
    derl_cut = (1 - 0.9 * theta) / (1 - (1 - 0.9 * theta) / 1.01)
    assert abs(theta - 0.1) < 0.01
    assert out["value_with_cut"] / out["value"] == pytest.approx(derl_cut / derl, rel=0.01)
    exact = residual_value(fits, d, discount_rate=0.01)["residual_value"].sum()
    assert out["value"] == pytest.approx(exact, rel=1e-6)
    with pytest.raises(DataError, match="cut must be a share"):
        churn_cut_value(fits, d, cut=10, discount_rate=0.01)


def test_caution_plans_get_value_ranges_that_contain_the_estimate() -> None:
    from retention_kit.simulate import simulate_subscriptions
    subs = simulate_subscriptions(600, start_month="2023-01", n_months=18,
                                  plans={"basic": 10.0}, churn={"alpha": 1.0, "beta": 5.0},
                                  reactivation=0, random_state=5)
    d = renewal_durations(subs)
    fits = fit_contract_models(d, holdout_months=6)
    assert fits["basic"].verdict == "caution"  # 18 months, 600 customers: holdout 10-25% off
    values = residual_value(fits, d, discount_rate=0.01, n_draws=100)
    assert (values["residual_value_low"] <= values["residual_value"]).all()
    assert (values["residual_value"] <= values["residual_value_high"]).all()
    assert (values["residual_value_high"] > 1.05 * values["residual_value_low"]).all()
    plain = residual_value(fits, d, discount_rate=0.01)
    assert plain["residual_value_low"].isna().all()
    pd.testing.assert_series_equal(plain["residual_value"], values["residual_value"])


def test_a_geometric_limit_under_caution_gets_a_binomial_range() -> None:
    # Every subscriber leaves at each renewal with probability 0.1 (no heterogeneity): the
    # sBG fit lies at its geometric limit, without standard errors, and its checks call for
    # a caution. Its value gets a 90% range from the binomial uncertainty of the churn
    # probability: churners C among N renewal opportunities, mu ~ Beta(C + 1/2, N - C + 1/2),
    # and the geometric DERL(d) = (1 - mu) / (1 - (1 - mu) / (1 + d)) is decreasing in mu.
    from scipy import stats

    subs = simulate_table({"flat": {"alpha": 1e6, "beta": 9e6}}, n=1500, n_months=24,
                          history=24, seed=0)
    d = renewal_durations(subs)
    fits = fit_contract_models(d)
    fit = fits["flat"]
    assert fit.chosen == "sBG" and fit.sbg.boundary_ and fit.sbg.se_.isna().all()
    assert fit.verdict == "caution"
    values = residual_value(fits, d, discount_rate=0.01, n_draws=1000)
    # the range exists and brackets the estimate
    assert values["residual_value_low"].notna().all()
    assert (values["residual_value_low"] < values["residual_value"]).all()
    assert (values["residual_value"] < values["residual_value_high"]).all()
    # ... and is the binomial interval's, computed by hand
    churners = int(d["churned"].sum())
    opportunities = float((d["duration"] - d["entry"]).sum())
    mu_hat = churners / opportunities
    assert fit.sbg.params_["alpha"] / fit.sbg.params_.sum() == pytest.approx(mu_hat, rel=1e-6)
    post = stats.beta(churners + 0.5, opportunities - churners + 0.5)

    def derl(mu: float) -> float:
        return (1 - mu) / (1 - (1 - mu) / 1.01)

    # the point estimate is the limit's own closed form, for every subscriber
    np.testing.assert_allclose(values["derl"], derl(mu_hat), rtol=1e-9)
    row = values.iloc[0]
    assert row["residual_value_low"] == pytest.approx(row["mrr"] * derl(post.ppf(0.95)),
                                                      rel=0.01)
    assert row["residual_value_high"] == pytest.approx(row["mrr"] * derl(post.ppf(0.05)),
                                                       rel=0.01)
