"""One window's ground-truth masks drawn under its signal.

Input: an :class:`~ssl_xai_bench.report.figures.inspection.InspectionRecord` with ``masks``
(``direct`` and ``onset`` ``(M, T)`` bool; ``rest`` is their complement), its window and direct
path ``(M, T)`` (amplitude, arbitrary units) and ``fs`` (Hz). Rows: for each microphone of the
record's pair, the microphone signal with its direct-path component over it, then a strip with
the three masks (direct-path dominant, onset, rest) along time (ms); last, every microphone's
masks as one image (microphone x time), where the onsets' shift by each microphone's direct delay
shows.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ssl_xai_bench.report.figures.common import new_figure
from ssl_xai_bench.report.figures.inspection import InspectionRecord

__all__ = ["MASK_COLOURS", "mask_codes", "plot_masks"]

#: rest, direct-path dominant, onset, both
MASK_COLOURS = ("#eeeeee", "#1f77b4", "#ff7f0e", "#2ca02c")
_LEGEND = ("rest", "direct-path dominant", "onset", "direct and onset")


def mask_codes(direct: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """0 rest, 1 direct-path dominant only, 2 onset only, 3 both (same shape as the masks)."""
    return np.asarray(direct, dtype=np.int64) + 2 * np.asarray(onset, dtype=np.int64)


def _strip(ax, direct: np.ndarray, onset: np.ndarray, t_ms: float) -> None:
    rows = np.stack([direct, onset, ~(direct | onset)]).astype(float)
    ax.imshow(rows * np.array([[1.0], [2.0], [0.5]]), aspect="auto", interpolation="nearest",
              extent=(0.0, t_ms, 2.5, -0.5), cmap=ListedColormap(["white", "#aaaaaa",
                                                                  MASK_COLOURS[1],
                                                                  MASK_COLOURS[2]]),
              vmin=0.0, vmax=2.0)
    ax.set_yticks([0, 1, 2], ["direct", "onset", "rest"], fontsize=7)
    ax.set_ylabel("mask", fontsize=7)
    ax.set_xlabel("time (ms)")


def plot_masks(rec: InspectionRecord) -> tuple[Figure, str]:
    """The masks figure of one inspection window (see the module docstring)."""
    if "direct" not in rec.masks or "onset" not in rec.masks:
        raise ValueError(f"{rec.label}: the record has no ground-truth masks")
    direct, onset = rec.masks["direct"], rec.masks["onset"]
    n_mics, n_samples = direct.shape
    t = 1e3 * np.arange(n_samples) / rec.fs
    fig = new_figure(11.0, 7.0)
    axes = fig.subplots(5, 1, gridspec_kw={"height_ratios": [3, 1, 3, 1, 3]})
    for k, mic in enumerate(rec.pair):
        ax_sig, ax_mask = axes[2 * k], axes[2 * k + 1]
        ax_sig.plot(t, rec.window[mic], lw=0.5, color="0.45", label="microphone",
                    rasterized=True)
        ax_sig.plot(t, rec.direct[mic], lw=0.5, color=MASK_COLOURS[1], label="direct path",
                    rasterized=True)
        ax_sig.set_ylabel("amplitude (a.u.)", fontsize=7)
        ax_sig.set_xlabel("time (ms)")
        ax_sig.set_title(f"mic {mic}", fontsize=8, loc="left")
        ax_sig.legend(fontsize=6, loc="upper right")
        _strip(ax_mask, direct[mic], onset[mic], float(t[-1]))
    image = axes[4].imshow(mask_codes(direct, onset), aspect="auto", interpolation="nearest",
                           extent=(0.0, float(t[-1]), n_mics - 0.5, -0.5),
                           cmap=ListedColormap(MASK_COLOURS), vmin=-0.5, vmax=3.5)
    colourbar = fig.colorbar(image, ax=axes[4], ticks=[0, 1, 2, 3], pad=0.01)
    colourbar.ax.set_yticklabels(_LEGEND, fontsize=6)
    colourbar.set_label("mask (category)", fontsize=7)
    axes[4].set_ylabel("microphone (index)", fontsize=7)
    axes[4].set_xlabel("time (ms)")
    share = {name: float(np.mean(m)) for name, m in
             (("direct", direct), ("onset", onset), ("rest", ~(direct | onset)))}
    fig.suptitle(f"{rec.label}: ground-truth masks", fontsize=10)
    caption = (f"{rec.meta.get('model', '?')}, {rec.meta.get('condition', '?')}, "
               f"{rec.meta.get('which', '?')} test window: microphones {rec.pair[0]} and "
               f"{rec.pair[1]} with their direct-path component, and the window's masks: "
               f"direct-path dominant ({100 * share['direct']:.0f} % of the samples), onsets "
               f"({100 * share['onset']:.0f} %), rest ({100 * share['rest']:.0f} %); last, every "
               "microphone's masks (onsets shift with each microphone's direct delay).")
    return fig, caption
