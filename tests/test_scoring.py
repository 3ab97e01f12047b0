"""Chunked and Spark scoring: the same numbers as scoring the whole frame at once."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from retention_kit.clv import customer_lifetime_value
from retention_kit.datasets import load_cdnow_summary, simulate_summary
from retention_kit.errors import DataError
from retention_kit.models import BGNBD, GammaGamma
from retention_kit.models._base import Model
from retention_kit.scoring import score_chunks, score_spark, score_summary

OPTIONS = {"time_unit": "W", "horizon": 12, "discount_period": "M", "discount_rate": 0.01}
COLUMNS = ["expected_purchases", "probability_alive", "expected_spend", "clv"]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    data = load_cdnow_summary()
    data.attrs["time_unit"] = "W"
    return data


@pytest.fixture(scope="module")
def models(cdnow: pd.DataFrame) -> tuple[BGNBD, GammaGamma]:
    return BGNBD().fit(cdnow), GammaGamma().fit(cdnow[cdnow["frequency"] > 0])


@pytest.fixture(scope="module")
def whole(cdnow: pd.DataFrame, models: tuple[BGNBD, GammaGamma]) -> pd.DataFrame:
    bg, gg = models
    return score_summary(cdnow, bg, spend_model=gg, **OPTIONS)


def assert_same_scores(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_index_equal(got.index, expected.index, check_names=False)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=0)


def chunked(data: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(data), size):
        yield data.iloc[start:start + size]


# --------------------------------------------------------------------------- one frame


def test_score_summary_is_the_models_predictions_and_the_clv(cdnow, models, whole) -> None:
    bg, gg = models
    weeks = 12 * 365.25 / 12 / 7
    assert list(whole.columns) == COLUMNS
    assert whole.index.equals(cdnow.index)
    np.testing.assert_array_equal(whole["expected_purchases"],
                                  bg.expected_purchases(cdnow, weeks))
    np.testing.assert_array_equal(whole["probability_alive"], bg.probability_alive(cdnow))
    np.testing.assert_array_equal(whole["expected_spend"], gg.expected_spend(cdnow))
    np.testing.assert_array_equal(whole["clv"],
                                  customer_lifetime_value(bg, gg, cdnow, **OPTIONS))


def test_without_spend_model_only_purchases_and_alive(cdnow, models, whole) -> None:
    out = score_summary(cdnow, models[0], time_unit="W", horizon=12, discount_period="M")
    assert list(out.columns) == COLUMNS[:2]
    pd.testing.assert_frame_equal(out, whole[COLUMNS[:2]])


# --------------------------------------------------------------------------- chunks


@pytest.mark.parametrize("size", [97, 1000, 5000])
def test_chunks_equal_the_whole_frame(cdnow, models, whole, size) -> None:
    bg, gg = models
    parts = list(score_chunks(chunked(cdnow, size), bg, spend_model=gg, **OPTIONS))
    assert [len(p) for p in parts] == [len(c) for c in chunked(cdnow, size)]
    assert_same_scores(pd.concat(parts), whole)


def test_a_single_frame_and_empty_chunks(cdnow, models, whole) -> None:
    bg, gg = models
    (one,) = score_chunks(cdnow, bg, spend_model=gg, **OPTIONS)
    assert_same_scores(one, whole)
    parts = list(score_chunks([cdnow.iloc[:0], cdnow.iloc[:10], cdnow.iloc[:0]], bg,
                              spend_model=gg, **OPTIONS))
    assert len(parts) == 1
    assert_same_scores(parts[0], whole.iloc[:10])


def test_the_generator_never_holds_more_than_one_chunk(cdnow, models) -> None:
    """Invariant: a chunk is read only when the previous one's scores have been taken."""
    bg, gg = models
    pulled = []

    def source() -> Iterator[pd.DataFrame]:
        for i, chunk in enumerate(chunked(cdnow, 300)):
            pulled.append(i)
            yield chunk

    scores = score_chunks(source(), bg, spend_model=gg, **OPTIONS)
    assert pulled == []  # lazy: nothing read before the first frame is asked for
    n_out = 0
    for frame in scores:
        n_out += 1
        assert len(pulled) == n_out, "the generator read ahead of the frames it yielded"
        assert len(frame) <= 300
    assert n_out == len(pulled) == 8


def test_traced_peak_memory_does_not_grow_with_the_number_of_chunks(models) -> None:
    bg, gg = models
    size = 20_000

    def source(n_chunks: int) -> Iterator[pd.DataFrame]:
        for seed in range(n_chunks):
            frame = simulate_summary(size, T=39.0, spend={"p": 6.25, "q": 3.74, "gamma": 15.44},
                                     random_state=seed)
            # whole days in weeks, as a summary of a dated log has (few distinct rows)
            frame["recency"] = np.where(frame["frequency"] > 0, np.minimum(
                np.maximum(np.ceil(frame["recency"] * 7), 1) / 7, frame["T"]), 0.0)
            yield frame

    def peak(n_chunks: int) -> int:
        tracemalloc.start()
        try:
            total = 0.0
            for frame in score_chunks(source(n_chunks), bg, spend_model=gg, **OPTIONS):
                total += float(frame["clv"].sum())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = peak(2), peak(20)
    input_bytes = 20 * size * 4 * 8
    assert many < 1.5 * few, (few, many)
    assert many < input_bytes, (many, input_bytes)


# --------------------------------------------------------------------------- Parquet


def test_parquet_file_in_record_batches(tmp_path, cdnow, models, whole) -> None:
    pytest.importorskip("pyarrow")
    bg, gg = models
    path = tmp_path / "summary.parquet"
    cdnow.to_parquet(path)  # a RangeIndex is stored as metadata only: rebuilt per batch
    parts = list(score_chunks(path, bg, spend_model=gg, batch_size=500, **OPTIONS))
    assert [len(p) for p in parts] == [500] * 4 + [357]
    result = pd.concat(parts)
    assert result.index.name == "customer_id"
    assert_same_scores(result, whole)


def test_parquet_folder_with_an_id_column_and_parquet_output(tmp_path, cdnow, models,
                                                             whole) -> None:
    pytest.importorskip("pyarrow")
    bg, gg = models
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = cdnow.reset_index().assign(customer_id=lambda d: "C" + d["customer_id"].astype(str))
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        if i == 0:  # ids as a plain column
            frame.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
        else:  # ids as a named index, which pandas stores as a column with metadata
            frame.iloc[part].set_index("customer_id").to_parquet(folder / f"part-{i}.parquet")
    out = tmp_path / "scores.parquet"
    n = score_chunks(folder, bg, spend_model=gg, batch_size=300, output=out, **OPTIONS)
    assert n == len(cdnow)
    written = pd.read_parquet(out)
    assert written.index.name == "customer_id"
    assert written.index.tolist() == ("C" + whole.index.astype(str)).tolist()
    assert_same_scores(written.set_axis(whole.index), whole)


def test_arrow_memory_is_bounded_by_the_batch_not_the_file(tmp_path, models) -> None:
    pa = pytest.importorskip("pyarrow")
    n, group = 2_000_000, 50_000
    rng = np.random.default_rng(0)
    frequency = rng.integers(0, 10, n)
    big = pd.DataFrame({"frequency": frequency,
                        "recency": np.where(frequency > 0, 0.1 + 9.9 * rng.random(n), 0.0),
                        "T": 10.0 + rng.random(n)}).rename_axis("customer_id")
    path = tmp_path / "big.parquet"
    big.to_parquet(path, index=True, row_group_size=group)
    file_bytes = big.memory_usage(index=True).sum()  # 48 MB in memory
    del big
    base = pa.total_allocated_bytes()
    held = []
    for frame in score_chunks(path, models[0], batch_size=group, time_unit="W", horizon=12,
                              discount_period="M"):
        held.append(pa.total_allocated_bytes() - base)
        del frame
    assert len(held) == n // group
    # pyarrow's default read cache (pre_buffer) holds ~40 MB of this file, and grows.
    assert max(held) < file_bytes / 4, (max(held), file_bytes)
    assert max(held[-10:]) < 1.2 * held[0], held


def test_parquet_errors_are_raised_before_reading(tmp_path, cdnow, models) -> None:
    pytest.importorskip("pyarrow")
    bg, gg = models
    path = tmp_path / "summary.parquet"
    cdnow.drop(columns="monetary_value").to_parquet(path)
    with pytest.raises(DataError, match="no column 'monetary_value'"):
        score_chunks(path, bg, spend_model=gg, **OPTIONS)
    with pytest.raises(DataError, match="no customer id column 'id'.*index=True"):
        list(score_chunks(path, bg, customer_col="id", **OPTIONS))
    with pytest.raises(DataError, match="no file"):
        score_chunks(tmp_path / "missing.parquet", bg, **OPTIONS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no \\*.parquet files"):
        score_chunks(tmp_path / "empty", bg, **OPTIONS)


def test_time_unit_of_a_parquet_summary_is_checked(tmp_path, cdnow) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "summary.parquet"
    cdnow.to_parquet(path)  # pandas keeps attrs (time_unit="W") in the file
    given = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    with pytest.raises(DataError, match="data.attrs\\['time_unit'\\] says"):
        list(score_chunks(path, given, time_unit="D", horizon=12, discount_period="M"))


# --------------------------------------------------------------------------- errors


def test_bad_input_is_explained(tmp_path, cdnow, models) -> None:
    bg, gg = models
    with pytest.raises(DataError, match="data.attrs\\['time_unit'\\] says"):
        score_summary(cdnow, bg, time_unit="D", horizon=12, discount_period="M")
    no_attrs = cdnow.copy()
    no_attrs.attrs = {}
    with pytest.raises(DataError, match="fitted on data in 'W'"):
        score_summary(no_attrs, bg, time_unit="D", horizon=12, discount_period="M")
    with pytest.raises(DataError, match="monetary_value"):
        list(score_chunks([cdnow.drop(columns="monetary_value")], bg, spend_model=gg,
                          **OPTIONS))
    with pytest.raises(ValueError, match="discount_rate is required"):
        score_chunks([cdnow], bg, spend_model=gg, time_unit="W", horizon=12,
                     discount_period="M")
    with pytest.raises(ValueError, match="horizon must be a whole number"):
        score_chunks([cdnow], bg, time_unit="W", horizon=0.5, discount_period="M")
    with pytest.raises(ValueError, match="batch_size"):
        score_chunks([cdnow], bg, batch_size=0, **OPTIONS)
    with pytest.raises(TypeError, match="summaries must be"):
        score_chunks(42, bg, **OPTIONS)
    with pytest.raises(DataError, match="no customers to score"):
        score_chunks([cdnow.iloc[:0]], bg, output=tmp_path / "unused.parquet", **OPTIONS)


# --------------------------------------------------------------------------- Spark


def spark_test(fn):
    """Starts a JVM (about 10 s once per module); pyspark's own pandas-3 deprecation noise."""
    fn = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")(fn)
    return pytest.mark.slow(fn)


@pytest.fixture(scope="module")
def cdnow_sdf(spark, cdnow):
    return spark.createDataFrame(cdnow.reset_index()).repartition(3)


@spark_test
def test_spark_equals_pandas(cdnow_sdf, models, whole, monkeypatch) -> None:
    bg, gg = models

    def no_pickle(self, protocol):
        raise AssertionError("a model object was pickled")

    monkeypatch.setattr(Model, "__reduce_ex__", no_pickle)
    sdf = score_spark(cdnow_sdf, bg.to_json(), spend_model_json=gg.to_json(), **OPTIONS)
    assert sdf.columns == ["customer_id", *COLUMNS]
    assert [f.dataType.typeName() for f in sdf.schema.fields] == ["long"] + ["double"] * 4
    result = sdf.toPandas().sort_values("customer_id").set_index("customer_id")
    assert_same_scores(result, whole)


@spark_test
def test_spark_without_spend_model(cdnow_sdf, models, whole) -> None:
    sdf = score_spark(cdnow_sdf, models[0].to_json(), time_unit="W", horizon=12,
                      discount_period="M")
    assert sdf.columns == ["customer_id", *COLUMNS[:2]]
    result = sdf.toPandas().sort_values("customer_id").set_index("customer_id")
    assert_same_scores(result, whole[COLUMNS[:2]])


@spark_test
def test_spark_errors_on_the_driver(cdnow_sdf, models) -> None:
    bg, gg = models
    with pytest.raises(DataError, match="no column 'monetary_value'"):
        score_spark(cdnow_sdf.drop("monetary_value"), bg.to_json(),
                    spend_model_json=gg.to_json(), **OPTIONS)
    with pytest.raises(DataError, match="no column 'id'"):
        score_spark(cdnow_sdf, bg.to_json(), customer_col="id", **OPTIONS)
    with pytest.raises(DataError, match="fitted on data in 'W'"):
        score_spark(cdnow_sdf, bg.to_json(), time_unit="D", horizon=12, discount_period="M")
    with pytest.raises(TypeError, match="JSON text of a fitted model"):
        score_spark(cdnow_sdf, bg, **OPTIONS)
    with pytest.raises(DataError, match="not the JSON"):
        score_spark(cdnow_sdf, "{not json", **OPTIONS)
    with pytest.raises(TypeError, match="pyspark.sql.DataFrame"):
        score_spark(pd.DataFrame(), bg.to_json(), **OPTIONS)
