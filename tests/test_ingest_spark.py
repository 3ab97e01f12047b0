"""clean_transactions and clean_rfm_summary on a Spark DataFrame give the pandas path's results.

The same raw logs as in ``test_ingest_sql.py`` (the till_export demo and a seeded messy
export of :func:`retention_kit.simulate_exports.simulate_order_lines`, with its truth) go
through pandas and through ``spark.createDataFrame(frame)`` (local Spark, the ``spark``
fixture: skipped without Java or pyspark). Compared: the clean frame (columns, dtypes,
values, order), the whole data-quality report (the first examples name the pandas frame's
row positions), the per-customer summary, and the DataError of a bad log.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retention_kit.data import rfm_summary
from retention_kit.datasets import EXPORT_SPEC, data_dir
from retention_kit.errors import DataError
from retention_kit.ingest import clean_rfm_summary, clean_transactions
from retention_kit.simulate_exports import simulate_order_lines

ibis = pytest.importorskip("ibis")

RETAIL = {"customer": "CustomerID", "date": "InvoiceDate", "order": "InvoiceNo",
          "quantity": "Quantity", "unit_price": "UnitPrice", "product": "StockCode",
          "country": "Country", "exclude_products": ["POST"], "cancellation_prefix": "C",
          "date_format": "dayfirst"}


def assert_same(expected, got) -> None:
    pd.testing.assert_frame_equal(expected.transactions, got.transactions)
    pd.testing.assert_frame_equal(expected.quality.rules, got.quality.rules)
    assert expected.quality.to_dict() == got.quality.to_dict()


def assert_same_summary(log, got, **options) -> None:
    want = rfm_summary(log.transactions, amount_col="amount", duplicates="keep", **options)
    pd.testing.assert_frame_equal(want, got.summary, check_exact=False, rtol=1e-12)
    assert got.summary.attrs == want.attrs
    assert got.quality.to_dict() == log.quality.to_dict()


def our_views(spark) -> set[str]:
    """The session's temporary views of retention_kit (other modules' Spark tests share the
    session and may leave their lazy expressions' views: compare before and after)."""
    views = [r["viewName"] for r in spark.sql("SHOW VIEWS").collect()]
    return {v for v in views if v.startswith("_retention_kit")}


@pytest.fixture(scope="module", autouse=True)
def interpreted(spark):
    """Spark without code generation for this module: compiling Java for each of the
    engine path's many small queries costs more than running them (a third of the time);
    the expressions and their results are the same."""
    confs = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    before = {k: spark.conf.get(k, None) for k in confs}
    for k, v in confs.items():
        spark.conf.set(k, v)
    yield
    for k, v in before.items():
        if v is None:
            spark.conf.unset(k)
        else:
            spark.conf.set(k, v)


@pytest.fixture(scope="module")
def till_export() -> tuple[pd.DataFrame, dict]:
    folder = data_dir() / "demo" / "till_export"
    truth = json.loads((folder / "client.json").read_text())["truth"]
    return pd.read_csv(folder / "transactions.csv", dtype=str), truth


def test_the_demo_export_on_spark(spark, till_export) -> None:
    raw, truth = till_export
    before = our_views(spark)
    frame = spark.createDataFrame(raw)
    assert frame.rdd.getNumPartitions() > 1  # rows are numbered across partitions
    expected = clean_transactions(raw, EXPORT_SPEC)
    log = clean_transactions(frame, EXPORT_SPEC)
    assert_same(expected, log)
    row = log.quality.rules.set_index("rule").loc["identical_lines"]
    assert row["rows"] == truth["identical_lines"] == 74
    assert row["first_example"].startswith("row ")
    assert our_views(spark) == before
    got = clean_rfm_summary(frame, EXPORT_SPEC, time_unit="W")
    assert_same_summary(expected, got, time_unit="W")
    assert our_views(spark) == before


def test_a_messy_export_on_spark_finds_the_generator_truth(spark) -> None:
    raw, truth = simulate_order_lines(300, random_state=5)
    # ids padded as exports pad them: both paths strip spaces and \t\n\r\v\f, not letters
    raw = raw.assign(InvoiceNo=raw["InvoiceNo"] + "f ",
                     StockCode=raw["StockCode"].where(raw["StockCode"] != "POST", "\vPOST"))
    frame = spark.createDataFrame(raw)
    expected = clean_transactions(raw, RETAIL)
    log = clean_transactions(frame, RETAIL)
    assert_same(expected, log)
    assert log.transactions["order_id"].str.endswith("f").all()
    rules = log.quality.rules.set_index("rule")
    assert log.quality.n_rows_in == len(raw) == truth["n_lines"] > 1500
    assert rules.loc["missing_customer", "rows"] == truth["guest_lines"] > 0
    assert rules.loc["excluded_products", "rows"] == truth["postage_lines"] > 0
    assert rules.loc["returns_netted_by_reference", "rows"] == truth["return_lines_referenced"]
    assert rules.loc["unmatched_returns", "rows"] == truth["unmatched_return_lines"] > 0
    assert rules.loc["identical_lines", "rows"] == truth["identical_lines"] > 0
    got = clean_rfm_summary(frame, RETAIL, time_unit="W")
    assert_same_summary(expected, got, time_unit="W")


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


def in_partitions(spark, raw: pd.DataFrame, n: int):
    """``raw`` as a Spark DataFrame of ``n`` partitions, its rows in the frame's order."""
    schema = spark.createDataFrame(raw.head(1)).schema
    rows = [tuple(None if pd.isna(v) else v for v in r)
            for r in raw.astype(object).itertuples(index=False)]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, n), schema)


@pytest.mark.parametrize(("raw", "spec"), [
    (ORDERS, {**HAND, "customer": "CustomerID"}),  # a missing column
    (ORDERS.assign(price=ORDERS["price"].tolist()[:9] + ["ten"] + ORDERS["price"].tolist()[10:]),
     HAND),  # row 9: in the last partition
    (ORDERS.assign(when=ORDERS["when"].tolist()[:7] + ["31/02/2024"] * 2
                   + ORDERS["when"].tolist()[9:]), HAND),  # rows 7 and 8: two partitions
], ids=["column", "price", "dates"])
def test_a_bad_log_on_spark_gives_the_pandas_error(spark, raw, spec) -> None:
    before = our_views(spark)
    with pytest.raises(DataError) as on_pandas:
        clean_transactions(raw, spec)
    with pytest.raises(DataError) as on_spark:
        clean_transactions(in_partitions(spark, raw, 4), spec)
    assert str(on_spark.value) == str(on_pandas.value)
    assert on_spark.value.n_rows == on_pandas.value.n_rows
    assert our_views(spark) == before


def test_an_ibis_table_on_spark_is_numbered_as_its_dataframe(spark) -> None:
    raw = ORDERS.assign(price=ORDERS["price"].tolist()[:9] + ["ten"]
                        + ORDERS["price"].tolist()[10:])
    in_partitions(spark, raw, 3).createOrReplaceTempView("rk_test_orders")
    try:
        table = ibis.pyspark.connect(spark).table("rk_test_orders")
        with pytest.raises(DataError, match=r"Rows affected: 1\. First example: row 9: "):
            clean_transactions(table, HAND)
    finally:
        spark.catalog.dropTempView("rk_test_orders")


def test_one_parquet_file_read_in_several_partitions_keeps_its_row_numbers(
        spark, tmp_path) -> None:
    rng = np.random.default_rng(1)
    raw = pd.DataFrame({"customer_id": rng.integers(0, 500, 20_000), "date": "2024-01-05",
                        "amount": rng.uniform(1, 50, 20_000).round(2).astype(str)})
    raw.loc[[15_001, 19_990], "amount"] = ["bad", "worse"]
    raw.to_parquet(tmp_path / "log.parquet", index=False, row_group_size=2_000)
    before = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "20000")
    try:
        frame = spark.read.parquet(str(tmp_path / "log.parquet"))
        assert frame.rdd.getNumPartitions() > 2
        with pytest.raises(DataError) as on_pandas:
            clean_transactions(raw, {"amount": "amount"})
        with pytest.raises(DataError) as on_spark:
            clean_transactions(frame, {"amount": "amount"})
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", before)
    assert str(on_spark.value) == str(on_pandas.value)
    assert "row 15001: amount='bad'" in str(on_spark.value)
