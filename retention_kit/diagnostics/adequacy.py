"""Model adequacy: do the data meet the assumptions the models rest on?

Two assumptions that real data break often: Gamma-Gamma's independence of spend and
purchase frequency, and a holdout period that is like the calibration period (no model
here knows about seasons, so a holdout over the Christmas months is not a fair test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import prepare_transactions
from ..models import frequency_spend_correlation
from ..units import to_naive_timestamp
from ._verdict import Finding

__all__ = ["CORRELATION_CAUTION", "CORRELATION_UNRELIABLE", "SEASONAL_CAUTION",
           "holdout_seasonality", "monthly_index", "spend_independence"]

#: |frequency-spend correlation| at or above this: ``caution`` (Fader & Hardie's "weak").
CORRELATION_CAUTION = 0.3
#: |frequency-spend correlation| at or above this: ``unreliable`` (Cohen's "strong").
CORRELATION_UNRELIABLE = 0.5
#: |holdout seasonal index / calibration seasonal index - 1| above this: ``caution``.
SEASONAL_CAUTION = 0.10


def spend_independence(summary: pd.DataFrame) -> Finding:
    """Is spend per purchase independent of purchase frequency (Gamma-Gamma's assumption)?

    The Pearson correlation of ``frequency`` and ``monetary_value`` among repeat
    customers (:func:`~retention_kit.models.frequency_spend_correlation`):
    |rho| < :data:`CORRELATION_CAUTION` (0.3, the bound below which Fader & Hardie
    2013, "The Gamma-Gamma model of monetary value", accept independence; CDNOW:
    0.11) ``ok``; < :data:`CORRELATION_UNRELIABLE` (0.5, a "strong" correlation in
    Cohen 1988) ``caution``; otherwise ``unreliable``.

    Returns
    -------
    Finding
        ``value`` is the correlation.
    """
    rho = float(frequency_spend_correlation(summary))
    rule = (f"|correlation| < {CORRELATION_CAUTION:g} ok, < {CORRELATION_UNRELIABLE:g} caution, "
            "else unreliable")
    if not np.isfinite(rho):
        return Finding("spend independent of frequency", "caution",
                       "The correlation of spend and purchase frequency cannot be computed "
                       "(too few repeat customers, or no variation).",
                       fix="more repeat customers", rule=rule)
    a = abs(rho)
    verdict = "ok" if a < CORRELATION_CAUTION else (
        "caution" if a < CORRELATION_UNRELIABLE else "unreliable")
    direction = "more" if rho > 0 else "less"
    reason = f"Spend per purchase and purchase frequency correlate at {rho:+.2f} among repeat "
    if verdict == "ok":
        reason += "customers: weak enough for the Gamma-Gamma spend model."
        return Finding("spend independent of frequency", "ok", reason, value=rho, rule=rule)
    reason += (f"customers: frequent buyers spend {direction} per purchase, which the "
               "Gamma-Gamma model assumes away, so its spend (and CLV) for frequent buyers "
               "is biased.")
    return Finding("spend independent of frequency", verdict, reason,
                   fix="model spend separately by frequency segment, or quote average spend "
                   "per segment instead of per-customer CLV", value=rho, rule=rule)


def monthly_index(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    observation_end: object = None,
) -> pd.Series:
    """Seasonal index of purchases by calendar month (ratio to a centred moving average).

    Classical multiplicative decomposition (Hyndman & Athanasopoulos, *Forecasting:
    Principles and Practice*, 3rd ed., section 3.4): count purchase days (distinct
    customer and day) in each complete calendar month, divide by the 2x12 centred
    moving average (which removes trend, including growth from acquisition and
    decline from dropout), average the ratios by calendar month and scale them to
    mean 1. Needs 24 complete months for every calendar month to have a ratio.

    Returns
    -------
    Series
        Indexed by month number 1..12 (months without a ratio are missing), named
        ``seasonal_index``.
    """
    clean, end = prepare_transactions(transactions, customer_col=customer_col,
                                      date_col=date_col, observation_end=observation_end,
                                      duplicates="keep")
    days = clean[["customer"]].assign(month=clean["date"].dt.to_period("M"),
                                      day=clean["date"].dt.normalize()).drop_duplicates()
    counts = days.groupby("month").size()
    first = clean["date"].min()
    first_month = pd.Period(first, "M") + (0 if first.day == 1 else 1)
    end_month = pd.Period(end, "M")
    last_month = end_month if end.normalize() == end_month.end_time.normalize() else end_month - 1
    months = pd.period_range(first_month, last_month, freq="M")
    counts = counts.reindex(months, fill_value=0).astype(float)
    weights = np.r_[0.5, np.ones(11), 0.5] / 12
    index = pd.Series(np.nan, index=range(1, 13))
    if len(months) >= 13:
        cma = pd.Series(np.convolve(counts.to_numpy(), weights, mode="valid"),
                        index=months[6:len(months) - 6])
        ratio = (counts.reindex(cma.index) / cma).replace([np.inf, -np.inf], np.nan).dropna()
        index = ratio.groupby(ratio.index.month).mean().reindex(range(1, 13))
    if index.notna().all():
        index = index / index.mean()
    index.index.name = "month"
    index.name = "seasonal_index"
    return index


def _month_weights(start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Days of each calendar month (1..12) in [start, end]."""
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    return pd.Series(1.0, index=days).groupby(days.month).sum()


def holdout_seasonality(
    transactions: pd.DataFrame,
    *,
    calibration_end: object,
    observation_end: object = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> Finding:
    """Is the holdout period busier or quieter than the calibration period by season?

    With the :func:`monthly_index` I(m), the holdout's seasonal level is the mean of
    I over its days' calendar months, and the calibration's the same over its days;
    the finding's value is holdout / calibration - 1. A model without seasonality
    predicts the holdout at the calibration's average level, so this is roughly the
    holdout error that seasonality alone causes: above :data:`SEASONAL_CAUTION`
    (10%, the holdout-fit ``ok`` band) in absolute value ``caution``. A log shorter
    than 24 complete months cannot be checked (``caution``, with the reason).
    In ``benchmarks/calibrate_verdicts.py`` (3,000 customers over three years, an
    October-December holdout) a process without seasonality gave shifts of -4% to
    +3%, one with a Christmas peak (November x1.6, December x2.0) +45% to +52%.

    Returns
    -------
    Finding
    """
    clean, end = prepare_transactions(transactions, customer_col=customer_col,
                                      date_col=date_col, observation_end=observation_end,
                                      duplicates="keep")
    cal_end = to_naive_timestamp(calibration_end, "calibration_end").normalize()
    rule = f"|holdout / calibration seasonal level - 1| <= {SEASONAL_CAUTION:.0%} ok, else caution"
    index = monthly_index(transactions, customer_col=customer_col, date_col=date_col,
                          observation_end=observation_end)
    if index.isna().any():
        return Finding(
            "holdout seasonality", "caution",
            "The log has fewer than 24 complete months, so whether the holdout months are "
            "busier or quieter than the calibration months cannot be checked; the holdout "
            "error may partly be seasonality.",
            fix="a holdout of whole years, or two years of data", rule=rule)
    hold = _month_weights(cal_end + pd.Timedelta(days=1), end)
    cal = _month_weights(clean["date"].min(), cal_end)
    level_h = float((index.reindex(hold.index) * hold).sum() / hold.sum())
    level_c = float((index.reindex(cal.index) * cal).sum() / cal.sum())
    shift = level_h / level_c - 1
    months = ", ".join(pd.Timestamp(2000, m, 1).strftime("%b") for m in hold.index)
    reason = (f"The holdout months ({months}) run at a seasonal level {shift:+.0%} against the "
              "calibration period's")
    if abs(shift) <= SEASONAL_CAUTION:
        return Finding("holdout seasonality", "ok", reason + ": a fair test.", value=shift,
                       rule=rule)
    return Finding(
        "holdout seasonality", "caution",
        reason + ": the holdout error mixes model error with seasonality, and forecasts for "
        f"{'busy' if shift > 0 else 'quiet'} months from a model without seasons will be "
        f"{'too low' if shift > 0 else 'too high'}.",
        fix="judge the model on a holdout of whole years, or scale forecasts by the monthly "
        "index", value=shift, rule=rule)
