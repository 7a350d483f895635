"""Every extension point's how-to: the document shows its example file verbatim (at most ~30
lines) and the example does what the document says. The method example is tested in
``tests/attributions/test_example_method.py``; the geometry example also runs end to end in
``tests/e2e/test_geometry.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_xai_bench.attributions import attribute
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.metrics import load_metrics_from, unregister_family
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_method
from ssl_xai_bench.metrics.spec import MethodCell
from ssl_xai_bench.models.registry import build_model, load_models_from, unregister_model
from ssl_xai_bench.models.train_config import TrainConfig
from ssl_xai_bench.models.training import train_model
from tests.metrics.conftest import make_scene

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HOWTOS = [("adding-a-method.md", "my_method.py", "python"),
          ("adding-a-metric.md", "my_metric.py", "python"),
          ("adding-a-model.md", "my_model.py", "python"),
          ("adding-a-geometry.md", "circle6.toml", "toml")]


@pytest.mark.parametrize(("doc", "example", "lang"), HOWTOS)
def test_each_howto_shows_its_example_verbatim(doc, example, lang):
    code = (EXAMPLES / example).read_text("utf-8")
    assert len(code.splitlines()) <= 30
    assert f"```{lang}\n{code}```" in (ROOT / "docs" / doc).read_text("utf-8")


@pytest.fixture
def metric_example():
    (family,) = load_metrics_from(EXAMPLES / "my_metric.py")
    yield family
    unregister_family(family.name)


def test_metric_example_scores_known_cases_and_joins_an_evaluation(metric_example):
    assert metric_example.source == f"file:{(EXAMPLES / 'my_metric.py').resolve()}"
    (spec,) = metric_example.metrics
    assert (spec.name, spec.direction, spec.margin, spec.headline.short) == (
        "mic_entropy", "up", 0.02, "Spread")
    even = np.ones((1, 4, 8))
    one_mic = np.zeros((1, 4, 8))
    one_mic[0, 2] = 1.0
    config = MetricsConfig()
    cell = MethodCell(data=None, config=config,
                      relevance=np.concatenate([even, one_mic, np.zeros((1, 4, 8))]))
    scores = metric_example.score(cell).values["mic_entropy"]
    np.testing.assert_allclose(scores[:2], [1.0, 0.0], atol=1e-12)
    assert np.isnan(scores[2])
    scene = make_scene(n_sources=3, windows_per_source=2, seed=1)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3)).eval()
    model(torch.zeros(1, *scene.windows.shape[1:]))
    base = {"quantus_metrics": [], "srp_phat": False, "n_bootstrap": 50,
            "tdoa_paper_pair": [0, 1]}
    relevance = np.repeat(scene.windows[:, :1], scene.windows.shape[1], axis=1)

    def row(**settings):
        result = evaluate_method(model, scene, relevance, method="copy", explain_fn=None,
                                 config=MetricsConfig.from_dict({**base, **settings}), seed=0)
        return next(r for r in result.rows if r["metric"] == "mic_entropy")

    got = row()
    assert got["category"] == "complexity" and got["n_windows"] == len(scene.windows)
    assert got["mean"] == pytest.approx(1.0)  # a map copied to every microphone is even
    assert row(mic_entropy_floor=1e12)["status"] == "undefined"  # its parameter is a key
    with pytest.raises(ConfigError, match="metrics.mic_entropy_floor"):
        MetricsConfig.from_dict({"mic_entropy_floor": "high"})


def test_model_example_registers_trains_and_is_explained():
    (spec,) = load_models_from(EXAMPLES / "my_model.py")
    try:
        model = build_model("tiny", n_mics=4, window_length=256)
        assert spec.source.startswith("file:") and model.arch_name == "tiny"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((24, 4, 256)).astype(np.float32)
        pos = rng.uniform([1, 4, 1], [2, 6, 1.5], (24, 3))
        ids = np.repeat(np.arange(12), 2)
        result = train_model(model, (x, pos, ids), (x[:8], pos[:8], ids[:8]),
                             TrainConfig(lr=1e-3, batch_size=8, max_epochs=2), seed=0,
                             progress=False)
        assert len(result.history) == 2
        target = torch.from_numpy(pos[:2]).float()
        for method in ("gradient", "lrp_epsilon_plus_flat"):
            rel = attribute(method, result.model, torch.from_numpy(x[:2]), target)
            assert rel.shape == (2, 4, 256) and torch.isfinite(rel).all()
        with pytest.raises(Exception, match="no LRP rules of its own"):
            attribute("lrp", result.model, torch.from_numpy(x[:2]), target)
    finally:
        unregister_model("tiny")


def test_geometry_example_is_a_six_mic_circle_no_preset_uses():
    cfg = load_config(None, EXAMPLES / "circle6.toml")
    ((name, scene),) = cfg.scenes()
    assert name == "circle6"
    mics = scene.mic_positions()
    assert mics.shape == (6, 3)
    np.testing.assert_allclose(np.linalg.norm(mics - [1.7, 7.0, 1.2], axis=1), 0.12)
    np.testing.assert_allclose(np.degrees(np.arctan2(mics[0, 1] - 7.0, mics[0, 0] - 1.7)), 15.0)
    assert all(g.radius != 0.12 for n, g in cfg.geometries.items() if n != "circle6")
