"""The numbers the READMEs state about the committed reference runs, recomputed from their files.

``README.md`` and ``results/README.md`` carry every number about a reference run inside a
generated block::

    <!-- numbers: skill results/default -->
    ... (written by scripts/readme_numbers.py) ...
    <!-- /numbers -->

A block names a builder (:data:`BLOCKS`) and a results folder relative to the repository root;
:func:`refresh` rewrites every block from the folder's CSV and JSON files, :func:`stale` lists
the blocks whose text differs from what the files give (``scripts/readme_numbers.py --check``,
run by the tests, so a README cannot state a number its CSVs do not hold). Prose outside the
blocks states no result.

Builders (each returns Markdown):

- ``run``: command, commit, configuration hash, CPU (model, native bfloat16, cores), the
  precision used, and the wall time and worker-seconds per stage beside the plan's prediction
  recorded in ``run_summary.json`` before the run started;
- ``skill``: per model and condition, the test MAE (m) [95 % CI], the paired gain over the
  trivial predictor [95 % CI] and whether the model localises; SRP-PHAT's; the counts;
- ``answers``: the headline's answer per family, over the counted cells and per model
  (:mod:`ssl_xai_bench.report.verdict`);
- ``agreement``: the sweep's rank agreement per headline metric and factor, with its units;
- ``removal``: whether the faithfulness winners depend on the removal baseline;
- ``bands``: which frequency bands each model's relevance uses;
- ``verdicts``: the study's claims (:mod:`ssl_xai_bench.reproduce.claims`), overall and per model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ssl_xai_bench.report.citable import headline_tables
from ssl_xai_bench.report.headline import HeadlineTable, load_pair_tests
from ssl_xai_bench.report.removal_agreement import removal_sentence
from ssl_xai_bench.report.sanity import localisation
from ssl_xai_bench.report.spectra import SPECTRA_FILE, band_sentences
from ssl_xai_bench.report.sweep import (
    localising_cells,
    metric_sources,
    rank_agreement,
    ranks,
    sweep_metrics,
    training_scope,
)
from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.document import build_reproduction

BLOCK = re.compile(r"(<!-- numbers: (\w+) (\S+) -->\n)(.*?)(<!-- /numbers -->)", re.S)


def _g(x: float, digits: int = 4) -> str:
    # within 1e-12 of 0 is float noise (a mean of Kendall taus that cancel: -7e-18), printed 0
    return "nan" if pd.isna(x) else format(round(float(x), 12) + 0.0, f".{digits}g")


def _ci(mean: float, low: float, high: float) -> str:
    return f"{_g(mean)} [{_g(low)}, {_g(high)}]"


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    return pd.read_csv(path) if path.is_file() else None


def _json(folder: Path, name: str) -> dict:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _minutes(seconds: float) -> str:
    m, s = divmod(round(float(seconds)), 60)
    return f"{m} min {s:02d} s"


def run_block(folder: Path) -> str:
    """The run's provenance and its measured times beside the plan's prediction."""
    prov, summary = _json(folder, "provenance.json"), _json(folder, "run_summary.json")
    machine = prov.get("machine", {})
    bf16 = machine.get("native_bf16")
    cpu = (f"{machine.get('cpu_model', machine.get('cpu', 'unknown'))}, "
           f"{machine.get('n_cores', '?')} cores, "
           + ("native bfloat16" if bf16 else "no native bfloat16" if bf16 is not None
              else "bfloat16 support not recorded"))
    precision = prov.get("config", {}).get("training", {}).get("precision", "unknown")
    plan = summary.get("plan", {})
    wall = summary.get("wall_seconds")
    rows = [["command", f"`{prov.get('command', '')}`"],
            ["commit", f"`{prov.get('git_commit', 'unknown')}`"],
            ["config hash", f"`{prov.get('config_hash', 'unknown')}`"],
            ["CPU", cpu], ["training precision", f"`{precision}`"],
            ["wall time", (_minutes(wall) if wall is not None else "not recorded")
             + (f" (plan before the run: {_minutes(plan['wall_seconds'])})" if plan else "")]]
    stages = sorted(set(summary.get("seconds", {})) | set(plan.get("stage_seconds", {})))
    times = [[s, _g(summary.get("seconds", {}).get(s, float("nan")), 5),
              _g(plan.get("stage_seconds", {}).get(s, float("nan")), 5)] for s in stages]
    return (_table(["", ""], rows) + "\n\nWorker-seconds per stage, measured and planned:\n\n"
            + _table(["stage", "measured (s)", "plan (s)"], times))


def skill_block(folder: Path) -> str:
    """Test MAE and paired gain over the trivial predictor per model and condition, and
    SRP-PHAT's (the same windows for every model: once per condition)."""
    skill = _read(folder, "model_skill.csv")
    if skill is None:
        return "No `model_skill.csv`."
    own = skill["predictor"].isin([*skill["model"], *(skill["model"] + " (external)")])
    srp = skill[skill["predictor"] == "srp_phat"].drop_duplicates("condition")
    rows, counts = [], {}
    for r in pd.concat([skill[own], srp]).sort_values(["t60", "snr_db", "geometry"]).itertuples():
        name = "SRP-PHAT" if r.predictor == "srp_phat" else r.predictor
        good = bool(r.gain_ci_low > 0)
        hits = counts.setdefault(name, [0, 0])
        hits[0], hits[1] = hits[0] + good, hits[1] + 1
        rows.append([name, r.condition, _ci(r.mae, r.ci_low, r.ci_high),
                     _ci(r.gain_vs_trivial, r.gain_ci_low, r.gain_ci_high),
                     "yes" if good else "**no**"])
    rows.sort(key=lambda row: (row[0] == "SRP-PHAT", row[0]))
    table = _table(["predictor", "condition", "test MAE (m) [95 % CI]",
                    "gain over trivial (m) [95 % CI]", "beats trivial"], rows)
    return table + "\n\n" + "; ".join(
        f"{name} beats the trivial predictor (gain CI above 0) in {k} of {n} cells"
        for name, (k, n) in counts.items()) + "."


def answers_block(folder: Path) -> str:
    """The headline answer of every family, over the counted cells and per model."""
    tidy = pd.read_csv(folder / "leaderboard.csv")
    loc = localisation(_read(folder, "model_skill.csv"))
    tables = headline_tables(tidy, load_pair_tests(folder), loc)
    overall = next(t for scope, _, _, t in tables if scope == "overall")
    models = [(m, t) for scope, m, _, t in tables if scope == "model"]
    localising = {cell for cell, (ok, _) in loc.items() if ok} if loc else None

    def answer(table: HeadlineTable, metric: str) -> str:
        # A table with no localising cell falls back to every cell (its title says so); an
        # answer line has no title, so it names the reason instead of answering.
        if localising is not None and not localising.intersection(table.counted):
            return "not counted: the model localises in no cell"
        return table.answers[metric].text() if metric in table.answers else "-"

    rows = [[f"{col.label} (`{col.metric}`)", answer(overall, col.metric)]
            + [answer(t, col.metric) for _, t in models] for col in overall.columns]
    head = ["family (headline metric)", f"all counted cells ({_counted(overall, localising)})"]
    return _table(head + [f"{m} ({_counted(t, localising)})" for m, t in models], rows)


def _counted(table: HeadlineTable, localising: set[tuple[str, str]] | None) -> str:
    n = len(table.cells) if localising is None else len(localising.intersection(table.cells))
    return f"{n} of {len(table.cells)}"


def agreement_block(folder: Path) -> str:
    """Rank agreement between the levels of each factor, over localising cells."""
    tidy = pd.read_csv(folder / "leaderboard.csv")
    keep = localising_cells(_read(folder, "model_skill.csv"))
    scope = training_scope(_json(folder, "provenance.json"))
    rows = []
    for metric in sweep_metrics(tidy):
        agree = rank_agreement(ranks(tidy, metric, keep), scope, metric_sources(tidy, metric))
        for r in agree.itertuples():
            rows.append([f"`{metric}`", r.model, r.factor, _g(r.kendall_tau, 3),
                         _g(r.same_best, 3), str(r.pairs), str(r.cells), str(r.trained_models),
                         str(r.sources_per_cell)])
    return _table(["metric", "model", "factor", "Kendall tau", "same best", "pairs", "cells",
                   "trained models", "sources per cell"], rows)


def removal_block(folder: Path) -> str:
    """Whether the faithfulness winners depend on the removal baseline."""
    text = removal_sentence(pd.read_csv(folder / "leaderboard.csv"))
    return text or "The run has one removal baseline."


def bands_block(folder: Path) -> str:
    """Which frequency bands each model's relevance uses."""
    lines = band_sentences(_read(folder, SPECTRA_FILE))
    return "\n".join(f"- {line}" for line in lines) or "No `spectra.csv`."


def verdicts_block(folder: Path) -> str:
    """The study's claims judged on the run, overall and per model."""
    rep = build_reproduction(folder)
    rows = [[claim, f"**{v.verdict}**", v.reason] for claim, v in rep.claims.items()]
    models = list(dict.fromkeys(c["model"] for c in rep.cells))
    for claim in rep.claims:
        for model in models:
            mine = [c for c in rep.cells if c["claim"] == claim and c["model"] == model]
            if mine:
                v = claims.aggregate_cells(mine)
                rows.append([f"{claim}, `{model}`", f"**{v.verdict}**", v.reason])
    return _table(["claim", "verdict", "evidence"], rows)


BLOCKS: dict[str, Callable[[Path], str]] = {
    "run": run_block, "skill": skill_block, "answers": answers_block,
    "agreement": agreement_block, "removal": removal_block, "bands": bands_block,
    "verdicts": verdicts_block,
}


def refresh(text: str, root: Path) -> str:
    """``text`` with every numbers block rewritten from its folder under ``root``."""
    def build(m: re.Match[str]) -> str:
        kind, folder = m.group(2), m.group(3)
        if kind not in BLOCKS:
            raise ValueError(f"numbers block: unknown kind {kind!r}; allowed: {list(BLOCKS)}")
        return m.group(1) + BLOCKS[kind](root / folder).rstrip() + "\n" + m.group(5)
    return BLOCK.sub(build, text)


def stale(path: Path, root: Path) -> list[str]:
    """The blocks of ``path`` whose text differs from what their folders give."""
    text = path.read_text(encoding="utf-8")
    fresh = refresh(text, root)
    old = {(m.group(2), m.group(3)): m.group(4) for m in BLOCK.finditer(text)}
    new = {(m.group(2), m.group(3)): m.group(4) for m in BLOCK.finditer(fresh)}
    return [f"{path.name}: {kind} {folder}" for (kind, folder), body in old.items()
            if new[(kind, folder)] != body]


__all__ = ["BLOCKS", "refresh", "stale"]
