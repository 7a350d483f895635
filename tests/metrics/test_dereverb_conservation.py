"""De-reverberation evidence, SRP-PHAT on relevance and LRP conservation."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.metrics import conservation, dereverb, srp

from .conftest import make_scene


def test_direct_path_relevance_scores_the_maximum_and_microphones_their_value():
    scene = make_scene(n_sources=4, windows_per_source=2, seed=1)
    sim_direct = dereverb.direct_similarity(scene.direct, scene.direct)
    np.testing.assert_allclose(sim_direct, 1.0, atol=1e-9)
    # Scaled, sign-flipped and shifted by 3 samples: still the direct path.
    shifted = -2.5 * np.roll(scene.direct, 3, axis=-1)
    shifted[..., :3] = 0
    assert np.all(dereverb.direct_similarity(shifted, scene.direct) > 0.99)
    sim_mic = dereverb.direct_similarity(scene.windows, scene.direct)
    assert np.all(sim_mic < 0.9)
    np.testing.assert_allclose(dereverb.direct_similarity(scene.windows.copy(), scene.direct),
                               sim_mic)
    # Linear: a relevance halfway between microphones and direct path lies between them.
    mid = dereverb.direct_similarity(0.5 * (scene.windows + scene.direct), scene.direct)
    assert np.all((mid > sim_mic) & (mid < 1.0))
    zero = dereverb.direct_similarity(np.zeros_like(scene.direct), scene.direct)
    assert np.isnan(zero).all()


def test_srp_phat_on_direct_path_beats_reverberant_microphones():
    scene = make_scene(n_sources=4, windows_per_source=1, reverb=1.5, seed=2)
    grid = srp.srp_grid(scene.positions, step=0.1, margin=0.3)
    args = (scene.positions, scene.mic_positions, scene.fs, scene.speed_of_sound, grid)
    err_direct = srp.srp_errors(scene.direct, *args)
    err_mic = srp.srp_errors(scene.windows, *args)
    assert err_direct.mean() <= err_mic.mean()
    assert err_direct.mean() < 0.5


def test_conservation_ratio_is_sum_over_scalar():
    rel = np.ones((3, 2, 4))
    ratio = conservation.conservation_ratio(rel, np.array([8.0, 16.0, 0.0]))
    assert ratio[0] == pytest.approx(1.0) and ratio[1] == pytest.approx(0.5)
    assert np.isnan(ratio[2])
    with pytest.raises(ValueError, match="scalar"):
        conservation.conservation_ratio(rel, np.ones(2))
