"""The ``retention-kit`` command line.

``retention-kit report --data DIR --out DIR [--clients a b ...] [--workers N]
[--kernels warm|fresh] [-p name value ...]``
generates one HTML retention report per client folder of ``DIR`` (or, with ``--data URL
--table T --client-col C``, per client of a database table) (see
:func:`retention_kit.reports.run_reports`), prints a progress line per report and a summary
table, and exits with status 1 when any report failed (2 for a usage error).
``python -m retention_kit.cli`` does the same.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["build_parser", "main", "parse_map", "parse_parameter"]

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_parameter(name: str, text: str, inferred_type: str | None = None) -> Any:
    """Convert a ``-p name value`` string to the notebook parameter's type.

    ``inferred_type`` is papermill's inferred type of the parameter (``"int"``,
    ``"float"``, ``"bool"``, ``"str"``); without it, the value is read as papermill's own
    ``-p`` does (bool, int, float, else str).

    Raises
    ------
    ValueError
        The value does not fit the type, with the parameter's name.

    Examples
    --------
    >>> parse_parameter("fast", "true", "bool"), parse_parameter("margin", "0.4", "float")
    (True, 0.4)
    >>> parse_parameter("currency", "007", "str"), parse_parameter("x", "12")
    ('007', 12)
    >>> parse_parameter("forecast_months", "twelve", "int")
    Traceback (most recent call last):
    ...
    ValueError: parameter forecast_months='twelve' is not an int
    """
    kind = (inferred_type or "").strip()
    try:
        if kind == "str":
            return text
        if kind == "bool" or (not kind and text.lower() in _TRUE | _FALSE):
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ValueError(f"parameter {name}={text!r} is not {'an' if kind == 'int' else 'a'} "
                         f"{kind}") from None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return None if text == "None" else text


def parse_map(items: Sequence[str], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``--map KEY=VALUE`` flags as a transaction spec (``base``, e.g. a ``--spec`` file, first).

    ``amount=Quantity*UnitPrice`` names the quantity and unit price columns;
    ``exclude_products`` takes a comma-separated list; every other value is text.

    Raises
    ------
    ValueError
        A flag without ``=``.

    Examples
    --------
    >>> parse_map(["customer=CustomerID", "amount=Quantity*UnitPrice",
    ...            "exclude_products=POST,DOT", "returns=net"])  # doctest: +NORMALIZE_WHITESPACE
    {'customer': 'CustomerID', 'quantity': 'Quantity', 'unit_price': 'UnitPrice',
     'exclude_products': ['POST', 'DOT'], 'returns': 'net'}
    """
    spec = dict(base or {})
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"--map {item!r} is not KEY=VALUE, e.g. --map customer=CustomerID")
        if key == "amount" and "*" in value:
            quantity, _, price = value.partition("*")
            spec.pop("amount", None)
            spec.update(quantity=quantity.strip(), unit_price=price.strip())
        elif key == "exclude_products":
            spec[key] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            spec[key] = value
    return spec


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``retention-kit``."""
    parser = argparse.ArgumentParser(
        prog="retention-kit",
        description="Customer retention toolkit. 'retention-kit report' turns each client's "
                    "data folder into an offline HTML report.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = sub.add_parser(
        "report", help="generate per-client HTML reports with papermill",
        description="Run the report notebook once per client (one kernel each, in parallel), "
                    "write <client>.html, the executed <client>.ipynb and index.html into "
                    "--out. Exit status 1 if any report failed.")
    report.add_argument("--data", metavar="DIR", default=None,
                        help="folder with one sub-folder per client holding transactions.csv "
                             "(and subscriptions.csv, client.json), one export file (CSV), or "
                             "a database URL (postgresql://user@host/db, with --table or "
                             "--query); default: the bundled demo clients")
    report.add_argument("--table", metavar="NAME", default=None,
                        help="with --data URL: the table holding the log")
    report.add_argument("--query", metavar="SQL", default=None,
                        help="with --data URL: a SQL query returning the log (instead of "
                             "--table)")
    report.add_argument("--client-col", metavar="COLUMN", default=None,
                        help="with --data URL: the column naming the client; one report per "
                             "value (default: the whole log is one client)")
    report.add_argument("--map", action="append", default=[], metavar="KEY=COLUMN",
                        help="transaction spec of a raw export, for every client: which column "
                             "is what (customer=CustomerID, date=InvoiceDate, "
                             "amount=Quantity*UnitPrice, order=InvoiceNo, product=StockCode) "
                             "and the policies (returns=net, missing_customer=drop, "
                             "exclude_products=POST,DOT, cancellation_prefix=C, "
                             "date_format=dayfirst, ...); overrides client.json's \"spec\"")
    report.add_argument("--spec", metavar="FILE", default=None,
                        help="the transaction spec as a JSON file (--map flags override it)")
    report.add_argument("--out", metavar="DIR", default="reports",
                        help="output folder (default: reports)")
    report.add_argument("--clients", nargs="+", metavar="ID",
                        help="only these clients (folder names), in this order")
    report.add_argument("--workers", type=int, default=2, metavar="N",
                        help="reports generated at the same time (default: 2)")
    report.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="a notebook parameter for every client, e.g. -p margin 0.4 "
                             "(see: papermill --help-notebook notebooks/client_report.ipynb)")
    report.add_argument("--notebook", metavar="PATH", default=None,
                        help="report notebook (default: notebooks/client_report.ipynb)")
    report.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="time limit per notebook cell (default: 600)")
    report.add_argument("--kernels", choices=["warm", "fresh"], default="warm",
                        help="warm (default): each report's kernel is forked from a process "
                             "that made the imports once; fresh: every report starts its "
                             "kernel from scratch (slower; to rule the warm kernels out)")
    report.add_argument("--no-progress", action="store_true", help="no progress lines")
    report.set_defaults(subparser=report)
    return parser


def _summary(results: Sequence[Any], out: IO[str]) -> None:
    rows = [("client", "status", "seconds", "report / error")]
    for r in results:
        detail = str(r.html) if r.ok else f"{r.failed_step}: {r.error_type}: {r.error}"
        rows.append((r.client_id, r.status, f"{r.seconds:.1f}", detail.replace("\n", " ")))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
                  + "  " + row[3] + "\n")
        if i == 0:
            out.write("  ".join("-" * w for w in widths) + "  " + "-" * 14 + "\n")


def _report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .datasets import data_dir
    from .errors import DataError
    from .reports import (
        PER_CLIENT_PARAMETERS,
        discover_clients,
        notebook_parameters,
        run_reports,
    )

    try:
        spec = _spec(args)
        data = _data_folder(args, spec) if args.data else data_dir() / "demo"
        clients = discover_clients(data, only=args.clients)
        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}")
        known = notebook_parameters(args.notebook)
        parameters = {}
        for name, text in args.parameter:
            if name in PER_CLIENT_PARAMETERS:
                raise ValueError(f"parameter {name!r} is set per client; use --data/--clients")
            if name not in known:
                from .notebook import check_choice

                check_choice("name", name, [k for k in known
                                            if k not in PER_CLIENT_PARAMETERS])
            parameters[name] = parse_parameter(name, text, known[name].get("inferred_type_name"))
        if spec and not _is_url(args.data):
            parameters["spec"] = json.dumps(spec)
    except (DataError, ValueError, FileNotFoundError, ImportError) as exc:
        parser.error(str(exc))
    from .reports import ReportsCancelled

    try:
        results = run_reports(clients, out_dir=args.out, workers=args.workers,
                              parameters=parameters, progress=not args.no_progress,
                              notebook=args.notebook, timeout=args.timeout,
                              kernels=args.kernels)
    except ReportsCancelled as stop:
        _quiet_abandoned_event_loops()
        print()
        _summary(stop.results, sys.stdout)
        done = sum(r.ok for r in stop.results)
        print(f"\nCancelled: {done} of {len(stop.results)} reports produced before the stop. "
              f"Open {stop.index.as_uri()}")
        return 130
    print()
    _summary(results, sys.stdout)
    failed = [r for r in results if not r.ok]
    index = Path(args.out).resolve() / "index.html"
    print(f"\n{len(results) - len(failed)} of {len(results)} reports produced. "
          f"Open {index.as_uri()}")
    return 1 if failed else 0


def _is_url(data: str | None) -> bool:
    return bool(data) and "://" in str(data)


def _data_folder(args: argparse.Namespace, spec: dict[str, Any]) -> Path:
    """--data as a folder of clients; a database URL is first cleaned into ``OUT/data``."""
    if not _is_url(args.data):
        for flag, value in (("--table", args.table), ("--query", args.query),
                            ("--client-col", args.client_col)):
            if value is not None:
                raise ValueError(f"{flag} needs --data to be a database URL "
                                 "(postgresql://user@host/database), not a folder")
        return Path(args.data)
    from .reports.database import database_clients

    folder = Path(args.out) / "data"
    print(f"Cleaning the log in the database into {folder} ...", flush=True)
    database_clients(args.data, folder, table=args.table, query=args.query,
                     client_col=args.client_col, spec=spec or None)
    return folder


def _spec(args: argparse.Namespace) -> dict[str, Any]:
    """The spec of --spec and --map, checked (an unknown key or policy is a usage error)."""
    from .ingest import TransactionSpec

    base = None
    if args.spec:
        try:
            base = json.loads(Path(args.spec).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"--spec {args.spec} is not JSON ({exc})") from exc
        if not isinstance(base, dict):
            raise ValueError(f"--spec {args.spec} holds a {type(base).__name__}, not an object")
    spec = parse_map(args.map, base)
    if spec:
        TransactionSpec.from_dict(spec)
    return spec


def _quiet_abandoned_event_loops() -> None:
    """After a cancelled batch, drop one known message from the exit: a worker thread's
    asyncio loop (papermill's) whose self-pipe was closed when its kernel was killed fails
    in ``BaseEventLoop.__del__`` with "Invalid file descriptor: -1" when it is garbage
    collected, and Python prints that as a traceback although nothing is wrong. Every other
    unraisable exception still goes to the hook that was there. Called only on the way out
    of a cancelled run."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        where = getattr(unraisable.object, "__qualname__", "")
        if (where == "BaseEventLoop.__del__" and isinstance(unraisable.exc_value, ValueError)
                and "Invalid file descriptor" in str(unraisable.exc_value)):
            return
        previous(unraisable)

    sys.unraisablehook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retention-kit`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = _terminate_as_interrupt()
    try:
        return _report(args, args.subparser)
    except SystemExit as exc:  # the sub-parser's error(): a usage error
        return int(exc.code or 0)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt() -> Any:
    """Let SIGTERM stop a run as Ctrl-C does (index written, kernels stopped); the old
    handler, or None when not in the main thread (signals can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    sys.exit(main())
