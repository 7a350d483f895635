"""The report's "Sweep" section: how the method rankings change with T60, SNR and the array.

A section builder of :mod:`ssl_xai_bench.report.html` (``build(ctx) -> html``): ``""`` for a run
that varies no factor; else, per metric of :data:`~ssl_xai_bench.report.sweep.SWEEP_METRICS`, the
rank agreement table (:func:`~ssl_xai_bench.report.sweep.rank_agreement`), the metric against
every varied factor and the ranks per condition (:mod:`ssl_xai_bench.report.figures.sweep`).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ssl_xai_bench.report.figures.sweep import plot_metric_vs_factor, plot_rank_bumps
from ssl_xai_bench.report.sweep import FACTORS, SWEEP_METRICS, is_sweep, rank_agreement, ranks


def _table(df: pd.DataFrame, digits: int = 2) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else html.escape(str(v))
                 for v in row]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def sweep_section(ctx: Any) -> str:
    """The report's "Sweep" section (a :class:`ssl_xai_bench.report.page.Section` builder):
    ``""`` when the run varies no factor; else, per metric, the rank agreement table, the
    metric against every varied factor and the ranks per condition."""
    board = ctx.tidy
    if not is_sweep(board):
        return ""
    varied = [f for f in FACTORS if board[f].nunique() > 1]
    parts = ["<p>How the ranking of the attribution methods changes between two levels of one "
             "factor with the other two held fixed: Kendall's tau between the two rankings "
             "averaged over those pairs of conditions (1 = same order, -1 = reversed), and the "
             "share of them with the same best method. Controls and TDoA baselines are not "
             "ranked; read every cell beside its model's skill (Summary).</p>"]
    for metric in SWEEP_METRICS:
        ranked = ranks(board, metric)
        if ranked.empty:
            continue
        parts.append(f"<h3 id='sweep-{html.escape(metric)}'>{html.escape(metric)}</h3>")
        agree = rank_agreement(ranked)
        if not agree.empty:
            parts.append(_table(agree))
        for factor in varied:
            parts.append(ctx.figs.add(
                lambda m=metric, f=factor: plot_metric_vs_factor(board, m, f),
                f"sweep_{metric}_{factor}"))
        parts.append(ctx.figs.add(lambda m=metric: plot_rank_bumps(board, m),
                                  f"sweep_ranks_{metric}"))
    return "\n".join(parts)


__all__ = ["sweep_section"]
