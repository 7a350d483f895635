"""The citable artefacts of a results folder, written by the report and by
``ssl-xai-bench report --tables-only``.

Into ``<results>/report/tables/`` (or ``out_dir``):

- ``headline_overall.{csv,md,tex}``: the headline over every cell; ``headline_<model>.*`` per
  model (when there are several models) and ``headline_<model>_<condition>.*`` per cell (when
  there are several cells) (:mod:`ssl_xai_bench.report.headline`). The CSV is long: one row per
  (method, family) with the full-precision numbers, the tie marks and the method's flags;
- ``family_<category>_overall.*`` and ``family_<category>_<model>_<condition>.*``: every metric of
  one family (methods, then controls, then the TDoA / signal baselines), 4 significant digits,
  no mean rank (the metrics of a family still differ in scale);
- ``sanity_checks.csv`` (:mod:`ssl_xai_bench.report.sanity`);
- ``cite.tex``: the overall and per-model headline tables as one snippet to paste, and
  ``cite.bib``: BibTeX from ``CITATION.cff`` (:mod:`ssl_xai_bench.report.cite`).

Every table file has a ``<name>.provenance.json`` sidecar (as in
:mod:`ssl_xai_bench.report.tables`); Markdown and LaTeX carry the provenance as a footnote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report import cite
from ssl_xai_bench.report.headline import (
    BASELINE,
    CONTROL,
    HEADLINE,
    HeadlineSpec,
    HeadlineTable,
    aggregate_headline,
    cell_headline,
    headline_specs,
    load_pair_tests,
    method_families,
)
from ssl_xai_bench.report.headline_render import to_latex, to_markdown
from ssl_xai_bench.report.sanity import (
    Check,
    annotate,
    localisation,
    sanity_checks,
    sanity_table,
)
from ssl_xai_bench.report.tables import (
    Leaderboard,
    cell_leaderboard,
    overall_leaderboard,
    slug,
    to_wide,
    validate_tidy,
)
from ssl_xai_bench.report.tables import to_latex as lb_latex
from ssl_xai_bench.report.tables import to_markdown as lb_markdown


@dataclass
class Written:
    """One written table: its object, scope (``overall``, ``model``, ``cell``), model and
    condition (None where aggregated) and files (``csv``, ``md``, ``tex``)."""

    table: HeadlineTable | Leaderboard
    scope: str
    files: dict[str, Path]
    model: str | None = None
    condition: str | None = None
    family: str | None = None


@dataclass
class Citable:
    """What :func:`write_citable` wrote."""

    headline: list[Written] = field(default_factory=list)
    families: list[Written] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    specs: tuple[HeadlineSpec, ...] = HEADLINE
    localises: dict[tuple[str, str], tuple[bool, str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _sidecar(path: Path, prov: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> None:
    data = {"provenance": dict(prov or {}), **extra}
    path.with_name(path.name + ".provenance.json").write_text(
        json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")


def headline_frame(table: HeadlineTable) -> pd.DataFrame:
    """A headline table as long CSV rows (full precision)."""
    rows = []
    for role, names in (("method", table.methods), ("control", table.controls)):
        for method in names:
            for col in table.columns:
                e = table.entry(method, col.metric)
                rows.append({
                    "table": table.title, "method": method, "role": role,
                    "family": col.family, "metric": col.metric, "unit": col.unit,
                    "direction": col.direction, "mean": e.mean, "ci_low": e.ci_low,
                    "ci_high": e.ci_high, "best": e.best, "outcome": e.outcome,
                    "p_attainable": e.p_attainable, "passes_reference": e.passes,
                    "beats_best": e.beats_best,
                    "n_win": e.n_win if table.kind != "cell" else np.nan,
                    "n_cells": e.n_cells if table.kind != "cell" else np.nan,
                    "failed": e.failed, "undefined": e.undefined,
                    "answer": table.answers[col.metric].text() if col.metric in table.answers
                    else "", "flags": " | ".join(table.flags.get(method, [])),
                })
    return pd.DataFrame(rows)


def _family_order(tidy: pd.DataFrame, specs: Sequence[HeadlineSpec]) -> list[str]:
    present = list(dict.fromkeys(tidy["category"]))
    first = list(dict.fromkeys(spec.family for spec in specs if spec.family in present))
    return first + [f for f in present if f not in first]


def _by_role(rows: pd.DataFrame, fam: dict[str, str]) -> pd.DataFrame:
    rank = {m: (2 if f == BASELINE else 1 if f == CONTROL else 0) for m, f in fam.items()}
    return rows.sort_values("method", key=lambda s: s.map(rank), kind="stable")


def family_tables(tidy: pd.DataFrame, specs: Sequence[HeadlineSpec] = HEADLINE
                  ) -> list[tuple[str, str | None, str | None, Leaderboard]]:
    """``(category, model, condition, leaderboard)`` per family (the headline's first, in the
    order of ``specs``): overall (model and condition None, only with several cells) and per
    cell."""
    tidy = validate_tidy(tidy)
    fam = method_families(tidy)
    cells = list(dict.fromkeys(zip(tidy["model"], tidy["condition"], strict=True)))
    out: list[tuple[str, str | None, str | None, Leaderboard]] = []
    for category in _family_order(tidy, specs):
        rows = _by_role(tidy[tidy["category"] == category], fam)
        if len(cells) > 1:
            lb = overall_leaderboard(rows)
            lb.title = f"{category}: {lb.title}"
            out.append((category, None, None, lb))
        for model, condition in cells:
            sel = rows[(rows["model"] == model) & (rows["condition"] == condition)]
            if not sel.empty:
                lb = cell_leaderboard(sel, model, condition)
                lb.title = f"{category}: {lb.title}"
                out.append((category, model, condition, lb))
    return out


def headline_tables(tidy: pd.DataFrame, tests: pd.DataFrame | None,
                    localises: Mapping[tuple[str, str], tuple[bool, str]] | None = None,
                    specs: Sequence[HeadlineSpec] = HEADLINE
                    ) -> list[tuple[str, str | None, str | None, HeadlineTable]]:
    """``(scope, model, condition, table)``: overall, per model (several models), per cell
    (several cells), with the columns of ``specs``. Aggregated tables count only the cells
    where the model localises when ``localises``
    (:func:`ssl_xai_bench.report.sanity.localisation`) knows any cell."""
    tidy = validate_tidy(tidy)
    models = list(dict.fromkeys(tidy["model"]))
    cells = list(dict.fromkeys(zip(tidy["model"], tidy["condition"], strict=True)))
    counted = ({c for c, (ok, _) in localises.items() if ok} if localises else None)
    out = [("overall", None, None, aggregate_headline(tidy, tests, counted=counted,
                                                      specs=specs))]
    if len(models) > 1:
        out += [("model", m, None, aggregate_headline(tidy, tests, model=m, counted=counted,
                                                      specs=specs)) for m in models]
    if len(cells) > 1:
        out += [("cell", m, c, cell_headline(tidy, m, c, tests, specs)) for m, c in cells]
    return out


def write_citable(results: str | Path, out_dir: str | Path | None = None,
                  provenance: Mapping[str, Any] | None = None) -> Citable:
    """Write the citable artefacts of a results folder (see the module docstring).

    Parameters
    ----------
    results : path
        The harness's results folder (``leaderboard.csv`` required).
    out_dir : path, optional
        Destination (default ``results / "report" / "tables"``); created, files overwritten.
    provenance : mapping, optional
        ``provenance.json`` of the run (default: read from ``results``).

    Returns
    -------
    Citable
    """
    results = Path(results)
    if not (results / "leaderboard.csv").is_file():
        raise FileNotFoundError(f"results_dir: {results} has no leaderboard.csv")
    out = Path(out_dir) if out_dir is not None else results / "report" / "tables"
    out.mkdir(parents=True, exist_ok=True)
    prov_path = results / "provenance.json"
    if provenance is None and prov_path.is_file():
        provenance = json.loads(prov_path.read_text(encoding="utf-8"))
    tidy = validate_tidy(pd.read_csv(results / "leaderboard.csv"))
    tests = load_pair_tests(results)
    skill_path = results / "model_skill.csv"
    skill = pd.read_csv(skill_path) if skill_path.is_file() else None
    done = Citable(checks=sanity_checks(tidy, tests), localises=localisation(skill),
                   specs=headline_specs(results))

    for scope, model, cond, table in headline_tables(tidy, tests, done.localises, done.specs):
        annotate(table, done.checks, done.localises)
        files = _write_table(out, "headline_", (model, cond), provenance,
                             {"table": table.title, "scope": scope}, headline_frame(table),
                             to_markdown(table, provenance),
                             to_latex(table, provenance, cite.SUITE_KEY))
        done.headline.append(Written(table, scope, files, model, cond))
    for category, model, cond, lb in family_tables(tidy, done.specs):
        files = _write_table(out, f"family_{slug(category)}_", (model, cond), provenance,
                             {"table": lb.title, "family": category},
                             to_wide(lb, mean_rank=False),
                             lb_markdown(lb, provenance, mean_rank=False),
                             lb_latex(lb, provenance, mean_rank=False))
        done.families.append(Written(lb, "overall" if model is None else "cell", files, model,
                                     cond, category))
    _write_cite(done, out, results, provenance)
    return done


def _write_table(out: Path, prefix: str, scope: tuple[str | None, str | None],
                 provenance: Mapping[str, Any] | None, sidecar: Mapping[str, Any],
                 frame: pd.DataFrame, markdown: str, latex: str) -> dict[str, Path]:
    """``<prefix><model>_<condition>`` (or ``<prefix>overall``) as CSV, Markdown and LaTeX,
    each with its provenance sidecar; returns the files by kind."""
    stem = prefix + ("_".join(slug(x) for x in scope if x) or "overall")
    files = {"csv": out / f"{stem}.csv", "md": out / f"{stem}.md", "tex": out / f"{stem}.tex"}
    frame.to_csv(files["csv"], index=False)
    files["md"].write_text(markdown, encoding="utf-8")
    files["tex"].write_text(latex, encoding="utf-8")
    for p in files.values():
        _sidecar(p, provenance, sidecar)
    return files


def _write_cite(done: Citable, out: Path, results: Path,
                provenance: Mapping[str, Any] | None) -> None:
    """``sanity_checks.csv``, ``cite.tex`` (the overall and per-model headline tables) and
    ``cite.bib``."""
    done.files["sanity"] = out / "sanity_checks.csv"
    sanity_table(done.checks).to_csv(done.files["sanity"], index=False)
    _sidecar(done.files["sanity"], provenance, {"table": "sanity checks"})
    snippet = [(w.files["tex"].name, w.files["tex"].read_text(encoding="utf-8"))
               for w in done.headline if w.scope in ("overall", "model")]
    done.files["cite_tex"] = out / "cite.tex"
    done.files["cite_tex"].write_text(cite.latex_snippet(snippet), encoding="utf-8")
    done.files["cite_bib"] = out / "cite.bib"
    cff = cite.find_citation(results, Path.cwd())
    bib = (cite.bibtex(cite.load_citation(cff), provenance) if cff is not None else
           cite.bibtex({"title": "ssl-xai-bench"}, provenance).replace(
               "@software", "% CITATION.cff not found: a minimal entry\n@software", 1))
    done.files["cite_bib"].write_text(bib, encoding="utf-8")


__all__ = ["Citable", "Written", "family_tables", "headline_frame", "headline_tables",
           "write_citable"]
