"""The first screen of the report: a summary generated from the numbers, then the headline tables.

:func:`summary_section`: one sentence on the scope, the "which method, and when" table (per metric
family, over every counted cell and per model: a control that beats every method first, then the
winners with ``k/n`` cells, or "no method beats <reference>"; :mod:`ssl_xai_bench.report.verdict`
has the rules; a model column is marked with the conditions where the model does not localise,
i.e. its gain over the trivial predictor has a 95 % CI that reaches 0, and those cells are not
counted), then one line each on localisation, undefined scores, comparisons the design cannot
decide, and the sanity checks.

:func:`headline_section`: the overall headline table (:mod:`ssl_xai_bench.report.headline`), each
model's, and under each a collapsed block with its per-condition tables (mean [95 % CI],
outcomes against the best); links to the files and to ``cite.tex`` / ``cite.bib``.
"""

from __future__ import annotations

import pandas as pd

from ssl_xai_bench.report.citable import Written
from ssl_xai_bench.report.headline import HeadlineTable
from ssl_xai_bench.report.headline_render import to_html
from ssl_xai_bench.report.page import PageContext, e, file_links, read_csv
from ssl_xai_bench.report.removal_agreement import removal_sentence
from ssl_xai_bench.report.render import ARROWS, html_table
from ssl_xai_bench.report.sanity import CHECKS
from ssl_xai_bench.report.spectra import SPECTRA_FILE, band_sentences

MAX_NAMES = 3


def winners(table: HeadlineTable, metric: str) -> str:
    """The answer of a column as text (:meth:`ssl_xai_bench.report.verdict.Answer.text`)."""
    answer = table.answers.get(metric)
    return answer.text(MAX_NAMES) if answer is not None else "–"


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
             + ". Each entry: the method(s) that win the most cells, k/n (a winner is the best "
             "or shown equivalent to it within the metric's margin, and beats the family's "
             "reference: zero, the microphones, the controls); \"no method beats ...\" where "
             "none does; a control that beats every method is named first.")
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
        rows.append(row)
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
    removal = removal_sentence(ctx.tidy)  # does the faithfulness winner depend on the removal?
    if removal:
        facts.append(removal)
    facts += band_sentences(read_csv(ctx.results / SPECTRA_FILE), table.methods)
    facts += design_facts(ctx)
    facts += failures_fact(ctx.tidy)
    return (f'<p class="lead">{e(scope)}</p>'
            + html_table(head, rows, table_id="summary-table", cls="answer", scroll=False)
            + '<ul class="facts">' + "".join(f"<li>{e(f)}</li>" for f in facts) + "</ul>")


def design_facts(ctx: PageContext) -> list[str]:
    """Lines on undefined scores and on the comparisons the design cannot decide."""
    out = []
    tidy = ctx.tidy
    undefined = tidy[tidy["status"] == "undefined"]
    if not undefined.empty:
        metrics = ", ".join(f"{m} ({k})" for m, k in undefined["metric"].value_counts().items())
        out.append(f"{len(undefined)} metric value(s) are undefined (no finite window; e.g. "
                   f"{undefined['reason'].iloc[0]}): {metrics}. They take no part in ranks "
                   "or winners.")
    cells = [w.table for w in ctx.citable.headline if w.scope == "cell"] or [
        w.table for w in ctx.citable.headline if w.scope == "overall"]
    entries = [e for t in cells if isinstance(t, HeadlineTable) and t.kind == "cell"
               for e in t.entries.values() if e.outcome in ("underpowered", "undetermined")]
    if entries:
        weak = sum(e.outcome == "underpowered" for e in entries)
        out.append(f"{len(entries)} comparison(s) with the best are undecided (neither worse "
                   f"nor equivalent); {weak} of them could not have been decided with their "
                   "sources (smallest attainable Holm p >= 0.05, marked ‡).")
    return out


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
