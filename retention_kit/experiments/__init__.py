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

The package is split by concept: :mod:`.design`, :mod:`.ab_tests`, :mod:`.survival`,
:mod:`.uplift` and :mod:`.economics`, with the argument checks they share in one internal
module, ``_args``. Every public name is imported here: import them from
``retention_kit.experiments``.

Every result is a small frozen dataclass holding DataFrames, never a bare float.
statsmodels, scikit-learn and lifelines are imported inside the functions, so
``import retention_kit.experiments`` stays light. Nothing here prints, and all
randomness comes from a ``random_state`` argument.
"""

from __future__ import annotations

# Correction and SizeMethod (type aliases of the correction= and method= options) are
# importable from here as before, without being in __all__.
from .ab_tests import Correction as Correction
from .ab_tests import (
    CupedResult,
    Effect,
    RetentionTest,
    cuped,
    retained_at_horizon,
    retention_test,
)
from .design import (
    PeekingResult,
    SampleSize,
    achieved_power,
    minimum_detectable_effect,
    peeking_simulation,
    sample_size,
)
from .design import SizeMethod as SizeMethod
from .economics import (
    ChurnReductionProjection,
    ProgrammeROI,
    churn_reduction_value,
    clv_by_retention,
    portfolio_churn_reduction,
    programme_roi,
    project_churn_reduction,
    roi_sensitivity,
    shift_dropout,
)
from .survival import SurvivalComparison, compare_survival
from .uplift import (
    UpliftModel,
    UpliftResult,
    curve_area,
    qini_curve,
    uplift_analysis,
    uplift_segments,
)

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
