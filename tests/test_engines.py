"""The summaries on DuckDB (Parquet and CSV files, Ibis tables) and Spark equal pandas'.

Every engine result is compared frame for frame (values, dtypes, index, attrs) with
the pandas path on the CDNOW logs, and bad input must fail with the same kind of
DataError (what, how many rows, first example, fix).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit.cohorts import cohort_sizes, cohort_table
from retention_kit.data import calibration_holdout_split, rfm_summary
from retention_kit.datasets import load_cdnow_summary, load_cdnow_transactions
from retention_kit.errors import DataError

ibis = pytest.importorskip("ibis")
pytest.importorskip("duckdb")
engines = pytest.importorskip("retention_kit.engines")

CAL_END = "1997-09-30"
WEEKLY = dict(amount_col="amount", observation_end=CAL_END, time_unit="W", after_end="drop",
              duplicates="keep")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_transactions()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, sample: pd.DataFrame,
          master: pd.DataFrame) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cdnow")
    out = {"parquet": folder / "sample.parquet", "csv": folder / "sample.csv",
           "master": folder / "master.parquet", "parts": folder / "parts"}
    sample.to_parquet(out["parquet"])
    sample.to_csv(out["csv"], index=False)
    master.to_parquet(out["master"])
    out["parts"].mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(sample)), 3)):
        sample.iloc[part].to_parquet(out["parts"] / f"part-{i}.parquet")
    return out


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours.attrs == theirs.attrs


def assert_same_outcome(engine: Callable[[], pd.DataFrame],
                        pandas: Callable[[], pd.DataFrame]) -> None:
    """Both paths give equal frames, or both refuse the input with the same message."""
    try:
        expected = pandas()
    except DataError as err:
        with pytest.raises(DataError) as got:
            engine()
        assert str(got.value) == str(err)
        return
    assert_same(engine(), expected)


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "log.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def small_log() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10", "2024-01-02",
                 "2024-02-01"],
        "amount": [10.0, 5.0, 20.0, 7.0, 3.0, 9.0],
    })


# ----------------------------------------------------------------- CDNOW on DuckDB


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_cdnow_weekly_summary_on_duckdb_equals_pandas_and_the_papers(
        kind: str, files: dict[str, Path], sample: pd.DataFrame) -> None:
    ours = rfm_summary(str(files[kind]), **WEEKLY)
    assert_same(ours, rfm_summary(sample, **WEEKLY))
    assert ours.loc[1, ["frequency", "recency", "T"]].round(2).tolist() == [2, 30.43, 38.86]
    assert int(ours["frequency"].sum()) == 2457
    published = load_cdnow_summary()
    assert (ours["recency"].round(2) == published["recency"]).all()


@pytest.mark.parametrize("time_unit, merge_period, amount", [
    ("D", "D", True), ("W", "W", False), ("M", "D", True), ("Q", "M", False),
    ("Y", "h", True), ("D", "Q", True), ("W", "Y", False)])
def test_units_and_merge_periods_equal_pandas(time_unit: str, merge_period: str, amount: bool,
                                             files: dict[str, Path],
                                             sample: pd.DataFrame) -> None:
    kwargs = dict(amount_col="amount" if amount else None, time_unit=time_unit,
                  merge_period=merge_period, duplicates="keep")
    assert_same(rfm_summary(files["parquet"], **kwargs), rfm_summary(sample, **kwargs))


def test_duplicates_drop_equals_pandas(files: dict[str, Path], sample: pd.DataFrame) -> None:
    kwargs = dict(amount_col="amount", duplicates="drop", observation_end="1998-06-30")
    assert_same(rfm_summary(files["csv"], **kwargs), rfm_summary(sample, **kwargs))


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_calibration_holdout_split_equals_pandas(kind: str, files: dict[str, Path],
                                                 sample: pd.DataFrame) -> None:
    kwargs = dict(calibration_end=CAL_END, amount_col="amount", time_unit="W",
                  duplicates="keep")
    ours = calibration_holdout_split(files[kind], **kwargs)
    assert_same(ours, calibration_holdout_split(sample, **kwargs))
    assert (ours["duration_holdout"] == 39.0).all()
    assert list(ours.columns) == ["frequency", "recency", "T", "monetary_value",
                                  "frequency_holdout", "monetary_value_holdout",
                                  "duration_holdout"]


def test_calibration_holdout_split_without_amounts_in_months(files: dict[str, Path],
                                                             sample: pd.DataFrame) -> None:
    kwargs = dict(calibration_end="1997-06-15", time_unit="M", merge_period="W",
                  duplicates="keep")
    assert_same(calibration_holdout_split(files["parquet"], **kwargs),
                calibration_holdout_split(sample, **kwargs))
    with pytest.raises(DataError, match="after the observation end 1998-03-31"):
        calibration_holdout_split(files["parquet"], observation_end="1998-03-31", **kwargs)


def test_cdnow_master_january_cohort_on_duckdb(files: dict[str, Path],
                                               master: pd.DataFrame) -> None:
    ours = cohort_table(files["master"], duplicates="keep")
    assert_same(ours, cohort_table(master, duplicates="keep"))
    assert cohort_sizes(ours).tolist() == [7846, 8476, 7248]
    assert ours.loc["1997-01", 1] == pytest.approx(1157 / 7846, abs=1e-12)


@pytest.mark.parametrize("period, mode, window, values, relative, include_partial", [
    ("M", "on_or_after", None, "customers", False, False),
    ("W", "rolling", 3, "customers", True, True),
    ("Q-JUN", "exact", None, "revenue", True, False),
    ("W-MON", "rolling", 2, "revenue", False, True),
    ("D", "exact", None, "customers", True, False),
    ("Y-MAR", "exact", None, "customers", False, True),
])
def test_cohort_table_modes_and_periods_equal_pandas(
        period: str, mode: str, window: int | None, values: str, relative: bool,
        include_partial: bool, files: dict[str, Path], sample: pd.DataFrame) -> None:
    kwargs = dict(period=period, mode=mode, window=window, values=values, relative=relative,
                  include_partial=include_partial, amount_col="amount", duplicates="keep",
                  observation_end="1998-05-17", after_end="drop")
    assert_same(cohort_table(files["csv"], **kwargs), cohort_table(sample, **kwargs))


def test_glob_list_and_folder_of_parquet_files_equal_one_file(files: dict[str, Path]) -> None:
    one = rfm_summary(files["parquet"], **WEEKLY)
    parts = sorted(str(p) for p in files["parts"].glob("*.parquet"))
    assert len(parts) == 3
    assert_same(rk.rfm_summary(str(files["parts"] / "*.parquet"), customer_col="customer_id",
                               date_col="date", amount_col="amount", observation_end=CAL_END,
                               time_unit="W", after_end="drop", duplicates="keep"), one)
    assert_same(rfm_summary(parts, **WEEKLY), one)
    assert_same(rfm_summary(files["parts"], **WEEKLY), one)


def test_ibis_table_input_with_other_column_names(sample: pd.DataFrame) -> None:
    renamed = sample.rename(columns={"customer_id": "cust", "date": "ordered",
                                     "amount": "spend"})
    table = ibis.duckdb.connect().create_table("log", renamed)
    kwargs = dict(customer_col="cust", date_col="ordered", amount_col="spend",
                  observation_end=CAL_END, time_unit="W", after_end="drop", duplicates="keep")
    ours = rfm_summary(table, **kwargs)
    assert_same(ours, rfm_summary(renamed, **kwargs))
    assert ours.index.name == "cust"
    assert table.count().execute() == len(sample)  # input untouched


def test_summary_expression_stays_lazy(files: dict[str, Path], sample: pd.DataFrame) -> None:
    expr = engines.rfm_summary_expr(files["parquet"], **WEEKLY)
    assert isinstance(expr, ibis.Table)
    assert list(expr.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    top = expr.filter(expr.frequency >= 10).order_by("customer_id").to_pandas()
    pandas = rfm_summary(sample, **WEEKLY)
    assert top["customer_id"].tolist() == pandas.index[pandas["frequency"] >= 10].tolist()
    split = engines.calibration_holdout_split_expr(
        files["parquet"], calibration_end=CAL_END, time_unit="W", duplicates="keep")
    assert "frequency_holdout" in split.columns and split.count().execute() == 2357


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 500), st.integers(0, 23),
                          st.floats(0, 500, allow_nan=False)), min_size=1, max_size=40),
       st.sampled_from(["D", "W", "M", "Q", "Y"]), st.sampled_from(["D", "h", "W", "M", "Y"]))
def test_random_logs_equal_pandas(rows: list[tuple[int, int, int, float]], time_unit: str,
                                  merge_period: str) -> None:
    log = pd.DataFrame(rows, columns=["customer_id", "day", "hour", "amount"])
    log["date"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(log["day"], unit="D")
                   + pd.to_timedelta(log["hour"], unit="h"))
    log = log[["customer_id", "date", "amount"]]
    kwargs = dict(amount_col="amount", time_unit=time_unit, merge_period=merge_period,
                  duplicates="keep", observation_end="2024-06-30")
    table = ibis.memtable(log)
    assert_same_outcome(lambda: rfm_summary(table, **kwargs), lambda: rfm_summary(log, **kwargs))
    # A draw inside 2024 with period "Y" observes no complete year: both must say so.
    cohorts = dict(period=merge_period if merge_period != "h" else "D", duplicates="keep",
                   observation_end="2024-06-30", mode="on_or_after")
    assert_same_outcome(lambda: cohort_table(table, **cohorts),
                        lambda: cohort_table(log, **cohorts))


def test_a_log_without_a_complete_period_fails_alike_on_both_engines() -> None:
    """The draw that once failed CI: every purchase in 2024, yearly cohorts, end mid-2024."""
    log = pd.DataFrame({"customer_id": [0, 0, 1], "amount": [1.0, 2.0, 3.0],
                        "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-10"])})
    kwargs = dict(period="Y", duplicates="keep", observation_end="2024-06-30",
                  mode="on_or_after")
    with pytest.raises(DataError, match="no complete 'Y' period is observed"):
        cohort_table(log, **kwargs)
    assert_same_outcome(lambda: cohort_table(ibis.memtable(log), **kwargs),
                        lambda: cohort_table(log, **kwargs))


# ----------------------------------------------------------------- bad input on DuckDB


def test_missing_column_suggests_closest_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path, small_log().rename(columns={"customer_id": "Customer_ID"}))
    with pytest.raises(DataError, match=r"no column 'customer_id'.*did you mean 'Customer_ID'"):
        rfm_summary(path)
    with pytest.raises(DataError, match=r"no column 'amout'.*did you mean 'amount'"):
        rfm_summary(write_csv(tmp_path, small_log(), "ok.csv"), amount_col="amout")


def test_missing_dates(tmp_path: Path) -> None:
    log = small_log().assign(date=["2024-01-01", None, "2024-01-15", "2024-01-10",
                                   "2024-01-02", "2024-02-01"])
    with pytest.raises(DataError, match=r"1 transactions have no date.*Rows affected: 1\. "
                       r"First example: customer_id='a', date=nan"):
        rfm_summary(write_csv(tmp_path, log))


def test_unparseable_dates(tmp_path: Path) -> None:
    log = small_log().assign(date=["2024-01-01", "2024-13-45", "2024-01-15", "soon",
                                   "2024-01-02", "2024-02-01"])
    with pytest.raises(DataError, match=r"cannot be parsed\. Rows affected: 2\. First example: "
                       r"customer_id='a', date='2024-13-45'\. How to fix"):
        rfm_summary(write_csv(tmp_path, log))


def test_dates_of_the_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    small_log().assign(date=range(6)).to_parquet(path)
    with pytest.raises(DataError, match=r"are numbers \(0 to 5\), not dates.*Rows affected: 6"
                       r".*look swapped"):
        rfm_summary(path)


def test_negative_amounts(tmp_path: Path) -> None:
    log = small_log().assign(amount=[10.0, 5.0, -20.0, 7.0, -3.0, 9.0])
    with pytest.raises(DataError, match=r"negative \(refunds or returns\)\. Rows affected: 2\. "
                       r"First example: customer_id='a', date=.*2024-01-15.*amount=-20\.0\. "
                       r"How to fix: net each refund"):
        rfm_summary(write_csv(tmp_path, log), amount_col="amount")


def test_non_numeric_and_missing_amounts(tmp_path: Path) -> None:
    log = small_log().astype({"amount": object})
    log.loc[3, "amount"] = "7,00 EUR"
    with pytest.raises(DataError, match=r"are not numbers\. Rows affected: 1\. First example: "
                       r"customer_id='b', amount='7,00 EUR'"):
        rfm_summary(write_csv(tmp_path, log), amount_col="amount")
    missing = small_log().assign(amount=[10.0, None, 20.0, 7.0, None, 9.0])
    with pytest.raises(DataError, match=r"are missing\. Rows affected: 2"):
        rfm_summary(write_csv(tmp_path, missing, "missing.csv"), amount_col="amount")


def test_duplicate_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, pd.concat([small_log(), small_log().iloc[[2]]],
                                         ignore_index=True))
    with pytest.raises(DataError, match=r"identical in every column\. Rows affected: 1\. First "
                       r"example: customer_id='a', date=.*2024-01-15.*amount=20\.0 \(appears 2 "
                       r"times\)\. How to fix: pass duplicates='drop'"):
        rfm_summary(path, amount_col="amount")
    assert rfm_summary(path, amount_col="amount", duplicates="keep").loc[
        "a", "monetary_value"] == 40.0
    assert rfm_summary(path, amount_col="amount", duplicates="drop").loc[
        "a", "monetary_value"] == 20.0


def test_purchases_after_observation_end(tmp_path: Path) -> None:
    path = write_csv(tmp_path, small_log())
    with pytest.raises(DataError, match=r"after the observation end 2024-01-20\. Rows affected: "
                       r"1\. First example: customer_id='c', date=.*2024-02-01"):
        rfm_summary(path, observation_end="2024-01-20")
    assert rfm_summary(path, observation_end="2024-01-20",
                       after_end="drop").loc["c", "frequency"] == 0


def test_missing_customer_ids(tmp_path: Path) -> None:
    log = small_log().assign(customer_id=["a", None, "a", "b", "c", "c"])
    with pytest.raises(DataError, match=r"without a customer id.*Rows affected: 1\. First "
                       r"example: customer_id=nan, date=.*2024-01-01"):
        rfm_summary(write_csv(tmp_path, log))


def test_empty_input_and_no_files(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    small_log().iloc[0:0].to_parquet(path)
    with pytest.raises(DataError, match=r"the transaction log is empty\. Rows affected: 0"):
        rfm_summary(path)
    with pytest.raises(DataError, match="no file matches"):
        rfm_summary(str(tmp_path / "nothing" / "*.parquet"))
    with pytest.raises(DataError, match="cannot tell the file format"):
        rfm_summary(str(tmp_path / "log.xlsx"))


def test_summary_passed_as_transactions_and_bad_options(tmp_path: Path) -> None:
    path = write_csv(tmp_path, load_cdnow_summary().reset_index())
    with pytest.raises(DataError, match="looks like a per-customer summary"):
        rfm_summary(path)
    log = write_csv(tmp_path, small_log(), "log2.csv")
    with pytest.raises(DataError, match="time_unit='fortnight' is not supported"):
        rfm_summary(log, time_unit="fortnight")
    with pytest.raises(DataError, match="merge_period='2D' is not supported"):
        rfm_summary(log, merge_period="2D")
    with pytest.raises(DataError, match="is not before observation_end"):
        calibration_holdout_split(log, calibration_end="2024-03-01")
    with pytest.raises(DataError, match="no complete 'M' period"):
        cohort_table(log, observation_end="2024-01-20", after_end="drop")


def test_without_ibis_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ibis", None)
    with pytest.raises(ImportError, match=r'pip install "retention_kit\[scale\]"'):
        rfm_summary("logs/*.parquet")


def test_not_a_dataframe_or_path_still_refused() -> None:
    with pytest.raises(DataError, match="must be a pandas DataFrame, got list"):
        rfm_summary([("a", "2024-01-01")])  # type: ignore[arg-type]


# ----------------------------------------------------------------- Spark local mode


@pytest.fixture(scope="module")
def spark_sample(spark, sample: pd.DataFrame):
    return spark.createDataFrame(sample)


@pytest.mark.slow
def test_spark_rfm_summary_and_split_equal_pandas(spark, spark_sample,
                                                  sample: pd.DataFrame) -> None:
    ours = rfm_summary(spark_sample, **WEEKLY)
    assert_same(ours, rfm_summary(sample, **WEEKLY))
    assert int(ours["frequency"].sum()) == 2457
    kwargs = dict(calibration_end=CAL_END, amount_col="amount", time_unit="M",
                  merge_period="W", duplicates="keep")
    assert_same(calibration_holdout_split(spark_sample, **kwargs),
                calibration_holdout_split(sample, **kwargs))
    assert not [t for t in spark.catalog.listTables() if t.name.startswith("_retention_kit")]


@pytest.mark.slow
def test_spark_cdnow_master_january_cohort(spark, master: pd.DataFrame) -> None:
    ours = cohort_table(spark.createDataFrame(master), duplicates="keep")
    assert_same(ours, cohort_table(master, duplicates="keep"))
    assert ours.loc["1997-01", 1] == pytest.approx(1157 / 7846, abs=1e-12)


@pytest.mark.slow
def test_spark_rolling_revenue_cohorts_equal_pandas(spark_sample, sample: pd.DataFrame) -> None:
    kwargs = dict(period="W", mode="rolling", window=3, values="revenue", amount_col="amount",
                  duplicates="keep", include_partial=True)
    assert_same(cohort_table(spark_sample, **kwargs), cohort_table(sample, **kwargs))


@pytest.mark.slow
def test_spark_summary_stays_in_the_cluster(spark, spark_sample) -> None:
    from pyspark.sql import DataFrame

    expr = engines.rfm_summary_expr(spark_sample, **WEEKLY)
    frame = engines.to_pyspark(expr)
    assert isinstance(frame, DataFrame)
    scored = frame.where("frequency > 0").selectExpr("avg(monetary_value) AS m").first()
    assert round(scored["m"], 2) == 35.08


@pytest.mark.slow
def test_spark_bad_input(spark) -> None:
    log = small_log().assign(date=["2024-01-01", "2024-13-45", "2024-01-15", "soon",
                                   "2024-01-02", "2024-02-01"])
    with pytest.raises(DataError, match=r"cannot be parsed\. Rows affected: 2\. First example: "
                       r"customer_id='a', date='2024-13-45'"):
        rfm_summary(spark.createDataFrame(log))
    log = small_log().assign(amount=[10.0, 5.0, -20.0, 7.0, 3.0, 9.0])
    with pytest.raises(DataError, match=r"negative.*Rows affected: 1\. First example: "
                       r"customer_id='a', date='2024-01-15', amount=-20\.0"):
        rfm_summary(spark.createDataFrame(log), amount_col="amount")


@pytest.mark.slow
def test_spark_refuses_what_pandas_refuses(spark) -> None:
    """The rules of the issue "nothing silent" on Spark: the pandas path's message and count."""
    cases = [
        (dict(date=["03/04/2024", "25/04/2024", "05/04/2024", "06/04/2024", "28/04/2024",
                    "30/04/2024"]), {}),
        (dict(date=["2024-01-03T10:00:00+02:00"] * 6), {}),
        (dict(date=[1704067200 + 86400 * i for i in range(6)]), {}),
        (dict(date=["2124-01-03"] * 6), {}),
        (dict(amount=[float("inf"), 1.0, 2.0, 3.0, 4.0, 5.0]), {"amount_col": "amount"}),
        (dict(amount=[True, False] * 3), {"amount_col": "amount"}),
    ]
    for change, kw in cases:
        log = small_log().assign(**change)
        with pytest.raises(DataError) as ours:
            rfm_summary(log, **kw)
        with pytest.raises(DataError) as theirs:
            rfm_summary(spark.createDataFrame(log), **kw)
        assert (theirs.value.problem, theirs.value.n_rows, theirs.value.fix) == (
            ours.value.problem, ours.value.n_rows, ours.value.fix)
