"""LocCNN: the end-to-end localizer of Vera-Diaz et al. (Sensors 2018) as used by the study.

Input ``(B, M, T)`` raw samples (paper: M = 16, T = 5120 at 16 kHz); output ``(B, 3)`` source
position in metres. Layer for layer as in ``../shared/spec/PAPER.md``: five 'same'-padded
convolutions with ReLU, max-pools after conv1 (7), conv3 (5) and conv4 (5), then two dense layers
with a dropout between them. In the paper configuration the flattened feature has 128 x 29 = 3712
values and the network 2,126,355 parameters.

The paper's dropout is ``nn.Dropout1d`` applied to the 2-D ``(B, 500)`` tensor, which PyTorch reads
as one unbatched ``(C, L)`` signal and so zeroes whole examples during training (identity at eval
time). ``paper_quirks=True`` (default) keeps that; ``False`` uses ordinary feature dropout.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_xai_bench.models.layers import ExampleDropout


class LocCNN(nn.Module):
    """LocCNN localizer.

    Parameters
    ----------
    n_mics : int
        Number of microphones M (input channels).
    window_length : int
        Samples per window T; the flattened feature size is derived from it.
    paper_quirks : bool
        Keep the study's ``Dropout1d``-on-2-D behaviour (drops whole examples in training).
    """

    arch_name = "loccnn"

    def __init__(self, n_mics: int = 16, window_length: int = 5120, paper_quirks: bool = True):
        super().__init__()
        if n_mics < 1:
            raise ValueError(f"n_mics: must be >= 1, got {n_mics}")
        self.n_mics = n_mics
        self.window_length = window_length
        self.conv1 = nn.Conv1d(n_mics, 96, 7, padding="same")
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool1d(7)
        self.conv2 = nn.Conv1d(96, 96, 7, padding="same")
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv1d(96, 128, 5, padding="same")
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool1d(5)
        self.conv4 = nn.Conv1d(128, 128, 5, padding="same")
        self.relu4 = nn.ReLU()
        self.pool4 = nn.MaxPool1d(5)
        self.conv5 = nn.Conv1d(128, 128, 3, padding="same")
        self.relu5 = nn.ReLU()
        self.flatten = nn.Flatten()
        length = ((window_length // 7) // 5) // 5
        if length < 1:
            raise ValueError(
                f"window_length: must be >= 175 samples for LocCNN, got {window_length}"
            )
        self.fc1 = nn.Linear(128 * length, 500)
        self.relu6 = nn.ReLU()
        self.dropout = ExampleDropout(0.5) if paper_quirks else nn.Dropout(0.5)
        self.fc2 = nn.Linear(500, 3)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Convolutional trunk: ``(B, M, T)`` -> ``(B, 128, T // 175)``."""
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        x = self.pool3(self.relu3(self.conv3(x)))
        x = self.pool4(self.relu4(self.conv4(x)))
        return self.relu5(self.conv5(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.features(x))
        x = self.dropout(self.relu6(self.fc1(x)))
        return self.fc2(x)


__all__ = ["LocCNN"]
