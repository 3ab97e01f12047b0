"""Bundled data sets and seeded simulators.

Every loader reads files shipped with the project (``datasets/`` in a checkout,
``retention_kit/_datasets`` inside an installed wheel): nothing is downloaded.
Provenance and licences are in ``datasets/README.md``.

The simulators live in :mod:`retention_kit.simulate` and are re-exported here;
:func:`write_demo_data` writes the synthetic files of ``datasets/`` from them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .errors import data_error
from .ingest import clean_transactions
from .simulate import (
    EXPERIMENT_TRUE_EFFECTS,
    RandomState,
    as_generator,
    simulate_contract_snapshot,
    simulate_experiment,
    simulate_subscriptions,
    simulate_summary,
    simulate_survey,
    simulate_transactions,
)
from .simulate_exports import simulate_order_lines

__all__ = [
    "DemoClient",
    "EXPERIMENT_TRUE_EFFECTS",
    "SBGCohorts",
    "data_dir",
    "list_demo_clients",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_demo_client",
    "load_demo_export",
    "load_donations",
    "load_experiment",
    "load_sbg_cohorts",
    "load_survey",
    "simulate_experiment",
    "simulate_subscriptions",
    "simulate_summary",
    "simulate_survey",
    "simulate_transactions",
    "write_demo_data",
]


@cache
def data_dir() -> Path:
    """Folder holding the bundled data files.

    Returns the top-level ``datasets/`` folder of a source checkout (or editable
    install) and ``retention_kit/_datasets`` inside an installed wheel.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "datasets", here / "_datasets"):
        if (candidate / "cdnow_sample.csv").is_file():
            return candidate
    raise FileNotFoundError(
        "retention_kit's bundled data files are missing (looked in "
        f"{here.parent / 'datasets'} and {here / '_datasets'}); reinstall the package"
    )


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(data_dir() / name, **kwargs)


def load_cdnow_transactions(sample: bool = False) -> pd.DataFrame:
    """CDNOW purchase log (Fader & Hardie's CDNOW data set).

    Every purchase of the cohort of 23,570 customers who made their first purchase
    at CDNOW in the first quarter of 1997, followed to 30 June 1998.

    Parameters
    ----------
    sample : bool, default False
        False: the full master log (69,659 rows, 23,570 customers).
        True: the 1/10 systematic sample used in the BG/NBD and Pareto/NBD papers
        (6,919 rows, 2,357 customers, ids 1..2357 as in the papers).

    Returns
    -------
    DataFrame
        Columns ``customer_id`` (int), ``date`` (datetime64), ``quantity``
        (number of CDs, int) and ``amount`` (dollars, float). Rows are as
        published: the logs contain exact duplicate rows (255 in the master log,
        21 in the sample) that are genuine same-day repeat orders, so pass
        ``duplicates="keep"`` to :func:`retention_kit.data.rfm_summary`.

    Examples
    --------
    >>> log = load_cdnow_transactions(sample=True)
    >>> log.shape, log["customer_id"].nunique()
    ((6919, 4), 2357)
    >>> str(log["date"].min().date()), str(log["date"].max().date())
    ('1997-01-01', '1998-06-30')
    """
    name = "cdnow_sample.csv" if sample else "cdnow_master.csv"
    return _read_csv(name, parse_dates=["date"], dtype={"customer_id": "int64",
                                                        "quantity": "int64",
                                                        "amount": "float64"})


def load_cdnow_summary() -> pd.DataFrame:
    """The CDNOW sample summarised in weeks, as published with the BG/NBD paper.

    Calibration period 1997-01-01..1997-09-30 (39 weeks); this is the data set of
    Fader, Hardie & Lee (2005), "Counting your customers the easy way".
    :func:`retention_kit.data.rfm_summary` reproduces it from
    ``load_cdnow_transactions(sample=True)``.

    Returns
    -------
    DataFrame
        2,357 rows indexed by ``customer_id`` with ``frequency`` (repeat
        purchases), ``recency`` and ``T`` (weeks, two decimals) and
        ``monetary_value`` (mean repeat-purchase spend in dollars, 0 when
        frequency is 0).

    Examples
    --------
    >>> s = load_cdnow_summary()
    >>> len(s), int(s["frequency"].sum())
    (2357, 2457)
    >>> s.loc[1, ["frequency", "recency", "T"]].tolist()
    [2.0, 30.43, 38.86]
    """
    return _read_csv("cdnow_summary.csv", index_col="customer_id")


def load_donations() -> pd.DataFrame:
    """The donations data of the BG/BB paper (Fader, Hardie & Shang 2010).

    11,104 people who first donated to a non-profit in 1995, followed for six
    annual donation opportunities (1996-2001), compressed into the 22 distinct
    (frequency, recency) patterns with their counts.

    Returns
    -------
    DataFrame
        22 rows with ``frequency`` (repeat donations), ``recency`` (period of the
        last donation, 0 if none), ``n_periods`` (6) and ``weights`` (number of
        donors with that pattern).

    Examples
    --------
    >>> d = load_donations()
    >>> len(d), int(d["weights"].sum()), int(d["n_periods"].iloc[0])
    (22, 11104, 6)
    """
    return _read_csv("donations.csv")


class SBGCohorts(NamedTuple):
    """Fader & Hardie (2007) retention cohorts, see :func:`load_sbg_cohorts`."""

    customers: pd.DataFrame
    """One row per customer of the calibration window: cohort, duration, churned."""
    survival: pd.DataFrame
    """Percentage still customers at the start of years 0..12, by cohort."""


def load_sbg_cohorts(calibration_years: int = 7) -> SBGCohorts:
    """The two 1,000-customer cohorts of Fader & Hardie (2007).

    "How to project customer retention", Journal of Interactive Marketing 21(1):
    percentage of a cohort still customers at the start of years 0..12, for a
    "regular" and a "high end" customer base. The paper fits the
    shifted-beta-geometric model on years 0..7 and checks years 8..12.

    Parameters
    ----------
    calibration_years : int, default 7
        Number of renewal opportunities observed (the paper uses 7).

    Returns
    -------
    SBGCohorts
        ``customers``: one row per customer (2,000 rows) with ``cohort``
        ("regular" or "high_end"), ``duration`` (years completed: a customer who
        left between the start of year t-1 and year t has duration t; a customer
        still there at the start of year ``calibration_years`` has that duration)
        and ``churned`` (False = still a customer, right-censored).
        ``survival``: the full 13-year series in percent, indexed by ``year``.

    Examples
    --------
    >>> c = load_sbg_cohorts()
    >>> c.customers.groupby("cohort")["churned"].sum().to_dict()
    {'high_end': 509, 'regular': 759}
    >>> c.survival.loc[12].tolist()
    [17.3, 39.4]
    """
    survival = _read_csv("sbg_cohorts.csv", index_col="year")
    if not 1 <= calibration_years <= len(survival) - 1:
        raise ValueError(f"calibration_years must be between 1 and {len(survival) - 1}")
    frames = []
    for cohort in survival.columns:
        alive = np.rint(survival[cohort].to_numpy()[: calibration_years + 1] * 10).astype(int)
        lost = alive[:-1] - alive[1:]
        duration = np.concatenate([np.repeat(np.arange(1, calibration_years + 1), lost),
                                   np.full(alive[-1], calibration_years)])
        churned = np.concatenate([np.ones(lost.sum(), bool), np.zeros(alive[-1], bool)])
        frames.append(pd.DataFrame({"cohort": cohort, "duration": duration, "churned": churned}))
    customers = pd.concat(frames, ignore_index=True)
    return SBGCohorts(customers=customers, survival=survival)


# --------------------------------------------------------------------------- demo data


class DemoClient(NamedTuple):
    """One synthetic demo client, see :func:`load_demo_client`."""

    transactions: pd.DataFrame
    """``customer_id``, ``date``, ``amount``: every purchase (or monthly invoice)."""
    subscriptions: pd.DataFrame | None
    """``customer_id``, ``month``, ``plan``, ``mrr`` for subscription clients, else None."""
    info: dict
    """The client's ``client.json``: display name, currency, description, period
    suggestion, observation window and the generator's true parameters."""


def list_demo_clients() -> list[str]:
    """Ids of the synthetic demo clients shipped in ``datasets/demo/``.

    Returns
    -------
    list of str
        Sorted client ids; each is a folder holding ``client.json`` and
        ``transactions.csv`` (and ``subscriptions.csv`` for subscription clients).

    Examples
    --------
    >>> list_demo_clients()
    ['b2b_saas', 'marketplace', 'retailer', 'seasonal_shop', 'subscription_box',
     'telco_snapshot', 'till_export']
    """
    demo = data_dir() / "demo"
    return sorted(p.parent.name for p in demo.glob("*/client.json"))


def load_demo_client(client_id: str) -> DemoClient:
    """Transactions, subscriptions and description of one synthetic demo client.

    The clients (generated by :func:`write_demo_data` with seed 2024; see
    ``datasets/README.md``) differ on purpose: ``retailer`` (steady repeat buying,
    BG/NBD), ``marketplace`` (mostly one-time buyers), ``seasonal_shop``
    (November/December peaks), ``subscription_box`` (monthly boxes, sBG churn) and
    ``b2b_saas`` (per-seat MRR, expansion, a few large accounts) cover
    2022-01-01..2024-12-31; ``till_export`` is a raw order-line export (guests,
    postage, cancellations, day-first dates, prices with a currency symbol) of
    2023-12-01..2024-11-30 with a transaction spec in its ``client.json``: its
    ``transactions`` are the orders :func:`~retention_kit.ingest.clean_transactions`
    makes of it.

    Parameters
    ----------
    client_id : str
        One of :func:`list_demo_clients`.

    Returns
    -------
    DemoClient
        ``transactions`` (``customer_id`` str, ``date`` datetime64, ``amount`` in
        the client's currency), ``subscriptions`` (``customer_id``, ``month`` as the
        first day of the month, ``plan``, ``mrr``, ``billing_period``; None for
        non-subscription clients) and ``info`` (the ``client.json`` dict).

    Raises
    ------
    DataError
        For an unknown ``client_id``; the message lists the valid ones.

    Examples
    --------
    >>> box = load_demo_client("subscription_box")
    >>> box.info["currency"], box.info["observation_end"]
    ('GBP', '2024-12-31')
    >>> list(box.subscriptions.columns)
    ['customer_id', 'month', 'plan', 'mrr', 'billing_period']
    >>> load_demo_client("retailer").subscriptions is None
    True
    """
    valid = list_demo_clients()
    if client_id not in valid:
        raise data_error(f"unknown demo client {client_id!r}",
                         fix=f"use one of {', '.join(valid)}")
    folder = data_dir() / "demo" / client_id
    info = json.loads((folder / "client.json").read_text(encoding="utf-8"))
    if "spec" in info:  # a raw export: its orders, as its spec cleans them
        orders = clean_transactions(pd.read_csv(folder / "transactions.csv", dtype=str),
                                    info["spec"]).transactions
        transactions = pd.DataFrame({"customer_id": orders["customer_id"].astype("str"),
                                     "date": orders["date"], "amount": orders["amount"]})
    else:
        transactions = pd.read_csv(folder / "transactions.csv", parse_dates=["date"],
                                   dtype={"customer_id": "str", "amount": "float64"})
    subs_path = folder / "subscriptions.csv"
    subscriptions = None
    if subs_path.is_file():
        subscriptions = pd.read_csv(subs_path, parse_dates=["month"],
                                    dtype={"customer_id": "str", "plan": "str",
                                           "mrr": "float64"})
    return DemoClient(transactions=transactions, subscriptions=subscriptions, info=info)


def load_demo_export(client_id: str = "till_export") -> tuple[pd.DataFrame, dict]:
    """A demo client's raw export as exported (all text) and its transaction spec.

    Parameters
    ----------
    client_id : str, default "till_export"
        A demo client whose ``client.json`` has a ``"spec"``.

    Returns
    -------
    (DataFrame, dict)
        The export's rows, every value as text (blanks as missing), and the spec to give
        :func:`~retention_kit.ingest.clean_transactions`.

    Examples
    --------
    >>> raw, spec = load_demo_export()
    >>> list(raw.columns)
    ['InvoiceNo', 'StockCode', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country']
    >>> spec["cancellation_prefix"], spec["date_format"]
    ('C', 'dayfirst')
    """
    client = load_demo_client(client_id)
    if "spec" not in client.info:
        exports = [c for c in list_demo_clients()
                   if "spec" in json.loads((data_dir() / "demo" / c / "client.json").read_text(
                       encoding="utf-8"))]
        raise data_error(f"demo client {client_id!r} is not a raw export (its log is one row per "
                         "purchase)", fix=f"use {', '.join(exports)}, or load_demo_client()")
    raw = pd.read_csv(data_dir() / "demo" / client_id / "transactions.csv", dtype=str)
    return raw, copy.deepcopy(client.info["spec"])


def load_survey() -> pd.DataFrame:
    """Synthetic NPS / CSAT / CES answers of the demo clients' customers.

    Made by :func:`simulate_survey` inside :func:`write_demo_data`: about 20% of each
    client's customers answer once, between their first purchase and 30 days after
    their last (subscribers: while subscribed). Answers track the customer's true
    loyalty (``1 - p`` of the BG/NBD clients, ``1 - theta`` of the subscription
    clients), so promoters churn less.

    Returns
    -------
    DataFrame
        ``client`` (a :func:`list_demo_clients` id), ``customer_id`` (links to that
        client's transactions), ``date`` (datetime64), ``nps`` (0..10), ``csat``
        (1..5), ``ces`` (1..7, 7 = very easy).

    Examples
    --------
    >>> survey = load_survey()
    >>> list(survey.columns)
    ['client', 'customer_id', 'date', 'nps', 'csat', 'ces']
    >>> sorted(survey["client"].unique())  # the generated clients (not the raw export)
    ['b2b_saas', 'marketplace', 'retailer', 'seasonal_shop', 'subscription_box']
    >>> int(survey["nps"].min()) >= 0 and int(survey["nps"].max()) <= 10
    True
    """
    return _read_csv("survey.csv", parse_dates=["date"],
                     dtype={"client": "str", "customer_id": "str", "nps": "int64",
                            "csat": "int64", "ces": "int64"})


def load_experiment() -> pd.DataFrame:
    """A synthetic randomised retention experiment with known true effects.

    ``simulate_experiment(60000)`` as written by :func:`write_demo_data`: three arms
    (``control``, ``loyalty_programme``, ``welcome_email``), enrolment through 2023,
    follow-up to 2024-01-31. The true effects are in ``df.attrs["true_effects"]``
    (a copy of :data:`EXPERIMENT_TRUE_EFFECTS`): the loyalty programme adds 10
    points of 90-day retention for high-frequency customers and 2 for the others
    (ATE 0.0434) and 8% post-period spend; the welcome email adds 10 points for new
    customers and takes 4 from long-tenure dormant "sleeping dogs" (ATE 0.0196).

    Returns
    -------
    DataFrame
        60,000 rows; columns as :func:`simulate_experiment` documents, with
        ``retained_90d`` a nullable boolean (missing for the customers who had not
        reached the 90-day horizon).

    Examples
    --------
    >>> exp = load_experiment()
    >>> exp.shape
    (60000, 13)
    >>> exp["retained_90d"].dtype.name, int(exp["reached_horizon"].sum())
    ('boolean', 50121)
    >>> exp.attrs["true_effects"]["welcome_email"]["ate_retained_90d"]
    0.0196
    """
    df = _read_csv("experiment.csv", parse_dates=["signup_date"],
                   dtype={"customer_id": "str", "arm": "str", "channel": "str",
                          "age_band": "str", "retained_90d": "boolean",
                          "reached_horizon": "bool", "churned": "bool"})
    df.attrs["true_effects"] = copy.deepcopy(EXPERIMENT_TRUE_EFFECTS)
    return df


# --------------------------------------------------------------------------- demo data

_DEMO_START, _DEMO_END = "2022-01-01", "2024-12-31"
_DEMO_END_DAY = np.datetime64(_DEMO_END, "D")
_DEMO_MONTHS = 36
_SEASONAL_SHOP = (0.5, 0.4, 0.5, 0.5, 0.6, 0.5, 0.5, 0.6, 0.8, 1.2, 3.6, 4.8)


def _demo_specs() -> dict[str, dict[str, Any]]:
    """The five demo clients: display data and generator arguments (fresh dicts)."""
    return {
        "retailer": {
            "display_name": "Lindqvist Home & Garden",
            "currency": "EUR",
            "description": "Online home and garden retailer: steady repeat buying with a "
                           "long tail of heavy buyers (BG/NBD).",
            "business_model": "non-contractual", "id_prefix": "R",
            "generator": {"function": "simulate_transactions", "n_customers": 4000,
                          "model": "bgnbd", "time_unit": "W",
                          "params": {"r": 0.55, "alpha": 6.0, "a": 0.85, "b": 3.5},
                          "spend": {"p": 5.5, "q": 4.0, "gamma": 22.0},
                          "acquisition_end": "2024-09-30"},
        },
        "subscription_box": {
            "display_name": "Crate & Kettle",
            "currency": "GBP",
            "description": "Tea-and-snacks box: most subscribers pay every month until they "
                           "cancel, with high early churn (sBG); some prepay a year; card "
                           "failures ended many subscriptions in March 2024.",
            "business_model": "contractual", "id_prefix": "S",
            "generator": {"function": "simulate_subscriptions", "n_customers": 3000,
                          "plans": {"classic": 24.99, "deluxe": 39.99},
                          "plan_mix": [0.75, 0.25], "churn": {"alpha": 1.3, "beta": 5.0},
                          "upgrade": 0.015, "downgrade": 0.025, "reactivation": 0.02,
                          "annual": {"share": 0.15, "alpha": 1.5, "beta": 3.0},
                          "failed_payments": {"2024-03": 0.08}},
        },
        "b2b_saas": {
            "display_name": "Ledgerline",
            "currency": "USD",
            "description": "B2B accounting software per seat, on monthly or annual "
                           "contracts: low churn, seat expansion, a few very large accounts; "
                           "a payment-provider outage in May 2024.",
            "business_model": "contractual", "id_prefix": "B",
            "generator": {"function": "simulate_subscriptions", "n_customers": 1000,
                          "plans": {"starter": 12.0, "team": 29.0, "enterprise": 59.0},
                          "plan_mix": [0.5, 0.35, 0.15], "churn": {"alpha": 1.0, "beta": 40.0},
                          "upgrade": 0.02, "downgrade": 0.005, "reactivation": 0.005,
                          "seats": {"median": 4, "sigma": 1.1, "expansion": 0.05,
                                    "contraction": 0.015},
                          "annual": {"share": 0.4, "alpha": 1.5, "beta": 10.0},
                          "failed_payments": {"2024-05": 0.04}},
        },
        "marketplace": {
            "display_name": "Bazaarly",
            "currency": "INR",
            "description": "Online marketplace: many one-time buyers, little repeat "
                           "business (BG/NBD with high dropout).",
            "business_model": "non-contractual", "id_prefix": "M",
            "generator": {"function": "simulate_transactions", "n_customers": 5000,
                          "model": "bgnbd", "time_unit": "W",
                          "params": {"r": 0.2, "alpha": 12.0, "a": 2.0, "b": 1.2},
                          "spend": {"p": 3.0, "q": 6.0, "gamma": 2500.0}},
        },
        "seasonal_shop": {
            "display_name": "Tbilisi Gift House",
            "currency": "GEL",
            "description": "Gift shop: most buying and most new customers in November and "
                           "December (BG/NBD with monthly seasonality).",
            "business_model": "non-contractual", "id_prefix": "H",
            "generator": {"function": "simulate_transactions", "n_customers": 3000,
                          "model": "bgnbd", "time_unit": "W",
                          "params": {"r": 0.3, "alpha": 8.0, "a": 1.0, "b": 3.0},
                          "spend": {"p": 4.0, "q": 5.0, "gamma": 80.0},
                          "seasonality": list(_SEASONAL_SHOP)},
        },
    }


def _to_us(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime64[us], the resolution pandas gives parsed dates."""
    return days.astype("datetime64[us]")


class _SimulatedClient(NamedTuple):
    """One demo client's simulated data, before writing."""

    transactions: pd.DataFrame
    subscriptions: pd.DataFrame | None
    survey_input: pd.DataFrame
    """customer_id, first_date, last_date, loyalty: the input of simulate_survey."""
    generator: dict[str, Any]
    """The generator's arguments, as written to client.json."""


def _simulate_shop(n: int, prefix: str, gen: dict[str, Any],
                   stream: np.random.Generator) -> _SimulatedClient:
    """A non-contractual client: simulate_transactions; survey window ends 30 days after
    the last purchase."""
    log, latent = simulate_transactions(n, start=_DEMO_START, end=_DEMO_END,
                                        id_prefix=prefix, return_latent=True,
                                        random_state=stream, **gen)
    last_buy = log.groupby("customer_id")["date"].max()
    survey_input = pd.DataFrame({
        "customer_id": latent.index,
        "first_date": latent["first_purchase"].to_numpy(),
        "last_date": np.minimum(last_buy.reindex(latent.index).to_numpy()
                                + np.timedelta64(30, "D"), _to_us(_DEMO_END_DAY)),
        "loyalty": 1 - latent["p"].to_numpy()})
    generator = {"function": "simulate_transactions", "n_customers": n, "start": _DEMO_START,
                 "end": _DEMO_END, **gen}
    return _SimulatedClient(log, None, survey_input, generator)


def _simulate_subscriber_base(n: int, prefix: str, gen: dict[str, Any],
                              stream: np.random.Generator) -> _SimulatedClient:
    """A contractual client: simulate_subscriptions, then monthly invoices on a billing day
    drawn per customer from the same stream; survey window ends with the last paid month."""
    subs, latent = simulate_subscriptions(n, start_month=_DEMO_START, n_months=_DEMO_MONTHS,
                                          id_prefix=prefix, return_latent=True,
                                          random_state=stream, **gen)
    billing_day = pd.Series(stream.integers(1, 29, size=n), index=latent.index)
    log = _invoices(subs, billing_day)
    theta = latent["theta"].to_numpy()
    if "billing_period" in latent:  # a yearly churn probability as a monthly one
        theta = np.where(latent["billing_period"].eq("Y"), -np.expm1(np.log1p(-theta) / 12),
                         theta)
    last_month = subs.groupby("customer_id")["month"].max()
    last_day = (last_month.reindex(latent.index).to_numpy().astype("datetime64[M]")
                + 1).astype("datetime64[D]") - 1
    first_invoice = log.groupby("customer_id")["date"].min()
    survey_input = pd.DataFrame({
        "customer_id": latent.index,
        "first_date": first_invoice.reindex(latent.index).to_numpy(),
        "last_date": _to_us(np.minimum(last_day, _DEMO_END_DAY)),
        "loyalty": 1 - theta})
    generator = {"function": "simulate_subscriptions", "n_customers": n,
                 "start_month": _DEMO_START[:7], "n_months": _DEMO_MONTHS,
                 **gen, "billing_day": "uniform 1..28 per customer"}
    return _SimulatedClient(log, subs, survey_input, generator)


def _invoices(subs: pd.DataFrame, billing_day: pd.Series) -> pd.DataFrame:
    """One transaction per paid month on the customer's billing day; annual contracts
    (``billing_period`` "Y") pay 12 x MRR in the first month of each contract year (the
    months since the first month of an unbroken run of paid months, a multiple of 12)."""
    subs = subs.sort_values(["customer_id", "month"], kind="stable")
    if "billing_period" in subs:
        month = subs["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
        same = subs["customer_id"].eq(subs["customer_id"].shift()).to_numpy()
        run_start = np.r_[True, ~same[1:] | (np.diff(month) != 1)]
        first = np.maximum.accumulate(np.where(run_start, np.arange(len(month)), 0))
        yearly = subs["billing_period"].eq("Y").to_numpy()
        due = ~yearly | ((month - month[first]) % 12 == 0)
        subs = subs.loc[due].assign(mrr=np.where(yearly[due], 12, 1) * subs["mrr"][due])
    day = billing_day.reindex(subs["customer_id"]).to_numpy()
    dates = subs["month"].to_numpy().astype("datetime64[D]") + (day - 1)
    tx = pd.DataFrame({"customer_id": subs["customer_id"].to_numpy(), "date": _to_us(dates),
                       "amount": subs["mrr"].to_numpy().round(2)})
    tx = tx.iloc[np.lexsort((tx["customer_id"].to_numpy(), tx["date"].to_numpy()))]
    return tx.reset_index(drop=True)


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, float_format="%.2f", lineterminator="\n")
    return path


def _write_json(obj: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _write_client(folder: Path, client: str, spec: Mapping[str, Any], sim: _SimulatedClient,
                  seed: Mapping[str, Any]) -> list[Path]:
    """subscriptions.csv (contractual clients), transactions.csv and client.json."""
    written = []
    if sim.subscriptions is not None:
        written.append(_write_csv(sim.subscriptions, folder / "subscriptions.csv"))
    written.append(_write_csv(sim.transactions, folder / "transactions.csv"))
    info = {
        "client_id": client,
        "display_name": spec["display_name"],
        "currency": spec["currency"],
        "description": spec["description"],
        "business_model": spec["business_model"],
        "period": "M",
        "time_unit": "W",
        "observation_start": _DEMO_START,
        "observation_end": _DEMO_END,
        "id_prefix": spec["id_prefix"],
        "n_customers": sim.generator["n_customers"],
        "generator": {**sim.generator, **seed},
    }
    written.append(_write_json(info, folder / "client.json"))
    return written


#: The raw export demo client: its spec, as a shop's analyst would write it.
EXPORT_SPEC = {"customer": "CustomerID", "date": "InvoiceDate", "order": "InvoiceNo",
               "quantity": "Quantity", "unit_price": "UnitPrice", "product": "StockCode",
               "country": "Country", "exclude_products": ["POST"],
               "cancellation_prefix": "C", "date_format": "dayfirst"}
_EXPORT_START, _EXPORT_END = "2023-12-01", "2024-11-30"


def _write_export_client(folder: Path, stream: np.random.Generator,
                         seed: Mapping[str, Any]) -> list[Path]:
    """``till_export``: simulate_order_lines written as exported (text), with its spec."""
    n = 600
    raw, truth = simulate_order_lines(n, start=_EXPORT_START, end=_EXPORT_END,
                                      random_state=stream)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "transactions.csv"
    raw.to_csv(path, index=False, lineterminator="\n")
    info = {
        "client_id": "till_export",
        "display_name": "Hearth & Loom",
        "currency": "GBP",
        "description": "Homeware shop: the till system's raw order-line export (guest "
                       "checkouts, postage lines, cancellations, day-first dates).",
        "business_model": "non-contractual",
        "period": "M",
        "time_unit": "W",
        "observation_start": _EXPORT_START,
        "observation_end": _EXPORT_END,
        "n_customers": n,
        "spec": EXPORT_SPEC,
        "generator": {"function": "simulate_order_lines", "n_customers": n,
                      "start": _EXPORT_START, "end": _EXPORT_END, **seed},
        "truth": truth,
    }
    return [path, _write_json(info, folder / "client.json")]


_SNAPSHOT_END_PERIOD = 72  # December 2024; period 0 is December 2018


def _write_snapshot_client(folder: Path, stream: np.random.Generator,
                           seed: Mapping[str, Any]) -> list[Path]:
    """``telco_snapshot``: a snapshot export (everyone who was a customer when December 2024
    began, with their tenure, and who left that month) written as if it were a monthly
    history: the table the snapshot detector exists for."""
    params = {"alpha": 0.9, "beta": 5.0}
    snap = simulate_contract_snapshot(7000, params=params, n_periods=_SNAPSHOT_END_PERIOD,
                                      window=1, random_state=stream)
    plans = np.array(["talk", "unlimited"])
    price = {"talk": 19.0, "unlimited": 45.0}
    plan = plans[(stream.random(len(snap)) < 0.4).astype(int)]
    months_paid = np.where(snap["churned"], snap["duration"], snap["duration"] + 1).astype(int)
    first = snap["acquired"].to_numpy().astype(int)
    cid = np.array([f"T{i:05d}" for i in range(1, len(snap) + 1)])
    reps = np.repeat(np.arange(len(snap)), months_paid)
    offset = np.concatenate([np.arange(m) for m in months_paid])
    period = first[reps] + offset
    start = np.datetime64("2018-12", "M")
    subs = pd.DataFrame({"customer_id": cid[reps],
                         "month": _to_us((start + period).astype("datetime64[D]")),
                         "plan": plan[reps], "mrr": np.vectorize(price.get)(plan[reps]),
                         "billing_period": "M"})
    subs = subs.sort_values(["month", "customer_id"], kind="stable").reset_index(drop=True)
    billing_day = pd.Series(stream.integers(1, 29, size=len(snap)), index=cid)
    written = [_write_csv(subs, folder / "subscriptions.csv"),
               _write_csv(_invoices(subs, billing_day), folder / "transactions.csv")]
    info = {
        "client_id": "telco_snapshot",
        "display_name": "Northwind Mobile",
        "currency": "USD",
        "description": "Mobile operator's customer export: everyone who was a customer when "
                       "December 2024 began, with their tenure, and who left that month: a "
                       "snapshot written out as monthly history.",
        "business_model": "contractual",
        "period": "M",
        "time_unit": "W",
        "observation_start": "2018-12-01",
        "observation_end": _DEMO_END,
        "id_prefix": "T",
        "n_customers": int(len(snap)),
        "generator": {"function": "simulate_contract_snapshot", "n_customers": 7000,
                      "params": params, "n_periods": _SNAPSHOT_END_PERIOD, "window": 1,
                      "plans": price, "plan_mix": [0.6, 0.4], **seed},
    }
    written.append(_write_json(info, folder / "client.json"))
    return written


def _write_survey(path: Path, survey_input: Mapping[str, pd.DataFrame],
                  stream: np.random.Generator) -> Path:
    """simulate_survey for each client from its own stream, with a ``client`` column."""
    parts = []
    for client_stream, client in zip(stream.spawn(len(survey_input)), survey_input, strict=True):
        answers = simulate_survey(survey_input[client], response_rate=0.2, response_bias=0.3,
                                  random_state=client_stream)
        answers.insert(0, "client", client)
        parts.append(answers)
    return _write_csv(pd.concat(parts, ignore_index=True), path)


def write_demo_data(path: Path | str, *, random_state: RandomState = 2024) -> list[Path]:
    """Write the demo clients, the survey and the experiment under ``path``.

    This is how the files in ``datasets/`` were made (``write_demo_data(data_dir())``
    rewrites them in place):

    * ``demo/<client_id>/transactions.csv`` (``customer_id, date, amount``) and
      ``client.json`` for the five clients ``retailer``, ``subscription_box``,
      ``b2b_saas``, ``marketplace``, ``seasonal_shop``, plus ``subscriptions.csv``
      (``customer_id, month, plan, mrr, billing_period``) for the two subscription
      clients (monthly and annual contracts, plan moves, reactivations and a month of
      failed payments), whose transactions are their invoices on a billing day drawn per
      customer (1..28): monthly, or 12 x MRR once a contract year. Observation period
      2022-01-01..2024-12-31;
    * ``survey.csv``: :func:`simulate_survey` for each client (loyalty ``1 - p`` of
      the BG/NBD clients, ``1 - theta`` of the subscription ones; answers between
      the first purchase and 30 days after the last, or between the first invoice
      and the end of the last paid month; 20% response, response bias 0.3), with a
      ``client`` column;
    * ``demo/till_export/``: :func:`simulate_order_lines` of 600 customers written as a
      till system exports it (text, day-first dates, prices with a currency symbol), its
      ``client.json`` holding the transaction spec and the generator's truth;
    * ``demo/telco_snapshot/``: :func:`simulate_contract_snapshot` of 7,000 customers over
      six years, of whom those still customers when December 2024 began are written out
      as a monthly history (every churn in the last month): the snapshot the subscription
      report must recognise;
    * ``experiment.csv``: ``simulate_experiment(60000)`` with its defaults otherwise
      (20,000 customers per arm: 10,000 per arm could not detect the welcome
      email's +0.0196 average effect).

    Every part draws from its own stream spawned from ``random_state`` in a fixed
    order (the five clients, the survey, the experiment), so changing one part does
    not change the others.

    Parameters
    ----------
    path : Path or str
        Folder to write into (created if missing).
    random_state : int or numpy.random.Generator, default 2024

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = write_demo_data(tmp)
    ...     sorted(p.name for p in files if p.parent.name == "retailer")
    ['client.json', 'transactions.csv']
    """
    root = Path(path)
    specs = _demo_specs()
    # One stream per part; the raw export client takes the last, so the others' streams
    # are what they were before it existed (spawned children do not depend on the count).
    streams = as_generator(random_state).spawn(len(specs) + 4)
    seed_note = random_state if isinstance(random_state, int | np.integer) else None
    written: list[Path] = []
    survey_input: dict[str, pd.DataFrame] = {}
    for index, (stream, (client, spec)) in enumerate(zip(streams, specs.items(), strict=False)):
        gen = dict(spec["generator"])
        func = gen.pop("function")
        n = gen.pop("n_customers")
        make = _simulate_shop if func == "simulate_transactions" else _simulate_subscriber_base
        sim = make(n, spec["id_prefix"], gen, stream)
        survey_input[client] = sim.survey_input
        written += _write_client(root / "demo" / client, client, spec, sim,
                                 {"random_state": seed_note, "stream": index})
    written.append(_write_survey(root / "survey.csv", survey_input, streams[len(specs)]))
    experiment = simulate_experiment(60_000, random_state=streams[len(specs) + 1])
    written.append(_write_csv(experiment, root / "experiment.csv"))
    written += _write_export_client(root / "demo" / "till_export", streams[len(specs) + 2],
                                    {"random_state": seed_note, "stream": len(specs) + 2})
    written += _write_snapshot_client(root / "demo" / "telco_snapshot",
                                      streams[len(specs) + 3],
                                      {"random_state": seed_note, "stream": len(specs) + 3})
    return written
