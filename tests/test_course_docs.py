"""The course documents (GLOSSARY.md, TRAINER_GUIDE.md) stay in step with the code.

* Every public metric or model is in the glossary. The rule for "metric or model": a name
  of ``retention_kit.__all__`` whose object is a function or class defined in one of the
  computing modules (``metrics``, ``cohorts``, ``clv``, ``data``, ``segments``,
  ``experiments``), plus every name of ``retention_kit.models.__all__``. Left out on purpose:
  errors and warnings (``errors``), data loaders and simulators (``datasets``), the report
  runner (``reports``) and ``__version__``: they compute no metric. The glossary must name
  each one as ```module.name``` (models as ```models.Name```), the function to call.
* Every notebook the two documents mention exists, and the guide mentions every course
  notebook.
* Every ``make`` command the guide tells trainers to run names a target of the Makefile.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import retention_kit
import retention_kit.models

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "GLOSSARY.md"
GUIDE = ROOT / "TRAINER_GUIDE.md"
COMPUTING_MODULES = {"metrics", "cohorts", "clv", "data", "segments", "experiments"}


def glossary_names() -> list[tuple[str, str]]:
    """(module, name) of every public metric or model, by the rule of the module docstring."""
    names = []
    for name in retention_kit.__all__:
        obj = getattr(retention_kit, name)
        # segments.rfm.rfm_scores is documented as segments.rfm_scores (subpackages by concept)
        module = getattr(obj, "__module__", "").removeprefix("retention_kit.").split(".")[0]
        if callable(obj) and module in COMPUTING_MODULES:
            names.append((module, name))
    names += [("models", name) for name in retention_kit.models.__all__]
    return names


def test_rule_selects_the_metrics_and_models():
    names = {name for _, name in glossary_names()}
    # The rule must not quietly become empty (e.g. if the modules were renamed).
    assert {"retention_rate", "churn_rate", "cohort_table", "customer_lifetime_value",
            "rfm_scores", "retention_test", "BGNBD", "GammaGamma", "SBG"} <= names
    assert not names & {"DataError", "load_demo_client", "simulate_experiment", "run_reports"}


@pytest.mark.parametrize(("module", "name"), glossary_names(),
                         ids=[f"{m}.{n}" for m, n in glossary_names()])
def test_glossary_names_every_metric_and_model(module: str, name: str):
    assert f"`{module}.{name}`" in GLOSSARY.read_text(encoding="utf-8"), (
        f"GLOSSARY.md does not mention `{module}.{name}`: add a row with its formula, "
        "the function and the notebook that teaches it")


def mentioned_notebooks(text: str) -> set[str]:
    """Notebook paths (notebooks/...ipynb) and bare course names (01_measurement) in text."""
    paths = set(re.findall(r"notebooks/[\w./-]+?\.ipynb", text))
    # A bare name not inside a path (notebooks/exercises/01_... is a path, found above).
    stems = re.findall(r"(?<![/\w])(0\d_[a-z_]+[a-z])\b", text)
    paths |= {f"notebooks/{stem}.ipynb" for stem in stems}
    return paths


@pytest.mark.parametrize("doc", [GLOSSARY, GUIDE], ids=lambda p: p.name)
def test_mentioned_notebooks_exist(doc: Path):
    mentioned = mentioned_notebooks(doc.read_text(encoding="utf-8"))
    assert mentioned, f"{doc.name} mentions no notebook"
    missing = sorted(p for p in mentioned if not (ROOT / p).is_file())
    assert not missing, f"{doc.name} mentions notebooks that do not exist: {missing}"


def test_glossary_taught_in_columns_name_existing_notebooks():
    numbers = set()
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            last = line.rstrip(" |").rsplit("|", 1)[-1]
            numbers |= set(re.findall(r"\b(0\d)\b", last))
    assert numbers, "no notebook numbers found in the glossary's 'taught in' columns"
    for number in sorted(numbers):
        assert list((ROOT / "notebooks").glob(f"{number}_*.ipynb")), (
            f"GLOSSARY.md says something is taught in {number}, but no notebooks/{number}_* exists")


def test_guide_covers_every_course_notebook():
    mentioned = mentioned_notebooks(GUIDE.read_text(encoding="utf-8"))
    course = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("0*.ipynb")}
    assert course, "no course notebooks found"
    assert course <= mentioned, f"TRAINER_GUIDE.md does not mention {sorted(course - mentioned)}"


def makefile_targets() -> set[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*:(?!=)", line)
        if match and not match.group(1).startswith("."):
            targets |= set(match.group(1).split())
    return targets


def make_commands(text: str) -> list[str]:
    """Lines of fenced code blocks, and inline code spans, that start with ``make ``."""
    commands, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced and line.strip().startswith("make "):
            commands.append(line.strip())
    commands += re.findall(r"`(make [^`]+)`", text)
    return commands


def test_makefile_parser_sanity():
    targets = makefile_targets()
    assert {"setup", "lab", "test", "notebooks"} <= targets
    assert "PY" not in targets and "VENV" not in targets and ".PHONY" not in targets
    assert make_commands("```\nmake setup\n```\nthen `make lab`") == ["make setup", "make lab"]


def test_guide_make_commands_name_makefile_targets():
    commands = make_commands(GUIDE.read_text(encoding="utf-8"))
    assert commands, "TRAINER_GUIDE.md shows no make command"
    targets = makefile_targets()
    for command in commands:
        words = [w for w in command.split()[1:] if not w.startswith("-") and "=" not in w]
        assert words, f"{command!r} names no target"
        unknown = [w for w in words if w not in targets]
        assert not unknown, (f"TRAINER_GUIDE.md runs {command!r}, but the Makefile has no "
                             f"target {unknown}; targets: {sorted(targets)}")


MISTAKES = ROOT / "notebooks" / "05_common_mistakes.ipynb"
LESSONS = ["01_measurement", "02_segmentation", "03_clv_models", "04_strategy_evaluation"]


def _markdown(name: str) -> str:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def flagged_mistakes(text: str) -> set[int]:
    """Numbers N of the "common mistake N" / "common mistakes N and M" flags in a lesson.

    >>> sorted(flagged_mistakes("**Common mistakes 1 and 2** ... **common\\nmistake 5**"))
    [1, 2, 5]
    """
    found = set()
    for first, second in re.findall(r"[Cc]ommon\s+mistakes?\s+(\d+)(?:\s+and\s+(\d+))?", text):
        found |= {int(first)} | ({int(second)} if second else set())
    return found


def test_every_common_mistake_is_flagged_in_a_lesson_where_notebook_05_says():
    lesson_05 = _markdown("05_common_mistakes")
    sections = {int(n): title for n, title in re.findall(r"^## (\d+)\. (.+)$", lesson_05, re.M)}
    mistakes = {n for n, title in sections.items() if title != "Checklist"}
    assert mistakes == set(range(1, 11)), sections
    flags = {name: flagged_mistakes(_markdown(name)) for name in LESSONS}
    for name in LESSONS:
        if flags[name]:
            assert "(05_common_mistakes.ipynb)" in _markdown(name), (
                f"{name} flags common mistakes but never links notebook 05")
    # The table in notebook 05 says where each mistake comes up; the lessons must agree.
    for n in mistakes:
        row = re.search(rf"^\| {n} \|.*\|(.*)\|$", lesson_05, re.M)
        assert row, f"notebook 05's table has no row for mistake {n}"
        where = set(re.findall(r"\((0[1-4]_\w+)\.ipynb\)", row.group(1)))
        assert where, f"mistake {n}: the table names no lesson"
        for name in where:
            assert n in flags[name], (f"notebook 05 says mistake {n} comes up in {name}, but "
                                      f"{name} does not flag 'common mistake {n}'")
        assert where == {name for name in LESSONS if n in flags[name]}, (
            f"mistake {n}: table says {sorted(where)}, lessons flag it in "
            f"{sorted(name for name in LESSONS if n in flags[name])}")
