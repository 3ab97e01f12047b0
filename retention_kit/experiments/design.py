"""Design of retention experiments: sample size, power, and the cost of peeking.

:func:`sample_size`, :func:`minimum_detectable_effect` and :func:`achieved_power` for a
difference in retention (size the test first), and :func:`peeking_simulation` for why a
test must not be stopped at the first p < 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from . import _args

__all__ = [
    "PeekingResult",
    "SampleSize",
    "SizeMethod",
    "achieved_power",
    "minimum_detectable_effect",
    "peeking_simulation",
    "sample_size",
]

SizeMethod = Literal["arcsine", "pooled", "unpooled"]
_SIZE_METHODS = ("arcsine", "pooled", "unpooled")
_ALTERNATIVES = ("two-sided", "one-sided")


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
    _args.check_choice("method", method, _SIZE_METHODS)
    _args.check_choice("alternative", alternative, _ALTERNATIVES)
    p1 = _args.fraction("baseline", baseline)
    a = _args.alpha(alpha)
    pw = _args.fraction("power", power, example="0.80")
    k = _args.number("ratio", ratio)
    if k <= 0:
        raise DataError(f"ratio={ratio!r} must be positive (treatment size / control size)",
                        fix="pass 1 for equal arms")
    m = _args.whole("n_comparisons", n_comparisons)
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
    p2 = _args.fraction("target", target)
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
        n = _n_normal(p1, p2, _args.z(a, two_sided=two), _zb(pw), k, pooled=method == "pooled")
    n_c = math.ceil(n - 1e-9)
    n_t = math.ceil(k * n - 1e-9)
    m = _args.whole("n_comparisons", n_comparisons)
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
    p2 = _args.fraction("target", target)
    n = _args.number("n_per_arm", n_per_arm)
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
    return float(stats.norm.cdf((abs(p2 - p1) * math.sqrt(n) - _args.z(a, two_sided=two) * s0) / b))


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
    n = _args.number("n_per_arm", n_per_arm)
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

    za, zb = _args.z(a, two_sided=two), _zb(pw)
    pooled = method == "pooled"

    def gap(delta: float) -> float:
        return _n_normal(p1, p1 + delta, za, zb, k, pooled) - n

    hi = (1 - p1) * (1 - 1e-12)
    if gap(hi) > 0:
        raise too_small
    return float(optimize.brentq(gap, 1e-9, hi, xtol=1e-14, rtol=1e-14))


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

    p = _args.fraction("baseline", baseline)
    n = _args.whole("n_per_arm", n_per_arm, minimum=2)
    looks = _args.whole("n_looks", n_looks)
    a = _args.alpha(alpha)
    sims = _args.whole("n_simulations", n_simulations)
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

