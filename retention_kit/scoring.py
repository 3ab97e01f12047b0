"""Scoring a customer base too large for one frame: chunk by chunk, or on Spark.

Every prediction of a BTYD model is a function of one customer's summary row alone, so a
customer base of any size can be scored a chunk at a time, and the result does not depend
on how the customers are cut into chunks. Three entry points share one scoring function:

* :func:`score_summary`: one pandas summary in, one frame of predictions out (the
  reference the other two are tested against);
* :func:`score_chunks`: an iterable of summaries, or a Parquet file (or a folder of them)
  read in record batches with :meth:`pyarrow.parquet.ParquetFile.iter_batches`; yields
  one frame of predictions per chunk, or writes them to a Parquet file with
  :class:`pyarrow.parquet.ParquetWriter`. At most one chunk is held at a time, so memory
  is bounded by the chunk size, not the number of customers;
* :func:`score_spark`: a Spark DataFrame scored with a pandas function through
  :meth:`pyspark.sql.DataFrame.mapInPandas`; the fitted models travel to the workers as
  their JSON (:meth:`~retention_kit.models._base.Model.to_json`), never pickled.

The predictions, per customer, over ``horizon`` discount periods:

``expected_purchases``
    E[X(T, T+h) | history], h = ``horizon`` × ``discount_period`` in ``time_unit``
    (not discounted);
``probability_alive``
    P(alive | history) at the end of observation;
``expected_spend``, ``clv`` (with a spend model)
    E[Z | history] per purchase, and the discounted CLV of
    :func:`~retention_kit.clv.customer_lifetime_value` with the same arguments.

The options and their units are those of :func:`~retention_kit.clv.customer_lifetime_value`
and are checked by the same code. pyarrow and pyspark are imported only when a Parquet
file or a Spark DataFrame is scored: ``import retention_kit`` loads neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._checks import require_columns
from .clv import DAYS_PER_MONTH, TimeUnit, check_clv_time_unit, clv_per_row, clv_schedule
from .errors import DataError

__all__ = ["PREDICTION_COLUMNS", "score_chunks", "score_spark", "score_summary"]

#: Prediction columns, in order; the last two only with a spend model.
PREDICTION_COLUMNS = ("expected_purchases", "probability_alive", "expected_spend", "clv")


# --------------------------------------------------------------------------- one frame


def _prepared(transaction_model: Any, spend_model: Any, time_unit: str, horizon: int,
              discount_period: str, discount_rate: float | None, margin: float,
              steps_per_period: int, days_per_month: float) -> dict[str, Any]:
    """Checked options and the CLV schedule, computed once for every chunk."""
    if spend_model is not None and discount_rate is None:
        raise ValueError("discount_rate is required with a spend model (the CLV discounts "
                         "each period's purchases): pass e.g. discount_rate=0.01 per "
                         f"{discount_period!r}")
    schedule = clv_schedule(time_unit=time_unit, horizon=horizon,
                            discount_period=discount_period,
                            discount_rate=0.0 if discount_rate is None else discount_rate,
                            margin=margin, steps_per_period=steps_per_period,
                            days_per_month=days_per_month)
    return {"transaction_model": transaction_model, "spend_model": spend_model,
            "schedule": schedule}


def _score(data: pd.DataFrame, plan: dict[str, Any]) -> pd.DataFrame:
    model, spend_model = plan["transaction_model"], plan["spend_model"]
    schedule = plan["schedule"]
    check_clv_time_unit(data, model, schedule.time_unit)
    out = pd.DataFrame(index=data.index)
    out["expected_purchases"] = np.asarray(
        model.expected_purchases(data, float(schedule.times[-1])), dtype=float)
    out["probability_alive"] = np.asarray(model.probability_alive(data), dtype=float)
    if spend_model is not None:
        out["expected_spend"] = np.asarray(spend_model.expected_spend(data), dtype=float)
        out["clv"] = clv_per_row(model, spend_model, data, schedule)
    return out


def score_summary(
    data: pd.DataFrame,
    transaction_model: Any,
    *,
    spend_model: Any = None,
    time_unit: TimeUnit,
    horizon: int,
    discount_period: TimeUnit,
    discount_rate: float | None = None,
    margin: float = 1.0,
    steps_per_period: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
) -> pd.DataFrame:
    """Per-customer predictions of a fitted transaction model (and spend model).

    Parameters
    ----------
    data : DataFrame
        One row per customer with the models' columns (``frequency``, ``recency``,
        ``T`` [, ``monetary_value``]), as :func:`~retention_kit.data.rfm_summary` makes.
    transaction_model : fitted model
        With ``expected_purchases(data, t)`` and ``probability_alive(data)``, e.g.
        :class:`~retention_kit.models.BGNBD`.
    spend_model : fitted model, optional
        With ``expected_spend(data)``, e.g. :class:`~retention_kit.models.GammaGamma`;
        adds ``expected_spend`` and ``clv``.
    time_unit, horizon, discount_period, discount_rate, margin, steps_per_period, \
days_per_month
        As in :func:`~retention_kit.clv.customer_lifetime_value`. ``horizon`` counts
        ``discount_period`` s, also for ``expected_purchases``; ``discount_rate`` is
        needed only with a spend model.

    Returns
    -------
    DataFrame
        On ``data``'s index: ``expected_purchases`` (over the horizon, undiscounted),
        ``probability_alive`` and, with a spend model, ``expected_spend`` and ``clv``
        (equal to :func:`~retention_kit.clv.customer_lifetime_value`).

    Raises
    ------
    DataError
        As :func:`~retention_kit.clv.customer_lifetime_value`: a ``time_unit`` that
        disagrees with ``data.attrs`` or the model, or data a model rejects.

    Examples
    --------
    >>> from retention_kit.models import BGNBD, GammaGamma
    >>> bg = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> gg = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> data = pd.DataFrame({"frequency": [2, 0, 6], "recency": [30.43, 0.0, 35.0],
    ...                      "T": [38.86, 38.86, 38.0],
    ...                      "monetary_value": [22.35, 0.0, 50.0]},
    ...                     index=pd.Index([1, 2, 3], name="customer_id"))
    >>> score_summary(data, bg, spend_model=gg, time_unit="W", horizon=12,
    ...               discount_period="M", discount_rate=0.01).round(3)
                 expected_purchases  probability_alive  expected_spend      clv
    customer_id
    1                         1.563              0.727          24.664   36.311
    2                         0.253              1.000          35.219    8.374
    3                         4.945              0.856          48.994  228.405
    """
    plan = _prepared(transaction_model, spend_model, time_unit, horizon, discount_period,
                     discount_rate, margin, steps_per_period, days_per_month)
    return _score(data, plan)


# --------------------------------------------------------------------------- chunks


def _parquet_files(path: str | os.PathLike[str]) -> list[Path]:
    root = Path(path)
    if root.is_dir():
        files = sorted(root.glob("*.parquet"))
        if not files:
            raise DataError(f"the folder {str(root)!r} holds no *.parquet files",
                            fix="point at a Parquet file or a folder of them")
        return files
    if not root.exists():
        raise DataError(f"no file {str(root)!r}", fix="check the path to the Parquet summary")
    return [root]


def _needed_columns(models: tuple[Any, ...]) -> list[str]:
    needed: list[str] = []
    for model in models:
        if model is not None:
            needed += [c for c in getattr(model, "data_columns", ()) if c not in needed]
    return needed


def _range_index(metadata: dict[bytes, bytes] | None, name: str) -> dict[str, Any] | None:
    """The RangeIndex pandas stored as metadata only (``to_parquet`` without ``index=True``)."""
    if not metadata or b"pandas" not in metadata:
        return None
    for entry in json.loads(metadata[b"pandas"]).get("index_columns", []):
        if isinstance(entry, dict) and entry.get("kind") == "range" and entry.get("name") == name:
            return entry
    return None


def _parquet_sources(path: str | os.PathLike[str], columns: list[str], customer_col: str,
                     ) -> list[tuple[Path, dict[str, Any] | None, dict[str, Any]]]:
    """Each file with its stored RangeIndex (if the ids are not a column) and attrs.

    Reads the schemas only, so bad paths and missing columns fail before any data is read.
    """
    import pyarrow.parquet as pq

    sources = []
    for file in _parquet_files(path):
        schema = pq.read_schema(file)
        metadata, names = schema.metadata, schema.names
        rng = None if customer_col in names else _range_index(metadata, customer_col)
        if customer_col not in names and rng is None:
            raise DataError(
                f"the Parquet file {str(file)!r} has no customer id column {customer_col!r}; "
                f"its columns are {names}",
                fix="pass customer_col=<the id column>, or write the summary with "
                "summary.to_parquet(path, index=True) so that its index is stored")
        require_columns(pd.DataFrame(columns=names),
                         {c: "a model input column" for c in columns},
                         what=f"the Parquet file {str(file)!r}")
        attrs = json.loads(metadata[b"PANDAS_ATTRS"]) if metadata and (
            b"PANDAS_ATTRS" in metadata) else {}
        sources.append((file, rng, attrs))
    return sources


def _parquet_chunks(sources: list[tuple[Path, dict[str, Any] | None, dict[str, Any]]],
                    columns: list[str], customer_col: str, batch_size: int,
                    ) -> Iterator[pd.DataFrame]:
    """Summaries read one record batch at a time, indexed by ``customer_col``."""
    import pyarrow.parquet as pq

    for file, rng, attrs in sources:
        wanted = columns + ([customer_col] if rng is None else [])
        offset = 0
        # pre_buffer=False: with pyarrow's default read cache the buffers of every row
        # group read stay allocated until the file is closed, so memory grows with it.
        with pq.ParquetFile(file, pre_buffer=False) as pf:
            for batch in pf.iter_batches(batch_size=batch_size, columns=wanted,
                                         use_pandas_metadata=False):
                frame = batch.to_pandas()
                if rng is None:
                    if frame.index.name != customer_col:  # else pandas restored the index
                        frame = frame.set_index(customer_col)
                else:
                    start, step = int(rng["start"]), int(rng["step"])
                    frame.index = pd.RangeIndex(start + step * offset,
                                                start + step * (offset + len(frame)), step,
                                                name=customer_col)
                offset += len(frame)
                frame.attrs.update(attrs)
                yield frame


def _scored(chunks: Iterable[pd.DataFrame], plan: dict[str, Any]) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        if len(chunk):
            yield _score(chunk, plan)


def score_chunks(
    summaries: Iterable[pd.DataFrame] | str | os.PathLike[str],
    transaction_model: Any,
    *,
    spend_model: Any = None,
    time_unit: TimeUnit,
    horizon: int,
    discount_period: TimeUnit,
    discount_rate: float | None = None,
    margin: float = 1.0,
    steps_per_period: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
    customer_col: str = "customer_id",
    batch_size: int = 100_000,
    output: str | os.PathLike[str] | None = None,
) -> Iterator[pd.DataFrame] | int:
    """Score a customer base chunk by chunk, holding one chunk in memory at a time.

    Each chunk is scored by :func:`score_summary`; a customer's predictions depend on
    her row only, so the concatenated chunks equal scoring the whole base at once.

    Parameters
    ----------
    summaries : iterable of DataFrame, or path
        Per-customer summaries (any iterable, e.g. a generator reading a database in
        pages), or a Parquet file, or a folder of ``*.parquet`` files, read in record
        batches of ``batch_size`` rows. Empty chunks are skipped.
    transaction_model, spend_model, time_unit, horizon, discount_period, discount_rate, \
margin, steps_per_period, days_per_month
        As in :func:`score_summary`.
    customer_col : str, default "customer_id"
        For Parquet input: the customer id column, which becomes the index of each
        chunk (a RangeIndex that pandas stored as metadata only is rebuilt).
    batch_size : int, default 100_000
        Rows per Parquet record batch, i.e. per chunk; memory grows with it.
    output : path, optional
        Write the predictions to this Parquet file (index as the ``customer_col``
        column, or the index's own name for iterable input) instead of yielding them.

    Returns
    -------
    iterator of DataFrame, or int
        Without ``output``: a lazy iterator yielding one frame of predictions per
        non-empty chunk, on its index; nothing is read before the first frame is asked
        for. With ``output``: the number of customers written.

    Raises
    ------
    DataError
        Missing columns (checked against the Parquet schema before reading), a
        ``time_unit`` that disagrees with the model or with ``attrs`` (kept in Parquet
        files written by pandas), or data a model rejects (chunk by chunk).

    Examples
    --------
    >>> from retention_kit.models import BGNBD
    >>> bg = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> data = pd.DataFrame({"frequency": [2, 0, 6], "recency": [30.43, 0.0, 35.0],
    ...                      "T": [38.86, 38.86, 38.0]})
    >>> chunks = (data.iloc[i:i + 2] for i in range(0, len(data), 2))
    >>> parts = list(score_chunks(chunks, bg, time_unit="W", horizon=12,
    ...                           discount_period="M"))
    >>> [len(p) for p in parts]
    [2, 1]
    >>> pd.concat(parts).round(3)
       expected_purchases  probability_alive
    0               1.563              0.727
    1               0.253              1.000
    2               4.945              0.856
    """
    plan = _prepared(transaction_model, spend_model, time_unit, horizon, discount_period,
                     discount_rate, margin, steps_per_period, days_per_month)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or (
            batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(summaries, pd.DataFrame):
        chunks: Iterable[pd.DataFrame] = [summaries]
    elif isinstance(summaries, str | os.PathLike):
        # Fail on a bad path or missing columns now, not at the first next().
        columns = _needed_columns((transaction_model, spend_model))
        sources = _parquet_sources(summaries, columns, customer_col)
        chunks = _parquet_chunks(sources, columns, customer_col, int(batch_size))
    elif isinstance(summaries, Iterable):
        chunks = summaries
    else:
        raise TypeError("summaries must be DataFrames (an iterable of them) or the path of a "
                        f"Parquet file, got {type(summaries).__name__}")
    scored = _scored(chunks, plan)
    if output is None:
        return scored
    return _write_parquet(scored, output, customer_col)


def _write_parquet(frames: Iterator[pd.DataFrame], output: str | os.PathLike[str],
                   customer_col: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    n = 0
    try:
        for frame in frames:
            if frame.index.name is None:
                frame = frame.rename_axis(customer_col)
            table = pa.Table.from_pandas(frame, preserve_index=True)
            if writer is None:
                writer = pq.ParquetWriter(output, table.schema)
            writer.write_table(table)
            n += len(frame)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise DataError("there were no customers to score (every chunk was empty)",
                        fix="check the input summaries")
    return n


# --------------------------------------------------------------------------- Spark


def _model_from_json(text: Any, role: str) -> Any:
    """Rebuild a fitted retention_kit model from its JSON, whatever its class."""
    from . import models
    from .models._base import Model

    if not isinstance(text, str):
        raise TypeError(f"{role} must be the JSON text of a fitted model (model.to_json()), "
                        f"got {type(text).__name__}")
    try:
        name = json.loads(text).get("model")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DataError(f"{role} is not the JSON of a retention_kit model",
                        example=text[:60], fix="pass model.to_json()") from exc
    cls = getattr(models, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise DataError(f"{role} holds a model {name!r} that retention_kit.models does not have",
                        fix="pass the to_json() text of a fitted retention_kit model")
    return cls.from_json(text)


def score_spark(
    summary_sdf: Any,
    model_json: str,
    *,
    spend_model_json: str | None = None,
    time_unit: TimeUnit,
    horizon: int,
    discount_period: TimeUnit,
    discount_rate: float | None = None,
    margin: float = 1.0,
    steps_per_period: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
    customer_col: str = "customer_id",
) -> Any:
    """Score a Spark DataFrame of customer summaries with pandas functions on the workers.

    Each partition is scored by :func:`score_summary` through
    :meth:`~pyspark.sql.DataFrame.mapInPandas`. The models are shipped as their JSON
    text and rebuilt once per partition with ``from_json``, so nothing but strings and
    retention_kit's own code has to reach the workers: retention_kit must be installed
    in the workers' Python (``PYSPARK_PYTHON``; in local mode it defaults to
    ``python3`` on the PATH, not the driver's interpreter). Lazy, like every Spark
    transformation: nothing runs until an action.

    Parameters
    ----------
    summary_sdf : pyspark.sql.DataFrame
        One row per customer: ``customer_col`` and the models' columns (other
        columns are ignored).
    model_json : str
        ``transaction_model.to_json()`` of a fitted transaction model.
    spend_model_json : str, optional
        ``spend_model.to_json()`` of a fitted spend model; adds ``expected_spend``
        and ``clv``.
    time_unit, horizon, discount_period, discount_rate, margin, steps_per_period, \
days_per_month
        As in :func:`score_summary`.
    customer_col : str, default "customer_id"
        Customer id column, copied to the output with its Spark type.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_col`` and the prediction columns (doubles), with an explicit schema.

    Raises
    ------
    DataError
        On the driver, before any job: missing columns, JSON that is not a fitted
        retention_kit model, or a ``time_unit`` other than the model's.

    Examples
    --------
    Not run here (it needs a Spark session); ``summary_sdf`` holds ``customer_id``,
    ``frequency``, ``recency``, ``T`` and ``monetary_value`` (for example
    ``to_pyspark(rfm_summary_expr(...))`` of :mod:`retention_kit.engines`, which keeps
    the summary in the cluster):

    >>> scores = score_spark(summary_sdf, bg.to_json(),  # doctest: +SKIP
    ...                      spend_model_json=gg.to_json(), time_unit="W", horizon=12,
    ...                      discount_period="M", discount_rate=0.01)
    >>> scores.write.parquet("scores/")  # doctest: +SKIP
    """
    from pyspark.sql import types as st

    if not (hasattr(summary_sdf, "mapInPandas") and hasattr(summary_sdf, "schema")):
        raise TypeError("summary_sdf must be a pyspark.sql.DataFrame, got "
                        f"{type(summary_sdf).__name__}; for pandas use score_summary")
    model = _model_from_json(model_json, "model_json")
    spend = None if spend_model_json is None else _model_from_json(spend_model_json,
                                                                   "spend_model_json")
    options = {"time_unit": time_unit, "horizon": horizon, "discount_period": discount_period,
               "discount_rate": discount_rate, "margin": margin,
               "steps_per_period": steps_per_period, "days_per_month": days_per_month}
    _prepared(model, spend, **options)  # checks the options on the driver
    columns = _needed_columns((model, spend))
    require_columns(pd.DataFrame(columns=summary_sdf.columns),
                     {customer_col: "the customer id (customer_col)",
                      **{c: "a model input column" for c in columns}},
                     what="summary_sdf")
    check_clv_time_unit(pd.DataFrame(columns=columns), model, time_unit)

    names = list(PREDICTION_COLUMNS if spend is not None else PREDICTION_COLUMNS[:2])
    id_field = summary_sdf.schema[customer_col]
    schema = st.StructType([st.StructField(customer_col, id_field.dataType, id_field.nullable),
                            *(st.StructField(n, st.DoubleType(), True) for n in names)])
    selected = summary_sdf.select(customer_col, *columns)

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # Runs on the workers: only the two JSON strings and the options are captured.
        worker_model = _model_from_json(model_json, "model_json")
        worker_spend = None if spend_model_json is None else _model_from_json(
            spend_model_json, "spend_model_json")
        worker_plan = _prepared(worker_model, worker_spend, **options)
        for batch in batches:
            if len(batch) == 0:
                continue
            scored = _score(batch.set_index(customer_col), worker_plan)
            yield scored.reset_index()[[customer_col, *names]]

    return selected.mapInPandas(score_partition, schema)
