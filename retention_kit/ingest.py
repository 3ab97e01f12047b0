"""Real-world logs in: a transaction spec, the rules it applies, and a data-quality report.

A raw export from a shop system is rarely one row per purchase. It has order *lines*
(several rows per order, sometimes identical ones), cancellations and returns as negative
lines, guest checkouts without a customer id, postage and fee lines that are not products,
free samples at price zero, dates in a local format and amounts with currency symbols. A
:class:`TransactionSpec` names the columns and says, for each of those, what to do; every
policy has a safe default that never loses real revenue silently. :func:`clean_transactions`
applies it and returns a :class:`CleanLog`: one row per order (``customer_id``, ``date``,
``amount``, ``order_id``, ``n_lines``), ready for :func:`~retention_kit.data.rfm_summary`,
and a :class:`DataQualityReport` with every rule applied (rows and revenue affected, first
example), the window the log covers and the warnings a human must read.

The rules run in this order, each on what the previous ones kept:

1. ``missing_customer``: rows without a customer id (guest checkouts): ``drop`` or ``raise``;
2. ``excluded_products``: lines whose product code is in ``exclude_products`` (postage,
   fees, bad-debt adjustments);
3. ``zero_price``: lines worth exactly 0 (free samples): ``drop``, ``keep`` or ``raise``;
4. ``negative_price``: lines with a negative unit price (manual adjustments, not returns):
   ``drop`` or ``raise``;
5. ``order_lines``: purchase lines summed into one row per order (per order id, or per
   customer and timestamp without one); identical lines are kept and summed, never dropped,
   and counted in ``identical_lines`` (lines identical in every column to an earlier line
   of their order, with their revenue: informational, nothing is removed);
6. ``returns``: negative lines and orders whose id starts with ``cancellation_prefix``.
   ``net`` subtracts each return from the order it references (``C536379`` references
   ``536379``) or else from the customer's latest earlier orders; an order returned in full
   is no longer a purchase. ``drop`` ignores returns; ``keep`` keeps them as rows of
   negative revenue (for revenue reporting; the BTYD summaries refuse them);
7. ``unmatched_returns``: the part of a return with no earlier purchase of the customer to
   net against (bought before the log starts): ``drop`` or ``raise``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import engines
from ._checks import (
    choice,
    closest,
    empty_log,
    first_example,
    missing_dates,
    plain,
    require_columns,
)
from .data import rfm_summary
from .errors import DataError, data_error
from .ingest_netting import net_returns
from .ingest_rules import (
    RULE_COLUMNS,
    Ledger,
    StagedLog,
    identical_line_columns,
    int_ids,
    sorted_by_two_then_pandas,
)
from .units import to_naive_timestamp

__all__ = ["CleanLog", "CleanSummary", "DataQualityReport", "TransactionSpec",
           "clean_rfm_summary", "clean_transactions"]

DateFormat = Literal["iso", "dayfirst", "monthfirst", "epoch_s", "epoch_ms", "excel"]

_POLICIES: dict[str, tuple[str, ...]] = {
    "order_lines": ("sum", "keep"),
    "returns": ("net", "drop", "keep"),
    "unmatched_returns": ("drop", "raise"),
    "missing_customer": ("drop", "raise"),
    "zero_price": ("drop", "keep", "raise"),
    "negative_price": ("drop", "raise"),
}
_DATE_FORMATS = ("iso", "dayfirst", "monthfirst", "epoch_s", "epoch_ms", "excel")
#: Excel's day 0 (its serial dates count days from 1899-12-30, with the 1900 leap-year bug).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass(frozen=True)
class TransactionSpec:
    """Which columns of a raw log mean what, and what to do with each kind of odd row.

    Give either ``amount`` (money per row) or ``quantity`` and ``unit_price`` (the amount
    is their product). The same keys work in a client's ``client.json`` (under
    ``"spec"``) and, through :meth:`from_dict`, anywhere a mapping is at hand.

    Parameters
    ----------
    customer, date : str
        The customer id and the purchase timestamp columns.
    amount : str, optional
        Money per row (purchases positive, returns negative).
    quantity, unit_price : str, optional
        Instead of ``amount``: items per line (negative for returns) and price per item.
    order : str, optional
        The order (invoice) id; without it, the lines of one customer at one timestamp
        are one order.
    product : str, optional
        The product (stock) code, needed for ``exclude_products``.
    channel, country : str, optional
        Kept per order (first line's value); a customer id seen in two countries is
        reported as a warning.
    order_lines : {"sum", "keep"}, default "sum"
        Sum the lines of an order into one purchase, or keep every row as a purchase.
    returns : {"net", "drop", "keep"}, default "net"
    unmatched_returns : {"drop", "raise"}, default "drop"
    missing_customer : {"drop", "raise"}, default "drop"
    zero_price : {"drop", "keep", "raise"}, default "drop"
    negative_price : {"drop", "raise"}, default "drop"
    cancellation_prefix : str, optional
        An order id starting with it is a cancellation (``"C"`` in many retail exports);
        its lines are returns whatever their sign.
    exclude_products : tuple of str, default ()
        Product codes that are not products (``("POST", "DOT", "M", "BANK CHARGES")``).
    date_format : str, default "iso"
        ``"iso"``, ``"dayfirst"`` (31/12/2024), ``"monthfirst"`` (12/31/2024),
        ``"epoch_s"``, ``"epoch_ms"``, ``"excel"`` (serial day numbers), or a
        :func:`~datetime.datetime.strptime` format such as ``"%d.%m.%Y %H:%M"``.
    timezone : str, optional
        The zone whose wall-clock time the analysis uses: zone-aware timestamps (and epoch
        numbers, which are UTC) are converted to it; naive ones are taken as already in it.
    decimal : {".", ","}, default "."
        The decimal mark of amounts stored as text (the other mark is read as a thousands
        separator; currency symbols and spaces are ignored).

    Examples
    --------
    >>> spec = TransactionSpec.from_dict({"customer": "CustomerID", "date": "InvoiceDate",
    ...     "quantity": "Quantity", "unit_price": "UnitPrice", "order": "InvoiceNo",
    ...     "cancellation_prefix": "C", "date_format": "dayfirst"})
    >>> spec.amount is None, spec.returns, spec.missing_customer
    (True, 'net', 'drop')
    """

    customer: str = "customer_id"
    date: str = "date"
    amount: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    order: str | None = None
    product: str | None = None
    channel: str | None = None
    country: str | None = None
    order_lines: Literal["sum", "keep"] = "sum"
    returns: Literal["net", "drop", "keep"] = "net"
    unmatched_returns: Literal["drop", "raise"] = "drop"
    missing_customer: Literal["drop", "raise"] = "drop"
    zero_price: Literal["drop", "keep", "raise"] = "drop"
    negative_price: Literal["drop", "raise"] = "drop"
    cancellation_prefix: str | None = None
    exclude_products: tuple[str, ...] = ()
    date_format: str = "iso"
    timezone: str | None = None
    decimal: Literal[".", ","] = "."

    def __post_init__(self) -> None:
        for name, allowed in _POLICIES.items():
            choice(name, getattr(self, name), allowed)
        choice("decimal", self.decimal, (".", ","))
        if self.date_format not in _DATE_FORMATS and "%" not in str(self.date_format):
            choice("date_format", self.date_format, _DATE_FORMATS + ("a strptime format",))
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise DataError(
                "the spec names no amount: give amount, or quantity and unit_price",
                fix="pass amount='<column>' (money per row), or quantity='<column>' and "
                "unit_price='<column>' (CLI: --map amount=<column>)")
        if self.amount is not None and (self.quantity or self.unit_price):
            raise DataError("the spec names both amount and quantity/unit_price",
                            fix="keep one: amount, or quantity and unit_price")
        if isinstance(self.exclude_products, str):
            object.__setattr__(self, "exclude_products", (self.exclude_products,))
        object.__setattr__(self, "exclude_products",
                           tuple(str(c) for c in self.exclude_products))
        if self.exclude_products and self.product is None:
            raise DataError("exclude_products needs the product column",
                            fix="name it with product='<column>' (CLI: --map product=<column>)")

    @classmethod
    def from_dict(cls, mapping: dict[str, Any]) -> TransactionSpec:
        """A spec from a mapping (``client.json``'s ``"spec"``, CLI flags); unknown keys fail.

        Examples
        --------
        >>> TransactionSpec.from_dict({"custmer": "id", "amount": "total"})
        Traceback (most recent call last):
        ...
        retention_kit.errors.DataError: the spec has an unknown key 'custmer'. How to fix: did
        you mean 'customer'? the keys are customer, date, amount, quantity, unit_price, order,
        product, channel, country, order_lines, returns, unmatched_returns, missing_customer,
        zero_price, negative_price, cancellation_prefix, exclude_products, date_format,
        timezone, decimal.
        """
        if not isinstance(mapping, dict):
            raise TypeError(f"a spec is a mapping of keys to values, got {type(mapping).__name__}")
        keys = [f.name for f in fields(cls)]
        for key in mapping:
            if key not in keys:
                hint = closest(str(key), keys)
                raise DataError(f"the spec has an unknown key {key!r}",
                                fix=(f"did you mean {hint!r}? " if hint else "")
                                + f"the keys are {', '.join(keys)}")
        values = dict(mapping)
        if "exclude_products" in values and not isinstance(values["exclude_products"], str):
            values["exclude_products"] = tuple(values["exclude_products"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready keys (the inverse of :meth:`from_dict`)."""
        out = asdict(self)
        out["exclude_products"] = list(self.exclude_products)
        return out


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class DataQualityReport:
    """What :func:`clean_transactions` did to a log and what a human must look at.

    Attributes
    ----------
    rules : DataFrame
        One row per rule, in the order applied: ``rule``, ``policy``, ``rows`` (rows of
        the raw log affected; for ``order_lines``, lines merged into other lines),
        ``revenue`` (money affected, in the log's currency; returns are positive amounts
        returned) and ``first_example`` (the first affected row, or "").
    n_rows_in, n_orders_out, n_customers_out : int
    revenue_in : float
        Sum of all amounts of the raw rows that had one (purchases minus returns).
    revenue_out : float
        Sum of the clean orders' amounts.
    first_date, last_date : str
        The window of the clean log (ISO dates).
    gaps : list of (str, str)
        Runs of 14 or more days without any order inside the window (first and last day).
    warnings : list of str
        Plain sentences: what looks wrong and what it would change.
    """

    rules: pd.DataFrame
    n_rows_in: int
    n_orders_out: int
    n_customers_out: int
    revenue_in: float
    revenue_out: float
    first_date: str
    last_date: str
    gaps: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The rules table (a copy)."""
        return self.rules.copy()

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (written next to a client's report)."""
        rules = self.rules.astype(object).where(self.rules.notna(), None)
        return {"rules": rules.to_dict(orient="records"), "n_rows_in": self.n_rows_in,
                "n_orders_out": self.n_orders_out, "n_customers_out": self.n_customers_out,
                "revenue_in": self.revenue_in, "revenue_out": self.revenue_out,
                "first_date": self.first_date, "last_date": self.last_date,
                "gaps": [list(g) for g in self.gaps], "warnings": list(self.warnings)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=float)

    @classmethod
    def from_dict(cls, mapping: dict[str, Any]) -> DataQualityReport:
        """The report written by :meth:`to_dict` (e.g. a ``quality.json`` read back).

        Raises
        ------
        DataError
            A key is missing or the rules are not a list of rule rows.

        Examples
        --------
        >>> log = clean_transactions(pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-02"],
        ...                                        "amount": [5.0]}))
        >>> back = DataQualityReport.from_dict(json.loads(log.quality.to_json()))
        >>> back.to_dict() == log.quality.to_dict()
        True
        """
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in mapping]
        rules = mapping.get("rules")
        if missing or not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            problem = (f"it has no {missing[0]!r}" if missing
                       else "its 'rules' are not a list of rule rows")
            raise data_error(f"this is not a data-quality report: {problem}",
                             fix="write it with DataQualityReport.to_json() and read it unchanged")
        table = pd.DataFrame(rules, columns=list(RULE_COLUMNS))
        values = {n: mapping[n] for n in names if n != "rules"}
        values["gaps"] = [tuple(g) for g in values["gaps"]]
        values["warnings"] = list(values["warnings"])
        return cls(rules=table, **values)

    def _repr_html_(self) -> str:
        head = (f"<p>{self.n_rows_in:,} rows in, {self.n_orders_out:,} orders of "
                f"{self.n_customers_out:,} customers out, {self.first_date} to "
                f"{self.last_date}.</p>")
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        table = self.rules.to_html(index=False, float_format=lambda x: f"{x:,.2f}")
        return head + table + (f"<p>Warnings:</p><ul>{warn}</ul>" if warn else "")


@dataclass(frozen=True)
class CleanLog:
    """The result of :func:`clean_transactions`: the orders and the data-quality report.

    ``transactions`` has one row per order: ``customer_id``, ``date`` (the order's first
    timestamp), ``amount`` (net of returns under ``returns="net"``), ``order_id``,
    ``n_lines`` and, when the spec names them, ``channel`` and ``country``.
    """

    transactions: pd.DataFrame
    quality: DataQualityReport
    spec: TransactionSpec


@dataclass(frozen=True)
class CleanSummary:
    """The result of :func:`clean_rfm_summary`: the per-customer summary and the report.

    ``summary`` is what :func:`~retention_kit.data.rfm_summary` gives for the clean orders
    (``frequency``, ``recency``, ``T``, ``monetary_value``, indexed by customer id);
    ``quality`` is the :class:`DataQualityReport` of :func:`clean_transactions`.
    """

    summary: pd.DataFrame
    quality: DataQualityReport
    spec: TransactionSpec


# --------------------------------------------------------------------------- parsing


def _parse_dates(raw: pd.DataFrame, col: str, spec: TransactionSpec) -> pd.Series:
    values = raw[col]
    missing = values.isna()
    if missing.any():
        raise missing_dates(col, int(missing.sum()), first_example(raw, missing, [col]))
    fmt = spec.date_format
    with np.errstate(all="ignore"):
        if fmt in ("epoch_s", "epoch_ms", "excel"):
            numbers = pd.to_numeric(values, errors="coerce")
            if fmt == "excel":  # serial days 1 (1900-01-01) to 2958465 (9999-12-31)
                numbers = numbers.where((numbers >= 1) & (numbers < 2958466))
                parsed = _EXCEL_EPOCH + pd.to_timedelta(numbers, unit="D")
            else:
                parsed = pd.to_datetime(numbers, unit="s" if fmt == "epoch_s" else "ms",
                                        utc=True, errors="coerce")
        elif pd.api.types.is_datetime64_any_dtype(values):
            parsed = values
        else:
            text = values.astype(str).str.strip()
            aware = bool(text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True).any())
            if fmt in ("dayfirst", "monthfirst"):
                parsed = _parse_day_month(text, dayfirst=fmt == "dayfirst", utc=aware)
            else:
                parsed = pd.to_datetime(text, errors="coerce", utc=aware,
                                        format="ISO8601" if fmt == "iso" else fmt)
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise DataError(
            f"dates in column {col!r} cannot be read as date_format={fmt!r}",
            n_rows=int(bad.sum()), example=first_example(raw, bad, [col]),
            fix="set date_format to the log's format ('dayfirst' for 31/12/2024, 'epoch_s', "
            "'excel', or a strptime format such as '%d.%m.%Y'); CLI: --map date_format=...")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        zone = spec.timezone or "UTC"
        parsed = parsed.dt.tz_convert(zone).dt.tz_localize(None)
    out = pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=raw.index)
    far = out > pd.Timestamp.now().normalize() + pd.Timedelta(days=366 * 5)
    early = out < pd.Timestamp("1980-01-01")
    odd = (far | early).to_numpy()
    if odd.any():
        raise DataError(
            f"dates in column {col!r} lie before 1980 or more than five years ahead, which "
            "looks like a misread format (epoch seconds read as days, or swapped columns)",
            n_rows=int(odd.sum()), example=first_example(raw, odd, [col]),
            fix="check the column and set date_format ('epoch_s', 'excel', 'dayfirst')")
    return out


def _parse_day_month(text: pd.Series, *, dayfirst: bool, utc: bool) -> pd.Series:
    """Day-first (or month-first) text dates: the common layouts by exact format (fast),
    anything left by pandas' flexible parser."""
    day_month = "%d{0}%m{0}" if dayfirst else "%m{0}%d{0}"
    sample = text.iloc[0]
    sep = next((c for c in "/.-" if c in sample), "/")
    best = None
    for year in ("%Y", "%y"):
        for clock in (" %H:%M", " %H:%M:%S", "", "T%H:%M:%S"):
            fmt = day_month.format(sep) + year + clock
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
            if best is None or parsed.notna().sum() > best.notna().sum():
                best = parsed
            if best.notna().all():
                return best
    rest = best.isna()
    best = best.copy()
    best[rest] = pd.to_datetime(text[rest], dayfirst=dayfirst, format="mixed", errors="coerce",
                                utc=utc)
    return best


_NOT_NUMBER = re.compile(r"[^\d.,+\-eE()]")


def _parse_money(raw: pd.DataFrame, col: str, decimal: str) -> np.ndarray:
    values = raw[col]
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"column {col!r} holds True/False, not amounts", n_rows=len(raw),
                        fix="name the money column in the spec (amount or unit_price)")
    if pd.api.types.is_numeric_dtype(values):
        out = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = values.astype("string").str.replace(_NOT_NUMBER, "", regex=True)
        negative = text.str.startswith("(") & text.str.endswith(")")
        text = text.str.strip("()")
        if decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            text = text.str.replace(",", "", regex=False)
        out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out = np.where(negative.fillna(False).to_numpy(dtype=bool), -out, out)
    bad = ~np.isfinite(out)
    if bad.any():
        raise DataError(
            f"values in column {col!r} are missing, infinite or not amounts",
            n_rows=int(bad.sum()), example=first_example(raw, bad, [col]),
            fix="repair or drop these rows; for amounts written 1.234,50 set decimal=','")
    return out


# --------------------------------------------------------------------------- rules


def _line_filters(raw: pd.DataFrame, lines: pd.DataFrame, spec: TransactionSpec,
                  ledger: Ledger) -> np.ndarray:
    """Rules 1-4: which raw lines stay (guests, excluded products, zero and negative prices)."""
    keep = np.ones(len(lines), dtype=bool)
    amount = lines["amount"].to_numpy()

    guest = lines["customer_id"].isna().to_numpy()
    if spec.missing_customer == "raise" and guest.any():
        raise ledger.refuse(
            "rows without a customer id (guest checkouts)", guest,
            fix="pass missing_customer='drop' to leave them out (the report counts them and "
            "their revenue); CLI: --map missing_customer=drop")
    ledger.add("missing_customer", spec.missing_customer, guest, amount[guest].sum())
    keep &= ~guest

    if spec.exclude_products:
        codes = raw[spec.product].astype("string").str.strip().to_numpy(dtype=object)
        excluded = keep & np.isin(codes, list(spec.exclude_products))
        ledger.add("excluded_products", "drop", excluded, amount[excluded].sum())
        keep &= ~excluded

    zero = keep & (amount == 0)
    if spec.zero_price == "raise" and zero.any():
        raise ledger.refuse("lines worth 0 (free items or missing prices)", zero,
                            fix="pass zero_price='drop' (or 'keep' to count them as "
                            "purchases); CLI: --map zero_price=drop")
    ledger.add("zero_price", spec.zero_price, zero, 0.0)
    if spec.zero_price == "drop":
        keep &= ~zero

    if spec.unit_price is not None:
        negative = keep & (lines["unit_price"].to_numpy() < 0)
        if spec.negative_price == "raise" and negative.any():
            raise ledger.refuse("lines with a negative unit price (adjustments)", negative,
                                fix="pass negative_price='drop'; CLI: --map negative_price=drop")
        ledger.add("negative_price", spec.negative_price, negative, amount[negative].sum())
        keep &= ~negative
    return keep


def _orders(lines: pd.DataFrame, spec: TransactionSpec, ledger: Ledger,
            n_raw: int) -> pd.DataFrame:
    """Rule 5: purchase lines summed into orders (or kept one row each)."""
    if spec.order_lines == "keep" or len(lines) == 0:
        out = lines.assign(n_lines=1)
        if spec.order is None:
            out = out.assign(order_id=[f"row{i}" for i in out["row"]])
        ledger.add("order_lines", "keep", np.zeros(n_raw, dtype=bool), 0.0)
        return out
    key = ["customer_id", "order_id"] if spec.order is not None else ["customer_id", "date"]
    agg: dict[str, Any] = {"date": ("date", "min"), "amount": ("amount", "sum"),
                           "n_lines": ("amount", "size"), "row": ("row", "min")}
    for extra in ("channel", "country"):
        if extra in lines.columns:
            agg[extra] = (extra, "first")
    if spec.order is None:
        agg.pop("date")
    grouped = lines.groupby(key, sort=False, dropna=False).agg(**agg).reset_index()
    if spec.order is None:
        grouped["order_id"] = [f"{c}@{d:%Y-%m-%d %H:%M:%S}" for c, d in
                               zip(grouped["customer_id"], grouped["date"], strict=True)]
    merged = np.zeros(n_raw, dtype=bool)
    first_rows = set(grouped["row"].to_numpy().tolist())
    merged[[r for r in lines["row"].to_numpy() if r not in first_rows]] = True
    ledger.add("order_lines", "sum", merged, 0.0)
    return grouped


def _identical_lines(raw: pd.DataFrame, purchases: pd.DataFrame, spec: TransactionSpec,
                     ledger: Ledger, n_raw: int) -> None:
    """Rule 5's note: purchase lines identical to an earlier line of their order.

    Identical in every column: the spec's columns as read (customer, order, timestamp,
    amount or quantity and unit price, product, channel, country) and every other column
    of the log as it is. They are real line items (one item scanned twice) and stay in
    their order's sum; the row counts the copies after the first and their revenue.
    """
    keys = [c for c in ("customer_id", "order_id", "date", "product", "channel", "country")
            if c in purchases.columns]
    keys += ["quantity", "unit_price"] if spec.amount is None else ["amount"]
    frame = purchases[keys].reset_index(drop=True)
    others = identical_line_columns(list(raw.columns), spec)
    if others:
        extra = raw[others].iloc[purchases["row"].to_numpy()].reset_index(drop=True)
        frame = pd.concat([frame, extra.set_axis([f"_rk_{i}" for i in range(len(others))],
                                                 axis=1)], axis=1)
    copy = frame.duplicated(keep="first").to_numpy()
    mask = np.zeros(n_raw, dtype=bool)
    mask[purchases["row"].to_numpy()[copy]] = True
    ledger.add("identical_lines", spec.order_lines, mask,
               purchases["amount"].to_numpy()[copy].sum())


# --------------------------------------------------------------------------- the function


def clean_transactions(raw: Any, spec: TransactionSpec | dict | None = None,
                       ) -> CleanLog:
    """Apply a :class:`TransactionSpec` to a raw log: one row per order and a quality report.

    Parameters
    ----------
    raw : DataFrame, path(s) to Parquet or CSV files, ibis.Table or pyspark.sql.DataFrame
        The log as exported (order lines, returns, guests...); not modified. Files, Ibis
        tables (DuckDB, PostgreSQL, ...) and Spark DataFrames are filtered, typed, counted
        and summed into orders by their engine (:mod:`retention_kit.ingest_sql`; a Spark
        DataFrame on its session, through Ibis's PySpark backend); only the orders and the
        returns come back to pandas, and the results equal the pandas path's. Rows of an
        engine table are numbered in the engine's scan order (the file order for files; for
        a Spark DataFrame, partition by partition, each in its order: the pandas frame's
        order for ``spark.createDataFrame(frame)``).
    spec : TransactionSpec or dict, optional
        Columns and policies; a dict is read with :meth:`TransactionSpec.from_dict`.
        Default: columns ``customer_id``, ``date``, ``amount`` and the default policies.

    Returns
    -------
    CleanLog
        ``transactions`` (one row per order) and ``quality`` (a
        :class:`DataQualityReport`).

    Examples
    --------
    Two lines of order 1, a postage line, a guest's order, and a cancellation of one line
    of order 1 a week later (``C1`` references order ``1``):

    >>> raw = pd.DataFrame({
    ...     "invoice": ["1", "1", "1", "2", "C1"],
    ...     "customer": ["a", "a", "a", None, "a"],
    ...     "code": ["mug", "tea", "POST", "mug", "tea"],
    ...     "qty": [2, 1, 1, 1, -1],
    ...     "price": ["£3.50", "£5.00", "£4.00", "£3.50", "£5.00"],
    ...     "when": ["01/03/2024 10:00", "01/03/2024 10:00", "01/03/2024 10:00",
    ...              "02/03/2024 09:00", "08/03/2024 12:00"]})
    >>> log = clean_transactions(raw, {"customer": "customer", "date": "when", "order": "invoice",
    ...                                "quantity": "qty", "unit_price": "price", "product": "code",
    ...                                "exclude_products": ["POST"], "cancellation_prefix": "C",
    ...                                "date_format": "dayfirst"})
    >>> log.transactions[["customer_id", "date", "amount", "order_id", "n_lines"]]
      customer_id                date  amount order_id  n_lines
    0           a 2024-03-01 10:00:00     7.0        1        2
    >>> log.quality.rules.set_index("rule")[["rows", "revenue"]].loc[
    ...     ["missing_customer", "excluded_products", "returns", "returns_netted_by_reference"]]
                                 rows  revenue
    rule
    missing_customer                1      3.5
    excluded_products               1      4.0
    returns                         1      5.0
    returns_netted_by_reference     1      0.0
    """
    spec = _as_spec(spec)
    if is_engine_input(raw):
        from . import ingest_sql  # needs Ibis; the pandas path does not

        staged = ingest_sql.stage_lines(raw, spec)
    elif isinstance(raw, pd.DataFrame):
        staged = _stage_lines(raw, spec)
    else:
        raise TypeError("the raw log must be a pandas DataFrame, a path to Parquet or CSV "
                        "files, an ibis.Table or a pyspark.sql.DataFrame, got "
                        f"{type(raw).__name__}")
    ledger, n_raw, orders = staged.ledger, staged.n_raw, staged.orders
    if spec.returns == "net" and staged.n_returns:
        orders = net_returns(orders, staged.returns, staged.held, spec, ledger, n_raw)
    elif spec.returns == "net":
        _nothing_to_net(ledger, spec)
    else:
        ledger.record("returns", spec.returns, staged.n_returns, staged.returned,
                      staged.first_return_row)
        if spec.returns == "keep":
            orders = pd.concat([orders, staged.return_orders], ignore_index=True)
    out = _finish(orders, spec)
    quality = _report(ledger, out, n_raw=n_raw, revenue_in=staged.revenue_in, spec=spec)
    return CleanLog(transactions=out, quality=quality, spec=spec)


def is_engine_input(obj: object) -> bool:
    """A path, a list of paths, an ibis.Table or a Spark DataFrame
    (:func:`engines.is_engine_input`): the inputs the engine path cleans."""
    return engines.is_engine_input(obj)


def _as_spec(spec: TransactionSpec | dict | None) -> TransactionSpec:
    if spec is None:
        return TransactionSpec(amount="amount")
    if isinstance(spec, dict):
        return TransactionSpec.from_dict(spec)
    return spec


def _nothing_to_net(ledger: Ledger, spec: TransactionSpec) -> None:
    for rule in ("returns", "returns_netted_by_reference",
                 "returns_netted_against_earlier_orders"):
        ledger.record(rule, "net", 0, 0.0, None)
    ledger.record("unmatched_returns", spec.unmatched_returns, 0, 0.0, None)
    ledger.record("orders_returned_in_full", "removed", 0, 0.0, None)


def clean_rfm_summary(raw: Any, spec: TransactionSpec | dict | None = None, *,
                      time_unit: str = "D", observation_end: object = None,
                      merge_period: str = "D") -> CleanSummary:
    """The per-customer summary of a raw log and its data-quality report, in one step.

    The same numbers as ``rfm_summary(clean_transactions(raw, spec).transactions,
    amount_col="amount", duplicates="keep", ...)`` (identical orders are real ones: under
    ``order_lines="keep"`` they are the report's ``identical_lines``) and the same report,
    but on an engine (files, Ibis tables: DuckDB, PostgreSQL..., Spark DataFrames) the
    orders stay there: only the returning customers' orders come to pandas to be netted
    (the netting is sequential), the other customers' summaries, the report's counts,
    window and per-customer warnings are computed by the engine, and one row per customer
    comes back.
    Use it when the orders themselves are not needed and the log is large (millions of
    lines).

    Parameters
    ----------
    raw : DataFrame, path(s) to Parquet or CSV files, ibis.Table or pyspark.sql.DataFrame
        As in :func:`clean_transactions` (a DataFrame takes the pandas path).
    spec : TransactionSpec or dict, optional
        As in :func:`clean_transactions`. With ``returns="keep"`` the orders include
        negative ones, which :func:`~retention_kit.data.rfm_summary` refuses.
    time_unit, observation_end, merge_period
        As in :func:`~retention_kit.data.rfm_summary` (``amount_col`` is the orders'
        ``amount``); the observation end defaults to the last clean order.

    Returns
    -------
    CleanSummary
        ``summary`` (one row per customer) and ``quality`` (a :class:`DataQualityReport`).

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                     "date": ["2024-01-01", "2024-01-15", "2024-01-20", "2024-01-10"],
    ...                     "amount": [10.0, 20.0, -5.0, 7.0]})
    >>> out = clean_rfm_summary(raw, time_unit="D", observation_end="2024-01-31")
    >>> out.summary
                 frequency  recency     T  monetary_value
    customer_id
    a                    1     14.0  30.0            15.0
    b                    0      0.0  21.0             0.0
    >>> int(out.quality.rules.set_index("rule").loc["returns", "rows"])
    1
    """
    spec = _as_spec(spec)
    options: dict[str, Any] = {"amount_col": "amount", "time_unit": time_unit,
                               "merge_period": merge_period}
    if not is_engine_input(raw) or spec.returns == "keep":
        return _summary_in_pandas(raw, spec, observation_end, options)
    from . import ingest_sql  # needs Ibis; the pandas path does not

    with ingest_sql.staged_orders(raw, spec) as staged:
        done = _engine_summary(staged, spec, observation_end, options)
    # None: no orders at all, or an observation end before the last order (pandas' error)
    return done or _summary_in_pandas(raw, spec, observation_end, options)


def _engine_summary(staged: StagedLog, spec: TransactionSpec, observation_end: object,
                    options: dict[str, Any]) -> CleanSummary | None:
    parts = _engine_parts(staged, spec)
    if parts is None:
        return None
    rest, per, local, days, count, revenue, last, index_like = parts
    if observation_end is not None:
        if last >= pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1):
            return None
    end = last if observation_end is None else observation_end
    has_country = "country" in local.columns
    pieces, facts = [], _customer_facts(local, has_country)
    if count:  # collected unsorted: the pieces are sorted together below
        expr = engines.rfm_summary_expr(
            rest.select("customer_id", "date", "amount"), customer_col="customer_id",
            date_col="date", observation_end=end, duplicates="keep", **options)
        # with the per-customer facts: one query, one row per customer
        both = expr.join(per, "customer_id").to_pyarrow().to_pandas().set_index("customer_id")
        pieces.append(both[list(expr.columns[1:])])
        theirs = both[list(per.columns[1:])]
        whole = int_ids(theirs.index.to_series())
        if whole is not None:
            theirs.index = pd.Index(whole, name="customer_id")
        facts = pd.concat([theirs, facts]) if len(facts) else theirs
        facts = facts.sort_index(kind="stable")
    if len(local):
        pieces.append(rfm_summary(local[["customer_id", "date", "amount"]],
                                  observation_end=end, duplicates="keep", **options))
    summary = _joined_summaries(pieces, index_like)
    summary.attrs = {"kind": "btyd_summary", "time_unit": options["time_unit"],
                     "observation_end": str(to_naive_timestamp(end, "observation_end").date()),
                     "merge_period": options["merge_period"]}
    n_orders = count + len(local)
    first = facts["first"].min()
    gaps = _gaps_of_days(days)
    warnings = _warnings_of(facts, n_orders, first, last, gaps, has_country)
    quality = DataQualityReport(
        rules=staged.ledger.table(), n_rows_in=staged.n_raw, n_orders_out=n_orders,
        n_customers_out=len(facts), revenue_in=round(staged.revenue_in, 2),
        revenue_out=round(revenue + float(local["amount"].sum()), 2),
        first_date="" if pd.isna(first) else str(first.date()),
        last_date="" if pd.isna(last) else str(last.date()), gaps=gaps, warnings=warnings)
    return CleanSummary(summary=summary, quality=quality, spec=spec)


def _summary_in_pandas(raw: Any, spec: TransactionSpec, observation_end: object,
                       options: dict[str, Any]) -> CleanSummary:
    log = clean_transactions(raw, spec)
    summary = rfm_summary(log.transactions, observation_end=observation_end, duplicates="keep",
                          **options)
    return CleanSummary(summary=summary, quality=log.quality, spec=spec)


def _engine_parts(staged: StagedLog, spec: TransactionSpec) -> tuple | None:
    """Net the returning customers' orders in pandas; count the others in the engine.

    Returns (the engine's clean orders of the other customers, their per-customer facts
    (an expression: ``first``, ``size``, ``multi_country``), the netted orders (pandas, as
    :func:`_finish` makes them), the days with orders, the engine's order count and revenue,
    the last order's timestamp, the summary index's type), or None without orders.
    """
    import ibis

    table, ledger = staged.order_table, staged.ledger
    ids = table["customer_id"]
    if spec.returns == "net" and staged.n_returns:
        # netting changes the returning customers' orders and removes every order left at 0
        returning = ibis.memtable({"customer_id": pd.unique(
            staged.returns["customer_id"].to_numpy(dtype=object)).tolist()}).select(
                customer_id=ibis._["customer_id"].cast(ids.type()))
        zero = table.filter(table["amount"] <= 1e-9).select("customer_id")
        local_ids = returning.union(zero, distinct=True)
        mine = staged.collect(table.semi_join(local_ids, "customer_id").order_by("row"))
        netted = net_returns(mine, staged.returns, staged.held, spec, ledger, staged.n_raw)
        local = _finish(netted, spec)
        rest = table.anti_join(local_ids, "customer_id")
    else:
        if spec.returns == "net":
            _nothing_to_net(ledger, spec)
        else:
            ledger.record("returns", spec.returns, staged.n_returns, staged.returned,
                          staged.first_return_row)
        local = _finish(staged.collect(table.limit(0)), spec)
        rest = table
    has_country = "country" in local.columns
    rest = rest.select("customer_id", "date", amount=_rounded(rest["amount"]),
                       **({"country": rest["country"]} if has_country else {}))
    # read by the facts, the totals, the days and the summary; one row per order and four
    # columns: in memory, unless the orders are the lines (order_lines='keep')
    rest = staged.store(rest, small=spec.order_lines != "keep")
    agg: dict[str, Any] = {"first": rest["date"].min(), "size": rest.count()}
    if has_country:
        # more than one country: a min/max, not a count of distinct values (slow)
        agg["multi_country"] = (rest["country"].min() != rest["country"].max()).fill_null(
            False)
    per = rest.group_by("customer_id").aggregate(**agg)
    totals = rest.aggregate(n=rest.count(), revenue=rest["amount"].sum(),
                            last=rest["date"].max()).to_pyarrow().to_pylist()[0]
    count = int(totals["n"])
    days = rest.select(day=rest["date"].truncate("D")).distinct().to_pyarrow()
    days = days.column("day").to_numpy().astype("datetime64[ns]")
    if len(local):
        days = np.concatenate([days, local["date"].dt.normalize().to_numpy()])
    if count == 0 and len(local) == 0:
        return None
    # the summary's index as rfm_summary types it for these ids (Python ints stay objects)
    sample = staged.collect(table.limit(1))[["customer_id", "date"]]
    index_like = rfm_summary(sample).index
    lasts = [pd.Timestamp(totals["last"])] if count else []
    if len(local):
        lasts.append(local["date"].max())
    return (rest, per, local, np.unique(days), count, float(totals["revenue"] or 0.0),
            max(lasts), index_like)


def _rounded(amount: Any) -> Any:
    """``amount`` rounded to cents as numpy rounds (``rint(x * 100) / 100``: halves to
    even), on any engine (their ROUND rounds halves away from zero)."""
    scaled = amount * 100
    low = scaled.floor()
    frac = scaled - low
    even = (low / 2).floor() * 2 == low
    up = (frac > 0.5) | ((frac == 0.5) & ~even)
    return up.ifelse(low + 1, low) / 100


def _joined_summaries(pieces: list[pd.DataFrame], like: pd.Index) -> pd.DataFrame:
    """The engine's and pandas' summaries (disjoint customers) as one, sorted by id as
    pandas sorts them, the index typed as ``like``."""
    ids = [int_ids(p.index.to_series()) for p in pieces]
    frame = pd.concat([p.reset_index(drop=True) for p in pieces], ignore_index=True)
    if all(i is not None for i in ids):  # whole-number ids: sorted as numbers
        whole = np.concatenate(ids)
        order = np.argsort(whole, kind="stable")
        index = pd.Index(whole[order])
    else:
        labels = pd.Index(np.concatenate([p.index.to_numpy(dtype=object) for p in pieces]))
        order = np.asarray(pd.Series(np.arange(len(labels)), index=labels)
                           .sort_index(kind="stable").to_numpy())
        index = labels[order]
    out = frame.iloc[order].reset_index(drop=True)
    out.index = index.astype(like.dtype)
    out.index.name = "customer_id"
    out["frequency"] = out["frequency"].astype("int64")
    return out


def _stage_lines(raw: pd.DataFrame, spec: TransactionSpec) -> StagedLog:
    """Rules 1-5 in pandas."""
    if len(raw) == 0:
        raise empty_log()
    lines, shown = _typed_lines(raw, spec)
    ledger = Ledger(lambda rows: {r: first_example(raw.iloc[[r]], np.ones(1, dtype=bool),
                                                   shown) for r in rows})
    n_raw = len(raw)
    revenue_in = float(lines["amount"].sum())
    keep = _line_filters(raw, lines, spec, ledger)
    lines = lines.loc[keep]
    is_return = (lines["amount"] < 0).to_numpy().copy()
    if spec.cancellation_prefix:
        is_return |= lines["order_id"].astype("string").str.startswith(
            spec.cancellation_prefix).fillna(False).to_numpy(dtype=bool)
        lines = lines.assign(amount=np.where(is_return, -lines["amount"].abs(),
                                             lines["amount"]))
    purchases, returns = lines.loc[~is_return], lines.loc[is_return]
    orders = _orders(purchases, spec, ledger, n_raw)
    _identical_lines(raw, purchases, spec, ledger, n_raw)
    held = None  # (customer, order, product) of the returning customers' purchase lines
    if "product" in purchases.columns and spec.returns == "net":
        mine = purchases[purchases["customer_id"].isin(returns["customer_id"])]
        held = set(zip(mine["customer_id"], mine["order_id"], mine["product"], strict=True))
    return_orders = None
    if spec.returns == "keep":
        return_orders = _orders(returns, spec, Ledger(ledger.describe), n_raw)
    rows = returns["row"].to_numpy()
    return StagedLog(orders=orders, returns=returns, return_orders=return_orders, held=held,
                     n_returns=len(rows), first_return_row=int(rows[0]) if len(rows) else None,
                     returned=-float(returns["amount"].sum()), ledger=ledger, n_raw=n_raw,
                     revenue_in=revenue_in)


def _typed_lines(raw: pd.DataFrame, spec: TransactionSpec) -> tuple[pd.DataFrame, list[str]]:
    """The spec's columns, checked, parsed and renamed (``row`` is the raw position)."""
    named = {k: getattr(spec, k) for k in ("customer", "date", "amount", "quantity",
                                           "unit_price", "order", "product", "channel",
                                           "country")}
    needed = {col: f"{key} (the spec's {key!r}; CLI: --map {key}=<column>)"
              for key, col in named.items() if col is not None}
    require_columns(raw, needed, what="the transaction log")
    lines = pd.DataFrame({"row": np.arange(len(raw)),
                          "customer_id": _customer_ids(raw[spec.customer]),
                          "date": _parse_dates(raw, spec.date, spec).to_numpy()})
    if spec.amount is not None:
        lines["amount"] = _parse_money(raw, spec.amount, spec.decimal)
    else:
        quantity = _parse_money(raw, spec.quantity, ".")
        price = _parse_money(raw, spec.unit_price, spec.decimal)
        lines["quantity"] = quantity
        lines["unit_price"] = price
        lines["amount"] = np.round(quantity * price, 10)
    lines["order_id"] = (raw[spec.order].astype("string").str.strip().to_numpy(dtype=object)
                         if spec.order is not None else None)
    for extra in ("product", "channel", "country"):
        if getattr(spec, extra) is not None:
            lines[extra] = raw[getattr(spec, extra)].to_numpy()
    shown = [c for c in (spec.customer, spec.order, spec.date, spec.product, spec.amount,
                         spec.quantity, spec.unit_price) if c is not None]
    return lines, shown


def _customer_ids(ids: pd.Series) -> np.ndarray:
    """Ids as given, but whole-number floats (17850.0: an integer column with blanks, as
    spreadsheets export it) as the integers they are, and as text "17850" for "17850.0"."""
    if pd.api.types.is_float_dtype(ids):
        known = ids.dropna()
        if len(known) and bool((known == np.round(known)).all()):
            return ids.astype("Int64").astype(object).where(ids.notna(), None).to_numpy()
    elif pd.api.types.is_string_dtype(ids) or ids.dtype == object:
        known = ids.dropna()
        if len(known) and bool(known.astype(str).str.fullmatch(r"\d+\.0").all()):
            return ids.astype("string").str.removesuffix(".0").astype(object).where(
                ids.notna(), None).to_numpy()
    return ids.to_numpy()


def _finish(orders: pd.DataFrame, spec: TransactionSpec) -> pd.DataFrame:
    cols = ["customer_id", "date", "amount", "order_id", "n_lines"]
    cols += [c for c in ("channel", "country") if c in orders.columns]
    out = orders.iloc[_date_customer_order(orders)][cols].reset_index(drop=True)
    out["amount"] = out["amount"].astype(float).round(2)
    out["n_lines"] = out["n_lines"].astype("int64")
    return out



def _date_customer_order(orders: pd.DataFrame) -> np.ndarray:
    """The positions that sort ``orders`` by date, customer id and order id, ties kept in
    their order: ``sort_values(["date", "customer_id", "order_id"], kind="stable")``.

    With whole-number ids, date and id are sorted as numbers and only the rare runs of one
    customer's orders at one timestamp are sorted by order id (as text, by pandas), instead
    of ordering millions of order ids that are almost all distinct.
    """
    keys = ["date", "customer_id", "order_id"]
    ids = int_ids(orders["customer_id"])
    dates = orders["date"].to_numpy()
    if ids is None or dates.dtype.kind != "M" or pd.isna(dates).any():
        return np.asarray(orders.reset_index(drop=True).sort_values(keys, kind="stable").index)
    return sorted_by_two_then_pandas(orders, dates.view("int64"), ids, keys)


def _report(ledger: Ledger, out: pd.DataFrame, *, n_raw: int, revenue_in: float,
            spec: TransactionSpec) -> DataQualityReport:
    rules = ledger.table()
    if len(out):
        first, last = out["date"].min(), out["date"].max()
    else:
        first = last = pd.NaT
    gaps = _gaps(out["date"]) if len(out) else []
    has_country = "country" in out.columns
    facts = _customer_facts(out, has_country)
    warnings = _warnings_of(facts, len(out), first, last, gaps, has_country)
    return DataQualityReport(
        rules=rules, n_rows_in=n_raw, n_orders_out=len(out),
        n_customers_out=_n_customers(out["customer_id"]), revenue_in=round(revenue_in, 2),
        revenue_out=round(float(out["amount"].sum()), 2),
        first_date="" if pd.isna(first) else str(first.date()),
        last_date="" if pd.isna(last) else str(last.date()), gaps=gaps, warnings=warnings)


def _n_customers(ids: pd.Series) -> int:
    whole = int_ids(ids)
    return int(ids.nunique() if whole is None else len(pd.unique(whole)))


def _gaps(dates: pd.Series, min_days: int = 14) -> list[tuple[str, str]]:
    """Runs of ``min_days`` or more days without an order between the first and last day."""
    return _gaps_of_days(dates.dt.normalize().to_numpy(), min_days)


def _gaps_of_days(days: np.ndarray, min_days: int = 14) -> list[tuple[str, str]]:
    days = np.unique(days)
    if len(days) < 2:
        return []
    step = np.diff(days) / np.timedelta64(1, "D")
    out = []
    for i in np.flatnonzero(step > min_days):
        start = pd.Timestamp(days[i]) + pd.Timedelta(days=1)
        stop = pd.Timestamp(days[i + 1]) - pd.Timedelta(days=1)
        out.append((str(start.date()), str(stop.date())))
    return out


def _customer_facts(out: pd.DataFrame, has_country: bool) -> pd.DataFrame:
    """Per customer (sorted by id, whole-number ids as int64): the first order's timestamp
    (``first``), the orders (``size``) and, with countries, whether there are several
    (``multi_country``)."""
    ids = int_ids(out["customer_id"])  # the same groups, in the same order, faster
    by = out["customer_id"] if ids is None else pd.Series(ids, index=out.index,
                                                         name="customer_id")
    facts = out.groupby(by)["date"].agg(["min", "size"]).rename(columns={"min": "first"})
    if has_country:
        codes = pd.factorize(out["country"])[0]  # -1: no country
        known = codes >= 0
        span = pd.Series(codes[known]).groupby(by.to_numpy()[known]).agg(["min", "max"])
        multi = span["min"] != span["max"]
        facts["multi_country"] = multi.reindex(facts.index, fill_value=False).to_numpy()
    facts.index.name = "customer_id"
    return facts


def _warnings_of(facts: pd.DataFrame, n_orders: int, first: Any, last: Any,
                 gaps: list[tuple[str, str]], has_country: bool) -> list[str]:
    notes = []
    for start, stop in gaps:
        notes.append(f"No orders from {start} to {stop}: a gap in the export or a closed "
                     "shop; periods spanning it understate activity.")
    if has_country:
        multi = facts.index[facts["multi_country"].to_numpy(dtype=bool)]
        if len(multi):
            notes.append(f"{len(multi):,} customer ids appear in more than one country (first: "
                         f"{plain(multi[0])!r}); check that ids are not reused across shops.")
    if n_orders >= 200:
        one_day = facts.loc[facts["size"] == 1, "first"].dt.normalize().value_counts()
        if len(one_day):
            window = pd.date_range(first.normalize(), last, freq="D")
            median = float(one_day.reindex(window, fill_value=0).median())
            day, count = one_day.index[0], int(one_day.iloc[0])
            if count >= 20 and count > 5 * max(median, 1.0):
                notes.append(f"{count:,} one-time buyers on {day.date()} (a typical day has "
                             f"{median:g}): a campaign, a bulk import or test orders? They "
                             "lower repeat rates and retention.")
    return notes
