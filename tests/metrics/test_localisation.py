"""The localisation family on a hand-built scene: one reflection, known delays, known onsets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from ssl_xai_bench.acoustics import audio
from ssl_xai_bench.acoustics.masks import GroundTruthMasks, MaskConfig, source_masks
from ssl_xai_bench.attributions.target import ScalarModel
from ssl_xai_bench.metrics import localisation
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_method, evaluate_signals

from .conftest import FS, C, line_array, make_scene

T, N_MICS, PER_SOURCE = 512, 4, 2
RAW = ["mass", "rank", "auc", "pointing"]


def _source(rng: np.random.Generator):
    """Dry bursts (known onsets), direct path at known delays plus one reflection, weak noise."""
    dry = np.zeros(T * PER_SOURCE + 200)
    for start in range(40, len(dry) - 200, 300):
        dry[start:start + 100] = rng.standard_normal(100)
    delays = rng.integers(2, 30, N_MICS)
    h_direct = np.zeros((N_MICS, 120))
    h_direct[np.arange(N_MICS), delays] = 1.0
    h_full = h_direct.copy()
    h_full[np.arange(N_MICS), delays + rng.integers(30, 80, N_MICS)] = 0.6
    direct = audio.convolve_rirs(dry, h_direct)
    noisy = audio.convolve_rirs(dry, h_full) + 0.01 * rng.standard_normal(direct.shape)
    masks = source_masks(dry, h_direct, noisy, direct, FS, MaskConfig(frame_ms=1.0, onset_ms=4.0))
    return noisy, direct, masks


@pytest.fixture(scope="module")
def scene() -> SimpleNamespace:
    rng = np.random.default_rng(5)
    wins, dirs, direct_m, onset_m, ids = [], [], [], [], []
    for s in range(12):
        noisy, direct, masks = _source(rng)
        wins.append(audio.frame(noisy, T, T, PER_SOURCE))
        dirs.append(audio.frame(direct, T, T, PER_SOURCE))
        direct_m.append(audio.frame(masks.direct, T, T, PER_SOURCE))
        onset_m.append(audio.frame(masks.onset, T, T, PER_SOURCE))
        ids += [s] * PER_SOURCE
    n = len(ids)
    return SimpleNamespace(
        windows=np.concatenate(wins).astype(np.float32), direct=np.concatenate(dirs),
        positions=rng.uniform([1.0, 4.5, 1.0], [2.4, 6.5, 1.5], (n, 3)),
        source_ids=np.asarray(ids), corr_time=np.full(n, 6.0), mic_positions=line_array(N_MICS),
        fs=FS, speed_of_sound=C,
        masks=GroundTruthMasks(np.concatenate(direct_m), np.concatenate(onset_m)))


class Mean(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2))[:, None] * torch.ones(1, 3)


def _config() -> MetricsConfig:
    return MetricsConfig.from_dict({"quantus_metrics": [], "n_bootstrap": 200,
                                    "tdoa_paper_pair": [0, 1]})


def _rows(scene, relevance, method="m") -> pd.DataFrame:
    res = evaluate_method(Mean(), scene, relevance, method=method, explain_fn=None,
                          config=_config(), seed=0, families=(localisation.FAMILY,))
    return pd.DataFrame(res.rows).set_index("metric")


@pytest.fixture(scope="module")
def energy_rows(scene) -> pd.DataFrame:
    return _rows(scene, np.abs(scene.windows))


def test_the_masks_of_the_scene_are_not_trivial(scene):
    for name, (low, high) in {"direct": (0.05, 0.5), "onset": (0.05, 0.5),
                              "rest": (0.4, 0.9)}.items():
        fraction = scene.masks.as_dict()[name].mean()
        assert low < fraction < high, (name, fraction)


@pytest.mark.parametrize("mask", ["direct", "onset"])
def test_relevance_equal_to_a_mask_scores_one(scene, mask):
    rows = _rows(scene, scene.masks.as_dict()[mask].astype(np.float32))
    for metric in RAW:
        row = rows.loc[localisation.metric_name(metric, mask)]
        assert row["mean"] == pytest.approx(1.0) and row["n_nonfinite"] == 0, metric
        assert row["ci_low"] == pytest.approx(1.0)
    # and the reverberation mass of the direct-path mask's relevance is 0 (down is better)
    if mask == "direct":
        assert rows.loc["localisation_mass_rest", "mean"] == pytest.approx(0.0)


def test_random_relevance_scores_the_mask_fraction_within_its_ci(scene):
    rel = np.random.default_rng(1).standard_normal(scene.windows.shape).astype(np.float32)
    rows = _rows(scene, rel)
    for mask in ("direct", "onset"):
        truth = scene.masks.as_dict()[mask]
        chance = {"mass": truth.mean(axis=(1, 2)), "rank": truth.mean(axis=(1, 2)),
                  "pointing": truth.mean(axis=(1, 2)), "auc": np.full(len(truth), 0.5)}
        for metric, expected in chance.items():
            row = rows.loc[localisation.metric_name(metric, mask)]
            assert row["ci_low"] <= expected.mean() <= row["ci_high"], (mask, metric, row)
    # far below a relevance that knows the mask
    assert rows.loc["localisation_mass_direct", "mean"] < 0.5


def test_gain_over_energy_is_paired_and_zero_for_the_energy_control(scene, energy_rows):
    gains = energy_rows[energy_rows.index.str.endswith("_gain_vs_energy")]
    assert len(gains) == 6 and (gains["mean"] == 0).all()  # mass and auc, three masks
    oracle = _rows(scene, scene.masks.direct.astype(np.float32))
    assert oracle.loc["localisation_auc_direct_gain_vs_energy", "ci_low"] > 0
    assert oracle.loc["localisation_auc_rest_gain_vs_energy", "direction"] == "up"
    assert oracle.loc["localisation_auc_rest", "direction"] == "down"


def test_windows_without_components_are_marked_not_applicable():
    plain = make_scene(n_sources=2, windows_per_source=1, n_mics=4, n_samples=256)
    rows = _rows(plain, plain.windows)
    assert set(rows.index) == {s.name for s in localisation.FAMILY.metrics}
    assert (rows["status"] == "undefined").all() and (rows["n_windows"] == 0).all()
    assert (rows["reason"] == localisation.NOT_APPLICABLE).all()
    assert evaluate_signals(plain, _config(), families=(localisation.FAMILY,)).rows == []


def test_a_mask_empty_everywhere_leaves_its_metrics_undefined_with_the_reason(scene):
    empty = SimpleNamespace(**{**vars(scene), "masks": GroundTruthMasks(
        np.zeros_like(scene.masks.direct), scene.masks.onset)})
    rows = _rows(empty, np.abs(scene.windows))
    direct = rows[rows.index.str.contains("_direct")]
    assert len(direct) == 6 and (direct["status"] == "undefined").all()  # 4 raw, 2 gains
    assert (direct["reason"] == localisation.UNSCORABLE).all()
    assert (rows.loc["localisation_auc_onset", "n_windows"] > 0) and (
        rows.loc["localisation_auc_onset"].get("status", "ok") != "undefined")


def test_signal_rows_score_the_microphones_as_the_energy_control(scene, energy_rows):
    sig = pd.DataFrame(evaluate_signals(scene, _config(), families=(localisation.FAMILY,)).rows)
    mics = sig[sig["method"] == "microphones"].set_index("metric")["mean"]
    for name in mics.index:
        assert mics[name] == pytest.approx(energy_rows.loc[name, "mean"]), name
    assert set(sig["method"]) == {"microphones", "direct_path"}


def test_the_model_quantus_sees_is_the_windows_scalar_per_microphone_row(scene):
    x = torch.from_numpy(scene.windows[:3])
    scalar = ScalarModel(Mean(), torch.from_numpy(scene.positions[:3]).float())
    rows = localisation._PerMicrophone(scalar, N_MICS)(x.reshape(3 * N_MICS, 1, T))
    np.testing.assert_allclose(rows.reshape(3, N_MICS).detach().numpy(),
                               scalar(x).expand(3, N_MICS).detach().numpy(), rtol=1e-6)
