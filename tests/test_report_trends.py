"""Tests of the report's trends (reports.trends.shop_trends) and trend_sentence."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from retention_kit.datasets import data_dir
from retention_kit.errors import DataError
from retention_kit.reports import (
    ClientData,
    headline_kpis,
    load_client,
    period_retention,
    shop_trends,
    trend_sentence,
)

DEMO = data_dir() / "demo"
COLUMNS = ["active_customers", "retention", "churn", "revenue", "orders", "new_customers"]


def tiny_client(transactions: pd.DataFrame, end: str, subscriptions=None) -> ClientData:
    return ClientData(client_id="tiny", transactions=transactions, subscriptions=subscriptions,
                      info={"currency": "EUR"}, observation_end=pd.Timestamp(end))


@pytest.fixture(scope="module")
def retailer() -> ClientData:
    return load_client(DEMO / "retailer")


def test_trends_by_hand_with_an_inactivity_rule() -> None:
    # a buys 20 Jan and twice on 25 Feb (one purchase day, two rows); b only 10 Jan (lapses
    # 9 Feb); c from 10 Feb; d 5 Mar. Rule: 30 days, so periods ending before 30 Jan
    # (1 Jan + 29 days) are not judged: none here (January ends on the 31st).
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c", "c", "d"],
                       "date": pd.to_datetime(["2024-01-20", "2024-02-25", "2024-02-25",
                                               "2024-01-01", "2024-02-10", "2024-03-20",
                                               "2024-03-05"]),
                       "amount": [10.0, 5.0, 7.0, 20.0, 1.0, 2.0, 4.0]})
    t = shop_trends(tiny_client(tx, "2024-03-31"), inactivity_days=30)
    assert list(t.columns) == COLUMNS
    assert [str(p) for p in t.index] == ["2024-01", "2024-02", "2024-03"]
    # active end Jan: a (20 Jan); b's 1 Jan is not after 31 Jan - 30 days -> a only.
    # End Feb: a, c. End Mar: c, d.
    assert t["active_customers"].tolist() == [1, 2, 2]
    assert t["orders"].tolist() == [2, 2, 2]  # 25 Feb counts once for a
    assert t["revenue"].tolist() == [30.0, 13.0, 6.0]
    assert t["new_customers"].tolist() == [2, 1, 1]
    # Feb: of {a}, a is still active -> retention 1. Mar: of {a, c}, a is lost (her last
    # purchase, 25 Feb, is not after 31 Mar - 30 days = 1 Mar) -> 0.5.
    assert math.isnan(t["retention"].iloc[0])
    assert t["retention"].iloc[1:].tolist() == [1.0, 0.5]
    assert t["churn"].iloc[1:].tolist() == [0.0, 0.5]
    assert t.attrs["judged_from"] == "2024-02" and t.attrs["not_judged"] == ""
    assert t.attrs["currency"] == "EUR" and t.attrs["units"]["orders"] == "purchase days"


def test_periods_the_rule_cannot_judge_are_missing_not_zero() -> None:
    # 90-day rule from 1 Jan: the look-back reaches before the data until 30 Mar, so
    # January and February have no active count and no churn (instead of a ramp and 0%).
    tx = pd.DataFrame({"customer_id": ["a", "b", "a", "c"],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-03-01",
                                               "2024-05-20"]),
                       "amount": 1.0})
    t = shop_trends(tiny_client(tx, "2024-05-31"), inactivity_days=90)
    assert t["active_customers"].isna().tolist() == [True, True, False, False, False]
    assert t["churn"].isna().tolist() == [True, True, True, False, False]
    assert t["revenue"].notna().all() and t["orders"].sum() == 4
    assert t.attrs["judged_from"] == "2024-04"
    assert "looks back before the first transaction (2024-01-01)" in t.attrs["not_judged"]


@pytest.mark.parametrize("name", ["retailer", "seasonal_shop", "subscription_box"])
def test_last_point_is_the_headline(name: str) -> None:
    client = load_client(DEMO / name)
    t = shop_trends(client)
    k = headline_kpis(client)
    assert str(t.index[-1]) == k.last_period
    assert t["active_customers"].iloc[-1] == k.active_customers
    assert t["retention"].iloc[-1] == k.retention
    assert t["churn"].iloc[-1] == k.churn
    assert t["retention"].iloc[-2] == k.retention_previous
    # the window is the whole log: the orders and revenue of the headline, in one unit
    assert int(t["orders"].sum()) == k.orders
    assert t["revenue"].sum() == pytest.approx(k.revenue, rel=1e-12)


def test_retailer_trends_numbers(retailer: ClientData) -> None:
    t = shop_trends(retailer)
    assert (len(t), str(t.index[0]), str(t.index[-1])) == (36, "2022-01", "2024-12")
    assert t.attrs["judged_from"] == "2022-07"  # 180-day rule from 2022-01-01
    last = t.iloc[-1]
    assert (last["active_customers"], round(last["churn"], 4), last["orders"]) == (
        1489, 0.1059, 541)
    # 18,255 purchase days from 18,481 rows: the trend counts orders as the headline does
    assert int(t["orders"].sum()) == 18255 and len(retailer.transactions) == 18481
    # acquisition ends in September 2024 in the simulation
    assert t["new_customers"].loc["2024-10":].tolist() == [0, 0, 0]
    assert int(t["new_customers"].sum()) == retailer.transactions["customer_id"].nunique()


def test_a_given_retention_table_is_reused_and_checked(retailer: ClientData) -> None:
    full = period_retention(retailer, n_periods=36)
    assert shop_trends(retailer, retention=full).equals(shop_trends(retailer))
    with pytest.raises(DataError, match="does not cover the whole window"):
        shop_trends(retailer, retention=period_retention(retailer, n_periods=14))
    with pytest.raises(DataError, match="inactivity_days"):
        shop_trends(retailer, inactivity_days=0)


def test_trend_sentence_demo(retailer: ClientData) -> None:
    assert trend_sentence(shop_trends(retailer)) == (
        "Revenue fell 17% over the last 12 months (€25,586 in 2023-12, €21,302 in 2024-12); "
        "churn rose from 9.0% to 10.6% a month.")


def _table(active, churn, start="2023-12"):
    return pd.DataFrame({"active_customers": active, "churn": churn},
                        index=pd.period_range(start, periods=len(active), freq="M"))


def test_trend_sentence_never_says_minus_zero() -> None:
    flat = _table([1000.0] + [900.0] * 11 + [999.0], [0.0412] + [0.05] * 11 + [0.0409])
    text = trend_sentence(flat, "M")
    assert text == ("Active customers stayed about the same over the last 12 months "
                    "(1,000 in 2023-12, 999 in 2024-12); churn stayed at 4.1% a month.")
    assert "-0" not in text


def test_trend_sentence_short_window_and_missing_start() -> None:
    # four months, the first without churn: compared from the first value there is
    t = _table([100.0, 110.0, 120.0, 150.0], [float("nan"), 0.05, 0.04, 0.03], "2024-09")
    assert trend_sentence(t, "M") == (
        "Active customers rose 50% over the last 3 months (100 in 2024-09, 150 in 2024-12); "
        "churn fell from 5.0% to 3.0% a month (2024-10 to 2024-12).")
    assert trend_sentence(t.iloc[:1], "M") == "Too few periods yet to read a trend."


def test_trend_sentence_in_weeks_compares_52_weeks_back() -> None:
    idx = pd.period_range("2023-12-25", periods=53, freq="W")
    t = pd.DataFrame({"revenue": [100.0] * 52 + [80.0], "churn": [0.02] * 52 + [0.025]},
                     index=idx)
    t.attrs.update(period="W", currency="GBP")
    assert trend_sentence(t) == (
        "Revenue fell 20% over the last 52 weeks (£100.00 in the week of 2023-12-25, £80.00 "
        "in the week of 2024-12-23); churn rose from 2.0% to 2.5% a week.")


def test_a_log_shorter_than_the_activity_rule_measures_no_churn(retailer) -> None:
    # The retailer's last four months alone: a 180-day rule cannot tell who was active
    # (customers who bought before the log are missing), so no month's retention or churn
    # is measured: not 100% and 0%, and no churn cut is valued (the report used to fail)
    from retention_kit.reports import churn_value, format_table

    tx = retailer.transactions
    short = tiny_client(tx.loc[tx["date"] >= "2024-09-01"].reset_index(drop=True),
                        "2024-12-31")
    table = period_retention(short, n_periods=12)
    assert table["churn_rate"].isna().all() and table["retention_rate"].isna().all()
    assert table["end"].iloc[-1] > 0  # customers are counted, rates are not
    assert table.attrs["not_judged"] == ("the 180-day activity rule looks back before the "
                                         "first transaction until 2025-02-27")
    kpis = headline_kpis(short, retention=table)
    rates = {m.split(" (")[0]: (v, d) for m, v, _c, d in kpis.rows()}
    assert rates["Churn rate"][0] == "n/a" and "not measured yet: the 180-day" in \
        rates["Churn rate"][1]
    value = churn_value(short, table, margin=0.3, discount_rate=0.01)
    assert value.empty and "No churn cut can be valued yet" in value.attrs["caption"]
    assert "<caption>No churn cut can be valued yet" in format_table(value)
    # a long log keeps its rates: the retailer's last 12 months are all measured
    full = period_retention(retailer, n_periods=12)
    assert full["churn_rate"].notna().all() and full.attrs["not_judged"] == ""
