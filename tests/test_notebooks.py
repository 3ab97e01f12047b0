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


@pytest.mark.slow
def test_strategy_notebook_runs_with_other_parameters(tmp_path: Path) -> None:
    import pandas as pd

    from retention_kit.datasets import load_experiment

    text = run("04_strategy_evaluation.ipynb", tmp_path, baseline_retention=0.6,
               target_retention=0.63, correction="bonferroni", n_looks=5, horizon_days=60,
               survival_horizon_days=120, roi_arm="welcome_email", cost_per_customer=0.5,
               churn_cuts=[0.01], demo_client="b2b_saas", portfolio_client="marketplace",
               uplift_arm="loyalty_programme", seed=7)
    signup = load_experiment()["signup_date"]
    reached = int(((pd.Timestamp("2024-01-31") - signup).dt.days >= 60).sum())
    assert f"60,000 customers enrolled; {reached:,} reached day 60" in text
    assert "stopped at the first of 5 looks" in text and "bonferroni p =" in text
    assert "(the true effects are defined at 90 days; this run uses 60)" in text
    assert "survival at day 120" in text and "Ledgerline: sBG alpha" in text
    assert "Bazaarly: 5,000 customers" in text and "loyalty_programme: trained on" in text


@pytest.mark.slow
def test_strategy_notebook_rejects_a_percentage_discount_rate(tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError, match="fractions per month"):
        run("04_strategy_evaluation.ipynb", tmp_path, monthly_discount_rate=5)


@pytest.mark.slow
def test_segmentation_notebook_runs_on_a_demo_client(tmp_path: Path) -> None:
    text = run("02_segmentation.ipynb", tmp_path, dataset="retailer", n_bins=4, k_max=5,
               persona_k=3, demo_client="seasonal_shop", migration_start="2024-09-30")
    log = load_demo_client("retailer").transactions
    assert f"{log['customer_id'].nunique():,} customers observed to 2024-12-31" in text
    assert "R=4 means since_last" in text and "Tbilisi Gift House: R=4" in text
    assert "k = 3: silhouette" in text and "Hypothesis to validate:" in text
    assert "2024-09-30 -> 2024-12-31" in text


@pytest.mark.slow
def test_segmentation_notebook_rejects_a_bad_parameter_early(tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError,
                       match=r"parameter dataset='retailr' is not one of"):
        run("02_segmentation.ipynb", tmp_path, dataset="retailr")


@pytest.mark.slow
def test_real_data_notebook_runs_with_other_parameters(tmp_path: Path) -> None:
    # A 120-day rule on the 366-day window: window / rule >= 3, so that caution goes away.
    text = run("07_real_data.ipynb", tmp_path, calibration_end="2024-07-31",
               inactivity_days=120)
    assert "1,120 orders by 587 customers, revenue out GBP 64,441.22" in text
    assert "Only customers first seen on or after 2024-04-01: 201 customers" in text
    assert "[caution] dropout identified" in text
    assert "[caution] window vs inactivity rule" not in text


@pytest.mark.slow
def test_real_data_notebook_rejects_a_client_without_a_raw_export(tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError,
                       match="demo_client='retailer' is not a raw export"):
        run("07_real_data.ipynb", tmp_path, demo_client="retailer")
