"""RIR stage: conventions against references, T60, fast vs exact, counter, authors' weights."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyroomacoustics as pra
import pytest

from bench import rir as R
from bench.scenes import SceneConfig, render_windows, scene_positions

FS, C = 16000, 343.0
PAPER_ROOM = (3.6, 8.2, 2.4)
MICS4 = np.array([[1.25, 7.0, 1.2], [1.55, 7.0, 1.2], [1.85, 7.0, 1.2], [2.15, 7.0, 1.2]])
MICS16 = np.c_[1.7 + 0.15 * (np.arange(16) - 7.5), np.full(16, 7.0), np.full(16, 1.2)]
SOURCE = np.array([1.3, 5.1, 1.4])


def hann_sinc(n: np.ndarray, tau: float, width: float) -> np.ndarray:
    t = n - tau
    return np.where(np.abs(t) < width / 2, 0.5 * (1 + np.cos(2 * np.pi * t / width)), 0.0) * \
        np.sinc(t)


def test_pyroomacoustics_convention_equals_pyroomacoustics_compute_rir():
    e_abs, _ = pra.inverse_sabine(0.3, PAPER_ROOM)
    room = pra.ShoeBox(PAPER_ROOM, fs=FS, materials=pra.Material(e_abs), max_order=4,
                       air_absorption=False)
    room.set_sound_speed(C)
    room.add_source(SOURCE)
    room.add_microphone_array(MICS4[:2].T)
    room.compute_rir()  # default: high-pass on, 81-tap fractional delay, 40-sample offset
    src = room.sources[0]
    conv = R.convention("pyroomacoustics", FS)
    for m in range(2):
        ref = np.asarray(room.rir[m][0])
        mine = R.pra_highpass(R.render_images(src.images, src.orders, src.damping[0], MICS4[m],
                                              len(ref), conv, FS, C), FS)
        # pyroomacoustics interpolates its sinc from a look-up table: ~1e-3 of the peak
        np.testing.assert_allclose(mine, ref, atol=2e-3 * np.abs(ref).max())


def test_gpurir_convention_against_hand_computed_first_order_images():
    # a large room so that first reflections arrive well before any second-order one
    room, t60 = (20.0, 20.0, 20.0), 0.6
    s, mic = np.array([9.0, 10.0, 11.0]), np.array([11.0, 9.5, 9.0])
    volume, surface = 8000.0, 2400.0
    beta = math.sqrt(1 - 24 * math.log(10) * volume / (C * surface * t60))
    images = [(s, 0)]
    for axis in range(3):
        for wall in (0.0, room[axis]):
            img = s.copy()
            img[axis] = 2 * wall - s[axis]
            images.append((img, 1))
    conv = R.convention("gpurir", FS)
    rirs, direct = R.simulate_position(room, t60, s, mic[None], FS, C, "exact", conv)
    h = rirs[0]
    assert len(h) == 9600  # ceil(T60 fs), even: gpuRIR's Tmax = T60
    # pyroomacoustics' images of order <= 1 are exactly the hand-made ones
    imgs, orders, damping = R.image_sources(room, t60, s, mic[None], FS, 1.0)
    hand = np.array([i for i, _ in images])
    got = imgs[:, orders <= 1].T
    assert len(got) == 7
    assert np.abs(got[:, None] - hand[None]).max(axis=-1).min(axis=0).max() < 1e-5  # float32
    np.testing.assert_allclose(damping[orders == 1], beta, rtol=1e-6)
    # before any second-order arrival (minus the 64-sample half window) the RIR is the hand sum
    d2 = np.linalg.norm(imgs[:, orders == 2] - mic[:, None], axis=0).min()
    n_cut = int(d2 / C * FS) - 64
    n = np.arange(n_cut)
    expect = np.zeros(n_cut)
    taus = []
    for img, order in images:
        d = np.linalg.norm(img - mic)
        tau = d / C * FS
        taus.append((tau, (-beta) ** order / (4 * np.pi * d)))
        expect += (-beta) ** order / (4 * np.pi * d) * hann_sinc(n, tau, 0.008 * FS)
    early = [t for t in taus[1:] if t[0] < n_cut - 64]
    assert len(early) == 6
    np.testing.assert_allclose(h[:n_cut], expect, atol=1e-6 * abs(taus[0][1]))
    for tau, amp in early:  # first reflections: negative (-beta), at their arrival sample
        assert amp < 0 and h[int(round(tau))] < 0
    tau0, amp0 = taus[0]
    assert int(np.argmax(np.abs(h))) == int(round(tau0))  # time origin 0, no offset
    np.testing.assert_allclose(direct[0], hann_sinc(np.arange(direct.shape[1]), tau0, 128)
                               * amp0, atol=1e-7)


def test_measure_t60_recovers_a_synthetic_exponential_decay():
    rng = np.random.default_rng(0)
    t = np.arange(int(1.2 * FS)) / FS
    h = rng.standard_normal(len(t)) * 10 ** (-3 * t / 0.5)  # 60 dB in 0.5 s (amplitude)
    assert abs(R.measure_t60(h, FS, 30) - 0.5) < 0.02
    assert abs(R.measure_t60(h, FS, 20) - 0.5) < 0.03


@pytest.mark.parametrize("t60", [0.15, 0.3, 0.4, 0.6])
def test_fast_mode_t60_and_convention_agreement(t60):
    measured = {}
    for name in R.CONVENTIONS:
        rirs, _ = R.simulate_position(PAPER_ROOM, t60, SOURCE, MICS16, FS, C, "fast",
                                      R.convention(name, FS))
        measured[name] = R.measure_t60(rirs, FS, 30)
        assert abs(measured[name] / t60 - 1) < 0.15, (name, measured[name])
    assert abs(measured["gpurir"] / measured["pyroomacoustics"] - 1) < 0.05, measured


def test_exact_mode_t60_at_015():
    for name in R.CONVENTIONS:
        rirs, _ = R.simulate_position(PAPER_ROOM, 0.15, SOURCE, MICS4, FS, C, "exact",
                                      R.convention(name, FS))
        assert abs(R.measure_t60(rirs, FS, 30) / 0.15 - 1) < 0.15


@pytest.mark.parametrize("t60", [0.15, 0.6])
def test_exact_mode_conventions_decay_alike(t60):
    measured = [R.measure_t60(R.simulate_position(PAPER_ROOM, t60, SOURCE, MICS4, FS, C,
                                                  "exact", R.convention(n, FS))[0], FS, 20)
                for n in R.CONVENTIONS]
    assert abs(measured[0] / measured[1] - 1) < 0.05, measured


def test_fast_direct_path_equals_exact_and_tail_is_deterministic():
    for name in R.CONVENTIONS:
        conv = R.convention(name, FS)
        r_fast, d_fast = R.simulate_position(PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "fast", conv)
        r_exact, d_exact = R.simulate_position(PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "exact",
                                               conv)
        np.testing.assert_array_equal(d_fast, d_exact)
        assert r_fast.shape == r_exact.shape
        again, _ = R.simulate_position(PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "fast", conv)
        np.testing.assert_array_equal(r_fast, again)
        if conv.highpass:  # zero-phase high-pass mixes the tail into the early samples
            continue
        # the early part (image sources) is shared by both modes
        n_early = int(0.3 * FS / 4) - 64
        np.testing.assert_allclose(r_fast[:, :n_early], r_exact[:, :n_early],
                                   atol=1e-3 * np.abs(r_exact).max())


def test_compute_rirs_counts_positions_and_round_trips(tmp_path):
    scene = SceneConfig.from_dict({"t60": 0.15, "array": {"kind": "line", "n_mics": 4}})
    pos = scene_positions(SceneConfig.from_dict({"sources": {"n_test": 3}}))["test"]
    before = R.RIR_COMPUTATIONS
    rs = R.compute_rirs(scene, pos)
    assert R.RIR_COMPUTATIONS - before == 3
    assert rs.rirs.shape == (3, 4, R.rir_length(0.15, FS, R.convention("pyroomacoustics", FS)))
    assert rs.rirs.dtype == np.float32 and rs.direct.dtype == np.float32
    rs.save(tmp_path / "r.npz")
    back = R.RIRSet.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.rirs, rs.rirs)
    np.testing.assert_array_equal(back.direct, rs.direct)
    assert (back.convention, back.mode, back.fs) == (rs.convention, rs.mode, rs.fs)


def _reference_dir() -> Path:
    env = os.environ.get("SSL_XAI_BENCH_REFERENCE")
    if env:
        return Path(env) / "samplecnn" if (Path(env) / "samplecnn").is_dir() else Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "samplecnn"


@pytest.mark.slow
def test_authors_weights_localise_under_gpurir_convention():
    """Issue 12: SampleCNN (0.15 s, 25 dB) on 40 test positions, gpurir vs pyroomacoustics."""
    path = _reference_dir() / "model_SNR_25_T60_0.15.pth"
    if not path.is_file():
        pytest.skip(f"reference weights not found at {path}")
    torch = pytest.importorskip("torch")
    from ssl_models.registry import build_model

    model = build_model("samplecnn", n_mics=16, window_length=5120)
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    model.eval()
    mae = {}
    for conv in R.CONVENTIONS:
        scene = SceneConfig.paper(t60=0.15, rir_convention=conv, max_windows_per_utterance=4)
        scene = SceneConfig.from_dict({**scene.to_dict(),
                                       "sources": {**scene.sources.to_dict(), "n_test": 40}})
        pos = scene_positions(scene)["test"]
        ws = render_windows(scene, R.compute_rirs(scene, pos), pos, snr_db=25.0, seed=3)
        with torch.no_grad():
            pred = model(torch.from_numpy(ws.windows)).numpy()
        mae[conv] = float(np.mean(np.abs(pred - ws.positions)))
    trivial = float(np.mean(np.abs(np.array([1.7, 5.5, 1.25]) - ws.positions)))
    print(f"per-coordinate MAE (m): gpurir {mae['gpurir']:.4f}, "
          f"pyroomacoustics {mae['pyroomacoustics']:.4f}, trivial centre {trivial:.4f}")
    assert mae["gpurir"] < 0.8 * trivial
    assert mae["gpurir"] < 0.8 * mae["pyroomacoustics"]
