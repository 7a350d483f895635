"""Control "attributions" that do not look at the model: ``random`` and ``energy``.

- ``energy``: ``|x|``, the study's control (Comanducci et al., EUSIPCO 2024, Experiment A: remove
  the largest-magnitude samples).
- ``random``: standard normal noise, seeded. The noise of a window depends only on ``seed`` and the
  window's sample values (a BLAKE2b digest of its bytes seeds a ``torch.Generator``), so it is the
  same whatever the batch split or the window's position in the batch, and identical across calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl_xai_bench.attributions.registry import register_method


def _check_seed(params: Mapping[str, Any], input_shape: tuple[int, ...] | None) -> None:
    seed = params["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: must be a non-negative int, got {seed!r}")


def _window_seed(seed: int, window: torch.Tensor) -> int:
    data = np.ascontiguousarray(window.detach().cpu().numpy())
    digest = hashlib.blake2b(data.tobytes(), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "little") & 0x7FFF_FFFF_FFFF_FFFF


@register_method(
    "random",
    family="control",
    defaults={"seed": 0},
    description="seeded standard-normal noise (control)",
    validator=_check_seed,
)
def random(
    model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, *, seed: int
) -> torch.Tensor:
    """Standard normal relevance, deterministic in ``(seed, window values)``."""
    out = torch.empty(inputs.shape, dtype=torch.float32)
    for i in range(inputs.shape[0]):
        generator = torch.Generator().manual_seed(_window_seed(seed, inputs[i]))
        out[i] = torch.randn(inputs.shape[1:], generator=generator)
    return out


@register_method("energy", family="control", description="|x|, the study's energy control")
def energy(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sample magnitude ``|x|``."""
    return inputs.abs()


__all__ = ["energy", "random"]
