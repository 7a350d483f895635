"""RIR stage: conventions against references, T60 (Sabine and calibrated absorption), fast vs
exact, counter, authors' weights."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyroomacoustics as pra
import pytest

from ssl_xai_bench.acoustics import absorption as A
from ssl_xai_bench.acoustics import fractional_delay, image_sources, rir
from ssl_xai_bench.acoustics import fractional_delay as FD
from ssl_xai_bench.acoustics.scene import SceneConfig, scene_positions
from ssl_xai_bench.acoustics.windows import render_windows
from ssl_xai_bench.errors import ConfigError

FS, C = 16000, 343.0
PAPER_ROOM = (3.6, 8.2, 2.4)
MICS4 = np.array([[1.25, 7.0, 1.2], [1.55, 7.0, 1.2], [1.85, 7.0, 1.2], [2.15, 7.0, 1.2]])
MICS16 = np.c_[1.7 + 0.15 * (np.arange(16) - 7.5), np.full(16, 7.0), np.full(16, 1.2)]
SOURCE = np.array([1.3, 5.1, 1.4])


def hann_sinc(n: np.ndarray, tau: float, width: float) -> np.ndarray:
    t = n - tau
    return np.where(
        np.abs(t) < width / 2, 0.5 * (1 + np.cos(2 * np.pi * t / width)), 0.0
    ) * np.sinc(t)


def test_pyroomacoustics_convention_equals_pyroomacoustics_compute_rir():
    e_abs, _ = pra.inverse_sabine(0.3, PAPER_ROOM)
    room = pra.ShoeBox(
        PAPER_ROOM, fs=FS, materials=pra.Material(e_abs), max_order=4, air_absorption=False
    )
    room.set_sound_speed(C)
    room.add_source(SOURCE)
    room.add_microphone_array(MICS4[:2].T)
    room.compute_rir()  # default: high-pass on, 81-tap fractional delay, 40-sample offset
    src = room.sources[0]
    conv = fractional_delay.convention("pyroomacoustics", FS)
    for m in range(2):
        ref = np.asarray(room.rir[m][0])
        mine = image_sources.pra_highpass(
            fractional_delay.render_images(
                src.images, src.orders, src.damping[0], MICS4[m], len(ref), conv, FS, C
            ),
            FS,
        )
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
    conv = fractional_delay.convention("gpurir", FS)
    rirs, direct = image_sources.simulate_position(room, t60, s, mic[None], FS, C, "exact", conv)
    h = rirs[0]
    assert len(h) == 9600  # ceil(T60 fs), even: gpuRIR's Tmax = T60
    # pyroomacoustics' images of order <= 1 are exactly the hand-made ones
    imgs, orders = image_sources.image_sources(room, s, mic, FS, 1.0)
    damping = image_sources.reflection_damping(orders, image_sources.sabine_absorption(room, t60))
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
    np.testing.assert_allclose(
        direct[0], hann_sinc(np.arange(direct.shape[1]), tau0, 128) * amp0, atol=1e-7
    )


def test_image_sources_and_damping_equal_pyroomacoustics():
    absorption = 0.37
    room = pra.ShoeBox(
        PAPER_ROOM, fs=FS, materials=pra.Material(absorption), max_order=5, air_absorption=False
    )
    room.add_source(SOURCE)
    room.add_microphone_array(MICS4.T)
    room.image_source_model()
    ref = room.sources[0]
    imgs, orders = image_sources.image_sources(PAPER_ROOM, SOURCE, MICS4.mean(axis=0), FS, 5.0)
    assert image_sources._max_order(np.array(PAPER_ROOM), 5.0) >= 5
    keep = orders <= 5
    mine = {tuple(np.round(i, 4)): o for i, o in zip(imgs[:, keep].T, orders[keep], strict=True)}
    theirs = {tuple(np.round(i, 4)): o for i, o in zip(ref.images.T, ref.orders, strict=True)}
    assert mine == theirs and len(mine) == ref.images.shape[1]
    np.testing.assert_allclose(
        image_sources.reflection_damping(ref.orders, absorption), ref.damping[0], rtol=1e-6
    )  # pyroomacoustics' product of wall coefficients
    np.testing.assert_allclose(
        image_sources.reflection_damping(np.array([0, 1, 2]), absorption),
        [1.0, math.sqrt(0.63), 0.63],
    )
    with pytest.raises(ValueError, match="absorption"):
        image_sources.reflection_damping(orders, 1.0)


@pytest.mark.parametrize("reach", [3.0, 40.0])
def test_lattice_images_equal_pyroomacoustics_images(reach):
    """The fast mode's numpy images are pyroomacoustics' (exact mode's), to float32 rounding."""
    mine, o_mine = image_sources.nearby_images(PAPER_ROOM, SOURCE, MICS16, FS, reach, "lattice")
    ref, o_ref = image_sources.nearby_images(
        PAPER_ROOM, SOURCE, MICS16, FS, reach, "pyroomacoustics"
    )
    assert mine.shape == ref.shape and mine.dtype == ref.dtype == np.float32
    i_mine, i_ref = np.lexsort(np.round(mine, 3)), np.lexsort(np.round(ref, 3))
    np.testing.assert_array_equal(o_mine[i_mine], o_ref[i_ref])
    np.testing.assert_allclose(mine[:, i_mine], ref[:, i_ref], atol=1e-5)
    np.testing.assert_array_equal(mine[:, o_mine == 0], ref[:, o_ref == 0])  # the direct path
    assert (image_sources.image_generator("exact"), image_sources.image_generator("fast")) == (
        "pyroomacoustics",
        "lattice",
    )


def test_incoherent_power_equals_a_brute_force_sum():
    images, orders = image_sources.nearby_images(PAPER_ROOM, SOURCE, MICS4, FS, 20.0, "lattice")
    damping = image_sources.reflection_damping(orders, 0.3)
    conv = fractional_delay.convention("gpurir", FS)
    start, stop = np.array([700, 720, 740, 760]), 900
    got = image_sources.incoherent_power(images, damping, MICS4, start, stop, conv, FS, C)
    for m, mic in enumerate(MICS4):
        d = np.linalg.norm(images.astype(np.float64).T - mic, axis=1)
        tau = d * FS / C
        sel = (tau >= start[m]) & (tau < stop)
        assert sel.sum() > 10
        expect = np.sum((damping[sel] / (4 * np.pi * d[sel])) ** 2) / (stop - start[m])
        np.testing.assert_allclose(got[m], expect, rtol=1e-12)


def test_render_paths_agree(monkeypatch):
    """Batched mics = one mic at a time; tap-by-tap = FFT path; chunking changes nothing."""
    rng = np.random.default_rng(1)
    images = rng.uniform(-6.0, 10.0, size=(3, 12)).astype(np.float32)
    orders = rng.integers(0, 5, size=12)
    damping = image_sources.reflection_damping(orders, 0.3)
    for name in fractional_delay.CONVENTIONS:
        conv = fractional_delay.convention(name, FS)
        batch = fractional_delay.render_images(images, orders, damping, MICS4, 900, conv, FS, C)
        assert batch.shape == (4, 900) and np.abs(batch).max() > 0
        scale = np.abs(batch).max()
        for m in range(4):  # K = 12 <= _SCATTER_MAX_IMAGES: tap by tap
            np.testing.assert_allclose(
                fractional_delay.render_images(images, orders, damping, MICS4[m], 900, conv, FS, C),
                batch[m],
                atol=1e-12,
            )
        monkeypatch.setattr(FD, "_SCATTER_MAX_IMAGES", 0)
        monkeypatch.setattr(FD, "_CHUNK_ELEMENTS", 20)  # one mic per chunk
        np.testing.assert_allclose(
            fractional_delay.render_images(images, orders, damping, MICS4, 900, conv, FS, C),
            batch,
            atol=1e-12 * scale,
        )
        monkeypatch.undo()
        # against the exact kernel, arrival by arrival (polynomial error ~2e-7 of the peak)
        dist = np.linalg.norm(images.T[None] - MICS4[:, None], axis=-1)
        ref = np.zeros_like(batch)
        for m in range(4):
            for k in range(12):
                tau = dist[m, k] * FS / C + conv.offset
                base = int(np.floor(tau))
                amp = (
                    damping[k]
                    * conv.gain
                    / dist[m, k]
                    * (-1.0 if conv.alternate_sign and orders[k] % 2 else 1.0)
                )
                taps = base + np.arange(conv.lo, conv.hi + 1)
                vals = amp * fractional_delay.kernel_taps(conv, np.array([tau - base]))[0]
                ok = (taps >= 0) & (taps < 900)
                ref[m, taps[ok]] += vals[ok]
        np.testing.assert_allclose(batch, ref, atol=1e-6 * scale)


def test_measure_t60_recovers_a_synthetic_exponential_decay():
    rng = np.random.default_rng(0)
    t = np.arange(int(1.2 * FS)) / FS
    h = rng.standard_normal(len(t)) * 10 ** (-3 * t / 0.5)  # 60 dB in 0.5 s (amplitude)
    assert abs(image_sources.measure_t60(h, FS, 30) - 0.5) < 0.02
    assert abs(image_sources.measure_t60(h, FS, 20) - 0.5) < 0.03


@pytest.mark.parametrize("t60", [0.15, 0.3, 0.4, 0.6])
def test_fast_mode_t60_and_convention_agreement(t60):
    measured = {}
    for name in fractional_delay.CONVENTIONS:
        rirs, _ = image_sources.simulate_position(
            PAPER_ROOM, t60, SOURCE, MICS16, FS, C, "fast", fractional_delay.convention(name, FS)
        )
        measured[name] = image_sources.measure_t60(rirs, FS, 30)
        assert abs(measured[name] / t60 - 1) < 0.15, (name, measured[name])
    assert abs(measured["gpurir"] / measured["pyroomacoustics"] - 1) < 0.05, measured


def test_exact_mode_t60_at_015():
    for name in fractional_delay.CONVENTIONS:
        rirs, _ = image_sources.simulate_position(
            PAPER_ROOM, 0.15, SOURCE, MICS4, FS, C, "exact", fractional_delay.convention(name, FS)
        )
        assert abs(image_sources.measure_t60(rirs, FS, 30) / 0.15 - 1) < 0.15


@pytest.mark.parametrize("t60", [0.15, 0.6])
def test_exact_mode_conventions_decay_alike(t60):
    measured = [
        image_sources.measure_t60(
            image_sources.simulate_position(
                PAPER_ROOM, t60, SOURCE, MICS4, FS, C, "exact", fractional_delay.convention(n, FS)
            )[0],
            FS,
            20,
        )
        for n in fractional_delay.CONVENTIONS
    ]
    assert abs(measured[0] / measured[1] - 1) < 0.05, measured


def _scene4(
    t60: float, mode: str, convention: str = "gpurir", absorption: str = "calibrated"
) -> SceneConfig:
    """The paper's room and source grid with 4 of its line array's spacing (cheap)."""
    return SceneConfig.from_dict(
        {
            "preset": "paper",
            "t60": t60,
            "rir_mode": mode,
            "rir_convention": convention,
            "absorption": absorption,
            "array": {"kind": "line", "n_mics": 4},
        }
    )


@pytest.mark.parametrize(
    "t60,convention",
    [
        (0.15, "gpurir"),
        (0.3, "gpurir"),
        (0.4, "gpurir"),
        (0.6, "gpurir"),
        (0.15, "pyroomacoustics"),
        pytest.param(0.6, "pyroomacoustics", marks=pytest.mark.slow),
    ],
)
def test_exact_mode_calibrated_absorption_reaches_the_target_t60(t60, convention):
    scene = _scene4(t60, "exact", convention)
    rs = rir.compute_rirs(scene, SOURCE[None])  # not the calibration position (grid centre)
    assert abs(image_sources.measure_t60(rs.rirs[0], FS, 30) / t60 - 1) < 0.15
    # the RIRs were made with the calibrated coefficient, which absorbs more than Sabine's
    a, tail = A.scene_decay(scene)
    assert a > image_sources.sabine_absorption(PAPER_ROOM, t60) and tail == t60
    again, _ = image_sources.simulate_position(
        PAPER_ROOM,
        t60,
        SOURCE,
        scene.mic_positions(),
        FS,
        C,
        "exact",
        fractional_delay.convention(convention, FS),
        a,
    )
    np.testing.assert_allclose(rs.rirs[0], again, atol=1e-7 * np.abs(again).max())


@pytest.mark.parametrize("t60", [0.3, 0.4])
def test_exact_mode_sabine_decays_longer_than_asked_in_the_paper_room(t60):
    """The paper's choice, documented in docs/acoustics.md (0.43 s for 0.3, 0.60 s for 0.4)."""
    rirs, _ = image_sources.simulate_position(
        PAPER_ROOM, t60, SOURCE, MICS4, FS, C, "exact", fractional_delay.convention("gpurir", FS)
    )
    assert image_sources.measure_t60(rirs, FS, 30) / t60 > 1.3


@pytest.mark.parametrize("t60", [0.15, 0.3, 0.4, 0.6])
def test_fast_mode_calibrated(t60):
    for convention in fractional_delay.CONVENTIONS:
        fast = _scene4(t60, "fast", convention)
        rs = rir.compute_rirs(fast, SOURCE[None])
        assert abs(image_sources.measure_t60(rs.rirs[0], FS, 30) / t60 - 1) < 0.15, convention
        a, tail = A.scene_decay(fast)
        # the image-source part is the calibrated exact mode's early part
        exact_a, _ = A.scene_decay(_scene4(t60, "exact", convention))
        assert a == exact_a
        # at the calibration position the measured T60 is the target (root-find tolerance)
        source, mics = A.calibration_geometry(fast)
        at, _ = image_sources.simulate_position(
            PAPER_ROOM,
            t60,
            source,
            mics,
            FS,
            C,
            "fast",
            fractional_delay.convention(convention, FS),
            a,
            tail,
        )
        assert abs(A.measured_t60(at, FS) / t60 - 1) < A.CALIBRATION_TOLERANCE * 1.01


def test_calibration_is_deterministic_cached_and_direct_path_independent():
    scene = _scene4(0.3, "fast")
    A.calibrated_absorption.cache_clear()
    A.calibrated_tail_t60.cache_clear()
    first = A.scene_decay(scene)
    assert A.calibrated_absorption.cache_info().misses == 1
    assert A.calibrated_tail_t60.cache_info().misses == 1
    assert A.scene_decay(scene) == first
    assert A.calibrated_tail_t60.cache_info().hits == 1
    A.calibrated_absorption.cache_clear()
    A.calibrated_tail_t60.cache_clear()
    assert A.scene_decay(scene) == first  # recomputed bit for bit
    # the direct path depends on neither the walls nor the mode
    exact = _scene4(0.3, "exact")
    d_fast = rir.compute_rirs(scene, SOURCE[None]).direct
    d_exact = rir.compute_rirs(exact, SOURCE[None]).direct
    np.testing.assert_array_equal(d_fast, d_exact)
    sabine = _scene4(0.3, "fast", absorption="sabine")
    assert A.scene_decay(sabine) == (image_sources.sabine_absorption(PAPER_ROOM, 0.3), 0.3)
    np.testing.assert_array_equal(rir.compute_rirs(sabine, SOURCE[None]).direct, d_fast)


def test_absorption_field_is_validated_and_part_of_the_key():
    paper = SceneConfig.paper(t60=0.3)
    assert paper.absorption == "sabine" and paper.to_dict()["absorption"] == "sabine"
    calibrated = SceneConfig.from_dict({**paper.to_dict(), "absorption": "calibrated"})
    assert calibrated.to_dict()["absorption"] == "calibrated"
    assert SceneConfig.from_dict(calibrated.to_dict()) == calibrated
    assert calibrated.to_dict() != paper.to_dict()
    with pytest.raises(ConfigError) as e:
        SceneConfig.from_dict({"absorption": "eyring"})
    assert e.value.field == "scene.absorption"
    assert "sabine" in e.value.message and "calibrated" in e.value.message
    bad = SceneConfig.paper(t60=0.3, absorption="eyring")
    with pytest.raises(ConfigError, match="scene.absorption"):
        rir.compute_rirs(bad, SOURCE[None])
    with pytest.raises(ConfigError) as e:  # below what fully absorbing walls give: refused
        SceneConfig.from_dict({"t60": 0.05, "absorption": "calibrated"})
    assert e.value.field == "scene.t60"


def test_unreachable_calibration_is_refused_naming_t60(monkeypatch):
    def never(rirs, fs):  # a measurement that ignores the walls: no coefficient can work
        return 1.0

    monkeypatch.setattr(A, "measured_t60", never)
    A.calibrated_absorption.cache_clear()
    with pytest.raises(ConfigError) as e:
        A.scene_decay(_scene4(0.3, "fast"))
    assert e.value.field == "scene.t60" and "wall absorption" in e.value.message
    A.calibrated_absorption.cache_clear()


def test_fast_direct_path_equals_exact_and_tail_is_deterministic():
    for name in fractional_delay.CONVENTIONS:
        conv = fractional_delay.convention(name, FS)
        r_fast, d_fast = image_sources.simulate_position(
            PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "fast", conv
        )
        r_exact, d_exact = image_sources.simulate_position(
            PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "exact", conv
        )
        np.testing.assert_array_equal(d_fast, d_exact)
        assert r_fast.shape == r_exact.shape
        again, _ = image_sources.simulate_position(
            PAPER_ROOM, 0.3, SOURCE, MICS4, FS, C, "fast", conv
        )
        np.testing.assert_array_equal(r_fast, again)
        if conv.highpass:  # zero-phase high-pass mixes the tail into the early samples
            continue
        # the early part (image sources) is shared by both modes
        n_early = int(0.3 * FS / 4) - 64
        np.testing.assert_allclose(
            r_fast[:, :n_early], r_exact[:, :n_early], atol=1e-3 * np.abs(r_exact).max()
        )


def test_compute_rirs_counts_positions_and_round_trips(tmp_path):
    scene = SceneConfig.from_dict({"t60": 0.15, "array": {"kind": "line", "n_mics": 4}})
    pos = scene_positions(SceneConfig.from_dict({"sources": {"n_test": 3}}))["test"]
    before = rir.RIR_COMPUTATIONS
    rs = rir.compute_rirs(scene, pos)
    assert rir.RIR_COMPUTATIONS - before == 3
    assert rs.rirs.shape == (
        3,
        4,
        image_sources.rir_length(0.15, FS, fractional_delay.convention("pyroomacoustics", FS)),
    )
    assert rs.rirs.dtype == np.float32 and rs.direct.dtype == np.float32
    rs.save(tmp_path / "r.npz")
    back = rir.RIRSet.load(tmp_path / "r.npz")
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
    from ssl_xai_bench.models.registry import build_model

    model = build_model("samplecnn", n_mics=16, window_length=5120)
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    model.eval()
    mae = {}
    for conv in fractional_delay.CONVENTIONS:
        scene = SceneConfig.paper(t60=0.15, rir_convention=conv, max_windows_per_utterance=4)
        scene = SceneConfig.from_dict(
            {**scene.to_dict(), "sources": {**scene.sources.to_dict(), "n_test": 40}}
        )
        pos = scene_positions(scene)["test"]
        ws = render_windows(scene, rir.compute_rirs(scene, pos), pos, snr_db=25.0, seed=3)
        with torch.no_grad():
            pred = model(torch.from_numpy(ws.windows)).numpy()
        mae[conv] = float(np.mean(np.abs(pred - ws.positions)))
    trivial = float(np.mean(np.abs(np.array([1.7, 5.5, 1.25]) - ws.positions)))
    print(
        f"per-coordinate MAE (m): gpurir {mae['gpurir']:.4f}, "
        f"pyroomacoustics {mae['pyroomacoustics']:.4f}, trivial centre {trivial:.4f}"
    )
    assert mae["gpurir"] < 0.8 * trivial
    assert mae["gpurir"] < 0.8 * mae["pyroomacoustics"]
