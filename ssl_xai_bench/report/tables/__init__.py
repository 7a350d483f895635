"""Leaderboards: from the harness's tidy ``leaderboard.csv`` to wide CSV, Markdown and LaTeX.

One leaderboard per (model, condition) and one overall. Rows are attribution methods, columns are
metrics; every header carries the metric's unit in square brackets (no bracket for unitless
metrics) and its direction (``↑`` higher is better, ``↓`` lower is better). A cell shows the mean
and its 95 % confidence interval ``mean [ci_low, ci_high]``; the best value per column is bold
(ties all bold); ``mean rank`` averages, over the metric columns a method has a value in, its rank
in each column (rank 1 = best by the column's direction, ties share the average rank). Failed
cells read ``failed`` with a letter footnote that gives the harness's reason.

The overall leaderboard averages each (method, metric) over the (model, condition) cells with
equal weight; it has no pooled CI (the cells' CIs are over different sources and models), and a
(method, metric) that failed in any cell is ``failed`` overall, so that no average is taken over
a different set of cells than its neighbours'.

Rounding rule (all human-readable renderings, Markdown, LaTeX and HTML): ``SIG_DIGITS`` = 4
significant digits, Python's ``format(x, ".4g")``; the CSV files keep full precision, so
``float(format_number(v)) == round_sig(v)`` links the two.

Provenance: CSV files stay plain machine-readable CSV (no comment block: a ``#`` inside a method
name would be cut by ``pandas.read_csv(comment="#")``); every file gets a sidecar
``<name>.provenance.json`` and Markdown / LaTeX carry it as a footnote.

LaTeX follows booktabs (``\\toprule``, ``\\midrule``, ``\\bottomrule``) and escapes
``\\ & % $ # _ { } ~ ^`` in every name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ssl_xai_bench.report.tables.leaderboard import (
    SIG_DIGITS,
    SKILL_COLUMNS,
    TIDY_COLUMNS,
    Column,
    Leaderboard,
    cell_leaderboard,
    format_number,
    overall_leaderboard,
    round_sig,
    skill_table,
    slug,
    to_wide,
    validate_tidy,
)
from ssl_xai_bench.report.tables.render import (
    latex_escape,
    leaderboard_table,
    markdown_escape,
    provenance_lines,
    skill_view,
    to_html,
    to_latex,
    to_markdown,
)

__all__ = [
    "TIDY_COLUMNS", "SKILL_COLUMNS", "SIG_DIGITS", "Column", "Leaderboard", "format_number",
    "round_sig", "latex_escape", "markdown_escape", "validate_tidy", "cell_leaderboard",
    "overall_leaderboard", "to_wide", "to_markdown", "to_latex", "to_html", "skill_table",
    "skill_view", "leaderboard_table",
    "provenance_lines", "write_tables", "slug", "iter_cells",
]


def _write_provenance(path: Path, prov: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> None:
    data = {"provenance": dict(prov or {}), **extra}
    path.with_name(path.name + ".provenance.json").write_text(
        json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")


def write_tables(tidy: pd.DataFrame, out_dir: Path, provenance: Mapping[str, Any] | None = None,
                 skill: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Write every leaderboard as wide CSV, Markdown and LaTeX (+ tidy copy) into ``out_dir``.

    Parameters
    ----------
    tidy : pandas.DataFrame
        The tidy leaderboard.
    out_dir : pathlib.Path
        Destination folder (created).
    provenance : mapping, optional
        ``provenance.json`` of the run.
    skill : pandas.DataFrame, optional
        ``model_skill.csv`` rows.

    Returns
    -------
    list of dict
        One entry per leaderboard: ``title``, ``leaderboard`` (:class:`Leaderboard`), ``skill``
        (rows or None), ``files`` (``{"csv", "md", "tex"}`` paths).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tidy = validate_tidy(tidy)
    tidy_path = out_dir / "leaderboard_tidy.csv"
    tidy.to_csv(tidy_path, index=False)
    _write_provenance(tidy_path, provenance, {"table": "tidy leaderboard"})
    if skill is not None:
        skill_table(skill).to_csv(out_dir / "model_skill.csv", index=False)
        _write_provenance(out_dir / "model_skill.csv", provenance, {"table": "model skill"})
    entries: list[tuple[str, Leaderboard, pd.DataFrame | None]] = [
        ("leaderboard_overall", overall_leaderboard(tidy), None)]
    for (model, condition), _ in tidy.groupby(["model", "condition"], sort=False):
        cell_skill = skill_table(skill, model, condition) if skill is not None else None
        entries.append((f"leaderboard_{slug(model)}_{slug(condition)}",
                        cell_leaderboard(tidy, model, condition), cell_skill))
    written = []
    for stem, lb, sk in entries:
        files = {"csv": out_dir / f"{stem}.csv", "md": out_dir / f"{stem}.md",
                 "tex": out_dir / f"{stem}.tex"}
        to_wide(lb).to_csv(files["csv"], index=False)
        files["md"].write_text(to_markdown(lb, provenance, sk), encoding="utf-8")
        files["tex"].write_text(to_latex(lb, provenance, sk), encoding="utf-8")
        for p in files.values():
            _write_provenance(p, provenance, {"table": lb.title, **{
                k: (v.item() if hasattr(v, "item") else v) for k, v in lb.keys.items()}})
        written.append({"title": lb.title, "leaderboard": lb, "skill": sk, "files": files})
    return written


def iter_cells(tidy: pd.DataFrame) -> Iterable[tuple[str, str]]:
    """The (model, condition) cells of a tidy leaderboard, in first-appearance order."""
    return list(dict.fromkeys(zip(tidy["model"], tidy["condition"], strict=True)))

