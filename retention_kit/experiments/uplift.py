"""Targeting with uplift models fitted on a randomised experiment.

:class:`UpliftModel` (two-model or class-transformation uplift with scikit-learn),
:func:`uplift_analysis` (fit on a training part, Qini and uplift curves on the held-out
part), :func:`qini_curve`, :func:`curve_area` and :func:`uplift_segments` (persuadables,
sure things, lost causes, sleeping dogs). scikit-learn is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from . import _args

__all__ = [
    "UpliftModel",
    "UpliftResult",
    "curve_area",
    "qini_curve",
    "uplift_analysis",
    "uplift_segments",
]


def _encode(X: pd.DataFrame, categories: Mapping[str, list] | None) -> tuple[np.ndarray, dict]:
    """Numeric columns as they are, the others one-hot on the categories seen in fit."""
    learn = categories is None
    cats: dict[str, list] = {} if learn else dict(categories)
    parts, names = [], []
    for col in X.columns:
        s = X[col]
        numeric = col not in cats if not learn else pd.api.types.is_numeric_dtype(s.dtype)
        if numeric:
            v = pd.to_numeric(s, errors="coerce").astype(float)
            miss = v.isna().to_numpy()
            if miss.any():
                raise DataError(f"feature {col!r} has missing or non-numeric values",
                                n_rows=int(miss.sum()),
                                example=_args.first_example(X, miss, [col]),
                                fix="fill or drop them before modelling uplift")
            parts.append(v.to_numpy()[:, None])
            names.append(str(col))
            continue
        if learn:
            if s.isna().any():
                miss = s.isna().to_numpy()
                raise DataError(f"feature {col!r} has missing values", n_rows=int(miss.sum()),
                                example=_args.first_example(X, miss, [col]),
                                fix="fill them with a category such as 'unknown'")
            cats[col] = sorted(pd.unique(s).tolist(), key=str)
        levels = cats[col]
        values = s.to_numpy()
        parts.append(np.column_stack([(values == lvl).astype(float) for lvl in levels]))
        names.extend(f"{col}={lvl}" for lvl in levels)
    return np.hstack(parts), {"categories": cats, "names": names}


def _default_estimator(random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_depth=3,
                                          min_samples_leaf=100, early_stopping=False,
                                          random_state=random_state)


class UpliftModel:
    """Uplift (conditional treatment effect on a 0/1 outcome) with scikit-learn classifiers.

    Two estimators (Gutierrez & Gerardy 2017, "Causal inference and uplift modelling: a
    review of the literature", *PMLR* 67):

    * ``"two_model"`` (T-learner): one classifier on the treated, one on control;
      uplift(x) = P(Y=1 | x, treated) - P(Y=1 | x, control).
    * ``"class_transformation"`` (Jaskowski & Jaroszewicz 2012): one classifier of
      Z = 1 when (treated and Y=1) or (control and Y=0), with the arms re-weighted to equal
      size, so that uplift(x) = 2 P(Z=1 | x) - 1.

    Numeric features are used as they are; other columns are one-hot encoded on the
    categories seen in :meth:`fit` (an unseen category gets all zeros).

    Parameters
    ----------
    method : {"two_model", "class_transformation"}, default "two_model"
    estimator : scikit-learn classifier, optional
        Cloned for every model. Default: a small, regularised
        ``HistGradientBoostingClassifier`` (100 trees of depth 3, learning rate 0.05, at
        least 100 customers a leaf).
    random_state : int, default 0
        Seed of the default estimator.

    Attributes
    ----------
    models_ : tuple
        (treated, control) classifiers, or the single class-transformation classifier.
    features_ : list of str
        The input columns.
    columns_ : list of str
        The encoded columns.
    treated_share_ : float
        Share of treated customers in the training data.
    """

    def __init__(self, *, method: Literal["two_model", "class_transformation"] = "two_model",
                 estimator: Any = None, random_state: int = 0) -> None:
        self.method = method
        self.estimator = estimator
        self.random_state = random_state

    def _new_estimator(self) -> Any:
        from sklearn.base import clone

        if self.estimator is None:
            return _default_estimator(self.random_state)
        return clone(self.estimator)

    def fit(self, X: pd.DataFrame, treated: Sequence[bool] | np.ndarray | pd.Series,
            outcome: Sequence[float] | np.ndarray | pd.Series) -> UpliftModel:
        """Fit on features ``X``, treatment indicator and 0/1 outcome; returns self."""
        _args.check_choice("method", self.method, ("two_model", "class_transformation"))
        X = _args.frame(X, "the feature table")
        t = np.asarray(treated).astype(bool)
        yv = pd.Series(np.asarray(outcome, dtype=object))
        frame = pd.DataFrame({"outcome": yv})
        y = _args.binary_outcome(frame, "outcome", pd.Series(True, index=frame.index), ["outcome"])
        if len(t) != len(X) or len(y) != len(X):
            raise DataError("X, treated and outcome have different lengths",
                            example=f"{len(X)}, {len(t)}, {len(y)}",
                            fix="pass one treatment flag and one outcome per row of X")
        if t.all() or not t.any():
            raise DataError("the training data need treated and control customers",
                            n_rows=len(X), fix="include both arms")
        encoded, info = _encode(X, None)
        self.features_ = [str(c) for c in X.columns]
        self._categories = info["categories"]
        self.columns_ = info["names"]
        self.treated_share_ = float(t.mean())
        if self.method == "two_model":
            self.models_ = (self._new_estimator().fit(encoded[t], y[t]),
                            self._new_estimator().fit(encoded[~t], y[~t]))
        else:
            z = np.where(t, y, 1 - y)
            w = np.where(t, 0.5 / self.treated_share_, 0.5 / (1 - self.treated_share_))
            self.models_ = (self._new_estimator().fit(encoded, z, sample_weight=w),)
        return self

    def _transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "models_"):
            from ..errors import NotFittedError

            raise NotFittedError("UpliftModel is not fitted yet: call fit(X, treated, outcome)")
        X = _args.frame(X, "the feature table")
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise DataError(f"the feature table has no column {missing[0]!r}",
                            fix=f"pass the columns the model was fitted on: {self.features_}")
        encoded, _ = _encode(X[self.features_], self._categories)
        return encoded

    def predict_outcomes(self, X: pd.DataFrame) -> pd.DataFrame:
        """``p_treated``, ``p_control`` and ``uplift`` per row (two-model method only)."""
        if self.method != "two_model":
            raise DataError("predict_outcomes needs method='two_model'",
                            fix="the class transformation estimates only the difference; use "
                            "predict()")
        enc = self._transform(X)
        pt = self.models_[0].predict_proba(enc)[:, 1]
        pc = self.models_[1].predict_proba(enc)[:, 1]
        return pd.DataFrame({"p_treated": pt, "p_control": pc, "uplift": pt - pc},
                            index=X.index)

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Predicted uplift per row (a Series on ``X``'s index)."""
        if self.method == "two_model":
            return self.predict_outcomes(X)["uplift"]
        enc = self._transform(X)
        values = 2 * self.models_[0].predict_proba(enc)[:, 1] - 1
        return pd.Series(values, index=X.index, name="uplift")

    def __repr__(self) -> str:
        state = f"{len(self.features_)} features" if hasattr(self, "models_") else "not fitted"
        return f"UpliftModel(method={self.method!r}; {state})"


def qini_curve(uplift: Sequence[float] | np.ndarray | pd.Series,
               treated: Sequence[bool] | np.ndarray | pd.Series,
               outcome: Sequence[float] | np.ndarray | pd.Series) -> pd.DataFrame:
    r"""Qini and uplift curves: the gain from targeting the customers with the top scores.

    Customers are sorted by predicted uplift, highest first; ties are kept together (the
    curves are evaluated only where the score changes). For the top share
    :math:`\phi` of the :math:`N` customers, with :math:`N_t, N_c` treated and control
    customers among them and :math:`Y_t, Y_c` of those retained:

    * Qini (Radcliffe 2007): :math:`Q(\phi) = (Y_t - Y_c N_t / N_c) / N`, the
      incremental retained customers per customer of the whole population;
    * uplift curve (Rzepakowski & Jaroszewicz 2012):
      :math:`U(\phi) = (Y_t / N_t - Y_c / N_c)\,\phi`.

    A ratio with an empty denominator counts as 0 (as in scikit-uplift). Random targeting
    gives the straight lines ``random_qini`` and ``random_uplift`` from 0 to the curves'
    end points; :func:`curve_area` is the area between a curve and that line.

    Parameters
    ----------
    uplift : array-like of float
        Predicted uplift (any score: only its order matters).
    treated : array-like of bool
    outcome : array-like of 0/1

    Returns
    -------
    DataFrame
        ``fraction`` (share targeted, from 0), ``n_targeted``, ``qini``, ``uplift``,
        ``random_qini``, ``random_uplift``.

    Examples
    --------
    Four customers, sorted by score; the two treated are first and third:

    >>> curve = qini_curve([0.3, 0.2, 0.1, 0.0], [True, False, True, False], [1, 0, 0, 1])
    >>> curve[["fraction", "qini", "uplift"]]
       fraction  qini  uplift
    0      0.00  0.00    0.00
    1      0.25  0.25    0.25
    2      0.50  0.25    0.50
    3      0.75  0.25    0.375
    4      1.00  0.00    0.00
    >>> curve_area(curve, "qini")
    0.1875
    """
    s = np.asarray(uplift, dtype=float)
    t = np.asarray(treated).astype(bool)
    frame = pd.DataFrame({"outcome": np.asarray(outcome, dtype=object)})
    y = _args.binary_outcome(frame, "outcome", pd.Series(True, index=frame.index), ["outcome"])
    if not (len(s) == len(t) == len(y)) or len(s) == 0:
        raise DataError("uplift, treated and outcome must be non-empty and of equal length",
                        example=f"{len(s)}, {len(t)}, {len(y)}", fix="pass one value per customer")
    if not np.all(np.isfinite(s)):
        bad = ~np.isfinite(s)
        raise DataError("uplift scores are missing or not finite", n_rows=int(bad.sum()),
                        fix="predict a score for every customer")
    order = np.argsort(-s, kind="stable")
    s, t, y = s[order], t[order], y[order]
    last_of_tie = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    nt = np.cumsum(t)[last_of_tie].astype(float)
    nc = np.cumsum(~t)[last_of_tie].astype(float)
    yt = np.cumsum(y * t)[last_of_tie]
    yc = np.cumsum(y * ~t)[last_of_tie]
    n_all = float(len(s))
    k = last_of_tie + 1.0

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b > 0)

    qini = (yt - yc * ratio(nt, nc)) / n_all
    upl = (ratio(yt, nt) - ratio(yc, nc)) * k / n_all
    fraction = np.r_[0.0, k / n_all]
    qini, upl = np.r_[0.0, qini], np.r_[0.0, upl]
    return pd.DataFrame({"fraction": fraction, "n_targeted": np.r_[0, k].astype(np.int64),
                         "qini": qini, "uplift": upl, "random_qini": fraction * qini[-1],
                         "random_uplift": fraction * upl[-1]})


def curve_area(curve: pd.DataFrame, column: Literal["qini", "uplift"] = "qini") -> float:
    """Area between a Qini (or uplift) curve and random targeting (trapezoid rule).

    Positive when the scores rank the customers who respond to treatment first; about 0
    for random scores. The unit is "incremental retained customers per customer",
    integrated over the share targeted, so areas compare across data sets of any size.

    Parameters
    ----------
    curve : DataFrame
        From :func:`qini_curve`.
    column : {"qini", "uplift"}, default "qini"

    Returns
    -------
    float

    Examples
    --------
    >>> curve_area(qini_curve([0.3, 0.2, 0.1, 0.0], [1, 0, 1, 0], [1, 0, 0, 1]), "uplift")
    0.28125
    """
    _args.check_choice("column", column, ("qini", "uplift"))
    x = curve["fraction"].to_numpy(dtype=float)
    gap = curve[column].to_numpy(dtype=float) - curve[f"random_{column}"].to_numpy(dtype=float)
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


_SEGMENT_ORDER = ["persuadable", "sure thing", "lost cause", "sleeping dog"]


def uplift_segments(scores: pd.DataFrame, *, threshold: float = 0.02,
                    likely: float = 0.5) -> pd.Series:
    """Name each customer's response to treatment from the two-model predictions.

    * **persuadable**: uplift >= ``threshold`` (retained *because* treated: target them);
    * **sleeping dog**: uplift <= -``threshold`` (treatment makes them leave: do not
      disturb);
    * otherwise the treatment changes little: **sure thing** when retention without it
      (``p_control``) is at least ``likely`` (they stay anyway: money wasted), else
      **lost cause** (they leave anyway).

    Parameters
    ----------
    scores : DataFrame
        ``uplift`` and ``p_control`` per customer, e.g. from
        :meth:`UpliftModel.predict_outcomes` or :attr:`UpliftResult.scores`.
    threshold : float, default 0.02
        Smallest uplift, in probability points, worth acting on.
    likely : float, default 0.5

    Returns
    -------
    Series
        Categorical (ordered as above), on ``scores``' index.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"uplift": [0.10, -0.05, 0.0, 0.01], "p_control": [0.4, 0.6, 0.9, 0.2]})
    >>> uplift_segments(s).tolist()
    ['persuadable', 'sleeping dog', 'sure thing', 'lost cause']
    """
    _args.require_columns(scores, {"uplift": "uplift (predicted effect)",
                                   "p_control": "p_control (retention without treatment)"},
                          what="the uplift scores")
    thr = _args.number("threshold", threshold)
    if thr < 0:
        raise DataError(f"threshold={threshold!r} must be >= 0", fix="pass e.g. 0.02")
    u = scores["uplift"].to_numpy(dtype=float)
    pc = scores["p_control"].to_numpy(dtype=float)
    names = np.select([u >= thr, u <= -thr, pc >= likely],
                      ["persuadable", "sleeping dog", "sure thing"], "lost cause")
    return pd.Series(pd.Categorical(names, categories=_SEGMENT_ORDER, ordered=True),
                     index=scores.index, name="segment")


@dataclass(frozen=True, repr=False)
class UpliftResult:
    """Result of :func:`uplift_analysis`.

    Attributes
    ----------
    model : UpliftModel
        Fitted on the training part.
    scores : DataFrame
        The held-out customers: ``uplift`` (and ``p_treated``, ``p_control`` for the
        two-model method), ``treated``, ``outcome``.
    curve : DataFrame
        :func:`qini_curve` on the held-out part.
    qini_area, uplift_area : float
        :func:`curve_area` of the two curves.
    treatment, control : str
    features : list of str
    n_train, n_test : int
    """

    model: UpliftModel
    scores: pd.DataFrame
    curve: pd.DataFrame
    qini_area: float
    uplift_area: float
    treatment: str
    control: str
    features: list = field(default_factory=list)
    n_train: int = 0
    n_test: int = 0

    def segments(self, *, threshold: float = 0.02, likely: float = 0.5) -> pd.Series:
        """:func:`uplift_segments` of the held-out customers."""
        return uplift_segments(self.scores, threshold=threshold, likely=likely)

    def __repr__(self) -> str:
        return (f"UpliftResult({self.treatment!r} vs {self.control!r}, {self.model.method}; "
                f"train {self.n_train:,}, test {self.n_test:,}; Qini area "
                f"{self.qini_area:.4g}, uplift area {self.uplift_area:.4g})")


def uplift_analysis(
    data: pd.DataFrame,
    *,
    treatment: str,
    features: Sequence[str],
    control: str = "control",
    arm_col: str = "arm",
    outcome_col: str = "retained_90d",
    reached_col: str | None = "reached_horizon",
    method: Literal["two_model", "class_transformation"] = "two_model",
    estimator: Any = None,
    test_size: float = 0.3,
    random_state: int = 0,
) -> UpliftResult:
    """Who to target: fit an uplift model on part of an experiment, judge it on the rest.

    The customers of ``treatment`` and ``control`` who reached the horizon are split
    (stratified by arm and outcome) into a training part, on which an
    :class:`UpliftModel` is fitted, and a held-out part, on which its Qini and uplift
    curves and their areas (:func:`qini_curve`, :func:`curve_area`) are computed. Only a
    randomised experiment can train an uplift model: in observational data the treated
    differ from the untreated in ways the model would mistake for the effect.

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    treatment : str
        The treatment arm.
    features : sequence of str
        Pre-experiment columns to model the effect on (numbers or categories).
    control, arm_col, outcome_col, reached_col
        As in :func:`retention_test`.
    method, estimator
        As in :class:`UpliftModel`.
    test_size : float, default 0.3
        Held-out share.
    random_state : int, default 0
        Seed of the split and of the default estimator.

    Returns
    -------
    UpliftResult

    Examples
    --------
    A toy experiment in which treatment helps only customers with ``new == 1``:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> d = pd.DataFrame({"arm": rng.choice(["control", "email"], n),
    ...                   "new": rng.integers(0, 2, n)})
    >>> p = 0.5 + 0.3 * ((d["arm"] == "email") & (d["new"] == 1))
    >>> d["retained"] = rng.random(n) < p
    >>> res = uplift_analysis(d, treatment="email", features=["new"], outcome_col="retained",
    ...                       reached_col=None, estimator=LogisticRegression())
    >>> res.scores.groupby(d["new"])["uplift"].mean().round(1).tolist()
    [0.0, 0.3]
    >>> res.qini_area > 0
    True
    """
    data = _args.frame(data, "the experiment data")
    needed = {arm_col: "arm_col (the arm of each customer)",
              outcome_col: "outcome_col (retained at the horizon, 0/1)"}
    if reached_col is not None:
        needed[reached_col] = "reached_col (True when the horizon was reached)"
    for f in features:
        needed.setdefault(f, "features (pre-experiment covariate)")
    _args.require_columns(data, needed, what="the experiment data")
    size = _args.fraction("test_size", test_size, example="0.3")
    counted = _args.counted_rows(data, reached_col)
    _args.arms(data, arm_col, control, [treatment], counted)
    sub = data.loc[counted & data[arm_col].isin([control, treatment])]
    y = _args.binary_outcome(sub, outcome_col, pd.Series(True, index=sub.index),
                             [arm_col, outcome_col])
    t = (sub[arm_col] == treatment).to_numpy()
    train, test = _stratified_split(t, y, size, random_state)
    X = sub[list(features)]
    model = UpliftModel(method=method, estimator=estimator, random_state=random_state)
    model.fit(X.iloc[train], t[train], y[train])
    scores = _held_out_scores(model, X.iloc[test], method, t[test], y[test])
    curve = qini_curve(scores["uplift"], scores["treated"], scores["outcome"])
    return UpliftResult(model=model, scores=scores, curve=curve,
                        qini_area=curve_area(curve, "qini"),
                        uplift_area=curve_area(curve, "uplift"), treatment=treatment,
                        control=control, features=[str(f) for f in features],
                        n_train=len(train), n_test=len(test))


def _stratified_split(t: np.ndarray, y: np.ndarray, size: float,
                      random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted training and test positions, stratified by arm x outcome."""
    from sklearn.model_selection import train_test_split

    strata = t.astype(int) * 2 + y.astype(int)
    positions = np.arange(len(t))
    train, test = train_test_split(positions, test_size=size, random_state=random_state,
                                   stratify=strata)
    return np.sort(train), np.sort(test)


def _held_out_scores(model: UpliftModel, held: pd.DataFrame, method: str, treated: np.ndarray,
                     outcome: np.ndarray) -> pd.DataFrame:
    """Predicted uplift (and, for two models, both outcomes) with the observed arm and outcome."""
    if method == "two_model":
        scores = model.predict_outcomes(held)
    else:
        scores = model.predict(held).to_frame()
    scores["treated"] = treated
    scores["outcome"] = outcome.astype(np.int64)
    return scores
