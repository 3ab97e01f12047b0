"""HTML: report tables and lists for the notebook, and the notebook as an offline page.

nbconvert is imported inside :func:`notebook_to_html` only, so importing this stays light.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd

from ._common import HTMLText, escape, format_money, percent, table_html
from .client import ClientData
from .settings import ReportSettings


def format_table(table: pd.DataFrame, *, currency: str = "", table_id: str | None = None,
                 money: Sequence[str] = (), percents: Sequence[str] = (),
                 counts: Sequence[str] = (), labels: Mapping[str, str] | None = None,
                 ) -> HTMLText:
    """A report table as escaped HTML, numbers formatted by column name.

    ``share_*``, ``*_rate``, ``mean_alive`` and ``gain_pct`` become percentages,
    ``customers`` whole numbers, ``clv*``, ``*_clv``, ``gain`` and ``total_gain`` money;
    the columns named in ``money``, ``percents`` and ``counts`` likewise, and ``labels``
    renames headers (the index's name included); ``table.attrs["caption"]``, when set,
    becomes the table's caption (e.g. why a table is empty).

    Examples
    --------
    >>> t = pd.DataFrame({"customers": [1200], "share_value": [0.4567], "mean_clv": [81.5]},
    ...                  index=pd.Index(["top 1%"], name="clv_tier"))
    >>> page = format_table(t, currency="EUR")
    >>> page[page.index("<tbody>"):]
    '<tbody><tr><td>top 1%</td><td>1,200</td><td>45.7%</td><td>€81.50</td></tr></tbody></table>'
    """
    labels = {"clv_tier": "CLV tier", "segment": "Segment", "reduction": "Churn cut",
              "customers": "Customers", "share_customers": "Share of customers",
              "share_spend": "Share of past spend", "share_clv": "Share of forecast value",
              "share_value": "Share of value", "clv_total": "Forecast value",
              "clv_total_low": "Forecast value, low (90%)",
              "clv_total_high": "Forecast value, high (90%)",
              "mean_clv": "Mean CLV", "min_clv": "Lowest CLV",
              "cum_share_value": "Cumulative share of value", "mean_alive": "Mean P(alive)",
              "strategy": "Strategy", "action": "Recommended action",
              "retention_rate": "Retention rate", "churn_rate": "Churn rate",
              "clv": "Value per customer", "gain": "Gain per customer",
              "gain_pct": "Gain (%)", "total_gain": "Gain, all active customers",
              **(labels or {})}

    def cell(col: str, value: object) -> str:
        if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
                value, bool):
            return str(value)
        if not math.isfinite(float(value)):
            return "n/a"
        if col.startswith("share_") or col.endswith("_rate") or col in (
                "mean_alive", "gain_pct", "cum_share_value") or col in percents:
            return percent(float(value))
        if col == "customers" or col in counts:
            return f"{int(round(float(value))):,}"
        if col in ("clv", "gain", "total_gain") or col.endswith("_clv") or col.startswith(
                "clv_") or col in money:
            return format_money(float(value), currency)
        if col == "reduction":
            return f"-{100 * float(value):.1f} pts" if float(value) > 0 else "none"
        return str(value)

    index_name = str(table.index.name or "")
    header = [labels.get(index_name, index_name)] + [labels.get(str(c), str(c))
                                                     for c in table.columns]
    rows = [[cell(index_name, idx)] + [cell(str(c), v) for c, v in zip(table.columns, row,
                                                                      strict=True)]
            for idx, row in zip(table.index, table.itertuples(index=False), strict=True)]
    return table_html(rows, header, table_id=table_id, caption=table.attrs.get("caption"))


def html_list(items: Iterable[str], *, ordered: bool = False, css: str = "rk-list") -> HTMLText:
    """Report text items as an escaped HTML list (displayed as HTML in a notebook).

    Examples
    --------
    >>> print(html_list(["a < b", "c"], ordered=True))
    <ol class="rk-list"><li>a &lt; b</li><li>c</li></ol>
    """
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{escape(item)}</li>" for item in items)
    return HTMLText(f'<{tag} class="{escape(css)}">{body}</{tag}>')


def tier_view(tiers: pd.DataFrame | None, withheld: Iterable[str], *,
              currency: str = "") -> HTMLText:
    """The forecast-by-tier table, or, when the forecast is not supported by the data
    (``tiers`` is None), the sentences saying why no value is shown.

    Examples
    --------
    >>> tier_view(None, ["No value per customer is shown: too little data."])
    '<ul class="rk-caveats"><li>No value per customer is shown: too little data.</li></ul>'
    """
    if tiers is None:
        return html_list(withheld, css="rk-caveats")
    shown = tiers.drop(columns=[c for c in ("cum_share_customers", "cum_share_value", "min_clv")
                                if c in tiers.columns])
    return format_table(shown, currency=currency, table_id="tier-table")


def report_header(client: ClientData, settings: ReportSettings, *,
                  one_unit: bool = False) -> HTMLText:
    """The report's title block: client name, business, data window, main settings.

    ``one_unit=True`` states the report's time unit once for every rate, cohort and trend
    (the shop report, whose sections all use ``settings.period``).
    """
    kind = ("subscription business (churn is observed)" if client.contractual
            else "shop without subscriptions (churn is inferred)")
    desc = str(client.info.get("description") or "")
    tx = client.transactions
    name = settings.period_name
    unit = (f"Time unit: {name} (every rate, cohort and trend below is per {name})"
            + ("" if name == "month" else "; customer lifetimes are in months")
            if one_unit else f"Rates per {name}")
    facts = (f"Data from {tx['date'].min().date()} to {client.observation_end.date()}, "
             f"{tx['customer_id'].nunique():,} customers. {unit}; "
             f"forecasts over {settings.forecast_months} months at a {settings.margin:.0%} "
             f"gross margin.")
    return HTMLText(f'<h2 class="rk-client">{escape(client.display_name)}</h2>'
                 f"<p><strong>{escape(kind[:1].upper() + kind[1:])}</strong>"
                 f"{'. ' + escape(desc) if desc else ''}</p><p>{escape(facts)}</p>")


class _ResourceFinder(HTMLParser):
    _LOADING = {"src", "srcset", "poster", "data", "background", "formaction", "action"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    @staticmethod
    def _remote(url: str) -> bool:
        u = url.strip().lower()
        return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", u)) and not u.startswith("file:")

    def _css(self, text: str) -> None:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            if self._remote(url):
                self.urls.append(url.strip())
        for url in re.findall(r"@import\s+['\"]([^'\"]+)", text):  # url(...) is above
            if self._remote(url):
                self.urls.append(url.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for key, value in attrs:
            if value is None:
                continue
            if key in self._LOADING or (key == "href" and tag not in ("a", "area")):
                candidates = value.split(",") if key == "srcset" else [value]
                for item in candidates:
                    url = item.strip().split(" ")[0]
                    if self._remote(url):
                        self.urls.append(url)
            elif key == "style":
                self._css(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)


def external_resources(page: str) -> list[str]:
    """URLs a page would fetch from another machine (scripts, styles, images, fonts...).

    Looks at every loading attribute (``src``, ``srcset``, ``href`` of anything but a
    link, ``poster``, ``data``, ``action``...) and at CSS ``url()`` and ``@import`` in
    ``<style>`` blocks and ``style`` attributes. ``http:``, ``https:`` and
    protocol-relative (``//host``) URLs count; ``data:`` and relative URLs do not, nor do
    plain links (``<a href>``), which load nothing until clicked.

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/x.js"></script>'
    ...                    '<img src="data:image/png;base64,AAAA"><a href="https://a.b">a</a>'
    ...                    '<style>@font-face {src: url(//fonts.example/f.woff)}</style>')
    ['https://cdn.example/x.js', '//fonts.example/f.woff']
    """
    finder = _ResourceFinder()
    finder.feed(page)
    finder.close()
    return finder.urls


#: "Save as PDF" from a browser: A4 pages with sensible margins, no figure, table row or
#: list item cut across two pages, headings kept with what follows, no shadows or
#: screen-only widths; links print as text. Report tables print at 9 pt (12 px) with
#: narrower cell padding so that the widest (nine columns) fit the printable width of A4
#: instead of being cut at its right edge.
_PRINT_CSS = """
@media print {
  @page { size: A4; margin: 14mm 12mm 16mm; }
  html, body { background: #fff !important; }
  body, body.jp-Notebook { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  * { box-shadow: none !important; text-shadow: none !important; }
  img, svg, figure, table, tr, li, pre, .jp-RenderedImage, .rk-verdict {
    break-inside: avoid; page-break-inside: avoid; }
  img { max-width: 100% !important; max-height: 245mm; height: auto; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  .jp-Cell, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output {
    overflow: visible !important; }
  .jp-RenderedHTMLCommon table.rk-table { font-size: 9pt; }
  .jp-RenderedHTMLCommon table.rk-table th, .jp-RenderedHTMLCommon table.rk-table td {
    padding: 0.2rem 0.4rem; }
}
"""

_REPORT_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
.jp-RenderedHTMLCommon table.rk-table { border-collapse: collapse; margin: 0.6rem 0 1rem;
  font-size: 0.95em; table-layout: auto; }
.jp-RenderedHTMLCommon table.rk-table th, .jp-RenderedHTMLCommon table.rk-table td {
  border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.7rem; text-align: left;
  vertical-align: top; max-width: 32rem; }
.jp-RenderedHTMLCommon table.rk-table th { background: #f3f5f7; }
.jp-RenderedHTMLCommon table.rk-kpis td:nth-child(2) { font-weight: 600; white-space: nowrap; }
.rk-next li, .rk-caveats li { margin-bottom: 0.4rem; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
ul.rk-summary li { margin-bottom: 0.45rem; }
""" + _PRINT_CSS

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">""" + _REPORT_CSS + """</style>
{%- endblock extra_css -%}
"""

_LOCAL = threading.local()


def _exporter() -> Any:
    """One HTMLExporter per thread: the lab template without its CDN scripts."""
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="lab", extra_loaders=[DictLoader({"rk_report.html.j2": _TEMPLATE})],
            template_file="rk_report.html.j2", exclude_input=True, exclude_input_prompt=True,
            exclude_output_prompt=True, embed_images=True)
        _LOCAL.exporter = exporter
    return exporter


def notebook_to_html(nb: Any, *, title: str | None = None) -> str:
    """An executed report notebook as one self-contained, offline HTML page.

    nbconvert's lab template with the code cells' input hidden (``exclude_input``),
    images embedded as ``data:`` URIs, and require.js, MathJax, mermaid and the widget
    manager (which the stock template loads from CDNs) left out. The kernel's stderr
    (warnings) is dropped from the page; it stays in the executed notebook.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    title : str, optional
        The page's ``<title>``.

    Returns
    -------
    str

    Raises
    ------
    RuntimeError
        If the page would still load anything from another machine (a bug guard; see
        :func:`external_resources`).
    """
    import copy

    page_nb = copy.deepcopy(nb)
    for cell in page_nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream"
                                       and o.get("name") == "stderr")]
    if title:
        page_nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(page_nb)
    remote = external_resources(body)
    if remote:
        raise RuntimeError(f"the report would load {len(remote)} external resource(s), "
                           f"first {remote[0]!r}; it must open offline")
    return body


def standalone_page(title: str, body: str) -> str:
    """A complete, offline HTML page (inline CSS) around ``body``; ``title`` is escaped.

    Used by the batch's index and error pages. ``body`` is inserted as is: escape what
    it quotes.
    """
    css = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  max-width: 1200px; margin: 0 auto; padding: 1.5rem 2rem; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.4rem 0.7rem; text-align: left; }
th { background: #f3f5f7; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; font-size: 0.85em; }
code { background: #f6f8fa; padding: 0 0.2rem; }
""" + _PRINT_CSS
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n"
            f"</body>\n</html>\n")
