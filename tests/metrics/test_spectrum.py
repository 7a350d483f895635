"""The spectral view (ssl_xai_bench.metrics.spectrum): bands, fractions, the PHAT reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics import spectrum
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_method, evaluate_signals

from .conftest import make_scene


def test_band_edges():
    np.testing.assert_allclose(spectrum.band_edges(16000),
                               [0, 125, 250, 500, 1000, 2000, 4000, 8000])
    np.testing.assert_allclose(spectrum.band_edges(44100)[-3:], [8000, 16000, 22050])
    third = spectrum.band_edges(16000, "third_octave")
    assert third[1] == pytest.approx(125.0) and third[-1] == 8000 and len(third) == 1 + 1 + 18
    assert spectrum.band_label(125, 250) == "125-250 Hz"
    assert spectrum.band_label(4000, 8000) == "4-8 kHz"


def test_a_tone_lands_in_its_band_and_white_noise_follows_phat():
    fs, t = 16000, 2048
    edges = spectrum.band_edges(fs)
    tone = np.sin(2 * np.pi * 1500 * np.arange(t) / fs)[None, None, :].repeat(3, axis=1)
    fractions = spectrum.band_fractions(tone, fs, edges)
    assert fractions[0, 4] > 0.999  # 1-2 kHz
    noise = np.random.default_rng(0).standard_normal((200, 2, t))
    mean = spectrum.band_fractions(noise, fs, edges).mean(axis=0)
    np.testing.assert_allclose(mean, spectrum.phat_fractions(t, fs, edges), atol=0.01)
    np.testing.assert_allclose(spectrum.phat_fractions(t, fs, edges).sum(), 1.0)
    assert np.isnan(spectrum.band_fractions(np.zeros((1, 2, t)), fs, edges)).all()


def test_spectra_tables_of_signals_and_of_a_method():
    scene = make_scene(n_sources=3, windows_per_source=2, n_samples=512)
    config = MetricsConfig.from_dict({"quantus_metrics": [], "n_bootstrap": 50,
                                      "tdoa_paper_pair": [0, 1]})
    sig = evaluate_signals(scene, config, families=(spectrum.FAMILY,)).spectra
    assert list(sig.columns) == list(spectrum.SPECTRA_COLUMNS)
    assert set(sig["estimator"]) == {"microphones", "direct_path", "phat"}
    for _, rows in sig.groupby("estimator"):
        assert rows["power_fraction"].sum() == pytest.approx(1.0)
        assert (rows["ci_low"] <= rows["power_fraction"]).all()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 512, 3)).eval()
    res = evaluate_method(model, scene, scene.windows, method="copy", explain_fn=None,
                          config=config, seed=0, families=(spectrum.FAMILY,))
    mics = sig[sig["estimator"] == "microphones"]
    assert set(res.spectra["estimator"]) == {"copy"}
    np.testing.assert_allclose(res.spectra["power_fraction"], mics["power_fraction"])
    assert res.rows == []  # a table, no metric
    with pytest.raises(ConfigError, match="metrics.spectrum_bands"):
        MetricsConfig.from_dict({"spectrum_bands": "decade"})
