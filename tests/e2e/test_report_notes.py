"""The report's notes say what the run holds (issue 33, case 10).

On the constructed headline result set: without control rows, no table claims "Controls
(random, energy) are reference rows"; when three methods fail every metric of a cell for one
reason, every table has one footnote for that reason with its entries counted (not one per
entry), and the summary counts the failed methods, cells and rows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ssl_xai_bench.report.citable import write_citable
from ssl_xai_bench.report.headline_render import to_html, to_latex, to_markdown
from ssl_xai_bench.report.page import PageContext
from ssl_xai_bench.report.summary import summary_section
from ssl_xai_bench.report.tables import to_markdown as leaderboard_markdown
from tests.report.report_fixture import H_FAILED, write_headline_results

REASON = "captum raised RuntimeError: out of memory"
BROKEN = ("lrp", "gradient", "occlusion")


def _results(root: Path, controls: bool, broken: bool) -> Path:
    write_headline_results(root)
    board = pd.read_csv(root / "leaderboard.csv")
    if not controls:
        board = board[board["family"] != "control"]
    if broken:
        sel = (board["condition"] == H_FAILED[0]) & board["method"].isin(BROKEN)
        board.loc[sel, ["mean", "ci_low", "ci_high"]] = float("nan")
        board.loc[sel, ["status", "reason"]] = ("failed", REASON)
    board.to_csv(root / "leaderboard.csv", index=False)
    return root


def _headlines(root: Path):
    done = write_citable(root, root / "tables")
    return done, [w.table for w in done.headline]


@pytest.mark.parametrize("controls", [True, False])
def test_the_controls_legend_only_where_there_are_controls(tmp_path, controls):
    _, tables = _headlines(_results(tmp_path, controls, broken=False))
    for table in tables:
        text = to_markdown(table) + to_latex(table) + to_html(table, "t")
        assert ("are reference rows" in text) == controls
        if controls:
            assert f"Controls ({', '.join(table.controls)}) are reference rows" in to_markdown(
                table)


def test_repeated_failures_are_one_footnote_per_reason(tmp_path):
    root = _results(tmp_path, controls=True, broken=True)
    done, tables = _headlines(root)
    cell = next(t for t in tables if t.kind == "cell" and t.keys.get("condition") == H_FAILED[0])
    n_entries = len(BROKEN) * len(cell.columns)
    md = to_markdown(cell)
    assert md.count(REASON) == 1, md
    assert f"failed in {n_entries} entries (methods {', '.join(BROKEN)}" in md
    for text in (to_latex(cell), to_html(cell, "t")):
        assert text.count(REASON.replace("_", r"\_")) + text.count(REASON) >= 1
        assert text.count("out of memory") == 1
    for family in done.families:
        lines = family.table.footnote_lines()
        assert len(lines) == len({r for *_, r in family.table.footnotes()})
        # one footnote per distinct reason (an overall entry that also is undefined in another
        # cell has a reason of its own, which names both)
        text = leaderboard_markdown(family.table)
        assert sum(line.count(REASON) for line in text.split("\n")
                   if line.startswith("(")) <= len(lines)


def test_the_summary_counts_the_failures(tmp_path):
    root = _results(tmp_path, controls=True, broken=True)
    done, _ = _headlines(root)
    tidy = pd.read_csv(root / "leaderboard.csv")
    ctx = PageContext(results=root, out=root, figs=None, tidy=tidy, skill=None, curves=None,
                      tdoa=None, prov=None, citable=done)
    html = summary_section(ctx)
    failed = tidy[tidy["status"] == "failed"]
    methods = list(dict.fromkeys(failed["method"]))
    assert sorted(methods) == sorted(BROKEN)
    assert (f"Failed: {len(BROKEN)} method(s) ({', '.join(methods)}) in 1 cell(s), "
            f"{len(failed)} metric row(s) of {len(tidy)}, for 1 distinct reason(s)") in html
