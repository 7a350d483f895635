"""Metric heatmaps: methods x conditions, one panel per attribution metric, one figure per model
(the report draws one per model and metric family, at most ``MAX_PANELS`` panels each).

Input: the tidy ``leaderboard.csv``. A panel's colour is the metric's mean (unit and direction in
the colour-bar label); cells read the mean with 4 significant digits
(:func:`ssl_xai_bench.report.tables.format_number`); failed cells are blank and read ``failed``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import condition_label, new_figure
from ssl_xai_bench.report.tables import format_number, validate_tidy

__all__ = ["MAX_PANELS", "plot_metric_heatmaps", "draw_metric_heatmap"]

#: The most panels the report puts in one heatmap figure.
MAX_PANELS = 9


def draw_metric_heatmap(ax: Axes, rows: pd.DataFrame, metric: str) -> None:
    """Draw one metric's methods x conditions heatmap into ``ax`` (rows: one model's tidy rows)."""
    rows = rows[rows["metric"] == metric]
    if rows.empty:
        raise ValueError(f"leaderboard.metric: no rows for {metric!r}")
    first = rows.iloc[0]
    unit, direction = first["unit"], first["direction"]
    conds = list(dict.fromkeys(rows["condition"]))
    methods = list(dict.fromkeys(rows["method"]))
    labels = {c: condition_label(g["t60"].iloc[0], g["snr_db"].iloc[0]).replace(", ", "\n")
              for c, g in rows.groupby("condition")}
    ok = rows[rows["status"] == "ok"]
    grid = ok.pivot(index="method", columns="condition", values="mean").reindex(
        index=methods, columns=conds).astype(float)
    failed = set(rows.loc[rows["status"] == "failed", ["method", "condition"]].itertuples(
        index=False, name=None))
    annot = np.array([[("failed" if (m, c) in failed else
                        format_number(grid.loc[m, c]) if np.isfinite(grid.loc[m, c]) else "")
                       for c in conds] for m in methods], dtype=object)
    unit_txt = f" ({unit})" if unit else " (unitless)"
    arrow = "↑" if direction == "up" else "↓"
    data = np.ma.masked_invalid(grid.to_numpy())
    image = ax.imshow(data, aspect="auto", interpolation="nearest",
                      cmap="viridis" if direction == "up" else "viridis_r")
    ax.figure.colorbar(image, ax=ax, label=f"{unit_txt.strip()} {arrow}", pad=0.02)
    lo, hi = image.get_clim()
    for i in range(len(methods)):
        for j in range(len(conds)):
            v = grid.iat[i, j]
            frac = (v - lo) / ((hi - lo) or 1.0)
            # viridis is dark at its low end; viridis_r (lower is better) at its high end
            dark = bool(np.isfinite(v)) and (frac < 0.5 if direction == "up" else frac > 0.5)
            ax.text(j, i, annot[i, j], ha="center", va="center", fontsize=7,
                    color="w" if dark else "k")
    ax.set_xticks(np.arange(len(conds)), [labels[c] for c in conds])
    ax.set_yticks(np.arange(len(methods)), methods)
    ax.set_xlabel("condition (T60 in s, SNR in dB)", fontsize=7)
    ax.set_ylabel("attribution method", fontsize=7)
    ax.tick_params(labelsize=6, rotation=0)
    ax.set_title(f"{metric}{unit_txt} {arrow}", fontsize=8)


def plot_metric_heatmaps(tidy: pd.DataFrame, model: str, metrics: list[str] | None = None,
                         family: str | None = None) -> tuple[Figure, str]:
    """One heatmap panel per metric (methods x conditions) for ``model``.

    Parameters
    ----------
    tidy : pandas.DataFrame
        The tidy leaderboard.
    model : str
        Which model.
    metrics : list of str, optional
        Which metrics (default: all, in order of appearance).
    family : str, optional
        The metric family the panels show (for the title and caption).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    tidy = validate_tidy(tidy)
    rows = tidy[tidy["model"] == model]
    if rows.empty:
        raise ValueError(f"leaderboard.model: no rows for {model!r}")
    metrics = metrics or list(dict.fromkeys(rows["metric"]))
    n_cond, n_meth = rows["condition"].nunique(), rows["method"].nunique()
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = new_figure(ncols * (2.4 + 1.1 * n_cond), nrows * (1.3 + 0.32 * n_meth))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        draw_metric_heatmap(ax, rows, metric)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    what = f"{family} metrics" if family else "attribution metrics"
    fig.suptitle(f"{model}: {what} per method and condition", fontsize=10)
    caption = (f"{model}: mean of every {what.removesuffix(' metrics')} metric per method (rows) "
               "and condition "
               "(columns); ↑ higher is better, ↓ lower is better; units in each panel's title; "
               "cells marked 'failed' did not complete (see the leaderboard footnotes).")
    return fig, caption
