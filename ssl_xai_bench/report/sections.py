"""The report's sections after the headline: figures per family, details, provenance.

- :func:`figures_section`: model skill, then per metric family one heatmap figure per model (at
  most ``MAX_PANELS`` panels: a larger family is split), the manipulation curves under the
  manipulation family, the TDoA figures (constant estimator drawn) under the TDoA family, one
  window's ground-truth masks per condition under the localisation family, and last the
  relevance spectra (:mod:`ssl_xai_bench.report.spectra`);
- :func:`details_section`: the sanity checks, each family's full table (every metric; overall
  open, per cell folded), the TDoA tables of ``tdoa.csv`` with the microphone, constant and
  direct-path baselines, model skill, links to the all-metric wide leaderboards and the tidy CSV,
  and the inspection windows with their audio;
- :func:`provenance_section`: the run's provenance, last.
"""

from __future__ import annotations

import json

from ssl_xai_bench.report.audio import export_record_audio
from ssl_xai_bench.report.citable import Written
from ssl_xai_bench.report.figures import (
    load_inspection,
    plot_inspection,
    plot_manipulation_curves,
    plot_metric_heatmaps,
    plot_model_skill,
    plot_tdoa_summary,
    plot_tdoa_vs_spacing,
)
from ssl_xai_bench.report.figures.heatmaps import MAX_PANELS
from ssl_xai_bench.report.figures.masks import plot_masks
from ssl_xai_bench.report.figures.tdoa import estimator_order
from ssl_xai_bench.report.headline import BASELINE, BUILTIN_FAMILIES, method_families
from ssl_xai_bench.report.page import PageContext, e, file_links
from ssl_xai_bench.report.render import html_table, table_html
from ssl_xai_bench.report.spectra import spectra_html
from ssl_xai_bench.report.summary import skill_line
from ssl_xai_bench.report.tables import (
    Leaderboard,
    format_number,
    iter_cells,
    provenance_lines,
    skill_view,
    slug,
)
from ssl_xai_bench.report.tables import to_html as leaderboard_html


def _families(ctx: PageContext) -> list[str]:
    return list(dict.fromkeys(w.family for w in ctx.citable.families if w.family))


def figures_section(ctx: PageContext) -> str:
    """Figures grouped by metric family (see the module docstring)."""
    tidy, figs = ctx.tidy, ctx.figs
    parts = []
    if ctx.skill is not None:
        parts += ["<h3>Model skill</h3>", figs.add(plot_model_skill, "model_skill",
                                                   ctx.skill)]
    for family in _families(ctx):
        rows = tidy[tidy["category"] == family]
        metrics = list(dict.fromkeys(rows["metric"]))
        parts.append(f'<h3 id="fig-{e(slug(family))}">{e(family)}</h3>')
        for model in dict.fromkeys(rows["model"]):
            for i in range(0, len(metrics), MAX_PANELS):
                chunk = metrics[i:i + MAX_PANELS]
                parts.append(figs.add(
                    plot_metric_heatmaps,
                    f"heatmaps_{family}_{model}" + (f"_{i // MAX_PANELS}" if i else ""),
                    tidy, model, chunk, family))
        if family == "manipulation" and ctx.curves is not None:
            for model, cond in iter_cells(ctx.curves):
                parts.append(figs.add(plot_manipulation_curves, f"curves_{model}_{cond}",
                                      ctx.curves, model, cond))
        if family == "tdoa" and ctx.tdoa is not None:
            parts.append(_tdoa_figures(ctx))
        if family == "localisation":
            parts.append(_mask_figures(ctx))
    return "".join(parts) + spectra_html(ctx)


def _mask_figures(ctx: PageContext) -> str:
    """One window's masks under its signal per condition (its first inspection record)."""
    parts, seen = [], set()
    for path in sorted((ctx.results / "inspection").glob("*.npz")):
        rec = load_inspection(path)
        if rec.masks and rec.meta.get("condition") not in seen:
            seen.add(rec.meta.get("condition"))
            parts.append(ctx.figs.add(plot_masks, f"masks_{path.stem}", rec))
    return "".join(parts)


def _tdoa_figures(ctx: PageContext) -> str:
    tdoa, parts = ctx.tdoa, []
    assert tdoa is not None
    for model, cond in iter_cells(tdoa):
        parts.append(ctx.figs.add(plot_tdoa_summary, f"tdoa_{model}_{cond}", tdoa, model, cond))
        cell = tdoa[(tdoa["model"] == model) & (tdoa["condition"] == cond)]
        for variant in dict.fromkeys(cell["variant"]):
            parts.append(ctx.figs.add(plot_tdoa_vs_spacing,
                                      f"tdoa_spacing_{model}_{cond}_{variant}",
                                      tdoa, model, cond, variant))
    return "".join(parts)


def _family_html(ctx: PageContext, w: Written, tid: str) -> str:
    lb = w.table
    assert isinstance(lb, Leaderboard)
    families = {**BUILTIN_FAMILIES, **method_families(ctx.tidy)}
    baselines = {m: "baseline" for m in lb.methods if families.get(m) == BASELINE}
    return (f"<h4>{e(lb.title)}</h4>" + leaderboard_html(lb, tid, baselines)
            + f'<p class="note">Mean [95 % CI]; best per column in bold; files: '
            f"{file_links(ctx, w.files)}</p>")


def _sanity_html(ctx: PageContext) -> str:
    checks = ctx.citable.checks
    if not checks:
        return '<p class="note">No sanity check applies to this run.</p>'
    rows = [[e(c.check), e(c.model), e(c.condition), e(c.method),
             f'<span class="{"warn" if c.status == "fail" else ""}">{e(c.status)}</span>',
             e(c.detail)] for c in checks]
    return (html_table(["check", "model", "condition", "method", "status", "detail"], rows,
                       table_id="sanity-table", cls="plain")
            + f'<p class="note">{ctx.link(ctx.citable.files["sanity"], "sanity_checks.csv")}'
            "</p>")


def _tdoa_tables(ctx: PageContext) -> str:
    tdoa = ctx.tdoa
    if tdoa is None:
        return '<p class="note">tdoa.csv is missing in this run.</p>'
    cols = ["estimator", "variant", "pair", "spacing (m)", "anomaly rate (%) ↓",
            "MAE (samples) ↓", "Pearson r ↑", "Spearman ρ ↑", "zero-lag fraction",
            "non-finite windows"]
    parts, families = [], {**BUILTIN_FAMILIES, **method_families(ctx.tidy)}
    for model, cond in iter_cells(tdoa):
        cell = tdoa[(tdoa["model"] == model) & (tdoa["condition"] == cond)]
        rows, classes = [], []
        for name in estimator_order(cell):
            est = cell[cell["method"] == name].sort_values(["variant", "spacing_m"])
            for r in est.itertuples():
                rows.append([e(name), e(r.variant), e(r.pair), format_number(r.spacing_m),
                             format_number(100 * r.anomaly_rate), format_number(r.mae_samples),
                             format_number(r.pearson), format_number(r.spearman),
                             format_number(r.frac_zero_lag), e(r.n_nonfinite)])
                classes.append("baseline" if families.get(name) == BASELINE else "")
        parts.append(f"<details><summary>{e(model)}, {e(cond)}</summary>" + html_table(
            [e(c) for c in cols], rows, classes, table_id=f"tdoa-{slug(model)}-{slug(cond)}",
            cls="plain") + "</details>")
    return ('<p class="note">GCC-PHAT delays on the microphone signals, on each method\'s '
            "relevance and of the constant-lag estimator (always lag 0, shaded): a method is only "
            "credited where it beats that constant and its delays correlate with the true "
            "ones.</p>" + "".join(parts))


def _inspection(ctx: PageContext) -> str:
    files = sorted((ctx.results / "inspection").glob("*.npz"))
    if not files:
        return '<p class="note">No inspection windows in this run.</p>'
    parts = []
    for path in files:
        rec = load_inspection(path)
        audio = export_record_audio(rec, ctx.out / "audio", path.stem)
        parts.append(f"<h4>{e(rec.label)}</h4>" + ctx.figs.add(
            plot_inspection, f"inspection_{path.stem}", rec)
            + '<ul class="audio">' + "".join(
                f'<li>{e(label)}: <audio controls preload="metadata" '
                f'src="audio/{e(p.name)}"></audio> <a href="audio/{e(p.name)}">WAV</a></li>'
                for label, p in audio) + "</ul>")
    parts.append('<p class="note">Stereo WAV, 16-bit PCM: left = the pair\'s first microphone, '
                 "right = its second; microphones peak-normalised, relevance min-max scaled to "
                 "[-1, 1].</p>")
    return "".join(parts)


def details_section(ctx: PageContext) -> str:
    """Sanity checks, per-family tables, TDoA tables, model skill, inspection (see above)."""
    parts = ['<h3 id="sanity">Sanity checks</h3>', _sanity_html(ctx),
             '<h3 id="families">Every metric, per family</h3>']
    for i, family in enumerate(_families(ctx)):
        mine = [w for w in ctx.citable.families if w.family == family]
        top = [w for w in mine if w.scope == "overall"] or mine[:1]
        rest = [w for w in mine if w not in top]
        parts.append(f"<h4>{e(family)}</h4>" + "".join(
            _family_html(ctx, w, f"family-{i}-{j}") for j, w in enumerate(top)))
        if rest:
            parts.append(f"<details><summary>{e(family)} per cell</summary>" + "".join(
                _family_html(ctx, w, f"family-{i}-{j + len(top)}") for j, w in enumerate(rest))
                + "</details>")
    parts += ['<h3 id="tdoa">TDoA per pair, with the baselines</h3>', _tdoa_tables(ctx),
              '<h3 id="skill">Model skill</h3>', f'<ul class="note">{skill_line(ctx)}</ul>']
    if ctx.skill is not None and not ctx.skill.empty:
        parts.append(table_html(skill_view(ctx.skill), "skill-table", "plain"))
    parts.append('<p class="note">All metrics in one wide table per cell (not for print): '
                 + " ".join(ctx.link(p, p.stem) for p in sorted(
                     (ctx.out / "tables").glob("leaderboard_*.csv")))
                 + '. Tidy: <a href="tables/leaderboard_tidy.csv">leaderboard_tidy.csv</a>.</p>')
    parts += ['<h3 id="inspection">Inspection windows and audio</h3>', _inspection(ctx)]
    return "".join(parts)


def provenance_section(ctx: PageContext) -> str:
    """The run's provenance: summary lines and the raw ``provenance.json``."""
    prov, tidy = ctx.prov, ctx.tidy
    facts = [("results folder", ctx.results.name),
             ("models", ", ".join(dict.fromkeys(tidy["model"]))),
             ("conditions", ", ".join(dict.fromkeys(tidy["condition"]))),
             ("methods", ", ".join(dict.fromkeys(tidy["method"]))),
             ("metrics", str(tidy["metric"].nunique())),
             ("failed rows", str(int((tidy["status"] == "failed").sum())))]
    for k in ("command", "preset", "rir_convention", "date"):
        if prov and k in prov:
            facts.append((k, str(prov[k])))
    lines = "".join(f"<li>{e(s)}</li>" for s in provenance_lines(prov))
    raw = (f"<details><summary>provenance.json</summary><pre>{e(json.dumps(prov, indent=2))}"
           "</pre></details>" if prov else '<p class="note">provenance.json is missing.</p>')
    return (html_table(["item", "value"], [[e(k), e(v)] for k, v in facts],
                       table_id="provenance-table", cls="plain") + f"<ul>{lines}</ul>{raw}")


__all__ = ["details_section", "figures_section", "provenance_section"]
