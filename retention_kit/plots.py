"""Plots of retention_kit results: they draw, they do not compute.

Every function has the form ``plot_x(obj, *, ax=None, **kwargs) -> Axes``: it
draws the output of another module (a cohort table, a retention curve, a
survival result, metric values) on ``ax`` (a new figure when None) and returns
the Axes. matplotlib and seaborn are imported inside the functions, so
``import retention_kit.plots`` does not load them, and nothing here changes
global matplotlib state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .cohorts import SurvivalResult

__all__ = [
    "plot_cohort_heatmap",
    "plot_frequency_distribution",
    "plot_frequency_recency_matrix",
    "plot_holdout_by_frequency",
    "plot_metric_bars",
    "plot_probability_alive_history",
    "plot_retention_curves",
    "plot_survival",
    "plot_survival_projection",
    "plot_tracking",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize)
    return new


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
    if isinstance(curves, pd.DataFrame) and curves.attrs.get("kind") == "retention_curve" or (
            isinstance(curves, pd.DataFrame) and "at_risk" in curves.columns):
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
                            xytext=(0, 6), ha="center", fontsize=7, color="0.35")
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
                        textcoords="offset points", ha="right", va="top", fontsize=7)
            for t in ticks:
                after = np.flatnonzero(times >= t - 1e-12)
                n = int(counts[after[0]]) if len(after) else 0
                ax.annotate(f"{n:,}", (t, y), xycoords=("data", "axes fraction"),
                            ha="center", va="top", fontsize=7, gid="at_risk")
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
