"""Relevance TDoA (the paper's experiment B): batched GCC-PHAT, ground truth, scores, baselines.

Time differences of arrival are in samples. For a microphone pair ``(i, j)`` the TDoA is the delay
at ``j`` minus the delay at ``i``: the GCC-PHAT cross-spectrum is ``X_j conj(X_i)`` (as in the
authors' ``utils.gcc_phat(sig=m_j, refsig=m_i)`` of ``tdoa_experiment.py``, lucacoma/XAISrcLoc).

Two variants (``../shared/spec/PAPER.md``, experiment B):

- ``paper``: pair (7, 8) (0-based), FFT length ``nextpow2(2T + 1)`` (16384 for T = 5120), every lag
  (``-nfft/2 .. nfft/2``, the authors' concatenation with its duplicated end lag), argmax of the
  *signed* correlation; ground truth ``int(d_j/c fs) - int(d_i/c fs)`` (integer-truncated
  propagation delays).
- ``bounded``: any pairs (default all), lags limited to the physical maximum
  ``|tau| <= floor(d_ij/c fs)``, signed argmax; ground truth ``round((d_j - d_i)/c fs)``.

A window is an *anomaly* when ``|error| > corr_time / 2`` (half the correlation time of its dry
utterance); the MAE is averaged over non-anomalous windows only. A channel that is identically
zero has no defined GCC-PHAT (0/0): its estimates are NaN, counted, never used as numbers.

Because the whitening of GCC-PHAT factorises, ``R/|R| = (X_j/|X_j|) conj(X_i/|X_i|)``, the batched
implementation whitens each channel's spectrum once (one ``rfft`` of all channels per window),
forms the cross-spectra of all pairs by broadcasting contiguous slices into a cache-sized buffer and
runs one batched ``irfft`` per buffer (``torch.fft``, MKL, float32 by default). Multiplying the
``j`` side by ``(-1)^k`` shifts every correlation by ``nfft/2``, so lags ``-nfft/2 .. nfft/2 - 1``
come out in the authors' order and one ``argmax`` per row (first maximum wins) reproduces their
concatenation; bounded lags are a contiguous slice around ``nfft/2``. The FFT length is not
shortened: PHAT weights depend on it, and ``next_fast_len(2T - 1)`` changes the estimates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

TDOA_VARIANTS: tuple[str, ...] = ("paper", "bounded")
PAPER_PAIR: tuple[int, int] = (7, 8)


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


def pair_spacing(mic_positions: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distance between the two microphones of each pair, ``(P,)`` metres."""
    mics = np.asarray(mic_positions, dtype=np.float64)
    return np.linalg.norm(mics[pairs[:, 1]] - mics[pairs[:, 0]], axis=1)


def max_lags(mic_positions: np.ndarray, pairs: np.ndarray, fs: float, c: float) -> np.ndarray:
    """Physical maximum |TDoA| per pair, ``floor(d_ij / c * fs)`` samples, ``(P,)`` int."""
    return np.floor(pair_spacing(mic_positions, pairs) / c * fs + 1e-9).astype(np.int64)


def true_tdoa(
    positions: np.ndarray,
    mic_positions: np.ndarray,
    pairs: np.ndarray,
    fs: float,
    c: float,
    variant: str,
) -> np.ndarray:
    """Ground-truth TDoA ``(N, P)`` in samples (delay at ``j`` minus delay at ``i``).

    ``paper``: difference of integer-truncated delays; ``bounded``: rounded exact difference.
    """
    if variant not in TDOA_VARIANTS:
        raise ValueError(f"variant: must be one of {list(TDOA_VARIANTS)}, got {variant!r}")
    pos = np.asarray(positions, dtype=np.float64)
    mics = np.asarray(mic_positions, dtype=np.float64)
    delay = np.linalg.norm(pos[:, None, :] - mics[None, :, :], axis=2) / c * fs  # (N, M)
    if variant == "paper":
        d = np.trunc(delay)
        return d[:, pairs[:, 1]] - d[:, pairs[:, 0]]
    return np.round(delay[:, pairs[:, 1]] - delay[:, pairs[:, 0]])


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
    if x.ndim != 3:
        raise ValueError(f"signals: expected shape (N, M, T), got {x.shape}")
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: must be float32 or float64, got {np.dtype(dtype)}")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers: must be None or >= 1, got {workers}")
    n_win, n_mics, n_t = x.shape
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
    used = np.unique(pairs)
    pos = np.full(n_mics, -1)
    pos[used] = np.arange(used.size)
    pi, pj = pos[pairs[:, 0]], pos[pairs[:, 1]]
    out = np.full((n_win, pairs.shape[0]), np.nan)
    batch = _PairBatch(out, n, bound, max(1, int(chunk_elements) // n), np.dtype(dtype))
    runs = _pair_runs(pi, pj)
    step = max(1, _SPECTRUM_ELEMENTS // (used.size * n))
    threads = torch.get_num_threads()
    try:
        if workers is not None and int(workers) != threads:
            torch.set_num_threads(int(workers))
        for start in range(0, n_win, step):
            chunk = np.ascontiguousarray(x[start : start + step][:, used], dtype=dtype)
            shifted, conj = _whitened_spectra(chunk, n)
            silent = ~np.any(chunk != 0, axis=-1)  # (c, len(used))
            for w in range(chunk.shape[0]):
                for i, j0, sel in runs:
                    batch.add(shifted[w, j0 : j0 + sel.size], conj[w, i], start + w, sel)
            batch.flush()
            rows = np.arange(start, start + chunk.shape[0])
            out[rows] = np.where(silent[:, pi] | silent[:, pj], np.nan, out[rows])
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return out


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


def gcc_phat_reference(sig: np.ndarray, refsig: np.ndarray, max_lag: int | None = None) -> int:
    """The authors' per-window GCC-PHAT lag (numpy FFTs, every lag, signed argmax).

    Mirrors ``utils.gcc_phat`` + ``np.argmax(cc) - len(cc)/2`` of lucacoma/XAISrcLoc, returning
    the integer lag (their ``-len/2`` offset of half a sample cancels against the ground truth
    computed the same way). With ``max_lag`` only lags ``|tau| <= max_lag`` are searched (the
    ``bounded`` variant, same order). Kept as the reference for tests and the speed benchmark.
    """
    n = nextpow2(sig.shape[0] + refsig.shape[0] + 1)
    r = np.fft.rfft(sig, n=n) * np.conj(np.fft.rfft(refsig, n=n))
    cc = np.fft.irfft(r / np.abs(r), n=n)
    half = n // 2
    cc = np.concatenate((cc[-half:], cc[: half + 1]))
    if max_lag is not None:
        return int(np.argmax(cc[half - max_lag : half + max_lag + 1])) - max_lag
    return int(np.argmax(cc)) - half


def tdoa_errors(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Absolute TDoA error in samples (NaN where the estimate is undefined)."""
    return np.abs(np.asarray(estimate, dtype=np.float64) - np.asarray(truth, dtype=np.float64))


def anomalies(error: np.ndarray, corr_time: np.ndarray) -> np.ndarray:
    """Anomaly indicator ``|error| > corr_time/2`` as float (1/0), NaN where error is NaN.

    ``error`` is ``(N,)`` or ``(N, P)``; ``corr_time`` is ``(N,)`` samples.
    """
    err = np.asarray(error, dtype=np.float64)
    thr = np.asarray(corr_time, dtype=np.float64) / 2.0
    thr = thr.reshape(thr.shape + (1,) * (err.ndim - 1))
    out = (err > thr).astype(np.float64)
    out[~np.isfinite(err)] = np.nan
    return out


def _correlation(est: np.ndarray, truth: np.ndarray, kind: str) -> float:
    """Correlation of estimates with truth; 0 for a constant estimate, NaN if undefined truth."""
    ok = np.isfinite(est) & np.isfinite(truth)
    e, t = est[ok], truth[ok]
    if e.size < 2 or np.ptp(t) == 0:
        return float("nan")
    if np.ptp(e) == 0:
        return 0.0  # a constant estimate carries no information about the delay
    if kind == "pearson":
        return float(np.corrcoef(e, t)[0, 1])
    return float(sps.spearmanr(e, t).statistic)


def score_estimates(
    estimate: np.ndarray, truth: np.ndarray, corr_time: np.ndarray
) -> dict[str, float | int]:
    """Scores of one estimator over windows (and pairs, pooled): see the module docstring.

    Parameters
    ----------
    estimate, truth : arrays (N,) or (N, P)
    corr_time : array (N,)

    Returns
    -------
    dict
        ``anomaly_rate`` (fraction), ``mae_samples`` (over non-anomalous), ``pearson``,
        ``spearman``, ``frac_zero_lag``, ``n_windows`` (finite estimates), ``n_nonfinite``.
    """
    est = np.asarray(estimate, dtype=np.float64)
    err = tdoa_errors(est, truth)
    anom = anomalies(err, corr_time)
    finite = np.isfinite(err)
    good = finite & (anom == 0)
    e_flat, t_flat = est.ravel(), np.broadcast_to(truth, est.shape).ravel()
    return {
        "anomaly_rate": float(anom[finite].mean()) if finite.any() else float("nan"),
        "mae_samples": float(err[good].mean()) if good.any() else float("nan"),
        "pearson": _correlation(e_flat, t_flat, "pearson"),
        "spearman": _correlation(e_flat, t_flat, "spearman"),
        "frac_zero_lag": float((est[finite] == 0).mean()) if finite.any() else float("nan"),
        "n_windows": int(finite.sum()),
        "n_nonfinite": int((~finite).sum()),
    }


TDOA_COLUMNS: tuple[str, ...] = (
    "variant",
    "pair",
    "spacing_m",
    "estimator",
    "anomaly_rate",
    "mae_samples",
    "pearson",
    "spearman",
    "frac_zero_lag",
    "n_windows",
    "n_nonfinite",
)


def tdoa_table(
    estimates: dict[str, np.ndarray],
    truth: np.ndarray,
    corr_time: np.ndarray,
    pairs: np.ndarray,
    spacing: np.ndarray,
    variant: str,
) -> pd.DataFrame:
    """Tidy TDoA results: one row per estimator and pair, plus one per spacing group.

    Pair rows have ``pair = "i-j"``; spacing-group rows pool the pairs of one spacing
    (``pair = "spacing"``); a last ``pair = "all"`` row pools every pair.

    Parameters
    ----------
    estimates : mapping estimator name -> (N, P) lags
    truth : (N, P) true lags
    corr_time : (N,) samples
    pairs : (P, 2)
    spacing : (P,) metres
    variant : str
    """
    rows = []
    groups = np.round(spacing, 3)
    for name, est in estimates.items():
        for p, (i, j) in enumerate(pairs):
            rows.append(
                {
                    "variant": variant,
                    "pair": f"{i}-{j}",
                    "spacing_m": float(groups[p]),
                    "estimator": name,
                    **score_estimates(est[:, p], truth[:, p], corr_time),
                }
            )
        if pairs.shape[0] > 1:
            for g in np.unique(groups):
                sel = groups == g
                rows.append(
                    {
                        "variant": variant,
                        "pair": "spacing",
                        "spacing_m": float(g),
                        "estimator": name,
                        **score_estimates(est[:, sel], truth[:, sel], corr_time),
                    }
                )
            rows.append(
                {
                    "variant": variant,
                    "pair": "all",
                    "spacing_m": float("nan"),
                    "estimator": name,
                    **score_estimates(est, truth, corr_time),
                }
            )
    return pd.DataFrame(rows, columns=list(TDOA_COLUMNS))


def per_window_scores(
    estimate: np.ndarray, truth: np.ndarray, corr_time: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-window figures over the pairs of one variant (for CIs over sources).

    Returns
    -------
    dict of (N,) arrays
        ``anomaly_rate`` (fraction of the window's pairs that are anomalous), ``ok_rate``
        (1 - anomaly_rate), ``mae_samples`` (mean |error| over its non-anomalous pairs; NaN if
        none), all NaN where every estimate of the window is undefined.
    """
    err = tdoa_errors(estimate, truth)
    anom = anomalies(err, corr_time)
    finite = np.isfinite(anom)
    n_finite = finite.sum(axis=1)
    good = finite & (anom == 0)
    n_good = good.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(finite, anom, 0.0).sum(axis=1) / n_finite
        mae = np.where(good, err, 0.0).sum(axis=1) / n_good
    rate[n_finite == 0] = np.nan
    mae[n_good == 0] = np.nan
    return {"anomaly_rate": rate, "ok_rate": 1.0 - rate, "mae_samples": mae}


__all__ = [
    "PAPER_PAIR",
    "TDOA_COLUMNS",
    "TDOA_VARIANTS",
    "anomalies",
    "gcc_phat_lags",
    "gcc_phat_reference",
    "max_lags",
    "mic_pairs",
    "nextpow2",
    "pair_spacing",
    "per_window_scores",
    "score_estimates",
    "tdoa_errors",
    "true_tdoa",
]
