"""Provenance: the commit (dirty for uncommitted code, not for rewritten results) and the
scene settings the stages used."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ssl_xai_bench.acoustics.scene import SceneConfig
from ssl_xai_bench.harness.config import config_from_dict
from ssl_xai_bench.harness.graph import build_graph
from ssl_xai_bench.harness.presets import preset_dict
from ssl_xai_bench.harness.provenance import git_commit, make_provenance


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_commit_is_dirty_only_for_uncommitted_code(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    (tmp_path / "ssl_xai_bench").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "ssl_xai_bench" / "stage.py").write_text("x = 1\n")
    (tmp_path / "results" / "leaderboard.csv").write_text("a\n1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_commit(tmp_path) == head
    # a run rewrites the committed reference results: still the clean commit
    (tmp_path / "results" / "leaderboard.csv").write_text("a\n2\n")
    assert git_commit(tmp_path) == head
    (tmp_path / "ssl_xai_bench" / "stage.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == head + "-dirty"


def test_a_default_is_recorded_as_the_scenes_used_it():
    """A config without ``scene.rir_mode`` records the mode the RIR stage ran with."""
    d = preset_dict("smoke")
    del d["scene"]["rir_mode"]
    cfg = config_from_dict(d)
    graph = build_graph(cfg)
    rir_nodes = [node for node in graph.nodes if node.stage == "rirs"]
    used = {node.config.scene.rir_mode for node in rir_nodes}
    assert len(used) == 1
    provenance = make_provenance(cfg, "test")
    assert provenance["rir_mode"] == used.pop() == SceneConfig().rir_mode
    assert provenance["config"]["scene"]["rir_mode"] == provenance["rir_mode"]
    # and every other scene setting the stages receive is the one provenance records
    scene = rir_nodes[0].config.scene
    assert provenance["rir_convention"] == scene.rir_convention
    assert provenance["absorption"] == scene.absorption
