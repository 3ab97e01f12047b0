"""Argument and data checks shared by the experiment modules (internal).

The one place where :mod:`retention_kit.experiments` checks scalars (numbers, fractions,
discount rates, money, whole numbers, alpha), choices and experiment frames (counted
customers, arms, 0/1 outcomes), and the normal quantile and p-value helpers. The
concept modules import this module and call ``_args.number(...)``; nothing else does.
The rules and messages are those of the single-module ``experiments.py`` they came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

# The one place that reaches into retention_kit.data's private helpers; the concept
# modules use them as _args.first_example and _args.require_columns.
from ..data import _first_example as first_example
from ..data import _require_columns as require_columns
from ..errors import DataError

__all__ = [
    "alpha",
    "arms",
    "binary_outcome",
    "check_choice",
    "counted_rows",
    "discount_rate",
    "first_example",
    "fraction",
    "frame",
    "money",
    "normal_p",
    "number",
    "require_columns",
    "whole",
    "z",
]


def number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DataError(f"{name}={value!r} is not a number", fix=f"pass {name} as a number")
    out = float(value)
    if not math.isfinite(out):
        raise DataError(f"{name}={value!r} is not a finite number",
                        fix=f"pass {name} as a finite number")
    return out


def fraction(name: str, value: object, *, open_low: bool = True, open_high: bool = True,
             example: str = "0.40") -> float:
    """A probability-like input; a value in (1, 100] is reported as a percentage."""
    out = number(name, value)
    low_ok = out > 0 if open_low else out >= 0
    high_ok = out < 1 if open_high else out <= 1
    if low_ok and high_ok:
        return out
    if 1 < out <= 100:
        raise DataError(f"{name}={value!r} looks like a percentage; it must be a fraction "
                        f"between 0 and 1", example=f"{name}={value!r}",
                        fix=f"divide by 100: pass {name}={out / 100:g} for {out:g}%")
    bounds = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
    raise DataError(f"{name}={value!r} must be a fraction in {bounds}",
                    fix=f"pass a share such as {example}")


def discount_rate(value: object, *, name: str = "discount_rate") -> float:
    """A discount rate per period as a fraction; 5 instead of 0.05 is called a percentage."""
    out = number(name, value)
    if out < 0:
        raise DataError(f"{name}={value!r} is negative",
                        fix="a discount rate is a positive fraction per period, e.g. 0.01 for "
                        "1% a month")
    if out >= 1:
        raise DataError(f"{name}={value!r} looks like a percentage: as given it means "
                        f"{100 * out:,.0f}% per period", example=f"{name}={value!r}",
                        fix=f"pass the rate as a fraction: {name}={out / 100:g} for {out:g}%")
    return out


def money(name: str, value: object, *, what: str) -> float:
    """A non-negative amount of money (a cost or a margin); negatives have the wrong sign."""
    out = number(name, value)
    if out < 0:
        raise DataError(f"{name}={value!r} has the wrong sign: {what} is a positive amount",
                        example=f"{name}={value!r}",
                        fix=f"pass {name}={-out:g}; the formulas subtract costs themselves")
    return out


def whole(name: str, value: object, *, minimum: int = 1) -> int:
    out = number(name, value)
    if out != round(out) or out < minimum:
        raise DataError(f"{name}={value!r} must be a whole number >= {minimum}",
                        fix=f"pass {name} as a whole number such as {max(minimum, 12)}")
    return int(out)


def alpha(alpha: object) -> float:
    return fraction("alpha", alpha, example="0.05")


def z(alpha: float, two_sided: bool = True) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha))


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DataError(f"{name}={value!r} is not one of {list(allowed)}",
                        fix=f"pass {name} as one of {', '.join(repr(a) for a in allowed)}")


def frame(data: object, what: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected {what} as a DataFrame, got {type(data).__name__}",
                        fix="pass one row per customer, e.g. load_experiment()")
    if len(data) == 0:
        raise DataError(f"{what} is empty", n_rows=0, fix="check the filter that produced it")
    return data


def counted_rows(data: pd.DataFrame, reached_col: str | None) -> pd.Series:
    """Boolean mask of the customers that count (reached the horizon)."""
    if reached_col is None:
        return pd.Series(True, index=data.index)
    reached = data[reached_col]
    if not pd.api.types.is_bool_dtype(reached.dtype) or reached.isna().any():
        raise DataError(f"column {reached_col!r} must be True/False (reached the horizon)",
                        n_rows=len(data),
                        example=first_example(data, np.ones(len(data), bool), [reached_col]),
                        fix="build it with retained_at_horizon(), or pass reached_col=None if "
                        "every customer was followed for the whole horizon")
    return reached.astype(bool)


def arms(data: pd.DataFrame, arm_col: str, control: str, arms: Sequence[str] | None,
         counted: pd.Series) -> list[str]:
    """Control first, then the other arms; every arm must have counted customers."""
    labels = data[arm_col]
    missing = labels.isna()
    if missing.any():
        raise DataError(f"arm column {arm_col!r} has missing values", n_rows=int(missing.sum()),
                        example=first_example(data, missing, [arm_col]),
                        fix="every customer of an experiment belongs to exactly one arm; drop "
                        "or repair these rows")
    present = [a for a in pd.unique(labels[counted]) if a is not None]
    if arms is None:
        others = sorted(str(a) for a in present if a != control)
        wanted = [control, *others]
    else:
        wanted = list(dict.fromkeys([control, *arms]))
    counts = labels[counted].value_counts()
    for arm in wanted:
        if int(counts.get(arm, 0)) == 0:
            everyone = int((labels == arm).sum())
            why = (f"{everyone:,} customers are in it but none reached the horizon"
                   if everyone else "no row has this arm")
            raise DataError(
                f"arm {arm!r} has no customers to analyse ({why})", n_rows=0,
                example=f"arms present: {sorted(str(a) for a in labels.unique())}",
                fix=("check the arm name and the control= argument" if not everyone else
                     "wait until the arm's customers reach the horizon, or use a shorter one"))
    if len(wanted) < 2:
        raise DataError(f"only one arm ({control!r}) to analyse", n_rows=int(counted.sum()),
                        fix="an experiment needs a control arm and at least one treatment arm")
    return wanted


def binary_outcome(data: pd.DataFrame, outcome_col: str, counted: pd.Series,
                   cols: list[str]) -> np.ndarray:
    """The 0/1 outcome of the counted rows as floats; anything else raises."""
    y = data.loc[counted, outcome_col]
    sub = data.loc[counted]
    miss = y.isna().to_numpy()
    if miss.any():
        raise DataError(f"outcome {outcome_col!r} is missing for customers who count",
                        n_rows=int(miss.sum()), example=first_example(sub, miss, cols),
                        fix="customers who have not reached the horizon must be excluded "
                        "(reached_col); build the outcome with retained_at_horizon()")
    if pd.api.types.is_bool_dtype(y.dtype):
        return y.to_numpy(dtype=float)
    values = pd.to_numeric(y, errors="coerce")
    bad = (values.isna() | ~values.isin([0, 1])).to_numpy()
    if bad.any():
        raise DataError(f"outcome {outcome_col!r} must be 0/1 (or True/False): retained at the "
                        "horizon or not", n_rows=int(bad.sum()),
                        example=first_example(sub, bad, cols),
                        fix="code retained customers as 1 and churned ones as 0; for a "
                        "continuous outcome such as spend use cuped()")
    return values.to_numpy(dtype=float)


def normal_p(z: np.ndarray | float) -> np.ndarray | float:
    from scipy import stats

    with np.errstate(invalid="ignore"):
        return 2 * stats.norm.sf(np.abs(z))

