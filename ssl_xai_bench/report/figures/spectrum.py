"""The spectral view of one model: relevance power per frequency band, against the microphones
and the PHAT weighting.

Input: ``spectra.csv`` (:mod:`ssl_xai_bench.metrics.spectrum`): per ``model, condition, method``
and band (``band, f_low_hz, f_high_hz``) the mean ``power_fraction`` over windows, with the
reference rows ``microphones``, ``direct_path`` and ``phat``. One panel per condition: each
method's band power relative to the PHAT weighting, ``10 log10(fraction / fraction_phat)`` (dB;
PHAT's flat weighting is the 0 dB line, a band above it holds more of the relevance than GCC-PHAT
gives it), the microphone signals dashed and the direct path dash-dotted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import method_colors, new_figure

__all__ = ["REFERENCES", "plot_band_spectra", "relative_to_phat"]

#: reference rows of spectra.csv -> (label, line style, colour)
REFERENCES = {"microphones": ("microphones", "--", "black"),
              "direct_path": ("direct path", "-.", "0.5")}


def relative_to_phat(cell: pd.DataFrame) -> dict[str, np.ndarray]:
    """Method -> band power relative to PHAT's (dB) of one cell's spectra rows, bands by
    frequency; ``phat`` itself is left out (0 dB everywhere)."""
    phat = cell[cell["method"] == "phat"].sort_values("f_low_hz")["power_fraction"].to_numpy()
    out = {}
    for method, rows in cell.groupby("method", sort=False):
        if method == "phat":
            continue
        frac = rows.sort_values("f_low_hz")["power_fraction"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[str(method)] = 10.0 * np.log10(np.maximum(frac, 1e-12) / phat)
    return out


def plot_band_spectra(spectra: pd.DataFrame, model: str) -> tuple[Figure, str]:
    """One model's band spectra, a panel per condition (see the module docstring)."""
    rows = spectra[spectra["model"] == model]
    conditions = list(dict.fromkeys(rows["condition"]))
    fig = new_figure(min(5.0 * len(conditions), 15.0), 3.8)
    axes = fig.subplots(1, len(conditions), squeeze=False, sharey=True)[0]
    methods = [m for m in dict.fromkeys(rows["method"]) if m not in (*REFERENCES, "phat")]
    colours = method_colors(methods)
    for ax, cond in zip(axes, conditions, strict=True):
        cell = rows[rows["condition"] == cond]
        bands = cell[cell["method"] == "phat"].sort_values("f_low_hz")["band"].tolist()
        x = np.arange(len(bands))
        for method, db in relative_to_phat(cell).items():
            label, style, colour = REFERENCES.get(method, (method, "-", colours.get(method)))
            ax.plot(x, db, style, color=colour, marker="o", ms=3, lw=1.2, label=label)
        ax.axhline(0.0, color="0.3", ls=":", lw=1, label="PHAT (flat)")
        ax.set_xticks(x, bands, rotation=45, ha="right", fontsize=7)
        ax.set_title(str(cond), fontsize=8, loc="left")
        ax.set_xlabel("band")
        ax.set_ylabel("power re PHAT weighting (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    caption = (f"{model}: each method's relevance power per frequency band relative to the PHAT "
               "weighting of GCC-PHAT (flat per frequency bin, the dotted 0 dB line), mean over "
               "the test windows and microphones; dashed: the microphone signals, dash-dotted: "
               "the direct path. Above 0 dB a band holds more of the relevance than GCC-PHAT "
               "gives it. Numbers and CIs: spectra.csv.")
    return fig, caption
