"""Seconds of the marketplace demo's ``forecast_clv`` (12 months), with the CLV intervals'
bootstrap as it was (old path) and as it is (new path), in the same run.

Run by hand: ``.venv/bin/python benchmarks/bench_clv_interval.py [--path both|old|new]
[--horizon 12] [--draws 200]``. The marketplace's forecast is MBG/NBD with a = 7.8, so
its expected purchases integrate over the dropout probability (quadrature in logit p).

* old path: one model call per bootstrap draw on every sub-step stacked (12 × the distinct
  histories, validated each time), and the quadrature nodes laid out and summed for each
  distinct (frequency, T, horizon) key: ``clv._drawn_purchases`` and
  ``bgnbd._expected_given_alive`` are replaced by their previous versions (below);
* new path: ``expected_purchases_draws`` (data validated once, P(alive) once per draw,
  the nodes once per draw and frequency for all draws in one call) and, per draw and
  frequency, the mean over dropout interpolated in log(1 + u) from 24 Chebyshev points.

Printed: the seconds (wall and CPU) of each path, and with both the largest relative
difference of ``clv``, ``clv_lower`` and ``clv_upper`` between them. The library's modules
are imported before the clock starts. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.special import hyp2f1

import retention_kit.diagnostics  # noqa: F401  (imported before timing)
from retention_kit import clv
from retention_kit.datasets import data_dir
from retention_kit.models import bgnbd
from retention_kit.reports import forecast_clv, load_client


def _old_drawn_purchases(model: Any, frame: Any, times: np.ndarray, discount: np.ndarray,
                         draws: np.ndarray) -> np.ndarray:
    """The bootstrap loop before ``expected_purchases_draws``: a copy per draw."""
    stacked = clv._stacked_if_supported(model, frame, times)
    out = np.empty((len(draws), len(frame)))
    for i, params in enumerate(draws):
        out[i] = clv._discounted(clv._cumulative_purchases(
            clv.with_params(model, params), frame, times, stacked), discount)
    return out


def _old_expected_given_alive(params: np.ndarray, t: Any, x: np.ndarray, T: np.ndarray,
                              modified: bool) -> np.ndarray:
    """``_expected_given_alive`` before the nodes were shared: quadrature per key."""
    r, alpha, a, b = params
    shift = 1.0 if modified else 0.0
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    keys, inverse = np.unique(np.column_stack([x.ravel(), T.ravel(), t.ravel()]), axis=0,
                              return_inverse=True)
    xu, Tu, tu = keys.T
    if a >= bgnbd.A_QUADRATURE:
        values = bgnbd._mean_over_dropout(a, b + xu + shift, r + xu, tu / (alpha + Tu))
    else:
        c = a + b + xu - 1 + shift
        z = tu / (alpha + Tu + tu)
        with np.errstate(all="ignore"):
            hyp = hyp2f1(c - r - xu, a - 1, c, z)
            values = c / (a - 1) * -np.expm1((a - 1) * np.log1p(-z) + np.log(hyp))
        bad = ~np.isfinite(values) | (values < 0) | (abs(a + b - 1 + shift - r) > 1e3)
        if bad.any():
            values[bad] = bgnbd._mean_over_dropout(a, b + xu[bad] + shift, r + xu[bad],
                                                   tu[bad] / (alpha + Tu[bad]))
    return values[inverse.reshape(-1)].reshape(x.shape)


@contextlib.contextmanager
def _old_path() -> Iterator[None]:
    saved = clv._drawn_purchases, bgnbd._expected_given_alive
    clv._drawn_purchases = _old_drawn_purchases
    bgnbd._expected_given_alive = _old_expected_given_alive
    try:
        yield
    finally:
        clv._drawn_purchases, bgnbd._expected_given_alive = saved


def _timed(client: Any, horizon: int, draws: int) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    forecast = forecast_clv(client, horizon_months=horizon, n_draws=draws)
    return forecast, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", choices=["both", "old", "new"], default="both")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    client = load_client(data_dir() / "demo" / "marketplace")
    results = {}
    for name in (["new", "old"] if args.path == "both" else [args.path]):
        with _old_path() if name == "old" else contextlib.nullcontext():
            forecast, wall, cpu = _timed(client, args.horizon, args.draws)
        results[name] = forecast
        print(f"{name} path: {wall:7.2f} s wall, {cpu:7.2f} s CPU  "
              f"({forecast.model.__class__.__name__}, verdict {forecast.verdict})")
    if len(results) == 2:
        for column in ("clv", "clv_lower", "clv_upper"):
            new, old = getattr(results["new"], column), getattr(results["old"], column)
            if new is None or old is None:
                print(f"{column}: not computed")
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(new.to_numpy() / old.to_numpy() - 1)
            rel = np.where(new.to_numpy() == old.to_numpy(), 0.0, rel)
            print(f"{column}: largest relative difference new vs old {np.nanmax(rel):.1e}")


if __name__ == "__main__":
    main()
