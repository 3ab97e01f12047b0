"""Verdicts and diagnostics (retention_kit.diagnostics)."""

from __future__ import annotations

import json

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
