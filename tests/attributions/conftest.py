"""Seeded tiny models and inputs for the attribution tests (8 mics x 1024 samples, CPU)."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.models.registry import build_model
from tests.torch_threads import one_torch_thread  # noqa: F401 (an autouse fixture)

N_MICS = 8
LENGTH = 1024
MODEL_NAMES = ("loccnn", "samplecnn")




def randomize_batchnorm(model: torch.nn.Module, seed: int = 1) -> None:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            n = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            module.weight.data.copy_(0.5 + torch.rand(n, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(n, generator=generator))


def make_model(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(name, n_mics=N_MICS, window_length=LENGTH)
    with torch.no_grad():
        randomize_batchnorm(model, seed + 1)
    return model.eval()


@pytest.fixture(params=MODEL_NAMES)
def model(request) -> torch.nn.Module:
    return make_model(request.param)


@pytest.fixture
def inputs() -> torch.Tensor:
    generator = torch.Generator().manual_seed(123)
    return 0.1 * torch.randn(2, N_MICS, LENGTH, generator=generator)


@pytest.fixture
def target() -> torch.Tensor:
    return torch.tensor([[1.7, 5.5, 1.2], [1.55, 5.3, 1.35]])
