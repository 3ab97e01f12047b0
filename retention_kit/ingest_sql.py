"""Rules 1-5 of a transaction spec on DuckDB, PostgreSQL, Spark or any Ibis backend.

:func:`retention_kit.ingest.clean_transactions` hands a path (Parquet or CSV files, globs,
folders, lists), an :class:`ibis.Table` or a ``pyspark.sql.DataFrame`` (through Ibis's
PySpark backend) to :func:`stage_lines`. Everything that touches raw lines runs in the
engine, written once as Ibis expressions:

* typing: text dates parsed with regular expressions and integer arithmetic (day-first,
  month-first, ISO 8601, simple strptime formats, epoch numbers, Excel serial days), amounts
  stripped of currency symbols and thousands separators, decimal commas, ``(5.00)`` as -5;
* every check and rule count (rows, revenue, first row) in **one** aggregation query;
* purchase lines summed into orders (one grouped query, collected: the clean log is a
  pandas frame of orders).

Only the orders, the return lines and, for the product-first netting, the returning
customers' lines of the products they returned come back; the sequential netting, the clean
frame and the report are the pandas path's own functions, so both paths give the same
frame and the same report. Rows are numbered in the engine's scan order (file order for
DuckDB files; insertion order of a freshly loaded PostgreSQL table; for Spark, partition
by partition, each in its order, as ``zipWithIndex`` numbers them); examples name that
number. Where the engine cannot read a value exactly as pandas would (dates that only
pandas' flexible parser reads, time-zone conversions to a named zone, strptime directives
other than ``%d %m %Y %y %H %M %S``), a :class:`~retention_kit.errors.DataError` says so and
names the alternative instead of returning different numbers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _checks as checks
from ._checks import plain, suggest
from .engines import file_kind, source_paths, to_ibis, to_pyspark
from .errors import DataError
from .ingest_rules import Ledger, StagedLog, identical_line_columns

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

__all__ = ["connect", "stage_lines", "staged_orders"]

ROW = "_rk_row"
_FILE, _FILE_ROW = "_rk_file", "_rk_file_row"  # where a Parquet file's row is
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_UNIX_EPOCH = dt.datetime(1970, 1, 1)
_DAY_MONTH = (r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})"
              r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")
_ISO = (r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
        r"(Z|[+-]\d{2}(?::?\d{2})?)?$")
_AWARE = r"(?:[+-]\d{2}:?\d{2}|Z)$"
_DIRECTIVES = {"d": r"(\d{1,2})", "m": r"(\d{1,2})", "Y": r"(\d{4})", "y": r"(\d{2})",
               "H": r"(\d{1,2})", "M": r"(\d{1,2})", "S": r"(\d{1,2})"}
_PANDAS = ("read the file into pandas (pd.read_csv / pd.read_parquet, or .to_pandas() of the "
           "table) and pass the DataFrame: the pandas path reads it")


def _ibis() -> Any:
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover
        raise ImportError('raw logs in files or Ibis tables need Ibis: pip install '
                          '"retention_kit[scale]"') from exc
    return ibis


def _open(source: Any, spec: Any) -> tuple[ir.Table, list[int] | None]:
    """The log as an Ibis table, and for Parquet files the row number each file starts at
    (see :func:`_numbered_parquet`); CSV text columns of the spec are read as text."""
    ibis = _ibis()
    if isinstance(source, ibis.Table) or not isinstance(source, str | os.PathLike | list
                                                             | tuple):
        return to_ibis(source), None
    paths = source_paths(source)
    if file_kind(paths[0]) != "csv":
        return _numbered_parquet(paths)
    text = [spec.order, spec.product, spec.channel, spec.country]
    if spec.date_format not in ("epoch_s", "epoch_ms", "excel"):
        text.append(spec.date)
    con = ibis.duckdb.connect()
    header = con.read_csv(paths[0] if len(paths) == 1 else paths)
    types = {c: "VARCHAR" for c in text if c is not None and c in header.columns}
    return con.read_csv(paths[0] if len(paths) == 1 else paths, types=types,
                        sample_size=-1), None


def _numbered_parquet(paths: list[str]) -> tuple[ir.Table, list[int] | None]:
    """Parquet files on DuckDB with their rows numbered (``_rk_row``) in file order, and
    the number each file starts at.

    The number is the row's position in its file plus the rows of the files before it (the
    files in DuckDB's order: the list as given, each glob sorted), which is what
    ``ROW_NUMBER() OVER ()`` gives, without the window that holds the whole log in memory
    and numbers it on one thread. The file's index and the position in it are columns too
    (``_rk_file``, ``_rk_file_row``): a filter on them reads only the row groups holding
    those rows (a filter on the number itself reads every row).
    """
    ibis = _ibis()
    con = ibis.duckdb.connect()
    listed = "[" + ", ".join(_quoted(p) for p in paths) + "]"
    files = [r[0] for r in con.raw_sql(f"SELECT file FROM glob({listed})").fetchall()]
    if not files:
        return to_ibis(paths), None  # its error names the missing file
    counts = dict(con.raw_sql(
        "SELECT file_name, num_rows FROM parquet_file_metadata("
        + "[" + ", ".join(_quoted(f) for f in files) + "])").fetchall())
    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        total += int(counts[f])
    listed = "[" + ", ".join(_quoted(f) for f in files) + "]"
    start = "[" + ", ".join(str(o) for o in offsets) + "]"
    name = f"_rk_log_{uuid.uuid4().hex[:12]}"
    con.raw_sql(f"CREATE TEMPORARY VIEW {name} AS SELECT *, CAST(file_row_number AS BIGINT) "
                f"+ CAST({start}[CAST(file_index AS BIGINT) + 1] AS BIGINT) AS {ROW}, "
                f"file_index AS {_FILE}, file_row_number AS {_FILE_ROW} "
                f"FROM read_parquet({listed})")
    return con.table(name), offsets


def _spark_numbered(source: Any, cached: list) -> Any:
    """A Spark DataFrame (or an Ibis table on Spark) as an Ibis table with its rows numbered
    (``_rk_row``) in the DataFrame's order; any other source as it is.

    Spark has no scan order for ``ROW_NUMBER() OVER ()`` (Ibis sorts by NULL: the rows of the
    partitions meet in one in any order), so the rows are numbered as ``zipWithIndex``
    numbers them: partition by partition, each in its order (a DataFrame made from a pandas
    frame, or read from one Parquet file, keeps the file's order): the position in the
    partition (``monotonically_increasing_id``) plus the rows of the partitions before it
    (counted by one query). The temporary view of the DataFrame is dropped with ``cached``.
    """
    module = type(source).__module__
    if not module.startswith(("pyspark.", "ibis.")):
        return source
    if module.startswith("ibis."):
        if source.get_backend().name != "pyspark" or ROW in source.columns:
            return source
        source = to_pyspark(source)
    from pyspark.sql import functions as F

    part = F.spark_partition_id()
    sizes = dict(source.select(part.alias("p")).groupBy("p").count().collect())
    starts, total = [], 0
    for p in range(max(sizes, default=-1) + 1):
        starts.append(total)
        total += int(sizes.get(p, 0))
    mono = F.monotonically_increasing_id()
    low = mono.bitwiseAND(F.lit((1 << 33) - 1))  # the position in the partition
    start = (F.element_at(F.array(*[F.lit(s).cast("long") for s in starts]),
                          F.shiftright(mono, 33).cast("int") + 1)
             if starts else F.lit(0))
    numbered = source.withColumn(ROW, (low + start).cast("long"))
    table = to_ibis(numbered)
    cached.append(_SparkView(numbered.sparkSession, table.get_name()))
    return table


class _SparkView:
    """A temporary view of a Spark session, dropped by ``release()`` (as Ibis's cached
    tables are released)."""

    def __init__(self, session: Any, name: str) -> None:
        self.session, self.name = session, name

    def release(self) -> None:
        self.session.catalog.dropTempView(self.name)


def _quoted(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def connect(url: str, *, table: str | None = None, query: str | None = None) -> ir.Table:
    """A log in a database as an Ibis table: ``table`` by name or the result of ``query``.

    ``url`` is an Ibis connection URL (``postgresql://user@host/db``, ``duckdb:///file.db``).
    The password, if the URL has one, never appears in an error.

    Raises
    ------
    DataError
        The connection, the table or the query fails (with the database's own message).
    """
    from urllib.parse import urlsplit, urlunsplit

    ibis = _ibis()
    parts = urlsplit(url)
    shown = url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        shown = urlunsplit(parts._replace(netloc=netloc))
    try:
        con = ibis.connect(url)
    except Exception as exc:  # every backend raises its own driver errors
        text = str(exc).replace(parts.password, "***") if parts.password else str(exc)
        message = text.strip().splitlines()
        raise DataError(f"cannot connect to {shown}: {message[0] if message else exc!r}",
                        fix="check the URL (postgresql://user@host:port/database; a local "
                        "socket as ?host=/path) and that the server runs") from None
    try:
        return con.table(table) if table is not None else con.sql(query)
    except Exception as exc:
        what = f"table {table!r}" if table is not None else "the query"
        known = ""
        if table is not None:
            try:
                known = f"{suggest(table, list(con.list_tables()))}"
            except Exception:  # pragma: no cover - listing is only a courtesy
                known = ""
        first = str(exc).strip().splitlines()
        raise DataError(f"{what} cannot be read from {shown}: "
                        f"{first[0] if first else type(exc).__name__}",
                        fix=f"{known}check the name (--table) or the SQL (--query)") from None


# --------------------------------------------------------------------------- examples


def _describer(table: ir.Table, cols: list[str], starts: list[int] | None) -> Any:
    """rows -> {row: "row <n>: col=value, ..."} in one query, as first_example writes it.

    ``starts``: the number each Parquet file's rows start at (:func:`_numbered_parquet`),
    or None."""
    ibis = _ibis()

    def describe(rows: list[int]) -> dict[int, str]:
        rows = [int(r) for r in rows]
        if starts is None:
            where = table[ROW].isin(rows)
        else:  # by file and position in it: read only the row groups holding them
            at = [(k, r - starts[k]) for r in rows
                  for k in [bisect.bisect_right(starts, r) - 1]]
            where = ibis.or_(*((table[_FILE] == k) & (table[_FILE_ROW] == n) for k, n in at))
        found = table.filter(where).select(ROW, *cols).to_pandas().set_index(ROW)
        out = {}
        for r in rows:
            values = found.loc[r]
            shown = ", ".join(f"{c}={_shown(values[c])!r}" for c in cols)
            out[r] = f"row {int(r)!r}: {shown}"
        return out

    return describe


def _shown(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return float("nan")
    return plain(value)


# --------------------------------------------------------------------------- parsing


#: What Python's ``str.strip()`` (the pandas path's) takes off: every character
#: ``str.isspace()`` calls whitespace. ASCII ones as regex escapes, the others as
#: themselves (the regex engines of DuckDB, PostgreSQL and Spark read both).
_SPACE = ("[\\t\\n\\x0B\\f\\r\\x1C-\\x20\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029"
          "\u202f\u205f\u3000]")


def _strip(text: Any) -> Any:
    """``text.strip()``, trimming only the values whose first or last character may be
    whitespace (a control character, a space, or beyond ASCII): a trim costs several times
    a look at the first and last character."""
    first, last = text.ascii_str(), text.right(1).ascii_str()
    # cheaper than IN (9, ..., 32): a join on DuckDB
    edge = (first <= 32) | (last <= 32) | (first >= 133) | (last >= 133)
    return edge.ifelse(_trim(text), text)


def _trim(text: Any) -> Any:
    """``text.strip()`` as Python strips: any whitespace off both ends, the non-breaking
    space and the other Unicode spaces too (exports from spreadsheets carry them).

    A regular expression on every engine: SQL's TRIM takes spaces, or a set of characters
    whose escapes Spark SQL reads as letters (``'\\v\\f'``: it would strip ``" 536f "`` to
    ``"536"``).
    """
    return text.re_replace(f"^{_SPACE}+|{_SPACE}+$", "")


def _group(text: Any, pattern: str, i: int) -> Any:
    """Capture group ``i`` as int64 (NULL when it did not take part)."""
    return text.re_extract(pattern, i).nullif("").cast("int64")  # digits or NULL


def _from_parts(y: Any, m: Any, d: Any, hh: Any, mm: Any, ss: Any, *,
                spark: bool = False) -> Any:
    """A timestamp from integer parts, NULL where they are not a real date and time.

    ``spark``: Spark SQL's ``make_timestamp`` (Ibis's PySpark compiler has no
    ``ibis.timestamp(y, m, d, hh, mm, ss)``); the parts are valid where it is called.
    """
    ibis = _ibis()
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = ibis.cases((m == 2, leap.ifelse(29, 28)), (m.isin([4, 6, 9, 11]), 30), else_=31)
    ok = (m.between(1, 12) & (d >= 1) & (d <= days) & hh.between(0, 23) & mm.between(0, 59)
          & ss.between(0, 59) & y.between(1, 9999))
    make = _make_timestamp() if spark else ibis.timestamp
    ts = make(ok.ifelse(y, 2000), ok.ifelse(m, 1), ok.ifelse(d, 1),
              ok.ifelse(hh, 0), ok.ifelse(mm, 0), ok.ifelse(ss, 0))
    return ok.ifelse(ts, ibis.null("timestamp"))


def _make_timestamp() -> Any:
    """Spark SQL's ``make_timestamp(year, month, day, hour, minute, second)`` in Ibis."""
    def make_timestamp(y: Any, m: Any, d: Any, hh: Any, mm: Any, ss: Any) -> Any:
        """Spark SQL's builtin."""

    return _ibis().udf.scalar.builtin(make_timestamp, name="make_timestamp",
                                      signature=(("int64",) * 6, "timestamp"))


def _on_spark(expr: Any) -> bool:
    """Whether the table (or column) lives on Ibis's PySpark backend."""
    return expr.get_backend().name == "pyspark"


def _parsed_dates(table: ir.Table, col: str, spec: Any,
                  cached: list) -> tuple[ir.Table, Any, Any]:
    """(table, timestamp expression, aware-flag expression or None) of the date column."""
    ibis = _ibis()
    raw = table[col]
    kind = raw.type()
    fmt = spec.date_format
    zone_ok = spec.timezone in (None, "UTC", "Etc/UTC")
    if fmt in ("epoch_s", "epoch_ms", "excel"):
        numbers = raw.cast("float64") if kind.is_numeric() else _to_float(_trim(raw))
        if fmt == "excel":
            valid = (numbers >= 1) & (numbers < 2958466)
            us = (valid.ifelse(numbers, 0) * 86_400e6).round().cast("int64")
            return table, valid.ifelse(ibis.literal(_EXCEL_EPOCH) + us.as_interval("us"),
                                       ibis.null("timestamp")), None
        if not zone_ok:
            raise _zone_error(col, spec)
        scale = 1e6 if fmt == "epoch_s" else 1e3
        valid = numbers.abs() < 1e17 / scale
        us = (valid.ifelse(numbers, 0) * scale).round().cast("int64")
        return table, valid.ifelse(ibis.literal(_UNIX_EPOCH) + us.as_interval("us"),
                                   ibis.null("timestamp")), None
    if kind.is_timestamp():
        if kind.timezone is not None:
            raise DataError(f"column {col!r} holds time-zone-aware timestamps; the engine path "
                            "does not convert them to a wall clock",
                            fix="store naive local timestamps in the table, or " + _PANDAS)
        return table, raw, None
    if kind.is_date():
        return table, raw.cast("timestamp"), None
    if not kind.is_string():
        raise DataError(f"column {col!r} holds {kind} values, not dates",
                        fix="store dates as text, a date or a timestamp, or set date_format "
                        "('epoch_s', 'epoch_ms', 'excel') for numbers")
    text = _trim(raw)
    aware = text.re_search(_AWARE)
    zero = ibis.literal(0)
    if fmt in ("dayfirst", "monthfirst"):
        g = [_group(text, _DAY_MONTH, i) for i in range(1, 7)]
        day, month = (g[0], g[1]) if fmt == "dayfirst" else (g[1], g[0])
        p = _layer(table, cached, _rk_y=g[2], _rk_ylen=text.re_extract(_DAY_MONTH, 3).length(),
                   _rk_mo=month, _rk_d=day, _rk_h=g[3].fill_null(0), _rk_mi=g[4].fill_null(0),
                   _rk_s=g[5].fill_null(0), _rk_aware=aware)
        year = (p._rk_ylen == 2).ifelse((p._rk_y < 69).ifelse(2000 + p._rk_y, 1900 + p._rk_y),
                                        p._rk_y)
        ts = _from_parts(year, p._rk_mo, p._rk_d, p._rk_h, p._rk_mi, p._rk_s,
                         spark=_on_spark(p))
        return p, ts, p._rk_aware
    if fmt == "iso":
        g = [_group(text, _ISO, i) for i in range(1, 7)]
        p = _layer(table, cached, _rk_y=g[0], _rk_mo=g[1], _rk_d=g[2], _rk_h=g[3].fill_null(0),
                   _rk_mi=g[4].fill_null(0), _rk_s=g[5].fill_null(0),
                   _rk_frac=text.re_extract(_ISO, 7).nullif(""),
                   _rk_zone=text.re_extract(_ISO, 8).nullif(""), _rk_aware=aware)
        ts = _from_parts(p._rk_y, p._rk_mo, p._rk_d, p._rk_h, p._rk_mi, p._rk_s,
                         spark=_on_spark(p))
        us = p._rk_frac.rpad(6, "0").cast("int64").fill_null(0)
        zone = p._rk_zone
        sign = zone.startswith("-").ifelse(-1, 1)
        digits = zone.re_replace(r"[^0-9]", "")
        minutes = (sign * (digits.substr(0, 2).nullif("").cast("int64") * 60
                           + digits.substr(2, 2).nullif("").cast("int64").fill_null(0)))
        shift = (zone.notnull() & (zone != "Z")).ifelse(minutes, 0)
        return p, ts + us.as_interval("us") - shift.as_interval("m"), p._rk_aware
    pattern, order = _strptime_regex(fmt, col)
    g = {key: _group(text, pattern, i + 1) for i, key in enumerate(order)}
    p = _layer(table, cached, _rk_matched=text.re_search(pattern), _rk_aware=aware,
               **{_part(k): v for k, v in g.items()})
    if "Y" in g:
        year = p[_part("Y")]
    elif "y" in g:
        y = p[_part("y")]
        year = (y < 69).ifelse(2000 + y, 1900 + y)
    else:
        year = ibis.literal(1900)
    parts = {k: p[_part(k)] if k in g else default
             for k, default in (("m", ibis.literal(1)), ("d", ibis.literal(1)), ("H", zero),
                                ("M", zero), ("S", zero))}
    ts = _from_parts(year, parts["m"], parts["d"], parts["H"], parts["M"], parts["S"],
                     spark=_on_spark(p))
    return p, p._rk_matched.ifelse(ts, ibis.null("timestamp")), p._rk_aware


def _date_columns(d: ir.Table, spec: Any, cached: list) -> tuple[ir.Table, dict[str, Any]]:
    d, date, aware = _parsed_dates(d, spec.date, spec, cached)
    return d, {"_rk_pdate": date} | ({"_rk_paware": aware} if aware is not None else {})


def _by_value(t: ir.Table, col: str, parse: Any, cached: list,
              source: ir.Table) -> tuple[ir.Table, dict]:
    """Parse each distinct value of a text column once and join the results back (dates and
    prices repeat: a year has 525,600 minutes, a catalogue a few hundred prices).

    The distinct values are read from ``source``, the log before any join (from ``t``,
    which may already join another column's values, every line would go through that join
    for nothing)."""
    distinct = source.select(source[col]).distinct()
    parsed, exprs = parse(distinct)
    values = parsed.select(parsed[col].name("_rk_key"), **exprs)
    values = values.cache()  # small
    cached.append(values)
    joined = t.left_join(values, t[col] == values["_rk_key"]).drop("_rk_key")
    joined = joined.alias(f"_rk_{uuid.uuid4().hex[:12]}")
    return joined, {name: joined[name] for name in exprs}


def _part(directive: str) -> str:
    """A column name per strptime directive (SQL names ignore case: %m is not %M)."""
    return f"_rk_{directive.lower()}{'_upper' if directive.isupper() else ''}"


def _layer(table: ir.Table, cached: list, **columns: Any) -> ir.Table:
    """New columns behind a named subquery, so later expressions refer to them by name
    (Ibis would otherwise paste each parsing expression into every use).

    DuckDB computes a shared subquery once; other engines (PostgreSQL inlines it and
    evaluates the pasted expressions again in every aggregate) get a temporary table.
    """
    out = table.mutate(**columns)
    if _materialize(table):
        out = out.cache()
        cached.append(out)
    return out.alias(f"_rk_{uuid.uuid4().hex[:12]}")


def _materialize(table: ir.Table) -> bool:
    return table.get_backend().name != "duckdb"


class _Scratch:
    """A temporary DuckDB database file, attached to a connection, for the large tables the
    engine path keeps (the typed lines, the orders): DuckDB compresses a table it stores in
    a database file, and its buffer manager holds the compressed blocks (a 10M-line log's
    typed lines: about 0.2 GB, against 1.2 GB as an in-memory temporary table) and can
    evict them. ``release`` detaches the database and deletes the file.

    Where no database can be attached (a read-only connection to the user's DuckDB file
    cannot attach one for writing; the temporary folder cannot be created; the first table
    cannot be written to the file, e.g. for want of room), the tables are the connection's
    temporary tables: the same results, in memory.
    """

    def __init__(self, con: Any) -> None:
        self.con = con
        self.folder: str | None = None
        self.name: str | None = f"_rk_scratch_{uuid.uuid4().hex[:12]}"
        self.temporary: list[str] = []  # without the file: the temporary tables made
        self.stored = 0  # tables written to the file
        try:
            self.folder = tempfile.mkdtemp(prefix="retention_kit-")
            path = os.path.join(self.folder, "scratch.duckdb")
            con.raw_sql(f"ATTACH {_quoted(path)} AS {self.name}")
        except Exception:  # noqa: BLE001 (a read-only instance, no TMPDIR, ...)
            self.name = None

    def store(self, expr: ir.Table) -> ir.Table:
        name = f"_rk_{uuid.uuid4().hex[:12]}"
        if self.name is not None:
            try:
                out = self.con.create_table(name, expr, database=f"{self.name}.main")
                self.stored += 1
                return out
            except Exception:  # noqa: BLE001 (the file could not be written: no room, ...)
                if self.stored:  # tables in the file may be unreadable now
                    raise
                self._detach()  # nothing in it yet: temporary tables from here on
        self.temporary.append(name)
        return self.con.create_table(name, expr, temp=True)

    def drop(self, table: ir.Table) -> None:
        """Drop one stored table now (its blocks are freed before the others')."""
        name = table.get_name().split(".")[-1]
        if self.name is None:
            self.temporary.remove(name)
            self.con.drop_table(name, force=True)
        else:
            self.con.drop_table(name, database=f"{self.name}.main")

    def _detach(self) -> None:
        name, self.name = self.name, None
        if name is not None:
            try:
                self.con.raw_sql(f"DETACH {name}")
            except Exception:  # noqa: BLE001, S110 (a file that failed a write fails its checkpoint)
                pass

    def release(self) -> None:
        try:
            for name in self.temporary:
                self.con.drop_table(name, force=True)
            self._detach()
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)


def _store(expr: ir.Table, cached: list, *, small: bool = False) -> ir.Table:
    """``expr`` computed once and kept in the engine until the tables in ``cached`` are
    released: on DuckDB in a scratch database file (:class:`_Scratch`, one per connection)
    unless ``small``, elsewhere (and small) as the backend's temporary table (Ibis's
    ``cache``)."""
    if small or _materialize(expr):
        out = expr.cache()
        cached.append(out)
        return out
    con = expr.get_backend()
    scratch = next((s for s in cached if isinstance(s, _Scratch) and s.con is con), None)
    if scratch is None:
        scratch = _Scratch(con)
        cached.append(scratch)
    return scratch.store(expr)


def _strptime_regex(fmt: str, col: str) -> tuple[str, list[str]]:
    parts, order, i = ["^"], [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d not in _DIRECTIVES or d in order:
                raise DataError(
                    f"the engine path reads only %d %m %Y %y %H %M %S (each once) in a "
                    f"date_format, not %{d} (column {col!r}, date_format={fmt!r})",
                    fix="store the dates as ISO text or timestamps in the table, or " + _PANDAS)
            parts.append(_DIRECTIVES[d])
            order.append(d)
            i += 2
        else:
            parts.append(r"\s+" if c == " " else re.escape(c))
            i += 1
    return "".join(parts) + "$", order


def _zone_error(col: str, spec: Any) -> DataError:
    return DataError(f"converting the dates in column {col!r} to timezone={spec.timezone!r} is "
                     "not done on the engine path",
                     fix="convert them to naive local time in the table, or " + _PANDAS)


#: What pandas.to_numeric and the engines' casts read as a number (after the stripping).
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _to_float(text: Any) -> Any:
    """float64, NULL where the text is not a number (a CAST that never fails, on any engine:
    PostgreSQL has no TRY_CAST)."""
    return text.re_search(_NUMBER).ifelse(text, _ibis().null("string")).cast("float64")


def _money(table: ir.Table, col: str, decimal: str) -> tuple[Any, bool]:
    """(float64 amount expression, raw is boolean)."""
    raw = table[col]
    kind = raw.type()
    if kind.is_boolean():
        return raw.ifelse(1, 0).cast("float64"), True  # a literal 1.0 is a decimal on Spark
    if kind.is_numeric():
        return raw.cast("float64"), False
    text = raw.cast("string").re_replace(r"[^0-9.,+\-eE()]", "")
    negative = text.startswith("(") & text.endswith(")")
    text = text.re_replace(r"^[()]+|[()]+$", "")
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    value = _to_float(text)
    return negative.fill_null(False).ifelse(-value, value), False


# --------------------------------------------------------------------------- the rules


def stage_lines(source: Any, spec: Any) -> StagedLog:
    """Rules 1-5 of ``spec`` on the engine; the orders and returns collected to pandas."""
    cached: list = []  # the engine's tables, views and scratch database made for this call
    try:
        return _stage(_spark_numbered(source, cached), spec, cached)
    finally:
        _release(cached)


# the rule that takes a line (``_rk_rule``)
_GUEST, _EXCLUDED, _ZERO, _NEGATIVE, _RETURN, _PURCHASE = range(1, 7)


@contextmanager
def staged_orders(source: Any, spec: Any) -> Iterator[StagedLog]:
    """Rules 1-5 of ``spec`` on the engine, the orders left there.

    Like :func:`stage_lines`, but ``orders`` is None: ``order_table`` is the engine's table
    of purchase orders, ``collect`` brings any part of it to pandas typed as
    :func:`stage_lines` types the orders, and ``store`` keeps an expression's result in the
    engine. All work until the ``with`` block ends (then the engine's tables are released).
    """
    cached: list = []
    try:
        yield _stage(_spark_numbered(source, cached), spec, cached, keep_orders=True)
    finally:
        _release(cached)


def _release(cached: list) -> None:
    """Release every engine table, view and scratch database made for one call, each even
    if another fails: a failing clean-up must not hide the error that ended the call."""
    for table in cached:
        try:
            table.release()
        except Exception:  # noqa: BLE001, S110 (temporary objects; the engine drops them too)
            pass


def _stage(source: Any, spec: Any, cached: list, *, keep_orders: bool = False) -> StagedLog:
    ibis = _ibis()
    table, starts = _open(source, spec)
    named = {k: getattr(spec, k) for k in ("customer", "date", "amount", "quantity",
                                           "unit_price", "order", "product", "channel",
                                           "country")}
    needed = {col: f"{key} (the spec's {key!r}; CLI: --map {key}=<column>)"
              for key, col in named.items() if col is not None}
    columns = [c for c in table.columns if c not in (ROW, _FILE, _FILE_ROW)]  # numbered files
    if checks.missing_column(columns, needed, what="the log") is not None:
        n = int(table.count().to_pandas())
        if n == 0:
            raise checks.empty_log()
        raise checks.missing_column(columns, needed,
                                    what="the transaction log", n_rows=n)
    shown = [c for c in (spec.customer, spec.order, spec.date, spec.product, spec.amount,
                         spec.quantity, spec.unit_price) if c is not None]
    others = identical_line_columns(columns, spec)
    t = table if ROW in table.columns else table.mutate(**{ROW: ibis.row_number()})
    if _materialize(t):  # number the rows once: every later query sees the same numbers
        t = t.cache()  # kept (not released) for the report's examples, until collected
    describe = _describer(t, shown, starts)

    # each distinct text (dates, prices) is parsed once and joined back
    base = t
    text_date = t[spec.date].type().is_string()
    if text_date:
        t, _ = _by_value(t, spec.date, lambda d: _date_columns(d, spec, cached), cached, base)
    money_specs = ([("a", spec.amount, spec.decimal)] if spec.amount is not None else
                   [("q", spec.quantity, "."), ("p", spec.unit_price, spec.decimal)])
    for name, col, decimal in money_specs:
        if t[col].type().is_string():
            t, _ = _by_value(t, col, lambda d, c=col, m=decimal, n=name: (
                d, {f"_rk_{n}": _money(d, c, m)[0]}), cached, base)
    if text_date:
        date = t["_rk_pdate"]
        aware = t["_rk_paware"] if "_rk_paware" in t.columns else None
    else:
        t, date, aware = _parsed_dates(t, spec.date, spec, cached)
    money = {name: (t[f"_rk_{name}"], False) if f"_rk_{name}" in t.columns
             else _money(t, col, decimal) for name, col, decimal in money_specs}
    if spec.amount is not None:
        amount, boolean = money["a"]
        money_cols = [(spec.amount, amount, boolean)]
        price = None
    else:
        (quantity, qbool), (price, pbool) = money["q"], money["p"]
        money_cols = [(spec.quantity, quantity, qbool), (spec.unit_price, price, pbool)]
        amount = (quantity * price).round(10)
    # typed once, so the rules below read columns instead of repeating the parsing
    typed = {"_rk_date": date, "_rk_amount": amount}
    for i, (_col, value, _b) in enumerate(money_cols):
        typed[f"_rk_money{i}"] = value
    if aware is not None:
        typed["_rk_aware"] = aware
    t = _layer(t, cached, **typed)
    date, amount = t["_rk_date"], t["_rk_amount"]
    money_cols = [(c, t[f"_rk_money{i}"], b) for i, (c, _v, b) in enumerate(money_cols)]
    aware = t["_rk_aware"] if aware is not None else None
    price = t["_rk_money1"] if price is not None else None  # the unit price
    customer = t[spec.customer]
    ctype = customer.type()
    # which rule takes each line, decided once per line (rules 1-4 in their order, then
    # return or purchase), so that the counts, sums and filters below compare one integer
    guest = customer.isnull()
    excluded = ibis.literal(False)
    if spec.exclude_products:
        excluded = _strip(t[spec.product].cast("string")).isin(list(spec.exclude_products))
    order_id = (_strip(t[spec.order].cast("string")) if spec.order is not None
                else ibis.null("string"))
    is_return = amount < 0
    if spec.cancellation_prefix:
        is_return = is_return | order_id.startswith(spec.cancellation_prefix).fill_null(False)
    zero = amount == 0
    cases = [(guest, _GUEST), (excluded, _EXCLUDED)]
    if spec.zero_price == "drop":
        cases.append((zero, _ZERO))
    if price is not None:
        cases.append((price < 0, _NEGATIVE))
    cases.append((is_return, _RETURN))
    t = _layer(t, cached, _rk_oid=order_id, _rk_rule=ibis.cases(*cases, else_=_PURCHASE),
               _rk_nodate=t[spec.date].isnull())
    parsed = t  # the raw text dates are still here (for the error message about them)
    if not _materialize(t):
        # DuckDB: the typed lines in one table (one scan of the files, one parse, one join
        # per text column), read by the counts and by every query after them
        keep = [ROW, spec.customer, "_rk_date", "_rk_amount", "_rk_oid", "_rk_rule",
                "_rk_nodate", *(v.get_name() for _c, v, _b in money_cols),
                *(["_rk_aware"] if aware is not None else []),
                *(getattr(spec, k) for k in ("product", "channel", "country")
                  if getattr(spec, k) is not None), *others]
        # and a 64-bit hash of each line's identity (the columns identical_lines compares,
        # the customer id as read), written in the same pass: it finds the few candidate
        # identical lines without hashing the purchase lines again
        identity = [t[spec.customer], t["_rk_oid"], t["_rk_date"],
                    *(t[v.get_name()] for _c, v, _b in money_cols),
                    *(t[getattr(spec, k)] for k in ("product", "channel", "country")
                      if getattr(spec, k) is not None), *(t[c] for c in others)]
        line_hash = ibis.struct({f"_rk_k{i}": v for i, v in enumerate(identity)}).hash()
        t = typed = _store(t.select(*dict.fromkeys(keep), _rk_h=line_hash), cached)
    date, amount, customer = t["_rk_date"], t["_rk_amount"], t[spec.customer]
    money_cols = [(c, t[v.get_name()], b) for c, v, b in money_cols]
    aware = t["_rk_aware"] if aware is not None else None
    price = t["_rk_money1"] if price is not None else None  # the unit price
    order_id, rule = t["_rk_oid"], t["_rk_rule"]
    guest = rule == _GUEST
    excluded = rule == _EXCLUDED
    ret = rule == _RETURN
    purchase = rule == _PURCHASE
    zero = (rule == _ZERO) if spec.zero_price == "drop" else (rule >= _NEGATIVE) & (amount == 0)
    negative = rule == _NEGATIVE

    def count(mask: Any) -> Any:
        return mask.ifelse(1, 0).sum()

    def first(mask: Any) -> Any:
        return t[ROW].min(where=mask)

    def money(mask: Any) -> Any:
        return amount.sum(where=mask)

    now = pd.Timestamp.now().normalize()
    late = (now + pd.Timedelta(days=366 * 5)).to_pydatetime()
    nodate = t["_rk_nodate"]
    odd = (date > ibis.literal(late)) | (date < ibis.literal(dt.datetime(1980, 1, 1)))
    metrics: dict[str, Any] = {
        "n": t.count(), "revenue_in": amount.sum(),
        "no_date": count(nodate), "no_date_row": first(nodate),
        "bad_date": count(~nodate & date.isnull()),
        "bad_date_row": first(~nodate & date.isnull()),
        "odd_date": count(odd), "odd_date_row": first(odd),
    }
    if aware is not None:
        metrics["aware"] = count(aware)
    for i, (_col, value, _b) in enumerate(money_cols):
        bad = value.isnull() | value.isnan() | value.isinf()
        metrics[f"bad_money{i}"] = count(bad)
        metrics[f"bad_money{i}_row"] = first(bad)
    if ctype.is_floating():
        known = customer.notnull()
        metrics["id_known"] = count(known)
        metrics["id_fraction"] = count(known & (customer != customer.round(0)))
    elif ctype.is_string():
        known = customer.notnull()
        metrics["id_known"] = count(known)
        metrics["id_not_float_text"] = count(known & ~customer.re_search(r"^\d+\.0$"))
    for name, mask in (("guest", guest), ("excluded", excluded), ("zero", zero),
                       ("negative", negative), ("ret", ret)):
        metrics[f"{name}_n"] = count(mask)
        metrics[f"{name}_row"] = first(mask)
        metrics[f"{name}_money"] = money(mask)
    metrics["ret_money"] = (-amount.abs()).sum(where=ret)
    metrics["purchase_n"] = count(purchase)
    stats = {k: plain(v) for k, v in t.aggregate(**metrics).to_pandas().iloc[0].items()}
    for k, v in stats.items():
        if k.endswith(("_n", "_row")) or k in ("n", "no_date", "bad_date", "odd_date", "aware",
                                                "id_known", "id_fraction",
                                                "id_not_float_text") or k.startswith(
                                                    "bad_money"):
            stats[k] = None if pd.isna(v) else int(v)
        elif pd.isna(v):
            stats[k] = 0.0
    n_raw = stats["n"]
    if n_raw == 0:
        raise checks.empty_log()

    def example(row: int, cols: list[str]) -> str:
        return _describer(parsed, cols, starts)([row])[row]

    def unread(limit: int = 1000) -> list[str]:  # text dates the engine could not read
        bad = parsed.filter(parsed[spec.date].notnull() & parsed["_rk_date"].isnull())
        return bad.select(v=_trim(bad[spec.date].cast("string"))).distinct().limit(
            limit).to_pandas()["v"].tolist()

    _refuse_bad_values(stats, spec, money_cols, example, aware is not None, unread)

    # customer ids as the pandas path types them
    cust_kind = "asis"
    float_text = (ctype.is_string() and bool(stats["id_known"])
                  and not stats["id_not_float_text"])
    if ctype.is_floating() and stats["id_known"] and not stats["id_fraction"]:
        customer, cust_kind = customer.cast("int64"), "int"
    elif float_text:
        customer = customer.re_replace(r"\.0$", "")
    ledger = Ledger(describe)
    if spec.missing_customer == "raise" and stats["guest_n"]:
        raise ledger.refuse_counted(
            "rows without a customer id (guest checkouts)", stats["guest_n"], stats["guest_row"],
            fix="pass missing_customer='drop' to leave them out (the report counts them and "
            "their revenue); CLI: --map missing_customer=drop")
    ledger.record("missing_customer", spec.missing_customer, stats["guest_n"],
                  stats["guest_money"], stats["guest_row"])
    if spec.exclude_products:
        ledger.record("excluded_products", "drop", stats["excluded_n"], stats["excluded_money"],
                      stats["excluded_row"])
    if spec.zero_price == "raise" and stats["zero_n"]:
        raise ledger.refuse_counted("lines worth 0 (free items or missing prices)",
                                    stats["zero_n"], stats["zero_row"],
                                    fix="pass zero_price='drop' (or 'keep' to count them as "
                                    "purchases); CLI: --map zero_price=drop")
    ledger.record("zero_price", spec.zero_price, stats["zero_n"], 0.0, stats["zero_row"])
    if price is not None:
        if spec.negative_price == "raise" and stats["negative_n"]:
            raise ledger.refuse_counted("lines with a negative unit price (adjustments)",
                                        stats["negative_n"], stats["negative_row"],
                                        fix="pass negative_price='drop'; CLI: --map "
                                        "negative_price=drop")
        ledger.record("negative_price", spec.negative_price, stats["negative_n"],
                      stats["negative_money"], stats["negative_row"])

    fields: dict[str, Any] = {ROW: t[ROW], "customer_id": customer, "date": date,
                              "amount": ibis.cases((ret, -amount.abs()), else_=amount),
                              "order_id": order_id}
    if spec.product is not None:
        fields["product"] = t[spec.product]
    for extra in ("channel", "country"):
        if getattr(spec, extra) is not None:
            fields[extra] = t[getattr(spec, extra)]
    lines = t.filter(purchase | ret).select(**fields, _rk_purchase=purchase, _rk_return=ret)
    if _materialize(lines):  # read by the order, return and example queries below
        lines = lines.cache()
        cached.append(lines)
    purchases = lines.filter(lines["_rk_purchase"]).drop("_rk_purchase", "_rk_return")
    returns = lines.filter(lines["_rk_return"]).drop("_rk_purchase", "_rk_return")
    orders = _orders(purchases, spec, ledger, n_raw, stats["purchase_n"], cust_kind,
                     cached=cached if keep_orders else None)

    def identity(rows: ir.Table) -> list[Any]:
        """The columns identical_lines compares, of the typed lines ``t`` or of some of them
        (the customer id as typed above)."""
        cust = rows[spec.customer]
        cust = (cust.cast("int64") if cust_kind == "int" else
                cust.re_replace(r"\.0$", "") if float_text else cust)
        return [cust, rows["_rk_oid"], rows["_rk_date"],
                *(rows[v.get_name()] for _c, v, _b in money_cols),
                *(rows[getattr(spec, k)] for k in ("product", "channel", "country")
                  if getattr(spec, k) is not None), *(rows[c] for c in others)]

    _identical_lines(t.filter(purchase), identity, spec, ledger, cached,
                     n_lines=stats["purchase_n"])
    returned_lines, return_orders, held = None, None, None
    if spec.returns == "net" and stats["ret_n"]:
        returned_lines = _collect(returns.order_by(ROW), cust_kind).rename(columns={ROW: "row"})
        if spec.product is not None:
            pairs = returns.select("customer_id", "product").distinct()
            mine = purchases.semi_join(pairs, ["customer_id", "product"]).select(
                "customer_id", "order_id", "product").distinct()
            got = _collect(mine, cust_kind)
            held = set(zip(*(got[c].to_numpy(dtype=object) for c in
                             ("customer_id", "order_id", "product")), strict=True))
    if spec.returns == "keep":
        return_orders = _orders(returns, spec, Ledger(describe), n_raw, stats["ret_n"],
                                cust_kind)
    # DuckDB: the typed lines are read by nothing after this, unless the kept orders are
    # the lines themselves (order_lines='keep', or no purchases)
    lines_are_orders = spec.order_lines == "keep" or stats["purchase_n"] == 0
    if not _materialize(t) and not (keep_orders and lines_are_orders):
        next(x for x in cached if isinstance(x, _Scratch)).drop(typed)
    kept = {}
    if keep_orders:
        kept = {"order_table": orders,
                "collect": lambda expr: _typed_orders(expr, spec, cust_kind),
                "store": lambda expr, small=False: _store(expr, cached, small=small)}
        orders = None
    return StagedLog(orders=orders, returns=returned_lines, return_orders=return_orders,
                     held=held, n_returns=stats["ret_n"], first_return_row=stats["ret_row"],
                     returned=-stats["ret_money"] if stats["ret_n"] else 0.0, ledger=ledger,
                     n_raw=n_raw, revenue_in=float(stats["revenue_in"]), **kept)


def _refuse_bad_values(stats: dict[str, Any], spec: Any, money_cols: list, example: Any,
                       text_dates: bool, unread: Any) -> None:
    """The pandas path's parsing errors, in its order: dates, then amounts."""
    col = spec.date
    if stats["no_date"]:
        raise checks.missing_dates(col, stats["no_date"], example(stats["no_date_row"], [col]))
    if text_dates and stats.get("aware") and spec.timezone not in (None, "UTC", "Etc/UTC"):
        raise _zone_error(col, spec)
    if stats["bad_date"]:
        fix = ("set date_format to the log's format ('dayfirst' for 31/12/2024, 'epoch_s', "
               "'excel', or a strptime format such as '%d.%m.%Y'); CLI: --map date_format=...")
        if text_dates and _pandas_reads(unread(), spec.date_format):
            raise DataError(
                f"dates in column {col!r} are in layouts the engine path does not read for "
                f"date_format={spec.date_format!r} (only pandas' flexible parser does)",
                n_rows=stats["bad_date"], example=example(stats["bad_date_row"], [col]),
                fix="store them as ISO text or timestamps, pass a strptime format that fits "
                "them all, or " + _PANDAS)
        raise DataError(f"dates in column {col!r} cannot be read as "
                        f"date_format={spec.date_format!r}", n_rows=stats["bad_date"],
                        example=example(stats["bad_date_row"], [col]), fix=fix)
    if stats["odd_date"]:
        raise DataError(
            f"dates in column {col!r} lie before 1980 or more than five years ahead, which "
            "looks like a misread format (epoch seconds read as days, or swapped columns)",
            n_rows=stats["odd_date"], example=example(stats["odd_date_row"], [col]),
            fix="check the column and set date_format ('epoch_s', 'excel', 'dayfirst')")
    for i, (name, _value, boolean) in enumerate(money_cols):
        if boolean:
            raise DataError(f"column {name!r} holds True/False, not amounts",
                            n_rows=stats["n"],
                            fix="name the money column in the spec (amount or unit_price)")
        if stats[f"bad_money{i}"]:
            raise DataError(
                f"values in column {name!r} are missing, infinite or not amounts",
                n_rows=stats[f"bad_money{i}"], example=example(stats[f"bad_money{i}_row"],
                                                                [name]),
                fix="repair or drop these rows; for amounts written 1.234,50 set decimal=','")


def _pandas_reads(values: list[str], fmt: str) -> bool:
    """Whether the pandas path would read any of these text dates (its fallbacks)."""
    if not values:
        return False
    text = pd.Series(values, dtype=object)
    with np.errstate(all="ignore"):
        if fmt in ("dayfirst", "monthfirst"):
            got = pd.to_datetime(text, dayfirst=fmt == "dayfirst", format="mixed",
                                 errors="coerce", utc=True)
        else:
            got = pd.to_datetime(text, format="ISO8601" if fmt == "iso" else fmt,
                                 errors="coerce", utc=True)
    return bool(got.notna().any())


def _collect(expr: ir.Table, cust_kind: str) -> pd.DataFrame:
    """Collected to pandas with the pandas path's types (ids as Python objects)."""
    import pyarrow as pa

    table = expr.to_pyarrow()  # Arrow to numpy per column: Ibis's pandas conversion of
    out = {}  # every column first costs more than the query for millions of orders
    for c, values in zip(table.column_names, table.columns, strict=True):
        if c == "customer_id":
            if cust_kind == "int":  # Python ints, as the pandas path holds them
                out[c] = values.to_numpy().astype("int64").astype(object)
            else:
                out[c] = values.to_pandas().to_numpy(dtype=object)
        elif c in ("order_id", "product", "channel", "country"):
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                out[c] = values.to_pandas()  # pandas' text dtype, as the frame makes it
            else:
                col = values.to_pandas()
                out[c] = col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
        elif c == "date":
            out[c] = values.to_pandas().to_numpy(dtype="datetime64[ns]")
        else:
            out[c] = values.to_pandas().to_numpy()
    return pd.DataFrame(out)


#: Purchase lines per pass of the hash count of :func:`_identical_lines`: a pass's hash
#: table holds one entry per distinct line hash of its slice, and each pass reads the hash
#: column of all purchase lines again (2.5M: 4 passes and +0.3-0.5 GB at 10M lines).
_LINES_PER_PASS = 2_500_000


def _identical_lines(purchases: ir.Table, identity: Any, spec: Any, ledger: Ledger,
                     cached: list, *, n_lines: int) -> None:
    """Purchase lines identical to an earlier line of their order (the pandas path's
    ``duplicated``): one grouped query, and for the first example a join of the few
    repeated groups back to their lines.

    ``purchases`` are typed lines (``_rk_row``, ``_rk_amount``, ...); ``identity(rows)``
    gives the compared columns of those rows. On DuckDB the typed lines carry a 64-bit hash
    of those columns (``_rk_h``, written in the pass that typed them; the customer id as
    read, and equal ids as read are equal ids as typed): the lines are grouped by the hash
    alone first (a table of millions of wide keys costs seconds and a gigabyte), and only
    the lines whose hash repeats, a few, are then grouped by their values, so a hash
    collision costs nothing but a candidate. The hashes are counted in passes over slices
    of the hash range (``_LINES_PER_PASS`` lines a pass), so that memory does not grow with
    the log.
    """
    if "_rk_h" in purchases.columns:
        import pyarrow as pa

        ibis = _ibis()
        passes = max(1, -(-n_lines // _LINES_PER_PASS))
        found = []
        for k in range(passes):
            h = purchases["_rk_h"]  # a signed int64: SQL's remainder keeps the sign
            part = (purchases.filter((h % passes + passes) % passes == k) if passes > 1
                    else purchases)
            twice = part.group_by("_rk_h").aggregate(_rk_c=part.count())
            found.append(twice.filter(twice["_rk_c"] > 1).select("_rk_h").to_pyarrow())
        twice = ibis.memtable(pa.concat_tables(found))
        purchases = purchases.semi_join(twice, "_rk_h")  # the raw columns, then typed
    keys = identity(purchases)
    names = [f"_rk_k{i}" for i in range(len(keys))]
    p = purchases.select(ROW, _rk_amount=purchases["_rk_amount"],
                         **dict(zip(names, keys, strict=True)))
    if "_rk_h" in purchases.columns:
        p = p.cache()  # small: read thrice
        cached.append(p)
    groups = p.group_by(names).aggregate(_rk_n=p.count(), _rk_first=p[ROW].min(),
                                         _rk_value=p["_rk_amount"].max())
    repeated = groups.filter(groups["_rk_n"] > 1)
    if _materialize(repeated):
        repeated = repeated.cache()
        cached.append(repeated)
    copies = repeated["_rk_n"] - 1
    got = repeated.aggregate(n=copies.sum(), money=(copies * repeated["_rk_value"]).sum()
                             ).to_pyarrow().to_pylist()[0]
    n = int(got["n"] or 0)
    first_row = None
    if n:
        other = repeated.rename({f"_rk_r{i}": name for i, name in enumerate(names)})
        joined = p.join(other, [p[name].identical_to(other[f"_rk_r{i}"])
                                for i, name in enumerate(names)])
        first_row = int(joined.filter(joined[ROW] != joined["_rk_first"])[ROW].min()
                        .to_pyarrow().as_py())
    ledger.record("identical_lines", spec.order_lines, n, float(got["money"] or 0.0), first_row)


def _orders(lines: ir.Table, spec: Any, ledger: Ledger, n_raw: int, n_lines: int,
            cust_kind: str, *, cached: list | None = None) -> Any:
    """Rule 5 on the engine: one grouped query, collected in the order of first lines.

    With ``cached`` (a list of tables to release), the orders stay in the engine: the
    grouped table (``customer_id``, ``order_id``, ``date``, ``amount``, ``n_lines``,
    ``row``, ``channel``, ``country``), materialised once, is returned instead; collect
    any part of it with :func:`_typed_orders`.
    """
    ibis = _ibis()
    if spec.order_lines == "keep" or n_lines == 0:
        ledger.record("order_lines", "keep", 0, 0.0, None)
        table = lines.rename({"row": ROW}).mutate(n_lines=ibis.literal(1, "int64"),
                                                  _rk_each=ibis.literal(True))
        if cached is not None:
            return table
        return _typed_orders(table.order_by("row"), spec, cust_kind)
    key = ["customer_id", "order_id"] if spec.order is not None else ["customer_id", "date"]
    agg: dict[str, Any] = {"amount": lines.amount.sum(), "n_lines": lines.count(),
                           "row": lines[ROW].min()}
    if spec.order is not None:
        agg["date"] = lines.date.min()
    for extra in ("channel", "country"):
        if extra in lines.columns:
            agg[extra] = lines[extra].argmin(lines[ROW], where=lines[extra].notnull())
    grouped = lines.group_by(key).aggregate(**agg)
    if cached is not None:
        grouped = _store(grouped, cached)  # read by every query of the summary
        n_orders = int(grouped.count().to_pyarrow().as_py())
        out = grouped
    else:
        out = _typed_orders(grouped.order_by("row"), spec, cust_kind)
        n_orders = len(out)
    merged = n_lines - n_orders
    first_row = _first_merged_line(lines, grouped, key) if merged else None
    del ibis
    ledger.record("order_lines", "sum", merged, 0.0, first_row)
    return out


def _first_merged_line(lines: ir.Table, grouped: ir.Table, key: list[str],
                       k: int = 1000) -> int:
    """The first line that is not its order's first: the smallest second line of an order.

    Looked for among the ``k`` orders of several lines that start first (a join of the
    lines to ``k`` orders instead of to all of them): an order starting later has its
    second line later still, so the answer is exact when it comes before the ``k``-th
    order's start; otherwise (rare) every line is compared with its order's first.
    """
    multi = grouped.filter(grouped["n_lines"] > 1)
    top = multi.order_by("row").limit(k).select(
        _rk_first="row", **{f"_rk_o{i}": multi[c] for i, c in enumerate(key)})
    joined = lines.join(top, [lines[c].identical_to(top[f"_rk_o{i}"])
                              for i, c in enumerate(key)])
    got = joined.filter(joined[ROW] != joined["_rk_first"]).aggregate(
        found=joined[ROW].min(), last_first=joined["_rk_first"].max(),
        n=joined["_rk_first"].nunique()).to_pyarrow().to_pylist()[0]
    if got["found"] is not None and (got["n"] < k or got["found"] <= got["last_first"]):
        return int(got["found"])
    firsts = grouped.select(first=grouped["row"])
    later = lines.filter(~lines[ROW].isin(firsts["first"]))
    return int(later[ROW].min().to_pandas())


def _typed_orders(expr: ir.Table, spec: Any, cust_kind: str) -> pd.DataFrame:
    """Orders of :func:`_orders` collected with the pandas path's types and columns."""
    out = _collect(expr, cust_kind)
    if "_rk_each" in out.columns:  # one row per line (order_lines='keep', or no purchases)
        out = out.drop(columns="_rk_each").assign(n_lines=1)
        if len(out) and cust_kind == "asis":  # typed as the pandas path keeps them
            out["customer_id"] = pd.Series(
                out["customer_id"].to_numpy(dtype=object)).infer_objects().to_numpy()
        if spec.order is None:
            out = out.assign(order_id=[f"row{i}" for i in out["row"]])
        return out
    key = ["customer_id", "order_id"] if spec.order is not None else ["customer_id", "date"]
    for col in key:  # group keys are typed as pandas types its groupby keys
        out[col] = pd.Series(out[col].to_numpy(dtype=object)).infer_objects().to_numpy()
    if spec.order is None:
        out["order_id"] = [f"{c}@{d:%Y-%m-%d %H:%M:%S}" for c, d in
                           zip(out["customer_id"], pd.to_datetime(out["date"]), strict=True)]
    cols = key + [c for c in ("order_id", "date", "amount", "n_lines", "row", "channel",
                              "country")
                  if c in out.columns and c not in key]
    return out[cols]
