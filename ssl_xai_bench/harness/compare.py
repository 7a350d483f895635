"""Did a fresh run reproduce a reference run? A metric-by-metric comparison of two results folders.

``ssl-xai-bench compare runs/default results/default`` answers in one line, then lists what
differs. The fresh run reproduces the reference when all of these hold:

- every row of the reference's ``leaderboard.csv`` (model, condition, method, metric) is in the
  fresh run with the same status, and where both are ``ok`` their 95 % CIs overlap (rows without
  a CI: equal means, relative tolerance :data:`RTOL`);
- the methods rank alike: in every column (model, condition, metric) no two methods swap order
  when the reference separates them (their CIs do not overlap); swaps of methods whose
  reference CIs overlap are listed as notes, since the reference does not order them either;
- every model-skill row of ``model_skill.csv`` (model, condition, predictor): the fresh MAE lies
  within the reference's 95 % CI.

Configurations that differ (seed, preset, a precision resolved otherwise on another CPU) or
library versions are reported as notes: the comparison is of the numbers. A run compared with
itself, or with a rerun of the same configuration on the same machine (byte-identical tables),
reproduces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import NOT_HASHED

ROW_KEY = ["model", "condition", "method", "metric"]
SKILL_KEY = ["model", "condition", "predictor"]
RTOL = 1e-9
MAX_NOTES = 5


@dataclass
class Comparison:
    """The outcome: counts of what was compared, the differences that break reproduction and
    notes that do not."""

    fresh: Path
    reference: Path
    rows: int = 0
    columns: int = 0
    skill: int = 0
    differences: dict[str, list[str]] = field(
        default_factory=lambda: {"metric": [], "rank": [], "skill": []})
    notes: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return not any(self.differences.values())

    def verdict_line(self) -> str:
        """The one-line answer to "did I reproduce the leaderboard?"."""
        if self.reproduced:
            return (f"reproduced: {self.fresh} matches {self.reference}: {self.rows} metric "
                    f"rows with overlapping 95 % CIs, method ranks equal in {self.columns} "
                    f"columns, model skill within the reference's CI in {self.skill} row(s)")
        d = self.differences
        parts = [f"{len(d['metric'])} of {self.rows} metric rows differ",
                 f"{len(d['rank'])} rank swap(s) the reference's CIs separate",
                 f"{len(d['skill'])} of {self.skill} model-skill rows outside the CI"]
        return (f"NOT reproduced: {self.fresh} differs from {self.reference}: "
                + ", ".join(p for p in parts if not p.startswith("0 ")))

    def detail_lines(self, max_lines: int = 20) -> list[str]:
        """The differences (at most ``max_lines``), then the notes."""
        lines = [line for kind in ("metric", "rank", "skill") for line in self.differences[kind]]
        shown = lines[:max(0, max_lines)]
        if len(lines) > len(shown):
            shown.append(f"... and {len(lines) - len(shown)} more difference(s)")
        return shown + [f"note: {n}" for n in self.notes]


def _read(folder: Path, name: str, role: str, required: bool = True) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        if required:
            raise ConfigError(role, f"no {name} in {folder}: not a results folder")
        return None
    return pd.read_csv(path)


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=1e-12)) or (np.isnan(a) and np.isnan(b))


def _overlap(lo_a: float, hi_a: float, lo_b: float, hi_b: float) -> bool:
    top = min(hi_a, hi_b)
    return max(lo_a, lo_b) <= top + RTOL * abs(top) + 1e-12


def _has_ci(row: Any) -> bool:
    return bool(np.isfinite(row.ci_low) and np.isfinite(row.ci_high))


def _span(row: Any) -> str:
    return f"{row.mean:.4g} [{row.ci_low:.4g}, {row.ci_high:.4g}]"


def _matched(fresh: pd.DataFrame | None, ref: pd.DataFrame, key: list[str]
             ) -> Iterator[tuple[str, Any, Any]]:
    """``(where, reference row, fresh row or None)`` for every reference row, by ``key``."""
    got = {} if fresh is None else {r.Index: r for r in fresh.set_index(key).itertuples()}
    for row in ref.set_index(key).itertuples():
        yield " / ".join(map(str, row.Index)), row, got.get(row.Index)


def compare_rows(fresh: pd.DataFrame, ref: pd.DataFrame, out: Comparison) -> None:
    """Every reference metric row against the fresh one (see the module docstring)."""
    for where, row, new in _matched(fresh, ref, ROW_KEY):
        out.rows += 1
        if new is None:
            out.differences["metric"].append(f"{where}: missing in the fresh run")
        elif new.status != row.status:
            out.differences["metric"].append(f"{where}: status {new.status} (reference "
                                             f"{row.status})")
        elif row.status == "ok" and not (
                _overlap(new.ci_low, new.ci_high, row.ci_low, row.ci_high)
                if _has_ci(row) and _has_ci(new) else _close(new.mean, row.mean)):
            out.differences["metric"].append(f"{where}: {_span(new)} (reference {_span(row)})")
    extra = len(set(fresh.set_index(ROW_KEY).index) - set(ref.set_index(ROW_KEY).index))
    if extra:
        out.notes.append(f"{extra} metric row(s) only in the fresh run")


def compare_ranks(fresh: pd.DataFrame, ref: pd.DataFrame, out: Comparison) -> None:
    """Pairs of methods whose order differs in a column (model, condition, metric)."""
    both = ref.merge(fresh, on=ROW_KEY, suffixes=("", "_fresh"))
    both = both[(both["status"] == "ok") & (both["status_fresh"] == "ok")
                & np.isfinite(both["mean"]) & np.isfinite(both["mean_fresh"])]
    within = 0
    for key, col in both.groupby(["model", "condition", "metric"], sort=False):
        out.columns += 1
        for a, b in combinations(col.itertuples(), 2):
            if np.sign(a.mean - b.mean) == np.sign(a.mean_fresh - b.mean_fresh):
                continue
            if _has_ci(a) and _has_ci(b) and _overlap(a.ci_low, a.ci_high, b.ci_low, b.ci_high):
                within += 1
                continue
            out.differences["rank"].append(
                f"{' / '.join(map(str, key))}: {a.method} and {b.method} swap order "
                f"({a.mean_fresh:.4g} vs {b.mean_fresh:.4g}; reference {a.mean:.4g} vs "
                f"{b.mean:.4g}, CIs apart)")
    if within:
        out.notes.append(f"{within} pair(s) of methods swap order within overlapping "
                         "reference CIs (the reference does not order them)")


def compare_skill(fresh: pd.DataFrame | None, ref: pd.DataFrame | None, out: Comparison
                  ) -> None:
    """Each reference model-skill row: the fresh MAE within the reference's 95 % CI."""
    if ref is None:
        return
    for where, row, new in _matched(fresh, ref, SKILL_KEY):
        out.skill += 1
        if new is None:
            out.differences["skill"].append(f"model skill {where}: missing in the fresh run")
        elif not (_overlap(new.mae, new.mae, row.ci_low, row.ci_high) if _has_ci(row)
                  else _close(new.mae, row.mae)):
            out.differences["skill"].append(
                f"model skill {where}: MAE {new.mae:.4g} m outside the reference's "
                f"{row.mae:.4g} [{row.ci_low:.4g}, {row.ci_high:.4g}] m")


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        return {k: v for key, value in d.items() for k, v in _flat(value, f"{prefix}{key}.")
                .items()}
    return {prefix[:-1]: d}


def config_notes(fresh: Path, reference: Path) -> list[str]:
    """What differs between the two runs' configurations and library versions (notes)."""
    provs = []
    for folder in (fresh, reference):
        path = folder / "provenance.json"
        provs.append(json.loads(path.read_text("utf-8")) if path.is_file() else {})
    a, b = ({k: v for k, v in _flat(p.get("config", {})).items()
             if k.split(".")[0] not in NOT_HASHED} for p in provs)
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    notes = [f"configuration differs in {k}: {a.get(k)!r} (reference {b.get(k)!r})"
             for k in keys[:MAX_NOTES]]
    if len(keys) > MAX_NOTES:
        notes.append(f"... and {len(keys) - MAX_NOTES} more configuration field(s)")
    va, vb = (p.get("versions", {}) for p in provs)
    libs = [k for k in sorted(set(va) | set(vb)) if va.get(k) != vb.get(k)]
    if libs:
        notes.append("versions differ: " + ", ".join(
            f"{k} {va.get(k)} (reference {vb.get(k)})" for k in libs))
    return notes


def compare_runs(fresh: str | Path, reference: str | Path) -> Comparison:
    """Compare the results folder ``fresh`` with ``reference`` (see the module docstring).

    Raises
    ------
    ConfigError
        A folder without ``leaderboard.csv``.
    """
    fresh, reference = Path(fresh), Path(reference)
    new = _read(fresh, "leaderboard.csv", "fresh")
    ref = _read(reference, "leaderboard.csv", "reference")
    out = Comparison(fresh, reference)
    compare_rows(new, ref, out)
    compare_ranks(new, ref, out)
    compare_skill(_read(fresh, "model_skill.csv", "fresh", required=False),
                  _read(reference, "model_skill.csv", "reference", required=False), out)
    out.notes[:0] = config_notes(fresh, reference)
    return out


__all__ = ["Comparison", "compare_ranks", "compare_rows", "compare_runs", "compare_skill",
           "config_notes"]
