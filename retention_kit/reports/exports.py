"""Customer lists: every customer of a report, to export to a CRM, and the ones to act on first.

:func:`customer_list` puts together, per customer, what the report says about her: RFM
segment and its recommended action, past purchases, and (as the forecast's verdict
allows) P(alive), expected purchases, CLV with its 90% interval and CLV tier.
:func:`export_customers` writes it next to the report (CSV; Parquet when pyarrow is
importable; a text file saying what each column means) and shows the link and the top
customers of the segments the report recommends acting on (:func:`act_on_segments`).

The list is computed from the same objects as the report's tables, so its numbers
reconcile with them: one row per customer of the headline count, the segment counts of
the segment table, and the CLV totals per tier of the tier table.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import data_error
from ._common import (
    AT_RISK_SEGMENTS,
    VERDICT_WORDS,
    HTMLText,
    escape,
    format_money,
    percent,
    table_html,
    write_atomic,
)
from .client import ClientData
from .sections import ClvForecast

#: MIME type under which the report notebook publishes what it exported (JSON: file names
#: relative to the report, rows, how CLV is given); the batch reads it for the index.
CUSTOMERS_MIME = "application/vnd.retention-kit.customers+json"

#: Columns of :func:`customer_list`, in order; the forecast's columns appear only when the
#: forecast gives them and its verdict allows (see :func:`customer_list`).
CUSTOMER_COLUMNS = ("segment", "clv_tier", "clv", "clv_lower", "clv_upper", "p_alive",
                    "expected_purchases", "purchases", "spend", "last_purchase", "action")
#: Decimals each number is written with (CSV and Parquet alike).
_DECIMALS = {"clv": 2, "clv_lower": 2, "clv_upper": 2, "spend": 2, "p_alive": 4,
             "expected_purchases": 3}


def customer_list(client: ClientData, forecast: ClvForecast, segment_view: pd.DataFrame, *,
                  tiers: Sequence[float] = (0.01, 0.05, 0.2)) -> pd.DataFrame:
    """Every customer of the report with her segment, action, forecast and tier.

    * ``segment``: :func:`retention_kit.segments.rfm_segments` on the segmentation summary
      (the assignment behind ``segment_view``); ``action``: that segment's recommended
      action in ``segment_view``;
    * ``purchases`` (purchase days), ``spend`` (past spend) and ``last_purchase`` (date)
      from :attr:`ClientData.segmentation_summary`;
    * unless the forecast's verdict is ``unreliable``: ``p_alive`` (``forecast.alive``),
      ``expected_purchases`` over the forecast horizon (transaction models only:
      ``model.expected_purchases(btyd_summary, t)`` with t the horizon in the summary's
      time unit), ``clv``, ``clv_lower``/``clv_upper`` (the 90% interval, when the forecast
      has one, under ``caution``) and ``clv_tier``
      (:func:`retention_kit.segments.clv_tiers` over the customers with a positive CLV,
      as :func:`~retention_kit.reports.tier_table` does; empty for a CLV of 0, such as
      a lost subscriber). Under ``unreliable`` these columns are left out:
      ``attrs["withheld"]`` says why (:meth:`ClvForecast.withheld`). A customer the
      forecast does not cover (purchases but no subscription) has them empty, counted in
      ``attrs["no_forecast"]`` and said in the list's text file.

    Rows are sorted by CLV, highest first (by past spend when CLV is withheld), then by
    customer id.

    Parameters
    ----------
    client : ClientData
    forecast : ClvForecast
        The report's forecast (:func:`~retention_kit.reports.forecast_clv`).
    segment_view : DataFrame
        The report's segment table (:func:`~retention_kit.reports.segment_table`); its
        customer counts must be those of the client's segments.
    tiers : sequence of float
        The tier cut-offs of the report's tier table.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, the columns of :data:`CUSTOMER_COLUMNS` that apply;
        ``attrs``: ``verdict``, ``clv`` ("exact", "ranges" or "withheld"),
        ``horizon_months``, ``method``, ``withheld``, ``no_forecast``, ``client``,
        ``data_start``, ``data_end``, ``contractual``, ``sorted_by``.

    Raises
    ------
    ValueError
        ``segment_view``'s counts differ from the client's segments (a table of other
        data).

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import forecast_clv, load_client, segment_table
    >>> shop = load_client(data_dir() / "demo" / "retailer")
    >>> forecast = forecast_clv(shop)
    >>> table = customer_list(shop, forecast, segment_table(shop, forecast))
    >>> len(table), table.attrs["clv"], list(table.columns)
    (4000, 'exact', ['segment', 'clv_tier', 'clv', 'p_alive', 'expected_purchases', \
'purchases', 'spend', 'last_purchase', 'action'])
    >>> bool(table["clv"].is_monotonic_decreasing), round(float(table["clv"].sum()), 2) == \
round(float(forecast.clv.sum()), 2)
    (True, True)
    """
    from ..segments import clv_tiers, rfm_segments

    summary = client.segmentation_summary
    segmented = rfm_segments(summary, warn=False)
    counts = segmented["segment"].astype(str).value_counts()
    expected = segment_view["customers"]
    mismatch = [s for s in expected.index if int(counts.get(s, 0)) != int(expected[s])]
    if mismatch or int(expected.sum()) != len(summary):
        first = mismatch[0] if mismatch else "all"
        raise ValueError(f"segment_view does not describe this client's customers (segment "
                         f"{first!r}: {int(expected.get(first, expected.sum()))} in the table, "
                         f"{int(counts.get(first, len(summary)))} in the data); pass the "
                         "report's segment_table(client, forecast)")
    out = pd.DataFrame(index=summary.index.copy())
    out["segment"] = segmented["segment"].astype(str)
    withheld = forecast.verdict == "unreliable"
    if not withheld:
        clv = forecast.clv.reindex(out.index)
        valued = clv.loc[clv > 0]
        out["clv_tier"] = pd.Series(pd.NA, index=out.index, dtype="object")
        if not valued.empty:
            out.loc[valued.index, "clv_tier"] = clv_tiers(valued, tiers=tiers).astype(str)
        out["clv"] = clv
        if forecast.clv_lower is not None and forecast.clv_upper is not None:
            out["clv_lower"] = forecast.clv_lower.reindex(out.index)
            out["clv_upper"] = forecast.clv_upper.reindex(out.index)
        out["p_alive"] = forecast.alive.reindex(out.index)
        expected_purchases = _expected_purchases(client, forecast)
        if expected_purchases is not None:
            out["expected_purchases"] = expected_purchases.reindex(out.index)
    out["purchases"] = summary["purchases"].astype("int64")
    out["spend"] = summary["total_spend"].astype(float)
    out["last_purchase"] = (client.observation_end.normalize()
                            - pd.to_timedelta(summary["since_last"], unit="D")).dt.date
    actions = segment_view["action"] if "action" in segment_view.columns else pd.Series(
        dtype=object)
    out["action"] = out["segment"].map(actions).fillna("")
    key = "spend" if withheld else "clv"
    out = (out.rename_axis("customer_id").reset_index()
           .sort_values([key, "customer_id"], ascending=[False, True], kind="mergesort")
           .set_index("customer_id"))
    out.attrs.update(
        kind="customer_list", verdict=forecast.verdict,
        clv="withheld" if withheld else ("ranges" if "clv_lower" in out.columns else "exact"),
        horizon_months=int(forecast.horizon_months), method=str(forecast.method),
        withheld=forecast.withheld() if withheld else [], client=client.display_name,
        no_forecast=0 if withheld else int(out["clv"].isna().sum()),
        data_start=str(client.transactions["date"].min().date()),
        data_end=str(client.observation_end.date()), contractual=client.contractual,
        sorted_by=key)
    return out


def _expected_purchases(client: ClientData, forecast: ClvForecast) -> pd.Series | None:
    """Expected purchases over the horizon, from a transaction model (None for others)."""
    from ..clv import unit_length

    model = forecast.model
    if forecast.spend_model is None or not hasattr(model, "expected_purchases"):
        return None
    summary = client.btyd_summary
    unit = str(summary.attrs.get("time_unit") or "W")
    t = forecast.horizon_months * unit_length("M", in_unit=unit)
    return model.expected_purchases(summary, t).rename("expected_purchases")


def act_on_segments(segment_view: pd.DataFrame) -> list[str]:
    """The segments the report recommends acting on, the one holding most past spend first.

    The at-risk segments (:data:`~retention_kit.reports._common.AT_RISK_SEGMENTS`: "Can't
    Lose Them", "At Risk", "About to Sleep", "Need Attention") that have customers;
    "What to do next" names the first one.

    Examples
    --------
    >>> view = pd.DataFrame({"customers": [10, 5, 0, 8], "share_spend": [0.5, 0.1, 0.0, 0.2]},
    ...                     index=["Champions", "At Risk", "About to Sleep", "Can't Lose Them"])
    >>> act_on_segments(view)
    ["Can't Lose Them", 'At Risk']
    """
    risky = segment_view.loc[[s for s in AT_RISK_SEGMENTS if s in segment_view.index]]
    risky = risky.loc[risky["customers"] > 0]
    if "share_spend" in risky.columns:
        risky = risky.sort_values("share_spend", ascending=False, kind="mergesort")
    return [str(s) for s in risky.index]


def top_customers(customers: pd.DataFrame, segments: Sequence[str], *, n: int = 10,
                  ) -> pd.DataFrame:
    """The ``n`` most valuable customers of ``segments``: highest CLV first, or highest
    past spend when no customer of theirs has a forecast value (CLV withheld, or all of
    them lost subscribers worth 0). ``attrs["ranked_by"]`` says which ("clv" or "spend").

    Examples
    --------
    >>> table = pd.DataFrame({"segment": ["Champions", "At Risk", "At Risk", "New"],
    ...                       "clv": [90.0, 50.0, 0.0, 10.0], "spend": [5.0, 1.0, 9.0, 2.0]},
    ...                      index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    >>> list(top_customers(table, ["At Risk", "New"], n=2).index)
    ['b', 'd']
    >>> top = top_customers(table.drop(columns="clv"), ["At Risk", "New"], n=2)
    >>> list(top.index), top.attrs["ranked_by"]
    (['c', 'd'], 'spend')
    """
    chosen = customers.loc[customers["segment"].isin(list(segments))]
    by = "clv" if "clv" in chosen.columns and bool((chosen["clv"] > 0).any()) else "spend"
    if by == "clv":
        chosen = chosen.loc[chosen["clv"] > 0]
    name = chosen.index.name or "index"
    top = (chosen.rename_axis(name).reset_index()
           .sort_values([by, name], ascending=[False, True], kind="mergesort")
           .set_index(name).head(n))
    top.attrs = {"ranked_by": by}
    return top


def _parquet_engine() -> str | None:
    """"pyarrow" when it can be imported, else None."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    return "pyarrow"


def _rounded(customers: pd.DataFrame) -> pd.DataFrame:
    out = customers.copy()
    for col, decimals in _DECIMALS.items():
        if col in out.columns:
            out[col] = out[col].astype(float).round(decimals)
    out["last_purchase"] = pd.to_datetime(out["last_purchase"]).dt.strftime("%Y-%m-%d")
    return out


_DESCRIPTIONS = {
    "customer_id": "the customer's id in the client's data",
    "segment": "RFM segment (recency, frequency, monetary scores 1-5; see the report's "
               "segment table)",
    "clv_tier": "CLV tier (top 1%, top 1-5%, top 5-20%, bottom 80%, as in the report's tier "
                "table); empty for a forecast value of 0 (a lost subscriber), which the tier "
                "table leaves out",
    "clv": "forecast value: expected gross margin over the next {h} months, discounted, in "
           "{cur}",
    "clv_lower": "low end of the 90% interval of clv (uncertainty of the model's parameters)",
    "clv_upper": "high end of that interval",
    "p_alive": "probability that the customer is still a customer (subscriptions: that she "
               "still pays at the end of the {h} months)",
    "expected_purchases": "purchases (purchase days) the model expects over the next {h} "
                          "months, not discounted",
    "purchases": "purchase days so far (a customer's transactions on one day are one order)",
    "spend": "past spend in {cur}",
    "last_purchase": "date of the last purchase",
    "action": "the segment's recommended action (test it against a control group)",
}


def customer_list_readme(customers: pd.DataFrame, *, currency: str = "",
                         parquet_note: str = "") -> str:
    """The text file written next to a customer list: what it holds and what each column
    means, the forecast's verdict and, when CLV is withheld, why.

    Examples
    --------
    >>> table = pd.DataFrame({"segment": ["At Risk"], "purchases": [2], "spend": [40.0],
    ...                       "last_purchase": ["2024-01-02"], "action": ["Win back"]},
    ...                      index=pd.Index(["c1"], name="customer_id"))
    >>> table.attrs.update(verdict="unreliable", clv="withheld", horizon_months=12,
    ...                    withheld=["No value per customer is shown: too little data."],
    ...                    client="Shop", data_start="2024-01-01", data_end="2024-06-30")
    >>> text = customer_list_readme(table, currency="EUR")
    >>> print(text.splitlines()[0])
    Customer list of Shop: 1 customers, data from 2024-01-01 to 2024-06-30.
    >>> "No P(alive), expected purchases, CLV or tier:" in text
    True
    """
    a = customers.attrs
    h = a.get("horizon_months", "?")
    cur = currency or "the client's currency"
    verdict = str(a.get("verdict", ""))
    lines = [f"Customer list of {a.get('client', '')}: {len(customers):,} customers, data from "
             f"{a.get('data_start', '?')} to {a.get('data_end', '?')}.",
             "One row per customer of the report's summary, "
             + ("highest past spend first." if a.get("sorted_by") == "spend"
                else "highest forecast value first."),
             f"Forecast verdict: {VERDICT_WORDS.get(verdict, verdict)} ({verdict}).", ""]
    if a.get("clv") == "withheld":
        lines.append("No P(alive), expected purchases, CLV or tier: the data cannot support "
                     "values per customer, as the report says:")
        lines += [f"  {w}" for w in a.get("withheld", [])]
        lines.append("")
    elif a.get("clv") == "ranges":
        lines += ["Use with care: read each clv within its 90% range (clv_lower to "
                  "clv_upper), not as an exact number.", ""]
    if a.get("no_forecast"):
        lines += [f"Customers without a forecast: {int(a['no_forecast']):,} (the model does "
                  "not cover them, e.g. purchases without a subscription); their forecast "
                  "columns are empty.", ""]
    if a.get("method"):
        lines += [f"Method: {a['method']}.", ""]
    lines.append("Columns:")
    for col in ["customer_id", *customers.columns]:
        text = _DESCRIPTIONS.get(col, "")
        lines.append(f"  {col}: {text.format(h=h, cur=cur)}")
    if parquet_note:
        lines += ["", parquet_note]
    return "\n".join(lines) + "\n"


def write_list(table: pd.DataFrame, path: str, readme: Callable[[str], str],
               ) -> tuple[dict[str, str], list[str]]:
    """Write a list of customers next to a report: ``path`` (CSV), the same as Parquet when
    pyarrow imports (an older Parquet file is removed otherwise, as it would not match),
    and ``readme(parquet_note)`` as a text file; each atomically.

    Returns the files written ({"csv", "parquet", "readme"} to file names) and notes for
    the reader. An empty ``path`` writes nothing (and says so).

    Raises
    ------
    DataError
        ``path`` does not end in ``.csv`` or its folder does not exist.
    """
    files: dict[str, str] = {}
    notes: list[str] = []
    if not str(path).strip():
        notes.append("No file was written: the customer_list parameter is empty "
                     "(retention-kit report sets it).")
        return files, notes
    csv = Path(path)
    if csv.suffix != ".csv" or not csv.parent.is_dir():
        raise data_error(f"parameter customer_list={str(path)!r} is not a .csv file in an "
                         "existing folder", fix="pass '' (no file) or a path such as "
                         "'reports/shop.customers.csv'")
    buffer = io.StringIO()
    table.to_csv(buffer, lineterminator="\n")
    write_atomic(csv, buffer.getvalue())
    files["csv"] = csv.name
    parquet_note = ""
    parquet = csv.with_suffix(".parquet")
    engine = _parquet_engine()
    if engine is None:
        parquet_note = ("No Parquet file: pyarrow is not installed (pip install pyarrow "
                        "writes one next time).")
        notes.append(parquet_note)
        parquet.unlink(missing_ok=True)  # an older run's file would not match this list
    else:
        data = io.BytesIO()
        table.to_parquet(data, engine=engine, index=True)
        write_atomic(parquet, data.getvalue())
        files["parquet"] = parquet.name
    text = csv.with_suffix(".txt")
    write_atomic(text, readme(parquet_note))
    files["readme"] = text.name
    return files, notes


@dataclass(frozen=True)
class CustomerListView:
    """The report's customer-list section (see :func:`export_customers`)."""

    customers: int
    clv: str
    """How CLV is given: "exact", "ranges" or "withheld"."""
    files: dict[str, str]
    """Kind ("csv", "parquet", "readme") -> file name, relative to the report."""
    notes: list[str]
    top: pd.DataFrame
    segments: list[str]
    currency: str = ""
    horizon_months: int = 12
    withheld: list[str] = field(default_factory=list)
    ranked_by: str = "clv"
    """What the top customers are ranked by: "clv" or "spend"."""

    def to_dict(self) -> dict[str, Any]:
        """What was exported, for the batch's index (JSON-able; file names only)."""
        return {"customers": self.customers, "clv": self.clv, "files": dict(self.files),
                "notes": list(self.notes), "segments": list(self.segments),
                "top": [str(c) for c in self.top.index], "ranked_by": self.ranked_by}

    def _top_rows(self) -> tuple[list[str], list[list[str]]]:
        h = self.horizon_months
        header = ["Customer", "Segment", "Last purchase", "Purchase days", "Past spend"]
        cols = self.top.columns
        if "p_alive" in cols:
            header.append("P(alive)")
        if "expected_purchases" in cols:
            header.append(f"Expected purchase days ({h} months)")
        if "clv_lower" in cols:
            header.append(f"Value, next {h} months (90% range)")
        elif "clv" in cols:
            header.append(f"Value, next {h} months")
        rows = []
        for cid, r in self.top.iterrows():
            row = [str(cid), str(r["segment"]), str(r["last_purchase"]),
                   f"{int(r['purchases']):,}", format_money(r["spend"], self.currency)]
            if "p_alive" in cols:
                row.append(percent(r["p_alive"]))
            if "expected_purchases" in cols:
                row.append(f"{float(r['expected_purchases']):.2f}")
            if "clv_lower" in cols:
                row.append(f"{format_money(r['clv_lower'], self.currency)} to "
                           f"{format_money(r['clv_upper'], self.currency)}")
            elif "clv" in cols:
                row.append(format_money(r["clv"], self.currency))
            rows.append(row)
        return header, rows

    def _files_sentence(self) -> str:
        if "csv" not in self.files:
            return ""
        links = [f'<a href="{escape(self.files["csv"])}">{escape(self.files["csv"])}</a> (CSV)']
        if "parquet" in self.files:
            links.append(f'<a href="{escape(self.files["parquet"])}">Parquet</a>')
        if "readme" in self.files:
            links.append(f'<a href="{escape(self.files["readme"])}">what the columns mean</a>')
        return (f'<p id="customer-list-files">All {self.customers:,} customers with their '
                f"segment, recommended action and the forecast, to import into a CRM: "
                f"{' · '.join(links)}.</p>")

    def to_html(self) -> str:
        parts = [self._files_sentence()]
        parts += [f"<p>{escape(n)}</p>" for n in self.notes]
        if self.top.empty:
            parts.append("<p>No customer is in a segment the report recommends acting on.</p>")
        else:
            if self.ranked_by == "clv":
                by = "the highest forecast value"
            elif self.clv == "withheld":
                by = "the highest past spend (no forecast value is shown)"
            else:
                by = ("the highest past spend (none of them has a forecast value: they are "
                      "not expected to buy or pay again, so these are win-back candidates)")
            parts.append(f"<p>The {len(self.top)} customers with {by} in the segments to act "
                         f"on ({escape(', '.join(self.segments))}):</p>")
            header, rows = self._top_rows()
            parts.append(table_html(rows, header, table_id="top-customers",
                                    css="rk-table rk-top-customers"))
        return HTMLText("".join(p for p in parts if p))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        header, rows = self._top_rows()
        text = "\n".join([*self.notes, " | ".join(header), *(" | ".join(r) for r in rows)])
        return {"text/html": self.to_html(), "text/plain": text, CUSTOMERS_MIME: self.to_dict()}


def export_customers(customers: pd.DataFrame, *, path: str = "",
                     segments: Sequence[str] = (), currency: str = "", n_top: int = 10,
                     ) -> CustomerListView:
    """Write the customer list next to the report and show the customers to act on first.

    With ``path`` (a ``.csv`` file in an existing folder; the batch passes
    ``<out>/<report>.customers.csv``), writes there the list rounded as it is shown (money
    to cents, P(alive) to 4 decimals), the same as Parquet (``.parquet``) when pyarrow can
    be imported, and a text file (``.txt``) with what each column means, the forecast's
    verdict and why values are withheld when they are. Each file replaces the previous
    one atomically. Without ``path`` nothing is written.

    Parameters
    ----------
    customers : DataFrame
        :func:`customer_list`'s table.
    path : str
        Where the CSV goes; "" writes nothing.
    segments : sequence of str
        The segments to act on (:func:`act_on_segments`), for the top customers table.
    currency : str
    n_top : int
        Rows of the top customers table.

    Returns
    -------
    CustomerListView
        Displays the links, the notes and the top customers; published under
        :data:`CUSTOMERS_MIME` for the batch's index.

    Raises
    ------
    DataError
        ``path`` does not end in ``.csv`` or its folder does not exist.
    """
    rounded = _rounded(customers)
    files, notes = write_list(rounded, path, lambda note: customer_list_readme(
        customers, currency=currency, parquet_note=note))
    clv = str(customers.attrs.get("clv", "exact"))
    if clv == "withheld":
        notes.append("The list has no P(alive), expected purchases, values or tiers: the data "
                     "cannot support values per customer (see how far to trust the forecast).")
    elif clv == "ranges":
        notes.append("Values are 90% ranges: use the forecast with care.")
    chosen = top_customers(customers, segments, n=n_top)
    top = rounded.loc[chosen.index]
    return CustomerListView(customers=len(customers), clv=clv, files=files, notes=notes,
                            top=top, segments=list(segments), currency=currency,
                            horizon_months=int(customers.attrs.get("horizon_months", 12)),
                            withheld=list(customers.attrs.get("withheld", [])),
                            ranked_by=str(chosen.attrs["ranked_by"]))
