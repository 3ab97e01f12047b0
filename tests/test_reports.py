"""Per-client reports: report numbers, safe file names, offline HTML, the batch, the CLI,
and the pages in headless Chromium.

The batch test runs the report notebook (``fast=True``, 2 workers) on the demo clients, one
of them under an odd folder name, plus a deliberately broken client
(``tests/data/clients/broken_shop``: refunds booked as negative amounts), through the
``retention-kit`` entry point. The browser tests open its pages in Debian's Chromium
(``/usr/bin/chromium``, installed by ``make browser``) driven by Playwright and save
screenshots to ``build/test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention_kit import cli, reports
from retention_kit.datasets import data_dir
from retention_kit.errors import DataError
from retention_kit.reports import (
    ClientData,
    FitCheck,
    HeadlineKPIs,
    ReportResult,
    check_parameters,
    error_page,
    external_resources,
    format_money,
    headline_kpis,
    load_client,
    next_steps,
    notebook_to_html,
    period_retention,
    safe_name,
    write_index,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "client_report.ipynb"
BROKEN = Path(__file__).resolve().parent / "data" / "clients" / "broken_shop"
DEMO = data_dir() / "demo"
ARTIFACTS = ROOT / "build" / "test-artifacts"
#: The demo clients of the batch test; marketplace runs under an odd folder name.
ODD_ID = "Bazaarly & Co <ü> 'x'"
BATCH = {"retailer": "retailer", "seasonal_shop": "seasonal_shop",
         "subscription_box": "subscription_box", "b2b_saas": "b2b_saas",
         "telco_snapshot": "telco_snapshot", ODD_ID: "marketplace"}
BATCH_IDS = [*BATCH, "broken_shop"]
SUBSCRIPTION_CLIENTS = ("subscription_box", "b2b_saas", "telco_snapshot")
N = len(BATCH_IDS)


def tiny_client(transactions: pd.DataFrame, end: str, subscriptions=None) -> ClientData:
    return ClientData(client_id="tiny", transactions=transactions, subscriptions=subscriptions,
                      info={}, observation_end=pd.Timestamp(end))


# --------------------------------------------------------------------------- numbers


def test_period_retention_by_hand_with_an_inactivity_rule() -> None:
    # a: active end Jan and Feb, lapses in Mar; b: lapses in Feb; c: from Feb; d: from Mar.
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "d"],
                       "date": pd.to_datetime(["2024-01-20", "2024-02-25", "2024-01-10",
                                               "2024-02-10", "2024-03-20", "2024-03-05"]),
                       "amount": 10.0})
    table = period_retention(tiny_client(tx, "2024-03-31"), n_periods=2, inactivity_days=30)
    assert [str(p) for p in table.index] == ["2024-02", "2024-03"]
    assert table[["start", "retained", "lost", "new", "end"]].to_numpy().tolist() == [
        [2, 1, 1, 1, 2], [2, 1, 1, 1, 2]]
    # February starts on Jan 31, when the 30-day rule still looks back before the first
    # transaction (Jan 10): a customer who bought on Jan 5 would be missing, so February's
    # rates are not measured (as the trends leave them blank); March's are
    assert table["retention_rate"].isna().tolist() == [True, False]
    assert table["retention_rate"].iloc[1] == 0.5 and table["churn_rate"].iloc[1] == 0.5
    assert table["churn_rate"].isna().tolist() == [True, False]
    assert table.attrs["not_judged"] == ("the 30-day activity rule looks back before the "
                                         "first transaction until 2024-02-08")


def test_period_retention_of_subscriptions_counts_paying_months() -> None:
    subs = pd.DataFrame({"customer_id": list("AAABBCCD"),
                         "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01",
                                                  "2024-01-01", "2024-02-01", "2024-02-01",
                                                  "2024-03-01", "2024-03-01"]),
                         "mrr": 10.0})
    tx = subs.rename(columns={"month": "date", "mrr": "amount"})
    table = period_retention(tiny_client(tx, "2024-03-31", subs), n_periods=2)
    assert table[["start", "retained", "lost", "new", "end"]].to_numpy().tolist() == [
        [2, 2, 0, 1, 3], [3, 2, 1, 1, 3]]
    assert table["churn_rate"].round(4).tolist() == [0.0, 0.3333]


def test_period_retention_ignores_the_incomplete_last_period() -> None:
    tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2024-01-05",
                                                                          "2024-03-10"]),
                       "amount": 1.0})
    table = period_retention(tiny_client(tx, "2024-03-15"), n_periods=1)
    assert [str(p) for p in table.index] == ["2024-02"]


def test_trailing_revenue_retention_by_hand() -> None:
    # A 100 -> 120 (expansion 20), B 50 -> 0 (churn 50), C 80 -> 60 (contraction 20),
    # D is new in the last month and does not count.
    subs = pd.DataFrame({
        "customer_id": ["A", "B", "C", "A", "C", "D"],
        "month": pd.to_datetime(["2023-12-01"] * 3 + ["2024-12-01"] * 3),
        "mrr": [100.0, 50.0, 80.0, 120.0, 60.0, 30.0]})
    nrr, grr = reports.sections._trailing_revenue_retention(subs, pd.Timestamp("2024-12-31"))
    assert nrr == pytest.approx((230 + 20 - 20 - 50) / 230)
    assert grr == pytest.approx((230 - 20 - 50) / 230)


def test_headline_kpis_of_a_demo_client_are_consistent() -> None:
    client = load_client(DEMO / "subscription_box")
    kpis = headline_kpis(client, currency="GBP")
    log = client.transactions
    assert kpis.customers == log["customer_id"].nunique()
    assert kpis.retention + kpis.churn == pytest.approx(1.0)
    assert kpis.aov == pytest.approx(kpis.revenue / kpis.orders)
    assert kpis.nrr is not None and 0 < kpis.grr <= 1 and kpis.grr <= kpis.nrr
    bundle = kpis._repr_mimebundle_()
    assert 'id="kpi-table"' in bundle["text/html"]
    assert "Net revenue retention" in bundle["text/html"]
    assert json.loads(json.dumps(bundle[reports.KPI_MIME]))["customers"] == kpis.customers
    shop = headline_kpis(load_client(DEMO / "retailer"))
    assert shop.nrr is None and "Net revenue" not in shop.to_html()


def test_forecast_tiers_segments_and_churn_value_fit_together() -> None:
    client = load_client(DEMO / "retailer")
    forecast = reports.forecast_clv(client, horizon_months=6, discount_rate=0.01, margin=0.3)
    assert forecast.clv.index.equals(forecast.alive.index)
    assert (forecast.clv >= 0).all() and forecast.alive.between(0, 1).all()
    one_timers = reports.rfm_summary(client.transactions, time_unit="W")["frequency"] == 0
    assert forecast.alive[one_timers].max() < 1  # MBG/NBD: one-time buyers may have left
    tiers = reports.tier_table(forecast)
    assert tiers["customers"].sum() == (forecast.clv > 0).sum()
    assert tiers["clv_total"].sum() == pytest.approx(forecast.clv.sum())
    segs = reports.segment_table(client, forecast)
    assert segs["customers"].sum() == len(forecast.clv)
    assert segs["share_clv"].sum() == pytest.approx(1.0)
    assert segs["action"].str.len().min() > 10
    table = period_retention(client, n_periods=12)
    value = reports.churn_value(client, table, margin=0.3, discount_rate=0.01)
    assert value.index[0] == 0 and (np.diff(value["gain"]) > 0).all()
    churn = 1 - table["retained"].sum() / table["start"].sum()
    assert value["churn_rate"].iloc[0] == pytest.approx(churn)
    assert value["churn_rate"].iloc[1] == pytest.approx(0.9 * churn)


def test_forecast_money_follows_the_verdict() -> None:
    # ok: exact values; the chosen model and the reason are reported
    retailer = reports.forecast_clv(load_client(DEMO / "retailer"), horizon_months=6)
    assert retailer.verdict == "ok" and retailer.choice.name in ("MBG/NBD", "Pareto/NBD")
    assert retailer.choice.reason.startswith(f"{retailer.choice.name} was chosen")
    assert "clv_total_low" not in reports.tier_table(retailer).columns
    # caution (dropout only roughly identified on a one-year export, no seasonality check):
    # 90% ranges around the values, never instead of a reason
    box = reports.forecast_clv(load_client(DEMO / "till_export"), horizon_months=6)
    assert box.verdict == "caution"
    assert {"dropout identified", "holdout seasonality"} <= {
        f.check for f in box.checks.concerns()}
    tiers = reports.tier_table(box)
    assert (tiers["clv_total_low"] <= tiers["clv_total"]).all()
    assert (tiers["clv_total"] <= tiers["clv_total_high"]).all()
    assert (tiers["clv_total_high"] > tiers["clv_total_low"]).all()
    assert reports.trust_view(box).sentence.startswith("Values per customer are shown as 90% "
                                                       "ranges")
    # unreliable (a seasonal holdout no candidate predicts): no money and no P(alive)
    season_client = load_client(DEMO / "seasonal_shop")
    season = reports.forecast_clv(season_client, horizon_months=6)
    assert season.verdict == "unreliable" and reports.tier_table(season) is None
    assert "mean_alive" not in reports.segment_table(season_client, season).columns
    assert season.withheld()[0].startswith("No value per customer is shown: ")
    assert "What would fix it:" in season.withheld()[0]
    steps = next_steps(_kpis(), forecast=season)
    assert steps[-1].startswith("Do not budget on customer values yet: ")


def test_a_log_shorter_than_the_holdout_gets_no_money_and_says_why(tmp_path) -> None:
    # the user trial: three summer months of the till export, a six-month holdout
    export = load_client(DEMO / "till_export")
    tx = export.transactions
    cut = tx.loc[(tx["date"] >= "2024-06-01") & (tx["date"] <= "2024-08-31")]
    folder = tmp_path / "summer"
    folder.mkdir()
    cut.to_csv(folder / "transactions.csv", index=False)
    client = load_client(folder)
    forecast = reports.forecast_clv(client, holdout_months=6)
    assert forecast.verdict == "unreliable" and forecast.choice is None
    why = next(f for f in forecast.diagnostics if f.check == "holdout fit")
    assert why.reason.startswith("No model could be checked on held-out months (the holdout "
                                 "of 6 months leaves no calibration data)")
    assert "a shorter holdout_months" in why.fix
    assert reports.tier_table(forecast) is None
    assert reports.holdout_check(client, holdout_months=6, forecast=forecast) is None
    assert forecast.withheld()[0].startswith("No value per customer is shown: ")


def test_a_log_that_starts_inside_a_customer_base_gets_new_customers_only(tmp_path) -> None:
    from retention_kit.cohorts import retention_curve
    from retention_kit.simulate import simulate_transactions

    params = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 30.0}  # frequent buyers, slow dropout
    old = simulate_transactions(6000, start="2016-01-01", end="2024-12-31",
                                acquisition_end="2023-12-31", params=params, id_prefix="O",
                                random_state=1)
    new = simulate_transactions(1500, start="2024-01-01", end="2024-12-31", params=params,
                                id_prefix="N", random_state=101)
    log = pd.concat([old, new])
    log = log.loc[log["date"] >= "2024-01-01"].sort_values(["date", "customer_id"])
    folder = tmp_path / "cut"
    folder.mkdir()
    log[["customer_id", "date", "amount"]].to_csv(folder / "transactions.csv", index=False)
    client = load_client(folder)
    since, finding = reports.customers_since(client)
    assert finding.verdict in ("caution", "unreliable")
    assert "existing customer base" in finding.reason
    assert since is not None and pd.Timestamp("2024-02-01") <= since <= pd.Timestamp("2024-09-01")
    raw = retention_curve(client.transactions,
                                  observation_end=client.observation_end)["retention"]
    fixed = retention_curve(client.transactions, observation_end=client.observation_end,
                                    customers_since=since)
    assert raw.iloc[-3:].mean() > 1.15 * raw.iloc[1]  # rises: old customers in month 0
    assert fixed["retention"].iloc[2:].max() <= 1.1 * fixed["retention"].iloc[1]
    assert "left out" in fixed.attrs["note"]


def test_holdout_check_of_a_subscription_client() -> None:
    check = reports.holdout_check(load_client(DEMO / "b2b_saas"), holdout_months=6)
    assert check.model == "sBG" and check.calibration_end == "2024-06-30"
    assert check.actual > 0 and check.verdict in ("ok", "caution", "unreliable")
    assert "subscribers" in check.sentence()


def _kpis(**changes) -> HeadlineKPIs:
    base = dict(client_id="c", display_name="C", currency="EUR", period="M",
                last_period="2024-12", previous_period="2024-11", customers=1000,
                active_customers=500, retention=0.9, retention_previous=0.9, churn=0.1,
                churn_previous=0.1, repeat_purchase_rate=0.6, aov=50.0, revenue=1e5,
                orders=2000, data_start="2022-01-01", data_end="2024-12-31",
                activity_rule="a purchase in the last 180 days")
    return HeadlineKPIs(**{**base, **changes})


def test_next_steps_follow_the_numbers() -> None:
    assert next_steps(_kpis()) == []
    rose = next_steps(_kpis(churn=0.13, retention=0.87))
    assert len(rose) == 1
    assert rose[0].startswith("Churn rose from 10.0% in 2024-11 to 13.0% in 2024-12 (+3.0 pts)."
                              " Compare the customers lost")
    fell = next_steps(_kpis(churn=0.07, retention=0.93))
    assert fell[0].startswith("Churn fell") and "keep doing it" in fell[0]
    season = next_steps(_kpis(churn=0.07, retention=0.93, year_ago_period="2023-12",
                              churn_year_ago=0.05, churn_previous_year_ago=0.09))
    assert "as it did a year earlier (9.0% to 5.0% in 2023-12): a seasonal swing" in season[0]
    unusual = next_steps(_kpis(churn=0.13, retention=0.87, year_ago_period="2023-12",
                               churn_year_ago=0.08, churn_previous_year_ago=0.09))
    assert "A year earlier it did not (9.0% to 8.0% in 2023-12). Compare" in unusual[0]
    assert "second-purchase" in " ".join(next_steps(_kpis(repeat_purchase_rate=0.2)))
    nrr = next_steps(_kpis(nrr=0.95, grr=0.85))
    assert any(s.startswith("Net revenue retention is 95.0%") for s in nrr)
    hidden = next_steps(_kpis(nrr=1.1, grr=0.8))
    assert any(s.startswith("Expansion hides losses") for s in hidden)
    segs = pd.DataFrame({"customers": [100, 50, 30], "share_customers": [0.5, 0.3, 0.2],
                         "share_spend": [0.6, 0.1, 0.3],
                         "action": ["Reward them.", "Call them.", "Win them back."]},
                        index=pd.Index(["Champions", "At Risk", "Can't Lose Them"],
                                       name="segment"))
    steps = next_steps(_kpis(), segments=segs)
    assert steps == ["Act on the 'Can't Lose Them' segment: 30 customers (20.0%) who brought "
                     "30.0% of past spending have gone quiet. Recommended: win them back."]
    poor = FitCheck(model="MBG/NBD", calibration_end="2024-06-30", holdout_end="2024-12-31",
                    what="repeat purchases", actual=100.0, predicted=60.0,
                    tracking_error=-0.4, mae=0.5)
    assert poor.verdict == "unreliable"
    assert next_steps(_kpis(), fit=poor) == [
        "Treat the forecast figures as rough: on the last months the model under-predicted by "
        "40.0%: more than ±25% off, so the model's numbers should not be used. Seasonality or "
        "a recent change in the business are the usual causes; re-check before budgeting on "
        "them."]
    # the thresholds name the fit: +14% is a caution (the old report called it "fair")
    fair = FitCheck(model="sBG", calibration_end="2024-06-30", holdout_end="2024-12-31",
                    what="subscribers still paying", actual=100.0, predicted=114.0,
                    tracking_error=0.14, mae=None)
    assert fair.verdict == "caution" and fair.finding().verdict == "caution"
    assert fair.sentence().endswith("it over-predicted by 14.0%: outside the ±10% within which "
                                    "exact numbers are shown, so show ranges.")


def test_format_money() -> None:
    assert format_money(1234.5, "EUR") == "€1,234"
    assert format_money(0.5, "usd") == "$0.50"
    assert format_money(3, "") == "3.00"
    assert format_money(float("nan"), "EUR") == "n/a"
    # the report text and the charts write money the same way (one formatter, in units)
    from retention_kit import plots, units

    assert reports.format_money is units.format_money is plots.format_money
    assert format_money(-0.004, "GBP") == "£0.00" and format_money(7, "$", sign=True) == "+$7.00"


# --------------------------------------------------------------------------- parameters


def test_check_parameters_fails_early_and_readably(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"period='monthly' is not one of .*did you mean 'M'"):
        check_parameters(client_id="retailer", period="monthly")
    with pytest.raises(DataError, match=r"margin=30 is outside .*looks like a percentage, "
                                        r"pass 0\.3"):
        check_parameters(client_id="retailer", margin=30)
    with pytest.raises(DataError, match="forecast_months=0 is not a whole number"):
        check_parameters(client_id="retailer", forecast_months=0)
    with pytest.raises(DataError, match="does not exist"):
        check_parameters(client_id="x", data_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="client_id='retailr' is not one of .*'retailer'"):
        check_parameters(client_id="retailr")
    with pytest.raises(DataError, match="observation_end='someday' is not a date"):
        check_parameters(client_id="retailer", observation_end="someday")
    ok = check_parameters(client_id="broken_shop", data_dir=str(BROKEN), currency="usd")
    assert ok.currency == "USD" and ok.observation_end == ""


def test_load_client_rejects_broken_data_with_the_data_error_template(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"negative .*Rows affected: 2\. .*How to fix"):
        load_client(BROKEN)
    with pytest.raises(DataError, match="has no transactions.csv"):
        load_client(tmp_path)
    with pytest.raises(DataError, match="monthly subscriptions, so weekly retention"):
        load_client(DEMO / "b2b_saas", period="W")
    (tmp_path / "transactions.csv").write_text("customer,day,amount\n1,2024-01-01,3\n")
    with pytest.raises(DataError, match="has no column 'customer_id'"):
        load_client(tmp_path)


def test_report_notebook_is_stored_clean_with_its_parameters_first() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "check_parameters(" in code[1].source and "check_choice(" in code[1].source
    for cell in code:  # every step names itself: the error page quotes it
        assert cell.source.startswith("# "), cell.source[:40]


def test_papermill_help_notebook_lists_the_parameters() -> None:
    done = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(NOTEBOOK)],
                          capture_output=True, text=True, timeout=60, check=True)
    text = done.stdout
    for name, kind in [("client_id", "str"), ("data_dir", "str"), ("observation_end", "str"),
                       ("period", "str"), ("forecast_months", "int"),
                       ("discount_rate", "float"), ("margin", "float"), ("currency", "str"),
                       ("inactivity_days", "int"), ("holdout_months", "int"),
                       ("fast", "bool")]:
        assert re.search(rf"^\s*{name}: {kind} \(default ", text, re.MULTILINE), name
    assert "gross margin on revenue" in text


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize("client_id", [
    "../evil", "../../etc/passwd", "/etc/passwd", "C:\\Windows\\system32", "..", ".",
    ".hidden", "a/b/../../c", "index", "CON", "nul", "", " ", "x" * 500, "réseau café",
    "tab\tnew\nline", "nul\x00byte", "emoji 😀", "<script>alert(1)</script>", "a" * 59 + "/"])
def test_safe_names_stay_inside_the_output_folder(tmp_path: Path, client_id: str) -> None:
    name = safe_name(client_id)
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) and len(name) <= 69
    assert name.lower() not in {"index", "con", "nul"}
    path = reports.batch._inside(tmp_path, name, ".html")
    assert path.parent == tmp_path.resolve()


def test_inside_refuses_names_that_escape(tmp_path: Path) -> None:
    for bad in ["../x", "/abs", "a/b", "..", "UPPER"]:
        with pytest.raises(ValueError, match="refusing"):
            reports.batch._inside(tmp_path, bad, ".html")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=2, max_size=6, unique=True))
def test_different_ids_never_share_a_file_name(ids: list[str]) -> None:
    names = [safe_name(i) for i in ids]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9_-]*", n) for n in names)


# --------------------------------------------------------------------------- offline HTML


def test_external_resources_finds_what_a_page_would_fetch() -> None:
    page = """<html><head><script src="https://cdn.x/require.js"></script>
    <link rel="stylesheet" href="//fonts.x/css"><style>@import url("http://x/y.css");
    .a { background: url('https://x/bg.png') }</style></head><body>
    <img src="data:image/png;base64,AAAA"><img srcset="a.png 1x, https://x/b.png 2x">
    <a href="https://example.com">a link loads nothing</a><img src="local.png">
    <div style="background-image: url(https://x/div.png)"></div></body></html>"""
    assert external_resources(page) == ["https://cdn.x/require.js", "//fonts.x/css",
                                        "http://x/y.css", "https://x/bg.png",
                                        "https://x/b.png", "https://x/div.png"]
    assert external_resources("<style>@import 'https://x/z.css';</style>") == [
        "https://x/z.css"]
    assert external_resources("<img src='data:image/png;base64,AA'><a href='http://a'>") == []


def _tiny_executed_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
           "awAAAABJRU5ErkJggg==")
    cell = nbformat.v4.new_code_cell("SECRET_SOURCE_CODE = 1\nplot()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "fig"}),
        nbformat.v4.new_output("stream", name="stderr", text="WARNING_TEXT\n"),
        nbformat.v4.new_output("execute_result", data={"text/html": "<b>visible</b>"},
                               execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title $x$ and a formula"), cell]
    return nb


def test_notebook_to_html_hides_code_embeds_images_and_loads_nothing_remote() -> None:
    from nbconvert import HTMLExporter

    nb = _tiny_executed_notebook()
    page = notebook_to_html(nb, title="A <title>")
    assert "SECRET_SOURCE_CODE" not in page and "WARNING_TEXT" not in page
    assert "<b>visible</b>" in page and 'src="data:image/png;base64,' in page
    assert "<title>A &lt;title&gt;</title>" in page
    assert external_resources(page) == []
    assert "require.min.js" not in page and "MathJax" not in page
    assert nb.cells[1].outputs[1]["name"] == "stderr"  # the input notebook is untouched
    # The control: nbconvert's stock page would load require.js and MathJax from CDNs.
    stock, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert any("require" in url for url in external_resources(stock))


def test_error_page_and_index_escape_client_ids(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    failed = ReportResult(client_id=evil, name=safe_name(evil), status="failed",
                          html=tmp_path / "e.html", notebook=None, seconds=1.5,
                          error_type="DataError", error="bad <b>data</b>",
                          failed_step="Check the parameters and the client's data",
                          failed_cell=3, traceback="Traceback <here>")
    page = error_page(failed)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "Check the parameters and the client&#x27;s data (cell 4 of the executed notebook)" \
        in page
    ok = ReportResult(client_id="shop", name="shop", status="ok", html=tmp_path / "shop.html",
                      notebook=None, seconds=2.0,
                      kpis={"display_name": "Shop & Co", "active_customers": 1200,
                            "retention": 0.9,
                            "churn": 0.1, "repeat_purchase_rate": 0.5, "aov": 20.0,
                            "currency": "EUR", "nrr": None})
    index = write_index([ok, failed], tmp_path).read_text()
    assert "<script>alert" not in index and "Shop &amp; Co" in index
    assert 'href="shop.html"' in index and "1,200" in index and "€20.00" in index
    assert "1 of 2 reports produced" in index
    assert external_resources(index) == []
    saved = json.loads((tmp_path / "index.json").read_text())
    assert [r["status"] for r in saved] == ["ok", "failed"]


# --------------------------------------------------------------------------- the CLI


def test_cli_parameter_types_and_usage_errors(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.parse_parameter("fast", "yes", "bool") is True
    assert cli.parse_parameter("margin", "0.25", "float") == 0.25
    assert cli.main(["report", "--data", str(tmp_path / "none"), "--out",
                     str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["report", "--clients", "retailr", "--out", str(tmp_path / "out")]) == 2
    assert "did you mean 'retailer'" in capsys.readouterr().err
    assert cli.main(["report", "-p", "margn", "0.3", "--out", str(tmp_path / "out")]) == 2
    assert "did you mean 'margin'" in capsys.readouterr().err
    assert cli.main(["report", "-p", "client_id", "x", "--out", str(tmp_path / "out")]) == 2
    assert cli.main(["report", "-p", "forecast_months", "a year", "--out",
                     str(tmp_path / "out")]) == 2
    assert "forecast_months='a year' is not an int" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_reports_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="set per client"):
        reports.run_reports(["retailer"], out_dir=tmp_path, parameters={"data_dir": "x"})
    with pytest.raises(ValueError, match="did you mean 'period'"):
        reports.run_reports(["retailer"], out_dir=tmp_path, parameters={"perod": "M"})
    with pytest.raises(ValueError, match="workers"):
        reports.run_reports(["retailer"], out_dir=tmp_path, workers=0)
    with pytest.raises(TypeError, match="wrap a single client"):
        reports.run_reports("retailer", out_dir=tmp_path)


# --------------------------------------------------------------------------- the batch


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The CLI on the demo clients (one under an odd name) and the broken client."""
    root = tmp_path_factory.mktemp("batch")
    data = root / "data"
    data.mkdir()
    for folder, demo in BATCH.items():
        (data / folder).symlink_to(DEMO / demo, target_is_directory=True)
    (data / "broken_shop").symlink_to(BROKEN, target_is_directory=True)
    out = root / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["report", "--data", str(data), "--out", str(out), "--workers", "2",
                         "-p", "fast", "true", "-p", "forecast_months", "6"])
    return {"root": root, "out": out, "code": code, "stdout": stdout.getvalue(),
            "stderr": stderr.getvalue(), "ids": BATCH_IDS}


@pytest.mark.slow
def test_batch_exit_code_progress_and_summary(batch: dict) -> None:
    assert batch["code"] == 1
    progress = [line for line in batch["stderr"].splitlines() if line.startswith("[")]
    assert len(progress) == N and progress[-1].startswith("[" + "#" * 24 + f"] {N}/{N}")
    summary = batch["stdout"]
    assert re.search(r"^broken_shop\s+failed\s+[\d.]+\s+Check the parameters and the client's "
                     r"data: DataError: amounts in column 'amount' are negative", summary,
                     re.MULTILINE)
    for cid in BATCH:
        assert re.search(rf"^{re.escape(cid)}\s+ok\s", summary, re.MULTILINE), cid
    assert f"{N - 1} of {N} reports produced. Open file://" in summary
    assert "Kernel is running over TCP" not in batch["stderr"]  # kernel logs stay in files


@pytest.mark.slow
def test_batch_writes_every_good_report_offline_and_nothing_outside(batch: dict) -> None:
    out: Path = batch["out"]
    files = sorted(p.name for p in out.iterdir())
    names = [safe_name(cid) for cid in batch["ids"]]
    lists = [f"{safe_name(cid)}{suffix}" for cid in BATCH
             for suffix in reports.CUSTOMER_LIST_SUFFIXES]
    expected = sorted([f"{n}.html" for n in names] + [f"{n}.ipynb" for n in names] + lists
                      + ["index.html", "index.json", "broken_shop.kernel.log"])
    assert files == expected
    assert sorted(p.name for p in batch["root"].iterdir()) == ["data", "out"]
    for cid in BATCH:
        page = (out / f"{safe_name(cid)}.html").read_text(encoding="utf-8")
        executed = nbformat.read(out / f"{safe_name(cid)}.ipynb", as_version=4)
        assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "error" or o.get("name") == "stderr"], cid
        assert external_resources(page) == [] and str(out) not in page
        if cid in SUBSCRIPTION_CLIENTS:
            _is_a_subscription_report(out, cid, page)
            continue
        assert 'id="kpi-table"' in page and 'id="segment-table"' in page
        assert 'id="churn-value-table"' in page
        # the summary comes first, and each finding links to a heading of the page
        start = page.index('id="summary-list"')
        summary = page[start:page.index("</ul>", start)]
        assert page.index('id="Summary"') < start < page.index('id="kpi-table"'), cid
        links = re.findall(r'<a href="#([^"]+)">See the section</a>', summary)
        assert 3 <= len(links) <= 5 and all(f'id="{a}"' in page for a in links), (cid, links)
        # trends drawn after the headline, one time unit stated once, monthly cohorts
        assert page.index('id="kpi-table"') < page.index('id="Trends-over-the-whole-window"') \
            < page.index('id="Cohorts:-do-customers-come-back?"')
        assert page.count("Time unit: month (every rate, cohort and trend below is per "
                          "month)") == 1 and "Rates per month" not in page
        assert re.search(r"(The last 18|Every) monthly cohort", page), cid
        # the forecast's checks come first, and its money follows the verdict
        assert page.index("How far to trust the forecast") < page.index('id="trust-table"')
        verdict = re.search(r'class="rk-verdict rk-(\w+)"', page).group(1)
        assert ('id="tier-table"' in page) == (verdict != "unreliable"), cid
        assert ("Forecast value, low (90%)" in page) == (verdict == "caution"), cid
        if verdict == "unreliable":
            assert "No value per customer is shown" in page and "Mean P(alive)" not in page
        # the summary's forecast: money as the verdict allows
        assert ("of margin over the next" in summary) == (verdict != "unreliable"), cid
        assert ("(90% range)" in summary) == (verdict == "caution"), cid
        assert "What to do next" in page and 'class="rk-next"' in page
        assert "reports.check_parameters" not in page and "import retention_kit" not in page
        assert page.count('src="data:image/png;base64,') >= 4  # trends, cohorts, curves
        assert str(batch["root"]) not in page
        _customer_list_reconciles_with_the_report(out, cid, page, verdict)
    saas = (out / "b2b_saas.html").read_text(encoding="utf-8")
    assert "Net revenue retention" in saas and "Ledgerline" in saas
    assert "Net revenue retention" not in (out / "retailer.html").read_text(encoding="utf-8")


def _html_table(page: str, table_id: str) -> list[dict[str, str]]:
    """The rows of a report table as {header: cell text}."""
    import html as html_lib

    table = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S).group(1)
    header = [html_lib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [dict(zip(header, [html_lib.unescape(c) for c in re.findall(r"<td>(.*?)</td>", r)],
                     strict=True)) for r in rows]


def _money(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def _is_a_subscription_report(out: Path, cid: str, page: str) -> None:
    """A subscription client's report: subscription measures and sections, no retail
    measure, the bridge balancing in every row, and the subscriber list matching it."""
    for marker in ('id="kpi-table"', 'id="mrr-bridge"', 'id="tenure-churn"',
                   'id="plan-models"', "Subscription report", "How long subscriptions last",
                   "Still customers after", "What to do next", 'class="rk-next"'):
        assert marker in page, (cid, marker)
    assert 'id="at-risk-table"' in page or "No at-risk list" in page
    for retail in ("Repeat purchase rate", "Average order value", "RFM", 'id="segment-table"',
                   "bought at least once", "At Risk", "Hibernating", "P(alive)"):
        assert retail not in page, (cid, retail)
    assert page.count('src="data:image/png;base64,') >= 4      # trends, bridge, survival, cohorts
    for row in _html_table(page, "mrr-bridge"):
        rebuilt = (_money(row["Start MRR"]) + _money(row["New"]) + _money(row["Expansion"])
                   - _money(row["Contraction"]) - _money(row["Churn"])
                   + _money(row["Reactivation"]))
        assert abs(rebuilt - _money(row["End MRR"])) <= 3.5, (cid, row)   # whole units shown
    name = safe_name(cid)
    assert f'href="{name}.customers.csv"' in page and f'href="{name}.customers.parquet"' in page
    table = pd.read_csv(out / f"{name}.customers.csv", dtype={"customer_id": str},
                        keep_default_na=False, na_values=[""])
    kpis = {r["Measure"].split(" (")[0]: r["Value"] for r in _html_table(page, "kpi-table")}
    assert (table["status"] == "paying").sum() == int(kpis["Paying customers"].replace(",", ""))
    assert table["customer_id"].is_unique
    for row in _html_table(page, "plan-models"):
        billing = row["Billing"]
        mine = table.loc[(table["plan"] == row["Plan"]) & (table["billing"] == billing)]
        if row["Residual value (margin)"] == "not shown":
            assert mine["residual_value"].isna().all(), (cid, row)
        else:
            shown = row["Residual value (margin)"].split(" (")[0]
            assert abs(mine["residual_value"].sum() - _money(shown)) <= 0.5 + 0.005 * len(mine)


def _customer_list_reconciles_with_the_report(out: Path, cid: str, page: str,
                                              verdict: str) -> None:
    """The list next to a report: linked from it, one row per customer of the headline
    count, the segment table's counts, and the tier table's customers and totals."""
    name = safe_name(cid)
    assert f'href="{name}.customers.csv"' in page and f'href="{name}.customers.parquet"' in page
    table = pd.read_csv(out / f"{name}.customers.csv", dtype={"customer_id": str},
                        keep_default_na=False, na_values=[""])
    parquet = pd.read_parquet(out / f"{name}.customers.parquet")
    assert list(parquet.index) == list(table["customer_id"])
    kpis = _html_table(page, "kpi-table")
    customers = next(r["Value"] for r in kpis if r["Measure"] == "Customers")
    assert len(table) == int(customers.replace(",", "")) and table["customer_id"].is_unique
    segments = {r["Segment"]: int(r["Customers"].replace(",", ""))
                for r in _html_table(page, "segment-table")}
    assert table["segment"].value_counts().to_dict() == segments
    assert 'id="top-customers"' in page
    if verdict == "unreliable":
        assert not {"clv", "clv_lower", "clv_upper", "p_alive", "clv_tier",
                    "expected_purchases"} & set(table.columns)
        assert "No P(alive), expected purchases, CLV or tier" in (
            out / f"{name}.customers.txt").read_text(encoding="utf-8")
        return
    assert ("clv_lower" in table.columns) == (verdict == "caution")
    for row in _html_table(page, "tier-table"):
        tier = table.loc[table["clv_tier"] == row["CLV tier"]]
        assert len(tier) == int(row["Customers"].replace(",", "")), (cid, row)
        shown = row["Forecast value"]
        # rows are written to the cent; the page rounds totals of 1,000 or more to units
        slack = (0.5 if "." not in shown else 0.005) + 0.005 * len(tier)
        assert abs(tier["clv"].sum() - _money(shown)) <= slack, (cid, row)
        if verdict == "caution":
            assert abs(tier["clv_lower"].sum() - _money(row["Forecast value, low (90%)"])) \
                <= slack
    assert (table.loc[table["clv_tier"].isna(), "clv"] == 0).all()


@pytest.mark.slow
def test_broken_client_gets_an_error_page_naming_step_cell_and_message(batch: dict) -> None:
    page = (batch["out"] / "broken_shop.html").read_text(encoding="utf-8")
    assert "Report for Broken Shop (test fixture): failed" in page
    assert "Check the parameters and the client&#x27;s data (cell 6 of the executed notebook)" \
        in page
    assert "DataError" in page and "are negative (refunds or returns)" in page
    assert "How to fix: net each refund" in page
    assert 'href="broken_shop.ipynb"' in page and external_resources(page) == []
    executed = nbformat.read(batch["out"] / "broken_shop.ipynb", as_version=4)
    assert "check_parameters(" in executed.cells[5].source
    assert [o.output_type for o in executed.cells[5].outputs] == ["error"]


@pytest.mark.slow
def test_index_lists_every_client_with_status_and_kpis(batch: dict) -> None:
    out: Path = batch["out"]
    page = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="report-row" data-status="(\w+)" data-client="([^"]*)">',
                      page)
    import html as html_lib

    assert [(html_lib.unescape(cid), status) for status, cid in rows] == [
        (cid, "failed" if cid == "broken_shop" else "ok") for cid in sorted(batch["ids"])]
    saved = {r["client_id"]: r for r in json.loads((out / "index.json").read_text())}
    assert saved["retailer"]["kpis"]["display_name"] == "Lindqvist Home & Garden"
    assert saved["b2b_saas"]["kpis"]["nrr"] > 1
    assert saved["broken_shop"]["failed_cell"] == 5
    for cid in BATCH:
        name = safe_name(cid)
        assert f'href="{name}.html"' in page and f'href="{name}.customers.csv"' in page
        assert saved[cid]["kpis"]["customers"] > 0
        assert saved[cid]["html"] == f"{name}.html"
        if cid in SUBSCRIPTION_CLIENTS:  # every subscriber, the paying ones and those gone
            assert saved[cid]["customer_list"]["customers"] > saved[cid]["kpis"]["customers"]
        else:
            assert saved[cid]["customer_list"]["customers"] == saved[cid]["kpis"]["customers"]
        assert saved[cid]["verdict"] in ("ok", "caution", "unreliable")
        assert saved[cid]["generated_at"].endswith("+00:00")
    assert "Lindqvist Home &amp; Garden" in page and f"{N - 1} of {N} reports produced" in page
    # relative links only, none to a raw notebook, nothing a client does not need
    index_json = (out / "index.json").read_text(encoding="utf-8")
    for text in (page, index_json):
        assert str(out) not in text and str(batch["root"]) not in text
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all("/" not in h and ":" not in h for h in hrefs)
    assert all((out / h).is_file() for h in hrefs)
    assert not [h for h in hrefs if h.endswith(".ipynb")] and "Seconds" not in page
    assert "2022-01-01<br>to 2024-12-31" in page  # retailer's period covered
    assert "<th>Forecast</th>" in page and "<th>Customer list</th>" in page


# --------------------------------------------------------------------------- units of counts

#: Words that say what a count counts. Not "purchases": it may mean transactions (rows) or
#: purchase days (orders), two different numbers of one log.
UNIT_WORDS = ("customers", "subscribers", "subscriptions", "subscriber-months",
              "customer-months", "orders", "purchase days", "transactions", "rows", "lines",
              "months", "days", "cancellations", "renewals")
#: A count as the reports write it: a whole number, maybe signed (a change), no unit.
COUNT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)")


class _Tables(HTMLParser):
    """Every <table> of a page: id, class, caption, header and body cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._table: dict | None = None
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = {"id": a.get("id") or "", "class": a.get("class") or "",
                           "caption": "", "header": [], "rows": []}
        elif self._table is not None and tag == "tr":
            self._table["rows"].append([])
        elif self._table is not None and tag in ("th", "td"):
            self._cell = [tag, ""]
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table is not None:
            rows = [r for r in self._table["rows"] if r]
            if rows and all(kind == "th" for kind, _ in rows[0]):
                self._table["header"] = [text for _, text in rows.pop(0)]
            self._table["rows"] = [[text for _, text in r] for r in rows]
            self.tables.append(self._table)
            self._table = None
        elif tag in ("th", "td") and self._cell is not None and self._table is not None:
            self._table["rows"][-1].append((self._cell[0], " ".join(self._cell[1].split())))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data
        elif self._in_caption and self._table is not None:
            self._table["caption"] += data


def _names_a_unit(label: str) -> bool:
    """Whether a header, row label or caption says what a count counts: it holds one of
    UNIT_WORDS as a word, not right after a number ("(6 months)" is a horizon)."""
    text = re.sub(r"\d+\s+[\w-]+", " ", label.lower())
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text) for w in UNIT_WORDS)


def _unlabelled_counts(page: str) -> tuple[list[tuple[str, str, str]], int]:
    """The counts of a page's tables that do not say their unit, and how many counts
    were checked.

    The rule: a body cell that is a bare whole number (``COUNT``) is a count, except in
    a table's first column (it names the row: a customer id, a tier). Its unit must be
    named (``_names_a_unit``) by the table's caption, or by its column's header, or, in a
    KPI table (class ``rk-kpis``: one measure per row), by the row's measure. A cell that
    carries its own unit ("28 orders"), a money amount, a share or a decimal is no bare
    count. Returns (table id, header or measure, first such cell) once per label.
    """
    parser = _Tables()
    parser.feed(page)
    flagged: dict[tuple[str, str], str] = {}
    checked = 0
    for table in parser.tables:
        for row in table["rows"]:
            for j, cell in enumerate(row):
                if j == 0 or not COUNT.fullmatch(cell):
                    continue
                checked += 1
                label = row[0] if "rk-kpis" in table["class"].split() else (
                    table["header"][j] if j < len(table["header"]) else "")
                if not (_names_a_unit(table["caption"]) or _names_a_unit(label)):
                    flagged.setdefault((table["id"], label), cell)
    return [(t, label, cell) for (t, label), cell in flagged.items()], checked


def test_the_unit_rule_flags_counts_that_do_not_say_what_they_count() -> None:
    def table(header: list[str], rows: list[list[str]], css: str = "rk-table",
              caption: str = "") -> str:
        head = "".join(f"<th>{h}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        cap = f"<caption>{caption}</caption>" if caption else ""
        return (f'<table class="{css}" id="t">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    labelled = table(["CLV tier", "Customers", "Share", "Mean CLV", "Expected purchases"],
                     [["top 1%", "1,200", "45.7%", "€81.50", "0.24"],
                      ["359", "7", "1.0%", "€2.00", "1.50"]])        # an id names the row
    assert _unlabelled_counts(labelled) == ([], 2)
    assert _unlabelled_counts(table(["Customer", "Purchases", "Past spend"],
                                    [["R001", "2", "€10.00"], ["R002", "12", "€90.00"]])
                              ) == ([("t", "Purchases", "2")], 2)
    # a horizon is not a unit, a caption stated once is, a count with its unit is labelled
    assert _unlabelled_counts(table(["Plan", "Churners seen (12 months)"], [["a", "38"]])
                              ) == ([("t", "Churners seen (12 months)", "38")], 1)
    assert _unlabelled_counts(table(["Plan", "Churners seen"], [["a", "38"]],
                                    caption="Counts are subscriptions.")) == ([], 1)
    assert _unlabelled_counts(table(["Rule", "Rows"], [["returned", "28 orders"]])) == ([], 0)
    # KPI tables: the measure of the row names the unit, for its value and its change
    kpis = table(["Measure", "Value", "Change"], [["Paying customers (2024-12)", "791", "+11"],
                                                  ["Paying (2024-12)", "791", "+11"],
                                                  ["ARPA", "$224.26", "-$1.87"]],
                 css="rk-table rk-kpis")
    assert _unlabelled_counts(kpis) == ([("t", "Paying (2024-12)", "791")], 4)


@pytest.mark.slow
def test_every_count_in_the_reports_and_the_index_says_what_it_counts(batch: dict) -> None:
    out: Path = batch["out"]
    checked = 0
    for name in [*(safe_name(cid) for cid in BATCH), "index"]:
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        flagged, n = _unlabelled_counts(page)
        assert flagged == [], (name, flagged)
        checked += n
    assert checked > 250  # the rule saw the tables' counts
    retailer = (out / "retailer.html").read_text(encoding="utf-8")
    assert "used as given: 18,481 transactions (rows) of 4,000 customers" in retailer
    assert "18,481 purchases" not in retailer
    assert re.search(r"predicted [\d,]+ repeat orders \(purchase days\) by its customers",
                     retailer)
    box = (out / "subscription_box.html").read_text(encoding="utf-8")
    assert re.search(r"Actions: [^:]+: [\d,]+ customers", box)


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_hostile_ids_through_run_reports_stay_inside(tmp_path: Path, executor: str) -> None:
    """``../`` and absolute ids with a tiny notebook (fast: no report computations)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('client_id = ""\ndata_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "# Say hello\nassert not client_id.startswith('/'), 'absolute id'\nprint(client_id)")]
    path = tmp_path / "echo.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "deep" / "out"
    ids = ["../../escaped", "/tmp/absolute"]
    results = reports.run_reports(ids, out_dir=out, workers=2, notebook=path, progress=False,
                                  executor=executor)
    assert [r.status for r in results] == ["ok", "failed"]
    assert results[1].failed_step == "Say hello" and "absolute id" in results[1].error
    for result in results:
        assert result.html.parent == out.resolve() and result.html.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "echo.ipynb"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]


# --------------------------------------------------------------------------- the browser


def _open(browser, path: Path, shot: str | None = None) -> dict:
    """Open a page, blocking (and recording) every request that would leave the machine."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("file://", "data:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    info = {"page": page, "context": context, "requests": requests, "blocked": blocked,
            "errors": errors, "images": images}
    if shot:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        print(f"screenshot: {ARTIFACTS / shot}")
    return info


def _offline(info: dict) -> None:
    assert info["blocked"] == []
    assert all(url.startswith(("file://", "data:")) for url in info["requests"]), info["requests"]
    assert info["errors"] == []


@pytest.mark.slow
def test_report_in_chromium_loads_offline_with_images_and_kpis(batch: dict, chromium) -> None:
    info = _open(chromium, batch["out"] / "retailer.html", shot="report-retailer.png")
    try:
        _offline(info)
        assert len(info["images"]) >= 3
        assert all(complete and width > 0 for complete, width in info["images"])
        page = info["page"]
        kpi = page.locator("#kpi-table")
        assert kpi.is_visible() and kpi.locator("tbody tr").count() >= 6
        assert "Churn rate (2024-12)" in kpi.inner_text()
        assert page.title() == "Lindqvist Home & Garden: customer retention report"
        assert "check_parameters" not in page.content()
    finally:
        info["context"].close()
    assert (ARTIFACTS / "report-retailer.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("cid", SUBSCRIPTION_CLIENTS)
def test_subscription_reports_in_chromium(batch: dict, chromium, cid: str) -> None:
    """Both subscription demo reports and the snapshot one, as a reader sees them: the
    summary first, the bridge, survival by plan, the plan models and the at-risk list, no
    shop measure anywhere; the snapshot's summary leads with the snapshot warning."""
    info = _open(chromium, batch["out"] / f"{cid}.html", shot=f"report-{cid}.png")
    try:
        _offline(info)
        assert len(info["images"]) >= 4
        assert all(complete and width > 0 for complete, width in info["images"])
        page = info["page"]
        text = page.locator("body").inner_text()
        for section in ("Summary", "Where MRR came from and went", "How long subscriptions last",
                        "What the current subscribers are worth", "Subscribers to talk to"):
            assert page.get_by_role("heading", name=section).is_visible(), (cid, section)
        for table in ("#kpi-table", "#mrr-bridge", "#plan-models"):
            assert page.locator(table).is_visible(), (cid, table)
        assert page.locator("#at-risk-table").count() == 1 or "No at-risk list" in text
        summary = page.locator("#summary-list li")
        assert 3 <= summary.count() <= 5
        top = page.evaluate("sel => document.querySelector(sel).getBoundingClientRect().top",
                            "#summary-list")
        kpi_top = page.evaluate("sel => document.querySelector(sel).getBoundingClientRect().top",
                                "#kpi-table")
        assert top < kpi_top
        links = page.eval_on_selector_all("#summary-list a",
                                          "els => els.map(e => e.hash.slice(1))")
        assert links and all(page.locator(f"[id='{h}']").count() == 1 for h in links)
        for retail in ("Repeat purchase rate", "Average order value", "RFM", "At Risk",
                       "P(alive)", "bought at least once"):
            assert retail not in text, (cid, retail)
        first = summary.first.inner_text()
        assert ("looks like a snapshot" in first) == (cid == "telco_snapshot"), first
    finally:
        info["context"].close()


@pytest.mark.slow
def test_index_and_error_page_in_chromium(batch: dict, chromium) -> None:
    info = _open(chromium, batch["out"] / "index.html", shot="report-index.png")
    try:
        _offline(info)
        page = info["page"]
        rows = page.locator("#report-index tbody tr")
        assert rows.count() == N
        statuses = [rows.nth(i).locator("td.status").inner_text().split(":")[0]
                    for i in range(N)]
        order = sorted(BATCH_IDS)
        assert statuses == ["failed" if cid == "broken_shop" else "ok" for cid in order]
        hrefs = page.eval_on_selector_all("#report-index a", "els => els.map(e => e.href)")
        assert all(href.startswith("file://") for href in hrefs)
        assert all(Path(re.sub("^file://", "", href)).is_file() for href in hrefs)
        page.locator("#report-index a", has_text="Broken Shop").first.click()
        page.wait_for_load_state("load")
        assert "broken_shop.html" in page.url
        assert "are negative" in page.locator("#error-message").inner_text()
        assert info["errors"] == [] and info["blocked"] == []
    finally:
        info["context"].close()


#: A4 at 96 px per inch, less the print stylesheet's margins (12 mm sides, 14 + 16 mm).
PRINT_WIDTH_PX, PRINT_HEIGHT_PX = (210 - 24) / 25.4 * 96, (297 - 30) / 25.4 * 96


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF written by Chromium (its page objects are not compressed)."""
    assert pdf.startswith(b"%PDF-")
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.mark.slow
def test_reports_print_to_clean_pdf_pages_with_legible_tables(batch: dict, chromium) -> None:
    """Shop and subscription reports: summary first, tables >= 12 px, and "Save as PDF":
    no figure or table row cut across pages, no table cut at the page's right edge."""
    for cid in BATCH:
        info = _open(chromium, batch["out"] / f"{safe_name(cid)}.html")
        try:
            _offline(info)
            page = info["page"]
            items = page.locator("#summary-list li")
            assert 3 <= items.count() <= 5, cid
            targets = page.eval_on_selector_all(
                "#summary-list a", "els => els.map(e => !!document.getElementById("
                "decodeURIComponent(e.hash.slice(1))))")
            assert targets and all(targets), cid
            sizes = page.eval_on_selector_all(
                "table.rk-table td, table.rk-table th",
                "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
            assert len(sizes) > 20 and min(sizes) >= 12, (cid, min(sizes))
            # print media: what "Save as PDF" lays out, at the printable width of A4
            page.emulate_media(media="print")
            page.set_viewport_size({"width": round(PRINT_WIDTH_PX),
                                    "height": round(PRINT_HEIGHT_PX)})
            boxes = page.eval_on_selector_all(
                "img, table.rk-table, table.rk-table tr, #summary-list li",
                "els => els.map(e => [e.tagName, getComputedStyle(e).breakInside,"
                " e.getBoundingClientRect().height, getComputedStyle(e).boxShadow])")
            images = [b for b in boxes if b[0] == "IMG"]
            assert len(images) >= 4, cid
            assert all(b[1] == "avoid" for b in boxes), [b for b in boxes if b[1] != "avoid"]
            assert all(b[3] == "none" for b in boxes)
            # every figure and table row fits on one page, so avoiding a break inside it is
            # possible (a table taller than a page breaks between rows, its header repeated)
            assert all(0 < b[2] < PRINT_HEIGHT_PX for b in boxes if b[0] in ("IMG", "TR")), (
                cid, [b for b in boxes if b[2] >= PRINT_HEIGHT_PX])
            # every table fits the printable width: nothing is cut at the right margin
            widths = page.eval_on_selector_all(
                "table.rk-table", "els => els.map(e => [e.id, e.getBoundingClientRect().right,"
                " e.scrollWidth, e.getBoundingClientRect().width])")
            assert len(widths) >= 4, cid
            assert all(right <= PRINT_WIDTH_PX and scroll <= width + 1
                       for _, right, scroll, width in widths), (cid, widths)
            sizes = page.eval_on_selector_all(
                "table.rk-table td", "els => els.map(e => parseFloat(getComputedStyle(e)"
                ".fontSize))")
            assert min(sizes) >= 12, cid
            pdf = page.pdf(format="A4", prefer_css_page_size=True)
            pages = _pdf_pages(pdf)
            print(f"{cid}: {pages} PDF pages, {len(pdf):,} bytes")
            assert 3 <= pages <= 15, (cid, pages)
        finally:
            info["context"].close()


@pytest.mark.slow
def test_the_browser_check_catches_a_page_that_goes_online(tmp_path: Path, chromium) -> None:
    """Control: nbconvert's stock page asks a CDN for require.js; the recorder sees it."""
    from nbconvert import HTMLExporter

    stock, _ = HTMLExporter(template_name="lab").from_notebook_node(_tiny_executed_notebook())
    path = tmp_path / "stock.html"
    path.write_text(stock, encoding="utf-8")
    info = _open(chromium, path)
    try:
        assert any("require" in url for url in info["blocked"])
        with pytest.raises(AssertionError):
            _offline(info)
    finally:
        info["context"].close()


def test_screenshot_folder_is_ignored_by_git() -> None:
    done = subprocess.run(["git", "check-ignore", "-q", str(ARTIFACTS / "x.png")], cwd=ROOT,
                          check=False)
    assert done.returncode == 0 or not (ROOT / ".git").exists()
    assert os.path.relpath(ARTIFACTS, ROOT).startswith("build")


def test_importing_reports_and_cli_stays_light() -> None:
    code = """
import sys, warnings
import pandas
filters = list(warnings.filters)
import retention_kit.reports, retention_kit.cli
assert warnings.filters == filters
print(sorted(m for m in sys.modules if m.split(".")[0] in {
    "matplotlib", "seaborn", "lifelines", "jupyter_client", "IPython", "ipykernel",
    "papermill", "nbformat", "nbconvert", "playwright", "sklearn", "statsmodels", "scipy"}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout == "[]\n" and done.stderr == ""


# --------------------------------------------------------------------------- raw exports


def test_a_raw_export_is_cleaned_by_its_spec_and_the_report_says_how() -> None:
    export = load_client(DEMO / "till_export")
    truth = export.info["truth"]
    assert len(export.transactions) == truth["orders"] - truth["orders_cancelled_in_full"]
    view = reports.data_quality(export, "GBP")
    rows = {label: (n, money, action) for label, n, money, action in view.rows}
    assert rows["Guest checkouts (no customer id)"][:2] == (
        f"{truth['guest_lines']:,}", f"£{truth['guest_revenue']:,.0f}")
    assert rows["Non-product lines (postage, fees)"][0] == f"{truth['postage_lines']:,}"
    assert rows["Returns of purchases made before the data starts"][0] == str(
        truth["unmatched_return_lines"])
    assert rows["Orders returned in full"] == (f"{truth['orders_cancelled_in_full']} orders", "",
                                               "not counted as purchases")
    assert rows["Identical lines within an order"] == (
        str(truth["identical_lines"]), f"£{truth['identical_lines_revenue']:,.0f}",
        "summed into their order, not dropped")
    assert view.warnings == [w for w in export.quality.warnings]
    assert "quality-table" in view.to_html()
    assert _unlabelled_counts(view.to_html()) == ([], len(view.rows) - 1)  # "28 orders"
    bundle = view._repr_mimebundle_()
    assert bundle[reports.QUALITY_MIME]["n_rows_in"] == truth["n_lines"]
    # a log given as one row per purchase gets one sentence and no table
    plain = reports.data_quality(load_client(DEMO / "retailer"), "EUR")
    assert plain.rows == [] and plain.sentence.startswith("The log was used as given: ")
    assert reports.QUALITY_MIME not in plain._repr_mimebundle_()


@pytest.mark.slow
def test_the_batch_writes_the_data_quality_report_next_to_the_html(tmp_path: Path) -> None:
    results = reports.run_reports(["till_export"], out_dir=tmp_path, workers=1, progress=False)
    assert [r.status for r in results] == ["ok"], results[0].error
    written = json.loads((tmp_path / "till_export.quality.json").read_text())
    expected = load_client(DEMO / "till_export").quality.to_dict()
    assert written["rules"] == expected["rules"] and written["warnings"] == expected["warnings"]
    identical = {r["rule"]: r for r in written["rules"]}["identical_lines"]
    assert identical["rows"] == load_client(DEMO / "till_export").info["truth"]["identical_lines"]
    page = (tmp_path / "till_export.html").read_text()
    assert 'id="quality-table"' in page and "Guest checkouts (no customer id)" in page
    assert "Identical lines within an order" in page
    assert not (tmp_path / "retailer.quality.json").exists()


EXPORT_MAP = ["customer=CustomerID", "date=InvoiceDate", "order=InvoiceNo",
              "amount=Quantity*UnitPrice", "product=StockCode", "exclude_products=POST",
              "cancellation_prefix=C", "date_format=dayfirst", "country=Country"]


def test_map_flags_make_the_spec_and_bad_keys_are_usage_errors(capsys, tmp_path: Path) -> None:
    assert cli.parse_map(EXPORT_MAP) == {**load_client(DEMO / "till_export").info["spec"]}
    export = tmp_path / "hearth.csv"
    export.write_bytes((DEMO / "till_export" / "transactions.csv").read_bytes())
    assert cli.main(["report", "--data", str(export), "--out", str(tmp_path / "out"),
                     "--map", "custmer=CustomerID"]) == 2
    assert "unknown key 'custmer'. How to fix: did you mean 'customer'?" in capsys.readouterr().err
    assert cli.main(["report", "--data", str(export), "--out", str(tmp_path / "out"),
                     "--map", "returns"]) == 2
    assert "--map 'returns' is not KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(DataError, match="parameter spec is not JSON"):
        check_parameters(client_id="x", data_dir=str(export), spec="{customer: 1}")
    with pytest.raises(DataError, match="returns='nett' is not one of"):
        check_parameters(client_id="x", data_dir=str(export),
                         spec='{"amount": "a", "returns": "nett"}')


@pytest.mark.slow
def test_one_export_file_with_map_flags_gives_a_report(capsys, tmp_path: Path) -> None:
    export = tmp_path / "hearth_2024.csv"
    export.write_bytes((DEMO / "till_export" / "transactions.csv").read_bytes())
    out = tmp_path / "out"
    args = ["report", "--data", str(export), "--out", str(out), "--no-progress",
            "-p", "fast", "true"] + [x for m in EXPORT_MAP for x in ("--map", m)]
    assert cli.main(args) == 0, capsys.readouterr().out
    quality = json.loads((out / "hearth_2024.quality.json").read_text())
    truth = load_client(DEMO / "till_export").info["truth"]
    assert quality["n_rows_in"] == truth["n_lines"]
    assert quality["n_orders_out"] == truth["orders"] - truth["orders_cancelled_in_full"]
    # without a spec the error names the columns it wanted and how to describe others
    assert cli.main(["report", "--data", str(export), "--out", str(out), "--no-progress"]) == 1
    text = capsys.readouterr().out
    assert "has no column 'customer_id'" in text and "--map customer=<column>" in text


# --------------------------------------------------------------------------- stopping a batch


def _kernels_of(runtime: Path) -> list[str]:
    """Live processes with a connection file in ``runtime`` (report kernels)."""
    ps = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True,
                        check=True)
    return [line for line in ps.stdout.splitlines() if str(runtime) in line]


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_batch_cleanly(tmp_path: Path, signum: str) -> None:
    import signal
    import time

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    out = tmp_path / "out"
    clients = ["retailer", "marketplace", "seasonal_shop", "till_export", "b2b_saas"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_kit.cli", "report", "--out", str(out),
         "--workers", "2", "--no-progress", "--clients", *clients],
        # kernels' connection files go to the temporary folder (papermill's tempfile)
        env={**os.environ, "TMPDIR": str(runtime), "JUPYTER_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not _kernels_of(runtime) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _kernels_of(runtime), "no kernel started"
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(getattr(signal, signum))
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 30, "the batch did not stop within seconds"
    assert proc.returncode == 130, stderr[-2000:]
    assert "Cancelled:" in stdout and "Traceback" not in stderr
    index = json.loads((out / "index.json").read_text())
    statuses = {r["client_id"]: r["status"] for r in index}
    assert list(statuses) == clients and "cancelled" in statuses.values()
    assert set(statuses.values()) <= {"ok", "cancelled"}
    page = (out / "index.html").read_text()
    assert "cancelled" in page
    time.sleep(1.0)  # killed kernels take a moment to be reaped
    left = [p.name for p in runtime.glob("*.json") if "shell_port" in p.read_text()]
    assert left == [], "connection files (with keys) left behind"
    assert _kernels_of(runtime) == []


def test_an_unwritable_report_fails_its_client_only_and_links_are_not_followed(
        tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('client_id = ""\ndata_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("# Say hello\nprint(client_id)")]
    path = tmp_path / "echo.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "blocked.html").mkdir()  # a directory where the report should go
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    (out / "index.html").symlink_to(secret)
    (out / "fine.ipynb").symlink_to(secret)
    results = reports.run_reports(["blocked", "fine"], out_dir=out, workers=1, notebook=path,
                                  progress=False)
    assert [r.status for r in results] == ["failed", "ok"]
    assert results[0].failed_step == "writing the report"
    assert "error page could not be written either" in results[0].error
    assert secret.read_text() == "keep me"  # the links were replaced, their target kept
    assert not (out / "index.html").is_symlink() and "blocked" in (out / "index.html").read_text()
    assert json.loads((out / "index.json").read_text())[1]["status"] == "ok"


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_usual_permissions_not_a_temporary_files(
        tmp_path: Path, umask: int) -> None:
    # every file of the batch (pages, index, lists) goes through write_atomic, a temporary
    # file (mkstemp: owner-only 0600) renamed; a shared reports folder needs what open()
    # would give: 0o666 less the umask
    from retention_kit.reports._common import write_atomic

    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "index.html", "<p>hello</p>")
        write_atomic(tmp_path / "list.parquet", b"PAR1")
    finally:
        os.umask(previous)
    for name in ("index.html", "list.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name


@pytest.mark.parametrize(("dates", "fragment"), [
    (["2124-01-01", "2124-02-01", "2124-03-01"], "lie more than 366 days after today"),
    (["1900-01-01", "2024-02-01", "2024-03-01"], "spans 124 years (1900-01-01 to 2024-03-01)"),
])
def test_a_log_in_the_future_or_over_a_century_is_refused(tmp_path: Path, dates, fragment):
    pd.DataFrame({"customer_id": ["a", "a", "b"], "date": dates,
                  "amount": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "transactions.csv", index=False)
    with pytest.raises(DataError, match=re.escape(fragment)) as err:
        load_client(tmp_path)
    assert "date_format" in err.value.fix or "date format" in err.value.fix


def test_after_a_cancel_only_the_abandoned_loop_message_is_dropped(monkeypatch) -> None:
    import asyncio
    from types import SimpleNamespace

    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(str(u.exc_value)))
    cli._quiet_abandoned_event_loops()
    loop_del = asyncio.base_events.BaseEventLoop.__del__
    sys.unraisablehook(SimpleNamespace(object=loop_del, exc_value=ValueError(
        "Invalid file descriptor: -1")))
    sys.unraisablehook(SimpleNamespace(object=loop_del, exc_value=OSError("disk full")))
    sys.unraisablehook(SimpleNamespace(object=print, exc_value=ValueError(
        "Invalid file descriptor: -1")))
    assert seen == ["disk full", "Invalid file descriptor: -1"]
