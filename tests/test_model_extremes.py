"""Predictions at extreme parameters and histories against an mpmath reference.

``tests/data/extreme_reference.csv`` holds values computed once with 40-digit mpmath by
``tests/data/make_extreme_reference.py`` (independent formulations: quadrature over the
mixing distributions, explicit sums). The grid spans dropout parameters from 1e-3 to 1e7,
homogeneous purchase rates and frequencies up to 10,000 with histories of 20,000 periods.
Every prediction method of BG/NBD, MBG/NBD, Pareto/NBD, BG/BB and Gamma-Gamma must be
finite and match to 1e-8 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_kit.models import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD

REFERENCE = Path(__file__).parent / "data" / "extreme_reference.csv"
MODELS = {"BGNBD": BGNBD, "MBGNBD": MBGNBD, "ParetoNBD": ParetoNBD, "BGBB": BGBB,
          "GammaGamma": GammaGamma}
RTOL = 1e-8


def _predict(row: pd.Series) -> float:
    cls = MODELS[row["model"]]
    values = [row[c] for c in ("p1", "p2", "p3", "p4") if pd.notna(row[c])]
    model = cls.from_params(dict(zip(cls.param_names, values, strict=True)))
    method, arg = row["method"], row["arg"]
    if method == "expected_purchases_new":
        return model.expected_purchases_new(int(arg) if cls is BGBB else arg)
    if method == "probability_of_purchases":
        horizon = 6 if cls is BGBB else 52.0
        return model.probability_of_purchases(int(arg), horizon)
    if cls is GammaGamma:
        # For Gamma-Gamma the t_x column holds the mean spend.
        data = pd.DataFrame({"frequency": [int(row["x"])], "monetary_value": [row["t_x"]]})
        return float(model.expected_spend(data).iloc[0])
    if cls is BGBB:
        data = pd.DataFrame({"frequency": [int(row["x"])], "recency": [int(row["t_x"])],
                             "n_periods": [int(row["T"])]})
        arg = int(arg) if method != "expected_residual_lifetime" else arg
    else:
        data = pd.DataFrame({"frequency": [int(row["x"])], "recency": [row["t_x"]],
                             "T": [row["T"]]})
    if method == "probability_alive":
        return float(model.probability_alive(data).iloc[0])
    return float(getattr(model, method)(data, arg).iloc[0])


@pytest.fixture(scope="module")
def compared() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE)
    out = ref.copy()
    out["ours"] = [_predict(row) for _, row in ref.iterrows()]
    # Values below the double range (a P(alive) of 1e-440) are read as 0: ours must be
    # below 1e-300 there; elsewhere the relative error counts.
    tiny = out["value"].abs() < 1e-300
    out["rel_error"] = np.where(tiny, np.where(out["ours"].abs() < 1e-300, 0.0, np.inf),
                                (out["ours"] - out["value"]).abs() / out["value"].abs().where(
                                    ~tiny, 1.0))
    return out


def test_the_grid_spans_the_extreme_regimes(compared: pd.DataFrame) -> None:
    params = compared[["p1", "p2", "p3", "p4"]]
    assert params.max().max() >= 1e7 and params.min().min() <= 1e-3
    assert compared["x"].max() == 10_000
    assert set(compared["model"]) == set(MODELS)
    assert 150 <= len(compared) <= 400


@pytest.mark.parametrize("model", sorted(MODELS))
def test_predictions_are_finite_and_match_mpmath(compared: pd.DataFrame, model: str) -> None:
    rows = compared[compared["model"] == model]
    assert np.all(np.isfinite(rows["ours"])), rows[~np.isfinite(rows["ours"])]
    bad = rows[rows["rel_error"] > RTOL]
    assert bad.empty, bad[["label", "x", "method", "value", "ours", "rel_error"]].to_string()


def test_issue_16_example() -> None:
    """BG/NBD at a = 300, b = 918 gave -inf (hyp2f1 overflow); the right value is 1.1444993."""
    model = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 300.0, "b": 918.0})
    assert model.expected_purchases_new(52.0) == pytest.approx(1.1444993, abs=5e-8)
