"""Checkpoints: weights + JSON metadata round trip, strict loading, refusal of pickled objects."""

from __future__ import annotations

import json

import pytest
import torch

from ssl_xai_bench.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_state_dict,
    metadata_path,
    save_checkpoint,
)
from ssl_xai_bench.models.registry import build_model

MARKER_RAN: list[str] = []


def _side_effect(path: str) -> str:
    """What a malicious pickle would run: record that it ran and write a file."""
    MARKER_RAN.append(path)
    with open(path, "w") as fh:
        fh.write("code ran")
    return "pwned"


class Malicious:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_side_effect, (self.marker,))


def test_round_trip_restores_weights_and_metadata(tmp_path):
    torch.manual_seed(0)
    model = build_model("samplecnn", n_mics=4, window_length=729)
    meta = {"config_hash": "abc123", "epoch": 7, "best_val_loss": 0.0123, "history": [1.5, 2.5]}
    path = save_checkpoint(tmp_path / "sub" / "model.pt", model, meta)
    assert path.is_file() and metadata_path(path).is_file()
    assert json.loads(metadata_path(path).read_text()) == meta

    torch.manual_seed(1)
    other = build_model("samplecnn", n_mics=4, window_length=729)
    assert not torch.equal(other.output_dense.weight, model.output_dense.weight)
    assert load_checkpoint(path, other) == meta
    for name, tensor in model.state_dict().items():
        assert torch.equal(other.state_dict()[name], tensor), name
    state = load_state_dict(path)
    assert set(state) == set(model.state_dict())


def test_mismatched_model_is_refused_with_key_names(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", build_model("samplecnn", 4, 729), {})
    with pytest.raises(CheckpointError, match="does not fit LocCNN"):
        load_checkpoint(path, build_model("loccnn", 4, 729))
    with pytest.raises(CheckpointError, match="size mismatch"):
        load_checkpoint(path, build_model("samplecnn", 8, 729))


def test_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "payload": Malicious(str(marker))}, path)
    MARKER_RAN.clear()
    with pytest.raises(CheckpointError, match="refused: the file holds pickled Python objects"):
        load_state_dict(path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path, build_model("loccnn", 2, 350))
    assert MARKER_RAN == [] and not marker.exists()


def test_non_state_dict_content_and_missing_files_are_refused(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError, match="expected a state_dict"):
        load_state_dict(path)
    path2 = tmp_path / "mixed.pt"
    torch.save({"a": torch.zeros(1), "b": 3}, path2)
    with pytest.raises(CheckpointError, match="not tensors: \\['b'\\]"):
        load_state_dict(path2)
    with pytest.raises(CheckpointError, match="not found"):
        load_state_dict(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        load_state_dict(garbage)


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(CheckpointError, match="metadata"):
        save_checkpoint(tmp_path / "m.pt", build_model("loccnn", 2, 350), {"x": object()})
    assert not (tmp_path / "m.pt").exists()
