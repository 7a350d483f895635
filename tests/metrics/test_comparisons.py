"""Paired comparisons: attainable p, equivalence, outcomes, Holm families (metrics.comparisons)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ssl_xai_bench.metrics.comparisons import (
    PairCache,
    all_paired_tests,
    holm,
    min_attainable_p,
    paired_tests,
    signed_rank_test,
    signed_rank_tests,
)


def _cell(n_sources: int, shifts: dict[str, float], noise: float, seed: int,
          per_source: int = 2) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-window scores of methods differing from ``best`` by a per-window shift + noise."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_sources), per_source)
    base = rng.normal(0.5, 0.2, n_sources)[ids]
    out = {"best": base}
    for name, shift in shifts.items():
        out[name] = base + shift + rng.normal(0, noise, ids.size)
    return out, ids


def test_smallest_attainable_p_is_two_over_two_to_the_n():
    assert min_attainable_p(8) == pytest.approx(0.0078125)
    assert min_attainable_p(12) == pytest.approx(0.00048828125)
    assert min_attainable_p(12, "greater") == pytest.approx(0.000244140625)
    assert min_attainable_p(0) == 1.0


def test_eight_sources_cannot_separate_nine_methods_sixteen_can():
    # Eight methods all clearly worse than the best in every source (the "occlusion beats every
    # method in 8 of 8 sources" case): with 8 sources and 8 comparisons the smallest Holm p is
    # 8 * 2/256 = 0.0625, so the outcome is "underpowered", never a tie or a difference.
    shifts = {f"m{i}": -0.3 for i in range(8)}
    values, ids = _cell(8, shifts, noise=0.01, seed=0)
    small = paired_tests(values, ids, reference="best", margin=0.05)
    assert (small["family_size"] == 8).all()
    assert small["p_attainable"].iloc[0] == pytest.approx(8 * 2 / 2**8)
    assert (small["p_holm"] >= 0.05).all()
    assert set(small["outcome"]) == {"underpowered"}
    values, ids = _cell(16, shifts, noise=0.01, seed=0)
    large = paired_tests(values, ids, reference="best", margin=0.05)
    assert (large["p_attainable"] < 0.05).all()
    assert set(large["outcome"]) == {"worse"}
    # the direction of the metric decides which way "worse" points
    down = paired_tests(values, ids, reference="best", direction="down")
    assert set(down["outcome"]) == {"better"}


def test_equivalence_needs_evidence_within_the_margin():
    values, ids = _cell(16, {"close": 0.002, "noisy": 0.0}, noise=0.01, seed=1)
    rng = np.random.default_rng(2)
    values["noisy"] = values["best"] + rng.normal(0, 0.3, ids.size)
    table = paired_tests(values, ids, reference="best", margin=0.05).set_index("method")
    assert table.loc["close", "outcome"] == "equivalent"
    assert table.loc["close", "p_equivalence_holm"] < 0.05
    # not significantly different, but far too noisy to show equivalence: undetermined
    assert table.loc["noisy", "p_holm"] >= 0.05
    assert table.loc["noisy", "outcome"] == "undetermined"
    # without a margin nothing can be shown equivalent
    bare = paired_tests(values, ids, reference="best").set_index("method")
    assert bare.loc["close", "outcome"] == "undetermined"
    assert np.isnan(bare.loc["close", "p_equivalence"])
    # identical scores are equivalent whatever the margin
    same = paired_tests({"best": values["best"], "copy": values["best"].copy()}, ids,
                        reference="best")
    assert same["outcome"].iloc[0] == "equivalent" and np.isnan(same["p_value"].iloc[0])


def test_controls_are_a_holm_family_of_their_own():
    shifts = {"a": -0.05, "b": -0.04, "c": -0.06}
    values, ids = _cell(14, shifts, noise=0.03, seed=3)
    alone = paired_tests(values, ids, reference="best").set_index("method")
    with_controls = dict(values, random=values["best"] - 0.5, energy=values["best"] + 0.01)
    both = paired_tests(with_controls, ids, reference="best",
                        controls={"random", "energy"}).set_index("method")
    for m in shifts:
        assert both.loc[m, "p_holm"] == pytest.approx(alone.loc[m, "p_holm"])
        assert both.loc[m, "family_size"] == 3 and both.loc[m, "role"] == "methods"
    assert both.loc["random", "role"] == "controls" and both.loc["random", "family_size"] == 2
    # counted in one family, the controls would have inflated every method's Holm p
    mixed = paired_tests(with_controls, ids, reference="best").set_index("method")
    assert all(mixed.loc[m, "p_holm"] >= alone.loc[m, "p_holm"] for m in shifts)
    assert any(mixed.loc[m, "p_holm"] > alone.loc[m, "p_holm"] for m in shifts)


def test_holm_matches_hand_computation_and_statsmodels():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(holm(p)[:3], [0.03, 0.06, 0.06])
    assert np.isnan(holm(p)[3])
    rng = np.random.default_rng(0)
    for k in (1, 2, 5, 9, 30):
        raw = rng.uniform(0, 0.2, k) ** 2
        raw[rng.integers(0, k)] = raw[0]  # ties keep their order
        np.testing.assert_allclose(holm(raw), multipletests(raw, method="holm")[1], rtol=1e-12)


def test_every_reference_shares_one_test_per_pair():
    values, ids = _cell(14, {"a": -0.05, "b": 0.02, "c": -0.1}, noise=0.03, seed=7)
    values["energy"] = values["best"] - 0.2
    one_by_one = pd.concat([paired_tests(values, ids, ref, controls={"energy"}, margin=0.05)
                            for ref in values], ignore_index=True)
    shared = all_paired_tests(values, ids, controls={"energy"}, margin=0.05)
    pd.testing.assert_frame_equal(shared, one_by_one)
    # a - b and b - a: the same p-values, opposite differences
    ab = shared[(shared["method"] == "a") & (shared["reference"] == "b")].iloc[0]
    ba = shared[(shared["method"] == "b") & (shared["reference"] == "a")].iloc[0]
    assert ab["p_value"] == ba["p_value"] and ab["mean_diff"] == -ba["mean_diff"]


def test_paired_tests_detect_a_shift_and_refuse_an_unknown_reference():
    values, ids = _cell(25, {"better": 0.3}, noise=0.05, seed=5, per_source=4)
    row = paired_tests(values, ids, reference="best").set_index("method").loc["better"]
    assert row["n_sources"] == 25 and row["mean_diff"] == pytest.approx(0.3, abs=0.05)
    assert row["p_holm"] < 1e-4 and row["outcome"] == "better"
    with pytest.raises(ValueError, match="reference"):
        paired_tests({"a": values["best"]}, ids, reference="lrp")
    with pytest.raises(ValueError, match="direction"):
        paired_tests(values, ids, reference="best", direction="sideways")


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_signed_rank_test_equals_scipy_with_ties_and_zeros(alternative):
    """Small samples with ties or zeros take the vectorised sign-flip path; statistic and p are
    scipy.stats.wilcoxon's own (its permutation branch), and the other branches are scipy's."""
    rng = np.random.default_rng(7)
    for n in (2, 5, 9, 13, 14, 20):
        for _ in range(6):
            d = np.round(rng.normal(0.4, 1.0, n), 1)
            d[rng.random(n) < 0.2] = 0.0
            if not np.any(d != 0):
                continue
            stat, p = signed_rank_test(d, alternative)
            ref = stats.wilcoxon(d, alternative=alternative)
            assert stat == pytest.approx(float(ref.statistic), rel=1e-12)
            assert p == pytest.approx(float(ref.pvalue), rel=1e-12), (n, d)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_batched_signed_rank_tests_equal_one_scipy_call_per_row(alternative):
    """Rows scipy tests exactly share one vectorised call; rows with ties or zeros, and larger
    samples, are tested alone: every row's statistic and p equal scipy.stats.wilcoxon's."""
    rng = np.random.default_rng(11)
    for n in (3, 12, 16, 30, 60):
        d = rng.normal(0.3, 1.0, (40, n))
        d[:10] = np.round(d[:10], 1)  # ties
        d[10:15, 0] = 0.0  # zeros
        stat, p = signed_rank_tests(d, alternative)
        for i, row in enumerate(d):
            ref = stats.wilcoxon(row, alternative=alternative)
            assert stat[i] == float(ref.statistic) and p[i] == float(ref.pvalue), (n, i)


def test_primed_pair_cache_equals_testing_each_pair_alone():
    rng = np.random.default_rng(4)
    ids = np.repeat(np.arange(16), 2)
    values = {m: rng.normal(0.1 * i, 1.0, ids.size) for i, m in enumerate("abcdef")}
    values["e"] = np.round(values["e"], 0)  # ties against the others
    values["f"] = values["a"].copy()  # identical to a
    values["c"][[0, 1, 5]] = np.nan  # sources dropped from c's pairs
    primed = PairCache(ids, 0.2)
    primed.prime(values)
    alone = PairCache(ids, 0.2)
    for a in values:
        for b in values:
            if a != b:
                got = primed.get(a, values[a], b, values[b])
                want = alone.get(a, values[a], b, values[b])
                np.testing.assert_equal(dataclasses.astuple(got), dataclasses.astuple(want))
    assert primed.get("a", values["a"], "f", values["f"]).identical
    assert primed.get("c", values["c"], "a", values["a"]).n_sources == 15
