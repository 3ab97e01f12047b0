"""The exercise checks: right answers pass, known mistakes get their feedback, nothing leaks.

Exercise 01.1 is worked by hand: S = 200 customers at the start, N = 40 new, L = 30 lost, so
E = 210, retention (E - N) / S = 0.85 and churn L / S = 0.15.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retention_kit.course_answers import ANSWERS
from retention_kit.course_checks import EXERCISES, CheckResult, check

ROOT = Path(__file__).resolve().parent.parent
RIGHT = {"demo_client": "retailer", "E": 210, "retention": 0.85, "churn": 0.15}


def test_right_answers_pass_within_the_tolerance(capsys) -> None:
    result = check("01.1", RIGHT)
    assert isinstance(result, CheckResult) and result.passed and bool(result)
    assert capsys.readouterr().out.startswith("✓ Correct")
    assert check("01.1", {**RIGHT, "retention": 0.85 + 4e-7, "E": 210.0}).passed


@pytest.mark.parametrize(("answer", "value", "feedback"), [
    ("retention", 1.05, "did you count the new customers as retained?"),
    ("retention", 1.25, "guides' formula"),
    ("retention", 85, "a fraction, please"),
    ("churn", 200 / 30, "upside down"),
    ("churn", 30 / 210, "not at the end"),
    ("retention", 0.8, "who of them is still there at the end?"),  # no known mistake: the hint
])
def test_wrong_answers_get_the_feedback_of_their_mistake(answer: str, value: float,
                                                         feedback: str, capsys) -> None:
    result = check("01.1", {**RIGHT, answer: value})
    assert not result.passed
    out = capsys.readouterr().out
    assert f"✗ `{answer}` is not right yet" in out and feedback in out
    assert len(result.lines) == 1, "only the wrong answer is reported"


def test_the_adding_mistake_of_annual_churn() -> None:
    result = check("01.2", {"demo_client": "retailer", "annual_churn": 0.36})
    assert "twelve times 3% is the adding mistake" in str(result)
    assert check("01.2", {"demo_client": "retailer",
                          "annual_churn": 1 - 0.97 ** 12}).passed


def test_a_blank_exercise_names_the_variables_to_define_and_does_not_raise() -> None:
    result = check("01.1", {"demo_client": "retailer", "E": 210})
    assert not result.passed
    assert "not answered yet. Define `retention`, `churn`" in str(result)


def test_wrong_kind_of_object_is_reported_not_raised() -> None:
    result = check("01.5", {"demo_client": "retailer", "table": "a table",
                            "first_month1": 0.1})
    assert "`table` should be a DataFrame (the cohort table), got str" in str(result)


def test_other_parameters_cannot_be_checked_and_say_so() -> None:
    result = check("01.1", {**RIGHT, "demo_client": "saas"})
    assert not result.passed and "default parameters only (demo_client)" in str(result)


def test_a_set_answer_ignores_case_and_order() -> None:
    ns = {"horizon_days": 90, "survival_horizon_days": 180, "n_simulations": 4000,
          "seed": 2024, "selection_gap": 0.0, "randomised_lift": 0.0}
    right = check("04.8", {**ns, "needed": {"f", "D", "a", "C"}})
    wrong = check("04.8", {**ns, "needed": {"A", "B", "C", "D", "F"}})
    assert "`needed`" not in str(right) and "`needed` is not right yet" in str(wrong)


def test_the_check_reads_the_callers_globals() -> None:
    code = ("from retention_kit.course_checks import check\n"
            "demo_client, E, retention, churn = 'retailer', 210, 0.85, 0.15\n"
            "result = check('01.1')\n")
    namespace: dict = {}
    exec(compile(code, "<notebook>", "exec"), namespace)  # noqa: S102 - a notebook's globals
    assert namespace["result"].passed


def test_unknown_exercise_id_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no exercise '01.9'"):
        check("01.9", RIGHT)


def test_every_exercise_has_stored_digests_and_no_plain_values() -> None:
    assert set(ANSWERS) == set(EXERCISES)
    for exercise, spec in EXERCISES.items():
        for stored in ANSWERS[exercise]:
            names = {a.name for a in spec.answers}
            assert names <= set(stored), exercise
            for key, digest in stored.items():
                if key != "params":
                    assert re.fullmatch(r"[0-9a-f]{20}", digest), (exercise, key)
    text = (ROOT / "retention_kit" / "course_answers.py").read_text(encoding="utf-8")
    assert "0.85" not in text and "171.43" not in text


def test_money_in_the_praise_follows_the_clients_currency() -> None:
    """The retailer reports in euros: its average order value is not printed in dollars."""
    import retention_kit as rk

    client = rk.load_demo_client("retailer")
    log = client.transactions
    seg = rk.rfm_segmentation_summary(log, amount_col="amount", duplicates="keep")
    ns = {"demo_client": "retailer", "client": client, "log": log,
          "repeat_rate": rk.repeat_purchase_rate(seg["purchases"]),
          "aov": float(rk.average_order_value(seg["total_spend"].sum(),
                                              seg["purchases"].sum()))}
    result = check("01.3", ns)
    assert result.passed, str(result)
    assert client.info["currency"] == "EUR"
    assert "EUR" in str(result) and "$" not in str(result)
    wrong = check("01.3", {**ns, "aov": float(log["amount"].mean())})
    assert "same-day purchases are one order" in str(wrong)


L07 = {"demo_client": "till_export", "calibration_end": "2024-05-31", "inactivity_days": 180}


def test_real_data_checks_accept_the_exports_known_truth_and_explain_its_traps() -> None:
    """Lesson 07's export was simulated: its client.json gives the true counts and revenue.

    The data-quality table (07.2) must show the truth's guest revenue, postage lines and
    unmatched returns; dropping instead of netting the returns (07.3) adds exactly the
    matched returns' revenue and the orders cancelled in full. 600 ids in the export, 587
    customers out (lesson 07): 13 ids without a purchase.
    """
    import retention_kit as rk

    client = rk.load_demo_client("till_export")
    truth = client.info["truth"]
    table = {**L07, "client": client, "guest_revenue": truth["guest_revenue"],
             "postage_lines": truth["postage_lines"],
             "unmatched_revenue": truth["unmatched_returns_revenue"],
             "ids_without_purchases": truth["customers"] - 587}
    assert check("07.2", table).passed
    raw_postage = check("07.2", {**table, "postage_lines": truth["postage_lines"] + 11})
    assert "that counts every POST line of the file" in str(raw_postage)
    assert len(raw_postage.lines) == 1
    netting = {**L07, "client": client, "revenue_change": truth["matched_returns_revenue"],
               "extra_orders": truth["orders_cancelled_in_full"], "forecast_policy": " Net"}
    assert check("07.3", netting).passed
    dropped = check("07.3", {**netting, "forecast_policy": "drop",
                             "revenue_change": -truth["matched_returns_revenue"]})
    assert "the sign" in str(dropped) and "brings back the orders cancelled" in str(dropped)


@pytest.mark.parametrize(("tell", "feedback"), [
    ({"B", "D", "E"}, None),
    ({"e", " d", "B"}, None),
    ({"A", "B", "D", "E"}, "A is an exact value per customer"),
    ({"B", "C", "D", "E"}, "C says who has left"),
    ({"B", "D"}, "E is allowed"),
    (set("ABCDEFG"), "under caution a value per customer is shown only as a range"),
])
def test_what_to_tell_the_client_names_the_sentence_that_is_wrong(tell: set, feedback) -> None:
    result = check("07.6", {**L07, "tell": tell})
    assert result.passed is (feedback is None)
    assert feedback is None or feedback in str(result)
