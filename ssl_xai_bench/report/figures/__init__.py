"""Figures of the benchmark (matplotlib on Agg); PNG + PDF.

Every plot function takes DataFrames (or an inspection record) and returns ``(Figure, caption)``;
:func:`save_figure` writes ``<stem>.png`` and ``<stem>.pdf``. Axes carry units in parentheses.

- :func:`plot_manipulation_curves` (paper Fig. 3, Experiment A)
- :func:`plot_metric_heatmaps` (method x condition, one panel per metric)
- :func:`plot_tdoa_summary`, :func:`plot_tdoa_vs_spacing` (Experiment B, constant baseline,
  spacing)
- :func:`plot_model_skill` (model vs trivial vs SRP-PHAT)
- :func:`plot_inspection` (the paper's inspection figure for one window)
"""

from ssl_xai_bench.report.figures.common import condition_label, new_figure, save_figure
from ssl_xai_bench.report.figures.curves import plot_manipulation_curves
from ssl_xai_bench.report.figures.heatmaps import draw_metric_heatmap, plot_metric_heatmaps
from ssl_xai_bench.report.figures.inspection import (
    InspectionRecord,
    gcc_phat,
    load_inspection,
    minmax_unit,
    plot_inspection,
)
from ssl_xai_bench.report.figures.skill import plot_model_skill
from ssl_xai_bench.report.figures.tdoa import default_pair, plot_tdoa_summary, plot_tdoa_vs_spacing

__all__ = [
    "condition_label", "new_figure", "save_figure", "plot_manipulation_curves",
    "plot_metric_heatmaps", "draw_metric_heatmap", "InspectionRecord", "gcc_phat",
    "load_inspection", "minmax_unit",
    "plot_inspection", "plot_model_skill", "default_pair", "plot_tdoa_summary",
    "plot_tdoa_vs_spacing",
]
