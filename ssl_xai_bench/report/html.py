"""The static HTML report of one run: one folder that opens from disk (no server, no external URL).

``build_report(results_dir)`` reads the harness's results folder (``leaderboard.csv``,
``model_skill.csv``, ``curves.csv``, ``tdoa.csv``, ``paired_tests_all.csv``,
``inspection/*.npz``, ``provenance.json``), writes the citable tables
(:func:`ssl_xai_bench.report.citable.write_citable`) and the all-metric tables
(:func:`ssl_xai_bench.report.tables.write_tables`) into ``<out_dir>/tables/``, and writes
``<out_dir>/index.html`` with the sections of :data:`DEFAULT_SECTIONS`, in this order:

1. ``summary``: generated from the numbers: which method is best (or tied with the best) per
   metric family, overall and per model, the cells where a model does not localise, the sanity
   checks (:mod:`ssl_xai_bench.report.summary`);
2. ``headline``: the headline tables, overall and per model, per-cell tables folded;
   ``sweep`` (only for a run that varies T60, SNR or the array): how the rankings change
   (:mod:`ssl_xai_bench.report.sweep_section`); ``removal`` (only for a run with several removal
   baselines): whether the method ranks change with the baseline
   (:mod:`ssl_xai_bench.report.removal_agreement`);
3. ``figures``: per metric family (no figure over ``MAX_PANELS`` = 9 panels), with the
   manipulation curves and TDoA figures under their families (:mod:`ssl_xai_bench.report.sections`);
4. ``details``: sanity checks, every metric per family, TDoA tables with their baselines, model
   skill, inspection windows with audio;
5. ``provenance``.

Adding a section (e.g. a sweep): write ``build(ctx: PageContext) -> str`` returning the section's
inner HTML (``ctx.results`` is the results folder; ``ctx.figs.add(plot, stem, *args)`` adds the
figure ``plot(*args)`` returns, made in a worker process when ``plot`` is a module-level function;
return ``""`` to leave the section out) and put ``Section("sweep", "Sweep", build)`` into
:data:`DEFAULT_SECTIONS` where it belongs, or pass ``sections=`` to :func:`build_report`. No other
section changes; the navigation bar follows the list.

The page is ``templates/page.html.j2`` (style ``templates/report.css``). An inline script
(``templates/check.js``) checks, once the page has loaded, that every image decoded and every
audio file loaded, and records the result in ``document.body.dataset.check`` (``"ok"`` or the
failures) and script errors in ``document.body.dataset.errors``, and the page layout in
``document.body.dataset.layout`` (JSON: scroll and window widths in px, the vertical extent of the
summary and of the overall headline table); the tests read them back from headless Chromium.
Optional inputs that are missing produce a note in their section, not an error; a missing
``leaderboard.csv`` raises ``FileNotFoundError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ssl_xai_bench.report.build_figures import FigureSet, inputs_digest
from ssl_xai_bench.report.citable import write_citable
from ssl_xai_bench.report.page import PageContext, Section, read_csv
from ssl_xai_bench.report.removal_agreement import removal_section
from ssl_xai_bench.report.render import render
from ssl_xai_bench.report.sections import details_section, figures_section, provenance_section
from ssl_xai_bench.report.summary import headline_section, summary_section
from ssl_xai_bench.report.sweep_section import sweep_section
from ssl_xai_bench.report.tables import write_tables as _write_tables

__all__ = ["DEFAULT_SECTIONS", "PageContext", "Section", "build_report"]

#: The page, in order.
DEFAULT_SECTIONS: tuple[Section, ...] = (
    Section("summary", "Summary", summary_section),
    Section("headline", "Headline tables", headline_section),
    Section("sweep", "Sweep", sweep_section),
    Section("removal", "Removal baselines", removal_section),
    Section("figures", "Figures", figures_section),
    Section("details", "Details", details_section),
    Section("provenance", "Provenance", provenance_section),
)

def build_report(results_dir: str | Path, out_dir: str | Path | None = None,
                 sections: Sequence[Section] | None = None) -> Path:
    """Build the static HTML report of a results folder.

    Parameters
    ----------
    results_dir : path
        The harness's results folder of one run.
    out_dir : path, optional
        Destination folder (default ``results_dir / "report"``); created, files overwritten.
    sections : sequence of Section, optional
        The page's sections in order (default :data:`DEFAULT_SECTIONS`).

    Returns
    -------
    pathlib.Path
        The report's ``index.html``.
    """
    results = Path(results_dir)
    if not (results / "leaderboard.csv").is_file():
        raise FileNotFoundError(f"results_dir: {results} has no leaderboard.csv")
    out = Path(out_dir) if out_dir is not None else results / "report"
    out.mkdir(parents=True, exist_ok=True)
    tidy = pd.read_csv(results / "leaderboard.csv")
    skill = read_csv(results / "model_skill.csv")
    prov_path = results / "provenance.json"
    prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else None
    _write_tables(tidy, out / "tables", prov, skill)
    citable = write_citable(results, out / "tables", prov)
    figs = FigureSet(out, inputs_digest(results))
    ctx = PageContext(results=results, out=out, figs=figs, tidy=tidy, skill=skill,
                      curves=read_csv(results / "curves.csv"), tdoa=read_csv(results / "tdoa.csv"),
                      prov=prov, citable=citable)
    built = False
    try:
        page = _page(ctx, DEFAULT_SECTIONS if sections is None else sections)
        built = True
    finally:
        figs.close(complete=built)
    page = figs.fill(page)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _page(ctx: PageContext, sections: Sequence[Section]) -> str:
    """The page (``templates/page.html.j2``, with ``report.css`` and ``check.js``): the
    sections that have content, each in the navigation bar."""
    built = [(section, section.build(ctx)) for section in sections]
    return render("page.html.j2", name=ctx.results.name, sections=[
        {"anchor": s.anchor, "title": s.title, "html": inner} for s, inner in built if inner])
