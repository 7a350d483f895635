"""Signal helpers of the data stage: wav reading, resampling, noise at an SNR, framing, and the
correlation time of an utterance.

Signals are float arrays in samples; multichannel signals are ``(M, N)``. Noise follows the study
(Comanducci et al., EUSIPCO 2024, ``utils.add_white_gaussian_noise``): white Gaussian, the same
variance on every channel, variance = power of the reverberant signal at mic 0 / 10^(SNR/10).
The correlation time is the width in samples of the main lobe of the normalised autocorrelation
at 1/sqrt(2) (Champagne, Bedard, Stephenne, IEEE TSAP 1996).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import fftconvolve, resample_poly


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a wav file as float64 mono in [-1, 1] (channels averaged) and its sample rate."""
    fs, data = wavfile.read(str(path))
    x = np.asarray(data)
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float64) - (info.max + info.min + 1) / 2) / (info.max + 1)
    else:
        x = x.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return x, int(fs)


def wav_length(path: str | Path, fs_out: int) -> int:
    """Number of samples of a wav file once resampled to ``fs_out`` (reads the header only)."""
    fs, data = wavfile.read(str(path), mmap=True)
    return int(math.ceil(len(data) * fs_out / fs))


def resample(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) from ``fs_in`` to ``fs_out`` Hz."""
    if fs_in == fs_out:
        return np.asarray(x, dtype=np.float64)
    g = math.gcd(int(fs_in), int(fs_out))
    return resample_poly(x, int(fs_out) // g, int(fs_in) // g)


def peak_normalise(x: np.ndarray) -> np.ndarray:
    """Scale to peak 1, as the study does with every utterance."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak == 0.0:
        raise ValueError("speech: utterance is silent (all zeros)")
    return x / peak


def correlation_time(x: np.ndarray, threshold: float = 1.0 / math.sqrt(2.0)) -> int:
    """Correlation time (samples) of ``x``: the width of its autocorrelation's main lobe at
    ``threshold`` (Champagne, Bedard, Stephenne, IEEE TSAP 1996), as the study's reference code
    measures it (``utils.main_lobe_width`` in lucacoma/XAISrcLoc, latest revision).

    The autocorrelation is circular (FFT of the utterance's own length), centred and normalised
    to its peak; the width is (the first lag right of the peak below ``threshold``) minus (the
    last lag left of it below ``threshold``). A symmetric lobe that stays at or above the level
    for ``h`` lags on each side gives ``2 h + 2``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x: expected a 1-D signal of at least 3 samples, got {x.shape}")
    spectrum = np.fft.fft(x)
    r = np.real(np.fft.ifftshift(np.fft.ifft(spectrum * np.conj(spectrum))))
    peak = int(np.argmax(r))
    r = r / r[peak]
    left = np.flatnonzero(r[:peak] < threshold)
    right = np.flatnonzero(r[peak:] < threshold)
    if not len(left) or not len(right):
        raise ValueError("x: the autocorrelation never falls below the level (a constant signal?)")
    return int(right[0] + peak - left[-1])


def add_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator,
              ref_mic: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Add white Gaussian noise of power ``P(signal[ref_mic]) / 10^(snr_db / 10)`` to every channel.

    Returns ``(noisy, noise)``, both ``signal``'s shape.
    """
    power = float(np.mean(np.abs(signal[ref_mic]) ** 2))
    noise = math.sqrt(power / 10.0 ** (snr_db / 10.0)) * rng.standard_normal(signal.shape)
    return signal + noise, noise


def convolve_rirs(x: np.ndarray, rirs: np.ndarray) -> np.ndarray:
    """Convolve a mono signal ``(N,)`` with RIRs ``(M, L)``: ``(M, N + L - 1)``."""
    return fftconvolve(np.asarray(x, dtype=np.float64)[None, :], rirs, axes=-1)


def frame(signal: np.ndarray, length: int, hop: int, max_windows: int | None = None) -> np.ndarray:
    """Cut ``(M, N)`` into windows ``(W, M, length)`` starting every ``hop`` samples.

    The remainder is dropped, as in the study; at most ``max_windows`` (the first ones).
    """
    n = signal.shape[-1]
    count = 0 if n < length else (n - length) // hop + 1
    if max_windows is not None:
        count = min(count, max_windows)
    starts = np.arange(count) * hop
    idx = starts[:, None] + np.arange(length)[None, :]
    return np.transpose(signal[:, idx], (1, 0, 2))
