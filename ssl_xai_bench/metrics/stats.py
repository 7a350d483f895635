"""Statistics for every reported number: cluster-bootstrap CIs over sources and paired tests.

Windows cut from one utterance (one source position, one speech draw) are not independent, so
every confidence interval resamples *sources*, not windows (a cluster bootstrap): each resample
draws ``n_sources`` sources with replacement and recomputes the window-level mean as
``sum of the drawn sources' window values / number of their windows`` (the ratio estimator of the
mean over windows). The interval is the percentile interval of those resampled means. This is the
documented equivalent of ``scipy.stats.bootstrap`` on per-source means, weighted by the number of
windows per source so that it brackets the reported mean over windows.

Paired comparisons of a method against the reference method (LRP) use the Wilcoxon signed-rank
test on per-source means of the paired per-window differences (``scipy.stats.wilcoxon``), with the
Holm step-down correction over the methods compared within one metric.

Non-finite values are never averaged: they are counted (``n_nonfinite``) and excluded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

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
    rng = np.random.default_rng(seed)
    # Resample in blocks so memory stays bounded for many sources.
    means = np.empty(n_resamples)
    block = max(1, 2_000_000 // n_src)
    for start in range(0, n_resamples, block):
        stop = min(n_resamples, start + block)
        idx = rng.integers(0, n_src, size=(stop - start, n_src))
        means[start:stop] = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    out["ci_low"] = float(lo)
    out["ci_high"] = float(hi)
    return out


def source_means(values: np.ndarray, source_ids: np.ndarray) -> pd.Series:
    """Mean of the finite values of each source (index: source id)."""
    v, s = _check_values(values, source_ids)
    finite = np.isfinite(v)
    return pd.Series(v[finite]).groupby(s[finite]).mean()


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and are not counted).

    Parameters
    ----------
    p_values : array (K,)

    Returns
    -------
    array (K,)
        Adjusted p-values, monotone in the order of the raw ones, capped at 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def paired_tests(
    per_window: Mapping[str, np.ndarray],
    source_ids: np.ndarray,
    reference: str = "lrp",
) -> pd.DataFrame:
    """Wilcoxon signed-rank test of each method against ``reference``, Holm-corrected.

    Pairs are per source: the per-source mean of ``method - reference`` over the windows where
    both are finite.

    Parameters
    ----------
    per_window : mapping method -> array (N,)
        One metric's per-window scores for every method, on the same windows.
    source_ids : array (N,)
    reference : str
        Method every other one is compared with.

    Returns
    -------
    DataFrame
        Columns ``method, reference, n_sources, mean_diff, statistic, p_value, p_holm``.
    """
    if reference not in per_window:
        raise ValueError(f"reference: {reference!r} not among the methods {sorted(per_window)}")
    ref = np.asarray(per_window[reference], dtype=np.float64)
    rows = []
    for method, values in per_window.items():
        if method == reference:
            continue
        v = np.asarray(values, dtype=np.float64)
        if v.shape != ref.shape:
            raise ValueError(f"per_window[{method!r}]: shape {v.shape} differs from {ref.shape}")
        diff = source_means(v - ref, source_ids)
        stat, p = float("nan"), float("nan")
        if diff.size >= 2 and np.any(diff.to_numpy() != 0):
            res = sps.wilcoxon(diff.to_numpy())
            stat, p = float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "method": method,
                "reference": reference,
                "n_sources": int(diff.size),
                "mean_diff": float(diff.mean()) if diff.size else float("nan"),
                "statistic": stat,
                "p_value": p,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["method", "reference", "n_sources", "mean_diff", "statistic", "p_value"],
    )
    table["p_holm"] = holm(table["p_value"].to_numpy()) if len(table) else []
    return table


__all__ = ["SUMMARY_FIELDS", "holm", "paired_tests", "source_means", "summarize"]
