"""The report's "Sweep" section: how the method rankings change with T60, SNR and the array.

A section builder of :mod:`ssl_xai_bench.report.html` (``build(ctx) -> html``): ``""`` for a run
that varies no factor; else, per headline metric
(:func:`~ssl_xai_bench.report.sweep.sweep_metrics`), the rank agreement table
(:func:`~ssl_xai_bench.report.sweep.rank_agreement`), the metric against every varied factor
and the ranks per condition (:mod:`ssl_xai_bench.report.figures.sweep`).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ssl_xai_bench.report.figures.sweep import plot_metric_vs_factor, plot_rank_bumps
from ssl_xai_bench.report.render import html_table
from ssl_xai_bench.report.sweep import (
    FACTORS,
    is_sweep,
    localising_cells,
    metric_sources,
    rank_agreement,
    ranks,
    scope_text,
    sweep_metrics,
    training_scope,
)


def _table(df: pd.DataFrame, digits: int = 2) -> str:
    cells = [[f"{v:.{digits}f}" if isinstance(v, float) else html.escape(str(v)) for v in row]
             for _, row in df.iterrows()]
    return html_table([html.escape(str(c)) for c in df.columns], cells, cls="")


def sweep_section(ctx: Any) -> str:
    """The report's "Sweep" section (a :class:`ssl_xai_bench.report.page.Section` builder):
    ``""`` when the run varies no factor; else, per metric, the rank agreement table, the
    metric against every varied factor and the ranks per condition."""
    board = ctx.tidy
    if not is_sweep(board):
        return ""
    varied = [f for f in FACTORS if board[f].nunique() > 1]
    localising = localising_cells(ctx.skill)
    scope = training_scope(ctx.prov)
    n_cells = board.drop_duplicates(["model", "condition"]).shape[0]
    counted = (f"Only the {len(localising)} of {n_cells} (model, condition) cells where the "
               "model localises (paired gain over the trivial predictor, 95 % CI above 0) are "
               "ranked; the others explain models that have not learnt the task."
               if localising is not None else "Model skill is unknown: every cell is ranked.")
    parts = ["<p>How the ranking of the attribution methods changes between two levels of one "
             "factor with the other two held fixed: Kendall's tau between the two rankings "
             "averaged over those pairs of conditions (1 = same order, -1 = reversed), and the "
             "share of them with the same best method. Controls and TDoA baselines are not "
             f"ranked. {html.escape(counted)} Beside each statistic, its independent units: "
             "pairs, cells, trained models (cells fine-tuned from one start count once) and "
             "the test sources behind one cell's value (those of its explained windows) "
             f"(training scope {html.escape(scope_text(scope))}).</p>"]
    for metric in sweep_metrics(board, ctx.citable.specs):
        ranked = ranks(board, metric, localising)
        if ranked.empty:
            continue
        parts.append(f"<h3 id='sweep-{html.escape(metric)}'>{html.escape(metric)}</h3>")
        agree = rank_agreement(ranked, scope, metric_sources(board, metric))
        if not agree.empty:
            parts.append(_table(agree))
        for factor in varied:
            parts.append(ctx.figs.add(plot_metric_vs_factor, f"sweep_{metric}_{factor}",
                                      board, metric, factor))
        parts.append(ctx.figs.add(plot_rank_bumps, f"sweep_ranks_{metric}",
                                  board, metric, localising))
    return "\n".join(parts)


__all__ = ["sweep_section"]
