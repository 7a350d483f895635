"""Image-source arrivals as windowed-sinc fractional delays: the two conventions and rendering.

Shapes: ``images (3, K)`` metres, ``orders (K,)``, ``damping (K,)``, microphones ``(M, 3)``
metres; rendered RIRs ``(M, n_samples)`` float64 at ``fs`` Hz.

A convention says how one image source becomes samples (sign, gain, kernel window, time origin);
see :mod:`ssl_xai_bench.acoustics.rir` for what each one reproduces (pyroomacoustics'
``compute_rir``, Scheibler et al., ICASSP 2018; gpuRIR, Diaz-Guerra et al., 2021).
:func:`render_images` sums all arrivals with a polynomial expansion of the kernel in the fractional
delay (impulse trains + FFT).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

PRA_FRAC_DELAY_LENGTH = 81
GPURIR_WINDOW_S = 8e-3
_POLY_DEGREE = 8  # fractional-delay polynomial order (see render_images)
_SCATTER_MAX_IMAGES = 16  # at most this many images are rendered tap by tap
_CHUNK_ELEMENTS = 1 << 21  # image-microphone pairs rendered together


@dataclass(frozen=True)
class Convention:
    """How one image source becomes samples: ``sign * damping * gain / d`` under a kernel.

    Kernel taps are at integer offsets ``lo..hi`` from ``floor(tau)`` with
    ``tau = d / c fs + offset``; the Hann window of width ``window`` samples is evaluated at the
    offset from ``tau`` (``window_on_tau``) or at the integer tap offset (pyroomacoustics' LUT).
    ``tail``: samples a RIR of ``ceil(T60 fs)`` samples gets after it (pyroomacoustics: the
    filter length; ``None``: rounded up to even, as gpuRIR does).
    """

    name: str
    alternate_sign: bool
    gain: float
    offset: int
    lo: int
    hi: int
    window: float
    window_on_tau: bool
    highpass: bool
    tail: int | None


def convention(name: str, fs: float) -> Convention:
    """Constants of convention ``name`` (``pyroomacoustics`` or ``gpurir``) at ``fs`` Hz."""
    if name not in _CONVENTIONS:
        raise ValueError(f"rir_convention: unknown {name!r}; allowed: {list(CONVENTIONS)}")
    return _CONVENTIONS[name](fs)


def _pyroomacoustics(fs: float) -> Convention:
    h = PRA_FRAC_DELAY_LENGTH // 2
    return Convention("pyroomacoustics", False, 1.0, h, -h, h, 2.0 * h, False, True,
                      PRA_FRAC_DELAY_LENGTH)


def _gpurir(fs: float) -> Convention:
    tw = GPURIR_WINDOW_S * fs
    h = int(math.ceil(tw / 2))
    return Convention("gpurir", True, 1.0 / (4.0 * np.pi), 0, -h + 1, h, tw, True, False, None)


_CONVENTIONS = {"pyroomacoustics": _pyroomacoustics, "gpurir": _gpurir}
CONVENTIONS: tuple[str, ...] = tuple(_CONVENTIONS)


def kernel_taps(conv: Convention, frac: np.ndarray) -> np.ndarray:
    """Kernel values ``(len(frac), hi - lo + 1)`` at taps ``lo..hi`` for fractional delays ``frac``.

    ``hann(w) * sinc(j - frac)`` with ``w = j - frac`` (``window_on_tau``) or ``w = j``.
    """
    taps = np.arange(conv.lo, conv.hi + 1, dtype=np.float64)
    t = taps[None, :] - np.asarray(frac, dtype=np.float64)[:, None]
    w = t if conv.window_on_tau else np.broadcast_to(taps[None, :], t.shape)
    win = np.where(np.abs(w) < conv.window / 2, 0.5 * (1.0 + np.cos(2.0 * np.pi * w / conv.window)),
                   0.0)
    return win * np.sinc(t)


@functools.lru_cache(maxsize=8)
def _kernel_polynomial(conv: Convention) -> np.ndarray:
    """Least-squares polynomial in ``(frac - 1/2)`` of every tap: ``(_POLY_DEGREE + 1, taps)``."""
    f = np.linspace(0.0, 1.0, 1025)
    vander = np.vander(f - 0.5, _POLY_DEGREE + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(vander, kernel_taps(conv, f), rcond=None)
    return coef


@functools.lru_cache(maxsize=32)
def _kernel_spectrum(conv: Convention, nfft: int) -> np.ndarray:
    """``rfft`` of every polynomial coefficient's taps: ``(_POLY_DEGREE + 1, nfft // 2 + 1)``."""
    return sp_fft.rfft(_kernel_polynomial(conv), nfft, axis=-1)


def render_images(images: np.ndarray, orders: np.ndarray, damping: np.ndarray, mics: np.ndarray,
                  n_samples: int, conv: Convention, fs: float, c: float) -> np.ndarray:
    """Sum the windowed-sinc arrivals of image sources at each microphone.

    Every arrival ``amp * kernel(j, frac)`` is expanded as a polynomial in its fractional delay
    (``kernel ~ sum_p coef_p(j) (frac - 1/2)^p``, max error ~2e-7 of the peak), so the sum over
    K images becomes ``_POLY_DEGREE + 1`` impulse trains (``numpy.bincount``, O(K)) convolved
    with fixed kernels by FFT, instead of K x taps operations. A few images (``K <=
    _SCATTER_MAX_IMAGES``, e.g. the direct path alone) are added tap by tap with the same
    polynomial instead of through FFTs of the whole length. Microphones are processed together
    (in chunks of about ``_CHUNK_ELEMENTS`` image-microphone pairs).

    Parameters
    ----------
    images : (3, K) metres; orders : (K,); damping : (K,)
    mics : (3,) or (M, 3) metres
    n_samples : int
        Output length; arrivals whose kernel lies entirely beyond it are skipped.

    Returns
    -------
    ndarray (n_samples,) or (M, n_samples) float64, following the shape of ``mics``
    """
    mics = np.asarray(mics, dtype=np.float64)
    mic_rows = mics.reshape(-1, 3)
    base_amp = np.asarray(damping, dtype=np.float64) * conv.gain
    if conv.alternate_sign:
        base_amp = np.where(np.asarray(orders) % 2 == 1, -base_amp, base_amp)
    coef = _kernel_polynomial(conv)
    n_train = n_samples - conv.lo  # arrival sample floor(tau) < n_train: inside the output
    scatter = images.shape[1] <= _SCATTER_MAX_IMAGES
    out = np.empty((len(mic_rows), n_samples))
    chunk = max(1, _CHUNK_ELEMENTS // max(images.shape[1], 1))
    for m0 in range(0, len(mic_rows), chunk):
        rows = mic_rows[m0:m0 + chunk]
        dist = image_distances(images, rows)
        tau = dist * (fs / c) + conv.offset
        base = np.floor(tau)
        x = tau - base - 0.5
        keep = base < n_train
        amp = np.where(keep, base_amp / dist, 0.0)  # late arrivals weigh 0 at the last bin
        base = np.minimum(base, n_train - 1).astype(np.int64)
        if scatter:
            out[m0:m0 + len(rows)] = _scatter(base, x, amp, coef, conv.lo, n_samples)
        else:
            out[m0:m0 + len(rows)] = _convolve(base, x, amp, conv, n_samples)
    return out if mics.ndim == 2 else out[0]


def image_distances(images: np.ndarray, mics: np.ndarray) -> np.ndarray:
    """Distances ``(M, K)`` metres from ``mics (M, 3)`` to ``images (3, K)``."""
    d2 = np.zeros((len(mics), images.shape[1]))
    for axis in range(3):
        diff = images[axis][None, :] - mics[:, axis:axis + 1]
        d2 += diff * diff
    return np.sqrt(d2)


def _convolve(base: np.ndarray, x: np.ndarray, amp: np.ndarray, conv: Convention,
              n_samples: int) -> np.ndarray:
    """Impulse trains ``(M, K)`` of ``amp x^p`` at ``base`` convolved with the kernel polynomial.

    One ``bincount`` per power ``p`` over all rows, then ``rfft``, product with the cached
    kernel spectra, sum over ``p`` and one ``irfft`` per row.
    """
    n_rows, n_train = len(base), n_samples - conv.lo
    nfft = sp_fft.next_fast_len(n_train + conv.hi - conv.lo, real=True)
    flat = (base + (np.arange(n_rows) * n_train)[:, None]).ravel()
    x = x.ravel()
    weight = amp.ravel().copy()
    kernel = _kernel_spectrum(conv, nfft)
    acc = None
    for p in range(kernel.shape[0]):
        train = np.bincount(flat, weights=weight, minlength=n_rows * n_train)
        term = sp_fft.rfft(train.reshape(n_rows, n_train), nfft, axis=-1)
        term *= kernel[p]
        acc = term if acc is None else acc.__iadd__(term)
        weight *= x
    full = sp_fft.irfft(acc, nfft, axis=-1)
    return full[:, -conv.lo:n_samples - conv.lo]


def _scatter(base: np.ndarray, x: np.ndarray, amp: np.ndarray, coef: np.ndarray, lo: int,
             n_samples: int) -> np.ndarray:
    """The same sum, tap by tap: ``amp * sum_p coef_p(j) x^p`` added at ``base + lo + j``."""
    n_rows = len(base)
    powers = x.ravel()[:, None] ** np.arange(coef.shape[0])[None, :]
    values = amp.ravel()[:, None] * (powers @ coef)
    sample = base.ravel()[:, None] + lo + np.arange(coef.shape[1])[None, :]
    row = np.repeat(np.arange(n_rows), base.shape[1])[:, None]
    inside = (sample >= 0) & (sample < n_samples)
    flat = np.broadcast_to(row * n_samples, sample.shape)[inside] + sample[inside]
    return np.bincount(flat, weights=values[inside], minlength=n_rows * n_samples).reshape(
        n_rows, n_samples)
