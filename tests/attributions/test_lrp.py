"""LRP properties: conservation, canonizer equivalence and removal, SE gate routing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from zennit.composites import LayerMapComposite
from zennit.rules import Epsilon, Pass
from zennit.types import Activation, Linear

from ssl_xai_bench.attributions import attribute, conservation_ratio
from ssl_xai_bench.attributions.methods.lrp import (
    lrp_relevance,
    model_canonizers,
    paper_composite,
)
from ssl_xai_bench.models.samplecnn.canonizers import se_gate_canonizer
from ssl_xai_bench.models.samplecnn.network import SampleCNN, SEBlock

from .conftest import LENGTH, N_MICS, make_model

LRP_METHODS = ("lrp", "lrp_epsilon_first", "lrp_zbox_first", "lrp_epsilon_plus_flat")


def _bias_free_relu_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv1d(4, 8, 5, padding=2, bias=False), torch.nn.ReLU(),
        torch.nn.Conv1d(8, 8, 3, padding=1, bias=False), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 32, 16, bias=False), torch.nn.ReLU(),
        torch.nn.Linear(16, 3, bias=False),
    ).eval()


def _epsilon_everywhere() -> LayerMapComposite:
    return LayerMapComposite([(Linear, Epsilon(epsilon=1e-6)), (Activation, Pass())])


def test_epsilon_rule_conserves_on_bias_free_relu_net():
    model = _bias_free_relu_net()
    x = torch.randn(3, 4, 32)
    target = torch.tensor([[1.0, 2.0, 0.5], [1.5, 5.0, 1.2], [0.3, 4.0, 2.0]])
    relevance = lrp_relevance(model, x, target, _epsilon_everywhere())
    with torch.no_grad():
        scalar = (model(x) * target).sum(1)
    torch.testing.assert_close(relevance.flatten(1).sum(1), scalar, rtol=1e-3, atol=1e-6)
    ratio = conservation_ratio(relevance, model, x, target)
    assert torch.allclose(ratio, torch.ones(3, dtype=torch.float64), atol=1e-3)
    # LRP-epsilon (epsilon -> 0) on a bias-free ReLU net equals gradient x input (up to the
    # epsilon's effect on pre-activations close to 0)
    xg = x.clone().requires_grad_(True)
    reference = torch.autograd.grad((model(xg) * target).sum(), xg)[0] * x
    atol = 1e-3 * reference.abs().max().item()
    torch.testing.assert_close(relevance, reference, rtol=1e-3, atol=atol)


def test_target_output_relevance_sums_to_target():
    # the authors' convention feeds w itself: relevance sums to sum(w), not <y_hat, w>
    model = _bias_free_relu_net()
    x = torch.randn(2, 4, 32)
    target = torch.tensor([[1.0, 2.0, 0.5], [1.5, 5.0, 1.2]])
    relevance = lrp_relevance(model, x, target, _epsilon_everywhere(), output_relevance="target")
    torch.testing.assert_close(relevance.flatten(1).sum(1), target.sum(1), rtol=1e-3, atol=1e-6)


def _zero_biases(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.zero_()
                module.bias.zero_()
            elif getattr(module, "bias", None) is not None:
                module.bias.zero_()
    return model


# input amplitudes that bring each random-init, bias-free model's activations to O(0.1-1):
# with smaller ones the rules' 1e-6 stabilizers absorb a visible share of the relevance
_CONSERVATION_SCALE = {"loccnn": 10.0, "samplecnn": 1000.0}


@pytest.mark.parametrize(
    ("name", "se_relevance"), [("loccnn", "gate"), ("samplecnn", "gate"), ("samplecnn", "signal")]
)
def test_paper_composite_conserves_without_biases(name, se_relevance, inputs, target):
    # every rule of the paper composites is conservative when no bias absorbs relevance
    # (WSquare, Gamma, Epsilon, Norm; BN merged with zero shift; SE gate either way)
    model = _zero_biases(make_model(name))
    x = _CONSERVATION_SCALE[name] * inputs
    relevance = attribute("lrp", model, x, target, se_relevance=se_relevance)
    ratio = conservation_ratio(relevance, model, x, target)
    assert torch.allclose(ratio, torch.ones(2, dtype=torch.float64), atol=1e-3), ratio


def test_se_relevance_variants_differ(inputs, target):
    model = make_model("samplecnn")
    gate = attribute("lrp", model, inputs, target, se_relevance="gate")
    signal = attribute("lrp", model, inputs, target, se_relevance="signal")
    assert not torch.allclose(gate, signal)


@pytest.mark.parametrize("se_relevance", ["gate", "signal"])
def test_se_gate_routing(se_relevance):
    block = SEBlock(4)
    x = torch.randn(2, 4, 10, requires_grad=True)
    gate = torch.rand(2, 4, 1, requires_grad=True)
    upstream = torch.randn(2, 4, 10)
    handles = se_gate_canonizer(se_relevance).apply(block)
    try:
        out = block.scale(x, gate)
        torch.testing.assert_close(out, x * gate)  # forward unchanged
        grad_x, grad_gate = torch.autograd.grad(out, (x, gate), grad_outputs=upstream)
    finally:
        for handle in handles:
            handle.remove()
    if se_relevance == "gate":
        assert torch.count_nonzero(grad_x) == 0, "no relevance may reach x through the product"
        torch.testing.assert_close(grad_gate, upstream.sum(-1, keepdim=True))
    else:
        assert torch.count_nonzero(grad_gate) == 0
        torch.testing.assert_close(grad_x, upstream)
    assert "scale" not in vars(block), "canonizer must restore the class method"


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_state(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert torch.equal(after[key], value), key


@pytest.mark.parametrize("se_relevance", ["gate", "signal"])
def test_samplecnn_canonizers_keep_forward_and_are_removed(se_relevance, inputs):
    model = make_model("samplecnn")
    before = _state(model)
    with torch.no_grad():
        reference = model(inputs)
    handles = []
    for canonizer in model_canonizers(model, se_relevance):
        handles += canonizer.apply(model)
    try:
        assert any(n.endswith("canonizer_sum") for n, _ in model.named_modules())
        assert torch.count_nonzero(model.bn1.running_mean) == 0  # BN really merged
        with torch.no_grad():
            canonized = model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    scale = reference.abs().max()
    assert (canonized - reference).abs().max() <= 1e-4 * scale
    _assert_same_state(model, before)
    assert not any(n.endswith("canonizer_sum") for n, _ in model.named_modules())
    with torch.no_grad():
        assert torch.equal(model(inputs), reference)


@pytest.mark.parametrize("method", LRP_METHODS)
def test_lrp_leaves_model_untouched(method, model, inputs, target):
    before = _state(model)
    with torch.no_grad():
        reference = model(inputs)
    attribute(method, model, inputs, target)
    _assert_same_state(model, before)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    with torch.no_grad():
        assert torch.equal(model(inputs), reference)


def test_zbox_bounds_matter(inputs, target):
    model = make_model("loccnn")
    per_window = attribute("lrp_zbox_first", model, inputs, target)
    fixed = attribute("lrp_zbox_first", model, inputs, target, zbox_bound=10.0)
    assert not torch.allclose(per_window, fixed)
    with pytest.raises(ValueError, match="zbox_bound"):
        attribute("lrp_zbox_first", model, inputs, target, zbox_bound=-1)


def test_paper_composite_rejects_other_models():
    with pytest.raises(ValueError, match="model"):
        paper_composite(_bias_free_relu_net())


def _reference_dir() -> Path:
    env = os.environ.get("SSL_XAI_BENCH_REFERENCE")
    if env:
        return Path(env) / "samplecnn"
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "samplecnn"


@pytest.mark.skipif(not _reference_dir().is_dir(), reason="authors' SampleCNN weights absent")
def test_authors_samplecnn_canonizers_keep_forward():
    # the released weights carry real BatchNorm statistics: the merge must be exact
    path = sorted(_reference_dir().glob("*.pth"))[0]
    model = SampleCNN(n_mics=16, window_length=5120)
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    model.eval()
    x = 0.05 * torch.randn(1, 16, 5120, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = model(x)
    handles = []
    for canonizer in model_canonizers(model):
        handles += canonizer.apply(model)
    try:
        with torch.no_grad():
            canonized = model(x)
    finally:
        for handle in handles:
            handle.remove()
    assert (canonized - reference).abs().max() <= 1e-4 * reference.abs().max()
    relevance = attribute("lrp", model, x, torch.tensor([[1.7, 5.5, 1.2]]))
    assert relevance.shape == x.shape and torch.isfinite(relevance).all()
    assert relevance.abs().sum() > 0


def test_shapes_used_here_match_conftest():
    assert (N_MICS, LENGTH) == (8, 1024)
