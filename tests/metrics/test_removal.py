"""Removal baselines (ssl_xai_bench.metrics.removal): ROAD's imputation, its noise, the donors."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics import removal
from ssl_xai_bench.metrics.manipulation import ManipulationSettings


def _masks(shape, frac, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.random(shape) < frac
    m[0, 0, :5] = True  # a run at the start of a channel
    m[0, 1, -4:] = True  # and at its end
    m[1, 0, :] = True  # a channel with nothing kept
    return m


@pytest.mark.parametrize("frac", [0.05, 0.5, 0.9])
def test_linear_fill_equals_np_interp_and_roads_sparse_system(frac):
    x = np.random.default_rng(1).standard_normal((2, 3, 40))
    gone = _masks(x.shape, frac)
    filled = removal.linear_fill(x, gone)
    np.testing.assert_array_equal(filled[~gone], x[~gone])  # kept samples untouched
    t = np.arange(x.shape[-1])
    for row, mask, got in zip(x.reshape(-1, 40), gone.reshape(-1, 40), filled.reshape(-1, 40),
                              strict=True):
        if mask.all():
            np.testing.assert_array_equal(got, 0.0)
        else:  # np.interp holds the nearest kept value beyond the ends
            np.testing.assert_allclose(got, np.interp(t, t[~mask], row[~mask]), atol=1e-12)
    np.testing.assert_allclose(filled, removal.road_system_fill(x, gone), atol=1e-9)


def test_interpolation_of_a_known_signal():
    t = np.arange(64, dtype=float)
    ramp = (0.5 * t - 3.0)[None]
    gone = np.zeros_like(ramp, dtype=bool)
    gone[0, 10:30] = True
    gone[0, 40] = True
    np.testing.assert_allclose(removal.linear_fill(ramp, gone), ramp)  # a line is exact
    slow = np.sin(2 * np.pi * 200 / 16000 * t)[None]  # 200 Hz at 16 kHz: isolated gaps vanish
    gone = np.zeros_like(slow, dtype=bool)
    gone[0, 3:60:4] = True  # isolated samples: error <= |x| (1 - cos(2 pi f / fs)) = 0.0031
    err = np.abs(removal.linear_fill(slow, gone) - slow).max()
    assert 0 < err <= 1 - np.cos(2 * np.pi * 200 / 16000)
    gone = np.zeros_like(slow, dtype=bool)
    gone[0, 5] = True  # one sample between -> mean of its neighbours
    assert removal.linear_fill(slow, gone)[0, 5] == pytest.approx((slow[0, 4] + slow[0, 6]) / 2)


def test_a_mask_on_the_first_and_last_samples_holds_the_nearest_kept_value():
    x = np.arange(1.0, 11.0)[None, None]
    gone = np.zeros_like(x, dtype=bool)
    gone[..., :3] = True
    gone[..., -2:] = True
    out = removal.linear_fill(x, gone)
    np.testing.assert_array_equal(out[0, 0], [4, 4, 4, 4, 5, 6, 7, 8, 8, 8])
    nl = removal.make_removal("noisy_linear", x.astype(np.float32), [0], seed=0, noise_scale=0.0)
    np.testing.assert_array_equal(nl.apply(gone), out.astype(np.float32))


@pytest.mark.parametrize("frac", [0.4, 0.8])  # sums of the removed / of the kept samples
def test_local_std_is_that_of_the_kept_samples_of_each_block(frac):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 200)) * np.array([1.0, 3.0])[None, :, None]
    gone = rng.random(x.shape) < frac
    gone[0, 0, :140] = True  # blocks 0 and 1 have nothing kept, block 2 two samples
    gone[0, 0, 130:138] = False
    gone[0, 0, 128:130] = True
    std = removal.local_std(x, gone, block=64)
    assert std.shape == (2, 2, 4)
    for idx in np.ndindex(2, 2):
        for b in range(4):
            seg = x[idx][b * 64:(b + 1) * 64][~gone[idx][b * 64:(b + 1) * 64]]
            if seg.size >= 2:
                assert std[idx][b] == pytest.approx(seg.std(), rel=1e-9)
    # The empty blocks hold the first valid block's value.
    assert std[0, 0, 0] == std[0, 0, 1] == std[0, 0, 2]


def test_noisy_linear_noise_is_seeded_and_has_the_local_variance():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((4, 3, 2048)) * [[[0.5], [1.0], [2.0]]]).astype(np.float32)
    gone = rng.random(x.shape) < 0.3
    ids = np.arange(4)
    a = removal.make_removal("noisy_linear", x, ids, seed=7)
    b = removal.make_removal("noisy_linear", x, ids, seed=7)
    c = removal.make_removal("noisy_linear", x, ids, seed=8)
    out = a.apply(gone)
    np.testing.assert_array_equal(out, b.apply(gone))  # reproducible
    assert not np.array_equal(out, c.apply(gone))  # the seed matters
    np.testing.assert_array_equal(out[~gone], x[~gone])
    noise = (out - removal.linear_fill(x, gone))[gone].reshape(-1)
    mic = np.broadcast_to(np.arange(3)[None, :, None], x.shape)[gone]
    for m, scale in enumerate((0.5, 1.0, 2.0)):  # white noise: local std = the channel's
        assert noise[mic == m].std() == pytest.approx(scale, rel=0.05)
    half = removal.make_removal("noisy_linear", x, ids, seed=7, noise_scale=0.5).apply(gone)
    np.testing.assert_allclose(half - removal.linear_fill(x, gone),
                               0.5 * (out - removal.linear_fill(x, gone)), atol=1e-5)
    # A subset of windows is imputed exactly as in the whole set (same noise, same sums).
    np.testing.assert_array_equal(a.apply(gone[[3, 1]], rows=np.array([3, 1])), out[[3, 1]])
    np.testing.assert_array_equal(a.apply(gone[1:3], rows=np.arange(1, 3)), out[1:3])


def test_other_source_takes_the_same_samples_of_a_window_of_another_source():
    x = np.random.default_rng(4).standard_normal((6, 2, 32)).astype(np.float32)
    ids = np.array([0, 0, 1, 1, 2, 2])
    r = removal.make_removal("other_source", x, ids, seed=1)
    assert np.all(ids[r.donor_index] != ids)
    gone = np.random.default_rng(5).random(x.shape) < 0.5
    out = r.apply(gone)
    np.testing.assert_array_equal(out[gone], x[r.donor_index][gone])
    np.testing.assert_array_equal(out[~gone], x[~gone])
    with pytest.raises(ConfigError, match="metrics.removal_baselines"):
        ManipulationSettings(removal_baselines=("other_source",)).removal(
            "other_source", x, np.zeros(6), seed=0)


def test_zero_and_the_names_of_the_variants():
    x = np.ones((1, 2, 4), np.float32)
    gone = np.array([[[True, False, False, True], [False] * 4]])
    out = removal.make_removal("zero", x, [0], seed=0).apply(gone)
    np.testing.assert_array_equal(out, np.where(gone, 0, 1))
    assert removal.suffix("zero") == "" and removal.suffix("noisy_linear") == "_noisy_linear"
    variants = removal.removal_variants(["faithfulness_correlation"])
    assert variants["faithfulness_correlation"] == ("faithfulness_correlation", "zero")
    assert variants["faithfulness_correlation_other_source"] == ("faithfulness_correlation",
                                                                 "other_source")
