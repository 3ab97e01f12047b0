"""Tests for retention_kit.billing: invoices and subscription spells to the monthly table.

Hand-computed examples, round trips from a simulated monthly table (monthly -> invoices or
spells -> monthly gives the same table and the same MRR bridge), and exact errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_kit.billing import subscriptions_from_invoices, subscriptions_from_spells
from retention_kit.errors import DataError
from retention_kit.metrics import mrr_movements
from retention_kit.simulate import simulate_subscriptions

CANONICAL = ["customer_id", "month", "plan", "mrr"]


def months(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts))).astype("datetime64[us]")


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """Upgrades, downgrades, seat changes and reactivations over 18 months."""
    return simulate_subscriptions(400, start_month="2023-01", n_months=18, upgrade=0.05,
                                  downgrade=0.03, reactivation=0.05,
                                  seats={"median": 3, "sigma": 0.5, "expansion": 0.05,
                                         "contraction": 0.03},
                                  id_prefix="S", random_state=11)


def to_invoices(subs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One monthly invoice per paid month, dated on a random day of the month."""
    day = np.random.default_rng(seed).integers(0, 28, size=len(subs))
    return pd.DataFrame({"customer_id": subs["customer_id"].to_numpy(),
                         "date": subs["month"].to_numpy() + day.astype("timedelta64[D]"),
                         "amount": subs["mrr"].to_numpy(),
                         "plan": subs["plan"].to_numpy()}).iloc[::-1]  # order must not matter


def to_spells(subs: pd.DataFrame, last_month: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Runs of consecutive months on one plan and MRR -> (start, cancellation) spells."""
    s = subs.sort_values(["customer_id", "month"]).reset_index(drop=True)
    prev_month = s.groupby("customer_id")["month"].shift()
    same = ((s["customer_id"] == s["customer_id"].shift())
            & (s["month"] == prev_month + pd.DateOffset(months=1))
            & (s["plan"] == s["plan"].shift()) & (s["mrr"] == s["mrr"].shift()))
    spell = (~same).cumsum()
    runs = s.groupby(spell).agg(customer_id=("customer_id", "first"), first=("month", "min"),
                                last=("month", "max"), plan=("plan", "first"),
                                mrr=("mrr", "first"))
    rng = np.random.default_rng(seed)
    start = runs["first"] + pd.to_timedelta(rng.integers(0, 28, len(runs)), unit="D")
    cancel = (runs["last"] + pd.DateOffset(months=1)
              + pd.to_timedelta(rng.integers(0, 28, len(runs)), unit="D"))
    end = cancel.where(runs["last"] < last_month)  # NaT: still running at the end
    return pd.DataFrame({"customer_id": runs["customer_id"], "start": start, "end": end,
                         "mrr": runs["mrr"], "plan": runs["plan"]}).reset_index(drop=True)


# --------------------------------------------------------------------------- invoices


def test_an_annual_invoice_is_twelve_months_at_a_twelfth_of_its_price() -> None:
    invoices = pd.DataFrame({"customer_id": ["A"], "date": ["2023-03-15"],
                             "amount": [1188.0], "plan": ["pro"]})
    subs = subscriptions_from_invoices(invoices, plan_col="plan", billing_period="Y",
                                       observation_end="2024-06-30")
    assert subs["month"].tolist() == list(pd.date_range("2023-03-01", periods=12, freq="MS"))
    assert subs["mrr"].tolist() == [99.0] * 12
    assert set(subs["billing_period"]) == {"Y"} and set(subs["plan"]) == {"pro"}
    assert subs["mrr"].sum() == 1188.0
    # observed only to August 2023: the months after the end are not in the table
    cut = subscriptions_from_invoices(invoices, billing_period="Y",
                                      observation_end="2023-08-31")
    assert cut["month"].tolist() == list(pd.date_range("2023-03-01", periods=6, freq="MS"))
    assert cut.attrs["last_month_complete"] and cut.attrs["observation_end"] == pd.Timestamp(
        "2023-08-31")
    assert "plan" not in cut.columns


def test_invoices_hand_example_sum_plan_zero_and_window() -> None:
    invoices = pd.DataFrame({
        "cust": [1, 1, 1, 2, 2, 3, 2],
        "day": ["2024-01-05", "2024-02-05", "2024-02-20", "2023-11-10", "2024-03-01",
                "2024-02-11", "2024-02-27"],
        "paid": [10.0, 10.0, 25.0, 600.0, 0.0, 0.0, 7.5],
        "tier": ["basic", "basic", "pro", "team", "team", "basic", "addon"],
        "cycle": ["M", "M", "M", "Y", "M", "M", "M"]})
    before = invoices.copy()
    subs = subscriptions_from_invoices(invoices, customer_col="cust", date_col="day",
                                       amount_col="paid", plan_col="tier",
                                       billing_period_col="cycle",
                                       observation_start="2024-01-01",
                                       observation_end="2024-03-15")
    pd.testing.assert_frame_equal(invoices, before)  # not mutated
    expected = pd.DataFrame({
        "customer_id": [1, 2, 1, 2, 2],
        "month": months("2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"),
        # Feb: customer 1 pays 10 + 25 on two invoices, the plan of the larger (pro); customer
        # 2 pays 600 / 12 = 50 of the annual plan and an add-on of 7.5 (plan stays team);
        # 2's March invoice of 0 adds nothing to the annual plan; 3 never pays
        "plan": ["basic", "team", "pro", "team", "team"],
        "mrr": [10.0, 50.0, 35.0, 57.5, 50.0],
        "billing_period": ["M", "Y", "M", "Y", "Y"],
        # customer 2 started in November 2023, before the window
        "started": months("2024-01-01", "2023-11-01", "2024-01-01", "2023-11-01",
                          "2023-11-01")})
    pd.testing.assert_frame_equal(subs, expected, check_dtype=False)
    assert subs["month"].dtype == "datetime64[us]"
    assert subs.attrs["n_zero_invoices"] == 2 and subs.attrs["n_invoices"] == 7
    assert not subs.attrs["last_month_complete"]  # 15 March: March is incomplete
    assert 3 not in set(subs["customer_id"])


def test_invoices_round_trip_to_the_simulated_table(simulated: pd.DataFrame) -> None:
    invoices = to_invoices(simulated, seed=1)
    subs = subscriptions_from_invoices(invoices, plan_col="plan",
                                       observation_end="2024-06-30")
    pd.testing.assert_frame_equal(subs[CANONICAL], simulated[CANONICAL], check_dtype=False)
    assert (subs["billing_period"] == "M").all()
    first = simulated.groupby("customer_id")["month"].transform("min")
    assert (subs["started"].to_numpy() == first.to_numpy()).all()
    pd.testing.assert_frame_equal(mrr_movements(subs), mrr_movements(simulated))


# --------------------------------------------------------------------------- spells


def test_spells_hand_example_rules() -> None:
    spells = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E", "A"],
        "start": ["2024-01-15", "2024-02-10", "2024-03-01", "2024-02-05", "2024-03-03",
                  "2024-04-20"],
        #  A: cancelled in March -> Jan, Feb; B: cancelled in its start month -> Feb only;
        #  C: cancellation after the end -> still paying in April; D: running (empty text);
        #  E: free plan -> no rows; A again from April on (and overlaps nothing)
        "end": ["2024-03-02", "2024-02-25", "2024-07-01", "", None, None],
        "mrr": [10.0, 20.0, 30.0, 40.0, 0.0, 15.0],
        "period": ["M", "M", "Y", "M", "M", "M"]})
    subs = subscriptions_from_spells(spells, billing_period_col="period",
                                     observation_end="2024-04-30")
    got = {(c, str(m.date())[:7]): v for c, m, v in
           zip(subs["customer_id"], subs["month"], subs["mrr"], strict=True)}
    assert got == {("A", "2024-01"): 10.0, ("A", "2024-02"): 10.0, ("B", "2024-02"): 20.0,
                   ("D", "2024-02"): 40.0, ("C", "2024-03"): 30.0, ("D", "2024-03"): 40.0,
                   ("A", "2024-04"): 15.0, ("C", "2024-04"): 30.0, ("D", "2024-04"): 40.0}
    assert list(subs["month"]) == sorted(subs["month"])  # sorted by month, then customer
    assert subs.loc[subs["customer_id"] == "C", "billing_period"].tolist() == ["Y", "Y"]
    assert (subs.loc[subs["customer_id"] == "A", "started"] == pd.Timestamp("2024-01-01")).all()
    assert subs.attrs["n_free_spells"] == 1 and subs.attrs["n_spells"] == 6
    # two overlapping subscriptions of one customer add up; the plan is the larger one's
    two = pd.DataFrame({"customer_id": ["A", "A"], "start": ["2024-01-01", "2024-02-01"],
                        "end": [None, None], "mrr": [10.0, 5.0], "plan": ["pro", "extra"]})
    both = subscriptions_from_spells(two, plan_col="plan", observation_end="2024-02-29")
    assert both["mrr"].tolist() == [10.0, 15.0] and both["plan"].tolist() == ["pro", "pro"]


def test_spells_round_trip_and_true_start_in_a_window(simulated: pd.DataFrame) -> None:
    end = pd.Timestamp("2024-06-30")
    spells = to_spells(simulated, pd.Timestamp("2024-06-01"), seed=2)
    before = spells.copy()
    subs = subscriptions_from_spells(spells, plan_col="plan", observation_end=end)
    pd.testing.assert_frame_equal(spells, before)
    pd.testing.assert_frame_equal(subs[CANONICAL], simulated[CANONICAL], check_dtype=False)
    moves = mrr_movements(subs)
    pd.testing.assert_frame_equal(moves, mrr_movements(simulated))
    # the bridge balances and its churn is the MRR of the spells cancelled (not re-started)
    assert moves["churn"].sum() == pytest.approx(
        (moves["start"] + moves["new"] + moves["expansion"] - moves["contraction"]
         + moves["reactivation"] - moves["end"]).sum())
    # cut to a window from 2024-01: same months from there, true starts kept
    window = subscriptions_from_spells(spells, plan_col="plan", observation_end=end,
                                       observation_start="2024-01-15")
    inside = subs.loc[subs["month"] >= "2024-01-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(window, inside)
    early = window.groupby("customer_id")["started"].first() < pd.Timestamp("2024-01-01")
    assert window.attrs["n_started_before_window"] == int(early.sum()) > 50


# --------------------------------------------------------------------------- errors

INVOICES = pd.DataFrame({"customer_id": ["A", "A", "B"],
                         "date": ["2024-01-03", "2024-02-03", "2024-02-10"],
                         "amount": [10.0, 10.0, 1200.0], "period": ["M", "M", "Y"]})
SPELLS = pd.DataFrame({"customer_id": ["A", "B"], "start": ["2024-01-15", "2024-03-01"],
                       "end": ["2024-02-01", ""], "mrr": [10.0, 5.0]})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: subscriptions_from_invoices(INVOICES.assign(amount=[10.0, -10.0, 1200.0])),
     "amounts in column 'amount' are negative (refunds or credits). Rows affected: 1. First "
     "example: row 1: customer_id='A', date='2024-02-03', amount=-10.0. How to fix: net each "
     "refund or credit note against the invoice it refunds first; a fully refunded invoice "
     "then has amount 0 and pays for no month."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(period=["M", "monthly", "annual"]),
                                         billing_period_col="period"),
     "billing periods in column 'period' are not 'M' or 'Y' (values seen: ['annual', "
     "'monthly']). Rows affected: 2. First example: row 1: customer_id='A', date='2024-02-03', "
     "period='monthly'. How to fix: map them first, e.g. df['period'] = df['period'].map("
     "{'monthly': 'M', 'annual': 'Y'}), then pass billing_period_col again."),
    (lambda: subscriptions_from_invoices(INVOICES, billing_period="annual"),
     "billing_period='annual' is not one of ['M', 'Y']. How to fix: pass billing_period='M' "
     "(monthly invoices) or 'Y' (annual invoices), or name a column with billing_period_col."),
    (lambda: subscriptions_from_invoices(INVOICES.rename(columns={"amount": "Amount"})),
     "the invoice table has no column 'amount' (amount_col (the amount invoiced)); its columns "
     "are ['customer_id', 'date', 'Amount', 'period']. Rows affected: 3. How to fix: did you "
     "mean 'Amount'? rename the column or pass its name with the amount_col argument."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(date=["2024-01-03", "soon", "x"])),
     "dates in column 'date' cannot be read. Rows affected: 2. First example: row 1: "
     "customer_id='A', date='soon'. How to fix: repair these values or store ISO dates such "
     "as '2024-01-31'; check that date_col names the date column."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(date=["03/01/2024"] * 3)),
     "dates in column 'date' write the day and the month as numbers, which is ambiguous "
     "(03/04/2024 is 3 April day-first and 4 March month-first). Rows affected: 3. First "
     "example: row 0: customer_id='A', date='03/01/2024'. How to fix: parse them yourself: "
     "df['date'] = pd.to_datetime(df['date'], dayfirst=True) (or format='%m/%d/%Y' for "
     "month-first dates)."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(date=[np.nan, "2024-01-01", np.nan])),
     "2 invoices have no date in column 'date'. Rows affected: 2. First example: row 0: "
     "customer_id='A', date=nan. How to fix: repair or drop these rows, or name the date "
     "column with date_col."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(amount=["10", "x", 3])),
     "amounts in column 'amount' are missing or not numbers. Rows affected: 1. First example: "
     "row 1: customer_id='A', date='2024-02-03', amount='x'. How to fix: repair or drop these "
     "rows (0 means nothing was paid)."),
    (lambda: subscriptions_from_invoices(INVOICES, observation_end="2024-01-31"),
     "invoices dated after the observation end 2024-01-31. Rows affected: 2. First example: "
     "row 1: customer_id='A', date='2024-02-03'. How to fix: keep only invoices up to the "
     "end, invoices[invoices['date'] <= '2024-01-31'], or pass a later observation_end."),
    (lambda: subscriptions_from_invoices(INVOICES.assign(customer_id=["A", np.nan, "B"])),
     "rows without a customer id in column 'customer_id'. Rows affected: 1. First example: "
     "row 1: customer_id=nan, date='2024-02-03'. How to fix: drop these rows or give them "
     "an id; a payment without a customer cannot be followed month to month."),
    (lambda: subscriptions_from_spells(SPELLS.assign(end=["2024-01-01", None]),
                                       observation_end="2024-06-30"),
     "subscriptions are cancelled before they start. Rows affected: 1. First example: row 0: "
     "customer_id='A', start='2024-01-15', end='2024-01-01'. How to fix: check that start_col "
     "and end_col are not swapped, and repair these rows."),
    (lambda: subscriptions_from_spells(SPELLS, observation_end="2024-02-28"),
     "subscriptions start after the observation end 2024-02-28. Rows affected: 1. First "
     "example: row 1: customer_id='B', start='2024-03-01', end=''. How to fix: keep only "
     "subscriptions started by the end, table[table['start'] <= '2024-02-28'], or pass a "
     "later observation_end."),
    (lambda: subscriptions_from_spells(SPELLS.assign(mrr=[10.0, -5.0]),
                                       observation_end="2024-06-30"),
     "MRR in column 'mrr' are negative (refunds or credits). Rows affected: 1. First example: "
     "row 1: customer_id='B', start='2024-03-01', mrr=-5.0. How to fix: MRR is what the "
     "subscription pays a month; give a refunded or free subscription 0 and net credits "
     "against the MRR they reduce."),
    (lambda: subscriptions_from_spells(SPELLS.assign(end=["2024-02-01", "next year"]),
                                       observation_end="2024-06-30"),
     "dates in column 'end' cannot be read. Rows affected: 1. First example: row 1: "
     "customer_id='B', start='2024-03-01', end='next year'. How to fix: repair these values "
     "or store ISO dates such as '2024-01-31'; check that end_col names the date column."),
])
def test_bad_billing_data_gives_the_exact_error(call, message: str) -> None:
    with pytest.raises(DataError) as err:
        call()
    assert str(err.value) == message


def test_not_a_frame_and_a_missing_observation_end() -> None:
    with pytest.raises(TypeError, match="invoices must be a pandas DataFrame, not list"):
        subscriptions_from_invoices([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="observation_end"):
        subscriptions_from_spells(SPELLS)  # type: ignore[call-arg]
    all_running = SPELLS.assign(end=[np.nan, np.nan])  # a float column of NaN: all active
    subs = subscriptions_from_spells(all_running, observation_end="2024-03-31")
    assert len(subs) == 4  # A Jan-Mar, B Mar
