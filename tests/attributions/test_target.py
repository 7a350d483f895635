"""The explained scalar, the one-output wrapper and the conservation ratio."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.attributions import (
    ScalarModel,
    conservation_ratio,
    explained_scalar,
    output_weights,
)


def test_explained_scalar_known_values():
    output = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    target = torch.tensor([[2.0, 1.0, 0.5], [1.0, 1.0, 1.0]])
    assert torch.allclose(explained_scalar(output, target), torch.tensor([5.5, 1.5]))
    assert torch.allclose(explained_scalar(output, target, "x"), torch.tensor([2.0, 0.5]))
    assert torch.allclose(explained_scalar(output, target, "y"), torch.tensor([2.0, -1.0]))
    assert torch.allclose(explained_scalar(output, target, "z"), torch.tensor([1.5, 2.0]))


def test_output_weights_masks_one_coordinate():
    target = torch.tensor([[2.0, 3.0, 4.0]])
    assert torch.equal(output_weights(target, "y"), torch.tensor([[0.0, 3.0, 0.0]]))
    assert output_weights(target) is target


def test_bad_mode_and_shape_are_named():
    with pytest.raises(ValueError, match="target_mode"):
        explained_scalar(torch.zeros(1, 3), torch.zeros(1, 3), "w")
    with pytest.raises(ValueError, match="target"):
        explained_scalar(torch.zeros(2, 3), torch.zeros(1, 3))


def test_scalar_model_aligns_rows(model, inputs, target):
    wrapped = ScalarModel(model, target)
    out = wrapped(inputs)
    assert out.shape == (2, 1)
    with torch.no_grad():
        expected = (model(inputs) * target).sum(1)
    assert torch.allclose(out[:, 0], expected)
    # rows follow the batch: swapping inputs and targets together swaps the outputs
    wrapped.set_target(target.flip(0))
    assert torch.allclose(wrapped(inputs.flip(0))[:, 0], expected.flip(0))
    with pytest.raises(ValueError, match="target"):
        wrapped(inputs[:1].repeat(3, 1, 1))


def test_scalar_model_broadcasts_one_row(model, inputs, target):
    wrapped = ScalarModel(model, target[0], mode="y")
    with torch.no_grad():
        expected = model(inputs)[:, 1] * target[0, 1]
    assert torch.allclose(wrapped(inputs)[:, 0], expected)


def test_conservation_ratio_is_one_for_exact_decomposition():
    # bias-free linear model: x * grad sums exactly to the explained scalar
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 16, 3, bias=False))
    x = torch.randn(4, 2, 16)
    target = torch.rand(4, 3) + 0.5
    relevance = (model[1].weight.T @ target.T).T.reshape(4, 2, 16) * x
    ratio = conservation_ratio(relevance, model, x, target)
    assert ratio.shape == (4,)
    assert torch.allclose(ratio, torch.ones(4, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(conservation_ratio(2 * relevance, model, x, target),
                          2 * torch.ones(4, dtype=torch.float64), atol=1e-5)
