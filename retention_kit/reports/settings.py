"""The report notebook's parameters: validation, defaults, and the client's ``client.json``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._checks import between, whole
from ..errors import data_error
from ..ingest import TransactionSpec
from ..notebook import check_choice
from ._common import PERIODS


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
    spec: dict | None = None
    """A transaction spec given for the run (overrides ``client.json``'s), or None."""

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


def demo_folder(client_id: str) -> Path:
    """The data folder of the bundled demo client ``client_id``.

    Raises
    ------
    ValueError
        ``client_id`` is not a demo client (the message names the closest one).
    """
    from ..datasets import data_dir, list_demo_clients

    check_choice("client_id", client_id, list_demo_clients())
    return data_dir() / "demo" / client_id


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
    spec: str = "",
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
    spec : str, default ""
        A transaction spec as JSON (the keys of
        :class:`~retention_kit.ingest.TransactionSpec`) for a raw export; it overrides
        the ``"spec"`` of the client's ``client.json``. ``retention-kit report --map``
        writes it.

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
    months = whole("forecast_months", forecast_months, minimum=1, maximum=120,
                   label="parameter ", hint="a horizon in months")
    holdout = whole("holdout_months", holdout_months, minimum=1, maximum=24,
                    label="parameter ", hint="a holdout in months, such as 6")
    inactivity = whole("inactivity_days", inactivity_days, minimum=7, maximum=1095,
                       label="parameter ", hint="a number of days such as 180")
    rate = between("discount_rate", discount_rate, 0.0, 0.5, label="parameter ",
                   hint="a monthly rate as a fraction, such as 0.01 for 1% a month")
    gross = between("margin", margin, 0.01, 1.0, label="parameter ",
                    hint="a gross margin as a fraction, such as 0.3")
    folder = Path(data_dir) if str(data_dir).strip() else demo_folder(client_id)
    if not (folder.is_dir() or folder.is_file()):
        raise data_error(f"the data folder {str(folder)!r} of client {client_id!r} does not exist",
                         fix="pass data_dir as the folder holding transactions.csv, or the "
                         "transactions file itself")
    info = read_client_info(folder) if folder.is_dir() else {}
    given = _spec_parameter(spec)
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
                          holdout_months=holdout, fast=fast, spec=given)


def _spec_parameter(text: str) -> dict | None:
    """The ``spec`` parameter (JSON text) as a checked mapping, or None when empty."""
    if not str(text).strip():
        return None
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise data_error(f"parameter spec is not JSON ({exc})",
                         fix='pass a JSON object such as {"customer": "CustomerID", '
                         '"amount": "Total"}, or use retention-kit report --map') from exc
    if not isinstance(spec, dict):
        raise data_error(f"parameter spec holds a {type(spec).__name__}, not a JSON object",
                         fix='pass {"customer": "<column>", ...}')
    TransactionSpec.from_dict(spec)  # every key and policy checked before any data is read
    return spec



def read_client_info(folder: Path) -> dict:
    """A client folder's ``client.json`` as a dict (empty when the folder has none).

    Raises
    ------
    DataError
        The file is not valid JSON, or does not hold an object.
    """
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

