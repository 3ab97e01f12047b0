"""The engine path of clean_transactions gives the pandas path's results, exactly.

Every test runs the same raw log through pandas (a DataFrame) and through an engine (Parquet
and CSV files read by DuckDB, a DuckDB table, and a table on a real PostgreSQL server when
one can be started: see ``postgres`` in conftest.py), and compares the clean frame (columns,
dtypes, values, order) and the whole data-quality report (rules table with rows, revenue and
first example, window, gaps, warnings), or the DataError message.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retention_kit.data import rfm_summary
from retention_kit.errors import DataError
from retention_kit.ingest import clean_rfm_summary, clean_transactions
from retention_kit.simulate_exports import simulate_order_lines

ibis = pytest.importorskip("ibis")
pytest.importorskip("duckdb")

RETAIL = {"customer": "CustomerID", "date": "InvoiceDate", "order": "InvoiceNo",
          "quantity": "Quantity", "unit_price": "UnitPrice", "product": "StockCode",
          "country": "Country", "exclude_products": ["POST"], "cancellation_prefix": "C",
          "date_format": "dayfirst"}


def assert_same(expected, got) -> None:
    pd.testing.assert_frame_equal(expected.transactions, got.transactions)
    pd.testing.assert_frame_equal(expected.quality.rules, got.quality.rules)
    assert expected.quality.to_dict() == got.quality.to_dict()


def as_parquet(raw: pd.DataFrame, tmp_path) -> str:
    path = tmp_path / "log.parquet"
    raw.to_parquet(path, index=False)
    return str(path)


def as_csv(raw: pd.DataFrame, tmp_path) -> str:
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    return str(path)


def as_duckdb_table(raw: pd.DataFrame, tmp_path) -> object:
    con = ibis.duckdb.connect()
    return con.create_table("log", raw)


ENGINES = {"parquet": as_parquet, "duckdb_table": as_duckdb_table}


@pytest.fixture(params=["parquet", "duckdb_table", "postgres"])
def engine(request, tmp_path):
    """A function raw -> the same log on an engine."""
    if request.param == "postgres":
        pg = request.getfixturevalue("postgres")
        return lambda raw: pg.load(raw)
    make = ENGINES[request.param]
    return lambda raw: make(raw, tmp_path)


def both(raw: pd.DataFrame, spec: dict, engine) -> None:
    assert_same(clean_transactions(raw, spec), clean_transactions(engine(raw), spec))


# --------------------------------------------------------------------------- the messy export


@pytest.fixture(scope="module", params=[0, 1, 7])
def messy(request) -> pd.DataFrame:
    return simulate_order_lines(800, random_state=request.param)[0]


@pytest.mark.parametrize("policies", [
    {}, {"returns": "drop"}, {"returns": "keep"}, {"order_lines": "keep"},
    {"zero_price": "keep"}, {"order": None, "cancellation_prefix": None},
])
def test_the_simulated_export_as_csv_and_parquet(messy, policies, tmp_path) -> None:
    spec = {**RETAIL, **policies}
    expected = clean_transactions(messy, spec)
    assert_same(expected, clean_transactions(as_csv(messy, tmp_path), spec))
    assert_same(expected, clean_transactions(as_parquet(messy, tmp_path), spec))


def test_a_list_of_files_and_a_folder_are_one_log(messy, tmp_path) -> None:
    # rows numbered across the files (an empty file in between): the report's examples,
    # read back by file and position, name the pandas frame's rows
    third = len(messy) // 3
    messy = messy.copy()  # the first guest checkout in the last file
    messy.loc[messy.index[:2 * third], "CustomerID"] = messy["CustomerID"].iloc[
        :2 * third].fillna(12345.0)
    first = tmp_path / "a"
    first.mkdir()
    messy.iloc[:third].to_parquet(first / "part1.parquet", index=False)
    messy.iloc[:0].to_parquet(first / "part2.parquet", index=False)
    messy.iloc[third:2 * third].to_parquet(first / "part3.parquet", index=False)
    messy.iloc[2 * third:].to_parquet(first / "part4.parquet", index=False)
    messy.iloc[:third].to_csv(tmp_path / "p1.csv", index=False)
    messy.iloc[third:].to_csv(tmp_path / "p2.csv", index=False)
    expected = clean_transactions(messy.reset_index(drop=True), RETAIL)
    assert_same(expected, clean_transactions(str(first), RETAIL))
    assert_same(expected, clean_transactions([str(tmp_path / "p1.csv"),
                                              str(tmp_path / "p2.csv")], RETAIL))
    guest = expected.quality.rules.set_index("rule").loc["missing_customer", "first_example"]
    assert int(guest.split(":")[0].removeprefix("row ")) >= 2 * third


def test_the_simulated_export_on_the_engines(messy, engine) -> None:
    both(messy, RETAIL, engine)


# --------------------------------------------------------------------------- each rule by hand


ORDERS = pd.DataFrame({
    "invoice": ["1", "1", "1", "2", "C1", "3", "3", "4", "5", "6", "C9", "C7"],
    "customer": ["a", "a", "a", None, "a", "b", "b", "b", "c", "c", "c", "d"],
    "code": ["mug", "tea", "POST", "mug", "tea", "mug", "mug", "free", "tea", "adj", "mug",
             "tea"],
    "qty": [2, 1, 1, 1, -1, 1, 1, 1, 3, 1, -1, -2],
    "price": ["£3.50", "£5.00", "£4.00", "£3.50", "£5.00", "£1,003.50", "£1,003.50", "£0.00",
              "£2.00", "-£1.00", "£3.50", "£5.00"],
    "when": ["01/03/2024 10:00", "01/03/2024 10:00", "01/03/2024 10:00", "02/03/2024 09:00",
             "08/03/2024 12:00", "15/03/2024 08:30", "15/03/2024 08:30", "16/03/2024 08:30",
             "01/04/2024 19:59", "02/04/2024 10:00:05", "03/04/2024 10:00",
             "05/04/2024 10:00"],
})
HAND = {"customer": "customer", "date": "when", "order": "invoice", "quantity": "qty",
        "unit_price": "price", "product": "code", "exclude_products": ["POST"],
        "cancellation_prefix": "C", "date_format": "dayfirst"}


@pytest.mark.parametrize("policies", [
    {}, {"returns": "drop"}, {"returns": "keep"}, {"order_lines": "keep"}, {"zero_price": "keep"},
    {"order": None}, {"exclude_products": []},
])
def test_each_rule_on_a_small_log(policies, engine) -> None:
    both(ORDERS, {**HAND, **policies}, engine)


def test_whitespace_around_ids_is_stripped_as_pandas_strips_it(engine) -> None:
    # a non-breaking space or an ideographic space at either end is whitespace to pandas'
    # str.strip(), not only spaces and tabs: "1\xa0" is order "1", "POST\u3000" is postage
    raw = pd.DataFrame({"invoice": ["1\xa0", " 1", "\u20032\t", "2", "C1\u00a0"],
                        "customer": ["a", "a", "b", "b", "a"],
                        "code": ["mug", "POST\u3000", "tea\x1f", "mug", "\x85tea"],
                        "amount": [3.0, 4.0, 5.0, 2.0, -1.0],
                        "when": ["2024-03-01"] * 4 + ["2024-03-08"]})
    spec = {"customer": "customer", "date": "when", "order": "invoice", "amount": "amount",
            "product": "code", "exclude_products": ["POST"], "cancellation_prefix": "C"}
    log = clean_transactions(raw, spec)
    assert log.transactions["order_id"].tolist() == ["1", "2"]
    assert log.transactions["amount"].tolist() == [2.0, 7.0]  # postage out, C1 netted
    both(raw, spec, engine)


@pytest.mark.parametrize(("values", "fmt"), [
    (["31/01/2024 14:05", "1/2/24 9:00"], "dayfirst"),
    (["01/02/2024", "12/31/2024 23:59:59"], "monthfirst"),
    ([1704067200, 1706745600], "epoch_s"),
    ([1704067200123, 1706745600000], "epoch_ms"),
    ([45292, 45323.5], "excel"),
    (["05.03.2024 10:00", "06.03.2024 11:30"], "%d.%m.%Y %H:%M"),
    (["2024-01-05 10:00", "2024-02-29T23:59:59.25"], "iso"),
    (["2024-03-31T23:30:00+00:00", "2024-06-01T08:00:00+02:00"], "iso"),
    (["2024-03-31T23:30:00Z", "2024-06-01 08:00:00"], "iso"),
])
def test_date_formats(values, fmt, engine) -> None:
    raw = pd.DataFrame({"customer_id": [1, 2], "date": values, "amount": [1.0, 2.0]})
    both(raw, {"amount": "amount", "date_format": fmt}, engine)


def test_native_timestamps_and_dates(engine) -> None:
    raw = pd.DataFrame({"customer_id": [1, 2, 1],
                        "date": pd.to_datetime(["2024-01-01 10:00", "2024-01-02", "2024-02-01"],
                                              format="ISO8601"),
                        "amount": [1.0, 2.0, -0.5]})
    both(raw, {"amount": "amount"}, engine)


def test_amounts_as_text(engine) -> None:
    raw = pd.DataFrame({"customer_id": [1, 2, 3, 1], "date": ["2024-01-01"] * 4,
                        "amount": ["1.234,50 €", "€ 12,00", "(5,25)", "7"]})
    both(raw, {"amount": "amount", "decimal": ",", "returns": "keep"}, engine)
    both(raw.assign(amount=["1,234.50", "$12", "(5.25)", "+7.5"]),
         {"amount": "amount", "returns": "keep"}, engine)


def test_a_return_nets_against_the_latest_earlier_orders(engine) -> None:
    raw = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"],
                        "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-05",
                                 "2024-01-01"],
                        "amount": [10.0, 8.0, 5.0, -9.0, -3.0]})
    both(raw, {"amount": "amount"}, engine)


def test_whole_float_and_text_ids(engine) -> None:
    raw = pd.DataFrame({"customer_id": ["17850.0", "17851.0", "17850.0"],
                        "date": ["2024-01-01", "2024-01-02", "2024-03-01"],
                        "amount": [1.0, 2.0, 3.0]})
    both(raw, {"amount": "amount"}, engine)
    both(raw.assign(customer_id=[1.5, 2.0, 1.5]), {"amount": "amount"}, engine)


#: Order 1: rows 1 and 3 repeat rows 0 and 2 (missing code and note alike); order 2: row 6
#: repeats row 4 (row 5's note differs).
IDENTICAL = pd.DataFrame({"order": ["1", "1", "1", "1", "2", "2", "2"],
                          "customer_id": [7, 7, 7, 7, 8, 8, 8],
                          "date": ["2024-01-05 10:00"] * 7,
                          "code": ["mug", "mug", None, None, "tea", "tea", "tea"],
                          "note": ["x", "x", None, None, "a", "b", "a"],
                          "amount": [3.0, 3.0, 2.5, 2.5, 1.0, 1.0, 1.0]})


def test_identical_lines_of_an_order_on_every_engine(engine) -> None:
    raw = IDENTICAL
    spec = {"amount": "amount", "order": "order", "product": "code"}
    log = clean_transactions(engine(raw), spec)
    row = log.quality.rules.set_index("rule").loc["identical_lines"]
    # rows 1, 3 (missing code and note alike) and 6 (row 5's note differs)
    assert (row["rows"], row["revenue"]) == (3, 6.5)
    assert row["first_example"].startswith("row 1: ")
    both(raw, spec, engine)
    both(raw, {**spec, "order_lines": "keep"}, engine)
    both(raw, {"amount": "amount", "product": "code"}, engine)  # orders by customer and time


def test_identical_lines_counted_in_slices_of_the_hash_range(messy, tmp_path,
                                                             monkeypatch) -> None:
    # a few lines per pass: the candidates of every slice of the hash range are found
    from retention_kit import ingest_sql

    raw = IDENTICAL
    spec = {"amount": "amount", "order": "order", "product": "code"}
    monkeypatch.setattr(ingest_sql, "_LINES_PER_PASS", 2)  # 4 passes over 7 lines
    row = clean_transactions(as_parquet(raw, tmp_path), spec).quality.rules.set_index(
        "rule").loc["identical_lines"]
    assert (row["rows"], row["revenue"], row["first_example"][:7]) == (3, 6.5, "row 1: ")
    monkeypatch.setattr(ingest_sql, "_LINES_PER_PASS", 100)  # 8 passes over the export
    both(messy, RETAIL, lambda r: as_parquet(r, tmp_path))


def attached(con) -> list[str]:
    return sorted(r[0] for r in con.raw_sql(
        "SELECT database_name FROM duckdb_databases()").fetchall())


def test_the_engine_tables_are_released_even_after_an_error(tmp_path, monkeypatch) -> None:
    # DuckDB keeps the typed lines and the orders in a scratch database file attached to the
    # log's connection; it is detached and deleted when the call ends, however it ends
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    con = ibis.duckdb.connect()
    table = con.create_table("log", ORDERS)
    before = attached(con)
    clean_transactions(table, HAND)
    clean_rfm_summary(table, HAND)
    with pytest.raises(DataError, match="returns with no earlier purchase"):
        clean_rfm_summary(table, {**HAND, "unmatched_returns": "raise"})
    with pytest.raises(DataError, match="returns with no earlier purchase"):
        clean_transactions(table, {**HAND, "unmatched_returns": "raise"})
    assert attached(con) == before
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_duckdb_file_keeps_the_tables_in_memory(tmp_path) -> None:
    # a read-only connection cannot attach the scratch file: the same results, with the
    # engine's tables as temporary tables, dropped at the end
    path = str(tmp_path / "shop.duckdb")
    writer = ibis.duckdb.connect(path)
    writer.create_table("log", ORDERS)
    writer.disconnect()
    con = ibis.duckdb.connect(path, read_only=True)
    table = con.table("log")
    assert_same(clean_transactions(ORDERS, HAND), clean_transactions(table, HAND))
    pd.testing.assert_frame_equal(clean_rfm_summary(ORDERS, HAND).summary,
                                  clean_rfm_summary(table, HAND).summary)
    left = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert left == []
    assert attached(con) == sorted(["shop", "system", "temp"])


def test_no_temporary_folder_keeps_the_tables_in_memory(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # mkdtemp fails
    path = as_parquet(ORDERS, tmp_path)
    pd.testing.assert_frame_equal(clean_rfm_summary(ORDERS, HAND).summary,
                                  clean_rfm_summary(path, HAND).summary)


WRITE_LIMITED = """
import resource, signal, sys
import numpy as np, pandas as pd
from retention_kit.ingest import clean_rfm_summary
rng = np.random.default_rng(0)
n = 300_000
raw = pd.DataFrame({"customer_id": rng.integers(0, 20_000, n),
                    "order": rng.integers(0, 90_000, n).astype(str),
                    "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(
                        rng.integers(0, 365, n), unit="D"),
                    "amount": rng.integers(1, 500, n) / 4})
raw.to_parquet(sys.argv[1], index=False)
spec = {"order": "order", "amount": "amount"}
want = clean_rfm_summary(raw, spec).summary
# no file may grow past 256 kB from here on: the scratch database cannot be written
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
got = clean_rfm_summary(sys.argv[1], spec).summary
pd.testing.assert_frame_equal(want, got, check_exact=False, rtol=1e-12)
print("same", len(got))
"""


def test_no_room_for_the_scratch_file_keeps_the_tables_in_memory(tmp_path) -> None:
    # a full temporary folder shows at the first write (attaching an empty file needs no
    # room): the tables go to memory and the result is the same, not DuckDB's IOException
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WRITE_LIMITED, str(tmp_path / "log.parquet")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "same"
    assert [p.name for p in tmp_path.iterdir()] == ["log.parquet"]  # scratch folder gone


def test_the_demo_export_shows_its_identical_lines_on_every_engine(engine) -> None:
    from retention_kit.datasets import EXPORT_SPEC, data_dir

    folder = data_dir() / "demo" / "till_export"
    truth = json.loads((folder / "client.json").read_text())["truth"]
    raw = pd.read_csv(folder / "transactions.csv", dtype=str)
    log = clean_transactions(engine(raw), EXPORT_SPEC)
    row = log.quality.rules.set_index("rule").loc["identical_lines"]
    assert row["rows"] == truth["identical_lines"] == 74
    assert row["revenue"] == pytest.approx(truth["identical_lines_revenue"])
    assert_same(clean_transactions(raw, EXPORT_SPEC), log)


# --------------------------------------------------------------------------- summary only


def same_summary(raw: pd.DataFrame, spec: dict, engine, **options) -> None:
    """clean_rfm_summary on the engine (orders kept there) = the pandas path's summary."""
    log = clean_transactions(raw, spec)
    want = rfm_summary(log.transactions, amount_col="amount", duplicates="keep", **options)
    got = clean_rfm_summary(engine(raw), spec, **options)
    pd.testing.assert_frame_equal(want, got.summary, check_exact=False, rtol=1e-12)
    assert got.summary.attrs == want.attrs
    assert got.quality.to_dict() == log.quality.to_dict()
    on_pandas = clean_rfm_summary(raw, spec, **options)
    pd.testing.assert_frame_equal(want, on_pandas.summary)


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    return simulate_order_lines(800, random_state=3)[0]


@pytest.mark.parametrize("policies", [
    {}, {"returns": "drop"}, {"order_lines": "keep"}, {"zero_price": "keep"},
    {"order": None, "cancellation_prefix": None},
])
def test_the_summary_without_the_orders_on_every_engine(export, policies, engine) -> None:
    same_summary(export, {**RETAIL, **policies}, engine, time_unit="W")


@pytest.mark.parametrize("policies", [{}, {"zero_price": "keep"}, {"returns": "drop"}])
def test_the_summary_of_a_small_log_on_every_engine(policies, engine) -> None:
    # zero_price='keep': customer b's order 4 is worth 0 and the netting removes it,
    # although b returns nothing
    same_summary(ORDERS, {**HAND, **policies}, engine, time_unit="D",
                 observation_end="2024-04-30", merge_period="W")


def test_the_summary_refuses_as_the_pandas_path_does(engine) -> None:
    with pytest.raises(DataError) as on_pandas:
        rfm_summary(clean_transactions(ORDERS, HAND).transactions, amount_col="amount",
                    observation_end="2024-03-31")
    with pytest.raises(DataError) as on_engine:
        clean_rfm_summary(engine(ORDERS), HAND, observation_end="2024-03-31")
    assert str(on_engine.value) == str(on_pandas.value)


# --------------------------------------------------------------------------- the same errors


BAD = [
    (ORDERS, {**HAND, "missing_customer": "raise"}),
    (ORDERS, {**HAND, "zero_price": "raise"}),
    (ORDERS, {**HAND, "negative_price": "raise"}),
    (ORDERS, {**HAND, "unmatched_returns": "raise"}),
    (ORDERS, {**HAND, "customer": "CustomerID"}),
    (ORDERS, {**HAND, "date_format": "iso"}),
    (ORDERS.assign(when=["x"] + ORDERS["when"].tolist()[1:]), HAND),
    (ORDERS.assign(when=[None] + ORDERS["when"].tolist()[1:]), HAND),
    (ORDERS.assign(price=["£3.50", "two"] + ORDERS["price"].tolist()[2:]), HAND),
    (ORDERS.assign(qty=[2.0, None] + ORDERS["qty"].tolist()[2:]), HAND),
    (pd.DataFrame({"customer_id": [1, 2], "date": [45292, 45323], "amount": [1.0, 2.0]}),
     {"amount": "amount", "date_format": "epoch_s"}),
    (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2, "amount": [True, False]}),
     {"amount": "amount"}),
]


@pytest.mark.parametrize(("raw", "spec"), BAD, ids=range(len(BAD)))
def test_bad_input_gives_the_same_message(raw, spec, engine) -> None:
    with pytest.raises(DataError) as on_pandas:
        clean_transactions(raw, spec)
    with pytest.raises(DataError) as on_engine:
        clean_transactions(engine(raw), spec)
    assert str(on_engine.value) == str(on_pandas.value)
    assert on_engine.value.n_rows == on_pandas.value.n_rows


def test_what_the_engine_cannot_do_the_same_way_is_refused_with_the_alternative(
        tmp_path) -> None:
    raw = pd.DataFrame({"customer_id": [1, 2], "amount": [1.0, 2.0],
                        "date": ["2024-03-31T23:30:00+00:00", "2024-06-01T08:00:00+02:00"]})
    path = as_parquet(raw, tmp_path)
    with pytest.raises(DataError, match=r"timezone='Europe/Berlin'.*pass the DataFrame"):
        clean_transactions(path, {"amount": "amount", "timezone": "Europe/Berlin"})
    with pytest.raises(DataError, match=r"not %b.*pass the DataFrame"):
        clean_transactions(path, {"amount": "amount", "date_format": "%d %b %Y"})
    odd = as_parquet(raw.assign(date=["31 March 2024", "1/6/2024"]), tmp_path)
    with pytest.raises(DataError, match=r"flexible parser"):  # pandas' dateutil fallback
        clean_transactions(odd, {"amount": "amount", "date_format": "dayfirst"})
