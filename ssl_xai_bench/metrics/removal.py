"""Removal baselines: what a "removed" input sample becomes in every perturbation metric.

Shapes: windows ``(N, M, T)`` float32 (``M`` microphones, ``T`` samples), removal masks of the
same shape, bool, ``True`` = removed. A baseline replaces the removed samples and keeps the rest
bit for bit; every perturbation metric (the manipulation curves, Quantus' faithfulness metrics)
takes its baseline from ``[metrics] removal_baselines`` (``docs/metrics.md``, "Removal
baselines"):

- ``zero``: 0, the study's removal. Raw audio with samples set to 0 has clicks and gaps the model
  never saw in training, and to first order the output change it causes is
  ``-sum_removed g_i x_i``: gradient x input's relevance. It rewards that family by construction.
- ``noisy_linear``: ROAD's noisy linear imputation (Rong, Leemann et al., ICML 2022) along time,
  within each microphone channel: a removed sample becomes the mean of its two neighbours with
  the kept samples fixed, a sparse linear system whose 1-D solution is the straight line between
  the nearest kept samples on either side (a discrete Laplace equation), the nearest kept value
  held at a channel's ends (one neighbour there). It is computed in closed form
  (:func:`linear_fill`; :func:`road_system_fill` solves ROAD's sparse system with scipy, and the
  tests check that the two agree), plus seeded Gaussian noise of ``removal_noise`` times the
  local standard deviation of the channel's kept samples (:func:`local_std`: blocks of
  ``LOCAL_BLOCK`` samples, 4 ms at 16 kHz; a block with fewer than two kept samples takes the
  line between its neighbouring blocks' values). Removed values never enter the imputation.
- ``other_source``: the same samples (same microphone, same time index) of another test window of
  the same condition whose source is at another position, one seeded donor per window: recorded
  audio of the same room, array and noise, so the input stays in distribution, while the removed
  samples carry another position's delays.

The noise field and the donors are drawn once per cell from ``removal seed`` (the same for every
method and for the shared controls), so a window's imputation depends only on the window and the
removed set: two metrics removing the same set see the same input (their forwards are shared,
:mod:`ssl_xai_bench.metrics.forward_cache`), and the methods of a cell are compared on common
random numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

REMOVAL_BASELINES: tuple[str, ...] = ("zero", "noisy_linear", "other_source")
#: The study's removal: metric names without a baseline suffix are computed with it.
STUDY_BASELINE = "zero"
#: Samples per block of the local standard deviation of ``noisy_linear`` (4 ms at 16 kHz).
LOCAL_BLOCK = 64


def suffix(baseline: str) -> str:
    """The metric-name suffix of ``baseline``: ``""`` for the study's, else ``_<baseline>``."""
    return "" if baseline == STUDY_BASELINE else f"_{baseline}"


def removal_variants(names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Every baseline's name of each metric in ``names``: variant name -> (name, baseline)."""
    return {f"{name}{suffix(b)}": (name, b) for name in names for b in REMOVAL_BASELINES}


def _line_values(flat: np.ndarray, idx: np.ndarray, col: np.ndarray,
                 length: int) -> np.ndarray:
    """The straight line between the nearest kept samples of the same row at each removed flat
    index ``idx`` (position ``col`` in its row of ``length`` samples): the nearest kept value
    held at a row's ends, 0 in a row with nothing kept; in the dtype of ``flat``.

    Removed samples form runs (consecutive in a row) that share their two neighbours, so the
    line is set up once per run and the work per removed sample is a few vector operations.
    """
    start = np.empty(idx.size, dtype=bool)
    start[0] = True
    np.not_equal(np.diff(idx), 1, out=start[1:])
    start |= col == 0
    first = np.flatnonzero(start)
    last = np.append(first[1:] - 1, idx.size - 1)
    run = np.cumsum(start, dtype=np.int32) - 1
    left, right = idx.take(first) - 1, idx.take(last) + 1
    has_left, has_right = col.take(first) > 0, col.take(last) < length - 1
    x_left = flat.take(left, mode="clip")
    x_right = flat.take(right, mode="clip")
    x_left = np.where(has_left, x_left, np.where(has_right, x_right, 0))
    x_right = np.where(has_right, x_right, x_left)
    slope = ((x_right - x_left) / (right - left)).astype(flat.dtype, copy=False)
    return x_left.take(run) + slope.take(run) * (idx - left.take(run)).astype(flat.dtype)


def _removed_flat(x: np.ndarray, removed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    removed = np.asarray(removed, dtype=bool)
    if removed.shape != x.shape:
        raise ValueError(f"removed: shape {removed.shape} differs from windows {x.shape}")
    return removed.reshape(-1), np.flatnonzero(removed)


def linear_fill(x: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """``x`` (..., T) with the removed samples on the line between the nearest kept samples of
    their row (last axis); the nearest kept value is held at a row's ends; a row with no kept
    sample becomes 0. Equal to ``np.interp`` per row and to ROAD's system
    (:func:`road_system_fill`)."""
    x = np.asarray(x)
    gone, idx = _removed_flat(x, removed)
    flat = x.reshape(-1)
    out = flat.copy()
    if idx.size:
        length = x.shape[-1]
        out[idx] = _line_values(flat, idx, idx % length, length)
    return out.reshape(x.shape)


def block_sums(x: np.ndarray, block: int = LOCAL_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the samples and of their squares over blocks of ``block`` samples of each row
    (last axis, zero-padded to whole blocks), flat ``(rows x blocks,)`` float64 each."""
    length = np.shape(x)[-1]
    n_blocks = -(-length // block)
    rows = np.asarray(x).reshape(-1, length)
    if n_blocks * block > length:
        rows = np.pad(rows, [(0, 0), (0, n_blocks * block - length)])
    grid = rows.reshape(rows.shape[0], n_blocks, block)
    return (grid.sum(axis=-1, dtype=np.float64).reshape(-1),
            np.einsum("rbt,rbt->rb", grid, grid, dtype=np.float64).reshape(-1))


def _block_of(idx: np.ndarray, col: np.ndarray, length: int, block: int) -> np.ndarray:
    """Flat block index of each flat sample index ``idx`` (position ``col`` in its row)."""
    if length % block == 0:
        return idx // block
    return (idx - col) // length * -(-length // block) + col // block


def _block_std(x: np.ndarray, gone: np.ndarray, idx: np.ndarray, which: np.ndarray,
               sums: tuple[np.ndarray, np.ndarray], block: int) -> np.ndarray:
    """Flat per-block std of the kept samples (see :func:`local_std`): from the sums over whole
    blocks minus those over the removed samples ``idx`` (in blocks ``which``; ``gone``: the flat
    removal mask), or, when most samples are removed, from the kept samples directly."""
    length = x.shape[-1]
    n_blocks = -(-length // block)
    size = sums[0].size
    if 2 * idx.size > gone.size:  # fewer kept than removed samples: sum the kept ones
        kept = np.flatnonzero(~gone)
        where = _block_of(kept, kept % length, length, block)
        values = x.reshape(-1).take(kept).astype(np.float64)
        s1 = np.bincount(where, weights=values, minlength=size)
        s2 = np.bincount(where, weights=values * values, minlength=size)
        count = np.bincount(where, minlength=size).astype(np.float64)
    else:
        s1, s2 = (s.copy() for s in sums)
        count = np.full((size // n_blocks, n_blocks), float(block))
        count[:, -1] -= n_blocks * block - length
        count = count.reshape(-1)
        values = x.reshape(-1).take(idx).astype(np.float64)
        s1 -= np.bincount(which, weights=values, minlength=size)
        s2 -= np.bincount(which, weights=values * values, minlength=size)
        count -= np.bincount(which, minlength=size)
    safe = np.maximum(count, 1.0)
    std = np.sqrt(np.maximum(s2 / safe - (s1 / safe) ** 2, 0.0)).reshape(-1, n_blocks)
    return linear_fill(std, count.reshape(std.shape) < 2).reshape(-1)


def local_std(x: np.ndarray, removed: np.ndarray, block: int = LOCAL_BLOCK) -> np.ndarray:
    """Standard deviation of the kept samples of each block of ``block`` samples of each row,
    ``(..., ceil(T / block))`` float64; a block with fewer than two kept samples takes the
    line between its row's neighbouring valid blocks (held at the ends; 0 with none). Removed
    samples never enter it."""
    x = np.asarray(x)
    gone, idx = _removed_flat(x, removed)
    which = _block_of(idx, idx % x.shape[-1], x.shape[-1], block)
    std = _block_std(x, gone, idx, which, block_sums(x, block), block)
    return std.reshape(x.shape[:-1] + (-(-x.shape[-1] // block),))


def road_system_fill(x: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """ROAD's imputation solved as its sparse linear system (the reference of
    :func:`linear_fill`): per row, every removed sample equals the mean of its neighbours in the
    row (one neighbour at a row end), kept samples fixed; scipy's sparse solver. Rows without a
    kept sample become 0."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    x = np.asarray(x, dtype=np.float64)
    out = x.reshape(-1, x.shape[-1]).copy()
    for row, gone in zip(out, np.asarray(removed, bool).reshape(out.shape), strict=True):
        unknown = np.flatnonzero(gone)
        if unknown.size == 0:
            continue
        if unknown.size == row.size:
            row[:] = 0.0
            continue
        where = {int(t): i for i, t in enumerate(unknown)}
        a = sparse.lil_matrix((unknown.size, unknown.size))
        b = np.zeros(unknown.size)
        for i, t in enumerate(unknown):
            nbrs = [n for n in (t - 1, t + 1) if 0 <= n < row.size]
            a[i, i] = len(nbrs)
            for n in nbrs:
                if n in where:
                    a[i, where[n]] -= 1.0
                else:
                    b[i] += row[n]
        row[unknown] = spsolve(a.tocsr(), b)
    return out.reshape(x.shape)


@dataclass(frozen=True)
class Removal:
    """One baseline applied to one cell's windows (:func:`make_removal`).

    Attributes
    ----------
    baseline : str
        A name of :data:`REMOVAL_BASELINES`.
    windows : array (N, M, T) float32
        The cell's windows; :meth:`apply` removes samples from them.
    noise_scale : float
        ``noisy_linear``: noise std in units of the local std of the kept samples.
    noise : array (N, M, T) float32, optional
        ``noisy_linear``: the seeded standard normal draws.
    donor_index : array (N,) int, optional
        ``other_source``: each window's donor window.
    sums : tuple of arrays, optional
        ``noisy_linear``: :func:`block_sums` of ``windows`` (computed once).
    """

    baseline: str
    windows: np.ndarray
    noise_scale: float = 1.0
    noise: np.ndarray | None = None
    donor_index: np.ndarray | None = None
    sums: tuple[np.ndarray, np.ndarray] | None = None

    def apply(self, removed: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The windows ``rows`` (default: all) with the ``removed`` samples ``(B, M, T)``
        replaced, a new float32 array; the kept samples are the originals bit for bit."""
        rows = np.arange(len(self.windows)) if rows is None else np.asarray(rows)
        x = self.windows[rows]
        _, idx = _removed_flat(x, removed)
        out = x.reshape(-1).copy()
        if idx.size:
            out[idx] = _FILLS[self.baseline](self, x, removed, idx, rows)
        return out.reshape(x.shape)

    def _noisy_linear(self, x: np.ndarray, removed: np.ndarray, idx: np.ndarray,
                      rows: np.ndarray) -> np.ndarray:
        length = x.shape[-1]
        col = idx % length
        values = _line_values(x.reshape(-1), idx, col, length)
        if self.noise_scale > 0:
            per_window = x[0].size
            per_row = len(self.sums[0]) // len(self.windows)
            if np.array_equal(rows, rows[0] + np.arange(rows.size)):  # contiguous: slices
                first = int(rows[0])
                sums = tuple(s[first * per_row:(first + rows.size) * per_row] for s in self.sums)
                draws = self.noise.reshape(-1)[first * per_window:].take(idx)
            else:
                picked = (rows[:, None] * per_row + np.arange(per_row)).reshape(-1)
                sums = tuple(s.take(picked) for s in self.sums)
                window, within = np.divmod(idx, per_window)
                draws = self.noise.reshape(len(self.noise), -1)[rows.take(window), within]
            which = _block_of(idx, col, length, LOCAL_BLOCK)
            std = _block_std(x, removed.reshape(-1), idx, which, sums,
                             LOCAL_BLOCK).astype(np.float32)
            values += np.float32(self.noise_scale) * std.take(which) * draws
        return values

    def _donor(self, x: np.ndarray, removed: np.ndarray, idx: np.ndarray,
               rows: np.ndarray) -> np.ndarray:
        return self.windows[self.donor_index[rows]].reshape(-1).take(idx)


_FILLS = {
    "zero": lambda removal, x, removed, idx, rows: np.float32(0.0),
    "noisy_linear": Removal._noisy_linear,
    "other_source": Removal._donor,
}


def donor_windows(source_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each window, a uniformly drawn window of another source, ``(N,)`` int.

    Raises
    ------
    ValueError
        When every window has the same source (no donor exists).
    """
    ids = np.asarray(source_ids)
    donors = np.empty(ids.size, dtype=np.int64)
    for i, own in enumerate(ids):
        others = np.flatnonzero(ids != own)
        if others.size == 0:
            raise ValueError("metrics.removal_baselines: 'other_source' needs test windows of at "
                             "least two sources")
        donors[i] = others[rng.integers(others.size)]
    return donors


def make_removal(baseline: str, windows: np.ndarray, source_ids: np.ndarray, seed: int,
                 noise_scale: float = 1.0) -> Removal:
    """The removal ``baseline`` for the windows ``(N, M, T)`` of one cell, drawn from ``seed``."""
    if baseline not in REMOVAL_BASELINES:
        raise ValueError(f"baseline: must be one of {list(REMOVAL_BASELINES)}, got {baseline!r}")
    x = np.ascontiguousarray(windows, dtype=np.float32)
    if baseline == "noisy_linear":
        noise = np.random.default_rng([seed, 0]).standard_normal(x.shape, dtype=np.float32)
        return Removal(baseline, x, float(noise_scale), noise=noise, sums=block_sums(x))
    if baseline == "other_source":
        index = donor_windows(source_ids, np.random.default_rng([seed, 1]))
        return Removal(baseline, x, donor_index=index)
    return Removal(baseline, x)


__all__ = [
    "LOCAL_BLOCK",
    "REMOVAL_BASELINES",
    "Removal",
    "STUDY_BASELINE",
    "block_sums",
    "donor_windows",
    "linear_fill",
    "local_std",
    "make_removal",
    "removal_variants",
    "road_system_fill",
    "suffix",
]
