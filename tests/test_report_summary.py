"""The shop report's executive summary, its one time unit, and its sections' numbers.

Unit tests on the demo shops (no notebook run): every number a summary finding quotes is
the number of the section it links to, an unreliable forecast gives no money, the cohort
heatmap is monthly like every rate, and the summary's links are the ids nbconvert gives the
notebook's headings. The rendered report is checked by the batch tests in test_reports.py.
"""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from retention_kit import cohorts, reports
from retention_kit.datasets import data_dir
from retention_kit.reports import format_money
from retention_kit.reports.settings import check_parameters

NOTEBOOK = reports.REPORT_NOTEBOOK
#: One demo shop per verdict: ok, caution, unreliable.
SHOPS = {"retailer": "ok", "till_export": "caution", "seasonal_shop": "unreliable"}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@pytest.fixture(scope="module")
def sections() -> dict:
    """The report's numbers for each demo shop, computed as the notebook's first cell does."""
    out = {}
    for cid in SHOPS:
        client = reports.load_client(data_dir() / "demo" / cid)
        settings = check_parameters(client_id=cid, forecast_months=6)
        retention = reports.period_retention(
            client, period="M", n_periods=reports.window_periods(client, "M"),
            inactivity_days=settings.inactivity_days)
        kpis = reports.headline_kpis(client, retention=retention,
                                     inactivity_days=settings.inactivity_days)
        trends = reports.shop_trends(client, "M", retention=retention,
                                     inactivity_days=settings.inactivity_days)
        forecast = reports.forecast_clv(client, horizon_months=6, n_draws=40)
        tiers = reports.tier_table(forecast)
        segment_view = reports.segment_table(client, forecast)
        value = reports.churn_value(client, retention.iloc[-12:], margin=settings.margin,
                                    discount_rate=settings.period_discount_rate)
        currency = str(client.info.get("currency") or "")
        summary = reports.executive_summary(trends, segment_view, forecast, tiers, value,
                                            currency=currency, period="M")
        out[cid] = dict(client=client, kpis=kpis, trends=trends, forecast=forecast,
                        tiers=tiers, segments=segment_view, value=value, summary=summary,
                        currency=currency)
    return out


def test_the_demo_shops_cover_every_verdict(sections: dict) -> None:
    assert {cid: s["forecast"].verdict for cid, s in sections.items()} == SHOPS


@pytest.mark.parametrize("cid", list(SHOPS))
def test_every_summary_number_is_its_sections_number(sections: dict, cid: str) -> None:
    s = sections[cid]
    points = {p.section: p for p in s["summary"]}
    assert 3 <= len(s["summary"]) <= 5
    assert [p.section for p in s["summary"]] == ["trends", "segments", "forecast",
                                                 "churn_value"]
    # the biggest movement: the trends' last churn is the headline churn
    trend = points["trends"]
    assert trend.numbers["churn"] == pytest.approx(s["kpis"].churn, abs=0)
    assert trend.text == reports.trend_sentence(s["trends"], "M")
    assert f"to {_pct(s['kpis'].churn)} a month" in trend.text or (
        f"stayed at {_pct(s['kpis'].churn)}" in trend.text)
    # the value at risk: the at-risk segment with the most past spend, as the table has it
    seg = s["segments"]
    risky = seg.loc[[n for n in ("Can't Lose Them", "At Risk", "About to Sleep",
                                 "Need Attention") if n in seg.index]]
    name = risky["share_spend"].idxmax()
    at_risk = points["segments"]
    assert at_risk.text.startswith(f"'{name}' holds the most value at risk: "
                                   f"{int(seg.loc[name, 'customers']):,} customers "
                                   f"({_pct(seg.loc[name, 'share_customers'])}) who brought "
                                   f"{_pct(seg.loc[name, 'share_spend'])} of past spending")
    assert at_risk.numbers["share_spend"] == seg.loc[name, "share_spend"]
    # the churn cut: the churn-value table's first cut, in money
    value = s["value"]
    action = points["churn_value"]
    assert action.numbers["total_gain"] == value.iloc[1]["total_gain"]
    assert action.numbers["total_gain_largest"] == value.iloc[-1]["total_gain"]
    assert format_money(value.iloc[1]["total_gain"], s["currency"]) in action.text
    assert f"from {_pct(value.iloc[0]['churn_rate'])} to {_pct(value.iloc[1]['churn_rate'])}" \
        in action.text


@pytest.mark.parametrize("cid", list(SHOPS))
def test_the_forecast_finding_shows_money_only_as_the_verdict_allows(sections: dict,
                                                                    cid: str) -> None:
    s = sections[cid]
    forecast, tiers, cur = s["forecast"], s["tiers"], s["currency"]
    point = next(p for p in s["summary"] if p.section == "forecast")
    words = {"ok": "trusted", "caution": "use with care", "unreliable": "not supported"}
    assert point.text.startswith(f"Verdict: {words[forecast.verdict]}.")
    if forecast.verdict == "ok":
        total = float(forecast.clv[forecast.clv > 0].sum())
        assert point.numbers["clv_total"] == pytest.approx(total, rel=1e-12)
        assert point.numbers["clv_total"] == float(tiers["clv_total"].sum())
        assert f"about {format_money(total, cur)} of margin over the next 6 months" in point.text
    elif forecast.verdict == "caution":
        low, high = float(tiers["clv_total_low"].sum()), float(tiers["clv_total_high"].sum())
        assert low < float(tiers["clv_total"].sum()) < high
        assert (point.numbers["clv_total_low"], point.numbers["clv_total_high"]) == (low, high)
        assert (f"between {format_money(low, cur)} and {format_money(high, cur)} of margin "
                f"over the next 6 months (90% range)") in point.text
        assert "clv_total" not in point.numbers  # a range, never one exact number
    else:
        assert tiers is None and point.numbers == {}
        assert forecast.withheld()[0].removeprefix("No value per customer is shown: ") in \
            point.text
        # no money anywhere the forecast would have put some
        symbol = format_money(1.0, cur).replace("1.00", "").strip()
        assert symbol and symbol not in point.text and "forecast value" not in " ".join(
            p.text for p in s["summary"])
    if forecast.verdict != "unreliable":
        top = tiers.iloc[:-1]
        assert (f"the top {100 * top['share_customers'].sum():.0f}% of customers hold "
                f"{100 * top['share_value'].sum():.0f}% of it") in point.text


def test_summary_links_are_the_ids_nbconvert_gives_the_report_headings() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = nbformat.v4.new_notebook(cells=[c for c in nb.cells
                                               if c.cell_type == "markdown"])
    page = reports.notebook_to_html(headings)
    ids = re.findall(r'<h[1-6] id="([^"]+)"', page)
    assert set(reports.SECTION_ANCHORS.values()) <= set(ids)
    assert ids.index("Summary") < ids.index("The-data-behind-this-report")  # summary first
    view = reports.summary_view([reports.SummaryPoint("Forecast", "Verdict: <ok>.",
                                                      "forecast")])
    assert view == ('<ul class="rk-summary" id="summary-list"><li><strong>Forecast.</strong>'
                    ' Verdict: &lt;ok&gt;. <a href="#How-far-to-trust-the-forecast">See the '
                    'section</a></li></ul>')


def test_an_empty_or_short_table_gives_no_finding_rather_than_a_wrong_one() -> None:
    short = pd.DataFrame({"active_customers": [10.0], "churn": [0.1]},
                         index=pd.period_range("2024-12", periods=1, freq="M"))
    one_row = pd.DataFrame({"churn_rate": [0.05], "gain": [0.0], "total_gain": [0.0]})
    no_risk = pd.DataFrame({"customers": [5], "share_customers": [1.0], "share_spend": [1.0]},
                           index=pd.Index(["Champions"], name="segment"))
    assert reports.executive_summary(short, no_risk, None, None, one_row) == []


# --------------------------------------------------------------------------- one time unit


@pytest.mark.parametrize("cid", ["retailer", "till_export"])
def test_the_cohort_heatmap_is_monthly_like_the_rates(cid: str) -> None:
    client = reports.load_client(data_dir() / "demo" / cid)
    full = cohorts.cohort_table(client.transactions, period="M",
                                observation_end=client.observation_end)
    shown = reports.report_cohorts(client, "M")
    assert shown.index.freqstr == "M" and len(shown) == min(len(full), 18)
    assert shown.attrs["n_cohorts_left_out"] == len(full) - len(shown)
    # the most recent cohorts, unchanged, and only the columns they reach
    pd.testing.assert_frame_equal(shown, full.iloc[len(full) - len(shown):, :shown.shape[1]],
                                  check_freq=False)
    assert shown.iloc[0].notna().all() and shown.shape[1] == int(full.iloc[-len(shown)].notna()
                                                                 .sum())
    if len(full) > 18:
        assert shown.attrs["shown"].startswith(f"The last 18 monthly cohorts ({shown.index[0]}"
                                               f" to {shown.index[-1]}); the "
                                               f"{len(full) - 18} older ones")
    else:
        assert shown.attrs["shown"].startswith("Every monthly cohort")


def test_the_header_states_the_time_unit_once() -> None:
    client = reports.load_client(data_dir() / "demo" / "retailer")
    for period, name in (("M", "month"), ("W", "week")):
        settings = check_parameters(client_id="retailer", period=period)
        header = reports.report_header(client, settings, one_unit=True)
        assert header.count("Time unit") == 1
        assert f"Time unit: {name} (every rate, cohort and trend below is per {name})" in header
    assert "customer lifetimes are in months" in reports.report_header(
        client, check_parameters(client_id="retailer", period="W"), one_unit=True)
    assert "Time unit" not in reports.report_header(client, check_parameters(client_id="retailer"))


def test_window_periods_is_the_trends_window() -> None:
    client = reports.load_client(data_dir() / "demo" / "retailer")
    assert reports.window_periods(client, "M") == len(reports.shop_trends(client, "M")) == 36
    assert reports.window_periods(client, "Q") == 12


# --------------------------------------------------------------------------- legible charts


def test_every_label_of_the_reports_charts_is_at_least_the_minimum_font_size(
        sections: dict) -> None:
    """The figures the shop report draws (with its rcParams, full size), on a demo shop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.text
    import numpy as np

    from retention_kit import plots, segments

    s = sections["retailer"]
    client, forecast = s["client"], s["forecast"]
    since, _ = reports.customers_since(client, "M")
    draws = {
        "trends": lambda: plots.plot_trends(s["trends"], columns=[
            "active_customers", "retention", "churn", "revenue", "orders"], title="Trends"),
        "cohorts": lambda: plots.plot_cohort_heatmap(
            reports.report_cohorts(client, "M", customers_since=since), annot=True,
            title="Cohorts"),
        "curve": lambda: plots.plot_retention_curves(
            cohorts.retention_curve(client.transactions, period="M",
                                    observation_end=client.observation_end,
                                    customers_since=since), at_risk=True, title="Curve"),
        "survival": lambda: plots.plot_survival(
            cohorts.survival(client.durations(180), time_unit="M"), at_risk=True,
            title="Survival"),
        "concentration": lambda: plots.plot_clv_concentration(
            segments.concentration_curve(forecast.clv[forecast.clv > 0]), tiers=s["tiers"],
            title="Concentration"),
        "segments": lambda: plots.plot_segment_sizes(
            s["segments"].rename(columns={"share_spend": "share_value"}), title="Segments"),
    }
    with plt.rc_context({"figure.dpi": 80, "figure.figsize": (9, 4.5)}):
        for name, draw in draws.items():
            drawn = draw()
            ax = np.asarray(drawn).flat[0]
            fig = ax.figure
            fig.canvas.draw()
            texts = [t for t in fig.findobj(matplotlib.text.Text)
                     if t.get_visible() and t.get_text().strip()]
            assert len(texts) >= 5, name  # labels, ticks, annotations were found
            small = {(t.get_text(), t.get_fontsize()) for t in texts
                     if t.get_fontsize() < plots.MIN_FONT_SIZE}
            assert not small, (name, sorted(small)[:5])
            plt.close(fig)
