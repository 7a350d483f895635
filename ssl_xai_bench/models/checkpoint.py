"""Checkpoints of the localizers: weights as a plain state_dict, metadata as JSON beside it.

A checkpoint is two files: ``<path>`` holds the model's ``state_dict`` (``torch.save``; tensors
only, so it loads with ``torch.load(..., weights_only=True)``, the same format as the authors'
released SampleCNN files) and ``<path>.json`` holds the metadata (config hash, epoch, losses, ...).

Loading never unpickles arbitrary objects: ``weights_only=True`` refuses any global that is not a
tensor/primitive, and a file that does not hold a ``str -> Tensor`` mapping is refused too. Every
failure is a :class:`CheckpointError` naming the file and the reason.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded safely or does not fit the model."""


def metadata_path(path: str | os.PathLike[str]) -> Path:
    """The JSON metadata file beside checkpoint ``path`` (``<path>.json``)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(
    path: str | os.PathLike[str], model: nn.Module, metadata: Mapping[str, Any]
) -> Path:
    """Write ``model``'s weights to ``path`` and ``metadata`` to ``<path>.json``.

    Parameters
    ----------
    path : path-like
        Weights file (parent folders are created). Written atomically.
    model : nn.Module
        Its ``state_dict()`` is saved (moved to CPU, tensors only).
    metadata : mapping
        JSON-serialisable metadata (e.g. config hash, epoch, losses).

    Returns
    -------
    Path
        The weights file.
    """
    path = Path(path)
    try:
        meta_text = json.dumps(dict(metadata), sort_keys=True, indent=2, allow_nan=True)
    except TypeError as exc:
        raise CheckpointError(f"metadata: not JSON-serialisable ({exc})") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _atomic_write(path, lambda p: torch.save(state, p))
    _atomic_write(metadata_path(path), lambda p: p.write_text(meta_text + "\n"))
    return path


def load_state_dict(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Load a state_dict safely (``weights_only=True``); nothing but tensors is accepted.

    Parameters
    ----------
    path : path-like
        A file written by :func:`save_checkpoint` or any ``torch.save`` of a state_dict.
    map_location : str or torch.device
        Where to put the tensors.

    Raises
    ------
    CheckpointError
        Missing file, a file holding pickled Python objects (refused without running them), or
        content that is not a ``str -> Tensor`` mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if not _looks_like_torch_file(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither torch.save's zip "
                              "archive nor a pickle stream)")
    try:
        state = torch.load(path, weights_only=True, map_location=map_location)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: refused: the file holds pickled Python objects, not only tensors "
            f"(weights_only load failed: {first})"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - torch raises anything on a damaged archive
        raise CheckpointError(f"{path}: not a readable torch checkpoint "
                              f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"{path}: expected a state_dict (mapping str -> Tensor), got {type(state).__name__}"
        )
    bad = [k for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(
            f"{path}: expected a state_dict (mapping str -> Tensor); entries not tensors: {bad[:5]}"
        )
    return dict(state)


def _looks_like_torch_file(path: Path) -> bool:
    """``torch.save``'s zip archive (``PK``) or its legacy pickle stream (protocol byte 0x80)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load weights into ``model`` (strict) and return the metadata.

    Parameters
    ----------
    path : path-like
        Weights file; its metadata is read from ``<path>.json`` when present.
    model : nn.Module
        Receives the weights with ``strict=True``.
    map_location : str or torch.device
        Where to load the tensors before copying them into the model.

    Returns
    -------
    dict
        The metadata (empty when there is no JSON file, e.g. for the authors' weights).

    Raises
    ------
    CheckpointError
        As :func:`load_state_dict`, or when the keys or shapes do not match the model.
    """
    state = load_state_dict(path, map_location=map_location)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit {type(model).__name__}: {exc}") from exc
    meta_file = metadata_path(path)
    if not meta_file.is_file():
        return {}
    try:
        return json.loads(meta_file.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{meta_file}: metadata is not valid JSON ({exc})") from exc


__all__ = [
    "CheckpointError",
    "load_checkpoint",
    "load_state_dict",
    "metadata_path",
    "save_checkpoint",
]
