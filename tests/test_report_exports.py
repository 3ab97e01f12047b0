"""Customer lists next to each report (``reports.exports``) and the batch's index.

The lists are checked against the report's own tables on demo shops, one per verdict:
retailer (``ok``: exact values), till_export (``caution``: 90% ranges) and seasonal_shop
(``unreliable``: no model numbers at all); subscription clients get the subscription report
and its subscriber list (tests/test_subscription_report.py). Every number must reconcile:
one row per customer of the headline count, the segment table's counts, the tier table's
customers and totals (and interval totals), past purchases and spend adding up to the
headline orders and revenue. The batch itself (the notebook writing the files, the links
in the page and the index) is checked in ``tests/test_reports.py`` on its batch fixture.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_kit import cli, reports
from retention_kit.clv import unit_length
from retention_kit.datasets import data_dir
from retention_kit.errors import DataError
from retention_kit.reports import (
    ReportResult,
    act_on_segments,
    customer_list,
    export_customers,
    forecast_clv,
    headline_kpis,
    load_client,
    segment_table,
    tier_table,
    write_index,
)

DEMO = data_dir() / "demo"


@pytest.fixture(scope="module")
def made() -> dict:
    """Client, forecast (6 months), segment table, tier table, KPIs and list, per verdict."""
    out = {}
    for cid in ("retailer", "till_export", "seasonal_shop"):
        client = load_client(DEMO / cid)
        forecast = forecast_clv(client, horizon_months=6)
        view = segment_table(client, forecast)
        out[cid] = {"client": client, "forecast": forecast, "segments": view,
                    "tiers": tier_table(forecast), "kpis": headline_kpis(client),
                    "list": customer_list(client, forecast, view)}
    assert [out[c]["forecast"].verdict for c in out] == ["ok", "caution", "unreliable"]
    return out


def _reconciles_with_the_report(m: dict) -> None:
    """The invariants every list keeps, whatever the verdict."""
    table, client, kpis, view = m["list"], m["client"], m["kpis"], m["segments"]
    assert len(table) == kpis.customers and table.index.is_unique
    assert table.index.name == "customer_id"
    assert set(table.index) == set(client.transactions["customer_id"])
    counts = table["segment"].value_counts()
    assert counts.sort_index().to_dict() == view["customers"].sort_index().to_dict()
    assert int(table["purchases"].sum()) == kpis.orders
    assert table["spend"].sum() == pytest.approx(kpis.revenue, rel=1e-12)
    last = client.transactions.groupby("customer_id")["date"].max().dt.date
    assert (table["last_purchase"] == last.reindex(table.index)).all()
    assert (table["action"] == table["segment"].map(view["action"])).all()
    assert not table.drop(columns=[c for c in ("clv_tier",) if c in table.columns]) \
        .isna().any().any()


def test_a_trusted_forecast_gives_exact_values_that_add_up_to_the_tier_table(made) -> None:
    m = made["retailer"]
    table, forecast, tiers = m["list"], m["forecast"], m["tiers"]
    _reconciles_with_the_report(m)
    assert list(table.columns) == ["segment", "clv_tier", "clv", "p_alive",
                                   "expected_purchases", "purchases", "spend",
                                   "last_purchase", "action"]
    assert table.attrs["clv"] == "exact" and table.attrs["withheld"] == []
    assert table.attrs["no_forecast"] == 0
    # highest value first, ties by id
    assert table["clv"].is_monotonic_decreasing
    assert (table["clv"] == forecast.clv.reindex(table.index)).all()
    assert (table["p_alive"] == forecast.alive.reindex(table.index)).all()
    # the tier table's customers and totals, tier by tier; customers worth 0 have no tier
    by_tier = table.groupby("clv_tier")["clv"].agg(["size", "sum"])
    for tier, row in tiers.iterrows():
        assert by_tier.loc[tier, "size"] == row["customers"], tier
        assert by_tier.loc[tier, "sum"] == pytest.approx(row["clv_total"], rel=1e-12), tier
    assert table["clv_tier"].isna().sum() == (table["clv"] == 0).sum() == 0
    assert int(tiers["customers"].sum()) == 4000  # a shop's customers all have a value


def test_use_with_care_gives_ranges_that_add_up_to_the_tier_table_ranges(made) -> None:
    m = made["till_export"]
    table, forecast, tiers = m["list"], m["forecast"], m["tiers"]
    _reconciles_with_the_report(m)
    assert (table["clv_lower"] == forecast.clv_lower.reindex(table.index)).all()
    assert table.attrs["clv"] == "ranges"
    assert {"clv", "clv_lower", "clv_upper", "p_alive"} <= set(table.columns)
    assert "expected_purchases" in table.columns  # a shop's model forecasts purchases
    assert (table["clv_lower"] <= table["clv"]).all() and (table["clv"] <= table["clv_upper"]).all()
    valued = table.loc[table["clv"] > 0]
    for col, total in (("clv", "clv_total"), ("clv_lower", "clv_total_low"),
                       ("clv_upper", "clv_total_high")):
        sums = valued.groupby("clv_tier")[col].sum()
        for tier, row in tiers.iterrows():
            assert sums[tier] == pytest.approx(row[total], rel=1e-12), (col, tier)


def test_an_unreliable_forecast_leaves_every_model_number_out_and_says_why(made) -> None:
    m = made["seasonal_shop"]
    table, forecast = m["list"], m["forecast"]
    _reconciles_with_the_report(m)
    assert m["tiers"] is None and "mean_alive" not in m["segments"].columns
    assert list(table.columns) == ["segment", "purchases", "spend", "last_purchase", "action"]
    assert table.attrs["clv"] == "withheld"
    assert table.attrs["withheld"] == forecast.withheld() and len(forecast.withheld()) == 2
    # ranked by past spend, the one number left that says who matters
    assert table["spend"].is_monotonic_decreasing
    text = reports.customer_list_readme(table, currency="GEL")
    assert "No P(alive), expected purchases, CLV or tier" in text
    assert all(reason in text for reason in forecast.withheld())
    assert "clv" not in text.split("Columns:")[1]


def test_expected_purchases_come_from_the_transaction_model_over_the_horizon(made) -> None:
    """A shop's model (Pareto/NBD here) gives expected purchases: E[X(T, T+t)] with t the
    6-month horizon in weeks, 6 x 365.25 / 12 / 7 = 26.09 weeks."""
    m = made["seasonal_shop"]
    trusted = replace(m["forecast"], diagnostics=None)  # no checks: verdict "ok"
    assert trusted.verdict == "ok"
    table = customer_list(m["client"], trusted, m["segments"])
    weeks = 6 * unit_length("M", in_unit="W")
    assert weeks == pytest.approx(26.0893, abs=1e-4)
    summary = m["client"].btyd_summary
    want = trusted.model.expected_purchases(summary, weeks)
    assert np.allclose(table["expected_purchases"], want.reindex(table.index), rtol=0,
                       atol=0)
    # over a horizon, a customer is expected to buy less the less likely she is alive
    one_timers = summary.index[summary["frequency"] == 0]
    sub = table.loc[one_timers]
    assert sub["expected_purchases"].corr(sub["p_alive"], method="spearman") > 0.99


def test_a_customer_the_forecast_does_not_cover_is_empty_and_counted(made) -> None:
    m = made["retailer"]
    f = m["forecast"]
    gone = f.clv.index[:2]
    partial = replace(f, clv=f.clv.drop(gone), alive=f.alive.drop(gone))
    table = customer_list(m["client"], partial, m["segments"])
    assert len(table) == 4000 and table.attrs["no_forecast"] == 2
    assert table.loc[gone, ["clv", "p_alive", "clv_tier"]].isna().all().all()
    assert list(table.index[-2:]) == sorted(gone)  # no value: last
    text = reports.customer_list_readme(table)
    assert "Customers without a forecast: 2 " in text


def test_segments_to_act_on_and_their_top_customers(made) -> None:
    m = made["retailer"]
    view, table = m["segments"], m["list"]
    chosen = act_on_segments(view)
    assert chosen == ["At Risk", "Can't Lose Them", "About to Sleep", "Need Attention"]
    # the first is the segment "What to do next" names
    steps = reports.next_steps(m["kpis"], segments=view)
    assert any(step.startswith(f"Act on the '{chosen[0]}' segment") for step in steps)
    top = reports.top_customers(table, chosen, n=5)
    assert top.attrs["ranked_by"] == "clv" and list(top.index) == [
        "R00630", "R03048", "R00037", "R03617", "R01367"]
    pool = table.loc[table["segment"].isin(chosen)]
    assert top["clv"].iloc[-1] >= pool["clv"].nlargest(5).iloc[-1]
    # with no value for anyone in those segments, past spend ranks them
    shop = made["retailer"]["list"]
    gone = shop.assign(clv=0.0)
    top = reports.top_customers(gone, chosen, n=3)
    assert top.attrs["ranked_by"] == "spend"
    risky = gone.loc[gone["segment"].isin(chosen)]
    assert list(top["spend"]) == sorted(risky["spend"], reverse=True)[:3]


def test_a_segment_table_of_other_data_is_refused(made) -> None:
    m = made["retailer"]
    other = made["seasonal_shop"]["segments"]
    with pytest.raises(ValueError, match="segment_view does not describe this client"):
        customer_list(m["client"], m["forecast"], other)


def test_export_writes_csv_parquet_and_readme_that_match_the_list(made, tmp_path) -> None:
    m = made["till_export"]
    table = m["list"]
    path = tmp_path / "till.customers.csv"
    view = export_customers(table, path=str(path), currency="EUR",
                            segments=act_on_segments(m["segments"]))
    assert view.to_dict()["files"] == {"csv": "till.customers.csv",
                                       "parquet": "till.customers.parquet",
                                       "readme": "till.customers.txt"}
    csv = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False,
                      na_values=[""]).set_index("customer_id")
    assert list(csv.columns) == list(table.columns) and list(csv.index) == list(table.index)
    assert (csv["clv"] - table["clv"]).abs().max() <= 0.005
    assert (csv["p_alive"] - table["p_alive"]).abs().max() <= 0.00005
    assert csv["clv_tier"].isna().sum() == (table["clv"] == 0).sum()
    parquet = pd.read_parquet(path.with_suffix(".parquet"))
    assert list(parquet.index) == list(csv.index)
    assert np.allclose(parquet["clv"], csv["clv"], rtol=0, atol=0)
    readme = path.with_suffix(".txt").read_text(encoding="utf-8")
    assert readme.startswith("Customer list of Hearth & Loom: 587 customers")
    assert "read each clv within its 90% range" in readme and "in EUR" in readme
    html = view.to_html()
    assert 'href="till.customers.csv"' in html and 'href="till.customers.parquet"' in html
    assert str(tmp_path) not in html and 'id="top-customers"' in html
    bundle = view._repr_mimebundle_()
    assert bundle[reports.CUSTOMERS_MIME]["customers"] == 587


def test_without_pyarrow_there_is_no_parquet_and_the_list_says_so(made, tmp_path,
                                                                   monkeypatch) -> None:
    m = made["seasonal_shop"]
    path = tmp_path / "shop.customers.csv"
    stale = path.with_suffix(".parquet")
    stale.write_bytes(b"an older run's list")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
        view = export_customers(m["list"], path=str(path), segments=["At Risk"])
    assert "parquet" not in view.files and not stale.exists()
    assert any("No Parquet file: pyarrow is not installed" in n for n in view.notes)
    assert "No Parquet file" in path.with_suffix(".txt").read_text(encoding="utf-8")
    csv = pd.read_csv(path)
    assert "clv" not in csv.columns and len(csv) == 3000


def test_export_refuses_a_bad_path_and_writes_nothing_without_one(made, tmp_path) -> None:
    table = made["retailer"]["list"]
    with pytest.raises(DataError, match="is not a .csv file in an existing folder"):
        export_customers(table, path=str(tmp_path / "missing" / "x.customers.csv"))
    with pytest.raises(DataError, match="is not a .csv file"):
        export_customers(table, path=str(tmp_path / "x.xlsx"))
    view = export_customers(table, path="")
    assert view.files == {} and "customer_list parameter is empty" in view.notes[0]
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the index


def _result(tmp_path: Path, cid: str, **kw) -> ReportResult:
    return ReportResult(client_id=cid, name=cid, status=kw.pop("status", "ok"),
                        html=tmp_path / f"{cid}.html", notebook=tmp_path / f"{cid}.ipynb",
                        seconds=12.5, **kw)


def test_index_has_period_time_verdict_and_list_links_with_relative_paths_only(
        tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    for name in ("shop.ipynb", "broken.ipynb"):
        (out / name).write_text("{}")
    kpis = {"display_name": "Shop", "customers": 3000, "active_customers": 1250,
            "retention": 0.9, "churn": 0.1,
            "repeat_purchase_rate": 0.4, "aov": 80.0, "currency": "EUR",
            "data_start": "2022-01-02", "data_end": "2024-12-31"}
    shop = _result(out, "shop", kpis=kpis, verdict="unreliable",
                   generated_at="2026-12-07T17:55:02+00:00",
                   customer_list={"customers": 3000, "clv": "withheld",
                                  "files": {"csv": "shop.customers.csv",
                                            "readme": "shop.customers.txt"}})
    broken = _result(out, "broken", status="failed", error_type="OSError",
                     error=f"cannot write {out / 'broken.html'}", failed_step="writing",
                     traceback=f'File "{out.resolve()}/broken.ipynb"',
                     generated_at="2026-12-07T17:56:40+00:00")
    page = write_index([shop, broken], out).read_text(encoding="utf-8")
    saved = (out / "index.json").read_text(encoding="utf-8")
    for text in (page, saved):
        assert str(out) not in text and str(out.resolve()) not in text
        assert str(tmp_path) not in text
    assert ".ipynb" not in page and "Seconds" not in page
    for header in ("Period covered", "Generated", "Status", "Active customers", "Retention",
                   "Forecast", "Customer list"):
        assert f"<th>{header}</th>" in page
    assert "2022-01-02<br>to 2024-12-31" in page and "2026-12-07<br>17:55 UTC" in page
    # the rates' population (last period's active customers), not everyone who ever bought
    assert "<td>1,250</td>" in page and "<td>3,000</td>" not in page
    assert "Generated 2026-12-07 17:56 UTC." in page  # the run: its last report
    assert ">not supported</span>" in page
    assert 'href="shop.customers.csv"' in page and "no Parquet (pyarrow is not installed)" \
        in page and "no values (not supported by the data)" in page
    records = {r["client_id"]: r for r in json.loads(saved)}
    assert records["shop"]["html"] == "shop.html" and records["shop"]["seconds"] == 12.5
    assert records["shop"]["notebook"] == "shop.ipynb"
    assert records["broken"]["error"] == "cannot write broken.html"
    assert records["broken"]["traceback"] == 'File "broken.ipynb"'
    assert records["shop"]["customer_list"]["files"]["csv"] == "shop.customers.csv"


# --------------------------------------------------------------------------- the CLI


def test_cli_kernels_flag_reaches_run_reports(monkeypatch, tmp_path, capsys) -> None:
    seen: list[str] = []

    def fake_run_reports(clients, **kw):
        seen.append(kw["kernels"])
        return []

    monkeypatch.setattr(reports, "run_reports", fake_run_reports)
    base = ["report", "--clients", "b2b_saas", "--out", str(tmp_path / "out")]
    assert cli.main(base) == 0
    assert cli.main([*base, "--kernels", "fresh"]) == 0
    assert cli.main([*base, "--kernels", "warm"]) == 0
    assert seen == ["warm", "fresh", "warm"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        cli.main([*base, "--kernels", "tepid"])
    assert stop.value.code == 2
    assert "invalid choice: 'tepid' (choose from 'warm', 'fresh')" in capsys.readouterr().err
    assert seen == ["warm", "fresh", "warm"]
    assert "--kernels {warm,fresh}" in cli.build_parser()._subparsers._group_actions[0] \
        .choices["report"].format_help()


def test_the_customer_list_parameter_is_set_per_client(tmp_path, capsys) -> None:
    assert cli.main(["report", "-p", "customer_list", "x.csv", "--out",
                     str(tmp_path / "out")]) == 2
    assert "parameter 'customer_list' is set per client" in capsys.readouterr().err
    with pytest.raises(ValueError, match="set per client"):
        reports.run_reports(["retailer"], out_dir=tmp_path,
                            parameters={"customer_list": "x.csv"})
