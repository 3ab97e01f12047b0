"""Customer clusters and persona cards.

Clusters and personas (:func:`cluster_customers`, :func:`cluster_profiles`, :func:`persona_cards`)
    k-means on log-transformed, standardised features, k chosen by silhouette, a stability
    check across seeds (adjusted Rand index), and persona cards whose narrative is a
    *hypothesis* to validate with customer research.

scikit-learn is imported inside the clustering functions only, so importing this module
stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ._common import check_segmentation_summary, fmt_number, require_columns

__all__ = [
    "ClusterResult",
    "cluster_customers",
    "cluster_profiles",
    "persona_cards",
]

_UNIT_WORDS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}


# --------------------------------------------------------------------------- clustering


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """Outcome of :func:`cluster_customers`.

    Attributes
    ----------
    labels : Series
        Cluster 1..k per customer, numbered by decreasing size.
    k : int
        Number of clusters chosen (largest silhouette) or given.
    silhouette : Series
        Mean silhouette width by k (on a sample of at most ``silhouette_sample``
        customers); from -1 to 1, above about 0.5 a clear structure, below 0.25 weak.
    stability : Series
        Adjusted Rand index between the chosen clustering and a rerun with each other
        seed (1 = identical partitions); a mean below 0.8 means the clusters depend on
        the seed: treat them as fragile.
    centers : DataFrame
        Cluster centres in the standardised (log) units k-means worked in.
    features : tuple of str
        Columns clustered.
    log_features : tuple of str
        Those transformed with log1p before standardising.
    random_state : int
    """

    labels: pd.Series
    k: int
    silhouette: pd.Series
    stability: pd.Series
    centers: pd.DataFrame
    features: tuple[str, ...]
    log_features: tuple[str, ...]
    random_state: int

    def __repr__(self) -> str:
        return (f"ClusterResult(k={self.k}, silhouette={self.silhouette[self.k]:.3f}, "
                f"stability={self.stability.mean():.3f}, n={len(self.labels):,})")


def _feature_matrix(data: pd.DataFrame, features: Sequence[str],
                    ) -> tuple[np.ndarray, tuple[str, ...]]:
    logged = []
    columns = []
    for col in features:
        v = data[col].to_numpy(dtype=float)
        if v.min() >= 0 and v.max() > 1:
            v = np.log1p(v)
            logged.append(col)
        columns.append(v)
    x = np.column_stack(columns)
    sd = x.std(axis=0)
    constant = np.ptp(x, axis=0) == 0
    if constant.any():
        col = features[int(np.flatnonzero(constant)[0])]
        raise DataError(f"column {col!r} has the same value for every customer, so it cannot "
                        "separate clusters", n_rows=len(data),
                        fix=f"drop {col!r} from features")
    return (x - x.mean(axis=0)) / sd, tuple(logged)


def cluster_customers(
    data: pd.DataFrame,
    *,
    features: Sequence[str] = ("since_last", "purchases", "total_spend"),
    k: int | None = None,
    k_range: Sequence[int] = range(2, 9),
    random_state: int = 0,
    n_seeds: int = 5,
    n_init: int = 4,
    silhouette_sample: int = 3000,
) -> ClusterResult:
    """k-means clusters of customers, k chosen by silhouette, with a stability check.

    Each feature with values above 1 (counts, days, money: right-skewed) is transformed
    with ``log1p``; features within [0, 1] (probabilities such as P(alive)) are kept as
    they are. Then every feature is standardised (mean 0, sd 1) so that none dominates
    by its unit. k-means runs for each k in ``k_range`` and the k with the largest mean
    silhouette width wins (ties: the smaller k). The chosen clustering is rerun with
    ``n_seeds - 1`` other seeds and compared by the adjusted Rand index.

    Deterministic given ``random_state``. Runtime grows with customers × k; the
    silhouette is computed on a random sample of ``silhouette_sample`` customers.

    Parameters
    ----------
    data : DataFrame
        One row per customer, e.g. the segmentation summary, optionally joined with CLV
        and P(alive) columns.
    features : sequence of str, default ("since_last", "purchases", "total_spend")
        Columns to cluster on (add e.g. "clv" and "p_alive").
    k : int, optional
        Fix the number of clusters instead of choosing it.
    k_range : sequence of int, default range(2, 9)
        Candidates for k.
    random_state : int, default 0
        Seed of k-means and of the silhouette sample.
    n_seeds : int, default 5
        Runs compared for the stability check (the chosen one included).
    n_init : int, default 4
        k-means restarts per run (the best is kept).
    silhouette_sample : int, default 3000
        Customers sampled for each silhouette.

    Returns
    -------
    ClusterResult

    Raises
    ------
    DataError
        BTYD summary passed for the default features, missing, negative or non-numeric
        features, a constant feature, fewer customers (distinct rows) than clusters.

    Examples
    --------
    >>> from retention_kit.datasets import load_cdnow_transactions
    >>> from retention_kit.data import rfm_segmentation_summary
    >>> summary = rfm_segmentation_summary(load_cdnow_transactions(sample=True),
    ...                                    amount_col="amount", duplicates="keep")
    >>> result = cluster_customers(summary, k_range=range(2, 5), random_state=1)
    >>> result.k, round(float(result.silhouette[result.k]), 2), result.labels.nunique()
    (2, 0.5..., 2)
    """
    features = tuple(features)
    if len(features) == 0:
        raise ValueError("features must name at least one column")
    check_segmentation_summary(data, {c: f"{c} (a clustering feature)" for c in features},
                                what="clustering")
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    x, logged = _feature_matrix(data, features)
    candidates = [int(k)] if k is not None else sorted({int(c) for c in k_range})
    if not candidates or min(candidates) < 2:
        raise DataError(f"k and k_range must be whole numbers >= 2, got k={k!r}, "
                        f"k_range={list(k_range)!r}",
                        fix="one cluster is the whole base: pass k=2 or more, or "
                        "k_range=range(2, 7) to let the silhouette choose")
    n_distinct = len(np.unique(x, axis=0))
    if max(candidates) > n_distinct:
        raise DataError(f"there are fewer distinct customers ({n_distinct}) than clusters "
                        f"({max(candidates)})", n_rows=len(data),
                        fix=f"use k <= {n_distinct} or more customers")
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds!r}")
    sample = min(int(silhouette_sample), len(x))

    def run(n_clusters: int, seed: int) -> np.ndarray:
        model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
        return model.fit_predict(x)

    fits = {c: run(c, random_state) for c in candidates}
    sil = pd.Series({c: float(silhouette_score(x, fits[c], sample_size=sample,
                                               random_state=random_state))
                     for c in candidates}, name="silhouette")
    sil.index.name = "k"
    best = int(sil.idxmax())
    labels = _relabel_by_size(fits[best], x)
    stability = pd.Series({random_state + s: float(adjusted_rand_score(
        labels, run(best, random_state + s))) for s in range(1, n_seeds)},
        name="adjusted_rand_index", dtype=float)
    stability.index.name = "seed"
    centers = pd.DataFrame([x[labels == c].mean(axis=0) for c in range(1, best + 1)],
                           index=pd.RangeIndex(1, best + 1, name="cluster"),
                           columns=list(features))
    return ClusterResult(labels=pd.Series(labels, index=data.index, name="cluster"), k=best,
                         silhouette=sil, stability=stability, centers=centers,
                         features=features, log_features=logged, random_state=random_state)


def _relabel_by_size(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Clusters numbered 1..k by decreasing size (ties: by centre coordinates)."""
    ids = np.unique(labels)
    keys = sorted(ids, key=lambda c: (-(labels == c).sum(), *x[labels == c].mean(axis=0)))
    mapping = {int(old): new for new, old in enumerate(keys, start=1)}
    return np.array([mapping[int(c)] for c in labels], dtype=np.int64)


def cluster_profiles(data: pd.DataFrame, labels: pd.Series, *,
                     columns: Sequence[str] | None = None,
                     alive: str | None = None) -> pd.DataFrame:
    """Size and median profile of each cluster (or any grouping).

    Parameters
    ----------
    data : DataFrame
        One row per customer.
    labels : Series
        Cluster per customer (``ClusterResult.labels``), on ``data``'s index.
    columns : sequence of str, optional
        Columns summarised by their median. Default: those of ``since_last``,
        ``purchases``, ``total_spend`` and ``clv`` present in ``data``.
    alive : str, optional
        A P(alive) column, summarised by its mean (the expected share still active).

    Returns
    -------
    DataFrame
        Indexed by cluster: ``customers``, ``share_customers``, one ``median_<col>`` per
        column and ``mean_alive``. ``attrs["overall"]``: the medians over all customers.

    Examples
    --------
    >>> data = pd.DataFrame({"since_last": [10.0, 20, 300, 400], "purchases": [5, 7, 1, 1]})
    >>> cluster_profiles(data, pd.Series([1, 1, 2, 2]))
             customers  share_customers  median_since_last  median_purchases
    cluster
    1                2              0.5               15.0               6.0
    2                2              0.5              350.0               1.0
    """
    if not isinstance(data, pd.DataFrame) or not isinstance(labels, pd.Series):
        raise DataError("cluster_profiles needs a DataFrame and a Series of labels",
                        fix="pass (data, cluster_customers(data).labels)")
    if not labels.index.equals(data.index):
        if labels.index.isin(data.index).all() and data.index.isin(labels.index).all():
            labels = labels.reindex(data.index)
        else:
            raise DataError("labels and data are not on the same customers",
                            n_rows=int((~data.index.isin(labels.index)).sum()),
                            fix="pass labels indexed by the customers of data")
    if columns is None:
        columns = [c for c in ("since_last", "purchases", "total_spend", "clv")
                   if c in data.columns]
    require_columns(data, {c: f"{c} (a profile column)" for c in columns}, what="the data")
    groups = data.groupby(labels.rename("cluster").to_numpy(), sort=True)
    out = pd.DataFrame({"customers": groups.size()})
    out.index.name = "cluster"
    out["share_customers"] = out["customers"] / len(data)
    for col in columns:
        out[f"median_{col}"] = groups[col].median()
    if alive is not None:
        require_columns(data, {alive: "alive (a P(alive) column)"}, what="the data")
        out["mean_alive"] = groups[alive].mean()
    out.attrs.update(kind="cluster_profiles",
                     overall={c: float(data[c].median()) for c in columns})
    return out


def _share_below(values: np.ndarray, x: float) -> float:
    return float(np.mean(values < x))


def persona_cards(
    data: pd.DataFrame,
    labels: pd.Series,
    *,
    recency: str = "since_last",
    frequency: str = "purchases",
    monetary: str | None = "total_spend",
    value: str | None = None,
    alive: str | None = None,
) -> pd.DataFrame:
    """Persona cards for clusters: a descriptive name, the facts, and a *hypothesis*.

    The name comes from where the cluster's median sits among all customers, as the share
    p of customers with a lower value. Time since the last purchase: "very recent"
    (p < 10 %), "recent" (< 1/3), "cooling" (< 2/3), "lapsed" (< 90 %), "long-lapsed".
    Purchases: "one-time" (median of one purchase), "occasional", "frequent" (p >= 2/3),
    "very frequent" (p >= 90 %). Spend: "low-spend" (p < 1/3), "mid-spend", "high-spend"
    (p >= 2/3), "top-spend" (p >= 90 %). Two clusters with the same name get their
    number appended. The narrative says what the numbers *might* mean and is marked as a
    hypothesis: behaviour data show what customers did, not why. Each card suggests how
    to validate it (interviews, NPS/CES surveys, service records).

    Parameters
    ----------
    data : DataFrame
        One row per customer, with the recency, frequency (and spend) columns.
    labels : Series
        Cluster per customer.
    recency, frequency, monetary : str
        Column names (segmentation summary by default); ``monetary=None`` to skip spend.
    value, alive : str, optional
        A CLV and a P(alive) column to quote on the card.

    Returns
    -------
    DataFrame
        Indexed by cluster: ``persona``, ``customers``, ``share_customers``, ``facts``,
        ``hypothesis`` (starts with "Hypothesis to validate:"), ``validate_with`` and
        ``status`` ("hypothesis, not validated").

    Examples
    --------
    >>> data = pd.DataFrame({"since_last": [10.0, 20, 15, 300, 400, 350],
    ...                      "purchases": [5, 7, 6, 1, 1, 1],
    ...                      "total_spend": [200.0, 300, 250, 20, 30, 25]})
    >>> cards = persona_cards(data, pd.Series([1, 1, 1, 2, 2, 2]))
    >>> cards["persona"].tolist()
    ['Recent, frequent, high-spend customers', 'Lapsed, one-time, low-spend customers']
    >>> print(cards.loc[2, "hypothesis"])
    Hypothesis to validate: one-off buyers (a gift, a single need) who may never have
    meant to come back.
    """
    columns = [recency, frequency] + ([monetary] if monetary else [])
    extra = [c for c in (value,) if c]
    profiles = cluster_profiles(data, labels, columns=columns + extra, alive=alive)
    rows = []
    unit = _UNIT_WORDS.get(str(data.attrs.get("time_unit")), "time units")
    r_all = data[recency].to_numpy(dtype=float)
    f_all = data[frequency].to_numpy(dtype=float)
    m_all = data[monetary].to_numpy(dtype=float) if monetary else None
    for cluster, p in profiles.iterrows():
        r_med, f_med = p[f"median_{recency}"], p[f"median_{frequency}"]
        r_pos = _share_below(r_all, r_med)  # share of customers who bought more recently
        r_word = ("very recent" if r_pos < 0.1 else "recent" if r_pos < 1 / 3
                  else "cooling" if r_pos < 2 / 3 else "lapsed" if r_pos < 0.9
                  else "long-lapsed")
        f_pos = _share_below(f_all, f_med)
        f_word = ("one-time" if f_med <= 1 else "very frequent" if f_pos >= 0.9
                  else "frequent" if f_pos >= 2 / 3 else "occasional")
        words = [r_word, f_word]
        if m_all is not None:
            m_pos = _share_below(m_all, p[f"median_{monetary}"])
            words.append("top-spend" if m_pos >= 0.9 else "high-spend" if m_pos >= 2 / 3
                         else "mid-spend" if m_pos >= 1 / 3 else "low-spend")
        persona = ", ".join(words).capitalize() + " customers"
        n_purchases = fmt_number(f_med)
        facts = (f"{int(p['customers']):,} customers ({p['share_customers']:.0%}); median "
                 f"{fmt_number(round(r_med, 1))} {unit} since the last purchase, {n_purchases} "
                 f"purchase{'' if n_purchases == '1' else 's'}")
        if m_all is not None:
            facts += f", {fmt_number(round(p[f'median_{monetary}'], 2))} spent"
        if value:
            facts += f"; median {value} {fmt_number(round(p[f'median_{value}'], 2))}"
        if alive:
            facts += f"; mean P(alive) {p['mean_alive']:.2f}"
        story, check = _narrative(r_word.split()[-1].replace("long-", ""),
                                  f_word.split()[-1])
        rows.append({"cluster": cluster, "persona": persona,
                     "customers": int(p["customers"]),
                     "share_customers": float(p["share_customers"]), "facts": facts,
                     "hypothesis": f"Hypothesis to validate: {story}.",
                     "validate_with": check, "status": "hypothesis, not validated"})
    cards = pd.DataFrame(rows).set_index("cluster")
    repeated = cards["persona"].duplicated(keep=False)
    cards.loc[repeated, "persona"] = [f"{persona} (cluster {c})" for persona, c in
                                      zip(cards.loc[repeated, "persona"], cards.index[repeated],
                                          strict=True)]
    return cards


def _narrative(r_word: str, f_word: str) -> tuple[str, str]:
    if f_word == "one-time":
        if r_word == "recent":
            return ("newcomers still finding out whether the product meets their need",
                    "onboarding survey: what did they come for, and was it easy (CES)?")
        return ("one-off buyers (a gift, a single need) who may never have meant to come back",
                "short survey of a sample on why they bought once; compare acquisition "
                "channels")
    if r_word == "lapsed":
        return ("former regulars who may have switched to a competitor or whose need ended",
                "exit interviews or calls: why did they stop? Check service tickets first")
    if f_word == "frequent" and r_word == "recent":
        return ("enthusiasts for whom the product solves a recurring need",
                "NPS survey and a few interviews: what do they value, would they refer "
                "others?")
    return ("occasional buyers whose purchases follow a periodic or seasonal need",
            "look at purchase timing and ask about their needs in a short survey")
