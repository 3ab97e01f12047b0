"""Do the report's two views of "lost" agree: RFM segments and the model's P(alive)?

RFM segments call customers lost by *relative* recency (the bottom scores of this base);
a transaction model calls them gone by P(alive), from their own purchase rhythm. When the
two disagree, a reader sees "Hibernating/Lost" next to "P(alive) 95%" and cannot tell which
to act on; the finding says so and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._checks import require_columns
from ._verdict import Finding

__all__ = ["LOST_SEGMENTS", "segments_vs_alive"]

#: RFM segments whose name says the customers have left (the default rules' names).
LOST_SEGMENTS: tuple[str, ...] = ("Hibernating/Lost",)
#: Above this mean P(alive) a "lost" segment is more likely alive than gone.
ALIVE_THRESHOLD = 0.5


def segments_vs_alive(segments: pd.DataFrame, *,
                      lost: Sequence[str] = LOST_SEGMENTS) -> Finding:
    """``caution`` when a segment named as lost has a mean P(alive) of 50% or more.

    The threshold is the point where a customer is more likely still a customer than
    not: calling such a group "lost" contradicts the model. Under it the verdict is
    ``ok``; without a ``mean_alive`` column (no model) there is nothing to compare.

    Parameters
    ----------
    segments : DataFrame
        Indexed by segment name, with ``customers`` and ``mean_alive`` (as
        :func:`retention_kit.reports.segment_table` returns it with a forecast).
    lost : sequence of str
        The segment names that mean "lost".

    Returns
    -------
    Finding
        ``segments vs P(alive)``; ``value`` is the largest mean P(alive) of a lost segment.

    Examples
    --------
    >>> t = pd.DataFrame({"customers": [300, 120], "mean_alive": [0.93, 0.81]},
    ...                  index=pd.Index(["Hibernating/Lost", "Champions"], name="segment"))
    >>> f = segments_vs_alive(t)
    >>> f.verdict, f.value
    ('caution', 0.93)
    """
    require_columns(segments, {"customers": "customers (per segment)",
                               "mean_alive": "mean_alive (the model's mean P(alive))"},
                    what="the segment table")
    rule = f"a segment named lost with mean P(alive) >= {ALIVE_THRESHOLD:.0%}: caution"
    named = segments.loc[segments.index.isin(list(lost))]
    named = named.loc[named["customers"] > 0]
    if named.empty:
        return Finding("segments vs P(alive)", "ok", "No segment is named as lost.", rule=rule)
    worst = named["mean_alive"].astype(float).idxmax()
    alive = float(named.loc[worst, "mean_alive"])
    if alive < ALIVE_THRESHOLD:
        return Finding("segments vs P(alive)", "ok",
                       f"The {int(named.loc[worst, 'customers']):,} customers of "
                       f"'{worst}' have a mean P(alive) of {alive:.0%}: the segments and the "
                       "model agree that they are more likely gone.", value=alive, rule=rule)
    return Finding(
        "segments vs P(alive)", "caution",
        f"The segments call {int(named.loc[worst, 'customers']):,} customers '{worst}' (they "
        f"bought least recently in this base), but the model gives them a mean P(alive) of "
        f"{alive:.0%}: by their own purchase rhythm most of them have not left, they buy "
        "rarely.",
        fix="treat them as slow buyers, not lost ones (reminders rather than win-back "
        "offers), or check the inactivity rule against the purchase cycle",
        value=alive, rule=rule)
