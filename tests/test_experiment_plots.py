"""Tests of the strategy-evaluation plots in retention_kit.plots: drawn artists, not pixels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from retention_kit import experiments as ex  # noqa: E402
from retention_kit.errors import DataError  # noqa: E402
from retention_kit.plots import (  # noqa: E402
    plot_arm_comparison,
    plot_clv_vs_retention,
    plot_peeking,
    plot_roi_sensitivity,
    plot_uplift_curves,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ab_test() -> ex.RetentionTest:
    d = pd.DataFrame({"arm": ["control"] * 1000 + ["b"] * 1000 + ["c"] * 1000,
                      "y": [1] * 400 + [0] * 600 + [1] * 450 + [0] * 550 + [1] * 420
                      + [0] * 580})
    return ex.retention_test(d, outcome_col="y", reached_col=None)


def test_importing_plots_still_loads_no_plotting_library():
    code = ("import sys, retention_kit.plots, retention_kit.experiments; print(sorted(m for m in "
            "('matplotlib', 'seaborn', 'sklearn', 'statsmodels') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_arm_comparison_draws_one_interval_per_arm(ab_test):
    ax = plot_arm_comparison(ab_test, truth={"b": 0.05, "c": 0.0, "other": 1.0})
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    x, y = bars.lines[0].get_data()
    assert np.allclose(x, ab_test.comparisons["difference"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "c"]
    assert list(y) == [1.0, 0.0]  # first arm on top
    segments = bars.lines[2][0].get_segments()
    assert np.allclose([s[:, 0] for s in segments],
                       ab_test.comparisons[["ci_lower", "ci_upper"]].to_numpy())
    (truth,) = [c for c in ax.collections if c.get_gid() == "truth"]
    assert np.allclose(truth.get_offsets(), [[0.05, 1.0], [0.0, 0.0]])
    assert ax.get_xlabel() == "difference in y vs control"
    assert ax.get_title() == "Effect against control (95% intervals)"
    assert "%" in ax.xaxis.get_major_formatter()(0.05)


def test_arm_comparison_from_a_frame_and_bad_input():
    frame = pd.DataFrame({"difference": [2.0], "ci_lower": [1.0], "ci_upper": [3.0]},
                         index=["promo"])
    ax = plot_arm_comparison(frame, title="spend")
    assert ax.get_title() == "spend" and not any(c.get_gid() == "truth" for c in ax.collections)
    assert "%" not in ax.xaxis.get_major_formatter()(2.0)
    with pytest.raises(DataError, match="as an arm comparison"):
        plot_arm_comparison(pd.DataFrame({"x": [1]}))


def test_uplift_curves_model_and_random_line():
    curve = ex.qini_curve([0.3, 0.2, 0.1, 0.0], [True, False, True, False], [1, 0, 0, 1])
    ax = plot_uplift_curves(curve)
    assert [line.get_label() for line in ax.lines[:2]] == ["uplift model", "random targeting"]
    assert list(ax.lines[0].get_ydata()) == [0, 0.25, 0.25, 0.25, 0]
    assert list(ax.lines[1].get_ydata()) == [0, 0, 0, 0, 0]
    assert ax.get_title() == "Qini curve (area over random 0.1875)"
    up = plot_uplift_curves(curve, kind="uplift", label="T-learner")
    assert list(up.lines[0].get_ydata()) == [0, 0.25, 0.5, 0.375, 0]
    assert up.get_title().startswith("Uplift curve (area over random 0.2812")
    with pytest.raises(DataError, match="kind='gain'"):
        plot_uplift_curves(curve, kind="gain")
    with pytest.raises(DataError, match="as a qini curve"):
        plot_uplift_curves(pd.DataFrame({"fraction": [0, 1]}))


def test_roi_sensitivity_grid_cells():
    grid = ex.roi_sensitivity([0.0, 0.02, 0.04], [2, 4], n_treated=10_000,
                              margin_per_period=100, horizon_periods=2, discount_rate=0.10,
                              retention_rate=0.8)
    ax = plot_roi_sensitivity(grid)
    (image,) = ax.images
    assert np.allclose(image.get_array(), grid.to_numpy())
    assert image.norm.vmin == -image.norm.vmax  # 0 (break-even) is the centre colour
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 6 and texts[0] == "-20,000"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["+0.0 pts", "+2.0 pts", "+4.0 pts"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2.00", "4.00"]
    assert len(plot_roi_sensitivity(grid, annot=False).texts) == 0
    with pytest.raises(DataError):
        plot_roi_sensitivity(pd.DataFrame())


def test_clv_vs_retention_curve_and_highlights():
    table = ex.clv_by_retention(80, 0.10, np.linspace(0.5, 0.9, 9))
    ax = plot_clv_vs_retention(table, highlight=[0.75, 0.80])
    assert np.allclose(ax.lines[0].get_ydata(), table["clv"])
    (points,) = [c for c in ax.collections if c.get_gid() == "highlight"]
    assert np.allclose(points.get_offsets()[:, 0], [0.75, 0.80])
    assert [t.get_text() for t in ax.texts] == ["75%: $171.43", "80%: $213.33"]
    assert ax.get_ylabel() == "CLV ($)"
    assert len(plot_clv_vs_retention(table).texts) == 0
    with pytest.raises(DataError):
        plot_clv_vs_retention(pd.DataFrame({"clv": [1.0]}))


def test_peeking_bars():
    res = ex.peeking_simulation(n_per_arm=2000, n_looks=5, n_simulations=500, random_state=1)
    ax = plot_peeking(res)
    assert [b.get_height() for b in ax.patches] == res.by_look["stopped"].tolist()
    assert ax.lines[0].get_ydata()[0] == 0.05
    with pytest.raises(DataError):
        plot_peeking(object())
