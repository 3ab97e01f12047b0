"""Plots of retention_kit results: they draw, they do not compute.

Every function has the form ``plot_x(obj, *, ax=None, **kwargs) -> Axes``: it
draws the output of another module (a cohort table, a retention curve, a
survival result, metric values) on ``ax`` (a new figure when None) and returns
the Axes. matplotlib and seaborn are imported inside the functions, so
``import retention_kit.plots`` does not load them, and nothing here changes
global matplotlib state.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import DataError
from .units import currency_symbol, format_money

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .cohorts import SurvivalResult

__all__ = [
    "MIN_FONT_SIZE",
    "MRR_BRIDGE_STEPS",
    "TREND_KINDS",
    "plot_arm_comparison",
    "plot_cluster_profiles",
    "plot_clv_concentration",
    "plot_clv_vs_retention",
    "plot_cohort_heatmap",
    "plot_frequency_distribution",
    "plot_frequency_recency_matrix",
    "plot_holdout_by_frequency",
    "plot_metric_bars",
    "plot_mrr_bridge",
    "plot_migration",
    "plot_peeking",
    "plot_probability_alive_history",
    "plot_retention_curves",
    "plot_roi_sensitivity",
    "plot_segment_grid",
    "plot_segment_sizes",
    "plot_survival",
    "plot_survival_projection",
    "plot_tracking",
    "plot_trends",
    "plot_uplift_curves",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize)
    return new


@functools.cache
def _remembering_date_locator() -> type:
    """:class:`matplotlib.dates.AutoDateLocator` remembering its ticks per view interval.

    A figure asks its locators for ticks many times while it is laid out and drawn
    (constrained layout, the tight bounding box of the inline backend, the draw itself),
    and the date locator recomputes a dateutil rule each time; for the same view interval
    the ticks are the same, so they are computed once. The class is made on first use
    (matplotlib is imported inside the functions of this module).
    """
    import matplotlib.dates as mdates

    class RememberingDateLocator(mdates.AutoDateLocator):
        def __call__(self) -> Any:
            if self.axis is None:
                return super().__call__()
            key = tuple(map(float, self.axis.get_view_interval()))
            ticks = self.__dict__.setdefault("_ticks", {})
            if key not in ticks:
                ticks[key] = super().__call__()
            return ticks[key]

    return RememberingDateLocator


def _is_share_table(table: pd.DataFrame) -> bool:
    return bool(table.attrs.get("relative", True)) and table.attrs.get("values") != "revenue"


def _period_label(table: pd.DataFrame) -> str:
    period = table.attrs.get("period")
    return f"periods since acquisition ({period})" if period else "periods since acquisition"


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    fmt: str | None = None,
    annot: bool = True,
    cmap: str = "Blues",
    cbar: bool = True,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of a cohort table (cohorts as rows, periods since acquisition as columns).

    Cells a cohort has not reached (NaN) are masked: left blank, never drawn as
    0. For share tables the colour scale is set by periods 1 and later, since
    period 0 is 100% by construction and would wash out the rest (pass
    ``vmax=`` to override).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`retention_kit.cohorts.cohort_table`, or any table of
        the same shape.
    ax : matplotlib Axes, optional
    fmt : str, optional
        Annotation format; defaults to ".0%" for shares and ",.0f" otherwise.
    annot : bool, default True
        Write the value in each reached cell.
    cmap : str, default "Blues"
    cbar : bool, default True
    title : str, optional
        Defaults to a description of the table's mode and values.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns

    if not isinstance(table, pd.DataFrame) or table.size == 0:
        raise DataError("plot_cohort_heatmap needs a non-empty cohort table (DataFrame)",
                        fix="pass the output of retention_kit.cohorts.cohort_table()")
    ax = _axes(ax, figsize=(max(6.0, 0.6 * table.shape[1] + 2), max(3.0, 0.4 * len(table) + 1.5)))
    shares = _is_share_table(table)
    if fmt is None:
        fmt = ".0%" if shares else ",.0f"
    values = table.astype(float)
    values.index = [str(i) for i in table.index]
    if shares and "vmax" not in kwargs and values.shape[1] > 1:
        later = values.iloc[:, 1:].to_numpy()
        if np.isfinite(later).any():
            kwargs["vmax"] = float(np.nanmax(later))
            kwargs.setdefault("vmin", 0.0)
    if shares and cbar:
        from matplotlib.ticker import PercentFormatter

        kwargs.setdefault("cbar_kws", {"format": PercentFormatter(1.0, decimals=0)})
    sns.heatmap(values, mask=values.isna(), annot=annot, fmt=fmt, cmap=cmap, cbar=cbar,
                ax=ax, linewidths=0.5, linecolor="white", **kwargs)
    ax.set_xlabel(_period_label(table))
    ax.set_ylabel("acquisition cohort")
    if title is None:
        mode = table.attrs.get("mode")
        what = "revenue" if table.attrs.get("values") == "revenue" else "retention"
        title = f"Cohort {what}" + (f" ({mode.replace('_', ' ')})" if mode else "")
    ax.set_title(title)
    return ax


def plot_retention_curves(
    curves: pd.DataFrame | pd.Series | Mapping[Any, pd.Series],
    *,
    ax: Axes | None = None,
    at_risk: bool = True,
    max_labels: int = 12,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Retention curves: one line per cohort, per series, or the average curve.

    Parameters
    ----------
    curves : DataFrame, Series or mapping of Series
        * the output of :func:`retention_kit.cohorts.retention_curve`: the
          average curve, with the number of customers at risk written above
          the points (``at_risk=True``);
        * a cohort table: one line per cohort (unreached periods are not drawn);
        * a Series, or a mapping label -> Series: one line each, x = index.
    ax : matplotlib Axes, optional
    at_risk : bool, default True
        Annotate the average curve with ``n=...`` at risk (at most
        ``max_labels`` evenly spaced points).
    max_labels : int, default 12
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    ax = _axes(ax)
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("markersize", 3)
    shares = True
    xlabel = "periods since acquisition"
    # A retention curve (retention_curve()) is told from a cohort table by its documented
    # at_risk column, not by a tag in attrs.
    if isinstance(curves, pd.DataFrame) and "at_risk" in curves.columns:
        col = "revenue_per_customer" if "revenue_per_customer" in curves.columns else "retention"
        if col not in curves.columns:
            raise DataError("the retention curve has no 'retention' column",
                            fix="pass the output of retention_kit.cohorts.retention_curve()")
        shares = col == "retention"
        x = np.asarray(curves.index, dtype=float)
        y = curves[col].to_numpy(dtype=float)
        ax.plot(x, y, label="all cohorts (weighted)", **kwargs)
        if at_risk:
            step = max(1, int(np.ceil(len(x) / max(1, max_labels))))
            for xi, yi, n in list(zip(x, y, curves["at_risk"].to_numpy(), strict=True))[::step]:
                ax.annotate(f"n={int(n):,}", (xi, yi), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=MIN_FONT_SIZE, color="0.35")
        if curves.attrs.get("period"):
            xlabel = f"periods since acquisition ({curves.attrs['period']})"
    elif isinstance(curves, pd.DataFrame):
        if curves.size == 0:
            raise DataError("the cohort table is empty", n_rows=0,
                            fix="pass the output of retention_kit.cohorts.cohort_table()")
        shares = _is_share_table(curves)
        x = np.asarray(curves.columns, dtype=float)
        for cohort, row in curves.iterrows():
            ax.plot(x, row.to_numpy(dtype=float), label=str(cohort), **kwargs)
        xlabel = _period_label(curves)
    else:
        series = {curves.name if curves.name is not None else "": curves} if isinstance(
            curves, pd.Series) else curves
        if not isinstance(series, Mapping) or not series:
            raise DataError(
                f"cannot plot {type(curves).__name__} as retention curves",
                fix="pass retention_curve() output, a cohort table, a Series or a dict of Series")
        for label, s in series.items():
            s = pd.Series(s)
            ax.plot(np.asarray(s.index, dtype=float), s.to_numpy(dtype=float),
                    label=str(label), **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of cohort active" if shares else "value per acquired customer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if shares:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(bottom=0)
    if any(line.get_label() and not line.get_label().startswith("_") for line in ax.lines):
        ax.legend(fontsize=8)
    ax.set_title(title if title is not None else "Retention curves")
    return ax


def plot_survival(
    result: SurvivalResult,
    *,
    ax: Axes | None = None,
    ci: bool = True,
    at_risk: bool = True,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Kaplan-Meier step curves, one per group, with confidence bands.

    Parameters
    ----------
    result : SurvivalResult
        Output of :func:`retention_kit.cohorts.survival`.
    ax : matplotlib Axes, optional
    ci : bool, default True
        Shade the pointwise confidence band.
    at_risk : bool, default True
        Write the number of customers at risk at each x tick below the axis,
        one row per group (the customers whose duration is at least the tick).
    title : str, optional
        Defaults to the log-rank p-value when there are groups.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.step`.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import PercentFormatter

    table = getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame) or not {"group", "time", "survival"} <= set(
            table.columns):
        raise DataError(f"cannot plot {type(result).__name__} as a survival curve",
                        fix="pass the result of retention_kit.cohorts.survival()")
    ax = _axes(ax)
    groups = list(pd.unique(table["group"]))
    for g in groups:
        part = table.loc[table["group"] == g]
        (line,) = ax.step(part["time"], part["survival"], where="post", label=str(g), **kwargs)
        if ci and {"ci_lower", "ci_upper"} <= set(part.columns):
            ax.fill_between(part["time"], part["ci_lower"], part["ci_upper"], step="post",
                            alpha=0.2, color=line.get_color(), linewidth=0)
    unit = getattr(result, "time_unit", None)
    ax.set_xlabel(f"time as a customer ({unit})" if unit else "time as a customer")
    ax.set_ylabel("share still customers")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    if len(groups) > 1:
        ax.legend(fontsize=8)
    p = getattr(result, "logrank_p_value", None)
    if title is None:
        title = "Customer survival (Kaplan-Meier)"
        if p is not None:
            title += f", log-rank p = {p:.3g}"
    ax.set_title(title)
    if at_risk and "at_risk" in table.columns:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        ax.set_xticks(ticks)
        for row, g in enumerate(groups):
            part = table.loc[table["group"] == g]
            times = part["time"].to_numpy(dtype=float)
            counts = part["at_risk"].to_numpy()
            y = -0.16 - 0.07 * row
            ax.annotate(f"{g}" if len(groups) > 1 else "at risk", (0, y),
                        xycoords=("axes fraction", "axes fraction"), xytext=(-22, 0),
                        textcoords="offset points", ha="right", va="top", fontsize=MIN_FONT_SIZE)
            for t in ticks:
                after = np.flatnonzero(times >= t - 1e-12)
                n = int(counts[after[0]]) if len(after) else 0
                ax.annotate(f"{n:,}", (t, y), xycoords=("data", "axes fraction"),
                            ha="center", va="top", fontsize=MIN_FONT_SIZE, gid="at_risk")
    return ax


def plot_metric_bars(
    values: Mapping[str, float] | pd.Series,
    *,
    ax: Axes | None = None,
    intervals: Mapping[str, tuple[float, float]] | pd.DataFrame | None = None,
    fmt: str = "{:.3g}",
    title: str | None = None,
    ylabel: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Bars of metric values, with optional interval error bars (e.g. NPS, CSAT).

    Parameters
    ----------
    values : Series or mapping name -> value
    ax : matplotlib Axes, optional
    intervals : mapping name -> (lower, upper), or DataFrame, optional
        Lower and upper bounds per bar (a DataFrame's first two columns, indexed
        by name); each must contain its value.
    fmt : str, default "{:.3g}"
        Format of the value written on each bar ("" for none).
    title, ylabel : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    matplotlib Axes
    """
    series = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values
    if len(series) == 0:
        raise DataError("no values to plot", n_rows=0, fix="pass a non-empty mapping or Series")
    y = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        raise DataError("metric values are missing or not numbers",
                        n_rows=int(np.isnan(y).sum()),
                        example=str(series.index[np.isnan(y)][0]),
                        fix="drop or compute the missing metrics first")
    yerr = None
    if intervals is not None:
        frame = (intervals.iloc[:, :2] if isinstance(intervals, pd.DataFrame)
                 else pd.DataFrame.from_dict(dict(intervals), orient="index"))
        if frame.shape[1] != 2:
            raise DataError("intervals need a lower and an upper bound per bar",
                            fix="pass {name: (lower, upper)} or a two-column DataFrame")
        missing = [k for k in series.index if k not in frame.index]
        if missing:
            raise DataError("intervals has no bounds for some bars", n_rows=len(missing),
                            example=repr(missing[0]), fix="give every bar an interval")
        bounds = frame.loc[list(series.index)].to_numpy(dtype=float)
        low, high = bounds[:, 0], bounds[:, 1]
        bad = ~((low <= y + 1e-12) & (y <= high + 1e-12))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError("an interval does not contain its value", n_rows=int(bad.sum()),
                            example=f"{series.index[first]!r}: {y[first]:g} not in "
                            f"[{low[first]:g}, {high[first]:g}]",
                            fix="pass (lower, upper) bounds, not (estimate, half-width)")
        yerr = np.vstack([y - low, high - y])
    ax = _axes(ax, figsize=(max(4.0, 0.9 * len(series) + 2), 4.0))
    labels = [str(k) for k in series.index]
    bars = ax.bar(labels, y, yerr=yerr, capsize=4 if yerr is not None else 0, **kwargs)
    if fmt:
        # inside the bars when error bars would cover labels placed on top
        ax.bar_label(bars, labels=[fmt.format(v) for v in y], fontsize=8,
                     label_type="center" if yerr is not None else "edge",
                     padding=0 if yerr is not None else 2)
    ax.axhline(0, color="0.3", linewidth=0.8)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- model diagnostics


def _paired_bars(table: pd.DataFrame, first: str, second: str, *, ax: Axes | None,
                 labels: tuple[str, str], xlabel: str, ylabel: str, title: str | None,
                 ) -> Axes:
    ax = _axes(ax)
    x = np.arange(len(table))
    width = 0.4
    ax.bar(x - width / 2, table[first].to_numpy(dtype=float), width, label=labels[0])
    ax.bar(x + width / 2, table[second].to_numpy(dtype=float), width, label=labels[1])
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_frequency_distribution(table: pd.DataFrame, *, ax: Axes | None = None,
                                title: str | None = "Customers by repeat purchases",
                                ) -> Axes:
    """Actual vs expected customers by number of repeat purchases.

    ``table`` comes from :func:`retention_kit.evaluation.frequency_distribution`.
    """
    return _paired_bars(table, "actual", "expected", ax=ax, labels=("actual", "model"),
                        xlabel="repeat purchases in calibration", ylabel="customers",
                        title=title)


def plot_holdout_by_frequency(table: pd.DataFrame, *, ax: Axes | None = None,
                              title: str | None = "Holdout purchases by calibration frequency",
                              ) -> Axes:
    """Mean actual vs predicted holdout purchases per calibration-frequency group.

    ``table`` comes from :func:`retention_kit.evaluation.holdout_by_frequency`.
    """
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"].to_numpy(dtype=float), marker="o", label="actual")
    ax.plot(x, table["predicted"].to_numpy(dtype=float), marker="s", linestyle="--",
            label="model")
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_tracking(tracking: pd.DataFrame, *, ax: Axes | None = None, cumulative: bool = True,
                  title: str | None = None) -> Axes:
    """Actual vs expected repeat purchases over time, calibration end marked.

    ``tracking`` comes from :func:`retention_kit.evaluation.repeat_purchase_tracking`.
    """
    ax = _axes(ax)
    suffix = "_cumulative" if cumulative else ""
    periods = tracking.index.to_numpy()
    ax.plot(periods, tracking[f"actual{suffix}"].to_numpy(dtype=float), label="actual")
    ax.plot(periods, tracking[f"expected{suffix}"].to_numpy(dtype=float), linestyle="--",
            label="model")
    calibration = tracking.index[tracking["calibration"].to_numpy(dtype=bool)]
    if len(calibration) and len(calibration) < len(tracking):
        ax.axvline(calibration.max() + 0.5, color="grey", linestyle=":", label="calibration end")
    ax.set_xlabel("period")
    ax.set_ylabel("cumulative repeat purchases" if cumulative else "repeat purchases")
    ax.legend()
    ax.set_title(title or ("Cumulative" if cumulative else "Period") + " repeat purchases")
    return ax


def plot_frequency_recency_matrix(matrix: pd.DataFrame, *, ax: Axes | None = None,
                                  cmap: str = "viridis", title: str | None = None) -> Axes:
    """Heatmap of P(alive) or expected purchases over frequency and recency.

    ``matrix`` comes from :func:`retention_kit.evaluation.frequency_recency_matrix`;
    impossible cells (NaN) stay blank.
    """
    import seaborn as sns

    ax = _axes(ax, figsize=(8.0, 5.0))
    kind = matrix.attrs.get("kind", "alive")
    label = "P(alive)" if kind == "alive" else f"expected purchases, next {matrix.attrs.get('t')}"
    sns.heatmap(matrix, ax=ax, cmap=cmap, mask=matrix.isna(), cbar_kws={"label": label},
                vmin=0, vmax=1 if kind == "alive" else None)
    ax.invert_yaxis()
    ax.set_xlabel("recency (age at last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title or f"{label} at age T = {matrix.attrs.get('T', '')}")
    return ax


def plot_probability_alive_history(history: pd.Series, *, ax: Axes | None = None,
                                   purchases: np.ndarray | list[float] | None = None,
                                   title: str | None = "P(alive) of one customer") -> Axes:
    """P(alive) over a customer's life, with purchases marked.

    ``history`` comes from :func:`retention_kit.evaluation.probability_alive_history`.
    """
    ax = _axes(ax)
    ax.plot(history.index.to_numpy(dtype=float), history.to_numpy(dtype=float),
            drawstyle="steps-post", label="P(alive)")
    if purchases is not None:
        for i, when in enumerate(purchases):
            ax.axvline(float(when), color="grey", linestyle=":",
                       label="purchase" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("age")
    ax.set_ylabel("P(alive)")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_survival_projection(projection: pd.DataFrame, *, ax: Axes | None = None,
                             calibration_end: float | None = None,
                             title: str | None = "Survival: actual vs projected") -> Axes:
    """Actual survivors vs one or more model projections by period.

    Parameters
    ----------
    projection : DataFrame
        Indexed by period; an ``actual`` column and one column per projection
        (e.g. from ``SBG.survival(t)`` or a naive curve fit), shares in [0, 1].
    calibration_end : float, optional
        Last period used for fitting; marked with a vertical line.
    """
    ax = _axes(ax)
    t = projection.index.to_numpy(dtype=float)
    for col in projection.columns:
        style = {"marker": "o", "linestyle": "-"} if col == "actual" else {"linestyle": "--"}
        ax.plot(t, projection[col].to_numpy(dtype=float), label=str(col), **style)
    if calibration_end is not None:
        ax.axvline(calibration_end, color="grey", linestyle=":", label="calibration end")
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("period")
    ax.set_ylabel("share still customers")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- strategy evaluation


def _comparison_table(result: Any) -> pd.DataFrame:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "comparisons", None)
    if not isinstance(table, pd.DataFrame) or not {"difference", "ci_lower", "ci_upper"} <= set(
            table.columns):
        raise DataError(f"cannot plot {type(result).__name__} as an arm comparison",
                        fix="pass the result of retention_test() or cuped(), or a DataFrame "
                        "with difference, ci_lower and ci_upper per arm")
    if len(table) == 0:
        raise DataError("no comparisons to plot", n_rows=0, fix="compare at least one arm")
    return table


def plot_arm_comparison(
    result: Any,
    *,
    ax: Axes | None = None,
    truth: Mapping[str, float] | None = None,
    percent: bool | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Effect of each arm against control with its confidence interval (a forest plot).

    Parameters
    ----------
    result : RetentionTest, CupedResult or DataFrame
        From :func:`retention_kit.experiments.retention_test` or
        :func:`~retention_kit.experiments.cuped`, or a DataFrame indexed by arm with
        ``difference``, ``ci_lower`` and ``ci_upper``.
    ax : matplotlib Axes, optional
    truth : mapping arm -> value, optional
        Known true effects (simulated data), drawn as black crosses.
    percent : bool, optional
        Format the axis in percentage points; default: for a RetentionTest.
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.errorbar`.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import PercentFormatter

    table = _comparison_table(result)
    ax = _axes(ax, figsize=(7.0, 1.0 + 0.7 * len(table)))
    arms = [str(a) for a in table.index]
    y = np.arange(len(table))[::-1].astype(float)
    est = table["difference"].to_numpy(dtype=float)
    low, high = table["ci_lower"].to_numpy(dtype=float), table["ci_upper"].to_numpy(dtype=float)
    options = {"fmt": "o", "capsize": 4, "label": "estimate and interval"} | kwargs
    ax.errorbar(est, y, xerr=np.vstack([est - low, high - est]), **options)
    ax.axvline(0, color="0.3", linewidth=0.8, linestyle="--")
    if truth is not None:
        known = [(yy, float(truth[a])) for yy, a in zip(y, arms, strict=True) if a in truth]
        if known:
            ax.scatter([v for _, v in known], [yy for yy, _ in known], marker="x",
                       color="black", zorder=3, label="true effect", gid="truth")
    ax.set_yticks(y, arms)
    ax.set_ylim(-0.7, len(table) - 0.3)
    if percent is None:
        percent = type(result).__name__ == "RetentionTest"
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    control = getattr(result, "control", None)
    outcome = getattr(result, "outcome", None)
    label = "difference" + (f" in {outcome}" if outcome else "")
    ax.set_xlabel(label + (f" vs {control}" if control else " vs control"))
    alpha = getattr(result, "alpha", None)
    if title is None:
        title = "Effect against control" + (f" ({1 - alpha:.0%} intervals)" if alpha else "")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_uplift_curves(
    curve: Any,
    *,
    ax: Axes | None = None,
    kind: str = "qini",
    label: str = "uplift model",
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Qini (or uplift) curve of an uplift model against random targeting.

    Parameters
    ----------
    curve : UpliftResult or DataFrame
        From :func:`retention_kit.experiments.uplift_analysis` (its held-out curve) or
        :func:`~retention_kit.experiments.qini_curve`.
    ax : matplotlib Axes, optional
    kind : {"qini", "uplift"}, default "qini"
    label : str, default "uplift model"
    title : str, optional
        Defaults to the curve's name and its area over random targeting.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for the model's curve.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import PercentFormatter

    if kind not in ("qini", "uplift"):
        raise DataError(f"kind={kind!r} is not one of ['qini', 'uplift']",
                        fix="pass kind='qini' or kind='uplift'")
    table = curve if isinstance(curve, pd.DataFrame) else getattr(curve, "curve", None)
    needed = {"fraction", kind, f"random_{kind}"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise DataError(f"cannot plot {type(curve).__name__} as a {kind} curve",
                        fix="pass the result of uplift_analysis() or qini_curve()")
    ax = _axes(ax)
    x = table["fraction"].to_numpy(dtype=float)
    model = table[kind].to_numpy(dtype=float)
    rand = table[f"random_{kind}"].to_numpy(dtype=float)
    (line,) = ax.plot(x, model, label=label, **kwargs)
    ax.plot(x, rand, linestyle="--", color="0.4", label="random targeting")
    ax.fill_between(x, rand, model, alpha=0.15, color=line.get_color(), linewidth=0)
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel("share of customers targeted (highest predicted uplift first)")
    ax.set_ylabel("incremental retained customers, % of all" if kind == "qini"
                  else "uplift x share targeted")
    if title is None:
        gap = model - rand
        area = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))
        title = f"{'Qini' if kind == 'qini' else 'Uplift'} curve (area over random {area:.4f})"
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_roi_sensitivity(
    grid: pd.DataFrame,
    *,
    ax: Axes | None = None,
    annot: bool = True,
    fmt: str = "{:,.0f}",
    cmap: str = "RdBu",
    title: str | None = "Net value by effect size and cost per treated customer",
    **kwargs: Any,
) -> Axes:
    """Net value of a programme over a grid of effect sizes and costs (red = loss).

    Parameters
    ----------
    grid : DataFrame
        From :func:`retention_kit.experiments.roi_sensitivity`: net value indexed by
        ``effect`` (difference in retention) with one column per cost per treated
        customer.
    ax : matplotlib Axes, optional
    annot : bool, default True
        Write the value in each cell.
    fmt : str, default "{:,.0f}"
    cmap : str, default "RdBu"
        Diverging colour map, centred on 0 (break-even).
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.colors import Normalize

    if not isinstance(grid, pd.DataFrame) or grid.size == 0:
        raise DataError("cannot plot an empty or missing sensitivity grid",
                        fix="pass the result of roi_sensitivity()")
    values = grid.to_numpy(dtype=float)
    ax = _axes(ax, figsize=(max(5.0, 0.9 * grid.shape[1] + 2.5), max(3.0, 0.5 * len(grid) + 1.5)))
    bound = float(np.nanmax(np.abs(values))) or 1.0
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap,
                      norm=Normalize(vmin=-bound, vmax=bound), **kwargs)
    ax.figure.colorbar(image, ax=ax, label="net value")
    ax.set_xticks(np.arange(grid.shape[1]), [f"{c:,.2f}" for c in grid.columns])
    ax.set_yticks(np.arange(len(grid)), [f"{100 * e:+.1f} pts" for e in grid.index])
    ax.set_xlabel("cost per treated customer")
    ax.set_ylabel("effect on retention")
    if annot:
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * bound else "black")
    if title:
        ax.set_title(title)
    return ax


def plot_clv_vs_retention(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    highlight: Any = None,
    currency: str = "$",
    title: str | None = "CLV by retention rate (margin multiple)",
    **kwargs: Any,
) -> Axes:
    """CLV against the retention rate: the convex curve that makes retention valuable.

    Parameters
    ----------
    table : DataFrame
        From :func:`retention_kit.experiments.clv_by_retention` (``retention_rate``,
        ``clv``).
    ax : matplotlib Axes, optional
    highlight : sequence of float, optional
        Retention rates to mark and label (values between the table's rates are
        interpolated).
    currency : str, default "$"
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import PercentFormatter

    if not isinstance(table, pd.DataFrame) or not {"retention_rate", "clv"} <= set(
            table.columns):
        raise DataError("cannot plot this as a CLV curve",
                        fix="pass the result of clv_by_retention()")
    ax = _axes(ax)
    r = table["retention_rate"].to_numpy(dtype=float)
    clv = table["clv"].to_numpy(dtype=float)
    ax.plot(r, clv, label="CLV = m r / (1 + i - r)", **kwargs)
    if highlight is not None:
        points = np.asarray(list(highlight), dtype=float)
        values = np.interp(points, r, clv)
        ax.scatter(points, values, color="C3", zorder=3, gid="highlight")
        for p, v in zip(points, values, strict=True):
            ax.annotate(f"{p:.0%}: {currency}{v:,.2f}", (p, v), xytext=(-8, 8),
                        textcoords="offset points", ha="right", fontsize=8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("retention rate per period")
    ax.set_ylabel(f"CLV ({currency})")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    return ax


def plot_peeking(result: Any, *, ax: Axes | None = None,
                 title: str | None = "A/A tests stopped at the first p < alpha") -> Axes:
    """Cumulative false-positive rate when a test is checked at every look.

    Parameters
    ----------
    result : PeekingResult
        From :func:`retention_kit.experiments.peeking_simulation`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.ticker import PercentFormatter

    table = getattr(result, "by_look", None)
    if not isinstance(table, pd.DataFrame) or "stopped" not in table.columns:
        raise DataError(f"cannot plot {type(result).__name__} as a peeking simulation",
                        fix="pass the result of peeking_simulation()")
    ax = _axes(ax)
    looks = table.index.to_numpy()
    ax.bar(looks, table["stopped"].to_numpy(dtype=float), color="C3", alpha=0.8,
           label="declared a (false) winner by this look")
    ax.axhline(result.alpha, color="0.2", linestyle="--", label=f"planned alpha {result.alpha:g}")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks(looks)
    ax.set_xlabel("look")
    ax.set_ylabel("share of A/A tests")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- segmentation


def _require_frame(obj: object, columns: tuple[str, ...], what: str, source: str) -> None:
    if not isinstance(obj, pd.DataFrame) or len(obj) == 0 or not set(columns) <= set(
            obj.columns):
        raise DataError(f"{what} needs a non-empty table with columns {list(columns)}",
                        fix=f"pass the output of retention_kit.segments.{source}()")


def plot_segment_sizes(
    summary: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Share of customers vs share of value per segment, as paired horizontal bars.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`retention_kit.segments.segment_summary` (``share_customers``
        and, when a value was given, ``share_value``), one row per segment, drawn top
        to bottom in its order.
    ax : matplotlib Axes, optional
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    matplotlib Axes
        The customer bars come first in ``ax.patches``, then the value bars.

    Examples
    --------
    >>> from retention_kit.segments import segment_summary
    >>> seg = pd.DataFrame({"segment": ["Champions", "New", "Champions"],
    ...                     "total_spend": [300.0, 20.0, 80.0]})
    >>> ax = plot_segment_sizes(segment_summary(seg))
    >>> [round(float(p.get_width()), 2) for p in ax.patches]  # customers, then spend
    [0.67, 0.33, 0.95, 0.05]
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from matplotlib.ticker import PercentFormatter

    _require_frame(summary, ("share_customers",), "plot_segment_sizes", "segment_summary")
    ax = _axes(ax, figsize=(7.5, max(3.0, 0.45 * len(summary) + 1.2)))
    y = np.arange(len(summary))
    labels = [str(i) for i in summary.index]
    has_value = "share_value" in summary.columns
    height = 0.4 if has_value else 0.7
    offset = height / 2 if has_value else 0.0
    shares = summary["share_customers"].to_numpy(dtype=float)
    bars = ax.barh(y - offset, shares, height, label="share of customers", **kwargs)
    ax.bar_label(bars, labels=[f"{v:.0%}" for v in shares], fontsize=MIN_FONT_SIZE, padding=2)
    if has_value:
        value = summary.attrs.get("value") or "value"
        values = np.nan_to_num(summary["share_value"].to_numpy(dtype=float))
        vbars = ax.barh(y + offset, values, height, label=f"share of {value}", **kwargs)
        ax.bar_label(vbars, labels=[f"{v:.0%}" for v in values], fontsize=MIN_FONT_SIZE, padding=2)
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("share of the total")
    ax.set_title(title if title is not None else "Segments: customers and value")
    return ax


def _wrap(text: str, width: int = 12) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False)) or text


def plot_segment_grid(
    grid: pd.DataFrame,
    *,
    ax: Axes | None = None,
    annot: bool = True,
    cmap: str | None = None,
    title: str | None = None,
) -> Axes:
    """The R×F grid coloured by segment, with names (and customers) in the cells.

    Parameters
    ----------
    grid : DataFrame
        Output of :func:`retention_kit.segments.segment_grid`: ``R``, ``F``,
        ``segment`` and optionally ``customers`` and ``share``.
    ax : matplotlib Axes, optional
    annot : bool, default True
        Write the segment name (and, with counts, the share of customers) in each cell.
    cmap : str, optional
        A qualitative colormap; default "tab10" (up to 10 segments) or "tab20".
    title : str, optional

    Returns
    -------
    matplotlib Axes
        One mesh (``ax.collections[0]``) with one cell per (R, F); R grows upwards.

    Examples
    --------
    >>> from retention_kit.segments import segment_grid
    >>> ax = plot_segment_grid(segment_grid())
    >>> ax.collections[0].get_array().size, ax.texts[-1].get_text()
    (25, 'Champions')
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    _require_frame(grid, ("R", "F", "segment"), "plot_segment_grid", "segment_grid")
    r_vals = np.sort(grid["R"].unique())
    f_vals = np.sort(grid["F"].unique())
    names = [str(n) for n in grid.attrs.get("segments", [])]  # rule order: stable colours
    names += [n for n in dict.fromkeys(grid["segment"]) if n not in names]
    table = grid.set_index(["R", "F"])
    codes = np.full((len(r_vals), len(f_vals)), np.nan)
    for i, r in enumerate(r_vals):
        for j, f in enumerate(f_vals):
            if (r, f) in table.index:
                codes[i, j] = names.index(table.loc[(r, f), "segment"])
    base = plt.get_cmap(cmap or ("tab10" if len(names) <= 10 else "tab20"))
    colours = ListedColormap([base(i % base.N) for i in range(len(names))])
    norm = BoundaryNorm(np.arange(-0.5, len(names)), len(names))
    n = max(len(r_vals), len(f_vals))
    ax = _axes(ax, figsize=(max(6.0, 1.3 * len(f_vals)), max(4.5, 1.0 * len(r_vals))))
    ax.pcolormesh(np.arange(len(f_vals) + 1), np.arange(len(r_vals) + 1),
                  np.ma.masked_invalid(codes), cmap=colours, norm=norm,
                  edgecolors="white", linewidth=1.5)
    if annot:
        size = 8 if n <= 5 else max(4, int(40 / n))
        has_counts = "share" in table.columns
        for i, r in enumerate(r_vals):
            for j, f in enumerate(f_vals):
                if (r, f) not in table.index:
                    continue
                row = table.loc[(r, f)]
                text = _wrap(str(row["segment"]))
                if has_counts:
                    text += f"\n{row['share']:.1%}"
                ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=size)
    ax.set_xticks(np.arange(len(f_vals)) + 0.5, [str(f) for f in f_vals])
    ax.set_yticks(np.arange(len(r_vals)) + 0.5, [str(r) for r in r_vals])
    ax.set_xlabel("F score (frequency)")
    ax.set_ylabel("R score (recency: high = recent)")
    ax.set_title(title if title is not None else
                 "Segments on the R×F grid" + (" (share of customers)"
                                               if "share" in grid.columns else ""))
    return ax


def plot_cluster_profiles(
    profiles: pd.DataFrame,
    *,
    ax: Axes | None = None,
    columns: list[str] | None = None,
    cmap: str = "RdBu_r",
    title: str | None = None,
) -> Axes:
    """Heatmap of cluster profiles: one row per cluster, one column per measure.

    Cells show the cluster's median (or mean P(alive)); the colour compares clusters
    within a column, from lowest (blue) to highest (red), so columns in different units
    share one scale.

    Parameters
    ----------
    profiles : DataFrame
        Output of :func:`retention_kit.segments.cluster_profiles`.
    ax : matplotlib Axes, optional
    columns : list of str, optional
        Columns to show; default every ``median_*`` column and ``mean_alive``.
    cmap : str, default "RdBu_r"
    title : str, optional

    Returns
    -------
    matplotlib Axes
        One mesh with clusters × columns cells and one text per cell.

    Examples
    --------
    >>> from retention_kit.segments import cluster_profiles
    >>> data = pd.DataFrame({"since_last": [10.0, 20, 300, 400], "purchases": [5, 7, 1, 1]})
    >>> ax = plot_cluster_profiles(cluster_profiles(data, pd.Series([1, 1, 2, 2])))
    >>> [t.get_text() for t in ax.texts]
    ['15', '6', '350', '1']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    _require_frame(profiles, ("customers",), "plot_cluster_profiles", "cluster_profiles")
    if columns is None:
        columns = [c for c in profiles.columns if c.startswith("median_") or c == "mean_alive"]
    if not columns:
        raise DataError("the profiles have no median_* or mean_alive columns to draw",
                        fix="pass the output of retention_kit.segments.cluster_profiles()")
    values = profiles[columns].to_numpy(dtype=float)
    low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (values - low) / span
    ax = _axes(ax, figsize=(max(6.0, 1.4 * len(columns) + 2), max(3.0, 0.6 * len(profiles) + 1.5)))
    ax.pcolormesh(np.arange(len(columns) + 1), np.arange(len(profiles) + 1),
                  np.ma.masked_invalid(scaled), cmap=cmap, vmin=-0.25, vmax=1.25,
                  edgecolors="white", linewidth=1.5)
    for i in range(len(profiles)):
        for j, col in enumerate(columns):
            v = values[i, j]
            text = "" if np.isnan(v) else (f"{v:.2f}" if col == "mean_alive" else f"{v:,.4g}")
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(np.arange(len(columns)) + 0.5,
                  [c.replace("median_", "median\n").replace("mean_alive", "mean\nP(alive)")
                   for c in columns])
    shares = profiles["share_customers"] if "share_customers" in profiles.columns else None
    ax.set_yticks(np.arange(len(profiles)) + 0.5,
                  [f"{i} ({shares.loc[i]:.0%})" if shares is not None else str(i)
                   for i in profiles.index])
    ax.invert_yaxis()
    ax.set_ylabel("cluster (share of customers)")
    ax.set_title(title if title is not None else "Cluster profiles")
    return ax


def plot_migration(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    fmt: str | None = None,
    cmap: str = "Blues",
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of a segment migration matrix (rows: before, columns: after).

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`retention_kit.segments.segment_migration` (counts or row
        shares); empty rows of a share matrix (NaN) stay blank.
    ax : matplotlib Axes, optional
    fmt : str, optional
        Annotation format; ".0%" for shares and ",.0f" for counts by default.
    cmap : str, default "Blues"
    title : str, optional
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from retention_kit.segments import segment_migration
    >>> before = pd.Series(["Loyal", "Loyal"], index=[1, 2])
    >>> after = pd.Series(["Loyal", "At Risk", "New"], index=[1, 2, 3])
    >>> ax = plot_migration(segment_migration(before, after, normalize=True))
    >>> [t.get_text() for t in ax.texts][:3]
    ['50%', '50%', '0%']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import seaborn as sns

    if not isinstance(matrix, pd.DataFrame) or matrix.size == 0:
        raise DataError("plot_migration needs a non-empty migration matrix",
                        fix="pass the output of retention_kit.segments.segment_migration()")
    shares = bool(matrix.attrs.get("normalize", False))
    if fmt is None:
        fmt = ".0%" if shares else ",.0f"
    values = matrix.astype(float)
    ax = _axes(ax, figsize=(max(7.0, 0.8 * matrix.shape[1] + 3),
                            max(4.0, 0.5 * matrix.shape[0] + 2)))
    if shares:
        kwargs.setdefault("vmin", 0.0)
        kwargs.setdefault("vmax", 1.0)
    sns.heatmap(values, mask=values.isna(), annot=True, fmt=fmt, cmap=cmap, ax=ax,
                linewidths=0.5, linecolor="white", cbar=True,
                annot_kws={"fontsize": 7}, **kwargs)
    first, second = matrix.attrs.get("first_end"), matrix.attrs.get("second_end")
    ax.set_ylabel(f"segment at {first}" if first else "segment before")
    ax.set_xlabel(f"segment at {second}" if second else "segment after")
    ax.set_title(title if title is not None else
                 "Segment migration" + (" (share of each row)" if shares else " (customers)"))
    return ax


def plot_clv_concentration(
    curve: pd.DataFrame,
    *,
    tiers: pd.DataFrame | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Lorenz-style concentration curve: the top x % of customers hold y % of value.

    Parameters
    ----------
    curve : DataFrame
        Output of :func:`retention_kit.segments.concentration_curve`.
    tiers : DataFrame, optional
        Output of :func:`retention_kit.segments.clv_tier_summary`: each tier boundary is
        marked and labelled with its cumulative share of value.
    ax : matplotlib Axes, optional
    title : str, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

    Returns
    -------
    matplotlib Axes
        ``ax.lines[0]`` is the curve, ``ax.lines[1]`` the equality diagonal, and with
        ``tiers`` ``ax.lines[2]`` the tier markers.

    Examples
    --------
    >>> from retention_kit.segments import clv_tier_summary, concentration_curve
    >>> clv = pd.Series([50.0, 30, 10, 5, 5])
    >>> ax = plot_clv_concentration(concentration_curve(clv),
    ...                             tiers=clv_tier_summary(clv, tiers=(0.2,)))
    >>> ax.texts[0].get_text()
    'top 20%: 50% of value'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    from matplotlib.ticker import PercentFormatter

    _require_frame(curve, ("share_customers", "share_value"), "plot_clv_concentration",
                   "concentration_curve")
    ax = _axes(ax, figsize=(5.5, 5.0))
    gini = curve.attrs.get("gini")
    label = "customers sorted by value" + (f" (Gini {gini:.2f})" if gini is not None else "")
    ax.plot(curve["share_customers"].to_numpy(dtype=float),
            curve["share_value"].to_numpy(dtype=float), label=label, **kwargs)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="equal value")
    if tiers is not None:
        _require_frame(tiers, ("cum_share_customers", "cum_share_value"),
                       "plot_clv_concentration(tiers=...)", "clv_tier_summary")
        inner = tiers.iloc[:-1]
        x = inner["cum_share_customers"].to_numpy(dtype=float)
        y = inner["cum_share_value"].to_numpy(dtype=float)
        ax.plot(x, y, linestyle="none", marker="o", color="black", label="tier boundaries")
        for xi, yi in zip(x, y, strict=True):
            ax.annotate(f"top {xi:.0%}: {yi:.0%} of value", (xi, yi), textcoords="offset points",
                        xytext=(8, -10), fontsize=8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of customers (highest value first)")
    ax.set_ylabel("cumulative share of value")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title if title is not None else "Concentration of predicted value")
    return ax


# --------------------------------------------------------------------------- trends and MRR

#: Smallest font size (points) of the text these charts write: legible at 100% zoom.
MIN_FONT_SIZE = 8.0

_UP, _DOWN, _LEVEL = "#2e7d32", "#c62828", "#607d8b"


def _money_formatter(currency: str | None) -> Any:
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: Any = None) -> str:
        code = (currency or "").strip()
        symbol = currency_symbol(code)
        for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= div:
                text = f"{value / div:,.1f}".rstrip("0").rstrip(".") + suffix
                break
        else:
            text = f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:,.2f}"
        if text.startswith("-"):
            return f"-{symbol}{text[1:]}" if symbol else f"{text} {code}".rstrip()
        return f"{symbol}{text}" if symbol else f"{text} {code}".rstrip()

    return FuncFormatter(fmt)


def _as_period(value: Any) -> Any:
    """A month-start timestamp (``mrr_movements`` of a datetime ``month``) as its month."""
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.day == 1:
        return pd.Period(value, freq="M")
    return value


#: The MRR bridge's movements in drawing order, with their direction.
MRR_BRIDGE_STEPS: tuple[tuple[str, int], ...] = (
    ("new", 1), ("expansion", 1), ("reactivation", 1), ("contraction", -1), ("churn", -1))


def plot_mrr_bridge(
    movements: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    currency: str | None = None,
) -> Axes:
    """Waterfall of MRR: start, the summed movements over the rows, end.

    The first bar is the ``start`` MRR of the first row; then new, expansion and
    reactivation go up and contraction and churn go down, each the column's sum over
    the rows; the last bar is the ``end`` MRR of the last row. The bars satisfy

    .. math:: \\text{end} = \\text{start} + \\text{new} + \\text{expansion}
              + \\text{reactivation} - \\text{contraction} - \\text{churn}

    (checked: a table whose rows are not consecutive periods of one bridge raises).
    Every bar is labelled with its amount, above the bar.

    Parameters
    ----------
    movements : DataFrame
        Output of :func:`retention_kit.metrics.mrr_movements` (``start, new, expansion,
        contraction, churn, reactivation, end``, positive amounts, one row per period),
        e.g. its last 12 rows.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to "MRR bridge, <first period> to <last period>".
    currency : str, optional
        A currency code ("EUR" draws "€") or a symbol.

    Returns
    -------
    matplotlib Axes
        Seven bars in ``ax.patches``, in the order start, new, expansion, reactivation,
        contraction, churn, end; each floating bar's bottom is the level the bars before
        it reached. One text per bar (``gid="amount"``).

    Examples
    --------
    >>> m = pd.DataFrame({"start": [150.0, 200.0], "new": [80.0, 0.0],
    ...                   "expansion": [20.0, 0.0], "contraction": [0.0, 20.0],
    ...                   "churn": [50.0, 0.0], "reactivation": [0.0, 50.0],
    ...                   "end": [200.0, 230.0]}, index=[2, 3])
    >>> ax = plot_mrr_bridge(m, currency="USD")
    >>> [t.get_text() for t in ax.texts]
    ['$150.00', '+$80.00', '+$20.00', '+$50.00', '-$20.00', '-$50.00', '$230.00']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    columns = ("start", "new", "expansion", "contraction", "churn", "reactivation", "end")
    if not isinstance(movements, pd.DataFrame) or len(movements) == 0 or not set(
            columns) <= set(movements.columns):
        raise DataError(f"plot_mrr_bridge needs a non-empty table with columns {list(columns)}",
                        fix="pass the output of retention_kit.metrics.mrr_movements()")
    values = movements[list(columns)].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy()).all(axis=1)
    if bad.any():
        raise DataError("the MRR movements have missing or non-numeric amounts",
                        n_rows=int(bad.sum()), example=str(movements.index[bad][0]),
                        fix="pass the output of retention_kit.metrics.mrr_movements()")
    start = float(values["start"].iloc[0])
    end = float(values["end"].iloc[-1])
    steps = [(name, direction * float(values[name].sum())) for name, direction in
             MRR_BRIDGE_STEPS]
    reached = start + sum(v for _, v in steps)
    if not math.isclose(reached, end, rel_tol=1e-9, abs_tol=1e-6 * max(1.0, abs(end))):
        raise DataError("start + movements != end: the rows are not consecutive periods of "
                        "one MRR bridge", example=f"{start:,.2f} + movements = {reached:,.2f}, "
                        f"end = {end:,.2f}",
                        fix="pass consecutive rows of mrr_movements() (e.g. .iloc[-12:])")
    ax = _axes(ax, figsize=(8.0, 4.5))
    labels = ["start"] + [name for name, _ in steps] + ["end"]
    x = np.arange(len(labels))
    level = start
    # one number format for the whole chart: no cents once any bar reaches 1,000
    digits = 0 if max(abs(start), abs(end), *(abs(v) for _, v in steps)) >= 1000 else 2
    bottoms, heights, colours = [0.0], [start], [_LEVEL]
    texts = [format_money(start, currency, decimals=digits)]
    for _name, v in steps:
        bottoms.append(level)
        heights.append(v)
        colours.append(_UP if v >= 0 else _DOWN)
        texts.append(format_money(v, currency, sign=True, decimals=digits))
        level += v
    bottoms.append(0.0)
    heights.append(end)
    colours.append(_LEVEL)
    texts.append(format_money(end, currency, decimals=digits))
    ax.bar(x, heights, bottom=bottoms, color=colours, width=0.6, edgecolor="none")
    tops = [max(b, b + h) for b, h in zip(bottoms, heights, strict=True)]
    for i in range(len(labels) - 1):  # connectors: the level each bar hands to the next
        edge = bottoms[i] + heights[i]
        ax.plot([x[i] + 0.3, x[i + 1] - 0.3], [edge, edge], color="0.6", linewidth=0.8,
                gid="connector")
    for xi, top, text in zip(x, tops, texts, strict=True):
        ax.annotate(text, (xi, top), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9, gid="amount")
    high = max(tops)
    ax.set_ylim(0, high * 1.12 if high > 0 else 1.0)
    first, last = _as_period(movements.index[0]), _as_period(movements.index[-1])
    # start is the MRR of the period before the first row
    start_label = (f"start\n({first - 1})" if isinstance(first, pd.Period)
                   else f"start\n(before {first})")
    ax.set_xticks(x, [start_label] + labels[1:-1] + [f"end\n({last})"], fontsize=9)
    ax.yaxis.set_major_formatter(_money_formatter(currency))
    ax.tick_params(axis="y", labelsize=9)
    ax.set_ylabel("MRR" + (f" ({currency})" if currency else ""))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title if title is not None else
                 (f"MRR bridge, {first}" if first == last else f"MRR bridge, {first} to {last}"))
    return ax


#: Kinds of a trend series and how its axis is formatted.
TREND_KINDS = ("percent", "money", "count")

_DEFAULT_KINDS = {"active_customers": "count", "retention": "percent", "churn": "percent",
                  "revenue": "money", "orders": "count", "new_customers": "count",
                  "mrr": "money", "arpa": "money", "nrr": "percent", "grr": "percent"}


def _trend_kind(table: pd.DataFrame, column: str, kinds: Mapping[str, str] | None) -> str:
    kind = (kinds or {}).get(column) or dict(table.attrs.get("kinds", {})).get(column) or \
        _DEFAULT_KINDS.get(column)
    if kind is None:
        values = table[column].dropna()
        kind = "percent" if len(values) and values.between(0, 1).all() and \
            not np.allclose(values, values.round()) else "count"
    if kind not in TREND_KINDS:
        raise DataError(f"unknown kind {kind!r} for trend column {column!r}",
                        fix=f"use one of {list(TREND_KINDS)}")
    return kind


def _trend_value(value: float, kind: str, currency: str | None) -> str:
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "money":
        return format_money(value, currency)
    return f"{value:,.0f}"


def plot_trends(
    table: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    ax: Any = None,
    axes: Any = None,
    title: str | None = None,
    currency: str | None = None,
) -> Any:
    """Small multiples: one line per measure over the window, the last period highlighted.

    Each panel draws one column against the periods (missing values, e.g. the
    periods an activity rule cannot judge yet, are gaps), marks the last period with
    a point and writes its value next to it. Y axes are formatted by the column's kind:
    ``"percent"`` (fractions drawn as %), ``"money"`` (the currency) or ``"count"``.

    Parameters
    ----------
    table : DataFrame
        Indexed by period (pandas Periods, or datetimes), one column per measure, such as
        :func:`retention_kit.reports.shop_trends`.
    columns : list of str, optional
        Columns to draw, in order; default all numeric columns.
    kinds : mapping column -> kind, optional
        Overrides ``table.attrs["kinds"]`` and the defaults (retention and churn percent,
        revenue money, the rest counts).
    ax, axes : matplotlib Axes or array of Axes, optional
        One Axes per column (``ax`` for a single column); a new figure when None.
    title : str, optional
        A title over the panels (the figure's suptitle).
    currency : str, optional
        Code or symbol for money; defaults to ``table.attrs["currency"]``.

    Returns
    -------
    numpy array of matplotlib Axes
        One per column, in order; each has the series line first (``ax.lines[0]``), one
        highlighted point (``gid="last"``) and one value label (``gid="last_value"``).

    Examples
    --------
    >>> t = pd.DataFrame({"churn": [0.05, 0.04, 0.06], "revenue": [100.0, 120.0, 90.0]},
    ...                  index=pd.period_range("2024-01", periods=3, freq="M"))
    >>> axes = plot_trends(t, currency="EUR")
    >>> [[x.get_text() for x in a.texts] for a in axes]
    [['6.0%'], ['€90.00']]
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    if not isinstance(table, pd.DataFrame) or len(table) == 0:
        raise DataError("plot_trends needs a non-empty table indexed by period",
                        fix="pass the output of retention_kit.reports.shop_trends()")
    if columns is None:
        columns = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    missing = [c for c in columns if c not in table.columns]
    if missing or not columns:
        raise DataError("plot_trends: columns not in the table", n_rows=len(missing),
                        example=repr(missing[0]) if missing else "no numeric columns",
                        fix=f"choose among {list(table.columns)}")
    index = table.index
    if isinstance(index, pd.PeriodIndex):
        x = index.to_timestamp()
    elif isinstance(index, pd.DatetimeIndex):
        x = index
    else:
        raise DataError("the trend table is not indexed by period or date",
                        example=f"index of type {type(index).__name__}",
                        fix="index the table by pandas Periods or datetimes")
    currency = currency if currency is not None else table.attrs.get("currency")
    units = dict(table.attrs.get("units", {}))
    given = axes if axes is not None else ax
    if given is None:
        ncols = min(3, len(columns))
        nrows = int(np.ceil(len(columns) / ncols))
        fig, grid = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows),
                                 squeeze=False, sharex=True, layout="constrained")
        panels = list(grid.ravel())
        for extra in panels[len(columns):]:
            extra.set_visible(False)
        panels = panels[:len(columns)]
    else:
        panels = list(np.atleast_1d(np.asarray(given, dtype=object)).ravel())
        if len(panels) != len(columns):
            raise DataError(f"{len(panels)} axes given for {len(columns)} columns",
                            fix="pass one Axes per column (axes=...)")
        fig = panels[0].figure
    for panel, col in zip(panels, columns, strict=True):
        kind = _trend_kind(table, col, kinds)
        y = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        panel.plot(x, y, color="C0", linewidth=1.6, gid="series")
        if np.isfinite(y[-1]):  # the label right of the last point: no line there
            panel.plot([x[-1]], [y[-1]], marker="o", markersize=6, color="C3",
                       linestyle="none", gid="last")
            panel.annotate(_trend_value(float(y[-1]), kind, currency), (x[-1], y[-1]),
                           xytext=(6, 0), textcoords="offset points", ha="left",
                           va="center", fontsize=9, color="C3", gid="last_value",
                           fontweight="bold")
        if kind == "percent":
            panel.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if np.nanmax(
                np.abs(np.nan_to_num(y))) >= 0.1 else 1))
        elif kind == "money":
            panel.yaxis.set_major_formatter(_money_formatter(currency))
        else:
            panel.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            panel.yaxis.set_major_formatter(
                FuncFormatter(lambda v, _p: f"{v / 1000:,.1f}k".replace(".0k", "k")
                                  if abs(v) >= 10000 else f"{v:,.0f}"))
        finite = y[np.isfinite(y)]
        if len(finite):
            low, high = float(finite.min()), float(finite.max())
            pad = 0.1 * (high - low) if high > low else (
                0.1 * abs(high) if high else (0.01 if kind == "percent" else 1.0))
            # counts and money from 0 stay off the axis line; positive series stop at 0
            bottom = 0.0 if 0 < low <= pad else low - (0.5 * pad if low == 0 else pad)
            panel.set_ylim(bottom, high + pad)
        span = x[-1] - x[0] if len(x) > 1 else pd.Timedelta(days=30)
        panel.set_xlim(x[0] - 0.02 * span, x[-1] + 0.25 * span)  # room for the label
        locator = _remembering_date_locator()(minticks=3, maxticks=6)
        panel.xaxis.set_major_locator(locator)
        panel.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        name = col.replace("_", " ")
        unit = units.get(col)
        panel.set_title(_wrap(name[0].upper() + name[1:] + (f" ({unit})" if unit else ""),
                              width=48), fontsize=10)
        panel.tick_params(labelsize=8)
        panel.grid(axis="y", color="0.9", linewidth=0.8)
        panel.spines[["top", "right"]].set_visible(False)
    if title is not None:
        fig.suptitle(title)
    return np.asarray(panels, dtype=object)
