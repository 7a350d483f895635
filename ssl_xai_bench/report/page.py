"""What a section of the report page receives, and small HTML helpers shared by the sections.

A section is a :class:`Section`: an anchor id, a navigation title and a builder
``build(ctx: PageContext) -> str`` returning the section's inner HTML (``""`` leaves the section
out). :class:`PageContext` holds the results folder and everything read from it once: the tidy
leaderboard, model skill, curves, TDoA rows, provenance, the citable artefacts already written
(:class:`ssl_xai_bench.report.citable.Citable`) and the :class:`FigureSet` to add figures with.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ssl_xai_bench.report.build_figures import FigureSet
from ssl_xai_bench.report.citable import Citable


@dataclass
class PageContext:
    """The inputs of every section builder (read once by ``build_report``)."""

    results: Path
    out: Path
    figs: FigureSet
    tidy: pd.DataFrame
    skill: pd.DataFrame | None
    curves: pd.DataFrame | None
    tdoa: pd.DataFrame | None
    prov: dict[str, Any] | None
    citable: Citable

    def link(self, path: Path, text: str | None = None) -> str:
        """``<a>`` to a file under the report folder, by its relative path."""
        rel = path.relative_to(self.out).as_posix()
        return f'<a href="{e(rel)}">{e(text or path.suffix.lstrip("."))}</a>'


@dataclass(frozen=True)
class Section:
    """One section of the page: ``<section id=anchor><h2>title</h2>build(ctx)</section>``."""

    anchor: str
    title: str
    build: Callable[[PageContext], str]


def e(x: Any) -> str:
    """HTML-escape ``x`` (quotes too)."""
    return html.escape(str(x), quote=True)


def read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV file, or None when it is missing or empty."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def file_links(ctx: PageContext, files: dict[str, Path]) -> str:
    """Links to a table's files and to its provenance sidecar."""
    side = files["csv"].with_name(files["csv"].name + ".provenance.json")
    return " ".join(ctx.link(p, kind) for kind, p in files.items()) + " " + ctx.link(
        side, "provenance")


__all__ = ["PageContext", "Section", "e", "file_links", "read_csv"]
