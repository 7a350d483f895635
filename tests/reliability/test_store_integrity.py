"""The shared artifact store under concurrency and corruption (issue 10: "Two runs sharing one
store", "Corruption").

- Two runs of the same configuration started together on one empty store both finish; every
  artifact in it verifies, exists once, is byte-identical to the reference run's, and no
  temporary folder is left behind.
- A bit-flipped model checkpoint and a truncated windows file are caught by their SHA-256 on the
  next run, recomputed (and only they), and the recomputed bytes and tables equal the originals.
"""

from __future__ import annotations

import json

import pytest

from ssl_xai_bench.harness.store import MANIFEST
from tests.reliability.conftest import (
    CliProcess,
    digests,
    leftovers,
    run_args,
    run_cli,
    summary,
    tables,
)

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_two_runs_sharing_a_store_at_once(reference, tmp_path):
    store = tmp_path / "store"
    procs = [CliProcess(run_args(tmp_path / name, store=store), tmp_path / name)
             for name in ("a", "b")]
    try:
        done = [p.wait() for p in procs]
    finally:
        for p in procs:
            p.close()
    for name, d in zip("ab", done, strict=True):
        assert d.returncode == 0, d.output
        assert summary(tmp_path / name / "results")["failed"] == []
        assert tables(tmp_path / name / "results") == reference.tables, name
    assert digests(store) == reference.digests
    assert leftovers(store) == []


def _artifact(store, stage):
    (folder,) = [p for p in (store / stage).iterdir() if not p.name.startswith(".")]
    return folder


def test_corrupt_artifacts_are_detected_and_recomputed(reference, store_copy, tmp_path):
    model = _artifact(store_copy, "model") / "model.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit inside the weights
    model.write_bytes(bytes(data))
    windows = _artifact(store_copy, "windows") / "test.npz"
    windows.write_bytes(windows.read_bytes()[: windows.stat().st_size // 3])

    done = run_cli(run_args(tmp_path), tmp_path)
    assert done.returncode == 0, done.output
    # exactly the two damaged artifacts were recomputed; everything else came from the store
    assert summary(tmp_path / "results")["computed"] == {"model": 1, "windows": 1}
    assert digests(store_copy) == reference.digests
    assert json.loads((model.parent / MANIFEST).read_text())["files"]["model.pt"] == \
        reference.digests[("model", model.parent.name)]["model.pt"]
    assert tables(tmp_path / "results") == reference.tables
    assert leftovers(store_copy) == []
