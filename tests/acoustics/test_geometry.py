"""Source grid, heights and split of the paper; array geometries; geometry validation."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.acoustics.geometry import (
    TUNING_N_TEST,
    TUNING_RESERVE,
    ArrayConfig,
    SourceGridConfig,
    sklearn_shuffle_split,
)
from ssl_xai_bench.errors import ConfigError

ROOM = (3.6, 8.2, 2.4)


def test_paper_grid_heights_and_split_match_the_authors():
    grid = SourceGridConfig()
    pos = grid.grid_positions()
    assert pos.shape == (4225, 3)
    idx = grid.split_indices()
    assert {k: len(v) for k, v in idx.items()} == {"train": 3152, "val": 788, "test": 285}
    np.testing.assert_allclose(pos[idx["test"]][58], [1.48125, 5.375, 1.33693965], atol=1e-8)
    # the three splits partition the grid
    allidx = np.concatenate(list(idx.values()))
    assert len(np.unique(allidx)) == 4225


def test_train_val_membership_and_order_equal_sklearn():
    sklearn = pytest.importorskip("sklearn.model_selection")
    grid = SourceGridConfig()
    pos = grid.grid_positions()
    idx = grid.split_indices()
    rest = np.setdiff1d(np.arange(len(pos)), idx["test"])
    train, val = sklearn.train_test_split(pos[rest], test_size=0.2, random_state=5000)
    np.testing.assert_array_equal(pos[idx["train"]], train)
    np.testing.assert_array_equal(pos[idx["val"]], val)


@pytest.mark.parametrize("n,size,seed", [(10, 0.2, 0), (3940, 0.2, 5000), (7, 0.33, 1)])
def test_shuffle_split_equals_sklearn(n, size, seed):
    sklearn = pytest.importorskip("sklearn.model_selection")
    test, train = sklearn_shuffle_split(n, size, seed)
    ref_train, ref_test = sklearn.train_test_split(np.arange(n), test_size=size,
                                                   random_state=seed)
    np.testing.assert_array_equal(test, ref_test)
    np.testing.assert_array_equal(train, ref_train)


def test_subsampling_keeps_split_membership_and_is_deterministic():
    grid = SourceGridConfig(n_train=50, n_val=10, n_test=7)
    full = SourceGridConfig().split_indices()
    sub = grid.subsampled_indices()
    assert {k: len(v) for k, v in sub.items()} == {"train": 50, "val": 10, "test": 7}
    for k in sub:
        assert np.isin(sub[k], full[k]).all()
        pos_in_split = [int(np.flatnonzero(full[k] == i)[0]) for i in sub[k]]
        assert pos_in_split == sorted(pos_in_split)  # split order preserved
    again = SourceGridConfig(n_train=50, n_val=10, n_test=7).subsampled_indices()
    for k in sub:
        np.testing.assert_array_equal(sub[k], again[k])


def test_random_split_rule_partitions_with_requested_fractions():
    grid = SourceGridConfig(split="random", val_fraction=0.2, test_fraction=0.1)
    idx = grid.split_indices()
    assert len(idx["test"]) == round(0.1 * 4225) and len(idx["val"]) == round(0.2 * 4225)
    assert len(np.unique(np.concatenate(list(idx.values())))) == 4225
    # not the paper's square: random test positions spread over the whole grid
    pos = grid.grid_positions()[idx["test"]]
    assert pos[:, 0].min() < 1.0 and pos[:, 0].max() > 2.4


def test_paper_line_array_matches_the_study():
    mics = ArrayConfig().mic_positions()
    k = np.arange(16)
    np.testing.assert_allclose(mics[:, 0], 1.7 + 0.15 * (k - 7.5), atol=1e-12)
    np.testing.assert_allclose(mics[:, 1:], np.tile([7.0, 1.2], (16, 1)), atol=1e-12)


def _positions_before_pyroomacoustics(array: ArrayConfig) -> np.ndarray:
    """The line and circle formulas the package used before it called pyroomacoustics'
    ``linear_2D_array`` / ``circular_2D_array`` (every committed result was computed with
    these)."""
    c = np.asarray(array.center, dtype=np.float64)
    phi = np.deg2rad(array.orientation_deg)
    k = np.arange(array.n_mics, dtype=np.float64)
    if array.kind == "line":
        offs = (k - (array.n_mics - 1) / 2.0) * array.spacing
        return c + np.stack([offs * np.cos(phi), offs * np.sin(phi), 0.0 * offs], axis=1)
    ang = phi + 2.0 * np.pi * k / array.n_mics
    return c + np.stack([array.radius * np.cos(ang), array.radius * np.sin(ang), 0.0 * k], 1)


@pytest.mark.parametrize("array", [
    ArrayConfig(), ArrayConfig(n_mics=8), ArrayConfig(n_mics=5, spacing=0.07,
                                                      orientation_deg=33.0),
    ArrayConfig(kind="circle", n_mics=8, radius=0.1),
    ArrayConfig(kind="circle", n_mics=6, radius=0.12, orientation_deg=15.0,
                center=(1.7, 6.9, 1.3))])
def test_line_and_circle_arrays_are_bit_identical_to_the_former_formulas(array):
    np.testing.assert_array_equal(array.mic_positions(), _positions_before_pyroomacoustics(array))


def test_circle_and_rotated_line_geometry():
    circ = ArrayConfig(kind="circle", n_mics=8, radius=0.1).mic_positions()
    np.testing.assert_allclose(np.linalg.norm(circ[:, :2] - [1.7, 7.0], axis=1), 0.1)
    np.testing.assert_allclose(np.linalg.norm(circ[1] - circ[0]), 2 * 0.1 * np.sin(np.pi / 8))
    line = ArrayConfig(n_mics=4, spacing=0.2, orientation_deg=90.0).mic_positions()
    np.testing.assert_allclose(line[:, 0], 1.7, atol=1e-12)
    np.testing.assert_allclose(np.diff(line[:, 1]), 0.2)


def test_explicit_array_from_dict_counts_mics():
    arr = ArrayConfig.from_dict({"kind": "explicit", "positions": [[1, 1, 1], [2, 2, 1]]})
    assert arr.n_mics == 2 and arr.label() == "explicit2"
    np.testing.assert_array_equal(arr.mic_positions(), [[1, 1, 1], [2, 2, 1]])


@pytest.mark.parametrize("d,field", [
    ({"kind": "triangle"}, "scene.array.kind"),
    ({"spacing": 0.0}, "scene.array.spacing"),
    ({"spacing": -0.1}, "scene.array.spacing"),
    ({"center": [1, 2]}, "scene.array.center"),
    ({"bogus": 1}, "scene.array.bogus"),
    ({"kind": "explicit"}, "scene.array.positions"),
])
def test_array_from_dict_rejects(d, field):
    with pytest.raises(ConfigError) as e:
        ArrayConfig.from_dict(d)
    assert e.value.field == field


def test_array_validation_names_the_field():
    with pytest.raises(ConfigError, match="outside the room") as e:
        ArrayConfig(center=(3.5, 7.0, 1.2)).validate(ROOM)
    assert e.value.field == "scene.array"
    with pytest.raises(ConfigError, match="coincide") as e:
        ArrayConfig(kind="explicit", n_mics=2,
                    positions=((1.0, 1.0, 1.0), (1.0, 1.0, 1.0))).validate(ROOM)
    assert e.value.field == "scene.array"


def test_source_validation_names_the_field():
    with pytest.raises(ConfigError) as e:
        SourceGridConfig(height_range=(1.0, 2.6)).validate(ROOM)
    assert e.value.field == "scene.sources.height_range"
    with pytest.raises(ConfigError) as e:
        SourceGridConfig(x=(-0.1, 2.0, 5)).validate(ROOM)
    assert e.value.field == "scene.sources.x"
    with pytest.raises(ConfigError, match="test split is empty") as e:
        SourceGridConfig(test_region=((3.0, 3.1), (5.0, 5.1))).validate(ROOM)
    assert e.value.field == "scene.sources.test_region"
    with pytest.raises(ConfigError) as e:
        SourceGridConfig(n_test=300).validate(ROOM)
    assert e.value.field == "scene.sources.n_test"
    with pytest.raises(ConfigError) as e:
        SourceGridConfig.from_dict({"n_val": 0})
    assert e.value.field == "scene.sources.n_val"


def _test(n_test, draw=0):
    return set(SourceGridConfig(n_test=n_test, test_draw=draw).subsampled_indices()["test"])


def test_held_out_test_draws_never_meet_the_tuning_set_or_each_other():
    split = SourceGridConfig().split_indices()
    tuning = _test(TUNING_N_TEST + TUNING_RESERVE)
    assert len(split["test"]) == 285 and len(tuning) == TUNING_N_TEST + TUNING_RESERVE
    assert _test(TUNING_N_TEST) <= _test(64) <= tuning  # nested: more tuning sources add
    seen = set(tuning)
    for draw in (1, 2):
        for n_test in (32, 60):
            cfg = SourceGridConfig(n_test=n_test, test_draw=draw)
            got = cfg.subsampled_indices()
            test = set(got["test"])
            assert len(test) == n_test and test <= set(split["test"])
            assert not test & tuning  # never a source a recipe was, or may be, tuned on
            assert not test & (set(got["train"]) | set(got["val"]))
            assert np.array_equal(got["train"], split["train"])  # training is unchanged
            if n_test == 32:
                assert not test & (seen - tuning)  # disjoint from the earlier draws
                seen |= test
    assert SourceGridConfig(n_test=32, test_draw=1).to_dict()["test_draw"] == 1
    assert SourceGridConfig.from_dict({"n_test": 32, "test_draw": 2}).test_draw == 2


def test_the_reserve_leaves_the_committed_held_out_draws_where_they_were():
    split = SourceGridConfig().split_indices()["test"]
    key = [5000, 3]  # split seed, then the test split's place in the split order (k = 1 + 2)

    def draw(idx, n, seed):  # without replacement, kept in the order of idx
        return idx[np.sort(np.random.default_rng(seed).choice(len(idx), n, replace=False))]

    for d, n_test in ((1, 32), (1, 60)):
        # the rule before the reserve: from the split minus the first 32 tuning positions
        pool = split[~np.isin(split, draw(split, TUNING_N_TEST, key))]
        assert _test(n_test, d) == set(draw(pool, n_test, [*key, d]))


def test_a_draw_the_test_square_cannot_hold_is_refused():
    with pytest.raises(ConfigError, match=r"scene\.sources\.test_draw.*n_test"):
        SourceGridConfig(test_draw=1).validate((3.6, 8.2, 2.4))
    with pytest.raises(ConfigError, match=r"scene\.sources\.test_draw.*only 77 of the 285"):
        SourceGridConfig(n_test=80, test_draw=2).validate((3.6, 8.2, 2.4))
    with pytest.raises(ConfigError, match=r"scene\.sources\.n_test.*at most 128"):
        SourceGridConfig(n_test=129).validate((3.6, 8.2, 2.4))  # before any compute
    with pytest.raises(ConfigError, match=r"scene\.sources\.test_draw"):
        SourceGridConfig.from_dict({"test_draw": -1})
