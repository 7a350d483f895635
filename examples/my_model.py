"""A small localizer: two strided convolutions, global pooling, a linear head."""

import torch
from torch import nn

from ssl_xai_bench.models import register_model


@register_model("tiny", description="two strided convolutions and a linear head")
class TinyLocalizer(nn.Module):
    """``(B, M, T)`` raw samples -> ``(B, 3)`` metres."""

    def __init__(self, n_mics: int = 16, window_length: int = 5120, paper_quirks: bool = True):
        super().__init__()
        self.n_mics, self.window_length = n_mics, window_length
        self.conv1 = nn.Conv1d(n_mics, 32, 9, stride=4)
        self.conv2 = nn.Conv1d(32, 32, 9, stride=4)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.head(h.mean(dim=-1))
