"""Which method wins a headline column, and whether any method beats the column's reference.

The rules (:mod:`ssl_xai_bench.report.headline` states them for the reader):

- a comparison's **outcome** is read from the paired tests (``paired_tests_all.csv``, written by
  :func:`ssl_xai_bench.metrics.comparisons.paired_tests`); results folders written before
  outcomes existed get one derived from their Holm p: significant -> ``better``/``worse``,
  every per-source difference 0 -> ``equivalent``, anything else -> ``undetermined`` (never a
  tie);
- a method **passes** the reference of a column when each floor metric's 95 % CI lies on its
  good side of 0 and the method is significantly better than every control present (paired
  test, the control as reference);
- the **winners** of a cell are the best method and its equivalents that pass; none when a
  control is significantly better than the best method (it then beats every method). Over
  several cells, the winners are the methods that win the most cells (none if no method wins
  anywhere).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Level of every test; the harness's (``ssl_xai_bench.metrics.comparisons.ALPHA``, which wrote
#: the outcomes of ``paired_tests_all.csv``; a test pins that the two agree).
ALPHA = 0.05

#: Columns a paired-tests file needs (older files lack the outcome columns).
TEST_COLUMNS = ("model", "condition", "metric", "method", "reference", "n_sources",
                "mean_diff", "p_value", "p_holm")


@dataclass(frozen=True)
class HeadlineSpec:
    """A family's headline metric and the reference a method must beat in it.

    ``floors``: metrics whose 95 % CI must lie on the good side of 0 (by their direction) for a
    method to count as beating the reference; the controls present are always part of it.
    ``reference``: what that means, in words, for the summary ("no method beats ...").
    """

    family: str
    metric: str
    label: str
    short: str
    floors: tuple[str, ...] = ()
    reference: str = "the controls"


@dataclass(frozen=True)
class HeadlineColumn:
    """One family's column: its spec, unit and direction (``up``/``down``)."""

    spec: HeadlineSpec
    unit: str
    direction: str

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def short(self) -> str:
        return self.spec.short


@dataclass
class Entry:
    """One table cell (see the module docstring).

    ``outcome``: against the best (``best``, ``equivalent``, ``worse``, ``undetermined``,
    ``underpowered``; None: no paired test); ``p_attainable``: that test's smallest attainable
    Holm p; ``passes``: beats the column's reference (decided for the best and its equivalents);
    ``beats_best``: a control significantly better than the best method. Aggregated tables fill
    ``n_win`` of ``n_cells`` counted cells instead of the CI and the outcome.
    """

    mean: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    failed: str = ""
    undefined: str = ""
    best: bool = False
    outcome: str | None = None
    p_attainable: float = float("nan")
    passes: bool | None = None
    beats_best: bool = False
    n_win: int = 0
    n_cells: int = 0

    @property
    def usable(self) -> bool:
        """A finite score that takes part in ranks and comparisons."""
        return not self.failed and not self.undefined and math.isfinite(self.mean)


@dataclass
class Answer:
    """The answer of one headline column over one or several cells.

    ``winners``: methods that beat the reference (cell: the best and its equivalents that
    pass; aggregate: those winning the most cells); ``beaten_by``: controls significantly
    better than the best method (in at least one cell); ``wins`` and ``beaten_counts``: per
    method / control, the cells of it (aggregate); ``n_cells``: cells with a score.
    """

    reference: str
    winners: list[str] = field(default_factory=list)
    beaten_by: list[str] = field(default_factory=list)
    n_cells: int = 1
    wins: dict[str, int] = field(default_factory=dict)
    beaten_counts: dict[str, int] = field(default_factory=dict)

    def text(self, max_names: int = 3) -> str:
        """One line: the controls that beat every method first, then the winners or "no method
        beats <reference>"."""
        parts = []
        for control in self.beaten_by:
            where = (f" in {self.beaten_counts[control]}/{self.n_cells} cells"
                     if self.beaten_counts else "")
            parts.append(f"{control} beats every method{where}")
        if self.winners:
            names = ", ".join(self.winners[:max_names]) + (
                f" +{len(self.winners) - max_names}" if len(self.winners) > max_names else "")
            if self.wins:
                names += f" ({self.wins[self.winners[0]]}/{self.n_cells} cells)"
            parts.append(names)
        elif not (self.beaten_by and not self.wins):  # one cell: the control said it all
            where = f" in any of {self.n_cells} cells" if self.wins or self.n_cells > 1 else ""
            parts.append(f"no method beats {self.reference}{where}")
        return "; ".join(parts)


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


def pair_test(tests: pd.DataFrame | None, cell: tuple[str, str], metric: str, method: str,
              reference: str) -> pd.Series | None:
    """The paired test of ``method`` against ``reference`` (None when absent)."""
    if tests is None:
        return None
    hit = tests[(tests["model"] == cell[0]) & (tests["condition"] == cell[1])
                & (tests["metric"] == metric) & (tests["method"] == method)
                & (tests["reference"] == reference)]
    return None if hit.empty else hit.iloc[0]


def outcome_of(row: pd.Series | None, direction: str) -> str | None:
    """The outcome of a paired test row (see the module docstring); None without a row."""
    if row is None:
        return None
    given = row.get("outcome")
    if isinstance(given, str) and given:
        return given
    p, diff = float(row["p_holm"]), float(row["mean_diff"])
    if np.isfinite(p) and p < ALPHA and diff != 0:
        return "better" if (diff > 0) == (direction == "up") else "worse"
    if not np.isfinite(p) and diff == 0:
        return "equivalent"
    return "undetermined"


def floor_met(rows: pd.DataFrame, method: str, metric: str) -> bool:
    """The method's 95 % CI of ``metric`` lies on the good side of 0 (False when absent)."""
    r = rows[(rows["method"] == method) & (rows["metric"] == metric) & (rows["status"] == "ok")]
    if r.empty:
        return False
    r = r.iloc[0]
    lo, hi = float(r["ci_low"]), float(r["ci_high"])
    return bool(lo > 0) if r["direction"] == "up" else bool(hi < 0)


def passes_reference(rows: pd.DataFrame, cell: tuple[str, str], col: HeadlineColumn,
                     method: str, controls: list[str], entries: Mapping[tuple[str, str], Entry],
                     tests: pd.DataFrame | None) -> bool:
    """``method`` meets every floor of ``col`` and is better than every control present."""
    if not all(floor_met(rows, method, f) for f in col.spec.floors):
        return False
    for control in controls:
        e = entries.get((control, col.metric))
        if e is None or not e.usable:
            continue
        test = pair_test(tests, cell, col.metric, method, control)
        if outcome_of(test, col.direction) != "better":
            return False
    return True


def cell_answer(rows: pd.DataFrame, cell: tuple[str, str], col: HeadlineColumn,
                methods: list[str], controls: list[str],
                entries: Mapping[tuple[str, str], Entry],
                tests: pd.DataFrame | None) -> Answer:
    """The answer of one cell's column; sets ``passes`` on the best and its equivalents."""
    group = [m for m in methods if (m, col.metric) in entries
             and (entries[(m, col.metric)].best
                  or entries[(m, col.metric)].outcome == "equivalent")]
    for m in group:
        entries[(m, col.metric)].passes = passes_reference(rows, cell, col, m, controls,
                                                           entries, tests)
    beaten_by = [c for c in controls if (c, col.metric) in entries
                 and entries[(c, col.metric)].beats_best]
    winners = [] if beaten_by else [m for m in group if entries[(m, col.metric)].passes]
    return Answer(col.spec.reference, winners, beaten_by)


def aggregate_answer(answers: list[Answer], col: HeadlineColumn, methods: list[str],
                     controls: list[str]) -> Answer:
    """The answer over several cells (their cell answers): the methods winning the most."""
    wins = {m: sum(m in a.winners for a in answers) for m in methods}
    top = max(wins.values(), default=0)
    beaten = {c: sum(c in a.beaten_by for a in answers) for c in controls}
    return Answer(col.spec.reference,
                  winners=[m for m in methods if top > 0 and wins[m] == top],
                  beaten_by=[c for c in controls if beaten[c] > 0],
                  n_cells=len(answers), wins=wins,
                  beaten_counts={c: k for c, k in beaten.items() if k > 0})


__all__ = ["ALPHA", "Answer", "Entry", "HeadlineColumn", "HeadlineSpec", "TEST_COLUMNS",
           "aggregate_answer", "cell_answer", "floor_met", "load_pair_tests", "outcome_of",
           "pair_test", "passes_reference"]
