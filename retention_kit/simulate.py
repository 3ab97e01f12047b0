"""Seeded synthetic data: transaction logs, subscriptions, surveys and experiments.

Every simulator takes a ``random_state`` (a non-negative int or a
:class:`numpy.random.Generator`) and draws only from it, so the same seed gives the
same frame, byte for byte. The processes are the textbook ones, so fitted models can
be checked against the truth:

* :func:`simulate_transactions`: BG/NBD (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way") or Pareto/NBD (Schmittlein, Morrison & Colombo 1987)
  purchasing with Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV"),
  optionally with monthly seasonality;
* :func:`simulate_subscriptions`: monthly subscriptions whose churn follows the
  shifted-beta-geometric model (Fader & Hardie 2007), with plan changes, seat
  expansion and reactivations;
* :func:`simulate_survey`: NPS, CSAT and CES answers that track each customer's
  loyalty;
* :func:`simulate_experiment`: a randomised retention experiment with known,
  heterogeneous effects (:data:`EXPERIMENT_TRUE_EFFECTS`).

The files shipped in ``datasets/`` are written from these simulators by
:func:`retention_kit.datasets.write_demo_data`. The simulators are also importable from
:mod:`retention_kit.datasets` and :mod:`retention_kit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import data_error

__all__ = [
    "EXPERIMENT_TRUE_EFFECTS",
    "as_generator",
    "simulate_contract_snapshot",
    "simulate_experiment",
    "simulate_subscriptions",
    "simulate_summary",
    "simulate_survey",
    "simulate_transactions",
]

DateLike = str | date | datetime | np.datetime64 | pd.Timestamp
RandomState = int | np.integer | np.random.Generator

_TIME_UNIT_DAYS = {"D": 1, "W": 7}
# CDNOW estimates, per week: BG/NBD and Pareto/NBD from Fader, Hardie & Lee (2005),
# Gamma-Gamma from Fader, Hardie & Lee (2005, "RFM and CLV").
_BGNBD_CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
_PARETO_CDNOW = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
_GG_CDNOW = {"p": 6.25, "q": 3.74, "gamma": 15.44}
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


# --------------------------------------------------------------------------- helpers


def as_generator(random_state: RandomState) -> np.random.Generator:
    """The numpy Generator every simulator draws from.

    Parameters
    ----------
    random_state : int or numpy.random.Generator
        A non-negative seed, or a Generator (returned as it is, so draws continue its stream).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    DataError
        For anything else (negative ints, bools, floats, None).

    Examples
    --------
    >>> as_generator(42).integers(0, 100, 3).tolist() == np.random.default_rng(42).integers(
    ...     0, 100, 3).tolist()
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if (isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
            and random_state >= 0):
        return np.random.default_rng(int(random_state))
    raise data_error(
        f"random_state must be a non-negative int or a numpy Generator, got {random_state!r}",
        fix="pass a seed such as random_state=42 or np.random.default_rng(42)")


def _day(value: DateLike, what: str) -> np.datetime64:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise data_error(f"{what} {value!r} is not a date",
                         fix="pass a date such as '2023-01-31'") from exc
    if pd.isna(ts):
        raise data_error(f"{what} is missing", fix="pass a date such as '2023-01-31'")
    return np.datetime64(ts.date(), "D")


def _to_us(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime64[us], the resolution pandas gives parsed dates."""
    return days.astype("datetime64[us]")


def _count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise data_error(f"{what} must be a positive int, got {n!r}",
                         fix=f"pass {what}=1000, for example")
    return int(n)


def _prob(x: Any, what: str) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError) as exc:
        raise data_error(f"{what} must be a probability, got {x!r}",
                         fix=f"pass {what} between 0 and 1") from exc
    if not 0.0 <= value <= 1.0:
        raise data_error(f"{what} must be between 0 and 1, got {x!r}",
                         fix=f"pass {what} between 0 and 1")
    return value


def _positive_params(params: Mapping[str, float], names: Sequence[str],
                     what: str) -> dict[str, float]:
    if not isinstance(params, Mapping) or set(params) != set(names):
        got = sorted(params) if isinstance(params, Mapping) else params
        raise data_error(f"{what} needs exactly the keys {list(names)}, got {got!r}",
                         fix=f"pass {what}=" + "{" + ", ".join(f"'{k}': ..." for k in names) + "}")
    out = {}
    for k in names:
        try:
            v = float(params[k])
        except (TypeError, ValueError) as exc:
            raise data_error(f"{what}[{k!r}] is not a number: {params[k]!r}",
                             fix="pass positive finite numbers") from exc
        if not np.isfinite(v) or v <= 0:
            raise data_error(f"{what}[{k!r}] must be positive and finite, got {v!r}",
                             fix="pass positive finite numbers")
        out[k] = v
    return out


def _weights(w: Sequence[float], n: int, what: str) -> np.ndarray:
    arr = np.asarray(w, dtype=float)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        raise data_error(f"{what} must be {n} non-negative numbers with a positive sum, got {w!r}",
                         fix=f"pass a sequence of {n} weights")
    return arr / arr.sum()


def _ids(prefix: str | None, n: int) -> np.ndarray:
    if prefix is None:
        return np.arange(1, n + 1, dtype=np.int64)
    width = max(5, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)])


def _daily_seasonality(seasonality: Sequence[float], start: np.datetime64,
                       n_days: int) -> np.ndarray:
    """Multiplier for each of ``n_days`` days from ``start``; mean 1 over a 365-day year."""
    m = np.asarray(seasonality, dtype=float)
    if m.shape != (12,) or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise data_error(f"seasonality must be 12 positive monthly multipliers (Jan..Dec), "
                         f"got {seasonality!r}",
                         fix="pass e.g. [1]*10 + [3, 4] for November and December peaks")
    m = m / (m @ _DAYS_IN_MONTH / 365.0)
    month = (start + np.arange(n_days)).astype("datetime64[M]").astype(np.int64) % 12
    return m[month]


def _grouped_cumsum(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative sums restarting for each group; also each group's total."""
    cs = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.cumsum(counts)
    starts = ends - counts
    base = cs[starts]
    owner = np.repeat(np.arange(len(counts)), counts)
    return cs[1:] - base[owner], cs[ends] - base


# --------------------------------------------------------------------------- summaries


def simulate_summary(
    n_customers: int,
    *,
    T: float | Sequence[float] | np.ndarray,
    model: Literal["bgnbd", "pareto_nbd"] = "bgnbd",
    params: Mapping[str, float] | None = None,
    spend: Mapping[str, float] | None = None,
    random_state: RandomState,
) -> pd.DataFrame:
    r"""Per-customer BTYD summaries drawn directly from the BG/NBD or Pareto/NBD process.

    Much faster than simulating a log and summarising it (a million customers in well
    under a second), for model tests and benchmarks. Given the purchase rate
    :math:`\lambda`, the number of Poisson purchases in (0, T] is
    :math:`N \sim \mathrm{Poisson}(\lambda T)`; the customer makes
    ``x = min(N, K)`` of them, where K is the purchase after which she drops out (BG/NBD:
    :math:`K \sim \mathrm{Geometric}(p)`) or the number before her exponential
    lifetime ends (Pareto/NBD); the x-th of N uniform arrival times on (0, T] is
    :math:`T \cdot \mathrm{Beta}(x, N - x + 1)`, which gives the recency.

    Parameters
    ----------
    n_customers : int
        Number of customers.
    T : float or array
        Age of each customer at the end of observation (one value or one per
        customer), in the time unit of the parameters.
    model, params, spend
        As in :func:`simulate_transactions` (default: the CDNOW estimates, weekly).
        With ``spend``, a ``monetary_value`` column holds each customer's mean
        repeat-purchase spend from the Gamma-Gamma model (0 when frequency is 0).
    random_state : int or numpy Generator

    Returns
    -------
    DataFrame
        ``frequency``, ``recency``, ``T`` [, ``monetary_value``], indexed 0..n-1.

    Examples
    --------
    >>> s = simulate_summary(5, T=39.0, random_state=1)
    >>> list(s.columns), bool((s["recency"] <= s["T"]).all())
    (['frequency', 'recency', 'T'], True)
    """
    n = _count(n_customers, "n_customers")
    rng = as_generator(random_state)
    ages = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    if np.any(~np.isfinite(ages)) or np.any(ages <= 0):
        raise data_error("T must be positive and finite", fix="pass customer ages > 0")
    if model == "bgnbd":
        p = _positive_params(_BGNBD_CDNOW if params is None else params,
                             ("r", "alpha", "a", "b"), "params")
    elif model == "pareto_nbd":
        p = _positive_params(_PARETO_CDNOW if params is None else params,
                             ("r", "alpha", "s", "beta"), "params")
    else:
        raise data_error(f"model={model!r} is not 'bgnbd' or 'pareto_nbd'")
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
    if model == "bgnbd":
        drop = rng.beta(p["a"], p["b"], n)
        n_arrivals = rng.poisson(lam * ages)
        k = rng.geometric(drop)
        x = np.minimum(n_arrivals, k)
        total = n_arrivals
        window = ages
    else:
        mu = rng.gamma(p["s"], 1.0 / p["beta"], n)
        life = rng.exponential(1.0 / mu)
        window = np.minimum(life, ages)
        x = rng.poisson(lam * window)
        total = x
    recency = np.zeros(n)
    buyers = x > 0
    recency[buyers] = window[buyers] * rng.beta(x[buyers], total[buyers] - x[buyers] + 1)
    out = pd.DataFrame({"frequency": x.astype("int64"), "recency": recency, "T": ages})
    if spend is not None:
        gg = _positive_params(spend, ("p", "q", "gamma"), "spend")
        nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
        sums = np.where(buyers, rng.gamma(np.where(buyers, gg["p"] * x, 1.0), 1.0 / nu), 0.0)
        out["monetary_value"] = np.where(buyers, sums / np.maximum(x, 1), 0.0)
    return out


# --------------------------------------------------------------------------- transactions


def _transaction_params(model: str, params: Mapping[str, float] | None, time_unit: str,
                        spend: Mapping[str, float] | None, item_price: float | None,
                        ) -> tuple[int, dict[str, float], dict[str, float]]:
    """Checked options of :func:`simulate_transactions`: days per time unit, purchase and
    spend parameters (CDNOW defaults, per day or per week)."""
    if time_unit not in _TIME_UNIT_DAYS:
        raise data_error(f"time_unit must be 'D' or 'W', got {time_unit!r}",
                         fix="rates are per day ('D') or per week of 7 days ('W')")
    unit = _TIME_UNIT_DAYS[time_unit]
    if model == "bgnbd":
        names, defaults = ("r", "alpha", "a", "b"), dict(_BGNBD_CDNOW)
    elif model == "pareto_nbd":
        names, defaults = ("r", "alpha", "s", "beta"), dict(_PARETO_CDNOW)
    else:
        raise data_error(f"model must be 'bgnbd' or 'pareto_nbd', got {model!r}",
                         fix="choose one of the two purchase processes")
    if params is None:
        params = defaults
        if unit == 1:
            params["alpha"] *= 7
            if "beta" in params:
                params["beta"] *= 7
    prm = _positive_params(params, names, "params")
    gg = _positive_params(_GG_CDNOW if spend is None else spend, ("p", "q", "gamma"), "spend")
    if item_price is not None and not (np.isfinite(item_price) and item_price > 0):
        raise data_error(f"item_price must be positive, got {item_price!r}",
                         fix="pass the typical price of one item, or None")
    return unit, prm, gg


def _first_purchase_days(first_purchase: Any, acquisition_end: DateLike | None, n: int,
                         start_d: np.datetime64, end_d: np.datetime64, last: int,
                         season: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """First purchase day of each customer, as an offset from start: the given dates, or
    uniform (or seasonal) draws up to ``acquisition_end``."""
    if first_purchase is not None:
        try:
            fp = pd.to_datetime(pd.Series(first_purchase)).to_numpy().astype("datetime64[D]")
        except (TypeError, ValueError) as exc:
            raise data_error("first_purchase holds values that are not dates",
                             fix="pass one date per customer") from exc
        if fp.shape != (n,):
            raise data_error(f"first_purchase has {fp.size} dates for {n} customers",
                             fix="pass one date per customer")
        d0 = (fp - start_d).astype(np.int64)
        bad = (d0 < 0) | (d0 > last) | np.isnat(fp)
        if bad.any():
            raise data_error("first_purchase dates fall outside start..end",
                             n_rows=int(bad.sum()), example=str(fp[bad][0]),
                             fix="widen start..end or move the first purchases")
    else:
        acq = last if acquisition_end is None else int(
            (_day(acquisition_end, "acquisition_end") - start_d).astype(np.int64))
        if not 0 <= acq <= last:
            raise data_error(f"acquisition_end must lie within {start_d}..{end_d}",
                             fix="pass a date between start and end")
        if season is None:
            d0 = rng.integers(0, acq + 1, size=n)
        else:
            w = season[: acq + 1]
            d0 = rng.choice(acq + 1, size=n, p=w / w.sum())
    return d0


def _arrival_offsets(k: np.ndarray, n_events: np.ndarray, active: np.ndarray, unit: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Owner and time since the first purchase (operational days) of every repeat purchase.

    The times of the first k of n_events Poisson arrivals in [0, active] are the k smallest
    of n_events sorted uniforms: C_j / (C_k + G), C the partial sums of k standard
    exponentials and G ~ Gamma(n_events - k + 1) (exponential spacings).
    """
    cum, total = _grouped_cumsum(rng.standard_exponential(int(k.sum())), k)
    tail = rng.gamma(n_events - k + 1.0)
    owner = np.repeat(np.arange(len(k)), k)
    return owner, cum / (total + tail)[owner] * active[owner] * unit


def simulate_transactions(
    n_customers: int,
    *,
    start: DateLike,
    end: DateLike,
    model: Literal["bgnbd", "pareto_nbd"] = "bgnbd",
    params: Mapping[str, float] | None = None,
    spend: Mapping[str, float] | None = None,
    time_unit: Literal["D", "W"] = "W",
    acquisition_end: DateLike | None = None,
    first_purchase: Sequence[DateLike] | np.ndarray | pd.Series | None = None,
    seasonality: Sequence[float] | None = None,
    item_price: float | None = None,
    id_prefix: str | None = None,
    return_latent: bool = False,
    random_state: RandomState,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    r"""Transaction log of a BG/NBD (or Pareto/NBD) customer base with Gamma-Gamma spend.

    Each customer makes a first purchase on an acquisition day, then

    * **BG/NBD** (Fader, Hardie & Lee 2005): while alive, purchases follow a Poisson
      process with rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` (shape ``r``,
      rate ``alpha``, per ``time_unit``); after each *repeat* purchase the customer
      drops out for good with probability :math:`p \sim \mathrm{Beta}(a, b)`;
    * **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): the same purchasing,
      and an exponential lifetime with rate :math:`\mu \sim \mathrm{Gamma}(s, \beta)`.

    The spend of every transaction (first one included) follows the Gamma-Gamma model
    (Fader, Hardie & Lee 2005, "RFM and CLV"): :math:`z \sim \mathrm{Gamma}(p, \nu)`,
    :math:`\nu \sim \mathrm{Gamma}(q, \gamma)` per customer (shapes ``p``, ``q``;
    rates :math:`\nu`, ``gamma``), so a customer's mean spend is :math:`p/\nu` and the
    population mean is :math:`p\gamma/(q-1)`.

    Time is continuous: the first purchase is at midday of its day and the customer is
    observed until midday of ``end``, so ``T`` (in the latent frame) is exactly
    ``(end - first purchase)`` in days divided by the unit, as
    :func:`retention_kit.data.rfm_summary` measures it; each purchase is recorded on
    the day it falls in.

    Parameters
    ----------
    n_customers : int
        Number of customers (each has at least one transaction).
    start, end : date-like
        First and last day of the observation period (inclusive).
    model : {"bgnbd", "pareto_nbd"}, default "bgnbd"
    params : mapping, optional
        ``{"r", "alpha", "a", "b"}`` for BG/NBD, ``{"r", "alpha", "s", "beta"}`` for
        Pareto/NBD, in the papers' parameterisation, rates per ``time_unit``. Default:
        the papers' CDNOW estimates (BG/NBD r=0.243, alpha=4.414, a=0.793, b=2.426;
        Pareto/NBD r=0.55, alpha=10.58, s=0.61, beta=11.67, per week; ``alpha`` and
        ``beta`` are multiplied by 7 when ``time_unit="D"``).
    spend : mapping, optional
        Gamma-Gamma ``{"p", "q", "gamma"}`` in currency units. Default: the CDNOW
        estimates p=6.25, q=3.74, gamma=15.44 (mean spend about $35).
    time_unit : {"W", "D"}, default "W"
        Unit of the purchase and dropout rates and of ``T`` in the latent frame:
        weeks of 7 days or days.
    acquisition_end : date-like, optional
        First purchases are uniform over the days ``start..acquisition_end``
        (default ``end``). With ``seasonality``, acquisition follows it too.
    first_purchase : sequence of dates, optional
        Each customer's first purchase day (length ``n_customers``, within
        ``start..end``); overrides the acquisition window.
    seasonality : sequence of 12 floats, optional
        Monthly multipliers (January..December) of every customer's purchase rate,
        rescaled to average 1 over a year. Implemented as a change of clock: the
        process runs on operational time :math:`\int_0^t s(u)\,du`, so dropout per
        purchase is unchanged and, for Pareto/NBD, lifetimes run on the same clock.
    item_price : float, optional
        If given, add a ``quantity`` column: ``1 + Poisson(max(amount/item_price - 1,
        0))`` items, so the mean price per item is about ``item_price``.
    id_prefix : str, optional
        Customer ids are ``1..n_customers`` (int) by default, or strings such as
        ``"R00001"`` with a prefix.
    return_latent : bool, default False
        Also return the true per-customer values.
    random_state : int or numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    DataFrame or (DataFrame, DataFrame)
        The log, sorted by date then customer: ``customer_id``, ``date``
        (datetime64, midnight), ``amount`` (currency, rounded to cents, at least
        0.01) and, with ``item_price``, ``quantity``. Same-day repeat purchases are
        kept as separate rows. With ``return_latent=True`` also the latent frame,
        indexed by ``customer_id``: ``first_purchase``, ``T`` (``time_unit``),
        ``lam`` (purchase rate per ``time_unit``), ``p`` (BG/NBD dropout
        probability) and ``dropout_after`` (the repeat purchase after which the
        customer drops out) or ``mu`` and ``lifetime`` (Pareto/NBD, ``time_unit``),
        ``frequency`` (repeat purchases simulated), ``alive`` (still alive at
        ``end``), ``nu`` and ``mean_spend`` (true expected spend per transaction).

    Examples
    --------
    >>> log, latent = simulate_transactions(1000, start="2024-01-01", end="2024-12-31",
    ...                                     id_prefix="C", return_latent=True,
    ...                                     random_state=1)
    >>> list(log.columns), log["customer_id"].nunique()
    (['customer_id', 'date', 'amount'], 1000)
    >>> bool(log["date"].between("2024-01-01", "2024-12-31").all())
    True
    >>> bool((log.groupby("customer_id").size() - 1 == latent["frequency"]).all())
    True
    """
    n = _count(n_customers, "n_customers")
    rng = as_generator(random_state)
    unit, prm, gg = _transaction_params(model, params, time_unit, spend, item_price)

    start_d, end_d = _day(start, "start"), _day(end, "end")
    last = int((end_d - start_d).astype(np.int64))
    if last < 0:
        raise data_error(f"end ({end_d}) is before start ({start_d})", fix="swap them")
    season = None if seasonality is None else _daily_seasonality(seasonality, start_d, last + 1)

    d0 = _first_purchase_days(first_purchase, acquisition_end, n, start_d, end_d, last,
                              season, rng)

    # latent per-customer values
    lam = rng.gamma(prm["r"], 1.0 / prm["alpha"], size=n)
    t0 = d0 + 0.5                       # continuous time of the first purchase (days)
    t_end = last + 0.5                  # end of observation (days)
    if season is None:
        window = (t_end - t0) / unit     # operational window = calendar window
    else:
        clock = np.concatenate(([0.0], np.cumsum(season)))   # operational time at day starts
        grid = np.arange(last + 2, dtype=float)
        op0 = np.interp(t0, grid, clock)
        window = (np.interp(t_end, grid, clock) - op0) / unit
    if model == "bgnbd":
        p = rng.beta(prm["a"], prm["b"], size=n)
        dropout_after = rng.geometric(np.clip(p, 1e-12, 1.0))
        n_events = rng.poisson(lam * window)
        k = np.minimum(n_events, dropout_after)
        alive = n_events < dropout_after
        active = window
    else:
        mu = rng.gamma(prm["s"], 1.0 / prm["beta"], size=n)
        with np.errstate(divide="ignore"):
            lifetime = rng.standard_exponential(n) / mu
        active = np.minimum(window, lifetime)
        n_events = k = rng.poisson(lam * active)
        alive = lifetime > window
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], size=n)

    owner, elapsed = _arrival_offsets(k, n_events, active, unit, rng)   # days (operational)
    if season is None:
        t = t0[owner] + elapsed
    else:
        t = np.interp(op0[owner] + elapsed, clock, grid)
    repeat_day = np.clip(np.floor(t).astype(np.int64), d0[owner], last)

    cust = np.concatenate((np.arange(n), owner))
    day = np.concatenate((d0, repeat_day))
    amount = rng.gamma(gg["p"], 1.0 / nu[cust])
    order = np.lexsort((cust, day))     # stable: a first purchase precedes same-day repeats
    cust, day, amount = cust[order], day[order], amount[order]
    amount = np.maximum(np.round(amount, 2), 0.01)
    ids = _ids(id_prefix, n)
    log = pd.DataFrame({"customer_id": ids[cust], "date": _to_us(start_d + day),
                        "amount": amount})
    if item_price is not None:
        log["quantity"] = 1 + rng.poisson(np.maximum(amount / item_price - 1.0, 0.0))
    if not return_latent:
        return log

    latent = pd.DataFrame({"first_purchase": _to_us(start_d + d0),
                           "T": (last - d0) / unit, "lam": lam},
                          index=pd.Index(ids, name="customer_id"))
    if model == "bgnbd":
        latent["p"] = p
        latent["dropout_after"] = dropout_after
    else:
        latent["mu"] = mu
        latent["lifetime"] = lifetime
    latent["frequency"] = k
    latent["alive"] = alive
    latent["nu"] = nu
    latent["mean_spend"] = gg["p"] / nu
    return log, latent


# --------------------------------------------------------------------------- subscriptions


def _subscription_plans(plans: Mapping[str, float] | None, plan_mix: Sequence[float] | None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked plans of :func:`simulate_subscriptions`: names and prices from the cheapest
    up, and the acquisition mix over them."""
    plans = {"basic": 9.0, "standard": 19.0, "premium": 39.0} if plans is None else plans
    if not isinstance(plans, Mapping) or not plans:
        raise data_error(f"plans must be a non-empty mapping of plan name to price, got {plans!r}",
                         fix="pass e.g. {'basic': 9.0, 'premium': 29.0}")
    prices = np.array([float(v) for v in plans.values()])
    if not np.all(np.isfinite(prices)) or np.any(prices < 0):
        raise data_error(f"plan prices must be non-negative numbers, got {dict(plans)!r}",
                         fix="pass monthly prices such as 9.0")
    rank = np.argsort(prices, kind="stable")
    names = np.array([str(k) for k in plans])[rank]
    prices = prices[rank]
    n_plans = len(prices)
    mix = (_weights(0.5 ** np.arange(n_plans), n_plans, "plan_mix") if plan_mix is None
           else _weights(plan_mix, n_plans, "plan_mix"))
    return names, prices, mix


def _seat_options(seats: Mapping[str, float]) -> tuple[float, float, float, float]:
    """Checked seat options of :func:`simulate_subscriptions`: median, sigma, monthly
    expansion and contraction probabilities."""
    extra = set(seats) - {"median", "sigma", "expansion", "contraction"}
    if extra or not {"median", "sigma"} <= set(seats):
        raise data_error(f"seats needs keys 'median' and 'sigma' (optionally 'expansion', "
                         f"'contraction'), got {sorted(seats)!r}",
                         fix="pass e.g. {'median': 5, 'sigma': 1.0, 'expansion': 0.03}")
    median = float(seats["median"])
    sigma = float(seats["sigma"])
    if not (median >= 1 and sigma >= 0):
        raise data_error("seats['median'] must be at least 1 and seats['sigma'] >= 0",
                         fix="pass e.g. {'median': 5, 'sigma': 1.0}")
    grow = _prob(seats.get("expansion", 0.0), "seats['expansion']")
    shrink = _prob(seats.get("contraction", 0.0), "seats['contraction']")
    if grow + shrink > 1:
        raise data_error("seats expansion + contraction exceeds 1",
                         fix="use small monthly probabilities")
    return median, sigma, grow, shrink


def simulate_subscriptions(
    n_customers: int,
    *,
    start_month: DateLike,
    n_months: int,
    plans: Mapping[str, float] | None = None,
    plan_mix: Sequence[float] | None = None,
    churn: Mapping[str, float] | None = None,
    upgrade: float = 0.02,
    downgrade: float = 0.01,
    reactivation: float = 0.01,
    seats: Mapping[str, float] | None = None,
    acquisition: Sequence[float] | None = None,
    annual: Mapping[str, float] | None = None,
    failed_payments: Mapping[DateLike, float] | None = None,
    id_prefix: str | None = None,
    return_latent: bool = False,
    random_state: RandomState,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    r"""Monthly subscription table with shifted-beta-geometric churn.

    Each customer is acquired in a month (uniform over the ``n_months`` months, or
    by ``acquisition`` weights) and pays for that month. At the start of every later
    month an active customer cancels with a constant probability
    :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` drawn once per customer (the
    shifted-beta-geometric model of Fader & Hardie 2007, so the share still active
    after :math:`t` renewals is :math:`B(\alpha, \beta + t)/B(\alpha, \beta)`).
    Customers who stay may move one plan up (``upgrade``) or down (``downgrade``);
    with ``seats``, accounts also grow (``expansion``) or shrink (``contraction``) by
    10–50% of their seats. A customer who has cancelled comes back each month with
    probability ``reactivation``, on the plan and seats they left with, and churns
    again with the same :math:`\theta`. Monthly probabilities apply to every month.

    With ``annual``, a share of the new customers sign annual contracts instead: they
    pay a year at a time (``mrr`` is the annual price over 12, with the ``discount`` of
    an annual plan) and can leave only at a yearly renewal (months 12, 24, ... of a
    spell), with a yearly probability :math:`\theta_Y \sim \mathrm{Beta}` of their own
    (the sBG in years). With ``failed_payments``, in the given months each monthly
    subscriber's payment fails with the given probability and she churns that month
    (involuntary churn, on top of :math:`\theta`).

    Parameters
    ----------
    n_customers : int
        Customers acquired over the period.
    start_month : date-like
        First month (any day in it).
    n_months : int
        Number of months simulated.
    plans : mapping of str to float, optional
        Plan name to monthly price (per seat with ``seats``), currency units; plans
        are ordered by price for upgrades. Default ``{"basic": 9.0, "standard":
        19.0, "premium": 39.0}``.
    plan_mix : sequence of float, optional
        Probabilities of the starting plan, in price order. Default halves with
        each step up (4:2:1 for three plans).
    churn : mapping, optional
        ``{"alpha", "beta"}`` of the Beta distribution of monthly churn. Default
        ``{"alpha": 1.0, "beta": 6.0}`` (mean churn 1/7 a month).
    upgrade, downgrade, reactivation : float
        Monthly probabilities (defaults 0.02, 0.01, 0.01).
    seats : mapping, optional
        ``{"median", "sigma"}`` (and optionally ``"expansion"``, ``"contraction"``,
        monthly probabilities, default 0): starting seats are
        ``max(1, round(median * exp(sigma * N(0, 1))))`` and ``mrr`` is price times
        seats. Default: one seat, no seat changes.
    acquisition : sequence of float, optional
        Relative number of acquisitions in each of the ``n_months`` months.
    annual : mapping, optional
        ``{"share", "alpha", "beta"}`` (and optionally ``"discount"``, default 1/6: two
        months free): the share of new customers on annual contracts and the Beta
        distribution of their churn probability at each yearly renewal. The table then
        has a ``billing_period`` column ("M" or "Y").
    failed_payments : mapping of date-like to float, optional
        Month (any day in it) to the probability that a monthly subscriber's payment
        fails that month, ending her subscription.
    id_prefix : str, optional
        String ids such as ``"S00001"`` instead of ints ``1..n_customers``.
    return_latent : bool, default False
        Also return the true per-customer values.
    random_state : int or numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    DataFrame or (DataFrame, DataFrame)
        One row per customer and paid month, sorted by month then customer:
        ``customer_id``, ``month`` (datetime64, first day of the month), ``plan``,
        ``mrr`` (monthly recurring revenue, currency, rounded to cents), and
        ``billing_period`` with ``annual``. With ``return_latent=True`` also a frame
        indexed by ``customer_id`` with ``acquisition_month``, ``theta`` (churn
        probability per renewal: monthly, or yearly for annual contracts),
        ``initial_plan``, ``initial_seats``, ``n_spells`` (1 + reactivations),
        ``months_active`` and ``active_at_end``; with ``annual`` also ``billing_period``,
        with ``failed_payments`` also ``failed_payment`` (the customer's last churn was a
        failed payment).

    Examples
    --------
    >>> subs = simulate_subscriptions(500, start_month="2024-01", n_months=12,
    ...                               id_prefix="S", random_state=3)
    >>> list(subs.columns)
    ['customer_id', 'month', 'plan', 'mrr']
    >>> bool((subs["month"].dt.day == 1).all()), sorted(subs["plan"].unique())
    (True, ['basic', 'premium', 'standard'])
    """
    n = _count(n_customers, "n_customers")
    n_months = _count(n_months, "n_months")
    rng = as_generator(random_state)
    names, prices, mix = _subscription_plans(plans, plan_mix)
    n_plans = len(prices)
    ch = _positive_params({"alpha": 1.0, "beta": 6.0} if churn is None else churn,
                          ("alpha", "beta"), "churn")
    up, down, react = (_prob(upgrade, "upgrade"), _prob(downgrade, "downgrade"),
                       _prob(reactivation, "reactivation"))
    if up + down > 1:
        raise data_error("upgrade + downgrade exceeds 1", fix="use small monthly probabilities")
    if seats is not None:
        median, sigma, grow, shrink = _seat_options(seats)
    first = _day(start_month, "start_month").astype("datetime64[M]")

    acq = (rng.integers(0, n_months, size=n) if acquisition is None
           else rng.choice(n_months, size=n, p=_weights(acquisition, n_months, "acquisition")))
    theta = rng.beta(ch["alpha"], ch["beta"], size=n)
    plan = rng.choice(n_plans, size=n, p=mix)
    if seats is None:
        seat = np.ones(n, dtype=np.int64)
    else:
        seat = np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(n)))).astype(
            np.int64)
    initial_plan, initial_seats = plan.copy(), seat.copy()
    yearly, price_factor = np.zeros(n, dtype=bool), np.ones(n)
    if annual is not None:
        share, a_theta, discount = _annual_options(annual)
        yearly = rng.random(n) < share
        theta = np.where(yearly, rng.beta(a_theta["alpha"], a_theta["beta"], size=n), theta)
        price_factor = np.where(yearly, 1.0 - discount, 1.0)
    failing = _failed_payment_months(failed_payments, first, n_months)
    failed = np.zeros(n, dtype=bool)

    active = np.zeros(n, dtype=bool)
    acquired = np.zeros(n, dtype=bool)
    spells = np.zeros(n, dtype=np.int64)
    months_active = np.zeros(n, dtype=np.int64)
    spell_start = np.zeros(n, dtype=np.int64)
    rows: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for m in range(n_months):
        was = active
        u = rng.random(n)
        renewal = ~yearly | ((m - spell_start) % 12 == 0)
        stay = was & ~(renewal & (u < theta))
        back = acquired & ~was & (u < react)
        if m in failing:
            lost = stay & ~yearly & (rng.random(n) < failing[m])
            stay &= ~lost
            failed = (failed | lost) & ~back
        new = acq == m
        active = stay | back | new
        acquired = acquired | new
        spells += back | new
        spell_start = np.where(back | new, m, spell_start)
        v = rng.random(n)
        move_up = stay & (v < up) & (plan < n_plans - 1)
        move_down = stay & (v >= up) & (v < up + down) & (plan > 0)
        plan = plan + move_up - move_down
        if seats is not None:
            w = rng.random(n)
            step = np.maximum(1, np.rint(seat * rng.uniform(0.1, 0.5, size=n))).astype(np.int64)
            seat = np.where(stay & (w < grow), seat + step, seat)
            seat = np.where(stay & (w >= grow) & (w < grow + shrink),
                            np.maximum(1, seat - step), seat)
        idx = np.flatnonzero(active)
        months_active += active
        rows.append((idx, m, plan[idx], seat[idx]))

    idx = np.concatenate([r[0] for r in rows])
    month = np.concatenate([np.full(len(r[0]), r[1]) for r in rows])
    plan_idx = np.concatenate([r[2] for r in rows])
    seat_n = np.concatenate([r[3] for r in rows])
    ids = _ids(id_prefix, n)
    months = (first + month).astype("datetime64[D]")
    subs = pd.DataFrame({"customer_id": ids[idx], "month": _to_us(months),
                         "plan": names[plan_idx],
                         "mrr": np.round(prices[plan_idx] * seat_n * price_factor[idx], 2)})
    if annual is not None:
        subs["billing_period"] = np.where(yearly[idx], "Y", "M")
    if not return_latent:
        return subs
    latent = pd.DataFrame({
        "acquisition_month": _to_us((first + acq).astype("datetime64[D]")),
        "theta": theta,
        "initial_plan": names[initial_plan],
        "initial_seats": initial_seats,
        "n_spells": spells,
        "months_active": months_active,
        "active_at_end": active,
    }, index=pd.Index(ids, name="customer_id"))
    if annual is not None:
        latent["billing_period"] = np.where(yearly, "Y", "M")
    if failed_payments is not None:
        latent["failed_payment"] = failed & ~active
    return subs, latent


def _annual_options(annual: Mapping[str, float]) -> tuple[float, dict[str, float], float]:
    """Checked ``annual`` of :func:`simulate_subscriptions`: share, yearly churn Beta
    parameters and the annual discount."""
    if not isinstance(annual, Mapping) or not {"share", "alpha", "beta"} <= set(annual) \
            or set(annual) - {"share", "alpha", "beta", "discount"}:
        raise data_error("annual needs keys 'share', 'alpha' and 'beta' (optionally "
                         f"'discount'), got {annual!r}",
                         fix="pass e.g. {'share': 0.3, 'alpha': 2.0, 'beta': 6.0}")
    share = _prob(annual["share"], "annual['share']")
    discount = _prob(annual.get("discount", 1 / 6), "annual['discount']")
    params = _positive_params({"alpha": annual["alpha"], "beta": annual["beta"]},
                              ("alpha", "beta"), "annual")
    return share, params, discount


def _failed_payment_months(failed: Mapping[DateLike, float] | None, first: np.datetime64,
                           n_months: int) -> dict[int, float]:
    """Checked ``failed_payments`` of :func:`simulate_subscriptions`: month offset ->
    probability, each month inside the simulated window."""
    if failed is None:
        return {}
    if not isinstance(failed, Mapping):
        raise data_error(f"failed_payments must map months to probabilities, got {failed!r}",
                         fix="pass e.g. {'2024-03': 0.08}")
    out = {}
    for month, p in failed.items():
        offset = int((_day(month, "failed_payments month").astype("datetime64[M]") - first)
                     .astype(int))
        if not 0 < offset < n_months:
            raise data_error(f"failed_payments month {month!r} is outside the simulated "
                             "months (or is the first, when nobody pays yet)",
                             fix="pass a month after start_month and within n_months")
        out[offset] = _prob(p, "failed_payments probability")
    return out


# --------------------------------------------------------------------------- contract snapshot


def simulate_contract_snapshot(
    n_customers: int,
    *,
    params: Mapping[str, float],
    n_periods: int = 72,
    window: int = 1,
    initial_share: float = 0.0,
    return_all: bool = False,
    random_state: RandomState,
) -> pd.DataFrame:
    r"""Duration table of a contract business seen only in a final window (a snapshot).

    ``n_customers`` are acquired over ``n_periods`` calendar periods (uniformly, plus a
    share ``initial_share`` at period 0: the base that existed when the records began,
    whose tenure piles up at ``n_periods``). Each leaves at renewal T drawn from the sBG
    (``params`` with ``alpha, beta``: θ ~ Beta(α, β), P(T > t | θ) = (1-θ)^t) or the BdW
    (with ``c`` as well: P(T > t | θ) = (1-θ)^(t^c)). The table holds only the customers
    who were still customers when the last ``window`` periods began, as an export of
    "current customers and those who left recently" does: a customer acquired at period a
    enters the table at tenure ``entry = max(0, n_periods - window - a)``; those who left
    before are missing. Fitting it without the entry times over-represents long-lived
    customers.

    Parameters
    ----------
    n_customers : int
        Customers acquired over the whole history (the table holds fewer).
    params : mapping
        ``{"alpha": ..., "beta": ...}`` (sBG) or with ``"c"`` (BdW).
    n_periods : int, default 72
        Calendar periods of history; also the largest tenure.
    window : int, default 1
        Periods at the end in which churn is observed (1 = the last month only).
    initial_share : float, default 0.0
        Share of the customers acquired at period 0.
    return_all : bool, default False
        Return every acquired customer (with ``in_snapshot``) instead of the snapshot.
    random_state : int or Generator

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``acquired`` (calendar period, 0-based), ``entry``,
        ``duration`` (renewals made, or the renewal at which she left), ``churned``,
        ``churn_period`` (calendar period of the churn, 1..n_periods, missing for current
        customers); ``attrs["time_unit"] = "M"`` and the truth in ``attrs["params"]``.

    Examples
    --------
    >>> snap = simulate_contract_snapshot(2000, params={"alpha": 0.7, "beta": 1.2},
    ...                                   random_state=1)
    >>> bool(snap.loc[snap["churned"], "churn_period"].eq(72).all())
    True
    >>> bool((snap["entry"] == snap["duration"] - 1).where(snap["churned"], True).all())
    True
    """
    n = _count(n_customers, "n_customers")
    periods = _count(n_periods, "n_periods")
    win = _count(window, "window")
    if win > periods:
        raise data_error(f"window={window!r} is longer than the history n_periods={n_periods!r}",
                         fix="pass a window of at most n_periods periods")
    names = ("alpha", "beta", "c") if isinstance(params, Mapping) and "c" in params else (
        "alpha", "beta")
    truth = _positive_params(params, names, "params")
    share = _prob(initial_share, "initial_share")
    rng = as_generator(random_state)
    acquired = np.where(rng.uniform(size=n) < share, 0, rng.integers(0, periods, n))
    theta = rng.beta(truth["alpha"], truth["beta"], n)
    c = truth.get("c", 1.0)
    # P(T > t | θ) = (1-θ)^(t^c): T = floor((log U / log(1-θ))^(1/c)) + 1.
    with np.errstate(divide="ignore"):
        ratio = np.log(rng.uniform(size=n)) / np.log1p(-np.minimum(theta, 1 - 1e-16))
    lifetime = np.floor(np.minimum(ratio, 1e12) ** (1.0 / c)) + 1
    tenure = periods - acquired
    entry = np.maximum(0, periods - win - acquired)
    churned = lifetime <= tenure
    duration = np.where(churned, lifetime, tenure).astype(np.int64)
    churn_period = pd.array(np.where(churned, acquired + lifetime, 0).astype(np.int64),
                            dtype="Int64")
    churn_period[~churned] = pd.NA
    frame = pd.DataFrame({"acquired": acquired.astype(np.int64), "entry": entry.astype(np.int64),
                          "duration": duration, "churned": churned,
                          "churn_period": churn_period},
                         index=pd.Index(np.arange(1, n + 1, dtype=np.int64), name="customer_id"))
    seen = lifetime > entry
    if return_all:
        frame["in_snapshot"] = seen
    else:
        frame = frame.loc[seen].copy()
    frame.attrs.update({"time_unit": "M", "params": truth, "n_periods": periods,
                        "window": win})
    return frame


# --------------------------------------------------------------------------- survey

#: Marginal answer probabilities of a customer base's survey (before response bias).
_NPS_PROBS = (0.02, 0.01, 0.02, 0.03, 0.03, 0.07, 0.08, 0.15, 0.20, 0.17, 0.22)   # 0..10
_CSAT_PROBS = (0.05, 0.08, 0.17, 0.38, 0.32)                                      # 1..5
_CES_PROBS = (0.03, 0.05, 0.09, 0.16, 0.24, 0.25, 0.18)                           # 1..7
_SURVEY_LOADINGS = {"nps": 0.9, "csat": 0.8, "ces": 0.6}


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ordinal(latent: np.ndarray, probs: Sequence[float], lowest: int) -> np.ndarray:
    from scipy.special import ndtri  # lazy: importing scipy.special changes warning filters

    cuts = ndtri(np.cumsum(probs)[:-1])
    return lowest + np.searchsorted(cuts, latent, side="right")


def simulate_survey(
    customers: pd.DataFrame,
    *,
    loyalty: str = "loyalty",
    response_rate: float = 0.3,
    strength: float = 0.6,
    response_bias: float = 0.0,
    random_state: RandomState,
) -> pd.DataFrame:
    r"""NPS, CSAT and CES answers that track each customer's loyalty.

    The loyalty column is turned into normal scores :math:`L` (by rank, so its scale
    does not matter). Each customer has a satisfaction
    :math:`S = \rho L + \sqrt{1-\rho^2}\,\varepsilon_0` with :math:`\rho` =
    ``strength``, and each answer is an ordered-probit reading of
    :math:`\ell S + \sqrt{1-\ell^2}\,\varepsilon` with loadings 0.9 (NPS), 0.8 (CSAT)
    and 0.6 (CES). The cut points give these answer shares in a whole customer base:

    * NPS 0..10: 2, 1, 2, 3, 3, 7, 8, 15, 20, 17, 22% (26% detractors, 39% promoters,
      NPS +13);
    * CSAT 1..5: 5, 8, 17, 38, 32% (70% satisfied);
    * CES 1..7, higher = easier: 3, 5, 9, 16, 24, 25, 18%.

    A customer answers with probability ``expit(logit(response_rate) +
    response_bias * L)`` (``response_bias > 0``: loyal customers answer more often),
    once, on a day uniform between ``first_date`` and ``last_date``. Loyal customers
    churn less by construction of the input, so promoters churn less.

    Parameters
    ----------
    customers : DataFrame
        One row per customer: ``customer_id``, ``first_date``, ``last_date`` (the
        window the answer falls in) and the loyalty column (higher = more loyal,
        e.g. ``1 - p`` of a BG/NBD customer or ``1 - theta`` of a subscriber).
    loyalty : str, default "loyalty"
        Name of the loyalty column.
    response_rate : float, default 0.3
        Share of customers who answer (exactly, on average, when
        ``response_bias=0``).
    strength : float, default 0.6
        Correlation of satisfaction with the loyalty normal score, in [-1, 1].
    response_bias : float, default 0.0
        Log-odds change of answering per standard deviation of loyalty.
    random_state : int or numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    DataFrame
        One row per answering customer, sorted by date (then input order):
        ``customer_id``, ``date`` (datetime64), ``nps`` (0..10), ``csat`` (1..5),
        ``ces`` (1..7, 7 = very easy).

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": range(1000), "loyalty": range(1000),
    ...                           "first_date": pd.Timestamp("2024-01-01"),
    ...                           "last_date": pd.Timestamp("2024-06-30")})
    >>> answers = simulate_survey(customers, response_rate=0.5, random_state=0)
    >>> list(answers.columns)
    ['customer_id', 'date', 'nps', 'csat', 'ces']
    >>> loyal = answers["customer_id"] >= 500
    >>> bool(answers.loc[loyal, "nps"].mean() > answers.loc[~loyal, "nps"].mean())
    True
    """
    rng = as_generator(random_state)
    needed = ["customer_id", "first_date", "last_date", loyalty]
    if not isinstance(customers, pd.DataFrame) or any(c not in customers for c in needed):
        have = list(customers.columns) if isinstance(customers, pd.DataFrame) else customers
        raise data_error(f"customers needs the columns {needed}, got {have!r}",
                         fix="pass one row per customer with those columns")
    n = len(customers)
    if n == 0:
        raise data_error("customers is empty", fix="pass at least one customer")
    score = pd.to_numeric(customers[loyalty], errors="coerce")
    if score.isna().any():
        bad = score.isna()
        raise data_error(f"loyalty column {loyalty!r} has missing or non-numeric values",
                         n_rows=int(bad.sum()),
                         example=repr(customers.loc[bad, loyalty].iloc[0]),
                         fix="fill it with a number per customer")
    try:
        first = pd.to_datetime(customers["first_date"]).to_numpy().astype("datetime64[D]")
        last = pd.to_datetime(customers["last_date"]).to_numpy().astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise data_error("first_date or last_date holds values that are not dates",
                         fix="pass dates") from exc
    bad = np.isnat(first) | np.isnat(last) | (last < first)
    if bad.any():
        raise data_error("first_date is missing or after last_date", n_rows=int(bad.sum()),
                         example=repr(customers.loc[bad, "customer_id"].iloc[0]),
                         fix="give each customer a window with first_date <= last_date")
    rate = _prob(response_rate, "response_rate")
    rho = float(strength)
    if not -1.0 <= rho <= 1.0:
        raise data_error(f"strength must be in [-1, 1], got {strength!r}",
                         fix="pass a correlation such as 0.6")

    from scipy.special import ndtri  # lazy: importing scipy.special changes warning filters

    normal_score = ndtri((score.rank(method="average").to_numpy() - 0.5) / n)
    with np.errstate(divide="ignore"):
        logit_rate = np.log(rate) - np.log1p(-rate)
    respond_p = _expit(logit_rate + float(response_bias) * normal_score)
    respond = rng.random(n) < respond_p
    noise = rng.standard_normal((4, n))
    where = rng.random(n)
    sat = rho * normal_score + np.sqrt(1 - rho**2) * noise[0]
    answers = {}
    for i, (name, probs, lowest) in enumerate((("nps", _NPS_PROBS, 0),
                                               ("csat", _CSAT_PROBS, 1),
                                               ("ces", _CES_PROBS, 1)), start=1):
        ell = _SURVEY_LOADINGS[name]
        answers[name] = _ordinal(ell * sat + np.sqrt(1 - ell**2) * noise[i], probs, lowest)
    span = (last - first).astype(np.int64)
    day = first + np.floor(where * (span + 1)).astype(np.int64)
    out = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy(),
                        "date": _to_us(day), **answers})[respond]
    out = out.iloc[np.lexsort((np.arange(len(out)), out["date"].to_numpy()))]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- experiment

_ARMS = ("control", "loyalty_programme", "welcome_email")
_HORIZON_DAYS = 90
_TENURE_SHARES = {"new": 0.25, "established": 0.45, "long": 0.30}
_HIGH_FREQ_SHARE = {"new": 0.15, "established": 0.30, "long": 0.40}
_LOW_ORDERS_NEW = (0.0, 0.7, 0.3)          # P(pre_period_orders = 0, 1, 2) for new customers
_LOW_ORDERS_OLD = (0.40, 0.35, 0.25)        # the same for established and long-tenure ones
_CHANNELS = {"web": 0.45, "app": 0.35, "store": 0.20}
_AGE_BANDS = {"18-24": 0.12, "25-34": 0.26, "35-44": 0.24, "45-54": 0.19, "55+": 0.19}
_WEIBULL_SHAPE = 0.8
_SEGMENT_RULES = {
    "high_frequency": "pre_period_orders >= 3",
    "new": "tenure_months < 3",
    "sleeping_dog": "tenure_months >= 24 and pre_period_orders <= 1",
}
_EFFECTS = {   # additive effect on P(retained_90d), by segment; ratio of expected spend
    "loyalty_programme": ({"high_frequency": 0.10, "other": 0.02}, 1.08),
    "welcome_email": ({"new": 0.10, "sleeping_dog": -0.04, "other": 0.0}, 1.00),
}


def _segment_shares() -> dict[str, float]:
    high = sum(_TENURE_SHARES[g] * _HIGH_FREQ_SHARE[g] for g in _TENURE_SHARES)
    sleeping = (_TENURE_SHARES["long"] * (1 - _HIGH_FREQ_SHARE["long"])
                * (_LOW_ORDERS_OLD[0] + _LOW_ORDERS_OLD[1]))
    return {"high_frequency": round(high, 10), "new": _TENURE_SHARES["new"],
            "sleeping_dog": round(sleeping, 10)}


def _true_effects(scale: float = 1.0) -> dict[str, Any]:
    shares = _segment_shares()
    out: dict[str, Any] = {
        "outcome": "retained_90d",
        "effect_scale": scale,
        "definition": "difference in the probability of being retained 90 days after "
                      "enrolment, treatment minus control, in the whole enrolled population "
                      "(ate_retained_90d) and by segment (cate_retained_90d); "
                      "spend_ratio is E[post_period_spend | arm] / E[post_period_spend | control]",
        "segments": dict(_SEGMENT_RULES),
        "segment_shares": shares,
    }
    for arm, (cate, ratio) in _EFFECTS.items():
        segs = {k: v * scale for k, v in cate.items()}
        named = sum(shares[k] for k in segs if k != "other")
        ate = sum(shares[k] * v for k, v in segs.items() if k != "other") + (1 - named) * segs[
            "other"]
        out[arm] = {"ate_retained_90d": round(ate, 10), "cate_retained_90d": segs,
                    "spend_ratio": round(1 + (ratio - 1) * scale, 10)}
    return out


#: True effects of :func:`simulate_experiment` with its defaults (``effect_scale=1``):
#: the loyalty programme adds 10 percentage points of 90-day retention for
#: high-frequency customers and 2 for the rest (ATE 0.0434) and raises expected
#: post-period spend by 8%; the welcome email adds 10 points for new customers, takes
#: 4 points from "sleeping dogs" and does nothing for the rest (ATE 0.0196).
EXPERIMENT_TRUE_EFFECTS: dict[str, Any] = _true_effects()


def _experiment_arms(arms: Mapping[str, float] | None) -> tuple[list[str], np.ndarray]:
    """Checked arms of :func:`simulate_experiment`, in the order of ``_ARMS``, with their
    allocation shares."""
    arms = {a: 1.0 for a in _ARMS} if arms is None else dict(arms)
    unknown = sorted(set(arms) - set(_ARMS))
    if unknown or "control" not in arms:
        raise data_error(f"arms must include 'control' and may include only {list(_ARMS)}, "
                         f"got {sorted(arms)!r}",
                         fix="pass e.g. {'control': 0.5, 'loyalty_programme': 0.5}")
    arm_names = [a for a in _ARMS if a in arms]
    alloc = _weights([arms[a] for a in arm_names], len(arm_names), "arms")
    return arm_names, alloc


def _treated_retention(q: np.ndarray, arm: np.ndarray, arm_names: Sequence[str],
                       orders: np.ndarray, tenure: np.ndarray,
                       scale: float) -> tuple[np.ndarray, np.ndarray]:
    """P(retained_90d) and the spend multiplier after each customer's arm's effect
    (``_EFFECTS`` by segment, times ``scale``); control keeps ``q`` and 1."""
    n = len(q)
    segment = {"high_frequency": orders >= 3, "new": tenure < 3,
               "sleeping_dog": (tenure >= 24) & (orders <= 1)}
    spend_mult = np.ones(n)
    for i, name in enumerate(arm_names):
        if name == "control":
            continue
        cate, ratio = _EFFECTS[name]
        effect = np.full(n, cate["other"])
        for seg, value in cate.items():
            if seg != "other":
                effect = np.where(segment[seg], value, effect)
        q = np.where(arm == i, q + scale * effect, q)
        spend_mult = np.where(arm == i, 1 + (ratio - 1) * scale, spend_mult)
    return q, spend_mult


def simulate_experiment(
    n_customers: int = 30_000,
    *,
    arms: Mapping[str, float] | None = None,
    start: DateLike = "2023-01-02",
    end: DateLike = "2023-12-31",
    study_end: DateLike = "2024-01-31",
    effect_scale: float = 1.0,
    id_prefix: str = "E",
    random_state: RandomState,
) -> pd.DataFrame:
    r"""A randomised retention experiment with known, heterogeneous effects.

    Customers enrol (and are randomised) on ``signup_date``, uniform over
    ``start..end``, and are followed until ``study_end``. Covariates, drawn
    independently of the arm:

    * tenure group: new (25%; ``tenure_months`` 0–2), established (45%; 3–23) or
      long (30%; 24–120);
    * high-frequency with probability 0.15 / 0.30 / 0.40 by tenure group:
      ``pre_period_orders`` (orders in the 90 days before enrolment) is
      ``3 + Poisson(2)``; otherwise 1 or 2 (70/30%) for new customers and 0, 1, 2
      (40/35/25%) for the others;
    * ``channel`` web/app/store (45/35/20%) and ``age_band`` (12/26/24/19/19%);
    * ``pre_period_spend``: the pre-period orders at a customer-specific mean order
      value (Gamma, mean 42/38/55 by channel).

    Control retention at 90 days is ``0.25 + 0.6 * expit(eta)`` with ``eta`` rising
    with orders, tenure, the app channel and age, plus unobserved noise. Treatment adds
    the effects below on the probability scale (so they are exact); the time to churn
    is Weibull (shape 0.8) with that 90-day survival. ``post_period_spend`` (the 90
    days after enrolment) has an expected value proportional to the pre-period order
    rate, times the arm's spend ratio; it does not depend on the churn draw.

    True effects (times ``effect_scale``; also in ``df.attrs["true_effects"]`` and
    :data:`EXPERIMENT_TRUE_EFFECTS`):

    ==================  ==============================================  ==========  ===========
    arm                 effect on P(retained 90 days), by segment        ATE         spend ratio
    ==================  ==============================================  ==========  ===========
    loyalty_programme   +0.10 high-frequency (29.25%), +0.02 others      +0.0434     1.08
    welcome_email       +0.10 new (25%), -0.04 sleeping dogs (13.5%),    +0.0196     1.00
                        0 others
    ==================  ==============================================  ==========  ===========

    Segments are functions of the observed covariates: high-frequency
    ``pre_period_orders >= 3``, new ``tenure_months < 3``, sleeping dog
    ``tenure_months >= 24 and pre_period_orders <= 1``.

    Parameters
    ----------
    n_customers : int, default 30000
    arms : mapping of str to float, optional
        Arm name to allocation share, from ``"control"`` (required),
        ``"loyalty_programme"``, ``"welcome_email"``. Default: equal thirds.
    start, end : date-like
        Enrolment window (default 2023-01-02..2023-12-31).
    study_end : date-like
        End of follow-up (default 2024-01-31). Customers enrolled fewer than 90
        days before it have not reached the horizon.
    effect_scale : float, default 1.0
        Multiplies every effect (0 gives an A/A test), at most 1.
    id_prefix : str, default "E"
    random_state : int or numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    DataFrame
        One row per customer: ``customer_id``, ``arm``, ``signup_date``,
        ``tenure_months``, ``channel``, ``age_band``, ``pre_period_orders``,
        ``pre_period_spend``, ``reached_horizon`` (enrolled at least 90 days before
        ``study_end``), ``retained_90d`` (nullable boolean, missing unless
        ``reached_horizon``: not churned by day 90), ``duration_days`` (days to churn,
        or to ``study_end`` if censored), ``churned`` (False = right-censored),
        ``post_period_spend`` (currency, missing unless ``reached_horizon``).

    Examples
    --------
    >>> df = simulate_experiment(3000, random_state=7)
    >>> df.shape, sorted(df["arm"].unique())
    ((3000, 13), ['control', 'loyalty_programme', 'welcome_email'])
    >>> df.attrs["true_effects"]["loyalty_programme"]["ate_retained_90d"]
    0.0434
    >>> bool(df.loc[~df["reached_horizon"], "retained_90d"].isna().all())
    True
    """
    n = _count(n_customers, "n_customers")
    rng = as_generator(random_state)
    arm_names, alloc = _experiment_arms(arms)
    scale = float(effect_scale)
    if not 0.0 <= scale <= 1.0:
        raise data_error(f"effect_scale must be between 0 and 1, got {effect_scale!r}",
                         fix="pass 1 for the documented effects or 0 for an A/A test")
    start_d, end_d, stop_d = _day(start, "start"), _day(end, "end"), _day(study_end, "study_end")
    window = int((end_d - start_d).astype(np.int64))
    if window < 0 or stop_d < end_d:
        raise data_error(f"need start <= end <= study_end, got {start_d}, {end_d}, {stop_d}",
                         fix="order the dates")

    # covariates
    groups = np.array(list(_TENURE_SHARES))
    group = rng.choice(3, size=n, p=list(_TENURE_SHARES.values()))
    tenure = np.select(
        [group == 0, group == 1],
        [rng.integers(0, 3, size=n), rng.integers(3, 24, size=n)],
        np.minimum(120, 24 + rng.geometric(1 / 24, size=n) - 1))
    high = rng.random(n) < np.array([_HIGH_FREQ_SHARE[g] for g in groups])[group]
    low_orders = np.where(group == 0, rng.choice(3, size=n, p=_LOW_ORDERS_NEW),
                          rng.choice(3, size=n, p=_LOW_ORDERS_OLD))
    orders = np.where(high, 3 + rng.poisson(2.0, size=n), low_orders)
    channel_names = np.array(list(_CHANNELS))
    channel = rng.choice(3, size=n, p=list(_CHANNELS.values()))
    age_names = np.array(list(_AGE_BANDS))
    age = rng.choice(len(age_names), size=n, p=list(_AGE_BANDS.values()))
    aov = rng.gamma(6.0, np.array([42.0, 38.0, 55.0])[channel] / 6.0)
    pre_spend = np.where(orders > 0, rng.gamma(np.maximum(4.0 * orders, 1e-9), aov / 4.0), 0.0)
    signup = rng.integers(0, window + 1, size=n)
    arm = rng.choice(len(arm_names), size=n, p=alloc)

    # control retention and effects
    eta = (-0.6 + 0.45 * np.minimum(orders, 8) + 0.015 * np.minimum(tenure, 60)
           + np.array([0.0, 0.3, -0.2])[channel]
           + np.array([-0.3, -0.1, 0.0, 0.1, 0.2])[age] + 0.5 * rng.standard_normal(n))
    q = 0.25 + 0.6 * _expit(eta)
    q, spend_mult = _treated_retention(q, arm, arm_names, orders, tenure, scale)

    # time to churn (Weibull with S(90) = q), censoring, outcomes
    u = rng.random(n)
    with np.errstate(divide="ignore"):
        days_to_churn = _HORIZON_DAYS * (np.log(1 / u) / np.log(1 / q)) ** (1 / _WEIBULL_SHAPE)
    follow_up = int((stop_d - start_d).astype(np.int64)) - signup
    churn_day = np.maximum(1, np.ceil(np.minimum(days_to_churn, 1e9))).astype(np.int64)
    churned = churn_day <= follow_up
    duration = np.where(churned, churn_day, follow_up)
    reached = follow_up >= _HORIZON_DAYS
    retained = pd.array(np.where(reached, days_to_churn > _HORIZON_DAYS, False), dtype="boolean")
    retained[~reached] = pd.NA
    rate = (0.3 + 0.9 * orders) * rng.gamma(3.0, 1 / 3.0, size=n)
    post_orders = rng.poisson(rate * spend_mult)
    post_spend = np.where(post_orders > 0,
                          rng.gamma(np.maximum(4.0 * post_orders, 1e-9), aov / 4.0), 0.0)

    df = pd.DataFrame({
        "customer_id": _ids(id_prefix, n),
        "arm": np.array(arm_names)[arm],
        "signup_date": _to_us(start_d + signup),
        "tenure_months": tenure.astype(np.int64),
        "channel": channel_names[channel],
        "age_band": age_names[age],
        "pre_period_orders": orders.astype(np.int64),
        "pre_period_spend": np.round(pre_spend, 2),
        "reached_horizon": reached,
        "retained_90d": retained,
        "duration_days": duration.astype(np.int64),
        "churned": churned,
        "post_period_spend": np.where(reached, np.round(post_spend, 2), np.nan),
    })
    df.attrs["true_effects"] = _true_effects(scale)
    return df
