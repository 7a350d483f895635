"""Commands that delete or overwrite need an explicit flag, and never touch a committed reference
(issue 33, cases 3, 4 and 11).

- ``cache prune`` needs ``--all`` or ``--stage STAGE``, refuses an unknown stage with the allowed
  list, and ``--dry-run`` removes nothing; ``cache list`` of a missing store creates nothing and
  shows each artifact's stage, what it is of, size and age (case 4);
- ``reproduce`` writes next to the results it reads, never ``docs/reproduction.md`` of the
  current directory, and overwrites a file git tracks only with ``--update-reference`` (case 3);
- a run writes to ``runs/<name>`` by default (ignored by git), and a results folder holding
  files git tracks is refused before any compute without ``--update-reference`` (case 11).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.stages import STAGE_MODULES
from ssl_xai_bench.harness.store import ArtifactStore
from tests.reliability.conftest import run_args
from tests.reliability.test_user_errors import assert_refused, cli
from tests.reproduce import reproduce_fixture

ROOT = Path(__file__).resolve().parents[2]


LABEL = "loccnn T60=0.3s SNR=20dB paper_line"


def _write(folder: Path) -> None:
    (folder / "x.bin").write_bytes(b"\0" * 2_000_000)


@pytest.fixture
def store(tmp_path) -> Path:
    """A store with two artifacts (model, rirs)."""
    root = tmp_path / "store"
    for stage, key in (("model", "k1"), ("rirs", "k2")):
        ArtifactStore(root).put(stage, key, _write)
    return root


def _keys(root: Path) -> set[tuple[str, str]]:
    return {(e["stage"], e["key"]) for e in ArtifactStore(root, create=False).entries()}


def test_prune_without_a_scope_deletes_nothing(capsys, store):
    status, _, err = cli(capsys, "cache", "prune", "--store", str(store))
    assert_refused(status, err, "cache prune", phrase="--all")
    assert _keys(store) == {("model", "k1"), ("rirs", "k2")}


def test_prune_of_an_unknown_stage_lists_the_stages(capsys, store):
    status, _, err = cli(capsys, "cache", "prune", "--store", str(store), "--stage", "nosuch")
    assert_refused(status, err, "--stage", phrase=", ".join(STAGE_MODULES))
    assert len(_keys(store)) == 2


def test_prune_dry_run_then_a_stage_then_all(capsys, store):
    status, out, _ = cli(capsys, "cache", "prune", "--store", str(store), "--stage", "model",
                         "--dry-run")
    assert status == 0 and "would remove model/k1" in out and "rirs" not in out
    assert len(_keys(store)) == 2
    status, out, _ = cli(capsys, "cache", "prune", "--store", str(store), "--stage", "model")
    assert status == 0 and "removed 1 artifact(s)" in out
    assert _keys(store) == {("rirs", "k2")}
    status, out, _ = cli(capsys, "cache", "prune", "--store", str(store), "--all")
    assert status == 0 and not _keys(store)


def test_cache_list_shows_stage_label_size_age_and_creates_nothing(capsys, tmp_path):
    store = tmp_path / "store"
    ArtifactStore(store).put("model", "k1", _write, label=LABEL)  # as a run stores a node
    status, out, _ = cli(capsys, "cache", "list", "--store", str(store))
    assert status == 0
    line = next(x for x in out.splitlines() if x.startswith("model"))
    assert line.endswith(LABEL) and "2.00 MB" in line
    assert line.split("MB")[1].split()[:2] in (["0", "s"], ["1", "s"], ["2", "s"])  # age
    missing = tmp_path / "nonexistent"
    status, _, err = cli(capsys, "cache", "list", "--store", str(missing))
    assert_refused(status, err, "--store", phrase="no artifact store")
    assert not missing.exists()


def _git_repo(root: Path, tracked: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in tracked.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for cmd in (["init", "-q"], ["add", "."],
                ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ref"]):
        subprocess.run(["git", *cmd], cwd=root, check=True, capture_output=True)
    return root


def test_reproduce_never_overwrites_the_committed_record(capsys, tmp_path, monkeypatch):
    repo = _git_repo(tmp_path / "repo", {"docs/reproduction.md": "the study record\n"})
    results = reproduce_fixture.build(repo / "runs" / "paper-lite")
    monkeypatch.chdir(repo)
    status, out, _ = cli(capsys, "reproduce", str(results))
    assert status == 0, out
    assert (repo / "docs/reproduction.md").read_text() == "the study record\n"
    assert "# " in (results / "reproduction.md").read_text()  # the default: beside the results
    status, _, err = cli(capsys, "reproduce", str(results), "--out", "docs/reproduction.md")
    assert_refused(status, err, "--out", phrase="--update-reference")
    assert (repo / "docs/reproduction.md").read_text() == "the study record\n"
    status, _, _ = cli(capsys, "reproduce", str(results), "--out", "docs/reproduction.md",
                       "--update-reference")
    assert status == 0 and (repo / "docs/reproduction.md").read_text() != "the study record\n"


def test_a_run_never_writes_into_a_tracked_results_folder(capsys, tmp_path):
    repo = _git_repo(tmp_path / "repo", {"results/smoke/leaderboard.csv": "reference\n"})
    status, _, err = cli(capsys, *run_args(tmp_path, "--results-dir", str(repo / "results")))
    assert_refused(status, err, "output.results_dir", tmp_path / "store", "--update-reference")
    assert (repo / "results/smoke/leaderboard.csv").read_text() == "reference\n"
    from ssl_xai_bench.harness.preflight import check_run_outputs

    cfg = load_config("smoke", overrides=[{"output": {"results_dir": str(repo / "results"),
                                                      "store_dir": str(tmp_path / "s")}}])
    check_run_outputs(cfg, update_reference=True)  # the explicit flag lets it through


def test_the_default_results_folder_is_ignored_by_git():
    cfg = load_config("default")
    assert cfg.output.results_dir == "runs"
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "-q", str(cfg.results_path())], cwd=ROOT,
                          capture_output=True)
    assert done.returncode == 0, f"{cfg.results_path()} is not ignored by .gitignore"
