"""Holdout validation and diagnostic computations on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.errors import DataError
from retention_kit.evaluation import (
    compare_models,
    frequency_recency_matrix,
    holdout_evaluation,
    probability_alive_history,
    repeat_purchase_tracking,
)
from retention_kit.models import BGNBD, MBGNBD

CAL_END = "1997-09-30"  # the BG/NBD paper's calibration end (see conftest.py)


def test_holdout_errors_are_consistent(cdnow_bgnbd: BGNBD, cdnow_split: pd.DataFrame) -> None:
    result = holdout_evaluation(cdnow_bgnbd, cdnow_split)
    m = result.metrics
    c = result.customers
    assert m["actual_total"] == cdnow_split["frequency_holdout"].sum() == 1882
    np.testing.assert_allclose(c["predicted"], cdnow_bgnbd.expected_purchases(cdnow_split, 39.0))
    assert m["mae"] == pytest.approx(c["error"].abs().mean())
    assert abs(m["bias"]) <= m["mae"] <= m["rmse"]
    assert m["tracking_error"] == pytest.approx(m["predicted_total"] / 1882 - 1)


def test_compare_models_ranks_by_information_criteria(cdnow_split: pd.DataFrame,
                                                      cdnow_bgnbd: BGNBD) -> None:
    models = {"BG/NBD": cdnow_bgnbd, "MBG/NBD": MBGNBD().fit(cdnow_split)}
    table = compare_models(models, cdnow_split)
    assert list(table.index) == ["BG/NBD", "MBG/NBD"]
    assert table.loc["BG/NBD", "aic"] == pytest.approx(8 - 2 * cdnow_bgnbd.loglik_)
    assert table.loc["BG/NBD", "bic"] == pytest.approx(4 * np.log(2357) - 2 * cdnow_bgnbd.loglik_)
    assert (table["actual_total"] == 1882).all()


def test_tracking_reproduces_the_calibration_totals(cdnow_bgnbd: BGNBD, cdnow_log: pd.DataFrame,
                                                    cdnow_split: pd.DataFrame) -> None:
    track = repeat_purchase_tracking(cdnow_bgnbd, cdnow_log, calibration_end=CAL_END,
                                     duplicates="keep")
    assert len(track) == 78 and track["calibration"].sum() == 39
    # 2,457 repeat purchases in weeks 1-39 (the published total), 1,882 in weeks 40-78.
    assert track.loc[track["calibration"], "actual"].sum() == 2457
    assert track["actual"].sum() == 2457 + 1882
    # The cdnow_bgnbd's expected calibration total is sum_i E[X(T_i)] over the customers.
    expected = sum(cdnow_bgnbd.expected_purchases_new(T) for T in cdnow_split["T"])
    assert track.loc[39, "expected_cumulative"] == pytest.approx(expected, rel=1e-9)
    assert (np.diff(track["expected_cumulative"]) > 0).all()


def test_frequency_recency_matrix(cdnow_bgnbd: BGNBD) -> None:
    grid = frequency_recency_matrix(cdnow_bgnbd, T=39.0, max_frequency=5)
    assert grid.shape == (6, 40)
    assert grid.loc[0, 0.0] == 1.0 and np.isnan(grid.loc[1, 0.0])
    # More recent last purchase, more likely alive; more purchases at the same recency,
    # more evidence of death if it was long ago.
    assert (np.diff(grid.loc[3].dropna().to_numpy()) > 0).all()
    expected = frequency_recency_matrix(cdnow_bgnbd, T=39.0, max_frequency=5, kind="expected", t=10)
    row = pd.DataFrame({"frequency": [3], "recency": [20.0], "T": [39.0]})
    assert expected.loc[3, 20.0] == pytest.approx(cdnow_bgnbd.expected_purchases(row, 10).iloc[0])


def test_probability_alive_history_jumps_at_purchases(cdnow_bgnbd: BGNBD) -> None:
    history = probability_alive_history(cdnow_bgnbd, [0, 2, 10, 12], T=39, step=1)
    assert history.loc[12.0] > history.loc[11.0]
    assert (np.diff(history.loc[13.0:].to_numpy()) < 0).all()
    with pytest.raises(DataError, match="must start at 0"):
        probability_alive_history(cdnow_bgnbd, [1, 2], T=39)


def test_split_is_required(cdnow_bgnbd: BGNBD, cdnow_split: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no holdout columns"):
        holdout_evaluation(cdnow_bgnbd, cdnow_split[["frequency", "recency", "T"]])


def test_duration_holdout_evaluation_by_hand() -> None:
    from retention_kit.evaluation import duration_holdout_evaluation

    class Halving:  # S(t) = 0.5^t
        def survival(self, t):
            return 0.5 ** np.asarray(t, dtype=float)

    # a and b are active at the calibration end (c has left); two periods later a
    # still pays and b has left. Each had probability 0.25 to still pay.
    cal = pd.DataFrame({"duration": [2, 1, 4], "churned": [False, False, True]},
                       index=["a", "b", "c"])
    final = pd.DataFrame({"duration": [4, 2, 4], "churned": [False, True, True]},
                         index=["a", "b", "c"])
    result = duration_holdout_evaluation(Halving(), cal, final, periods=2)
    assert result.customers["actual"].tolist() == [1.0, 0.0]
    assert result.customers["predicted"].tolist() == [0.25, 0.25]
    m = result.metrics
    assert (m["actual_total"], m["predicted_total"]) == (1.0, 0.5)
    assert m["tracking_error"] == pytest.approx(-0.5)
    assert m["mae"] == pytest.approx(0.5) and m["bias"] == pytest.approx(-0.25)
    with pytest.raises(DataError, match="missing from the final durations"):
        duration_holdout_evaluation(Halving(), cal, final.drop(index="b"), periods=2)
