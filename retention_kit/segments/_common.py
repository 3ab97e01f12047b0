"""Helpers shared by the segment modules: input checks, messages, warning stack levels.

Internal: the names are public-style so that the segment modules import no private names;
the package's public API is :mod:`retention_kit.segments`. The data-layer helpers are
taken from :mod:`retention_kit._checks`, the package's one validation layer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._checks import first_example, nonnegative_columns, require_columns, whole
from .._checks import plain as plain_value
from .._checks import suggest as suggest_names
from ..errors import DataError

__all__ = [
    "check_n_bins",
    "check_segmentation_summary",
    "customer_values",
    "first_customer",
    "first_example",
    "fmt_number",
    "join_and",
    "outside_package_stacklevel",
    "plain_value",
    "require_columns",
    "suggest_names",
]

# --------------------------------------------------------------------------- input checks


def check_segmentation_summary(summary: Any, needed: dict[str, str], *, what: str) -> None:
    """Refuse non-frames, empty frames, BTYD summaries and transaction logs; need columns."""
    if not isinstance(summary, pd.DataFrame):
        raise DataError(f"{what} needs a pandas DataFrame, got {type(summary).__name__}",
                        fix="build it with retention_kit.data.rfm_segmentation_summary()")
    if len(summary) == 0:
        raise DataError("the summary is empty", n_rows=0, fix="check the filter that produced it")
    kind = summary.attrs.get("kind", "")
    if kind.startswith("btyd") or (
            {"frequency", "recency", "T"} <= set(summary.columns)
            and "since_last" not in summary.columns):
        raise DataError(
            f"{what} needs the segmentation summary, but this is a BTYD summary "
            "(frequency, recency, T): its frequency leaves out the first purchase and its "
            "recency is the age at the last purchase, not the time since it",
            n_rows=len(summary),
            fix="build the input with rfm_segmentation_summary(transactions) (since_last, "
            "purchases, total_spend); keep rfm_summary() for the BG/NBD-type models")
    if "date" in summary.columns or summary.index.has_duplicates:
        raise DataError(
            "this looks like a transaction log (one row per purchase), not a per-customer "
            "summary", n_rows=len(summary),
            fix="summarise it first with rfm_segmentation_summary(transactions)")
    require_columns(summary, needed, what="the segmentation summary")
    nonnegative_columns(summary, list(needed),
                        negative_fix="rebuild the summary with rfm_segmentation_summary(); "
                        "refunds are netted against purchases before summarising")


def customer_values(frame: pd.DataFrame | pd.Series, what: str, index: pd.Index,
            name: str) -> np.ndarray:
    """A column name of ``frame`` or a Series aligned on ``index``, as floats."""
    if isinstance(what, str):
        if not isinstance(frame, pd.DataFrame) or what not in frame.columns:
            cols = list(frame.columns) if isinstance(frame, pd.DataFrame) else []
            raise DataError(f"{name}={what!r} is not a column ({cols})",
                            fix=f"{suggest_names(what, cols)}pass a column name or a Series on the "
                            "same customers")
        series = frame[what]
    else:
        series = pd.Series(what)
        missing = ~index.isin(series.index)
        if missing.any():
            raise DataError(f"{name} has no value for some customers", n_rows=int(missing.sum()),
                            example=first_customer(index, missing),
                            fix=f"pass {name} as a Series indexed by the same customer ids")
        series = series.reindex(index)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(f"{name} has missing or non-numeric values", n_rows=int(bad.sum()),
                        example=first_customer(index, bad),
                        fix=f"repair or drop these customers before using {name}")
    return values


def first_customer(index: pd.Index, mask: np.ndarray) -> str:
    """'customer <id>' for the first True of ``mask`` (ids shown as plain Python values)."""
    return f"customer {plain_value(index[int(np.flatnonzero(np.asarray(mask))[0])])!r}"


def check_n_bins(n_bins: object) -> int:
    """``n_bins`` as an int; a DataError (a ValueError) unless it is a whole number >= 2."""
    return whole("n_bins", n_bins, minimum=2, hint="5 gives quintiles")


# --------------------------------------------------------------------------- messages


def fmt_number(value: float) -> str:
    """A value as messages show it: six significant digits, thousands separators."""
    return f"{value:,.6g}"


def join_and(items: Sequence[object]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def outside_package_stacklevel() -> int:
    """stacklevel for warnings.warn that points at the first caller outside retention_kit.

    The package root is two folders up from this file (``retention_kit/segments/``), so
    calls from any module of the package, not only this subpackage, are skipped.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame = sys._getframe(1)  # the function calling warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level
