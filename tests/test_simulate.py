"""Seeded simulators and the committed demo data.

Recovery checks compare simulated samples with closed-form expectations of the
generating models, within a few standard errors, so a wrong process fails them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from retention_kit.datasets import (
    EXPERIMENT_TRUE_EFFECTS,
    DemoClient,
    data_dir,
    list_demo_clients,
    load_demo_client,
    load_experiment,
    load_survey,
    simulate_experiment,
    simulate_subscriptions,
    simulate_survey,
    simulate_transactions,
    write_demo_data,
)
from retention_kit.errors import DataError

#: The generated demo clients (one row per purchase) ...
GENERATED = ["b2b_saas", "marketplace", "retailer", "seasonal_shop", "subscription_box"]
#: ... and all of them, with the snapshot export and the raw till export that needs its spec.
CLIENTS = [*GENERATED, "telco_snapshot", "till_export"]


# --------------------------------------------------------------------------- helpers


def _first_and_last(log: pd.DataFrame) -> pd.DataFrame:
    return log.groupby("customer_id")["date"].agg(["min", "max", "size"])


def _spells(months: pd.Series) -> int:
    """Number of runs of consecutive months in a sorted series of first-of-month dates."""
    idx = months.dt.year.to_numpy() * 12 + months.dt.month.to_numpy()
    return int(1 + (np.diff(idx) > 1).sum())


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("make", [
    lambda rs: simulate_transactions(300, start="2023-01-01", end="2023-12-31",
                                     random_state=rs),
    lambda rs: simulate_transactions(300, start="2023-01-01", end="2023-12-31",
                                     model="pareto_nbd", item_price=15.0,
                                     seasonality=[1] * 10 + [3, 4], random_state=rs),
    lambda rs: simulate_subscriptions(300, start_month="2023-01", n_months=12,
                                      seats={"median": 3, "sigma": 1.0, "expansion": 0.05},
                                      random_state=rs),
    lambda rs: simulate_survey(pd.DataFrame({
        "customer_id": range(300), "loyalty": np.linspace(0, 1, 300),
        "first_date": pd.Timestamp("2023-01-01"), "last_date": pd.Timestamp("2023-03-01")}),
        random_state=rs),
    lambda rs: simulate_experiment(300, random_state=rs),
], ids=["bgnbd", "pareto_seasonal", "subscriptions", "survey", "experiment"])
def test_same_seed_same_frame_other_seed_other_frame(make) -> None:
    a, b, c = make(11), make(11), make(12)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, make(np.random.default_rng(11)))
    assert not a.equals(c)


@pytest.mark.parametrize("bad", [None, -1, 1.5, "7", True])
def test_random_state_must_be_a_seed_or_generator(bad) -> None:
    with pytest.raises(DataError, match="random_state"):
        simulate_transactions(10, start="2023-01-01", end="2023-12-31", random_state=bad)


# --------------------------------------------------------------------------- transactions


def test_transaction_log_invariants_and_latent_frame() -> None:
    log, latent = simulate_transactions(
        3000, start="2022-03-01", end="2023-02-28", acquisition_end="2022-06-30",
        id_prefix="C", item_price=12.0, return_latent=True, random_state=1)
    assert list(log.columns) == ["customer_id", "date", "amount", "quantity"]
    assert log["date"].dtype == "datetime64[us]"
    assert (log["date"] == log["date"].dt.normalize()).all()
    assert log["date"].between("2022-03-01", "2023-02-28").all()
    assert log["date"].is_monotonic_increasing
    assert (log["amount"] > 0).all()
    assert np.allclose(log["amount"], log["amount"].round(2))
    assert (log["quantity"] >= 1).all()
    assert log["customer_id"].str.fullmatch(r"C\d{5}").all()

    stats = _first_and_last(log).reindex(latent.index)
    assert (stats["min"] == latent["first_purchase"]).all()       # nothing before the first
    assert latent["first_purchase"].between("2022-03-01", "2022-06-30").all()
    assert (stats["size"] - 1 == latent["frequency"]).all()
    end = pd.Timestamp("2023-02-28")
    assert np.allclose(latent["T"], (end - latent["first_purchase"]).dt.days / 7)
    # BG/NBD: customers drop out only after a repeat purchase; never more repeats than that
    assert (latent["frequency"] <= latent["dropout_after"]).all()
    assert latent.loc[latent["frequency"] == 0, "alive"].all()
    assert (~latent["alive"] == (latent["frequency"] == latent["dropout_after"])).all()
    assert np.allclose(latent["mean_spend"], 6.25 / latent["nu"])


def test_given_first_purchases_are_used() -> None:
    first = pd.to_datetime(["2024-01-05", "2024-02-10", "2024-12-31"])
    log, latent = simulate_transactions(3, start="2024-01-01", end="2024-12-31",
                                        first_purchase=first, return_latent=True,
                                        random_state=2)
    assert latent["first_purchase"].tolist() == list(first)
    assert latent.loc[3, "T"] == 0 and latent.loc[3, "frequency"] == 0
    assert log["customer_id"].tolist().count(3) == 1


def test_bgnbd_sample_matches_closed_form_expectations() -> None:
    """Mean repeat purchases E[X(T)] and P(X(T) = 0) of BG/NBD (Fader, Hardie & Lee 2005)."""
    r, alpha, a, b = 0.4, 5.0, 0.9, 3.0
    log, latent = simulate_transactions(
        100_000, start="2022-01-01", end="2022-12-31", acquisition_end="2022-03-31",
        params={"r": r, "alpha": alpha, "a": a, "b": b}, return_latent=True, random_state=3)
    x = (log.groupby("customer_id").size() - 1).reindex(latent.index).to_numpy()
    t = latent["T"].to_numpy()
    z = alpha / (alpha + t)
    expected = (a + b - 1) / (a - 1) * (1 - z**r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    se = x.std() / np.sqrt(len(x))
    assert abs(x.mean() - expected.mean()) < 4 * se, (x.mean(), expected.mean(), se)
    p0 = z**r
    se0 = np.sqrt(np.mean(p0 * (1 - p0)) / len(x))
    assert abs((x == 0).mean() - p0.mean()) < 4 * se0, ((x == 0).mean(), p0.mean(), se0)
    # the closed form is sharp: a 10% change in r moves the expectation far outside
    assert abs(x.mean() - (expected.mean() * 1.1)) > 10 * se


def test_pareto_nbd_sample_matches_closed_form_mean() -> None:
    """E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)]."""
    r, alpha, s, beta = 0.6, 8.0, 0.7, 10.0
    log = simulate_transactions(
        80_000, start="2022-01-01", end="2023-12-30", acquisition_end="2022-01-01",
        model="pareto_nbd", params={"r": r, "alpha": alpha, "s": s, "beta": beta},
        random_state=4)
    x = log.groupby("customer_id").size().to_numpy() - 1
    t = (pd.Timestamp("2023-12-30") - pd.Timestamp("2022-01-01")).days / 7
    expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert len(x) == 80_000
    assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(len(x)), (x.mean(), expected)


def test_gamma_gamma_spend_matches_population_mean() -> None:
    """A customer's mean spend is p / nu; averaged over customers, p gamma / (q - 1)."""
    p, q, gamma = 4.0, 5.0, 30.0
    log = simulate_transactions(60_000, start="2023-01-01", end="2023-12-31",
                                spend={"p": p, "q": q, "gamma": gamma}, random_state=5)
    per_customer = log.groupby("customer_id")["amount"].mean()
    se = per_customer.std() / np.sqrt(len(per_customer))
    assert abs(per_customer.mean() - p * gamma / (q - 1)) < 4 * se


def test_daily_and_weekly_units_describe_the_same_process() -> None:
    weekly = {"r": 0.5, "alpha": 4.0, "a": 1.2, "b": 3.0}
    daily = dict(weekly, alpha=28.0)
    kwargs = {"start": "2023-01-01", "end": "2023-12-31", "random_state": 6}
    w = simulate_transactions(40_000, params=weekly, time_unit="W", **kwargs)
    d = simulate_transactions(40_000, params=daily, time_unit="D", **kwargs)
    pd.testing.assert_frame_equal(w, d, check_exact=False, atol=0.01)


def test_seasonality_moves_purchases_into_peak_months() -> None:
    kwargs = {"start": "2022-01-01", "end": "2023-12-31", "random_state": 7,
              "params": {"r": 1.0, "alpha": 5.0, "a": 1.0, "b": 8.0}}
    flat = simulate_transactions(5000, **kwargs)
    peak = simulate_transactions(5000, seasonality=[1] * 10 + [4, 4], **kwargs)
    share = [log["date"].dt.month.isin([11, 12]).mean() for log in (flat, peak)]
    assert share[0] < 0.22 < 0.45 < share[1]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), days=st.integers(0, 800), seed=st.integers(0, 2**32),
       model=st.sampled_from(["bgnbd", "pareto_nbd"]), unit=st.sampled_from(["D", "W"]),
       r=st.floats(0.05, 5), alpha=st.floats(0.1, 50), a=st.floats(0.1, 5),
       b=st.floats(0.1, 5), seasonal=st.booleans())
def test_transaction_invariants_hold_for_any_parameters(n, days, seed, model, unit, r, alpha,
                                                        a, b, seasonal) -> None:
    start = pd.Timestamp("2023-03-01")
    end = start + pd.Timedelta(days=days)
    params = ({"r": r, "alpha": alpha, "a": a, "b": b} if model == "bgnbd"
              else {"r": r, "alpha": alpha, "s": a, "beta": b})
    log, latent = simulate_transactions(
        n, start=start, end=end, model=model, params=params, time_unit=unit,
        seasonality=[1] * 9 + [2, 5, 7] if seasonal else None, return_latent=True,
        random_state=seed)
    assert log["date"].between(start, end).all() and (log["amount"] >= 0.01).all()
    stats = _first_and_last(log).reindex(latent.index)
    assert (stats["min"] == latent["first_purchase"]).all()
    assert (stats["size"] - 1 == latent["frequency"]).all()
    assert log["date"].is_monotonic_increasing


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), months=st.integers(1, 30), seed=st.integers(0, 2**32),
       alpha=st.floats(0.1, 5), beta=st.floats(0.1, 20), react=st.floats(0, 1),
       up=st.floats(0, 0.5), down=st.floats(0, 0.5))
def test_subscription_invariants_hold_for_any_parameters(n, months, seed, alpha, beta, react,
                                                         up, down) -> None:
    subs, latent = simulate_subscriptions(
        n, start_month="2023-01", n_months=months, churn={"alpha": alpha, "beta": beta},
        reactivation=react, upgrade=up, downgrade=down,
        seats={"median": 3, "sigma": 1.0, "expansion": 0.1, "contraction": 0.1},
        return_latent=True, random_state=seed)
    assert not subs.duplicated(["customer_id", "month"]).any()
    assert (subs["mrr"] >= 0).all() and (subs["month"].dt.day == 1).all()
    assert subs["month"].max() < pd.Timestamp("2023-01-01") + pd.DateOffset(months=months)
    counts = subs.groupby("customer_id").size().reindex(latent.index, fill_value=0)
    assert (counts == latent["months_active"]).all()
    assert (counts >= 1).sum() == latent["n_spells"].gt(0).sum()
    if react == 0:
        spells = subs.groupby("customer_id")["month"].apply(_spells)
        assert (spells == 1).all()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model": "weibull"}, "model must be"),
    ({"time_unit": "M"}, "time_unit"),
    ({"params": {"r": 1, "alpha": 1}}, "exactly the keys"),
    ({"params": {"r": 1, "alpha": -1, "a": 1, "b": 1}}, "positive"),
    ({"spend": {"p": 1, "q": 1}}, "spend"),
    ({"end": "2022-12-31"}, "before start"),
    ({"acquisition_end": "2025-01-01"}, "acquisition_end"),
    ({"seasonality": [1, 2, 3]}, "12 positive"),
    ({"first_purchase": ["2023-01-01"] * 3}, "one date per customer"),
    ({"first_purchase": ["2023-01-01"] * 4 + ["2021-01-01"]}, "outside"),
    ({"start": "not a date"}, "not a date"),
])
def test_transaction_arguments_are_checked(kwargs, match) -> None:
    args = {"start": "2023-01-01", "end": "2023-12-31", "random_state": 0, **kwargs}
    with pytest.raises(DataError, match=match):
        simulate_transactions(5, **args)


# --------------------------------------------------------------------------- subscriptions


def test_subscription_invariants() -> None:
    plans = {"basic": 10.0, "pro": 30.0, "free": 0.0}
    subs, latent = simulate_subscriptions(
        2000, start_month="2022-07-15", n_months=18, plans=plans, plan_mix=[0.2, 0.5, 0.3],
        reactivation=0.05, upgrade=0.05, downgrade=0.05, id_prefix="S", return_latent=True,
        random_state=8)
    assert list(subs.columns) == ["customer_id", "month", "plan", "mrr"]
    assert (subs["month"].dt.day == 1).all()
    assert subs["month"].between("2022-07-01", "2023-12-01").all()
    assert not subs.duplicated(["customer_id", "month"]).any()
    assert (subs["mrr"] >= 0).all()
    assert (subs["mrr"] == subs["plan"].map(plans)).all()
    assert set(subs["plan"]) == set(plans)
    first = subs.groupby("customer_id")["month"].min().reindex(latent.index)
    assert (first == latent["acquisition_month"]).all()
    assert (subs.groupby("customer_id").size().reindex(latent.index)
            == latent["months_active"]).all()
    spells = subs.groupby("customer_id")["month"].apply(_spells).reindex(latent.index)
    assert (spells == latent["n_spells"]).all()
    assert (latent["n_spells"] > 1).sum() > 20       # some reactivations
    last = subs["month"].max()
    active_last = set(subs.loc[subs["month"] == last, "customer_id"])
    assert active_last == set(latent.index[latent["active_at_end"]])
    # plan moves are one step in price order, so free <-> pro never happens in one month
    order = subs.assign(rank=subs["plan"].map({"free": 0, "basic": 1, "pro": 2}))
    order = order.sort_values(["customer_id", "month"])
    same = order["customer_id"].eq(order["customer_id"].shift())
    assert order["rank"].diff()[same].abs().max() == 1


def test_without_reactivation_months_are_contiguous() -> None:
    subs = simulate_subscriptions(1500, start_month="2023-01", n_months=24, reactivation=0.0,
                                  random_state=9)
    spells = subs.sort_values("month").groupby("customer_id")["month"].apply(_spells)
    assert (spells == 1).all()


def test_sbg_survival_matches_closed_form() -> None:
    """Share still subscribed after t renewals: B(alpha, beta + t) / B(alpha, beta)."""
    alpha, beta = 0.8, 2.5
    n = 50_000
    subs = simulate_subscriptions(n, start_month="2023-01", n_months=10,
                                  churn={"alpha": alpha, "beta": beta}, reactivation=0.0,
                                  acquisition=[1] + [0] * 9, random_state=10)
    observed = subs.groupby("month").size().to_numpy() / n
    t = np.arange(10)
    expected = np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(observed - expected) <= 4 * se + 1e-12), (observed, expected)


def test_seats_give_heavy_tailed_growing_mrr() -> None:
    subs = simulate_subscriptions(3000, start_month="2023-01", n_months=24,
                                  plans={"seat": 10.0},
                                  seats={"median": 4, "sigma": 1.0, "expansion": 0.1},
                                  churn={"alpha": 1.0, "beta": 50.0}, random_state=11)
    assert (subs["mrr"] >= 10).all() and np.allclose(subs["mrr"] % 10, 0)
    by_customer = subs.sort_values("month").groupby("customer_id")["mrr"]
    assert (by_customer.last() >= by_customer.first()).all()       # expansion only
    assert (by_customer.last() > by_customer.first()).mean() > 0.5
    final = subs.loc[subs["month"] == subs["month"].max(), "mrr"].sort_values()
    assert final.tail(len(final) // 20).sum() / final.sum() > 0.2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"plans": {}}, "non-empty"),
    ({"plans": {"a": -1.0}}, "non-negative"),
    ({"plan_mix": [1.0]}, "plan_mix"),
    ({"churn": {"alpha": 1.0}}, "churn"),
    ({"upgrade": 1.5}, "upgrade"),
    ({"upgrade": 0.6, "downgrade": 0.6}, "exceeds 1"),
    ({"seats": {"median": 3}}, "seats"),
    ({"acquisition": [1, 2]}, "acquisition"),
    ({"n_months": 0}, "n_months"),
])
def test_subscription_arguments_are_checked(kwargs, match) -> None:
    args = {"start_month": "2023-01", "n_months": 6, "random_state": 0, **kwargs}
    with pytest.raises(DataError, match=match):
        simulate_subscriptions(5, **args)


# --------------------------------------------------------------------------- survey


def _survey_customers(n: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                         "loyalty": np.linspace(0, 1, n),
                         "first_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(
                             np.arange(n) % 30, unit="D"),
                         "last_date": pd.Timestamp("2024-03-31")})


def test_survey_scales_marginals_and_loyalty_link() -> None:
    customers = _survey_customers(40_000)
    answers = simulate_survey(customers, response_rate=0.5, random_state=12)
    assert list(answers.columns) == ["customer_id", "date", "nps", "csat", "ces"]
    n = len(answers)
    assert abs(n / 40_000 - 0.5) < 4 * np.sqrt(0.25 / 40_000)
    assert answers["nps"].between(0, 10).all() and answers["csat"].between(1, 5).all()
    assert answers["ces"].between(1, 7).all()
    assert answers["customer_id"].is_unique and answers["date"].is_monotonic_increasing
    merged = answers.merge(customers, on="customer_id")
    assert (merged["date"] >= merged["first_date"]).all()
    assert (merged["date"] <= merged["last_date"]).all()
    promoters = (answers["nps"] >= 9).mean()
    detractors = (answers["nps"] <= 6).mean()
    se = np.sqrt(0.25 / n)
    assert abs(promoters - 0.39) < 4 * se and abs(detractors - 0.26) < 4 * se
    assert abs((answers["csat"] >= 4).mean() - 0.70) < 4 * se
    rho = merged[["loyalty", "nps", "csat", "ces"]].corr(method="spearman")["loyalty"]
    assert rho["nps"] > rho["csat"] > rho["ces"] > 0.2


def test_survey_response_bias_and_zero_strength() -> None:
    customers = _survey_customers(20_000)
    biased = simulate_survey(customers, response_bias=1.0, random_state=13)
    loyal = biased.merge(customers, on="customer_id")["loyalty"]
    assert loyal.mean() > 0.6
    flat = simulate_survey(customers, strength=0.0, random_state=13)
    rho = flat.merge(customers, on="customer_id")[["loyalty", "nps"]].corr().iloc[0, 1]
    assert abs(rho) < 0.05


@pytest.mark.parametrize(("change", "match"), [
    (lambda c: c.drop(columns="loyalty"), "needs the columns"),
    (lambda c: c.assign(loyalty=np.nan), "missing or non-numeric"),
    (lambda c: c.assign(last_date=pd.Timestamp("2023-01-01")), "after last_date"),
    (lambda c: c.iloc[:0], "empty"),
])
def test_survey_arguments_are_checked(change, match) -> None:
    with pytest.raises(DataError, match=match):
        simulate_survey(change(_survey_customers(10)), random_state=0)


# --------------------------------------------------------------------------- experiment


@pytest.fixture(scope="module")
def big_experiment() -> pd.DataFrame:
    return simulate_experiment(300_000, study_end="2025-06-30", random_state=14)


def _diff_and_se(df: pd.DataFrame, arm: str) -> tuple[float, float]:
    y = df.loc[df["arm"].isin(["control", arm])]
    g = y.groupby("arm")["retained_90d"].agg(["mean", "var", "size"])
    diff = g.loc[arm, "mean"] - g.loc["control", "mean"]
    se = np.sqrt((g["var"] / g["size"]).sum())
    return float(diff), float(se)


def test_experiment_true_effects_are_consistent() -> None:
    effects = EXPERIMENT_TRUE_EFFECTS
    shares = effects["segment_shares"]
    assert shares == {"high_frequency": 0.2925, "new": 0.25, "sleeping_dog": 0.135}
    assert effects["loyalty_programme"]["ate_retained_90d"] == pytest.approx(
        0.10 * 0.2925 + 0.02 * (1 - 0.2925))
    assert effects["welcome_email"]["ate_retained_90d"] == pytest.approx(0.10 * 0.25 - 0.04 * 0.135)
    assert simulate_experiment(10, random_state=0).attrs["true_effects"] == effects


def test_experiment_recovers_true_effects(big_experiment) -> None:
    df = big_experiment
    assert df["reached_horizon"].all()
    segments = {"high_frequency": df["pre_period_orders"] >= 3,
                "new": df["tenure_months"] < 3,
                "sleeping_dog": (df["tenure_months"] >= 24) & (df["pre_period_orders"] <= 1)}
    for name, mask in segments.items():
        se = np.sqrt(0.25 / len(df))
        assert abs(mask.mean() - EXPERIMENT_TRUE_EFFECTS["segment_shares"][name]) < 4 * se
    for arm in ("loyalty_programme", "welcome_email"):
        truth = EXPERIMENT_TRUE_EFFECTS[arm]
        diff, se = _diff_and_se(df, arm)
        assert abs(diff - truth["ate_retained_90d"]) < 4 * se, (arm, diff, se)
        cate = truth["cate_retained_90d"]
        named = [k for k in cate if k != "other"]
        other = ~np.logical_or.reduce([segments[k] for k in named])
        for seg, value in cate.items():
            mask = other if seg == "other" else segments[seg]
            if arm == "welcome_email" and seg == "sleeping_dog":
                mask = mask & ~segments["new"]
            if arm == "loyalty_programme" and seg == "other":
                mask = ~segments["high_frequency"]
            diff, se = _diff_and_se(df[mask], arm)
            assert abs(diff - value) < 4 * se, (arm, seg, diff, value, se)
        spend = df.groupby("arm")["post_period_spend"].agg(["mean", "var", "size"])
        ratio = spend.loc[arm, "mean"] / spend.loc["control", "mean"]
        se_ratio = ratio * np.sqrt(sum(spend.loc[a, "var"] / spend.loc[a, "size"]
                                       / spend.loc[a, "mean"] ** 2 for a in ("control", arm)))
        assert abs(ratio - truth["spend_ratio"]) < 4 * se_ratio, (arm, ratio)


def test_experiment_pre_period_spend_predicts_outcome(big_experiment) -> None:
    """CUPED needs a strongly correlated pre-period covariate."""
    corr = big_experiment[["pre_period_spend", "post_period_spend"]].corr().iloc[0, 1]
    assert corr > 0.5


def test_experiment_outcomes_are_consistent() -> None:
    df = simulate_experiment(20_000, random_state=15)
    follow_up = (pd.Timestamp("2024-01-31") - df["signup_date"]).dt.days
    assert (df["reached_horizon"] == (follow_up >= 90)).all()
    assert 0.05 < (~df["reached_horizon"]).mean() < 0.3
    assert df.loc[~df["reached_horizon"], ["retained_90d", "post_period_spend"]].isna().all().all()
    reached = df[df["reached_horizon"]]
    assert reached["retained_90d"].notna().all()
    lost_early = reached["churned"] & (reached["duration_days"] <= 90)
    assert (reached["retained_90d"].astype(bool) == ~lost_early).all()
    assert (df["duration_days"] <= follow_up).all() and (df["duration_days"] >= 1).all()
    assert (df.loc[~df["churned"], "duration_days"] == follow_up[~df["churned"]]).all()
    assert (df["pre_period_spend"] >= 0).all()
    assert ((df["pre_period_orders"] == 0) == (df["pre_period_spend"] == 0)).all()
    assert set(df["channel"]) == {"web", "app", "store"}


def test_a_a_experiment_and_arm_subsets() -> None:
    df = simulate_experiment(200_000, arms={"control": 1, "welcome_email": 1}, effect_scale=0,
                             study_end="2025-01-31", random_state=16)
    assert set(df["arm"]) == {"control", "welcome_email"}
    diff, se = _diff_and_se(df, "welcome_email")
    assert abs(diff) < 4 * se
    assert df.attrs["true_effects"]["welcome_email"]["ate_retained_90d"] == 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"arms": {"treatment": 1, "control": 1}}, "arms must include"),
    ({"arms": {"loyalty_programme": 1}}, "arms must include"),
    ({"effect_scale": 2}, "effect_scale"),
    ({"study_end": "2023-06-01"}, "start <= end <= study_end"),
])
def test_experiment_arguments_are_checked(kwargs, match) -> None:
    with pytest.raises(DataError, match=match):
        simulate_experiment(10, random_state=0, **kwargs)


# --------------------------------------------------------------------------- demo data


def test_regenerating_reproduces_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    written = write_demo_data(tmp_path)
    made = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    shipped = sorted([p.relative_to(data_dir()).as_posix()
                      for p in (data_dir() / "demo").rglob("*") if p.is_file()]
                     + ["experiment.csv", "survey.csv"])
    assert made == shipped
    changed = [name for name in made
               if (tmp_path / name).read_bytes() != (data_dir() / name).read_bytes()]
    assert not changed, (
        f"{changed} differ from a fresh write_demo_data(): if the generator changed on "
        "purpose, regenerate with `python -c \"from retention_kit.datasets import "
        "write_demo_data, data_dir; write_demo_data(data_dir())\"` and update "
        "datasets/README.md")


def test_datasets_folder_stays_small() -> None:
    total = sum(p.stat().st_size for p in data_dir().rglob("*") if p.is_file())
    assert total < 30e6


def test_demo_clients_are_listed_and_unknown_ones_explained() -> None:
    assert list_demo_clients() == CLIENTS
    with pytest.raises(DataError, match="use one of b2b_saas, marketplace, retailer"):
        load_demo_client("retail")


@pytest.fixture(scope="module")
def demo() -> dict[str, DemoClient]:
    return {c: load_demo_client(c) for c in [*GENERATED, "telco_snapshot"]}


def test_demo_clients_are_well_formed(demo) -> None:
    for client, data in demo.items():
        info, tx = data.info, data.transactions
        assert info["client_id"] == client
        assert {"display_name", "currency", "description", "period", "observation_end"} <= set(
            info)
        assert list(tx.columns) == ["customer_id", "date", "amount"]
        assert tx["date"].between(info["observation_start"], info["observation_end"]).all()
        assert (tx["amount"] > 0).all()
        assert tx["customer_id"].str.fullmatch(info["id_prefix"] + r"\d{5}").all()
        assert 1000 <= tx["customer_id"].nunique() <= 5000
        first_year = pd.Timestamp(info["observation_start"]) + pd.DateOffset(years=2)
        assert tx["date"].max() >= first_year    # at least two years of data
        subs = data.subscriptions
        assert (subs is not None) == (info["business_model"] == "contractual")
        if subs is not None:
            assert list(subs.columns) == ["customer_id", "month", "plan", "mrr",
                                          "billing_period"]
            assert (subs["mrr"] >= 0).all() and (subs["month"].dt.day == 1).all()
            if info["generator"]["function"] == "simulate_contract_snapshot":
                # every churn of a snapshot falls in its last month
                last = subs.groupby("customer_id")["month"].max()
                assert set(last.dt.strftime("%Y-%m")) == {"2024-11", "2024-12"}
                continue
            assert set(subs["billing_period"]) == {"M", "Y"}
            # an invoice of MRR for each month paid monthly, of 12 x MRR for each contract
            # year paid annually (in the contract year's first month)
            invoice_month = tx["date"].dt.to_period("M").dt.to_timestamp()
            billed = pd.DataFrame({"customer_id": tx["customer_id"], "month": invoice_month,
                                   "amount": tx["amount"]}).merge(
                subs, on=["customer_id", "month"], how="left", validate="one_to_one")
            assert billed["mrr"].notna().all()
            factor = np.where(billed["billing_period"] == "Y", 12, 1)
            assert np.allclose(billed["amount"], factor * billed["mrr"], atol=0.006)
            monthly = subs["billing_period"] == "M"
            assert monthly.sum() == (billed["billing_period"] == "M").sum()
            yearly = subs.loc[~monthly]
            assert (billed["billing_period"] == "Y").sum() >= len(yearly) / 12
            # one month of failed payments: its churn of monthly subscribers stands out
            # from the six months either side
            (month,) = info["generator"]["failed_payments"]
            paying = subs.loc[monthly].groupby("month")["customer_id"].apply(set)
            lost = pd.Series({m: len(paying.iloc[i - 1] - paying.iloc[i]) / len(paying.iloc[i - 1])
                              for i, m in enumerate(paying.index) if i > 0})
            at = pd.Timestamp(month + "-01")
            around = lost[np.abs((lost.index - at).days).isin(range(1, 190))]
            assert lost[at] > 1.3 * around.max(), (lost[at], around.max())


def test_the_raw_export_client_loads_as_the_orders_its_spec_makes() -> None:
    export = load_demo_client("till_export")
    info, tx = export.info, export.transactions
    truth = info["truth"]
    assert list(tx.columns) == ["customer_id", "date", "amount"]
    assert len(tx) == truth["orders"] - truth["orders_cancelled_in_full"]
    assert tx["amount"].sum() == pytest.approx(
        truth["purchases_revenue"] - truth["matched_returns_revenue"], abs=0.01)
    days = tx["date"].dt.normalize()  # timestamps with times of day
    assert days.between(info["observation_start"], info["observation_end"]).all()
    assert export.subscriptions is None and (tx["amount"] > 0).all()


def test_demo_clients_have_distinct_profiles(demo) -> None:
    def repeat_rate(client: str) -> float:
        return float((demo[client].transactions.groupby("customer_id").size() > 1).mean())

    def nov_dec_share(client: str) -> float:
        tx = demo[client].transactions
        return float(tx.loc[tx["date"].dt.month.isin([11, 12]), "amount"].sum()
                     / tx["amount"].sum())

    assert repeat_rate("marketplace") < 0.4 < 0.6 < repeat_rate("retailer")
    assert nov_dec_share("seasonal_shop") > 0.35
    for client in ("retailer", "marketplace", "subscription_box"):
        assert nov_dec_share(client) < 0.25
    subs = demo["b2b_saas"].subscriptions
    final = subs.loc[subs["month"] == subs["month"].max(), "mrr"].sort_values()
    assert final.tail(len(final) // 20).sum() / final.sum() > 0.25     # a few large accounts
    box = demo["subscription_box"].subscriptions
    assert final.mean() > 5 * box["mrr"].mean()
    # expansion: b2b accounts that stayed 12 months grew on average, boxes did not
    for client, grows in (("b2b_saas", True), ("subscription_box", False)):
        s = demo[client].subscriptions
        a = s[s["month"] == "2023-12-01"].set_index("customer_id")["mrr"]
        b = s[s["month"] == "2024-12-01"].set_index("customer_id")["mrr"]
        kept = a.index.intersection(b.index)
        assert (b[kept].sum() / a[kept].sum() > 1.05) == grows
    # monthly churn: boxes churn far more than software accounts
    def churn(client: str) -> float:
        s = demo[client].subscriptions
        months = sorted(s["month"].unique())[-13:]
        active = [set(s.loc[s["month"] == m, "customer_id"]) for m in months]
        return float(np.mean([len(a - b) / len(a) for a, b in zip(active, active[1:],
                                                                    strict=False)]))
    assert churn("subscription_box") > 3 * churn("b2b_saas")


def test_demo_survey_links_to_clients_and_tracks_churn(demo) -> None:
    survey = load_survey()
    assert list(survey.columns) == ["client", "customer_id", "date", "nps", "csat", "ces"]
    assert sorted(survey["client"].unique()) == GENERATED
    for client in GENERATED:
        data = demo[client]
        part = survey[survey["client"] == client]
        first = data.transactions.groupby("customer_id")["date"].min()
        assert part["customer_id"].isin(first.index).all()
        assert (part["date"].to_numpy() >= first[part["customer_id"]].to_numpy()).all()
        assert part["date"].le(data.info["observation_end"]).all()
        assert 0.1 < len(part) / len(first) < 0.35
    # promoters churn less: subscribers who are gone by the last month
    for client in ("subscription_box", "b2b_saas"):
        subs = demo[client].subscriptions
        still = set(subs.loc[subs["month"] == subs["month"].max(), "customer_id"])
        part = survey[survey["client"] == client]
        churned = ~part["customer_id"].isin(still)
        assert churned[part["nps"] >= 9].mean() < churned[part["nps"] <= 6].mean() - 0.05
    # and buy again more often at the retailer
    repeat = demo["retailer"].transactions.groupby("customer_id").size()
    part = survey[survey["client"] == "retailer"]
    buys = repeat[part["customer_id"]].to_numpy()
    assert buys[part["nps"].to_numpy() >= 9].mean() > buys[part["nps"].to_numpy() <= 6].mean()


def test_demo_experiment_file_matches_its_documented_effects() -> None:
    df = load_experiment()
    assert df.shape == (60_000, 13)
    assert df["customer_id"].is_unique
    assert df.attrs["true_effects"] == EXPERIMENT_TRUE_EFFECTS
    assert df["retained_90d"].isna().sum() == (~df["reached_horizon"]).sum() > 3000
    reached = df[df["reached_horizon"]]
    for arm in ("loyalty_programme", "welcome_email"):
        diff, se = _diff_and_se(reached, arm)
        assert abs(diff - EXPERIMENT_TRUE_EFFECTS[arm]["ate_retained_90d"]) < 3.5 * se
    fresh = simulate_experiment(60_000, random_state=np.random.default_rng(2024).spawn(7)[6])
    pd.testing.assert_frame_equal(df, fresh, check_dtype=False)


def test_client_json_records_the_generator() -> None:
    info = json.loads((data_dir() / "demo" / "retailer" / "client.json").read_text())
    assert info["generator"]["function"] == "simulate_transactions"
    assert info["generator"]["random_state"] == 2024
    assert info["generator"]["params"] == {"r": 0.55, "alpha": 6.0, "a": 0.85, "b": 3.5}


def test_simulate_summary_recovers_bgnbd_parameters() -> None:
    from retention_kit.datasets import simulate_summary
    from retention_kit.models import BGNBD

    true = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    ages = np.random.default_rng(0).uniform(27, 39, 100_000)
    summary = simulate_summary(100_000, T=ages, params=true, random_state=3)
    assert (summary["recency"] <= summary["T"]).all()
    assert ((summary["frequency"] == 0) == (summary["recency"] == 0)).all()
    model = BGNBD().fit(summary)
    z = (model.params_ - pd.Series(true)) / model.se_
    assert (z.abs() < 4).all(), z


def test_simulate_summary_spend_follows_gamma_gamma_mean() -> None:
    from retention_kit.datasets import simulate_summary

    spend = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    s = simulate_summary(200_000, T=52.0, spend=spend, random_state=5)
    repeat = s.loc[s["frequency"] > 0]
    # E[mean spend of one customer] = p * gamma / (q - 1) = 30, whatever the frequency.
    assert repeat["monetary_value"].mean() == pytest.approx(30.0, rel=0.02)
    assert (s.loc[s["frequency"] == 0, "monetary_value"] == 0).all()


def test_annual_contracts_pay_monthly_and_leave_only_at_renewal() -> None:
    """Annual customers pay price x (1 - discount) a month and churn at months 12, 24..."""
    subs, latent = simulate_subscriptions(
        4000, start_month="2022-01", n_months=36, plans={"solo": 12.0},
        annual={"share": 0.4, "alpha": 2.0, "beta": 6.0}, reactivation=0.0,
        return_latent=True, random_state=12)
    assert list(subs.columns) == ["customer_id", "month", "plan", "mrr", "billing_period"]
    yearly = subs["billing_period"] == "Y"
    assert np.allclose(subs.loc[yearly, "mrr"], 10.0)      # 12 x 10 months' price / 12
    assert np.allclose(subs.loc[~yearly, "mrr"], 12.0)
    share = latent["billing_period"].eq("Y").mean()
    assert abs(share - 0.4) < 4 * np.sqrt(0.24 / 4000)
    spans = subs.loc[yearly].groupby("customer_id")["month"].agg(["max", "size"])
    left = spans.loc[spans["max"] < subs["month"].max(), "size"]
    assert len(left) > 100 and (left % 12 == 0).all()
    # the first renewal keeps 1 - E[theta_Y] = 1 - 2/8 of the annual customers
    first_year = latent.loc[(latent["billing_period"] == "Y")
                            & (latent["acquisition_month"] < "2023-01-01")]
    kept = (subs.loc[yearly].groupby("customer_id").size().reindex(first_year.index) > 12)
    assert abs(kept.mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(first_year))


def test_failed_payments_end_monthly_subscriptions_in_their_month() -> None:
    kwargs = {"start_month": "2023-01", "n_months": 12, "churn": {"alpha": 50.0, "beta": 950.0},
              "reactivation": 0.0, "acquisition": [1] + [0] * 11, "return_latent": True}
    subs, latent = simulate_subscriptions(20_000, failed_payments={"2023-06-15": 0.1},
                                          random_state=13, **kwargs)
    alive = subs.groupby("month").size()
    lost = 1 - alive / alive.shift()
    # 5% a month from theta, and 1 - 0.95 x 0.9 = 14.5% in June
    assert abs(lost["2023-06-01"] - 0.145) < 0.01
    assert lost.drop(pd.Timestamp("2023-06-01")).dropna().between(0.04, 0.06).all()
    assert latent["failed_payment"].sum() == pytest.approx(0.1 * 0.95 ** 5 * 20_000, rel=0.06)
    assert not latent.loc[latent["failed_payment"], "active_at_end"].any()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"annual": {"share": 0.3}}, "annual needs keys"),
    ({"annual": {"share": 1.3, "alpha": 1, "beta": 1}}, "annual\\['share'\\]"),
    ({"annual": {"share": 0.3, "alpha": -1, "beta": 1}}, "positive"),
    ({"failed_payments": {"2030-01": 0.1}}, "outside the simulated months"),
    ({"failed_payments": {"2023-01": 0.1}}, "or is the first"),
    ({"failed_payments": {"2023-03": 2}}, "failed_payments probability"),
    ({"failed_payments": [0.1]}, "map months to probabilities"),
])
def test_annual_and_failed_payment_arguments_are_checked(kwargs, match) -> None:
    with pytest.raises(DataError, match=match):
        simulate_subscriptions(5, start_month="2023-01", n_months=6, random_state=0, **kwargs)
