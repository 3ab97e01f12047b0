"""The bad-input matrix: every case a specific error with a fix, or a correct result.

Each row is a :class:`Case`: its ``CLASS`` (the entry point family: data on pandas, data on
DuckDB, model options, ..., so the cases can be counted per class), a name, the call, the
expected exception and a fragment of its message. The calls reach the public API the way users
do; a row whose call raises anything else (a raw KeyError, a "terminated successfully"
ConvergenceError) or returns fails. A row with ``error=None`` is a correct result: the call
must return and ``fragment`` is a check of what it returned. A row with ``xfail`` is a real bug
in a module this test does not own, kept visible with ``xfail(strict=True)`` until it is fixed.

``python tests/test_bad_inputs.py`` prints the number of cases per class.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

import retention_kit as rk
from retention_kit.errors import ConvergenceError, DataError, NotFittedError
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

@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    CLASS: str
    name: str
    call: Callable[[], Any]
    error: type[BaseException] | None
    fragment: str | Callable[[Any], bool]
    xfail: str | None = None


def rows(cls: str, table: list[tuple]) -> list[Case]:
    return [Case(cls, *row) for row in table]


# ------------------------------------------------------------------ data: pandas and DuckDB

ibis = pytest.importorskip("ibis")
pytest.importorskip("duckdb")
_DUCK: list = []  # one DuckDB connection for the module (connections are slow to create)


def duck(frame: pd.DataFrame):
    """``frame`` as a table of the module's DuckDB connection (an Ibis table)."""
    if not _DUCK:
        _DUCK.append(ibis.duckdb.connect())
    con = _DUCK[0]
    _DUCK.append(None)
    return con.create_table(f"log_{len(_DUCK)}", frame)


def log(**columns) -> pd.DataFrame:
    """Six purchases of four customers in 2024 (valid), with ``columns`` replaced."""
    base = {"customer_id": ["a", "a", "b", "c", "c", "d"],
            "date": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20", "2024-02-01",
                                    "2024-03-05", "2024-03-20"]),
            "amount": [10.0, 20.0, 5.0, 7.5, 12.0, 30.0]}
    base.update(columns)
    return pd.DataFrame(base)


def second(value: object, col: str = "amount") -> pd.DataFrame:
    """The valid log with the second row's ``col`` set to ``value``."""
    values = log()[col].tolist()
    values[1] = value
    return log(**{col: values})


def _days_since(origin: str, unit: str) -> pd.Series:
    return (log()["date"] - pd.Timestamp(origin)) // pd.Timedelta(1, unit=unit)


def _text_dates(fmt: str) -> list[str]:
    return log()["date"].dt.strftime(fmt).tolist()


DAY_FIRST = ["03/04/2024", "25/04/2024", "05/04/2024", "06/04/2024", "28/04/2024", "30/04/2024"]
AMOUNT = {"amount_col": "amount"}
HUGE = "are infinite or 1,000,000,000,000 or more per purchase"
AWARE = "are timezone-aware; the summaries count days on one wall clock"
DAY_MONTH = "write the day and the month as numbers, which is ambiguous"
AHEAD = "lie more than 366 days after today"

#: (name, log builder, keywords, message fragment): each runs through rfm_summary,
#: calibration_holdout_split and cohort_table on pandas and on DuckDB (where the keywords
#: apply), and through rfm_segmentation_summary on pandas. The fragment is the same for both
#: engines: they share the rules and the messages of _checks.
DATA_INPUTS: list[tuple[str, Callable[[], pd.DataFrame], dict, str]] = [
    ("amount inf", lambda: second(math.inf), AMOUNT, HUGE),
    ("amount -inf", lambda: second(-math.inf), AMOUNT, HUGE),
    ("amount 1e308", lambda: second(1e308), AMOUNT, HUGE),
    ("amount 1e12", lambda: second(1e12), AMOUNT, HUGE),
    ("amount boolean", lambda: log(amount=[True, False] * 3), AMOUNT,
     "amounts in column 'amount' are True/False, not money"),
    ("amount NaN", lambda: second(math.nan), AMOUNT, "amounts in column 'amount' are missing"),
    ("amount text", lambda: log(amount=["10", "12,50 EUR", "5", "7", "8", "9"]), AMOUNT,
     "amounts in column 'amount' are not numbers"),
    ("amount negative", lambda: second(-20.0), AMOUNT, "are negative (refunds or returns)"),
    ("amount column misspelt", log, {"amount_col": "amont"},
     "has no column 'amont' (amount_col (spend per purchase))"),
    ("dates as epoch seconds", lambda: log(date=_days_since("1970-01-01", "s")), {},
     "they look like epoch seconds"),
    ("dates as epoch milliseconds", lambda: log(date=_days_since("1970-01-01", "ms")), {},
     "they look like epoch milliseconds"),
    ("dates as Excel serial floats",
     lambda: log(date=_days_since("1899-12-30", "D").astype(float)), {},
     "are numbers (45294 to 45371), not dates; they look like Excel serial day numbers"),
    ("dates as Excel serial integers", lambda: log(date=_days_since("1899-12-30", "D")), {},
     "they look like Excel serial day numbers"),
    ("dates as YYYYMMDD text", lambda: log(date=_text_dates("%Y%m%d")), {},
     "they look like dates written as YYYYMMDD"),
    ("dates as epoch seconds in text",
     lambda: log(date=_days_since("1970-01-01", "s").astype(str)), {},
     "they look like epoch seconds"),
    ("swapped columns, integer ids", lambda: log(customer_id=log()["date"],
                                                 date=[1, 1, 2, 3, 3, 4]), {},
     "customer ids in column 'customer_id' are dates"),
    ("swapped columns, ids as text", lambda: log(customer_id=_text_dates("%Y-%m-%d"),
                                                 date=[1, 1, 2, 3, 3, 4]), {},
     "the customer and date columns look swapped"),
    ("dates a century ahead", lambda: log(date=log()["date"] + pd.DateOffset(years=100)), {},
     AHEAD),
    ("one date a century ahead", lambda: second(pd.Timestamp("2124-02-10"), "date"), {}, AHEAD),
    ("day-first dates, some ambiguous", lambda: log(date=DAY_FIRST), {},
     "some have a first number above 12, so they are probably day-first"),
    ("month-first dates", lambda: log(date=[f"{d[3:5]}/{d[:2]}/{d[6:]}" for d in DAY_FIRST]),
     {}, DAY_MONTH),
    ("day-first dates with dots", lambda: log(date=[d.replace("/", ".") for d in DAY_FIRST]),
     {}, DAY_MONTH),
    ("day-first dates with dashes", lambda: log(date=[d.replace("/", "-") for d in DAY_FIRST]),
     {}, DAY_MONTH),
    ("day-first dates with a time", lambda: log(date=[d + " 10:30" for d in DAY_FIRST]), {},
     DAY_MONTH),
    ("timezone-aware UTC", lambda: log(date=log()["date"].dt.tz_localize("UTC")), {}, AWARE),
    ("timezone-aware Berlin", lambda: log(date=log()["date"].dt.tz_localize("Europe/Berlin")),
     {}, AWARE),
    ("text with UTC offsets", lambda: log(date=_text_dates("%Y-%m-%dT10:00:00+02:00")), {},
     AWARE),
    ("text ending in Z", lambda: log(date=_text_dates("%Y-%m-%dT10:00:00Z")), {}, AWARE),
    ("one date with an offset", lambda: second("2024-02-10T10:00:00+02:00", "date").assign(
        date=lambda d: d["date"].astype(str)), {}, AWARE),
    ("missing date", lambda: second(pd.NaT, "date"), {}, "have no date in column 'date'"),
    ("unparseable date", lambda: second("2024-13-45", "date").assign(
        date=lambda d: d["date"].astype(str)), {}, "dates in column 'date' cannot be parsed"),
    ("boolean dates", lambda: log(date=[True, False] * 3), {},
     "column 'date' holds boolean values, not dates"),
    ("missing customer id", lambda: second(None, "customer_id"), {},
     "transactions without a customer id in column 'customer_id'"),
    ("ids are dates", lambda: log(customer_id=log()["date"]), {},
     "customer ids in column 'customer_id' are dates"),
    ("duplicate rows", lambda: pd.concat([log(), log().tail(1)], ignore_index=True), {},
     "the log has rows identical in every column"),
    ("a summary instead of a log", lambda: CDNOW.head(20), {},
     "this looks like a per-customer summary"),
    ("date column misspelt", log, {"date_col": "Date"},
     "has no column 'Date' (date_col (purchase date))"),
    ("purchases after the observation end", log, {"observation_end": "2024-02-15"},
     "purchases after the observation end 2024-02-15"),
    ("observation end timezone-aware", log, {"observation_end": "2024-03-31T00:00:00+02:00"},
     "is timezone-aware but the dates are naive"),
    ("observation end not a date", log, {"observation_end": "soon"},
     "observation_end 'soon' is not a date"),
    ("after_end misspelt", log, {"after_end": "dorp"}, "after_end='dorp' is not one of"),
    ("duplicates misspelt", log, {"duplicates": "drop_all"},
     "duplicates='drop_all' is not one of"),
    ("nothing before the observation end", log,
     {"observation_end": "2023-12-31", "after_end": "drop"},
     "no purchases on or before the observation end 2023-12-31"),
    ("time_unit weeks", log, {"time_unit": "weeks"}, "time_unit='weeks' is not supported"),
    ("merge_period fortnight", log, {"merge_period": "fortnight"},
     "merge_period='fortnight' is not a pandas period alias"),
]

_SPLIT = {"calibration_end": "2024-02-15"}
_NOT_SPLIT = ("observation_end", "after_end")  # the split takes no after_end; its end differs
_NOT_COHORT = ("time_unit", "merge_period")


def _on(engine: str, build: Callable[[], pd.DataFrame]):
    frame = build()
    return frame if engine == "pandas" else duck(frame)


def _csv(build: Callable[[], pd.DataFrame]) -> str:
    """The log written to a CSV file, which DuckDB reads and types itself."""
    import tempfile

    path = tempfile.NamedTemporaryFile(suffix=".csv", delete=False).name
    build().to_csv(path, index=False)
    return path


#: Inputs a CSV file cannot carry as such (a boolean column written as text is text).
_NOT_CSV = ("boolean dates",)


def _data_calls(engine: str, name: str, build: Callable[[], pd.DataFrame],
                kw: dict) -> list[tuple[str, Callable[[], Any]]]:
    calls = [("rfm_summary", lambda: rk.rfm_summary(_on(engine, build), **kw))]
    if not any(k in kw for k in _NOT_SPLIT):
        calls.append(("calibration_holdout_split", lambda: rk.calibration_holdout_split(
            _on(engine, build), **_SPLIT, **kw)))
    if not any(k in kw for k in _NOT_COHORT):
        revenue = {"values": "revenue"} if "amount_col" in kw else {}
        calls.append(("cohort_table", lambda: rk.cohort_table(_on(engine, build), **revenue,
                                                              **kw)))
    if engine == "pandas":
        calls.append(("rfm_segmentation_summary",
                      lambda: rk.rfm_segmentation_summary(build(), **kw)))
    elif name not in _NOT_CSV:
        calls.append(("rfm_summary of a CSV file", lambda: rk.rfm_summary(_csv(build), **kw)))
    return calls


DATA = [Case(f"data: {engine}", f"{func}: {name}", call, DataError, fragment)
        for name, build, kw, fragment in DATA_INPUTS
        for engine in ("pandas", "DuckDB")
        for func, call in _data_calls(engine, name, build, kw)]

MIXED_IDS = "customer ids in column 'customer_id' mix numbers and text"
DATA += rows("data: pandas", [
    # A DuckDB (or Arrow, Parquet, Spark) column has one type: 1 and "1" cannot meet there.
    ("rfm_summary: ids 1 and '1' mixed",
     lambda: rk.rfm_summary(log(customer_id=[1, "1", 2, 3, 3, 4])), DataError, MIXED_IDS),
    ("cohort_table: ids 1 and '1' mixed",
     lambda: rk.cohort_table(log(customer_id=[1, "1", 2, 3, 3, 4])), DataError, MIXED_IDS),
    ("calibration_holdout_split: ids 1 and '1' mixed",
     lambda: rk.calibration_holdout_split(log(customer_id=[1, "1", 2, 3, 3, 4]), **_SPLIT),
     DataError, MIXED_IDS),
    ("prepare_transactions: not a DataFrame",
     lambda: rk.rfm_summary({"customer_id": [1]}), DataError,
     "transactions must be a pandas DataFrame, got dict"),
])


# --------------------------------------------------------------------------- correct results


def _equal_on_both(build: Callable[[], pd.DataFrame], **kw) -> Callable[[], bool]:
    def run() -> bool:
        ours = rk.rfm_summary(build(), **kw)
        theirs = rk.rfm_summary(duck(build()), **kw)
        pd.testing.assert_frame_equal(ours, theirs, check_like=True)
        return ours
    return run


def _summary_of(expected_T: dict) -> Callable[[pd.DataFrame], bool]:
    return lambda s: s["T"].to_dict() == expected_T


VALID_T = {"a": 77.0, "b": 60.0, "c": 48.0, "d": 0.0}
CORRECT = rows("correct result", [
    ("declared day-first dates, pandas and DuckDB agree",
     _equal_on_both(lambda: log(date=pd.to_datetime(pd.Series(DAY_FIRST), dayfirst=True))),
     None, _summary_of({"a": 27.0, "b": 25.0, "c": 24.0, "d": 0.0})),
    ("epoch seconds declared through clean_transactions",
     lambda: rk.rfm_summary(rk.clean_transactions(
         log(date=_days_since("1970-01-01", "s")),
         {"date_format": "epoch_s", "amount": "amount"}).transactions, amount_col="amount"),
     None, _summary_of(VALID_T)),
    ("Excel serials declared through clean_transactions",
     lambda: rk.rfm_summary(rk.clean_transactions(
         log(date=_days_since("1899-12-30", "D")),
         {"date_format": "excel", "amount": "amount"}).transactions),
     None, _summary_of(VALID_T)),
    ("day-first declared through clean_transactions on DuckDB",
     lambda: rk.rfm_summary(rk.clean_transactions(
         duck(log(date=DAY_FIRST)), {"date_format": "dayfirst", "amount": "amount"})
         .transactions),
     None, _summary_of({"a": 27.0, "b": 25.0, "c": 24.0, "d": 0.0})),
    ("aware dates converted as the message says",
     lambda: rk.rfm_summary(log(date=log()["date"].dt.tz_localize("Europe/Berlin")
                                .dt.tz_convert("UTC").dt.tz_convert("Europe/Berlin")
                                .dt.tz_localize(None))),
     None, _summary_of(VALID_T)),
    ("ids normalised to text as the message says",
     lambda: rk.rfm_summary(log(customer_id=pd.Series([1, "1", 2, 3, 3, 4]).astype(str))),
     None, lambda s: s.index.tolist() == ["1", "2", "3", "4"] and s["frequency"].sum() == 2),
    ("a large but possible amount", lambda: rk.rfm_summary(second(9.9e11), amount_col="amount"),
     None, lambda s: s.loc["a", "monetary_value"] == 9.9e11),
    ("a date within the year ahead",
     lambda: rk.rfm_summary(log(date=pd.Timestamp.now().normalize()
                                + pd.to_timedelta([0, 1, 2, 3, 4, 5], unit="D"))),
     None, lambda s: len(s) == 4),
    ("ISO dates with a time, pandas and DuckDB agree",
     _equal_on_both(lambda: log(date=_text_dates("%Y-%m-%d 10:30:00")), amount_col="amount"),
     None, _summary_of(VALID_T)),
    ("integer ids, pandas and DuckDB agree",
     _equal_on_both(lambda: log(customer_id=[1, 1, 2, 3, 3, 4]), amount_col="amount"),
     None, lambda s: s["frequency"].tolist() == [1, 0, 1, 0]),
])


# --------------------------------------------------------------------------- more entry points

SEG = rk.rfm_segmentation_summary(LOG, amount_col="amount", duplicates="keep")
CLV_VALUES = pd.Series(np.linspace(1, 100, 50))
SUBS = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
                     "month": ["2024-01", "2024-02", "2024-01", "2024-02", "2024-02"],
                     "mrr": [10.0, 12.0, 5.0, 0.0, 7.0]})
ARMS = pd.DataFrame({"arm": ["control"] * 50 + ["treat"] * 50,
                     "retained_90d": np.r_[np.zeros(25), np.ones(25), np.zeros(20), np.ones(30)],
                     "reached_horizon": True})
SURV = pd.DataFrame({"arm": ["control"] * 30 + ["treat"] * 30,
                     "duration": np.tile(np.arange(1.0, 31.0), 2), "churned": [True, False] * 30})
RENEWALS = pd.DataFrame({"duration": [1, 2, 3, 4, 5] * 8, "churned": [True, False] * 20})
COHORT_LOG = log()
PARAMS = {BGNBD: {"r": 1, "alpha": 1, "a": 1, "b": 1},
          ParetoNBD: {"r": 1, "alpha": 1, "s": 1, "beta": 1},
          MBGNBD: {"r": 1, "alpha": 1, "a": 1, "b": 1},
          BGBB: {"alpha": 1, "beta": 1, "gamma": 1, "delta": 1},
          SBG: {"alpha": 1, "beta": 1}, BdW: {"alpha": 1, "beta": 1, "c": 1},
          GammaGamma: {"p": 1, "q": 2, "gamma": 1}}
FIT_DATA = {BGNBD: (SMALL, {}), ParetoNBD: (SMALL, {}), MBGNBD: (SMALL, {}),
            BGBB: (DONATIONS, {"weights": "weights"}), SBG: (RENEWALS, {}),
            BdW: (RENEWALS, {}), GammaGamma: (CDNOW[CDNOW["frequency"] > 0], {})}


def _per_model() -> list[Case]:
    out = []
    for model, params in PARAMS.items():
        name, first = model.__name__, next(iter(params))
        data, kw = FIT_DATA[model]
        out += rows("models: from_params", [
            (f"{name} negative", lambda m=model, p=params, f=first: m.from_params({**p, f: -1}),
             DataError, f"params['{first}'] = -1"),
            (f"{name} NaN", lambda m=model, p=params, f=first: m.from_params({**p, f: math.nan}),
             DataError, f"params['{first}'] = nan"),
            (f"{name} inf", lambda m=model, p=params, f=first: m.from_params({**p, f: math.inf}),
             DataError, f"params['{first}'] = inf"),
            (f"{name} missing", lambda m=model, p=params, f=first: m.from_params(
                {k: v for k, v in p.items() if k != f}), DataError, f"missing ['{first}']"),
            (f"{name} not a mapping", lambda m=model, p=params: m.from_params(list(p.values())),
             DataError, "params must map"),
        ])
        out += rows("models: options", [
            (f"{name} tol negative", lambda m=model, d=data, k=kw: m(tol=-1).fit(d, **k),
             DataError, "tol=-1 is outside"),
            (f"{name} max_iter 0", lambda m=model, d=data, k=kw: m(max_iter=0).fit(d, **k),
             DataError, "max_iter=0 is not a whole number"),
            (f"{name} penalizer NaN", lambda m=model, d=data, k=kw: m(penalizer=math.nan).fit(
                d, **k), DataError, "penalizer=nan is outside"),
        ])
        other = GammaGamma if model is not GammaGamma else BGNBD
        out += rows("models: from_json", [
            (f"{name} reads another model's JSON",
             lambda m=model, o=other: m.from_json(o.from_params(PARAMS[o]).to_json()),
             DataError, f"holds a '{other.__name__}' model, not a {name}"),
            (f"{name} truncated JSON",
             lambda m=model, p=params: m.from_json(m.from_params(p).to_json()[:-5]),
             DataError, "the text is not JSON"),
        ])
    return out


BG_W = BGNBD.from_params({"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}, time_unit="W")
GG_P = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
SBG_P = SBG.from_params({"alpha": 1, "beta": 1})
HEAD = CDNOW.head(50)
WHOLE = "must be a whole number"

PREDICTIONS = rows("models: predictions", [
    ("t negative", lambda: BG_W.expected_purchases(CDNOW, -1), DataError,
     "the horizon t must be positive and finite"),
    ("t NaN", lambda: BG_W.expected_purchases(CDNOW, math.nan), DataError,
     "the horizon t must be positive and finite"),
    ("t as text", lambda: BG_W.expected_purchases(CDNOW, "52"), DataError, "t='52'"),
    ("t boolean", lambda: BG_W.expected_purchases(CDNOW, True), DataError, "t=True"),
    ("survival t as text", lambda: SBG_P.survival("3"), DataError,
     "t must be whole numbers of periods >= 0"),
    ("p_alive on a log", lambda: BG_W.probability_alive(LOG), DataError,
     "looks like a transaction log"),
    ("p_alive without T", lambda: BG_W.probability_alive(CDNOW.drop(columns="T")), DataError,
     "the summary has no column 'T'"),
    ("p_alive with T infinite", lambda: BG_W.probability_alive(
        CDNOW.head(3).assign(T=[math.inf, 1.0, 2.0])), DataError,
     "column 'T' has infinite values"),
    ("spend of a negative mean", lambda: GG_P.expected_spend(
        CDNOW.head(3).assign(monetary_value=[-1.0, 2.0, 3.0])), DataError,
     "monetary_value is zero or negative"),
    ("survival t negative", lambda: SBG_P.survival(-1), DataError,
     "t must be whole numbers of periods >= 0"),
    ("survival t fraction", lambda: SBG_P.survival(1.5), DataError,
     "t must be whole numbers of periods >= 0"),
    ("fit on a segmentation summary", lambda: BGNBD().fit(SEG), DataError,
     "this is a segmentation summary"),
    ("fit on a log", lambda: BGNBD().fit(LOG), DataError, "looks like a transaction log"),
    ("fit on a list", lambda: BGNBD().fit([1, 2, 3]), DataError,
     "the summary must be a pandas DataFrame, got list"),
    ("predict unfitted", lambda: BGNBD().expected_purchases(CDNOW, 10), NotFittedError,
     "is not fitted yet: call .fit(data) first"),
    ("fit recency > T", lambda: BGNBD().fit(HEAD.assign(recency=HEAD["T"] + 1)), DataError,
     "recency is greater than T"),
    ("fit negative frequency", lambda: BGNBD().fit(HEAD.assign(frequency=-1)), DataError,
     "column 'frequency' has negative values"),
    ("fit fractional frequency", lambda: BGNBD().fit(HEAD.assign(frequency=1.5)), DataError,
     "frequency has non-integer values"),
    ("fit empty", lambda: BGNBD().fit(CDNOW.head(0)), DataError, "the summary is empty"),
    ("fit NaN recency", lambda: BGNBD().fit(HEAD.assign(recency=math.nan)), DataError,
     "column 'recency' has missing or non-numeric values"),
])

CLV = rows("clv", [
    ("horizon 0", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "horizon": 0}), DataError, f"horizon {WHOLE} >= 1, got 0"),
    ("horizon fraction", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "horizon": 2.5}), DataError, f"horizon {WHOLE} >= 1, got 2.5"),
    ("time_unit weeks", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "time_unit": "weeks"}), DataError, "time_unit='weeks' is not a time unit"),
    ("discount_period X", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "discount_period": "X"}), DataError,
     "discount_period='X' is not a time unit"),
    ("margin as a percentage", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "margin": 30}), DataError, "margin=30 looks like a percentage"),
    ("margin negative", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "margin": -0.3}), DataError, "margin=-0.3 must be a fraction in [0, 1]"),
    ("margin as text", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "margin": "0.3"}), DataError, "margin='0.3' is not a number"),
    ("discount negative", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "discount_rate": -0.01}), DataError,
     "discount_rate must be a number >= 0"),
    ("time unit differs from the model's", lambda: rk.customer_lifetime_value(
        BG_W, GG_P, CDNOW, **{**CLV_OPTIONS, "time_unit": "D"}), DataError,
     "time_unit='D' but the transaction model was fitted on data in 'W'"),
    ("data without monetary_value", lambda: rk.customer_lifetime_value(
        BG_W, GG_P, CDNOW.drop(columns="monetary_value"), **CLV_OPTIONS), DataError,
     "the summary has no column 'monetary_value'"),
    ("data is a log", lambda: rk.customer_lifetime_value(BG_W, GG_P, LOG, **CLV_OPTIONS),
     DataError, "looks like a transaction log"),
    ("unfitted model", lambda: rk.customer_lifetime_value(BGNBD(), GG_P, CDNOW, **CLV_OPTIONS),
     NotFittedError, "is not fitted yet"),
    ("steps_per_period 0", lambda: rk.customer_lifetime_value(BG_W, GG_P, CDNOW, **{
        **CLV_OPTIONS, "steps_per_period": 0}), DataError, f"steps_per_period {WHOLE} >= 1"),
    ("interval n_draws 0", lambda: rk.clv_interval(BG_W, GG_P, CDNOW, **CLV_OPTIONS, n_draws=0),
     DataError, f"n_draws {WHOLE} >= 2, got 0"),
])

NOT_FRACTION = "give rates as fractions (0.05 for 5 %), not percentages"
METRICS = rows("metrics", [
    ("churn_rate lost > start", lambda: rk.churn_rate(10, 20), DataError, "lost exceeds start"),
    ("churn_rate start 0", lambda: rk.churn_rate(0, 0), DataError, "start must be positive"),
    ("churn_rate start negative", lambda: rk.churn_rate(-10, 2), DataError,
     "start must be positive"),
    ("churn_rate NaN", lambda: rk.churn_rate(math.nan, 2), DataError, "start is missing (NaN)"),
    ("retention_rate end > start + new", lambda: rk.retention_rate(10, 30, 5), DataError,
     "end - new exceeds start"),
    ("retention_rate inf", lambda: rk.retention_rate(math.inf, 3, 1), DataError,
     "start is infinite"),
    ("annualize_churn percentage", lambda: rk.annualize_churn(5), DataError, NOT_FRACTION),
    ("periodic_churn percentage", lambda: rk.periodic_churn(30), DataError, NOT_FRACTION),
    ("annualize_churn periods 0", lambda: rk.annualize_churn(0.05, periods_per_year=0),
     DataError, "periods_per_year=0 is outside (0, inf)"),
    ("customer_lifespan churn 0", lambda: rk.customer_lifespan(0), DataError,
     "customers never leave, so the lifespan is infinite"),
    ("customer_lifespan percentage", lambda: rk.customer_lifespan(5), DataError, NOT_FRACTION),
    ("simple_clv negative order value", lambda: rk.simple_clv(4, -50, 5), DataError,
     "average_order_value is negative"),
    ("simple_clv margin percentage", lambda: rk.simple_clv(4, 50, 5, margin=30), DataError,
     NOT_FRACTION),
    ("margin_multiple_clv retention percentage", lambda: rk.margin_multiple_clv(80, 75, 0.1),
     DataError, NOT_FRACTION),
    ("margin_multiple_clv boolean", lambda: rk.margin_multiple_clv(80, True, 0.1), DataError,
     "retention_rate is boolean, not a number"),
    ("average_order_value zero orders", lambda: rk.average_order_value(100, 0), DataError,
     "n_orders must be positive"),
    ("average_order_value text", lambda: rk.average_order_value("100", 3), DataError,
     "revenue is not numeric"),
    ("cac negative spend", lambda: rk.cac(-100, 3), DataError, "acquisition_spend is negative"),
    ("cac zero customers", lambda: rk.cac(100, 0), DataError, "new_customers must be positive"),
    ("cac_payback zero margin", lambda: rk.cac_payback(100, 0), DataError,
     "the acquisition cost is never paid back"),
    ("ltv_to_cac zero cac", lambda: rk.ltv_to_cac(100, 0), DataError, "cac must be positive"),
    ("purchase_frequency zero customers", lambda: rk.purchase_frequency(10, 0), DataError,
     "n_customers must be positive"),
    ("referral_rate more than customers", lambda: rk.referral_rate(20, 10), DataError,
     "referred_customers exceeds the number of new customers"),
    ("referral_rate variant", lambda: rk.referral_rate(2, 10, variant="share"), DataError,
     "unknown referral_rate variant"),
    ("nps negative count", lambda: rk.nps(-1, 2, 3), DataError, "promoters is negative"),
    ("nps no answers", lambda: rk.nps(0, 0, 0), DataError, "no answers"),
    ("nps fraction", lambda: rk.nps(1.5, 2, 3), DataError, "promoters is not a whole number"),
    ("nps confidence percentage", lambda: rk.nps(10, 2, 3, confidence=95), DataError,
     "95 looks like a percentage, pass 0.95"),
    ("nps_from_scores 11", lambda: rk.nps_from_scores([1, 5, 11]), DataError,
     "scores are outside the 0..10 scale"),
    ("nps_from_scores NaN", lambda: rk.nps_from_scores([1, 5, math.nan]), DataError,
     "scores contain missing answers (NaN)"),
    ("nps_from_scores empty", lambda: rk.nps_from_scores([]), DataError, "no scores given"),
    ("csat out of scale", lambda: rk.csat([1, 2, 6], scale=5), DataError,
     "scores are outside the 1..5 scale"),
    ("csat top_box = scale", lambda: rk.csat([1, 2, 5], scale=5, top_box=5), DataError,
     "top_box must be a whole number from 1 to scale - 1"),
    ("ces text", lambda: rk.ces(["easy", "hard"]), DataError, "scores are not numeric"),
    ("repeat_purchase_rate missing column", lambda: rk.repeat_purchase_rate(
        pd.DataFrame({"id": [1, 1, 2]})), DataError, "column 'customer_id' not found"),
    ("repeat_purchase_rate empty", lambda: rk.repeat_purchase_rate(pd.Series([], dtype=float)),
     DataError, "no customers given"),
    ("mrr_movements missing column", lambda: rk.mrr_movements(SUBS.drop(columns="mrr")),
     DataError, "column(s) ['mrr'] not found"),
    ("mrr_movements negative", lambda: rk.mrr_movements(SUBS.assign(mrr=[10.0, -1, 5, 0, 7])),
     DataError, "mrr is negative"),
    ("mrr_movements inf", lambda: rk.mrr_movements(SUBS.assign(mrr=[10.0, math.inf, 5, 0, 7])),
     DataError, "mrr is infinite"),
    ("mrr_movements month not a month", lambda: rk.mrr_movements(SUBS.assign(
        month=["2024-01", "soon", "2024-01", "2024-02", "2024-02"])), DataError, "soon"),
    ("revenue_retention negative expansion", lambda: rk.revenue_retention(100, -5, 3, 2),
     DataError, "expansion is negative"),
    ("revenue_retention start 0", lambda: rk.revenue_retention(0, 5, 3, 2), DataError,
     "start_mrr must be positive"),
    ("cohort_revenue_retention end before start", lambda: rk.metrics.cohort_revenue_retention(
        SUBS, start="2024-02", end="2024-01"), DataError, "is not after start"),
])

COHORTS = rows("cohorts", [
    ("period X", lambda: rk.cohort_table(COHORT_LOG, period="X"), DataError,
     "period='X' is not a supported period"),
    ("mode misspelt", lambda: rk.cohort_table(COHORT_LOG, mode="on_or_afer"), DataError,
     "did you mean 'on_or_after'?"),
    ("rolling without a window", lambda: rk.cohort_table(COHORT_LOG, mode="rolling"),
     DataError, "mode='rolling' needs a window of at least 1 period, got None"),
    ("window 0", lambda: rk.cohort_table(COHORT_LOG, mode="rolling", window=0), DataError,
     "needs a window of at least 1 period, got 0"),
    ("values misspelt", lambda: rk.cohort_table(COHORT_LOG, values="revenu"), DataError,
     "did you mean 'revenue'?"),
    ("revenue without an amount", lambda: rk.cohort_table(COHORT_LOG, values="revenue"),
     DataError, "values='revenue' needs the spend column"),
    ("relative as text", lambda: rk.cohort_table(COHORT_LOG, relative="yes"), DataError,
     "relative='yes' is not True or False"),
    ("retention_curve of a summary", lambda: rk.retention_curve(CDNOW), DataError,
     "this looks like a per-customer summary"),
    ("survival negative durations", lambda: rk.survival(SURV.assign(
        duration=-SURV["duration"])), DataError, "durations in column 'duration' are negative"),
    ("survival infinite durations", lambda: rk.survival(SURV.assign(duration=math.inf)),
     DataError, "are missing or not finite numbers"),
    ("survival event as text", lambda: rk.survival(SURV.assign(churned="yes")), DataError,
     "column 'churned' must hold True (churned) or False"),
    ("survival alpha percentage", lambda: rk.survival(SURV, alpha=5), DataError,
     "alpha=5 must be between 0 and 1"),
    ("survival missing column", lambda: rk.survival(SURV.drop(columns="duration")), DataError,
     "the survival data has no column 'duration'"),
    ("churn_durations inactivity negative", lambda: rk.churn_durations(
        COHORT_LOG, inactivity=-5), DataError, "inactivity must be a positive number of days"),
    ("churn_durations timezone-aware log", lambda: rk.churn_durations(
        COHORT_LOG.assign(date=COHORT_LOG["date"].dt.tz_localize("UTC")), inactivity=30),
     DataError, AWARE),
])

SEGMENTS = rows("segments", [
    ("rfm_scores on a BTYD summary", lambda: rk.rfm_scores(CDNOW), DataError,
     "RFM scoring needs the segmentation summary, but this is a BTYD summary"),
    ("rfm_scores n_bins 1", lambda: rk.rfm_scores(SEG, n_bins=1), DataError,
     f"n_bins {WHOLE} >= 2, got 1"),
    ("rfm_scores n_bins as text", lambda: rk.rfm_scores(SEG, n_bins="5"), DataError,
     "n_bins='5' is not a number"),
    ("rfm_scores monetary column missing", lambda: rk.rfm_scores(SEG, monetary="spend"),
     DataError, "the segmentation summary has no column 'spend'"),
    ("rfm_scores infinite spend", lambda: rk.rfm_scores(SEG.assign(total_spend=math.inf)),
     DataError, "column 'total_spend' has infinite values"),
    ("rfm_scores negative since_last", lambda: rk.rfm_scores(SEG.assign(since_last=-1.0)),
     DataError, "column 'since_last' has negative values"),
    ("rfm_scores empty", lambda: rk.rfm_scores(SEG.head(0)), DataError, "the summary is empty"),
    ("clv tiers as percentages", lambda: rk.segments.clv_tiers(CLV_VALUES, tiers=(1, 5, 20)),
     DataError, "looks like a percentage"),
    ("clv tiers unsorted", lambda: rk.segments.clv_tiers(CLV_VALUES, tiers=(0.2, 0.05)),
     DataError, "increasing"),
    ("clv tiers NaN value", lambda: rk.segments.clv_tiers(pd.Series([1.0, math.nan, 3.0])),
     DataError, "clv has missing or non-numeric values"),
    ("clv tiers infinite value", lambda: rk.segments.clv_tiers(pd.Series([1.0, math.inf, 3.0])),
     DataError, "clv has infinite values"),
    ("concentration_curve negative", lambda: rk.segments.concentration_curve(
        pd.Series([1.0, -2.0, 3.0])), DataError, "clv has negative values"),
    ("cluster k 1", lambda: rk.cluster_customers(SEG.head(60), k=1), DataError, "k=1"),
    ("cluster feature missing", lambda: rk.cluster_customers(
        SEG, features=("since_last", "visits")), DataError,
     "the segmentation summary has no column 'visits'"),
    ("segment_migration of a list", lambda: rk.segment_migration([1, 2], "x"), DataError,
     "before must be a DataFrame or Series, got list"),
    ("assign_segments without scores", lambda: rk.segments.assign_segments(
        pd.DataFrame({"a": [1]})), DataError, "the scores has no column 'R'"),
    ("migration ends swapped", lambda: rk.segments.migration_from_transactions(
        LOG, first_end="1998-01-01", second_end="1997-06-01", duplicates="keep"), DataError,
     "first_end 1998-01-01 is not before second_end 1997-06-01"),
])

PERCENT = "looks like a percentage; it must be a fraction between 0 and 1"
ROI = {"n_treated": 100, "margin_per_period": 10, "horizon_periods": 12,
       "discount_rate": 0.01, "cost_per_treated": 2}


def _experiments():
    import retention_kit.experiments as ex

    return rows("experiments", [
        ("sample_size baseline percentage", lambda: ex.sample_size(40, 45), DataError,
         f"baseline=40 {PERCENT}"),
        ("sample_size no effect", lambda: ex.sample_size(0.4, 0.4), DataError,
         "target=0.4 equals the baseline"),
        ("sample_size power percentage", lambda: ex.sample_size(0.4, 0.45, power=80), DataError,
         f"power=80 {PERCENT}"),
        ("sample_size alpha 0", lambda: ex.sample_size(0.4, 0.45, alpha=0), DataError,
         "alpha=0 must be a fraction in (0, 1)"),
        ("sample_size ratio negative", lambda: ex.sample_size(0.4, 0.45, ratio=-1), DataError,
         "ratio=-1 must be positive"),
        ("sample_size method misspelt", lambda: ex.sample_size(0.4, 0.45, method="arcsin"),
         DataError, "did you mean 'arcsine'?"),
        ("achieved_power n 0", lambda: ex.achieved_power(0, 0.4, 0.45), DataError,
         "n_per_arm=0 must be positive"),
        ("minimum_detectable_effect n negative", lambda: ex.minimum_detectable_effect(-5, 0.4),
         DataError, "n_per_arm=-5 must be positive"),
        ("retention_test control missing", lambda: ex.retention_test(ARMS, control="ctrl"),
         DataError, "arm 'ctrl' has no customers to analyse"),
        ("retention_test outcome 2", lambda: ex.retention_test(ARMS.assign(retained_90d=2)),
         DataError, "must be 0/1 (or True/False)"),
        ("retention_test outcome NaN", lambda: ex.retention_test(ARMS.assign(
            retained_90d=math.nan)), DataError, "is missing for customers who count"),
        ("retention_test one arm", lambda: ex.retention_test(ARMS.assign(arm="control")),
         DataError, "only one arm ('control') to analyse"),
        ("retention_test alpha percentage", lambda: ex.retention_test(ARMS, alpha=5),
         DataError, f"alpha=5 {PERCENT}"),
        ("retention_test correction misspelt", lambda: ex.retention_test(
            ARMS, correction="bonferoni"), DataError, "did you mean 'bonferroni'?"),
        ("retention_test reached column missing", lambda: ex.retention_test(
            ARMS.drop(columns="reached_horizon")), DataError,
         "the experiment data has no column 'reached_horizon'"),
        ("compare_survival horizon negative", lambda: ex.compare_survival(SURV, horizon=-1),
         DataError, "horizon=-1 must be positive"),
        ("compare_survival control missing", lambda: ex.compare_survival(
            SURV, horizon=10, control="ctrl"), DataError, "arm 'ctrl' has no customers"),
        ("programme_roi cost negative", lambda: ex.programme_roi(
            0.05, **{**ROI, "cost_per_treated": -2}), DataError,
         "cost_per_treated=-2 has the wrong sign"),
        ("programme_roi discount percentage", lambda: ex.programme_roi(
            0.05, **{**ROI, "discount_rate": 5}), DataError, "discount_rate=5 looks like a "
         "percentage"),
        ("programme_roi nobody treated", lambda: ex.programme_roi(
            0.05, **{**ROI, "n_treated": 0}), DataError, f"n_treated {WHOLE} >= 1, got 0"),
        ("programme_roi effect NaN", lambda: ex.programme_roi(math.nan, **ROI), DataError,
         "effect=nan is not a finite number"),
        ("churn_reduction_value retention percentage", lambda: ex.churn_reduction_value(
            10, 80, 0.1), DataError, f"retention_rate=80 {PERCENT}"),
        ("clv_by_retention rate 1", lambda: ex.clv_by_retention(10, 0.1, [0.5, 1.0]),
         DataError, "retention_rates must be fractions in [0, 1)"),
        ("peeking n_looks 0", lambda: ex.peeking_simulation(n_looks=0, random_state=0),
         DataError, f"n_looks {WHOLE} >= 1, got 0"),
        ("qini lengths differ", lambda: ex.qini_curve([0.1, 0.2], [True], [1, 0]), DataError,
         "must be non-empty and of equal length"),
        ("project_churn_reduction unfitted", lambda: ex.project_churn_reduction(
            SBG(), periods=12, discount_rate=0.01), DataError, "pass a fitted model"),
        ("shift_dropout both shifts", lambda: ex.shift_dropout(
            SBG_P, reduction=0.1, relative=0.1), DataError,
         "give exactly one of reduction= (points) and relative= (share)"),
    ])


def _reports():
    from retention_kit.reports.settings import check_parameters

    def settings(**kw):
        return lambda: check_parameters(client_id=kw.pop("client_id", "retailer"), **kw)

    return rows("reports settings", [
        ("period month", settings(period="month"), ValueError, "did you mean 'M'?"),
        ("forecast_months 0", settings(forecast_months=0), DataError,
         "forecast_months=0 is not a whole number from 1 to 120"),
        ("forecast_months 121", settings(forecast_months=121), DataError,
         "forecast_months=121 is not a whole number from 1 to 120"),
        ("forecast_months bool", settings(forecast_months=True), DataError,
         "forecast_months=True is not a number"),
        ("discount_rate 1", settings(discount_rate=1), DataError,
         "discount_rate=1 is outside [0, 0.5]"),
        ("discount_rate percentage", settings(discount_rate=5), DataError,
         "5 looks like a percentage, pass 0.05"),
        ("margin percentage", settings(margin=30), DataError,
         "30 looks like a percentage, pass 0.3"),
        ("margin 0", settings(margin=0), DataError, "margin=0 is outside [0.01, 1]"),
        ("currency euro", settings(currency="euro"), DataError,
         "currency='euro' is not a three-letter code"),
        ("inactivity_days 3", settings(inactivity_days=3), DataError,
         "inactivity_days=3 is not a whole number from 7 to 1095"),
        ("holdout_months 30", settings(holdout_months=30), DataError,
         "holdout_months=30 is not a whole number from 1 to 24"),
        ("fast as text", settings(fast="yes"), DataError, "fast='yes' is not True or False"),
        ("client_id empty", settings(client_id=""), DataError, "client_id='' is empty"),
        ("client_id misspelt", settings(client_id="retailr"), ValueError,
         "did you mean 'retailer'?"),
        ("data_dir missing", settings(client_id="x", data_dir="/nonexistent/x"), DataError,
         "the data folder '/nonexistent/x' of client 'x' does not exist"),
        ("observation_end not a date", settings(observation_end="soon"), DataError,
         "observation_end='soon' is not a date"),
        ("spec not JSON", settings(spec="{bad"), DataError, "parameter spec is not JSON"),
        ("spec key misspelt", settings(spec='{"custmer": "id"}'), DataError,
         "did you mean 'customer'?"),
    ])


# Found by this matrix as bugs, fixed in models/ (kept as ordinary cases).
JSON_FIELDS = rows("models: from_json", [
    ("model null", lambda: BGNBD.from_json(json_with(model=None)), DataError, "'model'"),
    ("time_unit a list", lambda: BGNBD.from_json(json_with(time_unit=[])), DataError,
     "'time_unit'"),
    ("n_obs negative", lambda: BGNBD.from_json(json_with(n_obs=-1)), DataError, "'n_obs'"),
    ("n_iter fractional", lambda: BGNBD.from_json(json_with(n_iter=2.5)), DataError,
     "'n_iter'"),
]) + rows("correct result", [
    ("BG/NBD predictions at valid large r", lambda: BGNBD.from_params(
        {"r": 1e8, "alpha": 4.41, "a": 0.79, "b": 2.43}).expected_purchases(CDNOW.head(5), 10),
     None, lambda out: bool(np.isfinite(out).all())),
    ("BG/NBD predictions at small alpha, a, b", lambda: BGNBD.from_params(
        {"r": 10, "alpha": 0.001, "a": 0.001, "b": 0.001}).expected_purchases(CDNOW.head(5), 10),
     None, lambda out: bool(np.isfinite(out).all())),
])


CASES: list[Case] = (
    rows("models: options", MODEL_OPTIONS) + rows("models: data", MODEL_DATA)
    + rows("models: from_json", FROM_JSON) + rows("models: from_params", FROM_PARAMS)
    + rows("clv", CLV_AND_METRICS[:5]) + rows("metrics", CLV_AND_METRICS[5:7])
    + rows("models: predictions", CLV_AND_METRICS[7:8])
    + rows("data: pandas", CLV_AND_METRICS[8:]) + rows("experiments", EXPERIMENTS)
    + _per_model() + PREDICTIONS + CLV + METRICS + COHORTS + SEGMENTS + _experiments()
    + _reports() + DATA + CORRECT + JSON_FIELDS
)


def counts() -> Counter:
    """Cases per class (the closing note of the issue prints them)."""
    return Counter(case.CLASS for case in CASES)


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=f"{case.CLASS} | {case.name}", marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_gets_a_specific_error(case: Case) -> None:
    if case.error is None:
        result = case.call()
        assert case.fragment(result), f"{case.name}: wrong result {result!r}"
        return
    with pytest.raises(case.error) as err:
        case.call()
    assert case.fragment in str(err.value), f"{case.name}: {err.value}"
    if isinstance(err.value, DataError):
        assert err.value.fix, f"{case.name}: no fix in {err.value}"


def test_the_matrix_covers_every_class_with_enough_cases() -> None:
    per_class = counts()
    assert sum(per_class.values()) >= 250
    pandas_cases = {c.name for c in CASES if c.CLASS == "data: pandas"}
    for case in CASES:  # every DuckDB case has a pandas twin with the same fragment
        if case.CLASS == "data: DuckDB":
            assert case.name.replace(" of a CSV file", "") in pandas_cases, case.name
    for cls in ("data: pandas", "data: DuckDB", "models: options", "models: from_json",
                "models: from_params", "clv", "metrics", "cohorts", "segments", "experiments",
                "reports settings", "correct result"):
        assert per_class[cls] >= 5, cls


@pytest.mark.parametrize(("name", "build", "kw"), [(n, b, k) for n, b, k, _ in DATA_INPUTS],
                         ids=[n for n, *_ in DATA_INPUTS])
def test_pandas_and_duckdb_say_the_same(name, build, kw) -> None:
    """Same problem, same row count, same fix; only the example's row label differs
    (engine rows have no index). Layout errors are raised before any engine query, so the
    engine does not count the rows then."""
    errors = []
    for engine in ("pandas", "DuckDB"):
        with pytest.raises(DataError) as err:
            rk.rfm_summary(_on(engine, build), **kw)
        errors.append(err.value)
    ours, theirs = errors
    assert (ours.problem, ours.fix) == (theirs.problem, theirs.fix)
    if theirs.n_rows is not None:
        assert ours.n_rows == theirs.n_rows
    if ours.example is not None and "timezone-aware" not in name:  # DuckDB shows UTC
        assert theirs.example.startswith(ours.example.split(": ", 1)[-1]), name


if __name__ == "__main__":  # python tests/test_bad_inputs.py: the counts per class
    for cls, n in sorted(counts().items()):
        print(f"{cls:<22} {n:>4}")
    print(f"{'total':<22} {sum(counts().values()):>4}   "
          f"({sum(1 for c in CASES if c.xfail)} known bugs marked xfail)")


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
