"""What a retention strategy is worth in money.

:func:`programme_roi` and :func:`roi_sensitivity` (incremental retained customers x
discounted margin + incremental expansion - cost, with the experiment's uncertainty, and
the break-even cost per treated customer); :func:`churn_reduction_value`,
:func:`clv_by_retention`, :func:`shift_dropout`, :func:`project_churn_reduction` and
:func:`portfolio_churn_reduction` (what a churn cut is worth, by formula and through
fitted sBG / BG/NBD models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError
from . import _args
from .ab_tests import Effect

if TYPE_CHECKING:  # pragma: no cover
    from ..models._base import Model

__all__ = [
    "ChurnReductionProjection",
    "ProgrammeROI",
    "churn_reduction_value",
    "clv_by_retention",
    "portfolio_churn_reduction",
    "programme_roi",
    "project_churn_reduction",
    "roi_sensitivity",
    "shift_dropout",
]


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

    def _estimate(self, row: str) -> float:
        return float(self.table.loc[row, "estimate"])

    @property
    def incremental_retained(self) -> float:
        """Customers kept by the programme (estimate)."""
        return self._estimate("incremental_retained")

    @property
    def retention_value(self) -> float:
        """Present value of the margin of the customers kept."""
        return self._estimate("retention_value")

    @property
    def expansion_value(self) -> float:
        """Value of the expansion effect."""
        return self._estimate("expansion_value")

    @property
    def cost(self) -> float:
        """Total cost: per-customer cost times customers treated, plus the fixed cost."""
        return self._estimate("cost")

    @property
    def net_value(self) -> float:
        """Value minus cost (estimate)."""
        return self._estimate("net_value")

    @property
    def roi(self) -> float:
        """Net value over cost (estimate)."""
        return self._estimate("roi")

    @property
    def break_even_cost_per_treated(self) -> float:
        """The cost per treated customer at which the net value is zero."""
        return self._estimate("break_even_cost_per_treated")

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
    est, se, a = _effect_inputs(effect, effect_se, alpha)
    n = _args.whole("n_treated", n_treated)
    m = _args.money("margin_per_period", margin_per_period, what="a margin per period")
    h = _args.whole("horizon_periods", horizon_periods)
    i = _args.discount_rate(discount_rate)
    c = _args.money("cost_per_treated", cost_per_treated, what="a cost")
    f = _args.money("fixed_cost", fixed_cost, what="a cost")
    r = _args.fraction("retention_rate", retention_rate, open_low=False, open_high=False,
                       example="0.9")
    e = _args.number("expansion_per_treated", expansion_per_treated)
    e_se = _args.number("expansion_se", expansion_se)
    if e_se < 0:
        raise DataError(f"expansion_se={expansion_se!r} must be >= 0",
                        fix="pass the standard error")
    v = _value_per_retained(m, h, i, r)
    table, net, net_se = _roi_table(n, est, se, v, e, e_se, n * c + f, f, _args.z(a))
    from scipy import stats

    prob = float(stats.norm.cdf(net / net_se)) if net_se > 0 else float(net > 0)
    return ProgrammeROI(table=table, value_per_retained=v, probability_profitable=prob,
                        n_treated=n, horizon_periods=h, discount_rate=i, effect=est,
                        effect_se=se)



def _effect_inputs(effect: float | Effect, effect_se: float | None,
                   alpha: float | None) -> tuple[float, float, float]:
    """Estimate, standard error and alpha of the effect, from an :class:`Effect` or numbers."""
    if isinstance(effect, Effect):
        est = effect.estimate
        se = effect.se if effect_se is None else _args.number("effect_se", effect_se)
        a = effect.alpha if alpha is None else _args.alpha(alpha)
    else:
        est = _args.number("effect", effect)
        se = 0.0 if effect_se is None else _args.number("effect_se", effect_se)
        a = 0.05 if alpha is None else _args.alpha(alpha)
    if abs(est) >= 1:
        raise DataError(f"effect={est!r} is not a difference in retention between -1 and 1",
                        fix="pass the difference as a fraction: 0.04 for 4 percentage points")
    if se < 0:
        raise DataError(f"effect_se={se!r} must be >= 0", fix="pass the standard error")
    return est, se, a


def _roi_table(n: int, est: float, se: float, v: float, e: float, e_se: float, cost: float,
               f: float, z: float) -> tuple[pd.DataFrame, float, float]:
    """The ROI table (estimate and interval per row), the net value and its standard error.

    ``n`` treated customers, effect ``est`` +- ``se``, value ``v`` per retained customer,
    expansion ``e`` +- ``e_se`` per treated customer, total ``cost`` of which ``f`` fixed,
    normal quantile ``z``.
    """
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
    return table, net, net_se


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
    from ..metrics import margin_multiple_clv

    m = _args.money("margin", margin, what="a margin")
    i = _args.discount_rate(discount_rate)
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
    r0 = _args.fraction("retention_rate", retention_rate, open_low=False)
    cuts = np.asarray(reductions, dtype=float)
    if cuts.ndim != 1 or len(cuts) == 0 or np.any(~np.isfinite(cuts)):
        raise DataError("reductions must be a list of churn cuts in points", fix="e.g. [0.02]")
    if np.any(cuts >= 1):
        raise DataError(f"reductions {cuts.tolist()} look like percentages",
                        fix="pass churn cuts as fractions: 0.02 for 2 points")
    if np.any(cuts > 1 - r0):
        raise DataError(f"a churn cut larger than the churn rate {1 - r0:g}",
                        example=f"reductions={cuts.tolist()}", fix="cut at most the churn rate")
    n = _args.whole("n_customers", n_customers)
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
        cut = _args.number("reduction", reduction)
        if cut >= 1:
            raise DataError(f"reduction={reduction!r} looks like a percentage",
                            fix=f"pass points as a fraction: reduction={cut / 100:g}")
        new_mu = mu - cut
    else:
        share = _args.number("relative", relative)
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
    h = _args.whole("periods", periods)
    i = _args.discount_rate(discount_rate)
    if i == 0 and type(model).__name__ == "BdW":
        raise DataError("discount_rate=0 gives an infinite or slowly converging lifetime",
                        fix="pass a positive discount rate per period")
    m = _args.money("margin_per_period", margin_per_period, what="a margin")
    size = _args.whole("cohort_size", cohort_size)
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
    from ..clv import customer_lifetime_value

    a_name, b_name = _dropout_names(transaction_model)
    if type(transaction_model).__name__ in ("SBG", "BdW"):
        raise DataError("portfolio_churn_reduction needs a transaction model (BG/NBD family)",
                        fix="for contractual cohorts use project_churn_reduction()")
    i = _args.discount_rate(discount_rate)
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

