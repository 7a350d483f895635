"""TDoA figures (the paper's Experiment B, with the pitfalls of PAPER.md fixed).

Input: ``tdoa.csv`` rows (model, condition, t60, snr_db, method = attribution method |
``microphones`` | ``constant``, variant ``paper`` | ``bounded``, pair ``"a-b"``, spacing_m,
anomaly_rate in 0..1, mae_samples, pearson, spearman, frac_zero_lag).

- :func:`plot_tdoa_summary`: anomaly rate (%) and MAE (samples) of GCC-PHAT on the microphone
  signals, on each method's relevance and of the constant-lag estimator, for one pair, both
  variants side by side. The constant estimator is drawn so that nobody is credited for matching it.
- :func:`plot_tdoa_vs_spacing`: anomaly rate (%), MAE (samples) and Pearson r of estimated against
  true delay versus microphone spacing (m), one line per estimator (issue 13).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import (
    cell_rows,
    condition_label,
    method_colors,
    new_figure,
)

__all__ = ["plot_tdoa_summary", "plot_tdoa_vs_spacing", "estimator_order", "default_pair"]

TDOA_COLUMNS = ("model", "condition", "method", "variant", "pair", "spacing_m", "anomaly_rate",
                "mae_samples", "pearson")
BASELINES = ("microphones", "constant")


def estimator_order(rows: pd.DataFrame) -> list[str]:
    """``microphones``, ``constant``, then the attribution methods in order of appearance."""
    methods = [m for m in dict.fromkeys(rows["method"]) if m not in BASELINES]
    return [b for b in BASELINES if b in set(rows["method"])] + methods


def default_pair(rows: pd.DataFrame) -> str:
    """The paper's pair ``7-8`` when present, else the pair of smallest spacing."""
    pairs = rows.drop_duplicates("pair").sort_values("spacing_m")
    return "7-8" if "7-8" in set(pairs["pair"]) else str(pairs["pair"].iloc[0])


#: Line styles of the TDoA baselines; every method is drawn in its colour with dots.
BASELINE_STYLES = {"microphones": {"color": "k", "ls": "-", "marker": "s"},
                   "constant": {"color": "0.5", "ls": "--", "marker": "x"}}


def _style(name: str, colors: dict) -> dict:
    return BASELINE_STYLES.get(name) or {"color": colors[name], "ls": "-", "marker": "o"}


def plot_tdoa_summary(tdoa: pd.DataFrame, model: str, condition: str,
                      pair: str | None = None) -> tuple[Figure, str]:
    """Bars of anomaly rate (%) and MAE (samples) per estimator for one pair, per variant.

    Parameters
    ----------
    tdoa : pandas.DataFrame
        ``tdoa.csv`` rows.
    model, condition : str
        The cell.
    pair : str, optional
        Microphone pair label (default :func:`default_pair`).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    rows = cell_rows(tdoa, TDOA_COLUMNS, model, condition, "tdoa")
    pair = pair or default_pair(rows)
    rows = rows[rows["pair"].astype(str) == pair]
    if rows.empty:
        raise ValueError(f"tdoa.pair: no rows for pair {pair!r}")
    names = estimator_order(rows)
    variants = list(dict.fromkeys(rows["variant"]))
    fig = new_figure(max(8.0, 1.3 * len(names) + 3), 3.4)
    axes = fig.subplots(1, 2)
    width = 0.8 / len(variants)
    for ax, col, scale, ylabel in ((axes[0], "anomaly_rate", 100.0, "anomaly rate (%)"),
                                   (axes[1], "mae_samples", 1.0, "MAE (samples)")):
        for j, variant in enumerate(variants):
            r = rows[rows["variant"] == variant].set_index("method").reindex(names)
            x = np.arange(len(names)) + (j - (len(variants) - 1) / 2) * width
            ax.bar(x, scale * r[col].to_numpy(float), width, label=f"{variant} variant",
                   color=f"C{j}", hatch=["", "//"][j % 2])
        for j, variant in enumerate(variants):
            const = rows[(rows["method"] == "constant") & (rows["variant"] == variant)]
            if len(const):
                ax.axhline(scale * float(const[col].iloc[0]), color=f"C{j}", ls="--", lw=1,
                           label=f"constant-lag estimator ({variant})")
        ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=7)
        ax.set_xlabel("TDoA estimator (GCC-PHAT input)")
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    first = rows.iloc[0]
    cond = condition_label(first["t60"], first["snr_db"]) if "t60" in rows else condition
    spacing = float(first["spacing_m"])
    fig.suptitle(f"{model}, {cond}: TDoA on pair {pair} ({spacing:g} m)", fontsize=10)
    caption = (f"{model}, {cond}, microphone pair {pair} ({spacing:g} m apart): GCC-PHAT anomaly "
               "rate (%) and MAE (samples, non-anomalous windows) on the microphone signals, on "
               "each method's relevance and for the constant-lag estimator (dashed lines), for the "
               "paper's variant (truncated truth, unbounded lags) and the bounded variant.")
    return fig, caption


def plot_tdoa_vs_spacing(tdoa: pd.DataFrame, model: str, condition: str,
                         variant: str = "bounded") -> tuple[Figure, str]:
    """Anomaly rate (%), MAE (samples) and Pearson r against pair spacing (m), per estimator.

    Parameters
    ----------
    tdoa : pandas.DataFrame
        ``tdoa.csv`` rows.
    model, condition : str
        The cell.
    variant : str
        ``paper`` or ``bounded``.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    rows = cell_rows(tdoa, TDOA_COLUMNS, model, condition, "tdoa")
    if variant not in set(rows["variant"]):
        raise ValueError(f"tdoa.variant: {variant!r} not in {sorted(set(rows['variant']))}")
    rows = rows[rows["variant"] == variant]
    names = estimator_order(rows)
    colors = method_colors([n for n in names if n not in BASELINES])
    fig = new_figure(10.0, 3.2)
    axes = fig.subplots(1, 3)
    panels = (("anomaly_rate", 100.0, "anomaly rate (%)"),
              ("mae_samples", 1.0, "MAE, non-anomalous (samples)"),
              ("pearson", 1.0, "Pearson r, estimated vs true delay (unitless)"))
    for ax, (col, scale, ylabel) in zip(axes, panels, strict=True):
        for name in names:
            r = rows[rows["method"] == name].sort_values("spacing_m")
            y = scale * r[col].to_numpy(float)
            if not np.isfinite(y).any():
                continue  # e.g. the constant estimator has no correlation
            ax.plot(r["spacing_m"], y, label=name, ms=4, **_style(name, colors))
        ax.set_xlabel("microphone spacing (m)")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    first = rows.iloc[0]
    cond = condition_label(first["t60"], first["snr_db"]) if "t60" in rows else condition
    fig.suptitle(f"{model}, {cond}: TDoA versus pair spacing ({variant} variant)", fontsize=10)
    caption = (f"{model}, {cond}, {variant} variant: GCC-PHAT anomaly rate (%), MAE (samples) "
               "and the Pearson correlation of estimated with true delays versus microphone "
               "spacing (m), for the microphone signals (black), the constant-lag estimator "
               "(grey dashed; no correlation defined) and each method's relevance.")
    return fig, caption
