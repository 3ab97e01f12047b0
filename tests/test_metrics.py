"""Tests for retention_kit.metrics: published / hand-computed numbers, errors, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retention_kit.errors import DataError
from retention_kit.metrics import (
    CESResult,
    IntervalResult,
    NPSResult,
    RevenueRetention,
    annualize_churn,
    average_order_value,
    cac,
    cac_payback,
    ces,
    churn_rate,
    csat,
    customer_lifespan,
    ltv_to_cac,
    margin_multiple_clv,
    mrr_movements,
    nps,
    nps_from_scores,
    periodic_churn,
    purchase_frequency,
    referral_rate,
    repeat_purchase_rate,
    retention_rate,
    revenue_retention,
    simple_clv,
)
from retention_kit.metrics.revenue import _check_mrr_identity

# --------------------------------------------------------------------------------------
# published and hand-computed numbers
# --------------------------------------------------------------------------------------


def test_retention_rate_guide_example():
    # Guide 004: S=100, 20 new, 15 lost -> E=105; (105-20)/100 = 0.85.
    # (The guide's written formula 100*100/(100-20) would give 1.25.)
    assert retention_rate(100, 105, 20) == pytest.approx(0.85)


def test_churn_rate_guide_example():
    # 15 of 100 lost = 0.15 (the guide's upside-down start/lost would be 6.67).
    assert churn_rate(100, 15) == pytest.approx(0.15)


def test_annualize_churn_five_percent_a_month():
    # 1 - 0.95**12 = 0.459640..., not 12 * 0.05 = 0.60.
    assert annualize_churn(0.05) == pytest.approx(0.4596399, abs=1e-7)
    assert annualize_churn(0.10, periods_per_year=4) == pytest.approx(1 - 0.9**4)


def test_periodic_churn_inverts_annual():
    assert periodic_churn(0.4596399) == pytest.approx(0.05, abs=1e-8)
    assert periodic_churn(0.19, periods_per_year=2) == pytest.approx(0.1)  # 1 - sqrt(0.81)


def test_repeat_purchase_rate_from_counts():
    assert repeat_purchase_rate([1, 3, 2, 1, 1]) == pytest.approx(0.4)
    # customers with zero purchases stay in the denominator
    assert repeat_purchase_rate(pd.Series([0, 0, 2, 5])) == pytest.approx(0.5)


def test_repeat_purchase_rate_from_transactions():
    orders = pd.DataFrame({"cust": ["a", "a", "b", "c", "c", "c", "d"]})
    # a: 2, b: 1, c: 3, d: 1 -> 2 of 4 customers
    assert repeat_purchase_rate(orders, customer_col="cust") == pytest.approx(0.5)


def test_purchase_frequency_and_aov():
    assert purchase_frequency(1200, 300) == pytest.approx(4.0)
    assert average_order_value(60_000, 1200) == pytest.approx(50.0)


def test_customer_lifespan_mean_and_half_life():
    assert customer_lifespan(0.05) == pytest.approx(20.0)
    # -ln 2 / ln 0.95 = 0.693147 / 0.051293 = 13.5134
    assert customer_lifespan(0.05, median=True) == pytest.approx(13.5134, abs=1e-4)
    # discrete geometric median: smallest t with 1 - 0.95**t >= 0.5 is 14 = ceil(13.51)
    assert 1 - 0.95**14 >= 0.5 > 1 - 0.95**13
    assert customer_lifespan(0.5, median=True) == pytest.approx(1.0)
    assert customer_lifespan(1.0, median=True) == 0.0


def test_simple_clv_guide_example_is_1000_not_500():
    # $50 every three months (4 per year) for five years.
    assert simple_clv(4, 50, 5) == pytest.approx(1000.0)
    assert simple_clv(4, 50, 5, margin=0.3) == pytest.approx(300.0)


def test_simple_clv_discounted_end_of_period():
    # 4 * 50 * 0.3 = 60 a year, received at the end of years 1..5, discounted at 10 %.
    by_hand = sum(60 / 1.1**t for t in range(1, 6))  # 227.447...
    assert simple_clv(4, 50, 5, margin=0.3, discount_rate=0.10) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(227.4472, abs=1e-4)


def test_margin_multiple_clv_gupta_lehmann():
    # m r / (1 + i - r): 80 * 0.75 / 0.35 = 171.43; 80 * 0.8 / 0.3 = 213.33
    assert round(margin_multiple_clv(80, 0.75, 0.10), 2) == 171.43
    assert round(margin_multiple_clv(80, 0.80, 0.10), 2) == 213.33
    # paid now: m (1 + i) / (1 + i - r) = 88 / 0.35 = 251.43 = 80 + 171.43
    assert margin_multiple_clv(80, 0.75, 0.10, paid_now=True) == pytest.approx(88 / 0.35)


def test_acquisition_economics():
    assert cac(50_000, 400) == pytest.approx(125.0)
    assert cac_payback(125, 25) == pytest.approx(5.0)
    assert ltv_to_cac(375, 125) == pytest.approx(3.0)


def test_referral_rate_variants():
    assert referral_rate(30, 200) == pytest.approx(0.15)
    assert referral_rate(30, 1000, variant="per_customer") == pytest.approx(0.03)
    # per_customer may exceed 1 (viral coefficient); share_of_new may not
    assert referral_rate(300, 200, variant="per_customer") == pytest.approx(1.5)


def test_nps_point_estimate_se_and_adjusted_wald_interval():
    r = nps(250, 150, 100)
    assert isinstance(r, NPSResult)
    # p_P = 0.5, p_D = 0.2 -> NPS = 30 points
    assert r.estimate == pytest.approx(30.0)
    # plain SE = sqrt((0.5 + 0.2 - 0.3**2) / 500) = sqrt(0.00122) = 0.034928 -> 3.49 points
    assert round(r.se, 2) == 3.49
    # Adjusted Wald (Rocks 2016): P' = 250.75, D' = 100.75, n' = 503
    #   p' = 0.498509, d' = 0.200298, centre = 0.298211
    #   var' = 0.698807 - 0.298211**2 = 0.609877; se' = sqrt(0.609877 / 503) = 0.034821
    #   z = 1.959964 -> half-width 0.068248 -> (0.229963, 0.366458)
    assert r.lower == pytest.approx(22.9963, abs=1e-3)
    assert r.upper == pytest.approx(36.6458, abs=1e-3)
    # about 30 +- 6.8 but shifted towards 0 by the pseudo-observations
    assert r.upper - r.lower == pytest.approx(2 * 6.8248, abs=1e-3)
    assert (r.n, r.promoters, r.passives, r.detractors) == (500, 250, 150, 100)


def test_nps_interval_clipped_to_scale():
    r = nps(10, 0, 0)  # all promoters: adjusted upper bound would be 106
    assert r.estimate == 100.0 and r.upper == 100.0 and r.se == 0.0
    assert -100.0 <= r.lower < 100.0


def test_nps_from_scores_matches_counts():
    scores = [10] * 250 + [9] * 0 + [8] * 100 + [7] * 50 + [6] * 60 + [0] * 40
    assert nps_from_scores(scores) == nps(250, 150, 100)
    r = nps_from_scores(pd.Series([10, 9, 9, 8, 7, 6, 3, 10, 9, 5]))
    assert (r.promoters, r.passives, r.detractors, r.estimate) == (5, 2, 3, 20.0)


def test_csat_wilson_interval_by_hand():
    # 80 of 100 answers are 4 or 5; z = 1.959964
    #   centre = (0.8 + z^2/200) / (1 + z^2/100) = 0.819207 / 1.038415 = 0.788902
    #   half = z / 1.038415 * sqrt(0.0016 + z^2/40000) = 0.077731
    r = csat([5] * 50 + [4] * 30 + [3] * 12 + [2] * 5 + [1] * 3)
    assert isinstance(r, IntervalResult)
    assert r.estimate == pytest.approx(0.80)
    assert round(r.lower, 4) == 0.7112
    assert round(r.upper, 4) == 0.8666
    assert r.se == pytest.approx(0.04)
    assert r.n == 100


def test_csat_top_box_and_scale():
    # 7-point scale, top-three box: 5, 6, 7 count
    r = csat([7, 6, 5, 4, 3, 2, 1, 7], scale=7, top_box=3)
    assert r.estimate == pytest.approx(4 / 8)


def test_ces_t_interval_by_hand():
    # mean 5.75; sum of squared deviations 7.5, s^2 = 7.5/7, se = sqrt(7.5/7/8) = 0.365963
    # t(0.975, 7) = 2.364624 -> half-width 0.865364 -> (4.884636, 6.615364)
    r = ces([6, 7, 5, 6, 7, 4, 6, 5])
    assert isinstance(r, CESResult)
    assert r.estimate == pytest.approx(5.75)
    assert r.se == pytest.approx(0.365963, abs=1e-6)
    assert r.lower == pytest.approx(4.884636, abs=1e-5)
    assert r.upper == pytest.approx(6.615364, abs=1e-5)
    assert r.higher_is_easier and r.ease_estimate == r.estimate


def test_ces_lower_is_easier_reports_raw_mean_and_direction():
    r = ces([2, 1, 3, 2, 2], scale=5, higher_is_easier=False)
    assert r.estimate == pytest.approx(2.0)  # raw mean, not flipped
    assert r.ease_estimate == pytest.approx(4.0)  # 5 + 1 - 2
    assert "more effort" in r.direction
    assert r.lower < 2.0 < r.upper


def test_revenue_retention_nrr_grr():
    r = revenue_retention(100_000, 15_000, 5_000, 8_000)
    assert isinstance(r, RevenueRetention)
    assert r.nrr == pytest.approx(1.02)
    assert r.grr == pytest.approx(0.87)


def test_mrr_movements_hand_example():
    subs = pd.DataFrame({
        "customer_id": ["A", "B", "A", "C", "A", "B", "C"],
        "month": [1, 1, 2, 2, 3, 3, 3],
        "mrr": [100, 50, 120, 80, 120, 50, 60],
    })
    m = mrr_movements(subs)
    assert list(m.columns) == ["start", "new", "expansion", "contraction", "churn",
                               "reactivation", "end"]
    assert m.loc[1].tolist() == [0, 150, 0, 0, 0, 0, 150]
    # A +20 expansion, B churns 50, C new 80
    assert m.loc[2].tolist() == [150, 80, 20, 0, 50, 0, 200]
    # B reactivates 50, C contracts 20
    assert m.loc[3].tolist() == [200, 0, 0, 20, 0, 50, 230]


def test_mrr_movements_zero_mrr_row_is_not_paying_and_duplicates_sum():
    subs = pd.DataFrame({
        "cust": ["A", "A", "A", "A"],
        "m": [1, 1, 2, 3],
        "amount": [30.0, 20.0, 0.0, 40.0],  # two subscriptions in month 1, paused in 2
    })
    m = mrr_movements(subs, customer_col="cust", period_col="m", mrr_col="amount")
    assert m["end"].tolist() == [50, 0, 40]
    assert m.loc[2, "churn"] == 50 and m.loc[3, "reactivation"] == 40
    assert m.loc[3, "new"] == 0


def test_mrr_movements_period_dtype_fills_empty_months():
    subs = pd.DataFrame({
        "customer_id": ["a", "a", "b"],
        "month": pd.PeriodIndex(["2024-01", "2024-03", "2024-03"], freq="M"),
        "mrr": [10, 10, 5],
    })
    m = mrr_movements(subs)
    assert [str(p) for p in m.index] == ["2024-01", "2024-02", "2024-03"]
    assert m["churn"].tolist() == [0, 10, 0]
    assert m["reactivation"].tolist() == [0, 0, 10]
    assert m["new"].tolist() == [10, 0, 5]


def test_series_input_keeps_index():
    idx = pd.Index(["jan", "feb"], name="month")
    out = churn_rate(pd.Series([100, 200], index=idx), pd.Series([15, 10], index=idx))
    assert isinstance(out, pd.Series)
    assert out.index.equals(idx)
    assert out.tolist() == pytest.approx([0.15, 0.05])
    arr = retention_rate(np.array([100, 50]), np.array([105, 50]), 20)
    assert isinstance(arr, np.ndarray) and arr.tolist() == pytest.approx([0.85, 0.6])
    assert isinstance(churn_rate(100, 15), float)


# --------------------------------------------------------------------------------------
# errors: one test per kind of bad input
# --------------------------------------------------------------------------------------


def test_error_message_follows_template():
    with pytest.raises(DataError) as info:
        churn_rate(0, 0)
    msg = str(info.value)
    assert "start must be positive" in msg
    assert "First example: start = 0" in msg
    assert "How to fix:" in msg


def test_retention_start_zero_raises():
    with pytest.raises(DataError, match="start must be positive"):
        retention_rate(0, 5, 5)


def test_churn_start_zero_raises_not_inf():
    with pytest.raises(DataError, match="start must be positive"):
        churn_rate(0, 0)


def test_lost_greater_than_start_raises():
    with pytest.raises(DataError, match="lost exceeds start"):
        churn_rate(100, 150)


def test_retention_more_retained_than_start_raises():
    with pytest.raises(DataError, match="end - new exceeds start"):
        retention_rate(100, 130, 20)


def test_retention_new_exceeds_end_raises():
    with pytest.raises(DataError, match="new exceeds end"):
        retention_rate(100, 10, 20)


def test_negative_count_raises():
    with pytest.raises(DataError, match="lost is negative"):
        churn_rate(100, -1)


def test_nan_input_raises():
    with pytest.raises(DataError, match="missing"):
        churn_rate(float("nan"), 1)


def test_nan_in_series_names_the_row():
    s = pd.Series([100.0, np.nan], index=["jan", "feb"])
    with pytest.raises(DataError, match="row 'feb'") as info:
        churn_rate(s, pd.Series([1, 1], index=["jan", "feb"]))
    assert "Rows affected: 1" in str(info.value)


def test_text_input_raises():
    with pytest.raises(DataError, match="not numeric"):
        churn_rate("100", 5)
    with pytest.raises(DataError, match="not numeric"):
        churn_rate(pd.Series(["100", "200"]), 5)


def test_unequal_lengths_raise():
    with pytest.raises(DataError, match="different lengths"):
        churn_rate([100, 200], [1, 2, 3])


def test_probability_above_one_raises():
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        annualize_churn(5)  # 5 % given as 5


def test_probability_below_zero_raises():
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        periodic_churn(-0.1)


def test_zero_churn_lifespan_raises():
    with pytest.raises(DataError, match="infinite"):
        customer_lifespan(0)


def test_margin_multiple_infinite_raises():
    with pytest.raises(DataError, match="infinite"):
        margin_multiple_clv(80, 1.0, 0.0)


def test_simple_clv_margin_as_percent_raises():
    with pytest.raises(DataError, match="margin"):
        simple_clv(4, 50, 5, margin=30)


def test_cac_zero_new_customers_raises():
    with pytest.raises(DataError, match="new_customers must be positive"):
        cac(1000, 0)


def test_cac_payback_nonpositive_margin_raises():
    with pytest.raises(DataError, match="never paid back"):
        cac_payback(100, 0)


def test_ltv_to_cac_zero_cac_raises():
    with pytest.raises(DataError, match="cac must be positive"):
        ltv_to_cac(100, 0)


def test_referral_more_referred_than_new_raises():
    with pytest.raises(DataError, match="exceeds the number of new customers"):
        referral_rate(300, 200)


def test_referral_unknown_variant_raises():
    with pytest.raises(DataError, match="variant"):
        referral_rate(3, 200, variant="viral")


def test_repeat_purchase_rate_no_customers_raises():
    with pytest.raises(DataError, match="no customers"):
        repeat_purchase_rate([])


def test_repeat_purchase_rate_missing_column_raises():
    with pytest.raises(DataError, match="not found"):
        repeat_purchase_rate(pd.DataFrame({"id": [1, 2]}))


def test_nps_no_answers_raises():
    with pytest.raises(DataError, match="no answers"):
        nps(0, 0, 0)


def test_nps_negative_count_raises():
    with pytest.raises(DataError, match="detractors is negative"):
        nps(10, 5, -1)


def test_nps_score_out_of_scale_raises():
    with pytest.raises(DataError, match=r"outside the 0\.\.10 scale"):
        nps_from_scores([10, 9, 11])


def test_nps_fractional_score_raises():
    with pytest.raises(DataError, match="not whole numbers"):
        nps_from_scores([10, 7.5])


def test_csat_score_out_of_scale_raises():
    with pytest.raises(DataError, match=r"outside the 1\.\.5 scale"):
        csat([5, 4, 6])


def test_csat_missing_answer_raises():
    with pytest.raises(DataError, match="missing answers"):
        csat([5, 4, None])


def test_csat_bad_top_box_raises():
    with pytest.raises(DataError, match="top_box"):
        csat([5, 4], top_box=5)


def test_ces_score_out_of_scale_raises():
    with pytest.raises(DataError, match=r"outside the 1\.\.7 scale"):
        ces([0, 3, 4])


def test_ces_single_answer_raises():
    with pytest.raises(DataError, match="at least two answers"):
        ces([4])


def test_confidence_outside_unit_interval_raises():
    with pytest.raises(DataError, match="confidence"):
        nps(1, 1, 1, confidence=95)


def test_revenue_retention_negative_contraction_raises():
    with pytest.raises(DataError, match="contraction is negative") as info:
        revenue_retention(100_000, 15_000, -5_000, 8_000)
    assert "positive amounts" in str(info.value)


def test_revenue_retention_losses_exceed_start_raises():
    with pytest.raises(DataError, match="exceeds start_mrr"):
        revenue_retention(100, 0, 60, 50)


def test_mrr_negative_raises():
    subs = pd.DataFrame({"customer_id": ["a", "b"], "month": [1, 1], "mrr": [10, -5]})
    with pytest.raises(DataError, match="mrr is negative") as info:
        mrr_movements(subs)
    assert "row 1: mrr = -5" in str(info.value)


def test_mrr_missing_value_raises():
    subs = pd.DataFrame({"customer_id": ["a", "b"], "month": [1, 1], "mrr": [10, None]})
    with pytest.raises(DataError, match="missing or not numeric"):
        mrr_movements(subs)


def test_mrr_missing_column_raises():
    subs = pd.DataFrame({"customer_id": ["a"], "period": [1], "mrr": [10]})
    with pytest.raises(DataError, match=r"\['month'\] not found"):
        mrr_movements(subs)


def test_mrr_identity_check_catches_an_unbalanced_bridge():
    broken = pd.DataFrame({"start": [100.0], "new": [10.0], "expansion": [0.0],
                           "contraction": [0.0], "churn": [0.0], "reactivation": [0.0],
                           "end": [120.0]}, index=pd.Index([1], name="month"))
    with pytest.raises(AssertionError, match="does not balance"):
        _check_mrr_identity(broken)


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=10**6)


@given(start=counts, data=st.data())
def test_retention_equals_one_minus_churn_without_new_customers(start, data):
    lost = data.draw(st.integers(min_value=0, max_value=start))
    assert retention_rate(start, start - lost, 0) == pytest.approx(1 - churn_rate(start, lost))


@given(rate=st.floats(min_value=0.0, max_value=1.0), periods=st.sampled_from([2, 4, 12, 52]))
def test_annualize_periodic_round_trip(rate, periods):
    annual = annualize_churn(rate, periods_per_year=periods)
    assert 0.0 <= annual <= 1.0
    assert annual >= rate - 1e-12  # a year is at least as long as one period
    # invertible while the annual survival (1 - rate)**periods is representable
    assume((1 - rate) ** periods > 1e-6)
    assert periodic_churn(annual, periods_per_year=periods) == pytest.approx(rate, abs=1e-9)


@given(pro=st.integers(0, 2000), pas=st.integers(0, 2000), det=st.integers(0, 2000))
def test_nps_interval_is_bounded_and_sane(pro, pas, det):
    if pro + pas + det == 0:
        return
    r = nps(pro, pas, det)
    assert -100.0 <= r.lower <= r.upper <= 100.0
    assert -100.0 <= r.estimate <= 100.0
    assert not math.isnan(r.se)
    # the adjusted interval's centre is shrunk towards 0, never past it
    centre = 100 * ((pro + 0.75) - (det + 0.75)) / (pro + pas + det + 3)
    assert abs(centre) <= abs(r.estimate) + 1e-9


rows = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 5),
              st.one_of(st.just(0.0), st.floats(0.01, 1000.0, allow_nan=False))),
    min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(rows=rows)
def test_mrr_bridge_balances_on_random_tables(rows):
    subs = pd.DataFrame(rows, columns=["customer_id", "month", "mrr"])
    m = mrr_movements(subs)
    # identity, checked independently of the implementation's own check
    rebuilt = (m["start"] + m["new"] + m["expansion"] - m["contraction"] - m["churn"]
               + m["reactivation"])
    np.testing.assert_allclose(rebuilt, m["end"], rtol=1e-9, atol=1e-6)
    # end of each period is the total MRR billed in it, and the next period starts there
    totals = subs.groupby("month")["mrr"].sum().reindex(m.index)
    np.testing.assert_allclose(m["end"], totals, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(m["start"].iloc[1:], m["end"].iloc[:-1].to_numpy())
    assert m["start"].iloc[0] == 0
    assert (m[["new", "expansion", "contraction", "churn", "reactivation"]] >= 0).all().all()
    # each customer's first paying month is counted as new exactly once
    wide = subs.groupby(["customer_id", "month"])["mrr"].sum().unstack(fill_value=0.0)
    wide = wide.reindex(columns=m.index, fill_value=0.0)
    first_paid = sum(row[row > 0].iloc[0] for _, row in wide.iterrows() if (row > 0).any())
    assert m["new"].sum() == pytest.approx(first_paid)


def test_cohort_revenue_retention_by_hand_and_as_mrr_movements() -> None:
    from retention_kit.metrics import cohort_revenue_retention

    # A 100 -> 120 (expansion 20), B 50 -> 0 (churn 50), C 80 -> 60 (contraction 20),
    # E pays nothing at the start, D is new: neither counts. The months between don't matter.
    subs = pd.DataFrame({
        "customer_id": ["A", "B", "C", "E", "A", "B", "A", "C", "D", "E"],
        "month": pd.to_datetime(["2023-12-01"] * 4 + ["2024-06-01"] * 2 + ["2024-12-01"] * 4),
        "mrr": [100.0, 50.0, 80.0, 0.0, 10.0, 500.0, 120.0, 60.0, 30.0, 40.0]})
    start, end = pd.Timestamp("2023-12-01"), pd.Timestamp("2024-12-01")
    result = cohort_revenue_retention(subs, start=start, end=end)
    assert result.nrr == pytest.approx((230 + 20 - 20 - 50) / 230)
    assert result.grr == pytest.approx((230 - 20 - 50) / 230)
    # the same as the MRR bridge of the two months alone, without the new customers
    two = subs.loc[subs["month"].isin([start, end]) & subs["customer_id"].isin(list("ABC"))]
    moves = mrr_movements(two).iloc[-1]
    same = revenue_retention(moves["start"], moves["expansion"], moves["contraction"],
                             moves["churn"])
    assert (result.nrr, result.grr) == pytest.approx((same.nrr, same.grr))
    with pytest.raises(DataError, match="no MRR in period 2023-12-01, so no revenue"):
        cohort_revenue_retention(subs.assign(mrr=0.0), start=start, end=end)
    # a start the table does not have is said so, not "subscriptions is empty"
    with pytest.raises(DataError, match=r"no row of subscriptions is in period "
                       r"start=2023-11-01 \(its periods run from 2023-12-01 to 2024-12-01\)"):
        cohort_revenue_retention(subs, start=pd.Timestamp("2023-11-01"), end=end)
