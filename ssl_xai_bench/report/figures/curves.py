"""Input-manipulation curves (the paper's Experiment A, Fig. 3): MAE versus removed fraction.

Input: ``curves.csv`` rows (model, condition, t60, snr_db, method, ranking in
relevance|energy|random, fraction in 0..0.7, mae / ci_low / ci_high in metres, and the removal
``baseline``: the figure draws the study's, ``zero``, when the run has it). One panel per
attribution method; relevance solid, random dashed, energy dotted; the shaded band is the 95 % CI.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import (
    RANKING_STYLE,
    cell_rows,
    condition_label,
    new_figure,
)

__all__ = ["plot_manipulation_curves"]

CURVE_COLUMNS = ("model", "condition", "method", "ranking", "fraction", "mae", "ci_low", "ci_high")


def plot_manipulation_curves(curves: pd.DataFrame, model: str,
                             condition: str) -> tuple[Figure, str]:
    """MAE (m) against the percentage of removed input samples, one panel per method.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``curves.csv`` rows.
    model, condition : str
        The (model, condition) cell to draw.

    Returns
    -------
    (matplotlib.figure.Figure, str)
        The figure and its caption.
    """
    rows = cell_rows(curves, CURVE_COLUMNS, model, condition, "curves")
    removal = "zero"
    if "baseline" in rows.columns:  # one removal baseline per figure: the study's when present
        present = list(dict.fromkeys(rows["baseline"]))
        removal = "zero" if "zero" in present else present[0]
        rows = rows[rows["baseline"] == removal]
    methods = list(dict.fromkeys(rows["method"]))
    ncols = min(3, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    fig = new_figure(3.6 * ncols, 2.8 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax, method in zip(axes, methods, strict=False):
        for ranking, style in RANKING_STYLE.items():
            r = rows[(rows["method"] == method) & (rows["ranking"] == ranking)]
            if r.empty:
                continue
            r = r.sort_values("fraction")
            pct = 100 * r["fraction"].to_numpy(float)
            ax.plot(pct, r["mae"], style, color="k" if ranking != "relevance" else "C0",
                    marker="o" if ranking == "relevance" else None, ms=3, label=ranking)
            ax.fill_between(pct, r["ci_low"], r["ci_high"], alpha=0.15,
                            color="C0" if ranking == "relevance" else "0.5", lw=0)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("removed input samples (%)")
        ax.set_ylabel("MAE (m)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="removal order", title_fontsize=7)
    for ax in axes[len(methods):]:
        ax.set_visible(False)
    first = rows.iloc[0]
    cond = condition_label(first["t60"], first["snr_db"]) if "t60" in rows else condition
    fig.suptitle(f"{model}: input manipulation, {cond}", fontsize=10)
    caption = (f"{model}, {cond}: localization MAE (m, per coordinate) after removing "
               f"({removal} baseline) the given percentage of input samples ranked by relevance "
               "(solid), by energy |x| (dotted) or at random (dashed), for each attribution "
               "method; bands are 95 % CIs.")
    return fig, caption
