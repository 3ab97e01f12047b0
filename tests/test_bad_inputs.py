"""The bad-input matrix: every case a specific error with a fix, or a correct result.

Each row is (case id, call, expected exception, fragment of the message). The calls reach the
public API the way users do; a row whose call raises anything else (a raw KeyError, a
"terminated successfully" ConvergenceError) or returns fails. Cases are grouped by entry point.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import retention_kit as rk
from retention_kit.errors import ConvergenceError, DataError
from retention_kit.models import BGBB, BGNBD, MBGNBD, SBG, BdW, GammaGamma, ParetoNBD

CDNOW = rk.load_cdnow_summary()
SMALL = CDNOW.head(300)
BG = BGNBD().fit(CDNOW)
BG_JSON = json.loads(BG.to_json())
DONATIONS = rk.load_donations()


def summary(**columns) -> pd.DataFrame:
    base = {"frequency": [0, 2, 1] * 20, "recency": [0.0, 5.0, 3.0] * 20,
            "T": np.linspace(8.0, 30.0, 60)}
    base.update(columns)
    return pd.DataFrame(base)


def json_with(**changes) -> str:
    payload = json.loads(json.dumps(BG_JSON))
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            payload[outer][inner] = value
        elif value is KeyError:
            payload.pop(key)
        else:
            payload[key] = value
    return json.dumps(payload)


# --------------------------------------------------------------------------- models

MODEL_OPTIONS = [
    ("tol negative", lambda: BGNBD(tol=-1).fit(SMALL), DataError, "tol=-1 is outside (0, 1]"),
    ("tol zero", lambda: BGNBD(tol=0).fit(SMALL), DataError, "tol=0 is outside"),
    ("tol text", lambda: BGNBD(tol="1e-8").fit(SMALL), DataError, "tol='1e-8' is not a number"),
    ("penalizer negative", lambda: BGNBD(penalizer=-0.1).fit(SMALL), DataError,
     "penalizer=-0.1 is outside [0, inf)"),
    ("penalizer NaN", lambda: BGNBD(penalizer=math.nan).fit(SMALL), DataError,
     "penalizer=nan is outside"),
    ("penalizer inf", lambda: ParetoNBD(penalizer=math.inf).fit(SMALL), DataError,
     "penalizer=inf is outside"),
    ("max_iter zero", lambda: BGNBD(max_iter=0).fit(SMALL), DataError,
     "max_iter=0 is not a whole number from 1"),
    ("max_iter fraction", lambda: BGNBD(max_iter=2.5).fit(SMALL), DataError,
     "max_iter=2.5 is not a whole number"),
    ("max_iter bool", lambda: BGNBD(max_iter=True).fit(SMALL), DataError,
     "max_iter=True is not a number"),
    ("initial_params missing", lambda: BGNBD(initial_params={"r": 1}).fit(SMALL), DataError,
     "initial_params must name exactly ['r', 'alpha', 'a', 'b']"),
    ("initial_params misspelt", lambda: BGNBD(initial_params={"r": 1, "alpha": 1, "a": 1,
                                                              "B": 1}).fit(SMALL),
     DataError, "did you mean 'b'?"),
    ("initial_params negative", lambda: BGNBD(initial_params={"r": 1, "alpha": 1, "a": -1,
                                                              "b": 1}).fit(SMALL),
     DataError, "initial_params['a'] = -1"),
    ("initial_params not a mapping", lambda: BGNBD(initial_params=[1, 1, 1, 1]).fit(SMALL),
     DataError, "initial_params must map"),
    ("gamma-gamma tol", lambda: GammaGamma(tol=5).fit(CDNOW[CDNOW["frequency"] > 0]), DataError,
     "tol=5 is outside"),
    ("bgbb penalizer", lambda: BGBB(penalizer=-1).fit(DONATIONS, weights="weights"), DataError,
     "penalizer=-1 is outside"),
]

MODEL_DATA = [
    ("all one-time buyers", lambda: BGNBD().fit(summary(frequency=[0] * 60, recency=[0.0] * 60)),
     ConvergenceError, "all 60 customers are one-time buyers"),
    ("all one-time buyers, MBG", lambda: MBGNBD().fit(summary(frequency=[0] * 60,
                                                             recency=[0.0] * 60)),
     ConvergenceError, "one-time buyers"),
    ("all one-time buyers, Pareto", lambda: ParetoNBD().fit(summary(frequency=[0] * 60,
                                                                   recency=[0.0] * 60)),
     ConvergenceError, "cannot be told apart"),
    ("one repeat buyer", lambda: BGNBD().fit(summary(frequency=[1] + [0] * 59,
                                                     recency=[3.0] + [0.0] * 59)),
     ConvergenceError, "only one customer bought more than once"),
    ("equal spends", lambda: GammaGamma().fit(pd.DataFrame({"frequency": [1, 2, 3] * 10,
                                                            "monetary_value": [20.0] * 30})),
     ConvergenceError, "every customer's mean spend is the same (20)"),
    ("bgbb every period", lambda: BGBB().fit(pd.DataFrame({
        "frequency": [4, 5, 6] * 20, "recency": [4, 5, 6] * 20, "n_periods": [4, 5, 6] * 20})),
     ConvergenceError, "every customer transacted in every period"),
    ("bgbb nobody repeats", lambda: BGBB().fit(pd.DataFrame({
        "frequency": [0] * 60, "recency": [0] * 60, "n_periods": [4, 5, 6] * 20})),
     ConvergenceError, "no customer made a repeat transaction"),
    ("sbg nobody churns", lambda: SBG().fit(pd.DataFrame({"duration": [1, 2, 3, 4] * 10,
                                                          "churned": [False] * 40})),
     ConvergenceError, "no customer churned"),
    ("sbg all churn at once", lambda: BdW().fit(pd.DataFrame({"duration": [1] * 40,
                                                              "churned": [True] * 40})),
     ConvergenceError, "every customer churned at the first renewal"),
    ("T infinite", lambda: BGNBD().fit(summary(T=[math.inf] + [10.0] * 59)), DataError,
     "column 'T' has infinite values"),
    ("recency infinite", lambda: ParetoNBD().fit(summary(recency=[math.inf] + [1.0] * 59)),
     DataError, "'recency' has infinite values"),
    ("frequency huge", lambda: BGNBD().fit(summary(frequency=[1e300] + [1] * 59)), DataError,
     "recency"),
    ("spend infinite", lambda: GammaGamma().fit(pd.DataFrame({
        "frequency": [1, 2] * 20, "monetary_value": [math.inf] + [10.0] * 39})),
     DataError, "'monetary_value' has infinite values"),
]

FROM_JSON = [
    ("not JSON", lambda: BGNBD.from_json("{r: 1"), DataError, "the text is not JSON"),
    ("a list", lambda: BGNBD.from_json("[1, 2]"), DataError, "it holds a list, not an object"),
    ("null", lambda: BGNBD.from_json("null"), DataError, "it holds a NoneType"),
    ("None", lambda: BGNBD.from_json(None), TypeError, "takes the JSON text"),
    ("no params", lambda: BGNBD.from_json(json_with(params=KeyError)), DataError,
     "it has no 'params'"),
    ("no covariance", lambda: BGNBD.from_json(json_with(cov_log=KeyError)), DataError,
     "it has no 'cov_log'"),
    ("another model", lambda: BGNBD.from_json(json_with(model="ParetoNBD")), DataError,
     "holds a 'ParetoNBD' model, not a BGNBD"),
    ("negative parameter", lambda: BGNBD.from_json(json_with(**{"params.a": -0.5})), DataError,
     "params['a'] = -0.5"),
    ("zero parameter", lambda: BGNBD.from_json(json_with(**{"params.r": 0})), DataError,
     "params['r'] = 0"),
    ("NaN parameter", lambda: BGNBD.from_json(json_with(**{"params.b": math.nan})), DataError,
     "params['b'] = nan"),
    ("inf parameter", lambda: BGNBD.from_json(json_with(**{"params.b": math.inf})), DataError,
     "params['b'] = inf"),
    ("bool parameter", lambda: BGNBD.from_json(json_with(**{"params.b": True})), DataError,
     "params['b'] = True"),
    ("text parameter", lambda: BGNBD.from_json(json_with(**{"params.b": "2.4"})), DataError,
     "params['b'] = '2.4'"),
    ("extra parameter", lambda: BGNBD.from_json(json_with(**{"params.s": 1.0})), DataError,
     "unknown ['s']"),
    ("converged as text", lambda: BGNBD.from_json(json_with(converged="false")), DataError,
     "'converged' is 'false', not true or false"),
    ("negative penalizer", lambda: BGNBD.from_json(json_with(**{"options.penalizer": -1})),
     DataError, "penalizer=-1 is outside"),
    ("unknown option", lambda: BGNBD.from_json(json_with(**{"options.speed": 1})), DataError,
     "unknown option 'speed'"),
    ("covariance shape", lambda: BGNBD.from_json(json_with(cov_log=[[1.0]])), DataError,
     "'cov_log' has shape (1, 1), not (4, 4)"),
    ("covariance asymmetric", lambda: BGNBD.from_json(json_with(
        cov_log=(np.eye(4) + np.triu(np.ones((4, 4)), 1)).tolist())), DataError,
     "not symmetric"),
    ("covariance indefinite", lambda: BGNBD.from_json(json_with(
        cov_log=(-np.eye(4)).tolist())), DataError, "not positive semi-definite"),
    ("covariance text", lambda: BGNBD.from_json(json_with(cov_log="none")), DataError,
     "'cov_log' is not a matrix of numbers"),
    ("time unit", lambda: BGNBD.from_json(json_with(time_unit="weeks")), DataError,
     "'time_unit' is 'weeks'"),
    ("loglik text", lambda: BGNBD.from_json(json_with(loglik="high")), DataError,
     "'loglik' is 'high', not a number"),
    ("n_obs negative inf", lambda: BGNBD.from_json(json_with(n_obs=-math.inf)), DataError,
     "'n_obs' is -inf"),
]

FROM_PARAMS = [
    ("missing", lambda: BGNBD.from_params({"r": 1, "alpha": 1, "a": 1}), DataError,
     "missing ['b']"),
    ("negative", lambda: SBG.from_params({"alpha": -1, "beta": 1}), DataError,
     "params['alpha'] = -1"),
    ("bool", lambda: SBG.from_params({"alpha": True, "beta": 1}), DataError,
     "params['alpha'] = True"),
    ("misspelt", lambda: ParetoNBD.from_params({"r": 1, "alpha": 1, "S": 1, "beta": 1}),
     DataError, "did you mean 's'?"),
    ("time unit", lambda: BGNBD.from_params({"r": 1, "alpha": 1, "a": 1, "b": 1},
                                            time_unit="weeks"),
     DataError, "time_unit='weeks' is not one of"),
]

GG = GammaGamma().fit(CDNOW[CDNOW["frequency"] > 0])
CLV_OPTIONS = {"time_unit": "W", "horizon": 12, "discount_period": "M", "discount_rate": 0.01}
LOG = rk.load_cdnow_transactions(sample=True)

CLV_AND_METRICS = [
    ("clv models swapped", lambda: rk.customer_lifetime_value(GG, BG, CDNOW, **CLV_OPTIONS),
     TypeError, "the models are swapped"),
    ("clv spend model missing", lambda: rk.customer_lifetime_value(BG, BG, CDNOW,
                                                                   **CLV_OPTIONS),
     TypeError, "spend_model is a BGNBD, which has no expected_spend()"),
    ("clv interval swapped", lambda: rk.clv_interval(GG, BG, CDNOW, **CLV_OPTIONS), TypeError,
     "the models are swapped"),
    ("clv horizon beyond 100 years", lambda: rk.customer_lifetime_value(
        BG, GG, CDNOW, **{**CLV_OPTIONS, "horizon": 100_000}), DataError,
     "horizon=100000 'M' periods is 8,333.3 years"),
    ("clv discount as a percentage", lambda: rk.customer_lifetime_value(
        BG, GG, CDNOW, **{**CLV_OPTIONS, "discount_rate": 8}), DataError,
     "discount_rate=8 looks like a percentage"),
    ("simple_clv discount as a percentage", lambda: rk.simple_clv(4, 50, 5, discount_rate=8),
     DataError, "discount_rate looks like a percentage: as given it means 800% per period"),
    ("margin multiple discount as a percentage",
     lambda: rk.margin_multiple_clv(80, 0.75, 10), DataError, "looks like a percentage"),
    ("sbg lifetime rate as a percentage",
     lambda: SBG.from_params({"alpha": 0.7, "beta": 1.2}).expected_lifetime(10), DataError,
     "discount_rate=10 looks like a percentage"),
    ("tz-aware calibration end", lambda: rk.calibration_holdout_split(
        LOG, calibration_end=pd.Timestamp("1997-09-30", tz="UTC"), duplicates="keep"),
     DataError, "calibration_end Timestamp('1997-09-30 00:00:00+0000', tz='UTC') is "
     "timezone-aware"),
    ("tz-aware observation end", lambda: rk.rfm_summary(
        LOG, observation_end="1998-06-30T00:00:00+02:00", duplicates="keep"),
     DataError, "is timezone-aware but the dates are naive"),
]

def _cuped(**columns):
    import retention_kit.experiments as ex

    data = pd.DataFrame({"arm": ["control"] * 50 + ["treat"] * 50,
                         "retained": np.r_[np.zeros(25), np.ones(25), np.zeros(20), np.ones(30)],
                         "pre": np.arange(100.0)})
    return ex.cuped(data.assign(**columns), arm_col="arm", outcome_col="retained",
                    covariate_col="pre", control="control", reached_col=None)


EXPERIMENTS = [
    ("cuped infinite covariate", lambda: _cuped(pre=np.r_[np.inf, np.arange(99.0)]), DataError,
     "covariate 'pre' has infinite values"),
    ("cuped infinite outcome", lambda: _cuped(retained=np.r_[np.zeros(99), np.inf]), DataError,
     "outcome 'retained' has infinite values"),
    ("cuped constant covariate", lambda: _cuped(pre=1.0), DataError, "covariate 'pre' is constant"),
]

CASES = (MODEL_OPTIONS + MODEL_DATA + FROM_JSON + FROM_PARAMS + CLV_AND_METRICS
         + EXPERIMENTS)


@pytest.mark.parametrize(("case", "call", "error", "fragment"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_gets_a_specific_error(case, call, error, fragment) -> None:
    with pytest.raises(error) as err:
        call()
    assert fragment in str(err.value), f"{case}: {err.value}"
    if isinstance(err.value, DataError):
        assert err.value.fix, f"{case}: no fix in {err.value}"


def test_a_fit_never_reports_termination_as_the_cause() -> None:
    for _, call, error, _ in MODEL_DATA:
        if error is ConvergenceError:
            with pytest.raises(ConvergenceError) as err:
                call()
            assert "terminated successfully" not in str(err.value)


# --------------------------------------------------------------------------- correct results


def test_bgnbd_at_a_equal_one_is_the_limit_not_nan() -> None:
    """a = 1 makes FHL's closed forms 0/0; the value is their limit (mpmath reference)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    r, alpha, b, t = mp.mpf("0.5"), mp.mpf(2), mp.mpf(2), mp.mpf(10)
    a = 1 + mp.mpf("1e-30")
    reference = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                         * mp.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    model = BGNBD.from_params({"r": 0.5, "alpha": 2.0, "a": 1.0, "b": 2.0})
    assert model.expected_purchases_new(10) == pytest.approx(float(reference), rel=1e-9)
    history = summary()
    at_one = model.expected_purchases(history, 5).to_numpy()
    near = [BGNBD.from_params({"r": 0.5, "alpha": 2.0, "a": a, "b": 2.0})
            .expected_purchases(history, 5).to_numpy() for a in (0.9999, 1.0001)]
    assert np.all(np.isfinite(at_one))
    np.testing.assert_allclose(at_one, (near[0] + near[1]) / 2, rtol=1e-7)


def test_json_round_trip_of_given_parameters_keeps_their_unknown_covariance() -> None:
    given = SBG.from_params({"alpha": 0.7, "beta": 1.2}, time_unit="M")
    back = SBG.from_json(given.to_json())
    assert back.time_unit_ == "M" and np.isnan(back.cov_.to_numpy()).all()
    assert back.survival(3) == pytest.approx(given.survival(3))


def test_a_retention_test_of_identical_arms_says_no_evidence_not_nan() -> None:
    import retention_kit.experiments as ex

    everyone = pd.DataFrame({"arm": ["control"] * 50 + ["treat"] * 50, "retained": 1})
    row = ex.retention_test(everyone, arm_col="arm", outcome_col="retained",
                            control="control", reached_col=None).comparisons.loc["treat"]
    assert (row["difference"], row["z"], row["p_value"], row["significant"]) == (0, 0, 1, False)
    nobody_in_control = everyone.assign(retained=[0] * 50 + [1] * 10 + [0] * 40)
    row = ex.retention_test(nobody_in_control, arm_col="arm", outcome_col="retained",
                            control="control", reached_col=None).comparisons.loc["treat"]
    assert row["difference"] == pytest.approx(0.2) and row["p_value"] < 0.01
    assert np.isnan(row["ratio"])  # undefined with no one retained in control (documented)
