"""Captum baselines against references: autograd, completeness, a linear model's occlusion."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.attributions import attribute, explained_scalar


def _autograd_gradient(model, inputs, target):
    x = inputs.clone().requires_grad_(True)
    scalar = explained_scalar(model(x), target).sum()
    return torch.autograd.grad(scalar, x)[0]


def test_gradient_equals_autograd(model, inputs, target):
    reference = _autograd_gradient(model, inputs, target)
    torch.testing.assert_close(attribute("gradient", model, inputs, target), reference)


def test_gradient_x_input_equals_gradient_times_input(model, inputs, target):
    reference = _autograd_gradient(model, inputs, target) * inputs
    torch.testing.assert_close(attribute("gradient_x_input", model, inputs, target), reference)


def test_gradient_per_coordinate_mode(model, inputs, target):
    x = inputs.clone().requires_grad_(True)
    scalar = (model(x)[:, 2] * target[:, 2]).sum()
    reference = torch.autograd.grad(scalar, x)[0]
    got = attribute("gradient", model, inputs, target, target_mode="z")
    torch.testing.assert_close(got, reference)


def test_integrated_gradients_completeness(model, inputs, target):
    relevance = attribute("integrated_gradients", model, inputs, target, n_steps=64,
                          internal_batch_size=32)
    with torch.no_grad():
        delta = explained_scalar(model(inputs), target) - explained_scalar(
            model(torch.zeros_like(inputs)), target)
    total = relevance.flatten(1).sum(1)
    assert torch.all((total - delta).abs() <= 0.05 * delta.abs()), (total, delta)


class _Linear(torch.nn.Module):
    """Bias-free linear localizer: f(x) = <A x, w> is a sum of per-sample terms a_i x_i."""

    def __init__(self, n_mics: int, length: int) -> None:
        super().__init__()
        self.dense = torch.nn.Linear(n_mics * length, 3, bias=False)

    def forward(self, x):
        return self.dense(x.flatten(1))


def test_integrated_gradients_constant_baseline_on_linear_model():
    # f linear: IG = (x - c) * grad f exactly, for any number of steps
    torch.manual_seed(0)
    model = _Linear(2, 32)
    x, target = torch.randn(3, 2, 32), torch.rand(3, 3) + 0.5
    grad = (target @ model.dense.weight).reshape(3, 2, 32)
    got = attribute("integrated_gradients", model, x, target, baseline=0.25, n_steps=4)
    torch.testing.assert_close(got, (x - 0.25) * grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mode", ["all_mics", "per_mic"])
def test_occlusion_known_value_on_linear_model(mode):
    torch.manual_seed(0)
    n_mics, length, window = 3, 64, 16
    model = _Linear(n_mics, length)
    x = torch.randn(2, n_mics, length)
    target = torch.rand(2, 3) + 0.5
    contribution = (target @ model.dense.weight).reshape(2, n_mics, length) * x
    blocks = contribution.reshape(2, n_mics, length // window, window).sum(-1, keepdim=True)
    if mode == "all_mics":
        blocks = blocks.sum(1, keepdim=True)
    expected = blocks.expand(2, n_mics if mode == "per_mic" else 1, length // window, window)
    expected = expected.reshape(2, -1, length).expand(2, n_mics, length)
    got = attribute("occlusion", model, x, target, window=window, stride=window, mode=mode)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_occlusion_param_errors_before_compute(model, inputs, target):
    with pytest.raises(ValueError, match="window"):
        attribute("occlusion", model, inputs, target, window=4096)
    with pytest.raises(ValueError, match="stride"):
        attribute("occlusion", model, inputs, target, window=64, stride=128)
    with pytest.raises(ValueError, match="mode"):
        attribute("occlusion", model, inputs, target, mode="per_sample")
    with pytest.raises(ValueError, match="n_steps"):
        attribute("integrated_gradients", model, inputs, target, n_steps=0)
