"""Time to churn per arm: Kaplan-Meier, log-rank, survival and RMST at a horizon.

:func:`compare_survival` works through :func:`retention_kit.cohorts.survival`, imported
inside the function so that importing this module stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from . import _args
from .ab_tests import Effect

if TYPE_CHECKING:  # pragma: no cover
    from ..cohorts import SurvivalResult

__all__ = [
    "SurvivalComparison",
    "compare_survival",
]


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
        _args.check_choice("measure", measure, ("rmst", "survival"))
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
    >>> import pandas as pd
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
    from ..cohorts import survival

    data = _args.frame(data, "the survival data")
    alpha = _args.alpha(alpha)
    _args.require_columns(data, {arm_col: "arm_col (the arm of each customer)",
                                 duration_col: "duration_col (time as a customer)",
                                 event_col: "event_col (True = churned)"}, what="the survival data")
    counted = pd.Series(True, index=data.index)
    wanted = _args.arms(data, arm_col, control, None, counted)
    tau = _horizon_within_follow_up(data, horizon, duration_col, arm_col)
    res = survival(data, duration_col=duration_col, event_col=event_col, group_col=arm_col,
                   alpha=alpha, rmst_horizon=tau, time_unit=time_unit)
    z = _args.z(alpha)
    at = _arms_at_horizon(res, wanted, tau, z, arm_col)
    differences = _differences_from_control(data, at, wanted, control, z, alpha,
                                            duration_col, event_col, arm_col)
    return SurvivalComparison(result=res, at_horizon=at, differences=differences,
                              logrank_p_value=float(res.logrank_p_value), control=control,
                              horizon=tau, time_unit=res.time_unit, alpha=alpha)


def _horizon_within_follow_up(data: pd.DataFrame, horizon: object, duration_col: str,
                              arm_col: str) -> float:
    """The horizon as a number, positive and within every arm's longest follow-up."""
    tau = _args.number("horizon", horizon)
    durations = pd.to_numeric(data[duration_col], errors="coerce")
    longest = durations.groupby(data[arm_col]).max()
    shortest = float(longest.min())
    if tau <= 0 or tau > shortest:
        raise DataError(
            f"horizon={horizon!r} is longer than the data: arm {longest.idxmin()!r} was "
            f"followed for at most {shortest:g}" if tau > 0 else
            f"horizon={horizon!r} must be positive", n_rows=len(data),
            fix=f"choose a horizon between 0 and {shortest:g}")
    return tau


def _arms_at_horizon(res: SurvivalResult, wanted: list[str], tau: float, z: float,
                     arm_col: str) -> pd.DataFrame:
    """Per arm: Kaplan-Meier survival at ``tau`` with its interval, and RMST up to ``tau``."""
    rows = {}
    for arm in wanted:
        s, se = _km_at(res.table.loc[res.table["group"] == arm], tau)
        summ = res.summary.loc[arm]
        rows[arm] = {"n_customers": int(summ["n_customers"]), "survival": s, "se": se,
                     "ci_lower": max(0.0, s - z * se), "ci_upper": min(1.0, s + z * se),
                     "rmst": float(summ["rmst"]), "rmst_se": float(summ["rmst_se"])}
    at = pd.DataFrame.from_dict(rows, orient="index")
    at.index.name = arm_col
    return at


def _differences_from_control(data: pd.DataFrame, at: pd.DataFrame, wanted: list[str],
                              control: str, z: float, alpha: float, duration_col: str,
                              event_col: str, arm_col: str) -> pd.DataFrame:
    """Survival and RMST differences of each arm against control, and the pairwise log-rank."""
    from ..cohorts import survival

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
            row[f"{key}_p_value"] = float(_args.normal_p(diff / se)) if se > 0 else math.nan
        row["logrank_p_value"] = float(lr.logrank_p_value)
        diffs[arm] = row
    differences = pd.DataFrame.from_dict(diffs, orient="index")
    differences.index.name = arm_col
    return differences
