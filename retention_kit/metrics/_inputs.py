"""Input handling shared by the metric modules: coercion, element-wise checks, output form.

Internal: the names are public-style so that the concept modules (``rates``, ``purchases``,
``acquisition``, ``surveys``, ``revenue``) import no private names; the package's public API
is :mod:`retention_kit.metrics`. Scalar options are checked by
:func:`retention_kit._checks.between`, the package's one validation layer; every element-wise
failure raises :class:`~retention_kit.errors.DataError` through :func:`fail_where`, with the
project's message template (what is wrong, how many rows, the first example, how to fix).

Rate-style inputs are scalars, lists, NumPy arrays or pandas Series; :func:`coerce` turns
them into broadcast float arrays and a :class:`Form` that returns the result in the caller's
form (``float`` for scalars, a Series on the same index, else an array).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import between
from ..errors import DataError, data_error

__all__ = [
    "ArrayLike",
    "Form",
    "Result",
    "coerce",
    "fail_where",
    "fmt",
    "has_text",
    "integer_scores",
    "nonnegative",
    "option",
    "positive",
    "probability",
]

#: A number, or many numbers (list, NumPy array, pandas Series) handled element-wise.
ArrayLike = float | int | Sequence[float] | np.ndarray | pd.Series
#: ``float`` for scalar input, ``pd.Series`` for Series input, else ``np.ndarray``.
Result = float | np.ndarray | pd.Series

_NOT_A_NUMBER_FIX = "drop or fill the missing values before computing the metric"


@dataclass(frozen=True)
class Form:
    """Shape of the caller's input, so the output can be returned in the same form."""

    scalar: bool
    index: pd.Index | None

    def where(self, i: int) -> str:
        if self.index is not None:
            return f"row {self.index[i]!r}: "
        return "" if self.scalar else f"position {i}: "

    def wrap(self, values: np.ndarray, name: str) -> Result:
        if self.scalar:
            return float(values)
        if self.index is not None:
            return pd.Series(values, index=self.index, name=name)
        return values


def fmt(x: float) -> str:
    return f"{x:g}"


def has_text(raw: np.ndarray) -> bool:
    """True if an array holds strings (which NumPy would otherwise parse as numbers)."""
    if raw.dtype.kind in "US":
        return True
    return raw.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in raw.ravel())


def coerce(**inputs: Any) -> tuple[Form, list[np.ndarray]]:
    """Convert named inputs to broadcast float arrays; reject non-numbers, NaN and inf."""
    index: pd.Index | None = None
    scalar = True
    arrays = []
    for name, value in inputs.items():
        if isinstance(value, pd.DataFrame):
            raise data_error(f"{name} is a DataFrame, not a number or a column",
                             example=f"columns {list(value.columns)}",
                             fix=f"pass one column, e.g. df[{name!r}]")
        try:
            if isinstance(value, pd.Series):
                if index is None:
                    index = value.index
                elif not value.index.equals(index):
                    raise data_error(f"{name} is a Series whose index differs from the other "
                                     "inputs' index",
                                     example=f"{name} index starts {list(value.index[:3])}",
                                     fix="align the Series first (e.g. .reindex) or pass arrays")
                is_bool = value.dtype == bool
                if has_text(value.to_numpy()):
                    raise TypeError
                arr = value.to_numpy(dtype=float, na_value=np.nan)
            else:
                raw = np.asarray(value)
                is_bool = raw.dtype == bool
                if has_text(raw):
                    raise TypeError
                arr = raw.astype(float)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise data_error(f"{name} is not numeric", example=f"{name} = {value!r}",
                             fix="pass numbers (int or float), not text or objects") from None
        if is_bool:
            raise data_error(f"{name} is boolean, not a number", example=f"{name} = {value!r}",
                             fix="pass counts or amounts as numbers")
        if arr.ndim > 1:
            raise data_error(f"{name} has {arr.ndim} dimensions; only scalars and 1-D inputs "
                             "are supported", example=f"shape {arr.shape}",
                             fix="pass one column at a time")
        scalar = scalar and arr.ndim == 0
        arrays.append(arr)
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n}: {a.shape[0] if a.ndim else 'scalar'}"
                           for n, a in zip(inputs, arrays, strict=True))
        raise data_error("inputs have different lengths", example=shapes,
                         fix="pass inputs of equal length (or scalars)") from None
    form = Form(scalar=scalar, index=index)
    for name, arr in zip(inputs, arrays, strict=True):
        fail_where(form, np.isnan(arr), f"{name} is missing (NaN)", _NOT_A_NUMBER_FIX,
                    **{name: arr})
        fail_where(form, np.isinf(arr), f"{name} is infinite", "pass finite numbers",
                    **{name: arr})
    return form, arrays


def fail_where(form: Form, bad: np.ndarray, problem: str, fix: str,
                **shown: np.ndarray) -> None:
    """Raise the project's DataError if any element of ``bad`` is true."""
    bad = np.atleast_1d(bad)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    example = form.where(i) + ", ".join(
        f"{name} = {fmt(np.atleast_1d(arr)[i])}" for name, arr in shown.items())
    raise data_error(problem, n_rows=None if form.scalar else int(bad.sum()),
                     example=example, fix=fix)


def positive(form: Form, name: str, arr: np.ndarray, fix: str) -> None:
    fail_where(form, arr <= 0, f"{name} must be positive (it is the denominator)", fix,
                **{name: arr})


def nonnegative(form: Form, name: str, arr: np.ndarray, fix: str) -> None:
    fail_where(form, arr < 0, f"{name} is negative", fix, **{name: arr})


def rate_per_period(form: Form, name: str, arr: np.ndarray) -> None:
    """A discount (or interest) rate per period: >= 0, and a value above 1 is a percentage.

    The array twin of :func:`retention_kit._checks.discount_rate` (same rule, same words).
    """
    nonnegative(form, name, arr, f"give {name} per period as a fraction, e.g. 0.10")
    bad = np.atleast_1d(arr > 1)
    if bad.any():
        value = float(np.atleast_1d(arr)[int(np.flatnonzero(bad)[0])])
        fail_where(form, bad, f"{name} looks like a percentage: as given it means "
                   f"{100 * value:,.0f}% per period",
                   f"pass the rate as a fraction: {value / 100:g} for {value:g}%", **{name: arr})


def probability(form: Form, name: str, arr: np.ndarray) -> None:
    fail_where(form, (arr < 0) | (arr > 1), f"{name} is outside [0, 1]",
                "give rates as fractions (0.05 for 5 %), not percentages", **{name: arr})


def option(name: str, value: Any, *, low: float = 0.0, low_inclusive: bool = False,
            high: float = math.inf, high_inclusive: bool = False) -> float:
    """Validate a scalar keyword option (open interval by default)."""
    return between(name, value, low, high, low_inclusive=low_inclusive,
                   high_inclusive=high_inclusive)


def integer_scores(name: str, scores: Any, low: int, high: int) -> np.ndarray:
    """Validate survey answers: 1-D, numeric, no NaN, whole numbers within [low, high]."""
    if isinstance(scores, pd.DataFrame):
        raise data_error(f"{name} is a DataFrame", example=f"columns {list(scores.columns)}",
                         fix="pass the one column of answers, e.g. df['score']")
    index = scores.index if isinstance(scores, pd.Series) else None
    try:
        if isinstance(scores, pd.Series):
            arr = scores.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise data_error(f"{name} are not numeric", example=repr(scores)[:60],
                         fix="map answer labels to integers first") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise data_error(f"{name} must be one-dimensional", example=f"shape {arr.shape}",
                         fix="pass one column of answers")
    if arr.size == 0:
        raise data_error(f"no {name} given (zero answers)", fix="pass at least one answer")
    form = Form(scalar=False, index=index)
    fail_where(form, np.isnan(arr), f"{name} contain missing answers (NaN)",
                "drop non-responses before scoring (they are not answers)", **{name: arr})
    fail_where(form, (arr < low) | (arr > high), f"{name} are outside the {low}..{high} scale",
                f"check the scale: answers must be whole numbers from {low} to {high}",
                **{name: arr})
    fail_where(form, arr != np.round(arr), f"{name} are not whole numbers",
                "answers on a rating scale are integers; round or map labels first",
                **{name: arr})
    return arr
