"""SampleCNN localizer: Sundar et al. (ICASSP 2020) with the ReSE-2 blocks of Lee et al.

Input ``(B, M, T)`` raw samples (paper: M = 16, T = 5120); output ``(B, 3)`` in metres. Layer names
match the authors' state_dicts (``BasicBlock1.conv.weight``, ``ReSE1.SEBlock.dense1.weight``,
``bn1.running_var``, ``output_dense.bias``, ...), so their released weights load with
``strict=True``. Paper configuration: 673,475 parameters; lengths 5120 -> 1706 -> 568 -> 189 -> 63
-> 21 -> 7 -> average pool 7.

Quirks of the study kept on purpose:
- the SE branch is added to its own input (``x + SE(x)`` where ``SE(x) = x * s``) rather than to
  the block's input, and SE has no channel reduction (``C -> C -> C``);
- the final dropout drops whole examples in training (see :mod:`ssl_xai_bench.models.layers`).
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_xai_bench.models.layers import ExampleDropout


class BasicBlock(nn.Module):
    """``conv(k3, same) -> BatchNorm -> ReLU``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 3, padding="same")
        self.bn = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class SEBlock(nn.Module):
    """Squeeze-and-excitation without reduction: ``x * sigmoid(W2 relu(W1 mean_L(x)))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool1d(1)
        self.dense1 = nn.Linear(channels, channels)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(channels, channels)
        self.sigmoid = nn.Sigmoid()

    def excitation(self, x: torch.Tensor) -> torch.Tensor:
        """Channel gate ``s`` of shape ``(B, C, 1)`` in (0, 1)."""
        s = self.squeeze(x).squeeze(-1)
        s = self.sigmoid(self.dense2(self.relu(self.dense1(s))))
        return s.unsqueeze(-1)

    def scale(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """The SE product ``x * s`` (a separate method so LRP canonizers can re-route it)."""
        return x * gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(x, self.excitation(x))


class ReSE2Block(nn.Module):
    """ReSE-2 block: ``x = BN(conv(dropout(BasicBlock(in)))); maxpool3(relu(x + SE(x)))``."""

    def __init__(self, in_channels: int, out_channels: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.BasicBlock = BasicBlock(in_channels, out_channels)
        self.dropout = nn.Dropout1d(dropout)
        self.conv1 = nn.Conv1d(out_channels, out_channels, 3, padding="same")
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.SEBlock = SEBlock(out_channels)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool1d(3)

    def residual(self, x: torch.Tensor, se: torch.Tensor) -> torch.Tensor:
        """The residual sum ``x + SE(x)`` (a method so LRP canonizers can make it visible)."""
        return x + se

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv1(self.dropout(self.BasicBlock(x))))
        return self.pool(self.relu(self.residual(x, self.SEBlock(x))))


class SampleCNN(nn.Module):
    """SampleCNN localizer.

    Parameters
    ----------
    n_mics : int
        Number of microphones M (input channels).
    window_length : int
        Samples per window T; the final average-pool size is derived from it (paper: 7).
    paper_quirks : bool
        Keep the study's example-dropping final dropout (see :mod:`ssl_xai_bench.models.layers`).
    """

    arch_name = "samplecnn"
    n_blocks = 5

    def __init__(self, n_mics: int = 16, window_length: int = 5120, paper_quirks: bool = True):
        super().__init__()
        if n_mics < 1:
            raise ValueError(f"n_mics: must be >= 1, got {n_mics}")
        self.n_mics = n_mics
        self.window_length = window_length
        length = window_length // 3
        self.BasicBlock1 = BasicBlock(n_mics, 64)
        self.pool1 = nn.MaxPool1d(3)
        in_channels = 64
        for i in range(1, self.n_blocks + 1):
            setattr(self, f"ReSE{i}", ReSE2Block(in_channels, 128))
            in_channels = 128
            length //= 3
        if length < 1:
            raise ValueError(
                f"window_length: must be >= {3 ** (self.n_blocks + 1)} samples for SampleCNN, "
                f"got {window_length}"
            )
        self.avgpool = nn.AvgPool1d(length)
        self.flatten = nn.Flatten()
        self.dense1 = nn.Linear(128, 256)
        self.bn1 = nn.BatchNorm1d(256)
        self.relu = nn.ReLU()
        self.dropout = ExampleDropout(0.5) if paper_quirks else nn.Dropout(0.5)
        self.output_dense = nn.Linear(256, 3)

    def blocks(self) -> list[ReSE2Block]:
        """The ReSE-2 blocks in order."""
        return [getattr(self, f"ReSE{i}") for i in range(1, self.n_blocks + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.BasicBlock1(x))
        for block in self.blocks():
            x = block(x)
        x = self.flatten(self.avgpool(x))
        x = self.dropout(self.relu(self.bn1(self.dense1(x))))
        return self.output_dense(x)


__all__ = ["BasicBlock", "ReSE2Block", "SEBlock", "SampleCNN"]
