"""Normalised cross-correlation peaks within a lag range, batched over windows and channels.

Used by the de-reverberation evidence (relevance vs direct-path signal, per channel) and by the
channel-identity diagnostic (relevance of microphone i vs microphone j). The correlation of
``a`` and ``b`` at lag ``tau`` is ``sum_t b[t] a[t - tau] / (||a|| ||b||)`` (linear, not circular:
the FFT length is at least ``T + max_lag``), so ``tau > 0`` means ``b`` lags ``a``; its absolute
value is in ``[0, 1]`` (Cauchy-Schwarz) and equals 1 iff ``b`` is a scaled, shifted copy of ``a``.
Signals with zero energy give NaN.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft


def _peaks(cross: np.ndarray, n: int, max_lag: int, norm: np.ndarray, absolute: bool):
    cc = sfft.irfft(cross, n=n, axis=-1)
    window = np.concatenate((cc[..., n - max_lag :], cc[..., : max_lag + 1]), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        window = window / norm[..., None]
    score = np.abs(window) if absolute else window
    idx = np.argmax(np.nan_to_num(score, nan=-np.inf), axis=-1)
    peak = np.take_along_axis(score, idx[..., None], axis=-1)[..., 0]
    lag = (idx - max_lag).astype(np.float64)
    bad = ~(norm > 0)
    peak[bad] = np.nan
    lag[bad] = np.nan
    return peak, lag


def peak_xcorr(
    a: np.ndarray, b: np.ndarray, max_lag: int, absolute: bool = True, chunk: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Peak normalised cross-correlation of ``a[..., t]`` and ``b[..., t]`` row by row.

    Parameters
    ----------
    a, b : arrays (N, K, T)
    max_lag : int
        Lags ``-max_lag .. max_lag`` are searched.
    absolute : bool
        Peak of ``|corr|`` (polarity-blind) instead of the signed correlation.
    chunk : int
        Windows per batch.

    Returns
    -------
    peak, lag : arrays (N, K)
        Peak value (in [0, 1] if ``absolute``) and its lag in samples; NaN for zero-energy rows.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"signals: need two (N, K, T) arrays of one shape: {a.shape} {b.shape}")
    if max_lag < 0 or max_lag >= a.shape[-1]:
        raise ValueError(f"max_lag: must be in [0, T), got {max_lag}")
    n = sfft.next_fast_len(a.shape[-1] + max_lag + 1, real=True)
    peaks, lags = [], []
    for s in range(0, a.shape[0], chunk):
        fa = sfft.rfft(a[s : s + chunk], n=n, axis=-1)
        fb = sfft.rfft(b[s : s + chunk], n=n, axis=-1)
        norm = np.linalg.norm(a[s : s + chunk], axis=-1) * np.linalg.norm(b[s : s + chunk], axis=-1)
        p, lg = _peaks(fb * np.conj(fa), n, max_lag, norm, absolute)
        peaks.append(p)
        lags.append(lg)
    return np.concatenate(peaks), np.concatenate(lags)


def pairwise_peak_xcorr(
    signals: np.ndarray, pairs: np.ndarray, max_lag: int, absolute: bool = True, chunk: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Peak normalised cross-correlation of channel pairs ``(i, j)`` of ``signals`` (N, M, T).

    One ``rfft`` per channel; returns ``peak, lag`` of shape ``(N, P)`` (``lag > 0``: channel
    ``j`` lags channel ``i``).
    """
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"signals: expected shape (N, M, T), got {x.shape}")
    if max_lag < 0 or max_lag >= x.shape[-1]:
        raise ValueError(f"max_lag: must be in [0, T), got {max_lag}")
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n = sfft.next_fast_len(x.shape[-1] + max_lag + 1, real=True)
    peaks, lags = [], []
    for s in range(0, x.shape[0], chunk):
        xs = x[s : s + chunk]
        f = sfft.rfft(xs, n=n, axis=-1)
        energy = np.linalg.norm(xs, axis=-1)
        norm = energy[:, pairs[:, 0]] * energy[:, pairs[:, 1]]
        p, lg = _peaks(f[:, pairs[:, 1]] * np.conj(f[:, pairs[:, 0]]), n, max_lag, norm, absolute)
        peaks.append(p)
        lags.append(lg)
    return np.concatenate(peaks), np.concatenate(lags)


__all__ = ["pairwise_peak_xcorr", "peak_xcorr"]
