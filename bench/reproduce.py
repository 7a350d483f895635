"""``ssl-xai-bench reproduce``: the reference study's numbers beside ours, claim by claim.

Reads a results folder written by :mod:`bench.collect` (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``provenance.json``) and writes one Markdown document (``docs/reproduction.md``):
provenance, one verdict line per claim, then per condition the study's test MAE, manipulation
curves and (qualitative) TDoA claim beside ours with 95 % CIs, the verdict of every (model,
condition) cell (rules in :mod:`bench.claims`), the transfer of the authors' released weights
(optionally against ablation folders), and the deviations from the study (:mod:`bench.deviations`).
Every table is followed by a ``Source:`` line naming the file and the row key of each number.

The study: Comanducci, Antonacci, Sarti, EUSIPCO 2024 (``../shared/spec/PAPER.md``); its numbers
come from :mod:`bench.paper_reference`. Units: MAE in metres (per coordinate), TDoA MAE in
samples, rates as fractions, P in % of the input samples zeroed.

Usage::

    python -m bench.reproduce RESULTS_DIR [--ablation NAME=RESULTS_DIR ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import claims as C
from bench.errors import ConfigError
from bench.paper_reference import PaperReference, load_paper_reference

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
    """The tables of one results folder, with lookups that return :class:`bench.claims.Estimate`."""

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
        self._board: dict[tuple, C.Estimate] = {}
        lb = self.leaderboard
        if not lb.empty:
            ok = lb[lb["status"] == "ok"]
            for r in ok[["model", "condition", "method", "metric", "mean", "ci_low",
                         "ci_high"]].itertuples(index=False):
                self._board.setdefault(tuple(r[:4]), C.Estimate(*map(float, r[4:])))
        self._curves: dict[tuple, C.Estimate] = {}
        if not self.curves.empty:
            cols = ["model", "condition", "method", "ranking", "fraction", "mae", "ci_low",
                    "ci_high"]
            for r in self.curves[cols].itertuples(index=False):
                key = (*r[:4], round(float(r[4]), 6))
                self._curves.setdefault(key, C.Estimate(*map(float, r[5:])))

    def board(self, model: str, cond: Condition, method: str, metric: str) -> C.Estimate | None:
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

    def mae(self, model: str, cond: Condition, predictor: str) -> tuple[C.Estimate | None, Any]:
        """Test MAE (m) of ``model_skill.csv`` row (model, condition, predictor) and n_sources."""
        if self.skill.empty:
            return None, None
        s = self.skill
        sel = s[(s["model"] == model) & (s["condition"] == cond.label)
                & (s["predictor"] == predictor)]
        return _estimate(sel, "mae"), (int(sel["n_sources"].iloc[0]) if len(sel) else None)

    def gain(self, model: str, cond: Condition, predictor: str) -> C.Estimate | None:
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
        return C.Estimate(float(r["gain_vs_trivial"]), float(r["gain_ci_low"]),
                          float(r["gain_ci_high"]))

    def skill_verdict(self, model: str, cond: Condition) -> C.Verdict:
        """The skill gate (:func:`bench.claims.skill_gate`) of the model's own predictor."""
        own = self.skill_predictor(model, cond)
        if own is None:
            return C.skill_gate(None, None)
        return C.skill_gate(self.mae(model, cond, own)[0], self.mae(model, cond, "trivial")[0],
                            self.gain(model, cond, own))

    def curve(self, model: str, cond: Condition, method: str, ranking: str,
              fraction: float) -> C.Estimate | None:
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


def _estimate(sel: pd.DataFrame, column: str) -> C.Estimate | None:
    if len(sel) == 0:
        return None
    r = sel.iloc[0]
    return C.Estimate(float(r[column]), float(r["ci_low"]), float(r["ci_high"]))


# --- Markdown ------------------------------------------------------------------------------------

def fmt(x: C.Estimate | float | None) -> str:
    """A cell: ``mean [low, high]`` for an estimate, 4 significant digits, ``–`` when missing."""
    from bench.tables.leaderboard import format_number

    if x is None:
        return "–"
    if isinstance(x, C.Estimate):
        return x.text() if np.isfinite(x.mean) else "–"
    return format_number(x) if np.isfinite(x) else "–"


def code(text: Any) -> str:
    """An identifier as inline code (``|`` escaped for tables)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def md_table(headers: list[str], rows: list[list[str]], source: str) -> list[str]:
    """A pipe table followed by its ``Source:`` line."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + ["", f"Source: {source}", ""]


def paper_cell(value: Any) -> str:
    """A published number with its tag, e.g. ``0.088 [nb]``."""
    if value is None:
        return "–"
    return f"{fmt(value.value)} [{value.label}]"


# --- the document -------------------------------------------------------------------------------

@dataclass
class Reproduction:
    """The generated document and every verdict behind it (for tests and callers)."""

    markdown: str
    claims: dict[str, C.Verdict]
    cells: list[dict[str, Any]] = field(default_factory=list)


def arch_of(model: str) -> str:
    """The architecture of a model entry (``samplecnn@authors`` -> ``samplecnn``)."""
    return model.partition("@")[0]


def paper_condition(ref: PaperReference, cond: Condition) -> tuple[float, float] | None:
    """The study's (T60, SNR) equal to ``cond``'s, or None."""
    for t60, snr in ref.conditions():
        if np.isclose(t60, cond.t60) and np.isclose(snr, cond.snr_db):
            return t60, snr
    return None


def judge_run(res: RunResults, method: str = "lrp") -> list[dict[str, Any]]:
    """Every cell verdict of a run: skill gate, C1 per TDoA variant, C2, curve shape."""
    cells = []
    for cond in res.conditions():
        for model in res.models():
            if method not in res.methods(model, cond):
                continue  # no relevance of `method`: nothing to judge (MAE still tabulated)
            skill = res.skill_verdict(model, cond)
            base = {"model": model, "condition": cond, "skill": skill}
            for variant in VARIANTS:
                est = {k: res.board(model, cond, m, f"tdoa_{variant}_{metric}") for k, m, metric
                       in (("gain_mic", method, "gain_vs_microphones"),
                           ("gain_const", method, "gain_vs_constant"),
                           ("mae_rel", method, "mae"), ("mae_mic", "microphones", "mae"),
                           ("mae_const", "constant", "mae"))}
                if all(v is None for v in est.values()):
                    continue
                cells.append({**base, "claim": "C1", "variant": variant, **est,
                              "verdict": C.judge_c1(skill, **est)})
            at10 = {r: res.curve(model, cond, method, r, 0.1) for r in ("relevance", "energy",
                                                                        "random")}
            gap = res.board(model, cond, method, "manipulation_gap_at_10")
            gap_e = res.board(model, cond, method, "manipulation_gap_vs_energy_at_10")
            cells.append({**base, "claim": "C2", "gap": gap, "gap_energy": gap_e, **at10,
                          "verdict": C.judge_c2(skill, gap, at10["relevance"], at10["energy"],
                                                gap_e)})
            fr = res.fractions(model, cond, method)
            shape = None
            try:
                curves = [[res.curve(model, cond, method, r, f) for f in fr]
                          for r in ("relevance", "energy", "random")]
                if fr and all(e is not None for c in curves for e in c):
                    shape = C.curve_shape(fr, *[[e.mean for e in c] for c in curves])
            except ValueError:
                shape = None
            cells.append({**base, "claim": "C2 shape", "shape": shape,
                          "verdict": C.judge_shape(skill, shape)})
    return cells


CLAIMS = {
    "C1": "GCC-PHAT TDoA on LRP relevance is more accurate (fewer anomalies, lower error) than on "
          "the microphone signals, and than the constant lag-0 estimator",
    "C2": "removing the most relevant 10 % of samples hurts localization more than removing random "
          "or high-energy samples (paired gaps, CIs > 0)",
    "C2 shape": "relevance removal jumps at 10 %; energy grows gradually; random is flat until "
                "about 50 %",
}


def build_reproduction(results_dir: str | Path, ablations: dict[str, str | Path] | None = None,
                       *, method: str = "lrp", reference: PaperReference | None = None,
                       command: str = "") -> Reproduction:
    """Build the reproduction document from a results folder (nothing is recomputed).

    Parameters
    ----------
    results_dir : path
        A results folder written by ``ssl-xai-bench run`` (e.g. of the ``paper-lite`` preset).
    ablations : dict, optional
        Name -> results folder of an ablation run (e.g. ``{"rir_mode=exact": path}``); their
        ``model_skill.csv`` rows of the external-weights entries are tabulated against the main run.
    method : str
        The attribution method whose relevance the claims are about (the study's ``lrp``).
    reference : PaperReference, optional
        Published numbers (default: the packaged ``paper_reference.toml``).
    command : str
        The command that generated the document (printed in it).

    Returns
    -------
    Reproduction
    """
    from bench import reproduce_sections as S

    ref = reference or load_paper_reference()
    res = RunResults.load(results_dir)
    abl = {name: RunResults.load(path, f"--ablation {name}")
           for name, path in (ablations or {}).items()}
    known = sorted({m for c in res.conditions() for mod in res.models()
                    for m in res.methods(mod, c)})
    if method not in known:
        raise ConfigError("--method", f"{method!r} has no rows in {res.folder}/leaderboard.csv; "
                          f"available: {', '.join(known) or 'none'}")
    cells = judge_run(res, method)
    verdicts = {claim: C.aggregate([c["verdict"].verdict for c in cells if c["claim"] == claim])
                for claim in CLAIMS}
    lines = S.header(res, command, method)
    lines += S.claims_summary(cells, verdicts, CLAIMS)
    lines += S.per_condition(res, ref, method)
    lines += S.cell_tables(cells, ref, res, method)
    lines += S.transfer(res, ref, abl)
    lines += S.deviation_section(res)
    return Reproduction("\n".join(lines).rstrip() + "\n", verdicts, cells)


def parse_ablation(text: str) -> tuple[str, Path]:
    """``NAME=DIR`` (split at the last ``=``, so NAME may itself hold ``=``) -> (NAME, DIR)."""
    name, sep, path = text.rpartition("=")
    if not sep or not name or not path:
        raise ConfigError("--ablation", f"expected NAME=RESULTS_DIR, got {text!r}")
    return name, Path(path)


def add_reproduce_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``reproduce`` sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("reproduce", help="write docs/reproduction.md: the study's numbers "
                       "beside ours, claim by claim",
                       description="Write the reproduction report (the study's numbers beside "
                                   "ours with 95 % CIs and a verdict per claim) from a stored "
                                   "results folder; nothing is recomputed.")
    configure_parser(p)
    p.set_defaults(func=cmd_reproduce)
    return p


def configure_parser(p: argparse.ArgumentParser) -> None:
    """The arguments of ``reproduce`` (shared by the CLI and ``python -m bench.reproduce``)."""
    p.add_argument("results", help="results folder of a run (e.g. results/paper-lite)")
    p.add_argument("--ablation", action="append", default=[], metavar="NAME=RESULTS_DIR",
                   help="an ablation run's results folder, e.g. rir_mode=exact=results/abl; "
                        "its authors'-weights MAE is tabulated against the main run; repeatable")
    p.add_argument("--out", default="docs/reproduction.md", help="output Markdown file")
    p.add_argument("--method", default="lrp", help="attribution method the claims are about")


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Run the ``reproduce`` command; returns the exit status (0)."""
    ablations = dict(parse_ablation(a) for a in args.ablation)
    command = getattr(args, "command_line", "") or (  # via the CLI: argv[1] is "reproduce"
        "ssl-xai-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    rep = build_reproduction(args.results, ablations, method=args.method, command=command)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rep.markdown, encoding="utf-8")
    print(f"reproduction: {out}")
    for claim, v in rep.claims.items():
        print(f"  {claim}: {v.verdict} ({v.reason})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.reproduce``: same arguments and output as ``ssl-xai-bench reproduce``."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.reproduce",
                                description="Write the reproduction report from a results folder.")
    configure_parser(p)
    args = p.parse_args(argv)
    args.command_line = "python -m bench.reproduce " + " ".join(shlex.quote(a) for a in argv)
    try:
        return cmd_reproduce(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
