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
* end every fit in one of three ways (never with the start values, never with a
  parameter running off to 1e8 under ``converged_=True``):

  1. usable parameters: an interior maximum, judged on the *total* log-likelihood (its
     gradient below :data:`GRADIENT_TOLERANCE` and a Newton step worth less than 1e-8);
  2. a boundary solution: each model lists its limiting models (:meth:`Model.limits`:
     no dropout, a common dropout probability, ...), each is fitted with its own, fewer
     parameters, and if the best is within :data:`BOUNDARY_TOLERANCE` (1e-6) of the full
     model's maximum (or above what the optimiser reached) the fit *is* that limit:
     ``boundary_`` says so in plain words, ``limit_`` names it, the parameters that run to
     the edge are set where the full model equals the limit and get NaN standard errors,
     and predictions use the limit (a no-dropout limit predicts with its own formulas);
  3. a :class:`~retention_kit.errors.ConvergenceError` naming the cause: a pre-check of the
     data (``_identification_problem``: all one-time buyers, too few repeat buyers, equal
     spends...) or the optimiser's state, with the model's own ``convergence_remedies``.

  ``limits_`` keeps the maximised log-likelihood of every limit the estimate came near,
  so that 2·(loglik_ − limits_) can be read as a likelihood-ratio statistic against the
  limit (50:50 χ²(0)/χ²(1) under the limit; 2.71 at 5%) by the diagnostics;
* ``summary()``, a short repr, an HTML table in Jupyter, and JSON persistence (no pickle);
* ``get_params``/``set_params`` by constructor introspection, as scikit-learn does, so
  ``sklearn.base.clone`` and parameter searches work (scikit-learn is not imported).

Subclasses set ``param_names`` and ``data_columns`` and implement ``_loglik_grad``,
``_start`` and, if they have model-specific data rules, ``_check_data``.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import digamma, gammaln

from .._checks import between, choice, positive_numbers, suggest, whole
from ..data import validate_summary
from ..errors import ConvergenceError, DataError, NotFittedError, NumericalWarning
from ..units import TIME_UNITS

__all__ = [
    "BOUNDARY_TOLERANCE",
    "GRADIENT_TOLERANCE",
    "Limit",
    "LogFn",
    "Model",
    "digamma_difference",
    "log_beta_ratio",
    "log_pochhammer",
    "logconcave_nodes",
    "nbd_loglik_grad",
    "repeat_buyers_problem",
]

#: Model inputs by column name (float arrays), plus any extras ``_prepare_columns`` adds.
Columns = dict[str, Any]

#: A fit is on the boundary when a limiting model's maximised log-likelihood is within
#: this of the full model's (or above it, when the optimiser stopped short on a ridge
#: running to the edge). The limit is a sub-model, so at an exact interior maximum the
#: full model is at least as good; a difference below 1e-6 is below what the optimiser
#: resolves (its stopping rule leaves at most ~1e-8 of log-likelihood, see
#: :data:`GRADIENT_TOLERANCE`), i.e. the maximum *is* the limit. (For a test of the limit
#: against the interior, 2·(loglik_ − limits_[name]) follows a 50:50 mixture of χ²(0) and
#: χ²(1) under the limit: below 2.71 the data do not reject it at 5%; ``limits_`` keeps
#: the numbers for :mod:`retention_kit.diagnostics`.)
BOUNDARY_TOLERANCE = 1e-6
#: A fit has converged when the largest derivative of the *total* log-likelihood in the
#: log-parameters is below this and, where the Hessian is positive definite, the Newton
#: step would gain less than ``BOUNDARY_TOLERANCE / 100`` of log-likelihood. (A test on
#: the per-customer mean gradient accepts, on 10,000 customers, a gradient 10,000 times
#: larger: a fit on a flat ridge then stopped 0.0085 short of the maximum.)
GRADIENT_TOLERANCE = 1e-3
#: A parameter whose log exceeds this in absolute value (below 1e-6 or above 1e6 times
#: its unit) is named as running to the edge in a ConvergenceError.
_EDGE_LOG = math.log(1e6)


class Limit(NamedTuple):
    """A limiting model on the edge of a model's parameter space.

    Attributes
    ----------
    name : str
        Short name (``"no dropout"``), kept as ``limit_`` and in the JSON.
    sentence : str
        Plain words for ``boundary_``: which parameter runs to which edge, what the
        data cannot identify and which model the fit reduces to.
    names : tuple of str
        The limit's own parameters (positive); those named like the model's parameters
        keep their standard errors in a boundary fit.
    expand : callable
        Limit parameters (m,) -> (full parameters (k,), d log full / d log limit (k, m)):
        a point of the full model whose likelihood equals the limit's to double precision.
    start : callable
        Full parameters (k,) -> starting values (m,) of the limit's fit.
    near : callable, optional
        Full parameters (k,) -> whether an estimate is close enough to the limit for the
        limit to be fitted and compared (a screen that saves a fit per limit on data far
        from it; every limit is fitted when the full fit did not converge).
    loglik_grad : callable, optional
        The limit's own per-row log-likelihood and gradient in its parameters, for limits
        the full likelihood does not reach uniformly at any finite point (no dropout:
        at a tiny finite dropout rate a long silence still counts against being alive).
        Without it the full likelihood is evaluated at ``expand``'s point.
    """

    name: str
    sentence: str
    names: tuple[str, ...]
    expand: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    start: Callable[[np.ndarray], np.ndarray]
    near: Callable[[np.ndarray], bool] = lambda full: True
    loglik_grad: Callable[[np.ndarray, Columns], tuple[np.ndarray, np.ndarray]] | None = None


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
    limit_ : str or None
        The name of that limit (one of :meth:`limits`), None for an interior maximum.
    limits_ : dict
        Maximised log-likelihood of the limiting models the estimate came near (each
        :class:`Limit`'s ``near``; all of them when the full fit did not converge; none
        with a penalty or for given parameters): ``2 * (loglik_ - limits_[name])`` tests
        the limit.
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
        if not np.isfinite(objective(np.log(start))[0]):
            raise ConvergenceError(
                f"{type(self).__name__}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(self.param_names, start.round(6).tolist(), strict=True))}, so the "
                f"optimiser cannot start. Remedies: {self.convergence_remedies}")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            theta, value, grad, hess, res = _maximise(objective, np.log(start), tol=self.tol,
                                                      max_iter=self.max_iter)
            converged = _at_maximum(value, grad, hess, n_obs)
            limits = self._fit_limits(cols, uw, n_obs, np.exp(theta), every=not converged)
            if not converged and not self.limits():
                # A model without registered limits handles its edges itself (sBG/BdW):
                # only the total gradient is required of it.
                converged = _at_maximum(value, grad, hess, n_obs, newton=False)
        loglik = -value * n_obs
        limit_logliks = {name: float(fit[1]) for name, fit in limits.items()}
        # A limit as good as the interior fit (or any converged limit if the interior fit
        # failed); of several within the tolerance of the best, the simplest.
        good = [(name, fit) for name, fit in limits.items() if fit[3]]
        best = None
        if good:
            top = max(fit[1] for _, fit in good)
            near = [(name, fit) for name, fit in good if fit[1] >= top - BOUNDARY_TOLERANCE]
            names_len = {lim.name: len(lim.names) for lim in self.limits()}
            best = min(near, key=lambda item: (names_len[item[0]], -item[1][1]))
        # Every likelihood reached (converged or not) bounds the maximum from below.
        reached = max([loglik if np.isfinite(loglik) else -np.inf]
                      + [fit[1] for fit in limits.values()])
        if best is not None and best[1][1] >= reached - BOUNDARY_TOLERANCE:
            limit = next(lim for lim in self.limits() if lim.name == best[0])
            full, ll_limit, hess_limit, limit_converged = best[1]
            self._store_fit(full, None, cols, uw, n_obs, converged=limit_converged,
                            n_iter=int(res.nit), time_unit=data.attrs.get("time_unit"))
            self._store_boundary(limit, hess_limit, n_obs)
            self.loglik_ = float(ll_limit)
            self.limits_ = limit_logliks
            return self
        if not converged:
            grad_norm = (float(np.max(np.abs(grad))) * n_obs if np.all(np.isfinite(grad))
                         else np.inf)
            edge = [f"{name} → {'0' if t < 0 else '∞'}"
                    for name, t in zip(self.param_names, theta, strict=True)
                    if abs(t) > _EDGE_LOG]
            cause = (f"the estimates run to the edge of the parameter space "
                     f"({', '.join(edge)}), a limit none of {type(self).__name__}'s limiting "
                     f"models {[lim.name for lim in self.limits()]} matches; " if edge else "")
            raise ConvergenceError(
                f"{type(self).__name__} did not converge: {cause}optimiser status "
                f"{res.status} ({res.message}); largest gradient of the log-likelihood "
                f"{grad_norm:.2g} "
                f"after {res.nit} iterations at "
                f"{dict(zip(self.param_names, np.round(np.exp(theta), 6).tolist(), strict=True))}"
                f". Remedies: {self.convergence_remedies}")
        self._store_fit(np.exp(theta), hess, cols, uw, n_obs, converged=converged,
                        n_iter=int(res.nit), time_unit=data.attrs.get("time_unit"))
        self.limits_ = limit_logliks
        return self

    # ------------------------------------------------------------------ boundaries

    def limits(self) -> tuple[Limit, ...]:
        """The limiting models on the edge of the parameter space (none by default).

        Each :class:`Limit` maps its own (fewer) positive parameters to a point of the full
        model where the full likelihood equals the limit's; a fit compares its maximum
        with every limit's (see :data:`BOUNDARY_TOLERANCE`).
        """
        return ()

    def _fit_limits(self, cols: Columns, uw: np.ndarray, n_obs: float, params: np.ndarray,
                    *, every: bool) -> dict[str, tuple[np.ndarray, float, np.ndarray, bool]]:
        """Maximum of each limit: (full parameters, log-likelihood, Hessian, converged).

        Only the limits the estimate is ``near`` (all of them if ``every``). Skipped with
        a penalty: the penalised objective keeps the parameters finite.
        """
        if self.penalizer != 0 or not self.limits():
            return {}
        out = {}
        full_objective = self._objective(cols, uw, n_obs)
        for limit in self.limits():
            def objective(phi: np.ndarray, limit: Limit = limit) -> tuple[float, np.ndarray]:
                eta = np.exp(phi)
                if limit.loglik_grad is not None:
                    ll, g = limit.loglik_grad(eta, cols)
                    value = float(uw @ ll) / n_obs
                    g_log = (uw @ g) / n_obs * eta
                    if not np.isfinite(value) or not np.all(np.isfinite(g_log)):
                        return np.inf, np.zeros(len(eta))
                    return -value, -g_log
                full, jac = limit.expand(eta)
                value, g_full = full_objective(np.log(full))
                # chain rule: d/dphi = d/dlog(full) · dlog(full)/dlog(eta)
                return value, jac.T @ g_full

            if not (every or not np.all(np.isfinite(params)) or limit.near(params)):
                continue
            start = np.asarray(limit.start(params), dtype=float)
            if not np.all(np.isfinite(start) & (start > 0)):
                continue
            if not np.isfinite(objective(np.log(start))[0]):
                continue
            phi, value, grad, hess, _ = _maximise(objective, np.log(start), tol=self.tol,
                                                  max_iter=self.max_iter)
            ok = bool(np.isfinite(value)) and _at_maximum(value, grad, hess, n_obs)
            out[limit.name] = (limit.expand(np.exp(phi))[0], -value * n_obs, hess, ok)
        return out

    def _store_boundary(self, limit: Limit, hess: np.ndarray, n_obs: float) -> None:
        """Report a boundary fit: the sentence, and standard errors of what is identified.

        The parameters of the limit that are parameters of the model keep their standard
        errors (from the limit's Hessian); the ones running to the edge get NaN.
        """
        self.boundary_ = limit.sentence
        self.limit_ = limit.name
        names = list(self.param_names)
        k = len(names)
        cov_small = _invert(hess * n_obs, quiet=True)
        cov_log = np.full((k, k), math.nan)
        kept = [(i, names.index(p)) for i, p in enumerate(limit.names) if p in names]
        for i, fi in kept:
            for j, fj in kept:
                cov_log[fi, fj] = cov_small[i, j]
        if not np.all(np.isfinite([cov_log[fi, fj] for _, fi in kept for _, fj in kept])):
            cov_log[:] = math.nan
        self._set_covariance(cov_log)

    def _set_covariance(self, cov_log: np.ndarray) -> None:
        names = list(self.param_names)
        params = self.params_.to_numpy()
        # delta method, elementwise so that NaN rows (boundary) stay in their rows
        cov = cov_log * np.outer(params, params)
        cov = (cov + cov.T) / 2
        self._cov_log = cov_log
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        diag = np.diag(cov)
        with np.errstate(invalid="ignore"):
            self.se_ = pd.Series(np.sqrt(np.where(diag >= 0, diag, np.nan)), index=names,
                                 name="std_error")

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

    def _store_fit(self, params: np.ndarray, hess: np.ndarray | None, cols: Columns,
                   uw: np.ndarray, n_obs: float, *, converged: bool, n_iter: int,
                   time_unit: str | None) -> None:
        """The learned state: estimates, log-likelihood, covariance by the delta method."""
        names = list(self.param_names)
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.loglik_ = float(uw @ self._loglik_grad(params, cols)[0])
        self.n_obs_ = int(round(n_obs)) if float(n_obs).is_integer() else n_obs
        self.converged_ = converged
        self.boundary_: str | None = None
        self.limit_: str | None = None
        self.limits_: dict[str, float] = {}
        self.n_iter_ = n_iter
        self.time_unit_ = time_unit
        k = len(names)
        self._set_covariance(_invert(hess * n_obs) if hess is not None
                             else np.full((k, k), math.nan))

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
            "limit": getattr(self, "limit_", None),
            "limits": getattr(self, "limits_", {}),
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
        model.cov_ = pd.DataFrame(cov_log * np.outer(params, params),
                                  index=list(cls.param_names), columns=list(cls.param_names))
        diag = np.diag(model.cov_.to_numpy())
        model.se_ = pd.Series(np.sqrt(np.where(diag >= 0, diag, np.nan)),
                              index=list(cls.param_names), name="std_error")
        model.loglik_ = _json_number(cls, payload, "loglik", allow_nan=True)
        n_obs = _json_number(cls, payload, "n_obs")
        if n_obs < 0:  # fractional is fine: weighted fits count customers by their weights
            raise _json_error(cls, f"'n_obs' is {n_obs!r}, not a number of customers >= 0")
        model.n_obs_ = int(n_obs) if float(n_obs).is_integer() else n_obs
        n_iter = _json_number(cls, payload, "n_iter")
        if n_iter < 0 or not float(n_iter).is_integer():
            raise _json_error(cls, f"'n_iter' is {payload['n_iter']!r}, not a whole number >= 0")
        model.n_iter_ = int(n_iter)
        if not isinstance(payload["converged"], bool):
            raise _json_error(cls, f"'converged' is {payload['converged']!r}, not true or false")
        model.converged_ = payload["converged"]
        boundary = payload.get("boundary")
        if boundary is not None and not isinstance(boundary, str):
            raise _json_error(cls, f"'boundary' is {boundary!r}, not a sentence or null")
        model.boundary_ = boundary
        limit = payload.get("limit")
        if limit is not None and limit not in [lim.name for lim in model.limits()]:
            raise _json_error(cls, f"'limit' is {limit!r}, not a limit of {cls.__name__}")
        model.limit_ = limit
        limits = payload.get("limits", {})
        if not isinstance(limits, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in limits.values()):
            raise _json_error(cls, "'limits' must map limit names to log-likelihoods")
        model.limits_ = {str(k): float(v) for k, v in limits.items()}
        unit = payload.get("time_unit")
        if unit is not None and (not isinstance(unit, str) or unit not in TIME_UNITS):
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
        model.limit_ = None
        model.limits_ = {}
        model.time_unit_ = time_unit
        return model

    # ------------------------------------------------------------------ helpers

    def _param_tuple(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(float(v) for v in self.params_.to_numpy())

    @staticmethod
    def _series(values: np.ndarray, data: pd.DataFrame, name: str) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=float), index=data.index, name=name)



class PurchaseDraws:
    """``expected_purchases_draws`` for a transaction model (a :class:`Model` with
    ``expected_purchases``): many parameter vectors and horizons in one call.

    Subclasses may override ``_expected_grid`` (one draw) or ``_expected_draws`` (all of
    them) with a faster evaluation of the same values (Pareto/NBD; BG/NBD, MBG/NBD).
    """

    def expected_purchases_draws(self, data: pd.DataFrame, times: np.ndarray | Sequence[float],
                                 draws: np.ndarray) -> np.ndarray:
        """Expected purchases E[X(T, T+t_j)] of every row under each parameter vector.

        The bootstrap of :func:`retention_kit.clv.clv_interval` in one call: the data are
        validated once and what does not depend on the horizon (P(alive), the
        quadrature nodes) is computed once per draw.

        Parameters
        ----------
        data : DataFrame
            The model's columns (``frequency``, ``recency``, ``T``).
        times : array-like of float
            Horizons t_j (same unit as T), positive.
        draws : ndarray
            ``(n_draws, n_params)`` parameter vectors in ``params_`` order (e.g. from
            :func:`retention_kit.clv.parameter_draws`).

        Returns
        -------
        ndarray
            ``(n_draws, len(times), len(data))``: entry (i, j, k) is
            ``expected_purchases(data, times[j])`` of a copy of the model with parameters
            ``draws[i]``, row k (equal to it to about 1e-13 relative).

        Examples
        --------
        >>> from retention_kit.datasets import load_cdnow_summary
        >>> from retention_kit.models import BGNBD
        >>> cdnow = load_cdnow_summary().head(3)
        >>> bg = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
        >>> grid = bg.expected_purchases_draws(cdnow, [4.0, 8.0], bg.params_.to_numpy()[None])
        >>> grid.shape, bool(np.allclose(grid[0, 1], bg.expected_purchases(cdnow, 8.0)))
        ((1, 2, 3), True)
        """
        cols = self._columns(data)  # type: ignore[attr-defined]
        horizon = positive_numbers("t", times).reshape(-1)
        names = list(self.param_names)  # type: ignore[attr-defined]
        params = np.asarray(draws, dtype=float)
        if params.ndim != 2 or params.shape[1] != len(names):
            raise ValueError(f"draws must have shape (n_draws, {len(names)}) (columns "
                             f"{', '.join(names)}), got {params.shape}")
        if not np.all(np.isfinite(params) & (params > 0)):
            raise ValueError("draws must be finite and positive (parameter values)")
        return self._expected_draws(params, cols, horizon, data)

    def _expected_draws(self, draws: np.ndarray, cols: Columns, horizon: np.ndarray,
                        data: pd.DataFrame) -> np.ndarray:
        """(draws, horizons, rows); by default one :meth:`_expected_grid` per draw."""
        out = np.empty((len(draws), len(horizon), len(data)))
        for i, row in enumerate(draws):
            out[i] = self._expected_grid(row, cols, horizon, data)
        return out

    def _expected_grid(self, params: np.ndarray, cols: Columns, horizon: np.ndarray,
                       data: pd.DataFrame) -> np.ndarray:
        """(len(horizon), rows): expected purchases with ``params`` (a copy of the model)."""
        clone = copy.copy(self)
        clone.params_ = pd.Series(params, index=self.params_.index,  # type: ignore
                                  name="estimate")
        return np.stack([np.asarray(clone.expected_purchases(data, float(t)),  # type: ignore
                                    dtype=float) for t in horizon])

#: Above this argument :func:`log_pochhammer` uses Stirling's series (5 terms: error
#: below 1e-17 there) instead of a difference of ``gammaln`` values.
_STIRLING_FROM = 30.0


def _stirling_tail(z: np.ndarray) -> np.ndarray:
    """log Γ(z) - [(z - 1/2) log z - z + log(2π)/2] for z >= 30 (Stirling's series)."""
    inv = 1.0 / z
    inv2 = inv * inv
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680
                                                                       - inv2 / 1188))))


def log_pochhammer(z: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """log of the rising factorial (z)_n = Γ(z+n)/Γ(z), for z > 0 and z + n > 0.

    ``gammaln(z + n) - gammaln(z)`` loses ``eps·z·log z`` in absolute terms, which for
    z = 1e7 and small n is a relative error of 1e-8 in the ratio. For z >= 30 this uses
    Stirling's series, where the large terms cancel analytically::

        log (z)_n = (z - 1/2) log1p(n/z) + n log(z + n) - n + S(z + n) - S(z)

    with S the Stirling correction; the result is then accurate to a few ulps of
    n·log(z+n) whatever z is.

    Examples
    --------
    >>> round(float(np.exp(log_pochhammer(3.0, 2.0))), 12)  # 3 · 4
    12.0
    >>> float(log_pochhammer(1e12, 1.0)) == float(np.log(1e12))
    True
    """
    z, n = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(n, dtype=float))
    big = (z >= _STIRLING_FROM) & (z + n >= _STIRLING_FROM)
    zb = np.where(big, z, _STIRLING_FROM)
    stirling = ((zb - 0.5) * np.log1p(n / zb) + n * np.log(zb + n) - n
                + _stirling_tail(zb + n) - _stirling_tail(zb))
    zs = np.where(big, 1.0, z)
    direct = gammaln(zs + np.where(big, 0.0, n)) - gammaln(zs)
    return np.where(big, stirling, direct)


def _digamma_tail(z: np.ndarray) -> np.ndarray:
    """ψ(z) - [log z - 1/(2z)] for z >= 30 (asymptotic series, error below 1e-18)."""
    inv2 = 1.0 / (z * z)
    return -inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240
                                                                       - inv2 / 132))))


def digamma_difference(z: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """ψ(z + n) - ψ(z), the derivative of :func:`log_pochhammer` in z, accurate for any z.

    ``digamma(z + n) - digamma(z)`` is about n/z for large z but is computed with an
    absolute error of ``eps·log z``: at z = 1e12 and n = 1 a relative error of 3e-4,
    which made gradients at a boundary noise. For z >= 30 the asymptotic series is
    differenced analytically: log1p(n/z) + n/(2z(z+n)) + tail(z+n) - tail(z).

    Examples
    --------
    >>> round(float(digamma_difference(1e12, 1.0)) * 1e12, 9)
    1.0
    """
    z, n = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(n, dtype=float))
    big = (z >= _STIRLING_FROM) & (z + n >= _STIRLING_FROM)
    zb = np.where(big, z, _STIRLING_FROM)
    nb = np.where(big, n, 0.0)
    series = (np.log1p(nb / zb) + nb / (2 * zb * (zb + nb))
              + _digamma_tail(zb + nb) - _digamma_tail(zb))
    zs = np.where(big, 1.0, z)
    direct = digamma(zs + np.where(big, 0.0, n)) - digamma(zs)
    return np.where(big, series, direct)


def log_beta_ratio(a: np.ndarray | float, b: np.ndarray | float, da: np.ndarray | float,
                   db: np.ndarray | float) -> np.ndarray:
    """log B(a + da, b + db) / B(a, b), accurate for a, b up to 1e12 and more.

    Written as (a)_da (b)_db / (a+b)_(da+db) with :func:`log_pochhammer`, so that the
    large, nearly equal ``betaln`` values never get subtracted.

    Examples
    --------
    >>> round(float(np.exp(log_beta_ratio(2.0, 3.0, 1.0, 0.0))), 12)  # E[p], p ~ Beta(2, 3)
    0.4
    """
    a, b, da, db = (np.asarray(v, dtype=float) for v in (a, b, da, db))
    return log_pochhammer(a, da) + log_pochhammer(b, db) - log_pochhammer(a + b, da + db)


def nbd_loglik_grad(params: np.ndarray, x: np.ndarray, T: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood of the NBD (no dropout) and its gradient in (r, α).

    Purchases are Poisson with rate λ ~ Gamma(r, α) for the whole window T, so
    L = Γ(r+x)/Γ(r) · α^r / (α+T)^(r+x) (up to the factor of the purchase times, which
    does not depend on the parameters). It is the limit of BG/NBD and MBG/NBD as
    a → 0 and of Pareto/NBD as s → 0.
    """
    r, alpha = params
    ll = log_pochhammer(r, x) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
    grad = np.column_stack([digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T),
                            r / alpha - (r + x) / (alpha + T)])
    return ll, grad


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


# Gauss-Legendre rules of the log-concave quadrature, by the e-folds a panel spans and
# its width (relative error of n points on e^(k x) over a panel with k·width = span:
# about 1e-17 for 4 points at 0.15, 2e-16 for 6 at 1, far below for 12 at 4; the width
# limits keep small-amplitude features of unit scale, like 1 - ε e^u, resolved).
_GL_RULES = tuple((span, width, *np.polynomial.legendre.leggauss(n))
                  for span, width, n in ((0.15, 0.25, 4), (1.0, 1.0, 6), (np.inf, np.inf, 12)))
# Panel layout of the log-concave quadrature: at most _EFOLDS e-folds of the integrand
# per panel, widths at most _WIDTH near the mode (growing by _GROWTH times the distance
# from it), stop once the integrand is below exp(-_DROP) times its maximum.
_EFOLDS = 4.0
_WIDTH = 2.0
_GROWTH = 0.5
_DROP = 40.0
_MAX_PANELS = 400

LogFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def logconcave_nodes(log_f: LogFn, slope: LogFn, curvature: LogFn, lo: np.ndarray,
                      hi: np.ndarray, mode: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature nodes for ∫_lo^hi exp(log_f(ℓ)) dℓ, one problem per entry of ``mode``.

    ``log_f`` must be concave on [lo, hi] with its maximum at ``mode``; ``lo`` may be
    -inf and ``hi`` +inf if the integrand decays there. Panels are laid out outwards
    from the mode: each spans at most ``_EFOLDS`` e-folds (judged from the slope and
    curvature at its inner edge) and at most ``_WIDTH`` (growing with the distance from
    the mode, where the integrand is close to an exponential), until the integrand has
    dropped by ``exp(-_DROP)`` or the interval ends. Each panel gets a 4-, 6- or
    12-point Gauss-Legendre rule depending on the e-folds it spans (``_GL_RULES``).

    The callables take (ℓ, owner) with ``owner`` the problem index of each ℓ. Returns
    (owner, nodes, weights, log_f(mode)), the first three flat and aligned.
    """
    top = log_f(mode, np.arange(mode.size))
    owners, nodes, weights = [], [], []
    for direction, end in ((1.0, hi), (-1.0, lo)):
        idx = np.flatnonzero(direction * (end - mode) > 0)
        edge = mode[idx]
        for step in range(_MAX_PANELS):
            if idx.size == 0:
                break
            stop = end[idx]
            width = np.maximum(_WIDTH, _GROWTH * np.abs(edge - mode[idx]))
            # Judge the e-folds at the inner edge, then twice at the proposed outer edge
            # (the slope steepens outwards, and curvature may grow fast, as with e^-v).
            probe = edge
            steep = np.zeros_like(edge)
            for _ in range(3):
                grow = np.abs(slope(probe, idx)) + np.sqrt(np.abs(curvature(probe, idx)))
                steep = np.maximum(steep, grow)
                with np.errstate(divide="ignore"):
                    width = np.minimum(width, np.where(grow > 0, _EFOLDS / grow, np.inf))
                nxt = edge + direction * width
                nxt = np.minimum(nxt, stop) if direction > 0 else np.maximum(nxt, stop)
                probe = nxt
            if step == _MAX_PANELS - 1:  # never reached in practice: close the interval
                nxt = np.where(np.isfinite(stop), stop, nxt)
            half = np.abs(nxt - edge) / 2
            mid = (nxt + edge) / 2
            span = 2 * half * steep
            todo = np.ones(idx.size, dtype=bool)
            for max_span, max_width, gl_x, gl_w in _GL_RULES:
                sel = todo & (span <= max_span) & (2 * half <= max_width)
                todo &= ~sel
                if sel.any():
                    owners.append(np.repeat(idx[sel], gl_x.size))
                    nodes.append((mid[sel, None] + half[sel, None] * gl_x).ravel())
                    weights.append((half[sel, None] * gl_w).ravel())
            more = (direction * (stop - nxt) > 0) & (top[idx] - log_f(nxt, idx) < _DROP)
            idx, edge = idx[more], nxt[more]
    if not owners:
        empty = np.empty(0)
        return empty.astype(np.intp), empty, empty, top
    return np.concatenate(owners), np.concatenate(nodes), np.concatenate(weights), top


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
    if "model" in payload and not isinstance(payload["model"], str):
        raise _json_error(cls, f"'model' is {payload['model']!r}, not a model name")
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
    # A boundary fit has NaN rows and columns for the parameters running to the edge.
    known = ~np.isnan(np.diag(arr))
    if np.isinf(arr).any() or np.isnan(arr[np.ix_(known, known)]).any() or not np.isnan(
            arr[~known]).all():
        raise _json_error(cls, "'cov_log' mixes numbers with NaN or infinity")
    arr_full = arr
    arr = arr[np.ix_(known, known)]
    scale = max(1.0, float(np.max(np.abs(arr))))
    if not np.allclose(arr, arr.T, rtol=1e-8, atol=1e-10 * scale):
        raise _json_error(cls, "'cov_log' is not symmetric")
    if float(np.linalg.eigvalsh((arr + arr.T) / 2).min()) < -1e-8 * scale:
        raise _json_error(cls, "'cov_log' is not positive semi-definite")
    return arr_full


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


def _at_maximum(value: float, grad: np.ndarray, hess: np.ndarray, n_obs: float, *,
                newton: bool = True) -> bool:
    """Whether (value, grad, hess) of minus the mean log-likelihood mark its maximum.

    Judged on the total log-likelihood: its gradient below ``GRADIENT_TOLERANCE`` and
    (with ``newton``), if the Hessian is positive definite, a Newton step worth less than
    1e-8.
    """
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        return False
    total = grad * n_obs
    if float(np.max(np.abs(total))) >= GRADIENT_TOLERANCE:
        return False
    if not newton:
        return True
    try:
        eig = np.linalg.eigvalsh(hess)
        if np.all(np.isfinite(eig)) and eig.min() > 1e-12 * max(1.0, abs(eig).max()):
            gain = 0.5 * float(total @ np.linalg.solve(hess * n_obs, total))
            return gain < BOUNDARY_TOLERANCE / 100
    except np.linalg.LinAlgError:
        pass
    return True


def _invert(hess: np.ndarray, *, quiet: bool = False) -> np.ndarray:
    """Inverse of the (positive definite) Hessian of -loglik, or NaN with a warning."""
    try:
        eig = np.linalg.eigvalsh(hess)
        if not np.all(np.isfinite(eig)) or eig.min() <= 1e-12 * max(1.0, abs(eig).max()):
            raise np.linalg.LinAlgError("singular")
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        if quiet:
            return np.full_like(hess, math.nan)
        warnings.warn("the Hessian at the estimate is singular or not positive definite, so "
                      "standard errors are NaN; the data may not identify every parameter",
                      NumericalWarning, stacklevel=3)
        return np.full_like(hess, math.nan)
