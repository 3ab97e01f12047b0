"""Tests of plots.plot_mrr_bridge and plots.plot_trends: the drawn artists, not pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from retention_kit.datasets import data_dir  # noqa: E402
from retention_kit.errors import DataError  # noqa: E402
from retention_kit.metrics import mrr_movements  # noqa: E402
from retention_kit.plots import MIN_FONT_SIZE, plot_mrr_bridge, plot_trends  # noqa: E402
from retention_kit.reports import load_client, shop_trends  # noqa: E402

DEMO = data_dir() / "demo"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax):
    return [t for t in ax.texts if t.get_gid() == "amount"]


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _bridge(client: str) -> pd.DataFrame:
    subs = load_client(DEMO / client).subscriptions
    return mrr_movements(subs.assign(month=subs["month"].dt.to_period("M")))


def test_bridge_by_hand() -> None:
    # mrr_movements' docstring example, months 2 and 3: 150 -> 230
    m = pd.DataFrame({"start": [150.0, 200.0], "new": [80.0, 0.0], "expansion": [20.0, 0.0],
                      "contraction": [0.0, 20.0], "churn": [50.0, 0.0],
                      "reactivation": [0.0, 50.0], "end": [200.0, 230.0]},
                     index=pd.period_range("2024-02", periods=2, freq="M"))
    ax = plot_mrr_bridge(m, currency="EUR")
    bars = ax.patches
    assert [b.get_height() for b in bars] == [150.0, 80.0, 20.0, 50.0, -20.0, -50.0, 230.0]
    assert [b.get_y() for b in bars] == [0.0, 150.0, 230.0, 250.0, 300.0, 280.0, 0.0]
    assert [t.get_text() for t in _texts(ax)] == [
        "€150.00", "+€80.00", "+€20.00", "+€50.00", "-€20.00", "-€50.00", "€230.00"]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["start\n(2024-01)", "new", "expansion", "reactivation", "contraction",
                     "churn", "end\n(2024-03)"]
    assert ax.get_title() == "MRR bridge, 2024-02 to 2024-03"
    # every bar's label sits above the bar
    for bar, text in zip(bars, _texts(ax), strict=True):
        assert text.xy[1] == pytest.approx(max(bar.get_y(), bar.get_y() + bar.get_height()))


@pytest.mark.parametrize("client", ["subscription_box", "b2b_saas"])
def test_bridge_identity_holds_in_the_drawn_bars(client: str) -> None:
    m = _bridge(client).iloc[-12:]
    ax = plot_mrr_bridge(m, currency="GBP")
    bars = ax.patches
    start, *moves, end = (b.get_height() for b in bars)
    assert start == m["start"].iloc[0] and end == m["end"].iloc[-1]
    assert start + sum(moves) == pytest.approx(end, rel=1e-12)
    # each floating bar starts where the bars before it reached
    level = start
    for bar, move in zip(bars[1:-1], moves, strict=True):
        assert bar.get_y() == pytest.approx(level)
        level += move
    assert moves[:3] == pytest.approx([m["new"].sum(), m["expansion"].sum(),
                                       m["reactivation"].sum()])
    assert moves[3:] == pytest.approx([-m["contraction"].sum(), -m["churn"].sum()])


def test_bridge_labels_are_legible_and_do_not_overlap() -> None:
    ax = plot_mrr_bridge(_bridge("subscription_box").iloc[-12:], currency="GBP")
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = _texts(ax) + list(ax.get_xticklabels()) + list(ax.get_yticklabels())
    assert min(t.get_fontsize() for t in texts) >= MIN_FONT_SIZE
    boxes = [t.get_window_extent(renderer) for t in _texts(ax)]
    assert not any(_boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    inside = ax.get_window_extent(renderer)
    assert all(b.y1 <= inside.y1 for b in boxes)  # headroom: labels inside the axes
    assert [t.get_text() for t in _texts(ax)][0] == "£22,862"  # MRR of Dec 2023


def test_bridge_of_datetime_months_names_the_months() -> None:
    subs = load_client(DEMO / "subscription_box").subscriptions
    ax = plot_mrr_bridge(mrr_movements(subs).iloc[-12:])  # month as first-day datetimes
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert (ticks[0], ticks[-1]) == ("start\n(2023-12)", "end\n(2024-12)")
    assert ax.get_title() == "MRR bridge, 2024-01 to 2024-12"


def test_bridge_refuses_rows_that_are_not_one_bridge() -> None:
    m = _bridge("subscription_box")
    with pytest.raises(DataError, match="start \\+ movements != end"):
        plot_mrr_bridge(m.iloc[[-12, -1]])
    with pytest.raises(DataError, match="mrr_movements"):
        plot_mrr_bridge(m.drop(columns="churn"))


def test_trends_panels_last_point_and_formats() -> None:
    t = shop_trends(load_client(DEMO / "retailer"))
    axes = plot_trends(t, title="Trends")
    assert len(axes) == 6
    assert [a.get_title() for a in axes][:2] == ["Active customers (at the period's end)",
                                                "Retention (of the previous period's active)"]
    for a, col in zip(axes, t.columns, strict=True):
        y = a.lines[0].get_ydata()
        assert np.allclose(y, t[col].to_numpy(dtype=float), equal_nan=True)
        (last,) = [line for line in a.lines if line.get_gid() == "last"]
        assert last.get_ydata()[0] == t[col].iloc[-1]
    labels = [[x.get_text() for x in a.texts if x.get_gid() == "last_value"] for a in axes]
    assert labels == [["1,489"], ["89.4%"], ["10.6%"], ["€21,302"], ["541"], ["0"]]
    fig = axes[0].figure
    fig.canvas.draw()
    assert fig.get_suptitle() == "Trends"
    assert axes[2].yaxis.get_major_formatter()(0.1, 0) == "10%"
    assert axes[3].yaxis.get_major_formatter()(25000.0, 0) == "€25k"
    every = [x for a in axes for x in [*a.texts, *a.get_xticklabels(), *a.get_yticklabels()]]
    assert min(x.get_fontsize() for x in every) >= MIN_FONT_SIZE
    # missing (not judged) periods are gaps, not zeros
    assert np.isnan(axes[0].lines[0].get_ydata()[:5]).all()


def test_trends_columns_kinds_axes_and_errors() -> None:
    t = pd.DataFrame({"mrr": [10.0, 12.0], "logo churn": [0.02, 0.03]},
                     index=pd.to_datetime(["2024-01-01", "2024-02-01"]))
    fig, (a1, a2) = plt.subplots(1, 2)
    out = plot_trends(t, columns=["logo churn", "mrr"], kinds={"logo churn": "percent"},
                      axes=[a1, a2], currency="USD")
    assert out[0] is a1 and out[1] is a2
    assert [x.get_text() for x in a1.texts] == ["3.0%"]
    assert [x.get_text() for x in a2.texts] == ["$12.00"]
    with pytest.raises(DataError, match="columns not in the table"):
        plot_trends(t, columns=["nope"])
    with pytest.raises(DataError, match="unknown kind"):
        plot_trends(t, kinds={"mrr": "euros"})
    with pytest.raises(DataError, match="2 axes given for 1 columns"):
        plot_trends(t, columns=["mrr"], axes=[a1, a2])
    with pytest.raises(DataError, match="not indexed by period"):
        plot_trends(t.reset_index(drop=True))


def test_trends_of_a_flat_zero_series_and_a_single_axes() -> None:
    t = pd.DataFrame({"new_customers": [0, 0, 0]},
                     index=pd.period_range("2024-01", periods=3, freq="M"))
    fig, ax = plt.subplots()
    (out,) = plot_trends(t, ax=ax)
    assert out is ax and [x.get_text() for x in ax.texts] == ["0"]
    low, high = ax.get_ylim()
    assert low < 0 < high and high == pytest.approx(1.0)
