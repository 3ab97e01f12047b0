"""The simulations behind the diagnostics' thresholds: run them and print what they show.

Run by hand: ``.venv/bin/python benchmarks/calibrate_verdicts.py [--seeds N]``.

Every threshold in :mod:`retention_kit.diagnostics` is documented in its function's
docstring; the ones justified by simulation are measured here on seeded data with known
truth, so the claims in the docstrings can be re-checked:

1. **identification**: 2,000 BG/NBD customers with slow dropout (r 0.5, alpha 5, a 1,
   b 30 per week), acquired uniformly over windows of 12 to 60 months; the spread
   (upper / lower of the 95% interval) of the dropout and purchase-rate parameters, and
   the verdicts they get (ok <= 10, caution <= 100, unreliable above or no interval).
2. **holdout fit**: a correctly specified BG/NBD (CDNOW truth, 2,000 customers, nine
   months of acquisition, calibration to month 12, six-month holdout): the |tracking
   error| and the worst frequency-group error a right model makes by chance.
3. **left truncation**: 6,000 CDNOW-like customers acquired over 2020-2024; the first
   cohort's size ratio and retention lift on the whole log and on the log cut at 2024.
4. **seasonality**: three years with and without a Christmas peak; the holdout
   (October-December) seasonal shift.

Nothing is asserted; the tests assert the verdicts on single seeds.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from retention_kit.data import calibration_holdout_split, rfm_summary
from retention_kit.diagnostics import holdout_seasonality, identification, left_truncation
from retention_kit.diagnostics.holdout_fit import FIT_CAUTION, FIT_OK, GROUP_CAUTION
from retention_kit.diagnostics.truncation import RETENTION_LIFT, SIZE_RATIO
from retention_kit.errors import ConvergenceError
from retention_kit.evaluation import holdout_by_frequency, holdout_evaluation
from retention_kit.models import BGNBD
from retention_kit.simulate import simulate_transactions

SLOW = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 30.0}


def q(values: list[float], probs: tuple[float, ...] = (0.5, 0.9, 1.0)) -> str:
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.inf)  # no interval counts as infinitely wide
    return ", ".join(f"q{int(p * 100)} {np.quantile(v, p, method='inverted_cdf'):.3g}"
                     for p in probs)


def identification_by_window(seeds: int) -> None:
    print("1. identification: slow-dropout BG/NBD, 2,000 customers")
    for months in (12, 24, 48, 60):
        end = (pd.Timestamp("2024-01-01") + pd.DateOffset(months=months)
               - pd.Timedelta(days=1)).date()
        verdicts, spread, rate, failed = [], [], [], 0
        for seed in range(seeds):
            log = simulate_transactions(2000, start="2024-01-01", end=str(end), params=SLOW,
                                        random_state=seed)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = BGNBD().fit(rfm_summary(log, time_unit="W", duplicates="keep"))
            except ConvergenceError:
                failed += 1
                continue
            by = {f.check: f for f in identification(model)}
            verdicts.append(by["dropout identified"].verdict)
            spread.append(by["dropout identified"].value)
            rate.append(by["purchase rate identified"].value)
        counts = pd.Series(verdicts).value_counts().to_dict()
        print(f"  {months:2d} months: dropout verdicts {counts}, fits failed {failed}; "
              f"dropout spread {q(spread)}; purchase-rate spread {q(rate)}")


def holdout_noise(seeds: int) -> None:
    print(f"2. holdout fit of the true model (ok <= {FIT_OK:.0%}, caution <= {FIT_CAUTION:.0%};"
          f" groups caution above {GROUP_CAUTION:.0%})")
    agg, worst = [], []
    for seed in range(seeds):
        log = simulate_transactions(2000, start="2024-01-01", end="2025-06-30",
                                    acquisition_end="2024-09-30", random_state=seed)
        split = calibration_holdout_split(log, calibration_end="2024-12-31", time_unit="W",
                                          duplicates="keep")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = BGNBD().fit(split)
        except ConvergenceError:
            continue
        ev = holdout_evaluation(model, split)
        agg.append(abs(ev.metrics["tracking_error"]))
        g = holdout_by_frequency(ev, split)
        g = g[(g["customers"] >= 100) & (g["actual"] > 0)]
        worst.append(float((g["predicted"] / g["actual"] - 1).abs().max()))
    agg_a = np.asarray(agg)
    print(f"  |tracking error| {q(agg)}; share ok {np.mean(agg_a <= FIT_OK):.0%}, "
          f"within caution {np.mean(agg_a <= FIT_CAUTION):.0%}")
    print(f"  worst frequency-group |error| {q(worst)}; share above the group threshold "
          f"{np.mean(np.asarray(worst) > GROUP_CAUTION):.0%}")


def truncation(seeds: int) -> None:
    print(f"3. left truncation (size ratio >= {SIZE_RATIO}, retention lift >= {RETENTION_LIFT})")
    rows = []
    for seed in range(seeds):
        log = simulate_transactions(6000, start="2020-01-01", end="2024-12-31",
                                    random_state=seed)
        for name, part in (("whole log", log), ("cut at 2024", log[log["date"] >= "2024-01-01"])):
            f = left_truncation(part)
            lift = float(f.reason.split("retention is ")[1].split(" times")[0]) \
                if "times theirs" in f.reason else np.nan
            rows.append({"log": name, "size_ratio": f.value, "lift": lift,
                         "verdict": f.verdict})
    df = pd.DataFrame(rows)
    for name, g in df.groupby("log", sort=False):
        print(f"  {name}: size ratio {q(g['size_ratio'].tolist(), (0.0, 0.5, 1.0))}; lift "
              f"{q(g['lift'].tolist(), (0.0, 0.5, 1.0))}; verdicts "
              f"{g['verdict'].value_counts().to_dict()}")


def seasonality(seeds: int) -> None:
    print("4. holdout seasonality (Oct-Dec holdout; caution above 10%)")
    season = [0.8, 0.8, 0.9, 0.9, 1, 1, 1, 1, 1, 1.1, 1.6, 2.0]
    for label, s in (("flat", None), ("Christmas peak", season)):
        values = []
        for seed in range(seeds):
            log = simulate_transactions(3000, start="2022-01-01", end="2024-12-31",
                                        seasonality=s, random_state=seed)
            values.append(holdout_seasonality(log, calibration_end="2024-09-30").value)
        print(f"  {label}: shift {q(values, (0.0, 0.5, 1.0))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    seeds = parser.parse_args().seeds
    identification_by_window(seeds)
    holdout_noise(2 * seeds)
    truncation(seeds)
    seasonality(max(seeds // 2, 3))


if __name__ == "__main__":
    main()
