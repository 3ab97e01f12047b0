"""Tests for retention_kit.metrics.subscriptions: subscription KPIs, churn by tenure,
trailing NRR/GRR.

Hand-computed examples, the logo and MRR identities on a simulated table, recovery of the
true monthly churn hazard from simulated data (constant churn, and the sBG's falling hazard,
also in a short window where censoring matters most), and exact errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.billing import subscriptions_from_spells
from retention_kit.errors import DataError
from retention_kit.metrics import (
    churn_by_tenure,
    cohort_revenue_retention,
    mrr_movements,
    subscription_metrics,
    trailing_revenue_retention,
)
from retention_kit.simulate import simulate_subscriptions


def table(rows: list[tuple[str, str, float]], **extra: list) -> pd.DataFrame:
    customer, month, mrr = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": customer, "month": pd.to_datetime(month), "mrr": mrr,
                         **extra})


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """Upgrades, downgrades, seats growing and shrinking, reactivations: every movement."""
    return simulate_subscriptions(1500, start_month="2022-01", n_months=30, upgrade=0.04,
                                  downgrade=0.03, reactivation=0.04,
                                  seats={"median": 4, "sigma": 0.6, "expansion": 0.04,
                                         "contraction": 0.03},
                                  random_state=5)


# --------------------------------------------------------------------------- KPIs


def test_subscription_metrics_by_hand() -> None:
    subs = table([("A", "2024-01-01", 100.0), ("B", "2024-01-01", 50.0),
                  ("A", "2024-02-01", 120.0), ("C", "2024-02-01", 80.0),
                  ("A", "2024-03-01", 120.0), ("B", "2024-03-01", 50.0),
                  ("C", "2024-03-01", 60.0)])
    before = subs.copy()
    m = subscription_metrics(subs)
    pd.testing.assert_frame_equal(subs, before)
    assert list(m.index) == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    expected = {
        "customers": [2, 2, 3], "mrr": [150, 200, 230], "arpa": [75, 100, 230 / 3],
        "start_customers": [0, 2, 2], "new_customers": [2, 1, 0],
        "reactivated_customers": [0, 0, 1], "churned_customers": [0, 1, 0],
        "start_mrr": [0, 150, 200], "new_mrr": [150, 80, 0], "expansion_mrr": [0, 20, 0],
        "contraction_mrr": [0, 0, 20], "churned_mrr": [0, 50, 0],
        "reactivated_mrr": [0, 0, 50],
        "logo_churn_rate": [np.nan, 1 / 2, 0], "revenue_churn_rate": [np.nan, 50 / 150, 0.1],
        "net_revenue_churn_rate": [np.nan, 30 / 150, 0.1],
        "quick_ratio": [np.nan, 100 / 50, 50 / 20]}
    assert list(m.columns) == list(expected)
    for col, values in expected.items():
        np.testing.assert_allclose(m[col].to_numpy(dtype=float), values, err_msg=col)


def test_undefined_values_are_nan_never_inf_or_zero() -> None:
    # March: nobody pays (a gap month must still appear); April: nothing lost, only growth
    subs = table([("A", "2024-01-01", 10.0), ("A", "2024-02-01", 10.0),
                  ("A", "2024-04-01", 10.0), ("B", "2024-04-01", 5.0),
                  ("A", "2024-05-01", 12.0), ("B", "2024-05-01", 5.0)])
    m = subscription_metrics(subs)
    assert list(m.index.strftime("%Y-%m")) == ["2024-01", "2024-02", "2024-03", "2024-04",
                                               "2024-05"]
    march, april, may = m.iloc[2], m.iloc[3], m.iloc[4]
    assert march["customers"] == 0 and march["churned_customers"] == 1
    assert np.isnan(march["arpa"])  # no paying account
    assert march["logo_churn_rate"] == 1.0 and march["quick_ratio"] == 0.0  # lost, no gain
    assert np.isnan(april["logo_churn_rate"]) and np.isnan(april["revenue_churn_rate"])
    assert april["reactivated_customers"] == 1 and april["new_customers"] == 1
    assert may["logo_churn_rate"] == 0.0 and may["net_revenue_churn_rate"] == -2 / 15
    assert np.isnan(may["quick_ratio"])  # growth with nothing lost: undefined, not inf
    assert not np.isinf(m.select_dtypes("number").to_numpy(dtype=float)).any()


def test_identities_hold_every_month_on_a_simulated_table(simulated: pd.DataFrame) -> None:
    m = subscription_metrics(simulated)
    assert len(m) == 30
    assert (m["start_customers"] + m["new_customers"] + m["reactivated_customers"]
            - m["churned_customers"] == m["customers"]).all()
    np.testing.assert_allclose(m["start_mrr"] + m["new_mrr"] + m["expansion_mrr"]
                               - m["contraction_mrr"] - m["churned_mrr"] + m["reactivated_mrr"],
                               m["mrr"], rtol=1e-12)
    assert (m["start_customers"].iloc[1:].to_numpy() == m["customers"].iloc[:-1].to_numpy()).all()
    np.testing.assert_allclose(m["start_mrr"].iloc[1:], m["mrr"].iloc[:-1].to_numpy())
    by_month = simulated.groupby("month")
    assert (m["customers"].to_numpy() == by_month["customer_id"].nunique().to_numpy()).all()
    np.testing.assert_allclose(m["mrr"], by_month["mrr"].sum().to_numpy())
    moves = mrr_movements(simulated)
    np.testing.assert_allclose(m["expansion_mrr"], moves["expansion"])
    np.testing.assert_allclose(m["reactivated_mrr"], moves["reactivation"])
    for col in ("expansion_mrr", "contraction_mrr", "reactivated_mrr", "churned_customers"):
        assert (m[col] > 0).sum() >= 25, col  # the simulation exercises every movement
    later = m.iloc[1:]
    np.testing.assert_allclose(later["logo_churn_rate"],
                               later["churned_customers"] / later["start_customers"])
    np.testing.assert_allclose(later["quick_ratio"],
                               (later["new_mrr"] + later["expansion_mrr"]
                                + later["reactivated_mrr"])
                               / (later["churned_mrr"] + later["contraction_mrr"]))
    assert m.iloc[0][["logo_churn_rate", "revenue_churn_rate", "quick_ratio"]].isna().all()
    # the same numbers from monthly Periods
    periods = simulated.assign(month=simulated["month"].dt.to_period("M"))
    pm = subscription_metrics(periods)
    np.testing.assert_allclose(pm.to_numpy(dtype=float), m.to_numpy(dtype=float))


def test_subscription_metrics_refuses_what_mrr_movements_refuses() -> None:
    subs = table([("A", "2024-01-01", 1.0), ("A", "2024-02-01", -2.0)])
    with pytest.raises(DataError, match=r"^mrr is negative\. Rows affected: 1\. First example: "
                       r"row 1: mrr = -2\.0\."):
        subscription_metrics(subs)
    with pytest.raises(DataError, match="has no column 'mrr' .* did you mean 'MRR'"):
        subscription_metrics(subs.rename(columns={"mrr": "MRR"}))
    with pytest.raises(TypeError, match="subscriptions must be a pandas DataFrame"):
        subscription_metrics([1, 2])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- churn by tenure


def test_churn_by_tenure_by_hand_and_the_last_month_is_not_at_risk() -> None:
    subs = table([("A", "2024-01-01", 10.0), ("B", "2024-01-01", 10.0),
                  ("A", "2024-02-01", 10.0), ("B", "2024-02-01", 10.0),
                  ("D", "2024-02-01", 10.0), ("A", "2024-03-01", 10.0),
                  ("C", "2024-03-01", 10.0), ("A", "2024-04-01", 10.0),
                  ("C", "2024-04-01", 10.0), ("E", "2024-04-01", 10.0)])
    r = churn_by_tenure(subs, bands=(1, 3))
    assert list(r.index) == ["1-2", "3+"] and r.index.name == "tenure"
    # months 1-2 at risk: A1 A2 B1 B2(churn) D1(churn) C1; E starts in the last month and
    # A4, C2 are in it: not at risk
    assert r.loc["1-2", ["customers", "customer_months", "churns"]].tolist() == [4, 6, 2]
    assert r.loc["3+", ["customers", "customer_months", "churns"]].tolist() == [1, 1, 0]
    assert r.loc["1-2", "hazard"] == pytest.approx(1 / 3)
    # Wilson 95%: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, p, n = 1.959964, 1 / 3, 6
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert r.loc["1-2", "lower"] == pytest.approx(centre - half, abs=1e-6)
    assert r.loc["1-2", "upper"] == pytest.approx(centre + half, abs=1e-6)
    assert r.attrs["last_month"] == pd.Timestamp("2024-04-01")
    assert r.attrs["n_maybe_left_truncated"] == 2  # A and B paid in the first month
    # observed to May: April becomes at risk, and nobody paid in May, so all churn then
    may = churn_by_tenure(subs, bands=(1, 3), observation_end="2024-05-31")
    assert may["customer_months"].sum() == len(subs) and may["churns"].sum() == 5
    # a band with no month at risk is undefined, not 0
    empty = churn_by_tenure(subs, bands=(1, 3, 12))
    assert empty.loc["12+", "customer_months"] == 0
    assert empty.loc["12+", ["hazard", "lower", "upper"]].isna().all()


def test_reactivation_tenure_started_and_plans() -> None:
    # A: months 1-2, pause in March, back in April (tenure 4) on pro, churns after May
    subs = table([("A", "2024-01-01", 10.0), ("A", "2024-02-01", 10.0),
                  ("A", "2024-04-01", 30.0), ("A", "2024-05-01", 30.0),
                  ("B", "2024-05-01", 10.0), ("B", "2024-06-01", 10.0),
                  ("B", "2024-07-01", 10.0)],
                 plan=["basic", "basic", "pro", "pro", "basic", "basic", "basic"])
    r = churn_by_tenure(subs, bands=(1, 2, 3, 4, 5))
    # A: tenure 1 (stay), 2 (churn), 4 (stay), 5 (churn); B: 1, 2 at risk, 3 is July (last)
    assert r["customer_months"].tolist() == [2, 2, 0, 1, 1]
    assert r["churns"].tolist() == [0, 1, 0, 0, 1]
    by = churn_by_tenure(subs, bands=(1, 4), by="plan")
    assert list(by.index) == [("basic", "1-3"), ("basic", "4+"), ("pro", "1-3"), ("pro", "4+")]
    assert by["customer_months"].tolist() == [4, 0, 0, 2]
    assert by["churns"].tolist() == [1, 0, 0, 1]  # A's last churn counts for pro
    # B started in January 2024 (before its first row in the table): tenure counts from there
    started = subs.assign(started=pd.to_datetime(["2024-01-01"] * 4 + ["2024-01-01"] * 3))
    s = churn_by_tenure(started, bands=(1, 5))
    assert s.loc["5+", "customer_months"] == 3  # A5, B5, B6
    assert s.attrs["tenure_origin"] == "started" and s.attrs["n_left_truncated"] == 1
    ignored = churn_by_tenure(started, bands=(1, 5), started_col=None)
    assert ignored.loc["5+", "customer_months"] == 1


def test_started_from_spells_keeps_tenure_true_in_a_window() -> None:
    spells = pd.DataFrame({"customer_id": ["A", "B"], "start": ["2023-01-10", "2024-01-05"],
                           "end": ["2024-03-15", None], "mrr": [10.0, 20.0]})
    window = subscriptions_from_spells(spells, observation_start="2024-01-01",
                                       observation_end="2024-06-30")
    r = churn_by_tenure(window, bands=(1, 12))
    # A is in tenure months 13 and 14 in January and February 2024 and churns after February
    assert r.loc["12+", ["customers", "customer_months", "churns"]].tolist() == [1, 2, 1]
    assert r.loc["1-11", ["customers", "customer_months", "churns"]].tolist() == [1, 5, 0]


def test_churn_by_tenure_recovers_a_constant_monthly_hazard() -> None:
    # every customer's theta ~ Beta(50, 950): mean 0.05, sd 0.007
    subs = simulate_subscriptions(5000, start_month="2022-01", n_months=36,
                                  churn={"alpha": 50, "beta": 950}, reactivation=0.0,
                                  random_state=1)
    r = churn_by_tenure(subs, confidence=0.999)
    # the sBG's hazard at tenure t is alpha / (alpha + beta + t - 1): 0.0500 .. 0.0485
    assert (r["lower"] < 0.05).all() and (r["upper"] > 0.0485).all()
    assert r["customer_months"].min() > 2500
    pooled = r["churns"].sum() / r["customer_months"].sum()
    assert abs(pooled - 0.05) < 0.002
    by = churn_by_tenure(subs, by="plan", confidence=0.999)
    assert set(by.index.get_level_values("plan")) == {"basic", "standard", "premium"}
    assert by["customer_months"].sum() == r["customer_months"].sum()
    assert (by["lower"] < 0.05).all() and (by["upper"] > 0.0485).all()


def test_churn_by_tenure_recovers_the_falling_sbg_hazard_month_by_month() -> None:
    alpha, beta = 2.0, 10.0  # hazard 1/6 in month 1 falling to 2/31 in month 20
    subs = simulate_subscriptions(3000, start_month="2022-01", n_months=24,
                                  churn={"alpha": alpha, "beta": beta}, reactivation=0.0,
                                  random_state=2)
    r = churn_by_tenure(subs, bands=range(1, 21), confidence=0.999)
    truth = alpha / (alpha + beta + np.arange(1, 21) - 1)
    assert ((r["lower"] < truth) & (truth < r["upper"])).all()
    assert r["hazard"].iloc[:3].mean() > r["hazard"].iloc[-5:].mean() + 0.05


def test_a_short_window_where_censoring_matters_still_recovers_the_hazard() -> None:
    # three months: a third of the paid months are in the last month. Counting them as
    # survivals would give about 0.2 * 2/3 = 0.13; leaving them out gives 0.2.
    subs = simulate_subscriptions(20000, start_month="2024-01", n_months=3,
                                  churn={"alpha": 2000, "beta": 8000}, reactivation=0.0,
                                  random_state=3)
    r = churn_by_tenure(subs, bands=(1,))
    assert r.loc["1+", "lower"] < 0.2 < r.loc["1+", "upper"]
    last = subs["month"] == subs["month"].max()
    assert r.loc["1+", "customer_months"] == int((~last).sum())


@pytest.mark.parametrize(("kwargs", "data", "message"), [
    ({"bands": (3, 6)}, None,
     "bands=(3, 6) must start at 1 and increase. How to fix: pass the first tenure month of "
     "each band, from 1 up, e.g. bands=(1, 3, 6, 12, 24) for months 1-2, 3-5, 6-11, 12-23, "
     "24+."),
    ({"bands": (1, 6, 6)}, None, "bands=(1, 6, 6) must start at 1 and increase."),
    ({"observation_end": "2024-01-15"}, None,
     "rows after the month of observation_end 2024-01-15. Rows affected: 1. First example: "
     "row 1: customer_id='A', month='2024-02-01 00:00:00'. How to fix: keep only the months "
     "observed, or pass a later observation_end."),
    ({}, {"started": pd.to_datetime(["2024-02-01", "2024-02-01"])},
     "started is after the customer's first paid month. Rows affected: 1. First example: "
     "customer 'A': started 2024-02, first paid month 2024-01. How to fix: started is the "
     "first paid month; rebuild it, or pass started_col=None."),
    ({}, {"month": [1, 2]},
     "month does not hold months, so time cannot be counted in months. First example: first "
     "values [1, 2]. How to fix: pass dates (the first day of each month) or monthly Periods."),
    ({"confidence": 95}, None, "confidence=95 is outside (0, 1); 95 looks like a percentage"),
    ({"by": "plan"}, None, "the subscription table has no column 'plan' (by (the column to "
     "split by))"),
])
def test_churn_by_tenure_errors(kwargs: dict, data: dict | None, message: str) -> None:
    subs = table([("A", "2024-01-01", 1.0), ("A", "2024-02-01", 1.0)])
    if data:
        subs = subs.assign(**data)
    with pytest.raises(DataError) as err:
        churn_by_tenure(subs, **kwargs)
    assert str(err.value).startswith(message)


# --------------------------------------------------------------------------- trailing NRR


def test_trailing_revenue_retention_is_the_cohort_one_from_the_end(simulated) -> None:
    r = trailing_revenue_retention(simulated)
    end = simulated["month"].max()
    c = cohort_revenue_retention(simulated, start=end - pd.DateOffset(months=12), end=end)
    assert (r.nrr, r.grr) == pytest.approx((c.nrr, c.grr))
    assert 0 < r.grr <= 1 and r.grr < r.nrr
    mid = trailing_revenue_retention(simulated, months=6, end="2023-06-15")
    c6 = cohort_revenue_retention(simulated, start=pd.Timestamp("2022-12-01"),
                                  end=pd.Timestamp("2023-06-01"))
    assert (mid.nrr, mid.grr) == pytest.approx((c6.nrr, c6.grr))
    with pytest.raises(DataError, match=r"^the table starts in 2022-01, fewer than 36 months "
                       r"before 2024-06\. How to fix: pass months=29 or fewer, or a later end"):
        trailing_revenue_retention(simulated, months=36)
    gap = table([("A", "2024-01-01", 5.0), ("A", "2024-03-01", 5.0)])
    with pytest.raises(DataError, match=r"^no MRR in 2024-02, 1 month before 2024-03, so no "
                       r"revenue to retain\. How to fix: choose months or end"):
        trailing_revenue_retention(gap, months=1)


def test_churn_spikes_find_the_failed_payment_month_and_nothing_else() -> None:
    from retention_kit.metrics import churn_spikes
    kwargs = {"start_month": "2022-01", "n_months": 36, "plans": {"basic": 10.0, "pro": 30.0},
              "churn": {"alpha": 1.3, "beta": 8.0}, "reactivation": 0.01}
    false_alarms = 0
    for seed in range(5):
        quiet = subscription_metrics(simulate_subscriptions(3000, random_state=seed, **kwargs))
        false_alarms += len(churn_spikes(quiet))
        hit = subscription_metrics(simulate_subscriptions(
            3000, random_state=seed, failed_payments={"2024-02": 0.1}, **kwargs))
        spikes = churn_spikes(hit)
        assert list(spikes.index) == [pd.Timestamp("2024-02-01")], spikes
        assert spikes["excess"].iloc[0] == pytest.approx(0.1 * hit.loc["2024-02-01",
                                                                         "start_customers"],
                                                         rel=0.5)
    assert false_alarms == 0
