"""Client logs that live in a database: one client folder per client, cleaned in the database.

``retention-kit report --data postgresql://... --table orders --client-col shop_id`` calls
:func:`database_clients`, then reports on the folders it wrote as on any other client folders.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .._checks import missing_column
from ..errors import DataError, data_error
from ..ingest import TransactionSpec, clean_transactions
from .batch import safe_name

__all__ = ["database_clients"]


def database_clients(url: str, folder: str | os.PathLike[str], *, table: str | None = None,
                     query: str | None = None, client_col: str | None = None,
                     spec: dict | None = None) -> list[Path]:
    """Clean a log that lives in a database into one client folder per client.

    The transaction spec runs in the database (PostgreSQL, DuckDB or any Ibis backend, see
    :func:`retention_kit.ingest.clean_transactions`), once per value of ``client_col``;
    each client's orders come back as ``<folder>/<client>/transactions.csv`` with its
    ``quality.json`` (what the spec did) and a ``client.json`` naming the client, ready for
    :func:`retention_kit.reports.run_reports`.

    Parameters
    ----------
    url : str
        An Ibis connection URL, e.g. ``postgresql://user@host:5432/shop`` or, on a local
        socket, ``postgresql://user@/shop?host=/var/run/postgresql``.
    folder : path
        Where the client folders are written (created; existing client folders of the
        same names are replaced).
    table, query : str
        The log: a table name, or a SQL query (exactly one of them).
    client_col : str, optional
        The column naming the client (a shop, a brand); it is not part of the spec.
        Without it the whole log is one client named after the table (or ``query``).
    spec : dict, optional
        The keys of :class:`~retention_kit.ingest.TransactionSpec`; default: columns
        ``customer_id``, ``date``, ``amount``.

    Returns
    -------
    list of Path
        The client folders, in the order of the client values.

    Raises
    ------
    DataError
        No or both of ``table``/``query``, a connection or query that fails, a missing
        client column, rows without a client, and everything the spec refuses (with the
        client named). Folder names are :func:`~retention_kit.reports.safe_name` of the
        client values.
    """
    from ..ingest_sql import connect  # needs Ibis

    if (table is None) == (query is None):
        raise data_error("give the log as exactly one of a table or a query",
                         fix="pass table='orders' (--table orders) or query='SELECT ...' "
                         "(--query 'SELECT ...')")
    spec_dict = dict(spec or {})
    if spec_dict:
        TransactionSpec.from_dict(spec_dict)  # a bad spec is refused before connecting
    source = connect(url, table=table, query=query)
    names: dict[str, object] = {}
    if client_col is None:
        names[safe_name(table or "query")] = None
    else:
        problem = missing_column(list(source.columns), {
            client_col: "client_col (the client of each row; --client-col on the CLI)"},
            what="the database log")
        if problem is not None:
            raise problem
        counts = source.group_by(client_col).agg(n=source.count()).to_pandas()
        unknown = counts[client_col].isna()
        if unknown.any():
            raise data_error(
                f"rows have no {client_col}, so they belong to no client's report",
                n_rows=int(counts.loc[unknown, "n"].sum()),
                fix=f"fill {client_col}, or leave them out with a query "
                f"(--query 'SELECT * FROM ... WHERE {client_col} IS NOT NULL')")
        for value in sorted(counts[client_col].tolist(), key=str):
            names[safe_name(value)] = value  # distinct values, distinct names
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    folders = []
    for name, value in names.items():
        sub = source
        if client_col is not None:
            sub = source.filter(source[client_col] == value).drop(client_col)
        try:
            log = clean_transactions(sub, spec_dict or None)
        except DataError as exc:
            raise data_error(f"client {name!r} ({client_col}={value!r}): {exc}") from None
        target = out / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        target.mkdir()
        log.transactions[["customer_id", "date", "amount", "order_id"]].to_csv(
            target / "transactions.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
        (target / "quality.json").write_text(log.quality.to_json(), encoding="utf-8")
        info = {"display_name": str(value if value is not None else name)}
        (target / "client.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        folders.append(target)
    return folders
