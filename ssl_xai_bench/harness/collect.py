"""Gather stored stage artifacts into a run's results folder (tidy CSV tables + provenance).

Written into ``<results_dir>/<name>/``:

- ``leaderboard.csv``: one row per (model, condition, method, metric), columns of
  ``docs/design.md`` (mean, 95 % CI over sources, n, non-finite count, status, reason) and the
  method's ``family`` (the attribution registry's ``lrp``, ``gradient``, ``perturbation``,
  ``control`` or ``user``; ``baseline`` for the signal rows: microphones, constant, direct path);
- ``model_skill.csv``: test-set localization error of each model and of the baselines, with the
  paired gain over the trivial predictor (:func:`ssl_xai_bench.metrics.skill.predictor_skill`);
- ``curves.csv``: manipulation curves (MAE vs fraction removed) per method and ranking;
- ``tdoa.csv``: TDoA per variant and pair for microphone signals, the constant estimator and
  each method;
- ``spectra.csv``: relevance power per frequency band of each method, with the microphone
  signals, the direct path and the PHAT weighting (:mod:`ssl_xai_bench.metrics.spectrum`);
- ``paired_tests.csv``: each method against LRP per metric, paired by source
  (:mod:`ssl_xai_bench.metrics.comparisons`: Wilcoxon difference test and TOST equivalence
  test, Holm over the attribution methods of a cell, the controls a family of their own, the
  attainable p and the outcome ``better``/``worse``/``equivalent``/``underpowered``/
  ``undetermined``);
- ``paired_tests_all.csv``: the same with every method in turn as the reference (all ordered
  pairs; its ``reference == "lrp"`` rows are ``paired_tests.csv``): the report compares each
  method with the best of a column, and each method with the controls;
- ``metrics.json``: every metric's spec (category, direction, unit, margin, headline column)
  with its family and the family's source (built-in or a plug-in): the report's headline columns
  come from it;
- ``inspection/*.npz``: best and worst test source of each (model, condition) with every
  method's relevance (for the report's inspection figures and audio);
- ``provenance.json`` and ``run_summary.json`` (what was computed, what failed).

Rows are sorted deterministically so the same stored results give byte-identical CSVs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.attributions import get_method
from ssl_xai_bench.harness.config import BenchConfig
from ssl_xai_bench.harness.execute import StageResult
from ssl_xai_bench.harness.graph import StageGraph
from ssl_xai_bench.harness.inspection import write_inspection
from ssl_xai_bench.harness.provenance import make_provenance
from ssl_xai_bench.harness.stages import baselines as baselines_stage
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.store import ArtifactStore
from ssl_xai_bench.metrics.comparisons import COLUMNS as COMPARISON_COLUMNS
from ssl_xai_bench.metrics.comparisons import all_paired_tests, paired_tests
from ssl_xai_bench.metrics.registry import families, metric_specs
from ssl_xai_bench.metrics.skill import predictor_skill
from ssl_xai_bench.metrics.stats import SUMMARY_FIELDS

LEADERBOARD_COLUMNS = [
    "model",
    "condition",
    "t60",
    "snr_db",
    "geometry",
    "method",
    "metric",
    "category",
    "direction",
    "unit",
    *SUMMARY_FIELDS,
    "status",
    "reason",
]
#: ``family`` of the signal rows (microphones, constant estimator, direct path). The ``family``
#: column follows ``LEADERBOARD_COLUMNS`` (older results folders have none).
BASELINE_FAMILY = "baseline"
#: Registry family of the controls (random, energy): reference rows, not competitors.
CONTROL_FAMILY = "control"
CELL_COLUMNS = ["model", "condition", "t60", "snr_db", "geometry"]
#: The run's metric specs (:func:`metrics_table`; ``ssl_xai_bench.report.headline`` reads it).
METRICS_FILE = "metrics.json"


@dataclass
class _Gathered:
    """What the stored artifacts of a run hold: leaderboard rows (the metric cells', then the
    signal rows'), the extra tables' frames, the failed cells and the failed metrics."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: list[pd.DataFrame] = field(default_factory=list)
    tdoa: list[pd.DataFrame] = field(default_factory=list)
    spectra: list[pd.DataFrame] = field(default_factory=list)
    failed_cells: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    failed_metrics: list[dict[str, str]] = field(default_factory=list)

    def add_tables(self, art: Any, ident: dict[str, Any], curves: bool = True) -> None:
        for name in ("curves", "tdoa", "spectra") if curves else ("tdoa", "spectra"):
            getattr(self, name).append(_read_csv(art.file(f"{name}.csv"), ident))


def collect(
    cfg: BenchConfig,
    graph: StageGraph,
    results: list[StageResult],
    out_dir: Path,
    command: str = "",
) -> dict[str, Any]:
    """Write the results folder from the store; returns the run summary."""
    store = ArtifactStore(cfg.store_path())
    out_dir.mkdir(parents=True, exist_ok=True)
    status = {(r.stage, r.key): r for r in results}
    got = _Gathered()
    for cell in graph.cells:
        _gather_cell(got, store, cell, status[("metrics", cell["metrics"])])
    got.rows += _failed_rows(got.failed_cells, got.rows)
    for cond in graph.conditions:
        _gather_signals(got, store, graph, cond)
    _write_tables(got, store, graph, out_dir)
    write_inspection(store, graph, out_dir / "inspection")
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics_table(), indent=2))
    provenance = make_provenance(cfg, command)
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True))
    summary = run_summary(results, got.failed_metrics)
    (out_dir / "run_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return summary


def _gather_cell(got: _Gathered, store: ArtifactStore, cell: dict[str, Any],
                 result: StageResult) -> None:
    """The rows and tables of one (model, method, condition) cell, or its failure."""
    ident = {**{k: cell[k] for k in CELL_COLUMNS}, "method": cell["method"]}
    art = store.get("metrics", cell["metrics"]) if result.ok else None
    if art is None:
        got.failed_cells.append((ident, _one_line(result.reason or "artifact missing")))
        return
    family = {"family": _family(cell["method"])}
    for row in json.loads(art.file("rows.json").read_text("utf-8")):
        got.rows.append({**ident, "status": "ok", "reason": "", **row, **family})
        if row.get("status") == "failed":
            got.failed_metrics.append({"label": f"{ident['model']} {ident['method']} "
                                       f"{ident['condition']}", "metric": row["metric"],
                                       "reason": row.get("reason", "")})
    got.add_tables(art, ident)


def _gather_signals(got: _Gathered, store: ArtifactStore, graph: StageGraph,
                    cond: dict[str, Any]) -> None:
    """The method-independent rows of a condition, once for every model evaluated there."""
    sig = store.get("signals", cond["signals"])
    if sig is None:
        return
    ident = {k: cond[k] for k in ("condition", "t60", "snr_db", "geometry")}
    for model in sorted({c["model"] for c in graph.cells if c["condition"] == cond["condition"]}):
        got.add_tables(sig, {**ident, "model": model}, curves=False)
        for row in json.loads(sig.file("rows.json").read_text("utf-8")):
            got.rows.append({**ident, "model": model, "method": row.pop("method", "signals"),
                             "status": "ok", "reason": "", **row, "family": BASELINE_FAMILY})


def _write_tables(got: _Gathered, store: ArtifactStore, graph: StageGraph,
                  out_dir: Path) -> None:
    """leaderboard, model skill, curves, TDoA, spectra and paired tests, as CSV."""
    _frame(got.rows, LEADERBOARD_COLUMNS, ["model", "condition", "method", "metric"]).to_csv(
        out_dir / "leaderboard.csv", index=False)
    skill_table(store, graph).to_csv(out_dir / "model_skill.csv", index=False)
    for name, sort in (("curves", ["ranking", "fraction"]), ("tdoa", ["variant", "pair"]),
                       ("spectra", ["f_low_hz"])):
        _concat(getattr(got, name), ["model", "condition", "method", *sort]).to_csv(
            out_dir / f"{name}.csv", index=False)
    every_pair = paired_tests_table(store, graph, reference=None)
    every_pair.to_csv(out_dir / "paired_tests_all.csv", index=False)
    # its rows against lrp are paired_tests(reference="lrp")'s (tests/metrics/test_comparisons)
    every_pair[every_pair["reference"] == "lrp"].to_csv(out_dir / "paired_tests.csv", index=False)


def run_summary(results: list[StageResult], failed_metrics: list[dict[str, str]]
                ) -> dict[str, Any]:
    """``run_summary.json``: nodes computed and stored per stage, failures, seconds and peak
    memory per stage, and every computed node with when it started (seconds after the first
    node started: a worker's idle time is visible between its nodes)."""
    first = min((r.started for r in results if r.started), default=0.0)
    return {
        "computed": _count(results, computed=True),
        "stored": _count(results, computed=False),
        "failed": [{"stage": r.stage, "label": r.label, "reason": r.reason}
                   for r in results if not r.ok],
        "failed_metrics": failed_metrics,
        "seconds": {stage: round(sum(r.seconds for r in results if r.stage == stage), 2)
                    for stage in sorted({r.stage for r in results})},
        "peak_rss_mb": {stage: max(r.peak_rss_mb for r in results if r.stage == stage)
                        for stage in sorted({r.stage for r in results if r.computed})},
        "computed_nodes": sorted(
            ({"stage": r.stage, "label": r.label, "seconds": round(r.seconds, 2),
              "started_s": round(r.started - first, 2), "peak_rss_mb": r.peak_rss_mb}
             for r in results if r.computed),
            key=lambda d: (d["stage"], d["label"])),
    }


def metrics_table() -> list[dict[str, Any]]:
    """``metrics.json``: every registered metric's spec (name, category, direction, unit,
    description, margin, paired, headline column or None) with its family and the family's
    source, in evaluation order; the report builds the headline columns from it."""
    return [{**asdict(spec), "family": family.name, "source": family.source}
            for family in families() for spec in family.metrics]


def _failed_rows(
    failed_cells: list[tuple[dict[str, Any], str]], ok_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One ``failed`` row per metric for each failed cell: the metrics the run's other cells
    report (every registered metric when none succeeded), with their category, direction and
    unit, so a failed cell shows in every table and figure as 'failed', not as a gap."""
    names = list(dict.fromkeys(r["metric"] for r in ok_rows))
    specs = metric_specs()
    names = [n for n in names if n in specs] or list(specs)
    out = []
    for ident, reason in failed_cells:
        for name in names:
            spec = specs[name]
            out.append({**ident, "metric": name, "category": spec.category,
                        "direction": spec.direction, "unit": spec.unit, "status": "failed",
                        "reason": reason, "family": _family(ident["method"])})
    return out


def _family(method: str) -> str:
    """The registry's family of ``method`` (``user`` for a method no longer registered)."""
    try:
        return get_method(method).family
    except ValueError:
        return "user"


def _count(results: list[StageResult], computed: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        if r.ok and r.computed == computed:
            out[r.stage] = out.get(r.stage, 0) + 1
    return dict(sorted(out.items()))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _read_csv(path: Path, ident: dict[str, Any]) -> pd.DataFrame:
    """A stage's CSV with the cell identity; a TDoA ``estimator`` becomes the ``method``."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    if "estimator" in df.columns:
        df = df.rename(columns={"estimator": "method"})
    for key, value in ident.items():
        if key not in df.columns:
            df.insert(0, key, value)
    return df


def _frame(rows: list[dict[str, Any]], columns: list[str], sort: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col in columns:
        if col not in df.columns:
            df[col] = np.nan
    for col in df.columns:
        # Integer columns stay integers when a failed cell leaves them empty, so one failed cell
        # does not turn every other row's "8" into "8.0".
        values = [r[col] for r in rows if r.get(col) is not None]
        if values and all(isinstance(x, int | np.integer) and not isinstance(x, bool)
                          for x in values):
            df[col] = df[col].astype("Int64")
    df = df[columns + [c for c in df.columns if c not in columns]]
    return df.sort_values(sort, kind="stable").reset_index(drop=True)


def _concat(frames: list[pd.DataFrame], sort: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    front = [c for c in CELL_COLUMNS + ["method"] if c in df.columns]
    df = df[front + [c for c in df.columns if c not in front]]
    return df.sort_values([c for c in sort if c in df.columns], kind="stable").reset_index(
        drop=True
    )


def skill_table(store: ArtifactStore, graph: StageGraph) -> pd.DataFrame:
    """``model_skill.csv``'s rows: every model's and baseline's test error per condition, with
    the paired gain over the trivial predictor (needs the windows, baselines and model nodes)."""
    rows = [r for cond in graph.conditions for r in _skill_rows(store, graph, cond)]
    df = pd.DataFrame(rows)
    return df if df.empty else df.sort_values(["model", "condition", "predictor"], kind="stable")


def _skill_rows(
    store: ArtifactStore,
    graph: StageGraph,
    cond: dict[str, Any],
) -> list[dict[str, Any]]:
    windows = store.get("windows", cond["windows"])
    if windows is None:
        return []
    test = windows_stage.load(windows, "test")
    ident = {k: cond[k] for k in ("condition", "t60", "snr_db", "geometry")}
    preds: dict[str, np.ndarray] = {}
    base = store.get("baselines", cond["baselines"])
    if base is not None:
        preds.update(baselines_stage.load(base))
    models = {}
    for cell in graph.cells:
        if cell["condition"] == cond["condition"]:
            models[cell["model"]] = cell["model_key"]
    rows = []
    for model, key in sorted(models.items()):
        art = store.get("model", key)
        model_preds = dict(preds)
        if art is not None:
            label = model if art.meta.get("source") != "external" else f"{model} (external)"
            model_preds[label] = model_stage.load_predictions(art)
        rows += [{**ident, "model": model, **row} for row in predictor_skill(
            model_preds, test.positions, test.source_ids)]
    return rows


def paired_tests_table(
    store: ArtifactStore, graph: StageGraph, reference: str | None = "lrp"
) -> pd.DataFrame:
    """Per (model, condition, metric): each method vs ``reference``, paired by test source
    (:func:`ssl_xai_bench.metrics.comparisons.paired_tests`: Wilcoxon and TOST, Holm over the
    attribution methods, the controls a family of their own, the attainable p and the outcome).

    ``reference=None`` takes every method of the cell in turn as the reference (all ordered
    pairs); its rows with ``reference == "lrp"`` are the default table's rows. Metrics whose
    spec says ``paired=False`` (values on method-dependent windows) get no test.
    """
    specs = metric_specs()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell in graph.cells:
        groups.setdefault((cell["model"], cell["condition"]), []).append(cell)
    frames = []
    for (model, cond), cells in sorted(groups.items()):
        per_method, source_ids = _per_window_scores(store, cells)
        if len(per_method) < 2 or source_ids is None:
            continue
        if reference is not None and reference not in per_method:
            continue
        controls = {m for m in per_method if _family(m) == CONTROL_FAMILY}
        metrics = sorted(set.intersection(*(set(d) for d in per_method.values())))
        for metric in metrics:
            spec = specs.get(metric)
            if spec is not None and not spec.paired:
                continue
            values = {
                m: d[metric] for m, d in per_method.items() if d[metric].shape == source_ids.shape
            }
            if len(values) < 2 or (reference is not None and reference not in values):
                continue
            how = {"controls": controls, "direction": spec.direction if spec else "up",
                   "margin": spec.margin if spec else None}
            table = (all_paired_tests(values, source_ids, **how) if reference is None
                     else paired_tests(values, source_ids, reference, **how))
            frames.append(table.assign(model=model, condition=cond, metric=metric))
    columns = ["model", "condition", "metric", *COMPARISON_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _per_window_scores(
    store: ArtifactStore, cells: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray | None]:
    """Method -> metric -> per-window scores of one (model, condition), and the source of each
    explained window (None when nothing is stored)."""
    per_method: dict[str, dict[str, np.ndarray]] = {}
    index = None
    for cell in cells:
        art = store.get("metrics", cell["metrics"])
        att = store.get("attribution", cell["attribution"])
        if art is None or att is None or not art.file("per_window.npz").is_file():
            continue
        with np.load(art.file("per_window.npz")) as z:
            per_method[cell["method"]] = {k: z[k] for k in z.files}
        index = np.load(att.file("index.npy"))
    win = store.get("windows", cells[0]["windows"])
    if win is None or index is None:
        return per_method, None
    return per_method, windows_stage.load(win, "test").source_ids[index]
