"""The static HTML report of one run: one folder that opens from disk (no server, no external URL).

``build_report(results_dir)`` reads the harness's results folder (``leaderboard.csv``,
``model_skill.csv``, ``curves.csv``, ``tdoa.csv``, ``inspection/*.npz``, ``provenance.json``) and
writes ``<out_dir>/index.html`` with:

- the run summary and its provenance;
- the leaderboards (overall and per model x condition, :mod:`ssl_xai_bench.report.tables`) with
links to their tidy / wide CSV, Markdown, LaTeX and provenance sidecars in ``tables/``;
- the figures of :mod:`ssl_xai_bench.report.figures` (PNG shown, PDF linked, in ``figures/``), each
with a caption;
- the TDoA / channel-identity section: anomaly rate and MAE of GCC-PHAT on the signals, on each
  method's relevance and of the constant-lag estimator, the dependence on pair spacing, and the
  correlations of estimated with true delays;
- the inspection windows (best and worst test source per model x condition) with their WAV files
  (:mod:`ssl_xai_bench.report.audio`, in ``audio/``) in ``<audio>`` players.

An inline script checks, once the page has loaded, that every image decoded and every audio file
loaded, and records the result in ``document.body.dataset.check`` (``"ok"`` or the failures) and
script errors in ``document.body.dataset.errors``; the tests read it back from headless Chromium.
Optional inputs that are missing produce a note in their section, not an error; a missing
``leaderboard.csv`` raises ``FileNotFoundError``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ssl_xai_bench.report.audio import export_record_audio
from ssl_xai_bench.report.build_figures import FigureSet, inputs_digest
from ssl_xai_bench.report.figures import (
    load_inspection,
    plot_inspection,
    plot_manipulation_curves,
    plot_metric_heatmaps,
    plot_model_skill,
    plot_tdoa_summary,
    plot_tdoa_vs_spacing,
)
from ssl_xai_bench.report.figures.tdoa import estimator_order
from ssl_xai_bench.report.tables import (
    Leaderboard,
    format_number,
    iter_cells,
    provenance_lines,
    skill_cells,
    slug,
)
from ssl_xai_bench.report.tables import write_tables as _write_tables
from ssl_xai_bench.report.tables.leaderboard import SKILL_HEADER
from ssl_xai_bench.report.tables.render import cells

__all__ = ["build_report"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.8rem}
th,td{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #444}
figure{margin:1rem 0}
figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}
.note{font-size:.8rem;color:#555}
tr.baseline td{background:#f3f3f3;font-style:italic}
nav a{margin-right:1rem}
.scroll{overflow-x:auto}
td{white-space:nowrap}
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


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def _html_table(header: list[str], rows: list[list[str]], row_class: list[str] | None = None,
                table_id: str | None = None) -> str:
    tid = f' id="{_e(table_id)}"' if table_id else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        f'<tr{f" class={chr(34)}{row_class[i]}{chr(34)}" if row_class and row_class[i] else ""}>'
        + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for i, r in enumerate(rows))
    return (f'<div class="scroll"><table{tid} class="leaderboard"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table></div>")


def _leaderboard_html(lb: Leaderboard, files: dict[str, Path], out: Path, tid: str) -> str:
    header = ["method"] + [_e(c.label()) for c in lb.columns] + ["mean rank ↓"]
    body = cells(lb, ("<strong>", "</strong>"), "failed<sup>{letter}</sup>", _e)
    notes = "".join(f"<li><sup>{_e(letter)}</sup> {_e(m)} / {_e(k)}: failed: {_e(r)}</li>"
                    for letter, m, k, r in lb.footnotes())
    links = " ".join(
        f'<a href="{_e(p.relative_to(out).as_posix())}">{kind}</a>' for kind, p in files.items())
    side = files["csv"].with_name(files["csv"].name + ".provenance.json")
    return (f"<h3>{_e(lb.title)}</h3>" + _html_table(header, body, table_id=tid)
            + (f'<ul class="note">{notes}</ul>' if notes else "")
            + f'<p class="note">Mean [95 % CI]; best per column in bold; {links}; '
            f'<a href="{_e(side.relative_to(out).as_posix())}">provenance</a></p>')


def _skill_html(skill: pd.DataFrame | None) -> str:
    if skill is None or skill.empty:
        return ""
    return "<h4>Model skill</h4>" + _html_table([_e(h) for h in SKILL_HEADER],
                                                 skill_cells(skill, _e))


def _summary(results: Path, prov: dict[str, Any] | None, tidy: pd.DataFrame) -> str:
    n_failed = int((tidy["status"] == "failed").sum())
    facts = [("results folder", results.name), ("models", ", ".join(dict.fromkeys(tidy["model"]))),
             ("conditions", ", ".join(dict.fromkeys(tidy["condition"]))),
             ("methods", ", ".join(dict.fromkeys(tidy["method"]))),
             ("metrics", str(tidy["metric"].nunique())), ("failed cells", str(n_failed))]
    if prov:
        for k in ("command", "preset", "rir_convention", "date"):
            if k in prov:
                facts.append((k, str(prov[k])))
    rows = [[_e(k), _e(v)] for k, v in facts]
    lines = "".join(f"<li>{_e(s)}</li>" for s in provenance_lines(prov))
    raw = (f"<details><summary>provenance.json</summary><pre>{_e(json.dumps(prov, indent=2))}"
           "</pre></details>" if prov else '<p class="note">provenance.json is missing.</p>')
    return ('<section id="summary"><h2>Run summary and provenance</h2>'
            + _html_table(["item", "value"], rows, table_id="summary-table")
            + f"<ul>{lines}</ul>{raw}</section>")


def _tdoa_section(tdoa: pd.DataFrame | None, figs: FigureSet) -> str:
    parts = ['<section id="tdoa"><h2>TDoA and channel identity</h2><p class="note">GCC-PHAT '
             "delays estimated on the microphone signals, on each method's relevance, and by the "
             "constant-lag estimator (always lag 0, shaded): a method is only credited where it "
             "beats that constant and its delays correlate with the true ones.</p>"]
    if tdoa is None:
        return parts[0] + '<p class="note">tdoa.csv is missing in this run.</p></section>'
    for model, cond in iter_cells(tdoa):
        parts.append(f"<h3>{_e(model)}, {_e(cond)}</h3>")
        parts.append(figs.add(lambda m=model, c=cond: plot_tdoa_summary(tdoa, m, c),
                              f"tdoa_{model}_{cond}"))
        cell = tdoa[(tdoa["model"] == model) & (tdoa["condition"] == cond)]
        for variant in dict.fromkeys(cell["variant"]):
            parts.append(figs.add(
                lambda m=model, c=cond, v=variant: plot_tdoa_vs_spacing(tdoa, m, c, v),
                f"tdoa_spacing_{model}_{cond}_{variant}"))
        cols = ["estimator", "variant", "pair", "spacing (m)", "anomaly rate (%) ↓",
                "MAE (samples) ↓", "Pearson r ↑", "Spearman ρ ↑", "zero-lag fraction",
                "non-finite windows"]
        rows, classes = [], []
        for name in estimator_order(cell):
            est = cell[cell["method"] == name].sort_values(["variant", "spacing_m"])
            for r in est.itertuples():
                rows.append([_e(name), _e(r.variant), _e(r.pair), format_number(r.spacing_m),
                             format_number(100 * r.anomaly_rate), format_number(r.mae_samples),
                             format_number(r.pearson), format_number(r.spearman),
                             format_number(r.frac_zero_lag), _e(r.n_nonfinite)])
                classes.append("baseline" if name in ("constant", "microphones") else "")
        parts.append(_html_table([_e(c) for c in cols], rows, classes,
                                 table_id=f"tdoa-{slug(model)}-{slug(cond)}"))
    return "".join(parts) + "</section>"


def _inspection_section(results: Path, out: Path, figs: FigureSet) -> str:
    files = sorted((results / "inspection").glob("*.npz"))
    parts = ['<section id="inspection"><h2>Inspection windows and audio</h2>']
    if not files:
        return parts[0] + '<p class="note">No inspection windows in this run.</p></section>'
    for path in files:
        rec = load_inspection(path)
        parts.append(f"<h3>{_e(rec.label)}</h3>")
        parts.append(figs.add(lambda r=rec: plot_inspection(r), f"inspection_{path.stem}"))
        audio = export_record_audio(rec, out / "audio", path.stem)
        parts.append('<ul class="audio">' + "".join(
            f'<li>{_e(label)}: <audio controls preload="metadata" '
            f'src="audio/{_e(p.name)}"></audio> <a href="audio/{_e(p.name)}">WAV</a></li>'
            for label, p in audio) + "</ul>")
    parts.append('<p class="note">Stereo WAV, 16-bit PCM: left = the pair\'s first microphone, '
                 "right = its second; microphones peak-normalised, relevance min-max scaled to "
                 "[-1, 1].</p>")
    return "".join(parts) + "</section>"


def build_report(results_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Build the static HTML report of a results folder.

    Parameters
    ----------
    results_dir : path
        The harness's results folder of one run.
    out_dir : path, optional
        Destination folder (default ``results_dir / "report"``); created, files overwritten.

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
    skill = _read_csv(results / "model_skill.csv")
    curves = _read_csv(results / "curves.csv")
    tdoa = _read_csv(results / "tdoa.csv")
    prov_path = results / "provenance.json"
    prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else None
    figs = FigureSet(out, inputs_digest(results))
    built = False
    try:
        page = _page(results, out, figs, tidy, skill, curves, tdoa, prov)
        built = True
    finally:
        figs.close(complete=built)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _page(results: Path, out: Path, figs: FigureSet, tidy: pd.DataFrame,
          skill: pd.DataFrame | None, curves: pd.DataFrame | None, tdoa: pd.DataFrame | None,
          prov: dict[str, Any] | None) -> str:
    written = _write_tables(tidy, out / "tables", prov, skill)
    tables = ['<section id="leaderboards"><h2>Leaderboards</h2>']
    for i, entry in enumerate(written):
        tables.append(_leaderboard_html(entry["leaderboard"], entry["files"], out, f"lb-{i}"))
        tables.append(_skill_html(entry["skill"]))
    tables.append('<p class="note">Tidy table: <a href="tables/leaderboard_tidy.csv">'
                  "leaderboard_tidy.csv</a>. Numbers: 4 significant digits; CSV files keep full "
                  "precision.</p></section>")

    fig_parts = ['<section id="figures"><h2>Figures</h2>']
    if skill is not None:
        fig_parts.append(figs.add(lambda: plot_model_skill(skill), "model_skill"))
    for model in dict.fromkeys(tidy["model"]):
        fig_parts.append(figs.add(lambda m=model: plot_metric_heatmaps(tidy, m),
                                  f"heatmaps_{model}"))
    if curves is not None:
        for model, cond in iter_cells(curves):
            fig_parts.append(figs.add(
                lambda m=model, c=cond: plot_manipulation_curves(curves, m, c),
                f"curves_{model}_{cond}"))
    fig_parts.append("</section>")

    body = "".join([_summary(results, prov, tidy), "".join(tables), "".join(fig_parts),
                    _tdoa_section(tdoa, figs), _inspection_section(results, out, figs)])
    nav = "".join(f'<a href="#{s}">{t}</a>' for s, t in (
        ("summary", "Summary"), ("leaderboards", "Leaderboards"), ("figures", "Figures"),
        ("tdoa", "TDoA"), ("inspection", "Inspection")))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>ssl-xai-bench report</title>"
            f"<style>{_CSS}</style><script>{_CHECK_JS}</script></head>"
            '<body data-check="pending"><h1>ssl-xai-bench report</h1>'
            f"<nav>{nav}</nav>{body}</body></html>\n")
    return page
