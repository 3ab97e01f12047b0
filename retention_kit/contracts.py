"""Contractual retention models used right: per plan, in the plan's renewal periods, with
delayed entry, a model choice and a holdout check, and the residual value of the base.

A subscription business observes churn. Its customers renew at fixed opportunities (every
month on a monthly plan, every year on an annual one), and the models of
:mod:`retention_kit.models.sbg` describe how long they stay:

* :func:`renewal_durations`: the canonical monthly subscription table (one row per customer
  per paid month) to one row per customer: ``duration`` in renewal periods of *her* plan
  (months for monthly billing, years for annual billing), ``churned``, and ``entry`` (delayed
  entry: the renewals she had already made when the table begins, for a log that starts in
  the middle of her tenure).
* :func:`fit_contract_models`: per plan, the shifted-beta-geometric (sBG, Fader & Hardie
  2007) and the beta-discrete-Weibull (BdW, Fader, Hardie, Liu, Davin & Steenburgh 2018),
  both fitted with delayed entry; the likelihood-ratio test of BdW against sBG picks one;
  a holdout of the last renewal periods checks it (predicted against actual churners).
* :func:`residual_value`: per current subscriber, the discounted expected residual
  lifetime (DERL, Fader & Hardie 2010, "Customer-base valuation in a contractual setting:
  the perils of ignoring heterogeneity", *Marketing Science* 29(1), 85-93) and the value of
  the renewals to come; :func:`by_tenure_band` sums it up by tenure.

Why per plan and in the plan's own periods: an annual customer can only leave once a year,
so counting her tenure in months makes eleven months of every year look like "no churn"
and the model's monthly churn meaningless; and plans differ in who buys them. Why delayed
entry: a log that begins when the business already had customers holds only those who had
not left before it began; fitted as if observed from their start, long-lived customers are
over-represented and retention is overstated (see :func:`retention_kit.simulate.
simulate_contract_snapshot`).

Nothing here modifies its input.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import discount_rate as check_discount_rate
from ._checks import first_example, flag, nonnegative_columns, number, require_columns
from .clv import expected_discounted_payments, parameter_draws, with_params
from .diagnostics import Diagnostics, Finding, describe_error, error_verdict, identification
from .diagnostics.snapshot import MIN_CHURNERS, PILE_RATIO
from .errors import ConvergenceError, DataError
from .models import SBG, BdW
from .models.sbg import LIMIT_SIZE

__all__ = [
    "LR_LEVEL",
    "PERIOD_MONTHS",
    "ContractFit",
    "ContractModels",
    "HoldoutCheck",
    "by_tenure_band",
    "churn_cut_value",
    "fit_contract_models",
    "renewal_durations",
    "residual_value",
]

#: Months in one renewal period, by ``billing_period``.
PERIOD_MONTHS: dict[str, int] = {"M": 1, "Y": 12}
#: BdW is chosen over sBG when the likelihood-ratio test rejects c = 1 at this level.
LR_LEVEL = 0.05
_MODEL_CLASSES = {"sBG": SBG, "BdW": BdW}


# =====================================================================================
# the subscription table to renewal durations
# =====================================================================================


def _month_ordinals(values: pd.Series, name: str) -> np.ndarray:
    """Monthly period ordinals of a date column (datetime, "2024-01" strings or Periods)."""
    if isinstance(values.dtype, pd.PeriodDtype):
        values = values.dt.to_timestamp()
    try:
        stamps = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise DataError(f"column {name!r} does not hold dates ({exc})",
                        fix=f"pass {name} as datetime64 (the first day of the month)") from exc
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return pd.PeriodIndex(stamps.dt.to_period("M")).asi8.astype(np.int64)


def _month_label(ordinal: int) -> str:
    return str(pd.PeriodIndex.from_ordinals([int(ordinal)], freq="M")[0])


def renewal_durations(subscriptions: pd.DataFrame, *, observation_end: object = None,
                      by: str | None = "plan", keep_new: bool = False) -> pd.DataFrame:
    r"""One row per customer: renewal periods of her plan made, churn, delayed entry.

    The input is the canonical monthly subscription table: one row per customer per paid
    month, with ``customer_id``, ``month`` (datetime64, first day of the month), ``plan``
    (str), ``mrr`` (monthly recurring revenue; rows with 0 are unpaid months, several rows
    of a customer in one month are added up) and optionally

    * ``billing_period``: ``"M"`` (default) or ``"Y"``. An annual plan pays MRR = price/12
      every month but can only be left at a yearly renewal, so its durations are counted in
      **years**.
    * ``started``: the customer's true subscription start when it precedes her first row
      (a log that begins mid-tenure). Missing values mean "her first paid month".

    With s her start month, l her last paid month, E the month of ``observation_end``, T0
    the table's first month and p the months of her renewal period (1 or 12), renewal k
    falls on month s + k·p and::

        churned  = l < E
        duration = ceil((l - s + 1) / p)   if churned (she left at that renewal)
                 = floor((E - s) / p)      otherwise (renewals made so far, censored)
        entry    = floor(max(0, T0 - s) / p)   (renewals made before the table began)

    For a monthly plan observed from her start this is :func:`retention_kit.cohorts.
    durations_to_renewals` of :func:`retention_kit.cohorts.churn_durations`: a customer who
    paid January to March and not April left at renewal 3; one still paying in her third
    month has renewed twice. A customer who stopped paying and came back later has one row
    per unbroken run of paid months (a *spell*, numbered in ``spell``): the first ended in
    churn, the comeback is a new subscription whose tenure starts again at its first month.
    Counting the gap as part of one lifetime would hide the churn (a model of it would see
    fewer churners than there were) and credit the comeback with the first spell's tenure.
    An annual customer who stops paying mid-year is counted as leaving at her next renewal.
    Her ``entry`` makes the models condition on her having stayed until the table began
    (left truncation); customers who left before it are not in the table.

    A customer's group (``by``, default her plan) and ``billing_period`` are those of her
    last paid month (the row with the largest MRR when she has several that month): a
    customer who moved from "basic" to "pro" is a "pro" customer with her whole tenure.

    Parameters
    ----------
    subscriptions : DataFrame
        The monthly table described above; not modified.
    observation_end : date-like, optional
        Last observed month (any day in it); default the last month in the table. Rows
        after it are refused.
    by : str or None, default "plan"
        Column that groups customers into separately modelled plans; None for one group
        ``"all"``.
    keep_new : bool, default False
        Keep the current customers who have made no renewal yet (``duration`` 0, in their
        first period), e.g. to value them with :func:`residual_value`. They carry no
        information for the models (:func:`fit_contract_models` leaves them out) and are
        dropped by default, counted in ``attrs["no_renewal_yet"]``.

    Returns
    -------
    DataFrame
        Indexed by customer id, one row per spell (most customers have one): the group
        column (``by``, or ``"group"``),
        ``billing_period``, ``period_months`` (1 or 12), ``start`` (first day of her start
        month), ``duration``, ``churned``, ``entry`` (int, bool, int), ``mrr`` (the MRR of
        her last paid month: current MRR for current customers), ``tenure_months`` (months
        from her start to her last paid month or to E, both included), ``spell`` (1 for
        her first run of paid months, 2 after her first comeback, ...). ``attrs``:
        ``kind="renewal_durations"``, ``observation_end`` and ``table_start`` ("YYYY-MM"),
        ``group_col``, ``n_never_paid`` and ``no_renewal_yet`` ({(group, billing_period):
        customers}).

    Examples
    --------
    Customer 1 paid January to March (monthly) and left; customer 2 pays monthly from
    February; customer 3 is on an annual plan since January 2023, before the table began:
    her first yearly renewal fell in January 2024 (entry 1), her second is due in January
    2025:

    >>> subs = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3],
    ...     "month": pd.to_datetime(["2024-01", "2024-02", "2024-03", "2024-02", "2024-03",
    ...                              "2024-04", "2024-05", "2024-01", "2024-02", "2024-03",
    ...                              "2024-04", "2024-05"]),
    ...     "plan": ["basic"] * 7 + ["pro"] * 5, "mrr": [10.0] * 7 + [50.0] * 5,
    ...     "billing_period": ["M"] * 7 + ["Y"] * 5,
    ...     "started": pd.to_datetime([None] * 7 + ["2023-01-01"] * 5)})
    >>> renewal_durations(subs)[["plan", "billing_period", "duration", "churned", "entry",
    ...                          "tenure_months"]]
                  plan billing_period  duration  churned  entry  tenure_months
    customer_id
    1            basic              M         3     True      0              3
    2            basic              M         3    False      0              4
    3              pro              Y         1    False      1             17
    """
    if not isinstance(subscriptions, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(subscriptions).__name__}")
    keep_new = flag("keep_new", keep_new)
    group_col = "group" if by is None else by
    needed = {"customer_id": "customer id", "month": "billing month (first day)",
              "mrr": "monthly recurring revenue"}
    if by is not None:
        needed[by] = "the plan (or other group) of each row"
    require_columns(subscriptions, needed, what="the subscription table")
    if subscriptions.empty:
        raise DataError("the subscription table has no rows",
                        fix="pass one row per customer per paid month")
    cols = ["customer_id", "month", "mrr"] + ([by] if by is not None else [])
    nonnegative_columns(subscriptions, ["mrr"], shown=cols,
                        negative_fix="mrr is the monthly recurring revenue of a paid month "
                        "(0 for an unpaid month); net refunds against their month")
    month = _month_ordinals(subscriptions["month"], "month")
    mrr = pd.to_numeric(subscriptions["mrr"]).to_numpy(dtype=float)
    if "billing_period" in subscriptions.columns:
        billing = subscriptions["billing_period"].astype("object").to_numpy()
        bad = ~np.isin(billing, list(PERIOD_MONTHS))
        if bad.any():
            raise DataError(
                "billing_period is not 'M' or 'Y'", n_rows=int(bad.sum()),
                example=first_example(subscriptions, bad, cols + ["billing_period"]),
                fix="'M' for monthly renewals, 'Y' for annual contracts paid as MRR = price/12")
    else:
        billing = np.full(len(subscriptions), "M", dtype=object)
    groups = (subscriptions[by].astype("object").to_numpy() if by is not None
              else np.full(len(subscriptions), "all", dtype=object))
    missing_group = pd.isna(groups)
    if missing_group.any():
        raise DataError(f"{by} is missing", n_rows=int(missing_group.sum()),
                        example=first_example(subscriptions, missing_group, cols),
                        fix=f"fill {by} for every row (the plan the month was paid on)")
    table_start = int(month.min())
    if observation_end is None:
        end = int(month.max())
    else:
        end = int(pd.Period(pd.Timestamp(observation_end), freq="M").ordinal)
        late = month > end
        if late.any():
            raise DataError(
                f"rows after observation_end ({_month_label(end)})", n_rows=int(late.sum()),
                example=first_example(subscriptions, late, cols),
                fix="filter the table to the observed months or pass a later observation_end")
    rows = pd.DataFrame({"customer": subscriptions["customer_id"].to_numpy(), "month": month,
                         "mrr": mrr, "group": groups, "billing": billing})
    paid = rows.loc[rows["mrr"] > 0]
    n_never = int(rows["customer"].nunique() - paid["customer"].nunique())
    if paid.empty:
        raise DataError("no customer has a paid month (every mrr is 0)", n_rows=len(rows),
                        fix="check the mrr column")
    paid = paid.sort_values(["customer", "month", "mrr"], kind="stable")
    same = (paid["customer"].to_numpy()[1:] == paid["customer"].to_numpy()[:-1])
    gap = np.diff(paid["month"].to_numpy()) > 1
    paid["spell"] = np.r_[0, np.cumsum(~same | gap)]
    per = paid.groupby("spell", sort=True)
    first, last = per["month"].min(), per["month"].max()
    last_rows = paid.drop_duplicates("spell", keep="last").set_index("spell")
    month_mrr = paid.groupby(["spell", "month"], sort=True)["mrr"].sum()
    current_mrr = month_mrr.groupby(level=0).last()
    spell_customer = last_rows["customer"]
    spell_number = (spell_customer.groupby(spell_customer.to_numpy()).cumcount() + 1)
    first_spell = spell_number.to_numpy() == 1
    start = first.to_numpy().copy()
    if "started" in subscriptions.columns:
        started = pd.Series(pd.to_datetime(subscriptions["started"]).to_numpy(),
                            index=rows.index)
        given = started.notna().to_numpy()
        if given.any():
            ords = pd.Series(_month_ordinals(started.loc[given], "started"),
                             index=rows.index[given])
            by_customer = ords.groupby(rows.loc[given, "customer"].to_numpy()).min()
            s = pd.Series(by_customer.reindex(spell_customer.to_numpy()).to_numpy(),
                          index=first.index).where(first_spell)
            after = (s > first).to_numpy()
            if after.any():
                bad_ids = spell_customer.to_numpy()[after]
                mask = rows["customer"].isin(bad_ids).to_numpy() & given
                raise DataError(
                    "started is after the customer's first paid month",
                    n_rows=int(after.sum()),
                    example=first_example(subscriptions, mask, cols + ["started"]),
                    fix="started is the true subscription start, at or before her first row; "
                    "leave it empty when her first row is her start")
            start = np.where(s.notna().to_numpy(), s.to_numpy(dtype=float), start).astype(
                np.int64)
    p = np.array([PERIOD_MONTHS[b] for b in last_rows["billing"].to_numpy()], dtype=np.int64)
    last_m = last.to_numpy()
    churned = last_m < end
    duration = np.where(churned, -((start - last_m - 1) // p), (end - start) // p)
    entry = np.maximum(0, table_start - start) // p
    tenure = np.where(churned, last_m, end) - start + 1
    out = pd.DataFrame({
        group_col: last_rows["group"].to_numpy(),
        "billing_period": last_rows["billing"].to_numpy().astype(str),
        "period_months": p,
        "start": pd.PeriodIndex.from_ordinals(start, freq="M").to_timestamp(),
        "duration": duration.astype(np.int64),
        "churned": churned,
        "entry": entry.astype(np.int64),
        "mrr": current_mrr.to_numpy(dtype=float),
        "tenure_months": tenure.astype(np.int64),
        "spell": spell_number.to_numpy(dtype=np.int64),
    }, index=pd.Index(spell_customer.to_numpy(),
                      name=subscriptions["customer_id"].name or "customer_id"))
    new = out["duration"] == 0
    counts = out.loc[new].groupby([group_col, "billing_period"]).size()
    if not keep_new:
        out = out.loc[~new].copy()
    out.attrs.update(kind="renewal_durations", observation_end=_month_label(end),
                     table_start=_month_label(table_start), group_col=group_col,
                     n_never_paid=n_never,
                     no_renewal_yet={k: int(v) for k, v in counts.items()})
    return out


# =====================================================================================
# fitting per plan
# =====================================================================================


@dataclass(frozen=True)
class HoldoutCheck:
    """A plan's model refitted without its last renewal periods, against what happened.

    Attributes
    ----------
    model : str
        ``"sBG"`` or ``"BdW"`` (the model chosen on all the data).
    periods : int
        Renewal periods held out (months or years, see ``period_months``).
    period_months : int
    calibration_end, holdout_end : str
        Months ("YYYY-MM"): the model saw the data up to the first (censored there).
    customers : int
        Customers still subscribed at the calibration end (the ones predicted).
    predicted : float
        Expected number of them who leave in the holdout:
        Σ [1 - S(n+k)/S(n)] over their renewals made n, k = ``periods``.
    actual : int
        How many left.
    noise : float
        Relative sampling noise of ``actual`` under the model, sqrt(Σ q(1-q)) / predicted
        (q: each customer's predicted churn probability): errors of this size are chance.
    """

    model: str
    periods: int
    period_months: int
    calibration_end: str
    holdout_end: str
    customers: int
    predicted: float
    actual: int
    noise: float

    @property
    def error(self) -> float:
        """predicted / actual - 1 (churners in the holdout)."""
        return self.predicted / self.actual - 1 if self.actual > 0 else math.inf

    @property
    def verdict(self) -> str:
        """:func:`retention_kit.diagnostics.error_verdict` of :attr:`error` (10%, 25%),
        except that an error within twice the sampling noise is at worst a caution: a
        holdout with few churners cannot tell a wrong model from chance, so it neither
        confirms the model nor rules it out."""
        verdict = error_verdict(self.error)
        if verdict == "unreliable" and self._within_noise:
            return "caution"
        return verdict

    @property
    def _within_noise(self) -> bool:
        return bool(np.isfinite(self.error) and abs(self.error) <= 2 * self.noise)

    def finding(self) -> Finding:
        """The check as a "holdout fit" :class:`~retention_kit.diagnostics.Finding`."""
        unit = "month" if self.period_months == 1 else "year"
        reason = (f"Fitted up to {self.calibration_end}, {self.model} predicted that "
                  f"{self.predicted:,.1f} of the {self.customers:,} subscribers of then would "
                  f"leave in the {self.periods} {unit}{'s' if self.periods != 1 else ''} to "
                  f"{self.holdout_end}; {self.actual:,} did: it "
                  f"{describe_error(self.error)} (chance alone moves this count by about "
                  f"±{self.noise:.0%}).")
        if self._within_noise and error_verdict(self.error) == "unreliable":
            reason += (" That is within twice the chance variation: too few churners to "
                       "confirm the model or to rule it out.")
        fix = "" if self.verdict == "ok" else (
            "a longer history (more renewals observed before the holdout), or a check of what "
            "changed in the holdout (price, product, season)")
        return Finding("holdout fit", self.verdict, reason, fix=fix, value=self.error,
                       rule="churners in the holdout: |error| <= 10% ok, <= 25% caution, "
                       "else unreliable unless within twice the chance variation (caution)")


@dataclass(frozen=True)
class ContractFit:
    """The contractual models of one plan (see :func:`fit_contract_models`).

    Attributes
    ----------
    group, billing_period : str
        The plan and its billing (``"M"`` or ``"Y"``).
    period_months : int
        Months in one renewal period: the unit of every duration and parameter (1 or 12).
    customers, churners, no_renewal_yet : int
        Customers fitted, of whom churned; current customers left out (in their first
        period, no renewal made yet).
    sbg, bdw : SBG, BdW or None
        Both fitted with delayed entry (None when they cannot be: see ``diagnostics``).
    lr_statistic, lr_pvalue : float
        2·(loglik BdW - loglik sBG) and its χ²(1) p-value (NaN without both models).
    chosen : str or None
        ``"BdW"`` when p < :data:`LR_LEVEL`, else ``"sBG"``; None without a model.
    choice_sentence : str
    holdout : HoldoutCheck or None
    diagnostics : Diagnostics
        Identification of the chosen model, the model choice, starts before the table,
        the holdout fit.
    """

    group: Any
    billing_period: str
    period_months: int
    customers: int
    churners: int
    no_renewal_yet: int
    sbg: SBG | None
    bdw: BdW | None
    lr_statistic: float
    lr_pvalue: float
    chosen: str | None
    choice_sentence: str
    holdout: HoldoutCheck | None
    diagnostics: Diagnostics

    @property
    def model(self) -> SBG | BdW | None:
        """The chosen fitted model (None without one)."""
        return {"sBG": self.sbg, "BdW": self.bdw}.get(self.chosen or "")

    @property
    def verdict(self) -> str:
        """The worst verdict of :attr:`diagnostics`."""
        return self.diagnostics.verdict


@dataclass(frozen=True)
class ContractModels:
    """Fitted contractual models, one :class:`ContractFit` per (group, billing period).

    Index it with the group (``result["pro"]``) or ``(group, billing_period)``.
    """

    fits: tuple[ContractFit, ...]
    group_col: str

    def __iter__(self) -> Iterator[ContractFit]:
        return iter(self.fits)

    def __len__(self) -> int:
        return len(self.fits)

    def __getitem__(self, key: Any) -> ContractFit:
        matches = [f for f in self.fits if (f.group, f.billing_period) == key
                   or (not isinstance(key, tuple) and f.group == key)]
        if len(matches) != 1:
            known = [(f.group, f.billing_period) for f in self.fits]
            what = "several" if matches else "no"
            raise KeyError(f"{what} fits for {key!r}; the fits are {known}")
        return matches[0]

    @property
    def verdict(self) -> str:
        """The worst verdict of the plans."""
        return Diagnostics(tuple(x for f in self.fits for x in f.diagnostics)).verdict

    def to_frame(self) -> pd.DataFrame:
        """One row per plan: counts, both models' parameters, the test, the holdout, verdict.

        Parameters are per renewal period of the plan (``period_months``).
        """
        rows = []
        for f in self.fits:
            row: dict[str, Any] = {
                self.group_col: f.group, "billing_period": f.billing_period,
                "period_months": f.period_months, "customers": f.customers,
                "churners": f.churners, "no_renewal_yet": f.no_renewal_yet,
                "model": f.chosen}
            for name, m in (("sbg", f.sbg), ("bdw", f.bdw)):
                names = ("alpha", "beta") if name == "sbg" else ("alpha", "beta", "c")
                for p in names:
                    row[f"{name}_{p}"] = float(m.params_[p]) if m is not None else np.nan
            row.update(lr_statistic=f.lr_statistic, lr_pvalue=f.lr_pvalue)
            h = f.holdout
            row.update(holdout_periods=h.periods if h else 0,
                       calibration_end=h.calibration_end if h else None,
                       holdout_predicted=h.predicted if h else np.nan,
                       holdout_actual=h.actual if h else np.nan,
                       holdout_error=h.error if h else np.nan, verdict=f.verdict)
            rows.append(row)
        return pd.DataFrame(rows).set_index([self.group_col, "billing_period"])

    def _repr_html_(self) -> str:
        body = []
        for f in self.fits:
            unit = "month" if f.period_months == 1 else "year"
            body.append(
                f"<tr><td>{html.escape(str(f.group))}</td><td>{unit}</td>"
                f"<td>{f.customers:,}</td><td>{f.churners:,}</td>"
                f"<td>{f.chosen or 'none'}</td><td><b>{f.verdict}</b></td>"
                f"<td>{html.escape(f.choice_sentence)}</td></tr>")
        return ("<table><thead><tr><th>plan</th><th>renewal period</th><th>customers</th>"
                "<th>churners</th><th>model</th><th>verdict</th><th>why</th></tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")

    def __repr__(self) -> str:
        parts = [f"{f.group}/{f.billing_period}: {f.chosen or 'no model'} ({f.verdict})"
                 for f in self.fits]
        return f"ContractModels({'; '.join(parts)})"


def _starts_before_table(rows: pd.DataFrame, group: Any, table_start: int) -> Finding:
    """Do many customers look new in the table's first month because it began mid-tenure?"""
    s = pd.PeriodIndex(rows["start"].dt.to_period("M")).asi8
    first = int(((s == table_start) & (rows["entry"].to_numpy() == 0)).sum())
    later = np.bincount(s[(s > table_start) & (s <= table_start + 6)] - table_start - 1,
                        minlength=6)
    typical = float(later.mean())
    ratio = first / typical if typical > 0 else (math.inf if first else 0.0)
    rule = (f"customers first seen in the table's first month without 'started' >= "
            f"{PILE_RATIO:g} x the mean starts of the next six months (and >= {MIN_CHURNERS}): "
            "caution")
    month = _month_label(table_start)
    if first >= MIN_CHURNERS and ratio >= PILE_RATIO:
        return Finding(
            "starts before the table", "caution",
            f"{first:,} customers of {group} are first seen in the table's first month "
            f"({month}), {ratio:.1f} times as many as start in a typical month after it: their "
            "subscriptions probably began earlier. Without their start they are fitted as if "
            "new in that month, although they are the ones who had not left by then, which "
            "overstates retention.", value=ratio, rule=rule,
            fix="add a 'started' column with each customer's true subscription start (the "
            "models then condition on her having stayed until the table began)")
    return Finding("starts before the table", "ok",
                   f"The table's first month ({month}) holds no pile of customers of {group} "
                   "whose start is unknown.", value=ratio, rule=rule)


def _fit(cls: type, data: pd.DataFrame) -> tuple[Any, str | None]:
    """A fitted model, or None and why it cannot be fitted."""
    try:
        return cls().fit(data), None
    except (DataError, ConvergenceError) as exc:
        return None, str(exc)


def _choose(sbg: SBG | None, bdw: BdW | None, why_bdw: str | None,
            ) -> tuple[str, float, float, str]:
    """The likelihood-ratio choice between BdW and sBG, with its sentence."""
    if bdw is None:
        return "sBG", math.nan, math.nan, (
            f"sBG: the BdW could not be fitted ({(why_bdw or '').split('. ')[0]}), so there is "
            "nothing to test duration dependence with.")
    assert sbg is not None
    stat = max(0.0, 2.0 * (bdw.loglik_ - sbg.loglik_))
    pvalue = float(stats.chi2.sf(stat, 1))
    c = float(bdw.params_["c"])
    test = (f"likelihood-ratio test of BdW against sBG: 2·Δloglik = {stat:.2f}, p = "
            f"{pvalue:.3g} (χ² with 1 degree of freedom)")
    if pvalue < LR_LEVEL:
        trend = "falls" if c < 1 else "rises"
        return "BdW", stat, pvalue, (
            f"BdW: each customer's churn propensity {trend} with tenure (c = {c:.3g}) beyond "
            f"the sorting of customers the sBG captures; {test} < {LR_LEVEL:g}.")
    return "sBG", stat, pvalue, (
        f"sBG: the data show no change of a customer's churn propensity with tenure beyond "
        f"the sorting of customers (BdW's c = {c:.3g} is not distinguishable from 1); "
        f"{test} >= {LR_LEVEL:g}.")


def _calibration(rows: pd.DataFrame, cal_end: int, period: int) -> pd.DataFrame:
    """The durations as they were at month ``cal_end`` (censored there)."""
    s = pd.PeriodIndex(rows["start"].dt.to_period("M")).asi8
    duration = rows["duration"].to_numpy()
    churned = rows["churned"].to_numpy(dtype=bool)
    left_by = churned & (s + duration * period <= cal_end)
    cal_duration = np.where(left_by, duration, (cal_end - s) // period)
    out = pd.DataFrame({"duration": cal_duration, "churned": left_by,
                        "entry": rows["entry"].to_numpy(), "left_later": churned & ~left_by},
                       index=rows.index)
    return out.loc[(s <= cal_end) & (cal_duration >= 1) & (out["entry"] <= cal_duration)]


def _holdout(rows: pd.DataFrame, chosen: str, period: int, end: int, table_start: int,
             holdout_months: int) -> tuple[HoldoutCheck | None, str]:
    """The largest holdout of whole periods <= ``holdout_months`` with churners on both sides
    that the chosen model can be fitted on; else None and why."""
    most = holdout_months // period
    if most < 1:
        return None, (f"the holdout of {holdout_months} months is shorter than one renewal "
                      f"period ({period} months)")
    why = "no split leaves churners both before and in the holdout"
    for k in range(most, 0, -1):
        cal_end = end - k * period
        if cal_end < table_start:
            why = "the table is not longer than the holdout"
            continue
        cal = _calibration(rows, cal_end, period)
        alive = cal.loc[~cal["churned"]]
        actual = int(alive["left_later"].sum())
        if actual == 0 or not cal["churned"].any():
            continue
        model, problem = _fit(_MODEL_CLASSES[chosen], cal[["duration", "churned", "entry"]])
        if model is None:
            why = f"the calibration part cannot be fitted ({(problem or '').split('. ')[0]})"
            continue
        n = alive["duration"].to_numpy()
        q = 1.0 - np.asarray(model.survival(n + k)) / np.asarray(model.survival(n))
        predicted = float(q.sum())
        noise = math.sqrt(float(np.sum(q * (1 - q)))) / predicted if predicted > 0 else math.inf
        return HoldoutCheck(model=chosen, periods=k, period_months=period,
                            calibration_end=_month_label(cal_end),
                            holdout_end=_month_label(end), customers=len(alive),
                            predicted=predicted, actual=actual, noise=noise), ""
    return None, why


def fit_contract_models(durations: pd.DataFrame, *, holdout_months: int = 12,
                        ) -> ContractModels:
    r"""Per plan: sBG and BdW with delayed entry, the test between them, a holdout check.

    For each group of :func:`renewal_durations` (plan and billing period), on the customers
    with at least one renewal made:

    1. **Both models** fitted with delayed entry (``entry``), in the plan's renewal periods
       (a yearly plan's parameters are per year).
    2. **Model choice**: BdW nests sBG at c = 1 (an interior point of c > 0), so
       2·(loglik_BdW - loglik_sBG) is χ²(1) under the sBG; BdW is chosen when p <
       :data:`LR_LEVEL` (0.05), else the simpler sBG. The sentence says which and why.
    3. **Holdout**: the largest k <= ``holdout_months`` / period whole renewal periods such
       that, censoring the data k periods before the end, both the calibration part and the
       holdout hold churners and the chosen model can be fitted; the refitted model
       predicts how many of the subscribers at the calibration end leave in the holdout,
       Σ [1 - S(n+k)/S(n)], against how many did. The error (predicted/actual - 1) gets
       :func:`retention_kit.diagnostics.error_verdict`'s verdict (10% ok, 25% caution).
       Churners, not survivors, are compared: survivors are mostly the customers nobody
       expected to leave, so a model predicting no churn at all would be "within 10%" of
       them whenever churn is below 10% a holdout.
    4. **Diagnostics**: :func:`retention_kit.diagnostics.identification` of the chosen
       model, the model choice (``ok``, informative), "starts before the table" (a pile of
       customers first seen in the table's first month with no ``started``: a log that
       began mid-tenure without the true starts, ``caution``; the pile rule of
       :func:`retention_kit.diagnostics.snapshot_findings`, ratio >= 2 and >= 20
       customers), the holdout fit.

    A plan whose models cannot be fitted (no churner: the retention estimate would run off
    to 100%; fewer than 20 customers; ...) gets no model and an ``unreliable`` finding with
    the model's own reason: no retention number is shown for it. A plan whose holdout is
    impossible (a table not longer than one renewal period before the end, or churners
    only at one side of every split) gets an ``unreliable`` "holdout fit" finding: the
    same rule as the report's purchase forecasts without a holdout ("no holdout:
    unreliable"), because a contractual forecast extrapolates years beyond the data and
    nothing then shows that it holds.

    Parameters
    ----------
    durations : DataFrame
        :func:`renewal_durations` output (its ``attrs`` name the group column and the
        observation end).
    holdout_months : int, default 12
        Longest holdout in months: at most 12 monthly periods, or one year of an annual
        plan (an annual plan needs at least 12).

    Returns
    -------
    ContractModels

    Examples
    --------
    >>> from retention_kit.simulate import simulate_subscriptions
    >>> subs = simulate_subscriptions(2000, start_month="2022-01", n_months=36,
    ...                               plans={"basic": 9.0}, churn={"alpha": 1.0, "beta": 6.0},
    ...                               reactivation=0, random_state=2)
    >>> fits = fit_contract_models(renewal_durations(subs))
    >>> fits["basic"].chosen, fits["basic"].holdout.periods
    ('sBG', 12)
    >>> fits["basic"].sbg.params_.round(2).tolist()
    [0.99, 6.12]
    >>> h = fits["basic"].holdout
    >>> round(h.predicted), h.actual, h.verdict
    (247, 236, 'ok')
    """
    if not isinstance(durations, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(durations).__name__}")
    group_col = durations.attrs.get("group_col", "plan")
    require_columns(durations, {group_col: "group", "billing_period": "billing period",
                                "start": "start month", "duration": "renewals",
                                "churned": "churn flag", "entry": "delayed entry"},
                    what="the renewal durations (from renewal_durations)")
    if "observation_end" not in durations.attrs or "table_start" not in durations.attrs:
        raise DataError("the durations do not say their observation end and table start",
                        fix="pass renewal_durations(...) output unchanged (its attrs carry "
                        "them)")
    months = int(number("holdout_months", holdout_months))
    if months != holdout_months or months < 1:
        raise DataError(f"holdout_months must be a whole number of months >= 1, got "
                        f"{holdout_months!r}", fix="pass e.g. holdout_months=12")
    end = int(pd.Period(durations.attrs["observation_end"], freq="M").ordinal)
    table_start = int(pd.Period(durations.attrs["table_start"], freq="M").ordinal)
    counted = durations.attrs.get("no_renewal_yet", {})
    fits = []
    for (group, billing), rows in durations.groupby([group_col, "billing_period"], sort=True):
        period = PERIOD_MONTHS[str(billing)]
        fitted_rows = rows.loc[rows["duration"] >= 1]
        # counted when renewal_durations dropped them, present as rows when it kept them
        new = max(int(counted.get((group, billing), 0)), int((rows["duration"] == 0).sum()))
        data = fitted_rows[["duration", "churned", "entry"]]
        sbg, why_sbg = _fit(SBG, data)
        bdw, why_bdw = _fit(BdW, data) if sbg is not None else (None, why_sbg)
        findings: list[Finding] = []
        holdout = None
        if sbg is None:
            chosen, stat, pvalue = None, math.nan, math.nan
            sentence = f"No retention model for {group}: {why_sbg}"
            findings.append(Finding(
                "parameters identified", "unreliable", sentence,
                fix="wait for more renewals to be observed, or report the observed retention "
                "of this plan without a model", rule="no fit: unreliable"))
        else:
            chosen, stat, pvalue, sentence = _choose(sbg, bdw, why_bdw)
            model = sbg if chosen == "sBG" else bdw
            findings += list(identification(model))
            findings.append(Finding("model choice", "ok", sentence, value=pvalue,
                                    rule=f"likelihood-ratio test p < {LR_LEVEL:g}: BdW, "
                                    "else sBG"))
            findings.append(_starts_before_table(fitted_rows, group, table_start))
            holdout, why = _holdout(rows, chosen, period, end, table_start, months)
            if holdout is not None:
                findings.append(holdout.finding())
            else:
                findings.append(Finding(
                    "holdout fit", "unreliable",
                    f"No holdout for {group}: {why}, so nothing shows that the {chosen} "
                    "forecast holds.",
                    fix=f"a longer history (more than {months} months with churners before "
                    "and after the split) or a longer holdout_months",
                    rule="no holdout: unreliable"))
        fits.append(ContractFit(
            group=group, billing_period=str(billing), period_months=period,
            customers=len(fitted_rows), churners=int(fitted_rows["churned"].sum()),
            no_renewal_yet=new, sbg=sbg, bdw=bdw, lr_statistic=stat, lr_pvalue=pvalue,
            chosen=chosen, choice_sentence=sentence, holdout=holdout,
            diagnostics=Diagnostics(tuple(findings))))
    return ContractModels(fits=tuple(fits), group_col=group_col)


# =====================================================================================
# residual value
# =====================================================================================


def residual_value(fitted: ContractModels, durations: pd.DataFrame, *, discount_rate: float,
                   margin: float = 1.0, horizon_months: int = 120, n_draws: int = 0,
                   ) -> pd.DataFrame:
    r"""Expected remaining lifetime and residual value of every current subscriber.

    A current subscriber of a plan with renewal period p months who has made n renewals
    (her ``duration``) and pays ``mrr`` a month (Fader & Hardie 2010; S is her plan's
    chosen model's survival, d the discount rate per renewal period)::

        DERL(d | n)        = Σ_{t >= n+1} S(t)/S(n) / (1+d)^(t-n-1)
        residual_value     = margin × mrr × p × DERL(d | n)
        expected_renewals  = Σ_{k=1..H} S(n+k)/S(n),   H = horizon_months // p

    Units: DERL counts renewal periods; each renewal she makes brings p months of MRR
    (a yearly renewal brings 12 × MRR), paid at the renewal: the next one undiscounted,
    as in Fader & Hardie's DERL, which values a customer just before her next renewal
    decision. The months left in her current period are not included (already contracted:
    ``months_to_renewal`` counts them). ``discount_rate`` is **per month**; an annual plan
    discounts by (1+d)^12 - 1 a year. ``expected_renewals`` is undiscounted and over a
    horizon because the undiscounted sum over all future renewals is infinite for an sBG
    with α <= 1 (a heavy tail of customers who practically never leave);
    ``expected_months`` = ``expected_renewals`` × p.

    Subscribers of plans without a model are not valued (``attrs["not_valued"]`` counts
    them by plan; the fit's diagnostics say why); read each row with its ``verdict``.

    Parameters
    ----------
    fitted : ContractModels
        :func:`fit_contract_models` output.
    durations : DataFrame
        :func:`renewal_durations` output (``keep_new=True`` values the subscribers in
        their first period too, at n = 0). Churned customers are ignored.
    discount_rate : float
        Per month, a fraction (0.01 for 1%); > 0.
    margin : float, default 1.0
        Share of MRR that is margin.
    horizon_months : int, default 120
        Horizon of ``expected_renewals``.
    n_draws : int, default 0
        With draws (e.g. 200), the subscribers of plans whose fit is a ``caution`` get a
        90% range of their residual value (``residual_value_low``, ``residual_value_high``)
        from that many draws of the model's parameters
        (:func:`retention_kit.clv.parameter_draws`, seed 0; an sBG fit at its geometric
        limit, which has no standard errors, draws its churn probability from a binomial
        interval of churners among renewal opportunities instead); other rows get NaN
        there (``ok``: the value stands as it is; ``unreliable``: it should not be shown;
        a BdW at its limit: no range can be drawn).

    Returns
    -------
    DataFrame
        Indexed by customer: the group column, ``billing_period``, ``period_months``,
        ``renewals`` (n), ``tenure_months``, ``months_to_renewal``, ``mrr``,
        ``expected_renewals``, ``expected_months``, ``derl``, ``residual_value``,
        ``residual_value_low``, ``residual_value_high`` (see ``n_draws``), ``model``,
        ``verdict``. ``attrs``: ``discount_rate_per_month``, ``margin``,
        ``horizon_months``, ``not_valued``.

    Examples
    --------
    >>> from retention_kit.simulate import simulate_subscriptions
    >>> subs = simulate_subscriptions(2000, start_month="2022-01", n_months=36,
    ...                               plans={"basic": 9.0}, churn={"alpha": 1.0, "beta": 6.0},
    ...                               reactivation=0, random_state=2)
    >>> d = renewal_durations(subs)
    >>> fits = fit_contract_models(d)
    >>> values = residual_value(fits, d, discount_rate=0.01)
    >>> row = values.iloc[0]
    >>> derl = fits[row["plan"]].model.expected_residual_lifetime(row["renewals"], 0.01)
    >>> bool(np.isclose(row["derl"], derl)), bool(np.isclose(row["residual_value"],
    ...                                                      row["mrr"] * derl))
    (True, True)
    """
    if not isinstance(fitted, ContractModels):
        raise TypeError(f"expected fit_contract_models output, got {type(fitted).__name__}")
    d_month = check_discount_rate(discount_rate, allow_zero=False, per="month")
    margin = number("margin", margin)
    if margin < 0:
        raise DataError(f"margin must be >= 0, got {margin!r}", fix="pass e.g. margin=0.8")
    horizon = int(number("horizon_months", horizon_months))
    if horizon < 1 or horizon != horizon_months:
        raise DataError(f"horizon_months must be a whole number >= 1, got {horizon_months!r}",
                        fix="pass e.g. horizon_months=120")
    group_col = fitted.group_col
    require_columns(durations, {group_col: "group", "billing_period": "billing period",
                                "duration": "renewals", "churned": "churn flag",
                                "mrr": "current MRR", "tenure_months": "tenure"},
                    what="the renewal durations (from renewal_durations)")
    current = durations.loc[~durations["churned"].astype(bool)]
    parts, not_valued = [], {}
    for (group, billing), rows in current.groupby([group_col, "billing_period"], sort=True):
        try:
            fit = fitted[(group, billing)]
        except KeyError:
            fit = None
        model = fit.model if fit is not None else None
        if model is None:
            not_valued[(group, billing)] = len(rows)
            continue
        p = PERIOD_MONTHS[str(billing)]
        d = (1.0 + d_month) ** p - 1.0
        n = rows["duration"].to_numpy().astype(int)
        derl = np.asarray(model.expected_residual_lifetime(n, d), dtype=float)
        renewals, _ = expected_discounted_payments(model, n, horizon=max(horizon // p, 1),
                                                   discount_rate=0.0)
        mrr = rows["mrr"].to_numpy(dtype=float)
        low = high = np.full(len(rows), np.nan)
        if n_draws and fit.verdict == "caution":
            low, high = _value_range(model, n, d, margin * mrr * p, n_draws, fit.churners)
        parts.append(pd.DataFrame({
            group_col: rows[group_col].to_numpy(), "billing_period": str(billing),
            "period_months": p, "renewals": n,
            "tenure_months": rows["tenure_months"].to_numpy(),
            "months_to_renewal": (p - rows["tenure_months"].to_numpy() % p) % p,
            "mrr": mrr, "expected_renewals": renewals, "expected_months": renewals * p,
            "derl": derl, "residual_value": margin * mrr * p * derl,
            "residual_value_low": low, "residual_value_high": high,
            "model": fit.chosen, "verdict": fit.verdict}, index=rows.index))
    columns = [group_col, "billing_period", "period_months", "renewals", "tenure_months",
               "months_to_renewal", "mrr", "expected_renewals", "expected_months", "derl",
               "residual_value", "residual_value_low", "residual_value_high", "model",
               "verdict"]
    out = pd.concat(parts) if parts else pd.DataFrame(columns=columns)
    out.attrs.update(discount_rate_per_month=d_month, margin=margin, horizon_months=horizon,
                     not_valued=not_valued)
    return out


def _geometric_churn_draws(model: SBG | BdW, n_draws: int, churners: int,
                           rng: np.random.Generator) -> np.ndarray | None:
    """Draws of the churn probability of an sBG fit at its geometric limit (α, β → ∞,
    no standard errors); None when the fit is not at that limit.

    The limit is the geometric model: every subscriber leaves at each renewal with the same
    probability μ, estimated as churners / renewal opportunities (delayed entry counted),
    so μ̂ = α/(α+β) gives the opportunities N = churners / μ̂; μ is drawn from its Jeffreys
    posterior Beta(churners + ½, N - churners + ½) (a binomial interval)."""
    if not (isinstance(model, SBG) and model.boundary_ and churners > 0):
        return None
    alpha, beta = float(model.params_["alpha"]), float(model.params_["beta"])
    if alpha + beta < LIMIT_SIZE / 2:
        return None
    mu = alpha / (alpha + beta)
    opportunities = churners / mu
    return rng.beta(churners + 0.5, max(opportunities - churners, 0.0) + 0.5, size=n_draws)


def _value_range(model: SBG | BdW, n: np.ndarray, d: float, scale: np.ndarray,
                 n_draws: int, churners: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """5% and 95% of scale × DERL(d | n) over draws of the model's parameters; for an sBG
    at its geometric limit over draws of its churn probability μ (see
    :func:`_geometric_churn_draws`), where DERL(d | n) = (1-μ) / (1 - (1-μ)/(1+d)) for
    every n; NaN when the model has no finite covariance to draw from."""
    rng = np.random.default_rng(0)
    try:
        draws = parameter_draws(model, int(n_draws), rng, "contract")
    except DataError:
        mu = _geometric_churn_draws(model, int(n_draws), churners, rng)
        if mu is None:
            nan = np.full(len(n), np.nan)
            return nan, nan
        derl = (1.0 - mu) / (1.0 - (1.0 - mu) / (1.0 + d))
        low, high = np.quantile(derl, [0.05, 0.95])
        return low * scale, high * scale
    values, inverse = np.unique(n, return_inverse=True)
    sims = np.array([np.asarray(with_params(model, row).expected_residual_lifetime(values, d),
                                dtype=float)[inverse] for row in draws]) * scale
    return np.quantile(sims, 0.05, axis=0), np.quantile(sims, 0.95, axis=0)


def by_tenure_band(values: pd.DataFrame, *, bands: Sequence[int] = (1, 3, 6, 12, 24),
                   ) -> pd.DataFrame:
    """Residual value summed by tenure band (months as a customer).

    Parameters
    ----------
    values : DataFrame
        :func:`residual_value` output.
    bands : sequence of int, default (1, 3, 6, 12, 24)
        Upper edges (months, included) of the bands; the last band is open ("25+").

    Returns
    -------
    DataFrame
        Indexed by ``tenure`` ("1", "2-3", "4-6", "7-12", "13-24", "25+"): ``customers``,
        ``mean_expected_months`` (mean expected further months within the horizon),
        ``total_mrr``, ``residual_value`` (total) and ``share_value``. Empty bands are kept
        with 0 customers (and NaN means).

    Examples
    --------
    >>> v = pd.DataFrame({"tenure_months": [1, 5, 30], "expected_months": [10.0, 20.0, 40.0],
    ...                   "mrr": [10.0, 10.0, 20.0], "residual_value": [100.0, 200.0, 700.0]})
    >>> by_tenure_band(v, bands=(1, 6))
            customers  mean_expected_months  total_mrr  residual_value  share_value
    tenure
    1               1                  10.0       10.0           100.0          0.1
    2-6             1                  20.0       10.0           200.0          0.2
    7+              1                  40.0       20.0           700.0          0.7
    """
    require_columns(values, {"tenure_months": "tenure", "expected_months": "expected months",
                             "mrr": "MRR", "residual_value": "value"},
                    what="the residual values (from residual_value)")
    edges = [int(b) for b in bands]
    if not edges or edges != sorted(set(edges)) or edges[0] < 1:
        raise DataError(f"bands must be increasing whole months >= 1, got {list(bands)!r}",
                        fix="pass e.g. bands=(1, 3, 6, 12, 24)")
    labels, low = [], 1
    for high in edges:
        labels.append(str(high) if high == low else f"{low}-{high}")
        low = high + 1
    labels.append(f"{low}+")
    band = pd.cut(values["tenure_months"], bins=[0, *edges, np.inf], labels=labels,
                  right=True)
    grouped = values.assign(tenure=band).groupby("tenure", observed=False)
    out = pd.DataFrame({
        "customers": grouped.size(),
        "mean_expected_months": grouped["expected_months"].mean(),
        "total_mrr": grouped["mrr"].sum(),
        "residual_value": grouped["residual_value"].sum()})
    total = float(out["residual_value"].sum())
    out["share_value"] = out["residual_value"] / total if total > 0 else 0.0
    out.index = pd.Index([str(x) for x in out.index], name="tenure")
    return out


def churn_cut_value(fitted: ContractModels, durations: pd.DataFrame, *, cut: float,
                    discount_rate: float, margin: float = 1.0) -> pd.DataFrame:
    r"""What fewer cancellations at every renewal are worth, per plan, from its model.

    For a current subscriber with n renewals made, her plan's model gives the chance to
    renew at her k-th next renewal, :math:`r_k = S(n+k)/S(n+k-1)`. Cutting cancellations
    by a share ``cut`` (0.1: one in ten fewer) makes it
    :math:`r'_k = 1 - (1 - r_k)(1 - \text{cut})`, and her residual value is

    .. math:: \text{margin} \times \text{mrr} \times p \sum_{t \ge 1}
              \frac{\prod_{k=1}^{t} r'_k}{(1+d)^{t-1}}

    (:func:`residual_value`'s DERL with the cut; p months per renewal, d the discount rate
    per renewal period). Because the model's renewal chances rise with tenure (the
    customers likely to leave leave first), the same cut is worth less where churn is
    already low: a constant-retention formula with one pooled churn rate cannot show this.
    The sum runs until the discounted survival is below 1e-9 of the first term (at most
    3,000 renewal periods). Plans without a model are left out (as in
    :func:`residual_value`).

    Parameters
    ----------
    fitted : ContractModels
    durations : DataFrame
        :func:`renewal_durations` output; churned customers are ignored.
    cut : float
        Relative cut of the cancellation probability at every renewal, in (0, 1].
    discount_rate : float
        Per month, > 0.
    margin : float, default 1.0

    Returns
    -------
    DataFrame
        One row per plan and billing period: ``subscribers``, ``value`` (residual value
        now), ``value_with_cut``, ``gain``, ``gain_per_subscriber``, ``model``, ``verdict``.

    Examples
    --------
    Without a cut this is :func:`residual_value`'s total; with one it is more:

    >>> from retention_kit.simulate import simulate_subscriptions
    >>> subs = simulate_subscriptions(3000, start_month="2022-01", n_months=36,
    ...                               plans={"basic": 10.0}, churn={"alpha": 1.0, "beta": 3.0},
    ...                               reactivation=0, random_state=4)
    >>> d = renewal_durations(subs)
    >>> fits = fit_contract_models(d)
    >>> out = churn_cut_value(fits, d, cut=0.1, discount_rate=0.01)
    >>> bool((out["gain"] > 0).all()), round(float(out["value"].iloc[0]) / float(
    ...     residual_value(fits, d, discount_rate=0.01)["residual_value"].sum()), 6)
    (True, 1.0)
    """
    if not isinstance(fitted, ContractModels):
        raise TypeError(f"expected fit_contract_models output, got {type(fitted).__name__}")
    cut = number("cut", cut)
    if not 0 < cut <= 1:
        raise DataError(f"cut must be a share of cancellations in (0, 1], got {cut!r}",
                        fix="pass e.g. cut=0.1 for one cancellation in ten avoided")
    d_month = check_discount_rate(discount_rate, allow_zero=False, per="month")
    margin = number("margin", margin)
    group_col = fitted.group_col
    require_columns(durations, {group_col: "group", "billing_period": "billing period",
                                "duration": "renewals", "churned": "churn flag",
                                "mrr": "current MRR"},
                    what="the renewal durations (from renewal_durations)")
    current = durations.loc[~durations["churned"].astype(bool)]
    rows = []
    for (group, billing), part in current.groupby([group_col, "billing_period"], sort=True):
        try:
            fit = fitted[(group, billing)]
        except KeyError:
            continue
        if fit.model is None:
            continue
        p = PERIOD_MONTHS[str(billing)]
        d = (1.0 + d_month) ** p - 1.0
        n_values, counts = np.unique(part["duration"].to_numpy().astype(int),
                                     return_inverse=True)
        base = _renewal_value(fit.model, n_values, d, 0.0)[counts]
        better = _renewal_value(fit.model, n_values, d, cut)[counts]
        mrr = part["mrr"].to_numpy(dtype=float) * p * margin
        value, value_cut = float(np.sum(mrr * base)), float(np.sum(mrr * better))
        rows.append({group_col: group, "billing_period": str(billing),
                     "subscribers": len(part), "value": value, "value_with_cut": value_cut,
                     "gain": value_cut - value,
                     "gain_per_subscriber": (value_cut - value) / len(part),
                     "model": fit.chosen, "verdict": fit.verdict})
    out = pd.DataFrame(rows, columns=[group_col, "billing_period", "subscribers", "value",
                                      "value_with_cut", "gain", "gain_per_subscriber",
                                      "model", "verdict"])
    out.attrs.update(cut=cut, discount_rate_per_month=d_month, margin=margin)
    return out


#: Renewal steps whose survival :func:`_renewal_value` evaluates in one model call (the
#: same values as one call per step; the sum runs for tens to hundreds of steps).
_SURVIVAL_BLOCK = 128


def _renewal_value(model: SBG | BdW, n: np.ndarray, d: float, cut: float) -> np.ndarray:
    """Σ_t Π_{k<=t} r'_k / (1+d)^(t-1) for each n (see :func:`churn_cut_value`)."""
    total = np.zeros(len(n))
    log_keep = np.zeros(len(n))
    log_prev = np.log(np.asarray(model.survival(n), dtype=float))
    block = np.empty((0, len(n)))
    for t in range(1, 3001):
        if (t - 1) % _SURVIVAL_BLOCK == 0:  # S(n + t) for the next steps in one call
            ahead = np.arange(t, min(t + _SURVIVAL_BLOCK, 3001))
            block = np.log(np.asarray(model.survival((n[None, :] + ahead[:, None]).ravel()),
                                      dtype=float)).reshape(len(ahead), len(n))
        log_s = block[(t - 1) % _SURVIVAL_BLOCK]
        renew = np.exp(log_s - log_prev)
        log_keep += np.log1p(-(1.0 - renew) * (1.0 - cut))
        term = np.exp(log_keep - (t - 1) * math.log1p(d))
        total += term
        log_prev = log_s
        if np.all(term < 1e-9 * np.maximum(total, 1e-300)):
            break
    return total
