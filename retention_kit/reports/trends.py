"""The report's trends: active customers, retention, churn, revenue, orders and new
customers per period over the client's whole window.

Retention and churn are :func:`~retention_kit.reports.sections.period_retention`'s, the
definitions of the headline KPIs, so the trend's last point is the headline number.
"""

from __future__ import annotations

import pandas as pd

from ..errors import data_error
from ..notebook import check_choice
from ._common import PERIODS
from .client import ClientData
from .sections import period_retention

#: What each trend column counts, in a few words (``trends.attrs["units"]``; charts
#: print it next to the column's name).
TREND_UNITS: dict[str, str] = {
    "active_customers": "at the period's end",
    "retention": "of the previous period's active",
    "churn": "of the previous period's active",
    "revenue": "sum of amounts",
    "orders": "purchase days",
    "new_customers": "first purchase",
}
#: How each column is drawn by :func:`retention_kit.plots.plot_trends`.
_COLUMN_KINDS: dict[str, str] = {"active_customers": "count", "retention": "percent",
                                 "churn": "percent", "revenue": "money", "orders": "count",
                                 "new_customers": "count"}


def window_periods(client: ClientData, period: str = "M") -> int:
    """Periods from the one holding the first transaction to the one of the observation
    end: the ``n_periods`` of a :func:`period_retention` table that :func:`shop_trends`
    (and the headline and churn-value sections) can all reuse.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> window_periods(load_client(data_dir() / "demo" / "retailer"), "M")
    36
    """
    check_choice("period", period, list(PERIODS))
    first = pd.Period(client.transactions["date"].min(), freq=period)
    return (pd.Period(client.observation_end, freq=period) - first).n + 1


def shop_trends(client: ClientData, period: str = "M", *, inactivity_days: int = 180,
                retention: pd.DataFrame | None = None) -> pd.DataFrame:
    """Active customers, retention, churn, revenue, orders and new customers per period.

    One row per period from the one holding the first transaction to the last complete
    one before the observation end (the periods of the headline KPIs):

    * ``active_customers``, ``retention`` and ``churn``: ``end``, ``retention_rate`` and
      ``churn_rate`` of :func:`~retention_kit.reports.sections.period_retention` (a
      customer is active when her last purchase is less than ``inactivity_days`` old;
      subscription clients: she pays in the month). Retention = (end - new) / start,
      churn = lost / start, over the customers active at the end of the previous period.
    * ``revenue``: the sum of the amounts dated in the period;
    * ``orders``: purchase days in the period (a customer's transactions on one day are
      one order: the unit of the headline's orders and average order value);
    * ``new_customers``: customers whose first purchase in the data falls in the period.

    When the observation end closes a period (and the first period starts at or before
    the first transaction), the window holds the whole log: the sums of ``orders`` and
    ``revenue`` are the headline's orders and revenue.

    A shop's activity rule looks back ``inactivity_days``: at a date less than that after
    the first transaction it cannot tell a lapsed customer from one who bought before the
    data start, so nobody could yet have churned. For those periods ``active_customers``
    (and ``retention`` and ``churn`` of the period after) are left missing, not drawn as
    a ramp and a zero churn; ``attrs["not_judged"]`` gives the reason and
    ``attrs["judged_from"]`` the first period with all columns. New customers of the
    first periods include customers who bought before the data started.

    Parameters
    ----------
    client : ClientData
    period : {"W", "M", "Q"}
    inactivity_days : int, keyword-only
    retention : DataFrame, optional
        A :func:`period_retention` table of the same client, period and rule to reuse;
        it must reach back to the first period (computed when not given).

    Returns
    -------
    DataFrame
        Indexed by ``period`` (pandas Periods, oldest first): ``active_customers``,
        ``retention``, ``churn`` (fractions), ``revenue``, ``orders``, ``new_customers``.
        ``attrs``: ``period``, ``currency``, ``activity_rule``, ``units`` and ``kinds``
        per column, ``judged_from``, ``not_judged``.

    Examples
    --------
    >>> from retention_kit.datasets import data_dir
    >>> from retention_kit.reports import load_client
    >>> shop = load_client(data_dir() / "demo" / "retailer")
    >>> t = shop_trends(shop)
    >>> len(t), str(t.index[0]), str(t.index[-1]), t.attrs["judged_from"]
    (36, '2022-01', '2024-12', '2022-07')
    >>> int(t["orders"].sum()), round(float(t["churn"].iloc[-1]), 4)
    (18255, 0.1059)
    """
    check_choice("period", period, list(PERIODS))
    if isinstance(inactivity_days, bool) or not isinstance(inactivity_days, int) or \
            inactivity_days < 1:
        raise data_error(f"inactivity_days={inactivity_days!r} is not a positive whole "
                         "number of days", fix="pass e.g. inactivity_days=180")
    tx = client.transactions
    first_date = tx["date"].min()
    first = pd.Period(first_date, freq=period)
    n_periods = window_periods(client, period)
    if retention is None:
        retention = period_retention(client, period=period, n_periods=n_periods,
                                     inactivity_days=inactivity_days)
    elif retention.attrs.get("period", period) != period or first not in retention.index:
        raise data_error("the retention table given does not cover the whole window in "
                         f"{period} periods", example=f"it starts at {retention.index[0]}, "
                         f"the data at {first}",
                         fix=f"pass period_retention(client, period={period!r}, "
                         f"n_periods={n_periods}) or none")
    table = retention.loc[retention.index >= first]
    if len(table) == 0:
        raise data_error("no complete period in the data window",
                         fix="use a shorter period or more data")
    index = pd.PeriodIndex(table.index, name="period")
    in_window = tx.loc[tx["date"] <= index[-1].end_time]
    periods = in_window["date"].dt.to_period(period)
    revenue = in_window.groupby(periods)["amount"].sum()
    days = in_window.assign(_p=periods, _d=in_window["date"].dt.normalize())
    orders = days.drop_duplicates(["customer_id", "_d"]).groupby("_p").size()
    firsts = tx.groupby("customer_id")["date"].min().dt.to_period(period)
    new = firsts.value_counts()
    out = pd.DataFrame({
        "active_customers": table["end"].astype(float).to_numpy(),
        "retention": table["retention_rate"].astype(float).to_numpy(),
        "churn": table["churn_rate"].astype(float).to_numpy(),
        "revenue": revenue.reindex(index, fill_value=0.0).astype(float).to_numpy(),
        "orders": orders.reindex(index, fill_value=0).astype(int).to_numpy(),
        "new_customers": new.reindex(index, fill_value=0).astype(int).to_numpy(),
    }, index=index)
    reason = ""
    if not client.contractual:
        # active at the end of p only when the look-back window lies inside the data
        horizon = first_date.normalize() + pd.Timedelta(days=inactivity_days - 1)
        ends = pd.Series([p.end_time.normalize() for p in index], index=index)
        blind = (ends < horizon).to_numpy()
        if blind.any():
            out.loc[blind, "active_customers"] = float("nan")
            after = pd.Series(blind).shift(1, fill_value=True).to_numpy() | blind
            out.loc[after, ["retention", "churn"]] = float("nan")
            reason = (f"the {inactivity_days}-day activity rule looks back before the first "
                      f"transaction ({first_date.date()}) until {horizon.date()}")
    complete = out.notna().all(axis=1).to_numpy()
    judged_from = index[complete][0] if complete.any() else None
    out.attrs.update(kind="trends", period=period,
                     currency=str(client.info.get("currency") or ""),
                     activity_rule=str(table.attrs.get("rule", "")),
                     units=dict(TREND_UNITS), kinds=dict(_COLUMN_KINDS),
                     judged_from=None if judged_from is None else str(judged_from),
                     not_judged=reason)
    return out
