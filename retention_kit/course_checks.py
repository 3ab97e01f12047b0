"""Exercise checks that do not give the answers away.

A check cell of an exercise notebook holds one call::

    check("01.2")

:func:`check` reads the exercise's answer variables from the notebook (the caller's
globals), compares each with the expected value and prints what is right, or what to
look at. The expected values are not in the notebook, nor in this file: only salted
SHA-256 digests of them are stored (``course_answers.py``), each of the value rounded to
the answer's tolerance grid, so a check can tell right from wrong without knowing the
number. Well-known wrong answers (the mistakes of the popular guides: the new customers
counted as retained, twelve monthly churn rates added up, revenue taken for value...) are
stored the same way, each with the feedback that explains it.

A check never raises for a wrong or missing answer: a blank exercise says which variable
to define, and the rest of the notebook still runs. Each check reads only its own
exercise's variables, so it does not depend on an earlier exercise being done.

Answers depend on the notebook's parameters (the papermill ``parameters`` cell); the
digests are stored for the default values, and a check run with other values says that it
cannot tell.

The digests are recorded by running the solution notebooks (:func:`record_answers`); run
from the repository root after changing a solution::

    python -m retention_kit.course_checks record notebooks/solutions
"""

from __future__ import annotations

import hashlib
import itertools
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "CheckResult", "Exercise", "EXERCISES", "check", "record_answers"]

_SALT = "retention_kit course checks v1"
PASS, FAIL = "✓", "✗"


@dataclass(frozen=True)
class Answer:
    """One answer variable of an exercise and how it is compared.

    Parameters
    ----------
    name : str
        The variable the learner assigns.
    tolerance : float, optional
        Numbers (or each number of a tuple) are compared on a grid of this step: a value
        within one step of the expected value passes. None compares exactly (ints,
        strings, booleans, sets).
    relative : bool
        Compare ``log(|value|)`` on the grid instead (for amounts of any size).
    reduce : callable, optional
        Turns a structured value (a DataFrame, a fitted model, a dict) into a number or a
        tuple of numbers to compare; an exception means "not the expected kind of object".
    kind : str
        What the value should be, for the message when ``reduce`` fails.
    hint : str
        What to look at when the value is wrong and matches no known mistake.
    mistakes : dict
        Known wrong answers: a value (already reduced), or a string with a Python
        expression evaluated on the *solution's* namespace when the digests are recorded,
        mapped to the feedback that explains the mistake.
    """

    name: str
    tolerance: float | None = 1e-6
    relative: bool = False
    reduce: Callable[[Any], Any] | None = None
    kind: str = "a number"
    hint: str = ""
    mistakes: Mapping[Any, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """The answers of one exercise, the parameters they depend on, and the praise."""

    id: str
    answers: tuple[Answer, ...]
    params: tuple[str, ...] = ()
    success: Callable[[Mapping[str, Any]], str] = lambda ns: "Correct."


@dataclass
class CheckResult:
    """What :func:`check` found: ``passed`` and the lines it printed."""

    exercise: str
    passed: bool
    lines: list[str]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def _ipython_display_(self) -> None:
        """Printed already by :func:`check`: show nothing more as the cell's result."""


def _canonical(value: Any) -> Any:
    """Exact comparison form: sets sorted, numpy scalars as Python numbers."""
    if isinstance(value, set | frozenset):
        return tuple(sorted(str(v) for v in value))
    if isinstance(value, tuple | list):
        return tuple(_canonical(v) for v in value)
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(x: Any, answer: Answer) -> int:
    """The grid point of one number (its log for relative tolerances)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("not a finite number")
    if answer.relative:
        x = math.copysign(math.log(abs(x)) if x else -1e9, x)
    return round(x / answer.tolerance)


def _centre(value: Any, answer: Answer) -> Any:
    """The grid point a value rounds to (what is stored)."""
    if answer.tolerance is None:
        return _canonical(value)
    numbers = value if isinstance(value, tuple | list) else (value,)
    return tuple(_number(x, answer) for x in numbers)


def _grid(value: Any, answer: Answer) -> list[Any]:
    """The grid point of a value and its neighbours: a value within a step passes."""
    centre = _centre(value, answer)
    if answer.tolerance is None:
        return [centre]
    return list(itertools.product(*[(q - 1, q, q + 1) for q in centre]))


def _digest(exercise: str, name: str, params: str, point: Any) -> str:
    text = f"{_SALT}|{exercise}|{name}|{params}|{point!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _params_key(spec: Exercise, namespace: Mapping[str, Any]) -> str:
    return ",".join(f"{p}={namespace.get(p)!r}" for p in spec.params)


def _value(answer: Answer, namespace: Mapping[str, Any]) -> Any:
    value = namespace[answer.name]
    return answer.reduce(value) if answer.reduce is not None else value


def record_answers(exercise: str, namespace: Mapping[str, Any]) -> dict[str, str]:
    """Digests of an exercise's answers (and known mistakes) in a solved namespace.

    Parameters
    ----------
    exercise : str
        Exercise id, e.g. ``"01.2"`` (lesson 01, exercise 2).
    namespace : mapping
        The globals of a solution notebook right after the exercise's solution ran.

    Returns
    -------
    dict
        ``{"params": key, name: digest, "name!i": digest of mistake i}``.
    """
    spec = EXERCISES[exercise]
    params = _params_key(spec, namespace)
    out = {"params": params}
    for answer in spec.answers:
        out[answer.name] = _digest(exercise, answer.name, params,
                                   _centre(_value(answer, namespace), answer))
        for i, wrong in enumerate(answer.mistakes):
            value = eval(wrong, globals(), dict(namespace)) if isinstance(wrong, str) else wrong  # noqa: S307
            out[f"{answer.name}!{i}"] = _digest(exercise, answer.name, params,
                                                _centre(value, answer))
    return out


def _stored(exercise: str, params: str) -> dict[str, str] | None:
    from retention_kit.course_answers import ANSWERS

    return next((d for d in ANSWERS.get(exercise, []) if d["params"] == params), None)


def check(exercise: str, namespace: Mapping[str, Any] | None = None) -> CheckResult:
    """Check a learner's answers to one exercise and print feedback; never raises for them.

    Parameters
    ----------
    exercise : str
        Exercise id, ``"<lesson>.<number>"`` as in the exercise headings (``"01.2"``).
    namespace : mapping, optional
        Where the answer variables are; the caller's globals (the notebook) by default.

    Returns
    -------
    CheckResult
        ``passed`` is True when every answer is right; ``lines`` is what was printed.

    Raises
    ------
    KeyError
        If ``exercise`` is not a known exercise id (a typo in the notebook, not a wrong
        answer).
    """
    if exercise not in EXERCISES:
        raise KeyError(f"no exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    spec = EXERCISES[exercise]
    ns = sys._getframe(1).f_globals if namespace is None else namespace
    lines: list[str] = []
    missing = [a.name for a in spec.answers if a.name not in ns]
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        lines.append(f"{FAIL} Exercise {exercise}: not answered yet. Define {names} in the cell "
                     "with # YOUR CODE HERE above, run it, then run this check again.")
        return _report(exercise, False, lines)
    stored = _stored(exercise, _params_key(spec, ns))
    if stored is None:
        lines.append(f"{FAIL} Exercise {exercise}: the answers are stored for the notebook's "
                     f"default parameters only ({', '.join(spec.params)}); run it with those "
                     "to check, or compare with the solution notebook.")
        return _report(exercise, False, lines)
    params = stored["params"]
    for answer in spec.answers:
        try:
            points = _grid(_value(answer, ns), answer)
        except Exception:  # noqa: BLE001 - any failure means "not the expected object"
            lines.append(f"{FAIL} `{answer.name}` should be {answer.kind}, got "
                         f"{type(ns[answer.name]).__name__}. {answer.hint}".rstrip())
            continue
        digests = {_digest(exercise, answer.name, params, p) for p in points}
        if stored[answer.name] in digests:
            continue
        mistake = next((message for i, message in enumerate(answer.mistakes.values())
                        if stored.get(f"{answer.name}!{i}") in digests), None)
        lines.append(f"{FAIL} `{answer.name}` is not right yet: {mistake or answer.hint}")
    passed = not lines
    if passed:
        try:
            lines.append(f"{PASS} {spec.success(ns)}")
        except Exception:  # noqa: BLE001 - the praise must not break a right answer
            lines.append(f"{PASS} Correct.")
    return _report(exercise, passed, lines)


def _report(exercise: str, passed: bool, lines: list[str]) -> CheckResult:
    sys.stdout.write("\n".join(lines) + "\n")
    return CheckResult(exercise, passed, lines)


# ------------------------------------------------------------------ the exercises' answers

def _frame_len(df: Any) -> tuple[int, int]:
    return (len(df), int(df["purchases"].sum()))


def _params_of(model: Any, names: tuple[str, ...]) -> tuple[float, ...]:
    return tuple(float(model.params_[n]) for n in names)


def _counts(series: Any) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(k), int(v)) for k, v in series.value_counts().items()))


def _arms(values: Any) -> tuple[float, ...]:
    return tuple(math.log10(float(values[a])) for a in ("loyalty_programme", "welcome_email"))


def _money(ns: Mapping[str, Any], value: float) -> str:
    """An amount with the currency of the lesson's client (``client.info['currency']``)."""
    client = ns.get("client")
    currency = getattr(client, "info", {}).get("currency", "") if client is not None else ""
    return f"{value:,.2f} {currency}".rstrip()


def _cleaned(result: Any) -> tuple[int, int, float]:
    """Orders, customers and revenue out of a cleaned log (``clean_transactions``)."""
    q = result.quality
    return (int(q.n_orders_out), int(q.n_customers_out), float(q.revenue_out))


def _respec(spec: Mapping[str, Any], *, drop: tuple[str, ...] = (), **changes: Any) -> dict:
    """A copy of a spec (a mapping) without the keys ``drop``, with ``changes``."""
    return {**{k: v for k, v in spec.items() if k not in drop}, **changes}


def _day(value: Any) -> str:
    """A date as ``YYYY-MM-DD`` (a Timestamp, a date or a string)."""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value).strip()[:10]


def _spreads(model: Any, names: tuple[str, ...]) -> float:
    """The widest upper / lower of the 95% intervals of some of a model's parameters."""
    table = model.summary()
    return max(float(table.loc[n, "upper"] / table.loc[n, "lower"]) for n in names)


def _letters(values: Any) -> set[str]:
    return {str(c).strip().upper() for c in values}


_L01 = ("demo_client",)
_L02 = ("n_bins", "clv_months", "monthly_discount_rate", "persona_k", "seed")
_L03 = ("horizon_months", "monthly_discount_rate", "margin", "sbg_cohort")
_L04 = ("horizon_days", "survival_horizon_days", "n_simulations", "seed")
_L07 = ("demo_client", "calibration_end", "inactivity_days")

_SPECS = [
    # ------------------------------------------------------------ 01 measuring retention
    Exercise("01.1", (
        Answer("E", None, kind="a whole number of customers",
               hint="the customers at the end are those at the start, plus the new ones, "
                    "minus the lost ones."),
        Answer("retention", hint="retention follows the customers who were there at the "
               "start: who of them is still there at the end?",
               mistakes={1.05: "too high: did you count the new customers as retained?",
                          1.25: "too high: that is the guides' formula (S x 100 / (S - N)); "
                                "retention cannot exceed 100%.",
                          85: "a fraction, please (0 to 1), not a percentage."}),
        Answer("churn", hint="churn counts the customers lost, relative to the customers "
               "at the start.",
               mistakes={6.666666666666667: "far too high: that is the guides' formula "
                                            "(starting / lost) upside down.",
                         30 / 210: "too low: the base is the customers at the start, not "
                                   "at the end.",
                         15: "a fraction, please (0 to 1), not a percentage."}),
    ), _L01, lambda ns: "Correct: retention and churn add up to 100% when the customers at "
                        "the start are the base of both."),
    Exercise("01.2", (
        Answer("annual_churn", hint="a customer must survive each of the twelve months: "
               "think about the share that is left after a year, not about adding rates.",
               mistakes={0.36: "too high: rates do not add up over periods; twelve times "
                               "3% is the adding mistake.",
                         36: "a fraction, please (0 to 1), not a percentage."}),
    ), _L01, lambda ns: f"Correct: {ns['annual_churn']:.2%} a year, not 36%."),
    Exercise("01.3", (
        Answer("repeat_rate", hint="the share of customers (not of orders) with at least two "
               "orders; purchases on the same day are one order.",
               mistakes={"float((log.groupby('customer_id').size() >= 2).mean())":
                         "too high: same-day purchases count as one order; count distinct "
                         "purchase days per customer."}),
        Answer("aov", hint="AOV is revenue per order (not per customer, not per row of the "
               "log; same-day purchases are one order).",
               mistakes={"float(log['amount'].sum() / log['customer_id'].nunique())":
                         "too high: that is revenue per customer; divide by the orders.",
                         "float(log['amount'].mean())": "that is revenue per row of the log; "
                         "same-day purchases are one order."}),
    ), _L01, lambda ns: f"Correct: repeat purchase rate {ns['repeat_rate']:.1%}, average order "
                        f"value {_money(ns, ns['aov'])}."),
    Exercise("01.4", (
        Answer("clv", hint="each year's margin arrives at the end of the year: discount year "
               "t by (1 + rate) to the power t, for years 1 to 4.",
               mistakes={960: "that is revenue, not value: apply the gross margin and "
                              "discount future years.",
                         240: "that is the margin, but money in later years is worth less "
                              "today: discount it.",
                         "sum(6 * 40 * 0.25 / 1.08 ** t for t in range(0, 4))":
                         "too high: the first year's margin arrives at the end of year 1, so "
                         "it is discounted once too."}),
    ), _L01, lambda ns: f"Correct: CLV = {ns['clv']:,.2f}."),
    Exercise("01.5", (
        Answer("table", None, reduce=lambda t: (int(t.shape[0]), int(t.shape[1])),
               kind="a DataFrame (the cohort table)",
               hint="use rk.cohort_table on the whole log, monthly, to the observation end."),
        Answer("first_month1", hint="take the row of the first cohort and the column of "
               "period 1; period 0 is always 100%.",
               mistakes={1.0: "that is period 0 (always 100%); take period 1."}),
    ), _L01, lambda ns: f"Correct: {ns['first_month1']:.1%} of the first cohort bought again "
                        "the next month."),
    Exercise("01.6", (
        Answer("right_12", hint="average only the cohorts old enough to have a month 12, "
               "weighted by cohort size (retention_curve does it)."),
        Answer("wrong_12", hint="the wrong average fills the unknown cells with zeros before "
               "averaging month 12 over all cohorts."),
    ), _L01, lambda ns: f"Correct: month-12 retention {ns['right_12']:.1%}, not "
                        f"{ns['wrong_12']:.1%}."),
    # ------------------------------------------------------------ 02 segmentation
    Exercise("02.1", (
        Answer("summary", None, reduce=_frame_len, kind="a DataFrame with a `purchases` column",
               hint="drop the free (0-amount) orders before building the summary, and keep "
                    "same-day repeat orders (duplicates='keep').",
               mistakes={"_frame_len(rk.rfm_segmentation_summary(raw, amount_col='amount', "
                         "observation_end=end, duplicates='keep'))":
                         "too many customers: drop the free orders (amount 0) first, so that "
                         "customers who only got free CDs are not counted as buyers."}),
        Answer("one_time_share", hint="the share of customers (rows of summary) whose "
               "purchases equal 1."),
    ), _L02, lambda ns: f"Correct: {ns['one_time_share']:.1%} of the customers bought exactly "
                        "once."),
    Exercise("02.2", (
        Answer("naive_f", None, reduce=_counts, kind="a Series of scores",
               hint="the rank-by-row-order score of the recipe above, on summary in its own "
                    "order."),
        Answer("changed", hint="compare the naive scores of the one-time buyers before and "
               "after the shuffle, customer by customer (align them on the index)."),
        Answer("scores", None, reduce=lambda s: tuple(_counts(s[c]) for c in "RFM"),
               kind="a DataFrame with columns R, F, M",
               hint="use segments.rfm_scores(summary, n_bins=n_bins, warn=False): equal values "
                    "get equal scores."),
    ), _L02, lambda ns: f"Correct: a shuffle of the file changes {ns['changed']:.0%} of the "
                        "one-time buyers' naive F scores; honest scores give them all the same."),
    Exercise("02.3", (
        Answer("champions_share", hint="the Champions' number over all customers."),
        Answer("champions_value", hint="the Champions' total_spend over everyone's "
               "total_spend (a share of value, not of customers).",
               mistakes={"champions_share": "that is the share of customers; the question "
                                            "is the share of spending."}),
    ), _L02, lambda ns: f"Correct: {ns['champions_share']:.1%} of the customers made "
                        f"{ns['champions_value']:.1%} of the revenue."),
    Exercise("02.4", (
        Answer("my_segments", None, reduce=_counts, kind="a Series of segment names",
               hint="check each rule's bounds (inclusive, on the scores R, F, M), the order, "
                    "and the spelling of the names."),
    ), _L02, lambda ns: "Correct: every customer has exactly one segment."),
    Exercise("02.5", (
        Answer("top20_share", 0.002, hint="sort the customers by clv, take the top 20% of "
               "them, and divide their clv by the total clv.",
               mistakes={0.2: "0.2 is the top 20%'s share of customers; the question is their "
                              "share of value."}),
        Answer("champions_in_top20", 0.005, hint="among the customers in the top 20% by clv, "
               "count the Champions and divide by the number of top-20% customers, not by "
               "all Champions."),
    ), _L02, lambda ns: f"Correct: the top 20% hold {ns['top20_share']:.0%} of predicted value, "
                        f"and {1 - ns['champions_in_top20']:.0%} of them are not Champions."),
    Exercise("02.6", (
        Answer("loyal_to_at_risk", hint="take the 'Loyal' row (before) and the 'At Risk' "
               "column (after) of the row shares, with the bins of the first date."),
        Answer("loyal_to_at_risk_refit", hint="pass refit_bins=True, so that the second "
               "snapshot is scored with its own bins.",
               mistakes={"loyal_to_at_risk": "that is the fixed-bins share; refit the bins "
                                             "for the second date."}),
    ), _L02, lambda ns: f"Correct: {ns['loyal_to_at_risk']:.0%} of the Loyal customers slipped "
                        f"to At Risk; refitted bins show only {ns['loyal_to_at_risk_refit']:.1%}."),
    Exercise("02.7", (
        Answer("lapsed_cluster", None, kind="a cluster number",
               hint="compare the clusters' median since_last and take the largest."),
        Answer("lapsed_share", hint="that cluster's customers over all customers."),
        Answer("stable", None, reduce=bool, kind="True or False",
               hint="look at result.stability.min()."),
    ), _L02, lambda ns: f"Correct: cluster {ns['lapsed_cluster']} holds "
                        f"{ns['lapsed_share']:.0%} of the customers."),
    Exercise("02.8", (
        Answer("leakiest", None, reduce=str, kind="a segment name",
               hint="for each segment subtract its share of future value from its share of "
                    "past spend and take the largest difference, not the smallest."),
        Answer("leak_strategy", None, reduce=str, kind="a strategy (text)",
               hint="look up the segment's row in default_segment_actions(), column "
                    "'strategy'."),
    ), _L02, lambda ns: f"Correct: {ns['leakiest']}; the plan: {ns['leak_strategy']}."),
    # ------------------------------------------------------------ 03 CLV models
    Exercise("03.1", (
        Answer("repeat_calibration", None, kind="a whole number",
               hint="frequency counts repeat purchases only; sum it over customers."),
        Answer("repeat_holdout", None, kind="a whole number",
               hint="sum frequency_holdout: every holdout purchase counts."),
        Answer("mean_T", reduce=float, kind="one number (split['T'].mean(), not split.T)",
               hint="the mean of the column split['T'], in weeks."),
    ), _L03, lambda ns: f"Correct: {ns['repeat_calibration']:,} and {ns['repeat_holdout']:,} "
                        "purchases, as in the paper."),
    Exercise("03.2", (
        Answer("bgnbd", 6e-4, reduce=lambda m: _params_of(m, ("r", "alpha", "a", "b")),
               kind="a fitted BGNBD model",
               hint="fit on the calibration columns (frequency, recency, T in weeks) of all "
                    "the customers, one-time buyers included; compare with the paper."),
    ), _L03, lambda ns: "Correct: the parameters match the paper."),
    Exercise("03.3", (
        Answer("expected_c1", hint="use bgnbd.expected_purchases on customer 1's row "
               "(split.loc[[1]]) with t=39 weeks.",
               mistakes={"naive_c1": "that is her past rate projected; ask the model."}),
        Answer("naive_c1", hint="her repeat purchases per week of age (frequency / T), "
               "times 39."),
    ), _L03, lambda ns: f"Correct: {ns['expected_c1']:.3f} purchases (the paper: 1.226), not "
                        f"{ns['naive_c1']:.2f}."),
    Exercise("03.4", (
        Answer("p_alive_bg", hint="average BG/NBD's P(alive) over the customers with "
               "frequency 0 only."),
        Answer("p_alive_mbg", hint="fit MBGNBD on split and average its probability_alive "
               "over the customers with frequency 0.",
               mistakes={"p_alive_bg": "that is BG/NBD's; use the MBG/NBD model."}),
        Answer("returned", hint="the share of the frequency-0 customers with "
               "frequency_holdout > 0."),
    ), _L03, lambda ns: f"Correct: BG/NBD calls every one-time buyer alive; MBG/NBD says "
                        f"{ns['p_alive_mbg']:.0%}; {ns['returned']:.0%} actually bought again."),
    Exercise("03.5", (
        Answer("corr", hint="correlate frequency and monetary_value over the customers with "
               "frequency > 0 only."),
        Answer("spend", 0.006, reduce=lambda m: _params_of(m, ("p", "q", "gamma")),
               kind="a fitted GammaGamma model",
               hint="fit GammaGamma on the repeat customers' frequency and monetary_value."),
        Answer("mean_spend", hint="ask the model for its mean spend per purchase of a new "
               "customer.",
               mistakes={"float(repeat['monetary_value'].mean())":
                         "that is the plain average of monetary_value; ask the model."}),
    ), _L03, lambda ns: f"Correct: correlation {ns['corr']:.2f}, mean spend "
                        f"{ns['mean_spend']:.2f} per purchase."),
    Exercise("03.6", (
        Answer("clv_total", 0.005, relative=True,
               hint="margin x expected spend x purchases expected in each month, discounted, "
                    "summed over months and customers; months in weeks: 30.4375 / 7.",
               mistakes={"clv_total / margin": "that is revenue: multiply by the margin.",
                         "clv_days_total": "that reads the weekly data as days: a month is "
                                           "30.4375 / 7 weeks."}),
        Answer("clv_days_total", 0.005, relative=True,
               hint="the same formula with t_k = k x 30.4375 (each month read as 30.4 "
                    "weeks)."),
    ), _L03, lambda ns: f"Correct: weekly data read as days give "
                        f"{ns['clv_days_total'] / ns['clv_total']:.1f} times too much."),
    Exercise("03.7", (
        Answer("sbg", 6e-4, reduce=lambda m: _params_of(m, ("alpha", "beta")),
               kind="a fitted SBG model",
               hint="fit on the customers of the chosen cohort only, and compare with the "
                    "paper's alpha and beta."),
        Answer("projected_12", hint="use sbg.survival(12), a fraction."),
        Answer("naive_12", hint="fit log(survival) of years 1 to 7 (fractions) on the year "
               "with np.polyfit(..., 1), then project to year 12."),
        Answer("actual_12", hint="cohorts.survival at year 12, as a fraction.",
               mistakes={"actual_12 * 100": "a fraction, please, not a percentage."}),
    ), _L03, lambda ns: f"Correct: sBG projects {ns['projected_12']:.1%} (actual "
                        f"{ns['actual_12']:.1%}); the exponential curve {ns['naive_12']:.1%}."),
    Exercise("03.8", (
        Answer("best_model", None, reduce=str, kind="a model name",
               hint="compare the mae column and take the smallest, by model name."),
        Answer("bg_tracking", hint="BG/NBD's predicted total / actual total - 1 (a fraction, "
               "negative when it under-predicts)."),
    ), _L03, lambda ns: f"Correct: {ns['best_model']} has the smallest error; BG/NBD's total is "
                        f"off by {ns['bg_tracking']:.1%}."),
    Exercise("03.9", (
        Answer("short_model", None, reduce=str, kind="a model name",
               hint="the name of the model choose_model picked (choice.name)."),
        Answer("short_error", 0.002, hint="the chosen model's tracking_error in choice.table "
               "(predicted / actual - 1, a fraction)."),
        Answer("short_show", None, reduce=str, kind='"exact values", "ranges" or "no values"',
               hint="read choice.finding.verdict: ok -> exact values, caution -> ranges, "
                    "unreliable -> no values.",
               mistakes={"'exact values'": "the chosen model missed the holdout by more than "
                                         "10%: that is a caution, so ranges, not exact values."}),
    ), _L03, lambda ns: f"Correct: {ns['short_model']} misses the holdout by "
                        f"{ns['short_error']:+.0%}, so the report shows {ns['short_show']}."),
    # ------------------------------------------------------------ 04 strategy evaluation
    Exercise("04.1", (
        Answer("n_per_arm", None, reduce=int, kind="a whole number",
               hint="use alpha/2 in each tail (two-sided) and z of the power, Cohen's arcsine "
                    "h, then round up, not to the nearest.",
               mistakes={"2 * n_per_arm": "that is both arms together: the task asks for "
                                          "customers per arm."}),
    ), _L04, lambda ns: f"Correct: {ns['n_per_arm']:,} customers per arm."),
    Exercise("04.2", (
        Answer("fpr_fixed", 0.012, hint="one look at the planned end should be "
               "'significant' in about alpha of the A/A tests."),
        Answer("fpr_peeking", 0.012, hint="count a test as a false positive if ANY of its "
               "looks has p < 0.05; check the look sizes and the pooled standard error.",
               mistakes={"fpr_fixed": "that is one look; count any of the 10 looks."}),
    ), _L04, lambda ns: f"Correct: {ns['fpr_fixed']:.1%} with one look, "
                        f"{ns['fpr_peeking']:.1%} when stopping at the first of 10 looks "
                        "(published: 19.3%)."),
    Exercise("04.3", (
        Answer("control_rate", hint="the share retained among control customers who reached "
               "the horizon; leave out those whose outcome is unknown."),
        Answer("loyalty_diff", hint="loyalty retention minus control retention."),
        Answer("loyalty_ci", 1e-4, reduce=lambda v: (float(v[0]), float(v[1])),
               kind="a tuple (lower, upper)",
               hint="Wald interval with the unpooled standard error of the difference."),
        Answer("p_holm", 1e-3, reduce=_arms, kind="p-values keyed by arm name",
               hint="adjust both arms' p-values together with Holm's step-down method; "
                    "doubling every p-value is Bonferroni."),
    ), _L04, lambda ns: f"Correct: loyalty {100 * ns['loyalty_diff']:+.2f} points."),
    Exercise("04.4", (
        Answer("theta", hint="cov(post, pre) / var(pre), on all arms pooled (not per arm, "
               "not the correlation)."),
        Answer("cuped_diff", hint="centre the covariate on the mean of all arms together, "
               "then compare the arms' adjusted means.",
               mistakes={"raw_diff": "that is the raw difference: adjust each customer's "
                                     "spend first."}),
        Answer("se_ratio", hint="compute the standard error of the difference from the "
               "adjusted values and from the raw ones."),
    ), _L04, lambda ns: f"Correct: standard error {ns['se_ratio']:.0%} of the raw one."),
    Exercise("04.5", (
        Answer("logrank_p", 1e-3, reduce=lambda p: math.log(float(p)),
               hint="compare loyalty with control only (a pairwise log-rank test), on all "
                    "customers."),
        Answer("extra_days", hint="RMST is the area under each arm's Kaplan-Meier curve up "
               "to the horizon; subtract control's.",
               mistakes={"float(experiment[experiment['arm'] == 'loyalty_programme']"
                         "['duration_days'].clip(upper=survival_horizon_days).mean() - "
                         "experiment[experiment['arm'] == 'control']['duration_days']"
                         ".clip(upper=survival_horizon_days).mean())":
                         "averaging observed durations treats censored customers as if they "
                         "churned that day: use Kaplan-Meier."}),
    ), _L04, lambda ns: f"Correct: the loyalty programme keeps a customer "
                        f"{ns['extra_days']:.1f} days longer within the horizon."),
    Exercise("04.6", (
        Answer("value_per_retained", hint="sum the monthly margin (not revenue) of months 1 "
               "to 12, each discounted and weighted by the chance of staying.",
               mistakes={"4 * value_per_retained": "too high: 32 a month is revenue; value "
                                                   "the margin.",
                         8.0 * 0.95 / (1.01 - 0.95): "too high: the margin multiple values "
                                                     "every future month; the task values "
                                                     "12 months only."}),
        Answer("net_value", 1e-3, hint="only the incremental customers (treated x effect) "
               "bring value; every treated customer costs."),
        Answer("break_even_cost", hint="the value each treated customer brings: effect x V."),
    ), _L04, lambda ns: f"Correct: on retention alone the programme breaks even at "
                        f"{ns['break_even_cost']:.2f} a customer."),
    Exercise("04.7", (
        Answer("clv_before", 1e-4, hint="m x r / (1 + i - r), with r and i as fractions.",
               mistakes={320: "m / (1 - r) forgets the discounting.",
                         80 * 1.10 / (1.10 - 0.75): "that counts a margin today too; here "
                                                    "the margin arrives at the end of each "
                                                    "period."}),
        Answer("clv_after", 1e-4, hint="the same formula at retention 80%."),
        Answer("gain_pct", 1e-5, hint="relative gain: CLV after / CLV before - 1.",
               mistakes={"(clv_after / clv_before - 1) * 100": "a fraction, please, not a "
                                                                "percentage."}),
    ), _L04, lambda ns: f"Correct: {ns['gain_pct']:+.1%} for a 5-point churn cut."),
    Exercise("04.8", (
        Answer("selection_gap", hint="use control customers only, split by "
               "pre_period_orders >= 3, and compare mean 90-day spend."),
        Answer("randomised_lift", hint="compare the whole loyalty arm with the whole control "
               "arm (customers who reached day 90): randomisation made them alike."),
        Answer("needed", None, reduce=lambda s: {str(c).strip().upper() for c in s},
               kind="a set of letters",
               hint="which steps make the groups alike before treatment, keep the test "
                    "honest and isolate the change? (B compares people who chose to join; "
                    "E measures opinions.)"),
    ), _L04, lambda ns: f"Correct: the randomised effect is {ns['randomised_lift']:+.1%}."),
    # ------------------------------------------------------------ 07 a real, messy log
    Exercise("07.1", (
        Answer("cleaned", 0.005, reduce=_cleaned,
               kind="the result of rk.clean_transactions (with a .quality report)",
               hint="compare your orders, customers and revenue out with the export: check "
                    "each column of the spec, the date format, and what is not a purchase.",
               mistakes={"_cleaned(rk.clean_transactions(raw, _respec(my_spec, "
                         "exclude_products=[])))":
                         "too many orders and too much revenue: postage (StockCode POST) is "
                         "not a product the customer chose; name the product column and "
                         "exclude POST.",
                         "_cleaned(rk.clean_transactions(raw, _respec(my_spec, "
                         "date_format='monthfirst')))":
                         "the dates are day first (01/12/2023 is 1 December): read month "
                         "first, the log runs over two years with a gap in every month.",
                         "_cleaned(rk.clean_transactions(raw, _respec(my_spec, "
                         "drop=('quantity', 'unit_price'), amount='UnitPrice')))":
                         "revenue far too low: a line's amount is Quantity x UnitPrice; give "
                         "quantity and unit_price, not amount.",
                         "_cleaned(rk.clean_transactions(raw, _respec(my_spec, "
                         "order_lines='keep')))":
                         "far too many orders: an order is spread over several lines, one per "
                         "product; sum them into one purchase (order_lines='sum', the "
                         "default, with the order column).",
                         "_cleaned(rk.clean_transactions(raw, _respec(my_spec, "
                         "returns='drop')))":
                         "too many orders and too much revenue: customers took some orders "
                         "back; leave returns at its default, 'net'."}),
    ), _L07, lambda ns: f"Correct: {ns['cleaned'].quality.n_orders_out:,} orders by "
                        f"{ns['cleaned'].quality.n_customers_out:,} customers, revenue out "
                        f"{_money(ns, ns['cleaned'].quality.revenue_out)}."),
    Exercise("07.2", (
        Answer("guest_revenue", 0.005, hint="the revenue column of the rule "
               "missing_customer (the guest checkouts), in GBP.",
               mistakes={"float(rules.loc['missing_customer', 'rows'])":
                         "that is the number of guest lines; the question is their revenue."}),
        Answer("postage_lines", None, reduce=int, kind="a whole number of lines",
               hint="the rows column of the rule excluded_products.",
               mistakes={"int(raw['StockCode'].eq('POST').sum())":
                         "too high: that counts every POST line of the file. Rules apply in "
                         "order and a row is counted once: a guest's postage line is counted "
                         "as a guest checkout. Read the table."}),
        Answer("unmatched_revenue", 0.005, hint="the revenue column of the rule "
               "unmatched_returns.",
               mistakes={"float(rules.loc['returns', 'revenue'])":
                         "too high: that is every return line (rule returns); the ones that "
                         "matched no order have a row of their own.",
                         "float(rules.loc['returns', 'revenue'] - "
                         "rules.loc['unmatched_returns', 'revenue'])":
                         "that is the returns netted against an order; the question is the "
                         "ones that matched none."}),
        Answer("ids_without_purchases", None, reduce=int, kind="a whole number of ids",
               hint="the distinct ids of raw['CustomerID'] (nunique ignores the missing ones) "
                    "minus the customers out.",
               mistakes={"int(len(raw['CustomerID'].unique()) - log.quality.n_customers_out)":
                         "one too many: the missing id (NaN) of the guest lines is not an "
                         "id; use nunique().",
                         "int(rules.loc['orders_returned_in_full', 'rows'])":
                         "that is the orders returned in full; the question is the customer "
                         "ids."}),
    ), _L07, lambda ns: f"Correct: guests bought {_money(ns, ns['guest_revenue'])}, and "
                        f"{ns['ids_without_purchases']} ids cancelled every order they placed."),
    Exercise("07.3", (
        Answer("revenue_change", 0.005, hint="clean with {**client.info['spec'], 'returns': "
               "'drop'} and subtract the netted log's revenue out from the dropped one's.",
               mistakes={"-revenue_change": "the sign: the returns dropped minus the returns "
                                            "netted.",
                         "float(log.quality.rules.set_index('rule').loc['returns', 'revenue'])":
                         "too high: that is every return line; returns that match no order "
                         "are dropped under both policies, so they are not in the "
                         "difference."}),
        Answer("extra_orders", None, reduce=int, kind="a whole number of orders",
               hint="the orders out of the dropped log minus those of the netted log.",
               mistakes={"int(log.quality.rules.set_index('rule').loc['returns', 'rows'])":
                         "that is the number of return lines; count the orders."}),
        Answer("forecast_policy", None, reduce=lambda s: str(s).strip().lower(),
               kind='"net" or "drop"',
               hint="a CLV forecast values what the shop kept.",
               mistakes={"'drop'": "'drop' counts every order at its full value although "
                                   "the customer took some of it back, and brings back the "
                                   "orders cancelled in full: customers look more frequent "
                                   "and more valuable than they are.",
                         "'keep'": "the question is 'net' or 'drop'; 'keep' makes each "
                                   "return a purchase of its own with a negative amount."}),
    ), _L07, lambda ns: f"Correct: dropping the returns adds "
                        f"{_money(ns, ns['revenue_change'])} and {ns['extra_orders']} orders "
                        "that the shop never kept; the forecast nets them."),
    Exercise("07.4", (
        Answer("cut_verdict", None, reduce=lambda s: str(s).strip().lower(),
               kind='a verdict ("ok", "caution" or "unreliable")',
               hint="diagnostics.left_truncation(cut).verdict, on the cut log.",
               mistakes={"'ok'": "that is the verdict on the whole log, which starts when the "
                                 "shop opened; ask about `cut`."}),
        Answer("since", None, reduce=_day, kind="a date",
               hint="diagnostics.suggest_customers_since(cut): the start of the log plus the "
                    "time most existing customers need to show up.",
               mistakes={"'2024-03-01'": "that is where the cut log starts: its first "
                                         "months' customers are partly old ones.",
                         "_day(diagnostics.suggest_customers_since(tx))":
                         "that is the date for the whole log; ask about `cut`."}),
        Answer("left_out", None, reduce=int, kind="a whole number of customers",
               hint="curve.attrs['n_customers_excluded'] of the curve restricted with "
                    "customers_since=since.",
               mistakes={"int(cut['customer_id'].nunique() - left_out)":
                         "that is the customers kept; the question is how many are left "
                         "out."}),
    ), _L07, lambda ns: f"Correct: a log starting in March 2024 gets a "
                        f"{str(ns['cut_verdict']).strip().lower()}; "
                        f"trust cohorts from {_day(ns['since'])} on, leaving out "
                        f"{ns['left_out']} customers."),
    Exercise("07.5", (
        Answer("chosen_model", None, reduce=str, kind="a model name",
               hint="choice.name, the model choose_model picked on the holdout.",
               mistakes={"'Pareto/NBD'": "Pareto/NBD was set aside: its dropout is not "
                                         "identified by the data (see choice.reason)."}),
        Answer("holdout_error", 0.002, hint="the chosen model's tracking_error in "
               "choice.table (a fraction, negative when it under-predicts).",
               mistakes={"holdout_error * 100": "a fraction, please, not a percentage.",
                         "float(choice.table.loc['BG/NBD', 'tracking_error'])":
                         "that is BG/NBD's row; take the chosen model's."}),
        Answer("dropout_spread", 0.01, relative=True,
               hint="upper / lower of the widest 95% interval of the dropout parameters "
                    "(a and b) of the model refitted on the whole year.",
               mistakes={"float(_spreads(choice.model, ('a', 'b')))":
                         "that is the model fitted on the calibration period only; refit "
                         "the chosen class on the whole year (summary).",
                         "float(_spreads(model, ('a',)))":
                         "that is a's interval only; take the wider of a and b.",
                         "float(_spreads(model, ('r', 'alpha')))":
                         "that is the purchase rate (r, alpha), which is well identified; "
                         "the question is the dropout (a, b)."}),
        Answer("verdict", None, reduce=lambda s: str(s).strip().lower(),
               kind='a verdict ("ok", "caution" or "unreliable")',
               hint="checks.verdict, the worst verdict of all the checks.",
               mistakes={"'ok'": "that is the holdout fit's verdict; the overall verdict is "
                                 "the worst of all the checks."}),
    ), _L07, lambda ns: f"Correct: {ns['chosen_model']} misses the holdout by "
                        f"{ns['holdout_error']:+.1%}, yet its dropout interval spans a factor "
                        f"of {ns['dropout_spread']:.0f}: {ns['verdict']}."),
    Exercise("07.6", (
        Answer("tell", None, reduce=_letters, kind="a set of letters",
               hint="under caution a value per customer is shown only as a range; without an "
                    "identified dropout there is no P(alive); one year shows no seasons; and "
                    "a cohort of about 50 customers cannot tell a few points apart.",
               mistakes={frozenset("ABDE"): "A is an exact value per customer: under a "
                                            "caution verdict the report shows ranges.",
                         frozenset("BCDE"): "C says who has left: that is P(alive) per "
                                            "customer, which needs the dropout the data "
                                            "cannot identify.",
                         frozenset("BDEF"): "F is a season: one year cannot show that it "
                                            "repeats.",
                         frozenset("BDEG"): "G compares two small cohorts: the difference is "
                                            "within their noise.",
                         frozenset("DE"): "B is allowed: a range for a tier's total is what "
                                          "the report shows under caution.",
                         frozenset("BE"): "D is allowed: the data-quality table counts it "
                                          "exactly, and the client should know.",
                         frozenset("BD"): "E is allowed: it is what the holdout showed (it "
                                          "is about the totals, not about each customer)."}),
    ), _L07, lambda ns: "Correct: ranges, the data's own counts and the holdout fit; no value, "
                        "P(alive) or season that the data cannot support."),
]

#: Every exercise with checks, by id.
EXERCISES: dict[str, Exercise] = {spec.id: spec for spec in _SPECS}


def _record_main(args: list[str]) -> int:
    """Run every solution notebook and write the digests of its answers."""
    import glob
    import json
    import os
    import re

    import nbformat
    from nbclient import NotebookClient

    folder = args[0] if args else "notebooks/solutions"
    answers: dict[str, list[dict[str, str]]] = {}
    call = re.compile(r'^check\("([0-9]+\.[0-9A-Za-z]+)"\)\s*$', re.MULTILINE)
    for path in sorted(glob.glob(os.path.join(folder, "*.ipynb"))):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = call.sub(
                    r'import json as _j; from retention_kit.course_checks import '
                    r'record_answers as _r; print("@@" + _j.dumps(["\1", _r("\1", globals())]))',
                    cell.source)
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(path)}}).execute()
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                for line in out.get("text", "").splitlines():
                    if line.startswith("@@"):
                        exercise, digests = json.loads(line[2:])
                        answers.setdefault(exercise, []).append(digests)
        sys.stdout.write(f"recorded {path}\n")
    target = os.path.join(os.path.dirname(__file__), "course_answers.py")
    with open(target, "w", encoding="utf-8") as out:
        out.write('"""Digests of the exercises\' answers (see course_checks); generated by\n'
                  "``python -m retention_kit.course_checks record notebooks/solutions``: "
                  'do not edit."""\n\n'
                  f"ANSWERS: dict[str, list[dict[str, str]]] = {json.dumps(answers, indent=1)}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["record"]:
        raise SystemExit(_record_main(sys.argv[2:]))
    sys.stderr.write("usage: python -m retention_kit.course_checks record [SOLUTIONS_DIR]\n")
    raise SystemExit(2)
