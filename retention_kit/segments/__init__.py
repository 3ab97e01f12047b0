"""Customer segmentation: RFM scores, named segments, CLV tiers, clusters, migration.

Everything here starts from one row per customer:

* the *segmentation* summary of :func:`~retention_kit.data.rfm_segmentation_summary`
  (``since_last``, ``purchases``, ``tenure``, ``total_spend``, ``mean_spend``) for RFM
  scores, named segments, clusters and migration. The BTYD summary (``frequency``,
  ``recency``, ``T``) is refused with an error saying which function to use: its
  frequency leaves out the first purchase and its recency runs the other way;
* predictions of the models (CLV, P(alive)) for CLV tiers and, optionally, clusters.

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
CLV tiers (:func:`clv_tiers`, :func:`clv_tier_summary`, :func:`concentration_curve`)
    Forward-looking value: customers ranked by predicted CLV into top 1 %, 5 %, 20 %
    and the rest (or deciles), with each tier's share of customers and of value.
Clusters and personas (:func:`cluster_customers`, :func:`cluster_profiles`, :func:`persona_cards`)
    k-means on log-transformed, standardised features, k chosen by silhouette, a stability
    check across seeds (adjusted Rand index), and persona cards whose narrative is a
    *hypothesis* to validate with customer research.
Migration (:func:`segment_migration`, :func:`migration_from_transactions`)
    The transition matrix of segments between two snapshots, scored with the same bins.
    Customers acquired in between form a "(new customer)" row; customers who stop buying
    stay in the matrix and drift, through their recency score, to At Risk or
    Hibernating/Lost; a "(not active)" column counts customers missing from the second
    snapshot (empty for cumulative snapshots of one log).

The code lives in one module per concept: :mod:`~retention_kit.segments.rfm` (scores,
rules, named segments, summaries), :mod:`~retention_kit.segments.tiers` (CLV tiers),
:mod:`~retention_kit.segments.clusters` (clusters, personas) and
:mod:`~retention_kit.segments.migration`; import the names from here. scikit-learn is
imported inside the clustering functions only, so importing this package stays light.
Nothing here prints or modifies its inputs.
"""

from __future__ import annotations

from .clusters import ClusterResult, cluster_customers, cluster_profiles, persona_cards
from .migration import SegmentMigration, migration_from_transactions, segment_migration
from .rfm import (
    STRATEGIES,
    RFMBins,
    RFMTiesWarning,
    assign_segments,
    default_segment_actions,
    default_segment_rules,
    rfm_scores,
    rfm_segments,
    segment_grid,
    segment_summary,
)
from .tiers import clv_tier_summary, clv_tiers, concentration_curve

__all__ = [
    "STRATEGIES",
    "ClusterResult",
    "RFMBins",
    "RFMTiesWarning",
    "SegmentMigration",
    "assign_segments",
    "cluster_customers",
    "cluster_profiles",
    "clv_tier_summary",
    "clv_tiers",
    "concentration_curve",
    "default_segment_actions",
    "default_segment_rules",
    "migration_from_transactions",
    "persona_cards",
    "rfm_scores",
    "rfm_segments",
    "segment_grid",
    "segment_migration",
    "segment_summary",
]
