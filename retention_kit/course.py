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

The offline course site (Jupyter Book 1 with sphinx-exercise; ``make course``) is built by
:func:`build_site` from ``course/`` and the notebooks found by glob, in two editions: the
instructor edition shows the solutions, the student edition has none::

    python -m retention_kit.course site [--edition student] [--no-execute] [--out build/course]

It prints one line per notebook executed (or taken from the cache) with its time, and the
totals. Pages are cleaned for readers (:func:`clean_for_page`: no ``# NBVAL_...`` test
markers, no tool-only cell tags); ``course/_static/course.css`` wraps code inside the
column; the landing page's lesson count and list come from the lessons found
(:func:`landing_substitutions`); the student site offers the real exercise notebooks for
download. :func:`write_student_edition` writes the notebooks folder without solutions, for
trainers to hand out (``make student``)::

    python -m retention_kit.course student [--out build/student]

The exercise checks (``check("01.2")`` in the check cells) are in
:mod:`retention_kit.course_checks`.
"""

from __future__ import annotations

import copy
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = [
    "BEGIN",
    "END",
    "PLACEHOLDER",
    "SOLUTION_ONLY_TAG",
    "build_site",
    "clean_for_page",
    "course_pages",
    "exercise_name",
    "exercises_are_current",
    "make_exercise",
    "landing_substitutions",
    "stage_site",
    "write_exercises",
    "write_student_edition",
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


# --------------------------------------------------------------------------- the course site

EDITIONS = ("instructor", "student")
_EXERCISE_HEADING = re.compile(r"^#{1,6}\s*Exercise\s+(\w+)\s*[.:)]?\s*(.*?)\s*$")


def _repository_root() -> Path:
    """The checkout this module belongs to (it has ``course/``), else the current folder."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "course" / "_config.yml").is_file() else Path.cwd()


def _base(stem: str) -> str:
    """The lesson a notebook belongs to: ``01_measurement_solutions`` -> ``01_measurement``."""
    for suffix in ("_solutions", "_solution", "_exercises", "_exercise"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def course_pages(root: str | os.PathLike[str] | None = None, *,
                 edition: str = "instructor",
                 only: list[str] | None = None) -> dict[str, list[Path]]:
    """The notebooks of the course site, found by glob, in the order of the lessons.

    Parameters
    ----------
    root : path, optional
        Repository root (with ``notebooks/``); by default this checkout.
    edition : {"instructor", "student"}
        The student edition has no solution notebooks.
    only : list of str, optional
        Lesson names (``"05_common_mistakes"``) to keep, with their exercises and
        solutions; all by default (a subset is for quick smoke builds).

    Returns
    -------
    dict
        ``lessons`` (``notebooks/0*.ipynb``), ``exercises``
        (``notebooks/exercises/*.ipynb``) and ``solutions``
        (``notebooks/solutions/*.ipynb``, empty for the student edition), sorted by name.
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    nb = Path(root if root is not None else _repository_root()) / "notebooks"

    def found(pattern: str) -> list[Path]:
        paths = sorted(p for p in nb.glob(pattern) if not p.name.startswith("."))
        return [p for p in paths if only is None or _base(p.stem) in only]

    return {"lessons": found("0*.ipynb"), "exercises": found("exercises/*.ipynb"),
            "solutions": found("solutions/*.ipynb") if edition == "instructor" else []}


def _exercise_label(lesson: str, number: str) -> str:
    return f"{lesson}-exercise-{number}".lower()


def _fence(text: str) -> str:
    """A backtick fence longer than any backtick run in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _stage_exercise(path: Path) -> NotebookNode:
    """An exercise notebook with each exercise's task inside a sphinx-exercise block."""
    import nbformat

    nb = nbformat.read(os.fspath(path), as_version=4)
    lesson = _base(path.stem)
    for cell in nb.cells:
        first, _, body = cell.source.partition("\n")
        match = _EXERCISE_HEADING.match(first) if cell.cell_type == "markdown" else None
        if match:
            fence = _fence(body)
            cell.source = (f"{first}\n\n{fence}{{exercise}} {match.group(2)}\n"
                           f":label: {_exercise_label(lesson, match.group(1))}\n:nonumber:\n\n"
                           f"{body.strip()}\n{fence}\n")
    return nb


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


#: Lines that only tell the test runner what to do (nbval): not for readers.
_TEST_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
#: Cell tags myst-nb acts on; every other tag (papermill's ``parameters``, nbval's, ours)
#: is for tools and is dropped from the staged pages.
_PAGE_TAGS = ("remove-", "hide-", "full-width", "margin", "output_scroll", "scroll-")


def clean_for_page(nb: NotebookNode) -> NotebookNode:
    """A notebook as readers see it: no test-runner marker lines, no tool-only tags.

    Removes every ``# NBVAL_...`` line of the code cells and every cell tag that myst-nb
    does not act on (``parameters``, ``raises-exception``, ``solution-only``...). The
    notebook is changed in place and returned.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "# NBVAL_CHECK_OUTPUT\\nprint(1)", metadata={"tags": ["parameters", "hide-input"]})])
    >>> cell = clean_for_page(nb).cells[0]
    >>> cell.source, cell.metadata["tags"]
    ('print(1)', ['hide-input'])
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if not _TEST_MARKER.match(line))
        tags = cell.get("metadata", {}).get("tags")
        if tags is not None:
            kept = [t for t in tags if t.startswith(_PAGE_TAGS)]
            if kept:
                cell.metadata["tags"] = kept
            else:
                del cell.metadata["tags"]
    return nb


def _stage_solution(path: Path, exercise_labels: set[str]) -> NotebookNode:
    """A solution notebook with each solution code cell inside a sphinx-exercise solution.

    The solution blocks refer to the exercise blocks of the exercise page, so they are
    only made when that page has the exercise (``exercise_labels``).
    """
    import nbformat

    nb = nbformat.read(os.fspath(path), as_version=4)
    lesson = _base(path.stem)
    cells: list[Any] = []
    label = None
    titled = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            first, _, rest = cell.source.partition("\n")
            if not titled and first.startswith("# "):
                title = first.rstrip()
                title = (title[: -len("exercises")] + "solutions"
                         if title.endswith("exercises") else title + " (solutions)")
                cell.source = f"{title}\n{rest}"
                titled = True
            match = _EXERCISE_HEADING.match(first)
            if match:
                label = _exercise_label(lesson, match.group(1))
                label = label if label in exercise_labels else None
        if cell.cell_type == "code" and BEGIN in cell.source and label is not None:
            cell.source = _strip_markers(cell.source)
            cells += [nbformat.v4.new_markdown_cell(f"```{{solution-start}} {label}\n```"),
                      cell, nbformat.v4.new_markdown_cell("```{solution-end}\n```")]
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


def _write(path: Path, data: str | bytes) -> None:
    """Write only when the content changes, so Sphinx rebuilds only what changed."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not path.is_file() or path.read_bytes() != raw:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)


_NUMBERS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
            "Eleven", "Twelve")


def _title(path: Path) -> str:
    """The first level-1 heading of a notebook, else its file name."""
    import nbformat

    for cell in nbformat.read(os.fspath(path), as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def landing_substitutions(lessons: list[Path]) -> dict[str, str]:
    """MyST substitutions of the landing page, from the lessons of the table of contents.

    ``lesson_count`` is the number in words ("Six"), ``lesson_count_lower`` the same in
    lower case, ``lesson_list`` a numbered Markdown list of links to the lessons with their
    titles.
    """
    count = len(lessons)
    word = _NUMBERS[count] if count < len(_NUMBERS) else str(count)
    items = [f"{number}. **[{_title(p)}](notebooks/{p.name})**"
             for number, p in enumerate(lessons, start=1)]
    return {"lesson_count": word, "lesson_count_lower": word.lower(),
            "lesson_list": "\n".join(items)}


def stage_site(stage: str | os.PathLike[str], *, edition: str = "instructor",
               execute: bool = False, cache: str | os.PathLike[str] | None = None,
               timeout: int | None = None, root: str | os.PathLike[str] | None = None,
               only: list[str] | None = None) -> Path:
    """Write the Jupyter Book source of one edition of the course site to ``stage``.

    ``course/_config.yml`` and ``course/index.md`` are copied with the edition's settings;
    the lessons, exercises and (instructor edition only) solutions are found by glob
    (:func:`course_pages`) and staged as ``notebooks/...``, with ``GLOSSARY.md`` and
    ``TRAINER_GUIDE.md``; ``_toc.yml`` lists each lesson followed by its exercises and
    solutions. Exercise tasks become ``{exercise}`` blocks and solution code
    ``{solution}`` blocks (sphinx-exercise); the student edition has no solution code at
    all and also sets ``hide_solutions``. Returns the stage folder.
    """
    import nbformat
    import yaml

    root = Path(root if root is not None else _repository_root())
    stage = Path(stage)
    pages = course_pages(root, edition=edition, only=only)
    config = yaml.safe_load((root / "course" / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = "cache" if execute else "off"
    if cache is not None:
        config["execute"]["cache"] = os.fspath(Path(cache).resolve())
    if timeout is not None:
        config["execute"]["timeout"] = int(timeout)
    config["sphinx"]["config"]["hide_solutions"] = edition == "student"
    if edition == "student":
        config["title"] += " (student edition)"
    # The landing page's counts and lesson list come from the lessons found, not from prose.
    config["parse"]["myst_substitutions"] = landing_substitutions(pages["lessons"])
    _write(stage / "_config.yml", yaml.safe_dump(config, sort_keys=False))
    _write(stage / "index.md", (root / "course" / "index.md").read_bytes())
    for asset in sorted((root / "course" / "_static").glob("*")):
        _write(stage / "_static" / asset.name, asset.read_bytes())
    for doc in ("GLOSSARY.md", "TRAINER_GUIDE.md"):
        _write(stage / doc, (root / doc).read_bytes())

    def docname(path: Path) -> str:
        return path.relative_to(root).with_suffix("").as_posix()

    wanted = {docname(p) + ".ipynb" for group in pages.values() for p in group}
    for old in (stage / "notebooks").rglob("*.ipynb") if (stage / "notebooks").exists() else []:
        if old.relative_to(stage).as_posix() not in wanted:
            old.unlink()  # a notebook removed since the last build, or the other edition's
    for path in pages["lessons"]:
        nb = clean_for_page(nbformat.read(os.fspath(path), as_version=4))
        _write(stage / path.relative_to(root), nbformat.writes(nb))
    labels: set[str] = set()
    for path in pages["exercises"]:
        nb = clean_for_page(_stage_exercise(path))
        labels |= {m.group(1) for c in nb.cells if c.cell_type == "markdown"
                   for m in re.finditer(r"^:label: (\S+)$", c.source, re.MULTILINE)}
        _write(stage / path.relative_to(root), nbformat.writes(nb))
    for path in pages["solutions"]:
        _write(stage / path.relative_to(root),
               nbformat.writes(clean_for_page(_stage_solution(path, labels))))

    chapters: list[dict[str, Any]] = []
    extra = pages["exercises"] + pages["solutions"]
    for lesson in pages["lessons"]:
        sections = [{"file": docname(p)} for p in extra if _base(p.stem) == lesson.stem]
        chapters.append({"file": docname(lesson), **({"sections": sections} if sections else {})})
    lesson_names = {p.stem for p in pages["lessons"]}
    orphans = [{"file": docname(p)} for p in extra if _base(p.stem) not in lesson_names]
    parts = [{"caption": "Lessons", "chapters": chapters}]
    if orphans:
        parts.append({"caption": "More exercises", "chapters": orphans})
    parts.append({"caption": "Reference",
                  "chapters": [{"file": "GLOSSARY"}, {"file": "TRAINER_GUIDE"}]})
    toc = {"format": "jb-book", "root": "index", "parts": parts}
    _write(stage / "_toc.yml", "# Generated by retention_kit.course.stage_site: do not edit.\n"
           + yaml.safe_dump(toc, sort_keys=False))
    return stage


def _failure_summary(log: str, tail: int = 2000) -> str:
    """The part of a Jupyter Book log that says what failed.

    A notebook's failing cell and its error come first (from nbclient's
    ``CellExecutionError`` report, however long the tracebacks around it), then the
    end of the log. Colour codes are removed.

    >>> log = "x" * 5000 + "\\nnbclient.exceptions.CellExecutionError: An error occurred while "
    >>> log += "executing the following cell:\\n------------------\\n1 / 0\\n"
    >>> log += "\\x1b[31mZeroDivisionError\\x1b[39m: division by zero\\n\\nThe above exception"
    >>> log += " was the direct cause\\n" + "y" * 5000
    >>> summary = _failure_summary(log, tail=10)
    >>> "1 / 0" in summary and "ZeroDivisionError: division by zero" in summary
    True
    >>> len(summary) < 400
    True
    """
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)
    start = plain.find("An error occurred while executing the following cell")
    if start < 0:
        return plain[-tail:]
    end = plain.find("The above exception was the direct cause", start)
    cell = plain[start:end if end > 0 else start + 4000].strip()
    return f"{cell}\n...\n{plain[-tail:]}"


def build_site(edition: str = "instructor", *, execute: bool = True,
               out: str | os.PathLike[str] | None = None,
               root: str | os.PathLike[str] | None = None, timeout: int | None = None,
               only: list[str] | None = None, quiet: bool = True,
               strict: bool = False,
               progress: Callable[[str], None] | None = None) -> Path:
    """Build one edition of the offline course site (Jupyter Book 1) and return its index.

    Parameters
    ----------
    edition : {"instructor", "student"}
        The student edition has the exercises but no solution code.
    execute : bool
        Run the lessons and solutions (Jupyter Book's ``cache`` mode: a notebook whose code
        has not changed since the last build is not run again; the cache in
        ``out/../.jupyter_cache`` is shared by both editions). Off: the notebooks' stored
        outputs are shown.
    out : path, optional
        Folder of the HTML site (replaced), ``build/course/<edition>`` by default. The
        Jupyter Book source is staged in ``out/../_source/<edition>``.
    root : path, optional
        Repository root; this checkout by default.
    timeout : int, optional
        Seconds a notebook cell may run (``course/_config.yml`` sets the default).
    only : list of str, optional
        Build only these lessons (``"05_common_mistakes"``) and their exercises.
    quiet : bool
        Pass ``--quiet`` to Jupyter Book (warnings are still in the log).
    strict : bool
        Fail on any Sphinx warning (a broken cross-reference, a bad directive...). A
        subset built with ``only`` has links to missing lessons: not strict then.
    progress : callable, optional
        Called with one line per notebook executed (or taken from the cache), with its
        time, and a last line with the totals; Jupyter Book then runs without ``--quiet``
        (its log still goes to the build log, not to the screen).

    Returns
    -------
    Path
        ``out/index.html``.

    Raises
    ------
    RuntimeError
        If Jupyter Book fails (a notebook raises, a cell times out...); the message has the
        end of its output.
    """
    import shutil
    import subprocess
    import sys

    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    root = Path(root if root is not None else _repository_root()).resolve()
    out = Path(out if out is not None else root / "build" / "course" / edition).resolve()
    if out == root or out in root.parents:
        raise ValueError(f"out={out} would replace the repository; choose a build folder")
    if out.exists() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise ValueError(f"refusing to replace {out}: it is not a previous course build")
    stage = stage_site(out.parent / "_source" / edition, edition=edition, execute=execute,
                       cache=out.parent / ".jupyter_cache", timeout=timeout, root=root,
                       only=only)
    quiet = quiet and progress is None
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", os.fspath(stage), "--builder", "html", *(["--quiet"] if quiet else []),
               *(["-W", "--keep-going"] if strict else [])]
    # Fresh HTML each time (the doctrees stay, so unchanged pages are not read again): no
    # page of a lesson removed since the last build survives.
    shutil.rmtree(stage / "_build" / "html", ignore_errors=True)
    started = time.perf_counter()
    watcher = _ExecutionProgress(progress)
    lines: list[str] = []
    with subprocess.Popen(command, cwd=stage, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as run:
        assert run.stdout is not None
        for line in run.stdout:
            lines.append(line)
            watcher.feed(line)
    log = "".join(lines)
    (stage / "_build").mkdir(exist_ok=True)
    (stage / "_build" / "build.log").write_text(log, encoding="utf-8")
    html = stage / "_build" / "html"
    if run.returncode != 0 or not (html / "index.html").is_file():
        raise RuntimeError(f"jupyter-book build of the {edition} edition failed "
                           f"(exit {run.returncode}); full log in "
                           f"{stage / '_build' / 'build.log'}:\n{_failure_summary(log)}")
    # Downloads: the page's .ipynb is the staged copy (exercise boxes as MyST directives);
    # learners get the real exercise notebook instead, as in notebooks/exercises/.
    for path in course_pages(root, edition=edition, only=only)["exercises"]:
        offered = html / "_sources" / path.relative_to(root)
        if offered.is_file():
            shutil.copyfile(path, offered)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(html, out)
    watcher.finish(time.perf_counter() - started)
    return out / "index.html"


class _ExecutionProgress:
    """Turns Jupyter Book's log into one line per notebook executed, and a total.

    Sphinx announces each document it reads (``reading sources... [ 40%] notebooks/x``)
    and myst-nb then logs ``Executed notebook in 12.34 seconds`` or ``Using cached
    notebook``.

    >>> seen = []
    >>> p = _ExecutionProgress(seen.append)
    >>> p.feed("\\x1b[2K\\x1b[01mreading sources... \\x1b[39;49;00m[ 50%] notebooks/01_measurement")
    >>> p.feed("/x/notebooks/01_measurement.ipynb: Executed notebook in 12.30 seconds [mystnb]")
    >>> p.feed("reading sources... [100%] notebooks/02_segmentation")
    >>> p.feed("/x/notebooks/02_segmentation.ipynb: Using cached notebook: ID=3 [mystnb]")
    >>> p.finish(40.0)
    >>> print("\\n".join(seen))
      executed notebooks/01_measurement in 12.3 s
      cached   notebooks/02_segmentation (unchanged since the last build)
      1 notebook executed in 12.3 s, 1 from the cache; build 40 s
    """

    _READING = re.compile(r"reading sources\.\.\.\s*\[\s*\d+%\]\s*(\S+)")
    _EXECUTED = re.compile(r"Executed notebook in ([0-9.]+) seconds")

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self.report = report
        self.current = "?"
        self.executed: list[float] = []
        self.cached = 0

    def feed(self, line: str) -> None:
        if self.report is None:
            return
        line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line)  # Sphinx's colours and line erases
        reading = self._READING.search(line)
        if reading:
            self.current = reading.group(1)
        executed = self._EXECUTED.search(line)
        if executed:
            seconds = float(executed.group(1))
            self.executed.append(seconds)
            self.report(f"  executed {self.current} in {seconds:.1f} s")
        elif "Using cached notebook" in line:
            self.cached += 1
            self.report(f"  cached   {self.current} (unchanged since the last build)")

    def finish(self, seconds: float) -> None:
        if self.report is None:
            return
        n = len(self.executed)
        self.report(f"  {n} notebook{'' if n == 1 else 's'} executed in "
                    f"{sum(self.executed):.1f} s, {self.cached} from the cache; "
                    f"build {seconds:.0f} s")


def _site_main(args: list[str]) -> int:
    """``python -m retention_kit.course site [--edition E] [--no-execute] [--out DIR]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m retention_kit.course site",
        description="Build the offline course site (both editions by default).")
    parser.add_argument("--edition", choices=[*EDITIONS, "both"], default="both")
    parser.add_argument("--no-execute", dest="execute", action="store_false",
                        help="show the notebooks' stored outputs instead of running them")
    parser.add_argument("--out", default="build/course",
                        help="folder that gets one subfolder per edition (build/course)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--only", nargs="+", default=None, metavar="LESSON",
                        help="build only these lessons, e.g. 05_common_mistakes")
    options = parser.parse_args(args)
    editions = EDITIONS if options.edition == "both" else (options.edition,)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    started = time.perf_counter()
    for edition in editions:
        say(f"Building the {edition} edition"
            + (" (executing the notebooks not in the cache)" if options.execute else ""))
        try:
            index = build_site(edition, execute=options.execute,
                               out=Path(options.out) / edition, timeout=options.timeout,
                               only=options.only, root=Path.cwd(), progress=say)
        except (RuntimeError, ValueError) as error:
            sys.stderr.write(f"{error}\n")
            return 1
        say(f"{edition} edition: open {index} in a browser")
    say(f"Course site built in {time.perf_counter() - started:.0f} s")
    return 0


def write_student_edition(out: str | os.PathLike[str], *,
                          root: str | os.PathLike[str] | None = None) -> Path:
    """The notebooks folder as learners get it, for trainers to hand out.

    Writes the lessons (``notebooks/0*.ipynb``, without test-runner markers) and the
    blank exercise notebooks (``notebooks/exercises/``) to ``out/notebooks``, and the same
    as ``out/retention_kit_course_notebooks.zip``; no solution notebook. ``out`` is
    replaced if it is a previous student edition.

    Returns
    -------
    Path
        The zip file.
    """
    import shutil
    import zipfile

    import nbformat

    root = Path(root if root is not None else _repository_root()).resolve()
    out = Path(out).resolve()
    if out == root or out in root.parents:
        raise ValueError(f"out={out} would replace the repository; choose a build folder")
    zip_path = out / "retention_kit_course_notebooks.zip"
    if out.exists() and any(out.iterdir()) and not zip_path.is_file():
        raise ValueError(f"refusing to replace {out}: it is not a previous student edition")
    shutil.rmtree(out, ignore_errors=True)
    pages = course_pages(root, edition="student")
    files: list[Path] = []
    for path in pages["lessons"]:
        target = out / path.relative_to(root)
        nb = clean_for_page(nbformat.read(os.fspath(path), as_version=4))
        _write(target, nbformat.writes(nb))
        files.append(target)
    for path in pages["exercises"]:
        target = out / path.relative_to(root)
        _write(target, path.read_bytes())
        files.append(target)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(out).as_posix())
    return zip_path


def _student_main(args: list[str]) -> int:
    """``python -m retention_kit.course student [--out DIR]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m retention_kit.course student",
        description="Write the notebooks folder without solutions, and a zip of it.")
    parser.add_argument("--out", default="build/student")
    options = parser.parse_args(args)
    try:
        zip_path = write_student_edition(options.out, root=Path.cwd())
    except ValueError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    sys.stdout.write(f"Student edition in {zip_path.parent / 'notebooks'}; "
                     f"to hand out: {zip_path}\n")
    return 0


def _main(argv: list[str] | None = None) -> int:
    """``python -m retention_kit.course [SOLUTIONS_DIR [EXERCISES_DIR]]``: regenerate."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["site"]:
        return _site_main(args[1:])
    if args[:1] == ["student"]:
        return _student_main(args[1:])
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
