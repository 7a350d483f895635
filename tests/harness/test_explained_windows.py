"""The explained test windows: the seeded sources, and windows whose masks can all be scored."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ssl_xai_bench.acoustics.masks import GroundTruthMasks
from ssl_xai_bench.acoustics.windows import WindowSet
from ssl_xai_bench.harness.stages import base as stage_base
from ssl_xai_bench.harness.stages.attribution import explained_windows
from ssl_xai_bench.hashing import derive_seed

M, T = 2, 8


def _window_set(source_ids: np.ndarray, scorable: np.ndarray | None) -> WindowSet:
    n = len(source_ids)
    masks = None
    if scorable is not None:
        direct = np.zeros((n, M, T), dtype=bool)
        direct[:, :, : T // 2] = True  # direct path dominates in the first half
        onset = np.zeros((n, M, T), dtype=bool)
        onset[scorable, 0, T // 2] = True  # an onset only in the scorable windows
        masks = GroundTruthMasks(direct, onset)
    zeros = np.zeros((n, M, T), dtype=np.float32)
    return WindowSet(zeros, zeros, np.zeros((n, 3)), source_ids, np.zeros(n), np.zeros((M, 3)),
                     16000, 343.0, masks)


def test_masks_scorable_needs_samples_in_and_out_of_every_mask():
    direct = np.zeros((3, M, T), dtype=bool)
    direct[:, 1, :3] = True
    onset = np.zeros((3, M, T), dtype=bool)
    onset[0, 0, 5] = True
    onset[2, :, :] = True  # onset everywhere: nothing outside it
    assert GroundTruthMasks(direct, onset).scorable().tolist() == [True, False, False]


@pytest.mark.parametrize("k", [4, 6, 9])
def test_same_sources_as_the_seeded_subset_and_scorable_windows_first(k):
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(6), 3)
    scorable = rng.random(ids.size) < 0.5
    scorable[ids == 2] = False  # a source with no scorable window keeps its seeded window
    config = SimpleNamespace(seed=11, n_test_windows=k)
    plain = stage_base.test_subset(ids, k, derive_seed(11, "subset"))
    chosen = explained_windows(config, _window_set(ids, scorable))
    assert sorted(ids[chosen]) == sorted(ids[plain])  # the same sources, as often
    for source in np.unique(ids[chosen]):
        n_here = np.count_nonzero(ids[chosen] == source)
        available = np.count_nonzero(scorable[ids == source])
        assert np.count_nonzero(scorable[chosen][ids[chosen] == source]) == min(n_here,
                                                                               available)
    assert (ids[chosen] == 2).any() or not (ids[plain] == 2).any()


def test_without_masks_or_with_all_scorable_it_is_the_seeded_subset():
    ids = np.repeat(np.arange(8), 4)
    config = SimpleNamespace(seed=5, n_test_windows=8)
    plain = stage_base.test_subset(ids, 8, derive_seed(5, "subset"))
    assert explained_windows(config, _window_set(ids, None)).tolist() == plain.tolist()
    everywhere = np.ones(ids.size, dtype=bool)
    assert explained_windows(config, _window_set(ids, everywhere)).tolist() == plain.tolist()
