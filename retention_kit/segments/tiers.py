"""CLV tiers: customers ranked by predicted CLV, each tier's share of customers and value.

CLV tiers (:func:`clv_tiers`, :func:`clv_tier_summary`, :func:`concentration_curve`)
    Forward-looking value: customers ranked by predicted CLV into top 1 %, 5 %, 20 %
    and the rest (or deciles), with each tier's share of customers and of value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ._common import customer_values, first_customer

__all__ = [
    "clv_tier_summary",
    "clv_tiers",
    "concentration_curve",
]

# --------------------------------------------------------------------------- CLV tiers


def _check_clv(clv: Any) -> pd.Series:
    if not isinstance(clv, pd.Series):
        raise DataError(f"clv must be a pandas Series, got {type(clv).__name__}",
                        fix="pass the output of customer_lifetime_value()")
    if len(clv) == 0:
        raise DataError("clv is empty", n_rows=0, fix="check the filter that produced it")
    values = pd.to_numeric(clv, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError("clv has infinite values", n_rows=int(infinite.sum()),
                        example=first_customer(clv.index, infinite),
                        fix="an infinite CLV comes from a spend model without a finite mean "
                        "(Gamma-Gamma with q <= 1) or an unbounded horizon: refit it, or "
                        "drop these customers")
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError("clv has missing or non-numeric values", n_rows=int(bad.sum()),
                        example=first_customer(clv.index, bad),
                        fix="repair the model inputs of these customers or drop them")
    neg = values < 0
    if neg.any():
        raise DataError("clv has negative values", n_rows=int(neg.sum()),
                        example=f"{first_customer(clv.index, neg)}: "
                        f"{values[neg][0]:g}",
                        fix="tiers and concentration shares need non-negative values (value "
                        "before costs)")
    return pd.Series(values, index=clv.index, name=clv.name)


def _cutoffs(tiers: Sequence[float] | int) -> np.ndarray:
    example = "tiers=(0.01, 0.05, 0.2) for the top 1%, 5% and 20%, or tiers=10 for deciles"
    if isinstance(tiers, int | np.integer) and not isinstance(tiers, bool):
        if tiers < 2:
            raise DataError(f"tiers={tiers!r} gives fewer than 2 groups", fix=example)
        return np.arange(1, int(tiers)) / int(tiers)
    try:
        cut = np.asarray(list(tiers), dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"tiers={tiers!r} are not shares or a number of groups",
                        fix=example) from None
    if cut.ndim != 1 or len(cut) == 0:
        raise DataError(f"tiers={tiers!r} are not shares or a number of groups", fix=example)
    if (cut >= 1).any() and (cut < 100).all() and (cut > 0).all():
        raise DataError(f"tiers={tiers!r} looks like a percentage", fix="give shares as "
                        f"fractions: tiers={tuple(float(c) / 100 for c in cut)!r}")
    if not ((cut > 0) & (cut < 1)).all():
        raise DataError(f"tiers={tiers!r} must be shares strictly between 0 and 1", fix=example)
    if (np.diff(cut) <= 0).any():
        raise DataError(f"tiers={tiers!r} must be increasing (the top 1% before the top 5%)",
                        fix=f"sort them: tiers={tuple(sorted(set(cut.tolist())))!r}")
    return cut


def _pct(share: float) -> str:
    return f"{share * 100:.4g}%"


def _tier_labels(cut: np.ndarray) -> list[str]:
    labels = [f"top {_pct(cut[0])}"]
    labels += [f"top {_pct(lo)[:-1]}-{_pct(hi)}" for lo, hi in zip(cut[:-1], cut[1:],
                                                                    strict=True)]
    labels.append(f"bottom {_pct(1 - cut[-1])}")
    return labels


def clv_tiers(clv: pd.Series, *, tiers: Sequence[float] | int = (0.01, 0.05, 0.2),
              ) -> pd.Series:
    """Tier of each customer by predicted CLV: top 1 %, top 1-5 %, top 5-20 %, bottom 80 %.

    A customer is in the top q when the share of customers with a strictly *higher*
    CLV is below q. Customers with equal CLV share a tier (no tie broken by row
    order), so a tier can hold a little more or less than its nominal share:
    :func:`clv_tier_summary` reports the actual shares.

    Parameters
    ----------
    clv : Series
        Predicted value per customer (non-negative), e.g. from
        :func:`~retention_kit.clv.customer_lifetime_value`.
    tiers : sequence of float or int, default (0.01, 0.05, 0.2)
        Increasing cumulative top shares, or a number of equal groups (10: deciles).

    Returns
    -------
    Series
        Named ``clv_tier``, categorical with tiers from the top down.

    Examples
    --------
    >>> clv = pd.Series([100.0, 50, 20, 20, 10, 5, 5, 2, 1, 0], index=list("abcdefghij"))
    >>> clv_tiers(clv, tiers=(0.1, 0.5)).tolist()
    ['top 10%', 'top 10-50%', 'top 10-50%', 'top 10-50%', 'top 10-50%', 'bottom 50%',
     'bottom 50%', 'bottom 50%', 'bottom 50%', 'bottom 50%']
    """
    values = _check_clv(clv)
    cut = _cutoffs(tiers)
    v = values.to_numpy()
    n = len(v)
    ranked = np.sort(v)
    higher = n - np.searchsorted(ranked, v, side="right")  # customers with a higher CLV
    tier = np.searchsorted(cut * n, higher + 1e-9 * n, side="right")
    labels = _tier_labels(cut)
    out = pd.Series(pd.Categorical.from_codes(tier, categories=labels), index=clv.index,
                    name="clv_tier")
    out.attrs.update(kind="clv_tiers", cutoffs=[float(c) for c in cut])
    return out


def clv_tier_summary(clv: pd.Series, *, tiers: Sequence[float] | int = (0.01, 0.05, 0.2),
                     alive: pd.Series | None = None) -> pd.DataFrame:
    """Each CLV tier's share of customers against its share of predicted value.

    Parameters
    ----------
    clv : Series
        Predicted value per customer (non-negative).
    tiers : sequence of float or int
        As in :func:`clv_tiers`.
    alive : Series, optional
        P(alive) on the same customers; adds ``mean_alive``.

    Returns
    -------
    DataFrame
        One row per tier, top first: ``customers``, ``share_customers``, ``clv_total``,
        ``share_value``, ``mean_clv``, ``min_clv`` (the tier's entry ticket),
        ``cum_share_customers``, ``cum_share_value`` and ``mean_alive``.

    Examples
    --------
    >>> clv = pd.Series([100.0, 50, 20, 20, 10, 5, 5, 2, 1, 0])
    >>> clv_tier_summary(clv, tiers=(0.1, 0.5))[["customers", "share_value", "min_clv"]]
                customers  share_value  min_clv
    clv_tier
    top 10%             1     0.469484    100.0
    top 10-50%          4     0.469484     10.0
    bottom 50%          5     0.061033      0.0
    """
    values = _check_clv(clv)
    tier = clv_tiers(values, tiers=tiers)
    codes = tier.cat.codes.to_numpy()
    k = len(tier.cat.categories)
    v = values.to_numpy()
    counts = np.bincount(codes, minlength=k)
    totals = np.bincount(codes, weights=v, minlength=k)
    total = v.sum()
    out = pd.DataFrame(index=pd.Index(list(tier.cat.categories), name="clv_tier"))
    out["customers"] = counts
    out["share_customers"] = counts / len(v)
    out["clv_total"] = totals
    out["share_value"] = totals / total if total > 0 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_clv"] = totals / counts
    out["min_clv"] = [v[codes == i].min() if counts[i] else np.nan for i in range(k)]
    out["cum_share_customers"] = out["share_customers"].cumsum()
    out["cum_share_value"] = out["share_value"].cumsum()
    if alive is not None:
        a = customer_values(pd.DataFrame(index=values.index), alive, values.index, "alive")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean_alive"] = np.bincount(codes, weights=a, minlength=k) / counts
    out.attrs.update(kind="clv_tier_summary", cutoffs=tier.attrs["cutoffs"])
    return out


def concentration_curve(clv: pd.Series) -> pd.DataFrame:
    """Lorenz-style concentration of value: the top x % of customers hold y % of it.

    Customers are sorted by decreasing value; the curve starts at (0, 0) and ends at
    (1, 1). A straight diagonal means value is spread evenly.

    Parameters
    ----------
    clv : Series
        Value per customer (non-negative): predicted CLV, or past spend.

    Returns
    -------
    DataFrame
        ``share_customers`` and ``share_value`` (cumulative), ``len(clv) + 1`` rows.
        ``attrs["gini"]``: the Gini coefficient (0 = equal, 1 = one customer holds all).

    Examples
    --------
    >>> curve = concentration_curve(pd.Series([60.0, 30, 10, 0]))
    >>> curve["share_value"].tolist()
    [0.0, 0.6, 0.9, 1.0, 1.0]
    >>> round(curve.attrs["gini"], 3)
    0.5
    """
    values = _check_clv(clv).to_numpy()
    v = np.sort(values)[::-1]
    total = v.sum()
    if total <= 0:
        raise DataError("every value is 0, so there is no concentration to show",
                        n_rows=len(v), fix="check the CLV computation (margin, horizon)")
    x = np.arange(len(v) + 1) / len(v)
    y = np.concatenate([[0.0], np.cumsum(v) / total])
    # Gini = 2 x (area between the descending curve and the diagonal), scaled so that one
    # customer holding everything gives (n - 1) / n -> 1.
    area = float(np.sum((y[1:] + y[:-1]) / 2) / len(v))
    out = pd.DataFrame({"share_customers": x, "share_value": y})
    out.attrs.update(kind="concentration_curve", gini=2 * area - 1)
    return out
