r"""Strategy evaluation: retention experiments, survival comparison, uplift, ROI, simulation.

The business guides recommend strategies (loyalty programmes, welcome emails, onboarding,
customer-success programmes) and quote effects such as "91% ROI over three years" or
"churn cut by 2-3%". Those are vendor survey figures, not measured effects. This module
measures a strategy's effect with a randomised test and turns it into money:

* **Design**: :func:`sample_size`, :func:`minimum_detectable_effect` and
  :func:`achieved_power` for a difference in retention (size the test first), and
  :func:`peeking_simulation` for why a test must not be stopped at the first p < 0.05.
* **Analysis**: :func:`retained_at_horizon` builds the binary "retained at the horizon"
  outcome counting only customers who reached the horizon; :func:`retention_test`
  compares arms with control (difference and ratio with intervals, z-test, Holm
  correction); :func:`cuped` reduces the variance with a pre-experiment covariate;
  :func:`compare_survival` compares time to churn per arm (Kaplan-Meier, log-rank,
  survival and restricted mean survival time at a horizon, through
  :func:`retention_kit.cohorts.survival`).
* **Targeting**: :class:`UpliftModel` (two-model or class-transformation uplift with
  scikit-learn), :func:`uplift_analysis` (fit on a training part, Qini and uplift curves
  on the held-out part), :func:`qini_curve`, :func:`curve_area` and
  :func:`uplift_segments` (persuadables, sure things, lost causes, sleeping dogs).
* **Money**: :func:`programme_roi` and :func:`roi_sensitivity` (incremental retained
  customers x discounted margin + incremental expansion - cost, with the experiment's
  uncertainty, and the break-even cost per treated customer);
  :func:`churn_reduction_value`, :func:`clv_by_retention`, :func:`shift_dropout`,
  :func:`project_churn_reduction` and :func:`portfolio_churn_reduction` (what a churn
  cut is worth, by formula and through fitted sBG / BG/NBD models).

Every result is a small frozen dataclass holding DataFrames, never a bare float.
statsmodels, scikit-learn and lifelines are imported inside the functions, so
``import retention_kit.experiments`` stays light. Nothing here prints, and all
randomness comes from a ``random_state`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .data import _first_example, _require_columns
from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from .cohorts import SurvivalResult
    from .models._base import Model

__all__ = [
    "ChurnReductionProjection",
    "CupedResult",
    "Effect",
    "PeekingResult",
    "ProgrammeROI",
    "RetentionTest",
    "SampleSize",
    "SurvivalComparison",
    "UpliftModel",
    "UpliftResult",
    "achieved_power",
    "churn_reduction_value",
    "clv_by_retention",
    "compare_survival",
    "cuped",
    "curve_area",
    "minimum_detectable_effect",
    "peeking_simulation",
    "portfolio_churn_reduction",
    "programme_roi",
    "project_churn_reduction",
    "qini_curve",
    "retained_at_horizon",
    "retention_test",
    "roi_sensitivity",
    "sample_size",
    "shift_dropout",
    "uplift_analysis",
    "uplift_segments",
]

Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]
_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
SizeMethod = Literal["arcsine", "pooled", "unpooled"]
_SIZE_METHODS = ("arcsine", "pooled", "unpooled")
_ALTERNATIVES = ("two-sided", "one-sided")


# --------------------------------------------------------------------------- checks


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DataError(f"{name}={value!r} is not a number", fix=f"pass {name} as a number")
    out = float(value)
    if not math.isfinite(out):
        raise DataError(f"{name}={value!r} is not a finite number",
                        fix=f"pass {name} as a finite number")
    return out


def _fraction(name: str, value: object, *, open_low: bool = True, open_high: bool = True,
              example: str = "0.40") -> float:
    """A probability-like input; a value in (1, 100] is reported as a percentage."""
    out = _number(name, value)
    low_ok = out > 0 if open_low else out >= 0
    high_ok = out < 1 if open_high else out <= 1
    if low_ok and high_ok:
        return out
    if 1 < out <= 100:
        raise DataError(f"{name}={value!r} looks like a percentage; it must be a fraction "
                        f"between 0 and 1", example=f"{name}={value!r}",
                        fix=f"divide by 100: pass {name}={out / 100:g} for {out:g}%")
    bounds = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
    raise DataError(f"{name}={value!r} must be a fraction in {bounds}",
                    fix=f"pass a share such as {example}")


def _discount_rate(value: object, *, name: str = "discount_rate") -> float:
    """A discount rate per period as a fraction; 5 instead of 0.05 is called a percentage."""
    out = _number(name, value)
    if out < 0:
        raise DataError(f"{name}={value!r} is negative",
                        fix="a discount rate is a positive fraction per period, e.g. 0.01 for "
                        "1% a month")
    if out >= 1:
        raise DataError(f"{name}={value!r} looks like a percentage: as given it means "
                        f"{100 * out:,.0f}% per period", example=f"{name}={value!r}",
                        fix=f"pass the rate as a fraction: {name}={out / 100:g} for {out:g}%")
    return out


def _money(name: str, value: object, *, what: str) -> float:
    """A non-negative amount of money (a cost or a margin); negatives have the wrong sign."""
    out = _number(name, value)
    if out < 0:
        raise DataError(f"{name}={value!r} has the wrong sign: {what} is a positive amount",
                        example=f"{name}={value!r}",
                        fix=f"pass {name}={-out:g}; the formulas subtract costs themselves")
    return out


def _whole(name: str, value: object, *, minimum: int = 1) -> int:
    out = _number(name, value)
    if out != round(out) or out < minimum:
        raise DataError(f"{name}={value!r} must be a whole number >= {minimum}",
                        fix=f"pass {name} as a whole number such as {max(minimum, 12)}")
    return int(out)


def _alpha(alpha: object) -> float:
    return _fraction("alpha", alpha, example="0.05")


def _z(alpha: float, two_sided: bool = True) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha))


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DataError(f"{name}={value!r} is not one of {list(allowed)}",
                        fix=f"pass {name} as one of {', '.join(repr(a) for a in allowed)}")


def _frame(data: object, what: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected {what} as a DataFrame, got {type(data).__name__}",
                        fix="pass one row per customer, e.g. load_experiment()")
    if len(data) == 0:
        raise DataError(f"{what} is empty", n_rows=0, fix="check the filter that produced it")
    return data


def _counted_rows(data: pd.DataFrame, reached_col: str | None) -> pd.Series:
    """Boolean mask of the customers that count (reached the horizon)."""
    if reached_col is None:
        return pd.Series(True, index=data.index)
    reached = data[reached_col]
    if not pd.api.types.is_bool_dtype(reached.dtype) or reached.isna().any():
        raise DataError(f"column {reached_col!r} must be True/False (reached the horizon)",
                        n_rows=len(data),
                        example=_first_example(data, np.ones(len(data), bool), [reached_col]),
                        fix="build it with retained_at_horizon(), or pass reached_col=None if "
                        "every customer was followed for the whole horizon")
    return reached.astype(bool)


def _arms(data: pd.DataFrame, arm_col: str, control: str, arms: Sequence[str] | None,
          counted: pd.Series) -> list[str]:
    """Control first, then the other arms; every arm must have counted customers."""
    labels = data[arm_col]
    missing = labels.isna()
    if missing.any():
        raise DataError(f"arm column {arm_col!r} has missing values", n_rows=int(missing.sum()),
                        example=_first_example(data, missing, [arm_col]),
                        fix="every customer of an experiment belongs to exactly one arm; drop "
                        "or repair these rows")
    present = [a for a in pd.unique(labels[counted]) if a is not None]
    if arms is None:
        others = sorted(str(a) for a in present if a != control)
        wanted = [control, *others]
    else:
        wanted = list(dict.fromkeys([control, *arms]))
    counts = labels[counted].value_counts()
    for arm in wanted:
        if int(counts.get(arm, 0)) == 0:
            everyone = int((labels == arm).sum())
            why = (f"{everyone:,} customers are in it but none reached the horizon"
                   if everyone else "no row has this arm")
            raise DataError(
                f"arm {arm!r} has no customers to analyse ({why})", n_rows=0,
                example=f"arms present: {sorted(str(a) for a in labels.unique())}",
                fix=("check the arm name and the control= argument" if not everyone else
                     "wait until the arm's customers reach the horizon, or use a shorter one"))
    if len(wanted) < 2:
        raise DataError(f"only one arm ({control!r}) to analyse", n_rows=int(counted.sum()),
                        fix="an experiment needs a control arm and at least one treatment arm")
    return wanted


def _binary_outcome(data: pd.DataFrame, outcome_col: str, counted: pd.Series,
                    cols: list[str]) -> np.ndarray:
    """The 0/1 outcome of the counted rows as floats; anything else raises."""
    y = data.loc[counted, outcome_col]
    sub = data.loc[counted]
    miss = y.isna().to_numpy()
    if miss.any():
        raise DataError(f"outcome {outcome_col!r} is missing for customers who count",
                        n_rows=int(miss.sum()), example=_first_example(sub, miss, cols),
                        fix="customers who have not reached the horizon must be excluded "
                        "(reached_col); build the outcome with retained_at_horizon()")
    if pd.api.types.is_bool_dtype(y.dtype):
        return y.to_numpy(dtype=float)
    values = pd.to_numeric(y, errors="coerce")
    bad = (values.isna() | ~values.isin([0, 1])).to_numpy()
    if bad.any():
        raise DataError(f"outcome {outcome_col!r} must be 0/1 (or True/False): retained at the "
                        "horizon or not", n_rows=int(bad.sum()),
                        example=_first_example(sub, bad, cols),
                        fix="code retained customers as 1 and churned ones as 0; for a "
                        "continuous outcome such as spend use cuped()")
    return values.to_numpy(dtype=float)


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


def _normal_p(z: np.ndarray | float) -> np.ndarray | float:
    from scipy import stats

    with np.errstate(invalid="ignore"):
        return 2 * stats.norm.sf(np.abs(z))


# --------------------------------------------------------------------------- results


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
        log-method interval ``ratio_ci_lower``, ``ratio_ci_upper``; the pooled two-proportion
        ``z`` and ``p_value``; ``p_adjusted`` (by ``correction``) and ``significant``
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


# --------------------------------------------------------------------------- outcome


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

    >>> d = pd.DataFrame({"start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
    ...                   "duration": [40, 90, 10], "churned": [True, False, True]})
    >>> out = retained_at_horizon(d, 60, end="2024-03-31")
    >>> out[["reached_horizon", "retained"]]
       reached_horizon  retained
    0             True     False
    1             True      True
    2            False      <NA>
    """
    data = _frame(data, "the customer data")
    _require_columns(data, {duration_col: "duration_col (days to churn or to the end)",
                            event_col: "event_col (True = churned)",
                            start_col: "start_col (enrolment date)"}, what="the customer data")
    h = _number("horizon", horizon)
    if h <= 0:
        raise DataError(f"horizon={horizon!r} must be a positive number of days",
                        fix="pass e.g. horizon=90")
    cols = [start_col, duration_col, event_col]
    duration = pd.to_numeric(data[duration_col], errors="coerce")
    bad = duration.isna() | (duration < 0)
    if bad.any():
        raise DataError(f"durations in {duration_col!r} are missing or negative",
                        n_rows=int(bad.sum()), example=_first_example(data, bad, cols),
                        fix="drop or repair these customers")
    churned = data[event_col]
    if not pd.api.types.is_bool_dtype(churned.dtype) or churned.isna().any():
        raise DataError(f"column {event_col!r} must be True (churned) or False (censored)",
                        n_rows=len(data),
                        example=_first_example(data, np.ones(len(data), bool), cols),
                        fix=f"convert it, e.g. df[{event_col!r}] = df[{event_col!r}] == 1")
    start = pd.to_datetime(data[start_col], errors="coerce")
    if start.isna().any():
        miss = start.isna()
        raise DataError(f"start dates in {start_col!r} are missing or not dates",
                        n_rows=int(miss.sum()), example=_first_example(data, miss, cols),
                        fix="repair or drop these customers")
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
            f"end {end_ts.date()})", n_rows=len(data),
            fix=f"choose a horizon of at most {math.floor(longest)} days, or wait for more data")
    reached = follow_up >= h
    dur = duration.to_numpy(dtype=float)
    ev = churned.to_numpy(dtype=bool)
    retained = np.where(ev, dur > h, dur >= h)
    out = data.copy()
    out[reached_col] = reached
    out[outcome_col] = pd.array(np.where(reached, retained, False), dtype="boolean")
    out.loc[~reached, outcome_col] = pd.NA
    return out


# --------------------------------------------------------------------------- A/B test


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
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        proportion_confint,
        proportions_ztest,
    )

    data = _frame(data, "the experiment data")
    alpha = _alpha(alpha)
    _check_choice("correction", correction, _CORRECTIONS)
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (retained at the horizon, 0/1)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    _require_columns(data, needed, what="the experiment data")
    counted = _counted_rows(data, reached_col)
    wanted = _arms(data, arm_col, control, arms, counted)
    y = _binary_outcome(data, outcome_col, counted, [arm_col, outcome_col])
    labels = data.loc[counted, arm_col].to_numpy()

    rows = {}
    for arm in wanted:
        mask = labels == arm
        n, x = int(mask.sum()), int(y[mask].sum())
        lo, hi = proportion_confint(x, n, alpha=alpha, method="wilson")
        rows[arm] = {"n": n, "retained": x, "rate": x / n, "ci_lower": float(lo),
                     "ci_upper": float(hi)}
    arms_table = pd.DataFrame.from_dict(rows, orient="index")
    arms_table.index.name = arm_col

    xc, nc = rows[control]["retained"], rows[control]["n"]
    comp = {}
    for arm in wanted[1:]:
        xt, nt = rows[arm]["retained"], rows[arm]["n"]
        pt, pc = xt / nt, xc / nc
        se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        with np.errstate(all="ignore"):
            d_lo, d_hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald",
                                                    compare="diff", alpha=alpha)
            r_lo, r_hi = confint_proportions_2indep(xt, nt, xc, nc, method="log",
                                                    compare="ratio", alpha=alpha)
            z, p = proportions_ztest([xt, xc], [nt, nc])
        comp[arm] = {"difference": pt - pc, "se": se, "ci_lower": float(d_lo),
                     "ci_upper": float(d_hi), "ratio": pt / pc if pc > 0 else math.nan,
                     "ratio_ci_lower": float(r_lo), "ratio_ci_upper": float(r_hi),
                     "z": float(z), "p_value": float(p)}
    comparisons = pd.DataFrame.from_dict(comp, orient="index")
    comparisons.index.name = arm_col
    comparisons["p_adjusted"] = _adjust(comparisons["p_value"].to_numpy(), correction)
    comparisons["significant"] = comparisons["p_adjusted"] < alpha
    return RetentionTest(arms=arms_table, comparisons=comparisons, control=control,
                         outcome=outcome_col, alpha=alpha, correction=correction,
                         n_excluded=int((~counted).sum()))


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class SampleSize:
    """Customers needed to detect a difference in retention, from :func:`sample_size`.

    Attributes
    ----------
    n_control, n_treatment : int
        Customers per arm (rounded up), who must all reach the horizon.
    n_total : int
        Control plus every treatment arm (``n_comparisons`` of them).
    n_exact : float
        The unrounded control size.
    baseline, target : float
        Retention of control and of the treatment arm to detect.
    alpha, power : float
        Significance level per comparison (after the Bonferroni split) and power.
    method : str
    """

    n_control: int
    n_treatment: int
    n_total: int
    n_exact: float
    baseline: float
    target: float
    alpha: float
    power: float
    method: str

    @property
    def difference(self) -> float:
        """target - baseline."""
        return self.target - self.baseline


def _size_inputs(baseline: float, alpha: float, power: float, ratio: float,
                 alternative: str, method: str, n_comparisons: int) -> tuple[float, ...]:
    _check_choice("method", method, _SIZE_METHODS)
    _check_choice("alternative", alternative, _ALTERNATIVES)
    p1 = _fraction("baseline", baseline)
    a = _alpha(alpha)
    pw = _fraction("power", power, example="0.80")
    k = _number("ratio", ratio)
    if k <= 0:
        raise DataError(f"ratio={ratio!r} must be positive (treatment size / control size)",
                        fix="pass 1 for equal arms")
    m = _whole("n_comparisons", n_comparisons)
    return p1, a / m, pw, k


def _n_normal(p1: float, p2: float, za: float, zb: float, k: float, pooled: bool) -> float:
    """Control size of the normal approximation (Fleiss 2003, without continuity correction)."""
    b = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
    if pooled:
        pbar = (p1 + k * p2) / (1 + k)
        a = math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
    else:
        a = b
    return ((za * a + zb * b) / (p2 - p1)) ** 2


def _cohen_h(p1: float, p2: float) -> float:
    return 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))


def sample_size(
    baseline: float,
    target: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Literal["two-sided", "one-sided"] = "two-sided",
    method: SizeMethod = "arcsine",
    n_comparisons: int = 1,
) -> SampleSize:
    r"""Customers per arm needed to detect a change in retention from baseline to target.

    Three textbook approximations, which differ by a few customers:

    * ``"arcsine"`` (default): Cohen's effect size
      :math:`h = 2\arcsin\sqrt{p_2} - 2\arcsin\sqrt{p_1}` and the normal power of
      statsmodels (``NormalIndPower().solve_power``), :math:`n_c \approx (z_{1-\alpha/2}
      + z_{1-\beta})^2 (1 + 1/k) / h^2`. **40% → 42% at 5% two-sided and 80% power:
      9,491.76, so 9,492 per arm.**
    * ``"pooled"``: the normal approximation with the pooled variance under the null
      (Fleiss, Levin & Paik 2003, eq. 4.14 without continuity correction),
      :math:`n_c = [z_{1-\alpha/2}\sqrt{\bar p \bar q (1 + 1/k)} + z_{1-\beta}
      \sqrt{p_1 q_1 + p_2 q_2 / k}]^2 / (p_2 - p_1)^2`: 9,492.04, so 9,493.
    * ``"unpooled"``: the same with the unpooled variance under the null too: 9,489.30,
      so 9,490.

    (Fleiss' continuity correction adds about 100: 9,592.) Sizes are rounded up.
    With ``n_comparisons`` treatment arms each compared with control, ``alpha`` is
    split Bonferroni-style (Holm's correction in :func:`retention_test` then keeps at
    least that power).

    Parameters
    ----------
    baseline : float
        Control retention at the horizon, a fraction (0.40, not 40).
    target : float
        Retention of the treatment arm you want to detect.
    alpha : float, default 0.05
        Family-wise significance level.
    power : float, default 0.8
        Probability of a significant result when the target is true.
    ratio : float, default 1.0
        Treatment arm size / control size.
    alternative : {"two-sided", "one-sided"}, default "two-sided"
    method : {"arcsine", "pooled", "unpooled"}, default "arcsine"
    n_comparisons : int, default 1
        Number of treatment arms compared with control.

    Returns
    -------
    SampleSize

    Raises
    ------
    DataError
        Rates outside (0, 1) (a percentage such as 40 is named as such), target equal to
        baseline, bad options.

    Examples
    --------
    >>> s = sample_size(0.40, 0.42)
    >>> s.n_control, s.n_total, round(s.n_exact, 2)
    (9492, 18984, 9491.76)
    >>> sample_size(0.40, 0.42, method="pooled").n_control
    9493
    >>> sample_size(0.40, 0.42, n_comparisons=2).n_control  # two arms vs control, alpha/2
    11495
    """
    from statsmodels.stats.power import NormalIndPower

    p1, a, pw, k = _size_inputs(baseline, alpha, power, ratio, alternative, method,
                                n_comparisons)
    p2 = _fraction("target", target)
    if p2 == p1:
        raise DataError(f"target={target!r} equals the baseline: there is no effect to detect",
                        fix="pass the retention you expect with the treatment, e.g. "
                        f"{p1 + 0.02:.2f}")
    two = alternative == "two-sided"
    if method == "arcsine":
        h = abs(_cohen_h(p1, p2))
        n = float(NormalIndPower().solve_power(effect_size=h, nobs1=None, alpha=a, power=pw,
                                               ratio=k, alternative="two-sided" if two
                                               else "larger"))
    else:
        n = _n_normal(p1, p2, _z(a, two), _zb(pw), k, pooled=method == "pooled")
    n_c = math.ceil(n - 1e-9)
    n_t = math.ceil(k * n - 1e-9)
    m = _whole("n_comparisons", n_comparisons)
    return SampleSize(n_control=n_c, n_treatment=n_t, n_total=n_c + m * n_t, n_exact=n,
                      baseline=p1, target=p2, alpha=a, power=pw, method=method)


def _zb(power: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(power))


def achieved_power(
    n_per_arm: float,
    baseline: float,
    target: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Literal["two-sided", "one-sided"] = "two-sided",
    method: SizeMethod = "arcsine",
    n_comparisons: int = 1,
) -> float:
    """Power of a retention test with ``n_per_arm`` control customers.

    The inverse of :func:`sample_size` (same approximations and options).

    Parameters
    ----------
    n_per_arm : float
        Control customers who reach the horizon (treatment: ``ratio`` times as many).
    baseline, target : float
        Control and treatment retention, fractions.
    alpha, ratio, alternative, method, n_comparisons
        As in :func:`sample_size`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(achieved_power(9492, 0.40, 0.42), 4)
    0.8
    >>> round(achieved_power(2000, 0.40, 0.42), 3)
    0.251
    """
    from statsmodels.stats.power import NormalIndPower

    p1, a, _, k = _size_inputs(baseline, alpha, 0.5, ratio, alternative, method, n_comparisons)
    p2 = _fraction("target", target)
    n = _number("n_per_arm", n_per_arm)
    if n <= 0:
        raise DataError(f"n_per_arm={n_per_arm!r} must be positive", fix="pass e.g. 5000")
    two = alternative == "two-sided"
    if method == "arcsine":
        return float(NormalIndPower().power(effect_size=abs(_cohen_h(p1, p2)), nobs1=n, alpha=a,
                                            ratio=k,
                                            alternative="two-sided" if two else "larger"))
    from scipy import stats

    b = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
    if method == "pooled":
        pbar = (p1 + k * p2) / (1 + k)
        s0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
    else:
        s0 = b
    return float(stats.norm.cdf((abs(p2 - p1) * math.sqrt(n) - _z(a, two) * s0) / b))


def minimum_detectable_effect(
    n_per_arm: float,
    baseline: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Literal["two-sided", "one-sided"] = "two-sided",
    method: SizeMethod = "arcsine",
    n_comparisons: int = 1,
) -> float:
    """Smallest rise in retention a test of ``n_per_arm`` customers detects with ``power``.

    The inverse of :func:`sample_size`: ``sample_size(baseline, baseline + mde)`` needs
    exactly ``n_per_arm`` customers (before rounding up).

    Parameters
    ----------
    n_per_arm : float
        Control customers who reach the horizon.
    baseline : float
        Control retention, a fraction.
    alpha, power, ratio, alternative, method, n_comparisons
        As in :func:`sample_size`.

    Returns
    -------
    float
        The absolute difference in retention (0.02 = 2 percentage points).

    Raises
    ------
    DataError
        If even retention 1 could not be detected with so few customers.

    Examples
    --------
    >>> round(minimum_detectable_effect(9492, 0.40), 5)
    0.02
    >>> round(minimum_detectable_effect(1000, 0.40), 4)
    0.062
    """
    from statsmodels.stats.power import NormalIndPower

    p1, a, pw, k = _size_inputs(baseline, alpha, power, ratio, alternative, method,
                                n_comparisons)
    n = _number("n_per_arm", n_per_arm)
    if n <= 0:
        raise DataError(f"n_per_arm={n_per_arm!r} must be positive", fix="pass e.g. 5000")
    two = alternative == "two-sided"
    too_small = DataError(f"n_per_arm={n_per_arm!r} is too small to detect any rise from "
                          f"{p1:g} with power {pw:g}", fix="plan a larger test")
    from scipy import optimize

    if method == "arcsine":
        side = "two-sided" if two else "larger"
        max_h = math.pi - 2 * math.asin(math.sqrt(p1))  # target retention 1

        def short(h: float) -> float:
            return float(NormalIndPower().power(effect_size=h, nobs1=n, alpha=a, ratio=k,
                                                alternative=side)) - pw

        if short(max_h) < 0:
            raise too_small
        h = optimize.brentq(short, 1e-12, max_h, xtol=1e-15, rtol=1e-14)
        return math.sin(math.asin(math.sqrt(p1)) + h / 2) ** 2 - p1

    za, zb = _z(a, two), _zb(pw)
    pooled = method == "pooled"

    def gap(delta: float) -> float:
        return _n_normal(p1, p1 + delta, za, zb, k, pooled) - n

    hi = (1 - p1) * (1 - 1e-12)
    if gap(hi) > 0:
        raise too_small
    return float(optimize.brentq(gap, 1e-9, hi, xtol=1e-14, rtol=1e-14))


# --------------------------------------------------------------------------- peeking


@dataclass(frozen=True)
class PeekingResult:
    """Result of :func:`peeking_simulation`.

    Attributes
    ----------
    false_positive_rate_fixed : float
        Share of A/A tests significant at the planned end (one look): about ``alpha``.
    false_positive_rate_peeking : float
        Share significant at *any* of the looks (stopping at the first p < alpha).
    by_look : DataFrame
        Per look: ``n_per_arm`` so far and ``stopped`` (cumulative share of tests
        stopped with a "significant" result by that look).
    n_looks, n_simulations : int
    alpha : float
    """

    false_positive_rate_fixed: float
    false_positive_rate_peeking: float
    by_look: pd.DataFrame
    n_looks: int
    n_simulations: int
    alpha: float


def peeking_simulation(
    *,
    baseline: float = 0.4,
    n_per_arm: int = 10_000,
    n_looks: int = 10,
    alpha: float = 0.05,
    n_simulations: int = 4000,
    random_state: int | np.random.Generator,
) -> PeekingResult:
    """Why stopping a test at the first p < 0.05 inflates false positives.

    Simulates ``n_simulations`` A/A tests (both arms retain ``baseline``, so every
    "significant" result is a false positive) of ``n_per_arm`` customers per arm, looked
    at ``n_looks`` times at equal intervals with the pooled two-proportion z-test. A test
    that stops at the first look with p < ``alpha`` declares a winner far more often than
    ``alpha``: with 10 looks about 19% of the time (Armitage, McPherson & Rowe 1969,
    "Repeated significance tests on accumulating data", *JRSS A* 132(2), table 2: 19.3%
    for 10 looks, 14.2% for 5). Plan the size, then look once; or use a sequential design
    with adjusted boundaries.

    Parameters
    ----------
    baseline : float, default 0.4
        Retention of both arms.
    n_per_arm : int, default 10000
        Planned customers per arm at the last look.
    n_looks : int, default 10
    alpha : float, default 0.05
    n_simulations : int, default 4000
    random_state : int or numpy Generator
        The only source of randomness.

    Returns
    -------
    PeekingResult

    Examples
    --------
    >>> res = peeking_simulation(n_looks=10, n_simulations=4000, random_state=1)
    >>> 0.17 < res.false_positive_rate_peeking < 0.22
    True
    >>> 0.035 < res.false_positive_rate_fixed < 0.065
    True
    """
    from scipy import stats

    p = _fraction("baseline", baseline)
    n = _whole("n_per_arm", n_per_arm, minimum=2)
    looks = _whole("n_looks", n_looks)
    a = _alpha(alpha)
    sims = _whole("n_simulations", n_simulations)
    if looks > n:
        raise DataError(f"n_looks={n_looks} exceeds n_per_arm={n_per_arm}",
                        fix="look at most once per customer")
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    sizes = np.round(np.arange(1, looks + 1) * n / looks).astype(np.int64)
    steps = np.diff(np.concatenate([[0], sizes]))
    xa = np.cumsum(rng.binomial(steps, p, size=(sims, looks)), axis=1)
    xb = np.cumsum(rng.binomial(steps, p, size=(sims, looks)), axis=1)
    pooled = (xa + xb) / (2 * sizes)
    se = np.sqrt(pooled * (1 - pooled) * 2 / sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (xa - xb) / sizes / se, 0.0)
    significant = 2 * stats.norm.sf(np.abs(z)) < a
    stopped = np.cumsum(significant, axis=1) > 0
    by_look = pd.DataFrame({"n_per_arm": sizes, "stopped": stopped.mean(axis=0)},
                           index=pd.RangeIndex(1, looks + 1, name="look"))
    return PeekingResult(false_positive_rate_fixed=float(significant[:, -1].mean()),
                         false_positive_rate_peeking=float(stopped[:, -1].mean()),
                         by_look=by_look, n_looks=looks, n_simulations=sims, alpha=a)


# --------------------------------------------------------------------------- CUPED


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
    data = _frame(data, "the experiment data")
    alpha = _alpha(alpha)
    _check_choice("correction", correction, _CORRECTIONS)
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (the outcome)",
              covariate_col: "covariate_col (pre-experiment covariate)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    _require_columns(data, needed, what="the experiment data")
    counted = _counted_rows(data, reached_col)
    wanted = _arms(data, arm_col, control, arms, counted)
    sub = data.loc[counted & data[arm_col].isin(wanted)]
    cols = [arm_col, covariate_col, outcome_col]
    x_raw = pd.to_numeric(sub[covariate_col], errors="coerce")
    miss = x_raw.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"covariate {covariate_col!r} has missing (or non-numeric) values",
            n_rows=int(miss.sum()), example=_first_example(sub, miss, cols),
            fix="CUPED needs the covariate for every customer; fill it where missing means "
            "none (e.g. 0 orders before enrolment, plus a 0/1 'was missing' covariate), or "
            "drop those customers from every arm (the covariate was measured before "
            "randomisation, so this keeps the arms comparable)")
    y_raw = data.loc[sub.index, outcome_col]
    if pd.api.types.is_bool_dtype(y_raw.dtype):
        y_num = y_raw.astype("Float64")
    else:
        y_num = pd.to_numeric(y_raw, errors="coerce")
    ymiss = y_num.isna().to_numpy()
    if ymiss.any():
        raise DataError(f"outcome {outcome_col!r} is missing or not numeric for customers who "
                        "count", n_rows=int(ymiss.sum()), example=_first_example(sub, ymiss, cols),
                        fix="exclude customers who have not reached the horizon (reached_col) "
                        "and code the outcome as numbers")
    x = x_raw.to_numpy(dtype=float)
    y = y_num.to_numpy(dtype=float)
    labels = sub[arm_col].to_numpy()
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

    def stats_of(values: np.ndarray, arm: str) -> tuple[float, float, int]:
        v = values[labels == arm]
        return float(v.mean()), float(v.var(ddof=1)) if len(v) > 1 else 0.0, len(v)

    rows = {}
    for arm in wanted:
        mask = labels == arm
        rows[arm] = {"n": int(mask.sum()), "mean": float(y[mask].mean()),
                     "adjusted_mean": float(y_adj[mask].mean()),
                     "covariate_mean": float(x[mask].mean())}
    arms_table = pd.DataFrame.from_dict(rows, orient="index")
    arms_table.index.name = arm_col
    z = _z(alpha)
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
            out[f"{prefix}p_value"] = float(_normal_p(diff / se)) if se > 0 else math.nan
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
    comparisons.insert(5, "p_adjusted",
                       _adjust(comparisons["p_value"].to_numpy(), correction))
    return CupedResult(arms=arms_table, comparisons=comparisons, theta=theta, correlation=corr,
                       variance_reduction=reduction, control=control, outcome=outcome_col,
                       covariate=covariate_col, alpha=alpha, correction=correction)


# --------------------------------------------------------------------------- survival


@dataclass(frozen=True, repr=False)
class SurvivalComparison:
    """Result of :func:`compare_survival`.

    Attributes
    ----------
    result : SurvivalResult
        The Kaplan-Meier curves of every arm (pass it to
        :func:`retention_kit.plots.plot_survival`).
    at_horizon : DataFrame
        Per arm: ``n_customers``, ``survival`` at the horizon with its Greenwood ``se`` and
        normal interval ``ci_lower``, ``ci_upper``; ``rmst`` (expected time as a customer
        within the horizon) and ``rmst_se``.
    differences : DataFrame
        Per treatment arm against control: ``survival_difference``, ``survival_se``,
        ``survival_ci_lower``, ``survival_ci_upper``, ``survival_p_value``;
        ``rmst_difference`` ("extra expected days retained" within the horizon),
        ``rmst_se``, ``rmst_ci_lower``, ``rmst_ci_upper``, ``rmst_p_value``; and the
        pairwise ``logrank_p_value``.
    logrank_p_value : float
        Log-rank test that all arms share one survival curve.
    control : str
    horizon : float
    time_unit : str or None
    alpha : float
    """

    result: SurvivalResult
    at_horizon: pd.DataFrame
    differences: pd.DataFrame
    logrank_p_value: float
    control: str
    horizon: float
    time_unit: str | None
    alpha: float

    def effect(self, arm: str, *, measure: Literal["rmst", "survival"] = "rmst") -> Effect:
        """RMST or survival difference of ``arm`` against control, as an :class:`Effect`."""
        _check_choice("measure", measure, ("rmst", "survival"))
        if arm not in self.differences.index:
            raise DataError(f"no comparison for arm {arm!r}",
                            fix=f"use one of {[str(a) for a in self.differences.index]}")
        r = self.differences.loc[arm]
        key = "rmst" if measure == "rmst" else "survival"
        est = r[f"{key}_difference"]
        unit = f" {self.time_unit}" if self.time_unit else ""
        what = (f"RMST difference within {self.horizon:g}{unit}" if measure == "rmst"
                else f"difference in survival at {self.horizon:g}{unit}")
        return Effect(str(arm), float(est), float(r[f"{key}_se"]), float(r[f"{key}_ci_lower"]),
                      float(r[f"{key}_ci_upper"]), float(r[f"{key}_p_value"]), self.alpha, what)

    def __repr__(self) -> str:
        parts = [f"{a}: {r.rmst_difference:+.3g} RMST, {r.survival_difference:+.3g} survival"
                 for a, r in self.differences.iterrows()]
        return (f"SurvivalComparison(horizon={self.horizon:g}, vs {self.control!r}; "
                + "; ".join(parts) + f"; log-rank p={self.logrank_p_value:.3g})")


def _km_at(table: pd.DataFrame, horizon: float) -> tuple[float, float]:
    """KM survival at ``horizon`` and its Greenwood standard error, from a KM table."""
    part = table.loc[table["time"] <= horizon]
    s = float(part["survival"].iloc[-1])
    d = part["churned"].to_numpy(dtype=float)
    n = part["at_risk"].to_numpy(dtype=float)
    ok = (d > 0) & (n > d)
    var = s**2 * float(np.sum(d[ok] / (n[ok] * (n[ok] - d[ok]))))
    return s, math.sqrt(var)


def compare_survival(
    data: pd.DataFrame,
    *,
    horizon: float,
    arm_col: str = "arm",
    control: str = "control",
    duration_col: str = "duration",
    event_col: str = "churned",
    alpha: float = 0.05,
    time_unit: str | None = None,
) -> SurvivalComparison:
    r"""Time to churn per arm: Kaplan-Meier, log-rank, survival and RMST at a horizon.

    Uses every customer, censored ones included (no need to wait until everyone reaches
    the horizon), through :func:`retention_kit.cohorts.survival`. At the horizon
    :math:`\tau` it reports, per treatment arm against control,

    * the difference in survival :math:`\hat S_t(\tau) - \hat S_c(\tau)` (Greenwood
      standard errors, arms independent);
    * the difference in restricted mean survival time :math:`\int_0^\tau \hat S(t)\,dt`:
      the extra expected days retained within the horizon (Klein & Moeschberger
      standard errors, as in R's survRM2);
    * the pairwise log-rank test; :attr:`SurvivalComparison.logrank_p_value` tests all
      arms at once.

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    horizon : float
        tau, in the unit of the durations; every arm must have been followed that long.
    arm_col, control : str
    duration_col, event_col : str
        Time as a customer and churned (bool; False = censored).
    alpha : float, default 0.05
    time_unit : str, optional
        Unit of the durations, for labels (e.g. "D").

    Returns
    -------
    SurvivalComparison

    Raises
    ------
    DataError
        As :func:`retention_kit.cohorts.survival`, an arm with no customers, and a horizon
        longer than the data.

    Examples
    --------
    >>> d = pd.DataFrame({"arm": ["control"] * 4 + ["new"] * 4,
    ...                   "duration": [1, 2, 3, 4, 2, 4, 4, 4],
    ...                   "churned": [True, True, True, False, True, False, False, False]})
    >>> res = compare_survival(d, horizon=4)
    >>> res.at_horizon[["survival", "rmst"]]
             survival  rmst
    arm
    control      0.25  2.50
    new          0.75  3.50
    >>> float(res.differences.loc["new", "rmst_difference"])
    1.0
    """
    from .cohorts import survival

    data = _frame(data, "the survival data")
    alpha = _alpha(alpha)
    _require_columns(data, {arm_col: "arm_col (the arm of each customer)",
                            duration_col: "duration_col (time as a customer)",
                            event_col: "event_col (True = churned)"}, what="the survival data")
    counted = pd.Series(True, index=data.index)
    wanted = _arms(data, arm_col, control, None, counted)
    tau = _number("horizon", horizon)
    durations = pd.to_numeric(data[duration_col], errors="coerce")
    longest = durations.groupby(data[arm_col]).max()
    shortest = float(longest.min())
    if tau <= 0 or tau > shortest:
        raise DataError(
            f"horizon={horizon!r} is longer than the data: arm {longest.idxmin()!r} was "
            f"followed for at most {shortest:g}" if tau > 0 else
            f"horizon={horizon!r} must be positive", n_rows=len(data),
            fix=f"choose a horizon between 0 and {shortest:g}")
    res = survival(data, duration_col=duration_col, event_col=event_col, group_col=arm_col,
                   alpha=alpha, rmst_horizon=tau, time_unit=time_unit)
    z = _z(alpha)
    rows = {}
    for arm in wanted:
        s, se = _km_at(res.table.loc[res.table["group"] == arm], tau)
        summ = res.summary.loc[arm]
        rows[arm] = {"n_customers": int(summ["n_customers"]), "survival": s, "se": se,
                     "ci_lower": max(0.0, s - z * se), "ci_upper": min(1.0, s + z * se),
                     "rmst": float(summ["rmst"]), "rmst_se": float(summ["rmst_se"])}
    at = pd.DataFrame.from_dict(rows, orient="index")
    at.index.name = arm_col
    c = at.loc[control]
    diffs = {}
    for arm in wanted[1:]:
        t = at.loc[arm]
        pair = data.loc[data[arm_col].isin([control, arm])]
        lr = survival(pair, duration_col=duration_col, event_col=event_col, group_col=arm_col,
                      alpha=alpha)
        row: dict[str, float] = {}
        for key, est, se_key in (("survival", "survival", "se"), ("rmst", "rmst", "rmst_se")):
            diff = float(t[est] - c[est])
            se = math.hypot(float(t[se_key]), float(c[se_key]))
            row[f"{key}_difference"] = diff
            row[f"{key}_se"] = se
            row[f"{key}_ci_lower"] = diff - z * se
            row[f"{key}_ci_upper"] = diff + z * se
            row[f"{key}_p_value"] = float(_normal_p(diff / se)) if se > 0 else math.nan
        row["logrank_p_value"] = float(lr.logrank_p_value)
        diffs[arm] = row
    differences = pd.DataFrame.from_dict(diffs, orient="index")
    differences.index.name = arm_col
    return SurvivalComparison(result=res, at_horizon=at, differences=differences,
                              logrank_p_value=float(res.logrank_p_value), control=control,
                              horizon=tau, time_unit=res.time_unit, alpha=alpha)


# --------------------------------------------------------------------------- uplift


def _encode(X: pd.DataFrame, categories: Mapping[str, list] | None) -> tuple[np.ndarray, dict]:
    """Numeric columns as they are, the others one-hot on the categories seen in fit."""
    learn = categories is None
    cats: dict[str, list] = {} if learn else dict(categories)
    parts, names = [], []
    for col in X.columns:
        s = X[col]
        numeric = col not in cats if not learn else pd.api.types.is_numeric_dtype(s.dtype)
        if numeric:
            v = pd.to_numeric(s, errors="coerce").astype(float)
            miss = v.isna().to_numpy()
            if miss.any():
                raise DataError(f"feature {col!r} has missing or non-numeric values",
                                n_rows=int(miss.sum()),
                                example=_first_example(X, miss, [col]),
                                fix="fill or drop them before modelling uplift")
            parts.append(v.to_numpy()[:, None])
            names.append(str(col))
            continue
        if learn:
            if s.isna().any():
                miss = s.isna().to_numpy()
                raise DataError(f"feature {col!r} has missing values", n_rows=int(miss.sum()),
                                example=_first_example(X, miss, [col]),
                                fix="fill them with a category such as 'unknown'")
            cats[col] = sorted(pd.unique(s).tolist(), key=str)
        levels = cats[col]
        values = s.to_numpy()
        parts.append(np.column_stack([(values == lvl).astype(float) for lvl in levels]))
        names.extend(f"{col}={lvl}" for lvl in levels)
    return np.hstack(parts), {"categories": cats, "names": names}


def _default_estimator(random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_depth=3,
                                          min_samples_leaf=100, early_stopping=False,
                                          random_state=random_state)


class UpliftModel:
    """Uplift (conditional treatment effect on a 0/1 outcome) with scikit-learn classifiers.

    Two estimators (Gutierrez & Gerardy 2017, "Causal inference and uplift modelling: a
    review of the literature", *PMLR* 67):

    * ``"two_model"`` (T-learner): one classifier on the treated, one on control;
      uplift(x) = P(Y=1 | x, treated) - P(Y=1 | x, control).
    * ``"class_transformation"`` (Jaskowski & Jaroszewicz 2012): one classifier of
      Z = 1 when (treated and Y=1) or (control and Y=0), with the arms re-weighted to equal
      size, so that uplift(x) = 2 P(Z=1 | x) - 1.

    Numeric features are used as they are; other columns are one-hot encoded on the
    categories seen in :meth:`fit` (an unseen category gets all zeros).

    Parameters
    ----------
    method : {"two_model", "class_transformation"}, default "two_model"
    estimator : scikit-learn classifier, optional
        Cloned for every model. Default: a small, regularised
        ``HistGradientBoostingClassifier`` (100 trees of depth 3, learning rate 0.05, at
        least 100 customers a leaf).
    random_state : int, default 0
        Seed of the default estimator.

    Attributes
    ----------
    models_ : tuple
        (treated, control) classifiers, or the single class-transformation classifier.
    features_ : list of str
        The input columns.
    columns_ : list of str
        The encoded columns.
    treated_share_ : float
        Share of treated customers in the training data.
    """

    def __init__(self, *, method: Literal["two_model", "class_transformation"] = "two_model",
                 estimator: Any = None, random_state: int = 0) -> None:
        self.method = method
        self.estimator = estimator
        self.random_state = random_state

    def _new_estimator(self) -> Any:
        from sklearn.base import clone

        if self.estimator is None:
            return _default_estimator(self.random_state)
        return clone(self.estimator)

    def fit(self, X: pd.DataFrame, treated: Sequence[bool] | np.ndarray | pd.Series,
            outcome: Sequence[float] | np.ndarray | pd.Series) -> UpliftModel:
        """Fit on features ``X``, treatment indicator and 0/1 outcome; returns self."""
        _check_choice("method", self.method, ("two_model", "class_transformation"))
        X = _frame(X, "the feature table")
        t = np.asarray(treated).astype(bool)
        yv = pd.Series(np.asarray(outcome, dtype=object))
        frame = pd.DataFrame({"outcome": yv})
        y = _binary_outcome(frame, "outcome", pd.Series(True, index=frame.index), ["outcome"])
        if len(t) != len(X) or len(y) != len(X):
            raise DataError("X, treated and outcome have different lengths",
                            example=f"{len(X)}, {len(t)}, {len(y)}",
                            fix="pass one treatment flag and one outcome per row of X")
        if t.all() or not t.any():
            raise DataError("the training data need treated and control customers",
                            n_rows=len(X), fix="include both arms")
        encoded, info = _encode(X, None)
        self.features_ = [str(c) for c in X.columns]
        self._categories = info["categories"]
        self.columns_ = info["names"]
        self.treated_share_ = float(t.mean())
        if self.method == "two_model":
            self.models_ = (self._new_estimator().fit(encoded[t], y[t]),
                            self._new_estimator().fit(encoded[~t], y[~t]))
        else:
            z = np.where(t, y, 1 - y)
            w = np.where(t, 0.5 / self.treated_share_, 0.5 / (1 - self.treated_share_))
            self.models_ = (self._new_estimator().fit(encoded, z, sample_weight=w),)
        return self

    def _transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "models_"):
            from .errors import NotFittedError

            raise NotFittedError("UpliftModel is not fitted yet: call fit(X, treated, outcome)")
        X = _frame(X, "the feature table")
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise DataError(f"the feature table has no column {missing[0]!r}",
                            fix=f"pass the columns the model was fitted on: {self.features_}")
        encoded, _ = _encode(X[self.features_], self._categories)
        return encoded

    def predict_outcomes(self, X: pd.DataFrame) -> pd.DataFrame:
        """``p_treated``, ``p_control`` and ``uplift`` per row (two-model method only)."""
        if self.method != "two_model":
            raise DataError("predict_outcomes needs method='two_model'",
                            fix="the class transformation estimates only the difference; use "
                            "predict()")
        enc = self._transform(X)
        pt = self.models_[0].predict_proba(enc)[:, 1]
        pc = self.models_[1].predict_proba(enc)[:, 1]
        return pd.DataFrame({"p_treated": pt, "p_control": pc, "uplift": pt - pc},
                            index=X.index)

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Predicted uplift per row (a Series on ``X``'s index)."""
        if self.method == "two_model":
            return self.predict_outcomes(X)["uplift"]
        enc = self._transform(X)
        values = 2 * self.models_[0].predict_proba(enc)[:, 1] - 1
        return pd.Series(values, index=X.index, name="uplift")

    def __repr__(self) -> str:
        state = f"{len(self.features_)} features" if hasattr(self, "models_") else "not fitted"
        return f"UpliftModel(method={self.method!r}; {state})"


def qini_curve(uplift: Sequence[float] | np.ndarray | pd.Series,
               treated: Sequence[bool] | np.ndarray | pd.Series,
               outcome: Sequence[float] | np.ndarray | pd.Series) -> pd.DataFrame:
    r"""Qini and uplift curves: the gain from targeting the customers with the top scores.

    Customers are sorted by predicted uplift, highest first; ties are kept together (the
    curves are evaluated only where the score changes). For the top share
    :math:`\phi` of the :math:`N` customers, with :math:`N_t, N_c` treated and control
    customers among them and :math:`Y_t, Y_c` of those retained:

    * Qini (Radcliffe 2007): :math:`Q(\phi) = (Y_t - Y_c N_t / N_c) / N`, the
      incremental retained customers per customer of the whole population;
    * uplift curve (Rzepakowski & Jaroszewicz 2012):
      :math:`U(\phi) = (Y_t / N_t - Y_c / N_c)\,\phi`.

    A ratio with an empty denominator counts as 0 (as in scikit-uplift). Random targeting
    gives the straight lines ``random_qini`` and ``random_uplift`` from 0 to the curves'
    end points; :func:`curve_area` is the area between a curve and that line.

    Parameters
    ----------
    uplift : array-like of float
        Predicted uplift (any score: only its order matters).
    treated : array-like of bool
    outcome : array-like of 0/1

    Returns
    -------
    DataFrame
        ``fraction`` (share targeted, from 0), ``n_targeted``, ``qini``, ``uplift``,
        ``random_qini``, ``random_uplift``.

    Examples
    --------
    Four customers, sorted by score; the two treated are first and third:

    >>> curve = qini_curve([0.3, 0.2, 0.1, 0.0], [True, False, True, False], [1, 0, 0, 1])
    >>> curve[["fraction", "qini", "uplift"]]
       fraction  qini  uplift
    0      0.00  0.00    0.00
    1      0.25  0.25    0.25
    2      0.50  0.25    0.50
    3      0.75  0.25    0.375
    4      1.00  0.00    0.00
    >>> curve_area(curve, "qini")
    0.1875
    """
    s = np.asarray(uplift, dtype=float)
    t = np.asarray(treated).astype(bool)
    frame = pd.DataFrame({"outcome": np.asarray(outcome, dtype=object)})
    y = _binary_outcome(frame, "outcome", pd.Series(True, index=frame.index), ["outcome"])
    if not (len(s) == len(t) == len(y)) or len(s) == 0:
        raise DataError("uplift, treated and outcome must be non-empty and of equal length",
                        example=f"{len(s)}, {len(t)}, {len(y)}", fix="pass one value per customer")
    if not np.all(np.isfinite(s)):
        bad = ~np.isfinite(s)
        raise DataError("uplift scores are missing or not finite", n_rows=int(bad.sum()),
                        fix="predict a score for every customer")
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    last_of_tie = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    nt = np.cumsum(t)[last_of_tie].astype(float)
    nc = np.cumsum(~t)[last_of_tie].astype(float)
    yt = np.cumsum(y * t)[last_of_tie]
    yc = np.cumsum(y * ~t)[last_of_tie]
    n_all = float(len(s))
    k = last_of_tie + 1.0

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b > 0)

    qini = (yt - yc * ratio(nt, nc)) / n_all
    upl = (ratio(yt, nt) - ratio(yc, nc)) * k / n_all
    fraction = np.r_[0.0, k / n_all]
    qini, upl = np.r_[0.0, qini], np.r_[0.0, upl]
    return pd.DataFrame({"fraction": fraction, "n_targeted": np.r_[0, k].astype(np.int64),
                         "qini": qini, "uplift": upl, "random_qini": fraction * qini[-1],
                         "random_uplift": fraction * upl[-1]})


def curve_area(curve: pd.DataFrame, column: Literal["qini", "uplift"] = "qini") -> float:
    """Area between a Qini (or uplift) curve and random targeting (trapezoid rule).

    Positive when the scores rank the customers who respond to treatment first; about 0
    for random scores. The unit is "incremental retained customers per customer",
    integrated over the share targeted, so areas compare across data sets of any size.

    Parameters
    ----------
    curve : DataFrame
        From :func:`qini_curve`.
    column : {"qini", "uplift"}, default "qini"

    Returns
    -------
    float

    Examples
    --------
    >>> curve_area(qini_curve([0.3, 0.2, 0.1, 0.0], [1, 0, 1, 0], [1, 0, 0, 1]), "uplift")
    0.28125
    """
    _check_choice("column", column, ("qini", "uplift"))
    x = curve["fraction"].to_numpy(dtype=float)
    gap = curve[column].to_numpy(dtype=float) - curve[f"random_{column}"].to_numpy(dtype=float)
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


_SEGMENT_ORDER = ["persuadable", "sure thing", "lost cause", "sleeping dog"]


def uplift_segments(scores: pd.DataFrame, *, threshold: float = 0.02,
                    likely: float = 0.5) -> pd.Series:
    """Name each customer's response to treatment from the two-model predictions.

    * **persuadable**: uplift >= ``threshold`` (retained *because* treated: target them);
    * **sleeping dog**: uplift <= -``threshold`` (treatment makes them leave: do not
      disturb);
    * otherwise the treatment changes little: **sure thing** when retention without it
      (``p_control``) is at least ``likely`` (they stay anyway: money wasted), else
      **lost cause** (they leave anyway).

    Parameters
    ----------
    scores : DataFrame
        ``uplift`` and ``p_control`` per customer, e.g. from
        :meth:`UpliftModel.predict_outcomes` or :attr:`UpliftResult.scores`.
    threshold : float, default 0.02
        Smallest uplift, in probability points, worth acting on.
    likely : float, default 0.5

    Returns
    -------
    Series
        Categorical (ordered as above), on ``scores``' index.

    Examples
    --------
    >>> s = pd.DataFrame({"uplift": [0.10, -0.05, 0.0, 0.01], "p_control": [0.4, 0.6, 0.9, 0.2]})
    >>> uplift_segments(s).tolist()
    ['persuadable', 'sleeping dog', 'sure thing', 'lost cause']
    """
    _require_columns(scores, {"uplift": "uplift (predicted effect)",
                              "p_control": "p_control (retention without treatment)"},
                     what="the uplift scores")
    thr = _number("threshold", threshold)
    if thr < 0:
        raise DataError(f"threshold={threshold!r} must be >= 0", fix="pass e.g. 0.02")
    u = scores["uplift"].to_numpy(dtype=float)
    pc = scores["p_control"].to_numpy(dtype=float)
    names = np.select([u >= thr, u <= -thr, pc >= likely],
                      ["persuadable", "sleeping dog", "sure thing"], "lost cause")
    return pd.Series(pd.Categorical(names, categories=_SEGMENT_ORDER, ordered=True),
                     index=scores.index, name="segment")


@dataclass(frozen=True, repr=False)
class UpliftResult:
    """Result of :func:`uplift_analysis`.

    Attributes
    ----------
    model : UpliftModel
        Fitted on the training part.
    scores : DataFrame
        The held-out customers: ``uplift`` (and ``p_treated``, ``p_control`` for the
        two-model method), ``treated``, ``outcome``.
    curve : DataFrame
        :func:`qini_curve` on the held-out part.
    qini_area, uplift_area : float
        :func:`curve_area` of the two curves.
    treatment, control : str
    features : list of str
    n_train, n_test : int
    """

    model: UpliftModel
    scores: pd.DataFrame
    curve: pd.DataFrame
    qini_area: float
    uplift_area: float
    treatment: str
    control: str
    features: list = field(default_factory=list)
    n_train: int = 0
    n_test: int = 0

    def segments(self, *, threshold: float = 0.02, likely: float = 0.5) -> pd.Series:
        """:func:`uplift_segments` of the held-out customers."""
        return uplift_segments(self.scores, threshold=threshold, likely=likely)

    def __repr__(self) -> str:
        return (f"UpliftResult({self.treatment!r} vs {self.control!r}, {self.model.method}; "
                f"train {self.n_train:,}, test {self.n_test:,}; Qini area "
                f"{self.qini_area:.4g}, uplift area {self.uplift_area:.4g})")


def uplift_analysis(
    data: pd.DataFrame,
    *,
    treatment: str,
    features: Sequence[str],
    control: str = "control",
    arm_col: str = "arm",
    outcome_col: str = "retained_90d",
    reached_col: str | None = "reached_horizon",
    method: Literal["two_model", "class_transformation"] = "two_model",
    estimator: Any = None,
    test_size: float = 0.3,
    random_state: int = 0,
) -> UpliftResult:
    """Who to target: fit an uplift model on part of an experiment, judge it on the rest.

    The customers of ``treatment`` and ``control`` who reached the horizon are split
    (stratified by arm and outcome) into a training part, on which an
    :class:`UpliftModel` is fitted, and a held-out part, on which its Qini and uplift
    curves and their areas (:func:`qini_curve`, :func:`curve_area`) are computed. Only a
    randomised experiment can train an uplift model: in observational data the treated
    differ from the untreated in ways the model would mistake for the effect.

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    treatment : str
        The treatment arm.
    features : sequence of str
        Pre-experiment columns to model the effect on (numbers or categories).
    control, arm_col, outcome_col, reached_col
        As in :func:`retention_test`.
    method, estimator
        As in :class:`UpliftModel`.
    test_size : float, default 0.3
        Held-out share.
    random_state : int, default 0
        Seed of the split and of the default estimator.

    Returns
    -------
    UpliftResult

    Examples
    --------
    A toy experiment in which treatment helps only customers with ``new == 1``:

    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> d = pd.DataFrame({"arm": rng.choice(["control", "email"], n),
    ...                   "new": rng.integers(0, 2, n)})
    >>> p = 0.5 + 0.3 * ((d["arm"] == "email") & (d["new"] == 1))
    >>> d["retained"] = rng.random(n) < p
    >>> res = uplift_analysis(d, treatment="email", features=["new"], outcome_col="retained",
    ...                       reached_col=None, estimator=LogisticRegression())
    >>> res.scores.groupby(d["new"])["uplift"].mean().round(1).tolist()
    [0.0, 0.3]
    >>> res.qini_area > 0
    True
    """
    from sklearn.model_selection import train_test_split

    data = _frame(data, "the experiment data")
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (retained at the horizon, 0/1)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    for f in features:
        needed.setdefault(f, "features (pre-experiment covariate)")
    _require_columns(data, needed, what="the experiment data")
    size = _fraction("test_size", test_size, example="0.3")
    counted = _counted_rows(data, reached_col)
    _arms(data, arm_col, control, [treatment], counted)
    sub = data.loc[counted & data[arm_col].isin([control, treatment])]
    y = _binary_outcome(sub, outcome_col, pd.Series(True, index=sub.index),
                        [arm_col, outcome_col])
    t = (sub[arm_col] == treatment).to_numpy()
    strata = t.astype(int) * 2 + y.astype(int)
    positions = np.arange(len(sub))
    train, test = train_test_split(positions, test_size=size, random_state=random_state,
                                   stratify=strata)
    train, test = np.sort(train), np.sort(test)
    X = sub[list(features)]
    model = UpliftModel(method=method, estimator=estimator, random_state=random_state)
    model.fit(X.iloc[train], t[train], y[train])
    held = X.iloc[test]
    if method == "two_model":
        scores = model.predict_outcomes(held)
    else:
        scores = model.predict(held).to_frame()
    scores["treated"] = t[test]
    scores["outcome"] = y[test].astype(np.int64)
    curve = qini_curve(scores["uplift"], scores["treated"], scores["outcome"])
    return UpliftResult(model=model, scores=scores, curve=curve,
                        qini_area=curve_area(curve, "qini"),
                        uplift_area=curve_area(curve, "uplift"), treatment=treatment,
                        control=control, features=[str(f) for f in features],
                        n_train=len(train), n_test=len(test))


# --------------------------------------------------------------------------- ROI


@dataclass(frozen=True, repr=False)
class ProgrammeROI:
    """Result of :func:`programme_roi`; money in the currency of the margin.

    Attributes
    ----------
    table : DataFrame
        Rows ``incremental_retained``, ``retention_value``, ``expansion_value``,
        ``cost``, ``net_value``, ``roi``, ``break_even_cost_per_treated``; columns
        ``estimate``, ``ci_lower``, ``ci_upper`` (the experiment's uncertainty carried
        through; the cost is known). Each row's estimate is also an attribute
        (``roi.net_value``, ``roi.break_even_cost_per_treated``).
    value_per_retained : float
        Present value of the margin of one customer retained at the start of the horizon.
    probability_profitable : float
        P(net value > 0) under the normal approximation of the effect's uncertainty.
    n_treated, horizon_periods : int
    discount_rate, effect, effect_se : float
    """

    table: pd.DataFrame
    value_per_retained: float
    probability_profitable: float
    n_treated: int
    horizon_periods: int
    discount_rate: float
    effect: float
    effect_se: float

    def __getattr__(self, name: str) -> float:
        table = self.__dict__.get("table")
        if table is not None and name in table.index:
            return float(table.loc[name, "estimate"])
        raise AttributeError(name)

    def __repr__(self) -> str:
        t = self.table
        return (f"ProgrammeROI(net {t.loc['net_value', 'estimate']:,.0f} "
                f"[{t.loc['net_value', 'ci_lower']:,.0f}, {t.loc['net_value', 'ci_upper']:,.0f}],"
                f" ROI {t.loc['roi', 'estimate']:.1%}, break-even cost per treated "
                f"{t.loc['break_even_cost_per_treated', 'estimate']:,.2f})")


def _value_per_retained(margin: float, horizon: int, discount_rate: float,
                        retention_rate: float) -> float:
    t = np.arange(1, horizon + 1, dtype=float)
    return float(margin * np.sum((retention_rate / (1 + discount_rate)) ** t))


def programme_roi(
    effect: float | Effect,
    *,
    n_treated: int,
    margin_per_period: float,
    horizon_periods: int,
    discount_rate: float,
    cost_per_treated: float,
    fixed_cost: float = 0.0,
    retention_rate: float = 1.0,
    effect_se: float | None = None,
    expansion_per_treated: float = 0.0,
    expansion_se: float = 0.0,
    alpha: float | None = None,
) -> ProgrammeROI:
    r"""Return on a retention programme, with the experiment's uncertainty carried through.

    .. math::

        \text{net} = \underbrace{n\,\Delta}_{\text{incremental retained}} \cdot V
                     + n\,e - (n\,c + F), \qquad
        V = m \sum_{t=1}^{H} \left(\frac{r}{1+i}\right)^{t}, \qquad
        \text{ROI} = \frac{\text{net}}{n\,c + F}

    with :math:`n` customers treated, :math:`\Delta` the effect on retention measured
    against control (a difference in proportions, from :func:`retention_test`),
    :math:`V` the present value of the margin :math:`m` per period of a customer retained
    at the start of the horizon, received at the end of each of the :math:`H` periods
    while she stays (retention :math:`r` per period afterwards, discount rate :math:`i`
    per period; as :math:`H \to \infty`, :math:`V` is the margin multiple
    :math:`m\,r/(1+i-r)` of :func:`retention_kit.metrics.margin_multiple_clv`),
    :math:`e` the incremental expansion margin per treated customer (e.g. the CUPED
    difference in spend times the gross margin, already in present value), :math:`c`
    the cost per treated customer and :math:`F` fixed costs. The break-even cost per
    treated customer is :math:`(\Delta V + e) - F/n`.

    The net value is linear in :math:`\Delta` and :math:`e`, so their standard errors
    carry over exactly: :math:`\mathrm{se} = n\sqrt{V^2 \mathrm{se}_\Delta^2 +
    \mathrm{se}_e^2}` (independent estimates), and intervals are normal at level
    ``1 - alpha``.

    Parameters
    ----------
    effect : float or Effect
        Difference in retention, treated minus control (0.04 = 4 points); an
        :class:`Effect` (from ``RetentionTest.effect(arm)``) brings its standard error and
        alpha.
    n_treated : int
        Customers the programme would treat.
    margin_per_period : float
        Margin (not revenue) of a customer per period, >= 0.
    horizon_periods : int
        H, whole periods valued (the explicit horizon).
    discount_rate : float
        Per period, a fraction (0.01 = 1% a month; 1 or more is taken for a percentage
        and rejected).
    cost_per_treated : float
        Variable cost per treated customer, >= 0.
    fixed_cost : float, default 0
        Fixed cost of running the programme, >= 0.
    retention_rate : float, default 1.0
        r: per-period retention of a retained customer during the horizon.
    effect_se : float, optional
        Standard error of ``effect`` (default: the Effect's, or 0).
    expansion_per_treated, expansion_se : float, default 0
        Incremental expansion margin per treated customer and its standard error.
    alpha : float, optional
        Default: the Effect's alpha, or 0.05.

    Returns
    -------
    ProgrammeROI

    Raises
    ------
    DataError
        Negative margin or costs (wrong sign), a discount rate given as a percentage, a
        non-positive horizon or ``n_treated``.

    Examples
    --------
    10,000 customers treated at $4 each; retention +4 points (se 1 point); a retained
    customer brings $100 a year for two years with 80% yearly retention, discounted at
    10% a year: V = 100 (0.8/1.1) + 100 (0.8/1.1)² = 72.73 + 52.89 = 125.62, so
    400 × 125.62 = 50,247.93 of value for 40,000 of cost:

    >>> roi = programme_roi(0.04, effect_se=0.01, n_treated=10_000, margin_per_period=100,
    ...                     horizon_periods=2, discount_rate=0.10, retention_rate=0.8,
    ...                     cost_per_treated=4)
    >>> round(roi.value_per_retained, 2)
    125.62
    >>> roi.table.round(2)
                                 estimate  ci_lower  ci_upper
    incremental_retained           400.00    204.00    596.00
    retention_value              50247.93  25626.90  74868.97
    expansion_value                  0.00      0.00      0.00
    cost                         40000.00  40000.00  40000.00
    net_value                    10247.93 -14373.10  34868.97
    roi                              0.26     -0.36      0.87
    break_even_cost_per_treated      5.02      2.56      7.49
    >>> round(roi.probability_profitable, 3)
    0.793
    """
    if isinstance(effect, Effect):
        est = effect.estimate
        se = effect.se if effect_se is None else _number("effect_se", effect_se)
        a = effect.alpha if alpha is None else _alpha(alpha)
    else:
        est = _number("effect", effect)
        se = 0.0 if effect_se is None else _number("effect_se", effect_se)
        a = 0.05 if alpha is None else _alpha(alpha)
    if abs(est) >= 1:
        raise DataError(f"effect={est!r} is not a difference in retention between -1 and 1",
                        fix="pass the difference as a fraction: 0.04 for 4 percentage points")
    if se < 0:
        raise DataError(f"effect_se={se!r} must be >= 0", fix="pass the standard error")
    n = _whole("n_treated", n_treated)
    m = _money("margin_per_period", margin_per_period, what="a margin per period")
    h = _whole("horizon_periods", horizon_periods)
    i = _discount_rate(discount_rate)
    c = _money("cost_per_treated", cost_per_treated, what="a cost")
    f = _money("fixed_cost", fixed_cost, what="a cost")
    r = _fraction("retention_rate", retention_rate, open_low=False, open_high=False,
                  example="0.9")
    e = _number("expansion_per_treated", expansion_per_treated)
    e_se = _number("expansion_se", expansion_se)
    if e_se < 0:
        raise DataError(f"expansion_se={expansion_se!r} must be >= 0",
                        fix="pass the standard error")
    z = _z(a)
    v = _value_per_retained(m, h, i, r)
    cost = n * c + f
    net_se = n * math.hypot(v * se, e_se)

    def row(estimate: float, spread: float) -> list[float]:
        return [estimate, estimate - z * spread, estimate + z * spread]

    net = n * (est * v + e) - cost
    rows = {
        "incremental_retained": row(n * est, n * se),
        "retention_value": row(n * est * v, n * v * se),
        "expansion_value": row(n * e, n * e_se),
        "cost": [cost, cost, cost],
        "net_value": row(net, net_se),
        "roi": row(net / cost, net_se / cost) if cost > 0 else [math.nan] * 3,
        "break_even_cost_per_treated": row(est * v + e - f / n, net_se / n),
    }
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["estimate", "ci_lower", "ci_upper"])
    from scipy import stats

    prob = float(stats.norm.cdf(net / net_se)) if net_se > 0 else float(net > 0)
    return ProgrammeROI(table=table, value_per_retained=v, probability_profitable=prob,
                        n_treated=n, horizon_periods=h, discount_rate=i, effect=est,
                        effect_se=se)


def roi_sensitivity(effects: Sequence[float], costs_per_treated: Sequence[float],
                    **roi_options: Any) -> pd.DataFrame:
    """Net value of a programme over a grid of effect sizes and costs per treated customer.

    Parameters
    ----------
    effects : sequence of float
        Differences in retention to try (e.g. the interval's ends and the estimate).
    costs_per_treated : sequence of float
    **roi_options
        The other keyword arguments of :func:`programme_roi` (``n_treated``,
        ``margin_per_period``, ``horizon_periods``, ``discount_rate``, ...).

    Returns
    -------
    DataFrame
        Net value, indexed by ``effect`` with one column per ``cost_per_treated``;
        ``attrs["break_even_cost"]`` holds the break-even cost per treated customer of
        each effect.

    Examples
    --------
    >>> grid = roi_sensitivity([0.02, 0.04], [2, 4], n_treated=10_000, margin_per_period=100,
    ...                        horizon_periods=2, discount_rate=0.10, retention_rate=0.8)
    >>> grid.round(0)
    cost_per_treated      2.0      4.0
    effect
    0.02               5124.0 -14876.0
    0.04              30248.0  10248.0
    """
    for key in ("effect", "cost_per_treated", "effect_se"):
        roi_options.pop(key, None)
    effects = [float(x) for x in effects]
    costs = [float(x) for x in costs_per_treated]
    if not effects or not costs:
        raise DataError("effects and costs_per_treated must not be empty",
                        fix="pass a few values of each")
    values = np.empty((len(effects), len(costs)))
    breaks = []
    for a, eff in enumerate(effects):
        for b, cost in enumerate(costs):
            res = programme_roi(eff, cost_per_treated=cost, **roi_options)
            values[a, b] = res.table.loc["net_value", "estimate"]
        breaks.append(res.table.loc["break_even_cost_per_treated", "estimate"])
    grid = pd.DataFrame(values, index=pd.Index(effects, name="effect"),
                        columns=pd.Index(costs, name="cost_per_treated"))
    grid.attrs["break_even_cost"] = dict(zip(effects, breaks, strict=True))
    return grid


# --------------------------------------------------------------------------- churn cuts


def clv_by_retention(margin: float, discount_rate: float,
                     retention_rates: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """CLV by the margin multiple m·r/(1+i-r) over a range of retention rates.

    Parameters
    ----------
    margin : float
        Margin per customer per period, >= 0.
    discount_rate : float
        Per period, a fraction.
    retention_rates : array-like of float
        Retention rates per period, in [0, 1).

    Returns
    -------
    DataFrame
        ``retention_rate``, ``churn_rate`` and ``clv``; the curve is convex: each point of
        retention is worth more than the last.

    Examples
    --------
    >>> clv_by_retention(80, 0.10, [0.75, 0.80, 0.85]).round(2)
       retention_rate  churn_rate     clv
    0            0.75        0.25  171.43
    1            0.80        0.20  213.33
    2            0.85        0.15  272.00
    """
    from .metrics import margin_multiple_clv

    m = _money("margin", margin, what="a margin")
    i = _discount_rate(discount_rate)
    r = np.asarray(retention_rates, dtype=float)
    if r.ndim != 1 or len(r) == 0 or np.any(~np.isfinite(r)) or np.any((r < 0) | (r >= 1)):
        raise DataError("retention_rates must be fractions in [0, 1)",
                        example=f"{retention_rates!r}"[:80],
                        fix="pass e.g. numpy.linspace(0.5, 0.95, 10)")
    clv = np.asarray(margin_multiple_clv(m, r, i), dtype=float)
    return pd.DataFrame({"retention_rate": r, "churn_rate": 1 - r, "clv": clv})


def churn_reduction_value(
    margin: float,
    retention_rate: float,
    discount_rate: float,
    *,
    reductions: Sequence[float] = (0.0, 0.02, 0.03, 0.05),
    n_customers: int = 1,
) -> pd.DataFrame:
    """What a cut in churn is worth, by the margin multiple m·r/(1+i-r).

    Each reduction is in churn points per period (0.02 = churn 25% -> 23%, retention
    75% -> 77%). Uses :func:`retention_kit.metrics.margin_multiple_clv` (Gupta & Lehmann
    2003): margin received at the end of each period the customer stays, constant
    retention, infinite horizon.

    Parameters
    ----------
    margin : float
        Margin per customer per period (>= 0).
    retention_rate : float
        Current retention per period.
    discount_rate : float
        Per period, a fraction (0.10 = 10%).
    reductions : sequence of float
        Churn cuts in points (fractions).
    n_customers : int, default 1
        Customers the gain applies to (``total_gain``).

    Returns
    -------
    DataFrame
        Indexed by ``reduction``: ``retention_rate``, ``churn_rate``, ``clv``, ``gain``
        (vs no reduction), ``gain_pct`` and ``total_gain``.

    Examples
    --------
    Retention 75% -> 80% at a margin of $80 and 10% a period:

    >>> churn_reduction_value(80, 0.75, 0.10, reductions=[0, 0.05]).round(4)
               retention_rate  churn_rate       clv     gain  gain_pct  total_gain
    reduction
    0.00                 0.75        0.25  171.4286   0.0000    0.0000      0.0000
    0.05                 0.80        0.20  213.3333  41.9048    0.2444     41.9048
    """
    r0 = _fraction("retention_rate", retention_rate, open_low=False)
    cuts = np.asarray(reductions, dtype=float)
    if cuts.ndim != 1 or len(cuts) == 0 or np.any(~np.isfinite(cuts)):
        raise DataError("reductions must be a list of churn cuts in points", fix="e.g. [0.02]")
    if np.any(cuts >= 1):
        raise DataError(f"reductions {cuts.tolist()} look like percentages",
                        fix="pass churn cuts as fractions: 0.02 for 2 points")
    if np.any(cuts > 1 - r0):
        raise DataError(f"a churn cut larger than the churn rate {1 - r0:g}",
                        example=f"reductions={cuts.tolist()}", fix="cut at most the churn rate")
    n = _whole("n_customers", n_customers)
    table = clv_by_retention(margin, discount_rate, r0 + cuts)
    base = float(clv_by_retention(margin, discount_rate, [r0])["clv"].iloc[0])
    table.index = pd.Index(cuts, name="reduction")
    table["gain"] = table["clv"] - base
    table["gain_pct"] = table["gain"] / base if base > 0 else math.nan
    table["total_gain"] = table["gain"] * n
    return table


_DROPOUT_PARAMS = {"SBG": ("alpha", "beta"), "BdW": ("alpha", "beta"), "BGNBD": ("a", "b"),
                   "MBGNBD": ("a", "b"), "BGBB": ("gamma", "delta")}


def _dropout_names(model: Any) -> tuple[str, str]:
    name = type(model).__name__
    if name not in _DROPOUT_PARAMS or getattr(model, "params_", None) is None:
        raise DataError(f"cannot shift the dropout process of {name}",
                        fix=f"pass a fitted model of {sorted(_DROPOUT_PARAMS)}")
    return _DROPOUT_PARAMS[name]


def shift_dropout(model: Model, *, reduction: float | None = None,
                  relative: float | None = None) -> Model:
    r"""A copy of a fitted model whose customers churn less, heterogeneity unchanged.

    The churn (dropout) probability of every customer follows a Beta distribution:
    Beta(α, β) per renewal in the sBG and BdW, Beta(a, b) per repeat purchase in the
    BG/NBD and MBG/NBD, Beta(γ, δ) per period in the BG/BB. The shift lowers its mean
    :math:`\mu = \alpha/(\alpha+\beta)` to :math:`\mu'` (by ``reduction`` points, or by
    the share ``relative``) while keeping its concentration :math:`\kappa = \alpha+\beta`,
    so customers stay as different from each other as before:
    :math:`\alpha' = \mu'\kappa`, :math:`\beta' = (1-\mu')\kappa`. Other parameters are
    kept. For the sBG, :math:`\mu` is the churn at the first renewal.

    Parameters
    ----------
    model : fitted SBG, BdW, BGNBD, MBGNBD or BGBB
    reduction : float, optional
        Points off the mean churn probability (0.02 = 2 points).
    relative : float, optional
        Share off the mean churn probability (0.1 = 10% less churn). Give exactly one.

    Returns
    -------
    model of the same class (from ``from_params``)

    Examples
    --------
    >>> from retention_kit.models import SBG
    >>> base = SBG.from_params({"alpha": 1.0, "beta": 3.0})  # mean churn 25%
    >>> better = shift_dropout(base, reduction=0.05)
    >>> better.params_.round(4).tolist(), round(float(better.retention_rate(1)), 4)
    ([0.8, 3.2], 0.8)
    """
    a_name, b_name = _dropout_names(model)
    if (reduction is None) == (relative is None):
        raise DataError("give exactly one of reduction= (points) and relative= (share)",
                        fix="e.g. shift_dropout(model, reduction=0.02)")
    params = {k: float(v) for k, v in model.params_.items()}
    a, b = params[a_name], params[b_name]
    kappa, mu = a + b, a / (a + b)
    if reduction is not None:
        cut = _number("reduction", reduction)
        if cut >= 1:
            raise DataError(f"reduction={reduction!r} looks like a percentage",
                            fix=f"pass points as a fraction: reduction={cut / 100:g}")
        new_mu = mu - cut
    else:
        share = _number("relative", relative)
        if share >= 1:
            raise DataError(f"relative={relative!r} would remove all churn or looks like a "
                            "percentage", fix="pass a share below 1: 0.1 for 10% less churn")
        new_mu = mu * (1 - share)
    if not 0 < new_mu < 1:
        raise DataError(f"the shift moves the mean churn probability from {mu:.4g} to "
                        f"{new_mu:.4g}, outside (0, 1)", fix="use a smaller reduction")
    params[a_name], params[b_name] = new_mu * kappa, (1 - new_mu) * kappa
    return type(model).from_params(params, time_unit=getattr(model, "time_unit_", None))


@dataclass(frozen=True)
class ChurnReductionProjection:
    """Result of :func:`project_churn_reduction`.

    Attributes
    ----------
    summary : DataFrame
        Indexed by ``reduction``: ``mean_churn`` (first-period churn), ``survival_end``
        (share of a new cohort left after ``periods``), ``customers_end`` (of
        ``cohort_size``), ``expected_lifetime`` (discounted, in periods: the first payment
        is at period 0), ``clv`` (margin x expected lifetime), ``gain`` and ``gain_pct``
        against no reduction, ``total_gain`` (x cohort size).
    survival : DataFrame
        Projected survival S(t), t = 0..periods, one column per scenario label.
    periods : int
    discount_rate : float
    """

    summary: pd.DataFrame
    survival: pd.DataFrame
    periods: int
    discount_rate: float


def _scenario_label(cut: float) -> str:
    return "as fitted" if cut == 0 else f"churn -{100 * cut:g} pts"


def project_churn_reduction(
    model: Model,
    reductions: Sequence[float] = (0.0, 0.02, 0.03),
    *,
    periods: int,
    discount_rate: float,
    margin_per_period: float = 1.0,
    cohort_size: int = 1000,
) -> ChurnReductionProjection:
    """Re-project a contractual cohort and its CLV after a cut in churn.

    Shifts the fitted sBG or BdW with :func:`shift_dropout` (mean churn down by each
    reduction, heterogeneity kept) and projects survival of a new cohort and its
    discounted expected lifetime (Fader & Hardie 2010 DEL: one payment at the start of
    every period as a customer, the first undiscounted). Unlike the margin multiple,
    retention here rises with tenure because the most churn-prone customers leave first.

    Parameters
    ----------
    model : fitted SBG or BdW
    reductions : sequence of float, default (0, 0.02, 0.03)
        Churn cuts in points of the mean churn probability; include 0 for the baseline.
    periods : int
        Periods to project the survival curve.
    discount_rate : float
        Per period (the model's period), a fraction.
    margin_per_period : float, default 1
        Margin per customer per period (>= 0); 1 gives lifetimes in periods.
    cohort_size : int, default 1000

    Returns
    -------
    ChurnReductionProjection

    Examples
    --------
    >>> from retention_kit.models import SBG
    >>> base = SBG.from_params({"alpha": 1.0, "beta": 3.0})
    >>> proj = project_churn_reduction(base, [0, 0.05], periods=3, discount_rate=0.10,
    ...                                margin_per_period=80)
    >>> proj.summary[["mean_churn", "survival_end", "clv", "gain"]].round(2)
               mean_churn  survival_end     clv   gain
    reduction
    0.00             0.25          0.50  343.58   0.00
    0.05             0.20          0.58  404.63  61.04
    """
    names = _dropout_names(model)
    if names != ("alpha", "beta") or type(model).__name__ not in ("SBG", "BdW"):
        raise DataError(f"project_churn_reduction needs a contractual model (SBG or BdW), got "
                        f"{type(model).__name__}",
                        fix="for BG/NBD customer bases use portfolio_churn_reduction()")
    h = _whole("periods", periods)
    i = _discount_rate(discount_rate)
    if i == 0 and type(model).__name__ == "BdW":
        raise DataError("discount_rate=0 gives an infinite or slowly converging lifetime",
                        fix="pass a positive discount rate per period")
    m = _money("margin_per_period", margin_per_period, what="a margin")
    size = _whole("cohort_size", cohort_size)
    cuts = [float(c) for c in reductions]
    if not cuts:
        raise DataError("reductions is empty", fix="pass e.g. [0, 0.02]")
    t = np.arange(0, h + 1)
    rows, curves = {}, {}
    for cut in cuts:
        shifted = model if cut == 0 else shift_dropout(model, reduction=cut)
        alpha, beta = float(shifted.params_["alpha"]), float(shifted.params_["beta"])
        s = np.asarray(shifted.survival(t), dtype=float)
        life = float(shifted.expected_lifetime(i))
        curves[_scenario_label(cut)] = s
        rows[cut] = {"mean_churn": alpha / (alpha + beta), "survival_end": float(s[-1]),
                     "customers_end": size * float(s[-1]), "expected_lifetime": life,
                     "clv": m * life}
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "reduction"
    base = summary.loc[0.0, "clv"] if 0.0 in summary.index else float(
        m * model.expected_lifetime(i))
    summary["gain"] = summary["clv"] - base
    summary["gain_pct"] = summary["gain"] / base if base > 0 else math.nan
    summary["total_gain"] = summary["gain"] * size
    survival = pd.DataFrame(curves, index=pd.Index(t, name="period"))
    return ChurnReductionProjection(summary=summary, survival=survival, periods=h,
                                    discount_rate=i)


def portfolio_churn_reduction(
    transaction_model: Model,
    spend_model: Any,
    data: pd.DataFrame,
    reductions: Sequence[float] = (0.0, 0.02, 0.03),
    *,
    time_unit: str,
    horizon: int,
    discount_period: str,
    discount_rate: float,
    margin: float = 1.0,
) -> pd.DataFrame:
    """CLV of a whole customer base if its dropout process were shifted.

    Shifts the BG/NBD-family transaction model with :func:`shift_dropout` (mean dropout
    probability per repeat purchase down by each reduction, heterogeneity kept) and values
    every customer with :func:`retention_kit.clv.customer_lifetime_value`. The shifted
    model also re-reads each history (a customer silent for a while is judged more likely
    to be still active), so this is the value of the base "as if the programme had always
    been in place": an upper bound for a programme that starts today.

    Parameters
    ----------
    transaction_model : fitted BGNBD, MBGNBD or BGBB
    spend_model : fitted spend model (GammaGamma)
    data : DataFrame
        Per-customer summary (``frequency``, ``recency``, ``T``, ``monetary_value``).
    reductions : sequence of float, default (0, 0.02, 0.03)
        Points off the mean dropout probability.
    time_unit, horizon, discount_period, discount_rate, margin
        As in :func:`retention_kit.clv.customer_lifetime_value` (``margin`` a share of
        revenue in [0, 1]; ``discount_rate`` a fraction per ``discount_period``).

    Returns
    -------
    DataFrame
        Indexed by ``reduction``: ``mean_dropout``, ``total_clv``, ``mean_clv``, ``gain``,
        ``gain_pct``.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_summary
    >>> from retention_kit.models import BGNBD, GammaGamma
    >>> bgnbd = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> gg = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> out = portfolio_churn_reduction(bgnbd, gg, load_cdnow_summary(), [0, 0.05],
    ...                                 time_unit="W", horizon=12, discount_period="M",
    ...                                 discount_rate=0.01, margin=0.3)
    >>> out[["mean_dropout", "total_clv"]].round(3)
               mean_dropout  total_clv
    reduction
    0.00              0.246  21480.747
    0.05              0.196  ...
    >>> bool(out.loc[0.05, "gain"] > 0)
    True
    """
    from .clv import customer_lifetime_value

    a_name, b_name = _dropout_names(transaction_model)
    if type(transaction_model).__name__ in ("SBG", "BdW"):
        raise DataError("portfolio_churn_reduction needs a transaction model (BG/NBD family)",
                        fix="for contractual cohorts use project_churn_reduction()")
    i = _discount_rate(discount_rate)
    cuts = [float(c) for c in reductions]
    if not cuts:
        raise DataError("reductions is empty", fix="pass e.g. [0, 0.02]")
    rows = {}
    for cut in cuts:
        shifted = (transaction_model if cut == 0
                   else shift_dropout(transaction_model, reduction=cut))
        a, b = float(shifted.params_[a_name]), float(shifted.params_[b_name])
        clv = customer_lifetime_value(shifted, spend_model, data, time_unit=time_unit,
                                      horizon=horizon, discount_period=discount_period,
                                      discount_rate=i, margin=margin)
        rows[cut] = {"mean_dropout": a / (a + b), "total_clv": float(clv.sum()),
                     "mean_clv": float(clv.mean())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "reduction"
    base = out["total_clv"].iloc[0] if cuts[0] == 0 else math.nan
    out["gain"] = out["total_clv"] - base
    out["gain_pct"] = out["gain"] / base
    return out
