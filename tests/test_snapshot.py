"""The snapshot detector: fires on simulated snapshots, stays quiet on tables with history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.diagnostics import Diagnostics, snapshot_findings
from retention_kit.errors import DataError
from retention_kit.models import SBG
from retention_kit.simulate import simulate_contract_snapshot

TRUTH = {"alpha": 0.7, "beta": 1.2}


@pytest.fixture(scope="module")
def telecom_like() -> pd.DataFrame:
    # Like the 7,043-customer telecom export of issue 16: current customers plus those who
    # left in the last month, tenure counted from the start of the records (72 months).
    return simulate_contract_snapshot(20_000, params={"alpha": 2.0, "beta": 30.0},
                                      n_periods=72, window=1, initial_share=0.1,
                                      random_state=16)


def by_check(found: Diagnostics) -> dict[str, object]:
    return {f.check: f for f in found}


def test_snapshot_fires_one_month_and_pile(telecom_like: pd.DataFrame) -> None:
    found = by_check(snapshot_findings(telecom_like, churn_col="churn_period"))
    month, pile, first = found["churn in one month"], found["tenure piled at a cap"], found[
        "churn at tenure 1"]
    assert month.verdict == "unreliable" and month.value == 1 / 72
    n_churn = int(telecom_like["churned"].sum())
    assert month.reason.startswith(f"All the {n_churn:,} churns fall in one calendar "
                                   "month (72): the table looks like a snapshot")
    assert month.fix.startswith("pass each customer's entry time") and "table with history" \
        in month.fix
    at_cap = int((telecom_like["duration"] == 72).sum())
    below = [(telecom_like["duration"] == 72 - k).sum() for k in range(1, 7)]
    assert pile.verdict == "caution"
    assert pile.value == pytest.approx(at_cap / np.mean(below), rel=1e-12)
    assert pile.value > 2
    assert first.verdict == "ok"


def test_churn_month_from_start_dates(telecom_like: pd.DataFrame) -> None:
    # start period + duration gives the churn period; as dates, calendar months.
    by_period = by_check(snapshot_findings(telecom_like, start_col="acquired"))
    assert by_period["churn in one month"].verdict == "unreliable"
    dated = telecom_like.assign(start=[(pd.Period("2020-01", "M") + int(a)).to_timestamp()
                                       for a in telecom_like["acquired"]])
    by_date = by_check(snapshot_findings(dated, start_col="start"))
    assert by_date["churn in one month"].verdict == "unreliable"
    assert "(2026-01)" in by_date["churn in one month"].reason


def test_tables_with_history_stay_quiet() -> None:
    # 40 tables with history (every customer followed from acquisition) of 500 to 5,000
    # customers over 24 to 72 months; the docstring's 2,000-table run found no false alarm
    # of the one-month and pile checks.
    rng = np.random.default_rng(5)
    for seed in range(40):
        alpha, mean = rng.uniform(0.5, 3), rng.uniform(0.02, 0.2)
        periods = int(rng.integers(24, 73))
        table = simulate_contract_snapshot(
            int(rng.integers(500, 5001)), params={"alpha": alpha, "beta": alpha * (1 - mean)
                                                   / mean},
            n_periods=periods, window=periods, random_state=seed)
        found = snapshot_findings(table, churn_col="churn_period")
        assert found.verdict == "ok", (seed, found.to_frame())


def test_snapshot_without_entry_is_biased_and_flagged() -> None:
    # The done-when of issue 16: the snapshot fitted without entry times gives biased
    # estimates and the detector fires; with them the truth is inside the intervals.
    snap = simulate_contract_snapshot(40_000, params=TRUTH, n_periods=72, window=12,
                                      random_state=0)
    found = snapshot_findings(snap, churn_col="churn_period")
    assert found.verdict == "unreliable"
    biased = SBG().fit(snap[["duration", "churned"]]).summary()
    assert (biased["upper"] < pd.Series(TRUTH)).all()
    fitted = SBG().fit(snap).summary()
    assert ((fitted["lower"] < pd.Series(TRUTH)) & (pd.Series(TRUTH) < fitted["upper"])).all()
    # Once the entry times are given, the signatures are expected: every finding is ok.
    assert snapshot_findings(snap, churn_col="churn_period", entry_col="entry").verdict == "ok"


def test_tenure_one_threshold_by_hand() -> None:
    # 30 churners: 15 at tenure 1 (50%) fires; 14 (47%) does not.
    def table(at_one: int) -> pd.DataFrame:
        duration = [1] * at_one + [3] * (30 - at_one) + list(range(1, 41))
        return pd.DataFrame({"duration": duration, "churned": [True] * 30 + [False] * 40})

    fired = by_check(snapshot_findings(table(15)))["churn at tenure 1"]
    assert fired.verdict == "caution" and fired.value == 0.5
    assert fired.reason.startswith("50% of the 30 churners left at the first renewal")
    assert by_check(snapshot_findings(table(14)))["churn at tenure 1"].verdict == "ok"
    # without churn or start dates there is no one-month check
    assert "churn in one month" not in by_check(snapshot_findings(table(14)))


def test_too_few_churners_never_fire() -> None:
    data = pd.DataFrame({"duration": [1] * 19 + [5] * 10, "churned": [True] * 19 + [False] * 10,
                         "month": 7})
    assert snapshot_findings(data, churn_col="month").verdict == "ok"


def test_errors(telecom_like: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="snapshot_findings takes a DataFrame, got list"):
        snapshot_findings([1, 2])
    with pytest.raises(DataError, match="did you mean 'churn_period'"):
        snapshot_findings(telecom_like, churn_col="churn_Period")
    before = telecom_like.copy()
    snapshot_findings(telecom_like, churn_col="churn_period", start_col="acquired")
    pd.testing.assert_frame_equal(telecom_like, before)
