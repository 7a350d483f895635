"""Input gain: a network trained on raw samples with the gain folded into its first layer is the
network trained on inputs multiplied by the gain (Adam), and the first layer is found."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.models.input_gain import input_layer, training_gain
from ssl_xai_bench.models.registry import build_model
from ssl_xai_bench.models.train_config import TrainConfig
from ssl_xai_bench.models.training import train_model


class TinyConv(nn.Module):
    """``(B, 3, T) -> (B, 3)``: a convolution, ReLU, time average and a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 3)   # registered first, met last
        self.conv = nn.Conv1d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=2))


def quiet_task(n_sources: int, seed: int, scale: float = 0.01):
    """Windows of RMS ~``scale`` whose channel c carries coordinate c of the source."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([1.4, 5.2, 1.0], [2.0, 5.8, 1.5], (n_sources, 3))
    signal = (pos - [1.7, 5.5, 1.25])[:, :, None] + rng.standard_normal((n_sources, 3, 16))
    return (scale * signal).astype(np.float32), pos, np.arange(n_sources)


@pytest.mark.parametrize("schedule", ["onecycle", "plateau"])
def test_gain_in_the_first_layer_trains_as_on_scaled_inputs(schedule):
    train, val = quiet_task(24, 0), quiet_task(8, 1)
    g = training_gain(torch.from_numpy(train[0]))
    common = dict(lr=0.01, batch_size=6, max_epochs=4, lr_schedule=schedule, ema_decay=0.9,
                  init_output_bias=True)
    torch.manual_seed(0)
    folded = TinyConv()
    torch.manual_seed(0)
    scaled = TinyConv()
    raw = train_model(folded, train, val, TrainConfig(**common, input_gain=True,
                                                      init_input_gain=True), 0, progress=False)
    scale = lambda split: (g * split[0], *split[1:])  # noqa: E731
    ref = train_model(scaled, scale(train), scale(val), TrainConfig(**common), 0, progress=False)
    np.testing.assert_allclose([h["val_loss"] for h in raw.history],
                               [h["val_loss"] for h in ref.history], rtol=1e-5)
    torch.testing.assert_close(folded.conv.weight, g * scaled.conv.weight, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(folded.head.weight, scaled.head.weight, rtol=1e-4, atol=1e-6)
    # without the gain the same run on raw samples is another run
    plain = train_model(TinyConv(), train, val, TrainConfig(**common), 0, progress=False)
    assert plain.history[-1]["val_loss"] != pytest.approx(raw.history[-1]["val_loss"], rel=1e-2)


def test_training_gain_is_one_over_the_rms_of_every_sample():
    x = np.random.default_rng(0).standard_normal((10, 2, 50)).astype(np.float32) * 0.02
    expected = 1.0 / np.sqrt(np.mean(x.astype(np.float64) ** 2))
    assert training_gain(torch.from_numpy(x), chunk=3) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="all zero"):
        training_gain(torch.zeros(2, 2, 4))


def test_input_layer_is_the_first_layer_the_input_meets():
    tiny = TinyConv()
    assert input_layer(tiny, torch.zeros(1, 3, 8)) is tiny.conv
    loccnn = build_model("loccnn", n_mics=2, window_length=350)
    assert input_layer(loccnn, torch.zeros(1, 2, 350)) is loccnn.conv1
    samplecnn = build_model("samplecnn", n_mics=2, window_length=729).train()
    assert input_layer(samplecnn, torch.zeros(1, 2, 729)) is samplecnn.BasicBlock1.conv
    assert samplecnn.training  # its mode is restored


def test_init_input_gain_needs_input_gain():
    with pytest.raises(ConfigError) as info:
        TrainConfig(init_input_gain=True)
    assert info.value.field == "init_input_gain"
