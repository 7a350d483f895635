"""Small layers shared by the localizers.

``ExampleDropout`` reproduces the study's quirk exactly: ``nn.Dropout1d`` called on a 2-D
``(B, F)`` tensor treats it as one unbatched ``(C, L)`` signal with C = B, so in training it zeroes
whole examples (rows) and scales the others by ``1 / (1 - p)``. It is written out explicitly so the
behaviour does not depend on a PyTorch warning path, and it is the identity at eval time.
"""

from __future__ import annotations

import torch
from torch import nn


class ExampleDropout(nn.Module):
    """Zero whole examples of a ``(B, F)`` batch with probability ``p`` during training."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p: must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape[0], 1, device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
