"""Restart a training run that has not left the mean position (``TrainConfig.mean_escape_*``).

A localizer trained from fresh weights with ``init_output_bias`` starts as the trivial predictor
(the mean training position). On raw samples with a short CPU budget, a run can stay there for a
third of its schedule and then leave it too late to be annealed into a useful model (measured in
``docs/training.md``, "paper-lite's first condition"). The rule: after ``mean_escape_epochs``
epochs, a run whose best validation loss so far is not below ``mean_escape_ratio`` times the
validation loss of the mean predictor is abandoned, the model's weights are re-initialised with a
seed derived from the run's seed (``derive_seed(seed, "mean-escape")``), and the training starts
again from epoch 1 with the full schedule; at most ``mean_escape_restarts`` times, and the last
attempt is kept whatever it reaches. Every abandoned attempt is recorded in
:attr:`ssl_xai_bench.models.training.TrainResult.restarts` (its seed, epochs, best validation loss,
the mean predictor's, and its per-epoch history), so the checkpoint metadata says what happened.

Losses are MSE per coordinate in m^2 (as the training loop's); positions are metres, ``(N, 3)``.
The rule is for runs from fresh weights: a restart re-initialises the model, so it must be off
(``mean_escape_epochs = 0``) for warm-started fine-tuning, where the harness turns it off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.models.train_config import TrainConfig

# The result type of the training function (models.training.TrainResult), generic here so that
# this module does not import the one that imports it.
Result = TypeVar("Result")


def mean_predictor_loss(train_positions: torch.Tensor, val_positions: torch.Tensor,
                        val_weights: np.ndarray) -> float:
    """Validation MSE (per coordinate, m^2) of predicting the mean training position.

    Parameters
    ----------
    train_positions : Tensor, (N_train, 3)
        Training positions in metres (their mean is the prediction).
    val_positions : Tensor, (N_val, 3)
        Validation positions in metres.
    val_weights : ndarray, (N_val,)
        Weight of each validation window in the validation loss (its expected share of the
        windows validated per epoch).
    """
    mean = train_positions.double().mean(dim=0)
    sq = ((val_positions.double().cpu() - mean.cpu()) ** 2).mean(dim=1).numpy()
    w = np.asarray(val_weights, np.float64)
    return float((sq * w).sum() / w.sum())


def validation_weights(source_ids: np.ndarray, windows_per_source: int) -> np.ndarray:
    """Each validation window's expected weight when ``windows_per_source`` windows of each
    source are validated per epoch (0: all of them, weight 1)."""
    _, inverse, counts = np.unique(source_ids, return_inverse=True, return_counts=True)
    if windows_per_source == 0:
        return np.ones(len(source_ids))
    per_source = np.minimum(counts, windows_per_source)
    return (per_source / counts)[inverse]


def reinitialise(model: nn.Module, seed: int) -> None:
    """Fresh weights for ``model``: ``reset_parameters()`` of every submodule that has one
    (PyTorch's default initialisation, the one the localizers are built with; BatchNorm's
    running statistics too), drawn from ``seed``; torch's global RNG state is restored."""
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()


@dataclasses.dataclass
class MeanEscape:
    """The rule for one run: its configuration and the mean predictor's validation loss."""

    config: TrainConfig
    mean_val_loss: float

    @classmethod
    def for_run(cls, config: TrainConfig, train_positions: torch.Tensor,
                val_positions: torch.Tensor, val_source_ids: np.ndarray) -> MeanEscape | None:
        """The rule of ``config``, or None when it is off (``mean_escape_epochs = 0``)."""
        if config.mean_escape_epochs == 0:
            return None
        weights = validation_weights(val_source_ids, config.val_windows_per_source)
        return cls(config, mean_predictor_loss(train_positions, val_positions, weights))

    def stalled(self, history: list[dict[str, float]]) -> bool:
        """True at epoch ``mean_escape_epochs`` when no validation loss so far is below
        ``mean_escape_ratio`` x the mean predictor's."""
        if len(history) != self.config.mean_escape_epochs:
            return False
        best = min(h["val_loss"] for h in history)
        return best >= self.config.mean_escape_ratio * self.mean_val_loss

    def next_config(self) -> TrainConfig:
        """The configuration of the next attempt: one restart fewer (the rule off after the
        last)."""
        left = self.config.mean_escape_restarts - 1
        if left == 0:
            return dataclasses.replace(self.config, mean_escape_epochs=0)
        return dataclasses.replace(self.config, mean_escape_restarts=left)

    def restart(self, model: nn.Module, seed: int, history: list[dict[str, float]],
                fit: Callable[[TrainConfig, int], Result]) -> Result:
        """Abandon the attempt of ``seed`` (its ``history``), re-initialise ``model`` and train
        again with ``fit(config, new_seed)``; the result carries this configuration and the
        abandoned attempts in ``restarts``."""
        new_seed = derive_seed(seed, "mean-escape")
        reinitialise(model, new_seed)
        result = fit(self.next_config(), new_seed)
        abandoned: dict[str, Any] = {
            "seed": seed, "epochs": len(history),
            "best_val_loss": min(h["val_loss"] for h in history),
            "mean_val_loss": self.mean_val_loss, "history": history,
        }
        result.restarts = [abandoned, *result.restarts]
        result.config = self.config
        return result


__all__ = ["MeanEscape", "mean_predictor_loss", "reinitialise", "validation_weights"]
