"""Scene config, validation, and rendering of windows (SNR, determinism, RIR reuse, shapes)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ssl_xai_bench.acoustics import audio, rir
from ssl_xai_bench.acoustics.scene import SceneConfig, scene_positions, validate_snr
from ssl_xai_bench.acoustics.windows import (
    WindowSet,
    iter_sources,
    load_scene_corpus,
    render_windows,
)
from ssl_xai_bench.errors import ConfigError

SMALL = {"t60": 0.15, "array": {"kind": "line", "n_mics": 4},
         "sources": {"n_train": 2, "n_val": 1, "n_test": 2}, "max_windows_per_utterance": 3}


@pytest.fixture(scope="module")
def small():
    scene = SceneConfig.from_dict(SMALL)
    pos = scene_positions(scene)["test"]
    return scene, pos, rir.compute_rirs(scene, pos)


def test_paper_scene_and_round_trip():
    paper = SceneConfig.paper(t60=0.6)
    assert paper.label() == "T60=0.60s paper-line16"
    assert (paper.rir_mode, paper.rir_convention, paper.window_length) == ("exact", "gpurir", 5120)
    d = paper.to_dict()
    json.dumps(d)
    assert SceneConfig.from_dict(d) == paper
    assert SceneConfig.from_dict({"preset": "paper", "t60": 0.6}) == paper
    pos = scene_positions(paper)
    assert {k: v.shape for k, v in pos.items()} == {"train": (3152, 3), "val": (788, 3),
                                                    "test": (285, 3)}


@pytest.mark.parametrize("d,field", [
    ({"room": [3.6, 0.0, 2.4]}, "scene.room"),
    ({"room": [3.6, -8.2, 2.4]}, "scene.room"),
    ({"t60": 0.05}, "scene.t60"),
    ({"t60": 0.0}, "scene.t60"),
    ({"t60": float("nan")}, "scene.t60"),
    ({"window_length": 0}, "scene.window_length"),
    ({"hop": -2}, "scene.hop"),
    ({"fs": 0}, "scene.fs"),
    ({"speed_of_sound": -343}, "scene.speed_of_sound"),
    ({"rir_mode": "approximate"}, "scene.rir_mode"),
    ({"rir_convention": "gpu"}, "scene.rir_convention"),
    ({"array": {"center": [3.7, 7.0, 1.2]}}, "scene.array"),
    ({"array": {"kind": "explicit", "positions": [[1, 1, 1], [1, 1, 1]]}}, "scene.array"),
    ({"array": {"spacing": 0}}, "scene.array.spacing"),
    ({"sources": {"y": [4.5, 8.5, 5]}}, "scene.sources.y"),
    ({"sources": {"test_region": [[0.1, 0.2], [0.1, 0.2]]}}, "scene.sources.test_region"),
    ({"sources": {"n_test": 0}}, "scene.sources.n_test"),
    ({"speech": {"source": "tts"}}, "scene.speech.source"),
    ({"speech": {"source": "wav_dir", "path": "/no/such/folder"}}, "scene.speech.path"),
    ({"colour": "blue"}, "scene.colour"),
    ({"preset": "studio"}, "scene.preset"),
    ({"masks": {"frame_ms": 0}}, "scene.masks.frame_ms"),
    ({"masks": {"onset_threshold_db": -3}}, "scene.masks.onset_threshold_db"),
    ({"masks": {"margin": 3}}, "scene.masks.margin"),
])
def test_invalid_scenes_are_refused_naming_the_field(d, field):
    with pytest.raises(ConfigError) as e:
        SceneConfig.from_dict(d)
    assert e.value.field == field
    assert field in str(e.value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "loud", None])
def test_snr_must_be_finite(value):
    with pytest.raises(ConfigError) as e:
        validate_snr(value, "cells.snr_db")
    assert e.value.field == "cells.snr_db"
    assert validate_snr("12.5") == 12.5


def test_window_longer_than_utterances_is_refused_before_rendering(tmp_path, small):
    from scipy.io import wavfile

    wavfile.write(tmp_path / "u.wav", 16000, (np.ones(3000) * 1000).astype(np.int16))
    scene = SceneConfig.from_dict({**SMALL, "window_length": 4096,
                                   "speech": {"source": "wav_dir", "path": str(tmp_path)}})
    with pytest.raises(ConfigError, match="shortest utterance") as e:
        load_scene_corpus(scene)
    assert e.value.field == "scene.window_length"
    _, pos, rirs = small
    before = rir.RIR_COMPUTATIONS
    with pytest.raises(ConfigError):
        render_windows(scene, rirs, pos, 10.0, 0)
    assert rir.RIR_COMPUTATIONS == before


def test_positions_outside_room_are_refused():
    scene = SceneConfig.from_dict(SMALL)
    with pytest.raises(ConfigError, match="outside the room") as e:
        rir.compute_rirs(scene, np.array([[1.0, 9.0, 1.0]]))
    assert e.value.field == "positions"


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_measured_snr_matches_configured(small, snr):
    scene, pos, rirs = small
    for src in iter_sources(scene, rirs, pos, snr, seed=1):
        noise = src.noisy - src.clean
        measured = 10 * np.log10(np.mean(src.clean[0] ** 2) / np.mean(noise**2))
        assert abs(measured - snr) < 0.5
    # and on the windows themselves (all windows of each source; noise = noisy - clean)
    full = dataclasses.replace(scene, max_windows_per_utterance=None)
    ws = render_windows(full, rirs, pos, snr, seed=1)
    for s, src in enumerate(iter_sources(full, rirs, pos, snr, seed=1)):
        clean = audio.frame(src.clean, 5120, 5120)
        noise = ws.windows[ws.source_ids == s] - clean
        measured = 10 * np.log10(np.mean(clean[:, 0] ** 2) / np.mean(noise**2))
        assert abs(measured - snr) < 0.5


def test_render_never_computes_rirs_and_is_deterministic(small):
    scene, pos, rirs = small
    before = rir.RIR_COMPUTATIONS
    a = render_windows(scene, rirs, pos, 20.0, seed=7)
    b = render_windows(scene, rirs, pos, 20.0, seed=7)
    c = render_windows(scene, rirs, pos, 5.0, seed=7)
    d = render_windows(scene, rirs, pos, 20.0, seed=8)
    assert rir.RIR_COMPUTATIONS == before
    np.testing.assert_array_equal(a.windows, b.windows)
    np.testing.assert_array_equal(a.direct, c.direct)  # direct path: no noise, SNR-free
    assert not np.array_equal(a.windows, c.windows)
    assert not np.array_equal(a.windows, d.windows) or not np.array_equal(a.direct, d.direct)


def test_windows_direct_and_corr_time_are_consistent(small):
    scene, pos, rirs = small
    sources = list(iter_sources(scene, rirs, pos, 15.0, seed=2))
    ws = render_windows(scene, rirs, pos, 15.0, seed=2)
    m, t = 4, scene.window_length
    assert ws.windows.shape[1:] == (m, t) and ws.windows.dtype == np.float32
    assert ws.direct.shape == ws.windows.shape
    assert ws.n_sources == 2 and len(ws) == 6
    np.testing.assert_array_equal(ws.positions, pos[ws.source_ids])
    corpus = load_scene_corpus(scene)
    for s, src in enumerate(sources):
        sel = ws.source_ids == s
        np.testing.assert_allclose(ws.windows[sel], audio.frame(src.noisy, t, t, 3), rtol=1e-6)
        dry = corpus.utterance(src.utterance_index)
        direct = audio.convolve_rirs(dry, rirs.direct[s].astype(np.float64))
        np.testing.assert_allclose(ws.direct[sel][0], direct[:, :t], atol=1e-6)
        assert np.all(ws.corr_time[sel] == audio.correlation_time(dry))
        # the masks are the source's full-length masks, framed like the windows
        np.testing.assert_array_equal(ws.masks.direct[sel], audio.frame(src.masks.direct, t, t, 3))
        np.testing.assert_array_equal(ws.masks.onset[sel], audio.frame(src.masks.onset, t, t, 3))
        assert ws.masks.direct[sel].any() and ws.masks.onset[sel].any()


def test_windows_without_direct_path_are_the_same_windows(small):
    """Training splits skip the direct-path convolution: their windows must not change."""
    scene, pos, rirs = small
    full = render_windows(scene, rirs, pos, 15.0, seed=2)
    lean = render_windows(scene, rirs, pos, 15.0, seed=2, with_direct=False)
    np.testing.assert_array_equal(lean.windows, full.windows)
    np.testing.assert_array_equal(lean.source_ids, full.source_ids)
    np.testing.assert_array_equal(lean.corr_time, full.corr_time)
    assert lean.direct.shape == (*full.windows.shape[:2], 0)
    assert np.any(full.direct != 0)
    assert lean.masks is None and full.masks.direct.shape == full.windows.shape


def test_windowset_save_load_subset(tmp_path, small):
    scene, pos, rirs = small
    ws = render_windows(scene, rirs, pos, 15.0, seed=2)
    ws.save(tmp_path / "w.npz")
    back = WindowSet.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(back.windows, ws.windows)
    assert (back.fs, back.speed_of_sound) == (16000, 343.0)
    sub = ws.subset(ws.source_ids == 1)
    assert sub.n_sources == 1 and len(sub) == 3
    np.testing.assert_array_equal(sub.direct, ws.direct[ws.source_ids == 1])
    for name, mask in ws.masks.as_dict().items():  # bit-packed on disk, exact after loading
        assert mask.dtype == bool
        np.testing.assert_array_equal(back.masks.as_dict()[name], mask)
        np.testing.assert_array_equal(sub.masks.as_dict()[name], mask[ws.source_ids == 1])
    np.testing.assert_array_equal(ws.masks.rest, ~(ws.masks.direct | ws.masks.onset))


@pytest.mark.parametrize("array", [
    {"kind": "circle", "n_mics": 8, "radius": 0.1, "center": [1.7, 7.0, 1.2]},
    {"kind": "line", "n_mics": 8, "spacing": 0.1},
])
def test_other_arrays_run_end_to_end_from_config(array):
    scene = SceneConfig.from_dict({"t60": 0.3, "array": array, "hop": 2560,
                                   "max_windows_per_utterance": 2,
                                   "sources": {"n_train": 1, "n_val": 1, "n_test": 1}})
    pos = scene_positions(scene)
    assert {k: v.shape for k, v in pos.items()} == {k: (1, 3) for k in ("train", "val", "test")}
    rirs = rir.compute_rirs(scene, pos["train"])
    assert rirs.rirs.shape[:2] == (1, 8) and rirs.direct.shape[:2] == (1, 8)
    ws = render_windows(scene, rirs, pos["train"], 10.0, seed=0)
    assert ws.windows.shape == (2, 8, 5120) and ws.mic_positions.shape == (8, 3)
    assert ws.masks.direct.shape == ws.masks.onset.shape == ws.windows.shape  # any array
    # hop 2560: the second window starts half a window after the first
    np.testing.assert_allclose(ws.direct[1, :, :2560], ws.direct[0, :, 2560:], atol=1e-7)


def test_correlation_time_is_the_references_main_lobe_width():
    # one period of a cosine over N samples: its circular autocorrelation is cos(2 pi k / N),
    # at or above 1/sqrt(2) for |k| <= N/8; N = 1003: the last such lag is 125, the first below
    # is 126 on each side, and the reference's width is 126 - (-126) = 2 * 125 + 2
    n = 1003
    x = np.cos(2 * np.pi * np.arange(n) / n)
    assert audio.correlation_time(x) == 252
    # the level is a parameter: cos(2 pi k / N) >= 0.5 for |k| <= N/6 = 167.2
    assert audio.correlation_time(x, threshold=0.5) == 2 * 167 + 2
    # white noise: only lag 0 is above the level, so the lobe spans one lag on each side
    assert audio.correlation_time(np.random.default_rng(1).standard_normal(50_000)) == 2
    # white noise through a length-20 box filter: r(k) = 1 - k/20 >= 1/sqrt(2) for k <= 5
    boxed = np.convolve(np.random.default_rng(0).standard_normal(400_000), np.ones(20), "valid")
    assert audio.correlation_time(boxed) == 2 * 5 + 2


@pytest.mark.parametrize("mode", ["rms", "maxabs"])
def test_input_scaling_divides_each_window_and_its_direct_path_by_one_factor(small, mode):
    scene, pos, rirs = small
    raw = render_windows(scene, rirs, pos, 15.0, seed=2)
    scaled_scene = dataclasses.replace(scene, input_scaling=mode)
    ws = render_windows(scaled_scene, rirs, pos, 15.0, seed=2)
    flat = ws.windows.reshape(len(ws), -1).astype(np.float64)
    level = np.sqrt((flat**2).mean(1)) if mode == "rms" else np.abs(flat).max(1)
    np.testing.assert_allclose(level, 1.0, rtol=1e-5)
    factor = raw.windows.reshape(len(raw), -1)[:, 0] / ws.windows.reshape(len(ws), -1)[:, 0]
    np.testing.assert_allclose(raw.windows, ws.windows * factor[:, None, None], rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(raw.direct, ws.direct * factor[:, None, None], rtol=1e-4,
                               atol=1e-7)
    assert "input_scaling" not in scene.to_dict()  # the study's raw windows keep their hash
    assert scaled_scene.to_dict()["input_scaling"] == mode
    assert SceneConfig.from_dict(scaled_scene.to_dict()) == scaled_scene
    assert scaled_scene.room_part() == scene.room_part()  # the RIRs are reused
    for name in ("direct", "onset"):  # masks are scale-free
        np.testing.assert_array_equal(getattr(ws.masks, name), getattr(raw.masks, name))
    with pytest.raises(ConfigError, match="scene.input_scaling"):
        SceneConfig.from_dict({**SMALL, "input_scaling": "peak"})
