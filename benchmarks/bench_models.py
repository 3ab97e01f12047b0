"""Fit and CLV speed of retention_kit's models against lifetimes 0.11.3, in the same run.

Run by hand: ``.venv/bin/python benchmarks/bench_models.py [--quick]``.

Customers are drawn from the BG/NBD process at the CDNOW estimates (r 0.243, alpha 4.414,
a 0.793, b 2.426 per week) with Gamma-Gamma spend (p 6.25, q 3.74, gamma 15.44), aged
27-39 weeks like the CDNOW calibration sample. Real summaries come from transaction logs
dated to the day, so ``recency`` and ``T`` are whole days expressed in weeks (multiples of
1/7); that is what lets a fit run on the distinct histories. Each line prints both times
and the ratio lifetimes / retention_kit; nothing is asserted (timings flake on shared
machines). ``--quick`` skips the sizes at which lifetimes takes minutes.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from retention_kit.clv import customer_lifetime_value
from retention_kit.datasets import simulate_summary
from retention_kit.models import BGNBD, GammaGamma

SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def daily_resolution_summary(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = rng.integers(27 * 7, 39 * 7 + 1, n) / 7
    s = simulate_summary(n, T=ages, spend=SPEND, random_state=seed)
    s["recency"] = np.where(s["frequency"] > 0,
                            np.minimum(np.maximum(np.ceil(s["recency"] * 7), 1) / 7, s["T"]), 0.0)
    s.attrs["time_unit"] = "W"
    return s


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def line(task: str, n: int, ours: float, theirs: float | None) -> None:
    ratio = f"{theirs / ours:8.1f}x" if theirs is not None else "       -"
    peer = f"{theirs:10.2f}" if theirs is not None else "         -"
    print(f"{task:<24} {n:>10,} {ours:>10.3f} {peer} {ratio}", flush=True)


def bench_size(lifetimes, n: int) -> None:
    data = daily_resolution_summary(n, seed=1)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    lbg = lifetimes.BetaGeoFitter()
    line("BG/NBD fit", n, timed(lambda: BGNBD().fit(data)), timed(lambda: lbg.fit(x, t_x, T)))

    repeat = data[data["frequency"] > 0]
    lgg = lifetimes.GammaGammaFitter()
    line("Gamma-Gamma fit", len(repeat), timed(lambda: GammaGamma().fit(repeat)),
         timed(lambda: lgg.fit(repeat["frequency"], repeat["monetary_value"])))

    # Both CLVs from the same parameters (ours), so they compute the same numbers.
    bg, gg = BGNBD().fit(data), GammaGamma().fit(repeat)
    lbg.params_ = pd.Series(bg.params_.to_dict())
    lgg.params_ = pd.Series(gg.params_.to_numpy(), index=["p", "q", "v"])
    line("CLV 12 months", n,
         timed(lambda: customer_lifetime_value(bg, gg, data, time_unit="W", horizon=12,
                                               discount_period="M", discount_rate=0.01)),
         timed(lambda: lgg.customer_lifetime_value(lbg, x, t_x, T, data["monetary_value"],
                                                   time=12, discount_rate=0.01, freq="W")))


def bench_pareto(lifetimes, n: int) -> None:
    from retention_kit.models import ParetoNBD

    data = daily_resolution_summary(n, seed=2)
    line("Pareto/NBD fit", n, timed(lambda: ParetoNBD().fit(data)),
         timed(lambda: lifetimes.ParetoNBDFitter().fit(data["frequency"], data["recency"],
                                                       data["T"])))


def main(quick: bool) -> None:
    import lifetimes

    warnings.simplefilter("ignore")  # lifetimes' pandas-3 deprecation noise, this script only
    print(f"{'task':<24} {'customers':>10} {'ours s':>10} {'lifetimes s':>10} {'ratio':>9}")
    for n in [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]:
        bench_size(lifetimes, n)
    for n in [10_000] if quick else [10_000, 100_000]:
        bench_pareto(lifetimes, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slowest sizes")
    main(parser.parse_args().quick)
