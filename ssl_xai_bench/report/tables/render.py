"""Renderers of :class:`ssl_xai_bench.report.tables.leaderboard.Leaderboard`: Markdown, booktabs
LaTeX, cells.

Numbers are written with :func:`~ssl_xai_bench.report.tables.leaderboard.format_number` (4
significant digits).
LaTeX escapes ``\\ & % $ # _ { } ~ ^``; Markdown escapes ``\\ ` * _ < > |``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report.tables.leaderboard import (
    ARROWS,
    LATEX_ARROWS,
    SKILL_HEADER,
    Leaderboard,
    format_number,
)

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
_MD_RE = re.compile(r"([\\`*_<>|])")


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters ``\\ & % $ # _ { } ~ ^`` in ``text``."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def markdown_escape(text: str) -> str:
    r"""Escape Markdown's inline specials (``\ ` * _ < > |``) in ``text``."""
    return _MD_RE.sub(r"\\\1", str(text))



def cells(lb: Leaderboard, bold: tuple[str, str], fail: str, esc,
          mean_rank: bool = True) -> list[list[str]]:
    """Formatted body rows; ``bold`` = (open, close); ``fail`` = format with ``{letter}``;
    ``mean_rank`` adds the mean-rank column."""
    letters = {(m, k): letter for letter, m, k, _ in lb.footnotes()}
    best, rank = lb.best, lb.mean_rank
    rows = []
    for method in lb.methods:
        row = [esc(method)]
        for col in lb.columns:
            key = (method, col.metric)
            v = lb.mean.loc[method, col.metric]
            if key in lb.failed:
                row.append(fail.format(letter=letters[key]))
            elif not np.isfinite(v):
                row.append("–")
            else:
                txt = format_number(v)
                if best.loc[method, col.metric]:
                    txt = f"{bold[0]}{txt}{bold[1]}"
                lo, hi = lb.ci_low.loc[method, col.metric], lb.ci_high.loc[method, col.metric]
                if lb.with_ci and np.isfinite(lo) and np.isfinite(hi):
                    txt += f" [{format_number(lo)}, {format_number(hi)}]"
                row.append(txt)
        r = rank.loc[method]
        if mean_rank:
            row.append(format_number(r) if np.isfinite(r) else "–")
        rows.append(row)
    return rows


def provenance_lines(prov: Mapping[str, Any] | None) -> list[str]:
    """Human-readable provenance summary (package, commit, config hash, seed, versions, machine)."""
    p = dict(prov or {})
    vers = p.get("versions") or {}
    mach = p.get("machine") or {}

    def g(d: Mapping[str, Any], k: str) -> str:
        v = d.get(k)
        return "unknown" if v in (None, "") else str(v)

    return [
        f"ssl-xai-bench {g(p, 'package_version')}, git commit {g(p, 'git_commit')}, "
        f"config hash {g(p, 'config_hash')}, seed {g(p, 'seed')}, preset {g(p, 'preset')}, "
        f"date {g(p, 'date')}",
        "versions: " + ", ".join(
            f"{k} {g(vers, k)}" for k in
            ("torch", "zennit", "captum", "quantus", "pyroomacoustics", "numpy", "python")
        ),
        f"machine: {g(mach, 'platform')}, {g(mach, 'cpu')}, {g(mach, 'n_cores')} cores",
    ]


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(
        [":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def to_markdown(lb: Leaderboard, provenance: Mapping[str, Any] | None = None,
                skill: pd.DataFrame | None = None, mean_rank: bool = True) -> str:
    """Render a leaderboard (and optionally the model-skill table) as GitHub Markdown."""
    header = (["method"] + [markdown_escape(c.label()) for c in lb.columns]
              + (["mean rank ↓"] if mean_rank else []))
    body = cells(lb, ("**", "**"), "failed ({letter})", markdown_escape, mean_rank)
    lines = [f"### Leaderboard: {markdown_escape(lb.title)}", ""]
    lines += _md_table(header, body)
    lines += ["", "Mean [95 % CI]; best per column in bold"
              + ("; mean rank over metric columns." if mean_rank else ".")]
    for letter, text in lb.footnote_lines():
        lines.append(f"({letter}) {markdown_escape(text)}")
    if skill is not None and len(skill):
        lines += ["", "### Model skill", ""]
        lines += _md_table(SKILL_HEADER, skill_cells(skill, markdown_escape))
    lines += ["", "Provenance: " + "; ".join(markdown_escape(s) for s in provenance_lines(
        provenance))]
    return "\n".join(lines) + "\n"


def _latex_header(text: str) -> str:
    for arrow, tex in ((ARROWS["up"], LATEX_ARROWS["up"]), (ARROWS["down"], LATEX_ARROWS["down"])):
        if text.endswith(" " + arrow):
            return latex_escape(text[: -len(arrow) - 1]) + " " + tex
    return latex_escape(text)


def _latex_tabular(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule"]
    lines.append(" & ".join(_latex_header(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return lines


def to_latex(lb: Leaderboard, provenance: Mapping[str, Any] | None = None,
             skill: pd.DataFrame | None = None, mean_rank: bool = True) -> str:
    """Render a leaderboard as a booktabs LaTeX ``table`` (needs ``\\usepackage{booktabs}``)."""
    header = ["method"] + [c.label() for c in lb.columns] + (["mean rank ↓"] if mean_rank else [])
    body = cells(lb, (r"\textbf{", "}"), r"failed\textsuperscript{{{letter}}}", latex_escape,
                 mean_rank)
    rank_txt = "; mean rank over metric columns" if mean_rank else ""
    lines = [r"\begin{table}[t]", r"\centering", r"\footnotesize",
             r"\caption{Leaderboard: " + latex_escape(lb.title) + ". Mean [95\\,\\% CI]; best "
             r"per column in bold" + rank_txt + ".}"]
    lines += _latex_tabular(header, body)
    notes = [rf"\textsuperscript{{{letter}}}" + latex_escape(text)
             for letter, text in lb.footnote_lines()]
    if skill is not None and len(skill):
        lines += [r"\par\medskip", "% model skill"]
        lines += _latex_tabular(SKILL_HEADER, skill_cells(skill, latex_escape))
    notes.append("Provenance: " + "; ".join(latex_escape(s) for s in provenance_lines(provenance)))
    lines += [r"\par\smallskip", r"\parbox{\linewidth}{\scriptsize " + r"\\ ".join(notes) + "}",
              r"\end{table}"]
    return "\n".join(lines) + "\n"



def skill_cells(skill: pd.DataFrame, esc) -> list[list[str]]:
    out = []
    for r in skill.itertuples():
        ci = (f" [{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
              if np.isfinite(r.ci_low) and np.isfinite(r.ci_high) else "")
        out.append([esc(r.predictor), format_number(r.mae) + ci, format_number(r.euclid_mean),
                    format_number(r.euclid_median), "yes" if _truthy(r.beats_trivial) else "no"])
    return out


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)


