"""Stage ``model``: a trained localizer (or external weights) and its test predictions.

A model entry is ``ARCH`` (trained here with its :class:`TrainConfig`) or ``ARCH@LABEL`` (a
state_dict given in the configuration's ``weights``, keyed by its content, not its path). A node
trains on the training and validation splits of its ``windows`` input, or of several
(``windows``, ``windows:1``, ...: a *mixture* of conditions, e.g. one model per array geometry),
starting from random weights or from another model node's (input ``model:init``: a warm start,
e.g. fine-tuning a mixture model on one condition; with no training it only evaluates them).
Artifact: ``model.pt`` (state_dict + JSON metadata: with ``seed`` the seed of the training attempt
kept and ``restarts`` the attempts abandoned by ``training.mean_escape_epochs``, each with its
history), ``history.json`` (one row per epoch of the attempt kept) and
``predictions.npz`` (``test`` ``(N_test, 3)`` metres, on the test split of ``windows``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.base import Writer
from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.models.checkpoint import load_checkpoint, save_checkpoint
from ssl_xai_bench.models.evaluation import predict
from ssl_xai_bench.models.registry import build_model
from ssl_xai_bench.models.train_config import TrainConfig
from ssl_xai_bench.models.training import train_model

STAGE = "model"


@dataclass(frozen=True)
class Config:
    """``training`` for a trained entry, ``weights_sha256`` and ``weights_path`` for external
    weights (the path is not part of the key: the same bytes anywhere are the same model)."""

    model: str
    seed: int
    training: TrainConfig | None = None
    weights_sha256: str | None = None
    weights_path: str | None = None
    mixture: bool = False
    warm_start: bool = False

    def key_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.model, "seed": self.seed}
        if self.weights_sha256 is not None:
            d["weights"] = {"sha256": self.weights_sha256}
        if self.training is not None:
            d["training"] = self.training.to_dict()
        if self.mixture or self.warm_start:
            d.update(mixture=self.mixture, warm_start=self.warm_start)
        return d

    @property
    def arch(self) -> str:
        return self.model.partition("@")[0]


def _split(upstream: dict, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(windows, positions, source_ids)`` of ``split`` over every windows input, in role order
    (source ids offset per input, so that sources of different conditions stay distinct)."""
    roles = sorted((r for r in upstream if r.split(":")[0] == "windows"),
                   key=lambda r: (r != "windows", r))
    parts = [windows_stage.load(upstream[r], split) for r in roles]
    offsets = np.cumsum([0] + [int(p.source_ids.max()) + 1 if len(p) else 0 for p in parts])
    if len(parts) == 1:
        p = parts[0]
        return p.windows, p.positions, p.source_ids
    return (np.concatenate([p.windows for p in parts]),
            np.concatenate([p.positions for p in parts]),
            np.concatenate([p.source_ids + o for p, o in zip(parts, offsets, strict=False)]))


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    test = windows_stage.load(upstream["windows"], "test")
    n_mics, length = test.windows.shape[1:]
    seed = derive_seed(config.seed, "train", config.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # weight initialisation is part of the seeded stage
        model = build_model(config.arch, n_mics=n_mics, window_length=length)
    history: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"model": config.model, "source": "trained"}
    if config.warm_start:
        load_checkpoint(upstream["model:init"].file("model.pt"), model)
        meta.update(source="warm start", init=upstream["model:init"].key)
    if config.weights_sha256 is not None:
        load_checkpoint(config.weights_path, model)
        meta.update(source="external",
                    weights={"sha256": config.weights_sha256, "path": config.weights_path})
    elif config.training is not None:
        result = train_model(
            model, _split(upstream, "train"), _split(upstream, "val"), config.training,
            seed=seed, progress=runtime.get("progress", False),
        )
        model, history = result.model, result.history
        meta.update(best_epoch=result.best_epoch, best_val_loss=result.best_val_loss,
                    stopped_reason=result.stopped_reason, epochs=len(history),
                    training=config.training.to_dict(), seed=result.seed,
                    restarts=result.restarts)
    model.cpu().eval()
    with torch.no_grad():
        pred = predict(model, test.windows)

    def write(folder: Path) -> dict[str, Any]:
        save_checkpoint(folder / "model.pt", model, meta)
        (folder / "history.json").write_text(json.dumps(history), "utf-8")
        np.savez(folder / "predictions.npz", test=pred)
        return meta

    return write


def load(art: Any, n_mics: int, window_length: int) -> nn.Module:
    """The localizer of a ``model`` artifact, in eval mode on the CPU."""
    model = build_model(art.meta["model"].partition("@")[0], n_mics=n_mics,
                        window_length=window_length)
    load_checkpoint(art.file("model.pt"), model)
    return model.eval()


def load_predictions(art: Any) -> np.ndarray:
    """The model's test predictions ``(N_test, 3)`` metres."""
    with np.load(art.file("predictions.npz")) as z:
        return z["test"]
