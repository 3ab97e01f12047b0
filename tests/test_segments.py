"""Tests of retention_kit.segments: hand-computed scores, rules as data, tiers, clusters."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from retention_kit.data import rfm_segmentation_summary, rfm_summary
from retention_kit.datasets import load_cdnow_transactions
from retention_kit.errors import DataError
from retention_kit.models import BGNBD
from retention_kit.segments import (
    STRATEGIES,
    RFMBins,
    RFMTiesWarning,
    assign_segments,
    cluster_customers,
    cluster_profiles,
    clv_tier_summary,
    clv_tiers,
    concentration_curve,
    default_segment_actions,
    default_segment_rules,
    migration_from_transactions,
    persona_cards,
    rfm_scores,
    rfm_segments,
    segment_grid,
    segment_migration,
    segment_summary,
)

DEFAULT_NAMES = ["Champions", "Loyal", "Potential Loyalists", "New", "Promising",
                 "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them",
                 "Hibernating/Lost"]


@pytest.fixture(scope="module")
def sample_log() -> pd.DataFrame:
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="module")
def sample_summary(sample_log: pd.DataFrame) -> pd.DataFrame:
    return rfm_segmentation_summary(sample_log, amount_col="amount", duplicates="keep")


def six() -> pd.DataFrame:
    return pd.DataFrame({"since_last": [3.0, 10, 10, 50, 80, 200],
                         "purchases": [4, 2, 1, 1, 1, 1],
                         "total_spend": [120.0, 60, 20, 20, 15, 5]},
                        index=pd.Index(list("abcdef"), name="customer_id"))


def brute_force(values: np.ndarray, n_bins: int, higher: bool) -> np.ndarray:
    """score = 1 + floor(n * share of customers with a strictly worse value)."""
    worse = np.array([(values < v).sum() if higher else (values > v).sum() for v in values])
    return 1 + (worse * n_bins) // len(values)


# --------------------------------------------------------------------------- import


def test_import_does_not_load_sklearn_or_plotting():
    code = ("import sys, retention_kit.segments; print(sorted(m for m in "
            "('sklearn', 'matplotlib', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- RFM scores


def test_scores_by_hand():
    scores = rfm_scores(six(), warn=False)
    # R: customers with a longer time since last purchase: a 5, b/c 3, d 2, e 1, f 0 of 6
    assert scores["R"].tolist() == [5, 3, 3, 2, 1, 1]
    assert scores["F"].tolist() == [5, 4, 1, 1, 1, 1]  # 4 of 6 below 2 purchases -> 1+3
    assert scores["M"].tolist() == [5, 4, 2, 2, 1, 1]
    bins = scores.attrs["bins"]
    assert bins.recency == (50.0, 10.0, 3.0, 3.0)
    assert bins.frequency == (2.0, 2.0, 2.0, 4.0)
    assert bins.monetary == (20.0, 60.0, 60.0, 120.0)
    assert scores.attrs["kind"] == "rfm_scores" and scores.attrs["n_bins"] == 5
    assert list(scores.index) == list("abcdef")


@pytest.mark.parametrize("n_bins", [2, 3, 5, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_match_the_documented_formula_with_ties(n_bins, seed):
    rng = np.random.default_rng(seed)
    s = pd.DataFrame({"since_last": rng.integers(0, 30, 200).astype(float),
                      "purchases": rng.geometric(0.6, 200),
                      "total_spend": rng.gamma(1.0, 50, 200).round(0)})
    scores = rfm_scores(s, n_bins=n_bins, warn=False)
    assert np.array_equal(scores["R"], brute_force(s["since_last"].to_numpy(), n_bins, False))
    assert np.array_equal(scores["F"], brute_force(s["purchases"].to_numpy(), n_bins, True))
    assert np.array_equal(scores["M"], brute_force(s["total_spend"].to_numpy(), n_bins, True))
    for col, score in (("purchases", "F"), ("since_last", "R")):
        # same value -> same score; the best value gets the top score it can reach
        assert (scores.groupby(s[col])[score].nunique() == 1).all()
    assert scores.loc[s["purchases"].idxmax(), "F"] == scores["F"].max()
    assert scores.loc[s["since_last"].idxmin(), "R"] == scores["R"].max()


def test_without_ties_scores_are_exact_quintiles():
    s = pd.DataFrame({"since_last": np.arange(100.0), "purchases": np.arange(1, 101),
                      "total_spend": np.arange(100.0) * 1.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = rfm_scores(s)
    for col in "RFM":
        assert scores[col].value_counts().sort_index().tolist() == [20] * 5
    assert scores["R"].iloc[0] == 5 and scores["R"].iloc[-1] == 1  # recent = high
    assert scores.attrs["bins"].notes == ()


def test_ties_warn_and_say_how_they_were_handled(sample_summary):
    with pytest.warns(RFMTiesWarning, match=r"frequency \(purchases\): 5\d% of customers share "
                      r"the value 1.*so score 2 is empty") as caught:
        scores = rfm_scores(sample_summary)
    assert caught[0].filename == __file__  # points at the caller, not at the package
    notes = scores.attrs["bins"].notes
    assert len(notes) == 1 and "top score stays with the best customers" in notes[0]
    assert sorted(scores["F"].unique()) == [1, 3, 4, 5]
    assert (scores.loc[sample_summary["purchases"] == 1, "F"] == 1).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rfm_scores(sample_summary, warn=False)
    frame = scores.attrs["bins"].to_frame()
    assert frame.loc[2, "purchases"] == "empty" and frame.loc[1, "purchases"] == "< 2"


def test_bins_fitted_on_one_period_score_another(sample_log):
    kwargs = {"amount_col": "amount", "duplicates": "keep", "after_end": "drop"}
    early = rfm_segmentation_summary(sample_log, observation_end="1997-12-31", **kwargs)
    late = rfm_segmentation_summary(sample_log, observation_end="1998-06-30", **kwargs)
    first = rfm_scores(early, warn=False)
    bins = first.attrs["bins"]
    again = rfm_scores(late, bins=bins)
    assert again.attrs["bins"] is bins
    # the same recency threshold: R >= 5 means bought within bins.recency[3] days
    assert ((late["since_last"] <= bins.recency[3]) == (again["R"] == 5)).all()
    refit = rfm_scores(late, warn=False)
    assert refit.attrs["bins"] != bins
    # six months later with the old bins fewer customers are recent than with refitted ones
    assert (again["R"] == 5).sum() < (refit["R"] == 5).sum()
    # bins survive JSON
    text = json.dumps(bins.to_dict())
    assert RFMBins.from_dict(json.loads(text)) == bins


def test_monetary_choices(sample_summary):
    no_m = rfm_scores(sample_summary, monetary=None, warn=False)
    assert list(no_m.columns) == ["R", "F"] and no_m.attrs["bins"].monetary is None
    mean = rfm_scores(sample_summary, monetary="mean_spend", warn=False)
    assert mean.attrs["bins"].monetary_column == "mean_spend"
    assert not mean["M"].equals(rfm_scores(sample_summary, warn=False)["M"])
    assert math.isinf(RFMBins.from_dict({**mean.attrs["bins"].to_dict(),
                                         "frequency": [None] * 4}).frequency[0])


def test_btyd_summary_is_refused_for_scoring(sample_log):
    btyd = rfm_summary(sample_log, amount_col="amount", duplicates="keep")
    with pytest.raises(DataError, match=r"needs the segmentation summary, but this is a BTYD "
                       r"summary.*How to fix: build the input with rfm_segmentation_summary"):
        rfm_scores(btyd)
    plain = pd.DataFrame(btyd)  # no attrs: recognised by its columns
    plain.attrs = {}
    with pytest.raises(DataError, match="BTYD summary"):
        rfm_segments(plain)
    with pytest.raises(DataError, match="BTYD summary"):
        cluster_customers(btyd)


def test_segmentation_summary_is_refused_by_btyd_models(sample_summary):
    with pytest.raises(DataError, match="this is a segmentation summary.*rfm_summary"):
        BGNBD().fit(sample_summary)


def test_fewer_customers_than_bins():
    with pytest.raises(DataError, match=r"fewer customers \(3\) than bins \(5\).*Rows affected: "
                       r"3.*use n_bins <= 3"):
        rfm_scores(six().iloc[:3])
    assert rfm_scores(six().iloc[:3], n_bins=3, warn=False)["F"].tolist() == [3, 2, 1]


def test_constant_columns_are_refused():
    s = six().assign(purchases=1)
    with pytest.raises(DataError, match=r"column 'purchases' \(frequency\) has the same value "
                       r"\(1\) for every customer, so it cannot rank them"):
        rfm_scores(s)
    with pytest.raises(DataError, match="'total_spend' .monetary. has the same value"):
        rfm_scores(six().assign(total_spend=9.5))
    assert "M" not in rfm_scores(six().assign(total_spend=9.5), monetary=None, warn=False)


def test_other_bad_summaries():
    with pytest.raises(DataError, match="no column 'total_spend'.*monetary=None"):
        rfm_scores(six().drop(columns="total_spend"))
    with pytest.raises(DataError, match="'since_last' has missing"):
        rfm_scores(six().assign(since_last=[1.0, np.nan, 3, 4, 5, 6]))
    with pytest.raises(DataError, match="transaction log"):
        rfm_scores(six().assign(date="2024-01-01"))
    with pytest.raises(DataError, match="empty"):
        rfm_scores(six().iloc[:0])
    with pytest.raises(ValueError, match="n_bins must be a whole number >= 2"):
        rfm_scores(six(), n_bins=1)
    with pytest.raises(TypeError, match="bins must be an RFMBins"):
        rfm_scores(six(), bins={"n_bins": 5})


# --------------------------------------------------------------------------- rules


def all_cells(n_bins: int) -> pd.DataFrame:
    r, f = np.meshgrid(np.arange(1, n_bins + 1), np.arange(1, n_bins + 1), indexing="ij")
    cells = pd.DataFrame({"R": r.ravel(), "F": f.ravel()})
    cells.attrs["n_bins"] = n_bins
    return cells


@pytest.mark.parametrize("n_bins", [2, 3, 4, 5, 7, 10, 15])
def test_default_rules_tile_the_grid_exactly(n_bins):
    cells = all_cells(n_bins)
    segments = assign_segments(cells)  # default rules rescaled to the scores' n_bins
    assert segments.attrs["n_overlapping"] == 0
    # on 1..n the segment of (R, F) is the 5-scale segment of the middle of their ranges
    five = assign_segments(all_cells(5)).set_axis(
        pd.MultiIndex.from_frame(all_cells(5)))
    expected = [five[(math.ceil(5 * (r - 0.5) / n_bins), math.ceil(5 * (f - 0.5) / n_bins))]
                for r, f in zip(cells["R"], cells["F"], strict=True)]
    assert segments.tolist() == expected
    if n_bins >= 5:
        assert list(segments.cat.categories) == DEFAULT_NAMES
    assert set(segments) == set(segments.cat.categories)  # no rule survives empty


def test_coarse_scales_keep_the_extremes():
    four = default_segment_rules(4)
    assert "Need Attention" not in set(four["segment"]) and "New" in set(four["segment"])
    champions = four.loc[four["segment"] == "Champions"].iloc[0]
    assert (champions["r_min"], champions["r_max"], champions["f_min"]) == (4, 4, 3)
    assert set(default_segment_rules(2)["segment"]) == {
        "Loyal", "Potential Loyalists", "At Risk", "Hibernating/Lost"}


def test_default_rules_hand_checked_cells():
    cells = pd.DataFrame({"R": [5, 5, 4, 5, 3, 3, 1, 2, 1, 2, 4],
                          "F": [5, 4, 5, 1, 1, 3, 5, 3, 1, 2, 1]})
    assert assign_segments(cells).tolist() == [
        "Champions", "Champions", "Loyal", "New", "About to Sleep", "Need Attention",
        "Can't Lose Them", "At Risk", "Hibernating/Lost", "Hibernating/Lost", "Promising"]
    rules = default_segment_rules()
    assert rules["order"].tolist() == list(range(1, 11))
    assert rules["segment"].tolist() == DEFAULT_NAMES
    assert rules[["m_min", "m_max"]].isna().all().all()


def overlapping_rules(vip_first: bool) -> pd.DataFrame:
    return pd.DataFrame({"segment": ["VIP", "Recent", "Rest"],
                         "order": [1, 2, 3] if vip_first else [2, 1, 3],
                         "r_min": [4, 4, 1], "r_max": [5, 5, 5],
                         "f_min": [4, 1, 1], "f_max": [5, 5, 5]})


def test_overlaps_are_resolved_by_order_not_row_order():
    scores = pd.DataFrame({"R": [5, 5, 2], "F": [5, 1, 5]})
    first = assign_segments(scores, overlapping_rules(vip_first=True))
    assert first.tolist() == ["VIP", "Recent", "Rest"]
    assert first.attrs["n_overlapping"] == 2  # the two R = 5 customers also match "Rest"
    swapped = assign_segments(scores, overlapping_rules(vip_first=False))
    assert swapped.tolist() == ["Recent", "Recent", "Rest"]  # VIP is now shadowed
    shuffled = overlapping_rules(vip_first=True).iloc[[2, 0, 1]]
    assert assign_segments(scores, shuffled).tolist() == first.tolist()
    assert list(swapped.cat.categories) == ["Recent", "VIP", "Rest"]  # in rule order


def test_ranges_compare_numbers_not_digits():
    scores = pd.DataFrame({"R": [5, 15, 1, 11, 1], "F": [1, 1, 15, 5, 5]})
    scores.attrs["n_bins"] = 15
    rules = pd.DataFrame({"segment": ["R is 5", "R11 F5", "other"], "order": [1, 2, 3],
                          "r_min": [5, 11, None], "r_max": [5, 11, None],
                          "f_min": [None, 5, None], "f_max": [None, 5, None]})
    # "5" in "15" and the code "115" for both (1, 15) and (11, 5) would confuse a string match
    assert assign_segments(scores, rules).tolist() == ["R is 5", "other", "other", "R11 F5",
                                                       "other"]
    default = assign_segments(scores)
    # default rules on 1..15: (R, F) -> (ceil(R/3), ceil(F/3)) on the usual 5 x 5 grid
    assert default.tolist() == ["Hibernating/Lost", "New", "Can't Lose Them",
                                "Potential Loyalists", "Hibernating/Lost"]


def test_gaps_name_the_unassigned_score_patterns():
    rules = default_segment_rules()
    rules = rules[rules["segment"] != "About to Sleep"]
    scores = pd.DataFrame({"R": [3, 3, 3, 5], "F": [1, 1, 2, 5]}, index=[10, 11, 12, 13])
    with pytest.raises(DataError) as err:
        assign_segments(scores, rules)
    assert str(err.value) == (
        "the segment rules leave 3 customers without a segment; their score patterns: "
        "R=3, F=1 (2 customers); R=3, F=2 (1 customer). Rows affected: 3. First example: "
        "customer 10. How to fix: add rules covering these scores, or end the table with a "
        "catch-all rule (no bounds, largest order) such as 'Other'.")
    catch_all = pd.concat([rules, pd.DataFrame({"segment": ["Other"], "order": [99]})])
    assert assign_segments(scores, catch_all).tolist() == ["Other", "Other", "Other",
                                                           "Champions"]


def test_rules_for_another_scale_are_caught():
    scores = all_cells(15)
    with pytest.raises(DataError, match="largest R bound is 5 but scores reach 15.*"
                       r"default_segment_rules\(n_bins=...\)"):
        assign_segments(scores, default_segment_rules(5))


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.drop(columns="order"), "no 'order' column"),
    (lambda r: r.assign(order=1), "order values must be distinct"),
    (lambda r: r.rename(columns={"r_min": "rmin"}), r"unknown column 'rmin'.*did you mean "
                                                    "'r_min'"),
    (lambda r: r.assign(r_min=r["r_max"] + 1), "r_min greater than r_max"),
    (lambda r: r.assign(f_min=1.5), "whole scores"),
    (lambda r: r.assign(segment=None), "no segment name"),
])
def test_invalid_rule_tables(change, message):
    with pytest.raises(DataError, match=message):
        assign_segments(all_cells(5), change(default_segment_rules()))


def test_m_rules_need_m_scores_and_shared_names_form_one_segment():
    rules = pd.DataFrame({"segment": ["Big", "Big", "Small"], "order": [1, 2, 3],
                          "m_min": [5, None, None], "r_min": [None, 5, None]})
    with pytest.raises(DataError, match="no column 'M'"):
        assign_segments(pd.DataFrame({"R": [1], "F": [1]}), rules)
    scores = pd.DataFrame({"R": [1, 5, 1], "F": [1, 1, 1], "M": [5, 1, 1]})
    out = assign_segments(scores, rules)
    assert out.tolist() == ["Big", "Big", "Small"] and list(out.cat.categories) == ["Big",
                                                                                    "Small"]
    grid = segment_grid(rules)
    assert grid.loc[(grid["R"] == 1) & (grid["F"] == 1), "segment"].item() == "Small / Big"
    assert grid.loc[(grid["R"] == 5) & (grid["F"] == 1), "segment"].item() == "Big"


def test_rfm_segments_and_grid_counts(sample_summary):
    seg = rfm_segments(sample_summary, warn=False)
    assert seg["segment"].notna().all() and len(seg) == 2357
    assert {"since_last", "R", "F", "M", "segment"} <= set(seg.columns)
    assert seg.attrs["kind"] == "rfm_segments" and seg.attrs["observation_end"] == "1998-06-30"
    again = rfm_segments(seg, bins=seg.attrs["bins"])  # re-scoring a segmented frame
    assert again.equals(seg)
    grid = segment_grid(scores=seg)
    assert len(grid) == 25 and grid["customers"].sum() == 2357
    assert math.isclose(grid["share"].sum(), 1.0)
    cell = grid[(grid["R"] == 1) & (grid["F"] == 1)].iloc[0]
    assert cell["segment"] == "Hibernating/Lost"
    assert cell["customers"] == ((seg["R"] == 1) & (seg["F"] == 1)).sum()


# --------------------------------------------------------------------------- actions, summary


def test_default_actions_cover_the_default_segments_with_the_four_strategies():
    actions = default_segment_actions()
    assert list(actions.index) == DEFAULT_NAMES
    assert set(actions["strategy"]) == set(STRATEGIES)
    assert list(actions.columns) == ["strategy", "action", "measure"]
    assert actions["action"].str.len().min() > 20


def test_segment_summary_by_hand():
    seg = pd.DataFrame({
        "segment": pd.Categorical(["Champions", "New", "Champions", "Loyal"],
                                  categories=DEFAULT_NAMES),
        "since_last": [5.0, 2, 15, 100], "purchases": [8, 1, 6, 4],
        "total_spend": [300.0, 20.0, 80.0, 100.0]}, index=list("abcd"))
    clv = pd.Series({"d": 10.0, "c": 30.0, "b": 5.0, "a": 55.0}, name="clv")
    alive = pd.Series({"a": 0.9, "b": 1.0, "c": 0.7, "d": 0.5})
    out = segment_summary(seg, value=clv, alive=alive, actions=True)
    assert list(out.index) == DEFAULT_NAMES
    assert out["customers"].tolist() == [2, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert out.loc["Champions", "value"] == 85.0 and out.loc["Champions", "share_value"] == 0.85
    assert out.loc["Champions", "median_since_last"] == 10.0
    assert math.isclose(out.loc["Champions", "mean_alive"], 0.8)
    assert out.attrs["value"] == "clv"
    assert out.loc["New", "strategy"] == "customer service"
    past = segment_summary(seg)
    assert past.attrs["value"] == "total_spend" and math.isclose(past["share_value"].sum(), 1)
    with pytest.raises(DataError, match="value has no value for some customers"):
        segment_summary(seg, value=clv.drop("a"))


def test_unknown_segment_names_in_an_action_table():
    seg = rfm_segments(six(), warn=False)
    custom = pd.DataFrame({"segment": ["Champions", "Champoins"], "action": ["thank", "x"]})
    with pytest.raises(DataError, match=r"names segments that do not exist: \['Champoins'\]"
                       r".*did you mean 'Champions'"):
        segment_summary(seg, actions=custom)
    with pytest.raises(DataError, match="two rows for one segment"):
        segment_summary(seg, actions=pd.DataFrame({"segment": ["New", "New"], "action": "a"}))
    ok = segment_summary(seg, actions=custom.iloc[:1])
    assert ok.loc["Champions", "action"] == "thank" and ok["action"].isna().sum() == 9
    coarse = rfm_segments(six(), n_bins=4, warn=False)  # New etc. exist, About to Sleep not
    joined = segment_summary(coarse, actions=True)
    assert "About to Sleep" not in joined.index and joined["strategy"].notna().all()


# --------------------------------------------------------------------------- CLV tiers


def test_tiers_by_hand_with_ties():
    clv = pd.Series([100.0, 50, 20, 20, 10, 5, 5, 2, 1, 0], index=list("abcdefghij"))
    tiers = clv_tiers(clv, tiers=(0.1, 0.3))
    # c and d tie at 20: two customers have a higher CLV (20% < 30%) -> both in the 10-30% tier
    assert tiers.tolist() == ["top 10%", "top 10-30%", "top 10-30%", "top 10-30%"] + [
        "bottom 70%"] * 6
    table = clv_tier_summary(clv, tiers=(0.1, 0.3))
    assert table["customers"].tolist() == [1, 3, 6]
    assert table["clv_total"].tolist() == [100.0, 90.0, 23.0]
    assert np.allclose(table["share_value"], [100 / 213, 90 / 213, 23 / 213])
    assert table["min_clv"].tolist() == [100.0, 20.0, 0.0]
    assert table["cum_share_value"].iloc[-1] == pytest.approx(1.0)


def test_deciles_and_default_tiers():
    clv = pd.Series(np.arange(1000, 0, -1.0))
    deciles = clv_tier_summary(clv, tiers=10)
    assert deciles["customers"].tolist() == [100] * 10
    assert deciles.index[0] == "top 10%" and deciles.index[1] == "top 10-20%"
    assert deciles.index[-1] == "bottom 10%"
    default = clv_tier_summary(clv, alive=pd.Series(np.linspace(1, 0, 1000)))
    assert list(default.index) == ["top 1%", "top 1-5%", "top 5-20%", "bottom 80%"]
    assert default["customers"].tolist() == [10, 40, 150, 800]
    assert default["mean_alive"].is_monotonic_decreasing


def test_concentration_curve_and_gini():
    curve = concentration_curve(pd.Series([60.0, 30, 10, 0]))
    assert curve["share_customers"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert curve["share_value"].tolist() == pytest.approx([0, 0.6, 0.9, 1.0, 1.0])
    assert curve.attrs["gini"] == pytest.approx(0.5)
    assert concentration_curve(pd.Series([5.0] * 8)).attrs["gini"] == pytest.approx(0.0)
    one = concentration_curve(pd.Series([10.0, 0, 0, 0]))
    assert one.attrs["gini"] == pytest.approx(0.75)  # (n - 1) / n


def test_bad_clv_input():
    with pytest.raises(DataError, match="negative"):
        clv_tiers(pd.Series([1.0, -2.0]))
    with pytest.raises(DataError, match="missing or non-numeric"):
        clv_tiers(pd.Series([1.0, np.nan]))
    with pytest.raises(DataError, match="must be a pandas Series"):
        clv_tiers([1.0, 2.0])
    with pytest.raises(DataError, match=r"must be increasing .* How to fix: sort them: "
                                        r"tiers=\(0.1, 0.2\)"):
        clv_tiers(pd.Series([1.0, 2.0]), tiers=(0.2, 0.1))
    with pytest.raises(DataError, match="fewer than 2 groups"):
        clv_tiers(pd.Series([1.0, 2.0]), tiers=1)
    with pytest.raises(DataError, match=r"looks like a percentage\. How to fix: give shares as "
                                        r"fractions: tiers=\(0.01, 0.05, 0.2\)"):
        clv_tiers(pd.Series([1.0, 2.0]), tiers=(1, 5, 20))
    with pytest.raises(DataError, match="every value is 0"):
        concentration_curve(pd.Series([0.0, 0.0]))


# --------------------------------------------------------------------------- clustering


def blobs() -> tuple[pd.DataFrame, np.ndarray]:
    """Three well-separated groups on the log scale, of 120, 60 and 30 customers."""
    rng = np.random.default_rng(3)
    truth = np.repeat([0, 1, 2], [120, 60, 30])
    centres = np.array([[400.0, 1, 20], [30, 4, 150], [5, 20, 2000]])
    noise = np.exp(rng.normal(0, 0.08, (len(truth), 3)))
    x = centres[truth] * noise
    data = pd.DataFrame({"since_last": x[:, 0], "purchases": x[:, 1].round() + 1,
                         "total_spend": x[:, 2]})
    return data, truth


def test_clusters_found_deterministic_and_stable():
    from sklearn.metrics import adjusted_rand_score

    data, truth = blobs()
    result = cluster_customers(data, k_range=range(2, 6), random_state=0, n_seeds=3)
    assert result.k == 3 and result.silhouette.idxmax() == 3
    assert adjusted_rand_score(truth, result.labels) == 1.0
    assert result.labels.value_counts().sort_index().tolist() == [120, 60, 30]  # by size
    assert (result.stability == 1.0).all() and len(result.stability) == 2
    assert set(result.log_features) == {"since_last", "purchases", "total_spend"}
    again = cluster_customers(data, k_range=range(2, 6), random_state=0, n_seeds=3)
    assert again.labels.equals(result.labels) and again.silhouette.equals(result.silhouette)
    assert result.centers.shape == (3, 3)
    assert "k=3" in repr(result)


def test_probabilities_are_not_logged_and_bad_features_fail():
    data, _ = blobs()
    data["p_alive"] = np.linspace(0.05, 0.95, len(data))
    result = cluster_customers(data, features=["since_last", "purchases", "p_alive"], k=2,
                               n_seeds=1)
    assert result.log_features == ("since_last", "purchases") and result.k == 2
    with pytest.raises(DataError, match="'purchases' has the same value for every customer"):
        cluster_customers(data.assign(purchases=3), k=2)
    with pytest.raises(DataError, match=r"fewer distinct customers \(3\) than clusters \(4\)"):
        cluster_customers(data.iloc[[0, 1, 130]], k_range=range(2, 5))
    with pytest.raises(DataError, match="no column 'clv'"):
        cluster_customers(data, features=["since_last", "clv"])


def test_profiles_and_persona_cards_are_hypotheses():
    data, truth = blobs()
    labels = pd.Series(truth + 1, index=data.index)
    data.attrs["time_unit"] = "D"
    profiles = cluster_profiles(data, labels)
    assert profiles["customers"].tolist() == [120, 60, 30]
    assert profiles.loc[1, "median_since_last"] == pytest.approx(
        data.loc[truth == 0, "since_last"].median())
    assert profiles.attrs["overall"]["purchases"] == data["purchases"].median()
    cards = persona_cards(data, labels)
    assert cards["persona"].is_unique
    # cluster 1's median recency: 90 others + half of its own 120 bought more recently
    assert cards.loc[1, "persona"] == "Lapsed, occasional, low-spend customers"
    assert cards.loc[3, "persona"] == "Very recent, very frequent, top-spend customers"
    assert cards["hypothesis"].str.startswith("Hypothesis to validate: ").all()
    assert (cards["status"] == "hypothesis, not validated").all()
    assert cards["validate_with"].str.len().min() > 20
    assert "days since the last purchase" in cards.loc[1, "facts"]


def test_persona_names_are_made_unique():
    data = pd.DataFrame({"since_last": [1.0, 1, 1, 1, 300, 400],
                         "purchases": [9, 9, 9, 9, 1, 1]})
    cards = persona_cards(data, pd.Series([1, 1, 2, 2, 3, 3]), monetary=None)
    # nobody bought more recently than clusters 1 and 2; 2/6 bought fewer than 9 times
    assert cards["persona"].tolist() == ["Very recent, occasional customers (cluster 1)",
                                         "Very recent, occasional customers (cluster 2)",
                                         "Lapsed, one-time customers"]
    assert "1 purchase," not in cards.loc[1, "facts"] and "9 purchases" in cards.loc[1, "facts"]
    assert "1 purchase" in cards.loc[3, "facts"] and "time units" in cards.loc[3, "facts"]


def test_persona_names_with_spend_unique_or_not():
    # Regression: with nothing to make unique, pandas 3 refused `str += []` on no rows.
    data = pd.DataFrame({"since_last": [10.0, 11, 12, 13, 300, 310],
                         "purchases": [5, 5, 6, 6, 1, 1],
                         "total_spend": [100.0, 100, 101, 101, 5, 5]})
    cards = persona_cards(data, pd.Series([1, 1, 2, 2, 3, 3]))
    assert cards["persona"].tolist() == ["Recent, occasional, mid-spend customers",
                                         "Cooling, frequent, high-spend customers",
                                         "Lapsed, one-time, low-spend customers"]
    twins = data.assign(since_last=[10.0, 10, 10, 10, 300, 310], purchases=[5, 5, 5, 5, 1, 1],
                        total_spend=[100.0, 100, 100, 100, 5, 5])
    cards = persona_cards(twins, pd.Series([1, 1, 2, 2, 3, 3]))
    assert cards["persona"].is_unique
    assert cards.loc[1, "persona"].removesuffix(" (cluster 1)") == \
        cards.loc[2, "persona"].removesuffix(" (cluster 2)") != cards.loc[1, "persona"]
    assert not cards.loc[3, "persona"].endswith(")")


# --------------------------------------------------------------------------- migration


def test_migration_matrix_by_hand():
    before = pd.Series(pd.Categorical(["Loyal", "Loyal", "New", "At Risk"],
                                      categories=["Loyal", "New", "At Risk"]),
                       index=[1, 2, 3, 4])
    after = pd.Series(["Loyal", "At Risk", "Loyal", "New"], index=[1, 2, 3, 5])
    counts = segment_migration(before, after)
    assert list(counts.index) == ["Loyal", "New", "At Risk", "(new customer)"]
    assert list(counts.columns) == ["At Risk", "Loyal", "New", "(not active)"]
    assert counts.loc["Loyal"].tolist() == [1, 1, 0, 0]
    assert counts.loc["At Risk", "(not active)"] == 1  # customer 4 is missing after
    assert counts.loc["(new customer)", "New"] == 1  # customer 5 is new
    assert counts.to_numpy().sum() == 5
    assert counts.attrs["n_new"] == 1 and counts.attrs["n_inactive"] == 1
    shares = segment_migration(before, after, normalize=True)
    assert shares.loc["Loyal"].tolist() == [0.5, 0.5, 0.0, 0.0]
    assert np.allclose(shares.sum(axis=1), 1.0)
    with pytest.raises(DataError, match="new_label='Loyal' is also a segment name"):
        segment_migration(before, after, new_label="Loyal")
    with pytest.raises(DataError, match="listed twice"):
        segment_migration(pd.Series(["a", "b"], index=[1, 1]), after)


def test_migration_from_transactions_by_hand():
    log = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c", "d", "e", "f"],
        "date": ["2024-01-05", "2024-03-01", "2024-06-20", "2024-01-10", "2024-02-01",
                 "2024-03-25", "2024-03-30", "2024-01-02", "2024-05-01"],
        "amount": [10.0, 20, 30, 5, 8, 9, 50, 3, 7]})
    mig = migration_from_transactions(log, first_end="2024-03-31", second_end="2024-06-30",
                                      n_bins=2, warn=False)
    before, after = mig.before, mig.after
    assert list(before.index) == ["a", "b", "c", "d", "e"]
    assert list(after.index) == ["a", "b", "c", "d", "e", "f"]
    assert after.attrs["bins"] == before.attrs["bins"]  # second snapshot uses the first bins
    assert mig.counts.attrs["n_new"] == 1 and mig.counts.loc["(new customer)"].sum() == 1
    assert mig.counts.attrs["n_without_purchase_between"] == 4  # all but a
    assert mig.counts.to_numpy().sum() == 6 and mig.counts["(not active)"].sum() == 0
    # R = 2 meant "bought within 6 days" at the first cut-off (c and d), and still does:
    # a bought again 10 days before the second cut-off, which is not recent enough
    assert before.attrs["bins"].recency == (6.0,)
    assert before["R"].tolist() == [1, 1, 2, 2, 1] and after["R"].tolist() == [1] * 6
    with pytest.raises(DataError, match="first_end 2024-06-30 is not before second_end"):
        migration_from_transactions(log, first_end="2024-06-30", second_end="2024-03-31")


def test_migration_on_cdnow_sample(sample_log):
    mig = migration_from_transactions(sample_log, first_end="1997-12-31",
                                      second_end="1998-06-30", duplicates="keep", warn=False)
    assert mig.counts.attrs["n_new"] == 0  # a closed cohort acquired in Q1 1997
    assert mig.counts.to_numpy().sum() == 2357
    # without purchases recency can only fall: nobody idle climbs into Champions
    idle = mig.after["purchases"] == mig.before["purchases"]
    assert not ((mig.after.loc[idle, "segment"] == "Champions")
                & (mig.before.loc[idle, "segment"] != "Champions")).any()
    assert (mig.after.loc[idle, "R"] <= mig.before.loc[idle, "R"]).all()
