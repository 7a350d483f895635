"""LocCNN and SampleCNN: the paper's parameter counts and other input shapes."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.models.loccnn.network import LocCNN
from ssl_xai_bench.models.registry import MODELS, build_model
from ssl_xai_bench.models.samplecnn.network import SampleCNN


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_parameter_counts():
    assert n_params(build_model("loccnn")) == 2_126_355
    assert n_params(build_model("samplecnn")) == 673_475


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(("n_mics", "window_length"), [(16, 5120), (8, 5120), (16, 2048)])
def test_models_run_on_other_shapes(name, n_mics, window_length):
    torch.manual_seed(0)
    model = build_model(name, n_mics=n_mics, window_length=window_length).eval()
    x = torch.randn(3, n_mics, window_length) * 0.05
    with torch.no_grad():
        y = model(x)
    assert y.shape == (3, 3)
    assert torch.isfinite(y).all()
    # Each window is localized independently in eval mode (no cross-talk through BatchNorm).
    with torch.no_grad():
        y1 = model(x[1:2])
    torch.testing.assert_close(y1, y[1:2], rtol=1e-4, atol=1e-5)


def test_first_layer_follows_mic_count():
    assert build_model("loccnn", n_mics=8).conv1.in_channels == 8
    assert build_model("samplecnn", n_mics=8).BasicBlock1.conv.in_channels == 8


def test_too_short_windows_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="window_length"):
        LocCNN(window_length=100)
    with pytest.raises(ValueError, match="window_length"):
        SampleCNN(window_length=500)
    with pytest.raises(ValueError, match="model"):
        build_model("resnet")


def test_paper_dropout_drops_whole_examples_in_training():
    torch.manual_seed(0)
    model = build_model("loccnn", n_mics=2, window_length=350).train()
    feats = torch.ones(64, 500)
    out = model.dropout(feats)
    rows_zero = (out == 0).all(dim=1)
    rows_scaled = (out == 2.0).all(dim=1)
    assert bool((rows_zero | rows_scaled).all())
    assert 0 < int(rows_zero.sum()) < 64
    assert torch.equal(model.eval().dropout(feats), feats)
