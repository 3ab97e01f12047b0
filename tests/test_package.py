"""Project-level checks: import hygiene, setup files in step, README quickstart, data shipping."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, **kwargs)


def test_import_is_quiet_light_and_changes_no_global_state() -> None:
    code = """
import sys, warnings
import pandas as pd
filters = list(warnings.filters)
options = {k: pd.get_option(k) for k in ("display.max_rows", "display.max_columns",
                                           "display.float_format", "display.precision",
                                           "display.width")}
import retention_kit
import retention_kit.data, retention_kit.metrics, retention_kit.cohorts, retention_kit.plots
import retention_kit.clv, retention_kit.evaluation, retention_kit.notebook
import retention_kit.segments, retention_kit.experiments, retention_kit.reports, retention_kit.cli
import retention_kit.datasets, retention_kit.engines
assert warnings.filters == filters, "warnings filters changed on import"
assert options == {k: pd.get_option(k) for k in options}, "pandas options changed on import"
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               {"matplotlib", "seaborn", "lifelines", "jupyter", "jupyter_client", "IPython",
                "ipykernel", "papermill", "nbformat", "lifetimes", "sklearn",
                "statsmodels", "ibis", "duckdb", "pyspark"})
# (pyarrow is not listed: pandas 3 imports it itself when it is installed.)
print(heavy)
"""
    out = run_python(code)
    assert out.stdout == "[]\n"
    assert out.stderr == ""


def test_public_api_is_explicit_and_versioned() -> None:
    import retention_kit as rk

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert rk.__version__ == pyproject["project"]["version"]
    assert len(rk.__all__) == len(set(rk.__all__))
    for name in rk.__all__:
        assert getattr(rk, name) is not None


def test_environment_yml_asks_for_the_extras_pyproject_defines() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    wanted = set()
    for line in pip_section:
        match = re.search(r"\.\[([^\]]+)\]", line)
        if match:
            wanted |= {e.strip() for e in match.group(1).split(",")}
    assert wanted == extras


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "`make test`" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_readme_quickstart_runs_and_prints_what_it_says() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", readme, re.S).group(1)
    assert len(block.strip().splitlines()) <= 7
    out = run_python(block, cwd=ROOT.parent)
    expected = re.findall(r"#\s*(\[[^\]]*\]|[\d.]+)", block)
    printed = out.stdout.split("\n")
    assert printed[0] == expected[1] and printed[1] == expected[2]


def test_every_data_file_is_documented_and_the_folder_is_small() -> None:
    folder = ROOT / "datasets"
    readme = (folder / "README.md").read_text()
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != "README.md"]
    total = sum(p.stat().st_size for p in files)
    assert total < 30 * 2**20
    for p in files:
        if p.parent == folder:
            assert f"`{p.name}`" in readme, f"{p.name} is not described in datasets/README.md"
        else:
            assert f"`{p.relative_to(folder).parts[0]}/`" in readme


@pytest.mark.slow
def test_loaders_work_from_an_installed_wheel(tmp_path: Path) -> None:
    uv = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if uv.returncode != 0:
        pytest.skip("uv not available to build the wheel")
    subprocess.run([sys.executable, "-m", "uv", "build", "--wheel", "-q", "-o", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("retention_kit-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    assert "retention_kit/_datasets/cdnow_master.csv" in names
    assert "retention_kit/_notebooks/client_report.ipynb" in names
    assert not any(n.startswith("retention_kit/_notebooks/0") for n in names)
    code = """
import retention_kit.datasets as d
assert "_datasets" in str(d.data_dir()), d.data_dir()
import retention_kit.reports as r
assert "_notebooks" in str(r.REPORT_NOTEBOOK) and r.REPORT_NOTEBOOK.is_file(), r.REPORT_NOTEBOOK
assert r.SUBSCRIPTION_NOTEBOOK.is_file(), r.SUBSCRIPTION_NOTEBOOK
print(len(d.load_cdnow_transactions()), len(d.load_cdnow_summary()), len(d.load_donations()))
"""
    out = run_python(code, cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin"})
    assert out.stdout.split() == ["69659", "2357", "22"]


def test_notebook_parameter_check_suggests_the_intended_choice() -> None:
    from retention_kit.notebook import check_choice

    with pytest.raises(ValueError, match=r"data='retailr' .*; did you mean 'retailer'\?$"):
        check_choice("data", "retailr", ["cdnow", "retailer"])
    with pytest.raises(ValueError, match=r"did you mean 'M'\?$"):
        check_choice("period", "month", ["W", "M", "Q"])


def test_every_readme_python_block_runs_in_order() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    code = "\n".join(blocks) + "\nassert clv.notna().all() and (clv > 0).all()\n"
    run_python(code, cwd=ROOT.parent)
