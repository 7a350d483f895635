"""Determinism and resource bounds (issue 10 "Determinism", "Resource bounds").

- the same configuration and seed, run again in a fresh store, give byte-identical artifacts
  (every file of every stage) and tables;
- another seed recomputes every seed-dependent stage (none is reused from the first seed's
  store) and changes the results;

The memory bound is the default preset's, measured by ``tests/benchmarks/test_end_to_end.py``
(benchmark suite).
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import digests, run_args, run_cli, summary, tables

pytestmark = pytest.mark.slow


def test_same_config_and_seed_give_identical_bytes(reference, tmp_path):
    done = run_cli(run_args(tmp_path), tmp_path)
    assert done.returncode == 0, done.output
    assert digests(tmp_path / "store") == reference.digests
    assert tables(tmp_path / "results") == reference.tables


def test_another_seed_changes_the_results(reference, store_copy, tmp_path):
    done = run_cli(run_args(tmp_path, "--seed", "1"), tmp_path)
    assert done.returncode == 0, done.output
    computed = summary(tmp_path / "results")["computed"]
    for stage in ("windows", "model", "controls", "attribution", "metrics", "signals", "baselines"):
        assert computed.get(stage, 0) >= 1, f"{stage} was reused across seeds"
    new = {k: v for k, v in digests(store_copy).items() if k not in reference.digests}
    for stage in ("windows", "model", "attribution"):
        old_files = [v for (s, _), v in reference.digests.items() if s == stage]
        new_files = [v for (s, _), v in new.items() if s == stage]
        assert new_files and all(n != o for n in new_files for o in old_files), stage
    got = tables(tmp_path / "results")
    assert got["leaderboard.csv"] != reference.tables["leaderboard.csv"]
    assert got["model_skill.csv"] != reference.tables["model_skill.csv"]
