"""The spectral view: which frequency bands carry a relevance's power, against the microphone
signals' spectrum and against the PHAT weighting of GCC-PHAT.

Per window: the Hann-windowed periodogram (``rfft`` over the ``T`` samples) of each
microphone's relevance, summed over the microphones and over the bins of each band, divided by
the window's total: band power fractions ``(N, B)`` that sum to 1 (a window whose relevance is
all zero is NaN, counted). The table gives their mean over windows with a cluster-bootstrap CI
over sources (:func:`ssl_xai_bench.metrics.stats.summarize`). The relevance is taken as a signal,
signed (a constant offset lands in the lowest band).

Bands (``[metrics] spectrum_bands``): ``octave`` (edges ``1000 * 2^k`` Hz from
:data:`LOWEST_EDGE_HZ` = 125 Hz up to ``fs/2``; at 16 kHz: 0-125, 125-250, ..., 4000-8000 Hz) or
``third_octave`` (edges ``1000 * 2^(k/3)``); the first band starts at 0 Hz, the last ends at
``fs/2`` (included). References, as signal rows (``estimator``): ``microphones`` (the windows),
``direct_path`` (when known) and ``phat``: GCC-PHAT divides the cross-spectrum by its magnitude,
weighting every frequency bin equally, so its band fractions are the bands' shares of the bins
(exact, no CI). This family reports no metric, only the ``spectra`` table (``spectra.csv``:
``estimator, band, f_low_hz, f_high_hz, power_fraction, ci_low, ci_high, n_windows,
n_sources``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssl_xai_bench import validate as check
from ssl_xai_bench.metrics.spec import Family, MethodCell, Scores, SignalCell
from ssl_xai_bench.metrics.stats import summarize

BANDS_PER_OCTAVE = {"octave": 1, "third_octave": 3}
LOWEST_EDGE_HZ = 125.0
SPECTRA_COLUMNS = ("estimator", "band", "f_low_hz", "f_high_hz", "power_fraction", "ci_low",
                   "ci_high", "n_windows", "n_sources")


def band_edges(fs: float, bands: str = "octave") -> np.ndarray:
    """Band edges ``(B + 1,)`` Hz: 0, the nominal edges in ``[125 Hz, fs/2)``, ``fs/2``."""
    per_octave = BANDS_PER_OCTAVE[bands]
    nyquist = fs / 2.0
    k_low = int(np.ceil(per_octave * np.log2(LOWEST_EDGE_HZ / 1000.0) - 1e-9))
    k_high = int(np.ceil(per_octave * np.log2(nyquist / 1000.0) - 1e-9))
    inner = 1000.0 * 2.0 ** (np.arange(k_low, k_high) / per_octave)
    return np.concatenate([[0.0], inner[inner < nyquist], [nyquist]])


def band_label(low: float, high: float) -> str:
    """``"250-500 Hz"``, ``"4-8 kHz"``."""
    if high >= 1000.0:
        return f"{low / 1000:.3g}-{high / 1000:.3g} kHz"
    return f"{low:.3g}-{high:.3g} Hz"


def band_index(n_samples: int, fs: float, edges: np.ndarray) -> np.ndarray:
    """The band of every ``rfft`` bin ``(n_samples // 2 + 1,)``; ``fs/2`` is in the last band."""
    freqs = np.fft.rfftfreq(n_samples, d=1.0 / fs)
    return np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, len(edges) - 2)


def band_fractions(signals: np.ndarray, fs: float, edges: np.ndarray) -> np.ndarray:
    """Per-window band power fractions ``(N, B)`` of ``signals (N, M, T)`` (NaN: no power)."""
    x = np.asarray(signals, dtype=np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(x.shape[-1]), axis=-1)) ** 2
    per_bin = power.sum(axis=1)
    idx = band_index(x.shape[-1], fs, edges)
    bands = np.stack([per_bin[:, idx == b].sum(axis=1) for b in range(len(edges) - 1)], axis=1)
    total = bands.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, bands / np.where(total > 0, total, 1.0), np.nan)


def phat_fractions(n_samples: int, fs: float, edges: np.ndarray) -> np.ndarray:
    """The PHAT weighting's band fractions ``(B,)``: each band's share of the ``rfft`` bins."""
    counts = np.bincount(band_index(n_samples, fs, edges), minlength=len(edges) - 1)
    return counts / counts.sum()


def _band_rows(edges: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"band": [band_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:],
                                                                        strict=True)],
                         "f_low_hz": edges[:-1], "f_high_hz": edges[1:]})


def spectrum_table(estimator: str, signals: np.ndarray, cell: SignalCell,
                   seed: int = 0) -> pd.DataFrame:
    """The ``spectra`` rows of one estimator's signals ``(N, M, T)`` (see the module docstring)."""
    fs = float(cell.data.fs)
    edges = band_edges(fs, cell.config.spectrum.spectrum_bands)
    fractions = band_fractions(signals, fs, edges)
    stats = [summarize(fractions[:, b], cell.data.source_ids, seed=seed,
                       n_resamples=cell.config.n_bootstrap, level=cell.config.ci_level)
             for b in range(fractions.shape[1])]
    out = _band_rows(edges)
    out.insert(0, "estimator", estimator)
    out["power_fraction"] = [s["mean"] for s in stats]
    for key in ("ci_low", "ci_high", "n_windows", "n_sources"):
        out[key] = [s[key] for s in stats]
    return out[list(SPECTRA_COLUMNS)]


def _phat_table(cell: SignalCell) -> pd.DataFrame:
    fs, n = float(cell.data.fs), cell.x.shape[-1]
    edges = band_edges(fs, cell.config.spectrum.spectrum_bands)
    out = _band_rows(edges)
    out.insert(0, "estimator", "phat")
    out["power_fraction"] = out["ci_low"] = out["ci_high"] = phat_fractions(n, fs, edges)
    out["n_windows"] = cell.x.shape[0]
    out["n_sources"] = len(np.unique(cell.data.source_ids))
    return out[list(SPECTRA_COLUMNS)]


@dataclass(frozen=True)
class SpectrumSettings:
    """``[metrics]`` key of the family: ``spectrum_bands``, ``octave`` or ``third_octave``."""

    spectrum_bands: str = "octave"

    def validate(self) -> None:
        check.as_str(self.spectrum_bands, "metrics.spectrum_bands", choices=BANDS_PER_OCTAVE)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Nothing depends on the input shape."""


def _score(cell: MethodCell) -> Scores:
    table = spectrum_table(cell.method, np.asarray(cell.relevance), cell, seed=cell.seed)
    return Scores(tables={"spectra": table})


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    tables = [spectrum_table("microphones", cell.x, cell)]
    if cell.direct is not None and cell.direct.shape == cell.x.shape:
        tables.append(spectrum_table("direct_path", cell.direct, cell))
    tables.append(_phat_table(cell))
    return {"spectrum": Scores(tables={"spectra": pd.concat(tables, ignore_index=True)})}


FAMILY = Family(name="spectrum", metrics=(), settings=SpectrumSettings, score=_score,
                score_signals=_score_signals)
"""Relevance power per frequency band (a table, no metric)."""


__all__ = ["FAMILY", "LOWEST_EDGE_HZ", "SPECTRA_COLUMNS", "SpectrumSettings", "band_edges",
           "band_fractions", "band_label", "phat_fractions", "spectrum_table"]
