"""Netting returns against orders (rules 6-7 under ``returns="net"``): the vectorised
rounds and the exact loop of :func:`retention_kit.ingest_netting.net_returns` against the rule
written as one sequential loop (``reference_net_returns`` below, the function as it was
before it was vectorised), on hand-made cases and on many seeded random small logs built to
hit the edge cases: returns without a reference, references to another customer's order
or to an order at 0, several returns exhausting one order (float rounding near 0),
zero-amount returns, returns before every order, ``held`` None or a set, both
``unmatched_returns`` policies, no cancellation prefix, whole-number (signed, unsigned,
Python ints), fractional and text customer ids, text and object order ids, order ids
shared by two customers, ties of date, missing dates.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retention_kit import ingest_netting
from retention_kit.errors import DataError
from retention_kit.ingest import TransactionSpec
from retention_kit.ingest_netting import net_returns
from retention_kit.ingest_rules import Ledger


def nanoseconds(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[ns]").view("int64")


def reference_net_returns(orders: pd.DataFrame, returns: pd.DataFrame,
                          held: set[tuple[Any, Any, Any]] | None, spec: TransactionSpec,
                          ledger: Ledger, n_raw: int) -> pd.DataFrame:
    """The sequential rule: ``net_returns`` as it was at commit 46ef691 (one Python loop
    over the return lines by date and row, numpy on each customer's orders)."""
    everyone = orders["customer_id"].to_numpy()
    returning_rows = np.flatnonzero(pd.Series(everyone).isin(returns["customer_id"]).to_numpy())
    mine = orders.iloc[returning_rows].assign(_rk_pos=returning_rows)
    mine = mine.sort_values(["customer_id", "date", "order_id"], kind="stable")
    amount = mine["amount"].to_numpy(dtype=float).copy()
    customers = mine["customer_id"].to_numpy()
    order_ids = mine["order_id"].to_numpy()
    returning = np.arange(len(mine))
    position = {(customers[i], order_ids[i]): i for i in returning}
    by_customer: dict[Any, np.ndarray] = {
        c: returning[idx] for c, idx in
        pd.Series(customers).groupby(customers, sort=False).indices.items()}
    dates = nanoseconds(mine["date"])
    by_ref = np.zeros(n_raw, dtype=bool)
    by_earlier = np.zeros(n_raw, dtype=bool)
    unmatched = np.zeros(n_raw, dtype=bool)
    unmatched_money = 0.0
    prefix = spec.cancellation_prefix or ""
    ordered = returns.sort_values(["date", "row"], kind="stable")
    cols = {c: ordered[c].to_numpy(dtype=object) if ordered[c].dtype != float
            else ordered[c].to_numpy() for c in ordered.columns if c != "date"}
    cols["date"] = nanoseconds(ordered["date"]).tolist()
    fields = [c for c in ("amount", "order_id", "customer_id", "date", "row", "product")
              if c in cols]
    Line = namedtuple("Line", fields)
    for row in map(Line._make, zip(*(cols[c] for c in fields), strict=True)):
        left = -float(row.amount)
        ref = str(row.order_id)
        ref = ref[len(prefix):] if prefix and ref.startswith(prefix) else None
        target = position.get((row.customer_id, ref)) if ref is not None else None
        if target is not None and amount[target] > 0:
            take = min(left, amount[target])
            amount[target] -= take
            left -= take
            by_ref[row.row] = True
        if left > 1e-9:
            theirs = by_customer.get(row.customer_id, returning[:0])[::-1]
            earlier = theirs[(dates[theirs] <= row.date) & (amount[theirs] > 0)].tolist()
            if held is not None:
                earlier.sort(key=lambda i: (row.customer_id, order_ids[i], row.product)
                             not in held)
            for i in earlier:
                take = min(left, amount[i])
                amount[i] -= take
                left -= take
                by_earlier[row.row] = not by_ref[row.row]
                if left <= 1e-9:
                    break
        if left > 1e-9:
            unmatched[row.row] = True
            unmatched_money += left
    rows = returns["row"].to_numpy()
    ledger.record("returns", "net", len(rows), -float(returns["amount"].sum()),
                  int(rows.min()) if len(rows) else None)
    ledger.add("returns_netted_by_reference", "net", by_ref, 0.0)
    ledger.add("returns_netted_against_earlier_orders", "net", by_earlier, 0.0)
    if spec.unmatched_returns == "raise" and unmatched.any():
        raise ledger.refuse(
            "returns with no earlier purchase of the customer in the log to net against "
            "(bought before the log starts?)", unmatched,
            fix="pass unmatched_returns='drop' to leave them out (counted in the report); "
            "CLI: --map unmatched_returns=drop")
    ledger.add("unmatched_returns", spec.unmatched_returns, unmatched, unmatched_money)
    netted = orders["amount"].to_numpy(dtype=float).copy()
    netted[mine["_rk_pos"].to_numpy()] = amount
    orders = orders.assign(amount=np.round(netted, 10))
    gone = orders["amount"] <= 1e-9
    gone_rows = np.zeros(n_raw, dtype=bool)
    gone_rows[orders.loc[gone, "row"].to_numpy()] = True
    ledger.add("orders_returned_in_full", "removed", gone_rows, 0.0)
    return orders.loc[~gone]


def ledger() -> Ledger:
    return Ledger(lambda rows: {r: f"row {r}" for r in rows})


def run(fn, case) -> tuple[Any, Any]:
    """(orders out, ledger table) or (the DataError's parts, None)."""
    orders, returns, held, spec, n_raw = case
    book = ledger()
    try:
        out = fn(orders, returns, held, spec, book, n_raw)
    except DataError as err:
        return (str(err), err.n_rows, err.example), None
    return out, book.table()


def assert_same(case) -> None:
    want, want_rules = run(reference_net_returns, case)
    got, got_rules = run(net_returns, case)
    if want_rules is None:
        assert got_rules is None and got == want
        return
    assert got_rules is not None
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(got_rules, want_rules, check_exact=True)


@pytest.fixture(params=["rounds", "loop"])
def path(request, monkeypatch) -> str:
    """Every line netted in the vectorised rounds, or every line in the loop (small logs
    take the loop under the library's threshold)."""
    monkeypatch.setattr(ingest_netting, "_NARROW", 1 if request.param == "rounds" else 10**9)
    return request.param


# money with float rounding near 0 (0.3 - 0.2 - 0.1 > 0) and with remainders around the
# rule's 1e-9 (0.3000000002 - 0.3)
AMOUNTS = np.array([0.1, 0.2, 0.3, 0.7, 1.0, 3.3, 10.0, 0.0, 2e-10, 0.3000000002])


def random_case(seed: int, scale: int = 1) -> tuple:
    """A small log of orders and return lines drawn to hit the rule's edge cases (``scale``
    times as many customers, orders and lines)."""
    rng = np.random.default_rng(seed)
    n_customers = int(rng.integers(1, 6)) * scale
    n_orders = int(rng.integers(0 if scale == 1 else 8, 16)) * scale
    text_ids = rng.random() < 0.25  # customer ids as text (the dict path) or numbers
    id_type = rng.choice(["int64", "int64", "uint64", "float64"])  # float: 100.5, 101.5...
    engine_like = rng.random() < 0.5  # returns' ids as Python ints in an object column
    shared_ids = rng.random() < 0.3  # two customers may have an order with the same id

    def customer(c: int) -> Any:
        return f"k{c}" if text_ids else 100 + c

    cust = rng.integers(0, n_customers, n_orders)
    day = rng.integers(0, 6, n_orders)
    ids = (rng.integers(0, max(n_orders // 2, 1), n_orders) if shared_ids
           else rng.permutation(n_orders))
    amount = rng.choice(AMOUNTS, n_orders) * rng.choice([1, 1, 1, 2], n_orders)
    n_raw = 200 * scale
    rows = rng.permutation(n_raw)
    orders = pd.DataFrame({
        "customer_id": [customer(c) for c in cust] if text_ids else (100 + cust),
        "order_id": pd.array([str(i) for i in ids], dtype="str"),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, "D"),
        "amount": amount,
        "n_lines": rng.integers(1, 4, n_orders),
        "row": rows[:n_orders]})
    if rng.random() < 0.3:  # object order ids (the dict path)
        orders["order_id"] = orders["order_id"].to_numpy(dtype=object)
    if rng.random() < 0.3:  # an index that is not 0..n-1
        orders.index = rng.permutation(1000 * scale)[:n_orders] + 7
    products = ["mug", "tea", "pot"]
    held = None
    if rng.random() < 0.6:
        held = {(customer(c), str(i), p) for c, i in zip(cust, ids, strict=True)
                for p in products if rng.random() < 0.5}
    # return lines: of an order (its id, a share, the rest, all of it), of another
    # customer's order, unreferenced, zero, before everything
    n_lines = int(rng.integers(0 if scale == 1 else 8, 14)) * scale
    lines = []
    for _ in range(n_lines):
        kind = rng.integers(0, 8)
        who = int(rng.integers(0, n_customers + 1))  # n_customers: a customer without orders
        when = int(rng.integers(-1, 7))
        money = float(rng.choice(AMOUNTS))
        ref = f"C{rng.integers(0, 40 * scale)}"
        if n_orders and kind <= 3:
            o = int(rng.integers(0, n_orders))
            ref = f"C{ids[o]}"
            who = int(cust[o]) if kind <= 2 else who
            money = [float(amount[o]), float(rng.choice(AMOUNTS)),
                     float(amount[o]) / 3, money][kind]
            when = int(day[o]) + int(rng.integers(0, 3))
        elif n_orders and kind == 7:  # an order returned in two parts, 0.3 as 0.2 + 0.1
            o = int(rng.integers(0, n_orders))
            part = float(rng.choice([0.1, 0.2]))
            for money in (round(float(amount[o]) - part, 2), part):
                lines.append((int(cust[o]), int(day[o]) + 1, money, f"C{ids[o]}", "mug"))
            continue
        elif kind == 4:
            ref = f"X{rng.integers(0, 40)}"  # no reference
            money += float(rng.choice([0.0, 2e-10]))
        elif kind == 5:
            money = 0.0
        lines.append((who, when, money, ref, str(rng.choice(products))))
    n_lines = len(lines)
    line_rows = rows[n_orders:n_orders + n_lines]
    who, when, money, ref, product = (list(v) for v in zip(*lines, strict=True)) if lines \
        else ([], [], [], [], [])
    returns = pd.DataFrame({
        "row": np.asarray(line_rows, dtype=np.int64),
        "customer_id": pd.array([customer(c) for c in who], dtype=object),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.asarray(when, dtype=int), "D"),
        "amount": -np.asarray(money, dtype=float),
        "order_id": pd.array(ref, dtype="str"),
        "product": pd.array(product, dtype="str")})
    if not engine_like and not text_ids:
        returns["customer_id"] = returns["customer_id"].astype(id_type)
    if not text_ids and id_type != "int64":
        orders["customer_id"] = orders["customer_id"].astype(id_type)
        if id_type == "float64":
            orders["customer_id"] += 0.5
            returns["customer_id"] = returns["customer_id"].astype(float) + 0.5
    if rng.random() < 0.1 and n_orders:  # a date missing (NaT sorts last in pandas)
        orders.loc[orders.index[rng.integers(0, n_orders)], "date"] = pd.NaT
    if rng.random() < 0.1 and n_lines:
        returns.loc[returns.index[rng.integers(0, n_lines)], "date"] = pd.NaT
    if held is None:
        returns = returns.drop(columns="product")
    if rng.random() < 0.3:
        returns.index = rng.permutation(1000 * scale)[:n_lines] + 3
    spec = TransactionSpec(amount="amount",
                           cancellation_prefix=None if rng.random() < 0.15 else "C",
                           unmatched_returns="raise" if rng.random() < 0.2 else "drop")
    return orders, returns, held, spec, n_raw


@pytest.mark.parametrize("seed", range(200))
def test_random_logs_net_as_the_sequential_rule(seed: int, path: str) -> None:
    assert_same(random_case(seed))


@pytest.mark.parametrize("seed", range(4))
def test_larger_logs_net_in_rounds_then_in_the_loop_as_the_sequential_rule(
        seed: int, monkeypatch) -> None:
    """With the library's threshold: the wide rounds vectorised, the lines of the narrow
    last ones (customers with many returns) in the loop, in one call."""
    looped = []
    loop = ingest_netting._net_sequentially

    def counted(book, lines, which, held, flags):
        looped.append(len(which))
        return loop(book, lines, which, held, flags)

    monkeypatch.setattr(ingest_netting, "_net_sequentially", counted)
    case = random_case(seed, scale=60)
    assert_same(case)
    assert 0 < looped[0] < len(case[1]) / 2


def small_log(orders: list[tuple], returns: list[tuple], held=None,
              **spec: Any) -> tuple:
    """Orders (customer, order id, day, amount) on raw rows 0.., return lines (customer,
    order id, day, -amount, product) on the rows after."""
    n = len(orders)
    frame = pd.DataFrame(orders, columns=["customer_id", "order_id", "day", "amount"])
    frame = frame.assign(
        date=pd.Timestamp("2024-03-01") + pd.to_timedelta(frame.pop("day"), "D"),
        n_lines=1, row=np.arange(n))[["customer_id", "order_id", "date", "amount", "n_lines",
                                       "row"]]
    lines = pd.DataFrame(returns, columns=["customer_id", "order_id", "day", "amount",
                                           "product"])
    lines = lines.assign(
        date=pd.Timestamp("2024-03-01") + pd.to_timedelta(lines.pop("day"), "D"),
        row=n + np.arange(len(lines)))
    spec = TransactionSpec(amount="amount", **{"cancellation_prefix": "C", **spec})
    return frame, lines, held, spec, n + len(lines) + 3


def netted(case, path_name: str, monkeypatch) -> tuple[pd.DataFrame, pd.Series]:
    monkeypatch.setattr(ingest_netting, "_NARROW", 1 if path_name == "rounds" else 10**9)
    assert_same(case)
    out, table = run(net_returns, case)
    return out, table.set_index("rule")["rows"]


@pytest.mark.parametrize("path_name", ["rounds", "loop"])
def test_an_order_returned_in_two_parts_is_gone_despite_rounding(path_name,
                                                                 monkeypatch) -> None:
    # 0.3 - 0.2 = 0.09999999999999998: the second part (0.1) takes that and leaves 1.4e-17,
    # under 1e-9, so the earlier order of 5.00 is not touched and order 1 is returned in full
    case = small_log([(7, "2", 0, 5.0), (7, "1", 1, 0.3)],
                     [(7, "C1", 2, -0.2, "mug"), (7, "C1", 2, -0.1, "tea")])
    out, rows = netted(case, path_name, monkeypatch)
    assert out["order_id"].tolist() == ["2"] and out["amount"].tolist() == [5.0]
    assert rows["returns_netted_by_reference"] == 2
    assert rows["returns_netted_against_earlier_orders"] == 0
    assert rows["orders_returned_in_full"] == 1 and rows["unmatched_returns"] == 0


@pytest.mark.parametrize("path_name", ["rounds", "loop"])
def test_a_remainder_under_1e9_is_not_netted_further(path_name, monkeypatch) -> None:
    # 0.3000000002 without a reference: 0.3 from the latest order, 2e-10 left: done
    case = small_log([(7, "1", 0, 1.0), (7, "2", 1, 0.3)],
                     [(7, "X", 2, -0.3000000002, "mug")])
    out, rows = netted(case, path_name, monkeypatch)
    assert out["amount"].tolist() == [1.0]
    assert rows["returns_netted_against_earlier_orders"] == 1
    assert rows["orders_returned_in_full"] == 1 and rows["unmatched_returns"] == 0


@pytest.mark.parametrize("path_name", ["rounds", "loop"])
def test_earlier_orders_holding_the_product_are_netted_first(path_name,
                                                            monkeypatch) -> None:
    orders = [(7, "1", 0, 4.0), (7, "2", 1, 4.0), (8, "3", 0, 2.0)]
    lines = [(7, "X", 2, -3.0, "tea"), (8, "C9", 3, -2.5, "mug"), (9, "C3", 3, -1.0, "mug")]
    # order 1 holds tea: it gives 3 though order 2 is later; customer 8's unknown reference
    # takes order 3 whole and leaves 0.5 unmatched; customer 9 has no orders (and order 3
    # is not theirs): 1.0 unmatched
    out, rows = netted(small_log(orders, lines, held={(7, "1", "tea"), (8, "3", "mug")}),
                       path_name, monkeypatch)
    assert out["order_id"].tolist() == ["1", "2"] and out["amount"].tolist() == [1.0, 4.0]
    assert rows["returns_netted_against_earlier_orders"] == 2
    assert rows["unmatched_returns"] == 2
    # held None (a log without products): the latest order first
    out, _ = netted(small_log(orders, lines), path_name, monkeypatch)
    assert out["amount"].tolist() == [4.0, 1.0]
    frame, returns, held, spec, n_raw = small_log(orders, lines, unmatched_returns="raise")
    with pytest.raises(DataError, match="unmatched_returns='drop'") as err:
        net_returns(frame, returns, held, spec, ledger(), n_raw)
    assert err.value.n_rows == 2


@pytest.mark.parametrize("path_name", ["rounds", "loop"])
def test_held_without_a_product_column_fails_where_the_rule_did(path_name,
                                                               monkeypatch) -> None:
    """Not a log the staging makes (``held`` comes with the product column), but the rule
    read the product only for a return netted against earlier orders: so does this."""
    monkeypatch.setattr(ingest_netting, "_NARROW", 1 if path_name == "rounds" else 10**9)
    orders = [(7, "1", 0, 4.0), (7, "2", 1, 4.0)]
    by_reference, earlier = (
        (frame, lines.drop(columns="product"), *rest) for frame, lines, *rest in (
            small_log(orders, [(7, ref, 2, -1.0, "tea")], held={(7, "1", "tea")})
            for ref in ("C2", "X")))
    assert_same(by_reference)
    for fn in (reference_net_returns, net_returns):
        with pytest.raises(AttributeError, match="product"):
            fn(*earlier[:4], ledger(), earlier[4])
