"""The artifact store: atomic, verified, never trusts a corrupt artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssl_xai_bench.harness.store import MANIFEST, ArtifactStore, artifact_key


def _write_array(value: float):
    def write(folder: Path) -> dict:
        np.save(folder / "a.npy", np.full(1000, value))
        (folder / "b.json").write_text(json.dumps({"v": value}))
        return {"value": value}

    return write


def test_put_get_roundtrip(tmp_path):
    store = ArtifactStore(tmp_path)
    art = store.put("stage", "k1", _write_array(3.0))
    assert art.meta == {"value": 3.0}
    again = store.get("stage", "k1")
    assert again is not None and np.all(np.load(again.file("a.npy")) == 3.0)
    manifest = json.loads((again.path / MANIFEST).read_text())
    assert set(manifest["files"]) == {"a.npy", "b.json"}


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest"])
def test_corrupt_artifact_is_not_trusted(tmp_path, damage):
    store = ArtifactStore(tmp_path)
    art = store.put("stage", "k", _write_array(1.0))
    target = art.file("a.npy")
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-5] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "delete":
        target.unlink()
    else:
        (art.path / MANIFEST).write_text("{not json")
    assert store.get("stage", "k") is None
    assert not store.has("stage", "k")
    # recomputation replaces it with a verified copy
    assert store.put("stage", "k", _write_array(1.0)).meta == {"value": 1.0}


def test_failed_writer_leaves_nothing(tmp_path):
    store = ArtifactStore(tmp_path)

    def broken(folder: Path) -> dict:
        (folder / "partial.bin").write_bytes(b"x" * 10)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.put("stage", "k", broken)
    assert store.get("stage", "k") is None
    assert list((tmp_path / "stage").iterdir()) == []


def test_key_changes_with_every_component():
    base = artifact_key("s", {"a": 1}, ("x",), "src", "1.0")
    assert base == artifact_key("s", {"a": 1}, ("x",), "src", "1.0")
    others = [artifact_key("t", {"a": 1}, ("x",), "src", "1.0"),
              artifact_key("s", {"a": 2}, ("x",), "src", "1.0"),
              artifact_key("s", {"a": 1}, ("y",), "src", "1.0"),
              artifact_key("s", {"a": 1}, ("x",), "src2", "1.0"),
              artifact_key("s", {"a": 1}, ("x",), "src", "1.1")]
    assert len({base, *others}) == 6
    # canonical: key order in the config does not matter
    assert artifact_key("s", {"a": 1, "b": 2}) == artifact_key("s", {"b": 2, "a": 1})


def test_prune_and_entries(tmp_path):
    store = ArtifactStore(tmp_path)
    store.put("rirs", "a", _write_array(1.0))
    store.put("model", "b", _write_array(2.0))
    assert {(e["stage"], e["key"]) for e in store.entries()} == {("rirs", "a"), ("model", "b")}
    assert store.prune(stage="model") == 1
    assert [(e["stage"], e["key"]) for e in store.entries()] == [("rirs", "a")]
