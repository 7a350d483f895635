"""Non-neural baselines beside every localizer: the trivial predictor and SRP-PHAT on a grid.

- :class:`TrivialPredictor` answers the mean training position for every window. In the study's
  test square it already scores an MAE of about 0.12 m (``../shared/spec/PAPER.md``), so any
  localizer must be judged against it.
- :func:`srp_phat_localize` is the steered response power with phase transform (DiBiase, Silverman,
  Brandstein, "Robust localization in reverberant rooms", in *Microphone Arrays*, Springer 2001):
  GCC-PHAT of every microphone pair (one batched ``rfft`` per window, cross spectra whitened to unit
  magnitude, correlation upsampled by zero-padding the spectrum), summed over pairs at each grid
  point's time difference of arrival (fractional lags by linear interpolation of the upsampled
  correlation), then the argmax over the grid. The sum over pairs at the grid's TDoAs is one sparse
  matrix product, so all windows of a batch are steered at once. Any array geometry works; with a
  line array only the distance to the array axis is observable, so the grid is an (x, y) plane at
  the mean source height (:func:`xy_grid`).

Shapes: windows ``(N, M, T)`` samples, microphone positions ``(M, 3)`` metres, grid ``(G, 3)``
metres; positions returned ``(N, 3)`` metres (NaN for windows with no signal or non-finite samples).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.fft
import torch


class TrivialPredictor:
    """Predicts the mean of the training positions for every window."""

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None

    def fit(self, positions: Any) -> TrivialPredictor:
        """Store the mean of ``positions`` ``(N, 3)`` (metres); returns ``self``."""
        pos = np.asarray(positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
            raise ValueError(f"positions: expected shape (N >= 1, 3) in metres, got {pos.shape}")
        if not np.all(np.isfinite(pos)):
            raise ValueError("positions: contains NaN or inf")
        self.mean_ = pos.mean(axis=0)
        return self

    def predict(self, n: int) -> np.ndarray:
        """The stored mean repeated ``n`` times: ``(n, 3)`` float64 metres."""
        if self.mean_ is None:
            raise RuntimeError("TrivialPredictor: call fit(positions) before predict(n)")
        if n < 0:
            raise ValueError(f"n: must be >= 0, got {n}")
        return np.tile(self.mean_, (int(n), 1))


def xy_grid(
    x_range: tuple[float, float], y_range: tuple[float, float], z: float, step: float
) -> np.ndarray:
    """Candidate positions on a horizontal plane: ``(G, 3)`` metres, ``G = nx * ny`` (x-major).

    Both ends of each range are included; the spacing is ``step`` rounded so the ends fit.
    """
    if not step > 0:
        raise ValueError(f"step: must be > 0, got {step}")
    axes = []
    for name, (lo, hi) in (("x_range", x_range), ("y_range", y_range)):
        if not hi >= lo:
            raise ValueError(f"{name}: expected (low, high) with high >= low, got {(lo, hi)}")
        axes.append(np.linspace(lo, hi, int(round((hi - lo) / step)) + 1))
    gx, gy = np.meshgrid(axes[0], axes[1], indexing="ij")
    return np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, float(z))], axis=1)


def _steering_matrices(
    mic_positions: np.ndarray, grid: np.ndarray, fs: float, c: float, upsample: int,
    max_nnz: int,
) -> tuple[list[tuple[int, int, torch.Tensor]], np.ndarray, np.ndarray, int]:
    """Sparse maps from pair correlations ``(P * L,)`` to the SRP on grid chunks."""
    ii, jj = np.triu_indices(mic_positions.shape[0], 1)
    n_pairs = len(ii)
    pair_span = np.linalg.norm(mic_positions[ii] - mic_positions[jj], axis=1).max()
    half = int(math.ceil(pair_span / c * fs * upsample)) + 2  # lags -half..half (upsampled)
    n_lags = 2 * half + 1
    chunk = max(1, max_nnz // (2 * n_pairs))
    mats = []
    for g0 in range(0, grid.shape[0], chunk):
        g = grid[g0 : g0 + chunk]
        dist = np.linalg.norm(g[:, None, :] - mic_positions[None, :, :], axis=2)  # (Gc, M)
        frac_idx = (dist[:, ii] - dist[:, jj]) / c * fs * upsample + half  # (Gc, P)
        i0 = np.clip(np.floor(frac_idx).astype(np.int64), 0, n_lags - 2)
        w1 = (frac_idx - i0).astype(np.float32)
        cols = np.arange(n_pairs)[None, :] * n_lags + i0  # (Gc, P), ascending along P
        col = np.stack([cols, cols + 1], axis=2).reshape(len(g), 2 * n_pairs)
        val = np.stack([1.0 - w1, w1], axis=2).reshape(len(g), 2 * n_pairs)
        crow = np.arange(0, col.size + 1, 2 * n_pairs, dtype=np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
            mat = torch.sparse_csr_tensor(
                torch.from_numpy(crow), torch.from_numpy(col.ravel()),
                torch.from_numpy(val.ravel()), (len(g), n_pairs * n_lags),
            )
        mats.append((g0, g0 + len(g), mat))
    return mats, ii, jj, half


def srp_phat_localize(
    windows: Any,
    mic_positions: Any,
    grid: Any,
    fs: float,
    c: float,
    nfft: int | None = None,
    batch_size: int = 8,
    upsample: int = 4,
) -> np.ndarray:
    """SRP-PHAT position estimate of every window: the grid point of maximal steered power.

    Parameters
    ----------
    windows : array or Tensor, shape (N, M, T)
        Microphone signals.
    mic_positions : array, shape (M, 3)
        Microphone positions in metres (any geometry, M >= 2).
    grid : array, shape (G, 3)
        Candidate source positions in metres (e.g. :func:`xy_grid`).
    fs : float
        Sampling rate in Hz.
    c : float
        Speed of sound in m/s.
    nfft : int, optional
        FFT length of the GCC; default: the smallest fast length >= T + the largest pair lag, so
        the correlation at every physical lag is linear, not circular.
    batch_size : int
        Windows processed at once (memory ~ ``batch_size * M(M-1)/2 * nfft * upsample * 4`` bytes).
    upsample : int
        Interpolation factor of the correlation (zero-padded spectrum) before the linear
        interpolation at fractional lags.

    Returns
    -------
    np.ndarray, shape (N, 3), float64
        The arg-max grid point per window; NaN rows for windows without signal (all-zero) or
        with non-finite samples.
    """
    x, mics, pts = _checked(windows, mic_positions, grid, fs, c, batch_size, upsample)
    mats, ii, jj, half = _steering_matrices(mics, pts, fs, c, upsample, max_nnz=4_000_000)
    n_fft = _fft_length(x.shape[2] + half // upsample + 1, nfft)  # + the largest whole lag
    pairs = (torch.from_numpy(ii), torch.from_numpy(jj))
    out = np.full((x.shape[0], 3), np.nan)
    for s in range(0, x.shape[0], batch_size):
        xb = x[s : s + batch_size]
        est = pts[_steered_argmax(xb, pairs, mats, n_fft, half, upsample)]
        peak = xb.abs().amax(dim=(1, 2))
        est[((peak == 0) | ~torch.isfinite(peak)).numpy()] = np.nan  # silent or broken windows
        out[s : s + xb.shape[0]] = est
    return out


def _checked(windows: Any, mic_positions: Any, grid: Any, fs: float, c: float, batch_size: int,
             upsample: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The windows (float32), microphones and grid of :func:`srp_phat_localize`, checked."""
    x = torch.as_tensor(windows).to(torch.float32)
    if x.ndim != 3:
        raise ValueError(f"windows: expected shape (N, M, T), got {tuple(x.shape)}")
    mics = np.asarray(mic_positions, dtype=np.float64)
    if mics.ndim != 2 or mics.shape[1] != 3 or mics.shape[0] != x.shape[1]:
        raise ValueError(
            f"mic_positions: expected shape ({x.shape[1]}, 3) to match windows' M, got {mics.shape}"
        )
    if mics.shape[0] < 2:
        raise ValueError("mic_positions: SRP-PHAT needs at least 2 microphones")
    pts = np.asarray(grid, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or pts.shape[0] == 0:
        raise ValueError(f"grid: expected shape (G >= 1, 3) in metres, got {pts.shape}")
    for name, value in (("fs", fs), ("c", c)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name}: must be a positive finite number, got {value}")
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    if upsample < 1:
        raise ValueError(f"upsample: must be >= 1, got {upsample}")
    return x, mics, pts


def _fft_length(min_nfft: int, nfft: int | None) -> int:
    """The GCC's FFT length: ``nfft``, or the smallest fast length >= ``min_nfft`` (window length
    plus the largest lag: no circular wrap)."""
    n_fft = scipy.fft.next_fast_len(min_nfft) if nfft is None else int(nfft)
    if n_fft < min_nfft:
        raise ValueError(
            f"nfft: must be >= window length + maximal lag = {min_nfft} (no circular wrap), "
            f"got {n_fft}"
        )
    return n_fft


def _steered_argmax(xb: torch.Tensor, pairs: tuple[torch.Tensor, torch.Tensor],
                    mats: list, n_fft: int, half: int, upsample: int) -> np.ndarray:
    """Index of the grid point of largest steered power for each window of ``xb`` (B, M, T):
    PHAT-weighted cross-spectra of the pairs, upsampled correlations at lags -half..half,
    summed along each point's steering (``mats``: chunks of the grid)."""
    spec = torch.fft.rfft(xb, n=n_fft)  # (B, M, F)
    cross = spec[:, pairs[0]] * spec[:, pairs[1]].conj()  # (B, P, F)
    mag = cross.abs()
    cross = torch.where(mag > 0, cross / mag.clamp_min(1e-30), torch.zeros_like(cross))
    corr = torch.fft.irfft(cross, n=n_fft * upsample)  # (B, P, n_fft * upsample)
    lags = torch.cat([corr[..., -half:], corr[..., : half + 1]], dim=-1)  # lags -half..half
    flat = lags.reshape(lags.shape[0], -1).T.contiguous()  # (P * L, B)
    best_val = torch.full((xb.shape[0],), -torch.inf)
    best_idx = torch.zeros(xb.shape[0], dtype=torch.long)
    for g0, _, mat in mats:
        power = mat @ flat  # (Gc, B)
        val, idx = power.max(dim=0)
        better = val > best_val
        best_val = torch.where(better, val, best_val)
        best_idx = torch.where(better, idx + g0, best_idx)
    return best_idx.numpy()


__all__ = ["TrivialPredictor", "srp_phat_localize", "xy_grid"]
