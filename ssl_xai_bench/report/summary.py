"""The first screen of the report: a summary generated from the numbers, then the headline tables.

:func:`summary_section`: one sentence on the scope, the "which method, and when" table (per metric
family: the method(s) best or tied with the best in the most cells, over every cell and per model,
``k/n`` cells; a model column is marked with the conditions where the model does not localise,
i.e. its gain over the trivial predictor has a 95 % CI that reaches 0), then one line each on
localisation, sanity checks and controls that beat every method.

:func:`headline_section`: the overall headline table (:mod:`ssl_xai_bench.report.headline`), each
model's, and under each a collapsed block with its per-condition tables (mean [95 % CI] and tie
groups); links to the files and to ``cite.tex`` / ``cite.bib``.
"""

from __future__ import annotations

import pandas as pd

from ssl_xai_bench.report.citable import Written
from ssl_xai_bench.report.headline import HeadlineTable
from ssl_xai_bench.report.headline_render import to_html
from ssl_xai_bench.report.page import PageContext, e, file_links
from ssl_xai_bench.report.sanity import CHECKS
from ssl_xai_bench.report.tables.leaderboard import ARROWS

MAX_NAMES = 3


def winners(table: HeadlineTable, metric: str) -> str:
    """The best method(s) of a column as text: ``a, b (k/n)``; by mean when no tie is known."""
    marked = [m for m in table.methods if table.marked(m, metric)]
    if not marked:
        return "–"
    names = ", ".join(marked[:MAX_NAMES]) + (f" +{len(marked) - MAX_NAMES}"
                                             if len(marked) > MAX_NAMES else "")
    first = table.entry(marked[0], metric)
    if table.kind == "cell":
        known = all(table.entry(m, metric).tied is not None for m in table.methods
                    if not table.entry(m, metric).failed)
        return names + ("" if known else " (ties not tested)")
    if first.n_known == 0:
        return names + " (by mean)"
    return f"{names} ({first.n_tied}/{first.n_known})"


def _by_scope(ctx: PageContext) -> tuple[Written, list[Written]]:
    heads = ctx.citable.headline
    overall = next(w for w in heads if w.scope == "overall")
    models = [w for w in heads if w.scope == "model"]
    return overall, models


def summary_section(ctx: PageContext) -> str:
    """The generated summary (see the module docstring)."""
    overall, models = _by_scope(ctx)
    table = overall.table
    assert isinstance(table, HeadlineTable)
    n_models = len(dict.fromkeys(m for m, _ in table.cells))
    n_conds = len(dict.fromkeys(c for _, c in table.cells))
    scope = (f"{n_models} model(s) x {n_conds} condition(s) = {len(table.cells)} cell(s); "
             f"{len(table.methods)} attribution methods"
             + (f" and the controls {', '.join(table.controls)}" if table.controls else "")
             + ". Each entry: the method(s) best or statistically tied with the best (paired "
             "Wilcoxon, Holm) in the most cells, k/n cells.")
    bad = {cell: text for cell, (ok, text) in ctx.citable.localises.items() if not ok}
    head = ["family (headline metric)", "all cells" + (
        f'<br><small class="warn">⚠ {len(bad)} cell(s) where the model does not localise'
        "</small>" if bad else "")]
    for w in models:
        marks = [c for (m, c) in bad if m == w.model]
        head.append(e(w.model) + (f'<br><small class="warn">⚠ does not localise at '
                                  f'{e("; ".join(marks))}</small>' if marks else ""))
    rows = []
    for col in table.columns:
        row = [f"{e(col.label)} {ARROWS[col.direction]} <small>{e(col.metric)}</small>",
               e(winners(table, col.metric))]
        row += [e(winners(w.table, col.metric)) for w in models]  # type: ignore[arg-type]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    facts = []
    cells = len(ctx.citable.localises)
    if bad:
        facts.append("Does not localise (gain over the trivial predictor, 95 % CI not above 0): "
                     + "; ".join(f"{m} at {c} ({t})" for (m, c), t in bad.items())
                     + ": read the attributions of these cells with care.")
    elif cells:
        facts.append(f"Every model localises in every cell ({cells} cells: gain over the "
                     "trivial predictor with a 95 % CI above 0).")
    checks = ctx.citable.checks
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        names = sorted({f"{c.method} {CHECKS[c.check]}" for c in failed})
        facts.append(f"Sanity checks: {len(failed)} of {len(checks)} fail: " + "; ".join(names)
                     + " (flagged in the tables; details below).")
    elif checks:
        facts.append(f"Sanity checks: all {len(checks)} pass (random is the worst on "
                     "faithfulness and does not change under model randomisation; every LRP and "
                     "gradient method does).")
    facts += failures_fact(ctx.tidy)
    beats = [f"{m} on {col.label}" for col in table.columns for m in table.controls
             if table.entry(m, col.metric).beats_best]
    if beats:
        facts.append("A control beats the best attribution method (paired test) in at least one "
                     "cell: " + ", ".join(beats) + ".")
    return (f'<p class="lead">{e(scope)}</p><table id="summary-table" class="answer"><thead>'
            "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            + '<ul class="facts">' + "".join(f"<li>{e(f)}</li>" for f in facts) + "</ul>")


def headline_section(ctx: PageContext) -> str:
    """Overall and per-model headline tables, per-cell tables folded under each model."""
    overall, models = _by_scope(ctx)
    cells = [w for w in ctx.citable.headline if w.scope == "cell"]
    parts = [_table_html(ctx, overall, "headline-overall")]
    for i, w in enumerate(models):
        parts.append(_table_html(ctx, w, f"headline-model-{i}"))
        mine = [c for c in cells if c.model == w.model]
        if mine and len(mine) > 1:
            parts.append(f"<details><summary>{e(w.model)}: per condition (mean [95 % CI], tie "
                         "groups)</summary>" + "".join(
                             _table_html(ctx, c, f"headline-cell-{i}-{j}")
                             for j, c in enumerate(mine)) + "</details>")
    if not models and len(cells) > 1:
        parts.append("<details><summary>per cell (mean [95 % CI], tie groups)</summary>"
                     + "".join(_table_html(ctx, c, f"headline-cell-0-{j}")
                               for j, c in enumerate(cells)) + "</details>")
    files = ctx.citable.files
    parts.append('<p class="note">To cite: ' + ctx.link(files["cite_tex"], "cite.tex")
                 + " (the LaTeX of these tables; needs <code>\\usepackage{booktabs}</code>) and "
                 + ctx.link(files["cite_bib"], "cite.bib") + " (BibTeX from CITATION.cff). "
                 "Numbers: 3 significant digits here, full precision in the CSV files.</p>")
    return "".join(parts)


def _table_html(ctx: PageContext, w: Written, tid: str) -> str:
    table = w.table
    assert isinstance(table, HeadlineTable)
    title = table.title if w.scope != "overall" else f"All cells: {table.title}"
    return (f"<h3>{e(title)}</h3>" + to_html(table, tid)
            + f'<p class="note">Files: {file_links(ctx, w.files)}</p>')


def failures_fact(tidy: pd.DataFrame) -> list[str]:
    """One line counting the failed methods, cells and metric rows (none when nothing failed)."""
    failed = tidy[tidy["status"] == "failed"]
    if failed.empty:
        return []
    methods = list(dict.fromkeys(failed["method"]))
    cells = len(failed.groupby(["model", "condition"]))
    return [f"Failed: {len(methods)} method(s) ({', '.join(methods)}) in {cells} cell(s), "
            f"{len(failed)} metric row(s) of {len(tidy)}, for "
            f"{failed['reason'].nunique()} distinct reason(s) (footnotes of the tables)."]


def skill_line(ctx: PageContext) -> str:
    """One line per cell on the model's gain over the trivial predictor (for the details)."""
    return "".join(f"<li>{e(m)}, {e(c)}: {'localises' if ok else 'does not localise'} ({e(t)})"
                   "</li>" for (m, c), (ok, t) in ctx.citable.localises.items())


__all__ = ["failures_fact", "headline_section", "skill_line", "summary_section", "winners"]
