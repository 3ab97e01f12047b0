"""Exercises are generated from the solutions and stay current; solutions run; checks can fail."""

from __future__ import annotations

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


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: p.name)
def test_solution_notebook_runs(path: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    papermill.execute_notebook(str(path), str(tmp_path / path.name), kernel_name="python3",
                               progress_bar=False, cwd=str(tmp_path))


def _first_check_message(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    check = next(c for c in nb.cells if c.cell_type == "code" and "# CHECK" in c.source)
    return check.source


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda p: p.name)
def test_exercise_fails_its_first_check_as_is(path: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    exercise = EXERCISES / exercise_name(path.name)
    out = tmp_path / exercise.name
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(exercise), str(out), kernel_name="python3",
                                   progress_bar=False, cwd=str(tmp_path))
    err = info.value
    assert err.ename in {"NameError", "AssertionError"}, f"{err.ename}: {err.evalue}"
    if err.ename == "AssertionError":
        assert err.evalue and err.evalue in _first_check_message(exercise)
    # It is the first check cell that failed, not some earlier set-up cell.
    ran = nbformat.read(out, as_version=4)
    failed = [c for c in ran.cells if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and "# CHECK" in failed[0].source
    assert failed[0].source == _first_check_message(exercise)


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
