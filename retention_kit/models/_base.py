"""The one shallow base class of the maximum-likelihood models.

A model is its log-likelihood (with an exact gradient) and its predictions, written as
pure functions of the parameter vector, plus a thin class deriving from :class:`Model`.
The base class does what every model shares:

* validate the per-customer frame and compress it to its *unique* rows with weights, so
  fitting cost grows with the number of distinct histories, not customers;
* maximise the weighted log-likelihood over log-parameters with scipy's BFGS and the
  model's exact gradient, from deterministic starting values (two fits, same result);
* covariance of the estimates by the delta method from the Hessian on the log scale
  (differences of the exact gradient); a singular Hessian gives NaN standard errors and a
  :class:`~retention_kit.errors.NumericalWarning`, not a crash;
* ``summary()``, a short repr, an HTML table in Jupyter, and JSON persistence (no pickle);
* ``get_params``/``set_params`` by constructor introspection, as scikit-learn does, so
  ``sklearn.base.clone`` and parameter searches work (scikit-learn is not imported).

Subclasses set ``param_names`` and ``data_columns`` and implement ``_loglik_grad``,
``_start`` and, if they have model-specific data rules, ``_check_data``.
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._checks import between, choice, suggest, whole
from ..data import validate_summary
from ..errors import ConvergenceError, DataError, NotFittedError, NumericalWarning
from ..units import TIME_UNITS

__all__ = ["Model"]

#: Model inputs by column name (float arrays), plus any extras ``_prepare_columns`` adds.
Columns = dict[str, Any]


class Model:
    """Base class: maximum-likelihood fit on log-parameters, shared reporting and I/O.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``penalizer * sum(params**2)`` subtracted from the mean
        log-likelihood (as in ``lifetimes``). With a penalty the estimates are no
        longer maximum-likelihood ones; keep 0 to reproduce the papers.
    tol : float, default 1e-8
        Gradient tolerance of the optimiser, on the per-customer log-likelihood.
    max_iter : int, default 1000
        Maximum optimiser iterations.
    initial_params : mapping, optional
        Starting values by parameter name (positive); default: the model's own
        deterministic start.

    The constructor validates nothing and only stores the options.

    Attributes
    ----------
    params_, se_, cov_ : Series, Series, DataFrame
        Estimates, standard errors and covariance (delta method on the log scale).
    loglik_ : float
        Log-likelihood at the estimate (NaN for given parameters).
    converged_ : bool
        The optimiser reached a maximum (False for given parameters).
    boundary_ : str or None
        None for an interior maximum. Otherwise the maximum lies on the edge of the
        parameter space (for example no dropout, or no heterogeneity); the sentence says
        which limiting model the data support, and predictions use that limit.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    data_columns: ClassVar[tuple[str, ...]] = ()
    #: Columns that must be integers (validated); the others may be fractional.
    integer_columns: ClassVar[tuple[str, ...]] = ()
    #: Fit on the distinct rows with weights. A model whose data are continuous (mean
    #: spend) gains nothing from it and skips the grouping.
    compress_rows: ClassVar[bool] = True
    #: What a user can do when a fit of this model fails, written for the model's own data
    #: (quoted in every :class:`~retention_kit.errors.ConvergenceError` the base raises).
    convergence_remedies: ClassVar[str] = (
        "check the time unit (recency and T in weeks or months rather than days), pass "
        "initial_params near plausible values, raise max_iter, add a small penalizer "
        "(e.g. 0.001), or drop customers with extreme histories")

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-8, max_iter: int = 1000,
                 initial_params: Mapping[str, float] | None = None) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.initial_params = initial_params

    # ------------------------------------------------------------------ options

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """Names of the constructor's arguments (the options), sorted."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for param in inspect.signature(init).parameters.values():
            if param.name == "self" or param.kind is param.VAR_KEYWORD:
                continue
            if param.kind is param.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ takes *args; the options of a "
                                "model must be named arguments")
            names.append(param.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The model's options (its constructor arguments), as scikit-learn's.

        Parameters
        ----------
        deep : bool, default True
            Also list the options of options that have ``get_params`` themselves, as
            ``option__name`` (none of the models has such an option today).

        Returns
        -------
        dict
            Option name to value; learned state (``params_``...) is not included.

        Examples
        --------
        >>> from retention_kit.models import BGNBD
        >>> BGNBD(penalizer=0.001).get_params()
        {'initial_params': None, 'max_iter': 1000, 'penalizer': 0.001, 'tol': 1e-08}
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", v) for key, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Self:
        """Set options (constructor arguments) by name, as scikit-learn's.

        The new options apply at the next :meth:`fit`; a fitted model keeps its estimates.

        Parameters
        ----------
        **params
            Option names and values; ``option__name`` sets an option of an option.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a name is not an option of the model.

        Examples
        --------
        >>> from retention_kit.models import BGNBD
        >>> BGNBD().set_params(max_iter=200).max_iter
        200
        """
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"{name!r} is not an option of {type(self).__name__}; its "
                                 f"options are {self._get_param_names()}")
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    # ------------------------------------------------------------------ to implement

    def _loglik_grad(self, params: np.ndarray, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        """Per-row log-likelihood (n,) and its gradient in the natural parameters (n, k)."""
        raise NotImplementedError

    def _start(self, cols: Columns, weights: np.ndarray) -> np.ndarray:
        """Deterministic positive starting values."""
        return np.ones(len(self.param_names))

    def _check_data(self, data: pd.DataFrame) -> None:
        """Model-specific data rules beyond :func:`~retention_kit.data.validate_summary`."""

    def _identification_problem(self, cols: Columns, weights: np.ndarray) -> str | None:
        """Why these data cannot identify the model's parameters (plain words), or None.

        Checked before the optimiser runs, so that a fit never returns start values or
        parameters running off to the boundary without saying why.
        """
        return None

    def _prepare_columns(self, cols: Columns) -> Columns:
        """Precompute what the likelihood needs once per fit (e.g. distinct values)."""
        return cols

    # ------------------------------------------------------------------ data handling

    def _options(self) -> dict[str, Any]:
        return {"penalizer": self.penalizer, "tol": self.tol, "max_iter": self.max_iter,
                "initial_params": None if self.initial_params is None
                else {k: float(v) for k, v in dict(self.initial_params).items()}}

    def _validated(self, data: pd.DataFrame, weights: str | None = None) -> pd.DataFrame:
        validate_summary(data, columns=self.data_columns, weights=weights,
                         integer_columns=self.integer_columns)
        self._check_data(data)
        return data

    def _weights(self, data: pd.DataFrame, weights: str | Sequence[float] | np.ndarray | None,
                 ) -> np.ndarray:
        if weights is None:
            return np.ones(len(data))
        if isinstance(weights, str):
            w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(data),):
                raise DataError(
                    f"weights has shape {w.shape} but the data have {len(data):,} rows",
                    fix="pass one weight per row, or the name of a weights column")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError("weights must be finite and non-negative", n_rows=int(bad.sum()),
                            example=f"row {data.index[first]!r}: weight {w[first]}",
                            fix="weights count customers with that history; repair them")
        if w.sum() <= 0:
            raise DataError("the weights sum to 0", n_rows=len(data),
                            fix="at least one customer must have a positive weight")
        return w

    def _unique_rows(self, data: pd.DataFrame, w: np.ndarray) -> tuple[Columns, np.ndarray]:
        if not self.compress_rows:
            keep = w > 0
            return {c: data[c].to_numpy(dtype=float)[keep] for c in self.data_columns}, w[keep]
        arrays = [data[c].to_numpy(dtype=float) for c in self.data_columns]
        # Each column's values as sorted codes, combined into one integer key per row (in
        # the lexicographic order of the columns); twice as fast as a groupby on the
        # float columns. Falls back to the groupby if the key could overflow int64.
        factored = [pd.factorize(a, sort=True) for a in arrays]
        sizes = [len(u) for _, u in factored]
        if float(np.prod(np.array(sizes, dtype=float))) < 2.0**62:
            key = np.zeros(len(w), dtype=np.int64)
            for codes, uniques in factored:
                key = key * len(uniques) + codes
            row_codes, keys = pd.factorize(key, sort=True)
            totals = np.bincount(row_codes, weights=w, minlength=len(keys))
            values = {}
            for c, (_, uniques) in zip(reversed(self.data_columns), reversed(factored),
                                       strict=True):
                values[c] = np.asarray(uniques, dtype=float)[keys % len(uniques)]
                keys = keys // len(uniques)
            keep = totals > 0
            return {c: values[c][keep] for c in self.data_columns}, totals[keep]
        frame = pd.DataFrame(dict(zip(self.data_columns, arrays, strict=True)))
        frame["__w"] = w
        grouped = frame.groupby(list(self.data_columns), sort=True)["__w"].sum()
        grouped = grouped[grouped > 0]
        index = grouped.index.to_frame(index=False)
        cols = {c: index[c].to_numpy(dtype=float) for c in self.data_columns}
        return cols, grouped.to_numpy(dtype=float)

    def _columns(self, data: pd.DataFrame) -> Columns:
        """Validated prediction inputs as float arrays (rows as given)."""
        self._check_fitted()
        self._validated(data)
        return {c: data[c].to_numpy(dtype=float) for c in self.data_columns}

    # ------------------------------------------------------------------ fitting

    @property
    def min_customers(self) -> int:
        """Fewest customers a fit accepts: 10 per parameter (a rule of thumb)."""
        return 10 * len(self.param_names)

    def fit(self, data: pd.DataFrame, *, weights: str | Sequence[float] | np.ndarray | None = None,
            ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        data : DataFrame
            One row per customer (or per distinct history, with ``weights``) with the
            model's columns (``data_columns``).
        weights : str or array-like, optional
            Number of customers each row stands for: a column name or one value per
            row (for example the 22 weighted rows of the donations data).

        Returns
        -------
        self
        """
        self._check_options()
        self._validated(data, weights if isinstance(weights, str) else None)
        cols, uw, n_obs = self._fit_inputs(data, weights)
        start = self._start_values(cols, uw)
        objective = self._objective(cols, uw, n_obs)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            theta, value, grad, hess, res = _maximise(objective, np.log(start), tol=self.tol,
                                                      max_iter=self.max_iter)
        if not np.isfinite(objective(np.log(start))[0]):
            raise ConvergenceError(
                f"{type(self).__name__}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(self.param_names, start.round(6).tolist(), strict=True))}, so the "
                f"optimiser cannot start. Remedies: {self.convergence_remedies}")
        grad_norm = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else np.inf
        converged = bool(np.isfinite(value) and grad_norm < max(1e-5, 100 * self.tol))
        if not converged:
            raise ConvergenceError(
                f"{type(self).__name__} did not converge: optimiser status {res.status} "
                f"({res.message}); largest gradient {grad_norm:.2g} after {res.nit} iterations "
                f"at {dict(zip(self.param_names, np.round(np.exp(theta), 6), strict=True))}. "
                f"Remedies: {self.convergence_remedies}")
        self._store_fit(np.exp(theta), hess, cols, uw, n_obs, converged=converged,
                        n_iter=int(res.nit), time_unit=data.attrs.get("time_unit"))
        return self

    def _check_options(self) -> None:
        """The options by the package's rules (the constructor only stores them)."""
        name = type(self).__name__
        between("penalizer", self.penalizer, 0.0, math.inf, high_inclusive=False,
                        hint=f"a penalty >= 0 such as 0.001; 0 reproduces the papers ({name})")
        between("tol", self.tol, 0.0, 1.0, low_inclusive=False,
                        hint="a small positive gradient tolerance such as 1e-8")
        whole("max_iter", self.max_iter, minimum=1, maximum=1_000_000,
                      hint="an iteration limit such as 1000")
        if self.initial_params is not None:
            _check_param_values(type(self), self.initial_params, "initial_params")

    def _fit_inputs(self, data: pd.DataFrame, weights: str | Sequence[float] | None,
                    ) -> tuple[Columns, np.ndarray, float]:
        """The distinct histories, their weights and the number of customers (checked)."""
        w = self._weights(data, weights)
        n_obs = float(w.sum())
        if n_obs < self.min_customers:
            raise DataError(
                f"{type(self).__name__} needs at least {self.min_customers} customers to "
                f"estimate {len(self.param_names)} parameters; the data have {n_obs:g}",
                n_rows=len(data), fix="pool more customers (or cohorts) before fitting")
        cols, uw = self._unique_rows(data, w)
        cols = self._prepare_columns(cols)
        problem = self._identification_problem(cols, uw)
        if problem is not None:
            raise ConvergenceError(f"{type(self).__name__} cannot be fitted to these data: "
                                   f"{problem}")
        if len(uw) < len(self.param_names):
            raise DataError(
                f"only {len(uw)} distinct customer histories for {len(self.param_names)} "
                "parameters, so the model is not identified", n_rows=len(data),
                fix="fit on a longer window or more varied customers")
        return cols, uw, n_obs

    def _start_values(self, cols: Columns, uw: np.ndarray) -> np.ndarray:
        """``initial_params`` if given, else the model's deterministic start."""
        k = len(self.param_names)
        if self.initial_params is not None:
            start = np.array([float(self.initial_params[p]) for p in self.param_names])
        else:
            start = np.asarray(self._start(cols, uw), dtype=float)
        if start.shape != (k,) or not np.all(start > 0):
            raise ValueError(f"starting values must be {k} positive numbers, got {start}")
        return start

    def _objective(self, cols: Columns, uw: np.ndarray, n_obs: float,
                   ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """Minus the mean penalised log-likelihood and its gradient, in log-parameters."""
        k = len(self.param_names)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            ll, grad = self._loglik_grad(params, cols)
            value = float(uw @ ll) / n_obs - self.penalizer * float(params @ params)
            g = (uw @ grad) / n_obs - 2 * self.penalizer * params
            if not np.isfinite(value) or not np.all(np.isfinite(g)):
                return np.inf, np.zeros(k)
            return -value, -g * params

        return objective

    def _store_fit(self, params: np.ndarray, hess: np.ndarray, cols: Columns, uw: np.ndarray,
                   n_obs: float, *, converged: bool, n_iter: int, time_unit: str | None) -> None:
        """The learned state: estimates, log-likelihood, covariance by the delta method."""
        names = list(self.param_names)
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.loglik_ = float(uw @ self._loglik_grad(params, cols)[0])
        self.n_obs_ = int(round(n_obs)) if float(n_obs).is_integer() else n_obs
        self.converged_ = converged
        self.boundary_: str | None = None
        self.n_iter_ = n_iter
        self.time_unit_ = time_unit
        cov_log = _invert(hess * n_obs)
        jac = np.diag(params)
        cov = jac @ cov_log @ jac
        cov = (cov + cov.T) / 2
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.se_ = pd.Series(np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan)),
                             index=names, name="std_error")
        self._cov_log = cov_log

    # ------------------------------------------------------------------ reporting

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call .fit(data) first "
                f"(or load a fitted model with {type(self).__name__}.from_json(text))")

    def summary(self, *, confidence: float = 0.95) -> pd.DataFrame:
        """Estimates with standard errors and confidence intervals.

        The interval is computed on the log scale and transformed back
        (``exp(log θ ± z·se_log)``), so it stays positive, like the parameters.

        Returns
        -------
        DataFrame
            Indexed by parameter: ``estimate``, ``std_error``, ``lower``, ``upper``.
        """
        self._check_fitted()
        z = stats.norm.ppf(0.5 + confidence / 2)
        se_log = np.sqrt(np.clip(np.diag(self._cov_log), 0, None))
        se_log = np.where(np.diag(self._cov_log) >= 0, se_log, np.nan)
        log_est = np.log(self.params_.to_numpy())
        return pd.DataFrame({
            "estimate": self.params_.to_numpy(),
            "std_error": self.se_.to_numpy(),
            "lower": np.exp(log_est - z * se_log),
            "upper": np.exp(log_est + z * se_log),
        }, index=pd.Index(self.param_names, name="parameter"))

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"{name}(unfitted)"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        if not self.n_obs_:
            return f"{name}({params}; given parameters)"
        return f"{name}({params}; n={self.n_obs_:,}, loglik={self.loglik_:.2f})"

    def _repr_html_(self) -> str:
        if not hasattr(self, "params_"):
            return f"<p><b>{type(self).__name__}</b> (unfitted)</p>"
        head = (f"<p><b>{type(self).__name__}</b>: {self.n_obs_:,} customers, "
                f"log-likelihood {self.loglik_:,.2f}</p>")
        return head + self.summary().to_html(float_format=lambda v: f"{v:.4g}")

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> str:
        """The fitted model as JSON: class, options, parameters, covariance, versions."""
        self._check_fitted()
        payload = {
            "model": type(self).__name__,
            "retention_kit": _package_version(),
            "options": self._options(),
            "params": {k: float(v) for k, v in self.params_.items()},
            "cov_log": np.asarray(self._cov_log, dtype=float).tolist(),
            "loglik": self.loglik_,
            "n_obs": self.n_obs_,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
            "boundary": self.boundary_,
            "time_unit": self.time_unit_,
        }
        return json.dumps(payload, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Rebuild a fitted model written by :meth:`to_json` of the same class.

        Everything is checked as a fit's output would be: the model name, the options,
        positive finite parameters, a symmetric positive semi-definite covariance of the
        right shape (or all NaN for given parameters), a known time unit, ``converged`` a
        true boolean. A corrupted or hand-edited file gives one :class:`DataError`.

        Examples
        --------
        >>> from retention_kit.models import BGNBD
        >>> BGNBD.from_json('{"model": "BGNBD", "params": {"r": -1}}')
        Traceback (most recent call last):
        ...
        retention_kit.errors.DataError: this JSON is not a fitted BGNBD: it has no 'options'.
        How to fix: write it with BGNBD.to_json() and load it unchanged.
        """
        payload = _json_payload(cls, text)
        unknown = sorted(set(payload["options"]) - set(cls._get_param_names()))
        if unknown:
            raise _json_error(cls, f"unknown option {unknown[0]!r} in 'options'")
        model = cls(**payload["options"])
        model._check_options()
        params = _check_param_values(cls, payload["params"], "params")
        k = len(cls.param_names)
        cov_log = _check_covariance(cls, payload["cov_log"], k)
        model.params_ = pd.Series(params, index=list(cls.param_names), name="estimate")
        model._cov_log = cov_log
        jac = np.diag(params)
        model.cov_ = pd.DataFrame(jac @ cov_log @ jac, index=list(cls.param_names),
                                  columns=list(cls.param_names))
        diag = np.diag(model.cov_.to_numpy())
        model.se_ = pd.Series(np.sqrt(np.where(diag >= 0, diag, np.nan)),
                              index=list(cls.param_names), name="std_error")
        model.loglik_ = _json_number(cls, payload, "loglik", allow_nan=True)
        n_obs = _json_number(cls, payload, "n_obs")
        model.n_obs_ = int(n_obs) if float(n_obs).is_integer() else n_obs
        model.n_iter_ = int(_json_number(cls, payload, "n_iter"))
        if not isinstance(payload["converged"], bool):
            raise _json_error(cls, f"'converged' is {payload['converged']!r}, not true or false")
        model.converged_ = payload["converged"]
        boundary = payload.get("boundary")
        if boundary is not None and not isinstance(boundary, str):
            raise _json_error(cls, f"'boundary' is {boundary!r}, not a sentence or null")
        model.boundary_ = boundary
        unit = payload.get("time_unit")
        if unit is not None and unit not in TIME_UNITS:
            raise _json_error(cls, f"'time_unit' is {unit!r}, not one of {list(TIME_UNITS)}")
        model.time_unit_ = unit
        return model

    @classmethod
    def from_params(cls, params: Mapping[str, float], *, time_unit: str | None = None) -> Self:
        """A model with given parameter values (published ones, or a scenario).

        It predicts like a fitted model; it has no log-likelihood, and its
        covariance is unknown (NaN), so intervals cannot be drawn from it.

        Examples
        --------
        >>> from retention_kit.models import BGNBD
        >>> BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
        BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426; given parameters)
        """
        values = _check_param_values(cls, params, "params")
        if time_unit is not None:
            choice("time_unit", time_unit, tuple(TIME_UNITS))
        model = cls()
        k = len(cls.param_names)
        model.params_ = pd.Series(values, index=list(cls.param_names), name="estimate")
        model._cov_log = np.full((k, k), math.nan)
        model.cov_ = pd.DataFrame(model._cov_log.copy(), index=list(cls.param_names),
                                  columns=list(cls.param_names))
        model.se_ = pd.Series(math.nan, index=list(cls.param_names), name="std_error")
        model.loglik_ = math.nan
        model.n_obs_ = 0
        model.n_iter_ = 0
        model.converged_ = False
        model.boundary_ = None
        model.time_unit_ = time_unit
        return model

    # ------------------------------------------------------------------ helpers

    def _param_tuple(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(float(v) for v in self.params_.to_numpy())

    @staticmethod
    def _series(values: np.ndarray, data: pd.DataFrame, name: str) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=float), index=data.index, name=name)


def repeat_buyers_problem(frequency: np.ndarray, weights: np.ndarray) -> str | None:
    """The identification problem of a repeat-purchase model without repeat buyers, or None.

    With no customer buying twice, the purchase rate and the dropout cannot be told
    apart (the likelihood is maximised at the boundary); with one, nothing is learnt about
    how rates differ between customers.
    """
    repeat = float(weights[np.asarray(frequency) > 0].sum())
    total = float(weights.sum())
    if repeat == 0:
        return (f"all {total:,.0f} customers are one-time buyers (frequency 0), so how often "
                "customers buy and when they leave cannot be told apart. A longer observation "
                "window (customers get time to come back) or a calibration period with repeat "
                "purchases would fix it")
    if repeat < 2:
        return ("only one customer bought more than once, too few to learn how purchase "
                "rates differ between customers. A longer window or more customers would fix it")
    return None


_JSON_KEYS = ("model", "options", "params", "cov_log", "loglik", "n_obs", "n_iter",
              "converged")


def _json_error(cls: type, problem: str) -> DataError:
    return DataError(f"this JSON is not a fitted {cls.__name__}: {problem}",
                     fix=f"write it with {cls.__name__}.to_json() and load it unchanged")


def _json_payload(cls: type, text: object) -> dict[str, Any]:
    """The decoded object of a model's JSON, with its keys and model name checked."""
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(f"{cls.__name__}.from_json takes the JSON text of a fitted model, "
                        f"got {type(text).__name__}")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise _json_error(cls, f"the text is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _json_error(cls, f"it holds a {type(payload).__name__}, not an object")
    if payload.get("model") not in (None, cls.__name__):
        raise DataError(
            f"this JSON holds a {payload.get('model')!r} model, not a {cls.__name__}",
            fix=f"load it with {payload.get('model')}.from_json(...)")
    missing = [k for k in _JSON_KEYS if k not in payload]
    if missing:
        raise _json_error(cls, f"it has no {missing[0]!r}")
    if not isinstance(payload["options"], dict) or not isinstance(payload["params"], dict):
        raise _json_error(cls, "'options' and 'params' must be objects")
    return payload


def _json_number(cls: type, payload: dict[str, Any], key: str, *, allow_nan: bool = False,
                 ) -> float:
    value = payload[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or (not allow_nan and not math.isfinite(value)) or (
            ok and math.isinf(value)):
        raise _json_error(cls, f"{key!r} is {value!r}, not a number")
    return float(value)


def _check_param_values(cls: type, params: object, what: str) -> np.ndarray:
    """The model's parameters from a mapping: every name, positive finite numbers only."""
    names = list(cls.param_names)
    if not isinstance(params, Mapping):
        raise DataError(f"{what} must map {names} to values, got {type(params).__name__}",
                        fix=f"pass {what} as a dict such as {dict.fromkeys(names, 1.0)}")
    unknown = [k for k in params if k not in names]
    missing = [k for k in names if k not in params]
    if unknown or missing:
        hint = suggest(str(unknown[0]), names) if unknown else ""
        raise DataError(f"{cls.__name__} {what} must name exactly {names}",
                        example=f"unknown {unknown}, missing {missing}",
                        fix=f"{hint}give every parameter, each a positive number")
    values = []
    for name in names:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer
                                                     | np.floating) or not (
                math.isfinite(float(value)) and float(value) > 0):
            raise DataError(f"{cls.__name__} needs positive values for {names}",
                            example=f"{what}[{name!r}] = {value!r}",
                            fix="pass every parameter, each a finite number > 0")
        values.append(float(value))
    return np.array(values)


def _check_covariance(cls: type, cov: object, k: int) -> np.ndarray:
    """A k x k symmetric positive semi-definite matrix, or all NaN (given parameters)."""
    try:
        arr = np.array(cov, dtype=float)
    except (TypeError, ValueError):
        raise _json_error(cls, "'cov_log' is not a matrix of numbers") from None
    if arr.shape != (k, k):
        raise _json_error(cls, f"'cov_log' has shape {arr.shape}, not ({k}, {k})")
    if np.isnan(arr).all():
        return arr
    if not np.all(np.isfinite(arr)):
        raise _json_error(cls, "'cov_log' mixes numbers with NaN or infinity")
    scale = max(1.0, float(np.max(np.abs(arr))))
    if not np.allclose(arr, arr.T, rtol=1e-8, atol=1e-10 * scale):
        raise _json_error(cls, "'cov_log' is not symmetric")
    if float(np.linalg.eigvalsh((arr + arr.T) / 2).min()) < -1e-8 * scale:
        raise _json_error(cls, "'cov_log' is not positive semi-definite")
    return arr


def _package_version() -> str:
    """The installed retention_kit version, from the package metadata ("unknown" if absent).

    Read from the distribution, not the package root, so that the models never import
    upward from :mod:`retention_kit`.
    """
    try:
        return metadata.version("retention_kit")
    except metadata.PackageNotFoundError:
        return "unknown"


def _maximise(objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
              theta0: np.ndarray, *, tol: float, max_iter: int) -> tuple[Any, ...]:
    """BFGS on ``objective`` then a Newton polish; (theta, value, grad, hessian, BFGS result).

    BFGS stops on its gradient tolerance; a Newton step or two with the numerical Hessian
    of the exact gradient lands on the optimum. The Hessian (for the covariance) is
    recomputed only if the polish moved the log-parameters by more than 1e-4; below that
    it changes by less than that.
    """
    res = optimize.minimize(objective, theta0, jac=True, method="BFGS",
                            options={"gtol": tol, "maxiter": max_iter})
    theta = res.x
    hess = _hessian(lambda t: objective(t)[1], theta)
    value, grad = objective(theta)
    moved = 0.0
    for _ in range(3):
        if np.max(np.abs(grad)) < 1e-12:
            break
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        trial = theta - step
        trial_value, trial_grad = objective(trial)
        if trial_value > value + 1e-15:
            break
        theta, value, grad = trial, trial_value, trial_grad
        moved = max(moved, float(np.max(np.abs(step))))
    if moved > 1e-4:
        hess = _hessian(lambda t: objective(t)[1], theta)
    return theta, value, grad, hess, res


def _hessian(grad, theta: np.ndarray) -> np.ndarray:
    """Central differences of an exact gradient (symmetrised)."""
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hess[:, j] = (grad(up) - grad(down)) / (2 * h)
    return (hess + hess.T) / 2


def _invert(hess: np.ndarray) -> np.ndarray:
    """Inverse of the (positive definite) Hessian of -loglik, or NaN with a warning."""
    try:
        eig = np.linalg.eigvalsh(hess)
        if not np.all(np.isfinite(eig)) or eig.min() <= 1e-12 * max(1.0, abs(eig).max()):
            raise np.linalg.LinAlgError("singular")
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        warnings.warn("the Hessian at the estimate is singular or not positive definite, so "
                      "standard errors are NaN; the data may not identify every parameter",
                      NumericalWarning, stacklevel=3)
        return np.full_like(hess, math.nan)
