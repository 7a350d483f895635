"""Cluster-bootstrap summaries and paired tests (ssl_xai_bench.metrics.stats)."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.metrics.stats import holm, paired_tests, summarize


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


def test_holm_matches_hand_computation():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(holm(p)[:3], [0.03, 0.06, 0.06])
    assert np.isnan(holm(p)[3])


def test_paired_tests_detect_a_shift_and_ignore_identity():
    values, ids = _clustered(25, 4, seed=5)
    rng = np.random.default_rng(0)
    table = paired_tests(
        {"lrp": values, "better": values + 0.3 + rng.normal(0, 0.05, values.size),
         "same": values.copy()},
        ids,
        reference="lrp",
    )
    better = table.set_index("method").loc["better"]
    same = table.set_index("method").loc["same"]
    assert better["n_sources"] == 25 and better["mean_diff"] == pytest.approx(0.3, abs=0.05)
    assert better["p_holm"] < 1e-4
    assert np.isnan(same["p_value"])
    with pytest.raises(ValueError, match="reference"):
        paired_tests({"a": values}, ids, reference="lrp")
