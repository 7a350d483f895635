"""``ssl-xai-bench compare FRESH REFERENCE``: did a fresh run reproduce the reference? (issue 33,
case 11).

A rerun of the reference's configuration (from a copy of its store) reproduces it: exit 0 and a
line starting ``reproduced:``. A perturbed copy does not: exit 1, a line starting ``NOT
reproduced:`` with the counts, then each difference named (the metric row with both CIs, the
pair of methods that swap order, the model-skill row outside the CI). Swaps within overlapping
reference CIs and configuration differences are notes, not failures.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from ssl_xai_bench.harness.compare import compare_runs
from tests.reliability.conftest import RUN_NAME, run_args, run_cli
from tests.reliability.test_user_errors import cli
from tests.report.report_fixture import write_results


@pytest.mark.slow
def test_a_rerun_of_the_same_configuration_reproduces(reference, store_copy, tmp_path, capsys):
    done = run_cli(run_args(tmp_path, store=store_copy), tmp_path)
    assert done.returncode == 0, done.output
    fresh, ref = tmp_path / "results" / RUN_NAME, reference.results / RUN_NAME
    status, out, _ = cli(capsys, "compare", str(fresh), str(ref))
    assert status == 0, out
    assert out.startswith(f"reproduced: {fresh} matches {ref}: ")


def _perturbed(folder, tmp_path):
    """A copy of ``folder`` with one metric row moved far outside its CI, two methods swapped
    in another column and one model's MAE moved outside its CI."""
    copy = shutil.copytree(folder, tmp_path / "perturbed")
    board = pd.read_csv(copy / "leaderboard.csv")
    first = board.index[board["status"] == "ok"][0]
    board.loc[first, ["mean", "ci_low", "ci_high"]] += 100.0
    skill = pd.read_csv(copy / "model_skill.csv")
    skill.loc[0, "mae"] = skill.loc[0, "ci_high"] + 1.0
    board.to_csv(copy / "leaderboard.csv", index=False)
    skill.to_csv(copy / "model_skill.csv", index=False)
    return copy, board.loc[first], skill.loc[0]


def test_a_perturbed_run_is_not_reproduced_and_says_what_differs(tmp_path, capsys):
    ref = write_results(tmp_path / "ref", seed=0)
    status, out, _ = cli(capsys, "compare", str(ref), str(ref))
    assert status == 0 and out.startswith("reproduced:")
    fresh, row, skill = _perturbed(ref, tmp_path)
    status, out, _ = cli(capsys, "compare", str(fresh), str(ref))
    lines = out.splitlines()
    assert status == 1, out
    assert lines[0].startswith(f"NOT reproduced: {fresh} differs from {ref}: 1 of ")
    where = " / ".join(str(row[k]) for k in ("model", "condition", "method", "metric"))
    assert any(line.strip().startswith(where) for line in lines[1:]), out
    assert any(f"model skill {skill['model']} / {skill['condition']} / {skill['predictor']}"
               in line for line in lines), out


def test_rank_swaps_fail_only_where_the_reference_separates_the_methods(tmp_path):
    ref = write_results(tmp_path / "ref", seed=0)
    board = pd.read_csv(ref / "leaderboard.csv")
    first = board.iloc[0]
    a, b = board.index[(board["model"] == first["model"])
                       & (board["condition"] == first["condition"])
                       & (board["metric"] == first["metric"])][:2]
    cols = ["mean", "ci_low", "ci_high"]
    board.loc[a, cols] = (1.0, 0.9, 1.1)  # a < b, CIs apart
    board.loc[b, cols] = (2.0, 1.9, 2.1)
    board.to_csv(ref / "leaderboard.csv", index=False)
    fresh = shutil.copytree(ref, tmp_path / "fresh")
    swapped = board.copy()
    swapped.loc[a, cols] = (1.09, 0.95, 1.2)  # each CI overlaps its reference CI,
    swapped.loc[b, cols] = (1.05, 1.0, 1.95)  # but now b < a
    swapped.to_csv(fresh / "leaderboard.csv", index=False)
    result = compare_runs(fresh, ref)
    assert not result.differences["metric"] and not result.differences["skill"]
    (swap,) = result.differences["rank"]
    assert f"{board.loc[a, 'method']} and {board.loc[b, 'method']} swap order" in swap
    assert not result.reproduced
    board.loc[b, "ci_low"] = 0.95  # now the reference does not order a and b
    board.to_csv(ref / "leaderboard.csv", index=False)
    result = compare_runs(fresh, ref)
    assert result.reproduced and any("within overlapping" in n for n in result.notes)
