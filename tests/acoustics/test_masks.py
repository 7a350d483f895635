"""Ground-truth masks on a hand-built scene: one reflection, known delays, known onsets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ssl_xai_bench.acoustics.masks import (
    MaskConfig,
    direct_delays,
    moving_mean,
    source_masks,
    speech_onsets,
)
from ssl_xai_bench.acoustics.scene import SceneConfig

FS = 16000
BURSTS = ((500, 900), (2000, 2600))  # dry utterance: two bursts, silence around them
DELAYS = np.array([3, 7, 12])  # direct delay per microphone (samples)
ECHO, GAIN = 40, 0.5  # the one reflection: 40 samples after the direct path, half its amplitude
ONE_SAMPLE = 1000.0 / FS  # a short-time energy frame of one sample (ms)


def _scene(frame_ms: float = ONE_SAMPLE, onset_ms: float = 5.0):
    rng = np.random.default_rng(0)
    dry = np.zeros(3000)
    for start, stop in BURSTS:
        dry[start:stop] = rng.choice([-1.0, 1.0], stop - start)  # constant power 1
    h_direct = np.zeros((len(DELAYS), 64))
    h_direct[np.arange(len(DELAYS)), DELAYS] = 1.0
    h_full = h_direct.copy()
    h_full[np.arange(len(DELAYS)), DELAYS + ECHO] = GAIN
    # exact (time-domain) convolutions: silence stays exactly 0
    direct = np.stack([np.convolve(dry, h) for h in h_direct])
    noisy = np.stack([np.convolve(dry, h) for h in h_full])  # no noise: residual = reflection
    config = MaskConfig(frame_ms=frame_ms, onset_ms=onset_ms)
    return dry, h_direct, noisy, direct, config


def _spans(spans, shift, n):
    out = np.zeros(n, dtype=bool)
    for start, stop in spans:
        out[start + shift:stop + shift] = True
    return out


def test_masks_are_exactly_where_the_direct_path_and_the_onsets_are():
    dry, h_direct, noisy, direct, config = _scene()
    np.testing.assert_array_equal(speech_onsets(dry, FS, config), [500, 2000])
    np.testing.assert_array_equal(direct_delays(h_direct), DELAYS)
    masks = source_masks(dry, h_direct, noisy, direct, FS, config)
    n = noisy.shape[1]
    onset_len = 80  # 5 ms at 16 kHz
    for m, delay in enumerate(DELAYS):
        # direct path power 1 against the reflection's 0.25 inside the bursts; 0 elsewhere
        np.testing.assert_array_equal(masks.direct[m], _spans(BURSTS, delay, n))
        onsets = [(start, start + onset_len) for start, _ in BURSTS]
        np.testing.assert_array_equal(masks.onset[m], _spans(onsets, delay, n))
    np.testing.assert_array_equal(masks.rest, ~(masks.direct | masks.onset))
    # a margin above the direct-to-reflection ratio (6 dB) leaves the samples before the
    # reflection arrives: the first 40 of each burst
    loud = dataclasses.replace(config, margin_db=6.5)
    strict = source_masks(dry, h_direct, noisy, direct, FS, loud).direct
    for m, delay in enumerate(DELAYS):
        early = [(start, start + ECHO) for start, _ in BURSTS]
        np.testing.assert_array_equal(strict[m], _spans(early, delay, n))


def test_a_longer_frame_moves_the_mask_edges_by_at_most_half_a_frame():
    dry, h_direct, noisy, direct, config = _scene(frame_ms=10.0)
    masks = source_masks(dry, h_direct, noisy, direct, FS, config)
    half = 80  # 10 ms frame: 160 samples, centred
    for m, delay in enumerate(DELAYS):
        inner = [(start + half, stop - half) for start, stop in BURSTS]
        outer = [(start - half, stop + half) for start, stop in BURSTS]
        assert masks.direct[m][_spans(inner, delay, noisy.shape[1])].all()
        assert not masks.direct[m][~_spans(outer, delay, noisy.shape[1])].any()
    # the onsets of the dry signal: a trailing frame, backtracked to where the rise began
    np.testing.assert_array_equal(speech_onsets(dry, FS, config), [500, 2000])


def test_onsets_need_a_gap_below_the_threshold():
    dry = np.zeros(4000)
    dry[100:300] = 1.0
    dry[310:600] = 1.0  # a 10-sample dip: shorter than a 10 ms gap (160 samples)
    dry[1000:1200] = 0.02  # 34 dB below the loudest frame: not speech at a 30 dB threshold
    dry[2000:2400] = 0.5
    config = MaskConfig(frame_ms=ONE_SAMPLE)
    np.testing.assert_array_equal(speech_onsets(dry, FS, config), [100, 2000])
    no_gap = dataclasses.replace(config, onset_gap_ms=0.0)
    np.testing.assert_array_equal(speech_onsets(dry, FS, no_gap), [100, 310, 2000])
    assert speech_onsets(np.zeros(100), FS, config).size == 0


def test_a_gradual_onset_is_found_where_its_rise_begins():
    dry = np.zeros(4000)
    dry[1000:1400] = np.linspace(1 / 400, 1.0, 400)  # 25 ms ramp: -20 dB is ~40 samples in
    dry[1400:2000] = 1.0
    for frame_ms in (ONE_SAMPLE, 10.0):
        config = MaskConfig(frame_ms=frame_ms)
        np.testing.assert_array_equal(speech_onsets(dry, FS, config), [1000])


def test_moving_mean_matches_a_direct_sum():
    x = np.random.default_rng(1).standard_normal(50)
    for length in (1, 4, 7):
        centred = [x[max(t - (length - 1) // 2, 0):t + length // 2 + 1].sum() / length
                   for t in range(50)]
        trailing = [x[max(t - length + 1, 0):t + 1].sum() / length for t in range(50)]
        np.testing.assert_allclose(moving_mean(x, length, centred=True), np.maximum(centred, 0))
        np.testing.assert_allclose(moving_mean(x, length, centred=False),
                                   np.maximum(trailing, 0))


def test_mask_settings_are_keyed_only_when_changed_and_never_reach_the_rirs():
    scene = SceneConfig.from_dict({"t60": 0.3})
    assert "masks" not in scene.to_dict()  # the default keeps every existing hash
    changed = SceneConfig.from_dict({"t60": 0.3, "masks": {"margin_db": -6}})
    assert changed.to_dict()["masks"]["margin_db"] == -6.0
    assert SceneConfig.from_dict(changed.to_dict()) == changed
    assert changed.room_part() == scene.room_part()
    with pytest.raises(Exception, match="scene.masks.onset_ms"):
        SceneConfig.from_dict({"masks": {"onset_ms": "long"}})
