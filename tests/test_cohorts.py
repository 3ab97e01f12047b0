"""Tests of retention_kit.cohorts: cohort tables, retention curves, survival."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention_kit.cohorts import (
    SurvivalResult,
    churn_durations,
    cohort_sizes,
    cohort_table,
    retention_curve,
    survival,
)
from retention_kit.datasets import load_cdnow_transactions, load_sbg_cohorts
from retention_kit.errors import DataError

# lifelines 0.30 calls pandas in ways pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:lifelines.*")


@pytest.fixture(scope="module")
def sample_log() -> pd.DataFrame:
    return load_cdnow_transactions(sample=True)


def tiny_log() -> pd.DataFrame:
    """a, b, c acquired in January, d in February, e in March 2024."""
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "a", "d", "b", "d", "e"],
        "date": pd.to_datetime(["2024-01-03", "2024-01-10", "2024-01-20", "2024-02-05",
                                "2024-02-07", "2024-03-01", "2024-03-09", "2024-03-30"]),
        "amount": [10.0, 20.0, 30.0, 5.0, 40.0, 7.0, 8.0, 50.0],
    })


# --------------------------------------------------------------------------- reference


def naive_table(log: pd.DataFrame, *, mode: str, window: int | None, values: str,
                last: pd.Period) -> dict[tuple[pd.Period, int], float]:
    """Cell-by-cell reference with plain loops (counts or revenue, not relative)."""
    log = log.assign(p=log["date"].dt.to_period(last.freqstr))
    log = log.loc[log["p"] <= last]
    first = log.groupby("customer_id")["p"].min()
    out: dict[tuple[pd.Period, int], float] = {}
    for cohort in sorted(first.unique()):
        members = first.index[first == cohort]
        n_k = (last - cohort).n + 1
        for k in range(n_k):
            total = 0.0
            for cust in members:
                rows = log.loc[log["customer_id"] == cust]
                ks = {(p - cohort).n for p in rows["p"]}
                if mode == "exact":
                    window_ks = {k}
                elif mode == "rolling":
                    window_ks = {0} if k == 0 else set(range(max(1, k - window + 1), k + 1))
                else:
                    window_ks = {j for j in ks if j >= k}
                if values == "customers":
                    total += 1.0 if ks & window_ks else 0.0
                else:
                    inside = [(p - cohort).n in window_ks for p in rows["p"]]
                    total += float(rows.loc[inside, "amount"].sum())
            out[(cohort, k)] = total
    return out


def check_against_naive(log, **kw):
    table = cohort_table(log, amount_col="amount", relative=False, duplicates="keep", **kw)
    last = pd.Period(table.attrs["last_period"], freq=kw.get("period", "M"))
    ref = naive_table(log, mode=kw.get("mode", "exact"), window=kw.get("window"),
                      values=kw.get("values", "customers"), last=last)
    got = {(c, k): table.loc[c, k] for c in table.index for k in table.columns
           if not np.isnan(table.loc[c, k])}
    assert got.keys() == ref.keys()
    for key, value in ref.items():
        assert got[key] == pytest.approx(value), key
    return table


# --------------------------------------------------------------------------- cohort_table


def test_hand_example_exact_counts_and_missing_cells():
    t = cohort_table(tiny_log(), relative=False, observation_end="2024-03-31")
    expected = pd.DataFrame({0: [3.0, 1.0, 1.0], 1: [1.0, 1.0, np.nan],
                             2: [1.0, np.nan, np.nan]},
                            index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03"], freq="M",
                                                 name="cohort"))
    expected.columns = pd.RangeIndex(3, name="period")
    pd.testing.assert_frame_equal(t, expected)
    assert cohort_sizes(t).tolist() == [3, 1, 1]
    assert t.attrs["kind"] == "cohort_table" and t.attrs["last_period"] == "2024-03"


def test_hand_example_modes():
    log = tiny_log()
    on = cohort_table(log, mode="on_or_after", relative=False, observation_end="2024-03-31")
    assert on.loc["2024-01"].tolist() == [3.0, 2.0, 1.0]
    rel = cohort_table(log, mode="on_or_after", observation_end="2024-03-31")
    assert rel.loc["2024-01"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    # rolling, window 2: a (month 1) counts in months 1 and 2, b (month 2) in month 2
    roll = cohort_table(log, mode="rolling", window=2, relative=False,
                        observation_end="2024-03-31")
    assert roll.loc["2024-01"].tolist() == [3.0, 1.0, 2.0]
    exact = cohort_table(log, observation_end="2024-03-31")
    pd.testing.assert_frame_equal(
        cohort_table(log, mode="rolling", window=1, observation_end="2024-03-31"), exact)


def test_reached_cell_without_activity_is_zero_not_missing():
    log = pd.DataFrame({"customer_id": [1, 2, 1],
                        "date": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-03-02"])})
    t = cohort_table(log, observation_end="2024-03-31")
    assert t.loc["2024-01"].tolist() == [1.0, 0.0, 0.5]


def test_partial_last_period_is_not_reached_by_default():
    log = tiny_log()
    t = cohort_table(log, observation_end="2024-03-30", relative=False)
    # March is incomplete: no March column for January, no March cohort, no March purchases
    assert list(t.index.astype(str)) == ["2024-01", "2024-02"]
    assert t.loc["2024-01"].tolist() == [3.0, 1.0]
    assert np.isnan(t.loc["2024-02", 1])
    assert t.attrs["n_customers_partial"] == 1 and t.attrs["last_period"] == "2024-02"
    full = cohort_table(log, observation_end="2024-03-30", relative=False, include_partial=True)
    assert full.loc["2024-01"].tolist() == [3.0, 1.0, 1.0]
    assert full.loc["2024-03", 0] == 1.0
    # the last day of the month completes it
    assert cohort_table(log, observation_end="2024-03-31").shape == (3, 3)


def test_no_complete_period_raises():
    log = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-05", "2024-01-06"]})
    with pytest.raises(DataError, match="no complete 'M' period"):
        cohort_table(log)
    assert cohort_table(log, include_partial=True).shape == (1, 1)


def test_revenue_values():
    log = tiny_log()
    t = cohort_table(log, values="revenue", amount_col="amount", relative=False,
                     observation_end="2024-03-31")
    assert t.loc["2024-01"].tolist() == [60.0, 5.0, 7.0]
    rel = cohort_table(log, values="revenue", amount_col="amount", observation_end="2024-03-31")
    assert rel.loc["2024-01"].tolist() == pytest.approx([20.0, 5 / 3, 7 / 3])  # per customer
    roll = cohort_table(log, values="revenue", amount_col="amount", relative=False,
                        mode="rolling", window=2, observation_end="2024-03-31")
    assert roll.loc["2024-01"].tolist() == [60.0, 5.0, 12.0]
    assert rel.attrs["values"] == "revenue"


@pytest.mark.parametrize("kw", [
    {"mode": "exact"},
    {"mode": "on_or_after"},
    {"mode": "rolling", "window": 2},
    {"mode": "rolling", "window": 3, "period": "W"},
    {"mode": "exact", "values": "revenue"},
    {"mode": "rolling", "window": 2, "values": "revenue", "period": "Q"},
])
def test_matches_cell_by_cell_reference(kw):
    rng = np.random.default_rng(7)
    n = 60
    log = pd.DataFrame({
        "customer_id": rng.integers(0, 15, n),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
        "amount": rng.integers(1, 50, n).astype(float),
    })
    check_against_naive(log, **kw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 120)), min_size=1, max_size=25),
       st.sampled_from(["exact", "on_or_after", "rolling"]))
def test_property_matches_reference_and_shares_are_bounded(rows, mode):
    log = pd.DataFrame({
        "customer_id": [r[0] for r in rows],
        "date": [pd.Timestamp("2024-01-01") + pd.Timedelta(days=r[1]) for r in rows],
        "amount": 1.0,
    })
    kw = {"mode": mode, "period": "M", "include_partial": True}
    if mode == "rolling":
        kw["window"] = 2
    check_against_naive(log, **kw)
    rel = cohort_table(log, duplicates="keep", **kw)
    values = rel.to_numpy()
    assert np.all((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1))
    assert (rel[0] == 1.0).all()
    # a cell is missing exactly when its calendar period lies after the last observed one
    last = pd.Period(rel.attrs["last_period"], freq="M")
    for cohort, row in rel.iterrows():
        reached = [cohort + k <= last for k in rel.columns]
        assert row.notna().tolist() == reached


def test_on_or_after_is_monotone_and_above_exact(sample_log):
    exact = cohort_table(sample_log, duplicates="keep")
    later = cohort_table(sample_log, duplicates="keep", mode="on_or_after")
    assert (later.fillna(0) >= exact.fillna(0)).all().all()
    diffs = later.diff(axis=1).iloc[:, 1:].to_numpy()
    assert np.all(diffs[~np.isnan(diffs)] <= 0)
    # the last reached period of each cohort has no "later" to add
    for cohort, row in later.iterrows():
        k = row.last_valid_index()
        assert row[k] == exact.loc[cohort, k]


@pytest.mark.parametrize("period, freqstr", [("D", "D"), ("W", "W-SUN"), ("W-MON", "W-MON"),
                                             ("Q", "Q-DEC"), ("Y", "Y-DEC")])
def test_periods(sample_log, period, freqstr):
    t = cohort_table(sample_log, duplicates="keep", period=period)
    assert t.index.freqstr == freqstr
    assert (t[0] == 1.0).all()
    assert cohort_sizes(t).sum() == sample_log["customer_id"].nunique()


def test_cdnow_master_january_cohort_month_one():
    """The January 1997 cohort: 7,846 customers, 1,157 of them bought in February 1997."""
    log = load_cdnow_transactions()
    t = cohort_table(log, duplicates="keep")
    assert cohort_sizes(t).tolist() == [7846, 8476, 7248]
    assert t.shape == (3, 18)  # January 1997 .. June 1998
    assert t.loc["1997-01", 1] == pytest.approx(1157 / 7846, abs=1e-12)
    assert round(t.loc["1997-01", 1], 4) == 0.1475  # "about 14.7%"
    assert round(t.loc["1997-02", 1], 4) == 0.1548
    assert round(t.loc["1997-03", 1], 4) == 0.1424
    assert t.loc["1997-03"].isna().tolist() == [False] * 16 + [True] * 2
    curve = retention_curve(t)
    assert curve.loc[1, "retained"] == 3501 and curve.loc[1, "at_risk"] == 23570
    assert curve.loc[17, "at_risk"] == 7846 and curve.loc[17, "n_cohorts"] == 1


def test_does_not_modify_input():
    log = tiny_log()
    before = log.copy()
    cohort_table(log, mode="rolling", window=2, values="revenue", amount_col="amount")
    retention_curve(log, observation_end="2024-03-31")
    pd.testing.assert_frame_equal(log, before)


@pytest.mark.parametrize("kw, match", [
    ({"mode": "bounded"}, "mode='bounded' is not one of"),
    ({"values": "orders"}, "values='orders' is not one of"),
    ({"period": "ME"}, "period='ME' is not a supported period"),
    ({"period": "2M"}, "not a supported period"),
    ({"period": "m"}, "not a supported period"),
    ({"mode": "rolling"}, "needs a window"),
    ({"mode": "rolling", "window": 0}, "needs a window"),
    ({"window": 3}, "only applies to mode='rolling'"),
    ({"values": "revenue"}, "needs the spend column"),
    ({"values": "revenue", "amount_col": "amount", "mode": "on_or_after"}, "not defined"),
    ({"customer_col": "customer"}, "did you mean 'customer_id'"),
])
def test_cohort_table_errors(kw, match):
    with pytest.raises(DataError, match=match):
        cohort_table(tiny_log(), **kw)


def test_cohort_table_empty_and_duplicates():
    with pytest.raises(DataError, match="empty"):
        cohort_table(tiny_log().iloc[:0])
    doubled = pd.concat([tiny_log(), tiny_log().iloc[:1]], ignore_index=True)
    with pytest.raises(DataError, match="identical"):
        cohort_table(doubled)
    assert cohort_table(doubled, duplicates="keep", relative=False,
                        observation_end="2024-03-31").loc["2024-01", 0] == 3


# --------------------------------------------------------------------------- retention_curve


def test_curve_ignores_unreached_cells_and_weights_by_size():
    table = pd.DataFrame({0: [1.0, 1.0, 1.0], 1: [0.2, 0.5, np.nan], 2: [0.1, np.nan, np.nan]},
                         index=["a", "b", "c"])
    sizes = pd.Series([100, 10, 50], index=table.index)
    curve = retention_curve(table, cohort_sizes=sizes)
    assert curve["retention"].tolist() == pytest.approx([1.0, 25 / 110, 0.1])
    assert curve["at_risk"].tolist() == [160, 110, 100]
    assert curve["n_cohorts"].tolist() == [3, 2, 1]
    # treating the missing cell as 0 would give a lower number
    as_zeros = (table.fillna(0).mul(sizes, axis=0).sum() / sizes.sum())[1]
    assert as_zeros == pytest.approx(25 / 160) and as_zeros < curve.loc[1, "retention"]
    # an unweighted mean would give yet another number
    assert table[1].mean() == pytest.approx(0.35) != pytest.approx(curve.loc[1, "retention"])


def test_curve_from_log_equals_curve_from_table():
    log = tiny_log()
    from_log = retention_curve(log, observation_end="2024-03-31")
    table = cohort_table(log, observation_end="2024-03-31")
    pd.testing.assert_frame_equal(from_log, retention_curve(table))
    assert from_log["retention"].tolist() == pytest.approx([1.0, 0.5, 1 / 3])
    counts = cohort_table(log, observation_end="2024-03-31", relative=False)
    pd.testing.assert_frame_equal(retention_curve(counts), from_log, check_dtype=False)


def test_revenue_curve():
    log = tiny_log()
    curve = retention_curve(log, values="revenue", amount_col="amount",
                            observation_end="2024-03-31")
    assert list(curve.columns) == ["revenue_per_customer", "revenue", "at_risk", "n_cohorts"]
    assert curve.loc[1, "revenue"] == pytest.approx(5.0 + 8.0)
    assert curve.loc[1, "revenue_per_customer"] == pytest.approx(13.0 / 4)


def test_curve_errors():
    table = cohort_table(tiny_log(), observation_end="2024-03-31")
    with pytest.raises(DataError, match="apply only when a transaction log"):
        retention_curve(table, period="W")
    bare = pd.DataFrame(table.to_numpy(), index=table.index, columns=table.columns)
    with pytest.raises(DataError):  # no attrs and no sizes: treated as a log, which it is not
        retention_curve(bare)
    with pytest.raises(DataError, match="no size for some cohorts"):
        retention_curve(bare, cohort_sizes=pd.Series([3], index=table.index[:1]))
    with pytest.raises(DataError, match="DataFrame"):
        retention_curve([1, 2, 3])


# --------------------------------------------------------------------------- survival


def six_customers() -> pd.DataFrame:
    return pd.DataFrame({"duration": [1, 2, 2, 3, 4, 5],
                         "churned": [True, True, False, True, False, True]})


def test_kaplan_meier_by_hand():
    res = survival(six_customers(), rmst_horizon=4)
    t = res.table.set_index("time")
    # S(1) = 5/6; S(2) = 5/6 * 4/5; S(3) = 4/6 * 2/3; censored at 4; S(5) = 0
    assert t["survival"].tolist() == pytest.approx([1, 5 / 6, 4 / 6, 4 / 9, 4 / 9, 0])
    assert t["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert t["churned"].tolist() == [0, 1, 1, 1, 0, 1]
    assert t["censored"].tolist() == [0, 0, 1, 0, 1, 0]
    assert res.median["all"] == 3.0
    # log(-log) interval at t=1: Greenwood sum 1/(6*5)
    s, z = 5 / 6, 1.959963984540054
    se = math.sqrt(1 / 30) / abs(math.log(s))
    lower = math.exp(-math.exp(math.log(-math.log(s)) + z * se))
    upper = math.exp(-math.exp(math.log(-math.log(s)) - z * se))
    assert t.loc[1.0, "ci_lower"] == pytest.approx(lower, rel=1e-6)
    assert t.loc[1.0, "ci_upper"] == pytest.approx(upper, rel=1e-6)
    # RMST(4) = 1 + 5/6 + 4/6 + 4/9; its variance sums A_i^2 d_i / (n_i (n_i - d_i))
    assert res.summary.loc["all", "rmst"] == pytest.approx(1 + 5 / 6 + 4 / 6 + 4 / 9)
    a1, a2, a3 = 5 / 6 + 4 / 6 + 4 / 9, 4 / 6 + 4 / 9, 4 / 9
    var = a1**2 / 30 + a2**2 / 20 + a3**2 / 6
    assert res.summary.loc["all", "rmst_se"] == pytest.approx(math.sqrt(var))
    assert res.logrank_p_value is None and res.rmst_difference is None
    assert isinstance(res, SurvivalResult) and "median=3" in repr(res)


def test_censoring_is_not_churn():
    # all six "not churned yet": survival stays at 1, median not reached
    d = six_customers().assign(churned=False)
    res = survival(d)
    assert (res.table["survival"] == 1.0).all()
    assert math.isinf(res.median["all"])


def test_sbg_cohorts_match_published_survival():
    c = load_sbg_cohorts()
    res = survival(c.customers, group_col="cohort", rmst_horizon=7, time_unit="Y")
    at7 = res.table.loc[res.table["time"] == 7].set_index("group")["survival"]
    # no censoring before year 7, so KM equals the published percentages
    assert at7["regular"] == pytest.approx(c.survival.loc[7, "regular"] / 100)
    assert at7["high_end"] == pytest.approx(c.survival.loc[7, "high_end"] / 100)
    assert res.median.to_dict() == {"high_end": 7.0, "regular": 2.0}
    assert res.logrank_df == 1 and res.logrank_p_value < 1e-30
    assert res.reference_group == "high_end"
    diff = res.rmst_difference.loc["regular"]
    rmst = res.summary["rmst"]
    assert diff["difference"] == pytest.approx(rmst["regular"] - rmst["high_end"])
    assert diff["se"] == pytest.approx(math.hypot(*res.summary["rmst_se"]))
    assert diff["ci_lower"] < diff["difference"] < diff["ci_upper"] < 0


def test_logrank_matches_lifelines():
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    rng = np.random.default_rng(3)
    n = 90
    d = pd.DataFrame({"duration": rng.exponential(10, n).round(1),
                      "churned": rng.random(n) < 0.7,
                      "plan": rng.choice(["basic", "pro", "team"], n)})
    res3 = survival(d, group_col="plan", rmst_horizon=5)
    ref3 = multivariate_logrank_test(d["duration"], d["plan"], d["churned"])
    assert res3.logrank_statistic == pytest.approx(ref3.test_statistic)
    assert res3.logrank_p_value == pytest.approx(ref3.p_value)
    assert res3.logrank_df == 2 and list(res3.rmst_difference.index) == ["pro", "team"]
    two = d.loc[d["plan"] != "team"]
    res2 = survival(two, group_col="plan")
    a, b = two.loc[two["plan"] == "basic"], two.loc[two["plan"] == "pro"]
    ref2 = logrank_test(a["duration"], b["duration"], a["churned"], b["churned"])
    assert res2.logrank_p_value == pytest.approx(ref2.p_value)
    assert set(res2.table["group"]) == {"basic", "pro"}


@pytest.mark.parametrize("change, kw, match", [
    (lambda d: d.assign(churned=d["churned"].astype(int)), {}, "must hold True"),
    (lambda d: d.assign(duration=[1, -2, 2, 3, 4, 5]), {}, "negative"),
    (lambda d: d.assign(duration=[1, np.nan, 2, 3, 4, 5]), {}, "missing or not finite"),
    (lambda d: d.rename(columns={"duration": "Duration"}), {}, "did you mean 'Duration'"),
    (lambda d: d.iloc[:0], {}, "empty"),
    (lambda d: d.assign(g=["a", "a", "a", "a", "a", "b"]), {"group_col": "g"},
     "single customer"),
    (lambda d: d.assign(g="a"), {"group_col": "g"}, "single group"),
    (lambda d: d.assign(g=["a", None, "a", "b", "b", "b"]), {"group_col": "g"}, "missing"),
    (lambda d: d, {"rmst_horizon": 6}, "outside the follow-up"),
    (lambda d: d, {"rmst_horizon": 0}, "outside the follow-up"),
    (lambda d: d, {"alpha": 1.5}, "alpha"),
])
def test_survival_errors(change, kw, match):
    with pytest.raises(DataError, match=match):
        survival(change(six_customers()), **kw)


def test_survival_does_not_modify_input():
    d = six_customers().assign(g=["a", "a", "a", "b", "b", "b"])
    before = d.copy()
    survival(d, group_col="g", rmst_horizon=2)
    pd.testing.assert_frame_equal(d, before)


def test_delayed_entry_by_hand():
    # Churn at 2 (seen from 0), at 3 (seen from 2), censored at 3 (from 0), churn at 4
    # (seen from 1). A customer seen from e is at risk only after e: at t = 2 the risk set
    # is {1, 3, 4} (not 2), S(2) = 2/3; at t = 3 it is {2, 3, 4}, S(3) = 4/9; S(4) = 0.
    d = pd.DataFrame({"duration": [2, 3, 3, 4], "churned": [True, True, False, True],
                      "entry": [0, 2, 0, 1]})
    table = survival(d, entry_col="entry").table
    assert table["time"].tolist() == [0.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(table["survival"], [1, 2 / 3, 4 / 9, 0], rtol=1e-12)
    assert table["at_risk"].tolist()[1:] == [3, 3, 1]
    # entry 0 for everyone is no entry at all
    plain = survival(d.assign(entry=0), entry_col="entry").table
    pd.testing.assert_frame_equal(plain, survival(d).table)


def test_logrank_with_entry_zero_matches_lifelines():
    from lifelines.statistics import multivariate_logrank_test

    rng = np.random.default_rng(3)
    n = 90
    d = pd.DataFrame({"duration": rng.integers(1, 20, n), "churned": rng.random(n) < 0.7,
                      "plan": rng.choice(["basic", "pro", "team"], n), "entry": 0})
    ours = survival(d, group_col="plan", entry_col="entry")
    ref = multivariate_logrank_test(d["duration"], d["plan"], d["churned"])
    assert ours.logrank_statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    assert ours.logrank_p_value == pytest.approx(ref.p_value, rel=1e-9)


def test_snapshot_survival_with_entry_recovers_the_sbg_curve():
    # 40,000 customers acquired over 72 months, seen only if still customers 12 months
    # before the end (11,056 rows). With entry times Kaplan-Meier follows the true sBG
    # survival (alpha 0.7, beta 1.2) to within 0.01 at 1, 12, 36 and 60 months; without
    # them it is 0.14 to 0.29 too high (the customers who left early are missing).
    from retention_kit.models import SBG
    from retention_kit.simulate import simulate_contract_snapshot

    snap = simulate_contract_snapshot(40_000, params={"alpha": 0.7, "beta": 1.2},
                                      n_periods=72, window=12, random_state=0)
    months = np.array([1, 12, 36, 60])
    truth = SBG.from_params({"alpha": 0.7, "beta": 1.2}).survival(months)

    def curve(result):
        table = result.table.set_index("time")["survival"]
        return table.reindex(np.arange(73.0)).ffill().loc[months].to_numpy()

    with_entry = curve(survival(snap, entry_col="entry"))
    without = curve(survival(snap))
    assert np.abs(with_entry - truth).max() < 0.01
    assert ((without - truth) > 0.14).all()


def test_survival_entry_errors():
    d = six_customers().assign(entry=[0, 0, 3, 0, 0, 0])
    with pytest.raises(DataError, match="entry is after the duration. Rows affected: 1"):
        survival(d, entry_col="entry")
    with pytest.raises(DataError, match="entry is not below the duration of a churner"):
        survival(d.assign(entry=[1, 0, 0, 0, 0, 0]), entry_col="entry")
    with pytest.raises(DataError, match="'entry' has negative values"):
        survival(d.assign(entry=-1), entry_col="entry")
    with pytest.raises(DataError, match="did you mean 'entry'"):
        survival(d, entry_col="Entry")


# --------------------------------------------------------------------------- churn_durations


def test_subscription_durations():
    subs = pd.DataFrame({
        "customer_id": [1, 1, 1, 2, 2, 2, 2, 3, 4, 4, 4],
        "month": pd.PeriodIndex(["2024-01", "2024-02", "2024-03", "2024-02", "2024-03",
                                 "2024-04", "2024-05", "2024-05", "2024-01", "2024-02",
                                 "2024-05"], freq="M"),
        "mrr": [10, 10, 10, 20, 0, 20, 20, 5, 0, 3, 3],
    })
    before = subs.copy()
    d = churn_durations(subs)
    pd.testing.assert_frame_equal(subs, before)
    # 1: Jan-Mar then stopped; 2: gap in March ignored; 3: new in May; 4: Feb (Jan unpaid) - May
    assert d["duration"].tolist() == [3.0, 4.0, 1.0, 4.0]
    assert d["churned"].tolist() == [True, False, False, False]
    assert d.attrs["time_unit"] == "M" and d.attrs["observation_end"] == "2024-05"
    assert str(d.loc[4, "start"].date()) == "2024-02-01"
    # observed until June: everybody's last paid month (May) is before it
    later = churn_durations(subs, observation_end="2024-06-30")
    assert later["churned"].tolist() == [True, True, True, True]
    assert later["duration"].tolist() == [3.0, 4.0, 1.0, 4.0]


def test_transaction_durations_inactivity_boundary():
    log = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
                        "date": ["2024-01-01", "2024-01-31", "2024-04-01", "2024-04-02"]})
    d = churn_durations(log, inactivity=90, observation_end="2024-06-30")
    # b: 90 days since the last purchase -> churned; c: 89 days -> censored
    assert d["churned"].to_dict() == {"a": True, "b": True, "c": False}
    assert d["duration"].to_dict() == {"a": 30.0, "b": 0.0, "c": 0.0}
    dec = churn_durations(log, inactivity=pd.Timedelta(days=90), observation_end="2024-06-30",
                          churn_time="declared")
    # churn visible 90 days after the last purchase; censored customers observed to the end
    assert dec["duration"].to_dict() == {"a": 120.0, "b": 90.0, "c": 89.0}
    weeks = churn_durations(log, inactivity=90, observation_end="2024-06-30", time_unit="W")
    assert weeks.loc["a", "duration"] == pytest.approx(30 / 7)


def test_churn_durations_feed_survival(sample_log):
    d = churn_durations(sample_log, inactivity=180, duplicates="keep")
    assert len(d) == 2357 and d.attrs["time_unit"] == "D"
    res = survival(d)
    assert res.time_unit == "D"
    assert res.summary.loc["all", "n_churned"] == int(d["churned"].sum())
    first = res.table.iloc[0]
    assert first["time"] == 0 and first["at_risk"] == 2357


@pytest.mark.parametrize("kw, match", [
    ({}, "looks like a transaction log"),
    ({"inactivity": -5}, "positive number of days"),
    ({"inactivity": True}, "not a number of days"),
    ({"inactivity": 30, "churn_time": "first_gap"}, "churn_time='first_gap' is not one of"),
    ({"inactivity": 30, "time_unit": "fortnight"}, "not supported"),
])
def test_churn_durations_errors(kw, match):
    log = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "2024-02-01"]})
    with pytest.raises(DataError, match=match):
        churn_durations(log, **kw)


def test_subscription_errors():
    subs = pd.DataFrame({"customer_id": [1, 2], "month": ["2024-01", "2024-02"], "mrr": [5, -1]})
    with pytest.raises(DataError, match="negative"):
        churn_durations(subs)
    with pytest.raises(DataError, match="did you mean 'mrr'"):
        churn_durations(subs, mrr_col="MRR")
    with pytest.raises(DataError, match="counted in months"):
        churn_durations(subs.assign(mrr=5), time_unit="D")
    with pytest.raises(DataError, match="churn_time applies"):
        churn_durations(subs.assign(mrr=5), churn_time="declared")
    with pytest.raises(DataError, match="no customer has a paid month"):
        churn_durations(subs.assign(mrr=0))


def test_durations_to_renewals_shifts_only_current_customers() -> None:
    from retention_kit.cohorts import durations_to_renewals

    # a left after 1 month (1 renewal attempt, failed); b is in her first month (no
    # renewal seen: dropped); c left after 3 months; d pays her 3rd month (2 renewals).
    d = pd.DataFrame({"duration": [1, 1, 3, 3], "churned": [True, False, True, False],
                      "start": pd.to_datetime(["2024-01-01"] * 4)},
                     index=pd.Index(list("abcd"), name="customer_id"))
    out = durations_to_renewals(d)
    assert out.index.tolist() == ["a", "c", "d"]
    assert out["duration"].tolist() == [1, 3, 2]
    assert out["churned"].tolist() == [True, True, False]
    assert list(out.columns) == ["duration", "churned", "start"]
    assert d["duration"].tolist() == [1, 1, 3, 3]  # input untouched


def test_customers_since_leaves_out_customers_first_seen_earlier_and_says_so() -> None:
    log = pd.DataFrame({
        "customer_id": ["a", "b", "c", "a", "d", "b", "d", "e"],
        "date": ["2024-01-03", "2024-01-10", "2024-01-20", "2024-02-05",
                 "2024-02-07", "2024-03-01", "2024-03-09", "2024-03-30"]})
    t = cohort_table(log, observation_end="2024-03-31", customers_since="2024-02-01")
    # a, b, c (January) are gone with all their purchases; d (Feb) and e (March) stay
    assert [str(p) for p in t.index] == ["2024-02", "2024-03"]
    assert t.loc["2024-02"].tolist() == [1.0, 1.0]
    assert t.attrs["n_customers_excluded"] == 3
    assert t.attrs["customers_since"] == "2024-02-01"
    assert "3 customers first seen earlier are left out" in t.attrs["note"]
    curve = retention_curve(log, observation_end="2024-03-31", customers_since="2024-02-01")
    assert curve.attrs["note"] == t.attrs["note"]
    assert curve["at_risk"].tolist() == [2, 1]


def test_customers_since_after_every_customer_is_refused() -> None:
    log = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-02", "2024-01-09"]})
    with pytest.raises(DataError, match="every customer was first seen before"):
        cohort_table(log, customers_since="2024-02-01")
    with pytest.raises(DataError, match="customers_since 'soon' is not a date"):
        cohort_table(log, customers_since="soon")


def test_customers_since_on_an_engine_input_says_how_to_get_round_it(tmp_path) -> None:
    pytest.importorskip("duckdb")
    path = tmp_path / "log.parquet"
    pd.DataFrame({"customer_id": [1, 2],
                  "date": pd.to_datetime(["2024-01-02", "2024-02-09"])}).to_parquet(path)
    with pytest.raises(DataError, match="not supported yet for a file.*load the log with "
                       "pandas first"):
        cohort_table(str(path), customers_since="2024-02-01")
