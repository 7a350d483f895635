"""Merging results folders: two compatible runs become one leaderboard; incompatible runs and
conflicting cells are refused, naming the field."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import NOT_HASHED, config_from_dict
from ssl_xai_bench.harness.merge import merge_results
from ssl_xai_bench.hashing import stable_hash
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(smoke_run):
    """The smoke run (lrp, gradient) and a run of another method on the same store."""
    work, _ = smoke_run
    proc = run_cli("run", "--preset", "smoke", "--methods", "random", "--name", "other",
                   "--results-dir", str(work / "results"), "--store", str(work / "store"),
                   "--no-report", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / "results" / "smoke", work / "results" / "other"


def test_two_runs_merge_into_one_leaderboard(two_runs, tmp_path):
    a, b = two_runs
    prov = merge_results([a, b], tmp_path / "merged")
    def read(folder):  # a run whose every reason is empty reads them as floats (NaN)
        return pd.read_csv(folder / "leaderboard.csv", dtype={"reason": str})

    board, board_a, board_b = read(tmp_path / "merged"), read(a), read(b)
    assert set(board["method"]) == set(board_a["method"]) | set(board_b["method"])
    # the method-independent rows (microphones, constant) are in both runs, kept once
    key = ["model", "condition", "method", "metric"]
    assert not board.duplicated(key).any()
    assert len(board) == len(pd.concat([board_a, board_b]).drop_duplicates())
    # every row of each run is in the merge, unchanged
    for part in (board_a, board_b):
        merged = part.merge(board, on=list(part.columns), how="left", indicator=True)
        assert (merged["_merge"] == "both").all()
    assert prov["config"]["matrix"]["methods"] == ["lrp", "gradient", "random"]
    merged_cfg = config_from_dict(prov["config"])  # a valid configuration, matrix the union
    assert merged_cfg.matrix.methods == ("lrp", "gradient", "random")
    assert [m["folder"] for m in prov["merged_from"]] == [str(a), str(b)]
    skill = pd.read_csv(tmp_path / "merged" / "model_skill.csv")
    pd.testing.assert_frame_equal(skill, pd.read_csv(a / "model_skill.csv"))


def _with_config_change(src, dst, dotted, value):
    shutil.copytree(src, dst)
    prov = json.loads((dst / "provenance.json").read_text())
    node = prov["config"]
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value
    prov["config_hash"] = stable_hash({k: v for k, v in prov["config"].items()
                                       if k not in NOT_HASHED})
    (dst / "provenance.json").write_text(json.dumps(prov))
    return dst


def test_an_incompatible_pair_is_refused_naming_the_field(two_runs, tmp_path):
    a, b = two_runs
    other = _with_config_change(b, tmp_path / "b2", "training.max_epochs", 99)
    with pytest.raises(ConfigError) as info:
        merge_results([a, other], tmp_path / "merged")
    assert info.value.field == "training.max_epochs"
    assert not (tmp_path / "merged").exists(), "nothing is written for a refused merge"
    # the matrix may differ: another seed may not
    seeded = _with_config_change(b, tmp_path / "b3", "seed", 1)
    with pytest.raises(ConfigError) as info:
        merge_results([a, seeded], tmp_path / "merged")
    assert info.value.field == "seed"


def test_the_same_cell_with_other_numbers_is_refused(two_runs, tmp_path):
    a, _ = two_runs
    copy = tmp_path / "a2"
    shutil.copytree(a, copy)
    board = pd.read_csv(copy / "leaderboard.csv")
    board.loc[board.index[0], "mean"] += 1.0
    board.to_csv(copy / "leaderboard.csv", index=False)
    with pytest.raises(ConfigError) as info:
        merge_results([a, copy], tmp_path / "merged")
    assert info.value.field == "leaderboard.csv" and "differs" in str(info.value)
