"""Batched GCC-PHAT time-delay estimation (samples), and the authors' per-window reference.

For a microphone pair ``(i, j)`` the TDoA is the delay at ``j`` minus the delay at ``i``: the
cross-spectrum is ``X_j conj(X_i)`` (the authors' ``utils.gcc_phat(sig=m_j, refsig=m_i)``,
lucacoma/XAISrcLoc). Because the whitening of GCC-PHAT factorises,
``R/|R| = (X_j/|X_j|) conj(X_i/|X_i|)``, the batched implementation whitens each channel's
spectrum once (one ``rfft`` of all channels per window), forms the cross-spectra of all pairs by
broadcasting contiguous slices into a cache-sized buffer and runs one batched ``irfft`` per
buffer (``torch.fft``, float32 by default). Multiplying the ``j`` side by ``(-1)^k`` shifts every
correlation by ``nfft/2``, so lags ``-nfft/2 .. nfft/2 - 1`` come out in the authors' order and one
``argmax`` per row (first maximum wins) reproduces their concatenation; bounded lags are a
contiguous slice around ``nfft/2``. The FFT length is not shortened: PHAT weights depend on it.
A channel that is identically zero has no defined GCC-PHAT (0/0): its estimates are NaN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch


def nextpow2(n: int) -> int:
    """Smallest power of two >= ``n``."""
    return 1 << max(0, int(n - 1).bit_length())


def mic_pairs(n_mics: int, pairs: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Microphone pairs as an ``(P, 2)`` int array (default: every ``i < j``).

    Raises ``ValueError`` naming ``pairs`` for out-of-range or repeated indices.
    """
    if pairs is None:
        i, j = np.triu_indices(n_mics, k=1)
        return np.stack([i, j], axis=1).astype(np.int64)
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if arr.size == 0:
        raise ValueError("pairs: at least one microphone pair is required")
    if arr.min() < 0 or arr.max() >= n_mics:
        raise ValueError(f"pairs: indices must be in [0, {n_mics - 1}], got {arr.tolist()}")
    if np.any(arr[:, 0] == arr[:, 1]):
        raise ValueError(f"pairs: a pair needs two different microphones, got {arr.tolist()}")
    return arr


def gcc_phat_lags(
    signals: np.ndarray,
    pairs: np.ndarray,
    nfft: int | None = None,
    max_lag: np.ndarray | None = None,
    dtype: type = np.float32,
    chunk_elements: int = 1 << 19,
    workers: int | None = None,
) -> np.ndarray:
    """GCC-PHAT TDoA estimates of all windows and pairs in batched FFTs.

    Parameters
    ----------
    signals : array (N, M, T)
        Microphone signals or relevance maps.
    pairs : array (P, 2)
        Pairs ``(i, j)``; the estimate is the delay at ``j`` minus the delay at ``i``.
    nfft : int, optional
        FFT length (default ``nextpow2(2T + 1)``, the authors' choice; PHAT whitening makes the
        correlation depend on it, so a shorter length is not equivalent).
    max_lag : array (P,), optional
        Per-pair lag bound ``|tau| <= max_lag`` (the ``bounded`` variant). None: every lag
        ``-nfft/2 .. nfft/2`` in the authors' order (the ``paper`` variant).
    dtype : numpy float type
        Precision of the FFTs (float32 by default; float64 to rule out rounding-level flips of
        near-tied peaks against the float64 reference).
    chunk_elements : int
        Correlation samples (pair-windows x ``nfft``) per batched inverse FFT: bounds memory and
        keeps a batch in cache.
    workers : int, optional
        FFT threads; None (default): torch's current intra-op thread count. An explicit value
        is set for the call and restored afterwards (global torch state: do not pass it from
        concurrent Python threads). Estimates do not depend on it.

    Returns
    -------
    array (N, P) float64
        Integer lags in samples; NaN where a channel of the pair is identically zero.
    """
    x = np.asarray(signals)
    n, bound, pairs = _checked(x, pairs, nfft, max_lag, dtype, workers)
    used = np.unique(pairs)  # the channels transformed; pairs index them by position
    pi, pj = np.searchsorted(used, pairs[:, 0]), np.searchsorted(used, pairs[:, 1])
    out = np.full((x.shape[0], pairs.shape[0]), np.nan)
    batch = _PairBatch(out, n, bound, max(1, int(chunk_elements) // n), np.dtype(dtype))
    runs = _pair_runs(pi, pj)
    step = max(1, _SPECTRUM_ELEMENTS // (used.size * n))
    with _torch_threads(workers):
        for start in range(0, x.shape[0], step):
            chunk = np.ascontiguousarray(x[start : start + step][:, used], dtype=dtype)
            shifted, conj = _whitened_spectra(chunk, n)
            silent = ~np.any(chunk != 0, axis=-1)  # (c, len(used))
            for w in range(chunk.shape[0]):
                for i, j0, sel in runs:
                    batch.add(shifted[w, j0 : j0 + sel.size], conj[w, i], start + w, sel)
            batch.flush()
            rows = np.arange(start, start + chunk.shape[0])
            out[rows] = np.where(silent[:, pi] | silent[:, pj], np.nan, out[rows])
    return out


def _checked(x: np.ndarray, pairs: np.ndarray, nfft: int | None, max_lag: np.ndarray | None,
             dtype: type, workers: int | None) -> tuple[int, np.ndarray | None, np.ndarray]:
    """The FFT length, the per-pair lag bounds (None: every lag) and the pairs of
    :func:`gcc_phat_lags`, its arguments checked."""
    if x.ndim != 3:
        raise ValueError(f"signals: expected shape (N, M, T), got {x.shape}")
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: must be float32 or float64, got {np.dtype(dtype)}")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers: must be None or >= 1, got {workers}")
    _, n_mics, n_t = x.shape
    pairs = mic_pairs(n_mics, pairs)
    n = nextpow2(2 * n_t + 1) if nfft is None else int(nfft)
    if n < n_t or n % 2:
        raise ValueError(f"nfft: must be even and >= the window length {n_t}, got {n}")
    bound = None
    if max_lag is not None:
        bound = np.asarray(max_lag, dtype=np.int64).reshape(-1)
        if bound.shape[0] != pairs.shape[0] or bound.min() < 0:
            raise ValueError(f"max_lag: need {pairs.shape[0]} non-negative bounds, got {bound}")
        bound = np.minimum(bound, n // 2 - 1)
    return n, bound, pairs


@contextlib.contextmanager
def _torch_threads(workers: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``workers`` (None: unchanged), restored after."""
    threads = torch.get_num_threads()
    try:
        if workers is not None and int(workers) != threads:
            torch.set_num_threads(int(workers))
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


#: Spectrum samples (windows x channels x nfft) transformed and whitened at once.
_SPECTRUM_ELEMENTS = 1 << 22


def _pair_runs(pi: np.ndarray, pj: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Pairs grouped into runs ``(i, j0, pair indices)`` sharing ``i`` with ``j = j0, j0 + 1..``,
    so that each run's cross-spectra are one broadcast product of contiguous slices."""
    order = np.lexsort((pj, pi))
    breaks = np.flatnonzero((np.diff(pi[order]) != 0) | (np.diff(pj[order]) != 1)) + 1
    return [(int(pi[s[0]]), int(pj[s[0]]), s) for s in np.split(order, breaks)]


def _whitened_spectra(chunk: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """PHAT-whitened spectra ``X/|X|`` of ``(c, M, T)`` signals: ``(-1)^k X/|X|`` (the ``j``
    side, which circularly shifts the correlation by ``n/2`` so that lags ``-n/2 .. n/2 - 1``
    come out in the authors' order) and ``conj(X/|X|)`` (the ``i`` side), both ``(c, M, n/2+1)``.
    An all-zero channel gives zero spectra (its estimates are set to NaN by the caller)."""
    spec = torch.fft.rfft(torch.from_numpy(chunk), n=n, dim=-1).numpy()
    mag = np.abs(spec)
    floor = np.finfo(mag.dtype).tiny + 1e-12 * mag.max(axis=-1, keepdims=True)
    inv = np.reciprocal(np.maximum(mag, floor, out=mag), out=mag)
    conj = np.conj(spec)
    conj *= inv
    inv[..., 1::2] *= -1  # (-1)^k
    return spec * inv, conj


class _PairBatch:
    """Cross-spectra of pair-windows gathered into a fixed buffer; each full buffer is one
    batched ``irfft`` followed by the signed argmax (all lags, or ``|lag| <= bound``)."""

    def __init__(self, out: np.ndarray, n: int, bound: np.ndarray | None, rows: int, dtype):
        self.out, self.n, self.bound = out, n, bound
        cdtype = np.result_type(dtype, np.complex64)
        self.buf = np.empty((rows, n // 2 + 1), dtype=cdtype)
        self.win = np.empty(rows, dtype=np.int64)
        self.pair = np.empty(rows, dtype=np.int64)
        self.fill = 0

    def add(self, shifted: np.ndarray, conj: np.ndarray, window: int, sel: np.ndarray) -> None:
        """Queue ``shifted[r] * conj`` for pairs ``sel`` (one run) of ``window``."""
        done = 0
        while done < sel.size:
            take = min(sel.size - done, self.buf.shape[0] - self.fill)
            rows = slice(self.fill, self.fill + take)
            np.multiply(shifted[done : done + take], conj, out=self.buf[rows])
            self.win[rows], self.pair[rows] = window, sel[done : done + take]
            self.fill += take
            done += take
            if self.fill == self.buf.shape[0]:
                self.flush()

    def flush(self) -> None:
        if self.fill == 0:
            return
        k = slice(0, self.fill)
        cc = torch.fft.irfft(torch.from_numpy(self.buf[k]), n=self.n, dim=-1).numpy()
        half = self.n // 2
        if self.bound is None:  # lags -n/2 .. n/2 - 1; +n/2 equals -n/2, which comes first
            lag = cc.argmax(axis=-1) - half
        else:
            b = self.bound[self.pair[k]]
            m = int(b.max())
            lags = np.arange(-m, m + 1)
            window = np.where(np.abs(lags) <= b[:, None], cc[:, half - m : half + m + 1], -np.inf)
            lag = lags[window.argmax(axis=-1)]
        self.out[self.win[k], self.pair[k]] = lag
        self.fill = 0


__all__ = ["gcc_phat_lags", "mic_pairs", "nextpow2"]
