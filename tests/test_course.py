"""Exercises are generated from the solutions and stay current; solutions run; checks can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retention_kit.course import (
    REGENERATE,
    exercise_name,
    exercises_are_current,
    make_exercise,
    write_exercises,
)

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
EXERCISES = NOTEBOOKS / "exercises"
SOLUTION_FILES = sorted(SOLUTIONS.glob("*.ipynb"))


def test_there_are_solution_notebooks() -> None:
    assert SOLUTION_FILES, f"no solution notebooks in {SOLUTIONS}"


def test_committed_exercises_are_current() -> None:
    stale = exercises_are_current(SOLUTIONS, EXERCISES)
    assert stale == [], (f"exercise notebooks out of date or missing: {stale}. "
                         f"Regenerate them from the repository root with: {REGENERATE}")


CHECK_CELL = re.compile(r'^# CHECK\ncheck\("(\d\d\.\w+)"\)$')


def _check_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# CHECK")]


def _run(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a notebook to the end (errors stop it) and return it with its outputs."""
    papermill = pytest.importorskip("papermill")
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), kernel_name="python3",
                               progress_bar=False, cwd=str(tmp_path))
    return nbformat.read(out, as_version=4)


def _printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", SOLUTION_FILES + sorted(EXERCISES.glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_check_cells_call_the_package_and_show_no_answer(path: Path) -> None:
    """A check cell is one call with the exercise id: no expected value, no formula."""
    from retention_kit.course_answers import ANSWERS
    from retention_kit.course_checks import EXERCISES as SPECS

    cells = _check_cells(nbformat.read(path, as_version=4))
    assert cells
    for cell in cells:
        match = CHECK_CELL.match(cell.source)
        assert match, f"{path.name}: a check cell is only '# CHECK' and check(...):\n{cell.source}"
        assert match.group(1) in SPECS and match.group(1) in ANSWERS, match.group(1)


def test_every_exercise_heading_has_one_check() -> None:
    from retention_kit.course_checks import EXERCISES as SPECS

    ids = []
    for path in SOLUTION_FILES:
        nb = nbformat.read(path, as_version=4)
        headings = [c for c in nb.cells if c.cell_type == "markdown"
                    and re.match(r"^#{1,6}\s*Exercise\s+\w+", c.source)]
        checks = [CHECK_CELL.match(c.source).group(1) for c in _check_cells(nb)]
        assert len(checks) == len(headings) == len(set(checks)), path.name
        ids += checks
    assert sorted(ids) == sorted(SPECS)


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: p.name)
def test_solution_notebook_passes_every_check(path: Path, tmp_path: Path) -> None:
    ran = _run(path, tmp_path)
    for cell in _check_cells(ran):
        printed = _printed(cell)
        assert printed.startswith("✓ Correct"), f"{cell.source}:\n{printed}"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: p.name)
def test_blank_exercise_runs_to_the_end_and_each_check_says_what_to_define(
        path: Path, tmp_path: Path) -> None:
    """Run All on a blank exercise: no error anywhere, every check fails politely."""
    ran = _run(EXERCISES / exercise_name(path.name), tmp_path)
    errors = [o for c in ran.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    cells = _check_cells(ran)
    assert cells
    for cell in cells:
        printed = _printed(cell)
        assert printed.startswith("✗ Exercise") and "not answered yet. Define `" in printed, printed
    assert ran.cells[-1].outputs, "the last cell did not run"


def _tiny() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    return v4.new_notebook(cells=[
        v4.new_markdown_cell("# Task\nCompute `answer`."),
        v4.new_code_cell("x = 1\n# BEGIN SOLUTION\nanswer = x + 1\n# END SOLUTION\nprint(answer)",
                         execution_count=4,
                         outputs=[v4.new_output("stream", name="stdout", text="2\n")]),
        v4.new_code_cell("def f(y):\n    # BEGIN SOLUTION\n    z = y * 2\n    return z\n"
                         "    # END SOLUTION\n\n# BEGIN SOLUTION\ng = f\n# END SOLUTION",
                         execution_count=5),
        v4.new_code_cell("print('the answer is', answer)", metadata={"tags": ["solution-only"]}),
        v4.new_code_cell("# CHECK\nassert answer == 2, 'add one to x'", execution_count=6),
    ])


def test_make_exercise_replaces_blocks_keeping_indentation() -> None:
    solution = _tiny()
    ex = make_exercise(solution)
    assert ex.cells[1].source == "x = 1\n# YOUR CODE HERE\nprint(answer)"
    assert ex.cells[2].source == "def f(y):\n    # YOUR CODE HERE\n\n# YOUR CODE HERE"
    # the input notebook is not modified
    assert "answer = x + 1" in solution.cells[1].source


def test_make_exercise_clears_outputs_keeps_markdown_and_checks_drops_solution_only() -> None:
    ex = make_exercise(_tiny())
    assert len(ex.cells) == 4
    assert all("solution-only" not in c.metadata.get("tags", []) for c in ex.cells)
    assert ex.cells[0].source == "# Task\nCompute `answer`."
    assert ex.cells[3].source == "# CHECK\nassert answer == 2, 'add one to x'"
    for cell in ex.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION\nanswer = 2", "without a matching"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\na = 1\n# END SOLUTION\n# END SOLUTION", "nested"),
    ("a = 1\n# END SOLUTION", "without a '# BEGIN SOLUTION'"),
])
def test_unmatched_marker_names_notebook_and_cell(source: str, problem: str,
                                                  tmp_path: Path) -> None:
    nb = _tiny()
    nb.cells[2].source = source
    path = tmp_path / "broken_solutions.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=problem) as info:
        make_exercise(path)
    assert "broken_solutions.ipynb, cell 2" in str(info.value)


def test_write_then_current_then_stale(tmp_path: Path) -> None:
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(_tiny(), solutions / "tiny_solutions.ipynb")
    assert exercises_are_current(solutions, exercises) == ["tiny_exercises.ipynb"]
    written = write_exercises(solutions, exercises)
    assert written == [exercises / "tiny_exercises.ipynb"]
    first = written[0].read_bytes()
    assert exercises_are_current(solutions, exercises) == []
    write_exercises(solutions, exercises)
    assert written[0].read_bytes() == first  # deterministic
    nb = _tiny()
    nb.cells[0].source = "# Task, reworded"
    nbformat.write(nb, solutions / "tiny_solutions.ipynb")
    assert exercises_are_current(solutions, exercises) == ["tiny_exercises.ipynb"]


def test_command_line_regenerates(tmp_path: Path) -> None:
    from retention_kit.course import _main

    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(_tiny(), solutions / "tiny_solutions.ipynb")
    assert _main([str(solutions), str(tmp_path / "out")]) == 0
    assert exercises_are_current(solutions, tmp_path / "out") == []
    assert _main([str(tmp_path / "empty")]) == 1


ALL_NOTEBOOKS = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CODE_SPAN = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)


def dollar_before_digit(markdown: str) -> list[str]:
    """Bits of Markdown where a "$" (escaped or not) precedes a digit outside code.

    JupyterLab typesets "$500 ... $1,000" as math, and neither "\\$" nor "&#36;" stops it
    (its MathJax reads the rendered text); amounts are written "USD 500" instead. Code
    spans are safe: MathJax skips code.

    >>> dollar_before_digit("The $500 that should be `4 × $50 × 5`, \\\\$3 or USD 3")
    ['The $500 t', ', \\\\$3 or ']
    """
    found = []
    for i, part in enumerate(CODE_SPAN.split(markdown)):
        if i % 2 == 0:
            found += [part[max(m.start() - 4, 0):m.end() + 4]
                      for m in re.finditer(r"(\\?\$|&#36;|&dollar;)\d", part)]
    return found


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_money_in_markdown_is_not_math(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = [(n, bit) for n, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
             for bit in dollar_before_digit(cell.source)]
    assert not found, f"{path.name}: write amounts as 'USD 500', not with $: {found}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_open_unmodified_in_jupyterlab(path: Path) -> None:
    """The stored kernel name is the one JupyterLab shows, so opening does not modify it."""
    spec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert spec.get("name") == "python3"
    assert spec.get("display_name") == "Python 3 (ipykernel)"


LOG_OR_MACHINE = re.compile(r"\b(WARN|INFO)\s+\w+:|log4j|NativeCodeLoader|[Yy]our hostname|"
                            r"(?<![\w.])(?!127\.0\.0\.1)(?:\d{1,3}\.){3}\d{1,3}(?![\w.])|"
                            r"(?<![\w.:/])/(?:tmp|home|root|work)/")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_have_no_logs_host_names_ips_or_paths(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = []
    for n, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            match = LOG_OR_MACHINE.search(text)
            if match:
                found.append((n, match.group(0)))
    assert not found, f"{path.name}: {found}"


def test_student_edition_has_lessons_and_blank_exercises_but_no_solutions(tmp_path: Path):
    import zipfile

    from retention_kit.course import course_pages, write_student_edition

    zip_path = write_student_edition(tmp_path / "student")
    pages = course_pages()
    names = set(zipfile.ZipFile(zip_path).namelist())
    expected = {f"notebooks/{p.name}" for p in pages["lessons"]}
    expected |= {f"notebooks/exercises/{p.name}" for p in pages["exercises"]}
    assert names == expected
    assert not any("solution" in name for name in names)
    for path in pages["exercises"]:
        copied = tmp_path / "student" / "notebooks" / "exercises" / path.name
        assert copied.read_bytes() == path.read_bytes()
    lesson = (tmp_path / "student" / "notebooks" / pages["lessons"][0].name).read_text("utf-8")
    assert "NBVAL_" not in lesson
    # Run again: it replaces its own output, but never a folder it did not write.
    assert write_student_edition(tmp_path / "student") == zip_path
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a previous student edition"):
        write_student_edition(tmp_path / "mine")


def test_make_lab_allows_root_only_when_run_as_root() -> None:
    """Containers run as root, where JupyterLab refuses to start without --allow-root."""
    import subprocess

    makefile = (NOTEBOOKS.parent / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if "jupyter lab" in x)
    flag = re.search(r"\$\$\((.*?allow-root)\)", line).group(1).replace("$$", "$")
    for uid, expected in (("0", "--allow-root"), ("1000", "")):
        shell = flag.replace("$(id -u)", uid)
        assert subprocess.run(["sh", "-c", f"echo $({shell})"], capture_output=True,
                              text=True).stdout.strip() == expected
    assert "scale" in re.search(r"LAB_EXTRAS := (\S+)", makefile).group(1)
