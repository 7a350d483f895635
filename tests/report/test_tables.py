"""Leaderboard tables: structure of the LaTeX, and every rendered number equals the CSV's."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from ssl_xai_bench.report.tables import (
    TIDY_COLUMNS,
    cell_leaderboard,
    format_number,
    latex_escape,
    overall_leaderboard,
    round_sig,
    to_wide,
    validate_tidy,
    write_tables,
)
from tests.report.report_fixture import FAILED, METHODS, write_results

NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")
LATEX_UNESCAPE = {r"\textbackslash{}": "\\", r"\textasciitilde{}": "~",
                  r"\textasciicircum{}": "^", r"\&": "&", r"\%": "%", r"\$": "$", r"\#": "#",
                  r"\_": "_", r"\{": "{", r"\}": "}"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = write_results(tmp_path_factory.mktemp("results"), seed=3)
    tidy = pd.read_csv(root / "leaderboard.csv")
    skill = pd.read_csv(root / "model_skill.csv")
    prov = json.loads((root / "provenance.json").read_text())
    written = write_tables(tidy, root / "tables", prov, skill)
    return tidy, skill, prov, written


def _latex_unescape(text: str) -> str:
    pattern = re.compile("|".join(re.escape(k) for k in LATEX_UNESCAPE))
    return pattern.sub(lambda m: LATEX_UNESCAPE[m.group(0)], text)


def _latex_tabulars(tex: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, body rows) of every tabular; asserts booktabs rule order."""
    out = []
    for block in re.findall(r"\\begin\{tabular\}\{[lr]+\}\n(.*?)\\end\{tabular\}", tex, re.S):
        lines = block.strip().split("\n")
        assert lines[0] == r"\toprule" and lines[2] == r"\midrule" and lines[-1] == r"\bottomrule"
        split = [re.split(r"(?<!\\)&", ln.removesuffix(r" \\")) for ln in lines[1:-1]
                 if ln != r"\midrule"]
        out.append(([c.strip() for c in split[0]], [[c.strip() for c in r] for r in split[1:]]))
    return out


def _md_tables(md: str) -> list[tuple[list[str], list[list[str]]]]:
    out, lines = [], md.split("\n")
    for i, ln in enumerate(lines):
        if ln.startswith("|:---"):
            header = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i - 1])[1:-1]]
            body = []
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                body.append([c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]])
            out.append((header, body))
    return out


def _expected_numbers(wide: pd.DataFrame, method: str) -> list[float]:
    row = wide[wide["method"] == method].iloc[0]
    vals = [row[c] for c in wide.columns if c.endswith((" mean", " ci_low", " ci_high"))]
    return [round_sig(v) for v in vals if np.isfinite(v)] + [round_sig(row["mean_rank"])]


def _numbers(cells: list[str]) -> list[float]:
    text = " ".join(re.sub(r"\\textsuperscript\{[a-z]+\}", "", c) for c in cells)
    return [float(x) for x in NUM.findall(text)]


def test_format_number_rounding_rule():
    assert format_number(0.088041) == "0.08804"
    assert format_number(123456.0) == "1.235e+05"
    assert format_number(-0.0) == "0"
    assert round_sig(2.0004e-5) == pytest.approx(2.0e-5, rel=0, abs=1e-12)


def test_latex_escape_every_special_character():
    assert latex_escape(r"a_b&c%d#e$f{g}h~i^j\k") == (
        r"a\_b\&c\%d\#e\$f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k")


def test_latex_structure_units_and_escaped_methods(tables):
    tidy, _, prov, written = tables
    for entry in written:
        tex = entry["files"]["tex"].read_text()
        tabulars = _latex_tabulars(tex)
        assert len(tabulars) == (2 if entry["skill"] is not None else 1)
        header, body = tabulars[0]
        lb = entry["leaderboard"]
        assert len(header) == len(lb.columns) + 2
        for col, h in zip(lb.columns, header[1:-1], strict=True):
            unit = f" [{latex_escape(col.unit)}]" if col.unit else ""
            arrow = r"$\uparrow$" if col.direction == "up" else r"$\downarrow$"
            assert h == f"{latex_escape(col.metric)}{unit} {arrow}"
        assert {r"[m]", r"[\%]", r"[samples]", r"[AUC]"} <= {
            m.group(0) for m in re.finditer(r"\[[^\]]*\]", " ".join(header))}
        # every row has exactly the header's number of unescaped cells, method names round-trip
        assert all(len(r) == len(header) for r in body)
        assert [_latex_unescape(r[0]) for r in body] == list(METHODS)
        assert prov["git_commit"] in tex and prov["config_hash"] in tex
        assert r"\textbf{" in tex


def test_markdown_and_latex_numbers_equal_the_csv(tables):
    _, skill, _, written = tables
    for entry in written:
        wide = pd.read_csv(entry["files"]["csv"])
        (_, md_body), *md_rest = _md_tables(entry["files"]["md"].read_text())
        (_, tex_body), *tex_rest = _latex_tabulars(entry["files"]["tex"].read_text())
        assert len(md_body) == len(tex_body) == len(METHODS)
        for md_row, tex_row, method in zip(md_body, tex_body, METHODS, strict=True):
            expected = _expected_numbers(wide, method)
            assert _numbers(md_row[1:]) == expected
            assert _numbers(tex_row[1:]) == expected
        if entry["skill"] is not None:
            cell = entry["skill"]
            rows = skill[(skill["model"] == cell["model"].iloc[0])
                         & (skill["condition"] == cell["condition"].iloc[0])]
            for table in (md_rest[0][1], tex_rest[0][1]):
                for r, s in zip(table, rows.itertuples(), strict=True):
                    assert _numbers(r[1:]) == [round_sig(v) for v in (
                        s.mae, s.ci_low, s.ci_high, s.euclid_mean, s.euclid_median)]


def test_wide_csv_full_precision_and_failed_cell(tables):
    tidy, _, _, written = tables
    model, cond, method, metric, reason = FAILED
    entry = next(e for e in written if e["leaderboard"].keys.get("model") == model
                 and e["leaderboard"].keys.get("condition") == cond)
    wide = pd.read_csv(entry["files"]["csv"])
    row = tidy[(tidy.model == model) & (tidy.condition == cond) & (tidy.method == METHODS[0])
               & (tidy.metric == "tdoa_bounded_mae")].iloc[0]
    col = "tdoa_bounded_mae [samples] ↓"
    assert wide.loc[wide.method == METHODS[0], f"{col} mean"].item() == row["mean"]
    assert wide.loc[wide.method == METHODS[0], f"{col} ci_high"].item() == row["ci_high"]
    assert np.isnan(wide.loc[wide.method == method, f"{metric} ↓ mean"].item())
    assert reason in wide.loc[wide.method == method, "failed"].item()
    md = entry["files"]["md"].read_text()
    assert "failed (a)" in md and f"(a) {method.replace('_', chr(92) + '_')}" in md
    assert reason in md and reason in entry["files"]["tex"].read_text()
    for path in entry["files"].values():
        side = json.loads(path.with_name(path.name + ".provenance.json").read_text())
        assert side["provenance"]["git_commit"] == "0123456789abcdef"
        assert side["provenance"]["versions"]["zennit"] == "0.5.1"


def _tidy(values: dict[tuple[str, str], float], directions: dict[str, str]) -> pd.DataFrame:
    rows = []
    for (method, metric), v in values.items():
        rows.append(dict(model="m", condition="c", t60=0.3, snr_db=20, geometry="g",
                         method=method, metric=metric, category="faithfulness",
                         direction=directions[metric], unit="", n_windows=1, n_sources=1,
                         mean=v, ci_low=v, ci_high=v, n_nonfinite=0,
                         status="ok" if np.isfinite(v) else "failed",
                         reason="" if np.isfinite(v) else "boom"))
    return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))


def test_mean_rank_and_best_follow_direction():
    vals = {("a", "up1"): 3.0, ("b", "up1"): 1.0, ("c", "up1"): 3.0,
            ("a", "down1"): 5.0, ("b", "down1"): 1.0, ("c", "down1"): np.nan}
    lb = cell_leaderboard(_tidy(vals, {"up1": "up", "down1": "down"}), "m", "c")
    # up1: a and c tie for first (rank 1.5), b third; down1: b first, a second, c failed
    assert lb.ranks.loc["a"].tolist() == [1.5, 2.0]
    assert lb.mean_rank.to_dict() == {"a": 1.75, "b": 2.0, "c": 1.5}
    assert lb.best.loc[:, "up1"].tolist() == [True, False, True]
    assert lb.best.loc[:, "down1"].tolist() == [False, True, False]
    assert ("c", "down1") in lb.failed
    assert to_wide(lb)["failed"].tolist() == ["", "", "down1: boom"]


def test_overall_is_mean_of_cells_and_failed_anywhere_is_failed(tables):
    tidy = tables[0]
    lb = overall_leaderboard(tidy)
    ok = tidy[(tidy.method == METHODS[0]) & (tidy.metric == "sparseness")]
    assert lb.mean.loc[METHODS[0], "sparseness"] == pytest.approx(ok["mean"].mean(), rel=1e-12)
    assert (FAILED[2], FAILED[3]) in lb.failed and np.isnan(lb.mean.loc[FAILED[2], FAILED[3]])


def test_validate_tidy_names_the_bad_field(tables):
    tidy = tables[0]
    with pytest.raises(ValueError, match="missing columns.*'unit'"):
        validate_tidy(tidy.drop(columns="unit"))
    with pytest.raises(ValueError, match="leaderboard.direction"):
        validate_tidy(tidy.assign(direction="sideways"))
    with pytest.raises(ValueError, match="leaderboard.status"):
        validate_tidy(tidy.assign(status="maybe"))
