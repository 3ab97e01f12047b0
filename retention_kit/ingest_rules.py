"""What the two paths of :func:`~retention_kit.ingest.clean_transactions` share.

The pandas path (:mod:`retention_kit.ingest`) and the engine path
(:mod:`retention_kit.ingest_sql`) both apply rules 1-5 of a
:class:`~retention_kit.ingest.TransactionSpec` and hand over a :class:`StagedLog`: the
purchase orders, the return lines and the ledger of what each rule did. The returns netting,
the clean frame and the data-quality report are then made by the same functions, whichever
engine filtered and counted the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["RULE_COLUMNS", "Ledger", "StagedLog", "identical_line_columns", "int_ids",
           "nanoseconds", "sorted_by_two_then_pandas"]

RULE_COLUMNS = ["rule", "policy", "rows", "revenue", "first_example"]


def identical_line_columns(columns: list[str], spec: Any) -> list[str]:
    """The columns of a raw log that the spec does not name, in their order.

    ``identical_lines`` compares them as they are (the spec's columns as read), so lines
    that differ only there (a line number, a description) are not identical.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> spec = SimpleNamespace(customer="id", date="when", amount="total", quantity=None,
    ...                        unit_price=None, order="invoice", product=None, channel=None,
    ...                        country=None)
    >>> identical_line_columns(["invoice", "id", "line_no", "when", "total"], spec)
    ['line_no']
    """
    named = {getattr(spec, k) for k in ("customer", "date", "amount", "quantity", "unit_price",
                                        "order", "product", "channel", "country")}
    return [c for c in columns if c not in named]


class Ledger:
    """One row per rule for the report: rows affected, revenue and the first example.

    ``describe`` turns raw row positions into ``"row <n>: col=value, ..."`` texts; it is
    called once, for all rules together, when :meth:`table` is built (one query on an
    engine), and at once for a refusal.
    """

    def __init__(self, describe: Callable[[list[int]], dict[int, str]]) -> None:
        self.describe = describe
        self.rows: list[dict[str, Any]] = []

    def add(self, rule: str, policy: str, mask: np.ndarray, revenue: float) -> None:
        hits = np.flatnonzero(mask)
        self.record(rule, policy, len(hits), revenue, int(hits[0]) if len(hits) else None)

    def record(self, rule: str, policy: str, n: int, revenue: float,
               first_row: int | None) -> None:
        self.rows.append({"rule": rule, "policy": policy, "rows": int(n),
                          "revenue": round(float(revenue), 2),
                          "first_example": first_row if n else None})

    def refuse(self, problem: str, mask: np.ndarray, fix: str) -> DataError:
        hits = np.flatnonzero(mask)
        return self.refuse_counted(problem, len(hits), int(hits[0]), fix)

    def refuse_counted(self, problem: str, n: int, first_row: int, fix: str) -> DataError:
        return DataError(problem, n_rows=int(n), example=self.describe([first_row])[first_row],
                         fix=fix)

    def table(self) -> pd.DataFrame:
        wanted = sorted({r["first_example"] for r in self.rows
                         if r["first_example"] is not None})
        text = self.describe(wanted) if wanted else {}
        rows = [{**r, "first_example": "" if r["first_example"] is None
                 else text[r["first_example"]]} for r in self.rows]
        return pd.DataFrame(rows, columns=RULE_COLUMNS)


@dataclass
class StagedLog:
    """A log after rules 1-5, in pandas, whichever engine ran them.

    ``orders``: purchase orders in the order of their first line (``customer_id``,
    ``order_id``, ``date``, ``amount``, ``n_lines``, ``row`` (first raw line), ``channel``,
    ``country``); ``returns``: the return lines (``row``, ``customer_id``, ``order_id``,
    ``date``, ``amount`` (negative), ``product``) when ``returns="net"``, else None;
    ``return_orders``: the returns as orders when ``returns="keep"``; ``held``: (customer,
    order, product) of the returning customers' purchase lines (None without a product
    column); ``n_returns``, ``first_return_row``, ``returned``: how many return lines, the
    first one, and the money returned (positive). When the engine keeps the orders
    (:func:`retention_kit.ingest_sql.staged_orders`), ``orders`` is None, ``order_table``
    is the engine's table of orders, ``collect`` brings a part of it to pandas and
    ``store(expr, small=False)`` keeps an expression's result in the engine until the
    staging ends (``small``: in memory).
    """

    orders: pd.DataFrame
    returns: pd.DataFrame | None
    return_orders: pd.DataFrame | None
    held: set[tuple[Any, Any, Any]] | None
    n_returns: int
    first_return_row: int | None
    returned: float
    ledger: Ledger
    n_raw: int
    revenue_in: float
    order_table: Any = None
    collect: Callable[[Any], pd.DataFrame] | None = None
    store: Callable[..., Any] | None = None


def int_ids(ids: pd.Series) -> np.ndarray | None:
    """Customer ids held as Python ints (as both paths type them) as an int64 array, which
    sorts and groups in the same order many times faster; None for other ids.

    Examples
    --------
    >>> int_ids(pd.Series([12, 7], dtype=object))
    array([12,  7])
    >>> int_ids(pd.Series(["12", "7"])) is None
    True
    """
    values = ids.to_numpy()
    if values.dtype.kind in "iu":
        return values.astype("int64", copy=False)
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=False) != "integer":
        return None
    try:
        return values.astype("int64")
    except OverflowError:
        return None


def nanoseconds(dates: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds since 1970 (compared and sorted as integers).

    Examples
    --------
    >>> nanoseconds(pd.Series(pd.to_datetime(["1970-01-01 00:00:01"])))
    array([1000000000])
    """
    return dates.to_numpy(dtype="datetime64[ns]").view("int64")


def sorted_by_two_then_pandas(frame: pd.DataFrame, first: np.ndarray, second: np.ndarray,
                              keys: list[str], at: np.ndarray | None = None) -> np.ndarray:
    """The permutation that sorts rows by ``keys`` stably, the first two keys given as
    int64 arrays (``first``, ``second``): sorted as numbers, and only the runs of rows equal
    in both sorted by all ``keys`` by pandas (``sort_values(kind="stable")``), which costs
    little when such ties are rare. Row ``i`` is ``frame``'s row ``at[i]`` (all rows when
    ``at`` is None).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [2, 1, 1], "b": [0, 5, 5], "c": ["y", "z", "x"]})
    >>> sorted_by_two_then_pandas(frame, frame["a"].to_numpy(), frame["b"].to_numpy(),
    ...                           ["a", "b", "c"])
    array([2, 1, 0])
    """
    perm = np.lexsort((second, first))  # stable: ties stay in their order
    same = (first[perm][1:] == first[perm][:-1]) & (second[perm][1:] == second[perm][:-1])
    if same.any():
        tied = np.zeros(len(perm), dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        slots = np.flatnonzero(tied)
        rows = perm[slots] if at is None else at[perm[slots]]
        runs = frame.iloc[rows].reset_index(drop=True)
        perm[slots] = perm[slots][np.asarray(runs.sort_values(keys, kind="stable").index)]
    return perm
