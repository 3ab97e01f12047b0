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


def _bgnbd_fit(end: str, seed: int):
    import warnings

    from retention_kit.data import rfm_summary
    from retention_kit.models import BGNBD
    from retention_kit.simulate import simulate_transactions

    log = simulate_transactions(2000, start="2024-01-01", end=end, params=_SLOW_DROPOUT,
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

    d = identification(_bgnbd_fit("2028-12-31", 0))
    assert d.verdict == "ok", d.to_frame()
    assert next(f for f in d if f.check == "dropout identified").value <= 10


def test_a_tiny_dropout_shape_and_a_boundary_are_reported() -> None:
    from retention_kit.diagnostics import identification
    from retention_kit.models import BGNBD

    model = _bgnbd_fit("2028-12-31", 0)
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
