"""The course notebooks run under papermill with other parameters, and fail early on bad ones.

nbval (``make notebooks``) re-runs each notebook with its defaults and compares the
checked outputs; these tests cover what nbval cannot: other parameter values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retention_kit.datasets import load_demo_client

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run(name: str, tmp_path: Path, **parameters) -> str:
    out = tmp_path / name
    papermill.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=parameters,
                               kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    return out.read_text()


@pytest.mark.slow
def test_measurement_notebook_runs_on_a_demo_client(tmp_path: Path) -> None:
    text = run("01_measurement.ipynb", tmp_path, dataset="marketplace", period="Q",
               demo_client="seasonal_shop", observation_end="2024-06-30")
    log = load_demo_client("marketplace").transactions
    log = log[log["date"] <= "2024-06-30"]
    assert f"{len(log):,} purchases by {log['customer_id'].nunique():,} customers" in text
    assert "cohorts; the" in text and "log-rank p-value" in text


@pytest.mark.slow
def test_measurement_notebook_rejects_a_bad_parameter_early(tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError,
                       match=r"parameter period='month' is not one of \['W', 'M', 'Q'\]"):
        run("01_measurement.ipynb", tmp_path, period="month")
