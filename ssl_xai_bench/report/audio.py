"""WAV files for listening: a window's microphone pair and each method's relevance signal.

Signals are written as 16-bit PCM with :func:`scipy.io.wavfile.write` at the window's sample rate.
Microphone signals are peak-normalised (divided by their largest absolute sample); relevance is
min-max scaled to [-1, 1] over the pair's two channels together, as the paper's plots scale
relevance (Comanducci et al., EUSIPCO 2024), so the two channels keep their relative level. A
constant (e.g. all-zero) relevance maps to silence. Stereo files: left = the pair's first
microphone, right = its second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import wavfile

from ssl_xai_bench.report.figures.inspection import InspectionRecord
from ssl_xai_bench.report.tables import slug

__all__ = ["minmax_symmetric", "peak_normalize", "to_pcm16", "write_wav", "export_record_audio"]

PCM_MAX = 32767


def minmax_symmetric(x: np.ndarray) -> np.ndarray:
    """Min-max scale to [-1, 1] (min -> -1, max -> +1); a constant signal maps to zeros."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if hi == lo:
        return np.zeros_like(x)
    return 2.0 * (x - lo) / (hi - lo) - 1.0


def peak_normalize(x: np.ndarray) -> np.ndarray:
    """Divide by the largest absolute value (zeros stay zeros)."""
    x = np.asarray(x, dtype=np.float64)
    peak = float(np.abs(x).max()) if x.size else 0.0
    return x / peak if peak > 0 else np.zeros_like(x)


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """Map [-1, 1] to int16 (rounded, clipped; NaN raises ``ValueError``)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("audio: signal contains NaN or inf")
    return np.round(np.clip(x, -1.0, 1.0) * PCM_MAX).astype(np.int16)


def write_wav(path: str | Path, signals: np.ndarray, fs: int) -> Path:
    """Write ``signals`` ((T,) mono or (C, T) channels, in [-1, 1]) as 16-bit PCM WAV."""
    if int(fs) <= 0:
        raise ValueError(f"audio.fs: must be a positive sample rate, got {fs}")
    x = np.asarray(signals)
    if x.ndim not in (1, 2):
        raise ValueError(f"audio.signals: expected (T,) or (C, T), got shape {x.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, int(fs), to_pcm16(x if x.ndim == 1 else x.T))
    return path


def export_record_audio(rec: InspectionRecord, out_dir: str | Path,
                        stem: str) -> list[tuple[str, Path]]:
    """Write the microphone pair and each method's relevance pair of ``rec`` as stereo WAVs.

    Parameters
    ----------
    rec : InspectionRecord
        One inspection window.
    out_dir : path
        Destination folder.
    stem : str
        File-name prefix (e.g. ``"loccnn_t60_0.15_snr_25_best"``).

    Returns
    -------
    list of (label, path)
        ``("microphones", ...)`` first, then ``("relevance: <method>", ...)``.
    """
    out_dir = Path(out_dir)
    ia, ib = rec.pair
    mics = peak_normalize(rec.window[[ia, ib]])
    out = [("microphones", write_wav(out_dir / f"{slug(stem)}_microphones.wav", mics, rec.fs))]
    for i, (method, rel) in enumerate(rec.relevance.items()):
        scaled = minmax_symmetric(rel[[ia, ib]])
        # the index keeps names that differ only in special characters apart
        path = out_dir / f"{slug(stem)}_relevance{i}_{slug(method)}.wav"
        out.append((f"relevance: {method}", write_wav(path, scaled, rec.fs)))
    return out
