"""The one validation layer: column checks, scalar and array argument checks, one template.

Every module of the package checks its inputs with these functions, so one kind of bad input
gets one rule and one message everywhere (pandas and the engines, models, metrics, cohorts,
segments, experiments, reports).

The rule for exceptions:

- a bad *value* (of a column or of an argument: negative, not finite, not a whole number,
  a percentage where a fraction belongs, not one of the choices) raises
  :class:`~retention_kit.errors.DataError`, a :class:`ValueError`, whose message follows the
  project's template (what is wrong, how many rows, the first example, how to fix it);
- an object of the wrong *kind* where a specific object is expected (not a DataFrame, not a
  fitted model, not JSON text) raises :class:`TypeError`, from the module that knows what it
  expected.

Nothing here imports anything of the package but :mod:`retention_kit.errors`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = [
    "SUMMARY_COLUMNS",
    "between",
    "choice",
    "closest",
    "critical_z",
    "discount_rate",
    "entry_times",
    "first_example",
    "flag",
    "fraction",
    "missing_column",
    "money",
    "nonnegative_columns",
    "number",
    "plain",
    "positive_numbers",
    "require_columns",
    "suggest",
    "whole",
    "whole_numbers",
]


#: The columns of a per-customer BTYD summary (frequency of repeat purchases, recency and T).
SUMMARY_COLUMNS = ("frequency", "recency", "T")


# --------------------------------------------------------------------------- messages


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, a Timestamp as text (for messages).

    Examples
    --------
    >>> plain(np.int64(3)), plain(pd.Timestamp("2024-01-31"))
    (3, '2024-01-31 00:00:00')
    """
    if isinstance(value, pd.Timestamp):
        return str(value)
    return value.item() if isinstance(value, np.generic) else value


def suggest(name: str, candidates: Iterable[object]) -> str:
    """``"did you mean 'x'? "`` for the candidate closest to ``name``, or ``""``.

    Examples
    --------
    >>> suggest("customer_id", ["Customer_ID", "date"])
    "did you mean 'Customer_ID'? "
    >>> suggest("amout", ["amount", "date"])
    "did you mean 'amount'? "
    >>> suggest("zzz", ["amount"])
    ''
    """
    close = closest(name, candidates)
    return f"did you mean {close!r}? " if close is not None else ""


def closest(name: str, candidates: Iterable[object]) -> str | None:
    """The candidate ``name`` most likely meant: same letters in another case, a prefix
    either way (``"month"`` for ``"M"``), else the closest spelling; None if nothing is close.

    Examples
    --------
    >>> closest("month", ["W", "M", "Q"]), closest("retailr", ["cdnow", "retailer"])
    ('M', 'retailer')
    """
    cols = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in cols}
    text = name.lower()
    if text in lowered:
        return lowered[text]
    prefix = [c for c in cols if c and (text.startswith(c.lower()) or c.lower().startswith(text))]
    if prefix:  # the most specific: "log_38" rather than "log_3" for "log_38x"
        return max(prefix, key=len)
    close = difflib.get_close_matches(name, cols, n=1, cutoff=0.5)
    return close[0] if close else None


def first_example(df: pd.DataFrame, mask: np.ndarray | pd.Series, cols: Sequence[str]) -> str:
    """``"row <label>: col=value, ..."`` for the first row where ``mask`` is true.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, -2], "b": ["x", "y"]}, index=[10, 11])
    >>> first_example(df, df["a"] < 0, ["a", "b"])
    "row 11: a=-2, b='y'"
    """
    pos = int(np.flatnonzero(np.asarray(mask))[0])
    shown = ", ".join(f"{c}={plain(df[c].iloc[pos])!r}" for c in cols)
    return f"row {plain(df.index[pos])!r}: {shown}"


# --------------------------------------------------------------------------- columns


def missing_column(columns: Sequence[object], needed: dict[str, str], *, what: str,
                   n_rows: int | None = None) -> DataError | None:
    """The error for the first of ``needed`` not in ``columns`` (None if all are there).

    ``needed`` maps each column to a description whose first word is the keyword that
    names it (``{"amount": "amount_col (money per purchase)"}``). Used for pandas frames
    (:func:`require_columns`) and for engine tables, which know their columns but not yet
    their row count.
    """
    names = [str(c) for c in columns]
    missing = [c for c in needed if c not in names]
    if not missing:
        return None
    name = missing[0]
    return DataError(
        f"{what} has no column {name!r} ({needed[name]}); its columns are {names}",
        n_rows=n_rows,
        fix=f"{suggest(name, names)}rename the column or pass its name with the "
        f"{needed[name].split(' ')[0]} argument".replace("  ", " "),
    )


def require_columns(df: pd.DataFrame, needed: dict[str, str], *, what: str) -> None:
    """Raise a DataError naming the first missing column and the closest existing one.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"Amount": [1]}), {"amount": "amount_col"}, what="the log")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: the log has no column 'amount' (amount_col); its columns
    are ['Amount']. Rows affected: 1. How to fix: did you mean 'Amount'? rename the column or
    pass its name with the amount_col argument.
    """
    error = missing_column(list(df.columns), needed, what=what, n_rows=len(df))
    if error is not None:
        raise error


def nonnegative_columns(df: pd.DataFrame, cols: Sequence[str], *,
                        integer: Sequence[str] = (), shown: Sequence[str] | None = None,
                        negative_fix: str = "drop or repair these rows",
                        problems: dict[str, str] | None = None) -> None:
    """Every value of ``cols`` a finite, non-negative number (whole in ``integer``).

    One rule set for every per-customer table (BTYD and segmentation summaries, cohort
    inputs, scores): missing or non-numeric values, infinite values, negative values and
    fractions in whole-number columns are refused, in that order, column by column.

    Parameters
    ----------
    df : DataFrame
    cols : sequence of str
        Columns to check (they must exist: see :func:`require_columns`).
    integer : sequence of str, default ()
        Columns that must also hold whole numbers.
    shown : sequence of str, optional
        Columns shown in the first example (default ``cols``).
    negative_fix : str
        The "how to fix" of the negative-values error.
    problems : dict, optional
        Wording of the problem in the caller's terms, by check (``"missing"``,
        ``"infinite"``, ``"negative"``), e.g. ``{"negative": "durations are negative"}``.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": [1, 2], "T": [3.0, float("inf")]})
    >>> nonnegative_columns(df, ["frequency", "T"], integer=["frequency"])
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: column 'T' has infinite values. Rows affected: 1. First
    example: row 1: frequency=2, T=inf. How to fix: every value must be a finite number; drop
    or repair these rows.
    """
    shown = list(cols if shown is None else shown)
    for col in cols:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        checks = (
            ("missing", np.isnan(values), f"column {col!r} has missing or non-numeric values",
             "drop or repair these rows"),
            ("infinite", np.isinf(values), f"column {col!r} has infinite values",
             "every value must be a finite number; drop or repair these rows"),
            ("negative", values < 0, f"column {col!r} has negative values", negative_fix),
        )
        for key, bad, problem, fix in checks:
            if bad.any():
                raise DataError((problems or {}).get(key, problem), n_rows=int(bad.sum()),
                                example=first_example(df, bad, shown), fix=fix)
        if col in integer:
            frac = values != np.round(values)
            if frac.any():
                raise DataError(f"{col} has non-integer values", n_rows=int(frac.sum()),
                                example=first_example(df, frac, shown),
                                fix=f"{col} counts whole periods or purchases; rebuild the "
                                "summary")


# --------------------------------------------------------------------------- transaction logs
# One message per rule of :func:`retention_kit.data.prepare_transactions`, shared with its
# engine twin in :mod:`retention_kit.engines`: each builds the error from what the caller
# counted (rows) and found (the first example), so both paths say the same thing.


def log_options(*, after_end: object, duplicates: object) -> None:
    """The policy keywords of a transaction log."""
    choice("duplicates", duplicates, ("raise", "keep", "drop"))
    choice("after_end", after_end, ("raise", "drop"))


def empty_log() -> DataError:
    return DataError("the transaction log is empty", n_rows=0,
                     fix="check the filter or file that produced it")


def summary_not_log(n_rows: int | None) -> DataError:
    return DataError(
        "this looks like a per-customer summary (it has frequency, recency and T), "
        "not a transaction log", n_rows=n_rows,
        fix="pass the raw log (one row per purchase, with customer and date columns); "
        "a summary goes straight to a model's fit()")


def missing_ids(customer_col: str, n_rows: int, example: str) -> DataError:
    return DataError(f"transactions without a customer id in column {customer_col!r}",
                     n_rows=n_rows, example=example,
                     fix="drop anonymous purchases or give them an id; they cannot be "
                     "summarised per customer")


def identical_rows(n_rows: int, example: str) -> DataError:
    return DataError("the log has rows identical in every column", n_rows=n_rows,
                     example=example,
                     fix="pass duplicates='drop' if they are a double load, or "
                     "duplicates='keep' if they are genuine repeat orders (same customer, day "
                     "and amount)")


def missing_dates(date_col: str, n_rows: int, example: str) -> DataError:
    return DataError(f"{n_rows:,} transactions have no date in column {date_col!r}",
                     n_rows=n_rows, example=example,
                     fix="drop or repair the rows without a date; every purchase needs one")


def unparseable_dates(date_col: str, n_rows: int, example: str) -> DataError:
    return DataError(f"dates in column {date_col!r} cannot be parsed", n_rows=n_rows,
                     example=example,
                     fix="repair these values, store ISO dates such as '1997-01-01' or "
                     "'1997-01-01 10:30:00', or parse them yourself with "
                     "pd.to_datetime(..., format=...)")


def bad_amounts(amount_col: str, n_rows: int, example: str, *, all_missing: bool) -> DataError:
    return DataError(
        f"amounts in column {amount_col!r} are {'missing' if all_missing else 'not numbers'}",
        n_rows=n_rows, example=example,
        fix="repair or drop these rows; a purchase without an amount cannot be averaged")


def negative_amounts(amount_col: str, n_rows: int, example: str) -> DataError:
    return DataError(f"amounts in column {amount_col!r} are negative (refunds or returns)",
                     n_rows=n_rows, example=example,
                     fix="net each refund against its purchase (or drop refunded orders) "
                     "before summarising; a refund is not a purchase and must not count as one")


#: Text dates written as day and month numbers (03/04/2024, 3.4.24, 03-04-2024).
DAY_MONTH_PATTERN = r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?:\D|$)"
#: Text dates whose time ends in a UTC offset, Z or UTC (timezone-aware).
AWARE_PATTERN = r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[+-]\d{2}(?::?\d{2})?|Z|UTC)\s*$"
#: Text that is only a number (an epoch or an Excel serial, or an id).
NUMBER_PATTERN = r"^\s*[+-]?\d+(?:\.\d*)?\s*$"
#: The largest amount of one purchase accepted: larger is a misread column (ids, timestamps,
#: a number in the wrong unit) or an overflow; sums of such values lose their cents or become
#: infinite.
MAX_AMOUNT = 1e12
#: Purchase dates more than this many days after today are impossible (a misread format or a
#: typo in the year): the observation window cannot end in the future.
MAX_DAYS_AHEAD = 366


def _date_fix(date_col: str, how: str, keyword: str, cli: str) -> str:
    return (f"declare the format: parse the column yourself, df[{date_col!r}] = "
            f"pd.to_datetime(df[{date_col!r}], {how}), or clean the raw export with "
            f"clean_transactions(log, {{'date_format': {keyword!r}}}) (CLI: --map "
            f"date_format={cli})")


def numeric_dates(date_col: str, n_rows: int, example: str, low: float,
                  high: float) -> DataError:
    """Dates stored as numbers: an encoding the log does not name (epoch, Excel) or ids.

    The encoding is guessed from the range of the values (``low`` to ``high``) for the fix;
    the numbers are never read as nanoseconds since 1970 (which makes every date 1970-01-01).
    """
    if 1e4 <= low and high < 2.2e5:
        guess, how, key = "Excel serial day numbers", "unit='D', origin='1899-12-30'", "excel"
    elif 1.9e7 <= low and high < 2.2e7 and low == round(low):
        guess, how, key = "dates written as YYYYMMDD", "format='%Y%m%d'", "%Y%m%d"
    elif 1e8 <= low and high < 1e10:
        guess, how, key = "epoch seconds", "unit='s'", "epoch_s"
    elif 1e11 <= low and high < 1e13:
        guess, how, key = "epoch milliseconds", "unit='ms'", "epoch_ms"
    elif high < 1e4:
        return DataError(
            f"dates in column {date_col!r} are numbers ({low:.15g} to {high:.15g}), not dates; "
            "small whole numbers look like customer ids", n_rows=n_rows, example=example,
            fix="the customer and date columns look swapped: pass customer_col and date_col "
            "the other way round (or name the date column with date_col)")
    else:
        guess, how, key = "numbers of no known date encoding", "unit=...", "epoch_s"
    return DataError(
        f"dates in column {date_col!r} are numbers ({low:.15g} to {high:.15g}), not dates; "
        f"they look like {guess}, and a number is never read as a date silently",
        n_rows=n_rows, example=example, fix=_date_fix(date_col, how, key, key))


def ambiguous_dates(date_col: str, n_rows: int, example: str, *,
                    day_first_seen: bool) -> DataError:
    """Dates written as two numbers for day and month (03/04/2024): the order must be named."""
    seen = ("some have a first number above 12, so they are probably day-first, but a date "
            "such as 03/04/2024 is 3 April day-first and 4 March month-first"
            if day_first_seen else "03/04/2024 is 3 April day-first and 4 March month-first")
    return DataError(
        f"dates in column {date_col!r} write the day and the month as numbers, which is "
        f"ambiguous ({seen})", n_rows=n_rows, example=example,
        fix=_date_fix(date_col, "dayfirst=True", "dayfirst", "dayfirst")
        + "; for month-first dates use format='%m/%d/%Y' or 'monthfirst'")


def aware_dates(date_col: str, n_rows: int, example: str) -> DataError:
    """Timezone-aware purchase dates: one rule on every engine (refused, never converted)."""
    return DataError(
        f"dates in column {date_col!r} are timezone-aware; the summaries count days on one "
        "wall clock and do not choose a zone for you", n_rows=n_rows, example=example,
        fix=f"convert to the zone whose days you analyse and drop the zone: df[{date_col!r}] = "
        f"pd.to_datetime(df[{date_col!r}], utc=True).dt.tz_convert('Europe/Berlin')"
        ".dt.tz_localize(None), or clean the raw export with clean_transactions(log, "
        "{'timezone': 'Europe/Berlin'}) (CLI: --map timezone=...)")


def future_dates(date_col: str, n_rows: int, example: str, today: pd.Timestamp) -> DataError:
    """Purchases dated more than :data:`MAX_DAYS_AHEAD` days after ``today``."""
    return DataError(
        f"dates in column {date_col!r} lie more than {MAX_DAYS_AHEAD} days after today "
        f"({today.date()}); purchases cannot happen in the future", n_rows=n_rows,
        example=example,
        fix="repair the year (a typo such as 2124 for 2024) or the date format, or drop "
        "these rows")


def not_dates(date_col: str, kind: object) -> DataError:
    """A date column of a type that holds no dates (booleans, lists)."""
    return DataError(
        f"column {date_col!r} holds {kind} values, not dates",
        fix="store the purchase dates as a date or timestamp column, or as ISO strings "
        "such as '1997-01-01'; check that date_col names the date column")


def dates_as_ids(customer_col: str, n_rows: int, example: str) -> DataError:
    """A customer id column holding dates: the id and date columns are swapped."""
    return DataError(
        f"customer ids in column {customer_col!r} are dates", n_rows=n_rows, example=example,
        fix="the customer and date columns look swapped: pass customer_col and date_col the "
        "other way round")


def mixed_ids(customer_col: str, n_rows: int, example: str) -> DataError:
    """Ids of two kinds (numbers and text) in one column: 1 and '1' would be two customers."""
    return DataError(
        f"customer ids in column {customer_col!r} mix numbers and text, so 1 and '1' would "
        "count as two customers", n_rows=n_rows, example=example,
        fix=f"give the ids one type: df[{customer_col!r}] = df[{customer_col!r}].astype(str) "
        "(after checking that 1 and '1' are the same customer)")


def boolean_amounts(amount_col: str, n_rows: int, example: str) -> DataError:
    return DataError(f"amounts in column {amount_col!r} are True/False, not money",
                     n_rows=n_rows, example=example,
                     fix="pass the spend column as amount_col (a flag is not an amount)")


def huge_amounts(amount_col: str, n_rows: int, example: str) -> DataError:
    return DataError(
        f"amounts in column {amount_col!r} are infinite or {MAX_AMOUNT:,.0f} or more per "
        "purchase", n_rows=n_rows, example=example,
        fix="repair or drop these rows; check that amount_col names the spend column (not an "
        "id or a timestamp) and that the amounts are in currency units")


def purchases_after_end(end: pd.Timestamp, n_rows: int, example: str) -> DataError:
    return DataError(f"purchases after the observation end {end.date()}", n_rows=n_rows,
                     example=example,
                     fix="pass after_end='drop' to summarise only up to observation_end, use "
                     "calibration_holdout_split() to keep them as a holdout, or move "
                     "observation_end")


def nothing_before_end(end: pd.Timestamp) -> DataError:
    return DataError(f"no purchases on or before the observation end {end.date()}",
                     n_rows=0, fix="choose a later observation_end")


# --------------------------------------------------------------------------- scalars


def number(name: str, value: object) -> float:
    """A finite real number (not a bool, not text), as float.

    Examples
    --------
    >>> number("margin", 0.3)
    0.3
    >>> number("margin", "0.3")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: margin='0.3' is not a number. How to fix: pass margin as a
    number.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating):
        raise DataError(f"{name}={value!r} is not a number", fix=f"pass {name} as a number")
    out = float(value)
    if not math.isfinite(out):
        raise DataError(f"{name}={value!r} is not a finite number",
                        fix=f"pass {name} as a finite number")
    return out


def fraction(name: str, value: object, *, open_low: bool = True, open_high: bool = True,
             example: str = "0.40", hint: str = "") -> float:
    """A share or probability; a value in (1, 100] is reported as a percentage.

    ``hint`` (what the share means, e.g. "0.3 means a 30% margin") is added to the fix.

    Examples
    --------
    >>> fraction("power", 0.8)
    0.8
    >>> fraction("power", 80)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: power=80 looks like a percentage; it must be a fraction
    between 0 and 1. First example: power=80. How to fix: divide by 100: pass power=0.8 for 80%.
    """
    out = number(name, value)
    low_ok = out > 0 if open_low else out >= 0
    high_ok = out < 1 if open_high else out <= 1
    if low_ok and high_ok:
        return out
    if 1 < out <= 100:
        raise DataError(f"{name}={value!r} looks like a percentage; it must be a fraction "
                        f"between 0 and 1", example=f"{name}={value!r}",
                        fix=f"divide by 100: pass {name}={out / 100:g} for {out:g}%"
                        + (f"; {hint}" if hint else ""))
    bounds = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
    raise DataError(f"{name}={value!r} must be a fraction in {bounds}",
                    fix=f"pass a share such as {example}" + (f"; {hint}" if hint else ""))


def discount_rate(value: object, *, name: str = "discount_rate", allow_zero: bool = True,
                  allow_one: bool = False, per: str = "period") -> float:
    """A discount rate per period as a fraction in [0, 1); 5 for 5% is called a percentage.

    ``allow_one`` admits exactly 1 (100% per period: the models' closed forms are defined
    there); anything above 1 is always read as a percentage.

    Examples
    --------
    >>> discount_rate(0.01)
    0.01
    >>> discount_rate(8)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: discount_rate=8 looks like a percentage: as given it means
    800% per period. First example: discount_rate=8. How to fix: pass the rate as a fraction:
    discount_rate=0.08 for 8%; 0.01 means 1% per period.
    >>> discount_rate(-0.1)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: discount_rate must be a number >= 0 per period, got -0.1. How
    to fix: a discount rate is a fraction per period, e.g. 0.01 for 1%.
    """
    out = number(name, value)
    if out < 0 or (out == 0 and not allow_zero):
        raise DataError(f"{name} must be a number {'>=' if allow_zero else '>'} 0 per {per}, "
                        f"got {value!r}",
                        fix=f"a discount rate is a fraction per {per}, e.g. 0.01 for 1%")
    if out > 1 or (out == 1 and not allow_one):
        raise DataError(f"{name}={value!r} looks like a percentage: as given it means "
                        f"{100 * out:,.0f}% per {per}", example=f"{name}={value!r}",
                        fix=f"pass the rate as a fraction: {name}={out / 100:g} for {out:g}%; "
                        f"0.01 means 1% per {per}")
    return out


def money(name: str, value: object, *, what: str) -> float:
    """A non-negative amount of money (a cost or a margin); a negative has the wrong sign.

    Examples
    --------
    >>> money("cost", -2, what="the cost per customer")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: cost=-2 has the wrong sign: the cost per customer is a
    positive amount. First example: cost=-2. How to fix: pass cost=2; the formulas subtract
    costs themselves.
    """
    out = number(name, value)
    if out < 0:
        raise DataError(f"{name}={value!r} has the wrong sign: {what} is a positive amount",
                        example=f"{name}={value!r}",
                        fix=f"pass {name}={-out:g}; the formulas subtract costs themselves")
    return out


def whole(name: str, value: object, *, minimum: int = 1, maximum: int | None = None,
          unit: str | None = None, hint: str = "", label: str = "") -> int:
    """A whole number >= ``minimum`` (and <= ``maximum``; 12.0 is accepted as 12), as int.

    ``unit`` names what is counted (``"periods"``); ``hint`` is added to the fix; ``label``
    prefixes the name (``"parameter "`` for a notebook parameter).

    Examples
    --------
    >>> whole("horizon", 12.0)
    12
    >>> whole("t", 1.5, unit="periods")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: t must be a whole number of periods >= 1, got 1.5. How to
    fix: pass t as a whole number such as 12.
    >>> whole("forecast_months", 0, maximum=120, label="parameter ")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: parameter forecast_months=0 is not a whole number from 1 to
    120. How to fix: pass forecast_months as a whole number such as 12.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating):
        raise DataError(f"{label}{name}={value!r} is not a number",
                        fix=f"pass {name} as a number" + (f"; {hint}" if hint else ""))
    out = float(value)
    too_big = maximum is not None and out > maximum
    if not math.isfinite(out) or out != round(out) or out < minimum or too_big:
        if maximum is not None:
            problem = f"{label}{name}={value!r} is not a whole number from {minimum} to {maximum}"
        else:
            counted = f" of {unit}" if unit else ""
            problem = f"{label}{name} must be a whole number{counted} >= {minimum}, got {value!r}"
        example = min(max(minimum, 12), maximum if maximum is not None else 12)
        raise DataError(problem, fix=f"pass {name} as a whole number such as {example}"
                        + (f"; {hint}" if hint else ""))
    return int(out)


def flag(name: str, value: object) -> bool:
    """A bool that is a bool (numpy's too); text such as "yes" or 1 is refused.

    Examples
    --------
    >>> flag("relative", True)
    True
    >>> flag("relative", "yes")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: relative='yes' is not True or False. How to fix: pass
    relative=True or relative=False.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise DataError(f"{name}={value!r} is not True or False",
                    fix=f"pass {name}=True or {name}=False")


def between(name: str, value: object, low: float, high: float, *, low_inclusive: bool = True,
            high_inclusive: bool = True, hint: str = "", label: str = "") -> float:
    """A finite number within ``[low, high]`` (ends open on request).

    A value in (1, 100] where the range ends at or below 1 is called a percentage.

    Examples
    --------
    >>> between("confidence", 0.95, 0, 1, low_inclusive=False, high_inclusive=False)
    0.95
    >>> between("margin", 30, 0.01, 1, label="parameter ", hint="a gross margin such as 0.3")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: parameter margin=30 is outside [0.01, 1]; 30 looks like a
    percentage, pass 0.3. How to fix: pass a gross margin such as 0.3.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating):
        raise DataError(f"{label}{name}={value!r} is not a number",
                        fix=f"pass {hint or name + ' as a number'}")
    out = float(value)
    ok_low = out >= low if low_inclusive else out > low
    ok_high = out <= high if high_inclusive else out < high
    if math.isfinite(out) and ok_low and ok_high:
        return out
    bounds = f"{'[' if low_inclusive else '('}{low:g}, {high:g}{']' if high_inclusive else ')'}"
    percent = (f"; {out:g} looks like a percentage, pass {out / 100:g}"
               if high <= 1 < out <= 100 else "")
    raise DataError(f"{label}{name}={value!r} is outside {bounds}{percent}",
                    fix=f"pass {hint or 'a value in ' + bounds}")


def choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """``value`` must be one of ``allowed``; the closest one is suggested.

    Examples
    --------
    >>> choice("mode", "exact", ("exact", "on_or_after"))
    >>> choice("mode", "on_or_afer", ("exact", "on_or_after"))
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: mode='on_or_afer' is not one of ['exact', 'on_or_after'].
    How to fix: did you mean 'on_or_after'? pass mode as one of 'exact', 'on_or_after'.
    """
    try:
        if value in allowed:
            return
    except TypeError:  # an unhashable value against a set
        pass
    hint = suggest(str(value), allowed) if isinstance(value, str) else ""
    raise DataError(f"{name}={value!r} is not one of {list(allowed)}",
                    fix=f"{hint}pass {name} as one of {', '.join(repr(a) for a in allowed)}")


def critical_z(alpha: float, *, two_sided: bool = True) -> float:
    """The standard-normal quantile for significance level ``alpha`` (1.96 at 0.05).

    A confidence level ``c`` is ``critical_z(1 - c)``.

    Examples
    --------
    >>> round(critical_z(0.05), 4), round(critical_z(0.05, two_sided=False), 4)
    (1.96, 1.6449)
    """
    from scipy.special import ndtri

    return float(ndtri(1 - alpha / 2 if two_sided else 1 - alpha))


# --------------------------------------------------------------------------- arrays


def _shown(values: object) -> str:
    text = repr(values)
    return text if len(text) <= 80 else text[:77] + "..."


def _as_numbers(values: object) -> np.ndarray:
    """``values`` as a float array; text, booleans and other objects become NaN (refused)."""
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError):
        return np.array(np.nan)
    if raw.dtype.kind == "O":
        ok = all(isinstance(v, int | float | np.integer | np.floating)
                 and not isinstance(v, bool | np.bool_) for v in raw.ravel())
    else:
        ok = raw.dtype.kind in "iuf"
    return raw.astype(float) if ok else np.full(raw.shape, np.nan)


def positive_numbers(name: str, values: object) -> np.ndarray:
    """Finite, strictly positive numbers (a horizon, a duration), as a float array.

    Examples
    --------
    >>> positive_numbers("t", [1, 2.5])
    array([1. , 2.5])
    >>> positive_numbers("t", "52")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: the horizon t must be positive and finite. First example:
    t='52'. How to fix: pass t as a positive number of time units, e.g. t=52.
    >>> positive_numbers("t", 0)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: the horizon t must be positive and finite. First example:
    t=0. How to fix: pass t as a positive number of time units, e.g. t=52.
    """
    arr = _as_numbers(values)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise DataError(f"the horizon {name} must be positive and finite",
                        example=f"{name}={_shown(values)}",
                        fix=f"pass {name} as a positive number of time units, e.g. {name}=52")
    return arr


def whole_numbers(name: str, values: object, *, minimum: int = 0) -> np.ndarray:
    """Whole numbers of periods >= ``minimum`` (scalar or array), as a float array.

    Examples
    --------
    >>> whole_numbers("t", [0, 3], minimum=0)
    array([0., 3.])
    >>> whole_numbers("t", 2.5, minimum=1)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: t must be whole numbers of periods >= 1. First example:
    t=2.5. How to fix: pass t as whole periods, e.g. t=12.
    """
    arr = _as_numbers(values)
    if np.any(~np.isfinite(arr)) or np.any(arr < minimum) or np.any(arr != np.round(arr)):
        raise DataError(f"{name} must be whole numbers of periods >= {minimum}",
                        example=f"{name}={_shown(values)}",
                        fix=f"pass {name} as whole periods, e.g. {name}={max(minimum, 12)}")
    return arr


def entry_times(data: pd.DataFrame, *, duration_col: str = "duration",
                event_col: str = "churned", entry_col: str = "entry",
                integer: bool = True) -> np.ndarray:
    """The validated delayed-entry times of a duration table (zeros without the column).

    ``entry`` is the tenure at which a customer's observation starts: a table built from
    a snapshot (customers present in a window, whatever their start date) only holds
    customers who had not churned before it, so each is observed from tenure ``entry``
    on. It must be a whole, finite number with 0 <= entry <= duration, and below the
    duration of a churner (she was seen as a customer before she left).

    Parameters
    ----------
    data : DataFrame
    duration_col, event_col, entry_col : str
        Column names.
    integer : bool, default True
        Entries must be whole periods (False for continuous durations, e.g. days).

    Returns
    -------
    ndarray of float

    Raises
    ------
    DataError
        Missing, non-finite, negative or fractional entries, entries after the duration.

    Examples
    --------
    >>> d = pd.DataFrame({"duration": [3, 2], "churned": [True, True], "entry": [1, 2]})
    >>> entry_times(d)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: entry is not below the duration of a churner. Rows
    affected: 1. First example: row 1: duration=2, churned=True, entry=2. How to fix: a
    churner with duration t left at renewal t, so she was observed from a tenure entry <=
    t-1; check that entry and duration count the same periods from the same start (pass
    entry_col=...).
    """
    if entry_col not in data.columns:
        return np.zeros(len(data))
    shown = [duration_col, event_col, entry_col]
    nonnegative_columns(data, [entry_col], integer=[entry_col] if integer else [], shown=shown,
                        negative_fix="entry is the tenure (whole periods since acquisition) "
                        "at which the customer's observation starts, 0 if observed from "
                        "acquisition")
    entry = pd.to_numeric(data[entry_col]).to_numpy(dtype=float)
    duration = pd.to_numeric(data[duration_col]).to_numpy(dtype=float)
    churned = pd.to_numeric(data[event_col]).to_numpy(dtype=float) > 0.5
    checks = (
        (entry > duration, "entry is after the duration",
         "a customer is observed from tenure entry to tenure duration, so entry <= duration; "
         "check that the columns are not swapped (pass entry_col=...)"),
        (churned & (entry >= duration), "entry is not below the duration of a churner",
         "a churner with duration t left at renewal t, so she was observed from a tenure "
         "entry <= t-1; check that entry and duration count the same periods from the same "
         "start (pass entry_col=...)"),
    )
    for bad, problem, fix in checks:
        if bad.any():
            raise DataError(problem, n_rows=int(bad.sum()),
                            example=first_example(data, bad, shown), fix=fix)
    return entry
