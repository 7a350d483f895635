"""Shared plotting helpers: Agg-backed figures, saving as PNG + PDF, labels and line styles.

Every plot function of :mod:`ssl_xai_bench.report.figures` takes DataFrames (or an inspection
record) and returns ``(Figure, caption)``. Figures are created with
:class:`matplotlib.figure.Figure` on an Agg canvas, never through ``pyplot``: no global state, no
GUI backend, nothing to close.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["new_figure", "save_figure", "condition_label", "cell_rows", "RANKING_STYLE",
           "method_colors"]

#: line style per manipulation ranking, as in the paper's Fig. 3
RANKING_STYLE = {"relevance": "-", "random": "--", "energy": ":"}


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout Figure on an Agg canvas (``width`` x ``height`` inches)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path_stem: str | Path, dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.png`` and ``<path_stem>.pdf``; return both paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")]
    with mpl.rc_context({"pdf.fonttype": 42}):
        fig.savefig(paths[0], dpi=dpi)
        # The constrained layout is solved again on every save (a third of a report's time);
        # the PDF reuses the positions the PNG's solve just set.
        engine = fig.get_layout_engine()
        fig.set_layout_engine("none")
        try:
            fig.savefig(paths[1])
        finally:
            fig.set_layout_engine(engine)
    return paths


def cell_rows(table: pd.DataFrame, columns: Sequence[str], model: str, condition: str,
              what: str) -> pd.DataFrame:
    """The rows of one (model, condition) cell of a results table (``what``: its name in
    messages); ``ValueError`` when a column is missing or the cell has no row."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")
    rows = table[(table["model"] == model) & (table["condition"] == condition)]
    if rows.empty:
        raise ValueError(f"{what}: no rows for model={model!r}, condition={condition!r}")
    return rows


def condition_label(t60: float, snr_db: float) -> str:
    """``"T60 0.15 s, SNR 25 dB"``."""
    return f"T60 {float(t60):g} s, SNR {float(snr_db):g} dB"


def method_colors(names: list[str]) -> dict[str, tuple[float, float, float]]:
    """A stable colour per name (tab10 cycle, in the given order)."""
    cmap = mpl.colormaps["tab10"]
    return {n: cmap(i % 10)[:3] for i, n in enumerate(names)}
