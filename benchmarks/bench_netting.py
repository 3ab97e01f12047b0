"""Seconds of ``ingest_netting.net_returns`` (rules 6-7 under ``returns="net"``): the previous
design (one Python loop over the return lines, numpy on each customer's orders) against the
current one (the k-th line of every customer netted at once, the narrow last rounds in a
loop), in the same run, on the same seeded input, and whether their results are identical.

Run by hand: ``.venv/bin/python benchmarks/bench_netting.py [--customers 280000]
[--seed 0] [--repeat 3]``.

The input is synthesised directly (seconds, not the minutes ``simulate_order_lines`` needs
for 10M lines), shaped like the returning customers of ``bench_ingest.py``'s 10M-line log
as the DuckDB path hands them to ``net_returns`` (448,598 orders of 121,006 customers,
224,119 return lines, 260,415 (customer, order, product) held): orders (1-104 per
customer, 1-7 lines of 40 products, prices in cents) spread over a year; 8% of them
cancelled in full line by line (``C`` + the order id) a few days later, the lines' amounts
against the order's float sum; one line of 64,000 other orders cancelled under an invoice
of its own (netted against the customer's earlier orders, those holding the product
first); 250 returns dated before the customer's first order (unmatched). The default
280,000 customers give 384,464 orders of the 97,949 who return something, 224,179 return
lines and 262,133 held.
As the engine path passes them: only the orders of customers who return something,
customer ids int64 in the orders and Python ints in the returns, order ids text, ``held``
the purchase lines of the returned (customer, product) pairs.

Printed: the input's size, the seconds (wall, best of ``--repeat``) of each design, the
ratio, the rule counts and whether the orders (values, dtypes, order, index) and every
ledger entry are identical. The library is imported before the clock starts. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import time
from collections import namedtuple
from typing import Any

import numpy as np
import pandas as pd

from retention_kit.ingest import TransactionSpec
from retention_kit.ingest_netting import net_returns
from retention_kit.ingest_rules import Ledger, nanoseconds

PRODUCTS = np.array([f"{85000 + 7 * i}" for i in range(40)], dtype=object)


def _old_net_returns(orders: pd.DataFrame, returns: pd.DataFrame,
                held: set[tuple[Any, Any, Any]] | None, spec: TransactionSpec, ledger: Ledger,
                n_raw: int) -> pd.DataFrame:
    """``ingest_netting.net_returns`` before the fast path (commit 46ef691), verbatim: one loop
    over the return lines with numpy on each customer's orders."""
    # only the returning customers' orders can change: they are netted in their own frame
    # (sorted by customer, date and order id) and written back; the others keep their order
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
    # plain arrays: iterating pandas' Arrow-backed text columns costs a call per value
    cols = {c: ordered[c].to_numpy(dtype=object) if ordered[c].dtype != float
            else ordered[c].to_numpy() for c in ordered.columns if c != "date"}
    cols["date"] = nanoseconds(ordered["date"]).tolist()  # compared as integers
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
            if held is not None:  # orders holding the returned product first
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


def synthetic_inputs(n_customers: int, seed: int) -> tuple:
    """(orders, returns, held, spec, n_raw) shaped like the 10M-line log's returning
    customers (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-12-01T08:00", "m")
    per_customer = np.minimum(rng.geometric(0.36, n_customers), 104)
    n_orders = int(per_customer.sum())
    customer = np.repeat(10_000 + 3 * np.arange(n_customers), per_customer)
    when = start + rng.integers(0, 365 * 24 * 60, n_orders).astype("timedelta64[m]")
    n_lines = 1 + rng.binomial(6, 0.26, n_orders)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_amount = (rng.integers(1, 4, len(line_order))
                   * np.round(rng.lognormal(2.2, 0.7, len(line_order)), 2))
    line_product = PRODUCTS[rng.integers(0, len(PRODUCTS), len(line_order))]
    amount = pd.Series(line_amount).groupby(line_order).sum().to_numpy()
    order_id = np.array([f"0-{536000 + i}" for i in range(n_orders)], dtype=object)
    first_line = np.r_[0, np.cumsum(n_lines)[:-1]]
    # raw rows: the lines in a 10M-row log, orders then returns, scattered
    n_raw = 10_144_109
    # returns: 8% of the orders cancelled line by line; one line of 64,000 other orders
    # (per 280,000 customers) under an invoice of its own; 250 before everything
    full = rng.random(n_orders) < 0.08
    full_lines = np.flatnonzero(full[line_order])
    one = rng.choice(np.flatnonzero(~full), n_customers * 64 // 280, replace=False)
    one_line = first_line[one] + rng.integers(0, n_lines[one])
    early = rng.choice(n_customers, 250, replace=False)
    first_order = np.r_[0, np.cumsum(per_customer)[:-1]]
    days = rng.integers(1, 6, len(full_lines) + len(one)).astype("timedelta64[D]")
    ret_customer = np.concatenate([customer[line_order[full_lines]], customer[one],
                                   customer[first_order[early]]])
    earliest = pd.Series(when).groupby(customer).min().to_numpy()
    ret_when = np.concatenate([
        when[line_order[full_lines]] + days[:len(full_lines)],
        when[one] + days[len(full_lines):],
        earliest[early] - rng.integers(1, 30, 250).astype("timedelta64[D]")])
    ret_amount = -np.concatenate([line_amount[full_lines], line_amount[one_line],
                                  np.round(rng.lognormal(2.2, 0.7, 250), 2)])
    ret_id = np.concatenate([
        np.array(["C" + i for i in order_id[line_order[full_lines]]], dtype=object),
        np.array([f"C9-{700000 + i}" for i in range(len(one) + 250)], dtype=object)])
    ret_product = np.concatenate([line_product[full_lines], line_product[one_line],
                                  PRODUCTS[rng.integers(0, len(PRODUCTS), 250)]])
    rows = rng.choice(n_raw, n_orders + len(ret_id), replace=False)
    orders = pd.DataFrame({
        "customer_id": customer.astype("int64"),
        "order_id": pd.array(order_id, dtype="str"),
        "date": when.astype("datetime64[ns]"),
        "amount": amount,
        "n_lines": n_lines.astype("int64"),
        "row": np.sort(rows[:n_orders]),
        "country": pd.array(np.where(rng.random(n_orders) < 0.9, "United Kingdom",
                                     "Germany"), dtype="str")})
    orders = orders.sort_values("row").reset_index(drop=True)  # by first line, as staged
    orders = orders[orders["customer_id"].isin(ret_customer)].reset_index(drop=True)
    returns = pd.DataFrame({
        "row": rows[n_orders:],
        "customer_id": pd.array(ret_customer.tolist(), dtype=object),
        "date": ret_when.astype("datetime64[ns]"),
        "amount": ret_amount,
        "order_id": pd.array(ret_id, dtype="str"),
        "product": pd.array(ret_product, dtype="str"),
        "country": pd.array(np.full(len(ret_id), "United Kingdom"), dtype="str")})
    returns = returns.sort_values("row", kind="stable").reset_index(drop=True)
    # held, as the engine path collects it: the purchase lines of the (customer, product)
    # pairs returned
    returned = set(zip(ret_customer.tolist(), ret_product.tolist(), strict=True))
    held = {(c, o, p) for c, o, p in zip(customer[line_order].tolist(),
                                         order_id[line_order].tolist(),
                                         line_product.tolist(), strict=True)
            if (c, p) in returned}
    spec = TransactionSpec(amount="amount", cancellation_prefix="C", unmatched_returns="drop")
    return orders, returns, held, spec, n_raw


def _timed(fn: Any, inputs: tuple, repeat: int) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    orders, returns, held, spec, n_raw = inputs
    best = np.inf
    for _ in range(repeat):
        ledger = Ledger(lambda rows: {r: f"row {r}" for r in rows})
        wall = time.perf_counter()
        out = fn(orders, returns, held, spec, ledger, n_raw)
        best = min(best, time.perf_counter() - wall)
    return best, out, ledger.table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=280_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    inputs = synthetic_inputs(args.customers, args.seed)
    orders, returns, held = inputs[:3]
    print(f"{len(orders):,} orders of {orders['customer_id'].nunique():,} customers, "
          f"{len(returns):,} return lines, {len(held):,} held (customer, order, product)")
    old, old_out, old_rules = _timed(_old_net_returns, inputs, args.repeat)
    new, new_out, new_rules = _timed(net_returns, inputs, args.repeat)
    print(f"previous design: {old:6.3f} s   current: {new:6.3f} s   ratio {old / new:.1f}x "
          f"(wall, best of {args.repeat})")
    print(new_rules[["rule", "policy", "rows", "revenue"]].to_string(index=False))
    same = True
    try:
        pd.testing.assert_frame_equal(new_out, old_out, check_exact=True)
        pd.testing.assert_frame_equal(new_rules, old_rules, check_exact=True)
    except AssertionError as err:
        same = False
        print(err)
    print(f"identical orders and ledger: {same}")


if __name__ == "__main__":
    main()
