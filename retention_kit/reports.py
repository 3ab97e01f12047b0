"""Per-client retention reports: the numbers behind them, and the batch that makes them.

Two halves:

**Report content** (used by ``notebooks/client_report.ipynb``, one report per client):
:func:`check_parameters` validates the notebook's parameters, :func:`load_client` reads a
client's data folder, :func:`period_retention` and :func:`headline_kpis` give the headline
numbers, :func:`forecast_clv` the CLV forecast (MBG/NBD + Gamma-Gamma for shops,
sBG for subscriptions), :func:`holdout_check` the model's fit on a holdout period,
:func:`segment_table`, :func:`tier_table` and :func:`churn_value` the segment, tier and
churn-reduction tables, and :func:`next_steps` / :func:`caveats` the generated text.

**The batch** (:func:`run_reports`, and ``retention-kit report`` on the command line):
executes the report notebook once per client with papermill (one kernel per report, in
parallel workers), converts each executed notebook to a self-contained HTML page with
nbconvert (code hidden, images embedded as data URIs, no external URL: it opens offline),
keeps the executed notebook next to it, writes an error page for a client whose report
failed (which cell, what, the message) and an ``index.html`` linking every report with its
headline KPIs and status.

A client's data folder (the ``--data DIR/<client>`` layout of ``datasets/demo``) holds
``transactions.csv`` (``customer_id``, ``date``, ``amount``), optionally
``subscriptions.csv`` (``customer_id``, ``month``, ``plan``, ``mrr``) and ``client.json``
(``display_name``, ``currency``, ``observation_end``, ...).

papermill and nbconvert are imported inside the batch functions, matplotlib nowhere:
importing this module stays light.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from .data import prepare_transactions, rfm_segmentation_summary, rfm_summary
from .errors import data_error
from .notebook import check_choice

__all__ = [
    "KPI_MIME",
    "PERIODS",
    "REPORT_NOTEBOOK",
    "ClientData",
    "ClvForecast",
    "FitCheck",
    "HeadlineKPIs",
    "ReportResult",
    "ReportSettings",
    "caveats",
    "check_parameters",
    "cohort_period",
    "curve_sentence",
    "churn_value",
    "discover_clients",
    "error_page",
    "external_resources",
    "forecast_clv",
    "format_money",
    "format_table",
    "html_list",
    "headline_kpis",
    "holdout_check",
    "load_client",
    "next_steps",
    "notebook_parameters",
    "notebook_to_html",
    "period_retention",
    "report_header",
    "run_reports",
    "safe_name",
    "segment_table",
    "survival_sentence",
    "tier_table",
    "write_index",
]

#: The report notebook of a source checkout (not shipped inside the wheel).
def _report_notebook() -> Path:
    """The report notebook of a source checkout, else the copy shipped in the wheel."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "notebooks" / "client_report.ipynb"
    return checkout if checkout.is_file() else here / "_notebooks" / "client_report.ipynb"


REPORT_NOTEBOOK = _report_notebook()

#: MIME type under which the report notebook publishes its headline KPIs (JSON); the
#: batch reads it back from the executed notebook for the index page.
KPI_MIME = "application/vnd.retention-kit.kpis+json"

#: Report periods: pandas frequency, its name, and its length in months.
PERIODS: dict[str, tuple[str, float]] = {"W": ("week", 12 / 52), "M": ("month", 1.0),
                                         "Q": ("quarter", 3.0)}

#: Currency symbols common fonts have; other codes are written after the amount.
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "INR": "₹", "JPY": "¥", "CNY": "¥"}


# =====================================================================================
# small formatting helpers
# =====================================================================================


def format_money(value: float | None, currency: str = "", *, decimals: int | None = None) -> str:
    """A money amount with its currency, for report text.

    Known currency codes get their symbol in front (EUR 1234.5 -> "€1,234.50"); other
    codes follow the number ("1,234.50 CHF"); an empty code shows the number alone.
    Large amounts lose their cents (``decimals`` defaults to 0 from 1,000 up, else 2).

    Examples
    --------
    >>> format_money(1234.5, "EUR"), format_money(12.5, "GBP"), format_money(99, "CHF")
    ('€1,234', '£12.50', '99.00 CHF')
    >>> format_money(-5.25, "USD"), format_money(None, "USD")
    ('-$5.25', 'n/a')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    value = float(value)
    if decimals is None:
        decimals = 0 if abs(value) >= 1000 else 2
    number = f"{abs(value):,.{decimals}f}"
    sign = "-" if value < 0 and float(number.replace(",", "")) != 0 else ""
    code = (currency or "").strip().upper()
    if code in _SYMBOLS:
        return f"{sign}{_SYMBOLS[code]}{number}"
    return f"{sign}{number} {code}".rstrip()


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def _pts(delta: float | None) -> str:
    if delta is None or not math.isfinite(float(delta)):
        return "n/a"
    return f"{100 * float(delta):+.1f} pts"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


class _HTML(str):
    """A string Jupyter displays as HTML (the last expression of a cell)."""

    def _repr_html_(self) -> str:
        return str(self)


def _table_html(rows: Sequence[Sequence[object]], header: Sequence[str], *,
                table_id: str | None = None, css: str = "rk-table",
                caption: str | None = None) -> _HTML:
    """An escaped HTML table (cells are text; nothing in them is interpreted)."""
    tid = f' id="{_esc(table_id)}"' if table_id else ""
    out = [f'<table class="{_esc(css)}"{tid}>']
    if caption:
        out.append(f"<caption>{_esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return _HTML("".join(out))


# =====================================================================================
# parameters and data
# =====================================================================================


@dataclass(frozen=True)
class ReportSettings:
    """The report notebook's parameters after validation (see :func:`check_parameters`)."""

    client_id: str
    data_dir: Path
    observation_end: str
    period: str
    forecast_months: int
    discount_rate: float
    margin: float
    currency: str
    inactivity_days: int
    holdout_months: int
    fast: bool

    @property
    def period_name(self) -> str:
        """"week", "month" or "quarter"."""
        return PERIODS[self.period][0]

    @property
    def period_discount_rate(self) -> float:
        """The monthly ``discount_rate`` converted to one report period."""
        return (1 + self.discount_rate) ** PERIODS[self.period][1] - 1

    @property
    def periods_per_year(self) -> int:
        """52, 12 or 4."""
        return round(12 / PERIODS[self.period][1])


def _demo_folder(client_id: str) -> Path:
    from .datasets import data_dir, list_demo_clients

    check_choice("client_id", client_id, list_demo_clients())
    return data_dir() / "demo" / client_id


def _whole(name: str, value: object, low: int, high: int, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (
            low <= value <= high):
        raise data_error(f"parameter {name}={value!r} is not a whole number from {low} to {high}",
                         fix=f"pass {meaning}")
    return int(value)


def _fraction(name: str, value: object, low: float, high: float, meaning: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise data_error(f"parameter {name}={value!r} is not a number", fix=f"pass {meaning}")
    out = float(value)
    if not (math.isfinite(out) and low <= out <= high):
        hint = f"; {out:g} looks like a percentage, pass {out / 100:g}" if 1 < out <= 100 else ""
        raise data_error(f"parameter {name}={value!r} is outside [{low:g}, {high:g}]{hint}",
                         fix=f"pass {meaning}")
    return out


def check_parameters(
    *,
    client_id: str,
    data_dir: str | os.PathLike[str] = "",
    observation_end: str = "",
    period: str = "M",
    forecast_months: int = 12,
    discount_rate: float = 0.01,
    margin: float = 0.3,
    currency: str = "",
    inactivity_days: int = 180,
    holdout_months: int = 6,
    fast: bool = False,
) -> ReportSettings:
    """Validate the report notebook's parameters and resolve their defaults.

    Empty strings mean "use the default": ``data_dir`` the bundled demo client named
    ``client_id``; ``observation_end`` and ``currency`` the values of the client's
    ``client.json`` (else the last purchase date and no currency).

    Parameters
    ----------
    client_id : str
        Names the client in the report.
    data_dir : str or path
        The client's data folder (``transactions.csv`` and optionally
        ``subscriptions.csv`` and ``client.json``).
    observation_end : str
        Last day of data used, inclusive (ISO date).
    period : {"W", "M", "Q"}
        Period of the headline retention and churn rates.
    forecast_months : int
        CLV forecast horizon in months (1..120).
    discount_rate : float
        Discount rate per month, a fraction in [0, 0.5].
    margin : float
        Gross margin on revenue, a fraction in (0, 1].
    currency : str
        Currency code for money amounts.
    inactivity_days : int
        For clients without subscriptions: days without a purchase after which a
        customer counts as churned (7..1095).
    holdout_months : int
        Months held out to check the forecast model (1..24).
    fast : bool
        Smaller figures (for tests and previews).

    Returns
    -------
    ReportSettings

    Raises
    ------
    ValueError
        A parameter outside its choices (via :func:`~retention_kit.notebook.check_choice`).
    DataError
        A number out of range, a missing folder or an unreadable date, with how to fix it.

    Examples
    --------
    >>> s = check_parameters(client_id="retailer")
    >>> s.data_dir.name, s.observation_end, s.currency, s.period_name
    ('retailer', '2024-12-31', 'EUR', 'month')
    >>> check_parameters(client_id="retailer", period="month")
    Traceback (most recent call last):
    ...
    ValueError: parameter period='month' is not one of ['W', 'M', 'Q']; did you mean 'M'?
    >>> check_parameters(client_id="retailer", margin=30)
    Traceback (most recent call last):
    ...
    retention_kit.errors.DataError: parameter margin=30 is outside [0.01, 1]; 30 looks like ...
    """
    if not isinstance(client_id, str) or not client_id.strip():
        raise data_error(f"parameter client_id={client_id!r} is empty",
                         fix="pass the client's id (the name of its data folder)")
    check_choice("period", period, list(PERIODS))
    if not isinstance(fast, bool):
        raise data_error(f"parameter fast={fast!r} is not True or False", fix="pass fast=True")
    months = _whole("forecast_months", forecast_months, 1, 120, "a horizon such as 12 (months)")
    holdout = _whole("holdout_months", holdout_months, 1, 24, "a holdout such as 6 (months)")
    inactivity = _whole("inactivity_days", inactivity_days, 7, 1095,
                        "a number of days such as 180")
    rate = _fraction("discount_rate", discount_rate, 0.0, 0.5,
                     "a monthly rate as a fraction, such as 0.01 for 1% a month")
    gross = _fraction("margin", margin, 0.01, 1.0, "a gross margin as a fraction, such as 0.3")
    folder = Path(data_dir) if str(data_dir).strip() else _demo_folder(client_id)
    if not folder.is_dir():
        raise data_error(f"the data folder {str(folder)!r} of client {client_id!r} does not exist",
                         fix="pass data_dir as the folder holding transactions.csv")
    info = _read_info(folder)
    end = str(observation_end).strip() or str(info.get("observation_end") or "")
    if end:
        try:
            stamp = pd.Timestamp(end)
        except (TypeError, ValueError) as exc:
            raise data_error(f"parameter observation_end={end!r} is not a date",
                             fix="pass an ISO date such as '2024-12-31'") from exc
        end = str(stamp.date())
    code = str(currency).strip().upper() or str(info.get("currency") or "").upper()
    if code and not re.fullmatch(r"[A-Z]{3}", code):
        raise data_error(f"parameter currency={currency!r} is not a three-letter code",
                         fix="pass an ISO 4217 code such as 'EUR', or '' for none")
    return ReportSettings(client_id=client_id, data_dir=folder, observation_end=end,
                          period=period, forecast_months=months, discount_rate=rate,
                          margin=gross, currency=code, inactivity_days=inactivity,
                          holdout_months=holdout, fast=fast)


@dataclass(frozen=True)
class ClientData:
    """One client's data, as read by :func:`load_client`."""

    client_id: str
    transactions: pd.DataFrame
    """``customer_id`` (str), ``date`` (datetime64), ``amount`` (float), validated."""
    subscriptions: pd.DataFrame | None
    """``customer_id``, ``month`` (first day), ``plan``, ``mrr``; None without subscriptions."""
    info: dict
    """``client.json`` (empty when the folder has none)."""
    observation_end: pd.Timestamp
    """Last day of data used (inclusive)."""

    @property
    def display_name(self) -> str:
        """The client's name for the report (``client.json``'s, else the id)."""
        return str(self.info.get("display_name") or self.client_id)

    @property
    def contractual(self) -> bool:
        """True when the client bills subscriptions (churn is observed)."""
        return self.subscriptions is not None


def _read_info(folder: Path) -> dict:
    path = folder / "client.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise data_error(f"{path} is not valid JSON ({exc})",
                         fix="repair client.json or delete it (it is optional)") from exc
    if not isinstance(info, dict):
        raise data_error(f"{path} holds a {type(info).__name__}, not an object",
                         fix='write client.json as {"display_name": ..., "currency": ...}')
    return info


def _read_csv(path: Path, needed: Sequence[str], **kwargs: Any) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, **kwargs)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise data_error(f"{path.name} cannot be read as CSV ({exc})",
                         fix=f"save {path.name} as comma-separated UTF-8 with a header row "
                         f"{', '.join(needed)}") from exc
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise data_error(f"{path.name} has no column {missing[0]!r}; its columns are "
                         f"{[str(c) for c in frame.columns]}", n_rows=len(frame),
                         fix=f"name the columns {', '.join(needed)}")
    return frame


def load_client(folder: str | os.PathLike[str], *, client_id: str | None = None,
                observation_end: object = None, period: str | None = None) -> ClientData:
    """Read and validate one client's data folder.

    Parameters
    ----------
    folder : path
        Holds ``transactions.csv`` and optionally ``subscriptions.csv`` and ``client.json``.
    client_id : str, optional
        Defaults to the folder's name.
    observation_end : date-like, optional
        Last day used (inclusive); later rows are dropped. Defaults to ``client.json``'s
        ``observation_end``, else the last purchase.
    period : {"W", "M", "Q"}, optional
        The report period, checked against the data: subscriptions are billed monthly, so
        they need "M" or "Q".

    Returns
    -------
    ClientData

    Raises
    ------
    DataError
        Missing folder or file, unreadable CSV, missing columns, and everything
        :func:`retention_kit.data.prepare_transactions` rejects (missing ids or dates,
        negative amounts, duplicate rows, no purchase before the observation end).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> box = load_client(data_dir() / "demo" / "subscription_box")
    >>> box.display_name, box.contractual, str(box.observation_end.date())
    ('Crate & Kettle', True, '2024-12-31')
    """
    path = Path(folder)
    cid = client_id or path.name
    if not path.is_dir():
        raise data_error(f"client {cid!r} has no data folder at {str(path)!r}",
                         fix="pass the folder that holds transactions.csv")
    tx_path = path / "transactions.csv"
    if not tx_path.is_file():
        raise data_error(f"client {cid!r} has no transactions.csv in {str(path)!r}",
                         fix="export one row per purchase with columns customer_id, date, amount")
    info = _read_info(path)
    end = observation_end if observation_end not in (None, "") else info.get("observation_end")
    raw = _read_csv(tx_path, ("customer_id", "date", "amount"), dtype={"customer_id": "str"})
    clean, end_ts = prepare_transactions(raw, amount_col="amount", observation_end=end or None,
                                         after_end="drop")
    transactions = pd.DataFrame({"customer_id": clean["customer"].astype("str"),
                                 "date": clean["date"], "amount": clean["amount"]})
    subscriptions = None
    subs_path = path / "subscriptions.csv"
    if subs_path.is_file():
        subs = _read_csv(subs_path, ("customer_id", "month", "mrr"), dtype={"customer_id": "str"})
        month = pd.to_datetime(subs["month"], errors="coerce")
        bad = month.isna() | subs["customer_id"].isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise data_error("subscriptions.csv has rows without a customer or a readable month",
                             n_rows=int(bad.sum()), example=f"row {first}: "
                             f"{subs.iloc[first].to_dict()}",
                             fix="give every row a customer_id and a month such as 2024-01-01")
        mrr = pd.to_numeric(subs["mrr"], errors="coerce")
        if mrr.isna().any() or (mrr < 0).any():
            bad = mrr.isna() | (mrr < 0)
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise data_error("subscriptions.csv has missing, non-numeric or negative mrr",
                             n_rows=int(bad.sum()), example=f"row {first}: mrr="
                             f"{subs['mrr'].iloc[first]!r}",
                             fix="mrr is what the customer pays that month; 0 when not paying")
        month = month.dt.to_period("M").dt.to_timestamp()
        keep = month <= end_ts
        subscriptions = pd.DataFrame({"customer_id": subs["customer_id"].astype("str"),
                                      "month": month, "mrr": mrr.astype(float)})
        if "plan" in subs.columns:
            subscriptions["plan"] = subs["plan"].astype("str")
        subscriptions = subscriptions.loc[keep.to_numpy()].reset_index(drop=True)
        if subscriptions.empty:
            raise data_error(f"subscriptions.csv has no month on or before {end_ts.date()}",
                             fix="check observation_end")
        if period == "W":
            raise data_error(f"client {cid!r} has monthly subscriptions, so weekly retention "
                             "is not defined", fix="use period 'M' or 'Q' for this client")
    return ClientData(client_id=cid, transactions=transactions, subscriptions=subscriptions,
                      info=info, observation_end=end_ts)


# =====================================================================================
# headline numbers
# =====================================================================================


def _last_complete(end: pd.Timestamp, period: str) -> pd.Period:
    current = pd.Period(end, freq=period)
    complete = end.normalize() >= current.end_time.normalize()
    return current if complete else current - 1


def _active_at(last_dates: Callable[[pd.Timestamp], pd.Series], when: pd.Timestamp,
               days: int) -> pd.Index:
    last = last_dates(when)
    return last.index[(last > when - pd.Timedelta(days=days)).to_numpy()]


def period_retention(client: ClientData, *, period: str = "M", n_periods: int = 13,
                     inactivity_days: int = 180) -> pd.DataFrame:
    """Customers at the start and end of each recent period, retained, lost and new.

    A customer is *active* at a date when

    * subscription clients: she pays (MRR > 0) in that date's month;
    * other clients: her last purchase up to that date is less than ``inactivity_days``
      days old (the rule :func:`retention_kit.cohorts.churn_durations` uses).

    For period p, ``start`` counts the customers active at the end of period p-1 and
    ``end`` those active at the end of p; ``retained`` are in both, ``lost`` only in the
    first, ``new`` only in the second (new or returning customers). The rates are
    :func:`retention_kit.metrics.retention_rate` (end - new) / start and
    :func:`retention_kit.metrics.churn_rate` lost / start.

    Parameters
    ----------
    client : ClientData
    period : {"W", "M", "Q"}
    n_periods : int
        Number of complete periods, ending with the last complete one before the
        observation end.
    inactivity_days : int

    Returns
    -------
    DataFrame
        Indexed by ``period`` (pandas Periods, oldest first): ``start``, ``retained``,
        ``lost``, ``new``, ``end``, ``retention_rate``, ``churn_rate`` (NaN where
        ``start`` is 0).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> box = load_client(data_dir() / "demo" / "subscription_box")
    >>> table = period_retention(box, n_periods=2)
    >>> table[["start", "retained", "lost", "new", "end"]]
             start  retained  lost  new  end
    period
    2024-11    858       764    94  132  896
    2024-12    896       795   101  109  904
    >>> round(float(table["churn_rate"].iloc[-1]), 4)
    0.1127
    """
    from .metrics import churn_rate, retention_rate

    check_choice("period", period, list(PERIODS))
    last = _last_complete(client.observation_end, period)
    periods = pd.period_range(end=last, periods=n_periods + 1, freq=period)
    bounds = [p.end_time.normalize() for p in periods]
    if client.subscriptions is not None:
        subs = client.subscriptions
        paying = subs.loc[subs["mrr"] > 0]
        months = paying["month"].dt.to_period("M")

        def active(when: pd.Timestamp) -> pd.Index:
            return pd.Index(paying.loc[months == pd.Period(when, freq="M"), "customer_id"]
                            .unique())
    else:
        tx = client.transactions.sort_values("date")

        def last_dates(when: pd.Timestamp) -> pd.Series:
            upto = tx.loc[tx["date"] < when + pd.Timedelta(days=1)]
            return upto.groupby("customer_id")["date"].max()

        def active(when: pd.Timestamp) -> pd.Index:
            return _active_at(last_dates, when, inactivity_days)

    sets = [active(b) for b in bounds]
    rows = []
    for before, after in zip(sets[:-1], sets[1:], strict=True):
        retained = before.intersection(after)
        rows.append({"start": len(before), "retained": len(retained),
                     "lost": len(before) - len(retained), "new": len(after) - len(retained),
                     "end": len(after)})
    table = pd.DataFrame(rows, index=pd.PeriodIndex(periods[1:], name="period"))
    ok = table["start"] > 0
    table["retention_rate"] = np.nan
    table["churn_rate"] = np.nan
    if ok.any():
        part = table.loc[ok]
        table.loc[ok, "retention_rate"] = retention_rate(part["start"], part["end"],
                                                         part["new"]).to_numpy()
        table.loc[ok, "churn_rate"] = churn_rate(part["start"], part["lost"]).to_numpy()
    table.attrs.update(kind="period_retention", period=period,
                       rule="paying in the month" if client.contractual else
                       f"a purchase in the last {inactivity_days} days")
    return table


def _trailing_revenue_retention(subs: pd.DataFrame, end: pd.Timestamp,
                                months: int = 12) -> tuple[float, float] | None:
    """NRR and GRR of the MRR paying ``months`` months before the last complete month."""
    from .metrics import revenue_retention

    last = _last_complete(end, "M")
    first = last - months
    per = subs.assign(m=subs["month"].dt.to_period("M")).groupby(["customer_id", "m"])["mrr"].sum()
    start = per.xs(first, level="m") if first in per.index.get_level_values("m") else None
    if start is None or start[start > 0].empty:
        return None
    start = start[start > 0]
    after = per.xs(last, level="m").reindex(start.index, fill_value=0.0) if (
        last in per.index.get_level_values("m")) else pd.Series(0.0, index=start.index)
    diff = after - start
    churned = float(start[after <= 0].sum())
    still = after > 0
    expansion = float(diff[still & (diff > 0)].sum())
    contraction = float(-diff[still & (diff < 0)].sum())
    result = revenue_retention(float(start.sum()), expansion, contraction, churned)
    return float(result.nrr), float(result.grr)


@dataclass(frozen=True)
class HeadlineKPIs:
    """The report's headline numbers (see :func:`headline_kpis`).

    Displayed in a notebook as the KPI table; its JSON form (:meth:`to_dict`) is
    published under :data:`KPI_MIME` for the batch's index page.
    """

    client_id: str
    display_name: str
    currency: str
    period: str
    last_period: str
    previous_period: str
    customers: int
    active_customers: int
    retention: float
    retention_previous: float
    churn: float
    churn_previous: float
    repeat_purchase_rate: float
    aov: float
    revenue: float
    orders: int
    data_start: str
    data_end: str
    activity_rule: str
    nrr: float | None = None
    grr: float | None = None
    year_ago_period: str | None = None
    """The same period a year before ``last_period`` (when the data reach back)."""
    churn_year_ago: float | None = None
    churn_previous_year_ago: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (NaN becomes None)."""
        out = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(measure, value, change vs previous period, meaning) rows of the KPI table."""
        name = PERIODS[self.period][0]
        cur = self.currency
        rows = [
            ("Customers", f"{self.customers:,}", "",
             f"bought at least once, {self.data_start} to {self.data_end}"),
            (f"Active customers ({self.last_period})", f"{self.active_customers:,}", "",
             f"active: {self.activity_rule}"),
            (f"Retention rate ({self.last_period})", _pct(self.retention),
             _pts(self.retention - self.retention_previous),
             f"share of the previous {name}'s active customers still active"),
            (f"Churn rate ({self.last_period})", _pct(self.churn),
             _pts(self.churn - self.churn_previous),
             f"share of the previous {name}'s active customers lost"),
            ("Repeat purchase rate", _pct(self.repeat_purchase_rate), "",
             "customers who bought on two days or more"),
            ("Average order value", format_money(self.aov, cur), "",
             f"{format_money(self.revenue, cur)} over {self.orders:,} orders"),
        ]
        if self.nrr is not None and self.grr is not None:
            rows += [("Net revenue retention (12 months)", _pct(self.nrr), "",
                      "MRR kept from a year ago, expansion included"),
                     ("Gross revenue retention (12 months)", _pct(self.grr), "",
                      "MRR kept from a year ago, without expansion")]
        return rows

    def to_html(self) -> str:
        """The KPI table (``<table id="kpi-table">``)."""
        return _table_html(self.rows(), ["Measure", "Value", f"Change vs {self.previous_period}",
                                         "Definition"], table_id="kpi-table",
                           css="rk-table rk-kpis")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = "\n".join(f"{m}: {v} {c}".rstrip() for m, v, c, _ in self.rows())
        return {"text/html": self.to_html(), "text/plain": text, KPI_MIME: self.to_dict()}


def _finite(value: object) -> float | None:
    out = float(value)  # type: ignore[arg-type]
    return out if math.isfinite(out) else None


def headline_kpis(client: ClientData, *, period: str = "M", inactivity_days: int = 180,
                  currency: str | None = None, retention: pd.DataFrame | None = None,
                  ) -> HeadlineKPIs:
    """Customers, retention and churn of the last period vs the previous one, and more.

    Parameters
    ----------
    client : ClientData
    period : {"W", "M", "Q"}
    inactivity_days : int
        Activity rule of clients without subscriptions (see :func:`period_retention`).
    currency : str, optional
        Defaults to ``client.json``'s.
    retention : DataFrame, optional
        A :func:`period_retention` table to reuse (computed when not given). With a year
        and two periods of history (14 months, 54 weeks or 6 quarters) the churn of the
        same two periods a year earlier is filled in too, so a change can be told from
        seasonality.

    Returns
    -------
    HeadlineKPIs
        Repeat purchase rate (:func:`retention_kit.metrics.repeat_purchase_rate`, purchase
        days per customer) and AOV (:func:`retention_kit.metrics.average_order_value`, an
        order being a customer's purchases of one day) cover the whole data window; NRR
        and GRR (:func:`retention_kit.metrics.revenue_retention`, the MRR of a year before
        the last complete month) only clients with subscriptions.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> k = headline_kpis(load_client(data_dir() / "demo" / "retailer"))
    >>> k.last_period, k.previous_period, k.customers
    ('2024-12', '2024-11', 4000)
    >>> round(k.churn, 4), round(k.repeat_purchase_rate, 3)
    (0.1059, 0.756)
    """
    from .metrics import average_order_value, repeat_purchase_rate

    per_year = round(12 / PERIODS[period][1])
    table = retention if retention is not None else period_retention(
        client, period=period, n_periods=per_year + 2, inactivity_days=inactivity_days)
    if len(table) < 2:
        raise data_error("fewer than two complete periods to compare",
                         fix="use a shorter period or more data")
    last, prev = table.iloc[-1], table.iloc[-2]
    if not last["start"] > 0 or not prev["start"] > 0:
        raise data_error(f"no active customers at the start of {table.index[-2]} or "
                         f"{table.index[-1]}, so no retention rate",
                         fix="check observation_end or use a longer period")
    seg = rfm_segmentation_summary(client.transactions, amount_col="amount",
                                   observation_end=client.observation_end)
    orders = int(seg["purchases"].sum())
    revenue = float(seg["total_spend"].sum())
    nrr_grr = (_trailing_revenue_retention(client.subscriptions, client.observation_end)
               if client.subscriptions is not None else None)
    tx = client.transactions
    year_ago: dict[str, Any] = {}
    back = table.index[-1] - per_year
    if back in table.index and (back - 1) in table.index:
        year_ago = {"year_ago_period": str(back),
                    "churn_year_ago": _finite(table.loc[back, "churn_rate"]),
                    "churn_previous_year_ago": _finite(table.loc[back - 1, "churn_rate"])}
    return HeadlineKPIs(**year_ago,
        client_id=client.client_id, display_name=client.display_name,
        currency=(currency if currency is not None else str(client.info.get("currency") or "")),
        period=period, last_period=str(table.index[-1]), previous_period=str(table.index[-2]),
        customers=int(len(seg)), active_customers=int(last["end"]),
        retention=float(last["retention_rate"]), retention_previous=float(prev["retention_rate"]),
        churn=float(last["churn_rate"]), churn_previous=float(prev["churn_rate"]),
        repeat_purchase_rate=float(repeat_purchase_rate(seg["purchases"])),
        aov=float(average_order_value(revenue, orders)), revenue=revenue, orders=orders,
        data_start=str(tx["date"].min().date()), data_end=str(client.observation_end.date()),
        activity_rule=str(table.attrs.get("rule", "")),
        nrr=None if nrr_grr is None else nrr_grr[0], grr=None if nrr_grr is None else nrr_grr[1])


def cohort_period(client: ClientData, period: str = "M") -> str:
    """Period for the cohort heatmap: quarters when monthly cohorts would be too many.

    More than 18 monthly (or 26 weekly) cohorts make an unreadable heatmap, so they are
    grouped by quarter.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> cohort_period(load_client(data_dir() / "demo" / "retailer"), "M")
    'Q'
    """
    span_days = (client.observation_end - client.transactions["date"].min()).days
    limit = {"W": 26 * 7, "M": 18 * 30.4, "Q": 10_000}[period]
    return "Q" if span_days > limit else period


# =====================================================================================
# models: CLV forecast and holdout check
# =====================================================================================


def _renewals(durations: pd.DataFrame) -> pd.DataFrame:
    """churn_durations of subscriptions -> sBG data: a current customer in her k-th month
    has renewed k - 1 times (the others' duration is the renewal at which they left)."""
    renewals = durations.assign(duration=durations["duration"]
                                - (~durations["churned"]).astype(int))
    return renewals.loc[renewals["duration"] >= 1]


def _sbg_value(model: Any, renewals: np.ndarray, *, horizon: int,
               discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Discounted expected payments in months 1..horizon and P(still paying at horizon),
    for customers who have renewed n times (payments at the end of each month)."""
    unique, codes = np.unique(renewals.astype(int), return_inverse=True)
    k = np.arange(1, horizon + 1)
    s_now = np.asarray(model.survival(unique), dtype=float)
    grid = np.asarray(model.survival((unique[:, None] + k[None, :]).ravel()),
                      dtype=float).reshape(len(unique), horizon)
    cond = grid / s_now[:, None]
    value = cond @ (1.0 + discount_rate) ** -k.astype(float)
    return value[codes], cond[:, -1][codes]


@dataclass(frozen=True)
class ClvForecast:
    """A CLV forecast over ``horizon_months`` (see :func:`forecast_clv`)."""

    clv: pd.Series
    """Discounted margin per customer over the horizon (0 for lost subscribers)."""
    alive: pd.Series
    """P(alive): MBG/NBD's probability that the customer is still active; for
    subscriptions, the probability she still pays at the end of the horizon (0 if gone)."""
    model: Any
    """The fitted transaction (MBG/NBD) or duration (sBG) model."""
    spend_model: Any
    """The fitted Gamma-Gamma model (None for subscriptions: the current MRR is used)."""
    method: str
    """One-line description of the method, for the report."""
    horizon_months: int


def forecast_clv(client: ClientData, *, horizon_months: int = 12, discount_rate: float = 0.01,
                 margin: float = 0.3) -> ClvForecast:
    """Forecast every customer's discounted margin over the next ``horizon_months``.

    * Clients without subscriptions: MBG/NBD (Batislam et al. 2007) on the BTYD summary
      in weeks, Gamma-Gamma on the repeat customers, and
      :func:`retention_kit.clv.customer_lifetime_value` with a monthly discount rate.
      MBG/NBD rather than BG/NBD so that one-time buyers can have left (BG/NBD gives them
      P(alive) = 1 however long ago they bought).
    * Subscription clients: sBG (Fader & Hardie 2007) on the renewals, and for each
      current subscriber margin x current MRR x sum over months k = 1..H of
      S(n + k) / S(n) / (1 + d)^k, with n her renewals so far. Lost subscribers are worth 0.

    Parameters
    ----------
    client : ClientData
    horizon_months : int
    discount_rate : float
        Per month, a fraction.
    margin : float
        Gross margin on revenue, a fraction.

    Returns
    -------
    ClvForecast

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> f = forecast_clv(load_client(data_dir() / "demo" / "subscription_box"))
    >>> f.method.split(" ")[0], len(f.clv), bool(f.clv.max() > 0)
    ('sBG', 3000, True)
    """
    from .clv import customer_lifetime_value
    from .models import MBGNBD, SBG, GammaGamma

    end = client.observation_end
    if client.subscriptions is not None:
        from .cohorts import churn_durations

        durations = churn_durations(client.subscriptions, observation_end=end)
        renewals = _renewals(durations)
        model = SBG().fit(renewals)
        current = durations.loc[~durations["churned"]]
        last_month = client.subscriptions["month"].dt.to_period("M") == pd.Period(end, "M")
        mrr = (client.subscriptions.loc[last_month.to_numpy()].groupby("customer_id")["mrr"]
               .sum().reindex(current.index, fill_value=0.0))
        value, alive_h = _sbg_value(model, (current["duration"] - 1).to_numpy(),
                                    horizon=horizon_months, discount_rate=discount_rate)
        clv = pd.Series(0.0, index=durations.index, name="clv")
        alive = pd.Series(0.0, index=durations.index, name="alive")
        clv.loc[current.index] = margin * mrr.to_numpy() * value
        alive.loc[current.index] = alive_h
        method = ("sBG for each subscriber's chance to keep paying month by month, times her "
                  f"current MRR, discounted at {discount_rate:.2%} a month")
        return ClvForecast(clv=clv, alive=alive, model=model, spend_model=None, method=method,
                           horizon_months=horizon_months)

    summary = rfm_summary(client.transactions, amount_col="amount", observation_end=end,
                          time_unit="W")
    model = MBGNBD().fit(summary)
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend = GammaGamma().fit(repeat)
    clv = customer_lifetime_value(model, spend, summary, time_unit="W", horizon=horizon_months,
                                  discount_period="M", discount_rate=discount_rate,
                                  margin=margin)
    alive = model.probability_alive(summary).rename("alive")
    method = ("MBG/NBD for purchases and Gamma-Gamma for spend, discounted at "
              f"{discount_rate:.2%} a month")
    return ClvForecast(clv=clv.rename("clv"), alive=alive, model=model, spend_model=spend,
                       method=method, horizon_months=horizon_months)


@dataclass(frozen=True)
class FitCheck:
    """The forecast model checked on a holdout period (see :func:`holdout_check`)."""

    model: str
    calibration_end: str
    holdout_end: str
    what: str
    """What was predicted: "repeat purchases" or "subscribers still paying"."""
    actual: float
    predicted: float
    tracking_error: float
    """predicted / actual - 1."""
    mae: float | None
    """Mean absolute error per customer (purchases), None for subscriptions."""

    @property
    def grade(self) -> str:
        """"good" (|tracking error| <= 10%), "fair" (<= 25%) or "poor"."""
        err = abs(self.tracking_error)
        return "good" if err <= 0.10 else "fair" if err <= 0.25 else "poor"

    def sentence(self) -> str:
        """One sentence for the report."""
        if self.what == "repeat purchases":
            claim = (f"predicted {self.predicted:,.0f} repeat purchases by its customers "
                     f"between then and {self.holdout_end}; they made {self.actual:,.0f}")
        else:
            claim = (f"predicted that {self.predicted:,.0f} of the subscribers of "
                     f"{self.calibration_end} would still pay on {self.holdout_end}; "
                     f"{self.actual:,.0f} did")
        return (f"Fitted on the data up to {self.calibration_end}, the {self.model} model "
                f"{claim} (error {self.tracking_error:+.1%}): a {self.grade} fit.")


def holdout_check(client: ClientData, *, holdout_months: int = 6) -> FitCheck:
    """Refit the forecast model without the last ``holdout_months`` and compare.

    Clients without subscriptions: MBG/NBD's expected repeat purchases of the
    calibration customers in the holdout against the actual ones
    (:func:`retention_kit.evaluation.holdout_evaluation`). Subscription clients: sBG's
    expected number of the calibration's current subscribers still paying at the end
    against the actual number.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> check = holdout_check(load_client(data_dir() / "demo" / "retailer"))
    >>> check.calibration_end, check.grade
    ('2024-06-30', 'good')
    """
    from .models import MBGNBD, SBG

    end = client.observation_end
    cal_end = (pd.Period(end, "M") - holdout_months).end_time.normalize()
    if cal_end <= client.transactions["date"].min():
        raise data_error(f"the holdout of {holdout_months} months leaves no calibration data",
                         fix="use a shorter holdout_months")
    if client.subscriptions is not None:
        from .cohorts import churn_durations

        subs = client.subscriptions
        before = subs.loc[subs["month"] <= cal_end]
        cal = churn_durations(before, observation_end=cal_end)
        model = SBG().fit(_renewals(cal))
        current = cal.loc[~cal["churned"]]
        months = int(round((end - cal_end).days / 30.4375))
        n = (current["duration"] - 1).to_numpy().astype(int)
        predicted = float(np.sum(np.asarray(model.survival(n + months), dtype=float)
                                 / np.asarray(model.survival(n), dtype=float)))
        final = churn_durations(subs, observation_end=end)
        actual = float((~final.loc[current.index, "churned"]).sum())
        return FitCheck(model="sBG", calibration_end=str(cal_end.date()),
                        holdout_end=str(end.date()), what="subscribers still paying",
                        actual=actual, predicted=predicted,
                        tracking_error=predicted / actual - 1 if actual else math.inf, mae=None)

    from .data import calibration_holdout_split
    from .evaluation import holdout_evaluation

    split = calibration_holdout_split(client.transactions, calibration_end=cal_end,
                                      observation_end=end, time_unit="W")
    model = MBGNBD().fit(split)
    metrics = holdout_evaluation(model, split).metrics
    return FitCheck(model="MBG/NBD", calibration_end=str(cal_end.date()),
                    holdout_end=str(end.date()), what="repeat purchases",
                    actual=float(metrics["actual_total"]),
                    predicted=float(metrics["predicted_total"]),
                    tracking_error=float(metrics["tracking_error"]), mae=float(metrics["mae"]))


# =====================================================================================
# segments, tiers, the value of a churn cut
# =====================================================================================


def segment_table(client: ClientData, forecast: ClvForecast | None = None) -> pd.DataFrame:
    """RFM segments with their share of customers, of past spend and of forecast value.

    :func:`retention_kit.segments.rfm_segments` on the segmentation summary (recency in
    days), :func:`retention_kit.segments.segment_summary` with the recommended actions of
    :func:`retention_kit.segments.default_segment_actions`. Empty segments are dropped.

    Returns
    -------
    DataFrame
        Indexed by ``segment``: ``customers``, ``share_customers``, ``share_spend`` (past
        spend), ``share_clv`` and ``mean_alive`` (with a forecast), ``strategy``,
        ``action``. ``attrs["notes"]`` holds the scoring notes (ties).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> t = segment_table(load_client(data_dir() / "demo" / "retailer"))
    >>> int(t["customers"].sum()), round(float(t["share_spend"].sum()), 6)
    (4000, 1.0)
    """
    from .segments import rfm_segments, segment_summary

    summary = rfm_segmentation_summary(client.transactions, amount_col="amount",
                                       observation_end=client.observation_end)
    segmented = rfm_segments(summary, warn=False)
    past = segment_summary(segmented, actions=True)
    out = pd.DataFrame({"customers": past["customers"],
                        "share_customers": past["share_customers"],
                        "share_spend": past["share_value"]})
    if forecast is not None:
        clv = forecast.clv.reindex(segmented.index, fill_value=0.0)
        alive = forecast.alive.reindex(segmented.index, fill_value=0.0)
        future = segment_summary(segmented, value=clv, alive=alive)
        out["share_clv"] = future["share_value"]
        out["mean_alive"] = future["mean_alive"]
    for col in ("strategy", "action"):
        if col in past.columns:
            out[col] = past[col]
    out = out.loc[out["customers"] > 0]
    bins = segmented.attrs.get("bins")
    out.attrs.update(kind="report_segments", notes=list(getattr(bins, "notes", []) or []))
    return out


def tier_table(forecast: ClvForecast, *, tiers: Sequence[float] = (0.01, 0.05, 0.2),
               ) -> pd.DataFrame:
    """CLV tiers (top 1 %, 1-5 %, 5-20 %, the rest) with their value and mean P(alive).

    :func:`retention_kit.segments.clv_tier_summary` over the customers with a positive
    forecast (lost subscribers are left out).

    Returns
    -------
    DataFrame
        Indexed by ``clv_tier``: ``customers``, ``share_customers``, ``clv_total``,
        ``share_value``, ``mean_clv``, ``min_clv``, ``cum_share_customers``,
        ``cum_share_value``, ``mean_alive``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> t = tier_table(forecast_clv(load_client(data_dir() / "demo" / "retailer")))
    >>> list(t.index)
    ['top 1%', 'top 1-5%', 'top 5-20%', 'bottom 80%']
    """
    from .segments import clv_tier_summary

    valued = forecast.clv.loc[forecast.clv > 0]
    if valued.empty:
        raise data_error("no customer has a positive forecast value",
                         fix="check margin and the data's amounts")
    return clv_tier_summary(valued, tiers=tiers, alive=forecast.alive.reindex(valued.index))


def churn_value(client: ClientData, retention: pd.DataFrame, *, margin: float,
                discount_rate: float, cuts: Sequence[float] = (0.1, 0.2, 0.3)) -> pd.DataFrame:
    """What cutting this client's churn by 10, 20 or 30 % is worth.

    :func:`retention_kit.experiments.churn_reduction_value` (the margin multiple
    m r / (1 + i - r) of Gupta & Lehmann 2003) with, per report period: the margin per
    active customer (margin x revenue of the periods in ``retention`` / active customers
    summed over them), the pooled retention rate of those periods (retained / start), the
    discount rate per period, and the customers active at the end.

    Parameters
    ----------
    client : ClientData
    retention : DataFrame
        A :func:`period_retention` table (its periods are used, 12 or more recommended).
    margin : float
        Gross margin on revenue.
    discount_rate : float
        Per report period.
    cuts : sequence of float
        Relative cuts of the churn rate (0.1 = churn 10 % lower).

    Returns
    -------
    DataFrame
        Indexed by ``reduction`` (churn points): ``retention_rate``, ``churn_rate``,
        ``clv``, ``gain`` (per customer), ``gain_pct``, ``total_gain`` (all active
        customers); ``attrs``: ``margin_per_period``, ``n_customers``, ``relative_cut``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> box = load_client(data_dir() / "demo" / "subscription_box")
    >>> v = churn_value(box, period_retention(box, n_periods=12), margin=0.3,
    ...                 discount_rate=0.01)
    >>> bool((v["gain"].diff().dropna() > 0).all()), v.attrs["relative_cut"]
    (True, [0.0, 0.1, 0.2, 0.3])
    """
    from .experiments import churn_reduction_value

    table = retention.dropna(subset=["retention_rate"])
    if table.empty:
        raise data_error("no period with active customers to value a churn cut",
                         fix="use a longer data window")
    period = str(table.attrs.get("period") or retention.attrs.get("period") or "M")
    first = table.index[0].start_time
    last = table.index[-1].end_time
    tx = client.transactions
    revenue = float(tx.loc[(tx["date"] >= first) & (tx["date"] <= last), "amount"].sum())
    active = float(table["end"].sum())
    per_customer = margin * revenue / active
    retained = float(table["retained"].sum()) / float(table["start"].sum())
    churn = 1 - retained
    relative = [0.0, *[float(c) for c in cuts]]
    out = churn_reduction_value(per_customer, retained, discount_rate,
                                reductions=[c * churn for c in relative],
                                n_customers=max(int(table["end"].iloc[-1]), 1))
    out.attrs.update(margin_per_period=per_customer, n_customers=int(table["end"].iloc[-1]),
                     relative_cut=relative, period=period)
    return out


def format_table(table: pd.DataFrame, *, currency: str = "", table_id: str | None = None,
                 ) -> _HTML:
    """A report table as escaped HTML, numbers formatted by column name.

    ``share_*``, ``*_rate``, ``mean_alive`` and ``gain_pct`` become percentages,
    ``customers`` whole numbers, ``clv*``, ``*_clv``, ``gain`` and ``total_gain`` money.

    Examples
    --------
    >>> t = pd.DataFrame({"customers": [1200], "share_value": [0.4567], "mean_clv": [81.5]},
    ...                  index=pd.Index(["top 1%"], name="clv_tier"))
    >>> page = format_table(t, currency="EUR")
    >>> page[page.index("<tbody>"):]
    '<tbody><tr><td>top 1%</td><td>1,200</td><td>45.7%</td><td>€81.50</td></tr></tbody></table>'
    """
    labels = {"clv_tier": "CLV tier", "segment": "Segment", "reduction": "Churn cut",
              "customers": "Customers", "share_customers": "Share of customers",
              "share_spend": "Share of past spend", "share_clv": "Share of forecast value",
              "share_value": "Share of value", "clv_total": "Forecast value",
              "mean_clv": "Mean CLV", "min_clv": "Lowest CLV",
              "cum_share_value": "Cumulative share of value", "mean_alive": "Mean P(alive)",
              "strategy": "Strategy", "action": "Recommended action",
              "retention_rate": "Retention rate", "churn_rate": "Churn rate",
              "clv": "Value per customer", "gain": "Gain per customer",
              "gain_pct": "Gain (%)", "total_gain": "Gain, all active customers"}

    def cell(col: str, value: object) -> str:
        if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
                value, bool):
            return str(value)
        if not math.isfinite(float(value)):
            return "n/a"
        if col.startswith("share_") or col.endswith("_rate") or col in (
                "mean_alive", "gain_pct", "cum_share_value"):
            return _pct(float(value))
        if col == "customers":
            return f"{int(value):,}"
        if col in ("clv", "gain", "total_gain") or col.endswith("_clv") or col.startswith("clv_"):
            return format_money(float(value), currency)
        if col == "reduction":
            return f"-{100 * float(value):.1f} pts" if float(value) > 0 else "none"
        return str(value)

    index_name = str(table.index.name or "")
    header = [labels.get(index_name, index_name)] + [labels.get(str(c), str(c))
                                                     for c in table.columns]
    rows = [[cell(index_name, idx)] + [cell(str(c), v) for c, v in zip(table.columns, row,
                                                                      strict=True)]
            for idx, row in zip(table.index, table.itertuples(index=False), strict=True)]
    return _table_html(rows, header, table_id=table_id)


# =====================================================================================
# generated text
# =====================================================================================


def html_list(items: Iterable[str], *, ordered: bool = False, css: str = "rk-list") -> _HTML:
    """Report text items as an escaped HTML list (displayed as HTML in a notebook).

    Examples
    --------
    >>> print(html_list(["a < b", "c"], ordered=True))
    <ol class="rk-list"><li>a &lt; b</li><li>c</li></ol>
    """
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{_esc(item)}</li>" for item in items)
    return _HTML(f'<{tag} class="{_esc(css)}">{body}</{tag}>')


def report_header(client: ClientData, settings: ReportSettings) -> _HTML:
    """The report's title block: client name, business, data window, main settings."""
    kind = ("subscription business (churn is observed)" if client.contractual
            else "shop without subscriptions (churn is inferred)")
    desc = str(client.info.get("description") or "")
    tx = client.transactions
    facts = (f"Data from {tx['date'].min().date()} to {client.observation_end.date()}, "
             f"{tx['customer_id'].nunique():,} customers. Rates per {settings.period_name}; "
             f"forecasts over {settings.forecast_months} months at a {settings.margin:.0%} "
             f"gross margin.")
    return _HTML(f'<h2 class="rk-client">{_esc(client.display_name)}</h2>'
                 f"<p><strong>{_esc(kind[:1].upper() + kind[1:])}</strong>"
                 f"{'. ' + _esc(desc) if desc else ''}</p><p>{_esc(facts)}</p>")


def curve_sentence(curve: pd.DataFrame, period: str = "M", *, contractual: bool = False) -> str:
    """One sentence reading an average retention curve at a few ages.

    Examples
    --------
    >>> curve = pd.DataFrame({"retention": [1.0, 0.4, 0.35, 0.3], "n_cohorts": [4, 3, 2, 1]},
    ...                      index=pd.Index([0, 1, 2, 3], name="period"))
    >>> curve_sentence(curve)
    "Share of a month's new customers who buy again k months later: 40.0% (k = 1), 30.0% (k = 3)."
    """
    name = PERIODS.get(period, ("period",))[0]
    marks = [k for k in (1, 3, 6, 12, 24) if k in curve.index]
    if not marks:
        return "Too few periods yet to read a retention curve."
    verb = "still pay" if contractual else "buy again"
    parts = ", ".join(f"{_pct(curve.loc[k, 'retention'])} (k = {k})" for k in marks)
    return f"Share of a {name}'s new customers who {verb} k {name}s later: {parts}."


def survival_sentence(result: Any, *, at: Sequence[float] = (6, 12, 24)) -> str:
    """One sentence reading a Kaplan-Meier curve (months): share still customers, median.

    Examples
    --------
    >>> from retention_kit.cohorts import survival
    >>> d = pd.DataFrame({"duration": [1.0, 2, 3, 5, 12, 30, 36],
    ...                   "churned": [True] * 5 + [False] * 2})
    >>> print(survival_sentence(survival(d), at=(6, 12)))
    Still customers after 6 months: 42.9%; after 12 months: 28.6%. Half of the customers
    were gone after 5 months.
    """
    table = result.table
    curve = table.loc[table["group"] == table["group"].iloc[0]]
    parts = []
    for t in at:
        if t <= float(curve["time"].max()):
            value = float(curve.loc[curve["time"] <= t, "survival"].iloc[-1])
            parts.append(f"after {t:g} months: {_pct(value)}")
    text = ("Still customers " + "; ".join(parts) + ".") if parts else ""
    median = float(result.summary["median"].iloc[0])
    if math.isfinite(median):
        text += f" Half of the customers were gone after {median:g} months."
    else:
        text += " More than half of the customers are still customers at the end of the data."
    return text.strip()

_AT_RISK = ("Can't Lose Them", "At Risk", "About to Sleep", "Need Attention")


def next_steps(kpis: HeadlineKPIs, *, segments: pd.DataFrame | None = None,
               tiers: pd.DataFrame | None = None, value: pd.DataFrame | None = None,
               fit: FitCheck | None = None, horizon_months: int = 12) -> list[str]:
    """A short, numbered-list-ready "what to do next", generated from the numbers.

    Rules, in this order: a change in churn of a point or more (called seasonal when the
    same two periods a year earlier moved the same way by at least half as much); the
    at-risk segment holding the most past spend, with its recommended action; the
    concentration of forecast value in the top 20 %; the value of a 10 % churn cut (what a
    programme may cost); a low repeat purchase rate (below 40 %, shops only); revenue
    retention below 100 % (NRR) or 90 % (GRR); a forecast model that missed the holdout by
    more than 10 %.

    Returns
    -------
    list of str

    Examples
    --------
    >>> k = HeadlineKPIs(client_id="c", display_name="C", currency="EUR", period="M",
    ...                  last_period="2024-12", previous_period="2024-11", customers=100,
    ...                  active_customers=50, retention=0.85, retention_previous=0.9,
    ...                  churn=0.15, churn_previous=0.10, repeat_purchase_rate=0.3, aov=20.0,
    ...                  revenue=2000.0, orders=100, data_start="2024-01-01",
    ...                  data_end="2024-12-31", activity_rule="a purchase in the last 180 days")
    >>> for line in next_steps(k):
    ...     print(line[:72])
    Churn rose from 10.0% in 2024-11 to 15.0% in 2024-12 (+5.0 pts). Compare
    Only 30.0% of customers bought more than once: a second-purchase offer t
    """
    steps: list[str] = []
    cur = kpis.currency
    name = PERIODS.get(kpis.period, ("period",))[0]
    delta = kpis.churn - kpis.churn_previous
    moved = "rose" if delta > 0 else "fell"
    change = (f"Churn {moved} from {_pct(kpis.churn_previous)} in {kpis.previous_period} to "
              f"{_pct(kpis.churn)} in {kpis.last_period} ({_pts(delta)})")
    last_year = ""
    seasonal = False
    if kpis.churn_year_ago is not None and kpis.churn_previous_year_ago is not None:
        before = kpis.churn_year_ago - kpis.churn_previous_year_ago
        seasonal = before * delta > 0 and abs(before) >= abs(delta) / 2
        last_year = (f"{_pct(kpis.churn_previous_year_ago)} to {_pct(kpis.churn_year_ago)} in "
                     f"{kpis.year_ago_period}")
    if math.isfinite(delta) and abs(delta) >= 0.01:
        if seasonal:
            steps.append(
                f"{change}, as it did a year earlier ({last_year}): a seasonal swing rather "
                f"than a trend. Judge {kpis.last_period} against {kpis.year_ago_period} "
                f"({_pct(kpis.churn_year_ago)}) rather than against the {name} before.")
        else:
            context = f" A year earlier it did not ({last_year})." if last_year else ""
            advice = (f"Compare the customers lost in {kpis.last_period} with those who "
                      f"stayed (product, channel, service contacts, prices) to find the cause "
                      f"before choosing a programme." if delta > 0 else
                      f"Find out what changed and keep doing it; check next {name} that the "
                      f"fall holds.")
            steps.append(f"{change}.{context} {advice}")
    if segments is not None and "share_spend" in segments.columns:
        risky = segments.loc[[s for s in _AT_RISK if s in segments.index]]
        risky = risky.loc[risky["customers"] > 0]
        if not risky.empty:
            top = risky["share_spend"].idxmax()
            row = risky.loc[top]
            action = str(row.get("action", "")).rstrip(".")
            steps.append(
                f"Act on the '{top}' segment: {int(row['customers']):,} customers "
                f"({_pct(row['share_customers'])}) who brought {_pct(row['share_spend'])} of "
                f"past spending have gone quiet. Recommended: {action[:1].lower()}"
                f"{action[1:]}." if action else
                f"Act on the '{top}' segment: {int(row['customers']):,} customers who brought "
                f"{_pct(row['share_spend'])} of past spending have gone quiet.")
    if tiers is not None and len(tiers) >= 2 and "cum_share_value" in tiers.columns:
        top20 = tiers.iloc[:-1]
        share = float(top20["cum_share_value"].iloc[-1])
        customers = int(top20["customers"].sum())
        total = float(top20["clv_total"].sum())
        steps.append(
            f"Protect the most valuable customers: the top {customers:,} "
            f"({_pct(float(top20['share_customers'].sum()), 0)}) hold {_pct(share, 0)} of the "
            f"next {horizon_months} months' forecast value ({format_money(total, cur)}); give "
            f"them priority service and watch their activity every {name}.")
    if value is not None and len(value) >= 2:
        row = value.iloc[1]
        cut = value.attrs.get("relative_cut", [0, 0.1])[1]
        steps.append(
            f"Cutting churn by {cut:.0%} (from its average of the last year, "
            f"{_pct(value.iloc[0]['churn_rate'])} a {name}, to {_pct(row['churn_rate'])}) is "
            f"worth about {format_money(row['gain'], cur)} "
            f"per active customer, {format_money(row['total_gain'], cur)} across the "
            f"{value.attrs.get('n_customers', 0):,} active customers: a retention programme "
            f"costing less is worth testing against a control group before rolling it out.")
    if kpis.nrr is None and kpis.repeat_purchase_rate < 0.4:
        steps.append(
            f"Only {_pct(kpis.repeat_purchase_rate)} of customers bought more than once: a "
            f"second-purchase offer to recent first-time buyers is the cheapest lever; "
            f"measure it on repeat purchases within 90 days.")
    if kpis.nrr is not None and kpis.grr is not None:
        if kpis.nrr < 1:
            steps.append(
                f"Net revenue retention is {_pct(kpis.nrr)}: a year on, the subscribers of a "
                f"year ago pay {_pct(1 - kpis.nrr)} less. Reduce cancellations first; "
                f"upgrades cannot make up for them.")
        elif kpis.grr < 0.9:
            steps.append(
                f"Expansion hides losses: net revenue retention is {_pct(kpis.nrr)} but gross "
                f"retention only {_pct(kpis.grr)}. Track cancelled and downgraded revenue "
                f"separately from upgrades.")
    if fit is not None and fit.grade != "good":
        steps.append(
            f"Treat the forecast figures as rough: the model missed the last months by "
            f"{fit.tracking_error:+.0%} ({fit.grade} fit). Seasonality or a recent change in the "
            f"business are the usual causes; re-check before budgeting on them.")
    return steps


def caveats(client: ClientData, kpis: HeadlineKPIs, *, fit: FitCheck | None = None,
            forecast: ClvForecast | None = None, segments: pd.DataFrame | None = None,
            margin: float | None = None, inactivity_days: int | None = None,
            extra: Iterable[str] = ()) -> list[str]:
    """What the reader should keep in mind: data window, definitions, model fit.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> shop = load_client(data_dir() / "demo" / "retailer")
    >>> notes = caveats(shop, headline_kpis(shop), inactivity_days=180)
    >>> notes[0][:72]
    'The data run from 2022-01-01 to 2024-12-31 (4,000 customers, 18,481 purc'
    >>> notes[1][:60]
    'Customers never announce that they left: here a customer cou'
    """
    notes = [f"The data run from {kpis.data_start} to {kpis.data_end} ({kpis.customers:,} "
             f"customers, {len(client.transactions):,} purchases); rates use complete periods "
             f"only, the last one being {kpis.last_period}."]
    if client.contractual:
        notes.append("Churn is observed: a subscriber is active in a month she pays for, and "
                     "lost when she stops paying.")
    else:
        days = inactivity_days if inactivity_days is not None else 180
        notes.append(f"Customers never announce that they left: here a customer counts as lost "
                     f"after {days} days without a purchase. Another rule gives other rates.")
    if fit is not None:
        notes.append(fit.sentence())
    if forecast is not None:
        gross = f"a gross margin of {margin:.0%} (an assumption; pass your own)" if (
            margin is not None) else "the given margin"
        notes.append(f"Forecast values are margin, not revenue: {forecast.method}, with {gross}; "
                     f"they cover today's customers only, not the ones still to be acquired.")
        if client.contractual and kpis.nrr is not None and kpis.nrr > 1:
            notes.append(f"Subscription values assume today's MRR; with net revenue retention "
                         f"of {_pct(kpis.nrr)} they leave out expansion and are conservative.")
    if segments is not None:
        notes += [f"Segment scores: {n}" for n in segments.attrs.get("notes", [])][:2]
    notes += [str(e) for e in extra]
    return notes


# =====================================================================================
# the batch: file names, HTML, error pages, the index, run_reports
# =====================================================================================

_RESERVED = {"index", "con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def safe_name(client_id: object) -> str:
    """A file name for a client's report that cannot leave the output folder.

    Lower-case ASCII letters, digits, ``-`` and ``_`` only (so no path separator, no
    ``..``, no leading dot, no drive letter), at most 60 characters. An id that had to be
    changed (or is a reserved name such as ``index`` or ``con``) gets the first 8 hex
    digits of its SHA-1 appended, so two different ids never share a name. Empty ids
    become ``client-<hash>``.

    Examples
    --------
    >>> safe_name("retailer")
    'retailer'
    >>> safe_name("../../etc/passwd")
    'etc-passwd-936d7c04'
    >>> safe_name("/abs/path"), safe_name("Café Noir"), safe_name("index")
    ('abs-path-16a4cd88', 'cafe-noir-727fe360', 'index-e540cdd1')
    >>> safe_name("")
    'client-da39a3ee'
    """
    text = str(client_id)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower()).strip("-_")[:60].strip("-_")
    if slug and slug == text and slug not in _RESERVED:
        return slug
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug or 'client'}-{digest}"


def _inside(folder: Path, name: str, suffix: str) -> Path:
    """``folder / (name + suffix)``, refusing anything that would resolve elsewhere."""
    path = (folder / f"{name}{suffix}").resolve()
    if path.parent != folder.resolve() or not re.fullmatch(r"[a-z0-9_-]+", name) or (
            "/" in suffix or ".." in suffix):
        raise ValueError(f"refusing to write {path}: outside {folder}")
    return path


def discover_clients(data_dir: str | os.PathLike[str], only: Sequence[str] | None = None,
                     ) -> dict[str, Path]:
    """The client folders of a data folder: each sub-folder holding ``transactions.csv``.

    Parameters
    ----------
    data_dir : path
        The ``--data`` folder (``datasets/demo`` layout).
    only : sequence of str, optional
        Client ids to keep, in this order; an unknown id raises, naming the valid ones.

    Returns
    -------
    dict
        Client id (the folder's name) -> folder, sorted by id.

    Raises
    ------
    DataError
        No such folder, no client in it, or an unknown id in ``only``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> list(discover_clients(data_dir() / "demo", only=["retailer", "b2b_saas"]))
    ['retailer', 'b2b_saas']
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise data_error(f"the data folder {str(root)!r} does not exist",
                         fix="pass --data as a folder with one sub-folder per client")
    found = {p.name: p for p in sorted(root.iterdir())
             if p.is_dir() and (p / "transactions.csv").is_file()}
    if not found:
        raise data_error(f"no client folder (a sub-folder with transactions.csv) in {str(root)!r}",
                         fix="put each client's transactions.csv in its own sub-folder")
    if only is None:
        return found
    out = {}
    for cid in only:
        check_choice("clients", cid, list(found))
        out[cid] = found[cid]
    return out


@dataclass
class ReportResult:
    """What happened to one client's report (see :func:`run_reports`)."""

    client_id: str
    name: str
    """The safe file name (without extension)."""
    status: Literal["ok", "failed"]
    html: Path
    """The report, or the error page of a failed report."""
    notebook: Path | None
    """The executed notebook (kept for debugging), when one was written."""
    seconds: float
    kpis: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error: str | None = None
    """The exception message of a failed report."""
    failed_step: str | None = None
    """The failing cell's first comment line (what it was doing)."""
    failed_cell: int | None = None
    """Index (from 0) of the failing cell in the saved executed notebook."""
    traceback: str = ""
    display_name: str = ""
    """The client's name from its ``client.json`` (empty when unknown)."""

    @property
    def ok(self) -> bool:
        """True when the report was produced."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (paths as strings)."""
        out = asdict(self)
        out["html"] = str(self.html)
        out["notebook"] = None if self.notebook is None else str(self.notebook)
        return out


class _ResourceFinder(HTMLParser):
    _LOADING = {"src", "srcset", "poster", "data", "background", "formaction", "action"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    @staticmethod
    def _remote(url: str) -> bool:
        u = url.strip().lower()
        return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", u)) and not u.startswith("file:")

    def _css(self, text: str) -> None:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            if self._remote(url):
                self.urls.append(url.strip())
        for url in re.findall(r"@import\s+['\"]([^'\"]+)", text):  # url(...) is above
            if self._remote(url):
                self.urls.append(url.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for key, value in attrs:
            if value is None:
                continue
            if key in self._LOADING or (key == "href" and tag not in ("a", "area")):
                candidates = value.split(",") if key == "srcset" else [value]
                for item in candidates:
                    url = item.strip().split(" ")[0]
                    if self._remote(url):
                        self.urls.append(url)
            elif key == "style":
                self._css(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)


def external_resources(page: str) -> list[str]:
    """URLs a page would fetch from another machine (scripts, styles, images, fonts...).

    Looks at every loading attribute (``src``, ``srcset``, ``href`` of anything but a
    link, ``poster``, ``data``, ``action``...) and at CSS ``url()`` and ``@import`` in
    ``<style>`` blocks and ``style`` attributes. ``http:``, ``https:`` and
    protocol-relative (``//host``) URLs count; ``data:`` and relative URLs do not, nor do
    plain links (``<a href>``), which load nothing until clicked.

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/x.js"></script>'
    ...                    '<img src="data:image/png;base64,AAAA"><a href="https://a.b">a</a>'
    ...                    '<style>@font-face {src: url(//fonts.example/f.woff)}</style>')
    ['https://cdn.example/x.js', '//fonts.example/f.woff']
    """
    finder = _ResourceFinder()
    finder.feed(page)
    finder.close()
    return finder.urls


_REPORT_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
.jp-RenderedHTMLCommon table.rk-table { border-collapse: collapse; margin: 0.6rem 0 1rem;
  font-size: 0.95em; table-layout: auto; }
.jp-RenderedHTMLCommon table.rk-table th, .jp-RenderedHTMLCommon table.rk-table td {
  border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.7rem; text-align: left;
  vertical-align: top; max-width: 32rem; }
.jp-RenderedHTMLCommon table.rk-table th { background: #f3f5f7; }
.jp-RenderedHTMLCommon table.rk-kpis td:nth-child(2) { font-weight: 600; white-space: nowrap; }
.rk-next li, .rk-caveats li { margin-bottom: 0.4rem; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
"""

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">""" + _REPORT_CSS + """</style>
{%- endblock extra_css -%}
"""

_LOCAL = threading.local()


def _exporter() -> Any:
    """One HTMLExporter per thread: the lab template without its CDN scripts."""
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="lab", extra_loaders=[DictLoader({"rk_report.html.j2": _TEMPLATE})],
            template_file="rk_report.html.j2", exclude_input=True, exclude_input_prompt=True,
            exclude_output_prompt=True, embed_images=True)
        _LOCAL.exporter = exporter
    return exporter


def notebook_to_html(nb: Any, *, title: str | None = None) -> str:
    """An executed report notebook as one self-contained, offline HTML page.

    nbconvert's lab template with the code cells' input hidden (``exclude_input``),
    images embedded as ``data:`` URIs, and require.js, MathJax, mermaid and the widget
    manager (which the stock template loads from CDNs) left out. The kernel's stderr
    (warnings) is dropped from the page; it stays in the executed notebook.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    title : str, optional
        The page's ``<title>``.

    Returns
    -------
    str

    Raises
    ------
    RuntimeError
        If the page would still load anything from another machine (a bug guard; see
        :func:`external_resources`).
    """
    import copy

    page_nb = copy.deepcopy(nb)
    for cell in page_nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream"
                                       and o.get("name") == "stderr")]
    if title:
        page_nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(page_nb)
    remote = external_resources(body)
    if remote:
        raise RuntimeError(f"the report would load {len(remote)} external resource(s), "
                           f"first {remote[0]!r}; it must open offline")
    return body


def _page(title: str, body: str) -> str:
    css = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  max-width: 1200px; margin: 0 auto; padding: 1.5rem 2rem; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.4rem 0.7rem; text-align: left; }
th { background: #f3f5f7; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; font-size: 0.85em; }
code { background: #f6f8fa; padding: 0 0.2rem; }
"""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n"
            f"</body>\n</html>\n")


def error_page(result: ReportResult) -> str:
    """The page a failed client gets instead of a report: what failed, where, the message.

    Examples
    --------
    >>> r = ReportResult(client_id="<broken>", name="broken-1", status="failed",
    ...                  html=Path("broken-1.html"), notebook=None, seconds=1.0,
    ...                  error_type="DataError", error="amounts are negative.",
    ...                  failed_step="Check the parameters and the client's data",
    ...                  failed_cell=2)
    >>> page = error_page(r)
    >>> "&lt;broken&gt;" in page and "DataError" in page and "(cell 3 of the" in page
    True
    """
    where = (f"{_esc(result.failed_step or 'running the report')}"
             + (f" (cell {result.failed_cell + 1} of the executed notebook)"
                if result.failed_cell is not None else ""))
    nb_link = (f'<p>The executed notebook, for debugging: <a href="{_esc(result.notebook.name)}">'
               f"{_esc(result.notebook.name)}</a>.</p>"
               if result.notebook is not None and result.notebook.exists() else "")
    trace = (f"<details><summary>Traceback</summary><pre>{_esc(result.traceback)}</pre>"
             f"</details>" if result.traceback else "")
    body = f"""<h1>Report for {_esc(result.display_name or result.client_id)}: failed</h1>
<p class="status-failed">The report could not be produced. The other clients' reports are not
affected.</p>
<table id="error-summary">
<tr><th>Client</th><td>{_esc(result.client_id)}</td></tr>
<tr><th>Failed step</th><td>{where}</td></tr>
<tr><th>Error</th><td>{_esc(result.error_type or "Error")}</td></tr>
<tr><th>Message</th><td id="error-message">{_esc(result.error or "")}</td></tr>
</table>
{nb_link}
{trace}
<p><a href="index.html">All reports</a></p>"""
    return _page(f"Report for {result.display_name or result.client_id}: failed", body)


def write_index(results: Sequence[ReportResult], out_dir: str | os.PathLike[str], *,
                title: str = "Customer retention reports") -> Path:
    """Write ``index.html`` (and ``index.json``) linking every report with KPIs and status.

    Returns
    -------
    Path
        The index page.
    """
    folder = Path(out_dir)
    rows = []
    for r in results:
        k = r.kpis or {}
        cur = str(k.get("currency") or "")
        name = str(k.get("display_name") or r.display_name or r.client_id)
        link = f'<a href="{_esc(r.html.name)}">{_esc(name)}</a>'
        nb = (f' · <a href="{_esc(r.notebook.name)}">notebook</a>'
              if r.notebook is not None and r.notebook.exists() else "")
        status = ('<span class="status-ok">ok</span>' if r.ok else
                  f'<span class="status-failed">failed</span>: {_esc(r.failed_step or "")} '
                  f"({_esc(r.error_type or 'error')})")

        def num(key: str, fmt: Callable[[Any], str], k: dict = k) -> str:
            value = k.get(key)
            return "" if value is None else _esc(fmt(value))

        rows.append(
            f'<tr class="report-row" data-status="{r.status}" data-client="{_esc(r.client_id)}">'
            f"<td>{link}{nb}<br><small>{_esc(r.client_id)}</small></td>"
            f'<td class="status">{status}</td>'
            f"<td>{num('customers', lambda v: f'{int(v):,}')}</td>"
            f"<td>{num('retention', _pct)}</td><td>{num('churn', _pct)}</td>"
            f"<td>{num('repeat_purchase_rate', _pct)}</td>"
            f"<td>{num('aov', lambda v, c=cur: format_money(v, c))}</td>"
            f"<td>{num('nrr', _pct)}</td>"
            f"<td>{r.seconds:.1f}</td></tr>")
    n_ok = sum(r.ok for r in results)
    body = f"""<h1>{_esc(title)}</h1>
<p>{n_ok} of {len(results)} reports produced{'' if n_ok == len(results) else
        f"; {len(results) - n_ok} failed (their pages say why)"}. Rates are for each client's
last complete period.</p>
<table id="report-index">
<thead><tr><th>Client</th><th>Status</th><th>Customers</th><th>Retention</th><th>Churn</th>
<th>Repeat purchase rate</th><th>AOV</th><th>NRR</th><th>Seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    index = folder / "index.html"
    index.write_text(_page(title, body), encoding="utf-8")
    (folder / "index.json").write_text(
        json.dumps([r.to_dict() for r in results], indent=1, default=str), encoding="utf-8")
    return index


def _step_label(source: str) -> str:
    for line in str(source).splitlines():
        text = line.strip()
        if text.startswith("#") and not text.upper().startswith("# NBVAL"):
            return text.lstrip("#").strip()
        if text:
            return text[:80]
    return "a cell"


def _find_kpis(nb: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if KPI_MIME in data:
                value = data[KPI_MIME]
                found = json.loads(value) if isinstance(value, str) else dict(value)
    return found


#: Environment of the report kernels: one BLAS/OpenMP thread each (reports run side by
#: side, one per core), no debugger file-validation warning.
_KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def _kernel_manager_class(log_path: Path) -> Any:
    """An AsyncKernelManager whose kernels run with :data:`_KERNEL_ENV` and write their own
    output (the kernel's log, not the cells') to ``log_path`` instead of the terminal."""
    from jupyter_client.manager import AsyncKernelManager

    class ReportKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **_KERNEL_ENV}
            with open(log_path, "a", encoding="utf-8") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super().start_kernel(**kw)

    return ReportKernelManager


def _running_cell(nb_path: Path) -> tuple[int | None, str]:
    """The cell papermill marked as running (or failed) in a saved notebook, if any."""
    try:
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - no notebook written: no cell to name
        return None, ""
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("exception") or meta.get("status") == "running":
            return i, str(cell.get("source", ""))
    return None, ""


@dataclass(frozen=True)
class _Job:
    client_id: str
    name: str
    notebook: str
    out_dir: str
    parameters: dict[str, Any]
    timeout: float | None
    kernel_name: str
    display_name: str = ""


def _display_name(folder: str, client_id: str) -> str:
    """``client.json``'s display name, read by the driver (so failed reports have it too)."""
    try:
        path = Path(folder) if folder else _demo_folder(client_id)
        return str(_read_info(path).get("display_name") or "")
    except (ValueError, OSError):
        return ""


#: Startup failures of a kernel (not of the notebook's code), retried with a new kernel.
_KERNEL_START_FAILURE = re.compile(r"Kernel died before replying to kernel_info|"
                                   r"Kernel didn't respond in \d+ seconds")
_KERNEL_START_ATTEMPTS = 3


def _execute(job: _Job) -> ReportResult:
    """Run one report (in a worker): papermill, then HTML or an error page."""
    start = time.perf_counter()
    folder = Path(job.out_dir)
    html_path = _inside(folder, job.name, ".html")
    nb_path = _inside(folder, job.name, ".ipynb")
    log_path = _inside(folder, job.name, ".kernel.log")
    log_path.unlink(missing_ok=True)
    result = ReportResult(client_id=job.client_id, name=job.name, status="ok", html=html_path,
                          notebook=nb_path, seconds=0.0, display_name=job.display_name)
    stage = "starting the notebook's kernel"
    try:
        import papermill

        stage = "running the notebook"
        for attempt in range(_KERNEL_START_ATTEMPTS):
            try:
                nb = papermill.execute_notebook(
                    job.notebook, str(nb_path), parameters=job.parameters,
                    kernel_name=job.kernel_name, progress_bar=False, log_output=False,
                    request_save_on_cell_execute=False, execution_timeout=job.timeout,
                    start_timeout=120, kernel_manager_class=_kernel_manager_class(log_path))
                break
            except RuntimeError as exc:
                # Kernels started at the same moment can race for a TCP port and die before
                # answering (a known jupyter_client race): start a fresh kernel, a few times.
                if not _KERNEL_START_FAILURE.search(str(exc)) or \
                        attempt == _KERNEL_START_ATTEMPTS - 1:
                    raise
        stage = "converting the notebook to HTML"
        result.kpis = _find_kpis(nb)
        title = f"{result.kpis.get('display_name') or job.client_id}: customer retention report"
        html_path.write_text(notebook_to_html(nb, title=title), encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error page
        result.status = "failed"
        result.error_type = str(getattr(exc, "ename", "") or type(exc).__name__)
        result.error = _ANSI.sub("", str(getattr(exc, "evalue", "") or exc)).strip()
        # The saved notebook's failing cell (papermill inserts an error banner at the top,
        # so its index is one more than exc.cell_index); else what the exception says.
        cell, source = _running_cell(nb_path) if stage == "running the notebook" else (None, "")
        if cell is None and getattr(exc, "cell_index", None) is not None:
            cell, source = exc.cell_index, getattr(exc, "source", "")  # type: ignore[attr-defined]
        result.failed_step = _step_label(source) if cell is not None else stage
        result.failed_cell = None if cell is None else int(cell)
        trace = getattr(exc, "traceback", None)
        if isinstance(trace, list | tuple):
            result.traceback = _ANSI.sub("", "\n".join(map(str, trace)))
        else:
            import traceback as tb

            result.traceback = "".join(tb.format_exception(exc))
            if log_path.is_file():
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
                result.traceback += f"\n--- kernel log ({log_path.name}) ---\n{tail}"
        if not nb_path.exists():
            result.notebook = None
        result.html.write_text(error_page(result), encoding="utf-8")
    else:
        log_path.unlink(missing_ok=True)  # kept only to debug a failed report
    result.seconds = time.perf_counter() - start
    return result


class _Progress:
    """A plain-text progress bar: one line per finished report."""

    def __init__(self, total: int, stream: IO[str] | None, width: int = 24) -> None:
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.start = time.perf_counter()

    def update(self, result: ReportResult) -> None:
        self.done += 1
        if self.stream is None:
            return
        filled = round(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        status = "ok" if result.ok else f"FAILED ({result.error_type})"
        self.stream.write(f"[{bar}] {self.done}/{self.total} {elapsed:6.1f}s  "
                          f"{result.client_id}: {status}\n")
        self.stream.flush()


def _normalise_clients(clients: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if isinstance(clients, Mapping):
        for cid, folder in clients.items():
            items.append((str(cid), "" if folder in (None, "") else str(Path(folder).resolve())))
    elif isinstance(clients, str | os.PathLike):
        raise TypeError("clients must be a list of client ids or folders, or a mapping id -> "
                        "folder; wrap a single client in a list")
    else:
        for item in clients:
            if isinstance(item, os.PathLike):
                path = Path(item)
                items.append((path.name, str(path.resolve())))
            else:
                items.append((str(item), ""))
    seen: set[str] = set()
    unique = []
    for cid, folder in items:
        if cid not in seen:
            seen.add(cid)
            unique.append((cid, folder))
    return unique


def notebook_parameters(notebook: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The report notebook's parameters: name -> papermill's inferred type and default."""
    import papermill

    return papermill.inspect_notebook(str(notebook or REPORT_NOTEBOOK))


def run_reports(
    clients: Mapping[str, str | os.PathLike[str] | None] | Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str],
    workers: int = 2,
    parameters: Mapping[str, Any] | None = None,
    progress: bool | IO[str] = True,
    notebook: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    executor: Literal["thread", "process"] = "thread",
    kernel_name: str = "python3",
) -> list[ReportResult]:
    """Generate one HTML report per client, in parallel, and an index page.

    Each client's report is the report notebook executed by papermill (one kernel per
    report) with ``client_id`` and ``data_dir`` set for the client and ``parameters`` for
    all. In ``out_dir`` each client gets ``<name>.html`` (the report, or an error page
    saying which step failed and why) and ``<name>.ipynb`` (the executed notebook), where
    ``name`` is :func:`safe_name` of the client id, so no id can write outside
    ``out_dir``. ``index.html`` links every report with its headline KPIs and status,
    ``index.json`` has the same for programs. A failing client never stops the others.

    Parameters
    ----------
    clients : mapping or iterable
        A mapping client id -> data folder (None or "" for the bundled demo client of that
        id, e.g. from :func:`discover_clients`), or an iterable of client ids (str: demo
        clients) and data folders (:class:`pathlib.Path`: the folder's name is the id).
    out_dir : path
        Output folder (created).
    workers : int, default 2
        Reports run at the same time (each in its own kernel).
    parameters : mapping, optional
        Notebook parameters for every client (``period``, ``margin``, ``fast``...). An
        unknown name raises; ``client_id`` and ``data_dir`` are set per client.
    progress : bool or text stream, default True
        Print a progress line per finished report to stderr (or to the given stream).
    notebook : path, optional
        The report notebook; default :data:`REPORT_NOTEBOOK`.
    timeout : float or None, default 600
        Seconds a single cell may run.
    executor : {"thread", "process"}, default "thread"
        What drives the parallel papermill runs: threads of this process, or worker
        processes (started with "spawn"; a script calling this needs an
        ``if __name__ == "__main__":`` guard). The work happens in the kernels either way;
        ``benchmarks/bench_reports.py`` measured both at 3.2-4.5 s per report with 2
        workers on a shared 2-core machine, within each other's noise, and threads start
        no extra Python processes.
    kernel_name : str, default "python3"

    Returns
    -------
    list of ReportResult
        In the order of ``clients``.

    Raises
    ------
    ValueError
        Unknown parameter names, ``client_id``/``data_dir`` in ``parameters``, bad
        ``workers`` or ``executor``.
    FileNotFoundError
        The report notebook is missing.
    """
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

    check_choice("executor", executor, ["thread", "process"])
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, got {workers!r}")
    nb_path = Path(notebook) if notebook is not None else REPORT_NOTEBOOK
    if not nb_path.is_file():
        raise FileNotFoundError(f"report notebook not found: {nb_path} (pass notebook=, or "
                                "reinstall retention_kit: the wheel ships it)")
    params = dict(parameters or {})
    fixed = sorted({"client_id", "data_dir"} & set(params))
    if fixed:
        raise ValueError(f"parameter {fixed[0]!r} is set per client; pass the clients instead")
    known = notebook_parameters(nb_path)
    for key in params:
        check_choice("name", key, [k for k in known if k not in ("client_id", "data_dir")])
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    items = _normalise_clients(clients)
    names: set[str] = set()
    jobs = []
    for cid, folder in items:
        name = safe_name(cid)
        base, i = name, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.add(name)
        _inside(out, name, ".html")
        jobs.append(_Job(client_id=cid, name=name, notebook=str(nb_path.resolve()),
                         out_dir=str(out), parameters={**params, "client_id": cid,
                                                       "data_dir": folder},
                         timeout=timeout, kernel_name=kernel_name,
                         display_name=_display_name(folder, cid)))
    stream = (sys.stderr if progress is True else None) if isinstance(progress, bool) else progress
    bar = _Progress(len(jobs), stream)
    if stream is not None:
        stream.write(f"Generating {len(jobs)} report(s) with {min(workers, len(jobs))} "
                     f"worker(s) into {out}\n")
        stream.flush()
    results: dict[str, ReportResult] = {}
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            results[job.name] = _execute(job)
            bar.update(results[job.name])
    else:
        if executor == "thread":
            pool: Any = ThreadPoolExecutor(max_workers=workers)
        else:
            import multiprocessing

            pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                       mp_context=multiprocessing.get_context("spawn"))
        with pool:
            futures = {pool.submit(_execute, job): job for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    res = future.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails one client
                    res = ReportResult(client_id=job.client_id, name=job.name, status="failed",
                                       html=_inside(out, job.name, ".html"), notebook=None,
                                       seconds=0.0, error_type=type(exc).__name__,
                                       error=str(exc), failed_step="running the worker",
                                       display_name=job.display_name)
                    res.html.write_text(error_page(res), encoding="utf-8")
                results[job.name] = res
                bar.update(res)
    ordered = [results[job.name] for job in jobs]
    write_index(ordered, out)
    return ordered
