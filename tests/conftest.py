"""Fixtures shared by several test modules.

The CDNOW data (the summary of the papers, and the sample log as the papers split it),
the finite-difference gradient of the model tests, Spark and Chromium. With pytest's
importlib import mode this file is not importable from the tests: helpers are fixtures
(``five_point_gradient`` returns the function).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

from retention_kit.data import calibration_holdout_split
from retention_kit.datasets import load_cdnow_summary, load_cdnow_transactions
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
def cdnow() -> pd.DataFrame:
    """The CDNOW summary of Fader, Hardie & Lee (2005): 2,357 customers, weeks 1-39.

    Shared by every test module: tests copy it before changing it.
    """
    return load_cdnow_summary()


def _five_point_gradient(f: Callable[[np.ndarray], np.ndarray], params: np.ndarray,
                         rel: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences of per-row values ``f(params)``, (n, k).

    Column j is (8 (f(p + h e_j) - f(p - h e_j)) - (f(p + 2h e_j) - f(p - 2h e_j))) / 12h
    with h = ``rel`` · params[j].
    """
    cols = []
    for j in range(len(params)):
        h = rel * params[j]

        def at(k: int, j: int = j, h: float = h) -> np.ndarray:
            p = params.copy()
            p[j] += k * h
            return f(p)

        cols.append((8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h))
    return np.column_stack(cols)


@pytest.fixture(scope="session")
def five_point_gradient() -> Callable[..., np.ndarray]:
    """The five-point finite-difference gradient ``(f, params, rel=1e-3) -> (n, k)``.

    Checks the models' exact gradients: ``f`` maps a parameter vector to per-row
    log-likelihoods.
    """
    return _five_point_gradient


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


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin() -> Path | None:
    """The folder of initdb, pg_ctl and postgres (PATH first, then Debian's versions)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl") and shutil.which("postgres"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    return versions[-1].parent if versions else None


class _Postgres:
    """A throwaway PostgreSQL server: ``load(frame)`` COPYs a frame into a new table."""

    TYPES = {"f": "double precision", "i": "bigint", "u": "bigint", "b": "boolean",
             "M": "timestamp"}

    def __init__(self, con, raw_connection, url: str = "") -> None:
        self.con, self.raw, self.n = con, raw_connection, 0
        self.url = url  # for ibis.connect and the CLI's --data

    def load(self, frame: pd.DataFrame):
        import io

        self.n += 1
        name = f"log_{self.n}"
        cols = ", ".join(f'"{c}" {self.TYPES.get(frame[c].dtype.kind, "text")}'
                         for c in frame.columns)
        text = io.StringIO()
        frame.to_csv(text, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f")
        with self.raw.cursor() as cur:
            cur.execute(f'CREATE TABLE "{name}" ({cols})')
            with cur.copy(f'COPY "{name}" FROM STDIN WITH (FORMAT csv)') as copy:
                copy.write(text.getvalue())
        self.raw.commit()
        return self.con.table(name)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session, on a unix socket in a temporary folder.

    The binaries come from PATH or /usr/lib/postgresql/<version>/bin (``make postgres``
    installs Debian's package when neither has them). initdb refuses to run as root, so as
    root (CI) the server runs as ``nobody``. Skipped, saying why, only when no server binary
    is installed.
    """
    import subprocess
    import tempfile

    ibis = pytest.importorskip("ibis")
    pytest.importorskip("psycopg", reason="psycopg is in the test extra: make setup")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, postgres): run "
                    "`make postgres` (apt-get install postgresql)")
    import socket

    base = Path(tempfile.mkdtemp(prefix="rk-postgres-"))
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("nobody")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    base.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args: str) -> None:
        out = subprocess.run(as_user + [str(bin_dir / args[0]), *args[1:]], cwd=base,
                             capture_output=True, text=True)
        if out.returncode:
            pytest.fail(f"{args[0]} failed: {out.stdout}\n{out.stderr}")

    run("initdb", "-D", str(data), "-U", "rk", "--auth=trust", "-E", "UTF8",
        "--locale=C")
    run("pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-w", "-o",
        f"-k {base} -p {port} -c listen_addresses='' -c fsync=off", "start")
    try:
        con = ibis.postgres.connect(host=str(base), port=port, user="rk",
                                    database="postgres")
        yield _Postgres(con, con.con,
                        f"postgresql://rk@/postgres?host={base}&port={port}")
        import gc

        gc.collect()  # drops the temporary tables of collected Ibis caches while connected
        con.disconnect()
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
