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
   (:mod:`ssl_xai_bench.report.sweep_section`);
3. ``figures``: per metric family (no figure over ``MAX_PANELS`` = 9 panels), with the
   manipulation curves and TDoA figures under their families (:mod:`ssl_xai_bench.report.sections`);
4. ``details``: sanity checks, every metric per family, TDoA tables with their baselines, model
   skill, inspection windows with audio;
5. ``provenance``.

Adding a section (e.g. a sweep): write ``build(ctx: PageContext) -> str`` returning the section's
inner HTML (``ctx.results`` is the results folder, ``ctx.figs.add(make, stem)`` adds a figure;
return ``""`` to leave the section out) and put ``Section("sweep", "Sweep", build)`` into
:data:`DEFAULT_SECTIONS` where it belongs, or pass ``sections=`` to :func:`build_report`. No other
section changes; the navigation bar follows the list.

An inline script checks, once the page has loaded, that every image decoded and every audio file
loaded, and records the result in ``document.body.dataset.check`` (``"ok"`` or the failures) and
script errors in ``document.body.dataset.errors``, and the page layout in
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
from ssl_xai_bench.report.page import PageContext, Section, e, read_csv
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
    Section("figures", "Figures", figures_section),
    Section("details", "Details", details_section),
    Section("provenance", "Provenance", provenance_section),
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin:.8rem 0 .3rem}
h3{font-size:1rem;margin:.6rem 0 .2rem}h4{font-size:.9rem;margin:.5rem 0 .2rem}
table{border-collapse:collapse;margin:.3rem 0;font-size:.78rem}
th,td{border-bottom:1px solid #ccc;padding:.12rem .4rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #444;font-weight:600}
table.answer td,table.answer th{text-align:left}
table.headline th small{color:#666;font-weight:normal}
.ci{display:block;font-size:.68rem;color:#666}small.k{color:#666}
tbody.controls th{text-align:left;font-style:italic;font-weight:normal;color:#555;
  border-top:2px solid #444}
tbody.controls td{background:#f4f4f4}
sup.flag{color:#b00;font-weight:bold}.warn{color:#b00}
figure{margin:1rem 0}
figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}
.note,.facts,.lead{font-size:.8rem;color:#444;margin:.3rem 0}
ul.facts{padding-left:1.2rem}
tr.baseline td{background:#f3f3f3;font-style:italic}
nav{font-size:.85rem}nav a{margin-right:1rem}
.scroll{overflow-x:auto}
td{white-space:nowrap}
table.answer td{white-space:normal}
"""

_CHECK_JS = """
(function(){
  var errors = [];
  window.addEventListener('error', function(e){ errors.push(String(e.message || e.type)); });
  window.addEventListener('load', function(){
    var fails = [];
    document.querySelectorAll('img').forEach(function(i){
      if(!(i.complete && i.naturalWidth > 0)) fails.push('img:' + i.getAttribute('src'));
    });
    var audios = Array.prototype.slice.call(document.querySelectorAll('audio'));
    var pending = audios.length;
    function finish(){
      document.body.dataset.check = fails.length ? fails.join(' ') : 'ok';
      document.body.dataset.errors = errors.join(' | ');
      document.body.dataset.images = String(document.images.length);
      document.body.dataset.audios = String(audios.length);
      function box(sel){
        var el = document.querySelector(sel);
        if(!el) return null;
        var b = el.getBoundingClientRect();
        return [Math.round(b.top + window.scrollY), Math.round(b.bottom + window.scrollY)];
      }
      function right(sel){
        var el = document.querySelector(sel);
        return el ? Math.round(el.getBoundingClientRect().right) : null;
      }
      document.body.dataset.layout = JSON.stringify({
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        innerHeight: window.innerHeight, summary: box('#summary'),
        headline: box('#headline-overall'), summaryRight: right('#summary-table'),
        headlineRight: right('#headline-overall')});
    }
    function settle(){ pending -= 1; if(pending === 0) finish(); }
    if(pending === 0){ finish(); return; }
    audios.forEach(function(a){
      if(a.readyState >= 1){ settle(); return; }
      var seen = false;
      a.addEventListener('loadedmetadata', function(){ if(!seen){ seen = true; settle(); } });
      a.addEventListener('error', function(){
        if(!seen){ seen = true; fails.push('audio:' + a.getAttribute('src')); settle(); }
      });
      a.load();
    });
  });
})();
"""


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
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _page(ctx: PageContext, sections: Sequence[Section]) -> str:
    body, nav = [], []
    for section in sections:
        inner = section.build(ctx)
        if not inner:
            continue
        nav.append(f'<a href="#{e(section.anchor)}">{e(section.title)}</a>')
        body.append(f'<section id="{e(section.anchor)}"><h2>{e(section.title)}</h2>{inner}'
                    "</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>ssl-xai-bench report</title>"
            f"<style>{_CSS}</style><script>{_CHECK_JS}</script></head>"
            f'<body data-check="pending"><h1>ssl-xai-bench report: {e(ctx.results.name)}</h1>'
            f"<nav>{''.join(nav)}</nav>{''.join(body)}</body></html>\n")
