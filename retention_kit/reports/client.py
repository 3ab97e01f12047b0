"""One client's data: read and validated once, with its per-customer summaries cached.

A client's data folder (the ``--data DIR/<client>`` layout of ``datasets/demo``) holds
``transactions.csv`` (``customer_id``, ``date``, ``amount``), optionally
``subscriptions.csv`` (``customer_id``, ``month``, ``plan``, ``mrr``, optionally
``billing_period`` M or Y) and ``client.json``
(``display_name``, ``currency``, ``observation_end``, ...). A ``client.json`` with a
``"spec"`` (the keys of :class:`~retention_kit.ingest.TransactionSpec`) marks
``transactions.csv`` as a raw export: order lines, returns, guests, in its own columns;
the spec turns it into orders and the report shows what it did. A ``quality.json`` next to
``transactions.csv`` is the data-quality report of a log a spec already cleaned elsewhere
(:func:`~retention_kit.reports.database.database_clients` writes one per client of a
database table).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import prepare_transactions, rfm_segmentation_summary, rfm_summary
from ..errors import data_error
from ..ingest import DataQualityReport, clean_transactions
from .settings import read_client_info


@dataclass(frozen=True)
class ClientData:
    """One client's data, as read by :func:`load_client`, with its summaries cached.

    :func:`load_client` validates the log once; the per-customer summaries the report
    sections need are computed from it on first use and kept (the attributes below), so
    a report summarises a client's log once per summary rather than once per section.
    The cached frames are shared: treat them as read-only.
    """

    client_id: str
    transactions: pd.DataFrame
    """``customer_id`` (str), ``date`` (datetime64), ``amount`` (float), validated."""
    subscriptions: pd.DataFrame | None
    """``customer_id``, ``month`` (first day), ``plan``, ``mrr`` (and ``billing_period`` M or
    Y when given); None without subscriptions."""
    info: dict
    """``client.json`` (empty when the folder has none)."""
    observation_end: pd.Timestamp
    """Last day of data used (inclusive)."""
    quality: DataQualityReport | None = None
    """What the client's transaction spec did to a raw export; None for a log given as
    one row per purchase (``client.json`` without ``"spec"``)."""

    @property
    def display_name(self) -> str:
        """The client's name for the report (``client.json``'s, else the id)."""
        return str(self.info.get("display_name") or self.client_id)

    @property
    def contractual(self) -> bool:
        """True when the client bills subscriptions (churn is observed)."""
        return self.subscriptions is not None

    @cached_property
    def segmentation_summary(self) -> pd.DataFrame:
        """:func:`retention_kit.data.rfm_segmentation_summary` of the log (days, amounts).

        Examples
        --------
        >>> from retention_kit.datasets import data_dir
        >>> shop = load_client(data_dir() / "demo" / "retailer")
        >>> int(shop.segmentation_summary["purchases"].sum())
        18255
        >>> shop.segmentation_summary is shop.segmentation_summary  # computed once
        True
        """
        return rfm_segmentation_summary(self.transactions, amount_col="amount",
                                        observation_end=self.observation_end)

    @cached_property
    def btyd_summary(self) -> pd.DataFrame:
        """:func:`retention_kit.data.rfm_summary` of the log in weeks, with amounts."""
        return rfm_summary(self.transactions, amount_col="amount",
                           observation_end=self.observation_end, time_unit="W")

    @cached_property
    def subscription_durations(self) -> pd.DataFrame:
        """:func:`retention_kit.cohorts.churn_durations` of the subscriptions (months).

        Raises
        ------
        DataError
            For a client without subscriptions.
        """
        from ..cohorts import churn_durations

        if self.subscriptions is None:
            raise data_error(f"client {self.client_id!r} has no subscriptions",
                             fix="use durations(inactivity_days=...) for a shop")
        return churn_durations(self.subscriptions, observation_end=self.observation_end)

    def durations(self, inactivity_days: int = 180) -> pd.DataFrame:
        """Each customer's duration in months and whether she churned, for survival.

        Subscription clients: :attr:`subscription_durations` (churn is observed; the
        argument is ignored). Others: :func:`retention_kit.cohorts.churn_durations` with
        churn after ``inactivity_days`` days without a purchase (cached per value).

        Examples
        --------
        >>> from retention_kit.datasets import data_dir
        >>> shop = load_client(data_dir() / "demo" / "retailer")
        >>> list(shop.durations(180).columns)
        ['start', 'duration', 'churned']
        """
        if self.subscriptions is not None:
            return self.subscription_durations
        from ..cohorts import churn_durations

        cache = self.__dict__.setdefault("_durations", {})
        if inactivity_days not in cache:
            cache[inactivity_days] = churn_durations(
                self.transactions, inactivity=inactivity_days, time_unit="M",
                observation_end=self.observation_end)
        return cache[inactivity_days]


def _read_csv(path: Path, needed: Sequence[str], other: str = "", **kwargs: Any,
              ) -> pd.DataFrame:
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
                         fix=f"name the columns {', '.join(needed)}{other}")
    return frame


def load_client(folder: str | os.PathLike[str], *, client_id: str | None = None,
                observation_end: object = None, period: str | None = None,
                spec: dict | None = None) -> ClientData:
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
    spec : dict, optional
        A transaction spec for a raw export; overrides ``client.json``'s ``"spec"``.
        ``folder`` may then also be the export file itself.

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
    if path.is_file():  # one export file: its name is the client's
        cid, tx_path, info = client_id or path.stem, path, {}
    else:
        cid = client_id or path.name
        if not path.is_dir():
            raise data_error(f"client {cid!r} has no data folder at {str(path)!r}",
                             fix="pass the folder that holds transactions.csv")
        tx_path = path / "transactions.csv"
        if not tx_path.is_file():
            raise data_error(f"client {cid!r} has no transactions.csv in {str(path)!r}",
                             fix="export one row per purchase with columns customer_id, date, "
                             "amount, or describe the export's columns with a spec")
        info = read_client_info(path)
    end = observation_end if observation_end not in (None, "") else info.get("observation_end")
    transactions, end_ts, quality = _read_transactions(tx_path, end or None,
                                                       spec or info.get("spec"))
    subscriptions = None
    subs_path = tx_path.parent / "subscriptions.csv"
    if tx_path.name == "transactions.csv" and subs_path.is_file():
        subscriptions = _read_subscriptions(subs_path, end_ts)
        if period == "W":
            raise data_error(f"client {cid!r} has monthly subscriptions, so weekly retention "
                             "is not defined", fix="use period 'M' or 'Q' for this client")
    return ClientData(client_id=cid, transactions=transactions, subscriptions=subscriptions,
                      info=info, observation_end=end_ts, quality=quality)


def _read_transactions(path: Path, observation_end: object, spec: dict | None,
                       ) -> tuple[pd.DataFrame, pd.Timestamp, DataQualityReport | None]:
    """``transactions.csv`` validated by :func:`~retention_kit.data.prepare_transactions`
    (purchases after ``observation_end`` dropped), the observation end, and the data-quality
    report when a spec turns a raw export into orders first."""
    quality = None
    cleaned = path.with_name("quality.json")
    if spec is None and path.name == "transactions.csv" and cleaned.is_file():
        quality = _read_quality(cleaned)
    if spec is None:
        raw = _read_csv(path, ("customer_id", "date", "amount"), dtype={"customer_id": "str"},
                        other=" or, for an export with its own columns (order lines, returns, "
                        "guests), describe them with a spec: client.json's \"spec\", or "
                        "retention-kit report --map customer=<column> --map date=<column> "
                        "--map amount=<column>")
        # orders a spec produced elsewhere may look alike (distinct order ids)
        duplicates = "raise" if quality is None else "keep"
    else:
        if not isinstance(spec, dict):
            raise data_error(f"client.json's spec is a {type(spec).__name__}, not an object",
                             fix='write it as {"customer": "<column>", "date": "<column>", ...}')
        log = clean_transactions(_read_csv(path, (), dtype=str), spec)
        raw, quality = log.transactions, log.quality
        duplicates = "keep"  # distinct orders (by order id) may look alike without it
    clean, end = prepare_transactions(raw, amount_col="amount", observation_end=observation_end,
                                      after_end="drop", duplicates=duplicates)
    transactions = pd.DataFrame({"customer_id": clean["customer"].astype("str"),
                                 "date": clean["date"], "amount": clean["amount"]})
    _check_window(transactions, path)
    return transactions, end, quality


def _read_quality(path: Path) -> DataQualityReport:
    """``quality.json``: the data-quality report of a log cleaned before it was written."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise data_error(f"{str(path)!r} cannot be read as JSON ({exc})",
                         fix="write it with DataQualityReport.to_json(), or delete it") from None
    if not isinstance(payload, dict):
        raise data_error(f"{str(path)!r} holds a {type(payload).__name__}, not a report",
                         fix="write it with DataQualityReport.to_json(), or delete it")
    return DataQualityReport.from_dict(payload)


#: The longest window a report believes: a longer one is a misread date, not a history.
_MAX_WINDOW_YEARS = 50


def _check_window(transactions: pd.DataFrame, path: Path) -> None:
    """Refuse a log that ends in the future or spans an implausible number of years."""
    first, last = transactions["date"].min(), transactions["date"].max()
    tomorrow = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
    if last >= tomorrow:
        late = transactions["date"] >= tomorrow
        raise data_error(
            f"{path.name} has purchases after today ({tomorrow.date() - pd.Timedelta(days=1)}), "
            f"up to {last.date()}: the dates are misread (a day-first or numeric format) or "
            "the export's clock is wrong", n_rows=int(late.sum()),
            example=f"customer {transactions.loc[late, 'customer_id'].iloc[0]!r}, "
            f"{transactions.loc[late, 'date'].iloc[0]}",
            fix="check the date column; for an export in another format describe it with a "
            "spec (date_format 'dayfirst', 'epoch_s', 'excel')")
    years = (last - first) / pd.Timedelta(days=365.25)
    if years > _MAX_WINDOW_YEARS:
        raise data_error(
            f"{path.name} spans {years:,.0f} years ({first.date()} to {last.date()}), which "
            "no customer history does: some dates are misread",
            fix="check the earliest dates (epoch numbers read as 1970, two-digit years); "
            "describe the export's format with a spec (date_format 'epoch_s', 'excel', ...)")


def _refuse_rows(subs: pd.DataFrame, bad: pd.Series, problem: str, fix: str,
                 column: str | None = None) -> None:
    """Raise the error for the rows of ``subscriptions.csv`` flagged by ``bad`` (if any):
    how many, and the first one (its ``column`` value, or the whole row)."""
    if not bad.any():
        return
    first = int(np.flatnonzero(bad.to_numpy())[0])
    shown = (f"{column}={subs[column].iloc[first]!r}" if column
             else f"{subs.iloc[first].to_dict()}")
    raise data_error(f"subscriptions.csv has {problem}", n_rows=int(bad.sum()),
                     example=f"row {first}: {shown}", fix=fix)


def _read_started(subs: pd.DataFrame) -> pd.Series:
    """The optional ``started`` column of ``subscriptions.csv`` as dates: the true start of a
    subscription that began before the table (empty when her first row is her start)."""
    text = subs["started"].astype("string").str.strip()
    given = text.notna() & (text != "")
    started = pd.to_datetime(text.where(given), errors="coerce")
    _refuse_rows(subs, given & started.isna(), "a started value that is not a date",
                 "write the subscription's true start such as 2021-06-01, or leave it empty "
                 "when the customer's first row is her start", column="started")
    return started


def _read_subscriptions(path: Path, end: pd.Timestamp) -> pd.DataFrame:
    """``subscriptions.csv`` checked (customer, month, non-negative mrr), months on or
    before ``end``, months as their first day; ``plan``, ``billing_period`` and ``started``
    (a subscription's true start before the table began: delayed entry in the plan
    models) kept when present."""
    subs = _read_csv(path, ("customer_id", "month", "mrr"), dtype={"customer_id": "str"})
    month = pd.to_datetime(subs["month"], errors="coerce")
    _refuse_rows(subs, month.isna() | subs["customer_id"].isna(),
                 "rows without a customer or a readable month",
                 "give every row a customer_id and a month such as 2024-01-01")
    mrr = pd.to_numeric(subs["mrr"], errors="coerce")
    _refuse_rows(subs, mrr.isna() | (mrr < 0), "missing, non-numeric or negative mrr",
                 "mrr is what the customer pays that month; 0 when not paying", column="mrr")
    month = month.dt.to_period("M").dt.to_timestamp()
    keep = month <= end
    subscriptions = pd.DataFrame({"customer_id": subs["customer_id"].astype("str"),
                                  "month": month, "mrr": mrr.astype(float)})
    if "plan" in subs.columns:
        subscriptions["plan"] = subs["plan"].astype("str")
    if "billing_period" in subs.columns:
        period = subs["billing_period"].astype("str").str.strip().str.upper()
        _refuse_rows(subs, ~period.isin(["M", "Y"]), "a billing_period other than M or Y",
                     "write M for monthly contracts and Y for annual ones (an annual "
                     "contract's mrr is its yearly price / 12)", column="billing_period")
        subscriptions["billing_period"] = period
    if "started" in subs.columns:
        subscriptions["started"] = _read_started(subs)
    subscriptions = subscriptions.loc[keep.to_numpy()].reset_index(drop=True)
    if subscriptions.empty:
        raise data_error(f"subscriptions.csv has no month on or before {end.date()}",
                         fix="check observation_end")
    return subscriptions
