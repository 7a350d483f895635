"""Statistics for every reported number: cluster-bootstrap CIs over sources and paired tests.

Windows cut from one utterance (one source position, one speech draw) are not independent, so
every confidence interval resamples *sources*, not windows (a cluster bootstrap): each resample
draws ``n_sources`` sources with replacement and recomputes the window-level mean as
``sum of the drawn sources' window values / number of their windows`` (the ratio estimator of the
mean over windows). The interval is the percentile interval of those resampled means. This is the
documented equivalent of ``scipy.stats.bootstrap`` on per-source means, weighted by the number of
windows per source so that it brackets the reported mean over windows.

The interval equals ``scipy.stats.bootstrap`` (percentile method, ``paired=True``) of that ratio
over the per-source (sum, count) pairs with the same generator: the same draws, the same
quantiles (``tests/metrics/test_stats.py`` pins it); it is written out because it is called for
every metric of every cell and the loop below is a few times faster than the general routine.

Which windows are scored is a design choice with a statistical cost: a paired test over ``n``
sources can never reach a p below ``2 / 2**n`` (:mod:`ssl_xai_bench.metrics.comparisons`), so
subsets of the test windows are spread over distinct sources first
(:func:`spread_over_sources`). Paired comparisons between methods live in
:mod:`ssl_xai_bench.metrics.comparisons`.

Non-finite values are never averaged: they are counted (``n_nonfinite``) and excluded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUMMARY_FIELDS: tuple[str, ...] = (
    "n_windows",
    "n_sources",
    "mean",
    "ci_low",
    "ci_high",
    "n_nonfinite",
)


def _check_values(values: np.ndarray, source_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    s = np.asarray(source_ids)
    if v.ndim != 1:
        raise ValueError(f"values: expected shape (N,), got {v.shape}")
    if s.shape != v.shape:
        raise ValueError(f"source_ids: shape {s.shape} does not match values {v.shape}")
    return v, s


def summarize(
    values: np.ndarray,
    source_ids: np.ndarray,
    seed: int = 0,
    n_resamples: int = 1000,
    level: float = 0.95,
) -> dict[str, float | int]:
    """Mean over windows with a cluster-bootstrap CI over sources.

    Parameters
    ----------
    values : array (N,)
        One score per window; NaN/inf are counted and excluded.
    source_ids : array (N,)
        Source (utterance) of each window: the resampling unit.
    seed : int
        Seed of the bootstrap generator.
    n_resamples : int
        Bootstrap resamples.
    level : float
        Confidence level of the percentile interval.

    Returns
    -------
    dict
        ``n_windows`` (finite windows averaged), ``n_sources`` (sources with at least one finite
        window), ``mean``, ``ci_low``, ``ci_high`` (NaN when fewer than two sources or no finite
        value), ``n_nonfinite``.
    """
    v, s = _check_values(values, source_ids)
    if n_resamples < 1:
        raise ValueError(f"n_resamples: must be >= 1, got {n_resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    finite = np.isfinite(v)
    n_nonfinite = int((~finite).sum())
    v, s = v[finite], s[finite]
    out: dict[str, float | int] = {
        "n_windows": int(v.size),
        "n_sources": 0,
        "mean": float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "n_nonfinite": n_nonfinite,
    }
    if v.size == 0:
        return out
    _, inverse = np.unique(s, return_inverse=True)
    sums = np.bincount(inverse, weights=v)
    counts = np.bincount(inverse).astype(np.float64)
    n_src = sums.size
    out["n_sources"] = int(n_src)
    out["mean"] = float(v.mean())
    if n_src < 2:
        return out
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(_bootstrap_means(sums, counts, seed, n_resamples), [alpha, 1.0 - alpha])
    out["ci_low"] = float(lo)
    out["ci_high"] = float(hi)
    return out


def _bootstrap_means(sums: np.ndarray, counts: np.ndarray, seed: int,
                     n_resamples: int) -> np.ndarray:
    """The window means of ``n_resamples`` resamples of the sources (with replacement), from
    each source's sum and count of values; drawn in blocks so memory stays bounded."""
    n_src = sums.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    block = max(1, 2_000_000 // n_src)
    for start in range(0, n_resamples, block):
        stop = min(n_resamples, start + block)
        idx = rng.integers(0, n_src, size=(stop - start, n_src))
        means[start:stop] = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    return means


def source_means(values: np.ndarray, source_ids: np.ndarray) -> pd.Series:
    """Mean of the finite values of each source (index: source id)."""
    v, s = _check_values(values, source_ids)
    finite = np.isfinite(v)
    return pd.Series(v[finite]).groupby(s[finite]).mean()


def spread_over_sources(source_ids: np.ndarray, k: int | None, seed: int | None = None,
                        preferred: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``k`` windows covering as many distinct sources as possible, sorted.

    One window of every source is taken before a second of any (round robin), so a subset of
    ``k <= n_sources`` windows has ``k`` distinct sources. With ``seed`` the order of the windows
    (hence which window of a source, and which sources when ``k < n_sources``) is a seeded
    permutation; without it, the windows' own order (the first window of each source first).
    ``preferred`` changes only which windows of a chosen source are taken: its preferred ones
    first, each group in that order; the sources, and how many windows of each, stay the same.

    Parameters
    ----------
    source_ids : array (N,)
        Source of each window.
    k : int or None
        Windows wanted; None or ``k >= N``: all.
    seed : int, optional
        Seed of the permutation.
    preferred : array (N,) bool, optional
        Windows to take first within their source.

    Returns
    -------
    array (min(k, N),) int
        Sorted window indices.
    """
    ids = np.asarray(source_ids)
    n = ids.size
    if k is None or k >= n:
        return np.arange(n)
    if k < 0:
        raise ValueError(f"k: must be >= 0, got {k}")
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    _, inverse = np.unique(ids[order], return_inverse=True)
    occurrence = np.empty(n, dtype=np.int64)  # how many windows of its source came before
    seen = np.zeros(inverse.max() + 1 if n else 0, dtype=np.int64)
    for i, src in enumerate(inverse):
        occurrence[i] = seen[src]
        seen[src] += 1
    chosen = order[np.lexsort((np.arange(n), occurrence))[:k]]
    if preferred is not None:
        chosen = _preferred_first(ids, chosen, order, np.asarray(preferred, dtype=bool))
    return np.sort(chosen)


def _preferred_first(ids: np.ndarray, chosen: np.ndarray, order: np.ndarray,
                     preferred: np.ndarray) -> np.ndarray:
    """As many windows of each source as ``chosen`` has, a source's ``preferred`` windows first,
    then by position in ``order``."""
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = np.arange(ids.size)
    grouped = np.lexsort((rank, ~preferred, ids))  # by source, preferred first, then order
    sources, counts = np.unique(ids[chosen], return_counts=True)
    quota = dict(zip(sources.tolist(), counts.tolist(), strict=True))
    group = ids[grouped]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    position = np.arange(ids.size) - np.repeat(starts, np.diff(np.r_[starts, ids.size]))
    wanted = np.array([quota.get(s, 0) for s in group.tolist()], dtype=np.int64)
    return grouped[position < wanted]


__all__ = ["SUMMARY_FIELDS", "source_means", "spread_over_sources", "summarize"]
