"""Model diagnostics: computed in retention_kit.evaluation, drawn by retention_kit.plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from retention_kit.evaluation import (  # noqa: E402
    frequency_distribution,
    frequency_recency_matrix,
    holdout_by_frequency,
    holdout_evaluation,
    probability_alive_history,
    repeat_purchase_tracking,
)
from retention_kit.models import BGNBD  # noqa: E402
from retention_kit.plots import (  # noqa: E402
    plot_frequency_distribution,
    plot_frequency_recency_matrix,
    plot_holdout_by_frequency,
    plot_probability_alive_history,
    plot_survival_projection,
    plot_tracking,
)

CAL_END = "1997-09-30"  # the BG/NBD paper's calibration end (see conftest.py)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_frequency_distribution_counts_and_bars(cdnow_bgnbd: BGNBD,
                                                cdnow_split: pd.DataFrame) -> None:
    table = frequency_distribution(cdnow_bgnbd, cdnow_split)
    # FHL 2005 figure 2: 1,411 CDNOW customers made no repeat purchase in weeks 1-39.
    assert table["actual"].tolist() == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert table["expected"].sum() == pytest.approx(2357, rel=1e-9)
    assert table.loc["0", "expected"] == pytest.approx(1411, rel=0.01)
    ax = plot_frequency_distribution(table)
    heights = [p.get_height() for p in ax.patches]
    assert heights[:8] == table["actual"].tolist()
    np.testing.assert_allclose(heights[8:], table["expected"])


def test_holdout_by_frequency_groups_and_lines(cdnow_bgnbd: BGNBD,
                                               cdnow_split: pd.DataFrame) -> None:
    evaluation = holdout_evaluation(cdnow_bgnbd, cdnow_split)
    table = holdout_by_frequency(evaluation, cdnow_split)
    assert table["customers"].sum() == 2357 and list(table.index)[-1] == "7+"
    weighted = (table["actual"] * table["customers"]).sum()
    assert weighted == pytest.approx(1882)
    ax = plot_holdout_by_frequency(table)
    actual, predicted = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), table["actual"])
    np.testing.assert_allclose(predicted.get_ydata(), table["predicted"])


def test_tracking_plot_marks_calibration_end(cdnow_bgnbd: BGNBD, cdnow_log: pd.DataFrame) -> None:
    tracking = repeat_purchase_tracking(cdnow_bgnbd, cdnow_log, calibration_end=CAL_END,
                                     duplicates="keep")
    ax = plot_tracking(tracking)
    lines = ax.get_lines()
    assert len(lines) == 3
    assert lines[0].get_ydata()[-1] == 2457 + 1882
    assert lines[2].get_xdata()[0] == 39.5
    incremental = plot_tracking(tracking, cumulative=False)
    np.testing.assert_allclose(incremental.get_lines()[1].get_ydata(), tracking["expected"])


def test_matrix_heatmap_masks_impossible_cells(cdnow_bgnbd: BGNBD) -> None:
    matrix = frequency_recency_matrix(cdnow_bgnbd, T=39.0, max_frequency=10)
    ax = plot_frequency_recency_matrix(matrix)
    mesh = ax.collections[0]
    values = mesh.get_array()
    assert np.ma.count_masked(values) == int(matrix.isna().sum().sum())
    assert ax.get_ylabel().startswith("frequency")


def test_probability_alive_history_plot(cdnow_bgnbd: BGNBD) -> None:
    history = probability_alive_history(cdnow_bgnbd, [0, 2, 10, 12], T=39, step=1)
    ax = plot_probability_alive_history(history, purchases=[0, 2, 10, 12])
    assert len(ax.get_lines()) == 1 + 4
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history.to_numpy())


def test_survival_projection_plot() -> None:
    projection = pd.DataFrame({"actual": [1.0, 0.6, 0.45], "sBG": [1.0, 0.62, 0.44]},
                              index=[0, 1, 2])
    ax = plot_survival_projection(projection, calibration_end=1)
    assert [line.get_label() for line in ax.get_lines()] == ["actual", "sBG", "calibration end"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [1.0, 0.62, 0.44])
