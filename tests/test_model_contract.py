"""The scikit-learn contract, checked once for every model (DESIGN.md, "Models follow ...").

Each model is fitted on small bundled data of its own shape (customer histories, the
donations' weighted rows, repeat customers' spend, contract durations), relabelled with
string ids in a shuffled order and carrying ``attrs``, so that "a Series on the input's
index" and "does not mutate the input" mean something. Model-specific numbers (published
estimates, reprs with values) stay in the per-model test files.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import retention_kit.models as models
from retention_kit.datasets import load_cdnow_summary, load_donations, load_sbg_cohorts
from retention_kit.errors import DataError, NotFittedError
from retention_kit.models import BGBB, BGNBD, MBGNBD, SBG, BdW, GammaGamma, ParetoNBD

#: Keys of ``to_json`` (persisted files depend on them).
JSON_KEYS = {"model", "retention_kit", "options", "params", "cov_log", "loglik", "n_obs",
             "n_iter", "converged", "boundary", "limit", "limits", "time_unit"}
#: Learned state every fitted model has.
FITTED_ATTRIBUTES = {"params_", "se_", "cov_", "loglik_", "n_obs_", "converged_", "n_iter_",
                     "time_unit_", "boundary_", "limit_", "limits_"}

Prediction = Callable[[Any, pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Case:
    """A model class, data of its shape, and its per-customer predictions."""

    cls: type
    data: Callable[[], pd.DataFrame]
    predictions: dict[str, Prediction]
    fit_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Calls that need no data (new-customer predictions); unfitted, they raise too.
    other_calls: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


def relabelled(frame: pd.DataFrame, prefix: str, **attrs: Any) -> pd.DataFrame:
    """The rows in a fixed shuffled order, with string ids and ``attrs``."""
    order = np.random.default_rng(0).permutation(len(frame))
    out = frame.iloc[order].copy()
    out.index = pd.Index([f"{prefix}{i}" for i in order], name="customer_id")
    out.attrs.update({"source": "contract test", **attrs})
    return out


def histories() -> pd.DataFrame:
    return relabelled(load_cdnow_summary()[["frequency", "recency", "T"]], "c", time_unit="W")


def spend() -> pd.DataFrame:
    cdnow = load_cdnow_summary()
    return relabelled(cdnow.loc[cdnow["frequency"] > 0, ["frequency", "monetary_value"]], "c",
                      time_unit="W")


def donations() -> pd.DataFrame:
    return relabelled(load_donations(), "d")


def durations() -> pd.DataFrame:
    customers = load_sbg_cohorts().customers
    regular = customers.loc[customers["cohort"] == "regular", ["duration", "churned"]]
    return relabelled(regular, "s", time_unit="Y")


CONTINUOUS = {
    "expected_purchases": lambda m, d: m.expected_purchases(d, 10.0),
    "probability_alive": lambda m, d: m.probability_alive(d),
    "probability_alive_later": lambda m, d: m.probability_alive(d, t=5.0),
}
CONTINUOUS_NEW = {
    "expected_purchases_new": lambda m: m.expected_purchases_new(10.0),
    "probability_of_purchases": lambda m: m.probability_of_purchases(2, 10.0),
}
DURATION = {
    # The contractual models predict from a customer's duration (a Series in, a Series out).
    "expected_residual_lifetime": lambda m, d: m.expected_residual_lifetime(d["duration"], 0.1),
    "retention_rate": lambda m, d: m.retention_rate(d["duration"]),
    "survival": lambda m, d: m.survival(d["duration"]),
}
DURATION_NEW = {
    "expected_lifetime": lambda m: m.expected_lifetime(0.1),
    "probability_of_churn": lambda m: m.probability_of_churn(3),
}

CASES = [
    Case(BGNBD, histories, CONTINUOUS, other_calls=CONTINUOUS_NEW),
    Case(MBGNBD, histories, CONTINUOUS, other_calls=CONTINUOUS_NEW),
    Case(ParetoNBD, histories,
         {**CONTINUOUS,
          "expected_residual_lifetime": lambda m, d: m.expected_residual_lifetime(d, 0.01)},
         other_calls=CONTINUOUS_NEW),
    Case(BGBB, donations,
         {"expected_purchases": lambda m, d: m.expected_purchases(d, 5),
          "probability_alive": lambda m, d: m.probability_alive(d, 2),
          "expected_residual_lifetime": lambda m, d: m.expected_residual_lifetime(d, 0.1)},
         fit_kwargs={"weights": "weights"},
         other_calls={"expected_purchases_new": lambda m: m.expected_purchases_new(5),
                      "probability_of_purchases": lambda m: m.probability_of_purchases(2, 6)}),
    Case(GammaGamma, spend, {"expected_spend": lambda m, d: m.expected_spend(d)},
         other_calls={"expected_spend_new": lambda m: m.expected_spend_new()}),
    Case(SBG, durations, DURATION, other_calls=DURATION_NEW),
    Case(BdW, durations, DURATION, other_calls=DURATION_NEW),
]


@dataclass
class Fitted:
    case: Case
    data: pd.DataFrame
    before: pd.DataFrame  # deep copy of the data before the fit
    model: Any
    returned: Any  # what fit returned


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.cls.__name__)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


@pytest.fixture(scope="module")
def fitted(case: Case) -> Fitted:
    data = case.data()
    before = copy.deepcopy(data)
    model = case.cls()
    returned = model.fit(data, **case.fit_kwargs)
    return Fitted(case, data, before, model, returned)


def assert_unchanged(data: pd.DataFrame, before: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert data.attrs == before.attrs


def assert_same_predictions(a: Any, b: Any, fit: Fitted) -> None:
    for name, predict in fit.case.predictions.items():
        pd.testing.assert_series_equal(predict(a, fit.data), predict(b, fit.data), obj=name)
    for name, call in fit.case.other_calls.items():
        np.testing.assert_array_equal(call(a), call(b), err_msg=name)


# ----------------------------------------------------------------- coverage


def test_every_model_is_checked() -> None:
    exported = {getattr(models, name) for name in models.__all__}
    classes = {obj for obj in exported if inspect.isclass(obj)}
    assert classes == {c.cls for c in CASES}


def test_models_do_not_import_the_package_root() -> None:
    # The version comes from the package metadata: models import only lower layers.
    for path in Path(models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                root = (node.level == 2 and node.module is None
                        or node.level == 0 and node.module == "retention_kit")
                assert not root, f"{path.name}:{node.lineno} imports the package root"


# ----------------------------------------------------------------- constructor and options


def test_constructor_only_stores_options(case: Case) -> None:
    model = case.cls()
    signature = inspect.signature(case.cls.__init__)
    options = {n for n in signature.parameters if n != "self"}
    assert set(model.get_params(deep=False)) == options
    assert vars(model) == model.get_params(deep=False)
    given = {"penalizer": 0.01, "tol": 1e-7, "max_iter": 321,
             "initial_params": dict.fromkeys(case.cls.param_names, 1.5)}
    assert case.cls(**given).get_params() == given
    # ... and validates nothing: bad options fail at fit, as in scikit-learn.
    assert case.cls(tol="not a number", max_iter=-1).tol == "not a number"


def test_set_params_returns_self_and_refuses_unknown_names(case: Case) -> None:
    model = case.cls()
    assert model.set_params(max_iter=55, tol=1e-6) is model
    assert model.max_iter == 55 and model.tol == 1e-6
    assert model.set_params() is model
    with pytest.raises(ValueError, match=rf"'max_iterations' is not an option of "
                                         rf"{case.cls.__name__}"):
        model.set_params(max_iterations=10)


def test_clone_gives_an_unfitted_model_with_the_same_options(fitted: Fitted) -> None:
    cls = fitted.case.cls
    options = {"penalizer": 0.001, "tol": 1e-9, "max_iter": 500,
               "initial_params": dict.fromkeys(cls.param_names, 2.0)}
    model = cls(**options)
    copied = clone(model)
    assert type(copied) is cls and copied is not model
    assert copied.get_params() == options
    assert copied.initial_params is not model.initial_params
    again = clone(fitted.model)
    assert type(again) is cls and not hasattr(again, "params_")
    assert again.get_params() == fitted.model.get_params()
    assert repr(again) == f"{cls.__name__}(unfitted)"


# ----------------------------------------------------------------- fit


def test_fit_returns_self(fitted: Fitted) -> None:
    assert fitted.returned is fitted.model


def test_learned_state_ends_in_underscore(fitted: Fitted) -> None:
    model, cls = fitted.model, fitted.case.cls
    assert FITTED_ATTRIBUTES <= set(vars(model))
    learned = set(vars(model)) - set(vars(cls()))
    public = {name for name in learned if not name.startswith("_")}
    assert public and all(name.endswith("_") for name in public), public
    # Fitting leaves the options as given.
    assert model.get_params() == cls().get_params()


def test_fit_and_predict_do_not_mutate_the_input(fitted: Fitted) -> None:
    assert_unchanged(fitted.data, fitted.before)
    for predict in fitted.case.predictions.values():
        predict(fitted.model, fitted.data)
    assert_unchanged(fitted.data, fitted.before)


def test_refit_gives_identical_estimates(fitted: Fitted) -> None:
    again = clone(fitted.model).fit(fitted.data, **fitted.case.fit_kwargs)
    assert again.params_.equals(fitted.model.params_)
    assert again.cov_.equals(fitted.model.cov_)
    assert again.loglik_ == fitted.model.loglik_


def _arrays_in(value: Any, depth: int = 0):
    """Array-like objects in an attribute value, looking into containers."""
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index | np.ndarray):
        yield value
    elif depth < 3 and isinstance(value, dict):
        for v in value.values():
            yield from _arrays_in(v, depth + 1)
    elif depth < 3 and isinstance(value, list | tuple | set):
        for v in value:
            yield from _arrays_in(v, depth + 1)


def test_a_fitted_model_keeps_no_reference_to_the_data(fitted: Fitted) -> None:
    k = len(fitted.case.cls.param_names)
    for name, value in vars(fitted.model).items():
        assert value is not fitted.data, name
        for array in _arrays_in(value):
            # Parameters, standard errors and covariances only: nothing per customer
            # (nor per distinct history).
            assert np.shape(array) in {(k,), (k, k)}, (name, np.shape(array))


# ----------------------------------------------------------------- predictions


def test_predictions_are_series_on_the_input_index(fitted: Fitted) -> None:
    subset = fitted.data.iloc[::-3]
    for name, predict in fitted.case.predictions.items():
        whole = predict(fitted.model, fitted.data)
        assert isinstance(whole, pd.Series), name
        assert whole.index.equals(fitted.data.index), name
        part = predict(fitted.model, subset)
        assert part.index.equals(subset.index), name
        # Each row's prediction depends on that row only.
        pd.testing.assert_series_equal(part, whole.loc[subset.index], obj=name)


def test_unfitted_predictions_raise_not_fitted(case: Case) -> None:
    model = case.cls()
    data = case.data()
    message = rf"this {case.cls.__name__} is not fitted yet: call \.fit\(data\) first"
    calls = {**{n: (lambda m, p=p: p(m, data)) for n, p in case.predictions.items()},
             **case.other_calls, "summary": lambda m: m.summary(),
             "to_json": lambda m: m.to_json()}
    for name, call in calls.items():
        with pytest.raises(NotFittedError, match=message):
            call(model)
        assert not hasattr(model, "params_"), name
    assert repr(model) == f"{case.cls.__name__}(unfitted)"
    assert "(unfitted)" in model._repr_html_()


# ----------------------------------------------------------------- persistence


def test_json_round_trip_predicts_identically(fitted: Fitted) -> None:
    model, cls = fitted.model, fitted.case.cls
    text = model.to_json()
    payload = json.loads(text)
    assert set(payload) == JSON_KEYS
    assert payload["model"] == cls.__name__ and list(payload["params"]) == list(cls.param_names)
    assert isinstance(payload["retention_kit"], str) and payload["retention_kit"]
    loaded = cls.from_json(text)
    assert type(loaded) is cls
    pd.testing.assert_series_equal(loaded.params_, model.params_, check_exact=True)
    pd.testing.assert_frame_equal(loaded.cov_, model.cov_, rtol=1e-12)
    for name in ("loglik_", "n_obs_", "n_iter_", "converged_", "time_unit_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert loaded.time_unit_ == fitted.data.attrs.get("time_unit")
    assert loaded.get_params() == model.get_params()
    assert repr(loaded) == repr(model)
    assert_same_predictions(loaded, model, fitted)


def test_from_params_predicts_identically(fitted: Fitted) -> None:
    model, cls = fitted.model, fitted.case.cls
    given = cls.from_params(model.params_.to_dict(), time_unit=model.time_unit_)
    assert_same_predictions(given, model, fitted)
    assert given.time_unit_ == model.time_unit_ and given.n_obs_ == 0
    assert np.isnan(given.se_).all() and math.isnan(given.loglik_)
    assert repr(given).endswith("; given parameters)")
    # A model with given parameters survives JSON too.
    assert_same_predictions(cls.from_json(given.to_json()), model, fitted)
    bad = {**model.params_.to_dict(), cls.param_names[-1]: -1.0}
    with pytest.raises(DataError, match=rf"{cls.__name__} needs positive values for "
                                        rf"\['{cls.param_names[0]}'"):
        cls.from_params(bad)


def test_json_of_another_model_class_is_refused(fitted: Fitted) -> None:
    name = fitted.case.cls.__name__
    other = next(c.cls for c in CASES if c.cls is not fitted.case.cls)
    with pytest.raises(DataError, match=rf"holds a '{name}' model, not a {other.__name__}"
                                        rf".*load it with {name}"):
        other.from_json(fitted.model.to_json())
