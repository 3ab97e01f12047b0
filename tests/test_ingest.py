"""Raw logs through a TransactionSpec: every rule's count against the generator's truth.

The messy log comes from :func:`retention_kit.simulate_exports.simulate_order_lines`, which records
how every odd row was made (guest checkouts, postage, free samples, referenced and
unreferenced cancellations, returns of purchases made before the log). The cleaning must
find exactly those rows and keep revenue equal to purchases minus matched returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.data import rfm_summary
from retention_kit.errors import DataError
from retention_kit.ingest import TransactionSpec, clean_transactions
from retention_kit.simulate_exports import simulate_order_lines

RETAIL = {"customer": "CustomerID", "date": "InvoiceDate", "order": "InvoiceNo",
          "quantity": "Quantity", "unit_price": "UnitPrice", "product": "StockCode",
          "country": "Country", "exclude_products": ["POST"], "cancellation_prefix": "C",
          "date_format": "dayfirst"}


@pytest.fixture(scope="module", params=[0, 1, 7])
def messy(request) -> tuple[pd.DataFrame, dict]:
    return simulate_order_lines(1500, random_state=request.param)


def rules(log) -> pd.DataFrame:
    return log.quality.rules.set_index("rule")


def test_every_rule_finds_exactly_the_rows_the_generator_made(messy) -> None:
    raw, truth = messy
    before = raw.copy(deep=True)
    log = clean_transactions(raw, RETAIL)
    pd.testing.assert_frame_equal(raw, before)  # the caller's frame is not touched
    r = rules(log)
    assert r.loc["missing_customer", "rows"] == truth["guest_lines"]
    assert r.loc["missing_customer", "revenue"] == pytest.approx(truth["guest_revenue"])
    assert r.loc["excluded_products", "rows"] == truth["postage_lines"]
    assert r.loc["excluded_products", "revenue"] == pytest.approx(truth["postage_revenue"])
    assert r.loc["zero_price", "rows"] == truth["zero_price_lines"]
    assert r.loc["negative_price", "rows"] == 0
    n_returns = truth["return_lines_referenced"] + truth["return_lines_unreferenced"]
    assert r.loc["returns", "rows"] == n_returns + truth["unmatched_return_lines"]
    assert r.loc["returns_netted_by_reference", "rows"] == truth["return_lines_referenced"]
    assert (r.loc["returns_netted_against_earlier_orders", "rows"]
            == truth["return_lines_unreferenced"])
    assert r.loc["unmatched_returns", "rows"] == truth["unmatched_return_lines"]
    assert r.loc["unmatched_returns", "revenue"] == pytest.approx(
        truth["unmatched_returns_revenue"])
    assert r.loc["orders_returned_in_full", "rows"] == truth["orders_cancelled_in_full"]
    # order lines: every purchase line of an order but its first is merged into it
    assert r.loc["order_lines", "rows"] == truth["purchase_lines"] - truth["orders"]
    # identical lines: the repeated ones and same product and quantity twice by chance
    assert r.loc["identical_lines", "rows"] == truth["identical_lines"]
    assert r.loc["identical_lines", "revenue"] == pytest.approx(
        truth["identical_lines_revenue"])
    assert truth["identical_lines"] >= truth["duplicate_lines"] > 0
    q = log.quality
    assert q.n_rows_in == len(raw) == truth["n_lines"]
    assert q.n_orders_out == truth["orders"] - truth["orders_cancelled_in_full"]
    assert q.warnings == [
        f"{truth['customers_in_two_countries']} customer ids appear in more than one country "
        f"(first: {q.warnings[0].split('first: ')[1].split(')')[0]}); check that ids are not "
        "reused across shops."]


def test_netting_keeps_revenue_equal_to_purchases_minus_matched_returns(messy) -> None:
    raw, truth = messy
    log = clean_transactions(raw, RETAIL)
    expected = truth["purchases_revenue"] - truth["matched_returns_revenue"]
    assert log.quality.revenue_out == pytest.approx(expected, abs=0.01)
    assert log.transactions["amount"].sum() == pytest.approx(expected, abs=0.01)
    assert (log.transactions["amount"] > 0).all()
    # identical lines of one order are revenue: dropping them would lose this much
    assert truth["duplicate_lines"] > 0


def test_the_clean_log_goes_straight_into_the_summaries(messy) -> None:
    raw, truth = messy
    out = clean_transactions(raw, RETAIL).transactions
    assert list(out.columns) == ["customer_id", "date", "amount", "order_id", "n_lines",
                                 "country"]
    assert out["customer_id"].map(type).eq(int).all()  # 17850.0 in the export -> 17850
    summary = rfm_summary(out, amount_col="amount", time_unit="W")
    assert len(summary) == out["customer_id"].nunique()
    days = out.assign(day=out["date"].dt.normalize())[["customer_id", "day"]].drop_duplicates()
    assert summary["frequency"].sum() == len(days) - len(summary)  # repeat purchase days


def test_returns_drop_and_keep(messy) -> None:
    raw, truth = messy
    dropped = clean_transactions(raw, {**RETAIL, "returns": "drop"})
    assert dropped.quality.revenue_out == pytest.approx(truth["purchases_revenue"], abs=0.01)
    assert rules(dropped).loc["returns", "revenue"] == pytest.approx(
        truth["matched_returns_revenue"] + truth["unmatched_returns_revenue"])
    kept = clean_transactions(raw, {**RETAIL, "returns": "keep"})
    negative = kept.transactions["amount"] < 0
    assert negative.sum() > 0
    assert kept.transactions["amount"].sum() == pytest.approx(
        truth["purchases_revenue"] - truth["matched_returns_revenue"]
        - truth["unmatched_returns_revenue"], abs=0.01)
    with pytest.raises(DataError, match="negative"):
        rfm_summary(kept.transactions, amount_col="amount")


def test_refusing_policies_name_the_keyword_and_the_flag(messy) -> None:
    raw, truth = messy
    with pytest.raises(DataError, match=r"guest checkouts.*missing_customer='drop'.*"
                       r"--map missing_customer=drop") as err:
        clean_transactions(raw, {**RETAIL, "missing_customer": "raise"})
    assert err.value.n_rows == truth["guest_lines"]
    with pytest.raises(DataError, match=r"unmatched_returns='drop'") as err:
        clean_transactions(raw, {**RETAIL, "unmatched_returns": "raise"})
    assert err.value.n_rows == truth["unmatched_return_lines"]
    with pytest.raises(DataError, match="zero_price='drop'") as err:
        clean_transactions(raw, {**RETAIL, "zero_price": "raise"})
    assert err.value.n_rows == truth["zero_price_lines"]


def test_without_an_order_id_lines_of_one_customer_and_time_are_one_order() -> None:
    raw = pd.DataFrame({"customer_id": [1, 1, 1, 2],
                        "date": ["2024-01-05 10:00", "2024-01-05 10:00", "2024-01-09 08:00",
                                 "2024-01-05 10:00"],
                        "amount": [3.0, 3.0, 4.5, 2.0]})
    log = clean_transactions(raw, {"amount": "amount"})
    t = log.transactions
    assert t["amount"].tolist() == [6.0, 2.0, 4.5]  # the two identical lines are summed
    assert t["n_lines"].tolist() == [2, 1, 1]
    assert t["order_id"].tolist() == ["1@2024-01-05 10:00:00", "2@2024-01-05 10:00:00",
                                      "1@2024-01-09 08:00:00"]
    assert rules(log).loc["order_lines", "rows"] == 1


def test_identical_lines_of_an_order_are_counted_and_summed_not_dropped() -> None:
    raw = pd.DataFrame({"order": ["1", "1", "1", "1", "2", "3"],
                        "customer_id": [7, 7, 7, 7, 7, 8],
                        "date": ["2024-01-05 10:00"] * 4 + ["2024-01-06 10:00"] * 2,
                        "code": ["mug", "mug", "mug", "tea", "mug", "mug"],
                        "amount": [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]})
    log = clean_transactions(raw, {"amount": "amount", "order": "order", "product": "code"})
    assert log.transactions["amount"].tolist() == [12.0, 3.0, 3.0]  # nothing dropped
    row = rules(log).loc["identical_lines"]
    # rows 1 and 2 repeat row 0; the tea line, order 2 and customer 8's order differ
    assert (row["policy"], row["rows"], row["revenue"]) == ("sum", 2, 6.0)
    assert row["first_example"].startswith("row 1: ")
    # a column the spec does not name (a line number) makes the lines different
    numbered = raw.assign(line=[1, 2, 3, 4, 1, 1])
    log = clean_transactions(numbered, {"amount": "amount", "order": "order", "product": "code"})
    assert rules(log).loc["identical_lines", "rows"] == 0
    assert rules(log).loc["identical_lines", "first_example"] == ""


def test_a_return_without_reference_nets_against_the_latest_earlier_order() -> None:
    raw = pd.DataFrame({"customer_id": ["a"] * 4,
                        "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-05"],
                        "amount": [10.0, 8.0, 5.0, -9.0]})
    out = clean_transactions(raw, {"amount": "amount"}).transactions
    # -9 takes the 5 of March, then 4 of February's 8; January is untouched
    assert out["amount"].tolist() == [10.0, 4.0]
    assert out["date"].dt.strftime("%m-%d").tolist() == ["01-01", "02-01"]


@pytest.mark.parametrize(("values", "fmt", "expected"), [
    (["31/01/2024 14:05", "01/02/2024 09:00"], "dayfirst",
     ["2024-01-31 14:05", "2024-02-01 09:00"]),
    (["01/02/2024", "12/31/2024"], "monthfirst", ["2024-01-02 00:00", "2024-12-31 00:00"]),
    ([1704067200, 1706745600], "epoch_s", ["2024-01-01 00:00", "2024-02-01 00:00"]),
    ([45292, 45323.5], "excel", ["2024-01-01 00:00", "2024-02-01 12:00"]),
    (["05.03.2024 10:00", "06.03.2024 11:30"], "%d.%m.%Y %H:%M",
     ["2024-03-05 10:00", "2024-03-06 11:30"]),
])
def test_date_formats(values, fmt, expected) -> None:
    raw = pd.DataFrame({"customer_id": [1, 2], "date": values, "amount": [1.0, 2.0]})
    out = clean_transactions(raw, {"amount": "amount", "date_format": fmt}).transactions
    got = out.sort_values("customer_id")["date"].dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert got == expected


def test_time_zones_become_the_chosen_wall_clock() -> None:
    raw = pd.DataFrame({"customer_id": [1, 2], "amount": [1.0, 2.0],
                        "date": ["2024-03-31T23:30:00+00:00", "2024-06-01T08:00:00+02:00"]})
    out = clean_transactions(raw, {"amount": "amount", "timezone": "Europe/Berlin"})
    got = out.transactions.sort_values("customer_id")["date"].dt.strftime("%Y-%m-%d %H:%M")
    assert got.tolist() == ["2024-04-01 01:30", "2024-06-01 08:00"]  # CEST is UTC+2


def test_misread_dates_are_refused_with_the_keyword_to_fix_them() -> None:
    raw = pd.DataFrame({"customer_id": [1, 2], "date": ["31/01/2024", "15/02/2024"],
                        "amount": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"date_format='iso'.*set date_format") as err:
        clean_transactions(raw, {"amount": "amount"})
    assert err.value.n_rows == 2
    excel = raw.assign(date=[45292, 45323])  # Excel serial days read as epoch seconds
    with pytest.raises(DataError, match="before 1980 or more than five years ahead"):
        clean_transactions(excel, {"amount": "amount", "date_format": "epoch_s"})


def test_amounts_with_currency_symbols_and_decimal_commas() -> None:
    raw = pd.DataFrame({"customer_id": [1, 2, 3], "date": ["2024-01-01"] * 3,
                        "amount": ["1.234,50 €", "€ 12,00", "(5,25)"]})
    out = clean_transactions(raw, {"amount": "amount", "decimal": ",", "returns": "keep"})
    assert sorted(out.transactions["amount"].tolist()) == [-5.25, 12.0, 1234.5]
    with pytest.raises(DataError, match=r"not amounts.*decimal=','") as err:
        clean_transactions(raw.assign(amount=["1.00", "two", "3"]), {"amount": "amount"})
    assert err.value.n_rows == 1 and "two" in str(err.value)


def test_spec_errors_teach() -> None:
    with pytest.raises(DataError, match=r"unknown key 'custmer'.*did you mean 'customer'"):
        TransactionSpec.from_dict({"custmer": "id", "amount": "total"})
    with pytest.raises(DataError, match=r"returns='nett' is not one of.*did you mean 'net'"):
        TransactionSpec(amount="a", returns="nett")
    with pytest.raises(DataError, match="names no amount"):
        TransactionSpec()
    with pytest.raises(DataError, match="exclude_products needs the product column"):
        TransactionSpec(amount="a", exclude_products=("POST",))
    with pytest.raises(DataError, match=r"no column 'CustomerID'.*--map customer="):
        clean_transactions(pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"],
                                         "amount": [1.0]}),
                           {"customer": "CustomerID", "amount": "amount"})
    spec = TransactionSpec.from_dict(RETAIL)
    assert TransactionSpec.from_dict(spec.to_dict()) == spec


def test_gaps_and_spikes_are_warned_about() -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    days = days[(days < "2024-03-01") | (days > "2024-03-20")]  # 20 days without orders
    n = 600
    raw = pd.DataFrame({"customer_id": rng.integers(0, 50, n),  # about 12 orders each
                        "date": rng.choice(days, n), "amount": 10.0})
    spike = pd.DataFrame({"customer_id": np.arange(1000, 1060),
                          "date": pd.Timestamp("2024-05-02"), "amount": 1.0})
    q = clean_transactions(pd.concat([raw, spike]), {"amount": "amount"}).quality
    assert q.gaps == [("2024-03-01", "2024-03-20")]
    assert q.warnings[0].startswith("No orders from 2024-03-01 to 2024-03-20")
    assert q.warnings[1].startswith("60 one-time buyers on 2024-05-02")


def test_the_report_renders_and_serialises(messy) -> None:
    import json

    raw, _ = messy
    q = clean_transactions(raw, RETAIL).quality
    html = q._repr_html_()
    assert "<table" in html and "missing_customer" in html and "Warnings" in html
    back = json.loads(q.to_json())
    assert back["n_rows_in"] == q.n_rows_in and len(back["rules"]) == len(q.rules)
    assert q.to_frame().equals(q.rules)
