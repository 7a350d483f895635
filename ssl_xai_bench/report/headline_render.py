"""Renderers of :class:`ssl_xai_bench.report.headline.HeadlineTable`: Markdown, LaTeX, HTML.

Every rendering has the method column plus one column per family (at most 8 columns): the
attribution methods, then the controls apart (a ``controls`` separator row, names in italics).
Cell tables show ``mean`` over ``[ci_low, ci_high]`` (two lines; Markdown joins them with
``<br>``), aggregated tables ``mean (k/n)`` (in LaTeX ``(k/n)`` on the second line). Bold: the
best and the methods equivalent to it (cell tables) or the methods that win the most cells
(aggregated tables). Marks: ``?`` undetermined against the best, ``‡`` the design cannot
separate it from the best (attainable p not below alpha), ``†`` a control better than the best
method (paired test). Letters: footnotes (a failed or undefined entry's reason, a method's
failed sanity check). Under the table: each column's answer (the winners, or "no method beats
<reference>"). Metres are shown in cm and fractions in %
(:data:`DISPLAY_UNITS`); the CSV keeps the metric's unit.

LaTeX needs ``\\usepackage{booktabs}`` only: ``\\scriptsize``, ``\\tabcolsep`` 1.5 pt, the CI in
``\\tiny`` on its own row, the arrows on a second header row, so that a table of 7 families
fits the text width of a default ``article`` page (tested with pdflatex on the constructed result
set: no overfull box; method names much longer than ``lrp_epsilon_plus_flat`` can still overflow).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ssl_xai_bench.report.headline import ALPHA, HEADLINE_CI_DIGITS, HeadlineTable, fmt
from ssl_xai_bench.report.tables.leaderboard import (
    ARROWS,
    LATEX_ARROWS,
    failure_text,
    group_failures,
    slug,
)
from ssl_xai_bench.report.tables.render import latex_escape, markdown_escape, provenance_lines

DAGGER = "†"
#: Marks of the outcomes against the best that are neither bold nor plain "worse".
OUTCOME_MARKS = {"undetermined": "?", "underpowered": "‡"}
THIN_COMMA = r",\kern0.4pt "
#: Units shown scaled in the headline (metres as cm, fractions as %): numbers without a run of
#: leading zeros, so that a table fits one page width. The CSV keeps the metric's own unit.
DISPLAY_UNITS: dict[str, tuple[float, str]] = {"m": (100.0, "cm"), "fraction": (100.0, "%")}


def display_unit(unit: str) -> tuple[float, str]:
    """(factor, unit) a headline shows a metric of ``unit`` in."""
    return DISPLAY_UNITS.get(unit, (1.0, unit))


def _letter(i: int) -> str:
    s, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


def footnotes(table: HeadlineTable) -> tuple[dict[Any, str], list[tuple[str, str]]]:
    """Letters of flagged methods (key: method) and failed cells (key: (method, metric)), and
    the ``(letter, text)`` lines, in table order."""
    keys: dict[Any, str] = {}
    notes: list[tuple[str, Any]] = []  # (letter, flag text or failure reason), in table order
    failed: list[tuple[str, str, tuple[str, str]]] = []
    for method in table.methods + table.controls:
        if table.flags.get(method):
            keys[method] = _letter(len(notes))
            notes.append((keys[method], f"{method}: " + "; ".join(table.flags[method])))
        for col in table.columns:
            e = table.entry(method, col.metric)
            status = "failed" if e.failed else "undefined" if e.undefined else ""
            if status:  # one letter per distinct (status, reason), at its first cell
                reason = e.failed or e.undefined
                letter = next((k for k, r in notes if r == (status, reason)), None)
                if letter is None:
                    letter = _letter(len(notes))
                    notes.append((letter, (status, reason)))
                keys[(method, col.metric)] = letter
                failed.append((method, col.metric, (status, reason)))
    groups = {key: where for where, key in group_failures(failed)}
    return keys, [(k, failure_text(groups[n], n[1], n[0]) if isinstance(n, tuple) else n)
                  for k, n in notes]


def _parts(table: HeadlineTable, method: str, metric: str) -> tuple[str, str, bool, str]:
    """(main text, second text, bold, marks) of one cell; main is ``""`` when unusable."""
    e = table.entry(method, metric)
    if not e.usable:
        return "", "", False, ""
    bold = method in table.methods and table.marked(method, metric)
    marks = OUTCOME_MARKS.get(e.outcome or "", "") + (DAGGER if e.beats_best else "")
    k = display_unit(next(c.unit for c in table.columns if c.metric == metric))[0]
    if table.kind == "cell":
        ci = (f"[{fmt(k * e.ci_low, HEADLINE_CI_DIGITS)}, "
              f"{fmt(k * e.ci_high, HEADLINE_CI_DIGITS)}]"
              if np.isfinite(e.ci_low) and np.isfinite(e.ci_high) else "")
        return fmt(k * e.mean), ci, bold, marks
    wins = f"({e.n_win}/{e.n_cells})" if method in table.methods and e.n_cells else ""
    return fmt(k * e.mean), wins, bold, marks


def legend(table: HeadlineTable) -> list[str]:
    """The plain-text legend lines: what a cell shows, the columns, the marks."""
    units = {c.metric: display_unit(c.unit)[1] for c in table.columns}
    cols = "; ".join(f"{c.short} = {c.metric}" + (f" [{units[c.metric]}]" if c.unit else "")
                     + f" {ARROWS[c.direction]}" for c in table.columns)
    if table.kind == "cell":
        what = ("Mean over 95 % CI (cluster bootstrap over test sources). Bold: the best method "
                "and those shown equivalent to it (two one-sided Wilcoxon tests on per-source "
                f"means within the metric's margin, Holm, alpha {ALPHA}); plain: significantly "
                "worse; ?: undetermined; ‡: the sources cannot separate it from the best "
                f"(smallest attainable Holm p >= {ALPHA}).")
    else:
        what = ("Equal-weight mean of the counted cells' means (no pooled CI) and (k/n): the "
                "cells where the method wins (best or equivalent to it, and beats the column's "
                "reference). Bold: the largest k > 0.")
    out = [what, f"Columns: {cols}."]
    if table.controls:
        out.append(f"Controls ({', '.join(table.controls)}) are reference rows, never ranked; "
                   f"{DAGGER}: a control better than the best method (paired test).")
    answers = [f"{c.short}: {table.answers[c.metric].text()}" for c in table.columns
               if c.metric in table.answers]
    if answers:
        out.append("Winners (beat the reference): " + "; ".join(answers) + ".")
    return out + list(table.notes)


def _rows(table: HeadlineTable, esc: Callable[[str], str], bold: Callable[[str], str],
          mark: Callable[[str], str], join: Callable[[str, str], str], italic: Callable[[str], str]
          ) -> tuple[list[list[str]], list[list[str]]]:
    keys, _ = footnotes(table)
    out: tuple[list[list[str]], list[list[str]]] = ([], [])
    for group, names in ((0, table.methods), (1, table.controls)):
        for method in names:
            name = esc(method) if group == 0 else italic(esc(method))
            row = [name + (mark(keys[method]) if method in keys else "")]
            for col in table.columns:
                main, second, is_bold, marks = _parts(table, method, col.metric)
                if (method, col.metric) in keys:
                    word = "failed" if table.entry(method, col.metric).failed else "undef."
                    row.append(word + mark(keys[(method, col.metric)]))
                    continue
                if not main:
                    row.append("–")
                    continue
                row.append(join((bold(main) if is_bold else main) + marks, second))
            out[group].append(row)
    return out


def _header(table: HeadlineTable, arrows: Mapping[str, str], esc: Callable[[str], str],
            short: bool) -> list[str]:
    return ["Method"] + [f"{esc(c.short if short else c.label)} {arrows[c.direction]}"
                         for c in table.columns]


def to_markdown(table: HeadlineTable, provenance: Mapping[str, Any] | None = None) -> str:
    """GitHub Markdown: short headers, the CI after ``<br>``, controls after a separator row."""
    head = _header(table, ARROWS, markdown_escape, short=True)
    methods, controls = _rows(
        table, markdown_escape, lambda t: f"**{t}**", lambda k: f" ({k})",
        lambda a, b: f"{a}<br>{b}" if b and table.kind == "cell" else f"{a} {b}".strip(),
        lambda t: f"*{t}*")
    lines = [f"### Headline: {markdown_escape(table.title)}", "",
             "| " + " | ".join(head) + " |", "|" + "|".join([":---"] + ["---:"] * len(
                 table.columns)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in methods]
    if controls:
        lines.append("| *controls* |" + " |" * len(table.columns))
        lines += ["| " + " | ".join(r) + " |" for r in controls]
    for text in [markdown_escape(s) for s in legend(table)] + [
            f"({k}) {markdown_escape(t)}" for k, t in footnotes(table)[1]]:
        lines += ["", text]
    lines += ["", "Provenance: " + "; ".join(markdown_escape(s) for s in provenance_lines(
        provenance))]
    return "\n".join(lines) + "\n"


def latex_label(table: HeadlineTable) -> str:
    """``tab:ssl-xai-bench-headline-<slug>``."""
    scope = "-".join(slug(str(v)) for k, v in table.keys.items() if k in ("model", "condition")
                     and v is not None) or "overall"
    return f"tab:ssl-xai-bench-headline-{scope}"


def to_latex(table: HeadlineTable, provenance: Mapping[str, Any] | None = None,
             cite_key: str | None = None) -> str:
    """A booktabs ``table`` (needs ``\\usepackage{booktabs}``) that fits one page width."""
    n = len(table.columns)
    # two header rows: the family's short label, then its arrow (a narrower column)
    head = ["Method"] + [latex_escape(c.short) for c in table.columns]
    arrows = [""] + [LATEX_ARROWS[c.direction] for c in table.columns]
    methods, controls = _rows(
        table, latex_escape, lambda t: rf"\textbf{{{t}}}", lambda k: rf"\textsuperscript{{{k}}}",
        lambda a, b: f"{a}\0{b}",
        lambda t: rf"\textit{{{t}}}")
    cite = rf" (ssl-xai-bench~\cite{{{cite_key}}})" if cite_key else ""
    lines = [r"\begin{table}[t]", r"\centering", r"\scriptsize", r"\setlength{\tabcolsep}{1.5pt}",
             r"\caption{Headline: " + latex_escape(table.title) + cite + "}",
             rf"\label{{{latex_label(table)}}}", r"\begin{tabular}{@{}l" + "r" * n + "@{}}",
             r"\toprule", " & ".join(head) + r" \\", " & ".join(arrows) + r" \\",
             r"\midrule"]

    def body(rows: list[list[str]]) -> list[str]:
        out = []
        for r in rows:
            first = [c.split("\0")[0] for c in r]
            out.append(" & ".join(first) + r" \\")
            second = [c.split("\0")[1] if "\0" in c else "" for c in r]
            if any(second):
                thin = [c.replace(", ", THIN_COMMA) for c in second]
                out.append(" & ".join(rf"{{\tiny {c}}}" if c else "" for c in thin) + r" \\")
        return out

    lines += body(methods)
    if controls:
        lines += [r"\midrule", rf"\multicolumn{{{n + 1}}}{{l}}{{\textit{{Controls}}}} \\"]
        lines += body(controls)
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip"]
    notes = [latex_escape(s) for s in legend(table)]
    notes += [rf"\textsuperscript{{{k}}}" + latex_escape(t) for k, t in footnotes(table)[1]]
    notes.append("Provenance: " + "; ".join(latex_escape(s) for s in provenance_lines(
        provenance)))
    notes = [s.replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")
             .replace(DAGGER, r"$\dagger$").replace("‡", r"$\ddagger$") for s in notes]
    lines += [r"\parbox{\linewidth}{\tiny " + r"\\ ".join(notes) + "}", r"\end{table}"]
    return "\n".join(lines).replace(DAGGER, r"$^\dagger$").replace("‡", r"$^\ddagger$") + "\n"


def to_html(table: HeadlineTable, table_id: str) -> str:
    """A ``<table class="headline">`` with full family names (``title``: the metric)."""
    esc = html.escape
    methods, controls = _rows(
        table, esc, lambda t: f"<strong>{t}</strong>", lambda k: f'<sup class="flag">{k}</sup>',
        lambda a, b: (f'{a}<span class="ci">{b}</span>' if table.kind == "cell" else
                      f'{a} <small class="k">{b}</small>') if b else a,
        lambda t: f"<em>{t}</em>")
    head = "".join(
        f'<th title="{esc(c.metric)}">{esc(c.label)} {ARROWS[c.direction]}<br><small>'
        f'{esc(c.metric)}{" [" + esc(display_unit(c.unit)[1]) + "]" if c.unit else ""}'
        "</small></th>" for c in table.columns)
    parts = [f'<table id="{esc(table_id)}" class="headline {table.kind}"><thead><tr>'
             f"<th>method</th>{head}</tr></thead><tbody>"]
    parts += ["<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in methods]
    parts.append("</tbody>")
    if controls:
        parts.append(f'<tbody class="controls"><tr><th colspan="{len(table.columns) + 1}">'
                     "controls (reference rows)</th></tr>")
        parts += ["<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in controls]
        parts.append("</tbody>")
    parts.append("</table>")
    notes = [f"<li>{esc(s)}</li>" for s in legend(table)[2:]]
    notes += [f"<li><sup>{esc(k)}</sup> {esc(t)}</li>" for k, t in footnotes(table)[1]]
    return ("".join(parts) + f'<p class="note">{esc(legend(table)[0])}</p>'
            + (f'<ul class="note">{"".join(notes)}</ul>' if notes else ""))


__all__ = ["DAGGER", "DISPLAY_UNITS", "display_unit", "footnotes", "latex_label", "legend",
           "to_html", "to_latex", "to_markdown"]
