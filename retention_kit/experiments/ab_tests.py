"""Analysis of randomised retention experiments.

:func:`retained_at_horizon` builds the binary "retained at the horizon" outcome counting
only customers who reached the horizon; :func:`retention_test` compares arms with
control (difference and ratio with intervals, z-test, multiple-testing correction);
:func:`cuped` reduces the variance with a pre-experiment covariate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from . import _args

__all__ = [
    "Correction",
    "CupedResult",
    "Effect",
    "RetentionTest",
    "cuped",
    "retained_at_horizon",
    "retention_test",
]

Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]
_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")


def _adjust(p_values: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values: Holm (step-down), Bonferroni or Benjamini-Hochberg (step-up).

    The same values as statsmodels' ``multipletests`` (tested), without its
    ``gc.collect()`` call on every use. Missing p-values stay missing.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if correction == "none" or m == 0:
        return p.copy()
    q = p[ok]
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if correction == "bonferroni":
        adj = np.minimum(1.0, m * q)
    else:
        if correction == "holm":
            steps = np.maximum.accumulate((m - np.arange(m)) * ranked)
        else:  # fdr_bh
            steps = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, steps)
    out[ok] = adj
    return out


@dataclass(frozen=True)
class Effect:
    """One estimated effect of an arm against control, with its uncertainty.

    Attributes
    ----------
    arm : str
        The treatment arm.
    estimate, se : float
        Point estimate and standard error.
    ci_lower, ci_upper : float
        Confidence interval at level ``1 - alpha`` (not adjusted for multiplicity).
    p_value : float
        Two-sided p-value (unadjusted).
    alpha : float
    measure : str
        What the estimate is, e.g. "difference in retained_90d".

    Examples
    --------
    >>> e = Effect("promo", 0.03, 0.01, 0.0104, 0.0496, 0.0027)
    >>> e.covers(0.04), e.covers(0.06)
    (True, False)
    """

    arm: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    p_value: float
    alpha: float = 0.05
    measure: str = "difference"

    def covers(self, value: float) -> bool:
        """True when ``value`` lies inside the confidence interval."""
        return bool(self.ci_lower <= value <= self.ci_upper)


def _effect_from(table: pd.DataFrame, arm: str, alpha: float, measure: str,
                 prefix: str = "") -> Effect:
    if arm not in table.index:
        raise DataError(f"no comparison for arm {arm!r}",
                        fix=f"use one of {[str(a) for a in table.index]}")
    row = table.loc[arm]
    est = "difference" if not prefix else f"{prefix}difference"
    se = "se" if not prefix else f"{prefix}se"
    return Effect(arm=str(arm), estimate=float(row[est]), se=float(row[se]),
                  ci_lower=float(row[f"{prefix}ci_lower"]),
                  ci_upper=float(row[f"{prefix}ci_upper"]),
                  p_value=float(row[f"{prefix}p_value"]), alpha=alpha, measure=measure)


@dataclass(frozen=True, repr=False)
class RetentionTest:
    """Result of :func:`retention_test`.

    Attributes
    ----------
    arms : DataFrame
        One row per arm (control first): ``n`` (customers counted), ``retained``,
        ``rate`` and its Wilson interval ``ci_lower``, ``ci_upper``.
    comparisons : DataFrame
        One row per treatment arm against control: ``difference`` (rate minus control's),
        ``se`` (unpooled), Wald interval ``ci_lower``, ``ci_upper``; ``ratio`` and its
        log-method interval ``ratio_ci_lower``, ``ratio_ci_upper`` (NaN when the control arm
        retained nobody: the ratio is undefined there); the pooled two-proportion ``z`` and
        ``p_value`` (0 and 1 when both arms retained everyone, or no one: identical arms);
        ``p_adjusted`` (by ``correction``) and ``significant``
        (``p_adjusted < alpha``). Intervals are per comparison, not simultaneous.
    control, outcome, correction : str
    alpha : float
    n_excluded : int
        Customers left out because they had not reached the horizon.
    """

    arms: pd.DataFrame
    comparisons: pd.DataFrame
    control: str
    outcome: str
    alpha: float
    correction: str
    n_excluded: int

    def effect(self, arm: str) -> Effect:
        """The difference in retention of ``arm`` against control, as an :class:`Effect`."""
        return _effect_from(self.comparisons, arm, self.alpha, f"difference in {self.outcome}")

    def __repr__(self) -> str:
        parts = [f"{a}: {r.difference:+.4f} [{r.ci_lower:+.4f}, {r.ci_upper:+.4f}], "
                 f"p_adj={r.p_adjusted:.3g}" for a, r in self.comparisons.iterrows()]
        return (f"RetentionTest({self.outcome} vs {self.control!r}; " + "; ".join(parts)
                + f"; {self.correction})")


def retained_at_horizon(
    data: pd.DataFrame,
    horizon: float,
    *,
    duration_col: str = "duration",
    event_col: str = "churned",
    start_col: str = "start",
    end: object = None,
    outcome_col: str = "retained",
    reached_col: str = "reached_horizon",
) -> pd.DataFrame:
    """The binary outcome "still a customer ``horizon`` days after the start".

    A customer counts only if the observation window covered the horizon: the time from
    ``start`` (enrolment, randomisation) to ``end`` is at least ``horizon`` days. For those,
    ``retained`` is True when she did not churn within the horizon (churned after it, or
    still a customer). For the others it is missing, *even if she already churned*:
    counting the early churners of late enrolees while leaving out their retained
    neighbours would bias retention down.

    Parameters
    ----------
    data : DataFrame
        One row per customer with ``duration_col`` (days from ``start`` to churn, or to
        ``end`` if still a customer), ``event_col`` (bool, True = churned) and
        ``start_col`` (date); not modified.
    horizon : float
        Days after the start.
    duration_col, event_col, start_col : str
    end : date-like, optional
        Last observed day. Default: the latest ``start + duration`` in the data (the day
        the still-active customers were last seen).
    outcome_col, reached_col : str, default "retained", "reached_horizon"
        Names of the two added columns.

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``reached_col`` (bool) and ``outcome_col`` (nullable
        boolean, missing unless the horizon was reached).

    Raises
    ------
    DataError
        Missing columns, a non-positive horizon, or a horizon longer than the data (no
        customer was observed that long).

    Examples
    --------
    Observation ends on 31 March: a enrolled 1 Jan and churned on day 40; b enrolled
    1 Jan and is still there; c enrolled 1 March and churned on day 10, but was only
    observable for 30 days, so she does not count for a 60-day horizon:

    >>> import pandas as pd
    >>> d = pd.DataFrame({"start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
    ...                   "duration": [40, 90, 10], "churned": [True, False, True]})
    >>> out = retained_at_horizon(d, 60, end="2024-03-31")
    >>> out[["reached_horizon", "retained"]]
       reached_horizon  retained
    0             True     False
    1             True      True
    2            False      <NA>
    """
    data = _args.frame(data, "the customer data")
    _args.require_columns(data, {duration_col: "duration_col (days to churn or to the end)",
                                 event_col: "event_col (True = churned)",
                                 start_col: "start_col (enrolment date)"}, what="the customer data")
    h = _args.number("horizon", horizon)
    if h <= 0:
        raise DataError(f"horizon={horizon!r} must be a positive number of days",
                        fix="pass e.g. horizon=90")
    duration, churned, start = _duration_event_start(data, duration_col, event_col, start_col)
    follow_up = _follow_up_days(start, duration, end, horizon, h)
    reached = follow_up >= h
    dur = duration.to_numpy(dtype=float)
    ev = churned.to_numpy(dtype=bool)
    retained = np.where(ev, dur > h, dur >= h)
    out = data.copy()
    out[reached_col] = reached
    out[outcome_col] = pd.array(np.where(reached, retained, False), dtype="boolean")
    out.loc[~reached, outcome_col] = pd.NA
    return out



def _duration_event_start(data: pd.DataFrame, duration_col: str, event_col: str,
                          start_col: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Durations (numbers >= 0), churn flags (bool) and start dates; anything else raises."""
    cols = [start_col, duration_col, event_col]
    duration = pd.to_numeric(data[duration_col], errors="coerce")
    bad = duration.isna() | (duration < 0)
    if bad.any():
        raise DataError(f"durations in {duration_col!r} are missing or negative",
                        n_rows=int(bad.sum()), example=_args.first_example(data, bad, cols),
                        fix="drop or repair these customers")
    churned = data[event_col]
    if not pd.api.types.is_bool_dtype(churned.dtype) or churned.isna().any():
        raise DataError(f"column {event_col!r} must be True (churned) or False (censored)",
                        n_rows=len(data),
                        example=_args.first_example(data, np.ones(len(data), bool), cols),
                        fix=f"convert it, e.g. df[{event_col!r}] = df[{event_col!r}] == 1")
    start = pd.to_datetime(data[start_col], errors="coerce")
    if start.isna().any():
        miss = start.isna()
        raise DataError(f"start dates in {start_col!r} are missing or not dates",
                        n_rows=int(miss.sum()), example=_args.first_example(data, miss, cols),
                        fix="repair or drop these customers")
    return duration, churned, start


def _follow_up_days(start: pd.Series, duration: pd.Series, end: object, horizon: object,
                    h: float) -> np.ndarray:
    """Days from each start to the observation end; the horizon ``h`` must fit in the longest."""
    if end is None:
        end_ts = (start + pd.to_timedelta(duration.to_numpy(dtype=float), unit="D")).max()
    else:
        end_ts = pd.Timestamp(end)
    follow_up = (end_ts - start).dt.total_seconds().to_numpy() / 86400.0
    longest = float(follow_up.max())
    if h > longest:
        raise DataError(
            f"horizon={horizon!r} days is longer than the data: the longest possible "
            f"follow-up is {longest:g} days (earliest start {start.min().date()}, observation "
            f"end {end_ts.date()})", n_rows=len(start),
            fix=f"choose a horizon of at most {math.floor(longest)} days, or wait for more data")
    return follow_up


def retention_test(
    data: pd.DataFrame,
    *,
    arm_col: str = "arm",
    outcome_col: str = "retained_90d",
    control: str = "control",
    arms: Sequence[str] | None = None,
    reached_col: str | None = "reached_horizon",
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> RetentionTest:
    r"""Compare retention at a horizon between arms and control.

    For every treatment arm :math:`t` against control :math:`c`, with :math:`x` customers
    retained out of :math:`n` who reached the horizon:

    * difference :math:`\hat p_t - \hat p_c` with the Wald interval (unpooled standard error
      :math:`\sqrt{\hat p_t(1-\hat p_t)/n_t + \hat p_c(1-\hat p_c)/n_c}`);
    * ratio :math:`\hat p_t / \hat p_c` with the log-method interval;
    * the pooled two-proportion z-test (the test :func:`sample_size` plans for);
    * p-values adjusted for the number of arms (Holm's step-down method by default:
      controls the chance of any false positive at ``alpha`` and is never less powerful
      than Bonferroni; ``"fdr_bh"`` is Benjamini-Hochberg's false discovery rate).

    statsmodels does the arithmetic (``proportion_confint``,
    ``confint_proportions_2indep``, ``proportions_ztest``); the adjusted p-values equal
    those of its ``multipletests``.

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    arm_col : str, default "arm"
    outcome_col : str, default "retained_90d"
        0/1 or bool: retained at the horizon.
    control : str, default "control"
        The control arm's label.
    arms : sequence of str, optional
        Treatment arms to compare (default: every other arm, sorted). Each must have
        customers who reached the horizon.
    reached_col : str or None, default "reached_horizon"
        Bool column: customers with False are excluded (their outcome is unknown). None
        when every customer was followed for the whole horizon.
    alpha : float, default 0.05
    correction : {"holm", "bonferroni", "fdr_bh", "none"}, default "holm"

    Returns
    -------
    RetentionTest

    Raises
    ------
    DataError
        Missing columns, an arm with no customers, missing or non-0/1 outcomes among the
        customers who count, a bad ``alpha`` or ``correction``.

    Examples
    --------
    400 of 1,000 control customers retained and 450 of 1,000 treated: +5 points, Wald
    interval 0.05 ± 1.96 · 0.02208, pooled z = 0.05 / 0.02211 = 2.26:

    >>> import pandas as pd
    >>> d = pd.DataFrame({"arm": ["control"] * 1000 + ["treated"] * 1000,
    ...                   "retained": [1] * 400 + [0] * 600 + [1] * 450 + [0] * 550})
    >>> res = retention_test(d, outcome_col="retained", reached_col=None)
    >>> res.comparisons[["difference", "se", "ci_lower", "ci_upper", "ratio"]].round(4)
             difference      se  ci_lower  ci_upper  ratio
    arm
    treated        0.05  0.0221    0.0067    0.0933  1.125
    >>> round(float(res.comparisons.loc["treated", "p_value"]), 4)
    0.0237
    """
    data = _args.frame(data, "the experiment data")
    alpha = _args.alpha(alpha)
    _args.check_choice("correction", correction, _CORRECTIONS)
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (retained at the horizon, 0/1)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    _args.require_columns(data, needed, what="the experiment data")
    counted = _args.counted_rows(data, reached_col)
    wanted = _args.arms(data, arm_col, control, arms, counted)
    y = _args.binary_outcome(data, outcome_col, counted, [arm_col, outcome_col])
    labels = data.loc[counted, arm_col].to_numpy()
    arms_table = _retention_arms(labels, y, wanted, alpha, arm_col)
    comparisons = _retention_comparisons(arms_table, wanted, control, alpha)
    comparisons["p_adjusted"] = _adjust(comparisons["p_value"].to_numpy(), correction)
    comparisons["significant"] = comparisons["p_adjusted"] < alpha
    return RetentionTest(arms=arms_table, comparisons=comparisons, control=control,
                         outcome=outcome_col, alpha=alpha, correction=correction,
                         n_excluded=int((~counted).sum()))



def _retention_arms(labels: np.ndarray, y: np.ndarray, wanted: list[str], alpha: float,
                    arm_col: str) -> pd.DataFrame:
    """One row per arm: ``n``, ``retained``, ``rate`` and its Wilson interval."""
    from statsmodels.stats.proportion import proportion_confint

    rows = {}
    for arm in wanted:
        mask = labels == arm
        n, x = int(mask.sum()), int(y[mask].sum())
        lo, hi = proportion_confint(x, n, alpha=alpha, method="wilson")
        rows[arm] = {"n": n, "retained": x, "rate": x / n, "ci_lower": float(lo),
                     "ci_upper": float(hi)}
    arms_table = pd.DataFrame.from_dict(rows, orient="index")
    arms_table.index.name = arm_col
    return arms_table


def _retention_comparisons(arms_table: pd.DataFrame, wanted: list[str], control: str,
                           alpha: float) -> pd.DataFrame:
    """Each treatment arm against control: difference (Wald), ratio (log method), z-test."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    xc, nc = int(arms_table.at[control, "retained"]), int(arms_table.at[control, "n"])
    comp = {}
    for arm in wanted[1:]:
        xt, nt = int(arms_table.at[arm, "retained"]), int(arms_table.at[arm, "n"])
        pt, pc = xt / nt, xc / nc
        se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        with np.errstate(all="ignore"):
            d_lo, d_hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald",
                                                    compare="diff", alpha=alpha)
            if xc > 0:
                r_lo, r_hi = confint_proportions_2indep(xt, nt, xc, nc, method="log",
                                                        compare="ratio", alpha=alpha)
            else:  # nobody retained in control: the ratio is undefined
                r_lo = r_hi = math.nan
            if 0 < xt + xc < nt + nc:
                z, p = proportions_ztest([xt, xc], [nt, nc])
            else:  # every customer retained, or none: identical arms, no evidence of a change
                z, p = 0.0, 1.0
        comp[arm] = {"difference": pt - pc, "se": se, "ci_lower": float(d_lo),
                     "ci_upper": float(d_hi), "ratio": pt / pc if pc > 0 else math.nan,
                     "ratio_ci_lower": float(r_lo), "ratio_ci_upper": float(r_hi),
                     "z": float(z), "p_value": float(p)}
    comparisons = pd.DataFrame.from_dict(comp, orient="index")
    comparisons.index.name = arms_table.index.name
    return comparisons


@dataclass(frozen=True, repr=False)
class CupedResult:
    """Result of :func:`cuped`.

    Attributes
    ----------
    arms : DataFrame
        Per arm: ``n``, ``mean`` (raw outcome), ``adjusted_mean`` and ``covariate_mean``.
    comparisons : DataFrame
        Per treatment arm against control: CUPED ``difference``, ``se``, ``ci_lower``,
        ``ci_upper``, ``p_value``, ``p_adjusted``; the unadjusted ``raw_difference``,
        ``raw_se``, ``raw_ci_lower``, ``raw_ci_upper``, ``raw_p_value``; and the relative
        lift ``relative`` (adjusted treatment mean / adjusted control mean - 1) with its
        delta-method interval ``relative_ci_lower``, ``relative_ci_upper``.
    theta : float
        cov(Y, X) / var(X) on the pooled arms.
    correlation : float
        corr(Y, X) on the pooled arms.
    variance_reduction : float
        1 - var(Y - theta X) / var(Y) = correlation²: the share of the outcome's variance
        removed; the standard errors shrink by sqrt(1 - variance_reduction).
    control, outcome, covariate, correction : str
    alpha : float
    """

    arms: pd.DataFrame
    comparisons: pd.DataFrame
    theta: float
    correlation: float
    variance_reduction: float
    control: str
    outcome: str
    covariate: str
    alpha: float
    correction: str

    def effect(self, arm: str, *, adjusted: bool = True) -> Effect:
        """The (CUPED or raw) difference in means of ``arm`` against control."""
        prefix = "" if adjusted else "raw_"
        kind = "CUPED difference" if adjusted else "difference"
        return _effect_from(self.comparisons, arm, self.alpha, f"{kind} in {self.outcome}",
                            prefix)

    def __repr__(self) -> str:
        parts = [f"{a}: {r.difference:+.4g} (se {r.se:.3g}, raw se {r.raw_se:.3g})"
                 for a, r in self.comparisons.iterrows()]
        return (f"CupedResult({self.outcome} ~ {self.covariate}, theta={self.theta:.4g}, "
                f"variance reduction {self.variance_reduction:.1%}; " + "; ".join(parts) + ")")


def cuped(
    data: pd.DataFrame,
    *,
    outcome_col: str,
    covariate_col: str,
    arm_col: str = "arm",
    control: str = "control",
    arms: Sequence[str] | None = None,
    reached_col: str | None = "reached_horizon",
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> CupedResult:
    r"""Difference in means with variance reduction by a pre-experiment covariate (CUPED).

    Deng, Xu, Kohavi & Walker (2013), "Improving the sensitivity of online controlled
    experiments by utilizing pre-experiment data" (WSDM). With the outcome :math:`Y` and a
    covariate :math:`X` measured *before* randomisation (so the treatment cannot change
    it),

    .. math:: \tilde Y = Y - \theta (X - \bar X), \qquad
              \theta = \frac{\operatorname{cov}(Y, X)}{\operatorname{var}(X)}

    with :math:`\theta` estimated once on all arms pooled. Because :math:`X` has the same
    distribution in every arm, the difference in means of :math:`\tilde Y` estimates the
    same effect as that of :math:`Y`, with variance smaller by the factor
    :math:`1 - \rho^2` (:math:`\rho` = corr(Y, X)). It also corrects the chance imbalance
    of the covariate between arms. Standard errors are the two-sample normal ones
    (unequal variances); the variability of :math:`\hat\theta` is ignored, as usual (it is
    of lower order).

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    outcome_col : str
        Numeric (spend) or 0/1 (retained) outcome.
    covariate_col : str
        Pre-experiment numeric covariate (e.g. spend or orders in the 90 days before);
        no missing values.
    arm_col, control, arms, reached_col, alpha, correction
        As in :func:`retention_test`.

    Returns
    -------
    CupedResult

    Raises
    ------
    DataError
        Missing columns, an arm with no customers, missing or non-numeric outcome or
        covariate values among the customers who count, a constant covariate.

    Examples
    --------
    Spend after = spend before + 5 for treated customers; the covariate explains the rest:

    >>> import pandas as pd
    >>> d = pd.DataFrame({"arm": ["control", "treated"] * 4,
    ...                   "before": [10, 10, 20, 20, 30, 30, 40, 40],
    ...                   "after": [11, 15, 19, 25, 31, 35, 39, 45]})
    >>> res = cuped(d, outcome_col="after", covariate_col="before", arm_col="arm",
    ...             reached_col=None)
    >>> round(res.theta, 3), round(res.variance_reduction, 3)
    (0.98, 0.947)
    >>> res.comparisons[["difference", "se", "raw_difference", "raw_se"]].round(3)
             difference     se  raw_difference  raw_se
    arm
    treated         5.0  0.548             5.0   8.963
    """
    data = _args.frame(data, "the experiment data")
    alpha = _args.alpha(alpha)
    _args.check_choice("correction", correction, _CORRECTIONS)
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (the outcome)",
              covariate_col: "covariate_col (pre-experiment covariate)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    _args.require_columns(data, needed, what="the experiment data")
    counted = _args.counted_rows(data, reached_col)
    wanted = _args.arms(data, arm_col, control, arms, counted)
    sub = data.loc[counted & data[arm_col].isin(wanted)]
    x, y = _cuped_numbers(data, sub, [arm_col, covariate_col, outcome_col])
    y_adj, theta, corr, reduction = _cuped_adjustment(x, y, covariate_col)
    labels = sub[arm_col].to_numpy()
    arms_table = _cuped_arms(labels, wanted, x, y, y_adj, arm_col)
    comparisons = _cuped_comparisons(labels, wanted, control, y, y_adj, alpha, arm_col)
    comparisons.insert(5, "p_adjusted",
                       _adjust(comparisons["p_value"].to_numpy(), correction))
    return CupedResult(arms=arms_table, comparisons=comparisons, theta=theta, correlation=corr,
                       variance_reduction=reduction, control=control, outcome=outcome_col,
                       covariate=covariate_col, alpha=alpha, correction=correction)


def _cuped_numbers(data: pd.DataFrame, sub: pd.DataFrame,
                   cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Covariate and outcome of the counted customers ``sub`` as floats; gaps raise.

    ``cols`` is ``[arm_col, covariate_col, outcome_col]``, shown in the error's example.
    """
    _, covariate_col, outcome_col = cols
    x_raw = pd.to_numeric(sub[covariate_col], errors="coerce")
    miss = x_raw.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"covariate {covariate_col!r} has missing (or non-numeric) values",
            n_rows=int(miss.sum()), example=_args.first_example(sub, miss, cols),
            fix="CUPED needs the covariate for every customer; fill it where missing means "
            "none (e.g. 0 orders before enrolment, plus a 0/1 'was missing' covariate), or "
            "drop those customers from every arm (the covariate was measured before "
            "randomisation, so this keeps the arms comparable)")
    infinite = np.isinf(x_raw.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(f"covariate {covariate_col!r} has infinite values",
                        n_rows=int(infinite.sum()),
                        example=_args.first_example(sub, infinite, cols),
                        fix="repair or drop these customers (from every arm); an infinite "
                        "pre-period value is a data error, not a measurement")
    y_raw = data.loc[sub.index, outcome_col]
    if pd.api.types.is_bool_dtype(y_raw.dtype):
        y_num = y_raw.astype("Float64")
    else:
        y_num = pd.to_numeric(y_raw, errors="coerce")
    ymiss = y_num.isna().to_numpy()
    if ymiss.any():
        raise DataError(f"outcome {outcome_col!r} is missing or not numeric for customers who "
                        "count", n_rows=int(ymiss.sum()),
                        example=_args.first_example(sub, ymiss, cols),
                        fix="exclude customers who have not reached the horizon (reached_col) "
                        "and code the outcome as numbers")
    y = y_num.to_numpy(dtype=float)
    if np.isinf(y).any():
        raise DataError(f"outcome {outcome_col!r} has infinite values",
                        n_rows=int(np.isinf(y).sum()),
                        example=_args.first_example(sub, np.isinf(y), cols),
                        fix="repair or drop these customers; an outcome is a finite number")
    return x_raw.to_numpy(dtype=float), y


def _cuped_adjustment(x: np.ndarray, y: np.ndarray,
                      covariate_col: str) -> tuple[np.ndarray, float, float, float]:
    """Adjusted outcome Y - theta (X - mean X), theta, corr(X, Y) and the variance reduction."""
    var_x = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
    if not var_x > 0:
        raise DataError(f"covariate {covariate_col!r} is constant", n_rows=len(x),
                        fix="choose a covariate that varies between customers (and correlates "
                        "with the outcome)")
    cov_xy = float(np.cov(y, x, ddof=1)[0, 1])
    theta = cov_xy / var_x
    var_y = float(np.var(y, ddof=1))
    corr = cov_xy / math.sqrt(var_x * var_y) if var_y > 0 else 0.0
    y_adj = y - theta * (x - x.mean())
    reduction = 1 - float(np.var(y_adj, ddof=1)) / var_y if var_y > 0 else 0.0
    return y_adj, theta, corr, reduction


def _cuped_arms(labels: np.ndarray, wanted: list[str], x: np.ndarray, y: np.ndarray,
                y_adj: np.ndarray, arm_col: str) -> pd.DataFrame:
    """One row per arm: ``n``, raw ``mean``, ``adjusted_mean`` and ``covariate_mean``."""
    rows = {}
    for arm in wanted:
        mask = labels == arm
        rows[arm] = {"n": int(mask.sum()), "mean": float(y[mask].mean()),
                     "adjusted_mean": float(y_adj[mask].mean()),
                     "covariate_mean": float(x[mask].mean())}
    arms_table = pd.DataFrame.from_dict(rows, orient="index")
    arms_table.index.name = arm_col
    return arms_table


def _cuped_comparisons(labels: np.ndarray, wanted: list[str], control: str, y: np.ndarray,
                       y_adj: np.ndarray, alpha: float, arm_col: str) -> pd.DataFrame:
    """Adjusted and raw (``raw_`` columns) differences of each arm against control."""

    def stats_of(values: np.ndarray, arm: str) -> tuple[float, float, int]:
        v = values[labels == arm]
        return float(v.mean()), float(v.var(ddof=1)) if len(v) > 1 else 0.0, len(v)

    z = _args.z(alpha)
    comp = {}
    for arm in wanted[1:]:
        out: dict[str, float] = {}
        for prefix, values in (("", y_adj), ("raw_", y)):
            mt, vt, nt = stats_of(values, arm)
            mc, vc, nc = stats_of(values, control)
            diff, se = mt - mc, math.sqrt(vt / nt + vc / nc)
            out[f"{prefix}difference"] = diff
            out[f"{prefix}se"] = se
            out[f"{prefix}ci_lower"] = diff - z * se
            out[f"{prefix}ci_upper"] = diff + z * se
            out[f"{prefix}p_value"] = float(_args.normal_p(diff / se)) if se > 0 else math.nan
            if prefix == "":
                rel = mt / mc - 1 if mc != 0 else math.nan
                rel_se = (math.sqrt(vt / nt / mc**2 + mt**2 * vc / nc / mc**4)
                          if mc != 0 else math.nan)
                out["relative"] = rel
                out["relative_ci_lower"] = rel - z * rel_se
                out["relative_ci_upper"] = rel + z * rel_se
        comp[arm] = out
    comparisons = pd.DataFrame.from_dict(comp, orient="index")
    comparisons.index.name = arm_col
    return comparisons
