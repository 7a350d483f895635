"""Headline leaderboards: one column per metric family, and the methods tied with the best.

A headline table answers "which method" per metric family with one metric each
(:data:`HEADLINE`, documented in ``docs/metrics.md``, "Headline table"); a family whose metric is
absent from a run leaves its column out. Rows are the attribution methods (registry families
``lrp``, ``gradient``, ``perturbation``, ``user``) and, apart, the controls (``random``,
``energy``) as reference rows; the TDoA baselines (family ``baseline``: microphones, constant,
direct path) never appear here, only in the TDoA family's table.

- **Cell tables** (one model, one condition): mean [95 % CI] as in ``leaderboard.csv`` (cluster
  bootstrap over test sources). The **tie group** of a column is the best attribution method
  (by the metric's direction) and every attribution method whose paired test against it is not
  significant: Wilcoxon signed-rank on per-source means, Holm-corrected over the other methods
  of the cell, ``p_holm >= ALPHA``; the rows of ``paired_tests_all.csv`` whose ``reference`` is
  the best (:func:`load_pair_tests`). A test with every per-source difference 0 (no p-value)
  ties. Controls are never the best; a control whose paired test shows it better than the best
  method is marked (``beats_best``). Without a test against the best (a results folder with only
  ``paired_tests.csv``, i.e. tests against ``lrp``), the tie group is unknown and only the best
  is marked.
- **Aggregated tables** (one model over its conditions, or every cell): no pooled CI is
  pretended. A value is the equal-weight mean of the cell means (failed in any cell -> failed,
  as in the overall leaderboard), and ``k/n`` counts the cells where the method is in the tie
  group (``n`` = cells whose tie group is known). The methods with the largest ``k`` are marked
  (with no tie group known anywhere: the best mean of cell means).

Method families come from the ``family`` column of ``leaderboard.csv``; older results folders
have none, and the built-in names are then mapped by :data:`BUILTIN_FAMILIES` (other names:
``user``). Numbers: means with ``HEADLINE_DIGITS`` = 3 significant digits, CI bounds with
``HEADLINE_CI_DIGITS`` = 2, so that a table fits one page width (the per-family tables keep 4
and the CSV files full precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report.tables.leaderboard import validate_tidy

#: (family = ``category`` of leaderboard.csv, headline metric, label, short label)
HEADLINE: tuple[tuple[str, str, str, str], ...] = (
    ("faithfulness", "faithfulness_correlation", "Faithfulness", "Faithf."),
    ("manipulation", "manipulation_gap_at_10", "Manipulation", "Manip."),
    ("robustness", "max_sensitivity", "Robustness", "Robust."),
    ("randomisation", "efficient_mprt", "Randomisation", "Random."),
    ("complexity", "sparseness", "Complexity", "Compl."),
    ("tdoa", "tdoa_bounded_gain_vs_constant", "TDoA", "TDoA"),
    ("localisation", "localisation_auc_rest_gain_vs_energy", "Localisation", "Loc."),
)
ALPHA = 0.05
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
TEST_COLUMNS = ("model", "condition", "metric", "method", "reference", "n_sources",
                "mean_diff", "statistic", "p_value", "p_holm")


def fmt(x: float, digits: int = HEADLINE_DIGITS) -> str:
    """A headline number with ``digits`` significant digits (``format(x, ".3g")``)."""
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    s = format(x, f".{digits}g")
    return "0" if s == "-0" else s


@dataclass(frozen=True)
class HeadlineColumn:
    """One family's column: its metric, labels, unit and direction (``up``/``down``)."""

    family: str
    metric: str
    label: str
    short: str
    unit: str
    direction: str


@dataclass
class Entry:
    """One table cell. Cell tables fill ``ci_*`` and ``tied``; aggregated ones ``n_tied`` of
    ``n_known`` cells. ``tied`` is None when unknown (no paired test against the best)."""

    mean: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    failed: str = ""
    best: bool = False
    tied: bool | None = None
    beats_best: bool = False
    n_tied: int = 0
    n_known: int = 0


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
    flags: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)

    def entry(self, method: str, metric: str) -> Entry:
        """The entry of ``(method, metric)`` (an empty one when absent)."""
        return self.entries.get((method, metric), Entry())

    def marked(self, method: str, metric: str) -> bool:
        """Shown in bold: in the tie group (cell tables; the best when the group is unknown),
        or among the most tie-group cells (aggregated tables)."""
        e = self.entry(method, metric)
        return e.best or bool(e.tied)


def method_families(tidy: pd.DataFrame) -> dict[str, str]:
    """Method -> family, from the ``family`` column or :data:`BUILTIN_FAMILIES` (else ``user``)."""
    out = {m: BUILTIN_FAMILIES.get(m, "user") for m in dict.fromkeys(tidy["method"])}
    if "family" in tidy.columns:
        for method, fam in zip(tidy["method"], tidy["family"], strict=True):
            if isinstance(fam, str) and fam:
                out[method] = fam
    return out


def headline_columns(tidy: pd.DataFrame) -> list[HeadlineColumn]:
    """The :data:`HEADLINE` columns whose metric the run has (unit, direction from the rows)."""
    cols = []
    for family, metric, label, short in HEADLINE:
        rows = tidy[tidy["metric"] == metric]
        if rows.empty:
            continue
        unit = rows["unit"].iloc[0]
        cols.append(HeadlineColumn(family, metric, label, short,
                                   "" if pd.isna(unit) else str(unit), rows["direction"].iloc[0]))
    return cols


def load_pair_tests(results: Path) -> pd.DataFrame | None:
    """``paired_tests_all.csv`` (every reference), else ``paired_tests.csv`` (``lrp`` only)."""
    for name in ("paired_tests_all.csv", "paired_tests.csv"):
        path = Path(results) / name
        if path.is_file():
            try:
                df = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                continue
            if set(TEST_COLUMNS) <= set(df.columns):
                return df
    return None


def better(a: float, b: float, direction: str) -> bool:
    """``a`` strictly better than ``b`` for ``direction``."""
    return a > b if direction == "up" else a < b


def extreme(means: dict[str, float], direction: str, worst: bool = False) -> str | None:
    """The best (or worst) method by mean, first in order among equals; None when no finite."""
    ok = {m: v for m, v in means.items() if np.isfinite(v)}
    if not ok:
        return None
    sign = 1.0 if (direction == "up") != worst else -1.0
    top = max(sign * v for v in ok.values())
    return next(m for m, v in ok.items() if sign * v == top)


def pair_test(tests: pd.DataFrame | None, cell: tuple[str, str], metric: str, method: str,
             reference: str) -> pd.Series | None:
    """The paired test of ``method`` against ``reference`` (None when absent)."""
    if tests is None:
        return None
    hit = tests[(tests["model"] == cell[0]) & (tests["condition"] == cell[1])
                & (tests["metric"] == metric) & (tests["method"] == method)
                & (tests["reference"] == reference)]
    return None if hit.empty else hit.iloc[0]


def tied_with(row: pd.Series | None) -> bool | None:
    """Not significantly different from the reference (``p_holm >= ALPHA``, or no difference at
    all); None when there is no test or it could not be computed (fewer than 2 sources)."""
    if row is None:
        return None
    p = float(row["p_holm"])
    if np.isfinite(p):
        return p >= ALPHA
    return True if float(row["mean_diff"]) == 0.0 else None


def _cell_rows(tidy: pd.DataFrame, cell: tuple[str, str]) -> pd.DataFrame:
    return tidy[(tidy["model"] == cell[0]) & (tidy["condition"] == cell[1])]


#: Row order of the attribution methods by family (stable within a family).
FAMILY_ORDER = ("lrp", "gradient", "perturbation")


def _roles(tidy: pd.DataFrame) -> tuple[list[str], list[str]]:
    fam = method_families(tidy)
    methods = [m for m, f in fam.items() if f not in (CONTROL, BASELINE)]
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    methods.sort(key=lambda m: order.get(fam[m], len(order)))
    return methods, [m for m, f in fam.items() if f == CONTROL]


def cell_headline(tidy: pd.DataFrame, model: str, condition: str,
                  tests: pd.DataFrame | None = None) -> HeadlineTable:
    """The headline table of one (model, condition) cell, with tie groups.

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``leaderboard.csv`` rows.
    model, condition : str
        The cell.
    tests : pandas.DataFrame, optional
        :func:`load_pair_tests`; without it no tie group is known.

    Returns
    -------
    HeadlineTable
    """
    tidy = validate_tidy(tidy)
    cell = (model, condition)
    rows = _cell_rows(tidy, cell)
    if rows.empty:
        raise ValueError(f"leaderboard: no rows for model={model!r}, condition={condition!r}")
    methods, controls = _roles(rows)
    columns = headline_columns(rows)
    entries: dict[tuple[str, str], Entry] = {}
    for col in columns:
        for r in rows[rows["metric"] == col.metric].itertuples():
            if r.method in methods or r.method in controls:
                entries[(r.method, col.metric)] = (
                    Entry(failed=r.reason or "no reason given") if r.status == "failed"
                    else Entry(float(r.mean), float(r.ci_low), float(r.ci_high)))
        means = {m: entries[(m, col.metric)].mean for m in methods if (m, col.metric) in entries}
        best = extreme(means, col.direction)
        if best is None:
            continue
        entries[(best, col.metric)].best = True
        entries[(best, col.metric)].tied = True
        for m in list(means) + controls:
            e = entries.get((m, col.metric))
            if m == best or e is None or e.failed or not np.isfinite(e.mean):
                continue
            row = pair_test(tests, cell, col.metric, m, best)
            tie = tied_with(row)
            if m in controls:
                e.beats_best = tie is False and better(e.mean, means[best], col.direction)
            else:
                e.tied = tie
    first = rows.iloc[0]
    return HeadlineTable(
        title=f"{model}, {condition}", kind="cell", columns=columns, methods=methods,
        controls=controls, entries=entries, cells=[cell],
        keys={k: first[k] for k in ("model", "condition", "t60", "snr_db", "geometry")})


def aggregate_headline(tidy: pd.DataFrame, tests: pd.DataFrame | None = None,
                       model: str | None = None) -> HeadlineTable:
    """The headline over several cells: every cell, or one model's conditions.

    A single cell gives :func:`cell_headline` (with its CI). Otherwise each value is the
    equal-weight mean of the cell means and ``k/n`` the cells where the method is tied with the
    best (see the module docstring).

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``leaderboard.csv`` rows.
    tests : pandas.DataFrame, optional
        :func:`load_pair_tests`.
    model : str, optional
        Restrict to one model (default: every cell).

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
        return cell_headline(tidy, *cells[0], tests)
    per_cell = [cell_headline(tidy, m, c, tests) for m, c in cells]
    methods, controls = _roles(rows)
    columns = headline_columns(rows)
    entries: dict[tuple[str, str], Entry] = {}
    for col in columns:
        for m in methods + controls:
            got = [t.entries.get((m, col.metric)) for t in per_cell]
            failed = [f"{t.title}: {e.failed}" for t, e in zip(per_cell, got, strict=True)
                      if e is not None and e.failed]
            missing = sum(e is None for e in got)
            if failed or missing == len(got):
                entry = Entry(failed="; ".join(failed) or "absent")
            elif missing:
                entry = Entry(failed=f"missing in {missing} of {len(got)} cells")
            else:
                entry = Entry(float(np.mean([e.mean for e in got])))
            known = [t for t in per_cell if _tie_known(t, col.metric)]
            entry.n_known = len(known)
            entry.n_tied = sum(bool(t.entry(m, col.metric).tied) for t in known)
            entry.beats_best = any(t.entry(m, col.metric).beats_best for t in per_cell)
            entries[(m, col.metric)] = entry
        top = max((entries[(m, col.metric)].n_tied for m in methods), default=0)
        by_mean = extreme({m: entries[(m, col.metric)].mean for m in methods}, col.direction)
        for m in methods:
            e = entries[(m, col.metric)]
            # no tie group known in any cell: the best mean of cell means, said as such
            e.best = e.n_tied == top if top > 0 else m == by_mean
    scope = f"{model}, " if model is not None else ""
    return HeadlineTable(
        title=f"{scope}{len(cells)} model x condition cells (mean of cell means; k/n cells tied "
        "with the best)", kind="aggregate", columns=columns, methods=methods, controls=controls,
        entries=entries, cells=cells, keys={"model": model} if model is not None else {})


def _tie_known(table: HeadlineTable, metric: str) -> bool:
    """Whether a cell table knows its whole tie group for ``metric``."""
    marks = [table.entry(m, metric) for m in table.methods]
    ok = [e for e in marks if not e.failed and np.isfinite(e.mean)]
    return bool(ok) and all(e.tied is not None for e in ok)


__all__ = [
    "ALPHA", "BUILTIN_FAMILIES", "HEADLINE", "HEADLINE_CI_DIGITS", "HEADLINE_DIGITS", "Entry",
    "HeadlineColumn",
    "HeadlineTable", "aggregate_headline", "better", "cell_headline", "extreme", "fmt",
    "headline_columns", "load_pair_tests", "method_families", "pair_test", "tied_with",
]
