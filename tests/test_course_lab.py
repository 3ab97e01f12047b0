"""The notebooks as learners see them in JupyterLab (a real server, driven in Chromium).

The test starts JupyterLab from the lab environment ``make lab`` creates (``.venv-lab``;
skipped when it has not been created yet) on a loopback port, with a copy of the notebooks
folder, and opens every notebook:

* no Markdown cell is typeset as math (``$500 ... $1,000`` becomes italic math in
  JupyterLab, whatever the escaping: amounts are written ``USD 500``);
* the notebook does not open "modified" (a stored kernel display name other than the
  lab's "Python 3 (ipykernel)" marks it dirty at once).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / ".venv-lab" / "bin" / "jupyter"
NOTEBOOKS = sorted(p.relative_to(ROOT / "notebooks").as_posix()
                   for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token) of a JupyterLab serving a copy of notebooks/."""
    if not LAB.exists():
        pytest.skip("no lab environment: run `make lab` once to create .venv-lab")
    folder = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = free_port(), secrets.token_hex(16)
    command = [str(LAB), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
               "--LabApp.expose_app_in_browser=True",
               *(["--allow-root"] if os.getuid() == 0 else [])]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "JUPYTER_CONFIG_DIR": str(folder.parent / "cfg")})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_notebooks_show_no_math_and_open_unmodified_in_jupyterlab(lab, chromium):
    base, token = lab
    problems = []
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # One page load; the notebooks are then opened one at a time by the lab's own
        # command, each in a fresh main area, as a learner double-clicking it.
        page.goto(f"{base}/lab?token={token}&reset")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined",
                               timeout=60_000)
        page.wait_for_selector(".jp-DirListing-item", timeout=60_000)
        for name in NOTEBOOKS:
            page.evaluate("""async (path) => {
                const app = window.jupyterapp;
                // Dispose (not close) the previous notebook: closing one that is
                // modified would wait for an answer to "Save your changes?".
                for (const widget of Array.from(app.shell.widgets('main'))) widget.dispose();
                await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
            }""", name)
            page.wait_for_selector(".jp-MarkdownCell .jp-RenderedMarkdown", state="attached",
                                   timeout=60_000)
            page.wait_for_timeout(800)
            notebook = page.locator(".jp-NotebookPanel .jp-Notebook:visible").first
            notebook.wait_for(state="visible", timeout=30_000)
            box = notebook.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
            for _ in range(20):  # JupyterLab renders the cells as they scroll into view
                page.mouse.wheel(0, 4000)
                page.wait_for_timeout(60)
            page.wait_for_timeout(700)
            math = page.eval_on_selector_all(
                ".jp-MarkdownCell .jp-RenderedMarkdown mjx-container",
                "els => els.map(e => e.closest('.jp-RenderedMarkdown').innerText.slice(0, 60))")
            if math:
                problems.append(f"{name}: math in Markdown: {math[:2]}")
            dirty = page.eval_on_selector_all(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty",
                                              "els => els.length")
            if dirty:
                problems.append(f"{name}: opens modified")
    finally:
        page.close()
    assert not problems, "\n".join(problems)
