"""Argument and data checks shared by the experiment modules (internal).

The one place where :mod:`retention_kit.experiments` checks scalars (numbers, fractions,
discount rates, money, whole numbers, alpha), choices and experiment frames (counted
customers, arms, 0/1 outcomes), and the normal quantile and p-value helpers. The
concept modules import this module and call ``_args.number(...)``; nothing else does.
The scalar checks and the normal quantile come from :mod:`retention_kit._checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# The scalar checks are the package's own (retention_kit._checks), re-exported so the concept
# modules keep calling _args.<check>; only the experiment-specific checks are defined here.
from .._checks import choice as check_choice
from .._checks import critical_z as z
from .._checks import discount_rate, first_example, fraction, money, number, require_columns, whole
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


def alpha(alpha: object) -> float:
    """A significance level in (0, 1)."""
    return fraction("alpha", alpha, example="0.05")


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

