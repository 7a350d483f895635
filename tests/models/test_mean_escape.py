"""The mean-escape rule: a run still at the mean position after N epochs is restarted from fresh
weights with a derived seed, at most K times, and the abandoned attempts are recorded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.models.checkpoint import load_checkpoint
from ssl_xai_bench.models.mean_escape import (
    mean_predictor_loss,
    reinitialise,
    validation_weights,
)
from ssl_xai_bench.models.train_config import TrainConfig
from ssl_xai_bench.models.training import train_model


class MeanHead(nn.Module):
    """A linear read-out of the time-averaged channels ``(B, 3, T) -> (B, 3)``."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.mean(dim=2))


def position_task(n_sources: int, per_source: int, seed: int):
    """Channel c of every window holds coordinate c of its source, centred and scaled (plus
    noise): learnable by :class:`MeanHead` in a few steps. Sources have uneven window counts
    (1..per_source)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, per_source + 1, n_sources)
    sid = np.repeat(np.arange(n_sources), counts)
    pos = rng.uniform([1.4, 5.2, 1.0], [2.0, 5.8, 1.5], (n_sources, 3))[sid]
    centred = 4.0 * (pos - [1.7, 5.5, 1.25])
    x = (centred[:, :, None] + 0.01 * rng.standard_normal((len(sid), 3, 8))).astype(np.float32)
    return x, pos, sid


def test_mean_predictor_loss_is_the_validation_loss_of_a_model_at_the_mean():
    train, val = position_task(12, 3, 0), position_task(7, 4, 1)
    # lr ~ 0 and an output layer started at the mean: the model is the mean predictor, and the
    # loop's validation loss (one random window per source) must equal the rule's reference.
    cfg = TrainConfig(lr=1e-30, batch_size=4, max_epochs=3, init_output_bias=True,
                      zero_output_weights=True)
    result = train_model(MeanHead(), train, val, cfg, seed=0, progress=False)
    weights = validation_weights(val[2], cfg.val_windows_per_source)
    reference = mean_predictor_loss(torch.from_numpy(train[1]), torch.from_numpy(val[1]), weights)
    brute = np.mean([((val[1][val[2] == s][0] - train[1].mean(0)) ** 2).mean()
                     for s in np.unique(val[2])])
    assert reference == pytest.approx(brute, rel=1e-9)
    for h in result.history:
        assert h["val_loss"] == pytest.approx(reference, rel=1e-5)
    assert validation_weights(val[2], 0).tolist() == [1.0] * len(val[2])


def test_a_run_at_the_mean_is_restarted_with_derived_seeds_and_recorded(tmp_path):
    train, val = position_task(12, 3, 0), position_task(7, 4, 1)
    cfg = TrainConfig(lr=1e-30, batch_size=4, max_epochs=5, init_output_bias=True,
                      zero_output_weights=True, mean_escape_epochs=2, mean_escape_restarts=2)
    model = MeanHead()
    torch.manual_seed(3)
    expected_rng = torch.rand(2)
    torch.manual_seed(3)
    result = train_model(model, train, val, cfg, seed=7, progress=False,
                         checkpoint_path=tmp_path / "m.pt")
    assert torch.equal(torch.rand(2), expected_rng)  # global RNG untouched by the restarts
    second = derive_seed(7, "mean-escape")
    assert [r["seed"] for r in result.restarts] == [7, second]
    assert result.seed == derive_seed(second, "mean-escape")
    assert [r["epochs"] for r in result.restarts] == [2, 2]
    assert all(len(r["history"]) == 2 for r in result.restarts)
    for r in result.restarts:
        assert r["best_val_loss"] == pytest.approx(r["mean_val_loss"], rel=1e-5)
    # the last attempt is kept whatever it reaches, with the full schedule
    assert len(result.history) == 5 and result.stopped_reason == "max_epochs"
    assert result.config == cfg
    meta = load_checkpoint(tmp_path / "m.pt", MeanHead())
    assert meta["config_hash"] == cfg.config_hash() and meta["seed"] == result.seed
    assert [r["seed"] for r in meta["restarts"]] == [7, second]


def test_a_run_that_leaves_the_mean_is_not_restarted():
    train, val = position_task(12, 3, 0), position_task(7, 4, 1)
    cfg = TrainConfig(lr=0.05, batch_size=4, max_epochs=4, init_output_bias=True,
                      zero_output_weights=True, mean_escape_epochs=2)
    result = train_model(MeanHead(), train, val, cfg, seed=7, progress=False)
    assert result.restarts == [] and result.seed == 7 and len(result.history) == 4
    mean_loss = mean_predictor_loss(torch.from_numpy(train[1]), torch.from_numpy(val[1]),
                                    validation_weights(val[2], 1))
    assert min(h["val_loss"] for h in result.history[:2]) < 0.5 * mean_loss  # it left the mean
    off = train_model(MeanHead(), train, val,
                      TrainConfig(lr=0.05, batch_size=4, max_epochs=4, init_output_bias=True,
                                  zero_output_weights=True),
                      seed=7, progress=False)
    assert [h["val_loss"] for h in off.history] == [h["val_loss"] for h in result.history]


def test_reinitialise_draws_fresh_weights_from_the_seed():
    model = MeanHead()
    nn.init.constant_(model.lin.weight, 0.5)
    reinitialise(model, 11)
    first = model.lin.weight.detach().clone()
    assert not torch.all(first == 0.5)
    reinitialise(model, 11)
    assert torch.equal(model.lin.weight, first)
    reinitialise(model, 12)
    assert not torch.equal(model.lin.weight, first)


@pytest.mark.parametrize("kwargs, field", [
    ({"mean_escape_epochs": -1}, "mean_escape_epochs"),
    ({"mean_escape_ratio": 0.0}, "mean_escape_ratio"),
    ({"mean_escape_ratio": 1.5}, "mean_escape_ratio"),
    ({"mean_escape_restarts": 0}, "mean_escape_restarts"),
])
def test_bad_mean_escape_option_names_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kwargs)
    assert info.value.field == field
