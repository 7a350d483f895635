"""Cluster-bootstrap summaries and source-spread subsets (ssl_xai_bench.metrics.stats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from ssl_xai_bench.metrics.stats import spread_over_sources, summarize


def _clustered(n_sources: int, per_source: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    source_effect = rng.normal(1.0, 0.5, n_sources)
    ids = np.repeat(np.arange(n_sources), per_source)
    values = source_effect[ids] + rng.normal(0, 0.2, ids.size)
    return values, ids


def test_summary_mean_n_and_ci_covers_mean():
    values, ids = _clustered(30, 5, seed=1)
    s = summarize(values, ids, seed=0)
    assert s["n_windows"] == 150 and s["n_sources"] == 30 and s["n_nonfinite"] == 0
    assert s["mean"] == pytest.approx(values.mean())
    assert s["ci_low"] < s["mean"] < s["ci_high"]


def test_ci_shrinks_with_more_sources():
    small = summarize(*_clustered(10, 5, seed=2), seed=0)
    large = summarize(*_clustered(250, 5, seed=2), seed=0)
    width_small = small["ci_high"] - small["ci_low"]
    width_large = large["ci_high"] - large["ci_low"]
    # The CI of a mean over sources scales like 1/sqrt(n_sources): 25x sources -> ~5x narrower.
    assert width_large < width_small / 3


def test_cluster_bootstrap_is_wider_than_a_window_bootstrap_would_be():
    # All windows of a source are identical: the effective sample size is the number of sources.
    values, ids = _clustered(20, 50, seed=3)
    s = summarize(values, ids, seed=0)
    per_source = np.array([values[ids == k].mean() for k in range(20)])
    se_sources = per_source.std(ddof=1) / np.sqrt(20)
    assert (s["ci_high"] - s["ci_low"]) == pytest.approx(2 * 1.96 * se_sources, rel=0.35)


def test_nonfinite_are_counted_and_excluded():
    values = np.array([1.0, np.nan, 3.0, np.inf, 5.0, 7.0])
    ids = np.array([0, 0, 1, 1, 2, 2])
    s = summarize(values, ids, seed=0)
    assert s["n_nonfinite"] == 2 and s["n_windows"] == 4
    assert s["mean"] == pytest.approx(4.0)


def test_single_source_has_no_ci_and_seed_reproduces():
    s = summarize(np.array([1.0, 2.0]), np.array([0, 0]))
    assert s["n_sources"] == 1 and np.isnan(s["ci_low"]) and np.isnan(s["ci_high"])
    values, ids = _clustered(15, 3, seed=4)
    assert summarize(values, ids, seed=7) == summarize(values, ids, seed=7)


def test_cluster_bootstrap_equals_scipy_bootstrap_of_the_ratio_over_sources():
    # scipy.stats.bootstrap, paired over the per-source (sum, count) pairs, percentile method,
    # the same generator: the same draws, hence the same interval to rounding.
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(20), rng.integers(1, 6, 20))
    values = rng.normal(size=ids.size) + 0.1 * ids
    ours = summarize(values, ids, seed=11, n_resamples=2000, level=0.9)
    sums = np.bincount(ids, weights=values)
    counts = np.bincount(ids).astype(float)
    ref = sps.bootstrap(
        (sums, counts), lambda s, c, axis=-1: s.sum(axis) / c.sum(axis), paired=True,
        vectorized=True, method="percentile", n_resamples=2000, confidence_level=0.9,
        random_state=np.random.default_rng(11)).confidence_interval
    assert ours["ci_low"] == pytest.approx(ref.low, rel=1e-12)
    assert ours["ci_high"] == pytest.approx(ref.high, rel=1e-12)


def test_spread_takes_one_window_per_source_before_a_second():
    ids = np.repeat(np.arange(8), 4)  # 8 sources, 4 windows each, in source order
    for seed in (None, 0, 1):
        for k in (1, 5, 8):
            chosen = spread_over_sources(ids, k, seed=seed)
            assert len(chosen) == k and len(set(ids[chosen])) == k
            assert np.all(np.diff(chosen) > 0)
        chosen = spread_over_sources(ids, 12, seed=seed)
        counts = np.bincount(ids[chosen], minlength=8)
        assert sorted(counts) == [1, 1, 1, 1, 2, 2, 2, 2]
    assert spread_over_sources(ids, 5).tolist() == [0, 4, 8, 12, 16]
    assert spread_over_sources(ids, None).tolist() == list(range(32))
    assert np.array_equal(spread_over_sources(ids, 5, seed=3), spread_over_sources(ids, 5, seed=3))
