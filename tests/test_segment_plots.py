"""Tests of the segmentation plots in retention_kit.plots: drawn artists, not pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from retention_kit.errors import DataError  # noqa: E402
from retention_kit.plots import (  # noqa: E402
    plot_cluster_profiles,
    plot_clv_concentration,
    plot_migration,
    plot_segment_grid,
    plot_segment_sizes,
)
from retention_kit.segments import (  # noqa: E402
    cluster_profiles,
    clv_tier_summary,
    concentration_curve,
    default_segment_rules,
    segment_grid,
    segment_migration,
    segment_summary,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def segmented() -> pd.DataFrame:
    names = ["Champions", "Loyal", "New"]
    return pd.DataFrame({
        "segment": pd.Categorical(["Champions", "Loyal", "Loyal", "New"], categories=names),
        "since_last": [1.0, 20, 30, 3], "purchases": [9, 5, 4, 1],
        "total_spend": [500.0, 200, 100, 200]}, index=list("abcd"))


def test_segment_sizes_bars_and_labels():
    summary = segment_summary(segmented())
    ax = plot_segment_sizes(summary)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [0.25, 0.5, 0.25, 0.5, 0.3, 0.2]  # customers first, then total_spend
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Champions", "Loyal", "New"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "share of customers", "share of total_spend"]
    assert "50%" in [t.get_text() for t in ax.texts]
    only = plot_segment_sizes(summary.drop(columns=["share_value"]))
    assert len(only.patches) == 3 and only.get_legend() is None
    with pytest.raises(DataError, match="plot_segment_sizes needs"):
        plot_segment_sizes(pd.DataFrame())


def test_segment_grid_cells_and_names():
    scores = pd.DataFrame({"R": [5, 5, 1, 3], "F": [5, 4, 1, 3]})
    ax = plot_segment_grid(segment_grid(scores=scores))
    mesh = ax.collections[0].get_array()
    assert mesh.size == 25
    names = list(dict.fromkeys(default_segment_rules()["segment"]))
    # cell (R=5, F=5) is row 4, column 4 of the mesh (R grows upwards)
    assert mesh.reshape(5, 5)[4, 4] == names.index("Champions")
    assert mesh.reshape(5, 5)[0, 0] == names.index("Hibernating/Lost")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 25
    assert texts.count("Champions\n25.0%") == 2 and "Need\nAttention\n25.0%" in texts
    assert texts.count("Champions\n0.0%") == 0 and "Hibernating/Lost\n25.0%" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3", "4", "5"]
    bare = plot_segment_grid(segment_grid(n_bins=10), annot=False)
    assert bare.collections[0].get_array().size == 100 and len(bare.texts) == 0


def test_cluster_profiles_heatmap():
    data = pd.DataFrame({"since_last": [10.0, 20, 300, 400, 50, 60],
                         "purchases": [5, 7, 1, 1, 2, 2], "p": [0.9, 0.8, 0.1, 0.2, 0.5, 0.5]})
    profiles = cluster_profiles(data, pd.Series([1, 1, 2, 2, 3, 3]), alive="p")
    ax = plot_cluster_profiles(profiles)
    assert ax.collections[0].get_array().size == 3 * 3
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["15", "6", "0.85", "350", "1", "0.15", "55", "2", "0.50"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1 (33%)", "2 (33%)", "3 (33%)"]
    # colour scaled within each column: the largest recency is 1, the smallest 0
    assert ax.collections[0].get_array().reshape(3, 3)[1, 0] == 1.0
    with pytest.raises(DataError, match="no median_"):
        plot_cluster_profiles(profiles[["customers"]])


def test_migration_heatmap_counts_and_shares():
    before = pd.Series(["Loyal", "Loyal", "New"], index=[1, 2, 3])
    after = pd.Series(["Loyal", "At Risk", "Loyal", "New"], index=[1, 2, 3, 4])
    counts = segment_migration(before, after)
    ax = plot_migration(counts)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == counts.size == 12
    assert texts[:4] == ["1", "1", "0", "0"]
    assert ax.get_ylabel() == "segment before" and "(customers)" in ax.get_title()
    shares = segment_migration(before, after, normalize=True)
    shares.attrs.update(first_end="2024-01-31", second_end="2024-06-30")
    ax = plot_migration(shares)
    texts = [t.get_text() for t in ax.texts]
    assert texts[:4] == ["50%", "50%", "0%", "0%"]
    assert ax.get_xlabel() == "segment at 2024-06-30"
    with pytest.raises(DataError):
        plot_migration(pd.DataFrame())


def test_concentration_curve_with_tier_markers():
    clv = pd.Series(np.arange(100, 0, -1.0))
    curve = concentration_curve(clv)
    ax = plot_clv_concentration(curve, tiers=clv_tier_summary(clv))
    assert np.allclose(ax.lines[0].get_ydata(), curve["share_value"])
    assert list(ax.lines[1].get_xdata()) == [0, 1]
    assert np.allclose(ax.lines[2].get_xdata(), [0.01, 0.05, 0.2])
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "top 1%: 2% of value" and len(labels) == 3
    assert "Gini 0.33" in ax.lines[0].get_label()
    assert len(plot_clv_concentration(curve).lines) == 2
    with pytest.raises(DataError):
        plot_clv_concentration(pd.DataFrame({"x": [1]}))
