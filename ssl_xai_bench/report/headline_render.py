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

from collections.abc import Mapping
from typing import Any

import numpy as np

from ssl_xai_bench.report.headline import ALPHA, HEADLINE_CI_DIGITS, HeadlineTable, fmt
from ssl_xai_bench.report.render import (
    ARROWS,
    DAGGER,
    Cell,
    Group,
    Head,
    Row,
    Table,
    provenance_lines,
    render,
)
from ssl_xai_bench.report.tables.leaderboard import failure_text, group_failures, slug

#: Marks of the outcomes against the best that are neither bold nor plain "worse".
OUTCOME_MARKS = {"undetermined": "?", "underpowered": "‡"}
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


def headline_view(table: HeadlineTable) -> Table:
    """The headline table as a :class:`~ssl_xai_bench.report.render.Table`: the methods, then
    the controls apart (names in italics); a column per family (its short label for Markdown
    and LaTeX, its label, metric and unit for HTML)."""
    keys, _ = footnotes(table)
    heads = [Head("method", short="Method")] + [
        Head(c.label, c.direction, title=c.metric, short=c.short,
             detail=c.metric + (f" [{display_unit(c.unit)[1]}]" if c.unit else ""))
        for c in table.columns]
    groups = [Group([Row(Cell(m, italic=bool(label), note=keys.get(m, "")),
                         [_cell(table, keys, m, col.metric) for col in table.columns])
                     for m in names], label)
              for label, names in (("", table.methods), ("controls", table.controls))]
    return Table(heads, groups[:1] + [g for g in groups[1:] if g.rows])


def _cell(table: HeadlineTable, keys: dict[Any, str], method: str, metric: str) -> Cell:
    if (method, metric) in keys:
        word = "failed" if table.entry(method, metric).failed else "undef."
        return Cell(word=word, note=keys[(method, metric)])
    main, second, bold, marks = _parts(table, method, metric)
    return Cell(main, second, bold, marks) if main else Cell()


def _document(template: str, table: HeadlineTable, **context: Any) -> str:
    return render(template, title=table.title, kind=table.kind, table=headline_view(table),
                  legend=legend(table), footnotes=footnotes(table)[1], **context)


def to_markdown(table: HeadlineTable, provenance: Mapping[str, Any] | None = None) -> str:
    """GitHub Markdown: short headers, the CI after ``<br>``, controls after a separator row."""
    return _document("headline.md.j2", table, provenance=provenance_lines(provenance))


def latex_label(table: HeadlineTable) -> str:
    """``tab:ssl-xai-bench-headline-<slug>``."""
    scope = "-".join(slug(str(v)) for k, v in table.keys.items() if k in ("model", "condition")
                     and v is not None) or "overall"
    return f"tab:ssl-xai-bench-headline-{scope}"


def to_latex(table: HeadlineTable, provenance: Mapping[str, Any] | None = None,
             cite_key: str | None = None) -> str:
    """A booktabs ``table`` (needs ``\\usepackage{booktabs}``) that fits one page width."""
    return _document("headline.tex.j2", table, provenance=provenance_lines(provenance),
                     cite_key=cite_key, label=latex_label(table))


def to_html(table: HeadlineTable, table_id: str) -> str:
    """A ``<table class="headline">`` with full family names (``title``: the metric)."""
    return _document("headline.html.j2", table, table_id=table_id)


__all__ = ["DAGGER", "DISPLAY_UNITS", "display_unit", "footnotes", "headline_view",
           "latex_label", "legend", "to_html", "to_latex", "to_markdown"]
