"""Fixtures shared by several test modules: the CDNOW sample as the papers split it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

from retention_kit.data import calibration_holdout_split
from retention_kit.datasets import load_cdnow_transactions
from retention_kit.models import BGNBD

# Property tests: CI must not depend on luck. `CI=true` (set by .ci/run) selects a
# derandomized profile, so every CI run draws the same examples; by hand the default "dev"
# "dev" profile draws new ones each run (HYPOTHESIS_PROFILE=ci or dev picks one by name).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "").lower() in {"1", "true"} else "dev"))

#: Calibration end of the BG/NBD paper: weeks 1-39 calibration, 40-78 holdout. (Test
#: modules repeat the date as CAL_END: with importlib import mode conftest is not importable.)
CDNOW_CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="session")
def cdnow_log() -> pd.DataFrame:
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="session")
def cdnow_split(cdnow_log: pd.DataFrame) -> pd.DataFrame:
    return calibration_holdout_split(cdnow_log, calibration_end=CDNOW_CALIBRATION_END,
                                     time_unit="W", duplicates="keep")


@pytest.fixture(scope="session")
def cdnow_bgnbd(cdnow_split: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow_split)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (the JVM takes about 10 s to start)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17)")
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as mp:
        # Python workers must run this interpreter, which has retention_kit installed.
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        session = (SparkSession.builder.master("local[2]").appName("retention_kit-tests")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.driver.memory", "1g")
                   .config("spark.sql.session.timeZone", "UTC")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


#: Debian's Chromium, installed by `make browser`; Playwright never downloads its own.
CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a closed network: without the background-networking ones Chromium keeps trying
#: (and failing) to reach Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium driven by Playwright (one per test module)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is in the test extra: make setup")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()
