"""The batch's kernels: warm kernels forked from a template (``run_reports(kernels="warm")``,
the default) start every report from the same clean state, give the same report as a
kernel started from scratch, and a kernel that dies or hangs is retried once in a fresh
kernel without touching the other reports.

The report-content tests and the rest of the batch's tests are in ``test_reports.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from retention_kit import reports
from retention_kit.reports.warm import KernelTemplate, warm_kernels_supported

# serial: kernel start-up deadlines and signals, run alone after the parallel tests (Makefile)
pytestmark = [pytest.mark.skipif(not warm_kernels_supported(),
                                 reason="warm kernels need Linux (os.pidfd_open)"),
              pytest.mark.serial]


def _notebook(path: Path, *cells: str) -> Path:
    """A small notebook with the report notebook's two parameters and ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('client_id = ""\ndata_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)
    return path


def _stdout(notebook: Path, heading: str) -> str:
    """What the executed cell starting with ``heading`` printed."""
    nb = nbformat.read(notebook, as_version=4)
    (cell,) = [c for c in nb.cells if c.source.startswith(heading)]
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _cells(notebook: Path, coalesce: bool = True) -> list[tuple]:
    """Each cell's type, source, execution count and outputs. ``coalesce`` joins
    consecutive text printed to one stream: the kernel sends printed text in chunks as time
    passes, so on a busy machine the same lines can land in one output or several (in any
    kernel); the report's HTML is compared when they did not."""
    cells = []
    for c in nbformat.read(notebook, as_version=4).cells:
        outputs: list[dict] = []
        for out in c.get("outputs", []):
            last = outputs[-1] if outputs else {}
            if coalesce and out.get("output_type") == "stream" and \
                    last.get("output_type") == "stream" and last.get("name") == out.get("name"):
                last["text"] += out["text"]
            else:
                outputs.append(dict(out))
        cells.append((c.cell_type, c.source, c.get("execution_count"), outputs))
    return cells


def _template_processes() -> list[str]:
    """This process's kernel templates still running (children of this process)."""
    ps = subprocess.run(["ps", "-ww", "--ppid", str(os.getpid()), "-o", "pid=,args="],
                        capture_output=True, text=True, check=False)
    return [line for line in ps.stdout.splitlines() if "retention_kit.reports.warm" in line]


LOOK = """# Look at the state the report starts from
import json, os, sys, warnings
import matplotlib.pyplot as plt
import numpy as np
import retention_kit
print(json.dumps({
    "variable": "leaked" in globals(), "linewidth": plt.rcParams["lines.linewidth"],
    "figures": plt.get_fignums(), "filters": [str(f) for f in warnings.filters],
    "module": hasattr(retention_kit, "leaked"), "env": os.environ.get("RK_LEAKED"),
    "path": "/leaked" in sys.path, "pid": os.getpid(), "parent": os.getppid(),
    "imported": "seaborn" in sys.modules, "draw": float(np.random.random())}))"""

MESS = """# Leave a mess behind
leaked = 1
plt.rcParams["lines.linewidth"] = 9.0
plt.figure()
warnings.simplefilter("error")
retention_kit.leaked = True
os.environ["RK_LEAKED"] = client_id
sys.path.append("/leaked")"""


@pytest.mark.slow
def test_each_warm_report_starts_from_the_same_clean_state(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "mess.ipynb", LOOK, MESS)
    out = tmp_path / "out"
    ids = ["first", "second", "third"]
    results = reports.run_reports(ids, out_dir=out, workers=1, notebook=notebook,
                                  progress=False)
    assert [(r.status, r.kernel, r.attempts) for r in results] == [("ok", "warm", 1)] * 3
    states = [json.loads(_stdout(r.notebook, "# Look")) for r in results]
    for state in states:  # nothing the previous report did is visible
        assert state["variable"] is False and state["module"] is False
        assert state["linewidth"] == 1.5 and state["figures"] == []
        assert state["env"] is None and state["path"] is False
        assert state["imported"] is True  # the template's imports: a warm kernel
        assert state["filters"] == states[0]["filters"]
        assert "('error', None, <class 'Warning'>, None, 0)" not in state["filters"]
    # each report in a process of its own, forked from the same template (not this one)
    assert len({s["pid"] for s in states}) == 3
    assert len({s["parent"] for s in states}) == 1 and states[0]["parent"] != os.getpid()
    # NumPy's global generator is re-seeded in each kernel, as in a new process
    assert len({s["draw"] for s in states}) == 3
    assert _template_processes() == []  # the template went with the batch


@pytest.mark.slow
def test_warm_and_fresh_kernels_give_the_same_report(tmp_path: Path) -> None:
    executed = {}
    for kernels in ("fresh", "warm"):
        # One output folder for both: the customer list's path (in it) is a parameter,
        # so the notebooks' injected parameters are the same; each run's files are kept.
        (result,) = reports.run_reports(["b2b_saas"], out_dir=tmp_path / "out",
                                        parameters={"fast": True}, progress=False,
                                        kernels=kernels)
        assert (result.status, result.kernel) == ("ok", kernels)
        keep = tmp_path / kernels
        keep.mkdir()
        for path in (result.html, result.notebook):
            shutil.copy(path, keep / path.name)
        executed[kernels] = dataclasses.replace(result, html=keep / result.html.name,
                                                notebook=keep / result.notebook.name)
    cells = {k: _cells(r.notebook) for k, r in executed.items()}
    assert cells["warm"] == cells["fresh"]  # every output, the figures' PNGs included
    assert sum(1 for c in cells["warm"] for o in c[3] if "image/png" in o.get("data", {})) >= 2
    assert executed["warm"].kpis == executed["fresh"].kpis

    def page(result: reports.ReportResult) -> str:  # papermill draws this cell id at random
        return re.sub(r'id="cell-id=[0-9a-f]+"', "", result.html.read_text(encoding="utf-8"))

    if all(_cells(r.notebook, coalesce=False) == cells["fresh"] for r in executed.values()):
        assert page(executed["warm"]) == page(executed["fresh"])


@pytest.mark.slow
def test_a_dead_or_hanging_kernel_is_retried_once_in_a_fresh_kernel(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "trouble.ipynb", """# Crash or hang on purpose
import os, pathlib, time
marker = pathlib.Path(data_dir, "tried")
first_try = not marker.exists()
marker.touch()
if client_id == "crashes-once" and first_try:
    os._exit(1)
if client_id == "hangs":
    time.sleep(120)
print(client_id)""")
    folders = []
    for cid in ("fine", "crashes-once", "hangs"):
        (tmp_path / cid).mkdir()
        folders.append(tmp_path / cid)
    out = tmp_path / "out"
    results = reports.run_reports(folders, out_dir=out, workers=2, notebook=notebook,
                                  progress=False, timeout=5)
    got = {r.client_id: r for r in results}
    assert (got["fine"].status, got["fine"].kernel, got["fine"].attempts) == ("ok", "warm", 1)
    assert _stdout(got["fine"].notebook, "# Crash") == "fine\n"
    # died in its warm kernel, then ran in a fresh one
    once = got["crashes-once"]
    assert (once.status, once.kernel, once.attempts) == ("ok", "fresh", 2)
    assert _stdout(once.notebook, "# Crash") == "crashes-once\n"
    # timed out twice: failed, with an error page showing the cell, the others unaffected
    hangs = got["hangs"]
    assert (hangs.status, hangs.kernel, hangs.attempts, hangs.error_type) == \
        ("failed", "fresh", 2, "CellTimeoutError")
    assert "after 5 seconds" in hangs.error and "# Crash or hang on purpose" in hangs.error
    assert "could not be produced" in hangs.html.read_text(encoding="utf-8")
    log = (out / f"{hangs.name}.kernel.log").read_text(encoding="utf-8")
    assert log.count("retrying once in a fresh kernel") == 1
    saved = {r["client_id"]: r for r in json.loads((out / "index.json").read_text())}
    assert saved["crashes-once"]["attempts"] == 2 and saved["fine"]["kernel"] == "warm"
    assert _template_processes() == []


def test_a_template_that_cannot_start_says_why_and_forks_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHOME": str(tmp_path / "no-python-here")}
    with KernelTemplate(env) as template:
        assert template.wait_ready(timeout=60) is False
        assert template.error and "exited while importing" in template.error
        with pytest.raises(RuntimeError, match="no warm kernel"):
            template.fork_kernel(["-f", str(tmp_path / "kernel.json")], env=os.environ,
                                 log_path=tmp_path / "kernel.log")
    assert template.wait_ready(timeout=1) is False  # closed


def test_run_reports_refuses_an_unknown_kernel_design(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kernels"):
        reports.run_reports(["retailer"], out_dir=tmp_path, kernels="tepid")  # type: ignore[arg-type]


def test_importing_the_warm_module_starts_nothing() -> None:
    code = ("import sys, threading; import retention_kit.reports.warm; "
            "print(threading.active_count(), 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout == "1 False\n"


@pytest.mark.slow
def test_a_kernel_with_its_own_environment_is_started_fresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template imports before any kernel starts, so it cannot stand in for a kernel
    spec that sets environment variables (they may change what an import does)."""
    spec = tmp_path / "jupyter" / "kernels" / "py-env"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "env": {"RK_SPEC_VARIABLE": "from the spec"}, "language": "python",
        "display_name": "Python with an environment"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = _notebook(tmp_path / "env.ipynb", "# Say\nimport os\n"
                                                 "print(os.environ['RK_SPEC_VARIABLE'])")
    (result,) = reports.run_reports(["client"], out_dir=tmp_path / "out", notebook=notebook,
                                    progress=False, kernel_name="py-env")
    assert (result.status, result.kernel, result.attempts) == ("ok", "fresh", 1)
    assert _stdout(result.notebook, "# Say") == "from the spec\n"


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    ps = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True,
                        text=True, check=True)
    out = {}
    for line in ps.stdout.splitlines():
        pid, ppid, *args = line.split(None, 2)
        out[int(pid)] = (int(ppid), "".join(args))
    return out


@pytest.mark.slow
def test_sigterm_stops_the_template_and_the_kernels_it_forked(tmp_path: Path) -> None:
    import signal
    import time

    runtime = tmp_path / "runtime"  # the template's socket folder and the connection files
    runtime.mkdir()
    notebook = _notebook(tmp_path / "slow.ipynb", "# Take a while\nimport time\ntime.sleep(120)")
    clients = ["retailer", "marketplace", "seasonal_shop"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_kit.cli", "report", "--out", str(tmp_path / "out"),
         "--workers", "2", "--no-progress", "--notebook", str(notebook), "--clients", *clients],
        env={**os.environ, "TMPDIR": str(runtime), "JUPYTER_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    forked: list[int] = []
    while len(forked) < 2 and time.monotonic() < deadline:  # both workers in a warm kernel
        time.sleep(0.5)
        table = _processes()
        templates = [pid for pid, (_, args) in table.items()
                     if "retention_kit.reports.warm" in args and str(runtime) in args]
        forked = [pid for pid, (ppid, _) in table.items() if ppid in templates]
    assert len(forked) == 2, "no warm kernels started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Cancelled:" in stdout and "Traceback" not in stderr
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert [r["status"] for r in index] == ["cancelled"] * 3
    time.sleep(1.0)  # killed processes take a moment to be reaped
    table = _processes()
    assert [pid for pid in forked if pid in table] == []
    assert [args for _, args in table.values() if str(runtime) in args] == []
    assert list(runtime.iterdir()) == [], "connection files or the socket folder left behind"
