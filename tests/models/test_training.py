"""Training: the recipe's mechanics, determinism on CPU, divergence, and learning an easy task."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ssl_xai_bench.models.baselines import TrivialPredictor
from ssl_xai_bench.models.checkpoint import load_checkpoint
from ssl_xai_bench.models.evaluation import compare_to_trivial, predict
from ssl_xai_bench.models.registry import build_model
from ssl_xai_bench.models.train_config import PAPER_LR, TrainConfig
from ssl_xai_bench.models.training import (
    TrainingDiverged,
    _batch_bounds,
    _SourceSampler,
    train_model,
)


def burst_task(n_sources: int, per_source: int, rng: np.random.Generator, t: int = 350):
    """Easy synthetic localisation: a 40-sample noise burst reaches mic 0 at sample 0 and mic k
    (k = 1..3) ``round(p_k * (t - 41))`` samples later; the 'position' p is uniform in [0, 1]^3."""
    pos = rng.uniform(0.0, 1.0, (n_sources, 3))
    n = n_sources * per_source
    x = 0.01 * rng.standard_normal((n, 4, t)).astype(np.float32)
    sid = np.repeat(np.arange(n_sources), per_source)
    onsets = np.concatenate([np.zeros((n_sources, 1)), np.round(pos * (t - 41))], 1).astype(int)
    for k in range(n):
        burst = rng.standard_normal(40)
        for c in range(4):
            o = onsets[sid[k], c]
            x[k, c, o : o + 40] += burst
    return x, pos[sid], sid


def random_split(n_sources: int, per_source: int, m: int, t: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_sources * per_source, m, t)).astype(np.float32)
    pos = np.repeat(rng.uniform([1.4, 5.2, 1.0], [2.0, 5.8, 1.5], (n_sources, 3)), per_source, 0)
    return x, pos, np.repeat(np.arange(n_sources) + 1000 * seed, per_source)


def test_paper_recipe_is_the_default():
    cfg = TrainConfig()
    assert (cfg.batch_size, cfg.max_epochs, cfg.patience) == (100, 1000, 200)
    assert (cfg.lr_patience, cfg.lr_factor, cfg.windows_per_source) == (100, 0.2, 1)
    assert cfg.val_windows_per_source == 1 and cfg.device == "auto"
    assert cfg.resolved_lr(build_model("loccnn")) == 1e-3 == PAPER_LR["loccnn"]
    assert cfg.resolved_lr(build_model("samplecnn")) == 1e-2 == PAPER_LR["samplecnn"]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.config_hash() == TrainConfig().config_hash() != TrainConfig(patience=5).config_hash()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"), ({"lr_factor": 1.5}, "lr_factor"),
     ({"windows_per_source": 0}, "windows_per_source"), ({"device": "tpu"}, "device"),
     ({"val_windows_per_source": -1}, "val_windows_per_source"),
     ({"data_placement": "disk"}, "data_placement"), ({"max_epochs": 2.5}, "max_epochs")],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        TrainConfig(**kwargs)
    with pytest.raises(ValueError, match="^bogus: unknown"):
        TrainConfig.from_dict({"bogus": 1})


def test_bad_data_names_the_split():
    model = build_model("loccnn", 2, 350)
    good = random_split(4, 2, 2, 350, 0)
    with pytest.raises(ValueError, match="val.windows"):
        train_model(model, good, random_split(4, 2, 3, 350, 1), TrainConfig(), 0, progress=False)
    bad_pos = (good[0], good[1][:, :2], good[2])
    with pytest.raises(ValueError, match="train.positions"):
        train_model(model, bad_pos, good, TrainConfig(), 0, progress=False)
    nan_pos = (good[0], np.where(good[1] > 5, np.nan, good[1]), good[2])
    with pytest.raises(ValueError, match="val.positions: contains NaN"):
        train_model(model, good, nan_pos, TrainConfig(), 0, progress=False)


def test_sampler_draws_distinct_windows_per_source():
    sid = np.array([5, 5, 5, 2, 2, 9, 5, 2, 7])
    sampler = _SourceSampler(sid)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        one = sampler.sample(rng, 1)
        assert sorted(sid[one].tolist()) == [2, 5, 7, 9]  # exactly one window per source
        seen.update(one.tolist())
        two = sampler.sample(rng, 2)
        assert len(set(two.tolist())) == len(two) == 6  # distinct, up to 2 per source
        assert sorted(np.unique(sid[two], return_counts=True)[1].tolist()) == [1, 1, 2, 2]
    assert seen == set(range(len(sid)))  # every window gets drawn
    assert sorted(sampler.sample(rng, 0).tolist()) == list(range(len(sid)))


def test_batches_never_end_with_a_single_window():
    assert _batch_bounds(201, 100) == [(0, 100), (100, 201)]
    assert _batch_bounds(200, 100) == [(0, 100), (100, 200)]
    assert _batch_bounds(7, 3) == [(0, 3), (3, 7)]


def test_same_seed_gives_identical_validation_losses_on_cpu():
    train, val = random_split(12, 2, 2, 729, 0), random_split(4, 2, 2, 729, 1)
    cfg = TrainConfig(batch_size=5, max_epochs=3, device="cpu")

    def run(seed):
        torch.manual_seed(123)  # same initial weights
        model = build_model("samplecnn", n_mics=2, window_length=729)
        return train_model(model, train, val, cfg, seed=seed, progress=False)

    state = torch.random.get_rng_state()
    a, b, c = run(7), run(7), run(8)
    assert len(a.history) == 3
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert [h["val_loss"] for h in a.history] != [h["val_loss"] for h in c.history]
    for name, tensor in a.model.state_dict().items():
        assert torch.equal(tensor, b.model.state_dict()[name]), name
    torch.manual_seed(123)
    torch.random.set_rng_state(state)


def test_training_restores_the_global_rng():
    train = random_split(6, 1, 2, 350, 0)
    model = build_model("loccnn", 2, 350)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_model(model, train, train, TrainConfig(max_epochs=1), 0, progress=False)
    assert torch.equal(torch.rand(3), expected)


class Frozen(nn.Module):
    """A model whose loss cannot change (lr ~ 0): for the plateau/early-stopping mechanics."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 5.0, 1.0]))

    def forward(self, x):
        return x.mean(dim=(1, 2))[:, None] * 0 + self.w


def test_plateau_lr_decay_early_stopping_and_best_epoch():
    data = random_split(6, 2, 2, 64, 0)
    cfg = TrainConfig(lr=1e-30, max_epochs=50, patience=5, lr_patience=1, lr_factor=0.2,
                      batch_size=4, val_windows_per_source=0)
    result = train_model(Frozen(), data, data, cfg, seed=0, progress=False)
    assert result.stopped_reason == "early_stopping"
    assert result.best_epoch == 1 and len(result.history) == 6
    lrs = [h["lr"] for h in result.history]
    # ReduceLROnPlateau(patience=1): the 2nd epoch without improvement (epoch 3) cuts the rate.
    assert lrs[:3] == [1e-30] * 3 and lrs[3] == pytest.approx(2e-31)
    assert lrs[5] == pytest.approx(4e-32)
    cfg = TrainConfig(lr=1e-30, max_epochs=3, patience=5, batch_size=4)
    assert train_model(Frozen(), data, data, cfg, 0, progress=False).stopped_reason == "max_epochs"


class BreaksAtEpoch(nn.Module):
    """Returns NaN from the n-th training forward pass on."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.calls, self.n = 0, n

    def forward(self, x):
        y = self.lin(x[:, :, :4].mean(dim=1))
        if self.training:
            self.calls += 1
            if self.calls >= self.n:
                return y * float("nan")
        return y


def test_divergence_raises_with_the_epoch_and_keeps_best_weights():
    data = random_split(8, 1, 2, 16, 0)
    cfg = TrainConfig(lr=1e-3, batch_size=4, max_epochs=10)  # 2 steps per epoch
    model = BreaksAtEpoch(n=5)  # 5th step = first step of epoch 3
    with pytest.raises(TrainingDiverged) as info:
        train_model(model, data, data, cfg, seed=0, progress=False)
    assert info.value.epoch == 3 and "train loss is nan" in info.value.reason
    assert len(info.value.history) == 2
    assert torch.isfinite(model.lin.weight).all()  # best (finite) weights restored
    train = random_split(4, 1, 2, 350, 0)
    nan_val = (np.full((4, 2, 350), np.nan, np.float32), train[1], train[2])
    with pytest.raises(TrainingDiverged) as info:
        train_model(build_model("loccnn", 2, 350), train, nan_val, cfg, seed=0, progress=False)
    assert info.value.epoch == 1 and "validation loss is nan" in info.value.reason


@pytest.mark.slow
def test_easy_task_beats_the_trivial_predictor_and_checkpoints(tmp_path):
    rng = np.random.default_rng(0)
    train, val = burst_task(200, 2, rng), burst_task(40, 2, rng)
    torch.manual_seed(0)
    model = build_model("loccnn", n_mics=4, window_length=350)  # paper quirks on
    cfg = TrainConfig(batch_size=10, max_epochs=20, patience=20, device="cpu")
    result = train_model(model, train, val, cfg, seed=0, progress=False,
                         checkpoint_path=tmp_path / "loccnn.pt")
    trivial = TrivialPredictor().fit(train[1]).predict(len(val[1]))
    trivial_mse = float(((trivial - val[1]) ** 2).mean())
    print(f"best val MSE {result.best_val_loss:.4f} (epoch {result.best_epoch}), "
          f"trivial {trivial_mse:.4f}")
    assert result.best_val_loss < 0.6 * trivial_mse, (result.best_val_loss, trivial_mse)
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)
    assert result.history[result.best_epoch - 1]["val_loss"] == result.best_val_loss
    verdict = compare_to_trivial(predict(model, val[0]), val[1], trivial)
    print(verdict)
    assert verdict["beats_trivial"] and verdict["skill"] > 0.2, verdict

    # The checkpoint holds the best weights and the metadata.
    other = build_model("loccnn", n_mics=4, window_length=350)
    meta = load_checkpoint(tmp_path / "loccnn.pt", other)
    assert meta["epoch"] == result.best_epoch and meta["best_val_loss"] == result.best_val_loss
    assert meta["config_hash"] == cfg.config_hash() and meta["seed"] == 0
    assert meta["stopped_reason"] == "max_epochs" and meta["arch"] == "loccnn"
    np.testing.assert_array_equal(predict(other, val[0]), predict(model, val[0]))


@pytest.mark.parametrize("arch", ["loccnn", "samplecnn"])
def test_init_output_bias_starts_at_the_mean_position(arch):
    train, val = random_split(6, 2, 2, 729, 0), random_split(3, 2, 2, 729, 1)
    torch.manual_seed(0)
    model = build_model(arch, n_mics=2, window_length=729)
    # one step at a vanishing learning rate: the bias is (almost exactly) where it started
    cfg = TrainConfig(batch_size=4, max_epochs=1, lr=1e-12, init_output_bias=True, device="cpu")
    result = train_model(model, train, val, cfg, seed=0, progress=False)
    layer = [m for m in result.model.modules() if isinstance(m, nn.Linear)][-1]
    np.testing.assert_allclose(layer.bias.detach().numpy(), train[1].mean(axis=0), atol=1e-6)
    # without it the output starts near zero, metres away from the room's source region
    torch.manual_seed(0)
    plain = build_model(arch, n_mics=2, window_length=729)
    assert np.all(np.abs(plain.eval()(torch.zeros(1, 2, 729)).detach().numpy()) < 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"lr_schedule": "cosine"}, "lr_schedule"), ({"warmup_fraction": 1.0}, "warmup_fraction"),
     ({"grad_clip_norm": 0.0}, "grad_clip_norm"), ({"precision": "fp16"}, "precision"),
     ({"zero_output_weights": 1}, "zero_output_weights"), ({"ema_decay": 1.0}, "ema_decay"),
     ({"keep": "median"}, "keep")],
)
def test_bad_recipe_option_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        TrainConfig(**kwargs)


def test_recipe_options_default_to_the_study():
    cfg = TrainConfig()
    assert (cfg.lr_schedule, cfg.precision, cfg.grad_clip_norm) == ("plateau", "fp32", None)
    assert (cfg.ema_decay, cfg.keep) == (None, "best")
    assert not cfg.zero_output_weights and not cfg.init_output_bias


def test_onecycle_warms_up_then_anneals_per_step():
    # 8 sources, batches of 4: 2 steps per epoch, 20 steps; warm-up over the first 6.
    data = random_split(8, 1, 2, 64, 0)
    cfg = TrainConfig(lr=1e-30, max_epochs=10, patience=100, batch_size=4,
                      lr_schedule="onecycle", warmup_fraction=0.3)
    lrs = [h["lr"] for h in train_model(Frozen(), data, data, cfg, 0, progress=False).history]
    # logged after each epoch's last step: steps 2, 4, 6 (the peak), 8, ...
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(1e-30)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:], strict=False))
    assert lrs[-1] < 0.02 * lrs[2]  # annealed towards OneCycleLR's final rate (lr / 2.5e5)


def test_bf16_onecycle_clipped_zero_init_run_is_repeatable_on_cpu():
    train, val = random_split(12, 2, 2, 729, 0), random_split(4, 2, 2, 729, 1)
    cfg = TrainConfig(batch_size=5, max_epochs=2, device="cpu", precision="bf16",
                      lr_schedule="onecycle", grad_clip_norm=1.0, init_output_bias=True,
                      zero_output_weights=True, ema_decay=0.9, keep="last")

    def run():
        torch.manual_seed(123)
        model = build_model("samplecnn", n_mics=2, window_length=729)
        return train_model(model, train, val, cfg, seed=3, progress=False)

    a, b = run(), run()
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert all(np.isfinite(h["train_loss"]) for h in a.history)
    assert a.best_epoch == 2 and a.best_val_loss == a.history[-1]["val_loss"]
    for name, tensor in a.model.state_dict().items():
        assert tensor.dtype != torch.bfloat16, name  # weights stay float32
        assert torch.equal(tensor, b.model.state_dict()[name]), name


def test_zero_output_weights_start_as_the_trivial_predictor():
    train = random_split(6, 1, 2, 350, 0)
    cfg = TrainConfig(lr=1e-30, max_epochs=1, batch_size=3, init_output_bias=True,
                      zero_output_weights=True)
    torch.manual_seed(0)
    model = build_model("loccnn", 2, 350)
    train_model(model, train, train, cfg, 0, progress=False)
    pred = predict(model, train[0])
    assert np.allclose(pred, np.asarray(train[1]).mean(axis=0), atol=1e-5)


def test_ema_weights_are_the_ones_validated_and_returned():
    """With ``ema_decay`` the returned weights are the average, not the last step's."""
    train = random_split(8, 1, 2, 350, 0)
    cfg = {"lr": 1e-3, "max_epochs": 2, "batch_size": 4, "keep": "last", "device": "cpu"}

    def run(**kw):
        torch.manual_seed(0)
        model = build_model("loccnn", 2, 350)
        start = {k: t.clone() for k, t in model.state_dict().items()}
        return start, train_model(model, train, train, TrainConfig(**cfg, **kw), 0, progress=False)

    start, plain = run()
    _, slow = run(ema_decay=0.999)  # the average starts at step 1 and barely moves after it
    w0, w_plain, w_slow = (d["conv1.weight"] for d in
                           (start, plain.model.state_dict(), slow.model.state_dict()))
    assert (w_slow - w0).abs().max() < 0.5 * (w_plain - w0).abs().max()
