"""Units of measure: time units and elapsed-time arithmetic, one definition for pandas and
the engines; and money amounts with their currency, one format for report text and charts.

The per-customer summaries measure recency and T in a time unit: ``D`` and ``W`` are exact
durations (a week is 7 days, so weeks are fractional); ``M``, ``Q`` and ``Y`` count calendar
period boundaries crossed. :func:`calendar_periods` and :func:`days_in_unit` are written with
arithmetic only, so the same function computes on numpy arrays (the pandas path) and on Ibis
expressions (DuckDB, Spark): both paths give the same numbers by construction.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["CURRENCY_SYMBOLS", "TIME_UNITS", "TimeUnit", "calendar_periods", "check_time_unit",
           "currency_symbol", "days_in_unit", "elapsed", "format_money", "to_naive_timestamp"]

TimeUnit = Literal["D", "W", "M", "Q", "Y"]

#: Time units accepted by the summaries. D and W are exact durations (a week is
#: 7 days, so weeks are fractional); M, Q and Y count calendar periods.
TIME_UNITS: dict[str, str] = {
    "D": "days (exact)",
    "W": "weeks of 7 days (exact, fractional)",
    "M": "calendar months (count of month boundaries crossed)",
    "Q": "calendar quarters (count of quarter boundaries crossed)",
    "Y": "calendar years (count of year boundaries crossed)",
}

_MONTHS_PER_PERIOD = {"Q": 3, "Y": 12}


def check_time_unit(time_unit: object) -> str:
    """``time_unit`` if it is one of :data:`TIME_UNITS`, else a DataError.

    Examples
    --------
    >>> check_time_unit("W")
    'W'
    >>> check_time_unit("weeks")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: time_unit='weeks' is not supported. How to fix: use one of
    ['D', 'W', 'M', 'Q', 'Y'] (days (exact); weeks of 7 days (exact, fractional); calendar months
    (count of month boundaries crossed); calendar quarters (count of quarter boundaries crossed);
    calendar years (count of year boundaries crossed)).
    """
    if not isinstance(time_unit, str) or time_unit not in TIME_UNITS:
        raise DataError(f"time_unit={time_unit!r} is not supported",
                        fix=f"use one of {list(TIME_UNITS)} ({'; '.join(TIME_UNITS.values())})")
    return time_unit


def days_in_unit(days: Any, time_unit: str) -> Any:
    """An exact duration in days expressed in ``time_unit`` ``D`` or ``W``.

    Examples
    --------
    >>> days_in_unit(14.0, "W"), days_in_unit(3.5, "D")
    (2.0, 3.5)
    """
    return days / 7.0 if time_unit == "W" else days


def calendar_periods(later_year: Any, later_month: Any, earlier_year: Any, earlier_month: Any,
                     time_unit: str) -> Any:
    """Calendar ``M``/``Q``/``Y`` boundaries crossed from the earlier to the later month.

    Arguments are years and months (1-12) as integers: numpy arrays, Python ints or Ibis
    integer expressions; the result has the same kind (integers).

    Examples
    --------
    >>> calendar_periods(2024, 1, 2023, 12, "M"), calendar_periods(2024, 1, 2023, 12, "Y")
    (1, 1)
    >>> calendar_periods(2024, 3, 2024, 1, "Q"), calendar_periods(2024, 4, 2024, 3, "Q")
    (0, 1)
    """
    if time_unit == "M":
        return (later_year - earlier_year) * 12 + (later_month - earlier_month)
    size = _MONTHS_PER_PERIOD[time_unit]
    later = later_year * 12 + later_month - 1
    earlier = earlier_year * 12 + earlier_month - 1
    return later // size - earlier // size


def elapsed(later: pd.Series | pd.Timestamp, earlier: pd.Series, time_unit: str) -> np.ndarray:
    """Time from ``earlier`` to ``later`` in ``time_unit`` (see :data:`TIME_UNITS`), as floats.

    ``later`` is a Series of the same length as ``earlier`` or one Timestamp.

    Examples
    --------
    >>> first = pd.Series(pd.to_datetime(["2024-01-31", "2024-03-01"]))
    >>> elapsed(pd.Timestamp("2024-04-01"), first, "M").tolist()
    [3.0, 1.0]
    >>> elapsed(pd.Timestamp("2024-04-01"), first, "W").round(3).tolist()
    [8.714, 4.429]
    """
    check_time_unit(time_unit)
    if time_unit in ("D", "W"):
        days = np.asarray((later - earlier) / pd.Timedelta(days=1), dtype=float)
        return days_in_unit(days, time_unit)
    if isinstance(later, pd.Series):
        l_year, l_month = later.dt.year.to_numpy(), later.dt.month.to_numpy()
    else:
        l_year, l_month = later.year, later.month
    periods = calendar_periods(l_year, l_month, earlier.dt.year.to_numpy(),
                               earlier.dt.month.to_numpy(), time_unit)
    return np.asarray(periods, dtype=float)


def to_naive_timestamp(value: object, what: str) -> pd.Timestamp:
    """A date argument (text, datetime, Timestamp) as a naive pandas Timestamp, or a DataError.

    A time-zone-aware date is refused: the logs' dates are naive wall-clock times (a raw
    export's zone is converted by its spec's ``timezone``), and comparing the two would
    shift the window by the zone's offset.

    Examples
    --------
    >>> to_naive_timestamp("1997-09-30", "observation_end")
    Timestamp('1997-09-30 00:00:00')
    >>> to_naive_timestamp("soon", "observation_end")
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: observation_end 'soon' is not a date. How to fix: pass a
    date such as '1997-09-30' or a pandas Timestamp.
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} {value!r} is not a date",
                        fix="pass a date such as '1997-09-30' or a pandas Timestamp") from exc
    if ts is pd.NaT:
        raise DataError(f"{what} is missing (NaT)", fix="pass a date such as '1997-09-30'")
    if ts.tzinfo is not None:
        raise DataError(
            f"{what} {value!r} is timezone-aware but the dates are naive",
            fix="pass a naive date (the log's dates are compared as local wall-clock time)")
    return ts


# --------------------------------------------------------------------------- money

#: Currency codes written as a symbol in front of the amount (symbols common fonts have);
#: other codes follow the amount.
CURRENCY_SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "INR": "₹",
                                    "JPY": "¥", "CNY": "¥"}


def currency_symbol(currency: str | None) -> str:
    """The symbol written in front of an amount: a known code's symbol, a one-character
    currency as given ("$"), else "" (the code then follows the amount).

    Examples
    --------
    >>> currency_symbol("eur"), currency_symbol("$"), currency_symbol("CHF")
    ('€', '$', '')
    """
    code = (currency or "").strip()
    return CURRENCY_SYMBOLS.get(code.upper(), code if len(code) == 1 else "")


def format_money(value: float | None, currency: str | None = "", *,
                 decimals: int | None = None, sign: bool = False) -> str:
    """A money amount with its currency, for report text and chart labels.

    Known currency codes (and one-character currencies) go in front (EUR 1234.5 ->
    "€1,234"); other codes follow the number ("1,234.50 CHF"); an empty code shows the
    number alone. Large amounts lose their cents (``decimals`` defaults to 0 from 1,000 up,
    else 2). An amount that rounds to zero never shows a sign ("-0.00" cannot happen);
    ``sign=True`` writes "+" before a positive amount (a change).

    Examples
    --------
    >>> format_money(1234.5, "EUR"), format_money(12.5, "GBP"), format_money(99, "CHF")
    ('€1,234', '£12.50', '99.00 CHF')
    >>> format_money(-5.25, "USD"), format_money(None, "USD"), format_money(-0.001, "USD")
    ('-$5.25', 'n/a', '$0.00')
    >>> format_money(20, "GBP", sign=True), format_money(-1234, "GEL", sign=True)
    ('+£20.00', '-1,234 GEL')
    """
    if value is None or not np.isfinite(float(value)):
        return "n/a"
    value = float(value)
    if decimals is None:
        decimals = 0 if abs(value) >= 1000 else 2
    number = f"{abs(value):,.{decimals}f}"
    rounded_zero = float(number.replace(",", "")) == 0
    mark = "" if rounded_zero else ("-" if value < 0 else ("+" if sign else ""))
    symbol = currency_symbol(currency)
    if symbol:
        return f"{mark}{symbol}{number}"
    return f"{mark}{number} {(currency or '').strip()}".rstrip()
