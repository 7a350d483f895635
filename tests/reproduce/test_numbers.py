"""The README number blocks: recomputed from the results files; a stale block is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ssl_xai_bench.reproduce.numbers import refresh, stale
from tests.report.report_fixture import H_MODEL, write_headline_results

ROOT = Path(__file__).resolve().parents[2]


def _readme(folder: str) -> str:
    return "".join(f"<!-- numbers: {kind} {folder} -->\nold text\n<!-- /numbers -->\n"
                   for kind in ("skill", "answers", "run"))


def test_blocks_are_written_from_the_files_and_a_changed_number_is_stale(tmp_path):
    write_headline_results(tmp_path / "res")
    readme = tmp_path / "README.md"
    readme.write_text("Prose.\n" + _readme("res"), encoding="utf-8")
    assert len(stale(readme, tmp_path)) == 3
    readme.write_text(refresh(readme.read_text(), tmp_path), encoding="utf-8")
    assert stale(readme, tmp_path) == []
    text = readme.read_text()
    assert text.startswith("Prose.\n") and "old text" not in text
    assert f"| {H_MODEL} | cond_a |" in text and "beats the trivial predictor" in text
    assert "no method beats the microphones (gain > 0)" not in text  # not a column here
    # the answers count only the cell where the model localises (cond_b does not)
    assert "all counted cells (1 of 2)" in text
    edited = text.replace("| cond_a |", "| cond_a (edited) |", 1)
    readme.write_text(edited, encoding="utf-8")
    assert stale(readme, tmp_path) == ["README.md: skill res"]


def test_answers_of_a_model_that_localises_nowhere_are_not_stated(tmp_path):
    """The headline tables fall back to every cell when none is counted (their title says so);
    an answer line has no title, so it names the reason instead of naming a winner."""
    res = write_headline_results(tmp_path / "res")
    skill = pd.read_csv(res / "model_skill.csv")
    skill.loc[skill["predictor"] == H_MODEL, "gain_ci_low"] = -0.01
    skill.to_csv(res / "model_skill.csv", index=False)
    text = refresh("<!-- numbers: answers res -->\n<!-- /numbers -->\n", tmp_path)
    assert "all counted cells (0 of 2)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(`" in line]
    assert rows and all(line.endswith("| not counted: the model localises in no cell |")
                        for line in rows), rows


def test_an_unknown_block_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown kind 'nope'"):
        refresh("<!-- numbers: nope res -->\n<!-- /numbers -->", tmp_path)


@pytest.mark.slow
def test_the_committed_readmes_state_what_the_committed_results_hold():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_numbers.py"),
                           "--check"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
