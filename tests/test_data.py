"""Tests of retention_kit.data: summaries against the published CDNOW numbers, and errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention_kit.data import (
    calibration_holdout_split,
    prepare_transactions,
    rfm_segmentation_summary,
    rfm_summary,
    validate_summary,
)
from retention_kit.datasets import load_cdnow_summary, load_cdnow_transactions
from retention_kit.errors import DataError

CAL_END = "1997-09-30"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="module")
def weekly(sample: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(sample, amount_col="amount", observation_end=CAL_END, time_unit="W",
                       after_end="drop", duplicates="keep")


def small_log() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10", "2024-01-02",
                 "2024-02-01"],
        "amount": [10.0, 5.0, 20.0, 7.0, 3.0, 9.0],
    })


# ----------------------------------------------------------------- published CDNOW summary


def test_cdnow_weekly_summary_reproduces_published_table(weekly: pd.DataFrame) -> None:
    published = load_cdnow_summary()
    assert len(weekly) == 2357
    assert weekly.index.equals(published.index)
    assert (weekly["frequency"] == published["frequency"]).all()
    assert (weekly["recency"].round(2) == published["recency"]).all()
    assert (weekly["T"].round(2) == published["T"]).all()
    # The published spend is rounded half-up from cents; allow the last digit.
    assert np.abs(weekly["monetary_value"] - published["monetary_value"]).max() <= 0.0051


def test_cdnow_weekly_summary_published_moments(weekly: pd.DataFrame) -> None:
    assert int(weekly["frequency"].sum()) == 2457
    assert weekly.loc[1, ["frequency", "recency", "T"]].round(2).tolist() == [2, 30.43, 38.86]
    repeat = weekly.loc[weekly["frequency"] > 0, "monetary_value"]
    assert round(repeat.mean(), 2) == 35.08
    assert round(repeat.std(), 2) == 30.28
    assert round(repeat.median(), 2) == 27.50


def test_cdnow_master_shape() -> None:
    master = load_cdnow_transactions()
    assert master.shape == (69659, 4)
    assert master["customer_id"].nunique() == 23570
    assert str(master["date"].min().date()) == "1997-01-01"
    assert str(master["date"].max().date()) == "1998-06-30"


def test_matches_lifetimes_oracle_in_days(sample: pd.DataFrame) -> None:
    lifetimes_utils = pytest.importorskip("lifetimes.utils")
    ours = rfm_summary(sample, amount_col="amount", observation_end=CAL_END,
                       after_end="drop", duplicates="keep")
    theirs = lifetimes_utils.summary_data_from_transaction_data(
        sample, "customer_id", "date", monetary_value_col="amount",
        observation_period_end=CAL_END, freq="D")
    theirs.index = theirs.index.astype("int64")
    theirs = theirs.loc[ours.index]
    assert (ours["frequency"] == theirs["frequency"]).all()
    np.testing.assert_allclose(ours["recency"], theirs["recency"])
    np.testing.assert_allclose(ours["T"], theirs["T"])
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"])


# ----------------------------------------------------------------- definitions


def test_same_day_purchases_merge_and_repeat_spend_excludes_first() -> None:
    s = rfm_summary(small_log(), amount_col="amount", observation_end="2024-02-10")
    # a: 1 Jan (10 + 5 merged) and 15 Jan (20): one repeat purchase worth 20.
    assert s.loc["a"].tolist() == [1, 14.0, 40.0, 20.0]
    assert s.loc["b"].tolist() == [0, 0.0, 31.0, 0.0]
    assert s.loc["c"].tolist() == [1, 30.0, 39.0, 9.0]
    assert s["frequency"].dtype == np.int64
    assert s.attrs["time_unit"] == "D"


def test_merge_period_is_configurable() -> None:
    log = pd.DataFrame({"customer_id": [1, 1, 1], "date": ["2024-01-01", "2024-01-03",
                                                           "2024-01-20"]})
    assert rfm_summary(log, merge_period="D").loc[1, "frequency"] == 2
    assert rfm_summary(log, merge_period="W").loc[1, "frequency"] == 1


def test_weeks_are_exact_days_over_seven() -> None:
    days = rfm_summary(small_log(), observation_end="2024-02-10")
    weeks = rfm_summary(small_log(), observation_end="2024-02-10", time_unit="W")
    np.testing.assert_allclose(weeks["T"], days["T"] / 7)
    np.testing.assert_allclose(weeks["recency"], days["recency"] / 7)


def test_calendar_units_count_period_boundaries() -> None:
    log = pd.DataFrame({"customer_id": [1, 1, 2],
                        "date": ["2023-01-31", "2023-02-01", "2023-12-31"]})
    months = rfm_summary(log, observation_end="2024-01-01", time_unit="M")
    assert months.loc[1, ["recency", "T"]].tolist() == [1.0, 12.0]
    assert months.loc[2, "T"] == 1.0
    quarters = rfm_summary(log, observation_end="2024-01-01", time_unit="Q")
    assert quarters.loc[1, ["recency", "T"]].tolist() == [0.0, 4.0]
    assert quarters.loc[2, "T"] == 1.0
    years = rfm_summary(log, observation_end="2024-01-01", time_unit="Y")
    assert years.loc[1, ["recency", "T"]].tolist() == [0.0, 1.0]


def test_segmentation_summary_counts_every_purchase() -> None:
    s = rfm_segmentation_summary(small_log(), amount_col="amount", observation_end="2024-02-10")
    assert list(s.columns) == ["since_last", "purchases", "tenure", "total_spend", "mean_spend"]
    assert s.loc["a"].tolist() == [26.0, 2, 40.0, 35.0, 17.5]
    assert s.attrs["kind"] == "segmentation_summary"


def test_segmentation_summary_is_refused_by_model_validation() -> None:
    s = rfm_segmentation_summary(small_log(), amount_col="amount", observation_end="2024-02-10")
    with pytest.raises(DataError, match="segmentation summary"):
        validate_summary(s)


def test_calibration_part_equals_published_summary(sample: pd.DataFrame) -> None:
    split = calibration_holdout_split(sample, calibration_end=CAL_END, amount_col="amount",
                                      time_unit="W", duplicates="keep")
    published = load_cdnow_summary()
    assert (split["frequency"] == published["frequency"]).all()
    assert (split["recency"].round(2) == published["recency"]).all()
    assert (split["duration_holdout"] == 39.0).all()  # weeks 40-78 of the papers
    assert split.attrs["n_holdout_only_customers"] == 0
    assert (split["monetary_value_holdout"] > 0).sum() == (split["frequency_holdout"] > 0).sum()


def test_calibration_plus_holdout_counts_equal_full_window(sample: pd.DataFrame) -> None:
    split = calibration_holdout_split(sample, calibration_end=CAL_END, duplicates="keep")
    full = rfm_summary(sample, duplicates="keep")
    total = split["frequency"] + split["frequency_holdout"]
    assert (total == full.loc[split.index, "frequency"]).all()
    assert int(split["frequency_holdout"].sum()) == int(full["frequency"].sum()) - 2457


def test_holdout_only_customers_are_counted_not_kept() -> None:
    log = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-05", "2024-02-05"]})
    split = calibration_holdout_split(log, calibration_end="2024-01-31",
                                      observation_end="2024-02-29")
    assert split.index.tolist() == [1]
    assert split.attrs["n_holdout_only_customers"] == 1


def test_inputs_are_not_mutated(sample: pd.DataFrame) -> None:
    log = small_log()
    before = log.copy(deep=True)
    rfm_summary(log, amount_col="amount")
    rfm_segmentation_summary(log, amount_col="amount")
    calibration_holdout_split(log, calibration_end="2024-01-10", amount_col="amount")
    pd.testing.assert_frame_equal(log, before)


def test_timezone_aware_dates_are_refused_and_the_fix_keeps_local_wall_time() -> None:
    """One rule on every engine: aware dates are refused (pandas would keep each value's wall
    time, DuckDB would convert to its session zone); the fix in the message gives the days."""
    log = pd.DataFrame({"customer_id": [1, 1],
                        "date": pd.to_datetime(["2024-01-01 23:30", "2024-01-03 08:00"])
                        .tz_localize("Europe/Berlin")})
    with pytest.raises(DataError, match=r"timezone-aware.*Rows affected: 2.*tz_convert") as err:
        rfm_summary(log)
    assert "clean_transactions(log, {'timezone'" in err.value.fix
    fixed = log.assign(date=pd.to_datetime(log["date"], utc=True).dt.tz_convert("Europe/Berlin")
                       .dt.tz_localize(None))
    s = rfm_summary(fixed)
    assert s.loc[1, ["frequency", "recency"]].tolist() == [1, 2.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400),
                          st.floats(0, 500, allow_nan=False)), min_size=1, max_size=60))
def test_summary_invariants(rows: list[tuple[int, int, float]]) -> None:
    log = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    log["date"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(log["day"], unit="D")
    s = rfm_summary(log[["customer_id", "date", "amount"]], amount_col="amount",
                    observation_end="2024-12-31", duplicates="keep")
    assert (s["recency"] >= 0).all() and (s["recency"] <= s["T"]).all()
    distinct_days = log.groupby("customer_id")["day"].nunique()
    assert (s["frequency"] == distinct_days.loc[s.index] - 1).all()
    assert ((s["frequency"] == 0) == (s["recency"] == 0)).all()
    assert (s["monetary_value"] >= 0).all()
    validate_summary(s)


# ----------------------------------------------------------------- bad input, one test each


def test_error_template_has_all_parts() -> None:
    log = small_log().assign(amount=[10.0, -5.0, 20.0, 7.0, 3.0, 9.0])
    with pytest.raises(DataError) as info:
        rfm_summary(log, amount_col="amount")
    msg = str(info.value)
    assert "negative" in msg and "Rows affected: 1." in msg
    assert "First example: row 1: customer_id='a'" in msg and "-5.0" in msg
    assert "How to fix:" in msg and "refund" in msg
    assert isinstance(info.value, ValueError)


def test_missing_column_suggests_closest_name() -> None:
    log = small_log().rename(columns={"customer_id": "Customer_ID"})
    with pytest.raises(DataError, match=r"no column 'customer_id'.*did you mean 'Customer_ID'"):
        rfm_summary(log)


def test_misspelled_amount_column_suggests_closest_name() -> None:
    with pytest.raises(DataError, match=r"no column 'amout'.*did you mean 'amount'"):
        rfm_summary(small_log(), amount_col="amout")


def test_summary_passed_as_transactions() -> None:
    with pytest.raises(DataError, match=r"per-customer summary \(.*\), not a transaction log"):
        rfm_summary(load_cdnow_summary())


def test_transactions_passed_as_summary() -> None:
    with pytest.raises(DataError, match="looks like a transaction log"):
        validate_summary(small_log())


def test_unparseable_dates() -> None:
    log = small_log().assign(date=["2024-01-01", "2024-13-45", "2024-01-15", "soon",
                                   "2024-01-02", "2024-02-01"])
    with pytest.raises(DataError, match=r"cannot be parsed.*Rows affected: 2.*2024-13-45"):
        rfm_summary(log)


def test_missing_dates() -> None:
    log = small_log().assign(date=["2024-01-01", None, "2024-01-15", "2024-01-10",
                                   "2024-01-02", "2024-02-01"])
    with pytest.raises(DataError, match=r"no date.*Rows affected: 1"):
        rfm_summary(log)


def test_timezone_aware_mixed_with_naive_dates() -> None:
    log = pd.DataFrame({"customer_id": [1, 2],
                        "date": [pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02")]})
    with pytest.raises(DataError, match=r"are timezone-aware.*Rows affected: 1"):
        rfm_summary(log)


def test_timezone_aware_strings_mixed_with_naive_strings() -> None:
    log = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01T10:00:00+02:00",
                                                        "2024-01-02"]})
    with pytest.raises(DataError, match=r"are timezone-aware.*Rows affected: 1.*'2024-01-01T1"):
        rfm_summary(log)


def test_aware_observation_end_with_naive_dates() -> None:
    with pytest.raises(DataError, match="observation_end .* is timezone-aware"):
        rfm_summary(small_log(), observation_end=pd.Timestamp("2024-03-01", tz="UTC"))


def test_negative_amounts() -> None:
    log = small_log().assign(amount=[10.0, 5.0, -20.0, 7.0, -3.0, 9.0])
    with pytest.raises(DataError, match=r"negative \(refunds or returns\).*Rows affected: 2"):
        rfm_summary(log, amount_col="amount")


def test_non_numeric_amounts() -> None:
    log = small_log().astype({"amount": object})
    log.loc[3, "amount"] = "7,00 EUR"
    with pytest.raises(DataError, match=r"are not numbers.*7,00 EUR"):
        rfm_summary(log, amount_col="amount")


def test_duplicate_rows() -> None:
    log = pd.concat([small_log(), small_log().iloc[[2]]], ignore_index=True)
    with pytest.raises(DataError, match=r"identical in every column.*Rows affected: 1.*row 6"):
        rfm_summary(log, amount_col="amount")
    kept = rfm_summary(log, amount_col="amount", duplicates="keep")
    dropped = rfm_summary(log, amount_col="amount", duplicates="drop")
    assert kept.loc["a", "monetary_value"] == 40.0
    assert dropped.loc["a", "monetary_value"] == 20.0


def test_purchases_after_observation_end() -> None:
    with pytest.raises(DataError, match=r"after the observation end 2024-01-20.*Rows affected: 1"):
        rfm_summary(small_log(), observation_end="2024-01-20")
    s = rfm_summary(small_log(), observation_end="2024-01-20", after_end="drop")
    assert s.loc["c", "frequency"] == 0


def test_empty_input() -> None:
    with pytest.raises(DataError, match="empty"):
        rfm_summary(small_log().iloc[0:0])


def test_not_a_dataframe() -> None:
    with pytest.raises(DataError, match="must be a pandas DataFrame, got list"):
        rfm_summary([("a", "2024-01-01")])  # type: ignore[arg-type]


def test_missing_customer_ids() -> None:
    log = small_log().assign(customer_id=["a", None, "a", "b", "c", "c"])
    with pytest.raises(DataError, match="without a customer id"):
        rfm_summary(log)


def test_recency_greater_than_t() -> None:
    bad = pd.DataFrame({"frequency": [1, 2], "recency": [3.0, 9.0], "T": [5.0, 8.0]})
    with pytest.raises(DataError, match=re.escape(
            "recency is greater than T. Rows affected: 1. First example: row 1: "
            "frequency=2, recency=9.0, T=8.0.")):
        validate_summary(bad)


def test_negative_and_fractional_frequency() -> None:
    with pytest.raises(DataError, match="'frequency' has negative values"):
        validate_summary(pd.DataFrame({"frequency": [-1], "recency": [0.0], "T": [2.0]}))
    with pytest.raises(DataError, match="non-integer"):
        validate_summary(pd.DataFrame({"frequency": [1.5], "recency": [1.0], "T": [2.0]}))


def test_unknown_time_unit() -> None:
    with pytest.raises(DataError, match="time_unit='fortnight' is not supported"):
        rfm_summary(small_log(), time_unit="fortnight")  # type: ignore[arg-type]


def test_calibration_end_must_leave_a_holdout() -> None:
    with pytest.raises(DataError, match="is not before observation_end"):
        calibration_holdout_split(small_log(), calibration_end="2024-03-01")


def test_prepare_transactions_returns_clean_copy() -> None:
    clean, end = prepare_transactions(small_log(), amount_col="amount")
    assert list(clean.columns) == ["customer", "date", "amount"]
    assert str(end.date()) == "2024-02-01"
    assert clean["date"].dtype == "datetime64[ns]"
