"""The commit recorded in provenance: dirty for uncommitted code, not for rewritten results."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.collect import git_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_commit_is_dirty_only_for_uncommitted_code(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    (tmp_path / "bench").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "bench" / "stage.py").write_text("x = 1\n")
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
    (tmp_path / "bench" / "stage.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == head + "-dirty"
