"""Train on raw samples as if the inputs had unit RMS (``TrainConfig.input_gain``).

The study's models take raw samples. In the rendered scenes of the ``paper-lite`` preset a window
has an RMS of about 0.01, and with PyTorch's default initialisation (sized for inputs of unit
scale) a localizer's output then hardly depends on its input: across 64 training windows, the
output of a freshly built LocCNN varies by 3e-5 m on raw windows against 3.4e-3 m on the same
windows scaled to unit RMS (``docs/training.md``). A run from fresh weights starts as the mean
predictor and stays there until its first layer has grown, for a quarter to a third of a CPU
schedule. Scaling each window (``scene.input_scaling``) removes that, but changes the model's
input, which the authors' released weights (trained on raw samples) cannot take.

The same training, with the network still taking raw samples: let ``g = 1 / RMS`` of the training
windows (one constant over all of their samples). A network on inputs ``g * x`` computes
``W (g x) + b = (g W) x + b`` in its first layer, so its weights can be folded into that layer:

- ``init_input_gain``: the first layer's weights start multiplied by ``g`` (at the start of a run
  from fresh weights; for a warm start the weights already hold it);
- ``input_gain``: the first layer's weights learn at ``lr * g`` with Adam's epsilon divided by
  ``g``. The gradient of ``g W`` with inputs ``x`` is ``1 / g`` times the gradient of ``W`` with
  inputs ``g x``, and Adam's step ``lr m / (sqrt(v) + eps)`` is then ``1 / g`` times as large, in
  units of weights that are ``g`` times larger: so the run is the run on inputs ``g x``, step for
  step (up to float rounding; without ``grad_clip_norm``, whose global norm sees the first
  layer's gradient).

"The first layer" is the first convolution or linear layer the input meets (found by a forward
pass on one window), e.g. LocCNN's ``conv1`` and SampleCNN's stem convolution. Shapes: windows
``(N, M, T)`` float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

LAYER_TYPES = (nn.Conv1d, nn.Conv2d, nn.Linear)
ADAM_EPS = 1e-8
"""``torch.optim.Adam``'s default epsilon, the training loop's."""


def training_gain(windows: torch.Tensor, chunk: int = 256) -> float:
    """``1 / RMS`` over every sample of ``windows`` ``(N, M, T)`` (accumulated in float64, in
    chunks of ``chunk`` windows so that no copy of the whole set is made)."""
    total = torch.zeros((), dtype=torch.float64, device=windows.device)
    for start in range(0, windows.shape[0], chunk):
        total += windows[start:start + chunk].double().pow(2).sum()
    rms = float((total / windows.numel()).sqrt())
    if not rms > 0.0:
        raise ValueError("train.windows: all zero, no input gain (1 / RMS) exists")
    return 1.0 / rms


def input_layer(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """The first convolution or linear layer that ``example`` ``(1, M, T)`` meets in
    ``model``'s forward pass (evaluation mode; the model's mode is restored)."""
    called: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda module, *_: called.append(module))
             for m in model.modules() if isinstance(m, LAYER_TYPES)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    if not called:
        raise ValueError(f"model: {type(model).__name__} has no convolution or linear layer "
                         "for training.input_gain")
    return called[0]


@dataclass
class InputGain:
    """The gain ``g`` of one run and the layer it is folded into."""

    gain: float
    layer: nn.Module

    @classmethod
    def for_run(cls, model: nn.Module, windows: torch.Tensor, init: bool) -> InputGain:
        """Measure ``g`` on the training ``windows``, find the first layer (``model`` already on
        its training device) and, with ``init``, multiply its weights by ``g``."""
        device = next(model.parameters()).device
        layer = input_layer(model, windows[:1].to(device))
        out = cls(training_gain(windows), layer)
        if init:
            with torch.no_grad():
                layer.weight.mul_(out.gain)
        return out

    def param_groups(self, model: nn.Module, lr: float, eps: float = ADAM_EPS) -> list[dict]:
        """Adam's parameter groups: every parameter at ``lr`` and ``eps`` (group 0), the first
        layer's weight at ``lr * g`` and ``eps / g`` (group 1)."""
        weight = self.layer.weight
        rest = [p for p in model.parameters() if p is not weight]
        return [{"params": rest, "lr": lr, "eps": eps},
                {"params": [weight], "lr": lr * self.gain, "eps": eps / self.gain}]


__all__ = ["InputGain", "input_layer", "training_gain"]
