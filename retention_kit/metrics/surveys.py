"""Survey metrics: NPS, CSAT and CES, each with its standard error and interval.

Answers are whole numbers on a stated scale; missing, fractional or out-of-scale answers raise
:class:`~retention_kit.errors.DataError`. Each function returns a small frozen result object
(:class:`NPSResult`, :class:`IntervalResult`, :class:`CESResult`) carrying the estimate with
its standard error, interval, confidence level and the method used: the adjusted Wald interval
for NPS (Rocks 2016), the Wilson interval for CSAT and a t-interval for CES.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import critical_z
from ..errors import data_error
from ._inputs import ArrayLike, coerce, fail_where, integer_scores, nonnegative, option

__all__ = ["CESResult", "IntervalResult", "NPSResult", "ces", "csat", "nps",
           "nps_from_scores"]


# --------------------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntervalResult:
    """A proportion or mean with its standard error and confidence interval.

    Attributes
    ----------
    estimate : float
        The point estimate.
    lower, upper : float
        The confidence interval (computed by ``method``).
    se : float
        The plain (Wald) standard error of ``estimate``.
    n : int
        Number of answers the estimate is based on.
    confidence : float
        Confidence level of the interval, e.g. 0.95.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    method: str


@dataclass(frozen=True, slots=True)
class NPSResult:
    """Net Promoter Score on the -100..100 points scale, with its interval.

    Attributes
    ----------
    estimate : float
        NPS in points: 100 x (share of promoters - share of detractors).
    lower, upper : float
        Adjusted-Wald confidence interval in points (Rocks 2016), clipped to [-100, 100].
    se : float
        Plain (Wald) standard error of ``estimate`` in points.
    n : int
        Number of answers.
    confidence : float
        Confidence level of the interval.
    promoters, passives, detractors : int
        The counts the score was computed from.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    promoters: int
    passives: int
    detractors: int
    method: str


@dataclass(frozen=True, slots=True)
class CESResult:
    """Mean Customer Effort Score on its own scale, with a t-interval.

    Attributes
    ----------
    estimate : float
        Mean of the raw answers, on the scale as asked (never silently flipped).
    lower, upper : float
        t-interval for the mean, on the raw scale.
    se : float
        Standard error of the mean (sample standard deviation / sqrt(n)).
    n : int
        Number of answers.
    confidence : float
        Confidence level of the interval.
    scale : int
        Top of the answer scale (answers run 1..scale).
    higher_is_easier : bool
        Direction of the raw scale.
    ease_estimate : float
        The mean re-expressed so that higher always means easier:
        ``estimate`` if ``higher_is_easier`` else ``scale + 1 - estimate``.
    direction : str
        The direction in words, for reports.
    method : str
        How the interval was computed.
    """

    estimate: float
    lower: float
    upper: float
    se: float
    n: int
    confidence: float
    scale: int
    higher_is_easier: bool
    ease_estimate: float
    direction: str
    method: str


# --------------------------------------------------------------------------------------
# NPS, CSAT, CES
# --------------------------------------------------------------------------------------


def nps(promoters: int, passives: int, detractors: int, *,
        confidence: float = 0.95) -> NPSResult:
    r"""Net Promoter Score from category counts, with an adjusted-Wald interval.

    Answers 9-10 are promoters, 7-8 passives, 0-6 detractors (Reichheld 2003). With
    :math:`n` answers and shares :math:`p_P, p_D`:

    .. math:: \mathrm{NPS} = 100 \, (p_P - p_D), \qquad
              \mathrm{SE} = 100 \sqrt{\frac{p_P + p_D - (p_P - p_D)^2}{n}}

    (the variance of a score of +1/0/-1 per answer). ``se`` is this plain SE.

    The interval is the adjusted Wald of Rocks (2016), which in his comparison had
    better coverage than the plain Wald: add pseudo-observations 0.75 promoters, 1.5
    passives and 0.75 detractors (3 in all), recompute the shares
    :math:`\tilde p_P = (P + 0.75)/(n + 3)`, :math:`\tilde p_D = (D + 0.75)/(n + 3)`, and take
    :math:`(\tilde p_P - \tilde p_D) \pm z \sqrt{(\tilde p_P + \tilde p_D - (\tilde p_P -
    \tilde p_D)^2)/(n + 3)}`, clipped to [-100, 100]. This matches the defaults of Rocks'
    R package ``NPS`` (``nps_test(test = "adjusted.wald")``).

    Sources: Reichheld, F. F. (2003), "The one number you need to grow", *Harvard
    Business Review*; Rocks, B. (2016), "Interval estimation for the 'net promoter
    score'", *The American Statistician* (arXiv:1601.07235).

    Parameters
    ----------
    promoters, passives, detractors : int
        Counts of answers in each category (whole numbers >= 0, at least one answer in
        all).
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    NPSResult
        Estimate, interval and SE in points (-100..100).

    Examples
    --------
    500 answers: 250 promoters, 150 passives, 100 detractors.

    >>> r = nps(250, 150, 100)
    >>> r.estimate, round(r.se, 2)
    (30.0, 3.49)
    >>> round(r.lower, 2), round(r.upper, 2)
    (23.0, 36.65)
    """
    conf = option("confidence", confidence, low=0.0, high=1.0)
    form, (pro, pas, det) = coerce(promoters=promoters, passives=passives,
                                    detractors=detractors)
    if not form.scalar:
        raise data_error("nps takes one count per category, not arrays",
                         example=f"promoters = {promoters!r}",
                         fix="call nps once per group, or nps_from_scores on raw answers")
    for name, x in (("promoters", pro), ("passives", pas), ("detractors", det)):
        nonnegative(form, name, x, "counts of answers cannot be negative")
        fail_where(form, x != np.round(x), f"{name} is not a whole number",
                    "pass counts of answers (the standard error depends on them)", **{name: x})
    n = float(pro + pas + det)
    if n <= 0:
        raise data_error("no answers: promoters + passives + detractors = 0",
                         example="promoters = 0, passives = 0, detractors = 0",
                         fix="an NPS needs at least one answer")
    p, d = float(pro) / n, float(det) / n
    se = math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    n_adj = n + 3.0
    p_adj, d_adj = (float(pro) + 0.75) / n_adj, (float(det) + 0.75) / n_adj
    centre = p_adj - d_adj
    half = critical_z(1 - conf) * math.sqrt((p_adj + d_adj - centre**2) / n_adj)
    return NPSResult(
        estimate=100.0 * (float(pro) - float(det)) / n,
        lower=100.0 * max(centre - half, -1.0),
        upper=100.0 * min(centre + half, 1.0),
        se=100.0 * se,
        n=int(round(n)),
        confidence=conf,
        promoters=int(round(float(pro))),
        passives=int(round(float(pas))),
        detractors=int(round(float(det))),
        method="adjusted Wald (Rocks 2016): +0.75 promoters, +1.5 passives, +0.75 detractors",
    )


def nps_from_scores(scores: ArrayLike, *, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score from raw 0-10 "likelihood to recommend" answers.

    Classifies 9-10 as promoters, 7-8 as passives and 0-6 as detractors, then calls
    :func:`nps` (see there for the formulas and sources).

    Raises
    ------
    DataError
        If an answer is missing, not a whole number, or outside 0..10.

    Examples
    --------
    >>> r = nps_from_scores([10, 9, 9, 8, 7, 6, 3, 10, 9, 5])
    >>> r.promoters, r.passives, r.detractors, r.estimate
    (5, 2, 3, 20.0)
    """
    arr = integer_scores("scores", scores, 0, 10)
    return nps(int(np.sum(arr >= 9)), int(np.sum((arr >= 7) & (arr <= 8))),
               int(np.sum(arr <= 6)), confidence=confidence)


def csat(scores: ArrayLike, *, scale: int = 5, top_box: int = 2,
         confidence: float = 0.95) -> IntervalResult:
    r"""Customer satisfaction (CSAT): top-box share with a Wilson interval.

    The share of answers in the top ``top_box`` points of a 1..``scale`` scale (on the
    usual 5-point scale with ``top_box=2``, answers 4 and 5 count as satisfied):

    .. math:: \hat p = \frac{k}{n}, \qquad
              \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1 - \hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}}

    The Wilson interval stays inside [0, 1] and behaves well near 0 and 1 and for small
    samples, unlike the plain Wald :math:`\hat p \pm z \sqrt{\hat p(1-\hat p)/n}`; ``se`` is
    the plain :math:`\sqrt{\hat p(1-\hat p)/n}`.

    Source: Wilson, E. B. (1927), "Probable inference, the law of succession, and
    statistical inference", *JASA* 22(158).

    Parameters
    ----------
    scores : array-like of int
        Answers, whole numbers in 1..scale.
    scale : int, keyword-only
        Number of scale points (>= 2).
    top_box : int, keyword-only
        How many top points count as satisfied (1 <= top_box < scale).
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    IntervalResult
        Share satisfied (fraction) with its Wilson interval.

    Examples
    --------
    80 satisfied answers (4 or 5) out of 100:

    >>> r = csat([5] * 50 + [4] * 30 + [3] * 12 + [2] * 5 + [1] * 3)
    >>> r.estimate, round(r.lower, 4), round(r.upper, 4)
    (0.8, 0.7112, 0.8666)
    """
    conf = option("confidence", confidence, low=0.0, high=1.0)
    scale_ = _scale(scale)
    if isinstance(top_box, bool) or not isinstance(top_box, int | np.integer) or not (
            1 <= top_box < scale_):
        raise data_error("top_box must be a whole number from 1 to scale - 1",
                         example=f"top_box = {top_box!r}, scale = {scale_}",
                         fix="use top_box=2 for the usual top-two-box CSAT")
    arr = integer_scores("scores", scores, 1, scale_)
    n = arr.size
    k = int(np.sum(arr > scale_ - top_box))
    p = k / n
    z = critical_z(1 - conf)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return IntervalResult(estimate=p, lower=max(centre - half, 0.0),
                          upper=min(centre + half, 1.0), se=math.sqrt(p * (1 - p) / n),
                          n=n, confidence=conf, method="Wilson score (1927)")


def _scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 2:
        raise data_error("scale must be a whole number of at least 2",
                         example=f"scale = {scale!r}", fix="give the top point of the scale, "
                         "e.g. scale=5 for a 1-5 scale")
    return int(scale)


def ces(scores: ArrayLike, *, scale: int = 7, higher_is_easier: bool = True,
        confidence: float = 0.95) -> CESResult:
    r"""Customer Effort Score: the mean answer with a t-interval.

    .. math:: \bar x \pm t_{n-1,\,1-\alpha/2} \, \frac{s}{\sqrt n}

    with :math:`s` the sample standard deviation of the :math:`n` answers.

    The direction of the scale must be stated: the CES 2.0 question ("The company made
    it easy for me to handle my issue", 1 = strongly disagree .. 7 = strongly agree) has
    higher = easier; the original CES ("How much effort did you personally have to put
    forth?", 1 = very low .. 5 = very high) has higher = more effort. The result always
    reports the raw mean on the scale as asked (``estimate``) and says which way it
    runs (``direction``); ``ease_estimate`` re-expresses it so that higher = easier
    (``scale + 1 - mean`` for a higher-is-harder scale), so scores from both kinds of
    questions can be compared.

    Source: Dixon, M., Freeman, K. & Toman, N. (2010), "Stop trying to delight your
    customers", *Harvard Business Review*.

    Parameters
    ----------
    scores : array-like of int
        Answers, whole numbers in 1..scale; at least two.
    scale : int, keyword-only
        Top point of the scale (answers run 1..scale).
    higher_is_easier : bool, keyword-only
        Whether a higher answer means less effort.
    confidence : float, keyword-only
        Confidence level in (0, 1).

    Returns
    -------
    CESResult

    Examples
    --------
    >>> r = ces([6, 7, 5, 6, 7, 4, 6, 5])
    >>> r.estimate, round(r.lower, 3), round(r.upper, 3)
    (5.75, 4.885, 6.615)
    >>> r = ces([2, 1, 3, 2], scale=5, higher_is_easier=False)
    >>> r.estimate, r.ease_estimate, r.direction
    (2.0, 4.0, 'higher = more effort (1 = least effort, 5 = most)')
    """
    from scipy.special import stdtrit

    conf = option("confidence", confidence, low=0.0, high=1.0)
    scale_ = _scale(scale)
    arr = integer_scores("scores", scores, 1, scale_)
    n = arr.size
    if n < 2:
        raise data_error("a CES interval needs at least two answers",
                         example=f"scores = {arr.astype(int).tolist()}",
                         fix="collect more answers")
    mean = float(arr.mean())
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(stdtrit(n - 1, 0.5 + conf / 2.0)) * se
    if higher_is_easier:
        direction = f"higher = easier (1 = hardest, {scale_} = easiest)"
        ease = mean
    else:
        direction = f"higher = more effort (1 = least effort, {scale_} = most)"
        ease = scale_ + 1 - mean
    return CESResult(estimate=mean, lower=mean - half, upper=mean + half, se=se, n=n,
                     confidence=conf, scale=scale_, higher_is_easier=bool(higher_is_easier),
                     ease_estimate=ease, direction=direction,
                     method="t-interval for the mean")
