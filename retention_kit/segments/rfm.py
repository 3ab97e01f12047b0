"""RFM scores, segment rules as data, named segments and segment summaries.

Everything here starts from the *segmentation* summary of
:func:`~retention_kit.data.rfm_segmentation_summary` (``since_last``, ``purchases``,
``tenure``, ``total_spend``, ``mean_spend``), one row per customer. The BTYD summary
(``frequency``, ``recency``, ``T``) is refused with an error saying which function to use.

RFM scores (:func:`rfm_scores`)
    Each of recency (time since the last purchase, reversed: recent = high), frequency
    and monetary value is scored 1..n (quintiles for n = 5) *relative to this customer
    base*: score = 1 + ⌊n · (share of customers with a strictly worse value)⌋. Customers
    with the same value always get the same score (no rank-by-row-order tie breaking),
    and the top score always goes to the best customers. When most customers share a
    value (most customers buy once) some scores stay empty; :class:`RFMBins` records
    which and why, and a :class:`RFMTiesWarning` says so. The fitted thresholds
    (:class:`RFMBins`) can score another period, so scores are comparable over time.
Named segments (:func:`default_segment_rules`, :func:`assign_segments`, :func:`rfm_segments`)
    Rules are *data*: a table of inclusive score ranges per segment with an explicit
    ``order``. Rules are evaluated by increasing order and the first match wins, so
    overlaps are resolved by order; a customer no rule matches is an error that names
    the uncovered score patterns. The default is the common ten-segment map of the R×F
    grid (Champions ... Hibernating/Lost), with a recommended action per segment
    (:func:`default_segment_actions`), mapped to the guides' four strategies.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ._common import (
    check_n_bins,
    check_segmentation_summary,
    customer_values,
    first_customer,
    first_example,
    fmt_number,
    join_and,
    outside_package_stacklevel,
    require_columns,
    suggest_names,
)

__all__ = [
    "STRATEGIES",
    "RFMBins",
    "RFMTiesWarning",
    "assign_segments",
    "default_segment_actions",
    "default_segment_rules",
    "rfm_scores",
    "rfm_segments",
    "segment_grid",
    "segment_summary",
]

#: The four retention strategies of the guides, used by :func:`default_segment_actions`.
STRATEGIES: tuple[str, ...] = ("personalised communication", "loyalty programme",
                               "customer service", "feedback")

_LABELS = {"R": "recency", "F": "frequency", "M": "monetary"}


class RFMTiesWarning(UserWarning):
    """Some RFM scores are empty because many customers share one value (ties)."""


# --------------------------------------------------------------------------- RFM scores


@dataclass(frozen=True)
class RFMBins:
    """Thresholds that turn recency, frequency and spend into scores 1..n_bins.

    Fitted on one period (:meth:`fit`, or ``rfm_scores(...).attrs["bins"]``) and reusable
    on another with ``rfm_scores(other, bins=bins)``, so that a score means the same
    spend or recency in both periods.

    Attributes
    ----------
    n_bins : int
        Number of scores.
    recency, frequency, monetary : tuple of float
        ``n_bins - 1`` thresholds each. Frequency and monetary: the k-th threshold is the
        smallest value that scores at least k + 1 (``inf``: score k + 1 is unreachable).
        Recency (time since the last purchase): the k-th threshold is the *longest* time
        that still scores at least k + 1 (``-inf``: unreachable). ``monetary`` is None
        when no spend is scored.
    recency_column, frequency_column, monetary_column : str
        The summary columns scored (``monetary_column`` None without spend).
    notes : tuple of str
        Plain-language notes on ties written when fitting: which scores are empty and why.

    Examples
    --------
    >>> s = pd.DataFrame({"since_last": [5.0, 40, 90, 200, 300],
    ...                   "purchases": [6, 3, 1, 1, 1],
    ...                   "total_spend": [300.0, 90, 20, 35, 10]})
    >>> bins = RFMBins.fit(s, n_bins=5, warn=False)
    >>> bins.frequency  # 60% bought once: scores 2 and 3 are empty
    (3.0, 3.0, 3.0, 6.0)
    >>> bins.to_frame()
          since_last purchases total_spend
    score
    1          > 200       < 3        < 20
    2     (90, 200]      empty    [20, 35)
    3      (40, 90]      empty    [35, 90)
    4       (5, 40]     [3, 6)   [90, 300)
    5          <= 5       >= 6      >= 300
    """

    n_bins: int
    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...] | None
    recency_column: str = "since_last"
    frequency_column: str = "purchases"
    monetary_column: str | None = "total_spend"
    notes: tuple[str, ...] = ()

    @classmethod
    def fit(cls, summary: pd.DataFrame, *, n_bins: int = 5,
            monetary: str | None = "total_spend", warn: bool = True) -> RFMBins:
        """Fit score thresholds on a segmentation summary.

        Parameters
        ----------
        summary : DataFrame
            Output of :func:`~retention_kit.data.rfm_segmentation_summary`.
        n_bins : int, default 5
            Number of scores (5: quintiles).
        monetary : str or None, default "total_spend"
            Spend column to score (``"mean_spend"`` for spend per purchase); None scores
            recency and frequency only.
        warn : bool, default True
            Emit a :class:`RFMTiesWarning` when ties leave scores empty (the same text is
            in :attr:`notes` either way).

        Returns
        -------
        RFMBins

        Raises
        ------
        DataError
            A BTYD summary or a transaction log instead of the segmentation summary,
            missing, negative or non-numeric values, fewer customers than bins, or a
            column with one value for every customer (it cannot rank anyone).
        """
        n_bins = check_n_bins(n_bins)
        columns = {"R": "since_last", "F": "purchases", "M": monetary}
        needed = {"since_last": "recency (time since the last purchase)",
                  "purchases": "frequency (number of purchases)"}
        if monetary is not None:
            needed[monetary] = "monetary (spend; pass monetary=None to score R and F only)"
        check_segmentation_summary(summary, needed, what="RFM scoring")
        if len(summary) < n_bins:
            raise DataError(
                f"there are fewer customers ({len(summary)}) than bins ({n_bins})",
                n_rows=len(summary),
                fix=f"use n_bins <= {len(summary)}, or score a larger customer base: scores "
                "are ranks within the base, meaningless for a handful of customers")
        thresholds: dict[str, tuple[float, ...] | None] = {"M": None}
        notes: list[str] = []
        for score, col in columns.items():
            if col is None:
                continue
            values = summary[col].to_numpy(dtype=float)
            higher = score != "R"
            distinct, counts = np.unique(values, return_counts=True)
            if len(distinct) == 1:
                raise DataError(
                    f"column {col!r} ({_LABELS[score]}) has the same value "
                    f"({fmt_number(distinct[0])}) "
                    "for every customer, so it cannot rank them",
                    n_rows=len(summary), example=first_example(summary, np.ones(1, bool), [col]),
                    fix="score a longer or more varied period; for spend pass monetary=None "
                    "and write rules on R and F only")
            t = _fit_thresholds(values, n_bins, higher)
            thresholds[score] = tuple(float(v) for v in (t if higher else -t))
            used = np.unique(_score_values(values, t, higher))
            empty = sorted(set(range(1, n_bins + 1)) - {int(u) for u in used})
            if empty:
                mode = int(np.argmax(counts))
                notes.append(
                    f"{_LABELS[score]} ({col}): {counts[mode] / len(values):.0%} of customers "
                    f"share the value {fmt_number(distinct[mode])} and there are "
                    f"{len(distinct):,} distinct values, so score"
                    f"{'s' if len(empty) > 1 else ''} {join_and(empty)} "
                    f"{'are' if len(empty) > 1 else 'is'} empty ({len(used)} of {n_bins} "
                    "scores used). Equal values get equal scores and the top score stays with "
                    f"the best customers (score = 1 + floor({n_bins} x share of customers with "
                    "a worse value))")
        bins = cls(n_bins=n_bins, recency=thresholds["R"], frequency=thresholds["F"],
                   monetary=thresholds["M"], monetary_column=monetary, notes=tuple(notes))
        if warn:
            for note in notes:
                warnings.warn(note, RFMTiesWarning, stacklevel=outside_package_stacklevel())
        return bins

    def _score(self, summary: pd.DataFrame) -> pd.DataFrame:
        needed = {self.recency_column: "recency (time since the last purchase)",
                  self.frequency_column: "frequency (number of purchases)"}
        if self.monetary_column is not None:
            needed[self.monetary_column] = "monetary (the spend column the bins were fitted on)"
        check_segmentation_summary(summary, needed, what="RFM scoring")
        out = pd.DataFrame(index=summary.index)
        for score, col, t in (("R", self.recency_column, self.recency),
                              ("F", self.frequency_column, self.frequency),
                              ("M", self.monetary_column, self.monetary)):
            if col is None or t is None:
                continue
            higher = score != "R"
            oriented = np.asarray(t, dtype=float) * (1.0 if higher else -1.0)
            out[score] = _score_values(summary[col].to_numpy(dtype=float), oriented, higher)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The value range of every score, as text (rows: scores; columns: variables)."""
        table = {}
        for col, t, higher in ((self.recency_column, self.recency, False),
                               (self.frequency_column, self.frequency, True),
                               (self.monetary_column, self.monetary, True)):
            if col is None or t is None:
                continue
            table[col] = [_score_range(t, s, higher) for s in range(1, self.n_bins + 1)]
        frame = pd.DataFrame(table, index=pd.RangeIndex(1, self.n_bins + 1, name="score"))
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite thresholds become None); see :meth:`from_dict`."""
        def plain(t: tuple[float, ...] | None) -> list[float | None] | None:
            return None if t is None else [v if math.isfinite(v) else None for v in t]

        return {"n_bins": self.n_bins, "recency": plain(self.recency),
                "frequency": plain(self.frequency), "monetary": plain(self.monetary),
                "recency_column": self.recency_column,
                "frequency_column": self.frequency_column,
                "monetary_column": self.monetary_column, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RFMBins:
        """Rebuild bins from :meth:`to_dict` output.

        Examples
        --------
        >>> s = pd.DataFrame({"since_last": [1.0, 2, 3], "purchases": [1, 2, 3],
        ...                   "total_spend": [5.0, 6, 7]})
        >>> bins = RFMBins.fit(s, n_bins=3)
        >>> RFMBins.from_dict(bins.to_dict()) == bins
        True
        """
        def back(t: list[float | None] | None, missing: float) -> tuple[float, ...] | None:
            return None if t is None else tuple(missing if v is None else float(v) for v in t)

        return cls(n_bins=int(data["n_bins"]), recency=back(data["recency"], -math.inf),
                   frequency=back(data["frequency"], math.inf),
                   monetary=back(data.get("monetary"), math.inf),
                   recency_column=data.get("recency_column", "since_last"),
                   frequency_column=data.get("frequency_column", "purchases"),
                   monetary_column=data.get("monetary_column"),
                   notes=tuple(data.get("notes", ())))


def _fit_thresholds(values: np.ndarray, n_bins: int, higher: bool) -> np.ndarray:
    """Oriented thresholds t_k, k = 1..n-1: the smallest value with share below >= k/n."""
    y = values if higher else -values
    distinct, counts = np.unique(y, return_counts=True)
    below = (np.cumsum(counts) - counts) * n_bins  # customers strictly below, times n
    n = len(y)
    idx = np.searchsorted(below, np.arange(1, n_bins) * n, side="left")
    padded = np.append(distinct, np.inf)
    return padded[idx]


def _score_values(values: np.ndarray, oriented: np.ndarray, higher: bool) -> np.ndarray:
    """1 + number of oriented thresholds at or below the oriented value."""
    y = values if higher else -values
    return (1 + np.searchsorted(oriented, y, side="right")).astype("int64")


def _score_range(t: tuple[float, ...], score: int, higher: bool) -> str:
    """Text range of values that get ``score`` (thresholds in original units)."""
    lo = t[score - 2] if score >= 2 else None  # reaches this score
    hi = t[score - 1] if score <= len(t) else None  # reaches the next score
    if higher:
        lo_v = -math.inf if lo is None else lo
        hi_v = math.inf if hi is None else hi
        if not lo_v < hi_v:
            return "empty"
        if lo is None:
            return f"< {fmt_number(hi_v)}"
        if hi is None or math.isinf(hi_v):
            return f">= {fmt_number(lo_v)}"
        return f"[{fmt_number(lo_v)}, {fmt_number(hi_v)})"
    # recency: score s when next-threshold < since_last <= this-threshold
    top = math.inf if lo is None else lo
    bottom = -math.inf if hi is None else hi
    if not bottom < top:
        return "empty"
    if lo is None:
        return f"> {fmt_number(bottom)}"
    if hi is None or math.isinf(bottom):
        return f"<= {fmt_number(top)}"
    return f"({fmt_number(bottom)}, {fmt_number(top)}]"


def rfm_scores(
    summary: pd.DataFrame,
    *,
    n_bins: int = 5,
    monetary: str | None = "total_spend",
    bins: RFMBins | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Recency, frequency and monetary scores 1..n_bins, relative to this customer base.

    For frequency and spend, score = 1 + ⌊n · share of customers with a strictly lower
    value⌋; for recency (``since_last``) the same with a strictly *longer* time since
    the last purchase, so recent customers score high. Equal values get equal scores
    (no tie broken by row order), and the best customers get the top score even when
    ties leave middle scores empty. Quintiles for n = 5 when there are no ties.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~retention_kit.data.rfm_segmentation_summary` (``since_last``,
        ``purchases`` and the spend column). A BTYD summary is refused.
    n_bins : int, default 5
        Number of scores.
    monetary : str or None, default "total_spend"
        Spend column to score (``"mean_spend"`` for spend per purchase); None: R and F
        only.
    bins : RFMBins, optional
        Thresholds fitted on another period (``earlier.attrs["bins"]``); ``n_bins`` and
        ``monetary`` are then taken from ``bins``. Without it, bins are fitted here.
    warn : bool, default True
        Emit a :class:`RFMTiesWarning` when ties leave scores empty; the same notes are in
        ``attrs["bins"].notes``.

    Returns
    -------
    DataFrame
        Columns ``R``, ``F`` (and ``M``), int, on ``summary``'s index. ``attrs``:
        ``kind="rfm_scores"``, ``n_bins``, ``bins`` (the :class:`RFMBins` used) and the
        summary's ``observation_end`` and ``time_unit``.

    Raises
    ------
    DataError
        See :meth:`RFMBins.fit`.

    Examples
    --------
    Six customers; four bought once, so frequency scores 2 and 3 are empty, and the
    two customers with 10 days since their last purchase share a recency score:

    >>> s = pd.DataFrame({"since_last": [3.0, 10, 10, 50, 80, 200],
    ...                   "purchases": [4, 2, 1, 1, 1, 1],
    ...                   "total_spend": [120.0, 60, 20, 20, 15, 5]},
    ...                  index=pd.Index(list("abcdef"), name="customer_id"))
    >>> scores = rfm_scores(s, n_bins=5, warn=False)
    >>> scores.T
    customer_id  a  b  c  d  e  f
    R            5  3  3  2  1  1
    F            5  4  1  1  1  1
    M            5  4  2  2  1  1
    >>> print(scores.attrs["bins"].notes[1])
    frequency (purchases): 67% of customers share the value 1 and there are 3 distinct
    values, so scores 2 and 3 are empty (3 of 5 scores used). Equal values get equal
    scores and the top score stays with the best customers (score = 1 + floor(5 x share
    of customers with a worse value))
    >>> print(scores.attrs["bins"].to_frame())
          since_last purchases total_spend
    score
    1           > 50       < 2        < 20
    2       (10, 50]     empty    [20, 60)
    3        (3, 10]     empty       empty
    4          empty    [2, 4)   [60, 120)
    5           <= 3      >= 4      >= 120

    Scores of another period with the same thresholds:

    >>> later = s.assign(since_last=s["since_last"] + 30)
    >>> rfm_scores(later, bins=scores.attrs["bins"])["R"].tolist()
    [2, 2, 2, 1, 1, 1]
    """
    if bins is None:
        bins = RFMBins.fit(summary, n_bins=n_bins, monetary=monetary, warn=warn)
    elif not isinstance(bins, RFMBins):
        raise TypeError(f"bins must be an RFMBins (e.g. scores.attrs['bins']), got "
                        f"{type(bins).__name__}")
    out = bins._score(summary)
    out.attrs.update({k: summary.attrs[k] for k in ("observation_end", "time_unit")
                      if k in summary.attrs})
    out.attrs.update(kind="rfm_scores", n_bins=bins.n_bins, bins=bins)
    return out


# --------------------------------------------------------------------------- rules


_BOUNDS = ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")
_RULE_COLUMNS = ("segment", "order", *_BOUNDS, "description")

# The common R x F map on a 1..5 scale (R = recency score, F = frequency score).
_DEFAULT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int], str], ...] = (
    ("Champions", (5, 5), (4, 5), "bought very recently and buy often"),
    ("Loyal", (3, 4), (4, 5), "buy often, fairly recently"),
    ("Potential Loyalists", (4, 5), (2, 3), "recent, have bought a few times"),
    ("New", (5, 5), (1, 1), "first and only purchase very recently"),
    ("Promising", (4, 4), (1, 1), "recent one-time buyers"),
    ("Need Attention", (3, 3), (3, 3), "middling recency and frequency"),
    ("About to Sleep", (3, 3), (1, 2), "middling recency, few purchases: fading"),
    ("At Risk", (1, 2), (3, 4), "bought several times, but long ago"),
    ("Can't Lose Them", (1, 2), (5, 5), "were among the most frequent buyers, long silent"),
    ("Hibernating/Lost", (1, 2), (1, 2), "few purchases, long ago"),
)


def _rescale(lo: int, hi: int, n_bins: int) -> tuple[int, int]:
    """Range on 1..5 -> range on 1..n of the scores s with lo <= ceil(5 (s - 1/2) / n) <= hi.

    s - 1/2 is the middle of score s's share range; integer arithmetic keeps it exact.
    """
    return ((lo - 1) * 2 * n_bins + 5) // 10 + 1, (2 * hi * n_bins + 5) // 10


def default_segment_rules(n_bins: int = 5) -> pd.DataFrame:
    """The common ten-segment map of the R×F grid, as a rules table.

    ====================  =======  =======
    segment               R score  F score
    ====================  =======  =======
    Champions             5        4-5
    Loyal                 3-4      4-5
    Potential Loyalists   4-5      2-3
    New                   5        1
    Promising             4        1
    Need Attention        3        3
    About to Sleep        3        1-2
    At Risk               1-2      3-4
    Can't Lose Them       1-2      5
    Hibernating/Lost      1-2      1-2
    ====================  =======  =======

    The ten boxes tile the 5×5 grid exactly (no gaps, no overlaps), so the ``order``
    does not change who lands where; it matters for your own overlapping rules and sets
    the display order. Spend (M) is not used: it shows up in the value shares of
    :func:`segment_summary` instead. For another ``n_bins`` a score s counts as the 5-scale
    score whose range holds the middle of its own, ``ceil(5 (s - 1/2) / n_bins)``: on
    1..10, R 5 becomes R 9-10. Below 5 bins some 5-scale scores are never reached (on
    1..4 the middle score 3; on 1..3 scores 2 and 4) and the segments that need them are
    dropped: on 1..4 Need Attention and About to Sleep, while New, Champions and
    Hibernating/Lost stay.

    Parameters
    ----------
    n_bins : int, default 5
        Scale of the scores the rules will be applied to.

    Returns
    -------
    DataFrame
        Columns ``segment``, ``order``, ``r_min``, ``r_max``, ``f_min``, ``f_max``,
        ``m_min``, ``m_max`` (inclusive bounds, nullable integers; missing = any score)
        and ``description``; ``attrs["n_bins"]``. Edit a copy or build your own table with
        the same columns.

    Examples
    --------
    >>> rules = default_segment_rules()
    >>> rules.loc[rules["segment"] == "Champions", ["r_min", "r_max", "f_min", "f_max"]]
       r_min  r_max  f_min  f_max
    0      5      5      4      5
    >>> default_segment_rules(n_bins=10).loc[0, "r_min":"f_max"].astype(int).tolist()
    [9, 10, 7, 10]
    """
    n_bins = check_n_bins(n_bins)
    rows = []
    for order, (name, (r_lo, r_hi), (f_lo, f_hi), text) in enumerate(_DEFAULT_RULES, start=1):
        r_min, r_max = _rescale(r_lo, r_hi, n_bins)
        f_min, f_max = _rescale(f_lo, f_hi, n_bins)
        if r_min > r_max or f_min > f_max:
            continue
        rows.append({"segment": name, "order": order, "r_min": r_min, "r_max": r_max,
                     "f_min": f_min, "f_max": f_max, "m_min": pd.NA, "m_max": pd.NA,
                     "description": text})
    rules = pd.DataFrame(rows)
    for col in _BOUNDS:
        rules[col] = rules[col].astype("Int64")
    rules["order"] = rules["order"].astype("int64")
    rules.attrs["n_bins"] = n_bins
    return rules


def _validate_rules(rules: Any) -> pd.DataFrame:
    """Checked rules sorted by order, with float bounds (NaN = any)."""
    if not isinstance(rules, pd.DataFrame) or len(rules) == 0:
        raise DataError("segment rules must be a non-empty DataFrame",
                        fix="start from default_segment_rules() and edit it")
    unknown = [c for c in rules.columns if c not in _RULE_COLUMNS]
    if unknown:
        name = str(unknown[0])
        raise DataError(f"the rules table has an unknown column {name!r}",
                        example=f"columns {[str(c) for c in rules.columns]}",
                        fix=f"{suggest_names(name, _RULE_COLUMNS)}use only {list(_RULE_COLUMNS)}")
    if "order" not in rules.columns:
        raise DataError("the rules table has no 'order' column",
                        fix="add an explicit evaluation order (1, 2, ...): rules are tried by "
                        "increasing order and the first match wins")
    require_columns(rules, {"segment": "segment (the segment's name)"}, what="the rules table")
    if not any(c in rules.columns for c in _BOUNDS):
        raise DataError("the rules table has no score bounds",
                        fix=f"give each rule inclusive ranges in {list(_BOUNDS)}")
    names = rules["segment"]
    if names.isna().any() or (names.astype(str).str.strip() == "").any():
        bad = names.isna() | (names.astype(str).str.strip() == "")
        raise DataError("some rules have no segment name", n_rows=int(bad.sum()),
                        example=first_example(rules, bad, ["segment", "order"]),
                        fix="name every segment")
    order = pd.to_numeric(rules["order"], errors="coerce")
    if order.isna().any() or order.duplicated().any():
        bad = order.isna() | order.duplicated(keep=False)
        raise DataError("the rules' order values must be distinct numbers",
                        n_rows=int(bad.sum()), example=first_example(rules, bad,
                                                                      ["segment", "order"]),
                        fix="number the rules 1, 2, ...: with equal orders the first match "
                        "would depend on row order")
    out = pd.DataFrame({"segment": names.astype(str), "order": order})
    for col in _BOUNDS:
        raw = rules[col] if col in rules.columns else pd.Series(np.nan, index=rules.index)
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        not_int = ~np.isnan(values) & (values != np.round(values))
        bad_text = raw.notna().to_numpy() & np.isnan(values)
        if (not_int | bad_text).any():
            bad = not_int | bad_text
            raise DataError(f"rule bounds in {col!r} must be whole scores or empty",
                            n_rows=int(bad.sum()), example=first_example(rules, bad,
                                                                          ["segment", col]),
                            fix="scores are integers 1..n_bins; leave a bound empty for 'any'")
        out[col] = values
    for axis in "rfm":
        lo, hi = out[f"{axis}_min"], out[f"{axis}_max"]
        crossed = (lo > hi).to_numpy()
        if crossed.any():
            raise DataError(f"rules with {axis}_min greater than {axis}_max can match no one",
                            n_rows=int(crossed.sum()),
                            example=first_example(out, crossed,
                                                   ["segment", f"{axis}_min", f"{axis}_max"]),
                            fix="swap the bounds (they are inclusive ranges)")
    return out.sort_values("order", kind="stable").reset_index(drop=True)


def _check_scores(scores: Any, need_m: bool) -> pd.DataFrame:
    if isinstance(scores, pd.DataFrame) and "segment" in scores.columns and not {
            "R", "F"} <= set(scores.columns):
        raise DataError("these rows have segments but no R and F scores",
                        fix="pass the output of rfm_scores() or rfm_segments()")
    if not isinstance(scores, pd.DataFrame):
        raise DataError(f"scores must be a DataFrame, got {type(scores).__name__}",
                        fix="pass the output of rfm_scores()")
    if {"since_last", "purchases"} <= set(scores.columns) and not {"R", "F"} <= set(
            scores.columns):
        raise DataError("this is a segmentation summary, not RFM scores",
                        fix="score it first: assign_segments(rfm_scores(summary)), or use "
                        "rfm_segments(summary)")
    needed = {"R": "R (recency score)", "F": "F (frequency score)"}
    if need_m:
        needed["M"] = "M (monetary score; the rules use m_min/m_max)"
    require_columns(scores, needed, what="the scores")
    return scores


def assign_segments(scores: pd.DataFrame, rules: pd.DataFrame | None = None) -> pd.Series:
    """Name each customer's segment from score-range rules.

    Rules are tried by increasing ``order``; a customer gets the segment of the first
    rule whose inclusive ranges contain all of her scores (an empty bound matches any
    score). Overlapping rules are therefore resolved by order. Ranges compare numbers,
    never text, so a rule for R = 5 does not match R = 15 on a 1..15 scale, and R = 1,
    F = 15 is not confused with R = 11, F = 5.

    Parameters
    ----------
    scores : DataFrame
        ``R``, ``F`` (and ``M`` if the rules use it), e.g. from :func:`rfm_scores`.
    rules : DataFrame, optional
        Columns ``segment``, ``order`` and any of ``r_min``, ``r_max``, ``f_min``,
        ``f_max``, ``m_min``, ``m_max`` (``description`` allowed). Several rules may
        share a segment name (a segment made of several boxes). Default:
        :func:`default_segment_rules` for the scores' ``attrs["n_bins"]`` (5 if unset).

    Returns
    -------
    Series
        Named ``segment``, on ``scores``' index, categorical with the segments in rule
        order (empty segments included). ``attrs["n_overlapping"]``: customers matched by
        more than one rule (resolved by order).

    Raises
    ------
    DataError
        Invalid rules (unknown columns, no ``order``, repeated orders, crossed or
        non-integer bounds), or customers no rule matches: the message lists their score
        patterns.

    Examples
    --------
    >>> scores = pd.DataFrame({"R": [5, 1, 3, 5], "F": [5, 1, 3, 1]})
    >>> assign_segments(scores).tolist()
    ['Champions', 'Hibernating/Lost', 'Need Attention', 'New']

    Overlaps are resolved by order: "VIP" (order 1) wins over "Recent" for R = 5, F = 5.

    >>> rules = pd.DataFrame({"segment": ["VIP", "Recent", "Other"], "order": [1, 2, 3],
    ...                       "r_min": [5, 4, None], "f_min": [5, None, None]})
    >>> assign_segments(scores, rules).tolist()
    ['VIP', 'Other', 'Other', 'Recent']
    """
    n_bins = int(scores.attrs.get("n_bins", 5)) if isinstance(scores, pd.DataFrame) else 5
    table = _validate_rules(default_segment_rules(n_bins) if rules is None else rules)
    need_m = bool(table[["m_min", "m_max"]].notna().to_numpy().any())
    _check_scores(scores, need_m)
    cols = ["R", "F", "M"] if need_m else ["R", "F"]
    values = {}
    for col in cols:
        v = pd.to_numeric(scores[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(v) | (v != np.round(v))
        if bad.any():
            raise DataError(f"score column {col!r} has missing or non-integer values",
                            n_rows=int(bad.sum()), example=first_example(scores, bad, cols),
                            fix="pass integer scores from rfm_scores()")
        values[col] = v
    n = len(scores)
    code = np.full(n, -1, dtype=np.int64)
    n_matches = np.zeros(n, dtype=np.int64)
    names = list(dict.fromkeys(table["segment"]))
    for _, rule in table.iterrows():
        match = np.ones(n, dtype=bool)
        for col in cols:
            lo, hi = rule[f"{col.lower()}_min"], rule[f"{col.lower()}_max"]
            if not np.isnan(lo):
                match &= values[col] >= lo
            if not np.isnan(hi):
                match &= values[col] <= hi
        n_matches += match
        code[(code < 0) & match] = names.index(rule["segment"])
    missing = code < 0
    if missing.any():
        raise _gap_error(scores, values, cols, missing, table)
    out = pd.Series(pd.Categorical.from_codes(code, categories=names), index=scores.index,
                    name="segment")
    out.attrs.update(kind="segments", n_overlapping=int((n_matches > 1).sum()))
    return out


def _gap_error(scores: pd.DataFrame, values: dict[str, np.ndarray], cols: list[str],
               missing: np.ndarray, table: pd.DataFrame) -> DataError:
    patterns = pd.DataFrame({c: values[c][missing].astype(int) for c in cols})
    counts = patterns.value_counts().sort_index()
    shown = "; ".join(
        ", ".join(f"{c}={v}" for c, v in zip(cols, key if isinstance(key, tuple) else (key,),
                                             strict=True))
        + f" ({n:,} customer{'' if n == 1 else 's'})"
        for key, n in list(counts.items())[:6])
    more = f"; and {len(counts) - 6} more patterns" if len(counts) > 6 else ""
    hint = ""
    for col in cols:
        top = table[f"{col.lower()}_max"].max()
        if np.isfinite(top) and values[col].max() > top:
            hint = (f"the rules' largest {col} bound is {int(top)} but scores reach "
                    f"{int(values[col].max())}: rules written for another n_bins? Use "
                    "default_segment_rules(n_bins=...) for the scores' scale, or ")
            break
    return DataError(
        f"the segment rules leave {int(missing.sum()):,} customer"
        f"{'' if missing.sum() == 1 else 's'} without a segment; their "
        f"score patterns: {shown}{more}",
        n_rows=int(missing.sum()), example=first_customer(scores.index, missing),
        fix=f"{hint}add rules covering these scores, or end the table with a catch-all rule "
        "(no bounds, largest order) such as 'Other'")


def rfm_segments(
    summary: pd.DataFrame,
    *,
    n_bins: int = 5,
    monetary: str | None = "total_spend",
    bins: RFMBins | None = None,
    rules: pd.DataFrame | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Segmentation summary plus RFM scores plus named segment, in one frame.

    :func:`rfm_scores` followed by :func:`assign_segments` (see both for the details).

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~retention_kit.data.rfm_segmentation_summary`.
    n_bins, monetary, bins, warn
        As in :func:`rfm_scores`.
    rules : DataFrame, optional
        As in :func:`assign_segments`; default :func:`default_segment_rules`.

    Returns
    -------
    DataFrame
        ``summary``'s columns, ``R``, ``F`` (``M``) and ``segment`` (replacing earlier
        scores, so a segmented frame can be re-scored); ``attrs``: the summary's attrs,
        ``kind="rfm_segments"``, ``n_bins`` and ``bins``.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_transactions
    >>> from retention_kit.data import rfm_segmentation_summary
    >>> log = load_cdnow_transactions(sample=True)
    >>> seg = rfm_segments(rfm_segmentation_summary(log, amount_col="amount",
    ...                                             duplicates="keep"), warn=False)
    >>> seg["segment"].value_counts().head(3)
    segment
    Hibernating/Lost    869
    Champions           413
    About to Sleep      349
    Name: count, dtype: int64
    """
    scores = rfm_scores(summary, n_bins=n_bins, monetary=monetary, bins=bins, warn=warn)
    segments = assign_segments(scores, rules)
    base = summary.drop(columns=[c for c in ("R", "F", "M", "segment") if c in summary.columns])
    out = base.join(scores).assign(segment=segments)
    out.attrs = {**summary.attrs, "kind": "rfm_segments", "n_bins": scores.attrs["n_bins"],
                 "bins": scores.attrs["bins"]}
    return out


def segment_grid(rules: pd.DataFrame | None = None, *, n_bins: int = 5,
                 scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The segment of every R×F cell, with the number of customers in it.

    Parameters
    ----------
    rules : DataFrame, optional
        Segment rules (default :func:`default_segment_rules` for ``n_bins``).
    n_bins : int, default 5
        Scale of the grid; taken from ``scores.attrs["n_bins"]`` when present.
    scores : DataFrame, optional
        ``R`` and ``F`` columns (e.g. :func:`rfm_segments` output), to count customers
        per cell.

    Returns
    -------
    DataFrame
        One row per cell: ``R``, ``F``, ``segment`` (the first matching rule; when the
        rules also use M and the cell's segment depends on it, the names joined by " / ";
        "(none)" where no rule matches) and, with ``scores``, ``customers`` and ``share``.
        ``attrs["segments"]``: the names in rule order. Feed it to
        :func:`retention_kit.plots.plot_segment_grid`.

    Examples
    --------
    >>> grid = segment_grid()
    >>> grid.pivot(index="R", columns="F", values="segment").loc[5].tolist()
    ['New', 'Potential Loyalists', 'Potential Loyalists', 'Champions', 'Champions']
    """
    if scores is not None and "n_bins" in getattr(scores, "attrs", {}):
        n_bins = int(scores.attrs["n_bins"])
    n_bins = check_n_bins(n_bins)
    table = _validate_rules(default_segment_rules(n_bins) if rules is None else rules)
    r, f = np.meshgrid(np.arange(1, n_bins + 1), np.arange(1, n_bins + 1), indexing="ij")
    r, f = r.ravel(), f.ravel()
    uses_m = bool(table[["m_min", "m_max"]].notna().to_numpy().any())
    m_values = range(1, n_bins + 1) if uses_m else [1]
    per_m = []
    for m in m_values:
        cell = pd.DataFrame({"R": r, "F": f, "M": m})
        per_m.append(_first_match(table, cell))
    names = []
    for i in range(len(r)):
        found = list(dict.fromkeys(p[i] for p in per_m))
        names.append(" / ".join(found))
    grid = pd.DataFrame({"R": r, "F": f, "segment": names})
    if scores is not None:
        _check_scores(scores, False)
        counts = pd.DataFrame({"R": scores["R"].to_numpy(), "F": scores["F"].to_numpy()})
        counts = counts.value_counts()
        grid["customers"] = [int(counts.get((ri, fi), 0)) for ri, fi in zip(r, f, strict=True)]
        grid["share"] = grid["customers"] / max(len(scores), 1)
    order = list(dict.fromkeys(table["segment"]))
    order += [n for n in dict.fromkeys(names) if n not in order]
    grid.attrs.update(kind="segment_grid", n_bins=n_bins, segments=order)
    return grid


def _first_match(table: pd.DataFrame, cells: pd.DataFrame) -> list[str]:
    out = np.full(len(cells), "(none)", dtype=object)
    done = np.zeros(len(cells), dtype=bool)
    for _, rule in table.iterrows():
        match = ~done
        for col in "RFM":
            lo, hi = rule[f"{col.lower()}_min"], rule[f"{col.lower()}_max"]
            v = cells[col].to_numpy(dtype=float)
            if not np.isnan(lo):
                match &= v >= lo
            if not np.isnan(hi):
                match &= v <= hi
        out[match] = rule["segment"]
        done |= match
    return list(out)


# --------------------------------------------------------------------------- actions


_DEFAULT_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Champions", "loyalty programme",
     "Reward and involve them: early access, referral invitations, ask for reviews; no "
     "discounts needed", "referral rate, repeat purchase rate"),
    ("Loyal", "loyalty programme",
     "Upsell and cross-sell; invite them to the loyalty programme's upper tier",
     "average order value, repeat purchase rate"),
    ("Potential Loyalists", "loyalty programme",
     "Offer membership of the loyalty programme and personalised recommendations",
     "second-to-third purchase conversion"),
    ("New", "customer service",
     "Onboarding nudge: welcome email with how-to content and an easy way to get help",
     "second-purchase rate within 90 days"),
    ("Promising", "personalised communication",
     "Build the habit: recommendations based on the first purchase, a time-limited "
     "offer on the second", "second-purchase rate"),
    ("Need Attention", "personalised communication",
     "Reactivate with a personalised, limited-time offer based on past purchases",
     "reactivation rate"),
    ("About to Sleep", "feedback",
     "Ask what would bring them back (short survey); recommend popular products",
     "survey response rate, reactivation rate"),
    ("At Risk", "customer service",
     "Win-back: check for unresolved service issues, then personalised win-back emails",
     "reactivation rate, complaints resolved"),
    ("Can't Lose Them", "customer service",
     "Personal outreach (call or account manager): find out what went wrong and fix it",
     "win-back rate, revenue recovered"),
    ("Hibernating/Lost", "feedback",
     "Low-cost win-back or leave them out of paid campaigns; survey a sample on why they left",
     "win-back rate vs cost, reasons for leaving"),
)


def default_segment_actions() -> pd.DataFrame:
    """A recommended action for each default segment, mapped to the guides' strategies.

    Each segment gets one of the guides' four strategies (:data:`STRATEGIES`:
    personalised communication, loyalty programme, customer service, feedback), a
    concrete action and what to measure. The measures are for a controlled test against
    a holdout group (notebook 04), one change at a time, as the guides advise.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (the names of :func:`default_segment_rules`), columns
        ``strategy``, ``action`` and ``measure``. Join it to :func:`segment_summary` (or
        pass ``actions=True`` there); a custom table with the same shape works too.

    Examples
    --------
    >>> actions = default_segment_actions()
    >>> actions.loc["Can't Lose Them", "strategy"]
    'customer service'
    >>> sorted(actions["strategy"].unique()) == sorted(STRATEGIES)
    True
    """
    frame = pd.DataFrame(list(_DEFAULT_ACTIONS),
                         columns=["segment", "strategy", "action", "measure"])
    return frame.set_index("segment")


def _check_actions(actions: pd.DataFrame, known: list[str]) -> pd.DataFrame:
    if not isinstance(actions, pd.DataFrame):
        raise DataError(f"actions must be a DataFrame, got {type(actions).__name__}",
                        fix="start from default_segment_actions()")
    table = actions.set_index("segment") if "segment" in actions.columns else actions
    names = [str(n) for n in table.index]
    unknown = [n for n in names if n not in known]
    if unknown:
        hint = suggest_names(unknown[0], known)
        raise DataError(
            f"the action table names segments that do not exist: {unknown}",
            n_rows=len(unknown), example=repr(unknown[0]),
            fix=f"{hint}use the segment names of the rules: {known}")
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][0]
        raise DataError("the action table has two rows for one segment",
                        example=repr(dup), fix="keep one action per segment")
    return table


def segment_summary(
    segmented: pd.DataFrame,
    *,
    value: str | pd.Series | None = None,
    alive: str | pd.Series | None = None,
    actions: pd.DataFrame | bool | None = None,
) -> pd.DataFrame:
    """Size, value share and profile of each segment, optionally with its action.

    Parameters
    ----------
    segmented : DataFrame
        Output of :func:`rfm_segments` (a ``segment`` column; summary columns used when
        present).
    value : str or Series, optional
        Value to share out: a column (default: the scored spend column, e.g.
        ``total_spend``, so past value) or a Series on the same customers (e.g. CLV:
        future value).
    alive : str or Series, optional
        P(alive) per customer; adds ``mean_alive``.
    actions : DataFrame or bool, optional
        True joins :func:`default_segment_actions` (for the segments it knows); a
        DataFrame (indexed by segment or with a ``segment`` column) joins that, and
        segment names it has that are not in ``segmented`` raise (typos).

    Returns
    -------
    DataFrame
        One row per segment, in rule order (empty segments included): ``customers``,
        ``share_customers``, medians of ``since_last``, ``purchases`` and the spend
        column, ``value``, ``share_value`` (of the total), ``mean_alive`` and the action
        columns, as available. ``attrs["value"]`` names the value column.

    Raises
    ------
    DataError
        No ``segment`` column; values missing for some customers; unknown segment names
        in ``actions``.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": pd.Categorical(["Champions", "New", "Champions"],
    ...                                               categories=["Champions", "New"]),
    ...                     "total_spend": [300.0, 20.0, 80.0]})
    >>> segment_summary(seg)[["customers", "share_customers", "value", "share_value"]]
               customers  share_customers  value  share_value
    segment
    Champions          2         0.666667  380.0         0.95
    New                1         0.333333   20.0         0.05
    """
    if not isinstance(segmented, pd.DataFrame) or "segment" not in segmented.columns:
        raise DataError("segment_summary needs a DataFrame with a 'segment' column",
                        fix="pass the output of rfm_segments(summary)")
    seg = segmented["segment"]
    if not isinstance(seg.dtype, pd.CategoricalDtype):
        seg = seg.astype("category")
    names = [str(c) for c in seg.cat.categories]
    codes = seg.cat.codes.to_numpy()
    k = len(names)
    out = pd.DataFrame(index=pd.Index(names, name="segment"))
    counts = np.bincount(codes[codes >= 0], minlength=k)
    out["customers"] = counts
    out["share_customers"] = counts / len(segmented)
    bins = segmented.attrs.get("bins")
    spend_col = getattr(bins, "monetary_column", None) or (
        "total_spend" if "total_spend" in segmented.columns else None)
    for col in ("since_last", "purchases", spend_col):
        if col is not None and col in segmented.columns:
            out[f"median_{col}"] = (segmented.groupby(seg, observed=False)[col].median()
                                    .reindex(seg.cat.categories).to_numpy())
    if value is None:
        value = spend_col
    value_name = value if isinstance(value, str) or value is None else (
        str(value.name) if getattr(value, "name", None) is not None else "value")
    if value is not None:
        v = customer_values(segmented, value, segmented.index, "value")
        totals = np.bincount(codes, weights=v, minlength=k)
        out["value"] = totals
        out["share_value"] = totals / v.sum() if v.sum() != 0 else np.nan
    if alive is not None:
        a = customer_values(segmented, alive, segmented.index, "alive")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean_alive"] = np.bincount(codes, weights=a, minlength=k) / counts
    if actions is not None and actions is not False:
        if actions is True:  # the default table, for the default segments present
            table = default_segment_actions()
            table = table[table.index.isin(names)]
        else:
            table = _check_actions(actions, names)
        out = out.join(table)
    out.attrs.update(kind="segment_summary", value=value_name)
    return out
