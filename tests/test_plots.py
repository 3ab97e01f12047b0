"""Tests of retention_kit.plots: the drawn artists, not pixels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from retention_kit.cohorts import cohort_table, retention_curve, survival  # noqa: E402
from retention_kit.datasets import load_cdnow_transactions, load_sbg_cohorts  # noqa: E402
from retention_kit.errors import DataError  # noqa: E402
from retention_kit.plots import (  # noqa: E402
    plot_cohort_heatmap,
    plot_metric_bars,
    plot_retention_curves,
    plot_survival,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:lifelines.*")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return cohort_table(load_cdnow_transactions(sample=True), duplicates="keep")


def test_import_does_not_load_plotting_or_lifelines():
    code = ("import sys, retention_kit.cohorts, retention_kit.plots; "
            "print(sorted(m for m in ('matplotlib', 'seaborn', 'lifelines') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_heatmap_cells_masked_and_annotated(table):
    ax = plot_cohort_heatmap(table)
    mesh = ax.collections[0].get_array()
    assert mesh.size == table.size == 3 * 18
    assert np.array_equal(np.ma.getmaskarray(mesh).ravel(), table.isna().to_numpy().ravel())
    assert np.ma.count_masked(mesh) == 3  # Feb misses 1 period, March 2
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == table.notna().sum().sum()
    assert texts[:2] == ["100%", f"{table.iloc[0, 1]:.0%}"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1997-01", "1997-02", "1997-03"]
    assert ax.get_title() == "Cohort retention (exact)"
    assert ax.get_xlabel() == "periods since acquisition (M)"


def test_heatmap_counts_format_and_given_axes(table):
    counts = cohort_table(load_cdnow_transactions(sample=True), duplicates="keep",
                          relative=False)
    fig, ax = plt.subplots()
    out = plot_cohort_heatmap(counts, ax=ax, title="counts", annot=True)
    assert out is ax and ax.get_title() == "counts"
    assert ax.texts[0].get_text() == f"{int(counts.iloc[0, 0]):,}"
    assert not any(t.get_text() == "nan" for t in ax.texts)
    with pytest.raises(DataError):
        plot_cohort_heatmap(pd.DataFrame())


def test_retention_curves_one_line_per_cohort(table):
    ax = plot_retention_curves(table)
    assert len(ax.lines) == 3
    assert [line.get_label() for line in ax.lines] == ["1997-01", "1997-02", "1997-03"]
    y = ax.lines[2].get_ydata()
    assert np.allclose(y[:16], table.iloc[2, :16]) and np.isnan(y[16:]).all()


def test_average_curve_with_at_risk(table):
    curve = retention_curve(table)
    ax = plot_retention_curves(curve, max_labels=6)
    assert len(ax.lines) == 1
    assert np.allclose(ax.lines[0].get_ydata(), curve["retention"])
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "n=2,357" and len(labels) == 6  # every third of 18 points
    assert len(plot_retention_curves(curve, at_risk=False).texts) == 0


def test_curves_from_mapping_of_series():
    curves = {"A": pd.Series([1.0, 0.5, 0.4]), "B": pd.Series([1.0, 0.3])}
    ax = plot_retention_curves(curves, title="two")
    assert [line.get_label() for line in ax.lines] == ["A", "B"]
    assert list(ax.lines[1].get_ydata()) == [1.0, 0.3]
    assert ax.get_title() == "two"
    with pytest.raises(DataError):
        plot_retention_curves([0.1, 0.2])


def test_survival_plot():
    res = survival(load_sbg_cohorts().customers, group_col="cohort", time_unit="Y")
    ax = plot_survival(res)
    assert [line.get_label() for line in ax.lines] == ["high_end", "regular"]
    assert len(ax.collections) == 2  # one confidence band per group
    assert "log-rank p" in ax.get_title() and ax.get_xlabel() == "time as a customer (Y)"
    at_risk = [t.get_text() for t in ax.texts if t.get_gid() == "at_risk"]
    n_ticks = len([t for t in ax.get_xticks() if 0 <= t <= ax.get_xlim()[1]])
    assert len(at_risk) == 2 * n_ticks
    assert at_risk[0] == "1,000"  # everyone at risk at time 0
    bare = plot_survival(res, ci=False, at_risk=False)
    assert len(bare.collections) == 0 and len(bare.texts) == 0
    with pytest.raises(DataError):
        plot_survival(pd.DataFrame())


def test_survival_plot_at_risk_by_hand():
    d = pd.DataFrame({"duration": [1, 2, 2, 3, 4, 5],
                      "churned": [True, True, False, True, False, True]})
    ax = plot_survival(survival(d))
    ticks = [t for t in ax.get_xticks() if 0 <= t <= ax.get_xlim()[1]]
    shown = {float(tick): t.get_text() for tick, t in zip(
        ticks, [t for t in ax.texts if t.get_gid() == "at_risk"], strict=True)}
    # at risk at t = customers with duration >= t
    assert shown == {0.0: "6", 1.0: "6", 2.0: "5", 3.0: "3", 4.0: "2", 5.0: "1"}


def test_metric_bars_heights_and_intervals():
    values = {"NPS": 32.0, "CSAT": 78.5, "CES": 5.1}
    intervals = {"NPS": (25.0, 39.0), "CSAT": (74.0, 83.0), "CES": (4.8, 5.4)}
    ax = plot_metric_bars(values, intervals=intervals, title="survey", ylabel="score")
    bars = ax.patches
    assert [b.get_height() for b in bars] == [32.0, 78.5, 5.1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["NPS", "CSAT", "CES"]
    assert ax.get_title() == "survey" and ax.get_ylabel() == "score"
    from matplotlib.container import BarContainer

    (container,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    segments = container.errorbar.lines[2][0].get_segments()
    assert [tuple(s[:, 1]) for s in segments] == [(25.0, 39.0), (74.0, 83.0), (4.8, 5.4)]
    assert [t.get_text() for t in ax.texts] == ["32", "78.5", "5.1"]


def test_metric_bars_series_and_errors():
    s = pd.Series([0.4, -0.1], index=["retention", "change"])
    ax = plot_metric_bars(s, fmt="")
    assert [b.get_height() for b in ax.patches] == [0.4, -0.1] and not ax.texts
    frame = pd.DataFrame({"lower": [0.3, -0.2], "upper": [0.5, 0.0]}, index=s.index)
    assert len(plot_metric_bars(s, intervals=frame).patches) == 2
    with pytest.raises(DataError, match="does not contain its value"):
        plot_metric_bars({"NPS": 32.0}, intervals={"NPS": (0.0, 5.0)})
    with pytest.raises(DataError, match="no bounds"):
        plot_metric_bars({"NPS": 32.0, "CSAT": 1.0}, intervals={"NPS": (0.0, 50.0)})
    with pytest.raises(DataError, match="no values"):
        plot_metric_bars({})
