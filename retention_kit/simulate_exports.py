"""A seeded simulator of raw retail exports: order lines with the truth of every odd row.

:func:`simulate_order_lines` draws customers as
:func:`~retention_kit.simulate.simulate_transactions` does and writes their orders the way a
shop's till exports them, with guest checkouts, postage lines, free samples, repeated lines,
cancellations that do or do not name their order, and returns of purchases made before the
export starts. It returns the truth about each kind of row, so tests can check that a
transaction spec finds exactly those rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .simulate import DateLike, RandomState, as_generator, simulate_transactions

__all__ = ["simulate_order_lines"]


#: Product codes with a unit price (the catalogue of :func:`simulate_order_lines`).
_CATALOGUE = {f"{85000 + 37 * i}{'AB'[i % 2] if i % 5 == 0 else ''}": round(0.45 + 0.37 * i, 2)
              for i in range(40)}
#: Non-product codes of the messy log: postage, with its price.
_POSTAGE = ("POST", 18.0)


def simulate_order_lines(n_customers: int, *, start: DateLike = "2023-12-01",
                         end: DateLike = "2024-11-30", guest_share: float = 0.15,
                         cancel_share: float = 0.04, n_unmatched: int = 25,
                         postage_share: float = 0.1, zero_price_share: float = 0.02,
                         duplicate_share: float = 0.05,
                         random_state: RandomState) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A retail export as shops produce it, with the truth about every odd row.

    Registered customers buy as :func:`simulate_transactions` draws them (BG/NBD at the
    CDNOW estimates, per week); each order becomes 1-6 *lines* of products (a catalogue of
    40 codes) under one invoice number, some lines repeated identically (the same item
    scanned twice: real revenue, not a double load; two lines of the same product in the
    same quantity are identical too). Then the mess:

    * guest checkouts (orders without a customer id), ``guest_share`` of the orders;
    * a postage line (code ``"POST"``) on ``postage_share`` of the orders and a free
      sample (unit price 0) on ``zero_price_share``;
    * cancellations of ``cancel_share`` of the orders, a few days later, with negative
      quantities: half reference their invoice (``"C"`` + its number) and cancel it in
      full; the other half cancel one line under an invoice number of their own;
    * ``n_unmatched`` cancellations of purchases made before the log starts (dated before
      the customer's first order in the log), which nothing can be netted against;
    * dates as day-first text (``"31/12/2024 14:05"``) and prices with a currency symbol
      (``"£3.45"``); a few customers ordering from two countries.

    Parameters
    ----------
    n_customers : int
        Registered customers.
    start, end : date-like
        The log's window.
    guest_share, cancel_share, postage_share, zero_price_share, duplicate_share : float
        Shares of orders with each kind of odd row.
    n_unmatched : int
        Cancellations with no earlier purchase in the log.
    random_state : int or numpy.random.Generator

    Returns
    -------
    (DataFrame, dict)
        The raw log (``InvoiceNo``, ``StockCode``, ``Quantity``, ``InvoiceDate``,
        ``UnitPrice``, ``CustomerID`` (float, NaN for guests, as in the UCI Online Retail
        export), ``Country``), in invoice order, and the truth: line counts and revenue of
        each kind, ``purchases_revenue`` (registered customers' product lines) and
        ``matched_returns_revenue``, the orders, the customers. ``duplicate_lines`` are the
        lines repeated on purpose; ``identical_lines`` (and their revenue) are all purchase
        lines identical in every column to an earlier line of their order: those and the
        lines that drew the same product in the same quantity by chance.

    Examples
    --------
    >>> raw, truth = simulate_order_lines(200, random_state=1)
    >>> truth["guest_lines"] > 0 and truth["unmatched_return_lines"] == 25
    True
    """
    rng = as_generator(random_state)
    orders = simulate_transactions(n_customers, start=start, end=end, random_state=rng)
    first_day, last_day = pd.Timestamp(start), pd.Timestamp(end)
    minutes = rng.integers(8 * 60, 20 * 60, len(orders))
    orders = orders.assign(date=orders["date"] + pd.to_timedelta(minutes, unit="min"),
                           guest=False)
    n_guest = int(round(guest_share * len(orders)))
    guests = pd.DataFrame({
        "customer_id": np.nan, "guest": True,
        "date": first_day + pd.to_timedelta(
            rng.integers(0, (last_day - first_day).days * 24 * 60, n_guest), unit="min")})
    orders = pd.concat([orders[["customer_id", "date", "guest"]], guests], ignore_index=True)
    orders = orders.sort_values("date", kind="stable").reset_index(drop=True)
    orders["invoice"] = [str(536365 + i) for i in range(len(orders))]
    lines = _order_lines(orders, rng, postage_share, zero_price_share, duplicate_share)
    cancels, cancelled_in_full = _cancellations(orders, lines, rng, cancel_share, last_day)
    unmatched = _unmatched_cancellations(orders, rng, n_unmatched, first_day)
    log = pd.concat([lines, cancels, unmatched], ignore_index=True)
    countries = _countries(orders, rng)
    log["Country"] = log["customer_id"].map(countries).fillna("United Kingdom")
    movers = _second_country(log, rng)
    truth = _order_line_truth(log, cancelled_in_full)
    truth["customers_in_two_countries"] = movers
    log = log.sort_values(["date", "invoice"], kind="stable").reset_index(drop=True)
    raw = pd.DataFrame({
        "InvoiceNo": log["invoice"], "StockCode": log["code"], "Quantity": log["quantity"],
        "InvoiceDate": log["date"].dt.strftime("%d/%m/%Y %H:%M"),
        "UnitPrice": [f"£{p:,.2f}" for p in log["price"]],
        "CustomerID": log["customer_id"].astype(float), "Country": log["Country"]})
    return raw, truth


def _order_lines(orders: pd.DataFrame, rng: np.random.Generator, postage_share: float,
                 zero_price_share: float, duplicate_share: float) -> pd.DataFrame:
    """Product lines of every order, plus postage, free samples and repeated lines."""
    codes = np.array(list(_CATALOGUE))
    prices = np.array(list(_CATALOGUE.values()))
    n_lines = np.minimum(1 + rng.poisson(1.5, len(orders)), 6)
    order_of_line = np.repeat(np.arange(len(orders)), n_lines)
    pick = rng.integers(0, len(codes), len(order_of_line))
    lines = pd.DataFrame({"order": order_of_line, "code": codes[pick], "price": prices[pick],
                          "quantity": 1 + rng.poisson(2.0, len(order_of_line)),
                          "kind": "product"})
    extra = []
    for share, kind, code, price in ((duplicate_share, "duplicate", None, None),
                                     (postage_share, "postage", *_POSTAGE),
                                     (zero_price_share, "zero_price", "85000", 0.0)):
        chosen = np.flatnonzero(rng.random(len(orders)) < share)
        if kind == "duplicate":
            first = lines.groupby("order").head(1).set_index("order")
            rows = first.loc[chosen].reset_index().assign(kind="duplicate")
        else:
            rows = pd.DataFrame({"order": chosen, "code": code, "price": price,
                                 "quantity": 1, "kind": kind})
        extra.append(rows)
    lines = pd.concat([lines, *extra], ignore_index=True)
    lines = lines.merge(orders[["customer_id", "date", "invoice", "guest"]], left_on="order",
                        right_index=True, how="left")
    return lines.sort_values(["order", "kind"], kind="stable").reset_index(drop=True)


def _cancellations(orders: pd.DataFrame, lines: pd.DataFrame, rng: np.random.Generator,
                   cancel_share: float, last_day: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Cancellations of registered orders: referenced in full, or one line unreferenced."""
    registered = np.flatnonzero(~orders["guest"].to_numpy())
    chosen = registered[rng.random(len(registered)) < cancel_share]
    products = lines[lines["kind"] == "product"]
    repeated = set(lines.loc[lines["kind"] == "duplicate", "order"])
    rows, in_full, number = [], 0, 900000
    for k, order in enumerate(chosen):
        when = orders.at[order, "date"] + pd.Timedelta(minutes=int(rng.integers(60, 8 * 1440)))
        if when > last_day:
            continue
        mine = products[products["order"] == order]
        if k % 2 == 0:
            part, invoice, kind = mine, "C" + orders.at[order, "invoice"], "return_referenced"
            in_full += int(order not in repeated)  # a repeated line is not cancelled
        else:
            part, invoice, kind = mine.head(1), f"C{number + k}", "return_unreferenced"
            in_full += int(len(mine) == 1 and order not in repeated)
        rows.append(part.assign(invoice=invoice, date=when, quantity=-part["quantity"],
                                kind=kind))
    return (pd.concat(rows, ignore_index=True) if rows else products.head(0)), in_full


def _unmatched_cancellations(orders: pd.DataFrame, rng: np.random.Generator, n: int,
                             first_day: pd.Timestamp) -> pd.DataFrame:
    """Returns of purchases made before the log: dated before the customer's first order."""
    registered = orders[~orders["guest"]]
    firsts = registered.groupby("customer_id")["date"].min()
    late = firsts[firsts > first_day + pd.Timedelta(days=2)]
    customers = rng.choice(late.index.to_numpy(), size=min(n, len(late)), replace=False)
    codes = np.array(list(_CATALOGUE))
    pick = rng.integers(0, len(codes), len(customers))
    span = ((late.loc[customers] - first_day) / pd.Timedelta(minutes=1)).to_numpy(dtype=int)
    return pd.DataFrame({
        "customer_id": customers, "guest": False, "kind": "return_unmatched",
        "invoice": [f"C{800000 + i}" for i in range(len(customers))],
        "date": first_day + pd.to_timedelta(rng.integers(0, span - 1), unit="min"),
        "code": codes[pick], "price": np.array(list(_CATALOGUE.values()))[pick],
        "quantity": -(1 + rng.poisson(1.0, len(customers)))})


def _countries(orders: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Each registered customer's country; about 1 in 400 orders from a second one."""
    customers = orders.loc[~orders["guest"], "customer_id"].unique()
    names = np.array(["United Kingdom", "Germany", "France", "EIRE", "Spain"])
    home = names[rng.choice(len(names), len(customers), p=[0.8, 0.06, 0.06, 0.04, 0.04])]
    return pd.Series(home, index=customers)


def _second_country(log: pd.DataFrame, rng: np.random.Generator, n: int = 3) -> int:
    """Move the last order of ``n`` repeat customers to another country (in place)."""
    product = log[(log["kind"] == "product") & ~log["guest"].to_numpy(dtype=bool)]
    per = product.groupby("customer_id")["invoice"].nunique()
    movers = rng.choice(per[per >= 2].index.to_numpy(), size=n, replace=False)
    for customer in movers:
        last = product.loc[product["customer_id"] == customer, "invoice"].max()
        rows = (log["invoice"] == last).to_numpy()
        home = log.loc[rows, "Country"].iloc[0]
        log.loc[rows, "Country"] = "Norway" if home != "Norway" else "Japan"
    return n


def _order_line_truth(log: pd.DataFrame, cancelled_in_full: int) -> dict[str, Any]:
    """Counts and revenue of each kind of row, computed from how the rows were made."""
    money = log["quantity"] * log["price"]
    guest = log["guest"].to_numpy(dtype=bool)
    kind = log["kind"].to_numpy()

    def count(mask: np.ndarray) -> int:
        return int(mask.sum())

    purchases = ~guest & np.isin(kind, ["product", "duplicate"])
    returns = np.isin(kind, ["return_referenced", "return_unreferenced"])
    unmatched = kind == "return_unmatched"
    # identical lines of one order: the repeated ones, and two lines that happen to be the
    # same product in the same quantity
    same = ["invoice", "code", "quantity", "price", "date", "customer_id", "Country"]
    identical = np.zeros(len(log), dtype=bool)
    identical[purchases] = log.loc[purchases, same].duplicated().to_numpy()
    return {
        "n_lines": len(log),
        "guest_lines": count(guest), "guest_revenue": round(float(money[guest].sum()), 2),
        "postage_lines": count(~guest & (kind == "postage")),
        "postage_revenue": round(float(money[~guest & (kind == "postage")].sum()), 2),
        "zero_price_lines": count(~guest & (kind == "zero_price")),
        "duplicate_lines": count(~guest & (kind == "duplicate")),
        "identical_lines": count(identical),
        "identical_lines_revenue": round(float(money[identical].sum()), 2),
        "purchase_lines": count(purchases),
        "purchases_revenue": round(float(money[purchases].sum()), 2),
        "return_lines_referenced": count(kind == "return_referenced"),
        "return_lines_unreferenced": count(kind == "return_unreferenced"),
        "matched_returns_revenue": round(float(-money[returns].sum()), 2),
        "unmatched_return_lines": count(unmatched),
        "unmatched_returns_revenue": round(float(-money[unmatched].sum()), 2),
        "orders": int(log.loc[purchases, "invoice"].nunique()),
        "orders_cancelled_in_full": cancelled_in_full,
        "customers": int(log.loc[purchases, "customer_id"].nunique()),
    }
