"""Headline leaderboards: one column per metric family, the best method, its equivalents, and
whether anyone beats the family's reference at all.

A headline table answers "which method" per metric family with one metric each: the metrics
that declare a headline column (``docs/metrics.md``, "Headline table"), read from the results
folder's ``metrics.json`` (:func:`headline_specs`; :data:`HEADLINE` for older folders); a
family whose metric is absent from a run leaves its column out. Rows are the attribution methods
(registry families ``lrp``, ``gradient``, ``perturbation``, ``user``) and, apart, the controls
(``random``, ``energy``) as reference rows; the TDoA baselines (family ``baseline``) never
appear here.

- **Cell tables** (one model, one condition): mean [95 % CI] as in ``leaderboard.csv``. Every
  attribution method is compared with the best by mean (the rows of ``paired_tests_all.csv``
  whose reference is the best; :mod:`ssl_xai_bench.metrics.comparisons`): ``equivalent``
  (TOST within the metric's margin), ``worse``, ``undetermined`` or ``underpowered`` (the
  design's smallest attainable Holm p is not below alpha). **Bold: the best and its
  equivalents only**; non-significance is never read as a tie. The best and its equivalents
  are **winners** only where they beat the column's reference (:class:`HeadlineSpec`: floors
  whose 95 % CI must lie on the good side of 0, and every control, by a paired test); where a
  control is significantly better than the best method it beats every method (``†``).
  Failed and undefined entries take no part in any of this.
- **Aggregated tables** (one model over its conditions, or every cell), over the *counted*
  cells (where the model localises, when that is known): no pooled CI is pretended; a value is
  the equal-weight mean of the counted cells' means, ``k/n`` the counted cells where the
  method is a winner. Bold: the largest ``k`` (none when no method wins anywhere).

Each table carries an :class:`Answer` per column (winners, the controls that beat every
method, the reference), from which the report's summary is written. Method families come from
the ``family`` column of ``leaderboard.csv`` (older results: :data:`BUILTIN_FAMILIES`, else
``user``). Numbers: 3 significant digits for means, 2 for CI bounds (the CSVs keep all).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report.tables.leaderboard import validate_tidy
from ssl_xai_bench.report.verdict import (
    ALPHA,
    Answer,
    Entry,
    HeadlineColumn,
    HeadlineSpec,
    aggregate_answer,
    cell_answer,
    load_pair_tests,
    outcome_of,
    pair_test,
)

#: The built-in headline columns, for results folders written before ``metrics.json`` (whose
#: metrics declare their own: :func:`headline_specs`).
HEADLINE: tuple[HeadlineSpec, ...] = (
    HeadlineSpec("faithfulness", "faithfulness_correlation", "Faithfulness", "Faithf.",
                 ("faithfulness_correlation",), "zero correlation and the controls"),
    HeadlineSpec("manipulation", "manipulation_srg_noisy_linear", "Manipulation", "Manip.",
                 ("manipulation_srg_noisy_linear",),
                 "no gain (MoRF no steeper than LeRF) and the controls",
                 fallbacks=(("manipulation_srg",
                             "no gain (MoRF no steeper than LeRF) and the controls"),
                            ("manipulation_gap_at_10",
                             "random removal (gap > 0) and the controls"))),
    HeadlineSpec("robustness", "max_sensitivity", "Robustness", "Robust.", (), "the controls"),
    HeadlineSpec("randomisation", "efficient_mprt", "Randomisation", "Random.",
                 ("efficient_mprt",), "no change (0) and the controls"),
    HeadlineSpec("complexity", "sparseness", "Complexity", "Compl.", (), "the controls"),
    HeadlineSpec("tdoa", "tdoa_bounded_gain_vs_constant", "TDoA", "TDoA",
                 ("tdoa_bounded_gain_vs_constant", "tdoa_bounded_gain_vs_microphones"),
                 "the microphones, the constant lag-0 estimator and the controls"),
    HeadlineSpec("localisation", "localisation_auc_rest_gain_vs_energy", "Localisation", "Loc.",
                 ("localisation_auc_rest_gain_vs_energy",),
                 "the energy control (gain > 0) and the controls"),
)
#: The results folder's list of metric specs (``ssl_xai_bench.harness.collect``).
METRICS_FILE = "metrics.json"
HEADLINE_DIGITS = 3
HEADLINE_CI_DIGITS = 2
#: Families of the built-in methods and signal rows, for results folders without ``family``.
BUILTIN_FAMILIES: dict[str, str] = {
    "lrp": "lrp", "lrp_epsilon_first": "lrp", "lrp_epsilon_plus_flat": "lrp",
    "lrp_zbox_first": "lrp", "gradient": "gradient", "gradient_x_input": "gradient",
    "integrated_gradients": "gradient", "occlusion": "perturbation", "random": "control",
    "energy": "control", "microphones": "baseline", "constant": "baseline",
    "direct_path": "baseline",
}
CONTROL, BASELINE = "control", "baseline"
#: Row order of the attribution methods by family (stable within a family).
FAMILY_ORDER = ("lrp", "gradient", "perturbation")


def fmt(x: float, digits: int = HEADLINE_DIGITS) -> str:
    """A headline number with ``digits`` significant digits (``format(x, ".3g")``)."""
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    s = format(x, f".{digits}g")
    return "0" if s == "-0" else s


@dataclass
class HeadlineTable:
    """A renderer-independent headline table (see the module docstring)."""

    title: str
    kind: str  # "cell" | "aggregate"
    columns: list[HeadlineColumn]
    methods: list[str]
    controls: list[str]
    entries: dict[tuple[str, str], Entry]
    cells: list[tuple[str, str]]
    answers: dict[str, Answer] = field(default_factory=dict)
    counted: list[tuple[str, str]] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)

    def entry(self, method: str, metric: str) -> Entry:
        """The entry of ``(method, metric)`` (an empty one when absent)."""
        return self.entries.get((method, metric), Entry())

    def marked(self, method: str, metric: str) -> bool:
        """Shown in bold: the best or equivalent to it (cell tables), among the most-winning
        methods (aggregated tables)."""
        e = self.entry(method, metric)
        return e.best or e.outcome == "equivalent"


def method_families(tidy: pd.DataFrame) -> dict[str, str]:
    """Method -> family, from the ``family`` column or :data:`BUILTIN_FAMILIES` (else ``user``)."""
    out = {m: BUILTIN_FAMILIES.get(m, "user") for m in dict.fromkeys(tidy["method"])}
    if "family" in tidy.columns:
        for method, fam in zip(tidy["method"], tidy["family"], strict=True):
            if isinstance(fam, str) and fam:
                out[method] = fam
    return out


def headline_specs(results: str | Path) -> tuple[HeadlineSpec, ...]:
    """The headline columns a results folder declares: its ``metrics.json`` (written by the
    harness: every metric's spec, a headline metric's column with it), ordered by their
    ``order``; :data:`HEADLINE` for a folder without one."""
    path = Path(results) / METRICS_FILE
    if not path.is_file():
        return HEADLINE
    declared = [m for m in json.loads(path.read_text("utf-8")) if m.get("headline")]
    declared.sort(key=lambda m: m["headline"].get("order", 100.0))
    return tuple(
        HeadlineSpec(m["category"], m["name"], h["label"], h["short"], tuple(h["floors"]),
                     h["reference"], tuple((f, r) for f, r in h["fallbacks"]))
        for m in declared for h in [m["headline"]])


def headline_columns(tidy: pd.DataFrame,
                     specs: Sequence[HeadlineSpec] = HEADLINE) -> list[HeadlineColumn]:
    """The columns of ``specs`` (default :data:`HEADLINE`) whose metric (or a fallback) the run
    has (unit, direction from the rows)."""
    cols = []
    present = set(tidy["metric"])
    for spec in specs:
        metric = next((m for m in spec.candidates() if m in present), None)
        if metric is None:
            continue
        rows = tidy[tidy["metric"] == metric]
        unit = rows["unit"].iloc[0]
        cols.append(HeadlineColumn(spec if metric == spec.metric else spec.shown_as(metric),
                                   "" if pd.isna(unit) else str(unit), rows["direction"].iloc[0]))
    return cols


def extreme(means: dict[str, float], direction: str, worst: bool = False) -> str | None:
    """The best (or worst) method by mean, first in order among equals; None when no finite."""
    ok = {m: v for m, v in means.items() if np.isfinite(v)}
    if not ok:
        return None
    sign = 1.0 if (direction == "up") != worst else -1.0
    top = max(sign * v for v in ok.values())
    return next(m for m, v in ok.items() if sign * v == top)


def _roles(tidy: pd.DataFrame) -> tuple[list[str], list[str]]:
    fam = method_families(tidy)
    methods = [m for m, f in fam.items() if f not in (CONTROL, BASELINE)]
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    methods.sort(key=lambda m: order.get(fam[m], len(order)))
    return methods, [m for m, f in fam.items() if f == CONTROL]


def _entry(row: Any) -> Entry:
    if row.status == "failed":
        return Entry(failed=row.reason or "no reason given")
    if row.status == "undefined":
        return Entry(undefined=row.reason or "no finite value")
    return Entry(float(row.mean), float(row.ci_low), float(row.ci_high))


def cell_headline(tidy: pd.DataFrame, model: str, condition: str,
                  tests: pd.DataFrame | None = None,
                  specs: Sequence[HeadlineSpec] = HEADLINE) -> HeadlineTable:
    """The headline table of one (model, condition) cell, with outcomes and answers.

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``leaderboard.csv`` rows.
    model, condition : str
        The cell.
    tests : pandas.DataFrame, optional
        :func:`load_pair_tests`; without it no outcome is known and nothing is bold but the
        best, and no winner is named (nothing shows the best beats the controls).
    specs : sequence of HeadlineSpec
        The columns (:func:`headline_specs` of the results folder; default :data:`HEADLINE`).

    Returns
    -------
    HeadlineTable
    """
    tidy = validate_tidy(tidy)
    cell = (model, condition)
    rows = tidy[(tidy["model"] == model) & (tidy["condition"] == condition)]
    if rows.empty:
        raise ValueError(f"leaderboard: no rows for model={model!r}, condition={condition!r}")
    methods, controls = _roles(rows)
    columns = headline_columns(rows, specs)
    entries: dict[tuple[str, str], Entry] = {}
    answers: dict[str, Answer] = {}
    for col in columns:
        for r in rows[rows["metric"] == col.metric].itertuples():
            if r.method in methods or r.method in controls:
                entries[(r.method, col.metric)] = _entry(r)
        usable = {m: entries[(m, col.metric)].mean for m in methods
                  if (m, col.metric) in entries and entries[(m, col.metric)].usable}
        best = extreme(usable, col.direction)
        if best is None:
            continue
        entries[(best, col.metric)].best = True
        entries[(best, col.metric)].outcome = "best"
        for m in list(usable) + controls:
            e = entries.get((m, col.metric))
            if m == best or e is None or not e.usable:
                continue
            row = pair_test(tests, cell, col.metric, m, best)
            e.outcome = outcome_of(row, col.direction)
            e.p_attainable = float(row["p_attainable"]) if row is not None and \
                "p_attainable" in row else float("nan")
            if m in controls:
                e.beats_best = e.outcome == "better"
                e.outcome = None
        answers[col.metric] = cell_answer(rows, cell, col, methods, controls, entries, tests)
    first = rows.iloc[0]
    return HeadlineTable(
        title=f"{model}, {condition}", kind="cell", columns=columns, methods=methods,
        controls=controls, entries=entries, cells=[cell], answers=answers, counted=[cell],
        keys={k: first[k] for k in ("model", "condition", "t60", "snr_db", "geometry")})


def aggregate_headline(tidy: pd.DataFrame, tests: pd.DataFrame | None = None,
                       model: str | None = None,
                       counted: Collection[tuple[str, str]] | None = None,
                       specs: Sequence[HeadlineSpec] = HEADLINE) -> HeadlineTable:
    """The headline over several cells: every cell, or one model's conditions.

    A single cell gives :func:`cell_headline` (with its CI). Otherwise each value is the
    equal-weight mean over the counted cells and ``k/n`` the counted cells where the method is
    a winner (see the module docstring).

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``leaderboard.csv`` rows.
    tests : pandas.DataFrame, optional
        :func:`load_pair_tests`.
    model : str, optional
        Restrict to one model (default: every cell).
    counted : collection of (model, condition), optional
        The cells that count (the report passes the cells where the model localises); default
        every cell. When none of the table's cells is counted, every cell counts and the title
        says so.
    specs : sequence of HeadlineSpec
        The columns (default :data:`HEADLINE`).

    Returns
    -------
    HeadlineTable
    """
    tidy = validate_tidy(tidy)
    rows = tidy if model is None else tidy[tidy["model"] == model]
    if rows.empty:
        raise ValueError(f"leaderboard: no rows for model={model!r}")
    cells = list(dict.fromkeys(zip(rows["model"], rows["condition"], strict=True)))
    if len(cells) == 1:
        return cell_headline(tidy, *cells[0], tests, specs)
    use = [c for c in cells if counted is None or c in counted]
    scope_note = ("" if counted is None else f"{len(use)} of {len(cells)} cells where the model "
                  "localises" if use else "no cell where the model localises: every cell")
    use = use or cells
    per_cell = [cell_headline(tidy, m, c, tests, specs) for m, c in use]
    methods, controls = _roles(rows)
    columns = headline_columns(rows, specs)
    entries: dict[tuple[str, str], Entry] = {}
    answers: dict[str, Answer] = {}
    for col in columns:
        for m in methods + controls:
            entries[(m, col.metric)] = _aggregate_entry(per_cell, m, col.metric)
        answers[col.metric] = aggregate_answer(
            [t.answers[col.metric] for t in per_cell if col.metric in t.answers], col,
            methods, controls)
        for m in methods:
            entries[(m, col.metric)].best = m in answers[col.metric].winners
    scope = f"{model}, " if model is not None else ""
    counted_text = f"; {scope_note}" if scope_note else ""
    return HeadlineTable(
        title=f"{scope}{len(cells)} model x condition cells (mean of cell means; k/n cells "
        f"where the method wins{counted_text})", kind="aggregate", columns=columns,
        methods=methods, controls=controls, entries=entries, cells=cells, answers=answers,
        counted=use, keys={"model": model} if model is not None else {})


def _aggregate_entry(per_cell: list[HeadlineTable], method: str, metric: str) -> Entry:
    got = [t.entries.get((method, metric)) for t in per_cell]
    failed = [f"{t.title}: {e.failed}" for t, e in zip(per_cell, got, strict=True)
              if e is not None and e.failed]
    undefined = [f"{t.title}: {e.undefined}" for t, e in zip(per_cell, got, strict=True)
                 if e is not None and e.undefined]
    missing = sum(e is None for e in got)
    if failed or missing == len(got):
        entry = Entry(failed="; ".join(failed) or "absent")
    elif missing:
        entry = Entry(failed=f"missing in {missing} of {len(got)} cells")
    elif undefined:
        entry = Entry(undefined="; ".join(undefined))
    else:
        entry = Entry(float(np.mean([e.mean for e in got if e is not None])))
    entry.n_cells = sum(metric in t.answers for t in per_cell)
    entry.n_win = sum(method in t.answers[metric].winners for t in per_cell
                      if metric in t.answers)
    entry.beats_best = any(t.entry(method, metric).beats_best for t in per_cell)
    return entry


__all__ = [
    "ALPHA", "BUILTIN_FAMILIES", "HEADLINE", "HEADLINE_CI_DIGITS", "HEADLINE_DIGITS",
    "METRICS_FILE", "Answer",
    "Entry", "HeadlineColumn", "HeadlineSpec", "HeadlineTable", "aggregate_headline",
    "cell_headline", "extreme", "fmt", "headline_columns", "load_pair_tests", "method_families",
    "headline_specs", "pair_test",
]
