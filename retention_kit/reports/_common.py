"""Shared constants and formatting helpers of the report modules (package-internal).

Money, percentages and points for report text, HTML escaping, and the small HTML table
every report table goes through. Nothing here knows about clients or models.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..units import format_money as format_money  # the report modules take it from here

#: MIME type under which the report notebook publishes its headline KPIs (JSON); the
#: batch reads it back from the executed notebook for the index page.
KPI_MIME = "application/vnd.retention-kit.kpis+json"
#: MIME type of the data-quality report (JSON); the batch writes it next to the report.
QUALITY_MIME = "application/vnd.retention-kit.quality+json"

#: The words a reader sees for a forecast's verdict (see :func:`~.sections.trust_view`).
VERDICT_WORDS = {"ok": "trusted", "caution": "use with care", "unreliable": "not supported"}

#: The segments whose customers have gone quiet but held value: the report recommends
#: acting on them (the one holding the most past spend first, in "What to do next").
AT_RISK_SEGMENTS = ("Can't Lose Them", "At Risk", "About to Sleep", "Need Attention")

#: Report periods: pandas frequency, its name, and its length in months.
PERIODS: dict[str, tuple[str, float]] = {"W": ("week", 12 / 52), "M": ("month", 1.0),
                                         "Q": ("quarter", 3.0)}


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage for report text ("n/a" when missing or not finite).

    Examples
    --------
    >>> percent(0.1234), percent(0.5, 0), percent(None), percent(float("nan"))
    ('12.3%', '50%', 'n/a', 'n/a')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def points(delta: float | None) -> str:
    """A change of a rate in percentage points, with its sign ("n/a" when missing).

    Examples
    --------
    A change that rounds to zero is "no change", never "-0.0 pts".

    >>> points(0.05), points(-0.012), points(None), points(-0.0004)
    ('+5.0 pts', '-1.2 pts', 'n/a', 'no change')
    """
    if delta is None or not math.isfinite(float(delta)):
        return "n/a"
    if round(100 * float(delta), 1) == 0:
        return "no change"
    return f"{100 * float(delta):+.1f} pts"


def escape(value: object) -> str:
    """``str(value)`` escaped for HTML text and attribute values (quotes included).

    Examples
    --------
    >>> escape('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


class HTMLText(str):
    """A string Jupyter displays as HTML (the last expression of a cell)."""

    def _repr_html_(self) -> str:
        return str(self)


def table_html(rows: Sequence[Sequence[object]], header: Sequence[str], *,
                table_id: str | None = None, css: str = "rk-table",
                caption: str | None = None) -> HTMLText:
    """An escaped HTML table (cells are text; nothing in them is interpreted)."""
    tid = f' id="{escape(table_id)}"' if table_id else ""
    out = [f'<table class="{escape(css)}"{tid}>']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return HTMLText("".join(out))


def _umask() -> int:
    """The process's umask, read without setting it (``os.umask`` can only be read by
    changing it, which would race with the batch's threads): Linux's ``/proc/self/status``,
    else the common ``0o022``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through a temporary file
    renamed over it.

    A reader never sees half a file, and a symbolic link at ``path`` is replaced, never
    followed (its target is left alone). The file gets the permissions ``open()`` would give
    it (``0o666`` less the process's umask), not the owner-only ones of a temporary file, so
    a shared reports folder stays readable by the people it is shared with.
    """
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KpiTable:
    """Display of a headline-numbers result (mixin): :meth:`to_html` and the notebook bundle
    from the subclass's ``rows()`` (measure, value, change, definition), ``previous_period``
    and ``to_dict()``; the bundle carries :data:`KPI_MIME` for the batch's index."""

    def to_html(self) -> str:
        """The KPI table (``<table id="kpi-table">``)."""
        return table_html(self.rows(), ["Measure", "Value",  # type: ignore[attr-defined]
                                         f"Change vs {self.previous_period}",  # type: ignore[attr-defined]
                                         "Definition"], table_id="kpi-table",
                          css="rk-table rk-kpis")

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        rows = self.rows()  # type: ignore[attr-defined]
        text = "\n".join(f"{m}: {v} {c}".rstrip() for m, v, c, _ in rows)
        return {"text/html": self.to_html(), "text/plain": text,
                KPI_MIME: self.to_dict()}  # type: ignore[attr-defined]
