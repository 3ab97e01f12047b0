"""Transaction logs in, per-customer summaries out.

This is the only layer that reads raw transaction logs. It validates them (with one
error template: what is wrong, how many rows, the first example, how to fix it),
and summarises them into

* the BTYD summary (:func:`rfm_summary`): ``frequency``, ``recency``, ``T`` and
  ``monetary_value`` as the BG/NBD, Pareto/NBD and Gamma-Gamma papers define them;
* the segmentation summary (:func:`rfm_segmentation_summary`): all purchases,
  time since the last one, total and mean spend, for RFM scoring. Its columns are
  named differently on purpose, so it cannot be fed to a BTYD model by mistake;
* a calibration/holdout split (:func:`calibration_holdout_split`) for validating
  models on purchases they have not seen.

No function here modifies the DataFrame it is given.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from . import _checks as checks
from . import engines
from ._checks import (
    SUMMARY_COLUMNS,
    first_example,
    nonnegative_columns,
    require_columns,
)
from .errors import DataError
from .units import TIME_UNITS, TimeUnit, elapsed, to_naive_timestamp

__all__ = [
    "TIME_UNITS",
    "calibration_holdout_split",
    "prepare_transactions",
    "rfm_segmentation_summary",
    "rfm_summary",
    "validate_summary",
]


def _looks_like_summary(df: pd.DataFrame) -> bool:
    return all(c in df.columns for c in SUMMARY_COLUMNS)


def _numeric_dates(df: pd.DataFrame, date_col: str, shown: list[str]) -> DataError:
    values = df[date_col].to_numpy(dtype=float)
    return checks.numeric_dates(date_col, len(df), first_example(df, np.ones(len(df), bool),
                                                                 shown),
                                float(np.nanmin(values)), float(np.nanmax(values)))


def _parse_dates(df: pd.DataFrame, date_col: str, customer_col: str) -> pd.Series:
    """The purchase dates as naive datetime64, by the rules the engines share.

    Refused, in this order: missing dates; timezone-aware dates (one rule on every engine:
    never converted, see :func:`retention_kit._checks.aware_dates`); numbers (epoch seconds,
    Excel serials, ids: never read as nanoseconds since 1970); day and month written as numbers
    (03/04/2024: the order must be declared); text that does not parse; dates more than a
    year after today.
    """
    raw = df[date_col]
    shown = [customer_col, date_col]
    missing = raw.isna()
    if missing.any():
        raise checks.missing_dates(date_col, int(missing.sum()),
                                   first_example(df, missing, shown))
    everything = np.ones(len(df), dtype=bool)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raise checks.aware_dates(date_col, len(df), first_example(df, everything, shown))
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.astype("datetime64[ns]")
    elif pd.api.types.is_bool_dtype(raw):
        raise checks.not_dates(date_col, "boolean")
    elif pd.api.types.is_numeric_dtype(raw):
        raise _numeric_dates(df, date_col, shown)
    else:
        if pd.api.types.is_string_dtype(raw) and raw.dtype != object:  # text only: no loops
            is_text = np.ones(len(raw), dtype=bool)
            aware = is_number = np.zeros(len(raw), dtype=bool)
            text = raw.str
        else:
            values = raw.to_numpy(dtype=object)
            aware = np.array([getattr(v, "tzinfo", None) is not None for v in values])
            is_number = np.array([isinstance(v, int | float | np.number)
                                  and not isinstance(v, bool | np.bool_) for v in values])
            is_text = np.array([isinstance(v, str) for v in values])
            text = pd.Series(np.where(is_text, values, ""), index=raw.index, dtype=object).str
        if not aware.any():
            aware = is_text & text.contains(checks.AWARE_PATTERN, regex=True).to_numpy(bool)
        if aware.any():
            raise checks.aware_dates(date_col, int(aware.sum()),
                                     first_example(df, aware, shown))
        is_number |= is_text & text.match(checks.NUMBER_PATTERN).to_numpy(bool)
        if is_number.any():
            numbers = pd.to_numeric(raw[is_number], errors="coerce")
            raise checks.numeric_dates(
                date_col, int(is_number.sum()), first_example(df, is_number, shown),
                float(numbers.min()), float(numbers.max()))
        day_month = is_text & text.contains(checks.DAY_MONTH_PATTERN, regex=True).to_numpy(bool)
        if day_month.any():
            first = pd.to_numeric(text.extract(r"^\s*(\d{1,2})", expand=False),
                                  errors="coerce")
            raise checks.ambiguous_dates(date_col, int(day_month.sum()),
                                         first_example(df, day_month, shown),
                                         day_first_seen=bool((first[day_month] > 12).any()))
        try:
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
        except (TypeError, ValueError) as exc:  # pragma: no cover - pandas-version specific
            raise checks.unparseable_dates(
                date_col, len(df), first_example(df, everything, shown)) from exc
        bad = parsed.isna()
        if bad.any():
            raise checks.unparseable_dates(
                date_col, int(bad.sum()), first_example(df, bad, shown))
        parsed = parsed.astype("datetime64[ns]")
    today = pd.Timestamp.now().normalize()
    ahead = (parsed > today + pd.Timedelta(days=checks.MAX_DAYS_AHEAD)).to_numpy()
    if ahead.any():
        raise checks.future_dates(date_col, int(ahead.sum()), first_example(df, ahead, shown),
                                  today)
    return parsed


def _check_ids(df: pd.DataFrame, customer_col: str, date_col: str) -> None:
    """Customer ids of one kind: not dates (swapped columns), not numbers mixed with text."""
    ids = df[customer_col]
    shown = [customer_col, date_col]
    if pd.api.types.is_datetime64_any_dtype(ids):
        raise checks.dates_as_ids(customer_col, len(df),
                                  first_example(df, np.ones(len(df), bool), shown))
    if ids.dtype != object:
        return
    values = ids.to_numpy(dtype=object)
    is_text = np.array([isinstance(v, str) for v in values])
    if is_text.any() and not is_text.all():
        minority = ~is_text if is_text.sum() * 2 >= len(values) else is_text
        raise checks.mixed_ids(customer_col, int(minority.sum()),
                               first_example(df, minority, shown))
    stamps = np.array([isinstance(v, pd.Timestamp | np.datetime64) for v in values])
    if stamps.any():
        raise checks.dates_as_ids(customer_col, int(stamps.sum()),
                                  first_example(df, stamps, shown))


def _amounts(transactions: pd.DataFrame, amount_col: str, customer_col: str,
             date_col: str) -> np.ndarray:
    """The spend per purchase as finite, non-negative floats below MAX_AMOUNT."""
    raw = transactions[amount_col]
    shown = [customer_col, amount_col]
    if pd.api.types.is_bool_dtype(raw):
        flags = np.ones(len(raw), dtype=bool)
    elif raw.dtype == object:
        flags = np.array([isinstance(v, bool | np.bool_) for v in raw.to_numpy(dtype=object)])
    else:
        flags = np.zeros(len(raw), dtype=bool)
    if flags.any():
        raise checks.boolean_amounts(amount_col, int(flags.sum()),
                                     first_example(transactions, flags, shown))
    amount = pd.to_numeric(raw, errors="coerce")
    bad = amount.isna()
    if bad.any():
        raise checks.bad_amounts(amount_col, int(bad.sum()),
                                 first_example(transactions, bad, shown),
                                 all_missing=bool(raw.isna()[bad].all()))
    values = amount.to_numpy(dtype=float)
    huge = np.abs(values) >= checks.MAX_AMOUNT
    if huge.any():
        raise checks.huge_amounts(amount_col, int(huge.sum()),
                                  first_example(transactions, huge, shown))
    negative = values < 0
    if negative.any():
        raise checks.negative_amounts(
            amount_col, int(negative.sum()),
            first_example(transactions, negative, [customer_col, date_col, amount_col]))
    return values


# --------------------------------------------------------------------------- validation


def prepare_transactions(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    observation_end: object = None,
    after_end: Literal["raise", "drop"] = "raise",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Validate a transaction log and return a clean copy and the observation end.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase. Not modified.
    customer_col, date_col : str
        Names of the customer id and purchase date columns.
    amount_col : str, optional
        Name of the spend column, if any. Negative amounts (refunds) are rejected.
    observation_end : date-like, optional
        End of the observation window (inclusive: purchases on that day count).
        Defaults to the last purchase date.
    after_end : {"raise", "drop"}, default "raise"
        What to do with purchases after ``observation_end``. Dropping them is
        what a calibration period needs; :func:`calibration_holdout_split` keeps
        them as the holdout instead.
    duplicates : {"raise", "keep", "drop"}, default "raise"
        Rows identical in every column are usually a double load; "keep" them
        when they are genuine repeat orders (the CDNOW logs have some).

    Returns
    -------
    clean : DataFrame
        Columns ``customer``, ``date`` (naive datetime64) and, with an amount
        column, ``amount`` (float), on a fresh RangeIndex.
    observation_end : Timestamp

    Raises
    ------
    DataError
        Empty input, a per-customer summary passed instead of transactions,
        missing columns (with the closest name), missing customer ids, ids that
        mix numbers and text (1 and "1") or are dates (swapped columns),
        duplicate rows, missing or unparseable dates, dates that are numbers
        (epoch seconds, Excel serials: never read as 1970), day and month written
        as numbers (03/04/2024: declare the order), timezone-aware dates, dates
        more than a year after today, non-numeric, boolean, missing, infinite,
        absurd (1e12 or more) or negative amounts, purchases after the
        observation end. DuckDB and Spark (:mod:`retention_kit.engines`) apply
        the same rules with the same messages.

    Notes
    -----
    One date rule on every engine: dates must be naive wall-clock times in ISO form (or
    date/timestamp columns). Timezone-aware dates are refused, not converted (pandas would
    keep each value's wall time, DuckDB would convert to its session zone). Other formats
    are declared, never guessed: parse the column with :func:`pandas.to_datetime`
    (``dayfirst=True``, ``unit="s"``, ``format=...``) or clean the raw export with
    :func:`retention_kit.ingest.clean_transactions` and its ``date_format`` and
    ``timezone``.

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                     "date": ["2024-01-01", "2024-01-05", "2024-01-03"]})
    >>> clean, end = prepare_transactions(log)
    >>> list(clean.columns), str(end.date())
    (['customer', 'date'], '2024-01-05')
    """
    if not isinstance(transactions, pd.DataFrame):
        raise DataError(
            f"transactions must be a pandas DataFrame, got {type(transactions).__name__}",
            fix="build one with pd.DataFrame(...) or pd.read_csv(...)",
        )
    checks.log_options(after_end=after_end, duplicates=duplicates)
    if len(transactions) == 0:
        raise checks.empty_log()
    if _looks_like_summary(transactions) and date_col not in transactions.columns:
        raise checks.summary_not_log(len(transactions))
    needed = {customer_col: "customer_col (customer id)", date_col: "date_col (purchase date)"}
    if amount_col is not None:
        needed[amount_col] = "amount_col (spend per purchase)"
    require_columns(transactions, needed, what="the transaction log")

    no_id = transactions[customer_col].isna()
    if no_id.any():
        raise checks.missing_ids(customer_col, int(no_id.sum()),
                                 first_example(transactions, no_id, [customer_col, date_col]))
    _check_ids(transactions, customer_col, date_col)

    if duplicates != "keep":
        dup = transactions.duplicated(keep="first")
        if dup.any() and duplicates == "raise":
            raise checks.identical_rows(
                int(dup.sum()),
                first_example(transactions, dup, [str(c) for c in transactions.columns]))
    else:
        dup = None

    dates = _parse_dates(transactions, date_col, customer_col)
    out = pd.DataFrame({"customer": transactions[customer_col].to_numpy(),
                        "date": dates.to_numpy()})

    if amount_col is not None:
        out["amount"] = _amounts(transactions, amount_col, customer_col, date_col)

    if dup is not None and dup.any():  # duplicates == "drop"
        out = out.loc[~dup.to_numpy()].reset_index(drop=True)

    if observation_end is None:
        end = out["date"].max()
    else:
        end = to_naive_timestamp(observation_end, "observation_end")  # refuses aware dates
    # Purchases are counted by day: anything on the observation end's day is inside.
    cutoff = end.normalize() + pd.Timedelta(days=1)
    late = (out["date"] >= cutoff).to_numpy()
    if late.any():
        if after_end == "raise":
            raise checks.purchases_after_end(
                end, int(late.sum()), first_example(transactions, late, [customer_col, date_col]))
        out = out.loc[~late].reset_index(drop=True)
        if out.empty:
            raise checks.nothing_before_end(end)
    return out, end


def purchase_periods(clean: pd.DataFrame, merge_period: str) -> pd.DataFrame:
    """One row per customer and purchase period (same-period purchases merged).

    Sorted by customer then period; columns ``customer``, ``date`` (period start),
    ``n`` (purchases merged) and, with amounts, ``amount`` (their sum). Customers
    are sorted with :func:`pandas.factorize`, so the order matches ``groupby``.
    """
    dates = clean["date"]
    try:
        if merge_period == "D":
            start = dates.dt.normalize()
        else:
            start = dates.dt.to_period(merge_period).dt.start_time
    except (ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"merge_period={merge_period!r} is not a pandas period alias",
                        fix="use 'D' (same-day purchases merged), 'h', 'W' or 'M'") from exc
    codes, customers = pd.factorize(clean["customer"], sort=True)
    ticks = start.to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((ticks, codes))
    codes, ticks = codes[order], ticks[order]
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = (codes[1:] != codes[:-1]) | (ticks[1:] != ticks[:-1])
    bounds = np.flatnonzero(starts)
    out = pd.DataFrame({
        "customer": customers.take(codes[bounds]),
        "date": ticks[bounds].view("datetime64[ns]"),
        "n": np.diff(np.append(bounds, len(codes))),
    })
    if "amount" in clean.columns:
        out["amount"] = np.add.reduceat(clean["amount"].to_numpy()[order], bounds) \
            if len(bounds) else np.array([], dtype=float)
    return out


def _per_customer(periods: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Customers, index of their first period row, first and last period start.

    ``periods`` must come from :func:`purchase_periods` (sorted by customer, date).
    """
    cust = periods["customer"].to_numpy()
    first_row = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    last_row = np.r_[first_row[1:] - 1, len(cust) - 1]
    dates = periods["date"].to_numpy()
    return pd.Index(cust[first_row]), first_row, dates[first_row], dates[last_row]


# --------------------------------------------------------------------------- summaries


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    observation_end: object = None,
    time_unit: TimeUnit = "D",
    merge_period: str = "D",
    after_end: Literal["raise", "drop"] = "raise",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
) -> pd.DataFrame:
    """Summarise a transaction log into the BTYD per-customer summary.

    For each customer, with purchases merged by ``merge_period`` (same day by
    default) and times measured from the customer's first purchase:

    * ``frequency`` x: number of *repeat* purchase periods (all periods minus 1);
    * ``recency`` t_x: age of the customer at the last purchase (0 if x = 0);
    * ``T``: age of the customer at ``observation_end``;
    * ``monetary_value`` (with ``amount_col``): mean spend of the repeat purchase
      periods (the first purchase excluded, as in Fader, Hardie & Lee 2005,
      "RFM and CLV"); 0 when frequency is 0.

    These are the inputs of the BG/NBD, Pareto/NBD and Gamma-Gamma models. The
    first purchase is not a repeat purchase; that is why frequency starts at 0.

    Parameters
    ----------
    transactions : DataFrame, path, ibis.Table or pyspark.sql.DataFrame
        One row per purchase; not modified. A path (glob or list of paths) to
        Parquet or CSV files, an Ibis table or a Spark DataFrame is summarised by
        its engine (DuckDB for files), see :mod:`retention_kit.engines`.
    customer_col, date_col, amount_col : str
        Column names; ``amount_col=None`` gives no ``monetary_value``.
    observation_end : date-like, optional
        Last day observed (inclusive); defaults to the last purchase date.
    time_unit : {"D", "W", "M", "Q", "Y"}, default "D"
        Unit of ``recency`` and ``T``. "D" and "W" are exact durations (weeks =
        days / 7, fractional); "M", "Q" and "Y" count calendar period boundaries
        crossed: 1 and 31 January are 0 months apart, 31 January and
        1 February are 1 month apart.
    merge_period : str, default "D"
        Purchases of one customer within one such period count as one (pandas
        period alias: "D", "h", "W", "M"...).
    after_end : {"raise", "drop"}, default "raise"
        Purchases after ``observation_end`` raise, or are dropped.
    duplicates : {"raise", "keep", "drop"}, default "raise"
        Rows identical in every column: raise, keep (genuine repeat orders), drop.

    Returns
    -------
    DataFrame
        Indexed by customer id (named ``customer_col``), sorted, with
        ``frequency`` (int), ``recency`` and ``T`` (float, in ``time_unit``) and
        optionally ``monetary_value``. ``attrs`` records ``time_unit`` and
        ``observation_end``.

    Examples
    --------
    Customer 1 of the CDNOW sample bought on 1 January, 18 January and 2 August
    1997; with the papers' calibration end of 30 September 1997, in weeks:

    >>> from retention_kit.datasets import load_cdnow_transactions
    >>> log = load_cdnow_transactions(sample=True)
    >>> s = rfm_summary(log, amount_col="amount", observation_end="1997-09-30",
    ...                 time_unit="W", after_end="drop", duplicates="keep")
    >>> s.loc[1].round(2).tolist()
    [2.0, 30.43, 38.86, 22.34]
    >>> len(s), int(s["frequency"].sum())
    (2357, 2457)
    """
    if engines.is_engine_input(transactions):

        return engines.rfm_summary(
            transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
            observation_end=observation_end, time_unit=time_unit, merge_period=merge_period,
            after_end=after_end, duplicates=duplicates)
    clean, end = prepare_transactions(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        observation_end=observation_end, after_end=after_end, duplicates=duplicates)
    periods = purchase_periods(clean, merge_period)
    index, first_row, first, last = _per_customer(periods)
    n_periods = np.diff(np.append(first_row, len(periods)))
    first, last = pd.Series(first), pd.Series(last)
    out = pd.DataFrame({
        "frequency": (n_periods - 1).astype("int64"),
        "recency": elapsed(last, first, time_unit),
        "T": elapsed(end.normalize(), first, time_unit),
    }, index=index)
    if "amount" in periods.columns:
        spend = np.add.reduceat(periods["amount"].to_numpy(), first_row)
        repeat_spend = spend - periods["amount"].to_numpy()[first_row]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_repeat = np.where(n_periods > 1, repeat_spend / (n_periods - 1), 0.0)
        out["monetary_value"] = mean_repeat
    out.index.name = customer_col
    out.attrs.update(kind="btyd_summary", time_unit=time_unit,
                     observation_end=str(end.date()), merge_period=merge_period)
    return out


def rfm_segmentation_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    observation_end: object = None,
    time_unit: TimeUnit = "D",
    merge_period: str = "D",
    after_end: Literal["raise", "drop"] = "raise",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
) -> pd.DataFrame:
    """Per-customer summary for RFM *segmentation* (not for BTYD models).

    Marketers' RFM counts every purchase and measures recency backwards from
    today, unlike the BTYD summary of :func:`rfm_summary` (repeat purchases only,
    recency measured from the first purchase). The columns are named differently
    so the two cannot be confused:

    * ``since_last``: time from the last purchase to ``observation_end``;
    * ``purchases``: number of purchase periods, the first one included;
    * ``tenure``: time from the first purchase to ``observation_end``;
    * ``total_spend`` and ``mean_spend`` (with ``amount_col``): over all purchases.

    Parameters are those of :func:`rfm_summary`.

    Returns
    -------
    DataFrame
        Indexed by customer id. ``attrs["kind"]`` is ``"segmentation_summary"``.

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                     "date": ["2024-01-01", "2024-03-01", "2024-02-15"],
    ...                     "amount": [10.0, 30.0, 5.0]})
    >>> rfm_segmentation_summary(log, amount_col="amount", observation_end="2024-03-31")
                 since_last  purchases  tenure  total_spend  mean_spend
    customer_id
    a                  30.0          2    90.0         40.0        20.0
    b                  45.0          1    45.0          5.0         5.0
    """
    clean, end = prepare_transactions(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        observation_end=observation_end, after_end=after_end, duplicates=duplicates)
    periods = purchase_periods(clean, merge_period)
    index, first_row, first, last = _per_customer(periods)
    n_periods = np.diff(np.append(first_row, len(periods)))
    out = pd.DataFrame({
        "since_last": elapsed(end.normalize(), pd.Series(last), time_unit),
        "purchases": n_periods.astype("int64"),
        "tenure": elapsed(end.normalize(), pd.Series(first), time_unit),
    }, index=index)
    if "amount" in periods.columns:
        out["total_spend"] = np.add.reduceat(periods["amount"].to_numpy(), first_row)
        out["mean_spend"] = out["total_spend"] / out["purchases"]
    out.index.name = customer_col
    out.attrs.update(kind="segmentation_summary", time_unit=time_unit,
                     observation_end=str(end.date()), merge_period=merge_period)
    return out


def calibration_holdout_split(
    transactions: pd.DataFrame,
    *,
    calibration_end: object,
    observation_end: object = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    time_unit: TimeUnit = "D",
    merge_period: str = "D",
    duplicates: Literal["raise", "keep", "drop"] = "raise",
) -> pd.DataFrame:
    """Calibration summary plus what each customer did in the holdout period.

    Fit a model on the calibration columns, predict purchases over
    ``duration_holdout`` and compare with ``frequency_holdout``. Only customers
    whose first purchase falls in the calibration period are kept: customers
    acquired during the holdout have no calibration history (their number is in
    ``attrs["n_holdout_only_customers"]``).

    Parameters
    ----------
    calibration_end : date-like
        Last day of the calibration period (inclusive).
    observation_end : date-like, optional
        Last day of the holdout period (inclusive); defaults to the last purchase.
        Purchases after it raise.
    Other parameters are those of :func:`rfm_summary` (``transactions`` may
    also be a path, an Ibis table or a Spark DataFrame).

    Returns
    -------
    DataFrame
        The :func:`rfm_summary` columns for the calibration period, plus
        ``frequency_holdout`` (purchase periods in the holdout; all count, as
        every holdout purchase is a repeat purchase), ``duration_holdout``
        (holdout length in ``time_unit``) and, with amounts,
        ``monetary_value_holdout`` (mean spend per holdout purchase period, 0 if
        none).

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3],
    ...                     "date": ["2024-01-01", "2024-01-10", "2024-02-05",
    ...                              "2024-01-20", "2024-02-10"]})
    >>> calibration_holdout_split(log, calibration_end="2024-01-31",
    ...                           observation_end="2024-02-29")
                 frequency  recency     T  frequency_holdout  duration_holdout
    customer_id
    1                    1      9.0  30.0                  1              29.0
    2                    0      0.0  11.0                  0              29.0
    """
    if engines.is_engine_input(transactions):

        return engines.calibration_holdout_split(
            transactions, calibration_end=calibration_end, observation_end=observation_end,
            customer_col=customer_col, date_col=date_col, amount_col=amount_col,
            time_unit=time_unit, merge_period=merge_period, duplicates=duplicates)
    clean, end = prepare_transactions(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        observation_end=observation_end, after_end="raise", duplicates=duplicates)
    cal_end = to_naive_timestamp(calibration_end, "calibration_end").normalize()
    if cal_end >= end.normalize():
        raise DataError(
            f"calibration_end {cal_end.date()} is not before observation_end {end.date()}",
            fix="choose a calibration_end inside the data so a holdout period remains")
    in_cal = clean["date"] < cal_end + pd.Timedelta(days=1)
    if not in_cal.any():
        raise DataError(f"no purchases on or before calibration_end {cal_end.date()}",
                        n_rows=0, fix="choose a later calibration_end")
    cal = clean.loc[in_cal]
    frame = cal.rename(columns={"customer": customer_col})
    summary = rfm_summary(frame, customer_col=customer_col, date_col="date",
                          amount_col="amount" if amount_col else None,
                          observation_end=cal_end, time_unit=time_unit,
                          merge_period=merge_period, duplicates="keep")
    hold = clean.loc[~in_cal]
    known = hold["customer"].isin(summary.index)
    hold_periods = purchase_periods(hold.loc[known], merge_period)
    grouped = hold_periods.groupby("customer")
    summary["frequency_holdout"] = grouped.size().reindex(summary.index).fillna(0).astype("int64")
    if amount_col is not None:
        summary["monetary_value_holdout"] = (
            grouped["amount"].mean().reindex(summary.index).fillna(0.0))
    summary["duration_holdout"] = float(
        elapsed(end.normalize(), pd.Series([cal_end]), time_unit)[0])
    order = ["frequency", "recency", "T", "monetary_value", "frequency_holdout",
             "monetary_value_holdout", "duration_holdout"]
    summary = summary[[c for c in order if c in summary.columns]]
    summary.attrs.update(kind="btyd_calibration_holdout", calibration_end=str(cal_end.date()),
                         observation_end=str(end.date()),
                         n_holdout_only_customers=int(hold.loc[~known, "customer"].nunique()))
    return summary


def validate_summary(
    summary: pd.DataFrame,
    *,
    columns: tuple[str, ...] = SUMMARY_COLUMNS,
    weights: str | None = None,
    integer_columns: tuple[str, ...] | None = None,
) -> None:
    """Check a per-customer BTYD summary before a model sees it.

    Raises a :class:`DataError` for: not a DataFrame, empty, a transaction log
    or a segmentation summary passed instead, missing columns (with the closest
    name), missing or non-numeric values, negative values, non-integer
    frequency, recency greater than T, and recency 0 with a positive frequency.

    Parameters
    ----------
    summary : DataFrame
        One row per customer.
    columns : tuple of str, default ("frequency", "recency", "T")
        Columns the caller needs.
    weights : str, optional
        Name of a weights column to check as well.
    integer_columns : tuple of str, optional
        Columns that must hold whole numbers; default: ``frequency`` if requested.

    Examples
    --------
    >>> ok = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 3.5], "T": [5.0, 6.0]})
    >>> validate_summary(ok)
    >>> validate_summary(ok.assign(recency=[0.0, 7.0]))
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: recency is greater than T. Rows affected: 1. First example:
    row 1: frequency=2, recency=7.0, T=6.0. How to fix: recency is the age at the last ...
    """
    if not isinstance(summary, pd.DataFrame):
        raise DataError(f"the summary must be a pandas DataFrame, got {type(summary).__name__}",
                        fix="build it with retention_kit.data.rfm_summary(transactions)")
    if len(summary) == 0:
        raise DataError("the summary is empty", n_rows=0, fix="check the filter that produced it")
    if summary.attrs.get("kind") == "segmentation_summary" or (
            "since_last" in summary.columns and "frequency" not in summary.columns):
        raise DataError(
            "this is a segmentation summary (all purchases, time since last), which BTYD "
            "models must not be fitted on",
            n_rows=len(summary),
            fix="build the model input with rfm_summary(): frequency counts repeat purchases "
            "and recency is the age at the last purchase")
    if not all(c in summary.columns for c in columns) and (
            any(c in summary.columns for c in ("date", "customer_id"))
            or summary.index.has_duplicates):
        raise DataError(
            "this looks like a transaction log (one row per purchase), not a per-customer summary",
            n_rows=len(summary),
            fix="summarise it first with retention_kit.data.rfm_summary(transactions)")
    needed = {c: f"{c} column" for c in columns}
    if weights is not None:
        needed[weights] = "weights column"
    require_columns(summary, needed, what="the summary")
    cols = list(needed)
    if integer_columns is None:
        integer_columns = tuple(c for c in ("frequency",) if c in columns)
    nonnegative_columns(summary, cols, integer=integer_columns,
                        negative_fix="these columns cannot be negative; rebuild the summary "
                        "(refunds are netted against purchases before summarising)")
    if "recency" in columns and "T" in columns:
        over = summary["recency"].astype(float) > summary["T"].astype(float) + 1e-9
        if over.any():
            raise DataError(
                "recency is greater than T",
                n_rows=int(over.sum()), example=first_example(summary, over, cols),
                fix="recency is the age at the last purchase and T the age at the end of "
                "observation, so recency <= T; check that both use the same time unit and "
                "observation end")
        if "frequency" in columns:
            odd = (summary["frequency"].astype(float) > 0) & (summary["recency"].astype(float) == 0)
            if odd.any():
                raise DataError(
                    "customers with repeat purchases have recency 0",
                    n_rows=int(odd.sum()), example=first_example(summary, odd, cols),
                    fix="recency must be measured from the first purchase; use a finer time_unit "
                    "or merge_period so repeat purchases have positive recency")
