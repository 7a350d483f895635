"""Sweep figures: a metric against T60, SNR and array geometry, and the ranking per condition.

Input: ``leaderboard.csv`` rows of a run whose matrix varies at least one factor. One panel per
model (at most a few). In :func:`plot_metric_vs_factor` a point is the mean, over the cells at
that level of the factor (every level of the other two factors), of the cells' means, and its bar
the mean of their 95 % CI half-widths: cells' CIs are over different test sources and are not
pooled. Attribution methods are solid lines; the controls (``random``, ``energy``) dashed grey.
:func:`plot_rank_bumps` draws each method's rank (1 = best) in every condition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import method_colors, new_figure
from ssl_xai_bench.report.sweep import FACTORS, ranks

CONTROLS = ("random", "energy")
BASELINES = ("microphones", "constant", "direct_path")
FACTOR_LABEL = {"t60": "T60 (s)", "snr_db": "SNR (dB)", "geometry": "array geometry"}


def _levels(values: pd.Series) -> list:
    return sorted(values.unique(), key=lambda v: (isinstance(v, str), v))


def plot_metric_vs_factor(board: pd.DataFrame, metric: str, factor: str) -> tuple[Figure, str]:
    """``metric`` against the levels of ``factor`` (``t60``, ``snr_db`` or ``geometry``), one
    line per method, one panel per model."""
    if factor not in FACTORS:
        raise ValueError(f"factor: must be one of {FACTORS}, got {factor!r}")
    rows = board[(board["metric"] == metric) & (board["status"] == "ok")
                 & ~board["method"].isin(BASELINES)]
    if rows.empty:
        raise ValueError(f"metric: no ok rows of {metric!r}")
    models = sorted(rows["model"].unique())
    levels = _levels(rows[factor])
    methods = list(dict.fromkeys(rows["method"]))
    colours = method_colors([m for m in methods if m not in CONTROLS])
    fig = new_figure(4.2 * len(models), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(models), sharey=True))
    x = np.arange(len(levels))
    for ax, model in zip(axes, models, strict=True):
        part = rows[rows["model"] == model]
        for method in methods:
            sel = part[part["method"] == method]
            means = [sel.loc[sel[factor] == lv, "mean"].mean() for lv in levels]
            half = [((sel.loc[sel[factor] == lv, "ci_high"] - sel.loc[sel[factor] == lv,
                      "ci_low"]) / 2).mean() for lv in levels]
            control = method in CONTROLS
            ax.errorbar(x, means, yerr=half, capsize=2, marker="o", ms=3,
                        ls="--" if control else "-", color="0.55" if control else
                        colours[method], label=method, lw=1)
        ax.set_xticks(x, [f"{lv:g}" if not isinstance(lv, str) else lv for lv in levels])
        ax.set_xlabel(FACTOR_LABEL[factor])
        ax.set_title(model, fontsize=9)
    unit = rows["unit"].iloc[0]
    arrow = "higher is better" if rows["direction"].iloc[0] == "up" else "lower is better"
    axes[0].set_ylabel(f"{metric} ({unit}, {arrow})", fontsize=8)
    axes[-1].legend(fontsize=6, loc="best")
    caption = (f"{metric} against {FACTOR_LABEL[factor]}: each point is the mean over the cells "
               "at that level (all levels of the other factors) of the cells' means, the bar the "
               "mean of their 95 % CI half-widths (not a pooled CI). Controls dashed grey.")
    return fig, caption


def plot_rank_bumps(board: pd.DataFrame, metric: str,
                    localising: set[tuple[str, str]] | None = None) -> tuple[Figure, str]:
    """Each method's rank by ``metric`` in every condition (geometry, then T60, then SNR), one
    panel per model; only the ``localising`` (model, condition) cells when given."""
    ranked = ranks(board, metric, localising)
    if ranked.empty:
        raise ValueError(f"metric: no ranked rows of {metric!r}")
    models = sorted(ranked["model"].unique())
    fig = new_figure(max(5.0, 0.45 * ranked.groupby(list(FACTORS)).ngroups + 2), 2.6 * len(
        models))
    axes = np.atleast_1d(fig.subplots(len(models), 1, sharex=True))
    colours = method_colors(list(dict.fromkeys(ranked["method"])))
    for ax, model in zip(axes, models, strict=True):
        part = ranked[ranked["model"] == model]
        conds = part[["geometry", "t60", "snr_db"]].drop_duplicates().sort_values(
            ["geometry", "t60", "snr_db"], kind="stable")
        labels = [f"{g} {t:g}s {s:g}dB" for g, t, s in conds.itertuples(index=False)]
        index = {tuple(c): i for i, c in enumerate(conds.itertuples(index=False))}
        for method, sel in part.groupby("method", sort=False):
            pts = sorted((index[(g, t, s)], r) for g, t, s, r in
                         sel[["geometry", "t60", "snr_db", "rank"]].itertuples(index=False))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1,
                    color=colours[method], label=method)
        ax.invert_yaxis()
        ax.set_ylabel(f"{model}: rank", fontsize=8)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=6)
    axes[0].legend(fontsize=6, ncol=2, loc="best")
    up = board.loc[board["metric"] == metric, "direction"].iloc[0] == "up"
    direction = "higher" if up else "lower"
    caption = (f"Rank of each attribution method by {metric} ({direction} is better; 1 = best) "
               "in every condition" + (" where the model localises" if localising is not None
                                       else "") + "; controls and TDoA baselines not ranked.")
    return fig, caption


__all__ = ["plot_metric_vs_factor", "plot_rank_bumps"]
