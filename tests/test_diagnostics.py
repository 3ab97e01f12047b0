"""Verdicts and diagnostics (retention_kit.diagnostics)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retention_kit.diagnostics import Diagnostics, Finding, worst
from retention_kit.errors import DataError


def test_worst_verdict_orders_ok_caution_unreliable() -> None:
    assert worst(["caution", "unreliable", "ok"]) == "unreliable"
    assert worst(["ok", "ok"]) == "ok"


def test_an_unknown_verdict_is_refused_with_the_choices() -> None:
    with pytest.raises(DataError, match="verdict.*'ok', 'caution', 'unreliable'"):
        Finding("window", "fine", "12 months")


def test_diagnostics_round_trip_to_json_and_frame() -> None:
    d = Diagnostics((Finding("window", "ok", "Long enough."),
                     Finding("dropout", "unreliable", "a at 0.003.", fix="A longer window.",
                             value=0.003, rule="a < 0.01 unreliable")))
    payload = json.loads(json.dumps(d.to_dict()))
    assert payload["verdict"] == "unreliable"
    assert [f["check"] for f in payload["findings"]] == ["window", "dropout"]
    assert d.to_frame().shape == (2, 6)
    assert d.concerns()[0].sentence() == "a at 0.003. What would fix it: A longer window."


# --------------------------------------------------------------------------- identification

_SLOW_DROPOUT = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 30.0}


def _bgnbd_fit(end: str, seed: int, start: str = "2024-01-01"):
    import warnings

    from retention_kit.data import rfm_summary
    from retention_kit.models import BGNBD
    from retention_kit.simulate import simulate_transactions

    log = simulate_transactions(2000, start=start, end=end, params=_SLOW_DROPOUT,
                                random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BGNBD().fit(rfm_summary(log, time_unit="W", duplicates="keep"))


@pytest.mark.parametrize("seed", [0, 3])
def test_twelve_months_of_slow_dropout_do_not_identify_dropout(seed: int) -> None:
    from retention_kit.diagnostics import identification

    d = identification(_bgnbd_fit("2024-12-31", seed))
    dropout = next(f for f in d if f.check == "dropout identified")
    assert dropout.verdict in ("caution", "unreliable")
    assert "how fast customers stop buying" in dropout.reason
    assert "a longer window" in dropout.fix
    assert next(f for f in d if f.check == "purchase rate identified").verdict == "ok"


def test_five_years_of_the_same_process_identify_dropout() -> None:
    from retention_kit.diagnostics import identification

    d = identification(_bgnbd_fit("2024-12-31", 0, start="2020-01-01"))
    assert d.verdict == "ok", d.to_frame()
    assert next(f for f in d if f.check == "dropout identified").value <= 10


def test_a_tiny_dropout_shape_and_a_boundary_are_reported() -> None:
    from retention_kit.diagnostics import identification
    from retention_kit.models import BGNBD

    model = _bgnbd_fit("2024-12-31", 0, start="2020-01-01")
    params = dict(model.params_, a=0.003)
    tiny = BGNBD.from_params(params)
    tiny.se_ = model.se_
    # from_params keeps the given values; summary() of a given-parameter model has no
    # interval, so the tiny shape alone must decide
    d = identification(tiny)
    f = next(f for f in d if f.check == "dropout identified")
    assert f.verdict == "unreliable" and f.value == 0.003
    assert "nearly no customer ever stops buying" in f.reason
    model.boundary_ = "b is infinite: every customer has the same dropout (BG/NBD limit)."
    d = identification(model)
    assert d.findings[0].check == "boundary" and d.findings[0].verdict == "caution"
    assert "every customer has the same dropout" in d.findings[0].reason


def test_a_model_without_named_roles_is_judged_on_all_its_parameters() -> None:
    from retention_kit.diagnostics import identification
    from retention_kit.models import GammaGamma
    from retention_kit.simulate import simulate_summary

    s = simulate_summary(2000, T=104.0, spend={"p": 6.25, "q": 3.74, "gamma": 15.44},
                         random_state=0)
    d = identification(GammaGamma().fit(s.loc[s["frequency"] > 0]))
    assert [f.check for f in d] == ["standard errors", "parameters identified"]
    assert d.verdict == "ok" and 1 < d.findings[1].value <= 10
    assert "gamma = " in d.findings[1].reason


def test_identification_refuses_an_unfitted_model() -> None:
    from retention_kit.diagnostics import identification

    with pytest.raises(TypeError, match="fitted model"):
        identification(object())


# --------------------------------------------------------------------------- left truncation


def _truncated_log(seed: int = 1):
    """A loyal base acquired 2016-2023 plus new customers in 2024; the log kept from 2024."""
    from retention_kit.simulate import simulate_transactions

    old = simulate_transactions(6000, start="2016-01-01", end="2024-12-31",
                                acquisition_end="2023-12-31", params=_SLOW_DROPOUT,
                                id_prefix="O", random_state=seed)
    new = simulate_transactions(1500, start="2024-01-01", end="2024-12-31",
                                params=_SLOW_DROPOUT, id_prefix="N", random_state=seed + 100)
    log = pd.concat([old, new]).sort_values(["date", "customer_id"]).reset_index(drop=True)
    return new, log.loc[log["date"] >= "2024-01-01"].reset_index(drop=True)


def test_a_log_cut_through_an_existing_base_is_flagged_and_the_fix_stops_the_rise() -> None:
    from retention_kit.cohorts import retention_curve
    from retention_kit.diagnostics import left_truncation, suggest_customers_since

    new_only, cut = _truncated_log()
    assert left_truncation(new_only).verdict == "ok"
    finding = left_truncation(cut)
    assert finding.verdict == "unreliable" and finding.value >= 1.5
    assert "existing customer base" in finding.reason
    since = suggest_customers_since(cut)
    assert f"customers_since='{since.date()}'" in finding.fix
    assert since.day == 1 and pd.Timestamp("2024-02-01") <= since <= pd.Timestamp("2024-09-01")

    raw = retention_curve(cut)["retention"]
    fixed_curve = retention_curve(cut, customers_since=since)
    fixed = fixed_curve["retention"]
    # the raw curve rises (old customers dominate the late periods); the fixed one does not
    assert raw.iloc[-3:].mean() >= 1.15 * raw.iloc[1]
    assert fixed.iloc[-3:].mean() <= 1.02 * fixed.iloc[1]
    assert fixed.iloc[2:].max() <= 1.1 * fixed.iloc[1]
    assert fixed_curve.attrs["customers_since"] == str(since.date())
    assert "left out" in fixed_curve.attrs["note"]


# --------------------------------------------------------------------------- holdout fit


def _split(seed: int = 1, **kw):
    from retention_kit.data import calibration_holdout_split
    from retention_kit.simulate import simulate_transactions

    log = simulate_transactions(2000, start="2024-01-01", end="2025-06-30",
                                acquisition_end="2024-09-30", random_state=seed, **kw)
    return log, calibration_holdout_split(log, calibration_end="2024-12-31", time_unit="W",
                                          duplicates="keep", amount_col="amount")


def test_fit_words_come_from_the_thresholds() -> None:
    from retention_kit.diagnostics import describe_error, error_verdict

    assert [error_verdict(e) for e in (0.10, 0.14, -0.25, -0.527, float("inf"))] == [
        "ok", "caution", "caution", "unreliable", "unreliable"]
    assert describe_error(0.14).startswith("over-predicted by 14.0%: outside the ±10%")
    assert "should not be used" in describe_error(-0.527)


def test_holdout_fit_of_the_true_process_is_ok_and_of_a_wrong_rate_unreliable() -> None:
    from retention_kit.diagnostics import holdout_fit
    from retention_kit.models import BGNBD

    _, split = _split()
    good = holdout_fit(BGNBD().fit(split), split)
    assert [f.check for f in good] == ["holdout fit", "holdout fit by frequency"]
    assert good.verdict == "ok", good.to_frame()
    # dropout far faster than the truth (mean p 0.83 instead of 0.25): under-predicts
    slow = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 5.0, "b": 1.0})
    bad = holdout_fit(slow, split).findings[0]
    assert bad.verdict == "unreliable" and bad.value < -0.25
    assert "under-predicted" in bad.reason and "should not be used" in bad.reason


def test_choose_model_picks_the_smallest_holdout_error_up_to_a_tie() -> None:
    from retention_kit.diagnostics import choose_model
    from retention_kit.diagnostics.model_choice import TIE

    _, split = _split()
    choice = choose_model(split)
    t = choice.table
    assert list(t.index) == ["BG/NBD", "MBG/NBD", "Pareto/NBD"] and t["chosen"].sum() == 1
    err = t["tracking_error"].abs()
    assert err[choice.name] <= err.min() + TIE
    tied = t.loc[err <= err.min() + TIE]
    assert t.loc[choice.name, "loglik"] == tied["loglik"].max()
    assert choice.reason.startswith(f"{choice.name} was chosen") and "holdout" in choice.reason
    assert type(choice.model) is choice.model_class
    assert choice.finding.check == "model choice"


def test_choose_model_sets_aside_candidates_whose_dropout_is_not_identified() -> None:
    from retention_kit.data import calibration_holdout_split
    from retention_kit.diagnostics import choose_model
    from retention_kit.simulate import simulate_transactions

    # nine months of calibration of a slowly churning base: some candidates cannot pin
    # dropout down (on this seed Pareto/NBD cannot, BG/NBD and MBG/NBD can, with caution)
    log = simulate_transactions(2000, start="2024-01-01", end="2024-12-31",
                                params=_SLOW_DROPOUT, random_state=0)
    split = calibration_holdout_split(log, calibration_end="2024-09-30", time_unit="W",
                                      duplicates="keep")
    choice = choose_model(split)
    t = choice.table
    assert t.loc[choice.name, "dropout_verdict"] != "unreliable"
    unidentified = t.index[(t["dropout_verdict"] == "unreliable")
                           & (t["problem"] != "predictions not finite")]
    assert len(unidentified) >= 1
    assert (t.loc[unidentified, "problem"] == "dropout not identified").all()
    assert "set aside" in choice.reason


def test_choose_model_with_no_identified_dropout_is_a_caution() -> None:
    from retention_kit.data import calibration_holdout_split
    from retention_kit.diagnostics import choose_model
    from retention_kit.simulate import simulate_transactions

    # a seed on which no candidate identifies dropout (since the models report boundary
    # fits, about one seed in eight of this design)
    log = simulate_transactions(2000, start="2024-01-01", end="2024-12-31",
                                params=_SLOW_DROPOUT, random_state=3)
    split = calibration_holdout_split(log, calibration_end="2024-09-30", time_unit="W",
                                      duplicates="keep")
    choice = choose_model(split)
    assert (choice.table["dropout_verdict"] == "unreliable").all()
    assert choice.finding.verdict == "caution"  # the holdout error alone would be ok
    assert abs(choice.finding.value) <= 0.10
    assert "no candidate's dropout is identified" in choice.reason


# --------------------------------------------------------------------------- adequacy


def test_spend_independence_by_correlation() -> None:
    import numpy as np

    from retention_kit.diagnostics import spend_independence
    from retention_kit.simulate import simulate_summary

    s = simulate_summary(3000, T=52.0, spend={"p": 6.25, "q": 3.74, "gamma": 15.44},
                         random_state=2)
    assert spend_independence(s).verdict == "ok"
    repeat = s["frequency"] > 0
    linked = s.assign(monetary_value=np.where(repeat, 10.0 * s["frequency"]
                                              + s["monetary_value"], 0.0))
    f = spend_independence(linked)
    assert f.verdict == "unreliable" and f.value >= 0.5
    assert "frequent buyers spend more" in f.reason


def test_a_seasonal_holdout_gets_the_seasonality_caution() -> None:
    from retention_kit.diagnostics import holdout_seasonality
    from retention_kit.simulate import simulate_transactions

    season = [0.8, 0.8, 0.9, 0.9, 1, 1, 1, 1, 1, 1.1, 1.6, 2.0]
    kw = {"start": "2022-01-01", "end": "2024-12-31", "random_state": 0}
    seasonal = simulate_transactions(3000, seasonality=season, **kw)
    flat = simulate_transactions(3000, **kw)
    f = holdout_seasonality(seasonal, calibration_end="2024-09-30")
    assert f.verdict == "caution" and f.value > 0.3
    assert "Oct, Nov, Dec" in f.reason and "too low" in f.reason
    g = holdout_seasonality(flat, calibration_end="2024-09-30")
    assert g.verdict == "ok" and abs(g.value) <= 0.10
    short = holdout_seasonality(flat.loc[flat["date"] >= "2024-01-01"],
                                calibration_end="2024-09-30")
    assert short.verdict == "caution" and "fewer than 24 complete months" in short.reason


# --------------------------------------------------------------------------- sufficiency


def test_a_180_day_rule_on_twelve_months_and_small_cohorts_are_flagged() -> None:
    from retention_kit.diagnostics import data_sufficiency
    from retention_kit.simulate import simulate_transactions

    log = simulate_transactions(240, start="2024-01-01", end="2024-12-31", random_state=3)
    d = data_sufficiency(log, inactivity=180)
    by = {f.check: f for f in d}
    assert by["window vs inactivity rule"].verdict == "caution"
    assert by["window vs inactivity rule"].value == pytest.approx(366 / 180)
    assert "flat beyond that" in by["window vs inactivity rule"].reason
    assert data_sufficiency(log, inactivity=200).findings[1].verdict == "unreliable"
    assert data_sufficiency(log, inactivity=60).findings[1].verdict == "ok"
    assert by["customers per cohort"].verdict == "unreliable"  # about 20 a month
    assert by["customers per cohort"].value < 30


def test_window_vs_purchase_cycle_hand_computed() -> None:
    from retention_kit.diagnostics import data_sufficiency

    # 100 days; customer 1 buys every 10 days, customer 2 every 50: median of means 30
    log = pd.DataFrame({
        "customer_id": [1] * 10 + [2, 2, 3],
        "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(
            [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 50, 99], unit="D")})
    d = data_sufficiency(log, period="W")
    f = d.findings[0]
    assert f.check == "window vs purchase cycle"
    assert f.value == pytest.approx(100 / 30)
    assert f.verdict == "caution"
    assert "a longer window, at least 120 days" in f.fix
    short = data_sufficiency(log, period="Y").findings[-1]
    assert short.check == "customers per cohort" and short.verdict == "unreliable"
    assert "does not cover one complete year, so no cohort" in short.reason


# --------------------------------------------------------------------------- diagnose


def test_diagnose_collects_every_check_the_inputs_allow() -> None:
    import warnings

    from retention_kit.data import rfm_summary
    from retention_kit.diagnostics import diagnose
    from retention_kit.models import BGNBD

    log, split = _split()
    summary = rfm_summary(log, time_unit="W", duplicates="keep", amount_col="amount")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BGNBD().fit(summary)
    d = diagnose(model, summary=summary, split=split, transactions=log, inactivity=90)
    checks = [f.check for f in d]
    assert checks == ["standard errors", "purchase rate identified", "dropout identified",
                      "holdout fit", "holdout fit by frequency",
                      "spend independent of frequency", "window vs purchase cycle",
                      "window vs inactivity rule", "inactivity rule vs purchase cycle",
                      "customers per cohort", "left truncation", "holdout seasonality"]
    assert d.verdict == "caution"  # 18 months cannot be checked for seasonality
    assert json.loads(json.dumps(d.to_dict()))["verdict"] == "caution"
    assert diagnose(model).verdict == "ok"
    # the calibration fit made already (by choose_model, say) gives the same findings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calibrated = BGNBD().fit(split)
    assert diagnose(model, summary=summary, split=split, transactions=log, inactivity=90,
                    calibrated=calibrated) == d
    from retention_kit.models import GammaGamma

    spend = GammaGamma().fit(summary.loc[summary["frequency"] > 0])
    assert [f.check for f in diagnose(spend_model=spend)] == [
        "spend: standard errors", "spend: parameters identified"]
