"""Metrics and models from an installed package's entry points: a distribution written into a
temporary folder on ``sys.path`` (its ``dist-info`` with ``entry_points.txt``, found by
``importlib.metadata`` as any installed package is), registered on the first lookup; a broken
entry point only warns. The user-file path is tested with the how-to examples
(``tests/test_extension_points.py``, ``tests/harness/test_plugin_run.py``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ssl_xai_bench import codehash
from ssl_xai_bench.metrics import registry as metric_registry
from ssl_xai_bench.models import registry as model_registry

METRIC = '''
import numpy as np

from ssl_xai_bench.metrics import register_metric


@register_metric("ep_relevance_peak", category="complexity", direction="down", unit="ratio")
def relevance_peak(cell, *, ep_relevance_peak_power=1.0):
    a = np.abs(cell.relevance).reshape(len(cell.relevance), -1) ** ep_relevance_peak_power
    return a.max(axis=1) / a.sum(axis=1)
'''
MODEL = '''
from torch import nn

from ssl_xai_bench.models import register_model


@register_model("ep_linear", description="a linear map of the flattened window")
class EpLinear(nn.Module):
    def __init__(self, n_mics=16, window_length=5120, paper_quirks=True):
        super().__init__()
        self.head = nn.Linear(n_mics * window_length, 3)

    def forward(self, x):
        return self.head(x.flatten(1))
'''
ENTRY_POINTS = """[ssl_xai_bench.metrics]
peak = ep_metric_pkg
broken = ep_plugin_missing

[ssl_xai_bench.models]
linear = ep_model_pkg:EpLinear
"""


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A distribution ``ep-plugin`` on ``sys.path``, and registries that load entry points
    again (restored after)."""
    for name, text in (("ep_metric_pkg", METRIC), ("ep_model_pkg", MODEL)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(text)
    info = tmp_path / "ep_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    for reg in (metric_registry.REGISTRY, model_registry.REGISTRY):
        monkeypatch.setattr(reg, "loaded", False)
        monkeypatch.setattr(reg, "errors", {})
        monkeypatch.setattr(reg, "items", {})
    yield tmp_path
    for name in ("ep_metric_pkg", "ep_model_pkg"):
        sys.modules.pop(name, None)


def test_entry_points_register_metrics_and_models(installed):
    with pytest.warns(RuntimeWarning, match="broken"):
        families = metric_registry.families()
    assert [f.name for f in families[:-1]] == [f.name for f in metric_registry.catalogue.FAMILIES]
    family = families[-1]
    assert (family.name, family.source) == ("ep_relevance_peak", "entry_point:peak")
    module = installed / "ep_metric_pkg" / "__init__.py"
    assert family.source_hash == codehash.files_hash(codehash.closure(module, "ep_metric_pkg"))
    assert "broken" in metric_registry.REGISTRY.errors
    spec = model_registry.get_model_spec("ep_linear")  # an entry point naming the class
    assert spec.source == "entry_point:linear" and spec.source_hash != family.source_hash
    assert model_registry.model_names()[:2] == ("loccnn", "samplecnn")
    model = model_registry.build_model("ep_linear", n_mics=2, window_length=8)
    assert model_registry.spec_of(model) is spec
    cell = type("Cell", (), {"relevance": np.array([[[1.0, 3.0], [0.0, 0.0]]]),
                             "config": type("C", (), {"settings": {}})()})()
    assert family.score(cell).values["ep_relevance_peak"] == pytest.approx([0.75])
