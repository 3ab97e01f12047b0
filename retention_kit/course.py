"""Exercise notebooks generated from solution notebooks, so the two cannot drift.

One marker convention. In a *solution* notebook, a code cell may hold one or more blocks::

    # BEGIN SOLUTION
    answer = (end - new) / start
    # END SOLUTION

:func:`make_exercise` replaces each block (markers included) by a single
``# YOUR CODE HERE`` line indented like the ``# BEGIN SOLUTION`` marker, clears every
output and execution count, drops cells tagged ``solution-only`` and keeps everything else
(markdown, check cells containing ``# CHECK``) unchanged. :func:`write_exercises` writes
``<name>_exercises.ipynb`` for every ``<name>_solutions.ipynb`` (other names get
``_exercise`` appended), and :func:`exercises_are_current` compares the committed
exercises byte for byte with freshly generated ones.

Regenerate the exercises from the repository root with::

    python -m retention_kit.course notebooks/solutions notebooks/exercises
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = [
    "BEGIN",
    "END",
    "PLACEHOLDER",
    "SOLUTION_ONLY_TAG",
    "exercise_name",
    "exercises_are_current",
    "make_exercise",
    "write_exercises",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
PLACEHOLDER = "# YOUR CODE HERE"
SOLUTION_ONLY_TAG = "solution-only"
REGENERATE = "python -m retention_kit.course notebooks/solutions notebooks/exercises"


def _strip_solution(source: str, where: str) -> str:
    """Replace every BEGIN/END SOLUTION block of one cell's source by the placeholder."""
    out: list[str] = []
    indent: str | None = None
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            if indent is not None:
                raise ValueError(f"{where}: nested '{BEGIN}' (the previous block has no "
                                 f"'{END}' yet); close each block before opening the next")
            indent = line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if indent is None:
                raise ValueError(f"{where}: '{END}' without a '{BEGIN}' before it")
            out.append(indent + PLACEHOLDER)
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise ValueError(f"{where}: '{BEGIN}' without a matching '{END}'; add '{END}' "
                         "after the solution lines")
    return "\n".join(out)


def make_exercise(solution: str | os.PathLike[str] | NotebookNode) -> NotebookNode:
    """Build the exercise version of a solution notebook.

    Parameters
    ----------
    solution : path or NotebookNode
        A solution notebook (a path to an ``.ipynb`` file, or a notebook already read
        with :mod:`nbformat`). It is not modified.

    Returns
    -------
    NotebookNode
        A copy in which each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block is replaced
        by ``# YOUR CODE HERE`` (indented like the BEGIN marker), all outputs and
        execution counts are cleared, and cells tagged ``solution-only`` are dropped.

    Raises
    ------
    ValueError
        If a cell has a BEGIN marker without END, an END without BEGIN, or nested
        blocks; the message names the notebook and the cell.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "def f(x):\\n    # BEGIN SOLUTION\\n    return 2 * x\\n    # END SOLUTION",
    ...     execution_count=3)])
    >>> ex = make_exercise(nb)
    >>> print(ex.cells[0].source)
    def f(x):
        # YOUR CODE HERE
    >>> ex.cells[0].execution_count is None
    True
    """
    import nbformat

    if isinstance(solution, str | os.PathLike):
        name = Path(solution).name
        nb = nbformat.read(os.fspath(solution), as_version=4)
    else:
        name = "<notebook>"
        nb = copy.deepcopy(solution)
    cells = []
    for number, cell in enumerate(nb.cells):
        if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = _strip_solution(cell.source, f"{name}, cell {number}")
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
            cell.metadata.pop("papermill", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("papermill", None)
    return nb


def exercise_name(solution_name: str) -> str:
    """File name of the exercise generated from a solution notebook's file name.

    Examples
    --------
    >>> exercise_name("01_measurement_solutions.ipynb")
    '01_measurement_exercises.ipynb'
    >>> exercise_name("extra.ipynb")
    'extra_exercise.ipynb'
    """
    stem = Path(solution_name).stem
    if stem.endswith("_solutions"):
        return stem[: -len("_solutions")] + "_exercises.ipynb"
    return stem + "_exercise.ipynb"


def _render(solution_path: Path) -> str:
    import nbformat

    text = nbformat.writes(make_exercise(solution_path))
    return text if text.endswith("\n") else text + "\n"


def _solutions(solutions_dir: str | os.PathLike[str]) -> list[Path]:
    return sorted(p for p in Path(solutions_dir).glob("*.ipynb")
                  if not p.name.startswith("."))


def write_exercises(solutions_dir: str | os.PathLike[str],
                    exercises_dir: str | os.PathLike[str]) -> list[Path]:
    """Write one exercise notebook per solution notebook.

    Parameters
    ----------
    solutions_dir, exercises_dir : path
        Folder of ``*.ipynb`` solution notebooks, and the folder to write exercises to
        (created if needed).

    Returns
    -------
    list of Path
        The exercise notebooks written, in the order of their solution names.
    """
    out_dir = Path(exercises_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in _solutions(solutions_dir):
        target = out_dir / exercise_name(path.name)
        target.write_text(_render(path), encoding="utf-8")
        written.append(target)
    return written


def exercises_are_current(solutions_dir: str | os.PathLike[str],
                          exercises_dir: str | os.PathLike[str]) -> list[str]:
    """Names of exercise notebooks that are missing or differ from a fresh generation.

    Parameters
    ----------
    solutions_dir, exercises_dir : path
        As for :func:`write_exercises`.

    Returns
    -------
    list of str
        File names (in ``exercises_dir``) that are stale or missing; empty when current.
    """
    stale: list[str] = []
    for path in _solutions(solutions_dir):
        target = Path(exercises_dir) / exercise_name(path.name)
        current: Any = target.read_text(encoding="utf-8") if target.exists() else None
        if current != _render(path):
            stale.append(target.name)
    return stale


def _main(argv: list[str] | None = None) -> int:
    """``python -m retention_kit.course [SOLUTIONS_DIR [EXERCISES_DIR]]``: regenerate."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    solutions_dir = args[0] if args else "notebooks/solutions"
    exercises_dir = args[1] if len(args) > 1 else "notebooks/exercises"
    if not _solutions(solutions_dir):
        sys.stderr.write(f"no solution notebooks (*.ipynb) in {solutions_dir}\n")
        return 1
    for path in write_exercises(solutions_dir, exercises_dir):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
