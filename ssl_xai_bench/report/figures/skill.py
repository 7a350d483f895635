"""Model skill per (model, condition): the localizer's MAE beside trivial and SRP-PHAT.

Input: ``model_skill.csv`` rows (model, condition, t60, snr_db, predictor, mae / ci_low / ci_high in
metres, per-coordinate MAE). One panel per model; grouped bars per condition, one bar per predictor,
95 % CI as error bars. A localizer that does not beat ``trivial`` (the test-square centre) has
learnt nothing its attributions could explain (see PAPER.md, "Geometry").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import condition_label, method_colors, new_figure

__all__ = ["plot_model_skill"]


def plot_model_skill(skill: pd.DataFrame) -> tuple[Figure, str]:
    """Grouped bars of MAE (m) per condition and predictor, one panel per model.

    Parameters
    ----------
    skill : pandas.DataFrame
        ``model_skill.csv`` rows.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    for col in ("model", "condition", "predictor", "mae", "ci_low", "ci_high"):
        if col not in skill.columns:
            raise ValueError(f"model_skill: missing column {col!r}")
    models = list(dict.fromkeys(skill["model"]))
    fig = new_figure(max(4.5, 3.2 * len(models)), 3.2)
    axes = np.atleast_1d(fig.subplots(1, len(models), sharey=True, squeeze=False)).ravel()
    for ax, model in zip(axes, models, strict=True):
        rows = skill[skill["model"] == model].copy()
        rows["predictor"] = rows["predictor"].replace({model: f"{model} (model)"})
        conds = list(dict.fromkeys(rows["condition"]))
        preds = list(dict.fromkeys(rows["predictor"]))
        colors = method_colors(preds)
        width = 0.8 / len(preds)
        for j, pred in enumerate(preds):
            r = rows[rows["predictor"] == pred].set_index("condition").reindex(conds)
            x = np.arange(len(conds)) + (j - (len(preds) - 1) / 2) * width
            err = np.vstack([r["mae"] - r["ci_low"], r["ci_high"] - r["mae"]]).clip(min=0)
            ax.bar(x, r["mae"], width, yerr=np.nan_to_num(err), capsize=2, label=pred,
                   color=colors[pred])
        labels = []
        for c in conds:
            first = rows[rows["condition"] == c].iloc[0]
            labels.append(condition_label(first["t60"], first["snr_db"]).replace(", ", "\n")
                          if "t60" in rows else c)
        ax.set_xticks(np.arange(len(conds)), labels, fontsize=7)
        ax.set_xlabel("condition (T60 in s, SNR in dB)")
        ax.set_ylabel("MAE per coordinate (m)")
        ax.set_title(model, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    caption = ("Model skill: test-set MAE (m, per coordinate) of each trained localizer beside the "
               "trivial predictor (centre of the test square) and SRP-PHAT; error bars are 95 % "
               "CIs over sources.")
    return fig, caption
