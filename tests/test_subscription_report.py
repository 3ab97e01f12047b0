"""The subscription report's numbers (retention_kit.reports.subscription) against independent
recomputations from the demo clients' subscriptions.csv, hand-made tables and the truth the
demo data were simulated with."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retention_kit.datasets import data_dir
from retention_kit.errors import DataError
from retention_kit.reports import ClientData, load_client
from retention_kit.reports import subscription as sub

DEMO = data_dir() / "demo"
CLIENTS = ("subscription_box", "b2b_saas")


@pytest.fixture(scope="module", params=CLIENTS)
def demo(request) -> tuple[ClientData, pd.DataFrame, dict]:
    folder = DEMO / request.param
    raw = pd.read_csv(folder / "subscriptions.csv", parse_dates=["month"],
                      dtype={"customer_id": str})
    info = json.loads((folder / "client.json").read_text())
    return load_client(folder), raw, info


@pytest.fixture(scope="module")
def forecasts() -> dict[str, sub.SubscriptionForecast]:
    return {c: sub.forecast_subscriptions(load_client(DEMO / c), holdout_months=12, n_draws=50)
            for c in CLIENTS}


def test_headline_numbers_equal_a_plain_pandas_recomputation(demo) -> None:
    client, raw, _ = demo
    k = sub.subscription_kpis(client)
    by_month = raw.loc[raw["mrr"] > 0].groupby("month")
    mrr = by_month["mrr"].sum()
    payers = by_month["customer_id"].apply(set)
    dec, nov = pd.Timestamp("2024-12-01"), pd.Timestamp("2024-11-01")
    assert k.last_period == "2024-12" and k.previous_period == "2024-11"
    assert k.mrr == pytest.approx(mrr[dec]) and k.mrr_previous == pytest.approx(mrr[nov])
    assert k.customers == len(payers[dec])
    assert k.arpa == pytest.approx(mrr[dec] / len(payers[dec]))
    assert k.logo_churn == pytest.approx(len(payers[nov] - payers[dec]) / len(payers[nov]))
    # gross revenue churn: MRR lost by those who left or paid less, over November's MRR
    wide = raw.pivot_table(index="customer_id", columns="month", values="mrr",
                           aggfunc="sum", fill_value=0.0)
    drop = (wide[nov] - wide[dec]).clip(lower=0)
    assert k.revenue_churn == pytest.approx(drop.sum() / mrr[nov])
    # NRR/GRR of the customers paying in December 2023, followed to December 2024
    start = wide[pd.Timestamp("2023-12-01")]
    base = wide.loc[start > 0]
    end = base[dec]
    assert k.nrr == pytest.approx(end.sum() / start[start > 0].sum())
    assert k.grr == pytest.approx(np.minimum(end, base[pd.Timestamp("2023-12-01")]).sum()
                                  / start[start > 0].sum())
    trends = sub.subscription_trends(client)
    assert trends["MRR"].iloc[-1] == pytest.approx(k.mrr)
    assert trends["Logo churn"].iloc[-1] == pytest.approx(k.logo_churn)
    assert np.isnan(trends["Logo churn"].iloc[0])           # no month before the first


def test_the_bridge_balances_every_month_and_in_total(demo) -> None:
    client, raw, _ = demo
    bridge = sub.mrr_bridge(client, months=12)
    rebuilt = (bridge["start"] + bridge["new"] + bridge["expansion"] - bridge["contraction"]
               - bridge["churn"] + bridge["reactivation"])
    np.testing.assert_allclose(rebuilt, bridge["end"], rtol=1e-12)
    months = bridge.drop(index="total")
    assert (months["start"].iloc[1:].to_numpy() == months["end"].iloc[:-1].to_numpy()).all()
    assert bridge.loc["total", "start"] == months["start"].iloc[0]
    assert bridge.loc["total", "end"] == pytest.approx(raw.loc[raw["month"] == "2024-12-01",
                                                               "mrr"].sum())


def test_the_failed_payment_month_of_each_demo_client_is_found(demo) -> None:
    client, _, info = demo
    spikes, sentences = sub.churn_events(client)
    (month,) = info["generator"]["failed_payments"]
    assert [str(pd.Period(m, "M")) for m in spikes.index] == [month]
    assert sentences[0].startswith(f"{month}: ") and "failed" in sentences[0]


def test_cohorts_and_survival_are_reconciled_on_the_same_customers() -> None:
    """a pays Jan-Dec; b pays Jan, skips Feb, pays Mar-Dec; c pays Jan-Mar. At 6 months:
    a and b pay (2/3), only a paid every month (1/3): b is the comeback."""
    months = pd.period_range("2024-01", "2024-12", freq="M").to_timestamp()
    rows = ([("a", m) for m in months] + [("b", m) for i, m in enumerate(months) if i != 1]
            + [("c", m) for m in months[:3]])
    subs = pd.DataFrame(rows, columns=["customer_id", "month"]).assign(plan="p", mrr=10.0)
    client = ClientData(client_id="t", transactions=pd.DataFrame(), subscriptions=subs,
                        info={}, observation_end=pd.Timestamp("2024-12-31"))
    text = sub.reconcile_sentence(client, at=6)
    assert "66.7% were paying 6 months later and 33.3% had paid every month" in text
    assert "The +33.3 points between the two" in text


def test_tenure_sentence_names_the_band_where_churn_is_highest() -> None:
    late = pd.DataFrame({"churns": [1, 1, 30], "customer_months": [100, 100, 100]},
                        index=pd.Index(["1-2", "3-5", "12-23"], name="tenure"))
    assert "months 12-23" in sub.tenure_sentence(late)
    assert "onboarding" not in sub.tenure_sentence(late)
    early = late.assign(churns=[30, 1, 1])
    assert "onboarding" in sub.tenure_sentence(early)
    flat = late.assign(churns=[10, 10, 14])       # 14% against 10% of 100: chance
    assert "does not measurably depend on tenure" in sub.tenure_sentence(flat)


def test_values_are_shown_only_as_each_plans_verdict_allows(forecasts) -> None:
    for name, forecast in forecasts.items():
        table = forecast.plan_table()
        for fit, (_, row) in zip(forecast.fits, table.iterrows(), strict=True):
            shown = np.isfinite(row["residual value"])
            assert shown == forecast.shows(fit)
            if fit.verdict == "unreliable":
                assert not shown, (name, fit.group)
            if shown and fit.verdict == "caution":
                assert row["value low"] <= row["residual value"] <= row["value high"]
        cut = sub.churn_cut_table(forecast)
        assert all(forecast.shows(forecast.fits[(g, b)])
                   for g, b in zip(cut.iloc[:, 0], cut["billing_period"], strict=True))
        assert (cut["gain"] > 0).all()
        # annual plans have renewed at most twice in three years: no value is shown
        assert all(not forecast.shows(f) for f in forecast.fits if f.billing_period == "Y")
        assert forecast.verdict in ("caution", "unreliable")
        # the summary's value carries the verdict of the plans it values, not of the plans
        # it says cannot be valued (subscription_box: ok monthly plans, unvalued annual ones)
        valued = [f.verdict for f in forecast.fits if forecast.shows(f)]
        if valued:
            worst = "caution" if "caution" in valued else "ok"
            assert f"(verdict: {worst})" in sub._value_finding(forecast, "GBP"), name


def test_the_subscriber_list_agrees_with_the_plan_table(forecasts) -> None:
    for name in CLIENTS:
        client = load_client(DEMO / name)
        forecast = forecasts[name]
        people = sub.subscriber_list(client, forecast)
        k = sub.subscription_kpis(client)
        assert people.index.is_unique
        assert (people["status"] == "paying").sum() == k.customers
        table = forecast.plan_table().set_index(["plan", "billing"])
        for (plan, billing), row in table.iterrows():
            mine = people.loc[(people["plan"] == plan) & (people["billing"] == billing)]
            if np.isfinite(row["residual value"]):
                assert mine["residual_value"].sum() == pytest.approx(row["residual value"])
            else:
                assert mine["residual_value"].isna().all()
        assert set(people["action"]) <= {"", "renewal outreach", "onboarding check-in",
                                         "win-back offer"}
        renew = people.loc[people["action"] == "renewal outreach"]
        assert (renew["billing"] == "annual").all() and (renew["months_to_renewal"] <= 3).all()


def test_a_shop_has_no_subscription_report() -> None:
    with pytest.raises(DataError, match="has no subscriptions.csv, so there is no "
                                        "subscription analysis"):
        sub.require_subscriptions(load_client(DEMO / "retailer"))


def _folder_with(tmp_path, started: list[str]) -> object:
    """A client folder whose subscriptions.csv carries a ``started`` column: A is new in
    January 2024, B paid since October 2023 (before the table began)."""
    months = ["2024-01-01", "2024-02-01", "2024-03-01"]
    rows = [("A", m, 10.0) for m in months] + [("B", m, 10.0) for m in months]
    subs = pd.DataFrame(rows, columns=["customer_id", "month", "mrr"]).assign(
        plan="basic", started=started)
    subs.to_csv(tmp_path / "subscriptions.csv", index=False)
    pd.DataFrame({"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-01-07"],
                  "amount": [10.0, 10.0]}).to_csv(tmp_path / "transactions.csv", index=False)
    return tmp_path


def test_a_client_folder_passes_started_to_the_plan_models(tmp_path) -> None:
    from retention_kit.contracts import renewal_durations

    folder = _folder_with(tmp_path, [""] * 3 + ["2023-10-15"] * 3)
    client = load_client(folder, observation_end="2024-03-31")
    assert client.subscriptions["started"].isna().sum() == 3
    d = renewal_durations(client.subscriptions, observation_end=client.observation_end)
    # B entered the table after 3 renewals (Nov, Dec, Jan) and made 5 by March; A made 2
    assert d.loc["B", ["entry", "duration", "churned"]].tolist() == [3, 5, False]
    assert d.loc["A", ["entry", "duration", "churned"]].tolist() == [0, 2, False]


def test_an_unreadable_started_value_is_refused_with_the_fix(tmp_path) -> None:
    folder = _folder_with(tmp_path, [""] * 3 + ["2023-10-15", "sometime", "2023-10-15"])
    with pytest.raises(DataError) as err:
        load_client(folder, observation_end="2024-03-31")
    text = str(err.value)
    assert "started value that is not a date" in text and "Rows affected: 1" in text
    assert "started='sometime'" in text and "leave it empty" in text


@pytest.mark.parametrize(("column", "values", "message", "example"), [
    ("mrr", ["10", "-5", "x", "10", "10", "10"],
     "subscriptions.csv has missing, non-numeric or negative mrr. Rows affected: 2",
     "row 1: mrr='-5'"),
    ("billing_period", ["M", "M", "M", "monthly", "M", "M"],
     "subscriptions.csv has a billing_period other than M or Y. Rows affected: 1",
     "row 3: billing_period='monthly'"),
    ("month", ["2024-01-01", "2024-02-01", "soon", "2024-01-01", "2024-02-01", "2024-03-01"],
     "subscriptions.csv has rows without a customer or a readable month. Rows affected: 1",
     "row 2: {'customer_id': 'A', 'month': 'soon'"),
])
def test_a_bad_subscriptions_csv_names_the_rows_and_the_fix(
        tmp_path, column: str, values: list[str], message: str, example: str) -> None:
    folder = _folder_with(tmp_path, [""] * 6)
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs = subs.assign(billing_period="M")
    subs[column] = values
    subs.to_csv(folder / "subscriptions.csv", index=False)
    with pytest.raises(DataError) as err:
        load_client(folder, observation_end="2024-03-31")
    assert str(err.value).startswith(message), str(err.value)
    assert example in str(err.value) and "How to fix" in str(err.value)
