"""A results folder as the reproduction reads it: lookups that return estimates with CIs.

:class:`RunResults` loads ``leaderboard.csv``, ``model_skill.csv``, ``curves.csv`` and
``provenance.json`` of a run (written by :mod:`ssl_xai_bench.harness.collect`) and answers
lookups with :class:`ssl_xai_bench.reproduce.claims.Estimate` (mean and 95 % CI); the small
Markdown helpers of the document live here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.report.render import pipe_table
from ssl_xai_bench.report.tables.leaderboard import format_number
from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.paper_reference import PaperReference

CONTROLS = ("microphones", "constant", "direct_path")
BASELINE_PREDICTORS = ("trivial", "srp_phat")
VARIANTS = ("paper", "bounded")
FILES = ("leaderboard.csv", "model_skill.csv", "curves.csv", "provenance.json")


@dataclass(frozen=True)
class Condition:
    """One of our test conditions (the results' ``condition`` label and its axes)."""

    label: str
    t60: float
    snr_db: float
    geometry: str


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


@dataclass
class RunResults:
    """The tables of one results folder, with lookups that return
    :class:`ssl_xai_bench.reproduce.claims.Estimate`."""

    folder: Path
    leaderboard: pd.DataFrame
    skill: pd.DataFrame
    curves: pd.DataFrame
    provenance: dict[str, Any]
    tdoa: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def load(cls, folder: str | Path, field_name: str = "results") -> RunResults:
        """Read a results folder; a missing file is a :class:`ConfigError` naming it."""
        folder = Path(folder)
        for name in FILES:
            if not (folder / name).is_file():
                raise ConfigError(field_name, f"no {name} in {folder}; expected a results folder "
                                  "written by 'ssl-xai-bench run'")
        prov = json.loads((folder / "provenance.json").read_text("utf-8"))
        tdoa = _read(folder / "tdoa.csv") if (folder / "tdoa.csv").is_file() else pd.DataFrame()
        return cls(folder, _read(folder / "leaderboard.csv"), _read(folder / "model_skill.csv"),
                   _read(folder / "curves.csv"), prov, tdoa)

    def conditions(self) -> list[Condition]:
        """Our conditions, by T60 then SNR then geometry."""
        frames = [f[["condition", "t60", "snr_db", "geometry"]] for f in (self.skill,
                  self.leaderboard) if not f.empty]
        if not frames:
            return []
        df = pd.concat(frames).drop_duplicates("condition")
        conds = [Condition(r.condition, float(r.t60), float(r.snr_db), str(r.geometry))
                 for r in df.itertuples()]
        return sorted(conds, key=lambda c: (c.t60, -c.snr_db, c.geometry, c.label))

    def models(self) -> list[str]:
        """Model entries: trained architectures first, then external weights (``ARCH@LABEL``)."""
        names = set()
        for df in (self.skill, self.leaderboard):
            if "model" in df.columns:
                names.update(str(m) for m in df["model"].dropna().unique())
        return sorted(names, key=lambda m: ("@" in m, m))

    def methods(self, model: str, cond: Condition) -> list[str]:
        """Attribution methods evaluated for a model at a condition (controls excluded)."""
        lb = self.leaderboard
        if lb.empty:
            return []
        sel = lb[(lb["model"] == model) & (lb["condition"] == cond.label)]
        return sorted(m for m in sel["method"].dropna().unique() if m not in CONTROLS)

    def __post_init__(self) -> None:
        self._board: dict[tuple, claims.Estimate] = {}
        lb = self.leaderboard
        if not lb.empty:
            ok = lb[lb["status"] == "ok"]
            for r in ok[["model", "condition", "method", "metric", "mean", "ci_low",
                         "ci_high"]].itertuples(index=False):
                self._board.setdefault(tuple(r[:4]), claims.Estimate(*map(float, r[4:])))
        self._curves: dict[tuple, claims.Estimate] = {}
        if not self.curves.empty:
            cols = ["model", "condition", "method", "ranking", "fraction", "mae", "ci_low",
                    "ci_high"]
            curves = self.curves  # the study removed samples by zeroing them
            if "baseline" in curves.columns:
                curves = curves[curves["baseline"] == "zero"]
            for r in curves[cols].itertuples(index=False):
                key = (*r[:4], round(float(r[4]), 6))
                self._curves.setdefault(key, claims.Estimate(*map(float, r[5:])))

    def board(self, model: str, cond: Condition, method: str,
              metric: str) -> claims.Estimate | None:
        """Leaderboard row (model, condition, method, metric) with status ok, else None."""
        return self._board.get((model, cond.label, method, metric))

    def skill_predictor(self, model: str, cond: Condition) -> str | None:
        """The model's own predictor label in ``model_skill.csv`` (``M`` or ``M (external)``)."""
        if self.skill.empty:
            return None
        sel = self.skill[(self.skill["model"] == model) & (self.skill["condition"] == cond.label)]
        for label in (model, f"{model} (external)"):
            if (sel["predictor"] == label).any():
                return label
        return None

    def mae(self, model: str, cond: Condition,
            predictor: str) -> tuple[claims.Estimate | None, Any]:
        """Test MAE (m) of ``model_skill.csv`` row (model, condition, predictor) and n_sources."""
        if self.skill.empty:
            return None, None
        s = self.skill
        sel = s[(s["model"] == model) & (s["condition"] == cond.label)
                & (s["predictor"] == predictor)]
        return _estimate(sel, "mae"), (int(sel["n_sources"].iloc[0]) if len(sel) else None)

    def gain(self, model: str, cond: Condition, predictor: str) -> claims.Estimate | None:
        """Paired gain over the trivial predictor (m, ``gain_vs_trivial`` with its CI) of
        ``model_skill.csv`` row (model, condition, predictor); None in results without it."""
        s = self.skill
        if s.empty or "gain_vs_trivial" not in s.columns:
            return None
        sel = s[(s["model"] == model) & (s["condition"] == cond.label)
                & (s["predictor"] == predictor)]
        if len(sel) == 0:
            return None
        r = sel.iloc[0]
        return claims.Estimate(float(r["gain_vs_trivial"]), float(r["gain_ci_low"]),
                          float(r["gain_ci_high"]))

    def skill_verdict(self, model: str, cond: Condition) -> claims.Verdict:
        """The skill gate (:func:`~ssl_xai_bench.reproduce.claims.skill_gate`) of the model's own
        predictor."""
        own = self.skill_predictor(model, cond)
        if own is None:
            return claims.skill_gate(None, None)
        return claims.skill_gate(self.mae(model, cond, own)[0], self.mae(model, cond, "trivial")[0],
                            self.gain(model, cond, own))

    def curve(self, model: str, cond: Condition, method: str, ranking: str,
              fraction: float) -> claims.Estimate | None:
        """``curves.csv`` row (model, condition, method, ranking, fraction)."""
        return self._curves.get((model, cond.label, method, ranking, round(float(fraction), 6)))

    def paper_pair(self, model: str, cond: Condition, method: str) -> dict[str, Any] | None:
        """``tdoa.csv`` row (model, condition, method, variant = paper) of the study's pair."""
        td = self.tdoa
        if td.empty:
            return None
        sel = td[(td["model"] == model) & (td["condition"] == cond.label)
                 & (td["method"] == method) & (td["variant"] == "paper")]
        return None if sel.empty else sel.iloc[0].to_dict()

    def fractions(self, model: str, cond: Condition, method: str) -> list[float]:
        """Fractions of the model's curves at a condition, ascending."""
        cv = self.curves
        if cv.empty:
            return []
        sel = cv[(cv["model"] == model) & (cv["condition"] == cond.label)
                 & (cv["method"] == method)]
        return sorted(float(f) for f in sel["fraction"].unique())


def _estimate(sel: pd.DataFrame, column: str) -> claims.Estimate | None:
    if len(sel) == 0:
        return None
    r = sel.iloc[0]
    return claims.Estimate(float(r[column]), float(r["ci_low"]), float(r["ci_high"]))


# --- Markdown ------------------------------------------------------------------------------------

def fmt(x: claims.Estimate | float | None) -> str:
    """A cell: ``mean [low, high]`` for an estimate, 4 significant digits, ``–`` when missing."""
    if x is None:
        return "–"
    if isinstance(x, claims.Estimate):
        return x.text() if np.isfinite(x.mean) else "–"
    return format_number(x) if np.isfinite(x) else "–"


def code(text: Any) -> str:
    """An identifier as inline code (``|`` escaped for tables)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def md_table(headers: list[str], rows: list[list[str]], source: str) -> list[str]:
    """A pipe table of Markdown cells followed by its ``Source:`` line, as lines
    (:func:`ssl_xai_bench.report.render.pipe_table`)."""
    return pipe_table(headers, rows, source)


def paper_cell(value: Any) -> str:
    """A published number with its tag, e.g. ``0.088 [nb]``."""
    if value is None:
        return "–"
    return f"{fmt(value.value)} [{value.label}]"


# --- the document -------------------------------------------------------------------------------

def arch_of(model: str) -> str:
    """The architecture of a model entry (``samplecnn@authors`` -> ``samplecnn``)."""
    return model.partition("@")[0]


def paper_condition(ref: PaperReference, cond: Condition) -> tuple[float, float] | None:
    """The study's (T60, SNR) equal to ``cond``'s, or None."""
    for t60, snr in ref.conditions():
        if np.isclose(t60, cond.t60) and np.isclose(snr, cond.snr_db):
            return t60, snr
    return None


__all__ = ["BASELINE_PREDICTORS", "CONTROLS", "Condition", "RunResults", "VARIANTS",
           "arch_of", "code", "fmt", "md_table", "paper_cell", "paper_condition"]
