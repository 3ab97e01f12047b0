"""Rules 6-7 of a transaction spec: returns netted against the orders they reduce.

Shared by both paths of :func:`~retention_kit.ingest.clean_transactions` (and by
:func:`~retention_kit.ingest.clean_rfm_summary`, which nets only the returning customers'
orders): the return lines and the purchase orders come from a
:class:`~retention_kit.ingest_rules.StagedLog`, whichever engine staged them. The rule is
sequential (each return sees what the earlier ones left); :func:`net_returns` runs it in
rounds of one line per customer, vectorised, with the same float operations in the same
order as the one-by-one loop it replaces.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .ingest_rules import Ledger, int_ids, nanoseconds, sorted_by_two_then_pandas

__all__ = ["net_returns"]


def net_returns(orders: pd.DataFrame, returns: pd.DataFrame,
                held: set[tuple[Any, Any, Any]] | None, spec: Any, ledger: Ledger,
                n_raw: int) -> pd.DataFrame:
    """Rules 6-7 under ``net``: returns reduce the referenced or the latest earlier orders.

    ``orders`` are all purchase orders, ``returns`` the return lines, ``held`` the
    (customer, order, product) of the returning customers' purchase lines (None without a
    product column). The rule is sequential. The return lines are taken by date, then raw
    row; each sees what the earlier ones left. A line returning ``x`` (``-amount``):

    1. takes ``min(x, a)`` from the order its id references (``cancellation_prefix`` + an
       order id of the same customer) if that order has ``a > 0`` left
       (``returns_netted_by_reference``);
    2. if more than 1e-9 is left, takes it from the customer's orders dated at or before
       it that have money left, those holding the returned product first, then latest
       first (by date, then order id), until at most 1e-9 is left
       (``returns_netted_against_earlier_orders``);
    3. what is still left is ``unmatched_returns``.

    Orders left at 1e-9 or less are ``orders_returned_in_full``.

    How it runs, exactly as that loop: a line only reads and changes its own customer's
    orders, so customers are independent and only the order of each customer's lines
    matters. :func:`_net_in_rounds` nets the k-th line of every customer at once (k = 0,
    1, ...), vectorised, with the loop's float operations on each customer's orders in the
    loop's order (``min(x, a)`` is ``a if a < x else x``); when a round has few lines left
    (a few customers with many returns), :func:`_net_sequentially` nets the remaining
    lines one by one, in netting order. The money left unmatched, a float sum, is added in
    netting order. Inputs whose return rows are not distinct raw positions, whose customers
    compare in ways a hash table and a dict disagree on, or with ``held`` but no product
    column, go to the loop whole.
    """
    # only the returning customers' orders can change: they are netted in their own arrays
    # (sorted by customer, date and order id) and written back; the others keep their order
    # whole-number customer ids as int64 (None for others, and for unsigned ones, which
    # could wrap): matched, sorted and grouped as such
    everyone, returning = (None if ids.dtype.kind == "u" else int_ids(ids)
                           for ids in (orders["customer_id"], returns["customer_id"]))
    mine = _returning_positions(orders, returns, everyone, returning)
    book = _CustomerOrders(orders, mine, None if everyone is None else everyone[mine])
    lines = _ReturnLines(returns, spec.cancellation_prefix or "", book, returning)
    flags = {rule: np.zeros(n_raw, dtype=bool) for rule in ("ref", "earlier", "unmatched")}
    if _distinct_positions(lines.rows, n_raw) and lines.own_orders_only(book) \
            and (held is None or lines.products is not None):
        rest, left_over = _net_in_rounds(book, lines, held, flags)
    else:
        rest, left_over = np.arange(len(lines.rows)), []
    left_over += _net_sequentially(book, lines, rest, held, flags)
    unmatched_money = 0.0
    for _, left in sorted(left_over):  # in netting order, as the loop adds them
        unmatched_money += left
    rows = returns["row"].to_numpy()
    ledger.record("returns", "net", len(rows), -float(returns["amount"].sum()),
                  int(rows.min()) if len(rows) else None)
    ledger.add("returns_netted_by_reference", "net", flags["ref"], 0.0)
    ledger.add("returns_netted_against_earlier_orders", "net", flags["earlier"], 0.0)
    if spec.unmatched_returns == "raise" and flags["unmatched"].any():
        raise ledger.refuse(
            "returns with no earlier purchase of the customer in the log to net against "
            "(bought before the log starts?)", flags["unmatched"],
            fix="pass unmatched_returns='drop' to leave them out (counted in the report); "
            "CLI: --map unmatched_returns=drop")
    ledger.add("unmatched_returns", spec.unmatched_returns, flags["unmatched"],
               unmatched_money)
    netted = orders["amount"].to_numpy(dtype=float).copy()
    netted[mine] = book.amount
    orders = orders.assign(amount=np.round(netted, 10))
    gone = orders["amount"] <= 1e-9
    gone_rows = np.zeros(n_raw, dtype=bool)
    gone_rows[orders.loc[gone, "row"].to_numpy()] = True
    ledger.add("orders_returned_in_full", "removed", gone_rows, 0.0)
    return orders.loc[~gone]


def _returning_positions(orders: pd.DataFrame, returns: pd.DataFrame,
                         everyone: np.ndarray | None, returning: np.ndarray | None,
                         ) -> np.ndarray:
    """Positions of the returning customers' orders, sorted as ``sort_values(["customer_id",
    "date", "order_id"], kind="stable")`` sorts them (ties in their order).

    Whole-number ids (``everyone``, ``returning``: the orders' and the returns' ids as
    int64, or None) are matched and sorted as int64, dates as integers, and only the rare
    runs of one customer's orders at one timestamp are sorted by order id (as text, by
    pandas); other ids, or dates with NaT, take pandas' own ``isin`` and sort.
    """
    keys = ["customer_id", "date", "order_id"]
    if everyone is None or returning is None:
        everyone, returning = orders["customer_id"].to_numpy(), returns["customer_id"]
    rows = np.flatnonzero(pd.Series(everyone).isin(returning).to_numpy())
    dates = orders["date"].to_numpy()
    if everyone.dtype.kind != "i" or dates.dtype.kind != "M" or pd.isna(dates).any():
        return rows[np.asarray(orders.iloc[rows].reset_index(drop=True)
                               .sort_values(keys, kind="stable").index)]
    ids, when = everyone[rows], nanoseconds(orders["date"])[rows]
    perm = sorted_by_two_then_pandas(orders, ids, when, keys, at=rows)
    return rows[perm]


def _plain(values: np.ndarray) -> list:
    """``values`` as a list of equal (==, hash) objects: Python scalars for numbers, which
    hash faster than numpy's; datetimes stay numpy's (``tolist`` would make them ints)."""
    return values.tolist() if values.dtype.kind in "biufO" else list(values)


class _CustomerOrders:
    """The returning customers' orders (``orders`` at positions ``mine``) as arrays.

    ``amount`` (float, what is left; netting changes it), ``dates`` (ns), ``order_ids``
    (the column); ``int_ids``: the customer ids as int64 when they are whole numbers, else
    None; ``group``: each order's customer as a number, as a groupby numbers them (-1 for
    a missing id); group ``g``'s orders are ``ascending[bounds[g]:bounds[g + 1]]``.
    """

    def __init__(self, orders: pd.DataFrame, mine: np.ndarray,
                 int_ids: np.ndarray | None) -> None:
        self.amount = orders["amount"].to_numpy(dtype=float)[mine]
        self.dates = nanoseconds(orders["date"])[mine]
        self.order_ids = orders["order_id"].iloc[mine].reset_index(drop=True)
        self.customers = orders["customer_id"].iloc[mine].to_numpy()
        self.int_ids = int_ids
        self.group, self.uniques = pd.factorize(
            self.customers if self.int_ids is None else self.int_ids)
        self.ascending = np.argsort(self.group, kind="stable")
        # bounds[g]: how many orders are in groups before g (-1 first)
        self.bounds = np.cumsum(np.bincount(self.group + 1, minlength=len(self.uniques) + 1))
        self._ids: np.ndarray | None = None

    def id_array(self) -> np.ndarray:
        """The order ids as a numpy array (built once)."""
        if self._ids is None:
            self._ids = self.order_ids.to_numpy()
        return self._ids

    def groups_of(self, customers: list, int_ids: np.ndarray | None) -> np.ndarray:
        """The group of each of ``customers`` (-1 if none of the orders is theirs)."""
        if self.int_ids is None or int_ids is None:
            group_of = dict(zip(_plain(self.uniques), range(len(self.uniques)), strict=True))
            return np.array([group_of.get(c, -1) for c in customers], dtype=np.int64)
        if not len(self.uniques):
            return np.full(len(int_ids), -1, dtype=np.int64)
        by_id = np.argsort(self.uniques)
        at = np.minimum(np.searchsorted(self.uniques[by_id], int_ids), len(by_id) - 1)
        return np.where(self.uniques[by_id[at]] == int_ids, by_id[at], -1).astype(np.int64)


class _ReturnLines:
    """The return lines in netting order (date, then raw row).

    ``amount``: what each returns (``-amount``); ``target``: the position in the book of
    the order it references (-1 without); ``group``: its customer's group in the book (-1
    if the customer has no orders there); ``rows`` and ``dates`` (ns); the values the rule
    compares: ``customers`` and ``products`` (None without a product column), as the
    sequential rule read them (Python objects, numpy floats for a float column).
    """

    def __init__(self, returns: pd.DataFrame, prefix: str, book: _CustomerOrders,
                 int_ids: np.ndarray | None) -> None:
        order = _netting_order(returns)
        # Python values, as the rule compares them (floats stay numpy's, as pandas gives)
        cols = {c: (returns[c].to_numpy(dtype=object) if returns[c].dtype != float
                    else returns[c].to_numpy())[order]
                for c in ("amount", "customer_id", "product") if c in returns.columns}
        self.amount = (-returns["amount"].to_numpy()[order] if returns["amount"].dtype == float
                       else np.array([-float(x) for x in cols["amount"]], dtype=float))
        self.rows = returns["row"].to_numpy()[order]
        self.dates = nanoseconds(returns["date"])[order]
        self.customers = cols["customer_id"]
        self.products = cols.get("product")
        int_ids = None if int_ids is None else int_ids[order]
        self.group = book.groups_of(self.customers, int_ids)
        self.target = np.full(len(order), -1, dtype=np.int64)
        if not prefix:
            return
        text = returns["order_id"].iloc[order].reset_index(drop=True)
        if int_ids is not None and book.int_ids is not None and _plain_text(text) \
                and _plain_text(book.order_ids):
            self.target = _referenced_text(text, prefix, self.group, book)
        else:
            refs = [ref[len(prefix):] if ref.startswith(prefix) else None
                    for ref in map(str, text.to_numpy(dtype=object))]
            self.target = np.array(_referenced(refs, self.customers.tolist(), book),
                                   dtype=np.int64)

    def own_orders_only(self, book: _CustomerOrders) -> bool:
        """Whether every referenced order is in the line's own customer group (always, but
        for ids a dict and pandas' hash table compare differently, like NaN)."""
        has = self.target >= 0
        return bool(((book.group[self.target[has]] == self.group[has])
                     & (self.group[has] >= 0)).all())


def _netting_order(returns: pd.DataFrame) -> np.ndarray:
    """The positions that sort ``returns`` by date, then raw row, ties in their order."""
    dates, rows = returns["date"].to_numpy(), returns["row"].to_numpy()
    if dates.dtype.kind == "M" and rows.dtype.kind in "iu" and not pd.isna(dates).any():
        return np.lexsort((rows, nanoseconds(returns["date"])))  # stable
    return np.asarray(returns[["date", "row"]].reset_index(drop=True)
                      .sort_values(["date", "row"], kind="stable").index)


def _plain_text(ids: pd.Series) -> bool:
    """Whether ``ids`` is a pandas text column without missing values (so ``str(id)`` is
    the id and pandas' string methods and factorize treat them as Python's do)."""
    return isinstance(ids.dtype, pd.StringDtype) and not ids.isna().any()


def _referenced_text(text: pd.Series, prefix: str, group: np.ndarray,
                     book: _CustomerOrders) -> np.ndarray:
    """:func:`_referenced` for whole-number customer ids and text order ids, vectorised:
    (group, order id) pairs numbered, the last order of each pair found by binary search."""
    refs = text.str.removeprefix(prefix)  # id[len(prefix):] where the id starts with it
    codes, _ = pd.factorize(pd.concat([book.order_ids, refs], ignore_index=True))
    n_book, n_codes = len(book.order_ids), int(codes.max()) + 1 if len(codes) else 1
    found = np.full(len(text), -1, dtype=np.int64)
    if n_book == 0:
        return found
    pair = book.group.astype(np.int64) * n_codes + codes[:n_book]
    wanted = group * n_codes + codes[n_book:]
    by_pair = np.argsort(pair, kind="stable")  # equal pairs: the last position last
    at = np.searchsorted(pair[by_pair], wanted, side="right") - 1
    hit = (text.str.startswith(prefix).to_numpy(dtype=bool) & (group >= 0) & (at >= 0)
           & (pair[by_pair[np.maximum(at, 0)]] == wanted))
    found[hit] = by_pair[at[hit]]
    return found


def _referenced(refs: list, customers: list, book: _CustomerOrders) -> list[int]:
    """The position in the book of the order each line references: the order with the
    referenced id (``None``: no reference) and the line's customer, the last one if several
    (-1 if none), as a dict of (customer, order id) finds it."""
    ids = _plain(book.id_array())
    by_id = dict(zip(ids, range(len(ids)), strict=True))
    if len(by_id) < len(ids):  # an order id twice: look (customer, order id) up
        wanted = set(refs)  # an equal key has an equal order id
        who = _plain(book.customers)
        position = {(who[i], ids[i]): i for i in range(len(ids)) if ids[i] in wanted}
        return [-1 if ref is None else position.get((c, ref), -1)
                for c, ref in zip(customers, refs, strict=True)]
    # order ids unique: the one order with the id, if it is the line's customer's
    found = [-1 if ref is None else by_id.get(ref, -1) for ref in refs]
    theirs = _plain(book.customers)
    return [i if i >= 0 and (theirs[i] is c or theirs[i] == c) else -1
            for i, c in zip(found, customers, strict=True)]


def _distinct_positions(rows: np.ndarray, n_raw: int) -> bool:
    """Whether the raw rows of the returns are distinct valid positions, so that the flags
    of different return lines never land on one row."""
    if rows.dtype.kind not in "iu" or len(rows) == 0:
        return False
    ordered = np.sort(rows)
    return bool(ordered[0] >= 0 and ordered[-1] < n_raw and (ordered[1:] != ordered[:-1]).all())


_NARROW = 100  # rounds with fewer lines than this are left to the loop


def _net_in_rounds(book: _CustomerOrders, lines: _ReturnLines,
                   held: set[tuple[Any, Any, Any]] | None, flags: dict[str, np.ndarray],
                   ) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Net the k-th return line of every customer at once, for k = 0, 1, ...

    In a round every line belongs to another customer, so the orders it changes are its
    own; each step is the loop's, on arrays. Stops at the first round of fewer than
    ``_NARROW`` lines. Returns the lines left (in netting order) and (line, money) of the
    lines left unmatched.
    """
    x, target, group = lines.amount, lines.target, lines.group
    # the rank of each line among its customer's (lines without orders: all in round 0)
    by_customer = np.argsort(group, kind="stable")
    first = _run_starts(group[by_customer])
    rank = np.empty(len(x), dtype=np.int64)
    rank[by_customer] = _rank_in_runs(first, len(x))
    rank[group < 0] = 0
    by_round = np.argsort(rank, kind="stable")
    edges = np.searchsorted(rank[by_round], np.arange(rank.max() + 2))
    left_over: list[tuple[int, float]] = []
    for k in range(len(edges) - 1):
        now = by_round[edges[k]:edges[k + 1]]
        if len(now) < _NARROW:
            return np.sort(by_round[edges[k]:]), left_over
        left = x[now]
        # 1. the referenced order
        has = np.flatnonzero(target[now] >= 0)
        has = has[book.amount[target[now[has]]] > 0]
        to = target[now[has]]
        take = _smaller(left[has], book.amount[to])
        book.amount[to] -= take
        left[has] -= take
        flags["ref"][lines.rows[now[has]]] = True
        # 2. the customer's earlier orders, while more than 1e-9 is left
        need = np.flatnonzero(left > 1e-9)
        left[need] = _net_earlier(book, lines, now[need], left[need], held, flags)
        # 3. unmatched
        lost = np.flatnonzero(left > 1e-9)
        flags["unmatched"][lines.rows[now[lost]]] = True
        left_over += zip(now[lost].tolist(), left[lost].tolist(), strict=True)
    return np.zeros(0, dtype=np.int64), left_over


def _net_earlier(book: _CustomerOrders, lines: _ReturnLines, which: np.ndarray,
                 left: np.ndarray, held: set[tuple[Any, Any, Any]] | None,
                 flags: dict[str, np.ndarray]) -> np.ndarray:
    """Step 2 for lines ``which`` of different customers, ``left`` to net each; returns
    what is left. Their candidate orders are laid out one after the other, ranked as the
    loop takes them, and taken in turns (every line's first, then second, ...)."""
    group = lines.group[which]
    known = group >= 0  # customers with orders
    start, size = np.zeros(len(which), dtype=np.int64), np.zeros(len(which), dtype=np.int64)
    start[known] = book.bounds[group[known]]
    size[known] = book.bounds[group[known] + 1] - start[known]
    line = np.repeat(np.arange(len(which)), size)
    order = book.ascending[np.repeat(start, size) + _rank_in_runs(
        np.cumsum(size) - size, len(line))]
    ok = (book.dates[order] <= lines.dates[which][line]) & (book.amount[order] > 0)
    line, order = line[ok], order[ok]
    hit = lines.rows[which[line[_run_starts(line)]]]  # lines with an order to take from
    flags["earlier"][hit] = ~flags["ref"][hit]
    elsewhere = np.zeros(len(line), dtype=bool)  # not holding the product: after the others
    if held is not None:
        # (customer, order id, product) in held, where the line has two orders or more
        ask = np.flatnonzero(np.bincount(line, minlength=len(which))[line] > 1)
        asked = zip(lines.customers[which[line[ask]]].tolist(),
                    book.id_array()[order[ask]].tolist(),
                    lines.products[which[line[ask]]].tolist(), strict=True)
        elsewhere[ask] = ~np.fromiter(map(held.__contains__, asked), dtype=bool,
                                      count=len(ask))
    turn = np.lexsort((-order, elsewhere, line))
    line, order = line[turn], order[turn]
    nth = _rank_in_runs(_run_starts(line), len(line))
    for n in range(int(nth.max()) + 1 if len(nth) else 0):
        pick = np.flatnonzero(nth == n)
        pick = pick[left[line[pick]] > 1e-9]
        if not len(pick):
            break
        at, by = order[pick], line[pick]
        take = _smaller(left[by], book.amount[at])
        book.amount[at] -= take
        left[by] -= take
    return left


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in ``keys``."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _rank_in_runs(starts: np.ndarray, n: int) -> np.ndarray:
    """0, 1, 2, ... within each run of ``n`` items starting at ``starts``."""
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]).astype(np.int64))


def _smaller(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``min(x, a)`` element by element as Python's ``min`` picks: ``a`` if ``a < x``."""
    return np.where(a < x, a, x)


def _net_sequentially(book: _CustomerOrders, lines: _ReturnLines, which: np.ndarray,
                      held: set[tuple[Any, Any, Any]] | None, flags: dict[str, np.ndarray],
                      ) -> list[tuple[int, float]]:
    """Net the return lines ``which`` (in netting order) one by one: the rule as written.

    On Python lists and floats (the same IEEE operations as numpy's, without numpy's cost
    on a few values per line), holding only the orders these lines can reach: their
    customers' and the ones they reference. Returns (line, money) of the lines left
    unmatched.
    """
    if not len(which):
        return []
    groups = np.unique(lines.group[which])
    groups = groups[groups >= 0]
    size = book.bounds[groups + 1] - book.bounds[groups]
    theirs = book.ascending[np.repeat(book.bounds[groups], size)
                            + _rank_in_runs(np.cumsum(size) - size, int(size.sum()))]
    targets = lines.target[which]
    reach = np.union1d(theirs, targets[targets >= 0])  # positions in the book, sorted
    # each customer's orders latest first (by date, then order id), as indices into reach
    chunks = np.split(np.searchsorted(reach, theirs), np.cumsum(size)[:-1]) if len(size) else []
    latest_first = {g: chunk[::-1].tolist() for g, chunk in zip(groups.tolist(), chunks,
                                                               strict=True)}
    left_in, when = book.amount[reach].tolist(), book.dates[reach].tolist()
    ids = book.id_array()[reach].tolist() if held is not None else []
    by_ref, by_earlier, unmatched = flags["ref"], flags["earlier"], flags["unmatched"]
    pick = which.tolist()
    products = lines.customers if lines.products is None else lines.products  # (unread)
    left_over = []
    for k, left, target, group, date, row, customer, product in zip(
            pick, lines.amount[which].tolist(),
            np.where(targets >= 0, np.searchsorted(reach, targets), -1).tolist(),
            lines.group[which].tolist(), lines.dates[which].tolist(),
            lines.rows[which].tolist(), lines.customers[which].tolist(),
            products[which].tolist(), strict=True):
        if target >= 0 and left_in[target] > 0:
            take = min(left, left_in[target])
            left_in[target] -= take
            left -= take
            by_ref[row] = True
        if left > 1e-9:
            earlier = [i for i in latest_first.get(group, ())
                       if when[i] <= date and left_in[i] > 0]
            if held is not None and lines.products is None and earlier:
                raise AttributeError("'Line' object has no attribute 'product'")  # as before
            if held is not None and len(earlier) > 1:  # orders holding the product first
                earlier.sort(key=lambda i: (customer, ids[i], product) not in held)
            for i in earlier:
                take = min(left, left_in[i])
                left_in[i] -= take
                left -= take
                by_earlier[row] = not by_ref[row]
                if left <= 1e-9:
                    break
        if left > 1e-9:
            unmatched[row] = True
            left_over.append((k, left))
    book.amount[reach] = left_in
    return left_over
