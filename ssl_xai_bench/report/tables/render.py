"""Leaderboards as :class:`ssl_xai_bench.report.render.Table`: Markdown, booktabs LaTeX, HTML.

Numbers are written with :func:`~ssl_xai_bench.report.tables.leaderboard.format_number` (4
significant digits); the templates (``leaderboard.{md,tex}.j2``, ``tables.html.j2``) write the
document around the table and escape every name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report.render import (
    Cell,
    Group,
    Head,
    Row,
    Table,
    latex_escape,
    markdown_escape,
    provenance_lines,
    render,
)
from ssl_xai_bench.report.tables.leaderboard import SKILL_HEADS, Leaderboard, format_number


def _number(value: float) -> Cell:
    return Cell(format_number(value)) if np.isfinite(value) else Cell()


def leaderboard_table(lb: Leaderboard, mean_rank: bool = True,
                      row_class: Mapping[str, str] | None = None) -> Table:
    """The leaderboard's methods x metrics (``mean [ci_low, ci_high]``, the best per column in
    bold, failed entries with their footnote letter), and the mean rank when ``mean_rank``;
    ``row_class``: method -> HTML class of its row."""
    letters = {(m, k): letter for letter, m, k, _ in lb.footnotes()}
    heads = [Head("method")] + [Head(c.text(), c.direction) for c in lb.columns]
    best, ranks = lb.best, lb.mean_rank  # properties that rank the whole table: once, not per cell
    rows = []
    for method in lb.methods:
        cells = []
        for col in lb.columns:
            key = (method, col.metric)
            lo, hi = lb.ci_low.loc[method, col.metric], lb.ci_high.loc[method, col.metric]
            cell = _number(lb.mean.loc[method, col.metric])
            if key in lb.failed:
                cell = Cell(word="failed", note=letters[key])
            elif cell.text:
                cell.bold = bool(best.loc[method, col.metric])
                if lb.with_ci and np.isfinite(lo) and np.isfinite(hi):
                    cell.second = f"[{format_number(lo)}, {format_number(hi)}]"
            cells.append(cell)
        if mean_rank:
            cells.append(_number(ranks.loc[method]))
        rows.append(Row(Cell(method), cells, (row_class or {}).get(method, "")))
    if mean_rank:
        heads.append(Head("mean rank", "down"))
    return Table(heads, [Group(rows)])


def skill_view(skill: pd.DataFrame) -> Table:
    """``model_skill.csv`` rows as a table: MAE with its CI, Euclidean errors, beats trivial."""
    rows = []
    for r in skill.itertuples():
        mae = Cell(format_number(r.mae))
        if np.isfinite(r.ci_low) and np.isfinite(r.ci_high):
            mae.second = f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
        rows.append(Row(Cell(r.predictor), [
            mae, Cell(format_number(r.euclid_mean)), Cell(format_number(r.euclid_median)),
            Cell("yes" if _truthy(r.beats_trivial) else "no")]))
    return Table([Head(text, arrow) for text, arrow in SKILL_HEADS], [Group(rows)])


def _document(template: str, lb: Leaderboard, provenance: Mapping[str, Any] | None,
              skill: pd.DataFrame | None, mean_rank: bool) -> str:
    has_skill = skill is not None and len(skill) > 0
    return render(template, title=lb.title, table=leaderboard_table(lb, mean_rank),
                  mean_rank=mean_rank, footnotes=lb.footnote_lines(),
                  skill=skill_view(skill) if has_skill else None,
                  provenance=provenance_lines(provenance))


def to_markdown(lb: Leaderboard, provenance: Mapping[str, Any] | None = None,
                skill: pd.DataFrame | None = None, mean_rank: bool = True) -> str:
    """Render a leaderboard (and optionally the model-skill table) as GitHub Markdown."""
    return _document("leaderboard.md.j2", lb, provenance, skill, mean_rank)


def to_latex(lb: Leaderboard, provenance: Mapping[str, Any] | None = None,
             skill: pd.DataFrame | None = None, mean_rank: bool = True) -> str:
    """Render a leaderboard as a booktabs LaTeX ``table`` (needs ``\\usepackage{booktabs}``)."""
    return _document("leaderboard.tex.j2", lb, provenance, skill, mean_rank)


def to_html(lb: Leaderboard, table_id: str, row_class: Mapping[str, str] | None = None,
            mean_rank: bool = False) -> str:
    """A scrollable ``<table class="leaderboard">`` (CIs on their own line) and its footnotes."""
    return render("leaderboard.html.j2", table=leaderboard_table(lb, mean_rank, row_class),
                  table_id=table_id, footnotes=lb.footnote_lines())


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)


__all__ = ["latex_escape", "leaderboard_table", "markdown_escape", "provenance_lines",
           "skill_view", "to_html", "to_latex", "to_markdown"]
