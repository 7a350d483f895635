"""Training of the localizers with the study's recipe, and knobs to scale it down or up.

The recipe (``../shared/spec/PAPER.md``, read from the authors' scripts): MSE on positions in
metres; Adam with lr 1e-3 (LocCNN) or 1e-2 (SampleCNN); batch 100; every epoch draws one random
window per training source (validation the same); ``ReduceLROnPlateau(factor=0.2, patience=100)`` on
the validation loss; the weights of the best validation epoch are kept; training stops after 200
epochs without improvement or at 1000 epochs. :class:`TrainConfig` holds those numbers as defaults.

Data ``(windows (N, M, T) float32, positions (N, 3) metres, source_ids (N,))`` is preloaded once as
a float32 tensor; an epoch is a vector of indices drawn from a seeded ``numpy`` generator and
batches are gathered by ``index_select`` (no DataLoader, no worker processes). On a GPU the whole
set is put on the device when it fits, so a step costs what the bare forward + backward costs. Runs
are seeded and, on CPU, bit-for-bit repeatable; torch's global RNG state is restored afterwards.

Beyond the study's recipe (each a :class:`TrainConfig` field, off by default): a one-cycle
schedule stepped per batch, bfloat16 autocast of the forward pass, gradient clipping, an
exponential moving average of the weights (validated and kept instead of the raw weights),
keeping the last epoch instead of the best, an output layer that starts as the trivial
predictor (bias at the mean position, weights at zero), training on raw samples as on inputs of
unit RMS (:mod:`ssl_xai_bench.models.input_gain`), and a restart of a run that has not left
the mean position after a stated number of epochs (:mod:`ssl_xai_bench.models.mean_escape`).
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from torch.optim import swa_utils
from tqdm.auto import tqdm

from ssl_xai_bench.models.checkpoint import save_checkpoint
from ssl_xai_bench.models.device import native_bf16, resolve_device, resolve_precision
from ssl_xai_bench.models.input_gain import InputGain
from ssl_xai_bench.models.mean_escape import MeanEscape
from ssl_xai_bench.models.train_config import TrainConfig


class TrainingDiverged(RuntimeError):
    """The training or validation loss became NaN or infinite.

    Attributes
    ----------
    epoch : int
        The (1-based) epoch at which it happened.
    reason : str
        Which loss and its value.
    history : list of dict
        The epochs completed before it.
    """

    def __init__(self, epoch: int, reason: str, history: list[dict[str, float]]) -> None:
        self.epoch = epoch
        self.reason = reason
        self.history = history
        super().__init__(f"training diverged at epoch {epoch}: {reason}")


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`.

    ``model`` holds the weights of ``best_epoch``; ``history`` has one dict per epoch
    (``epoch``, ``train_loss``, ``val_loss``, ``lr``; losses are MSE in m^2); ``stopped_reason``
    is ``"early_stopping"`` or ``"max_epochs"``. ``seed`` is the seed of the attempt kept;
    ``restarts`` lists the attempts abandoned by the mean-escape rule (``seed``, ``epochs``,
    ``best_val_loss``, ``mean_val_loss``, ``history``), oldest first.
    """

    model: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    stopped_reason: str
    config: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    lr: float = float("nan")
    restarts: list[dict[str, Any]] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable checkpoint metadata (config and its hash, epochs, losses)."""
        best = self.history[self.best_epoch - 1] if self.best_epoch >= 1 else {}
        return {
            "arch": getattr(self.model, "arch_name", type(self.model).__name__),
            "n_mics": getattr(self.model, "n_mics", None),
            "window_length": getattr(self.model, "window_length", None),
            "train_config": self.config.to_dict(),
            "config_hash": self.config.config_hash(),
            "lr": self.lr,
            "seed": self.seed,
            "epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "train_loss": best.get("train_loss"),
            "epochs_run": len(self.history),
            "stopped_reason": self.stopped_reason,
            "history": self.history,
            "restarts": self.restarts,
            "torch_version": torch.__version__,
        }


class _SourceSampler:
    """Draws up to ``k`` distinct random windows per source, vectorised over sources."""

    def __init__(self, source_ids: np.ndarray) -> None:
        self.order = np.argsort(source_ids, kind="stable")
        sorted_ids = source_ids[self.order]
        _, self.starts, self.counts = np.unique(sorted_ids, return_index=True, return_counts=True)
        self.group = np.repeat(np.arange(len(self.starts)), self.counts)
        self.n_sources = len(self.starts)

    def sample(self, rng: np.random.Generator, k: int) -> np.ndarray:
        if k == 0:
            return self.order.copy()
        if k == 1:
            pick = self.starts + (rng.random(self.n_sources) * self.counts).astype(np.int64)
            return self.order[np.minimum(pick, self.starts + self.counts - 1)]
        perm = np.lexsort((rng.random(len(self.order)), self.group))
        rank = np.arange(len(perm)) - self.starts[self.group[perm]]
        return self.order[perm[rank < k]]


def _check_split(split: Any, name: str) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    try:
        windows, positions, source_ids = split
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected (windows, positions, source_ids)") from None
    if torch.is_tensor(windows):
        x = windows.detach().to(torch.float32)
    else:
        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
    if x.ndim != 3:
        raise ValueError(f"{name}.windows: expected shape (N, M, T), got {tuple(x.shape)}")
    pos = np.asarray(positions.cpu() if torch.is_tensor(positions) else positions, np.float32)
    if pos.shape != (x.shape[0], 3):
        raise ValueError(f"{name}.positions: expected shape ({x.shape[0]}, 3), got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{name}.positions: contains NaN or inf")
    sid = np.asarray(source_ids.cpu() if torch.is_tensor(source_ids) else source_ids)
    if sid.shape != (x.shape[0],):
        raise ValueError(f"{name}.source_ids: expected shape ({x.shape[0]},), got {sid.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name}: no windows")
    return x, torch.from_numpy(pos), sid


def _place(x: torch.Tensor, dev: torch.device, placement: str) -> torch.Tensor:
    if dev.type != "cuda" or placement == "host":
        return x.cpu() if placement == "host" or dev.type == "cpu" else x
    if placement == "auto":
        free, _ = torch.cuda.mem_get_info(dev)
        if x.numel() * x.element_size() > free // 2:
            return x.cpu().pin_memory()
    return x.to(dev)


def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _val_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, idx: np.ndarray, dev: torch.device,
    batch_size: int,
) -> float:
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=dev)
    index = torch.from_numpy(idx).to(x.device)
    with torch.no_grad():
        for s, e in _batch_bounds(len(idx), batch_size):
            xb = x.index_select(0, index[s:e]).to(dev, non_blocking=True)
            yb = y.index_select(0, index[s:e]).to(dev, non_blocking=True)
            total += functional.mse_loss(model(xb), yb, reduction="sum").double()
    return float(total.item()) / (3 * len(idx))


def _schedulers(optimizer: torch.optim.Optimizer, config: TrainConfig, lr: float | list[float],
                sampler: _SourceSampler) -> tuple[Any, Any]:
    """``(per-epoch plateau scheduler, per-step scheduler)``, one of them None."""
    if config.lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience
        ), None
    per_epoch = int(np.minimum(sampler.counts, config.windows_per_source).sum())
    steps = config.max_epochs * len(_batch_bounds(per_epoch, config.batch_size))
    return None, torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=steps, pct_start=config.warmup_fraction,
        anneal_strategy="cos", cycle_momentum=False,
    )


def output_layer(model: nn.Module) -> nn.Linear:
    """The last linear layer with 3 outputs (LocCNN ``fc2``, SampleCNN ``output_dense``)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == 3]
    if not layers:
        raise ValueError("model: no linear layer with 3 outputs to initialise")
    return layers[-1]


def train_model(
    model: nn.Module,
    train: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any],
    config: TrainConfig,
    seed: int,
    progress: bool = True,
    checkpoint_path: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train ``model`` with the study's recipe (as set in ``config``) and keep its best weights.

    Parameters
    ----------
    model : nn.Module
        A localizer ``(B, M, T) -> (B, 3)``, trained in place (moved to the chosen device).
    train, val : tuple
        ``(windows (N, M, T) float32 array or tensor, positions (N, 3) metres, source_ids (N,))``.
    config : TrainConfig
        Hyper-parameters (defaults = the paper's recipe).
    seed : int
        Seeds the window draws (numpy) and torch (dropout); torch's global RNG state is restored
        afterwards.
    progress : bool
        Show a tqdm bar with the train/val losses.
    checkpoint_path : path-like, optional
        When given, the best weights and :meth:`TrainResult.metadata` are saved there at the end.

    With ``config.mean_escape_epochs`` > 0, a run that has not left the mean position after that
    many epochs is restarted from fresh weights (:mod:`ssl_xai_bench.models.mean_escape`); the
    result then holds the attempt kept and lists the abandoned ones in ``restarts``.

    Returns
    -------
    TrainResult
        The model (best weights loaded), per-epoch history, best epoch and loss, stop reason.

    Raises
    ------
    TrainingDiverged
        A NaN/inf training or validation loss (the best weights so far are loaded first).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected TrainConfig, got {type(config).__name__}")
    x_tr, y_tr, sid_tr = _check_split(train, "train")
    x_va, y_va, sid_va = _check_split(val, "val")
    if x_va.shape[1:] != x_tr.shape[1:]:
        raise ValueError(
            f"val.windows: shape (M, T) = {tuple(x_va.shape[1:])} differs from train's "
            f"{tuple(x_tr.shape[1:])}"
        )
    lr = config.resolved_lr(model)
    dev = resolve_device(config.device)
    train_sampler, val_sampler = _SourceSampler(sid_tr), _SourceSampler(sid_va)
    if np.minimum(train_sampler.counts, config.windows_per_source).sum() < 2:
        raise ValueError("train: need at least 2 training windows per epoch (BatchNorm)")
    x_tr, x_va = _place(x_tr, dev, config.data_placement), _place(x_va, dev, config.data_placement)
    y_tr, y_va = y_tr.to(x_tr.device), y_va.to(x_va.device)
    escape = MeanEscape.for_run(config, y_tr, y_va, sid_va)

    model.to(dev)
    if config.init_output_bias:
        output_layer(model).bias.data.copy_(y_tr.mean(dim=0).to(dev))
    if config.zero_output_weights:
        output_layer(model).weight.data.zero_()
    gain = InputGain.for_run(model, x_tr, config.init_input_gain) if config.input_gain else None
    rng = np.random.default_rng(seed)
    fork_devices = []
    if dev.type == "cuda":
        fork_devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(
            model.parameters() if gain is None else gain.param_groups(model, lr), lr=lr)
        group_lrs = [group["lr"] for group in optimizer.param_groups]
        plateau, per_step = _schedulers(optimizer, config, group_lrs, train_sampler)
        bf16 = resolve_precision(config.precision, config.device) == "bf16"
        if bf16 and not native_bf16(dev):
            warnings.warn(f"precision: bf16 on {dev.type} without native bfloat16 is emulated "
                          "and much slower than fp32; 'auto' would use fp32",
                          RuntimeWarning, stacklevel=2)
        ema = None
        if config.ema_decay is not None:
            ema = swa_utils.AveragedModel(
                model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(config.ema_decay),
                use_buffers=True)
        kept = model if ema is None else ema.module  # the weights validated and returned
        history: list[dict[str, float]] = []
        best_val, best_epoch, best_state, since_best = math.inf, 0, None, 0
        stopped_reason = "max_epochs"
        arch = getattr(model, "arch_name", type(model).__name__)
        bar = tqdm(range(1, config.max_epochs + 1), desc=f"train {arch}", disable=not progress)
        try:
            for epoch in bar:
                model.train()
                idx = train_sampler.sample(rng, config.windows_per_source)
                idx = idx[rng.permutation(len(idx))]
                index = torch.from_numpy(idx).to(x_tr.device)
                total = torch.zeros((), device=dev)
                for s, e in _batch_bounds(len(idx), config.batch_size):
                    xb = x_tr.index_select(0, index[s:e]).to(dev, non_blocking=True)
                    yb = y_tr.index_select(0, index[s:e]).to(dev, non_blocking=True)
                    optimizer.zero_grad(set_to_none=True)
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                        out = model(xb)
                    loss = functional.mse_loss(out.float(), yb)
                    loss.backward()
                    if config.grad_clip_norm is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
                    optimizer.step()
                    if ema is not None:
                        ema.update_parameters(model)
                    if per_step is not None:
                        per_step.step()
                    total += loss.detach() * (e - s)
                train_loss = float(total.item()) / len(idx)
                val_idx = val_sampler.sample(rng, config.val_windows_per_source)
                val_loss = _val_loss(kept, x_va, y_va, val_idx, dev, config.eval_batch_size)
                lr_now = float(optimizer.param_groups[0]["lr"])
                for name, value in (("train", train_loss), ("validation", val_loss)):
                    if not math.isfinite(value):
                        if best_state is not None:
                            model.load_state_dict(best_state)
                        raise TrainingDiverged(epoch, f"{name} loss is {value}", history)
                history.append(
                    {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr_now}
                )
                if plateau is not None:
                    plateau.step(val_loss)
                if val_loss < best_val:
                    best_val, best_epoch, since_best = val_loss, epoch, 0
                    best_state = copy.deepcopy(kept.state_dict())
                else:
                    since_best += 1
                bar.set_postfix(train=f"{train_loss:.4g}", val=f"{val_loss:.4g}",
                                best=f"{best_val:.4g}@{best_epoch}", lr=f"{lr_now:.2g}")
                if escape is not None and escape.stalled(history):
                    stopped_reason = "at_mean"
                    break
                if since_best >= config.patience:
                    stopped_reason = "early_stopping"
                    break
        finally:
            bar.close()
    if escape is not None and stopped_reason == "at_mean":
        result = escape.restart(model, seed, history, lambda cfg, s: train_model(
            model, train, val, cfg, s, progress=progress))
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, model, result.metadata())
        return result
    assert best_state is not None  # at least one epoch ran and its loss was finite
    if config.keep == "last":
        best_state = copy.deepcopy(kept.state_dict())
        best_epoch, best_val = len(history), history[-1]["val_loss"]
    model.load_state_dict(best_state)
    model.eval()
    result = TrainResult(
        model=model, history=history, best_epoch=best_epoch, best_val_loss=best_val,
        stopped_reason=stopped_reason, config=config, seed=seed, lr=lr,
    )
    if checkpoint_path is not None:
        save_checkpoint(checkpoint_path, model, result.metadata())
    return result


__all__ = [
    "TrainResult",
    "TrainingDiverged",
    "train_model",
]
