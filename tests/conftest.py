"""Fixtures shared by several test modules: the CDNOW sample as the papers split it."""

from __future__ import annotations

import pandas as pd
import pytest

from retention_kit.data import calibration_holdout_split
from retention_kit.datasets import load_cdnow_transactions
from retention_kit.models import BGNBD

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
