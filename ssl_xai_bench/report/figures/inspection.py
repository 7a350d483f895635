"""The paper's inspection figure for one test window: signals, relevance, spectra and GCC-PHAT.

Input: one ``inspection/*.npz`` record written by the harness for the best or worst test source of
a (model, condition): ``window (M, T)`` and ``direct (M, T)`` float32 microphone signals,
``relevance_<method> (M, T)`` per attribution method, ``position (3,)`` and ``prediction (3,)`` in
metres, ``fs`` (Hz), ``pair (2,)`` microphone indices, ``true_tdoa`` (samples; positive when the
pair's second microphone receives later), ``meta`` (JSON: model, condition, which, methods,
source_id, error_m); optionally ``mask_direct`` and ``mask_onset`` ``(M, T)`` bool, the
window's ground-truth masks (:mod:`ssl_xai_bench.report.figures.masks` draws them).

Rows: the microphone window, then each method's relevance (min-max scaled to [0, 1] over the two
channels of the pair, as the paper's plots do). Columns: the pair's two waveforms, the first
channel's spectrogram (dB re its maximum), and the GCC-PHAT of the pair (Knapp & Carter 1976; FFT
length 16384 as in the authors' code, no lag limit) with the true delay marked. An all-zero signal
(output = bias) has no GCC-PHAT; the panel says so instead of drawing NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import signal as sps

from ssl_xai_bench.report.figures.common import new_figure

__all__ = ["InspectionRecord", "load_inspection", "gcc_phat", "minmax_unit", "plot_inspection"]

N_FFT = 16384


@dataclass
class InspectionRecord:
    """One inspection window (see the module docstring for the fields)."""

    window: np.ndarray
    direct: np.ndarray
    relevance: dict[str, np.ndarray]
    position: np.ndarray
    prediction: np.ndarray
    fs: int
    pair: tuple[int, int]
    true_tdoa: float
    meta: dict[str, Any] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"<model> <condition> <which>"``."""
        m = self.meta
        return f"{m.get('model', '?')} {m.get('condition', '?')} {m.get('which', '?')}"


def load_inspection(path: str | Path) -> InspectionRecord:
    """Read one inspection ``.npz`` (no pickles); raise ``ValueError`` naming a missing key."""
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        for k in ("window", "direct", "position", "prediction", "fs", "pair", "true_tdoa", "meta"):
            if k not in keys:
                raise ValueError(f"inspection {Path(path).name}: missing key {k!r}")
        meta = json.loads(str(z["meta"]))
        methods = meta.get("methods") or sorted(k[len("relevance_"):] for k in keys
                                                if k.startswith("relevance_"))
        rel = {}
        for m in methods:
            if f"relevance_{m}" not in keys:
                raise ValueError(f"inspection {Path(path).name}: missing key 'relevance_{m}'")
            rel[m] = np.asarray(z[f"relevance_{m}"], dtype=np.float32)
        window = np.asarray(z["window"], dtype=np.float32)
        for m, r in rel.items():
            if r.shape != window.shape:
                raise ValueError(f"inspection relevance_{m}: shape {r.shape} != window "
                                 f"{window.shape}")
        pair = tuple(int(i) for i in z["pair"])
        masks = {k[len("mask_"):]: np.asarray(z[k], dtype=bool) for k in ("mask_direct",
                                                                         "mask_onset") if k in keys}
        return InspectionRecord(
            window=window, direct=np.asarray(z["direct"], dtype=np.float32), relevance=rel,
            position=np.asarray(z["position"], float),
            prediction=np.asarray(z["prediction"], float),
            fs=int(z["fs"]), pair=(pair[0], pair[1]), true_tdoa=float(z["true_tdoa"]), meta=meta,
            masks=masks)


def gcc_phat(a: np.ndarray, b: np.ndarray, n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray]:
    """GCC-PHAT of two equal-length signals; the peak is at +d when ``b`` lags ``a`` by d samples.

    Returns ``(lags, cc)`` with lags in samples (``-n_fft/2 .. n_fft/2 - 1``) and ``cc`` all NaN
    when either signal is all zero (the PHAT weighting is 0/0 there).
    """
    n = max(int(n_fft), 1 << int(np.ceil(np.log2(2 * len(a)))))
    lags = np.arange(-n // 2, n // 2)
    if not (np.any(a) and np.any(b)):
        return lags, np.full(n, np.nan)
    cross = np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n))
    mag = np.abs(cross)
    cross = np.where(mag > 0, cross / np.where(mag > 0, mag, 1.0), 0.0)
    return lags, np.fft.fftshift(np.fft.irfft(cross, n))


def minmax_unit(x: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (a constant signal maps to zeros)."""
    x = np.asarray(x, dtype=np.float64)
    span = float(x.max() - x.min()) if x.size else 0.0
    return np.zeros_like(x) if span == 0 else (x - x.min()) / span


def _spectrogram(ax, fig, x: np.ndarray, fs: int) -> None:
    f, t, s = sps.spectrogram(x, fs=fs, nperseg=256, noverlap=192)
    peak = s.max() if np.any(s > 0) else 1.0
    db = 10 * np.log10(np.maximum(s / peak, 1e-12))
    mesh = ax.pcolormesh(1e3 * t, f / 1e3, db, vmin=-80, vmax=0, shading="auto", cmap="magma",
                         rasterized=True)
    fig.colorbar(mesh, ax=ax, label="power (dB re max)", pad=0.01)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (kHz)")


def _gcc(ax, a: np.ndarray, b: np.ndarray, true_tdoa: float) -> None:
    lags, cc = gcc_phat(a, b)
    span = max(32, int(2 * abs(true_tdoa)) + 16)
    view = np.abs(lags) <= span
    ax.axvline(true_tdoa, color="C3", ls="--", lw=1, label=f"true delay ({true_tdoa:g} samples)")
    if np.isfinite(cc).all():
        est = int(lags[np.argmax(cc)])
        ax.plot(lags[view], cc[view], color="C0", lw=1, label="GCC-PHAT")
        shown = est if abs(est) <= span else np.sign(est) * span
        ax.plot([shown], [cc[lags == est][0]], "v", color="C1",
                label=f"estimate ({est} samples)")
    else:
        ax.plot([], [], color="C0", label="GCC-PHAT undefined (all-zero signal)")
        ax.text(0.5, 0.5, "all-zero signal:\nGCC-PHAT undefined", transform=ax.transAxes,
                ha="center", va="center", fontsize=8)
    ax.set_xlim(-span, span)
    ax.set_xlabel("lag (samples)")
    ax.set_ylabel("GCC-PHAT (unitless)")
    ax.legend(fontsize=6, loc="upper right")


def plot_inspection(rec: InspectionRecord) -> tuple[Figure, str]:
    """The inspection figure of one window (rows: microphones, then each method).

    Parameters
    ----------
    rec : InspectionRecord
        As returned by :func:`load_inspection`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    ia, ib = rec.pair
    rows = [("microphone signals", rec.window, False)] + [
        (f"relevance: {m}", r, True) for m, r in rec.relevance.items()]
    fig = new_figure(11.0, 2.0 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), 3, squeeze=False)
    t_ms = 1e3 * np.arange(rec.window.shape[-1]) / rec.fs
    for (title, sig, scale), (ax_w, ax_s, ax_g) in zip(rows, axes, strict=True):
        a, b = sig[ia].astype(np.float64), sig[ib].astype(np.float64)
        if scale:
            both = minmax_unit(np.stack([a, b]))
            shown_a, shown_b, ylab = both[0], both[1], "relevance (min-max, unitless)"
        else:
            shown_a, shown_b, ylab = a, b, "amplitude (a.u.)"
        ax_w.plot(t_ms, shown_a, lw=0.5, label=f"mic {ia}", rasterized=True)
        ax_w.plot(t_ms, shown_b, lw=0.5, alpha=0.7, label=f"mic {ib}", rasterized=True)
        ax_w.set_xlabel("time (ms)")
        ax_w.set_ylabel(ylab, fontsize=7)
        ax_w.set_title(title, fontsize=8, loc="left")
        ax_w.legend(fontsize=6, loc="upper right")
        _spectrogram(ax_s, fig, a, rec.fs)
        ax_s.set_title(f"mic {ia} spectrogram", fontsize=8, loc="left")
        _gcc(ax_g, a, b, rec.true_tdoa)
        ax_g.set_title(f"GCC-PHAT, mics {ia}-{ib}", fontsize=8, loc="left")
    m = rec.meta
    err = m.get("error_m")
    err_txt = f", localization error {float(err):.3g} m" if err is not None else ""
    fig.suptitle(f"{rec.label} source {m.get('source_id', '?')}{err_txt}", fontsize=10)
    caption = (f"{m.get('model', '?')}, {m.get('condition', '?')}, {m.get('which', '?')} test "
               f"source (id {m.get('source_id', '?')}{err_txt}): microphone pair {ia}-{ib} and "
               "each method's relevance (min-max scaled), the first channel's spectrogram and the "
               "pair's GCC-PHAT with the true delay (dashed) and the estimate (triangle).")
    return fig, caption
