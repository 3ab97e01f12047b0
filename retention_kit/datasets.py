"""Bundled data sets and seeded simulators.

Every loader reads files shipped with the project (``datasets/`` in a checkout,
``retention_kit/_datasets`` inside an installed wheel): nothing is downloaded.
Provenance and licences are in ``datasets/README.md``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._simulate import (
    EXPERIMENT_TRUE_EFFECTS,
    simulate_experiment,
    simulate_subscriptions,
    simulate_summary,
    simulate_survey,
    simulate_transactions,
    write_demo_data,
)
from .errors import data_error

__all__ = [
    "SBGCohorts",
    "data_dir",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "load_sbg_cohorts",
    "DemoClient",
    "EXPERIMENT_TRUE_EFFECTS",
    "list_demo_clients",
    "load_demo_client",
    "load_experiment",
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
    ['b2b_saas', 'marketplace', 'retailer', 'seasonal_shop', 'subscription_box']
    """
    demo = data_dir() / "demo"
    return sorted(p.parent.name for p in demo.glob("*/client.json"))


def load_demo_client(client_id: str) -> DemoClient:
    """Transactions, subscriptions and description of one synthetic demo client.

    The five clients (generated by :func:`write_demo_data` with seed 2024; see
    ``datasets/README.md``) cover 2022-01-01..2024-12-31 and differ on purpose:
    ``retailer`` (steady repeat buying, BG/NBD), ``marketplace`` (mostly one-time
    buyers), ``seasonal_shop`` (November/December peaks), ``subscription_box``
    (monthly boxes, sBG churn) and ``b2b_saas`` (per-seat MRR, expansion, a few
    large accounts).

    Parameters
    ----------
    client_id : str
        One of :func:`list_demo_clients`.

    Returns
    -------
    DemoClient
        ``transactions`` (``customer_id`` str, ``date`` datetime64, ``amount`` in
        the client's currency), ``subscriptions`` (``customer_id``, ``month`` as the
        first day of the month, ``plan``, ``mrr``; None for non-subscription
        clients) and ``info`` (the ``client.json`` dict).

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
    ['customer_id', 'month', 'plan', 'mrr']
    >>> load_demo_client("retailer").subscriptions is None
    True
    """
    valid = list_demo_clients()
    if client_id not in valid:
        raise data_error(f"unknown demo client {client_id!r}",
                         fix=f"use one of {', '.join(valid)}")
    folder = data_dir() / "demo" / client_id
    info = json.loads((folder / "client.json").read_text(encoding="utf-8"))
    transactions = pd.read_csv(folder / "transactions.csv", parse_dates=["date"],
                               dtype={"customer_id": "str", "amount": "float64"})
    subs_path = folder / "subscriptions.csv"
    subscriptions = None
    if subs_path.is_file():
        subscriptions = pd.read_csv(subs_path, parse_dates=["month"],
                                    dtype={"customer_id": "str", "plan": "str",
                                           "mrr": "float64"})
    return DemoClient(transactions=transactions, subscriptions=subscriptions, info=info)


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
    >>> sorted(survey["client"].unique()) == list_demo_clients()
    True
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
