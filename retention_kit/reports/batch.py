"""The batch: one report per client with papermill, HTML pages, error pages and an index.

:func:`run_reports` (and ``retention-kit report`` on the command line) executes the report
notebook once per client with papermill (one kernel per report, forked from a template
that made the imports once, see :mod:`.warm`; in parallel workers),
converts each executed notebook to a self-contained HTML page with nbconvert (code hidden,
images embedded as data URIs, no external URL: it opens offline), keeps the executed
notebook next to it, writes an error page for a client whose report failed (which cell,
what, the message) and an ``index.html`` linking every report with its headline KPIs and
status. The notebook itself writes each client's customer list next to its report (the
batch passes the path as the ``customer_list`` parameter, see
:func:`~retention_kit.reports.export_customers`). papermill and nbconvert are imported
inside the functions that run them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from ..errors import data_error
from ..notebook import check_choice
from ._common import (
    KPI_MIME,
    QUALITY_MIME,
    VERDICT_WORDS,
    escape,
    format_money,
    percent,
    write_atomic,
)
from .exports import CUSTOMERS_MIME
from .html import notebook_to_html, standalone_page
from .sections import TRUST_MIME
from .settings import demo_folder, read_client_info
from .warm import KernelTemplate, kernel_arguments, warm_kernels_supported


def _report_notebook(name: str = "client_report.ipynb") -> Path:
    """A report notebook of a source checkout, else the copy shipped in the wheel."""
    package = Path(__file__).resolve().parent.parent  # retention_kit/
    checkout = package.parent / "notebooks" / name
    return checkout if checkout.is_file() else package / "_notebooks" / name


#: The report notebook of shops: the checkout's ``notebooks/client_report.ipynb``, else the
#: copy the wheel ships as ``retention_kit/_notebooks``.
REPORT_NOTEBOOK = _report_notebook()
#: The report notebook of subscription businesses (``notebooks/subscription_report.ipynb``):
#: MRR and its bridge, churn by plan and tenure, contract models per plan; it takes the
#: same parameters as :data:`REPORT_NOTEBOOK`.
SUBSCRIPTION_NOTEBOOK = _report_notebook("subscription_report.ipynb")


def report_notebook_for(folder: str | os.PathLike[str] | None, client_id: str) -> Path:
    """The report notebook of a client: :data:`SUBSCRIPTION_NOTEBOOK` when its data folder
    (or the bundled demo client's, for an empty ``folder``) holds ``subscriptions.csv``,
    else :data:`REPORT_NOTEBOOK`.

    Examples
    --------
    >>> report_notebook_for(None, "b2b_saas").name, report_notebook_for("", "retailer").name
    ('subscription_report.ipynb', 'client_report.ipynb')
    """
    try:
        base = Path(folder) if folder else demo_folder(client_id)
    except ValueError:
        return REPORT_NOTEBOOK
    return SUBSCRIPTION_NOTEBOOK if (base / "subscriptions.csv").is_file() else REPORT_NOTEBOOK

#: Notebook parameters the batch sets for each client (never given for all): the
#: client, its data, and where its customer list goes (``<out>/<name>.customers.csv``,
#: passed only to a notebook that has a ``customer_list`` parameter).
PER_CLIENT_PARAMETERS = ("client_id", "data_dir", "customer_list")


_RESERVED = {"index", "con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def safe_name(client_id: object) -> str:
    """A file name for a client's report that cannot leave the output folder.

    Lower-case ASCII letters, digits, ``-`` and ``_`` only (so no path separator, no
    ``..``, no leading dot, no drive letter), at most 60 characters. An id that had to be
    changed (or is a reserved name such as ``index`` or ``con``) gets the first 8 hex
    digits of its SHA-1 appended, so two different ids never share a name. Empty ids
    become ``client-<hash>``.

    Examples
    --------
    >>> safe_name("retailer")
    'retailer'
    >>> safe_name("../../etc/passwd")
    'etc-passwd-936d7c04'
    >>> safe_name("/abs/path"), safe_name("Café Noir"), safe_name("index")
    ('abs-path-16a4cd88', 'cafe-noir-727fe360', 'index-e540cdd1')
    >>> safe_name("")
    'client-da39a3ee'
    """
    text = str(client_id)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower()).strip("-_")[:60].strip("-_")
    if slug and slug == text and slug not in _RESERVED:
        return slug
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug or 'client'}-{digest}"


def _inside(folder: Path, name: str, suffix: str) -> Path:
    """``folder / (name + suffix)``, refusing anything that would land elsewhere.

    The last component is not resolved: a symbolic link there is replaced by the file
    (see :func:`~._common.write_atomic`), never written through.
    """
    path = folder.resolve() / f"{name}{suffix}"
    if not re.fullmatch(r"[a-z0-9_-]+", name) or "/" in suffix or ".." in suffix:
        raise ValueError(f"refusing to write {path}: outside {folder}")
    return path


#: The customer list files a report writes next to it (see :func:`.exports.export_customers`).
CUSTOMER_LIST_SUFFIXES = (".customers.csv", ".customers.parquet", ".customers.txt")


def _clear_links(folder: Path, name: str) -> None:
    """Remove symbolic links where a client's files go (papermill would write through),
    and an earlier run's customer list (a failed report must not leave an old one)."""
    for suffix in (".html", ".ipynb", ".quality.json", ".kernel.log"):
        path = _inside(folder, name, suffix)
        if path.is_symlink():
            path.unlink()
    for suffix in CUSTOMER_LIST_SUFFIXES:
        _inside(folder, name, suffix).unlink(missing_ok=True)


def discover_clients(data_dir: str | os.PathLike[str], only: Sequence[str] | None = None,
                     ) -> dict[str, Path]:
    """The client folders of a data folder: each sub-folder holding ``transactions.csv``.

    A file instead of a folder is one client's export, named after the file (its
    columns then come from a spec: ``retention-kit report --data export.csv --map ...``).

    Parameters
    ----------
    data_dir : path
        The ``--data`` folder (``datasets/demo`` layout).
    only : sequence of str, optional
        Client ids to keep, in this order; an unknown id raises, naming the valid ones.

    Returns
    -------
    dict
        Client id (the folder's name) -> folder, sorted by id.

    Raises
    ------
    DataError
        No such folder, no client in it, or an unknown id in ``only``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> list(discover_clients(data_dir() / "demo", only=["retailer", "b2b_saas"]))
    ['retailer', 'b2b_saas']
    """
    root = Path(data_dir)
    if root.is_file():  # one export file: one client, named after the file
        found = {root.stem: root}
        for cid in only or ():
            check_choice("clients", cid, list(found))
        return found
    if not root.is_dir():
        raise data_error(f"the data folder {str(root)!r} does not exist",
                         fix="pass --data as a folder with one sub-folder per client, or one "
                         "export file")
    found = {p.name: p for p in sorted(root.iterdir())
             if p.is_dir() and (p / "transactions.csv").is_file()}
    if not found:
        raise data_error(f"no client folder (a sub-folder with transactions.csv) in {str(root)!r}",
                         fix="put each client's transactions.csv in its own sub-folder")
    if only is None:
        return found
    out = {}
    for cid in only:
        check_choice("clients", cid, list(found))
        out[cid] = found[cid]
    return out


@dataclass
class ReportResult:
    """What happened to one client's report (see :func:`run_reports`)."""

    client_id: str
    name: str
    """The safe file name (without extension)."""
    status: Literal["ok", "failed", "cancelled"]
    """"cancelled": stopped by Ctrl-C or SIGTERM before it finished (no report)."""
    html: Path
    """The report, or the error page of a failed report."""
    notebook: Path | None
    """The executed notebook (kept for debugging), when one was written."""
    seconds: float
    kpis: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error: str | None = None
    """The exception message of a failed report."""
    failed_step: str | None = None
    """The failing cell's first comment line (what it was doing)."""
    failed_cell: int | None = None
    """Index (from 0) of the failing cell in the saved executed notebook."""
    traceback: str = ""
    display_name: str = ""
    """The client's name from its ``client.json`` (empty when unknown)."""
    kernel: str = ""
    """The kernel of the last attempt: "warm" (forked from the batch's template, imports
    done) or "fresh" (started from scratch); empty when none started."""
    attempts: int = 0
    """Kernels the report ran in: 2 when a crashed or timed-out kernel was retried."""
    generated_at: str = ""
    """When the report was finished (UTC, ISO 8601 to the second)."""
    verdict: str = ""
    """The forecast's trust verdict ("ok", "caution", "unreliable"; empty when unknown)."""
    customer_list: dict[str, Any] = field(default_factory=dict)
    """What the report exported (:meth:`.exports.CustomerListView.to_dict`): the file
    names next to the report, the number of customers, how CLV is given."""

    @property
    def ok(self) -> bool:
        """True when the report was produced."""
        return self.status == "ok"

    def to_dict(self, *, relative_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """JSON-able dict (paths as strings).

        With ``relative_to`` (the output folder), paths are file names relative to it,
        and that folder's absolute path is taken out of the messages too (``index.json``
        moves with its folder).
        """
        out = asdict(self)
        out["html"] = str(self.html)
        out["notebook"] = None if self.notebook is None else str(self.notebook)
        if relative_to is None:
            return out
        out["html"] = self.html.name
        out["notebook"] = None if self.notebook is None else self.notebook.name
        folders = {str(Path(relative_to)), str(Path(relative_to).resolve())}
        for key in ("error", "traceback"):
            if isinstance(out.get(key), str):
                for folder in sorted(folders, key=len, reverse=True):
                    out[key] = out[key].replace(folder + os.sep, "").replace(folder, ".")
        return out



def error_page(result: ReportResult) -> str:
    """The page a failed client gets instead of a report: what failed, where, the message.

    Examples
    --------
    >>> r = ReportResult(client_id="<broken>", name="broken-1", status="failed",
    ...                  html=Path("broken-1.html"), notebook=None, seconds=1.0,
    ...                  error_type="DataError", error="amounts are negative.",
    ...                  failed_step="Check the parameters and the client's data",
    ...                  failed_cell=2)
    >>> page = error_page(r)
    >>> "&lt;broken&gt;" in page and "DataError" in page and "(cell 3 of the" in page
    True
    """
    where = (f"{escape(result.failed_step or 'running the report')}"
             + (f" (cell {result.failed_cell + 1} of the executed notebook)"
                if result.failed_cell is not None else ""))
    nb_link = (f'<p>The executed notebook, for debugging: <a href="{escape(result.notebook.name)}">'
               f"{escape(result.notebook.name)}</a>.</p>"
               if result.notebook is not None and result.notebook.exists() else "")
    trace = (f"<details><summary>Traceback</summary><pre>{escape(result.traceback)}</pre>"
             f"</details>" if result.traceback else "")
    body = f"""<h1>Report for {escape(result.display_name or result.client_id)}: failed</h1>
<p class="status-failed">The report could not be produced. The other clients' reports are not
affected.</p>
<table id="error-summary">
<tr><th>Client</th><td>{escape(result.client_id)}</td></tr>
<tr><th>Failed step</th><td>{where}</td></tr>
<tr><th>Error</th><td>{escape(result.error_type or "Error")}</td></tr>
<tr><th>Message</th><td id="error-message">{escape(result.error or "")}</td></tr>
</table>
{nb_link}
{trace}
<p><a href="index.html">All reports</a></p>"""
    return standalone_page(f"Report for {result.display_name or result.client_id}: failed", body)


def _customer_list_cell(result: ReportResult) -> str:
    """The index's link(s) to a report's customer list, or why there is none."""
    info = result.customer_list or {}
    files = info.get("files") or {}
    if "csv" not in files:
        return ""
    links = [f'<a class="customer-list" href="{escape(files["csv"])}">CSV</a>']
    if "parquet" in files:
        links.append(f'<a class="customer-list" href="{escape(files["parquet"])}">Parquet</a>')
    else:
        links.append("no Parquet (pyarrow is not installed)")
    if "readme" in files:
        links.append(f'<a href="{escape(files["readme"])}">columns</a>')
    size = f"{int(info['customers']):,} customers" if info.get("customers") is not None else ""
    values = {"withheld": "no values (not supported by the data)",
              "ranges": "values as 90% ranges", "exact": "with values"}.get(
                  str(info.get("clv")), "")
    detail = ", ".join(x for x in (size, values) if x)
    return " · ".join(links) + (f"<br><small>{escape(detail)}</small>" if detail else "")


def _when(stamp: str) -> str:
    """An ISO time stamp as "2026-12-07 17:55 UTC" (empty when there is none)."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if len(stamp) >= 16 else ""


def write_index(results: Sequence[ReportResult], out_dir: str | os.PathLike[str], *,
                title: str = "Customer retention reports") -> Path:
    """Write ``index.html`` (and ``index.json``) linking every report with KPIs and status.

    One row per client: the client (linking the report, or its error page), the period
    its data cover, when the report was generated, its status, the headline KPIs of its
    last complete period, the forecast's trust verdict and links to its customer list.
    Every link and path is relative to the output folder, so the folder can be moved or
    shared as it is; ``index.json`` holds the same for programs (with each report's
    seconds).

    Returns
    -------
    Path
        The index page.
    """
    folder = Path(out_dir)
    rows = []
    for r in results:
        k = r.kpis or {}
        cur = str(k.get("currency") or "")
        name = str(k.get("display_name") or r.display_name or r.client_id)
        link = f'<a class="report" href="{escape(r.html.name)}">{escape(name)}</a>'
        if r.ok:
            status = '<span class="status-ok">ok</span>'
        elif r.status == "cancelled":
            status = '<span class="status-cancelled">cancelled</span> before it finished'
        else:
            status = (f'<span class="status-failed">failed</span>: '
                      f'{escape(r.failed_step or "")} ({escape(r.error_type or "error")})')

        def num(key: str, fmt: Callable[[Any], str], k: dict = k) -> str:
            value = k.get(key)
            return "" if value is None else escape(fmt(value))

        period = (f"{escape(k['data_start'])}<br>to {escape(k['data_end'])}"
                  if k.get("data_start") and k.get("data_end") else "")
        trust = (f'<span class="rk-{escape(r.verdict)}">'
                 f"{escape(VERDICT_WORDS.get(r.verdict, r.verdict))}</span>"
                 if r.verdict else "")
        rows.append(
            f'<tr class="report-row" data-status="{r.status}" data-client="{escape(r.client_id)}">'
            f"<td>{link}<br><small>{escape(r.client_id)}</small></td>"
            f'<td class="period" style="white-space: nowrap">{period}</td>'
            f'<td class="generated" style="white-space: nowrap">'
            f"{escape(_when(r.generated_at)).replace(' ', '<br>', 1)}</td>"
            f'<td class="status">{status}</td>'
            f"<td>{num('active_customers', lambda v: f'{int(v):,}')}</td>"
            f"<td>{num('retention', percent)}</td><td>{num('churn', percent)}</td>"
            f"<td>{num('repeat_purchase_rate', percent)}</td>"
            f"<td>{num('aov', lambda v, c=cur: format_money(v, c))}</td>"
            f"<td>{num('nrr', percent)}</td>"
            f'<td class="trust">{trust}</td>'
            f'<td class="customer-list">{_customer_list_cell(r)}</td></tr>')
    n_ok = sum(r.ok for r in results)
    n_cancelled = sum(r.status == "cancelled" for r in results)
    n_failed = len(results) - n_ok - n_cancelled
    missing = "".join([f"; {n_failed} failed (their pages say why)" if n_failed else "",
                       f"; {n_cancelled} cancelled" if n_cancelled else ""])
    stamps = sorted(r.generated_at for r in results if r.generated_at)
    generated = f" Generated {escape(_when(stamps[-1]))}." if stamps else ""
    body = f"""<h1>{escape(title)}</h1>
<p>{n_ok} of {len(results)} reports produced{missing}.{generated} Rates are for each
client's last complete period, and so are the active customers they are about (active in a
shop's last period, paying in a subscription's last month; the customer list has everyone);
the forecast column says how far its customer values can be trusted.</p>
<table id="report-index">
<thead><tr><th>Client</th><th>Period covered</th><th>Generated</th><th>Status</th>
<th>Active customers</th><th>Retention</th><th>Churn</th><th>Repeat purchase rate</th><th>AOV</th>
<th>NRR</th><th>Forecast</th><th>Customer list</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    index = folder / "index.html"
    write_atomic(index, standalone_page(title, body))
    write_atomic(folder / "index.json",
                 json.dumps([r.to_dict(relative_to=folder) for r in results], indent=1,
                            default=str))
    return index


def _step_label(source: str) -> str:
    for line in str(source).splitlines():
        text = line.strip()
        if text.startswith("#") and not text.upper().startswith("# NBVAL"):
            return text.lstrip("#").strip()
        if text:
            return text[:80]
    return "a cell"


def _find_output(nb: Any, mime: str) -> dict[str, Any]:
    """The last output of ``mime`` (JSON) in an executed notebook, or {}."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if mime in data:
                value = data[mime]
                found = json.loads(value) if isinstance(value, str) else dict(value)
    return found


#: Environment of the report kernels: one BLAS/OpenMP thread each (reports run side by
#: side, one per core), no debugger file-validation warning.
_KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def _kernel_env() -> dict[str, str]:
    return {**os.environ, **_KERNEL_ENV}


def _kernel_manager_class(log_path: Path, template: KernelTemplate | None = None,
                          used: dict[str, Any] | None = None) -> Any:
    """An AsyncKernelManager whose kernels run with :data:`_KERNEL_ENV` and write their own
    output (the kernel's log, not the cells') to ``log_path`` instead of the terminal.

    With a ``template``, the kernel is forked from it (imports done) when the kernel is
    this interpreter's ipykernel; if the template cannot fork, the kernel starts from
    scratch. ``used["kernel"]`` says which ("warm" or "fresh").
    """
    from jupyter_client.manager import AsyncKernelManager

    used = {} if used is None else used

    class ReportKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            argv = None if template is None else kernel_arguments(kernel_cmd)
            if argv is not None:
                try:
                    process = template.fork_kernel(  # type: ignore[union-attr]
                        argv, env=kw.get("env") or os.environ, log_path=log_path,
                        cwd=kw.get("cwd"))
                except RuntimeError as exc:  # no template: a kernel from scratch
                    with open(log_path, "a", encoding="utf-8") as log:
                        log.write(f"[retention_kit] {exc}; starting a fresh kernel\n")
                else:
                    provisioner = self.provisioner
                    provisioner.process = process  # type: ignore[union-attr]
                    provisioner.pid = provisioner.pgid = process.pid  # type: ignore[union-attr]
                    provisioner.cwd = kw.get("cwd") or Path.cwd()  # type: ignore[union-attr]
                    self._reconcile_connection_info(
                        provisioner.connection_info)  # type: ignore[union-attr]
                    used["kernel"] = "warm"
                    return
            if _CANCEL.is_set():  # the template was closed by Ctrl-C: start nothing
                raise RuntimeError("report generation cancelled")
            used["kernel"] = "fresh"
            await super()._async_launch_kernel(kernel_cmd, **kw)

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **_KERNEL_ENV}
            with open(log_path, "a", encoding="utf-8") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super().start_kernel(**kw)
            with _LIVE_LOCK:
                _LIVE_KERNELS.add(self)
            if _CANCEL.is_set():  # cancelled while it started: stop it now
                _stop_kernel(self)

        async def shutdown_kernel(self, now: bool = False,  # type: ignore[override]
                                  restart: bool = False) -> None:
            # A forked kernel is thrown away once its notebook has run (every output is
            # in by then): kill it rather than wait for a polite exit.
            now = now or (used.get("kernel") == "warm" and not restart)
            try:
                await super().shutdown_kernel(now=now, restart=restart)
            finally:
                with _LIVE_LOCK:
                    _LIVE_KERNELS.discard(self)

    return ReportKernelManager


#: Set by Ctrl-C or SIGTERM: queued reports are skipped, running kernels stopped.
_CANCEL = threading.Event()
_LIVE_KERNELS: set[Any] = set()
_LIVE_LOCK = threading.Lock()


def _stop_kernel(km: Any) -> None:
    """Kill a report kernel's process and remove its connection file (it holds a key)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    try:
        if process is not None and process.poll() is None:
            process.kill()
    except OSError:  # pragma: no cover - already gone
        pass
    with contextlib.suppress(OSError, AttributeError):
        km.cleanup_connection_file()


def _stop_all_kernels() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE_KERNELS)
        _LIVE_KERNELS.clear()
    for km in live:
        _stop_kernel(km)
    _close_template()


#: This process's kernel template (see :mod:`.warm`): started by :func:`run_reports` (or
#: by a worker process on its first report), closed when the batch ends.
_TEMPLATE: KernelTemplate | None = None
_TEMPLATE_LOCK = threading.Lock()


def _shared_template() -> KernelTemplate | None:
    """This process's kernel template, started on first use (None where unsupported)."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is None and warm_kernels_supported() and not _CANCEL.is_set():
            try:
                _TEMPLATE = KernelTemplate(_kernel_env())
            except OSError:  # cannot start a process now: kernels start fresh
                return None
            if not _TEMPLATE_EXIT_HOOK:
                import atexit

                atexit.register(_close_template)
                _TEMPLATE_EXIT_HOOK.append(True)
        return _TEMPLATE


_TEMPLATE_EXIT_HOOK: list[bool] = []


def _forkable(kernel_name: str) -> bool:
    """True when ``kernel_name`` is this interpreter's ipykernel, with no environment of
    its own (a template, which imports before any kernel starts, can stand in for it)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except Exception:  # noqa: BLE001 - no such kernel: papermill will say so
        return False
    if spec.env:
        return False
    cmd = list(spec.argv)
    major, minor = sys.version_info[:2]
    if cmd and cmd[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        cmd[0] = sys.executable  # as jupyter_client's format_kernel_cmd does
    return kernel_arguments(cmd) is not None


def _close_template() -> None:
    """Stop this process's kernel template and the kernels it forked."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        template, _TEMPLATE = _TEMPLATE, None
    if template is not None:
        template.close()


class ReportsCancelled(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped :func:`run_reports`; ``results`` has every client's status.

    The index was written before this was raised: finished reports are in it, the
    others are marked "cancelled".
    """

    def __init__(self, results: list[ReportResult], index: Path) -> None:
        super().__init__("report generation cancelled")
        self.results, self.index = results, index


def _running_cell(nb_path: Path) -> tuple[int | None, str]:
    """The cell papermill marked as running (or failed) in a saved notebook, if any."""
    try:
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001 - no notebook written: no cell to name
        return None, ""
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("exception") or meta.get("status") == "running":
            return i, str(cell.get("source", ""))
    return None, ""


@dataclass(frozen=True)
class _Job:
    client_id: str
    name: str
    notebook: str
    out_dir: str
    parameters: dict[str, Any]
    timeout: float | None
    kernel_name: str
    display_name: str = ""
    kernels: str = "warm"


def _display_name(folder: str, client_id: str) -> str:
    """``client.json``'s display name, read by the driver (so failed reports have it too)."""
    try:
        path = Path(folder) if folder else demo_folder(client_id)
        return str(read_client_info(path).get("display_name") or "")
    except (ValueError, OSError):
        return ""


#: Startup failures of a kernel (not of the notebook's code), retried with a new kernel.
_KERNEL_START_FAILURE = re.compile(r"Kernel died before replying to kernel_info|"
                                   r"Kernel didn't respond in \d+ seconds")
_KERNEL_START_ATTEMPTS = 3


def _execute(job: _Job) -> ReportResult:
    """Run one report (in a worker): papermill, then HTML or an error page."""
    start = time.perf_counter()
    folder = Path(job.out_dir)
    html_path = _inside(folder, job.name, ".html")
    nb_path = _inside(folder, job.name, ".ipynb")
    log_path = _inside(folder, job.name, ".kernel.log")
    result = ReportResult(client_id=job.client_id, name=job.name, status="ok", html=html_path,
                          notebook=nb_path, seconds=0.0, display_name=job.display_name)
    if _CANCEL.is_set():
        return _cancelled(job, html_path)
    stage = "preparing the output files"
    try:
        _clear_links(folder, job.name)
        log_path.unlink(missing_ok=True)
        stage = "starting the notebook's kernel"
        import papermill  # noqa: F401 - a missing papermill fails this stage

        stage = "running the notebook"
        nb = _run_notebook(job, nb_path, log_path, result)
        stage = "converting the notebook to HTML"
        result.kpis = _find_output(nb, KPI_MIME)
        result.verdict = str(_find_output(nb, TRUST_MIME).get("verdict") or "")
        result.customer_list = _find_output(nb, CUSTOMERS_MIME)
        title = f"{result.kpis.get('display_name') or job.client_id}: customer retention report"
        page = notebook_to_html(nb, title=title)
        stage = "writing the report"
        write_atomic(html_path, page)
        quality = _find_output(nb, QUALITY_MIME)
        if quality:  # a raw export: what its spec did, next to the report
            write_atomic(_inside(folder, job.name, ".quality.json"),
                         json.dumps(quality, indent=1, default=str))
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error page
        if _CANCEL.is_set():  # its kernel was stopped by Ctrl-C / SIGTERM
            return _cancelled(job, html_path, seconds=time.perf_counter() - start)
        _record_failure(result, exc, stage, nb_path, log_path)
    else:
        log_path.unlink(missing_ok=True)  # kept only to debug a failed report
    result.seconds = time.perf_counter() - start
    result.generated_at = _now()
    return result


def _now() -> str:
    """The time now, UTC, ISO 8601 to the second ("2026-12-07T17:55:02+00:00")."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _cancelled(job: _Job, html_path: Path, seconds: float = 0.0) -> ReportResult:
    return ReportResult(client_id=job.client_id, name=job.name, status="cancelled",
                        html=html_path, notebook=None, seconds=seconds,
                        failed_step="cancelled by the user", display_name=job.display_name)


def _kernel_trouble(exc: BaseException) -> bool:
    """True for a kernel that died or a cell that timed out (not an error in a cell)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    return isinstance(exc, CellTimeoutError | DeadKernelError) or (
        isinstance(exc, RuntimeError) and bool(_KERNEL_START_FAILURE.search(str(exc))))


def _run_notebook(job: _Job, nb_path: Path, log_path: Path, result: ReportResult) -> Any:
    """papermill on the job's notebook: in a warm kernel (``job.kernels == "warm"``), and
    once more in a fresh kernel if that one died or a cell timed out."""
    template = (_shared_template() if job.kernels == "warm" and _forkable(job.kernel_name)
                else None)
    try:
        return _papermill(job, nb_path, log_path, result, template)
    except Exception as exc:
        if _CANCEL.is_set() or not _kernel_trouble(exc):
            raise
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"[retention_kit] {type(exc).__name__}: {exc}; retrying once in a "
                      "fresh kernel\n")
    return _papermill(job, nb_path, log_path, result, None)


def _papermill(job: _Job, nb_path: Path, log_path: Path, result: ReportResult,
               template: KernelTemplate | None) -> Any:
    """papermill on the job's notebook, retrying a kernel that died while starting."""
    import papermill

    result.attempts += 1
    for attempt in range(_KERNEL_START_ATTEMPTS):
        used: dict[str, Any] = {}
        try:
            return papermill.execute_notebook(
                job.notebook, str(nb_path), parameters=job.parameters,
                kernel_name=job.kernel_name, progress_bar=False, log_output=False,
                request_save_on_cell_execute=False, execution_timeout=job.timeout,
                start_timeout=120,
                kernel_manager_class=_kernel_manager_class(log_path, template, used))
        except RuntimeError as exc:
            # Kernels started at the same moment can race for a TCP port and die before
            # answering (a known jupyter_client race): start a fresh kernel, a few times.
            if not _KERNEL_START_FAILURE.search(str(exc)) or \
                    attempt == _KERNEL_START_ATTEMPTS - 1:
                raise
        finally:
            result.kernel = used.get("kernel", result.kernel)
    raise AssertionError("unreachable")  # pragma: no cover


def _record_failure(result: ReportResult, exc: Exception, stage: str, nb_path: Path,
                    log_path: Path) -> None:
    """Fill ``result`` from a failed report (what, which cell, the traceback) and write
    its error page."""
    result.status = "failed"
    result.error_type = str(getattr(exc, "ename", "") or type(exc).__name__)
    result.error = _ANSI.sub("", str(getattr(exc, "evalue", "") or exc)).strip()
    # The saved notebook's failing cell (papermill inserts an error banner at the top,
    # so its index is one more than exc.cell_index); else what the exception says.
    cell, source = _running_cell(nb_path) if stage == "running the notebook" else (None, "")
    if cell is None and getattr(exc, "cell_index", None) is not None:
        cell, source = exc.cell_index, getattr(exc, "source", "")  # type: ignore[attr-defined]
    result.failed_step = _step_label(source) if cell is not None else stage
    result.failed_cell = None if cell is None else int(cell)
    trace = getattr(exc, "traceback", None)
    if isinstance(trace, list | tuple):
        result.traceback = _ANSI.sub("", "\n".join(map(str, trace)))
    else:
        import traceback as tb

        result.traceback = "".join(tb.format_exception(exc))
        if log_path.is_file():
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            result.traceback += f"\n--- kernel log ({log_path.name}) ---\n{tail}"
    if not nb_path.exists():
        result.notebook = None
    _write_error_page(result)


def _write_error_page(result: ReportResult) -> None:
    """The error page of a failed report; if even that cannot be written, say so."""
    try:
        write_atomic(result.html, error_page(result))
    except OSError as exc:
        result.error = (f"{result.error} (its error page could not be written either: "
                        f"{type(exc).__name__}: {exc})")


class _Progress:
    """A plain-text progress bar: one line per finished report."""

    def __init__(self, total: int, stream: IO[str] | None, width: int = 24) -> None:
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.start = time.perf_counter()

    def update(self, result: ReportResult) -> None:
        self.done += 1
        if self.stream is None:
            return
        filled = round(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        status = "ok" if result.ok else f"FAILED ({result.error_type})"
        self.stream.write(f"[{bar}] {self.done}/{self.total} {elapsed:6.1f}s  "
                          f"{result.client_id}: {status}\n")
        self.stream.flush()


def _normalise_clients(clients: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if isinstance(clients, Mapping):
        for cid, folder in clients.items():
            items.append((str(cid), "" if folder in (None, "") else str(Path(folder).resolve())))
    elif isinstance(clients, str | os.PathLike):
        raise TypeError("clients must be a list of client ids or folders, or a mapping id -> "
                        "folder; wrap a single client in a list")
    else:
        for item in clients:
            if isinstance(item, os.PathLike):
                path = Path(item)
                items.append((path.name, str(path.resolve())))
            else:
                items.append((str(item), ""))
    seen: set[str] = set()
    unique = []
    for cid, folder in items:
        if cid not in seen:
            seen.add(cid)
            unique.append((cid, folder))
    return unique


def notebook_parameters(notebook: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The report notebook's parameters: name -> papermill's inferred type and default."""
    import papermill

    return papermill.inspect_notebook(str(notebook or REPORT_NOTEBOOK))


def run_reports(
    clients: Mapping[str, str | os.PathLike[str] | None] | Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str],
    workers: int = 2,
    parameters: Mapping[str, Any] | None = None,
    progress: bool | IO[str] = True,
    notebook: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    executor: Literal["thread", "process"] = "thread",
    kernel_name: str = "python3",
    kernels: Literal["warm", "fresh"] = "warm",
) -> list[ReportResult]:
    """Generate one HTML report per client, in parallel, and an index page.

    Each client's report is the report notebook executed by papermill (one kernel per
    report) with ``client_id`` and ``data_dir`` set for the client and ``parameters`` for
    all. In ``out_dir`` each client gets ``<name>.html`` (the report, or an error page
    saying which step failed and why) and ``<name>.ipynb`` (the executed notebook), where
    ``name`` is :func:`safe_name` of the client id, so no id can write outside
    ``out_dir``; a notebook with a ``customer_list`` parameter (the report notebook has
    one) is given ``<name>.customers.csv`` there, and writes the client's customer list
    (CSV, Parquet when pyarrow is installed, and a ``.txt`` on its columns).
    ``index.html`` links every report with its headline KPIs and status (see
    :func:`write_index`), ``index.json`` has the same for programs. A failing client
    never stops the others.

    Parameters
    ----------
    clients : mapping or iterable
        A mapping client id -> data folder (None or "" for the bundled demo client of that
        id, e.g. from :func:`discover_clients`), or an iterable of client ids (str: demo
        clients) and data folders (:class:`pathlib.Path`: the folder's name is the id).
    out_dir : path
        Output folder (created).
    workers : int, default 2
        Reports run at the same time (each in its own kernel).
    parameters : mapping, optional
        Notebook parameters for every client (``period``, ``margin``, ``fast``...). An
        unknown name raises; ``client_id`` and ``data_dir`` are set per client.
    progress : bool or text stream, default True
        Print a progress line per finished report to stderr (or to the given stream).
    notebook : path, optional
        The report notebook for every client; by default each client gets
        :func:`report_notebook_for` its data (the subscription report for a folder with
        ``subscriptions.csv``, the shop report otherwise).
    timeout : float or None, default 600
        Seconds a single cell may run.
    executor : {"thread", "process"}, default "thread"
        What drives the parallel papermill runs: threads of this process, or worker
        processes (started with "spawn"; a script calling this needs an
        ``if __name__ == "__main__":`` guard). The work happens in the kernels either way;
        ``benchmarks/bench_reports.py`` measured both at 3.2-4.5 s per report with 2
        workers on a shared 2-core machine, within each other's noise, and threads start
        no extra Python processes.
    kernel_name : str, default "python3"
    kernels : {"warm", "fresh"}, default "warm"
        "fresh": every report starts a kernel from scratch (about 7 s of CPU, mostly
        imports). "warm": a template process per batch (per worker process with
        ``executor="process"``) makes those imports once and is forked into a new kernel
        for each report (see :mod:`retention_kit.reports.warm`): each report still runs
        in a process of its own, from the same clean state, and gives the same notebook.
        Kernels other than this interpreter's ipykernel, and platforms without
        ``os.pidfd_open``, start fresh. Either way a report whose kernel dies or whose
        cell times out is retried once in a fresh kernel (``ReportResult.attempts``).

    Returns
    -------
    list of ReportResult
        In the order of ``clients``.

    Raises
    ------
    ValueError
        Unknown parameter names, ``client_id``/``data_dir`` in ``parameters``, bad
        ``workers`` or ``executor``.
    FileNotFoundError
        The report notebook is missing.
    """
    check_choice("executor", executor, ["thread", "process"])
    check_choice("kernels", kernels, ["warm", "fresh"])
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, got {workers!r}")
    nb_path = Path(notebook) if notebook is not None else None
    for path in [nb_path] if nb_path is not None else [REPORT_NOTEBOOK, SUBSCRIPTION_NOTEBOOK]:
        if not path.is_file():
            raise FileNotFoundError(f"report notebook not found: {path} (pass notebook=, or "
                                    "reinstall retention_kit: the wheel ships it)")
    params = dict(parameters or {})
    fixed = sorted(set(PER_CLIENT_PARAMETERS) & set(params))
    if fixed:
        raise ValueError(f"parameter {fixed[0]!r} is set per client; pass the clients instead")
    known = notebook_parameters(nb_path or REPORT_NOTEBOOK)
    for key in params:
        check_choice("name", key, [k for k in known if k not in PER_CLIENT_PARAMETERS])
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    jobs = _plan_jobs(_normalise_clients(clients), out, nb_path, params, timeout=timeout,
                      kernel_name=kernel_name, kernels=kernels)
    stream = (sys.stderr if progress is True else None) if isinstance(progress, bool) else progress
    bar = _Progress(len(jobs), stream)
    if stream is not None:
        stream.write(f"Generating {len(jobs)} report(s) with {min(workers, len(jobs))} "
                     f"worker(s) into {out}\n")
        stream.flush()
    _CANCEL.clear()
    results: dict[str, ReportResult] = {}
    try:
        if kernels == "warm" and _forkable(kernel_name) and \
                (executor == "thread" or workers == 1 or len(jobs) <= 1):
            _shared_template()  # starts importing now; the first reports wait for it
        _run_jobs(jobs, out, workers=workers, executor=executor, bar=bar, results=results)
    except KeyboardInterrupt:
        _CANCEL.set()
        _stop_all_kernels()
        ordered = [results.get(job.name) or _cancelled(job, _inside(out, job.name, ".html"))
                   for job in jobs]
        raise ReportsCancelled(ordered, write_index(ordered, out)) from None
    finally:
        _close_template()
        _CANCEL.clear()
    ordered = [results[job.name] for job in jobs]
    write_index(ordered, out)
    return ordered


def _plan_jobs(items: list[tuple[str, str]], out: Path, nb_path: Path | None,
               params: dict[str, Any], *, timeout: float | None, kernel_name: str,
               kernels: str = "warm") -> list[_Job]:
    """One job per client, each with a unique safe file name inside ``out`` (and, for a
    notebook with a ``customer_list`` parameter, its customer list's path beside it)."""
    names: set[str] = set()
    declares: dict[Path, bool] = {}
    jobs = []
    for cid, folder in items:
        name = safe_name(cid)
        base, i = name, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.add(name)
        _inside(out, name, ".html")
        notebook = nb_path if nb_path is not None else report_notebook_for(folder, cid)
        per_client = {"client_id": cid, "data_dir": folder}
        if notebook not in declares:
            declares[notebook] = "customer_list" in notebook_parameters(notebook)
        if declares[notebook]:
            per_client["customer_list"] = str(_inside(out, name, ".customers.csv"))
        jobs.append(_Job(client_id=cid, name=name, notebook=str(notebook.resolve()),
                         out_dir=str(out), parameters={**params, **per_client},
                         timeout=timeout, kernel_name=kernel_name,
                         display_name=_display_name(folder, cid), kernels=kernels))
    return jobs


def _run_jobs(jobs: list[_Job], out: Path, *, workers: int, executor: str,
              bar: _Progress, results: dict[str, ReportResult]) -> None:
    """Run the jobs one after the other, or in a thread or process pool, into ``results``.

    On Ctrl-C (KeyboardInterrupt in the driver) queued jobs are cancelled and running
    kernels killed; the jobs that were running end as "cancelled" within seconds, and the
    interrupt is re-raised once they have.
    """
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            results[job.name] = _execute(job)
            bar.update(results[job.name])
        return
    if executor == "thread":
        pool: Any = ThreadPoolExecutor(max_workers=workers)
    else:
        import multiprocessing

        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                   mp_context=multiprocessing.get_context("spawn"))
    with pool:
        futures = {pool.submit(_execute, job): job for job in jobs}
        try:
            _collect(futures, out, bar, results, as_completed)
        except KeyboardInterrupt:
            _CANCEL.set()
            for future in futures:
                future.cancel()
            _stop_all_kernels()
            with contextlib.suppress(KeyboardInterrupt):
                _collect({f: j for f, j in futures.items() if not f.cancelled()}, out, bar,
                         results, as_completed)
            raise


def _collect(futures: dict[Any, _Job], out: Path, bar: _Progress,
             results: dict[str, ReportResult], as_completed: Callable[..., Any]) -> None:
    """Results of the futures as they finish; a dead worker fails only its client."""
    for future in as_completed(futures):
        job = futures[future]
        try:
            res = future.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker fails one client
            res = ReportResult(client_id=job.client_id, name=job.name, status="failed",
                               html=_inside(out, job.name, ".html"), notebook=None,
                               seconds=0.0, error_type=type(exc).__name__,
                               error=str(exc), failed_step="running the worker",
                               display_name=job.display_name)
            _write_error_page(res)
        results[job.name] = res
        bar.update(res)
