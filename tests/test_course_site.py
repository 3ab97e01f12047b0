"""The offline course site (``make course``): complete, self-contained, solutions hidden.

Both editions are built once into a temporary folder with execution off (the notebooks'
stored outputs are shown; ~15 s an edition here), then checked page by page:

* every page of the generated table of contents produced an HTML file, and every lesson,
  exercise and (instructor edition only) solution notebook found by glob is a page;
* every relative link and asset (``href``, ``src``, CSS ``url()``) resolves to a file;
* no page loads anything from another machine: no ``<script src>``, ``<link href>``,
  ``<img src>``... or CSS ``url()``/``@import`` with an ``http(s)://`` or ``//`` URL
  (plain ``<a href>`` links are fine), and Chromium with the network blocked makes no
  request but ``file://``;
* the student edition contains no line of solution code, the instructor edition all;
* no page shows a test marker, a log line, a host name, an IP address or a path of the
  build machine; a check cell on a student page shows only ``check("01.2")``;
* the landing page counts and lists the lessons found; students download the real
  exercise notebooks; in Chromium no element is wider than the content column and code
  wraps.

A smoke build then *executes* one small lesson (05, its outputs cleared) to check that
execution works with the environment's kernel.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from retention_kit.course import BEGIN, END, build_site, course_pages
from retention_kit.reports import external_resources

ROOT = Path(__file__).resolve().parent.parent
EDITIONS = ("instructor", "student")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, Path]:
    """Both editions built with execution off: {edition: folder of index.html}."""
    base = tmp_path_factory.mktemp("course")
    return {edition: build_site(edition, execute=False, out=base / edition, root=ROOT,
                                strict=True).parent
            for edition in EDITIONS}


def html_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.html") if p.parent.name != "_static"
                  and "_static" not in p.relative_to(folder).parts)


def toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("parts", []))
    return files


@pytest.mark.slow
@pytest.mark.parametrize("edition", EDITIONS)
def test_every_page_of_the_toc_is_built(site: dict[str, Path], edition: str):
    out = site[edition]
    toc = yaml.safe_load((out.parent / "_source" / edition / "_toc.yml").read_text())
    files = toc_files(toc)
    missing = [f for f in files if not (out / f"{f}.html").is_file()]
    assert not missing, f"{edition}: pages in the TOC without HTML: {missing}"
    pages = course_pages(ROOT, edition=edition)
    expected = {p.relative_to(ROOT).with_suffix("").as_posix()
                for group in pages.values() for p in group}
    expected |= {"index", "GLOSSARY", "TRAINER_GUIDE"}
    assert len(pages["lessons"]) >= 5 and pages["exercises"]
    assert expected == set(files), f"{edition}: TOC differs from the notebooks found"
    solutions = {f for f in files if f.startswith("notebooks/solutions/")}
    if edition == "student":
        assert not solutions and not (out / "notebooks" / "solutions").exists()
    else:
        assert len(solutions) == len(list((ROOT / "notebooks" / "solutions").glob("*.ipynb")))


class _Refs(HTMLParser):
    """(tag, attribute, url) of every reference a page makes."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "poster", "data"):
                self.refs.append((tag, name, value))
            elif value and name == "srcset":
                self.refs += [(tag, name, part.split()[0]) for part in value.split(",")
                              if part.strip()]


def page_refs(page: Path) -> list[tuple[str, str, str]]:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


def is_local(url: str) -> bool:
    return not re.match(r"^([a-zA-Z][\w+.-]*:|//|#)", url)


def target(base: Path, url: str) -> Path:
    return (base.parent / unquote(urlsplit(url).path)).resolve()


@pytest.mark.slow
@pytest.mark.parametrize("edition", EDITIONS)
def test_internal_links_and_assets_resolve(site: dict[str, Path], edition: str):
    out = site[edition]
    broken = []
    for page in html_files(out):
        for tag, attr, url in page_refs(page):
            if is_local(url) and urlsplit(url).path and not target(page, url).exists():
                broken.append(f"{page.relative_to(out)}: <{tag} {attr}={url!r}>")
    for css in out.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css.read_text("utf-8")):
            if is_local(url) and not url.startswith("data:") and not target(css, url).exists():
                broken.append(f"{css.relative_to(out)}: url({url})")
    assert not broken, f"{edition}: {len(broken)} references to missing files: {broken[:20]}"


EXTERNAL_CSS = re.compile(r"url\(\s*['\"]?(?:https?:)?//|@import\s+(?:url\()?\s*['\"]?"
                          r"(?:https?:)?//", re.IGNORECASE)
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis",
             "fonts.gstatic", "googletagmanager", "plausible.io", "mathjax", "require.min.js")


@pytest.mark.slow
@pytest.mark.parametrize("edition", EDITIONS)
def test_no_page_loads_an_external_resource(site: dict[str, Path], edition: str):
    out = site[edition]
    pages = html_files(out)
    assert len(pages) >= 8
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert external_resources(text) == [], page.relative_to(out)
        found = [host for host in CDN_HOSTS if host in text.lower()]
        assert not found, f"{page.relative_to(out)} mentions {found}"
    for css in out.rglob("*.css"):
        match = EXTERNAL_CSS.search(css.read_text(encoding="utf-8", errors="replace"))
        assert match is None, f"{css.relative_to(out)} loads {match.group(0)!r}"


def test_the_external_resource_checks_catch_what_they_should():
    assert EXTERNAL_CSS.search("@import url('https://fonts.googleapis.com/css')")
    assert EXTERNAL_CSS.search("a { background: url(//x.org/a.png) }")
    assert not EXTERNAL_CSS.search("@import \"../basic.css\"; b { src: url(fonts/a.woff2) }")
    assert is_local("../_static/a.js?v=1") and not is_local("https://x.org/a.js")
    assert not is_local("mailto:a@b.c") and not is_local("#top")


def text_without_space(text: str) -> str:
    """Visible text of a page (tags dropped, entities decoded), without any whitespace."""
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.DOTALL)
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


def solution_only_lines() -> list[str]:
    """Lines between the solution markers that appear nowhere in what students get."""
    student_sources = [p for group in course_pages(ROOT, edition="student").values()
                       for p in group]
    student_sources += [ROOT / "GLOSSARY.md", ROOT / "TRAINER_GUIDE.md",
                        ROOT / "course" / "index.md"]
    public = re.sub(r"\s+", "", "".join(
        "".join(cell.source for cell in nbformat.read(p, as_version=4).cells)
        if p.suffix == ".ipynb" else p.read_text(encoding="utf-8") for p in student_sources))
    lines = []
    for path in course_pages(ROOT)["solutions"]:
        inside = False
        for cell in nbformat.read(path, as_version=4).cells:
            for line in cell.source.split("\n") if cell.cell_type == "code" else []:
                if line.strip() in (BEGIN, END):
                    inside = line.strip() == BEGIN
                elif inside and len(line.strip()) > 8 and not line.strip().startswith("#"):
                    squeezed = re.sub(r"\s+", "", line)
                    if squeezed not in public:
                        lines.append(squeezed)
    return lines


@pytest.mark.slow
def everything_without_space(folder: Path) -> str:
    """All text a site ships: pages, notebooks offered for download, search index..."""
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".html":
            texts.append(text_without_space(path.read_text(encoding="utf-8")))
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            texts.append(re.sub(r"\s+", "", "".join(cell.source for cell in nb.cells)))
        elif path.suffix in (".js", ".txt", ".md", ".json"):
            texts.append(re.sub(r"\s+", "", path.read_text(encoding="utf-8", errors="replace")))
    return "".join(texts)


def test_student_edition_has_no_solution_code_and_instructor_edition_has_it(site):
    lines = solution_only_lines()
    assert len(lines) >= 6, "expected solution-only lines in notebooks/solutions/"
    student = everything_without_space(site["student"])
    instructor = "".join(text_without_space(p.read_text(encoding="utf-8"))
                         for p in html_files(site["instructor"]))
    leaked = [line for line in lines if line in student]
    assert not leaked, f"solution code in the student edition: {leaked[:5]}"
    missing = [line for line in lines if line not in instructor]
    assert not missing, f"solution code missing from the instructor edition: {missing[:5]}"
    assert "retention=(E-N)/S" in instructor and "retention=(E-N)/S" not in student
    assert "Solutiontoexercise" in instructor.replace("Exercise", "exercise")
    assert "Solutiontoexercise" not in student.replace("Exercise", "exercise")


@pytest.mark.slow
def test_exercises_render_as_exercise_blocks(site: dict[str, Path]):
    for edition in EDITIONS:
        page = site[edition] / "notebooks" / "exercises" / "01_measurement_exercises.html"
        text = page.read_text(encoding="utf-8")
        assert text.count('class="exercise admonition') >= 6
        assert "# YOUR CODE HERE" in html.unescape(re.sub(r"<[^>]+>", "", text))
    page = site["instructor"] / "notebooks" / "solutions" / "01_measurement_solutions.html"
    text = page.read_text(encoding="utf-8")
    assert text.count('class="solution admonition') >= 6
    # Each solution links to its exercise on the exercise page.
    assert 'href="../exercises/01_measurement_exercises.html#01_measurement-exercise-1"' in text


@pytest.mark.slow
def test_pages_load_offline_in_chromium(site: dict[str, Path], chromium):
    """Open a page of each kind with the network blocked: nothing but file:// is requested."""
    pages = [site["student"] / "index.html",
             site["student"] / "notebooks" / "01_measurement.html",
             site["student"] / "notebooks" / "exercises" / "01_measurement_exercises.html",
             site["instructor"] / "notebooks" / "solutions" / "01_measurement_solutions.html",
             site["instructor"] / "GLOSSARY.html"]
    for path in pages:
        context = chromium.new_context()
        requests: list[str] = []
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(("file://", "data:")) else route.abort())
        page = context.new_page()
        page.on("request", lambda request, seen=requests: seen.append(request.url))
        try:
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            images = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        finally:
            context.close()
        remote = [url for url in requests if not url.startswith(("file://", "data:"))]
        assert not remote, f"{path.name} requested {remote}"
        assert all(images), f"{path.name}: an image did not load"


@pytest.mark.slow
def test_smoke_build_executes_a_lesson(tmp_path: Path):
    """Lesson 05 with its outputs cleared: after an executing build its page has them."""
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "course", root / "course")
    for doc in ("GLOSSARY.md", "TRAINER_GUIDE.md"):
        shutil.copy(ROOT / doc, root / doc)
    nb = nbformat.read(ROOT / "notebooks" / "05_common_mistakes.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "05_common_mistakes.ipynb")
    index = build_site("student", execute=True, out=tmp_path / "site" / "student", root=root,
                       timeout=300)
    page = (index.parent / "notebooks" / "05_common_mistakes.html").read_text("utf-8")
    assert page.count('class="cell_output') >= 5
    assert "Traceback" not in page
    assert (tmp_path / "site" / ".jupyter_cache").is_dir()
    toc = yaml.safe_load((tmp_path / "site" / "_source" / "student" / "_toc.yml").read_text())
    assert toc_files(toc) == ["index", "notebooks/05_common_mistakes", "GLOSSARY",
                              "TRAINER_GUIDE"]


def test_stage_refuses_unknown_editions_and_dangerous_outputs(tmp_path: Path):
    with pytest.raises(ValueError, match="edition"):
        build_site("teacher", out=tmp_path / "x")
    with pytest.raises(ValueError, match="repository"):
        build_site("student", out=ROOT, root=ROOT)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a previous course build"):
        build_site("student", out=tmp_path / "mine", root=ROOT)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_stage_of_a_subset_has_the_lesson_its_exercises_and_solutions(tmp_path: Path):
    from retention_kit.course import stage_site

    files = {}
    for edition in EDITIONS:
        stage = stage_site(tmp_path / edition, edition=edition, root=ROOT,
                           only=["01_measurement"])
        files[edition] = toc_files(yaml.safe_load((stage / "_toc.yml").read_text()))
        exercise = nbformat.read(stage / "notebooks" / "exercises" /
                                 "01_measurement_exercises.ipynb", as_version=4)
        assert sum("{exercise}" in c.source for c in exercise.cells) >= 6
        config = yaml.safe_load((stage / "_config.yml").read_text())
        assert config["sphinx"]["config"]["hide_solutions"] is (edition == "student")
        assert config["execute"]["execute_notebooks"] == "off"
    assert files["student"] == ["index", "notebooks/01_measurement",
                                "notebooks/exercises/01_measurement_exercises",
                                "GLOSSARY", "TRAINER_GUIDE"]
    assert files["instructor"] == [*files["student"][:3],
                                   "notebooks/solutions/01_measurement_solutions",
                                   "GLOSSARY", "TRAINER_GUIDE"]
    solution = nbformat.read(tmp_path / "instructor" / "notebooks" / "solutions" /
                             "01_measurement_solutions.ipynb", as_version=4)
    sources = [c.source for c in solution.cells]
    assert sum(s.startswith("```{solution-start} 01_measurement-exercise-") for s in sources) >= 6
    assert not any(BEGIN in s or END in s for s in sources)
    assert not (tmp_path / "student" / "notebooks" / "solutions").exists()


@pytest.mark.slow
def test_a_notebook_that_fails_stops_the_build(tmp_path: Path):
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "course", root / "course")
    for doc in ("GLOSSARY.md", "TRAINER_GUIDE.md"):
        shutil.copy(ROOT / doc, root / doc)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "09_broken.ipynb")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        build_site("student", execute=True, out=tmp_path / "site" / "student", root=root)
    assert not (tmp_path / "site" / "student").exists()


def visible_text(page: Path) -> str:
    """The text a reader sees on a page (scripts and styles dropped, entities decoded)."""
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", page.read_text("utf-8"),
                  flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


#: What a reader must never see: test-runner markers, JVM/Spark logs, the build machine.
LEAKS = {
    "test marker": re.compile(r"NBVAL_[A-Z_]+"),
    "log line": re.compile(r"\b(WARN|INFO|DEBUG)\s+\w+:|log4j|NativeCodeLoader|"
                           r"setLogLevel\(newLevel\)|Kernel is running over TCP"),
    "IP address": re.compile(r"(?<![\w.])(?!127\.0\.0\.1)(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"),
    "host name": re.compile(r"[Yy]our hostname|hostname,"),
    "absolute path": re.compile(r"(?<![\w.:/])/(?:tmp|home|root|work|Users|var/folders)/"),
}


def test_the_leak_patterns_catch_what_they_should():
    samples = {"test marker": "# NBVAL_CHECK_OUTPUT",
               "log line": "26/11/22 18:39:28 WARN Utils: Your hostname",
               "IP address": "using 192.0.2.2 instead", "host name": "Your hostname, vm, resolves",
               "absolute path": "written to /tmp/retention_kit_scale_x/summary.parquet"}
    for name, sample in samples.items():
        assert LEAKS[name].search(sample), name
    assert not LEAKS["IP address"].search("python 3.11.7, numpy 2.4.6, loopback 127.0.0.1")
    assert not LEAKS["absolute path"].search("see https://x.org/tmp/a and notebooks/tmp/")


@pytest.mark.slow
@pytest.mark.parametrize("edition", EDITIONS)
def test_no_page_shows_markers_logs_hosts_ips_or_build_paths(site: dict[str, Path],
                                                            edition: str):
    out = site[edition]
    found = []
    for page in html_files(out):
        text = visible_text(page)
        for name, pattern in LEAKS.items():
            match = pattern.search(text)
            if match:
                found.append(f"{page.relative_to(out)}: {name} {match.group(0)!r}")
        for path in (str(ROOT), str(out.parent)):
            if path in text:
                found.append(f"{page.relative_to(out)}: build path {path}")
    assert not found, "\n".join(found[:20])


@pytest.mark.slow
def test_landing_page_counts_and_lists_the_lessons_of_the_toc(site: dict[str, Path]):
    from retention_kit.course import landing_substitutions

    lessons = course_pages(ROOT)["lessons"]
    words = landing_substitutions(lessons)
    for edition in EDITIONS:
        text = " ".join(visible_text(site[edition] / "index.html").split())
        assert f"{words['lesson_count']} lessons" in text
        assert "{{" not in text
        page = (site[edition] / "index.html").read_text("utf-8")
        for lesson in lessons:
            assert f'href="notebooks/{lesson.stem}.html"' in page, lesson.name
    other = [w for w in ("Four", "Five", "Six", "Seven", "Eight") if w != words["lesson_count"]]
    assert not any(f"{w} lessons" in visible_text(site["student"] / "index.html")
                   for w in other)


@pytest.mark.slow
def test_check_cells_on_student_pages_show_only_the_call(site: dict[str, Path]):
    """A check cell shows `check("01.2")`: no expected value, no formula producing it."""
    pages = sorted((site["student"] / "notebooks" / "exercises").glob("*.html"))
    assert pages
    for page in pages:
        cells = re.findall(r'<div class="cell docutils container">(.*?)</div>\s*</div>\s*</div>',
                           page.read_text("utf-8"), flags=re.DOTALL)
        checks = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells
                  if "# CHECK" in html.unescape(re.sub(r"<[^>]+>", "", c))]
        assert checks, page.name
        for text in checks:
            assert re.fullmatch(r'# CHECK check\("\d\d\.\w+"\)', text), f"{page.name}: {text}"


@pytest.mark.slow
def test_student_downloads_are_the_real_exercise_notebooks(site: dict[str, Path]):
    for path in course_pages(ROOT, edition="student")["exercises"]:
        offered = site["student"] / "_sources" / path.relative_to(ROOT)
        assert offered.read_bytes() == path.read_bytes(), path.name
        page = site["student"] / path.relative_to(ROOT).with_suffix(".html")
        assert f"_sources/notebooks/exercises/{path.name}" in page.read_text("utf-8")


@pytest.mark.slow
def test_no_element_is_wider_than_the_content_column(site: dict[str, Path], chromium):
    """Code wraps and outputs scroll inside their block: nothing runs off the column.

    Without course/_static/course.css 15 of the 17 code cells of lesson 03 are cut at the
    right edge (measured at 1280 px).
    """
    pages = [site["instructor"] / "notebooks" / "03_clv_models.html",
             site["instructor"] / "notebooks" / "06_at_scale.html",
             site["student"] / "notebooks" / "exercises" / "02_segmentation_exercises.html",
             site["instructor"] / "notebooks" / "solutions" / "03_clv_models_solutions.html"]
    script = """() => {
      const column = document.querySelector('article.bd-article') || document.querySelector('main');
      const right = column.getBoundingClientRect().right + 1;
      const wide = [];
      for (const el of column.querySelectorAll('pre, table, div.cell_output, div.highlight, img')) {
        let clipped = false;
        for (let p = el.parentElement; p && p !== column; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') {
            clipped = p.getBoundingClientRect().right <= right; break;
          }
        }
        if (!clipped && el.getBoundingClientRect().right > right)
          wide.push(el.tagName + ': ' + el.textContent.slice(0, 60));
      }
      // Code wraps: a reader sees all of it without scrolling sideways.
      for (const pre of column.querySelectorAll('div.cell_input pre'))
        if (pre.scrollWidth > pre.clientWidth + 1)
          wide.push('code cut at the edge: ' + pre.textContent.slice(0, 60));
      return wide;
    }"""
    for path in pages:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(path.as_uri(), wait_until="load")
            wide = page.evaluate(script)
        finally:
            page.close()
        assert not wide, f"{path.name}: {len(wide)} elements wider than the column: {wide[:5]}"
